// SPDX-License-Identifier: Apache-2.0
// The sev-snp verifier end to end on real reports and AMD certificates from
// ../shared/testdata (PROVENANCE.md), at a pinned verification time.
#include <catch2/catch.hpp>

#include "attestation/registry.h"
#include "attestation/snp/snp_verifier.h"
#include "common/encoding.h"
#include "common/x509.h"
#include "tests/support/claim_catalogue_check.h"
#include "tests/support/test_support.h"

using skr::Json;
namespace snp = skr::attestation::snp;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t k2025_06_01 = 1748736000;

struct Case {
  const char* report;
  const char* cert;  // DER or PEM (first certificate)
  const char* product;
  const char* signer;
  const char* measurement;
  std::int64_t policy;
  int vmpl;
  int bl, tee, snp_spl, ucode;
};

// Expected values: ../shared/testdata/PROVENANCE.md.
const Case kCases[] = {
    {"snp/milan_gosevguest_report.bin", "snp/milan_gosevguest_vcek.der", "Milan", "vcek",
     "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01",
     0xb0000, 0, 2, 0, 5, 68},
    {"snp/milan_trustee_report.bin", "snp/milan_trustee_vcek.der", "Milan", "vcek",
     "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c",
     0x3001f, 0, 3, 0, 8, 115},
    {"snp/milan_trustee_vlek_report.bin", "snp/milan_trustee_vlek.der", "Milan", "vlek",
     "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0",
     0x30000, 1, 4, 0, 24, 217},
    {"snp/milan_virtee_report.bin", "snp/milan_virtee_vcek.der", "Milan", "vcek",
     "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f",
     0x30000, 0, 3, 0, 8, 115},
    {"snp/genoa_azure_report.bin", "azure/snp-genoa/vcek.pem", "Genoa", "vcek",
     "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
     0x3001f, 0, 10, 0, 23, 84},
    {"snp/milan_azure_report.bin", "azure/snp-milan/vcek_ask_ark.pem", "Milan", "vcek",
     "9ac48fcac8a2d88aeeff8d427ad4f2be0e3917c748a18bdf52cc317e7fe20308b459d5ef1a12e0c22944eb386d17c315",
     0x3001f, 0, 3, 0, 8, 115},
};

std::string CertText(const fs::path& p) {
  std::string raw = skr::test::ReadFileOrFail(p);
  if (raw.find("-----BEGIN") != std::string::npos) {
    // First certificate of a bundle only.
    auto end = raw.find("-----END CERTIFICATE-----");
    return raw.substr(0, end + 25) + "\n";
  }
  return skr::Base64Encode(skr::AsBytes(raw));
}

Json Evidence(const fs::path& dir, const Case& c) {
  const std::string report = skr::test::ReadFileOrFail(dir / c.report);
  return {{"type", "sev-snp"},
          {"report", skr::Base64Encode(skr::AsBytes(report))},
          {"vcek", CertText(dir / c.cert)}};
}

}  // namespace

TEST_CASE("SnpVerifier: every real report verifies to AMD's pinned roots with the right claims",
          "[attestation][snp][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  skr::FakeClock clock(k2025_06_01);
  snp::SnpVerifier verifier({}, clock);
  for (const Case& c : kCases) {
    INFO(c.report);
    auto v = verifier.Verify(Evidence(dir, c));
    if (!v) INFO(v.error().reason() << ": " << v.error().message());
    REQUIRE(v.has_value());
    const auto& cl = v->claims;
    skr::test::CheckClaimsCatalogued(cl, "sev-snp");
    CHECK(cl.at("snp.product") == c.product);
    CHECK(cl.at("snp.signer") == c.signer);
    CHECK(cl.at("snp.measurement") == c.measurement);
    CHECK(cl.at("snp.policy") == c.policy);
    CHECK(cl.at("snp.vmpl") == c.vmpl);
    CHECK(cl.at("snp.reported_tcb.bootloader") == c.bl);
    CHECK(cl.at("snp.reported_tcb.tee") == c.tee);
    CHECK(cl.at("snp.reported_tcb.snp") == c.snp_spl);
    CHECK(cl.at("snp.reported_tcb.microcode") == c.ucode);
    // DEBUG is GUEST_POLICY bit 19 (go-sev-guest's report, policy 0xb0000, has it set).
    CHECK(cl.at("debug") == (((c.policy >> 19) & 1) == 1));
    CHECK(cl.at("snp.policy.debug") == cl.at("debug"));
    CHECK(v->bound_data.size() == 64);
  }
}

