// SPDX-License-Identifier: Apache-2.0
// The broker's services (release, admin, audit queries) called directly, over a real keystore
// and audit file, the sample verifier and a FakeClock (issue 13): what depends on time (nonce
// and token expiry, a minted token's lifetime, the key-metadata cache) is tested by moving the
// clock, never by sleeping; Authorize's table is tested role by role.
#include <catch2/catch.hpp>

#include "attestation/sample/sample_verifier.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "server/broker/authorize.h"
#include "server/broker/broker.h"
#include "tests/support/test_support.h"

using skr::Json;
using skr::keystore::Role;
using skr::server::Actor;
using skr::server::Authorize;
using skr::server::Permission;
using skr::test::ReasonOf;

namespace {

const Json kPolicy = Json::parse(R"({"version":"1.0.0","anyOf":[{"authority":"skr:local","allOf":[
  {"claim":"tee","equals":"sample"},{"claim":"debug","equals":false},
  {"claim":"sample.svn","greaterOrEquals":2}]}]})");

struct Env {
  skr::test::TempDir dir;
  skr::FakeClock clock{1'800'000'000};
  std::unique_ptr<skr::keystore::KeyStore> ks;
  std::unique_ptr<skr::audit::AuditLog> audit;
  skr::attestation::Registry registry;
  skr::EvpPkeyPtr attester = skr::GenerateEcKey("P-384").value();
  std::unique_ptr<skr::server::Broker> broker;
  Actor op;

  Env() {
    ks = skr::keystore::KeyStore::Open(dir.file("skr.db"), clock).value();
    audit = skr::audit::AuditLog::Open(dir.file("audit.db"), clock).value();
    auto mk = skr::RandomSecret(32);
    REQUIRE(ks->Initialize(mk).has_value());
    REQUIRE(ks->Unseal(mk).has_value());
    registry.Register(skr::attestation::sample::SampleVerifier::Create(
                          skr::PublicKeyToPem(attester.get()).value())
                          .value());
    skr::server::BrokerOptions bopt;
    bopt.nonce_ttl_seconds = 120;
    broker = std::make_unique<skr::server::Broker>(*ks, *audit, registry, clock, bopt);
    op = ActorOf(ks->CreateToken(Role::kOperator, std::nullopt, 0).value().secret);
    auto& admin = broker->admin();
    REQUIRE(admin.CreateTenant(op, R"({"name":"acme"})", "r1").has_value());
    REQUIRE(admin.CreateTenant(op, R"({"name":"beta"})", "r2").has_value());
    REQUIRE(admin.PutPolicy(op, "acme", "p", skr::DumpJson(kPolicy), "r3").has_value());
    auto key = admin.CreateKey(op, "acme", R"({"name":"disk","policy":"p"})", "r4");
    INFO((key ? "" : key.error().message()));
    REQUIRE(key.has_value());
  }
  Actor ActorOf(const std::string& secret) {
    auto a = broker->Authenticate("Bearer " + secret);
    REQUIRE(a.has_value());
    return *a;
  }
  Actor Token(Role role, std::optional<std::string> tenant) {
    return ActorOf(ks->CreateToken(role, std::move(tenant), 0).value().secret);
  }
  std::string Nonce() {
    auto c = broker->release().Challenge(R"({"tenant":"acme"})");
    REQUIRE(c.has_value());
    return (*c)["nonce"].get<std::string>();
  }
  // A release body with sample evidence bound to `nonce` and a fresh P-384 tee key.
  std::string Body(const std::string& nonce, int svn = 3) {
    auto eph = skr::GenerateEcKey("P-384").value();
    Json jwk = skr::PublicJwkFromKey(eph.get(), "ECDH-ES+A256KW").value();
    auto digest = skr::BindingDigest(nonce, jwk).value();
    std::vector<std::uint8_t> rd(digest.begin(), digest.end());
    rd.resize(64, 0);
    Json payload = {{"svn", svn}, {"debug", false}, {"report_data", skr::HexEncode(rd)}};
    Json ev = {{"type", "sample"},
               {"jws", skr::JwsSign(attester.get(), "ES384", skr::DumpJson(payload)).value()}};
    return skr::DumpJson(Json{{"nonce", nonce}, {"tee-pubkey", jwk}, {"evidence", ev}});
  }
  skr::Result<Json> Release(const std::string& body) {
    return broker->release().Release("acme", "disk", std::nullopt, body, "rid", "10.0.0.1");
  }
};

}  // namespace

