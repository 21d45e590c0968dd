/*
 * tdx-emu: a TDX module and TD-aware VMM for TCG guests
 *
 * "-device tdx-emu" makes the TCG vCPUs execute TDCALL and answers every
 * leaf the way the TDX module (and, for TDG.VP.VMCALL, the VMM) would.
 * This file holds the QOM device: properties, the checks that the machine
 * can host a TD, and the hook into the CPU's TDCALL instruction.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qemu/module.h"
#include "qemu/units.h"
#include "hw/qdev-properties.h"
#include "hw/boards.h"
#include "hw/i386/x86.h"
#include "system/qtest.h"
#include "system/reset.h"
#include "system/tcg.h"
#include "target/i386/tdcall.h"
#include "tdx-emu.h"
#include "hw/tdx-emu/tdx-module/tdx-module.h"
#include "hw/tdx-emu/vmm/vmm.h"
#include "tdx-abi.h"
#include "hw/tdx-emu/vmm/quote/quote.h"

TdxEmuState *tdx_emu_find(void)
{
    Object *obj = object_resolve_path_type("", TYPE_TDX_EMU, NULL);

    return obj ? TDX_EMU(obj) : NULL;
}

/*
 * The vCPU's TDCALL, the hot path: no QOM casts (the handler is registered
 * with @s); a catchpoint stops the vCPU afterwards for gdb
 */
static X86TdcallAction tdx_emu_handle_tdcall(void *opaque, X86CPU *cpu,
                                             uint64_t *regs)
{
    TdxEmuState *s = opaque;
    uint64_t rax = regs[R_EAX], r11 = regs[R_R11];
    X86TdcallAction action;

    if (likely(!tdx_emu_catch_armed(s))) {
        return tdx_emu_tdcall(s, cpu, regs);
    }
    action = tdx_emu_tdcall(s, cpu, regs);
    return tdx_emu_tdcall_completes(action) &&
           tdx_emu_catch_hit(s, cpu, rax, r11) ? X86_TDCALL_DEBUG : action;
}

static bool tdx_emu_check_machine(TdxEmuState *s, Error **errp)
{
    X86CPU *cpu = X86_CPU(first_cpu);

    if (!object_dynamic_cast(qdev_get_machine(), TYPE_X86_MACHINE)) {
        error_setg(errp, "%s needs an x86 PC machine (-M q35 or -M pc)",
                   TYPE_TDX_EMU);
        return false;
    }
    if (!tcg_enabled() && !qtest_enabled()) {
        error_setg(errp, "%s needs the TCG accelerator", TYPE_TDX_EMU);
        error_append_hint(errp, "Use -accel tcg: the device emulates the "
                          "TDX module, which KVM TDX guests get from the "
                          "CPU.\n");
        return false;
    }
    if (!(cpu->env.features[FEAT_8000_0001_EDX] & CPUID_EXT2_LM)) {
        error_setg(errp, "%s needs an x86_64 CPU model with long mode",
                   TYPE_TDX_EMU);
        error_append_hint(errp, "A TD runs in 64-bit mode; use e.g. "
                          "-cpu max,phys-bits=%u.\n", s->gpaw);
        return false;
    }
    if (s->gpaw != TDX_GPAW_48 && s->gpaw != TDX_GPAW_52) {
        error_setg(errp, "%s: gpaw=%u is not a TD guest physical address "
                   "width", TYPE_TDX_EMU, s->gpaw);
        error_append_hint(errp, "A TD's GPAW is 48 or 52.\n");
        return false;
    }
    if (cpu->phys_bits < s->gpaw) {
        error_setg(errp, "%s: gpaw=%u needs at least %u physical address "
                   "bits, but the CPU has phys-bits=%u", TYPE_TDX_EMU,
                   s->gpaw, s->gpaw, cpu->phys_bits);
        error_append_hint(errp, "Add phys-bits=%u to the CPU model, e.g. "
                          "-cpu max,phys-bits=%u.\n", s->gpaw, s->gpaw);
        return false;
    }
    return true;
}

static bool tdx_emu_check_mailbox(TdxEmuState *s, Error **errp)
{
    X86CPU *cpu = X86_CPU(first_cpu);

    if (s->mailbox_gpa == TDX_EMU_MAILBOX_OFF) {
        return true;
    }
    if (!QEMU_IS_ALIGNED(s->mailbox_gpa, 4 * KiB) ||
        s->mailbox_gpa >> cpu->phys_bits) {
        error_setg(errp, "%s: mailbox=0x%" PRIx64 " must be a page-aligned "
                   "guest physical address below 2^%u", TYPE_TDX_EMU,
                   s->mailbox_gpa, cpu->phys_bits);
        return false;
    }
    return true;
}

