/*
 * tdx-emu: the platform's genuine TDREPORT from an Azure vTPM (tpm2-tss)
 *
 * An Azure confidential VM's paravisor keeps an "HCL report" in vTPM NV
 * index 0x01400001: a 32-byte header starting "HCLA", then the hardware
 * report (for TDX, the 1024-byte TDREPORT at bytes 32..1056), then runtime
 * data (azure-cvm-tooling: az-cvm-vtpm/src/vtpm/mod.rs, src/hcl/mod.rs).
 * IMDS quotes only such a genuine report.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>
#include "qapi/error.h"
#include "azure-vtpm.h"

#define HCL_REPORT_NV_INDEX     0x01400001
#define HCL_HEADER_SIZE         32
#define HCL_SIGNATURE           "HCLA"
#define NV_READ_CHUNK           512

/* Read @len bytes from the start of @nv, in chunks the TPM accepts */
static bool nv_read(ESYS_CONTEXT *esys, ESYS_TR nv, uint8_t *buf,
                    uint16_t len, Error **errp)
{
    uint16_t off = 0;

    while (off < len) {
        uint16_t n = MIN(len - off, NV_READ_CHUNK);
        TPM2B_MAX_NV_BUFFER *data = NULL;
        TSS2_RC rc = Esys_NV_Read(esys, nv, nv, ESYS_TR_PASSWORD,
                                  ESYS_TR_NONE, ESYS_TR_NONE, n, off, &data);

        if (rc != TSS2_RC_SUCCESS || data->size != n) {
            error_setg(errp, "reading vTPM NV index 0x%x at %u: 0x%x",
                       HCL_REPORT_NV_INDEX, off, rc);
            Esys_Free(data);
            return false;
        }
        memcpy(buf + off, data->buffer, n);
        Esys_Free(data);
        off += n;
    }
    return true;
}

static bool read_hcl_report(ESYS_CONTEXT *esys, uint8_t *report,
                            Error **errp)
{
    uint8_t hcl[HCL_HEADER_SIZE + TDX_TDREPORT_SIZE];
    TPM2B_NV_PUBLIC *pub = NULL;
    ESYS_TR nv = ESYS_TR_NONE;
    uint16_t size;
    TSS2_RC rc;

    rc = Esys_TR_FromTPMPublic(esys, HCL_REPORT_NV_INDEX, ESYS_TR_NONE,
                               ESYS_TR_NONE, ESYS_TR_NONE, &nv);
    if (rc == TSS2_RC_SUCCESS) {
        rc = Esys_NV_ReadPublic(esys, nv, ESYS_TR_NONE, ESYS_TR_NONE,
                                ESYS_TR_NONE, &pub, NULL);
    }
    if (rc != TSS2_RC_SUCCESS) {
        error_setg(errp, "the vTPM has no NV index 0x%x (0x%x): not an "
                   "Azure confidential VM?", HCL_REPORT_NV_INDEX, rc);
        return false;
    }
    size = pub->nvPublic.dataSize;
    Esys_Free(pub);
    if (size < sizeof(hcl)) {
        error_setg(errp, "vTPM NV index 0x%x holds %u bytes, too few for "
                   "an HCL report", HCL_REPORT_NV_INDEX, size);
        return false;
    }
    if (!nv_read(esys, nv, hcl, sizeof(hcl), errp)) {
        return false;
    }
    if (memcmp(hcl, HCL_SIGNATURE, 4) != 0) {
        error_setg(errp, "vTPM NV index 0x%x holds no HCL report",
                   HCL_REPORT_NV_INDEX);
        return false;
    }
    memcpy(report, hcl + HCL_HEADER_SIZE, TDX_TDREPORT_SIZE);
    return true;
}

/*
 * tpm2-tss writes its warnings and errors to stderr (TSS2_LOG, default
 * WARNING; tpm2-tss doc/logging.md), several lines per failure, which a
 * guest repeating GetQuote could repeat without limit. "all+none" turns
 * that off; what failed reaches the caller's Error.
 */
void azure_vtpm_quiet_log(void)
{
    g_setenv("TSS2_LOG", "all+none", false);
}

bool azure_vtpm_read_tdreport(const char *tcti,
                              uint8_t report[TDX_TDREPORT_SIZE],
                              Error **errp)
{
    TSS2_TCTI_CONTEXT *tcti_ctx = NULL;
    ESYS_CONTEXT *esys = NULL;
    bool ok = false;

    if (Tss2_TctiLdr_Initialize(tcti, &tcti_ctx) != TSS2_RC_SUCCESS ||
        Esys_Initialize(&esys, tcti_ctx, NULL) != TSS2_RC_SUCCESS) {
        error_setg(errp, "cannot reach the vTPM (TCTI '%s')",
                   tcti ?: "default");
    } else {
        ok = read_hcl_report(esys, report, errp);
    }
    if (esys) {
        Esys_Finalize(&esys);
    }
    if (tcti_ctx) {
        Tss2_TctiLdr_Finalize(&tcti_ctx);
    }
    return ok;
}