TEST_CASE("Broker: a nonce is good until its TTL on the broker's clock, then nonce_expired",
          "[server][broker]") {
  Env e;
  SECTION("just before the TTL") {
    const std::string nonce = e.Nonce();
    e.clock.Advance(119);
    auto r = e.Release(e.Body(nonce));
    INFO((r ? "" : r.error().message()));
    CHECK(r.has_value());
  }
  SECTION("past the TTL: 401 nonce_expired, audited as a denial, nothing released") {
    const std::string nonce = e.Nonce();
    e.clock.Advance(121);
    auto r = e.Release(e.Body(nonce));
    CHECK(ReasonOf(r) == "nonce_expired");
    CHECK(r.error().code() == skr::ErrorCode::kBadNonce);
    skr::audit::Query q;
    q.tenant = "acme";
    auto recs = e.audit->Entries(q).value();
    REQUIRE_FALSE(recs.empty());
    CHECK(recs.back().decision == "denied");
    CHECK(recs.back().reason.rfind("nonce_expired", 0) == 0);
  }
}

TEST_CASE("Broker: tokens expire on the broker's clock; a minted token never outlives its minter",
          "[server][broker]") {
  Env e;
  auto& admin = e.broker->admin();
  auto t = admin.CreateToken(e.op, R"({"role":"admin","tenant":"acme","ttl_seconds":60})", "r");
  REQUIRE(t.has_value());
  const std::string secret = (*t)["token"].get<std::string>();
  const Actor acme_admin = e.ActorOf(secret);
  CHECK(admin.ListKeys(acme_admin, "acme", {}).has_value());

  // The admin mints an auditor token asking for a day: it ends with the admin's own token.
  auto minted = admin.CreateToken(acme_admin, R"({"role":"auditor","tenant":"acme","ttl_seconds":86400})", "r");
  REQUIRE(minted.has_value());
  CHECK((*minted)["expires_at"] == skr::FormatRfc3339(e.clock.NowUnix() + 60));

  e.clock.Advance(59);
  CHECK(e.broker->Authenticate("Bearer " + secret).has_value());
  e.clock.Advance(2);
  CHECK(ReasonOf(e.broker->Authenticate("Bearer " + secret)) == "token_expired");
  CHECK(ReasonOf(e.broker->Authenticate("Bearer " + (*minted)["token"].get<std::string>())) ==
        "token_expired");
}

TEST_CASE("Broker: an admin change is seen by the next release at once (no cache wait)",
          "[server][broker]") {
  Env e;
  REQUIRE(e.Release(e.Body(e.Nonce())).has_value());  // fills the key-metadata cache
  REQUIRE(e.broker->admin()
              .SetVersionState(e.op, "acme", "disk", 1, skr::keystore::VersionState::kDisabled, "r")
              .has_value());
  auto r = e.Release(e.Body(e.Nonce()));
  REQUIRE_FALSE(r.has_value());
  INFO(r.error().message());
  // From the fresh metadata (a stale cache would have picked version 1 and failed later).
  CHECK(ReasonOf(r) == "no_enabled_key_version");
}

TEST_CASE("Broker: releases naming unknown keys are one aggregated record per source",
          "[server][broker]") {
  Env e;
  const auto before = e.audit->Entries({}).value().size();
  for (int i = 0; i < 4; ++i) {
    auto r = e.broker->release().Release("nobody", "k" + std::to_string(i), std::nullopt,
                                         e.Body(e.Nonce()), "rid", "10.9.9.9");
    CHECK(ReasonOf(r) == "key_not_found");
  }
  CHECK(e.audit->Entries({}).value().size() == before);  // nothing per attempt
  e.broker->release().FlushUnknownReleases();
  auto recs = e.audit->Entries({}).value();
  REQUIRE(recs.size() == before + 1);
  CHECK(recs.back().action == "release.unknown_key");
  CHECK(recs.back().reason.find("aggregated: 4 releases") == 0);
}

