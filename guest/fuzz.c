/*
 * Guest stub: the fuzz mode (docs/security.md, "The fuzzer")
 *
 * With the fw_cfg file opt/tdx-emu/fuzz ("SEED[:CALLS]"), found in the
 * fw_cfg file directory (key 0x19, QEMU's docs/specs/fw_cfg.rst) through
 * TDG.VP.VMCALL<Instruction.IO> at ports 0x510/0x511, the stub ends its
 * checks with CALLS TDCALLs from a seeded xorshift64* generator: the
 * leaves and TDG.VP.VMCALL sub-functions scripts/fuzz.py drives through
 * the mailbox, here through the vCPU's own TDCALL, some with interrupts
 * enabled while the TSC-deadline timer ticks, and now and then MigTD's
 * idle (TDG.VP.VMCALL<HLT>) until the timer wakes it.
 *
 * Operands are boundary values, device GPAs, ports and random words, but
 * never ones that would destroy the stub or stop it legitimately
 * (make_safe()): every ACCEPT and MapGPA lies in a scratch area the stub
 * reaches only through its shared window, whatever the calls made of its
 * pages (16-24 MiB, with or without the shared bit), and so does
 * every buffer the VMM or the module writes that would name the stub's
 * RAM (below 16 MiB, the firmware window); no Instruction.HLT but the
 * idle or ReportFatalError; no write to the x2APIC SVR or LVT registers, no IPI
 * but a fixed interrupt on vectors 32-255, no device MMIO write that could
 * raise an NMI, INIT or DMA; no I/O write to the PICs, isa-debug-exit or a
 * port that resets or powers off the machine. Any interrupt a call makes
 * the VMM raise lands on a handler that only acknowledges it. The TD has
 * no SEPT_VE_DISABLE (scripts/fuzz.py): a TDCALL whose memory operand
 * lies in a scratch page the calls left unaccepted takes a #VE, whose
 * handler accepts the page and runs the TDCALL again.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cpu.h"
#include "tdx.h"
#include "fuzz.h"
#include "ve.h"
#include "shared.h"

#define ARRAY_SIZE(a)       (sizeof(a) / sizeof((a)[0]))
#define PICK(list)          ((list)[rnd() % ARRAY_SIZE(list)])

/* fw_cfg (QEMU docs/specs/fw_cfg.rst): I/O ports and the file directory */
#define FW_CFG_CTL          0x510
#define FW_CFG_DATA         0x511
#define FW_CFG_FILE_DIR     0x19
#define FW_CFG_NAME_LEN     56
#define FW_CFG_MAX_FILES    256
#define FUZZ_FILE           "opt/tdx-emu/fuzz"
#define FUZZ_DEFAULT_CALLS  10000

/* RAM the stub never uses; its own lies below 16 MiB and in TempMem */
#define SCRATCH_START       (16ULL << 20)
#define SCRATCH_SIZE        (8ULL << 20)
#define SCRATCH_END         (SCRATCH_START + SCRATCH_SIZE)
#define FIRMWARE_BASE       0xfffc0000ULL       /* boot.ld: TempMem... */
#define FIRMWARE_END        0x100000000ULL
#define GPA_MASK            (SHARED_BIT - 1)
#define PAGE_SHIFT          12
#define PAGE_2M             (2ULL << 20)
#define HOT_PAGES           16      /* where buffers get written */
#define REPORT_PAGE         (SCRATCH_START + (HOT_PAGES << PAGE_SHIFT))
#define TDREPORT_SIZE       1024
#define GET_QUOTE_VERSION   1

/* MigTD's TDG.VP.VMCALL<0x10006> leaves (R12), API version 1 */
#define MIGTD_VERSION_1         (1ULL << 16)
#define MIGTD_WAIT_FOR_REQUEST  1
#define MIGTD_REPORT_STATUS     2
#define MIGTD_SEND              3
#define MIGTD_RECEIVE           4

/* TDG.VP.VMCALL's RCX: the GPRs exposed to the VMM, by GPR number */
#define EXPOSE(n)           (1ULL << (n))
#define GPR_RBX             3
#define GPR_R11             11
#define EXPOSE_R12_R15      0xf000ULL

