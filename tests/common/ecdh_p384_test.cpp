// SPDX-License-Identifier: Apache-2.0
// ECDH-ES on P-384 through nettle (common/ecdh_p384.h, issue 10): the shared secret equals
// OpenSSL's for the same keys, every wrap has a fresh ephemeral key on the curve, other keys are
// refused, and JWEs to P-384 keys (which now use it) still decrypt (here; with jwcrypto in
// interop_test.cpp).
#include <catch2/catch.hpp>

#include <gmp.h>
#include <openssl/evp.h>

#include <set>

#include "common/ecdh_p384.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "common/ossl.h"

namespace {

skr::EvpPkeyPtr PointKey(const skr::EcdhP384& r) {
  skr::Json jwk = {{"kty", "EC"},
                   {"crv", "P-384"},
                   {"alg", "ECDH-ES+A256KW"},
                   {"x", skr::Base64UrlEncode(r.epk_x)},
                   {"y", skr::Base64UrlEncode(r.epk_y)}};
  auto parsed = skr::ParsePublicJwk(jwk);  // validates the point is on P-384
  REQUIRE(parsed.has_value());
  return std::move(parsed->key);
}

std::vector<std::uint8_t> OpenSslZ(EVP_PKEY* own, EVP_PKEY* peer) {
  skr::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(own, nullptr));
  REQUIRE(ctx);
  REQUIRE(EVP_PKEY_derive_init(ctx.get()) == 1);
  REQUIRE(EVP_PKEY_derive_set_peer(ctx.get(), peer) == 1);
  std::size_t len = 0;
  REQUIRE(EVP_PKEY_derive(ctx.get(), nullptr, &len) == 1);
  std::vector<std::uint8_t> z(len);
  REQUIRE(EVP_PKEY_derive(ctx.get(), z.data(), &len) == 1);
  z.resize(len);
  return z;
}

}  // namespace

TEST_CASE("EcdhEsP384: nettle's Z is OpenSSL's for the same keys", "[common][ecdh]") {
  auto recipient = skr::GenerateEcKey("P-384").value();
  std::set<std::string> epks;
  for (int i = 0; i < 20; ++i) {
    auto r = skr::EcdhEsP384(recipient.get());
    REQUIRE(r.has_value());
    REQUIRE(r->z.size() == 48);
    auto epk = PointKey(*r);
    // The recipient derives the same Z from its private key and the published epk.
    const auto z = OpenSslZ(recipient.get(), epk.get());
    CHECK(std::equal(z.begin(), z.end(), r->z.Reveal().begin(), r->z.Reveal().end()));
    epks.insert(skr::HexEncode(r->epk_x));
  }
  CHECK(epks.size() == 20);  // a fresh ephemeral key every time
}

TEST_CASE("EcdhEsP384: keys that are not P-384 are refused", "[common][ecdh]") {
  auto p256 = skr::GenerateEcKey("P-256").value();
  auto rsa = skr::GenerateRsaKey(2048).value();
  for (EVP_PKEY* k : {p256.get(), rsa.get()}) {
    auto r = skr::EcdhEsP384(k);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().reason() == "ecdsa_p384_key");
  }
}

TEST_CASE("EcdhEsP384: a JWE to a P-384 key decrypts, and its epk is a bare P-384 point",
          "[common][ecdh][jwe]") {
  auto recipient = skr::GenerateEcKey("P-384").value();
  skr::Json jwk = skr::PublicJwkFromKey(recipient.get(), "ECDH-ES+A256KW").value();
  auto pub = skr::ParsePublicJwk(jwk);
  REQUIRE(pub.has_value());
  const std::vector<std::uint8_t> secret(32, 0x42);
  auto jwe = skr::JweEncrypt(*pub, secret);
  REQUIRE(jwe.has_value());
  auto plain = skr::JweDecrypt(*jwe, recipient.get());
  REQUIRE(plain.has_value());
  CHECK(std::vector<std::uint8_t>(plain->Reveal().begin(), plain->Reveal().end()) == secret);
  const std::string header_b64 = jwe->substr(0, jwe->find('.'));
  const auto header_bytes = skr::Base64UrlDecode(header_b64).value();
  const auto header =
      skr::ParseJson(std::string(header_bytes.begin(), header_bytes.end())).value();
  CHECK(header.at("epk").at("crv") == "P-384");
  CHECK(header.at("epk").at("kty") == "EC");
  CHECK(header.at("epk").size() == 4);  // kty, crv, x, y: nothing private
}

TEST_CASE("EcdhEsP384: GMP frees through a wiping function installed at start", "[common][ecdh]") {
  void* (*alloc_fn)(std::size_t) = nullptr;
  void* (*realloc_fn)(void*, std::size_t, std::size_t) = nullptr;
  void (*free_fn)(void*, std::size_t) = nullptr;
  mp_get_memory_functions(&alloc_fn, &realloc_fn, &free_fn);
  REQUIRE(free_fn != nullptr);
  // GMP's defaults, for comparison; then the installed functions again for the rest of the run.
  void (*default_free)(void*, std::size_t) = nullptr;
  mp_set_memory_functions(nullptr, nullptr, nullptr);
  mp_get_memory_functions(nullptr, nullptr, &default_free);
  mp_set_memory_functions(alloc_fn, realloc_fn, free_fn);
  // Not GMP's default: common/ecdh_p384.cpp set it before main (this binary links it).
  CHECK(free_fn != default_free);
}
