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
#include "hw/tdx-emu/tdx-emu.h"
#include "vmm.h"
#include "hw/tdx-emu/tdx-abi.h"
#include "trace.h"

#define FATAL_GPA_VALID     (1ULL << 63)
#define FATAL_MSG_MAX       4096

/* The in-register message, 8 bytes per register in GHCI order */
static const int fatal_msg_regs[] = {
    R_R14, R_R15, R_EBX, R_EDI, R_ESI, R_R8, R_R9, R_EDX,
};

/*
 * The message as text a terminal can show: printable ASCII as is, other
 * bytes as \xNN, up to the first NUL
 */
char *tdx_emu_printable(const char *msg, size_t max)
{
    GString *out = g_string_new(NULL);
    size_t i;

    for (i = 0; i < max && msg[i]; i++) {
        if (g_ascii_isprint(msg[i])) {
            g_string_append_c(out, msg[i]);
        } else {
            g_string_append_printf(out, "\\x%02x", (uint8_t)msg[i]);
        }
    }
    return g_string_free(out, false);
}

static char *fatal_message(TdxEmuState *s, const uint64_t *vmm)
{
    char buf[FATAL_MSG_MAX] = { 0 };
    size_t i;

    if (vmm[R_R12] & FATAL_GPA_VALID) {
        /* A shared page of RAM the TD wrote its message into */
        if (!QEMU_IS_ALIGNED(vmm[R_R13], 4096) ||
            !tdx_emu_read_shared(s, vmm[R_R13], buf, sizeof(buf))) {
            return g_strdup("(message GPA is not a page of RAM)");
        }
    } else {
        for (i = 0; i < ARRAY_SIZE(fatal_msg_regs); i++) {
            stq_le_p(buf + 8 * i, vmm[fatal_msg_regs[i]]);
        }
    }
    return tdx_emu_printable(buf, sizeof(buf));
}

/*
 * ReportFatalError (GHCI 1.5, R11 = 0x10003): R12 = error code, bit 63
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
    s->halt = X86_TDCALL_HALT_BLOCKED;
    return TDVMCALL_SUCCESS;
}