/* x2APIC MSRs (Intel SDM vol. 3, table 11-6) */
#define MSR_X2APIC_SVR      0x80f
#define MSR_X2APIC_LVT_CMCI 0x82f
#define MSR_X2APIC_ICR      0x830
#define MSR_X2APIC_LVT_FIRST 0x832
#define MSR_X2APIC_LVT_LAST 0x837
#define MSR_X2APIC_SELF_IPI 0x83f
#define ICR_DELIVERY_MODE   (7ULL << 8)
#define FIRST_IRQ_VECTOR    32

/* The timer fires 1/TIMER_HZ s after it is armed, every TIMER_EVERY calls */
#define TIMER_HZ            20000
#define TIMER_EVERY         256
#define IDLE_EVERY          256

/* The legacy PICs, which QEMU wires to the BSP's LINT0 as ExtINT */
#define PIC1_DATA           0x21
#define PIC2_DATA           0xa1

/* COM1's line and modem control, restored after the fuzz for the log */
#define COM1_IER            0x3f9
#define COM1_LCR            0x3fb
#define COM1_MCR            0x3fc
#define LCR_8N1             0x03
#define MCR_DTR_RTS         0x03

static const uint64_t leaves[] = {
    0, 0, 0, 0, 1, 2, 3, 4, 6, 6, 7, 8, 11, 18, 20, 22, 33,
};
static const uint64_t vmcalls[] = {
    0x0a, 0x1e, 0x1f, 0x20, 0x30, 0x10000, 0x10001, 0x10002,
    0x10004, 0x10005, 0x10006, 0x10006, 0x10006, 0x10006,
};
static const uint64_t vmcall_gprs[] = {
    0xfc00, 0xffcc, 0xffec, 0xff00, 0xfc08,
};
static const uint64_t interesting[] = {
    0, 1, 2, 3, 4, 7, 8, 0x1f, 0x20, 0x7f, 0x80, 0xff, 0x100, 0x3ff, 0xfff,
    0x1000, 0x1001, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
    1ULL << 32, SHARED_BIT - 1, SHARED_BIT, 1ULL << 48, 1ULL << 51,
    1ULL << 52, 1ULL << 63, ~0ULL, ~0ULL - 0xfff,
};
static const uint64_t device_gpas[] = {
    0xfec00000, 0xfec00010, 0xfed00000, 0xfee00000, 0xfe000000,
    0xfe000080, 0xe0000000, 0xfffffff0,
};
static const uint64_t ports[] = {
    0x3f8, 0x3fd, 0x3ff, 0x70, 0x71, 0x40, 0x43, 0x61, 0xcf8, 0xcfc,
    0xf4, 0x80, 0xffff, 0x510, 0x511, 0x60, 0x64,
};
static const uint64_t msrs[] = {
    0x10, 0x1b, 0x8b, 0xfe, 0x179, 0x17a, 0x1a0, 0x200, 0x201, 0x250,
    0x277, 0x2ff, 0x400, 0x401, 0x6e0, 0x802, 0x803, 0x808, 0x80b, 0x80d,
    0x80f, 0x828, 0x82f, 0x830, 0x832, 0x835, 0x838, 0x83e, 0x83f,
    0xc0000080, 0xffffffff,
};
static const uint64_t access_sizes[] = { 1, 2, 4, 8, 3, 0 };
/* Buffer contents: how many u64, header status words and lengths */
static const uint64_t fill_words[] = { 2, 4, 8, 32, 128, 512 };
static const uint64_t header_words[] = { 0, 1, 2, 3, ~0ULL };
static const uint64_t lengths[] = {
    0, 4, 12, 16, 24, 0x100, 0x1000, 0x10000, 0x7fffffff, 0xffffffff,
};
/* TDG.MEM.PAGE.ACCEPT's RCX level (4 KiB, 2 MiB, bad) and low bits */
static const uint64_t accept_operands[] = { 0, 0, 1, 1, 2, 0x100 };

/* I/O ranges no write may reach, first and last port */
static const uint16_t io_no_write[][2] = {
    { 0x20, 0x21 }, { 0xa0, 0xa1 },     /* PICs: ExtINT vectors < 32 */
    { 0x64, 0x64 },                     /* i8042: 0xfe resets */
    { 0x92, 0x92 },                     /* port A: fast reset */
    { 0xb2, 0xb3 },                     /* APM: SMI */
    { 0xf4, 0xf4 },                     /* isa-debug-exit */
    { 0x510, 0x51b },                   /* fw_cfg: DMA writes RAM */
    { 0x600, 0x67f },                   /* ICH9 PM, TCO: power off */
    { 0xcf9, 0xcf9 },                   /* reset control */
};
#define PCI_CONFIG_ADDRESS  0xcf8

