/*
 * QTest cases for MigTD's two control paths under tdx-emu: vmcall-raw
 * (MigTD src/devices/vmcall_raw) and TDG.VP.VMCALL<Service>, which its
 * other builds use (src/migtd/src/migration/session.rs, data.rs):
 * WaitForRequest, requests over QMP and their delivery, ReportStatus and
 * its event, and vmcall-raw's Send/Receive over a migration stream whose
 * other end is this test.
 * Everything the guest would do goes through the mailbox.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/socket.h>
#include <sys/un.h>
#include "qemu/bswap.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
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

static uint64_t report_status_bytes(QTestState *qts, uint64_t id,
                                    uint64_t status, const void *data,
                                    uint32_t len)
{
    uint8_t hdr[12] = { 0 };

    stl_le_p(hdr + 8, len);
    qtest_memwrite(qts, STATUS_GPA, hdr, sizeof(hdr));
    qtest_memwrite(qts, STATUS_GPA + 12, data, len);
    return migtd_call(qts, LEAF(REPORT_STATUS), id, status, 0x1000,
                      STATUS_GPA | SHARED, 0x50);
}

static uint64_t report_status(QTestState *qts, uint64_t id, uint64_t status,
                              const char *data)
{
    return report_status_bytes(qts, id, status, data, strlen(data));
}

/* The host may queue at most 1,024 requests (docs/security.md) */
#define MAX_REQUESTS            1024

static void test_request_limit(void)
{
    QTestState *qts = mailbox_init(NULL);
    int id;

    for (id = 0; id < MAX_REQUESTS; id++) {
        qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
            "'arguments': {'type': 'enable-log-area', 'request-id': %d, "
            "'log-level': 1}}", id);
    }
    expect_qmp_error(qts, "{'execute': 'tdx-emu-request', 'arguments': "
        "{'type': 'enable-log-area', 'request-id': %d, 'log-level': 1}}", id);
    /* One delivered and reported makes room for the next */
    g_assert_cmphex(wfr(qts, WFR_GPA), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(report_status(qts, 0, 0, ""), ==, TDVMCALL_SUCCESS);
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'enable-log-area', 'request-id': %d, "
        "'log-level': 1}}", id);
    qtest_quit(qts);
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

/*
 * A VM (@props appended to the device) whose chardev mig0 is a socket to
 * the test, and start-migration request 3 on it delivered
 */
typedef struct Stream {
    QTestState *qts;
    char *dir, *path;
    int peer;
} Stream;

