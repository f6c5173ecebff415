// SPDX-License-Identifier: Apache-2.0
// Policy authoring that cannot lock out a fleet by accident (issue 12), against a real skrd on
// loopback with real sample-attester releases: store-time lint with JSON paths, keys pinned to a
// policy version, drafts evaluated before they are stored, what-if replays of recorded evidence,
// rollback, the claim catalogue, and skrctl's explanations (problems, request id, hint).
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "tests/integration/skrd_fixture.h"
#include "tests/support/process.h"

using skr::Json;
using skr::test::Skrd;

namespace {

const std::string kMaterialB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

// Grants sample evidence whose svn is at least `min_svn`.
Json SvnPolicy(int min_svn) {
  return {{"anyOf", Json::array({{{"authority", "skr:local"},
                                  {"allOf", Json::array({{{"claim", "tee"}, {"equals", "sample"}},
                                                         {{"claim", "debug"}, {"equals", false}},
                                                         {{"claim", "sample.svn"}, {"greaterOrEquals", min_svn}}})}}})}};
}

skr::test::HttpResult Release(Skrd& skrd, int svn, const std::string& vm = "vm") {
  auto nonce = skrd.Post("/v1/challenge", Json::object());
  REQUIRE(nonce.status == 200);
  auto attester = skr::test::ReadFileOrFail(skrd.file("dev/sample-attester.key"));
  auto a = skr::test::MakeSampleAttestation(attester, nonce.json["nonce"],
                                            {{"svn", svn}, {"debug", false}, {"vm", vm}});
  return skrd.Post("/v1/tenants/acme/keys/root/release",
                   {{"nonce", nonce.json["nonce"]}, {"tee-pubkey", a.tee_pubkey}, {"evidence", a.evidence}});
}

using skr::test::Skrctl;

skr::test::HttpResult Put(Skrd& skrd, const std::string& target, const Json& body, const std::string& token) {
  return skrd.Request("PUT", target, skr::DumpJson(body), token);
}

}  // namespace

TEST_CASE("Policy lint: a typo'd claim, uppercase hex and a quoted number are refused with their paths",
          "[integration][policy][lint]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "disk", SvnPolicy(4), "root", kMaterialB64);
  const Json bad = Json::parse(R"({"anyOf": [{"allOf": [
      {"claim": "tee", "equals": "sev-snp"},
      {"claim": "snp.measurment", "equals": "aa"},
      {"claim": "snp.host_data", "equals": ")" + std::string(64, 'A') + R"("},
      {"claim": "snp.vmpl", "equals": "0"}]}]})");
  auto r = Put(skrd, "/v1/tenants/acme/policies/disk", bad, acme.admin_token);
  INFO(r.body);
  CHECK(r.status == 400);
  CHECK(r.problem_type() == "urn:skr:problem:policy_lint");
  REQUIRE(r.json.at("problems").size() == 3);
  CHECK(r.json["problems"][0]["path"] == "anyOf[0].allOf[1].claim");
  CHECK(r.json["problems"][0]["message"].get<std::string>().find("did you mean 'snp.measurement'") !=
        std::string::npos);
  CHECK(r.json["problems"][1]["path"] == "anyOf[0].allOf[2].equals");
  CHECK(r.json["problems"][2]["path"] == "anyOf[0].allOf[3].equals");
  // Nothing was stored: the policy is still at version 1 and still grants.
  auto got = skrd.Get("/v1/tenants/acme/policies/disk", acme.admin_token);
  CHECK(got.json.at("version") == 1);
  CHECK(Release(skrd, 4).status == 200);

  SECTION("skrctl prints each problem with its path, the request id and a hint") {
    const std::string file = skrd.file("bad.json");
    skr::test::WriteFile(file, bad.dump(), 0644);
    auto cli = Skrctl(skrd, acme.admin_token, {"policy", "put", "--tenant", "acme", "disk", "--file", file});
    CHECK(cli.exit_code == 1);
    CHECK_THAT(cli.err, Catch::Contains("400 policy_lint"));
    CHECK_THAT(cli.err, Catch::Contains("  at anyOf[0].allOf[1].claim: no verifier produces the claim 'snp.measurment'"));
    CHECK_THAT(cli.err, Catch::Contains("  at anyOf[0].allOf[3].equals: string value can never match 'snp.vmpl'"));
    CHECK_THAT(cli.err, Catch::Contains("request id: "));
    CHECK_THAT(cli.err, Catch::Contains("hint: `skrctl claims`"));
    auto json = Skrctl(skrd, acme.admin_token,
                       {"--format", "json", "policy", "put", "--tenant", "acme", "disk", "--file", file});
    CHECK(json.exit_code == 1);
    auto doc = skr::ParseJson(json.err);
    REQUIRE(doc.has_value());
    CHECK((*doc)["type"] == "urn:skr:problem:policy_lint");
    CHECK((*doc)["problems"].size() == 3);
  }
  SECTION("the claim catalogue is served to any token and shown by skrctl claims") {
    auto claims = skrd.Get("/v1/claims", acme.admin_token);
    REQUIRE(claims.status == 200);
    bool found = false;
    for (const auto& row : claims.json) {
      if (row["name"] == "snp.measurement") found = row["hex_bytes"] == 48;
    }
    CHECK(found);
    CHECK(skrd.Get("/v1/claims").status == 401);
    auto cli = Skrctl(skrd, acme.admin_token, {"claims", "--tee", "tpm"});
    CHECK(cli.exit_code == 0);
    CHECK_THAT(cli.out, Catch::Contains("tpm.pcr.sha256.<pcr>"));
    CHECK_THAT(cli.out, !Catch::Contains("snp.measurement"));
  }
}

