// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * linux-check: the attestation checks a Linux TD's /init runs (firmware/
 * README.md). Built static on the host; the kernel's interfaces only:
 *
 *  - dmesg has "tdx: Guest detected" (arch/x86/coco/tdx/tdx.c);
 *  - what TDG.VP.INFO gave the kernel: dmesg has "Memory Encryption
 *    Features active: Intel TDX" (arch/x86/mm/mem_encrypt.c), and the
 *    TDREPORT's TDINFO.ATTRIBUTES has SEPT_VE_DISABLE, without which
 *    tdx_early_init would have panicked;
 *  - /dev/tdx_guest TDX_CMD_GET_REPORT0 (include/uapi/linux/tdx-guest.h)
 *    with REPORTDATA = the nonce from "tdxemu.nonce=HEX" on the kernel
 *    command line: the TDREPORT echoes it at offset 128
 *    (REPORTMACSTRUCT.REPORTDATA, TDX module ABI);
 *  - a configfs-tsm quote (Documentation/ABI/testing/configfs-tsm):
 *    report/NAME/inblob = the nonce, read outblob;
 *  - /proc/interrupts' #VE row, if the kernel has one.
 *
 * Output, one line each on the console: "CHECK <name> ok|FAIL <detail>",
 * "TDREPORT <hex>", "QUOTE <hex>", and "LINUX-CHECK DONE <n> failed" last.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPORTDATA_LEN 64
#define TDREPORT_LEN 1024
#define TDREPORT_REPORTDATA 128
#define TDREPORT_ATTRIBUTES 512         /* TDINFO.ATTRIBUTES, then XFAM */
#define TDREPORT_XFAM 520
#define SEPT_VE_DISABLE (1ull << 28)

/* include/uapi/linux/tdx-guest.h */
struct tdx_report_req {
    uint8_t reportdata[REPORTDATA_LEN];
    uint8_t tdreport[TDREPORT_LEN];
};
#define TDX_CMD_GET_REPORT0 _IOWR('T', 1, struct tdx_report_req)

#define TSM_DIR "/sys/kernel/config/tsm/report/linux-check"
#define QUOTE_MAX (64 * 1024)

static int failed;
static char dmesg[1 << 20];

static void check(const char *name, int ok, const char *detail)
{
    printf("CHECK %s %s %s\n", name, ok ? "ok" : "FAIL", detail);
    fflush(stdout);
    failed += !ok;
}

static void print_hex(const char *label, const uint8_t *p, size_t n)
{
    printf("%s ", label);
    for (size_t i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
    printf("\n");
    fflush(stdout);
}

static size_t read_file(const char *path, void *buf, size_t max)
{
    int fd = open(path, O_RDONLY);
    size_t n = 0;
    ssize_t r = 1;

    if (fd < 0) {
        return 0;
    }
    while (n < max && (r = read(fd, (char *)buf + n, max - n)) > 0) {
        n += r;
    }
    close(fd);
    return r < 0 ? 0 : n;
}

static int write_file(const char *path, const void *buf, size_t n)
{
    int fd = open(path, O_WRONLY);
    int ok = fd >= 0 && write(fd, buf, n) == (ssize_t)n;

    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* The nonce: tdxemu.nonce=<128 hex digits> on /proc/cmdline */
static int read_nonce(uint8_t *nonce)
{
    char cmdline[4096] = "";
    const char *p;

    read_file("/proc/cmdline", cmdline, sizeof(cmdline) - 1);
    p = strstr(cmdline, "tdxemu.nonce=");
    if (!p) {
        return 0;
    }
    p += strlen("tdxemu.nonce=");
    for (int i = 0; i < REPORTDATA_LEN; i++) {
        unsigned v;

        if (sscanf(p + 2 * i, "%2x", &v) != 1) {
            return 0;
        }
        nonce[i] = v;
    }
    return 1;
}

static void check_dmesg(void)
{
    int n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, dmesg, sizeof(dmesg) - 1);

    dmesg[n > 0 ? n : 0] = 0;
    check("guest-detected", strstr(dmesg, "tdx: Guest detected") != NULL,
          "dmesg: tdx: Guest detected");
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--) {
        v = v << 8 | p[i];
    }
    return v;
}

