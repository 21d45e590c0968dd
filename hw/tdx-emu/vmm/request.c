/*
 * tdx-emu: requests to the MigTD and their completion (MigTD
 * src/migtd/src/migration/session.rs)
 *
 * The host sends a request over QMP (tdx-emu-request). It goes into the
 * newest WaitForRequest buffer the MigTD handed over, or waits for one:
 * data_status = VMM_SUCCESS | operation << 8, length, then the payload, and
 * the WaitForRequest vector. The MigTD answers with ReportStatus; the
 * device then acknowledges the buffer and tells the host with the
 * TDX_EMU_REQUEST_COMPLETE event.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-events-tdx-emu-target.h"
#include "qemu/base64.h"
#include "qemu/bswap.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "exec/address-spaces.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "hw/tdx-emu/tdx-module/tdx-module.h"
#include "vmm.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "vmcall-raw.h"
#include "hw/tdx-emu/hexstr.h"
#include "trace.h"

#define REPORT_STATUS_MAX       (1 * MiB)
#define STATUS_WORD_RESERVED    0xffffffffffff0000ULL

/* MigrationResult (MigTD src/migtd/src/migration/mod.rs) */
static const char *const migration_results[] = {
    "Success", "InvalidParameter", "Unsupported", "OutOfResource",
    "TdxModuleError", "NetworkError", "SecureSessionError",
    "MutualAttestationError", "PolicyUnsatisfiedError", "InvalidPolicyError",
    "VmmCanceled", "VmmInternalError", "UnsupportedOperationError",
};

static const char *migration_result_name(uint8_t code)
{
    if (code < ARRAY_SIZE(migration_results)) {
        return migration_results[code];
    }
    return code == 0xff ? "InitializationError" : "unknown";
}

void tdx_emu_raw_complete(TdxEmuState *s, const TdxEmuRawBuf *buf,
                          uint8_t status, uint8_t detail,
                          const void *data, uint32_t len)
{
    uint8_t hdr[VMCALL_RAW_HDR_SIZE];

    assert(VMCALL_RAW_HDR_SIZE + (uint64_t)len <= buf->len);
    address_space_write(&address_space_memory,
                        buf->gpa + VMCALL_RAW_HDR_SIZE,
                        MEMTXATTRS_UNSPECIFIED, data, len);
    stq_le_p(hdr, status | (uint64_t)detail << 8);
    stl_le_p(hdr + 8, len);
    /* The TD may poll the header (ReportStatus): payload first */
    smp_wmb();
    address_space_write(&address_space_memory, buf->gpa,
                        MEMTXATTRS_UNSPECIFIED, hdr, sizeof(hdr));
    if (buf->vector >= TDX_EVENT_NOTIFY_MIN_VECTOR) {
        tdx_emu_inject_interrupt(s, buf->apic_id, buf->vector);
    }
}

static TdxEmuMigReq *request_find(TdxEmuState *s, uint64_t id)
{
    TdxEmuMigReq *req;

    QTAILQ_FOREACH(req, &s->requests, next) {
        if (req->id == id) {
            return req;
        }
    }
    return NULL;
}

TdxEmuMigReq *tdx_emu_request_running(TdxEmuState *s, uint64_t id)
{
    TdxEmuMigReq *req = request_find(s, id);

    return req && req->delivered ? req : NULL;
}


static void request_free(TdxEmuState *s, TdxEmuMigReq *req)
{
    QTAILQ_REMOVE(&s->requests, req, next);
    tdx_emu_stream_free(req->stream);
    g_free(req->mig_policy);
    g_free(req);
}

static void request_complete(TdxEmuState *s, TdxEmuMigReq *req,
                             uint64_t status_word, const uint8_t *data,
                             uint32_t len)
{
    uint8_t code = status_word >> 8;
    g_autofree char *b64 = g_base64_encode(data, len);

    trace_tdx_emu_request_complete(req->id, status_word);
    if (req->type == TDX_EMU_REQUEST_TYPE_ENABLE_LOG_AREA &&
        !(status_word & 0xff)) {
        tdx_emu_logarea_enable(s, req->payload[8], data, len);
    }
    qapi_event_send_tdx_emu_request_complete(
        req->id, req->type,
        (status_word & 0xff) ? TDX_EMU_REQUEST_STATUS_FAILURE :
                               TDX_EMU_REQUEST_STATUS_SUCCESS,
        code, migration_result_name(code), b64);
    request_free(s, req);
}