TEST_CASE("Policy pinning: a pinned key keeps releasing under version 1 while version 2 denies",
          "[integration][policy][pin]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "disk", SvnPolicy(4), "root", kMaterialB64);
  const std::string admin = acme.admin_token;

  // Pin the key to version 1, then store a stricter version 2.
  auto pin = Skrctl(skrd, admin, {"key", "set-policy", "--tenant", "acme", "root", "--policy", "disk", "--version", "1"});
  INFO(pin.err);
  REQUIRE(pin.exit_code == 0);
  CHECK_THAT(pin.out, Catch::Contains("pinned to version 1"));
  REQUIRE(Put(skrd, "/v1/tenants/acme/policies/disk", SvnPolicy(9), admin).status == 201);
  auto granted = Release(skrd, 4);
  CHECK(granted.status == 200);
  auto key = skrd.Get("/v1/tenants/acme/keys/root", admin);
  CHECK(key.json.at("policy_version") == 1);

  // Following the newest version again: version 2 decides, and denies.
  auto follow = Put(skrd, "/v1/tenants/acme/keys/root/policy", {{"policy", "disk"}}, admin);
  REQUIRE(follow.status == 200);
  CHECK(follow.json.at("policy_version").is_null());
  auto denied = Release(skrd, 4);
  CHECK(denied.status == 403);

  // Pinning to a version that does not exist is refused, and changes nothing.
  auto missing = Put(skrd, "/v1/tenants/acme/keys/root/policy", {{"policy", "disk"}, {"version", 7}}, admin);
  CHECK(missing.status == 404);
  CHECK(missing.problem_type() == "urn:skr:problem:policy_version_not_found");
  CHECK(skrd.Get("/v1/tenants/acme/keys/root", admin).json.at("policy_version").is_null());

  // Every change is audited with the policy version it pinned.
  auto audit = skrd.Get("/v1/audit/entries?tenant=acme&action=key.set_policy&decision=ok", skrd.operator_token());
  REQUIRE(audit.json.at("entries").size() == 2);
  CHECK(audit.json["entries"][0]["policy_version"] == 1);
  CHECK(audit.json["entries"][1]["policy_version"].is_null());
}

