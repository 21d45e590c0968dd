/*
 * tdx-emu: a TDX module and TD-aware VMM for TCG guests
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_TDX_EMU_TDX_EMU_H
#define HW_TDX_EMU_TDX_EMU_H

#include "hw/qdev-core.h"
#include "exec/memory.h"
#include "cpu.h"
#include "qom/object.h"
#include "qemu/queue.h"
#include "target/i386/tdcall.h"
#include "hw/tdx-emu/tdx-module/tdvf.h"
#include "hw/tdx-emu/tdx-module/payload.h"
#include "qapi/qapi-types-tdx-emu-target.h"

#define TYPE_TDX_EMU "tdx-emu"
OBJECT_DECLARE_SIMPLE_TYPE(TdxEmuState, TDX_EMU)

/* Number of GPRs a TDCALL sees, in R_EAX..R_R15 order */
#define TDX_EMU_NR_GPRS 16

/* Per-call statistics: TDCALL leaves, then TDG.VP.VMCALL sub-functions */
#define TDX_EMU_NR_LEAF_SLOTS       35      /* leaves 0..33, unknown */
#define TDX_EMU_NR_VMCALL_SLOTS     16      /* table entries, unknown */

/* The mailbox property's value when the mailbox is off */
#define TDX_EMU_MAILBOX_OFF UINT64_MAX

#define TDX_UUID_QWORDS     4       /* a target TD UUID is R10..R13 */
#define TDX_KEY_QWORDS      4       /* a migration key is 256 bits */
#define TDX_HASH_QWORDS     6       /* SHA-384 */
#define TDX_NR_RTMRS        4
#define TDX_SHA384_SIZE     48
#define TDX_TDINFO_SIZE     512     /* TDINFO_STRUCT */

/*
 * A target TD bound to the MigTD (TDX module ABI metadata fields): the TDCS
 * fields a service TD reaches through TDG.SERVTD.RD/WR, plus what the host
 * may observe.
 */
typedef struct TdxEmuTarget {
    TdxEmuState *dev;
    uint64_t handle;
    uint64_t uuid[TDX_UUID_QWORDS];

    uint64_t mig_enc_key[TDX_KEY_QWORDS];
    uint64_t mig_dec_key[TDX_KEY_QWORDS];
    uint16_t mig_version;
    uint64_t servtd_attr;
    uint64_t servtd_info_hash[TDX_HASH_QWORDS];
    uint64_t servtd_init_attr;
    uint64_t servtd_init_info_hash[TDX_HASH_QWORDS];
    uint64_t init_cpusvn[2];
    uint64_t init_tee_tcb_svn[2];
    uint32_t init_tee_model[3];

    uint64_t enc_key_generations;
    uint8_t enc_key_read;           /* bitmap of elements read */
    uint8_t dec_key_written;        /* bitmap of elements written */
    bool mig_version_written;
    bool rebind_approved;
    uint64_t rebind_token[TDX_KEY_QWORDS];
    /* The TDINFO of the MigTD first bound (GHCI 1.5 initMigtdData) */
    bool has_init_tdinfo;
    uint8_t init_tdinfo[TDX_TDINFO_SIZE];

    QTAILQ_ENTRY(TdxEmuTarget) next;
} TdxEmuTarget;

/* TDX module-global metadata read with TDG.SYS.RD (TDX module ABI) */
typedef struct TdxEmuSysFields {
    uint16_t min_export_version;
    uint16_t max_export_version;
    uint16_t min_import_version;
    uint16_t max_import_version;
} TdxEmuSysFields;

/*
 * The TD's own TDCS fields it reads and writes with TDG.VM.RD/WR: the
 * controls Linux sets up (arch/x86/coco/tdx/tdx.c tdx_setup) and those
 * a MigTD writes when rebinding
 */
typedef struct TdxEmuVmFields {
    uint64_t td_ctls;
    uint8_t notify_enables;
    uint64_t accept_servtd_ext_hash[TDX_HASH_QWORDS];
    uint64_t rebind_accept_token[TDX_KEY_QWORDS];
    uint64_t rebind_attr;
} TdxEmuVmFields;

