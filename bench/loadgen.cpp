// SPDX-License-Identifier: Apache-2.0
// Boot-storm load generator (skr-loadgen). Three modes, one JSON line of figures each:
//
// loop (default): N concurrent simulated VMs, each looping challenge + release for S seconds over
//   keep-alive connections or a new TLS connection per request. Releases/s, latency percentiles of
//   a whole challenge+release, TLS handshakes made per release and, with --skrd-pid, skrd's own
//   CPU per release and peak RSS.
//     skr-loadgen --port P --cacert CA --tenant T --key K [--concurrency N] [--seconds S]
//                 [--mode keepalive|new] [--skrd-pid PID] [--evidence ...] [--key-type ...]
//
// storm (--vms N): N simulated VMs each boot ONCE: challenge + release, a new TLS connection per
//   request; on 429, 503 or a transport error the VM retries the whole boot at most --retries
//   times, waiting as skr-agent does (exponential backoff from 0.5 s with jitter, at least the
//   Retry-After the server sent, spread); a VM that has no key --deadline seconds after it
//   started, or whose next retry would start after that, has failed. At most
//   --concurrency requests are in flight; a VM waiting to retry holds no slot. Boot latency is
//   measured from the VM's start (its first challenge) to its key.
//     skr-loadgen --vms 2000 --retries 3 --deadline 30 --concurrency 64 --evidence sev-snp ...
//
// url (--url-path PATH): a plain request load for reference servers (nginx, Tang): METHOD PATH
//   with --body-file as body, a new connection per request (TLS unless --plain), C concurrent,
//   S seconds. Requests/s and latency percentiles.
//     skr-loadgen --url-path /1k.bin --port P --cacert CA --concurrency 16 --seconds 10
//
// --source 127.0.0.10-127.0.0.73 spreads the clients over source addresses (bind before
// connect), VM i using address i mod count, so per-address limits of the server apply as they
// would to real VMs. Evidence kinds: see bench/vm_evidence.h.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <queue>
#include <random>
#include <thread>
#include <vector>

#include "bench/bench_client.h"
#include "bench/vm_evidence.h"
#include "common/encoding.h"
#include "common/json.h"

