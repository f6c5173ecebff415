// SPDX-License-Identifier: Apache-2.0
#include "common/x509.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/ossl.h"
#include "tests/support/test_support.h"

using skr::ErrorCode;
using skr::X509Ptr;
using skr::test::CodeOf;
using skr::test::ReasonOf;

namespace {

enum class Sig { kRsaPss384, kRsaSha256, kRsaSha1, kEcdsaSha384 };

// Signs a certificate or CRL context. RSA-PSS uses AMD's parameters (SHA-384, MGF1-SHA-384,
// salt 48).
skr::EvpMdCtxPtr SignCtx(EVP_PKEY* key, Sig sig) {
  skr::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  REQUIRE(ctx);
  const EVP_MD* md = sig == Sig::kRsaSha256 ? EVP_sha256()
                     : sig == Sig::kRsaSha1 ? EVP_sha1()
                                            : EVP_sha384();
  EVP_PKEY_CTX* pctx = nullptr;
  REQUIRE(EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key) == 1);
  if (sig == Sig::kRsaPss384) {
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1);
  }
  return ctx;
}

void SetName(X509_NAME* name, const std::string& cn) {
  REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(cn.c_str()),  // NOLINT
                                     -1, -1, 0) == 1);
}

// A certificate for `key` named `cn`, issued by `issuer_cn` and signed with `issuer_key`.
X509Ptr MakeCert(EVP_PKEY* key, const std::string& cn, EVP_PKEY* issuer_key,
                 const std::string& issuer_cn, Sig sig, long serial, std::time_t not_before,
                 std::time_t not_after) {
  X509Ptr cert(X509_new());
  REQUIRE(cert);
  REQUIRE(X509_set_version(cert.get(), 2) == 1);
  REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) == 1);
  SetName(X509_get_subject_name(cert.get()), cn);
  SetName(X509_get_issuer_name(cert.get()), issuer_cn);
  REQUIRE(ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before) != nullptr);
  REQUIRE(ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_after) != nullptr);
  REQUIRE(X509_set_pubkey(cert.get(), key) == 1);
  auto ctx = SignCtx(issuer_key, sig);
  REQUIRE(X509_sign_ctx(cert.get(), ctx.get()) > 0);
  return cert;
}

constexpr std::time_t kNotBefore = 1700000000;  // 2023-11-14
constexpr std::time_t kNotAfter = 2000000000;   // 2033-05-18

