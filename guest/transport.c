/*
 * Guest stub: the transport this stub was built for (STUB_TRANSPORT,
 * meson.build), and the mark ./tdx-emu migrate reads it from: the
 * string "tdx-emu-stub transport=NAME" in the payload
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "transport.h"

#if !defined(STUB_TRANSPORT) || !defined(STUB_TRANSPORT_NAME)
#error "STUB_TRANSPORT, STUB_TRANSPORT_NAME: build through meson.build"
#endif

static const struct transport *const transports[] = {
    [TRANSPORT_VMCALL_RAW] = &vmcall_raw_transport,
    [TRANSPORT_VIRTIO_SERIAL] = &virtio_serial_transport,
    [TRANSPORT_VIRTIO_VSOCK] = &virtio_vsock_transport,
    [TRANSPORT_VMCALL_VSOCK] = &vmcall_vsock_transport,
};

_Static_assert(STUB_TRANSPORT >= 0 && STUB_TRANSPORT < 4,
               "STUB_TRANSPORT names a transport");

/* Kept in the payload, which the image carries uncompressed */
__attribute__((used)) static const char transport_mark[] =
    "tdx-emu-stub transport=" STUB_TRANSPORT_NAME;

volatile int stream_signalled;

/* Called by stream_irq in entry.S */
void stream_interrupt(void)
{
    stream_signalled = 1;
}

const struct transport *stub_transport(void)
{
    return transports[STUB_TRANSPORT];
}
