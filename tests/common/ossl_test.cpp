// SPDX-License-Identifier: Apache-2.0
#include "common/ossl.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "tests/support/test_support.h"

using skr::ErrorCode;
using skr::test::CodeOf;

TEST_CASE("AesGcm: seal then open round trips", "[common][unit]") {
  const skr::SecretBytes key = skr::RandomSecret(32);
  const std::size_t len = GENERATE(0u, 1u, 15u, 16u, 17u, 1000u);
  const std::vector<std::uint8_t> plaintext = skr::RandomBytes(len);
  const auto aad = skr::AsBytes("tenant|key|1");
  auto sealed = skr::AesGcmSeal(key.Reveal(), plaintext, aad);
  REQUIRE(sealed.has_value());
  CHECK(sealed->size() == 12 + len + 16);
  auto opened = skr::AesGcmOpen(key.Reveal(), *sealed, aad);
  REQUIRE(opened.has_value());
  CHECK(std::vector<std::uint8_t>(opened->Reveal().begin(), opened->Reveal().end()) == plaintext);
}

TEST_CASE("AesGcm: two seals of the same data use different IVs", "[common][unit]") {
  const skr::SecretBytes key = skr::RandomSecret(32);
  const auto pt = skr::AsBytes("same");
  auto a = skr::AesGcmSeal(key.Reveal(), pt, {});
  auto b = skr::AesGcmSeal(key.Reveal(), pt, {});
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(*a != *b);
}

TEST_CASE("AesGcm: wrong key, wrong AAD or tampering is kVerificationFailed", "[common][unit]") {
  const skr::SecretBytes key = skr::RandomSecret(32);
  const auto aad = skr::AsBytes("aad");
  auto sealed = skr::AesGcmSeal(key.Reveal(), skr::AsBytes("secret key bytes"), aad);
  REQUIRE(sealed.has_value());
  std::vector<std::uint8_t> data = *sealed;

  SECTION("wrong key") {
    const skr::SecretBytes other = skr::RandomSecret(32);
    CHECK(CodeOf(skr::AesGcmOpen(other.Reveal(), data, aad)) == ErrorCode::kVerificationFailed);
  }
  SECTION("wrong AAD") {
    CHECK(CodeOf(skr::AesGcmOpen(key.Reveal(), data, skr::AsBytes("aae"))) ==
          ErrorCode::kVerificationFailed);
  }
  SECTION("missing AAD") {
    CHECK(CodeOf(skr::AesGcmOpen(key.Reveal(), data, {})) == ErrorCode::kVerificationFailed);
  }
  SECTION("any flipped byte") {
    const std::size_t i = GENERATE(0u, 11u, 12u, 20u, 27u, 43u);
    REQUIRE(i < data.size());
    data[i] ^= 0x01;
    CHECK(CodeOf(skr::AesGcmOpen(key.Reveal(), data, aad)) == ErrorCode::kVerificationFailed);
  }
  SECTION("truncated") {
    data.resize(27);
    CHECK(CodeOf(skr::AesGcmOpen(key.Reveal(), data, aad)) == ErrorCode::kVerificationFailed);
  }
}

TEST_CASE("Sha256/Sha384: FIPS 180-2 'abc' vectors", "[common][unit]") {
  CHECK(skr::HexEncode(skr::Sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(skr::HexEncode(skr::Sha384("abc")) ==
        "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
        "8086072ba1e7cc2358baeca134c825a7");
}

TEST_CASE("ConstantTimeEquals: compares contents and sizes", "[common][unit]") {
  const std::vector<std::uint8_t> a = {1, 2, 3};
  const std::vector<std::uint8_t> b = {1, 2, 3};
  const std::vector<std::uint8_t> c = {1, 2, 4};
  const std::vector<std::uint8_t> d = {1, 2};
  CHECK(skr::ConstantTimeEquals(a, b));
  CHECK_FALSE(skr::ConstantTimeEquals(a, c));
  CHECK_FALSE(skr::ConstantTimeEquals(a, d));
  CHECK(skr::ConstantTimeEquals({}, {}));
}
