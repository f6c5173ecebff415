// SPDX-License-Identifier: Apache-2.0
#include "server/broker/unknown_releases.h"

#include "common/clock.h"

namespace skr::server {

void UnknownReleaseAggregator::Note(const std::string& source, const std::string& reason,
                                    std::int64_t now) {
  std::lock_guard<std::mutex> lock(mu_);
  ++total_;
  auto it = pending_.find(source);
  if (it == pending_.end()) {
    std::string key = pending_.size() < max_sources_ ? source : std::string("*");
    if (key.empty()) key = "unknown";
    it = pending_.try_emplace(key).first;
  }
  Count& c = it->second;
  if (c.n == 0) c.first = now;
  ++c.n;
  c.last = now;
  // Reasons are fixed slugs chosen by skrd, never client text; bounded anyway.
  if (c.reasons.size() < 8 || c.reasons.count(reason) != 0) ++c.reasons[reason];
}

std::vector<audit::Record> UnknownReleaseAggregator::Drain() {
  std::map<std::string, Count> drained;
  {
    std::lock_guard<std::mutex> lock(mu_);
    drained.swap(pending_);
  }
  std::vector<audit::Record> out;
  out.reserve(drained.size());
  for (const auto& [source, c] : drained) {
    audit::Record rec;
    rec.kind = "release";
    rec.action = "release.unknown_key";
    rec.actor = "attester";
    rec.decision = "denied";
    std::string reasons;
    for (const auto& [r, n] : c.reasons) {
      if (!reasons.empty()) reasons += ", ";
      reasons += r + " x" + std::to_string(n);
    }
    rec.reason = "aggregated: " + std::to_string(c.n) +
                 " releases naming unknown tenants or keys from " +
                 (source == "*" ? std::string("other sources") : source) + " between " +
                 FormatRfc3339(c.first) + " and " + FormatRfc3339(c.last) + " (" + reasons + ")";
    out.push_back(std::move(rec));
  }
  return out;
}

std::uint64_t UnknownReleaseAggregator::total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

}  // namespace skr::server
