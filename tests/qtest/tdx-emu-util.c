/*
 * Helpers for the tdx-emu qtests: the test mailbox and QMP
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qobject/qdict.h"
#include "tdx-emu-util.h"

QTestState *mailbox_init(const char *extra)
{
    return qtest_initf("-machine q35 -cpu max,phys-bits=52 -smp 2 "
                       "-nodefaults -serial null "
                       "-device tdx-emu,mailbox=0x%llx%s",
                       MAILBOX_GPA, extra ? extra : "");
}

void set_regs(QTestState *qts, const uint64_t *regs)
{
    int i;

    for (i = 0; i < NR_GPRS; i++) {
        qtest_writeq(qts, MAILBOX_GPA + i * 8, regs[i]);
    }
}

void get_regs(QTestState *qts, uint64_t *regs)
{
    int i;

    for (i = 0; i < NR_GPRS; i++) {
        regs[i] = qtest_readq(qts, MAILBOX_GPA + i * 8);
    }
}

uint64_t tdcall_count(QTestState *qts)
{
    return qtest_readq(qts, MAILBOX_GPA + MAILBOX_COUNT);
}

void sentinel_regs(uint64_t *regs)
{
    int i;

    for (i = 0; i < NR_GPRS; i++) {
        regs[i] = 0x5e5e000000000000ULL | ((uint64_t)i << 32) | 0xdead;
    }
}

void tdcall(QTestState *qts, int vcpu, const uint64_t *in, uint64_t *out,
            uint32_t outputs)
{
    int i;

    set_regs(qts, in);
    qtest_writeq(qts, MAILBOX_GPA + MAILBOX_DOORBELL, vcpu);
    get_regs(qts, out);
    for (i = 0; i < NR_GPRS; i++) {
        if (!(outputs & (1u << i))) {
            g_assert_cmphex(out[i], ==, in[i]);
        }
    }
}

uint64_t page_accept(QTestState *qts, uint64_t rcx)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    sentinel_regs(in);
    in[RAX] = TDG_MEM_PAGE_ACCEPT;
    in[RCX] = rcx;
    tdcall(qts, 0, in, out, OUT(RAX));
    return out[RAX];
}

void vmcall_regs(uint64_t *regs, uint64_t subfn)
{
    sentinel_regs(regs);
    regs[RAX] = 0;
    regs[RCX] = 0xfc00;
    regs[R10] = 0;
    regs[R11] = subfn;
}

void expect_qmp_error(QTestState *qts, const char *fmt, ...)
{
    va_list ap;
    QDict *resp;

    va_start(ap, fmt);
    resp = qtest_vqmp(qts, fmt, ap);
    va_end(ap);
    g_assert(qdict_haskey(resp, "error"));
    qobject_unref(resp);
}

QDict *query_tdx_emu(QTestState *qts)
{
    QDict *resp = qtest_qmp(qts, "{'execute': 'query-tdx-emu'}");
    QDict *ret;

    g_assert(qdict_haskey(resp, "return"));
    ret = qdict_get_qdict(resp, "return");
    qobject_ref(ret);
    qobject_unref(resp);
    return ret;
}

/* The non-empty lines of file @path that contain @needle */
unsigned count_lines(const char *path, const char *needle)
{
    g_autofree char *text = NULL;
    g_auto(GStrv) lines = NULL;
    unsigned n = 0;
    size_t i;

    g_assert(g_file_get_contents(path, &text, NULL, NULL));
    lines = g_strsplit(text, "\n", -1);
    for (i = 0; lines[i]; i++) {
        n += lines[i][0] && strstr(lines[i], needle);
    }
    return n;
}
