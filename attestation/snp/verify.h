// SPDX-License-Identifier: Apache-2.0
// SEV-SNP "Verify" and "Validate" steps (CONVENTIONS.md section 2) on a parsed Report:
// the report signature with the VCEK/VLEK, and the binding of the report to that certificate
// (CHIP_ID = hwID for a VCEK, REPORTED_TCB = the certificate's SPLs, product of the chain).
#pragma once

#include <openssl/evp.h>

#include "attestation/snp/cert_chain.h"
#include "attestation/snp/report.h"
#include "common/ecdsa_p384.h"
#include "common/result.h"

namespace skr::attestation::snp {

// SEV-SNP ABI, table "ECDSA P-384 with SHA-384 Signature": R at 0x2A0 and S at 0x2E8, 72 bytes
// each, little-endian, zero-padded; the signature covers bytes [0, 0x2A0) with SHA-384.
// Errors: kVerificationFailed reason "snp_signature_invalid"; kMalformedEvidence when R or S do
// not fit P-384 (non-zero padding).
Result<void> VerifyReportSignature(const Report& report, EVP_PKEY* signer_key);
// The same with the key already in nettle's form (SnpVerifier's endorsement cache).
Result<void> VerifyReportSignature(const Report& report, const P384PublicKey& signer_key);

// Checks the report against the endorsement that signed it: the signer kind in the report's
// SIGNING_KEY field, REPORTED_TCB components against the certificate's SPLs (reason
// "snp_tcb_mismatch"), CHIP_ID against hwID for a VCEK ("snp_chip_id_mismatch"; a report with
// MASK_CHIP_KEY set cannot be matched and is refused), and the product named by CPUID
// (version 3+) against the product of the chain ("snp_product_mismatch").
Result<void> ValidateAgainstEndorsement(const Report& report, const VerifiedEndorsement& e);

// Field checks that do not depend on the certificate: VMPL 0..3, signing key VCEK or VLEK.
Result<void> Validate(const Report& report);

}  // namespace skr::attestation::snp
