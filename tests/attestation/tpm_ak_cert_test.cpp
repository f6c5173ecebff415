// SPDX-License-Identifier: Apache-2.0
// Issue 9, item 7 (AK certificates) and the `tpm` part of item 4 (no `debug` claim): certified
// AKs must be end-entity signing certificates for RSA >= 2048 / P-256 / P-384 keys, Azure's
// HCLAkPub must be RSA >= 2048, and a certified AK's restricted + sign attributes are checked
// whether or not the client sends `ak_public` (attestation/tpm/ak_checks.h). Certificates are
// made here with OpenSSL under a test CA; quotes with tests/support/tpm_test_evidence.
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "attestation/azure/az_snp_vtpm_verifier.h"
#include "attestation/azure/hcl_report.h"
#include "attestation/snp/snp_verifier.h"
#include "attestation/tpm/ak_checks.h"
#include "attestation/tpm/quote.h"
#include "attestation/tpm/tpm_verifier.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/ossl.h"
#include "common/x509.h"
#include "tests/support/amd_test_pki.h"
#include "tests/support/test_support.h"
#include "tests/support/tpm_test_evidence.h"

using skr::ErrorCode;
using skr::Json;
using skr::test::CodeOf;
using skr::test::ReasonOf;
using skr::test::TpmSigScheme;
namespace tpm = skr::attestation::tpm;
namespace azure = skr::attestation::azure;
namespace snp = skr::attestation::snp;
using Bytes = std::vector<std::uint8_t>;

namespace {

// ---- Keys (generation is slow under the sanitizers: one of each per process) ----------------

EVP_PKEY* Rsa2048() { return skr::test::CachedKey("rsa2048"); }
EVP_PKEY* Rsa1024() { return skr::test::CachedKey("rsa1024"); }
EVP_PKEY* P256() { return skr::test::CachedKey("P-256"); }
EVP_PKEY* P384() { return skr::test::CachedKey("P-384"); }
EVP_PKEY* P521() { return skr::test::CachedKey("P-521"); }
EVP_PKEY* Secp256k1() { return skr::test::CachedKey("secp256k1"); }
EVP_PKEY* Ed25519() {
  static const skr::EvpPkeyPtr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  REQUIRE(k != nullptr);
  return k.get();
}
// RSA-2048 with public exponent 3 (valid RSA, below FIPS 186-5's 2^16 bound).
EVP_PKEY* Rsa2048E3() {
  static const skr::EvpPkeyPtr k = [] {
    skr::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    skr::BignumPtr e(BN_new());
    EVP_PKEY* out = nullptr;
    const bool ok = ctx && e && BN_set_word(e.get(), 3) == 1 &&
                    EVP_PKEY_keygen_init(ctx.get()) == 1 &&
                    EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), 2048) == 1 &&
                    EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx.get(), e.get()) == 1 &&
                    EVP_PKEY_keygen(ctx.get(), &out) == 1;
    return skr::EvpPkeyPtr(ok ? out : nullptr);
  }();
  REQUIRE(k != nullptr);
  return k.get();
}

// ---- A test AK CA and AK certificates ------------------------------------------------------

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  REQUIRE(ext != nullptr);
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  REQUIRE(added == 1);
}

struct CertSpec {
  std::string basic_constraints = "critical,CA:FALSE";  // empty: no extension
  std::string key_usage = "critical,digitalSignature";  // empty: no extension
};

// A certificate for `subject_key`, valid from a day ago for a year, signed by `issuer_key`
// (self-signed when `issuer` is null).
skr::X509Ptr MakeCert(EVP_PKEY* subject_key, const char* cn, X509* issuer, EVP_PKEY* issuer_key,
                      const CertSpec& spec, long serial) {
  skr::X509Ptr cert(X509_new());
  REQUIRE(cert != nullptr);
  REQUIRE(X509_set_version(cert.get(), X509_VERSION_3) == 1);
  REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) == 1);
  REQUIRE(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -86400) != nullptr);
  REQUIRE(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 86400) != nullptr);
  X509_NAME* name = X509_get_subject_name(cert.get());
  REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(cn), -1, -1, 0) == 1);
  REQUIRE(X509_set_issuer_name(cert.get(),
                               issuer != nullptr ? X509_get_subject_name(issuer) : name) == 1);
  REQUIRE(X509_set_pubkey(cert.get(), subject_key) == 1);
  X509* iss = issuer != nullptr ? issuer : cert.get();
  if (!spec.basic_constraints.empty()) {
    AddExt(cert.get(), iss, NID_basic_constraints, spec.basic_constraints.c_str());
  }
  if (!spec.key_usage.empty()) AddExt(cert.get(), iss, NID_key_usage, spec.key_usage.c_str());
  REQUIRE(X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0);
  return cert;
}

