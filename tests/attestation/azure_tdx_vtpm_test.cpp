// SPDX-License-Identifier: Apache-2.0
// The az-tdx-vtpm verifier (issue 13): the real Azure TDX bundle of ../shared/testdata/azure/tdx
// (HCL report, TD quote, vTPM quote; PROVENANCE.md) and synthetic bundles on the Intel-shaped test
// PKI. The real TD quote chains to the real Intel SGX Root CA and is checked against the real PCK
// Platform CA and root CA CRLs; Intel publishes no TCB Info for its FMSPC (00806f050000) among
// the testdata, so the test writes one for that platform (its SGX/TDX components, Intel's real
// TDX module identities and QE Identity content) and signs it with a test TCB signing key that
// the verifier trusts as an extra root.
#include <catch2/catch.hpp>

#include <ctime>

#include "attestation/azure/az_tdx_vtpm_verifier.h"
#include "attestation/azure/hcl_report.h"
#include "attestation/binding.h"
#include "attestation/tdx/collateral.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/ossl.h"
#include "common/x509.h"
#include "tests/support/claim_catalogue_check.h"
#include "tests/support/intel_test_pki.h"
#include "tests/support/test_support.h"
#include "tests/support/tpm_test_evidence.h"

using skr::Json;
using skr::test::ReasonOf;
namespace azure = skr::attestation::azure;
namespace tdx = skr::attestation::tdx;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr char kAzureMrtd[] =
    "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b";

class FixedSource final : public tdx::TdxCollateralSource {
 public:
  std::shared_ptr<const tdx::TdxCollateralSet> set;
  std::shared_ptr<const tdx::TdxCollateralSet> Current() const override { return set; }
};

Bytes FileBytes(const fs::path& p) {
  const std::string s = skr::test::ReadFileOrFail(p);
  return Bytes(s.begin(), s.end());
}

Bytes Hex(const Json& s) { return skr::HexDecode(s.get<std::string>()).value(); }

// The PCS body's inner object, with its dates moved to `issue` / `next`.
Json Inner(const std::string& body, const char* member, std::int64_t issue, std::int64_t next) {
  Json j = skr::ParseJson(body).value().at(member);
  j["issueDate"] = skr::FormatRfc3339(issue);
  j["nextUpdate"] = skr::FormatRfc3339(next);
  return j;
}

struct World {
  skr::test::IntelTestPki pki;  // its TCB signing key signs the collateral below
  skr::FakeClock clock{0};
  FixedSource source;
  std::unique_ptr<tdx::TdxVerifier> tdx_verifier;
  std::int64_t t0 = std::time(nullptr);
  fs::path dir;

  explicit World(fs::path testdata) : dir(std::move(testdata)) {
    clock.Set(t0);
    tdx::TdxVerifierOptions opts;
    opts.extra_roots = skr::ParseCertificatesPem(pki.RootPem()).value();
    opts.collateral = &source;
    // The real CRLs' nextUpdate is in 2023: the grace covers them (what is tested here is the
    // bundle, not collateral freshness, which tdx_verifier_test covers).
    opts.collateral_grace_seconds = 20LL * 365 * 86400;
    tdx_verifier = std::make_unique<tdx::TdxVerifier>(std::move(opts), clock);
  }

