/*
 * Guest stub: a MigTD stand-in speaking MigTD's vmcall-raw protocol
 * (MigTD src/devices/vmcall_raw, src/migtd/src/migration/session.rs), so that
 * the whole pre-migration path runs without the real image. Requests come
 * through WaitForRequest (vector 0x50); each is answered with ReportStatus:
 *
 *   start-migration  read our MIG_ENC_KEY (SERVTD.RD x4) and the version
 *                    range (SYS.RD), swap 40-byte ExchangeInformation with
 *                    the peer over Send/Receive (no TLS), agree on a
 *                    version, check SERVTD_ATTR = 0, write MIG_VERSION and
 *                    the peer's key into MIG_DEC_KEY (SERVTD.WR)
 *   get-td-report    a TDREPORT over "HostRequestedMigTDReport"
 *   get-migtd-data   the TDINFO of a TDREPORT over the host's REPORTDATA
 *   enable-log-area  one shared log page per vCPU, described
 *   others           UnsupportedOperationError
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stddef.h>
#include "cpu.h"
#include "tdx.h"
#include "bytes.h"
#include "migtd-stub.h"
#include "bench.h"

#define PAGE                4096
#define HDR                 12          /* {u64 data_status; u32 length} */
#define VMM_SUCCESS         1
#define NOT_COMPLETED       2
#define VMM_CANCEL          3

#define MIGTD_LEAF(n)       ((n) | (1 << 16))
#define WAIT_FOR_REQUEST    1
#define REPORT_STATUS       2
#define SEND                3
#define RECEIVE             4

#define OP_START_MIGRATION  1
#define OP_GET_TD_REPORT    3
#define OP_ENABLE_LOG_AREA  4
#define OP_GET_MIGTD_DATA   5

/* MigrationResult (MigTD src/migtd/src/migration/mod.rs) */
enum {
    RESULT_SUCCESS = 0, RESULT_INVALID_PARAMETER = 1,
    RESULT_TDX_MODULE_ERROR = 4, RESULT_NETWORK_ERROR = 5,
    RESULT_VMM_CANCELED = 10, RESULT_UNSUPPORTED_OPERATION = 12,
};

#define TDG_SYS_RD          11
#define TDG_SERVTD_RD       18
#define TDG_SERVTD_WR       20
#define MIG_DEC_KEY         0x9810000300000010ULL
#define MIG_ENC_KEY         0x9810000300000018ULL
#define MIG_VERSION         0x9810000100000020ULL
#define SERVTD_ATTR         0x1910000300000202ULL
#define MIN_EXPORT_VERSION  0x2000000100000001ULL

#define EXCHANGE_SIZE       40
#define EXCHANGE_TIMEOUT_MS 10000
#define LOG_PAGES           4

/* ExchangeInformation (MigTD migration/session.rs), 40 bytes, LE */
struct exchange_info {
    uint64_t key[4];
    uint16_t min_ver, max_ver;
    uint8_t reserved[4];
};
_Static_assert(sizeof(struct exchange_info) == EXCHANGE_SIZE,
               "ExchangeInformation is 40 bytes");

/* The shared buffers, converted with MapGPA once */
static uint8_t request_buf[7 * PAGE] __attribute__((aligned(PAGE)));
static uint8_t status_buf[2 * PAGE] __attribute__((aligned(PAGE)));
static uint8_t send_buf[PAGE] __attribute__((aligned(PAGE)));
static uint8_t recv_buf[16 * PAGE] __attribute__((aligned(PAGE)));
static uint8_t log_pages[LOG_PAGES * PAGE] __attribute__((aligned(PAGE)));
static uint8_t tdreport[1024] __attribute__((aligned(1024)));
static uint8_t reportdata[64] __attribute__((aligned(64)));

static volatile int request_arrived, stream_signalled;

void request_interrupt(void)
{
    request_arrived = 1;
}

void stream_interrupt(void)
{
    stream_signalled = 1;
}

static uint64_t shared(const void *p)
{
    return (uint64_t)p | SHARED_BIT;
}

/* A vmcall-raw TDG.VP.VMCALL; RBX and RDI are exposed too (0xFC88) */
static uint64_t migtd_vmcall(struct tdx_regs *r)
{
    r->rax = TDG_VP_VMCALL;
    r->rcx = 0xfc88;
    r->r10 = 0;
    r->r11 = TDVMCALL_MIGTD;
    tdcall(r);
    return r->r10;
}

static int map_shared(void *buf, uint64_t len)
{
    struct tdx_regs r = {
        .rax = TDG_VP_VMCALL, .rcx = TDVMCALL_EXPOSE_R10_R15,
        .r11 = TDVMCALL_MAP_GPA, .r12 = shared(buf), .r13 = len,
    };

    tdcall(&r);
    return r.r10 == TDVMCALL_SUCCESS;
}

