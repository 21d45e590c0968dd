/*
 * Guest stub: GetQuote and the collateral for the quote
 *
 * As MigTD's attestation library does it (GHCI 1.5 GetQuote; DCAP
 * QuoteGeneration/quote_wrapper/qgs_msg_lib): a shared buffer {version 1,
 * status, in_len, out_len} + data, made shared with MapGPA and filled
 * through the shared window (shared.c);
 * TDG.VP.VMCALL<GetQuote>; then wait for the event-notify interrupt
 * (registered by main.c). First the bare TDREPORT, for a quote; then a framed
 * GET_COLLATERAL_REQ for the FMSPC and CA of the quote's PCK certificate, as
 * QvE sends for MigTD's policy v1.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cpu.h"
#include "tdx.h"
#include "bytes.h"
#include "pck.h"
#include "quote.h"
#include "shared.h"

#define GET_QUOTE_HDR           24
#define TDREPORT_SIZE           1024
#define EVENT_TIMEOUT_MS        10000
#define QGS_HDR                 16
#define QGS_GET_COLLATERAL_REQ  2
#define QGS_MSG_VERSION         0x00010001      /* major 1, minor 1 */
#define FRAME                   4               /* big-endian length */

#define REQ_MAX                 256

static uint8_t quote_buf[2 * 4096] __attribute__((aligned(4096)));
static uint8_t collateral_buf[4 * 4096] __attribute__((aligned(4096)));

/* "<label> <hex>" on one line */
static void print_hex(const char *label, const volatile uint8_t *buf,
                      uint64_t len)
{
    static const char digits[] = "0123456789abcdef";
    uint64_t i;

    guest_printf("%s ", label);
    for (i = 0; i < len; i++) {
        guest_printf("%c%c", digits[buf[i] >> 4], digits[buf[i] & 15]);
    }
    guest_printf("\n");
}

/*
 * One GetQuote of the @in_len bytes at @in, through @buf converted to
 * shared; returns the buffer's status field (GET_QUOTE_CALL_FAILED if the
 * TDVMCALL itself failed), its out_len and the time to the answer in µs;
 * the answer is in shared_va(@buf). The status, not the event-notify
 * interrupt, says the answer is there: the interrupt of the previous
 * request can arrive after its status was seen, while this one is still
 * in flight.
 */
static uint64_t get_quote(uint8_t *buf, uint64_t size, const uint8_t *in,
                          uint32_t in_len, volatile int *event,
                          uint32_t *out_len, uint64_t *us)
{
    volatile uint64_t *hdr = shared_va(buf);
    uint64_t hz = tsc_hz(), start, end;

    tdvmcall(TDVMCALL_MAP_GPA, shared_gpa(hdr), size);
    copy((uint8_t *)hdr + GET_QUOTE_HDR, in, in_len);
    hdr[0] = 1;
    hdr[1] = 0;
    hdr[2] = in_len;                            /* out_len 0 */
    *event = 0;
    start = rdtsc();
    if (tdvmcall(TDVMCALL_GET_QUOTE, shared_gpa(hdr), size) !=
        TDVMCALL_SUCCESS) {
        return GET_QUOTE_CALL_FAILED;
    }
    end = start + hz / 1000 * EVENT_TIMEOUT_MS;
    while (hdr[1] == GET_QUOTE_IN_FLIGHT && rdtsc() < end) {
        *event = 0;
        idle_until(event, 1);
    }
    *us = hz ? (rdtsc() - start) * 1000000 / hz : 0;
    *out_len = hdr[2] >> 32;
    return hdr[1];
}

/* GET_COLLATERAL_REQ {header, fmspc_size, pckca_size, FMSPC, CA\0} */
static void request_collateral(const uint8_t *fmspc, const char *ca,
                               volatile int *event)
{
    static uint8_t req[REQ_MAX];
    const uint8_t *answer = (uint8_t *)shared_va(collateral_buf) +
                            GET_QUOTE_HDR + FRAME;
    uint8_t *msg = req + FRAME;
    uint32_t ca_size = 0, size, out_len = 0, i;
    uint64_t status, us;

    while (ca[ca_size++]) {
    }
    size = QGS_HDR + 8 + FMSPC_SIZE + ca_size;
    if (FRAME + size > REQ_MAX) {
        guest_printf("  GetCollateral: CA name too long\n");
        return;
    }
    st32(msg, QGS_MSG_VERSION);
    st32(msg + 4, QGS_GET_COLLATERAL_REQ);
    st32(msg + 8, size);
    st32(msg + 12, 0);                          /* error_code */
    st32(msg + 16, FMSPC_SIZE);
    st32(msg + 20, ca_size);
    copy(msg + 24, fmspc, FMSPC_SIZE);
    copy(msg + 24 + FMSPC_SIZE, ca, ca_size);
    for (i = 0; i < FRAME; i++) {
        req[i] = size >> (24 - 8 * i);
    }
    status = get_quote(collateral_buf, sizeof(collateral_buf), req,
                       FRAME + size, event, &out_len, &us);
    if (status == GET_QUOTE_SUCCESS && out_len > FRAME &&
        out_len <= sizeof(collateral_buf) - GET_QUOTE_HDR) {
        guest_printf("  GetCollateral: %u bytes for the %s CA\n",
                     out_len - FRAME, ca);
        print_hex("COLLATERAL", answer, out_len - FRAME);
    } else {
        guest_printf("  GetCollateral: status 0x%lx\n", status);
    }
}

uint64_t quote_and_collateral(const uint8_t *tdreport, volatile int *event)
{
    const uint64_t room = sizeof(quote_buf) - GET_QUOTE_HDR;
    const uint8_t *quote = (uint8_t *)shared_va(quote_buf) + GET_QUOTE_HDR;
    uint8_t fmspc[FMSPC_SIZE];
    uint32_t out_len = 0;
    uint64_t status, shown, us = 0;
    const char *ca;

    status = get_quote(quote_buf, sizeof(quote_buf), tdreport, TDREPORT_SIZE,
                       event, &out_len, &us);
    if (status != GET_QUOTE_SUCCESS) {
        guest_printf("  GetQuote: status 0x%lx\n", status);
        return status;
    }
    /* request to interrupt, in µs, for ./tdx-emu bench */
    guest_printf("  GetQuote: quote of %u bytes (%lu us)\n", out_len, us);
    shown = out_len < room ? out_len : room;
    print_hex("QUOTE", quote, shown);
    print_hex("TDREPORT", tdreport, TDREPORT_SIZE);
    if (pck_identify(quote, shown, fmspc, &ca)) {
        request_collateral(fmspc, ca, event);
    }
    return status;
}
