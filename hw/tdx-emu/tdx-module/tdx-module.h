/*
 * tdx-emu: the TDX module: TDCALL leaves, TD memory and
 * measurements, the TD CPU and its firmware image
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_TDX_EMU_TDX_MODULE_H
#define HW_TDX_EMU_TDX_MODULE_H

#include "hw/tdx-emu/tdx-emu.h"

/*
 * tdcall.c: execute one TDCALL for @cpu on the register file @regs; says
 * whether the vCPU halts afterwards (Instruction.HLT), or, when a memory
 * operand met an EPT violation, takes #VE or #DF on the TDCALL, which did
 * not complete, or parks (the VMM killed the TD)
 */
X86TdcallAction tdx_emu_tdcall(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);
bool tdx_emu_tdcall_completes(X86TdcallAction action);
bool tdx_emu_tdcall_leaf_exists(uint64_t leaf);
void tdx_emu_tdcall_realize(TdxEmuState *s);
uint64_t tdx_emu_tdcall_total(TdxEmuState *s);

/* Call each leaf's / sub-function's name and count (those called) */
typedef void TdxEmuCountFn(const char *name, uint64_t count, void *opaque);
void tdx_emu_foreach_tdcall_count(TdxEmuState *s, TdxEmuCountFn *fn,
                                  void *opaque);
void tdx_emu_foreach_vmcall_count(TdxEmuState *s, TdxEmuCountFn *fn,
                                  void *opaque);

/* tdvf.c: the firmware image, its sections and MRTD */
bool tdx_emu_tdvf_realize(TdxEmuState *s, Error **errp);
void tdx_emu_tdvf_reset(TdxEmuState *s);

/* payload.c: where the firmware loaded its payload ELF */
void tdx_emu_payload_realize(TdxEmuState *s);
void tdx_emu_payload_reset(TdxEmuState *s);
void tdx_emu_payload_observe(TdxEmuState *s, X86CPU *cpu);

/* td-hob.c: the TD HOB */
uint64_t tdx_emu_td_hob_max_size(uint32_t nr_sections);
void tdx_emu_td_hob_build(TdxEmuState *s, const TdvfSection *hob_sec);

/* td-cpu.c: the CPU features a TD relies on */
bool tdx_emu_cpu_realize(TdxEmuState *s, Error **errp);

/* td-entry.c: the state the TDX module gives a TD */
void tdx_emu_td_entry_reset(TdxEmuState *s);

/* memory.c: shared alias, page acceptance, MapGPA */
uint64_t tdx_emu_shared_bit(TdxEmuState *s);
bool tdx_emu_memory_check(TdxEmuState *s, Error **errp);
void tdx_emu_memory_realize(TdxEmuState *s);
void tdx_emu_memory_reset(TdxEmuState *s);
uint64_t tdx_emu_mem_page_accept(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);
uint64_t tdx_emu_vmcall_map_gpa(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm);
uint64_t tdx_emu_accepted_pages(TdxEmuState *s);
uint64_t tdx_emu_shared_pages(TdxEmuState *s);
void tdx_emu_zero_range(uint64_t gpa, uint64_t len);
bool tdx_emu_page_pending(TdxEmuState *s, uint64_t gpa);
void tdx_emu_mark_added(TdxEmuState *s, uint64_t gpa, uint64_t len);
bool tdx_emu_ram_range(TdxEmuState *s, uint64_t gpa, uint64_t len);

/* servtd.c: target TDs and the service-TD leaves */
/* Bind @t (handle, UUID and fields set); the device owns it on success */
bool tdx_emu_target_bind(TdxEmuState *s, TdxEmuTarget *t, Error **errp);
/*
 * SERVTD_INFO_HASH of a service TD whose TDINFO_STRUCT is @tdinfo, with
 * the fields the IGNORE bits of @servtd_attr name zeroed
 */
void tdx_emu_servtd_info_hash(const uint8_t *tdinfo, uint64_t servtd_attr,
                              uint64_t *hash);
TdxEmuTarget *tdx_emu_target_find(TdxEmuState *s, uint64_t handle);
uint64_t tdx_emu_servtd_rd(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);
uint64_t tdx_emu_servtd_wr(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);
uint64_t tdx_emu_servtd_rebind_approve(TdxEmuState *s, X86CPU *cpu,
                                       uint64_t *regs);

/* ve.c: #VE for what the TDX module intercepts; TDG.VP.VEINFO.GET */
void tdx_emu_ve_realize(TdxEmuState *s);
void tdx_emu_ve_reset(TdxEmuState *s);
uint64_t tdx_emu_veinfo_get(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);
uint64_t tdx_emu_ve_total(TdxEmuState *s);
bool tdx_emu_ve_operand(TdxEmuState *s, X86CPU *cpu, uint64_t gpa,
                        uint64_t len, bool write);

/* cpuid.c: CPUID as the TDX module virtualizes it */
bool tdx_emu_cpuid_leaf_virtualized(CPUX86State *env, uint32_t leaf);
bool tdx_emu_cpuid(CPUX86State *env, uint32_t leaf, uint32_t subleaf,
                   uint32_t *r);
bool tdx_emu_cpuid_virt(TdxEmuState *s, X86CPU *cpu);

/* sysvm.c: TDG.SYS.RD, TDG.VM.RD and TDG.VM.WR */
uint64_t tdx_emu_sys_rd(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);
uint64_t tdx_emu_vm_rd(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);
uint64_t tdx_emu_vm_wr(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);
void tdx_emu_vm_fields_reset(TdxEmuState *s);

/* report.c: measurements, TDREPORT and its verification */
bool tdx_emu_measurements_realize(TdxEmuState *s, Error **errp);
void tdx_emu_measurements_reset(TdxEmuState *s);
uint64_t tdx_emu_rtmr_extend(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);
uint64_t tdx_emu_mr_report(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);
uint64_t tdx_emu_verify_report(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);
bool tdx_emu_report_genuine(void *opaque, const uint8_t *tdreport);

#endif
