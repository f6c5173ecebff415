// SPDX-License-Identifier: Apache-2.0
// skrd configuration: TOML (toml++ 3.3) + SKR_* environment overrides -> Config, validated.
// DESIGN.md sections 7 and 9. toml++ reports syntax errors by exception; that exception is caught
// in ParseConfig and never leaves this file.
#include "config/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <system_error>
#include <variant>

extern "C" char** environ;  // POSIX; declared here to avoid relying on _GNU_SOURCE in <unistd.h>

namespace skr::config {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxConfigBytes = 1u << 20;

// Where a key's value goes. Every key of the file has exactly one entry in kKeys; the TOML name
// is the dotted path and the environment name is SKR_ + upper(path with '.' -> '_').
using StringList = ConfigStringList;
using Target = ConfigTarget;
struct KeySpec {
  std::string_view name;
  Target (*target)(Config&);
};

const KeySpec kKeys[] = {
    {"server.listen", [](Config& c) -> Target { return &c.server.listen; }},
    {"server.tls_cert", [](Config& c) -> Target { return &c.server.tls_cert; }},
    {"server.tls_key", [](Config& c) -> Target { return &c.server.tls_key; }},
    {"server.body_limit_bytes", [](Config& c) -> Target { return &c.server.body_limit_bytes; }},
    {"server.header_limit_bytes", [](Config& c) -> Target { return &c.server.header_limit_bytes; }},
    {"server.read_timeout_seconds",
     [](Config& c) -> Target { return &c.server.read_timeout_seconds; }},
    {"server.write_timeout_seconds",
     [](Config& c) -> Target { return &c.server.write_timeout_seconds; }},
    {"server.threads", [](Config& c) -> Target { return &c.server.threads; }},
    {"server.max_connections", [](Config& c) -> Target { return &c.server.max_connections; }},
    {"server.handshake_timeout_seconds", [](Config& c) -> Target { return &c.server.handshake_timeout_seconds; }},
    {"server.max_connections_per_address", [](Config& c) -> Target { return &c.server.max_connections_per_address; }},
    {"server.challenge_rate_per_second", [](Config& c) -> Target { return &c.server.challenge_rate_per_second; }},
    {"server.challenge_burst", [](Config& c) -> Target { return &c.server.challenge_burst; }},
    {"server.release_rate_per_second", [](Config& c) -> Target { return &c.server.release_rate_per_second; }},
    {"server.release_burst", [](Config& c) -> Target { return &c.server.release_burst; }},
    {"server.max_tracked_addresses", [](Config& c) -> Target { return &c.server.max_tracked_addresses; }},
    {"server.workers", [](Config& c) -> Target { return &c.server.workers; }},
    {"server.queue_limit", [](Config& c) -> Target { return &c.server.queue_limit; }},
    {"server.queue_timeout_ms", [](Config& c) -> Target { return &c.server.queue_timeout_ms; }},
    {"storage.path", [](Config& c) -> Target { return &c.storage.path; }},
    {"storage.audit_path", [](Config& c) -> Target { return &c.storage.audit_path; }},
    {"master_key.provider", [](Config& c) -> Target { return &c.master_key.provider; }},
    {"master_key.path", [](Config& c) -> Target { return &c.master_key.path; }},
    {"release.nonce_ttl_seconds", [](Config& c) -> Target { return &c.release.nonce_ttl_seconds; }},
    {"audit.busy_timeout_ms", [](Config& c) -> Target { return &c.audit.busy_timeout_ms; }},
    {"audit.unknown_release_interval_seconds",
     [](Config& c) -> Target { return &c.audit.unknown_release_interval_seconds; }},
    {"audit.signing_key", [](Config& c) -> Target { return &c.audit.signing_key; }},
    {"audit.max_batch", [](Config& c) -> Target { return &c.audit.max_batch; }},
    {"audit.replay_retention_days",
     [](Config& c) -> Target { return &c.audit.replay_retention_days; }},
    {"audit.checkpoint_interval_seconds",
     [](Config& c) -> Target { return &c.audit.checkpoint_interval_seconds; }},
};

// Tables that may appear in the file (each holds keys of kKeys or further sections); the modules'
// sections (Config::sections) come on top.
constexpr std::string_view kSections[] = {"server", "storage", "master_key", "attestation",
                                          "release", "audit"};

Error ConfigError(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message), "invalid_config");
}
Error KeyError(std::string_view key, std::string_view message) {
  return ConfigError(std::string(key) + ": " + std::string(message));
}

