/*
 * QTest cases for TDG.VP.VMCALL<GetQuote> under tdx-emu (GHCI 1.5) with
 * the QGS backend; this test plays the Quote Generation Service on a unix
 * socket.
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

#define TDVMCALL_GET_QUOTE      0x10002
#define TDVMCALL_RETRY          1ULL
#define TDVMCALL_ALIGN_ERROR    0x8000000000000002ULL
#define QUOTE_SUCCESS           0ULL
#define QUOTE_IN_FLIGHT         UINT64_MAX
#define QUOTE_ERROR             0x8000000000000000ULL
#define QUOTE_UNAVAILABLE       0x8000000000000001ULL
#define SHARED                  (1ULL << 47)
#define BUF_GPA                 0x300000ULL
#define BUF_SIZE                0x4000ULL
#define REPORT_GPA              0x310000ULL
#define TDG_MR_REPORT           4

typedef struct Qgs {
    char *dir;
    char *path;
    int listener;
} Qgs;

static void qgs_listen(Qgs *qgs)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };

    qgs->dir = g_dir_make_tmp("tdx-emu-qgs-XXXXXX", NULL);
    qgs->path = g_strdup_printf("%s/qgs.sock", qgs->dir);
    g_strlcpy(addr.sun_path, qgs->path, sizeof(addr.sun_path));
    /* CLOEXEC: QEMU must not inherit it, or closing it here does nothing */
    qgs->listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert(qgs->listener >= 0);
    g_assert(bind(qgs->listener, (struct sockaddr *)&addr,
                  sizeof(addr)) == 0);
    g_assert(listen(qgs->listener, 32) == 0);
}

static void qgs_close(Qgs *qgs)
{
    if (qgs->listener >= 0) {
        close(qgs->listener);
        qgs->listener = -1;
    }
    unlink(qgs->path);
    rmdir(qgs->dir);
    g_free(qgs->path);
    g_free(qgs->dir);
}

/* Take one request; answer @resp (framed), or nothing if NULL */
static GByteArray *qgs_serve(Qgs *qgs, const uint8_t *resp, uint32_t len)
{
    int fd = accept(qgs->listener, NULL, NULL);
    GByteArray *req = g_byte_array_new();
    uint8_t be[4];

    g_assert(fd >= 0);
    g_assert_cmpint(recv(fd, be, 4, MSG_WAITALL), ==, 4);
    g_byte_array_set_size(req, ldl_be_p(be));
    g_assert_cmpint(recv(fd, req->data, req->len, MSG_WAITALL), ==,
                    req->len);
    if (resp) {
        stl_be_p(be, len);
        g_assert_cmpint(send(fd, be, 4, 0), ==, 4);
        g_assert_cmpint(send(fd, resp, len, 0), ==, len);
    }
    close(fd);
    return req;
}

/* A GET_QUOTE_RESP carrying @quote */
static GByteArray *quote_resp(const char *quote, uint32_t error)
{
    GByteArray *r = g_byte_array_new();
    uint8_t hdr[24] = { 0 };

    stw_le_p(hdr, 1);
    stw_le_p(hdr + 2, 1);
    stl_le_p(hdr + 4, 1);                       /* GET_QUOTE_RESP */
    stl_le_p(hdr + 8, sizeof(hdr) + strlen(quote));
    stl_le_p(hdr + 12, error);
    stl_le_p(hdr + 20, strlen(quote));          /* quote_size */
    g_byte_array_append(r, hdr, sizeof(hdr));
    g_byte_array_append(r, (const uint8_t *)quote, strlen(quote));
    return r;
}

/* QEMU with tdx-quote-qgs on @path, its properties @props (",k=v...") */
static QTestState *quote_init_props(const char *path, const char *props,
                                    const char *extra)
{
    return qtest_initf("-machine q35 -cpu max,phys-bits=48 -nodefaults "
                       "-object tdx-quote-qgs,id=q,addr=%s%s "
                       "-device tdx-emu,mailbox=0x%llx,quote=q %s",
                       path, props, MAILBOX_GPA, extra);
}

static QTestState *quote_init(Qgs *qgs)
{
    return quote_init_props(qgs->path, "", "");
}

