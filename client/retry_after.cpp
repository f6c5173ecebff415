// SPDX-License-Identifier: Apache-2.0
// Retry-After (RFC 9110 section 10.2.3) and HTTP-date (RFC 9110 section 5.6.7) parsing.
#include "client/retry_after.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace skr::client {
namespace {

// --- HTTP-date (RFC 9110 section 5.6.7) ----------------------------------------------------------
constexpr std::array<std::string_view, 7> kDayNames = {"Mon", "Tue", "Wed", "Thu",
                                                       "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kDayNamesLong = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }  // ASCII only, unlike a locale's isdigit

// Reads an HTTP-date left to right; every method consumes only on success. Names are
// case-sensitive (section 5.6.7: "HTTP-date is case sensitive").
class DateReader {
 public:
  explicit DateReader(std::string_view text) : rest_(text) {}
  bool Literal(std::string_view lit) {
    if (!rest_.starts_with(lit)) return false;
    rest_.remove_prefix(lit.size());
    return true;
  }
  bool Peek(char c) const { return !rest_.empty() && rest_.front() == c; }
  // Exactly `n` ASCII digits.
  std::optional<int> Digits(std::size_t n) {
    if (rest_.size() < n) return std::nullopt;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!IsDigit(rest_[i])) return std::nullopt;
      v = v * 10 + (rest_[i] - '0');
    }
    rest_.remove_prefix(n);
    return v;
  }
  // 0-based index of the name in `names` that `rest` starts with.
  template <std::size_t N>
  std::optional<unsigned> Name(const std::array<std::string_view, N>& names) {
    for (std::size_t i = 0; i < N; ++i) {
      if (Literal(names[i])) return static_cast<unsigned>(i);
    }
    return std::nullopt;
  }
  // time-of-day = hour ":" minute ":" second; second 60 is a leap second.
  std::optional<std::chrono::seconds> TimeOfDay() {
    const auto h = Digits(2);
    if (!h || *h > 23 || !Literal(":")) return std::nullopt;
    const auto m = Digits(2);
    if (!m || *m > 59 || !Literal(":")) return std::nullopt;
    const auto sec = Digits(2);
    if (!sec || *sec > 60) return std::nullopt;
    return std::chrono::hours(*h) + std::chrono::minutes(*m) + std::chrono::seconds(*sec);
  }
  bool AtEnd() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

std::optional<std::chrono::system_clock::time_point> MakeTime(int year, unsigned month_index,
                                                              int day,
                                                              std::chrono::seconds time_of_day) {
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(month_index + 1),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;  // 31 Apr, 29 Feb 2026, day 00 ...
  return std::chrono::sys_days(ymd) + time_of_day;
}

// IMF-fixdate = day-name "," SP 2DIGIT SP month SP 4DIGIT SP time-of-day SP "GMT"
std::optional<std::chrono::system_clock::time_point> ParseImfFixdate(std::string_view text) {
  DateReader r(text);
  if (!r.Name(kDayNames) || !r.Literal(", ")) return std::nullopt;
  const auto day = r.Digits(2);
  if (!day || !r.Literal(" ")) return std::nullopt;
  const auto month = r.Name(kMonthNames);
  if (!month || !r.Literal(" ")) return std::nullopt;
  const auto year = r.Digits(4);
  if (!year || !r.Literal(" ")) return std::nullopt;
  const auto tod = r.TimeOfDay();
  if (!tod || !r.Literal(" GMT") || !r.AtEnd()) return std::nullopt;
  return MakeTime(*year, *month, *day, *tod);
}

// rfc850-date = day-name-l "," SP 2DIGIT "-" month "-" 2DIGIT SP time-of-day SP "GMT"
std::optional<std::chrono::system_clock::time_point> ParseRfc850Date(
    std::string_view text, std::chrono::system_clock::time_point now) {
  DateReader r(text);
  if (!r.Name(kDayNamesLong) || !r.Literal(", ")) return std::nullopt;
  const auto day = r.Digits(2);
  if (!day || !r.Literal("-")) return std::nullopt;
  const auto month = r.Name(kMonthNames);
  if (!month || !r.Literal("-")) return std::nullopt;
  const auto yy = r.Digits(2);
  if (!yy || !r.Literal(" ")) return std::nullopt;
  const auto tod = r.TimeOfDay();
  if (!tod || !r.Literal(" GMT") || !r.AtEnd()) return std::nullopt;
  // "a timestamp that appears to be more than 50 years in the future" is the past century.
  const int this_year = static_cast<int>(
      std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(now)).year());
  int year = this_year - this_year % 100 + *yy;
  if (year > this_year + 50) year -= 100;
  return MakeTime(year, *month, *day, *tod);
}

// asctime-date = day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP 4DIGIT
std::optional<std::chrono::system_clock::time_point> ParseAsctimeDate(std::string_view text) {
  DateReader r(text);
  if (!r.Name(kDayNames) || !r.Literal(" ")) return std::nullopt;
  const auto month = r.Name(kMonthNames);
  if (!month || !r.Literal(" ")) return std::nullopt;
  const auto day = r.Literal(" ") ? r.Digits(1) : r.Digits(2);
  if (!day || !r.Literal(" ")) return std::nullopt;
  const auto tod = r.TimeOfDay();
  if (!tod || !r.Literal(" ")) return std::nullopt;
  const auto year = r.Digits(4);
  if (!year || !r.AtEnd()) return std::nullopt;
  return MakeTime(*year, *month, *day, *tod);
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> ParseHttpDate(
    std::string_view text, std::chrono::system_clock::time_point now) {
  if (auto t = ParseImfFixdate(text)) return t;
  if (auto t = ParseRfc850Date(text, now)) return t;
  return ParseAsctimeDate(text);
}

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value,
                                                    std::chrono::system_clock::time_point now) {
  // RFC 9110 section 5.5: leading and trailing whitespace is not part of the field value.
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  // delta-seconds = 1*DIGIT (section 10.2.3); saturate instead of overflowing.
  if (std::all_of(value.begin(), value.end(), IsDigit)) {
    std::int64_t secs = 0;
    for (const char c : value) {
      secs = secs * 10 + (c - '0');
      if (secs > kMaxRetryAfter.count()) return kMaxRetryAfter;
    }
    return std::chrono::seconds(secs);
  }
  auto date = ParseHttpDate(value, now);
  if (!date) return std::nullopt;
  if (*date <= now) return std::chrono::seconds(0);
  // Rounded up: the server's date is a time not to come back before.
  return std::min(std::chrono::ceil<std::chrono::seconds>(*date - now), kMaxRetryAfter);
}

}  // namespace skr::client
