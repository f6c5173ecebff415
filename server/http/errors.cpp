// SPDX-License-Identifier: Apache-2.0
#include "server/http/errors.h"

#include "common/json.h"

namespace skr::server::http {

unsigned HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return 400;
    case ErrorCode::kMalformedEvidence: return 400;
    case ErrorCode::kPayloadTooLarge: return 413;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kBadNonce: return 401;
    case ErrorCode::kVerificationFailed: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kPolicyDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kUnsupportedMediaType: return 415;
    case ErrorCode::kAlreadyExists: return 409;
    case ErrorCode::kFailedPrecondition: return 409;
    case ErrorCode::kGone: return 410;
    case ErrorCode::kRateLimited: return 429;
    case ErrorCode::kSealed: return 503;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

const char* StatusTitle(unsigned status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

Response ProblemResponse(const Error& error, const std::string& request_id) {
  Response r;
  r.status = HttpStatusFor(error.code());
  r.content_type = "application/problem+json";
  // Internal and storage errors carry no detail to clients: the message may name internals
  // (SQLite errors, paths).
  std::string detail = error.message();
  if (error.code() == ErrorCode::kInternal) detail = "internal error";
  // Stale AMD revocation data is also 503, with a message that names only product, issuer
  // and times: it tells the operator what to refresh.
  if (error.code() == ErrorCode::kUnavailable && error.reason() != "audit_unavailable" &&
      error.reason() != "snp_crl_stale" && error.reason() != "snp_crl_not_yet_valid" &&
      error.reason() != "overloaded") {
    detail = "storage unavailable; retry later";
  }
  Json body = {{"type", "urn:skr:problem:" + error.reason()},
               {"title", StatusTitle(r.status)},
               {"status", r.status},
               {"detail", detail},
               {"request_id", request_id}};
  if (!error.problems().empty()) {
    Json problems = Json::array();
    for (const auto& p : error.problems()) {
      problems.push_back({{"path", p.path}, {"message", p.message}});
    }
    body["problems"] = std::move(problems);
  }
  r.body = DumpJson(body);
  // Every 429 and 503 says when to come back (DESIGN.md section 2); a caller that knows better
  // (a token bucket's refill time) replaces it.
  if (r.status == 429 || r.status == 503) r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace skr::server::http
