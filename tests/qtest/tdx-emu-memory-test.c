/*
 * QTest cases for the TD's memory under tdx-emu: TDG.MEM.PAGE.ACCEPT,
 * TDG.VP.VMCALL<MapGPA> and the shared-bit alias of RAM.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qobject/qdict.h"
#include "libqtest.h"
#include "tdx-emu-util.h"

#define TDVMCALL_MAP_GPA            0x10001
#define TDX_PAGE_ALREADY_ACCEPTED   0x00000B0A00000000ULL
#define TDX_PAGE_SIZE_MISMATCH      0xC0000B0B00000000ULL
#define TDVMCALL_ALIGN_ERROR        0x8000000000000002ULL
#define TDVMCALL_RETRY              1

#define SHARED_BIT      (1ULL << 47)    /* GPAW 48 */
#define LEVEL_2M        1
#define LEVEL_1G        2

static QTestState *memory_init(void)
{
    return qtest_initf("-machine q35 -cpu max,phys-bits=48 -m 128M "
                       "-nodefaults -device tdx-emu,mailbox=0x%llx",
                       MAILBOX_GPA);
}

/* MapGPA's R10; *next = R11 (where to go on after RETRY) if not NULL */
static uint64_t map_gpa_next(QTestState *qts, uint64_t start, uint64_t len,
                             uint64_t *next)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    vmcall_regs(in, TDVMCALL_MAP_GPA);
    in[R12] = start;
    in[R13] = len;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    if (next) {
        *next = out[R11];
    }
    return out[R10];
}

static uint64_t map_gpa(QTestState *qts, uint64_t start, uint64_t len)
{
    return map_gpa_next(qts, start, len, NULL);
}

static uint64_t pages(QTestState *qts, const char *which)
{
    QDict *info = query_tdx_emu(qts);
    uint64_t n = qdict_get_int(info, which);

    qobject_unref(info);
    return n;
}

static void test_accept_4k(void)
{
    QTestState *qts = memory_init();

    /* A newly accepted page reads as zeros, whatever was there */
    qtest_writeq(qts, 0x200000, 0x1122334455667788ULL);
    qtest_writeq(qts, 0x200ff8, 0x99);
    g_assert_cmphex(page_accept(qts, 0x200000), ==, TDX_SUCCESS);
    g_assert_cmphex(qtest_readq(qts, 0x200000), ==, 0);
    g_assert_cmphex(qtest_readq(qts, 0x200ff8), ==, 0);
    g_assert_cmphex(page_accept(qts, 0x200000), ==, TDX_PAGE_ALREADY_ACCEPTED);
    g_assert_cmpuint(pages(qts, "accepted-pages"), ==, 1);

    /* The 2 MiB block around it is now mapped in 4 KiB pages */
    g_assert_cmphex(page_accept(qts, 0x200000 | LEVEL_2M), ==,
                    TDX_PAGE_SIZE_MISMATCH | 1);
    qtest_quit(qts);
}

static void test_accept_2m(void)
{
    QTestState *qts = memory_init();

    qtest_writeq(qts, 0x5ff000, 0xabcd);
    g_assert_cmphex(page_accept(qts, 0x400000 | LEVEL_2M), ==, TDX_SUCCESS);
    g_assert_cmphex(qtest_readq(qts, 0x5ff000), ==, 0);
    g_assert_cmpuint(pages(qts, "accepted-pages"), ==, 512);
    g_assert_cmphex(page_accept(qts, 0x400000 | LEVEL_2M), ==,
                    TDX_PAGE_ALREADY_ACCEPTED | 1);
    /* A 4 KiB accept inside a 2 MiB page: the sizes do not match */
    g_assert_cmphex(page_accept(qts, 0x401000), ==, TDX_PAGE_SIZE_MISMATCH | 1);
    g_assert_cmpuint(pages(qts, "accepted-pages"), ==, 512);
    qtest_quit(qts);
}

