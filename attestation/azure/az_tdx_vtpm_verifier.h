// SPDX-License-Identifier: Apache-2.0
// The `az-tdx-vtpm` evidence type (DESIGN.md sections 2-3): an Azure confidential VM on Intel TDX,
// attesting with its paravisor vTPM, in the JSON that Trustee's attestation agent emits:
//   {"type": "az-tdx-vtpm",
//    "report": <HCL report bytes, report type TDX>,      (hcl_report.h)
//    "td_quote": <TDX quote v4/v5 bytes>,
//    "quote": {"message", "signature", "pcrs"}}           (vtpm_evidence.h)
// Verification: the HCL report parses and is a TDX one -> the TD quote verifies through the `tdx`
// verifier (Intel chain, QE, imported collateral, TCB status) -> its MRTD is a trusted Azure
// paravisor and the TD is not a debug TD (AzureOptions) -> the quote's REPORTDATA[0..32) ==
// SHA-256(runtime data), REPORTDATA[32..64) zero -> the TDREPORT inside the HCL report is the one
// the quote was made from (same REPORTDATA and MRTD) -> the vTPM quote is signed by HCLAkPub from
// that runtime data and its PCR values match.
// Claims: tdx.* (from the tdx verifier, incl. tdx.tcb_status), tpm.*, azure.*,
// azure.hw_report_data (hex of the quote's REPORTDATA), azure.paravisor.trusted_by ("mrtd"),
// tee = "az-tdx-vtpm", debug from TDX, report_data = hex of the vTPM quote's extraData.
// Binding: BindingForm::kExact48 with bound_data = the vTPM quote's extraData (as az-snp-vtpm).
#pragma once

#include <string_view>

#include "attestation/azure/azure_options.h"
#include "attestation/tdx/tdx_verifier.h"
#include "attestation/verifier.h"

namespace skr::attestation::azure {

// Offsets in the TDREPORT_STRUCT (1024 bytes; Intel TDX Module ABI specification,
// REPORTMACSTRUCT at 0 with REPORTDATA at 128, TEE_TCB_INFO at 256, TDINFO_STRUCT at 512 with
// ATTRIBUTES, XFAM, then MRTD at 528).
inline constexpr std::size_t kTdReportSize = 1024;
inline constexpr std::size_t kTdReportReportDataOffset = 128;
inline constexpr std::size_t kTdReportMrtdOffset = 528;

class AzTdxVtpmVerifier final : public Verifier {
 public:
  // `tdx` verifies the TD quote; it must outlive this verifier.
  AzTdxVtpmVerifier(const tdx::TdxVerifier& tdx, AzureOptions options)
      : tdx_(tdx), options_(std::move(options)) {}
  std::string_view type() const override { return "az-tdx-vtpm"; }
  // Errors: kMalformedEvidence (malformed_evidence, azure_hcl_*, azure_ak_*, tpm_attest_*,
  // tpm_signature_malformed, tdx_quote_malformed), kVerificationFailed / kUnavailable (tdx_*
  // from the tdx verifier, azure_paravisor_untrusted, azure_report_type,
  // azure_runtime_data_mismatch, azure_td_report_mismatch, tpm_signature_invalid,
  // tpm_pcr_mismatch, tpm_pcr_missing).
  Result<VerifiedEvidence> Verify(const Json& evidence) const override;
  // The TD quote as at state.time with the collateral kept with the bundle.
  Result<VerifiedEvidence> VerifyRecorded(const Json& evidence,
                                          const RecordedState& state) const override;

 private:
  Result<VerifiedEvidence> VerifyImpl(const Json& evidence, const RecordedState* state) const;
  const tdx::TdxVerifier& tdx_;
  AzureOptions options_;
};

}  // namespace skr::attestation::azure
