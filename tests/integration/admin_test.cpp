// SPDX-License-Identifier: Apache-2.0
// Admin and auditor API through a real skrd: tokens and roles, 409 on existing names, sealed
// state, health endpoints, TLS only.
#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "common/encoding.h"
#include "tests/integration/skrd_fixture.h"

using skr::Json;
using skr::test::Skrd;

namespace {
const Json kPolicy = Json::parse(
    R"({"anyOf":[{"authority":"skr:local","allOf":[{"claim":"tee","equals":"sample"}]}]})");
}

TEST_CASE("Admin: tokens are required and scoped by role and tenant", "[integration][admin]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "p", kPolicy, "k", skr::Base64Encode(skr::RandomBytes(32)));
  auto other = skrd.SetUpTenant("other", "p", kPolicy, "k", skr::Base64Encode(skr::RandomBytes(32)));

  SECTION("missing token") {
    auto r = skrd.Get("/v1/tenants/acme/keys");
    CHECK(r.status == 401);
    CHECK(r.problem_type() == "urn:skr:problem:unauthenticated");
  }
  SECTION("unknown token") {
    auto r = skrd.Get("/v1/tenants/acme/keys", "skr_notatoken");
    CHECK(r.status == 401);
  }
  SECTION("other tenant's admin") {
    auto r = skrd.Get("/v1/tenants/acme/keys", other.admin_token);
    CHECK(r.status == 403);
    CHECK(r.problem_type() == "urn:skr:problem:forbidden");
    auto c = skrd.Post("/v1/tenants/acme/keys", {{"name", "x"}, {"policy", "p"}}, other.admin_token);
    CHECK(c.status == 403);
  }
  SECTION("wrong role") {
    auto aud = skrd.Post("/v1/tokens", {{"role", "auditor"}, {"tenant", "acme"}}, acme.admin_token);
    REQUIRE(aud.status == 201);
    const std::string auditor = aud.json["token"].get<std::string>();
    CHECK(skrd.Post("/v1/tenants/acme/keys", {{"name", "x"}, {"policy", "p"}}, auditor).status == 403);
    CHECK(skrd.Post("/v1/tenants", {{"name", "x"}}, acme.admin_token).status == 403);
    // The auditor reads its own tenant's log only.
    auto own = skrd.Get("/v1/audit/entries?tenant=acme", auditor);
    CHECK(own.status == 200);
    for (const auto& e : own.json["entries"]) CHECK(e["tenant"] == "acme");
    CHECK(skrd.Get("/v1/audit/entries?tenant=other", auditor).status == 403);
    // Admins cannot mint operator tokens.
    CHECK(skrd.Post("/v1/tokens", {{"role", "operator"}}, acme.admin_token).status == 403);
  }
  SECTION("revoked tokens (expiry: tests/server/broker_test.cpp, on a FakeClock)") {
    auto t = skrd.Post("/v1/tokens", {{"role", "admin"}, {"tenant", "acme"}, {"ttl_seconds", 60}},
                       skrd.operator_token());
    REQUIRE(t.status == 201);
    CHECK(t.json["expires_at"].is_string());
    CHECK(skrd.Get("/v1/tenants/acme/keys", t.json["token"].get<std::string>()).status == 200);
    auto t2 = skrd.Post("/v1/tokens", {{"role", "admin"}, {"tenant", "acme"}}, skrd.operator_token());
    const std::string tok2 = t2.json["token"].get<std::string>();
    CHECK(skrd.Request("DELETE", "/v1/tokens/" + t2.json["id"].get<std::string>(), "",
                       skrd.operator_token()).status == 204);
    CHECK(skrd.Get("/v1/tenants/acme/keys", tok2).status == 401);
  }
}

TEST_CASE("Admin: existing names answer 409 and change nothing", "[integration][admin]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "p", kPolicy, "k", skr::Base64Encode(skr::RandomBytes(32)));
  CHECK(skrd.Post("/v1/tenants", {{"name", "acme"}}, skrd.operator_token()).status == 409);
  auto before = skrd.Get("/v1/tenants/acme/keys/k", acme.admin_token);
  auto dup = skrd.Post("/v1/tenants/acme/keys", {{"name", "k"}, {"policy", "p"}}, acme.admin_token);
  CHECK(dup.status == 409);
  auto after = skrd.Get("/v1/tenants/acme/keys/k", acme.admin_token);
  CHECK(before.json == after.json);
  CHECK(skrd.Post("/v1/tenants", {{"name", "Bad Name"}}, skrd.operator_token()).status == 400);
  // Metadata never carries key material.
  CHECK(!after.json.contains("material"));
  CHECK(after.json["versions"][0]["length"] == 32);
}

