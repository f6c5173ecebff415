// SPDX-License-Identifier: Apache-2.0
// TPM 2.0 quote parsing and verification (attestation/tpm/quote.h): real Azure vTPM quotes from
// ../shared/testdata (PROVENANCE.md) plus quotes built and signed here with test keys, marshalled
// with libtss2-mu (TCG TPM 2.0 Library Part 2 encodings).
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "attestation/azure/hcl_report.h"
#include "attestation/tpm/quote.h"
#include "common/encoding.h"
#include "tests/support/test_support.h"

using skr::ErrorCode;
using skr::Json;
using skr::test::CodeOf;
using skr::test::ReasonOf;
namespace tpm = skr::attestation::tpm;
namespace azure = skr::attestation::azure;
using Bytes = std::vector<std::uint8_t>;

namespace {

Bytes Hex(const std::string& h) { return skr::HexDecode(h).value(); }

Bytes Fill(std::size_t n, std::uint8_t seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(seed + i);
  return b;
}

Bytes Digest(const EVP_MD* md, const Bytes& data) {
  Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
  unsigned len = 0;
  REQUIRE(EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) == 1);
  return out;
}

// A TPMS_ATTEST quote over `pcrs` (bank sha256 indexes 0 and 7, bank sha1 index 1) with the
// pcrDigest computed with `md` (the TPM uses the signing scheme's hash).
struct TestQuote {
  TPMS_ATTEST attest{};
  Bytes pcr0 = Fill(32, 0x10), pcr7 = Fill(32, 0x70), sha1_pcr1 = Fill(20, 0x01);
  tpm::PcrValues Values() const {
    tpm::PcrValues v;
    v["sha256"][0] = pcr0;
    v["sha256"][7] = pcr7;
    v["sha1"][1] = sha1_pcr1;
    return v;
  }
};

TestQuote MakeQuote(const EVP_MD* md, TPM2_ST type = TPM2_ST_ATTEST_QUOTE) {
  TestQuote t;
  std::memset(&t.attest, 0, sizeof(t.attest));
  TPMS_ATTEST& a = t.attest;
  a.magic = TPM2_GENERATED_VALUE;
  a.type = type;
  a.qualifiedSigner.size = 34;
  a.qualifiedSigner.name[0] = 0x00;
  a.qualifiedSigner.name[1] = 0x0b;
  a.extraData.size = 48;
  for (int i = 0; i < 48; ++i) a.extraData.buffer[i] = static_cast<BYTE>(0xA0 + i);
  a.clockInfo.clock = 123456;
  a.clockInfo.resetCount = 5;
  a.clockInfo.restartCount = 2;
  a.clockInfo.safe = 1;
  a.firmwareVersion = 0x2020031200120003ULL;
  TPMS_QUOTE_INFO& q = a.attested.quote;
  q.pcrSelect.count = 2;
  q.pcrSelect.pcrSelections[0].hash = TPM2_ALG_SHA256;
  q.pcrSelect.pcrSelections[0].sizeofSelect = 3;
  q.pcrSelect.pcrSelections[0].pcrSelect[0] = 0x81;  // PCR 0 and 7
  q.pcrSelect.pcrSelections[1].hash = TPM2_ALG_SHA1;
  q.pcrSelect.pcrSelections[1].sizeofSelect = 3;
  q.pcrSelect.pcrSelections[1].pcrSelect[0] = 0x02;  // PCR 1
  Bytes concat = t.pcr0;
  concat.insert(concat.end(), t.pcr7.begin(), t.pcr7.end());
  concat.insert(concat.end(), t.sha1_pcr1.begin(), t.sha1_pcr1.end());
  Bytes d = Digest(md, concat);
  q.pcrDigest.size = static_cast<UINT16>(d.size());
  std::memcpy(q.pcrDigest.buffer, d.data(), d.size());
  return t;
}

Bytes MarshalAttest(const TPMS_ATTEST& a) {
  Bytes buf(4096);
  size_t off = 0;
  REQUIRE(Tss2_MU_TPMS_ATTEST_Marshal(&a, buf.data(), buf.size(), &off) == TSS2_RC_SUCCESS);
  buf.resize(off);
  return buf;
}

