/*
 * QTest cases for the tdx-emu device
 *
 * Two ways in: the test mailbox (register interface, runs under -accel
 * qtest) and a guest image that executes TDCALL itself under -accel tcg
 * (its path comes from TDX_EMU_GUEST_IMAGE, set by ./tdx-emu test).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "libqtest.h"
#include "qemu/bswap.h"
#include "qobject/qdict.h"
#include "qobject/qlist.h"
#include "qobject/qnum.h"
#include "tdx-emu-util.h"

/* The guest image's result block (guest/result.h) */
#define GUEST_RESULT_GPA        0x7000ULL
#define GUEST_RESULT_MAGIC      0x5453455547584454ULL   /* "TDXGUEST" */
#define GUEST_STATE_RUNNING     0
#define GUEST_STATE_PASS        1
#define GUEST_STATE_NO_TDCALL   3

typedef struct GuestResult {
    uint64_t magic;
    uint64_t state;
    uint64_t passed;
    uint64_t failed;
    uint64_t tdcalls;
    uint64_t event_wait;
    uint64_t events;
} GuestResult;

/* ------------------------------------------------------------------ */
/* Mailbox cases                                                      */

static void test_vp_info(void)
{
    QTestState *qts = mailbox_init(",gpaw=52,attributes=0x10000000");
    uint64_t in[NR_GPRS], out[NR_GPRS];
    uint32_t info_outputs = OUT(RAX) | OUT(RCX) | OUT(RDX) | OUT(R8) |
                            OUT(R9) | OUT(R10) | OUT(R11);

    g_assert_cmpuint(tdcall_count(qts), ==, 0);
    sentinel_regs(in);
    in[RAX] = 1;                                /* TDG.VP.INFO */
    tdcall(qts, 1, in, out, info_outputs);
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    g_assert_cmpuint(out[RCX], ==, 52);         /* GPAW */
    g_assert_cmphex(out[RDX], ==, 0x10000000);  /* ATTRIBUTES */
    g_assert_cmphex(out[R8], ==, 2 | (2ULL << 32)); /* NUM | MAX << 32 */
    g_assert_cmpuint(out[R9], ==, 1);           /* VCPU_INDEX */
    g_assert_cmphex(out[R10], ==, 1);           /* TDG.SYS.RD available */
    g_assert_cmphex(out[R11], ==, 0);
    g_assert_cmpuint(tdcall_count(qts), ==, 1);

    tdcall(qts, 0, in, out, info_outputs);
    g_assert_cmpuint(out[R9], ==, 0);
    g_assert_cmpuint(tdcall_count(qts), ==, 2);
    qtest_quit(qts);
}

static void test_vp_info_default_gpaw(void)
{
    QTestState *qts = qtest_initf("-machine q35 -cpu max,phys-bits=48 "
                                  "-nodefaults -device tdx-emu,mailbox=0x%llx",
                                  MAILBOX_GPA);
    uint64_t in[NR_GPRS] = { [RAX] = 1 }, out[NR_GPRS];

    tdcall(qts, 0, in, out, ~0u);
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    g_assert_cmpuint(out[RCX], ==, 48);
    g_assert_cmphex(out[RDX], ==, 0x10000000);  /* SEPT_VE_DISABLE */
    g_assert_cmphex(out[R8], ==, 1 | (1ULL << 32));
    qtest_quit(qts);
}

static void test_unknown_leaf(void)
{
    static const uint64_t bad_rax[] = {
        0x7f,                   /* no such leaf */
        0xffff,
        1 | (1ULL << 16),       /* TDG.VP.INFO has no version 1 */
        1 | (1ULL << 24),       /* RAX[63:24] are reserved */
        1ULL << 63,
    };
    QTestState *qts = mailbox_init(NULL);
    uint64_t in[NR_GPRS], out[NR_GPRS];
    size_t i;

    for (i = 0; i < ARRAY_SIZE(bad_rax); i++) {
        sentinel_regs(in);
        in[RAX] = bad_rax[i];
        tdcall(qts, 0, in, out, OUT(RAX));
        g_assert_cmphex(out[RAX], ==, TDX_OPERAND_INVALID);
    }
    g_assert_cmpuint(tdcall_count(qts), ==, ARRAY_SIZE(bad_rax));
    qtest_quit(qts);
}

static void test_vmcall_unknown(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint64_t in[NR_GPRS], out[NR_GPRS];

    vmcall_regs(in, 0x7777);
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    g_assert_cmphex(out[R10], ==, TDVMCALL_INVALID_OPERAND);

    /* R10 != 0 is a vendor-specific call this VMM does not have */
    vmcall_regs(in, 0x1e);
    in[R10] = 1;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    g_assert_cmphex(out[R10], ==, TDVMCALL_INVALID_OPERAND);
    qtest_quit(qts);
}

