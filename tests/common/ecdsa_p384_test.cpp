// SPDX-License-Identifier: Apache-2.0
// Differential tests: every signature is checked by nettle (through common/ecdsa_p384.h) and by
// OpenSSL (EVP_DigestVerify / EVP_PKEY_verify, here in the test), and the verdicts must agree.
#include "common/ecdsa_p384.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "common/ossl.h"
#include "common/x509.h"
#include "tests/support/test_support.h"

namespace {

using Bytes = std::vector<std::uint8_t>;
using skr::ErrorCode;
using skr::test::CodeOf;
using skr::test::ReasonOf;

// FIPS 186-5 / SEC 2 section 2.5.1: the order n and the prime p of P-384.
constexpr const char* kOrderHex =
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC529"
    "73";
constexpr const char* kPrimeHex =
    "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFF0000000000000000FFFFFF"
    "FF";

skr::BignumPtr Hex(const char* hex) {
  BIGNUM* bn = nullptr;
  REQUIRE(BN_hex2bn(&bn, hex) > 0);
  return skr::BignumPtr(bn);
}

Bytes Be48(const BIGNUM* bn) {
  Bytes out(48);
  REQUIRE(BN_bn2binpad(bn, out.data(), 48) == 48);
  return out;
}

skr::BignumPtr FromBe(const Bytes& b) {
  skr::BignumPtr bn(BN_bin2bn(b.data(), static_cast<int>(b.size()), nullptr));
  REQUIRE(bn);
  return bn;
}

struct Signature {
  Bytes r, s;
};

// Signs SHA-384(msg) with OpenSSL and returns (r, s) as 48-byte big-endian strings.
Signature Sign(EVP_PKEY* key, const Bytes& msg) {
  skr::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  REQUIRE(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key) == 1);
  std::size_t len = 0;
  REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &len, msg.data(), msg.size()) == 1);
  Bytes der(len);
  REQUIRE(EVP_DigestSign(ctx.get(), der.data(), &len, msg.data(), msg.size()) == 1);
  const unsigned char* p = der.data();
  skr::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  REQUIRE(sig);
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  return {Be48(r), Be48(s)};
}

// (r, s) as big-endian integers of any length -> DER, as OpenSSL verifies it.
Bytes Der(const Bytes& r, const Bytes& s) {
  skr::EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* br = BN_bin2bn(r.data(), static_cast<int>(r.size()), nullptr);
  BIGNUM* bs = BN_bin2bn(s.data(), static_cast<int>(s.size()), nullptr);
  REQUIRE((sig && br && bs));
  REQUIRE(ECDSA_SIG_set0(sig.get(), br, bs) == 1);
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  REQUIRE(len > 0);
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  REQUIRE(i2d_ECDSA_SIG(sig.get(), &p) == len);
  return der;
}

bool OpenSslVerdict(EVP_PKEY* key, const Bytes& msg, const Bytes& r, const Bytes& s) {
  const Bytes der = Der(r, s);
  skr::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  REQUIRE(EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key) == 1);
  const int rc = EVP_DigestVerify(ctx.get(), der.data(), der.size(), msg.data(), msg.size());
  ERR_clear_error();
  return rc == 1;
}

skr::Result<void> Nettle(EVP_PKEY* key, const Bytes& msg, const Bytes& r, const Bytes& s) {
  const auto digest = skr::Sha384(std::span<const std::uint8_t>(msg));
  return skr::VerifyEcdsaP384(key, digest, r, s);
}

// Both verdicts; the test requires them equal and equal to `expected`.
void CheckBoth(EVP_PKEY* key, const Bytes& msg, const Bytes& r, const Bytes& s, bool expected) {
  const bool ossl = OpenSslVerdict(key, msg, r, s);
  const auto nettle = Nettle(key, msg, r, s);
  CHECK(ossl == expected);
  CHECK(nettle.has_value() == expected);
  if (!expected) CHECK(ReasonOf(nettle) == "ecdsa_p384_signature_invalid");
}

Bytes Coordinate(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  REQUIRE(EVP_PKEY_get_bn_param(key, name, &bn) == 1);
  skr::BignumPtr owner(bn);
  return Be48(bn);
}

