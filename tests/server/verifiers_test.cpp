// SPDX-License-Identifier: Apache-2.0
// The verifier table (server/verifiers.h, issue 13): each row registers exactly the evidence
// types it names when its config section enables it, and nothing when it does not.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <sstream>

#include "server/broker/tee_routes.h"
#include "server/verifiers.h"

namespace skr::server {
namespace {

std::set<std::string> Words(const char* text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

std::set<std::string> Registered(const config::Config& cfg) {
  FakeClock clock(1780272000);
  attestation::Registry registry;
  auto built = BuildVerifiers(cfg, registry, VerifierDeps{clock});
  INFO((built ? "" : built.error().message()));
  REQUIRE(built.has_value());
  auto types = registry.Types();
  return {types.begin(), types.end()};
}

}  // namespace

TEST_CASE("Verifier table: a row's evidence types are served exactly when its section enables it",
          "[server][verifiers]") {
  config::Config cfg;  // defaults: sev-snp, tdx, tpm on; sample off
  std::set<std::string> all;
  for (const VerifierEntry& row : VerifierTable()) {
    const auto types = Words(row.types);
    CHECK(!types.empty());
    CHECK(std::string(row.section).rfind("attestation.", 0) == 0);
    for (const auto& t : types) CHECK(all.insert(t).second);  // no type in two rows
  }
  const auto served = Registered(cfg);
  CHECK(served == std::set<std::string>{"sev-snp", "az-snp-vtpm", "tdx", "az-tdx-vtpm", "tpm"});

  cfg.attestation.tdx.enabled = false;
  cfg.attestation.snp.enabled = false;
  CHECK(Registered(cfg) == std::set<std::string>{"tpm"});
  cfg.attestation.tpm.enabled = false;
  CHECK(Registered(cfg).empty());
}

TEST_CASE("Verifier table: a bad file named by a row's config is that row's error",
          "[server][verifiers]") {
  config::Config cfg;
  cfg.attestation.tdx.extra_roots = "/nonexistent/intel-root.pem";
  FakeClock clock(1780272000);
  attestation::Registry registry;
  auto built = BuildVerifiers(cfg, registry, VerifierDeps{clock});
  REQUIRE(!built.has_value());
  CHECK(built.error().message().find("attestation.tdx.extra_roots") != std::string::npos);
}

}  // namespace skr::server

namespace skr::server {

TEST_CASE("TEE routes: patterns match whole paths and pass their parameters in order",
          "[server][tee_routes]") {
  const std::vector<std::string> path = {"v1", "tenants", "acme", "tpm", "aks", "ak_1"};
  auto p = MatchTeeRoute("/v1/tenants/{tenant}/tpm/aks/{id}", path);
  REQUIRE(p.has_value());
  CHECK(*p == std::vector<std::string>{"acme", "ak_1"});
  CHECK(!MatchTeeRoute("/v1/tenants/{tenant}/tpm/aks", path).has_value());  // shorter
  CHECK(!MatchTeeRoute("/v1/tenants/{tenant}/tpm/aks/{id}/x", path).has_value());  // longer
  CHECK(!MatchTeeRoute("/v1/tenants/{tenant}/tpm/enrollments/{id}", path).has_value());
  // Every TEE route is one method and pattern, none registered twice.
  std::set<std::string> seen;
  for (const TeeRoute& r : AllTeeRoutes()) {
    CHECK(seen.insert(std::string(r.method) + " " + r.pattern).second);
    CHECK(std::string(r.pattern).rfind("/v1/", 0) == 0);
  }
  CHECK(seen.count("POST /v1/attestation/tdx/collateral") == 1);
  CHECK(seen.count("GET /v1/attestation/snp/certs") == 1);
  CHECK(seen.count("DELETE /v1/tenants/{tenant}/tpm/aks/{id}") == 1);
}

}  // namespace skr::server