namespace {
namespace ssl = boost::asio::ssl;
using Clock = std::chrono::steady_clock;
using skr::bench::Conn;
using skr::bench::Response;

struct Options {
  skr::bench::Target target;
  std::string cacert, tenant, key, mode = "keepalive", source;
  int concurrency = 1;
  int seconds = 10;
  int skrd_pid = 0;
  skr::bench::EvidenceOptions evidence;
  // storm
  int vms = 0, retries = 3;
  double deadline = 30;
  // url
  std::string url_path, method = "GET", body_file, content_type = "application/octet-stream";
};

double Pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

// skrd's figures around a run (when --skrd-pid is given).
struct SkrdMeter {
  int pid;
  long long ticks0;
  explicit SkrdMeter(int p) : pid(p), ticks0(p > 0 ? skr::bench::CpuTicks(p) : 0) {}
  void Add(skr::Json& out, std::uint64_t releases) const {
    if (pid <= 0) return;
    const double cpu_s = static_cast<double>(skr::bench::CpuTicks(pid) - ticks0) /
                         static_cast<double>(skr::bench::TicksPerSecond());
    out["skrd_cpu_s"] = cpu_s;
    if (releases > 0) out["skrd_cpu_us_per_release"] = cpu_s * 1e6 / static_cast<double>(releases);
    out["skrd_peak_rss_kb"] = skr::bench::PeakRssKb(pid);
  }
};

std::string SourceFor(const std::vector<std::string>& sources, int i) {
  return sources.empty() ? std::string() : sources[static_cast<std::size_t>(i) % sources.size()];
}

// ------------------------------------------------------------------------------------ loop ---
int RunLoop(const Options& o, skr::bench::EvidenceFactory& ev) {
  const auto sources = skr::bench::ExpandSourceRange(o.source);
  const std::string release_path = "/v1/tenants/" + o.tenant + "/keys/" + o.key + "/release";
  const std::string challenge_body = skr::DumpJson({{"tenant", o.tenant}});
  const bool keep = o.mode == "keepalive";
  auto ctx = skr::bench::MakeClientContext(o.cacert);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> ok{0}, failed{0}, handshakes{0};
  std::mutex mu;
  std::vector<double> lat;
  SkrdMeter meter(o.skrd_pid);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int i = 0; i < o.concurrency; ++i) {
    threads.emplace_back([&, i] {
      Conn conn(&ctx, o.target, SourceFor(sources, i));
      std::vector<double> local;
      while (!stop.load()) {
        const auto t0 = Clock::now();
        Response r = conn.Send("POST", "/v1/challenge", challenge_body, keep);
        if (r.status != 200) {
          failed.fetch_add(1);
          continue;
        }
        auto nonce = skr::ParseJson(r.body).value()["nonce"].get<std::string>();
        auto body = ev.ReleaseBody(i, nonce);
        if (body && conn.Send("POST", release_path, *body, keep).status == 200) {
          ok.fetch_add(1);
          local.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        } else {
          failed.fetch_add(1);
        }
      }
      handshakes.fetch_add(conn.handshakes());
      std::lock_guard<std::mutex> lock(mu);
      lat.insert(lat.end(), local.begin(), local.end());
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  stop.store(true);
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  skr::Json result = {
      {"evidence", o.evidence.evidence},
      {"key_type", o.evidence.key_type},
      {"mode", o.mode},
      {"concurrency", o.concurrency},
      {"seconds", elapsed},
      {"releases", ok.load()},
      {"failed", failed.load()},
      {"releases_per_s", static_cast<double>(ok.load()) / elapsed},
      {"handshakes", handshakes.load()},
      {"handshakes_per_release",
       ok.load() ? static_cast<double>(handshakes.load()) / static_cast<double>(ok.load()) : 0.0},
      {"p50_ms", Pct(lat, 0.50)},
      {"p99_ms", Pct(lat, 0.99)}};
  meter.Add(result, ok.load());
  std::cout << skr::DumpJson(result) << std::endl;
  return failed.load() > 0 && ok.load() == 0 ? 1 : 0;
}

// ----------------------------------------------------------------------------------- storm ---
struct VmState {
  Clock::time_point started{}, ready{};
  int attempt = 0;
};

// The wait before retry `retry` (1-based), as skr-agent computes it (client/agent.cpp
// RetryDelay): exponential part e = min(8 s, 0.5 s x 2^(retry-1)), backoff = e/2 + U(0,1) x e/2;
// with Retry-After RA (seconds, clamped to 300): max(backoff, RA + U(0,1) x min(RA, max(e, 1 s))).
Clock::duration RetryDelay(int retry, const std::string& retry_after, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double e = 0.5;
  for (int i = 1; i < retry && e < 8.0; ++i) e *= 2;
  e = std::min(e, 8.0);
  double wait = e / 2 + u(rng) * e / 2;
  if (!retry_after.empty()) {
    char* end = nullptr;
    const double ra = std::clamp(std::strtod(retry_after.c_str(), &end), 0.0, 300.0);
    if (end != retry_after.c_str()) {
      wait = std::max(wait, ra + u(rng) * std::min(ra, std::max(e, 1.0)));
    }
  }
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(wait));
}

int RunStorm(const Options& o, skr::bench::EvidenceFactory& ev) {
  const auto sources = skr::bench::ExpandSourceRange(o.source);
  const std::string release_path = "/v1/tenants/" + o.tenant + "/keys/" + o.key + "/release";
  const std::string challenge_body = skr::DumpJson({{"tenant", o.tenant}});
  const auto deadline =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.deadline));
  auto ctx = skr::bench::MakeClientContext(o.cacert);

  // VMs ready to (re)try, earliest first; all N are ready at the start, in order.
  using Item = std::pair<Clock::time_point, int>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> ready;
  std::vector<VmState> vm(static_cast<std::size_t>(o.vms));
  int pending = o.vms;  // VMs neither succeeded nor failed yet
  std::mutex mu;
  std::condition_variable cv;
  const auto start = Clock::now();
  for (int i = 0; i < o.vms; ++i) ready.emplace(start, i);

  std::vector<double> lat;
  std::map<std::string, std::uint64_t> answers;  // "challenge 429", "release transport", ...
  std::uint64_t succeeded = 0, failed = 0, retries = 0;
  SkrdMeter meter(o.skrd_pid);

