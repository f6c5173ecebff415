// SPDX-License-Identifier: Apache-2.0
// RFC 3339 timestamps (section 5.6) both ways: what `skrctl audit entries --since` and the
// auditor API's since/until accept.
#include <catch2/catch.hpp>

#include "common/clock.h"

TEST_CASE("ParseRfc3339: UTC, offsets and fractions; FormatRfc3339 round trips", "[common][unit]") {
  CHECK(skr::ParseRfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(skr::ParseRfc3339("2026-11-28T01:22:22Z") == 1795828942);
  CHECK(skr::ParseRfc3339("2026-11-28t01:22:22z") == 1795828942);
  CHECK(skr::ParseRfc3339("2026-11-28T01:22:22.123456Z") == 1795828942);
  CHECK(skr::ParseRfc3339("2026-11-28T02:22:22+01:00") == 1795828942);
  CHECK(skr::ParseRfc3339("2026-11-27T20:52:22-04:30") == 1795828942);
  CHECK(skr::ParseRfc3339("2024-02-29T12:00:00Z") == 1709208000);  // leap day
  for (std::int64_t t : {0LL, 951782400LL, 1795828942LL, 4102444799LL}) {
    CHECK(skr::ParseRfc3339(skr::FormatRfc3339(t)) == t);
  }
}

TEST_CASE("ParseRfc3339: refuses what is not RFC 3339", "[common][unit]") {
  for (const char* bad : {"", "2026-11-28", "2026-11-28T01:22:22", "2026-11-28 01:22:22Z",
                          "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
                          "2026-11-28T24:00:00Z", "2026-11-28T01:60:00Z", "2026-11-28T01:22:60Z",
                          "2026-11-28T01:22:22.Z", "2026-11-28T01:22:22+0100",
                          "2026-11-28T01:22:22+01:00x", "2026-11-28T01:22:22ZZ", "1795828942",
                          "+026-11-28T01:22:22Z", "2026-1a-28T01:22:22Z"}) {
    INFO(bad);
    CHECK_FALSE(skr::ParseRfc3339(bad).has_value());
  }
}
