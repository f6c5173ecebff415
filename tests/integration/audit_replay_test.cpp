// SPDX-License-Identifier: Apache-2.0
// Offline replay of release decisions (issue 11): the evidence a release was decided on is kept
// beside its record, bound to the leaf; `skrctl audit replay SEQ` re-runs verification, binding
// and the recorded policy version on it and shows the same decision and trace, or what differs.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/ossl.h"
#include "tests/integration/skrd_fixture.h"
#include "tests/support/process.h"

using skr::Json;
using skr::test::Skrd;

namespace {

const Json kPolicy = Json::parse(R"({"version":"1.0.0","anyOf":[{"authority":"skr:local","allOf":[
  {"claim":"tee","equals":"sample"},{"claim":"debug","equals":false}]}]})");
// The same policy, tightened: it would deny what the first one granted.
const Json kStricter = Json::parse(R"({"version":"1.0.0","anyOf":[{"authority":"skr:local","allOf":[
  {"claim":"tee","equals":"sample"},{"claim":"debug","equals":false},{"claim":"sample.svn","greaterOrEquals":9}]}]})");
const std::string kMaterialB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

skr::test::HttpResult Release(Skrd& skrd, bool debug) {
  auto nonce = skrd.Post("/v1/challenge", Json::object());
  REQUIRE(nonce.status == 200);
  auto attester = skr::test::ReadFileOrFail(skrd.file("dev/sample-attester.key"));
  auto a = skr::test::MakeSampleAttestation(attester, nonce.json["nonce"], {{"svn", 3}, {"debug", debug}});
  return skrd.Post("/v1/tenants/acme/keys/root/release",
                   {{"nonce", nonce.json["nonce"]}, {"tee-pubkey", a.tee_pubkey}, {"evidence", a.evidence}});
}

std::int64_t LastSeq(Skrd& skrd) {
  auto r = skrd.Get("/v1/audit/checkpoint", skrd.operator_token());
  REQUIRE(r.status == 200);
  return r.json.at("tree_size").get<std::int64_t>();
}

skr::test::CommandResult Replay(Skrd& skrd, std::int64_t seq, const std::string& token) {
  return skr::test::RunCommand({skr::test::BinaryDir() + "/client/skrctl", "audit", "replay",
                                std::to_string(seq)},
                               "",
                               {{"SKR_ADDR", skrd.url()}, {"SKR_CACERT", skrd.file("tls/ca.crt")},
                                {"SKR_TOKEN", token}});
}

}  // namespace

