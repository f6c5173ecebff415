// SPDX-License-Identifier: Apache-2.0
// The signatures of a TDX quote, checked in the order of Intel's Quote Verification Library
// (DCAP QVL, "ECDSA quote verification" of the Intel TDX DCAP Quoting Library API, section on
// quote verification):
//   1. header: version 4 or 5, ECDSA P-256 attestation key, TEE type TDX, Intel's QE vendor id;
//   2. the PCK certificate chain (certification data type 5) to a pinned root at `unix_time`;
//   3. the QE report, signed by the PCK key (ECDSA P-256, SHA-256 over the 384 report bytes);
//   4. the QE report binds the attestation key: REPORTDATA = SHA-256(attestation key ||
//      QE authentication data) || 32 zero bytes;
//   5. the quote signature by the attestation key (ECDSA P-256, SHA-256 over header and body).
// TCB status (TCB Info, QE Identity) and CRLs are the collateral's part, not checked here.
//
// Error reasons: "tdx_quote_malformed" (kMalformedEvidence, see quote.h), "tdx_qe_vendor"
// (not Intel's quoting enclave), "tdx_pck_malformed", "tdx_pck_chain_untrusted",
// "tdx_pck_extensions" (pck.h), "tdx_qe_report_signature", "tdx_attestation_key_binding",
// "tdx_quote_signature" (kVerificationFailed).
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <span>

#include "attestation/tdx/pck.h"
#include "attestation/tdx/quote.h"
#include "common/claims.h"
#include "common/result.h"

namespace skr::attestation::tdx {

// Intel's quoting enclave vendor id (939A7233-F79C-4CA9-940A-0DB3957F0607).
inline constexpr std::array<std::uint8_t, 16> kIntelQeVendorId = {
    0x93, 0x9A, 0x72, 0x33, 0xF7, 0x9C, 0x4C, 0xA9,
    0x94, 0x0A, 0x0D, 0xB3, 0x95, 0x7F, 0x06, 0x07};

struct VerifiedQuote {
  Quote quote;
  VerifiedPck pck;
};

// ECDSA P-256 with SHA-256 over `msg`, the signature as r || s (32 bytes each, big-endian), as
// every signature of DCAP quotes and PCS collateral is encoded. False for a non-EC key.
bool VerifyP256RawSignature(EVP_PKEY* key, std::span<const std::uint8_t> msg,
                            std::span<const std::uint8_t, 64> rs);

Result<VerifiedQuote> VerifyQuote(std::span<const std::uint8_t> bytes,
                                  std::span<X509* const> roots, std::int64_t unix_time);

// The claims of DESIGN.md section 3 the quote itself proves (tee, debug, report_data, tdx.*);
// tdx.tcb_status and tdx.advisory_ids come from the collateral.
//   tdx.mrtd, tdx.rtmr0..3, tdx.mrconfigid, tdx.mrowner, tdx.mrownerconfig, tdx.mrseam,
//   tdx.mrsignerseam, tdx.report_data: lowercase hex; tdx.tee_tcb_svn, tdx.xfam,
//   tdx.td_attributes, tdx.seam_attributes: lowercase hex as in the quote; tdx.td_attributes.debug,
//   .sept_ve_disable, .pks, .kl, .perfmon: booleans (TDX module ABI, TDATTRIBUTES bits 0, 28, 30,
//   31, 63); tdx.fmspc, tdx.pce_id: hex; tdx.pce_svn, tdx.qe_svn, tdx.quote_version: numbers;
//   tdx.mrservicetd, tdx.tee_tcb_svn2 for TD 1.5 bodies.
Claims QuoteClaims(const VerifiedQuote& v);

}  // namespace skr::attestation::tdx