const KeySpec* FindKey(std::string_view name) {
  for (const KeySpec& k : kKeys) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

bool IsSection(std::string_view name, const Config& cfg) {
  return std::find(std::begin(kSections), std::end(kSections), name) != std::end(kSections) ||
         cfg.sections.Find(name) != nullptr;
}

std::string EnvName(std::string_view key) { return ConfigEnvName(key); }

// The target of `name` ("attestation.snp.crl_file") in a module's section, if it has that key.
std::optional<Target> SectionTarget(std::string_view name, const Config& cfg) {
  const std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  ConfigSectionBase* section = cfg.sections.Find(name.substr(0, dot));
  if (section == nullptr) return std::nullopt;
  for (const ConfigKeyRef& k : section->Keys()) {
    if (k.key == name.substr(dot + 1)) return k.target;
  }
  return std::nullopt;
}

const char* TomlTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// Stores a 64-bit integer into an int or size_t field, checking its range.
template <typename T>
Result<void> StoreInt(std::string_view key, std::int64_t v, T* out) {
  if constexpr (std::is_same_v<T, int>) {
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
      return KeyError(key, "value " + std::to_string(v) + " is out of range");
    }
    *out = static_cast<int>(v);
  } else {
    if (v < 0) return KeyError(key, "must not be negative (got " + std::to_string(v) + ")");
    *out = static_cast<std::size_t>(v);
  }
  return Ok();
}

Result<void> SetFromToml(std::string_view key, Target target, const toml::node& node) {
  auto mismatch = [&](const char* expected) {
    return KeyError(key, std::string("expected ") + expected + ", got " + TomlTypeName(node));
  };
  return std::visit(
      [&](auto* field) -> Result<void> {
        using T = std::remove_pointer_t<decltype(field)>;
        if constexpr (std::is_same_v<T, std::string>) {
          const auto* v = node.as_string();
          if (v == nullptr) return mismatch("a string");
          *field = v->get();
          return Ok();
        } else if constexpr (std::is_same_v<T, StringList> ||
                             std::is_same_v<T, std::optional<StringList>>) {
          const auto* arr = node.as_array();
          if (arr == nullptr) return mismatch("an array of strings");
          StringList out;
          for (const toml::node& item : *arr) {
            const auto* v = item.as_string();
            if (v == nullptr) {
              return KeyError(key, std::string("expected an array of strings, found ") +
                                       TomlTypeName(item) + " in it");
            }
            out.push_back(v->get());
          }
          *field = std::move(out);
          return Ok();
        } else if constexpr (std::is_same_v<T, bool>) {
          const auto* v = node.as_boolean();
          if (v == nullptr) return mismatch("a boolean");
          *field = v->get();
          return Ok();
        } else {
          const auto* v = node.as_integer();
          if (v == nullptr) return mismatch("an integer");
          return StoreInt(key, v->get(), field);
        }
      },
      target);
}

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

