/*
 * tdx-emu: the TD's virtio devices
 *
 * A TD's devices cannot read its private memory, so QEMU makes every
 * virtio device of a confidential guest modern-only and offering
 * VIRTIO_F_ACCESS_PLATFORM (hw/core/machine.c machine_run_board_init): its
 * DMA then goes through the PCI bus-master address space, where the TD's
 * shared pages sit at their GPA without the shared bit. tdx-emu is no
 * confidential-guest-support object, so it does the same itself: virtio
 * devices created after it get disable-legacy=on and iommu_platform=on,
 * and once the machine is built, a virtio PCI device that still has legacy
 * virtio or no ACCESS_PLATFORM (created before tdx-emu, or set so) stops
 * QEMU with how to fix it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qapi/error.h"
#include "qom/object.h"
#include "system/system.h"
#include "hw/virtio/virtio.h"
#include "hw/virtio/virtio-pci.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "vmm.h"

static bool virtio_td_ok(Object *proxy)
{
    g_autofree char *legacy = object_property_get_str(proxy,
                                                      "disable-legacy", NULL);
    Object *vdev = object_resolve_path_component(proxy, "virtio-backend");

    return !g_strcmp0(legacy, "on") && vdev &&
           object_property_get_bool(vdev, "iommu_platform", NULL);
}

static int virtio_td_check(Object *obj, void *opaque)
{
    g_autofree char *path = NULL;

    if (!object_dynamic_cast(obj, TYPE_VIRTIO_PCI) || virtio_td_ok(obj)) {
        return 0;
    }
    path = object_get_canonical_path(obj);
    error_report("%s: %s (%s) must be modern-only and offer ACCESS_PLATFORM, "
                 "as a TD's virtio devices are: give it "
                 "disable-legacy=on,iommu_platform=on, or create it after "
                 "-device %s", TYPE_TDX_EMU, object_get_typename(obj), path,
                 TYPE_TDX_EMU);
    return 1;
}

static void virtio_td_machine_done(Notifier *n, void *unused)
{
    if (object_child_foreach_recursive(object_get_root(), virtio_td_check,
                                       NULL)) {
        exit(1);
    }
}

static Notifier virtio_td_notifier = { .notify = virtio_td_machine_done };

void tdx_emu_virtio_realize(TdxEmuState *s)
{
    object_register_sugar_prop(TYPE_VIRTIO_PCI, "disable-legacy", "on", true);
    object_register_sugar_prop(TYPE_VIRTIO_DEVICE, "iommu_platform", "on",
                               false);
    qemu_add_machine_init_done_notifier(&virtio_td_notifier);
}
