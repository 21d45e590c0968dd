/*
 * Guest stub: the AP loop td-shim relocates next to the OS's mailbox
 * (td-shim src/bin/td-shim/asm/ap_loop.asm ap_relocated_func, at
 * 125eeab), for smp.c to copy: the AP's x2APIC ID from
 * TDG.VP.VMCALL<Instruction.CPUID> leaf 0xB (exposing RDX, RBX, RSI, RDI
 * and R8-R15, mask 0xFFCC, not RBP: td-shim e3a692b), then a spin on the
 * mailbox at RBX until a WAKEUP for this APIC ID or all, acknowledged by
 * clearing the command, jumps to the wake-up vector.
 *
 * ap_relocated_check_in, run in place by such a wake-up: records that
 * this vCPU (TDG.VP.INFO index) got there and goes back to the loop, which
 * follows its mailbox (RBX) at RBX + 4 KiB.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "layout.h"

#define TDVMCALL_MASK       0xffcc
#define TDVMCALL_CPUID      0x0a

    .text
    .code64
    .globl ap_loop_start, ap_loop_end
ap_loop_start:
    xorl %eax, %eax                 /* TDG.VP.VMCALL */
    movl $TDVMCALL_MASK, %ecx
    xorl %r10d, %r10d
    movl $TDVMCALL_CPUID, %r11d
    movl $0xb, %r12d
    xorl %r13d, %r13d
    .byte 0x66, 0x0f, 0x01, 0xcc    /* tdcall */
    testq %rax, %rax
    jnz 4f
    testq %r10, %r10
    jnz 4f
    movq %r15, %r8                  /* the x2APIC ID */
1:  cmpl $AP_MAILBOX_BROADCAST, AP_MAILBOX_APIC_ID(%rbx)
    je 2f
    cmpl %r8d, AP_MAILBOX_APIC_ID(%rbx)
    je 2f
    pause
    jmp 1b
2:  cmpl $AP_CMD_WAKEUP, AP_MAILBOX_COMMAND(%rbx)
    jne 1b
    movl AP_MAILBOX_VECTOR(%rbx), %eax
    movq $AP_CMD_NOOP, AP_MAILBOX_COMMAND(%rbx)   /* the acknowledgement */
    jmp *%rax
4:  ud2
ap_loop_end:

    .globl ap_relocated_check_in
ap_relocated_check_in:
    movl $1, %eax                   /* TDG.VP.INFO: R9 = vCPU index */
    .byte 0x66, 0x0f, 0x01, 0xcc    /* tdcall */
    testq %rax, %rax
    jnz 1f
    cmpq $AP_RELOCATED_MAX, %r9
    jae 1f
    leaq ap_relocated(%rip), %rax
    movb $1, (%rax, %r9)
1:  leaq 0x1000(%rbx), %rax         /* back to the loop */
    jmp *%rax