// SEV-SNP ABI, ATTESTATION_REPORT: the signature covers [0, 0x2A0); R at 0x2A0 and S at 0x2E8,
// 72-byte little-endian fields of which the low 48 bytes carry the P-384 value.
constexpr std::size_t kSnpSignedSize = 0x2A0;
constexpr std::size_t kSnpR = 0x2A0;
constexpr std::size_t kSnpS = 0x2E8;

Bytes SnpScalar(const Bytes& report, std::size_t offset) {
  Bytes be(report.begin() + static_cast<std::ptrdiff_t>(offset),
           report.begin() + static_cast<std::ptrdiff_t>(offset + 48));
  std::reverse(be.begin(), be.end());
  return be;
}

}  // namespace

TEST_CASE("VerifyEcdsaP384: agrees with OpenSSL on valid and tampered signatures of random keys",
          "[common][ecdsa_p384]") {
  for (int k = 0; k < 12; ++k) {
    skr::EvpPkeyPtr key = skr::GenerateEcKey("P-384").value();
    for (int m = 0; m < 4; ++m) {
      const Bytes msg = skr::RandomBytes(static_cast<std::size_t>(1 + 97 * m));
      const Signature sig = Sign(key.get(), msg);
      INFO("key " << k << " message " << m);
      CheckBoth(key.get(), msg, sig.r, sig.s, true);

      Bytes bad_msg = msg;
      bad_msg[skr::RandomBytes(1)[0] % bad_msg.size()] ^= 0x01;
      CheckBoth(key.get(), bad_msg, sig.r, sig.s, false);

      const std::size_t bit = skr::RandomBytes(1)[0] % 384;
      Bytes bad_r = sig.r;
      bad_r[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      CheckBoth(key.get(), msg, bad_r, sig.s, false);
      Bytes bad_s = sig.s;
      bad_s[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      CheckBoth(key.get(), msg, sig.r, bad_s, false);
      // r and s swapped.
      CheckBoth(key.get(), msg, sig.s, sig.r, false);
    }
  }
}

TEST_CASE("VerifyEcdsaP384: agrees with OpenSSL on scalars at and beyond the group order",
          "[common][ecdsa_p384]") {
  EVP_PKEY* key = skr::test::CachedKey("P-384");
  const Bytes msg = skr::RandomBytes(64);
  const Signature sig = Sign(key, msg);
  const skr::BignumPtr n = Hex(kOrderHex);
  skr::BignumPtr n_plus_1(BN_dup(n.get()));
  REQUIRE(BN_add_word(n_plus_1.get(), 1) == 1);
  const Bytes zero(48, 0x00);
  const Bytes all_ones(48, 0xFF);
  const Bytes order = Be48(n.get());
  const Bytes beyond = Be48(n_plus_1.get());

  // r + n and s + n: the same residues mod n, but out of range, so both refuse them.
  auto plus_n = [&](const Bytes& v) {
    skr::BignumPtr sum(BN_new());
    REQUIRE(BN_add(sum.get(), FromBe(v).get(), n.get()) == 1);
    if (BN_num_bytes(sum.get()) > 48) return all_ones;  // does not fit: use 2^384 - 1
    return Be48(sum.get());
  };

  SECTION("r = 0") { CheckBoth(key, msg, zero, sig.s, false); }
  SECTION("s = 0") { CheckBoth(key, msg, sig.r, zero, false); }
  SECTION("r = s = 0") { CheckBoth(key, msg, zero, zero, false); }
  SECTION("r = n") { CheckBoth(key, msg, order, sig.s, false); }
  SECTION("s = n") { CheckBoth(key, msg, sig.r, order, false); }
  SECTION("r = n + 1") { CheckBoth(key, msg, beyond, sig.s, false); }
  SECTION("s = n + 1") { CheckBoth(key, msg, sig.r, beyond, false); }
  SECTION("r = 2^384 - 1") { CheckBoth(key, msg, all_ones, sig.s, false); }
  SECTION("s = 2^384 - 1") { CheckBoth(key, msg, sig.r, all_ones, false); }
  SECTION("r + n") { CheckBoth(key, msg, plus_n(sig.r), sig.s, false); }
  SECTION("s + n") { CheckBoth(key, msg, sig.r, plus_n(sig.s), false); }
  SECTION("r = 1, s = 1") {
    Bytes one(48, 0x00);
    one[47] = 1;
    CheckBoth(key, msg, one, one, false);
  }
}

TEST_CASE("VerifyEcdsaP384: the high-s twin (r, n - s) verifies with both, as ECDSA allows",
          "[common][ecdsa_p384]") {
  EVP_PKEY* key = skr::test::CachedKey("P-384");
  const skr::BignumPtr n = Hex(kOrderHex);
  for (int i = 0; i < 8; ++i) {
    const Bytes msg = skr::RandomBytes(32);
    const Signature sig = Sign(key, msg);
    skr::BignumPtr twin(BN_new());
    REQUIRE(BN_sub(twin.get(), n.get(), FromBe(sig.s).get()) == 1);
    CheckBoth(key, msg, sig.r, Be48(twin.get()), true);
  }
}

TEST_CASE("VerifyEcdsaP384: r or s of the wrong length is refused as input, not verified",
          "[common][ecdsa_p384]") {
  EVP_PKEY* key = skr::test::CachedKey("P-384");
  const Bytes msg = skr::RandomBytes(40);
  const Signature sig = Sign(key, msg);
  const auto digest = skr::Sha384(std::span<const std::uint8_t>(msg));

  // A byte dropped or appended changes the integer: OpenSSL (which takes any length) refuses
  // it as a bad signature, nettle refuses the length before looking at the value.
  Bytes r_short(sig.r.begin(), sig.r.end() - 1);
  Bytes s_long = sig.s;
  s_long.push_back(0x01);
  CHECK_FALSE(OpenSslVerdict(key, msg, r_short, sig.s));
  CHECK_FALSE(OpenSslVerdict(key, msg, sig.r, s_long));
  for (const auto& [r, s] :
       {std::pair{r_short, sig.s}, std::pair{sig.r, s_long}, std::pair{Bytes{}, sig.s},
        std::pair{sig.r, Bytes{}}, std::pair{Bytes(72, 0x00), sig.s}}) {
    auto res = skr::VerifyEcdsaP384(key, digest, r, s);
    CHECK(CodeOf(res) == ErrorCode::kInvalidArgument);
    CHECK(ReasonOf(res) == "ecdsa_p384_input");
  }
  // The one deliberate difference: a leading zero byte keeps the integer, so OpenSSL's DER path
  // accepts it, but the fixed-width interface does not (callers own their field widths).
  Bytes r_padded = sig.r;
  r_padded.insert(r_padded.begin(), 0x00);
  CHECK(OpenSslVerdict(key, msg, r_padded, sig.s));
  CHECK(ReasonOf(skr::VerifyEcdsaP384(key, digest, r_padded, sig.s)) == "ecdsa_p384_input");
}

TEST_CASE("VerifyEcdsaP384: SHA-256, SHA-384 and SHA-512 digests agree with OpenSSL's truncation",
          "[common][ecdsa_p384]") {
  EVP_PKEY* key = skr::test::CachedKey("P-384");
  const std::size_t size = GENERATE(32u, 48u, 64u);
  INFO("digest bytes " << size);
  const Bytes digest = skr::RandomBytes(size);
  // Sign the raw digest (a TPM signs a digest it was given).
  skr::EvpPkeyCtxPtr sctx(EVP_PKEY_CTX_new(key, nullptr));
  REQUIRE(EVP_PKEY_sign_init(sctx.get()) == 1);
  std::size_t len = 0;
  REQUIRE(EVP_PKEY_sign(sctx.get(), nullptr, &len, digest.data(), digest.size()) == 1);
  Bytes der(len);
  REQUIRE(EVP_PKEY_sign(sctx.get(), der.data(), &len, digest.data(), digest.size()) == 1);
  der.resize(len);
  const unsigned char* p = der.data();
  skr::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  REQUIRE(sig);
  const BIGNUM* br = nullptr;
  const BIGNUM* bs = nullptr;
  ECDSA_SIG_get0(sig.get(), &br, &bs);
  const Bytes r = Be48(br);
  const Bytes s = Be48(bs);

  auto openssl = [&](const Bytes& d) {
    skr::EvpPkeyCtxPtr vctx(EVP_PKEY_CTX_new(key, nullptr));
    REQUIRE(EVP_PKEY_verify_init(vctx.get()) == 1);
    const int rc = EVP_PKEY_verify(vctx.get(), der.data(), der.size(), d.data(), d.size());
    ERR_clear_error();
    return rc == 1;
  };
  CHECK(openssl(digest));
  CHECK(skr::VerifyEcdsaP384(key, digest, r, s).has_value());
  Bytes tampered = digest;
  tampered.back() ^= 0x80;  // beyond bit 384 for SHA-512: truncated away by both
  const bool still_valid = size > 48;
  CHECK(openssl(tampered) == still_valid);
  CHECK(skr::VerifyEcdsaP384(key, tampered, r, s).has_value() == still_valid);
  tampered = digest;
  tampered.front() ^= 0x01;
  CHECK_FALSE(openssl(tampered));
  CHECK(ReasonOf(skr::VerifyEcdsaP384(key, tampered, r, s)) == "ecdsa_p384_signature_invalid");

  SECTION("a digest outside 32..64 bytes is refused") {
    for (std::size_t bad : {0u, 20u, 31u, 65u}) {
      CHECK(ReasonOf(skr::VerifyEcdsaP384(key, Bytes(bad, 0x11), r, s)) == "ecdsa_p384_input");
    }
  }
}

TEST_CASE("P384PublicKey: refuses keys that are not on P-384", "[common][ecdsa_p384]") {
  const Bytes digest(48, 0x42);
  const Bytes one(48, 0x01);
  for (const char* kind : {"P-256", "P-521", "secp256k1", "rsa2048"}) {
    INFO(kind);
    EVP_PKEY* key = skr::test::CachedKey(kind);
    CHECK_FALSE(skr::IsP384Key(key));
    auto res = skr::VerifyEcdsaP384(key, digest, one, one);
    CHECK(CodeOf(res) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(res) == "ecdsa_p384_key");
  }
  CHECK(skr::IsP384Key(skr::test::CachedKey("P-384")));
  CHECK_FALSE(skr::IsP384Key(nullptr));
  CHECK(ReasonOf(skr::VerifyEcdsaP384(nullptr, digest, one, one)) == "ecdsa_p384_key");

  SECTION("a P-384 signature made by a P-256 key's owner is refused by both") {
    EVP_PKEY* p256 = skr::test::CachedKey("P-256");
    const Bytes msg = skr::RandomBytes(16);
    const Signature sig = Sign(skr::test::CachedKey("P-384"), msg);
    CHECK_FALSE(OpenSslVerdict(p256, msg, sig.r, sig.s));
    CHECK(ReasonOf(Nettle(p256, msg, sig.r, sig.s)) == "ecdsa_p384_key");
  }
}

TEST_CASE("P384PublicKey: refuses the point at infinity and points off the curve",
          "[common][ecdsa_p384]") {
  EVP_PKEY* key = skr::test::CachedKey("P-384");
  const Bytes x = Coordinate(key, OSSL_PKEY_PARAM_EC_PUB_X);
  const Bytes y = Coordinate(key, OSSL_PKEY_PARAM_EC_PUB_Y);
  const Bytes msg = skr::RandomBytes(48);
  const Signature sig = Sign(key, msg);
  const auto digest = skr::Sha384(std::span<const std::uint8_t>(msg));

  // The key's own coordinates give the same verdicts as the EVP_PKEY.
  auto same = skr::P384PublicKey::FromAffine(x, y);
  REQUIRE(same.has_value());
  CHECK(same->Verify(digest, sig.r, sig.s).has_value());

  Bytes y_plus_1 = y;
  y_plus_1.back() ^= 0x01;
  const Bytes p = Be48(Hex(kPrimeHex).get());
  skr::BignumPtr y_plus_p(BN_new());
  REQUIRE(BN_add(y_plus_p.get(), FromBe(y).get(), Hex(kPrimeHex).get()) == 1);
  struct BadPoint {
    const char* what;
    Bytes x, y;
  };
  std::vector<BadPoint> bad = {
      {"(0, 0): the point at infinity's usual encoding", Bytes(48, 0), Bytes(48, 0)},
      {"y off by one bit: not on the curve", x, y_plus_1},
      {"x = p", p, y},
      {"x = 2^384 - 1", Bytes(48, 0xFF), y},
      {"y = p", x, p},
  };
  if (BN_num_bytes(y_plus_p.get()) <= 48) bad.push_back({"y + p", x, Be48(y_plus_p.get())});
  for (const BadPoint& b : bad) {
    INFO(b.what);
    auto res = skr::P384PublicKey::FromAffine(b.x, b.y);
    CHECK(CodeOf(res) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(res) == "ecdsa_p384_key");
  }
  // OpenSSL refuses to build an EVP_PKEY from the same off-curve point.
  Bytes sec1 = {0x04};
  sec1.insert(sec1.end(), x.begin(), x.end());
  sec1.insert(sec1.end(), y_plus_1.begin(), y_plus_1.end());
  skr::OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  REQUIRE(OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "secp384r1", 0) ==
          1);
  REQUIRE(OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, sec1.data(),
                                           sec1.size()) == 1);
  skr::OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  skr::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  REQUIRE(EVP_PKEY_fromdata_init(ctx.get()) == 1);
  CHECK(EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1);
  EVP_PKEY_free(raw);
  ERR_clear_error();

  SECTION("coordinates of the wrong length") {
    for (const auto& [bx, by] : {std::pair{Bytes(x.begin() + 1, x.end()), y},
                                 std::pair{x, Bytes(49, 0x00)}, std::pair{Bytes{}, Bytes{}}}) {
      CHECK(ReasonOf(skr::P384PublicKey::FromAffine(bx, by)) == "ecdsa_p384_key");
    }
  }
}