// "a, b,c" -> {"a", "b", "c"}; "" (or only spaces) -> {}. Empty items stay, so that "a,,b" is
// caught by the entry validation rather than silently dropped.
StringList SplitList(std::string_view value) {
  StringList out;
  if (TrimSpace(value).empty()) return out;
  while (true) {
    const std::size_t comma = value.find(',');
    out.emplace_back(TrimSpace(value.substr(0, comma)));
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

Result<void> SetFromEnv(std::string_view key, Target target, const std::string& var,
                        const std::string& value) {
  const std::string from = " (from environment variable " + var + ")";
  return std::visit(
      [&](auto* field) -> Result<void> {
        using T = std::remove_pointer_t<decltype(field)>;
        if constexpr (std::is_same_v<T, std::string>) {
          *field = value;
          return Ok();
        } else if constexpr (std::is_same_v<T, StringList> ||
                             std::is_same_v<T, std::optional<StringList>>) {
          *field = SplitList(value);
          return Ok();
        } else if constexpr (std::is_same_v<T, bool>) {
          std::string lower = value;
          std::transform(lower.begin(), lower.end(), lower.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
          if (lower == "true" || lower == "1") {
            *field = true;
          } else if (lower == "false" || lower == "0") {
            *field = false;
          } else {
            return KeyError(key, "expected a boolean (true, false, 1 or 0)" + from);
          }
          return Ok();
        } else {
          std::int64_t v = 0;
          const char* begin = value.data();
          const char* end = value.data() + value.size();
          const auto [ptr, ec] = std::from_chars(begin, end, v);
          if (value.empty() || ec != std::errc() || ptr != end) {
            return KeyError(key, "expected an integer" + from);
          }
          auto stored = StoreInt(key, v, field);
          if (!stored) return ConfigError(stored.error().message() + from);
          return Ok();
        }
      },
      target);
}

// Applies every key of `table` (at dotted `prefix`) to cfg; unknown keys are errors so that a
// typo never silently falls back to a default.
Result<void> ApplyTable(const toml::table& table, const std::string& prefix, Config& cfg) {
  for (auto&& [k, node] : table) {
    const std::string name =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const KeySpec* spec = FindKey(name); spec != nullptr) {
      SKR_TRY_VOID(SetFromToml(spec->name, spec->target(cfg), node));
    } else if (auto target = SectionTarget(name, cfg)) {
      SKR_TRY_VOID(SetFromToml(name, *target, node));
    } else if (IsSection(name, cfg)) {
      const toml::table* sub = node.as_table();
      if (sub == nullptr) {
        return KeyError(name, std::string("expected a table, got ") + TomlTypeName(node));
      }
      SKR_TRY_VOID(ApplyTable(*sub, name, cfg));
    } else {
      return ConfigError("unknown key '" + name + "'");
    }
  }
  return Ok();
}

// "host:port", "[v6]:port". host is stored without brackets, ready for an address parser.
Result<void> ParseListen(ServerConfig& s) {
  const std::string_view key = "server.listen";
  const std::string& l = s.listen;
  std::string host;
  std::string_view port;
  if (!l.empty() && l.front() == '[') {
    const std::size_t close = l.find(']');
    if (close == std::string::npos) return KeyError(key, "missing ']' in '" + l + "'");
    host = l.substr(1, close - 1);
    const std::string_view rest = std::string_view(l).substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      return KeyError(key, "expected [address]:port, got '" + l + "'");
    }
    port = rest.substr(1);
    if (host.find(':') == std::string::npos) {
      return KeyError(key, "brackets are for IPv6 addresses, got '" + l + "'");
    }
    for (const char c : host) {
      if (std::isxdigit(static_cast<unsigned char>(c)) == 0 && c != ':' && c != '.') {
        return KeyError(key, "invalid IPv6 address '" + host + "'");
      }
    }
  } else {
    const std::size_t colon = l.rfind(':');
    if (colon == std::string::npos) {
      return KeyError(key, "expected host:port (e.g. 127.0.0.1:8443), got '" + l + "'");
    }
    host = l.substr(0, colon);
    port = std::string_view(l).substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      return KeyError(key, "write IPv6 addresses in brackets, e.g. [::1]:8443");
    }
    for (const char c : host) {
      if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '.' && c != '-' && c != '_') {
        return KeyError(key, "invalid host '" + host + "'");
      }
    }
  }
  if (host.empty()) {
    return KeyError(key, "host is empty (use 0.0.0.0:port or [::]:port for all interfaces)");
  }
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || port.size() > 5 || ec != std::errc() || ptr != port.data() + port.size() ||
      value > 65535) {
    return KeyError(key, "port must be 0..65535 (0 picks a free port), got '" + std::string(port) + "'");
  }
  s.host = std::move(host);
  s.port = static_cast<std::uint16_t>(value);
  return Ok();
}

std::string Resolve(const fs::path& base, const std::string& p) {
  const fs::path path(p);
  if (path.is_absolute()) return path.lexically_normal().string();
  return (base / path).lexically_normal().string();
}

