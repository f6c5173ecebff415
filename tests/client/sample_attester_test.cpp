// SPDX-License-Identifier: Apache-2.0
#include "client/sample_attester.h"

#include <array>
#include <string>

#include <catch2/catch.hpp>

#include "common/encoding.h"
#include "common/jose.h"
#include "common/ossl.h"
#include "tests/support/test_support.h"

namespace skr::client {
namespace {

std::array<std::uint8_t, 48> TestDigest() {
  std::array<std::uint8_t, 48> d{};
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = static_cast<std::uint8_t>(0xA0 + i);
  return d;
}

EvpPkeyPtr PublicOnly(EVP_PKEY* key) {
  auto pem = PublicKeyToPem(key);
  REQUIRE(pem.has_value());
  auto pub = LoadPublicKeyPem(*pem);
  REQUIRE(pub.has_value());
  return std::move(pub).value();
}

}  // namespace

TEST_CASE("BuildSampleEvidence: JWS verifies and binds digest||zeros", "[client][unit]") {
  const auto [curve, alg] = GENERATE(std::pair<std::string, std::string>{"P-256", "ES256"},
                                     std::pair<std::string, std::string>{"P-384", "ES384"});
  auto key = GenerateEcKey(curve);
  REQUIRE(key.has_value());
  const auto digest = TestDigest();
  Json claims = {{"debug", false}, {"measurement", "abcd"}, {"report_data", "attacker-chosen"}};

  auto ev = BuildSampleEvidence(key->get(), claims, digest);
  REQUIRE(ev.has_value());
  CHECK((*ev)["type"] == "sample");
  REQUIRE((*ev)["jws"].is_string());

  auto pub = PublicOnly(key->get());
  auto verified = JwsVerify((*ev)["jws"].get<std::string>(), pub.get());
  REQUIRE(verified.has_value());
  CHECK(verified->header["alg"] == alg);
  auto payload = ParseJson(verified->payload);
  REQUIRE(payload.has_value());
  const std::string expected = HexEncode(digest) + std::string(32, '0');
  CHECK(expected.size() == 128);
  CHECK((*payload)["report_data"] == expected);
  CHECK((*payload)["debug"] == false);
  CHECK((*payload)["measurement"] == "abcd");

  SECTION("a different key does not verify it") {
    auto other = GenerateEcKey(curve);
    REQUIRE(other.has_value());
    auto other_pub = PublicOnly(other->get());
    CHECK(test::CodeOf(JwsVerify((*ev)["jws"].get<std::string>(), other_pub.get())) ==
          ErrorCode::kVerificationFailed);
  }
}

TEST_CASE("BuildSampleEvidence: rejects bad claims and unsupported keys", "[client][unit]") {
  const auto digest = TestDigest();
  SECTION("claims not an object") {
    auto key = GenerateEcKey("P-256");
    REQUIRE(key.has_value());
    CHECK(test::CodeOf(BuildSampleEvidence(key->get(), Json::array({1, 2}), digest)) ==
          ErrorCode::kInvalidArgument);
    CHECK(test::CodeOf(BuildSampleEvidence(key->get(), Json("x"), digest)) ==
          ErrorCode::kInvalidArgument);
  }
  SECTION("P-521 key") {
    auto key = GenerateEcKey("P-521");
    REQUIRE(key.has_value());
    CHECK(test::CodeOf(BuildSampleEvidence(key->get(), DefaultSampleClaims(), digest)) ==
          ErrorCode::kInvalidArgument);
  }
  SECTION("RSA key") {
    auto key = GenerateRsaKey(2048);
    REQUIRE(key.has_value());
    CHECK(test::CodeOf(BuildSampleEvidence(key->get(), DefaultSampleClaims(), digest)) ==
          ErrorCode::kInvalidArgument);
  }
  SECTION("null key") {
    CHECK(test::CodeOf(BuildSampleEvidence(nullptr, DefaultSampleClaims(), digest)) ==
          ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("SampleAttester::Load: reads key and claims files", "[client][unit]") {
  test::TempDir dir;
  auto key = GenerateEcKey("P-384");
  REQUIRE(key.has_value());
  auto pem = PrivateKeyToPem(key->get());
  REQUIRE(pem.has_value());
  test::WriteFile(dir.file("sample.pem"), *pem);
  test::WriteFile(dir.file("claims.json"), R"({"debug": true, "svn": 3})");
  test::WriteFile(dir.file("array.json"), "[1,2]");
  test::WriteFile(dir.file("garbage.json"), "{not json");
  test::WriteFile(dir.file("not-a-key.pem"), "hello");
  const auto digest = TestDigest();

  SECTION("default claims") {
    auto att = SampleAttester::Load(dir.file("sample.pem"), "");
    REQUIRE(att.has_value());
    auto ev = att->Collect(digest);
    REQUIRE(ev.has_value());
    auto pub = PublicOnly(key->get());
    auto verified = JwsVerify((*ev)["jws"].get<std::string>(), pub.get());
    REQUIRE(verified.has_value());
    auto payload = ParseJson(verified->payload);
    REQUIRE(payload.has_value());
    CHECK((*payload)["debug"] == false);
    CHECK(payload->size() == 2);  // debug + report_data
  }
  SECTION("claims file") {
    auto att = SampleAttester::Load(dir.file("sample.pem"), dir.file("claims.json"));
    REQUIRE(att.has_value());
    auto ev = att->Collect(digest);
    REQUIRE(ev.has_value());
    auto pub = PublicOnly(key->get());
    auto verified = JwsVerify((*ev)["jws"].get<std::string>(), pub.get());
    REQUIRE(verified.has_value());
    auto payload = ParseJson(verified->payload);
    REQUIRE(payload.has_value());
    CHECK((*payload)["debug"] == true);
    CHECK((*payload)["svn"] == 3);
  }
  SECTION("bad inputs") {
    CHECK(test::CodeOf(SampleAttester::Load(dir.file("missing.pem"), "")) ==
          ErrorCode::kInvalidArgument);
    CHECK(test::CodeOf(SampleAttester::Load(dir.file("not-a-key.pem"), "")) ==
          ErrorCode::kInvalidArgument);
    CHECK(test::CodeOf(SampleAttester::Load(dir.file("sample.pem"), dir.file("missing.json"))) ==
          ErrorCode::kInvalidArgument);
    CHECK(test::CodeOf(SampleAttester::Load(dir.file("sample.pem"), dir.file("array.json"))) ==
          ErrorCode::kInvalidArgument);
    CHECK(test::CodeOf(SampleAttester::Load(dir.file("sample.pem"), dir.file("garbage.json"))) ==
          ErrorCode::kInvalidArgument);
  }
}

}  // namespace skr::client
