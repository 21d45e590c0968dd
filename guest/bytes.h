/*
 * Guest stub: little-endian loads and stores and a byte copy (the stub is
 * freestanding: no libc, and -fno-builtin)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_BYTES_H
#define GUEST_BYTES_H

#include <stdint.h>

static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

static inline void st64(uint8_t *p, uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++) {
        p[i] = v >> (8 * i);
    }
}

static inline void st32(uint8_t *p, uint32_t v)
{
    int i;

    for (i = 0; i < 4; i++) {
        p[i] = v >> (8 * i);
    }
}

static inline void copy(void *dst, const void *src, uint64_t n)
{
    uint8_t *d = dst;
    const uint8_t *s = src;

    while (n--) {
        *d++ = *s++;
    }
}

#endif
