/*
 * tdx-emu: the QGS quote backend,
 * "-object tdx-quote-qgs,id=q,addr=ADDR[,timeout-ms=MS]"
 *
 * Passes each QGS message to a Quote Generation Service (ADDR is a unix
 * socket path or host:port) with its 4-byte big-endian length framing and
 * returns the answer verbatim (the messages of DCAP's
 * QuoteGeneration/quote_wrapper/qgs_msg_lib). Each request runs in its
 * own thread on a non-blocking socket, and everything from the
 * connection to the last byte of the answer shares one deadline
 * (timeout-ms, docs/quote.md); it completes in the main loop.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <poll.h>
#include "qapi/error.h"
#include "qapi/clone-visitor.h"
#include "qapi/qapi-visit-sockets.h"
#include "qemu/bswap.h"
#include "qemu/module.h"
#include "qemu/sockets.h"
#include "qemu/thread.h"
#include "qom/object_interfaces.h"
#include "quote.h"

#define TYPE_TDX_QUOTE_QGS "tdx-quote-qgs"
OBJECT_DECLARE_SIMPLE_TYPE(TdxQuoteQgs, TDX_QUOTE_QGS)

#define QGS_RESPONSE_MAX    (16 * 1024 * 1024)
#define QGS_PATH_MAX        sizeof_field(struct sockaddr_un, sun_path)

struct TdxQuoteQgs {
    TdxQuoteBackend parent_obj;
    char *addr;
    SocketAddress *sockaddr;
};

typedef struct QgsJob {
    char *name;                 /* the address, for messages */
    SocketAddress *addr;
    int64_t deadline;
    uint32_t timeout_ms;
    GByteArray *req;
    GByteArray *resp;
    TdxQuoteDone *done;
    void *opaque;
} QgsJob;

/* Whether @fd became ready for @events before @deadline */
static bool qgs_wait(int fd, short events, int64_t deadline)
{
    struct pollfd pfd = { .fd = fd, .events = events };
    int64_t left;
    int n;

    do {
        left = tdx_quote_time_left(deadline);
        n = left ? poll(&pfd, 1, left) : 0;
    } while (n < 0 && errno == EINTR);
    return n > 0;
}

/* Send or receive all of @buf on the non-blocking @fd: 0 or -errno */
static int qgs_io(int fd, void *buf, size_t len, bool write,
                  int64_t deadline)
{
    uint8_t *p = buf;
    ssize_t n;

    while (len) {
        n = write ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
        if (n > 0) {
            p += n;
            len -= n;
        } else if (!n) {
            return -ECONNRESET;             /* closed before the end */
        } else if (errno != EAGAIN && errno != EWOULDBLOCK &&
                   errno != EINTR) {
            return -errno;
        } else if (!qgs_wait(fd, write ? POLLOUT : POLLIN, deadline)) {
            return -ETIMEDOUT;
        }
    }
    return 0;
}

/* A non-blocking socket connected to @sa before @deadline, or -errno */
static int qgs_connect_to(const struct sockaddr *sa, socklen_t len,
                          int64_t deadline)
{
    int fd = qemu_socket(sa->sa_family, SOCK_STREAM, 0), err = 0;
    socklen_t err_len = sizeof(err);

    if (fd < 0) {
        return -errno;
    }
    qemu_socket_set_nonblock(fd);
    if (connect(fd, sa, len) < 0) {
        err = errno;
    }
    if (err == EINPROGRESS || err == EINTR) {
        err = qgs_wait(fd, POLLOUT, deadline) ? 0 : ETIMEDOUT;
        if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len)) {
            err = errno;
        }
    }
    if (err) {
        close(fd);
        return -err;
    }
    return fd;
}

/*
 * Connect to @addr (unix or inet, checked at creation) before @deadline;
 * a host name is resolved first, within the resolver's own timeouts
 */
static int qgs_connect(SocketAddress *addr, int64_t deadline)
{
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    struct addrinfo hints = {
        .ai_flags = AI_ADDRCONFIG, .ai_socktype = SOCK_STREAM,
    };
    struct addrinfo *res, *ai;
    int fd = -EHOSTUNREACH;

    if (addr->type == SOCKET_ADDRESS_TYPE_UNIX) {
        g_strlcpy(un.sun_path, addr->u.q_unix.path, QGS_PATH_MAX);
        return qgs_connect_to((struct sockaddr *)&un, sizeof(un), deadline);
    }
    if (getaddrinfo(addr->u.inet.host, addr->u.inet.port, &hints, &res)) {
        return fd;
    }
    for (ai = res; ai && fd < 0 && fd != -ETIMEDOUT; ai = ai->ai_next) {
        fd = qgs_connect_to(ai->ai_addr, ai->ai_addrlen, deadline);
    }
    freeaddrinfo(res);
    return fd;
}

