/*
 * tdx-emu: finding the firmware's payload where the firmware loaded it
 *
 * td-shim loads the payload ELF from the image's Payload section to a
 * run-time address of its own layout and relocates it there (td-shim
 * src/bin/td-shim/main.rs: PT_LOAD segments at base + p_vaddr,
 * R_X86_64_RELATIVE fixed up, entry called with RSI = base). Nothing tells the
 * VMM that base, so the device works it out like a debugger would: it keeps
 * the ELF's segments from the image, and when a TDCALL comes from code outside
 * the places it already ruled out, it looks for the one page-aligned base at
 * which the executable segments hold the code around that TDCALL. gdb then
 * loads the payload's symbols at that base (query-tdx-emu "payload").
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "exec/cpu-common.h"
#include "elf.h"
#include "cpu.h"
#include "hw/tdx-emu/tdx-emu.h"
#include "tdx-module.h"
#include "trace.h"

#define PAGE_SIZE_4K        0x1000ULL

/* Bytes of code compared on each side of the TDCALL */
#define MATCH_BEFORE        32
#define MATCH_AFTER         32

/* Bytes of each executable segment compared to confirm a base */
#define VERIFY_LEN          PAGE_SIZE_4K

static bool elf_header_ok(const Elf64_Ehdr *eh, size_t avail)
{
    uint64_t phoff = le64_to_cpu(eh->e_phoff);
    uint16_t phnum = le16_to_cpu(eh->e_phnum);
    uint16_t type = le16_to_cpu(eh->e_type);

    return avail >= sizeof(*eh) &&
           eh->e_ident[EI_CLASS] == ELFCLASS64 &&
           eh->e_ident[EI_DATA] == ELFDATA2LSB &&
           le16_to_cpu(eh->e_machine) == EM_X86_64 &&
           (type == ET_EXEC || type == ET_DYN) &&
           le16_to_cpu(eh->e_phentsize) == sizeof(Elf64_Phdr) &&
           phnum && phoff < avail &&
           (avail - phoff) / sizeof(Elf64_Phdr) >= phnum;
}

/*
 * Record the PT_LOAD segments of @elf, whose header @eh is an aligned copy
 * (an ELF inside a firmware volume need not be 8-byte aligned); false if
 * one lies outside the file or there is no executable one
 */
static bool payload_add_segments(TdxEmuPayload *p, const Elf64_Ehdr *eh,
                                 const uint8_t *elf, size_t avail)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    bool exec = false;
    unsigned i;

    p->nr_segs = 0;
    for (i = 0; i < le16_to_cpu(eh->e_phnum); i++) {
        Elf64_Phdr ph;
        uint64_t off, filesz, memsz, vaddr;

        memcpy(&ph, elf + le64_to_cpu(eh->e_phoff) + i * sizeof(ph),
               sizeof(ph));
        if (le32_to_cpu(ph.p_type) != PT_LOAD) {
            continue;
        }
        off = le64_to_cpu(ph.p_offset);
        filesz = le64_to_cpu(ph.p_filesz);
        memsz = le64_to_cpu(ph.p_memsz);
        vaddr = le64_to_cpu(ph.p_vaddr);
        /* ... and the span must round up to whole pages without wrapping */
        if (p->nr_segs == TDX_EMU_PAYLOAD_MAX_SEGMENTS || off > avail ||
            filesz > avail - off || memsz < filesz ||
            memsz > UINT64_MAX - PAGE_SIZE_4K ||
            vaddr > UINT64_MAX - PAGE_SIZE_4K - memsz) {
            return false;
        }
        p->segs[p->nr_segs++] = (TdxEmuPayloadSegment) {
            .vaddr = vaddr, .filesz = filesz, .bytes = elf + off,
            .exec = le32_to_cpu(ph.p_flags) & PF_X,
        };
        exec |= le32_to_cpu(ph.p_flags) & PF_X;
        lo = MIN(lo, vaddr);
        hi = MAX(hi, vaddr + memsz);
    }
    p->size = ROUND_UP(hi, PAGE_SIZE_4K) - ROUND_DOWN(lo, PAGE_SIZE_4K);
    return exec;
}

/*
 * The payload ELF: the first valid x86-64 ELF64 image in a Payload section
 * (in MigTD it is the PE32 section of a file in the payload FV, as
 * td-shim-tools builds it).
 */
