/*
 * tdx-emu: the legacy PC platform as a TD has it
 *
 * q35 gives a plain VM things a TD does not have, or has differently:
 * - the -bios window below 4 GiB is ROM; a TD's firmware window is RAM it
 *   writes (its TempMem lives there);
 * - a copy of the top of the BIOS at 0xE0000 (isa-bios), the read-only
 *   option-ROM region at 0xC0000 (pc.rom), the VGA/SMRAM window at 0xA0000
 *   and the PAM shadow: in a TD all of 0xA0000-0xFFFFF is RAM it accepts;
 * - a PIT that fires as often as it is told; KVM limits periodic timers
 *   to 200 us (min_timer_period_us), so a TD cannot make the VMM's main
 *   loop spin on it.
 * Done at realize, before the machine is complete, so the loader keeps
 * the image and writes it back at every reset.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "exec/address-spaces.h"
#include "hw/boards.h"
#include "hw/i386/x86.h"
#include "hw/timer/i8254.h"
#include "hw/timer/i8254_internal.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "vmm.h"

#define LEGACY_WINDOW_START 0xa0000
#define LEGACY_WINDOW_END   0x100000
#define LEGACY_RAM_PRIORITY 10          /* above SMRAM, PAM and pc.rom */
#define PIT_FREQ_HZ         1193182
#define PIT_MIN_PERIOD_US   200         /* KVM's min_timer_period_us */

/*
 * The firmware window is RAM; the isa-bios alias goes, so that the TD
 * zeroing what it accepts below 1 MiB cannot reach the firmware.
 */
static void firmware_writable(X86MachineState *x86ms)
{
    if (memory_region_size(&x86ms->bios)) {
        memory_region_set_readonly(&x86ms->bios, false);
    }
    if (memory_region_size(&x86ms->isa_bios)) {
        memory_region_set_enabled(&x86ms->isa_bios, false);
    }
}

/* The machine's RAM over 0xA0000-0xFFFFF, as in QEMU's TDX machine */
static void legacy_window_ram(TdxEmuState *s, X86MachineState *x86ms)
{
    MachineState *ms = MACHINE(x86ms);

    if (!ms->ram || x86ms->below_4g_mem_size < LEGACY_WINDOW_END) {
        return;
    }
    memory_region_init_alias(&s->mem.legacy_ram, OBJECT(s),
                             "tdx-emu-legacy-ram", ms->ram,
                             LEGACY_WINDOW_START,
                             LEGACY_WINDOW_END - LEGACY_WINDOW_START);
    memory_region_add_subregion_overlap(get_system_memory(),
                                        LEGACY_WINDOW_START,
                                        &s->mem.legacy_ram,
                                        LEGACY_RAM_PRIORITY);
}

/* Periodic PIT timers of at least 200 us (qemu-patches/0007) */
static void pit_min_period(void)
{
    Object *obj = object_resolve_path_type("", TYPE_PIT_COMMON, NULL);
    PITCommonState *pit = obj ? PIT_COMMON(obj) : NULL;

    if (pit) {
        pit->channels[0].min_periodic_count =
            DIV_ROUND_UP((uint64_t)PIT_FREQ_HZ * PIT_MIN_PERIOD_US, 1000000);
    }
}

void tdx_emu_legacy_realize(TdxEmuState *s)
{
    X86MachineState *x86ms = X86_MACHINE(qdev_get_machine());

    firmware_writable(x86ms);
    legacy_window_ram(s, x86ms);
    pit_min_period();
}
