/*
 * tdx-emu: the test mailbox, a register interface that executes TDCALLs
 *
 * Off unless the "mailbox" property is set. The layout is a public test
 * interface; keep it stable (docs/mailbox.md):
 *   0x00-0x7f  the 16 GPRs, 8 bytes each, RAX RCX RDX RBX RSP RBP RSI RDI
 *              R8-R15
 *   0x80       write a vCPU index: run one TDCALL as that vCPU (CPL 0,
 *              64-bit mode) on the registers above, which take its outputs
 *   0x88       read: the number of TDCALLs executed so far
 *   0x90       write: raise the event-notify interrupt the TD registered
 *              with SetupEventNotifyInterrupt (as a completion would)
 *   0x98       read: the registered event-notify vector (0: none)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "exec/address-spaces.h"
#include "hw/core/cpu.h"
#include "tdx-emu.h"
#include "hw/tdx-emu/tdx-module/tdx-module.h"
#include "hw/tdx-emu/vmm/vmm.h"
#include "trace.h"

#define MAILBOX_REG_GPRS        0x00
#define MAILBOX_REG_DOORBELL    0x80
#define MAILBOX_REG_COUNT       0x88
#define MAILBOX_REG_NOTIFY      0x90
#define MAILBOX_REG_NOTIFY_VEC  0x98
#define MAILBOX_SIZE            0x1000

/* Registers are 8 bytes; 4-byte accesses reach either half of one. */
static uint64_t mailbox_reg_read(TdxEmuState *s, hwaddr reg)
{
    if (reg < MAILBOX_REG_DOORBELL) {
        return s->mailbox.regs[reg / 8];
    }
    switch (reg) {
    case MAILBOX_REG_COUNT:
        return tdx_emu_tdcall_total(s);
    case MAILBOX_REG_NOTIFY_VEC:
        return s->event_notify.vector;
    default:
        return 0;
    }
}

static uint64_t mailbox_read(void *opaque, hwaddr addr, unsigned size)
{
    TdxEmuState *s = opaque;
    unsigned shift = (addr & 7) * 8;
    uint64_t value = mailbox_reg_read(s, addr & ~7ULL) >> shift;

    return size == 8 ? value : extract64(value, 0, size * 8);
}

static void mailbox_queued_work_done(CPUState *cs, run_on_cpu_data data)
{
}

static void mailbox_ring(TdxEmuState *s, uint64_t cpu_index)
{
    CPUState *cs = cpu_index < INT_MAX ? qemu_get_cpu(cpu_index) : NULL;
    CPUState *saved;

    trace_tdx_emu_mailbox_doorbell(cpu_index);
    if (!cs) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tdx-emu: mailbox: no vCPU %" PRIu64 "\n", cpu_index);
        return;
    }
    /*
     * Once that vCPU has run the work queued for it, which includes its TD
     * entry state after a reset (td-entry.c): work runs in order
     */
    run_on_cpu(cs, mailbox_queued_work_done, RUN_ON_CPU_NULL);
    /* As that vCPU: its APIC is the "current" one for x2APIC MSR calls */
    saved = current_cpu;
    current_cpu = cs;
    tdx_emu_tdcall(s, X86_CPU(cs), s->mailbox.regs);
    current_cpu = saved;
}

static void mailbox_write(void *opaque, hwaddr addr, uint64_t value,
                          unsigned size)
{
    TdxEmuState *s = opaque;
    hwaddr reg = addr & ~7ULL;
    unsigned shift = (addr & 7) * 8;

    if (reg < MAILBOX_REG_DOORBELL) {
        uint64_t *gpr = &s->mailbox.regs[reg / 8];

        *gpr = deposit64(*gpr, shift, size * 8, value);
    } else if (addr == MAILBOX_REG_DOORBELL) {
        mailbox_ring(s, value);
    } else if (addr == MAILBOX_REG_NOTIFY) {
        tdx_emu_notify_event(s);
    } else {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tdx-emu: mailbox: write to offset 0x%" HWADDR_PRIx
                      " ignored\n", addr);
    }
}

static const MemoryRegionOps mailbox_ops = {
    .read = mailbox_read,
    .write = mailbox_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 8,
        .unaligned = false,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
};

void tdx_emu_mailbox_realize(TdxEmuState *s)
{
    memory_region_init_io(&s->mailbox.mmio, OBJECT(s), &mailbox_ops, s,
                          "tdx-emu-mailbox", MAILBOX_SIZE);
    memory_region_add_subregion_overlap(get_system_memory(), s->mailbox_gpa,
                                        &s->mailbox.mmio, 1);
}

void tdx_emu_mailbox_reset(TdxEmuState *s)
{
    memset(s->mailbox.regs, 0, sizeof(s->mailbox.regs));
}
