/*
 * tdx-emu: the QGS quote backend, "-object tdx-quote-qgs,id=q,addr=ADDR"
 *
 * Passes each QGS message to a Quote Generation Service (ADDR is a unix
 * socket path or host:port) with its 4-byte big-endian length framing and
 * returns the answer verbatim (spec §3.3; prior-art §1.8). Each request
 * runs in its own thread with blocking I/O bounded by a timeout, and
 * completes in the main loop.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/clone-visitor.h"
#include "qapi/qapi-visit-sockets.h"
#include "qemu/bswap.h"
#include "qemu/error-report.h"
#include "qemu/module.h"
#include "qemu/sockets.h"
#include "qemu/thread.h"
#include "qom/object_interfaces.h"
#include "quote.h"

#define TYPE_TDX_QUOTE_QGS "tdx-quote-qgs"
OBJECT_DECLARE_SIMPLE_TYPE(TdxQuoteQgs, TDX_QUOTE_QGS)

#define QGS_TIMEOUT_S       30
#define QGS_RESPONSE_MAX    (16 * 1024 * 1024)

struct TdxQuoteQgs {
    TdxQuoteBackend parent_obj;
    char *addr;
    SocketAddress *sockaddr;
};

typedef struct QgsJob {
    SocketAddress *addr;
    GByteArray *req;
    GByteArray *resp;
    uint64_t status;
    TdxQuoteDone *done;
    void *opaque;
} QgsJob;

static bool qgs_io(int fd, void *buf, size_t len, bool write)
{
    uint8_t *p = buf;
    ssize_t n;

    while (len) {
        n = write ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) {
                continue;
            }
            return false;
        }
        p += n;
        len -= n;
    }
    return true;
}

static void qgs_set_timeout(int fd)
{
    struct timeval tv = { .tv_sec = QGS_TIMEOUT_S };

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* The whole exchange; sets job->status */
static void qgs_exchange(QgsJob *job)
{
    Error *err = NULL;
    uint8_t len_be[4];
    uint32_t len;
    int fd = socket_connect(job->addr, &err);

    job->status = GET_QUOTE_SERVICE_UNAVAILABLE;
    if (fd < 0) {
        error_report_err(err);
        return;
    }
    qgs_set_timeout(fd);
    stl_be_p(len_be, job->req->len);
    if (!qgs_io(fd, len_be, 4, true) ||
        !qgs_io(fd, job->req->data, job->req->len, true) ||
        !qgs_io(fd, len_be, 4, false)) {
        goto out;
    }
    len = ldl_be_p(len_be);
    job->status = GET_QUOTE_ERROR;
    if (len < QGS_HDR_SIZE || len > QGS_RESPONSE_MAX) {
        goto out;
    }
    g_byte_array_set_size(job->resp, len);
    if (qgs_io(fd, job->resp->data, len, false)) {
        job->status = GET_QUOTE_SUCCESS;
    }
out:
    close(fd);
}

static void *qgs_thread(void *opaque)
{
    QgsJob *job = opaque;

    qgs_exchange(job);
    tdx_quote_answer(job->status, job->resp, job->done, job->opaque);
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

    job->addr = QAPI_CLONE(SocketAddress, q->sockaddr);
    job->req = g_byte_array_new();
    g_byte_array_append(job->req, req, len);
    job->resp = g_byte_array_new();
    job->done = done;
    job->opaque = opaque;
    qemu_thread_create(&thread, "tdx-quote-qgs", qgs_thread, job,
                       QEMU_THREAD_DETACHED);
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
