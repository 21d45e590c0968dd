/*
 * Guest stub: the APs, through td-shim's mailbox (smp.c)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include <stdint.h>

/* The most APs the stub brings up: td-shim's MAX_WORKING_AP_COUNT */
#define SMP_MAX_APS     15

/*
 * Bring up the APs of a TD with @vcpus vCPUs as td-shim does, have each
 * check in (its vCPU index and x2APIC ID) and move them to the relocated
 * AP loop; returns how many got there
 */
unsigned smp_bring_up(uint64_t vcpus);

#endif
