/*
 * Guest stub: the control path of MigTD's non-vmcall-raw builds,
 * TDG.VP.VMCALL<Service> (R11 = 0x10005), as MigTD
 * src/migtd/src/migration/session.rs does it (query, wait_for_request,
 * report_status) with the buffers of migration/data.rs:
 *
 *   at boot          Query with the common GUID for the MigTD GUID; the
 *                    stub gives up unless the VMM supports it (MigTD
 *                    panics "Migration is not supported by VMM")
 *   then, forever    WaitForRequest with the MigTD GUID; operation 1 brings
 *                    the HOB list (MIGRATION_INFORMATION, STREAM_SOCKET_INFO)
 *                    of a start-migration, whose key exchange runs over the
 *                    stub's transport; ReportStatus with its
 *                    MigrationResult
 *
 * Like a MigTD built with vmcall-interrupt, the virtio-serial and
 * vmcall-vsock stubs wait for vector 0x50 after one WaitForRequest (and
 * for Query); the virtio-vsock stub, like MigTD's default build, issues
 * WaitForRequest again on every poll (docs/migration.md).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "cpu.h"
#include "tdx.h"
#include "bytes.h"
#include "shared.h"
#include "service.h"
#include "transport.h"

#define SVC_HDR             24
#define QUERY               0
#define WAIT_FOR_REQUEST    1
#define REPORT_STATUS       2
#define OP_START_MIGRATION  1

/* GUID HOBs (UEFI PI; td-shim td-shim-interface/src/td_uefi_pi) */
#define HOB_GUID_EXTENSION  0x0004
#define HOB_END             0xffff
#define GUID_HOB_HDR        24
#define MIG_INFO_SIZE       72
#define SOCKET_INFO_SIZE    24

/* EFI GUIDs in memory order (MigTD src/migtd/src/migration/mod.rs) */
const uint8_t service_common_guid[16] = {   /* fb6fc5e1-3378-4acb-... */
    0xe1, 0xc5, 0x6f, 0xfb, 0x78, 0x33, 0xcb, 0x4a,
    0x89, 0x64, 0xfa, 0x5e, 0xe4, 0x3b, 0x9c, 0x8a,
};
const uint8_t service_migtd_guid[16] = {    /* e60e6330-1e09-4387-... */
    0x30, 0x63, 0x0e, 0xe6, 0x09, 0x1e, 0x87, 0x43,
    0xa4, 0x44, 0x8f, 0x32, 0xb8, 0xd6, 0x11, 0xe5,
};
static const uint8_t mig_info_guid[16] = {  /* 42b5e398-a199-4d30-... */
    0x98, 0xe3, 0xb5, 0x42, 0x99, 0xa1, 0x30, 0x4d,
    0xbe, 0xfc, 0xc7, 0x5a, 0xc3, 0xda, 0x5d, 0x7c,
};
static const uint8_t socket_info_guid[16] = { /* 7a103b9d-552b-485f-... */
    0x9d, 0x3b, 0x10, 0x7a, 0x2b, 0x55, 0x5f, 0x48,
    0xbb, 0x4c, 0x2f, 0x3d, 0x2e, 0x8b, 0x1e, 0x0e,
};

static uint8_t *cmd, *rsp;

static int same(const uint8_t *a, const uint8_t *b, unsigned n)
{
    while (n--) {
        if (*a++ != *b++) {
            return 0;
        }
    }
    return 1;
}

void service_command(uint8_t *buf, const uint8_t *guid, const void *data,
                     uint32_t len)
{
    copy(buf, guid, 16);
    st32(buf + 16, SVC_HDR + len);
    st32(buf + 20, 0);
    copy(buf + SVC_HDR, data, len);
}

void service_response(uint8_t *buf, const uint8_t *guid, uint32_t size,
                      uint32_t status)
{
    copy(buf, guid, 16);
    st32(buf + 16, size);
    st32(buf + 20, status);
}

uint64_t service_call(const uint8_t *command, uint8_t *response,
                      uint64_t vector, uint64_t timeout)
{
    struct tdx_regs r = {
        .rax = TDG_VP_VMCALL, .rcx = TDVMCALL_EXPOSE_R10_R15,
        .r11 = TDVMCALL_SERVICE, .r12 = shared_gpa(command),
        .r13 = shared_gpa(response), .r14 = vector, .r15 = timeout,
    };

    tdcall(&r);
    return r.r10;
}

/* MigTD VmcallServiceResponse::try_read, and the GUID check after it */
const uint8_t *service_reply(const uint8_t *response, uint32_t size,
                             const uint8_t *guid, uint32_t min)
{
    uint32_t len = ld64(response + 16) & 0xffffffff;

    if (len < SVC_HDR + min || len > size || !same(response, guid, 16)) {
        return 0;
    }
    return response + SVC_HDR;
}

/* Issue a control command; wait for vector 0x50 first if interrupts */
static uint64_t control_call(int interrupt)
{
    uint64_t status;

    request_arrived = 0;
    status = service_call(cmd, rsp, interrupt ? REQUEST_VECTOR : 0, 0);
    while (status == TDVMCALL_SUCCESS && interrupt && !request_arrived) {
        idle_hlt();
    }
    return status;
}