struct TestCa {
  skr::X509Ptr cert;
  TestCa() {
    cert = MakeCert(Rsa2048(), "skr test AK CA", nullptr, Rsa2048(),
                    CertSpec{"critical,CA:TRUE", "critical,keyCertSign,cRLSign"}, 1);
  }
};
const TestCa& Ca() {
  static const TestCa ca;
  return ca;
}

std::string Pem(X509* cert) {
  auto der = skr::CertificateDer(cert);
  REQUIRE(der.has_value());
  const std::string b64 = skr::Base64Encode(*der);
  std::string out = "-----BEGIN CERTIFICATE-----\n";
  for (std::size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  return out + "-----END CERTIFICATE-----\n";
}

// An AK certificate from the test CA.
std::string AkCertPem(EVP_PKEY* ak, const CertSpec& spec = {}) {
  static long serial = 100;
  auto leaf = MakeCert(ak, "skr test AK", Ca().cert.get(), Rsa2048(), spec, ++serial);
  return Pem(leaf.get());
}

tpm::TpmVerifier Verifier(const skr::Clock& clock) {
  tpm::TpmVerifierOptions o;
  auto anchor = skr::ParseCertificatePem(Pem(Ca().cert.get()));
  REQUIRE(anchor.has_value());
  o.ak_anchors.push_back(std::move(anchor).value());
  o.clock = &clock;
  return tpm::TpmVerifier(std::move(o));
}

// ---- Quotes ----------------------------------------------------------------------------------

// What a real TPM puts in qualifiedSigner for a primary AK of the standard template
// (tests/support/tpm_test_evidence.h kAkAttributes) in `hierarchy`.
Bytes PrimaryAkQn(EVP_PKEY* ak, TPMA_OBJECT attributes = skr::test::kAkAttributes,
                  TPM2_HANDLE hierarchy = TPM2_RH_ENDORSEMENT) {
  return skr::test::TpmQualifiedName(skr::test::TpmName(skr::test::MarshalAkPublic(ak, attributes)),
                                     hierarchy);
}

struct QuoteOptions {
  TpmSigScheme scheme = TpmSigScheme::kRsassaSha256;
  std::optional<Bytes> qualified_signer;            // default: PrimaryAkQn(ak)
  std::optional<TPMA_OBJECT> ak_public_attributes;  // set: send ak_public with these attributes
};

// `tpm` evidence for a quote by `ak`, certified by `cert_pem`.
Json Evidence(EVP_PKEY* ak, const std::string& cert_pem, const QuoteOptions& o = {}) {
  skr::test::QuoteSpec spec;
  spec.digest_hash = skr::test::SchemeHash(o.scheme);
  spec.qualified_signer = o.qualified_signer ? *o.qualified_signer : PrimaryAkQn(ak);
  const Bytes attest = skr::test::MarshalQuoteAttest(spec);
  const Bytes sig = skr::test::SignQuote(attest, ak, o.scheme);
  Json pcrs = Json::object();
  for (const auto& [i, v] : spec.pcrs.at("sha256"))
    pcrs["sha256"][std::to_string(i)] = skr::HexEncode(v);
  Json ev{{"type", "tpm"},
          {"quote", skr::Base64Encode(attest)},
          {"signature", skr::Base64Encode(sig)},
          {"pcrs", pcrs},
          {"ak_cert", cert_pem}};
  if (o.ak_public_attributes) {
    ev["ak_public"] = skr::Base64Encode(skr::test::MarshalAkPublic(ak, *o.ak_public_attributes));
  }
  return ev;
}

// Options for a key no TPM holds (MarshalAkPublic cannot describe it): any qualifiedSigner.
QuoteOptions NonTpmKey(TpmSigScheme scheme) {
  QuoteOptions o;
  o.scheme = scheme;
  o.qualified_signer = Bytes(34, 0x00);
  (*o.qualified_signer)[1] = 0x0B;
  return o;
}

void ExpectRefused(const skr::Result<skr::attestation::VerifiedEvidence>& r, ErrorCode code,
                   const std::string& reason) {
  INFO((r.has_value() ? std::string("accepted") : r.error().reason() + ": " + r.error().message()));
  CHECK(CodeOf(r) == code);
  CHECK(ReasonOf(r) == reason);
}

}  // namespace

