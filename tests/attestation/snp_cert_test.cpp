// SPDX-License-Identifier: Apache-2.0
// AMD roots, VCEK/VLEK extensions and the VCEK/VLEK -> ASK/ASVK -> ARK chain, against AMD's real
// certificates (../shared/testdata/snp, see its PROVENANCE.md) and a test PKI built here.
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "attestation/snp/amd_roots.h"
#include "attestation/snp/cert_chain.h"
#include "attestation/snp/report.h"
#include "common/ossl.h"
#include "common/x509.h"
#include "tests/support/test_support.h"

namespace snp = skr::attestation::snp;
using skr::ErrorCode;
using skr::X509Ptr;
using skr::test::CodeOf;
using skr::test::ReasonOf;
using Bytes = std::vector<std::uint8_t>;

namespace {

// 2025-06-01T00:00:00Z: inside the validity of every real VCEK/VLEK in testdata (the VLEK is
// valid 2024-12-10..2025-12-10).
constexpr std::int64_t kJune2025 = 1748736000;
constexpr std::int64_t kJune2026 = 1780272000;
constexpr std::int64_t kJan2020 = 1577836800;

Bytes ReadBytes(const std::filesystem::path& p) {
  const std::string s = skr::test::ReadFileOrFail(p);
  return Bytes(s.begin(), s.end());
}

X509Ptr LoadDer(const std::filesystem::path& p) {
  auto cert = skr::ParseCertificateDer(ReadBytes(p));
  REQUIRE(cert.has_value());
  return std::move(cert).value();
}

X509Ptr LoadFirstPem(const std::filesystem::path& p) {
  auto certs = skr::ParseCertificatesPem(skr::test::ReadFileOrFail(p));
  REQUIRE(certs.has_value());
  REQUIRE(!certs->empty());
  return std::move((*certs)[0]);
}

X509Ptr UpRef(X509* cert) {
  REQUIRE(X509_up_ref(cert) == 1);
  return X509Ptr(cert);
}

snp::AmdProductRoots CopyRoots(const snp::AmdProductRoots& r) {
  return snp::AmdProductRoots{r.product, r.ark ? UpRef(r.ark.get()) : nullptr,
                              r.ask ? UpRef(r.ask.get()) : nullptr,
                              r.asvk ? UpRef(r.asvk.get()) : nullptr};
}

// ---- A test PKI shaped like AMD's: RSA-PSS ARK/ASK/ASVK, EC P-384 leaves with AMD extensions.

enum class Sig { kRsaPss384, kEcdsaSha384 };

void SignX509(X509* cert, EVP_PKEY* key, Sig sig) {
  skr::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  REQUIRE(ctx);
  EVP_PKEY_CTX* pctx = nullptr;
  REQUIRE(EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha384(), nullptr, key) == 1);
  if (sig == Sig::kRsaPss384) {
    // AMD's parameters: SHA-384, MGF1 with SHA-384, salt length 48.
    REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1);
    REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) == 1);
  }
  REQUIRE(X509_sign_ctx(cert, ctx.get()) > 0);
}

void SetCn(X509_NAME* name, const std::string& cn) {
  REQUIRE(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("skr test"),  // NOLINT
                                     -1, -1, 0) == 1);
  REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(cn.c_str()),  // NOLINT
                                     -1, -1, 0) == 1);
}

using Extensions = std::vector<std::pair<std::string, Bytes>>;  // OID, extnValue bytes

struct CertSpec {
  std::string cn;
  std::string issuer_cn;
  long serial = 0;
  std::time_t not_before = 1700000000;  // 2023-11-14
  std::time_t not_after = 2000000000;   // 2033-05-18
  Extensions extensions;
};

X509Ptr MakeCert(const CertSpec& spec, EVP_PKEY* key, EVP_PKEY* issuer_key) {
  X509Ptr cert(X509_new());
  REQUIRE(cert);
  REQUIRE(X509_set_version(cert.get(), 2) == 1);
  REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), spec.serial) == 1);
  SetCn(X509_get_subject_name(cert.get()), spec.cn);
  SetCn(X509_get_issuer_name(cert.get()), spec.issuer_cn);
  REQUIRE(ASN1_TIME_set(X509_getm_notBefore(cert.get()), spec.not_before) != nullptr);
  REQUIRE(ASN1_TIME_set(X509_getm_notAfter(cert.get()), spec.not_after) != nullptr);
  REQUIRE(X509_set_pubkey(cert.get(), key) == 1);
  for (const auto& [oid, value] : spec.extensions) {
    ASN1_OBJECT* obj = OBJ_txt2obj(oid.c_str(), 1);
    REQUIRE(obj != nullptr);
    ASN1_OCTET_STRING* data = ASN1_OCTET_STRING_new();
    REQUIRE(ASN1_OCTET_STRING_set(data, value.data(), static_cast<int>(value.size())) == 1);
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, obj, 0, data);
    REQUIRE(ext != nullptr);
    REQUIRE(X509_add_ext(cert.get(), ext, -1) == 1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(data);
    ASN1_OBJECT_free(obj);
  }
  SignX509(cert.get(), issuer_key,
           EVP_PKEY_get_base_id(issuer_key) == EVP_PKEY_EC ? Sig::kEcdsaSha384 : Sig::kRsaPss384);
  return cert;
}