static uint64_t wait_for_request(void)
{
    struct tdx_regs r = {
        .r12 = MIGTD_LEAF(WAIT_FOR_REQUEST), .r13 = sizeof(request_buf),
        .r14 = shared(request_buf), .r15 = REQUEST_VECTOR,
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
        .rbx = shared(status_buf), .rdi = REQUEST_VECTOR,
    };

    st64(status_buf, 0);
    st32(status_buf + 8, len);
    copy(status_buf + HDR, data, len);
    guest_printf("migtd-stub: request %lu: ReportStatus %s, result %u\n",
                 id, failed ? "failure" : "success", result);
    if (migtd_vmcall(&r) != TDVMCALL_SUCCESS || status_buf[0] != VMM_SUCCESS) {
        guest_printf("migtd-stub: ReportStatus was refused\n");
    }
}

/* Send @len bytes; the result, or VMM_CANCEL as a MigrationResult */
static int stream_send(uint64_t id, const void *data, uint32_t len)
{
    struct tdx_regs r = {
        .r12 = MIGTD_LEAF(SEND), .r13 = id, .r14 = HDR + len,
        .r15 = shared(send_buf), .rbx = STREAM_VECTOR,
    };

    st64(send_buf, 0);
    st32(send_buf + 8, len);
    copy(send_buf + HDR, data, len);
    stream_signalled = 0;
    if (migtd_vmcall(&r) != TDVMCALL_SUCCESS) {
        return RESULT_NETWORK_ERROR;
    }
    if (!idle_until(&stream_signalled, EXCHANGE_TIMEOUT_MS)) {
        return RESULT_NETWORK_ERROR;
    }
    return send_buf[0] == VMM_SUCCESS ? RESULT_SUCCESS : RESULT_VMM_CANCELED;
}

/*
 * The stream is bytes: one Receive may bring less than a message, or the
 * end of one and the start of the next. What was received and not yet
 * taken waits in recv_buf.
 */
static uint32_t rx_off, rx_left;

static int stream_refill(uint64_t id)
{
    struct tdx_regs r = {
        .r12 = MIGTD_LEAF(RECEIVE), .r13 = id, .r14 = sizeof(recv_buf),
        .r15 = shared(recv_buf), .rbx = STREAM_VECTOR,
    };

    st64(recv_buf, 0);
    stream_signalled = 0;
    if (migtd_vmcall(&r) != TDVMCALL_SUCCESS) {
        return RESULT_NETWORK_ERROR;
    }
    if (!idle_until(&stream_signalled, EXCHANGE_TIMEOUT_MS)) {
        guest_printf("migtd-stub: request %lu: the peer is silent\n", id);
        return RESULT_NETWORK_ERROR;
    }
    if (recv_buf[0] != VMM_SUCCESS) {
        return RESULT_VMM_CANCELED;
    }
    rx_off = HDR;
    rx_left = ld64(recv_buf + 8) & 0xffffffff;
    if (!rx_left || rx_left > sizeof(recv_buf) - HDR) {
        guest_printf("migtd-stub: request %lu: bad Receive length %u\n", id,
                     rx_left);
        return RESULT_INVALID_PARAMETER;
    }
    return RESULT_SUCCESS;
}

