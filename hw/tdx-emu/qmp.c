/*
 * tdx-emu: QMP commands (query-tdx-emu, tdx-emu-add-target,
 * tdx-emu-request, tdx-emu-catch)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-tdx-emu-target.h"
#include "tdx-emu.h"
#include "hw/tdx-emu/tdx-module/tdx-module.h"
#include "hw/tdx-emu/vmm/vmm.h"
#include "hexstr.h"

static TdxEmuState *tdx_emu_get(Error **errp)
{
    TdxEmuState *s = tdx_emu_find();

    if (!s) {
        error_setg(errp, "there is no %s device", TYPE_TDX_EMU);
    }
    return s;
}

#define ALL_ELEMS   0xf     /* the four qwords of a key */

static TdxEmuTargetInfo *target_info(TdxEmuState *s, const TdxEmuTarget *t)
{
    TdxEmuTargetInfo *info = g_new0(TdxEmuTargetInfo, 1);

    info->handle = t->handle;
    info->uuid = tdx_emu_hex_format(t->uuid, sizeof(t->uuid));
    if (s->expose_keys) {
        info->enc_key = tdx_emu_hex_format(t->mig_enc_key,
                                           sizeof(t->mig_enc_key));
        info->dec_key = tdx_emu_hex_format(t->mig_dec_key,
                                           sizeof(t->mig_dec_key));
    }
    info->enc_key_generations = t->enc_key_generations;
    info->enc_key_read = t->enc_key_read == ALL_ELEMS;
    info->dec_key_written = t->dec_key_written == ALL_ELEMS;
    info->mig_version = t->mig_version;
    info->mig_version_written = t->mig_version_written;
    info->servtd_attr = t->servtd_attr;
    info->rebind_approved = t->rebind_approved;
    if (t->rebind_approved) {
        info->rebind_token = tdx_emu_hex_format(t->rebind_token,
                                                sizeof(t->rebind_token));
    }
    return info;
}

static TdxEmuTdvfSectionList *firmware_sections(const TdxEmuFirmware *fw)
{
    TdxEmuTdvfSectionList *head = NULL, **tail = &head;
    uint32_t i;

    for (i = 0; i < fw->nr_sections; i++) {
        const TdvfSection *sec = &fw->sections[i];
        TdxEmuTdvfSection *q = g_new0(TdxEmuTdvfSection, 1);

        q->data_offset = sec->data_offset;
        q->raw_size = sec->raw_size;
        q->address = sec->address;
        q->size = sec->size;
        q->type = sec->type;
        q->name = g_strdup(tdx_emu_tdvf_section_name(sec->type));
        q->attributes = sec->attributes;
        QAPI_LIST_APPEND(tail, q);
    }
    return head;
}

static TdxEmuPayloadInfo *payload_info(const TdxEmuPayload *p)
{
    TdxEmuPayloadInfo *info;

    if (!p->nr_segs) {
        return NULL;
    }
    info = g_new0(TdxEmuPayloadInfo, 1);
    info->image_offset = p->elf_offset;
    info->elf_entry = p->entry;
    info->size = p->size;
    if (p->found) {
        info->has_base = info->has_entry = info->has_rip = true;
        info->base = p->base;
        info->entry = p->base + p->entry;
        info->rip = p->found_rip;
    }
    return info;
}

static TdxEmuCatchInfo *catch_info(const TdxEmuCatch *c)
{
    TdxEmuCatchInfo *info = g_new0(TdxEmuCatchInfo, 1);
    uint64List **leaves = &info->leaves, **vmcalls = &info->vmcalls;
    unsigned i;

    for (i = 0; i < TDX_EMU_CATCH_LEAVES; i++) {
        if ((c->leaves >> i) & 1) {
            QAPI_LIST_APPEND(leaves, i);
        }
    }
    for (i = 0; i < c->nr_vmcalls; i++) {
        QAPI_LIST_APPEND(vmcalls, c->vmcalls[i]);
    }
    return info;
}