TEST_CASE("Policy drafts: evaluate, what-if over recorded releases, and rollback",
          "[integration][policy][whatif]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "disk", SvnPolicy(4), "root", kMaterialB64);
  const std::string admin = acme.admin_token;
  // Three VMs boot: two on svn 4, one on svn 7; one more release is denied (svn 3).
  std::vector<std::int64_t> old_vms;
  for (const char* vm : {"vm-a", "vm-b"}) {
    auto r = Release(skrd, 4, vm);
    REQUIRE(r.status == 200);
    old_vms.push_back(r.json.at("audit_seq").get<std::int64_t>());
  }
  REQUIRE(Release(skrd, 7, "vm-c").status == 200);
  REQUIRE(Release(skrd, 3, "vm-d").status == 403);
  const std::string draft_file = skrd.file("draft.json");
  skr::test::WriteFile(draft_file, SvnPolicy(5).dump(), 0644);

  SECTION("evaluate a draft before storing it: exit 1 on deny, 0 on allow") {
    const std::string claims4 = skrd.file("claims4.json");
    const std::string claims7 = skrd.file("claims7.json");
    skr::test::WriteFile(claims4, R"({"tee": "sample", "debug": false, "sample": {"svn": 4}})", 0644);
    skr::test::WriteFile(claims7, R"({"tee": "sample", "debug": false, "sample": {"svn": 7}})", 0644);
    auto deny = Skrctl(skrd, admin, {"policy", "evaluate", "--tenant", "acme", "disk", "--file", draft_file,
                                     "--claims-file", claims4});
    CHECK(deny.exit_code == 1);
    CHECK_THAT(deny.out, Catch::Contains("decision: deny"));
    auto allow = Skrctl(skrd, admin, {"policy", "evaluate", "--tenant", "acme", "disk", "--file", draft_file,
                                      "--claims-file", claims7});
    CHECK(allow.exit_code == 0);
    // The stored version 1 still grants svn 4.
    CHECK(Skrctl(skrd, admin, {"policy", "evaluate", "--tenant", "acme", "disk", "--version", "1",
                               "--claims-file", claims4}).exit_code == 0);
  }
  SECTION("what-if lists exactly the VMs whose recorded evidence the draft denies") {
    auto r = skrd.Post("/v1/tenants/acme/keys/root/what-if", {{"document", SvnPolicy(5)}}, admin);
    INFO(r.body);
    REQUIRE(r.status == 200);
    CHECK(r.json.at("checked") == 4);
    CHECK(r.json.at("would_grant") == 1);  // vm-c
    std::vector<std::int64_t> denied_seqs;
    std::vector<std::string> recorded;
    for (const auto& d : r.json.at("would_deny")) {
      denied_seqs.push_back(d.at("audit_seq").get<std::int64_t>());
      recorded.push_back(d.at("recorded").get<std::string>());
      CHECK(d.at("failing_claim") == "sample.svn");
    }
    // Newest first: vm-d (denied already), then vm-b and vm-a (granted, now denied).
    REQUIRE(denied_seqs.size() == 3);
    CHECK(denied_seqs[1] == old_vms[1]);
    CHECK(denied_seqs[2] == old_vms[0]);
    CHECK(recorded == std::vector<std::string>{"denied", "granted", "granted"});
    auto cli = Skrctl(skrd, admin, {"policy", "what-if", "--tenant", "acme", "--key", "root", "--file", draft_file,
                                    "--last", "2"});
    CHECK(cli.exit_code == 1);  // some would be denied
    CHECK_THAT(cli.out, Catch::Contains("2 releases replayed"));
    CHECK_THAT(cli.out, Catch::Contains("DENY  seq"));
    // What-if is audited; a tenant's admin cannot run it on another tenant's key.
    auto audit = skrd.Get("/v1/audit/entries?tenant=acme&action=policy.what_if", skrd.operator_token());
    CHECK(audit.json.at("entries").size() == 2);
    skrd.SetUpTenant("other", "p", SvnPolicy(1), "k", kMaterialB64);
    CHECK(skrd.Post("/v1/tenants/other/keys/k/what-if", {{"document", SvnPolicy(5)}}, admin).status == 403);
    // A draft that does not lint is refused like a PUT.
    Json typo = SvnPolicy(5);
    typo["anyOf"][0]["allOf"][1]["equals"] = "false";
    auto refused = skrd.Post("/v1/tenants/acme/keys/root/what-if", {{"document", typo}}, admin);
    CHECK(refused.status == 400);
    CHECK(refused.problem_type() == "urn:skr:problem:policy_lint");
  }
  SECTION("rollback restores releases, audited") {
    REQUIRE(Put(skrd, "/v1/tenants/acme/policies/disk", SvnPolicy(9), admin).status == 201);
    CHECK(Release(skrd, 4).status == 403);
    auto rb = Skrctl(skrd, admin, {"policy", "rollback", "--tenant", "acme", "disk", "--to", "1"});
    INFO(rb.err);
    REQUIRE(rb.exit_code == 0);
    CHECK_THAT(rb.out, Catch::Contains("version 3 now holds version 1's document"));
    CHECK(Release(skrd, 4).status == 200);
    auto v3 = skrd.Get("/v1/tenants/acme/policies/disk?version=3", admin);
    auto v1 = skrd.Get("/v1/tenants/acme/policies/disk?version=1", admin);
    CHECK(v3.json.at("document_sha256") == v1.json.at("document_sha256"));
    auto audit = skrd.Get("/v1/audit/entries?tenant=acme&action=policy.rollback&decision=ok", skrd.operator_token());
    REQUIRE(audit.json.at("entries").size() == 1);
    CHECK(audit.json["entries"][0]["version"] == 3);
    CHECK(audit.json["entries"][0]["policy_version"] == 1);
    CHECK(audit.json["entries"][0]["policy_sha256"] == v1.json.at("document_sha256"));
    CHECK(skrd.Post("/v1/tenants/acme/policies/disk/rollback", {{"to", 99}}, admin).status == 404);
  }
}

