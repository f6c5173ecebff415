// SPDX-License-Identifier: Apache-2.0
// SEV-SNP releases through a real skrd: reports signed by a test PKI shaped like AMD's (trusted
// via [attestation.snp] extra_roots beside the pinned AMD roots), a fresh nonce bound in
// REPORT_DATA, and policies on measurement, TCB, VMPL and debug.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <functional>

#include "common/encoding.h"
#include "common/jose.h"
#include "tests/integration/skrd_fixture.h"
#include "tests/support/amd_test_pki.h"

using skr::Json;
using skr::test::AmdTestPki;
using skr::test::AmdTestTcb;
using skr::test::Skrd;
using skr::test::TestSnpReport;

namespace {

std::array<std::uint8_t, 64> Chip() {
  std::array<std::uint8_t, 64> c{};
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = static_cast<std::uint8_t>(0xC0 + i);
  return c;
}
std::array<std::uint8_t, 48> Measurement(std::uint8_t seed) {
  std::array<std::uint8_t, 48> m{};
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<std::uint8_t>(seed + i);
  return m;
}

const AmdTestPki& Pki() {
  static const AmdTestPki pki(Chip(), AmdTestTcb{});
  return pki;
}

Json Policy() {
  return {{"anyOf",
           {{{"authority", "skr:local"},
             {"allOf",
              {{{"claim", "tee"}, {"equals", "sev-snp"}},
               {{"claim", "snp.policy.debug"}, {"equals", false}},
               {{"claim", "snp.vmpl"}, {"equals", 0}},
               {{"claim", "snp.measurement"}, {"in", {skr::HexEncode(Measurement(0x10))}}},
               {{"claim", "snp.reported_tcb.microcode"}, {"greaterOrEquals", 115}},
               {{"claim", "snp.reported_tcb.snp"}, {"greaterOrEquals", 8}}}}}}}};
}

struct World {
  skr::test::SkrdOptions opts;
  std::unique_ptr<Skrd> skrd;
  std::string admin;
  World() {
    opts.extra_toml =
        "\n[attestation.snp]\nextra_roots = \"test-amd.pem\"\nextra_roots_product = \"Milan\"\n";
    skrd = std::make_unique<Skrd>(opts);
    skr::test::WriteFile(skrd->file("test-amd.pem"), Pki().RootsPem(), 0644);
    REQUIRE(skrd->Start());
    admin = skrd->SetUpTenant("acme", "cvm", Policy(), "disk",
                              skr::Base64Encode(skr::RandomBytes(32)))
                .admin_token;
  }
  std::string Nonce() {
    auto r = skrd->Post("/v1/challenge", {{"tenant", "acme"}});
    REQUIRE(r.status == 200);
    return r.json["nonce"].get<std::string>();
  }
  // Evidence for `nonce` and a fresh ephemeral key; `tweak` edits the report before signing.
  struct Attempt {
    skr::EvpPkeyPtr eph;
    Json body;
  };
  Attempt Make(const std::string& nonce, const std::function<void(TestSnpReport&)>& tweak,
               bool include_vcek = true) {
    Attempt a;
    a.eph = skr::GenerateEcKey("P-384").value();
    Json jwk = skr::PublicJwkFromKey(a.eph.get(), "ECDH-ES+A256KW").value();
    auto digest = skr::BindingDigest(nonce, jwk).value();
    TestSnpReport rep;
    std::copy(digest.begin(), digest.end(), rep.report_data.begin());
    rep.measurement = Measurement(0x10);
    rep.chip_id = Chip();
    if (tweak) tweak(rep);
    auto bytes = rep.Build();
    Pki().SignReport(bytes);
    Json ev = {{"type", "sev-snp"}, {"report", skr::Base64Encode(bytes)}};
    if (include_vcek) ev["vcek"] = Pki().VcekPem();
    a.body = {{"nonce", nonce}, {"tee-pubkey", jwk}, {"evidence", ev}};
    return a;
  }
  skr::test::HttpResult Release(const Attempt& a) {
    return skrd->Post("/v1/tenants/acme/keys/disk/release", a.body);
  }
};

// A 403 names the failing claim only (issue 9, item 5); the audit record keeps the condition.
void ExpectDenied(World& w, const skr::test::HttpResult& r, const std::string& claim,
                  const std::string& condition) {
  INFO(r.body);
  CHECK(r.status == 403);
  CHECK(r.problem_type() == "urn:skr:problem:policy_denied");
  CHECK(r.detail().find("'" + claim + "'") != std::string::npos);
  CHECK(r.detail().find(condition) == std::string::npos);
  CHECK(r.body.find("(got") == std::string::npos);
  CHECK(!r.json.contains("jwe"));
  auto audit = w.skrd->Get("/v1/audit/entries?limit=1000", w.skrd->operator_token());
  REQUIRE(!audit.json["entries"].empty());
  CHECK(audit.json["entries"].back()["reason"].get<std::string>().find(condition) !=
        std::string::npos);
}

}  // namespace

