/*
 * Guest stub: modes chosen by the configuration volume
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_CFV_H
#define GUEST_CFV_H

/*
 * Whether the CFV starts with @magic: ./tdx-emu patches a copy of the
 * image to pick a mode ("tdx-emu bench", "tdx-emu crash"); the CFV is not
 * measured into MRTD, so the copy keeps the image's MRTD.
 */
int cfv_starts_with(const char *magic);

#endif
