/*
 * Guest stub: MigTD's log area (logarea.c)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_LOGAREA_H
#define GUEST_LOGAREA_H

#include <stdint.h>

/* Log levels, as MigTD numbers them (migration/logging.rs) */
enum { LOG_ERROR = 1, LOG_WARN, LOG_INFO, LOG_DEBUG, LOG_TRACE };

/* mig_request_id of an entry that belongs to no request */
#define LOG_NO_REQUEST      UINT64_MAX

/* At boot: one log page per vCPU (TDG.VP.INFO); 0 if it failed */
int logarea_create(void);

/*
 * EnableLogArea: logging at @level into the shared pages from now on.
 * Writes {u32 num_vcpus, u32 0, {u64 GPA, u64 0x1000} per vCPU} to
 * @reply (room for 8 + 16 * LOGAREA_MAX_VCPUS bytes); returns its length,
 * 0 if there is no log area.
 */
#define LOGAREA_MAX_VCPUS   8
uint32_t logarea_enable(uint8_t level, uint8_t *reply);

/*
 * A line on the console and, as MigTD's logger does, an entry in this
 * vCPU's log page (the private provisional one until EnableLogArea)
 */
void migtd_log(int level, uint64_t request_id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
