// SPDX-License-Identifier: Apache-2.0
// Release protocol through a real skrd over loopback TLS with a real SQLite file
// (DESIGN.md section 2): the full release and every bad input, each answered with its error,
// nothing released, and an audit record written.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "audit/audit.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "tests/integration/skrd_fixture.h"

using skr::Json;
using skr::test::HttpResult;
using skr::test::MakeSampleAttestation;
using skr::test::Skrd;

namespace {

const Json kPolicy = Json::parse(R"({"version":"1.0.0","anyOf":[{"authority":"skr:local","allOf":[
  {"claim":"tee","equals":"sample"},{"claim":"debug","equals":false},
  {"claim":"sample.svn","greaterOrEquals":2}]}]})");
const Json kGoodClaims = {{"svn", 3}, {"debug", false}};
// 32 bytes of known key material, so the released plaintext can be compared.
const std::string kMaterialB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

struct World {
  Skrd skrd;
  std::string attester_pem;
  std::string admin;
  explicit World(skr::test::SkrdOptions o = {}) : skrd(std::move(o)) {
    REQUIRE(skrd.Start());
    attester_pem = skr::test::ReadFileOrFail(skrd.file("dev/sample-attester.key"));
    admin = skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64).admin_token;
  }
  std::string Nonce() {
    auto r = skrd.Post("/v1/challenge", {{"tenant", "acme"}});
    REQUIRE(r.status == 200);
    return r.json["nonce"].get<std::string>();
  }
  HttpResult Release(const std::string& nonce, const skr::test::Attestation& a,
                     const std::string& target = "/v1/tenants/acme/keys/root/release") {
    return skrd.Post(target, {{"nonce", nonce}, {"tee-pubkey", a.tee_pubkey}, {"evidence", a.evidence}});
  }
  Json LastAudit() {
    auto r = skrd.Get("/v1/audit/entries?limit=1000", skrd.operator_token());
    REQUIRE(r.status == 200);
    REQUIRE(!r.json["entries"].empty());
    return r.json["entries"].back();
  }
  std::int64_t GrantedCount() {
    auto r = skrd.Get("/v1/audit/entries?decision=granted&limit=1000", skrd.operator_token());
    REQUIRE(r.status == 200);
    return static_cast<std::int64_t>(r.json["entries"].size());
  }
};

void ExpectProblem(const HttpResult& r, unsigned status, const std::string& reason) {
  INFO("body: " << r.body);
  CHECK(r.status == status);
  CHECK(r.problem_type() == "urn:skr:problem:" + reason);
  CHECK(!r.json.contains("jwe"));
}

}  // namespace

TEST_CASE("Release: an attested VM gets the key wrapped to its ephemeral key",
          "[integration][release]") {
  World w;
  const std::string nonce = w.Nonce();
  auto a = MakeSampleAttestation(w.attester_pem, nonce, kGoodClaims);
  auto r = w.Release(nonce, a);
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.json["tenant"] == "acme");
  CHECK(r.json["key"] == "root");
  CHECK(r.json["version"] == 1);
  auto pt = skr::JweDecrypt(r.json["jwe"].get<std::string>(), a.ephemeral.get());
  REQUIRE(pt.has_value());
  auto expected = skr::Base64Decode(kMaterialB64).value();
  CHECK(std::vector<std::uint8_t>(pt->Reveal().begin(), pt->Reveal().end()) == expected);
  // The JWE header names the RFC 7638 thumbprint of tee-pubkey.
  const std::string jwe = r.json["jwe"].get<std::string>();
  auto header = skr::ParseJson(std::string(
      [&] { auto b = skr::Base64UrlDecode(jwe.substr(0, jwe.find('.'))).value();
            return std::string(b.begin(), b.end()); }()));
  REQUIRE(header.has_value());
  CHECK((*header)["kid"] == skr::JwkThumbprint(a.tee_pubkey).value());
  CHECK((*header)["alg"] == "ECDH-ES+A256KW");
  CHECK((*header)["enc"] == "A256GCM");
  // Audited, granted, with the audit sequence returned.
  Json last = w.LastAudit();
  CHECK(last["decision"] == "granted");
  CHECK(last["seq"] == r.json["audit_seq"]);
  CHECK(last["tee_pubkey_thumbprint"] == skr::JwkThumbprint(a.tee_pubkey).value());
  CHECK(last["policy_name"] == "disk");
  CHECK(last["policy_version"] == 1);
  // The key material never appears in the audit log or the server log.
  auto entries = w.skrd.Get("/v1/audit/entries?limit=1000", w.skrd.operator_token());
  CHECK(entries.body.find(kMaterialB64) == std::string::npos);
  CHECK(w.skrd.Log().find(kMaterialB64) == std::string::npos);
}

