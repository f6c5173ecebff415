// SPDX-License-Identifier: Apache-2.0
// RFC 8785 (JCS) tests: the examples of sections 3.2.2 and 3.2.3, Appendix B numbers, strings.
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "common/jose.h"
#include "common/json.h"
#include "tests/support/test_support.h"

using skr::ErrorCode;
using skr::Json;
using skr::test::CodeOf;

namespace {

std::string Jcs(const Json& j) {
  auto r = skr::CanonicalizeJson(j);
  REQUIRE(r.has_value());
  return *r;
}

std::string JcsText(const std::string& text) {
  auto parsed = skr::ParseJson(text);
  REQUIRE(parsed.has_value());
  return Jcs(*parsed);
}

}  // namespace

TEST_CASE("CanonicalizeJson: RFC 8785 section 3.2.2 example", "[common][unit][jcs]") {
  const std::string input = R"({
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  })";
  const std::string expected =
      R"({"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],)"
      "\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
  CHECK(JcsText(input) == expected);
}

TEST_CASE("CanonicalizeJson: RFC 8785 section 3.2.3 sorts names by UTF-16 code units",
          "[common][unit][jcs]") {
  const std::string input = R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })";
  // The emoji (surrogates D83D DE00) sorts before U+FB33 although its code point is larger.
  const std::string expected =
      "{\"\\r\":\"Carriage Return\","
      "\"1\":\"One\","
      "\"\xc2\x80\":\"Control\","
      "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
      "\"\xe2\x82\xac\":\"Euro Sign\","
      "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
      "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}";
  CHECK(JcsText(input) == expected);
}

TEST_CASE("CanonicalizeJson: RFC 8785 Appendix B number serialization", "[common][unit][jcs]") {
  const std::vector<std::pair<std::uint64_t, std::string>> samples = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
  };
  for (const auto& [bits, expected] : samples) {
    INFO("bits " << std::hex << bits);
    CHECK(Jcs(Json(std::bit_cast<double>(bits))) == expected);
  }
}

TEST_CASE("CanonicalizeJson: more ECMAScript Number::toString layouts", "[common][unit][jcs]") {
  CHECK(Jcs(Json(0.1)) == "0.1");
  CHECK(Jcs(Json(-1.5)) == "-1.5");
  CHECK(Jcs(Json(100.0)) == "100");
  CHECK(Jcs(Json(1e21)) == "1e+21");
  CHECK(Jcs(Json(1e20)) == "100000000000000000000");
  CHECK(Jcs(Json(1e-6)) == "0.000001");
  CHECK(Jcs(Json(1e-7)) == "1e-7");
  CHECK(Jcs(Json(1.5e-7)) == "1.5e-7");
  CHECK(Jcs(Json(1.5e-6)) == "0.0000015");
  CHECK(Jcs(Json(123.456)) == "123.456");
  CHECK(Jcs(Json(-0.0)) == "0");
}

TEST_CASE("CanonicalizeJson: integers", "[common][unit][jcs]") {
  CHECK(Jcs(Json(0)) == "0");
  CHECK(Jcs(Json(42)) == "42");
  CHECK(Jcs(Json(-42)) == "-42");
  CHECK(Jcs(Json(std::int64_t{9007199254740992})) == "9007199254740992");
  CHECK(Jcs(Json(std::int64_t{-9007199254740992})) == "-9007199254740992");
  // Beyond 2^53 an I-JSON number is a double, as ECMAScript would print it.
  CHECK(Jcs(Json(std::numeric_limits<std::uint64_t>::max())) == "18446744073709552000");
  CHECK(Jcs(Json(std::numeric_limits<std::int64_t>::min())) == "-9223372036854776000");
  CHECK(JcsText("[1, -0, 1.0, 1e2]") == "[1,0,1,100]");
}

