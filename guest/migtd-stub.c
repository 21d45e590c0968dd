/*
 * Guest stub: a MigTD stand-in, so that the whole pre-migration path runs
 * without the real image (MigTD src/migtd/src/migration/session.rs). Built
 * for vmcall-raw, it takes its requests through WaitForRequest (vector
 * 0x50) and answers each with ReportStatus (MigTD src/devices/vmcall_raw);
 * built for another transport, through TDG.VP.VMCALL<Service>
 * (service.c), where start-migration is the only request. The key
 * exchange is the same over every transport (transport.h):
 *
 *   start-migration  read our MIG_ENC_KEY (SERVTD.RD x4) and the version
 *                    range (SYS.RD), swap 40-byte ExchangeInformation with
 *                    the peer over the transport (no TLS), agree on a
 *                    version, check SERVTD_ATTR = 0, write MIG_VERSION and
 *                    the peer's key into MIG_DEC_KEY (SERVTD.WR)
 *   start-rebinding  policy v2 rebinding (rebind.c)
 *   get-td-report    a TDREPORT over "HostRequestedMigTDReport"
 *   get-migtd-data   the TDINFO of a TDREPORT over the host's REPORTDATA
 *   enable-log-area  the log pages (logarea.c), described
 *   others           UnsupportedOperationError
 *
 * Requests are checked as MigTD 9a1fb18 checks them (migration/mod.rs,
 * session.rs): MigtdMigrationInformation is 56 bytes, or 568 with
 * has_init_data = 1 and the initial MigTD's TDINFO; GetTDReport and
 * GetMigtdData 8 or 72 bytes; EnableLogArea 16 with its reserved bytes 0.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stddef.h>
#include "cpu.h"
#include "tdx.h"
#include "bytes.h"
#include "shared.h"
#include "transport.h"
#include "bench.h"
#include "logarea.h"

#define HDR                 VMCALL_RAW_HDR
#define WAIT_FOR_REQUEST    1
#define REPORT_STATUS       2

#define OP_START_MIGRATION  1
#define OP_START_REBINDING  2
#define OP_GET_TD_REPORT    3
#define OP_ENABLE_LOG_AREA  4
#define OP_GET_MIGTD_DATA   5

#define TDG_SYS_RD          11
#define TDG_SERVTD_RD       18
#define TDG_SERVTD_WR       20
#define MIG_DEC_KEY         0x9810000300000010ULL
#define MIG_ENC_KEY         0x9810000300000018ULL
#define MIG_VERSION         0x9810000100000020ULL
#define SERVTD_ATTR         0x1910000300000202ULL
#define MIN_EXPORT_VERSION  0x2000000100000001ULL

#define EXCHANGE_SIZE       40
#define MIG_INFO_SIZE       56
#define REQUEST_PAGES       7
#define STATUS_PAGES        2

/* ExchangeInformation (MigTD migration/session.rs), 40 bytes, LE */
struct exchange_info {
    uint64_t key[4];
    uint16_t min_ver, max_ver;
    uint8_t reserved[4];
};
_Static_assert(sizeof(struct exchange_info) == EXCHANGE_SIZE,
               "ExchangeInformation is 40 bytes");

/* vmcall-raw's shared buffers (shared.c) */
static uint8_t *request_buf, *status_buf;
static uint8_t tdreport[1024] __attribute__((aligned(1024)));
static uint8_t reportdata[64] __attribute__((aligned(64)));

volatile int request_arrived;

void request_interrupt(void)
{
    request_arrived = 1;
}

static uint64_t wait_for_request(void)
{
    struct tdx_regs r = {
        .r12 = MIGTD_LEAF(WAIT_FOR_REQUEST), .r13 = REQUEST_PAGES * PAGE,
        .r14 = shared_gpa(request_buf), .r15 = REQUEST_VECTOR,
    };

    st64(request_buf, 0);
    request_arrived = 0;
    return migtd_vmcall(&r);
}