TEST_CASE("Release: an RSA-3072 tee-pubkey gets an RSA-OAEP-256 JWE", "[integration][release]") {
  World w;
  const std::string nonce = w.Nonce();
  auto rsa = skr::GenerateRsaKey(3072).value();
  Json jwk = skr::PublicJwkFromKey(rsa.get(), "RSA-OAEP-256").value();
  auto a = MakeSampleAttestation(w.attester_pem, nonce, kGoodClaims, "P-384", &jwk);
  a.tee_pubkey = jwk;
  auto r = w.Release(nonce, a);
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto pt = skr::JweDecrypt(r.json["jwe"].get<std::string>(), rsa.get());
  REQUIRE(pt.has_value());
  CHECK(pt->size() == 32);
}

// Expiry (nonce_expired) is tested on the broker's FakeClock in tests/server/broker_test.cpp.
TEST_CASE("Release: nonces are single use and known", "[integration][release][nonce]") {
  World w;

  SECTION("unknown nonce") {
    const std::string fake = skr::Base64Encode(skr::RandomBytes(32));
    auto a = MakeSampleAttestation(w.attester_pem, fake, kGoodClaims);
    ExpectProblem(w.Release(fake, a), 401, "nonce_unknown");
    CHECK(w.LastAudit()["decision"] == "denied");
    CHECK(w.LastAudit()["reason"].get<std::string>().find("nonce_unknown") == 0);
  }
  SECTION("reused nonce") {
    const std::string nonce = w.Nonce();
    auto a = MakeSampleAttestation(w.attester_pem, nonce, kGoodClaims);
    REQUIRE(w.Release(nonce, a).status == 200);
    ExpectProblem(w.Release(nonce, a), 401, "nonce_reused");
    CHECK(w.LastAudit()["decision"] == "denied");
  }
  CHECK(w.GrantedCount() <= 1);
}

TEST_CASE("Release: two concurrent releases with one nonce, exactly one succeeds",
          "[integration][release][nonce]") {
  World w;
  for (int round = 0; round < 5; ++round) {
    const std::string nonce = w.Nonce();
    auto a = MakeSampleAttestation(w.attester_pem, nonce, kGoodClaims);
    auto f1 = std::async(std::launch::async, [&] { return w.Release(nonce, a); });
    auto f2 = std::async(std::launch::async, [&] { return w.Release(nonce, a); });
    auto r1 = f1.get();
    auto r2 = f2.get();
    const int ok = (r1.status == 200 ? 1 : 0) + (r2.status == 200 ? 1 : 0);
    CHECK(ok == 1);
    const auto& loser = r1.status == 200 ? r2 : r1;
    CHECK(loser.status == 401);
    CHECK(loser.problem_type() == "urn:skr:problem:nonce_reused");
  }
  CHECK(w.GrantedCount() == 5);
}

TEST_CASE("Release: evidence bound to another key or nonce is refused",
          "[integration][release][binding]") {
  World w;
  SECTION("another tee-pubkey") {
    const std::string nonce = w.Nonce();
    auto other = MakeSampleAttestation(w.attester_pem, nonce, kGoodClaims);
    auto a = MakeSampleAttestation(w.attester_pem, nonce, kGoodClaims, "P-384", &other.tee_pubkey);
    ExpectProblem(w.Release(nonce, a), 401, "binding_mismatch");
  }
  SECTION("another nonce") {
    const std::string n1 = w.Nonce();
    const std::string n2 = w.Nonce();
    auto a = MakeSampleAttestation(w.attester_pem, n2, kGoodClaims, "P-384", nullptr, &n1);
    ExpectProblem(w.Release(n2, a), 401, "binding_mismatch");
  }
  SECTION("evidence signed by another attester") {
    const std::string nonce = w.Nonce();
    auto rogue = skr::GenerateEcKey("P-384").value();
    auto a = MakeSampleAttestation(skr::PrivateKeyToPem(rogue.get()).value(), nonce, kGoodClaims);
    ExpectProblem(w.Release(nonce, a), 401, "evidence_signature_invalid");
  }
  CHECK(w.LastAudit()["decision"] == "denied");
  CHECK(w.GrantedCount() == 0);
}

