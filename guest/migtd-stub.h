/*
 * Guest stub: a MigTD stand-in (migtd-stub.c)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_MIGTD_STUB_H
#define GUEST_MIGTD_STUB_H

#include <stdint.h>

/* MigrationResult (MigTD src/migtd/src/migration/mod.rs) */
enum {
    RESULT_SUCCESS = 0, RESULT_INVALID_PARAMETER = 1,
    RESULT_OUT_OF_RESOURCE = 3, RESULT_TDX_MODULE_ERROR = 4,
    RESULT_NETWORK_ERROR = 5, RESULT_POLICY_UNSATISFIED = 8,
    RESULT_VMM_CANCELED = 10,
    RESULT_VMM_INTERNAL_ERROR = 11, RESULT_UNSUPPORTED_OPERATION = 12,
};

/*
 * MigtdMigrationInformation, as the stub keeps it; the Service path's
 * STREAM_SOCKET_INFO adds the vsock CID and port to connect to
 */
struct migration_info {
    uint64_t id;
    int source;
    uint64_t uuid[4];
    uint64_t binding_handle;
    uint64_t cid;
    uint32_t port;
};

/* Set by vector 0x50, MigTD's VMCALL_SERVICE_VECTOR (migration/event.rs) */
extern volatile int request_arrived;

/* The key exchange of a start-migration request; a MigrationResult */
int migtd_exchange_msk(const struct migration_info *mi);

/*
 * A start-rebinding request (rebind.c); @init_tdinfo is the initial
 * MigTD's TDINFO the VMM sent, or NULL. A MigrationResult.
 */
#define TDINFO_SIZE         512
int migtd_rebind(const struct migration_info *mi, const uint8_t *init_tdinfo);

/*
 * The request's stream over the transport: open, send and take exactly
 * @len bytes (each a MigrationResult), close
 */
int migtd_stream_open(const struct migration_info *mi);
int migtd_stream_send(const uint8_t *data, uint64_t len);
int migtd_stream_receive(uint8_t *data, uint64_t len);
void migtd_stream_close(void);

/* TDG.SERVTD.RD/WR (@leaf) of @field of the request's target TD */
uint64_t migtd_servtd(uint64_t leaf, const struct migration_info *mi,
                      uint64_t field, uint64_t *value);

/* The TDREPORT over @data (at most 64 bytes, zero-padded); NULL: failed */
const uint8_t *migtd_tdreport(const void *data, uint32_t len);

/* Panic as MigTD does: ReportFatalError, @why as its message */
void migtd_give_up(const char *why);

/* Serve MigTD requests forever (returns only if the VMM refuses us) */
void migtd_stub_run(void);

#endif