static TdxEmuCrash *crash_info(const TdxEmuCrashState *c)
{
    TdxEmuCrash *info;
    uint64List **tail;
    unsigned i;

    if (!c->reported) {
        return NULL;
    }
    info = g_new0(TdxEmuCrash, 1);
    tail = &info->parameters;
    for (i = 0; i < TDX_EMU_CRASH_PARAMS; i++) {
        QAPI_LIST_APPEND(tail, c->params[i]);
    }
    info->message = g_strdup(c->message);
    return info;
}

static void append_count(const char *name, uint64_t count, void *opaque)
{
    TdxEmuCallCountList ***tail = opaque;
    TdxEmuCallCount *c = g_new0(TdxEmuCallCount, 1);

    c->name = g_strdup(name);
    c->count = count;
    QAPI_LIST_APPEND(*tail, c);
}

TdxEmuInfo *qmp_query_tdx_emu(Error **errp)
{
    TdxEmuState *s = tdx_emu_get(errp);
    TdxEmuTargetInfoList **tail;
    TdxEmuCallCountList **counts;
    strList **rtmr_tail;
    TdxEmuInfo *info;
    TdxEmuTarget *t;
    int i;

    if (!s) {
        return NULL;
    }
    info = g_new0(TdxEmuInfo, 1);
    info->gpaw = s->gpaw;
    info->tdcalls = tdx_emu_tdcall_total(s);
    info->event_notify_vector = s->event_notify.vector;
    info->mrtd = tdx_emu_hex_format(s->mr.mrtd, TDX_SHA384_SIZE);
    info->firmware_sections = firmware_sections(&s->fw);
    rtmr_tail = &info->rtmr;
    for (i = 0; i < TDX_NR_RTMRS; i++) {
        QAPI_LIST_APPEND(rtmr_tail,
                         tdx_emu_hex_format(s->mr.rtmr[i], TDX_SHA384_SIZE));
    }
    info->rebind_accept_token =
        tdx_emu_hex_format(s->vm.rebind_accept_token,
                           sizeof(s->vm.rebind_accept_token));
    info->rebind_attr = s->vm.rebind_attr;
    info->accept_servtd_ext_hash =
        tdx_emu_hex_format(s->vm.accept_servtd_ext_hash,
                           sizeof(s->vm.accept_servtd_ext_hash));
    info->accepted_pages = tdx_emu_accepted_pages(s);
    info->shared_pages = tdx_emu_shared_pages(s);
    info->ve_count = tdx_emu_ve_total(s);
    if (s->fatal.reported) {
        info->fatal_error = g_new0(TdxEmuFatalError, 1);
        info->fatal_error->code = s->fatal.code;
        info->fatal_error->message = g_strdup(s->fatal.message);
    }
    info->crash = crash_info(&s->crash);
    info->killed = g_strdup(qatomic_read(&s->killed));
    if (s->wfr.pending) {
        info->wait_for_request = g_new0(TdxEmuWaitForRequest, 1);
        info->wait_for_request->gpa = s->wfr.buf.gpa;
        info->wait_for_request->length = s->wfr.buf.len;
        info->wait_for_request->vector = s->wfr.buf.vector;
    } else if (s->svc_wfr.pending || s->svc_wfr.polling) {
        /* TDG.VP.VMCALL<Service>: its response buffer */
        info->wait_for_request = g_new0(TdxEmuWaitForRequest, 1);
        info->wait_for_request->gpa = s->svc_wfr.rsp.gpa;
        info->wait_for_request->length = s->svc_wfr.rsp.len;
        info->wait_for_request->vector = s->svc_wfr.rsp.vector;
    }
    info->parked_vcpus = tdx_emu_parked_vcpus(s);
    info->last_failed_vmcall = tdx_emu_last_failed_vmcall(s);
    info->wait_for_request_count = s->wfr.count;
    info->payload = payload_info(&s->payload);
    info->catchpoints = catch_info(&s->catch);
    counts = &info->tdcall_counts;
    tdx_emu_foreach_tdcall_count(s, append_count, &counts);
    counts = &info->vmcall_counts;
    tdx_emu_foreach_vmcall_count(s, append_count, &counts);
    tail = &info->targets;
    QTAILQ_FOREACH(t, &s->targets, next) {
        QAPI_LIST_APPEND(tail, target_info(s, t));
    }
    return info;
}

