/*
 * tdx-emu: the VMM: TDG.VP.VMCALL services, MigTD requests and
 * transports, the legacy platform
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_TDX_EMU_VMM_H
#define HW_TDX_EMU_VMM_H

#include "hw/tdx-emu/tdx-emu.h"

/* legacy.c: the legacy PC platform as a TD has it */
void tdx_emu_legacy_realize(TdxEmuState *s);

/* virtio-td.c: virtio devices modern-only with ACCESS_PLATFORM */
void tdx_emu_virtio_realize(TdxEmuState *s);

/* instr.c: Instruction.* VMCALLs */
uint64_t tdx_emu_vmcall_cpuid(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm);
uint64_t tdx_emu_vmcall_hlt(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm);
uint64_t tdx_emu_vmcall_io(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm);
uint64_t tdx_emu_vmcall_mmio(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm);

/* msr.c: Instruction.RDMSR/WRMSR */
uint64_t tdx_emu_vmcall_rdmsr(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm);
uint64_t tdx_emu_vmcall_wrmsr(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm);

/* migtd.c: MigTD's vmcall-raw calls */
uint64_t tdx_emu_vmcall_migtd(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm);

/* service.c: TDG.VP.VMCALL<Service> for non-vmcall-raw MigTDs */
uint64_t tdx_emu_vmcall_service(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm);
void tdx_emu_service_deliver(TdxEmuState *s, TdxEmuMigReq *req);
void tdx_emu_service_reset(TdxEmuState *s);

/* request.c: requests to the MigTD */
TdxEmuMigReq *tdx_emu_request_new(TdxEmuState *s, TdxEmuRequest *arg,
                                  Error **errp);
void tdx_emu_request_add(TdxEmuState *s, TdxEmuMigReq *req);
TdxEmuMigReq *tdx_emu_request_running(TdxEmuState *s, uint64_t id);
void tdx_emu_requests_deliver(TdxEmuState *s);
void tdx_emu_requests_cancel(TdxEmuState *s);
/* Complete a running request with a ReportStatus status word */
bool tdx_emu_request_report(TdxEmuState *s, uint64_t id,
                            uint64_t status_word);
/* Fail a request as the VMM does (a MigrationResult code) */
void tdx_emu_request_fail(TdxEmuState *s, TdxEmuMigReq *req, uint8_t code);
/* The VMM cancels a running request's stream (tdx-emu-cancel-request) */
void tdx_emu_request_cancel(TdxEmuState *s, uint64_t id, Error **errp);
uint64_t tdx_emu_migtd_report_status(TdxEmuState *s, X86CPU *cpu,
                                     uint64_t *vmm);

/* stream.c: migration streams, Send and Receive */
TdxEmuStream *tdx_emu_stream_new(TdxEmuState *s, uint64_t request_id,
                                 const char *chardev, Error **errp);
void tdx_emu_stream_free(TdxEmuStream *st);
void tdx_emu_stream_forget(TdxEmuStream *st);
void tdx_emu_stream_abort(TdxEmuStream *st);
uint64_t tdx_emu_migtd_send(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm);
uint64_t tdx_emu_migtd_receive(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm);
/* ... or its bytes through a vsock connection (vsock.c) */
typedef void TdxEmuStreamNotify(void *opaque);
void tdx_emu_stream_bind(TdxEmuStream *st, TdxEmuStreamNotify *notify,
                         void *opaque);
uint32_t tdx_emu_stream_take(TdxEmuStream *st, void *buf, uint32_t max);
uint32_t tdx_emu_stream_queued(TdxEmuStream *st);
uint32_t tdx_emu_stream_room(TdxEmuStream *st);
bool tdx_emu_stream_put(TdxEmuStream *st, const void *buf, uint32_t len);
bool tdx_emu_stream_closed(TdxEmuStream *st);

/*
 * vsock.c: the host end of MigTD's vsock stream (virtio 1.2 section
 * 5.10), one engine for every vsock transport. A transport hands it the
 * guest's packets and takes the packets for the guest; @kick tells the
 * transport that one is waiting.
 */
#define TDX_EMU_VSOCK_HDR       44
typedef void TdxEmuVsockKick(void *opaque);
void tdx_emu_vsock_set_kick(TdxEmuState *s, TdxEmuVsockKick *kick,
                            void *opaque);
/* False: malformed (shorter than its header says, or than a header) */
bool tdx_emu_vsock_from_guest(TdxEmuState *s, const uint8_t *pkt,
                              uint32_t len);
/* The next packet for the guest into @buf (@max >= 44 + 1), or 0 */
uint32_t tdx_emu_vsock_to_guest(TdxEmuState *s, uint8_t *buf, uint32_t max);
void tdx_emu_vsock_reset(TdxEmuState *s);

/*
 * logarea.c: the MigTD's log area (EnableLogArea), read by the host.
 * @data is the EnableLogArea ReportStatus data, @level the level asked.
 */
void tdx_emu_logarea_realize(TdxEmuState *s);
void tdx_emu_logarea_enable(TdxEmuState *s, uint8_t level,
                            const uint8_t *data, uint32_t len);
void tdx_emu_logarea_reset(TdxEmuState *s);
TdxEmuLogArea *tdx_emu_logarea_query(TdxEmuState *s, uint64_t since);

/* quote.c: GetQuote */
uint64_t tdx_emu_vmcall_get_quote(TdxEmuState *s, X86CPU *cpu, uint64_t *vmm);

/* fatal.c */
uint64_t tdx_emu_vmcall_report_fatal_error(TdxEmuState *s, X86CPU *cpu,
                                           uint64_t *vmm);
/* A guest's message as text: printable ASCII, \xNN, up to a NUL */
char *tdx_emu_printable(const char *msg, size_t max);

/* crash.c: the Hyper-V guest crash MSRs (crash-msrs=on) */
bool tdx_emu_crash_cpuid(TdxEmuState *s, uint32_t leaf, uint32_t *regs);
bool tdx_emu_crash_rdmsr(TdxEmuState *s, uint64_t msr, uint64_t *value);
bool tdx_emu_crash_wrmsr(TdxEmuState *s, uint64_t msr, uint64_t value);
void tdx_emu_crash_reset(TdxEmuState *s);

/* vmcall.c: TDG.VP.VMCALL (TDCALL leaf 0) */
uint64_t tdx_emu_vmcall(TdxEmuState *s, X86CPU *cpu, uint64_t *regs);

/* interrupt.c: event notification and interrupt injection */
uint64_t tdx_emu_vmcall_setup_event_notify(TdxEmuState *s, X86CPU *cpu,
                                           uint64_t *vmm);
void tdx_emu_inject_interrupt(TdxEmuState *s, uint32_t apic_id,
                              uint8_t vector);
void tdx_emu_notify_event(TdxEmuState *s);

#endif
