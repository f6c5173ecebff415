// SPDX-License-Identifier: Apache-2.0
#include "common/config_section.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

namespace skr {

std::string ConfigEnvName(std::string_view dotted_key) {
  std::string out = "SKR_";
  for (const char c : dotted_key) {
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

Error ConfigCheck::KeyError(std::string_view key, std::string_view message) const {
  return Error(ErrorCode::kInvalidArgument, FullName(key) + ": " + std::string(message),
               "invalid_config");
}

std::string ConfigCheck::SourceOf(std::string_view key) const {
  const std::string var = ConfigEnvName(FullName(key));
  return env_.count(var) != 0 ? " (from environment variable " + var + ")" : std::string();
}

Result<void> ConfigCheck::Require(std::string_view key, const std::string& value) const {
  if (value.empty()) return KeyError(key, "is required");
  return Ok();
}

Result<void> ConfigCheck::InRange(std::string_view key, std::int64_t value, std::int64_t lo,
                                  std::int64_t hi) const {
  if (value < lo || value > hi) {
    return KeyError(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                             " (got " + std::to_string(value) + ")");
  }
  return Ok();
}

Result<void> ConfigCheck::HexDigestList(std::string_view key, const ConfigStringList& list) const {
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string& e = list[i];
    const bool hex = std::all_of(e.begin(), e.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    });
    if (e.size() != 96 || !hex) {
      return KeyError(key, "entry " + std::to_string(i + 1) + " ('" + e.substr(0, 100) +
                               "') must be 96 lowercase hex characters (48 bytes)" + SourceOf(key));
    }
  }
  return Ok();
}

void ConfigCheck::ResolvePath(std::string& path) const {
  if (path.empty()) return;
  const std::filesystem::path p(path);
  path = p.is_absolute() ? p.lexically_normal().string()
                         : (std::filesystem::path(dir_) / p).lexically_normal().string();
}

}  // namespace skr
