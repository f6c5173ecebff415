// SPDX-License-Identifier: Apache-2.0
#include "common/byte_reader.h"

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>

#include "tests/support/test_support.h"

using skr::ByteReader;
using skr::ErrorCode;
using skr::test::CodeOf;

namespace {
constexpr std::array<std::uint8_t, 15> kData = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                                0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
}  // namespace

TEST_CASE("ByteReader: little-endian reads assemble bytes in order", "[common][unit]") {
  ByteReader r(kData);
  CHECK(*r.U8() == 0x01);
  CHECK(*r.U16Le() == 0x0302);
  CHECK(*r.U32Le() == 0x07060504u);
  CHECK(*r.U64Le() == 0x0f0e0d0c0b0a0908ull);
  CHECK(r.remaining() == 0);
  CHECK(r.position() == kData.size());
}

TEST_CASE("ByteReader: big-endian reads assemble bytes in order", "[common][unit]") {
  ByteReader r(kData);
  CHECK(*r.U16Be() == 0x0102);
  CHECK(*r.U32Be() == 0x03040506u);
  CHECK(*r.U64Be() == 0x0708090a0b0c0d0eull);
  CHECK(r.remaining() == 1);
}

TEST_CASE("ByteReader: Take and Skip move the position", "[common][unit]") {
  ByteReader r(kData);
  auto first = r.Take(3);
  REQUIRE(first.has_value());
  CHECK(first->size() == 3);
  CHECK((*first)[2] == 0x03);
  REQUIRE(r.Skip(2).has_value());
  CHECK(r.position() == 5);
  CHECK(*r.U8() == 0x06);
  auto none = r.Take(0);
  REQUIRE(none.has_value());
  CHECK(none->empty());
}

TEST_CASE("ByteReader: truncated input is kMalformedEvidence and does not advance",
          "[common][unit]") {
  ByteReader r(std::span<const std::uint8_t>(kData).first(3));
  SECTION("U32") { CHECK(CodeOf(r.U32Le()) == ErrorCode::kMalformedEvidence); }
  SECTION("U32 big-endian") { CHECK(CodeOf(r.U32Be()) == ErrorCode::kMalformedEvidence); }
  SECTION("U64") { CHECK(CodeOf(r.U64Le()) == ErrorCode::kMalformedEvidence); }
  SECTION("Take") { CHECK(CodeOf(r.Take(4)) == ErrorCode::kMalformedEvidence); }
  SECTION("Skip") { CHECK(CodeOf(r.Skip(4)) == ErrorCode::kMalformedEvidence); }
  SECTION("huge Take cannot overflow") {
    CHECK(CodeOf(r.Take(SIZE_MAX)) == ErrorCode::kMalformedEvidence);
  }
  CHECK(r.position() == 0);
  CHECK(r.remaining() == 3);
}

TEST_CASE("ByteReader: an empty input reads nothing", "[common][unit]") {
  ByteReader r(std::span<const std::uint8_t>{});
  CHECK(r.remaining() == 0);
  CHECK(CodeOf(r.U8()) == ErrorCode::kMalformedEvidence);
  CHECK(CodeOf(r.U16Le()) == ErrorCode::kMalformedEvidence);
}