TEST_CASE("Release: weak or malformed tee-pubkey is refused", "[integration][release][jwk]") {
  World w;
  const std::string nonce = w.Nonce();
  auto a = MakeSampleAttestation(w.attester_pem, nonce, kGoodClaims);
  SECTION("RSA-2048") {
    auto rsa = skr::GenerateRsaKey(2048).value();
    a.tee_pubkey = skr::PublicJwkFromKey(rsa.get(), "RSA-OAEP-256").value();
    auto r = w.Release(nonce, a);
    ExpectProblem(r, 400, "invalid_tee_pubkey");
    CHECK(r.detail().find("3072") != std::string::npos);
  }
  SECTION("private member present") {
    a.tee_pubkey = skr::PrivateJwkFromKey(a.ephemeral.get(), "ECDH-ES+A256KW").value();
    ExpectProblem(w.Release(nonce, a), 400, "invalid_tee_pubkey");
  }
  SECTION("RSA1_5") {
    auto rsa = skr::GenerateRsaKey(3072).value();
    a.tee_pubkey = skr::PublicJwkFromKey(rsa.get(), "RSA-OAEP-256").value();
    a.tee_pubkey["alg"] = "RSA1_5";
    ExpectProblem(w.Release(nonce, a), 400, "invalid_tee_pubkey");
  }
  SECTION("not an object") {
    a.tee_pubkey = "abc";
    ExpectProblem(w.Release(nonce, a), 400, "malformed_request");
  }
  CHECK(w.LastAudit()["decision"] == "denied");
  CHECK(w.GrantedCount() == 0);
}

TEST_CASE("Release: malformed JSON and oversized bodies", "[integration][release]") {
  skr::test::SkrdOptions opts;
  opts.body_limit = 16 * 1024;
  World w(opts);
  SECTION("malformed JSON") {
    auto r = w.skrd.Request("POST", "/v1/tenants/acme/keys/root/release", "{\"nonce\": ");
    ExpectProblem(r, 400, "malformed_json");
  }
  SECTION("not an object") {
    auto r = w.skrd.Request("POST", "/v1/tenants/acme/keys/root/release", "[1,2]");
    ExpectProblem(r, 400, "malformed_json");
  }
  SECTION("deeply nested") {
    std::string deep(200, '[');
    deep += std::string(200, ']');
    auto r = w.skrd.Request("POST", "/v1/tenants/acme/keys/root/release", deep);
    ExpectProblem(r, 400, "malformed_json");
  }
  SECTION("oversized body") {
    std::string big = "{\"nonce\":\"" + std::string(64 * 1024, 'A') + "\"}";
    auto r = w.skrd.Request("POST", "/v1/tenants/acme/keys/root/release", big);
    ExpectProblem(r, 413, "payload_too_large");
  }
  bool audited_alone = true;
  SECTION("bad names never reach storage") {
    auto r = w.skrd.Request("POST", "/v1/tenants/ACME..%2F/keys/root/release", "{}");
    ExpectProblem(r, 400, "invalid_name");
    audited_alone = false;  // no such key: counted into an aggregated record (issue 10)
  }
  if (audited_alone) CHECK(w.LastAudit()["decision"] == "denied");
  CHECK(w.GrantedCount() == 0);
}

TEST_CASE("Release: the policy denies naming the failing claim, values only in the audit",
          "[integration][release][policy]") {
  World w;
  SECTION("debug on") {
    const std::string nonce = w.Nonce();
    auto a = MakeSampleAttestation(w.attester_pem, nonce, {{"svn", 3}, {"debug", true}});
    auto r = w.Release(nonce, a);
    ExpectProblem(r, 403, "policy_denied");
    CHECK(r.detail().find("'debug'") != std::string::npos);
    CHECK(r.detail().find("equals false") == std::string::npos);
    CHECK(w.LastAudit()["reason"].get<std::string>().find("debug equals false") !=
          std::string::npos);
  }
  SECTION("svn too low") {
    const std::string nonce = w.Nonce();
    auto a = MakeSampleAttestation(w.attester_pem, nonce, {{"svn", 1}, {"debug", false}});
    auto r = w.Release(nonce, a);
    ExpectProblem(r, 403, "policy_denied");
    CHECK(r.detail().find("'sample.svn'") != std::string::npos);
    CHECK(r.detail().find("greaterOrEquals 2") == std::string::npos);
    CHECK(w.LastAudit()["reason"].get<std::string>().find("sample.svn greaterOrEquals 2") !=
          std::string::npos);
  }
  Json last = w.LastAudit();
  CHECK(last["decision"] == "denied");
  CHECK(last["trace"].is_array());
  CHECK(!last["trace_sha256"].get<std::string>().empty());
  CHECK(w.GrantedCount() == 0);
}