// ---- Accepted: the standard AK template, with and without ak_public -------------------------

TEST_CASE(
    "TpmVerifier: a certified primary AK of the standard template verifies with or without "
    "ak_public",
    "[attestation][tpm][ak_cert]") {
  skr::SystemClock clock;
  const auto verifier = Verifier(clock);
  struct Case {
    const char* what;
    EVP_PKEY* (*key)();
    TpmSigScheme scheme;
  };
  const Case c = GENERATE(Case{"RSA-2048 RSASSA", &Rsa2048, TpmSigScheme::kRsassaSha256},
                          Case{"P-256 ECDSA-SHA256", &P256, TpmSigScheme::kEcdsaSha256},
                          Case{"P-384 ECDSA-SHA384", &P384, TpmSigScheme::kEcdsaSha384});
  INFO(c.what);
  EVP_PKEY* ak = c.key();
  const std::string cert = AkCertPem(ak);
  QuoteOptions o;
  o.scheme = c.scheme;
  SECTION("ak_public sent") {
    o.ak_public_attributes = skr::test::kAkAttributes;
    auto r = verifier.Verify(Evidence(ak, cert, o));
    INFO((r.has_value() ? std::string() : r.error().message()));
    REQUIRE(r.has_value());
    CHECK(r->claims.at("tpm.ak.trust") == "certificate");
  }
  SECTION("no ak_public: an endorsement-hierarchy primary (GCE, skr-agent)") {
    auto r = verifier.Verify(Evidence(ak, cert, o));
    INFO((r.has_value() ? std::string() : r.error().message()));
    REQUIRE(r.has_value());
  }
  SECTION("no ak_public: an owner-hierarchy primary with noDA") {
    o.qualified_signer =
        PrimaryAkQn(ak, skr::test::kAkAttributes | TPMA_OBJECT_NODA, TPM2_RH_OWNER);
    auto r = verifier.Verify(Evidence(ak, cert, o));
    INFO((r.has_value() ? std::string() : r.error().message()));
    REQUIRE(r.has_value());
  }
}

// ---- Issue 9 item 4: no debug claim ----------------------------------------------------------

TEST_CASE(
    "TpmVerifier: tpm evidence sets no debug claim, so `debug equals false` cannot hold by "
    "accident",
    "[attestation][tpm][ak_cert]") {
  skr::SystemClock clock;
  QuoteOptions o;
  o.ak_public_attributes = skr::test::kAkAttributes;
  auto r = Verifier(clock).Verify(Evidence(Rsa2048(), AkCertPem(Rsa2048()), o));
  REQUIRE(r.has_value());
  CHECK(r->claims.at("tee") == "tpm");
  CHECK(r->claims.count("debug") == 0);
}

// ---- The leaf profile -------------------------------------------------------------------------

TEST_CASE("TpmVerifier: an AK certificate that is a CA is refused", "[attestation][tpm][ak_cert]") {
  skr::SystemClock clock;
  const auto verifier = Verifier(clock);
  CertSpec spec;
  SECTION("basicConstraints cA TRUE") { spec.basic_constraints = "critical,CA:TRUE"; }
  SECTION("keyUsage keyCertSign") { spec.key_usage = "critical,digitalSignature,keyCertSign"; }
  const bool with_public = GENERATE(true, false);
  INFO((with_public ? "with ak_public" : "without ak_public"));
  QuoteOptions o;
  if (with_public) o.ak_public_attributes = skr::test::kAkAttributes;
  ExpectRefused(verifier.Verify(Evidence(Rsa2048(), AkCertPem(Rsa2048(), spec), o)),
                ErrorCode::kVerificationFailed, "tpm_ak_cert_ca");
}

TEST_CASE("TpmVerifier: an AK certificate without digitalSignature is refused",
          "[attestation][tpm][ak_cert]") {
  skr::SystemClock clock;
  const auto verifier = Verifier(clock);
  CertSpec spec;
  SECTION("keyUsage keyEncipherment only") { spec.key_usage = "critical,keyEncipherment"; }
  SECTION("keyUsage nonRepudiation only") { spec.key_usage = "nonRepudiation"; }
  SECTION("keyUsage absent (TCG's AK profile requires it)") { spec.key_usage.clear(); }
  SECTION("digitalSignature with keyEncipherment (an AK only signs)") {
    spec.key_usage = "critical,digitalSignature,keyEncipherment";
  }
  QuoteOptions o;
  o.ak_public_attributes = skr::test::kAkAttributes;
  ExpectRefused(verifier.Verify(Evidence(Rsa2048(), AkCertPem(Rsa2048(), spec), o)),
                ErrorCode::kVerificationFailed, "tpm_ak_cert_usage");
}