TEST_CASE("CanonicalizeJson: string escaping follows JSON.stringify", "[common][unit][jcs]") {
  std::string controls;
  for (char c = 0; c < 0x20; ++c) controls.push_back(c);
  controls += "\x7f\"\\/";
  CHECK(Jcs(Json(controls)) ==
        "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r"
        "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019"
        "\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\x7f\\\"\\\\/\"");
  // Non-ASCII stays raw UTF-8, including characters JSON encoders often escape.
  CHECK(Jcs(Json("caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80 </script>")) ==
        "\"caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80 </script>\"");
  CHECK(Jcs(Json("")) == "\"\"");
}

TEST_CASE("CanonicalizeJson: nested structures, literals and no whitespace",
          "[common][unit][jcs]") {
  CHECK(JcsText(R"( { "b" : [ 1 , { "d" : true , "c" : null } ] , "a" : "x" , "" : {} } )") ==
        R"({"":{},"a":"x","b":[1,{"c":null,"d":true}]})");
  CHECK(JcsText("[]") == "[]");
  CHECK(JcsText("{}") == "{}");
  CHECK(JcsText("[false,true,null]") == "[false,true,null]");
  CHECK(JcsText(R"({"aa":1,"a":2,"b":3,"A":4})") == R"({"A":4,"a":2,"aa":1,"b":3})");
}

TEST_CASE("CanonicalizeJson: rejects values outside the I-JSON model", "[common][unit][jcs]") {
  CHECK(CodeOf(skr::CanonicalizeJson(Json(std::nan("")))) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(skr::CanonicalizeJson(Json(std::numeric_limits<double>::infinity()))) ==
        ErrorCode::kInvalidArgument);
  CHECK(CodeOf(skr::CanonicalizeJson(Json::array({1, -std::numeric_limits<double>::infinity()}))) ==
        ErrorCode::kInvalidArgument);
  SECTION("invalid UTF-8 in a string") {
    CHECK(CodeOf(skr::CanonicalizeJson(Json("\xff"))) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(skr::CanonicalizeJson(Json("\xc0\xaf"))) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(skr::CanonicalizeJson(Json("\xed\xa0\x80"))) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(skr::CanonicalizeJson(Json("\xe2\x82"))) == ErrorCode::kInvalidArgument);
  }
  SECTION("invalid UTF-8 in a member name") {
    Json obj = Json::object();
    obj["\xfe"] = 1;
    CHECK(CodeOf(skr::CanonicalizeJson(obj)) == ErrorCode::kInvalidArgument);
  }
  SECTION("binary values") {
    CHECK(CodeOf(skr::CanonicalizeJson(Json::binary({1, 2}))) == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("BindingDigest: SHA-384 over the JCS of the KBS runtime-data object",
          "[common][unit][jcs]") {
  const Json jwk = {{"kty", "EC"},
                    {"crv", "P-256"},
                    {"alg", "ECDH-ES+A256KW"},
                    {"x", "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0"},
                    {"y", "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"}};
  const std::string nonce = "pYbTrUFD8cWYaW0QSXDqf8Bl0yOr8s8BpRfrJwPP0aA=";
  auto digest = skr::BindingDigest(nonce, jwk);
  REQUIRE(digest.has_value());
  // Computed independently: Python json.dumps(sort_keys=True, separators=(',', ':')) + hashlib.
  CHECK(skr::HexEncode(*digest) ==
        "decd602f4e79e00ac731dc8a17801613bfb43f5625a192990d4fc2f18b475a99"
        "b1f6deba3de655022a5fbc024197076e");
  const std::string canonical =
      R"({"additional-evidence":"","nonce":"pYbTrUFD8cWYaW0QSXDqf8Bl0yOr8s8BpRfrJwPP0aA=",)"
      R"("tee-pubkey":{"alg":"ECDH-ES+A256KW","crv":"P-256","kty":"EC",)"
      R"("x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",)"
      R"("y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"}})";
  CHECK(*digest == skr::Sha384(canonical));

  SECTION("a different nonce gives a different digest") {
    auto other = skr::BindingDigest("another-nonce", jwk);
    REQUIRE(other.has_value());
    CHECK(*other != *digest);
  }
  SECTION("tee-pubkey must be an object") {
    CHECK(CodeOf(skr::BindingDigest(nonce, Json("key"))) == ErrorCode::kInvalidArgument);
  }
}