std::string ToPem(X509* cert) {
  skr::BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_X509(bio.get(), cert) == 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::vector<std::uint8_t> ToDer(X509* cert) {
  auto der = skr::CertificateDer(cert);
  REQUIRE(der.has_value());
  return *der;
}

std::vector<std::uint8_t> ReadBytes(const std::filesystem::path& p) {
  const std::string s = skr::test::ReadFileOrFail(p);
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

}  // namespace

TEST_CASE("x509: parses AMD's real certificates, including serial number 0", "[common][x509]") {
  SKR_REQUIRE_TESTDATA(dir);
  const auto der = ReadBytes(dir / "snp/milan_gosevguest_vcek.der");
  auto vcek = skr::ParseCertificateDer(der);
  REQUIRE(vcek.has_value());
  CHECK(ASN1_INTEGER_get(X509_get0_serialNumber(vcek->get())) == 0);
  CHECK(ToDer(vcek->get()) == der);
  CHECK(skr::CertificateSha256(vcek->get()) == skr::Sha256(der));

  auto genoa =
      skr::ParseCertificatePem(skr::test::ReadFileOrFail(dir / "azure/snp-genoa/vcek.pem"));
  REQUIRE(genoa.has_value());
  CHECK(ASN1_INTEGER_get(X509_get0_serialNumber(genoa->get())) == 0);

  auto bundle =
      skr::ParseCertificatesPem(skr::test::ReadFileOrFail(dir / "snp/certs/ask_ark_milan.pem"));
  REQUIRE(bundle.has_value());
  REQUIRE(bundle->size() == 2);
  X509* ask = (*bundle)[0].get();
  X509* ark = (*bundle)[1].get();

  SECTION("RSA-PSS links verify: ARK self-signed, ARK -> ASK, ASK -> VCEK") {
    CHECK(skr::VerifyCertificateSignature(ark, ark).has_value());
    CHECK(skr::VerifyCertificateSignature(ask, ark).has_value());
    CHECK(skr::VerifyCertificateSignature(vcek->get(), ask).has_value());
  }
  SECTION("a wrong issuer is rejected by name") {
    auto r = skr::VerifyCertificateSignature(ark, ask);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_issuer_mismatch");
  }
  SECTION("a flipped signature bit is rejected") {
    auto bad = der;
    bad.back() ^= 0x01;  // last byte of the BIT STRING holding the signature
    auto tampered = skr::ParseCertificateDer(bad);
    REQUIRE(tampered.has_value());
    auto r = skr::VerifyCertificateSignature(tampered->get(), ask);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_signature_invalid");
  }
  SECTION("a flipped TBS bit is rejected") {
    auto bad = der;
    // The subject's CN "SEV-VCEK" is the last name in the TBS; issuer CN is "SEV-Milan".
    const std::string cn = "SEV-VCEK";
    auto at = std::search(bad.begin(), bad.end(), cn.begin(), cn.end());
    REQUIRE(at != bad.end());
    at[7] = 'L';
    auto tampered = skr::ParseCertificateDer(bad);
    REQUIRE(tampered.has_value());
    CHECK(ReasonOf(skr::VerifyCertificateSignature(tampered->get(), ask)) ==
          "cert_signature_invalid");
  }
  SECTION("validity bounds") {
    // go-sev-guest VCEK: notBefore 2022-09-24 00:55:28Z, notAfter 2029-09-24 00:55:28Z.
    constexpr std::int64_t kNb = 1663980928;
    constexpr std::int64_t kNa = 1884905728;
    CHECK(skr::CheckValidity(vcek->get(), kNb).has_value());
    CHECK(skr::CheckValidity(vcek->get(), kNa).has_value());
    CHECK(ReasonOf(skr::CheckValidity(vcek->get(), kNb - 1)) == "cert_not_yet_valid");
    CHECK(ReasonOf(skr::CheckValidity(vcek->get(), kNa + 1)) == "cert_expired");
    CHECK(CodeOf(skr::CheckValidity(vcek->get(), kNa + 1)) == ErrorCode::kVerificationFailed);
  }
}

TEST_CASE("x509: ParseCertificateAny takes PEM or base64 DER", "[common][x509]") {
  auto key = skr::GenerateEcKey("P-256");
  REQUIRE(key.has_value());
  auto cert =
      MakeCert(key->get(), "a", key->get(), "a", Sig::kEcdsaSha384, 7, kNotBefore, kNotAfter);
  const auto der = ToDer(cert.get());

  auto from_pem = skr::ParseCertificateAny(ToPem(cert.get()));
  REQUIRE(from_pem.has_value());
  CHECK(ToDer(from_pem->get()) == der);

  std::string b64 = skr::Base64Encode(der);
  b64.insert(10, "\n");
  b64 += "\r\n";
  auto from_b64 = skr::ParseCertificateAny(b64);
  REQUIRE(from_b64.has_value());
  CHECK(ToDer(from_b64->get()) == der);

  CHECK(CodeOf(skr::ParseCertificateAny("not a certificate!")) == ErrorCode::kMalformedEvidence);
  CHECK(CodeOf(skr::ParseCertificateAny(skr::Base64Encode(std::vector<std::uint8_t>{1, 2, 3}))) ==
        ErrorCode::kMalformedEvidence);
}

TEST_CASE("x509: rejects malformed input", "[common][x509]") {
  auto key = skr::GenerateEcKey("P-256");
  REQUIRE(key.has_value());
  auto cert =
      MakeCert(key->get(), "a", key->get(), "a", Sig::kEcdsaSha384, 7, kNotBefore, kNotAfter);
  auto der = ToDer(cert.get());

  SECTION("empty") { CHECK(CodeOf(skr::ParseCertificateDer({})) == ErrorCode::kMalformedEvidence); }
  SECTION("trailing byte") {
    der.push_back(0);
    auto r = skr::ParseCertificateDer(der);
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "cert_malformed");
  }
  SECTION("truncated") {
    der.pop_back();
    CHECK(CodeOf(skr::ParseCertificateDer(der)) == ErrorCode::kMalformedEvidence);
  }
  SECTION("PEM without a certificate") {
    CHECK(CodeOf(skr::ParseCertificatePem("hello")) == ErrorCode::kMalformedEvidence);
    CHECK(CodeOf(skr::ParseCertificatesPem("")) == ErrorCode::kMalformedEvidence);
  }
  SECTION("PEM bundle with a non-certificate block") {
    auto pem = skr::PublicKeyToPem(key->get());
    REQUIRE(pem.has_value());
    CHECK(CodeOf(skr::ParseCertificatesPem(ToPem(cert.get()) + *pem)) ==
          ErrorCode::kMalformedEvidence);
    // The single-certificate parser skips blocks that are not certificates.
    CHECK(skr::ParseCertificatePem(*pem + ToPem(cert.get())).has_value());
  }
  SECTION("PEM with broken base64") {
    std::string pem = ToPem(cert.get());
    pem[40] = '*';
    CHECK(CodeOf(skr::ParseCertificatePem(pem)) == ErrorCode::kMalformedEvidence);
  }
  SECTION("PEM bundle keeps order") {
    auto other =
        MakeCert(key->get(), "b", key->get(), "b", Sig::kEcdsaSha384, 8, kNotBefore, kNotAfter);
    auto all = skr::ParseCertificatesPem("junk\n" + ToPem(cert.get()) + "\n" + ToPem(other.get()));
    REQUIRE(all.has_value());
    REQUIRE(all->size() == 2);
    CHECK(ToDer((*all)[0].get()) == der);
    CHECK(ToDer((*all)[1].get()) == ToDer(other.get()));
  }
}

