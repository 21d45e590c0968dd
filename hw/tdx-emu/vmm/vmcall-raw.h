/*
 * tdx-emu: MigTD's vmcall-raw buffers (MigTD src/devices/vmcall_raw)
 *
 * Every vmcall-raw buffer starts with a 12-byte header {u64 data_status;
 * u32 length}, the payload follows.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_TDX_EMU_VMCALL_RAW_H
#define HW_TDX_EMU_VMCALL_RAW_H

#define VMCALL_RAW_HDR_SIZE         12

/* data_status byte 0 */
#define VMCALL_RAW_VMM_SUCCESS      1
#define VMCALL_RAW_NOT_COMPLETED    2
/* ... and byte 1 with NOT_COMPLETED */
#define VMCALL_RAW_VMM_CANCEL       3

/*
 * Complete an operation on @buf: its payload, then its header, then the
 * interrupt (none for a vector below 32). data_status = @status |
 * @detail << 8.
 */
void tdx_emu_raw_complete(TdxEmuState *s, const TdxEmuRawBuf *buf,
                          uint8_t status, uint8_t detail,
                          const void *data, uint32_t len);

#endif
