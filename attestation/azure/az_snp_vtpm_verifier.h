// SPDX-License-Identifier: Apache-2.0
// The `az-snp-vtpm` evidence type (DESIGN.md sections 2-3): an Azure confidential VM on AMD
// SEV-SNP, attesting with its paravisor vTPM, in the JSON that Trustee's attestation agent emits:
//   {"type": "az-snp-vtpm",
//    "report": <HCL report bytes>,                   (see hcl_report.h)
//    "vcek": "<PEM: VCEK, optionally followed by ASK/ARK>",
//    "quote": {"message": <TPMS_ATTEST bytes>,
//              "signature": <RSASSA signature bytes, or a marshalled TPMT_SIGNATURE>,
//              "pcrs": [<PCR 0 value>, <PCR 1 value>, ...]}}     (SHA-256 bank, index = position)
// Byte strings are arrays of numbers (as Trustee serializes Vec<u8>) or standard base64 strings.
// Verification: HCL report parses -> its SNP report verifies through the sev-snp verifier (AMD
// chain, signature, TCB) -> REPORT_DATA[0..32) == SHA-256(runtime data) and REPORT_DATA[32..64)
// zero -> the AK is HCLAkPub from that runtime data -> the quote is signed by the AK -> the PCR
// values match the quote's pcrDigest.
// Claims: snp.* (from the sev-snp verifier), tpm.* (quote.h), azure.* (hcl_report.h),
// azure.hw_report_data (hex of the SNP REPORT_DATA), tee = "az-snp-vtpm", debug from SNP,
// report_data = hex of the quote's extraData.
// Binding: BindingForm::kExact48 with bound_data = the quote's extraData. For skr's binding the
// attester must put the 48-byte binding digest in the quote's qualifying data; evidence made
// with another nonce (e.g. the public test bundles) verifies but fails CheckBinding.
#pragma once

#include "attestation/snp/snp_verifier.h"
#include "attestation/verifier.h"

namespace skr::attestation::azure {

inline constexpr std::size_t kMaxAzPcrCount = 24;

class AzSnpVtpmVerifier final : public Verifier {
 public:
  // `snp` verifies the hardware report; it must outlive this verifier.
  explicit AzSnpVtpmVerifier(const snp::SnpVerifier& snp) : snp_(snp) {}
  std::string_view type() const override { return "az-snp-vtpm"; }
  // Errors: kMalformedEvidence (reasons malformed_evidence, azure_hcl_*, azure_ak_*,
  // tpm_attest_malformed, tpm_attest_type, tpm_signature_malformed, snp ones),
  // kVerificationFailed (snp_* from the SNP verifier, azure_report_type,
  // azure_runtime_data_mismatch, tpm_signature_invalid, tpm_pcr_mismatch, tpm_pcr_missing).
  Result<VerifiedEvidence> Verify(const Json& evidence) const override;

 private:
  const snp::SnpVerifier& snp_;
};

// A byte string member: an array of numbers 0..255 or a standard base64 string, at most
// `max_bytes` long. Errors: kMalformedEvidence reason malformed_evidence.
Result<std::vector<std::uint8_t>> EvidenceBytes(const Json& value, std::size_t max_bytes,
                                                std::string_view what);

}  // namespace skr::attestation::azure
