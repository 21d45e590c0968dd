/*
 * qtest for tdx-emu-vsock-pci: the vsock engine (hw/tdx-emu/vmm/vsock.c)
 * through the userspace virtio-vsock device, driven with libqos's
 * virtio-pci helpers (docs/migration.md, "The vsock host end")
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include <sys/socket.h>
#include <sys/un.h>
#include "libqtest.h"
#include "libqos/malloc-pc.h"
#include "libqos/pci-pc.h"
#include "libqos/virtio.h"
#include "libqos/virtio-pci.h"
#include "standard-headers/linux/virtio_config.h"
#include "hw/pci/pci_regs.h"
#include "tdx-emu-util.h"

#define HDR             44
#define OP_REQUEST      1
#define OP_RESPONSE     2
#define OP_RST          3
#define OP_SHUTDOWN     4
#define OP_RW           5
#define OP_CREDIT_UPDATE 6
#define HOST_CID        18
#define HOST_PORT       1234
#define GUEST_CID       3
#define GUEST_PORT      40001
#define RX_SIZE         4096
#define SLOT            4

#define TDVMCALL_SERVICE 0x10005
#define SHARED          (1ULL << 47)
#define CMD_GPA         0x6000000ULL
#define PAGE            0x1000
#define TARGET_UUID \
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static const uint8_t migtd_guid[16] = {
    0x30, 0x63, 0x0e, 0xe6, 0x09, 0x1e, 0x87, 0x43,
    0xa4, 0x44, 0x8f, 0x32, 0xb8, 0xd6, 0x11, 0xe5,
};

typedef struct Vs {
    QTestState *qts;
    QGuestAllocator alloc;
    QPCIBus *bus;
    QVirtioPCIDevice *dev;
    QVirtQueue *rx, *tx;
    uint64_t rx_buf;            /* the one receive buffer posted, or 0 */
    uint64_t src_cid;           /* the source CID of the guest's packets */
    int peer;
    char *dir, *path;
} Vs;

/* A MigTD GUID command through TDG.VP.VMCALL<Service>; the status */
static uint32_t service(QTestState *qts, const uint8_t *data, uint32_t len)
{
    uint8_t hdr[24] = { 0 };
    uint64_t in[NR_GPRS], out[NR_GPRS];

    memcpy(hdr, migtd_guid, 16);
    stl_le_p(hdr + 16, sizeof(hdr) + len);
    qtest_memwrite(qts, CMD_GPA, hdr, sizeof(hdr));
    qtest_memwrite(qts, CMD_GPA + sizeof(hdr), data, len);
    stl_le_p(hdr + 16, PAGE);
    qtest_memset(qts, CMD_GPA + PAGE, 0, PAGE);
    qtest_memwrite(qts, CMD_GPA + PAGE, hdr, sizeof(hdr));
    vmcall_regs(in, TDVMCALL_SERVICE);
    in[R12] = CMD_GPA | SHARED;
    in[R13] = (CMD_GPA + PAGE) | SHARED;
    in[R14] = 0;
    in[R15] = 0;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[R10], ==, 0);
    return qtest_readl(qts, CMD_GPA + PAGE + 20);
}

/* start-migration @id to 18:1234, delivered by a WaitForRequest */
static void start_migration(QTestState *qts, int id)
{
    static const uint8_t wfr[4] = { 0, 1 };

    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'start-migration', 'request-id': %d, "
        "'source': true, 'binding-handle': 4096, 'target-uuid': %s, "
        "'chardev': 'mig0', 'vsock-cid': %d, 'vsock-port': %d}}",
        id, TARGET_UUID, HOST_CID, HOST_PORT);
    g_assert_cmphex(service(qts, wfr, sizeof(wfr)), ==, 0);
    g_assert_cmphex(qtest_readb(qts, CMD_GPA + PAGE + 26), ==, 1);
}

/* ReportStatus {0, 2, 1, Success, id}: the request ends */
static void report_status(QTestState *qts, int id)
{
    uint8_t rs[12] = { 0, 2, 1, 0 };

    stq_le_p(rs + 4, id);
    g_assert_cmphex(service(qts, rs, sizeof(rs)), ==, 0);
}

