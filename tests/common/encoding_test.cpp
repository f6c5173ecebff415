// SPDX-License-Identifier: Apache-2.0
#include "common/encoding.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/ossl.h"
#include "tests/support/test_support.h"

using skr::ErrorCode;
using skr::test::CodeOf;

namespace {
std::vector<std::uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }
}  // namespace

TEST_CASE("Base64: RFC 4648 section 10 test vectors", "[common][unit]") {
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    CHECK(skr::Base64Encode(Bytes(plain)) == encoded);
    auto decoded = skr::Base64Decode(encoded);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == Bytes(plain));
  }
}

TEST_CASE("Base64: round trips every byte value", "[common][unit]") {
  for (std::size_t len = 0; len < 70; ++len) {
    std::vector<std::uint8_t> data = skr::RandomBytes(len);
    auto std_rt = skr::Base64Decode(skr::Base64Encode(data));
    REQUIRE(std_rt.has_value());
    CHECK(*std_rt == data);
    auto url_rt = skr::Base64UrlDecode(skr::Base64UrlEncode(data));
    REQUIRE(url_rt.has_value());
    CHECK(*url_rt == data);
  }
  std::vector<std::uint8_t> all(256);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::uint8_t>(i);
  auto rt = skr::Base64Decode(skr::Base64Encode(all));
  REQUIRE(rt.has_value());
  CHECK(*rt == all);
}

TEST_CASE("Base64: rejects malformed input", "[common][unit]") {
  const std::string bad = GENERATE("Zg=", "Zg", "Z===", "Zm9v\n", "Zm 9v",
                                   "Zm9v!A==", "Zh==", "=Zg=", "Zg==Zg==", "-_8=");
  INFO(bad);
  CHECK(CodeOf(skr::Base64Decode(bad)) == ErrorCode::kInvalidArgument);
}

TEST_CASE("Base64url: unpadded URL alphabet", "[common][unit]") {
  const std::vector<std::uint8_t> data = {0xfb, 0xff, 0xbf};
  CHECK(skr::Base64UrlEncode(data) == "-_-_");
  CHECK(skr::Base64Encode(data) == "+/+/");
  CHECK(skr::Base64UrlEncode(Bytes("f")) == "Zg");
  auto d = skr::Base64UrlDecode("Zm8");
  REQUIRE(d.has_value());
  CHECK(*d == Bytes("fo"));
}

TEST_CASE("Base64url: rejects padding, standard alphabet and bad lengths", "[common][unit]") {
  const std::string bad = GENERATE("Zg==", "Zm8=", "+/+/", "Z", "Zm9vY", "Zh", "Zm9v.", "Zm 9v");
  INFO(bad);
  CHECK(CodeOf(skr::Base64UrlDecode(bad)) == ErrorCode::kInvalidArgument);
}

TEST_CASE("Hex: lowercase encoding and case-insensitive decoding", "[common][unit]") {
  const std::vector<std::uint8_t> data = {0x00, 0x01, 0xab, 0xff};
  CHECK(skr::HexEncode(data) == "0001abff");
  auto lower = skr::HexDecode("0001abff");
  auto upper = skr::HexDecode("0001ABFF");
  REQUIRE(lower.has_value());
  REQUIRE(upper.has_value());
  CHECK(*lower == data);
  CHECK(*upper == data);
  auto empty = skr::HexDecode("");
  REQUIRE(empty.has_value());
  CHECK(empty->empty());
}

TEST_CASE("Hex: rejects odd lengths and non-hex characters", "[common][unit]") {
  const std::string bad = GENERATE("0", "abc", "zz", "0x00", "00 1", "g0");
  INFO(bad);
  CHECK(CodeOf(skr::HexDecode(bad)) == ErrorCode::kInvalidArgument);
}

TEST_CASE("PrintableAscii: client text becomes bounded printable ASCII", "[common][encoding]") {
  CHECK(skr::PrintableAscii("sev-snp", 32) == "sev-snp");
  CHECK(skr::PrintableAscii(std::string("a\x01\xc3\xa9z"), 32) == "a???z");
  CHECK(skr::PrintableAscii(std::string(40, 'x'), 32) == std::string(32, 'x') + "...");
}

TEST_CASE("Base64DecodeAtMost: bounded decoding of untrusted base64", "[common][encoding][unit]") {
  const std::vector<std::uint8_t> four = {1, 2, 3, 4};
  const std::string text = skr::Base64Encode(four);  // 8 characters
  CHECK(skr::Base64DecodeAtMost(text, 4).value() == four);
  CHECK(skr::Base64DecodeAtMost(text, 6).value() == four);
  // Over the bound: refused, by length before decoding or by the decoded size.
  CHECK(skr::test::ReasonOf(skr::Base64DecodeAtMost(text, 3)) == "too_large");
  CHECK(skr::test::ReasonOf(skr::Base64DecodeAtMost(std::string(4000, 'A'), 100)) == "too_large");
  // Not base64: Base64Decode's error, not "too_large".
  auto bad = skr::Base64DecodeAtMost("@@@@", 10);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code() == skr::ErrorCode::kInvalidArgument);
  CHECK(bad.error().reason() != "too_large");
}