/* 1 GiB pages, as Linux accepts EFI unaccepted memory (try_accept_one) */
static void test_accept_1g(void)
{
    QTestState *qts = qtest_initf("-machine q35 -cpu max,phys-bits=48 "
                                  "-m 2G -nodefaults "
                                  "-device tdx-emu,mailbox=0x%llx",
                                  MAILBOX_GPA);

    g_assert_cmphex(page_accept(qts, 0x40000000 | LEVEL_1G), ==, TDX_SUCCESS);
    g_assert_cmpuint(pages(qts, "accepted-pages"), ==, 262144);
    g_assert_cmphex(page_accept(qts, 0x40000000 | LEVEL_1G), ==,
                    TDX_PAGE_ALREADY_ACCEPTED | LEVEL_1G);
    /* Smaller accepts inside it: mapped at 1 GiB */
    g_assert_cmphex(page_accept(qts, 0x40200000 | LEVEL_2M), ==,
                    TDX_PAGE_SIZE_MISMATCH | LEVEL_1G);
    g_assert_cmphex(page_accept(qts, 0x40001000), ==,
                    TDX_PAGE_SIZE_MISMATCH | LEVEL_1G);
    /* A GiB with a 4 KiB page accepted is mapped smaller: retry smaller */
    g_assert_cmphex(page_accept(qts, 0x1000), ==, TDX_SUCCESS);
    g_assert_cmphex(page_accept(qts, 0 | LEVEL_1G), ==,
                    TDX_PAGE_SIZE_MISMATCH | LEVEL_1G);
    g_assert_cmphex(page_accept(qts, 0x200000 | LEVEL_2M), ==, TDX_SUCCESS);
    g_assert_cmpuint(pages(qts, "accepted-pages"), ==, 262144 + 1 + 512);
    qtest_quit(qts);
}

/*
 * map-gpa-max: a longer range comes back RETRY with R11 = the GPA to go
 * on from (GHCI 1.5 MapGPA), as Linux's tdx_map_gpa follows it
 */
static void test_map_gpa_retry(void)
{
    QTestState *qts = qtest_initf("-machine q35 -cpu max,phys-bits=48 "
                                  "-m 128M -nodefaults "
                                  "-device tdx-emu,mailbox=0x%llx,"
                                  "map-gpa-max=0x2000", MAILBOX_GPA);
    uint64_t next;

    g_assert_cmphex(map_gpa_next(qts, 0x300000 | SHARED_BIT, 0x5000, &next),
                    ==, TDVMCALL_RETRY);
    g_assert_cmphex(next, ==, 0x302000 | SHARED_BIT);
    g_assert_cmpuint(pages(qts, "shared-pages"), ==, 2);
    g_assert_cmphex(map_gpa_next(qts, next, 0x3000, &next), ==,
                    TDVMCALL_RETRY);
    g_assert_cmphex(next, ==, 0x304000 | SHARED_BIT);
    g_assert_cmphex(map_gpa(qts, next, 0x1000), ==, TDVMCALL_SUCCESS);
    g_assert_cmpuint(pages(qts, "shared-pages"), ==, 5);
    qtest_quit(qts);
}

static void test_accept_operands(void)
{
    static const uint64_t bad[] = {
        0x200800,                   /* not 4 KiB aligned */
        0x201000 | LEVEL_2M,        /* not 2 MiB aligned */
        0x200000 | LEVEL_1G,        /* not 1 GiB aligned */
        0x200000 | 3,               /* no such level */
        0x200000 | 0x8,             /* reserved bits 11:3 */
        0x200000 | SHARED_BIT,      /* a shared GPA */
        0x8000000,                  /* beyond the 128 MiB of RAM */
        0xfee00000,                 /* the APIC, not RAM */
    };
    QTestState *qts = memory_init();
    size_t i;

    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        g_assert_cmphex(page_accept(qts, bad[i]), ==, TDX_OPERAND_INVALID_RCX);
    }
    g_assert_cmpuint(pages(qts, "accepted-pages"), ==, 0);
    qtest_quit(qts);
}

