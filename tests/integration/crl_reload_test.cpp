// SPDX-License-Identifier: Apache-2.0
// AMD CRLs in a real skrd: a CRL replaced on disk takes effect on SIGHUP without a restart, a
// reload that fails keeps the CRLs in force, stale CRLs show in /metrics and the log, and
// attestation.snp.crl_max_staleness_seconds turns a stale CRL into a refusal (503, nothing
// released). Reports are signed by the AMD-shaped test PKI (trusted via extra_roots).
#include <signal.h>
#include <sys/types.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/clock.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "tests/integration/skrd_fixture.h"
#include "tests/support/amd_test_pki.h"

using skr::Json;
using skr::test::AmdTestPki;
using skr::test::Skrd;
using Issuer = skr::test::AmdTestPki::CrlIssuer;

namespace {

constexpr std::int64_t kDay = 86400;

std::array<std::uint8_t, 64> Chip() {
  std::array<std::uint8_t, 64> c{};
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = static_cast<std::uint8_t>(0x70 + i);
  return c;
}

const AmdTestPki& Pki() {
  static const AmdTestPki pki(Chip(), skr::test::AmdTestTcb{});
  return pki;
}

std::int64_t Now() { return skr::SystemClock().NowUnix(); }

Json Policy() {
  return {{"anyOf",
           {{{"authority", "skr:local"},
             {"allOf",
              {{{"claim", "tee"}, {"equals", "sev-snp"}},
               {{"claim", "snp.policy.debug"}, {"equals", false}}}}}}}};
}

// The PID of the skrd serving `config_path` (the fixture keeps it private): the process whose
// command line is `skrd --config <config_path> ...`.
pid_t SkrdPid(const std::string& config_path) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find("/server/skrd") == std::string::npos) continue;
    if (cmd.find(std::string("--config") + '\0' + config_path + '\0') == std::string::npos) {
      continue;
    }
    if (cmd.find(std::string("--port-file")) == std::string::npos) continue;  // not `skrd init`
    return static_cast<pid_t>(std::stol(name));
  }
  return -1;
}

struct World {
  std::unique_ptr<Skrd> skrd;
  pid_t pid = -1;

  // skrd trusting the test PKI, with `crl_pem` as its crl_file and `extra_snp` in [attestation.snp].
  World(const std::string& crl_pem, const std::string& extra_snp = "") {
    skr::test::SkrdOptions opts;
    opts.extra_toml =
        "\n[attestation.snp]\nextra_roots = \"test-amd.pem\"\nextra_roots_product = \"Milan\"\n"
        "crl_file = \"amd-crl.pem\"\n" +
        extra_snp;
    skrd = std::make_unique<Skrd>(opts);
    skr::test::WriteFile(skrd->file("test-amd.pem"), Pki().RootsPem(), 0644);
    WriteCrl(crl_pem);
    REQUIRE(skrd->Start());
    pid = SkrdPid(skrd->config_path());
    REQUIRE(pid > 0);
    skrd->SetUpTenant("acme", "cvm", Policy(), "disk", skr::Base64Encode(skr::RandomBytes(32)));
  }

  // Replaces the file the way an operator's fetch job would (write aside, rename over).
  void WriteCrl(const std::string& pem) {
    skr::test::WriteFile(skrd->file("amd-crl.pem.tmp"), pem, 0644);
    std::filesystem::rename(skrd->file("amd-crl.pem.tmp"), skrd->file("amd-crl.pem"));
  }

