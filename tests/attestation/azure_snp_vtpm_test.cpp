// SPDX-License-Identifier: Apache-2.0
// The Azure HCL report parser and the az-snp-vtpm verifier on the real Azure CVM bundles of
// ../shared/testdata/azure (PROVENANCE.md), verified at a pinned time.
#include <algorithm>
#include <catch2/catch.hpp>

#include "attestation/azure/az_snp_vtpm_verifier.h"
#include "attestation/azure/hcl_report.h"
#include "attestation/binding.h"
#include "attestation/registry.h"
#include "common/encoding.h"
#include "tests/support/claim_catalogue_check.h"
#include "tests/support/test_support.h"

using skr::ErrorCode;
using skr::Json;
using skr::test::CodeOf;
using skr::test::ReasonOf;
namespace azure = skr::attestation::azure;
namespace snp = skr::attestation::snp;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr std::int64_t k2025_06_01 = 1748736000;

Json ByteArray(const Bytes& b) {
  Json a = Json::array();
  for (auto v : b) a.push_back(v);
  return a;
}

Bytes Hex(const Json& s) { return skr::HexDecode(s.get<std::string>()).value(); }

// snp-milan: Trustee's separate files (hex strings) assembled into the evidence JSON, with
// base64 strings for the byte members (the other accepted form).
Json MilanEvidence(const fs::path& dir) {
  Json q = skr::ParseJson(skr::test::ReadFileOrFail(dir / "azure/snp-milan/tpm_quote.json")).value();
  Json pcrs = Json::array();
  for (const auto& p : q["pcrs"]) pcrs.push_back(skr::Base64Encode(Hex(p)));
  const std::string hcl = skr::test::ReadFileOrFail(dir / "azure/snp-milan/hcl_report.bin");
  return {{"type", "az-snp-vtpm"},
          {"report", skr::Base64Encode(skr::AsBytes(hcl))},
          {"vcek", skr::test::ReadFileOrFail(dir / "azure/snp-milan/vcek_ask_ark.pem")},
          {"quote",
           {{"message", skr::Base64Encode(Hex(q["message"]))},
            {"signature", skr::Base64Encode(Hex(q["signature"]))},
            {"pcrs", pcrs}}}};
}

// snp-genoa: the evidence exactly as Trustee's attestation agent emitted it (arrays of numbers).
Json GenoaEvidence(const fs::path& dir) {
  Json e = skr::ParseJson(skr::test::ReadFileOrFail(dir / "azure/snp-genoa/evidence.json")).value();
  e["type"] = "az-snp-vtpm";
  return e;
}

Bytes ReportBytes(const Json& ev) {
  const auto& r = ev.at("report");
  if (r.is_string()) return skr::Base64Decode(r.get<std::string>()).value();
  return r.get<Bytes>();
}

struct Fixture {
  skr::FakeClock clock{k2025_06_01};
  snp::SnpVerifier snp_verifier{{}, clock};
  azure::AzSnpVtpmVerifier verifier{snp_verifier, azure::AzureOptions{azure::DefaultTrustedIdKeyDigests(), {}, {}}};
};

}  // namespace

TEST_CASE("AzSnpVtpm: a real Azure bundle is refused when its paravisor is not trusted",
          "[attestation][azure][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  Fixture f;
  SECTION("an empty allow-list refuses it, naming the setting") {
    azure::AzSnpVtpmVerifier none{f.snp_verifier, azure::AzureOptions{}};
    auto v = none.Verify(GenoaEvidence(dir));
    REQUIRE_FALSE(v.has_value());
    CHECK(v.error().reason() == "azure_paravisor_untrusted");
    CHECK(v.error().message().find("[attestation.azure]") != std::string::npos);
  }
  SECTION("the Milan paravisor's identity does not admit the Genoa one") {
    azure::AzSnpVtpmVerifier milan_only{
        f.snp_verifier, azure::AzureOptions{{azure::DefaultTrustedIdKeyDigests().front()}, {}, {}}};
    CHECK(milan_only.Verify(MilanEvidence(dir)).has_value());
    CHECK(skr::test::ReasonOf(milan_only.Verify(GenoaEvidence(dir))) == "azure_paravisor_untrusted");
  }
  SECTION("a launch measurement can be trusted instead") {
    azure::AzSnpVtpmVerifier by_measurement{
        f.snp_verifier,
        azure::AzureOptions{{},
                            {"f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3"
                             "706faf814c9e61065768a6ff917c89ae"},
                            {}}};
    auto v = by_measurement.Verify(GenoaEvidence(dir));
    REQUIRE(v.has_value());
    CHECK(v->claims.at("azure.paravisor.trusted_by") == "measurement");
  }
}

