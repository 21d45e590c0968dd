/*
 * The guest stub's result block, read by the host tests
 * (tests/qtest/tdx-emu-test.c keeps a copy of this layout)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_RESULT_H
#define GUEST_RESULT_H

#include <stdint.h>

#define GUEST_RESULT_GPA        0x7000UL
#define GUEST_RESULT_MAGIC      0x5453455547584454ULL   /* "TDXGUEST" */

enum guest_state {
    GUEST_STATE_RUNNING = 0,
    GUEST_STATE_PASS = 1,
    GUEST_STATE_FAIL = 2,
    GUEST_STATE_NO_TDCALL = 3,      /* TDCALL raised #UD: no tdx-emu */
};

struct guest_result {
    uint64_t magic;
    uint64_t state;
    uint64_t passed;
    uint64_t failed;
    uint64_t tdcalls;       /* TDCALLs that reached the TDX module */
    uint64_t event_wait;    /* 1: halted, waiting for the host's event */
    uint64_t events;        /* event-notify interrupts taken */
};

/*
 * Host-driven checks run when the tdx-emu test mailbox is here
 * (-device tdx-emu,mailbox=0xfe000000); see docs/mailbox.md.
 */
#define GUEST_MAILBOX_GPA           0xfe000000UL
#define MAILBOX_NOTIFY_VECTOR       0x98

/* isa-debug-exit (port 0xF4) codes; QEMU exits with (code << 1) | 1 */
#define GUEST_EXIT_PORT         0xf4
#define GUEST_EXIT_PASS         0x10
#define GUEST_EXIT_FAIL         0x11
#define GUEST_EXIT_NO_TDCALL    0x12

#endif
