// SPDX-License-Identifier: Apache-2.0
#include "client/agent.h"

#include "common/clock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <thread>
#include <utility>

#include "common/encoding.h"
#include "common/jose.h"

namespace skr::client {
namespace {

struct KeyTypeInfo {
  KeyType type;
  std::string_view name;
};
constexpr KeyTypeInfo kKeyTypes[] = {
    {KeyType::kEcP256, "ec-p256"},   {KeyType::kEcP384, "ec-p384"},
    {KeyType::kEcP521, "ec-p521"},   {KeyType::kRsa3072, "rsa-3072"},
    {KeyType::kRsa4096, "rsa-4096"},
};

bool IsEc(KeyType t) {
  return t == KeyType::kEcP256 || t == KeyType::kEcP384 || t == KeyType::kEcP521;
}

std::string Errno(std::string_view what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// RFC 7516 section 7.1: the first compact segment is BASE64URL(UTF8(JWE Protected Header)).
Result<Json> JweProtectedHeader(std::string_view compact) {
  const auto dot = compact.find('.');
  if (dot == std::string_view::npos || dot == 0) {
    return Error(ErrorCode::kInternal, "release response carries a malformed JWE",
                 "bad_response");
  }
  auto raw = Base64UrlDecode(compact.substr(0, dot));
  if (!raw) {
    return Error(ErrorCode::kInternal, "JWE protected header is not base64url", "bad_response");
  }
  auto header = ParseJson(std::string_view(reinterpret_cast<const char*>(raw->data()),  // NOLINT
                                           raw->size()),
                          64u << 10);
  if (!header || !header->is_object()) {
    return Error(ErrorCode::kInternal, "JWE protected header is not a JSON object",
                 "bad_response");
  }
  return std::move(header).value();
}

// min(cap, base * 2^(retry-1)) in ms for retry >= 1, saturating at the cap (doubling stops once
// the cap is reached, so no overflow).
std::int64_t ExponentialPart(const RetryPolicy& policy, int retry) {
  const std::int64_t base = std::max<std::int64_t>(0, policy.backoff_base.count());
  const std::int64_t cap = std::max<std::int64_t>(0, policy.backoff_cap.count());
  std::int64_t exp = base;
  for (int i = 1; i < retry && exp > 0 && exp < cap; ++i) exp *= 2;
  return std::min(exp, cap);
}

double ClampJitter(double jitter) {
  if (!(jitter >= 0.0)) return 0.0;  // also maps NaN to 0
  return jitter > 1.0 ? 1.0 : jitter;
}

}  // namespace

Result<KeyType> ParseKeyType(std::string_view text) {
  for (const auto& kt : kKeyTypes) {
    if (kt.name == text) return kt.type;
  }
  return Error(ErrorCode::kInvalidArgument,
               "unknown key type '" + std::string(text) +
                   "' (expected ec-p256, ec-p384, ec-p521, rsa-3072 or rsa-4096)",
               "bad_key_type");
}

std::string_view KeyTypeName(KeyType type) {
  for (const auto& kt : kKeyTypes) {
    if (kt.type == type) return kt.name;
  }
  return "unknown";
}

std::string_view KeyTypeAlg(KeyType type) {
  // DESIGN.md section 2: EC keys use ECDH-ES+A256KW, RSA (>= 3072 bits) RSA-OAEP-256.
  return IsEc(type) ? "ECDH-ES+A256KW" : "RSA-OAEP-256";
}

Result<EphemeralKey> GenerateEphemeralKey(KeyType type) {
  Result<EvpPkeyPtr> key = Error(ErrorCode::kInternal, "unreachable");
  switch (type) {
    case KeyType::kEcP256: key = GenerateEcKey("P-256"); break;
    case KeyType::kEcP384: key = GenerateEcKey("P-384"); break;
    case KeyType::kEcP521: key = GenerateEcKey("P-521"); break;
    case KeyType::kRsa3072: key = GenerateRsaKey(3072); break;
    case KeyType::kRsa4096: key = GenerateRsaKey(4096); break;
  }
  if (!key) return key.error();
  SKR_TRY(Json jwk, PublicJwkFromKey(key->get(), KeyTypeAlg(type)));
  return EphemeralKey{std::move(key).value(), std::move(jwk)};
}

Result<FetchResult> FetchKey(const FetchOptions& options, ApiClient& api) {
  if (options.evidence == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "no evidence provider configured");
  }
  if (options.tenant.empty() || options.key.empty()) {
    return Error(ErrorCode::kInvalidArgument, "tenant and key are required");
  }
  // 1. Challenge (DESIGN.md section 2, step 1).
  SKR_TRY(Json challenge,
          api.ChallengeFor(options.tenant, options.evidence->WantsChallengeHints() ? options.key : ""));
  const std::string nonce = challenge.at("nonce").get<std::string>();
  options.evidence->OnChallenge(challenge);

