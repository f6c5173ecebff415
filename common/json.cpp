// SPDX-License-Identifier: Apache-2.0
#include "common/json.h"

namespace skr {

Result<Json> ParseJson(std::string_view text, std::size_t max_bytes, int max_depth) {
  if (text.size() > max_bytes) {
    return Error(ErrorCode::kPayloadTooLarge, "JSON document exceeds the size limit");
  }
  // Depth limit via the SAX-style callback, so a deeply nested document is refused before it
  // can exhaust the stack in later recursive walks.
  int depth = 0;
  bool too_deep = false;
  auto cb = [&](int d, Json::parse_event_t ev, Json&) {
    (void)ev;
    depth = d;
    if (d > max_depth) too_deep = true;
    return !too_deep;
  };
  Json j = Json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/false);
  if (too_deep) return Error(ErrorCode::kInvalidArgument, "JSON nesting too deep", "malformed_json");
  if (j.is_discarded()) {
    return Error(ErrorCode::kInvalidArgument, "malformed JSON", "malformed_json");
  }
  (void)depth;
  return j;
}

Result<std::string> GetString(const Json& obj, std::string_view name) {
  if (!obj.is_object()) return Error(ErrorCode::kInvalidArgument, "expected a JSON object");
  auto it = obj.find(std::string(name));
  if (it == obj.end() || !it->is_string()) {
    return Error(ErrorCode::kInvalidArgument, "member '" + std::string(name) + "' must be a string");
  }
  return it->get<std::string>();
}

Result<std::int64_t> GetInt(const Json& obj, std::string_view name) {
  if (!obj.is_object()) return Error(ErrorCode::kInvalidArgument, "expected a JSON object");
  auto it = obj.find(std::string(name));
  if (it == obj.end() || !it->is_number_integer()) {
    return Error(ErrorCode::kInvalidArgument,
                 "member '" + std::string(name) + "' must be an integer");
  }
  return it->get<std::int64_t>();
}

std::optional<std::string> GetOptionalString(const Json& obj, std::string_view name) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(std::string(name));
  if (it == obj.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::string DumpJson(const Json& j, int indent) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace skr
