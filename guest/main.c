/*
 * Guest stub: executes TDCALL leaves as a TD would and checks the answers
 *
 * Prints through TDG.VP.VMCALL<Instruction.IO> to COM1, records its
 * result at GUEST_RESULT_GPA and leaves through isa-debug-exit.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cpu.h"
#include "tdx.h"
#include "bench.h"
#include "layout.h"
#include "quote.h"
#include "fuzz.h"
#include "crash.h"
#include "smp.h"
#include "ve.h"
#include "shared.h"
#include "cfv.h"

#define SENTINEL(n)     (0x5e5e000000000000ULL | ((uint64_t)(n) << 32) | 0xd00d)

/* GPR bits for "which registers a TDCALL may change" */
enum {
    RAX = 1 << 0, RCX = 1 << 1, RDX = 1 << 2, RBX = 1 << 3, RBP = 1 << 4,
    RSI = 1 << 5, RDI = 1 << 6, R8 = 1 << 7, R9 = 1 << 8, R10 = 1 << 9,
    R11 = 1 << 10, R12 = 1 << 11, R13 = 1 << 12, R14 = 1 << 13,
    R15 = 1 << 14, NR_REGS = 15,
};

static void check(int ok, const char *name)
{
    struct guest_result *res = guest_result();

    if (ok) {
        res->passed++;
        guest_printf("ok - %s\n", name);
    } else {
        res->failed++;
        guest_printf("FAIL - %s\n", name);
    }
}

static void fill_sentinels(struct tdx_regs *r);
static void vmcall_regs(struct tdx_regs *r, uint64_t subfn);

static void fill_sentinels(struct tdx_regs *r)
{
    uint64_t *reg = (uint64_t *)r;
    int i;

    for (i = 0; i < NR_REGS; i++) {
        reg[i] = SENTINEL(i);
    }
}

/* True if no GPR outside @outputs differs between @before and @after */
static int only_outputs_changed(const struct tdx_regs *before,
                                const struct tdx_regs *after,
                                unsigned outputs)
{
    const uint64_t *a = (const uint64_t *)before, *b = (const uint64_t *)after;
    int i;

    for (i = 0; i < NR_REGS; i++) {
        if (!(outputs & (1u << i)) && a[i] != b[i]) {
            guest_printf("  register #%d changed: 0x%lx -> 0x%lx\n",
                         i, a[i], b[i]);
            return 0;
        }
    }
    return 1;
}

/* TDCALL on sentinels + @leaf; returns the outputs in @r */
static int tdcall_checked(struct tdx_regs *r, unsigned outputs)
{
    struct tdx_regs before = *r;

    tdcall(r);
    return only_outputs_changed(&before, r, outputs);
}

static void check_vp_info(void)
{
    struct tdx_regs r;
    int preserved;

    fill_sentinels(&r);
    r.rax = TDG_VP_INFO;
    preserved = tdcall_checked(&r, RAX | RCX | RDX | R8 | R9 | R10 | R11);
    guest_printf("  TDG.VP.INFO: gpaw %lu, vcpus %lu, index %lu\n",
                 r.rcx, r.r8 & 0xffffffff, r.r9);
    check(r.rax == TDX_SUCCESS, "TDG.VP.INFO succeeds");
    check(r.rcx == 48 || r.rcx == 52, "TDG.VP.INFO: GPAW is 48 or 52");
    check((uint32_t)r.r8 >= 1 && (r.r8 >> 32) >= (uint32_t)r.r8,
          "TDG.VP.INFO: NUM_VCPUS <= MAX_VCPUS");
    check(r.r9 == 0 && r.r11 == 0, "TDG.VP.INFO: BSP index 0, R11 zero");
    check(preserved, "TDG.VP.INFO changes only its outputs (R12-R15 kept)");
}

/* The APs, brought up through td-shim's mailbox (smp.c) */
static void check_aps(void)
{
    struct tdx_regs r = { .rax = TDG_VP_INFO };
    uint64_t vcpus;

    tdcall(&r);
    vcpus = (uint32_t)r.r8;
    if (r.rax != TDX_SUCCESS || vcpus < 2) {
        return;
    }
    check(smp_bring_up(vcpus) ==
          (vcpus - 1 < SMP_MAX_APS ? vcpus - 1 : SMP_MAX_APS),
          "every AP arrives at td-shim's mailbox, checks in and moves "
          "to the relocated AP loop");
}

static void check_bad_leaves(void)
{
    struct tdx_regs r;
    int preserved;

    fill_sentinels(&r);
    r.rax = 0x7f;
    preserved = tdcall_checked(&r, RAX);
    check(r.rax == TDX_OPERAND_INVALID && preserved,
          "unknown leaf: TDX_OPERAND_INVALID, nothing else changed");

    fill_sentinels(&r);
    r.rax = TDG_VP_INFO | (1 << 16);
    tdcall(&r);
    check(r.rax == TDX_OPERAND_INVALID, "TDG.VP.INFO version 1: invalid");
}

static void vmcall_regs(struct tdx_regs *r, uint64_t subfn)
{
    fill_sentinels(r);
    r->rax = TDG_VP_VMCALL;
    r->rcx = TDVMCALL_EXPOSE_R10_R15;
    r->r10 = 0;
    r->r11 = subfn;
}