  // 2. Binding: ephemeral key pair, tee-pubkey, digest (step 2).
  auto eph = GenerateEphemeralKey(options.key_type);
  if (!eph) {
    return Error(ErrorCode::kMalformedEvidence,
                 "cannot create the ephemeral key: " + eph.error().message(),
                 "evidence_unavailable");
  }
  auto digest = BindingDigest(nonce, eph->public_jwk);
  if (!digest) {
    return Error(ErrorCode::kMalformedEvidence,
                 "cannot compute the binding digest: " + digest.error().message(),
                 "evidence_unavailable");
  }
  auto evidence = options.evidence->Collect(*digest);
  if (!evidence) {
    return Error(ErrorCode::kMalformedEvidence,
                 "cannot produce evidence: " + evidence.error().message(),
                 "evidence_unavailable");
  }

  // 3. Release (step 3).
  Json request = {{"nonce", nonce},
                  {"tee-pubkey", eph->public_jwk},
                  {"evidence", std::move(evidence).value()}};
  SKR_TRY(Json resp, api.Release(options.tenant, options.key, options.version, request));
  auto jwe = GetString(resp, "jwe");
  if (!jwe) {
    return Error(ErrorCode::kInternal, "release response has no \"jwe\"", "bad_response");
  }

  // The JWE must be addressed to our tee-pubkey: kid = RFC 7638 thumbprint (DESIGN.md section 2).
  SKR_TRY(Json header, JweProtectedHeader(*jwe));
  SKR_TRY(std::string thumbprint, JwkThumbprint(eph->public_jwk));
  auto kid = GetOptionalString(header, "kid");
  if (!kid || *kid != thumbprint) {
    return Error(ErrorCode::kVerificationFailed,
                 "the released JWE is not addressed to this agent's key (kid mismatch)",
                 "kid_mismatch");
  }
  auto alg = GetOptionalString(header, "alg");
  if (!alg || *alg != KeyTypeAlg(options.key_type)) {
    return Error(ErrorCode::kVerificationFailed, "the released JWE uses an unexpected alg",
                 "alg_mismatch");
  }
  auto plain = JweDecrypt(*jwe, eph->private_key.get());
  if (!plain) {
    return Error(ErrorCode::kVerificationFailed,
                 "cannot decrypt the released JWE: " + plain.error().message(), "decrypt_failed");
  }

  FetchResult out;
  out.key = std::move(plain).value();
  if (auto v = GetInt(resp, "version")) out.version = *v;
  if (auto s = GetInt(resp, "audit_seq")) out.audit_seq = *s;
  return out;
}

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int retry, double jitter) {
  if (retry < 1) return std::chrono::milliseconds(0);
  const std::int64_t exp = ExponentialPart(policy, retry);
  const std::int64_t half = exp / 2;
  const auto spread = static_cast<std::int64_t>(
      std::llround(static_cast<double>(exp - half) * ClampJitter(jitter)));
  return std::chrono::milliseconds(half + spread);
}

