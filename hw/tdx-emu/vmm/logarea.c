/*
 * tdx-emu: the MigTD's log area, read by the host
 *
 * A vmcall-raw MigTD keeps one shared 4 KiB log page per vCPU and hands
 * the VMM their addresses when it completes an EnableLogArea request:
 * {u32 num_vcpus, u32 0, then per vCPU {u64 page GPA, u64 0x1000}} (MigTD
 * src/migtd/src/migration/logging.rs enable_logarea, commits e5710d0 and
 * a1da894). Each page is a ring: a 40-byte header {"MigTD LogArea 1\0",
 * u32 vcpuindex, u32 reserved, u64 startoffset, u64 endoffset}, then
 * entries {u64 log_entry_id, u64 mig_request_id (u64::MAX: none), u8
 * level, u8 reserved[3], u32 length, text}. The MigTD writes at endoffset;
 * when an entry does not fit before the page's end it zeroes the rest and
 * goes on at offset 40, dropping the oldest entries from startoffset on
 * (endoffset < startoffset then: the entries run from startoffset to a
 * zeroed header or the page's end, and from 40 to endoffset). The entry id
 * counts across all vCPUs.
 *
 * The device reads the pages every logarea-poll-ms and at every
 * query-tdx-emu-log-area, keeps the entries it has not seen yet (by entry
 * id, per page) for the host and traces them. A page it cannot make sense
 * of is reported as malformed, with the reason, and read again next time.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/clone-visitor.h"
#include "qapi/qapi-visit-tdx-emu-target.h"
#include "qemu/bswap.h"
#include "qemu/log.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "hw/tdx-emu/tdx-module/tdx-module.h"
#include "vmm.h"
#include "trace.h"

#define LOG_PAGE            (4 * KiB)
#define LOG_HDR_SIZE        40
#define ENTRY_HDR_SIZE      24
#define NO_REQUEST          UINT64_MAX
/* What the host keeps: the newest entries, at most this many and bytes */
#define KEEP_ENTRIES        4096
#define KEEP_BYTES          (1 * MiB)

static const char signature[16] = "MigTD LogArea 1";

typedef struct LogPage {
    uint64_t gpa;
    uint64_t last_id;           /* the newest entry id read from it */
    char *malformed;            /* why the last read failed, or NULL */
} LogPage;

struct TdxEmuLogState {
    TdxEmuState *dev;
    uint8_t level;              /* 0: not enabled */
    uint32_t nr_pages;
    LogPage *pages;
    GQueue entries;             /* TdxEmuLogEntry, oldest first */
    size_t bytes;
    uint64_t next_seq;
    uint64_t dropped;
    QEMUTimer *timer;
};

static void entry_drop_oldest(TdxEmuLogState *l)
{
    TdxEmuLogEntry *e = g_queue_pop_head(&l->entries);

    l->bytes -= strlen(e->text);
    l->dropped++;
    qapi_free_TdxEmuLogEntry(e);
}

static void entry_add(TdxEmuLogState *l, uint32_t vcpu, const uint8_t *hdr,
                      const uint8_t *text, uint32_t len)
{
    TdxEmuLogEntry *e = g_new0(TdxEmuLogEntry, 1);
    uint64_t req = ldq_le_p(hdr + 8);

    if (len && text[len - 1] == '\n') {
        len--;
    }
    e->seq = l->next_seq++;
    e->vcpu = vcpu;
    e->entry_id = ldq_le_p(hdr);
    e->has_request_id = req != NO_REQUEST;
    e->request_id = req;
    e->level = hdr[16];
    e->text = tdx_emu_printable((const char *)text, len);
    trace_tdx_emu_logarea_entry(vcpu, e->entry_id, req, e->level, e->text);
    l->bytes += strlen(e->text);
    g_queue_push_tail(&l->entries, e);
    while (l->entries.length > KEEP_ENTRIES || l->bytes > KEEP_BYTES) {
        entry_drop_oldest(l);
    }
}

/*
 * The entries in [@off, @end) of @page; in the part before a wrap (@top),
 * a zeroed header or no room for one ends them, as MigTD's writer leaves
 * it. Returns why the part is malformed, or NULL.
 */
static const char *page_part(TdxEmuLogState *l, uint32_t vcpu,
                             const uint8_t *page, uint64_t off, uint64_t end,
                             bool top)
{
    LogPage *p = &l->pages[vcpu];
    const uint8_t *hdr;
    uint64_t id;
    uint32_t len;

    while (off < end) {
        if (end - off < ENTRY_HDR_SIZE) {
            return top ? NULL : "an entry header runs past endoffset";
        }
        hdr = page + off;
        id = ldq_le_p(hdr);
        len = ldl_le_p(hdr + 20);
        if (top && !id && !len) {
            return NULL;
        }
        if (len > end - off - ENTRY_HDR_SIZE) {
            return top ? "an entry runs past the page" :
                         "an entry runs past endoffset";
        }
        if (id > p->last_id) {
            p->last_id = id;
            entry_add(l, vcpu, hdr, hdr + ENTRY_HDR_SIZE, len);
        }
        off += ENTRY_HDR_SIZE + len;
    }
    return NULL;
}

static const char *page_parse(TdxEmuLogState *l, uint32_t vcpu,
                              const uint8_t *page)
{
    uint64_t start = ldq_le_p(page + 24), end = ldq_le_p(page + 32);
    const char *why;

    if (memcmp(page, signature, sizeof(signature))) {
        return "no \"MigTD LogArea 1\" signature";
    }
    if (ldl_le_p(page + 16) != vcpu) {
        return "its vcpuindex is another vCPU's";
    }
    if (start < LOG_HDR_SIZE || start > LOG_PAGE ||
        end < LOG_HDR_SIZE || end > LOG_PAGE) {
        return "startoffset or endoffset is outside the page";
    }
    if (end >= start) {
        return page_part(l, vcpu, page, start, end, false);
    }
    why = page_part(l, vcpu, page, start, LOG_PAGE, true);
    return why ? why : page_part(l, vcpu, page, LOG_HDR_SIZE, end, false);
}

