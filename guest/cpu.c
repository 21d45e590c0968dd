/*
 * Guest stub: GDT with user segments and a TSS, IDT, exception handling
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cpu.h"
#include "tdx.h"
#include "ve.h"

#define MSR_X2APIC_LVTT     0x832
#define LVT_TSC_DEADLINE    (2 << 17)

#define SEL_KERNEL_CS   0x08
#define SEL_TSS         0x28
#define NR_EXCEPTIONS   32
#define NR_VECTORS      256

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp0;
    uint64_t rsp1, rsp2, reserved1, ist[7], reserved2;
    uint16_t reserved3, iomap_base;
} __attribute__((packed));

struct idt_gate {
    uint16_t offset_low, selector;
    uint8_t ist, type;
    uint16_t offset_mid;
    uint32_t offset_high, reserved;
};

struct table_desc {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

extern void (*const exception_stubs[NR_EXCEPTIONS])(void);
extern void run_user(void (*fn)(void), void *stack_top);
extern void event_irq(void);
extern void timer_irq(void);
extern void request_irq(void);
extern void stream_irq(void);
extern void fuzz_irq(void);

static uint64_t gdt[7];
static struct tss64 tss;
static struct idt_gate idt[NR_VECTORS];
static uint8_t kernel_fault_stack[8192] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));

/* The fault the current test expects, if any */
static struct {
    uintptr_t insn;         /* CPL 0: the instruction that should fault */
    unsigned len;
    struct fault_record *rec;
} expected;

static void gdt_init(void)
{
    uint64_t base = (uint64_t)&tss, limit = sizeof(tss) - 1;
    struct table_desc desc = { sizeof(gdt) - 1, (uint64_t)gdt };

    gdt[1] = 0x00AF9B000000FFFFULL;     /* 0x08 kernel code, 64-bit */
    gdt[2] = 0x00CF93000000FFFFULL;     /* 0x10 kernel data */
    gdt[3] = 0x00CFF3000000FFFFULL;     /* 0x18 user data, DPL 3 */
    gdt[4] = 0x00AFFB000000FFFFULL;     /* 0x20 user code, DPL 3 */
    gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
             (0x89ULL << 40) | (((base >> 24) & 0xff) << 56);
    gdt[6] = base >> 32;                /* 0x28 64-bit TSS, 2 slots */
    tss.rsp0 = (uint64_t)(kernel_fault_stack + sizeof(kernel_fault_stack));
    tss.iomap_base = sizeof(tss);

    asm volatile("lgdt %0\n\t"
                 "pushq %1\n\t"
                 "leaq 1f(%%rip), %%rax\n\t"
                 "pushq %%rax\n\t"
                 "lretq\n"
                 "1:\n\t"
                 "movw $0x10, %%ax\n\t"
                 "movw %%ax, %%ds\n\t"
                 "movw %%ax, %%es\n\t"
                 "movw %%ax, %%ss\n\t"
                 "ltr %w2"
                 : : "m"(desc), "i"(SEL_KERNEL_CS), "r"(SEL_TSS)
                 : "rax", "memory");
}

static void idt_set_gate(int vector, void (*fn)(void))
{
    uint64_t handler = (uint64_t)fn;

    idt[vector] = (struct idt_gate) {
        .offset_low = handler & 0xffff,
        .selector = SEL_KERNEL_CS,
        .type = 0x8e,                       /* present, 64-bit int gate */
        .offset_mid = (handler >> 16) & 0xffff,
        .offset_high = handler >> 32,
    };
}

static void idt_init(void)
{
    struct table_desc desc = { sizeof(idt) - 1, (uint64_t)idt };
    int i;

    for (i = 0; i < NR_EXCEPTIONS; i++) {
        idt_set_gate(i, exception_stubs[i]);
    }
    idt_set_gate(EVENT_VECTOR, event_irq);
    idt_set_gate(TIMER_VECTOR, timer_irq);
    idt_set_gate(REQUEST_VECTOR, request_irq);
    idt_set_gate(STREAM_VECTOR, stream_irq);
    idt_set_gate(VSOCK_TX_VECTOR, stream_irq);
    idt_set_gate(VSOCK_CONFIG_VECTOR, stream_irq);
    asm volatile("lidt %0" : : "m"(desc));
}

