/*
 * Guest stub: MigTD's log area, as a vmcall-raw MigTD keeps it (MigTD
 * src/migtd/src/migration/logging.rs; docs/debugging.md)
 *
 * At boot, one shared 4 KiB page per vCPU (TDG.VP.INFO R8) and a private
 * provisional page each; entries go into the provisional pages, whatever
 * their level, until EnableLogArea copies them into the shared pages and
 * sets the level (MigTD commit a1da894). Each page is a ring: a 40-byte
 * header {"MigTD LogArea 1\0", u32 vcpuindex, u32 0, u64 startoffset, u64
 * endoffset}, then entries {u64 log_entry_id, u64 mig_request_id, u8
 * level, u8 reserved[3], u32 length, text}. An entry that does not fit
 * before the page's end starts again at offset 40, after the rest of the
 * page was zeroed; the oldest entries it overwrites are zeroed and
 * startoffset moves past them. Entry ids count across all vCPUs from 1.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <stdarg.h>
#include "tdx.h"
#include "bytes.h"
#include "shared.h"
#include "logarea.h"

#define LOG_HDR         40
#define ENTRY_HDR       24
#define LINE_MAX        256

static const char signature[16] = "MigTD LogArea 1";

static uint8_t provisional[LOGAREA_MAX_VCPUS][PAGE]
    __attribute__((aligned(PAGE)));
static uint8_t *shared_pages;
static uint32_t nr_vcpus;
static uint8_t max_level;           /* 0 until EnableLogArea */
static uint64_t entry_id;

static void page_init(uint8_t *page, uint32_t vcpu)
{
    copy(page, signature, sizeof(signature));
    st32(page + 16, vcpu);
    st32(page + 20, 0);
    st64(page + 24, LOG_HDR);
    st64(page + 32, LOG_HDR);
}

int logarea_create(void)
{
    struct tdx_regs r = { .rax = TDG_VP_INFO };
    uint32_t i;

    tdcall(&r);
    nr_vcpus = (uint32_t)r.r8;          /* NUM_VCPUS; MAX_VCPUS above */
    if (nr_vcpus > LOGAREA_MAX_VCPUS) {
        nr_vcpus = LOGAREA_MAX_VCPUS;
    }
    shared_pages = r.rax == TDX_SUCCESS && nr_vcpus ?
                   shared_alloc(nr_vcpus) : 0;
    if (!shared_pages) {
        nr_vcpus = 0;
        return 0;
    }
    for (i = 0; i < nr_vcpus; i++) {
        page_init(shared_pages + i * PAGE, i);
        page_init(provisional[i], i);
    }
    return 1;
}

uint32_t logarea_enable(uint8_t level, uint8_t *reply)
{
    uint32_t i;

    if (!nr_vcpus) {
        return 0;
    }
    st32(reply, nr_vcpus);
    st32(reply + 4, 0);
    for (i = 0; i < nr_vcpus; i++) {
        if (!max_level) {
            copy(shared_pages + i * PAGE, provisional[i], PAGE);
        }
        /* The page's GPA without the shared bit (logging.rs) */
        st64(reply + 8 + 16 * i, shared_dma(shared_pages + i * PAGE));
        st64(reply + 16 + 16 * i, PAGE);
    }
    max_level = level;
    return 8 + 16 * nr_vcpus;
}

static void zero(uint8_t *p, uint64_t n)
{
    while (n--) {
        *p++ = 0;
    }
}

/*
 * Make room for @need bytes at endoffset (wrapping to the start of the
 * page if they do not fit before its end); the entries in the way go.
 * Returns where the entry goes.
 */
static uint64_t ring_reserve(uint8_t *page, uint64_t need)
{
    uint64_t start = ld64(page + 24), end = ld64(page + 32), next;

    if (end + need > PAGE) {
        zero(page + end, PAGE - end);
        if (start > end) {
            start = LOG_HDR;            /* those up there are gone */
        }
        end = LOG_HDR;
    }
    /* Entries from startoffset on lie ahead of the new one: drop some */
    while (start >= end && start <= end + need) {
        if (start + ENTRY_HDR > PAGE ||
            (!ld64(page + start) && !ld64(page + start + 16))) {
            start = LOG_HDR;            /* none left ahead */
            break;
        }
        next = start + ENTRY_HDR + (ld64(page + start + 16) >> 32);
        zero(page + start, (next < PAGE ? next : PAGE) - start);
        start = next;
    }
    st64(page + 24, start);
    return end;
}

static void entry_write(int level, uint64_t request_id, const char *text,
                        uint32_t len)
{
    uint32_t eax = 1, ebx, ecx = 0, edx, vcpu;
    uint8_t *page, *e;
    uint64_t at;

    asm volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
    vcpu = ebx >> 24;                   /* the initial APIC ID */
    if (vcpu >= nr_vcpus || (max_level && level > max_level) ||
        ENTRY_HDR + len > PAGE - LOG_HDR) {
        return;
    }
    page = max_level ? shared_pages + vcpu * PAGE : provisional[vcpu];
    at = ring_reserve(page, ENTRY_HDR + len);
    e = page + at;
    st64(e, ++entry_id);
    st64(e + 8, request_id);
    st64(e + 16, level);                /* level, reserved[3], length */
    st32(e + 20, len);
    copy(e + ENTRY_HDR, text, len);
    st64(page + 32, at + ENTRY_HDR + len);
}

void migtd_log(int level, uint64_t request_id, const char *fmt, ...)
{
    char text[LINE_MAX];
    uint32_t len;
    va_list ap;

    va_start(ap, fmt);
    len = guest_vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    guest_printf("%s", text);
    entry_write(level, request_id, text, len);
}
