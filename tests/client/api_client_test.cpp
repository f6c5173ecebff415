// SPDX-License-Identifier: Apache-2.0
#include "client/api_client.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "tests/support/test_support.h"

namespace skr::client {
namespace {

std::string Problem(std::string_view slug, std::string_view detail, int status) {
  return DumpJson(Json{{"type", "urn:skr:problem:" + std::string(slug)},
                       {"title", "x"},
                       {"status", status},
                       {"detail", std::string(detail)},
                       {"request_id", "r1"}});
}

// A TCP listener on an ephemeral loopback port that never accepts: the kernel completes the TCP
// handshake, then nothing ever answers the TLS ClientHello.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);  // NOLINT
    REQUIRE(::listen(fd_, 8) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);  // NOLINT
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace

TEST_CASE("ErrorFromResponse: problem+json maps status and slug to ErrorCode", "[client][unit]") {
  struct Row {
    int status;
    const char* slug;
    ErrorCode code;
  };
  const Row row = GENERATE(Row{400, "invalid_argument", ErrorCode::kInvalidArgument},
                           Row{400, "malformed_json", ErrorCode::kInvalidArgument},
                           Row{400, "malformed_evidence", ErrorCode::kMalformedEvidence},
                           Row{401, "unauthenticated", ErrorCode::kUnauthenticated},
                           Row{401, "invalid_token", ErrorCode::kUnauthenticated},
                           Row{401, "token_expired", ErrorCode::kUnauthenticated},
                           Row{401, "signature_invalid", ErrorCode::kVerificationFailed},
                           Row{401, "bad_nonce", ErrorCode::kBadNonce},
                           Row{401, "nonce_reused", ErrorCode::kBadNonce},
                           Row{401, "verification_failed", ErrorCode::kVerificationFailed},
                           Row{401, "binding_mismatch", ErrorCode::kVerificationFailed},
                           Row{403, "policy_denied", ErrorCode::kPolicyDenied},
                           Row{403, "permission_denied", ErrorCode::kPermissionDenied},
                           Row{404, "not_found", ErrorCode::kNotFound},
                           Row{409, "already_exists", ErrorCode::kAlreadyExists},
                           Row{409, "tenant_exists", ErrorCode::kAlreadyExists},
                           Row{409, "key_version_disabled", ErrorCode::kFailedPrecondition},
                           Row{409, "failed_precondition", ErrorCode::kFailedPrecondition},
                           Row{409, "version_disabled", ErrorCode::kFailedPrecondition},
                           Row{410, "gone", ErrorCode::kGone},
                           Row{413, "payload_too_large", ErrorCode::kPayloadTooLarge},
                           Row{429, "rate_limited", ErrorCode::kRateLimited},
                           Row{503, "sealed", ErrorCode::kSealed},
                           Row{503, "unavailable", ErrorCode::kUnavailable},
                           Row{500, "internal", ErrorCode::kInternal},
                           Row{502, "whatever", ErrorCode::kInternal});
  const Error e = ErrorFromResponse(row.status, Problem(row.slug, "the detail", row.status));
  CHECK(e.code() == row.code);
  CHECK(e.reason() == row.slug);
  CHECK(e.message() == "the detail");
}

TEST_CASE("ErrorFromResponse: non-problem bodies fall back to the status", "[client][unit]") {
  SECTION("empty body") {
    const Error e = ErrorFromResponse(404, "");
    CHECK(e.code() == ErrorCode::kNotFound);
    CHECK(e.reason() == "not_found");
    CHECK(e.message() == "HTTP status 404");
  }
  SECTION("HTML body") {
    const Error e = ErrorFromResponse(502, "<html>bad gateway</html>");
    CHECK(e.code() == ErrorCode::kInternal);
    CHECK(e.reason() == "internal");
  }
  SECTION("foreign problem type keeps the detail but no slug") {
    const Error e = ErrorFromResponse(
        403, R"({"type":"https://example.com/probs/x","detail":"nope","status":403})");
    CHECK(e.code() == ErrorCode::kPermissionDenied);
    CHECK(e.reason() == "permission_denied");
    CHECK(e.message() == "nope");
  }
  SECTION("401 without a slug is an authentication failure") {
    CHECK(ErrorFromResponse(401, "{}").code() == ErrorCode::kUnauthenticated);
  }
  SECTION("title is used when detail is missing") {
    const Error e = ErrorFromResponse(429, R"({"type":"urn:skr:problem:rate_limited",
                                                "title":"Too Many Requests"})");
    CHECK(e.code() == ErrorCode::kRateLimited);
    CHECK(e.message() == "Too Many Requests");
  }
  SECTION("bare prefix is not a slug") {
    const Error e = ErrorFromResponse(403, R"({"type":"urn:skr:problem:","detail":"d"})");
    CHECK(e.code() == ErrorCode::kPermissionDenied);
  }
}

TEST_CASE("PathSegment and Query: encode names, refuse dot segments", "[client][unit]") {
  CHECK(PathSegment("acme").value() == "acme");
  CHECK(PathSegment("a.b-c_d").value() == "a.b-c_d");
  CHECK(PathSegment("a/b").value() == "a%2Fb");
  CHECK(PathSegment("a?b#c").value() == "a%3Fb%23c");
  CHECK(test::CodeOf(PathSegment("")) == ErrorCode::kInvalidArgument);
  CHECK(test::CodeOf(PathSegment(".")) == ErrorCode::kInvalidArgument);
  CHECK(test::CodeOf(PathSegment("..")) == ErrorCode::kInvalidArgument);
  CHECK(Query({}) == "");
  CHECK(Query({{"tenant", ""}, {"limit", "10"}}) == "?limit=10");
  CHECK(Query({{"tenant", "a&b"}, {"from_seq", "3"}}) == "?tenant=a%26b&from_seq=3");
}

TEST_CASE("ApiClient::Create: validates URL, CA file and timeout", "[client][unit]") {
  test::TempDir dir;
  ApiClientOptions o;
  SECTION("plain http is refused") {
    o.base_url = "http://127.0.0.1:8443";
    CHECK(test::CodeOf(ApiClient::Create(o)) == ErrorCode::kInvalidArgument);
  }
  SECTION("garbage URL") {
    o.base_url = "https://";
    CHECK(test::CodeOf(ApiClient::Create(o)) == ErrorCode::kInvalidArgument);
    o.base_url = "https://host:8443/?q=1";
    CHECK(test::CodeOf(ApiClient::Create(o)) == ErrorCode::kInvalidArgument);
  }
  SECTION("missing CA file") {
    o.cacert_file = dir.file("missing.crt");
    auto r = ApiClient::Create(o);
    CHECK(test::CodeOf(r) == ErrorCode::kInvalidArgument);
    CHECK(test::ReasonOf(r) == "bad_cacert");
  }
  SECTION("CA file without a certificate") {
    test::WriteFile(dir.file("ca.crt"), "not a certificate\n");
    o.cacert_file = dir.file("ca.crt");
    CHECK(test::ReasonOf(ApiClient::Create(o)) == "bad_cacert");
  }
  SECTION("non-positive timeout") {
    o.timeout = std::chrono::seconds(0);
    CHECK(test::CodeOf(ApiClient::Create(o)) == ErrorCode::kInvalidArgument);
  }
  SECTION("defaults are valid") {
    CHECK(ApiClient::Create(o).has_value());
  }
}

TEST_CASE("ApiClient: unreachable server is kUnavailable 'unreachable'",
          "[client][integration]") {
  ApiClientOptions o;
  o.base_url = "https://127.0.0.1:1";
  o.timeout = std::chrono::seconds(5);
  auto api = ApiClient::Create(o);
  REQUIRE(api.has_value());
  const auto start = std::chrono::steady_clock::now();
  auto r = (*api)->Get("/healthz");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(test::CodeOf(r) == ErrorCode::kUnavailable);
  CHECK(test::ReasonOf(r) == "unreachable");
  CHECK((*api)->last_status() == 0);
  CHECK(elapsed < std::chrono::seconds(3));

  auto nonce = (*api)->Challenge("acme");
  CHECK(test::ReasonOf(nonce) == "unreachable");
}

TEST_CASE("ApiClient: a server that never answers times out", "[client][integration]") {
  SilentListener silent;
  ApiClientOptions o;
  o.base_url = "https://127.0.0.1:" + std::to_string(silent.port());
  o.timeout = std::chrono::seconds(1);
  auto api = ApiClient::Create(o);
  REQUIRE(api.has_value());
  const auto start = std::chrono::steady_clock::now();
  auto r = (*api)->Get("/healthz");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(test::CodeOf(r) == ErrorCode::kUnavailable);
  CHECK(test::ReasonOf(r) == "timeout");
  CHECK(elapsed < std::chrono::seconds(10));
}

// --- Retry-After (RFC 9110 section 10.2.3) and HTTP-date (section 5.6.7) -------------------------

namespace {
using std::chrono::seconds;
using std::chrono::sys_days;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace): 2026y, 8h
// Wed, 02 Dec 2026 08:00:00 GMT
const std::chrono::system_clock::time_point kNow = sys_days{2026y / 12 / 2} + 8h;
}  // namespace

TEST_CASE("ParseRetryAfter: delta-seconds, clamped to kMaxRetryAfter", "[client][unit]") {
  struct Row {
    const char* text;
    std::int64_t want;
  };
  const Row row = GENERATE(Row{"0", 0}, Row{"1", 1}, Row{"120", 120}, Row{"007", 7},
                           Row{" 7 \t", 7}, Row{"300", 300}, Row{"301", 300}, Row{"86400", 300},
                           Row{"99999999999999999999999999999999", 300});
  CAPTURE(row.text);
  const auto got = ParseRetryAfter(row.text, kNow);
  REQUIRE(got.has_value());
  CHECK(got->count() == row.want);
}

TEST_CASE("ParseRetryAfter: garbage is absent, never a wait", "[client][unit]") {
  const std::string text = GENERATE(
      std::string(""), std::string("  "), std::string("-1"), std::string("+1"), std::string("1.5"),
      std::string("1s"), std::string("1 2"), std::string("1,2"), std::string("soon"),
      std::string("0x10"), std::string("\xef\xbc\x91"),  // fullwidth 1
      std::string("1\0", 2), std::string("Wed, 02 Dec 2026 08:00:30 UTC"),
      std::string("Wed, 32 Dec 2026 08:00:30 GMT"), std::string("Wed, 29 Feb 2026 08:00:30 GMT"),
      std::string("Wed, 02 Foo 2026 08:00:30 GMT"), std::string("Wed, 02 Dec 2026 24:00:00 GMT"),
      std::string("Wed, 02 Dec 2026 08:60:00 GMT"), std::string("Wed, 02 dec 2026 08:00:30 GMT"),
      std::string("Xyz, 02 Dec 2026 08:00:30 GMT"), std::string("Wed, 2 Dec 2026 08:00:30 GMT"),
      std::string("Wed, 02 Dec 2026 08:00:30 GMT x"), std::string("Wed, 02 Dec 2026 8:00:30 GMT"),
      std::string("Wednesday, 02-Dec-2026 08:00:30 GMT"), std::string("Wed Dec 2 08:00:30 2026"));
  CAPTURE(text);
  CHECK(ParseRetryAfter(text, kNow) == std::nullopt);
}

TEST_CASE("ParseRetryAfter: an HTTP-date is the time left until then", "[client][unit]") {
  struct Row {
    const char* text;
    std::int64_t want;
  };
  const Row row = GENERATE(Row{"Wed, 02 Dec 2026 08:00:30 GMT", 30},      // IMF-fixdate
                           Row{"Wednesday, 02-Dec-26 08:01:00 GMT", 60},  // rfc850-date
                           Row{"Wed Dec  2 08:00:05 2026", 5},            // asctime-date
                           Row{"Wed, 02 Dec 2026 07:59:59 GMT", 0},       // in the past
                           Row{"Sun, 06 Nov 1994 08:49:37 GMT", 0},
                           Row{"Thu, 03 Dec 2026 08:00:00 GMT", 300});  // a day: clamped
  CAPTURE(row.text);
  const auto got = ParseRetryAfter(row.text, kNow);
  REQUIRE(got.has_value());
  CHECK(got->count() == row.want);
}

TEST_CASE("ParseHttpDate: the three formats of RFC 9110 section 5.6.7", "[client][unit]") {
  // The RFC's own example, 784111777 s after the epoch, in each format.
  for (const char* text : {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                           "Sun Nov  6 08:49:37 1994"}) {
    CAPTURE(text);
    const auto t = ParseHttpDate(text, kNow);
    REQUIRE(t.has_value());
    CHECK(std::chrono::duration_cast<seconds>(t->time_since_epoch()).count() == 784111777);
  }
  // Two-digit years more than 50 years ahead are the past century; others this one.
  const auto y99 = ParseHttpDate("Thursday, 31-Dec-99 23:59:59 GMT", kNow);
  REQUIRE(y99.has_value());
  CHECK(*y99 == sys_days{1999y / 12 / 31} + 23h + 59min + 59s);
  const auto y30 = ParseHttpDate("Sunday, 01-Jan-30 00:00:00 GMT", kNow);
  REQUIRE(y30.has_value());
  CHECK(*y30 == sys_days{2030y / 1 / 1});
  // Leap day and a leap second.
  CHECK(ParseHttpDate("Thu, 29 Feb 2024 00:00:00 GMT", kNow).has_value());
  CHECK(ParseHttpDate("Sat, 31 Dec 2016 23:59:60 GMT", kNow).has_value());
  CHECK_FALSE(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT ", kNow).has_value());
  CHECK_FALSE(ParseHttpDate("Sun, 06 Nov 94 08:49:37 GMT", kNow).has_value());
}

}  // namespace skr::client