void tdx_emu_payload_realize(TdxEmuState *s)
{
    TdxEmuPayload *p = &s->payload;
    uint32_t i;

    for (i = 0; i < s->fw.nr_sections; i++) {
        const TdvfSection *sec = &s->fw.sections[i];
        const uint8_t *data = s->fw.image + sec->data_offset;
        size_t pos = 0;

        if (sec->type != TDVF_PAYLOAD) {
            continue;
        }
        while (pos + SELFMAG <= sec->raw_size) {
            const uint8_t *hit = memmem(data + pos, sec->raw_size - pos,
                                        ELFMAG, SELFMAG);
            Elf64_Ehdr eh = {};
            size_t avail;

            if (!hit) {
                break;
            }
            pos = hit - data;
            avail = sec->raw_size - pos;
            memcpy(&eh, hit, MIN(avail, sizeof(eh)));
            if (elf_header_ok(&eh, avail) &&
                payload_add_segments(p, &eh, hit, avail)) {
                p->elf_offset = sec->data_offset + pos;
                p->entry = le64_to_cpu(eh.e_entry);
                trace_tdx_emu_payload_elf(p->elf_offset, p->entry,
                                          p->nr_segs);
                return;
            }
            p->nr_segs = 0;
            pos++;
        }
    }
}

void tdx_emu_payload_reset(TdxEmuState *s)
{
    s->payload.found = false;
    memset(s->payload.missed, 0, sizeof(s->payload.missed));
}

/*
 * Firmware makes its TDCALLs from a few places (td-shim: td_call and
 * td_vm_call, called in turn); each is searched once
 */
static bool payload_missed_before(const TdxEmuPayload *p, uint64_t rip)
{
    unsigned i;

    for (i = 0; i < TDX_EMU_PAYLOAD_MISSED_PAGES; i++) {
        if (p->missed[i] == rip / PAGE_SIZE_4K + 1) {
            return true;
        }
    }
    return false;
}

static void payload_remember_miss(TdxEmuPayload *p, uint64_t rip)
{
    p->missed[p->next_missed] = rip / PAGE_SIZE_4K + 1;
    p->next_missed = (p->next_missed + 1) % TDX_EMU_PAYLOAD_MISSED_PAGES;
}

static bool guest_bytes_equal(CPUState *cs, uint64_t va, const uint8_t *want,
                              size_t len)
{
    g_autofree uint8_t *got = g_malloc(len);

    return !cpu_memory_rw_debug(cs, va, got, len, false) &&
           !memcmp(got, want, len);
}

/* Every executable segment starts at @base + p_vaddr as in the image */
static bool payload_loaded_at(const TdxEmuPayload *p, CPUState *cs,
                              uint64_t base)
{
    unsigned i;

    for (i = 0; i < p->nr_segs; i++) {
        const TdxEmuPayloadSegment *seg = &p->segs[i];

        if (seg->exec &&
            !guest_bytes_equal(cs, base + seg->vaddr, seg->bytes,
                               MIN(seg->filesz, VERIFY_LEN))) {
            return false;
        }
    }
    return true;
}

/*
 * Count the page-aligned bases (td-layout's regions are 4 KiB aligned) at
 * which an executable segment holds @code, the bytes around the TDCALL at
 * @rip, and the payload is loaded; the last one found goes to @base.
 */
static unsigned payload_count_bases(const TdxEmuPayload *p, CPUState *cs,
                                    uint64_t rip, const uint8_t *code,
                                    uint64_t *base)
{
    unsigned i, n = 0;

    for (i = 0; i < p->nr_segs; i++) {
        const TdxEmuPayloadSegment *seg = &p->segs[i];
        uint64_t off;

        if (!seg->exec) {
            continue;
        }
        /* off: the TDCALL's offset in the segment, congruent to @rip */
        for (off = (rip - seg->vaddr) & (PAGE_SIZE_4K - 1);
             off + MATCH_AFTER <= seg->filesz; off += PAGE_SIZE_4K) {
            if (off < MATCH_BEFORE || seg->vaddr + off > rip ||
                memcmp(seg->bytes + off - MATCH_BEFORE, code,
                       MATCH_BEFORE + MATCH_AFTER)) {
                continue;
            }
            if (payload_loaded_at(p, cs, rip - seg->vaddr - off)) {
                *base = rip - seg->vaddr - off;
                n++;
            }
        }
    }
    return n;
}

/* With the BQL, before a TDCALL that is not vCPU-local runs */
void tdx_emu_payload_observe(TdxEmuState *s, X86CPU *cpu)
{
    TdxEmuPayload *p = &s->payload;
    CPUX86State *env = &cpu->env;
    uint64_t rip = env->segs[R_CS].base + env->eip;
    uint8_t code[MATCH_BEFORE + MATCH_AFTER];
    unsigned matches = 0;
    uint64_t base = 0;

    if (!p->nr_segs || p->found || payload_missed_before(p, rip)) {
        return;
    }
    if (rip >= MATCH_BEFORE &&
        !cpu_memory_rw_debug(CPU(cpu), rip - MATCH_BEFORE, code,
                             sizeof(code), false)) {
        matches = payload_count_bases(p, CPU(cpu), rip, code, &base);
    }
    if (matches != 1) {
        /* not payload code, or ambiguous: ask again from another page */
        payload_remember_miss(p, rip);
        trace_tdx_emu_payload_miss(rip, matches);
        return;
    }
    p->found = true;
    p->base = base;
    p->found_rip = rip;
    trace_tdx_emu_payload_found(base, base + p->entry, rip);
}