TEST_CASE("TpmVerifier: the leaf profile accepts an absent basicConstraints and nonRepudiation",
          "[attestation][tpm][ak_cert]") {
  skr::SystemClock clock;
  CertSpec spec;
  spec.basic_constraints.clear();
  spec.key_usage = "critical,digitalSignature,nonRepudiation";
  auto r = Verifier(clock).Verify(Evidence(Rsa2048(), AkCertPem(Rsa2048(), spec)));
  INFO((r.has_value() ? std::string() : r.error().message()));
  CHECK(r.has_value());
}

// ---- Key strength -------------------------------------------------------------------------------

TEST_CASE("TpmVerifier: an RSA-1024 certified AK is refused", "[attestation][tpm][ak_cert]") {
  skr::SystemClock clock;
  const bool with_public = GENERATE(true, false);
  INFO((with_public ? "with ak_public" : "without ak_public"));
  QuoteOptions o;
  if (with_public) o.ak_public_attributes = skr::test::kAkAttributes;
  ExpectRefused(Verifier(clock).Verify(Evidence(Rsa1024(), AkCertPem(Rsa1024()), o)),
                ErrorCode::kVerificationFailed, "tpm_ak_weak");
}

TEST_CASE("TpmVerifier: certified AKs on P-521, secp256k1 or Ed25519 are refused",
          "[attestation][tpm][ak_cert]") {
  skr::SystemClock clock;
  const auto verifier = Verifier(clock);
  SECTION("P-521") {
    ExpectRefused(
        verifier.Verify(Evidence(P521(), AkCertPem(P521()), NonTpmKey(TpmSigScheme::kEcdsaSha256))),
        ErrorCode::kVerificationFailed, "tpm_ak_weak");
  }
  SECTION("secp256k1") {
    ExpectRefused(verifier.Verify(Evidence(Secp256k1(), AkCertPem(Secp256k1()),
                                           NonTpmKey(TpmSigScheme::kEcdsaSha256))),
                  ErrorCode::kVerificationFailed, "tpm_ak_weak");
  }
  SECTION("Ed25519 (the quote signed by some P-256 key)") {
    Json ev = Evidence(P256(), AkCertPem(P256()), NonTpmKey(TpmSigScheme::kEcdsaSha256));
    ev["ak_cert"] = AkCertPem(Ed25519());
    ExpectRefused(verifier.Verify(ev), ErrorCode::kVerificationFailed, "tpm_ak_weak");
  }
}

TEST_CASE("CheckAkAttributes: RSA below 2048 bits, weak exponents and other curves are weak",
          "[attestation][tpm][ak_cert]") {
  auto pub_of = [](EVP_PKEY* k) {
    auto p = tpm::ParsePublic(skr::test::MarshalAkPublic(k));
    REQUIRE(p.has_value());
    return *p;
  };
  CHECK(tpm::CheckAkAttributes(pub_of(Rsa2048())).has_value());
  CHECK(tpm::CheckAkAttributes(pub_of(P384())).has_value());
  SECTION("RSA-1024") {
    CHECK(ReasonOf(tpm::CheckAkAttributes(pub_of(Rsa1024()))) == "tpm_ak_weak");
  }
  SECTION("exponent 3") {
    CHECK(ReasonOf(tpm::CheckAkAttributes(pub_of(Rsa2048E3()))) == "tpm_ak_weak");
  }
  SECTION("P-521 and BN-256 curve ids") {
    TPMT_PUBLIC p = pub_of(P256());
    p.parameters.eccDetail.curveID =
        GENERATE(TPM2_ECC_NIST_P521, TPM2_ECC_BN_P256, TPM2_ECC_SM2_P256);
    auto r = tpm::CheckAkAttributes(p);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_ak_weak");
  }
}

// ---- restricted / sign, with and without ak_public ----------------------------------------------

