/*
 * Guest stub: the APs, through td-shim's mailbox
 *
 * Every vCPU of a TD starts at the reset vector; boot.S parks the APs on
 * td-shim's mailbox in TempMem (td-shim ResetVector/Main.asm ParkAp). The
 * BSP then does what td-shim's Rust code does with them (td-shim
 * src/bin/td-shim/td/tdx_mailbox.rs): it waits for each AP to arrive
 * (CHECK: the AP answers by setting APIC_ID invalid), then hands each one
 * work with a stack (ASSIGN_WORK, the function called with the vCPU index
 * in RCX, Microsoft x64 ABI, as parallel_accept_memory is). The work here
 * is a check-in: the AP's own TDG.VP.INFO index and its x2APIC ID from
 * TDG.VP.VMCALL<Instruction.CPUID> leaf 0xB (as td-shim's relocated AP
 * loop asks it, ap_loop.asm). Then, as td-shim's relocate_mailbox, the
 * BSP copies the AP loop (ap-loop.S) after a new mailbox page and sends
 * all APs there (WAKEUP, broadcast); each is woken once more on the new
 * mailbox by its x2APIC ID to show it got there, and goes back to spin
 * in that loop, where td-shim leaves them for the OS.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "bytes.h"
#include "cpu.h"
#include "tdx.h"
#include "layout.h"
#include "smp.h"

#define PAGE            4096
#define AP_STACK_SIZE   0x800           /* td-shim's AP_TEMP_STACK_SIZE */
#define AP_WAIT_S       5               /* an AP that does not answer */
#define CHECKED_IN      (1ULL << 63)

static uint8_t ap_stacks[SMP_MAX_APS][AP_STACK_SIZE]
    __attribute__((aligned(16)));
/* Per vCPU: CHECKED_IN | x2APIC ID << 32 | TDG.VP.INFO index */
static volatile uint64_t ap_check_ins[SMP_MAX_APS + 1];

/* td-shim's relocated mailbox: the mailbox page, then the AP loop */
static uint8_t relocated_mailbox[2 * PAGE] __attribute__((aligned(PAGE)));
/* Per vCPU index: it reached the relocated loop (ap-loop.S writes it) */
volatile uint8_t ap_relocated[AP_RELOCATED_MAX];

/* ap-loop.S */
extern const uint8_t ap_loop_start[], ap_loop_end[];
void ap_relocated_check_in(void);

static volatile uint32_t *mailbox32(unsigned offset)
{
    return (volatile uint32_t *)(uintptr_t)(AP_MAILBOX_ADDR + offset);
}

static volatile uint64_t *mailbox64(unsigned offset)
{
    return (volatile uint64_t *)(uintptr_t)(AP_MAILBOX_ADDR + offset);
}

static volatile uint32_t *new_mailbox32(unsigned offset)
{
    return (volatile uint32_t *)(relocated_mailbox + offset);
}

/*
 * The work an AP is given: runs on the AP, on its own stack, with no IDT;
 * TDCALLs inline (the stub's counters belong to the BSP)
 */
static uint64_t ap_vp_index(void)
{
    register uint64_t r9 asm("r9");
    uint64_t rax = TDG_VP_INFO;

    asm volatile(".byte 0x66, 0x0f, 0x01, 0xcc"
                 : "+a"(rax), "=r"(r9) : : "rcx", "rdx", "r8", "r10", "r11",
                 "memory");
    return rax == TDX_SUCCESS ? r9 : UINT64_MAX;
}

/* TDG.VP.VMCALL<Instruction.CPUID> leaf 0xB: EDX, the x2APIC ID */
static uint64_t ap_x2apic_id(void)
{
    register uint64_t r10 asm("r10") = 0;
    register uint64_t r11 asm("r11") = TDVMCALL_CPUID;
    register uint64_t r12 asm("r12") = 0xb;
    register uint64_t r13 asm("r13") = 0;
    register uint64_t r15 asm("r15");
    uint64_t rax = TDG_VP_VMCALL, rcx = TDVMCALL_EXPOSE_R10_R15;

    asm volatile(".byte 0x66, 0x0f, 0x01, 0xcc"
                 : "+a"(rax), "+c"(rcx), "+r"(r10), "+r"(r11), "+r"(r12),
                   "+r"(r13), "=r"(r15) : : "r14", "memory");
    return rax == TDX_SUCCESS && r10 == TDVMCALL_SUCCESS ?
           r15 & 0xffffffff : UINT64_MAX;
}

static void __attribute__((ms_abi, used)) ap_check_in(uint64_t index)
{
    uint64_t vp_index = ap_vp_index(), apic_id;

    if (vp_index != index || index > SMP_MAX_APS) {
        return;
    }
    apic_id = ap_x2apic_id();
    if (apic_id != UINT64_MAX) {
        ap_check_ins[index] = CHECKED_IN | apic_id << 32 | vp_index;
    }
}