Bytes MarshalSignature(const TPMT_SIGNATURE& s) {
  Bytes buf(4096);
  size_t off = 0;
  REQUIRE(Tss2_MU_TPMT_SIGNATURE_Marshal(&s, buf.data(), buf.size(), &off) == TSS2_RC_SUCCESS);
  buf.resize(off);
  return buf;
}

Bytes Sign(EVP_PKEY* key, const EVP_MD* md, int padding, const Bytes& msg) {
  skr::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  REQUIRE(EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key) == 1);
  if (padding != 0) {
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, padding) == 1);
    if (padding == RSA_PKCS1_PSS_PADDING) {
      REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1);
    }
  }
  size_t len = 0;
  REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &len, msg.data(), msg.size()) == 1);
  Bytes sig(len);
  REQUIRE(EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()) == 1);
  sig.resize(len);
  return sig;
}

// TPMT_SIGNATURE for an RSA (RSASSA/RSAPSS) or ECDSA signature made by OpenSSL.
TPMT_SIGNATURE ToTpmSignature(TPM2_ALG_ID alg, TPM2_ALG_ID hash, const Bytes& sig, std::size_t field = 0) {
  TPMT_SIGNATURE s;
  std::memset(&s, 0, sizeof(s));
  s.sigAlg = alg;
  if (alg == TPM2_ALG_RSASSA || alg == TPM2_ALG_RSAPSS) {
    TPMS_SIGNATURE_RSA& r = alg == TPM2_ALG_RSASSA ? s.signature.rsassa : s.signature.rsapss;
    r.hash = hash;
    r.sig.size = static_cast<UINT16>(sig.size());
    std::memcpy(r.sig.buffer, sig.data(), sig.size());
    return s;
  }
  s.signature.ecdsa.hash = hash;
  const unsigned char* p = sig.data();
  skr::EcdsaSigPtr es(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  REQUIRE(es);
  s.signature.ecdsa.signatureR.size = static_cast<UINT16>(field);
  s.signature.ecdsa.signatureS.size = static_cast<UINT16>(field);
  REQUIRE(BN_bn2binpad(ECDSA_SIG_get0_r(es.get()), s.signature.ecdsa.signatureR.buffer, static_cast<int>(field)) > 0);
  REQUIRE(BN_bn2binpad(ECDSA_SIG_get0_s(es.get()), s.signature.ecdsa.signatureS.buffer, static_cast<int>(field)) > 0);
  return s;
}

// The TPMT_PUBLIC of an AK made from an OpenSSL key (restricted signing key, as TPMs make AKs).
TPMT_PUBLIC ToTpmtPublic(EVP_PKEY* key, bool default_exponent) {
  TPMT_PUBLIC p;
  std::memset(&p, 0, sizeof(p));
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM;
  if (EVP_PKEY_is_a(key, "RSA") == 1) {
    p.type = TPM2_ALG_RSA;
    p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
    p.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
    p.parameters.rsaDetail.keyBits = static_cast<UINT16>(EVP_PKEY_get_bits(key));
    p.parameters.rsaDetail.exponent = default_exponent ? 0 : 65537;
    BIGNUM* n = nullptr;
    REQUIRE(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
    skr::BignumPtr nn(n);
    p.unique.rsa.size = static_cast<UINT16>(BN_num_bytes(n));
    BN_bn2bin(n, p.unique.rsa.buffer);
    return p;
  }
  p.type = TPM2_ALG_ECC;
  p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
  p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
  p.parameters.eccDetail.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
  p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
  const int bits = EVP_PKEY_get_bits(key);
  p.parameters.eccDetail.curveID = bits == 256 ? TPM2_ECC_NIST_P256 : TPM2_ECC_NIST_P384;
  const std::size_t field = static_cast<std::size_t>(bits / 8);
  Bytes point(1 + 2 * field);
  size_t len = 0;
  REQUIRE(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size(), &len) == 1);
  REQUIRE(len == point.size());
  p.unique.ecc.x.size = static_cast<UINT16>(field);
  p.unique.ecc.y.size = static_cast<UINT16>(field);
  std::memcpy(p.unique.ecc.x.buffer, point.data() + 1, field);
  std::memcpy(p.unique.ecc.y.buffer, point.data() + 1 + field, field);
  return p;
}

Bytes MarshalPublic(const TPMT_PUBLIC& p) {
  Bytes buf(4096);
  size_t off = 0;
  REQUIRE(Tss2_MU_TPMT_PUBLIC_Marshal(&p, buf.data(), buf.size(), &off) == TSS2_RC_SUCCESS);
  buf.resize(off);
  return buf;
}

}  // namespace

