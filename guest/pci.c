/*
 * Guest stub: PCI as MigTD's virtio drivers reach it from a TD (MigTD
 * src/devices/pci/src/config.rs, mmio.rs, layout.rs and
 * src/migtd/src/driver/serial.rs, vsock.rs pci_ex_bar_initialization):
 *
 * - the Q35 PCIEXBAR (host bridge 0:0.0, registers 0x60/0x64) is set to
 *   0xE0000000 with a 256 MiB window through 0xCF8/0xCFC, by
 *   TDG.VP.VMCALL<Instruction.IO>;
 * - configuration space is read and written through that ECAM window by
 *   TDG.VP.VMCALL<#VE.RequestMMIO> (R11 = 0x30), with the shared bit as
 *   td-shim's tdvmcall_mmio_read/write give it;
 * - devices are looked for on bus 0 only, function 0;
 * - memory BARs are sized and placed in MMIO32 0xC0000000 (512 MiB) or,
 *   64-bit ones, MMIO64 0x1_0000_0000 (1 GiB), each aligned to its size.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "tdx.h"
#include "pci.h"

#define CONFIG_ADDRESS      0xcf8
#define CONFIG_DATA         0xcfc
#define PCIEXBAR            0x60
#define PCIEXBAR_HIGH       0x64
#define PCIEXBAR_ENABLE     1               /* length 256 MiB: bits 2:1 0 */
#define ECAM_BASE           0xe0000000ULL
#define MMIO32_START        0xc0000000ULL
#define MMIO32_SIZE         0x20000000ULL
#define MMIO64_START        0x100000000ULL
#define MMIO64_SIZE         0x40000000ULL
#define PCI_COMMAND         0x04
#define PCI_STATUS          0x06
#define PCI_BAR0            0x10
#define CMD_IO_MEM_MASTER   0x7
#define BAR_IO              1
#define BAR_TYPE_64         0x4
#define BAR_TYPE_MASK       0x6

static uint64_t mmio32_next = MMIO32_START, mmio64_next = MMIO64_START;

uint64_t mmio_read(uint64_t gpa, unsigned size)
{
    struct tdx_regs r = {
        .rax = TDG_VP_VMCALL, .rcx = TDVMCALL_EXPOSE_R10_R15,
        .r11 = TDVMCALL_MMIO, .r12 = size, .r13 = 0,
        .r14 = gpa | SHARED_BIT,
    };

    tdcall(&r);
    if (r.r10 != TDVMCALL_SUCCESS) {
        guest_printf("migtd-stub: MMIO read of 0x%lx refused\n", gpa);
        return ~0ULL;
    }
    return r.r11;
}

void mmio_write(uint64_t gpa, unsigned size, uint64_t value)
{
    struct tdx_regs r = {
        .rax = TDG_VP_VMCALL, .rcx = TDVMCALL_EXPOSE_R10_R15,
        .r11 = TDVMCALL_MMIO, .r12 = size, .r13 = 1,
        .r14 = gpa | SHARED_BIT, .r15 = value,
    };

    tdcall(&r);
    if (r.r10 != TDVMCALL_SUCCESS) {
        guest_printf("migtd-stub: MMIO write of 0x%lx refused\n", gpa);
    }
}

/* Mechanism #1 (0xCF8/0xCFC), 32 bits, bus 0 function 0 */
static void cf8_write32(uint8_t dev, uint8_t reg, uint32_t value)
{
    uint64_t addr = 1U << 31 | (uint32_t)dev << 11 | (reg & 0xfc);
    uint64_t data = value;

    tdvmcall_io(4, 1, CONFIG_ADDRESS, &addr);
    tdvmcall_io(4, 1, CONFIG_DATA, &data);
}

