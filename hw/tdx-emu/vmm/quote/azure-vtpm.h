/*
 * tdx-emu: the platform's genuine TDREPORT from an Azure vTPM (tpm2-tss)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_TDX_EMU_AZURE_VTPM_H
#define HW_TDX_EMU_AZURE_VTPM_H

#include "hw/tdx-emu/tdx-abi.h"

/*
 * Read the HCL report in NV index 0x01400001 of the TPM that the TCTI
 * configuration @tcti names (NULL: tpm2-tss's default) and copy out its
 * TDREPORT. Blocks: call it off the main loop.
 */
bool azure_vtpm_read_tdreport(const char *tcti,
                              uint8_t report[TDX_TDREPORT_SIZE],
                              Error **errp);

/*
 * Silence tpm2-tss's own stderr log unless TSS2_LOG is set (the caller
 * reports failures). Call it before any thread uses tpm2-tss.
 */
void azure_vtpm_quiet_log(void);

#endif
