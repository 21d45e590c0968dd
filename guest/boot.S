/*
 * Guest stub boot: real mode at the reset vector -> 32-bit protected mode
 * -> long mode with 4 GiB identity-mapped (2 MiB pages, user-accessible so
 * the CPL 3 checks can run) -> the payload at 1 MiB.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define CR0_PE          0x00000001
#define CR0_PG          0x80000000
#define CR4_PAE         0x00000020
#define MSR_EFER        0xC0000080
#define EFER_LME        0x00000100

/* Boot page tables in low RAM: PML4, PDPT and four page directories */
#define PT_PML4         0x10000
#define PT_PDPT         0x11000
#define PT_PD           0x12000
#define PTE_P_RW_US     0x7
#define PDE_2M          0x87        /* P | RW | US | PS */

#define SEL_CODE32      0x08
#define SEL_DATA        0x10
#define SEL_CODE64      0x18

#define ROM_SEG_BASE    0xFFFF0000

    .section .boot, "ax"

    .code16
boot16:
    cli
    cld
    lgdtl %cs:(boot_gdt_desc - ROM_SEG_BASE)
    movl %cr0, %eax
    orl $CR0_PE, %eax
    movl %eax, %cr0
    ljmpl $SEL_CODE32, $boot32

    .code32
boot32:
    movw $SEL_DATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss

    /* Copy the payload to 1 MiB and clear its .bss */
    movl $payload_lma, %esi
    movl $PAYLOAD_BASE, %edi
    movl $payload_end, %ecx
    subl %edi, %ecx
    rep movsb
    movl $bss_start, %edi
    movl $bss_end, %ecx
    subl %edi, %ecx
    xorl %eax, %eax
    rep stosb

    /* Page tables: 6 pages from PT_PML4, then 4 GiB of 2 MiB pages */
    movl $PT_PML4, %edi
    movl $(6 * 4096 / 4), %ecx
    xorl %eax, %eax
    rep stosl
    movl $(PT_PDPT | PTE_P_RW_US), PT_PML4
    movl $0, %ecx
1:  movl %ecx, %eax
    shll $12, %eax
    addl $(PT_PD | PTE_P_RW_US), %eax
    movl %eax, PT_PDPT(, %ecx, 8)
    incl %ecx
    cmpl $4, %ecx
    jne 1b
    movl $0, %ecx
2:  movl %ecx, %eax
    shll $21, %eax
    orl $PDE_2M, %eax
    movl %eax, PT_PD(, %ecx, 8)
    movl %ecx, %eax
    shrl $11, %eax                  /* bits 32+ of the 2 MiB frame */
    movl %eax, PT_PD + 4(, %ecx, 8)
    incl %ecx
    cmpl $2048, %ecx
    jne 2b

    /* Long mode */
    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $PT_PML4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $CR0_PG, %eax
    movl %eax, %cr0
    ljmpl $SEL_CODE64, $boot64

    .code64
boot64:
    movabsq $payload_entry, %rax
    jmp *%rax

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

    .section .resetvec, "ax"
    .code16
reset_vector:
    jmp boot16
    .globl reset_vector