TEST_CASE("Release: disabled and destroyed key versions are not released",
          "[integration][release][lifecycle]") {
  World w;
  const std::string base = "/v1/tenants/acme/keys/root";
  REQUIRE(w.skrd.Post(base + "/rotate", Json::object(), w.admin).status == 200);  // v2
  REQUIRE(w.skrd.Post(base + "/versions/2/disable", Json::object(), w.admin).status == 200);
  {
    const std::string nonce = w.Nonce();
    auto a = MakeSampleAttestation(w.attester_pem, nonce, kGoodClaims);
    auto r = w.Release(nonce, a, base + "/release?version=2");
    ExpectProblem(r, 409, "key_version_disabled");
  }
  {
    // Without ?version the newest enabled version (1) is released.
    const std::string nonce = w.Nonce();
    auto a = MakeSampleAttestation(w.attester_pem, nonce, kGoodClaims);
    auto r = w.Release(nonce, a, base + "/release");
    REQUIRE(r.status == 200);
    CHECK(r.json["version"] == 1);
  }
  REQUIRE(w.skrd.Request("DELETE", base + "/versions/1", "", w.admin).status == 200);
  {
    const std::string nonce = w.Nonce();
    auto a = MakeSampleAttestation(w.attester_pem, nonce, kGoodClaims);
    auto r = w.Release(nonce, a, base + "/release?version=1");
    ExpectProblem(r, 410, "key_version_destroyed");
  }
  // A destroyed version cannot be re-enabled.
  CHECK(w.skrd.Post(base + "/versions/1/enable", Json::object(), w.admin).status == 410);
  CHECK(w.GrantedCount() == 1);
}

TEST_CASE("Release: a key row copied to another tenant does not decrypt",
          "[integration][release][keystore]") {
  World w;
  auto other = w.skrd.SetUpTenant("evil", "disk", kPolicy, "root",
                                  skr::Base64Encode(skr::RandomBytes(32)));
  (void)other;
  // Copy acme's ciphertext over evil's row with raw SQLite on the live file.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(w.skrd.file("data/skr.db").c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  const char* sql =
      "UPDATE key_versions SET ciphertext = (SELECT ciphertext FROM key_versions WHERE "
      "tenant='acme' AND key='root' AND version=1) WHERE tenant='evil' AND key='root' AND "
      "version=1";
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  INFO((err ? err : ""));
  REQUIRE(rc == SQLITE_OK);
  REQUIRE(sqlite3_changes(db) == 1);
  sqlite3_free(err);
  sqlite3_close(db);

  auto nonce_r = w.skrd.Post("/v1/challenge", {{"tenant", "evil"}});
  const std::string nonce = nonce_r.json["nonce"].get<std::string>();
  auto a = MakeSampleAttestation(w.attester_pem, nonce, kGoodClaims);
  auto r = w.Release(nonce, a, "/v1/tenants/evil/keys/root/release");
  ExpectProblem(r, 500, "key_integrity");
  CHECK(w.LastAudit()["decision"] == "error");
  CHECK(w.GrantedCount() == 0);
}

