/*
 * Guest stub boot, in the order td-shim's reset vector does it:
 *
 *   0xFFFFFFF0: entered either in the TDX entry state (32-bit flat
 * protected mode, EFER.LME set, RBX = GPAW, RSI = vCPU index; TDX module
 * TDH.VP.INIT)
 *   or, without tdx-emu, in real mode. A probe that decodes the same in
 *   both modes (mov eax, cr0; test al, 1; jnz) picks the path.
 *
 *   TD path: save the entry registers, build 4 GiB identity page tables in
 *   TempMem, enter long mode without touching EFER, accept 0..8 MiB in
 *   4 KiB pages with TDG.MEM.PAGE.ACCEPT, load the payload ELF at 1 MiB,
 *   relocate it and run it. APs (RSI != 0) wait for those page tables,
 *   enter long mode on them and park on td-shim's mailbox (ap_park). Legacy path: enter protected mode
 *   first, set EFER.LME itself, use low RAM for the page tables, skip the
 *   accepting.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "layout.h"

#define CR0_PE          0x00000001
#define CR0_PG          0x80000000
#define CR4_PAE         0x00000020
#define MSR_EFER        0xC0000080
#define EFER_LME        0x00000100

#ifdef STUB_TEMPMEM_RAM
#define PT_TD           TEMPMEM_RAM_BASE        /* TempMem in RAM */
#else
#define PT_TD           0xFFFC0000      /* TempMem: PML4, PDPT, 4 PDs */
#endif
#define PT_LEGACY       0x10000
#define PTE_P_RW_US     0x7
#define PDE_2M          0x87            /* P | RW | US | PS */

#define SEL_CODE32      0x08
#define SEL_DATA        0x10
#define SEL_CODE64      0x18

#define ROM_SEG_BASE    0xFFFF0000
#define ACCEPT_END      0x800000        /* as td-shim's reset vector */

    .section .boot, "ax"

    .code16
boot16:
    cli
    cld
    lgdtl %cs:(boot_gdt_desc - ROM_SEG_BASE)
    movl %cr0, %eax
    orl $CR0_PE, %eax
    movl %eax, %cr0
    xorl %ebp, %ebp                 /* EBP = 0: not a TD */
    ljmpl $SEL_CODE32, $flat32

    .code32
boot32:                             /* TDX entry state */
    lgdtl boot_gdt_desc
    testl %esi, %esi                /* APs park; the BSP goes on */
    jz 1f
    ljmpl $SEL_CODE32, $ap32
1:  movl $1, %ebp                   /* EBP = 1: a TD */
    ljmpl $SEL_CODE32, $flat32

/* An AP: long mode on the BSP's page tables once they are there */
ap32:
    movw $SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
1:  pause
    cmpl $0, AP_PAGING_READY
    je 1b
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $PT_TD, %eax
    movl %eax, %cr3
    movl %cr0, %eax
    orl $CR0_PG, %eax
    movl %eax, %cr0
    ljmpl $SEL_CODE64, $ap_park

flat32:
    movw $SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    testl %ebp, %ebp
    jz legacy_paging

    /* What the TDX module handed over, for the payload to check */
    movl %ebx, ENTRY_REGS_ADDR + 0
    movl %esi, ENTRY_REGS_ADDR + 4
    movl %edx, ENTRY_REGS_ADDR + 8
    movl %ecx, ENTRY_REGS_ADDR + 12
    movl %cr0, %eax
    movl %eax, ENTRY_REGS_ADDR + 16
    movl %cr4, %eax
    movl %eax, ENTRY_REGS_ADDR + 20
    movl $MSR_EFER, %ecx
    rdmsr
    movl %eax, ENTRY_REGS_ADDR + 24

    movl $PT_TD, %edi
    jmp build_page_tables

legacy_paging:
    movl $PT_LEGACY, %edi

/* Page tables at EDI: PML4, PDPT, then 4 GiB of 2 MiB pages */
build_page_tables:
    movl %edi, %ebx
    movl $(6 * 4096 / 4), %ecx
    xorl %eax, %eax
    rep stosl
    leal (4096 + PTE_P_RW_US)(%ebx), %eax
    movl %eax, (%ebx)               /* PML4[0] -> PDPT */
    xorl %ecx, %ecx
1:  movl %ecx, %eax
    shll $12, %eax
    leal (2 * 4096 + PTE_P_RW_US)(%ebx, %eax), %eax
    movl %eax, 4096(%ebx, %ecx, 8)  /* PDPT[i] -> PD i */
    incl %ecx
    cmpl $4, %ecx
    jne 1b
    xorl %ecx, %ecx