static int query(int interrupt)
{
    uint8_t data[20] = { 0, QUERY };
    const uint8_t *q;

    copy(data + 4, service_migtd_guid, 16);
    service_command(cmd, service_common_guid, data, sizeof(data));
    service_response(rsp, service_common_guid, PAGE, 0);
    if (control_call(interrupt) != TDVMCALL_SUCCESS) {
        return 0;
    }
    q = service_reply(rsp, PAGE, service_common_guid, 20);
    return q && q[1] == QUERY && q[2] == 0 &&
           same(q + 4, service_migtd_guid, 16);
}

/* The HOB named @guid in the list at @hob (@end: the buffer's end) */
static const uint8_t *find_hob(const uint8_t *hob, const uint8_t *end,
                               const uint8_t *guid, uint16_t size)
{
    uint16_t type, len;

    while (hob + 8 <= end) {
        type = hob[0] | hob[1] << 8;
        len = hob[2] | hob[3] << 8;
        if (type == HOB_END || len < 8 || len > end - hob) {
            return 0;
        }
        if (type == HOB_GUID_EXTENSION && len >= GUID_HOB_HDR + size &&
            same(hob + 8, guid, 16)) {
            return hob + GUID_HOB_HDR;
        }
        hob += (len + 7) & ~7;
    }
    return 0;
}

/* MigTD read_mig_info: MIGRATION_INFORMATION, STREAM_SOCKET_INFO */
static int read_mig_info(const uint8_t *hobs, struct migration_info *mi)
{
    const uint8_t *end = rsp + PAGE;
    const uint8_t *info = find_hob(hobs, end, mig_info_guid, MIG_INFO_SIZE);
    const uint8_t *sock = find_hob(hobs, end, socket_info_guid,
                                   SOCKET_INFO_SIZE);
    int i;

    if (!info || info[9] != 0) {
        return 0;
    }
    mi->id = ld64(info);
    mi->source = info[8] == 1;
    for (i = 0; i < 4; i++) {
        mi->uuid[i] = ld64(info + 16 + 8 * i);
    }
    mi->binding_handle = ld64(info + 48);
    if (sock) {
        mi->cid = ld64(sock + 8);
        mi->port = ld64(sock + 16) & 0xffffffff;
    }
    return 1;
}

/* WaitForRequest until a start-migration comes; 0 if refused */
static int wait_for_request(int interrupt, struct migration_info *mi)
{
    static const uint8_t data[4] = { 0, WAIT_FOR_REQUEST };
    const uint8_t *w;

    for (;;) {
        service_command(cmd, service_migtd_guid, data, sizeof(data));
        service_response(rsp, service_migtd_guid, PAGE, 0);
        if (control_call(interrupt) != TDVMCALL_SUCCESS) {
            return 0;
        }
        w = service_reply(rsp, PAGE, service_migtd_guid, 4);
        if (w && w[1] == WAIT_FOR_REQUEST && w[2] == OP_START_MIGRATION &&
            read_mig_info(w + 4, mi)) {
            return 1;
        }
        if (w && w[2] != 0) {
            guest_printf("migtd-stub: malformed WaitForRequest answer\n");
        }
        if (!interrupt) {
            idle_until(&request_arrived, 1);    /* MigTD's next poll */
        }
    }
}

static void report_status(uint64_t id, int result)
{
    uint8_t data[12] = { 0, REPORT_STATUS, 1, result };
    const uint8_t *r;

    st64(data + 4, id);
    service_command(cmd, service_migtd_guid, data, sizeof(data));
    service_response(rsp, service_migtd_guid, PAGE, 0);
    guest_printf("migtd-stub: request %lu: ReportStatus %s, result %u\n",
                 id, result ? "failure" : "success", result);
    if (service_call(cmd, rsp, 0, 0) != TDVMCALL_SUCCESS ||
        !(r = service_reply(rsp, PAGE, service_migtd_guid, 4)) ||
        r[1] != REPORT_STATUS) {
        guest_printf("migtd-stub: ReportStatus was refused\n");
    }
}

void service_run(void)
{
    int interrupt = STUB_TRANSPORT != TRANSPORT_VIRTIO_VSOCK;
    struct migration_info mi;

    cmd = shared_alloc(1);
    rsp = shared_alloc(1);
    if (!cmd || !rsp || !query(interrupt)) {
        migtd_give_up("Migration is not supported by VMM");
        return;
    }
    guest_printf("migtd-stub: waiting for requests (Service, %s)\n",
                 interrupt ? "vector 0x50" : "polling");
    while (wait_for_request(interrupt, &mi)) {
        guest_printf("migtd-stub: request %lu: start migration as %s "
                     "over %s\n", mi.id, mi.source ? "source" : "destination",
                     stub_transport()->name);
        report_status(mi.id, migtd_exchange_msk(&mi));
    }
    migtd_give_up("WaitForRequest refused");
}
