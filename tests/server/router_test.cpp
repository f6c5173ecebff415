// SPDX-License-Identifier: Apache-2.0
// The router as a pure function (no sockets), over a real keystore and audit file.
#include <catch2/catch.hpp>

#include "attestation/sample/sample_verifier.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "keystore/master_key.h"
#include "server/http/errors.h"
#include "server/http/router.h"
#include "tests/support/test_support.h"

using skr::Json;
namespace http = skr::server::http;

namespace {

struct Env {
  skr::test::TempDir dir;
  skr::FakeClock clock{1'800'000'000};
  std::unique_ptr<skr::keystore::KeyStore> ks;
  std::unique_ptr<skr::audit::AuditLog> audit;
  skr::attestation::Registry registry;
  skr::EvpPkeyPtr attester = skr::GenerateEcKey("P-384").value();
  std::unique_ptr<skr::server::Broker> broker;
  std::unique_ptr<http::Router> router;
  std::string op;

  explicit Env(bool unseal = true, http::RouterLimits limits = {}) {
    ks = skr::keystore::KeyStore::Open(dir.file("skr.db"), clock).value();
    audit = skr::audit::AuditLog::Open(dir.file("audit.db"), clock).value();
    auto mk = skr::RandomSecret(32);
    REQUIRE(ks->Initialize(mk).has_value());
    if (unseal) {
      REQUIRE(ks->Unseal(mk).has_value());
    } else {
      // A fresh process that never got the master key: reopen the initialized store.
      ks.reset();
      ks = skr::keystore::KeyStore::Open(dir.file("skr.db"), clock).value();
      REQUIRE(ks->sealed());
    }
    registry.Register(skr::attestation::sample::SampleVerifier::Create(
                          skr::PublicKeyToPem(attester.get()).value())
                          .value());
    skr::server::BrokerOptions bopt;
    broker = std::make_unique<skr::server::Broker>(*ks, *audit, registry, clock, bopt);
    router = std::make_unique<http::Router>(*broker, limits);
    if (unseal) {
      op = ks->CreateToken(skr::keystore::Role::kOperator, std::nullopt, 0).value().secret;
    }
  }
  http::Response Do(const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& token = "") {
    http::Request r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.content_type = "application/json";
    if (!token.empty()) r.authorization = "Bearer " + token;
    return router->Handle(r);
  }
};

Json Body(const http::Response& r) { return skr::ParseJson(r.body).value(); }

}  // namespace

TEST_CASE("Router: problem documents follow RFC 7807", "[server][router]") {
  Env e;
  auto r = e.Do("GET", "/v1/nothing-here");
  CHECK(r.status == 404);
  CHECK(r.content_type == "application/problem+json");
  Json b = Body(r);
  CHECK(b["type"] == "urn:skr:problem:no_route");
  CHECK(b["title"] == "Not Found");
  CHECK(b["status"] == 404);
  CHECK(b["request_id"].get<std::string>().size() == 16);
  bool has_rid = false;
  for (auto& [k, v] : r.headers) has_rid |= (k == "X-Request-Id" && v == b["request_id"]);
  CHECK(has_rid);
}

TEST_CASE("Router: methods, auth and content type", "[server][router]") {
  Env e;
  // 405 and 415 come from their ErrorCodes (problem type, status and title agree).
  auto not_allowed = e.Do("DELETE", "/v1/challenge");
  CHECK(not_allowed.status == 405);
  auto not_allowed_body = skr::ParseJson(not_allowed.body).value();
  CHECK(not_allowed_body["status"] == 405);
  CHECK(not_allowed_body["title"] == "Method Not Allowed");
  CHECK(not_allowed_body["type"] == "urn:skr:problem:method_not_allowed");
  CHECK(e.Do("GET", "/v1/tenants").status == 401);
  // A TEE route (declarative table): wrong method 405, right method needs a token.
  CHECK(e.Do("DELETE", "/v1/attestation/tdx/collateral").status == 405);
  CHECK(e.Do("GET", "/v1/attestation/tdx/collateral").status == 401);
  CHECK(e.Do("GET", "/v1/attestation/tdx/nothing").status == 404);
  CHECK(e.Do("GET", "/v1/tenants", "", "skr_bogus").status == 401);
  CHECK(e.Do("GET", "/v1/tenants", "", e.op).status == 200);
  http::Request r;
  r.method = "POST";
  r.target = "/v1/challenge";
  r.body = "{}";
  r.content_type = "application/x-www-form-urlencoded";
  auto media = e.router->Handle(r);
  CHECK(media.status == 415);
  auto media_body = skr::ParseJson(media.body).value();
  CHECK(media_body["status"] == 415);
  CHECK(media_body["title"] == "Unsupported Media Type");
  CHECK(media_body["type"] == "urn:skr:problem:unsupported_media_type");
  r.content_type = "application/json; charset=utf-8";
  CHECK(e.router->Handle(r).status == 200);
}

TEST_CASE("Router: body too large is 413 and a release attempt is audited", "[server][router]") {
  Env e;
  REQUIRE(e.ks->CreateTenant("acme").has_value());
  REQUIRE(e.ks->PutPolicy("acme", "p", R"({"version":"1.0.0","anyOf":[]})").has_value());
  REQUIRE(e.ks->CreateKey("acme", "k", "p", skr::RandomSecret(32), "generated").has_value());
  http::Request r;
  r.method = "POST";
  r.target = "/v1/tenants/acme/keys/k/release";
  r.body_too_large = true;
  r.source = "192.0.2.9";
  auto resp = e.router->Handle(r);
  CHECK(resp.status == 413);
  auto entries = e.audit->Entries({});
  REQUIRE(entries.has_value());
  REQUIRE(!entries->empty());
  CHECK(entries->back().decision == "denied");
  CHECK(entries->back().key == "k");
  CHECK(entries->back().reason.find("payload_too_large") == 0);

  // The same for keys that do not exist: counted, then one aggregated record per source.
  const auto before = entries->size();
  for (int i = 0; i < 5; ++i) {
    r.target = "/v1/tenants/acme/keys/nope" + std::to_string(i) + "/release";
    CHECK(e.router->Handle(r).status == 413);
  }
  CHECK(e.audit->Entries({}).value().size() == before);
  e.broker->release().FlushUnknownReleases();
  auto after = e.audit->Entries({}).value();
  REQUIRE(after.size() == before + 1);
  CHECK(after.back().action == "release.unknown_key");
  CHECK(after.back().reason.find("aggregated: 5 releases") == 0);
  CHECK(after.back().reason.find("192.0.2.9") != std::string::npos);
  CHECK(after.back().reason.find("payload_too_large x5") != std::string::npos);
  e.broker->release().FlushUnknownReleases();  // nothing new: nothing written
  CHECK(e.audit->Entries({}).value().size() == before + 1);
}

TEST_CASE("Router: sealed answers only health and status", "[server][router][sealed]") {
  Env e(/*unseal=*/false);
  CHECK(e.Do("GET", "/healthz").status == 200);
  CHECK(Body(e.Do("GET", "/v1/status"))["sealed"] == true);
  CHECK(e.Do("GET", "/readyz").status == 503);
  for (auto [m, t] : std::vector<std::pair<std::string, std::string>>{
           {"POST", "/v1/challenge"}, {"GET", "/v1/tenants"}, {"POST", "/v1/tenants/a/keys/b/release"},
           {"GET", "/v1/audit/entries"}}) {
    auto r = e.Do(m, t, "{}");
    CHECK(r.status == 503);
    CHECK(Body(r)["type"] == "urn:skr:problem:sealed");
  }
}

TEST_CASE("Router: query parameters are validated", "[server][router]") {
  Env e;
  CHECK(e.Do("GET", "/v1/audit/entries?from_seq=abc", "", e.op).status == 400);
  CHECK(e.Do("GET", "/v1/audit/entries?limit=-1", "", e.op).status == 400);
  CHECK(e.Do("GET", "/v1/audit/entries?limit=5", "", e.op).status == 200);
  CHECK(e.Do("POST", "/v1/tenants/a/keys/b/release?version=0", "{}").status == 400);
}

TEST_CASE("Errors: one mapping from ErrorCode to HTTP status", "[server][errors]") {
  using skr::ErrorCode;
  CHECK(http::HttpStatusFor(ErrorCode::kBadNonce) == 401);
  CHECK(http::HttpStatusFor(ErrorCode::kPolicyDenied) == 403);
  CHECK(http::HttpStatusFor(ErrorCode::kMalformedEvidence) == 400);
  CHECK(http::HttpStatusFor(ErrorCode::kGone) == 410);
  CHECK(http::HttpStatusFor(ErrorCode::kSealed) == 503);
  CHECK(http::HttpStatusFor(ErrorCode::kRateLimited) == 429);
  auto p = http::ProblemResponse(skr::Error(ErrorCode::kInternal, "sqlite said secret"), "r1");
  CHECK(p.body.find("secret") == std::string::npos);
}

TEST_CASE("Router::Admit: a source over its rate gets 429 while another source is served",
          "[server][router][attack]") {
  http::RouterLimits limits;
  limits.challenge_rate_per_second = 1;
  limits.challenge_burst = 3;
  limits.release_rate_per_second = 1;
  limits.release_burst = 2;
  Env e(true, limits);
  auto request = [](const std::string& target, const std::string& source) {
    http::Request r;
    r.method = "POST";
    r.target = target;
    r.source = source;
    return r;
  };
  for (int i = 0; i < 3; ++i) CHECK_FALSE(e.router->Admit(request("/v1/challenge", "10.0.0.1")));
  auto refused = e.router->Admit(request("/v1/challenge", "10.0.0.1"));
  REQUIRE(refused);
  CHECK(refused->status == 429);
  CHECK(Body(*refused)["type"] == "urn:skr:problem:rate_limited");
  bool retry_after = false;
  for (const auto& [k, v] : refused->headers) retry_after |= (k == "Retry-After" && v == "1");
  CHECK(retry_after);
  // Another address is untouched by the first one's flood, and releases have their own bucket.
  CHECK_FALSE(e.router->Admit(request("/v1/challenge", "10.0.0.2")));
  const std::string release = "/v1/tenants/t/keys/k/release";
  CHECK_FALSE(e.router->Admit(request(release, "10.0.0.1")));
  CHECK_FALSE(e.router->Admit(request(release, "10.0.0.1")));
  CHECK(e.router->Admit(request(release, "10.0.0.1"))->status == 429);
  // Other endpoints are not rate-limited here.
  CHECK_FALSE(e.router->Admit(request("/healthz", "10.0.0.1")));
  const std::string metrics = e.router->MetricsText();
  CHECK(metrics.find("skr_rate_limited_total{endpoint=\"challenge\"} 1") != std::string::npos);
  CHECK(metrics.find("skr_rate_limited_total{endpoint=\"release\"} 1") != std::string::npos);
}
