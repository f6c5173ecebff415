// SPDX-License-Identifier: Apache-2.0
// Retry-After (RFC 9110 section 10.2.3) and HTTP-date (RFC 9110 section 5.6.7) parsing for the
// skrd API client. Pure functions: no I/O, no clock reads (the caller passes `now`).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace skr::client {

// Longest wait a Retry-After may ask for; larger values are clamped to it, so a bad or hostile
// server cannot park the agent (the agent's --deadline bounds the wait further).
inline constexpr std::chrono::seconds kMaxRetryAfter{300};

// Parses an HTTP-date (RFC 9110 section 5.6.7): IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", and
// the obsolete forms recipients must also accept, rfc850-date "Sunday, 06-Nov-94 08:49:37 GMT"
// (a two-digit year more than 50 years ahead of `now` is read as the past century) and
// asctime-date "Sun Nov  6 08:49:37 1994". Pure; nullopt for anything else (bad names, out of
// range fields, trailing bytes).
std::optional<std::chrono::system_clock::time_point> ParseHttpDate(
    std::string_view text, std::chrono::system_clock::time_point now);

// Parses a Retry-After field value (RFC 9110 section 10.2.3): delta-seconds (1*DIGIT) or an
// HTTP-date, the latter taken relative to `now` (a date in the past means 0). Surrounding spaces
// and tabs are ignored. The result is clamped to [0, kMaxRetryAfter]; a value with too many
// digits clamps too. Pure; nullopt for an empty, negative, fractional or otherwise malformed
// value, which callers treat as if the field were absent.
std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value,
                                                    std::chrono::system_clock::time_point now);

}  // namespace skr::client
