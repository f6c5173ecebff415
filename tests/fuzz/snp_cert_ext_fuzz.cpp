// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the VCEK/VLEK certificate-extension parser (AMD 57230, "VCEK Certificate").
// The input is a DER certificate; seeds are the real VCEKs/VLEKs in ../shared/testdata/snp.
// Invariants checked beyond "no crash / no sanitizer report":
//   - failures are kMalformedEvidence with reason "cert_malformed" (the certificate does not
//     parse) or "snp_cert_extension" (an AMD extension is wrong);
//   - a parsed result is internally consistent: hwID is 64 or 8 bytes, never together with a
//     cspId, and the strings are non-empty 7-bit ASCII without NUL.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>

#include "attestation/snp/cert_chain.h"

namespace snp = skr::attestation::snp;

namespace {

bool IsIa5(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b == 0 || b > 0x7F) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto ext = snp::ParseVcekExtensionsDer(std::span<const std::uint8_t>(data, size));
  if (!ext) {
    const auto& e = ext.error();
    const std::string reason = e.reason();
    if (e.code() != skr::ErrorCode::kMalformedEvidence ||
        (reason != "cert_malformed" && reason != "snp_cert_extension")) {
      std::abort();
    }
    return 0;
  }
  if (ext->hw_id && ext->hw_id->size() != 64 && ext->hw_id->size() != 8) std::abort();
  if (ext->hw_id && ext->csp_id) std::abort();
  if (!IsIa5(ext->product_name)) std::abort();
  if (ext->csp_id && !IsIa5(*ext->csp_id)) std::abort();
  return 0;
}
