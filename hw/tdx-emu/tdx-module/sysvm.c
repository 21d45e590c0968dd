/*
 * tdx-emu: TDG.SYS.RD (module-global fields) and TDG.VM.WR (the TD's own
 * TDCS fields)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "tdx-module.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "metadata.h"

#define SYS_FIELD(_name, _id, _member)                                   \
    { .name = _name, .id = _id, .nr_elems = 1, .rd_mask = UINT16_MAX,    \
      .offset = offsetof(TdxEmuSysFields, _member) }

/* The migration version ranges a MigTD negotiates with (TDX ABI) */
static const TdxMdField sys_fields[] = {
    SYS_FIELD("MIN_EXPORT_VERSION", 0x2000000100000001ULL,
              min_export_version),
    SYS_FIELD("MAX_EXPORT_VERSION", 0x2000000100000002ULL,
              max_export_version),
    SYS_FIELD("MIN_IMPORT_VERSION", 0x2000000100000003ULL,
              min_import_version),
    SYS_FIELD("MAX_IMPORT_VERSION", 0x2000000100000004ULL,
              max_import_version),
};

static const TdxMdContext sys_md = {
    .fields = sys_fields,
    .nr_fields = ARRAY_SIZE(sys_fields),
};

/*
 * TDG.SYS.RD (leaf 11, TDX module ABI): RDX = field ID; R8 = value and RDX =
 * the next field ID (-1 after the last).
 */
uint64_t tdx_emu_sys_rd(TdxEmuState *s, X86CPU *cpu, uint64_t *regs)
{
    return tdx_md_read_leaf(&sys_md, &s->sys, regs);
}

#define VM_FIELD(_name, _id, _n, _member)                                \
    { .name = _name, .id = _id, .nr_elems = _n, .rd_mask = UINT64_MAX,   \
      .wr_mask = UINT64_MAX, .offset = offsetof(TdxEmuVmFields, _member) }

/* The rebinding fields a MigTD writes into its own TDCS (TDX ABI) */
static const TdxMdField vm_fields[] = {
    VM_FIELD("SERVTD_ACCEPT_SERVTD_EXT_HASH", 0x1910000300000214ULL, 6,
             accept_servtd_ext_hash),
    VM_FIELD("SERVTD_REBIND_ACCEPT_TOKEN", 0x191000030000021EULL, 4,
             rebind_accept_token),
    VM_FIELD("SERVTD_REBIND_ATTR", 0x1910000300000222ULL, 1, rebind_attr),
};

static const TdxMdContext vm_md = {
    .fields = vm_fields,
    .nr_fields = ARRAY_SIZE(vm_fields),
};

/*
 * TDG.VM.WR (leaf 8, TDX module ABI): RCX = VM ID (0: the TD itself, the only
 * one without L2 VMs), RDX = field ID, R8 = value, R9 = write mask; R8 = the
 * previous value.
 */
uint64_t tdx_emu_vm_wr(TdxEmuState *s, X86CPU *cpu, uint64_t *regs)
{
    if (regs[R_ECX]) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: TDG.VM.WR: VM ID %" PRIu64
                      " does not exist\n", regs[R_ECX]);
        regs[R_R8] = 0;
        return TDX_OPERAND_INVALID + TDX_OPERAND_ID_RCX;
    }
    return tdx_md_write(&vm_md, &s->vm, regs[R_EDX], regs[R_R8], regs[R_R9],
                        &regs[R_R8]);
}