TEST_CASE("Admin: policies are validated when stored and versioned", "[integration][admin][policy]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "p", kPolicy, "k", skr::Base64Encode(skr::RandomBytes(32)));
  auto bad = skrd.Request("PUT", "/v1/tenants/acme/policies/p",
                          R"({"anyOf":[{"authority":"skr:local","allOf":[]}]})", acme.admin_token);
  CHECK(bad.status == 400);
  CHECK(bad.problem_type() == "urn:skr:problem:invalid_policy");
  auto v2 = skrd.Request("PUT", "/v1/tenants/acme/policies/p", skr::DumpJson(kPolicy), acme.admin_token);
  CHECK(v2.status == 201);
  CHECK(v2.json["version"] == 2);
  auto v1 = skrd.Get("/v1/tenants/acme/policies/p?version=1", acme.admin_token);
  CHECK(v1.status == 200);
  CHECK(v1.json["version"] == 1);
  // Dry run with claims: decision and trace, nothing released.
  auto ev = skrd.Post("/v1/tenants/acme/policies/p/evaluate", {{"claims", {{"tee", "tdx"}}}},
                      acme.admin_token);
  CHECK(ev.status == 200);
  CHECK(ev.json["decision"] == "deny");
  CHECK(ev.json["trace"].is_array());
  CHECK(!ev.json.contains("jwe"));
}

TEST_CASE("Server: sealed when the master key is missing or wrong", "[integration][sealed]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto acme = skrd.SetUpTenant("acme", "p", kPolicy, "k", skr::Base64Encode(skr::RandomBytes(32)));
  skrd.Stop();
  SECTION("wrong key") {
    skr::test::WriteFile(skrd.file("data/master.key"), std::string(32, 'x'), 0600);
  }
  SECTION("missing key") { std::filesystem::remove(skrd.file("data/master.key")); }
  REQUIRE(skrd.Start());
  CHECK(skrd.Get("/healthz").status == 200);
  auto st = skrd.Get("/v1/status");
  CHECK(st.status == 200);
  CHECK(st.json["sealed"] == true);
  CHECK(skrd.Get("/readyz").status == 503);
  auto ch = skrd.Post("/v1/challenge", Json::object());
  CHECK(ch.status == 503);
  CHECK(ch.problem_type() == "urn:skr:problem:sealed");
  CHECK(skrd.Get("/v1/tenants/acme/keys", acme.admin_token).status == 503);
  CHECK(skrd.Post("/v1/tenants/acme/keys/k/release", Json::object()).status == 503);
}

TEST_CASE("Server: health, metrics, unknown routes and methods", "[integration][server]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  CHECK(skrd.Get("/healthz").json["status"] == "ok");
  CHECK(skrd.Get("/readyz").status == 200);
  auto m = skrd.Get("/metrics");
  CHECK(m.status == 200);
  CHECK(m.body.find("skr_releases_total") != std::string::npos);
  CHECK(skrd.Get("/nope").status == 404);
  CHECK(skrd.Get("/v1/challenge").status == 405);
  auto ct = skrd.Request("POST", "/v1/challenge", "{}", "", "text/plain");
  CHECK(ct.status == 415);
  // skrd init on an initialized store fails and changes nothing.
  auto again = skr::test::RunCommand({skr::test::BinaryDir() + "/server/skrd", "init", "--config",
                                      skrd.config_path()});
  CHECK(again.exit_code != 0);
  CHECK(again.out.find("operator_token") == std::string::npos);
  CHECK(skrd.Get("/v1/tenants", skrd.operator_token()).status == 200);
}

TEST_CASE("Server: plain HTTP is not served", "[integration][server][tls]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  auto r = skr::test::RunCommand({"curl", "-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}",
                                  "http://127.0.0.1:" + std::to_string(skrd.port()) + "/healthz"});
  CHECK(r.out != "200");
  // TLS 1.2 and 1.3 both work with the dev CA; TLS 1.1 is refused.
  for (const char* v : {"--tlsv1.2", "--tlsv1.3"}) {
    auto ok = skr::test::RunCommand({"curl", "-s", "-m", "5", v, "--cacert", skrd.file("tls/ca.crt"),
                                     skrd.url() + "/healthz"});
    CHECK(ok.exit_code == 0);
    CHECK(ok.out.find("ok") != std::string::npos);
  }
  auto old = skr::test::RunCommand({"curl", "-s", "-m", "5", "--tlsv1.1", "--tls-max", "1.1",
                                    "--cacert", skrd.file("tls/ca.crt"), skrd.url() + "/healthz"});
  CHECK(old.exit_code != 0);
}
