/*
 * Guest stub: TDCALL, TDG.VP.VMCALL and the console
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdarg.h>
#include "tdx.h"
#include "migtd-stub.h"

#define COM1            0x3f8

static int tdcall_available;

struct guest_result *guest_result(void)
{
    return (struct guest_result *)GUEST_RESULT_GPA;
}

void tdcall(struct tdx_regs *r)
{
    tdcall_regs(r);
    guest_result()->tdcalls++;
}

void idle_hlt(void)
{
    guest_result()->tdcalls++;      /* counted before it is made */
    tdvmcall_sti_hlt();
}

uint64_t tdvmcall(uint64_t subfn, uint64_t r12, uint64_t r13)
{
    struct tdx_regs r = {
        .rax = TDG_VP_VMCALL,
        .rcx = TDVMCALL_EXPOSE_R10_R15,
        .r11 = subfn,
        .r12 = r12,
        .r13 = r13,
    };

    tdcall(&r);
    return r.r10;
}

uint64_t tdvmcall_io(unsigned size, int write, uint16_t port,
                     uint64_t *data)
{
    struct tdx_regs r = {
        .rax = TDG_VP_VMCALL,
        .rcx = TDVMCALL_EXPOSE_R10_R15,
        .r11 = TDVMCALL_IO,
        .r12 = size,
        .r13 = write,
        .r14 = port,
        .r15 = write ? *data : 0,
    };

    tdcall(&r);
    if (!write && r.r10 == TDVMCALL_SUCCESS) {
        *data = r.r11;
    }
    return r.r10;
}

static void outb(uint16_t port, uint8_t value)
{
    asm volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static void port_write8(uint16_t port, uint8_t value)
{
    uint64_t data = value;

    if (tdcall_available) {
        tdvmcall_io(1, 1, port, &data);
    } else {
        outb(port, value);
    }
}

void guest_set_tdcall_available(int available)
{
    tdcall_available = available;
}

static void put_char(char c)
{
    if (c == '\n') {
        port_write8(COM1, '\r');
    }
    port_write8(COM1, c);
}

static void put_console(char c, void *opaque __attribute__((unused)))
{
    put_char(c);
}

static void put_string(void (*put)(char, void *), void *opaque,
                       const char *s)
{
    while (*s) {
        put(*s++, opaque);
    }
}

static void put_number(void (*put)(char, void *), void *opaque,
                       uint64_t value, unsigned base)
{
    char buf[24];
    int i = 0;

    do {
        buf[i++] = "0123456789abcdef"[value % base];
        value /= base;
    } while (value);
    while (i) {
        put(buf[--i], opaque);
    }
}

/* %s, %c, %d, %u, %x and an 'l' modifier */
void guest_vformat(void (*put)(char c, void *opaque), void *opaque,
                   const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        int is_long = 0;

        if (*fmt != '%') {
            put(*fmt, opaque);
            continue;
        }
        if (*++fmt == 'l') {
            is_long = 1;
            fmt++;
        }
        switch (*fmt) {
        case 's':
            put_string(put, opaque, va_arg(ap, const char *));
            break;
        case 'c':
            put(va_arg(ap, int), opaque);
            break;
        case 'd':
        case 'u':
            put_number(put, opaque, is_long ? va_arg(ap, uint64_t) :
                       va_arg(ap, unsigned), 10);
            break;
        case 'x':
            put_number(put, opaque, is_long ? va_arg(ap, uint64_t) :
                       va_arg(ap, unsigned), 16);
            break;
        default:
            put(*fmt, opaque);
            break;
        }
    }
}

struct buffer {
    char *buf;
    uint32_t size, len;
};

static void put_buffer(char c, void *opaque)
{
    struct buffer *b = opaque;

    if (b->len + 1 < b->size) {
        b->buf[b->len++] = c;
    }
}

uint32_t guest_vsnprintf(char *buf, uint32_t size, const char *fmt,
                         va_list ap)
{
    struct buffer b = { .buf = buf, .size = size, .len = 0 };

    guest_vformat(put_buffer, &b, fmt, ap);
    if (size) {
        buf[b.len] = 0;
    }
    return b.len;
}

uint32_t guest_snprintf(char *buf, uint32_t size, const char *fmt, ...)
{
    va_list ap;
    uint32_t len;

    va_start(ap, fmt);
    len = guest_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return len;
}

void guest_printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    guest_vformat(put_console, 0, fmt, ap);
    va_end(ap);
}

static const uint8_t exit_codes[] = {
    [GUEST_STATE_PASS] = GUEST_EXIT_PASS,
    [GUEST_STATE_FAIL] = GUEST_EXIT_FAIL,
    [GUEST_STATE_NO_TDCALL] = GUEST_EXIT_NO_TDCALL,
};

/*
 * Publish the result, then leave through isa-debug-exit. Without that
 * device (./tdx-emu run and migrate, or qtest reading the result block)
 * the write goes nowhere: a TD then serves MigTD requests (migtd-stub.c);
 * anything else halts.
 */
void guest_finish(enum guest_state state)
{
    port_write8(GUEST_EXIT_PORT, exit_codes[state]);
    guest_result()->state = state;
    if (tdcall_available) {
        migtd_stub_run();
    }
    for (;;) {
        asm volatile("cli; hlt");
    }
}