/* The driver's side of device initialization (virtio 1.2 section 3.1) */
static void vs_init_device(Vs *vs)
{
    uint64_t features;

    qvirtio_start_device(&vs->dev->vdev);
    features = qvirtio_get_features(&vs->dev->vdev);
    g_assert(features & (1ull << VIRTIO_F_VERSION_1));
    g_assert(features & (1ull << VIRTIO_F_ACCESS_PLATFORM));
    qvirtio_set_features(&vs->dev->vdev, features &
                         ((1ull << VIRTIO_F_VERSION_1) |
                          (1ull << VIRTIO_F_ACCESS_PLATFORM)));
    g_assert_cmpuint(qvirtio_config_readq(&vs->dev->vdev, 0), ==,
                     GUEST_CID);
    vs->rx = qvirtqueue_setup(&vs->dev->vdev, &vs->alloc, 0);
    vs->tx = qvirtqueue_setup(&vs->dev->vdev, &vs->alloc, 1);
    qvirtio_set_driver_ok(&vs->dev->vdev);
}

/* A VM with the device and a running start-migration to 18:1234 */
static void vs_start(Vs *vs)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = 10 };
    QPCIAddress pci = { .devfn = QPCI_DEVFN(SLOT, 0) };
    g_autofree char *extra = NULL;

    vs->dir = g_dir_make_tmp("tdx-emu-XXXXXX", NULL);
    vs->path = g_strdup_printf("%s/mig.sock", vs->dir);
    extra = g_strdup_printf(" -chardev socket,id=mig0,path=%s,server=on,"
                            "wait=off -device tdx-emu-vsock-pci,addr=%d.0,"
                            "guest-cid=%d", vs->path, SLOT, GUEST_CID);
    vs->qts = mailbox_init(extra);
    vs->peer = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert(!setsockopt(vs->peer, SOL_SOCKET, SO_RCVTIMEO, &tv,
                         sizeof(tv)));
    g_strlcpy(addr.sun_path, vs->path, sizeof(addr.sun_path));
    g_assert(connect(vs->peer, (struct sockaddr *)&addr, sizeof(addr)) == 0);

    pc_alloc_init(&vs->alloc, vs->qts, 0);
    vs->bus = qpci_new_pc(vs->qts, &vs->alloc);
    vs->dev = virtio_pci_new(vs->bus, &pci);
    g_assert_nonnull(vs->dev);
    g_assert_cmphex(qpci_config_readw(vs->dev->pdev, PCI_DEVICE_ID), ==,
                    0x1053);
    qvirtio_pci_device_enable(vs->dev);
    vs->src_cid = GUEST_CID;
    vs_init_device(vs);
    start_migration(vs->qts, 3);
}

static void vs_free_queues(Vs *vs)
{
    qvirtqueue_cleanup(vs->dev->vdev.bus, vs->rx, &vs->alloc);
    qvirtqueue_cleanup(vs->dev->vdev.bus, vs->tx, &vs->alloc);
    if (vs->rx_buf) {
        guest_free(&vs->alloc, vs->rx_buf);
        vs->rx_buf = 0;
    }
}

static void vs_stop(Vs *vs)
{
    close(vs->peer);
    vs_free_queues(vs);
    qvirtio_pci_device_disable(vs->dev);
    g_free(vs->dev);
    qpci_free_pc(vs->bus);
    alloc_destroy(&vs->alloc);
    qtest_quit(vs->qts);
    unlink(vs->path);
    rmdir(vs->dir);
    g_free(vs->path);
    g_free(vs->dir);
}

/* Wait at most @ms for the device to use a buffer of @vq; its length */
static bool vs_used(Vs *vs, QVirtQueue *vq, uint32_t *len, int ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;
    uint32_t idx;

    while (!qvirtqueue_get_buf(vs->qts, vq, &idx, len)) {
        if (g_get_monotonic_time() > end) {
            return false;
        }
        g_usleep(1000);
    }
    return true;
}

/* One packet from the guest, 18:@dst_port from 3:@src_port */
static void vs_send(Vs *vs, uint32_t src_port, uint32_t dst_port,
                    uint16_t op, const void *data, uint32_t len,
                    uint32_t len_field, uint32_t buf_alloc)
{
    uint8_t h[HDR] = { 0 };
    uint64_t gpa = guest_alloc(&vs->alloc, HDR + len + 1);
    uint32_t used, head;

    stq_le_p(h, vs->src_cid);
    stq_le_p(h + 8, HOST_CID);
    stl_le_p(h + 16, src_port);
    stl_le_p(h + 20, dst_port);
    stl_le_p(h + 24, len_field);
    stw_le_p(h + 28, 1);
    stw_le_p(h + 30, op);
    stl_le_p(h + 36, buf_alloc);
    qtest_memwrite(vs->qts, gpa, h, HDR);
    if (len) {
        qtest_memwrite(vs->qts, gpa + HDR, data, len);
    }
    head = qvirtqueue_add(vs->qts, vs->tx, gpa,
                          MIN(HDR + len, HDR + len_field), false, false);
    qvirtqueue_kick(vs->qts, &vs->dev->vdev, vs->tx, head);
    g_assert(vs_used(vs, vs->tx, &used, 5000));
    guest_free(&vs->alloc, gpa);
}

