// SPDX-License-Identifier: Apache-2.0
// Intel TDX evidence from inside a TD (DESIGN.md section 3, evidence.type "tdx"): the kernel's
// configfs-tsm report interface with the tdx_guest provider (client/tsm_report.h) returns the TD
// quote (v4 or v5, produced by the host's quote generation service) for REPORTDATA =
// digest || 16 zero bytes. The quote is only checked for being a TDX quote that carries our
// REPORTDATA; skrd verifies it.
#pragma once

#include <string>

#include "client/sample_attester.h"

namespace skr::client {

struct TdxAttesterOptions {
  std::string tsm_report_dir = "/sys/kernel/config/tsm/report";
  std::string entry_name;  // empty: a fresh entry per quote
};

// Checks that `quote` is a TDX quote (version 4 or 5, TEE type 0x81) whose TD report body
// carries `report_data` (Intel TDX DCAP Quoting Library API, Appendix A: the body starts at
// byte 48, after a 6-byte type/size descriptor in v5; REPORTDATA is its last 64 bytes of the TD
// 1.0 part, at body offset 520). Errors: kMalformedEvidence "tsm_failed".
Result<void> CheckTdxQuoteCarries(std::span<const std::uint8_t> quote,
                                  std::span<const std::uint8_t, 64> report_data);

class TdxAttester final : public EvidenceProvider {
 public:
  explicit TdxAttester(TdxAttesterOptions options) : options_(std::move(options)) {}
  // {"type": "tdx", "quote": base64}. Errors: kMalformedEvidence "evidence_unavailable" naming
  // the provider and why (no configfs-tsm, another provider, no quote).
  Result<Json> Collect(std::span<const std::uint8_t, 48> digest) override;

 private:
  TdxAttesterOptions options_;
};

}  // namespace skr::client