static void test_map_gpa(void)
{
    QTestState *qts = memory_init();

    g_assert_cmphex(page_accept(qts, 0x300000), ==, TDX_SUCCESS);
    g_assert_cmphex(map_gpa(qts, 0x300000 | SHARED_BIT, 0x2000), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmpuint(pages(qts, "shared-pages"), ==, 2);
    g_assert_cmpuint(pages(qts, "accepted-pages"), ==, 0);

    /* Back to private: the TD must accept it again */
    g_assert_cmphex(map_gpa(qts, 0x300000, 0x1000), ==, TDVMCALL_SUCCESS);
    g_assert_cmpuint(pages(qts, "shared-pages"), ==, 1);
    g_assert_cmphex(page_accept(qts, 0x300000), ==, TDX_SUCCESS);

    g_assert_cmphex(map_gpa(qts, 0x300800 | SHARED_BIT, 0x1000), ==,
                    TDVMCALL_ALIGN_ERROR);
    g_assert_cmphex(map_gpa(qts, 0x300000 | SHARED_BIT, 0x800), ==,
                    TDVMCALL_ALIGN_ERROR);
    g_assert_cmphex(map_gpa(qts, 0x300000 | SHARED_BIT, 0), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(map_gpa(qts, SHARED_BIT - 0x1000, 0x2000), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmpuint(pages(qts, "shared-pages"), ==, 1);

    /* A new TD starts with all of its memory private and unaccepted */
    qtest_system_reset(qts);
    g_assert_cmpuint(pages(qts, "shared-pages"), ==, 0);
    g_assert_cmpuint(pages(qts, "accepted-pages"), ==, 0);
    qtest_quit(qts);
}

static void test_shared_alias(void)
{
    QTestState *qts = memory_init();

    qtest_writel(qts, 0x1000, 0xcafef00d);
    g_assert_cmphex(qtest_readl(qts, SHARED_BIT | 0x1000), ==, 0xcafef00d);
    qtest_writel(qts, SHARED_BIT | 0x7fff000, 0x5a5a5a5a);
    g_assert_cmphex(qtest_readl(qts, 0x7fff000), ==, 0x5a5a5a5a);
    qtest_quit(qts);
}

/*
 * A TD's memory has no ROM or holes below 1 MiB: the VGA window, q35's
 * option-ROM region and the BIOS shadow are RAM the TD can write, also
 * through the shared alias.
 */
static void test_legacy_window(void)
{
    static const uint64_t gpas[] = { 0xa0000, 0xbfffc, 0xc0000, 0xdfffc,
                                     0xe0000, 0xffffc };
    QTestState *qts = memory_init();
    size_t i;

    for (i = 0; i < ARRAY_SIZE(gpas); i++) {
        qtest_writel(qts, gpas[i], 0x5eed0000 + i);
        g_assert_cmphex(qtest_readl(qts, gpas[i]), ==, 0x5eed0000 + i);
        g_assert_cmphex(qtest_readl(qts, gpas[i] | SHARED_BIT), ==,
                        0x5eed0000 + i);
    }
    /* ACCEPT zeroes what was there, as for any other page of RAM */
    g_assert_cmphex(page_accept(qts, 0xc0000), ==, TDX_SUCCESS);
    g_assert_cmphex(qtest_readl(qts, 0xc0000), ==, 0);
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    if (!qtest_has_device("tdx-emu")) {
        return 0;
    }
    qtest_add_func("/tdx-emu/memory/accept-4k", test_accept_4k);
    qtest_add_func("/tdx-emu/memory/accept-2m", test_accept_2m);
    qtest_add_func("/tdx-emu/memory/accept-1g", test_accept_1g);
    qtest_add_func("/tdx-emu/memory/accept-operands", test_accept_operands);
    qtest_add_func("/tdx-emu/memory/map-gpa", test_map_gpa);
    qtest_add_func("/tdx-emu/memory/map-gpa-retry", test_map_gpa_retry);
    qtest_add_func("/tdx-emu/memory/shared-alias", test_shared_alias);
    qtest_add_func("/tdx-emu/memory/legacy-window", test_legacy_window);
    return g_test_run();
}