/* A short packet (fewer bytes than a header) */
static void vs_send_short(Vs *vs)
{
    uint64_t gpa = guest_alloc(&vs->alloc, HDR);
    uint32_t used, head;

    qtest_memset(vs->qts, gpa, 0, HDR);
    head = qvirtqueue_add(vs->qts, vs->tx, gpa, HDR - 1, false, false);
    qvirtqueue_kick(vs->qts, &vs->dev->vdev, vs->tx, head);
    g_assert(vs_used(vs, vs->tx, &used, 5000));
    guest_free(&vs->alloc, gpa);
}

/*
 * The next packet for the guest within @ms into @pkt (RX_SIZE bytes):
 * its length, or 0 when none came
 */
static uint32_t vs_recv(Vs *vs, uint8_t *pkt, int ms)
{
    uint32_t len, head;

    if (!vs->rx_buf) {
        vs->rx_buf = guest_alloc(&vs->alloc, RX_SIZE);
        head = qvirtqueue_add(vs->qts, vs->rx, vs->rx_buf, RX_SIZE, true,
                              false);
        qvirtqueue_kick(vs->qts, &vs->dev->vdev, vs->rx, head);
    }
    if (!vs_used(vs, vs->rx, &len, ms)) {
        return 0;
    }
    g_assert_cmpuint(len, >=, HDR);
    qtest_memread(vs->qts, vs->rx_buf, pkt, len);
    guest_free(&vs->alloc, vs->rx_buf);
    vs->rx_buf = 0;
    g_assert_cmpuint(ldq_le_p(pkt + 8), ==, GUEST_CID);
    g_assert_cmpuint(ldq_le_p(pkt), ==, HOST_CID);
    g_assert_cmpuint(ldl_le_p(pkt + 24), ==, len - HDR);
    return len;
}

static uint16_t op_of(const uint8_t *pkt)
{
    return lduw_le_p(pkt + 30);
}

/* The guest connects (buf_alloc 4096) and the request accepts */
static void vs_connect(Vs *vs)
{
    uint8_t pkt[RX_SIZE];

    vs_send(vs, GUEST_PORT, HOST_PORT, OP_REQUEST, NULL, 0, 0, 4096);
    g_assert_cmpuint(vs_recv(vs, pkt, 5000), ==, HDR);
    g_assert_cmpuint(op_of(pkt), ==, OP_RESPONSE);
}

/* The peer's @text reaches the guest in one RW packet */
static void vs_peer_to_guest(Vs *vs, const char *text)
{
    uint8_t pkt[RX_SIZE];
    size_t len = strlen(text);

    g_assert_cmpint(write(vs->peer, text, len), ==, len);
    g_assert_cmpuint(vs_recv(vs, pkt, 5000), ==, HDR + len);
    g_assert_cmpuint(op_of(pkt), ==, OP_RW);
    g_assert_cmpmem(pkt + HDR, len, text, len);
}

/*
 * One connection over tdx-emu-vsock-pci: RST for an unknown port,
 * malformed packets dropped, connect, credit stall and release, bytes
 * both ways, the peer gone (SHUTDOWN), data after the guest's RST
 */
