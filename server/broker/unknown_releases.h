// SPDX-License-Identifier: Apache-2.0
// Releases naming a tenant or key that does not exist are not worth an fsync each (issue 10,
// DESIGN.md section 6): they are counted per source and written as one aggregated audit record
// per (source, interval). A real key's denials stay individual records. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "audit/audit.h"

namespace skr::server {

class UnknownReleaseAggregator {
 public:
  // At most `max_sources` distinct sources per interval; the rest are counted under "*".
  explicit UnknownReleaseAggregator(std::size_t max_sources) : max_sources_(max_sources) {}
  // One release that named an unknown tenant or key, from `source`, at `now`, refused with
  // `reason` (e.g. "key_not_found").
  void Note(const std::string& source, const std::string& reason, std::int64_t now);
  // The records for everything noted so far (one per source), and a fresh interval.
  std::vector<audit::Record> Drain();
  std::uint64_t total() const;

 private:
  struct Count {
    std::uint64_t n = 0;
    std::int64_t first = 0;
    std::int64_t last = 0;
    std::map<std::string, std::uint64_t> reasons;
  };
  const std::size_t max_sources_;
  mutable std::mutex mu_;
  std::map<std::string, Count> pending_;  // guarded by mu_
  std::uint64_t total_ = 0;               // guarded by mu_
};

}  // namespace skr::server
