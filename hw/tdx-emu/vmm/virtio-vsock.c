/*
 * tdx-emu: tdx-emu-vsock-pci, a userspace virtio-vsock device (virtio 1.2
 * section 5.10) for MigTD's virtio-vsock build (MigTD
 * src/devices/vsock/src/transport/virtio_pci.rs)
 *
 * QEMU's own vsock devices are vhost ones, which need the host kernel's
 * vhost_vsock. This one hands the guest's packets to vsock.c, the host
 * end of the migration stream, and fills the guest's receive buffers
 * from it. Modern-only virtio-pci (PCI 1af4:1053); queues receive (0),
 * transmit (1), event (2, never used); the configuration is the guest's
 * CID (property guest-cid). As Linux's vhost-vsock (drivers/vhost/vsock.c),
 * it drops a packet whose source is not the guest's CID, and a reset of
 * the device closes every connection. It needs -device tdx-emu before it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/iov.h"
#include "qemu/log.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "hw/qdev-properties.h"
#include "hw/virtio/virtio.h"
#include "hw/virtio/virtio-pci.h"
#include "standard-headers/linux/virtio_ids.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "vmm.h"

#define TYPE_TDX_EMU_VSOCK      "tdx-emu-vsock"
#define TYPE_TDX_EMU_VSOCK_PCI  "tdx-emu-vsock-pci-base"
OBJECT_DECLARE_SIMPLE_TYPE(TdxEmuVsockDev, TDX_EMU_VSOCK)

#define QUEUE_SIZE              128
#define PKT_MAX                 (64 * KiB)  /* MigTD's MTU, header included */

struct TdxEmuVsockDev {
    VirtIODevice parent_obj;
    uint64_t guest_cid;
    TdxEmuState *tdx;
    VirtQueue *rx, *tx, *event;
};

/* Packets for the guest into its receive buffers while there are both */
static void vvsock_fill_rx(void *opaque)
{
    TdxEmuVsockDev *d = opaque;
    VirtIODevice *vdev = VIRTIO_DEVICE(d);
    g_autofree uint8_t *pkt = NULL;
    VirtQueueElement *elem;
    uint32_t n, size;
    bool pushed = false;

    if (!virtio_queue_ready(d->rx) ||
        !(vdev->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
        return;
    }
    pkt = g_malloc(PKT_MAX);
    while ((elem = virtqueue_pop(d->rx, sizeof(VirtQueueElement)))) {
        size = MIN(iov_size(elem->in_sg, elem->in_num), PKT_MAX);
        n = size > TDX_EMU_VSOCK_HDR ?
            tdx_emu_vsock_to_guest(d->tdx, pkt, size) : 0;
        if (!n && size > TDX_EMU_VSOCK_HDR) {
            virtqueue_unpop(d->rx, elem, 0);
            g_free(elem);
            break;
        }
        if (!n) {
            qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu-vsock: receive buffer "
                          "of %u bytes, smaller than a packet\n", size);
        }
        iov_from_buf(elem->in_sg, elem->in_num, 0, pkt, n);
        virtqueue_push(d->rx, elem, n);
        g_free(elem);
        pushed = true;
    }
    if (pushed) {
        virtio_notify(vdev, d->rx);
    }
}

static void vvsock_rx(VirtIODevice *vdev, VirtQueue *vq)
{
    vvsock_fill_rx(TDX_EMU_VSOCK(vdev));
}

/* The guest's packets, one chain each (header and data), to vsock.c */
static void vvsock_tx(VirtIODevice *vdev, VirtQueue *vq)
{
    TdxEmuVsockDev *d = TDX_EMU_VSOCK(vdev);
    g_autofree uint8_t *pkt = g_malloc(PKT_MAX);
    VirtQueueElement *elem;
    size_t size;

    while ((elem = virtqueue_pop(vq, sizeof(VirtQueueElement)))) {
        size = iov_size(elem->out_sg, elem->out_num);
        if (size > PKT_MAX) {
            qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu-vsock: packet of %zu "
                          "bytes dropped (at most %u)\n", size, PKT_MAX);
        } else if (iov_to_buf(elem->out_sg, elem->out_num, 0, pkt, size) >=
                   sizeof(uint64_t) && ldq_le_p(pkt) != d->guest_cid) {
            qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu-vsock: packet from CID "
                          "%" PRIu64 " dropped (the guest's is %" PRIu64
                          ")\n", ldq_le_p(pkt), d->guest_cid);
        } else {
            tdx_emu_vsock_from_guest(d->tdx, pkt, size);
        }
        virtqueue_push(vq, elem, 0);
        g_free(elem);
    }
    virtio_notify(vdev, vq);
}

static void vvsock_event(VirtIODevice *vdev, VirtQueue *vq)
{
}

static void vvsock_get_config(VirtIODevice *vdev, uint8_t *config)
{
    stq_le_p(config, TDX_EMU_VSOCK(vdev)->guest_cid);
}

static uint64_t vvsock_get_features(VirtIODevice *vdev, uint64_t features,
                                    Error **errp)
{
    return features;
}

