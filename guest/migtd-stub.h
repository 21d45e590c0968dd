/*
 * Guest stub: a MigTD stand-in (migtd-stub.c)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_MIGTD_STUB_H
#define GUEST_MIGTD_STUB_H

#include <stdint.h>

/* MigtdMigrationInformation, as the stub keeps it */
struct migration_info {
    uint64_t id;
    int source;
    uint64_t uuid[4];
    uint64_t binding_handle;
};

/* Serve MigTD requests forever (returns only if the VMM refuses us) */
void migtd_stub_run(void);

#endif