/*
 * MMIO a write may start in: IOAPIC's index register, HPET's counter
 * (8 bytes at most each; what follows either is harmless too)
 */
static const uint64_t mmio_writable[] = { 0xfec00000, 0xfed000f0 };
#define MMIO_WRITABLE_LEN   8
#define MMIO_DEVICES_START  0xe0000000ULL

static uint64_t rng_state;
static volatile uint64_t fuzz_irqs;
static uint64_t idles;

/* xorshift64* (Vigna, "An experimental exploration of Marsaglia's
 * xorshift generators, scrambled", 2016) */
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Called by fuzz_irq in entry.S, for any vector without a handler */
void fuzz_interrupt(void)
{
    fuzz_irqs++;
}

static void fw_cfg_select(uint16_t key)
{
    uint64_t data = key;

    tdvmcall_io(2, 1, FW_CFG_CTL, &data);
}

/* @n bytes of the selected item, big-endian */
static uint64_t fw_cfg_read_be(unsigned n)
{
    uint64_t value = 0, byte;

    while (n--) {
        byte = 0;
        tdvmcall_io(1, 0, FW_CFG_DATA, &byte);
        value = value << 8 | (byte & 0xff);
    }
    return value;
}

/* Whether the directory entry being read is @name (reads its name) */
static int fw_cfg_name_is(const char *name)
{
    int same = 1;
    unsigned i;

    for (i = 0; i < FW_CFG_NAME_LEN; i++) {
        char c = fw_cfg_read_be(1);

        same &= c == *name;
        name += !!*name;
    }
    return same;
}

/* Select fw_cfg file @name; its size, 0 if there is none */
static uint32_t fw_cfg_open(const char *name)
{
    uint32_t count, size, i;
    uint16_t key;

    fw_cfg_select(FW_CFG_FILE_DIR);
    count = fw_cfg_read_be(4);
    for (i = 0; i < count && i < FW_CFG_MAX_FILES; i++) {
        size = fw_cfg_read_be(4);
        key = fw_cfg_read_be(2);
        fw_cfg_read_be(2);
        if (fw_cfg_name_is(name)) {
            fw_cfg_select(key);
            return size;
        }
    }
    return 0;
}

/* A decimal or 0x-prefixed hex number from the selected item */
static uint64_t read_number(uint32_t *left)
{
    uint64_t value = 0, base = 10, digit;
    int first = 1;

    while (*left) {
        char c = fw_cfg_read_be(1);

        --*left;
        if (first && c == '0' && *left) {
            c = fw_cfg_read_be(1);
            --*left;
            base = c == 'x' || c == 'X' ? 16 : base;
            if (base == 16) {
                continue;
            }
        }
        first = 0;
        if (c >= '0' && c <= '9') {
            digit = c - '0';
        } else if (base == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            digit = (c | 0x20) - 'a' + 10;
        } else {
            break;
        }
        value = value * base + digit;
    }
    return value;
}

int fuzz_requested(uint64_t *seed, uint64_t *calls)
{
    uint32_t left = fw_cfg_open(FUZZ_FILE);

    if (!left) {
        return 0;
    }
    *seed = read_number(&left);
    *calls = left ? read_number(&left) : FUZZ_DEFAULT_CALLS;
    return 1;
}

/* A scratch page, half of the time one of those buffers go to */
static uint64_t scratch_page(void)
{
    uint64_t page = rnd() % 2 ? rnd() % HOT_PAGES :
                                rnd() % (SCRATCH_SIZE >> PAGE_SHIFT);

    return SCRATCH_START + (page << PAGE_SHIFT);
}

/*
 * A well-formed GetQuote request for a fresh TDREPORT of ours (GHCI 1.5
 * GetQuote: version, status, in_len | out_len << 32, then the data), so
 * that a backend has a quote to make and the VMM an interrupt to raise
 */
