/*
 * tdx-emu: TDG.VP.VMCALL<ReportFatalError>
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/bswap.h"
#include "exec/address-spaces.h"
#include "system/runstate.h"
#include "tdx-emu.h"
#include "tdx-abi.h"
#include "trace.h"

#define FATAL_GPA_VALID     (1ULL << 63)
#define FATAL_MSG_MAX       4096

/* The in-register message, 8 bytes per register in GHCI order */
static const int fatal_msg_regs[] = {
    R_R14, R_R15, R_EBX, R_EDI, R_ESI, R_R8, R_R9, R_EDX,
};

static char *fatal_message(TdxEmuState *s, const uint64_t *vmm)
{
    uint64_t gpa = vmm[R_R13] & ~tdx_emu_shared_bit(s);
    char buf[FATAL_MSG_MAX + 1] = { 0 };
    size_t i;

    if (vmm[R_R12] & FATAL_GPA_VALID) {
        /* A shared page the TD wrote its message into */
        if (!QEMU_IS_ALIGNED(gpa, 4096) ||
            address_space_read(&address_space_memory, gpa,
                               MEMTXATTRS_UNSPECIFIED, buf,
                               FATAL_MSG_MAX) != MEMTX_OK) {
            return g_strdup("(message GPA unreadable)");
        }
    } else {
        for (i = 0; i < ARRAY_SIZE(fatal_msg_regs); i++) {
            stq_le_p(buf + 8 * i, vmm[fatal_msg_regs[i]]);
        }
    }
    return g_strdup(buf);
}

/*
 * ReportFatalError (spec §3.2, R11 = 0x10003): R12 = error code, bit 63
 * set when R13 holds the GPA of a message; otherwise a message of up to 64
 * bytes may come in R14, R15, RBX, RDI, RSI, R8, R9, RDX (GHCI 1.5). The
 * VMM records it, reports a guest panic and stops the vCPU.
 */
uint64_t tdx_emu_vmcall_report_fatal_error(TdxEmuState *s, X86CPU *cpu,
                                           uint64_t *vmm)
{
    g_free(s->fatal.message);
    s->fatal.reported = true;
    s->fatal.code = vmm[R_R12] & ~FATAL_GPA_VALID;
    s->fatal.message = fatal_message(s, vmm);
    error_report("tdx-emu: TD reported a fatal error 0x%" PRIx64 ": %s",
                 s->fatal.code, s->fatal.message);
    trace_tdx_emu_fatal_error(s->fatal.code, s->fatal.message);
    qemu_system_guest_panicked(NULL);
    s->halt_requested = true;
    return TDVMCALL_SUCCESS;
}
