/*
 * Guest stub: the virtio-vsock transport, as MigTD's default build drives
 * the device (MigTD src/devices/vsock/src/transport/virtio_pci.rs,
 * src/migtd/src/driver/vsock.rs; virtio 1.2 section 5.10):
 *
 * - at boot: the device (PCI 1af4:1053, virtio.c), queues receive (0),
 *   transmit (1) and event (2), MSI-X vectors 0x52 for receive and 0x53
 *   for transmit (0x54, the configuration vector, has a handler and no
 *   entry), DRIVER_OK, then 8 receive chains of a 44-byte header buffer
 *   and a 4 KiB data buffer;
 * - the local CID is the device's guest_cid; a packet goes out as a chain
 *   of its header and its data, and comes in as one receive chain; a
 *   chain that is not two buffers is refused;
 * - per start-migration: a vsock stream (vsock.c) to the CID and port of
 *   the request's STREAM_SOCKET_INFO.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cpu.h"
#include "tdx.h"
#include "bytes.h"
#include "shared.h"
#include "transport.h"
#include "virtio.h"
#include "vsock.h"

#define VSOCK_DEVICE_ID     0x1053
#define QUEUE_RX            0
#define QUEUE_TX            1
#define QUEUE_EVENT         2
#define NR_QUEUES           3
#define RX_CHAINS           (VQ_SIZE / 2)

static struct virtio_dev dev;
static struct virtq vq[NR_QUEUES];
static int rx_posted;
static int rx_repost;                   /* handed out by recv(), to re-post */

static int fill_rx(void)
{
    const struct vbuf chain[2] = { { 0, VSOCK_HDR }, { 0, PAGE } };

    while (rx_posted < RX_CHAINS) {
        if (!virtq_add(&vq[QUEUE_RX], chain, 2)) {
            return 0;
        }
        rx_posted++;
    }
    virtq_kick(&dev, &vq[QUEUE_RX]);
    return 1;
}

static int vv_send(const uint8_t *hdr, const uint8_t *data, uint32_t len)
{
    const struct vbuf chain[2] = { { hdr, VSOCK_HDR }, { data, len } };
    struct virtq *q = &vq[QUEUE_TX];
    uint16_t d[2];
    uint32_t used;

    if (!virtq_add(q, chain, len ? 2 : 1)) {
        return RESULT_OUT_OF_RESOURCE;
    }
    virtq_kick(&dev, q);
    if (!virtq_wait(q, EXCHANGE_TIMEOUT_MS) || virtq_pop(q, d, 2, &used) < 1) {
        return RESULT_NETWORK_ERROR;
    }
    return RESULT_SUCCESS;
}

static int vv_recv(uint8_t *hdr, const uint8_t **data, uint32_t *len,
                   uint64_t timeout_ms)
{
    struct virtq *q = &vq[QUEUE_RX];
    uint16_t d[2];
    uint32_t used, data_len;
    int n;

    if (rx_repost && !fill_rx()) {
        return RESULT_OUT_OF_RESOURCE;
    }
    rx_repost = 0;
    if (!virtq_wait(q, timeout_ms)) {
        guest_printf("migtd-stub: the peer is silent\n");
        return RESULT_NETWORK_ERROR;
    }
    n = virtq_pop(q, d, 2, &used);
    if (n < 0) {
        return RESULT_INVALID_PARAMETER;
    }
    rx_posted--;
    rx_repost = 1;
    if (n != 2 || used < VSOCK_HDR) {
        return RESULT_INVALID_PARAMETER;
    }
    copy(hdr, virtq_page(q, d[0]), VSOCK_HDR);
    data_len = ld64(hdr + 24) & 0xffffffff;
    if (data_len > PAGE || data_len > used - VSOCK_HDR) {
        return RESULT_INVALID_PARAMETER;
    }
    *data = virtq_page(q, d[1]);
    *len = data_len;
    return RESULT_SUCCESS;
}

static const struct vsock_packets packets = {
    .send = vv_send,
    .recv = vv_recv,
    .max_data = PAGE,
};

static int vv_init(void)
{
    int rx, tx, i;

    if (!virtio_init(&dev, VSOCK_DEVICE_ID)) {
        return RESULT_OUT_OF_RESOURCE;
    }
    for (i = 0; i < NR_QUEUES; i++) {
        if (!virtq_init(&dev, &vq[i], i)) {
            return RESULT_OUT_OF_RESOURCE;
        }
    }
    rx = virtio_msix_vector(&dev, STREAM_VECTOR);
    tx = virtio_msix_vector(&dev, VSOCK_TX_VECTOR);
    if (rx < 0 || tx < 0 || !virtq_set_vector(&dev, QUEUE_RX, rx) ||
        !virtq_set_vector(&dev, QUEUE_TX, tx) || !virtio_driver_ok(&dev) ||
        !fill_rx()) {
        return RESULT_OUT_OF_RESOURCE;
    }
    guest_printf("migtd-stub: virtio-vsock at 00:%x.0, CID %u\n",
                 dev.pci.dev, virtio_device_cfg(&dev, 0));
    return RESULT_SUCCESS;
}

static int vv_open(const struct migration_info *mi)
{
    uint64_t cid = virtio_device_cfg(&dev, 0) |
                   (uint64_t)virtio_device_cfg(&dev, 4) << 32;

    return vsock_connect(&packets, cid, mi->cid, mi->port);
}

const struct transport virtio_vsock_transport = {
    .name = "virtio-vsock",
    .init = vv_init,
    .init_failed = "no virtio-vsock device (PCI 1af4:1053) answered",
    .open = vv_open,
    .send = vsock_send,
    .recv = vsock_recv,
    .close = vsock_shutdown,
    .max_send = PAGE,
};
