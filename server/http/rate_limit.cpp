// SPDX-License-Identifier: Apache-2.0
#include "server/http/rate_limit.h"

#include <algorithm>
#include <array>
#include <boost/asio/ip/address.hpp>
#include <cmath>
#include <cstdio>

namespace skr::server::http {

std::string SourceKey(std::string_view address) {
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(std::string(address), ec);
  if (ec) return std::string(address);
  if (addr.is_v4()) return addr.to_v4().to_string();
  const auto v6 = addr.to_v6();
  if (v6.is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  }
  // The /64 prefix: the first 8 bytes, the rest zero.
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

RateLimiter::RateLimiter(double rate, double burst, std::size_t max_sources)
    : rate_(rate), burst_(burst), max_sources_(std::max<std::size_t>(max_sources, 1)) {
  MutexLock lock(mu_);
  overflow_ = Bucket{burst_, Clock::now()};
  last_prune_ = Clock::time_point{};
}

void RateLimiter::Refill(Bucket& b, Clock::time_point now) const {
  if (now <= b.last) return;
  const double elapsed = std::chrono::duration<double>(now - b.last).count();
  b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  b.last = now;
}

void RateLimiter::PruneLocked(Clock::time_point now) {
  if (now - last_prune_ < std::chrono::seconds(1)) return;
  last_prune_ = now;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    Refill(it->second, now);
    if (it->second.tokens >= burst_) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

int RateLimiter::Take(const std::string& source, Clock::time_point now) {
  MutexLock lock(mu_);
  auto it = buckets_.find(source);
  Bucket* b = nullptr;
  if (it != buckets_.end()) {
    b = &it->second;
  } else {
    if (buckets_.size() >= max_sources_) PruneLocked(now);
    if (buckets_.size() >= max_sources_) {
      b = &overflow_;
    } else {
      b = &buckets_.emplace(source, Bucket{burst_, now}).first->second;
    }
  }
  Refill(*b, now);
  if (b->tokens >= 1.0) {
    b->tokens -= 1.0;
    return 0;
  }
  const double wait = (1.0 - b->tokens) / rate_;
  return std::max(1, static_cast<int>(std::ceil(wait)));
}

std::size_t RateLimiter::size() const {
  MutexLock lock(mu_);
  return buckets_.size();
}

bool ConnectionCounter::TryAdd(const std::string& source) {
  MutexLock lock(mu_);
  int& n = open_[source];
  if (n >= max_) {
    if (n == 0) open_.erase(source);
    return false;
  }
  ++n;
  return true;
}

void ConnectionCounter::Remove(const std::string& source) {
  MutexLock lock(mu_);
  auto it = open_.find(source);
  if (it == open_.end()) return;
  if (--it->second <= 0) open_.erase(it);
}

}  // namespace skr::server::http
