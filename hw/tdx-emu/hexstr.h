/*
 * tdx-emu: byte strings as hex digits, for properties and QMP
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_TDX_EMU_HEXSTR_H
#define HW_TDX_EMU_HEXSTR_H

/* Parse exactly @len bytes from 2 * @len hex digits; @what names the value */
bool tdx_emu_hex_parse(const char *what, const char *hex, void *buf,
                       size_t len, Error **errp);

/* The bytes at @buf as lowercase hex digits (g_free the result) */
char *tdx_emu_hex_format(const void *buf, size_t len);

#endif
