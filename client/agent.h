// SPDX-License-Identifier: Apache-2.0
// skr-agent: fetches a key from skrd by attesting (DESIGN.md section 2):
//   challenge -> ephemeral key pair -> evidence binding SHA-384(JCS{nonce, tee-pubkey}) ->
//   release -> JWE decrypt with the ephemeral private key (which never leaves memory).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client/api_client.h"
#include "client/sample_attester.h"
#include "common/json.h"
#include "common/ossl.h"
#include "common/result.h"
#include "common/secret_bytes.h"

namespace skr::client {

enum class KeyType { kEcP256, kEcP384, kEcP521, kRsa3072, kRsa4096 };

// "ec-p256" | "ec-p384" | "ec-p521" | "rsa-3072" | "rsa-4096". Errors: kInvalidArgument.
Result<KeyType> ParseKeyType(std::string_view text);
std::string_view KeyTypeName(KeyType type);
// The JWE key management alg for a key type: "ECDH-ES+A256KW" (EC) or "RSA-OAEP-256" (RSA).
std::string_view KeyTypeAlg(KeyType type);

struct EphemeralKey {
  EvpPkeyPtr private_key;  // in memory only; never serialized
  Json public_jwk;         // public members + alg: the release request's tee-pubkey
};
// Errors: kInternal (key generation), errors of PublicJwkFromKey.
Result<EphemeralKey> GenerateEphemeralKey(KeyType type);

struct FetchOptions {
  std::string tenant;
  std::string key;
  std::optional<std::int64_t> version;  // default: newest enabled version
  KeyType key_type = KeyType::kEcP384;
  EvidenceProvider* evidence = nullptr;  // not owned; must be set
};

struct FetchResult {
  SecretBytes key;  // the released key bytes
  std::int64_t version = 0;
  std::int64_t audit_seq = 0;
  std::string url;   // FetchWithFailover: the server that released the key
  int attempts = 0;  // FetchWithFailover: attempts made, including the successful one
};

// Runs the whole flow against `api`. Errors: those of ApiClient (server answers), kMalformedEvidence
// with reason "evidence_unavailable" when evidence cannot be produced, kVerificationFailed with
// reason "kid_mismatch" / "decrypt_failed" when the JWE is not for our key, kInternal
// "bad_response" for a malformed release response.
Result<FetchResult> FetchKey(const FetchOptions& options, ApiClient& api);

// --- Failover, retries and deadline (skr-agent fetch at boot) -------------------------------------

struct RetryPolicy {
  int retries = 5;                             // extra rounds after the first (rounds = retries+1)
  std::chrono::milliseconds backoff_base{500};  // delay scale before the first retry round
  std::chrono::milliseconds backoff_cap{8000};  // upper bound of the exponential part
  std::chrono::milliseconds deadline{60000};    // total time budget from the first attempt
};

// Delay before retry round `retry` (1 = the round after the first), with "equal jitter":
//   e = min(cap, base * 2^(retry-1)); delay = e/2 + jitter * e/2, jitter in [0, 1] (clamped).
// So the delay is always within [e/2, e]. Pure; retry < 1 yields 0.
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int retry, double jitter);
// Delay before retry round `retry` when the previous round's servers asked for `retry_after`
// (RFC 9110 section 10.2.3; the largest Retry-After among that round's retryable HTTP answers,
// nullopt when none carried one):
//   b = BackoffDelay(policy, retry, backoff_jitter)
//   without retry_after: b
//   with retry_after:    max(b, retry_after + spread_jitter * min(retry_after, max(e, 1 s)))
// with e as in BackoffDelay. The server's value is a floor, never shortened; the spread on top
// (up to retry_after itself, at least the backoff scale e or 1 s, whichever is larger) keeps a
// fleet of agents told "Retry-After: 1" from coming back in the same millisecond, and
// "Retry-After: 0" leaves the plain backoff. Jitter values are clamped to [0, 1] (NaN -> 0). Pure.
std::chrono::milliseconds RetryDelay(const RetryPolicy& policy, int retry,
                                     std::optional<std::chrono::seconds> retry_after,
                                     double backoff_jitter, double spread_jitter);
// The delays before rounds 1..policy.retries, drawing one jitter value per round from `jitter`.
std::vector<std::chrono::milliseconds> BackoffSchedule(const RetryPolicy& policy,
                                                       const std::function<double()>& jitter);

// Time, sleep and randomness for FetchWithFailover, injectable for tests.
class RetryEnvironment {
 public:
  virtual ~RetryEnvironment() = default;
  virtual std::chrono::steady_clock::time_point Now() = 0;
  virtual void SleepFor(std::chrono::milliseconds delay) = 0;
  virtual double Jitter() = 0;  // uniform in [0, 1)
};
class SystemRetryEnvironment final : public RetryEnvironment {
 public:
  std::chrono::steady_clock::time_point Now() override;
  void SleepFor(std::chrono::milliseconds delay) override;
  double Jitter() override;  // from RAND_bytes
};