void tdx_emu_request_fail(TdxEmuState *s, TdxEmuMigReq *req, uint8_t code)
{
    request_complete(s, req, 1 | code << 8, NULL, 0);
}

bool tdx_emu_request_report(TdxEmuState *s, uint64_t id,
                            uint64_t status_word)
{
    TdxEmuMigReq *req = tdx_emu_request_running(s, id);

    if (req) {
        request_complete(s, req, status_word, NULL, 0);
    }
    return req != NULL;
}

/*
 * The oldest request still waiting, into the newest WaitForRequest: the
 * vmcall-raw one, else a Service one (service.c). One that cannot fit the
 * buffer fails as VmmInternalError.
 */
void tdx_emu_requests_deliver(TdxEmuState *s)
{
    TdxEmuMigReq *req, *next;

    QTAILQ_FOREACH_SAFE(req, &s->requests, next, next) {
        if (!s->wfr.pending && !s->svc_wfr.pending) {
            return;
        }
        if (req->delivered) {
            continue;
        }
        if (!s->wfr.pending) {
            tdx_emu_service_deliver(s, req);
            continue;
        }
        if (VMCALL_RAW_HDR_SIZE + req->payload_len > s->wfr.buf.len) {
            qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: request %" PRIu64
                          " does not fit the WaitForRequest buffer\n",
                          req->id);
            tdx_emu_request_fail(s, req, TDX_EMU_MIG_VMM_INTERNAL);
            continue;
        }
        req->delivered = true;
        s->wfr.pending = false;
        trace_tdx_emu_request_deliver(req->id, req->operation);
        tdx_emu_raw_complete(s, &s->wfr.buf, VMCALL_RAW_VMM_SUCCESS,
                             req->operation, req->payload, req->payload_len);
    }
}

void tdx_emu_request_add(TdxEmuState *s, TdxEmuMigReq *req)
{
    trace_tdx_emu_request_add(req->id, req->operation);
    QTAILQ_INSERT_TAIL(&s->requests, req, next);
    tdx_emu_requests_deliver(s);
}

/*
 * ReportStatus (MigTD src/devices/vmcall_raw, leaf 2): R13 = request id, R14
 * = status word (byte 0: 0 success / 1 failure, byte 1: MigrationResult, rest
 * 0), R15 = buffer length, RBX = buffer GPA | S holding {header, data}, RDI =
 * vector.
 */
uint64_t tdx_emu_migtd_report_status(TdxEmuState *s, X86CPU *cpu,
                                     uint64_t *vmm)
{
    TdxEmuRawBuf buf = {
        .gpa = vmm[R_EBX] & ~tdx_emu_shared_bit(s), .len = vmm[R_R15],
        .vector = vmm[R_EDI], .apic_id = cpu->apic_id,
    };
    TdxEmuMigReq *req = tdx_emu_request_running(s, vmm[R_R13]);
    uint64_t status_word = vmm[R_R14];
    g_autofree uint8_t *data = NULL;
    uint8_t hdr[VMCALL_RAW_HDR_SIZE];
    uint32_t len;

    if (!QEMU_IS_ALIGNED(vmm[R_EBX], 4 * KiB)) {
        return TDVMCALL_ALIGN_ERROR;
    }
    if (!req || (status_word & STATUS_WORD_RESERVED) ||
        (status_word & 0xff) > 1 || vmm[R_EDI] > 255 ||
        buf.len < VMCALL_RAW_HDR_SIZE || buf.len > REPORT_STATUS_MAX ||
        !tdx_emu_ram_range(s, buf.gpa, buf.len)) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: ReportStatus for request %"
                      PRIu64 "%s: bad status 0x%" PRIx64 " or buffer\n",
                      vmm[R_R13], req ? "" : " (no such request running)",
                      status_word);
        return TDVMCALL_INVALID_OPERAND;
    }
    address_space_read(&address_space_memory, buf.gpa,
                       MEMTXATTRS_UNSPECIFIED, hdr, sizeof(hdr));
    len = MIN(ldl_le_p(hdr + 8), buf.len - VMCALL_RAW_HDR_SIZE);
    data = g_malloc(len);
    address_space_read(&address_space_memory,
                       buf.gpa + VMCALL_RAW_HDR_SIZE,
                       MEMTXATTRS_UNSPECIFIED, data, len);
    request_complete(s, req, status_word, data, len);
    /* Acknowledged: MigTD polls for VMM_SUCCESS; the interrupt is extra */
    tdx_emu_raw_complete(s, &buf, VMCALL_RAW_VMM_SUCCESS, 0, NULL, 0);
    return TDVMCALL_SUCCESS;
}

