/*
 * tdx-emu: the VMM's Instruction.* TDG.VP.VMCALLs (GHCI), which a TD uses
 * instead of executing CPUID, HLT, IN/OUT and RDMSR/WRMSR itself
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "exec/address-spaces.h"
#include "hw/i386/apic.h"
#include "tdx-emu.h"
#include "tdx-abi.h"

#define MSR_X2APIC_FIRST    0x800
#define MSR_X2APIC_LAST     0x8ff

/*
 * Instruction.CPUID (spec §3.2, R11 = 0x0A): R12 = leaf, R13 = subleaf;
 * R12..R15 = EAX, EBX, ECX, EDX as the vCPU's CPUID reports them.
 */
uint64_t tdx_emu_vmcall_cpuid(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    uint32_t eax, ebx, ecx, edx;

    if (vmm[R_R12] > UINT32_MAX || vmm[R_R13] > UINT32_MAX) {
        return TDVMCALL_INVALID_OPERAND;
    }
    cpu_x86_cpuid(&cpu->env, vmm[R_R12], vmm[R_R13], &eax, &ebx, &ecx, &edx);
    vmm[R_R12] = eax;
    vmm[R_R13] = ebx;
    vmm[R_R14] = ecx;
    vmm[R_R15] = edx;
    return TDVMCALL_SUCCESS;
}

/*
 * Instruction.HLT (spec §3.2, R11 = 0x0C): R12 = 1 if the TD has interrupts
 * blocked. The vCPU halts until an interrupt it can take arrives; with
 * "sti; tdcall" (MigTD's idle) the STI is honoured, as for "sti; hlt".
 */
uint64_t tdx_emu_vmcall_hlt(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    s->halt_requested = true;
    return TDVMCALL_SUCCESS;
}

/*
 * Instruction.IO (spec §3.2, R11 = 0x1E): R12 = size 1/2/4, R13 = 0 read or
 * 1 write, R14 = port, R15 = data to write; R11 = data read.
 */
uint64_t tdx_emu_vmcall_io(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    uint64_t size = vmm[R_R12], dir = vmm[R_R13], port = vmm[R_R14];
    MemTxAttrs attrs = MEMTXATTRS_UNSPECIFIED;

    if ((size != 1 && size != 2 && size != 4) ||
        (dir != TDVMCALL_IO_READ && dir != TDVMCALL_IO_WRITE) ||
        port > 0x10000 - size) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tdx-emu: Instruction.IO: bad operands size=%" PRIu64
                      " direction=%" PRIu64 " port=0x%" PRIx64 "\n",
                      size, dir, port);
        return TDVMCALL_INVALID_OPERAND;
    }
    if (dir == TDVMCALL_IO_WRITE) {
        uint64_t data = vmm[R_R15];

        switch (size) {
        case 1:
            address_space_stb(&address_space_io, port, data, attrs, NULL);
            break;
        case 2:
            address_space_stw(&address_space_io, port, data, attrs, NULL);
            break;
        default:
            address_space_stl(&address_space_io, port, data, attrs, NULL);
            break;
        }
    } else {
        switch (size) {
        case 1:
            vmm[R_R11] = address_space_ldub(&address_space_io, port, attrs,
                                            NULL);
            break;
        case 2:
            vmm[R_R11] = address_space_lduw(&address_space_io, port, attrs,
                                            NULL);
            break;
        default:
            vmm[R_R11] = address_space_ldl(&address_space_io, port, attrs,
                                           NULL);
            break;
        }
    }
    return TDVMCALL_SUCCESS;
}

/*
 * Instruction.RDMSR / WRMSR (spec §3.2, R11 = 0x1F / 0x20): R12 = MSR,
 * R13 = value to write; R11 = value read. The VMM emulates the x2APIC
 * range (the TD's APIC is in x2APIC mode from reset, spec §6.1); any other
 * MSR, or an access the APIC refuses, is an invalid operand.
 */
static bool x2apic_msr(uint64_t msr)
{
    return msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST;
}

uint64_t tdx_emu_vmcall_rdmsr(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    uint64_t msr = vmm[R_R12], value;

    if (!x2apic_msr(msr) ||
        apic_msr_read(msr - MSR_X2APIC_FIRST, &value) < 0) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: RDMSR 0x%" PRIx64
                      " refused\n", msr);
        return TDVMCALL_INVALID_OPERAND;
    }
    vmm[R_R11] = value;
    return TDVMCALL_SUCCESS;
}

uint64_t tdx_emu_vmcall_wrmsr(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    uint64_t msr = vmm[R_R12];

    if (!x2apic_msr(msr) ||
        apic_msr_write(msr - MSR_X2APIC_FIRST, vmm[R_R13]) < 0) {
        qemu_log_mask(LOG_GUEST_ERROR, "tdx-emu: WRMSR 0x%" PRIx64
                      " refused\n", msr);
        return TDVMCALL_INVALID_OPERAND;
    }
    return TDVMCALL_SUCCESS;
}
