// SPDX-License-Identifier: Apache-2.0
#include "attestation/azure/az_tdx_vtpm_verifier.h"

#include <algorithm>

#include "attestation/azure/vtpm_evidence.h"
#include "attestation/tdx/quote.h"
#include "common/encoding.h"
#include "common/ossl.h"

namespace skr::attestation::azure {
namespace {

constexpr std::string_view kType = "az-tdx-vtpm";

Error Untrusted(const std::string& why) {
  return Error(ErrorCode::kVerificationFailed, "az-tdx-vtpm evidence refused: " + why,
               "azure_paravisor_untrusted");
}

// What the TDX module vouches for about the paravisor is MRTD, its measurement of the TD's initial
// memory (the paravisor image Azure loads; TDX Module ABI, TDINFO_STRUCT.MRTD). A debug TD lets
// the host read and write the paravisor's memory, so it vouches for nothing.
Result<void> CheckParavisor(const Claims& claims, const AzureOptions& options) {
  if (options.trusted_mrtds.empty()) {
    return Untrusted(
        "no trusted Azure TDX paravisor is configured ([attestation.azure] trusted_mrtds is "
        "empty)");
  }
  auto debug = claims.find("tdx.td_attributes.debug");
  if (debug == claims.end() || !debug->second.is_boolean() || debug->second.get<bool>()) {
    return Untrusted("the paravisor runs in a debug TD (TD_ATTRIBUTES.DEBUG set)");
  }
  auto mrtd = claims.find("tdx.mrtd");
  if (mrtd == claims.end() || !mrtd->second.is_string() ||
      std::find(options.trusted_mrtds.begin(), options.trusted_mrtds.end(),
                mrtd->second.get_ref<const std::string&>()) == options.trusted_mrtds.end()) {
    return Untrusted(
        "the TD quote's MRTD is not a trusted Azure paravisor (add it to [attestation.azure] "
        "trusted_mrtds when Azure updates its paravisor)");
  }
  return Ok();
}

}  // namespace

const std::vector<std::string>& DefaultTrustedMrtds() {
  // MRTD of the TD quote in ../shared/testdata/azure/tdx (an Azure DCesv5-series TDX CVM, HCL
  // report version 2; PROVENANCE.md).
  static const std::vector<std::string> kMrtds = {
      "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b",
  };
  return kMrtds;
}

Result<VerifiedEvidence> AzTdxVtpmVerifier::Verify(const Json& evidence) const {
  return VerifyImpl(evidence, nullptr);
}

Result<VerifiedEvidence> AzTdxVtpmVerifier::VerifyRecorded(const Json& evidence,
                                                           const RecordedState& state) const {
  return VerifyImpl(evidence, &state);
}

Result<VerifiedEvidence> AzTdxVtpmVerifier::VerifyImpl(const Json& evidence,
                                                       const RecordedState* state) const {
  // ---- Parse ----
  SKR_TRY(VtpmEvidence ev, ParseVtpmEvidence(evidence, kType, "td_quote", HclReportType::kTdx));
  auto td_quote = evidence.find("td_quote");
  if (td_quote == evidence.end()) {
    return Error(ErrorCode::kMalformedEvidence, "az-tdx-vtpm evidence: 'td_quote' is required",
                 "malformed_evidence");
  }
  SKR_TRY(std::vector<std::uint8_t> quote_bytes,
          EvidenceBytes(*td_quote, tdx::kMaxQuoteBytes, "td_quote", kType));

  // ---- The TD quote through the tdx verifier (chain, QE, collateral, TCB status) ----
  SKR_TRY(VerifiedEvidence tdx_out, tdx_.VerifyQuoteBytes(quote_bytes, state));
  SKR_TRY_VOID(CheckParavisor(tdx_out.claims, options_));

  // ---- The runtime data (holding the AK) is what the TD quote vouches for ----
  const std::span<const std::uint8_t> report_data(tdx_out.bound_data);
  SKR_TRY_VOID(CheckRuntimeDataBinding(report_data, ev.hcl, kType, "TD quote"));
  // The TDREPORT the paravisor put in the HCL report is the one the quote was made from. (It is
  // MACed for the platform only, so it proves nothing by itself; a mismatch is a spliced bundle.)
  const auto& hw = ev.hcl.hw_report();
  const auto mrtd = HexDecode(tdx_out.claims.at("tdx.mrtd").get<std::string>());
  if (hw.size() < kTdReportSize || !mrtd ||
      !std::equal(report_data.begin(), report_data.end(),
                  hw.begin() + kTdReportReportDataOffset) ||
      !std::equal(mrtd->begin(), mrtd->end(), hw.begin() + kTdReportMrtdOffset)) {
    return Error(ErrorCode::kVerificationFailed,
                 "az-tdx-vtpm evidence: the TDREPORT in the HCL report is not the one the TD "
                 "quote was made from (REPORTDATA or MRTD differ)",
                 "azure_td_report_mismatch");
  }

  // ---- The vTPM quote, then the claims ----
  VerifiedEvidence out;
  out.type = std::string(kType);
  out.claims = std::move(tdx_out.claims);
  out.collateral = std::move(tdx_out.collateral);
  out.collateral_bytes = std::move(tdx_out.collateral_bytes);
  SKR_TRY_VOID(VerifyVtpmQuote(ev, kType, out));
  out.claims["azure.paravisor.trusted_by"] = "mrtd";
  out.claims["azure.hw_report_data"] = HexEncode(report_data);
  return out;
}

}  // namespace skr::attestation::azure