/* WaitForRequest operations (MigTD src/migtd/src/migration/session.rs) */
static const uint8_t request_operations[TDX_EMU_REQUEST_TYPE__MAX] = {
    [TDX_EMU_REQUEST_TYPE_START_MIGRATION] = 1,
    [TDX_EMU_REQUEST_TYPE_START_REBINDING] = 2,
    [TDX_EMU_REQUEST_TYPE_GET_TD_REPORT] = 3,
    [TDX_EMU_REQUEST_TYPE_ENABLE_LOG_AREA] = 4,
    [TDX_EMU_REQUEST_TYPE_GET_MIGTD_DATA] = 5,
};

/*
 * What only a non-vmcall-raw MigTD gets, in its HOBs (service.c): the
 * communication id (default: the request id), vsock CID and ports, and a
 * migration policy (base64) with its id.
 */
static bool service_fields(TdxEmuMigReq *req, TdxEmuMigrationRequest *m,
                           uint8_t **policy, Error **errp)
{
    req->communication_id = m->has_communication_id ? m->communication_id :
                                                      req->id;
    req->mig_td_cid = m->vsock_cid;
    req->mig_channel_port = m->vsock_port;
    req->quote_service_port = m->quote_service_port;
    req->mig_policy_id = m->mig_policy_id;
    if (!m->mig_policy) {
        return true;
    }
    *policy = qbase64_decode(m->mig_policy, -1, &req->mig_policy_len, errp);
    if (*policy && req->mig_policy_len > TDX_EMU_MIG_POLICY_MAX) {
        error_setg(errp, "mig-policy is larger than %d bytes",
                   TDX_EMU_MIG_POLICY_MAX);
        return false;
    }
    return *policy != NULL;
}

#define MIG_INFO_SIZE       56
#define MIG_INFO_FULL_SIZE  (MIG_INFO_SIZE + TDX_TDINFO_SIZE)
QEMU_BUILD_BUG_ON(MIG_INFO_FULL_SIZE > TDX_EMU_REQ_PAYLOAD_MAX);

/*
 * The initial MigTD's TDINFO (GHCI 1.5 initMigtdData): the request's own,
 * else the one the target was bound with; NULL if there is none.
 */
static const uint8_t *init_tdinfo(TdxEmuMigrationRequest *m,
                                  const TdxEmuTarget *bound, uint8_t *buf,
                                  Error **errp)
{
    if (m->init_tdinfo) {
        return tdx_emu_hex_parse("init-tdinfo", m->init_tdinfo, buf,
                                 TDX_TDINFO_SIZE, errp) ? buf : NULL;
    }
    return bound && bound->has_init_tdinfo ? bound->init_tdinfo : NULL;
}

/*
 * MigtdMigrationInformation (MigTD src/migtd/src/migration/mod.rs): u64
 * id, u8 source, u8 has_init_data, 6 reserved, target TD UUID (4 x u64),
 * u64 binding handle: 56 bytes; with an init TDINFO, has_init_data = 1
 * and the 512-byte TDINFO_STRUCT follows (568 bytes, MigTD commits
 * e8b7c5b, 8df57dd). Binds the target TD if it is not bound yet. The
 * chardev carries a vmcall-raw MigTD's stream; other transports have
 * their own device.
 */
static bool migration_payload(TdxEmuState *s, TdxEmuMigReq *req,
                              TdxEmuMigrationRequest *m, Error **errp)
{
    g_autofree TdxEmuTarget *t = g_new0(TdxEmuTarget, 1);
    g_autofree uint8_t *policy = NULL;
    uint8_t tdinfo_buf[TDX_TDINFO_SIZE];
    const uint8_t *tdinfo;
    TdxEmuTarget *bound;

    if (!tdx_emu_hex_parse("target-uuid", m->target_uuid, t->uuid,
                           sizeof(t->uuid), errp) ||
        !service_fields(req, m, &policy, errp)) {
        return false;
    }
    bound = tdx_emu_target_find(s, m->binding_handle);
    tdinfo = init_tdinfo(m, bound, tdinfo_buf, errp);
    if (m->init_tdinfo && !tdinfo) {
        return false;
    }
    if (bound && memcmp(bound->uuid, t->uuid, sizeof(t->uuid))) {
        error_setg(errp, "binding handle 0x%" PRIx64 " is bound to another "
                   "target TD", m->binding_handle);
        return false;
    }
    if (m->chardev) {
        req->stream = tdx_emu_stream_new(s, req->id, m->chardev, errp);
        if (!req->stream) {
            return false;
        }
    }
    req->mig_policy = g_steal_pointer(&policy);
    stq_le_p(req->payload, req->id);
    req->payload[8] = m->source;
    memcpy(req->payload + 16, t->uuid, sizeof(t->uuid));
    stq_le_p(req->payload + 48, m->binding_handle);
    req->payload_len = MIG_INFO_SIZE;
    if (tdinfo) {
        req->payload[9] = 1;
        memcpy(req->payload + MIG_INFO_SIZE, tdinfo, TDX_TDINFO_SIZE);
        req->payload_len = MIG_INFO_FULL_SIZE;
    }
    if (!bound) {
        t->handle = m->binding_handle;
        tdx_emu_target_bind(s, g_steal_pointer(&t), &error_abort);
    }
    return true;
}