/* Until the AP took the command (APIC_ID invalid); 0 at the deadline */
static int ap_answered(uint64_t deadline)
{
    while (*mailbox32(AP_MAILBOX_APIC_ID) != AP_MAILBOX_INVALID) {
        if (rdtsc() > deadline) {
            return 0;
        }
        asm volatile("pause");
    }
    *mailbox32(AP_MAILBOX_COMMAND) = AP_CMD_NOOP;
    return 1;
}

/* One command to AP @index, as td-shim's ap_assign_work sends it */
static int ap_command(uint32_t index, uint32_t command, uint64_t deadline)
{
    *mailbox32(AP_MAILBOX_COMMAND) = command;
    asm volatile("mfence" ::: "memory");
    *mailbox32(AP_MAILBOX_APIC_ID) = index;
    return ap_answered(deadline);
}

static int ap_run_check_in(uint32_t index, uint64_t deadline)
{
    *mailbox32(AP_MAILBOX_VECTOR) = (uint32_t)(uintptr_t)ap_check_in;
    *mailbox64(AP_MAILBOX_FW_ARGS) = (uintptr_t)ap_stacks[index] +
                                     AP_STACK_SIZE;
    if (!ap_command(index, AP_CMD_ASSIGN_WORK, deadline)) {
        return 0;
    }
    while (!ap_check_ins[index] && rdtsc() < deadline) {
        asm volatile("pause");
    }
    return (uint32_t)ap_check_ins[index] == index;
}

/*
 * td-shim's relocate_mailbox: the AP loop after the new mailbox, every AP
 * sent there; then each woken there by its x2APIC ID, back in the loop
 * once it acknowledged (the command cleared) and checked in
 */
static unsigned ap_relocate(uint32_t aps, uint64_t deadline)
{
    uint32_t i, apic_id;
    unsigned relocated = 0;

    copy(relocated_mailbox + PAGE, ap_loop_start,
         ap_loop_end - ap_loop_start);
    *new_mailbox32(AP_MAILBOX_APIC_ID) = AP_MAILBOX_INVALID;
    *new_mailbox32(AP_MAILBOX_COMMAND) = AP_CMD_NOOP;
    *mailbox32(AP_MAILBOX_VECTOR) =
        (uint32_t)(uintptr_t)(relocated_mailbox + PAGE);
    *mailbox64(AP_MAILBOX_FW_ARGS) = (uintptr_t)relocated_mailbox;
    *mailbox32(AP_MAILBOX_COMMAND) = AP_CMD_WAKEUP;
    asm volatile("mfence" ::: "memory");
    *mailbox32(AP_MAILBOX_APIC_ID) = AP_MAILBOX_BROADCAST;

    for (i = 1; i <= aps; i++) {
        if (!ap_check_ins[i]) {
            continue;
        }
        apic_id = (ap_check_ins[i] >> 32) & 0x7fffffff;
        *new_mailbox32(AP_MAILBOX_VECTOR) =
            (uint32_t)(uintptr_t)ap_relocated_check_in;
        *new_mailbox32(AP_MAILBOX_COMMAND) = AP_CMD_WAKEUP;
        asm volatile("mfence" ::: "memory");
        *new_mailbox32(AP_MAILBOX_APIC_ID) = apic_id;
        while ((*new_mailbox32(AP_MAILBOX_COMMAND) != AP_CMD_NOOP ||
                !ap_relocated[i]) && rdtsc() < deadline) {
            asm volatile("pause");
        }
        relocated += ap_relocated[i];
    }
    return relocated;
}

unsigned smp_bring_up(uint64_t vcpus)
{
    uint64_t hz = tsc_hz() ? tsc_hz() : 1000000000;
    uint64_t deadline = rdtsc() + AP_WAIT_S * hz;
    uint32_t i, aps = vcpus - 1 > SMP_MAX_APS ? SMP_MAX_APS : vcpus - 1;
    unsigned arrived = 0, checked_in = 0, relocated;

    for (i = 1; i <= aps; i++) {
        arrived += ap_command(i, AP_CMD_CHECK, deadline);
    }
    for (i = 1; i <= aps; i++) {
        if (ap_run_check_in(i, deadline)) {
            guest_printf("  AP %u checked in: x2APIC ID %lu\n", i,
                         (ap_check_ins[i] >> 32) & 0x7fffffff);
            checked_in++;
        }
    }
    relocated = ap_relocate(aps, deadline);
    guest_printf("  %u of %u APs arrived at the mailbox, %u checked in, "
                 "%u in the relocated AP loop\n", arrived, aps, checked_in,
                 relocated);
    return relocated;
}