#define VMCALL_OUTPUTS  (RAX | R10 | R11 | R12 | R13 | R14 | R15)

static void check_vmcalls(void)
{
    struct tdx_regs r;
    int preserved;

    vmcall_regs(&r, 0x7777);
    preserved = tdcall_checked(&r, VMCALL_OUTPUTS);
    check(r.rax == TDX_SUCCESS && r.r10 == TDVMCALL_INVALID_OPERAND &&
          preserved, "unknown TDG.VP.VMCALL: R10 = INVALID_OPERAND");

    vmcall_regs(&r, TDVMCALL_GET_TD_VM_CALL_INFO);
    r.r12 = 0;
    tdcall(&r);
    check(r.rax == TDX_SUCCESS && r.r10 == TDVMCALL_SUCCESS && !r.r11 &&
          !r.r12 && !r.r13 && !r.r14, "GetTdVmCallInfo leaf 0");

    vmcall_regs(&r, TDVMCALL_GET_TD_VM_CALL_INFO);
    r.r12 = 1;
    tdcall(&r);
    check(r.r10 == TDVMCALL_SUCCESS && (r.r11 & 2),
          "GetTdVmCallInfo leaf 1: SetupEventNotifyInterrupt offered");

    vmcall_regs(&r, TDVMCALL_GET_TD_VM_CALL_INFO);
    r.rcx |= 1 << 4;                            /* RSP may not be exposed */
    preserved = tdcall_checked(&r, RAX);
    check(r.rax == TDX_OPERAND_INVALID_RCX && preserved,
          "TDG.VP.VMCALL exposing RSP: operand invalid (RCX)");

    vmcall_regs(&r, TDVMCALL_GET_TD_VM_CALL_INFO);
    r.rcx = (1 << 10) | (1 << 12);              /* R10 and R12 only */
    preserved = tdcall_checked(&r, RAX | R10);
    check(r.r10 == TDVMCALL_INVALID_OPERAND && preserved,
          "TDG.VP.VMCALL: hidden R11 reads as 0 to the VMM");
}

/*
 * 4 bytes at the RTC's data port, a byte-wide device (td-shim's
 * testiorw32): the byte written reaches CMOS RAM and reads back.
 */
#define CMOS_INDEX      0x70
#define CMOS_DATA       0x71
#define CMOS_SCRATCH    0x0e

static void check_io_wide(void)
{
    uint64_t index = CMOS_SCRATCH, data = 0xa5a5a55a, back = 0;

    tdvmcall_io(1, 1, CMOS_INDEX, &index);
    check(tdvmcall_io(4, 1, CMOS_DATA, &data) == TDVMCALL_SUCCESS,
          "Instruction.IO 4-byte write to the RTC data port");
    tdvmcall_io(1, 1, CMOS_INDEX, &index);
    check(tdvmcall_io(4, 0, CMOS_DATA, &back) == TDVMCALL_SUCCESS &&
          (back & 0xff) == 0x5a, "Instruction.IO 4-byte read: CMOS byte");
}

static void check_io(void)
{
    uint64_t lsr = 0, scratch = 0x5a, bad = 0;

    check(tdvmcall_io(1, 0, 0x3fd, &lsr) == TDVMCALL_SUCCESS &&
          (lsr & 0x60) == 0x60, "Instruction.IO read: COM1 LSR idle");
    tdvmcall_io(1, 1, 0x3ff, &scratch);
    scratch = 0;
    check(tdvmcall_io(1, 0, 0x3ff, &scratch) == TDVMCALL_SUCCESS &&
          scratch == 0x5a, "Instruction.IO write/read COM1 scratch");
    check(tdvmcall_io(3, 0, 0x3ff, &bad) == TDVMCALL_INVALID_OPERAND,
          "Instruction.IO size 3: INVALID_OPERAND");
    check_io_wide();
}

static uint64_t setup_event_notify(uint64_t vector)
{
    struct tdx_regs r;

    vmcall_regs(&r, TDVMCALL_SETUP_EVENT_NOTIFY);
    r.r12 = vector;
    tdcall(&r);
    return r.r10;
}

static volatile int event_seen;

/* Called by event_irq in entry.S */
void event_interrupt(void)
{
    guest_result()->events++;
    event_seen = 1;
}

/*
 * Register EVENT_VECTOR, then (when the test mailbox is there to let the
 * host raise the event) halt with interrupts on until it arrives.
 */
static void check_event_notify(void)
{
    volatile uint64_t *registered =
        (volatile uint64_t *)(GUEST_MAILBOX_GPA + MAILBOX_NOTIFY_VECTOR);
    struct guest_result *res = guest_result();

    check(setup_event_notify(31) == TDVMCALL_INVALID_OPERAND &&
          setup_event_notify(256) == TDVMCALL_INVALID_OPERAND,
          "SetupEventNotifyInterrupt: vectors 31 and 256 rejected");
    check(setup_event_notify(EVENT_VECTOR) == TDVMCALL_SUCCESS,
          "SetupEventNotifyInterrupt: vector 0x51 accepted");
    if (*registered != EVENT_VECTOR) {
        guest_printf("  (no test mailbox: event delivery not checked)\n");
        return;
    }
    res->event_wait = 1;
    while (!res->events) {
        idle_hlt();
    }
    res->event_wait = 0;
    check(res->events == 1, "event-notify interrupt reached its handler");
}

