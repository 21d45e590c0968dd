/*
 * tdx-emu: the VMM's Instruction.* TDG.VP.VMCALLs (GHCI), which a TD uses
 * instead of executing CPUID, HLT, IN/OUT or an MMIO access itself
 * (RDMSR/WRMSR: msr.c)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/host-utils.h"
#include "exec/address-spaces.h"
#include "exec/memory.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "hw/tdx-emu/tdx-module/tdx-module.h"
#include "vmm.h"
#include "hw/tdx-emu/tdx-abi.h"

/*
 * The hypervisor leaves KVM answers a TD with (Linux
 * arch/x86/include/uapi/asm/kvm_para.h: KVM_CPUID_SIGNATURE,
 * KVM_CPUID_FEATURES), no paravirtual features offered. Linux takes x2APIC
 * without interrupt remapping only under a hypervisor it knows
 * (arch/x86/kernel/apic/apic.c try_to_enable_x2apic, kvm.c
 * x2apic_available); TCG's "TCGTCGTCGTCG" would make it switch the TD to
 * xAPIC MMIO, which a TD cannot use.
 */
#define KVM_CPUID_SIGNATURE     0x40000000u
#define KVM_CPUID_FEATURES      0x40000001u

static bool kvm_cpuid(uint32_t leaf, uint32_t *regs)
{
    if (leaf != KVM_CPUID_SIGNATURE && leaf != KVM_CPUID_FEATURES) {
        return false;
    }
    memset(regs, 0, 4 * sizeof(*regs));
    if (leaf == KVM_CPUID_SIGNATURE) {
        regs[0] = KVM_CPUID_FEATURES;
        memcpy(&regs[1], "KVMKVMKVM\0\0\0", 12);    /* EBX, ECX, EDX */
    }
    return true;
}

/*
 * Instruction.CPUID (GHCI 1.5, R11 = 0x0A): R12 = leaf, R13 = subleaf;
 * R12..R15 = EAX, EBX, ECX, EDX as the vCPU's CPUID reports them, with
 * crash-msrs=on the Hyper-V leaves (crash.c), otherwise KVM's.
 */
uint64_t tdx_emu_vmcall_cpuid(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    uint32_t r[4];

    if (vmm[R_R12] > UINT32_MAX || vmm[R_R13] > UINT32_MAX) {
        return TDVMCALL_INVALID_OPERAND;
    }
    if (!tdx_emu_crash_cpuid(s, vmm[R_R12], r) && !kvm_cpuid(vmm[R_R12], r)) {
        cpu_x86_cpuid(&cpu->env, vmm[R_R12], vmm[R_R13], &r[0], &r[1], &r[2],
                      &r[3]);
    }
    vmm[R_R12] = r[0];
    vmm[R_R13] = r[1];
    vmm[R_R14] = r[2];
    vmm[R_R15] = r[3];
    return TDVMCALL_SUCCESS;
}

/*
 * Instruction.HLT (GHCI 1.5, R11 = 0x0C): R12 bit 0 = 1 if the TD has
 * interrupts blocked. As KVM does it, the vCPU halts until an interrupt
 * is pending whatever RFLAGS.IF is (Linux's TDX idle halts with IF clear
 * and enables interrupts afterwards; MigTD's "sti; tdcall" works either
 * way), and with interrupts blocked until an NMI only: the host is told
 * (liveness.c). qemu-patches/0009 gives TCG these wake-up rules.
 */
#define HLT_INTERRUPTS_BLOCKED  1

uint64_t tdx_emu_vmcall_hlt(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    if (vmm[R_R12] & HLT_INTERRUPTS_BLOCKED) {
        tdx_emu_vcpu_parked(s, CPU(cpu)->cpu_index);
        s->halt = X86_TDCALL_HALT_BLOCKED;
    } else {
        s->halt = X86_TDCALL_HALT;
    }
    return TDVMCALL_SUCCESS;
}

