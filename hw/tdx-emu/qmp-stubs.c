/*
 * tdx-emu: QMP commands in x86 builds without the tdx-emu device
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qapi-commands-tdx-emu-target.h"

TdxEmuInfo *qmp_query_tdx_emu(Error **errp)
{
    error_setg(errp, "tdx-emu is not available in this QEMU");
    return NULL;
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
    error_setg(errp, "tdx-emu is not available in this QEMU");
}

void qmp_tdx_emu_request(TdxEmuRequest *arg, Error **errp)
{
    error_setg(errp, "tdx-emu is not available in this QEMU");
}

void qmp_tdx_emu_cancel_request(uint64_t request_id, Error **errp)
{
    error_setg(errp, "tdx-emu is not available in this QEMU");
}

TdxEmuLogArea *qmp_query_tdx_emu_log_area(bool has_since, uint64_t since,
                                          Error **errp)
{
    error_setg(errp, "tdx-emu is not available in this QEMU");
    return NULL;
}

void qmp_tdx_emu_catch(bool has_leaves, uint64List *leaves,
                       bool has_vmcalls, uint64List *vmcalls, Error **errp)
{
    error_setg(errp, "tdx-emu is not available in this QEMU");
}