/* What boot.S saved of the TDX entry state (TDH.VP.INIT), in TempMem */
enum { ENTRY_EBX, ENTRY_ESI, ENTRY_EDX, ENTRY_ECX, ENTRY_CR0, ENTRY_CR4,
       ENTRY_EFER };

#define MSR_APIC_BASE       0x1b

static void check_entry_state(void)
{
    const uint32_t *entry_regs = (const uint32_t *)ENTRY_REGS_ADDR;
    uint64_t apic_base = rdmsr(MSR_APIC_BASE);     /* a #VE in a TD */
    uint32_t eax, ebx, ecx, edx;

    asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
                 : "a"(1), "c"(0));
    guest_printf("  entry: ebx %u esi %u cr0 0x%x cr4 0x%x efer 0x%x "
                 "apic_base 0x%lx\n", entry_regs[ENTRY_EBX],
                 entry_regs[ENTRY_ESI], entry_regs[ENTRY_CR0],
                 entry_regs[ENTRY_CR4], entry_regs[ENTRY_EFER], apic_base);
    check(entry_regs[ENTRY_EBX] == GUEST_GPAW && entry_regs[ENTRY_ESI] == 0,
          "entry: RBX = the GPAW, RSI = vCPU index 0");
    check(entry_regs[ENTRY_EDX] == eax, "entry: RDX = CPUID(1).EAX");
    /* CR0.ET (bit 4) is hardwired to 1 on every CPU that runs TDX */
    check((entry_regs[ENTRY_CR0] & ~0x10) == 0x21 &&
          entry_regs[ENTRY_CR4] == 0x40, "entry: CR0 = PE|NE, CR4 = MCE");
    check(entry_regs[ENTRY_EFER] == 0x901, "entry: EFER = SCE|LME|NXE");
    check((apic_base & 0xc00) == 0xc00,
          "entry: local APIC enabled in x2APIC mode");
}

/*
 * The TD HOB (RCX at entry) as td-shim's check_hob_length reads it
 * (td-shim-interface src/td_uefi_pi/hob.rs): the PHIT's EfiEndOfHobList
 * minus the list's start is its length, which ends just past the
 * END_OF_HOB_LIST HOB.
 */
#define HOB_TYPE_HANDOFF    0x0001
#define HOB_TYPE_END        0xffff
#define HOB_END_OF_LIST     6       /* PHIT field, in u64 units */

static void check_td_hob(void)
{
    const uint32_t *entry_regs = (const uint32_t *)ENTRY_REGS_ADDR;
    const uint8_t *hob = (const uint8_t *)(uintptr_t)entry_regs[ENTRY_ECX];
    const uint64_t *phit = (const uint64_t *)hob;
    uint64_t len, off = 0;
    uint16_t type = 0, hob_len;

    if (!hob || *(const uint16_t *)hob != HOB_TYPE_HANDOFF) {
        check(0, "TD HOB: RCX points at a PHIT");
        return;
    }
    len = phit[HOB_END_OF_LIST] - (uintptr_t)hob;
    while (off < len) {
        type = *(const uint16_t *)(hob + off);
        hob_len = *(const uint16_t *)(hob + off + 2);
        off += hob_len;
        if (type == HOB_TYPE_END || !hob_len) {
            break;
        }
    }
    check(type == HOB_TYPE_END && off == len,
          "TD HOB: EfiEndOfHobList is just past END_OF_HOB_LIST");
}

/*
 * A TD's memory has no ROM: every page of 0xA0000-0xFFFFF, accepted by
 * boot.S, takes what is written to it (q35's option-ROM window included).
 */
#define LEGACY_START    0xa0000
#define LEGACY_END      0x100000

static void check_legacy_window(void)
{
    volatile uint64_t *p;
    uint64_t gpa;
    int ok = 1;

    for (gpa = LEGACY_START; gpa < LEGACY_END; gpa += 4096) {
        p = (volatile uint64_t *)gpa;
        *p = gpa ^ 0x5eed5eed5eed5eedULL;
    }
    for (gpa = LEGACY_START; gpa < LEGACY_END; gpa += 4096) {
        p = (volatile uint64_t *)gpa;
        ok &= *p == (gpa ^ 0x5eed5eed5eed5eedULL);
    }
    check(ok, "accepted pages in 0xA0000-0xFFFFF are writable RAM");
}

static uint64_t accept(uint64_t rcx)
{
    struct tdx_regs r;

    fill_sentinels(&r);
    r.rax = TDG_MEM_PAGE_ACCEPT;
    r.rcx = rcx;
    tdcall(&r);
    return r.rax;
}

static void check_accept(void)
{
    check(accept(0x1000) == TDX_PAGE_ALREADY_ACCEPTED,
          "ACCEPT 4K again: PAGE_ALREADY_ACCEPTED");
    check(accept(0x0 | 1) == (TDX_PAGE_SIZE_MISMATCH | 1),
          "ACCEPT 2M over 4K-accepted pages: PAGE_SIZE_MISMATCH");
    check(accept(0x800000 | 1) == TDX_SUCCESS, "ACCEPT 2M: success");
    check(accept(0x800000 | 1) == (TDX_PAGE_ALREADY_ACCEPTED | 1),
          "ACCEPT 2M again: PAGE_ALREADY_ACCEPTED");
    check(accept(0xa01000 | 1) == TDX_OPERAND_INVALID_RCX &&
          accept(0xa00000 | 2) == TDX_OPERAND_INVALID_RCX &&
          accept(0xa00000 | SHARED_BIT) == TDX_OPERAND_INVALID_RCX,
          "ACCEPT: misaligned, bad level, shared GPA: invalid RCX");
}