static void test_vsock_pci(void)
{
    Vs vs = { 0 };
    uint8_t pkt[RX_SIZE];
    char got[5];

    vs_start(&vs);
    /* Nothing for the guest yet */
    g_assert_cmpuint(vs_recv(&vs, pkt, 100), ==, 0);

    /* A REQUEST to a port nobody listens on: RST */
    vs_send(&vs, GUEST_PORT, 999, OP_REQUEST, NULL, 0, 0, 0);
    g_assert_cmpuint(vs_recv(&vs, pkt, 5000), ==, HDR);
    g_assert_cmpuint(op_of(pkt), ==, OP_RST);
    g_assert_cmpuint(ldl_le_p(pkt + 16), ==, 999);
    g_assert_cmpuint(ldl_le_p(pkt + 20), ==, GUEST_PORT);

    /* Malformed: shorter than a header, shorter than its len: dropped */
    vs_send_short(&vs);
    vs_send(&vs, GUEST_PORT, HOST_PORT, OP_REQUEST, NULL, 0, 100, 0);
    g_assert_cmpuint(vs_recv(&vs, pkt, 100), ==, 0);
    /* From a CID that is not the guest's: dropped, as vhost-vsock does */
    vs.src_cid = GUEST_CID + 1;
    vs_send(&vs, GUEST_PORT, HOST_PORT, OP_REQUEST, NULL, 0, 0, 0);
    g_assert_cmpuint(vs_recv(&vs, pkt, 100), ==, 0);
    vs.src_cid = GUEST_CID;

    /* Connect with no room for data (buf_alloc 0): accepted */
    vs_send(&vs, GUEST_PORT, HOST_PORT, OP_REQUEST, NULL, 0, 0, 0);
    g_assert_cmpuint(vs_recv(&vs, pkt, 5000), ==, HDR);
    g_assert_cmpuint(op_of(pkt), ==, OP_RESPONSE);
    g_assert_cmpuint(ldl_le_p(pkt + 16), ==, HOST_PORT);
    g_assert_cmpuint(ldl_le_p(pkt + 36), >, 0);

    /* The peer's bytes wait while the guest gives no credit */
    g_assert_cmpint(write(vs.peer, "hello", 5), ==, 5);
    g_assert_cmpuint(vs_recv(&vs, pkt, 200), ==, 0);
    /* Credit given: they come */
    vs_send(&vs, GUEST_PORT, HOST_PORT, OP_CREDIT_UPDATE, NULL, 0, 0, 4096);
    g_assert_cmpuint(vs_recv(&vs, pkt, 5000), ==, HDR + 5);
    g_assert_cmpuint(op_of(pkt), ==, OP_RW);
    g_assert_cmpmem(pkt + HDR, 5, "hello", 5);

    /* The guest's bytes reach the peer */
    vs_send(&vs, GUEST_PORT, HOST_PORT, OP_RW, "world", 5, 5, 4096);
    g_assert_cmpint(read(vs.peer, got, 5), ==, 5);
    g_assert_cmpmem(got, 5, "world", 5);

    /* The peer goes away: SHUTDOWN (both directions) */
    shutdown(vs.peer, SHUT_RDWR);
    g_assert_cmpuint(vs_recv(&vs, pkt, 5000), ==, HDR);
    g_assert_cmpuint(op_of(pkt), ==, OP_SHUTDOWN);
    g_assert_cmpuint(ldl_le_p(pkt + 32), ==, 3);
    /* The guest resets; its data afterwards is answered RST */
    vs_send(&vs, GUEST_PORT, HOST_PORT, OP_RST, NULL, 0, 0, 4096);
    vs_send(&vs, GUEST_PORT, HOST_PORT, OP_RW, "again", 5, 5, 4096);
    g_assert_cmpuint(vs_recv(&vs, pkt, 5000), ==, HDR);
    g_assert_cmpuint(op_of(pkt), ==, OP_RST);
    vs_stop(&vs);
}

/*
 * The request ends while connected: SHUTDOWN, and the guest connects
 * from the same port to the next request without resetting first
 */
static void test_vsock_pci_next_request(void)
{
    Vs vs = { 0 };
    uint8_t pkt[RX_SIZE];

    vs_start(&vs);
    vs_connect(&vs);
    report_status(vs.qts, 3);
    g_assert_cmpuint(vs_recv(&vs, pkt, 5000), ==, HDR);
    g_assert_cmpuint(op_of(pkt), ==, OP_SHUTDOWN);

    start_migration(vs.qts, 4);
    vs_connect(&vs);
    vs_peer_to_guest(&vs, "next");
    vs_stop(&vs);
}

/*
 * A device reset closes the connection: after the driver sets the device
 * up again, data on it is answered RST, and the guest connects anew
 */
static void test_vsock_pci_reset(void)
{
    Vs vs = { 0 };
    uint8_t pkt[RX_SIZE];

    vs_start(&vs);
    vs_connect(&vs);

    qvirtio_reset(&vs.dev->vdev);
    vs_free_queues(&vs);
    vs_init_device(&vs);
    vs_send(&vs, GUEST_PORT, HOST_PORT, OP_RW, "stale", 5, 5, 4096);
    g_assert_cmpuint(vs_recv(&vs, pkt, 5000), ==, HDR);
    g_assert_cmpuint(op_of(pkt), ==, OP_RST);

    vs_connect(&vs);
    vs_peer_to_guest(&vs, "again");
    vs_stop(&vs);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/tdx-emu/vsock/pci", test_vsock_pci);
    qtest_add_func("/tdx-emu/vsock/pci-next-request",
                   test_vsock_pci_next_request);
    qtest_add_func("/tdx-emu/vsock/pci-reset", test_vsock_pci_reset);
    return g_test_run();
}