TEST_CASE("AzSnpVtpm: both real Azure SNP bundles verify with the documented claims",
          "[attestation][azure][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  Fixture f;
  struct Expect {
    Json evidence;
    const char* product;
    const char* measurement;
    const char* hw_report_data;
    const char* extra_data;
    int hcl_version;
    const char* vm_unique_id;
  };
  const Expect cases[] = {
      {MilanEvidence(dir), "Milan",
       "9ac48fcac8a2d88aeeff8d427ad4f2be0e3917c748a18bdf52cc317e7fe20308b459d5ef1a12e0c22944eb386d17c315",
       "b3fbad6514c83caeb0380882145e49f794229ef37c421b91fc47ff93556bafac0000000000000000000000000000000000000000000000000000000000000000",
       "6368616c6c656e6765", 1, "911B0EF8-9DBA-48B0-B275-4E4DF2D39252"},
      {GenoaEvidence(dir), "Genoa",
       "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
       "b581f12e29a2d7d64e5e0b738d563879a78b51c644d0fa0cce02b48699f6bf5f0000000000000000000000000000000000000000000000000000000000000000",
       "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f", 2,
       "390CBCF5-6C67-4D9B-98EF-C3F1699CC8FC"},
  };
  for (const auto& c : cases) {
    INFO(c.product);
    auto v = f.verifier.Verify(c.evidence);
    if (!v) INFO(v.error().reason() << ": " << v.error().message());
    REQUIRE(v.has_value());
    const auto& cl = v->claims;
    // Trusted as Azure's paravisor by the shipped default ID key digests (issue 9, item 1).
    CHECK(cl.at("azure.paravisor.trusted_by") == "id_key_digest");
    CHECK(std::find(azure::DefaultTrustedIdKeyDigests().begin(),
                    azure::DefaultTrustedIdKeyDigests().end(),
                    cl.at("snp.id_key_digest").get<std::string>()) !=
          azure::DefaultTrustedIdKeyDigests().end());
    CHECK(v->type == "az-snp-vtpm");
    CHECK(cl.at("tee") == "az-snp-vtpm");
    CHECK(cl.at("debug") == false);
    CHECK(cl.at("snp.product") == c.product);
    CHECK(cl.at("snp.measurement") == c.measurement);
    CHECK(cl.at("snp.policy") == 0x3001f);
    CHECK(cl.at("snp.vmpl") == 0);
    CHECK(cl.at("azure.hw_report_data") == c.hw_report_data);
    CHECK(cl.at("tpm.firmware_version") == 0x2020031200120003ULL);
    CHECK(cl.at("tpm.extra_data") == c.extra_data);
    CHECK(cl.at("report_data") == c.extra_data);
    CHECK(cl.at("tpm.clock.safe") == true);
    CHECK(cl.at("tpm.ak.type") == "rsa");
    CHECK(cl.at("tpm.ak.bits") == 2048);
    for (int i = 0; i < 24; ++i) CHECK(cl.count("tpm.pcr.sha256." + std::to_string(i)) == 1);
    CHECK(cl.at("azure.hcl_version") == c.hcl_version);
    CHECK(cl.at("azure.report_type") == "snp");
    CHECK(cl.at("azure.vm_configuration.secure_boot") == true);
    CHECK(cl.at("azure.vm_configuration.tpm_enabled") == true);
    CHECK(cl.at("azure.vm_configuration.console_enabled") == true);
    CHECK(cl.at("azure.vm_configuration.vm_unique_id") == c.vm_unique_id);
    CHECK(v->binding_form == skr::attestation::BindingForm::kExact48);
    CHECK(skr::HexEncode(v->bound_data) == c.extra_data);
  }
  // Genoa's 48-byte extraData is some other nonce's binding digest: CheckBinding refuses it.
  auto v = f.verifier.Verify(cases[1].evidence).value();
  Json jwk = {{"kty", "EC"}, {"crv", "P-256"}, {"alg", "ECDH-ES+A256KW"},
              {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
              {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};
  auto b = skr::attestation::CheckBinding(v, "bm9uY2U=", jwk);
  CHECK(ReasonOf(b) == "binding_mismatch");
  // The PCR claims are the supplied values.
  Json ev = GenoaEvidence(dir);
  CHECK(v.claims.at("tpm.pcr.sha256.0") == skr::HexEncode(ev["quote"]["pcrs"][0].get<Bytes>()));
}

TEST_CASE("AzSnpVtpm: the registry dispatches az-snp-vtpm", "[attestation][azure][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  skr::FakeClock clock(k2025_06_01);
  auto snp_verifier = std::make_unique<snp::SnpVerifier>(snp::SnpVerifierOptions{}, clock);
  skr::attestation::Registry reg;
  reg.Register(std::make_unique<azure::AzSnpVtpmVerifier>(
      *snp_verifier, azure::AzureOptions{azure::DefaultTrustedIdKeyDigests(), {}, {}}));
  auto v = reg.Verify(GenoaEvidence(dir));
  REQUIRE(v.has_value());
  skr::test::CheckClaimsCatalogued(v->claims, "az-snp-vtpm");
  CHECK(v->claims.at("tee") == "az-snp-vtpm");
}

TEST_CASE("AzSnpVtpm: tampered evidence is refused with a specific reason", "[attestation][azure][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  Fixture f;
  Json ev = GenoaEvidence(dir);
  REQUIRE(f.verifier.Verify(ev).has_value());

  SECTION("a flipped bit in the quote message") {
    ev["quote"]["message"][40] = ev["quote"]["message"][40].get<int>() ^ 0x01;
    auto r = f.verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_signature_invalid");
  }
  SECTION("a flipped bit in the signature") {
    ev["quote"]["signature"][100] = ev["quote"]["signature"][100].get<int>() ^ 0x80;
    auto r = f.verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_signature_invalid");
  }
  SECTION("a PCR value changed") {
    ev["quote"]["pcrs"][7][0] = ev["quote"]["pcrs"][7][0].get<int>() ^ 0x01;
    auto r = f.verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_pcr_mismatch");
  }
  SECTION("a PCR missing") {
    ev["quote"]["pcrs"].erase(23);
    auto r = f.verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "tpm_pcr_missing");
  }
  SECTION("the runtime JSON altered (its hash no longer in REPORT_DATA)") {
    Bytes hcl = ReportBytes(ev);
    // Change one hex digit of vmUniqueId inside the runtime data: still valid JSON.
    const std::string needle = "390CBCF5";
    auto it = std::search(hcl.begin(), hcl.end(), needle.begin(), needle.end());
    REQUIRE(it != hcl.end());
    *it = '4';
    ev["report"] = ByteArray(hcl);
    auto r = f.verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "azure_runtime_data_mismatch");
  }
  SECTION("a flipped bit in the SNP hardware report") {
    Bytes hcl = ReportBytes(ev);
    hcl[0x20 + 0x90] ^= 0x01;  // MEASUREMENT
    ev["report"] = ByteArray(hcl);
    auto r = f.verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
  }
  SECTION("another chip's VCEK") {
    ev["vcek"] = skr::test::ReadFileOrFail(dir / "azure/snp-milan/vcek_ask_ark.pem");
    CHECK(CodeOf(f.verifier.Verify(ev)) == ErrorCode::kVerificationFailed);
  }
  SECTION("the quote of another VM (signed by another AK)") {
    Json milan = MilanEvidence(dir);
    ev["quote"] = milan["quote"];
    auto r = f.verifier.Verify(ev);
    CHECK(ReasonOf(r) == "tpm_signature_invalid");
  }
  SECTION("a TDX HCL report") {
    ev["report"] = skr::Base64Encode(skr::AsBytes(skr::test::ReadFileOrFail(dir / "azure/tdx/hcl_report.bin")));
    auto r = f.verifier.Verify(ev);
    CHECK(CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(ReasonOf(r) == "azure_report_type");
  }
  SECTION("truncated HCL reports") {
    const Bytes hcl = ReportBytes(ev);
    for (std::size_t n : {std::size_t{0}, std::size_t{3}, std::size_t{31}, std::size_t{32}, std::size_t{0x200},
                          std::size_t{0x4C0}, std::size_t{0x4D3}, std::size_t{0x4D4}, std::size_t{2435}}) {
      INFO(n);
      ev["report"] = ByteArray(Bytes(hcl.begin(), hcl.begin() + static_cast<std::ptrdiff_t>(n)));
      auto r = f.verifier.Verify(ev);
      CHECK(CodeOf(r) == ErrorCode::kMalformedEvidence);
      CHECK(ReasonOf(r) == "azure_hcl_malformed");
    }
  }
  SECTION("oversized inputs") {
    Json big = ByteArray(Bytes(azure::kMaxHclReportBytes + 1, 0));
    ev["report"] = big;
    CHECK(ReasonOf(f.verifier.Verify(ev)) == "malformed_evidence");
    Json ev2 = GenoaEvidence(dir);
    ev2["quote"]["message"] = ByteArray(Bytes(4097, 0));
    CHECK(ReasonOf(f.verifier.Verify(ev2)) == "malformed_evidence");
    Json ev3 = GenoaEvidence(dir);
    ev3["quote"]["pcrs"].push_back(ev3["quote"]["pcrs"][0]);
    CHECK(ReasonOf(f.verifier.Verify(ev3)) == "malformed_evidence");
    Json ev4 = GenoaEvidence(dir);
    ev4["vcek"] = std::string(200 * 1024, 'A');
    CHECK(CodeOf(f.verifier.Verify(ev4)) == ErrorCode::kMalformedEvidence);
  }
  SECTION("malformed members") {
    Json a = ev;
    a["quote"]["message"][0] = 256;
    CHECK(ReasonOf(f.verifier.Verify(a)) == "malformed_evidence");
    a["quote"]["message"][0] = -1;
    CHECK(ReasonOf(f.verifier.Verify(a)) == "malformed_evidence");
    a["quote"]["message"][0] = 1.5;
    CHECK(ReasonOf(f.verifier.Verify(a)) == "malformed_evidence");
    a["quote"]["message"][0] = "ff";
    CHECK(ReasonOf(f.verifier.Verify(a)) == "malformed_evidence");
    Json b = ev;
    b["quote"]["signature"] = "not base64!";
    CHECK(ReasonOf(f.verifier.Verify(b)) == "malformed_evidence");
    Json c = ev;
    c["extra"] = 1;
    CHECK(ReasonOf(f.verifier.Verify(c)) == "malformed_evidence");
    Json d = ev;
    d["quote"].erase("pcrs");
    CHECK(ReasonOf(f.verifier.Verify(d)) == "malformed_evidence");
    Json e = ev;
    e["quote"]["pcrs"][3] = ByteArray(Bytes(20, 0));
    CHECK(ReasonOf(f.verifier.Verify(e)) == "malformed_evidence");
    Json g = ev;
    g["quote"]["message"].push_back(0);  // trailing byte after TPMS_ATTEST
    CHECK(ReasonOf(f.verifier.Verify(g)) == "tpm_attest_malformed");
  }
}

TEST_CASE("HclReport: the real reports parse and malformed ones are refused", "[attestation][azure][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  const std::string milan = skr::test::ReadFileOrFail(dir / "azure/snp-milan/hcl_report.bin");
  const Bytes good(milan.begin(), milan.end());
  auto h = azure::HclReport::Parse(good);
  REQUIRE(h.has_value());
  CHECK(h->version() == 1);
  CHECK(h->report_type() == azure::HclReportType::kSnp);
  CHECK(h->hw_report().size() == 0x4A0);
  CHECK(h->runtime_data().size() == 1110);
  CHECK(h->runtime().contains("keys"));
  CHECK(h->AttestationKey().has_value());

  auto reason_of = [](Bytes b) { return ReasonOf(azure::HclReport::Parse(b)); };
  SECTION("every truncation inside the report") {
    for (std::size_t n = 0; n < 2346; n += 7) {
      INFO(n);
      CHECK(reason_of(Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n))) == "azure_hcl_malformed");
    }
    CHECK(reason_of(Bytes(good.begin(), good.begin() + 2345)) == "azure_hcl_malformed");
    CHECK(azure::HclReport::Parse(Bytes(good.begin(), good.begin() + 2346)).has_value());
  }
  SECTION("bad signature") {
    Bytes b = good;
    b[0] = 'X';
    CHECK(reason_of(b) == "azure_hcl_malformed");
  }
  SECTION("unknown report type and hash type") {
    Bytes b = good;
    b[0x4C0 + 8] = 3;
    CHECK(reason_of(b) == "azure_hcl_unsupported");
    Bytes c = good;
    c[0x4C0 + 12] = 2;
    CHECK(reason_of(c) == "azure_hcl_unsupported");
  }
  SECTION("size fields that disagree") {
    Bytes b = good;
    b[0x4C0 + 16] ^= 0x01;  // variable_data_size
    CHECK(reason_of(b) == "azure_hcl_malformed");
    Bytes c = good;
    c[8] ^= 0x01;  // report_size
    CHECK(reason_of(c) == "azure_hcl_malformed");
    Bytes d = good;
    d[0x4C0] ^= 0x01;  // data_size
    CHECK(reason_of(d) == "azure_hcl_malformed");
    Bytes e = good;
    e[0x4C0 + 19] = 0x7f;  // huge variable_data_size
    CHECK(reason_of(e) == "azure_hcl_malformed");
  }
  SECTION("runtime data that is not a JSON object") {
    Bytes b = good;
    b[0x4D4] = '[';
    CHECK(reason_of(b) == "azure_hcl_malformed");
  }
  SECTION("oversized") {
    Bytes b = good;
    b.resize(azure::kMaxHclReportBytes + 1, 0);
    CHECK(reason_of(b) == "azure_hcl_malformed");
  }
  SECTION("no HCLAkPub") {
    std::string rt(reinterpret_cast<const char*>(h->runtime_data().data()), h->runtime_data().size());
    auto pos = rt.find("HCLAkPub");
    REQUIRE(pos != std::string::npos);
    Bytes b = good;
    b[0x4D4 + pos] = 'X';
    auto h2 = azure::HclReport::Parse(b);
    REQUIRE(h2.has_value());
    auto ak = h2->AttestationKey();
    CHECK(CodeOf(ak) == ErrorCode::kMalformedEvidence);
    CHECK(ReasonOf(ak) == "azure_ak_missing");
  }
}

TEST_CASE("HclReport: SnakeCase maps the runtime member names", "[attestation][azure][unit]") {
  CHECK(azure::SnakeCase("vmUniqueId") == "vm_unique_id");
  CHECK(azure::SnakeCase("secure-boot") == "secure_boot");
  CHECK(azure::SnakeCase("root-cert-thumbprint") == "root_cert_thumbprint");
  CHECK(azure::SnakeCase("tpm-enabled") == "tpm_enabled");
}