TEST_CASE("TpmVerifier: ak_public with restricted cleared is refused",
          "[attestation][tpm][ak_cert]") {
  skr::SystemClock clock;
  QuoteOptions o;
  o.ak_public_attributes = skr::test::kAkAttributes & ~TPMA_OBJECT_RESTRICTED;
  o.qualified_signer = PrimaryAkQn(Rsa2048(), *o.ak_public_attributes);
  ExpectRefused(Verifier(clock).Verify(Evidence(Rsa2048(), AkCertPem(Rsa2048()), o)),
                ErrorCode::kVerificationFailed, "tpm_ak_attributes");
}

TEST_CASE("TpmVerifier: without ak_public a quote by a key not provably a restricted AK is refused",
          "[attestation][tpm][ak_cert]") {
  skr::SystemClock clock;
  const auto verifier = Verifier(clock);
  QuoteOptions o;
  SECTION("qualifiedSigner of the same key without restricted") {
    o.qualified_signer = PrimaryAkQn(Rsa2048(), skr::test::kAkAttributes & ~TPMA_OBJECT_RESTRICTED);
  }
  SECTION("qualifiedSigner of the same key as a decrypt (not sign) key") {
    o.qualified_signer = PrimaryAkQn(
        Rsa2048(), (skr::test::kAkAttributes & ~TPMA_OBJECT_SIGN_ENCRYPT) | TPMA_OBJECT_DECRYPT);
  }
  SECTION("qualifiedSigner of another key's AK template") {
    o.qualified_signer = PrimaryAkQn(P256());
  }
  SECTION("the Name itself, not a qualified name") {
    o.qualified_signer = skr::test::TpmName(skr::test::MarshalAkPublic(Rsa2048()));
  }
  SECTION("a child key (qualified name depends on the parent, e.g. tpm2_createak under the EK)") {
    o.qualified_signer = skr::test::TpmQualifiedName(
        PrimaryAkQn(P384()), 0x81010001);  // any parent: not reconstructible
  }
  SECTION("an empty or SHA-1 qualifiedSigner") {
    o.qualified_signer = GENERATE(Bytes{}, Bytes(22, 0x00));
    if (!o.qualified_signer->empty()) (*o.qualified_signer)[1] = 0x04;  // TPM_ALG_SHA1
  }
  SECTION("a standard template but signed with RSAPSS (the key's scheme is RSASSA)") {
    o.scheme = TpmSigScheme::kRsapssSha256;
  }
  ExpectRefused(verifier.Verify(Evidence(Rsa2048(), AkCertPem(Rsa2048()), o)),
                ErrorCode::kVerificationFailed, "tpm_ak_attributes_unproven");
}

TEST_CASE("QualifiedName: the real GCE quote's qualifiedSigner is its AK's endorsement-primary QN",
          "[attestation][tpm][ak_cert]") {
  // Name of the GCE AK TPMT_PUBLIC (tpm_gce_test.cpp) and the qualifiedSigner of all six real GCE
  // quotes in ../shared/testdata/tpm/gce: QN = nameAlg || SHA-256(TPM_RH_ENDORSEMENT || Name).
  const Bytes name =
      skr::HexDecode("000bf175bdb57297b2b289973f819863d6c9d09c236725676914f4248c9a2404c2a4")
          .value();
  const Bytes endorsement = {0x40, 0x00, 0x00, 0x0B};
  auto qn = tpm::QualifiedName(endorsement, name);
  REQUIRE(qn.has_value());
  CHECK(skr::HexEncode(*qn) ==
        "000bde01fe4b4ade2f8b7ae19b8a8897e0cb77ae417731d8ce38697ec4f6c095030a");
  CHECK(*qn == skr::test::TpmQualifiedName(name, TPM2_RH_ENDORSEMENT));
  CHECK(ReasonOf(tpm::QualifiedName(endorsement, Bytes{0x00, 0x04, 1, 2})) ==
        "tpm_public_malformed");
}

// ---- Azure HCLAkPub
// -------------------------------------------------------------------------------

