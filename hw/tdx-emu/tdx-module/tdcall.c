/*
 * tdx-emu: the TDCALL leaf dispatcher and the TDX module's simple leaves
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "hw/boards.h"
#include "target/i386/tdcall.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "tdx-module.h"
#include "hw/tdx-emu/vmm/vmm.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "trace.h"

/*
 * A leaf returns the completion status for RAX and writes only the output
 * registers it defines: the td-shim reset vector keeps its loop counters in
 * R14/R15 across TDCALL (TDX module ABI, "An emulator must change only the
 * documented outputs").
 */
typedef uint64_t TdxLeafFn(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);

typedef struct TdxLeaf {
    const char *name;
    TdxLeafFn *fn;
    uint8_t max_version;
    /* Reads only the vCPU and the TD's fixed configuration: no BQL */
    bool vcpu_local;
} TdxLeaf;

/* TDG.VP.INFO (TDX module ABI, leaf 1): TD execution environment info */
static uint64_t tdg_vp_info(TdxEmuState *s, X86CPU *cpu, uint64_t *regs)
{
    regs[R_ECX] = s->gpaw;
    regs[R_EDX] = s->attributes;
    regs[R_R8] = s->nr_vcpus | ((uint64_t)s->max_vcpus << 32);
    regs[R_R9] = cpu->parent_obj.cpu_index;
    regs[R_R10] = tdx_emu_tdcall_leaf_exists(TDG_SYS_RD) ?
                  TDG_VP_INFO_SYS_RD_AVAILABLE : 0;
    regs[R_R11] = 0;
    return TDX_SUCCESS;
}

static const TdxLeaf tdcall_leaves[] = {
    [TDG_VP_VMCALL] = { "TDG.VP.VMCALL", tdx_emu_vmcall, 0 },
    [TDG_VP_INFO] = { "TDG.VP.INFO", tdg_vp_info, 0, .vcpu_local = true },
    [TDG_MR_RTMR_EXTEND] = { "TDG.MR.RTMR.EXTEND", tdx_emu_rtmr_extend, 0 },
    [TDG_VP_VEINFO_GET] = { "TDG.VP.VEINFO.GET", tdx_emu_veinfo_get, 0,
                            .vcpu_local = true },
    [TDG_MR_REPORT] = { "TDG.MR.REPORT", tdx_emu_mr_report, 0 },
    [TDG_MEM_PAGE_ACCEPT] = { "TDG.MEM.PAGE.ACCEPT", tdx_emu_mem_page_accept,
                              0 },
    [TDG_VM_RD] = { "TDG.VM.RD", tdx_emu_vm_rd, 0 },
    [TDG_VM_WR] = { "TDG.VM.WR", tdx_emu_vm_wr, 0 },
    [TDG_SYS_RD] = { "TDG.SYS.RD", tdx_emu_sys_rd, 0 },
    [TDG_SERVTD_RD] = { "TDG.SERVTD.RD", tdx_emu_servtd_rd, 0 },
    [TDG_SERVTD_WR] = { "TDG.SERVTD.WR", tdx_emu_servtd_wr, 0 },
    [TDG_MR_VERIFYREPORT] = { "TDG.MR.VERIFYREPORT", tdx_emu_verify_report,
                              0 },
    [TDG_SERVTD_REBIND_APPROVE] = { "TDG.SERVTD.REBIND.APPROVE",
                                    tdx_emu_servtd_rebind_approve, 0 },
};

QEMU_BUILD_BUG_ON(ARRAY_SIZE(tdcall_leaves) + 1 > TDX_EMU_NR_LEAF_SLOTS);

static const TdxLeaf *tdcall_find_leaf(uint64_t leaf)
{
    if (leaf >= ARRAY_SIZE(tdcall_leaves) || !tdcall_leaves[leaf].fn) {
        return NULL;
    }
    return &tdcall_leaves[leaf];
}

bool tdx_emu_tdcall_leaf_exists(uint64_t leaf)
{
    return tdcall_find_leaf(leaf) != NULL;
}

/*
 * RAX[15:0] is the leaf, RAX[23:16] its version and RAX[63:24] must be
 * zero; anything else, like a leaf the module does not have, completes
 * with TDX_OPERAND_INVALID (TDX module ABI, "General ABI").
 */