2:  movl %ecx, %eax
    shll $21, %eax
    orl $PDE_2M, %eax
    movl %eax, 2 * 4096(%ebx, %ecx, 8)
    movl %ecx, %eax
    shrl $11, %eax                  /* bits 32+ of the 2 MiB frame */
    movl %eax, 2 * 4096 + 4(%ebx, %ecx, 8)
    incl %ecx
    cmpl $2048, %ecx
    jne 2b

    /* The APs may use these page tables now (TD path only) */
    testl %ebp, %ebp
    jz 4f
    movl $1, AP_PAGING_READY
4:
    /* Long mode; a TD has EFER.LME from the TDX module already */
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl %ebx, %cr3
    testl %ebp, %ebp
    jnz 3f
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
3:  movl %cr0, %eax
    orl $CR0_PG, %eax
    movl %eax, %cr0
    ljmpl $SEL_CODE64, $boot64

    .code64
boot64:
    xorq %r14, %r14
    testl %ebp, %ebp
    jz load_payload

    /* TDG.MEM.PAGE.ACCEPT of 0..8 MiB, 4 KiB at a time (R14/R15 kept) */
    movq $ACCEPT_END, %r15
1:  movq $6, %rax
    movq %r14, %rcx
    .byte 0x66, 0x0f, 0x01, 0xcc    /* tdcall */
    addq $4096, %r14
    cmpq %r15, %r14
    jb 1b

/*
 * Load the payload ELF at PAYLOAD_BASE, as td-shim's loader does (td-shim
 * src/bin/td-shim/main.rs): each PT_LOAD's file bytes to base + p_vaddr, the
 * rest of p_memsz zeroed, then every R_X86_64_RELATIVE in DT_RELA set to base
 * + addend, then jump to its entry. Any other relocation type is a build
 * error, caught here with ud2. No stack: the legacy path has no RAM for one
 * yet.
 */
#define ELF_ENTRY       0x18
#define ELF_PHOFF       0x20
#define ELF_PHENTSIZE   0x36
#define ELF_PHNUM       0x38
#define PH_TYPE         0
#define PH_OFFSET       8
#define PH_VADDR        16
#define PH_FILESZ       32
#define PH_MEMSZ        40
#define PT_LOAD         1
#define PT_DYNAMIC      2
#define DT_RELA         7
#define DT_RELASZ       8
#define R_RELATIVE      8

load_payload:
    movl $(payload_lma + PAYLOAD_ELF_IN_FV), %ebx  /* RBX: the ELF file */
    movl $payload_load_base, %eax
    movl (%rax), %r8d               /* R8: load bias */
    xorl %r9d, %r9d                 /* R9: PT_DYNAMIC vaddr, 0 if none */
    movq ELF_PHOFF(%rbx), %r10
    addq %rbx, %r10                 /* R10: program header */
    movzwl ELF_PHNUM(%rbx), %r11d   /* R11: headers left */
1:  testl %r11d, %r11d
    jz 4f
    cmpl $PT_DYNAMIC, PH_TYPE(%r10)
    jne 2f
    movq PH_VADDR(%r10), %r9
2:  cmpl $PT_LOAD, PH_TYPE(%r10)
    jne 3f
    movq PH_OFFSET(%r10), %rsi
    addq %rbx, %rsi
    movq PH_VADDR(%r10), %rdi
    addq %r8, %rdi
    movq PH_FILESZ(%r10), %rcx
    rep movsb
    movq PH_MEMSZ(%r10), %rcx
    subq PH_FILESZ(%r10), %rcx
    xorl %eax, %eax
    rep stosb
3:  movzwl ELF_PHENTSIZE(%rbx), %eax
    addq %rax, %r10
    decl %r11d
    jmp 1b

    /* RSI = DT_RELA, RCX = DT_RELASZ from the dynamic section */
4:  testq %r9, %r9
    jz 8f
    addq %r8, %r9
    xorl %esi, %esi
    xorl %ecx, %ecx
5:  movq (%r9), %rax
    testq %rax, %rax                /* DT_NULL */
    jz 6f
    cmpq $DT_RELA, %rax
    cmove 8(%r9), %rsi
    cmpq $DT_RELASZ, %rax
    cmove 8(%r9), %rcx
    addq $16, %r9
    jmp 5b

    /* Each Elf64_Rela: *(base + r_offset) = base + r_addend */
6:  addq %r8, %rsi
7:  testq %rcx, %rcx
    jz 8f
    cmpl $R_RELATIVE, 8(%rsi)
    jne 9f
    movq 16(%rsi), %rax
    addq %r8, %rax
    movq (%rsi), %rdi
    movq %rax, (%r8, %rdi)
    addq $24, %rsi
    subq $24, %rcx
    jmp 7b