/* What a TDREPORT's TDINFO carries, and the report MAC key (per VM boot) */
typedef struct TdxEmuMeasurements {
    uint8_t mrtd[TDX_SHA384_SIZE];
    uint8_t mrconfigid[TDX_SHA384_SIZE];
    uint8_t mrowner[TDX_SHA384_SIZE];
    uint8_t mrownerconfig[TDX_SHA384_SIZE];
    uint8_t rtmr[TDX_NR_RTMRS][TDX_SHA384_SIZE];
    uint8_t report_mac_key[32];
} TdxEmuMeasurements;

/* Private/shared state of each 4 KiB page of RAM (memory.c) */
typedef struct TdxEmuMemory {
    MemoryRegion shared_alias;
    MemoryRegion legacy_ram;    /* RAM over 0xA0000-0xFFFFF (legacy.c) */
    uint64_t nr_pages;
    unsigned long *accepted;
    unsigned long *shared;
    unsigned long *split_2m;    /* 2 MiB blocks mapped as 4 KiB pages */
    unsigned long *split_1g;    /* 1 GiB blocks mapped as smaller pages */
    uint64_t below_4g_pages;    /* RAM pages below 4 GiB */
} TdxEmuMemory;

/* A vmcall-raw buffer the TD handed over, and where to signal it */
typedef struct TdxEmuRawBuf {
    uint64_t gpa;                   /* without the shared bit */
    uint64_t len;
    uint8_t vector;                 /* below 32: none */
    uint32_t apic_id;
} TdxEmuRawBuf;

/* The newest WaitForRequest buffer the TD handed over (migtd.c) */
typedef struct TdxEmuWfr {
    bool pending;
    TdxEmuRawBuf buf;
    uint64_t count;
} TdxEmuWfr;

/*
 * The response buffer of a Service WaitForRequest (service.c): held
 * (pending) with a vector until a request arrives or the timeout expires;
 * without one, answered at once, and the TD polls again (polling).
 */
typedef struct TdxEmuServiceRsp {
    uint64_t gpa;                   /* without the shared bit */
    uint32_t len;                   /* the buffer's size */
    uint8_t guid[16];               /* the command's */
    uint8_t vector;                 /* 0: none */
    uint32_t apic_id;
} TdxEmuServiceRsp;

typedef struct TdxEmuServiceWfr {
    bool pending;
    bool polling;                   /* the last poll found no request */
    TdxEmuServiceRsp rsp;
    QEMUTimer *timer;               /* R15 != 0 with a vector */
} TdxEmuServiceWfr;

/*
 * A migration stream to the peer MigTD's VMM (stream.c). After its request
 * ends it drains for at most stream-drain-ms (default below) before it
 * drops what the peer did not take and lets the chardev go.
 */
typedef struct TdxEmuStream TdxEmuStream;
typedef struct TdxEmuVsock TdxEmuVsock;     /* vmm/vsock.c */
#define TDX_EMU_STREAM_DRAIN_MS     5000

/* The MigTD's log area as the host reads it (vmm/logarea.c) */
typedef struct TdxEmuLogState TdxEmuLogState;
#define TDX_EMU_LOGAREA_POLL_MS     100

/* A request for the MigTD (request.c) */
#define TDX_EMU_REQ_PAYLOAD_MAX     568
/* How many elements a QTAILQ holds */
#define QTAILQ_COUNT(head, field) ({                    \
    unsigned count_ = 0;                                \
    typeof(QTAILQ_FIRST(head)) elm_;                    \
                                                        \
    QTAILQ_FOREACH(elm_, head, field) {                 \
        count_++;                                       \
    }                                                   \
    count_;                                             \
})

