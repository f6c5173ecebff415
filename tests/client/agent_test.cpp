// SPDX-License-Identifier: Apache-2.0
#include "client/agent.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/encoding.h"
#include "common/jose.h"
#include "common/ossl.h"
#include "tests/client/agent_fakes.h"
#include "tests/support/test_support.h"

namespace skr::client {
namespace {

using fakes::CopyPrivateKey;
using fakes::FailingEvidence;
using fakes::FakeConnector;
using fakes::FakeRetryEnv;
using fakes::FakeSkrd;

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("ParseKeyType: accepts the five names and maps them to algs", "[client][unit]") {
  struct Row {
    const char* text;
    KeyType type;
    const char* alg;
  };
  const Row row = GENERATE(Row{"ec-p256", KeyType::kEcP256, "ECDH-ES+A256KW"},
                           Row{"ec-p384", KeyType::kEcP384, "ECDH-ES+A256KW"},
                           Row{"ec-p521", KeyType::kEcP521, "ECDH-ES+A256KW"},
                           Row{"rsa-3072", KeyType::kRsa3072, "RSA-OAEP-256"},
                           Row{"rsa-4096", KeyType::kRsa4096, "RSA-OAEP-256"});
  auto t = ParseKeyType(row.text);
  REQUIRE(t.has_value());
  CHECK(*t == row.type);
  CHECK(KeyTypeName(*t) == row.text);
  CHECK(KeyTypeAlg(*t) == row.alg);
}

TEST_CASE("ParseKeyType: rejects unknown names", "[client][unit]") {
  const std::string bad = GENERATE("", "ec", "EC-P384", "p384", "rsa-2048", "rsa-1024",
                                   "ec-p384 ", "ed25519");
  auto t = ParseKeyType(bad);
  CHECK(test::CodeOf(t) == ErrorCode::kInvalidArgument);
  CHECK(test::ReasonOf(t) == "bad_key_type");
}

TEST_CASE("GenerateEphemeralKey: public JWK carries the alg and no private members",
          "[client][unit]") {
  const KeyType type = GENERATE(KeyType::kEcP256, KeyType::kEcP384, KeyType::kEcP521);
  auto k = GenerateEphemeralKey(type);
  REQUIRE(k.has_value());
  CHECK(k->public_jwk["kty"] == "EC");
  CHECK(k->public_jwk["alg"] == "ECDH-ES+A256KW");
  CHECK_FALSE(k->public_jwk.contains("d"));
  CHECK(ParsePublicJwk(k->public_jwk).has_value());
}

TEST_CASE("ExitCodeFor: maps error codes to agent exit codes", "[client][unit]") {
  CHECK(ExitCodeFor(Error(ErrorCode::kPolicyDenied, "")) == 1);
  CHECK(ExitCodeFor(Error(ErrorCode::kInvalidArgument, "")) == 2);
  CHECK(ExitCodeFor(Error(ErrorCode::kNotFound, "")) == 2);
  CHECK(ExitCodeFor(Error(ErrorCode::kGone, "")) == 2);
  CHECK(ExitCodeFor(Error(ErrorCode::kFailedPrecondition, "")) == 2);
  CHECK(ExitCodeFor(Error(ErrorCode::kVerificationFailed, "")) == 3);
  CHECK(ExitCodeFor(Error(ErrorCode::kBadNonce, "")) == 3);
  CHECK(ExitCodeFor(Error(ErrorCode::kMalformedEvidence, "")) == 3);
  CHECK(ExitCodeFor(Error(ErrorCode::kUnavailable, "", "unreachable")) == 4);
  CHECK(ExitCodeFor(Error(ErrorCode::kSealed, "")) == 4);
  CHECK(ExitCodeFor(Error(ErrorCode::kInternal, "")) == 4);
  CHECK(ExitCodeFor(Error(ErrorCode::kRateLimited, "")) == 4);
}

TEST_CASE("FetchKey: challenge, bind, release, unwrap", "[client][unit]") {
  FakeSkrd skrd;
  SampleAttester attester(
      [&] {
        auto pem = PrivateKeyToPem(skrd.sample_key());
        REQUIRE(pem.has_value());
        auto k = LoadPrivateKeyPem(*pem);
        REQUIRE(k.has_value());
        return std::move(k).value();
      }(),
      DefaultSampleClaims());
  FetchOptions opts;
  opts.tenant = "acme";
  opts.key = "disk";
  opts.evidence = &attester;

  SECTION("released with each EC key type") {
    opts.key_type = GENERATE(KeyType::kEcP256, KeyType::kEcP384, KeyType::kEcP521);
    auto r = FetchKey(opts, skrd);
    REQUIRE(r.has_value());
    const auto want = skrd.material();
    CHECK(std::vector<std::uint8_t>(r->key.Reveal().begin(), r->key.Reveal().end()) == want);
    CHECK(r->version == 3);
    CHECK(r->audit_seq == 41);
    CHECK(skrd.challenged_tenant == "acme");
    CHECK(skrd.last_request["tee-pubkey"]["alg"] == "ECDH-ES+A256KW");
    CHECK_FALSE(skrd.last_request["tee-pubkey"].contains("d"));
    CHECK(skrd.last_request["evidence"]["type"] == "sample");
  }
  SECTION("released with an RSA-3072 key") {
    opts.key_type = KeyType::kRsa3072;
    auto r = FetchKey(opts, skrd);
    REQUIRE(r.has_value());
    CHECK(r->key.size() == 32);
    CHECK(skrd.last_request["tee-pubkey"]["alg"] == "RSA-OAEP-256");
  }
  SECTION("version is passed as a query parameter") {
    opts.version = 2;
    auto r = FetchKey(opts, skrd);
    REQUIRE(r.has_value());
    REQUIRE(skrd.calls.size() == 2);
    CHECK(skrd.calls[1] == "POST /v1/tenants/acme/keys/disk/release?version=2");
  }
  SECTION("policy denial propagates as kPolicyDenied (exit 1)") {
    skrd.deny = true;
    auto r = FetchKey(opts, skrd);
    CHECK(test::CodeOf(r) == ErrorCode::kPolicyDenied);
    CHECK(ExitCodeFor(r.error()) == 1);
  }
  SECTION("a JWE addressed to another key is refused") {
    skrd.wrong_recipient = true;
    auto r = FetchKey(opts, skrd);
    CHECK(test::CodeOf(r) == ErrorCode::kVerificationFailed);
    CHECK(test::ReasonOf(r) == "kid_mismatch");
  }
  SECTION("evidence that cannot be produced: exit 3") {
    FailingEvidence failing;
    opts.evidence = &failing;
    auto r = FetchKey(opts, skrd);
    CHECK(test::CodeOf(r) == ErrorCode::kMalformedEvidence);
    CHECK(test::ReasonOf(r) == "evidence_unavailable");
    CHECK(ExitCodeFor(r.error()) == 3);
    CHECK(skrd.calls.size() == 1);  // challenge only, no release attempt
  }
  SECTION("unknown key: kNotFound") {
    opts.key = "other";
    CHECK(test::CodeOf(FetchKey(opts, skrd)) == ErrorCode::kNotFound);
  }
  SECTION("missing evidence provider") {
    opts.evidence = nullptr;
    CHECK(test::CodeOf(FetchKey(opts, skrd)) == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("WriteSecretFile: creates the output with mode 0600", "[client][unit]") {
  test::TempDir dir;
  const std::vector<std::uint8_t> data = {0x00, 0x01, 0xfe, 0xff, 0x0a};

  SECTION("new file, even under a permissive umask") {
    const mode_t old = ::umask(0);
    auto r = WriteSecretFile(dir.file("key.bin"), data);
    ::umask(old);
    REQUIRE(r.has_value());
    CHECK(ModeOf(dir.file("key.bin")) == 0600);
    CHECK(test::ReadFileOrFail(dir.file("key.bin")) == std::string("\x00\x01\xfe\xff\x0a", 5));
  }
  SECTION("existing world-readable file is narrowed and truncated") {
    test::WriteFile(dir.file("key.bin"), std::string(100, 'x'), 0644);
    REQUIRE(::chmod(dir.file("key.bin").c_str(), 0644) == 0);
    auto r = WriteSecretFile(dir.file("key.bin"), data);
    REQUIRE(r.has_value());
    CHECK(ModeOf(dir.file("key.bin")) == 0600);
    CHECK(test::ReadFileOrFail(dir.file("key.bin")).size() == data.size());
  }
  SECTION("missing directory") {
    CHECK(test::CodeOf(WriteSecretFile(dir.file("no/such/dir/key.bin"), data)) ==
          ErrorCode::kInvalidArgument);
  }
  SECTION("a symlink at the output path is refused") {
    test::WriteFile(dir.file("target"), "keep", 0644);
    std::filesystem::create_symlink(dir.file("target"), dir.file("link"));
    CHECK(test::CodeOf(WriteSecretFile(dir.file("link"), data)) == ErrorCode::kInvalidArgument);
    CHECK(test::ReadFileOrFail(dir.file("target")) == "keep");
  }
}

TEST_CASE("LogLine: one JSON object with level, msg and fields", "[client][unit]") {
  auto line = LogLine("info", "key released", Json{{"tenant", "acme"}, {"version", 3}});
  CHECK(line.find('\n') == std::string::npos);
  auto j = ParseJson(line);
  REQUIRE(j.has_value());
  CHECK((*j)["level"] == "info");
  CHECK((*j)["msg"] == "key released");
  CHECK((*j)["tenant"] == "acme");
  CHECK((*j)["version"] == 3);
}

using std::chrono::milliseconds;

TEST_CASE("BackoffDelay: exponential from 0.5 s, capped at 8 s, equal jitter", "[client][unit]") {
  const RetryPolicy p;  // defaults: base 500 ms, cap 8000 ms
  SECTION("no jitter gives the lower half, full jitter the whole exponential step") {
    const std::vector<std::int64_t> full = {500, 1000, 2000, 4000, 8000, 8000, 8000};
    for (int r = 1; r <= 7; ++r) {
      CHECK(BackoffDelay(p, r, 1.0).count() == full[static_cast<std::size_t>(r - 1)]);
      CHECK(BackoffDelay(p, r, 0.0).count() == full[static_cast<std::size_t>(r - 1)] / 2);
    }
    CHECK(BackoffDelay(p, 3, 0.5).count() == 1500);
  }
  SECTION("large round numbers saturate at the cap without overflow") {
    CHECK(BackoffDelay(p, 1000, 1.0).count() == 8000);
    CHECK(BackoffDelay(p, 1 << 30, 0.25).count() == 5000);
  }
  SECTION("round 0 and out-of-range jitter") {
    CHECK(BackoffDelay(p, 0, 1.0).count() == 0);
    CHECK(BackoffDelay(p, -3, 1.0).count() == 0);
    CHECK(BackoffDelay(p, 1, -5.0).count() == 250);
    CHECK(BackoffDelay(p, 1, 7.0).count() == 500);
    CHECK(BackoffDelay(p, 1, std::nan("")).count() == 250);
  }
  SECTION("zero base stays zero (and terminates for huge round numbers)") {
    RetryPolicy z;
    z.backoff_base = milliseconds(0);
    CHECK(BackoffDelay(z, 1 << 30, 1.0).count() == 0);
  }
  SECTION("custom base and cap") {
    RetryPolicy q;
    q.backoff_base = milliseconds(100);
    q.backoff_cap = milliseconds(300);
    CHECK(BackoffDelay(q, 1, 1.0).count() == 100);
    CHECK(BackoffDelay(q, 2, 1.0).count() == 200);
    CHECK(BackoffDelay(q, 3, 1.0).count() == 300);
    CHECK(BackoffDelay(q, 3, 0.0).count() == 150);
  }
}

TEST_CASE("BackoffSchedule: one delay per retry, deterministic with an injected RNG",
          "[client][unit]") {
  RetryPolicy p;
  p.retries = 6;
  std::vector<double> draws = {0.0, 1.0, 0.5, 0.25, 0.75, 0.1};
  std::size_t i = 0;
  const auto schedule = BackoffSchedule(p, [&] { return draws.at(i++); });
  const std::vector<milliseconds> want = {milliseconds(250),  milliseconds(1000),
                                          milliseconds(1500), milliseconds(2500),
                                          milliseconds(7000), milliseconds(4400)};
  CHECK(schedule == want);
  CHECK(i == draws.size());
  p.retries = 0;
  CHECK(BackoffSchedule(p, [] { return 0.5; }).empty());
  // Every delay lies within [e/2, e] for any draw.
  p.retries = 10;
  for (const double j : {0.0, 0.3, 0.999}) {
    const auto s = BackoffSchedule(p, [j] { return j; });
    REQUIRE(s.size() == 10);
    for (std::size_t r = 0; r < s.size(); ++r) {
      CHECK(s[r] >= BackoffDelay(p, static_cast<int>(r) + 1, 0.0));
      CHECK(s[r] <= BackoffDelay(p, static_cast<int>(r) + 1, 1.0));
    }
  }
}

TEST_CASE("IsRetryable: transport failures, 429 and 5xx only", "[client][unit]") {
  CHECK(IsRetryable(Error(ErrorCode::kUnavailable, "", "unreachable"), 0));
  CHECK(IsRetryable(Error(ErrorCode::kUnavailable, "", "pin_mismatch"), 0));
  CHECK(IsRetryable(Error(ErrorCode::kUnavailable, "", "timeout"), 0));
  CHECK(IsRetryable(Error(ErrorCode::kSealed, "", "sealed"), 503));
  CHECK(IsRetryable(Error(ErrorCode::kRateLimited, ""), 429));
  CHECK(IsRetryable(Error(ErrorCode::kInternal, ""), 500));
  CHECK(IsRetryable(Error(ErrorCode::kInternal, ""), 502));
  CHECK_FALSE(IsRetryable(Error(ErrorCode::kPolicyDenied, "", "policy_denied"), 403));
  CHECK_FALSE(IsRetryable(Error(ErrorCode::kPermissionDenied, ""), 403));
  CHECK_FALSE(IsRetryable(Error(ErrorCode::kNotFound, ""), 404));
  CHECK_FALSE(IsRetryable(Error(ErrorCode::kVerificationFailed, ""), 401));
  CHECK_FALSE(IsRetryable(Error(ErrorCode::kInternal, "", "bad_response"), 200));
  CHECK_FALSE(IsRetryable(Error(ErrorCode::kMalformedEvidence, "", "evidence_unavailable"), 200));
  CHECK_FALSE(IsRetryable(Error(ErrorCode::kInvalidArgument, "", "bad_url"), 0));
}

TEST_CASE("FetchWithFailover: URLs in order, retries with backoff, deadline", "[client][unit]") {
  FakeSkrd a;
  FakeSkrd b;
  // One attester key for both fakes: b checks signatures with its own key, so sign with b's.
  SampleAttester attester(CopyPrivateKey(b.sample_key()), DefaultSampleClaims());
  FakeRetryEnv env;
  FakeConnector connector(env);
  FetchOptions opts;
  opts.tenant = "acme";
  opts.key = "disk";
  opts.evidence = &attester;
  RetryPolicy policy;  // 5 retries, deadline 60 s
  std::vector<AttemptRecord> log;
  const AttemptLogger logger = [&](const AttemptRecord& r) { log.push_back(r); };
  const std::vector<std::string> urls = {"https://a:8443", "https://b:8443"};

  SECTION("first server unreachable: the second releases, no backoff sleep") {
    connector.servers["https://b:8443"] = &b;
    auto r = FetchWithFailover(opts, urls, policy, connector, env, logger);
    REQUIRE(r.has_value());
    CHECK(r->url == "https://b:8443");
    CHECK(r->attempts == 2);
    CHECK(r->version == 3);
    CHECK(std::vector<std::uint8_t>(r->key.Reveal().begin(), r->key.Reveal().end()) ==
          b.material());
    CHECK(connector.connects == urls);
    CHECK(env.sleeps.empty());
    REQUIRE(log.size() == 2);
    CHECK(log[0].url == "https://a:8443");
    CHECK(log[0].reason == "unreachable");
    CHECK(log[0].status == 0);
    CHECK(log[0].will_retry);
    CHECK(log[1].url == "https://b:8443");
    CHECK(log[1].reason == "released");
    CHECK(log[1].status == 200);
    CHECK(log[1].attempt == 2);
  }
  SECTION("first server answers 503 after the challenge: the second gets its own challenge") {
    a.release_error_status = 503;
    connector.servers["https://a:8443"] = &a;
    connector.servers["https://b:8443"] = &b;
    auto r = FetchWithFailover(opts, urls, policy, connector, env, logger);
    REQUIRE(r.has_value());  // b's REQUIREs check that the nonce is b's own
    CHECK(r->url == "https://b:8443");
    CHECK(a.calls == std::vector<std::string>{"POST /v1/challenge",
                                              "POST /v1/tenants/acme/keys/disk/release"});
    CHECK(b.calls == std::vector<std::string>{"POST /v1/challenge",
                                              "POST /v1/tenants/acme/keys/disk/release"});
    REQUIRE(log.size() == 2);
    CHECK(log[0].status == 503);
    CHECK(log[0].reason == "unavailable");
  }
  SECTION("429 and 500 also move on to the next URL") {
    a.release_error_status = GENERATE(429, 500, 502);
    a.release_error_slug = "whatever";
    connector.servers["https://a:8443"] = &a;
    connector.servers["https://b:8443"] = &b;
    auto r = FetchWithFailover(opts, urls, policy, connector, env, logger);
    REQUIRE(r.has_value());
    CHECK(r->url == "https://b:8443");
  }
  SECTION("403 policy denial stops at once: the next URL is never tried (exit 1)") {
    a.deny = true;
    connector.servers["https://a:8443"] = &a;
    connector.servers["https://b:8443"] = &b;
    auto r = FetchWithFailover(opts, urls, policy, connector, env, logger);
    CHECK(test::CodeOf(r) == ErrorCode::kPolicyDenied);
    CHECK(ExitCodeFor(r.error()) == kExitDenied);
    CHECK(connector.connects == std::vector<std::string>{"https://a:8443"});
    CHECK(b.calls.empty());
    REQUIRE(log.size() == 1);
    CHECK_FALSE(log[0].will_retry);
    CHECK(log[0].status == 403);
  }
  SECTION("4xx usage errors stop with exit 2, attestation failures with exit 3") {
    struct Row {
      int status;
      const char* slug;
      int exit;
    };
    const Row row = GENERATE(Row{404, "not_found", kExitUsage}, Row{410, "gone", kExitUsage},
                             Row{400, "invalid_argument", kExitUsage},
                             Row{401, "verification_failed", kExitAttestation},
                             Row{401, "binding_mismatch", kExitAttestation},
                             Row{401, "bad_nonce", kExitAttestation});
    a.release_error_status = row.status;
    a.release_error_slug = row.slug;
    connector.servers["https://a:8443"] = &a;
    connector.servers["https://b:8443"] = &b;
    auto r = FetchWithFailover(opts, urls, policy, connector, env, logger);
    REQUIRE_FALSE(r.has_value());
    CHECK(ExitCodeFor(r.error()) == row.exit);
    CHECK(r.error().reason() == row.slug);
    CHECK(connector.connects.size() == 1);
    CHECK(b.calls.empty());
  }
  SECTION("evidence that cannot be produced stops with exit 3") {
    FailingEvidence failing;
    opts.evidence = &failing;
    connector.servers["https://a:8443"] = &a;
    connector.servers["https://b:8443"] = &b;
    auto r = FetchWithFailover(opts, urls, policy, connector, env, logger);
    CHECK(test::ReasonOf(r) == "evidence_unavailable");
    CHECK(ExitCodeFor(r.error()) == kExitAttestation);
    CHECK(connector.connects.size() == 1);
  }
  SECTION("both down: every round tries both, backoff between rounds, then exit 4") {
    auto r = FetchWithFailover(opts, urls, policy, connector, env, logger);
    CHECK(test::CodeOf(r) == ErrorCode::kUnavailable);
    CHECK(test::ReasonOf(r) == "unreachable");
    CHECK(ExitCodeFor(r.error()) == kExitUnavailable);
    CHECK(connector.connects.size() == 12);  // (5 retries + 1) rounds x 2 URLs
    for (std::size_t i = 0; i < connector.connects.size(); ++i) {
      CHECK(connector.connects[i] == urls[i % 2]);
    }
    // jitter 0.5: 375, 750, 1500, 3000, 6000 ms (3/4 of 500, 1000, 2000, 4000, 8000)
    CHECK(env.sleeps == BackoffSchedule(policy, [] { return 0.5; }));
    CHECK(env.sleeps == std::vector<milliseconds>{milliseconds(375), milliseconds(750),
                                                  milliseconds(1500), milliseconds(3000),
                                                  milliseconds(6000)});
    REQUIRE(log.size() == 12);
    CHECK(log.back().round == 5);
    CHECK(log.back().attempt == 12);
  }
  SECTION("both down and slow: the deadline stops the agent in time (exit 4)") {
    policy.retries = 1000;
    policy.deadline = std::chrono::seconds(10);
    connector.down_cost = std::chrono::seconds(3);  // each attempt burns 3 s (connect timeout)
    const auto start = env.now;
    auto r = FetchWithFailover(opts, urls, policy, connector, env, logger);
    CHECK(test::CodeOf(r) == ErrorCode::kUnavailable);
    CHECK(test::ReasonOf(r) == "deadline_exceeded");
    CHECK(ExitCodeFor(r.error()) == kExitUnavailable);
    CHECK(env.now - start <= std::chrono::seconds(10));
    CHECK(connector.connects.size() < 10);
    // Budgets shrink with the time left, so no attempt may run past the deadline.
    for (std::size_t i = 0; i < connector.budgets.size(); ++i) {
      CHECK(connector.budgets[i] > milliseconds(0));
      CHECK(connector.budgets[i] <= std::chrono::seconds(10));
    }
    CHECK(connector.budgets.back() < std::chrono::seconds(10));
  }
  SECTION("bad arguments") {
    CHECK(test::CodeOf(FetchWithFailover(opts, {}, policy, connector, env)) ==
          ErrorCode::kInvalidArgument);
    policy.retries = -1;
    CHECK(test::CodeOf(FetchWithFailover(opts, urls, policy, connector, env)) ==
          ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("FetchWithFailover: real connector, two closed ports, short deadline",
          "[client][integration]") {
  ApiClientOptions base;
  base.timeout = std::chrono::seconds(2);
  base.connect_timeout = std::chrono::seconds(1);
  HttpsConnector connector(base);
  SystemRetryEnvironment env;
  FailingEvidence evidence;  // never reached
  FetchOptions opts;
  opts.tenant = "acme";
  opts.key = "disk";
  opts.evidence = &evidence;
  RetryPolicy policy;
  policy.retries = 1000;
  policy.deadline = milliseconds(1500);
  int attempts = 0;
  const auto start = std::chrono::steady_clock::now();
  auto r = FetchWithFailover(opts, {"https://127.0.0.1:1", "https://127.0.0.1:2"}, policy,
                             connector, env, [&](const AttemptRecord& rec) {
                               ++attempts;
                               CHECK(rec.reason == "unreachable");
                               CHECK(rec.url == (rec.attempt % 2 == 1 ? "https://127.0.0.1:1"
                                                                      : "https://127.0.0.1:2"));
                             });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(test::ReasonOf(r) == "deadline_exceeded");
  CHECK(ExitCodeFor(r.error()) == kExitUnavailable);
  CHECK(attempts >= 4);  // rounds 0 and 1 at least (first backoff <= 500 ms)
  CHECK(elapsed < std::chrono::seconds(3));
}

}  // namespace skr::client
