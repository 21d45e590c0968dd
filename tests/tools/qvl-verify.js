#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-or-later
//
// Verify the guest stub's test-PKI quote with a DCAP verifier that is not
// ours: @phala/dcap-qvl (a port of Phala's dcap-qvl, which production TDX
// deployments use), trusting only the test PKI's root CA; then check what
// Intel's QVL (as linked into MigTD) and MigTD's policy would add.
//
// Usage: qvl-verify.js SERIAL_LOG ROOT_CA_DER [EXPECT]
//
// The stub prints QUOTE, TDREPORT and COLLATERAL (the GET_COLLATERAL_RESP
// its TD got through GetQuote, docs/quote.md) in hex. The collateral is
// handed to the verifier in its own form, converted the way its PCCS
// client converts a collateral service's answers (PEM CRLs to DER, the
// signed tcbInfo / enclaveIdentity JSON apart from its signature).
//
// Always checked, whatever the platform state (Intel's certificate and
// CRL profile, which Intel's QVL insists on and dcap-qvl does not): every
// certificate of the quote's chain and of the three collateral chains has
// an Authority Key Identifier and CRL Distribution Points; both CRLs have
// a CRL Number and an Authority Key Identifier; the PCK certificate's SGX
// extension is a Platform-CA one (SGX type 1, PlatformInstanceId,
// Configuration).
//
// The outcome is the first of:
//   "dcap-qvl: <error>"  dcap-qvl rejects the quote;
//   "module: <error>"    Intel's TDX module check fails: the TCB info has
//                        no TDX_<major> identity level at or below the
//                        quote's TEE_TCB_SVN (QvE getTdxModuleTcblevel);
//   "policy: <error>"    MigTD's v1 policy (migtd/policy-testpki.json)
//                        rejects the values Intel's QvE reports: the
//                        matched TCB level's SVNs, the module level's SVN,
//                        the QE report's identity;
//   the TCB status       otherwise.
// EXPECT (default UpToDate) is the outcome wanted: a TCB status exactly,
// or text the outcome contains. With UpToDate, also: the verified TD
// report is the TDREPORT's, one bit changed in the quote's signed body
// fails and trusting Intel's root CA instead fails.
// Exits non-zero with the reason if any check fails.

'use strict';

const fs = require('fs');
const path = require('path');
const { QuoteVerifier } = require('@phala/dcap-qvl');
const utils = require('@phala/dcap-qvl/src/utils');
const oids = require('@phala/dcap-qvl/src/oids');

const POLICY = path.join(__dirname, '..', '..', 'migtd',
                         'policy-testpki.json');

const COLLATERAL_BLOBS = ['pck_crl_issuer_chain', 'root_ca_crl', 'pck_crl',
    'tcb_info_issuer_chain', 'tcb_info', 'qe_identity_issuer_chain',
    'qe_identity'];
const QGS_HDR = 16;
const QGS_GET_COLLATERAL_RESP = 3;

// TDREPORT offsets (TDX module ABI): REPORTDATA in REPORTMACSTRUCT,
// TDINFO from 512
const TDREPORT_REPORTDATA = 128;
const TDINFO = 512;

// Quote v4: the TD report body after the 48-byte header (TEE_TCB_SVN,
// MRSEAM, MRSIGNERSEAM, SEAM attributes), and the QE report after the
// signature data length (4), quote signature and attestation key (128)
// and certification data type and size (6)
const BODY = 48;
const QE_REPORT = 48 + 584 + 4 + 128 + 6;