static bool tdx_emu_check_versions(TdxEmuState *s, Error **errp)
{
    if (s->sys.min_export_version > s->sys.max_export_version ||
        s->sys.min_import_version > s->sys.max_import_version) {
        error_setg(errp, "%s: a migration version range has min > max",
                   TYPE_TDX_EMU);
        return false;
    }
    return true;
}

static void tdx_emu_realize(DeviceState *dev, Error **errp)
{
    TdxEmuState *s = TDX_EMU(dev);

    if (x86_tdcall_has_handler()) {
        error_setg(errp, "at most one %s device is permitted", TYPE_TDX_EMU);
        return;
    }
    if (!tdx_emu_check_machine(s, errp) || !tdx_emu_check_mailbox(s, errp) ||
        !tdx_emu_check_versions(s, errp) || !tdx_emu_memory_check(s, errp) ||
        !tdx_emu_cpu_realize(s, errp) ||
        !tdx_emu_tdvf_realize(s, errp) ||
        !tdx_emu_measurements_realize(s, errp)) {
        return;
    }
    s->nr_vcpus = MACHINE(qdev_get_machine())->smp.cpus;
    s->max_vcpus = MACHINE(qdev_get_machine())->smp.max_cpus;
    tdx_emu_tdcall_realize(s);
    tdx_emu_payload_realize(s);
    tdx_emu_legacy_realize(s);
    tdx_emu_virtio_realize(s);
    tdx_emu_memory_realize(s);
    tdx_emu_logarea_realize(s);
    if (s->quote) {
        s->quote->report_genuine = tdx_emu_report_genuine;
        s->quote->report_opaque = s;
    }
    if (s->mailbox_gpa != TDX_EMU_MAILBOX_OFF) {
        tdx_emu_mailbox_realize(s);
    }
    /* No bus resets this device: register with the system reset. */
    qemu_register_resettable(OBJECT(s));
    tdx_emu_ve_realize(s);
    x86_tdcall_set_handler(tdx_emu_handle_tdcall, s);
}

static void tdx_emu_reset_hold(Object *obj, ResetType type)
{
    TdxEmuState *s = TDX_EMU(obj);

    memset(&s->event_notify, 0, sizeof(s->event_notify));
    memset(&s->wfr, 0, sizeof(s->wfr));
    tdx_emu_service_reset(s);
    s->quote_generation++;
    tdx_emu_requests_cancel(s);
    tdx_emu_logarea_reset(s);
    tdx_emu_vm_fields_reset(s);
    tdx_emu_measurements_reset(s);
    tdx_emu_memory_reset(s);
    tdx_emu_ve_reset(s);
    tdx_emu_mailbox_reset(s);
    tdx_emu_payload_reset(s);
    tdx_emu_liveness_reset(s);
    tdx_emu_crash_reset(s);
}

/*
 * After every other device and the vCPUs have been reset (the hold phase,
 * where the loader also writes the firmware image back): the TD starts.
 */
static void tdx_emu_reset_exit(Object *obj, ResetType type)
{
    TdxEmuState *s = TDX_EMU(obj);

    tdx_emu_tdvf_reset(s);
    tdx_emu_td_entry_reset(s);
}

static void tdx_emu_instance_init(Object *obj)
{
    QTAILQ_INIT(&TDX_EMU(obj)->targets);
    QTAILQ_INIT(&TDX_EMU(obj)->requests);
}

/*
 * The migration versions default to the TDX module 1.5's (all 0, TDX module
 * ABI), which any two default devices agree on. XFAM 0x3 (x87, SSE) is
 * what a real MigTD reported. ATTRIBUTES default to SEPT_VE_DISABLE, as
 * QEMU's tdx-guest object (sept-ve-disable=on) and so KVM TDs have them;
 * DCAP appraisal policies reject a TD quote without that bit.
 */
