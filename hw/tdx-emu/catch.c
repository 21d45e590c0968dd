/*
 * tdx-emu: TDCALL catchpoints, for gdb
 *
 * gdb can stop on an instruction, not on "the TDCALL that asks for a
 * quote". With a catchpoint set (QMP tdx-emu-catch, or ./tdx-emu gdb
 * --catch-tdcall / --catch-vmcall), the vCPU that makes a matching TDCALL
 * stops right after it, as at a breakpoint on the next instruction: gdb
 * reports SIGTRAP there, with the leaf's outputs in the registers (before
 * gdb attaches, the VM waits in the "debug" run state). Catchpoints need
 * the gdbstub (-gdb or -s): QEMU's debug stop reports to it.
 *
 * The vCPU checks the set without the BQL; QMP replaces it under the BQL,
 * element by element, so a TDCALL racing with tdx-emu-catch may see part
 * of the old set, which is harmless for a debugging aid.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "chardev/char.h"
#include "qapi/error.h"
#include "tdx-emu.h"
#include "tdx-abi.h"
#include "trace.h"

/* TDCALL RAX[15:0] is the leaf number, RAX[23:16] its version */
#define LEAF_NUMBER(rax)    ((rax) & 0xffff)

/* The chardev gdbserver_start() opens (-gdb, -s, HMP gdbserver) */
#define GDBSTUB_CHARDEV     "gdb"

static bool gdbstub_running(void)
{
    return qemu_chr_find(GDBSTUB_CHARDEV) != NULL;
}

static bool vmcall_caught(TdxEmuCatch *c, uint64_t subfn)
{
    unsigned i, n = qatomic_read(&c->nr_vmcalls);

    for (i = 0; i < n; i++) {
        if (qatomic_read(&c->vmcalls[i]) == subfn) {
            return true;
        }
    }
    return false;
}

/* @rax and @r11: the TDCALL's inputs */
bool tdx_emu_catch_hit(TdxEmuState *s, X86CPU *cpu, uint64_t rax,
                       uint64_t r11)
{
    TdxEmuCatch *c = &s->catch;
    uint64_t leaf = LEAF_NUMBER(rax);
    bool hit;

    hit = (leaf < TDX_EMU_CATCH_LEAVES &&
           (qatomic_read(&c->leaves) >> leaf) & 1) ||
          (leaf == TDG_VP_VMCALL && vmcall_caught(c, r11));
    if (hit) {
        trace_tdx_emu_catch(cpu->parent_obj.cpu_index, rax, r11);
    }
    return hit && gdbstub_running();
}

/* Replace the set (QMP tdx-emu-catch) */
void tdx_emu_catch_set(TdxEmuState *s, uint64List *leaves,
                       uint64List *vmcalls, Error **errp)
{
    uint64_t mask = 0, subfns[TDX_EMU_CATCH_VMCALLS];
    unsigned n = 0, i;

    if ((leaves || vmcalls) && !gdbstub_running()) {
        error_setg(errp, "TDCALL catchpoints stop the VM for gdb: start "
                   "QEMU's gdbstub first (-gdb, -s or HMP gdbserver)");
        return;
    }
    for (; leaves; leaves = leaves->next) {
        if (leaves->value >= TDX_EMU_CATCH_LEAVES) {
            error_setg(errp, "TDCALL leaf %" PRIu64 " cannot be caught: "
                       "leaves are 0..%d", leaves->value,
                       TDX_EMU_CATCH_LEAVES - 1);
            return;
        }
        mask |= 1ULL << leaves->value;
    }
    for (; vmcalls; vmcalls = vmcalls->next) {
        if (n == TDX_EMU_CATCH_VMCALLS) {
            error_setg(errp, "at most %d TDG.VP.VMCALL sub-functions can "
                       "be caught", TDX_EMU_CATCH_VMCALLS);
            return;
        }
        subfns[n++] = vmcalls->value;
    }
    qatomic_set(&s->catch.nr_vmcalls, 0);
    for (i = 0; i < n; i++) {
        qatomic_set(&s->catch.vmcalls[i], subfns[i]);
    }
    qatomic_set(&s->catch.nr_vmcalls, n);
    qatomic_set(&s->catch.leaves, mask);
    qatomic_set(&s->catch.armed, mask || n);
}