TEST_CASE("SNP release: a report from the AMD-shaped test PKI releases the key",
          "[integration][snp]") {
  World w;
  auto a = w.Make(w.Nonce(), nullptr);
  auto r = w.Release(a);
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto key = skr::JweDecrypt(r.json["jwe"].get<std::string>(), a.eph.get());
  REQUIRE(key.has_value());
  CHECK(key->size() == 32);
  auto audit = w.skrd->Get("/v1/audit/entries?decision=granted", w.skrd->operator_token());
  REQUIRE(audit.json["entries"].size() == 1);
  CHECK(audit.json["entries"][0]["evidence_type"] == "sev-snp");
  // The release replays the same from its kept evidence, and its bundle names the certificates
  // it was verified with (issue 11).
  auto replay = w.skrd->Get("/v1/audit/replay?seq=" + std::to_string(r.json["audit_seq"].get<std::int64_t>()),
                            w.skrd->operator_token());
  INFO(replay.body);
  REQUIRE(replay.status == 200);
  CHECK(replay.json.at("same") == true);
  const Json& kept = replay.json.at("collateral").at("recorded");
  CHECK(kept.at("snp_signer_source") == "evidence");
  CHECK(kept.at("snp_signer_sha256").get<std::string>().size() == 64);
  CHECK(kept.at("snp_ark_sha256").get<std::string>().size() == 64);
  CHECK(replay.json.at("collateral").at("replayed") == kept);
}

TEST_CASE("SNP release: the policy denies as written and names the condition",
          "[integration][snp]") {
  World w;
  SECTION("debug policy bit") {
    ExpectDenied(w, w.Release(w.Make(w.Nonce(), [](TestSnpReport& r) { r.policy |= 1u << 19; })),
                 "snp.policy.debug", "snp.policy.debug equals false");
  }
  SECTION("unknown measurement") {
    ExpectDenied(w, w.Release(w.Make(w.Nonce(), [](TestSnpReport& r) { r.measurement = Measurement(0x77); })),
                 "snp.measurement", "snp.measurement in");
  }
  SECTION("VMPL 1") {
    ExpectDenied(w, w.Release(w.Make(w.Nonce(), [](TestSnpReport& r) { r.vmpl = 1; })),
                 "snp.vmpl", "snp.vmpl equals 0");
  }
  SECTION("microcode below the minimum") {
    // A report at an older TCB with the VCEK AMD would issue for that TCB.
    AmdTestTcb old;
    old.microcode = 100;
    auto a = w.Make(w.Nonce(), [&](TestSnpReport& r) { r.tcb = old; });
    a.body["evidence"]["vcek"] = Pki().VcekPemFor(old);
    ExpectDenied(w, w.Release(a), "snp.reported_tcb.microcode",
                 "snp.reported_tcb.microcode greaterOrEquals 115");
  }
  auto granted = w.skrd->Get("/v1/audit/entries?decision=granted", w.skrd->operator_token());
  CHECK(granted.json["entries"].empty());
}

// Issue 9, item 4: the launch measurement does not cover the guest policy, so the host can
// relaunch the tenant's image with DEBUG=1 (or a migration agent) and the same measurement.
TEST_CASE("SNP release: a debug relaunch of the pinned image is denied unless allowed explicitly",
          "[integration][snp][attack]") {
  World w;
  // A policy that pins the TEE and the measurement but forgets debug and migration.
  const Json forgot = {
      {"anyOf",
       {{{"authority", "skr:local"},
         {"allOf",
          {{{"claim", "tee"}, {"equals", "sev-snp"}},
           {{"claim", "snp.measurement"}, {"equals", skr::HexEncode(Measurement(0x10))}}}}}}}};
  REQUIRE(w.skrd->Request("PUT", "/v1/tenants/acme/policies/cvm", forgot.dump(), w.admin).status ==
          201);
  SECTION("DEBUG=1") {
    ExpectDenied(w, w.Release(w.Make(w.Nonce(), [](TestSnpReport& r) { r.policy |= 1u << 19; })),
                 "snp.policy.debug", "explicitly");
  }
  SECTION("MIGRATE_MA=1") {
    ExpectDenied(w, w.Release(w.Make(w.Nonce(), [](TestSnpReport& r) { r.policy |= 1u << 18; })),
                 "snp.policy.migrate_ma", "explicitly");
  }
  SECTION("the same launch without debug releases") {
    auto r = w.Release(w.Make(w.Nonce(), nullptr));
    INFO(r.body);
    CHECK(r.status == 200);
  }
  SECTION("a version that allows debug explicitly releases to the debug launch") {
    Json allows = forgot;
    allows["anyOf"][0]["allOf"].push_back({{"claim", "snp.policy.debug"}, {"equals", true}});
    REQUIRE(w.skrd->Request("PUT", "/v1/tenants/acme/policies/cvm", allows.dump(), w.admin)
                .status == 201);
    auto r = w.Release(w.Make(w.Nonce(), [](TestSnpReport& rep) { rep.policy |= 1u << 19; }));
    INFO(r.body);
    CHECK(r.status == 200);
  }
}

