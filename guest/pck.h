/*
 * Guest stub: what a quote's PCK certificate says about the platform
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_PCK_H
#define GUEST_PCK_H

#include <stdint.h>

#define FMSPC_SIZE  6

/*
 * Find the PCK certificate (the first of the PEM chain in a DCAP quote's
 * certification data) and read its FMSPC and its issuing CA, "platform"
 * or "processor": what QvE sends in GET_COLLATERAL_REQ (GHCI 1.5 GetQuote;
 * DCAP QuoteGeneration/quote_wrapper/qgs_msg_lib). Returns 0 if the quote has
 * no such certificate.
 */
int pck_identify(const volatile uint8_t *quote, uint64_t len,
                 uint8_t fmspc[FMSPC_SIZE], const char **ca);

#endif