/* Write the buffer header and @in_len bytes of @data at BUF_GPA */
static void put_buffer(QTestState *qts, uint64_t version, const void *data,
                       uint32_t in_len)
{
    uint8_t hdr[24] = { 0 };

    stq_le_p(hdr, version);
    stl_le_p(hdr + 16, in_len);
    qtest_memset(qts, BUF_GPA, 0, BUF_SIZE);
    qtest_memwrite(qts, BUF_GPA, hdr, sizeof(hdr));
    qtest_memwrite(qts, BUF_GPA + 24, data, in_len);
}

static uint64_t get_quote(QTestState *qts, uint64_t gpa, uint64_t size)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    vmcall_regs(in, TDVMCALL_GET_QUOTE);
    in[R12] = gpa;
    in[R13] = size;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    return out[R10];
}

static uint64_t wait_status(QTestState *qts)
{
    gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
    uint64_t status;

    while ((status = qtest_readq(qts, BUF_GPA + 8)) == QUOTE_IN_FLIGHT &&
           g_get_monotonic_time() < deadline) {
        g_usleep(1000);
    }
    return status;
}

static void test_framed(void)
{
    Qgs qgs;
    QTestState *qts;
    g_autoptr(GByteArray) resp = quote_resp("a quote", 0);
    g_autoptr(GByteArray) req = NULL;
    uint8_t msg[4 + 24 + 8] = { 0 }, out[4 + 64];

    qgs_listen(&qgs);
    qts = quote_init(&qgs);
    /* MigTD's framing: 4-byte big-endian length, then the QGS message */
    stl_be_p(msg, sizeof(msg) - 4);
    stl_le_p(msg + 4 + 4, 2);                   /* GET_COLLATERAL_REQ */
    put_buffer(qts, 1, msg, sizeof(msg));
    g_assert_cmphex(get_quote(qts, BUF_GPA | SHARED, BUF_SIZE), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readq(qts, BUF_GPA + 8), ==, QUOTE_IN_FLIGHT);
    req = qgs_serve(&qgs, resp->data, resp->len);
    g_assert_cmpmem(req->data, req->len, msg + 4, sizeof(msg) - 4);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_SUCCESS);

    /* The answer is passed back verbatim, framed the same way */
    g_assert_cmpuint(qtest_readl(qts, BUF_GPA + 20), ==, 4 + resp->len);
    qtest_memread(qts, BUF_GPA + 24, out, 4 + resp->len);
    g_assert_cmpuint(ldl_be_p(out), ==, resp->len);
    g_assert_cmpmem(out + 4, resp->len, resp->data, resp->len);
    qtest_quit(qts);
    qgs_close(&qgs);
}

static void test_bare_report(void)
{
    Qgs qgs;
    QTestState *qts;
    g_autoptr(GByteArray) resp = quote_resp("QUOTE-BYTES", 0);
    g_autoptr(GByteArray) req = NULL;
    uint8_t report[1024], out[16];

    memset(report, 0x42, sizeof(report));
    qgs_listen(&qgs);
    qts = quote_init(&qgs);
    put_buffer(qts, 1, report, sizeof(report));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    req = qgs_serve(&qgs, resp->data, resp->len);
    /* Wrapped once into GET_QUOTE_REQ {report_size 1024, id_list 0} */
    g_assert_cmpuint(req->len, ==, 16 + 8 + 1024);
    g_assert_cmpuint(ldl_le_p(req->data + 4), ==, 0);   /* GET_QUOTE_REQ */
    g_assert_cmpuint(ldl_le_p(req->data + 16), ==, 1024);
    g_assert_cmpmem(req->data + 24, 1024, report, 1024);
    /* ... and answered with the bare quote */
    g_assert_cmphex(wait_status(qts), ==, QUOTE_SUCCESS);
    g_assert_cmpuint(qtest_readl(qts, BUF_GPA + 20), ==, 11);
    qtest_memread(qts, BUF_GPA + 24, out, 11);
    g_assert_cmpmem(out, 11, "QUOTE-BYTES", 11);
    qtest_quit(qts);
    qgs_close(&qgs);
}

