/*
 * tdx-emu: a TDX module and TD-aware VMM for TCG guests
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_TDX_EMU_TDX_EMU_H
#define HW_TDX_EMU_TDX_EMU_H

#include "hw/qdev-core.h"
#include "exec/memory.h"
#include "cpu.h"
#include "qom/object.h"

#define TYPE_TDX_EMU "tdx-emu"
OBJECT_DECLARE_SIMPLE_TYPE(TdxEmuState, TDX_EMU)

/* Number of GPRs a TDCALL sees, in R_EAX..R_R15 order */
#define TDX_EMU_NR_GPRS 16

/* The mailbox property's value when the mailbox is off */
#define TDX_EMU_MAILBOX_OFF UINT64_MAX

/* SetupEventNotifyInterrupt: where asynchronous completions are signalled */
typedef struct TdxEmuEventNotify {
    uint8_t vector;             /* 0: not registered */
    uint32_t apic_id;
} TdxEmuEventNotify;

typedef struct TdxEmuMailbox {
    MemoryRegion mmio;
    uint64_t regs[TDX_EMU_NR_GPRS];
} TdxEmuMailbox;

struct TdxEmuState {
    DeviceState parent_obj;

    /* properties */
    uint32_t gpaw;
    uint64_t attributes;
    uint64_t mailbox_gpa;

    /* state */
    uint64_t tdcall_count;
    TdxEmuEventNotify event_notify;
    TdxEmuMailbox mailbox;
};

/* tdcall.c: execute one TDCALL for @cpu on the register file @regs */
void tdx_emu_tdcall(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);
bool tdx_emu_tdcall_leaf_exists(uint64_t leaf);

/* vmcall.c: TDG.VP.VMCALL (TDCALL leaf 0) */
uint64_t tdx_emu_vmcall(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);

/* interrupt.c: event notification and interrupt injection */
uint64_t tdx_emu_vmcall_setup_event_notify(TdxEmuState *s, X86CPU *cpu,
                                           uint64_t *vmm);
void tdx_emu_inject_interrupt(TdxEmuState *s, uint32_t apic_id,
                              uint8_t vector);
void tdx_emu_notify_event(TdxEmuState *s);

/* mailbox.c: the qtest register interface */
void tdx_emu_mailbox_realize(TdxEmuState *s);
void tdx_emu_mailbox_reset(TdxEmuState *s);

#endif