/* ReportStatus: status word, data; the VMM acknowledges with VMM_SUCCESS */
static void report_status(uint64_t id, int failed, uint8_t result,
                          const void *data, uint32_t len)
{
    struct tdx_regs r = {
        .r12 = MIGTD_LEAF(REPORT_STATUS), .r13 = id,
        .r14 = (uint64_t)failed | (uint64_t)result << 8,
        .r15 = (HDR + len + PAGE - 1) / PAGE * PAGE,
        .rbx = shared_gpa(status_buf), .rdi = REQUEST_VECTOR,
    };

    st64(status_buf, 0);
    st32(status_buf + 8, len);
    copy(status_buf + HDR, data, len);
    migtd_log(failed ? LOG_ERROR : LOG_INFO, id, "migtd-stub: request %lu: "
              "ReportStatus %s, result %u\n", id,
              failed ? "failure" : "success", result);
    if (migtd_vmcall(&r) != TDVMCALL_SUCCESS || status_buf[0] != VMM_SUCCESS) {
        migtd_log(LOG_ERROR, id, "migtd-stub: ReportStatus was refused\n");
    }
}

/* Send @len bytes, in pieces the transport takes */
int migtd_stream_send(const uint8_t *data, uint64_t len)
{
    const struct transport *t = stub_transport();
    uint32_t n;
    int res = RESULT_SUCCESS;

    for (; len && res == RESULT_SUCCESS; data += n, len -= n) {
        n = len < t->max_send ? len : t->max_send;
        res = t->send(data, n);
    }
    return res;
}

/*
 * The stream is bytes: one receive may bring less than a message, or the
 * end of one and the start of the next. What was received and not yet
 * taken stays in the transport's view.
 */
static const uint8_t *rx_data;
static uint32_t rx_left;

/* Take exactly @len bytes from the stream (into @data unless NULL) */
int migtd_stream_receive(uint8_t *data, uint64_t len)
{
    uint64_t got = 0, n;
    int res;

    while (got < len) {
        if (!rx_left) {
            res = stub_transport()->recv(&rx_data, &rx_left,
                                         EXCHANGE_TIMEOUT_MS);
            if (res != RESULT_SUCCESS) {
                rx_left = 0;
                return res;
            }
        }
        n = rx_left < len - got ? rx_left : len - got;
        if (data) {
            copy(data + got, rx_data, n);
        }
        rx_data += n;
        rx_left -= n;
        got += n;
    }
    return RESULT_SUCCESS;
}

/*
 * ./tdx-emu bench's stream figure: after the exchange the source sends
 * BENCH_CHUNKS full buffers, the destination takes them in whatever
 * pieces they come and times it.
 */
#define BENCH_CHUNKS        256
#define BENCH_CHUNK         (0x10000 - HDR)

static int stream_bench(const struct migration_info *mi)
{
    static uint8_t chunk[BENCH_CHUNK];
    uint64_t total = (uint64_t)BENCH_CHUNKS * BENCH_CHUNK;
    uint64_t start = rdtsc(), hz = tsc_hz();
    int i, res = RESULT_SUCCESS;

    for (i = 0; mi->source && i < BENCH_CHUNKS && !res; i++) {
        res = migtd_stream_send(chunk, BENCH_CHUNK);
    }
    if (!mi->source) {
        res = migtd_stream_receive(NULL, total);
    }
    if (!mi->source && !res && hz) {
        guest_printf("BENCH stream bytes=%lu us=%lu\n", total,
                     (rdtsc() - start) / (hz / 1000000));
    }
    return res;
}

uint64_t migtd_servtd(uint64_t leaf, const struct migration_info *mi,
                       uint64_t field, uint64_t *value)
{
    struct tdx_regs r = {
        .rax = leaf, .rcx = mi->binding_handle, .rdx = field,
        .r8 = *value, .r9 = ~0ULL,
        .r10 = mi->uuid[0], .r11 = mi->uuid[1],
        .r12 = mi->uuid[2], .r13 = mi->uuid[3],
    };

    tdcall(&r);
    *value = r.r8;
    return r.rax;
}

static uint64_t sys_rd(uint64_t field, uint64_t *value)
{
    struct tdx_regs r = { .rax = TDG_SYS_RD, .rdx = field };

    tdcall(&r);
    *value = r.r8;
    return r.rax;
}

