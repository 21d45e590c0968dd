/*
 * Guest stub: the migration transports (one per MigTD build)
 *
 * MigTD is built for one transport (src/migtd/src/migration/transport.rs,
 * docs/migration.md): vmcall-raw carries control and data over
 * TDG.VP.VMCALL<0x10006>; the others take their requests over
 * TDG.VP.VMCALL<Service> (service.c) and carry the key exchange over
 * virtio-serial port 1, a vsock stream over virtio-vsock, or a vsock
 * stream over Service Send/Recv. The stub is built once per transport
 * (meson.build, STUB_TRANSPORT); only the bytes' path differs.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_TRANSPORT_H
#define GUEST_TRANSPORT_H

#include <stdint.h>
#include "migtd-stub.h"

/* How long the stub waits for its peer, per step (MigTD's is 60 s) */
#define EXCHANGE_TIMEOUT_MS 10000

/* STUB_TRANSPORT values */
#define TRANSPORT_VMCALL_RAW        0
#define TRANSPORT_VIRTIO_SERIAL     1
#define TRANSPORT_VIRTIO_VSOCK      2
#define TRANSPORT_VMCALL_VSOCK      3

/*
 * Every function returns a MigrationResult. recv() waits at most
 * @timeout_ms for bytes and hands out a view of them (valid until the
 * next call); send() takes at most max_send bytes.
 */
struct transport {
    const char *name;
    int (*init)(void);                  /* at boot: the device */
    const char *init_failed;            /* what a failed init means */
    int (*open)(const struct migration_info *mi);
    int (*send)(const uint8_t *data, uint32_t len);
    int (*recv)(const uint8_t **data, uint32_t *len, uint64_t timeout_ms);
    void (*close)(void);
    uint32_t max_send;
};

extern const struct transport vmcall_raw_transport;
extern const struct transport virtio_serial_transport;
extern const struct transport virtio_vsock_transport;
extern const struct transport vmcall_vsock_transport;

/*
 * Set by the transports' interrupts: vmcall-raw's and vmcall-vsock's
 * 0x52, the virtio devices' MSI-X vectors 0x52-0x54
 */
extern volatile int stream_signalled;

/* The transport this stub was built for */
const struct transport *stub_transport(void);

/* The Service path's request loop (service.c) */
void service_run(void);

/* A vmcall-raw TDG.VP.VMCALL<0x10006> with RBX and RDI exposed; R10 */
struct tdx_regs;
uint64_t migtd_vmcall(struct tdx_regs *r);
#define MIGTD_LEAF(n)       ((n) | (1 << 16))
#define VMCALL_RAW_HDR      12          /* {u64 data_status; u32 length} */
#define VMM_SUCCESS         1

#endif