/*
 * One device access of 1, 2, 4 or 8 bytes on behalf of the TD, as QEMU's
 * KVM exit path makes it (kvm_handle_io, KVM_EXIT_MMIO): address_space_rw()
 * on a little-endian buffer, which the memory core splits into accesses
 * each region accepts, so an access that crosses a device's end reaches
 * what lies beyond instead of handing the device more than it implements.
 */
static void device_access(AddressSpace *as, hwaddr addr, unsigned size,
                          bool write, uint64_t *data)
{
    uint8_t buf[8] = { 0 };

    if (write) {
        stq_le_p(buf, *data);
    }
    address_space_rw(as, addr, MEMTXATTRS_UNSPECIFIED, buf, size, write);
    if (!write) {
        *data = ldn_le_p(buf, size);
    }
}

static bool access_size_ok(uint64_t size, uint64_t max)
{
    return size <= max && is_power_of_2(size);
}

/*
 * TDG.VP.VMCALL<Instruction.IO> (GHCI 1.5, R11 = 0x1E): R12 = size 1/2/4,
 * R13 = 0 read or 1 write, R14 = port, R15 = data to write; R11 = data
 * read.
 */
uint64_t tdx_emu_vmcall_io(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    uint64_t size = vmm[R_R12], dir = vmm[R_R13], port = vmm[R_R14];
    bool write = dir == TDVMCALL_IO_WRITE;

    if (!access_size_ok(size, 4) ||
        (dir != TDVMCALL_IO_READ && !write) || port > 0x10000 - size) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tdx-emu: Instruction.IO: bad operands size=%" PRIu64
                      " direction=%" PRIu64 " port=0x%" PRIx64 "\n",
                      size, dir, port);
        return TDVMCALL_INVALID_OPERAND;
    }
    device_access(&address_space_io, port, size, write,
                  write ? &vmm[R_R15] : &vmm[R_R11]);
    return TDVMCALL_SUCCESS;
}

/* Whether @gpa is backed by memory (RAM or ROM) rather than a device */
static bool gpa_is_memory(hwaddr gpa)
{
    MemoryRegionSection section = memory_region_find(get_system_memory(),
                                                     gpa, 1);
    bool memory = section.mr && memory_region_is_ram(section.mr);

    if (section.mr) {
        memory_region_unref(section.mr);
    }
    return memory;
}

/*
 * TDG.VP.VMCALL<#VE.RequestMMIO> (GHCI 1.5, R11 = 0x30): R12 = size
 * 1/2/4/8, R13 = 0 read or 1 write, R14 = GPA, R15 = data to write;
 * R11 = data read. As KVM's tdx_emulate_mmio (arch/x86/kvm/vmx/tdx.c):
 * the shared bit is stripped (accepted with or without it), the access
 * may not cross a page, and a GPA backed by memory is not MMIO, so it is
 * refused.
 */
uint64_t tdx_emu_vmcall_mmio(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm)
{
    uint64_t size = vmm[R_R12], dir = vmm[R_R13];
    uint64_t gpa = vmm[R_R14] & ~tdx_emu_shared_bit(s);
    bool write = dir == TDVMCALL_IO_WRITE;

    if (!access_size_ok(size, 8) || (dir != TDVMCALL_IO_READ && !write) ||
        gpa >= tdx_emu_shared_bit(s) ||
        (gpa ^ (gpa + size - 1)) & TARGET_PAGE_MASK || gpa_is_memory(gpa)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "tdx-emu: #VE.RequestMMIO: bad operands size=%" PRIu64
                      " direction=%" PRIu64 " gpa=0x%" PRIx64 "\n",
                      size, dir, vmm[R_R14]);
        return TDVMCALL_INVALID_OPERAND;
    }
    device_access(&address_space_memory, gpa, size, write,
                  write ? &vmm[R_R15] : &vmm[R_R11]);
    return TDVMCALL_SUCCESS;
}