  // Collateral for the Azure platform (FMSPC 00806f050000, PCE-ID 0000): one TCB level at
  // exactly its PCK's SGX TCB (6 6 2 2 3 1 0 3, PCESVN 11) and its TEE_TCB_SVN (02 01 06 ...);
  // Intel's TDX module identities and QE Identity from the 2025-10 PCS bodies.
  void ImportAzureCollateral() {
    const std::string real_tcb = skr::test::ReadFileOrFail(
        dir / "tdx/collateral/tcbinfo_fmspc_00a06d080000_2025-10.json");
    Json tcb = Inner(real_tcb, "tcbInfo", t0 - 60, t0 + 86400);
    tcb["fmspc"] = "00806F050000";
    Json sgx = Json::array(), tdx_comps = Json::array();
    const int sgx_svns[16] = {6, 6, 2, 2, 3, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0};
    const int tdx_svns[16] = {2, 1, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (int v : sgx_svns) sgx.push_back({{"svn", v}});
    for (int v : tdx_svns) tdx_comps.push_back({{"svn", v}});
    tcb["tcbLevels"] = Json::array(
        {{{"tcb", {{"sgxtcbcomponents", sgx}, {"pcesvn", 11}, {"tdxtcbcomponents", tdx_comps}}},
          {"tcbDate", "2024-03-13T00:00:00Z"},
          {"tcbStatus", "UpToDate"}}});
    const std::string real_qe =
        skr::test::ReadFileOrFail(dir / "tdx/collateral/qe_identity_td_2025-10.json");
    tdx::TdxCollateralTexts t;
    t.tcb_infos = {pki.SignedBody("tcbInfo", skr::DumpJson(tcb))};
    t.qe_identity =
        pki.SignedBody("enclaveIdentity", skr::DumpJson(Inner(real_qe, "enclaveIdentity", t0 - 60,
                                                              t0 + 86400)));
    t.tcb_signing_chain = pki.TcbSigningChainPem();
    t.pck_crls = {skr::test::ReadFileOrFail(dir / "tdx/collateral/pck_platform_crl_2023-06.der")};
    t.root_ca_crl = skr::test::ReadFileOrFail(dir / "tdx/collateral/root_ca_crl_2023-04.der");
    auto set = tdx::TdxCollateralSet::Build(std::move(t), tdx_verifier->roots());
    INFO((set ? "" : set.error().message()));
    REQUIRE(set.has_value());
    source.set = *set;
  }

  // The real bundle: byte members as base64, the vTPM quote's hex files decoded.
  Json RealEvidence() const {
    const Json q = skr::ParseJson(skr::test::ReadFileOrFail(dir / "azure/tdx/tpm_quote.json")).value();
    Json pcrs = Json::array();
    for (const auto& p : q["pcrs"]) pcrs.push_back(skr::Base64Encode(Hex(p)));
    return {{"type", "az-tdx-vtpm"},
            {"report", skr::Base64Encode(FileBytes(dir / "azure/tdx/hcl_report.bin"))},
            {"td_quote", skr::Base64Encode(FileBytes(dir / "azure/tdx/td_quote.bin"))},
            {"quote",
             {{"message", skr::Base64Encode(Hex(q["message"]))},
              {"signature", skr::Base64Encode(Hex(q["signature"]))},
              {"pcrs", pcrs}}}};
  }

  azure::AzTdxVtpmVerifier Verifier(std::vector<std::string> mrtds = {kAzureMrtd}) const {
    return azure::AzTdxVtpmVerifier(*tdx_verifier, azure::AzureOptions{{}, {}, std::move(mrtds)});
  }
};

// A base64 member decoded, changed by `edit`, encoded again.
void Edit(Json& member, const std::function<void(Bytes&)>& edit) {
  Bytes b = skr::Base64Decode(member.get<std::string>()).value();
  edit(b);
  member = skr::Base64Encode(b);
}

// A synthetic Azure TDX CVM on the test PKI: its paravisor's AK and runtime data, the TD quote
// binding them, and vTPM quotes binding `extra`.
struct SyntheticVm {
  skr::EvpPkeyPtr ak = skr::GenerateRsaKey(2048).value();
  std::string runtime = skr::test::AzureRuntimeJson(ak.get());
  skr::test::TestTdQuote td;

  explicit SyntheticVm(bool debug = false) {
    const auto h = skr::Sha256(runtime);
    std::copy(h.begin(), h.end(), td.report_data.begin());
    td.mrtd.fill(0x5A);
    td.debug = debug;
  }
  Json Evidence(const skr::test::IntelTestPki& pki, const Bytes& extra) const {
    const Bytes hcl = skr::test::MakeAzureHclReport(skr::test::IntelTestPki::TdReport(td), runtime, 4);
    skr::test::QuoteSpec spec;
    spec.qualified_signer = skr::test::TpmName(skr::test::MarshalAkPublic(ak.get()));
    spec.extra_data = extra;
    const Bytes attest = skr::test::MarshalQuoteAttest(spec);
    const Bytes sig = skr::test::BareRsaSignature(
        skr::test::SignQuote(attest, ak.get(), skr::test::TpmSigScheme::kRsassaSha256));
    std::vector<Bytes> pcrs;
    for (unsigned i = 0; i < 8; ++i) pcrs.push_back(spec.pcrs.at("sha256").at(i));
    return skr::test::AzTdxVtpmEvidence(hcl, pki.Quote(td), attest, sig, pcrs);
  }
  std::string MrtdHex() const { return skr::HexEncode(td.mrtd); }
};

}  // namespace