TEST_CASE("SnpVerifier: the negative VCEKs and mismatches are refused with specific reasons",
          "[attestation][snp][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  skr::FakeClock clock(k2025_06_01);
  snp::SnpVerifier verifier({}, clock);
  Json ev = Evidence(dir, kCases[1]);  // milan_trustee_report + its VCEK

  SECTION("VCEKs of other chips") {
    for (const char* bad : {"snp/negative_trustee_vcek_invalid_legacy.der",
                            "snp/negative_trustee_vcek_invalid_new.der"}) {
      ev["vcek"] = CertText(dir / bad);
      auto v = verifier.Verify(ev);
      CHECK(skr::test::CodeOf(v) == skr::ErrorCode::kVerificationFailed);
      CHECK(skr::test::ReasonOf(v) == "snp_chain_untrusted");
    }
  }
  SECTION("another chip's genuine VCEK") {
    ev["vcek"] = CertText(dir / "snp/milan_gosevguest_vcek.der");
    auto v = verifier.Verify(ev);
    CHECK(skr::test::CodeOf(v) == skr::ErrorCode::kVerificationFailed);
  }
  SECTION("a VLEK presented for a VCEK-signed report") {
    ev["vcek"] = CertText(dir / "snp/milan_trustee_vlek.der");
    CHECK(skr::test::ReasonOf(verifier.Verify(ev)) == "snp_signer_mismatch");
  }
  SECTION("expired VLEK") {
    skr::FakeClock later(1798761600);  // 2027-01-01, after the VLEK's notAfter
    snp::SnpVerifier v2({}, later);
    CHECK(skr::test::ReasonOf(v2.Verify(Evidence(dir, kCases[2]))) == "cert_expired");
  }
  SECTION("no certificate and no cache") {
    ev.erase("vcek");
    CHECK(skr::test::ReasonOf(verifier.Verify(ev)) == "snp_vcek_missing");
  }
  SECTION("one flipped bit in each field region breaks the signature") {
    const std::string report = skr::test::ReadFileOrFail(dir / kCases[1].report);
    // A representative byte in every signed field (ATTESTATION_REPORT offsets).
    for (std::size_t off : {0x04u, 0x08u, 0x10u, 0x20u, 0x30u, 0x38u, 0x40u, 0x50u, 0x90u, 0xC0u,
                            0xE0u, 0x110u, 0x140u, 0x160u, 0x180u, 0x1A0u, 0x1E0u, 0x1E8u, 0x1F0u}) {
      std::string bad = report;
      bad[off] = static_cast<char>(bad[off] ^ 0x01);
      Json e = ev;
      e["report"] = skr::Base64Encode(skr::AsBytes(bad));
      auto v = verifier.Verify(e);
      INFO("offset " << off);
      CHECK(!v.has_value());
    }
  }
  SECTION("malformed evidence") {
    Json e = ev;
    e["report"] = "not base64!";
    CHECK(skr::test::CodeOf(verifier.Verify(e)) == skr::ErrorCode::kMalformedEvidence);
    e = ev;
    e["extra"] = 1;
    CHECK(skr::test::CodeOf(verifier.Verify(e)) == skr::ErrorCode::kMalformedEvidence);
    e = ev;
    e["vcek"] = "garbage";
    CHECK(skr::test::CodeOf(verifier.Verify(e)) == skr::ErrorCode::kMalformedEvidence);
    e = ev;
    std::string report = skr::test::ReadFileOrFail(dir / kCases[1].report);
    report.push_back('\0');
    e["report"] = skr::Base64Encode(skr::AsBytes(report));
    CHECK(skr::test::CodeOf(verifier.Verify(e)) == skr::ErrorCode::kMalformedEvidence);
  }
}

TEST_CASE("SnpVerifier: certificates from the admin-provisioned cache", "[attestation][snp][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  struct MapCollateral : snp::SnpCollateral {
    std::map<std::string, std::vector<std::uint8_t>> by_key;
    std::vector<std::vector<std::uint8_t>> Candidates(snp::Signer s, std::span<const std::uint8_t> chip,
                                                      std::uint64_t tcb) const override {
      std::vector<std::vector<std::uint8_t>> out;
      for (const auto& k : snp::CollateralKeysForReport(s, chip, tcb)) {
        if (auto it = by_key.find(k); it != by_key.end()) out.push_back(it->second);
      }
      return out;
    }
  } cache;
  const std::string der = skr::test::ReadFileOrFail(dir / "snp/milan_trustee_vcek.der");
  auto cert = skr::ParseCertificateDer(skr::AsBytes(der)).value();
  auto ext = snp::ParseVcekExtensions(cert.get()).value();
  cache.by_key[snp::CollateralKey(snp::Signer::kVcek, ext)] =
      std::vector<std::uint8_t>(der.begin(), der.end());

  skr::FakeClock clock(k2025_06_01);
  snp::SnpVerifierOptions opts;
  opts.collateral = &cache;
  snp::SnpVerifier verifier(std::move(opts), clock);
  Json ev = Evidence(dir, kCases[1]);
  ev.erase("vcek");
  auto v = verifier.Verify(ev);
  REQUIRE(v.has_value());
  CHECK(v->claims.at("snp.chip_id").get<std::string>().substr(0, 8) == "c38427a3");
}