static void vmcall_subfn(struct tdx_regs *r, uint64_t subfn, uint64_t r12,
                         uint64_t r13)
{
    vmcall_regs(r, subfn);
    r->r12 = r12;
    r->r13 = r13;
    tdcall(r);
}

static void check_vmm_calls(void)
{
    uint32_t eax, ebx, ecx, edx;
    struct tdx_regs r;

    asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
                 : "a"(0), "c"(0));
    vmcall_subfn(&r, TDVMCALL_CPUID, 0, 0);
    check(r.r10 == TDVMCALL_SUCCESS && r.r12 == eax && r.r13 == ebx &&
          r.r14 == ecx && r.r15 == edx, "Instruction.CPUID(0)");

    /* MigTD's enable_apic_interrupt: SVR read, then | 0x100 written */
    vmcall_subfn(&r, TDVMCALL_RDMSR, 0x80f, 0);
    check(r.r10 == TDVMCALL_SUCCESS && (r.r11 & 0xff) == 0xff,
          "Instruction.RDMSR x2APIC SVR");
    vmcall_subfn(&r, TDVMCALL_WRMSR, 0x80f, r.r11 | 0x100);
    check(r.r10 == TDVMCALL_SUCCESS, "Instruction.WRMSR x2APIC SVR");
    vmcall_subfn(&r, TDVMCALL_RDMSR, 0x80f, 0);
    check(r.r11 == 0x1ff, "Instruction.RDMSR reads the SVR back");
    /* td-shim's testmsrrw: KVM's local APIC keeps SVR bits 0-9 */
    vmcall_subfn(&r, TDVMCALL_WRMSR, 0x80f, 0x3ff);
    vmcall_subfn(&r, TDVMCALL_RDMSR, 0x80f, 0);
    check(r.r11 == 0x3ff, "x2APIC SVR keeps bit 9, as KVM's local APIC");
    vmcall_subfn(&r, TDVMCALL_WRMSR, 0x80f, 0x1ff);
    vmcall_subfn(&r, TDVMCALL_RDMSR, 0x10, 0);
    check(r.r10 == TDVMCALL_INVALID_OPERAND,
          "Instruction.RDMSR of an MSR the VMM does not offer: invalid");

    vmcall_subfn(&r, TDVMCALL_MAP_GPA, 0x600000 | SHARED_BIT, 0x10000);
    check(r.r10 == TDVMCALL_SUCCESS, "MapGPA 64 KiB to shared");
    vmcall_subfn(&r, TDVMCALL_MAP_GPA, 0x600800 | SHARED_BIT, 0x1000);
    check(r.r10 == TDVMCALL_ALIGN_ERROR, "MapGPA misaligned: ALIGN_ERROR");
    check(accept(0x600000) == TDX_SUCCESS,
          "a page made shared must be accepted again to be private");
}

/*
 * #VE (TDX module ABI, "Virtualization Exception"): CPUID of a leaf the
 * TDX module does not answer itself (the hypervisor range), RDMSR of an
 * MSR it leaves to the VMM and port I/O each come to the handler (ve.c)
 * with what TDG.VP.VEINFO.GET reports: VMX exit reason, exit
 * qualification and instruction length; a leaf the module answers does
 * not. With the device's ve=off none does, and that is reported.
 */
#define TDX_NO_VALID_VE_INFO    0xC000070400000000ULL
#define IO_QUAL_IN              (1 << 3)
#define IO_QUAL_IMM             (1 << 6)

static int ve_was(uint64_t count, uint64_t reason, uint64_t qual,
                  uint32_t len)
{
    const struct ve_info *ve = ve_last();

    return ve_count() == count + 1 && ve->exit_reason == reason &&
           ve->exit_qual == qual && ve->insn_len == len && !ve->gpa &&
           !ve->gla && !ve->insn_info;
}

static int ve_enabled;

/* The CPUID bits the TDX module fixes (cpuid.c), and leaf 0x21 */
static void check_cpuid_virtualized(void)
{
    uint32_t eax, ebx, ecx, edx;

    asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
                 : "a"(1), "c"(0));
    check(!(ecx & (3 << 5)) && (ecx & (1 << 21)) && (ecx & (1 << 24)) &&
          (ecx & (1u << 31)), "CPUID 1: no VMX/SMX; x2APIC, TSC-deadline, "
          "hypervisor");
    asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
                 : "a"(7), "c"(0));
    check(!(ebx & (1 << 2)), "CPUID 7.0: no SGX");
    asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
                 : "a"(0x21), "c"(0));
    check(eax == 0 && ebx == 0x65746e49 && edx == 0x5844546c &&
          ecx == 0x20202020, "CPUID 0x21: \"IntelTDX    \"");
}