TEST_CASE("AzTdxVtpm: the real Azure TDX bundle verifies with the documented claims",
          "[attestation][azure][tdx][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  World w(dir);
  w.ImportAzureCollateral();
  const auto verifier = w.Verifier();
  auto v = verifier.Verify(w.RealEvidence());
  INFO((v ? "" : v.error().reason() + ": " + v.error().message()));
  REQUIRE(v.has_value());
  const auto& cl = v->claims;
  CHECK(v->type == "az-tdx-vtpm");
  CHECK(cl.at("tee") == "az-tdx-vtpm");
  CHECK(cl.at("debug") == false);
  CHECK(cl.at("tdx.mrtd") == kAzureMrtd);
  CHECK(cl.at("tdx.fmspc") == "00806f050000");
  CHECK(cl.at("tdx.tee_tcb_svn") == "02010600000000000000000000000000");
  // Intel's algorithm: platform and QE UpToDate, TDX module 1.x at ISVSVN 2 OutOfDate (TDX_01's
  // UpToDate level needs 4) -> OutOfDate.
  CHECK(cl.at("tdx.tcb_status") == "OutOfDate");
  CHECK(cl.at("azure.paravisor.trusted_by") == "mrtd");
  CHECK(cl.at("azure.report_type") == "tdx");
  CHECK(cl.at("azure.hcl_version") == 2);
  CHECK(cl.at("azure.hw_report_data") ==
        "9734504f161d104c74e3165c15f779b06a9bb40dfa71937817d7eee68e593839"
        "0000000000000000000000000000000000000000000000000000000000000000");
  CHECK(cl.at("tpm.firmware_version") == 0x2020031200120003ULL);
  CHECK(cl.at("tpm.extra_data") == "6368616c6c656e6765");  // "challenge"
  CHECK(cl.at("report_data") == "6368616c6c656e6765");
  CHECK(cl.at("tpm.ak.type") == "rsa");
  for (int i = 0; i < 24; ++i) CHECK(cl.count("tpm.pcr.sha256." + std::to_string(i)) == 1);
  CHECK(v->binding_form == skr::attestation::BindingForm::kExact48);
  CHECK(skr::HexEncode(v->bound_data) == "6368616c6c656e6765");
  // The collateral the TD quote's verdict relied on is kept for the audit replay.
  CHECK(v->collateral.at("fmspc") == "00806f050000");
  CHECK_FALSE(v->collateral_bytes.empty());
  skr::test::CheckClaimsCatalogued(cl, "az-tdx-vtpm");
  // "challenge" is not a binding digest: the release path refuses it.
  Json jwk = {{"kty", "EC"}, {"crv", "P-256"}, {"alg", "ECDH-ES+A256KW"},
              {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
              {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};
  CHECK(ReasonOf(skr::attestation::CheckBinding(*v, "bm9uY2U=", jwk)) == "binding_mismatch");

  SECTION("in Trustee's spelling: hcl_report, tpm_quote, byte strings as arrays of numbers") {
    Json ev = w.RealEvidence();
    Json t = {{"type", "az-tdx-vtpm"}};
    auto arr = [](const Json& b64) { return Json(skr::Base64Decode(b64.get<std::string>()).value()); };
    t["hcl_report"] = arr(ev["report"]);
    t["td_quote"] = arr(ev["td_quote"]);
    t["tpm_quote"] = {{"message", arr(ev["quote"]["message"])},
                      {"signature", arr(ev["quote"]["signature"])},
                      {"pcrs", Json::array()}};
    for (const auto& p : ev["quote"]["pcrs"]) t["tpm_quote"]["pcrs"].push_back(arr(p));
    auto tv = verifier.Verify(t);
    INFO((tv ? "" : tv.error().message()));
    REQUIRE(tv.has_value());
    CHECK(tv->claims.at("tdx.mrtd") == kAzureMrtd);
    // One of each pair only.
    t["report"] = ev["report"];
    CHECK(ReasonOf(verifier.Verify(t)) == "malformed_evidence");
  }
  SECTION("replay with the kept collateral after it was replaced") {
    skr::attestation::RecordedState state;
    state.time = w.t0;
    for (const auto& [name, bytes] : v->collateral_bytes) state.collateral[name] = bytes;
    w.source.set.reset();
    CHECK(ReasonOf(verifier.Verify(w.RealEvidence())) == "tdx_collateral_missing");
    auto r = verifier.VerifyRecorded(w.RealEvidence(), state);
    INFO((r ? "" : r.error().message()));
    REQUIRE(r.has_value());
    CHECK(r->claims.at("tdx.tcb_status") == "OutOfDate");
  }
}

TEST_CASE("AzTdxVtpm: the paravisor allow-list decides", "[attestation][azure][tdx][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  World w(dir);
  w.ImportAzureCollateral();
  SECTION("an empty list refuses every bundle, naming the setting") {
    auto v = w.Verifier({}).Verify(w.RealEvidence());
    REQUIRE_FALSE(v.has_value());
    CHECK(v.error().reason() == "azure_paravisor_untrusted");
    CHECK(v.error().message().find("trusted_mrtds") != std::string::npos);
  }
  SECTION("another paravisor's MRTD does not admit this one") {
    CHECK(ReasonOf(w.Verifier({std::string(96, 'a')}).Verify(w.RealEvidence())) ==
          "azure_paravisor_untrusted");
  }
  SECTION("the built-in default is the real paravisor's MRTD") {
    CHECK(azure::DefaultTrustedMrtds() == std::vector<std::string>{kAzureMrtd});
  }
}

TEST_CASE("AzTdxVtpm: tampered or spliced bundles are refused with a specific reason",
          "[attestation][azure][tdx][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  World w(dir);
  w.ImportAzureCollateral();
  const auto verifier = w.Verifier();
  Json ev = w.RealEvidence();
  const auto hcl = azure::HclReport::Parse(FileBytes(dir / "azure/tdx/hcl_report.bin")).value();
  constexpr std::size_t kRuntime = 0x20 + 0x4A0 + 20;  // runtime JSON offset in the HCL report

  SECTION("the runtime JSON altered (its hash no longer in the quote's REPORTDATA)") {
    Edit(ev["report"], [&](Bytes& b) {
      const std::string rt(hcl.runtime_data().begin(), hcl.runtime_data().end());
      const auto pos = rt.find("\"vmUniqueId\":\"");
      REQUIRE(pos != std::string::npos);
      char& c = reinterpret_cast<char&>(b[kRuntime + pos + 14]);  // first character of the id
      c = c == 'A' ? 'B' : 'A';
    });
    CHECK(ReasonOf(verifier.Verify(ev)) == "azure_runtime_data_mismatch");
  }
  SECTION("the TDREPORT in the HCL report is another one") {
    Edit(ev["report"], [](Bytes& b) { b[0x20 + azure::kTdReportReportDataOffset + 40] ^= 1; });
    CHECK(ReasonOf(verifier.Verify(ev)) == "azure_td_report_mismatch");
    ev = w.RealEvidence();
    Edit(ev["report"], [](Bytes& b) { b[0x20 + azure::kTdReportMrtdOffset] ^= 1; });
    CHECK(ReasonOf(verifier.Verify(ev)) == "azure_td_report_mismatch");
  }
  SECTION("a flipped bit in the TD quote body") {
    Edit(ev["td_quote"], [](Bytes& b) { b[48 + 200] ^= 1; });
    CHECK(ReasonOf(verifier.Verify(ev)) == "tdx_quote_signature");
  }
  SECTION("a truncated TD quote") {
    Edit(ev["td_quote"], [](Bytes& b) { b.resize(700); });
    CHECK(ReasonOf(verifier.Verify(ev)) == "tdx_quote_malformed");
  }
  SECTION("a flipped bit in the vTPM quote message and signature") {
    Edit(ev["quote"]["message"], [](Bytes& b) { b.back() ^= 1; });  // in pcrDigest
    CHECK(ReasonOf(verifier.Verify(ev)) == "tpm_signature_invalid");
    ev = w.RealEvidence();
    Edit(ev["quote"]["signature"], [](Bytes& b) { b[10] ^= 1; });
    CHECK(ReasonOf(verifier.Verify(ev)) == "tpm_signature_invalid");
  }
  SECTION("a PCR value changed") {
    Edit(ev["quote"]["pcrs"][0], [](Bytes& b) { b[0] ^= 1; });
    CHECK(ReasonOf(verifier.Verify(ev)) == "tpm_pcr_mismatch");
  }
  SECTION("an SNP HCL report in a TDX bundle") {
    ev["report"] = skr::Base64Encode(FileBytes(dir / "azure/snp-milan/hcl_report.bin"));
    CHECK(ReasonOf(verifier.Verify(ev)) == "azure_report_type");
  }
  SECTION("malformed members") {
    Json no_quote = ev;
    no_quote.erase("td_quote");
    CHECK(ReasonOf(verifier.Verify(no_quote)) == "malformed_evidence");
    Json extra = ev;
    extra["vcek"] = "x";
    CHECK(ReasonOf(verifier.Verify(extra)) == "malformed_evidence");
    Json bad = ev;
    bad["td_quote"] = "***";
    CHECK(ReasonOf(verifier.Verify(bad)) == "malformed_evidence");
    bad["td_quote"] = 7;
    CHECK(ReasonOf(verifier.Verify(bad)) == "malformed_evidence");
    CHECK(ReasonOf(verifier.Verify(Json::array())) == "malformed_evidence");
  }
  SECTION("no collateral for the platform") {
    w.source.set.reset();
    CHECK(ReasonOf(verifier.Verify(ev)) == "tdx_collateral_missing");
  }
}

TEST_CASE("AzTdxVtpm: synthetic bundles on the test PKI", "[attestation][azure][tdx]") {
  skr::test::IntelTestPki pki;
  skr::FakeClock clock(std::time(nullptr));
  const std::int64_t t0 = clock.NowUnix();
  FixedSource source;
  tdx::TdxVerifierOptions opts;
  opts.extra_roots = skr::ParseCertificatesPem(pki.RootPem()).value();
  opts.collateral = &source;
  const tdx::TdxVerifier tdx_verifier(std::move(opts), clock);
  tdx::TdxCollateralTexts t;
  t.tcb_infos = {pki.TcbInfoBody(t0 - 60, t0 + 86400)};
  t.qe_identity = pki.QeIdentityBody(t0 - 60, t0 + 86400);
  t.tcb_signing_chain = pki.TcbSigningChainPem();
  t.pck_crls = {pki.PckCrlPem({}, t0 - 60, t0 + 86400)};
  t.root_ca_crl = pki.RootCrlPem({}, t0 - 60, t0 + 86400);
  source.set = tdx::TdxCollateralSet::Build(std::move(t), tdx_verifier.roots()).value();
  const Bytes digest(48, 0xD1);

  SECTION("a trusted paravisor's bundle verifies and binds the vTPM quote's extraData") {
    SyntheticVm vm;
    azure::AzTdxVtpmVerifier verifier(tdx_verifier, azure::AzureOptions{{}, {}, {vm.MrtdHex()}});
    auto v = verifier.Verify(vm.Evidence(pki, digest));
    INFO((v ? "" : v.error().message()));
    REQUIRE(v.has_value());
    CHECK(v->claims.at("tdx.tcb_status") == "UpToDate");
    CHECK(v->bound_data == digest);
    CHECK(v->claims.at("azure.vm_configuration.secure_boot") == true);
  }
  SECTION("a debug TD is no paravisor, even with a listed MRTD") {
    SyntheticVm vm(/*debug=*/true);
    azure::AzTdxVtpmVerifier verifier(tdx_verifier, azure::AzureOptions{{}, {}, {vm.MrtdHex()}});
    auto v = verifier.Verify(vm.Evidence(pki, digest));
    REQUIRE_FALSE(v.has_value());
    CHECK(v.error().reason() == "azure_paravisor_untrusted");
    CHECK(v.error().message().find("debug") != std::string::npos);
  }
  SECTION("another VM's HCL report with this VM's TD quote") {
    SyntheticVm a, b;
    azure::AzTdxVtpmVerifier verifier(tdx_verifier, azure::AzureOptions{{}, {}, {a.MrtdHex()}});
    Json ev = a.Evidence(pki, digest);
    ev["report"] = b.Evidence(pki, digest)["report"];
    CHECK(ReasonOf(verifier.Verify(ev)) == "azure_runtime_data_mismatch");
  }
}
