// SPDX-License-Identifier: Apache-2.0
#include "server/http/router.h"

#include <charconv>
#include <exception>
#include <vector>

#include "common/clock.h"
#include "common/encoding.h"
#include "common/ossl.h"
#include "server/http/errors.h"

namespace skr::server::http {
namespace {

struct Target {
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> query;
};

Target SplitTarget(std::string_view target) {
  Target t;
  std::string_view path = target;
  std::string_view query;
  if (auto q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    t.segments.emplace_back(path.substr(i, j - i));
    i = j;
  }
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    std::size_t eq = kv.find('=');
    if (!kv.empty()) {
      t.query.emplace_back(std::string(kv.substr(0, eq)),
                           eq == std::string_view::npos ? "" : std::string(kv.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return t;
}

std::optional<std::string> QueryParam(const Target& t, std::string_view name) {
  for (const auto& [k, v] : t.query) {
    if (k == name) return v;
  }
  return std::nullopt;
}

Result<std::optional<std::int64_t>> QueryInt(const Target& t, std::string_view name) {
  auto v = QueryParam(t, name);
  if (!v) return std::optional<std::int64_t>();
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size() || out < 0) {
    return Error(ErrorCode::kInvalidArgument,
                 "query parameter '" + std::string(name) + "' must be a non-negative integer",
                 "malformed_request");
  }
  return std::optional<std::int64_t>(out);
}

// A time filter: RFC 3339 ("2026-12-06T10:00:00Z") or unix seconds.
Result<std::optional<std::int64_t>> QueryTime(const Target& t, std::string_view name) {
  auto raw = QueryParam(t, name);
  if (!raw) return std::optional<std::int64_t>();
  // Clients may percent-encode ':' and '+' (RFC 3986); nothing else is meaningful here.
  std::string decoded;
  for (std::size_t i = 0; i < raw->size(); ++i) {
    const char c = (*raw)[i];
    if (c == '%' && i + 2 < raw->size()) {
      const std::string hex = raw->substr(i + 1, 2);
      if (hex == "3A" || hex == "3a") decoded += ':';
      else if (hex == "2B" || hex == "2b") decoded += '+';
      else decoded += '?';  // anything else: not a valid time
      i += 2;
    } else {
      decoded += c;
    }
  }
  const std::optional<std::string> v = decoded;
  if (auto parsed = ParseRfc3339(*v)) return std::optional<std::int64_t>(*parsed);
  std::int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size() || out < 0) {
    return Error(ErrorCode::kInvalidArgument,
                 "query parameter '" + std::string(name) +
                     "' must be an RFC 3339 time (2026-12-06T10:00:00Z) or unix seconds",
                 "malformed_request");
  }
  return std::optional<std::int64_t>(out);
}

Result<int> ParseVersion(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) {
    return Error(ErrorCode::kInvalidArgument, "version must be a positive integer",
                 "malformed_request");
  }
  return v;
}

Response JsonResponse(unsigned status, const Json& body) {
  Response r;
  r.status = status;
  r.body = DumpJson(body);
  return r;
}

Response FromResult(const Result<Json>& r, const std::string& rid, unsigned ok_status = 200) {
  if (!r) return ProblemResponse(r.error(), rid);
  return JsonResponse(ok_status, *r);
}

Response FromVoid(const Result<void>& r, const std::string& rid) {
  if (!r) return ProblemResponse(r.error(), rid);
  Response resp;
  resp.status = 204;
  resp.content_type.clear();
  return resp;
}

Response MethodNotAllowed(const std::string& rid) {
  return ProblemResponse(Error(ErrorCode::kMethodNotAllowed, "method not allowed",
                               "method_not_allowed"),
                         rid);
}

Response NotFound(const std::string& rid) {
  return ProblemResponse(Error(ErrorCode::kNotFound, "no such endpoint", "no_route"), rid);
}

Result<Page> PageOf(const Target& t) {
  Page p;
  SKR_TRY(std::optional<std::int64_t> limit, QueryInt(t, "limit"));
  if (limit) p.limit = static_cast<int>(std::min<std::int64_t>(*limit, 1000));
  if (auto after = QueryParam(t, "after")) p.after = *after;
  return p;
}

bool IsJsonContentType(std::string_view ct) {
  if (ct.empty()) return true;
  auto semi = ct.find(';');
  std::string_view base = ct.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  std::string lower(base);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json" || lower == "application/problem+json";
}

bool IsReleasePath(const std::vector<std::string>& s) {
  return s.size() == 6 && s[0] == "v1" && s[1] == "tenants" && s[3] == "keys" &&
         s[5] == "release";
}

// GET /v1/audit/checkpoint and /v1/audit/proof/{inclusion,consistency} (DESIGN.md section 6).
Response AuditProofs(AuditService* audit_service_, const Actor& a, std::string_view which,
                     const Target& target, const std::string& rid) {
  if (audit_service_ == nullptr) {
    return ProblemResponse(Error(ErrorCode::kUnavailable, "audit checkpoints are not configured",
                                 "audit_unavailable"),
                           rid);
  }
  if (which == "checkpoint") return FromResult(audit_service_->GetCheckpoint(a), rid);
  // Required integer parameters (and the optional tree_size).
  auto required = [&](const char* name) -> Result<std::int64_t> {
    SKR_TRY(const auto v, QueryInt(target, name));
    if (!v) {
      return Error(ErrorCode::kInvalidArgument, std::string("query parameter '") + name +
                                                    "' is required",
                   "invalid_proof_range");
    }
    return *v;
  };
  if (which == "inclusion") {
    auto seq = required("seq");
    if (!seq) return ProblemResponse(seq.error(), rid);
    auto size = QueryInt(target, "tree_size");
    if (!size) return ProblemResponse(size.error(), rid);
    return FromResult(audit_service_->GetInclusionProof(a, *seq, *size), rid);
  }
  auto from = required("from");
  if (!from) return ProblemResponse(from.error(), rid);
  auto to = required("to");
  if (!to) return ProblemResponse(to.error(), rid);
  return FromResult(audit_service_->GetConsistencyProof(a, *from, *to), rid);
}

}  // namespace

Router::Router(Broker& broker, const RouterLimits& limits)
    : broker_(broker),
      challenge_limiter_(limits.challenge_rate_per_second, limits.challenge_burst,
                         limits.max_tracked_addresses),
      release_limiter_(limits.release_rate_per_second, limits.release_burst,
                       limits.max_tracked_addresses) {}

std::optional<Response> Router::Admit(const Request& request) {
  const Target t = SplitTarget(request.target);
  const auto& s = t.segments;
  int wait = 0;
  if (s.size() == 2 && s[0] == "v1" && s[1] == "challenge") {
    wait = challenge_limiter_.Take(request.source);
    if (wait > 0) rate_limited_challenge_.fetch_add(1, std::memory_order_relaxed);
  } else if (IsReleasePath(s)) {
    wait = release_limiter_.Take(request.source);
    if (wait > 0) rate_limited_release_.fetch_add(1, std::memory_order_relaxed);
  }
  if (wait == 0) return std::nullopt;
  const std::string rid = HexEncode(RandomBytes(8));
  Response resp = ProblemResponse(
      Error(ErrorCode::kRateLimited, "too many requests from this address; retry later",
            "rate_limited"),
      rid);
  for (auto& [k, v] : resp.headers) {
    if (k == "Retry-After") v = std::to_string(wait);
  }
  resp.headers.emplace_back("X-Request-Id", rid);
  resp.headers.emplace_back("Cache-Control", "no-store");
  requests_.fetch_add(1, std::memory_order_relaxed);
  status_class_[4].fetch_add(1, std::memory_order_relaxed);
  return resp;
}

Response Router::Handle(const Request& request) {
  const std::string rid = HexEncode(RandomBytes(8));
  Response resp;
  try {
    resp = Dispatch(request, rid);
  } catch (const std::exception&) {
    // The one catch-all (CONVENTIONS.md section 1): a stray exception is a 500, not a crash.
    resp = ProblemResponse(Error(ErrorCode::kInternal, "unexpected exception"), rid);
  }
  resp.headers.emplace_back("X-Request-Id", rid);
  resp.headers.emplace_back("Cache-Control", "no-store");
  requests_.fetch_add(1, std::memory_order_relaxed);
  const unsigned cls = resp.status / 100;
  if (cls >= 1 && cls <= 5) status_class_[cls].fetch_add(1, std::memory_order_relaxed);
  return resp;
}

Response Router::Dispatch(const Request& req, const std::string& rid) {
  const Target t = SplitTarget(req.target);
  const auto& s = t.segments;
  const std::string& m = req.method;
  const std::size_t n = s.size();

  // Health and status answer even when sealed.
  if (n == 1 && s[0] == "healthz") {
    if (m != "GET") return MethodNotAllowed(rid);
    return JsonResponse(200, {{"status", "ok"}});
  }
  if (n == 1 && s[0] == "readyz") {
    if (m != "GET") return MethodNotAllowed(rid);
    if (broker_.sealed()) {
      return ProblemResponse(Error(ErrorCode::kSealed, "skrd is sealed", "sealed"), rid);
    }
    return JsonResponse(200, {{"status", "ready"}});
  }
  if (n == 1 && s[0] == "metrics") {
    if (m != "GET") return MethodNotAllowed(rid);
    Response r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = MetricsText();
    return r;
  }
  if (n == 2 && s[0] == "v1" && s[1] == "status") {
    if (m != "GET") return MethodNotAllowed(rid);
    Json body = {{"sealed", broker_.sealed()}, {"version", SKR_VERSION}};
    // With a token: who the caller is (`skrctl status`), never the token's secret.
    if (!req.authorization.empty() && !broker_.sealed()) {
      if (auto who = broker_.Authenticate(req.authorization)) {
        const auto& tk = who->token;
        body["whoami"] = {{"token_id", tk.id},
                          {"role", keystore::RoleName(tk.role)},
                          {"tenant", tk.tenant ? Json(*tk.tenant) : Json(nullptr)},
                          {"expires_at", tk.expires_at ? Json(FormatRfc3339(*tk.expires_at)) : Json(nullptr)}};
      } else {
        body["whoami_error"] = who.error().reason();
      }
    }
    return JsonResponse(200, body);
  }
  if (n == 0 || s[0] != "v1") return NotFound(rid);

  const bool is_release = n == 6 && s[1] == "tenants" && s[3] == "keys" && s[5] == "release";
  if (req.body_too_large) {
    Error e(ErrorCode::kPayloadTooLarge, "request body exceeds the limit", "payload_too_large");
    if (is_release) broker_.release().AuditRejectedRelease(s[2], s[4], e, rid, req.source);
    return ProblemResponse(e, rid);
  }
  if (broker_.sealed()) {
    Error e(ErrorCode::kSealed, "skrd is sealed: master key missing or wrong", "sealed");
    if (is_release) broker_.release().AuditRejectedRelease(s[2], s[4], e, rid, req.source);
    return ProblemResponse(e, rid);
  }
  if ((m == "POST" || m == "PUT") && !IsJsonContentType(req.content_type)) {
    Error e(ErrorCode::kUnsupportedMediaType, "Content-Type must be application/json",
            "unsupported_media_type");
    if (is_release) broker_.release().AuditRejectedRelease(s[2], s[4], e, rid, req.source);
    return ProblemResponse(e, rid);
  }

  // --- attester endpoints: no token, evidence is the credential ---
  if (n == 2 && s[1] == "challenge") {
    if (m != "POST") return MethodNotAllowed(rid);
    return FromResult(broker_.release().Challenge(req.body), rid);
  }
  if (is_release) {
    if (m != "POST") {
      broker_.release().AuditRejectedRelease(
          s[2], s[4], Error(ErrorCode::kMethodNotAllowed, "method not allowed", "method_not_allowed"),
          rid, req.source);
      return MethodNotAllowed(rid);
    }
    std::optional<int> version;
    if (auto v = QueryParam(t, "version")) {
      auto pv = ParseVersion(*v);
      if (!pv) {
        broker_.release().AuditRejectedRelease(s[2], s[4], pv.error(), rid, req.source);
        return ProblemResponse(pv.error(), rid);
      }
      version = *pv;
    }
    auto released = broker_.release().Release(s[2], s[4], version, req.body, rid, req.source);
    if (const auto want = QueryParam(t, "receipt");
        released && want && (*want == "1" || *want == "true")) {
      // The key is already released and its record durable: a receipt that cannot be made is
      // reported next to the key, never instead of it.
      auto receipt = audit_service_ != nullptr
                         ? audit_service_->Receipt(released->at("audit_seq").get<std::int64_t>())
                         : Result<Json>(Error(ErrorCode::kUnavailable, "no audit checkpoints"));
      if (receipt) {
        (*released)["receipt"] = std::move(receipt).value();
      } else {
        (*released)["receipt_error"] = receipt.error().message();
      }
    }
    return FromResult(released, rid);
  }

  // --- admin and auditor endpoints: bearer token ---
  // Route first (so unknown paths are 404 without a token), then authenticate.
  // TEE-specific endpoints: the declarative tables their modules export (tee_routes.h).
  {
    bool path_known = false;
    for (const TeeRoute& r : tee_routes_) {
      auto params = MatchTeeRoute(r.pattern, s);
      if (!params) continue;
      path_known = true;
      if (m != r.method) continue;
      auto actor = broker_.Authenticate(req.authorization);
      if (!actor) return ProblemResponse(actor.error(), rid);
      actor->source = req.source;
      auto result = r.handler(broker_, *actor, *params, req.body, rid);
      if (r.ok_status == 204) {
        if (!result) return ProblemResponse(result.error(), rid);
        return FromVoid(Result<void>{}, rid);
      }
      return FromResult(result, rid, r.ok_status);
    }
    if (path_known) return MethodNotAllowed(rid);
  }

  enum class R {
    kNone, kTenants, kTenant, kTokens, kToken, kPolicies, kPolicy, kPolicyEval, kKeys, kKey,
    kRotate, kVersion, kVersionAction, kKeyPolicy, kVerify, kAuditEntries, kAuditCheckpoint,
    kAuditReplay, kAuditInclusion, kAuditConsistency, kPolicyRollback, kWhatIf, kClaims
  };
  R route = R::kNone;
  if (n == 2 && s[1] == "tenants") route = R::kTenants;
  else if (n == 3 && s[1] == "tenants") route = R::kTenant;
  else if (n == 2 && s[1] == "tokens") route = R::kTokens;
  else if (n == 3 && s[1] == "tokens") route = R::kToken;
  else if (n == 4 && s[1] == "tenants" && s[3] == "policies") route = R::kPolicies;
  else if (n == 5 && s[1] == "tenants" && s[3] == "policies") route = R::kPolicy;
  else if (n == 6 && s[1] == "tenants" && s[3] == "policies" && s[5] == "evaluate") route = R::kPolicyEval;
  else if (n == 6 && s[1] == "tenants" && s[3] == "policies" && s[5] == "rollback") route = R::kPolicyRollback;
  else if (n == 6 && s[1] == "tenants" && s[3] == "keys" && s[5] == "what-if") route = R::kWhatIf;
  else if (n == 2 && s[1] == "claims") route = R::kClaims;
  else if (n == 4 && s[1] == "tenants" && s[3] == "keys") route = R::kKeys;
  else if (n == 5 && s[1] == "tenants" && s[3] == "keys") route = R::kKey;
  else if (n == 6 && s[1] == "tenants" && s[3] == "keys" && s[5] == "rotate") route = R::kRotate;
  else if (n == 6 && s[1] == "tenants" && s[3] == "keys" && s[5] == "policy") route = R::kKeyPolicy;
  else if (n == 7 && s[1] == "tenants" && s[3] == "keys" && s[5] == "versions") route = R::kVersion;
  else if (n == 8 && s[1] == "tenants" && s[3] == "keys" && s[5] == "versions" &&
           (s[7] == "disable" || s[7] == "enable")) route = R::kVersionAction;
  else if (n == 3 && s[1] == "attestation" && s[2] == "verify") route = R::kVerify;
  else if (n == 3 && s[1] == "audit" && s[2] == "entries") route = R::kAuditEntries;
  else if (n == 3 && s[1] == "audit" && s[2] == "checkpoint") route = R::kAuditCheckpoint;
  else if (n == 3 && s[1] == "audit" && s[2] == "replay") route = R::kAuditReplay;
  else if (n == 4 && s[1] == "audit" && s[2] == "proof" && s[3] == "inclusion") route = R::kAuditInclusion;
  else if (n == 4 && s[1] == "audit" && s[2] == "proof" && s[3] == "consistency") route = R::kAuditConsistency;
  if (route == R::kNone) return NotFound(rid);

  auto actor_r = broker_.Authenticate(req.authorization);
  if (!actor_r) return ProblemResponse(actor_r.error(), rid);
  actor_r->source = req.source;
  const Actor& a = *actor_r;
  auto page = PageOf(t);
  if (!page) return ProblemResponse(page.error(), rid);

  switch (route) {
    case R::kTenants:
      if (m == "POST") return FromResult(broker_.admin().CreateTenant(a, req.body, rid), rid, 201);
      if (m == "GET") return FromResult(broker_.admin().ListTenants(a, *page), rid);
      return MethodNotAllowed(rid);
    case R::kTenant:
      if (m == "DELETE") return FromVoid(broker_.admin().DeleteTenant(a, s[2], rid), rid);
      return MethodNotAllowed(rid);
    case R::kTokens:
      if (m == "POST") return FromResult(broker_.admin().CreateToken(a, req.body, rid), rid, 201);
      if (m == "GET") return FromResult(broker_.admin().ListTokens(a, QueryParam(t, "tenant"), *page), rid);
      return MethodNotAllowed(rid);
    case R::kToken:
      if (m == "DELETE") return FromVoid(broker_.admin().RevokeToken(a, s[2], rid), rid);
      return MethodNotAllowed(rid);
    case R::kPolicies:
      if (m == "GET") return FromResult(broker_.admin().ListPolicies(a, s[2], *page), rid);
      return MethodNotAllowed(rid);
    case R::kPolicy:
      if (m == "PUT") return FromResult(broker_.admin().PutPolicy(a, s[2], s[4], req.body, rid), rid, 201);
      if (m == "GET") {
        std::optional<int> version;
        if (auto v = QueryParam(t, "version")) {
          auto pv = ParseVersion(*v);
          if (!pv) return ProblemResponse(pv.error(), rid);
          version = *pv;
        }
        return FromResult(broker_.admin().GetPolicy(a, s[2], s[4], version), rid);
      }
      return MethodNotAllowed(rid);
    case R::kPolicyEval:
      if (m == "POST") return FromResult(broker_.admin().EvaluatePolicy(a, s[2], s[4], req.body), rid);
      return MethodNotAllowed(rid);
    case R::kPolicyRollback:
      if (m == "POST") return FromResult(broker_.admin().RollbackPolicy(a, s[2], s[4], req.body, rid), rid, 201);
      return MethodNotAllowed(rid);
    case R::kWhatIf:
      if (m == "POST") return FromResult(broker_.admin().PolicyWhatIf(a, s[2], s[4], req.body, rid), rid);
      return MethodNotAllowed(rid);
    case R::kClaims:
      if (m == "GET") return FromResult(Result<Json>(AdminService::ClaimCatalogue()), rid);
      return MethodNotAllowed(rid);
    case R::kKeys:
      if (m == "POST") return FromResult(broker_.admin().CreateKey(a, s[2], req.body, rid), rid, 201);
      if (m == "GET") return FromResult(broker_.admin().ListKeys(a, s[2], *page), rid);
      return MethodNotAllowed(rid);
    case R::kKey:
      if (m == "GET") return FromResult(broker_.admin().GetKey(a, s[2], s[4]), rid);
      return MethodNotAllowed(rid);
    case R::kRotate:
      if (m == "POST") return FromResult(broker_.admin().RotateKey(a, s[2], s[4], req.body, rid), rid);
      return MethodNotAllowed(rid);
    case R::kKeyPolicy:
      if (m == "PUT") return FromResult(broker_.admin().SetKeyPolicy(a, s[2], s[4], req.body, rid), rid);
      return MethodNotAllowed(rid);
    case R::kVersion: {
      if (m != "DELETE") return MethodNotAllowed(rid);
      auto v = ParseVersion(s[6]);
      if (!v) return ProblemResponse(v.error(), rid);
      return FromResult(
          broker_.admin().SetVersionState(a, s[2], s[4], *v, keystore::VersionState::kDestroyed, rid), rid);
    }
    case R::kVersionAction: {
      if (m != "POST") return MethodNotAllowed(rid);
      auto v = ParseVersion(s[6]);
      if (!v) return ProblemResponse(v.error(), rid);
      const auto state = s[7] == "disable" ? keystore::VersionState::kDisabled
                                           : keystore::VersionState::kEnabled;
      return FromResult(broker_.admin().SetVersionState(a, s[2], s[4], *v, state, rid), rid);
    }
    case R::kVerify:
      if (m == "POST") return FromResult(broker_.admin().VerifyEvidence(a, req.body), rid);
      return MethodNotAllowed(rid);
    case R::kAuditEntries: {
      if (m != "GET") return MethodNotAllowed(rid);
      audit::Query q;
      q.tenant = QueryParam(t, "tenant");
      q.decision = QueryParam(t, "decision");
      q.key = QueryParam(t, "key");
      q.action = QueryParam(t, "action");
      q.actor = QueryParam(t, "actor");
      auto since = QueryTime(t, "since");
      if (!since) return ProblemResponse(since.error(), rid);
      q.since = *since;
      auto until = QueryTime(t, "until");
      if (!until) return ProblemResponse(until.error(), rid);
      q.until = *until;
      auto from = QueryInt(t, "from_seq");
      if (!from) return ProblemResponse(from.error(), rid);
      if (*from) q.from_seq = **from;
      auto limit = QueryInt(t, "limit");
      if (!limit) return ProblemResponse(limit.error(), rid);
      if (*limit) q.limit = static_cast<int>(std::min<std::int64_t>(**limit, 1000));
      return FromResult(broker_.audit_queries().AuditEntries(a, q), rid);
    }
    case R::kAuditReplay: {
      if (m != "GET") return MethodNotAllowed(rid);
      auto seq = QueryInt(t, "seq");
      if (!seq) return ProblemResponse(seq.error(), rid);
      if (!*seq) {
        return ProblemResponse(Error(ErrorCode::kInvalidArgument, "give ?seq=N", "malformed_request"),
                               rid);
      }
      return FromResult(broker_.audit_queries().ReplayRelease(a, **seq), rid);
    }
    case R::kAuditCheckpoint:
    case R::kAuditInclusion:
    case R::kAuditConsistency:
      if (m != "GET") return MethodNotAllowed(rid);
      return AuditProofs(audit_service_, a,
                         route == R::kAuditCheckpoint   ? "checkpoint"
                            : route == R::kAuditInclusion ? "inclusion"
                                                          : "consistency",
                         t, rid);
    case R::kNone:
      break;
  }
  return NotFound(rid);
}

std::string Router::MetricsText() const {
  std::string out;
  out += "# HELP skr_http_requests_total HTTP requests by status class.\n";
  out += "# TYPE skr_http_requests_total counter\n";
  for (unsigned c = 1; c <= 5; ++c) {
    out += "skr_http_requests_total{code=\"" + std::to_string(c) + "xx\"} " +
           std::to_string(status_class_[c].load()) + "\n";
  }
  const auto& st = broker_.stats();
  out += "# HELP skr_releases_total Release decisions.\n# TYPE skr_releases_total counter\n";
  out += "skr_releases_total{decision=\"granted\"} " + std::to_string(st.granted.load()) + "\n";
  out += "skr_releases_total{decision=\"denied\"} " + std::to_string(st.denied.load()) + "\n";
  out += "skr_releases_total{decision=\"error\"} " + std::to_string(st.errors.load()) + "\n";
  out += "# HELP skr_rate_limited_total Requests refused with 429 by per-address limits.\n"
         "# TYPE skr_rate_limited_total counter\n";
  out += "skr_rate_limited_total{endpoint=\"challenge\"} " +
         std::to_string(rate_limited_challenge_.load()) + "\n";
  out += "skr_rate_limited_total{endpoint=\"release\"} " +
         std::to_string(rate_limited_release_.load()) + "\n";
  out += "# HELP skr_release_unknown_key_total Releases naming unknown tenants or keys "
         "(audited as one aggregated record per source and interval).\n"
         "# TYPE skr_release_unknown_key_total counter\n";
  out += "skr_release_unknown_key_total " + std::to_string(st.unknown_key.load()) + "\n";
  out += "# HELP skr_challenges_total Nonces issued.\n# TYPE skr_challenges_total counter\n";
  out += "skr_challenges_total " + std::to_string(st.challenges.load()) + "\n";
  out += "# HELP skr_sealed 1 when skrd is sealed.\n# TYPE skr_sealed gauge\n";
  out += std::string("skr_sealed ") + (broker_.sealed() ? "1" : "0") + "\n";
  for (const auto& source : metrics_sources_) out += source();
  return out;
}

}  // namespace skr::server::http