TEST_CASE("Authorize: one table of who may do what", "[server][broker][authorize]") {
  auto actor = [](Role role, std::optional<std::string> tenant) {
    Actor a;
    a.token.role = role;
    a.token.tenant = std::move(tenant);
    return a;
  };
  const Actor op = actor(Role::kOperator, std::nullopt);
  const Actor admin = actor(Role::kAdmin, "acme");
  const Actor auditor = actor(Role::kAuditor, "acme");
  const Actor global_auditor = actor(Role::kAuditor, std::nullopt);
  auto ok = [](const skr::Result<void>& r) { return r.has_value(); };
  for (Permission p : {Permission::kManageTenants, Permission::kManageTrust,
                       Permission::kAdminTenant, Permission::kReadTenant,
                       Permission::kIssueTokens, Permission::kVerifyEvidence,
                       Permission::kReadAudit}) {
    CHECK(ok(Authorize(op, p, "acme")));
    CHECK(ok(Authorize(op, p)));
  }
  // Tenants and TEE trust material: operators only.
  for (Permission p : {Permission::kManageTenants, Permission::kManageTrust}) {
    for (const Actor* a : {&admin, &auditor, &global_auditor}) {
      auto r = Authorize(*a, p);
      CHECK(ReasonOf(r) == "forbidden");
      CHECK(r.error().code() == skr::ErrorCode::kPermissionDenied);
    }
  }
  // A tenant's admin: its own tenant, nothing else.
  CHECK(ok(Authorize(admin, Permission::kAdminTenant, "acme")));
  CHECK_FALSE(ok(Authorize(admin, Permission::kAdminTenant, "beta")));
  CHECK_FALSE(ok(Authorize(admin, Permission::kAdminTenant)));
  CHECK(ok(Authorize(admin, Permission::kReadTenant, "acme")));
  CHECK_FALSE(ok(Authorize(admin, Permission::kReadTenant, "beta")));
  CHECK(ok(Authorize(admin, Permission::kIssueTokens, "acme")));
  CHECK_FALSE(ok(Authorize(admin, Permission::kIssueTokens, "beta")));
  CHECK_FALSE(ok(Authorize(admin, Permission::kIssueTokens)));  // operator / global tokens
  CHECK(ok(Authorize(admin, Permission::kVerifyEvidence)));
  CHECK_FALSE(ok(Authorize(admin, Permission::kReadAudit)));
  CHECK_FALSE(ok(Authorize(admin, Permission::kReadAudit, "acme")));
  // Auditors read, never change.
  for (const Actor* a : {&auditor, &global_auditor}) {
    CHECK_FALSE(ok(Authorize(*a, Permission::kAdminTenant, "acme")));
    CHECK_FALSE(ok(Authorize(*a, Permission::kIssueTokens, "acme")));
    CHECK_FALSE(ok(Authorize(*a, Permission::kVerifyEvidence)));
    CHECK(ok(Authorize(*a, Permission::kReadTenant, "acme")));
    CHECK(ok(Authorize(*a, Permission::kReadAudit, "acme")));
    CHECK(ok(Authorize(*a, Permission::kReadAudit)));
  }
  CHECK_FALSE(ok(Authorize(auditor, Permission::kReadTenant, "beta")));
  CHECK_FALSE(ok(Authorize(auditor, Permission::kReadAudit, "beta")));
  CHECK(ok(Authorize(global_auditor, Permission::kReadTenant, "beta")));
  CHECK(ok(Authorize(global_auditor, Permission::kReadAudit, "beta")));
  // What an audit read is confined to.
  CHECK(skr::server::AuditScope(auditor) == std::optional<std::string>("acme"));
  CHECK_FALSE(skr::server::AuditScope(global_auditor).has_value());
  CHECK_FALSE(skr::server::AuditScope(op).has_value());
}

TEST_CASE("Broker: the services ask Authorize (an admin of one tenant, an auditor)",
          "[server][broker][authorize]") {
  Env e;
  auto& admin = e.broker->admin();
  const Actor acme_admin = e.Token(Role::kAdmin, "acme");
  const Actor acme_auditor = e.Token(Role::kAuditor, "acme");
  CHECK(ReasonOf(admin.ListKeys(acme_admin, "beta", {})) == "forbidden");
  CHECK(ReasonOf(admin.PutPolicy(acme_admin, "beta", "p", skr::DumpJson(kPolicy), "r")) ==
        "forbidden");
  CHECK(ReasonOf(admin.CreateTenant(acme_admin, R"({"name":"x"})", "r")) == "forbidden");
  CHECK(ReasonOf(admin.CreateToken(acme_admin, R"({"role":"operator"})", "r")) == "forbidden");
  CHECK(ReasonOf(admin.ImportSnpCert(acme_admin, "{}", "r")) == "forbidden");
  CHECK(ReasonOf(e.broker->audit_queries().AuditEntries(acme_admin, {})) == "forbidden");
  // The auditor reads its tenant's keys and records, and changes nothing.
  CHECK(admin.ListKeys(acme_auditor, "acme", {}).has_value());
  CHECK(ReasonOf(admin.CreateKey(acme_auditor, "acme", R"({"name":"k2","policy":"p"})", "r")) ==
        "forbidden");
  skr::audit::Query other;
  other.tenant = "beta";
  CHECK(ReasonOf(e.broker->audit_queries().AuditEntries(acme_auditor, other)) == "forbidden");
  auto own = e.broker->audit_queries().AuditEntries(acme_auditor, {});
  REQUIRE(own.has_value());
  for (const auto& rec : (*own)["entries"]) CHECK(rec["tenant"] == "acme");
}