TEST_CASE("TpmQuote: real Azure vTPM quotes parse with the documented fields", "[attestation][tpm][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  for (const char* f : {"azure/snp-milan/tpm_quote.json", "azure/tdx/tpm_quote.json"}) {
    INFO(f);
    Json j = skr::ParseJson(skr::test::ReadFileOrFail(dir / f)).value();
    auto q = tpm::Quote::Parse(Hex(j["message"].get<std::string>()));
    REQUIRE(q.has_value());
    CHECK(q->firmware_version == 0x2020031200120003ULL);
    CHECK(skr::HexEncode(q->extra_data) == "6368616c6c656e6765");  // "challenge"
    CHECK(q->safe);
    CHECK(q->restart_count == 0);
    REQUIRE(q->pcr_selection.size() == 1);
    CHECK(q->pcr_selection[0].bank == "sha256");
    CHECK(q->pcr_selection[0].indexes.size() == 24);
    CHECK(q->pcr_selection[0].indexes.back() == 23);
    CHECK(q->pcr_digest.size() == 32);
    CHECK(q->qualified_signer.size() == 34);
  }
  Json j = skr::ParseJson(skr::test::ReadFileOrFail(dir / "azure/snp-milan/tpm_quote.json")).value();
  auto q = tpm::Quote::Parse(Hex(j["message"].get<std::string>()));
  REQUIRE(q.has_value());
  CHECK(q->reset_count == 3);
  CHECK(q->clock == 2167057);
}

TEST_CASE("TpmQuote: malformed TPMS_ATTEST inputs are refused with specific reasons", "[attestation][tpm][unit]") {
  TestQuote t = MakeQuote(EVP_sha256());
  const Bytes good = MarshalAttest(t.attest);
  REQUIRE(tpm::Quote::Parse(good).has_value());

  SECTION("trailing byte") {
    Bytes b = good;
    b.push_back(0);
    auto r = tpm::Quote::Parse(b);
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "tpm_attest_malformed");
  }
  SECTION("every truncation") {
    for (std::size_t n = 0; n < good.size(); ++n) {
      auto r = tpm::Quote::Parse(std::span<const std::uint8_t>(good.data(), n));
      INFO(n);
      CHECK(ReasonOf(r) == "tpm_attest_malformed");
    }
  }
  SECTION("oversized") {
    Bytes b = good;
    b.resize(tpm::kMaxTpmStructBytes + 1, 0);
    CHECK(ReasonOf(tpm::Quote::Parse(b)) == "tpm_attest_malformed");
  }
  SECTION("wrong magic") {
    Bytes b = good;
    b[0] ^= 0x01;
    auto r = tpm::Quote::Parse(b);
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "tpm_attest_malformed");
  }
  SECTION("not a quote (TPM_ST_ATTEST_TIME)") {
    TPMS_ATTEST a;
    std::memset(&a, 0, sizeof(a));
    a.magic = TPM2_GENERATED_VALUE;
    a.type = TPM2_ST_ATTEST_TIME;
    auto r = tpm::Quote::Parse(MarshalAttest(a));
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "tpm_attest_type");
  }
  SECTION("fields") {
    auto q = tpm::Quote::Parse(good).value();
    CHECK(q.reset_count == 5);
    CHECK(q.restart_count == 2);
    CHECK(q.clock == 123456);
    REQUIRE(q.pcr_selection.size() == 2);
    CHECK(q.pcr_selection[0].indexes == std::vector<unsigned>{0, 7});
    CHECK(q.pcr_selection[1].bank == "sha1");
    CHECK(q.pcr_selection[1].indexes == std::vector<unsigned>{1});
  }
}