static void fill_quote_request(uint64_t *buf)
{
    struct tdx_regs r = {
        .rax = TDG_MR_REPORT, .rcx = REPORT_PAGE,
        .rdx = REPORT_PAGE + TDREPORT_SIZE,
    };
    const uint64_t *report = shared_va((const void *)REPORT_PAGE);
    unsigned i;

    tdcall(&r);
    buf[0] = GET_QUOTE_VERSION;
    buf[1] = 0;
    buf[2] = TDREPORT_SIZE;
    for (i = 0; i < TDREPORT_SIZE / sizeof(*buf); i++) {
        buf[3 + i] = report[i];
    }
}

/*
 * Write a buffer for the calls that follow: random words, half of the time
 * behind a header of status words and lying lengths (GetQuote's, MigTD's
 * and Service's headers all start with such words); now and then a
 * GetQuote request that is right
 */
static void fill_buffer(void)
{
    uint64_t *buf = shared_va((void *)(SCRATCH_START +
                                       ((rnd() % HOT_PAGES) << PAGE_SHIFT)));
    uint64_t i, words = PICK(fill_words);

    if (rnd() % 16 == 0) {
        fill_quote_request(buf);
        return;
    }
    for (i = 0; i < words; i++) {
        buf[i] = rnd();
    }
    if (rnd() % 2) {
        buf[0] = PICK(header_words);
        buf[1] = PICK(lengths) | PICK(lengths) << 32;
        buf[2] = PICK(lengths) | PICK(lengths) << 32;
    }
}

/* Any operand: a boundary value, scratch RAM, a device, a port, noise */
static uint64_t value(void)
{
    unsigned pick = rnd() % 100;
    uint64_t gpa;

    if (pick < 35) {
        return PICK(interesting);
    }
    if (pick < 60) {
        gpa = scratch_page();
        return rnd() % 10 < 4 ? gpa | SHARED_BIT : gpa;
    }
    if (pick < 70) {
        return PICK(device_gpas);
    }
    if (pick < 80) {
        return PICK(ports);
    }
    return rnd();
}

/* @gpa with its address bits (below the shared bit) moved into scratch */
static uint64_t into_scratch(uint64_t gpa)
{
    return (gpa & ~GPA_MASK) | (SCRATCH_START + (gpa & (SCRATCH_SIZE - 1)));
}

/* A GPA something is written to: into scratch if it names our RAM */
static uint64_t safe_buffer(uint64_t gpa)
{
    uint64_t addr = gpa & GPA_MASK;

    if (addr < SCRATCH_START ||
        (addr >= FIRMWARE_BASE && addr < FIRMWARE_END)) {
        return into_scratch(gpa);
    }
    return gpa;
}

/*
 * Whether an I/O write may reach @port...@port + @size - 1. One that
 * starts at the PCI configuration address (0xCF8) goes to it whole, not
 * to the reset control register q35 layers over 0xCF9.
 */
static int io_write_allowed(uint64_t port, uint64_t size)
{
    unsigned i;

    if (port == PCI_CONFIG_ADDRESS) {
        return 1;
    }
    size = size > 4 ? 4 : size;
    for (i = 0; i < ARRAY_SIZE(io_no_write); i++) {
        if (port <= io_no_write[i][1] && port + size > io_no_write[i][0]) {
            return 0;
        }
    }
    return 1;
}

static int mmio_write_allowed(uint64_t gpa)
{
    uint64_t addr = gpa & ~SHARED_BIT;
    unsigned i;

    for (i = 0; i < ARRAY_SIZE(mmio_writable); i++) {
        if (addr - mmio_writable[i] < MMIO_WRITABLE_LEN) {
            return 1;
        }
    }
    return addr < MMIO_DEVICES_START || addr >= FIRMWARE_BASE;
}

/* A write to @msr that keeps the APIC timer, the SVR and the LVTs */
static int msr_write_allowed(uint64_t msr)
{
    uint32_t m = msr;

    return m != MSR_X2APIC_SVR && m != MSR_X2APIC_LVT_CMCI &&
           (m < MSR_X2APIC_LVT_FIRST || m > MSR_X2APIC_LVT_LAST);
}