// X.509 extensions Intel's QVL requires (RFC 5280 4.2.1.1, 4.2.1.13,
// 5.2.3)
const OID_AKI = '2.5.29.35';
const OID_CRL_DP = '2.5.29.31';
const CRL_EXTENSIONS = {
    'CRL Number': Buffer.from('0603551d14', 'hex'),
    'Authority Key Identifier': Buffer.from('0603551d23', 'hex'),
};
const OID_SGX_CONFIGURATION = `${oids.SGX_EXTENSION}.7`;

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
    return Buffer.from(pem.replace(/-----[A-Z0-9 ]+-----/g, '')
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

function hasExt(cert, oid) {
    return (cert.tbsCertificate.extensions || []).some(e =>
        e.extnID.join('.') === oid);
}

// Intel's certificate and CRL profile; returns what it checked
function checkProfile(quote, blobs) {
    const chains = {
        quote: utils.extractCerts(quote.toString('latin1')),
        'PCK CRL issuer': utils.extractCerts(blobs.pck_crl_issuer_chain),
        'TCB info issuer': utils.extractCerts(blobs.tcb_info_issuer_chain),
        'QE identity issuer':
            utils.extractCerts(blobs.qe_identity_issuer_chain),
    };
    let n = 0;
    for (const [name, ders] of Object.entries(chains)) {
        ders.forEach((der, i) => {
            const cert = utils.Certificate.decode(der, 'der');
            [[OID_AKI, 'Authority Key Identifier'],
             [OID_CRL_DP, 'CRL Distribution Points']].forEach(([oid, w]) => {
                if (!hasExt(cert, oid)) {
                    throw new Error(`${name} chain certificate ${i}: no ${w}`);
                }
            });
            n++;
        });
    }
    ['root_ca_crl', 'pck_crl'].forEach(name => {
        const crl = utils.CertificateList.decode(pemToDer(blobs[name]), 'der');
        const ext = Buffer.from(crl.tbsCertList.crlExtensions || []);
        for (const [what, oid] of Object.entries(CRL_EXTENSIONS)) {
            if (!ext.includes(oid)) {
                throw new Error(`${name}: no ${what}`);
            }
        }
    });
    const sgx = utils.getIntelExtension(chains.quote[0]);
    const sgxType = utils.findExtension([oids.SGX_TYPE], sgx);
    if (sgxType[sgxType.length - 1] !== 1) {
        throw new Error('PCK certificate: SGX type is not 1 (Platform CA)');
    }
    utils.findExtension([oids.PLATFORM_INSTANCE_ID], sgx);
    utils.findExtension([OID_SGX_CONFIGURATION], sgx);
    return `${n} certificates with AKI and CRL DP, CRLs with CRL ` +
           'Number and AKI, Platform-CA PCK extension';
}

const svns = comps => comps.map(c => c.svn);
const geq = (a, b, from = 0) => a.every((v, i) => i < from || v >= b[i]);

// What Intel's QvE (servtd build) reports to MigTD for this quote: the
// matched TCB level's SVNs, the TDX module level, the QE's identity
function intelSupplemental(quote, blobs) {
    const tcb = JSON.parse(blobs.tcb_info).tcbInfo;
    const qeId = JSON.parse(blobs.qe_identity).enclaveIdentity;
    const teeTcbSvn = Array.from(quote.subarray(BODY, BODY + 16));
    const sgx = utils.getIntelExtension(utils.extractCerts(
        quote.toString('latin1'))[0]);
    const cpuSvn = Array.from(utils.getCpuSvn(sgx));
    const pceSvn = utils.getPceSvn(sgx);
    const [svn, major] = teeTcbSvn;
    let moduleSvn = 0;

    if (major) {
        const id = `TDX_${major.toString(16).padStart(2, '0').toUpperCase()}`;
        const ident = (tcb.tdxModuleIdentities || []).find(m =>
            m.id.toUpperCase() === id);
        const level = ident && ident.tcbLevels.find(l => svn >= l.tcb.isvsvn);
        if (!level) {
            throw new Error(`module: no ${id} level at or below SVN ${svn}`);
        }
        moduleSvn = level.tcb.isvsvn;
    }
    const level = tcb.tcbLevels.find(l => pceSvn >= l.tcb.pcesvn &&
        geq(cpuSvn, svns(l.tcb.sgxtcbcomponents)) &&
        geq(teeTcbSvn, svns(l.tcb.tdxtcbcomponents), major ? 2 : 0));
    const qe = quote.subarray(QE_REPORT, QE_REPORT + 384);
    const qeLevel = qeId.tcbLevels.find(l =>
        qe.readUInt16LE(258) >= l.tcb.isvsvn);
    const hex = (b, off, len) =>
        b.subarray(off, off + len).toString('hex').toUpperCase();
    return {
        fmspc: tcb.fmspc.toUpperCase(),
        Platform: level && {
            sgxtcbcomponents: svns(level.tcb.sgxtcbcomponents),
            pcesvn: level.tcb.pcesvn,
            tdxtcbcomponents: svns(level.tcb.tdxtcbcomponents),
        },
        QE: {
            MISCSELECT: hex(qe, 16, 4), ATTRIBUTES: hex(qe, 48, 16),
            MRSIGNER: hex(qe, 128, 32), ISVPRODID: qe.readUInt16LE(256),
            ISVSVN: qeLevel ? qeLevel.tcb.isvsvn : -1,
        },
        TDXModule: {
            TDXModuleMajorVersion: major, TDXModuleSVN: moduleSvn,
            MRSIGNERSEAM: hex(quote, BODY + 64, 48),
            ATTRIBUTES: hex(quote, BODY + 112, 8),
        },
    };
}

// One policy rule (MigTD src/policy/src/v1): the failure, or null
function ruleFails(name, rule, value) {
    const ref = rule.reference;
    const ok = {
        'equal': () =>
            String(value).toUpperCase() === String(ref).toUpperCase(),
        'greater-or-equal': () => value >= ref,
        'array-greater-or-equal': () => geq(value, ref),
    }[rule.operation];
    if (!ok) {
        throw new Error(`policy: unknown operation ${rule.operation}`);
    }
    return ok() ? null : `${name} ${JSON.stringify(value)} is not ` +
                         `${rule.operation} ${JSON.stringify(ref)}`;
}

function rulesFail(rules, values) {
    return Object.entries(rules).map(([name, rule]) =>
        ruleFails(name, rule, values[name])).filter(f => f);
}

// MigTD's v1 policy on those values (the MigTD block compares the peer
// with the TD itself: not for a single quote)
function checkPolicy(values) {
    const policy = JSON.parse(fs.readFileSync(POLICY, 'utf-8')).policy;
    const platform = policy.find(p => p.fmspc &&
        p.fmspc.toUpperCase() === values.fmspc);
    if (!platform) {
        throw new Error(`policy: FMSPC ${values.fmspc} is not listed`);
    }
    if (!values.Platform) {
        throw new Error('policy: no TCB level matches the platform');
    }
    const fails = rulesFail(platform.Platform.TcbInfo, values.Platform);
    policy.filter(p => p.QE).forEach(p =>
        fails.push(...rulesFail(p.QE.QeIdentity, values.QE)));
    const modules = policy.filter(p => p.TDXModule).map(p =>
        rulesFail(p.TDXModule.TDXModule_Identity, values.TDXModule));
    if (modules.length && !modules.some(f => !f.length)) {
        const why = modules.map(f => f.join(', ')).join('; or ');
        fails.push(`TDX module: ${why}`);
    }
    if (fails.length) {
        throw new Error(`policy: ${fails.join('; ')}`);
    }
    return `module TDX_0${values.TDXModule.TDXModuleMajorVersion} SVN ` +
           `${values.TDXModule.TDXModuleSVN}, MigTD policy passes`;
}

function mustFail(what, fn) {
    try {
        fn();
    } catch (e) {
        return e.message;
    }
    throw new Error(`${what} verified`);
}

const STATUSES = ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded',
    'ConfigurationAndSWHardeningNeeded', 'OutOfDate',
    'OutOfDateConfigurationNeeded', 'Revoked'];

