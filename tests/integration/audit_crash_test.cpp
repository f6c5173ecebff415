// SPDX-License-Identifier: Apache-2.0
// kill -9 loop (issue 11): concurrent releases while skrd is killed with SIGKILL at random
// moments, restarted each time. Afterwards every release a client received has its record, the
// log verifies against its signed checkpoints (`skrctl audit verify`, which also checks that the
// checkpoint verified after each restart is a prefix of the next one), and no nonce was accepted
// twice. 50 cycles here; bench/ runs longer campaigns.
#include <signal.h>

#include <atomic>
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/skrd_fixture.h"
#include "tests/support/process.h"

using skr::Json;
using skr::test::Skrd;

namespace {

const Json kPolicy = Json::parse(R"({"version":"1.0.0","anyOf":[{"authority":"skr:local","allOf":[
  {"claim":"tee","equals":"sample"},{"claim":"debug","equals":false}]}]})");
const std::string kMaterialB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

struct Granted {
  std::int64_t seq;
  std::string nonce;
};

skr::test::CommandResult AuditVerify(Skrd& skrd, const std::string& state) {
  return skr::test::RunCommand(
      {skr::test::BinaryDir() + "/client/skrctl", "audit", "verify", "--verifier-key",
       skrd.audit_verifier_key(), "--state", state},
      "",
      {{"SKR_ADDR", skrd.url()}, {"SKR_CACERT", skrd.file("tls/ca.crt")},
       {"SKR_TOKEN", skrd.operator_token()}});
}

}  // namespace

TEST_CASE("Audit log: kill -9 during concurrent releases loses no record and no nonce twice",
          "[integration][audit][crash]") {
  skr::test::SkrdOptions opts;
  opts.nonce_ttl_seconds = 3600;  // replays late in the run must meet their record, not expiry
  Skrd skrd(opts);
  REQUIRE(skrd.Start());
  skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64);
  const std::string attester = skr::test::ReadFileOrFail(skrd.file("dev/sample-attester.key"));
  const std::string state = skrd.file("auditor-state.json");
  std::mt19937 rng(20261202);
  std::mutex mu;
  std::vector<Granted> granted;  // guarded by mu
  int replays_refused = 0;
  // bench/run-audit-kill9 sets SKR_KILL9_CYCLES for longer campaigns (>= 500).
  const char* cycles_env = std::getenv("SKR_KILL9_CYCLES");
  const int kCycles = cycles_env != nullptr ? std::max(2, std::atoi(cycles_env)) : 50;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    if (cycle > 0) REQUIRE(skrd.Start());
    // A nonce granted before a kill is never accepted again.
    if (!granted.empty()) {
      const Granted& old = granted[rng() % granted.size()];
      auto a = skr::test::MakeSampleAttestation(attester, old.nonce, {{"debug", false}});
      auto r = skrd.Post("/v1/tenants/acme/keys/root/release",
                         {{"nonce", old.nonce}, {"tee-pubkey", a.tee_pubkey}, {"evidence", a.evidence}});
      INFO("cycle " << cycle << ": " << r.body);
      REQUIRE(r.status == 401);
      REQUIRE(r.problem_type() == "urn:skr:problem:nonce_reused");
      ++replays_refused;
    }
    // Every few cycles an auditor checks the log, resuming from the previous check.
    if (cycle % 10 == 9) {
      auto v = AuditVerify(skrd, state);
      INFO("cycle " << cycle << ": " << v.out << v.err);
      REQUIRE(v.exit_code == 0);
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> vms;
    for (int t = 0; t < 4; ++t) {
      vms.emplace_back([&] {
        while (!stop.load()) {
          auto c = skrd.Post("/v1/challenge", Json::object());
          if (c.status != 200) continue;
          const std::string nonce = c.json["nonce"];
          auto a = skr::test::MakeSampleAttestation(attester, nonce, {{"debug", false}});
          auto r = skrd.Post("/v1/tenants/acme/keys/root/release",
                             {{"nonce", nonce}, {"tee-pubkey", a.tee_pubkey}, {"evidence", a.evidence}});
          if (r.status == 200) {
            std::lock_guard<std::mutex> lock(mu);
            granted.push_back({r.json.at("audit_seq").get<std::int64_t>(), nonce});
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 400));
    REQUIRE(::kill(skrd.pid(), SIGKILL) == 0);
    stop.store(true);
    for (auto& th : vms) th.join();
    skrd.Stop();  // reaps the killed process
  }
  REQUIRE(skrd.Start());
  CHECK(skrd.Log().find("integrity") == std::string::npos);
  REQUIRE(!granted.empty());
  // Every release a client received is in the log as granted, under the seq it was told.
  std::map<std::int64_t, Json> by_seq;
  for (std::int64_t from = 1;;) {
    auto page = skrd.Get("/v1/audit/entries?limit=1000&from_seq=" + std::to_string(from),
                         skrd.operator_token());
    REQUIRE(page.status == 200);
    for (const auto& e : page.json["entries"]) by_seq[e["seq"].get<std::int64_t>()] = e;
    if (page.json["next_from_seq"].is_null()) break;
    from = page.json["next_from_seq"].get<std::int64_t>();
  }
  std::map<std::string, int> nonce_uses;
  for (const Granted& g : granted) {
    INFO("seq " << g.seq);
    REQUIRE(by_seq.count(g.seq) == 1);
    CHECK(by_seq[g.seq]["decision"] == "granted");
    CHECK(by_seq[g.seq]["key"] == "root");
    ++nonce_uses[g.nonce];
  }
  for (const auto& [nonce, uses] : nonce_uses) CHECK(uses == 1);
  // The log verifies against its signed checkpoint, consistent with the one checked before.
  auto v = AuditVerify(skrd, state);
  INFO(v.out << v.err);
  CHECK(v.exit_code == 0);
  CHECK(replays_refused == kCycles - 1);
  WARN("kill -9 cycles: " << kCycles << ", releases received: " << granted.size()
                          << ", records: " << by_seq.size());
}