/* Take exactly @len bytes from the stream (into @data unless NULL) */
static int stream_receive(uint64_t id, uint8_t *data, uint64_t len)
{
    uint64_t got = 0, n;
    int res;

    while (got < len) {
        if (!rx_left) {
            res = stream_refill(id);
            if (res != RESULT_SUCCESS) {
                return res;
            }
        }
        n = rx_left < len - got ? rx_left : len - got;
        if (data) {
            copy(data + got, recv_buf + rx_off, n);
        }
        rx_off += n;
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
    uint64_t total = (uint64_t)BENCH_CHUNKS * BENCH_CHUNK;
    uint64_t start = rdtsc(), hz = tsc_hz();
    int i, res = RESULT_SUCCESS;

    for (i = 0; mi->source && i < BENCH_CHUNKS && !res; i++) {
        res = stream_send(mi->id, recv_buf, BENCH_CHUNK);
    }
    if (!mi->source) {
        res = stream_receive(mi->id, NULL, total);
    }
    if (!mi->source && !res && hz) {
        guest_printf("BENCH stream bytes=%lu us=%lu\n", total,
                     (rdtsc() - start) / (hz / 1000000));
    }
    return res;
}

static uint64_t servtd(uint64_t leaf, const struct migration_info *mi,
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
        if (servtd(TDG_SERVTD_RD, mi, MIG_ENC_KEY + i, &ex->key[i])) {
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

    if (servtd(TDG_SERVTD_RD, mi, SERVTD_ATTR, &attr) || attr) {
        return attr ? RESULT_INVALID_PARAMETER : RESULT_TDX_MODULE_ERROR;
    }
    if (servtd(TDG_SERVTD_WR, mi, MIG_VERSION, &v)) {
        return RESULT_TDX_MODULE_ERROR;
    }
    for (i = 0; i < 4; i++) {
        v = peer->key[i];
        if (servtd(TDG_SERVTD_WR, mi, MIG_DEC_KEY + i, &v)) {
            return RESULT_TDX_MODULE_ERROR;
        }
    }
    return RESULT_SUCCESS;
}

static int exchange_msk(const struct migration_info *mi)
{
    struct exchange_info local, peer;
    uint64_t version = 0;
    int res;

    rx_left = 0;                        /* a new stream */
    res = local_exchange_info(mi, &local);
    if (res == RESULT_SUCCESS) {
        res = stream_send(mi->id, &local, EXCHANGE_SIZE);
    }
    if (res == RESULT_SUCCESS) {
        res = stream_receive(mi->id, (uint8_t *)&peer, EXCHANGE_SIZE);
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
    local.key[0] = local.key[1] = local.key[2] = local.key[3] = 0;
    return res;
}

static void start_migration(const uint8_t *p, uint32_t len)
{
    struct migration_info mi;
    int i, res;

    mi.id = ld64(p);
    if (len != 56 || p[9] != 0) {
        report_status(mi.id, 1, RESULT_INVALID_PARAMETER, 0, 0);
        return;
    }
    mi.source = p[8] == 1;
    for (i = 0; i < 4; i++) {
        mi.uuid[i] = ld64(p + 16 + 8 * i);
    }
    mi.binding_handle = ld64(p + 48);
    guest_printf("migtd-stub: request %lu: start migration as %s\n", mi.id,
                 mi.source ? "source" : "destination");
    res = exchange_msk(&mi);
    report_status(mi.id, res != RESULT_SUCCESS, res, 0, 0);
}

static int make_report(void)
{
    struct tdx_regs r = {
        .rax = TDG_MR_REPORT, .rcx = (uint64_t)tdreport,
        .rdx = (uint64_t)reportdata,
    };

    tdcall(&r);
    return r.rax == TDX_SUCCESS;
}

static void get_td_report(const uint8_t *p, uint32_t len, int tdinfo_only)
{
    static const char host_requested[] = "HostRequestedMigTDReport";
    uint64_t id = ld64(p);
    int i;

    for (i = 0; i < 64; i++) {
        reportdata[i] = 0;
    }
    if (tdinfo_only && len == 72) {
        copy(reportdata, p + 8, 64);        /* GetMigtdData: the host's */
    } else {
        copy(reportdata, host_requested, sizeof(host_requested) - 1);
    }
    if (!make_report()) {
        report_status(id, 1, RESULT_TDX_MODULE_ERROR, 0, 0);
    } else if (tdinfo_only) {
        report_status(id, 0, RESULT_SUCCESS, tdreport + 512, 512);
    } else {
        report_status(id, 0, RESULT_SUCCESS, tdreport, sizeof(tdreport));
    }
}

/* {u32 num_vcpus, u32 0, then {u64 log page GPA, u64 size} per vCPU} */
static void enable_log_area(const uint8_t *p, uint32_t len)
{
    static const char signature[16] = "MigTD LogArea 1";
    uint8_t reply[8 + 16 * LOG_PAGES];
    uint64_t id = ld64(p), vcpus = 1;
    uint64_t i;

    if (len != 16 || p[8] < 1 || p[8] > 5) {
        report_status(id, 1, RESULT_INVALID_PARAMETER, 0, 0);
        return;
    }
    for (i = 0; i < vcpus; i++) {
        copy(log_pages + i * PAGE, signature, sizeof(signature));
        st64(reply + 8 + 16 * i, (uint64_t)(log_pages + i * PAGE));
        st64(reply + 16 + 16 * i, PAGE);
    }
    st64(reply, vcpus);
    report_status(id, 0, RESULT_SUCCESS, reply, 8 + 16 * vcpus);
}

static void handle_request(void)
{
    uint8_t op = request_buf[1];
    uint32_t len = ld64(request_buf + 8) & 0xffffffff;
    const uint8_t *payload = request_buf + HDR;

    if (request_buf[0] != VMM_SUCCESS || len < 8) {
        return;                             /* spurious */
    }
    switch (op) {
    case OP_START_MIGRATION:
        start_migration(payload, len);
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

void migtd_stub_run(void)
{
    if (!map_shared(request_buf, sizeof(request_buf)) ||
        !map_shared(status_buf, sizeof(status_buf)) ||
        !map_shared(send_buf, sizeof(send_buf)) ||
        !map_shared(recv_buf, sizeof(recv_buf)) ||
        !map_shared(log_pages, sizeof(log_pages))) {
        guest_printf("migtd-stub: MapGPA failed\n");
        return;
    }
    timer_start();
    guest_printf("migtd-stub: waiting for requests\n");
    for (;;) {
        if (wait_for_request() != TDVMCALL_SUCCESS) {
            guest_printf("migtd-stub: WaitForRequest refused\n");
            return;
        }
        while (!request_arrived) {
            idle_hlt();
        }
        handle_request();
    }
}
