// SPDX-License-Identifier: Apache-2.0
// The transport's limits as units (issue 10): source keys, token buckets, connection counts,
// the bounded worker pool and the HTTP/1.1 framing rules.
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "server/http/framing.h"
#include "server/http/rate_limit.h"
#include "server/http/worker_pool.h"

namespace http = skr::server::http;
namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

TEST_CASE("SourceKey: IPv4 as is, IPv6 by /64, IPv4-mapped as IPv4", "[server][limits]") {
  CHECK(http::SourceKey("192.0.2.7") == "192.0.2.7");
  CHECK(http::SourceKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64");
  CHECK(http::SourceKey("2001:db8:1:2::1") == http::SourceKey("2001:db8:1:2:ffff::9"));
  CHECK(http::SourceKey("2001:db8:1:3::1") != http::SourceKey("2001:db8:1:2::1"));
  CHECK(http::SourceKey("::ffff:192.0.2.7") == "192.0.2.7");
}

TEST_CASE("RateLimiter: burst, refill and per-source isolation", "[server][limits]") {
  http::RateLimiter rl(/*rate=*/2, /*burst=*/3, /*max_sources=*/100);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) CHECK(rl.Take("a", t0) == 0);
  CHECK(rl.Take("a", t0) == 1);             // empty: come back in 1 s (rounded up)
  CHECK(rl.Take("b", t0) == 0);             // another source has its own bucket
  CHECK(rl.Take("a", t0 + 500ms) == 0);     // 2 tokens/s: one token after 0.5 s
  CHECK(rl.Take("a", t0 + 500ms) == 1);
  CHECK(rl.Take("a", t0 + 10s) == 0);       // refilled, capped at the burst
  CHECK(rl.Take("a", t0 + 10s) == 0);
  CHECK(rl.Take("a", t0 + 10s) == 0);
  CHECK(rl.Take("a", t0 + 10s) == 1);
}

TEST_CASE("RateLimiter: a spray of addresses cannot grow the table or reset a bucket",
          "[server][limits][attack]") {
  http::RateLimiter rl(1, 2, /*max_sources=*/16);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(rl.Take("victim-of-itself", t0) == 0);
  CHECK(rl.Take("victim-of-itself", t0) == 0);
  CHECK(rl.Take("victim-of-itself", t0) > 0);
  for (int i = 0; i < 1000; ++i) (void)rl.Take("spray-" + std::to_string(i), t0);
  CHECK(rl.size() <= 16);
  // The emptied bucket was not evicted (only full, idle buckets are), so it is still empty.
  CHECK(rl.Take("victim-of-itself", t0) > 0);
}

TEST_CASE("ConnectionCounter: at most N open per source", "[server][limits]") {
  http::ConnectionCounter c(2);
  CHECK(c.TryAdd("a"));
  CHECK(c.TryAdd("a"));
  CHECK_FALSE(c.TryAdd("a"));
  CHECK(c.TryAdd("b"));
  c.Remove("a");
  CHECK(c.TryAdd("a"));
}

TEST_CASE("WorkerPool: a full queue refuses at once; queued jobs learn their wait",
          "[server][limits]") {
  http::WorkerPool pool(1, 2);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> ran{0};
  std::promise<void> started;
  REQUIRE(pool.TrySubmit([&, gate](auto) {
    started.set_value();
    gate.wait();
    ++ran;
  }));
  started.get_future().wait();  // the one worker is busy
  std::promise<long> waited_ms;
  REQUIRE(pool.TrySubmit([&](http::WorkerPool::Clock::duration w) {
    waited_ms.set_value(std::chrono::duration_cast<std::chrono::milliseconds>(w).count());
    ++ran;
  }));
  REQUIRE(pool.TrySubmit([&](auto) { ++ran; }));
  CHECK(pool.queued() == 2);
  CHECK_FALSE(pool.TrySubmit([&](auto) { ++ran; }));  // queue_limit 2: refused, not queued
  std::this_thread::sleep_for(100ms);
  release.set_value();
  CHECK(waited_ms.get_future().get() >= 90);
  for (int i = 0; i < 500 && ran.load() < 3; ++i) std::this_thread::sleep_for(10ms);
  pool.Shutdown();
  CHECK(ran.load() == 3);
  CHECK_FALSE(pool.TrySubmit([](auto) {}));
}

namespace {
bhttp::request_header<bhttp::fields> Header(std::string_view target, unsigned version = 11) {
  bhttp::request_header<bhttp::fields> h;
  h.method(bhttp::verb::post);
  h.target(target);
  h.version(version);
  return h;
}
}  // namespace

TEST_CASE("CheckFraming: RFC 9112 message framing rules", "[server][http][attack]") {
  auto h = Header("/v1/challenge");
  CHECK(http::CheckFraming(h).has_value());  // HTTP/1.1 without Host
  h.set(bhttp::field::host, "skr.example:8443");
  CHECK_FALSE(http::CheckFraming(h).has_value());
  CHECK_FALSE(http::CheckFraming(Header("/x", 10)).has_value());  // HTTP/1.0: Host optional

  h.set(bhttp::field::content_length, "2");
  CHECK_FALSE(http::CheckFraming(h).has_value());
  h.set(bhttp::field::transfer_encoding, "chunked");
  CHECK(*http::CheckFraming(h) == "Content-Length and Transfer-Encoding together");
  h.erase(bhttp::field::content_length);
  CHECK_FALSE(http::CheckFraming(h).has_value());
  h.set(bhttp::field::transfer_encoding, " Chunked ");
  CHECK_FALSE(http::CheckFraming(h).has_value());
  for (const char* te : {"chunked, identity", "xchunked", "gzip, chunked", "identity", ""}) {
    INFO(te);
    h.set(bhttp::field::transfer_encoding, te);
    CHECK(http::CheckFraming(h).has_value());
  }
  h.set(bhttp::field::transfer_encoding, "chunked");
  h.insert(bhttp::field::transfer_encoding, "chunked");
  CHECK(http::CheckFraming(h).has_value());

  auto two_hosts = Header("/");
  two_hosts.insert(bhttp::field::host, "a");
  two_hosts.insert(bhttp::field::host, "b");
  CHECK(http::CheckFraming(two_hosts).has_value());

  auto abs = Header("https://skr.example:8443/v1/challenge?x=1");
  abs.set(bhttp::field::host, "SKR.example:8443");
  CHECK_FALSE(http::CheckFraming(abs).has_value());
  CHECK(http::OriginForm(abs.target()) == "/v1/challenge?x=1");
  CHECK(http::OriginForm("http://h") == "/");
  CHECK(http::OriginForm("/a?b") == "/a?b");
  abs.target("https://evil.example/v1/challenge");
  CHECK(http::CheckFraming(abs).has_value());
  abs.target("https://user@skr.example:8443/");
  CHECK(http::CheckFraming(abs).has_value());
  abs.target("*");
  CHECK(http::CheckFraming(abs).has_value());
  abs.target("skr.example:8443");
  CHECK(http::CheckFraming(abs).has_value());
}
