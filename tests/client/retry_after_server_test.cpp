// SPDX-License-Identifier: Apache-2.0
// Retry-After end to end over real HTTPS on loopback: ApiClient (cpprestsdk) reads the field from
// a Beast server's answers, and skr-agent's FetchWithFailover waits for it before the next round.
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "client/agent.h"
#include "client/api_client.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "tests/client/agent_fakes.h"
#include "tests/client/loopback_https_server.h"
#include "tests/support/test_support.h"

namespace skr::client {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::HttpExchange;
using testing::HttpReply;
using testing::LoopbackHttpsServer;

const char* const kProblem503 =
    R"({"type":"urn:skr:problem:overloaded","title":"overloaded","status":503,)"
    R"("detail":"server busy, retry later"})";

ApiClientOptions OptionsFor(const LoopbackHttpsServer& server) {
  ApiClientOptions o;
  o.base_url = server.url();
  o.cacert_file = server.ca_file();
  o.timeout = seconds(5);
  o.connect_timeout = seconds(2);
  return o;
}

}  // namespace

TEST_CASE("ApiClient: Retry-After of a real HTTPS answer (delta, HTTP-date, garbage)",
          "[client][integration]") {
  const std::string kDate = "Wed, 02 Dec 2026 08:00:00 GMT";
  LoopbackHttpsServer server([&](const HttpExchange& ex) {
    HttpReply reply{503, {}, kProblem503};
    reply.headers.emplace_back("Content-Type", "application/problem+json");
    if (ex.target == "/delta") reply.headers.emplace_back("Retry-After", "1");
    if (ex.target == "/too-long") reply.headers.emplace_back("Retry-After", "86400");
    if (ex.target == "/garbage") reply.headers.emplace_back("Retry-After", "soon");
    if (ex.target == "/negative") reply.headers.emplace_back("Retry-After", "-5");
    if (ex.target == "/date") {  // relative to the server's Date, whatever the local clock says
      reply.status = 429;
      reply.headers.emplace_back("Date", kDate);
      reply.headers.emplace_back("Retry-After", "Wed, 02 Dec 2026 08:02:00 GMT");
    }
    if (ex.target == "/date-no-date") {  // no usable Date: relative to the local clock
      reply.headers.emplace_back("Date", "yesterday");
      reply.headers.emplace_back(
          "Retry-After", testing::ImfFixdate(std::chrono::system_clock::now() + seconds(30)));
    }
    if (ex.target == "/ok") {
      reply = HttpReply{200, {{"Content-Type", "application/json"}}, "{}"};
    }
    return reply;
  });
  auto api = ApiClient::Create(OptionsFor(server));
  REQUIRE(api.has_value());
  ApiClient& client = **api;

  auto r = client.Get("/delta");
  CHECK(test::CodeOf(r) == ErrorCode::kUnavailable);
  CHECK(client.last_status() == 503);
  CHECK(client.last_retry_after() == std::optional<seconds>(seconds(1)));

  REQUIRE(client.Get("/ok").has_value());  // a later answer without the field clears it
  CHECK(client.last_status() == 200);
  CHECK(client.last_retry_after() == std::nullopt);

  (void)client.Get("/too-long");
  CHECK(client.last_retry_after() == std::optional<seconds>(kMaxRetryAfter));

  (void)client.Get("/date");
  CHECK(client.last_status() == 429);
  CHECK(client.last_retry_after() == std::optional<seconds>(seconds(120)));

  (void)client.Get("/date-no-date");
  REQUIRE(client.last_retry_after().has_value());
  CHECK(*client.last_retry_after() >= seconds(25));
  CHECK(*client.last_retry_after() <= seconds(30));

  for (const char* path : {"/garbage", "/negative", "/none"}) {
    CAPTURE(path);
    (void)client.Get("/delta");
    (void)client.Get(path);
    CHECK(client.last_status() == 503);
    CHECK(client.last_retry_after() == std::nullopt);
  }
}

TEST_CASE("FetchWithFailover: a real server's 503 + Retry-After: 1 holds the retry back >= 1 s",
          "[client][integration]") {
  std::mutex mu;
  std::vector<HttpExchange> seen;
  std::string nonce;
  int releases = 0;
  const std::vector<std::uint8_t> material = RandomBytes(32);
  LoopbackHttpsServer server([&](const HttpExchange& ex) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(ex);
    const HttpReply bad{400, {}, R"({"type":"urn:skr:problem:invalid_argument"})"};
    if (ex.method == "POST" && ex.target == "/v1/challenge") {
      nonce = Base64Encode(RandomBytes(32));
      return HttpReply{200,
                       {{"Content-Type", "application/json"}},
                       DumpJson(Json{{"nonce", nonce}, {"expires_at", "2030-01-01T00:00:00Z"}})};
    }
    if (ex.method != "POST" || ex.target != "/v1/tenants/acme/keys/disk/release") return bad;
    if (++releases == 1) {
      return HttpReply{
          503, {{"Content-Type", "application/problem+json"}, {"Retry-After", "1"}}, kProblem503};
    }
    auto body = ParseJson(ex.body);
    if (!body || !body->is_object() || body->value("nonce", "") != nonce) return bad;
    auto recipient = ParsePublicJwk((*body)["tee-pubkey"]);
    if (!recipient) return bad;
    auto jwe = JweEncrypt(*recipient, material);
    if (!jwe) return bad;
    return HttpReply{200,
                     {{"Content-Type", "application/json"}},
                     DumpJson(Json{{"jwe", *jwe}, {"version", 1}, {"audit_seq", 7}})};
  });

  SampleAttester attester(fakes::CopyPrivateKey(test::CachedKey("P-384")), DefaultSampleClaims());
  FetchOptions opts;
  opts.tenant = "acme";
  opts.key = "disk";
  opts.evidence = &attester;
  RetryPolicy policy;  // first backoff 250..500 ms: shorter than the server's 1 s
  policy.deadline = seconds(20);
  HttpsConnector connector(OptionsFor(server));
  SystemRetryEnvironment env;
  std::vector<AttemptRecord> log;
  auto r = FetchWithFailover(opts, {server.url()}, policy, connector, env,
                             [&](const AttemptRecord& rec) { log.push_back(rec); });
  REQUIRE(r.has_value());
  CHECK(r->attempts == 2);
  CHECK(std::vector<std::uint8_t>(r->key.Reveal().begin(), r->key.Reveal().end()) == material);
  REQUIRE(log.size() == 2);
  CHECK(log[0].status == 503);
  CHECK(log[0].retry_after == std::optional<seconds>(seconds(1)));

  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(seen.size() == 4);  // challenge, release (503), challenge, release
  const auto gap = std::chrono::duration_cast<milliseconds>(seen[2].received - seen[1].received);
  CAPTURE(gap.count());
  CHECK(gap >= milliseconds(1000));
  CHECK(gap < milliseconds(5000));  // 1 s + at most 1 s of spread, plus slack for a busy machine
}

}  // namespace skr::client
