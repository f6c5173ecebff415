// SPDX-License-Identifier: Apache-2.0
// Injected time source, so that tests pin time (expired nonces, certificate validity).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace skr {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch.
  virtual std::int64_t NowUnix() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t NowUnix() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t now) : now_(now) {}
  std::int64_t NowUnix() const override { return now_.load(); }
  void Set(std::int64_t now) { now_.store(now); }
  void Advance(std::int64_t seconds) { now_.fetch_add(seconds); }

 private:
  std::atomic<std::int64_t> now_;
};

// RFC 3339 UTC timestamp, e.g. "2026-11-28T01:22:22Z".
std::string FormatRfc3339(std::int64_t unix_seconds);

// Unix seconds of an RFC 3339 date-time (section 5.6): "YYYY-MM-DDTHH:MM:SS", an optional
// fraction (ignored: whole seconds), then "Z" or "+HH:MM" / "-HH:MM". 't'/'z' accepted as the RFC
// allows; leap second 60 refused. nullopt for anything else.
std::optional<std::int64_t> ParseRfc3339(std::string_view text);

}  // namespace skr
