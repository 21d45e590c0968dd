/*
 * Guest stub: the #VE handler. What the TDX module leaves to the VMM
 * (CPUID leaves it does not answer, RDMSR/WRMSR of MSRs it does not
 * virtualize, port I/O, HLT) comes to the TD as a #VE; the handler reads
 * why with TDG.VP.VEINFO.GET, asks the VMM with TDG.VP.VMCALL (GHCI 1.5)
 * and skips the instruction, as td-shim's td-exception
 * (td-exception/src/interrupt.rs) and Linux's virt_exception_kernel()
 * (arch/x86/coco/tdx/tdx.c) do. A failure is reported and the stub ends.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "ve.h"
#include "tdx.h"

#define IO_QUAL_SIZE(q)         (((q) & 7) + 1)
#define IO_QUAL_IN(q)           ((q) & (1 << 3))
#define IO_QUAL_STRING(q)       ((q) & (1 << 4))
#define IO_QUAL_PORT(q)         ((uint16_t)((q) >> 16))

static uint64_t count;
static struct ve_info last;
static unsigned ept_insn_len;
static unsigned unread_insn_len;
static int accept_pending;

void ve_expect_ept_violation(unsigned len)
{
    ept_insn_len = len;
}

void ve_accept_pending(int on)
{
    accept_pending = on;
}

void ve_leave_unread(unsigned len)
{
    unread_insn_len = len;
}

uint64_t ve_count(void)
{
    return count;
}

const struct ve_info *ve_last(void)
{
    return &last;
}

static int ve_vmcall(uint64_t subfn, uint64_t *regs, uint64_t *out)
{
    struct tdx_regs r = {
        .rax = TDG_VP_VMCALL,
        .rcx = TDVMCALL_EXPOSE_R10_R15,
        .r11 = subfn,
        .r12 = regs[0],
        .r13 = regs[1],
    };

    tdcall(&r);
    out[0] = r.r11;
    out[1] = r.r12;
    out[2] = r.r13;
    out[3] = r.r14;
    out[4] = r.r15;
    return r.rax == TDX_SUCCESS && r.r10 == TDVMCALL_SUCCESS;
}

static int ve_cpuid(struct exception_frame *f)
{
    uint64_t in[2] = { (uint32_t)f->rax, (uint32_t)f->rcx }, out[5];

    if (!ve_vmcall(TDVMCALL_CPUID, in, out)) {
        return 0;
    }
    f->rax = (uint32_t)out[1];
    f->rbx = (uint32_t)out[2];
    f->rcx = (uint32_t)out[3];
    f->rdx = (uint32_t)out[4];
    return 1;
}

static int ve_rdmsr(struct exception_frame *f)
{
    uint64_t in[2] = { (uint32_t)f->rcx, 0 }, out[5];

    if (!ve_vmcall(TDVMCALL_RDMSR, in, out)) {
        return 0;
    }
    f->rax = (uint32_t)out[0];
    f->rdx = out[0] >> 32;
    return 1;
}

static int ve_wrmsr(struct exception_frame *f)
{
    uint64_t in[2] = { (uint32_t)f->rcx,
                       (uint32_t)f->rax | (f->rdx << 32) }, out[5];

    return ve_vmcall(TDVMCALL_WRMSR, in, out);
}

static int ve_io(struct exception_frame *f)
{
    uint64_t q = last.exit_qual, mask, data = f->rax;
    unsigned size = IO_QUAL_SIZE(q);

    if (IO_QUAL_STRING(q) || (size != 1 && size != 2 && size != 4)) {
        return 0;
    }
    if (tdvmcall_io(size, !IO_QUAL_IN(q), IO_QUAL_PORT(q), &data) !=
        TDVMCALL_SUCCESS) {
        return 0;
    }
    if (IO_QUAL_IN(q)) {
        mask = (1ULL << (size * 8)) - 1;
        f->rax = (f->rax & ~mask) | (data & mask);
    }
    return 1;
}

static int ve_hlt(struct exception_frame *f)
{
    return tdvmcall(TDVMCALL_HLT, !(f->rflags & (1 << 9)), 0) ==
           TDVMCALL_SUCCESS;
}

/* The page accepted (4 KiB), the instruction to run again */
static int ve_accept(void)
{
    struct tdx_regs r = {
        .rax = TDG_MEM_PAGE_ACCEPT,
        .rcx = last.gpa & ~0xfffULL,
    };

    tdcall(&r);
    last.insn_len = 0;
    return r.rax == TDX_SUCCESS;
}

static int ve_ept_violation(struct exception_frame *f)
{
    if (accept_pending && !(last.gpa & SHARED_BIT)) {
        return ve_accept();
    }
    if (!ept_insn_len) {
        return 0;
    }
    f->rax = ~0ULL;
    last.insn_len = ept_insn_len;
    ept_insn_len = 0;
    return 1;
}

static int ve_emulate(struct exception_frame *f)
{
    switch (last.exit_reason) {
    case EXIT_REASON_EPT_VIOLATION:
        return ve_ept_violation(f);
    case EXIT_REASON_CPUID:
        return ve_cpuid(f);
    case EXIT_REASON_RDMSR:
        return ve_rdmsr(f);
    case EXIT_REASON_WRMSR:
        return ve_wrmsr(f);
    case EXIT_REASON_IO:
        return ve_io(f);
    case EXIT_REASON_HLT:
        return ve_hlt(f);
    }
    return 0;
}

void ve_handle(struct exception_frame *f)
{
    struct tdx_regs r = { .rax = TDG_VP_VEINFO_GET };

    if (unread_insn_len) {
        count++;
        f->rip += unread_insn_len;
        unread_insn_len = 0;
        return;
    }
    tdcall(&r);
    count++;
    last = (struct ve_info) {
        .exit_reason = r.rcx, .exit_qual = r.rdx, .gla = r.r8, .gpa = r.r9,
        .insn_len = (uint32_t)r.r10, .insn_info = r.r10 >> 32,
    };
    if (r.rax != TDX_SUCCESS || !ve_emulate(f)) {
        guest_printf("#VE at rip 0x%lx: VEINFO.GET 0x%lx, exit reason %lu "
                     "qualification 0x%lx not handled\n", f->rip, r.rax,
                     last.exit_reason, last.exit_qual);
        guest_finish(GUEST_STATE_FAIL);
    }
    f->rip += last.insn_len;
}
