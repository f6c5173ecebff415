// SPDX-License-Identifier: Apache-2.0
// What auditors need to read (issue 11): records carry the client address, the two records of
// one admin change share their action and are linked, policy.put records carry the digest of the
// stored document and auditors may read that document and the key's metadata (never material),
// and entries filter by key, action, actor and time range. Through a real skrd over loopback.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "tests/integration/skrd_fixture.h"
#include "tests/support/process.h"

using skr::Json;
using skr::test::Skrd;

namespace {

const Json kPolicy = Json::parse(R"({"version":"1.0.0","anyOf":[{"authority":"skr:local","allOf":[
  {"claim":"tee","equals":"sample"},{"claim":"debug","equals":false}]}]})");
const std::string kMaterialB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

Json Entries(Skrd& skrd, const std::string& query, const std::string& token) {
  auto r = skrd.Get("/v1/audit/entries?limit=1000" + query, token);
  INFO(query << " " << r.body);
  REQUIRE(r.status == 200);
  return r.json.at("entries");
}

}  // namespace

TEST_CASE("Audit records: client address, linked admin pairs, policy digests, filters",
          "[integration][audit]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  skrd.SetSourceAddress("127.0.0.7");
  auto acme = skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64);

  // A release from another machine.
  skrd.SetSourceAddress("127.0.0.9");
  auto nonce = skrd.Post("/v1/challenge", Json::object());
  REQUIRE(nonce.status == 200);
  auto attester = skr::test::ReadFileOrFail(skrd.file("dev/sample-attester.key"));
  auto a = skr::test::MakeSampleAttestation(attester, nonce.json["nonce"], {{"debug", false}});
  auto rel = skrd.Post("/v1/tenants/acme/keys/root/release",
                       {{"nonce", nonce.json["nonce"]}, {"tee-pubkey", a.tee_pubkey}, {"evidence", a.evidence}});
  REQUIRE(rel.status == 200);
  const std::int64_t release_seq = rel.json.at("audit_seq").get<std::int64_t>();

  const std::string op = skrd.operator_token();
  SECTION("releases and admin changes name the client address") {
    const Json releases = Entries(skrd, "&action=release", op);
    REQUIRE(releases.size() == 1);
    CHECK(releases[0].at("seq") == release_seq);
    CHECK(releases[0].at("client_address") == "127.0.0.9");
    const Json puts = Entries(skrd, "&action=policy.put", op);
    REQUIRE(puts.size() == 2);
    for (const auto& e : puts) CHECK(e.at("client_address") == "127.0.0.7");
  }

  SECTION("the two records of each admin change share the action; the outcome links its request") {
    const Json all = Entries(skrd, "", op);
    int pairs = 0;
    for (const auto& e : all) {
      if (e.at("kind") != "admin" || e.at("decision") == "requested" || e.at("action") == "init") {
        continue;
      }
      INFO(e.dump());
      REQUIRE(e.contains("intent_seq"));
      const std::int64_t intent = e.at("intent_seq").get<std::int64_t>();
      REQUIRE(intent >= 1);
      REQUIRE(intent < e.at("seq").get<std::int64_t>());
      const Json& req = all.at(static_cast<std::size_t>(intent - 1));
      CHECK(req.at("seq") == intent);
      CHECK(req.at("decision") == "requested");
      CHECK(req.at("action") == e.at("action"));
      CHECK(req.at("request_id") == e.at("request_id"));
      ++pairs;
    }
    CHECK(pairs >= 4);  // tenant.create, token.create, policy.put, key.import at least
  }

  SECTION("policy.put carries the stored document's digest; auditors read policies and keys") {
    const Json done = Entries(skrd, "&action=policy.put&decision=ok", op);
    REQUIRE(done.size() == 1);
    const std::string digest = done[0].at("policy_sha256").get<std::string>();
    CHECK(digest.size() == 64);
    auto tok = skrd.Post("/v1/tokens", {{"role", "auditor"}, {"tenant", "acme"}}, op);
    REQUIRE(tok.status == 201);
    const std::string auditor = tok.json.at("token").get<std::string>();
    auto pol = skrd.Get("/v1/tenants/acme/policies/disk?version=" +
                            std::to_string(done[0].at("version").get<int>()),
                        auditor);
    INFO(pol.body);
    REQUIRE(pol.status == 200);
    CHECK(pol.json.at("document_sha256") == digest);
    CHECK(pol.json.at("policy") == kPolicy);
    CHECK(skrd.Get("/v1/tenants/acme/policies", auditor).status == 200);
    auto key = skrd.Get("/v1/tenants/acme/keys/root", auditor);
    REQUIRE(key.status == 200);
    CHECK_FALSE(key.json.contains("material"));
    CHECK(key.body.find(kMaterialB64) == std::string::npos);
    CHECK(skrd.Get("/v1/tenants/acme/keys", auditor).status == 200);
    // Read-only: an auditor changes nothing.
    CHECK(skrd.Request("PUT", "/v1/tenants/acme/policies/disk", kPolicy.dump(), auditor).status == 403);
    CHECK(skrd.Post("/v1/tenants/acme/keys/root/rotate", Json::object(), auditor).status == 403);
    // Another tenant's auditor reads nothing of acme's.
    REQUIRE(skrd.Post("/v1/tenants", {{"name", "other"}}, op).status == 201);
    auto other = skrd.Post("/v1/tokens", {{"role", "auditor"}, {"tenant", "other"}}, op);
    REQUIRE(other.status == 201);
    const std::string other_auditor = other.json.at("token").get<std::string>();
    CHECK(skrd.Get("/v1/tenants/acme/policies/disk", other_auditor).status == 403);
    CHECK(skrd.Get("/v1/tenants/acme/keys/root", other_auditor).status == 403);
    (void)acme;
  }

  SECTION("entries filter by key, action, actor and time range") {
    const Json by_key = Entries(skrd, "&key=root", op);
    REQUIRE_FALSE(by_key.empty());
    for (const auto& e : by_key) CHECK(e.at("key") == "root");
    const Json by_actor = Entries(skrd, "&actor=attester", op);
    REQUIRE(by_actor.size() == 1);
    CHECK(by_actor[0].at("seq") == release_seq);
    const std::int64_t t = by_actor[0].at("time").get<std::int64_t>();
    CHECK(Entries(skrd, "&action=release&since=" + skr::FormatRfc3339(t), op).size() == 1);
    CHECK(Entries(skrd, "&action=release&since=" + std::to_string(t + 1), op).empty());
    CHECK(Entries(skrd, "&action=release&until=" + skr::FormatRfc3339(t), op).empty());
    CHECK(Entries(skrd, "&action=release&until=" + std::to_string(t + 1), op).size() == 1);
    auto bad = skrd.Get("/v1/audit/entries?since=yesterday", op);
    CHECK(bad.status == 400);
    CHECK(bad.problem_type() == "urn:skr:problem:malformed_request");
  }
}