/* Parse an optional hex value of exactly sizeof the destination */
static bool parse_opt(const char *name, const char *hex, void *buf,
                      size_t len, Error **errp)
{
    return !hex || tdx_emu_hex_parse(name, hex, buf, len, errp);
}

void qmp_tdx_emu_add_target(uint64_t handle, const char *uuid,
                            bool has_servtd_attr, uint64_t servtd_attr,
                            const char *servtd_info_hash,
                            bool has_init_attr, uint64_t init_attr,
                            const char *init_servtd_info_hash,
                            const char *init_cpusvn,
                            const char *init_tee_tcb_svn,
                            const char *init_tee_model,
                            const char *init_tdinfo, Error **errp)
{
    TdxEmuState *s = tdx_emu_get(errp);
    g_autofree TdxEmuTarget *t = g_new0(TdxEmuTarget, 1);

    t->handle = handle;
    t->servtd_attr = has_servtd_attr ? servtd_attr : 0;
    t->servtd_init_attr = has_init_attr ? init_attr : 0;
    if (!s ||
        !tdx_emu_hex_parse("uuid", uuid, t->uuid, sizeof(t->uuid), errp) ||
        !parse_opt("servtd-info-hash", servtd_info_hash, t->servtd_info_hash,
                   sizeof(t->servtd_info_hash), errp) ||
        !parse_opt("init-servtd-info-hash", init_servtd_info_hash,
                   t->servtd_init_info_hash, sizeof(t->servtd_init_info_hash),
                   errp) ||
        !parse_opt("init-cpusvn", init_cpusvn, t->init_cpusvn,
                   sizeof(t->init_cpusvn), errp) ||
        !parse_opt("init-tee-tcb-svn", init_tee_tcb_svn, t->init_tee_tcb_svn,
                   sizeof(t->init_tee_tcb_svn), errp) ||
        !parse_opt("init-tee-model", init_tee_model, t->init_tee_model,
                   sizeof(t->init_tee_model), errp) ||
        !parse_opt("init-tdinfo", init_tdinfo, t->init_tdinfo,
                   sizeof(t->init_tdinfo), errp)) {
        return;
    }
    t->has_init_tdinfo = init_tdinfo != NULL;
    if (init_tdinfo && !init_servtd_info_hash) {
        tdx_emu_servtd_info_hash(t->init_tdinfo, t->servtd_init_attr,
                                 t->servtd_init_info_hash);
    }
    if (tdx_emu_target_bind(s, t, errp)) {
        g_steal_pointer(&t);
    }
}

void qmp_tdx_emu_request(TdxEmuRequest *arg, Error **errp)
{
    TdxEmuState *s = tdx_emu_get(errp);
    TdxEmuMigReq *req = s ? tdx_emu_request_new(s, arg, errp) : NULL;

    if (req) {
        tdx_emu_request_add(s, req);
    }
}

void qmp_tdx_emu_cancel_request(uint64_t request_id, Error **errp)
{
    TdxEmuState *s = tdx_emu_get(errp);

    if (s) {
        tdx_emu_request_cancel(s, request_id, errp);
    }
}

TdxEmuLogArea *qmp_query_tdx_emu_log_area(bool has_since, uint64_t since,
                                          Error **errp)
{
    TdxEmuState *s = tdx_emu_get(errp);

    return s ? tdx_emu_logarea_query(s, has_since ? since : 0) : NULL;
}

void qmp_tdx_emu_catch(bool has_leaves, uint64List *leaves,
                       bool has_vmcalls, uint64List *vmcalls, Error **errp)
{
    TdxEmuState *s = tdx_emu_get(errp);

    if (s) {
        tdx_emu_catch_set(s, leaves, vmcalls, errp);
    }
}