TEST_CASE("Release: unknown tenant or key is 404, audited as one aggregated record",
          "[integration][release][attack]") {
  skr::test::SkrdOptions opts;
  opts.extra_toml = "unknown_release_interval_seconds = 1\n";  // appended to [audit]
  World w(opts);
  const std::string nonce = w.Nonce();
  auto a = MakeSampleAttestation(w.attester_pem, nonce, kGoodClaims);
  auto entries = [&] {
    auto r = w.skrd.Get("/v1/audit/entries?limit=1000", w.skrd.operator_token());
    REQUIRE(r.status == 200);
    return r.json["entries"];
  };
  const auto before = entries().size();
  for (int i = 0; i < 20; ++i) {
    ExpectProblem(w.Release(nonce, a, "/v1/tenants/acme/keys/nope" + std::to_string(i) + "/release"),
                  404, "key_not_found");
    // Same answer for an unknown tenant: tenants cannot be enumerated without a token.
    ExpectProblem(w.Release(nonce, a, "/v1/tenants/nobody" + std::to_string(i) + "/keys/root/release"),
                  404, "key_not_found");
  }
  // 40 bogus releases: no record each, but aggregated records for this source (one per
  // interval: the 40 may straddle an interval boundary) that count all of them.
  auto aggregated = [&](const Json& all, bool check) {
    long n = 0;
    for (std::size_t i = before; i < all.size(); ++i) {
      const Json& rec = all[i];
      const std::string reason = rec["reason"].get<std::string>();
      if (check) {
        CHECK(rec["action"] == "release.unknown_key");
        CHECK(rec["decision"] == "denied");
        CHECK(reason.find("127.0.0.1") != std::string::npos);
      }
      if (reason.rfind("aggregated: ", 0) == 0) n += std::stol(reason.substr(12));
    }
    return n;
  };
  Json after = Json::array();
  for (int i = 0; i < 50; ++i) {  // bounded: 5 s
    after = entries();
    if (aggregated(after, false) == 40) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(aggregated(after, true) == 40);
  CHECK(after.size() - before <= 3);
  // The nonce was never spent on an unknown key, and a real key's denial is its own record.
  ExpectProblem(w.Release("x" + nonce.substr(1), a), 401, "nonce_unknown");
  CHECK(w.LastAudit()["decision"] == "denied");
  CHECK(w.LastAudit()["key"] == "root");
  CHECK(w.Release(nonce, a).status == 200);
  const auto metrics = w.skrd.Get("/metrics");
  CHECK(metrics.body.find("skr_release_unknown_key_total 40") != std::string::npos);
}

TEST_CASE("Release: audit store unwritable means no release (503)", "[integration][release][audit]") {
  skr::test::SkrdOptions opts;
  opts.audit_busy_timeout_ms = 300;
  World w(opts);
  const std::string nonce = w.Nonce();
  auto a = MakeSampleAttestation(w.attester_pem, nonce, kGoodClaims);
  const auto before = w.GrantedCount();

  // Another process-level writer holds the audit database's write lock.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(w.skrd.file("data/audit.db").c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  auto r = w.Release(nonce, a);
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);

  ExpectProblem(r, 503, "audit_unavailable");
  CHECK(r.body.find("jwe") == std::string::npos);
  CHECK(w.GrantedCount() == before);
  // The chain is intact and the server keeps working once the lock is gone.
  const std::string nonce2 = w.Nonce();
  auto a2 = MakeSampleAttestation(w.attester_pem, nonce2, kGoodClaims);
  CHECK(w.Release(nonce2, a2).status == 200);
}

TEST_CASE("Release: the audit log is a verifiable hash chain", "[integration][audit]") {
  World w;
  for (int i = 0; i < 3; ++i) {
    const std::string nonce = w.Nonce();
    auto a = MakeSampleAttestation(w.attester_pem, nonce, {{"svn", i + 1}, {"debug", false}});
    (void)w.Release(nonce, a);
  }
  auto r = w.skrd.Get("/v1/audit/entries?limit=1000", w.skrd.operator_token());
  REQUIRE(r.status == 200);
  std::vector<skr::audit::Record> recs;
  for (Json e : r.json["entries"]) {
    const auto leaf = skr::Base64Decode(e.at("leaf").get<std::string>()).value();
    e.erase("leaf");
    // Each entry is the record plus its Merkle leaf bytes (DESIGN.md section 6): the same record.
    CHECK(skr::ParseJson(std::string(leaf.begin(), leaf.end())).value() == e);
    recs.push_back(skr::audit::RecordFromJson(e).value());
  }
  REQUIRE(recs.size() >= 8);  // init, tenant, token, policy, key, 3 releases
  CHECK(skr::audit::VerifyChain(recs, std::string(64, '0')).has_value());
  // A tampered copy fails verification.
  recs[3].reason = "tampered";
  CHECK(!skr::audit::VerifyChain(recs, std::string(64, '0')).has_value());
}
