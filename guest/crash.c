/*
 * Guest stub: MigTD's panic report through the Hyper-V crash MSRs
 *
 * A vmcall-raw MigTD looks for the Hyper-V guest crash MSRs at start-up
 * and, on a panic, writes the error code to HV_X64_MSR_CRASH_P0, its message
 * (in a page of its own) to P3 (GPA) and P4 (length), then notify and
 * message to CRASH_CTL (MigTD src/migtd/src/driver/crash.rs,
 * driver/vmcall_raw.rs panic_with_guest_crash_reg_report); td-payload's
 * panic handler then issues ReportFatalError with R12 = R13 = 0 (td-shim
 * b3695f5). In a TD those CPUID leaves and MSRs raise #VE and reach the
 * VMM as TDG.VP.VMCALL<Instruction.CPUID/RDMSR/WRMSR> (GHCI 1.5); the
 * stub makes those calls itself.
 *
 * The crash mode runs when the configuration volume starts with
 * "tdx-emu crash" (a patched copy of the image: the CFV is not measured).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "bytes.h"
#include "tdx.h"
#include "crash.h"
#include "cfv.h"

#define HV_CPUID_VENDOR         0x40000000
#define HV_CPUID_FEATURES       0x40000003
#define HV_GUEST_CRASH_MSRS     (1u << 10)
#define HV_MSR_CRASH_P0         0x40000100
#define HV_MSR_CRASH_P3         0x40000103
#define HV_MSR_CRASH_P4         0x40000104
#define HV_MSR_CRASH_CTL        0x40000105
#define MIGTD_CRASH_NOTIFY      (1u << 0)       /* as crash.rs writes them */
#define MIGTD_CRASH_MESSAGE     (1u << 1)
#define MIGTD_INIT_ERROR        0xff    /* MigrationResult InitializationError */

static const char crash_text[] =
    "Panic: msg: tdx-emu guest stub crash mode at location: guest/crash.c";

/* The message's own page, as crash.rs allocates one */
static char crash_page[4096] __attribute__((aligned(4096)));

/* TDG.VP.VMCALL<Instruction.CPUID>: EAX of @leaf, EDX in *edx */
static uint32_t vmcall_cpuid(uint32_t leaf, uint32_t *edx)
{
    struct tdx_regs r = {
        .rax = TDG_VP_VMCALL,
        .rcx = TDVMCALL_EXPOSE_R10_R15,
        .r11 = TDVMCALL_CPUID,
        .r12 = leaf,
    };

    tdcall(&r);
    *edx = r.r10 == TDVMCALL_SUCCESS ? r.r15 : 0;
    return r.r10 == TDVMCALL_SUCCESS ? r.r12 : 0;
}

int crash_msrs_offered(void)
{
    uint32_t edx;

    return vmcall_cpuid(HV_CPUID_VENDOR, &edx) > HV_CPUID_FEATURES &&
           (vmcall_cpuid(HV_CPUID_FEATURES, &edx), edx & HV_GUEST_CRASH_MSRS);
}

void crash_if_requested(void)
{
    uint64_t len = sizeof(crash_text) - 1;

    if (!cfv_starts_with("tdx-emu crash")) {
        return;
    }
    if (crash_msrs_offered()) {
        guest_printf("tdx-emu guest: crash mode: the Hyper-V crash MSRs\n");
        copy(crash_page, crash_text, len);
        tdvmcall(TDVMCALL_WRMSR, HV_MSR_CRASH_P0, MIGTD_INIT_ERROR);
        tdvmcall(TDVMCALL_WRMSR, HV_MSR_CRASH_P3, (uintptr_t)crash_page);
        tdvmcall(TDVMCALL_WRMSR, HV_MSR_CRASH_P4, len);
        tdvmcall(TDVMCALL_WRMSR, HV_MSR_CRASH_CTL,
                 MIGTD_CRASH_NOTIFY | MIGTD_CRASH_MESSAGE);
    } else {
        guest_printf("tdx-emu guest: crash mode: no crash MSRs\n");
    }
    tdvmcall(TDVMCALL_REPORT_FATAL_ERROR, 0, 0);
    for (;;) {
        asm volatile("cli; hlt");
    }
}
