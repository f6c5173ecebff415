// SPDX-License-Identifier: Apache-2.0
// `skrd audit-seal` (issue 11): an operator acknowledges the damage skrd found at start, releases
// resume, and the damage stays provable (skrctl audit verify still names the record, now marked
// as sealed). A seal row written without the log's key acknowledges nothing; a log with records
// missing cannot be sealed.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/integration/skrd_fixture.h"
#include "tests/support/process.h"

using skr::Json;
using skr::test::Skrd;

namespace {

const Json kPolicy = Json::parse(R"({"version":"1.0.0","anyOf":[{"authority":"skr:local","allOf":[
  {"claim":"tee","equals":"sample"},{"claim":"debug","equals":false}]}]})");
const std::string kMaterialB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

int Release(Skrd& skrd) {
  auto nonce = skrd.Post("/v1/challenge", Json::object());
  REQUIRE(nonce.status == 200);
  auto attester = skr::test::ReadFileOrFail(skrd.file("dev/sample-attester.key"));
  auto a = skr::test::MakeSampleAttestation(attester, nonce.json["nonce"], {{"debug", false}});
  return skrd.Post("/v1/tenants/acme/keys/root/release",
                   {{"nonce", nonce.json["nonce"]}, {"tee-pubkey", a.tee_pubkey}, {"evidence", a.evidence}})
      .status;
}

void Sql(Skrd& skrd, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(skrd.file("data/audit.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  INFO(sql);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close_v2(db);
}

skr::test::CommandResult Seal(Skrd& skrd) {
  return skr::test::RunCommand({skr::test::BinaryDir() + "/server/skrd", "audit-seal", "--config",
                                skrd.config_path(), "--reason", "incident 42: row 2 rewritten"});
}

}  // namespace

TEST_CASE("skrd audit-seal: damage acknowledged, releases resume, the damage stays provable",
          "[integration][audit][seal]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64);
  REQUIRE(Release(skrd) == 200);

  SECTION("a sound log: nothing to seal") {
    skrd.Stop();
    auto r = Seal(skrd);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(skr::ParseJson(r.out).value().at("sealed") == false);
  }

  SECTION("a record rewritten: sealed, then releases work and verify still names it") {
    skrd.Stop();
    Sql(skrd, "DROP TRIGGER audit_records_no_update;"
              "UPDATE audit_records SET json = replace(json, '\"request_id\":\"', '\"request_id\":\"x') WHERE seq = 2");
    REQUIRE(skrd.Start());
    CHECK(Release(skrd) == 503);  // refused until an operator deals with it
    auto running = Seal(skrd);    // skrd holds the log: refused
    CHECK(running.exit_code != 0);
    CHECK_THAT(running.out + running.err, Catch::Contains("one skrd serves an SQLite audit log"));
    skrd.Stop();

    auto r = Seal(skrd);
    INFO(r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const Json sealed = skr::ParseJson(r.out).value();
    CHECK(sealed.at("sealed") == true);
    CHECK(sealed.at("acknowledged") == Json::array({2}));
    const std::int64_t seal_seq = sealed.at("seal_seq").get<std::int64_t>();

    REQUIRE(skrd.Start());
    CHECK(Release(skrd) == 200);  // releases resume
    auto rec = skrd.Get("/v1/audit/entries?action=audit.seal", skrd.operator_token());
    REQUIRE(rec.status == 200);
    REQUIRE(rec.json["entries"].size() == 1);
    CHECK(rec.json["entries"][0].at("seq") == seal_seq);
    CHECK_THAT(rec.json["entries"][0].at("reason").get<std::string>(), Catch::Contains("incident 42"));
    auto cp = skrd.Get("/v1/audit/checkpoint", skrd.operator_token());
    REQUIRE(cp.status == 200);
    CHECK(cp.json.at("seals")[0].at("acknowledged") == Json::array({2}));
    CHECK_FALSE(cp.json.contains("integrity_error"));

    // The damage is still provable by anyone with the verifier key.
    auto v = skr::test::RunCommand(
        {skr::test::BinaryDir() + "/client/skrctl", "--format", "json", "audit", "verify",
         "--verifier-key", skrd.audit_verifier_key()},
        "", {{"SKR_ADDR", skrd.url()}, {"SKR_CACERT", skrd.file("tls/ca.crt")}, {"SKR_TOKEN", skrd.operator_token()}});
    INFO(v.out << v.err);
    CHECK(v.exit_code == 1);
    const Json rep = skr::ParseJson(v.out).value();
    CHECK(rep.at("first_bad_seq") == 2);
    CHECK_THAT(rep.at("detail").get<std::string>(), Catch::Contains("sealed by record " + std::to_string(seal_seq)));

    // A restart keeps the seal valid (signed) and the log in service.
    skrd.Stop();
    REQUIRE(skrd.Start());
    CHECK(Release(skrd) == 200);
  }

  SECTION("a seal row written without the log's key acknowledges nothing") {
    skrd.Stop();
    // The attacker rewrites record 2, appends nothing, and forges a seal row reusing a real
    // checkpoint note (signed, but not over an audit.seal record).
    Sql(skrd, "DROP TRIGGER audit_records_no_update;"
              "UPDATE audit_records SET json = replace(json, '\"request_id\":\"', '\"request_id\":\"x') WHERE seq = 2;"
              "INSERT INTO seals (seal_seq, acknowledged, note, created_at)"
              " SELECT tree_size, '[2]', note, 0 FROM checkpoints ORDER BY tree_size DESC LIMIT 1");
    REQUIRE(skrd.Start());
    CHECK(Release(skrd) == 503);
    CHECK_THAT(skrd.Log(), Catch::Contains("does not match its audit.seal record"));
  }

  SECTION("records missing: cannot be sealed") {
    skrd.Stop();
    Sql(skrd, "DROP TRIGGER audit_records_no_delete; DELETE FROM audit_records WHERE seq = 3");
    auto r = Seal(skrd);
    INFO(r.out << r.err);
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.out + r.err, Catch::Contains("cannot be sealed"));
    REQUIRE(skrd.Start());
    CHECK(Release(skrd) == 503);
  }
}
