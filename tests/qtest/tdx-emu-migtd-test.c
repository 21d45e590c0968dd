/*
 * QTest cases for MigTD's vmcall-raw interface under tdx-emu (spec §3.4,
 * §5.1): WaitForRequest, requests over QMP and their delivery, ReportStatus
 * and its event, and Send/Receive over a migration stream whose other end
 * is this test. Everything the guest would do goes through the mailbox.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/socket.h>
#include <sys/un.h>
#include "qemu/bswap.h"
#include "qobject/qdict.h"
#include "libqtest.h"
#include "tdx-emu-util.h"

#define TDVMCALL_MIGTD          0x10006
#define LEAF(n)                 ((n) | (1 << 16))
#define WAIT_FOR_REQUEST        1
#define REPORT_STATUS           2
#define SEND                    3
#define RECEIVE                 4
#define TDVMCALL_ALIGN_ERROR    0x8000000000000002ULL
#define SHARED                  (1ULL << 47)
#define WFR_GPA                 0x200000ULL
#define WFR_GPA2                0x210000ULL
#define STATUS_GPA              0x220000ULL
#define SEND_GPA                0x230000ULL
#define RECV_GPA                0x240000ULL

/* TDG.VP.VMCALL<MigTD> exposing R10-R15, RBX and RDI (0xFC88) */
static uint64_t migtd_call(QTestState *qts, uint64_t r12, uint64_t r13,
                           uint64_t r14, uint64_t r15, uint64_t rbx,
                           uint64_t rdi)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    vmcall_regs(in, TDVMCALL_MIGTD);
    in[RCX] = 0xfc88;
    in[R12] = r12;
    in[R13] = r13;
    in[R14] = r14;
    in[R15] = r15;
    in[RBX] = rbx;
    in[RDI] = rdi;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS | OUT(RBX) | OUT(RDI));
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    return out[R10];
}

static uint64_t wfr(QTestState *qts, uint64_t gpa)
{
    return migtd_call(qts, LEAF(WAIT_FOR_REQUEST), 0x7000, gpa | SHARED,
                      0x50, 0, 0);
}

static void test_wait_for_request(void)
{
    QTestState *qts = mailbox_init(NULL);
    QDict *info, *w;

    g_assert_cmphex(migtd_call(qts, WAIT_FOR_REQUEST, 0x7000,
                               WFR_GPA | SHARED, 0x50, 0, 0), ==,
                    TDVMCALL_INVALID_OPERAND);        /* API version 0 */
    g_assert_cmphex(migtd_call(qts, LEAF(WAIT_FOR_REQUEST), 0x7000,
                               (WFR_GPA + 8) | SHARED, 0x50, 0, 0), ==,
                    TDVMCALL_ALIGN_ERROR);
    g_assert_cmphex(migtd_call(qts, LEAF(WAIT_FOR_REQUEST), 0x7000,
                               WFR_GPA | SHARED, 20, 0, 0), ==,
                    TDVMCALL_INVALID_OPERAND);        /* an exception */
    g_assert_cmphex(migtd_call(qts, LEAF(WAIT_FOR_REQUEST), 0,
                               WFR_GPA | SHARED, 0x50, 0, 0), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(migtd_call(qts, LEAF(7), 0, 0, 0, 0, 0), ==,
                    TDVMCALL_INVALID_OPERAND);        /* no such leaf */
    info = query_tdx_emu(qts);
    g_assert_false(qdict_haskey(info, "wait-for-request"));
    qobject_unref(info);

    g_assert_cmphex(wfr(qts, WFR_GPA), ==, TDVMCALL_SUCCESS);
    info = query_tdx_emu(qts);
    w = qdict_get_qdict(info, "wait-for-request");
    g_assert_cmphex(qdict_get_int(w, "gpa"), ==, WFR_GPA);
    g_assert_cmphex(qdict_get_int(w, "length"), ==, 0x7000);
    qobject_unref(info);
    qtest_quit(qts);
}

static void test_requests(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint8_t buf[12 + 72];

    /* Queued until the MigTD waits, then delivered with its operation */
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'get-td-report', 'request-id': 7, "
        "'reportdata': %s}}",
        "01000000000000000000000000000000000000000000000000000000000000ff"
        "00000000000000000000000000000000000000000000000000000000000000ee");
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'enable-log-area', 'request-id': 8, "
        "'log-level': 5}}");
    expect_qmp_error(qts, "{'execute': 'tdx-emu-request', 'arguments': "
        "{'type': 'enable-log-area', 'request-id': 8, 'log-level': 5}}");
    expect_qmp_error(qts, "{'execute': 'tdx-emu-request', 'arguments': "
        "{'type': 'enable-log-area', 'request-id': 9, 'log-level': 9}}");
    expect_qmp_error(qts, "{'execute': 'tdx-emu-request', 'arguments': "
        "{'type': 'get-td-report', 'request-id': 9, 'reportdata': 'xy'}}");
    expect_qmp_error(qts, "{'execute': 'tdx-emu-request', 'arguments': "
        "{'type': 'start-migration', 'request-id': 9, 'source': true, "
        "'binding-handle': 1, 'target-uuid': "
        "'00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', "
        "'chardev': 'no-such-chardev'}}");

    g_assert_cmphex(wfr(qts, WFR_GPA), ==, TDVMCALL_SUCCESS);
    qtest_memread(qts, WFR_GPA, buf, sizeof(buf));
    g_assert_cmphex(ldq_le_p(buf), ==, 1 | (3 << 8));   /* GetTDReport */
    g_assert_cmpuint(ldl_le_p(buf + 8), ==, 72);
    g_assert_cmpuint(ldq_le_p(buf + 12), ==, 7);
    g_assert_cmphex(buf[12 + 8], ==, 0x01);
    g_assert_cmphex(buf[12 + 8 + 31], ==, 0xff);
    g_assert_cmphex(buf[12 + 8 + 63], ==, 0xee);

    /* The next one waits for the next WaitForRequest */
    g_assert_cmphex(wfr(qts, WFR_GPA2), ==, TDVMCALL_SUCCESS);
    qtest_memread(qts, WFR_GPA2, buf, 12 + 16);
    g_assert_cmphex(ldq_le_p(buf), ==, 1 | (4 << 8));   /* EnableLogArea */
    g_assert_cmpuint(ldl_le_p(buf + 8), ==, 16);
    g_assert_cmpuint(ldq_le_p(buf + 12), ==, 8);
    g_assert_cmpuint(buf[12 + 8], ==, 5);
    qtest_quit(qts);
}