TEST_CASE("SNP release: forged, mis-bound or mismatched reports are refused",
          "[integration][snp]") {
  World w;
  SECTION("bound to another nonce") {
    const std::string n1 = w.Nonce();
    auto a = w.Make(n1, nullptr);
    a.body["nonce"] = w.Nonce();
    auto r = w.Release(a);
    CHECK(r.status == 401);
    CHECK(r.problem_type() == "urn:skr:problem:binding_mismatch");
  }
  SECTION("tampered after signing") {
    auto a = w.Make(w.Nonce(), nullptr);
    auto bytes = skr::Base64Decode(a.body["evidence"]["report"].get<std::string>()).value();
    bytes[0x90] ^= 1;  // MEASUREMENT
    a.body["evidence"]["report"] = skr::Base64Encode(bytes);
    auto r = w.Release(a);
    CHECK(r.status == 401);
    CHECK(r.problem_type() == "urn:skr:problem:snp_signature_invalid");
  }
  SECTION("TCB in the report differs from the VCEK's") {
    auto a = w.Make(w.Nonce(), [](TestSnpReport& r) { r.tcb.snp = 9; });
    auto r = w.Release(a);
    CHECK(r.status == 401);
    CHECK(r.problem_type() == "urn:skr:problem:snp_tcb_mismatch");
  }
  SECTION("another chip") {
    auto a = w.Make(w.Nonce(), [](TestSnpReport& r) { r.chip_id[0] ^= 0xFF; });
    auto r = w.Release(a);
    CHECK(r.status == 401);
    CHECK(r.problem_type() == "urn:skr:problem:snp_chip_id_mismatch");
  }
  SECTION("truncated report") {
    auto a = w.Make(w.Nonce(), nullptr);
    auto bytes = skr::Base64Decode(a.body["evidence"]["report"].get<std::string>()).value();
    bytes.resize(1000);
    a.body["evidence"]["report"] = skr::Base64Encode(bytes);
    auto r = w.Release(a);
    CHECK(r.status == 400);
    CHECK(r.problem_type() == "urn:skr:problem:snp_report_size");
  }
  SECTION("no VCEK anywhere") {
    auto a = w.Make(w.Nonce(), nullptr, /*include_vcek=*/false);
    auto r = w.Release(a);
    CHECK(r.status == 401);
    CHECK(r.problem_type() == "urn:skr:problem:snp_vcek_missing");
  }
  auto granted = w.skrd->Get("/v1/audit/entries?decision=granted", w.skrd->operator_token());
  CHECK(granted.json["entries"].empty());
  auto denied = w.skrd->Get("/v1/audit/entries?decision=denied", w.skrd->operator_token());
  CHECK(!denied.json["entries"].empty());
}