static QDict *start_migration(QTestState *qts, uint64_t id)
{
    return qtest_qmp(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'start-migration', 'request-id': %" PRIu64 ", "
        "'source': true, 'binding-handle': 4096, 'target-uuid': %s, "
        "'chardev': 'mig0'}}", id,
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
}

static void stream_start(Stream *s, const char *props)
{
    g_autofree char *extra = NULL;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = 10 };
    QDict *rsp;

    s->dir = g_dir_make_tmp("tdx-emu-XXXXXX", NULL);
    s->path = g_strdup_printf("%s/mig.sock", s->dir);
    extra = g_strdup_printf("%s -chardev socket,id=mig0,path=%s,server=on,"
                            "wait=off", props, s->path);
    s->qts = mailbox_init(extra);
    s->peer = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert(s->peer >= 0);
    g_assert(!setsockopt(s->peer, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
    g_strlcpy(addr.sun_path, s->path, sizeof(addr.sun_path));
    g_assert(connect(s->peer, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    rsp = start_migration(s->qts, 3);
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
    g_assert_cmphex(wfr(s->qts, WFR_GPA), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readq(s->qts, WFR_GPA), ==, 1 | (1 << 8));
}

static void stream_stop(Stream *s)
{
    qtest_quit(s->qts);
    close(s->peer);
    unlink(s->path);
    rmdir(s->dir);
    g_free(s->path);
    g_free(s->dir);
}

static void test_stream(void)
{
    Stream s;
    uint8_t hdr[12] = { 0 }, got[16];

    stream_start(&s, "");

    /* Send: 12 + n exactly; the bytes reach the peer */
    stl_le_p(hdr + 8, 5);
    qtest_memwrite(s.qts, SEND_GPA, hdr, sizeof(hdr));
    qtest_memwrite(s.qts, SEND_GPA + 12, "abcde", 5);
    g_assert_cmphex(migtd_call(s.qts, LEAF(SEND), 3, 12 + 6,
                               SEND_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(migtd_call(s.qts, LEAF(SEND), 4, 12 + 5,
                               SEND_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(migtd_call(s.qts, LEAF(SEND), 3, 12 + 5,
                               SEND_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readb(s.qts, SEND_GPA), ==, 1);
    g_assert_cmpint(recv(s.peer, got, 5, MSG_WAITALL), ==, 5);
    g_assert_cmpmem(got, 5, "abcde", 5);

    /* Receive: pending until bytes arrive, then never with length 0 */
    qtest_memset(s.qts, RECV_GPA, 0, 12);
    g_assert_cmphex(migtd_call(s.qts, LEAF(RECEIVE), 3, 0x10000,
                               RECV_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readq(s.qts, RECV_GPA), ==, 0);
    g_assert_cmpint(send(s.peer, "xyz", 3, 0), ==, 3);
    g_assert_cmphex(wait_header(s.qts, RECV_GPA), ==, 1);
    g_assert_cmpuint(qtest_readl(s.qts, RECV_GPA + 8), ==, 3);
    qtest_memread(s.qts, RECV_GPA + 12, got, 3);
    g_assert_cmpmem(got, 3, "xyz", 3);

    /* The peer goes away: a pending Receive is canceled by the VMM */
    qtest_memset(s.qts, RECV_GPA, 0, 12);
    g_assert_cmphex(migtd_call(s.qts, LEAF(RECEIVE), 3, 0x10000,
                               RECV_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_SUCCESS);
    shutdown(s.peer, SHUT_RDWR);
    g_assert_cmphex(wait_header(s.qts, RECV_GPA), ==, 2 | (3 << 8));

    /* ... and so is a Send after that; the VM carries on */
    qtest_memwrite(s.qts, SEND_GPA, hdr, sizeof(hdr));
    g_assert_cmphex(migtd_call(s.qts, LEAF(SEND), 3, 12 + 5,
                               SEND_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readq(s.qts, SEND_GPA), ==, 2 | (3 << 8));
    stream_stop(&s);
}

/* A full 64 KiB Send buffer at BIG_GPA */
#define BIG_GPA                 0x300000ULL
#define BIG_DATA                (0x10000 - 12)
#define STREAM_TX_MAX           (1024 * 1024)   /* docs/migration.md */

/* Send BIG_DATA bytes of @fill; the data_status right after the call */
static uint64_t send_big(QTestState *qts, uint8_t fill)
{
    uint8_t hdr[12] = { 0 };

    stl_le_p(hdr + 8, BIG_DATA);
    qtest_memwrite(qts, BIG_GPA, hdr, sizeof(hdr));
    qtest_memset(qts, BIG_GPA + 12, fill, BIG_DATA);
    g_assert_cmphex(migtd_call(qts, LEAF(SEND), 3, 0x10000, BIG_GPA | SHARED,
                               0x52, 0), ==, TDVMCALL_SUCCESS);
    return qtest_readq(qts, BIG_GPA);
}

/*
 * Send (Send i carrying bytes i) to a peer that does not read until a
 * Send stays pending: only after the device queued its 1 MiB. Returns
 * how many completed.
 */
static int send_until_pending(QTestState *qts)
{
    int i;

    for (i = 0; i < 256 && send_big(qts, i) == 1; i++) {
        continue;
    }
    g_assert_cmpint(i, <, 256);
    g_assert_cmpint(i, >=, STREAM_TX_MAX / BIG_DATA);
    return i;
}

/* The peer reads @n Sends' worth; each holds its own fill byte */
static void peer_read_sends(int peer, int n)
{
    g_autofree uint8_t *buf = g_malloc(BIG_DATA);
    int i, j;

    for (i = 0; i < n; i++) {
        g_assert_cmpint(recv(peer, buf, BIG_DATA, MSG_WAITALL), ==,
                        BIG_DATA);
        for (j = 0; j < BIG_DATA && buf[j] == (uint8_t)i; j++) {
            continue;
        }
        g_assert_cmpint(j, ==, BIG_DATA);
    }
}

static void test_stream_backpressure(void)
{
    Stream s;
    uint8_t hdr[12] = { 0 };
    int n;

    stream_start(&s, "");
    n = send_until_pending(s.qts);

    /* One Send may be pending: a second one is refused, the first waits */
    stl_le_p(hdr + 8, 1);
    qtest_memwrite(s.qts, SEND_GPA, hdr, sizeof(hdr));
    g_assert_cmphex(migtd_call(s.qts, LEAF(SEND), 3, 12 + 1,
                               SEND_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(qtest_readq(s.qts, SEND_GPA), ==, 0);
    g_assert_cmphex(qtest_readq(s.qts, BIG_GPA), ==, 0);

    /* The peer reads: the pending Send completes, its bytes come last */
    peer_read_sends(s.peer, n + 1);
    g_assert_cmphex(wait_header(s.qts, BIG_GPA), ==, 1);

    /* Pending again, then the peer goes away: canceled by the VMM */
    send_until_pending(s.qts);
    shutdown(s.peer, SHUT_RDWR);
    g_assert_cmphex(wait_header(s.qts, BIG_GPA), ==, 2 | (3 << 8));
    stream_stop(&s);
}

/* A new request may use the chardev once the old stream let it go */
static void start_migration_when_free(QTestState *qts, uint64_t id)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
    QDict *rsp;

    while (qdict_haskey(rsp = start_migration(qts, id), "error") &&
           g_get_monotonic_time() < deadline) {
        qobject_unref(rsp);
        g_usleep(10 * 1000);
    }
    g_assert(qdict_haskey(rsp, "return"));
    qobject_unref(rsp);
}

/* Request 4 on mig0 is delivered and receives from the peer */
static void check_new_request(Stream *s)
{
    g_assert_cmphex(wfr(s->qts, WFR_GPA2), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readq(s->qts, WFR_GPA2), ==, 1 | (1 << 8));
    g_assert_cmpuint(qtest_readq(s->qts, WFR_GPA2 + 12), ==, 4);
    qtest_memset(s->qts, RECV_GPA, 0, 12);
    g_assert_cmphex(migtd_call(s->qts, LEAF(RECEIVE), 4, 0x10000,
                               RECV_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmpint(send(s->peer, "new", 3, 0), ==, 3);
    g_assert_cmphex(wait_header(s->qts, RECV_GPA), ==, 1);
    g_assert_cmpuint(qtest_readl(s->qts, RECV_GPA + 8), ==, 3);
}

/*
 * The request ends with a Send and a Receive pending: both are canceled;
 * what completed Sends queued still reaches the peer, then the chardev
 * is free for the next request.
 */
static void test_stream_end(void)
{
    Stream s;
    uint8_t extra;
    int n;

    stream_start(&s, "");
    n = send_until_pending(s.qts);
    qtest_memset(s.qts, RECV_GPA, 0, 12);
    g_assert_cmphex(migtd_call(s.qts, LEAF(RECEIVE), 3, 0x10000,
                               RECV_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(report_status(s.qts, 3, 1 | (10 << 8), ""), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readq(s.qts, BIG_GPA), ==, 2 | (3 << 8));
    g_assert_cmphex(qtest_readq(s.qts, RECV_GPA), ==, 2 | (3 << 8));

    peer_read_sends(s.peer, n);
    g_assert_cmpint(recv(s.peer, &extra, 1, MSG_DONTWAIT), ==, -1);
    start_migration_when_free(s.qts, 4);
    check_new_request(&s);
    stream_stop(&s);
}

/*
 * A peer that never reads: the ended request's stream gives up after
 * stream-drain-ms and lets the chardev go.
 */
static void test_stream_drain_bound(void)
{
    Stream s;

    stream_start(&s, ",stream-drain-ms=100");
    send_until_pending(s.qts);
    g_assert_cmphex(report_status(s.qts, 3, 1 | (5 << 8), ""), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readq(s.qts, BIG_GPA), ==, 2 | (3 << 8));
    start_migration_when_free(s.qts, 4);
    check_new_request(&s);
    stream_stop(&s);
}

/* VmRSS of @pid in KiB, and how many file descriptors it has open */
static uint64_t rss_kib(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", pid);
    g_autofree char *status = NULL;
    const char *line;

    g_assert(g_file_get_contents(path, &status, NULL, NULL));
    line = strstr(status, "VmRSS:");
    g_assert(line);
    return g_ascii_strtoull(line + strlen("VmRSS:"), NULL, 10);
}

static unsigned open_fds(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/fd", pid);
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    unsigned n = 0;

    g_assert(dir);
    while (g_dir_read_name(dir)) {
        n++;
    }
    return n;
}

/* One whole request on mig0: delivered, a Send, a Receive, its status */
static void serve_request(Stream *s, uint64_t id)
{
    uint8_t hdr[12] = { 0 }, got[5];
    QDict *rsp;

    if (id > 3) {
        rsp = start_migration(s->qts, id);
        g_assert(qdict_haskey(rsp, "return"));
        qobject_unref(rsp);
        g_assert_cmphex(wfr(s->qts, WFR_GPA), ==, TDVMCALL_SUCCESS);
    }
    stl_le_p(hdr + 8, 5);
    qtest_memwrite(s->qts, SEND_GPA, hdr, sizeof(hdr));
    qtest_memwrite(s->qts, SEND_GPA + 12, "abcde", 5);
    g_assert_cmphex(migtd_call(s->qts, LEAF(SEND), id, 12 + 5,
                               SEND_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmpint(recv(s->peer, got, 5, MSG_WAITALL), ==, 5);
    qtest_memset(s->qts, RECV_GPA, 0, 12);
    g_assert_cmphex(migtd_call(s->qts, LEAF(RECEIVE), id, 0x10000,
                               RECV_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmpint(send(s->peer, "xyz", 3, 0), ==, 3);
    g_assert_cmphex(wait_header(s->qts, RECV_GPA), ==, 1);
    g_assert_cmphex(report_status(s->qts, id, 0, ""), ==, TDVMCALL_SUCCESS);
    qobject_unref(qtest_qmp_eventwait_ref(s->qts, "TDX_EMU_REQUEST_COMPLETE"));
}

/*
 * Soak: one VM serves 1,000 requests over one stream. After a warm-up
 * of 100, its open file descriptors stay the same and its RSS grows by
 * less than SOAK_RSS_SLACK_KIB (docs/security.md).
 */
#define SOAK_REQUESTS       1000
#define SOAK_WARMUP         100
#define SOAK_RSS_SLACK_KIB  512

static void test_soak(void)
{
    Stream s;
    uint64_t id, rss = 0;
    unsigned fds = 0;
    pid_t pid;

    stream_start(&s, "");
    pid = qtest_pid(s.qts);
    for (id = 3; id < 3 + SOAK_REQUESTS; id++) {
        serve_request(&s, id);
        if (id == 3 + SOAK_WARMUP) {
            rss = rss_kib(pid);
            fds = open_fds(pid);
        }
    }
    g_test_message("after %d requests: RSS %" PRIu64 " KiB, %u fds; after "
                   "%d: RSS %" PRIu64 " KiB, %u fds", SOAK_WARMUP, rss, fds,
                   SOAK_REQUESTS, rss_kib(pid), open_fds(pid));
    g_assert_cmpuint(open_fds(pid), ==, fds);
    g_assert_cmpuint(rss_kib(pid), <, rss + SOAK_RSS_SLACK_KIB);
    stream_stop(&s);
}

/* ------------------------------------------------------------------ */
/*
 * TDG.VP.VMCALL<Service>, the control path of MigTD's other builds
 * (src/migtd/src/migration/session.rs without vmcall-raw, data.rs)
 */

#define TDVMCALL_SERVICE        0x10005
#define CMD_GPA                 0x300000ULL
#define RSP_GPA                 (CMD_GPA + PAGE)
#define SD_GPA                  0x302000ULL
#define SVC_SUCCESS             0
#define SVC_TIME_OUT            2
#define SVC_RSP_BUF_TOO_SMALL   3
#define SVC_BAD_CMD_BUF_SIZE    4
#define SVC_BAD_RSP_BUF_SIZE    5
#define SVC_INVALID_OPERAND     7
#define SVC_UNSUPPORTED         0xfffffffe
#define PAGE                    0x1000

static const uint8_t common_guid[16] = {
    0xe1, 0xc5, 0x6f, 0xfb, 0x78, 0x33, 0xcb, 0x4a,
    0x89, 0x64, 0xfa, 0x5e, 0xe4, 0x3b, 0x9c, 0x8a,
};
static const uint8_t migtd_guid[16] = {
    0x30, 0x63, 0x0e, 0xe6, 0x09, 0x1e, 0x87, 0x43,
    0xa4, 0x44, 0x8f, 0x32, 0xb8, 0xd6, 0x11, 0xe5,
};
static const uint8_t mig_info_guid[16] = {
    0x98, 0xe3, 0xb5, 0x42, 0x99, 0xa1, 0x30, 0x4d,
    0xbe, 0xfc, 0xc7, 0x5a, 0xc3, 0xda, 0x5d, 0x7c,
};
static const uint8_t socket_info_guid[16] = {
    0x9d, 0x3b, 0x10, 0x7a, 0x2b, 0x55, 0x5f, 0x48,
    0xbb, 0x4c, 0x2f, 0x3d, 0x2e, 0x8b, 0x1e, 0x0e,
};
static const uint8_t policy_guid[16] = {
    0x1a, 0x77, 0x4f, 0xd6, 0xc9, 0xf0, 0x33, 0x4d,
    0x99, 0x8b, 0x0e, 0x3d, 0x8b, 0x94, 0x0a, 0x61,
};

static uint64_t service_call(QTestState *qts, uint64_t cmd, uint64_t rsp,
                             uint64_t vector, uint64_t timeout)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    vmcall_regs(in, TDVMCALL_SERVICE);
    in[R12] = cmd;
    in[R13] = rsp;
    in[R14] = vector;
    in[R15] = timeout;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    return out[R10];
}

/*
 * A command {@guid; 24 + @len; 0} + @data at @gpa, and a zeroed response
 * page after it with {@guid; @rsp_len; 0}, as MigTD prepares them
 */
static void service_buffers_at(QTestState *qts, uint64_t gpa,
                               const uint8_t *guid, const void *data,
                               uint32_t len, uint32_t rsp_len)
{
    uint8_t hdr[24] = { 0 };

    memcpy(hdr, guid, 16);
    stl_le_p(hdr + 16, 24 + len);
    qtest_memwrite(qts, gpa, hdr, sizeof(hdr));
    qtest_memwrite(qts, gpa + 24, data, len);
    qtest_memset(qts, gpa + PAGE, 0, PAGE);
    stl_le_p(hdr + 16, rsp_len);
    qtest_memwrite(qts, gpa + PAGE, hdr, sizeof(hdr));
}

static void service_buffers(QTestState *qts, const uint8_t *guid,
                            const void *data, uint32_t len, uint32_t rsp_len)
{
    service_buffers_at(qts, CMD_GPA, guid, data, len, rsp_len);
}

/* One command with one-page buffers; @rsp gets the response page */
static uint32_t service(QTestState *qts, const uint8_t *guid,
                        const void *data, uint32_t len, uint64_t vector,
                        uint8_t *rsp)
{
    service_buffers(qts, guid, data, len, PAGE);
    g_assert_cmphex(service_call(qts, CMD_GPA | SHARED, RSP_GPA | SHARED,
                                 vector, 0), ==, TDVMCALL_SUCCESS);
    qtest_memread(qts, RSP_GPA, rsp, PAGE);
    return ldl_le_p(rsp + 20);
}

static uint32_t query(QTestState *qts, const uint8_t *ver_cmd,
                      const uint8_t *guid, uint8_t *rsp)
{
    uint8_t cmd[20] = { ver_cmd[0], ver_cmd[1] };

    memcpy(cmd + 4, guid, 16);
    return service(qts, common_guid, cmd, sizeof(cmd), 0, rsp);
}

static void test_service_query(void)
{
    QTestState *qts = mailbox_init(NULL);
    static const uint8_t v0[2] = { 0, 0 }, v1[2] = { 1, 0 },
                         cmd1[2] = { 0, 1 };
    uint8_t rsp[PAGE], other[16] = { 1 };

    /* MigTD's own Query: supported, the GUID echoed */
    g_assert_cmphex(query(qts, v0, migtd_guid, rsp), ==, SVC_SUCCESS);
    g_assert_cmpmem(rsp, 16, common_guid, 16);
    g_assert_cmpuint(ldl_le_p(rsp + 16), ==, 24 + 20);
    g_assert_cmpuint(rsp[24], ==, 0);                   /* version */
    g_assert_cmpuint(rsp[25], ==, 0);                   /* Query */
    g_assert_cmpuint(rsp[26], ==, 0);                   /* supported */
    g_assert_cmpmem(rsp + 28, 16, migtd_guid, 16);
    /* Another service is not */
    g_assert_cmphex(query(qts, v0, other, rsp), ==, SVC_SUCCESS);
    g_assert_cmpuint(rsp[26], ==, 1);
    g_assert_cmpmem(rsp + 28, 16, other, 16);
    /* An unknown version or command */
    g_assert_cmphex(query(qts, v1, migtd_guid, rsp), ==, SVC_UNSUPPORTED);
    g_assert_cmphex(query(qts, cmd1, migtd_guid, rsp), ==, SVC_UNSUPPORTED);
    g_assert_cmpuint(ldl_le_p(rsp + 16), ==, 24);
    /* A Query without its GUID */
    g_assert_cmphex(service(qts, common_guid, v0, 4, 0, rsp), ==,
                    SVC_BAD_CMD_BUF_SIZE);
    qtest_quit(qts);
}

/* Bad buffers: a status, never a dead VM */
static void test_service_malformed(void)
{
    QTestState *qts = mailbox_init(NULL);
    static const uint8_t wfr_cmd[4] = { 0, 1 }, unknown[4] = { 0, 9 };
    uint8_t rsp[PAGE], q[20] = { 0 };
    QDict *info;

    memcpy(q + 4, migtd_guid, 16);
    service_buffers(qts, common_guid, q, sizeof(q), PAGE);
    g_assert_cmphex(service_call(qts, (CMD_GPA + 8) | SHARED,
                                 RSP_GPA | SHARED, 0, 0), ==,
                    TDVMCALL_ALIGN_ERROR);
    g_assert_cmphex(service_call(qts, CMD_GPA | SHARED,
                                 (RSP_GPA + 24) | SHARED, 0, 0), ==,
                    TDVMCALL_ALIGN_ERROR);
    g_assert_cmphex(service_call(qts, CMD_GPA | SHARED, RSP_GPA | SHARED,
                                 20, 0), ==, TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(service_call(qts, CMD_GPA | SHARED, RSP_GPA | SHARED,
                                 256, 0), ==, TDVMCALL_INVALID_OPERAND);
    /* Not RAM: the mailbox's MMIO, the IOAPIC, beyond the end of RAM */
    g_assert_cmphex(service_call(qts, MAILBOX_GPA | SHARED,
                                 RSP_GPA | SHARED, 0, 0), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(service_call(qts, CMD_GPA | SHARED,
                                 0xfec00000ULL | SHARED, 0, 0), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(service_call(qts, CMD_GPA | SHARED,
                                 0x40000000ULL | SHARED, 0, 0), ==,
                    TDVMCALL_INVALID_OPERAND);

    /* Lying lengths: the command's, the response's, a response too small */
    service_buffers(qts, common_guid, q, sizeof(q), PAGE);
    qtest_writel(qts, CMD_GPA + 16, 16);
    g_assert_cmphex(service_call(qts, CMD_GPA | SHARED, RSP_GPA | SHARED,
                                 0, 0), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readl(qts, RSP_GPA + 20), ==, SVC_BAD_CMD_BUF_SIZE);
    service_buffers(qts, common_guid, q, sizeof(q), PAGE);
    qtest_writel(qts, CMD_GPA + 16, 0x7fffffff);
    g_assert_cmphex(service_call(qts, CMD_GPA | SHARED, RSP_GPA | SHARED,
                                 0, 0), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readl(qts, RSP_GPA + 20), ==, SVC_BAD_CMD_BUF_SIZE);
    service_buffers(qts, common_guid, q, sizeof(q), 8);
    g_assert_cmphex(service_call(qts, CMD_GPA | SHARED, RSP_GPA | SHARED,
                                 0, 0), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readl(qts, RSP_GPA + 20), ==, SVC_BAD_RSP_BUF_SIZE);
    service_buffers(qts, common_guid, q, sizeof(q), 0x7fffffff);
    g_assert_cmphex(service_call(qts, CMD_GPA | SHARED, RSP_GPA | SHARED,
                                 0, 0), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readl(qts, RSP_GPA + 20), ==, SVC_BAD_RSP_BUF_SIZE);
    service_buffers(qts, common_guid, q, sizeof(q), 30);
    g_assert_cmphex(service_call(qts, CMD_GPA | SHARED, RSP_GPA | SHARED,
                                 0, 0), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readl(qts, RSP_GPA + 20), ==,
                    SVC_RSP_BUF_TOO_SMALL);
    g_assert_cmpuint(qtest_readl(qts, RSP_GPA + 16), ==, 24 + 20);
    g_assert_cmphex(qtest_readb(qts, RSP_GPA + 24), ==, 0);  /* not written */

    /* Wrong GUID, short and unknown commands */
    g_assert_cmphex(service(qts, mig_info_guid, wfr_cmd, 4, 0, rsp), ==,
                    SVC_UNSUPPORTED);
    g_assert_cmpmem(rsp, 16, mig_info_guid, 16);
    g_assert_cmphex(service(qts, migtd_guid, wfr_cmd, 0, 0, rsp), ==,
                    SVC_BAD_CMD_BUF_SIZE);
    g_assert_cmphex(service(qts, migtd_guid, wfr_cmd, 3, 0, rsp), ==,
                    SVC_BAD_CMD_BUF_SIZE);
    g_assert_cmphex(service(qts, migtd_guid, unknown, 4, 0, rsp), ==,
                    SVC_UNSUPPORTED);

    /* The VM still runs and answers */
    info = query_tdx_emu(qts);
    qobject_unref(info);
    g_assert_cmphex(service(qts, common_guid, q, sizeof(q), 0, rsp), ==,
                    SVC_SUCCESS);
    qtest_quit(qts);
}

#define TARGET_UUID \
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* start-migration @id without a chardev; with every HOB option if @hobs */
static void start_ok(QTestState *qts, uint64_t id, bool hobs)
{
    if (hobs) {
        qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
            "'arguments': {'type': 'start-migration', 'request-id': %"
            PRIu64 ", 'source': true, 'binding-handle': 4096, "
            "'target-uuid': %s, 'vsock-cid': 18, 'vsock-port': 1234, "
            "'quote-service-port': 40, 'mig-policy-id': 7, "
            "'mig-policy': 'aGVsbG8gcG9saWN5'}}", id, TARGET_UUID);
    } else {
        qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
            "'arguments': {'type': 'start-migration', 'request-id': %"
            PRIu64 ", 'source': true, 'binding-handle': 4096, "
            "'target-uuid': %s}}", id, TARGET_UUID);
    }
}

/* A GUID HOB at @hob: its type, length and GUID; returns its data */
static const uint8_t *guid_hob(const uint8_t *hob, const uint8_t *guid,
                               uint16_t len)
{
    g_assert_cmphex(lduw_le_p(hob), ==, 4);
    g_assert_cmpuint(lduw_le_p(hob + 2), ==, len);
    g_assert_cmpmem(hob + 8, 16, guid, 16);
    return hob + 24;
}

static uint32_t svc_report_status(QTestState *qts, uint64_t id,
                                  uint8_t operation, uint8_t status,
                                  uint8_t *rsp)
{
    uint8_t cmd[12] = { 0, 2, operation, status };

    stq_le_p(cmd + 4, id);
    return service(qts, migtd_guid, cmd, sizeof(cmd), 0, rsp);
}

static void test_service_wait_for_request(void)
{
    QTestState *qts = mailbox_init(NULL);
    static const uint8_t wfr_cmd[4] = { 0, 1 };
    const uint8_t *hob, *d;
    uint8_t rsp[PAGE];
    QDict *ev, *data, *info, *w;

    /* Polling: nothing waits yet */
    g_assert_cmphex(service(qts, migtd_guid, wfr_cmd, 4, 0, rsp), ==,
                    SVC_SUCCESS);
    g_assert_cmpmem(rsp, 16, migtd_guid, 16);
    g_assert_cmpuint(ldl_le_p(rsp + 16), ==, 28);
    g_assert_cmphex(ldl_le_p(rsp + 24), ==, 0x100);     /* cmd 1, none */
    /* The host sees a MigTD waiting, as with vmcall-raw */
    info = query_tdx_emu(qts);
    w = qdict_get_qdict(info, "wait-for-request");
    g_assert_cmphex(qdict_get_int(w, "gpa"), ==, RSP_GPA);
    g_assert_cmpuint(qdict_get_int(w, "vector"), ==, 0);
    g_assert_cmpuint(qdict_get_int(info, "wait-for-request-count"), ==, 1);
    qobject_unref(info);

    expect_qmp_error(qts, "{'execute': 'tdx-emu-request', 'arguments': "
        "{'type': 'start-migration', 'request-id': 3, 'source': true, "
        "'binding-handle': 4096, 'target-uuid': %s, 'mig-policy': '!'}}",
        TARGET_UUID);
    start_ok(qts, 3, true);
    g_assert_cmphex(service(qts, migtd_guid, wfr_cmd, 4, 0, rsp), ==,
                    SVC_SUCCESS);
    g_assert_cmpuint(ldl_le_p(rsp + 16), ==, 24 + 4 + 96 + 48 + 56 + 8);
    g_assert_cmphex(ldl_le_p(rsp + 24), ==, 0x10100);   /* cmd 1, start */
    /* The HOB list, as MigTD's read_mig_info walks it */
    hob = rsp + 28;
    d = guid_hob(hob, mig_info_guid, 24 + 72);
    g_assert_cmpuint(ldq_le_p(d), ==, 3);               /* request id */
    g_assert_cmpuint(d[8], ==, 1);                      /* source */
    g_assert_cmpuint(d[9], ==, 0);                      /* no init data */
    g_assert_cmphex(d[16], ==, 0x00);                   /* target UUID */
    g_assert_cmphex(d[47], ==, 0xff);
    g_assert_cmpuint(ldq_le_p(d + 48), ==, 4096);       /* binding handle */
    g_assert_cmpuint(ldq_le_p(d + 56), ==, 7);          /* mig_policy_id */
    g_assert_cmpuint(ldq_le_p(d + 64), ==, 3);          /* communication id */
    hob += 96;
    d = guid_hob(hob, socket_info_guid, 24 + 24);
    g_assert_cmpuint(ldq_le_p(d), ==, 3);
    g_assert_cmpuint(ldq_le_p(d + 8), ==, 18);
    g_assert_cmpuint(ldl_le_p(d + 16), ==, 1234);
    g_assert_cmpuint(ldl_le_p(d + 20), ==, 40);
    hob += 48;
    d = guid_hob(hob, policy_guid, 24 + 16 + 12);
    g_assert_cmpuint(ldq_le_p(d), ==, 7);
    g_assert_cmpuint(ldl_le_p(d + 8), ==, 12);
    g_assert_cmpmem(d + 16, 12, "hello policy", 12);
    hob += 56;
    g_assert_cmphex(lduw_le_p(hob), ==, 0xffff);        /* END */
    info = query_tdx_emu(qts);
    g_assert_false(qdict_haskey(info, "wait-for-request"));
    qobject_unref(info);
    /* Delivered once: the next poll finds nothing */
    g_assert_cmphex(service(qts, migtd_guid, wfr_cmd, 4, 0, rsp), ==,
                    SVC_SUCCESS);
    g_assert_cmphex(ldl_le_p(rsp + 24), ==, 0x100);

    /* ReportStatus completes it: the same event as vmcall-raw's */
    g_assert_cmphex(svc_report_status(qts, 3, 1, 0, rsp), ==, SVC_SUCCESS);
    g_assert_cmphex(ldl_le_p(rsp + 24), ==, 0x200);
    ev = qtest_qmp_eventwait_ref(qts, "TDX_EMU_REQUEST_COMPLETE");
    data = qdict_get_qdict(ev, "data");
    g_assert_cmpuint(qdict_get_int(data, "request-id"), ==, 3);
    g_assert_cmpstr(qdict_get_str(data, "type"), ==, "start-migration");
    g_assert_cmpstr(qdict_get_str(data, "status"), ==, "success");
    qobject_unref(ev);
    g_assert_cmphex(svc_report_status(qts, 3, 1, 0, rsp), ==,
                    SVC_INVALID_OPERAND);               /* not running */

    /* A failure, without socket options (defaults) or policy */
    start_ok(qts, 4, false);
    g_assert_cmphex(service(qts, migtd_guid, wfr_cmd, 4, 0, rsp), ==,
                    SVC_SUCCESS);
    g_assert_cmpuint(ldl_le_p(rsp + 16), ==, 24 + 4 + 96 + 48 + 8);
    d = guid_hob(rsp + 28 + 96, socket_info_guid, 48);
    g_assert_cmpuint(ldq_le_p(d), ==, 4);               /* id by default */
    g_assert_cmpuint(ldq_le_p(d + 8), ==, 0);
    g_assert_cmphex(lduw_le_p(rsp + 28 + 96 + 48), ==, 0xffff);
    g_assert_cmphex(svc_report_status(qts, 4, 0, 5, rsp), ==,
                    SVC_INVALID_OPERAND);               /* operation 0 */
    g_assert_cmphex(svc_report_status(qts, 4, 1, 5, rsp), ==, SVC_SUCCESS);
    ev = qtest_qmp_eventwait_ref(qts, "TDX_EMU_REQUEST_COMPLETE");
    data = qdict_get_qdict(ev, "data");
    g_assert_cmpstr(qdict_get_str(data, "status"), ==, "failure");
    g_assert_cmpuint(qdict_get_int(data, "result"), ==, 5);
    g_assert_cmpstr(qdict_get_str(data, "result-name"), ==, "NetworkError");
    qobject_unref(ev);

    /* Only StartMigration exists on this path */
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'get-td-report', 'request-id': 5}}");
    g_assert_cmphex(service(qts, migtd_guid, wfr_cmd, 4, 0, rsp), ==,
                    SVC_SUCCESS);
    g_assert_cmphex(ldl_le_p(rsp + 24), ==, 0x100);
    ev = qtest_qmp_eventwait_ref(qts, "TDX_EMU_REQUEST_COMPLETE");
    data = qdict_get_qdict(ev, "data");
    g_assert_cmpuint(qdict_get_int(data, "request-id"), ==, 5);
    g_assert_cmpuint(qdict_get_int(data, "result"), ==, 12);
    qobject_unref(ev);
    qtest_quit(qts);
}

static char *trace_file(void)
{
    char *path = NULL;
    int fd = g_file_open_tmp("tdx-emu-svc-XXXXXX", &path, NULL);

    g_assert(fd >= 0);
    close(fd);
    return path;
}

/*
 * Interrupt mode (vmcall-interrupt): the device keeps the buffer until a
 * request arrives, or the timeout (R15, ms of virtual time) expires, and
 * raises the vector each time it answers
 */
static void test_service_interrupt(void)
{
    g_autofree char *trace = trace_file();
    g_autofree char *opts = g_strdup_printf(
        " -trace tdx_emu_inject_interrupt -D %s", trace);
    QTestState *qts = mailbox_init(opts);
    static const uint8_t wfr_cmd[4] = { 0, 1 }, shutdown[4] = { 0, 0 };
    uint8_t rsp[PAGE], q[20] = { 0 };
    QDict *info, *w;

    /* Query at once, and the vector */
    memcpy(q + 4, migtd_guid, 16);
    g_assert_cmphex(service(qts, common_guid, q, sizeof(q), 0x50, rsp), ==,
                    SVC_SUCCESS);

    /* WaitForRequest waits: the response is untouched until a request */
    g_assert_cmphex(service(qts, migtd_guid, wfr_cmd, 4, 0x50, rsp), ==,
                    SVC_SUCCESS);
    g_assert_cmpuint(ldl_le_p(rsp + 16), ==, PAGE);
    info = query_tdx_emu(qts);
    w = qdict_get_qdict(info, "wait-for-request");
    g_assert_cmphex(qdict_get_int(w, "gpa"), ==, RSP_GPA);
    g_assert_cmpuint(qdict_get_int(w, "length"), ==, PAGE);
    g_assert_cmpuint(qdict_get_int(w, "vector"), ==, 0x50);
    qobject_unref(info);
    start_ok(qts, 3, false);
    qtest_memread(qts, RSP_GPA, rsp, PAGE);
    g_assert_cmpuint(ldl_le_p(rsp + 16), ==, 24 + 4 + 96 + 48 + 8);
    g_assert_cmphex(ldl_le_p(rsp + 20), ==, SVC_SUCCESS);
    g_assert_cmphex(ldl_le_p(rsp + 24), ==, 0x10100);

    /* ... or until its timeout: "none yet", TIME_OUT */
    service_buffers(qts, migtd_guid, wfr_cmd, 4, PAGE);
    g_assert_cmphex(service_call(qts, CMD_GPA | SHARED, RSP_GPA | SHARED,
                                 0x50, 100), ==, TDVMCALL_SUCCESS);
    qtest_clock_step(qts, 50 * 1000 * 1000);
    g_assert_cmpuint(qtest_readl(qts, RSP_GPA + 16), ==, PAGE);
    qtest_clock_step(qts, 100 * 1000 * 1000);
    g_assert_cmpuint(qtest_readl(qts, RSP_GPA + 16), ==, 28);
    g_assert_cmphex(qtest_readl(qts, RSP_GPA + 20), ==, SVC_TIME_OUT);
    g_assert_cmphex(qtest_readl(qts, RSP_GPA + 24), ==, 0x100);

    /* Shutdown drops a waiting WaitForRequest: no request goes there */
    g_assert_cmphex(service(qts, migtd_guid, wfr_cmd, 4, 0x50, rsp), ==,
                    SVC_SUCCESS);
    service_buffers_at(qts, SD_GPA, migtd_guid, shutdown, 4, PAGE);
    g_assert_cmphex(service_call(qts, SD_GPA | SHARED,
                                 (SD_GPA + PAGE) | SHARED, 0, 0), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmpuint(qtest_readl(qts, SD_GPA + PAGE + 16), ==, 28);
    g_assert_cmphex(qtest_readl(qts, SD_GPA + PAGE + 20), ==, SVC_SUCCESS);
    g_assert_cmphex(qtest_readl(qts, SD_GPA + PAGE + 24), ==, 0);
    start_ok(qts, 4, false);
    g_assert_cmpuint(qtest_readl(qts, RSP_GPA + 16), ==, PAGE);
    qtest_quit(qts);
    /* Query, the request, the timeout: three interrupts, all 0x50 */
    g_assert_cmpuint(count_lines(trace, "tdx_emu_inject_interrupt"), ==, 3);
    g_assert_cmpuint(count_lines(trace, "vector 0x50"), ==, 3);
    unlink(trace);
}

/* ------------------------------------------------------------------ */
/* MigTD's 2026 request formats (MigTD src/migtd/src/migration/mod.rs) */

#define UUID_HEX \
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define TDINFO_SIZE             512

static char *tdinfo_hex(uint8_t seed)
{
    GString *s = g_string_new(NULL);
    int i;

    for (i = 0; i < TDINFO_SIZE; i++) {
        g_string_append_printf(s, "%02x", (uint8_t)(seed + i));
    }
    return g_string_free(s, false);
}

/* The request the next WaitForRequest gets: its header and 568 bytes */
static uint32_t next_request(QTestState *qts, uint8_t *buf)
{
    g_assert_cmphex(wfr(qts, WFR_GPA), ==, TDVMCALL_SUCCESS);
    qtest_memread(qts, WFR_GPA, buf, 12 + 56 + TDINFO_SIZE);
    return ldl_le_p(buf + 8);
}

static void test_request_formats(void)
{
    QTestState *qts = mailbox_init(NULL);
    g_autofree char *init = tdinfo_hex(0x10);
    g_autofree char *bound = tdinfo_hex(0x80);
    g_autofree uint8_t *buf = g_malloc(12 + 56 + TDINFO_SIZE);
    int i;

    /* GetTDReport: the 8-byte {id}, its REPORTDATA being MigTD's own */
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'get-td-report', 'request-id': 1}}");
    g_assert_cmpuint(next_request(qts, buf), ==, 8);
    g_assert_cmphex(ldq_le_p(buf), ==, 1 | (3 << 8));
    g_assert_cmpuint(ldq_le_p(buf + 12), ==, 1);
    g_assert_cmphex(report_status(qts, 1, 0, ""), ==, TDVMCALL_SUCCESS);

    /* StartMigration without init data: 56 bytes, has_init_data 0 */
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'start-migration', 'request-id': 2, "
        "'source': true, 'binding-handle': 4096, 'target-uuid': %s}}",
        UUID_HEX);
    g_assert_cmpuint(next_request(qts, buf), ==, 56);
    g_assert_cmpuint(buf[12 + 8], ==, 1);
    g_assert_cmpuint(buf[12 + 9], ==, 0);
    g_assert_cmphex(report_status(qts, 2, 0, ""), ==, TDVMCALL_SUCCESS);

    /* ... with the init TDINFO: 568 bytes, has_init_data 1 */
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'start-migration', 'request-id': 3, "
        "'source': false, 'binding-handle': 4096, 'target-uuid': %s, "
        "'init-tdinfo': %s}}", UUID_HEX, init);
    g_assert_cmpuint(next_request(qts, buf), ==, 568);
    g_assert_cmphex(ldq_le_p(buf), ==, 1 | (1 << 8));
    g_assert_cmpuint(buf[12 + 8], ==, 0);
    g_assert_cmpuint(buf[12 + 9], ==, 1);
    for (i = 0; i < 6; i++) {
        g_assert_cmpuint(buf[12 + 10 + i], ==, 0);
    }
    for (i = 0; i < TDINFO_SIZE; i++) {
        g_assert_cmphex(buf[12 + 56 + i], ==, (uint8_t)(0x10 + i));
    }
    g_assert_cmphex(report_status(qts, 3, 0, ""), ==, TDVMCALL_SUCCESS);

    /* StartRebinding of a target bound with one: it is carried along */
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-add-target', "
        "'arguments': {'handle': 8192, 'uuid': %s, 'init-tdinfo': %s}}",
        UUID_HEX, bound);
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'start-rebinding', 'request-id': 4, "
        "'source': true, 'binding-handle': 8192, 'target-uuid': %s}}",
        UUID_HEX);
    g_assert_cmpuint(next_request(qts, buf), ==, 568);
    g_assert_cmphex(ldq_le_p(buf), ==, 1 | (2 << 8));
    g_assert_cmpuint(buf[12 + 9], ==, 1);
    g_assert_cmpuint(ldq_le_p(buf + 12 + 48), ==, 8192);
    g_assert_cmphex(buf[12 + 56], ==, 0x80);
    g_assert_cmphex(buf[12 + 56 + 511], ==, (uint8_t)(0x80 + 511));

    /* A malformed init TDINFO is refused */
    expect_qmp_error(qts, "{'execute': 'tdx-emu-request', 'arguments': "
        "{'type': 'start-rebinding', 'request-id': 5, 'source': true, "
        "'binding-handle': 8192, 'target-uuid': %s, "
        "'init-tdinfo': '0011'}}", UUID_HEX);
    qtest_quit(qts);
}

/* One Send or Receive buffer is MigTD's MTU, 16 pages, header included */
static void test_stream_mtu(void)
{
    Stream s;
    g_autofree uint8_t *got = g_malloc(BIG_DATA);
    uint8_t hdr[12] = { 0 };

    stream_start(&s, "");
    stl_le_p(hdr + 8, BIG_DATA + 1);
    qtest_memwrite(s.qts, BIG_GPA, hdr, sizeof(hdr));
    g_assert_cmphex(migtd_call(s.qts, LEAF(SEND), 3, 0x10001,
                               BIG_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(qtest_readq(s.qts, BIG_GPA), ==, 0);
    g_assert_cmphex(send_big(s.qts, 0x5a), ==, 1);      /* 65,524 bytes */
    g_assert_cmpint(recv(s.peer, got, BIG_DATA, MSG_WAITALL), ==, BIG_DATA);

    /* A Receive with no room for a byte, or past the MTU, is refused */
    g_assert_cmphex(migtd_call(s.qts, LEAF(RECEIVE), 3, 12,
                               RECV_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(migtd_call(s.qts, LEAF(RECEIVE), 3, 0x10001,
                               RECV_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_INVALID_OPERAND);

    /* More than fits arrives: one Receive takes 65,524 bytes of it */
    memset(got, 0xa5, BIG_DATA);
    g_assert_cmpint(send(s.peer, got, BIG_DATA, 0), ==, BIG_DATA);
    g_assert_cmpint(send(s.peer, got, 100, 0), ==, 100);
    g_usleep(100 * 1000);
    qtest_memset(s.qts, RECV_GPA, 0, 12);
    g_assert_cmphex(migtd_call(s.qts, LEAF(RECEIVE), 3, 0x10000,
                               RECV_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(wait_header(s.qts, RECV_GPA), ==, 1);
    g_assert_cmpuint(qtest_readl(s.qts, RECV_GPA + 8), >, 0);
    g_assert_cmpuint(qtest_readl(s.qts, RECV_GPA + 8), <=, BIG_DATA);
    stream_stop(&s);
}

/*
 * tdx-emu-cancel-request: the VMM cancels the stream, a pending Receive
 * and a later Send complete with NOT_COMPLETED | VMM_CANCEL << 8 (0x302,
 * MigTD commit b4a75a3), the peer's bytes no longer reach the TD
 */
static void test_stream_vmm_cancel(void)
{
    Stream s;
    uint8_t hdr[12] = { 0 };

    stream_start(&s, "");
    expect_qmp_error(s.qts, "{'execute': 'tdx-emu-cancel-request', "
                     "'arguments': {'request-id': 99}}");
    qtest_memset(s.qts, RECV_GPA, 0, 12);
    g_assert_cmphex(migtd_call(s.qts, LEAF(RECEIVE), 3, 0x10000,
                               RECV_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_SUCCESS);
    qtest_qmp_assert_success(s.qts, "{'execute': 'tdx-emu-cancel-request', "
                             "'arguments': {'request-id': 3}}");
    g_assert_cmphex(qtest_readq(s.qts, RECV_GPA), ==, 0x302);

    g_assert_cmpint(send(s.peer, "late", 4, 0), ==, 4);
    qtest_memset(s.qts, RECV_GPA, 0, 12);
    g_assert_cmphex(migtd_call(s.qts, LEAF(RECEIVE), 3, 0x10000,
                               RECV_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readq(s.qts, RECV_GPA), ==, 0x302);
    stl_le_p(hdr + 8, 2);
    qtest_memwrite(s.qts, SEND_GPA, hdr, sizeof(hdr));
    g_assert_cmphex(migtd_call(s.qts, LEAF(SEND), 3, 12 + 2,
                               SEND_GPA | SHARED, 0x52, 0), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readq(s.qts, SEND_GPA), ==, 0x302);

    /* The request still ends with the MigTD's ReportStatus */
    g_assert_cmphex(report_status(s.qts, 3, 1 | (10 << 8), ""), ==,
                    TDVMCALL_SUCCESS);
    stream_stop(&s);
}

/* ------------------------------------------------------------------ */
/* The log area (MigTD src/migtd/src/migration/logging.rs)            */

#define LOG_GPA                 0x250000ULL     /* vCPU n: + n pages */
#define LOG_HDR                 40
#define NO_REQUEST              UINT64_MAX

static void log_header(uint8_t *page, uint32_t vcpu, uint64_t start,
                       uint64_t end)
{
    memcpy(page, "MigTD LogArea 1", 16);
    stl_le_p(page + 16, vcpu);
    stl_le_p(page + 20, 0);
    stq_le_p(page + 24, start);
    stq_le_p(page + 32, end);
}

/* An entry at @at; its size */
static uint32_t log_entry(uint8_t *at, uint64_t id, uint64_t req,
                          uint8_t level, const char *text)
{
    stq_le_p(at, id);
    stq_le_p(at + 8, req);
    at[16] = level;
    memset(at + 17, 0, 3);
    stl_le_p(at + 20, strlen(text));
    memcpy(at + 24, text, strlen(text));
    return 24 + strlen(text);
}

/* EnableLogArea request @id answered with @n pages from LOG_GPA */
static void enable_log_area(QTestState *qts, uint64_t id, uint32_t n,
                            uint64_t page_size)
{
    uint8_t data[8 + 16 * 4] = { 0 };
    uint32_t i;

    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'enable-log-area', 'request-id': %" PRIu64
        ", 'log-level': 4}}", id);
    g_assert_cmphex(wfr(qts, WFR_GPA), ==, TDVMCALL_SUCCESS);
    stl_le_p(data, n);
    for (i = 0; i < n; i++) {
        stq_le_p(data + 8 + 16 * i, LOG_GPA + i * 0x1000);
        stq_le_p(data + 16 + 16 * i, page_size);
    }
    g_assert_cmphex(report_status_bytes(qts, id, 0, data, 8 + 16 * n), ==,
                    TDVMCALL_SUCCESS);
}

static QDict *query_log(QTestState *qts, uint64_t since)
{
    QDict *rsp = qtest_qmp(qts, "{'execute': 'query-tdx-emu-log-area', "
                           "'arguments': {'since': %" PRIu64 "}}", since);
    QDict *ret = qdict_get_qdict(rsp, "return");

    g_assert(ret);
    qobject_ref(ret);
    qobject_unref(rsp);
    return ret;
}

static QDict *nth_entry(QDict *log, int n)
{
    QList *entries = qdict_get_qlist(log, "entries");
    QListEntry *e;

    QLIST_FOREACH_ENTRY(entries, e) {
        if (!n--) {
            return qobject_to(QDict, qlist_entry_obj(e));
        }
    }
    return NULL;
}

static void check_entry(QDict *log, int n, uint32_t vcpu, uint64_t id,
                        uint64_t req, uint8_t level, const char *text)
{
    QDict *e = nth_entry(log, n);

    g_assert(e);
    g_assert_cmpuint(qdict_get_int(e, "vcpu"), ==, vcpu);
    g_assert_cmpuint(qdict_get_int(e, "entry-id"), ==, id);
    if (req == NO_REQUEST) {
        g_assert_false(qdict_haskey(e, "request-id"));
    } else {
        g_assert_cmpuint(qdict_get_int(e, "request-id"), ==, req);
    }
    g_assert_cmpuint(qdict_get_int(e, "level"), ==, level);
    g_assert_cmpstr(qdict_get_str(e, "text"), ==, text);
}

/* What a page of the last query-tdx-emu-log-area said was wrong, or "" */
static const char *page_malformed(QDict *log, uint32_t vcpu)
{
    QList *pages = qdict_get_qlist(log, "pages");
    QListEntry *e;

    QLIST_FOREACH_ENTRY(pages, e) {
        QDict *p = qobject_to(QDict, qlist_entry_obj(e));

        if (qdict_get_int(p, "vcpu") == vcpu) {
            return qdict_haskey(p, "malformed") ?
                   qdict_get_str(p, "malformed") : "";
        }
    }
    g_assert_not_reached();
}

static void test_logarea(void)
{
    QTestState *qts = mailbox_init(",logarea-poll-ms=0");
    uint8_t page[0x1000] = { 0 };
    uint32_t off = LOG_HDR;
    QDict *log;

    log = query_log(qts, 0);
    g_assert_false(qdict_get_bool(log, "enabled"));
    qobject_unref(log);

    /* vCPU 0: what MigTD logged before and after the request; vCPU 1 */
    off += log_entry(page + off, 1, NO_REQUEST, 3, "booted\n");
    off += log_entry(page + off, 3, 7, 1, "request 7 failed\n");
    log_header(page, 0, LOG_HDR, off);
    qtest_memwrite(qts, LOG_GPA, page, sizeof(page));
    memset(page, 0, sizeof(page));
    log_header(page, 1, LOG_HDR, LOG_HDR +
               log_entry(page + LOG_HDR, 2, 7, 4, "on vCPU 1\x01"));
    qtest_memwrite(qts, LOG_GPA + 0x1000, page, sizeof(page));
    enable_log_area(qts, 10, 2, 0x1000);

    log = query_log(qts, 0);
    g_assert_true(qdict_get_bool(log, "enabled"));
    g_assert_cmpuint(qdict_get_int(log, "level"), ==, 4);
    g_assert_cmpuint(qdict_get_int(log, "next-seq"), ==, 3);
    check_entry(log, 0, 0, 1, NO_REQUEST, 3, "booted");
    check_entry(log, 1, 0, 3, 7, 1, "request 7 failed");
    check_entry(log, 2, 1, 2, 7, 4, "on vCPU 1\\x01");
    g_assert_cmpstr(page_malformed(log, 0), ==, "");
    qobject_unref(log);

    /* A new entry on vCPU 0: only it is new */
    qtest_memread(qts, LOG_GPA, page, sizeof(page));
    off += log_entry(page + off, 4, 8, 3, "request 8\n");
    stq_le_p(page + 32, off);
    qtest_memwrite(qts, LOG_GPA, page, sizeof(page));
    log = query_log(qts, 3);
    g_assert_null(nth_entry(log, 1));
    check_entry(log, 0, 0, 4, 8, 3, "request 8");
    qobject_unref(log);

    /*
     * The ring wrapped: entry 5 at the page's end, then zeroes; entry 6
     * at the start; endoffset < startoffset
     */
    memset(page, 0, sizeof(page));
    log_entry(page + 0xf00, 5, 8, 3, "at the end");
    log_header(page, 0, 0xf00, LOG_HDR +
               log_entry(page + LOG_HDR, 6, 8, 2, "wrapped"));
    qtest_memwrite(qts, LOG_GPA, page, sizeof(page));
    log = query_log(qts, 4);
    check_entry(log, 0, 0, 5, 8, 3, "at the end");
    check_entry(log, 1, 0, 6, 8, 2, "wrapped");
    g_assert_null(nth_entry(log, 2));
    g_assert_cmpstr(page_malformed(log, 0), ==, "");
    qobject_unref(log);

    /* A reset: the pages are gone, what was read stays */
    qtest_system_reset(qts);
    log = query_log(qts, 0);
    g_assert_false(qdict_get_bool(log, "enabled"));
    g_assert_null(qdict_get_qlist(log, "pages") ?
                  qlist_first(qdict_get_qlist(log, "pages")) : NULL);
    check_entry(log, 0, 0, 1, NO_REQUEST, 3, "booted");
    qobject_unref(log);
    qtest_quit(qts);
}

/* Write vCPU 0's page, query, and expect it malformed with @why */
static void expect_malformed(QTestState *qts, const uint8_t *page,
                             const char *why)
{
    QDict *log;

    qtest_memwrite(qts, LOG_GPA, page, 0x1000);
    log = query_log(qts, 0);
    g_assert_cmpstr(page_malformed(log, 0), ==, why);
    g_assert_null(nth_entry(log, 0));
    qobject_unref(log);
}

static void test_logarea_malformed(void)
{
    QTestState *qts = mailbox_init(",logarea-poll-ms=1");
    uint8_t page[0x1000] = { 0 };
    QDict *log;

    /* Status data the device cannot use: no log area */
    enable_log_area(qts, 1, 3, 0x1000);         /* 3 pages, 2 vCPUs */
    enable_log_area(qts, 2, 1, 0x2000);         /* not a page */
    log = query_log(qts, 0);
    g_assert_false(qdict_get_bool(log, "enabled"));
    qobject_unref(log);

    enable_log_area(qts, 3, 1, 0x1000);
    expect_malformed(qts, page, "no \"MigTD LogArea 1\" signature");
    log_header(page, 1, LOG_HDR, LOG_HDR);
    expect_malformed(qts, page, "its vcpuindex is another vCPU's");
    log_header(page, 0, LOG_HDR, 0x1001);
    expect_malformed(qts, page,
                     "startoffset or endoffset is outside the page");
    log_header(page, 0, 8, LOG_HDR);
    expect_malformed(qts, page,
                     "startoffset or endoffset is outside the page");
    /* An entry whose length runs past endoffset, then past the page */
    log_entry(page + LOG_HDR, 1, 1, 3, "x");
    stl_le_p(page + LOG_HDR + 20, 0xffffffff);
    log_header(page, 0, LOG_HDR, 0x1000);
    expect_malformed(qts, page, "an entry runs past endoffset");
    log_header(page, 0, LOG_HDR, LOG_HDR + 10);
    expect_malformed(qts, page, "an entry header runs past endoffset");
    log_header(page, 0, LOG_HDR, 0x20);
    expect_malformed(qts, page,
                     "startoffset or endoffset is outside the page");
    memset(page, 0, sizeof(page));
    log_entry(page + 0xff0 - 24, 1, 1, 3, "0123456789abcdef0123");
    log_header(page, 0, 0xff0 - 24, LOG_HDR);
    expect_malformed(qts, page, "an entry runs past the page");

    /* Fixed by the TD: read again, fine */
    memset(page, 0, sizeof(page));
    log_header(page, 0, LOG_HDR, LOG_HDR +
               log_entry(page + LOG_HDR, 9, 3, 3, "ok"));
    qtest_memwrite(qts, LOG_GPA, page, sizeof(page));
    log = query_log(qts, 0);
    g_assert_cmpstr(page_malformed(log, 0), ==, "");
    check_entry(log, 0, 0, 9, 3, 3, "ok");
    qobject_unref(log);
    qtest_quit(qts);
}

/*
 * A policy_v2 MigTD on TDG.VP.VMCALL<Service> gets the init TDINFO after
 * the 72-byte MIGRATION_INFORMATION, has_init_data = 1 (MigTD mod.rs
 * MigtdMigrationInformation::read_from_bytes)
 */
static void test_service_init_tdinfo(void)
{
    QTestState *qts = mailbox_init(NULL);
    static const uint8_t wfr_cmd[4] = { 0, 1 };
    g_autofree char *init = tdinfo_hex(0x40);
    const uint8_t *d;
    uint8_t rsp[PAGE];

    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'start-migration', 'request-id': 5, "
        "'source': false, 'binding-handle': 4096, 'target-uuid': %s, "
        "'init-tdinfo': %s}}", TARGET_UUID, init);
    g_assert_cmphex(service(qts, migtd_guid, wfr_cmd, 4, 0, rsp), ==,
                    SVC_SUCCESS);
    g_assert_cmphex(ldl_le_p(rsp + 24), ==, 0x10100);
    d = guid_hob(rsp + 28, mig_info_guid, 24 + 72 + 512);
    g_assert_cmpuint(ldq_le_p(d), ==, 5);
    g_assert_cmpuint(d[9], ==, 1);                      /* has_init_data */
    g_assert_cmpuint(ldq_le_p(d + 64), ==, 5);          /* communication id */
    g_assert_cmphex(d[72], ==, 0x40);
    g_assert_cmphex(d[72 + 511], ==, (uint8_t)(0x40 + 511));
    d = guid_hob(rsp + 28 + 24 + 584, socket_info_guid, 24 + 24);
    g_assert_cmpuint(ldq_le_p(d), ==, 5);
    qtest_quit(qts);
}

/*
 * vmcall-vsock: vsock packets through Service Send (3) and Recv (4) into
 * the device's vsock engine (hw/tdx-emu/vmm/vsock.c, docs/migration.md)
 */
#define VS_HDR          44
#define VS_REPLY        12
#define VS_OP_REQUEST   1
#define VS_OP_RESPONSE  2
#define VS_OP_RST       3
#define VS_OP_RW        5
#define VS_OP_CREDIT_UPDATE 6
#define VS_GUEST_PORT   40001

/* A packet from the guest (18:@src_port) to 18:@dst_port */
static void vs_packet(uint8_t *h, uint32_t src_port, uint32_t dst_port,
                      uint16_t op, uint32_t len, uint32_t buf_alloc)
{
    memset(h, 0, VS_HDR);
    stq_le_p(h, 18);
    stq_le_p(h + 8, 18);
    stl_le_p(h + 16, src_port);
    stl_le_p(h + 20, dst_port);
    stl_le_p(h + 24, len);
    stw_le_p(h + 28, 1);
    stw_le_p(h + 30, op);
    stl_le_p(h + 36, buf_alloc);
}

/* Send {0, 3, rsv, id 3} + @pkt of @len bytes; the response status */
static uint32_t vs_send(QTestState *qts, const uint8_t *pkt, uint32_t len)
{
    g_autofree uint8_t *cmd = g_malloc0(VS_REPLY + len);
    uint8_t rsp[PAGE];

    cmd[1] = 3;
    stq_le_p(cmd + 4, 3);
    memcpy(cmd + VS_REPLY, pkt, len);
    return service(qts, migtd_guid, cmd, VS_REPLY + len, 0, rsp);
}

/*
 * Recv with timeout @ms (virtual time stepped past it): the status, the
 * packet in @rsp + 36
 */
static uint32_t vs_recv(QTestState *qts, uint64_t ms, uint8_t *rsp)
{
    uint8_t cmd[VS_REPLY] = { 0, 4 };

    stq_le_p(cmd + 4, 3);
    service_buffers(qts, migtd_guid, cmd, sizeof(cmd), PAGE);
    qtest_writel(qts, RSP_GPA + 20, 0xffffffff);
    g_assert_cmphex(service_call(qts, CMD_GPA | SHARED, RSP_GPA | SHARED,
                                 0, ms), ==, TDVMCALL_SUCCESS);
    if (qtest_readl(qts, RSP_GPA + 20) == 0xffffffff) {
        qtest_clock_step(qts, (ms + 1) * 1000000);
    }
    qtest_memread(qts, RSP_GPA, rsp, PAGE);
    return ldl_le_p(rsp + 20);
}

/*
 * One request over vmcall-vsock: Recv timeout, RST for an unknown port,
 * malformed packets, connect, credit stall and release, bytes both ways,
 * the peer gone (SHUTDOWN), a reset connection, a request not running
 */
static void test_service_vsock(void)
{
    Stream s = { 0 };
    g_autofree char *extra = NULL;
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    struct timeval tv = { .tv_sec = 10 };
    static const uint8_t wfr_cmd[4] = { 0, 1 };
    uint8_t pkt[VS_HDR + 5], rsp[PAGE], got[5];
    const uint8_t *p = rsp + 24 + VS_REPLY;

    s.dir = g_dir_make_tmp("tdx-emu-XXXXXX", NULL);
    s.path = g_strdup_printf("%s/mig.sock", s.dir);
    extra = g_strdup_printf(" -chardev socket,id=mig0,path=%s,server=on,"
                            "wait=off", s.path);
    s.qts = mailbox_init(extra);
    s.peer = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert(!setsockopt(s.peer, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
    g_strlcpy(addr.sun_path, s.path, sizeof(addr.sun_path));
    g_assert(connect(s.peer, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    qtest_qmp_assert_success(s.qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'start-migration', 'request-id': 3, "
        "'source': true, 'binding-handle': 4096, 'target-uuid': %s, "
        "'chardev': 'mig0', 'vsock-cid': 18, 'vsock-port': 1234}}",
        TARGET_UUID);
    g_assert_cmphex(service(s.qts, migtd_guid, wfr_cmd, 4, 0, rsp), ==,
                    SVC_SUCCESS);

    /* Nothing for the guest yet: TIME_OUT after R15 */
    g_assert_cmphex(vs_recv(s.qts, 5, rsp), ==, SVC_TIME_OUT);
    /* A REQUEST to a port nobody listens on: RST */
    vs_packet(pkt, VS_GUEST_PORT, 999, VS_OP_REQUEST, 0, 0);
    g_assert_cmphex(vs_send(s.qts, pkt, VS_HDR), ==, SVC_SUCCESS);
    g_assert_cmphex(vs_recv(s.qts, 5, rsp), ==, SVC_SUCCESS);
    g_assert_cmphex(rsp[25], ==, 4);
    g_assert_cmpuint(ldq_le_p(rsp + 28), ==, 3);
    g_assert_cmpuint(lduw_le_p(p + 30), ==, VS_OP_RST);
    g_assert_cmpuint(ldl_le_p(p + 16), ==, 999);
    g_assert_cmpuint(ldl_le_p(p + 20), ==, VS_GUEST_PORT);
    /* A malformed packet: shorter than its header says */
    vs_packet(pkt, VS_GUEST_PORT, 1234, VS_OP_RW, 100, 0);
    g_assert_cmphex(vs_send(s.qts, pkt, sizeof(pkt)), ==,
                    SVC_INVALID_OPERAND);
    g_assert_cmphex(vs_send(s.qts, pkt, 10), ==, SVC_INVALID_OPERAND);

    /* Connect with no room (buf_alloc 0): accepted */
    vs_packet(pkt, VS_GUEST_PORT, 1234, VS_OP_REQUEST, 0, 0);
    g_assert_cmphex(vs_send(s.qts, pkt, VS_HDR), ==, SVC_SUCCESS);
    g_assert_cmphex(vs_recv(s.qts, 5, rsp), ==, SVC_SUCCESS);
    g_assert_cmpuint(lduw_le_p(p + 30), ==, VS_OP_RESPONSE);
    g_assert_cmpuint(ldl_le_p(p + 36), >, 0);          /* our buf_alloc */
    /* The peer's bytes wait while the guest gives no credit */
    g_assert_cmpint(write(s.peer, "hello", 5), ==, 5);
    g_usleep(200 * 1000);
    g_assert_cmphex(vs_recv(s.qts, 5, rsp), ==, SVC_TIME_OUT);
    /* Credit given: they come */
    vs_packet(pkt, VS_GUEST_PORT, 1234, VS_OP_CREDIT_UPDATE, 0, 4096);
    g_assert_cmphex(vs_send(s.qts, pkt, VS_HDR), ==, SVC_SUCCESS);
    g_assert_cmphex(vs_recv(s.qts, 5, rsp), ==, SVC_SUCCESS);
    g_assert_cmpuint(lduw_le_p(p + 30), ==, VS_OP_RW);
    g_assert_cmpuint(ldl_le_p(p + 24), ==, 5);
    g_assert_cmpmem(p + VS_HDR, 5, "hello", 5);
    /* The guest's data reaches the peer */
    vs_packet(pkt, VS_GUEST_PORT, 1234, VS_OP_RW, 5, 4096);
    memcpy(pkt + VS_HDR, "world", 5);
    g_assert_cmphex(vs_send(s.qts, pkt, sizeof(pkt)), ==, SVC_SUCCESS);
    g_assert_cmpint(read(s.peer, got, 5), ==, 5);
    g_assert_cmpmem(got, 5, "world", 5);
    /* The peer goes away: SHUTDOWN; after the guest's RST, data is RST */
    shutdown(s.peer, SHUT_RDWR);
    g_usleep(200 * 1000);
    g_assert_cmphex(vs_recv(s.qts, 5, rsp), ==, SVC_SUCCESS);
    g_assert_cmpuint(lduw_le_p(p + 30), ==, 4);
    g_assert_cmpuint(ldl_le_p(p + 32), ==, 3);
    vs_packet(pkt, VS_GUEST_PORT, 1234, VS_OP_RST, 0, 4096);
    g_assert_cmphex(vs_send(s.qts, pkt, VS_HDR), ==, SVC_SUCCESS);
    vs_packet(pkt, VS_GUEST_PORT, 1234, VS_OP_RW, 5, 4096);
    g_assert_cmphex(vs_send(s.qts, pkt, sizeof(pkt)), ==, SVC_SUCCESS);
    g_assert_cmphex(vs_recv(s.qts, 5, rsp), ==, SVC_SUCCESS);
    g_assert_cmpuint(lduw_le_p(p + 30), ==, VS_OP_RST);
    g_assert_cmphex(svc_report_status(s.qts, 3, 1, 0, rsp), ==, SVC_SUCCESS);
    /* A request that is not running */
    memset(pkt, 0, VS_REPLY);
    pkt[1] = 4;
    stq_le_p(pkt + 4, 9);
    g_assert_cmphex(service(s.qts, migtd_guid, pkt, VS_REPLY, 0, rsp), ==,
                    SVC_INVALID_OPERAND);
    stream_stop(&s);
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
    qtest_add_func("/tdx-emu/migtd/request-limit", test_request_limit);
    qtest_add_func("/tdx-emu/migtd/stream", test_stream);
    qtest_add_func("/tdx-emu/migtd/stream-backpressure",
                   test_stream_backpressure);
    qtest_add_func("/tdx-emu/migtd/stream-end", test_stream_end);
    qtest_add_func("/tdx-emu/migtd/soak", test_soak);
    qtest_add_func("/tdx-emu/migtd/stream-drain-bound",
                   test_stream_drain_bound);
    qtest_add_func("/tdx-emu/migtd/request-formats", test_request_formats);
    qtest_add_func("/tdx-emu/migtd/stream-mtu", test_stream_mtu);
    qtest_add_func("/tdx-emu/migtd/stream-vmm-cancel",
                   test_stream_vmm_cancel);
    qtest_add_func("/tdx-emu/migtd/logarea", test_logarea);
    qtest_add_func("/tdx-emu/migtd/logarea-malformed",
                   test_logarea_malformed);
    qtest_add_func("/tdx-emu/migtd/service-query", test_service_query);
    qtest_add_func("/tdx-emu/migtd/service-malformed",
                   test_service_malformed);
    qtest_add_func("/tdx-emu/migtd/service-wait-for-request",
                   test_service_wait_for_request);
    qtest_add_func("/tdx-emu/migtd/service-init-tdinfo",
                   test_service_init_tdinfo);
    qtest_add_func("/tdx-emu/migtd/service-interrupt",
                   test_service_interrupt);
    qtest_add_func("/tdx-emu/migtd/service-vsock", test_service_vsock);
    return g_test_run();
}
