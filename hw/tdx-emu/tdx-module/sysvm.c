/*
 * tdx-emu: TDG.SYS.RD (module-global fields), TDG.VM.RD and TDG.VM.WR
 * (the TD's own TDCS fields)
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

/* TDCS_CONFIG_FLAGS (TD_PARAMS.CONFIG_FLAGS), as KVM sets them up */
#define CONFIG_FLAGS_GPAW               (1ULL << 0)
#define CONFIG_FLAGS_NO_RBP_MOD         (1ULL << 2)
/* TDCS_TD_CTLS */
#define TD_CTLS_PENDING_VE_DISABLE      (1ULL << 0)
#define TD_CTLS_ENUM_TOPOLOGY           (1ULL << 1)

static uint64_t vm_config_flags(void *ctx, const TdxMdField *f,
                                unsigned elem, uint64_t *value)
{
    TdxEmuState *s = container_of(ctx, TdxEmuState, vm);

    *value = (s->gpaw == TDX_GPAW_52 ? CONFIG_FLAGS_GPAW : 0) |
             (s->no_rbp_mod ? CONFIG_FLAGS_NO_RBP_MOD : 0);
    return TDX_SUCCESS;
}

/* The x2APIC IDs QEMU gives the vCPUs follow its CPUID topology */
static uint64_t vm_topology_configured(void *ctx, const TdxMdField *f,
                                       unsigned elem, uint64_t *value)
{
    *value = 1;
    return TDX_SUCCESS;
}

/*
 * The TD's TDCS fields (TDX module ABI, TDCS fields; the IDs Linux
 * arch/x86/include/asm/shared/tdx.h uses): CONFIG_FLAGS and
 * TOPOLOGY_ENUM_CONFIGURED read-only; of TD_CTLS the TD may set
 * ENUM_TOPOLOGY only (PENDING_VE_DISABLE follows ATTRIBUTES.SEPT_VE_DISABLE
 * as CONFIG_FLAGS has no FLEXIBLE_PENDING_VE, and REDUCE_VE is not offered,
 * so Linux takes its ENUM_TOPOLOGY path); NOTIFY_ENABLES bit 0. Then the
 * rebinding fields a MigTD writes.
 */
static const TdxMdField vm_fields[] = {
    { .name = "CONFIG_FLAGS", .id = 0x1110000300000016ULL, .nr_elems = 1,
      .rd_mask = UINT64_MAX, .get = vm_config_flags },
    { .name = "TD_CTLS", .id = 0x1110000300000017ULL, .nr_elems = 1,
      .rd_mask = UINT64_MAX, .wr_mask = TD_CTLS_ENUM_TOPOLOGY,
      .offset = offsetof(TdxEmuVmFields, td_ctls) },
    { .name = "NOTIFY_ENABLES", .id = 0x9100000000000010ULL, .nr_elems = 1,
      .rd_mask = 1, .wr_mask = 1,
      .offset = offsetof(TdxEmuVmFields, notify_enables) },
    { .name = "TOPOLOGY_ENUM_CONFIGURED", .id = 0x9100000000000019ULL,
      .nr_elems = 1, .rd_mask = 1, .get = vm_topology_configured },
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

/* A new TD: its TDCS fields as TDH.MNG.INIT leaves them */
void tdx_emu_vm_fields_reset(TdxEmuState *s)
{
    memset(&s->vm, 0, sizeof(s->vm));
    if (s->attributes & TDX_TD_ATTR_SEPT_VE_DISABLE) {
        s->vm.td_ctls = TD_CTLS_PENDING_VE_DISABLE;
    }
}

/* RCX = VM ID: 0, the TD itself, the only one without L2 VMs */
static bool vm_id_ok(const char *leaf, uint64_t *regs)
{
    if (regs[R_ECX]) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: %s: VM ID %" PRIu64
                      " does not exist\n", leaf, regs[R_ECX]);
        regs[R_R8] = 0;
        return false;
    }
    return true;
}

/*
 * TDG.VM.RD (leaf 7, TDX module ABI): RCX = VM ID, RDX = field ID; R8 =
 * the value (0 on error).
 */
uint64_t tdx_emu_vm_rd(TdxEmuState *s, X86CPU *cpu, uint64_t *regs)
{
    if (!vm_id_ok("TDG.VM.RD", regs)) {
        return TDX_OPERAND_INVALID + TDX_OPERAND_ID_RCX;
    }
    return tdx_md_read(&vm_md, &s->vm, regs[R_EDX], &regs[R_R8]);
}

/*
 * TDG.VM.WR (leaf 8, TDX module ABI): RCX = VM ID, RDX = field ID, R8 =
 * value, R9 = write mask; R8 = the previous value.
 */
uint64_t tdx_emu_vm_wr(TdxEmuState *s, X86CPU *cpu, uint64_t *regs)
{
    if (!vm_id_ok("TDG.VM.WR", regs)) {
        return TDX_OPERAND_INVALID + TDX_OPERAND_ID_RCX;
    }
    return tdx_md_write(&vm_md, &s->vm, regs[R_EDX], regs[R_R8], regs[R_R9],
                        &regs[R_R8]);
}