  auto worker = [&](int w) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(w) * 7919 + 1);
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      if (pending == 0) return;
      if (ready.empty() || ready.top().first > Clock::now()) {
        if (ready.empty())
          cv.wait(lock);
        else
          cv.wait_until(lock, ready.top().first);
        continue;
      }
      const int i = ready.top().second;
      ready.pop();
      VmState& s = vm[static_cast<std::size_t>(i)];
      if (s.attempt == 0) s.started = Clock::now();
      const auto vm_deadline = s.started + deadline;
      lock.unlock();

      // One boot attempt: challenge, then release, each on a new connection.
      auto remaining = [&] {
        return std::max<std::chrono::milliseconds>(
            std::chrono::milliseconds(1),
            std::chrono::duration_cast<std::chrono::milliseconds>(vm_deadline - Clock::now()));
      };
      Conn conn(&ctx, o.target, SourceFor(sources, i),
                std::min<std::chrono::milliseconds>(remaining(), std::chrono::seconds(10)));
      std::string step = "challenge";
      Response r = conn.Send("POST", "/v1/challenge", challenge_body, false);
      if (r.status == 200) {
        auto nonce = skr::ParseJson(r.body);
        auto body =
            nonce && nonce->contains("nonce") && (*nonce)["nonce"].is_string()
                ? ev.ReleaseBody(i, (*nonce)["nonce"].get<std::string>())
                : skr::Result<std::string>(skr::Error(skr::ErrorCode::kInternal, "no nonce"));
        step = "release";
        if (!body) {
          r = Response{};
          r.transport_error = "bad challenge answer";
        } else {
          conn.set_timeout(
              std::min<std::chrono::milliseconds>(remaining(), std::chrono::seconds(10)));
          r = conn.Send("POST", release_path, *body, false);
        }
      }
      const auto now = Clock::now();
      lock.lock();
      const std::string what = step + " " + (r.status ? std::to_string(r.status) : "transport");
      if (step == "release" && r.status == 200) {
        ++succeeded;
        --pending;
        lat.push_back(std::chrono::duration<double, std::milli>(now - s.started).count());
        cv.notify_all();
        continue;
      }
      ++answers[what];
      const bool retryable = r.status == 0 || r.status == 429 || r.status == 503;
      const auto next = now + RetryDelay(s.attempt + 1, r.retry_after, rng);
      if (!retryable || s.attempt >= o.retries || next >= vm_deadline) {
        ++failed;
        --pending;
        cv.notify_all();
        continue;
      }
      ++s.attempt;
      ++retries;
      ready.emplace(next, i);
      cv.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < o.concurrency; ++w) threads.emplace_back(worker, w);
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  skr::Json refused = skr::Json::object();
  for (const auto& [k, v] : answers) refused[k] = v;
  const auto n = static_cast<double>(o.vms);
  skr::Json result = {{"mode", "storm"},
                      {"evidence", o.evidence.evidence},
                      {"key_type", o.evidence.key_type},
                      {"vms", o.vms},
                      {"concurrency", o.concurrency},
                      {"sources", std::max<std::size_t>(1, sources.size())},
                      {"succeeded", succeeded},
                      {"failed", failed},
                      {"success_rate", n > 0 ? static_cast<double>(succeeded) / n : 0.0},
                      {"retries", retries},
                      {"p50_ms", Pct(lat, 0.50)},
                      {"p99_ms", Pct(lat, 0.99)},
                      {"max_ms", lat.empty() ? 0.0 : lat.back()},
                      {"seconds", elapsed},
                      {"unsuccessful_answers", refused}};
  meter.Add(result, succeeded);
  std::cout << skr::DumpJson(result) << std::endl;
  return succeeded == 0 ? 1 : 0;
}

