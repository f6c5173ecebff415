// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the Azure HCL report parser (attestation/azure/hcl_report.h).
// Invariants beyond "no crash / no sanitizer report":
//   - Parse fails only with kMalformedEvidence, reason azure_hcl_malformed or
//     azure_hcl_unsupported;
//   - a parsed report's hardware report is 0x4A0 bytes, its runtime data is the input's bytes at
//     0x4D4 and the runtime JSON is an object;
//   - AttestationKey fails only with azure_ak_missing / azure_ak_malformed / azure_ak_weak
//     (HCLAkPub below RSA-2048 or with a weak exponent, issue 9 item 7); AddClaims always
//     sets azure.hcl_version and azure.report_type.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

#include "attestation/azure/hcl_report.h"

namespace azure = skr::attestation::azure;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto hcl = azure::HclReport::Parse(std::span<const std::uint8_t>(data, size));
  if (!hcl) {
    const std::string reason = hcl.error().reason();
    if (hcl.error().code() != skr::ErrorCode::kMalformedEvidence ||
        (reason != "azure_hcl_malformed" && reason != "azure_hcl_unsupported")) {
      std::abort();
    }
    return 0;
  }
  constexpr std::size_t kVarOffset =
      azure::kHclHeaderSize + azure::kHclHwReportSize + azure::kHclRuntimeHeaderSize;
  const auto& rt = hcl->runtime_data();
  if (hcl->hw_report().size() != azure::kHclHwReportSize || !hcl->runtime().is_object() ||
      size < kVarOffset + rt.size() || std::memcmp(data + kVarOffset, rt.data(), rt.size()) != 0) {
    std::abort();
  }
  auto ak = hcl->AttestationKey();
  if (!ak && ak.error().reason() != "azure_ak_missing" &&
      ak.error().reason() != "azure_ak_malformed" && ak.error().reason() != "azure_ak_weak") {
    std::abort();
  }
  skr::Claims claims;
  hcl->AddClaims(claims);
  if (claims.count("azure.hcl_version") != 1 || claims.count("azure.report_type") != 1) std::abort();
  return 0;
}