Result<void> Validate(Config& c, const fs::path& dir,
                      const std::map<std::string, std::string>& env) {
  // The fixed sections' checks, with full key names (the modules' sections use their own).
  const ConfigCheck top("", dir.string(), env);
  SKR_TRY_VOID(ParseListen(c.server));
  SKR_TRY_VOID(top.Require("server.tls_cert", c.server.tls_cert));
  SKR_TRY_VOID(top.Require("server.tls_key", c.server.tls_key));
  constexpr std::int64_t kMaxSize = std::int64_t{1} << 30;
  SKR_TRY_VOID(top.InRange("server.body_limit_bytes",
                            static_cast<std::int64_t>(c.server.body_limit_bytes), 1, kMaxSize));
  SKR_TRY_VOID(top.InRange("server.header_limit_bytes",
                            static_cast<std::int64_t>(c.server.header_limit_bytes), 1, kMaxSize));
  SKR_TRY_VOID(top.InRange("server.read_timeout_seconds", c.server.read_timeout_seconds, 1, 3600));
  SKR_TRY_VOID(top.InRange("server.write_timeout_seconds", c.server.write_timeout_seconds, 1, 3600));
  SKR_TRY_VOID(top.InRange("server.threads", c.server.threads, 0, 1024));
  SKR_TRY_VOID(top.InRange("server.max_connections", c.server.max_connections, 1, 1000000));
  SKR_TRY_VOID(
      top.InRange("server.handshake_timeout_seconds", c.server.handshake_timeout_seconds, 1, 600));
  SKR_TRY_VOID(top.InRange("server.max_connections_per_address", c.server.max_connections_per_address,
                       1, 1000000));
  SKR_TRY_VOID(top.InRange("server.challenge_rate_per_second", c.server.challenge_rate_per_second, 1,
                       1000000));
  SKR_TRY_VOID(top.InRange("server.challenge_burst", c.server.challenge_burst, 1, 1000000));
  SKR_TRY_VOID(
      top.InRange("server.release_rate_per_second", c.server.release_rate_per_second, 1, 1000000));
  SKR_TRY_VOID(top.InRange("server.release_burst", c.server.release_burst, 1, 1000000));
  SKR_TRY_VOID(
      top.InRange("server.max_tracked_addresses", c.server.max_tracked_addresses, 16, 10000000));
  SKR_TRY_VOID(top.InRange("server.workers", c.server.workers, 0, 1024));
  SKR_TRY_VOID(top.InRange("server.queue_limit", c.server.queue_limit, 1, 1000000));
  SKR_TRY_VOID(top.InRange("server.queue_timeout_ms", c.server.queue_timeout_ms, 1, 600000));
  SKR_TRY_VOID(top.Require("storage.path", c.storage.path));
  if (c.master_key.provider != "file") {
    return KeyError("master_key.provider",
                    "unsupported provider '" + c.master_key.provider + "' (supported: file)");
  }
  SKR_TRY_VOID(top.Require("master_key.path", c.master_key.path));
  SKR_TRY_VOID(top.InRange("release.nonce_ttl_seconds", c.release.nonce_ttl_seconds, 1, 86400));
  SKR_TRY_VOID(top.InRange("audit.busy_timeout_ms", c.audit.busy_timeout_ms, 1, 600000));
  SKR_TRY_VOID(top.InRange("audit.unknown_release_interval_seconds",
                       c.audit.unknown_release_interval_seconds, 1, 86400));
  SKR_TRY_VOID(top.InRange("audit.max_batch", c.audit.max_batch, 1, 512));
  SKR_TRY_VOID(top.InRange("audit.replay_retention_days", c.audit.replay_retention_days, 0, 36500));
  SKR_TRY_VOID(top.InRange("audit.checkpoint_interval_seconds", c.audit.checkpoint_interval_seconds,
                       1, 86400));

  // Relative paths are relative to the config file (DESIGN.md section 9).
  c.server.tls_cert = Resolve(dir, c.server.tls_cert);
  c.server.tls_key = Resolve(dir, c.server.tls_key);
  c.storage.path = Resolve(dir, c.storage.path);
  if (c.storage.audit_path.empty()) {
    c.storage.audit_path = (fs::path(c.storage.path).parent_path() / "audit.db").string();
  } else {
    c.storage.audit_path = Resolve(dir, c.storage.audit_path);
  }
  if (c.storage.audit_path == c.storage.path) {
    return KeyError("storage.audit_path", "must differ from storage.path");
  }
  c.master_key.path = Resolve(dir, c.master_key.path);
  if (c.audit.signing_key.empty()) {
    c.audit.signing_key =
        (fs::path(c.master_key.path).parent_path() / "audit-signing.key").string();
  } else {
    c.audit.signing_key = Resolve(dir, c.audit.signing_key);
  }
  // The modules' sections validate (and resolve their paths) themselves.
  for (const auto& [name, section] : c.sections.all()) {
    SKR_TRY_VOID(section->Validate(ConfigCheck(name, dir.string(), env)));
  }
  return Ok();
}