static void test_bad_buffers(void)
{
    Qgs qgs;
    QTestState *qts;
    uint8_t report[1024] = { 0 };

    qgs_listen(&qgs);
    qts = quote_init(&qgs);
    put_buffer(qts, 1, report, sizeof(report));
    g_assert_cmphex(get_quote(qts, BUF_GPA + 0x800, BUF_SIZE), ==,
                    TDVMCALL_ALIGN_ERROR);
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE + 8), ==,
                    TDVMCALL_ALIGN_ERROR);
    g_assert_cmphex(get_quote(qts, BUF_GPA, 0), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(get_quote(qts, BUF_GPA, 0x21000), ==,
                    TDVMCALL_INVALID_OPERAND);      /* over 128 KiB */
    g_assert_cmphex(get_quote(qts, 0xfec00000, 0x1000), ==,
                    TDVMCALL_INVALID_OPERAND);      /* not RAM */
    put_buffer(qts, 2, report, sizeof(report));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==,
                    TDVMCALL_INVALID_OPERAND);      /* version 2 */
    put_buffer(qts, 1, report, sizeof(report));
    qtest_writel(qts, BUF_GPA + 16, BUF_SIZE);      /* in_len too big */
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==,
                    TDVMCALL_INVALID_OPERAND);
    put_buffer(qts, 1, report, 100);                /* neither form */
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==,
                    TDVMCALL_INVALID_OPERAND);
    qtest_quit(qts);
    qgs_close(&qgs);
}

static void test_backend_failures(void)
{
    Qgs qgs;
    QTestState *qts;
    uint8_t report[1024] = { 0 };
    g_autoptr(GByteArray) failed = quote_resp("x", 7);
    int i;

    qgs_listen(&qgs);
    qts = quote_init(&qgs);

    /* QGS closes without an answer */
    put_buffer(qts, 1, report, sizeof(report));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_byte_array_unref(qgs_serve(&qgs, NULL, 0));
    g_assert_cmphex(wait_status(qts), ==, QUOTE_UNAVAILABLE);

    /* QGS reports an error for a bare report: ERROR */
    put_buffer(qts, 1, report, sizeof(report));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_byte_array_unref(qgs_serve(&qgs, failed->data, failed->len));
    g_assert_cmphex(wait_status(qts), ==, QUOTE_ERROR);

    /* 16 in flight at most: the 17th is RETRY */
    for (i = 0; i < 16; i++) {
        put_buffer(qts, 1, report, sizeof(report));
        g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==,
                        TDVMCALL_SUCCESS);
    }
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_RETRY);

    /* QGS goes away: every one of them ends, none hangs */
    qgs_close(&qgs);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_UNAVAILABLE);
    qtest_quit(qts);
}

/* The IMDS backend: collateral from collateral-dir, quotes over HTTP */
static const char *const collateral_names[] = {
    "pck_crl_issuer_chain", "root_ca_crl", "pck_crl", "tcb_info_issuer_chain",
    "tcb_info", "qe_identity_issuer_chain", "qe_identity",
};

static char *collateral_dir_new(void)
{
    char *dir = g_dir_make_tmp("tdx-emu-coll-XXXXXX", NULL);
    size_t i;

    for (i = 0; i < ARRAY_SIZE(collateral_names); i++) {
        g_autofree char *path = g_build_filename(dir, collateral_names[i],
                                                 NULL);
        g_assert(g_file_set_contents(path, collateral_names[i], i, NULL));
    }
    return dir;
}

static void remove_dir(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *path = g_build_filename(dir, name, NULL);

        unlink(path);
    }
    if (d) {
        g_dir_close(d);
    }
    rmdir(dir);
}

/* The test PKI's platform (hw/tdx-emu/vmm/quote/testpki.h) */
static const uint8_t testpki_fmspc[6] = { 0x00, 0x80, 0x6f, 0x05, 0x00, 0x00 };

/*
 * GET_COLLATERAL_REQ {header, fmspc_size, pckca_size, FMSPC, CA}, framed;
 * @ca_size counts the NUL (pass another value to make it inconsistent)
 */
static void put_collateral_req(QTestState *qts, const uint8_t *fmspc,
                               const char *ca, uint32_t ca_size)
{
    size_t len = 4 + 24 + 6 + strlen(ca) + 1;
    g_autofree uint8_t *msg = g_malloc0(len);

    stl_be_p(msg, len - 4);
    stw_le_p(msg + 4, 1);
    stw_le_p(msg + 6, 1);
    stl_le_p(msg + 4 + 4, 2);                   /* GET_COLLATERAL_REQ */
    stl_le_p(msg + 4 + 8, len - 4);
    stl_le_p(msg + 4 + 16, 6);
    stl_le_p(msg + 4 + 20, ca_size);
    memcpy(msg + 4 + 24, fmspc, 6);
    memcpy(msg + 4 + 30, ca, strlen(ca) + 1);
    put_buffer(qts, 1, msg, len);
}