/* What TDG.VP.INFO told the kernel, as far as it shows */
static void check_td_info(const uint8_t *tdreport)
{
    const char *line = "Memory Encryption Features active: Intel TDX";
    uint64_t attr = le64(tdreport + TDREPORT_ATTRIBUTES);
    char why[160];

    snprintf(why, sizeof(why), "dmesg: %s%s; ATTRIBUTES %#llx, XFAM %#llx",
             strstr(dmesg, line) ? "" : "no ", line, (unsigned long long)attr,
             (unsigned long long)le64(tdreport + TDREPORT_XFAM));
    check("td-info", strstr(dmesg, line) && (attr & SEPT_VE_DISABLE), why);
}

static void check_report(const uint8_t *nonce)
{
    struct tdx_report_req req;
    char why[128] = "REPORTDATA echoed at TDREPORT offset 128";
    int fd = open("/dev/tdx_guest", O_RDWR);
    int ok = 0;

    memcpy(req.reportdata, nonce, REPORTDATA_LEN);
    memset(req.tdreport, 0, sizeof(req.tdreport));
    if (fd < 0) {
        snprintf(why, sizeof(why), "open /dev/tdx_guest: %s",
                 strerror(errno));
    } else if (ioctl(fd, TDX_CMD_GET_REPORT0, &req) < 0) {
        snprintf(why, sizeof(why), "TDX_CMD_GET_REPORT0: %s",
                 strerror(errno));
    } else {
        ok = !memcmp(req.tdreport + TDREPORT_REPORTDATA, nonce,
                     REPORTDATA_LEN);
        print_hex("TDREPORT", req.tdreport, TDREPORT_LEN);
    }
    if (fd >= 0) {
        close(fd);
    }
    check("report", ok, why);
    check_td_info(req.tdreport);
}

static void check_quote(const uint8_t *nonce)
{
    static uint8_t quote[QUOTE_MAX];
    char provider[64] = "";
    char why[160];
    size_t n = 0;

    if (mkdir(TSM_DIR, 0700) < 0 && errno != EEXIST) {
        snprintf(why, sizeof(why), "mkdir " TSM_DIR ": %s",
                 strerror(errno));
    } else if (!write_file(TSM_DIR "/inblob", nonce, REPORTDATA_LEN)) {
        snprintf(why, sizeof(why), "write inblob: %s", strerror(errno));
    } else if ((n = read_file(TSM_DIR "/outblob", quote,
                              sizeof(quote))) == 0) {
        snprintf(why, sizeof(why), "read outblob: %s (no quote)",
                 strerror(errno));
    } else {
        read_file(TSM_DIR "/provider", provider, sizeof(provider) - 1);
        provider[strcspn(provider, "\n")] = 0;
        snprintf(why, sizeof(why), "configfs-tsm provider %s: %zu bytes",
                 provider, n);
        print_hex("QUOTE", quote, n);
    }
    check("quote", n > 0, why);
}

/* /proc/interrupts' row for #VE, if there is one */
static void print_ve_row(void)
{
    static char text[1 << 16];
    char *line, *save = NULL;
    int found = 0;

    text[read_file("/proc/interrupts", text, sizeof(text) - 1)] = 0;
    for (line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        const char *p = line + strspn(line, " ");

        if (!strncmp(p, "VE:", 3) || strstr(line, "#VE")) {
            printf("VE %s\n", p);
            found = 1;
        }
    }
    if (!found) {
        printf("VE none (no #VE row in /proc/interrupts)\n");
    }
}

int main(void)
{
    uint8_t nonce[REPORTDATA_LEN];

    /* Kernel messages would split the hex lines: keep them off the console */
    klogctl(8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, NULL, 1);
    check_dmesg();
    if (read_nonce(nonce)) {
        check_report(nonce);
        check_quote(nonce);
    } else {
        check("nonce", 0, "no tdxemu.nonce=<128 hex digits> on the "
              "kernel command line");
    }
    print_ve_row();
    printf("LINUX-CHECK DONE %d failed\n", failed);
    fflush(stdout);
    return failed != 0;
}