/* An IPI as a fixed interrupt on a vector with a handler */
static uint64_t safe_ipi(uint64_t icr)
{
    icr &= ~ICR_DELIVERY_MODE;
    if ((icr & 0xff) < FIRST_IRQ_VECTOR) {
        icr |= FIRST_IRQ_VECTOR;
    }
    return icr;
}

/* Each MigTD leaf's buffer gets at least a status written into it */
static void safe_migtd(struct tdx_regs *r)
{
    r->rcx |= EXPOSE(GPR_RBX);
    switch (r->r12 & 0xffff) {
    case MIGTD_WAIT_FOR_REQUEST:
        r->r14 = safe_buffer(r->r14);
        break;
    case MIGTD_REPORT_STATUS:
        r->rbx = safe_buffer(r->rbx);
        break;
    case MIGTD_SEND:
    case MIGTD_RECEIVE:
        r->r15 = safe_buffer(r->r15);
        break;
    }
}

static void safe_map_gpa(struct tdx_regs *r)
{
    uint64_t start;

    r->r12 = into_scratch(r->r12);
    start = r->r12 & GPA_MASK;
    if (r->r13 > SCRATCH_END - start) {
        r->r13 = SCRATCH_END - start;
    }
}

/*
 * The VMM sees a hidden GPR as 0: where operands matter here they are
 * exposed, so what it sees is what was made safe (elsewhere R12-R15 may
 * stay hidden).
 */
static void safe_vmcall(struct tdx_regs *r)
{
    uint64_t subfn = r->rcx & EXPOSE(GPR_R11) ? r->r11 : 0;

    switch (subfn) {
    case TDVMCALL_HLT:
    case TDVMCALL_REPORT_FATAL_ERROR:
        r->r11 = TDVMCALL_CPUID;
        break;
    case TDVMCALL_IO:
        if (r->r13 == 1 && !io_write_allowed(r->r14, r->r12)) {
            r->r13 = 0;
        }
        break;
    case TDVMCALL_MMIO:
        if (r->r13 == 1 && !mmio_write_allowed(r->r14)) {
            r->r13 = 0;
        }
        break;
    case TDVMCALL_WRMSR:
        if (!msr_write_allowed(r->r12)) {
            r->r11 = TDVMCALL_RDMSR;
        } else if ((uint32_t)r->r12 == MSR_X2APIC_ICR ||
                   (uint32_t)r->r12 == MSR_X2APIC_SELF_IPI) {
            r->r13 = safe_ipi(r->r13);
        }
        break;
    case TDVMCALL_MAP_GPA:
        safe_map_gpa(r);
        break;
    case TDVMCALL_GET_QUOTE:
        r->r12 = safe_buffer(r->r12);
        break;
    case TDVMCALL_SERVICE:
        r->r13 = safe_buffer(r->r13);
        break;
    case TDVMCALL_MIGTD:
        safe_migtd(r);
        break;
    default:
        return;
    }
    r->rcx |= EXPOSE_R12_R15;
}

static void make_safe(struct tdx_regs *r)
{
    switch (r->rax & 0xffff) {
    case TDG_VP_VMCALL:
        safe_vmcall(r);
        break;
    case TDG_MR_REPORT:
        r->rcx = safe_buffer(r->rcx);
        break;
    case TDG_MEM_PAGE_ACCEPT:
        r->rcx = into_scratch(r->rcx);
        break;
    }
}

static uint64_t buffer_gpa(void)
{
    return scratch_page() | (rnd() % 2 ? SHARED_BIT : 0);
}

static uint64_t vector(void)
{
    return rnd() % 8 ? FIRST_IRQ_VECTOR + rnd() % 224 : PICK(interesting);
}

/* A MigTD leaf with its buffer, length, vector and request id */
static void gen_migtd(struct tdx_regs *r)
{
    uint64_t leaf = MIGTD_WAIT_FOR_REQUEST + rnd() % 4;

    r->r12 = MIGTD_VERSION_1 | leaf;
    r->r13 = rnd() % 4;
    switch (leaf) {
    case MIGTD_WAIT_FOR_REQUEST:
        r->r13 = PICK(lengths);
        r->r14 = buffer_gpa();
        r->r15 = vector();
        break;
    case MIGTD_REPORT_STATUS:
        r->r14 = rnd() % 2;
        r->r15 = PICK(lengths);
        r->rbx = buffer_gpa();
        r->rdi = vector();
        break;
    default:
        r->r14 = PICK(lengths);
        r->r15 = buffer_gpa();
        r->rbx = vector();
        break;
    }
}