/* Our half of the exchange: the ENC key and our version range */
static int local_exchange_info(const struct migration_info *mi,
                               struct exchange_info *ex)
{
    uint64_t field = MIN_EXPORT_VERSION + (mi->source ? 0 : 2), lo, hi;
    int i;

    for (i = 0; i < 4; i++) {
        ex->key[i] = 0;
        if (migtd_servtd(TDG_SERVTD_RD, mi, MIG_ENC_KEY + i, &ex->key[i])) {
            return RESULT_TDX_MODULE_ERROR;
        }
    }
    if (sys_rd(field, &lo) || sys_rd(field + 1, &hi)) {
        return RESULT_TDX_MODULE_ERROR;
    }
    ex->min_ver = lo;
    ex->max_ver = hi;
    ex->reserved[0] = ex->reserved[1] = ex->reserved[2] = 0;
    ex->reserved[3] = 0;
    return RESULT_SUCCESS;
}

/* MigTD's cal_mig_version: the ranges must overlap; the highest common */
static int agree_version(int source, const struct exchange_info *local,
                         const struct exchange_info *peer, uint64_t *ver)
{
    const struct exchange_info *exp = source ? local : peer;
    const struct exchange_info *imp = source ? peer : local;

    if (exp->min_ver > exp->max_ver || imp->min_ver > imp->max_ver ||
        exp->max_ver < imp->min_ver || imp->max_ver < exp->min_ver) {
        return RESULT_INVALID_PARAMETER;
    }
    *ver = exp->max_ver < imp->max_ver ? exp->max_ver : imp->max_ver;
    return RESULT_SUCCESS;
}

static int install_keys(const struct migration_info *mi,
                        const struct exchange_info *peer, uint64_t version)
{
    uint64_t attr = 0, v = version;
    int i;

    if (migtd_servtd(TDG_SERVTD_RD, mi, SERVTD_ATTR, &attr) || attr) {
        return attr ? RESULT_INVALID_PARAMETER : RESULT_TDX_MODULE_ERROR;
    }
    if (migtd_servtd(TDG_SERVTD_WR, mi, MIG_VERSION, &v)) {
        return RESULT_TDX_MODULE_ERROR;
    }
    for (i = 0; i < 4; i++) {
        v = peer->key[i];
        if (migtd_servtd(TDG_SERVTD_WR, mi, MIG_DEC_KEY + i, &v)) {
            return RESULT_TDX_MODULE_ERROR;
        }
    }
    return RESULT_SUCCESS;
}

int migtd_stream_open(const struct migration_info *mi)
{
    rx_left = 0;                        /* a new stream */
    return stub_transport()->open(mi);
}

void migtd_stream_close(void)
{
    stub_transport()->close();
}

int migtd_exchange_msk(const struct migration_info *mi)
{
    struct exchange_info local, peer;
    uint64_t version = 0;
    int res;

    res = local_exchange_info(mi, &local);
    if (res == RESULT_SUCCESS) {
        res = migtd_stream_open(mi);
    }
    if (res != RESULT_SUCCESS) {
        return res;
    }
    res = migtd_stream_send((const uint8_t *)&local, EXCHANGE_SIZE);
    if (res == RESULT_SUCCESS) {
        res = migtd_stream_receive((uint8_t *)&peer, EXCHANGE_SIZE);
    }
    if (res == RESULT_SUCCESS &&
        (peer.reserved[0] | peer.reserved[1] | peer.reserved[2] |
         peer.reserved[3])) {
        res = RESULT_INVALID_PARAMETER;
    }
    if (res == RESULT_SUCCESS) {
        res = agree_version(mi->source, &local, &peer, &version);
    }
    if (res == RESULT_SUCCESS) {
        res = install_keys(mi, &peer, version);
    }
    if (res == RESULT_SUCCESS && bench_requested()) {
        res = stream_bench(mi);
    }
    migtd_stream_close();
    local.key[0] = local.key[1] = local.key[2] = local.key[3] = 0;
    return res;
}

/*
 * MigtdMigrationInformation (MigTD mod.rs read_from_bytes, policy_v2): 56
 * bytes with has_init_data = 0, or 568 with has_init_data = 1 and the
 * initial MigTD's TDINFO after it; the reserved bytes 0. A MigrationResult.
 */