std::chrono::milliseconds RetryDelay(const RetryPolicy& policy, int retry,
                                     std::optional<std::chrono::seconds> retry_after,
                                     double backoff_jitter, double spread_jitter) {
  const auto backoff = BackoffDelay(policy, retry, backoff_jitter);
  if (retry < 1 || !retry_after) return backoff;
  // Clamped again here: RetryDelay is public and its caller may not be ApiClient.
  const std::int64_t floor = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::clamp(*retry_after, std::chrono::seconds(0), kMaxRetryAfter))
                                 .count();
  // The spread grows with the backoff scale but never exceeds the server's own value, so an
  // agent waits at most twice what it was asked; at least 1 s wide, so that a fleet told
  // "Retry-After: 1" arrives spread over a second rather than in one burst.
  const std::int64_t window =
      std::min(floor, std::max<std::int64_t>(ExponentialPart(policy, retry), 1000));
  const auto spread = static_cast<std::int64_t>(
      std::llround(static_cast<double>(window) * ClampJitter(spread_jitter)));
  return std::max(backoff, std::chrono::milliseconds(floor + spread));
}

std::vector<std::chrono::milliseconds> BackoffSchedule(const RetryPolicy& policy,
                                                       const std::function<double()>& jitter) {
  std::vector<std::chrono::milliseconds> out;
  for (int r = 1; r <= policy.retries; ++r) {
    out.push_back(BackoffDelay(policy, r, jitter ? jitter() : 1.0));
  }
  return out;
}

std::chrono::steady_clock::time_point SystemRetryEnvironment::Now() {
  return std::chrono::steady_clock::now();
}

void SystemRetryEnvironment::SleepFor(std::chrono::milliseconds delay) {
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
}

double SystemRetryEnvironment::Jitter() {
  const auto bytes = RandomBytes(8);
  std::uint64_t v = 0;
  for (const auto b : bytes) v = (v << 8) | b;
  return static_cast<double>(v >> 11) * 0x1.0p-53;  // 53 random bits -> [0, 1)
}

Result<std::unique_ptr<ApiClient>> HttpsConnector::Connect(const std::string& url,
                                                           std::chrono::milliseconds budget) {
  ApiClientOptions o = base_;
  o.base_url = url;
  const auto floor = std::chrono::milliseconds(1);
  o.timeout = std::max(floor, std::min(o.timeout, budget));
  if (o.connect_timeout.count() > 0) {
    o.connect_timeout = std::max(floor, std::min(o.connect_timeout, budget));
  }
  return ApiClient::Create(o);
}

bool IsRetryable(const Error& error, int status) {
  if (status == 429 || (status >= 500 && status <= 599)) return true;
  // No HTTP answer: only transport failures (ApiClient and ProbeConnect report kUnavailable).
  return status == 0 && error.code() == ErrorCode::kUnavailable;
}

Result<FetchResult> FetchWithFailover(const FetchOptions& options,
                                      const std::vector<std::string>& urls,
                                      const RetryPolicy& policy, ServerConnector& connector,
                                      RetryEnvironment& env, const AttemptLogger& log) {
  if (urls.empty()) {
    return Error(ErrorCode::kInvalidArgument, "no server URL configured", "bad_url");
  }
  if (policy.retries < 0 || policy.deadline.count() <= 0) {
    return Error(ErrorCode::kInvalidArgument, "retries must be >= 0 and the deadline positive");
  }
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto start = env.Now();
  const auto deadline = start + policy.deadline;
  const auto elapsed = [&] { return duration_cast<milliseconds>(env.Now() - start).count(); };
  std::optional<Error> last;
  // The largest Retry-After among the current round's retryable HTTP answers.
  std::optional<std::chrono::seconds> round_retry_after;
  const auto deadline_error = [&] {
    std::string msg =
        "gave up after the deadline of " + std::to_string(policy.deadline.count()) + " ms";
    if (round_retry_after) {
      msg +=
          "; the server asked to retry after " + std::to_string(round_retry_after->count()) + " s";
    }
    if (last) msg += "; last error (" + last->reason() + "): " + last->message();
    return Error(ErrorCode::kUnavailable, msg, "deadline_exceeded");
  };
  int attempt = 0;
  for (int round = 0; round <= policy.retries; ++round) {
    if (round > 0) {
      const auto remaining = duration_cast<milliseconds>(deadline - env.Now());
      // Drawn in this order (the spread only with a Retry-After), so runs are reproducible with a
      // scripted RetryEnvironment.
      const double backoff_jitter = env.Jitter();
      const double spread_jitter = round_retry_after ? env.Jitter() : 0.0;
      const auto delay =
          RetryDelay(policy, round, round_retry_after, backoff_jitter, spread_jitter);
      // No attempt could start before the deadline: stop now rather than sleep in vain. This
      // also covers a Retry-After longer than the time left: honouring it fully is impossible,
      // and coming back earlier than asked is what the server said not to do.
      if (delay >= remaining) return deadline_error();
      env.SleepFor(delay);
      round_retry_after.reset();
    }
    for (const auto& url : urls) {
      const auto budget = duration_cast<milliseconds>(deadline - env.Now());
      if (budget.count() <= 0) return deadline_error();
      ++attempt;
      AttemptRecord rec;
      rec.url = url;
      rec.attempt = attempt;
      rec.round = round;
      auto client = connector.Connect(url, budget);
      Result<FetchResult> r =
          client ? FetchKey(options, **client) : Result<FetchResult>(client.error());
      rec.status = client ? (*client)->last_status() : 0;
      rec.retry_after = client ? (*client)->last_retry_after() : std::nullopt;
      if (client) rec.request_id = (*client)->last_request_id();
      rec.elapsed_ms = elapsed();
      if (r) {
        rec.reason = "released";
        if (log) log(rec);
        r->url = url;
        r->attempts = attempt;
        return r;
      }
      rec.reason = r.error().reason();
      rec.will_retry = IsRetryable(r.error(), rec.status);
      if (log) log(rec);
      if (!rec.will_retry) return r.error();
      last = r.error();
      // Only an HTTP answer (429, 5xx) carries a Retry-After; it is applied before the next
      // round, never before the next URL of this one (another server may well be able to serve).
      if (rec.status != 0 && rec.retry_after) {
        round_retry_after =
            std::max(round_retry_after.value_or(std::chrono::seconds(0)), *rec.retry_after);
      }
    }
  }
  if (env.Now() >= deadline) return deadline_error();
  return *last;
}