TEST_CASE("SNP release: a VCEK cached by an operator serves reports without one",
          "[integration][snp]") {
  World w;
  // Only operators may fill the cache, and only with certificates that chain to a trusted root.
  CHECK(w.skrd->Post("/v1/attestation/snp/certs", {{"cert", Pki().VcekPem()}}, w.admin).status == 403);
  auto rogue = skr::test::AmdTestPki(Chip(), AmdTestTcb{});
  auto bad = w.skrd->Post("/v1/attestation/snp/certs", {{"cert", rogue.VcekPem()}},
                          w.skrd->operator_token());
  CHECK(bad.status == 401);
  auto ok = w.skrd->Post("/v1/attestation/snp/certs", {{"cert", Pki().VcekPem()}},
                         w.skrd->operator_token());
  INFO(ok.body);
  REQUIRE(ok.status == 201);
  CHECK(ok.json["signer"] == "vcek");
  CHECK(ok.json["product"] == "Milan");
  auto list = w.skrd->Get("/v1/attestation/snp/certs", w.skrd->operator_token());
  CHECK(list.json["certs"].size() == 1);

  auto a = w.Make(w.Nonce(), nullptr, /*include_vcek=*/false);
  auto r = w.Release(a);
  INFO(r.body);
  REQUIRE(r.status == 200);
  // Replay names the cached VCEK as the release's collateral (issue 11).
  auto replay = w.skrd->Get("/v1/audit/replay?seq=" + std::to_string(r.json["audit_seq"].get<std::int64_t>()),
                            w.skrd->operator_token());
  INFO(replay.body);
  REQUIRE(replay.status == 200);
  CHECK(replay.json.at("same") == true);
  CHECK(replay.json.at("collateral").at("recorded").at("snp_signer_source") == "cache");
  CHECK(replay.json.at("collateral").at("recorded").at("snp_signer_sha256") ==
        ok.json.at("sha256"));
  CHECK(replay.json.at("today").at("decision") == "granted");
  CHECK(replay.json.at("today").at("differences").empty());

  // The VCEK's bytes are kept beside the bundle (the cache may lose it later); altered there,
  // the replay is refused rather than run on them.
  w.skrd->Stop();
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(w.skrd->file("data/audit.db").c_str(), &db, SQLITE_OPEN_READWRITE,
                            nullptr) == SQLITE_OK);
    const std::string sql = "DROP TRIGGER replay_collateral_bytes_fixed;"
                            "UPDATE replay_collateral SET bytes = x'00' WHERE sha256 = '" +
                            ok.json.at("sha256").get<std::string>() + "'";
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    CHECK(sqlite3_changes(db) == 1);  // the VCEK's bytes were kept, under its digest
    sqlite3_close_v2(db);
  }
  REQUIRE(w.skrd->Start());
  auto altered = w.skrd->Get("/v1/audit/replay?seq=" + std::to_string(r.json["audit_seq"].get<std::int64_t>()),
                             w.skrd->operator_token());
  CHECK(altered.status == 409);
  CHECK(altered.problem_type() == "urn:skr:problem:replay_evidence_altered");
}

TEST_CASE("SNP: verify and dry run accept real AMD evidence", "[integration][snp][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  World w;
  const std::string report = skr::test::ReadFileOrFail(dir / "snp/milan_trustee_report.bin");
  const std::string vcek = skr::test::ReadFileOrFail(dir / "snp/milan_trustee_vcek.der");
  Json ev = {{"type", "sev-snp"},
             {"report", skr::Base64Encode(skr::AsBytes(report))},
             {"vcek", skr::Base64Encode(skr::AsBytes(vcek))}};
  auto v = w.skrd->Post("/v1/attestation/verify", {{"evidence", ev}}, w.admin);
  INFO(v.body);
  REQUIRE(v.status == 200);
  CHECK(v.json["claims"]["snp.product"] == "Milan");
  CHECK(v.json["claims"]["snp.measurement"] ==
        "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c");
  auto d = w.skrd->Post("/v1/tenants/acme/policies/cvm/evaluate", {{"evidence", ev}}, w.admin);
  REQUIRE(d.status == 200);
  CHECK(d.json["decision"] == "deny");  // its measurement is not in the policy
  CHECK(d.json["reason"].get<std::string>().find("snp.measurement") != std::string::npos);
}

TEST_CASE("Azure vTPM: skrd verifies a real az-snp-vtpm bundle (verify and dry run)",
          "[integration][snp][azure][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  World w;
  Json ev = skr::ParseJson(skr::test::ReadFileOrFail(dir / "azure/snp-genoa/evidence.json")).value();
  ev["type"] = "az-snp-vtpm";
  auto v = w.skrd->Post("/v1/attestation/verify", {{"evidence", ev}}, w.admin);
  INFO(v.body.substr(0, 2000));
  REQUIRE(v.status == 200);
  CHECK(v.json["claims"]["tee"] == "az-snp-vtpm");
  CHECK(v.json["claims"]["snp.product"] == "Genoa");
  CHECK(v.json["claims"]["tpm.firmware_version"] == 0x2020031200120003LL);
  // A tampered quote is refused with its reason.
  Json bad = ev;
  bad["quote"]["signature"][10] = (bad["quote"]["signature"][10].get<int>() ^ 1);
  auto r = w.skrd->Post("/v1/attestation/verify", {{"evidence", bad}}, w.admin);
  CHECK(r.status == 401);
  CHECK(r.problem_type() == "urn:skr:problem:tpm_signature_invalid");
}