namespace {

skr::test::CommandResult Skrctl(Skrd& skrd, const std::vector<std::string>& args, int timeout = 60) {
  std::vector<std::string> argv = {skr::test::BinaryDir() + "/client/skrctl"};
  argv.insert(argv.end(), args.begin(), args.end());
  return skr::test::RunCommand(argv, "",
                               {{"SKR_ADDR", skrd.url()}, {"SKR_CACERT", skrd.file("tls/ca.crt")},
                                {"SKR_TOKEN", skrd.operator_token()}},
                               timeout);
}

std::vector<Json> JsonLines(const std::string& text) {
  std::vector<Json> out;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t nl = text.find('\n', at);
    const std::string line = text.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if (!line.empty()) out.push_back(skr::ParseJson(line).value());
    if (nl == std::string::npos) break;
    at = nl + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("skrctl audit export resumes where it stopped; tail shows the newest and follows",
          "[integration][audit][client]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64);
  const std::string state = skrd.file("export-state.json");

  auto first = Skrctl(skrd, {"audit", "export", "--state", state});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  const auto lines = JsonLines(first.out);
  REQUIRE(lines.size() >= 5);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    CHECK(lines[i].at("seq") == static_cast<std::int64_t>(i + 1));
    CHECK(lines[i].contains("leaf"));  // what a verifier hashes
  }
  CHECK(skr::ParseJson(skr::test::ReadFileOrFail(state)).value().at("next_from_seq") ==
        static_cast<std::int64_t>(lines.size() + 1));

  // Nothing new: nothing written. Then new records: only those.
  auto again = Skrctl(skrd, {"audit", "export", "--state", state});
  REQUIRE(again.exit_code == 0);
  CHECK(again.out.empty());
  REQUIRE(skrd.Post("/v1/tenants", {{"name", "beta"}}, skrd.operator_token()).status == 201);
  auto more = Skrctl(skrd, {"audit", "export", "--state", state});
  REQUIRE(more.exit_code == 0);
  const auto new_lines = JsonLines(more.out);
  REQUIRE(new_lines.size() == 2);  // tenant.create requested + ok
  CHECK(new_lines[0].at("seq") == static_cast<std::int64_t>(lines.size() + 1));
  CHECK(new_lines[1].at("action") == "tenant.create");

  // Filters pass through.
  auto only = Skrctl(skrd, {"audit", "export", "--action", "tenant.create", "--decision", "ok"});
  REQUIRE(only.exit_code == 0);
  for (const auto& e : JsonLines(only.out)) CHECK(e.at("action") == "tenant.create");

  auto tail = Skrctl(skrd, {"--format", "json", "audit", "tail", "-n", "3"});
  REQUIRE(tail.exit_code == 0);
  const auto newest = JsonLines(tail.out);
  REQUIRE(newest.size() == 3);
  CHECK(newest.back().at("seq") == new_lines[1].at("seq"));

  // -f: a record made while it runs shows up (the process is stopped by its timeout).
  auto follower = std::async(std::launch::async, [&] {
    return Skrctl(skrd, {"--format", "json", "audit", "tail", "-n", "0", "-f", "--interval", "0.2"}, 6);
  });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  REQUIRE(skrd.Post("/v1/tenants", {{"name", "gamma"}}, skrd.operator_token()).status == 201);
  const auto followed = JsonLines(follower.get().out);
  REQUIRE(followed.size() == 2);
  CHECK(followed[0].at("tenant") == "gamma");
  CHECK(followed[1].at("decision") == "ok");
}

TEST_CASE("skrctl audit verify --tenant: a tenant's auditor proves its own entries",
          "[integration][audit][merkle][client]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64);
  skrd.SetUpTenant("beta", "disk", kPolicy, "root", kMaterialB64);
  auto tok = skrd.Post("/v1/tokens", {{"role", "auditor"}, {"tenant", "acme"}}, skrd.operator_token());
  REQUIRE(tok.status == 201);
  const std::string auditor = tok.json.at("token").get<std::string>();
  const std::string state = skrd.file("acme-state.json");
  auto verify = [&](const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {skr::test::BinaryDir() + "/client/skrctl", "--format", "json",
                                     "audit", "verify", "--verifier-key", skrd.audit_verifier_key(),
                                     "--tenant", "acme"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return skr::test::RunCommand(argv, "",
                                 {{"SKR_ADDR", skrd.url()}, {"SKR_CACERT", skrd.file("tls/ca.crt")},
                                  {"SKR_TOKEN", auditor}});
  };
  auto first = verify({"--state", state});
  INFO(first.out << first.err);
  REQUIRE(first.exit_code == 0);
  const Json rep = skr::ParseJson(first.out).value();
  CHECK(rep.at("ok") == true);
  const std::int64_t acme_entries = rep.at("entries_read").get<std::int64_t>();
  CHECK(acme_entries >= 6);  // acme's own records only, each proven
  CHECK(acme_entries < rep.at("tree_size").get<std::int64_t>());

  // Next run: only what is new, after a consistency proof with the saved checkpoint.
  REQUIRE(skrd.Post("/v1/tokens", {{"role", "auditor"}, {"tenant", "acme"}}, skrd.operator_token()).status == 201);
  auto second = verify({"--state", state});
  REQUIRE(second.exit_code == 0);
  const Json rep2 = skr::ParseJson(second.out).value();
  CHECK(rep2.at("previous_size") == rep.at("tree_size"));
  CHECK(rep2.at("entries_read") == 2);  // token.create requested + ok, both acme's

  // One of acme's records rewritten while skrd was down: named by the tenant's auditor too.
  auto mine = skrd.Get("/v1/audit/entries?tenant=acme&action=policy.put&decision=ok", auditor);
  REQUIRE(mine.status == 200);
  const std::int64_t target = mine.json["entries"][0].at("seq").get<std::int64_t>();
  skrd.Stop();
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(skrd.file("data/audit.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  const std::string sql =
      "DROP TRIGGER audit_records_no_update;"
      "UPDATE audit_records SET json = replace(json, '\"request_id\":\"', '\"request_id\":\"x') WHERE seq = " +
      std::to_string(target);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close_v2(db);
  REQUIRE(skrd.Start());
  auto bad = verify({});
  INFO(bad.out << bad.err);
  CHECK(bad.exit_code == 1);
  const Json rep3 = skr::ParseJson(bad.out).value();
  CHECK(rep3.at("ok") == false);
  CHECK(rep3.at("first_bad_seq") == target);
}
