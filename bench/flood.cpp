// SPDX-License-Identifier: Apache-2.0
// skr-flood: an attacker without a token, for the storm-under-attack benchmark (issue 10). From
// its own source address(es) (--source 127.0.0.2, bind before connect), concurrently:
//   - challenge requests at full speed, on keep-alive connections (--challenge-keepalive threads)
//     and on a new TLS connection each (--challenge-new threads; these rotate over the
//     addresses of a --source range, the keep-alive ones use one address each);
//   - --idle N idle TCP connections held open: half send nothing, half send the first bytes of a
//     TLS ClientHello and stall; each is reopened --idle-reopen-ms (default 1,000) after the
//     server closes it, so 2,000 slots stay claimed without turning into a connect flood;
//   - bogus releases (--bogus threads, keep-alive) for random tenant names: valid-looking JSON
//     (random nonce, a real P-256 tee-pubkey, sev-snp evidence of the right shape).
// Runs until --seconds pass (0: until SIGTERM / SIGINT), then prints one JSON line of counts per
// kind: 2xx / 429 / 503 / other status / transport failures (closed, refused, timed out), and
// for idle connections: opened, closed by the server, connect failures, open at the end.
//   skr-flood --port P --cacert CA --source 127.0.0.2 --idle 2000 [--seconds S] [--tenant T]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "bench/bench_client.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "common/json.h"
#include "common/ossl.h"

namespace {
using Clock = std::chrono::steady_clock;
std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

struct Counts {
  std::atomic<std::uint64_t> ok{0}, s429{0}, s503{0}, other{0}, transport{0};
  void Add(const skr::bench::Response& r) {
    if (r.status >= 200 && r.status < 300)
      ok.fetch_add(1);
    else if (r.status == 429)
      s429.fetch_add(1);
    else if (r.status == 503)
      s503.fetch_add(1);
    else if (r.status != 0)
      other.fetch_add(1);
    else
      transport.fetch_add(1);
  }
  skr::Json ToJson() const {
    return {{"2xx", ok.load()},
            {"429", s429.load()},
            {"503", s503.load()},
            {"other_status", other.load()},
            {"closed_or_failed", transport.load()}};
  }
};

// ---------------------------------------------------------------------- idle connections ---
struct IdleCounts {
  std::uint64_t opened = 0, closed_by_server = 0, connect_failed = 0, open_now = 0;
};

// The first 64 bytes of a TLS 1.3 ClientHello record (record header announcing 512 bytes): a
// handshake the server has to wait for.
const unsigned char kPartialHello[] = {
    0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x5a, 0x5a, 0x5a, 0x5a,
    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
    0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a};

IdleCounts RunIdle(int n, const std::vector<std::string>& sources, const std::string& host,
                   std::uint16_t port, int reopen_ms) {
  IdleCounts c;
  struct Slot {
    int fd = -1;
    bool connected = false;
    Clock::time_point reopen_at{};
  };
  std::vector<Slot> slots(static_cast<std::size_t>(n));
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(port);
  inet_pton(AF_INET, host.c_str(), &dst.sin_addr);
  auto open_slot = [&](std::size_t i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      ++c.connect_failed;
      slots[i].reopen_at = Clock::now() + std::chrono::milliseconds(reopen_ms);
      return;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    if (!sources.empty()) {
      sockaddr_in src{};
      src.sin_family = AF_INET;
      inet_pton(AF_INET, sources[i % sources.size()].c_str(), &src.sin_addr);
      ::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof(src));  // NOLINT
    }
    ::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof(dst));  // NOLINT: EINPROGRESS
    slots[i].fd = fd;
    slots[i].connected = false;
  };
  auto close_slot = [&](std::size_t i, bool by_server) {
    ::close(slots[i].fd);
    if (slots[i].connected) {
      --c.open_now;
      if (by_server) ++c.closed_by_server;
    } else {
      ++c.connect_failed;
    }
    slots[i].fd = -1;
    slots[i].connected = false;
    slots[i].reopen_at = Clock::now() + std::chrono::milliseconds(reopen_ms);
  };
  for (std::size_t i = 0; i < slots.size(); ++i) open_slot(i);
  std::vector<pollfd> pfds;
  std::vector<std::size_t> which;
  char sink[4096];
  while (!g_stop.load()) {
    pfds.clear();
    which.clear();
    const auto now = Clock::now();
    for (std::size_t i = 0; i < slots.size(); ++i) {
      if (slots[i].fd < 0) {
        if (now >= slots[i].reopen_at) open_slot(i);
        if (slots[i].fd < 0) continue;
      }
      pfds.push_back({slots[i].fd, static_cast<short>(slots[i].connected ? POLLIN : POLLOUT), 0});
      which.push_back(i);
    }
    const int r = ::poll(pfds.data(), pfds.size(), 50);
    if (r <= 0) continue;
    for (std::size_t k = 0; k < pfds.size(); ++k) {
      if (pfds[k].revents == 0) continue;
      const std::size_t i = which[k];
      Slot& s = slots[i];
      if (!s.connected) {
        int err = 0;
        socklen_t len = sizeof(err);
        ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || (pfds[k].revents & (POLLERR | POLLHUP))) {
          close_slot(i, false);
          continue;
        }
        s.connected = true;
        ++c.opened;
        ++c.open_now;
        // Odd slots stall inside a TLS handshake, even slots send nothing at all.
        if (i % 2 == 1) {
          if (::send(s.fd, kPartialHello, sizeof(kPartialHello), MSG_NOSIGNAL) < 0)
            close_slot(i, true);
        }
        continue;
      }
      // Readable: the server wrote something (an alert) or closed.
      const ssize_t got = ::recv(s.fd, sink, sizeof(sink), 0);
      if (got <= 0) close_slot(i, true);
    }
  }
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (slots[i].fd >= 0) ::close(slots[i].fd);
  }
  return c;
}

