// SPDX-License-Identifier: Apache-2.0
// TDX releases through a real skrd (issue 13): quotes from an Intel-shaped test PKI (trusted via
// [attestation.tdx] extra_roots beside the pinned Intel SGX Root CA), collateral imported with
// `skrctl tdx import-collateral`, a fresh nonce bound in REPORTDATA, policies on tdx.mrtd,
// tdx.tcb_status and debug; every decision audited.
#include <catch2/catch.hpp>
#include <ctime>

#include "common/encoding.h"
#include "common/jose.h"
#include "tests/client/fake_tsm.h"
#include "tests/integration/skrd_fixture.h"
#include "tests/support/intel_test_pki.h"
#include "tests/support/tpm_test_evidence.h"

using skr::Json;
using skr::test::IntelTestPki;
using skr::test::Skrd;
using skr::test::TestTdQuote;

namespace {

const IntelTestPki& Pki() {
  static const IntelTestPki pki;
  return pki;
}

std::array<std::uint8_t, 48> Mrtd(std::uint8_t seed) {
  std::array<std::uint8_t, 48> m{};
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<std::uint8_t>(seed + i);
  return m;
}

Json Policy() {
  return {{"anyOf",
           {{{"authority", "skr:local"},
             {"allOf",
              {{{"claim", "tee"}, {"equals", "tdx"}},
               {{"claim", "debug"}, {"equals", false}},
               {{"claim", "tdx.mrtd"}, {"equals", skr::HexEncode(Mrtd(0x20))}},
               {{"claim", "tdx.tcb_status"}, {"in", {"UpToDate", "SWHardeningNeeded"}}}}}},
            // Azure TDX CVMs: the paravisor (trusted by [attestation.azure] trusted_mrtds) and the
            // platform's TCB from the TD quote, the guest's boot from the vTPM.
            {{"authority", "skr:local"},
             {"allOf",
              {{{"claim", "tee"}, {"equals", "az-tdx-vtpm"}},
               {{"claim", "debug"}, {"equals", false}},
               {{"claim", "azure.vm_configuration.secure_boot"}, {"equals", true}},
               {{"claim", "tdx.tcb_status"}, {"in", {"UpToDate", "SWHardeningNeeded"}}}}}}}}};
}

struct World {
  skr::test::SkrdOptions opts;
  std::unique_ptr<Skrd> skrd;
  std::string admin;
  std::int64_t now = std::time(nullptr);
  World() {
    opts.extra_toml = "\n[attestation.tdx]\nextra_roots = \"test-intel.pem\"\n"
                      "[attestation.azure]\ntrusted_mrtds = [\"" + skr::HexEncode(Mrtd(0x20)) + "\"]\n";
    skrd = std::make_unique<Skrd>(opts);
    skr::test::WriteFile(skrd->file("test-intel.pem"), Pki().RootPem(), 0644);
    REQUIRE(skrd->Start());
    admin = skrd->SetUpTenant("acme", "td", Policy(), "disk",
                              skr::Base64Encode(skr::RandomBytes(32)))
                .admin_token;
  }
  // Writes the collateral files and imports them with skrctl; returns skrctl's result.
  skr::test::CommandResult Import(const std::string& tcb_info) {
    skr::test::WriteFile(skrd->file("tcb.json"), tcb_info);
    skr::test::WriteFile(skrd->file("qe.json"), Pki().QeIdentityBody(now - 60, now + 30 * 86400));
    skr::test::WriteFile(skrd->file("chain.pem"), Pki().TcbSigningChainPem());
    skr::test::WriteFile(skrd->file("pck.crl"), Pki().PckCrlPem({}, now - 60, now + 30 * 86400));
    skr::test::WriteFile(skrd->file("root.crl"), Pki().RootCrlPem({}, now - 60, now + 30 * 86400));
    return skr::test::Skrctl(*skrd, skrd->operator_token(),
                             {"tdx", "import-collateral", "--tcb-info", skrd->file("tcb.json"),
                              "--qe-identity", skrd->file("qe.json"), "--tcb-signing-chain",
                              skrd->file("chain.pem"), "--pck-crl", skrd->file("pck.crl"),
                              "--root-ca-crl", skrd->file("root.crl")});
  }
  std::string Nonce() {
    auto r = skrd->Post("/v1/challenge", {{"tenant", "acme"}});
    REQUIRE(r.status == 200);
    return r.json["nonce"].get<std::string>();
  }
  struct Attempt {
    skr::EvpPkeyPtr eph;
    Json body;
  };
  Attempt Make(TestTdQuote q = {}) {
    Attempt a;
    const std::string nonce = Nonce();
    a.eph = skr::GenerateEcKey("P-384").value();
    Json jwk = skr::PublicJwkFromKey(a.eph.get(), "ECDH-ES+A256KW").value();
    auto digest = skr::BindingDigest(nonce, jwk).value();
    std::copy(digest.begin(), digest.end(), q.report_data.begin());
    if (q.mrtd == std::array<std::uint8_t, 48>{}) q.mrtd = Mrtd(0x20);
    Json ev = {{"type", "tdx"}, {"quote", skr::Base64Encode(Pki().Quote(q))}};
    a.body = {{"nonce", nonce}, {"tee-pubkey", jwk}, {"evidence", ev}};
    return a;
  }
  // An Azure TDX CVM: the paravisor's AK and runtime data bound in the TD quote, the binding
  // digest in the vTPM quote's qualifying data.
  Attempt MakeAzure(std::array<std::uint8_t, 48> paravisor_mrtd) {
    Attempt a;
    const std::string nonce = Nonce();
    a.eph = skr::GenerateEcKey("P-384").value();
    Json jwk = skr::PublicJwkFromKey(a.eph.get(), "ECDH-ES+A256KW").value();
    auto digest = skr::BindingDigest(nonce, jwk).value();
    auto ak = skr::GenerateRsaKey(2048).value();
    const std::string runtime = skr::test::AzureRuntimeJson(ak.get());
    TestTdQuote q;
    const auto h = skr::Sha256(runtime);
    std::copy(h.begin(), h.end(), q.report_data.begin());
    q.mrtd = paravisor_mrtd;
    const auto hcl = skr::test::MakeAzureHclReport(IntelTestPki::TdReport(q), runtime, 4);
    skr::test::QuoteSpec spec;
    spec.qualified_signer = skr::test::TpmName(skr::test::MarshalAkPublic(ak.get()));
    spec.extra_data.assign(digest.begin(), digest.end());
    const auto attest = skr::test::MarshalQuoteAttest(spec);
    const auto sig = skr::test::BareRsaSignature(
        skr::test::SignQuote(attest, ak.get(), skr::test::TpmSigScheme::kRsassaSha256));
    std::vector<std::vector<std::uint8_t>> pcrs;
    for (unsigned i = 0; i < 8; ++i) pcrs.push_back(spec.pcrs.at("sha256").at(i));
    a.body = {{"nonce", nonce},
              {"tee-pubkey", jwk},
              {"evidence", skr::test::AzTdxVtpmEvidence(hcl, Pki().Quote(q), attest, sig, pcrs)}};
    return a;
  }
  skr::test::HttpResult Release(const Attempt& a) {
    return skrd->Post("/v1/tenants/acme/keys/disk/release", a.body);
  }
};

}  // namespace

