// SPDX-License-Identifier: Apache-2.0
// skr-audit-bench (issue 11 figures): fills an audit log with release-shaped records through the
// real AuditLog (group commit, Merkle nodes, fsync), and measures on a filled log what auditors
// and skrd pay: the start-up walk (VerifyAll), inclusion and consistency proofs (latency and
// size). One JSON line per command.
//   skr-audit-bench fill --db PATH --records N [--threads T]
//   skr-audit-bench proofs --db PATH [--samples K]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "audit/audit.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/ossl.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A record the size and shape of a granted SEV-SNP release.
skr::audit::Record ReleaseRecord(std::int64_t i) {
  skr::audit::Record r;
  r.kind = "release";
  r.action = "release";
  r.actor = "attester";
  r.tenant = "bench";
  r.key = "k-sev-snp";
  r.version = 1;
  r.evidence_type = "sev-snp";
  r.evidence_sha256 = skr::HexEncode(skr::Sha256("evidence " + std::to_string(i)));
  r.tee_pubkey_thumbprint = skr::Base64UrlEncode(skr::Sha256("jwk " + std::to_string(i)));
  r.policy_name = "p-sev-snp";
  r.policy_version = 1;
  r.decision = "granted";
  r.reason = "policy satisfied";
  r.request_id = "bench-" + std::to_string(i);
  r.client_address = "127.0.0." + std::to_string(10 + i % 64);
  skr::Json trace = skr::Json::array();
  for (const char* claim : {"tee", "snp.policy.debug", "snp.vmpl", "snp.reported_tcb.microcode"}) {
    trace.push_back({{"claim", claim}, {"op", "equals"}, {"result", true}, {"path", "anyOf[0]"}});
  }
  r.trace = std::move(trace);
  return r;
}

template <typename F>
std::vector<double> TimeEach(int n, F&& f) {
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    f(i);
    us.push_back(Seconds(Clock::now() - t0) * 1e6);
  }
  std::sort(us.begin(), us.end());
  return us;
}

double Pct(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"skr-audit-bench: fill an audit log, measure its checks and proofs"};
  app.require_subcommand(1);
  std::string db;
  std::int64_t records = 100000;
  int threads = 128;
  int samples = 1000;
  auto* fill = app.add_subcommand("fill", "append release-shaped records (group commit, fsync)");
  fill->add_option("--db", db)->required();
  fill->add_option("--records", records);
  fill->add_option("--threads", threads);
  auto* proofs = app.add_subcommand("proofs", "start-up walk, proof latency and sizes");
  proofs->add_option("--db", db)->required();
  proofs->add_option("--samples", samples);
  CLI11_PARSE(app, argc, argv);

  skr::SystemClock clock;
  auto log = skr::audit::AuditLog::Open(db, clock);
  if (!log) {
    std::cerr << log.error().message() << "\n";
    return 1;
  }
  if (fill->parsed()) {
    const auto before = (*log)->Stats();
    const auto t0 = Clock::now();
    std::vector<std::thread> pool;
    std::atomic<std::int64_t> next{0};
    std::atomic<int> failed{0};
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        for (std::int64_t i = next++; i < records; i = next++) {
          if (!(*log)->Append(ReleaseRecord(i))) failed++;
        }
      });
    }
    for (auto& th : pool) th.join();
    const double s = Seconds(Clock::now() - t0);
    const auto st = (*log)->Stats();
    const auto size_now = (*log)->Size();
    std::cout << skr::DumpJson(skr::Json{{"cmd", "fill"},
                                         {"records", records},
                                         {"failed", failed.load()},
                                         {"seconds", s},
                                         {"records_per_s", static_cast<double>(records) / s},
                                         {"commits", st.commits - before.commits},
                                         {"size_now", size_now ? *size_now : std::int64_t{-1}}})
              << std::endl;
    return failed.load() == 0 ? 0 : 1;
  }

  const auto tv = Clock::now();
  auto verified = (*log)->VerifyAll();
  const double verify_s = Seconds(Clock::now() - tv);
  if (!verified) {
    std::cerr << verified.error().message() << "\n";
    return 1;
  }
  const std::int64_t n = *verified;
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<std::int64_t> pick(1, n);
  std::size_t incl_hashes = 0, cons_hashes = 0;
  auto incl = TimeEach(samples, [&](int) {
    const auto p = (*log)->InclusionProof(pick(rng), n);
    if (p) incl_hashes = std::max(incl_hashes, p->size());
  });
  auto cons = TimeEach(samples, [&](int) {
    const auto p = (*log)->ConsistencyProof(pick(rng), n);
    if (p) cons_hashes = std::max(cons_hashes, p->size());
  });
  auto head = TimeEach(std::min(samples, 100), [&](int) { (void)(*log)->CurrentTree(); });
  // The JSON answer of GET /v1/audit/proof/inclusion for the largest proof: base64 hashes.
  const std::size_t incl_json = 64 + incl_hashes * 47;
  std::cout << skr::DumpJson(skr::Json{
                   {"cmd", "proofs"},
                   {"records", n},
                   {"verify_all_seconds", verify_s},
                   {"inclusion_us_p50", Pct(incl, 0.5)},
                   {"inclusion_us_p99", Pct(incl, 0.99)},
                   {"inclusion_hashes_max", incl_hashes},
                   {"inclusion_bytes_max", incl_hashes * 32},
                   {"inclusion_json_bytes_approx", incl_json},
                   {"consistency_us_p50", Pct(cons, 0.5)},
                   {"consistency_us_p99", Pct(cons, 0.99)},
                   {"consistency_hashes_max", cons_hashes},
                   {"tree_head_us_p50", Pct(head, 0.5)}})
            << std::endl;
  return 0;
}
