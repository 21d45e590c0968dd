/*
 * Guest stub: the virtio-serial transport, as MigTD's virtio-serial build
 * drives the device (MigTD src/devices/virtio_serial/src/lib.rs, port.rs;
 * src/migtd/src/driver/serial.rs; migration/transport.rs; virtio 1.2
 * section 5.3):
 *
 * - at boot: the device (PCI 1af4:1043, virtio.c), max_nr_ports from its
 *   configuration, six queues (port 0 receive/transmit, control
 *   receive/transmit, port 1 receive/transmit), one MSI-X vector 0x52 for
 *   all of them, DRIVER_OK; 16 control receive buffers; DEVICE_READY, then
 *   the control messages that come: DEVICE_ADD (answer PORT_READY),
 *   PORT_OPEN 1 (the port is connected, answer PORT_OPEN 1, fill that
 *   port's receive queue), DEVICE_REMOVE; a port id of 2 or more, or
 *   beyond max_nr_ports, fails the device, as in MigTD;
 * - one difference from MigTD, which fills a port's receive queue on
 *   DEVICE_ADD: QEMU's virtio-serial takes the host's bytes as soon as a
 *   port has receive buffers, but drops them until the guest has sent
 *   PORT_OPEN (hw/char/virtio-serial-bus.c virtio_serial_write; without
 *   VIRTIO_CONSOLE_F_MULTIPORT, which MigTD does not negotiate, its
 *   readiness check does not ask). Bytes the peer sent early would be
 *   lost, so the stub gives the port buffers only once it is open;
 * - per start-migration: port 1 is opened (MigTD retries 100 times, 10 ms
 *   apart, reading control messages, for the host's PORT_OPEN); the bytes
 *   go out on port 1's transmit queue, one buffer each, and come in on its
 *   receive queue.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cpu.h"
#include "tdx.h"
#include "bytes.h"
#include "shared.h"
#include "transport.h"
#include "virtio.h"

#define SERIAL_DEVICE_ID    0x1043
#define PORT0_RX            0
#define PORT0_TX            1
#define CTRL_RX             2
#define CTRL_TX             3
#define PORT1_RX            4
#define PORT1_TX            5
#define NR_QUEUES           6
#define MIGTD_PORT          1
#define MAX_PORTS           2
#define CONFIG_MAX_NR_PORTS 4
#define CONTROL_TIMEOUT_MS  0x8000
#define OPEN_RETRIES        100
#define OPEN_RETRY_MS       10

/* struct virtio_console_control events (virtio 1.2 section 5.3.6.2) */
enum { DEVICE_READY = 0, DEVICE_ADD = 1, DEVICE_REMOVE = 2, PORT_READY = 3,
       CONSOLE_PORT = 4, RESIZE = 5, PORT_OPEN = 6, PORT_NAME = 7 };

static struct virtio_dev dev;
static struct virtq vq[NR_QUEUES];
static uint32_t max_nr_ports;
static unsigned connected, filled;      /* bit per port */
static int rx_desc = -1;                /* handed out by recv(), to re-post */

static int post_rx(struct virtq *q, unsigned n)
{
    const struct vbuf b = { 0, PAGE };

    while (n--) {
        if (!virtq_add(q, &b, 1)) {
            return 0;
        }
    }
    virtq_kick(&dev, q);
    return 1;
}

/* Transmit @len bytes on queue @tx and wait until the device took them */
static int transmit(unsigned tx, const void *data, uint32_t len)
{
    const struct vbuf b = { data, len };
    uint16_t chain[1];
    uint32_t used;

    if (!virtq_add(&vq[tx], &b, 1)) {
        return 0;
    }
    virtq_kick(&dev, &vq[tx]);
    return virtq_wait(&vq[tx], CONTROL_TIMEOUT_MS) &&
           virtq_pop(&vq[tx], chain, 1, &used) == 1;
}

static int send_control(uint32_t port, uint16_t event, uint16_t value)
{
    uint8_t msg[8];

    st32(msg, port);
    msg[4] = event;
    msg[5] = event >> 8;
    msg[6] = value;
    msg[7] = value >> 8;
    return transmit(CTRL_TX, msg, sizeof(msg));
}

