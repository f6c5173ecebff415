// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the audit sources (not part of the public API).
#pragma once

#include <string>

#include "common/json.h"
#include "common/result.h"

namespace skr::audit::internal {

// prev_hash of seq 1: 64 '0' characters (32 zero bytes, hex).
inline std::string GenesisHash() { return std::string(64, '0'); }

// hex SHA-256(JCS(trace)), or "" when trace is null.
Result<std::string> TraceSha256(const Json& trace);

}  // namespace skr::audit::internal
