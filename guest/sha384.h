/*
 * Guest stub: SHA-384 (FIPS 180-4), for the rebinding's SERVTD_EXT hash
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_SHA384_H
#define GUEST_SHA384_H

#include <stdint.h>

#define SHA384_SIZE     48

void sha384(const void *data, uint64_t len, uint8_t digest[SHA384_SIZE]);

#endif