TEST_CASE("x509: verifies ECDSA and RSA-PSS links and refuses weak digests", "[common][x509]") {
  auto rsa = skr::GenerateRsaKey(2048);
  REQUIRE(rsa.has_value());
  auto ec = skr::GenerateEcKey("P-384");
  REQUIRE(ec.has_value());
  auto ca = MakeCert(rsa->get(), "CA", rsa->get(), "CA", Sig::kRsaPss384, 1, kNotBefore, kNotAfter);
  CHECK(skr::VerifyCertificateSignature(ca.get(), ca.get()).has_value());

  auto ec_ca =
      MakeCert(ec->get(), "EC CA", ec->get(), "EC CA", Sig::kEcdsaSha384, 1, kNotBefore, kNotAfter);
  auto leaf =
      MakeCert(ec->get(), "leaf", ec->get(), "EC CA", Sig::kEcdsaSha384, 2, kNotBefore, kNotAfter);
  CHECK(skr::VerifyCertificateSignature(leaf.get(), ec_ca.get()).has_value());

  auto rsa_leaf =
      MakeCert(ec->get(), "leaf", rsa->get(), "CA", Sig::kRsaSha256, 3, kNotBefore, kNotAfter);
  CHECK(skr::VerifyCertificateSignature(rsa_leaf.get(), ca.get()).has_value());

  SECTION("same name, other key") {
    auto rsa2 = skr::GenerateRsaKey(2048);
    REQUIRE(rsa2.has_value());
    auto impostor =
        MakeCert(rsa2->get(), "CA", rsa2->get(), "CA", Sig::kRsaPss384, 1, kNotBefore, kNotAfter);
    auto r = skr::VerifyCertificateSignature(rsa_leaf.get(), impostor.get());
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_signature_invalid");
  }
  SECTION("SHA-1") {
    auto sha1_leaf =
        MakeCert(ec->get(), "leaf", rsa->get(), "CA", Sig::kRsaSha1, 4, kNotBefore, kNotAfter);
    auto r = skr::VerifyCertificateSignature(sha1_leaf.get(), ca.get());
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_weak_signature");
  }
}