TEST_CASE("TDX release: a quote from the Intel-shaped test PKI releases the key",
          "[integration][tdx]") {
  World w;
  // Before any collateral is imported: 503, nothing released, the refusal audited.
  auto early = w.Release(w.Make());
  INFO(early.body);
  CHECK(early.status == 503);
  CHECK(early.body.find("tdx_collateral_missing") != std::string::npos);
  CHECK(!early.json.contains("jwe"));
  auto status = skr::test::Skrctl(*w.skrd, w.skrd->operator_token(), {"tdx", "collateral"});
  CHECK(status.out.find("no TDX collateral imported") != std::string::npos);

  auto imported = w.Import(Pki().TcbInfoBody(w.now - 60, w.now + 30 * 86400));
  INFO(imported.out << imported.err);
  REQUIRE(imported.exit_code == 0);
  CHECK(imported.out.find("FMSPC 112233000000") != std::string::npos);

  auto a = w.Make();
  auto r = w.Release(a);
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto key = skr::JweDecrypt(r.json["jwe"].get<std::string>(), a.eph.get());
  REQUIRE(key.has_value());
  CHECK(key->size() == 32);
  auto audit = w.skrd->Get("/v1/audit/entries?decision=granted", w.skrd->operator_token());
  REQUIRE(audit.json["entries"].size() == 1);
  CHECK(audit.json["entries"][0]["evidence_type"] == "tdx");
  // The release replays the same, with the collateral it relied on.
  auto replay = w.skrd->Get("/v1/audit/replay?seq=" + std::to_string(r.json["audit_seq"].get<std::int64_t>()),
                            w.skrd->operator_token());
  INFO(replay.body);
  REQUIRE(replay.status == 200);
  CHECK(replay.json.at("same") == true);
  // The import is an audited admin change, and the collateral shows in /metrics.
  auto changes = w.skrd->Get("/v1/audit/entries?action=tdx.import_collateral", w.skrd->operator_token());
  CHECK(changes.json["entries"].size() == 2);  // requested, ok
  auto metrics = w.skrd->Get("/metrics", "");
  CHECK(metrics.body.find("skr_tdx_collateral_stale 0") != std::string::npos);

  SECTION("a debug TD is denied") {
    TestTdQuote q;
    q.debug = true;
    auto d = w.Release(w.Make(q));
    CHECK(d.status == 403);
    CHECK(!d.json.contains("jwe"));
  }
  SECTION("another MRTD is denied") {
    TestTdQuote q;
    q.mrtd = Mrtd(0x77);
    auto d = w.Release(w.Make(q));
    CHECK(d.status == 403);
    CHECK(d.detail().find("'tdx.mrtd'") != std::string::npos);
  }
  SECTION("an OutOfDate platform is denied by tdx.tcb_status") {
    auto level = IntelTestPki::MatchingLevel();
    level.status = "OutOfDate";
    REQUIRE(w.Import(Pki().TcbInfoBody(w.now - 60, w.now + 30 * 86400, {level})).exit_code == 0);
    auto d = w.Release(w.Make());
    CHECK(d.status == 403);
    CHECK(d.detail().find("'tdx.tcb_status'") != std::string::npos);
  }
  SECTION("a quote bound to another nonce is refused") {
    auto other = w.Make();
    other.body["nonce"] = w.Nonce();
    auto d = w.Release(other);
    CHECK(d.status == 401);
    CHECK(!d.json.contains("jwe"));
  }
}

