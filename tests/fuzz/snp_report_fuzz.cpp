// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the SEV-SNP ATTESTATION_REPORT parser and its claims.
// Invariants checked beyond "no crash / no sanitizer report":
//   - Parse fails only with kMalformedEvidence and one of its documented reason slugs (a
//     kInternal offset-mismatch error would mean a bug in the parser's table walk);
//   - a parsed report is exactly the input, and its signed range is its first 0x2A0 bytes;
//   - ToClaims never fails and always sets the common claims.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>

#include "attestation/snp/claims.h"
#include "attestation/snp/report.h"

namespace snp = skr::attestation::snp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> input(data, size);
  auto report = snp::Report::Parse(input);
  if (!report) {
    const auto& e = report.error();
    const std::string reason = e.reason();
    if (e.code() != skr::ErrorCode::kMalformedEvidence ||
        (reason != "snp_report_size" && reason != "snp_report_version" &&
         reason != "snp_signature_algo" && reason != "snp_reserved_nonzero" &&
         reason != "snp_policy_reserved" && reason != "snp_signing_key")) {
      std::abort();
    }
    return 0;
  }
  if (size != snp::kReportSize || report->bytes().size() != size ||
      std::memcmp(report->bytes().data(), data, size) != 0 ||
      report->signed_bytes().size() != snp::kSignedSize) {
    std::abort();
  }
  for (auto product : {snp::Product::kUnknown, snp::Product::kMilan, snp::Product::kGenoa,
                       snp::Product::kTurin, report->ProductFromCpuid()}) {
    const skr::Claims claims = snp::ToClaims(*report, product, "vcek");
    if (claims.count("tee") != 1 || claims.count("debug") != 1 ||
        claims.count("report_data") != 1 || claims.count("snp.measurement") != 1) {
      std::abort();
    }
  }
  return 0;
}
