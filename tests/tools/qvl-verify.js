#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Verify the guest stub's test-PKI quote with a DCAP verifier that is not
// ours: @phala/dcap-qvl (a port of Phala's dcap-qvl, which production TDX
// deployments use), trusting only the test PKI's root CA.
//
// Usage: qvl-verify.js SERIAL_LOG ROOT_CA_DER
//
// The stub prints QUOTE, TDREPORT and COLLATERAL (the GET_COLLATERAL_RESP
// its TD got through GetQuote, spec §3.3) in hex. The collateral is handed
// to the verifier in its own form, converted the way its PCCS client
// converts a collateral service's answers (PEM CRLs to DER, the signed
// tcbInfo / enclaveIdentity JSON apart from its signature). Checks:
//   - it verifies, with TCB status UpToDate, and the verified TD report
//     is the TDREPORT's (MRTD, RTMRs, REPORTDATA, ...);
//   - one bit changed in the quote's signed body fails;
//   - trusting Intel's root CA instead fails.
// Exits non-zero with the reason if any check fails.

'use strict';

const fs = require('fs');
const { QuoteVerifier } = require('@phala/dcap-qvl');

const COLLATERAL_BLOBS = ['pck_crl_issuer_chain', 'root_ca_crl', 'pck_crl',
    'tcb_info_issuer_chain', 'tcb_info', 'qe_identity_issuer_chain',
    'qe_identity'];
const QGS_HDR = 16;
const QGS_GET_COLLATERAL_RESP = 3;

// TDREPORT offsets (TDX module ABI): REPORTDATA in REPORTMACSTRUCT,
// TDINFO from 512
const TDREPORT_REPORTDATA = 128;
const TDINFO = 512;

function hexLine(log, label) {
    const m = log.match(new RegExp(`^${label} ([0-9a-f]+)$`, 'm'));
    if (!m) {
        throw new Error(`no ${label} line in the serial log`);
    }
    return Buffer.from(m[1], 'hex');
}

// The NUL-terminated strings of a GET_COLLATERAL_RESP, by name
function collateralBlobs(msg) {
    if (msg.readUInt32LE(4) !== QGS_GET_COLLATERAL_RESP ||
        msg.readUInt32LE(12) !== 0) {
        throw new Error('not a successful GET_COLLATERAL_RESP');
    }
    const blobs = {};
    let off = QGS_HDR + 4 + 4 * COLLATERAL_BLOBS.length;
    COLLATERAL_BLOBS.forEach((name, i) => {
        const size = msg.readUInt32LE(QGS_HDR + 4 + 4 * i);
        let blob = msg.subarray(off, off + size).toString('utf-8');
        blobs[name] = blob.replace(/\0$/, '');
        off += size;
    });
    return blobs;
}

function pemToDer(pem) {
    return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '')
        .replace(/\s+/g, ''), 'base64');
}

// As the verifier's own PCCS client does (collateral.js)
function verifierCollateral(b) {
    const tcb = JSON.parse(b.tcb_info);
    const qe = JSON.parse(b.qe_identity);
    return {
        pck_crl_issuer_chain: b.pck_crl_issuer_chain,
        root_ca_crl: Array.from(pemToDer(b.root_ca_crl)),
        pck_crl: Array.from(pemToDer(b.pck_crl)),
        tcb_info_issuer_chain: b.tcb_info_issuer_chain,
        tcb_info: JSON.stringify(tcb.tcbInfo),
        tcb_info_signature: Array.from(Buffer.from(tcb.signature, 'hex')),
        qe_identity_issuer_chain: b.qe_identity_issuer_chain,
        qe_identity: JSON.stringify(qe.enclaveIdentity),
        qe_identity_signature:
            Array.from(Buffer.from(qe.signature, 'hex')),
        pck_certificate_chain: null,
    };
}

function expectEqual(what, got, want) {
    if (!Buffer.from(got).equals(want)) {
        throw new Error(`${what}: ${Buffer.from(got).toString('hex')} ` +
                        `is not the TDREPORT's ${want.toString('hex')}`);
    }
}

function checkReport(report, tdreport) {
    const td = report.asTd10();
    const info = (off, len) => tdreport.subarray(TDINFO + off, TDINFO + off + len);
    expectEqual('TD attributes', td.tdAttributes, info(0, 8));
    expectEqual('XFAM', td.xfam, info(8, 8));
    expectEqual('MRTD', td.mrTd, info(16, 48));
    expectEqual('MRCONFIGID', td.mrConfigId, info(64, 48));
    expectEqual('MROWNER', td.mrOwner, info(112, 48));
    expectEqual('MROWNERCONFIG', td.mrOwnerConfig, info(160, 48));
    ['rtMr0', 'rtMr1', 'rtMr2', 'rtMr3'].forEach((f, i) =>
        expectEqual(f, td[f], info(208 + 48 * i, 48)));
    expectEqual('REPORTDATA', td.reportData,
                tdreport.subarray(TDREPORT_REPORTDATA,
                                  TDREPORT_REPORTDATA + 64));
}

function mustFail(what, fn) {
    try {
        fn();
    } catch (e) {
        return e.message;
    }
    throw new Error(`${what} verified`);
}

function main() {
    const [logPath, rootPath] = process.argv.slice(2);
    const log = fs.readFileSync(logPath, 'latin1');
    const quote = hexLine(log, 'QUOTE');
    const tdreport = hexLine(log, 'TDREPORT');
    const collateral = verifierCollateral(
        collateralBlobs(hexLine(log, 'COLLATERAL')));
    const now = Math.floor(Date.now() / 1000);
    const verifier = QuoteVerifier.newWithRootCa(fs.readFileSync(rootPath));

    const result = verifier.verify(quote, collateral, now);
    if (result.status !== 'UpToDate') {
        throw new Error(`TCB status ${result.status}`);
    }
    checkReport(result.report, tdreport);

    const altered = Buffer.from(quote);
    altered[48 + 136] ^= 1;                     /* a bit of MRTD */
    const alteredWhy = mustFail('a quote with one bit of MRTD changed',
        () => verifier.verify(altered, collateral, now));
    const intelWhy = mustFail('the quote under Intel\'s root CA',
        () => QuoteVerifier.newProd().verify(quote, collateral, now));
    console.log(`dcap-qvl: UpToDate, report = TDREPORT; altered quote: ` +
                `${alteredWhy}; Intel root: ${intelWhy}`);
}

try {
    main();
} catch (e) {
    console.error(`qvl-verify: ${e.message}`);
    process.exit(1);
}
