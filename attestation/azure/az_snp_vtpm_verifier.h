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
// chain, signature, TCB) -> its launch identity is a trusted Azure paravisor (AzureOptions) ->
// REPORT_DATA[0..32) == SHA-256(runtime data) and REPORT_DATA[32..64)
// zero -> the AK is HCLAkPub from that runtime data -> the quote is signed by the AK -> the PCR
// values match the quote's pcrDigest.
// Claims: snp.* (from the sev-snp verifier), tpm.* (quote.h), azure.* (hcl_report.h),
// azure.hw_report_data (hex of the SNP REPORT_DATA), azure.paravisor.trusted_by ("id_key_digest"
// or "measurement"), tee = "az-snp-vtpm", debug from SNP,
// report_data = hex of the quote's extraData.
// Binding: BindingForm::kExact48 with bound_data = the quote's extraData. For skr's binding the
// attester must put the 48-byte binding digest in the quote's qualifying data; evidence made
// with another nonce (e.g. the public test bundles) verifies but fails CheckBinding.
#pragma once

#include <string>
#include <vector>

#include "attestation/azure/azure_options.h"
#include "attestation/snp/snp_verifier.h"
#include "attestation/verifier.h"

namespace skr::attestation::azure {

class AzSnpVtpmVerifier final : public Verifier {
 public:
  // `snp` verifies the hardware report; it must outlive this verifier.
  AzSnpVtpmVerifier(const snp::SnpVerifier& snp, AzureOptions options)
      : snp_(snp), options_(std::move(options)) {}
  std::string_view type() const override { return "az-snp-vtpm"; }
  // Errors: kMalformedEvidence (reasons malformed_evidence, azure_hcl_*, azure_ak_*,
  // tpm_attest_malformed, tpm_attest_type, tpm_signature_malformed, snp ones),
  // kVerificationFailed (snp_* from the SNP verifier, azure_paravisor_untrusted, azure_report_type,
  // azure_runtime_data_mismatch, tpm_signature_invalid, tpm_pcr_mismatch, tpm_pcr_missing).
  Result<VerifiedEvidence> Verify(const Json& evidence) const override;
  // The VCEK chain travels in the evidence; the SNP report is verified as at state.time.
  Result<VerifiedEvidence> VerifyRecorded(const Json& evidence,
                                          const RecordedState& state) const override;

 private:
  Result<VerifiedEvidence> VerifyImpl(const Json& evidence, const RecordedState* state) const;
  const snp::SnpVerifier& snp_;
  AzureOptions options_;
};

}  // namespace skr::attestation::azure
