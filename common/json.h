// SPDX-License-Identifier: Apache-2.0
// JSON helpers over nlohmann-json; parsing never throws.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace skr {

using Json = nlohmann::json;

// Parses untrusted JSON text. Rejects input over max_bytes, nesting deeper than max_depth,
// invalid UTF-8 and duplicate-free guarantees are not given (last member wins).
// Errors: kInvalidArgument with a message naming the position, kPayloadTooLarge.
Result<Json> ParseJson(std::string_view text, std::size_t max_bytes = 1u << 20,
                       int max_depth = 32);

// Member accessors on untrusted objects. Errors: kInvalidArgument naming `name`.
Result<std::string> GetString(const Json& obj, std::string_view name);
Result<std::int64_t> GetInt(const Json& obj, std::string_view name);
std::optional<std::string> GetOptionalString(const Json& obj, std::string_view name);

// dump() that never throws on invalid UTF-8 (replaces invalid sequences).
std::string DumpJson(const Json& j, int indent = -1);

}  // namespace skr