Bytes DerInt(std::uint32_t v) {
  if (v < 0x80) return {0x02, 0x01, static_cast<std::uint8_t>(v)};
  return {0x02, 0x02, 0x00, static_cast<std::uint8_t>(v)};
}
Bytes DerIa5(const std::string& s) {
  Bytes out{0x16, static_cast<std::uint8_t>(s.size())};
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

Bytes HwId() {
  Bytes id(64);
  for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(0xA0 + i);
  return id;
}

// The extensions of a Milan VCEK as KDS issues them (same order as the real certificates).
Extensions VcekExtensionSet() {
  return {{"1.3.6.1.4.1.3704.1.1", DerInt(0)},   {"1.3.6.1.4.1.3704.1.2", DerIa5("Milan-B0")},
          {"1.3.6.1.4.1.3704.1.3.1", DerInt(3)}, {"1.3.6.1.4.1.3704.1.3.2", DerInt(0)},
          {"1.3.6.1.4.1.3704.1.3.4", DerInt(0)}, {"1.3.6.1.4.1.3704.1.3.5", DerInt(0)},
          {"1.3.6.1.4.1.3704.1.3.6", DerInt(0)}, {"1.3.6.1.4.1.3704.1.3.7", DerInt(0)},
          {"1.3.6.1.4.1.3704.1.3.3", DerInt(8)}, {"1.3.6.1.4.1.3704.1.3.8", DerInt(209)},
          {"1.3.6.1.4.1.3704.1.4", HwId()}};
}

Extensions VlekExtensionSet() {
  Extensions e = VcekExtensionSet();
  e.pop_back();  // no hwID
  e.push_back({"1.3.6.1.4.1.3704.1.5", DerIa5("CN=csp.example")});
  return e;
}

struct TestPki {
  skr::EvpPkeyPtr ark_key, ask_key, asvk_key, leaf_key;
  X509Ptr ark, ask, asvk;

  X509Ptr Leaf(const CertSpec& spec, EVP_PKEY* issuer_key) const {
    return MakeCert(spec, leaf_key.get(), issuer_key);
  }
  X509Ptr Vcek(long serial = 0) const {
    return Leaf(
        CertSpec{"SEV-VCEK", "SEV-Test", serial, 1700000000, 2000000000, VcekExtensionSet()},
        ask_key.get());
  }
  X509Ptr Vlek() const {
    return Leaf(
        CertSpec{"SEV-VLEK", "SEV-VLEK-Test", 0, 1700000000, 2000000000, VlekExtensionSet()},
        asvk_key.get());
  }
  snp::AmdProductRoots Roots(snp::Product product) const {
    return snp::AmdProductRoots{product, UpRef(ark.get()), UpRef(ask.get()), UpRef(asvk.get())};
  }
};

skr::EvpPkeyPtr Rsa() {
  auto k = skr::GenerateRsaKey(2048);  // AMD uses 4096; 2048 keeps the test fast
  REQUIRE(k.has_value());
  return std::move(k).value();
}

const TestPki& Pki() {
  static const TestPki pki = [] {
    TestPki p;
    p.ark_key = Rsa();
    p.ask_key = Rsa();
    p.asvk_key = Rsa();
    auto leaf = skr::GenerateEcKey("P-384");
    REQUIRE(leaf.has_value());
    p.leaf_key = std::move(leaf).value();
    p.ark = MakeCert(CertSpec{"ARK-Test", "ARK-Test", 1, 1700000000, 2000000000, {}},
                     p.ark_key.get(), p.ark_key.get());
    p.ask = MakeCert(CertSpec{"SEV-Test", "ARK-Test", 2, 1700000000, 2000000000, {}},
                     p.ask_key.get(), p.ark_key.get());
    p.asvk = MakeCert(CertSpec{"SEV-VLEK-Test", "ARK-Test", 3, 1700000000, 2000000000, {}},
                      p.asvk_key.get(), p.ark_key.get());
    return p;
  }();
  return pki;
}

skr::X509CrlPtr MakeCrl(EVP_PKEY* key, const std::string& issuer_cn,
                        const std::vector<long>& revoked) {
  skr::X509CrlPtr crl(X509_CRL_new());
  REQUIRE(crl);
  REQUIRE(X509_CRL_set_version(crl.get(), 1) == 1);
  X509_NAME* name = X509_NAME_new();
  SetCn(name, issuer_cn);
  REQUIRE(X509_CRL_set_issuer_name(crl.get(), name) == 1);
  X509_NAME_free(name);
  ASN1_TIME* when = ASN1_TIME_set(nullptr, 1700000000);
  REQUIRE(X509_CRL_set1_lastUpdate(crl.get(), when) == 1);
  for (long serial : revoked) {
    X509_REVOKED* rev = X509_REVOKED_new();
    ASN1_INTEGER* s = ASN1_INTEGER_new();
    REQUIRE(ASN1_INTEGER_set(s, serial) == 1);
    REQUIRE(X509_REVOKED_set_serialNumber(rev, s) == 1);
    REQUIRE(X509_REVOKED_set_revocationDate(rev, when) == 1);
    REQUIRE(X509_CRL_add0_revoked(crl.get(), rev) == 1);
    ASN1_INTEGER_free(s);
  }
  ASN1_TIME_free(when);
  REQUIRE(X509_CRL_sort(crl.get()) == 1);
  skr::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  REQUIRE(EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha384(), nullptr, key) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) == 1);
  REQUIRE(X509_CRL_sign_ctx(crl.get(), ctx.get()) > 0);
  return crl;
}