/* Mostly well-formed operands of the sub-function, one thing off */
static void gen_vmcall(struct tdx_regs *r)
{
    r->rcx = rnd() % 8 ? PICK(vmcall_gprs) : value();
    r->r10 = rnd() % 20 ? 0 : value();
    r->r11 = rnd() % 20 ? PICK(vmcalls) : value();
    if (rnd() % 4 == 0) {
        return;
    }
    switch (r->r11) {
    case TDVMCALL_IO:
    case TDVMCALL_MMIO:
        r->r12 = PICK(access_sizes);
        r->r13 = rnd() % 2;
        break;
    case TDVMCALL_RDMSR:
    case TDVMCALL_WRMSR:
        r->r12 = PICK(msrs);
        break;
    case TDVMCALL_GET_QUOTE:
        r->r12 = buffer_gpa();
        r->r13 = PICK(lengths);
        break;
    case TDVMCALL_SERVICE:
        r->r12 = buffer_gpa();
        r->r13 = buffer_gpa();
        r->r14 = rnd() % 2 ? 0 : vector();
        break;
    case TDVMCALL_MIGTD:
        gen_migtd(r);
        break;
    }
}

static void gen_call(struct tdx_regs *r)
{
    uint64_t *reg = (uint64_t *)r;
    unsigned i;

    for (i = 0; i < sizeof(*r) / sizeof(*reg); i++) {
        reg[i] = value();
    }
    r->rax = rnd() % 100 < 97 ? PICK(leaves) : value();
    if (r->rax == TDG_VP_VMCALL) {
        gen_vmcall(r);
    } else if (r->rax == TDG_MEM_PAGE_ACCEPT && rnd() % 2) {
        r->rcx = PICK(accept_operands) |
                 (scratch_page() & (rnd() % 2 ? ~0ULL : ~(PAGE_2M - 1)));
    }
    make_safe(r);
}

static void io_write8(uint16_t port, uint8_t value)
{
    uint64_t data = value;

    tdvmcall_io(1, 1, port, &data);
}

/*
 * Make the call with interrupts off, one in 8 with them on; one in
 * IDLE_EVERY is MigTD's idle instead, "sti; TDG.VP.VMCALL<HLT>", woken by
 * the timer armed just before (the one Instruction.HLT: it always ends)
 */
static void run_call(struct tdx_regs *r, uint64_t tick)
{
    unsigned pick = rnd() % IDLE_EVERY;

    if (!pick) {
        wrmsr(MSR_TSC_DEADLINE, rdtsc() + tick);
        idle_hlt();
        idles++;
    } else if (pick < IDLE_EVERY / 8) {
        asm volatile("sti" : : : "memory");
        tdcall(r);
        asm volatile("cli" : : : "memory");
    } else {
        tdcall(r);
    }
}

void fuzz_run(uint64_t seed, uint64_t calls)
{
    uint64_t i, tick = tsc_hz() / TIMER_HZ, ticks = timer_ticks;
    struct tdx_regs r;

    rng_state = seed ? seed : 1;
    asm volatile("cli" : : : "memory");     /* whatever the checks left */
    idt_catch_all();
    ve_accept_pending(1);
    io_write8(PIC1_DATA, 0xff);         /* no ExtINT from the PICs */
    io_write8(PIC2_DATA, 0xff);
    for (i = 0; i < calls; i++) {
        if (rnd() % 8 == 0) {
            fill_buffer();
        }
        gen_call(&r);
        if (i % TIMER_EVERY == 0) {
            wrmsr(MSR_TSC_DEADLINE, rdtsc() + tick);
        }
        run_call(&r, tick);
    }
    asm volatile("sti; nop; cli" : : : "memory");
    io_write8(COM1_IER, 0);             /* the console as it was */
    io_write8(COM1_LCR, LCR_8N1);
    io_write8(COM1_MCR, MCR_DTR_RTS);
    guest_printf("fuzz: %lu calls, seed %lu (%lu idle, %lu timer ticks, "
                 "%lu other interrupts)\n", calls, seed, idles,
                 timer_ticks - ticks, fuzz_irqs);
}