static void put_platform_collateral_req(QTestState *qts)
{
    put_collateral_req(qts, testpki_fmspc, "platform", sizeof("platform"));
}

/*
 * The GET_COLLATERAL_RESP the backend answers put_platform_collateral_req()
 * with, into @out (BUF_SIZE bytes); its length
 */
static uint32_t platform_collateral(QTestState *qts, uint8_t *out)
{
    uint32_t len;

    put_platform_collateral_req(qts);
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_SUCCESS);
    len = qtest_readl(qts, BUF_GPA + 20);
    g_assert_cmpuint(len, <=, BUF_SIZE - 24);
    qtest_memread(qts, BUF_GPA + 24, out, len);
    return len;
}

static void test_imds(void)
{
    char *dir = collateral_dir_new();
    g_autofree char *first = g_build_filename(dir, collateral_names[1], NULL);
    uint8_t report[1024] = { 0 }, out[4 + 16 + 32 + 21];
    const uint8_t *body = out + 4 + 16 + 4;
    QTestState *qts;
    size_t i, off;

    /* Port 9 (discard) on loopback: nothing listens, the POST is refused */
    qts = qtest_initf("-machine q35 -cpu max,phys-bits=48 -nodefaults "
                      "-object tdx-quote-imds,id=q,collateral-dir=%s,"
                      "url=http://127.0.0.1:9/acc/tdquote "
                      "-device tdx-emu,mailbox=0x%llx,quote=q",
                      dir, MAILBOX_GPA);

    /* GET_COLLATERAL_RESP: the seven files, sizes first, in order */
    put_platform_collateral_req(qts);
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_SUCCESS);
    g_assert_cmpuint(qtest_readl(qts, BUF_GPA + 20), ==, sizeof(out));
    qtest_memread(qts, BUF_GPA + 24, out, sizeof(out));
    g_assert_cmpuint(ldl_be_p(out), ==, sizeof(out) - 4);
    g_assert_cmpuint(ldl_le_p(out + 4 + 4), ==, 3);
    g_assert_cmpuint(ldl_le_p(out + 4 + 8), ==, sizeof(out) - 4);
    g_assert_cmpuint(lduw_le_p(out + 4 + 16), ==, 3);
    for (i = 0, off = 28; i < ARRAY_SIZE(collateral_names); i++) {
        g_assert_cmpuint(ldl_le_p(body + 4 * i), ==, i);
        g_assert_cmpmem(body + off, i, collateral_names[i], i);
        off += i;
    }

    /* A missing file: no collateral to give */
    unlink(first);
    put_platform_collateral_req(qts);
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_UNAVAILABLE);

    /* IMDS unreachable: the quote is unavailable, not an error */
    put_buffer(qts, 1, report, sizeof(report));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_UNAVAILABLE);
    qtest_quit(qts);
    remove_dir(dir);
    g_free(dir);
}

/* TDG.MR.REPORT with REPORTDATA 0, 1, 2, ... 63 into @report */
static void mr_report(QTestState *qts, uint8_t *report)
{
    uint64_t in[NR_GPRS] = { 0 }, out[NR_GPRS];
    uint8_t reportdata[64];
    int i;

    for (i = 0; i < 64; i++) {
        reportdata[i] = i;
    }
    page_accept(qts, REPORT_GPA);           /* once per VM: then already */
    qtest_memwrite(qts, REPORT_GPA + 1024, reportdata, sizeof(reportdata));
    in[RAX] = TDG_MR_REPORT;
    in[RCX] = REPORT_GPA;
    in[RDX] = REPORT_GPA + 1024;
    tdcall(qts, 0, in, out, OUT(RAX));
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    qtest_memread(qts, REPORT_GPA, report, 1024);
}