namespace {

skr::X509CrlPtr MakeCrl(EVP_PKEY* key, const std::string& issuer_cn,
                        const std::vector<long>& revoked_serials) {
  skr::X509CrlPtr crl(X509_CRL_new());
  REQUIRE(crl);
  REQUIRE(X509_CRL_set_version(crl.get(), 1) == 1);
  X509_NAME* name = X509_NAME_new();
  SetName(name, issuer_cn);
  REQUIRE(X509_CRL_set_issuer_name(crl.get(), name) == 1);
  X509_NAME_free(name);
  ASN1_TIME* now = ASN1_TIME_set(nullptr, kNotBefore);
  REQUIRE(X509_CRL_set1_lastUpdate(crl.get(), now) == 1);
  for (long serial : revoked_serials) {
    X509_REVOKED* rev = X509_REVOKED_new();
    ASN1_INTEGER* s = ASN1_INTEGER_new();
    REQUIRE(ASN1_INTEGER_set(s, serial) == 1);
    REQUIRE(X509_REVOKED_set_serialNumber(rev, s) == 1);
    REQUIRE(X509_REVOKED_set_revocationDate(rev, now) == 1);
    REQUIRE(X509_CRL_add0_revoked(crl.get(), rev) == 1);
    ASN1_INTEGER_free(s);
  }
  ASN1_TIME_free(now);
  REQUIRE(X509_CRL_sort(crl.get()) == 1);
  auto ctx = SignCtx(key, Sig::kRsaPss384);
  REQUIRE(X509_CRL_sign_ctx(crl.get(), ctx.get()) > 0);
  return crl;
}

std::vector<std::uint8_t> CrlDer(X509_CRL* crl) {
  const int len = i2d_X509_CRL(crl, nullptr);
  REQUIRE(len > 0);
  std::vector<std::uint8_t> out(static_cast<std::size_t>(len));
  unsigned char* p = out.data();
  REQUIRE(i2d_X509_CRL(crl, &p) == len);
  return out;
}

}  // namespace

TEST_CASE("x509: CheckNotRevoked looks serials up in a CRL signed by the issuer",
          "[common][x509]") {
  auto rsa = skr::GenerateRsaKey(2048);
  REQUIRE(rsa.has_value());
  auto ec = skr::GenerateEcKey("P-384");
  REQUIRE(ec.has_value());
  auto ca = MakeCert(rsa->get(), "CA", rsa->get(), "CA", Sig::kRsaPss384, 1, kNotBefore, kNotAfter);
  auto good =
      MakeCert(ec->get(), "good", rsa->get(), "CA", Sig::kRsaPss384, 10, kNotBefore, kNotAfter);
  auto revoked =
      MakeCert(ec->get(), "revoked", rsa->get(), "CA", Sig::kRsaPss384, 11, kNotBefore, kNotAfter);
  auto crl = MakeCrl(rsa->get(), "CA", {11, 12});

  // Round trip through DER and PEM parsing first.
  auto parsed = skr::ParseCrlDer(CrlDer(crl.get()));
  REQUIRE(parsed.has_value());
  skr::BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(PEM_write_bio_X509_CRL(bio.get(), crl.get()) == 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  auto from_pem = skr::ParseCrlPem(std::string(data, static_cast<std::size_t>(len)));
  REQUIRE(from_pem.has_value());

  CHECK(skr::CheckNotRevoked(good.get(), parsed->get(), ca.get()).has_value());
  auto r = skr::CheckNotRevoked(revoked.get(), from_pem->get(), ca.get());
  CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
  CHECK(ReasonOf(r) == "cert_revoked");

  SECTION("a CRL signed by another key is untrusted") {
    auto rsa2 = skr::GenerateRsaKey(2048);
    REQUIRE(rsa2.has_value());
    auto forged = MakeCrl(rsa2->get(), "CA", {});
    auto f = skr::CheckNotRevoked(revoked.get(), forged.get(), ca.get());
    CHECK(CodeOf(f) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(f) == "crl_untrusted");
  }
  SECTION("a certificate of another issuer is out of scope") {
    auto other = MakeCert(ec->get(), "x", ec->get(), "Other CA", Sig::kEcdsaSha384, 11, kNotBefore,
                          kNotAfter);
    auto s = skr::CheckNotRevoked(other.get(), crl.get(), ca.get());
    CHECK(CodeOf(s) == ErrorCode::kInvalidArgument);
    CHECK(ReasonOf(s) == "crl_scope_mismatch");
  }
  SECTION("malformed CRLs") {
    auto der = CrlDer(crl.get());
    der.push_back(0);
    CHECK(ReasonOf(skr::ParseCrlDer(der)) == "crl_malformed");
    CHECK(CodeOf(skr::ParseCrlDer({})) == ErrorCode::kMalformedEvidence);
    CHECK(CodeOf(skr::ParseCrlPem("no crl here")) == ErrorCode::kMalformedEvidence);
  }
}