TEST_CASE("Policy scaffold: skr-agent evidence -> skrctl policy scaffold -> put grants that VM",
          "[integration][policy][scaffold]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "disk", SvnPolicy(100), "root", kMaterialB64);
  const std::string admin = acme.admin_token;
  const std::string claims = skrd.file("vm-claims.json");
  skr::test::WriteFile(claims, R"({"debug": false, "svn": 6, "image": "web-2"})", 0644);
  auto agent = [&](std::vector<std::string> args) {
    args.insert(args.begin(), skr::test::BinaryDir() + "/client/skr-agent");
    return skr::test::RunCommand(args, "", {{"SKR_TOKEN", ""}});
  };

  // On the VM: its evidence, without a release.
  auto ev = agent({"evidence", "--evidence", "sample", "--sample-key", skrd.file("dev/sample-attester.key"),
                   "--sample-claims", claims, "--nonce", "operator-check-1"});
  INFO(ev.err);
  REQUIRE(ev.exit_code == 0);
  const std::string ev_file = skrd.file("ev.json");
  skr::test::WriteFile(ev_file, ev.out, 0644);
  CHECK(skr::ParseJson(ev.out).value().at("type") == "sample");

  // The admin: scaffold (comment lines explain each choice), store as is, point the key at it.
  auto sc = Skrctl(skrd, admin, {"policy", "scaffold", "--from-evidence", ev_file, "--tee", "sample"});
  INFO(sc.err);
  REQUIRE(sc.exit_code == 0);
  CHECK_THAT(sc.out, Catch::Contains("#   tee equals \"sample\": trust only sample evidence"));
  CHECK_THAT(sc.out, Catch::Contains("#   sample.svn equals 6"));
  CHECK_THAT(sc.out, Catch::Contains("#   left out: report_data"));
  const std::string policy_file = skrd.file("scaffold.json");
  skr::test::WriteFile(policy_file, sc.out, 0644);
  auto put = Skrctl(skrd, admin, {"policy", "put", "--tenant", "acme", "scaffolded", "--file", policy_file});
  INFO(put.err);
  REQUIRE(put.exit_code == 0);
  REQUIRE(Put(skrd, "/v1/tenants/acme/keys/root/policy", {{"policy", "scaffolded"}}, admin).status == 200);

  // The VM it came from boots; another image does not.
  auto fetch = [&](const std::string& claims_file) {
    return agent({"fetch", "--url", skrd.url(), "--tenant", "acme", "--key", "root", "--evidence", "sample",
                  "--sample-key", skrd.file("dev/sample-attester.key"), "--sample-claims", claims_file,
                  "--cacert", skrd.file("tls/ca.crt"), "--out", skrd.file("k.bin"), "--retries", "0"});
  };
  auto ok = fetch(claims);
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  const std::string other = skrd.file("other-claims.json");
  skr::test::WriteFile(other, R"({"debug": false, "svn": 6, "image": "web-3"})", 0644);
  CHECK(fetch(other).exit_code == 1);

  SECTION("--tee naming another evidence type is refused") {
    auto wrong = Skrctl(skrd, admin, {"policy", "scaffold", "--from-evidence", ev_file, "--tee", "sev-snp"});
    CHECK(wrong.exit_code == 2);
    CHECK_THAT(wrong.err, Catch::Contains("the evidence is sample, not sev-snp"));
  }
  SECTION("without SEV-SNP, the agent names every provider it tried") {
    auto none = agent({"evidence", "--evidence", "sev-snp", "--tsm-dir", skrd.file("no-tsm"),
                       "--sev-guest", skrd.file("no-sev-guest")});
    CHECK(none.exit_code == 3);
    CHECK_THAT(none.err, Catch::Contains("no SEV-SNP report from any provider: configfs-tsm"));
    CHECK_THAT(none.err, Catch::Contains(skrd.file("no-sev-guest") + ": cannot open"));
  }
  SECTION("an unknown evidence type for the agent is a usage error") {
    auto bad = agent({"evidence", "--evidence", "nitro"});
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.err, Catch::Contains("unsupported evidence type 'nitro'"));
  }
  SECTION("without TDX, the agent says which provider it asked") {
    auto none = agent({"evidence", "--evidence", "tdx", "--tsm-dir", skrd.file("no-tsm")});
    CHECK(none.exit_code == 3);
    CHECK_THAT(none.err, Catch::Contains("no TDX quote from configfs-tsm (provider tdx_guest)"));
  }
}