Bytes Der(X509* cert) {
  auto der = skr::CertificateDer(cert);
  REQUIRE(der.has_value());
  return *der;
}

}  // namespace

TEST_CASE("snp::PinnedAmdRoots: equal AMD's published KDS certificates in testdata",
          "[attestation][snp]") {
  SKR_REQUIRE_TESTDATA(dir);
  const auto& pinned = snp::PinnedAmdRoots();
  REQUIRE(pinned.size() == 3);
  const std::pair<snp::Product, std::string> products[] = {{snp::Product::kMilan, "milan"},
                                                           {snp::Product::kGenoa, "genoa"},
                                                           {snp::Product::kTurin, "turin"}};
  for (const auto& [product, name] : products) {
    INFO(name);
    const snp::AmdProductRoots* roots = nullptr;
    for (const auto& r : pinned) {
      if (r.product == product) roots = &r;
    }
    REQUIRE(roots != nullptr);
    auto ask_ark = skr::ParseCertificatesPem(
        skr::test::ReadFileOrFail(dir / "snp/certs" / ("ask_ark_" + name + ".pem")));
    auto asvk_ark = skr::ParseCertificatesPem(
        skr::test::ReadFileOrFail(dir / "snp/certs" / ("asvk_ark_" + name + ".pem")));
    REQUIRE(ask_ark.has_value());
    REQUIRE(asvk_ark.has_value());
    REQUIRE(ask_ark->size() == 2);
    REQUIRE(asvk_ark->size() == 2);
    CHECK(skr::CertificateSha256(roots->ask.get()) == skr::CertificateSha256((*ask_ark)[0].get()));
    CHECK(skr::CertificateSha256(roots->ark.get()) == skr::CertificateSha256((*ask_ark)[1].get()));
    CHECK(skr::CertificateSha256(roots->asvk.get()) ==
          skr::CertificateSha256((*asvk_ark)[0].get()));
    CHECK(skr::CertificateSha256(roots->ark.get()) == skr::CertificateSha256((*asvk_ark)[1].get()));
  }
}

TEST_CASE("snp::AmdTrustStore: pinned store, Find and AddProduct", "[attestation][snp]") {
  auto store = snp::AmdTrustStore::Pinned();
  CHECK(store.all().size() == 3);
  REQUIRE(store.Find(snp::Product::kGenoa) != nullptr);
  CHECK(store.Find(snp::Product::kGenoa)->product == snp::Product::kGenoa);
  CHECK(store.Find(snp::Product::kUnknown) == nullptr);
  // Shared with the pinned set, not re-parsed.
  CHECK(store.Find(snp::Product::kMilan)->ark.get() == snp::PinnedAmdRoots()[0].ark.get());

  snp::AmdTrustStore empty;
  CHECK(empty.all().empty());

  SECTION("an ASK of another product's ARK is refused") {
    const auto& pinned = snp::PinnedAmdRoots();
    snp::AmdProductRoots mixed{snp::Product::kMilan, UpRef(pinned[0].ark.get()),
                               UpRef(pinned[1].ask.get()), nullptr};
    auto r = empty.AddProduct(std::move(mixed));
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(empty.all().empty());
  }
  SECTION("roots without an ARK or without intermediates are refused") {
    CHECK(CodeOf(empty.AddProduct(snp::AmdProductRoots{})) == ErrorCode::kInvalidArgument);
    snp::AmdProductRoots ark_only{snp::Product::kMilan, UpRef(Pki().ark.get()), nullptr, nullptr};
    CHECK(CodeOf(empty.AddProduct(std::move(ark_only))) == ErrorCode::kInvalidArgument);
  }
  SECTION("a test PKI is accepted") {
    REQUIRE(empty.AddProduct(Pki().Roots(snp::Product::kMilan)).has_value());
    CHECK(empty.Find(snp::Product::kMilan) != nullptr);
  }
}