/*
 * A #VE due while the vCPU's #VE info is still valid (its handler has not
 * called TDG.VP.VEINFO.GET) becomes a #DF (TDX module ABI; the module's
 * tdx_inject_ve()). The first CPUID's #VE is left unread; the second
 * CPUID gets #DF(0); VEINFO.GET then still reports the first.
 */
extern const char ve_second_cpuid[];
void ve_twice(void);
asm(".pushsection .text\n"
    "ve_twice:\n"
    "    push %rbx\n"
    "    mov $0x40000000, %eax\n"
    "    xor %ecx, %ecx\n"
    "    cpuid\n"
    "ve_second_cpuid:\n"
    "    cpuid\n"
    "    pop %rbx\n"
    "    ret\n"
    ".popsection");

static void check_ve_double_fault(void)
{
    struct tdx_regs r = { .rax = TDG_VP_VEINFO_GET };
    struct fault_record rec;

    ve_leave_unread(2);
    run_expecting_fault(ve_twice, (uintptr_t)ve_second_cpuid, 2, &rec);
    tdcall(&r);
    check(rec.vector == VECTOR_DF && rec.error_code == 0 &&
          r.rax == TDX_SUCCESS && r.rcx == EXIT_REASON_CPUID,
          "#VE while the last #VE's info is unread: #DF(0); VEINFO.GET "
          "then reports the first");
}

static void check_ve(void)
{
    uint64_t count = ve_count();
    uint32_t eax = 0x40000000, ebx, ecx = 0, edx;
    uint16_t word;
    struct tdx_regs r;

    asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
    check_cpuid_virtualized();
    if (ve_count() == count) {
        guest_printf("  #VE: none (the device has ve=off)\n");
        return;
    }
    ve_enabled = 1;
    check(ve_was(count, EXIT_REASON_CPUID, 0, 2),
          "#VE: CPUID 0x40000000, exit reason 10, length 2");
    count = ve_count();
    eax = 0;
    asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
    check(ve_count() == count, "CPUID 0: the TDX module answers, no #VE");
    rdmsr(MSR_APIC_BASE);
    check(ve_was(count, EXIT_REASON_RDMSR, 0, 2),
          "#VE: RDMSR IA32_APIC_BASE, exit reason 31, length 2");
    count = ve_count();
    asm volatile("outb %%al, $0x80" : : "a"(0));
    check(ve_was(count, EXIT_REASON_IO, 0x80 << 16 | IO_QUAL_IMM, 2),
          "#VE: OUT imm8 port 0x80, qualification port|imm|size 1");
    count = ve_count();
    asm volatile("inw %%dx, %%ax" : "=a"(word) : "d"(0x61));
    check(ve_was(count, EXIT_REASON_IO, 0x61 << 16 | IO_QUAL_IN | 1, 2),
          "#VE: IN DX 16-bit, qualification port|in|size 2");
    r = (struct tdx_regs) { .rax = TDG_VP_VEINFO_GET, .rcx = 1, .r8 = 1 };
    tdcall(&r);
    check(r.rax == TDX_NO_VALID_VE_INFO && !r.rcx && !r.r8,
          "TDG.VP.VEINFO.GET after the handler read it: no valid info");
    check_ve_double_fault();
    guest_printf("  #VE: %lu so far\n", ve_count());
}

/*
 * The TSC-deadline timer, programmed as MigTD's driver/timer.rs does: TSC
 * Hz from CPUID 0x15, LVTT = TSC-deadline mode | vector, IA32_TSC_DEADLINE
 * = now + 1 ms; then idle in TDVMCALL<HLT> until it fires.
 */
#define TIMER_TICKS         10

static void check_timer(void)
{
    uint64_t hz = tsc_hz(), early = 0, late_armed = 0;
    int i;

    check(hz != 0, "CPUID 0x15 describes the TSC rate");
    if (!hz) {
        return;
    }
    guest_printf("  TSC %lu Hz\n", hz);
    timer_start();
    for (i = 0; i < TIMER_TICKS; i++) {
        uint64_t deadline = timer_wait_ms(1);

        early += rdtsc() < deadline;
        late_armed += rdmsr(MSR_TSC_DEADLINE) != 0;
    }
    check(timer_ticks == TIMER_TICKS && !early,
          "TSC-deadline timer: 10 x 1 ms ticks, none early");
    check(!late_armed, "IA32_TSC_DEADLINE reads 0 once the timer fired");
}

/*
 * Linux's TDX idle: TDG.VP.VMCALL<HLT> with R12 = 0 while RFLAGS.IF is
 * clear must wake on the pending timer interrupt, as KVM wakes a TD
 * (qemu-patches/0009); the interrupt is taken once IF is set again.
 */
static void check_hlt_wakes_with_if_clear(void)
{
    uint64_t ticks, status;
    int taken_early, taken_after_sti;

    asm volatile("cli" ::: "memory");
    ticks = timer_ticks;
    timer_arm_ms(1);
    status = tdvmcall(TDVMCALL_HLT, 0, 0);
    taken_early = timer_ticks != ticks;
    asm volatile("sti; nop; cli" ::: "memory");
    taken_after_sti = timer_ticks == ticks + 1;
    check(status == TDVMCALL_SUCCESS && !taken_early && taken_after_sti,
          "TDVMCALL<HLT> with IF clear wakes on a pending interrupt, "
          "taken after STI");
}

