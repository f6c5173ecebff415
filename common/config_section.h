// SPDX-License-Identifier: Apache-2.0
// A config section a module owns (DESIGN.md sections 1, 7 and 9; issue 13, the TEE seam): each
// TEE folder under attestation/ declares its options struct, the keys of its `[attestation.<tee>]`
// table and their validation here, in terms config/ can parse without knowing the TEE. config/
// reads the TOML file and the SKR_* environment into the targets a section names and then calls
// its Validate; the server's verifier table (server/verifiers.cpp) lists the sections skrd has.
// Only plain types: no TOML library, no I/O.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace skr {

using ConfigStringList = std::vector<std::string>;
// Where a key's value goes. Lists are TOML arrays of strings, or comma-separated in the
// environment; an optional list stays nullopt when the key is not set anywhere.
using ConfigTarget = std::variant<std::string*, bool*, int*, std::size_t*, ConfigStringList*,
                                  std::optional<ConfigStringList>*>;

struct ConfigKeyRef {
  std::string_view key;  // within the section: "crl_file" of [attestation.snp]
  ConfigTarget target;
};

// What a section's validation may use: errors named by key (`<section>.<key>: ...`, the
// config's wording), where a value came from, and path resolution against the config file's
// directory.
class ConfigCheck {
 public:
  ConfigCheck(std::string section, std::string config_dir,
              const std::map<std::string, std::string>& env)
      : section_(std::move(section)), dir_(std::move(config_dir)), env_(env) {}
  // "<section>.<key>"; the key itself for the top level (section "").
  std::string FullName(std::string_view key) const {
    return section_.empty() ? std::string(key) : section_ + "." + std::string(key);
  }
  // kInvalidArgument "invalid_config", message "<section>.<key>: <message>".
  Error KeyError(std::string_view key, std::string_view message) const;
  // " (from environment variable SKR_...)" when the environment set `key`, else "".
  std::string SourceOf(std::string_view key) const;
  Result<void> Require(std::string_view key, const std::string& value) const;
  Result<void> InRange(std::string_view key, std::int64_t value, std::int64_t lo,
                       std::int64_t hi) const;
  // Every entry 96 lowercase hex characters (a 48-byte digest).
  Result<void> HexDigestList(std::string_view key, const ConfigStringList& list) const;
  // A non-empty relative path made absolute against the config file's directory.
  void ResolvePath(std::string& path) const;

 private:
  std::string section_;
  std::string dir_;
  const std::map<std::string, std::string>& env_;
};

// The environment variable of a dotted key: SKR_ + upper(key with '.' -> '_').
std::string ConfigEnvName(std::string_view dotted_key);

class ConfigSectionBase {
 public:
  virtual ~ConfigSectionBase() = default;
  virtual std::string_view name() const = 0;  // "attestation.snp"
  virtual std::vector<ConfigKeyRef> Keys() = 0;
  virtual Result<void> Validate(const ConfigCheck& check) = 0;
  virtual std::shared_ptr<ConfigSectionBase> Clone() const = 0;
};

// A section holding options T; T::kSection names its table. Keys and validation are the owning
// module's functions (null: a holder without parsing, e.g. a default Config in a test).
template <typename T>
class ConfigSection final : public ConfigSectionBase {
 public:
  using KeysFn = std::vector<ConfigKeyRef> (*)(T&);
  using ValidateFn = Result<void> (*)(T&, const ConfigCheck&);
  explicit ConfigSection(KeysFn keys = nullptr, ValidateFn validate = nullptr)
      : keys_(keys), validate_(validate) {}
  std::string_view name() const override { return T::kSection; }
  std::vector<ConfigKeyRef> Keys() override {
    return keys_ != nullptr ? keys_(options) : std::vector<ConfigKeyRef>{};
  }
  Result<void> Validate(const ConfigCheck& check) override {
    return validate_ != nullptr ? validate_(options, check) : Ok();
  }
  std::shared_ptr<ConfigSectionBase> Clone() const override {
    return std::make_shared<ConfigSection<T>>(*this);
  }
  T options;

 private:
  KeysFn keys_;
  ValidateFn validate_;
};

// The sections of one parsed config, by name.
class ConfigSections {
 public:
  void Add(std::shared_ptr<ConfigSectionBase> section) {
    const std::string n(section->name());
    sections_[n] = std::move(section);
  }
  ConfigSectionBase* Find(std::string_view name) const {
    auto it = sections_.find(std::string(name));
    return it == sections_.end() ? nullptr : it->second.get();
  }
  // T's options; defaults when the section was not parsed.
  template <typename T>
  const T& Get() const {
    if (auto* s = dynamic_cast<ConfigSection<T>*>(Find(T::kSection))) return s->options;
    static const T kDefaults{};
    return kDefaults;
  }
  // T's options to change (tests, tools): the section is added when absent.
  template <typename T>
  T& Mutable() {
    auto* s = dynamic_cast<ConfigSection<T>*>(Find(T::kSection));
    if (s == nullptr) {
      auto made = std::make_shared<ConfigSection<T>>();
      s = made.get();
      Add(std::move(made));
    }
    return s->options;
  }
  const std::map<std::string, std::shared_ptr<ConfigSectionBase>>& all() const { return sections_; }

 private:
  std::map<std::string, std::shared_ptr<ConfigSectionBase>> sections_;
};

}  // namespace skr