TEST_CASE("Audit replay: a release decision replays the same from its kept evidence",
          "[integration][audit][replay]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64);
  const std::string op = skrd.operator_token();

  auto granted = Release(skrd, false);
  REQUIRE(granted.status == 200);
  const std::int64_t granted_seq = granted.json.at("audit_seq").get<std::int64_t>();
  REQUIRE(Release(skrd, true).status == 403);  // debug on: denied by the policy
  const std::int64_t denied_seq = LastSeq(skrd);

  SECTION("granted and denied decisions replay the same, trace included") {
    for (const std::int64_t seq : {granted_seq, denied_seq}) {
      auto r = skrd.Get("/v1/audit/replay?seq=" + std::to_string(seq), op);
      INFO(r.body);
      REQUIRE(r.status == 200);
      CHECK(r.json.at("same") == true);
      CHECK(r.json.at("differences").empty());
      CHECK(r.json.at("replayed").at("decision") == r.json.at("recorded").at("decision"));
      CHECK(r.json.at("replayed").at("trace") == r.json.at("recorded").at("trace"));
      CHECK(r.json.at("policy").at("version") == 1);
    }
    auto cli = Replay(skrd, granted_seq, op);
    INFO(cli.out << cli.err);
    CHECK(cli.exit_code == 0);
    CHECK_THAT(cli.out, Catch::Contains("recorded granted, replayed granted: same decision and trace"));
    // The record names its bundle: replay_sha256 is part of the leaf.
    auto e = skrd.Get("/v1/audit/entries?from_seq=" + std::to_string(granted_seq) + "&limit=1", op);
    REQUIRE(e.status == 200);
    CHECK(e.json["entries"][0].at("replay_sha256").get<std::string>().size() == 64);
  }

  SECTION("a newer policy version does not change the replay of an older decision") {
    REQUIRE(skrd.Request("PUT", "/v1/tenants/acme/policies/disk", kStricter.dump(), acme.admin_token).status == 201);
    CHECK(Release(skrd, false).status == 403);  // the new version denies it now
    auto r = skrd.Get("/v1/audit/replay?seq=" + std::to_string(granted_seq), op);
    REQUIRE(r.status == 200);
    CHECK(r.json.at("same") == true);  // replayed against v1, the version it was decided on
  }

  SECTION("a tenant's auditor replays its own records only; admins none") {
    auto tok = skrd.Post("/v1/tokens", {{"role", "auditor"}, {"tenant", "acme"}}, op);
    REQUIRE(tok.status == 201);
    CHECK(skrd.Get("/v1/audit/replay?seq=" + std::to_string(granted_seq), tok.json.at("token")).status == 200);
    REQUIRE(skrd.Post("/v1/tenants", {{"name", "other"}}, op).status == 201);
    auto other = skrd.Post("/v1/tokens", {{"role", "auditor"}, {"tenant", "other"}}, op);
    REQUIRE(other.status == 201);
    auto r = skrd.Get("/v1/audit/replay?seq=" + std::to_string(granted_seq), other.json.at("token"));
    CHECK(r.status == 404);
    CHECK(r.problem_type() == "urn:skr:problem:audit_record_not_found");
    CHECK(skrd.Get("/v1/audit/replay?seq=" + std::to_string(granted_seq), acme.admin_token).status == 403);
  }

  SECTION("an admin record, a missing seq and a bad query are refused clearly") {
    auto admin = skrd.Get("/v1/audit/replay?seq=1", op);
    CHECK(admin.status == 409);
    CHECK(admin.problem_type() == "urn:skr:problem:not_a_release");
    CHECK(skrd.Get("/v1/audit/replay?seq=999999", op).status == 404);
    CHECK(skrd.Get("/v1/audit/replay?seq=abc", op).status == 400);
    CHECK(skrd.Get("/v1/audit/replay", op).status == 400);
  }

  SECTION("kept evidence altered in the database: refused, never replayed as if genuine") {
    skrd.Stop();
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(skrd.file("data/audit.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) ==
            SQLITE_OK);
    const std::string sql =
        "DROP TRIGGER replay_bundles_no_update;"
        "UPDATE replay_bundles SET bundle = CAST(replace(CAST(bundle AS TEXT), '\"nonce\":\"',"
        " '\"nonce\":\"A') AS BLOB) WHERE seq = " +
        std::to_string(granted_seq);
    REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
    CHECK(sqlite3_changes(db) == 1);
    sqlite3_close_v2(db);
    REQUIRE(skrd.Start());
    auto r = skrd.Get("/v1/audit/replay?seq=" + std::to_string(granted_seq), op);
    INFO(r.body);
    CHECK(r.status == 409);
    CHECK(r.problem_type() == "urn:skr:problem:replay_evidence_altered");
    auto cli = Replay(skrd, granted_seq, op);
    CHECK(cli.exit_code == 1);
    CHECK_THAT(cli.err, Catch::Contains("replay_evidence_altered"));
  }
}

TEST_CASE("Audit replay: audit.replay_retention_days = 0 keeps no evidence",
          "[integration][audit][replay]") {
  skr::test::SkrdOptions o;
  o.extra_toml = "replay_retention_days = 0\n";
  Skrd skrd(o);
  REQUIRE(skrd.Start());
  skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64);
  auto granted = Release(skrd, false);
  REQUIRE(granted.status == 200);
  const std::int64_t seq = granted.json.at("audit_seq").get<std::int64_t>();
  auto r = skrd.Get("/v1/audit/replay?seq=" + std::to_string(seq), skrd.operator_token());
  CHECK(r.status == 404);
  CHECK(r.problem_type() == "urn:skr:problem:replay_evidence_missing");
  auto e = skrd.Get("/v1/audit/entries?from_seq=" + std::to_string(seq) + "&limit=1", skrd.operator_token());
  CHECK_FALSE(e.json["entries"][0].contains("replay_sha256"));
}
