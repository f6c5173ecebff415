// SPDX-License-Identifier: Apache-2.0
// skr-agent honours Retry-After (RFC 9110 section 10.2.3) on 429 and 5xx answers: RetryDelay as a
// pure function, and FetchWithFailover against fake servers with a fake clock (FakeRetryEnv).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "client/agent.h"
#include "tests/client/agent_fakes.h"
#include "tests/support/test_support.h"

namespace skr::client {
namespace {

using fakes::CopyPrivateKey;
using fakes::FakeConnector;
using fakes::FakeRetryEnv;
using fakes::FakeSkrd;
using std::chrono::milliseconds;
using std::chrono::seconds;

FetchOptions Options(EvidenceProvider& evidence) {
  FetchOptions opts;
  opts.tenant = "acme";
  opts.key = "disk";
  opts.evidence = &evidence;
  return opts;
}

milliseconds Total(const std::vector<milliseconds>& v) {
  milliseconds sum{0};
  for (const auto d : v) sum += d;
  return sum;
}

}  // namespace

TEST_CASE("RetryDelay: Retry-After is a floor, with a spread of up to max(e, 1 s) on top",
          "[client][unit]") {
  const RetryPolicy p;  // base 500 ms, cap 8 s
  SECTION("no Retry-After: exactly the jittered backoff") {
    for (int r = 1; r <= 8; ++r) {
      CHECK(RetryDelay(p, r, std::nullopt, 0.5, 0.9) == BackoffDelay(p, r, 0.5));
    }
  }
  SECTION("Retry-After: 1 in round 1 (e = 0.5 s): 1 s to 2 s") {
    CHECK(RetryDelay(p, 1, seconds(1), 0.5, 0.0).count() == 1000);
    CHECK(RetryDelay(p, 1, seconds(1), 0.5, 0.5).count() == 1500);
    CHECK(RetryDelay(p, 1, seconds(1), 0.5, 1.0).count() == 2000);
  }
  SECTION("the spread window is min(retry_after, max(e, 1 s))") {
    CHECK(RetryDelay(p, 4, seconds(10), 0.0, 0.5).count() == 12000);  // e = 4 s
    CHECK(RetryDelay(p, 1, seconds(300), 0.0, 1.0).count() == 301000);
    CHECK(RetryDelay(p, 9, seconds(300), 0.0, 1.0).count() == 308000);  // e = cap = 8 s
  }
  SECTION("a Retry-After shorter than the backoff leaves the backoff") {
    CHECK(RetryDelay(p, 5, seconds(1), 0.5, 1.0) == BackoffDelay(p, 5, 0.5));  // 6 s > 2 s
    CHECK(RetryDelay(p, 1, seconds(0), 0.5, 1.0) == BackoffDelay(p, 1, 0.5));  // Retry-After: 0
  }
  SECTION("jitter values are clamped, NaN is 0; retry < 1 is no delay") {
    CHECK(RetryDelay(p, 1, seconds(1), 0.5, -3.0).count() == 1000);
    CHECK(RetryDelay(p, 1, seconds(1), 0.5, 7.0).count() == 2000);
    CHECK(RetryDelay(p, 1, seconds(1), 0.5, std::nan("")).count() == 1000);
    CHECK(RetryDelay(p, 0, seconds(5), 0.5, 0.5).count() == 0);
  }
}

TEST_CASE("FetchWithFailover: a 429 or 503 with Retry-After holds the next round back that long",
          "[client][unit]") {
  FakeSkrd a;
  SampleAttester attester(CopyPrivateKey(a.sample_key()), DefaultSampleClaims());
  FakeRetryEnv env;  // jitter 0.5
  FakeConnector connector(env);
  connector.servers["https://a:8443"] = &a;
  std::vector<AttemptRecord> log;
  const AttemptLogger logger = [&](const AttemptRecord& r) { log.push_back(r); };
  a.release_error_status = GENERATE(429, 503);
  a.release_errors_left = 1;
  a.release_retry_after = seconds(5);

  auto r = FetchWithFailover(Options(attester), {"https://a:8443"}, RetryPolicy{}, connector, env,
                             logger);
  REQUIRE(r.has_value());
  CHECK(r->attempts == 2);
  // 5 s + 0.5 * min(5 s, max(0.5 s, 1 s)); without Retry-After it would be 375 ms.
  CHECK(env.sleeps == std::vector<milliseconds>{milliseconds(5500)});
  REQUIRE(log.size() == 2);
  CHECK(log[0].status == a.release_error_status);
  CHECK(log[0].retry_after == std::optional<seconds>(seconds(5)));
  CHECK(log[0].will_retry);
  CHECK(log[1].retry_after == std::nullopt);
  CHECK(log[1].reason == "released");
}

TEST_CASE("FetchWithFailover: Retry-After does not hold back the other URLs of the round",
          "[client][unit]") {
  FakeSkrd a;
  FakeSkrd b;
  SampleAttester attester(CopyPrivateKey(b.sample_key()), DefaultSampleClaims());
  FakeRetryEnv env;
  FakeConnector connector(env);
  connector.servers["https://a:8443"] = &a;
  connector.servers["https://b:8443"] = &b;
  std::vector<AttemptRecord> log;
  const AttemptLogger logger = [&](const AttemptRecord& r) { log.push_back(r); };
  const std::vector<std::string> urls = {"https://a:8443", "https://b:8443"};
  a.release_error_status = 503;
  a.release_retry_after = seconds(3);
  b.release_error_status = 503;
  b.release_errors_left = 1;

  SECTION("b right after a in each round; the round's Retry-After before the next round") {
    auto r = FetchWithFailover(Options(attester), urls, RetryPolicy{}, connector, env, logger);
    REQUIRE(r.has_value());
    CHECK(r->url == "https://b:8443");
    CHECK(r->attempts == 4);
    CHECK(connector.connects == std::vector<std::string>{urls[0], urls[1], urls[0], urls[1]});
    REQUIRE(log.size() == 4);
    CHECK(log[1].elapsed_ms == log[0].elapsed_ms);  // no wait between a and b
    CHECK(log[3].elapsed_ms == log[2].elapsed_ms);
    CHECK(log[1].retry_after == std::nullopt);
    CHECK(env.sleeps == std::vector<milliseconds>{milliseconds(3500)});  // 3 s + 0.5 * 1 s
  }
  SECTION("the largest Retry-After of the round wins") {
    b.release_retry_after = seconds(7);
    auto r = FetchWithFailover(Options(attester), urls, RetryPolicy{}, connector, env, logger);
    REQUIRE(r.has_value());
    CHECK(env.sleeps == std::vector<milliseconds>{milliseconds(7500)});
  }
}

TEST_CASE("FetchWithFailover: agents told 'Retry-After: 1' come back spread over a second",
          "[client][unit]") {
  FakeSkrd a;  // always 503 + Retry-After: 1 (an overloaded skrd shedding load)
  a.release_error_status = 503;
  a.release_retry_after = seconds(1);
  SampleAttester attester(CopyPrivateKey(a.sample_key()), DefaultSampleClaims());
  SystemRetryEnvironment rng;  // real randomness (RAND_bytes), as in skr-agent
  RetryPolicy policy;
  policy.retries = 1;
  std::vector<milliseconds> waits;
  for (int vm = 0; vm < 40; ++vm) {
    FakeRetryEnv env;
    env.jitter_source = [&] { return rng.Jitter(); };
    FakeConnector connector(env);
    connector.servers["https://a:8443"] = &a;
    auto r = FetchWithFailover(Options(attester), {"https://a:8443"}, policy, connector, env);
    CHECK(test::CodeOf(r) == ErrorCode::kUnavailable);
    REQUIRE(env.sleeps.size() == 1);
    CHECK(env.jitter_draws == 2);  // backoff and spread draw separately
    waits.push_back(env.sleeps[0]);
  }
  const auto [lo, hi] = std::minmax_element(waits.begin(), waits.end());
  CHECK(*lo >= milliseconds(1000));  // never earlier than the server asked
  CHECK(*hi <= milliseconds(2000));
  CHECK(*hi - *lo >= milliseconds(500));  // 40 uniform draws over 1 s: spread (P(fail) ~ 2^-39)
  CHECK(std::set<milliseconds>(waits.begin(), waits.end()).size() >= 30);
}

TEST_CASE("FetchWithFailover: the deadline bounds every Retry-After wait", "[client][unit]") {
  FakeSkrd a;
  a.release_error_status = 503;
  SampleAttester attester(CopyPrivateKey(a.sample_key()), DefaultSampleClaims());
  FakeRetryEnv env;  // jitter 0.5
  FakeConnector connector(env);
  connector.servers["https://a:8443"] = &a;
  std::vector<AttemptRecord> log;
  const AttemptLogger logger = [&](const AttemptRecord& r) { log.push_back(r); };
  RetryPolicy policy;
  const auto start = env.now;

  SECTION("a wait that would pass the deadline is not slept: deadline error at once") {
    a.release_retry_after = kMaxRetryAfter;  // 300 s, more than the 60 s deadline
    auto r =
        FetchWithFailover(Options(attester), {"https://a:8443"}, policy, connector, env, logger);
    CHECK(test::CodeOf(r) == ErrorCode::kUnavailable);
    CHECK(test::ReasonOf(r) == "deadline_exceeded");
    CHECK(ExitCodeFor(r.error()) == kExitUnavailable);
    CHECK(env.sleeps.empty());
    CHECK(connector.connects.size() == 1);
    REQUIRE(log.size() == 1);
    CHECK(log[0].retry_after == std::optional<seconds>(kMaxRetryAfter));
  }
  SECTION("waits are honoured until the next one would pass the deadline") {
    a.release_retry_after = seconds(20);
    policy.retries = 10;
    policy.deadline = seconds(45);
    auto r =
        FetchWithFailover(Options(attester), {"https://a:8443"}, policy, connector, env, logger);
    CHECK(test::ReasonOf(r) == "deadline_exceeded");
    // 20 s + 0.5 * 1 s twice (41 s), then 20 s + 0.5 * 2 s would end at 62 s > 45 s.
    CHECK(env.sleeps == std::vector<milliseconds>{milliseconds(20500), milliseconds(20500)});
    CHECK(connector.connects.size() == 3);
    CHECK(env.now - start <= policy.deadline);
    CHECK(Total(env.sleeps) <= policy.deadline);
  }
}

TEST_CASE("FetchWithFailover: without a usable Retry-After the plain backoff applies",
          "[client][unit]") {
  // A malformed Retry-After reaches the agent as absent (ApiClient::last_retry_after).
  FakeSkrd a;
  a.release_error_status = 503;
  a.release_errors_left = 1;
  SampleAttester attester(CopyPrivateKey(a.sample_key()), DefaultSampleClaims());
  FakeRetryEnv env;
  FakeConnector connector(env);
  connector.servers["https://a:8443"] = &a;
  auto r = FetchWithFailover(Options(attester), {"https://a:8443"}, RetryPolicy{}, connector, env);
  REQUIRE(r.has_value());
  CHECK(env.sleeps == std::vector<milliseconds>{milliseconds(375)});
  CHECK(env.jitter_draws == 1);
}

}  // namespace skr::client
