// SPDX-License-Identifier: Apache-2.0
// The kernel's provider-agnostic configfs-tsm report interface
// (Documentation/ABI/testing/configfs-tsm): mkdir <tsm>/report/<entry>; write the 64 bytes of
// report data to inblob (and a privilege level to privlevel when not 0); read outblob (the
// provider's report or quote: an SEV-SNP ATTESTATION_REPORT for sev_guest, a TD quote for
// tdx_guest) and auxblob; `generation` must have moved by exactly our writes (no concurrent
// writer); rmdir the entry we made.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace skr::client {

struct TsmOutput {
  std::vector<std::uint8_t> outblob;
  std::vector<std::uint8_t> auxblob;  // may be empty
};

// `provider` is the expected content of the entry's provider file ("sev_guest", "tdx_guest");
// an entry reporting another provider is refused. `entry_name` empty: a fresh random entry,
// removed afterwards; else that entry (reused when an operator made it). Errors: kUnavailable
// "tsm_unavailable" (no interface), kMalformedEvidence "tsm_failed" (misbehaviour).
Result<TsmOutput> CollectViaConfigfsTsm(const std::string& report_dir,
                                        std::span<const std::uint8_t, 64> report_data,
                                        std::string_view provider, int privlevel,
                                        const std::string& entry_name, std::size_t max_outblob);

// kMalformedEvidence "tsm_failed" with "configfs-tsm: <msg>".
Error TsmFailed(const std::string& msg);

}  // namespace skr::client
