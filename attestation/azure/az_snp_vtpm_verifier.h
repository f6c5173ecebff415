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

#include "attestation/snp/snp_verifier.h"
#include "attestation/verifier.h"

namespace skr::attestation::azure {

inline constexpr std::size_t kMaxAzPcrCount = 24;

// The launch identities of Azure's paravisor (the HCL firmware that owns VMPL0 and vouches for
// HCLAkPub) that skrd trusts ([attestation.azure] in the config). Nothing in an HCL report ties it
// to Microsoft except the SNP report's launch identity: any SEV-SNP guest at VMPL0 can write its
// own runtime JSON with its own HCLAkPub. A report is accepted when its ID_KEY_DIGEST (the key
// that signed the launch ID block, checked by the AMD firmware at launch) or its MEASUREMENT is in
// these lists. Lowercase hex, 96 characters (48 bytes) each. Both empty: every az-snp-vtpm
// evidence is refused (reason azure_paravisor_untrusted, naming the setting).
struct AzureOptions {
  std::vector<std::string> trusted_id_key_digests;
  std::vector<std::string> trusted_measurements;
};

// The identities of the real Azure paravisor reports skr was validated with (Milan and Genoa
// bundles, see ../shared/testdata/PROVENANCE.md): the defaults of [attestation.azure]. Add the new
// identity when Azure updates its paravisor.
const std::vector<std::string>& DefaultTrustedIdKeyDigests();

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

// A byte string member: an array of numbers 0..255 or a standard base64 string, at most
// `max_bytes` long. Errors: kMalformedEvidence reason malformed_evidence.
Result<std::vector<std::uint8_t>> EvidenceBytes(const Json& value, std::size_t max_bytes,
                                                std::string_view what);

}  // namespace skr::attestation::azure