static const TdxLeaf *tdcall_decode(uint64_t rax)
{
    const TdxLeaf *leaf = tdcall_find_leaf(rax & TDCALL_LEAF_MASK);
    uint64_t version = (rax >> TDCALL_VERSION_SHIFT) & TDCALL_VERSION_MASK;

    if (!leaf || (rax >> TDCALL_RESERVED_SHIFT) ||
        version > leaf->max_version) {
        return NULL;
    }
    return leaf;
}

static void tdcall_run(TdxEmuState *s, X86CPU *cpu, const TdxLeaf *leaf,
                       uint64_t *regs)
{
    int cpu_index = cpu->parent_obj.cpu_index;
    const char *name = leaf ? leaf->name : "unknown";

    trace_tdx_emu_tdcall(cpu_index, name, regs[R_EAX], regs[R_ECX],
                         regs[R_EDX], regs[R_R8]);
    if (leaf) {
        regs[R_EAX] = leaf->fn(s, cpu, regs);
    } else {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tdx-emu: cpu %d: TDCALL with unsupported RAX 0x%"
                      PRIx64 "\n", cpu_index, regs[R_EAX]);
        regs[R_EAX] = TDX_OPERAND_INVALID;
    }
    trace_tdx_emu_tdcall_done(cpu_index, name, regs[R_EAX]);
}

/* Not when a memory operand met an EPT violation (the #VE is on it) */
bool tdx_emu_tdcall_completes(X86TdcallAction action)
{
    return action != X86_TDCALL_VE && action != X86_TDCALL_DF &&
           action != X86_TDCALL_STOP;
}

/*
 * Called on the vCPU thread without the BQL (the mailbox calls it with the
 * BQL held): vCPU-local leaves run as they are, the rest under the BQL.
 * A TDCALL that does not complete leaves the registers as they were.
 */
X86TdcallAction tdx_emu_tdcall(TdxEmuState *s, X86CPU *cpu, uint64_t *regs)
{
    const TdxLeaf *leaf = tdcall_decode(regs[R_EAX]);
    uint64_t in[TDX_EMU_NR_GPRS];
    X86TdcallAction action;
    uint64_t *count = &s->leaf_counts[cpu->parent_obj.cpu_index]
                          [leaf ? leaf - tdcall_leaves
                                : ARRAY_SIZE(tdcall_leaves)];

    qatomic_set(count, qatomic_read(count) + 1);    /* only this vCPU's */
    if (leaf && leaf->vcpu_local) {
        tdcall_run(s, cpu, leaf, regs);
        return X86_TDCALL_CONTINUE_IN_TB;
    }

    BQL_LOCK_GUARD();
    tdx_emu_vcpu_running(s, cpu->parent_obj.cpu_index);
    tdx_emu_payload_observe(s, cpu);
    memcpy(in, regs, sizeof(in));
    tdcall_run(s, cpu, leaf, regs);
    action = s->halt;
    s->halt = X86_TDCALL_CONTINUE;
    if (!tdx_emu_tdcall_completes(action)) {
        memcpy(regs, in, sizeof(in));
    }
    return action;
}

void tdx_emu_tdcall_realize(TdxEmuState *s)
{
    s->leaf_counts = g_new0(typeof(*s->leaf_counts), s->max_vcpus);
    tdx_emu_liveness_realize(s);
}

static uint64_t leaf_count(TdxEmuState *s, size_t slot)
{
    uint64_t sum = 0;
    uint32_t i;

    for (i = 0; i < s->max_vcpus; i++) {
        sum += qatomic_read(&s->leaf_counts[i][slot]);
    }
    return sum;
}

uint64_t tdx_emu_tdcall_total(TdxEmuState *s)
{
    uint64_t sum = 0;
    size_t slot;

    for (slot = 0; slot <= ARRAY_SIZE(tdcall_leaves); slot++) {
        sum += leaf_count(s, slot);
    }
    return sum;
}

void tdx_emu_foreach_tdcall_count(TdxEmuState *s, TdxEmuCountFn *fn,
                                  void *opaque)
{
    size_t i;

    for (i = 0; i <= ARRAY_SIZE(tdcall_leaves); i++) {
        uint64_t count = leaf_count(s, i);

        if (count) {
            fn(i < ARRAY_SIZE(tdcall_leaves) ? tdcall_leaves[i].name :
               "unknown", count, opaque);
        }
    }
}