TEST_CASE("TpmQuote: signatures of every supported scheme verify, tampering is refused",
          "[attestation][tpm][unit]") {
  struct Scheme {
    const char* name;
    TPM2_ALG_ID alg;
    TPM2_ALG_ID hash;
    const EVP_MD* md;
    int padding;
    bool rsa;
    const char* curve;
    std::size_t field;
  };
  const Scheme schemes[] = {
      {"RSASSA-SHA256", TPM2_ALG_RSASSA, TPM2_ALG_SHA256, EVP_sha256(), RSA_PKCS1_PADDING, true, nullptr, 0},
      {"RSAPSS-SHA384", TPM2_ALG_RSAPSS, TPM2_ALG_SHA384, EVP_sha384(), RSA_PKCS1_PSS_PADDING, true, nullptr, 0},
      {"ECDSA-P256-SHA256", TPM2_ALG_ECDSA, TPM2_ALG_SHA256, EVP_sha256(), 0, false, "P-256", 32},
      {"ECDSA-P384-SHA384", TPM2_ALG_ECDSA, TPM2_ALG_SHA384, EVP_sha384(), 0, false, "P-384", 48},
  };
  auto rsa = skr::GenerateRsaKey(2048).value();
  auto other_rsa = skr::GenerateRsaKey(2048).value();
  for (const Scheme& s : schemes) {
    INFO(s.name);
    skr::EvpPkeyPtr ec;
    if (!s.rsa) ec = skr::GenerateEcKey(s.curve).value();
    EVP_PKEY* key = s.rsa ? rsa.get() : ec.get();
    TestQuote t = MakeQuote(s.md);
    Bytes msg = MarshalAttest(t.attest);
    TPMT_SIGNATURE sig = ToTpmSignature(s.alg, s.hash, Sign(key, s.md, s.padding, msg), s.field);
    // Marshal / parse round trip of the signature and the AK's TPMT_PUBLIC.
    auto parsed_sig = tpm::ParseSignature(MarshalSignature(sig));
    REQUIRE(parsed_sig.has_value());
    auto pub = tpm::ParsePublic(MarshalPublic(ToTpmtPublic(key, true)));
    REQUIRE(pub.has_value());
    auto ak = tpm::AkFromTpmtPublic(*pub);
    REQUIRE(ak.has_value());
    CHECK(EVP_PKEY_eq(ak->get(), key) == 1);

    CHECK(tpm::VerifyQuoteSignature(msg, *parsed_sig, ak->get()).has_value());
    auto q = tpm::Quote::Parse(msg).value();
    CHECK(tpm::VerifyPcrDigest(q, t.Values(), tpm::SignatureHash(*parsed_sig)).has_value());

    Bytes flipped = msg;
    flipped[flipped.size() / 2] ^= 0x10;
    auto r = tpm::VerifyQuoteSignature(flipped, *parsed_sig, ak->get());
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_signature_invalid");

    TPMT_SIGNATURE bad = *parsed_sig;
    if (s.rsa) {
      bad.signature.rsassa.sig.buffer[10] ^= 0x01;  // rsassa and rsapss share the layout
    } else {
      bad.signature.ecdsa.signatureS.buffer[5] ^= 0x01;
    }
    CHECK(ReasonOf(tpm::VerifyQuoteSignature(msg, bad, ak->get())) == "tpm_signature_invalid");
    // Another key, or a key of the other type.
    EVP_PKEY* wrong = s.rsa ? other_rsa.get() : rsa.get();
    CHECK(ReasonOf(tpm::VerifyQuoteSignature(msg, *parsed_sig, wrong)) == "tpm_signature_invalid");
  }
}

TEST_CASE("TpmQuote: SHA-1 signatures and unknown schemes are refused", "[attestation][tpm][unit]") {
  auto rsa = skr::GenerateRsaKey(2048).value();
  TestQuote t = MakeQuote(EVP_sha1());
  Bytes msg = MarshalAttest(t.attest);
  TPMT_SIGNATURE sig = ToTpmSignature(TPM2_ALG_RSASSA, TPM2_ALG_SHA1, Sign(rsa.get(), EVP_sha1(), RSA_PKCS1_PADDING, msg));
  CHECK(ReasonOf(tpm::VerifyQuoteSignature(msg, sig, rsa.get())) == "tpm_signature_invalid");
  TPMT_SIGNATURE none;
  std::memset(&none, 0, sizeof(none));
  none.sigAlg = TPM2_ALG_NULL;
  CHECK(ReasonOf(tpm::VerifyQuoteSignature(msg, none, rsa.get())) == "tpm_signature_invalid");
}