static int migration_info(const uint8_t *p, uint32_t len,
                          struct migration_info *mi,
                          const uint8_t **init_tdinfo)
{
    int i;

    mi->id = ld64(p);
    for (i = 10; i < 16; i++) {
        if (p[i]) {
            return RESULT_INVALID_PARAMETER;
        }
    }
    if (p[9] > 1 ||
        len != MIG_INFO_SIZE + (p[9] ? TDINFO_SIZE : 0)) {
        return RESULT_INVALID_PARAMETER;
    }
    mi->source = p[8] == 1;
    for (i = 0; i < 4; i++) {
        mi->uuid[i] = ld64(p + 16 + 8 * i);
    }
    mi->binding_handle = ld64(p + 48);
    *init_tdinfo = p[9] ? p + MIG_INFO_SIZE : 0;
    return RESULT_SUCCESS;
}

/*
 * A request's MigrationResult; a failed rebinding says why in UTF-8, as
 * MigTD's rebinding.rs does since f75347a
 */
static void report_result(uint64_t id, int res, int rebinding)
{
    char why[96];
    uint32_t len = 0;

    if (res != RESULT_SUCCESS && rebinding) {
        len = guest_snprintf(why, sizeof(why), "Error: start_rebinding(): "
                             "result %u. Migration ID: %lx\n", res, id);
    }
    report_status(id, res != RESULT_SUCCESS, res, why, len);
}

static void start_migration(const uint8_t *p, uint32_t len, int rebinding)
{
    struct migration_info mi = { 0 };
    const uint8_t *init_tdinfo;
    int res = migration_info(p, len, &mi, &init_tdinfo);

    if (res == RESULT_SUCCESS) {
        migtd_log(LOG_INFO, mi.id, "migtd-stub: request %lu: start %s as "
                  "%s%s\n", mi.id, rebinding ? "rebinding" : "migration",
                  mi.source ? "source" : "destination",
                  init_tdinfo ? ", with the init TDINFO" : "");
        res = rebinding ? migtd_rebind(&mi, init_tdinfo) :
                          migtd_exchange_msk(&mi);
    }
    report_result(mi.id, res, rebinding);
}

/* TDG.MR.REPORT over @data (@len <= 64 bytes, zero-padded) */
const uint8_t *migtd_tdreport(const void *data, uint32_t len)
{
    struct tdx_regs r = {
        .rax = TDG_MR_REPORT, .rcx = (uint64_t)tdreport,
        .rdx = (uint64_t)reportdata,
    };
    int i;

    for (i = 0; i < 64; i++) {
        reportdata[i] = 0;
    }
    copy(reportdata, data, len);
    tdcall(&r);
    return r.rax == TDX_SUCCESS ? tdreport : 0;
}

/*
 * {u64 id} or {u64 id, reportdata[64]}. GetTDReport's REPORTDATA is
 * fixed since MigTD 06d9cab; GetMigtdData takes the host's.
 */
static void get_td_report(const uint8_t *p, uint32_t len, int tdinfo_only)
{
    static const char host_requested[] = "HostRequestedMigTDReport";
    uint64_t id = ld64(p);

    if (len != 8 && len != 72) {
        report_status(id, 1, RESULT_INVALID_PARAMETER, 0, 0);
        return;
    }
    if (tdinfo_only ? !migtd_tdreport(p + 8, len - 8) :
        !migtd_tdreport(host_requested, sizeof(host_requested) - 1)) {
        report_status(id, 1, RESULT_TDX_MODULE_ERROR, 0, 0);
    } else if (tdinfo_only) {
        report_status(id, 0, RESULT_SUCCESS, tdreport + 512, 512);
    } else {
        report_status(id, 0, RESULT_SUCCESS, tdreport, sizeof(tdreport));
    }
}

/*
 * {u64 id, u8 log_max_level, u8 reserved[7] = 0} (MigTD e5710d0); the
 * answer is {u32 num_vcpus, u32 0, then {u64 page GPA, u64 size} per vCPU}
 */