void idt_catch_all(void)
{
    int i;

    for (i = NR_EXCEPTIONS; i < NR_VECTORS; i++) {
        if (!idt[i].type) {
            idt_set_gate(i, fuzz_irq);
        }
    }
}

void cpu_init(void)
{
    gdt_init();
    idt_init();
}

static void record_fault(const struct exception_frame *f)
{
    expected.rec->vector = f->vector;
    expected.rec->error_code = f->error_code;
    expected.rec->rip = f->rip;
}

/*
 * Called by exception_common. Returns 1 to abandon user mode (back to
 * run_user's caller), 0 to resume at f->rip.
 */
int exception_handler(struct exception_frame *f)
{
    if (f->vector == VE_VECTOR && !(f->cs & 3)) {
        ve_handle(f);
        return 0;
    }
    if ((f->cs & 3) && expected.rec) {
        record_fault(f);
        return 1;
    }
    if (expected.rec && f->rip == expected.insn) {
        record_fault(f);
        f->rip += expected.len;
        return 0;
    }
    guest_printf("unexpected exception %lu (error 0x%lx) at rip 0x%lx\n",
                 f->vector, f->error_code, f->rip);
    guest_finish(GUEST_STATE_FAIL);
    return 0;
}

uint8_t run_expecting_fault(void (*fn)(void), uintptr_t insn, unsigned len,
                            struct fault_record *rec)
{
    rec->vector = NO_FAULT;
    expected.insn = insn;
    expected.len = len;
    expected.rec = rec;
    fn();
    expected.rec = 0;
    return rec->vector;
}

uint8_t run_at_cpl3(void (*fn)(void), struct fault_record *rec)
{
    rec->vector = NO_FAULT;
    expected.insn = 0;
    expected.rec = rec;
    run_user(fn, user_stack + sizeof(user_stack));
    expected.rec = 0;
    return rec->vector;
}

uint64_t rdtsc(void)
{
    uint32_t lo, hi;

    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return lo | ((uint64_t)hi << 32);
}

uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;

    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return lo | ((uint64_t)hi << 32);
}

void wrmsr(uint32_t msr, uint64_t value)
{
    asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)value),
                 "d"((uint32_t)(value >> 32)));
}

volatile uint64_t timer_ticks;

/* Called by timer_irq in entry.S */
void timer_interrupt(void)
{
    timer_ticks++;
}

uint64_t tsc_hz(void)
{
    uint32_t eax, ebx, ecx, edx;

    asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
                 : "a"(0x15), "c"(0));
    return eax ? (uint64_t)ecx * (ebx / eax) : 0;
}

void timer_start(void)
{
    wrmsr(MSR_X2APIC_LVTT, LVT_TSC_DEADLINE | TIMER_VECTOR);
}

void timer_arm_ms(uint64_t ms)
{
    wrmsr(MSR_TSC_DEADLINE, rdtsc() + tsc_hz() / 1000 * ms);
}

uint64_t timer_wait_ms(uint64_t ms)
{
    uint64_t ticks = timer_ticks, deadline = rdtsc() + tsc_hz() / 1000 * ms;

    wrmsr(MSR_TSC_DEADLINE, deadline);
    while (timer_ticks == ticks) {
        idle_hlt();
    }
    return deadline;
}

int idle_until(volatile int *flag, uint64_t timeout_ms)
{
    uint64_t end = rdtsc() + tsc_hz() / 1000 * timeout_ms;

    while (!*flag && rdtsc() < end) {
        timer_arm_ms(1);
        idle_hlt();
    }
    return *flag;
}
