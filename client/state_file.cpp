// SPDX-License-Identifier: Apache-2.0
#include "client/state_file.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace skr::client {

Result<std::optional<Json>> ReadStateFile(const std::string& path, std::size_t max_bytes) {
  if (path.empty() || !std::filesystem::exists(path)) return std::optional<Json>();
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  if (buf.str().size() > max_bytes) {
    return Error(ErrorCode::kInvalidArgument, "state file " + path + " is too large");
  }
  auto j = ParseJson(buf.str());
  if (!j || !j->is_object()) {
    return Error(ErrorCode::kInvalidArgument, "state file " + path + ": not a JSON object");
  }
  return std::optional<Json>(std::move(j).value());
}

Result<void> WriteStateFile(const std::string& path, const Json& state) {
  if (path.empty()) return Ok();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out << DumpJson(state, 2) << '\n';
    out.flush();
    if (!out) return Error(ErrorCode::kUnavailable, "cannot write " + tmp);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Error(ErrorCode::kUnavailable, "cannot write " + path + ": " + ec.message());
  return Ok();
}

}  // namespace skr::client
