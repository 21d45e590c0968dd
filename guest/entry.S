/*
 * Guest stub payload entry, exception stubs and the TDCALL trampolines
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define USER_CS         (0x20 | 3)
#define USER_DS         (0x18 | 3)

/* Offsets in struct tdx_regs (tdx.h) */
#define REG_RAX         0
#define REG_RCX         8
#define REG_RDX         16
#define REG_RBX         24
#define REG_RBP         32
#define REG_RSI         40
#define REG_RDI         48
#define REG_R8          56
#define REG_R9          64
#define REG_R10         72
#define REG_R11         80
#define REG_R12         88
#define REG_R13         96
#define REG_R14         104
#define REG_R15         112

    .section .text.payload_entry, "ax"
    .globl payload_entry
payload_entry:
    leaq stack_top(%rip), %rsp
    call guest_main
1:  cli
    hlt
    jmp 1b

    .text

/*
 * void tdcall_regs(struct tdx_regs *r): load every GPR but RSP from @r,
 * execute TDCALL, store every GPR back.
 */
    .globl tdcall_regs
tdcall_regs:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    pushq %rdi
    movq REG_RAX(%rdi), %rax
    movq REG_RCX(%rdi), %rcx
    movq REG_RDX(%rdi), %rdx
    movq REG_RBX(%rdi), %rbx
    movq REG_RBP(%rdi), %rbp
    movq REG_RSI(%rdi), %rsi
    movq REG_R8(%rdi), %r8
    movq REG_R9(%rdi), %r9
    movq REG_R10(%rdi), %r10
    movq REG_R11(%rdi), %r11
    movq REG_R12(%rdi), %r12
    movq REG_R13(%rdi), %r13
    movq REG_R14(%rdi), %r14
    movq REG_R15(%rdi), %r15
    movq REG_RDI(%rdi), %rdi
    .globl tdcall_insn
tdcall_insn:
    .byte 0x66, 0x0f, 0x01, 0xcc    /* tdcall */
    xchgq %rdi, (%rsp)
    movq %rax, REG_RAX(%rdi)
    movq %rcx, REG_RCX(%rdi)
    movq %rdx, REG_RDX(%rdi)
    movq %rbx, REG_RBX(%rdi)
    movq %rbp, REG_RBP(%rdi)
    movq %rsi, REG_RSI(%rdi)
    movq %r8, REG_R8(%rdi)
    movq %r9, REG_R9(%rdi)
    movq %r10, REG_R10(%rdi)
    movq %r11, REG_R11(%rdi)
    movq %r12, REG_R12(%rdi)
    movq %r13, REG_R13(%rdi)
    movq %r14, REG_R14(%rdi)
    movq %r15, REG_R15(%rdi)
    popq REG_RDI(%rdi)
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

/*
 * void tdvmcall_sti_hlt(void): MigTD's idle, "sti" then TDG.VP.VMCALL
 * <Instruction.HLT> with R12 = 0 (interrupts not blocked), then "cli".
 */
    .globl tdvmcall_sti_hlt
tdvmcall_sti_hlt:
    pushq %r12
    xorl %eax, %eax
    movl $0x1c00, %ecx              /* expose R10, R11, R12 */
    xorl %r10d, %r10d
    movl $0x0c, %r11d
    xorl %r12d, %r12d
    sti
    .byte 0x66, 0x0f, 0x01, 0xcc    /* tdcall */
    cli
    popq %r12
    ret

/* void tdcall_no_prefix(void): 0F 01 CC without the 66 prefix (#UD) */
    .globl tdcall_no_prefix, tdcall_no_prefix_insn
tdcall_no_prefix:
tdcall_no_prefix_insn:
    .byte 0x0f, 0x01, 0xcc
    ret

/*
 * void run_user(void (*fn)(void), void *stack_top): enter @fn at CPL 3.
 * Returns when the user code takes an exception (see exception_common).
 */
    .globl run_user
run_user:
    pushq %rbx
    pushq %rbp
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, user_return_rsp(%rip)
    pushq $USER_DS
    pushq %rsi
    pushq $0x2
    pushq $USER_CS
    pushq %rdi
    iretq
user_return:
    movq user_return_rsp(%rip), %rsp
    movq $0, user_return_rsp(%rip)
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbp
    popq %rbx
    ret

/* User code: TDCALL at CPL 3 must fault with #GP(0); ud2 if it does not */
    .globl user_tdcall, user_tdcall_insn
user_tdcall:
user_tdcall_insn:
    .byte 0x66, 0x0f, 0x01, 0xcc
    ud2

/*
 * Interrupt stubs: call the C handler, send the x2APIC EOI (MSR 0x80B),
 * return. event_irq: the event-notify vector; timer_irq: the APIC timer;
 * fuzz_irq: any other vector, in the fuzz mode (fuzz.c).
 */
    .macro IRQ_STUB name, handler
    .globl \name
\name:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    cld
    call \handler
    movl $0x80b, %ecx
    xorl %eax, %eax
    xorl %edx, %edx
    wrmsr
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
    iretq
    .endm

    IRQ_STUB event_irq, event_interrupt
    IRQ_STUB timer_irq, timer_interrupt
    IRQ_STUB request_irq, request_interrupt
    IRQ_STUB stream_irq, stream_interrupt
    IRQ_STUB fuzz_irq, fuzz_interrupt

/* Exception stubs: push a zero error code where the CPU pushes none */
    .macro EXC vector
exc_\vector:
    .if (\vector == 8) || (\vector >= 10 && \vector <= 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
    .else
    pushq $0
    .endif
    pushq $\vector
    jmp exception_common
    .endm

    .altmacro
    .set vec, 0
    .rept 32
    EXC %vec
    .set vec, vec + 1
    .endr

    .data                           /* relocated by the loader */
    .globl exception_stubs
    .balign 8
exception_stubs:
    .macro STUB_ADDR vector
    .quad exc_\vector
    .endm
    .set vec, 0
    .rept 32
    STUB_ADDR %vec
    .set vec, vec + 1
    .endr

    .text
/*
 * Frame for exception_handler (struct exception_frame in cpu.h): the 15
 * saved GPRs, then vector, error code and the CPU's RIP/CS/RFLAGS/RSP/SS.
 */
exception_common:
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rbx
    pushq %rbp
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    cld
    call exception_handler
    testl %eax, %eax
    jnz user_return
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rbp
    popq %rbx
    popq %rdx
    popq %rcx
    popq %rax
    addq $16, %rsp
    iretq

    .bss
    .balign 16
    .globl user_return_rsp
user_return_rsp:
    .quad 0
    .balign 16
    .space 16384
stack_top:
