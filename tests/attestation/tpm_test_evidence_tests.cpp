// SPDX-License-Identifier: Apache-2.0
// tests/support/tpm_test_evidence.h cross-checked against the verifiers: quotes and AK publics
// built with libtss2-mu parse with attestation/tpm, their signatures verify for every scheme,
// and a synthetic az-snp-vtpm bundle (HCL report around an SNP report signed by the AMD test
// PKI) verifies through AzSnpVtpmVerifier when the test ARK is an extra root.
#include <catch2/catch.hpp>

#include "attestation/azure/az_snp_vtpm_verifier.h"
#include "attestation/azure/hcl_report.h"
#include "attestation/binding.h"
#include "attestation/tpm/quote.h"
#include "common/encoding.h"
#include "common/jose.h"
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

// Key generation is slow under the sanitizers: one key of each kind per process.
EVP_PKEY* RsaAk() { return skr::test::CachedKey("rsa2048"); }
EVP_PKEY* P256Ak() { return skr::test::CachedKey("P-256"); }
EVP_PKEY* P384Ak() { return skr::test::CachedKey("P-384"); }

EVP_PKEY* AkFor(TpmSigScheme s) {
  switch (s) {
    case TpmSigScheme::kEcdsaSha256:
      return P256Ak();
    case TpmSigScheme::kEcdsaSha384:
      return P384Ak();
    default:
      return RsaAk();
  }
}

const char* Name(TpmSigScheme s) {
  switch (s) {
    case TpmSigScheme::kRsassaSha256:
      return "RSASSA-SHA256";
    case TpmSigScheme::kRsapssSha256:
      return "RSAPSS-SHA256";
    case TpmSigScheme::kEcdsaSha256:
      return "ECDSA-SHA256 P-256";
    case TpmSigScheme::kEcdsaSha384:
      return "ECDSA-SHA384 P-384";
  }
  return "?";
}

std::array<std::uint8_t, 64> Chip() {
  std::array<std::uint8_t, 64> c{};
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = static_cast<std::uint8_t>(0x5A + i);
  return c;
}

const skr::test::AmdTestPki& Pki() {
  static const skr::test::AmdTestPki pki(Chip(), skr::test::AmdTestTcb{});
  return pki;
}

// The pinned AMD roots plus the test PKI's ARK/ASK as Milan roots (what skrd's
// [attestation.snp] extra_roots does).
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

// A synthetic az-snp-vtpm VM: runtime JSON with the AK, HCL report around a test-PKI SNP report
// with REPORT_DATA = SHA-256(runtime JSON) || 32 zero bytes.
// The launch identity of the synthetic "paravisor" (test values; a real Azure one is in
// azure::DefaultTrustedIdKeyDigests()).
constexpr std::uint8_t kSyntheticMeasurementByte = 0x5A;
constexpr std::uint8_t kSyntheticIdKeyDigestByte = 0x1D;
std::string SyntheticMeasurementHex() { return skr::HexEncode(Bytes(48, kSyntheticMeasurementByte)); }
std::string SyntheticIdKeyDigestHex() { return skr::HexEncode(Bytes(48, kSyntheticIdKeyDigestByte)); }

struct SyntheticVm {
  std::string runtime_json = skr::test::AzureRuntimeJson(RsaAk());
  Bytes hcl;
  explicit SyntheticVm(std::uint8_t measurement_byte = kSyntheticMeasurementByte,
                       std::uint8_t id_key_digest_byte = kSyntheticIdKeyDigestByte,
                       std::uint32_t vmpl = 0, std::uint64_t policy_bits = 0) {
    skr::test::TestSnpReport rep;
    rep.vmpl = vmpl;
    rep.policy |= policy_bits;
    rep.measurement.fill(measurement_byte);
    rep.id_key_digest.fill(id_key_digest_byte);
    rep.chip_id = Chip();
    const auto h = skr::Sha256(runtime_json);
    std::copy(h.begin(), h.end(), rep.report_data.begin());
    Bytes report = rep.Build();
    Pki().SignReport(report);
    hcl = skr::test::MakeAzureHclReport(report, runtime_json);
  }
  // A quote over SHA-256 PCRs 0..7 with `extra_data`, RSASSA-SHA256 by the AK.
  Json Evidence(const Bytes& extra_data, bool bare_signature = true) const {
    skr::test::QuoteSpec spec;
    spec.extra_data = extra_data;
    spec.qualified_signer = skr::test::TpmName(skr::test::MarshalAkPublic(RsaAk()));
    const Bytes attest = skr::test::MarshalQuoteAttest(spec);
    Bytes sig = skr::test::SignQuote(attest, RsaAk(), TpmSigScheme::kRsassaSha256);
    if (bare_signature) sig = skr::test::BareRsaSignature(sig);
    std::vector<Bytes> pcrs;
    for (unsigned i = 0; i < 8; ++i) pcrs.push_back(spec.pcrs.at("sha256").at(i));
    return skr::test::AzSnpVtpmEvidence(hcl, Pki().VcekPem(), attest, sig, pcrs);
  }
};

}  // namespace

TEST_CASE("TpmTestEvidence: a built quote parses with every field as specified",
          "[tpm_test_evidence][unit]") {
  skr::test::QuoteSpec spec;
  spec.qualified_signer = skr::test::TpmName(skr::test::MarshalAkPublic(RsaAk()));
  spec.extra_data = Bytes(48, 0x42);
  spec.clock = 987654321;
  spec.reset_count = 7;
  spec.restart_count = 3;
  spec.safe = false;
  spec.firmware_version = 0x0102030405060708ULL;
  spec.selection = {{TPM2_ALG_SHA256, {7, 0, 23}}, {TPM2_ALG_SHA1, {1}}};
  spec.pcrs = skr::test::SyntheticPcrValues(spec.selection);
  const Bytes attest = skr::test::MarshalQuoteAttest(spec);

  auto q = tpm::Quote::Parse(attest);
  REQUIRE(q.has_value());
  CHECK(q->qualified_signer == spec.qualified_signer);
  CHECK(q->qualified_signer.size() == 34);
  CHECK(q->extra_data == spec.extra_data);
  CHECK(q->clock == 987654321);
  CHECK(q->reset_count == 7);
  CHECK(q->restart_count == 3);
  CHECK_FALSE(q->safe);
  CHECK(q->firmware_version == 0x0102030405060708ULL);
  REQUIRE(q->pcr_selection.size() == 2);
  CHECK(q->pcr_selection[0].bank == "sha256");
  CHECK(q->pcr_selection[0].indexes == std::vector<unsigned>{0, 7, 23});
  CHECK(q->pcr_selection[1].bank == "sha1");
  CHECK(q->pcr_selection[1].indexes == std::vector<unsigned>{1});
  CHECK(q->pcr_digest == skr::test::ComputePcrDigest(spec.selection, spec.pcrs));
  CHECK(tpm::VerifyPcrDigest(*q, spec.pcrs, TPM2_ALG_SHA256).has_value());

  SECTION("the digest is over banks in selection order, indexes ascending") {
    auto v = spec.pcrs;
    Bytes concat;
    for (unsigned i : {0u, 7u, 23u})
      concat.insert(concat.end(), v["sha256"][i].begin(), v["sha256"][i].end());
    concat.insert(concat.end(), v["sha1"][1].begin(), v["sha1"][1].end());
    const auto expect = skr::Sha256(concat);
    CHECK(q->pcr_digest == Bytes(expect.begin(), expect.end()));
  }
  SECTION("a changed PCR value no longer matches") {
    auto v = spec.pcrs;
    v["sha256"][23][0] ^= 0x01;
    CHECK(ReasonOf(tpm::VerifyPcrDigest(*q, v, TPM2_ALG_SHA256)) == "tpm_pcr_mismatch");
  }
  SECTION("a selected PCR left out is missing") {
    auto v = spec.pcrs;
    v["sha1"].erase(1);
    CHECK(ReasonOf(tpm::VerifyPcrDigest(*q, v, TPM2_ALG_SHA256)) == "tpm_pcr_missing");
  }
  SECTION("a wrong-type attestation and an override digest") {
    auto s2 = spec;
    s2.type = TPM2_ST_ATTEST_CERTIFY;
    // A certify body marshalled from the quote union member does not make a quote.
    auto r = tpm::Quote::Parse(skr::test::MarshalQuoteAttest(s2));
    CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
    auto s3 = spec;
    s3.pcr_digest_override = Bytes(32, 0);
    auto q3 = tpm::Quote::Parse(skr::test::MarshalQuoteAttest(s3));
    REQUIRE(q3.has_value());
    CHECK(ReasonOf(tpm::VerifyPcrDigest(*q3, spec.pcrs, TPM2_ALG_SHA256)) == "tpm_pcr_mismatch");
  }
}

TEST_CASE("TpmTestEvidence: ComputePcrDigest and builders reject inconsistent input",
          "[tpm_test_evidence][unit]") {
  const auto sel = skr::test::Sha256Pcrs(0, 3);
  auto values = skr::test::SyntheticPcrValues(sel);
  CHECK(values.at("sha256").size() == 4);
  CHECK(skr::test::ComputePcrDigest(sel, values, TPM2_ALG_SHA384).size() == 48);
  values["sha256"].erase(2);
  CHECK_THROWS(skr::test::ComputePcrDigest(sel, values));
  skr::test::QuoteSpec spec;
  spec.extra_data = Bytes(65, 0);
  CHECK_THROWS(skr::test::MarshalQuoteAttest(spec));
  CHECK_THROWS(skr::test::SignQuote(Bytes{1, 2, 3}, P256Ak(), TpmSigScheme::kRsassaSha256));
  CHECK_THROWS(skr::test::MakeAzureHclReport(Bytes(0x4A1, 0), "{}"));  // larger than the slot
  CHECK_THROWS(skr::test::MakeAzureHclReport(Bytes(0x4A0, 0), ""));     // no runtime data
}

TEST_CASE("TpmTestEvidence: quote signatures verify for every scheme",
          "[tpm_test_evidence][unit]") {
  const TpmSigScheme scheme = GENERATE(TpmSigScheme::kRsassaSha256, TpmSigScheme::kRsapssSha256,
                                       TpmSigScheme::kEcdsaSha256, TpmSigScheme::kEcdsaSha384);
  INFO(Name(scheme));
  EVP_PKEY* ak = AkFor(scheme);
  skr::test::QuoteSpec spec;
  spec.digest_hash = skr::test::SchemeHash(scheme);  // a TPM digests PCRs with the scheme's hash
  spec.qualified_signer = skr::test::TpmName(skr::test::MarshalAkPublic(ak));
  Bytes attest = skr::test::MarshalQuoteAttest(spec);
  const Bytes sig_bytes = skr::test::SignQuote(attest, ak, scheme);

  auto sig = tpm::ParseSignature(sig_bytes);
  REQUIRE(sig.has_value());
  CHECK(tpm::SignatureHash(*sig) == skr::test::SchemeHash(scheme));
  CHECK(tpm::VerifyQuoteSignature(attest, *sig, ak).has_value());
  auto q = tpm::Quote::Parse(attest);
  REQUIRE(q.has_value());
  CHECK(tpm::VerifyPcrDigest(*q, spec.pcrs, tpm::SignatureHash(*sig)).has_value());

  // The AK as a verifier would get it from its TPMT_PUBLIC verifies as well.
  auto pub = tpm::ParsePublic(skr::test::MarshalAkPublic(ak));
  REQUIRE(pub.has_value());
  auto from_pub = tpm::AkFromTpmtPublic(*pub);
  REQUIRE(from_pub.has_value());
  CHECK(tpm::VerifyQuoteSignature(attest, *sig, from_pub->get()).has_value());

  SECTION("one flipped byte of the attest fails") {
    attest[attest.size() / 2] ^= 0x01;
    auto r = tpm::VerifyQuoteSignature(attest, *sig, ak);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_signature_invalid");
  }
  SECTION("another key of the same kind fails") {
    auto other = EVP_PKEY_is_a(ak, "RSA") == 1          ? skr::GenerateRsaKey(2048).value()
                 : scheme == TpmSigScheme::kEcdsaSha256 ? skr::GenerateEcKey("P-256").value()
                                                        : skr::GenerateEcKey("P-384").value();
    CHECK(ReasonOf(tpm::VerifyQuoteSignature(attest, *sig, other.get())) ==
          "tpm_signature_invalid");
  }
}

TEST_CASE("TpmTestEvidence: AK publics unmarshal to the same key with TCG AK attributes",
          "[tpm_test_evidence][unit]") {
  EVP_PKEY* ak = GENERATE(RsaAk(), P256Ak(), P384Ak());
  const Bytes pub_bytes = skr::test::MarshalAkPublic(ak);
  auto pub = tpm::ParsePublic(pub_bytes);
  REQUIRE(pub.has_value());
  CHECK(pub->nameAlg == TPM2_ALG_SHA256);
  CHECK(pub->objectAttributes == skr::test::kAkAttributes);
  CHECK((pub->objectAttributes & TPMA_OBJECT_RESTRICTED) != 0);
  CHECK((pub->objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) != 0);
  CHECK((pub->objectAttributes & TPMA_OBJECT_DECRYPT) == 0);
  if (EVP_PKEY_is_a(ak, "RSA") == 1) {
    CHECK(pub->type == TPM2_ALG_RSA);
    CHECK(pub->parameters.rsaDetail.keyBits == 2048);
    CHECK(pub->parameters.rsaDetail.exponent == 0);
    CHECK(pub->parameters.rsaDetail.scheme.scheme == TPM2_ALG_RSASSA);
  } else {
    CHECK(pub->type == TPM2_ALG_ECC);
    CHECK(pub->parameters.eccDetail.scheme.scheme == TPM2_ALG_ECDSA);
    const bool p256 = EVP_PKEY_get_bits(ak) == 256;
    CHECK(pub->parameters.eccDetail.curveID == (p256 ? TPM2_ECC_NIST_P256 : TPM2_ECC_NIST_P384));
    CHECK(pub->parameters.eccDetail.scheme.details.ecdsa.hashAlg ==
          (p256 ? TPM2_ALG_SHA256 : TPM2_ALG_SHA384));
  }
  auto key = tpm::AkFromTpmtPublic(*pub);
  REQUIRE(key.has_value());
  CHECK(EVP_PKEY_eq(key->get(), ak) == 1);

  auto pub2b = tpm::ParsePublic2B(skr::test::MarshalAkPublic2B(ak));
  REQUIRE(pub2b.has_value());
  auto key2 = tpm::AkFromTpmtPublic(*pub2b);
  REQUIRE(key2.has_value());
  CHECK(EVP_PKEY_eq(key2->get(), ak) == 1);

  const Bytes name = skr::test::TpmName(pub_bytes);
  REQUIRE(name.size() == 34);
  CHECK(name[0] == 0x00);
  CHECK(name[1] == 0x0B);

  SECTION("other attributes are carried as given") {
    const TPMA_OBJECT attrs = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_USERWITHAUTH;
    auto p = tpm::ParsePublic(skr::test::MarshalAkPublic(ak, attrs));
    REQUIRE(p.has_value());
    CHECK(p->objectAttributes == attrs);
  }
}

TEST_CASE("TpmTestEvidence: the HCL report parses as Azure's does", "[tpm_test_evidence][unit]") {
  skr::EvpPkeyPtr ek = skr::GenerateRsaKey(2048).value();
  const std::string rt = skr::test::AzureRuntimeJson(RsaAk(), ek.get(), "0000-TEST");
  CHECK(rt.rfind("{\"keys\":[{\"kid\":\"HCLAkPub\",\"key_ops\":[\"sign\"],\"kty\":\"RSA\",\"e\":"
                 "\"AQAB\",\"n\":\"",
                 0) == 0);
  CHECK(rt.find("\"kid\":\"HCLEkPub\",\"key_ops\":[\"encrypt\"]") != std::string::npos);
  CHECK(rt.find("}],\"vm-configuration\":{\"console-enabled\":true,") != std::string::npos);
  const Bytes report(0x4A0, 0x11);
  const Bytes hcl = skr::test::MakeAzureHclReport(report, rt);
  CHECK(hcl.size() == 2600);

  auto h = azure::HclReport::Parse(hcl);
  REQUIRE(h.has_value());
  CHECK(h->version() == 2);
  CHECK(h->request_type() == 2);
  CHECK(h->report_type() == azure::HclReportType::kSnp);
  CHECK(h->hw_report() == report);
  CHECK(h->runtime_data() == Bytes(rt.begin(), rt.end()));
  auto ak = h->AttestationKey();
  REQUIRE(ak.has_value());
  CHECK(EVP_PKEY_eq(ak->get(), RsaAk()) == 1);
  skr::Claims claims;
  h->AddClaims(claims);
  CHECK(claims.at("azure.vm_configuration.secure_boot") == true);
  CHECK(claims.at("azure.vm_configuration.tpm_persisted") == true);
  CHECK(claims.at("azure.vm_configuration.vm_unique_id") == "0000-TEST");
  CHECK(claims.at("azure.user_data") == std::string(128, '0'));

  SECTION("a report whose runtime data is larger than the NV buffer is not padded") {
    const std::string big = "{\"pad\":\"" + std::string(3000, 'x') + "\"}";
    const Bytes hb = skr::test::MakeAzureHclReport(report, big);
    CHECK(hb.size() == 0x4D4 + big.size());
    CHECK(azure::HclReport::Parse(hb).has_value());
  }
}

TEST_CASE(
    "TpmTestEvidence: a synthetic az-snp-vtpm bundle verifies with the test PKI as an extra root",
    "[tpm_test_evidence][unit]") {
  skr::SystemClock clock;  // the test PKI's certificates are valid from a day ago
  snp::SnpVerifier snp_verifier(OptionsWithTestRoots(), clock);
  // The synthetic VM's launch measurement stands in for a trusted paravisor build.
  azure::AzSnpVtpmVerifier verifier(snp_verifier, azure::AzureOptions{{}, {SyntheticMeasurementHex()}, {}});
  const SyntheticVm vm;

  // extraData = the binding digest of a nonce and tee-pubkey (DESIGN.md section 2).
  auto eph = skr::GenerateEcKey("P-256").value();
  const Json jwk = skr::PublicJwkFromKey(eph.get(), "ECDH-ES+A256KW").value();
  const std::string nonce = skr::Base64Encode(Bytes(32, 0x07));
  const auto digest = skr::BindingDigest(nonce, jwk).value();
  const Bytes extra(digest.begin(), digest.end());

  const bool bare = GENERATE(true, false);
  INFO((bare ? "bare RSA signature" : "marshalled TPMT_SIGNATURE"));
  Json ev = vm.Evidence(extra, bare);
  auto v = verifier.Verify(ev);
  if (!v) INFO(v.error().reason() << ": " << v.error().message());
  REQUIRE(v.has_value());
  CHECK(v->type == "az-snp-vtpm");
  CHECK(v->claims.at("tee") == "az-snp-vtpm");
  CHECK(v->claims.at("snp.vmpl") == 0);
  CHECK(v->claims.at("tpm.ak.type") == "rsa");
  CHECK(v->claims.at("tpm.ak.bits") == 2048);
  CHECK(v->claims.at("tpm.extra_data") == skr::HexEncode(extra));
  CHECK(v->claims.at("azure.vm_configuration.secure_boot") == true);
  for (int i = 0; i < 8; ++i) CHECK(v->claims.count("tpm.pcr.sha256." + std::to_string(i)) == 1);
  CHECK(v->claims.count("tpm.pcr.sha256.8") == 0);
  CHECK(skr::attestation::CheckBinding(*v, nonce, jwk).has_value());

  SECTION("one byte of runtime data changed") {
    Bytes hcl = vm.hcl;
    // Inside vmUniqueId's value, so the JSON stays valid and only the hash differs.
    const std::string rt(vm.runtime_json);
    const std::size_t at = 0x4D4 + rt.find("5E6C1F0A");
    REQUIRE(hcl[at] == '5');
    hcl[at] = '6';
    Json bad = ev;
    bad["report"] = skr::Base64Encode(hcl);
    auto r = verifier.Verify(bad);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "azure_runtime_data_mismatch");
  }
  SECTION("a quote signed by another AK") {
    auto other = skr::GenerateRsaKey(2048).value();
    skr::test::QuoteSpec spec;
    spec.extra_data = extra;
    const Bytes attest = skr::test::MarshalQuoteAttest(spec);
    Json bad = ev;
    bad["quote"]["message"] = skr::Base64Encode(attest);
    bad["quote"]["signature"] = skr::Base64Encode(skr::test::BareRsaSignature(
        skr::test::SignQuote(attest, other.get(), TpmSigScheme::kRsassaSha256)));
    auto r = verifier.Verify(bad);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_signature_invalid");
  }
  SECTION("a PCR value changed") {
    Json bad = ev;
    Bytes p3 = skr::Base64Decode(bad["quote"]["pcrs"][3].get<std::string>()).value();
    p3[0] ^= 0x80;
    bad["quote"]["pcrs"][3] = skr::Base64Encode(p3);
    auto r = verifier.Verify(bad);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_pcr_mismatch");
  }
  SECTION("a selected PCR not sent") {
    Json bad = ev;
    bad["quote"]["pcrs"].erase(7);
    CHECK(ReasonOf(verifier.Verify(bad)) == "tpm_pcr_missing");
  }
  SECTION("another nonce fails the binding") {
    CHECK(ReasonOf(skr::attestation::CheckBinding(*v, skr::Base64Encode(Bytes(32, 0x08)), jwk)) ==
          "binding_mismatch");
  }
  SECTION("without the test root the SNP report does not verify") {
    snp::SnpVerifier pinned_only({}, clock);
    azure::AzSnpVtpmVerifier strict(pinned_only, azure::AzureOptions{{}, {SyntheticMeasurementHex()}, {}});
    CHECK(CodeOf(strict.Verify(ev)) == ErrorCode::kVerificationFailed);
  }
}

// Issue 9, item 1: any SEV-SNP guest at VMPL0 (own EPYC host, another cloud) can write an HCL
// report with its own HCLAkPub and vm-configuration, get an AMD-signed report over it and sign
// a TPMS_ATTEST with its own key. Only the launch identity of the report can tell Azure's
// paravisor from such a guest. Here the attacker's host is the AMD-shaped test PKI (trusted as
// an extra root, as a genuine AMD chip would be).
TEST_CASE(
    "AzSnpVtpmVerifier: a forged az-snp-vtpm bundle from a non-Azure SEV-SNP guest is refused",
    "[tpm_test_evidence][azure][attack]") {
  skr::SystemClock clock;
  snp::SnpVerifier snp_verifier(OptionsWithTestRoots(), clock);
  const Bytes extra(48, 0x42);

  SECTION("the shipped defaults refuse a guest whose ID key is not Microsoft's") {
    // The attacker signs its own ID block (any ID key digest) or launches without one (zero).
    const std::uint8_t id_key = GENERATE(std::uint8_t{0x00}, std::uint8_t{0x66});
    const SyntheticVm forged(0x77, id_key);
    azure::AzSnpVtpmVerifier verifier(
        snp_verifier, azure::AzureOptions{azure::DefaultTrustedIdKeyDigests(), {}, {}});
    auto r = verifier.Verify(forged.Evidence(extra));
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "azure_paravisor_untrusted");
  }
  SECTION("a measurement allow-list refuses another launch measurement") {
    const SyntheticVm forged(0x77, 0x00);
    azure::AzSnpVtpmVerifier verifier(snp_verifier,
                                      azure::AzureOptions{{}, {SyntheticMeasurementHex()}, {}});
    CHECK(ReasonOf(verifier.Verify(forged.Evidence(extra))) == "azure_paravisor_untrusted");
  }
  SECTION("an empty allow-list refuses everything and names the setting") {
    const SyntheticVm vm;
    azure::AzSnpVtpmVerifier verifier(snp_verifier, azure::AzureOptions{});
    auto r = verifier.Verify(vm.Evidence(extra));
    CHECK(ReasonOf(r) == "azure_paravisor_untrusted");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message().find("attestation.azure") != std::string::npos);
  }
  SECTION("a report from below VMPL0 of a trusted launch is refused") {
    // The guest under a genuine paravisor asks for its own report with forged runtime data.
    const std::uint32_t vmpl = GENERATE(1U, 2U, 3U);
    const SyntheticVm lower(kSyntheticMeasurementByte, kSyntheticIdKeyDigestByte, vmpl);
    azure::AzSnpVtpmVerifier verifier(snp_verifier,
                                      azure::AzureOptions{{SyntheticIdKeyDigestHex()}, {}, {}});
    CHECK(ReasonOf(verifier.Verify(lower.Evidence(extra))) == "azure_paravisor_untrusted");
  }
  SECTION("a debuggable or migratable launch of a trusted measurement is refused") {
    // Without an ID block the host picks the guest policy: DEBUG (bit 19) or MIGRATE_MA (18).
    const std::uint64_t bit = GENERATE(std::uint64_t{1} << 19, std::uint64_t{1} << 18);
    const SyntheticVm relaunched(kSyntheticMeasurementByte, 0x00, 0, bit);
    azure::AzSnpVtpmVerifier verifier(snp_verifier,
                                      azure::AzureOptions{{}, {SyntheticMeasurementHex()}, {}});
    CHECK(ReasonOf(verifier.Verify(relaunched.Evidence(extra))) == "azure_paravisor_untrusted");
  }
  SECTION("a trusted ID key digest is accepted whatever the measurement") {
    const SyntheticVm vm(0x01, kSyntheticIdKeyDigestByte);
    azure::AzSnpVtpmVerifier verifier(snp_verifier,
                                      azure::AzureOptions{{SyntheticIdKeyDigestHex()}, {}, {}});
    auto r = verifier.Verify(vm.Evidence(extra));
    if (!r) INFO(r.error().reason() << ": " << r.error().message());
    REQUIRE(r.has_value());
    CHECK(r->claims.at("azure.paravisor.trusted_by") == "id_key_digest");
    CHECK(r->claims.at("snp.id_key_digest") == SyntheticIdKeyDigestHex());
  }
}