void pci_ecam_init(void)
{
    /* Clear PCIEXBAREN first, then the high half, then low and enable */
    cf8_write32(0, PCIEXBAR, 0);
    cf8_write32(0, PCIEXBAR_HIGH, ECAM_BASE >> 32);
    cf8_write32(0, PCIEXBAR, (uint32_t)ECAM_BASE | PCIEXBAR_ENABLE);
}

static uint64_t ecam(uint8_t dev, unsigned off)
{
    return ECAM_BASE + ((uint64_t)dev << 15) + off;
}

uint32_t pci_read(const struct pci_device *d, unsigned off, unsigned size)
{
    return mmio_read(ecam(d->dev, off), size);
}

void pci_write(const struct pci_device *d, unsigned off, unsigned size,
               uint32_t value)
{
    mmio_write(ecam(d->dev, off), size, value);
}

int pci_find(uint16_t vendor, uint16_t device, struct pci_device *d)
{
    uint32_t want = (uint32_t)device << 16 | vendor;
    unsigned i;

    for (d->dev = 0; d->dev < 32; d->dev++) {
        if (pci_read(d, 0, 4) == want) {
            for (i = 0; i < PCI_BARS; i++) {
                d->bar[i] = 0;
            }
            return 1;
        }
    }
    return 0;
}

/* Size a BAR: all ones, read back, restore (MigTD get_bar_size/64) */
static uint64_t bar_size(const struct pci_device *d, unsigned off, int is64)
{
    uint32_t lo = pci_read(d, off, 4), hi = is64 ? pci_read(d, off + 4, 4) : 0;
    uint64_t high = ~0ULL << 32, mask;

    pci_write(d, off, 4, ~0U);
    if (is64) {
        pci_write(d, off + 4, 4, ~0U);
    }
    mask = pci_read(d, off, 4) & ~0xfULL;
    if (is64) {
        high = (uint64_t)pci_read(d, off + 4, 4) << 32;
    }
    pci_write(d, off, 4, lo);
    if (is64) {
        pci_write(d, off + 4, 4, hi);
    }
    mask |= high;
    return (uint32_t)mask ? ~mask + 1 : 0;
}

/* Take @size bytes from a window, aligned to @size; 0 if it is full */
static uint64_t bar_alloc(uint64_t *next, uint64_t start, uint64_t wsize,
                          uint64_t size)
{
    uint64_t addr = (*next + size - 1) & ~(size - 1);

    if (size > wsize || addr > start + wsize - size) {
        return 0;
    }
    *next = addr + size;
    return addr;
}

int pci_setup(struct pci_device *d)
{
    unsigned bar, off;
    uint32_t val;
    uint64_t size, addr;

    pci_read(d, PCI_COMMAND, 2);        /* MigTD logs command and status */
    pci_read(d, PCI_STATUS, 2);
    for (bar = 0, off = PCI_BAR0; off <= PCI_BAR0 + 0x14; bar++, off += 4) {
        val = pci_read(d, off, 4);
        if (val & BAR_IO) {
            continue;
        }
        if ((val & BAR_TYPE_MASK) == BAR_TYPE_64) {
            size = bar_size(d, off, 1);
            addr = size ? bar_alloc(&mmio64_next, MMIO64_START, MMIO64_SIZE,
                                    size) : 0;
            if (size && !addr) {
                return 0;
            }
            pci_write(d, off, 4, addr);
            pci_write(d, off + 4, 4, addr >> 32);
            d->bar[bar] = addr;
            bar++;
            off += 4;
        } else if ((val & BAR_TYPE_MASK) == 0) {
            size = bar_size(d, off, 0);
            addr = size ? bar_alloc(&mmio32_next, MMIO32_START, MMIO32_SIZE,
                                    size) : 0;
            if (size && !addr) {
                return 0;
            }
            if (addr) {
                pci_write(d, off, 4, addr);
            }
            d->bar[bar] = addr;
        } else {
            return 0;
        }
    }
    pci_write(d, PCI_COMMAND, 2, CMD_IO_MEM_MASTER);
    return 1;
}