int ExitCodeFor(const Error& error) {
  switch (error.code()) {
    case ErrorCode::kPolicyDenied:
      return kExitDenied;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kMethodNotAllowed:
    case ErrorCode::kUnsupportedMediaType:
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kFailedPrecondition:
    case ErrorCode::kGone:
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kPayloadTooLarge:
      return kExitUsage;
    case ErrorCode::kMalformedEvidence:
    case ErrorCode::kBadNonce:
    case ErrorCode::kVerificationFailed:
      return kExitAttestation;
    case ErrorCode::kUnavailable:
    case ErrorCode::kSealed:
    case ErrorCode::kRateLimited:
    case ErrorCode::kInternal:
      return kExitUnavailable;
  }
  return kExitUnavailable;
}

Result<void> WriteAll(int fd, std::span<const std::uint8_t> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error(ErrorCode::kInternal, Errno("write"), "write_failed");
    }
    done += static_cast<std::size_t>(n);
  }
  return Ok();
}

Result<void> WriteSecretFile(const std::string& path, std::span<const std::uint8_t> data) {
  // O_NOFOLLOW: never write key bytes through a symlink planted at the output path.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error(ErrorCode::kInvalidArgument, Errno("cannot open " + path), "bad_output");
  }
  // An existing file keeps its mode on open(); narrow it before any byte is written.
  if (::fchmod(fd, 0600) != 0) {
    const std::string msg = Errno("fchmod " + path);
    ::close(fd);
    return Error(ErrorCode::kInvalidArgument, msg, "bad_output");
  }
  auto written = WriteAll(fd, data);
  if (!written) {
    ::close(fd);
    return written.error();
  }
  if (::fsync(fd) != 0 && errno != EINVAL) {  // EINVAL: e.g. a pipe or character device
    const std::string msg = Errno("fsync " + path);
    ::close(fd);
    return Error(ErrorCode::kInternal, msg, "write_failed");
  }
  if (::close(fd) != 0) {
    return Error(ErrorCode::kInternal, Errno("close " + path), "write_failed");
  }
  return Ok();
}

std::string LogLine(std::string_view level, std::string_view msg, const Json& fields) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  Json line = {{"time", FormatRfc3339(now)}, {"level", std::string(level)}, {"msg", std::string(msg)}};
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  }
  return DumpJson(line);
}

}  // namespace skr::client