TEST_CASE(
    "VerifyEcdsaP384: real SEV-SNP reports verify with their VCEK/VLEK; one flipped bit fails",
    "[common][ecdsa_p384][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  const std::pair<const char*, const char*> kPairs[] = {
      {"snp/milan_trustee_report.bin", "snp/milan_trustee_vcek.der"},
      {"snp/milan_trustee_vlek_report.bin", "snp/milan_trustee_vlek.der"},
      {"snp/milan_gosevguest_report.bin", "snp/milan_gosevguest_vcek.der"},
      {"snp/milan_virtee_report.bin", "snp/milan_virtee_vcek.der"},
      {"snp/genoa_azure_report.bin", "azure/snp-genoa/vcek.pem"},
  };
  for (const auto& [report_file, cert_file] : kPairs) {
    INFO(report_file);
    const std::string raw = skr::test::ReadFileOrFail(dir / report_file);
    const Bytes report(raw.begin(), raw.end());
    REQUIRE(report.size() == 0x4A0);
    const std::string cert_bytes = skr::test::ReadFileOrFail(dir / cert_file);
    auto cert = std::string(cert_file).ends_with(".pem")
                    ? skr::ParseCertificatePem(cert_bytes)
                    : skr::ParseCertificateDer(skr::AsBytes(cert_bytes));
    REQUIRE(cert.has_value());
    EVP_PKEY* vcek = X509_get0_pubkey(cert->get());
    REQUIRE(vcek != nullptr);
    const Bytes body(report.begin(), report.begin() + kSnpSignedSize);
    const Bytes r = SnpScalar(report, kSnpR);
    const Bytes s = SnpScalar(report, kSnpS);
    CheckBoth(vcek, body, r, s, true);

    for (std::size_t bit : {std::size_t{0}, std::size_t{0x50 * 8 + 3}, kSnpSignedSize * 8 - 1}) {
      Bytes flipped = body;
      flipped[bit / 8] ^= static_cast<std::uint8_t>(1u << (bit % 8));
      CheckBoth(vcek, flipped, r, s, false);
    }
    Bytes r_flipped = r;
    r_flipped[47] ^= 0x01;  // R's least significant bit (report byte 0x2A0)
    CheckBoth(vcek, body, r_flipped, s, false);
  }
}