static void page_read(TdxEmuLogState *l, uint32_t vcpu)
{
    g_autofree uint8_t *page = g_malloc(LOG_PAGE);
    LogPage *p = &l->pages[vcpu];
    const char *why = "the page is not RAM";

    /* A snapshot: the TD may be writing it */
    if (tdx_emu_read_shared(l->dev, p->gpa, page, LOG_PAGE)) {
        why = page_parse(l, vcpu, page);
    }
    if (why && g_strcmp0(why, p->malformed)) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: log page of vCPU %u at "
                      "0x%" PRIx64 " is malformed: %s\n", vcpu, p->gpa, why);
        trace_tdx_emu_logarea_malformed(vcpu, why);
    }
    g_free(p->malformed);
    p->malformed = g_strdup(why);
}

static void logarea_read(TdxEmuLogState *l)
{
    uint32_t i;

    for (i = 0; i < l->nr_pages; i++) {
        page_read(l, i);
    }
}

static void logarea_poll(void *opaque)
{
    TdxEmuLogState *l = opaque;

    logarea_read(l);
    if (l->dev->logarea_poll_ms) {
        timer_mod(l->timer, qemu_clock_get_ms(QEMU_CLOCK_REALTIME) +
                  l->dev->logarea_poll_ms);
    }
}

static void logarea_disable(TdxEmuLogState *l)
{
    uint32_t i;

    timer_del(l->timer);
    for (i = 0; i < l->nr_pages; i++) {
        g_free(l->pages[i].malformed);
    }
    g_free(l->pages);
    l->pages = NULL;
    l->nr_pages = 0;
    l->level = 0;
}

void tdx_emu_logarea_realize(TdxEmuState *s)
{
    TdxEmuLogState *l = g_new0(TdxEmuLogState, 1);

    l->dev = s;
    g_queue_init(&l->entries);
    l->timer = timer_new_ms(QEMU_CLOCK_REALTIME, logarea_poll, l);
    s->log = l;
}

/* A new TD: its log pages are gone; what was read stays for the host */
void tdx_emu_logarea_reset(TdxEmuState *s)
{
    logarea_disable(s->log);
}

/*
 * The EnableLogArea status data: one page per vCPU, each page-aligned RAM
 * of 0x1000 bytes, at most as many as the TD has vCPUs (MigTD counts them
 * with TDG.VP.INFO). A page the host was reading already keeps what was
 * read from it.
 */
void tdx_emu_logarea_enable(TdxEmuState *s, uint8_t level,
                            const uint8_t *data, uint32_t len)
{
    TdxEmuLogState *l = s->log;
    uint32_t n = len >= 8 ? ldl_le_p(data) : 0, i;
    g_autofree LogPage *pages = NULL;
    uint64_t gpa;

    if (!n || n > s->nr_vcpus || len < 8 + 16 * (uint64_t)n) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: EnableLogArea status: %u "
                      "log pages in %u bytes, for %u vCPUs\n", n, len,
                      s->nr_vcpus);
        return;
    }
    pages = g_new0(LogPage, n);
    for (i = 0; i < n; i++) {
        gpa = ldq_le_p(data + 8 + 16 * i) & ~tdx_emu_shared_bit(s);
        if (ldq_le_p(data + 16 + 16 * i) != LOG_PAGE ||
            !QEMU_IS_ALIGNED(gpa, LOG_PAGE) ||
            !tdx_emu_ram_range(s, gpa, LOG_PAGE)) {
            qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: EnableLogArea status: "
                          "the log page of vCPU %u is not a page of RAM\n",
                          i);
            return;
        }
        pages[i].gpa = gpa;
        if (i < l->nr_pages && l->pages[i].gpa == gpa) {
            pages[i].last_id = l->pages[i].last_id;
        }
    }
    logarea_disable(l);
    l->pages = g_steal_pointer(&pages);
    l->nr_pages = n;
    l->level = level;
    logarea_poll(l);
}

static TdxEmuLogPageList *logarea_pages(TdxEmuLogState *l)
{
    TdxEmuLogPageList *head = NULL, **tail = &head;
    TdxEmuLogPage *p;
    uint32_t i;

    for (i = 0; i < l->nr_pages; i++) {
        p = g_new0(TdxEmuLogPage, 1);
        p->vcpu = i;
        p->gpa = l->pages[i].gpa;
        p->malformed = g_strdup(l->pages[i].malformed);
        QAPI_LIST_APPEND(tail, p);
    }
    return head;
}

TdxEmuLogArea *tdx_emu_logarea_query(TdxEmuState *s, uint64_t since)
{
    TdxEmuLogState *l = s->log;
    TdxEmuLogArea *info = g_new0(TdxEmuLogArea, 1);
    TdxEmuLogEntryList **tail = &info->entries;
    GList *it;

    logarea_read(l);
    info->enabled = l->level != 0;
    info->level = l->level;
    info->pages = logarea_pages(l);
    for (it = l->entries.head; it; it = it->next) {
        TdxEmuLogEntry *e = it->data;

        if (e->seq >= since) {
            QAPI_LIST_APPEND(tail, QAPI_CLONE(TdxEmuLogEntry, e));
        }
    }
    info->dropped = l->dropped;
    info->next_seq = l->next_seq;
    return info;
}
