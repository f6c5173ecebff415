// SPDX-License-Identifier: Apache-2.0
// Caches on the release hot path (issue 10): key metadata (invalidated by every admin change
// this skrd makes, and expiring after a few seconds so a change made through another replica is
// seen soon) and parsed policies (keyed by tenant, name and version, and checked against the
// stored document, so a tenant deleted and re-created with a new "v1" never gets the old one).
// Neither holds key material. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "keystore/keystore.h"
#include "policy/policy.h"

namespace skr::server {

class KeyInfoCache {
 public:
  using Clock = std::chrono::steady_clock;
  KeyInfoCache(Clock::duration ttl, std::size_t max_entries) : ttl_(ttl), max_(max_entries) {}
  std::optional<keystore::KeyInfo> Find(std::string_view tenant, std::string_view key);
  // Read generation() before the keystore lookup that missed and pass it here: a lookup that
  // raced with an admin change (Clear) does not re-insert what it read before the change.
  std::uint64_t generation();
  void PutIfCurrent(const keystore::KeyInfo& info, std::uint64_t generation);
  void Clear();

 private:
  struct Entry {
    keystore::KeyInfo info;
    Clock::time_point at;
  };
  const Clock::duration ttl_;
  const std::size_t max_;
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;  // guarded by mu_
  std::uint64_t generation_ = 0;                       // guarded by mu_
};

class PolicyCache {
 public:
  explicit PolicyCache(std::size_t max_entries) : max_(max_entries) {}
  // The parsed form of `record`, parsing (and caching) it on a miss. kInternal when the stored
  // document does not parse.
  Result<std::shared_ptr<const policy::Policy>> Get(const keystore::PolicyRecord& record);

 private:
  struct Entry {
    std::string document;
    std::shared_ptr<const policy::Policy> policy;
  };
  const std::size_t max_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;  // guarded by mu_
};

}  // namespace skr::server