/* One control message (MigTD handle_control_msg); 0 fails the device */
static int control_message(const uint8_t *msg, uint32_t len)
{
    uint32_t port = ld64(msg) & 0xffffffff;
    uint16_t event = msg[4] | msg[5] << 8, value = msg[6] | msg[7] << 8;

    if (len < 8 || port >= max_nr_ports || port >= MAX_PORTS) {
        return 0;
    }
    switch (event) {
    case DEVICE_ADD:
        return send_control(port, PORT_READY, 1);
    case DEVICE_REMOVE:
        connected &= ~(1U << port);
        return 1;
    case PORT_OPEN:
        if (value != 1) {
            return 1;
        }
        connected |= 1U << port;
        if (!send_control(port, PORT_OPEN, 1)) {
            return 0;
        }
        if (!(filled & 1U << port)) {
            filled |= 1U << port;
            return post_rx(&vq[port ? PORT1_RX : PORT0_RX], VQ_SIZE);
        }
        return 1;
    case CONSOLE_PORT:
    case RESIZE:
    case PORT_NAME:
        return 1;
    default:
        return 0;
    }
}

/* Handle every control message the device has returned; 0 on a bad one */
static int drain_control(void)
{
    uint16_t chain[1];
    uint32_t len;
    int n, ok = 1;

    while ((n = virtq_pop(&vq[CTRL_RX], chain, 1, &len)) != 0) {
        if (n < 0) {
            return 0;
        }
        ok &= control_message(virtq_page(&vq[CTRL_RX], chain[0]), len);
        ok &= post_rx(&vq[CTRL_RX], 1);
    }
    return ok;
}

static int serial_init(void)
{
    int entry, i;
    static const uint8_t vector_order[NR_QUEUES] = {
        PORT0_RX, CTRL_RX, PORT0_TX, CTRL_TX, PORT1_RX, PORT1_TX,
    };

    if (!virtio_init(&dev, SERIAL_DEVICE_ID)) {
        return RESULT_OUT_OF_RESOURCE;
    }
    max_nr_ports = virtio_device_cfg(&dev, CONFIG_MAX_NR_PORTS);
    for (i = 0; i < NR_QUEUES; i++) {
        if (!virtq_init(&dev, &vq[i], i)) {
            return RESULT_OUT_OF_RESOURCE;
        }
    }
    entry = virtio_msix_vector(&dev, STREAM_VECTOR);
    for (i = 0; i < NR_QUEUES; i++) {
        if (entry < 0 || !virtq_set_vector(&dev, vector_order[i], entry)) {
            return RESULT_OUT_OF_RESOURCE;
        }
    }
    if (!virtio_driver_ok(&dev) || !post_rx(&vq[CTRL_RX], VQ_SIZE) ||
        !send_control(0, DEVICE_READY, 1) ||
        !virtq_wait(&vq[CTRL_RX], CONTROL_TIMEOUT_MS) || !drain_control()) {
        return RESULT_OUT_OF_RESOURCE;
    }
    guest_printf("migtd-stub: virtio-serial at 00:%x.0, %u ports\n",
                 dev.pci.dev, max_nr_ports);
    return RESULT_SUCCESS;
}

/* MigTD's port open, retried while the host's PORT_OPEN may come */
static int serial_open(const struct migration_info *mi)
{
    int i;

    for (i = 0; i < OPEN_RETRIES; i++) {
        if (connected & 1U << MIGTD_PORT) {
            return RESULT_SUCCESS;
        }
        timer_wait_ms(OPEN_RETRY_MS);
        if (!drain_control()) {
            break;
        }
    }
    guest_printf("migtd-stub: request %lu: virtio-serial port %u not "
                 "available\n", mi->id, MIGTD_PORT);
    return RESULT_NETWORK_ERROR;
}

static int serial_send(const uint8_t *data, uint32_t len)
{
    return transmit(PORT1_TX, data, len) ? RESULT_SUCCESS :
           RESULT_NETWORK_ERROR;
}

static int serial_recv(const uint8_t **data, uint32_t *len,
                       uint64_t timeout_ms)
{
    struct virtq *q = &vq[PORT1_RX];
    uint16_t chain[1];
    int n;

    if (rx_desc >= 0 && !post_rx(q, 1)) {
        return RESULT_OUT_OF_RESOURCE;
    }
    rx_desc = -1;
    do {
        if (!virtq_wait(q, timeout_ms)) {
            guest_printf("migtd-stub: the peer is silent\n");
            return RESULT_NETWORK_ERROR;
        }
        n = virtq_pop(q, chain, 1, len);
    } while (n > 0 && !*len && post_rx(q, 1));
    if (n <= 0) {
        return RESULT_INVALID_PARAMETER;
    }
    rx_desc = chain[0];
    *data = virtq_page(q, chain[0]);
    return RESULT_SUCCESS;
}

static void serial_close(void)
{
}

const struct transport virtio_serial_transport = {
    .name = "virtio-serial",
    .init = serial_init,
    .init_failed = "no virtio-serial device (PCI 1af4:1043) answered",
    .open = serial_open,
    .send = serial_send,
    .recv = serial_recv,
    .close = serial_close,
    .max_send = PAGE,
};