// Makes the ApiClient for one attempt against one URL. `budget` is what is left of the deadline;
// implementations bound their timeouts by it. Injectable for tests (fake servers).
class ServerConnector {
 public:
  virtual ~ServerConnector() = default;
  virtual Result<std::unique_ptr<ApiClient>> Connect(const std::string& url,
                                                     std::chrono::milliseconds budget) = 0;
};
// The real one: ApiClient::Create with `base` (cacert, pins, timeouts) and base_url = url;
// timeout and connect_timeout are each min(configured, budget).
class HttpsConnector final : public ServerConnector {
 public:
  explicit HttpsConnector(ApiClientOptions base) : base_(std::move(base)) {}
  Result<std::unique_ptr<ApiClient>> Connect(const std::string& url,
                                             std::chrono::milliseconds budget) override;

 private:
  ApiClientOptions base_;
};

// One attempt, for the log (no secrets: URL, counters, status, reason slug).
struct AttemptRecord {
  std::string url;
  int attempt = 0;  // 1-based over the whole run
  int round = 0;    // 0-based retry round
  int status = 0;   // HTTP status of the last response, 0 when none
  std::string reason;  // "released" on success, else the error's reason slug
  bool will_retry = false;  // the error moves on to the next URL / round
  // The answer's Retry-After (ApiClient::last_retry_after), nullopt when absent or malformed.
  std::optional<std::chrono::seconds> retry_after;
  std::int64_t elapsed_ms = 0;  // since the start of FetchWithFailover
  // skrd's X-Request-Id of the last answer (to find the request in skrd's log), "" when none.
  std::string request_id;
};
using AttemptLogger = std::function<void(const AttemptRecord&)>;

// True for errors that move on to the next URL or round: transport failures (no HTTP status:
// unreachable, connect_timeout, timeout, tls_failed, pin_mismatch, connection_lost) and HTTP 429
// and 5xx answers. Everything else (403 policy denial, other 4xx, attestation failures, a bad
// 2xx response, a server certificate the CA does not vouch for: tls_untrusted) stops at once.
bool IsRetryable(const Error& error, int status);

// Runs FetchKey against `urls` in order, round after round: round 0 tries URL 1, 2, ...; before
// each further round it sleeps RetryDelay(policy, round, retry_after, env.Jitter(), env.Jitter())
// where retry_after is the largest Retry-After of the round's retryable HTTP answers (429, 5xx);
// the second jitter value is drawn only when there is one. A Retry-After never delays the other
// URLs of the same round (failover first). When the sleep would reach the deadline, no further
// round can start: it returns the deadline error at once instead of sleeping.
// Each attempt gets a fresh client from `connector`, so challenge and release of one attempt go
// to the same server (nonces are per server). Stops at the first success or non-retryable error
// (returned as is). When the rounds are used up, returns the last attempt's error; when the
// deadline passes first, kUnavailable "deadline_exceeded". Errors: kInvalidArgument for an
// empty URL list or bad policy.
Result<FetchResult> FetchWithFailover(const FetchOptions& options,
                                      const std::vector<std::string>& urls,
                                      const RetryPolicy& policy, ServerConnector& connector,
                                      RetryEnvironment& env, const AttemptLogger& log = {});

// Agent exit codes (skr-agent fetch).
inline constexpr int kExitReleased = 0;
inline constexpr int kExitDenied = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitAttestation = 3;
inline constexpr int kExitUnavailable = 4;
// kPolicyDenied -> 1; kInvalidArgument, kNotFound, kAlreadyExists, kFailedPrecondition, kGone,
// kUnauthenticated, kPermissionDenied, kPayloadTooLarge -> 2 (the request or configuration is
// wrong); kMalformedEvidence, kBadNonce, kVerificationFailed -> 3; kUnavailable, kSealed,
// kRateLimited, kInternal -> 4.
int ExitCodeFor(const Error& error);

// Writes `data` to `path`, created with open(O_WRONLY|O_CREAT|O_TRUNC|O_NOFOLLOW|O_CLOEXEC, 0600)
// and fchmod 0600 (so an existing file with wider permissions is narrowed before the write),
// then fsync. Errors: kInvalidArgument (cannot open), kInternal (write/fsync failure).
Result<void> WriteSecretFile(const std::string& path, std::span<const std::uint8_t> data);
// Writes all of `data` to a file descriptor (retrying on EINTR and short writes).
Result<void> WriteAll(int fd, std::span<const std::uint8_t> data);

// One JSON log line {"level":..,"msg":..,<fields>} (no trailing newline). Never pass key bytes or
// private keys in `fields`.
std::string LogLine(std::string_view level, std::string_view msg, const Json& fields);

}  // namespace skr::client