TEST_CASE("az-tdx-vtpm release: an Azure TDX CVM's vTPM bundle releases the key",
          "[integration][tdx][azure]") {
  World w;
  auto imported = w.Import(Pki().TcbInfoBody(w.now - 60, w.now + 30 * 86400));
  INFO(imported.out << imported.err);
  REQUIRE(imported.exit_code == 0);

  auto a = w.MakeAzure(Mrtd(0x20));
  auto r = w.Release(a);
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto key = skr::JweDecrypt(r.json["jwe"].get<std::string>(), a.eph.get());
  REQUIRE(key.has_value());
  CHECK(key->size() == 32);
  auto audit = w.skrd->Get("/v1/audit/entries?decision=granted", w.skrd->operator_token());
  REQUIRE(audit.json["entries"].size() == 1);
  CHECK(audit.json["entries"][0]["evidence_type"] == "az-tdx-vtpm");
  auto replay = w.skrd->Get(
      "/v1/audit/replay?seq=" + std::to_string(r.json["audit_seq"].get<std::int64_t>()),
      w.skrd->operator_token());
  INFO(replay.body);
  REQUIRE(replay.status == 200);
  CHECK(replay.json.at("same") == true);

  SECTION("a paravisor skrd does not trust is refused, and nothing is released") {
    auto d = w.Release(w.MakeAzure(Mrtd(0x40)));
    INFO(d.body);
    CHECK(d.status == 401);
    CHECK(d.body.find("azure_paravisor_untrusted") != std::string::npos);
    CHECK(!d.json.contains("jwe"));
  }
  SECTION("a bundle bound to another nonce is refused") {
    auto other = w.MakeAzure(Mrtd(0x20));
    other.body["nonce"] = w.Nonce();
    auto d = w.Release(other);
    CHECK(d.status == 401);
    CHECK(!d.json.contains("jwe"));
  }
}