/*
 * TDG.MR.REPORT over our own REPORTDATA, TDG.MR.VERIFYREPORT of the result;
 * the MRTD is printed so the host can compare it with ./tdx-emu inspect.
 */
#define TDG_MR_VERIFYREPORT     22
#define TDREPORT_MRTD           528
/* TEE_TCB_INFO (TDX module ABI 1.5, td-shim 3f1a733 tdreport.rs) */
#define TDREPORT_TCB_VALID      256
#define TDREPORT_TEE_TCB_SVN    264
#define TDREPORT_TEE_TCB_SVN2   384

static uint8_t tdreport[1024] __attribute__((aligned(1024)));
static uint8_t reportdata[64] __attribute__((aligned(64)));

static void check_report(void)
{
    struct tdx_regs r;
    int i;

    for (i = 0; i < 64; i++) {
        reportdata[i] = i;
    }
    fill_sentinels(&r);
    r.rax = TDG_MR_REPORT;
    r.rcx = (uint64_t)tdreport;
    r.rdx = (uint64_t)reportdata;
    r.r8 = 0;
    tdcall(&r);
    check(r.rax == TDX_SUCCESS && tdreport[0] == 0x81 &&
          tdreport[128 + 63] == 63, "TDG.MR.REPORT");
    /* VALID ff 01 03: VALID, TEE_TCB_SVN, MRSEAM and TEE_TCB_SVN2 */
    check(tdreport[TDREPORT_TCB_VALID] == 0xff &&
          tdreport[TDREPORT_TCB_VALID + 1] == 0x01 &&
          tdreport[TDREPORT_TCB_VALID + 2] == 0x03 &&
          tdreport[TDREPORT_TEE_TCB_SVN2 + 1] ==
          tdreport[TDREPORT_TEE_TCB_SVN + 1] &&
          tdreport[TDREPORT_TEE_TCB_SVN2 + 1],
          "TDREPORT TEE_TCB_INFO as a TDX module 1.5 fills it (TEE_TCB_SVN2)");
    guest_printf("  MRTD ");
    for (i = 0; i < 48; i++) {
        uint8_t b = tdreport[TDREPORT_MRTD + i];

        guest_printf("%c%c", "0123456789abcdef"[b >> 4],
                     "0123456789abcdef"[b & 15]);
    }
    guest_printf("\n");

    fill_sentinels(&r);
    r.rax = TDG_MR_VERIFYREPORT;
    r.rcx = (uint64_t)tdreport;
    tdcall(&r);
    check(r.rax == TDX_SUCCESS, "TDG.MR.VERIFYREPORT of our own report");
}

/*
 * Paging with the shared bit, as td-payload maps its shared pool (GHCI 1.5
 * shared GPAs): a 2 MiB page at VA 0xC0000000 points at GPA 0x600000 | S.
 * What is written through it must be what the private GPA 0x600000 holds:
 * the device aliases RAM at the shared bit.
 */
#define SHARED_VA           0xc0000000UL
#define SHARED_GPA          0x600000UL
#define PD3_OFFSET          (5 * 4096)  /* boot.S: PML4, PDPT, PD0..PD3 */

/*
 * A load through the shared bit from a GPA where nothing is, or a device
 * (the VMM maps only RAM in the shared EPT): an EPT violation, which the
 * TDX module's TD takes as a #VE with the access
 * (read, GLA valid, translated address: qualification 0x181), GLA and GPA
 * (Intel SDM vol. 3, "Exit Qualification for EPT Violations").
 */
#define UNBACKED_GPA        0x200000000ULL      /* 8 GiB: no RAM, no device */
#define IOAPIC_GPA          0xfec00000ULL       /* a device: no RAM */
#define EPT_QUAL_READ_GLA   0x181

static uint64_t load_through_ve(uint64_t va)
{
    uint64_t v;

    ve_expect_ept_violation(3);
    asm volatile(".byte 0x48, 0x8b, 0x07"       /* movq (%rdi), %rax */
                 : "=a"(v) : "D"(va) : "memory");
    ve_expect_ept_violation(0);
    return v;
}

static void check_ept_violation(volatile uint64_t *pde)
{
    uint64_t count = ve_count(), v;
    const struct ve_info *ve = ve_last();

    if (!ve_enabled) {
        return;
    }
    *pde = UNBACKED_GPA | SHARED_BIT | 0x87;
    asm volatile("invlpg (%0)" : : "r"(SHARED_VA) : "memory");
    v = load_through_ve(SHARED_VA);
    check(ve_count() == count + 1 &&
          ve->exit_reason == EXIT_REASON_EPT_VIOLATION &&
          ve->exit_qual == EPT_QUAL_READ_GLA && ve->gla == SHARED_VA &&
          ve->gpa == (UNBACKED_GPA | SHARED_BIT) && v == ~0ULL,
          "#VE: a load from an unbacked shared GPA, EPT violation 48 "
          "with GLA and GPA");

    *pde = IOAPIC_GPA | SHARED_BIT | 0x87;
    asm volatile("invlpg (%0)" : : "r"(SHARED_VA) : "memory");
    check(load_through_ve(SHARED_VA) == ~0ULL &&
          ve_count() == count + 2 && ve->gla == SHARED_VA &&
          ve->gpa == (IOAPIC_GPA | SHARED_BIT),
          "#VE: a load from a device at a shared GPA (the VMM maps only "
          "RAM there)");
}

