/*
 * Guest stub: GetQuote and the collateral for the quote
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_QUOTE_H
#define GUEST_QUOTE_H

#include <stdint.h>

/* The GetQuote buffer's status field (GHCI 1.5) */
#define GET_QUOTE_SUCCESS       0ULL
#define GET_QUOTE_IN_FLIGHT     (~0ULL)
#define GET_QUOTE_UNAVAILABLE   0x8000000000000001ULL
#define GET_QUOTE_CALL_FAILED   (~1ULL)         /* not a GHCI status */

/*
 * GetQuote of @tdreport as MigTD's attestation library does it; if the
 * quote carries a PCK certificate, then the GET_COLLATERAL_REQ QvE sends
 * for it (MigTD's policy v1). Prints the quote, the TDREPORT and the
 * collateral in hex (QUOTE, TDREPORT, COLLATERAL lines) for tests to
 * check offline. @event is what the event-notify handler sets. Returns the
 * quote's status.
 */
uint64_t quote_and_collateral(const uint8_t *tdreport, volatile int *event);

#endif
