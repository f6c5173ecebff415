// SPDX-License-Identifier: Apache-2.0
#include "server/broker/release_caches.h"

namespace skr::server {
namespace {

std::string CacheKey(std::string_view tenant, std::string_view key) {
  // Names cannot contain '|' (keystore::IsValidName), so the key is unambiguous.
  std::string out(tenant);
  out += '|';
  out += key;
  return out;
}

}  // namespace

std::optional<keystore::KeyInfo> KeyInfoCache::Find(std::string_view tenant,
                                                    std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(CacheKey(tenant, key));
  if (it == entries_.end()) return std::nullopt;
  if (Clock::now() - it->second.at > ttl_) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.info;
}

std::uint64_t KeyInfoCache::generation() {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

void KeyInfoCache::PutIfCurrent(const keystore::KeyInfo& info, std::uint64_t generation) {
  std::lock_guard<std::mutex> lock(mu_);
  if (generation != generation_) return;
  if (entries_.size() >= max_) entries_.clear();
  entries_.insert_or_assign(CacheKey(info.tenant, info.name), Entry{info, Clock::now()});
}

void KeyInfoCache::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.clear();
  ++generation_;
}

Result<std::shared_ptr<const policy::Policy>> PolicyCache::Get(
    const keystore::PolicyRecord& record) {
  const std::string key =
      CacheKey(record.tenant, record.name) + "|" + std::to_string(record.version);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.document == record.document) return it->second.policy;
  }
  auto parsed = policy::Policy::ParseText(record.document);
  if (!parsed) {
    return Error(ErrorCode::kInternal, "stored policy does not parse", "policy_invalid");
  }
  auto shared = std::make_shared<const policy::Policy>(std::move(parsed).value());
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.size() >= max_) entries_.clear();
  entries_.insert_or_assign(key, Entry{record.document, shared});
  return shared;
}

}  // namespace skr::server