TEST_CASE("TDX collateral import: refused unless it verifies to a trusted root",
          "[integration][tdx]") {
  World w;
  IntelTestPki stranger;
  // TCB Info signed by another PKI's TCB signing key, with this PKI's chain: refused, nothing kept.
  auto bad = w.Import(stranger.TcbInfoBody(w.now - 60, w.now + 86400));
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("tdx_collateral_untrusted") != std::string::npos);
  auto shown = w.skrd->Get("/v1/attestation/tdx/collateral", w.skrd->operator_token());
  CHECK(shown.json["imported"] == false);
  // Operators only.
  auto as_admin = w.skrd->Get("/v1/attestation/tdx/collateral", w.admin);
  CHECK(as_admin.status == 403);
  // A body that is not collateral at all.
  auto junk = w.skrd->Post("/v1/attestation/tdx/collateral", {{"tcb_info", "{}"}}, w.skrd->operator_token());
  CHECK(junk.status == 400);
  CHECK(junk.body.find("tdx_collateral_malformed") != std::string::npos);
}

TEST_CASE("TDX: skr-agent attests through configfs-tsm, and a scaffolded policy grants it",
          "[integration][tdx][agent]") {
  World w;
  REQUIRE(w.Import(Pki().TcbInfoBody(w.now - 60, w.now + 30 * 86400)).exit_code == 0);
  const std::string agent = skr::test::BinaryDir() + "/client/skr-agent";
  // The TD's quote generation service: the test PKI quotes whatever REPORTDATA was asked for.
  const auto quote_for = [](const std::string& inblob) {
    TestTdQuote q;
    std::copy(inblob.begin(), inblob.end(), q.report_data.begin());
    q.mrtd = Mrtd(0x20);
    const auto bytes = Pki().Quote(q);
    return std::string(bytes.begin(), bytes.end());
  };

  // 1. Evidence without a release, then a policy scaffolded from it.
  {
    skr::test::FakeTsm tsm("tdx_guest");
    tsm.make_outblob = quote_for;
    tsm.Start();
    auto ev = skr::test::RunCommand({agent, "evidence", "--evidence", "tdx", "--tsm-dir",
                                     tsm.report_dir, "--tsm-entry", tsm.entry});
    INFO(ev.err);
    REQUIRE(ev.exit_code == 0);
    skr::test::WriteFile(w.skrd->file("ev.json"), ev.out);
  }
  auto scaffold = skr::test::Skrctl(*w.skrd, w.admin,
                                    {"policy", "scaffold", "--from-evidence", w.skrd->file("ev.json")});
  INFO(scaffold.out << scaffold.err);
  REQUIRE(scaffold.exit_code == 0);
  CHECK(scaffold.out.find("tdx.mrtd") != std::string::npos);
  CHECK(scaffold.out.find("tdx.td_attributes.debug") != std::string::npos);
  skr::test::WriteFile(w.skrd->file("scaffold.json"), scaffold.out);
  auto put = skr::test::Skrctl(*w.skrd, w.admin,
                               {"policy", "put", "--tenant", "acme", "td", "--file",
                                w.skrd->file("scaffold.json")});
  INFO(put.out << put.err);
  REQUIRE(put.exit_code == 0);

  // 2. A release with skr-agent fetch --evidence tdx under the scaffolded policy.
  skr::test::FakeTsm tsm("tdx_guest");
  tsm.make_outblob = quote_for;
  tsm.Start();
  auto fetch = skr::test::RunCommand({agent, "fetch", "--url", w.skrd->url(), "--cacert",
                                      w.skrd->file("tls/ca.crt"), "--tenant", "acme", "--key", "disk",
                                      "--evidence", "tdx", "--tsm-dir", tsm.report_dir,
                                      "--tsm-entry", tsm.entry, "--retries", "0", "--out",
                                      w.skrd->file("key.bin")},
                                     "", {{"SKR_AGENT_CONFIG", ""}}, 60);
  INFO(fetch.err);
  CHECK(fetch.exit_code == 0);
  CHECK(skr::test::ReadFileOrFail(w.skrd->file("key.bin")).size() == 32);
  auto audit = w.skrd->Get("/v1/audit/entries?decision=granted", w.skrd->operator_token());
  REQUIRE(audit.json["entries"].size() == 1);
  CHECK(audit.json["entries"][0]["evidence_type"] == "tdx");
}