// ------------------------------------------------------------------------------------- url ---
int RunUrl(const Options& o) {
  const auto sources = skr::bench::ExpandSourceRange(o.source);
  std::string body;
  if (!o.body_file.empty()) {
    auto b = skr::ReadFile(o.body_file);
    if (!b) {
      std::cerr << b.error().message() << "\n";
      return 2;
    }
    body = *b;
  }
  std::optional<ssl::context> ctx;
  if (o.target.tls) ctx.emplace(skr::bench::MakeClientContext(o.cacert));
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> ok{0}, failed{0};
  std::mutex mu;
  std::vector<double> lat;
  std::string first_error;
  SkrdMeter meter(o.skrd_pid);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int i = 0; i < o.concurrency; ++i) {
    threads.emplace_back([&, i] {
      Conn conn(ctx ? &*ctx : nullptr, o.target, SourceFor(sources, i));
      std::vector<double> local;
      while (!stop.load()) {
        const auto t0 = Clock::now();
        Response r = conn.Send(o.method, o.url_path, body, false, o.content_type);
        if (r.status >= 200 && r.status < 300) {
          ok.fetch_add(1);
          local.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        } else {
          failed.fetch_add(1);
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.empty()) {
            first_error = r.status ? std::to_string(r.status) + " " + r.body.substr(0, 200)
                                   : r.transport_error;
          }
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      lat.insert(lat.end(), local.begin(), local.end());
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  stop.store(true);
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  skr::Json result = {{"mode", "url"},
                      {"method", o.method},
                      {"path", o.url_path},
                      {"tls", o.target.tls},
                      {"concurrency", o.concurrency},
                      {"seconds", elapsed},
                      {"requests", ok.load()},
                      {"failed", failed.load()},
                      {"requests_per_s", static_cast<double>(ok.load()) / elapsed},
                      {"p50_ms", Pct(lat, 0.50)},
                      {"p99_ms", Pct(lat, 0.99)}};
  if (!first_error.empty()) result["first_error"] = first_error;
  meter.Add(result, ok.load());
  std::cout << skr::DumpJson(result) << std::endl;
  return ok.load() == 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool plain = false;
  CLI::App app{"skr boot-storm load generator"};
  app.add_option("--host", o.target.host, "server address (default 127.0.0.1)");
  app.add_option("--port", o.target.port)->required();
  app.add_option("--cacert", o.cacert, "CA certificate (PEM) the server's certificate chains to");
  app.add_option("--tenant", o.tenant);
  app.add_option("--key", o.key);
  app.add_option("--concurrency", o.concurrency, "VMs (loop), requests in flight (storm, url)");
  app.add_option("--seconds", o.seconds);
  app.add_option("--mode", o.mode)->check(CLI::IsMember({"keepalive", "new"}));
  app.add_option("--skrd-pid", o.skrd_pid, "report this process's CPU time and peak RSS");
  app.add_option("--source", o.source, "source address or range 127.0.0.A-127.0.0.B");
  app.add_option("--evidence", o.evidence.evidence)
      ->check(CLI::IsMember({"sample", "sev-snp", "az-snp-vtpm", "tdx", "tpm"}));
  app.add_option("--attester-key", o.evidence.attester_key, "sample attester private key (PEM)");
  app.add_option("--snp-vcek-key", o.evidence.snp_vcek_key, "VCEK private key (test PKI)");
  app.add_option("--snp-vcek", o.evidence.snp_vcek, "VCEK certificate PEM sent with each report");
  app.add_option("--tpm-seed", o.evidence.tpm_seed,
                 "tpm: seed of the test AK CA (skr-make-test-tpm-ca writes its certificate)");
  app.add_option("--tdx-seed", o.evidence.tdx_seed,
                 "tdx: seed of the Intel-shaped test PKI (skr-make-test-intel-pki DIR SEED)");
  app.add_option(
         "--key-type", o.evidence.key_type,
         "ephemeral tee-pubkey: ec-p384 / ec-p256 (ECDH-ES+A256KW) or rsa-3072 (RSA-OAEP-256)")
      ->check(CLI::IsMember({"ec-p384", "ec-p256", "rsa-3072"}));
  app.add_option("--vms", o.vms, "storm mode: this many VMs boot once each");
  app.add_option("--retries", o.retries, "storm: retries per VM on 429 / 503 / transport errors");
  app.add_option("--deadline", o.deadline, "storm: seconds per VM from its first request");
  app.add_option("--url-path", o.url_path, "url mode: request this path");
  app.add_option("--method", o.method)->check(CLI::IsMember({"GET", "POST"}));
  app.add_option("--body-file", o.body_file, "url mode: request body");
  app.add_option("--content-type", o.content_type, "url mode: body content type");
  app.add_flag("--plain", plain, "url mode: plain HTTP instead of TLS");
  CLI11_PARSE(app, argc, argv);
  o.target.tls = !plain;
  if (o.target.tls && o.cacert.empty()) {
    std::cerr << "--cacert is required for TLS\n";
    return 2;
  }
  if (!o.url_path.empty()) return RunUrl(o);
  if (o.tenant.empty() || o.key.empty()) {
    std::cerr << "--tenant and --key are required\n";
    return 2;
  }
  const int vms = o.vms > 0 ? o.vms : o.concurrency;
  auto ev = skr::bench::EvidenceFactory::Create(o.evidence, vms);
  if (!ev) {
    std::cerr << ev.error().message() << "\n";
    return 2;
  }
  return o.vms > 0 ? RunStorm(o, **ev) : RunLoop(o, **ev);
}
