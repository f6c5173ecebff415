// SPDX-License-Identifier: Apache-2.0
#include "client/local_config.h"

#include <toml++/toml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace skr::client {
namespace {

Error ConfigError(const std::string& path, const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, "local agent config " + path + ": " + what,
               "bad_local_config");
}

Result<std::string> StringValue(const toml::node& node, const std::string& key,
                                const std::string& path) {
  const auto* s = node.as_string();
  if (s == nullptr) return ConfigError(path, "'" + key + "' must be a string");
  if (s->get().empty()) return ConfigError(path, "'" + key + "' must not be empty");
  return s->get();
}

Result<std::vector<std::string>> StringArray(const toml::node& node, const std::string& key,
                                             const std::string& path) {
  const auto* a = node.as_array();
  if (a == nullptr) return ConfigError(path, "'" + key + "' must be an array of strings");
  // An empty list would read as "no restriction": refuse it rather than guess.
  if (a->empty()) return ConfigError(path, "'" + key + "' must not be empty");
  std::vector<std::string> out;
  for (const auto& item : *a) {
    SKR_TRY(std::string v, StringValue(item, key, path));
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace

std::string LocalAgentConfigPath() {
  const char* env = std::getenv("SKR_AGENT_CONFIG");
  if (env != nullptr && *env != '\0') return env;
  return kDefaultLocalAgentConfig;
}

Result<LocalAgentConfig> ParseLocalAgentConfig(std::string_view toml_text,
                                               const std::string& path) {
  toml::table table;
  try {
    table = toml::parse(toml_text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    return ConfigError(path, std::string("not valid TOML: ") + std::string(e.description()));
  }
  LocalAgentConfig cfg;
  cfg.path = path;
  const std::map<std::string, std::optional<std::string>*> strings = {
      {"cacert", &cfg.cacert},
      {"tenant", &cfg.tenant},
      {"key", &cfg.key},
      {"evidence", &cfg.evidence},
      {"tcti", &cfg.tcti},
      {"event_log", &cfg.event_log},
      {"sample_key", &cfg.sample_key},
      {"sample_claims", &cfg.sample_claims}};
  const std::map<std::string, std::vector<std::string>*> arrays = {{"servers", &cfg.servers},
                                                                   {"pin_sha256", &cfg.pin_sha256}};
  for (const auto& [k, node] : table) {
    const std::string key(k.str());
    if (auto s = strings.find(key); s != strings.end()) {
      SKR_TRY(std::string v, StringValue(node, key, path));
      *s->second = std::move(v);
    } else if (auto a = arrays.find(key); a != arrays.end()) {
      SKR_TRY(std::vector<std::string> v, StringArray(node, key, path));
      *a->second = std::move(v);
    } else {
      return ConfigError(path, "unknown key '" + key + "'");
    }
  }
  return cfg;
}

Result<std::optional<LocalAgentConfig>> LoadLocalAgentConfig(const std::string& path,
                                                             bool missing_ok) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (status.type() == std::filesystem::file_type::not_found) {
    if (missing_ok) return std::optional<LocalAgentConfig>();
    return ConfigError(path, "no such file");
  }
  if (ec) return ConfigError(path, "cannot stat: " + ec.message());
  if (status.type() != std::filesystem::file_type::regular) {
    return ConfigError(path, "not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return ConfigError(path, "cannot open");
  std::string text(kMaxLocalAgentConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return ConfigError(path, "read error");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxLocalAgentConfigBytes) return ConfigError(path, "larger than 64 KiB");
  SKR_TRY(LocalAgentConfig cfg, ParseLocalAgentConfig(text, path));
  return std::optional<LocalAgentConfig>(std::move(cfg));
}

Result<std::optional<LocalAgentConfig>> LoadLocalAgentConfig() {
  const std::string path = LocalAgentConfigPath();
  return LoadLocalAgentConfig(path, path == kDefaultLocalAgentConfig);
}

}  // namespace skr::client
