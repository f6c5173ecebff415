// SPDX-License-Identifier: Apache-2.0
// ApiClient: a small HTTPS client for the skrd API (/work/notes/api.md, DESIGN.md sections 2
// and 8) on top of cpprestsdk. Bodies in and out are nlohmann JSON (common/json.h); no
// cpprestsdk type and no exception crosses this header.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/retry_after.h"  // ParseRetryAfter, kMaxRetryAfter (for existing includers)
#include "client/tls_pin.h"      // SpkiSha256, ParseSpkiPin (for existing includers)
#include "common/json.h"
#include "common/ossl.h"
#include "common/result.h"

namespace skr::client {

struct ApiClientOptions {
  // Base URL, e.g. "https://127.0.0.1:8443". Only https:// is accepted.
  std::string base_url = "https://127.0.0.1:8443";
  // PEM file with the CA certificate(s) that signed skrd's TLS certificate. When set, only these
  // CAs are trusted (the system store is replaced); when empty, the system store is used.
  // Certificate and host name verification are always on.
  std::string cacert_file;
  // Bearer token for admin/auditor endpoints; empty = no Authorization header.
  std::string token;
  // Per-stage timeout (connect, TLS handshake, send, receive) of cpprestsdk.
  std::chrono::milliseconds timeout{30000};
  // When positive, the first request of this client is preceded by a TCP connect probe to the
  // URL's host and port bounded by this timeout (cpprestsdk has no separate connect timeout, its
  // timer covers every stage with `timeout`). Errors: kUnavailable "connect_timeout" or
  // "unreachable". Zero: no probe.
  std::chrono::milliseconds connect_timeout{0};
  // SPKI pins (RFC 7469 section 2.4 style): base64 of SHA-256 over the DER SubjectPublicKeyInfo of
  // the server's (leaf) certificate. When non-empty, the certificate must ALSO match one pin after
  // normal chain and host name verification succeeded; a mismatch fails the TLS handshake and the
  // request returns kUnavailable with reason "pin_mismatch".
  std::vector<std::string> pin_sha256;
};

// TCP connect probe to the host and port of an https:// URL (default port 443), bounded by
// `timeout` per resolved address and in total. Errors: kInvalidArgument "bad_url",
// kUnavailable "connect_timeout" (no answer in time) or "unreachable" (refused, no route, DNS).
Result<void> ProbeConnect(std::string_view url, std::chrono::milliseconds timeout);

// Maps an HTTP error response to an Error. Pure; used by ApiClient and tested directly.
// An RFC 7807 body {"type":"urn:skr:problem:<slug>","detail":...} yields message = detail and
// reason = slug; anything else yields a generic message and the code's default reason.
// Status -> code: 400 kInvalidArgument (kMalformedEvidence for evidence slugs), 401 kBadNonce
// (nonce slugs) / kUnauthenticated (no slug, "unauthenticated", API-token slugs such as
// token_expired) / kVerificationFailed (all other slugs: evidence and binding failures),
// 403 kPolicyDenied (slug policy_denied) / kPermissionDenied, 404 kNotFound, 409 kAlreadyExists
// (slugs naming "exists") / kFailedPrecondition, 410 kGone, 413 kPayloadTooLarge,
// 429 kRateLimited, 503 kSealed (slug sealed) / kUnavailable, anything else kInternal.
Error ErrorFromResponse(int status, std::string_view body);

// Percent-encodes one path segment. Errors: kInvalidArgument for "", "." and "..".
Result<std::string> PathSegment(std::string_view segment);

// Thread-compatible (one request at a time per instance). Never throws.
class ApiClient {
 public:
  // Validates the URL (https only) and the CA file (must be readable PEM). Errors:
  // kInvalidArgument (bad URL, unreadable or invalid CA file).
  static Result<std::unique_ptr<ApiClient>> Create(const ApiClientOptions& options);
  virtual ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // Sends one request. `path_and_query` starts with "/" and is already encoded (PathSegment,
  // Query). Returns the parsed JSON body of a 2xx response (an empty object for 204 or an
  // empty body). Errors: ErrorFromResponse for non-2xx; kUnavailable with reason "unreachable"
  // (connect or TLS failure), "timeout" or "connection_lost"; kInternal "bad_response" for a
  // 2xx body that is not JSON. Virtual so tests can substitute a fake transport.
  virtual Result<Json> Send(std::string_view method, const std::string& path_and_query,
                            const Json* body);

  // HTTP status of the last response, 0 when none was received.
  int last_status() const { return last_status_; }
  // Retry-After of the last response (ParseRetryAfter; an HTTP-date is taken relative to the
  // response's own Date field when that parses, else to the local clock, so a VM clock that is
  // off at boot does not distort it). nullopt when there was no response, no field, or the value
  // is malformed.
  std::optional<std::chrono::seconds> last_retry_after() const { return last_retry_after_; }
  // The RFC 7807 problem document of the last error response (with `request_id` and, for a
  // refused document, `problems`); null when the last response was not one.
  const Json& last_problem() const { return last_problem_; }
  // skrd's X-Request-Id of the last response ("" when none).
  const std::string& last_request_id() const { return last_request_id_; }

  Result<Json> Get(const std::string& path) { return Send("GET", path, nullptr); }
  Result<Json> Delete(const std::string& path) { return Send("DELETE", path, nullptr); }
  Result<Json> Post(const std::string& path, const Json& body) { return Send("POST", path, &body); }
  Result<Json> Put(const std::string& path, const Json& body) { return Send("PUT", path, &body); }

  // POST /v1/challenge {"tenant": tenant} (tenant omitted when empty). Returns the nonce.
  Result<std::string> Challenge(std::string_view tenant);
  // The whole challenge response for a release of `key` (hints such as `tpm_pcrs` included).
  Result<Json> ChallengeFor(std::string_view tenant, std::string_view key);
  // POST /v1/tenants/{t}/keys/{k}/release[?version=N] with `request`; returns the response.
  Result<Json> Release(std::string_view tenant, std::string_view key,
                       std::optional<std::int64_t> version, const Json& request);

 protected:
  ApiClient();  // for fakes in tests (defined in the .cpp: Impl is incomplete here)
  void set_last_status(int status) { last_status_ = status; }
  void set_last_retry_after(std::optional<std::chrono::seconds> v) { last_retry_after_ = v; }
  void set_last_problem(Json problem) { last_problem_ = std::move(problem); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int last_status_ = 0;
  std::optional<std::chrono::seconds> last_retry_after_;
  Json last_problem_;
  std::string last_request_id_;
};

// Builds "?a=1&b=x" from the non-empty pairs (values percent-encoded); "" when none.
std::string Query(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace skr::client