/*
 * Private RAM the TD has not accepted is a PENDING page of the secure EPT,
 * and a page MapGPA made shared is no longer the TD's private page:
 * touching either through the private mapping is an EPT violation: a #VE
 * without SEPT_VE_DISABLE (ATTRIBUTES bit 28). With it (tdx-emu's default,
 * as QEMU's tdx-guest) the VMM kills the TD instead, as KVM does: the stub
 * then touches no such page, unless its configuration volume starts with
 * "tdx-emu pending" (pending_if_requested(), the last thing it does).
 */
#define PENDING_GPA         0xc00000UL          /* 12 MiB: never accepted */
#define PENDING_MODE_GPA    (PENDING_GPA + 4096)
#define PENDING_REPORT_GPA  (PENDING_GPA + 2 * 4096)
#define PENDING_WALK_GPA    (PENDING_GPA + 3 * 4096)
#define EPT_QUAL_READ_WALK  0x81    /* read, GLA valid, a paging structure */
#define CONVERTED_GPA       (SHARED_GPA + 4096) /* check_vmm_calls' MapGPA */
#define SEPT_VE_DISABLE     (1ULL << 28)

static int ve_was_ept_violation(uint64_t count, uint64_t gpa)
{
    const struct ve_info *ve = ve_last();

    return ve_count() == count + 1 &&
           ve->exit_reason == EXIT_REASON_EPT_VIOLATION &&
           ve->exit_qual == EPT_QUAL_READ_GLA && ve->gla == gpa &&
           ve->gpa == gpa;
}

static int sept_ve_disabled(void)
{
    struct tdx_regs r = { .rax = TDG_VP_INFO };

    tdcall(&r);
    return !!(r.rdx & SEPT_VE_DISABLE);
}

/*
 * The module walks a TDCALL's memory operand as the CPU would: TDG.MR.REPORT
 * into a page not accepted yet takes a #VE on the TDCALL (read and write,
 * no GLA, the GPA); the handler accepts the page and the TDCALL runs again
 */
static void check_pending_operand(uint64_t count)
{
    struct tdx_regs r = {
        .rax = TDG_MR_REPORT, .rcx = PENDING_REPORT_GPA,
        .rdx = (uint64_t)reportdata,
    };
    const struct ve_info *ve = ve_last();

    ve_accept_pending(1);
    tdcall(&r);
    ve_accept_pending(0);
    check(r.rax == TDX_SUCCESS && ve_count() == count + 1 &&
          ve->exit_reason == EXIT_REASON_EPT_VIOLATION &&
          ve->exit_qual == 3 && !ve->gla && ve->gpa == PENDING_REPORT_GPA &&
          *(volatile uint8_t *)PENDING_REPORT_GPA == 0x81,
          "#VE: TDG.MR.REPORT into a page not accepted yet, on the TDCALL; "
          "accepted, the TDCALL runs again");
}

/* The PDE that maps SHARED_VA (boot.S: the first entry of PD3) */
static volatile uint64_t *shared_va_pde(void)
{
    uint64_t cr3;

    asm volatile("mov %%cr3, %0" : "=r"(cr3));
    return (volatile uint64_t *)((cr3 & ~0xfffUL) + PD3_OFFSET);
}

/*
 * The CPU's page walk reads paging-structure entries from the TD's memory
 * too: a page table in a page not accepted yet is an EPT violation on the
 * walk (GLA valid, not the translated address; the GPA of the entry)
 */
static void check_pending_walk(uint64_t count)
{
    volatile uint64_t *pde = shared_va_pde();
    const struct ve_info *ve = ve_last();
    uint64_t saved = *pde;

    *pde = PENDING_WALK_GPA | 0x7;          /* P | RW | US: a page table */
    asm volatile("invlpg (%0)" : : "r"(SHARED_VA) : "memory");
    check(load_through_ve(SHARED_VA) == ~0ULL && ve_count() == count + 1 &&
          ve->exit_reason == EXIT_REASON_EPT_VIOLATION &&
          ve->exit_qual == EPT_QUAL_READ_WALK && ve->gla == SHARED_VA &&
          ve->gpa == PENDING_WALK_GPA,
          "#VE: a page walk through a page table not accepted yet, on the "
          "entry's GPA");
    *pde = saved;
    asm volatile("invlpg (%0)" : : "r"(SHARED_VA) : "memory");
}

static void check_pending_pages(void)
{
    uint64_t count = ve_count();

    if (!ve_enabled || sept_ve_disabled()) {
        guest_printf("  pending pages: not touched (%s)\n", ve_enabled ?
                     "SEPT_VE_DISABLE: the VMM would kill the TD" : "ve=off");
        return;
    }
    check(load_through_ve(PENDING_GPA) == ~0ULL &&
          ve_was_ept_violation(count, PENDING_GPA),
          "#VE: a load from private RAM not accepted yet, EPT violation 48 "
          "with GLA and GPA");
    check(accept(PENDING_GPA) == TDX_SUCCESS &&
          *(volatile uint64_t *)PENDING_GPA == 0,
          "once accepted, the page reads as zeros");
    check(load_through_ve(CONVERTED_GPA) == ~0ULL &&
          ve_was_ept_violation(count + 1, CONVERTED_GPA),
          "#VE: a load through the private mapping of a page MapGPA made "
          "shared");
    check_pending_operand(count + 2);
    check_pending_walk(count + 3);
}