/* The test PKI: signed collateral, a state dir reused, bad requests */
static void test_testpki(void)
{
    g_autofree char *dir = g_dir_make_tmp("tdx-emu-pki-XXXXXX", NULL);
    g_autofree char *cmd = g_strdup_printf(
        "-machine q35 -cpu max,phys-bits=48 -nodefaults "
        "-object tdx-quote-testpki,id=q,dir=%s "
        "-device tdx-emu,mailbox=0x%llx,quote=q", dir, MAILBOX_GPA);
    g_autofree char *root_path = g_build_filename(dir, "root-ca.der", NULL);
    g_autofree char *root = NULL, *root2 = NULL;
    g_autofree uint8_t *out = g_malloc(BUF_SIZE);
    gsize root_len, root2_len;
    uint8_t msg[4 + 16] = { 0 }, report[1024];
    QTestState *qts = qtest_init(cmd);
    uint32_t len, sizes[7], off;
    int i;

    len = platform_collateral(qts, out);
    g_assert_cmpuint(ldl_be_p(out), ==, len - 4);
    g_assert_cmpuint(ldl_le_p(out + 4 + 4), ==, 3);     /* COLLATERAL_RESP */
    g_assert_cmpuint(ldl_le_p(out + 4 + 12), ==, 0);    /* error_code */
    for (i = 0, off = 4 + 16 + 32; i < 7; i++) {
        sizes[i] = ldl_le_p(out + 4 + 20 + 4 * i);
        g_assert_cmpuint(sizes[i], >, 1);
        g_assert_cmpuint(out[off + sizes[i] - 1], ==, 0);   /* C strings */
        off += sizes[i];
    }
    g_assert_cmpuint(off, ==, len);
    off = 4 + 16 + 32 + sizes[0] + sizes[1] + sizes[2] + sizes[3];
    g_assert(g_str_has_prefix((char *)out + off,
                              "{\"tcbInfo\":{\"id\":\"TDX\""));
    off += sizes[4] + sizes[5];
    g_assert(g_str_has_prefix((char *)out + off,
                              "{\"enclaveIdentity\":{\"id\":\"TD_QE\""));

    /* No collateral for another platform, another CA, or a bad request */
    put_collateral_req(qts, (const uint8_t *)"\x00\x90\x6e\xa1\x00\x00",
                       "platform", sizeof("platform"));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_ERROR);
    put_collateral_req(qts, testpki_fmspc, "processor", sizeof("processor"));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_ERROR);
    put_collateral_req(qts, testpki_fmspc, "platform", 100);
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_ERROR);

    /* A genuine TDREPORT is quoted; a forged or altered one is not */
    mr_report(qts, report);
    put_buffer(qts, 1, report, sizeof(report));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_SUCCESS);
    len = qtest_readl(qts, BUF_GPA + 20);
    g_assert_cmpuint(len, >, 632);
    qtest_memread(qts, BUF_GPA + 24, out, len);
    g_assert_cmpuint(lduw_le_p(out), ==, 4);            /* quote version */
    g_assert_cmpmem(out + 48 + 520, 64, report + 128, 64);  /* REPORTDATA */
    g_assert_cmpmem(out + 48 + 136, 48, report + 528, 48);  /* MRTD */
    report[528] ^= 1;
    put_buffer(qts, 1, report, sizeof(report));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_ERROR);
    memset(report, 0x42, sizeof(report));
    put_buffer(qts, 1, report, sizeof(report));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_ERROR);

    /* A message type no QE answers, and a GET_QUOTE_REQ with no report */
    stl_be_p(msg, sizeof(msg) - 4);
    stl_le_p(msg + 4 + 4, 4);
    put_buffer(qts, 1, msg, sizeof(msg));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_ERROR);
    stl_le_p(msg + 4 + 4, 0);
    put_buffer(qts, 1, msg, sizeof(msg));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_ERROR);
    qtest_quit(qts);

    /* The PKI is kept: a second VM uses the same root */
    g_assert(g_file_get_contents(root_path, &root, &root_len, NULL));
    qts = qtest_init(cmd);
    qtest_quit(qts);
    g_assert(g_file_get_contents(root_path, &root2, &root2_len, NULL));
    g_assert_cmpmem(root, root_len, root2, root2_len);
    remove_dir(dir);
}

/* A VM whose test PKI in @dir has the extra properties @props */
static QTestState *testpki_init(const char *dir, const char *props)
{
    return qtest_initf("-machine q35 -cpu max,phys-bits=48 -nodefaults "
                       "-object tdx-quote-testpki,id=q,dir=%s%s "
                       "-device tdx-emu,mailbox=0x%llx,quote=q",
                       dir, props, MAILBOX_GPA);
}

/* The TCB info, the fifth blob of the GET_COLLATERAL_RESP, as a string */
static char *testpki_tcb_info(QTestState *qts)
{
    g_autofree uint8_t *out = g_malloc(BUF_SIZE);
    uint32_t off = 4 + 16 + 32;
    int i;

    platform_collateral(qts, out);
    for (i = 0; i < 4; i++) {
        off += ldl_le_p(out + 4 + 20 + 4 * i);
    }
    return g_strndup((char *)out + off, ldl_le_p(out + 4 + 20 + 16));
}

