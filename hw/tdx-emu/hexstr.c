/*
 * tdx-emu: byte strings as hex digits, for properties and QMP
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "hexstr.h"

bool tdx_emu_hex_parse(const char *what, const char *hex, void *buf,
                       size_t len, Error **errp)
{
    uint8_t *out = buf;
    size_t i;

    if (strlen(hex) != len * 2) {
        error_setg(errp, "%s must be %zu hex digits, not '%s'", what,
                   len * 2, hex);
        return false;
    }
    for (i = 0; i < len; i++) {
        int hi = g_ascii_xdigit_value(hex[2 * i]);
        int lo = g_ascii_xdigit_value(hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            error_setg(errp, "%s must be hex digits, not '%s'", what, hex);
            return false;
        }
        out[i] = hi << 4 | lo;
    }
    return true;
}

char *tdx_emu_hex_format(const void *buf, size_t len)
{
    const uint8_t *in = buf;
    char *hex = g_malloc(len * 2 + 1);
    size_t i;

    for (i = 0; i < len; i++) {
        snprintf(hex + 2 * i, 3, "%02x", in[i]);
    }
    return hex;
}
