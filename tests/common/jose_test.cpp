// SPDX-License-Identifier: Apache-2.0
// JWK, RFC 7638 thumbprint, Concat KDF, JWE and JWS tests.
#include "common/jose.h"

#include <openssl/core_names.h>
#include <openssl/err.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "common/encoding.h"
#include "common/json.h"
#include "common/ossl.h"
#include "tests/support/test_support.h"

using skr::ErrorCode;
using skr::EvpPkeyPtr;
using skr::Json;
using skr::test::CodeOf;

namespace {

// Keys are cached: RSA-3072 generation is slow under the sanitizers.
EVP_PKEY* TestKey(const std::string& name) {
  static std::map<std::string, EvpPkeyPtr> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second.get();
  skr::Result<EvpPkeyPtr> key = skr::Error(ErrorCode::kInternal, "unknown test key");
  if (name == "RSA-3072" || name == "RSA-3072-b")
    key = skr::GenerateRsaKey(3072);
  else if (name == "RSA-4096")
    key = skr::GenerateRsaKey(4096);
  else if (name == "RSA-2048")
    key = skr::GenerateRsaKey(2048);
  else if (name.rfind("P-", 0) == 0)
    key = skr::GenerateEcKey(name.substr(0, 5));
  REQUIRE(key.has_value());
  EVP_PKEY* raw = key->get();
  cache.emplace(name, std::move(key).value());
  return raw;
}

std::string AlgFor(EVP_PKEY* key) {
  return EVP_PKEY_is_a(key, "RSA") == 1 ? "RSA-OAEP-256" : "ECDH-ES+A256KW";
}

Json PublicJwkOf(const std::string& name) {
  EVP_PKEY* key = TestKey(name);
  auto jwk = skr::PublicJwkFromKey(key, AlgFor(key));
  REQUIRE(jwk.has_value());
  return *jwk;
}

skr::PublicJwk Recipient(const std::string& name) {
  auto parsed = skr::ParsePublicJwk(PublicJwkOf(name));
  REQUIRE(parsed.has_value());
  return std::move(parsed).value();
}

std::vector<std::uint8_t> B64(const std::string& s) {
  auto d = skr::Base64UrlDecode(s);
  REQUIRE(d.has_value());
  return *d;
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    parts.push_back(s.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += '.';
    out += parts[i];
  }
  return out;
}

Json DecodeHeader(const std::string& part) {
  const auto bytes = B64(part);
  auto j = skr::ParseJson(std::string(bytes.begin(), bytes.end()));
  REQUIRE(j.has_value());
  return *j;
}

std::string EncodeHeader(const Json& header) {
  return skr::Base64UrlEncode(skr::AsBytes(header.dump()));
}

// Flips one byte inside a base64url part (re-encoded, so the encoding stays canonical).
std::string FlipByte(const std::string& part, std::size_t index) {
  auto bytes = B64(part);
  REQUIRE(index < bytes.size());
  bytes[index] ^= 0x01;
  return skr::Base64UrlEncode(bytes);
}

std::string Text(const skr::SecretBytes& s) {
  return std::string(s.Reveal().begin(), s.Reveal().end());
}

// RFC 7518 Appendix C keys (P-256), as EVP_PKEYs with private parts, built with fromdata.
EvpPkeyPtr EcPrivateKey(const std::string& d, const std::string& x, const std::string& y) {
  auto db = B64(d);
  std::vector<std::uint8_t> point = {0x04};
  for (auto b : B64(x)) point.push_back(b);
  for (auto b : B64(y)) point.push_back(b);
  skr::BignumPtr priv(BN_bin2bn(db.data(), static_cast<int>(db.size()), nullptr));
  REQUIRE(priv);
  skr::OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  REQUIRE(bld);
  REQUIRE(OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ==
          1);
  REQUIRE(OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                           point.size()) == 1);
  REQUIRE(OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) == 1);
  skr::OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  REQUIRE(params);
  skr::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  REQUIRE(ctx);
  REQUIRE(EVP_PKEY_fromdata_init(ctx.get()) == 1);
  EVP_PKEY* raw = nullptr;
  REQUIRE(EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_KEYPAIR, params.get()) == 1);
  return EvpPkeyPtr(raw);
}

std::vector<std::uint8_t> Derive(EVP_PKEY* own, EVP_PKEY* peer) {
  skr::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own, nullptr));
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

// RFC 7638 section 3.1 example key (2048-bit RSA).
const char kRfc7638N[] =
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
    "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
    "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-"
    "bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

}  // namespace

// ---------------------------------------------------------------------------------------------
// RFC 7638 thumbprint