Result<fs::path> AbsoluteDir(const std::string& dir) {
  std::error_code ec;
  fs::path p = fs::absolute(dir.empty() ? fs::path(".") : fs::path(dir), ec);
  if (ec) return ConfigError("config directory '" + dir + "': " + ec.message());
  p = p.lexically_normal();
  // "/a/b/" -> "/a/b" (but keep "/").
  if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path();
  return p;
}

}  // namespace

Result<Config> ParseConfig(std::string_view toml_text, const std::string& config_dir,
                           const std::map<std::string, std::string>& env,
                           const SectionList& sections) {
  SKR_TRY(const fs::path dir, AbsoluteDir(config_dir));
  toml::table table;
  try {
    table = toml::parse(toml_text, std::string_view("config"));
  } catch (const toml::parse_error& e) {
    const auto& pos = e.source().begin;
    return ConfigError("config syntax error at line " + std::to_string(pos.line) + ", column " +
                       std::to_string(pos.column) + ": " + std::string(e.description()));
  } catch (const std::exception& e) {  // toml++ throws nothing else documented; stay safe
    return ConfigError(std::string("config cannot be parsed: ") + e.what());
  }

  Config cfg;
  for (const auto& section : sections) cfg.sections.Add(section->Clone());
  SKR_TRY_VOID(ApplyTable(table, "", cfg));
  // Environment overrides win over the file. Other SKR_* variables (SKR_ADDR, SKR_TOKEN, ... of
  // the clients) are not config keys and are ignored.
  for (const KeySpec& spec : kKeys) {
    const std::string var = EnvName(spec.name);
    if (const auto it = env.find(var); it != env.end()) {
      SKR_TRY_VOID(SetFromEnv(spec.name, spec.target(cfg), var, it->second));
    }
  }
  for (const auto& [name, section] : cfg.sections.all()) {
    for (const ConfigKeyRef& k : section->Keys()) {
      const std::string key = name + "." + std::string(k.key);
      const std::string var = EnvName(key);
      if (const auto it = env.find(var); it != env.end()) {
        SKR_TRY_VOID(SetFromEnv(key, k.target, var, it->second));
      }
    }
  }
  SKR_TRY_VOID(Validate(cfg, dir, env));
  cfg.config_dir = dir.string();
  return cfg;
}

Result<Config> LoadConfig(const std::string& path, const SectionList& sections) {
  std::error_code ec;
  const fs::path p(path);
  const auto status = fs::status(p, ec);
  if (!fs::exists(status)) {
    return Error(ErrorCode::kNotFound, "config file not found: " + path, "config_not_found");
  }
  if (fs::is_directory(status)) return ConfigError("config file " + path + " is a directory");
  std::ifstream in(p, std::ios::binary);
  if (!in) return ConfigError("cannot read config file " + path);
  std::string text;
  text.resize(kMaxConfigBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes) return ConfigError("config file " + path + " is too large");
  const fs::path abs = fs::absolute(p, ec);
  if (ec) return ConfigError("config file " + path + ": " + ec.message());
  auto cfg = ParseConfig(text, abs.lexically_normal().parent_path().string(), SkrEnvironment(),
                         sections);
  if (!cfg)
    return Error(cfg.error().code(), path + ": " + cfg.error().message(), cfg.error().reason());
  return cfg;
}

std::map<std::string, std::string> SkrEnvironment() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (entry.rfind("SKR_", 0) != 0) continue;
    const std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return out;
}

}  // namespace skr::config