namespace {

std::array<std::uint8_t, 64> Chip() {
  std::array<std::uint8_t, 64> c{};
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = static_cast<std::uint8_t>(0x3C + i);
  return c;
}
const skr::test::AmdTestPki& Pki() {
  static const skr::test::AmdTestPki pki(Chip(), skr::test::AmdTestTcb{});
  return pki;
}
snp::SnpVerifierOptions OptionsWithTestRoots() {
  snp::SnpVerifierOptions opts;
  auto certs = skr::ParseCertificatesPem(Pki().RootsPem());
  REQUIRE(certs.has_value());
  REQUIRE(certs->size() == 2);
  snp::AmdProductRoots roots;
  roots.product = snp::Product::kMilan;
  roots.ark = std::move((*certs)[0]);
  roots.ask = std::move((*certs)[1]);
  REQUIRE(opts.trust.AddProduct(std::move(roots)).has_value());
  return opts;
}
constexpr std::uint8_t kMeasurementByte = 0x6B;

// az-snp-vtpm evidence of a synthetic VM whose HCL runtime data names `ak` as HCLAkPub and whose
// quote `ak` signs (RSASSA-SHA256, bare signature as Trustee sends it).
Json AzEvidence(EVP_PKEY* ak) {
  const std::string runtime = skr::test::AzureRuntimeJson(ak);
  skr::test::TestSnpReport rep;
  rep.measurement.fill(kMeasurementByte);
  rep.chip_id = Chip();
  const auto h = skr::Sha256(runtime);
  std::copy(h.begin(), h.end(), rep.report_data.begin());
  Bytes report = rep.Build();
  Pki().SignReport(report);
  const Bytes hcl = skr::test::MakeAzureHclReport(report, runtime);
  skr::test::QuoteSpec spec;
  spec.qualified_signer = skr::test::TpmName(skr::test::MarshalAkPublic(ak));
  const Bytes attest = skr::test::MarshalQuoteAttest(spec);
  const Bytes sig =
      skr::test::BareRsaSignature(skr::test::SignQuote(attest, ak, TpmSigScheme::kRsassaSha256));
  std::vector<Bytes> pcrs;
  for (unsigned i = 0; i < 8; ++i) pcrs.push_back(spec.pcrs.at("sha256").at(i));
  return skr::test::AzSnpVtpmEvidence(hcl, Pki().VcekPem(), attest, sig, pcrs);
}

}  // namespace

TEST_CASE("AzSnpVtpm: an HCLAkPub below RSA-2048 or with a weak exponent is refused",
          "[attestation][azure][ak_cert]") {
  skr::SystemClock clock;
  snp::SnpVerifier snp_verifier(OptionsWithTestRoots(), clock);
  azure::AzSnpVtpmVerifier verifier(
      snp_verifier, azure::AzureOptions{{}, {skr::HexEncode(Bytes(48, kMeasurementByte))}, {}});
  SECTION("RSA-2048, exponent 65537: accepted (control)") {
    auto r = verifier.Verify(AzEvidence(Rsa2048()));
    INFO((r.has_value() ? std::string() : r.error().message()));
    CHECK(r.has_value());
  }
  SECTION("RSA-1024") {
    ExpectRefused(verifier.Verify(AzEvidence(Rsa1024())), ErrorCode::kVerificationFailed,
                  "azure_ak_weak");
  }
  SECTION("RSA-2048 with exponent 3") {
    ExpectRefused(verifier.Verify(AzEvidence(Rsa2048E3())), ErrorCode::kVerificationFailed,
                  "azure_ak_weak");
  }
}

TEST_CASE("CheckRsaAkParameters: modulus 2048..4096 bits, odd exponent above 2^16",
          "[attestation][tpm][ak_cert]") {
  Bytes n2048(256, 0xC3), n1024(128, 0xC3), n4096(512, 0xC3), n4104(513, 0xC3);
  const Bytes e65537 = {0x01, 0x00, 0x01};
  CHECK(tpm::CheckRsaAkParameters(n2048, e65537, "x").has_value());
  CHECK(tpm::CheckRsaAkParameters(n4096, e65537, "x").has_value());
  CHECK(tpm::CheckRsaAkParameters(n2048, Bytes{0x00, 0x01, 0x00, 0x01}, "x").has_value());
  CHECK(ReasonOf(tpm::CheckRsaAkParameters(n1024, e65537, "weak")) == "weak");
  CHECK(ReasonOf(tpm::CheckRsaAkParameters(n4104, e65537, "weak")) == "weak");
  CHECK(ReasonOf(tpm::CheckRsaAkParameters(Bytes{}, e65537, "weak")) == "weak");
  for (const Bytes& e : {Bytes{0x03}, Bytes{0x01}, Bytes{0x01, 0x00, 0x00}, Bytes{0x01, 0x00, 0x02},
                         Bytes{0x01, 0x00, 0x00, 0x00, 0x01}, Bytes{}}) {
    INFO("e = " << skr::HexEncode(e));
    CHECK(ReasonOf(tpm::CheckRsaAkParameters(n2048, e, "weak")) == "weak");
  }
}