static void test_vmcall_gpr_select(void)
{
    static const uint64_t bad_select[] = {
        0xfc00 | (1 << RSP),    /* RSP can never be exposed */
        0xfc00 | (1 << RAX),
        0xfc00 | (1 << RCX),
        0xfc00 | (1ULL << 32),  /* RCX[63:32] reserved */
        0xffec,                 /* RBP, under NO_RBP_MOD (the default) */
    };
    QTestState *qts = mailbox_init(NULL);
    uint64_t in[NR_GPRS], out[NR_GPRS];
    size_t i;

    for (i = 0; i < ARRAY_SIZE(bad_select); i++) {
        vmcall_regs(in, 0x10000);
        in[RCX] = bad_select[i];
        tdcall(qts, 0, in, out, OUT(RAX));
        g_assert_cmphex(out[RAX], ==, TDX_OPERAND_INVALID_RCX);
    }

    /*
     * Expose R10 and R12 only: the VMM sees R11 = 0, an unknown
     * sub-function, and its answer reaches R10 but nothing else.
     */
    vmcall_regs(in, 0x10000);
    in[RCX] = (1 << R10) | (1 << R12);
    tdcall(qts, 0, in, out, OUT(RAX) | OUT(R10) | OUT(R12));
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    g_assert_cmphex(out[R10], ==, TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(out[R12], ==, in[R12]);
    qtest_quit(qts);

    /* Without NO_RBP_MOD, td-shim's old AP loop mask 0xffec is taken */
    qts = mailbox_init(",no-rbp-mod=off");
    vmcall_regs(in, 0x0a);
    in[RCX] = 0xffec;
    in[R12] = 0xb;
    in[R13] = 0;
    tdcall(qts, 1, in, out, OUT(RAX) | OUT(RDX) | OUT(RBX) | OUT(RBP) |
           OUT(RSI) | OUT(RDI) | OUT(R8) | OUT(R9) | VMCALL_OUTPUTS);
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    g_assert_cmphex(out[R10], ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(out[R15], ==, 1);           /* vCPU 1's x2APIC ID */
    qtest_quit(qts);
}

static void test_get_td_vmcall_info(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint64_t in[NR_GPRS], out[NR_GPRS];

    vmcall_regs(in, 0x10000);
    in[R12] = 0;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    g_assert_cmphex(out[R10], ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(out[R11], ==, 0);
    g_assert_cmphex(out[R12], ==, 0);
    g_assert_cmphex(out[R13], ==, 0);
    g_assert_cmphex(out[R14], ==, 0);
    g_assert_cmphex(out[R15], ==, in[R15]);

    /* Leaf 1: GetQuote (bit 0) and SetupEventNotifyInterrupt (bit 1) */
    in[R12] = 1;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[R10], ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(out[R11], ==, 3);

    in[R12] = 2;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[R10], ==, TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(out[R11], ==, in[R11]);
    qtest_quit(qts);
}

/* Instruction.IO (0x1E) or #VE.RequestMMIO (0x30): size, direction, where */
static uint64_t vmcall_access(QTestState *qts, uint64_t subfn, uint64_t size,
                              uint64_t dir, uint64_t addr, uint64_t data,
                              uint64_t *r11)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    vmcall_regs(in, subfn);
    in[R12] = size;
    in[R13] = dir;
    in[R14] = addr;
    in[R15] = data;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    g_assert_cmphex(out[R12], ==, size);
    g_assert_cmphex(out[R15], ==, data);
    *r11 = out[R11];
    return out[R10];
}

static uint64_t vmcall_io(QTestState *qts, uint64_t size, uint64_t dir,
                          uint64_t port, uint64_t data, uint64_t *r11)
{
    return vmcall_access(qts, 0x1e, size, dir, port, data, r11);
}

static uint64_t vmcall_mmio(QTestState *qts, uint64_t size, uint64_t dir,
                            uint64_t gpa, uint64_t data, uint64_t *r11)
{
    return vmcall_access(qts, 0x30, size, dir, gpa, data, r11);
}

static void test_vmcall_io(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint64_t r11;

    /* The 16550's scratch register (0x3FF) keeps what is written to it */
    g_assert_cmphex(vmcall_io(qts, 1, 1, 0x3ff, 0x1a5, &r11), ==, 0);
    g_assert_cmphex(r11, ==, 0x1e);             /* a write leaves R11 */
    g_assert_cmphex(qtest_inb(qts, 0x3ff), ==, 0xa5);
    qtest_outb(qts, 0x3ff, 0x5c);
    g_assert_cmphex(vmcall_io(qts, 1, 0, 0x3ff, 0, &r11), ==, 0);
    g_assert_cmphex(r11, ==, 0x5c);

    /*
     * Wider than the device: split by the memory core as on QEMU's KVM
     * exit path. 2 bytes at the 16550's last port read the scratch
     * register in the low byte; 4 bytes written from 0x3FE put byte 1
     * into it; a 4-byte write to the RTC's 2-port region at its data
     * port (td-shim's testiorw32) reaches CMOS RAM, and so does the read.
     */
    g_assert_cmphex(vmcall_io(qts, 2, 0, 0x3ff, 0, &r11), ==, 0);
    g_assert_cmphex(r11 & 0xff, ==, 0x5c);
    g_assert_cmphex(vmcall_io(qts, 4, 1, 0x3fe, 0x11223344, &r11), ==, 0);
    g_assert_cmphex(qtest_inb(qts, 0x3ff), ==, 0x33);
    qtest_outb(qts, 0x70, 0x0e);
    g_assert_cmphex(vmcall_io(qts, 4, 1, 0x71, 0xa5a5a55a, &r11), ==, 0);
    qtest_outb(qts, 0x70, 0x0e);
    g_assert_cmphex(qtest_inb(qts, 0x71), ==, 0x5a);
    qtest_outb(qts, 0x70, 0x0e);
    qtest_outb(qts, 0x71, 0xc3);
    g_assert_cmphex(vmcall_io(qts, 4, 0, 0x71, 0, &r11), ==, 0);
    g_assert_cmphex(r11 & 0xff, ==, 0xc3);

    /* Bad size, direction or port range */
    g_assert_cmphex(vmcall_io(qts, 3, 0, 0x3ff, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(vmcall_io(qts, 8, 1, 0x3ff, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(vmcall_io(qts, 1, 2, 0x3ff, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(vmcall_io(qts, 2, 0, 0xffff, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(vmcall_io(qts, 1, 0, 0x10000, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    qtest_quit(qts);
}

#define IOAPIC_GPA      0xfec00000ULL
#define SHARED_BIT_48   (1ULL << 47)

/*
 * #VE.RequestMMIO reaches the device at the GPA, with or without the
 * shared bit, as KVM's tdx_emulate_mmio; memory, page-crossing accesses
 * and bad sizes or directions are invalid operands.
 */
/* PIT channel 0 in mode 2 with reload 1, then its count read back */
static uint16_t pit_reload_1(QTestState *qts, bool through_vmcall)
{
    static const uint8_t writes[][2] = {
        { 0x43, 0x34 }, { 0x40, 1 }, { 0x40, 0 }, { 0x43, 0x00 },
    };
    uint64_t lo, hi;
    size_t i;

    for (i = 0; i < ARRAY_SIZE(writes); i++) {
        if (through_vmcall) {
            g_assert_cmphex(vmcall_io(qts, 1, 1, writes[i][0], writes[i][1],
                                      &lo), ==, TDVMCALL_SUCCESS);
        } else {
            qtest_outb(qts, writes[i][0], writes[i][1]);
        }
    }
    if (through_vmcall) {
        vmcall_io(qts, 1, 0, 0x40, 0, &lo);
        vmcall_io(qts, 1, 0, 0x40, 0, &hi);
    } else {
        lo = qtest_inb(qts, 0x40);
        hi = qtest_inb(qts, 0x40);
    }
    return lo | hi << 8;
}

/*
 * A TD's periodic PIT timer counts at least 239 ticks (200 us, KVM's
 * min_timer_period_us), so reload 1 cannot make the main loop spin; a
 * plain VM keeps what it loads. The virtual clock stands still under
 * qtest, so the latched count is what was loaded.
 */
static void test_pit_floor(void)
{
    QTestState *qts = mailbox_init(NULL);

    g_assert_cmpuint(pit_reload_1(qts, true), ==, 239);
    qtest_quit(qts);
    qts = qtest_init("-machine q35 -nodefaults");
    g_assert_cmpuint(pit_reload_1(qts, false), ==, 1);
    qtest_quit(qts);
}

static void test_vmcall_mmio(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint64_t r11;

    /* IOAPIC version through IOREGSEL/IOWIN: version 0x20, 24 pins */
    g_assert_cmphex(vmcall_mmio(qts, 4, 1, IOAPIC_GPA | SHARED_BIT_48, 1,
                                &r11), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(vmcall_mmio(qts, 4, 0, IOAPIC_GPA + 0x10, 0, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(r11, ==, 0x170020);
    /* 8 bytes: two 4-byte accesses for the IOAPIC, IOWIN then nothing */
    g_assert_cmphex(vmcall_mmio(qts, 8, 0, IOAPIC_GPA + 0x10, 0, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(r11, ==, 0x170020);

    g_assert_cmphex(vmcall_mmio(qts, 3, 0, IOAPIC_GPA, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(vmcall_mmio(qts, 16, 0, IOAPIC_GPA, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(vmcall_mmio(qts, 4, 2, IOAPIC_GPA, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(vmcall_mmio(qts, 4, 0, IOAPIC_GPA + 0xffe, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(vmcall_mmio(qts, 4, 0, 0x1000, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(vmcall_mmio(qts, 4, 1, 0x1000 | SHARED_BIT_48, 0, &r11),
                    ==, TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(vmcall_mmio(qts, 4, 0, IOAPIC_GPA | (1ULL << 50), 0, &r11),
                    ==, TDVMCALL_INVALID_OPERAND);
    qtest_quit(qts);
}

static uint64_t setup_event_notify(QTestState *qts, int vcpu,
                                   uint64_t vector)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    vmcall_regs(in, 0x10004);
    in[R12] = vector;
    tdcall(qts, vcpu, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[RAX], ==, TDX_SUCCESS);
    g_assert_cmphex(out[R12], ==, vector);
    return out[R10];
}

static void test_setup_event_notify(void)
{
    QTestState *qts = mailbox_init(NULL);

    g_assert_cmpuint(qtest_readq(qts, MAILBOX_GPA + MAILBOX_NOTIFY_VEC), ==,
                     0);
    g_assert_cmphex(setup_event_notify(qts, 0, 0), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(setup_event_notify(qts, 0, 31), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(setup_event_notify(qts, 0, 256), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(setup_event_notify(qts, 0, 1ULL << 32 | 0x40), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmpuint(qtest_readq(qts, MAILBOX_GPA + MAILBOX_NOTIFY_VEC), ==,
                     0);
    g_assert_cmphex(setup_event_notify(qts, 1, 32), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(setup_event_notify(qts, 1, 0x51), ==, TDVMCALL_SUCCESS);
    g_assert_cmpuint(qtest_readq(qts, MAILBOX_GPA + MAILBOX_NOTIFY_VEC), ==,
                     0x51);

    /* A system reset forgets the registration */
    qtest_system_reset(qts);
    g_assert_cmpuint(qtest_readq(qts, MAILBOX_GPA + MAILBOX_NOTIFY_VEC), ==,
                     0);
    qtest_quit(qts);
}

static uint64_t vmcall_msr(QTestState *qts, uint64_t subfn, uint64_t msr,
                           uint64_t value, uint64_t *r11)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    vmcall_regs(in, subfn);
    in[R12] = msr;
    in[R13] = value;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    *r11 = out[R11];
    return out[R10];
}

static void test_vmcall_cpuid_msr(void)
{
    QTestState *qts = qtest_initf("-machine q35 -nodefaults "
                                  "-cpu max,phys-bits=48,vendor=GenuineIntel "
                                  "-device tdx-emu,mailbox=0x%llx",
                                  MAILBOX_GPA);
    uint64_t in[NR_GPRS], out[NR_GPRS], r11;
    gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;

    /* Instruction.CPUID: R12..R15 = EAX, EBX, ECX, EDX */
    vmcall_regs(in, 0x0a);
    in[R12] = 0;
    in[R13] = 0;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[R10], ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(out[R13], ==, 0x756e6547);      /* "Genu" */
    g_assert_cmphex(out[R15], ==, 0x49656e69);      /* "ineI" */
    g_assert_cmphex(out[R14], ==, 0x6c65746e);      /* "ntel" */

    /*
     * The x2APIC is on from reset: SVR reads 0xFF, takes 0x1FF. Each vCPU
     * thread loads the TD entry state itself once the reset is complete;
     * under -accel qtest that may come just after the test starts.
     */
    while (vmcall_msr(qts, 0x1f, 0x80f, 0, &r11) != TDVMCALL_SUCCESS &&
           g_get_monotonic_time() < deadline) {
        g_usleep(1000);
    }
    g_assert_cmphex(vmcall_msr(qts, 0x1f, 0x80f, 0, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(r11, ==, 0xff);
    g_assert_cmphex(vmcall_msr(qts, 0x20, 0x80f, 0x1ff, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(vmcall_msr(qts, 0x1f, 0x80f, 0, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(r11, ==, 0x1ff);
    /* KVM's local APIC keeps SVR bits 0-9 (td-shim's testmsrrw), not 12 */
    g_assert_cmphex(vmcall_msr(qts, 0x20, 0x80f, 0x13ff, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(vmcall_msr(qts, 0x1f, 0x80f, 0, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(r11, ==, 0x3ff);
    g_assert_cmphex(vmcall_msr(qts, 0x1f, 0x10, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(vmcall_msr(qts, 0x20, 0xc0000080, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    /* x2APIC registers the CPU virtualizes are not the VMM's: EOI, ISR */
    g_assert_cmphex(vmcall_msr(qts, 0x20, 0x80b, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(vmcall_msr(qts, 0x1f, 0x810, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);

    /* Instruction.HLT answers SUCCESS (only a vCPU actually halts) */
    vmcall_regs(in, 0x0c);
    in[R12] = 0;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[R10], ==, TDVMCALL_SUCCESS);
    qtest_quit(qts);
}

/*
 * HLT with interrupts blocked parks the vCPU: the host hears it at once,
 * with the last VMCALL that failed; the next TDCALL of that vCPU unparks
 * it.
 */
static void test_vcpu_parked(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint64_t in[NR_GPRS], out[NR_GPRS], r11;
    QDict *ev, *failed, *info;

    info = query_tdx_emu(qts);
    g_assert(qlist_empty(qdict_get_qlist(info, "parked-vcpus")));
    g_assert(!qdict_haskey(info, "last-failed-vmcall"));
    qobject_unref(info);

    g_assert_cmphex(vmcall_mmio(qts, 4, 0, 0x1000, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    vmcall_regs(in, 0x0c);
    in[R12] = 1;
    tdcall(qts, 1, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[R10], ==, TDVMCALL_SUCCESS);
    ev = qtest_qmp_eventwait_ref(qts, "TDX_EMU_VCPU_PARKED");
    g_assert_cmpint(qdict_get_int(qdict_get_qdict(ev, "data"), "cpu-index"),
                    ==, 1);
    failed = qdict_get_qdict(qdict_get_qdict(ev, "data"),
                             "last-failed-vmcall");
    g_assert_cmpstr(qdict_get_str(failed, "name"), ==, "#VE.RequestMMIO");
    g_assert_cmphex(qdict_get_int(failed, "subfunction"), ==, 0x30);
    g_assert_cmphex(qnum_get_uint(qobject_to(QNum, qdict_get(failed,
                                                             "status"))),
                    ==, TDVMCALL_INVALID_OPERAND);
    g_assert_cmpint(qdict_get_int(failed, "cpu-index"), ==, 0);
    qobject_unref(ev);

    info = query_tdx_emu(qts);
    g_assert_cmpint(qlist_size(qdict_get_qlist(info, "parked-vcpus")), ==, 1);
    qobject_unref(info);
    /* HLT with interrupts enabled does not park; any TDCALL unparks */
    in[R12] = 0;
    tdcall(qts, 1, in, out, VMCALL_OUTPUTS);
    info = query_tdx_emu(qts);
    g_assert(qlist_empty(qdict_get_qlist(info, "parked-vcpus")));
    qobject_unref(info);
    qtest_quit(qts);
}

/* CPUID as a TD sees it: the hypervisor bit, level 0x21, "IntelTDX    " */
static void test_cpuid_tdx_leaf(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint64_t in[NR_GPRS], out[NR_GPRS];

    vmcall_regs(in, 0x0a);
    in[R12] = 0;
    in[R13] = 0;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[R12], >=, 0x21);
    in[R12] = 1;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[R14] & (1u << 31), !=, 0);
    in[R12] = 0x21;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[R10], ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(out[R12], ==, 0);
    g_assert_cmphex(out[R13], ==, 0x65746e49);      /* "Inte" */
    g_assert_cmphex(out[R15], ==, 0x5844546c);      /* "lTDX" */
    g_assert_cmphex(out[R14], ==, 0x20202020);      /* "    " */
    in[R13] = 1;                                    /* subleaf 1: empty */
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[R13] | out[R14] | out[R15], ==, 0);
    qtest_quit(qts);
}

/*
 * The MSRs the VMM serves besides the x2APIC (KVM's set for TDs): the
 * APIC base (a TD cannot move or disable its APIC), PAT (valid types
 * only), MTRRs, MCG_CTL (all 0s or all 1s); others are refused.
 */
static void test_vmcall_msrs(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint64_t r11, base;

    g_assert_cmphex(vmcall_msr(qts, 0x1f, 0x1b, 0, &base), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(base & 0xfffff000, ==, 0xfee00000);
    g_assert_cmphex(base & 0xc00, ==, 0xc00);       /* enabled, x2APIC */
    g_assert_cmphex(vmcall_msr(qts, 0x20, 0x1b, base, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(vmcall_msr(qts, 0x20, 0x1b, base & ~0x400ULL, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);

    g_assert_cmphex(vmcall_msr(qts, 0x1f, 0x277, 0, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(r11, ==, 0x0007040600070406ULL);
    g_assert_cmphex(vmcall_msr(qts, 0x20, 0x277, 0x0000000000000002ULL,
                               &r11), ==, TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(vmcall_msr(qts, 0x20, 0x277, 0x0606060606060606ULL,
                               &r11), ==, TDVMCALL_SUCCESS);
    g_assert_cmphex(vmcall_msr(qts, 0x1f, 0x277, 0, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(r11, ==, 0x0606060606060606ULL);

    g_assert_cmphex(vmcall_msr(qts, 0x1f, 0xfe, 0, &r11), ==,
                    TDVMCALL_SUCCESS);                  /* MTRRcap */
    g_assert_cmphex(r11 & 0xff, ==, 8);                 /* 8 variable */
    g_assert_cmphex(vmcall_msr(qts, 0x20, 0x2ff, 0xc06, &r11), ==,
                    TDVMCALL_SUCCESS);                  /* MTRRdefType */
    g_assert_cmphex(vmcall_msr(qts, 0x1f, 0x2ff, 0, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(r11, ==, 0xc06);
    g_assert_cmphex(vmcall_msr(qts, 0x1f, 0x210, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);          /* no MTRR there */
    g_assert_cmphex(vmcall_msr(qts, 0x20, 0x17b, 5, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);          /* MCG_CTL */
    g_assert_cmphex(vmcall_msr(qts, 0x20, 0xfe, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);          /* read-only */
    qtest_quit(qts);
}

static void test_report_fatal_error(void)
{
    QTestState *qts = mailbox_init(" -action panic=pause");
    uint64_t in[NR_GPRS], out[NR_GPRS];
    QDict *info, *fatal;

    vmcall_regs(in, 0x10003);
    in[RCX] = 0xffcc;           /* R10-R15, RDX, RBX, RSI, RDI, R8, R9 */
    in[R12] = 0x1234;
    in[R14] = ldq_le_p("fatal: b");
    in[R15] = ldq_le_p("oom\0\0\0\0\0");
    tdcall(qts, 0, in, out, OUT(RAX) | OUT(RDX) | OUT(RBX) | OUT(RSI) |
           OUT(RDI) | OUT(R8) | OUT(R9) | VMCALL_OUTPUTS);
    g_assert_cmphex(out[R10], ==, TDVMCALL_SUCCESS);
    qtest_qmp_eventwait(qts, "GUEST_PANICKED");

    info = query_tdx_emu(qts);
    fatal = qdict_get_qdict(info, "fatal-error");
    g_assert(fatal);
    g_assert_cmphex(qdict_get_int(fatal, "code"), ==, 0x1234);
    g_assert_cmpstr(qdict_get_str(fatal, "message"), ==, "fatal: boom");
    qobject_unref(info);
    qtest_quit(qts);
}

/*
 * A message by GPA (R12 bit 63, R13 = GPA): read from RAM only, never a
 * device, and shown with non-printable bytes escaped
 */
static char *fatal_message_at(uint64_t gpa, const char *contents)
{
    QTestState *qts = mailbox_init(" -action panic=pause");
    uint64_t in[NR_GPRS], out[NR_GPRS];
    QDict *info;
    char *message;

    qtest_memwrite(qts, 0x10000, contents, strlen(contents) + 1);
    vmcall_regs(in, 0x10003);
    in[R12] = 0x8000000000000000ULL | 0x77;
    in[R13] = gpa;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[R10], ==, TDVMCALL_SUCCESS);
    qtest_qmp_eventwait(qts, "GUEST_PANICKED");
    info = query_tdx_emu(qts);
    message = g_strdup(qdict_get_str(qdict_get_qdict(info, "fatal-error"),
                                     "message"));
    qobject_unref(info);
    qtest_quit(qts);
    return message;
}

static void test_report_fatal_error_gpa(void)
{
    g_autofree char *shared = fatal_message_at(0x10000 | SHARED_BIT_48,
                                               "panic\x1b[2J\x01!");
    g_autofree char *device = fatal_message_at(IOAPIC_GPA, "unused");
    g_autofree char *misaligned = fatal_message_at(0x10008, "unused");

    g_assert_cmpstr(shared, ==, "panic\\x1b[2J\\x01!");
    g_assert_cmpstr(device, ==, "(message GPA is not a page of RAM)");
    g_assert_cmpstr(misaligned, ==, "(message GPA is not a page of RAM)");
}

/* Instruction.CPUID of @leaf: EAX..EDX in @r */
static void vmcall_cpuid(QTestState *qts, uint32_t leaf, uint64_t *r)
{
    uint64_t in[NR_GPRS], out[NR_GPRS];

    vmcall_regs(in, 0x0a);
    in[R12] = leaf;
    in[R13] = 0;
    tdcall(qts, 0, in, out, VMCALL_OUTPUTS);
    g_assert_cmphex(out[R10], ==, TDVMCALL_SUCCESS);
    memcpy(r, &out[R12], 4 * sizeof(*r));
}

#define HV_CRASH_P0     0x40000100
#define HV_CRASH_P3     0x40000103
#define HV_CRASH_P4     0x40000104
#define HV_CRASH_CTL    0x40000105

/*
 * Without crash-msrs the hypervisor leaves are KVM's ("KVMKVMKVM", max
 * 0x40000001, which MigTD's driver/crash.rs reads as no crash MSRs) and
 * the MSRs are refused
 */
static void test_crash_msrs_off(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint64_t r[4], r11;

    vmcall_cpuid(qts, 0x40000000, r);
    g_assert_cmphex(r[0], ==, 0x40000001);
    g_assert_cmphex(r[1], ==, 0x4b4d564b);          /* "KVMK" */
    vmcall_cpuid(qts, 0x40000001, r);
    g_assert_cmphex(r[0], ==, 0);                   /* no PV features */
    g_assert_cmphex(vmcall_msr(qts, 0x20, HV_CRASH_P0, 1, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    g_assert_cmphex(vmcall_msr(qts, 0x1f, HV_CRASH_CTL, 0, &r11), ==,
                    TDVMCALL_INVALID_OPERAND);
    qtest_quit(qts);
}

/*
 * crash-msrs=on: MigTD's probe finds them; its panic (P0, P3 = GPA and P4
 * = length of the text, CTL = notify | message as crash.rs writes them)
 * is GUEST_PANICKED with P0..P4 and query-tdx-emu's crash
 */
static QDict *crash_after(const char *text, uint64_t gpa, uint64_t len,
                          uint64_t ctl)
{
    QTestState *qts = mailbox_init(",crash-msrs=on -action panic=pause");
    uint64_t r11;
    QDict *ev, *info, *crash;

    qtest_memwrite(qts, 0x20000, text, strlen(text));
    g_assert_cmphex(vmcall_msr(qts, 0x20, HV_CRASH_P0, 0xdead, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(vmcall_msr(qts, 0x20, HV_CRASH_P3, gpa, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(vmcall_msr(qts, 0x20, HV_CRASH_P4, len, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(vmcall_msr(qts, 0x1f, HV_CRASH_P3, 0, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(r11, ==, gpa);
    info = query_tdx_emu(qts);
    g_assert(!qdict_haskey(info, "crash"));
    qobject_unref(info);
    g_assert_cmphex(vmcall_msr(qts, 0x20, HV_CRASH_CTL, ctl, &r11), ==,
                    TDVMCALL_SUCCESS);
    ev = qtest_qmp_eventwait_ref(qts, "GUEST_PANICKED");
    info = qdict_get_qdict(qdict_get_qdict(ev, "data"), "info");
    g_assert_cmpstr(qdict_get_str(info, "type"), ==, "hyper-v");
    g_assert_cmphex(qdict_get_int(info, "arg1"), ==, 0xdead);
    g_assert_cmphex(qdict_get_int(info, "arg4"), ==, gpa);
    g_assert_cmphex(qdict_get_int(info, "arg5"), ==, len);
    qobject_unref(ev);
    /* A second crash updates query-tdx-emu only: no second event */
    g_assert_cmphex(vmcall_msr(qts, 0x20, HV_CRASH_CTL, ctl, &r11), ==,
                    TDVMCALL_SUCCESS);
    info = query_tdx_emu(qts);          /* any event comes before it */
    g_assert(!qtest_qmp_event_ref(qts, "GUEST_PANICKED"));
    crash = qdict_get_qdict(info, "crash");
    g_assert(crash);
    qobject_ref(crash);
    qobject_unref(info);
    qtest_system_reset(qts);    /* a new TD has no crash */
    info = query_tdx_emu(qts);
    g_assert(!qdict_haskey(info, "crash"));
    qobject_unref(info);
    qtest_quit(qts);
    return crash;
}

static void test_crash_msrs(void)
{
    QTestState *qts = mailbox_init(",crash-msrs=on");
    uint64_t r[4], r11;
    QDict *crash;

    vmcall_cpuid(qts, 0x40000000, r);
    g_assert_cmphex(r[0], >, 0x40000003);
    g_assert_cmphex(r[1], ==, 0x7263694d);          /* "Micr" */
    vmcall_cpuid(qts, 0x40000003, r);
    g_assert_cmphex(r[3] & (1 << 10), !=, 0);       /* crash MSRs */
    g_assert_cmphex(vmcall_msr(qts, 0x1f, HV_CRASH_CTL, 0, &r11), ==,
                    TDVMCALL_SUCCESS);
    g_assert_cmphex(r11, ==, 0xc000000000000000ULL);  /* notify, message */
    g_assert_cmphex(vmcall_msr(qts, 0x20, HV_CRASH_CTL, 0, &r11), ==,
                    TDVMCALL_SUCCESS);              /* no notify: nothing */
    qtest_quit(qts);

    crash = crash_after("migtd: panic\n", 0x20000 | SHARED_BIT_48, 13, 3);
    g_assert_cmpstr(qdict_get_str(crash, "message"), ==, "migtd: panic\\x0a");
    g_assert_cmphex(qlist_size(qdict_get_qlist(crash, "parameters")), ==, 5);
    qobject_unref(crash);
    /* the TLFS bits; a message GPA outside RAM; notify alone */
    crash = crash_after("x", 0xfec00000, 1, 0xc000000000000000ULL);
    g_assert_cmpstr(qdict_get_str(crash, "message"), ==,
                    "(message GPA is not RAM)");
    qobject_unref(crash);
    crash = crash_after("x", 0x20000, 1, 1);
    g_assert(!qdict_haskey(crash, "message"));
    qobject_unref(crash);
}

static void test_mailbox_bad_vcpu(void)
{
    QTestState *qts = mailbox_init(NULL);
    uint64_t in[NR_GPRS] = { [RAX] = 1 }, out[NR_GPRS];

    set_regs(qts, in);
    qtest_writeq(qts, MAILBOX_GPA + MAILBOX_DOORBELL, 2);
    qtest_writeq(qts, MAILBOX_GPA + MAILBOX_DOORBELL, UINT64_MAX);
    get_regs(qts, out);
    g_assert_cmpmem(in, sizeof(in), out, sizeof(out));
    g_assert_cmpuint(tdcall_count(qts), ==, 0);
    qtest_quit(qts);
}

/* ------------------------------------------------------------------ */
/* Realize checks: QEMU must refuse to start, with a helpful message  */

static void expect_refusal(const char *args, const char *const *needles)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    g_autofree char *cmd = NULL;
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autoptr(GError) error = NULL;
    int status;

    g_assert(qemu);
    cmd = g_strdup_printf("%s -machine q35 -accel qtest -nodefaults "
                          "-display none -S %s", qemu, args);
    g_assert(g_spawn_command_line_sync(cmd, &out, &err, &status, &error));
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    for (; *needles; needles++) {
        if (!strstr(err, *needles)) {
            g_test_message("'%s' printed: %s", cmd, err);
        }
        g_assert_nonnull(strstr(err, *needles));
    }
}

static void test_realize_phys_bits(void)
{
    static const char *const needles[] = {
        "phys-bits=40", "-cpu max,phys-bits=48", NULL
    };
    static const char *const needles52[] = {
        "gpaw=52", "-cpu max,phys-bits=52", NULL
    };
    QTestState *qts;

    expect_refusal("-cpu max -device tdx-emu", needles);
    expect_refusal("-cpu max,phys-bits=48 -device tdx-emu,gpaw=52",
                   needles52);

    /* With enough physical address bits it starts */
    qts = qtest_init("-machine q35 -cpu max,phys-bits=48 -nodefaults "
                     "-device tdx-emu");
    qtest_quit(qts);
}

static void test_realize_errors(void)
{
    static const char *const gpaw[] = { "gpaw=50", "48 or 52", NULL };
    static const char *const two[] = { "at most one tdx-emu", NULL };
    static const char *const lm[] = { "long mode", NULL };
    static const char *const mailbox[] = { "page-aligned", NULL };
    static const char *const versions[] = { "min > max", NULL };

    expect_refusal("-cpu max,phys-bits=52 -device tdx-emu,gpaw=50", gpaw);
    expect_refusal("-cpu max,phys-bits=48 -device tdx-emu -device tdx-emu",
                   two);
    expect_refusal("-cpu qemu32 -device tdx-emu", lm);
    expect_refusal("-cpu max,phys-bits=48 -device tdx-emu,mailbox=0x1234",
                   mailbox);
    expect_refusal("-cpu max,phys-bits=48 -device tdx-emu,"
                   "min-import-version=2,max-import-version=1", versions);
}

/* ------------------------------------------------------------------ */
/* TDVF images: a bad section is refused, naming it                   */

/* The guest stub's image (./tdx-emu test passes it); NULL: skipped */
static const char *guest_image(void)
{
    const char *image = g_getenv("TDX_EMU_GUEST_IMAGE");

    if (!image) {
        g_test_skip("TDX_EMU_GUEST_IMAGE is not set (./tdx-emu test sets it)");
    }
    return image;
}

/* Write the low @size bytes of @value at @p, little-endian */
static void store_le(char *p, int size, uint64_t value)
{
    int i;

    for (i = 0; i < size; i++) {
        p[i] = value >> (8 * i);
    }
}

typedef struct TdvfCorruption {
    const char *what;
    int section;            /* -1: the descriptor */
    int offset;             /* of the field in the section / descriptor */
    int size;               /* 4 or 8 */
    uint64_t value;
    const char *needle;
} TdvfCorruption;

/* Field offsets in a TDVF_SECTION */
enum { SEC_DATA_OFFSET = 0, SEC_RAW = 4, SEC_ADDRESS = 8, SEC_SIZE = 16,
       SEC_TYPE = 24, SEC_ATTR = 28 };

/* The guest image's sections: BFV, TdInfo, Payload, CFV, TempMem, PermMem */
static const TdvfCorruption tdvf_corruptions[] = {
    { "BFV without MR.EXTEND", 0, SEC_ATTR, 4, 0,
      "TDVF section 0 (BFV, type 0) at 0xfffff000 must have exactly the "
      "MR.EXTEND attribute" },
    { "TdInfo placed in memory", 1, SEC_ADDRESS, 8, 0x1000,
      "section 1 (TdInfo" },
    { "misaligned Payload", 2, SEC_ADDRESS, 8, 0xfffd0800,
      "section 2 (Payload, type 5) at 0xfffd0800 is not 4 KiB aligned" },
    { "CFV data past the image", 3, SEC_DATA_OFFSET, 4, 0x3ffff00,
      "section 3 (CFV" },
    { "TempMem with data", 4, SEC_RAW, 4, 0x1000,
      "section 4 (TempMem, type 3) at 0xfffc0000 must have no data" },
    { "PermMem beyond RAM", 5, SEC_SIZE, 8, 0x40000000,
      "section 5 (PermMem, type 4) at 0x0 lies outside" },
    { "unknown section type", 3, SEC_TYPE, 4, 9, "has an unknown type" },
    { "TdInfo data outside the BFV", 1, SEC_DATA_OFFSET, 4, 0x10000,
      "section 1 (TdInfo, type 7) at 0x0 has data outside every BFV" },
    { "TdInfo with an attribute", 1, SEC_ATTR, 4, 1,
      "section 1 (TdInfo, type 7) at 0x0 must have no attributes" },
    { "TdInfo without data", 1, SEC_RAW, 4, 0,
      "section 1 (TdInfo, type 7) at 0x0 has no data" },
    { "TempMem over the TD_HOB", 4, SEC_SIZE, 8, 0xf000,
      "section 6 (TD_HOB, type 2) at 0xfffce000 overlaps another section's "
      "memory" },
    { "descriptor version 2", -1, 8, 4, 2, "bad TDVF descriptor" },
};

static void test_tdvf_bad_images(void)
{
    const char *image = guest_image();
    g_autofree char *orig = NULL;
    gsize size;
    size_t i;

    if (!image) {
        return;
    }
    g_assert(g_file_get_contents(image, &orig, &size, NULL));
    for (i = 0; i < ARRAY_SIZE(tdvf_corruptions); i++) {
        const TdvfCorruption *c = &tdvf_corruptions[i];
        const char *const needles[] = { c->needle, NULL };
        g_autofree char *bad = g_memdup2(orig, size);
        g_autofree char *path = NULL;
        g_autofree char *args = NULL;
        uint32_t desc = ldl_le_p(bad + size - 0x20);
        char *field = bad + desc + c->offset +
                      (c->section < 0 ? 0 : 16 + 32 * c->section);
        int fd = g_file_open_tmp("tdx-emu-tdvf-XXXXXX", &path, NULL);

        g_test_message("%s", c->what);
        g_assert(fd >= 0);
        close(fd);
        store_le(field, c->size, c->value);
        g_assert(g_file_set_contents(path, bad, size, NULL));
        args = g_strdup_printf("-cpu max,phys-bits=48 -m 64M -bios %s "
                               "-device tdx-emu", path);
        expect_refusal(args, needles);
        unlink(path);
    }
}

/* The stub in layout @variant (guest/meson.build), next to the image */
static char *layout_image(const char *image, const char *variant)
{
    g_autofree char *base = g_strndup(image, strlen(image) - strlen(".bin"));

    return g_strdup_printf("%s-%s.bin", base, variant);
}

/* How many firmware sections of type @type, and their total size */
static int sections_of_type(QDict *info, int64_t type, uint64_t *size)
{
    QListEntry *e;
    int n = 0;

    *size = 0;
    QLIST_FOREACH_ENTRY(qdict_get_qlist(info, "firmware-sections"), e) {
        QDict *sec = qobject_to(QDict, qlist_entry_obj(e));

        if (qdict_get_int(sec, "type") == type) {
            n++;
            *size += qdict_get_int(sec, "size");
        }
    }
    return n;
}

/*
 * The stub's layouts: a TdParams section (no memory) whose TD_PARAMS asks
 * for GPAW 52, refused at gpaw=48; a TempMem in RAM with PermMem split
 * around it (MigTD #894), added (accepted) at reset
 */
static void test_tdvf_layouts(void)
{
    static const char *const gpaw[] = {
        "TD_PARAMS (TdParams section) asks for GPAW 52, the device has "
        "gpaw=48", "-device tdx-emu,gpaw=52", NULL
    };
    const char *image = guest_image();
    g_autofree char *gpaw52 = NULL;
    g_autofree char *tempmem = NULL;
    g_autofree char *args = NULL;
    QTestState *qts;
    QDict *info;
    uint64_t size;

    if (!image) {
        return;
    }
    gpaw52 = layout_image(image, "gpaw52");
    tempmem = layout_image(image, "tempmem-ram");
    args = g_strdup_printf("-cpu max,phys-bits=52 -m 64M -bios %s "
                           "-device tdx-emu", gpaw52);
    expect_refusal(args, gpaw);

    qts = qtest_initf("-machine q35 -cpu max,phys-bits=52 -m 64M "
                      "-nodefaults -bios %s -device tdx-emu,gpaw=52", gpaw52);
    info = query_tdx_emu(qts);
    g_assert_cmpint(sections_of_type(info, 8, &size), ==, 1);    /* TdParams */
    g_assert_cmpuint(size, ==, 0);
    g_assert_cmpint(qdict_get_int(info, "gpaw"), ==, 52);
    qobject_unref(info);
    qtest_quit(qts);

    qts = qtest_initf("-machine q35 -cpu max,phys-bits=48 -m 64M "
                      "-nodefaults -bios %s -device tdx-emu", tempmem);
    info = query_tdx_emu(qts);
    g_assert_cmpint(sections_of_type(info, 3, &size), ==, 2);    /* TempMem */
    g_assert_cmpint(sections_of_type(info, 4, &size), ==, 2);    /* PermMem */
    g_assert_cmphex(size, ==, 0x2000000 - 0x21000);
    /* Added at reset, of RAM: the TempMem there (PermMem is AUGed) */
    g_assert_cmpuint(qdict_get_int(info, "accepted-pages"), ==,
                     0x21000 / 4096);
    qobject_unref(info);
    qtest_quit(qts);
}

/*
 * No OVMF table and td-shim's metadata pointer (image end - 0x20) near
 * 2^32: not a TDVF image, and nothing is read past the image's end.
 */
static void test_tdvf_pointer_wrap(void)
{
    const char *image = guest_image();
    g_autofree char *bad = NULL;
    g_autofree char *path = NULL;
    QTestState *qts;
    QDict *info;
    gsize size;
    int fd;

    if (!image) {
        return;
    }
    g_assert(g_file_get_contents(image, &bad, &size, NULL));
    bad[size - 0x30] ^= 0xff;               /* the OVMF table footer GUID */
    store_le(bad + size - 0x20, 4, 0xfffffff0);
    fd = g_file_open_tmp("tdx-emu-tdvf-XXXXXX", &path, NULL);
    g_assert(fd >= 0);
    close(fd);
    g_assert(g_file_set_contents(path, bad, size, NULL));
    qts = qtest_initf("-machine q35 -cpu max,phys-bits=48 -m 64M "
                      "-nodefaults -bios %s -device tdx-emu", path);
    info = query_tdx_emu(qts);
    g_assert(qlist_empty(qdict_get_qlist(info, "firmware-sections")));
    qobject_unref(info);
    qtest_quit(qts);
    unlink(path);
}

/* ------------------------------------------------------------------ */
/* The payload ELF in the Payload section: found, or ignored if bad   */

/* guest/boot.ld: the Payload FV at 0xfffd0000; the ELF in it (mkfv.py) */
#define STUB_PAYLOAD_OFFSET (0x10000 + 0x64)
#define STUB_PHDR           0x40        /* its first program header */

typedef struct ElfCorruption {
    const char *what;
    int offset;             /* from the ELF's start */
    int size;               /* 1, 2 or 8 */
    uint64_t value;
} ElfCorruption;

static const ElfCorruption elf_corruptions[] = {
    { "ELFCLASS32", 4, 1, 1 },
    { "e_machine EM_386", 0x12, 2, 3 },
    { "e_phoff past the section", 0x20, 8, 0xffffffffffffff00ULL },
    { "e_phnum 0xffff", 0x38, 2, 0xffff },
    { "PT_LOAD p_offset past the section", STUB_PHDR + 8, 8,
      0x7fffffffffffffffULL },
    { "PT_LOAD p_filesz past the section", STUB_PHDR + 32, 8, 0x100000 },
    { "PT_LOAD p_memsz < p_filesz", STUB_PHDR + 40, 8, 1 },
    { "PT_LOAD p_vaddr + p_memsz wraps", STUB_PHDR + 16, 8,
      0xfffffffffffff000ULL },
    { "PT_LOAD span rounds up past 2^64", STUB_PHDR + 40, 8,
      0xfffffffffffff800ULL },
};

/* query-tdx-emu's "payload" for -bios @path, under qtest (no TD runs) */
static QDict *payload_of_image(const char *path)
{
    QTestState *qts = qtest_initf("-machine q35 -cpu max,phys-bits=48 "
                                  "-m 64M -nodefaults -bios %s "
                                  "-device tdx-emu", path);
    QDict *info = query_tdx_emu(qts);
    QDict *payload = qdict_get_qdict(info, "payload");

    qobject_ref(payload);
    qobject_unref(info);
    qtest_quit(qts);
    return payload;
}

static void test_payload_elf(void)
{
    const char *image = guest_image();
    g_autofree char *orig = NULL;
    g_autofree char *path = NULL;
    QDict *payload;
    gsize size;
    size_t i;
    int fd;

    if (!image) {
        return;
    }
    g_assert(g_file_get_contents(image, &orig, &size, NULL));
    fd = g_file_open_tmp("tdx-emu-payload-XXXXXX", &path, NULL);
    g_assert(fd >= 0);
    close(fd);

    /* The stub's: known, not yet loaded */
    payload = payload_of_image(image);
    g_assert_nonnull(payload);
    g_assert_cmphex(qdict_get_int(payload, "image-offset"), ==,
                    STUB_PAYLOAD_OFFSET);
    g_assert_false(qdict_haskey(payload, "base"));
    g_assert_false(qdict_haskey(payload, "rip"));
    qobject_unref(payload);

    for (i = 0; i < ARRAY_SIZE(elf_corruptions); i++) {
        const ElfCorruption *c = &elf_corruptions[i];
        g_autofree char *bad = g_memdup2(orig, size);
        char *field = bad + STUB_PAYLOAD_OFFSET + c->offset;

        g_test_message("%s", c->what);
        store_le(field, c->size, c->value);
        g_assert(g_file_set_contents(path, bad, size, NULL));
        g_assert_null(payload_of_image(path));
    }
    unlink(path);
}

/* ------------------------------------------------------------------ */
/* TDCALL catchpoints: only with the gdbstub, checked, listed         */

static void test_catch_qmp(void)
{
    QTestState *qts = mailbox_init(NULL);
    QDict *info, *catch;
    QList *leaves, *vmcalls;

    /* Without a gdbstub nothing would report the stop */
    expect_qmp_error(qts, "{'execute': 'tdx-emu-catch', "
                     "'arguments': {'leaves': [4]}}");
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-catch'}");
    qtest_quit(qts);

    /* The gdbstub needs TCG; -S: nothing runs */
    qts = mailbox_init(" -S -accel tcg -gdb tcp:127.0.0.1:0");
    expect_qmp_error(qts, "{'execute': 'tdx-emu-catch', "
                     "'arguments': {'leaves': [64]}}");
    expect_qmp_error(qts, "{'execute': 'tdx-emu-catch', 'arguments': "
                     "{'vmcalls': [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, "
                     "13, 14, 15, 16, 17]}}");
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-catch', "
                             "'arguments': {'leaves': [4, 0, 63], "
                             "'vmcalls': [65538]}}");
    info = query_tdx_emu(qts);
    catch = qdict_get_qdict(info, "catchpoints");
    leaves = qdict_get_qlist(catch, "leaves");
    vmcalls = qdict_get_qlist(catch, "vmcalls");
    g_assert_cmpuint(qlist_size(leaves), ==, 3);
    g_assert_cmpuint(qnum_get_uint(qobject_to(QNum, qlist_peek(leaves))),
                     ==, 0);
    g_assert_cmpuint(qlist_size(vmcalls), ==, 1);
    g_assert_cmpuint(qnum_get_uint(qobject_to(QNum, qlist_peek(vmcalls))),
                     ==, 0x10002);
    qobject_unref(info);

    /* A refused set leaves the old one; no arguments clear it */
    expect_qmp_error(qts, "{'execute': 'tdx-emu-catch', "
                     "'arguments': {'leaves': [1, 99]}}");
    info = query_tdx_emu(qts);
    catch = qdict_get_qdict(info, "catchpoints");
    g_assert_cmpuint(qlist_size(qdict_get_qlist(catch, "leaves")), ==, 3);
    qobject_unref(info);
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-catch'}");
    info = query_tdx_emu(qts);
    catch = qdict_get_qdict(info, "catchpoints");
    g_assert_cmpuint(qlist_size(qdict_get_qlist(catch, "leaves")), ==, 0);
    g_assert_cmpuint(qlist_size(qdict_get_qlist(catch, "vmcalls")), ==, 0);
    qobject_unref(info);
    qtest_quit(qts);
}

/* ------------------------------------------------------------------ */
/* The guest image, executing TDCALL itself under TCG                 */

/* Boot the guest under TCG and wait for it to finish its checks */
static QTestState *guest_run(const char *image, const char *device,
                             const char *serial_log, GuestResult *res)
{
    QTestState *qts = qtest_initf("-accel tcg -machine q35 "
                                  "-cpu max,phys-bits=48 -m 64M -nodefaults "
                                  "-global apic-common.vapic=off "
                                  "-serial file:%s -bios %s %s",
                                  serial_log, image, device);
    gint64 deadline = g_get_monotonic_time() + 60 * G_TIME_SPAN_SECOND;
    bool notified = false;

    do {
        g_usleep(10 * 1000);
        qtest_memread(qts, GUEST_RESULT_GPA, res, sizeof(*res));
        /* The guest halts waiting for an event only if it has a mailbox */
        if (res->event_wait && !notified) {
            qtest_writeq(qts, MAILBOX_GPA + MAILBOX_NOTIFY, 1);
            notified = true;
        }
    } while ((res->magic != GUEST_RESULT_MAGIC ||
              res->state == GUEST_STATE_RUNNING) &&
             g_get_monotonic_time() < deadline);
    g_assert_cmphex(res->magic, ==, GUEST_RESULT_MAGIC);
    return qts;
}

/* A fresh file for the guest's serial console */
static char *serial_log_path(void)
{
    char *path = NULL;
    int fd = g_file_open_tmp("tdx-emu-serial-XXXXXX", &path, NULL);

    g_assert(fd >= 0);
    close(fd);
    return path;
}

static char *read_log(const char *path)
{
    char *text = NULL;

    g_assert(g_file_get_contents(path, &text, NULL, NULL));
    return text;
}

static void test_guest_tdcall(void)
{
    const char *image = guest_image();
    g_autofree char *dev = NULL;
    g_autofree char *log_path = NULL;
    g_autofree char *log = NULL;
    GuestResult res;
    QTestState *qts;
    QDict *info, *wfr;
    gint64 deadline;

    if (!image) {
        return;
    }
    log_path = serial_log_path();
    dev = g_strdup_printf("-device tdx-emu,mailbox=0x%llx", MAILBOX_GPA);
    qts = guest_run(image, dev, log_path, &res);
    deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;

    g_assert_cmpuint(res.state, ==, GUEST_STATE_PASS);
    g_assert_cmpuint(res.failed, ==, 0);
    g_assert_cmpuint(res.passed, >=, 40);
    /* The host raised the event once; the guest's handler took it once */
    g_assert_cmpuint(res.events, ==, 1);
    /*
     * Every TDCALL the guest made reached the device, and nothing else.
     * The guest counts its idle TDVMCALL<HLT> just before making it.
     */
    while (tdcall_count(qts) != res.tdcalls &&
           g_get_monotonic_time() < deadline) {
        g_usleep(10 * 1000);
        qtest_memread(qts, GUEST_RESULT_GPA, &res, sizeof(res));
    }
    g_assert_cmpuint(tdcall_count(qts), ==, res.tdcalls);

    /* It ends like MigTD's boot: a WaitForRequest buffer is held */
    info = query_tdx_emu(qts);
    wfr = qdict_get_qdict(info, "wait-for-request");
    g_assert(wfr);
    g_assert_cmphex(qdict_get_int(wfr, "length"), ==, 0x7000);
    g_assert_cmphex(qdict_get_int(wfr, "vector"), ==, 0x50);
    g_assert_cmpuint(qdict_get_int(info, "wait-for-request-count"), ==, 1);
    qobject_unref(info);
    qtest_quit(qts);

    /* What it printed went through TDG.VP.VMCALL<Instruction.IO> */
    log = read_log(log_path);
    g_assert_nonnull(strstr(log, "tdx-emu guest: long mode"));
    g_assert_nonnull(strstr(log, "RESULT: PASS"));
    unlink(log_path);
}

/*
 * Four vCPUs: the APs park on td-shim's mailbox (boot.S), the BSP has
 * each arrive and check in, then moves them to the relocated AP loop
 * (smp.c, ap-loop.S), and the stub's checks all pass; as a MigTD it then
 * has a log page per vCPU
 */
static void test_guest_smp(void)
{
    const char *image = guest_image();
    g_autofree char *log_path = NULL;
    g_autofree char *log = NULL;
    GuestResult res;
    QTestState *qts;
    QDict *rsp;

    if (!image) {
        return;
    }
    log_path = serial_log_path();
    qts = guest_run(image, "-smp 4 -device tdx-emu", log_path, &res);
    g_assert_cmpuint(res.state, ==, GUEST_STATE_PASS);
    g_assert_cmpuint(res.failed, ==, 0);
    /* Then a MigTD: EnableLogArea names a log page for each vCPU */
    qtest_qmp_assert_success(qts, "{'execute': 'tdx-emu-request', "
        "'arguments': {'type': 'enable-log-area', 'request-id': 1, "
        "'log-level': 3}}");
    qobject_unref(qtest_qmp_eventwait_ref(qts, "TDX_EMU_REQUEST_COMPLETE"));
    rsp = qtest_qmp(qts, "{'execute': 'query-tdx-emu-log-area'}");
    g_assert_cmpuint(qlist_size(qdict_get_qlist(qdict_get_qdict(rsp,
                     "return"), "pages")), ==, 4);
    qobject_unref(rsp);
    qtest_quit(qts);
    log = read_log(log_path);
    g_assert_nonnull(strstr(log, "  AP 3 checked in: x2APIC ID 3"));
    g_assert_nonnull(strstr(log, "3 of 3 APs arrived at the mailbox, 3 "
                            "checked in, 3 in the relocated AP loop"));
    g_assert_nonnull(strstr(log, "ok - every AP arrives at td-shim's "
                            "mailbox, checks in and moves to the "
                            "relocated AP loop"));
    unlink(log_path);
}

static void test_guest_no_device_ud(void)
{
    const char *image = guest_image();
    g_autofree char *log_path = NULL;
    g_autofree char *log = NULL;
    GuestResult res;
    QTestState *qts;

    if (!image) {
        return;
    }
    log_path = serial_log_path();
    qts = guest_run(image, "", log_path, &res);
    g_assert_cmpuint(res.state, ==, GUEST_STATE_NO_TDCALL);
    g_assert_cmpuint(res.tdcalls, ==, 0);
    qtest_quit(qts);

    log = read_log(log_path);
    g_assert_nonnull(strstr(log, "TDCALL raised #UD"));
    unlink(log_path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    if (!qtest_has_device("tdx-emu")) {
        return 0;
    }
    qtest_add_func("/tdx-emu/mailbox/vp-info", test_vp_info);
    qtest_add_func("/tdx-emu/mailbox/vp-info-default-gpaw",
                   test_vp_info_default_gpaw);
    qtest_add_func("/tdx-emu/mailbox/unknown-leaf", test_unknown_leaf);
    qtest_add_func("/tdx-emu/mailbox/vmcall-unknown", test_vmcall_unknown);
    qtest_add_func("/tdx-emu/mailbox/vmcall-gpr-select",
                   test_vmcall_gpr_select);
    qtest_add_func("/tdx-emu/mailbox/get-td-vmcall-info",
                   test_get_td_vmcall_info);
    qtest_add_func("/tdx-emu/mailbox/vmcall-io", test_vmcall_io);
    qtest_add_func("/tdx-emu/mailbox/vmcall-mmio", test_vmcall_mmio);
    qtest_add_func("/tdx-emu/mailbox/pit-floor", test_pit_floor);
    qtest_add_func("/tdx-emu/mailbox/setup-event-notify",
                   test_setup_event_notify);
    qtest_add_func("/tdx-emu/mailbox/vmcall-cpuid-msr", test_vmcall_cpuid_msr);
    qtest_add_func("/tdx-emu/mailbox/vcpu-parked", test_vcpu_parked);
    qtest_add_func("/tdx-emu/mailbox/cpuid-tdx-leaf", test_cpuid_tdx_leaf);
    qtest_add_func("/tdx-emu/mailbox/vmcall-msrs", test_vmcall_msrs);
    qtest_add_func("/tdx-emu/mailbox/report-fatal-error",
                   test_report_fatal_error);
    qtest_add_func("/tdx-emu/mailbox/report-fatal-error-gpa",
                   test_report_fatal_error_gpa);
    qtest_add_func("/tdx-emu/mailbox/crash-msrs-off", test_crash_msrs_off);
    qtest_add_func("/tdx-emu/mailbox/crash-msrs", test_crash_msrs);
    qtest_add_func("/tdx-emu/mailbox/bad-vcpu", test_mailbox_bad_vcpu);
    qtest_add_func("/tdx-emu/realize/phys-bits", test_realize_phys_bits);
    qtest_add_func("/tdx-emu/realize/errors", test_realize_errors);
    qtest_add_func("/tdx-emu/realize/tdvf-bad-images", test_tdvf_bad_images);
    qtest_add_func("/tdx-emu/realize/tdvf-layouts", test_tdvf_layouts);
    qtest_add_func("/tdx-emu/realize/tdvf-pointer-wrap",
                   test_tdvf_pointer_wrap);
    qtest_add_func("/tdx-emu/realize/payload-elf", test_payload_elf);
    qtest_add_func("/tdx-emu/qmp/catch", test_catch_qmp);
    qtest_add_func("/tdx-emu/guest/tdcall", test_guest_tdcall);
    qtest_add_func("/tdx-emu/guest/smp", test_guest_smp);
    qtest_add_func("/tdx-emu/guest/no-device-ud", test_guest_no_device_ud);
    return g_test_run();
}
