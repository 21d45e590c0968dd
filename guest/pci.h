/*
 * Guest stub: PCI as MigTD reaches it from a TD (pci.c)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef GUEST_PCI_H
#define GUEST_PCI_H

#include <stdint.h>

#define PCI_BARS            6

struct pci_device {
    uint8_t dev;                    /* bus 0, function 0 */
    uint64_t bar[PCI_BARS];         /* memory BARs as placed; 0 if none */
};

/* Program the Q35 PCIEXBAR: ECAM at 0xE0000000 (through 0xCF8/0xCFC) */
void pci_ecam_init(void);

/* Find @vendor:@device on bus 0; 1 if found */
int pci_find(uint16_t vendor, uint16_t device, struct pci_device *d);

/* Place the memory BARs, enable I/O, memory and bus mastering; 1 if ok */
int pci_setup(struct pci_device *d);

/* Configuration space through ECAM, by TDG.VP.VMCALL<#VE.RequestMMIO> */
uint32_t pci_read(const struct pci_device *d, unsigned off, unsigned size);
void pci_write(const struct pci_device *d, unsigned off, unsigned size,
               uint32_t value);

/* A device register by TDG.VP.VMCALL<#VE.RequestMMIO>, as MigTD does */
uint64_t mmio_read(uint64_t gpa, unsigned size);
void mmio_write(uint64_t gpa, unsigned size, uint64_t value);

#endif