/*
 * {u64 id}, 8 bytes, or with REPORTDATA {u64 id; u8 reportdata[64]}, 72
 * bytes: MigTD takes either (mod.rs impl_read_from_bytes_with_optional).
 */
static bool report_payload(TdxEmuMigReq *req, TdxEmuReportRequest *r,
                           Error **errp)
{
    stq_le_p(req->payload, req->id);
    req->payload_len = r->reportdata ? 72 : 8;
    return !r->reportdata ||
           tdx_emu_hex_parse("reportdata", r->reportdata, req->payload + 8,
                             64, errp);
}

/* {u64 id; u8 log_max_level (1..5); u8 reserved[7]}, 16 bytes */
static bool log_area_payload(TdxEmuMigReq *req, TdxEmuLogAreaRequest *l,
                             Error **errp)
{
    if (l->log_level < 1 || l->log_level > 5) {
        error_setg(errp, "log-level must be 1 (error) to 5 (trace)");
        return false;
    }
    stq_le_p(req->payload, req->id);
    req->payload[8] = l->log_level;
    req->payload_len = 16;
    return true;
}

TdxEmuMigReq *tdx_emu_request_new(TdxEmuState *s, TdxEmuRequest *arg,
                                  Error **errp)
{
    g_autofree TdxEmuMigReq *req = g_new0(TdxEmuMigReq, 1);
    bool ok;

    if (request_find(s, arg->request_id)) {
        error_setg(errp, "request %" PRIu64 " is still running",
                   arg->request_id);
        return NULL;
    }
    if (QTAILQ_COUNT(&s->requests, next) >= TDX_EMU_MAX_REQUESTS) {
        error_setg(errp, "%d requests are waiting or running already",
                   TDX_EMU_MAX_REQUESTS);
        return NULL;
    }
    req->id = arg->request_id;
    req->type = arg->type;
    req->operation = request_operations[arg->type];
    switch (arg->type) {
    case TDX_EMU_REQUEST_TYPE_START_MIGRATION:
        ok = migration_payload(s, req, &arg->u.start_migration, errp);
        break;
    case TDX_EMU_REQUEST_TYPE_START_REBINDING:
        ok = migration_payload(s, req, &arg->u.start_rebinding, errp);
        break;
    case TDX_EMU_REQUEST_TYPE_GET_TD_REPORT:
        ok = report_payload(req, &arg->u.get_td_report, errp);
        break;
    case TDX_EMU_REQUEST_TYPE_GET_MIGTD_DATA:
        ok = report_payload(req, &arg->u.get_migtd_data, errp);
        break;
    case TDX_EMU_REQUEST_TYPE_ENABLE_LOG_AREA:
        ok = log_area_payload(req, &arg->u.enable_log_area, errp);
        break;
    default:
        g_assert_not_reached();
    }
    return ok ? g_steal_pointer(&req) : NULL;
}

void tdx_emu_request_cancel(TdxEmuState *s, uint64_t id, Error **errp)
{
    TdxEmuMigReq *req = tdx_emu_request_running(s, id);

    if (!req || !req->stream) {
        error_setg(errp, "no request %" PRIu64 " with a migration stream is "
                   "running", id);
        return;
    }
    tdx_emu_stream_abort(req->stream);
}

/*
 * A reset ends the MigTD: its requests fail as canceled by the VMM, and
 * its pending Send and Receive are gone with it (no completion).
 */
void tdx_emu_requests_cancel(TdxEmuState *s)
{
    TdxEmuMigReq *req, *next;

    QTAILQ_FOREACH_SAFE(req, &s->requests, next, next) {
        tdx_emu_stream_forget(req->stream);
        tdx_emu_request_fail(s, req, TDX_EMU_MIG_VMM_CANCELED);
    }
}
