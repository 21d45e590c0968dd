/*
 * Guest stub: a vsock stream (vsock.c) over a packet transport, shared by
 * virtio-vsock and vmcall-vsock
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_VSOCK_H
#define GUEST_VSOCK_H

#include <stdint.h>

#define VSOCK_HDR           44      /* struct virtio_vsock_hdr */

/* Moves whole packets; each returns a MigrationResult */
struct vsock_packets {
    /* one packet: its header, then @len bytes of @data */
    int (*send)(const uint8_t *hdr, const uint8_t *data, uint32_t len);
    /*
     * the next packet: its header into @hdr, a view of its data (valid
     * until the next call) and the data's length, which the header's
     * len field does not exceed
     */
    int (*recv)(uint8_t *hdr, const uint8_t **data, uint32_t *len,
                uint64_t timeout_ms);
    uint32_t max_data;
};

/* Connect from (@local_cid, a fresh port) to (@cid, @port) */
int vsock_connect(const struct vsock_packets *p, uint64_t local_cid,
                  uint64_t cid, uint32_t port);
int vsock_send(const uint8_t *data, uint32_t len);
int vsock_recv(const uint8_t **data, uint32_t *len, uint64_t timeout_ms);

/* SHUTDOWN, and the peer's RST answered if it comes soon */
void vsock_shutdown(void);

#endif