TEST_CASE("JwkThumbprint: RFC 7638 section 3.1 example", "[common][unit][jose]") {
  const Json jwk = {
      {"kty", "RSA"}, {"n", kRfc7638N}, {"e", "AQAB"}, {"alg", "RS256"}, {"kid", "2011-04-29"}};
  auto tp = skr::JwkThumbprint(jwk);
  REQUIRE(tp.has_value());
  CHECK(*tp == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");

  SECTION("optional members do not change it") {
    Json bare = {{"kty", "RSA"}, {"n", kRfc7638N}, {"e", "AQAB"}};
    CHECK(skr::JwkThumbprint(bare).value() == *tp);
  }
}

TEST_CASE("JwkThumbprint: EC keys use crv, kty, x, y", "[common][unit][jose]") {
  const Json jwk = {{"kty", "EC"},
                    {"crv", "P-256"},
                    {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                    {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
                    {"alg", "ES256"}};
  const std::string canonical =
      R"({"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
      R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})";
  CHECK(skr::JwkThumbprint(jwk).value() == skr::Base64UrlEncode(skr::Sha256(canonical)));
}

TEST_CASE("JwkThumbprint: rejects incomplete or unsupported JWKs", "[common][unit][jose]") {
  CHECK(CodeOf(skr::JwkThumbprint(Json::array())) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(skr::JwkThumbprint(Json{{"kty", "RSA"}, {"n", "AQAB"}})) ==
        ErrorCode::kInvalidArgument);
  CHECK(CodeOf(skr::JwkThumbprint(Json{{"kty", "oct"}, {"k", "AQAB"}})) ==
        ErrorCode::kInvalidArgument);
  CHECK(CodeOf(skr::JwkThumbprint(Json{{"kty", "RSA"}, {"n", 5}, {"e", "AQAB"}})) ==
        ErrorCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// JWK import / export

TEST_CASE("ParsePublicJwk: accepts RSA-3072+ and P-256/384/521 keys", "[common][unit][jose]") {
  const std::string name = GENERATE("RSA-3072", "RSA-4096", "P-256", "P-384", "P-521");
  INFO(name);
  Json jwk = PublicJwkOf(name);
  auto parsed = skr::ParsePublicJwk(jwk);
  REQUIRE(parsed.has_value());
  CHECK(parsed->kty == jwk["kty"]);
  CHECK(parsed->alg == jwk["alg"]);
  CHECK(parsed->key);
  CHECK(parsed->members == jwk);
  if (parsed->kty == "EC") {
    CHECK(parsed->crv == name);
    CHECK(EVP_PKEY_eq(parsed->key.get(), TestKey(name)) == 1);
  } else {
    CHECK(parsed->crv.empty());
    CHECK(EVP_PKEY_eq(parsed->key.get(), TestKey(name)) == 1);
  }

  SECTION("optional kid, use=enc and key_ops are allowed but not kept in members") {
    jwk["kid"] = "k1";
    jwk["use"] = "enc";
    jwk["key_ops"] = Json::array({"wrapKey", "deriveKey"});
    auto with_optional = skr::ParsePublicJwk(jwk);
    REQUIRE(with_optional.has_value());
    CHECK_FALSE(with_optional->members.contains("kid"));
    CHECK(with_optional->members == parsed->members);
  }
}

TEST_CASE("PublicJwkFromKey: fixed-length coordinates and minimal RSA integers",
          "[common][unit][jose]") {
  for (const auto& [curve, len] : std::vector<std::pair<std::string, std::size_t>>{
           {"P-256", 32}, {"P-384", 48}, {"P-521", 66}}) {
    // Several keys, so that coordinates with leading zero bytes show up for P-521.
    for (int i = 0; i < 4; ++i) {
      auto key = skr::GenerateEcKey(curve);
      REQUIRE(key.has_value());
      auto jwk = skr::PublicJwkFromKey(key->get(), "ECDH-ES+A256KW");
      REQUIRE(jwk.has_value());
      CHECK((*jwk)["crv"] == curve);
      CHECK(B64((*jwk)["x"]).size() == len);
      CHECK(B64((*jwk)["y"]).size() == len);
      CHECK_FALSE(jwk->contains("d"));
      auto priv = skr::PrivateJwkFromKey(key->get(), "ECDH-ES+A256KW");
      REQUIRE(priv.has_value());
      CHECK(B64((*priv)["d"]).size() == len);
    }
  }
  auto rsa = skr::PublicJwkFromKey(TestKey("RSA-3072"), "RSA-OAEP-256");
  REQUIRE(rsa.has_value());
  CHECK((*rsa)["e"] == "AQAB");
  CHECK(B64((*rsa)["n"]).size() == 384);
  CHECK(rsa->size() == 4);  // kty, n, e, alg
  auto rsa_priv = skr::PrivateJwkFromKey(TestKey("RSA-3072"), "RSA-OAEP-256");
  REQUIRE(rsa_priv.has_value());
  for (const char* m : {"d", "p", "q", "dp", "dq", "qi"}) CHECK(rsa_priv->contains(m));

  SECTION("an empty alg is omitted; an alg that does not fit the key is refused") {
    auto no_alg = skr::PublicJwkFromKey(TestKey("P-256"), "");
    REQUIRE(no_alg.has_value());
    CHECK_FALSE(no_alg->contains("alg"));
    CHECK(CodeOf(skr::PublicJwkFromKey(TestKey("P-256"), "RSA-OAEP-256")) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(skr::PublicJwkFromKey(TestKey("P-384"), "ES256")) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(skr::PublicJwkFromKey(TestKey("RSA-3072"), "ECDH-ES+A256KW")) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(skr::PublicJwkFromKey(nullptr, "")) == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("ParsePublicJwk: rejects unacceptable keys with kInvalidArgument",
          "[common][unit][jose]") {
  const Json ec = PublicJwkOf("P-256");
  const Json rsa = PublicJwkOf("RSA-3072");
  Json jwk;
  std::string expect_in_message;

  SECTION("not an object") {
    jwk = Json::array({ec});
    expect_in_message = "JSON object";
  }
  SECTION("private member d") {
    auto priv = skr::PrivateJwkFromKey(TestKey("P-256"), "ECDH-ES+A256KW");
    REQUIRE(priv.has_value());
    jwk = *priv;
    expect_in_message = "private key member 'd'";
  }
  SECTION("private RSA members") {
    const std::string member = GENERATE("d", "p", "q", "dp", "dq", "qi", "oth", "k");
    jwk = rsa;
    jwk[member] = "AQAB";
    expect_in_message = "private key member '" + member + "'";
  }
  SECTION("RSA-2048") {
    auto small = skr::PublicJwkFromKey(TestKey("RSA-2048"), "RSA-OAEP-256");
    REQUIRE(small.has_value());
    jwk = *small;
    expect_in_message = "RSA modulus is 2048 bits, at least 3072 required";
  }
  SECTION("the RFC 7638 example key is only 2048 bits") {
    jwk = {{"kty", "RSA"}, {"n", kRfc7638N}, {"e", "AQAB"}, {"alg", "RSA-OAEP-256"}};
    expect_in_message = "2048 bits";
  }
  SECTION("RSA1_5") {
    jwk = rsa;
    jwk["alg"] = "RSA1_5";
    expect_in_message = "RSA1_5 is not allowed";
  }
  SECTION("RSA-OAEP (SHA-1)") {
    jwk = rsa;
    jwk["alg"] = "RSA-OAEP";
    expect_in_message = "not allowed for kty RSA";
  }
  SECTION("alg missing") {
    jwk = ec;
    jwk.erase("alg");
    expect_in_message = "'alg'";
  }
  SECTION("alg of the other key type") {
    jwk = ec;
    jwk["alg"] = "RSA-OAEP-256";
    expect_in_message = "not allowed for kty EC";
  }
  SECTION("RSA key with the EC alg") {
    jwk = rsa;
    jwk["alg"] = "ECDH-ES+A256KW";
    expect_in_message = "not allowed for kty RSA";
  }
  SECTION("ECDH-ES without key wrapping") {
    jwk = ec;
    jwk["alg"] = "ECDH-ES";
    expect_in_message = "not allowed for kty EC";
  }
  SECTION("unknown crv") {
    jwk = ec;
    jwk["crv"] = GENERATE("P-192", "secp256k1", "X25519", "p-256");
    expect_in_message = "unsupported crv";
  }
  SECTION("kty oct") {
    jwk = {{"kty", "oct"}, {"k", "AAAAAAAAAAAAAAAAAAAAAA"}, {"alg", "A256KW"}};
    expect_in_message = "kty \"oct\"";
  }
  SECTION("unknown kty") {
    jwk = ec;
    jwk["kty"] = "OKP";
    expect_in_message = "unsupported kty";
  }
  SECTION("bad base64url") {
    jwk = ec;
    jwk["x"] = GENERATE("f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVE+", "abc=", "a b");
    expect_in_message = "'x' is not valid base64url";
  }
  SECTION("point not on the curve") {
    jwk = ec;
    auto y = B64(jwk["y"]);
    y.back() ^= 0x01;
    jwk["y"] = skr::Base64UrlEncode(y);
    expect_in_message = "EC point is not";
  }
  SECTION("coordinates of the wrong length") {
    jwk = ec;
    auto x = B64(jwk["x"]);
    SECTION("short") { x.erase(x.begin()); }
    SECTION("zero-padded") { x.insert(x.begin(), 0x00); }
    jwk["x"] = skr::Base64UrlEncode(x);
    expect_in_message = "must be 32 bytes";
  }
  SECTION("a P-256 point labelled P-384") {
    jwk = ec;
    jwk["crv"] = "P-384";
    expect_in_message = "must be 48 bytes";
  }
  SECTION("RSA exponent 1 or even") {
    jwk = rsa;
    jwk["e"] = GENERATE("AQ", "Ag", "AQAA");
    expect_in_message = "exponent must be odd and greater than 1";
  }
  SECTION("RSA exponent above 64 bits (OpenSSL could not encrypt to it; fuzz finding)") {
    jwk = rsa;
    jwk["e"] = "AQA0Kf8FU4dB";  // 9 bytes, odd
    expect_in_message = "exponent 'e' is too large";
  }
  SECTION("RSA modulus with a leading zero octet") {
    jwk = rsa;
    auto n = B64(jwk["n"]);
    n.insert(n.begin(), 0x00);
    jwk["n"] = skr::Base64UrlEncode(n);
    expect_in_message = "leading zero";
  }
  SECTION("missing coordinates") {
    jwk = ec;
    jwk.erase("y");
    expect_in_message = "'y' is missing";
  }
  SECTION("non-string members") {
    jwk = rsa;
    jwk["n"] = 12345;
    expect_in_message = "'n' must be a string";
  }
  SECTION("unknown members") {
    jwk = ec;
    jwk[std::string(GENERATE("x5c", "n", "ext"))] = "AQAB";
    expect_in_message = "unknown member";
  }
  SECTION("use other than enc") {
    jwk = ec;
    jwk["use"] = "sig";
    expect_in_message = "'use' must be \"enc\"";
  }
  SECTION("key_ops not an array of unique strings") {
    jwk = ec;
    jwk["key_ops"] = GENERATE(Json("wrapKey"), Json::array({1}), Json::array({"a", "a"}));
    expect_in_message = "key_ops";
  }
  SECTION("kid not a string") {
    jwk = ec;
    jwk["kid"] = 7;
    expect_in_message = "'kid' must be a string";
  }

  auto parsed = skr::ParsePublicJwk(jwk);
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(parsed.error().message(), Catch::Contains(expect_in_message));
  CHECK_THAT(parsed.error().message(), Catch::StartsWith("tee-pubkey: "));
  CHECK(ERR_peek_error() == 0);  // failures drain the OpenSSL error queue
}

// ---------------------------------------------------------------------------------------------
// Concat KDF

TEST_CASE("ConcatKdfSha256: RFC 7518 Appendix C example", "[common][unit][jose]") {
  // Alice's ephemeral key and Bob's key from RFC 7518 Appendix C.
  EvpPkeyPtr alice = EcPrivateKey("0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo",
                                  "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
                                  "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps");
  EvpPkeyPtr bob = EcPrivateKey("VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw",
                                "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
                                "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck");
  const std::vector<std::uint8_t> z_rfc = {158, 86,  217, 29,  129, 113, 53,  211, 114, 131, 66,
                                           131, 191, 132, 38,  156, 251, 49,  110, 163, 218, 128,
                                           106, 72,  246, 218, 167, 121, 140, 254, 144, 196};
  const std::vector<std::uint8_t> z = Derive(alice.get(), bob.get());
  CHECK(z == z_rfc);
  CHECK(Derive(bob.get(), alice.get()) == z_rfc);

  auto key = skr::ConcatKdfSha256(z, 128, "A128GCM", skr::AsBytes("Alice"), skr::AsBytes("Bob"));
  REQUIRE(key.has_value());
  CHECK(skr::Base64UrlEncode(key->Reveal()) == "VqqN6vgjbSBcIijNcacQGg");
}

TEST_CASE("ConcatKdfSha256: multi-round output follows SP 800-56A", "[common][unit][jose]") {
  const std::vector<std::uint8_t> z = skr::RandomBytes(48);
  auto key = skr::ConcatKdfSha256(z, 384, "X", {}, skr::AsBytes("v"));
  REQUIRE(key.has_value());
  REQUIRE(key->size() == 48);
  // OtherInfo = len||"X" || len||"" || len||"v" || 384 (32-bit BE).
  const std::vector<std::uint8_t> other = {0, 0, 0, 1, 'X', 0, 0, 0, 0,
                                           0, 0, 0, 1, 'v', 0, 0, 1, 128};
  std::vector<std::uint8_t> expected;
  for (std::uint8_t counter = 1; counter <= 2; ++counter) {
    std::vector<std::uint8_t> input = {0, 0, 0, counter};
    input.insert(input.end(), z.begin(), z.end());
    input.insert(input.end(), other.begin(), other.end());
    const auto block = skr::Sha256(input);
    expected.insert(expected.end(), block.begin(), block.end());
  }
  expected.resize(48);
  CHECK(std::vector<std::uint8_t>(key->Reveal().begin(), key->Reveal().end()) == expected);
}

TEST_CASE("ConcatKdfSha256: rejects key lengths that are not whole bytes", "[common][unit][jose]") {
  const std::vector<std::uint8_t> z(32, 1);
  const std::size_t bits = GENERATE(0u, 7u, 129u);
  CHECK(CodeOf(skr::ConcatKdfSha256(z, bits, "A256KW", {}, {})) == ErrorCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// JWE

TEST_CASE("JweEncrypt/JweDecrypt: round trip for every accepted key type", "[common][unit][jose]") {
  const std::string name = GENERATE("RSA-3072", "P-256", "P-384", "P-521");
  INFO(name);
  const skr::PublicJwk recipient = Recipient(name);
  const std::vector<std::uint8_t> plaintext = skr::RandomBytes(GENERATE(0u, 1u, 32u, 1000u));
  auto jwe = skr::JweEncrypt(recipient, plaintext);
  REQUIRE(jwe.has_value());

  const auto parts = Split(*jwe);
  REQUIRE(parts.size() == 5);
  const Json header = DecodeHeader(parts[0]);
  CHECK(header["alg"] == recipient.alg);
  CHECK(header["enc"] == "A256GCM");
  CHECK(header["kid"] == skr::JwkThumbprint(recipient.members).value());
  CHECK(B64(parts[2]).size() == 12);
  CHECK(B64(parts[3]).size() == plaintext.size());
  CHECK(B64(parts[4]).size() == 16);
  if (recipient.kty == "EC") {
    REQUIRE(header.contains("epk"));
    const Json& epk = header["epk"];
    CHECK(epk["kty"] == "EC");
    CHECK(epk["crv"] == recipient.crv);
    CHECK(epk.size() == 4);  // kty, crv, x, y: no private part, no alg
    CHECK(B64(parts[1]).size() == 40);
  } else {
    CHECK_FALSE(header.contains("epk"));
    CHECK(B64(parts[1]).size() == 384);
  }

  auto decrypted = skr::JweDecrypt(*jwe, TestKey(name));
  REQUIRE(decrypted.has_value());
  CHECK(std::vector<std::uint8_t>(decrypted->Reveal().begin(), decrypted->Reveal().end()) ==
        plaintext);

  SECTION("each encryption uses a fresh CEK, IV and ephemeral key") {
    auto again = skr::JweEncrypt(recipient, plaintext);
    REQUIRE(again.has_value());
    const auto parts2 = Split(*again);
    CHECK(parts2[1] != parts[1]);
    CHECK(parts2[2] != parts[2]);
  }
}

TEST_CASE("JweDecrypt: tampering is kVerificationFailed", "[common][unit][jose]") {
  const std::string name = GENERATE("RSA-3072", "P-256", "P-384");
  INFO(name);
  auto jwe = skr::JweEncrypt(Recipient(name), skr::AsBytes("the key material: 32 bytes long"));
  REQUIRE(jwe.has_value());
  auto parts = Split(*jwe);

  SECTION("ciphertext") { parts[3] = FlipByte(parts[3], 5); }
  SECTION("tag") { parts[4] = FlipByte(parts[4], 15); }
  SECTION("IV") { parts[2] = FlipByte(parts[2], 0); }
  SECTION("encrypted key") { parts[1] = FlipByte(parts[1], 20); }
  SECTION("header: an extra member changes the AAD") {
    Json header = DecodeHeader(parts[0]);
    header["x-extra"] = "1";
    parts[0] = EncodeHeader(header);
  }
  SECTION("header: kid changed") {
    Json header = DecodeHeader(parts[0]);
    header["kid"] = "someone-else";
    parts[0] = EncodeHeader(header);
  }
  SECTION("header: same JSON, different serialization") {
    parts[0] = skr::Base64UrlEncode(skr::AsBytes(" " + DecodeHeader(parts[0]).dump()));
  }
  SECTION("ciphertext swapped from another JWE to the same key") {
    auto other = skr::JweEncrypt(Recipient(name), skr::AsBytes("the key material: 32 bytes long"));
    REQUIRE(other.has_value());
    parts[3] = Split(*other)[3];
  }
  auto r = skr::JweDecrypt(Join(parts), TestKey(name));
  CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("JweDecrypt: a different private key is kVerificationFailed", "[common][unit][jose]") {
  SECTION("another RSA-3072 key") {
    auto jwe = skr::JweEncrypt(Recipient("RSA-3072"), skr::AsBytes("secret"));
    REQUIRE(jwe.has_value());
    CHECK(CodeOf(skr::JweDecrypt(*jwe, TestKey("RSA-3072-b"))) == ErrorCode::kVerificationFailed);
    CHECK(CodeOf(skr::JweDecrypt(*jwe, TestKey("RSA-4096"))) == ErrorCode::kVerificationFailed);
    CHECK(CodeOf(skr::JweDecrypt(*jwe, TestKey("P-256"))) == ErrorCode::kVerificationFailed);
  }
  SECTION("another EC key on the same curve") {
    auto jwe = skr::JweEncrypt(Recipient("P-256"), skr::AsBytes("secret"));
    REQUIRE(jwe.has_value());
    CHECK(CodeOf(skr::JweDecrypt(*jwe, TestKey("P-256-b"))) == ErrorCode::kVerificationFailed);
    CHECK(CodeOf(skr::JweDecrypt(*jwe, TestKey("RSA-3072"))) == ErrorCode::kVerificationFailed);
  }
  SECTION("an EC key on another curve") {
    auto jwe = skr::JweEncrypt(Recipient("P-384"), skr::AsBytes("secret"));
    REQUIRE(jwe.has_value());
    CHECK(CodeOf(skr::JweDecrypt(*jwe, TestKey("P-256"))) == ErrorCode::kVerificationFailed);
  }
}

TEST_CASE("JweDecrypt: malformed input is kInvalidArgument", "[common][unit][jose]") {
  const std::string name = GENERATE("RSA-3072", "P-256");
  INFO(name);
  auto jwe = skr::JweEncrypt(Recipient(name), skr::AsBytes("secret"));
  REQUIRE(jwe.has_value());
  auto parts = Split(*jwe);
  Json header = DecodeHeader(parts[0]);
  std::string input;
  auto with_header = [&](const Json& h) {
    auto p = parts;
    p[0] = EncodeHeader(h);
    return Join(p);
  };

  SECTION("four parts") { input = Join({parts[0], parts[1], parts[2], parts[3]}); }
  SECTION("six parts") { input = *jwe + ".AA"; }
  SECTION("empty") { input = ""; }
  SECTION("only dots") { input = "...."; }
  SECTION("header not base64url") {
    parts[0] = "eyJ!";
    input = Join(parts);
  }
  SECTION("header not JSON") {
    parts[0] = skr::Base64UrlEncode(skr::AsBytes("{\"alg\":"));
    input = Join(parts);
  }
  SECTION("header not an object") {
    parts[0] = skr::Base64UrlEncode(skr::AsBytes("[\"alg\"]"));
    input = Join(parts);
  }
  SECTION("ciphertext not base64url") {
    parts[3] = "AA=A";
    input = Join(parts);
  }
  SECTION("alg none, dir, RSA1_5, A256KW, missing") {
    const std::string alg = GENERATE("none", "dir", "RSA1_5", "A256KW", "RSA-OAEP", "");
    if (alg.empty())
      header.erase("alg");
    else
      header["alg"] = alg;
    input = with_header(header);
  }
  SECTION("enc other than A256GCM") {
    header["enc"] = GENERATE("A128GCM", "A256CBC-HS512", "none");
    input = with_header(header);
  }
  SECTION("crit") {
    header["crit"] = Json::array({"exp"});
    header["exp"] = 1;
    input = with_header(header);
  }
  SECTION("zip") {
    header["zip"] = "DEF";
    input = with_header(header);
  }
  SECTION("IV of the wrong length") {
    parts[2] = skr::Base64UrlEncode(skr::RandomBytes(GENERATE(0u, 11u, 16u)));
    input = Join(parts);
  }
  SECTION("tag of the wrong length") {
    parts[4] = skr::Base64UrlEncode(skr::RandomBytes(GENERATE(0u, 12u, 15u)));
    input = Join(parts);
  }
  SECTION("too large") { input = std::string(2u << 20, 'A'); }
  if (name == "P-256") {
    SECTION("epk missing") {
      header.erase("epk");
      input = with_header(header);
    }
    SECTION("epk not on the curve") {
      auto y = B64(header["epk"]["y"]);
      y[3] ^= 0x40;
      header["epk"]["y"] = skr::Base64UrlEncode(y);
      input = with_header(header);
    }
    SECTION("epk with a private part") {
      auto priv = skr::PrivateJwkFromKey(TestKey("P-256-b"), "");
      REQUIRE(priv.has_value());
      header["epk"] = *priv;
      input = with_header(header);
    }
    SECTION("epk an RSA key") {
      auto rsa = skr::PublicJwkFromKey(TestKey("RSA-3072"), "");
      REQUIRE(rsa.has_value());
      header["epk"] = *rsa;
      input = with_header(header);
    }
    SECTION("apu not base64url") {
      header["apu"] = "!!";
      input = with_header(header);
    }
    SECTION("wrapped key of the wrong length") {
      parts[1] = skr::Base64UrlEncode(skr::RandomBytes(48));
      input = Join(parts);
    }
  }
  CHECK(CodeOf(skr::JweDecrypt(input, TestKey(name))) == ErrorCode::kInvalidArgument);
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("JweDecrypt: honours apu/apv in the Concat KDF", "[common][unit][jose]") {
  // Encrypt by hand with apu/apv set, as other JOSE libraries may do.
  EVP_PKEY* recipient = TestKey("P-256");
  auto eph = skr::GenerateEcKey("P-256");
  REQUIRE(eph.has_value());
  const std::vector<std::uint8_t> z = Derive(eph->get(), recipient);
  auto kek =
      skr::ConcatKdfSha256(z, 256, "ECDH-ES+A256KW", skr::AsBytes("Alice"), skr::AsBytes("Bob"));
  REQUIRE(kek.has_value());
  const skr::SecretBytes cek = skr::RandomSecret(32);
  std::vector<std::uint8_t> wrapped(40);
  {
    skr::EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
    EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    REQUIRE(EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_wrap(), nullptr, kek->Reveal().data(),
                               nullptr) == 1);
    int len = 0;
    REQUIRE(EVP_EncryptUpdate(ctx.get(), wrapped.data(), &len, cek.Reveal().data(), 32) == 1);
    REQUIRE(len == 40);
  }
  Json header = {{"alg", "ECDH-ES+A256KW"},
                 {"enc", "A256GCM"},
                 {"apu", skr::Base64UrlEncode(skr::AsBytes("Alice"))},
                 {"apv", skr::Base64UrlEncode(skr::AsBytes("Bob"))},
                 {"epk", skr::PublicJwkFromKey(eph->get(), "").value()}};
  const std::string header_b64 = EncodeHeader(header);
  auto sealed = skr::AesGcmSeal(cek.Reveal(), skr::AsBytes("hello"), skr::AsBytes(header_b64));
  REQUIRE(sealed.has_value());
  const std::span<const std::uint8_t> all(*sealed);
  const std::string jwe = Join(
      {header_b64, skr::Base64UrlEncode(wrapped), skr::Base64UrlEncode(all.first(12)),
       skr::Base64UrlEncode(all.subspan(12, all.size() - 28)), skr::Base64UrlEncode(all.last(16))});
  auto plain = skr::JweDecrypt(jwe, recipient);
  REQUIRE(plain.has_value());
  CHECK(Text(*plain) == "hello");

  SECTION("dropping apv breaks the key derivation") {
    header.erase("apv");
    auto p = Split(jwe);
    p[0] = EncodeHeader(header);
    CHECK(CodeOf(skr::JweDecrypt(Join(p), recipient)) == ErrorCode::kVerificationFailed);
  }
}

// ---------------------------------------------------------------------------------------------
// JWS

TEST_CASE("JwsSign/JwsVerify: ES256 and ES384 round trip", "[common][unit][jose]") {
  const auto [alg, curve, sig_len] =
      GENERATE(std::make_tuple("ES256", "P-256", 64u), std::make_tuple("ES384", "P-384", 96u));
  INFO(alg);
  const std::string payload = R"({"report_data":"00","nonce":"abc","x":"\u00e9"})";
  auto jws = skr::JwsSign(TestKey(curve), alg, payload);
  REQUIRE(jws.has_value());
  const auto parts = Split(*jws);
  REQUIRE(parts.size() == 3);
  CHECK(DecodeHeader(parts[0]) == Json{{"alg", alg}});
  CHECK(B64(parts[2]).size() == sig_len);

  // Verify with a public-only key.
  auto pem = skr::PublicKeyToPem(TestKey(curve));
  REQUIRE(pem.has_value());
  auto pub = skr::LoadPublicKeyPem(*pem);
  REQUIRE(pub.has_value());
  auto verified = skr::JwsVerify(*jws, pub->get());
  REQUIRE(verified.has_value());
  CHECK(verified->payload == payload);
  CHECK(verified->header["alg"] == alg);

  SECTION("signatures are randomized but all verify") {
    auto again = skr::JwsSign(TestKey(curve), alg, payload);
    REQUIRE(again.has_value());
    CHECK(*again != *jws);
    CHECK(skr::JwsVerify(*again, pub->get()).has_value());
  }
  SECTION("empty payload") {
    auto empty = skr::JwsSign(TestKey(curve), alg, "");
    REQUIRE(empty.has_value());
    auto v = skr::JwsVerify(*empty, pub->get());
    REQUIRE(v.has_value());
    CHECK(v->payload.empty());
  }
}

TEST_CASE("JwsVerify: RFC 7515 Appendix A.3 ES256 example", "[common][unit][jose]") {
  const std::string jws =
      "eyJhbGciOiJFUzI1NiJ9"
      ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnV"
      "lfQ"
      ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
  const Json jwk = {{"kty", "EC"},
                    {"crv", "P-256"},
                    {"alg", "ECDH-ES+A256KW"},  // ParsePublicJwk wants the encryption alg
                    {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                    {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};
  auto key = skr::ParsePublicJwk(jwk);
  REQUIRE(key.has_value());
  auto verified = skr::JwsVerify(jws, key->key.get());
  REQUIRE(verified.has_value());
  CHECK(verified->payload ==
        "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");
}

TEST_CASE("JwsSign: alg must fit the key", "[common][unit][jose]") {
  CHECK(CodeOf(skr::JwsSign(TestKey("P-384"), "ES256", "x")) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(skr::JwsSign(TestKey("P-256"), "ES384", "x")) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(skr::JwsSign(TestKey("P-521"), "ES512", "x")) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(skr::JwsSign(TestKey("RSA-3072"), "ES256", "x")) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(skr::JwsSign(TestKey("P-256"), "none", "x")) == ErrorCode::kInvalidArgument);
}

TEST_CASE("JwsVerify: rejects bad signatures and algs with kVerificationFailed",
          "[common][unit][jose]") {
  auto jws = skr::JwsSign(TestKey("P-256"), "ES256", R"({"a":1})");
  REQUIRE(jws.has_value());
  auto parts = Split(*jws);
  EVP_PKEY* key = TestKey("P-256");
  std::string input;

  SECTION("tampered payload") {
    parts[1] = skr::Base64UrlEncode(skr::AsBytes(R"({"a":2})"));
    input = Join(parts);
  }
  SECTION("flipped signature byte") {
    parts[2] = FlipByte(parts[2], GENERATE(0u, 40u, 63u));
    input = Join(parts);
  }
  SECTION("another key") {
    input = *jws;
    key = TestKey("P-256-b");
  }
  SECTION("alg does not fit the key") {
    input = *jws;
    key = TestKey("P-384");
  }
  SECTION("an ES384 token for a P-256 key") {
    auto es384 = skr::JwsSign(TestKey("P-384"), "ES384", "x");
    REQUIRE(es384.has_value());
    input = *es384;
  }
  SECTION("RSA verification key") {
    input = *jws;
    key = TestKey("RSA-3072");
  }
  SECTION("alg none") { input = EncodeHeader(Json{{"alg", "none"}}) + "." + parts[1] + "."; }
  SECTION("HS256, RS256, ES512, PS256") {
    input = EncodeHeader(Json{{"alg", GENERATE("HS256", "RS256", "ES512", "PS256", "es256")}}) +
            "." + parts[1] + "." + parts[2];
  }
  SECTION("DER signature instead of R||S") {
    const auto raw = B64(parts[2]);
    std::vector<std::uint8_t> der = {0x30, 0x44, 0x02, 0x20};
    der.insert(der.end(), raw.begin(), raw.begin() + 32);
    der.insert(der.end(), {0x02, 0x20});
    der.insert(der.end(), raw.begin() + 32, raw.end());
    parts[2] = skr::Base64UrlEncode(der);
    input = Join(parts);
  }
  SECTION("empty signature") {
    parts[2] = "";
    input = Join(parts);
  }
  SECTION("all-zero signature") {
    parts[2] = skr::Base64UrlEncode(std::vector<std::uint8_t>(64, 0));
    input = Join(parts);
  }
  CHECK(CodeOf(skr::JwsVerify(input, key)) == ErrorCode::kVerificationFailed);
  CHECK(ERR_peek_error() == 0);
}

TEST_CASE("JwsVerify: structural problems are kMalformedEvidence", "[common][unit][jose]") {
  auto jws = skr::JwsSign(TestKey("P-384"), "ES384", "payload");
  REQUIRE(jws.has_value());
  auto parts = Split(*jws);
  std::string input;

  SECTION("two parts") { input = parts[0] + "." + parts[1]; }
  SECTION("four parts") { input = *jws + "."; }
  SECTION("JWE-like five parts") { input = *jws + ".a.b"; }
  SECTION("empty") { input = ""; }
  SECTION("header not base64url") { input = "e+J." + parts[1] + "." + parts[2]; }
  SECTION("header not JSON") {
    input = skr::Base64UrlEncode(skr::AsBytes("{alg")) + "." + parts[1] + "." + parts[2];
  }
  SECTION("header not an object") {
    input = skr::Base64UrlEncode(skr::AsBytes("\"ES384\"")) + "." + parts[1] + "." + parts[2];
  }
  SECTION("header without alg") {
    input = EncodeHeader(Json{{"typ", "JWT"}}) + "." + parts[1] + "." + parts[2];
  }
  SECTION("crit") {
    input = EncodeHeader(Json{{"alg", "ES384"}, {"crit", {"b64"}}, {"b64", false}}) + "." +
            parts[1] + "." + parts[2];
  }
  SECTION("payload not base64url") { input = parts[0] + ".pay=load." + parts[2]; }
  SECTION("signature not base64url") { input = parts[0] + "." + parts[1] + ".sig+"; }
  SECTION("over 64 KiB") { input = parts[0] + "." + std::string(70000, 'A') + "." + parts[2]; }
  CHECK(CodeOf(skr::JwsVerify(input, TestKey("P-384"))) == ErrorCode::kMalformedEvidence);
  CHECK(ERR_peek_error() == 0);
}
