// SPDX-License-Identifier: Apache-2.0
// The verifier table (server/verifiers.h, issue 13): each row registers exactly the evidence
// types it names when its config section enables it, and nothing when it does not.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <sstream>

#include "server/broker/tee_routes.h"
#include "attestation/snp/snp_config.h"
#include "attestation/tdx/tdx_config.h"
#include "attestation/tpm/tpm_config.h"
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

  cfg.sections.Mutable<attestation::tdx::TdxConfig>().enabled = false;
  cfg.sections.Mutable<attestation::snp::SnpConfig>().enabled = false;
  CHECK(Registered(cfg) == std::set<std::string>{"tpm"});
  cfg.sections.Mutable<attestation::tpm::TpmConfig>().enabled = false;
  CHECK(Registered(cfg).empty());
}

TEST_CASE("Verifier table: a bad file named by a row's config is that row's error",
          "[server][verifiers]") {
  config::Config cfg;
  cfg.sections.Mutable<attestation::tdx::TdxConfig>().extra_roots = "/nonexistent/intel-root.pem";
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

TEST_CASE("Verifier table: each row brings its config section; config/ parses it without knowing it",
          "[server][verifiers][config]") {
  const auto sections = ConfigSections();
  std::set<std::string> names;
  for (const auto& s : sections) names.insert(std::string(s->name()));
  for (const VerifierEntry& row : VerifierTable()) {
    CHECK(names.count(row.section) == 1);
    CHECK(row.config()->name() == row.section);
  }
  CHECK(names.count("attestation.azure") == 1);  // shared by the Azure rows
  const std::string base = R"([server]
listen = "127.0.0.1:8443"
tls_cert = "c"
tls_key = "k"
[storage]
path = "s.db"
[master_key]
path = "m.key"
)";
  auto cfg = config::ParseConfig(base + "[attestation.tdx]\ncollateral_grace_seconds = 60\n", "/etc/skr",
                                 {{"SKR_ATTESTATION_TPM_ENABLED", "false"}}, sections);
  REQUIRE(cfg.has_value());
  CHECK(cfg->Get<attestation::tdx::TdxConfig>().collateral_grace_seconds == 60);
  CHECK_FALSE(cfg->Get<attestation::tpm::TpmConfig>().enabled);
  // Without the sections, a TEE table is an unknown key (config/ knows none).
  auto bare = config::ParseConfig(base + "[attestation.tdx]\nenabled = true\n", "/etc/skr", {});
  REQUIRE_FALSE(bare.has_value());
  CHECK(bare.error().message().find("unknown key 'attestation.tdx'") != std::string::npos);
  // A key the section does not have is refused by name.
  auto typo = config::ParseConfig(base + "[attestation.snp]\ncrl_files = \"x\"\n", "/etc/skr", {},
                                  sections);
  REQUIRE_FALSE(typo.has_value());
  CHECK(typo.error().message().find("attestation.snp.crl_files") != std::string::npos);
}

}  // namespace skr::server