/* What the host may queue through QMP (docs/security.md) */
#define TDX_EMU_MAX_REQUESTS        1024    /* waiting or running */
#define TDX_EMU_MAX_TARGETS         1024    /* bound target TDs */
#define TDX_EMU_MIG_POLICY_MAX      (32 * 1024)     /* mig-policy, bytes */
/* MigrationResult codes the VMM reports itself (MigTD migration/mod.rs) */
#define TDX_EMU_MIG_VMM_CANCELED        10
#define TDX_EMU_MIG_VMM_INTERNAL        11
#define TDX_EMU_MIG_UNSUPPORTED_OP      12
typedef struct TdxEmuMigReq {
    uint64_t id;
    TdxEmuRequestType type;
    uint8_t operation;
    uint8_t payload[TDX_EMU_REQ_PAYLOAD_MAX];
    uint32_t payload_len;
    bool delivered;
    TdxEmuStream *stream;           /* vmcall-raw migrations only */
    /* The HOBs a non-vmcall-raw MigTD gets with StartMigration (service.c) */
    uint64_t communication_id;
    uint64_t mig_td_cid;
    uint32_t mig_channel_port;
    uint32_t quote_service_port;
    uint64_t mig_policy_id;
    uint8_t *mig_policy;            /* NULL: no MIGPOLICY HOB */
    size_t mig_policy_len;
    QTAILQ_ENTRY(TdxEmuMigReq) next;
} TdxEmuMigReq;

/* The last ReportFatalError */
typedef struct TdxEmuFatal {
    bool reported;
    uint64_t code;
    char *message;
} TdxEmuFatal;

/* The Hyper-V guest crash MSRs P0..P4 and the last crash (vmm/crash.c) */
#define TDX_EMU_CRASH_PARAMS    5
typedef struct TdxEmuCrashState {
    uint64_t params[TDX_EMU_CRASH_PARAMS];
    bool reported;
    char *message;              /* NULL: the TD sent none */
} TdxEmuCrashState;

/* The last TDG.VP.VMCALL that failed, and which vCPUs are parked */
typedef struct TdxEmuFailedCall {
    bool valid;
    int cpu_index;
    const char *name;
    uint64_t subfn;
    uint64_t status;
} TdxEmuFailedCall;

typedef struct TdxEmuLiveness {
    bool *parked;               /* per vCPU: HLT with interrupts blocked */
    TdxEmuFailedCall failed;
} TdxEmuLiveness;

/* SetupEventNotifyInterrupt: where asynchronous completions are signalled */
typedef struct TdxEmuEventNotify {
    uint8_t vector;             /* 0: not registered */
    uint32_t apic_id;
} TdxEmuEventNotify;

/* TDCALL catchpoints (catch.c) */
#define TDX_EMU_CATCH_LEAVES    64
#define TDX_EMU_CATCH_VMCALLS   16

typedef struct TdxEmuCatch {
    bool armed;                 /* any catchpoint set */
    uint64_t leaves;            /* bit n: leaf n */
    uint64_t vmcalls[TDX_EMU_CATCH_VMCALLS];
    unsigned nr_vmcalls;
} TdxEmuCatch;

/* A vCPU's #VE info (tdx-module/ve.c) */
typedef struct TdxEmuVeInfo {
    bool valid;                 /* not yet read with TDG.VP.VEINFO.GET */
    X86TdExit exit;
    uint64_t count;             /* #VEs raised on the vCPU */
} TdxEmuVeInfo;

typedef struct TdxEmuMailbox {
    MemoryRegion mmio;
    uint64_t regs[TDX_EMU_NR_GPRS];
} TdxEmuMailbox;

struct TdxEmuState {
    DeviceState parent_obj;

    /* properties */
    uint32_t gpaw;
    uint64_t attributes;
    uint64_t xfam;
    uint64_t mailbox_gpa;
    bool expose_keys;
    bool crash_msrs;
    bool no_rbp_mod;            /* TD_PARAMS.CONFIG_FLAGS.NO_RBP_MOD */
    bool ve;                    /* exits become #VE, as in a TD */
    uint64_t map_gpa_max;       /* MapGPA bytes per call; 0: all */
    uint32_t stream_drain_ms;
    uint32_t logarea_poll_ms;
    char *mrconfigid_hex;
    char *mrowner_hex;
    char *mrownerconfig_hex;
    TdxEmuSysFields sys;