static uint64_t report_status(QTestState *qts, uint64_t id, uint64_t status,
                              const char *data)
{
    uint8_t hdr[12] = { 0 };

    stl_le_p(hdr + 8, strlen(data));
    qtest_memwrite(qts, STATUS_GPA, hdr, sizeof(hdr));
    qtest_memwrite(qts, STATUS_GPA + 12, data, strlen(data));
    return migtd_call(qts, LEAF(REPORT_STATUS), id, status, 0x1000,
                      STATUS_GPA | SHARED, 0x50);
}

static void test_report_status(void)
{
    QTestState *qts = mailbox_init(NULL);
    QDict *ev, *data;

    /* Nothing is running: a status for an unknown request is refused */
    g_assert_cmphex(report_status(qts, 99, 0, ""), ==,
                    TDVMCALL_INVALID_OPERAND);

    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'get-migtd-data', 'request-id': 5}}");
    g_assert_cmphex(wfr(qts, WFR_GPA), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(report_status(qts, 5, 1ULL << 16, ""), ==,
                    TDVMCALL_INVALID_OPERAND);        /* reserved bits */
    g_assert_cmphex(report_status(qts, 5, 0, "hello"), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readb(qts, STATUS_GPA), ==, 1);   /* acked */
    ev = qtest_qmp_eventwait_ref(qts, "TDX_EMU_REQUEST_COMPLETE");
    data = qdict_get_qdict(ev, "data");
    g_assert_cmpuint(qdict_get_int(data, "request-id"), ==, 5);
    g_assert_cmpstr(qdict_get_str(data, "type"), ==, "get-migtd-data");
    g_assert_cmpstr(qdict_get_str(data, "status"), ==, "success");
    g_assert_cmpstr(qdict_get_str(data, "data"), ==, "aGVsbG8=");
    qobject_unref(ev);

    /* A failure carries its MigrationResult */
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'get-td-report', 'request-id': 6}}");
    g_assert_cmphex(wfr(qts, WFR_GPA), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(report_status(qts, 6, 1 | (11 << 8), "oops"), ==,
                    TDVMCALL_SUCCESS);
    ev = qtest_qmp_eventwait_ref(qts, "TDX_EMU_REQUEST_COMPLETE");
    data = qdict_get_qdict(ev, "data");
    g_assert_cmpstr(qdict_get_str(data, "status"), ==, "failure");
    g_assert_cmpuint(qdict_get_int(data, "result"), ==, 11);
    g_assert_cmpstr(qdict_get_str(data, "result-name"), ==,
                    "VmmInternalError");
    qobject_unref(ev);

    /* Done: the id is free again, and no longer known to ReportStatus */
    g_assert_cmphex(report_status(qts, 6, 0, ""), ==,
                    TDVMCALL_INVALID_OPERAND);
    qtest_quit(qts);
}