static void vvsock_set_status(VirtIODevice *vdev, uint8_t status)
{
    if (status & VIRTIO_CONFIG_S_DRIVER_OK) {
        vvsock_fill_rx(TDX_EMU_VSOCK(vdev));
    }
}

static void vvsock_reset(VirtIODevice *vdev)
{
    tdx_emu_vsock_reset(TDX_EMU_VSOCK(vdev)->tdx);
}

static void vvsock_realize(DeviceState *dev, Error **errp)
{
    TdxEmuVsockDev *d = TDX_EMU_VSOCK(dev);
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);

    d->tdx = tdx_emu_find();
    if (!d->tdx) {
        error_setg(errp, "%s needs -device %s before it", TYPE_TDX_EMU_VSOCK,
                   TYPE_TDX_EMU);
        return;
    }
    if (d->guest_cid <= 2 || d->guest_cid >= UINT32_MAX) {
        error_setg(errp, "guest-cid %" PRIu64 " is reserved (3 and above, "
                   "below 2^32 - 1)", d->guest_cid);
        return;
    }
    virtio_init(vdev, VIRTIO_ID_VSOCK, sizeof(uint64_t));
    d->rx = virtio_add_queue(vdev, QUEUE_SIZE, vvsock_rx);
    d->tx = virtio_add_queue(vdev, QUEUE_SIZE, vvsock_tx);
    d->event = virtio_add_queue(vdev, QUEUE_SIZE, vvsock_event);
    tdx_emu_vsock_set_kick(d->tdx, vvsock_fill_rx, d);
}

static void vvsock_unrealize(DeviceState *dev)
{
    TdxEmuVsockDev *d = TDX_EMU_VSOCK(dev);
    VirtIODevice *vdev = VIRTIO_DEVICE(dev);

    tdx_emu_vsock_set_kick(d->tdx, NULL, NULL);
    virtio_delete_queue(d->rx);
    virtio_delete_queue(d->tx);
    virtio_delete_queue(d->event);
    virtio_cleanup(vdev);
}

static const Property vvsock_properties[] = {
    DEFINE_PROP_UINT64("guest-cid", TdxEmuVsockDev, guest_cid, 3),
};

static void vvsock_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioDeviceClass *vdc = VIRTIO_DEVICE_CLASS(klass);

    device_class_set_props(dc, vvsock_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    dc->user_creatable = false;         /* through tdx-emu-vsock-pci */
    vdc->realize = vvsock_realize;
    vdc->unrealize = vvsock_unrealize;
    vdc->get_config = vvsock_get_config;
    vdc->get_features = vvsock_get_features;
    vdc->set_status = vvsock_set_status;
    vdc->reset = vvsock_reset;
}

static const TypeInfo vvsock_info = {
    .name = TYPE_TDX_EMU_VSOCK,
    .parent = TYPE_VIRTIO_DEVICE,
    .instance_size = sizeof(TdxEmuVsockDev),
    .class_init = vvsock_class_init,
};

/* The PCI proxy */
typedef struct TdxEmuVsockPCI {
    VirtIOPCIProxy parent_obj;
    TdxEmuVsockDev vdev;
} TdxEmuVsockPCI;

static void vvsock_pci_realize(VirtIOPCIProxy *proxy, Error **errp)
{
    TdxEmuVsockPCI *p = (TdxEmuVsockPCI *)proxy;

    qdev_realize(DEVICE(&p->vdev), BUS(&proxy->bus), errp);
}

static const Property vvsock_pci_properties[] = {
    /* MSI-X vectors: receive, transmit, configuration */
    DEFINE_PROP_UINT32("vectors", VirtIOPCIProxy, nvectors, 3),
};

static void vvsock_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    VirtioPCIClass *k = VIRTIO_PCI_CLASS(klass);
    PCIDeviceClass *pc = PCI_DEVICE_CLASS(klass);

    k->realize = vvsock_pci_realize;
    device_class_set_props(dc, vvsock_pci_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
    pc->vendor_id = PCI_VENDOR_ID_REDHAT_QUMRANET;
    pc->device_id = 0x1040 + VIRTIO_ID_VSOCK;  /* virtio 1.2 section 4.1.2 */
    pc->revision = 1;
    pc->class_id = PCI_CLASS_COMMUNICATION_OTHER;
}

static void vvsock_pci_instance_init(Object *obj)
{
    TdxEmuVsockPCI *p = (TdxEmuVsockPCI *)obj;

    virtio_instance_init_common(obj, &p->vdev, sizeof(p->vdev),
                                TYPE_TDX_EMU_VSOCK);
}

static const VirtioPCIDeviceTypeInfo vvsock_pci_info = {
    .base_name = TYPE_TDX_EMU_VSOCK_PCI,
    .generic_name = "tdx-emu-vsock-pci",  /* tdx_emu_virtio_realize: modern */
    .instance_size = sizeof(TdxEmuVsockPCI),
    .instance_init = vvsock_pci_instance_init,
    .class_init = vvsock_pci_class_init,
};

static void vvsock_register(void)
{
    type_register_static(&vvsock_info);
    virtio_pci_types_register(&vvsock_pci_info);
}

type_init(vvsock_register)