TEST_CASE("TpmQuote: malformed TPMT_SIGNATURE and TPMT_PUBLIC are refused", "[attestation][tpm][unit]") {
  auto rsa = skr::GenerateRsaKey(2048).value();
  Bytes sig = MarshalSignature(ToTpmSignature(TPM2_ALG_RSASSA, TPM2_ALG_SHA256, Fill(256, 1)));
  Bytes pub = MarshalPublic(ToTpmtPublic(rsa.get(), false));
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{5}, sig.size() - 1}) {
    auto r = tpm::ParseSignature(std::span<const std::uint8_t>(sig.data(), n));
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "tpm_signature_malformed");
  }
  Bytes sig_trailing = sig;
  sig_trailing.push_back(0);
  CHECK(ReasonOf(tpm::ParseSignature(sig_trailing)) == "tpm_signature_malformed");
  for (std::size_t n : {std::size_t{0}, std::size_t{3}, pub.size() / 2, pub.size() - 1}) {
    auto r = tpm::ParsePublic(std::span<const std::uint8_t>(pub.data(), n));
    CHECK(ReasonOf(r) == "tpm_public_malformed");
  }
  Bytes pub_trailing = pub;
  pub_trailing.push_back(0);
  CHECK(ReasonOf(tpm::ParsePublic(pub_trailing)) == "tpm_public_malformed");
  CHECK(ReasonOf(tpm::ParsePublic(Bytes(tpm::kMaxTpmStructBytes + 1, 0))) == "tpm_public_malformed");

  // TPM2B_PUBLIC: a size prefix in front of the same TPMT_PUBLIC.
  Bytes two_b = {static_cast<std::uint8_t>(pub.size() >> 8), static_cast<std::uint8_t>(pub.size())};
  two_b.insert(two_b.end(), pub.begin(), pub.end());
  auto p2 = tpm::ParsePublic2B(two_b);
  REQUIRE(p2.has_value());
  auto ak = tpm::AkFromTpmtPublic(*p2);
  REQUIRE(ak.has_value());
  CHECK(EVP_PKEY_eq(ak->get(), rsa.get()) == 1);

  // keyBits that does not match the modulus; an unknown curve; a point off the curve.
  TPMT_PUBLIC bad = ToTpmtPublic(rsa.get(), false);
  bad.parameters.rsaDetail.keyBits = 3072;
  CHECK(ReasonOf(tpm::AkFromTpmtPublic(bad)) == "tpm_public_malformed");
  auto ec = skr::GenerateEcKey("P-256").value();
  TPMT_PUBLIC ecp = ToTpmtPublic(ec.get(), false);
  TPMT_PUBLIC bad_curve = ecp;
  bad_curve.parameters.eccDetail.curveID = TPM2_ECC_BN_P256;
  CHECK(ReasonOf(tpm::AkFromTpmtPublic(bad_curve)) == "tpm_public_malformed");
  TPMT_PUBLIC off_curve = ecp;
  off_curve.unique.ecc.y.buffer[31] ^= 0x01;
  CHECK(ReasonOf(tpm::AkFromTpmtPublic(off_curve)) == "tpm_public_malformed");
}

