/*
 * Guest stub: modern virtio-pci and split virtqueues as MigTD's drivers
 * use them (MigTD src/devices/virtio/src/virtio_pci.rs, virtqueue.rs;
 * virtio 1.2 sections 2.7 and 4.1):
 *
 * - the vendor capabilities give the common, notify, ISR, device and PCI
 *   configuration structures (all four of common, notify, ISR and PCI cfg
 *   must be there, the ones used long enough for what MigTD reads); the
 *   MSI-X capability's table is where vectors go, handed out from the top
 *   entry down, and MSI-X is enabled;
 * - status: |= 64, reset, ACKNOWLEDGE, DRIVER, FEATURES_OK. Like MigTD the
 *   stub writes no driver features: the device runs with none negotiated;
 * - every register access is a TDG.VP.VMCALL<#VE.RequestMMIO>;
 * - queues have 16 entries, laid out as MigTD's VirtQueueLayout (the used
 *   ring one page after the available ring's page), in shared memory; a
 *   queue's DMA addresses carry no shared bit;
 * - the device's used ring is checked against the driver's own copy of
 *   the descriptors: an id that is out of range, not outstanding or not a
 *   chain's head is refused, and its length is clamped.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cpu.h"
#include "tdx.h"
#include "bytes.h"
#include "shared.h"
#include "transport.h"
#include "virtio.h"

#define VIRTIO_VENDOR       0x1af4
#define PCI_DEVICE_ID       0x02
#define PCI_STATUS          0x06
#define PCI_STATUS_CAPS     0x10
#define PCI_CAP_PTR         0x34
#define CAP_VENDOR          0x09
#define CAP_MSIX            0x11
#define MAX_CAPS            16

/* struct virtio_pci_cap (virtio 1.2 section 4.1.4) */
enum { CFG_COMMON = 1, CFG_NOTIFY = 2, CFG_ISR = 3, CFG_DEVICE = 4,
       CFG_PCI = 5 };

/* Common configuration (virtio 1.2 section 4.1.4.3) */
#define COMMON_SIZE         0x38
#define COMMON_MSIX_CONFIG  0x10
#define COMMON_STATUS       0x14
#define COMMON_Q_SELECT     0x16
#define COMMON_Q_SIZE       0x18
#define COMMON_Q_MSIX       0x1a
#define COMMON_Q_ENABLE     0x1c
#define COMMON_Q_NOTIFY_OFF 0x1e
#define COMMON_Q_DESC       0x20
#define COMMON_Q_AVAIL      0x28
#define COMMON_Q_USED       0x30

#define STATUS_ACKNOWLEDGE  1
#define STATUS_DRIVER       2
#define STATUS_DRIVER_OK    4
#define STATUS_FEATURES_OK  8
#define STATUS_NEEDS_RESET  64
#define STATUS_FAILED       128

#define DESC_SIZE           16
#define DESC_F_NEXT         1
#define DESC_F_WRITE        2
#define MSIX_ENABLE         0x8000
#define MSI_ADDRESS         0xfee00000

static uint8_t status(struct virtio_dev *v)
{
    return mmio_read(v->common + COMMON_STATUS, 1);
}

static void add_status(struct virtio_dev *v, uint8_t bits)
{
    mmio_write(v->common + COMMON_STATUS, 1, status(v) | bits);
}

/*
 * The GPA of a vendor capability's structure (struct virtio_pci_cap:
 * bar, offset, length); 0 if its BAR is not placed or the structure is
 * shorter than MigTD needs (@min bytes)
 */
static uint64_t vendor_cap(struct virtio_dev *v, unsigned cap, uint32_t min)
{
    uint8_t bar = pci_read(&v->pci, cap + 4, 1);
    uint32_t off = pci_read(&v->pci, cap + 8, 4);
    uint32_t len = pci_read(&v->pci, cap + 12, 4);

    return bar < PCI_BARS && v->pci.bar[bar] && len >= min ?
           v->pci.bar[bar] + off : 0;
}

static void msix_cap(struct virtio_dev *v, unsigned cap)
{
    uint16_t control = pci_read(&v->pci, cap + 2, 2);
    uint32_t table = pci_read(&v->pci, cap + 4, 4);

    if ((table & 7) >= PCI_BARS || !v->pci.bar[table & 7]) {
        return;
    }
    v->msix_table = v->pci.bar[table & 7] + (table & ~7U);
    v->msix_free = (control & 0x7ff) + 1;
    pci_write(&v->pci, cap + 2, 2, control | MSIX_ENABLE);
}

/* The device configuration MigTD reads: virtio-serial 12, vsock 8 bytes */
static uint32_t device_cfg_size(uint16_t device_id)
{
    return device_id == 0x1043 ? 12 : 8;
}

#define CFG_NEEDED  (1 << CFG_COMMON | 1 << CFG_NOTIFY | 1 << CFG_ISR | \
                     1 << CFG_PCI)

