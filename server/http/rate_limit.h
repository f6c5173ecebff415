// SPDX-License-Identifier: Apache-2.0
// Limits that isolate clients (issue 10): token buckets and connection counts per source
// address, so a flood from one address does not change what other addresses get. A source is
// an IPv4 address, or the /64 prefix of an IPv6 address (one customer site or host usually owns
// a whole /64); IPv4-mapped IPv6 addresses count as their IPv4 address.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/thread_annotations.h"

namespace skr::server::http {

// "192.0.2.7", "2001:db8:1:2::/64"; the input is an address as Asio prints it. Input that is not
// an IP address is returned as is (it can only come from tests).
std::string SourceKey(std::string_view address);

// Token buckets keyed by source: `rate` tokens per second up to `burst`. Thread-safe. The table
// holds at most `max_sources` entries: when full, buckets that have refilled completely (idle
// sources, indistinguishable from new ones) are dropped; if none has, the new source shares one
// overflow bucket (a full table is scanned at most once a second), so a spray of addresses cannot grow memory or reset other sources' buckets.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  RateLimiter(double rate, double burst, std::size_t max_sources);
  // Takes one token. Returns 0 when admitted, else the seconds until a token is available
  // (>= 1, for Retry-After).
  int Take(const std::string& source, Clock::time_point now = Clock::now());
  std::size_t size() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  void Refill(Bucket& b, Clock::time_point now) const;
  void PruneLocked(Clock::time_point now) SKR_REQUIRES(mu_);

  const double rate_;
  const double burst_;
  const std::size_t max_sources_;
  mutable Mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_ SKR_GUARDED_BY(mu_);
  Bucket overflow_ SKR_GUARDED_BY(mu_);
  Clock::time_point last_prune_ SKR_GUARDED_BY(mu_);
};

// Open connections per source. Thread-safe.
class ConnectionCounter {
 public:
  explicit ConnectionCounter(int max_per_source) : max_(max_per_source) {}
  // Counts a new connection unless the source already has max_per_source open.
  bool TryAdd(const std::string& source);
  void Remove(const std::string& source);

 private:
  const int max_;
  Mutex mu_;
  std::unordered_map<std::string, int> open_ SKR_GUARDED_BY(mu_);
};

}  // namespace skr::server::http
