/*
 * Guest stub: TDG.VP.VMCALL<Service> buffers (service.c), shared by the
 * control path and vmcall-vsock's Send/Recv
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_SERVICE_H
#define GUEST_SERVICE_H

#include <stdint.h>

#define SERVICE_HDR         24      /* {GUID; u32 length; u32 status} */

extern const uint8_t service_common_guid[16];
extern const uint8_t service_migtd_guid[16];

/* A command buffer: {GUID; u32 length; u32 0}, then @len bytes of data */
void service_command(uint8_t *buf, const uint8_t *guid, const void *data,
                     uint32_t len);

/* A response buffer: {GUID; u32 @size; u32 @status} */
void service_response(uint8_t *buf, const uint8_t *guid, uint32_t size,
                      uint32_t status);

/* TDG.VP.VMCALL<Service>; the R10 status */
uint64_t service_call(const uint8_t *command, uint8_t *response,
                      uint64_t vector, uint64_t timeout);

/*
 * The data of a well-formed answer in the @size-byte @response: @guid and
 * a length of at least @min bytes of data within the buffer; else 0
 */
const uint8_t *service_reply(const uint8_t *response, uint32_t size,
                             const uint8_t *guid, uint32_t min);

#endif