/* Walk the capability list; 1 if the structures MigTD needs are there */
static int read_caps(struct virtio_dev *v, uint16_t device_id)
{
    unsigned cap, n, found = 0;
    uint8_t type;

    if (!(pci_read(&v->pci, PCI_STATUS, 2) & PCI_STATUS_CAPS) ||
        pci_read(&v->pci, PCI_DEVICE_ID, 2) != device_id) {
        return 0;
    }
    cap = pci_read(&v->pci, PCI_CAP_PTR, 1);
    for (n = 0; cap && cap <= 0xf0 && n < MAX_CAPS; n++) {
        switch (pci_read(&v->pci, cap, 1)) {
        case CAP_MSIX:
            msix_cap(v, cap);
            break;
        case CAP_VENDOR:
            type = pci_read(&v->pci, cap + 3, 1);
            found |= type <= CFG_PCI ? 1 << type : 0;
            if (type == CFG_COMMON) {
                v->common = vendor_cap(v, cap, COMMON_SIZE);
            } else if (type == CFG_NOTIFY) {
                v->notify = vendor_cap(v, cap, 4);
                v->notify_mult = pci_read(&v->pci, cap + 16, 4);
            } else if (type == CFG_DEVICE) {
                v->device_cfg = vendor_cap(v, cap,
                                           device_cfg_size(device_id));
            }
            break;
        }
        cap = pci_read(&v->pci, cap + 1, 1);
    }
    return (found & CFG_NEEDED) == CFG_NEEDED && v->common && v->notify &&
           v->msix_table;
}

int virtio_init(struct virtio_dev *v, uint16_t device_id)
{
    pci_ecam_init();
    if (!pci_find(VIRTIO_VENDOR, device_id, &v->pci) ||
        !pci_setup(&v->pci) || !read_caps(v, device_id)) {
        return 0;
    }
    add_status(v, STATUS_NEEDS_RESET);
    mmio_write(v->common + COMMON_STATUS, 1, 0);
    add_status(v, STATUS_ACKNOWLEDGE);
    add_status(v, STATUS_DRIVER);
    add_status(v, STATUS_FEATURES_OK);
    if (!(status(v) & STATUS_FEATURES_OK) ||
        mmio_read(v->common + COMMON_Q_SIZE, 2) < VQ_SIZE) {
        add_status(v, STATUS_FAILED);
        return 0;
    }
    return 1;
}

int virtio_driver_ok(struct virtio_dev *v)
{
    add_status(v, STATUS_DRIVER_OK);
    if (!(status(v) & STATUS_DRIVER_OK)) {
        add_status(v, STATUS_FAILED);
        return 0;
    }
    return 1;
}

uint32_t virtio_device_cfg(struct virtio_dev *v, unsigned off)
{
    return v->device_cfg ? mmio_read(v->device_cfg + off, 4) : 0;
}

int virtio_msix_vector(struct virtio_dev *v, uint8_t vector)
{
    uint64_t entry;

    if (!v->msix_free) {
        return -1;
    }
    v->msix_free--;
    entry = v->msix_table + 16ULL * v->msix_free;
    mmio_write(entry, 4, MSI_ADDRESS);
    mmio_write(entry + 8, 4, vector);
    mmio_write(entry + 12, 4, 0);
    return v->msix_free;
}

int virtq_set_vector(struct virtio_dev *v, uint16_t index, uint16_t entry)
{
    mmio_write(v->common + COMMON_Q_SELECT, 2, index);
    mmio_write(v->common + COMMON_Q_MSIX, 2, entry);
    if (mmio_read(v->common + COMMON_Q_MSIX, 2) != entry) {
        return 0;
    }
    mmio_write(v->common + COMMON_Q_ENABLE, 2, 1);
    return 1;
}

static uint16_t ld16(volatile const uint8_t *p)
{
    return p[0] | p[1] << 8;
}

static uint32_t ld32(volatile const uint8_t *p)
{
    return ld16(p) | (uint32_t)ld16(p + 2) << 16;
}