/* Send the request, read the answer into job->resp; the GetQuote status */
static uint64_t qgs_transfer(QgsJob *job, int fd, Error **errp)
{
    uint8_t len_be[4];
    uint32_t len;
    int ret;

    stl_be_p(len_be, job->req->len);
    ret = qgs_io(fd, len_be, 4, true, job->deadline);
    ret = ret ?: qgs_io(fd, job->req->data, job->req->len, true,
                        job->deadline);
    ret = ret ?: qgs_io(fd, len_be, 4, false, job->deadline);
    if (!ret) {
        len = ldl_be_p(len_be);
        if (len < QGS_HDR_SIZE || len > QGS_RESPONSE_MAX) {
            error_setg(errp, "an answer of %" PRIu32 " bytes", len);
            return GET_QUOTE_ERROR;
        }
        g_byte_array_set_size(job->resp, len);
        ret = qgs_io(fd, job->resp->data, len, false, job->deadline);
    }
    if (!ret) {
        return GET_QUOTE_SUCCESS;
    }
    if (ret == -ETIMEDOUT) {
        error_setg(errp, "no whole answer within timeout-ms=%" PRIu32,
                   job->timeout_ms);
    } else {
        error_setg_errno(errp, -ret, "no answer");
    }
    return GET_QUOTE_SERVICE_UNAVAILABLE;
}

static void *qgs_thread(void *opaque)
{
    QgsJob *job = opaque;
    Error *err = NULL;
    uint64_t status = GET_QUOTE_SERVICE_UNAVAILABLE;
    int fd = qgs_connect(job->addr, job->deadline);

    if (fd < 0) {
        error_setg_errno(&err, -fd, "cannot connect");
    } else {
        status = qgs_transfer(job, fd, &err);
        close(fd);
    }
    if (err) {
        tdx_quote_warn("tdx-quote-qgs %s: %s", job->name,
                       error_get_pretty(err));
        error_free(err);
    }
    tdx_quote_answer(status, job->resp, job->done, job->opaque);
    g_free(job->name);
    qapi_free_SocketAddress(job->addr);
    g_byte_array_free(job->req, true);
    g_free(job);
    return NULL;
}

static void qgs_request(TdxQuoteBackend *b, const uint8_t *req, size_t len,
                        TdxQuoteDone *done, void *opaque)
{
    TdxQuoteQgs *q = TDX_QUOTE_QGS(b);
    QgsJob *job = g_new0(QgsJob, 1);
    QemuThread thread;

    job->name = g_strdup(q->addr);
    job->addr = QAPI_CLONE(SocketAddress, q->sockaddr);
    job->deadline = tdx_quote_deadline(b);
    job->timeout_ms = b->timeout_ms;
    job->req = g_byte_array_new();
    g_byte_array_append(job->req, req, len);
    job->resp = g_byte_array_new();
    job->done = done;
    job->opaque = opaque;
    qemu_thread_create(&thread, "tdx-quote-qgs", qgs_thread, job,
                       QEMU_THREAD_DETACHED);
}

/* A unix socket path that fits sun_path, or an inet address */
static bool qgs_addr_supported(SocketAddress *addr)
{
    switch (addr->type) {
    case SOCKET_ADDRESS_TYPE_UNIX:
        return strlen(addr->u.q_unix.path) < QGS_PATH_MAX;
    case SOCKET_ADDRESS_TYPE_INET:
        return true;
    default:
        return false;
    }
}

static void qgs_complete_object(UserCreatable *uc, Error **errp)
{
    TdxQuoteQgs *q = TDX_QUOTE_QGS(uc);

    if (!q->addr) {
        error_setg(errp, "%s needs addr=PATH or addr=HOST:PORT",
                   TYPE_TDX_QUOTE_QGS);
        return;
    }
    q->sockaddr = socket_parse(q->addr, errp);
    if (!q->sockaddr) {
        return;
    }
    if (!qgs_addr_supported(q->sockaddr)) {
        error_setg(errp, "%s: addr is a unix path of at most %zu bytes or "
                   "HOST:PORT, not '%s'", TYPE_TDX_QUOTE_QGS,
                   QGS_PATH_MAX - 1, q->addr);
    }
}

static char *qgs_get_addr(Object *obj, Error **errp)
{
    return g_strdup(TDX_QUOTE_QGS(obj)->addr);
}

static void qgs_set_addr(Object *obj, const char *value, Error **errp)
{
    TdxQuoteQgs *q = TDX_QUOTE_QGS(obj);

    g_free(q->addr);
    /* A bare path is a unix socket, as QGS listens on */
    q->addr = strchr(value, ':') || value[0] != '/' ? g_strdup(value) :
              g_strdup_printf("unix:%s", value);
}

static void qgs_finalize(Object *obj)
{
    TdxQuoteQgs *q = TDX_QUOTE_QGS(obj);

    g_free(q->addr);
    qapi_free_SocketAddress(q->sockaddr);
}

static void qgs_class_init(ObjectClass *oc, void *data)
{
    TdxQuoteBackendClass *bc = TDX_QUOTE_BACKEND_CLASS(oc);
    UserCreatableClass *ucc = USER_CREATABLE_CLASS(oc);

    bc->request = qgs_request;
    ucc->complete = qgs_complete_object;
    object_class_property_add_str(oc, "addr", qgs_get_addr, qgs_set_addr);
    object_class_property_set_description(oc, "addr",
        "the QGS socket: a unix path or HOST:PORT");
    tdx_quote_class_add_timeout(oc);
}

static const TypeInfo qgs_types[] = {
    {
        .name = TYPE_TDX_QUOTE_QGS,
        .parent = TYPE_TDX_QUOTE_BACKEND,
        .instance_size = sizeof(TdxQuoteQgs),
        .instance_finalize = qgs_finalize,
        .class_init = qgs_class_init,
        .interfaces = (InterfaceInfo[]) {
            { TYPE_USER_CREATABLE },
            { }
        },
    },
};

DEFINE_TYPES(qgs_types)