static void enable_log_area(const uint8_t *p, uint32_t len)
{
    static const char no_area[] = "Error: LogArea has not been created\n";
    uint8_t reply[8 + 16 * LOGAREA_MAX_VCPUS];
    uint64_t id = ld64(p);
    uint32_t n;

    if (len != 16 || p[8] < 1 || p[8] > 5 || ld64(p + 8) >> 8) {
        report_status(id, 1, RESULT_INVALID_PARAMETER, 0, 0);
        return;
    }
    n = logarea_enable(p[8], reply);
    if (!n) {
        report_status(id, 1, RESULT_UNSUPPORTED_OPERATION, no_area,
                      sizeof(no_area) - 1);
        return;
    }
    migtd_log(LOG_INFO, id, "migtd-stub: request %lu: log area enabled at "
              "level %u\n", id, p[8]);
    report_status(id, 0, RESULT_SUCCESS, reply, n);
}

static void handle_request(void)
{
    uint8_t op = request_buf[1];
    uint32_t len = ld64(request_buf + 8) & 0xffffffff;
    const uint8_t *payload = request_buf + HDR;

    if (request_buf[0] != VMM_SUCCESS || len < 8) {
        return;                             /* spurious */
    }
    migtd_log(LOG_DEBUG, ld64(payload), "migtd-stub: request %lu: "
              "operation %u, %u bytes\n", ld64(payload), op, len);
    switch (op) {
    case OP_START_MIGRATION:
    case OP_START_REBINDING:
        start_migration(payload, len, op == OP_START_REBINDING);
        break;
    case OP_GET_TD_REPORT:
        get_td_report(payload, len, 0);
        break;
    case OP_GET_MIGTD_DATA:
        get_td_report(payload, len, 1);
        break;
    case OP_ENABLE_LOG_AREA:
        enable_log_area(payload, len);
        break;
    default:
        report_status(ld64(payload), 1, RESULT_UNSUPPORTED_OPERATION, 0, 0);
        break;
    }
}

/*
 * What MigTD does when it cannot go on: it panics, and td-payload's panic
 * handler issues ReportFatalError (td-shim b3695f5). The stub gives its
 * reason in GHCI 1.5's in-register message: R14, R15, RBX, RDI, RSI, R8,
 * R9, RDX, 64 bytes.
 */
void migtd_give_up(const char *why)
{
    uint8_t msg[64] = { 0 };
    unsigned i;
    struct tdx_regs r;

    for (i = 0; i < sizeof(msg) - 1 && why[i]; i++) {
        msg[i] = why[i];
    }
    r = (struct tdx_regs) {
        .rax = TDG_VP_VMCALL, .rcx = 0xffcc,
        .r11 = TDVMCALL_REPORT_FATAL_ERROR,
        .r14 = ld64(msg), .r15 = ld64(msg + 8), .rbx = ld64(msg + 16),
        .rdi = ld64(msg + 24), .rsi = ld64(msg + 32), .r8 = ld64(msg + 40),
        .r9 = ld64(msg + 48), .rdx = ld64(msg + 56),
    };
    guest_printf("migtd-stub: %s\n", why);
    tdcall(&r);
}

/* vmcall-raw's request loop: WaitForRequest, then the request */
static void vmcall_raw_run(void)
{
    request_buf = shared_alloc(REQUEST_PAGES);
    status_buf = shared_alloc(STATUS_PAGES);
    if (!request_buf || !status_buf) {
        return;
    }
    if (!logarea_create()) {
        guest_printf("migtd-stub: no log area\n");
    }
    migtd_log(LOG_INFO, LOG_NO_REQUEST, "migtd-stub: waiting for requests\n");
    for (;;) {
        if (wait_for_request() != TDVMCALL_SUCCESS) {
            migtd_give_up("WaitForRequest refused");
            return;
        }
        while (!request_arrived) {
            idle_hlt();
        }
        handle_request();
    }
}

void migtd_stub_run(void)
{
    const struct transport *t = stub_transport();

    if (!shared_init()) {
        migtd_give_up("MapGPA of the shared pool failed");
        return;
    }
    timer_start();
    if (t->init() != RESULT_SUCCESS) {
        migtd_give_up(t->init_failed);
        return;
    }
    if (t == &vmcall_raw_transport) {
        vmcall_raw_run();
    } else {
        service_run();
    }
}