static void pending_if_requested(void)
{
    if (!cfv_starts_with("tdx-emu pending")) {
        return;
    }
    guest_printf("tdx-emu guest: pending mode: a load from GPA 0x%lx, never "
                 "accepted (SEPT_VE_DISABLE %s)\n", PENDING_MODE_GPA,
                 sept_ve_disabled() ? "set" : "clear");
    check(load_through_ve(PENDING_MODE_GPA) == ~0ULL,
          "pending mode: the load took a #VE");
}

static void check_shared_paging(void)
{
    volatile uint64_t *pde = shared_va_pde();
    volatile uint64_t *shared = (volatile uint64_t *)SHARED_VA;
    volatile uint64_t *private = (volatile uint64_t *)SHARED_GPA;

    *pde = SHARED_GPA | SHARED_BIT | 0x87;    /* P | RW | US | PS */
    asm volatile("invlpg (%0)" : : "r"(SHARED_VA) : "memory");
    shared[3] = 0x5ea4ed0123456789ULL;
    check(private[3] == 0x5ea4ed0123456789ULL,
          "a PTE with the shared bit reaches the same RAM");
    check_ept_violation(pde);
}

/* GetQuote of the TDREPORT above, then the collateral (quote.c) */
static void check_get_quote(void)
{
    uint64_t status = quote_and_collateral(tdreport, &event_seen);

    check(status == GET_QUOTE_SUCCESS || status == GET_QUOTE_UNAVAILABLE,
          "GetQuote answered (a quote, or no quote service)");
}

extern const char user_tdcall_insn[], tdcall_no_prefix_insn[];
void user_tdcall(void);
void tdcall_no_prefix(void);

static void check_faults(void)
{
    struct fault_record rec;

    run_at_cpl3(user_tdcall, &rec);
    check(rec.vector == VECTOR_GP && rec.error_code == 0 &&
          rec.rip == (uintptr_t)user_tdcall_insn, "TDCALL at CPL 3: #GP(0)");

    run_expecting_fault(tdcall_no_prefix, (uintptr_t)tdcall_no_prefix_insn, 3,
                        &rec);
    check(rec.vector == VECTOR_UD, "0F 01 CC without the 66 prefix: #UD");
}

/* The first TDCALL tells whether this VM is a TD (tdx-emu present) */
static struct tdx_regs probe_regs;

static void probe_tdcall(void)
{
    probe_regs = (struct tdx_regs) { .rax = TDG_VP_INFO };
    tdcall_regs(&probe_regs);
}

static int tdcall_works(void)
{
    struct fault_record rec;

    if (run_expecting_fault(probe_tdcall, (uintptr_t)tdcall_insn, 4,
                            &rec) == VECTOR_UD) {
        return 0;
    }
    guest_result()->tdcalls++;
    return 1;
}

/*
 * The fuzz mode, when the host asked for it (fuzz.c): random TDCALLs after
 * the checks; the TD must still answer afterwards
 */
static void check_fuzz(void)
{
    uint64_t seed, calls;
    struct tdx_regs r;

    if (!fuzz_requested(&seed, &calls)) {
        return;
    }
    fuzz_run(seed, calls);
    fill_sentinels(&r);
    r.rax = TDG_VP_INFO;
    tdcall(&r);
    check(r.rax == TDX_SUCCESS &&
          guest_result()->magic == GUEST_RESULT_MAGIC,
          "fuzz: the stub survived, TDG.VP.INFO still answers");
}

void guest_main(int is_td, uint64_t boot_tdcalls)
{
    struct guest_result *res = guest_result();

    *res = (struct guest_result) {
        .magic = GUEST_RESULT_MAGIC,
        .tdcalls = boot_tdcalls,            /* boot.S's accept loop */
    };
    cpu_init();
    if (is_td) {
        shared_window_init();
    }
    if (!is_td || !tdcall_works()) {
        guest_printf("tdx-emu guest: TDCALL raised #UD: not a TD "
                     "(no tdx-emu device)\n");
        guest_finish(GUEST_STATE_NO_TDCALL);
    }
    guest_set_tdcall_available(1);
    guest_printf("tdx-emu guest: long mode, CPL 0, TDCALL available\n");
    check_entry_state();
    check_td_hob();
    check_vp_info();
    check_aps();
    check_bad_leaves();
    check_vmcalls();
    check_io();
    check_accept();
    check_legacy_window();
    check_vmm_calls();
    check_ve();
    check_pending_pages();
    check_shared_paging();
    check_faults();
    check_report();
    check_timer();
    check_hlt_wakes_with_if_clear();
    bench_run();                /* the APIC is enabled and ticking */
    check_event_notify();
    check_get_quote();
    check_fuzz();
    guest_printf("tdx-emu guest: %lu passed, %lu failed, %lu TDCALLs\n",
                 res->passed, res->failed, res->tdcalls);
    guest_printf("RESULT: %s\n", res->failed ? "FAIL" : "PASS");
    crash_if_requested();
    pending_if_requested();
    guest_finish(res->failed ? GUEST_STATE_FAIL : GUEST_STATE_PASS);
}
