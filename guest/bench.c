/*
 * Guest stub: the TDCALL round-trip benchmark of ./tdx-emu bench
 *
 * Runs when the configuration volume starts with "tdx-emu bench" (the
 * bench script patches a copy of the image; the CFV is not measured into
 * MRTD). A loop of TDG.VP.INFO against the same loop of CPUID, the
 * cheapest instruction exit TCG has, timed with the TSC; then MigTD's
 * 1 ms timeouts in a row, which the host times in real time.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cpu.h"
#include "tdx.h"
#include "bench.h"
#include "cfv.h"

#define BENCH_ITERS     1000000
#define BENCH_TIMEOUTS  200

int bench_requested(void)
{
    return cfv_starts_with("tdx-emu bench");
}

/*
 * The same loop as time_cpuids(): TDCALL inline, its outputs clobbered
 * (TDG.VP.INFO writes RAX, RCX, RDX, R8-R11), so the figure is the round
 * trip and not tdcall_regs()'s loads and stores of every GPR.
 */
static uint64_t time_tdcalls(void)
{
    uint64_t rax, start = rdtsc();
    int i;

    for (i = 0; i < BENCH_ITERS; i++) {
        asm volatile(".byte 0x66, 0x0f, 0x01, 0xcc"       /* TDCALL */
                     : "=a"(rax) : "a"((uint64_t)TDG_VP_INFO)
                     : "rcx", "rdx", "r8", "r9", "r10", "r11", "memory");
    }
    guest_result()->tdcalls += BENCH_ITERS;
    return rdtsc() - start;
}

static uint64_t time_cpuids(void)
{
    uint32_t eax, ebx, ecx, edx;
    uint64_t start = rdtsc();
    int i;

    for (i = 0; i < BENCH_ITERS; i++) {
        asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx)
                     : "a"(0), "c"(0));
    }
    return rdtsc() - start;
}

/*
 * BENCH_TIMEOUTS timeouts of 1 ms in a row, as MigTD waits: the
 * TSC-deadline timer armed 1 ms ahead (by CPUID 0x15's rate), the vCPU in
 * TDG.VP.VMCALL<HLT> until it fires. The host times the run from the
 * "start" line to the result line against its own clock: whether a 1 ms
 * timeout lasts 1 ms of real time (MigTD src/migtd/src/driver/timer.rs, ±10%).
 */
static void time_timeouts(uint64_t hz)
{
    uint64_t start;
    int i;

    timer_start();
    guest_printf("BENCH timeouts start\n");
    start = rdtsc();
    for (i = 0; i < BENCH_TIMEOUTS; i++) {
        timer_wait_ms(1);
    }
    guest_printf("BENCH timeouts=%u guest_us=%lu\n", BENCH_TIMEOUTS,
                 (rdtsc() - start) * 1000000 / hz);
}

void bench_run(void)
{
    uint64_t hz = tsc_hz(), tdcall_ticks, cpuid_ticks;

    if (!bench_requested() || !hz) {
        return;
    }
    tdcall_ticks = time_tdcalls();
    cpuid_ticks = time_cpuids();
    /* picoseconds per operation, so the host gets three decimals of ns */
    guest_printf("BENCH iterations=%u tdcall_ps=%lu cpuid_ps=%lu\n",
                 BENCH_ITERS,
                 tdcall_ticks * (uint64_t)(1000000000000ULL / hz) / BENCH_ITERS,
                 cpuid_ticks * (uint64_t)(1000000000000ULL / hz) / BENCH_ITERS);
    time_timeouts(hz);
}
