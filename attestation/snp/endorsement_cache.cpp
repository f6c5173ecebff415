// SPDX-License-Identifier: Apache-2.0
#include "attestation/snp/endorsement_cache.h"

#include <utility>

namespace skr::attestation::snp {

std::shared_ptr<const CachedEndorsement> EndorsementCache::Find(const OfferDigest& digest) const {
  MutexLock lock(mu_);
  auto it = entries_.find(digest);
  return it == entries_.end() ? nullptr : it->second;
}

void EndorsementCache::Insert(const OfferDigest& digest,
                              std::shared_ptr<const CachedEndorsement> entry) {
  if (capacity_ == 0 || !entry) return;
  std::shared_ptr<const CachedEndorsement> evicted;  // released after the lock
  MutexLock lock(mu_);
  auto [it, inserted] = entries_.try_emplace(digest, nullptr);
  evicted = std::exchange(it->second, std::move(entry));
  if (!inserted) return;
  order_.push_back(digest);
  if (order_.size() > capacity_) {
    auto old = entries_.find(order_.front());
    if (old != entries_.end()) {
      evicted = std::move(old->second);
      entries_.erase(old);
    }
    order_.pop_front();
  }
}

std::size_t EndorsementCache::size() const {
  MutexLock lock(mu_);
  return entries_.size();
}

}  // namespace skr::attestation::snp