namespace {

struct RealCase {
  const char* cert;    // path under testdata
  bool pem;            // first certificate of a PEM file
  const char* report;  // matching report, or nullptr
  snp::Product product;
  snp::Signer signer;
};

// PROVENANCE.md pairs each certificate with its report.
const RealCase kRealCases[] = {
    {"snp/milan_gosevguest_vcek.der", false, "snp/milan_gosevguest_report.bin",
     snp::Product::kMilan, snp::Signer::kVcek},
    {"snp/milan_trustee_vcek.der", false, "snp/milan_trustee_report.bin", snp::Product::kMilan,
     snp::Signer::kVcek},
    {"snp/milan_virtee_vcek.der", false, "snp/milan_virtee_report.bin", snp::Product::kMilan,
     snp::Signer::kVcek},
    {"snp/milan_trustee_vlek.der", false, "snp/milan_trustee_vlek_report.bin", snp::Product::kMilan,
     snp::Signer::kVlek},
    {"azure/snp-genoa/vcek.pem", true, "snp/genoa_azure_report.bin", snp::Product::kGenoa,
     snp::Signer::kVcek},
    {"azure/snp-milan/vcek_ask_ark.pem", true, "snp/milan_azure_report.bin", snp::Product::kMilan,
     snp::Signer::kVcek},
    {"snp/turin_virtee_vcek.der", false, nullptr, snp::Product::kTurin, snp::Signer::kVcek},
};

}  // namespace

TEST_CASE("snp::VerifyEndorsement: every real VCEK/VLEK chains to its product",
          "[attestation][snp]") {
  SKR_REQUIRE_TESTDATA(dir);
  const auto store = snp::AmdTrustStore::Pinned();
  const RealCase& c = GENERATE(from_range(std::begin(kRealCases), std::end(kRealCases)));
  INFO(c.cert);
  X509Ptr leaf = c.pem ? LoadFirstPem(dir / c.cert) : LoadDer(dir / c.cert);

  auto verified = snp::VerifyEndorsement(leaf.get(), c.signer, store, kJune2025);
  REQUIRE(verified.has_value());
  CHECK(verified->product == c.product);
  CHECK(verified->signer == c.signer);
  REQUIRE(verified->key);
  CHECK(EVP_PKEY_get_base_id(verified->key.get()) == EVP_PKEY_EC);
  CHECK(EVP_PKEY_get_bits(verified->key.get()) == 384);

  // Second call: served from the leaf->ASK cache, same answer.
  auto again = snp::VerifyEndorsement(leaf.get(), c.signer, store, kJune2025);
  REQUIRE(again.has_value());
  CHECK(again->product == c.product);

  const snp::VcekExtensions& ext = verified->ext;
  if (c.signer == snp::Signer::kVlek) {
    CHECK_FALSE(ext.hw_id.has_value());
    REQUIRE(ext.csp_id.has_value());
    CHECK(*ext.csp_id == "CN=cc-us-east-2.amazonaws.com");
    CHECK(ext.product_name == "Milan");
  } else {
    REQUIRE(ext.hw_id.has_value());
    CHECK_FALSE(ext.csp_id.has_value());
  }
  if (c.product == snp::Product::kTurin) {
    // Turin VCEKs carry the first 8 bytes of CHIP_ID and an fmcSPL.
    CHECK(ext.product_name == "Turin");
    REQUIRE(ext.hw_id.has_value());
    CHECK(*ext.hw_id == Bytes{0x1E, 0x55, 0x0A, 0x8E, 0xE5, 0xCF, 0x9F, 0x4D});
    CHECK(ext.fmc_spl == std::optional<std::uint8_t>(0));
    CHECK(ext.ucode_spl == 9);
  } else {
    CHECK_FALSE(ext.fmc_spl.has_value());
  }
  if (c.report != nullptr) {
    const Bytes report = ReadBytes(dir / c.report);
    REQUIRE(report.size() == 0x4A0);
    if (ext.hw_id) {
      // ATTESTATION_REPORT 0x1A0 CHIP_ID (64 bytes).
      CHECK(*ext.hw_id == Bytes(report.begin() + 0x1A0, report.begin() + 0x1E0));
    }
    // ATTESTATION_REPORT 0x180 REPORTED_TCB, Milan/Genoa layout: byte 0 BOOT_LOADER, 1 TEE,
    // 6 SNP, 7 MICROCODE.
    CHECK(ext.bl_spl == report[0x180]);
    CHECK(ext.tee_spl == report[0x181]);
    CHECK(ext.snp_spl == report[0x186]);
    CHECK(ext.ucode_spl == report[0x187]);
  }
}

TEST_CASE("snp::VerifyEndorsement: reported TCBs match PROVENANCE.md", "[attestation][snp]") {
  SKR_REQUIRE_TESTDATA(dir);
  const auto store = snp::AmdTrustStore::Pinned();
  struct Expect {
    const char* cert;
    bool pem;
    std::uint8_t bl, tee, snp, ucode;
  };
  const Expect expect[] = {
      {"snp/milan_gosevguest_vcek.der", false, 2, 0, 5, 68},
      {"snp/milan_trustee_vcek.der", false, 3, 0, 8, 115},
      {"snp/milan_trustee_vlek.der", false, 4, 0, 24, 217},
      {"azure/snp-genoa/vcek.pem", true, 10, 0, 23, 84},
  };
  for (const Expect& e : expect) {
    INFO(e.cert);
    X509Ptr leaf = e.pem ? LoadFirstPem(dir / e.cert) : LoadDer(dir / e.cert);
    auto ext = snp::ParseVcekExtensions(leaf.get());
    REQUIRE(ext.has_value());
    CHECK(ext->bl_spl == e.bl);
    CHECK(ext->tee_spl == e.tee);
    CHECK(ext->snp_spl == e.snp);
    CHECK(ext->ucode_spl == e.ucode);
  }
  auto genoa = snp::ParseVcekExtensions(LoadFirstPem(dir / "azure/snp-genoa/vcek.pem").get());
  REQUIRE(genoa.has_value());
  CHECK(genoa->product_name == "Genoa");
  auto milan = snp::ParseVcekExtensions(LoadDer(dir / "snp/milan_trustee_vcek.der").get());
  REQUIRE(milan.has_value());
  CHECK(milan->product_name == "Milan-B0");
}

TEST_CASE("snp::VerifyEndorsement: rejects untrusted, mismatched and expired endorsements",
          "[attestation][snp]") {
  SKR_REQUIRE_TESTDATA(dir);
  const auto store = snp::AmdTrustStore::Pinned();

  SECTION("VCEKs of other chips that the Milan ASK did not sign") {
    const char* file = GENERATE("snp/negative_trustee_vcek_invalid_legacy.der",
                                "snp/negative_trustee_vcek_invalid_new.der");
    auto leaf = LoadDer(dir / file);
    auto r = snp::VerifyEndorsement(leaf.get(), snp::Signer::kVcek, store, kJune2025);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "snp_chain_untrusted");
  }
  SECTION("a VLEK presented as a VCEK") {
    auto vlek = LoadDer(dir / "snp/milan_trustee_vlek.der");
    auto r = snp::VerifyEndorsement(vlek.get(), snp::Signer::kVcek, store, kJune2025);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "snp_signer_mismatch");
  }
  SECTION("a VCEK presented as a VLEK") {
    auto vcek = LoadDer(dir / "snp/milan_trustee_vcek.der");
    auto r = snp::VerifyEndorsement(vcek.get(), snp::Signer::kVlek, store, kJune2025);
    CHECK(ReasonOf(r) == "snp_signer_mismatch");
  }
  SECTION("the VLEK after its notAfter (2025-12-10)") {
    auto vlek = LoadDer(dir / "snp/milan_trustee_vlek.der");
    auto r = snp::VerifyEndorsement(vlek.get(), snp::Signer::kVlek, store, kJune2026);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_expired");
  }
  SECTION("a VCEK before its notBefore") {
    auto vcek = LoadDer(dir / "snp/milan_trustee_vcek.der");
    auto r = snp::VerifyEndorsement(vcek.get(), snp::Signer::kVcek, store, kJan2020);
    CHECK(ReasonOf(r) == "cert_not_yet_valid");
  }
  SECTION("a Milan VCEK against a store with only Genoa and Turin") {
    snp::AmdTrustStore others;
    for (const auto& r : snp::PinnedAmdRoots()) {
      if (r.product != snp::Product::kMilan) REQUIRE(others.AddProduct(CopyRoots(r)).has_value());
    }
    auto vcek = LoadDer(dir / "snp/milan_trustee_vcek.der");
    auto r = snp::VerifyEndorsement(vcek.get(), snp::Signer::kVcek, others, kJune2025);
    CHECK(ReasonOf(r) == "snp_chain_untrusted");
  }
  SECTION("a Milan VCEK against a test PKI registered as Milan") {
    snp::AmdTrustStore test_only;
    REQUIRE(test_only.AddProduct(Pki().Roots(snp::Product::kMilan)).has_value());
    auto vcek = LoadDer(dir / "snp/milan_trustee_vcek.der");
    auto r = snp::VerifyEndorsement(vcek.get(), snp::Signer::kVcek, test_only, kJune2025);
    CHECK(ReasonOf(r) == "snp_chain_untrusted");
  }
  SECTION("a null leaf") {
    CHECK(CodeOf(snp::VerifyEndorsement(nullptr, snp::Signer::kVcek, store, kJune2025)) ==
          ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("snp::VerifyEndorsement: test PKI added with AddProduct", "[attestation][snp]") {
  const TestPki& pki = Pki();
  snp::AmdTrustStore store = snp::AmdTrustStore::Pinned();
  REQUIRE(store.AddProduct(pki.Roots(snp::Product::kGenoa)).has_value());
  constexpr std::int64_t kNow = 1800000000;  // 2027-01-15

  SECTION("a VCEK verifies and its extensions are parsed") {
    auto vcek = pki.Vcek();
    auto r = snp::VerifyEndorsement(vcek.get(), snp::Signer::kVcek, store, kNow);
    REQUIRE(r.has_value());
    CHECK(r->product == snp::Product::kGenoa);  // from the chain, not from "Milan-B0"
    CHECK(r->ext.product_name == "Milan-B0");
    CHECK(r->ext.bl_spl == 3);
    CHECK(r->ext.snp_spl == 8);
    CHECK(r->ext.ucode_spl == 209);
    CHECK(r->ext.hw_id == std::optional<Bytes>(HwId()));
  }
  SECTION("a VLEK verifies") {
    auto vlek = pki.Vlek();
    auto r = snp::VerifyEndorsement(vlek.get(), snp::Signer::kVlek, store, kNow);
    REQUIRE(r.has_value());
    CHECK(r->signer == snp::Signer::kVlek);
    CHECK(r->ext.csp_id == std::optional<std::string>("CN=csp.example"));
    CHECK(ReasonOf(snp::VerifyEndorsement(vlek.get(), snp::Signer::kVcek, store, kNow)) ==
          "snp_signer_mismatch");
  }
  SECTION("an expired intermediate fails the chain") {
    auto ask2_key = Rsa();
    snp::AmdTrustStore short_lived;
    auto ask2 = MakeCert(CertSpec{"SEV-Test", "ARK-Test", 9, 1700000000, 1750000000, {}},
                         ask2_key.get(), pki.ark_key.get());
    REQUIRE(short_lived
                .AddProduct(snp::AmdProductRoots{snp::Product::kMilan, UpRef(pki.ark.get()),
                                                 std::move(ask2), nullptr})
                .has_value());
    auto vcek =
        pki.Leaf(CertSpec{"SEV-VCEK", "SEV-Test", 0, 1700000000, 2000000000, VcekExtensionSet()},
                 ask2_key.get());
    auto r = snp::VerifyEndorsement(vcek.get(), snp::Signer::kVcek, short_lived, kNow);
    CHECK(ReasonOf(r) == "cert_expired");
    CHECK(snp::VerifyEndorsement(vcek.get(), snp::Signer::kVcek, short_lived, 1720000000)
              .has_value());
  }
  SECTION("a leaf key that is not P-384") {
    auto p256 = skr::GenerateEcKey("P-256");
    REQUIRE(p256.has_value());
    auto leaf =
        MakeCert(CertSpec{"SEV-VCEK", "SEV-Test", 0, 1700000000, 2000000000, VcekExtensionSet()},
                 p256->get(), pki.ask_key.get());
    auto r = snp::VerifyEndorsement(leaf.get(), snp::Signer::kVcek, store, kNow);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "snp_leaf_key");
  }
  SECTION("a VCEK without hwID") {
    auto ext = VcekExtensionSet();
    ext.pop_back();
    auto leaf = pki.Leaf(CertSpec{"SEV-VCEK", "SEV-Test", 0, 1700000000, 2000000000, ext},
                         pki.ask_key.get());
    auto r = snp::VerifyEndorsement(leaf.get(), snp::Signer::kVcek, store, kNow);
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "snp_cert_extension");
  }
  SECTION("a leaf signed by an unknown key with the right issuer name") {
    auto rogue = Rsa();
    auto leaf =
        pki.Leaf(CertSpec{"SEV-VCEK", "SEV-Test", 0, 1700000000, 2000000000, VcekExtensionSet()},
                 rogue.get());
    CHECK(ReasonOf(snp::VerifyEndorsement(leaf.get(), snp::Signer::kVcek, store, kNow)) ==
          "snp_chain_untrusted");
  }
}

TEST_CASE("snp::VerifyEndorsement: CRLs revoke intermediates and leaves", "[attestation][snp]") {
  const TestPki& pki = Pki();
  snp::AmdTrustStore store;
  REQUIRE(store.AddProduct(pki.Roots(snp::Product::kMilan)).has_value());
  constexpr std::int64_t kNow = 1800000000;
  auto vcek = pki.Vcek(/*serial=*/77);
  std::map<snp::Product, skr::X509CrlPtr> crls;

  SECTION("ARK CRL listing another serial: accepted") {
    crls[snp::Product::kMilan] = MakeCrl(pki.ark_key.get(), "ARK-Test", {5});
    CHECK(snp::VerifyEndorsement(vcek.get(), snp::Signer::kVcek, store, kNow, &crls).has_value());
  }
  SECTION("ARK CRL revoking the ASK (serial 2)") {
    crls[snp::Product::kMilan] = MakeCrl(pki.ark_key.get(), "ARK-Test", {2});
    auto r = snp::VerifyEndorsement(vcek.get(), snp::Signer::kVcek, store, kNow, &crls);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "cert_revoked");
    // The ASVK (serial 3) is not revoked, so the VLEK still verifies.
    auto vlek = pki.Vlek();
    CHECK(snp::VerifyEndorsement(vlek.get(), snp::Signer::kVlek, store, kNow, &crls).has_value());
  }
  SECTION("ASK CRL revoking the leaf") {
    crls[snp::Product::kMilan] = MakeCrl(pki.ask_key.get(), "SEV-Test", {77});
    CHECK(ReasonOf(snp::VerifyEndorsement(vcek.get(), snp::Signer::kVcek, store, kNow, &crls)) ==
          "cert_revoked");
  }
  SECTION("CRL for another product is not applied") {
    crls[snp::Product::kGenoa] = MakeCrl(pki.ark_key.get(), "ARK-Test", {2});
    CHECK(snp::VerifyEndorsement(vcek.get(), snp::Signer::kVcek, store, kNow, &crls).has_value());
  }
  SECTION("forged CRL in the ARK's name") {
    auto rogue = Rsa();
    crls[snp::Product::kMilan] = MakeCrl(rogue.get(), "ARK-Test", {});
    CHECK(ReasonOf(snp::VerifyEndorsement(vcek.get(), snp::Signer::kVcek, store, kNow, &crls)) ==
          "crl_untrusted");
  }
  SECTION("CRL from an unrelated issuer") {
    auto rogue = Rsa();
    crls[snp::Product::kMilan] = MakeCrl(rogue.get(), "Someone", {});
    CHECK(ReasonOf(snp::VerifyEndorsement(vcek.get(), snp::Signer::kVcek, store, kNow, &crls)) ==
          "crl_untrusted");
  }
}

namespace {

Bytes VcekDerWith(const Extensions& ext) {
  const TestPki& pki = Pki();
  auto cert =
      pki.Leaf(CertSpec{"SEV-VCEK", "SEV-Test", 0, 1700000000, 2000000000, ext}, pki.ask_key.get());
  return Der(cert.get());
}

Extensions Replace(Extensions ext, const std::string& oid, Bytes value) {
  for (auto& [o, v] : ext) {
    if (o == oid) v = std::move(value);
  }
  return ext;
}

Extensions Remove(Extensions ext, const std::string& oid) {
  std::erase_if(ext, [&](const auto& e) { return e.first == oid; });
  return ext;
}

}  // namespace

TEST_CASE("snp::ParseVcekExtensionsDer: accepts the encodings KDS uses", "[attestation][snp]") {
  auto ok = snp::ParseVcekExtensionsDer(VcekDerWith(VcekExtensionSet()));
  REQUIRE(ok.has_value());
  CHECK(ok->hw_id == std::optional<Bytes>(HwId()));

  SECTION("hwID wrapped in an OCTET STRING") {
    Bytes wrapped{0x04, 0x40};
    const Bytes id = HwId();
    wrapped.insert(wrapped.end(), id.begin(), id.end());
    auto r = snp::ParseVcekExtensionsDer(
        VcekDerWith(Replace(VcekExtensionSet(), "1.3.6.1.4.1.3704.1.4", wrapped)));
    REQUIRE(r.has_value());
    CHECK(r->hw_id == std::optional<Bytes>(id));
  }
  SECTION("the real certificate with a wrapped hwID") {
    SKR_REQUIRE_TESTDATA(dir);
    auto r =
        snp::ParseVcekExtensionsDer(ReadBytes(dir / "snp/negative_trustee_vcek_invalid_new.der"));
    REQUIRE(r.has_value());
    REQUIRE(r->hw_id.has_value());
    REQUIRE(r->hw_id->size() == 64);
    CHECK((*r->hw_id)[0] == 0x00);
    CHECK((*r->hw_id)[63] == 0x3F);
  }
  SECTION("unknown OIDs under the AMD arc are ignored") {
    auto ext = VcekExtensionSet();
    ext.push_back({"1.3.6.1.4.1.3704.1.3.10", DerInt(1)});
    ext.push_back({"1.3.6.1.4.1.3704.1.99", Bytes{0xFF}});
    CHECK(snp::ParseVcekExtensionsDer(VcekDerWith(ext)).has_value());
  }
  SECTION("a Turin-style certificate: 8-byte hwID, fmcSPL, no spl_4") {
    auto ext = Remove(VcekExtensionSet(), "1.3.6.1.4.1.3704.1.3.4");
    ext = Replace(ext, "1.3.6.1.4.1.3704.1.4", Bytes{1, 2, 3, 4, 5, 6, 7, 8});
    ext.push_back({"1.3.6.1.4.1.3704.1.3.9", DerInt(200)});
    auto r = snp::ParseVcekExtensionsDer(VcekDerWith(ext));
    REQUIRE(r.has_value());
    CHECK(r->fmc_spl == std::optional<std::uint8_t>(200));
    CHECK(r->hw_id->size() == 8);
  }
}

TEST_CASE("snp::ParseVcekExtensionsDer: rejects malformed extensions", "[attestation][snp]") {
  struct Bad {
    const char* what;
    Extensions ext;
  };
  const std::string bl = "1.3.6.1.4.1.3704.1.3.1";
  const std::string name = "1.3.6.1.4.1.3704.1.2";
  const Bad bad[] = {
      {"missing blSPL", Remove(VcekExtensionSet(), bl)},
      {"missing ucodeSPL", Remove(VcekExtensionSet(), "1.3.6.1.4.1.3704.1.3.8")},
      {"missing productName1", Remove(VcekExtensionSet(), name)},
      {"negative INTEGER", Replace(VcekExtensionSet(), bl, Bytes{0x02, 0x01, 0x80})},
      {"INTEGER 256", Replace(VcekExtensionSet(), bl, Bytes{0x02, 0x02, 0x01, 0x00})},
      {"non-minimal INTEGER", Replace(VcekExtensionSet(), bl, Bytes{0x02, 0x02, 0x00, 0x05})},
      {"empty INTEGER", Replace(VcekExtensionSet(), bl, Bytes{0x02, 0x00})},
      {"wrong tag", Replace(VcekExtensionSet(), bl, Bytes{0x04, 0x01, 0x03})},
      {"trailing byte", Replace(VcekExtensionSet(), bl, Bytes{0x02, 0x01, 0x03, 0x00})},
      {"long-form length", Replace(VcekExtensionSet(), bl, Bytes{0x02, 0x81, 0x01, 0x03})},
      {"indefinite length", Replace(VcekExtensionSet(), bl, Bytes{0x02, 0x80, 0x03, 0x00, 0x00})},
      {"truncated", Replace(VcekExtensionSet(), bl, Bytes{0x02, 0x02, 0x03})},
      {"empty value", Replace(VcekExtensionSet(), bl, Bytes{})},
      {"productName not IA5", Replace(VcekExtensionSet(), name, Bytes{0x0C, 0x01, 'M'})},
      {"productName 8-bit", Replace(VcekExtensionSet(), name, Bytes{0x16, 0x01, 0xC3})},
      {"productName NUL", Replace(VcekExtensionSet(), name, Bytes{0x16, 0x01, 0x00})},
      {"hwID 63 bytes", Replace(VcekExtensionSet(), "1.3.6.1.4.1.3704.1.4", Bytes(63, 1))},
      {"hwID OCTET STRING of 32", Replace(VcekExtensionSet(), "1.3.6.1.4.1.3704.1.4",
                                          [] {
                                            Bytes b{0x04, 0x20};
                                            b.resize(34, 7);
                                            return b;
                                          }())},
      {"hwID and cspId",
       [] {
         auto e = VcekExtensionSet();
         e.push_back({"1.3.6.1.4.1.3704.1.5", DerIa5("CN=x")});
         return e;
       }()},
      {"duplicate blSPL",
       [&] {
         auto e = VcekExtensionSet();
         e.push_back({bl, DerInt(3)});
         return e;
       }()},
  };
  for (const Bad& b : bad) {
    INFO(b.what);
    auto r = snp::ParseVcekExtensionsDer(VcekDerWith(b.ext));
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "snp_cert_extension");
    if (!r.has_value()) CHECK(r.error().message().find("1.3.6.1.4.1.3704.1.") != std::string::npos);
  }
  SECTION("not a certificate") {
    auto r = snp::ParseVcekExtensionsDer(Bytes{0x30, 0x00});
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(r) == "cert_malformed");
  }
}

TEST_CASE("snp::ParseVcekExtensionsDer: survives every one-byte mutation of a real VCEK",
          "[attestation][snp]") {
  SKR_REQUIRE_TESTDATA(dir);
  const Bytes der = ReadBytes(dir / "snp/milan_trustee_vcek.der");
  REQUIRE(snp::ParseVcekExtensionsDer(der).has_value());
  std::size_t rejected = 0;
  for (std::size_t i = 0; i < der.size(); ++i) {
    Bytes m = der;
    m[i] ^= 0xFF;
    auto r = snp::ParseVcekExtensionsDer(m);
    if (!r.has_value()) {
      ++rejected;
      CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    }
  }
  CHECK(rejected > 0);
}