TEST_CASE("TpmQuote: the PCR digest must match exactly the selected PCRs", "[attestation][tpm][unit]") {
  TestQuote t = MakeQuote(EVP_sha256());
  auto q = tpm::Quote::Parse(MarshalAttest(t.attest)).value();
  REQUIRE(tpm::VerifyPcrDigest(q, t.Values(), TPM2_ALG_SHA256).has_value());

  SECTION("a PCR value changed") {
    auto v = t.Values();
    v["sha256"][7][0] ^= 0x01;
    auto r = tpm::VerifyPcrDigest(q, v, TPM2_ALG_SHA256);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_pcr_mismatch");
  }
  SECTION("a selected PCR missing") {
    auto v = t.Values();
    v["sha1"].erase(1);
    CHECK(ReasonOf(tpm::VerifyPcrDigest(q, v, TPM2_ALG_SHA256)) == "tpm_pcr_missing");
    v.erase("sha1");
    CHECK(ReasonOf(tpm::VerifyPcrDigest(q, v, TPM2_ALG_SHA256)) == "tpm_pcr_missing");
  }
  SECTION("an extra PCR that the quote does not cover") {
    auto v = t.Values();
    v["sha256"][8] = Fill(32, 0x80);
    CHECK(ReasonOf(tpm::VerifyPcrDigest(q, v, TPM2_ALG_SHA256)) == "tpm_pcr_mismatch");
    auto w = t.Values();
    w["sha384"][0] = Fill(48, 0x80);
    CHECK(ReasonOf(tpm::VerifyPcrDigest(q, w, TPM2_ALG_SHA256)) == "tpm_pcr_mismatch");
  }
  SECTION("a value of the wrong size") {
    auto v = t.Values();
    v["sha256"][0].push_back(0);
    CHECK(ReasonOf(tpm::VerifyPcrDigest(q, v, TPM2_ALG_SHA256)) == "tpm_pcr_mismatch");
  }
  SECTION("the wrong digest algorithm") {
    CHECK(ReasonOf(tpm::VerifyPcrDigest(q, t.Values(), TPM2_ALG_SHA384)) == "tpm_pcr_mismatch");
  }
  SECTION("claims") {
    skr::Claims c;
    tpm::AddQuoteClaims(c, q, t.Values());
    CHECK(c.at("tpm.pcr.sha256.0") == skr::HexEncode(t.pcr0));
    CHECK(c.at("tpm.pcr.sha256.7") == skr::HexEncode(t.pcr7));
    CHECK(c.at("tpm.pcr.sha1.1") == skr::HexEncode(t.sha1_pcr1));
    CHECK(c.at("tpm.firmware_version") == 0x2020031200120003ULL);
    CHECK(c.at("tpm.clock.safe") == true);
    CHECK(c.at("tpm.clock.reset_count") == 5);
    CHECK(c.at("tpm.clock.restart_count") == 2);
    CHECK(c.count("tpm.pcr.sha256.1") == 0);
  }
}

TEST_CASE("TpmQuote: the Azure TDX vTPM quote verifies with HCLAkPub and its PCRs",
          "[attestation][tpm][azure][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  const std::string hcl_raw = skr::test::ReadFileOrFail(dir / "azure/tdx/hcl_report.bin");
  auto hcl = azure::HclReport::Parse(skr::AsBytes(hcl_raw));
  REQUIRE(hcl.has_value());
  CHECK(hcl->report_type() == azure::HclReportType::kTdx);
  CHECK(hcl->version() == 2);
  // TDREPORT REPORTDATA (offset 128) starts with SHA-256 of the runtime data.
  const auto h = skr::Sha256(hcl->runtime_data());
  CHECK(std::equal(h.begin(), h.end(), hcl->hw_report().begin() + 128));
  auto ak = hcl->AttestationKey();
  REQUIRE(ak.has_value());

  Json j = skr::ParseJson(skr::test::ReadFileOrFail(dir / "azure/tdx/tpm_quote.json")).value();
  const Bytes msg = Hex(j["message"].get<std::string>());
  auto sig = tpm::RsassaSignature(Hex(j["signature"].get<std::string>()), TPM2_ALG_SHA256);
  REQUIRE(sig.has_value());
  REQUIRE(tpm::VerifyQuoteSignature(msg, *sig, ak->get()).has_value());
  auto q = tpm::Quote::Parse(msg).value();
  tpm::PcrValues pcrs;
  for (unsigned i = 0; i < j["pcrs"].size(); ++i) pcrs["sha256"][i] = Hex(j["pcrs"][i].get<std::string>());
  CHECK(tpm::VerifyPcrDigest(q, pcrs, TPM2_ALG_SHA256).has_value());
  pcrs["sha256"][23][31] ^= 1;
  CHECK(ReasonOf(tpm::VerifyPcrDigest(q, pcrs, TPM2_ALG_SHA256)) == "tpm_pcr_mismatch");

  skr::Claims c;
  REQUIRE(tpm::AddAkClaims(c, ak->get()).has_value());
  CHECK(c.at("tpm.ak.type") == "rsa");
  CHECK(c.at("tpm.ak.bits") == 2048);
  CHECK(c.at("tpm.ak.sha256").get<std::string>().size() == 64);
  hcl->AddClaims(c);
  CHECK(c.at("azure.report_type") == "tdx");
  CHECK(c.at("azure.vm_configuration.vm_unique_id") == "6332533D-5649-4D02-8AA7-8F64B7C3EE21");
  CHECK(c.at("azure.vm_configuration.tpm_persisted") == false);
}