/* TDREPORT TEE_TCB_INFO: VALID, TEE_TCB_SVN, TEE_TCB_SVN2 (TDX module ABI) */
#define TDREPORT_TEE_TCB_VALID  256
#define TDREPORT_TEE_TCB_SVN    264
#define TDREPORT_TEE_TCB_SVN2   384
/* Quote v4: the QE report after header, body and signature data */
#define QUOTE_QE_REPORT         (48 + 584 + 4 + 128 + 6)

/*
 * What Intel's QVL and MigTD's production policy look at: the TDREPORT
 * names TDX module 1.x SVN 6; the TCB info has its TDX_01 identity and a
 * platform level with the SVNs the policy wants, UpToDate; the QE report
 * is from Intel's TD QE (MRSIGNER DC9E2A7C..., ISVPRODID 2)
 */
static void test_testpki_platform(void)
{
    static const uint8_t tee_tcb_svn[16] = { 6, 1, 8 };
    static const uint8_t td_qe_mrsigner[32] = {
        0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17,
        0x47, 0x4e, 0x34, 0xa7, 0xfc, 0x43, 0xed, 0x03,
        0x0f, 0x7c, 0x15, 0x63, 0xf1, 0xba, 0xbd, 0xdf,
        0x63, 0x40, 0xc8, 0x2e, 0x0e, 0x54, 0xa8, 0xc5,
    };
    g_autofree char *dir = g_dir_make_tmp("tdx-emu-pki-XXXXXX", NULL);
    g_autofree uint8_t *out = g_malloc(BUF_SIZE);
    g_autofree char *tcb = NULL;
    QTestState *qts = testpki_init(dir, "");
    uint8_t report[1024];
    uint32_t len;

    tcb = testpki_tcb_info(qts);
    g_assert(strstr(tcb, "\"tdxModuleIdentities\":[{\"id\":\"TDX_01\","));
    g_assert(strstr(tcb, "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":6},"));
    g_assert(strstr(tcb, "{\"sgxtcbcomponents\":[{\"svn\":8},{\"svn\":8},"
                    "{\"svn\":2},{\"svn\":2},{\"svn\":4},{\"svn\":1},"
                    "{\"svn\":0},{\"svn\":6},{\"svn\":0},"));
    g_assert(strstr(tcb, "\"pcesvn\":11,\"tdxtcbcomponents\":[{\"svn\":5},"
                    "{\"svn\":0},{\"svn\":8},{\"svn\":0},"));
    g_assert(strstr(tcb, "\"tcbStatus\":\"UpToDate\"}]},\"signature\""));

    mr_report(qts, report);
    g_assert_cmpmem(report + TDREPORT_TEE_TCB_SVN, 16, tee_tcb_svn, 16);
    g_assert_cmpmem(report + TDREPORT_TEE_TCB_SVN2, 16, tee_tcb_svn, 16);
    /* TDX module 1.5: VALID, TEE_TCB_SVN, MRSEAM and TEE_TCB_SVN2 */
    g_assert_cmphex(ldq_le_p(report + TDREPORT_TEE_TCB_VALID), ==, 0x301ff);
    put_buffer(qts, 1, report, sizeof(report));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(wait_status(qts), ==, QUOTE_SUCCESS);
    len = qtest_readl(qts, BUF_GPA + 20);
    g_assert_cmpuint(len, >, QUOTE_QE_REPORT + 384);
    qtest_memread(qts, BUF_GPA + 24, out, len);
    g_assert_cmpmem(out + 48, 16, tee_tcb_svn, 16);
    g_assert_cmpmem(out + QUOTE_QE_REPORT + 128, 32, td_qe_mrsigner, 32);
    g_assert_cmpuint(lduw_le_p(out + QUOTE_QE_REPORT + 256), ==, 2);
    qtest_quit(qts);
    remove_dir(dir);
}

/* The platform-state properties show in the TCB info; a bad one fails */
static void test_testpki_states(void)
{
    g_autofree char *dir = g_dir_make_tmp("tdx-emu-pki-XXXXXX", NULL);
    g_autofree char *tcb = NULL;
    g_autoptr(GDateTime) now = g_date_time_new_now_utc();
    g_autoptr(GDateTime) next = NULL;
    g_autofree char *next_text = NULL;
    QTestState *qts = testpki_init(dir, ",tcb-status=OutOfDate,"
                                  "tdx-module-svn=5,collateral-expired=on");
    QDict *resp;
    const char *p;

    tcb = testpki_tcb_info(qts);
    g_assert(strstr(tcb, "\"tcbStatus\":\"OutOfDate\"}]},\"signature\""));
    g_assert(strstr(tcb, "\"tcbLevels\":[{\"tcb\":{\"isvsvn\":5},"));
    p = strstr(tcb, "\"nextUpdate\":\"");
    g_assert(p);
    next_text = g_strndup(p + strlen("\"nextUpdate\":\""), 20);
    next = g_date_time_new_from_iso8601(next_text, NULL);
    g_assert(next);
    g_assert_cmpint(g_date_time_compare(next, now), <, 0);

    resp = qtest_qmp(qts, "{'execute': 'object-add', 'arguments': "
                     "{'qom-type': 'tdx-quote-testpki', 'id': 'q2', "
                     "'dir': %s, 'tcb-status': 'Unknown'}}", dir);
    g_assert(qdict_haskey(resp, "error"));
    qobject_unref(resp);
    qtest_quit(qts);
    remove_dir(dir);
}

/*
 * A state dir of an older certificate profile (no "profile" file) gets
 * new certificates for the keys it has: the root key stays
 */
static void test_testpki_reissue(void)
{
    g_autofree char *dir = g_dir_make_tmp("tdx-emu-pki-XXXXXX", NULL);
    g_autofree char *key_path = g_build_filename(dir, "root-ca.key.pem",
                                                 NULL);
    g_autofree char *pck_path = g_build_filename(dir, "pck.pem", NULL);
    g_autofree char *profile = g_build_filename(dir, "profile", NULL);
    g_autofree char *key = NULL, *key2 = NULL, *pck = NULL, *pck2 = NULL;

    qtest_quit(testpki_init(dir, ""));
    g_assert(g_file_get_contents(key_path, &key, NULL, NULL));
    g_assert(g_file_get_contents(pck_path, &pck, NULL, NULL));
    g_assert_cmpint(unlink(profile), ==, 0);
    qtest_quit(testpki_init(dir, ""));
    g_assert(g_file_get_contents(key_path, &key2, NULL, NULL));
    g_assert(g_file_get_contents(pck_path, &pck2, NULL, NULL));
    g_assert_cmpstr(key, ==, key2);
    g_assert_cmpstr(pck, !=, pck2);
    g_assert(g_file_test(profile, G_FILE_TEST_EXISTS));
    remove_dir(dir);
}

/*
 * One deadline for the whole request: a QGS that sends part of its answer
 * and then nothing gets SERVICE_UNAVAILABLE at timeout-ms, not a wait per
 * read
 */
static void test_deadline(void)
{
    Qgs qgs;
    QTestState *qts;
    uint8_t report[1024] = { 0 }, partial[4 + 5] = { 0 };
    GByteArray *req;
    int fd;

    qgs_listen(&qgs);
    qts = quote_init_props(qgs.path, ",timeout-ms=500", "");
    put_buffer(qts, 1, report, sizeof(report));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    fd = accept(qgs.listener, NULL, NULL);
    g_assert(fd >= 0);
    req = g_byte_array_sized_new(4 + 16 + 8 + 1024);
    g_byte_array_set_size(req, 4 + 16 + 8 + 1024);
    g_assert_cmpint(recv(fd, req->data, req->len, MSG_WAITALL), ==,
                    req->len);
    g_byte_array_unref(req);
    stl_be_p(partial, 100);                 /* 100 bytes promised, 5 sent */
    g_assert_cmpint(send(fd, partial, sizeof(partial), 0), ==,
                    sizeof(partial));
    g_assert_cmphex(wait_status(qts), ==, QUOTE_UNAVAILABLE);
    close(fd);
    qtest_quit(qts);
    qgs_close(&qgs);
}

/* Point this process's stderr (QEMU's, once spawned) at @path; the old one */
static int stderr_to(const char *path)
{
    int saved = dup(STDERR_FILENO);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    g_assert(saved >= 0 && fd >= 0);
    fflush(stderr);
    g_assert(dup2(fd, STDERR_FILENO) == STDERR_FILENO);
    close(fd);
    return saved;
}

static void stderr_restore(int saved)
{
    fflush(stderr);
    g_assert(dup2(saved, STDERR_FILENO) == STDERR_FILENO);
    close(saved);
}

/* A backend that fails every request, and what its reports start with */
typedef struct FailingBackend {
    const char *object;         /* -object, then the path of no socket */
    bool with_path;
    const char *report;
} FailingBackend;

static const FailingBackend failing_qgs = {
    "tdx-quote-qgs,id=q,addr=", true, "tdx-quote-qgs",
};

/* No vTPM: tpm2-tss would log several lines of its own each time */
static const FailingBackend failing_vtpm = {
    "tdx-quote-imds,id=q,url=http://127.0.0.1:9/acc/tdquote,"
    "report-source=vtpm,tcti=swtpm:host=127.0.0.1,,port=9", false,
    "tdx-quote-imds",
};

/*
 * A guest failing GetQuote after GetQuote does not grow stderr without
 * bound: the first 5 failures are reported, then one a minute at most
 * (this test takes less than two minutes), and nothing else is written;
 * the trace sees each one.
 */
static void test_failure_log(const void *data)
{
    const FailingBackend *fb = data;
    g_autofree char *dir = g_dir_make_tmp("tdx-emu-qlog-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "no-qgs.sock", NULL);
    g_autofree char *log = g_build_filename(dir, "stderr", NULL);
    g_autofree char *trace = g_build_filename(dir, "trace", NULL);
    uint8_t report[1024] = { 0 };
    QTestState *qts;
    unsigned reported;
    int saved, i;

    saved = stderr_to(log);
    qts = qtest_initf("-machine q35 -cpu max,phys-bits=48,vendor=GenuineIntel "
                      "-nodefaults -object %s%s "
                      "-device tdx-emu,mailbox=0x%llx,quote=q "
                      "-trace tdx_emu_quote_failure -D %s",
                      fb->object, fb->with_path ? path : "", MAILBOX_GPA,
                      trace);
    stderr_restore(saved);
    for (i = 0; i < 40; i++) {
        put_buffer(qts, 1, report, sizeof(report));
        g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==,
                        TDVMCALL_SUCCESS);
        g_assert_cmphex(wait_status(qts), ==, QUOTE_UNAVAILABLE);
    }
    qtest_quit(qts);
    reported = count_lines(log, fb->report);
    g_assert_cmpuint(reported, >=, 5);
    g_assert_cmpuint(reported, <=, 6);
    g_assert_cmpuint(count_lines(log, "at most)"), ==, 1);
    g_assert_cmpuint(count_lines(log, ""), ==, reported);  /* nothing else */
    g_assert_cmpuint(count_lines(trace, "tdx_emu_quote_failure"), ==, 40);
    remove_dir(dir);
}

static void test_no_backend(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint8_t report[1024] = { 0 };

    put_buffer(qts, 1, report, sizeof(report));
    g_assert_cmphex(get_quote(qts, BUF_GPA, BUF_SIZE), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(qtest_readq(qts, BUF_GPA + 8), ==, QUOTE_UNAVAILABLE);
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    if (!qtest_has_device("tdx-emu")) {
        return 0;
    }
    qtest_add_func("/tdx-emu/quote/framed", test_framed);
    qtest_add_func("/tdx-emu/quote/bare-report", test_bare_report);
    qtest_add_func("/tdx-emu/quote/bad-buffers", test_bad_buffers);
    qtest_add_func("/tdx-emu/quote/backend-failures", test_backend_failures);
    qtest_add_func("/tdx-emu/quote/no-backend", test_no_backend);
    qtest_add_func("/tdx-emu/quote/deadline", test_deadline);
    qtest_add_data_func("/tdx-emu/quote/failure-log/qgs", &failing_qgs,
                        test_failure_log);
    qtest_add_data_func("/tdx-emu/quote/failure-log/vtpm", &failing_vtpm,
                        test_failure_log);
    qtest_add_func("/tdx-emu/quote/imds", test_imds);
    qtest_add_func("/tdx-emu/quote/testpki", test_testpki);
    qtest_add_func("/tdx-emu/quote/testpki/platform", test_testpki_platform);
    qtest_add_func("/tdx-emu/quote/testpki/states", test_testpki_states);
    qtest_add_func("/tdx-emu/quote/testpki/reissue", test_testpki_reissue);
    return g_test_run();
}
