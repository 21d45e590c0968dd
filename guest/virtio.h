/*
 * Guest stub: modern virtio-pci and split virtqueues (virtio.c), shared by
 * the virtio-serial and virtio-vsock drivers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include <stdint.h>
#include "pci.h"

#define VQ_SIZE             16      /* MigTD's QUEUE_SIZE */

struct virtio_dev {
    struct pci_device pci;
    uint64_t common, notify, device_cfg;    /* GPAs of the structures */
    uint32_t notify_mult;
    uint64_t msix_table;
    uint16_t msix_free;                     /* entries not yet handed out */
};

/* A split virtqueue (virtio 1.2 section 2.7) with one page per descriptor */
struct virtq {
    uint16_t index;
    volatile uint8_t *desc, *avail, *used;
    uint8_t *pages;
    uint16_t free_head, num_used, avail_idx, last_used;
    /* the driver's own copy of each descriptor: the shared one is the host's */
    uint32_t len[VQ_SIZE];
    uint16_t flags[VQ_SIZE], next[VQ_SIZE];
    uint32_t in_use, is_head;
};

/* One buffer of a chain: device-readable @data, or device-writable */
struct vbuf {
    const void *data;               /* 0: device-writable */
    uint32_t len;                   /* at most a page */
};

/*
 * Find, place and initialise the device as MigTD does: ECAM, BARs, the
 * virtio capabilities, MSI-X, then reset, ACKNOWLEDGE, DRIVER,
 * FEATURES_OK (no feature is written); 1 if it is there and answered
 */
int virtio_init(struct virtio_dev *v, uint16_t device_id);

/* Set up and enable queue @index of VQ_SIZE entries; 1 on success */
int virtq_init(struct virtio_dev *v, struct virtq *q, uint16_t index);

/* An MSI-X table entry for @vector; its index, or -1 */
int virtio_msix_vector(struct virtio_dev *v, uint8_t vector);

/* Route queue @index's interrupt to MSI-X entry @entry; 1 if taken */
int virtq_set_vector(struct virtio_dev *v, uint16_t index, uint16_t entry);

/* DRIVER_OK; 1 if the device took it */
int virtio_driver_ok(struct virtio_dev *v);

uint32_t virtio_device_cfg(struct virtio_dev *v, unsigned off);

/* Add a chain of @n buffers (the device is not told); 1 on success */
int virtq_add(struct virtq *q, const struct vbuf *b, unsigned n);

/* Tell the device about queue @q's new buffers */
void virtq_kick(struct virtio_dev *v, struct virtq *q);

/* Idle until @q has a used chain or @timeout_ms passed; 1 if it has */
int virtq_wait(struct virtq *q, uint64_t timeout_ms);

/*
 * Take the next used chain: its descriptors in @chain (at most @max), the
 * length the device wrote (clamped to the chain's); the number of
 * descriptors, 0 if none is used, -1 if the device named a bad one
 */
int virtq_pop(struct virtq *q, uint16_t *chain, unsigned max, uint32_t *len);

/* The page behind descriptor @desc */
uint8_t *virtq_page(struct virtq *q, uint16_t desc);

#endif
