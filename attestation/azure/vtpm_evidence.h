// SPDX-License-Identifier: Apache-2.0
// What the two Azure confidential-VM evidence types share (DESIGN.md sections 2-3: `az-snp-vtpm`,
// `az-tdx-vtpm`): the JSON Trustee's attestation agent emits,
//   {"type": ..., "report": <HCL report bytes>, <hardware member>,
//    "quote": {"message": <TPMS_ATTEST bytes>,
//              "signature": <RSASSA signature bytes, or a marshalled TPMT_SIGNATURE>,
//              "pcrs": [<PCR 0 value>, <PCR 1 value>, ...]}}     (SHA-256 bank, index = position)
// with byte strings as arrays of numbers (Trustee's Vec<u8>) or standard base64 strings; the
// binding of the HCL runtime data (which holds HCLAkPub) into the hardware REPORT_DATA; and the
// vTPM quote signed by that AK. The hardware report itself is verified by the TEE's verifier.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "attestation/azure/hcl_report.h"
#include "attestation/tpm/quote.h"
#include "attestation/verifier.h"
#include "common/json.h"
#include "common/result.h"

namespace skr::attestation::azure {

inline constexpr std::size_t kMaxAzPcrCount = 24;

// A byte string member: an array of numbers 0..255 or a standard base64 string, at most
// `max_bytes` long. Errors: kMalformedEvidence reason malformed_evidence ("<type> evidence: ...").
Result<std::vector<std::uint8_t>> EvidenceBytes(const Json& value, std::size_t max_bytes,
                                                std::string_view what,
                                                std::string_view type = "az-snp-vtpm");

struct VtpmEvidence {
  HclReport hcl;
  std::vector<std::uint8_t> message;    // TPMS_ATTEST, as signed
  std::vector<std::uint8_t> signature;  // bare RSA signature or TPMT_SIGNATURE
  std::vector<std::vector<std::uint8_t>> pcrs;
  tpm::Quote quote;
};

// The members shared by both types: only "type", "report", "quote" and `hw_member` are allowed
// (for TDX also Trustee's spellings "hcl_report" and "tpm_quote"); `hw_member` is checked by the
// caller. The HCL report must be of `hw_type`.
// Errors: kMalformedEvidence (malformed_evidence, azure_hcl_*, tpm_attest_*),
// kVerificationFailed azure_report_type.
Result<VtpmEvidence> ParseVtpmEvidence(const Json& evidence, std::string_view type,
                                       std::string_view hw_member, HclReportType hw_type);

// The hardware report vouches for the runtime data: REPORT_DATA[0..32) == SHA-256(runtime data)
// and REPORT_DATA[32..64) zero. Errors: kVerificationFailed azure_runtime_data_mismatch.
Result<void> CheckRuntimeDataBinding(std::span<const std::uint8_t> report_data64,
                                     const HclReport& hcl, std::string_view type,
                                     std::string_view hw_name);

// The quote is signed by HCLAkPub from the runtime data and its pcrDigest matches the PCR
// values; then the tpm.*, AK and azure.* claims, `tee` = type, report_data = hex of the quote's
// extraData and the binding (BindingForm::kExact48 over extraData) are set on `out`.
// Errors: azure_ak_*, tpm_signature_malformed, tpm_signature_invalid, tpm_pcr_mismatch,
// tpm_pcr_missing.
Result<void> VerifyVtpmQuote(const VtpmEvidence& ev, std::string_view type,
                             VerifiedEvidence& out);

}  // namespace skr::attestation::azure