8:  movq ELF_ENTRY(%rbx), %rax
    addq %r8, %rax
    movl %ebp, %edi                 /* payload_entry(is_td, boot TDCALLs) */
    movq %r14, %rsi
    shrq $12, %rsi
    jmp *%rax
9:  ud2

/*
 * td-shim's ParkAp (td-shim ResetVector/Main.asm, MAILBOX_SUPPORT): the
 * vCPU index from TDG.VP.INFO (R9), then the mailbox: a command for this
 * vCPU (APIC_ID = its index) or for all (BROADCAST) is taken; CHECK and
 * the others answer by setting APIC_ID invalid; ASSIGN_WORK calls VECTOR
 * with the index in RCX (Microsoft x64 ABI, as td-shim's
 * parallel_accept_memory) on the stack in argument 0; WAKEUP jumps to
 * VECTOR with RBX = argument 0 for good.
 */
    .code64
ap_park:
    movl $1, %eax                   /* TDG.VP.INFO */
    .byte 0x66, 0x0f, 0x01, 0xcc    /* tdcall */
    movl $AP_MAILBOX_ADDR, %esp
1:  cmpl $AP_MAILBOX_BROADCAST, AP_MAILBOX_APIC_ID(%rsp)
    je 2f
    cmpl %r9d, AP_MAILBOX_APIC_ID(%rsp)
    je 2f
    pause
    jmp 1b
2:  movl AP_MAILBOX_COMMAND(%rsp), %eax
    cmpl $AP_CMD_WAKEUP, %eax
    je ap_wakeup
    cmpl $AP_CMD_ASSIGN_WORK, %eax
    je ap_work
    cmpl $AP_CMD_CHECK, %eax
    je ap_done
    cmpl $AP_CMD_SET_CR3, %eax
    je ap_set_cr3
    cmpl $AP_CMD_SET_IDT, %eax
    je ap_set_idt
    jmp 1b                          /* NOOP, or not there yet */
ap_set_cr3:
    movq AP_MAILBOX_FW_ARGS(%rsp), %rax
    movq %rax, %cr3
    jmp ap_done
ap_set_idt:
    movq AP_MAILBOX_FW_ARGS(%rsp), %rax
    lidt (%rax)
ap_done:
    movl $AP_MAILBOX_INVALID, AP_MAILBOX_APIC_ID(%rsp)
    jmp 1b
ap_work:
    movl AP_MAILBOX_VECTOR(%rsp), %eax
    movq AP_MAILBOX_FW_ARGS(%rsp), %rsi
    movl $AP_MAILBOX_INVALID, AP_MAILBOX_APIC_ID(%rsp)
    movq %rsi, %rsp
    movl %r9d, %ecx
    pushq %r9
    subq $40, %rsp                  /* the callee's home space, aligned */
    call *%rax
    addq $40, %rsp
    popq %r9
    movl $AP_MAILBOX_ADDR, %esp
    jmp 1b
ap_wakeup:
    movl AP_MAILBOX_VECTOR(%rsp), %eax
    movq AP_MAILBOX_FW_ARGS(%rsp), %rbx
    jmp *%rax

/*
 * Where the payload goes: a word in the image, so that a test can move the
 * payload (and see the device and gdb follow) by patching the image
 */
    .balign 4
    .globl payload_load_base
payload_load_base:
    .long PAYLOAD_BASE

    .balign 8
boot_gdt:
    .quad 0
    .quad 0x00CF9B000000FFFF        /* 0x08: 32-bit code, flat */
    .quad 0x00CF93000000FFFF        /* 0x10: data, flat */
    .quad 0x00AF9B000000FFFF        /* 0x18: 64-bit code */
boot_gdt_end:
boot_gdt_desc:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

/*
 * Mode probe and reset vector, in one section at 0xFFFFFF80 so that the
 * short jumps are resolved here: the probe's bytes mean the same in real
 * mode and in 32-bit protected mode.
 */
    .section .resetvec, "ax"
    .code32
mode_probe:
    .byte 0x0f, 0x20, 0xc0          /* mov eax, cr0 */
    .byte 0xa8, 0x01                /* test al, 1 (PE) */
    .byte 0x75, probe_pm - 1f       /* jnz probe_pm */
1:
    .code16
    jmp boot16
probe_pm:
    .code32
    jmp boot32

    .section .resetvec.entry, "ax"   /* 0xFFFFFFF0 */
    .globl reset_vector
reset_vector:
    .byte 0xeb, mode_probe - 1f     /* jmp short, in either mode */
1:
    .org 0x10
