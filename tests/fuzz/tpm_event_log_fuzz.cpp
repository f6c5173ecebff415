// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the TCG crypto-agile event log parser / replayer
// (attestation/tpm/event_log.h). Invariants beyond "no crash / no sanitizer report":
//   - every failure is kMalformedEvidence / tpm_event_log_malformed, or kVerificationFailed /
//     tpm_event_log_invalid (PCR 7 labels that contradict their digests, issue 9 item 2);
//   - a replayed PCR value has its bank's digest size and an index below 24;
//   - checking the replay against itself always succeeds and claims secure boot only when the
//     replay found it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "attestation/tpm/event_log.h"

namespace tpm = skr::attestation::tpm;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto replay = tpm::ReplayEventLog(std::span<const std::uint8_t>(data, size));
  if (!replay) {
    const bool malformed = replay.error().code() == skr::ErrorCode::kMalformedEvidence &&
                           replay.error().reason() == "tpm_event_log_malformed";
    const bool invalid = replay.error().code() == skr::ErrorCode::kVerificationFailed &&
                         replay.error().reason() == "tpm_event_log_invalid";
    if (!malformed && !invalid) std::abort();
    return 0;
  }
  for (const auto& [bank, values] : replay->replayed) {
    for (const auto& [index, value] : values) {
      if (index > 23 || value.size() != tpm::DigestSize(tpm::BankAlg(bank))) std::abort();
    }
  }
  skr::Claims claims;
  if (!tpm::CheckEventLog(*replay, replay->replayed, claims)) std::abort();
  if (claims.count("tpm.secure_boot.enabled") != 0 && !replay->secure_boot) std::abort();
  return 0;
}
