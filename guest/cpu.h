/*
 * Guest stub: descriptor tables and exception handling
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_CPU_H
#define GUEST_CPU_H

#include <stdint.h>

#define VECTOR_UD   6
#define VECTOR_DF   8
#define VECTOR_GP   13
#define NO_FAULT    0xff

/* As pushed by exception_common in entry.S */
struct exception_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* What the last expected fault was */
struct fault_record {
    uint64_t vector;
    uint64_t error_code;
    uint64_t rip;
};

/* The vector the event-notify check registers (MigTD uses 0x51 too) */
#define EVENT_VECTOR 0x51
/* The APIC timer vector (MigTD's 1 ms tick uses 33 too) */
#define TIMER_VECTOR 0x21
/* MigTD's request (WaitForRequest) and stream (Send/Receive) vectors */
#define REQUEST_VECTOR 0x50
#define STREAM_VECTOR 0x52
/* MigTD's virtio-vsock transmit and configuration vectors */
#define VSOCK_TX_VECTOR 0x53
#define VSOCK_CONFIG_VECTOR 0x54

#define MSR_TSC_DEADLINE 0x6e0

void cpu_init(void);

/*
 * Give every vector 32-255 without a handler fuzz_irq (entry.S), which
 * only acknowledges the interrupt (the fuzz mode's)
 */
void idt_catch_all(void);

uint64_t rdtsc(void);
uint64_t rdmsr(uint32_t msr);
void wrmsr(uint32_t msr, uint64_t value);

/* The x2APIC TSC-deadline timer, ticking on TIMER_VECTOR */
extern volatile uint64_t timer_ticks;
uint64_t tsc_hz(void);                  /* from CPUID 0x15; 0 if unknown */
void timer_start(void);                 /* LVTT: TSC-deadline mode */
void timer_arm_ms(uint64_t ms);

/* Arm the timer @ms ahead and idle until it fires; returns the deadline */
uint64_t timer_wait_ms(uint64_t ms);

/*
 * Idle in TDG.VP.VMCALL<HLT>, waking at least every 1 ms, until *flag is
 * set (by an interrupt handler) or @timeout_ms passed; returns *flag.
 */
int idle_until(volatile int *flag, uint64_t timeout_ms);


/*
 * Run @fn expecting a fault at CPL 0 on the instruction at @insn, @len bytes
 * long, which is then skipped. Returns the vector (NO_FAULT if none).
 */
uint8_t run_expecting_fault(void (*fn)(void), uintptr_t insn, unsigned len,
                            struct fault_record *rec);

/* Run @fn at CPL 3 until it faults; returns the vector */
uint8_t run_at_cpl3(void (*fn)(void), struct fault_record *rec);

#endif