static const Property tdx_emu_properties[] = {
    DEFINE_PROP_UINT32("gpaw", TdxEmuState, gpaw, TDX_GPAW_48),
    DEFINE_PROP_UINT64("attributes", TdxEmuState, attributes,
                       TDX_TD_ATTR_SEPT_VE_DISABLE),
    DEFINE_PROP_UINT64("xfam", TdxEmuState, xfam, 0x3),
    DEFINE_PROP_STRING("mrconfigid", TdxEmuState, mrconfigid_hex),
    DEFINE_PROP_STRING("mrowner", TdxEmuState, mrowner_hex),
    DEFINE_PROP_STRING("mrownerconfig", TdxEmuState, mrownerconfig_hex),
    DEFINE_PROP_UINT16("min-export-version", TdxEmuState,
                       sys.min_export_version, 0),
    DEFINE_PROP_UINT16("max-export-version", TdxEmuState,
                       sys.max_export_version, 0),
    DEFINE_PROP_UINT16("min-import-version", TdxEmuState,
                       sys.min_import_version, 0),
    DEFINE_PROP_UINT16("max-import-version", TdxEmuState,
                       sys.max_import_version, 0),
    DEFINE_PROP_BOOL("expose-keys", TdxEmuState, expose_keys, false),
    DEFINE_PROP_BOOL("crash-msrs", TdxEmuState, crash_msrs, false),
    DEFINE_PROP_BOOL("no-rbp-mod", TdxEmuState, no_rbp_mod, true),
    DEFINE_PROP_BOOL("ve", TdxEmuState, ve, true),
    DEFINE_PROP_UINT64("map-gpa-max", TdxEmuState, map_gpa_max, 0),
    DEFINE_PROP_UINT32("stream-drain-ms", TdxEmuState, stream_drain_ms,
                       TDX_EMU_STREAM_DRAIN_MS),
    DEFINE_PROP_UINT32("logarea-poll-ms", TdxEmuState, logarea_poll_ms,
                       TDX_EMU_LOGAREA_POLL_MS),
    DEFINE_PROP_LINK("quote", TdxEmuState, quote, TYPE_TDX_QUOTE_BACKEND,
                     TdxQuoteBackend *),
    DEFINE_PROP_UINT64("mailbox", TdxEmuState, mailbox_gpa,
                       TDX_EMU_MAILBOX_OFF),
};

static const struct {
    const char *name, *description;
} tdx_emu_property_help[] = {
    { "gpaw", "guest physical address width of the TD: 48 or 52" },
    { "attributes", "TD ATTRIBUTES (TDG.VP.INFO, TDREPORT); default "
      "SEPT_VE_DISABLE (bit 28)" },
    { "xfam", "TD XFAM (TDREPORT)" },
    { "mrconfigid", "MRCONFIGID, 96 hex digits" },
    { "mrowner", "MROWNER, 96 hex digits" },
    { "mrownerconfig", "MROWNERCONFIG, 96 hex digits" },
    { "min-export-version", "TDX module MIN_EXPORT_VERSION (TDG.SYS.RD)" },
    { "max-export-version", "TDX module MAX_EXPORT_VERSION (TDG.SYS.RD)" },
    { "min-import-version", "TDX module MIN_IMPORT_VERSION (TDG.SYS.RD)" },
    { "max-import-version", "TDX module MAX_IMPORT_VERSION (TDG.SYS.RD)" },
    { "expose-keys", "show migration keys in query-tdx-emu (they are "
      "secrets)" },
    { "crash-msrs", "offer the Hyper-V guest crash MSRs MigTD reports a "
      "panic through (docs/debugging.md)" },
    { "no-rbp-mod", "the TD's CONFIG_FLAGS.NO_RBP_MOD, as KVM sets it: "
      "TDG.VP.VMCALL may not expose RBP (docs/tdx-module.md)" },
    { "stream-drain-ms", "how long a migration stream whose request ended "
      "may take to write out what the MigTD sent (docs/migration.md)" },
    { "logarea-poll-ms", "how often the MigTD's log pages are read once "
      "it enabled its log area (docs/debugging.md); 0: only at "
      "query-tdx-emu-log-area" },
    { "mailbox", "GPA of the test mailbox (docs/mailbox.md); off if unset" },
    { "quote", "id of the tdx-quote-* object that answers GetQuote" },
};

static void tdx_emu_describe_properties(ObjectClass *klass)
{
    size_t i;

    for (i = 0; i < ARRAY_SIZE(tdx_emu_property_help); i++) {
        object_class_property_set_description(
            klass, tdx_emu_property_help[i].name,
            tdx_emu_property_help[i].description);
    }
}

static void tdx_emu_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    ResettableClass *rc = RESETTABLE_CLASS(klass);

    dc->desc = "TDX module and TD-aware VMM for TCG guests";
    dc->realize = tdx_emu_realize;
    dc->hotpluggable = false;
    device_class_set_props(dc, tdx_emu_properties);
    tdx_emu_describe_properties(klass);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    rc->phases.hold = tdx_emu_reset_hold;
    rc->phases.exit = tdx_emu_reset_exit;
}

static const TypeInfo tdx_emu_types[] = {
    {
        .name           = TYPE_TDX_EMU,
        .parent         = TYPE_DEVICE,
        .instance_size  = sizeof(TdxEmuState),
        .instance_init  = tdx_emu_instance_init,
        .class_init     = tdx_emu_class_init,
    },
};

DEFINE_TYPES(tdx_emu_types)