/* Wait for the device to write a vmcall-raw header at @gpa */
static uint64_t wait_header(QTestState *qts, uint64_t gpa)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
    uint64_t status;

    while (!(status = qtest_readq(qts, gpa)) &&
           g_get_monotonic_time() < deadline) {
        g_usleep(1000);
    }
    return status;
}

static void test_stream(void)
{
    g_autofree char *dir = g_dir_make_tmp("tdx-emu-XXXXXX", NULL);
    g_autofree char *path = g_strdup_printf("%s/mig.sock", dir);
    g_autofree char *extra = g_strdup_printf(
        " -chardev socket,id=mig0,path=%s,server=on,wait=off", path);
    QTestState *qts = mailbox_init(extra);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    uint8_t hdr[12] = { 0 }, got[16];
    int peer = socket(AF_UNIX, SOCK_STREAM, 0);

    g_assert(peer >= 0);
    g_strlcpy(addr.sun_path, path, sizeof(addr.sun_path));
    g_assert(connect(peer, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'start-migration', 'request-id': 3, "
        "'source': true, 'binding-handle': 4096, 'target-uuid': %s, "
        "'chardev': 'mig0'}}",
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    g_assert_cmphex(wfr(qts, WFR_GPA), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readq(qts, WFR_GPA), ==, 1 | (1 << 8));

    /* Send: 12 + n exactly; the bytes reach the peer */
    stl_le_p(hdr + 8, 5);
    qtest_memwrite(qts, SEND_GPA, hdr, sizeof(hdr));
    qtest_memwrite(qts, SEND_GPA + 12, "abcde", 5);
    g_assert_cmphex(migtd_call(qts, LEAF(SEND), 3, 12 + 6, SEND_GPA | SHARED,
                               0x52, 0), ==, TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(migtd_call(qts, LEAF(SEND), 4, 12 + 5, SEND_GPA | SHARED,
                               0x52, 0), ==, TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(migtd_call(qts, LEAF(SEND), 3, 12 + 5, SEND_GPA | SHARED,
                               0x52, 0), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readb(qts, SEND_GPA), ==, 1);
    g_assert_cmpint(recv(peer, got, 5, MSG_WAITALL), ==, 5);
    g_assert_cmpmem(got, 5, "abcde", 5);

    /* Receive: pending until bytes arrive, then never with length 0 */
    qtest_memset(qts, RECV_GPA, 0, 12);
    g_assert_cmphex(migtd_call(qts, LEAF(RECEIVE), 3, 0x10000,
                               RECV_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readq(qts, RECV_GPA), ==, 0);
    g_assert_cmpint(send(peer, "xyz", 3, 0), ==, 3);
    g_assert_cmphex(wait_header(qts, RECV_GPA), ==, 1);
    g_assert_cmpuint(qtest_readl(qts, RECV_GPA + 8), ==, 3);
    qtest_memread(qts, RECV_GPA + 12, got, 3);
    g_assert_cmpmem(got, 3, "xyz", 3);

    /* The peer goes away: a pending Receive is canceled by the VMM */
    qtest_memset(qts, RECV_GPA, 0, 12);
    g_assert_cmphex(migtd_call(qts, LEAF(RECEIVE), 3, 0x10000,
                               RECV_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_SUCCESS);
    close(peer);
    g_assert_cmphex(wait_header(qts, RECV_GPA), ==, 2 | (3 << 8));

    /* ... and so is a Send after that; the VM carries on */
    qtest_memwrite(qts, SEND_GPA, hdr, sizeof(hdr));
    g_assert_cmphex(migtd_call(qts, LEAF(SEND), 3, 12 + 5, SEND_GPA | SHARED,
                               0x52, 0), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readq(qts, SEND_GPA), ==, 2 | (3 << 8));
    qtest_quit(qts);
    unlink(path);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    if (!qtest_has_device("tdx-emu")) {
        return 0;
    }
    qtest_add_func("/tdx-emu/migtd/wait-for-request", test_wait_for_request);
    qtest_add_func("/tdx-emu/migtd/requests", test_requests);
    qtest_add_func("/tdx-emu/migtd/report-status", test_report_status);
    qtest_add_func("/tdx-emu/migtd/stream", test_stream);
    return g_test_run();
}
