// SPDX-License-Identifier: Apache-2.0
// Input and paging helpers shared by skrctl's command groups (skrctl_cli.h).
#include <openssl/crypto.h>

#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "client/skrctl_cli.h"
#include "common/encoding.h"

namespace skr::client::cli {
namespace {

constexpr int kMaxPages = 10000;

}  // namespace

// Reads a file, or stdin for "-".
Result<std::string> ReadInput(const std::string& path, std::size_t max_bytes) {
  if (path == "-") {
    std::string data;
    char buf[4096];
    while (std::cin.read(buf, sizeof(buf)) || std::cin.gcount() > 0) {
      data.append(buf, static_cast<std::size_t>(std::cin.gcount()));
      if (data.size() > max_bytes) {
        OPENSSL_cleanse(data.data(), data.size());
        return Error(ErrorCode::kInvalidArgument, "stdin input is too large");
      }
    }
    return data;
  }
  auto data = skr::ReadFile(path, max_bytes);
  if (!data) return Error(ErrorCode::kInvalidArgument, data.error().message());
  return data;
}

Result<Json> ReadJsonObject(const std::string& path) {
  SKR_TRY(std::string raw, ReadInput(path, kMaxInputBytes));
  // Lines whose first non-blank character is '#' are comments (`skrctl policy scaffold` explains
  // its choices that way); a JSON string cannot span lines, so no JSON text is lost.
  std::string text;
  text.reserve(raw.size());
  std::size_t pos = 0;
  while (pos < raw.size()) {
    std::size_t end = raw.find('\n', pos);
    if (end == std::string::npos) end = raw.size();
    const std::size_t first = raw.find_first_not_of(" \t\r", pos);
    if (first >= end || raw[first] != '#') text.append(raw, pos, end - pos).push_back('\n');
    pos = end + 1;
  }
  auto j = skr::ParseJson(text, kMaxInputBytes, 64);
  if (!j || !j->is_object()) {
    return Error(ErrorCode::kInvalidArgument,
                 (path == "-" ? std::string("stdin") : path) + " is not a JSON object");
  }
  return std::move(j).value();
}

// Follows "next" cursors and concatenates the pages' `member` arrays.
Result<Json> GetAllPages(ApiClient& api, const std::string& path,
                         std::vector<std::pair<std::string, std::string>> params,
                         const std::string& member) {
  Json all = Json::array();
  std::string after;
  for (int page = 0; page < kMaxPages; ++page) {
    auto p = params;
    p.emplace_back("limit", "1000");
    p.emplace_back("after", after);
    SKR_TRY(Json body, api.Get(path + Query(p)));
    if (body.is_object() && body.contains(member) && body[member].is_array()) {
      for (auto& item : body[member]) all.push_back(std::move(item));
    }
    if (!body.is_object() || !body.contains("next") || !body["next"].is_string() ||
        body["next"].get_ref<const std::string&>().empty()) {
      return Json{{member, std::move(all)}, {"next", nullptr}};
    }
    after = body["next"].get<std::string>();
  }
  return Error(ErrorCode::kInternal, "too many pages");
}

// Builds "/v1/tenants/{tenant}/{rest[0]}/..." with every segment percent-encoded, so a name
// containing '/', '?' or '#' stays one segment (fixed words like "keys" encode to themselves).
Result<std::string> TenantPath(const std::string& tenant, std::vector<std::string> rest) {
  SKR_TRY(std::string t, PathSegment(tenant));
  std::string path = "/v1/tenants/" + t;
  for (const auto& r : rest) {
    SKR_TRY(std::string s, PathSegment(r));
    path += "/" + s;
  }
  return path;
}

std::optional<std::int64_t> ParseDuration(std::string_view text) {
  if (text.empty() || text.size() > 12) return std::nullopt;
  std::int64_t unit = 1;
  switch (text.back()) {
    case 's': unit = 1; text.remove_suffix(1); break;
    case 'm': unit = 60; text.remove_suffix(1); break;
    case 'h': unit = 3600; text.remove_suffix(1); break;
    case 'd': unit = 86400; text.remove_suffix(1); break;
    default: break;
  }
  if (text.empty()) return std::nullopt;
  std::int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
    if (n > 10LL * 365 * 86400) return std::nullopt;
  }
  if (n == 0 || n > 10LL * 365 * 86400 / unit) return std::nullopt;
  return n * unit;
}

constexpr std::size_t kMaxMaterialBytes = 64u << 10;

// Raw key material from a file or stdin, base64-encoded for the API. The plaintext copy is
// wiped; the encoded string is the caller's to wipe.
Result<std::string> ReadMaterialBase64(const std::string& path) {
  SKR_TRY(std::string raw, ReadInput(path, kMaxMaterialBytes));
  skr::SecretBytes material = skr::SecretBytes::CopyFrom(skr::AsBytes(raw));
  OPENSSL_cleanse(raw.data(), raw.size());
  if (material.empty()) return Error(ErrorCode::kInvalidArgument, "key material is empty");
  return skr::Base64Encode(material.Reveal());
}

// Wipes the base64 material inside a request body after it was sent (best effort: cpprestsdk
// keeps its own copy of the serialized body until the request completes).
void WipeMaterial(Json& body) {
  if (body.is_object() && body.contains("material") && body["material"].is_string()) {
    auto& s = body["material"].get_ref<std::string&>();
    OPENSSL_cleanse(s.data(), s.size());
  }
}

}  // namespace skr::client::cli