    /* state */
    uint32_t nr_vcpus;          /* TDG.VP.INFO NUM_VCPUS and MAX_VCPUS */
    uint32_t max_vcpus;
    TdxEmuFirmware fw;
    TdxEmuPayload payload;
    /* X86_TDCALL_CONTINUE, or how the current TDCALL halts the vCPU */
    X86TdcallAction halt;
    /* TDCALLs per vCPU and leaf: a vCPU counts its own, with no lock */
    uint64_t (*leaf_counts)[TDX_EMU_NR_LEAF_SLOTS];
    uint64_t vmcall_counts[TDX_EMU_NR_VMCALL_SLOTS];
    TdxEmuMemory mem;
    TdxEmuVeInfo *ve_info;      /* per vCPU */
    char *killed;               /* why the VMM killed the TD (ve.c) */
    TdxEmuFatal fatal;
    TdxEmuCrashState crash;
    TdxEmuLiveness live;
    TdxEmuWfr wfr;
    TdxEmuServiceWfr svc_wfr;
    TdxEmuServiceWfr svc_recv;      /* a held vmcall-vsock Recv */
    uint64_t svc_recv_id;           /* its request id */
    TdxEmuVsock *vsock;
    struct TdxQuoteBackend *quote;  /* property: a tdx-quote-* object */
    unsigned quotes_in_flight;
    uint64_t quote_generation;      /* bumped at reset */
    QTAILQ_HEAD(, TdxEmuMigReq) requests;
    TdxEmuLogState *log;
    TdxEmuEventNotify event_notify;
    TdxEmuMeasurements mr;
    TdxEmuVmFields vm;
    QTAILQ_HEAD(, TdxEmuTarget) targets;
    TdxEmuMailbox mailbox;
    TdxEmuCatch catch;
};

/* The device, for QMP (NULL when there is none) */
TdxEmuState *tdx_emu_find(void);

/* liveness.c: parked vCPUs and the last failed VMCALL */
void tdx_emu_liveness_realize(TdxEmuState *s);
void tdx_emu_liveness_reset(TdxEmuState *s);
void tdx_emu_vmcall_failed(TdxEmuState *s, int cpu_index, const char *name,
                           uint64_t subfn, uint64_t status);
void tdx_emu_vcpu_parked(TdxEmuState *s, int cpu_index);
void tdx_emu_vcpu_running(TdxEmuState *s, int cpu_index);
TdxEmuFailedVmcall *tdx_emu_last_failed_vmcall(TdxEmuState *s);
uint32List *tdx_emu_parked_vcpus(TdxEmuState *s);

/* guest-mem.c: TD-private buffers named by TDCALL operands */
bool tdx_emu_read_private(TdxEmuState *s, X86CPU *cpu, uint64_t gpa,
                          void *buf, size_t len);
bool tdx_emu_write_private(TdxEmuState *s, X86CPU *cpu, uint64_t gpa,
                           const void *buf, size_t len);
bool tdx_emu_read_shared(TdxEmuState *s, uint64_t gpa, void *buf, size_t len);
bool tdx_emu_write_shared(TdxEmuState *s, uint64_t gpa, const void *buf,
                          size_t len);
bool tdx_emu_read_td(TdxEmuState *s, X86CPU *cpu, uint64_t gpa, void *buf,
                     size_t len);
bool tdx_emu_write_td(TdxEmuState *s, X86CPU *cpu, uint64_t gpa,
                      const void *buf, size_t len);

/* catch.c: TDCALL catchpoints; @rax and @r11 are the TDCALL's inputs */
bool tdx_emu_catch_hit(TdxEmuState *s, X86CPU *cpu, uint64_t rax,
                       uint64_t r11);

/* Every TDCALL asks: one load when no catchpoint is set */
static inline bool tdx_emu_catch_armed(TdxEmuState *s)
{
    return qatomic_read(&s->catch.armed);
}
void tdx_emu_catch_set(TdxEmuState *s, uint64List *leaves,
                       uint64List *vmcalls, Error **errp);

/* mailbox.c: the qtest register interface */
void tdx_emu_mailbox_realize(TdxEmuState *s);
void tdx_emu_mailbox_reset(TdxEmuState *s);

#endif