  // SIGHUP, then waits (bounded) for the `count`-th occurrence of `log_msg` in skrd's log.
  bool HupAndWaitFor(const std::string& log_msg, int count) {
    if (kill(pid, SIGHUP) != 0) return false;
    for (int i = 0; i < 100; ++i) {
      const std::string log = skrd->Log();
      int seen = 0;
      for (std::size_t pos = log.find(log_msg); pos != std::string::npos;
           pos = log.find(log_msg, pos + 1)) {
        ++seen;
      }
      if (seen >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  skr::test::HttpResult Release(skr::EvpPkeyPtr* eph_out = nullptr) {
    auto c = skrd->Post("/v1/challenge", Json::object());
    REQUIRE(c.status == 200);
    const std::string nonce = c.json["nonce"].get<std::string>();
    auto eph = skr::GenerateEcKey("P-384").value();
    Json jwk = skr::PublicJwkFromKey(eph.get(), "ECDH-ES+A256KW").value();
    auto digest = skr::BindingDigest(nonce, jwk).value();
    skr::test::TestSnpReport rep;
    std::copy(digest.begin(), digest.end(), rep.report_data.begin());
    rep.chip_id = Chip();
    auto bytes = rep.Build();
    Pki().SignReport(bytes);
    Json ev = {{"type", "sev-snp"}, {"report", skr::Base64Encode(bytes)}, {"vcek", Pki().VcekPem()}};
    auto r = skrd->Post("/v1/tenants/acme/keys/disk/release",
                        {{"nonce", nonce}, {"tee-pubkey", jwk}, {"evidence", ev}});
    if (eph_out != nullptr) *eph_out = std::move(eph);
    return r;
  }

  std::string Metrics() {
    auto m = skrd->Get("/metrics");
    REQUIRE(m.status == 200);
    return m.body;
  }
};

}  // namespace

TEST_CASE("skrd CRL: SIGHUP applies a CRL revoking the VCEK without a restart",
          "[integration][snp][crl]") {
  const std::int64_t t0 = Now();
  // Before: AMD's shape, an ARK CRL that lists nobody of this chain.
  World w(Pki().CrlPem(Issuer::kArk, {77}, t0 - kDay, t0 + 7 * kDay));
  skr::EvpPkeyPtr eph;
  auto ok = w.Release(&eph);
  INFO(ok.body);
  REQUIRE(ok.status == 200);
  REQUIRE(skr::JweDecrypt(ok.json["jwe"].get<std::string>(), eph.get()).has_value());

  // The ASK now revokes the VCEK; skrd learns it from SIGHUP alone.
  w.WriteCrl(Pki().CrlPem(Issuer::kArk, {77}, t0 - kDay, t0 + 7 * kDay) +
             Pki().CrlPem(Issuer::kAsk, {AmdTestPki::kVcekSerial}, t0 - 60, t0 + 7 * kDay));
  REQUIRE(w.HupAndWaitFor("\"CRLs reloaded\"", 1));
  auto refused = w.Release();
  INFO(refused.body);
  CHECK(refused.status == 401);
  CHECK(refused.problem_type() == "urn:skr:problem:cert_revoked");
  CHECK_FALSE(refused.json.contains("jwe"));
  CHECK(SkrdPid(w.skrd->config_path()) == w.pid);  // same process: no restart

  SECTION("a reload that fails keeps the CRLs in force") {
    w.WriteCrl("-----BEGIN X509 CRL-----\nnot base64\n-----END X509 CRL-----\n");
    REQUIRE(w.HupAndWaitFor("\"CRL reload failed; the previous CRLs stay in force\"", 1));
    CHECK(w.Release().problem_type() == "urn:skr:problem:cert_revoked");
    const std::string m = w.Metrics();
    CHECK_THAT(m, Catch::Contains("skr_crl_reloads_total{result=\"ok\"} 1"));
    CHECK_THAT(m, Catch::Contains("skr_crl_reloads_total{result=\"failed\"} 1"));
  }
  SECTION("a CRL that no longer revokes restores releases") {
    w.WriteCrl(Pki().CrlPem(Issuer::kArk, {77}, t0 - 30, t0 + 7 * kDay));
    REQUIRE(w.HupAndWaitFor("\"CRLs reloaded\"", 2));
    CHECK(w.Release().status == 200);
  }
}

TEST_CASE("skrd CRL: a stale CRL is a startup warning and a metric, still used without a limit",
          "[integration][snp][crl]") {
  const std::int64_t t0 = Now();
  World w(Pki().CrlPem(Issuer::kArk, {77}, t0 - 10 * kDay, t0 - 2 * kDay));
  const std::string log = w.skrd->Log();
  CHECK_THAT(log, Catch::Contains("AMD CRL is stale"));
  CHECK_THAT(log, Catch::Contains("amd-crl.pem"));
  const std::string m = w.Metrics();
  CHECK_THAT(m, Catch::Contains("skr_crl_stale{product=\"Milan\",issuer=\"ARK-Milan\"} 1"));
  CHECK_THAT(m, Catch::Contains("skr_crl_next_update_seconds{product=\"Milan\",issuer=\"ARK-Milan\"} " +
                                std::to_string(t0 - 2 * kDay)));
  auto r = w.Release();
  INFO(r.body);
  CHECK(r.status == 200);
}

TEST_CASE("skrd CRL: crl_max_staleness_seconds refuses releases that need a too-stale CRL",
          "[integration][snp][crl]") {
  const std::int64_t t0 = Now();
  World w(Pki().CrlPem(Issuer::kArk, {77}, t0 - 10 * kDay, t0 - 2 * kDay),
          "crl_max_staleness_seconds = 86400\n");
  CHECK_THAT(w.skrd->Log(), Catch::Contains("stale beyond attestation.snp.crl_max_staleness_seconds"));
  auto r = w.Release();
  INFO(r.body);
  CHECK(r.status == 503);
  CHECK(r.problem_type() == "urn:skr:problem:snp_crl_stale");
  CHECK_FALSE(r.json.contains("jwe"));
  auto granted = w.skrd->Get("/v1/audit/entries?decision=granted", w.skrd->operator_token());
  CHECK(granted.json["entries"].empty());
  auto errors = w.skrd->Get("/v1/audit/entries?decision=error", w.skrd->operator_token());
  REQUIRE(errors.json["entries"].size() == 1);
  CHECK_THAT(errors.json["entries"][0]["reason"].get<std::string>(),
             Catch::StartsWith("snp_crl_stale"));

  // A fresh CRL fetched and signalled: releases resume.
  w.WriteCrl(Pki().CrlPem(Issuer::kArk, {77}, t0 - 60, t0 + 7 * kDay));
  REQUIRE(w.HupAndWaitFor("\"CRLs reloaded\"", 1));
  CHECK(w.Release().status == 200);
  CHECK_THAT(w.Metrics(), Catch::Contains("skr_crl_stale{product=\"Milan\",issuer=\"ARK-Milan\"} 0"));
}
