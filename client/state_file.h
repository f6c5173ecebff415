// SPDX-License-Identifier: Apache-2.0
// Small JSON state files of the auditor commands (`skrctl audit verify|export --state F`): read
// bounded, written atomically (temporary file, then rename), so an interrupted run leaves the old
// state or the new one, never half of one.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "common/json.h"
#include "common/result.h"

namespace skr::client {

// nullopt when `path` is empty or does not exist. kInvalidArgument: too large or not a JSON
// object (the message names the file).
Result<std::optional<Json>> ReadStateFile(const std::string& path, std::size_t max_bytes = 64 * 1024);

// Writes `state` (pretty JSON) to `path` atomically; nothing when `path` is empty.
// kUnavailable when it cannot be written.
Result<void> WriteStateFile(const std::string& path, const Json& state);

}  // namespace skr::client