TEST_CASE("Policy scaffold: real SEV-SNP evidence gives a policy that lints and grants it",
          "[integration][policy][scaffold][testdata]") {
  SKR_REQUIRE_TESTDATA(dir);
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "disk", SvnPolicy(1), "root", kMaterialB64);
  const std::string report = skr::test::ReadFileOrFail(dir / "snp/milan_trustee_report.bin");
  const std::string vcek = skr::test::ReadFileOrFail(dir / "snp/milan_trustee_vcek.der");
  const Json ev = {{"type", "sev-snp"},
                   {"report", skr::Base64Encode(skr::AsBytes(report))},
                   {"vcek", skr::Base64Encode(skr::AsBytes(vcek))}};
  const std::string ev_file = skrd.file("snp-ev.json");
  skr::test::WriteFile(ev_file, ev.dump(), 0644);
  auto sc = Skrctl(skrd, acme.admin_token, {"policy", "scaffold", "--from-evidence", ev_file});
  INFO(sc.err);
  REQUIRE(sc.exit_code == 0);
  // Measurement pinned (PROVENANCE.md), TCB floors = the report's values, chip left out.
  CHECK_THAT(sc.out, Catch::Contains("a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c"));
  CHECK_THAT(sc.out, Catch::Contains("snp.reported_tcb.microcode greaterOrEquals 115"));
  CHECK_THAT(sc.out, Catch::Contains("left out: snp.chip_id"));
  const std::string policy_file = skrd.file("snp-policy.json");
  skr::test::WriteFile(policy_file, sc.out, 0644);
  REQUIRE(Skrctl(skrd, acme.admin_token, {"policy", "put", "--tenant", "acme", "snp", "--file", policy_file})
              .exit_code == 0);
  auto eval = Skrctl(skrd, acme.admin_token,
                     {"policy", "evaluate", "--tenant", "acme", "snp", "--evidence-file", ev_file});
  INFO(eval.out);
  CHECK(eval.exit_code == 0);
  CHECK_THAT(eval.out, Catch::Contains("decision: allow"));
}

TEST_CASE("skrd check-config: the master key as a start reads it, pre-lint policies, the sample warning",
          "[integration][policy][lint]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  skrd.SetUpTenant("acme", "disk", SvnPolicy(4), "root", kMaterialB64);
  // A version stored before the lint (written straight into the store, as an older skrd did).
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(skrd.file("data/skr.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    const std::string doc = R"({"allOf":[{"claim":"tee","equals":"sample"},{"claim":"sample.svn","greaterOrEquals":4},{"claim":"debug","equals":"false"}]})";
    const std::string sql = "INSERT INTO policies (tenant, name, version, document, created_at) VALUES "
                            "('acme', 'disk', 2, '" + doc + "', 0)";
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close_v2(db);
  }
  auto check = [&] {
    return skr::test::RunCommand({skr::test::BinaryDir() + "/server/skrd", "check-config", "--config",
                                  skrd.config_path()});
  };
  auto cc = check();
  INFO(cc.out << cc.err);
  REQUIRE(cc.exit_code == 0);
  auto report = Json::parse(cc.out);
  CHECK(report["master_key"] == "ok");
  REQUIRE(report["policies_with_lint_problems"].size() == 1);
  CHECK(report["policies_with_lint_problems"][0]["version"] == 2);
  CHECK(report["policies_with_lint_problems"][0]["lint"][0]["path"] == "allOf[2].equals");
  CHECK_THAT(cc.err, Catch::Contains("acme/disk v2 at allOf[2].equals"));
  CHECK_THAT(cc.err, Catch::Contains("the development `sample` attester is enabled"));
  // GET shows the stored version's problems too.
  auto got = skrd.Get("/v1/tenants/acme/policies/disk?version=2", skrd.operator_token());
  CHECK(got.json.at("lint").size() == 1);

  // A master key readable by others is refused as a start would refuse it (sealed).
  std::filesystem::permissions(skrd.file("data/master.key"), std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  auto bad = check();
  CHECK(bad.exit_code != 0);
  CHECK_THAT(bad.err, Catch::Contains("master key"));
  CHECK_THAT(bad.err, Catch::Contains("skrd would start sealed"));
}