TEST_CASE("SnpVerifier: a replay verifies as at the release, with the VCEK kept from the cache",
          "[attestation][snp][testdata][replay]") {
  SKR_REQUIRE_TESTDATA(dir);
  struct OneCert : snp::SnpCollateral {
    std::vector<std::uint8_t> der;
    std::vector<std::vector<std::uint8_t>> Candidates(snp::Signer, std::span<const std::uint8_t>,
                                                      std::uint64_t) const override {
      if (der.empty()) return {};
      return {der};
    }
  } cache;
  const std::string der = skr::test::ReadFileOrFail(dir / "snp/milan_trustee_vlek.der");
  cache.der.assign(der.begin(), der.end());
  Json ev = Evidence(dir, kCases[2]);  // the VLEK-signed report
  ev.erase("vcek");

  // At the release: the VLEK came from the operator's cache, so its bytes are kept.
  skr::FakeClock clock(k2025_06_01);
  snp::SnpVerifierOptions opts;
  opts.collateral = &cache;
  snp::SnpVerifier verifier(std::move(opts), clock);
  auto released = verifier.Verify(ev);
  REQUIRE(released.has_value());
  REQUIRE(released->collateral_bytes.size() == 1);
  CHECK(released->collateral_bytes[0].first == "snp_signer");
  CHECK(released->collateral_bytes[0].second == der);
  CHECK(released->collateral["snp_signer_source"] == "cache");

  // Later: the VLEK has expired and the cache no longer has it.
  clock.Set(1798761600);  // 2027-01-01, after the VLEK's notAfter
  cache.der.clear();
  CHECK(skr::test::ReasonOf(verifier.Verify(ev)) == "snp_vcek_missing");
  skr::attestation::RecordedState state;
  state.time = k2025_06_01;
  for (const auto& [name, bytes] : released->collateral_bytes) state.collateral.emplace(name, bytes);
  auto replayed = verifier.VerifyRecorded(ev, state);
  REQUIRE(replayed.has_value());
  CHECK(replayed->claims == released->claims);
  CHECK(replayed->collateral == released->collateral);

  SECTION("the replay judges time as at the release, not now") {
    state.time = 1798761600;
    CHECK(skr::test::ReasonOf(verifier.VerifyRecorded(ev, state)) == "cert_expired");
  }
  SECTION("a kept certificate of another chip does not verify the report") {
    state.collateral["snp_signer"] = skr::test::ReadFileOrFail(dir / "snp/milan_trustee_vcek.der");
    CHECK(skr::test::CodeOf(verifier.VerifyRecorded(ev, state)) == skr::ErrorCode::kVerificationFailed);
  }
  SECTION("kept bytes that are no certificate are refused clearly") {
    state.collateral["snp_signer"] = "not a certificate";
    CHECK(skr::test::ReasonOf(verifier.VerifyRecorded(ev, state)) == "snp_cert_malformed");
  }
  SECTION("evidence that carries its VLEK keeps no bytes, and replays as at its time") {
    Json with_cert = Evidence(dir, kCases[2]);
    clock.Set(k2025_06_01);
    auto v = verifier.Verify(with_cert);
    REQUIRE(v.has_value());
    CHECK(v->collateral_bytes.empty());
    clock.Set(1798761600);
    skr::attestation::RecordedState at_release;
    at_release.time = k2025_06_01;
    CHECK(verifier.VerifyRecorded(with_cert, at_release).has_value());
    CHECK(skr::test::ReasonOf(verifier.Verify(with_cert)) == "cert_expired");
  }
}

TEST_CASE("SnpVerifier: the SNP reports inside the Azure HCL reports verify",
          "[attestation][snp][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  skr::FakeClock clock(k2025_06_01);
  snp::SnpVerifier verifier({}, clock);
  struct AzureCase {
    const char* hcl;
    const char* vcek;
    const char* product;
  };
  for (const AzureCase& c : {AzureCase{"azure/snp-milan/hcl_report.bin",
                                       "azure/snp-milan/vcek_ask_ark.pem", "Milan"},
                             AzureCase{"azure/snp-genoa/hcl_report.bin", "azure/snp-genoa/vcek.pem",
                                       "Genoa"}}) {
    INFO(c.hcl);
    const std::string hcl = skr::test::ReadFileOrFail(dir / c.hcl);
    REQUIRE(hcl.size() >= 0x4C0);
    // PROVENANCE.md: the SNP report is bytes 0x20..0x4C0 of the HCL report.
    const std::string report = hcl.substr(0x20, 0x4A0);
    Json ev = {{"type", "sev-snp"},
               {"report", skr::Base64Encode(skr::AsBytes(report))},
               {"vcek", CertText(dir / c.vcek)}};
    auto v = verifier.Verify(ev);
    if (!v) INFO(v.error().message());
    REQUIRE(v.has_value());
    CHECK(v->claims.at("snp.product") == c.product);
    CHECK(v->claims.at("snp.policy") == 0x3001f);
  }
}