static void st16(volatile uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

/* MigTD's VirtQueueLayout: desc, avail, then used a page further */
#define AVAIL_OFF           (DESC_SIZE * VQ_SIZE)
#define AVAIL_SIZE          (2 * (3 + VQ_SIZE))
#define USED_OFF            ((AVAIL_OFF + AVAIL_SIZE + PAGE) & ~(PAGE - 1))
#define RING_PAGES          (USED_OFF / PAGE + 1)

int virtq_init(struct virtio_dev *v, struct virtq *q, uint16_t index)
{
    uint8_t *ring = shared_alloc(RING_PAGES);
    uint16_t i;

    q->pages = shared_alloc(VQ_SIZE);
    if (!ring || !q->pages) {
        return 0;
    }
    mmio_write(v->common + COMMON_Q_SELECT, 2, index);
    mmio_write(v->common + COMMON_Q_SIZE, 2, VQ_SIZE);
    if (mmio_read(v->common + COMMON_Q_SIZE, 2) < VQ_SIZE) {
        return 0;
    }
    q->index = index;
    q->desc = ring;
    q->avail = ring + AVAIL_OFF;
    q->used = ring + USED_OFF;
    mmio_write(v->common + COMMON_Q_DESC, 8, shared_dma(q->desc));
    mmio_write(v->common + COMMON_Q_AVAIL, 8, shared_dma(q->avail));
    mmio_write(v->common + COMMON_Q_USED, 8, shared_dma(q->used));
    for (i = 0; i < VQ_SIZE; i++) {
        q->next[i] = i + 1;
        if (i + 1 < VQ_SIZE) {
            st16(q->desc + DESC_SIZE * i + 14, i + 1);
        }
    }
    q->free_head = q->num_used = q->avail_idx = q->last_used = 0;
    q->in_use = q->is_head = 0;
    mmio_write(v->common + COMMON_Q_ENABLE, 2, 1);
    return 1;
}

uint8_t *virtq_page(struct virtq *q, uint16_t desc)
{
    return q->pages + (uint64_t)desc * PAGE;
}

void virtq_kick(struct virtio_dev *v, struct virtq *q)
{
    uint16_t off;

    mmio_write(v->common + COMMON_Q_SELECT, 2, q->index);
    off = mmio_read(v->common + COMMON_Q_NOTIFY_OFF, 2);
    mmio_write(v->notify + (uint64_t)off * v->notify_mult, 4, q->index);
}

static int has_used(struct virtq *q)
{
    return ld16(q->used + 2) != q->last_used;
}

/* MigTD's wait_for_event: sti; TDVMCALL<HLT> until the queue's vector */
int virtq_wait(struct virtq *q, uint64_t timeout_ms)
{
    uint64_t hz = tsc_hz(), end = rdtsc() + hz / 1000 * timeout_ms;

    while (!has_used(q) && rdtsc() < end) {
        stream_signalled = 0;
        if (!has_used(q)) {
            idle_until(&stream_signalled, 1);
        }
    }
    return has_used(q);
}

int virtq_add(struct virtq *q, const struct vbuf *b, unsigned n)
{
    uint16_t head = q->free_head, d = head, last = head;
    volatile uint8_t *desc;
    unsigned i;

    if (!n || n > (unsigned)(VQ_SIZE - q->num_used)) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (b[i].len > PAGE) {
            return 0;
        }
        desc = q->desc + DESC_SIZE * d;
        if (b[i].data) {
            copy(virtq_page(q, d), b[i].data, b[i].len);
        }
        q->len[d] = b[i].len;
        q->flags[d] = DESC_F_NEXT | (b[i].data ? 0 : DESC_F_WRITE);
        st64((uint8_t *)desc, shared_dma(virtq_page(q, d)));
        st32((uint8_t *)desc + 8, b[i].len);
        st16(desc + 12, q->flags[d]);
        st16(desc + 14, q->next[d]);
        q->in_use |= 1U << d;
        last = d;
        d = q->next[d];
    }
    q->flags[last] &= ~DESC_F_NEXT;
    st16(q->desc + DESC_SIZE * last + 12, q->flags[last]);
    q->free_head = d;
    q->num_used += n;
    q->is_head |= 1U << head;
    st16(q->avail + 4 + 2 * (q->avail_idx % VQ_SIZE), head);
    asm volatile("mfence" ::: "memory");
    q->avail_idx++;
    st16(q->avail + 2, q->avail_idx);
    st16(q->avail + 4 + 2 * VQ_SIZE, q->avail_idx);     /* used_event */
    return 1;
}

int virtq_pop(struct virtq *q, uint16_t *chain, unsigned max, uint32_t *len)
{
    volatile uint8_t *elem;
    uint16_t id, d, old_free = q->free_head;
    uint32_t total = 0;
    unsigned n = 0;

    if (!has_used(q)) {
        return 0;
    }
    asm volatile("mfence" ::: "memory");
    elem = q->used + 4 + 8 * (q->last_used % VQ_SIZE);
    if (ld32(elem) >= VQ_SIZE) {
        return -1;
    }
    id = ld32(elem);
    *len = ld32(elem + 4);
    if (!(q->in_use & q->is_head & 1U << id)) {
        return -1;
    }
    q->is_head &= ~(1U << id);
    for (d = id; ; d = q->next[d]) {
        if (!(q->in_use & 1U << d) || n == max) {
            return -1;
        }
        q->in_use &= ~(1U << d);
        q->num_used--;
        total += q->len[d];
        chain[n++] = d;
        if (!(q->flags[d] & DESC_F_NEXT)) {
            break;
        }
    }
    q->next[d] = old_free;
    st16(q->desc + DESC_SIZE * d + 14, old_free);
    q->free_head = id;
    q->last_used++;
    *len = *len < total ? *len : total;
    return n;
}