function main() {
    const [logPath, rootPath, expect = 'UpToDate'] = process.argv.slice(2);
    const log = fs.readFileSync(logPath, 'latin1');
    const quote = hexLine(log, 'QUOTE');
    const tdreport = hexLine(log, 'TDREPORT');
    const blobs = collateralBlobs(hexLine(log, 'COLLATERAL'));
    const collateral = verifierCollateral(blobs);
    const now = Math.floor(Date.now() / 1000);
    const verifier = QuoteVerifier.newWithRootCa(fs.readFileSync(rootPath));
    const profile = checkProfile(quote, blobs);
    let outcome, policy = '', result;

    try {
        result = verifier.verify(quote, collateral, now);
        policy = checkPolicy(intelSupplemental(quote, blobs));
        outcome = result.status;
    } catch (e) {
        outcome = result ? e.message : `dcap-qvl: ${e.message}`;
    }
    if (STATUSES.includes(expect) ? outcome !== expect
                                  : !outcome.includes(expect)) {
        throw new Error(`${outcome}, not ${expect}`);
    }
    if (expect !== 'UpToDate') {
        console.log(`${outcome}; ${profile}`);
        return;
    }
    checkReport(result.report, tdreport);
    const altered = Buffer.from(quote);
    altered[48 + 136] ^= 1;                     /* a bit of MRTD */
    const alteredWhy = mustFail('a quote with one bit of MRTD changed',
        () => verifier.verify(altered, collateral, now));
    const intelWhy = mustFail('the quote under Intel\'s root CA',
        () => QuoteVerifier.newProd().verify(quote, collateral, now));
    console.log(`dcap-qvl: UpToDate, report = TDREPORT; ${policy}; ` +
                `${profile}; altered quote: ${alteredWhy}; ` +
                `Intel root: ${intelWhy}`);
}

try {
    main();
} catch (e) {
    console.error(`qvl-verify: ${e.message}`);
    process.exit(1);
}