std::string RandomName(std::mt19937_64& rng) {
  static const char kAlpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s = "t-";
  for (int i = 0; i < 12; ++i) s += kAlpha[rng() % (sizeof(kAlpha) - 1)];
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  skr::bench::Target target;
  std::string cacert, source = "127.0.0.2", tenant = "bench";
  int seconds = 0, idle = 2000, idle_reopen_ms = 1000, ch_keep = 1, ch_new = 1, bogus = 1;
  CLI::App app{"skr flood: unauthenticated load from another source address"};
  app.add_option("--host", target.host);
  app.add_option("--port", target.port)->required();
  app.add_option("--cacert", cacert)->required();
  app.add_option("--source", source, "source address or range 127.0.0.A-127.0.0.B");
  app.add_option("--seconds", seconds, "0: until SIGTERM");
  app.add_option("--tenant", tenant, "tenant named in the flood's challenge requests");
  app.add_option("--idle", idle, "idle TCP connections held open");
  app.add_option("--idle-reopen-ms", idle_reopen_ms, "delay before reopening a closed one");
  app.add_option("--challenge-keepalive", ch_keep, "threads: challenges on keep-alive connections");
  app.add_option("--challenge-new", ch_new, "threads: challenges on a new connection each");
  app.add_option("--bogus", bogus, "threads: releases for random unknown tenants (keep-alive)");
  CLI11_PARSE(app, argc, argv);

  // 2,000 idle sockets + the rest: raise the descriptor limit to its hard limit.
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  auto sources = skr::bench::ExpandSourceRange(source);
  if (sources.empty()) sources.push_back("");  // the kernel picks the source address
  auto ctx = skr::bench::MakeClientContext(cacert);

  const std::string challenge_body = skr::DumpJson({{"tenant", tenant}});
  auto eph = skr::GenerateEcKey("P-256").value();
  const skr::Json jwk = skr::PublicJwkFromKey(eph.get(), "ECDH-ES+A256KW").value();
  const std::string fake_report = skr::Base64Encode(skr::RandomBytes(1184));

  Counts challenge_keep, challenge_new, bogus_release;
  std::vector<std::thread> threads;
  auto challenger = [&](int i, bool keep, Counts& counts) {
    if (keep) {
      skr::bench::Conn conn(&ctx, target, sources[static_cast<std::size_t>(i) % sources.size()],
                            std::chrono::seconds(5));
      while (!g_stop.load()) counts.Add(conn.Send("POST", "/v1/challenge", challenge_body, true));
      return;
    }
    // A new connection per request, from the next source address of the range each time.
    for (std::size_t n = static_cast<std::size_t>(i); !g_stop.load(); n += 7) {
      skr::bench::Conn conn(&ctx, target, sources[n % sources.size()], std::chrono::seconds(5));
      counts.Add(conn.Send("POST", "/v1/challenge", challenge_body, false));
    }
  };
  int t = 0;
  for (int i = 0; i < ch_keep; ++i)
    threads.emplace_back(challenger, t++, true, std::ref(challenge_keep));
  for (int i = 0; i < ch_new; ++i)
    threads.emplace_back(challenger, t++, false, std::ref(challenge_new));
  for (int i = 0; i < bogus; ++i) {
    threads.emplace_back([&, i] {
      std::mt19937_64 rng(static_cast<std::uint64_t>(i) + 17);
      skr::bench::Conn conn(&ctx, target, sources[static_cast<std::size_t>(i) % sources.size()],
                            std::chrono::seconds(5));
      while (!g_stop.load()) {
        const std::string body =
            skr::DumpJson({{"nonce", skr::Base64Encode(skr::RandomBytes(32))},
                           {"tee-pubkey", jwk},
                           {"evidence", {{"type", "sev-snp"}, {"report", fake_report}}}});
        bogus_release.Add(
            conn.Send("POST", "/v1/tenants/" + RandomName(rng) + "/keys/k/release", body, true));
      }
    });
  }
  IdleCounts idle_counts;
  std::thread idler;
  if (idle > 0) {
    idler = std::thread(
        [&] { idle_counts = RunIdle(idle, sources, target.host, target.port, idle_reopen_ms); });
  }
  const auto start = Clock::now();
  while (!g_stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (seconds > 0 && Clock::now() - start >= std::chrono::seconds(seconds)) g_stop.store(true);
  }
  for (auto& th : threads) th.join();
  if (idler.joinable()) idler.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  skr::Json out = {{"mode", "flood"},
                   {"source", source},
                   {"seconds", elapsed},
                   {"challenge_keepalive", challenge_keep.ToJson()},
                   {"challenge_new_connection", challenge_new.ToJson()},
                   {"bogus_release", bogus_release.ToJson()},
                   {"idle",
                    {{"target", idle},
                     {"opened", idle_counts.opened},
                     {"closed_by_server", idle_counts.closed_by_server},
                     {"connect_failed", idle_counts.connect_failed},
                     {"open_at_end", idle_counts.open_now}}}};
  std::cout << skr::DumpJson(out) << std::endl;
  return 0;
}
