// SPDX-License-Identifier: Apache-2.0
#include "client/api_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <system_error>

#include <boost/asio/ssl.hpp>
#include <cpprest/http_client.h>
#include <cpprest/uri.h>

#include "client/tls_pin.h"
#include "common/ossl.h"

namespace skr::client {
namespace {

constexpr std::string_view kProblemPrefix = "urn:skr:problem:";
// Upper bound for a response body; audit entry pages (1000 records with traces) are the biggest.
constexpr std::size_t kMaxResponseBytes = 64u << 20;

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

ErrorCode CodeFor(int status, const std::string& slug) {
  switch (status) {
    case 400:
      return Contains(slug, "evidence") ? ErrorCode::kMalformedEvidence
                                        : ErrorCode::kInvalidArgument;
    case 401:
      if (Contains(slug, "nonce")) return ErrorCode::kBadNonce;
      // API-token failures use a fixed set of slugs (server/broker, keystore); every other 401
      // slug is about evidence (verification_failed, signature_invalid, binding...), including
      // failures of "token" evidence, so no substring match on "token" here.
      if (slug.empty() || slug == "unauthenticated" || slug == "missing_token" ||
          slug == "invalid_token" || slug == "token_unknown" || slug == "token_revoked" ||
          slug == "token_expired") {
        return ErrorCode::kUnauthenticated;
      }
      return ErrorCode::kVerificationFailed;
    case 403:
      return slug == "policy_denied" ? ErrorCode::kPolicyDenied : ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return Contains(slug, "exists") ? ErrorCode::kAlreadyExists
                                      : ErrorCode::kFailedPrecondition;
    case 410:
      return ErrorCode::kGone;
    case 413:
      return ErrorCode::kPayloadTooLarge;
    case 429:
      return ErrorCode::kRateLimited;
    case 503:
      return Contains(slug, "sealed") ? ErrorCode::kSealed : ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

// Reads the CA file once up front so a typo fails at startup with a clear message rather than
// as an opaque handshake failure later.
Result<void> CheckCaFile(const std::string& path) {
  auto pem = ReadFile(path, 4u << 20);
  if (!pem) {
    return Error(ErrorCode::kInvalidArgument, "cannot read CA file " + path, "bad_cacert");
  }
  BioPtr bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())));
  if (!bio) return OpenSslError("BIO_new_mem_buf");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    (void)OpenSslError("PEM_read_bio_X509");  // drains the queue
    return Error(ErrorCode::kInvalidArgument, "no PEM certificate in CA file " + path,
                 "bad_cacert");
  }
  return Ok();
}

Error TransportError(const std::error_code& ec, std::string_view what) {
  const std::string msg = "request to skrd failed: " + std::string(what);
  if (ec == std::errc::timed_out) {
    return Error(ErrorCode::kUnavailable, msg, "timeout");
  }
  const std::string lower = Lower(what);
  if (Contains(lower, "handshake") || Contains(lower, "certificate") ||
      Contains(lower, "ssl")) {
    return Error(ErrorCode::kUnavailable, msg, "tls_failed");
  }
  return Error(ErrorCode::kUnavailable, msg, "unreachable");
}

// The Retry-After of a response, an HTTP-date taken relative to the response's own Date when
// that parses: both come from the server's clock, so a skewed local clock (a VM early in boot)
// does not stretch or cut the wait.
std::optional<std::chrono::seconds> RetryAfterOf(const web::http::http_headers& headers) {
  const auto field = headers.find("Retry-After");  // field names are case-insensitive here
  if (field == headers.end()) return std::nullopt;
  auto now = std::chrono::system_clock::now();
  if (const auto date = headers.find("Date"); date != headers.end()) {
    if (auto server_now = ParseHttpDate(date->second, now)) now = *server_now;
  }
  return ParseRetryAfter(field->second, now);
}

// --- connect probe ------------------------------------------------------------------------------
struct AddrInfoFree {
  void operator()(addrinfo* p) const noexcept { ::freeaddrinfo(p); }
};

// Non-blocking connect to one address; 0 on success, else an errno value (ETIMEDOUT on timeout).
int ConnectOnce(const addrinfo& ai, std::chrono::milliseconds timeout) {
  const int fd = ::socket(ai.ai_family, ai.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          ai.ai_protocol);
  if (fd < 0) return errno;
  int err = 0;
  if (::connect(fd, ai.ai_addr, ai.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      err = errno;
    } else {
      pollfd p{fd, POLLOUT, 0};
      const auto deadline = std::chrono::steady_clock::now() + timeout;
      for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
          err = ETIMEDOUT;
          break;
        }
        const int n = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1 << 30)));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
          err = errno;
        } else if (n == 0) {
          err = ETIMEDOUT;
        } else {
          socklen_t len = sizeof(err);
          if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        }
        break;
      }
    }
  }
  ::close(fd);
  return err;
}

}  // namespace

Error ErrorFromResponse(int status, std::string_view body) {
  std::string slug;
  std::string detail;
  auto parsed = ParseJson(body);
  if (parsed && parsed->is_object()) {
    if (auto type = GetOptionalString(*parsed, "type");
        type && type->size() > kProblemPrefix.size() && type->starts_with(kProblemPrefix)) {
      slug = type->substr(kProblemPrefix.size());
    }
    if (auto d = GetOptionalString(*parsed, "detail")) detail = *d;
    if (detail.empty()) {
      if (auto t = GetOptionalString(*parsed, "title")) detail = *t;
    }
  }
  const ErrorCode code = CodeFor(status, slug);
  if (detail.empty()) detail = "HTTP status " + std::to_string(status);
  return Error(code, detail, slug);
}

Result<std::string> PathSegment(std::string_view segment) {
  if (segment.empty() || segment == "." || segment == "..") {
    return Error(ErrorCode::kInvalidArgument,
                 "invalid name '" + std::string(segment) + "' in request path");
  }
  try {
    return web::uri::encode_data_string(std::string(segment));
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInvalidArgument, std::string("cannot encode path: ") + e.what());
  }
}

std::string Query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    out += out.empty() ? '?' : '&';
    out += web::uri::encode_data_string(k);
    out += '=';
    out += web::uri::encode_data_string(v);
  }
  return out;
}

Result<void> ProbeConnect(std::string_view url, std::chrono::milliseconds timeout) {
  std::string host;
  int port = 443;
  try {
    web::uri uri{std::string(url)};
    host = uri.host();
    if (uri.port() > 0) port = uri.port();
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInvalidArgument, std::string("bad server URL: ") + e.what(),
                 "bad_url");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return Error(ErrorCode::kInvalidArgument, "URL has no host", "bad_url");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* raw = nullptr;
  const std::string service = std::to_string(port);
  // getaddrinfo has no timeout; numeric hosts (the usual boot configuration) resolve at once.
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &raw);
  if (rc != 0) {
    return Error(ErrorCode::kUnavailable,
                 "cannot resolve " + host + ": " + ::gai_strerror(rc), "unreachable");
  }
  std::unique_ptr<addrinfo, AddrInfoFree> list(raw);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int last = ECONNREFUSED;
  for (const addrinfo* ai = list.get(); ai != nullptr; ai = ai->ai_next) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      last = ETIMEDOUT;
      break;
    }
    last = ConnectOnce(*ai, left);
    if (last == 0) return Ok();
  }
  const std::string where = host + ":" + service;
  if (last == ETIMEDOUT) {
    return Error(ErrorCode::kUnavailable,
                 "connect to " + where + " timed out after " + std::to_string(timeout.count()) +
                     " ms",
                 "connect_timeout");
  }
  return Error(ErrorCode::kUnavailable,
               "cannot connect to " + where + ": " + std::strerror(last), "unreachable");
}

struct ApiClient::Impl {
  Impl(web::http::client::http_client c, PinStatePtr p) : pins(std::move(p)), http(std::move(c)) {}
  PinStatePtr pins;  // never null (pins may be empty); declared before `http` (outlives it)
  web::http::client::http_client http;
  std::string token;
  std::string base_url;
  std::chrono::milliseconds connect_timeout{0};
  bool probed = false;
};

ApiClient::ApiClient() = default;

ApiClient::~ApiClient() {
  if (impl_ && !impl_->token.empty()) {
    OPENSSL_cleanse(impl_->token.data(), impl_->token.size());
  }
}

Result<std::unique_ptr<ApiClient>> ApiClient::Create(const ApiClientOptions& options) {
  if (!options.base_url.starts_with("https://")) {
    return Error(ErrorCode::kInvalidArgument,
                 "server URL must start with https:// (got '" + options.base_url + "')",
                 "bad_url");
  }
  if (!options.cacert_file.empty()) {
    SKR_TRY_VOID(CheckCaFile(options.cacert_file));
  }
  if (options.timeout.count() <= 0) {
    return Error(ErrorCode::kInvalidArgument, "timeout must be positive", "bad_timeout");
  }
  if (options.connect_timeout.count() < 0) {
    return Error(ErrorCode::kInvalidArgument, "connect timeout must not be negative",
                 "bad_timeout");
  }
  // Always present: the verify hook also tells an untrusted certificate from other failures.
  PinStatePtr pins = std::make_shared<PinState>();
  for (const auto& text : options.pin_sha256) {
    SKR_TRY(auto pin, ParseSpkiPin(text));
    pins->pins.push_back(pin);
  }
  try {
    web::uri uri(options.base_url);
    if (uri.host().empty() || !uri.query().empty() || !uri.fragment().empty() ||
        !uri.user_info().empty()) {
      return Error(ErrorCode::kInvalidArgument,
                   "server URL must be https://host[:port][/prefix]", "bad_url");
    }
    web::http::client::http_client_config config;
    config.set_timeout(options.timeout);
    config.set_validate_certificates(true);  // never disabled
    {
      const std::string cafile = options.cacert_file;
      config.set_ssl_context_callback([cafile, pins](boost::asio::ssl::context& ctx) {
        if (!cafile.empty()) {
          // Trust only the configured CA: replace the default store (cpprestsdk loads the system
          // paths before calling us). SSL_CTX_set_cert_store takes ownership of the new store.
          X509_STORE* store = X509_STORE_new();
          if (store != nullptr) SSL_CTX_set_cert_store(ctx.native_handle(), store);
          boost::system::error_code ec;
          ctx.load_verify_file(cafile, ec);
          // On error the store is empty and verification fails closed; nothing to report here
          // (this runs on a cpprestsdk worker thread and must not throw).
          (void)ec;
        }
        if (pins) InstallPinning(ctx.native_handle(), pins);
      });
    }
    auto client = std::unique_ptr<ApiClient>(new ApiClient());
    client->impl_ = std::make_unique<Impl>(web::http::client::http_client(uri, config), pins);
    client->impl_->token = options.token;
    client->impl_->base_url = options.base_url;
    client->impl_->connect_timeout = options.connect_timeout;
    return client;
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInvalidArgument, std::string("bad server URL: ") + e.what(),
                 "bad_url");
  } catch (...) {
    return Error(ErrorCode::kInvalidArgument, "bad server URL", "bad_url");
  }
}

Result<Json> ApiClient::Send(std::string_view method, const std::string& path_and_query,
                             const Json* body) {
  last_status_ = 0;
  last_problem_ = Json();
  last_request_id_.clear();
  last_retry_after_.reset();
  if (!impl_) return Error(ErrorCode::kInternal, "ApiClient not initialized");
  if (path_and_query.empty() || path_and_query.front() != '/') {
    return Error(ErrorCode::kInternal, "request path must start with '/'");
  }
  if (impl_->connect_timeout.count() > 0 && !impl_->probed) {
    SKR_TRY_VOID(ProbeConnect(impl_->base_url, impl_->connect_timeout));
    impl_->probed = true;
  }
  if (impl_->pins) {
    impl_->pins->mismatch.store(false);
    impl_->pins->untrusted.store(0);
  }
  const auto pin_error = [this]() -> std::optional<Error> {
    if (impl_->pins && impl_->pins->untrusted.load() != 0) {
      // A configuration error no retry fixes (skr-agent exits 2 at once).
      return Error(ErrorCode::kInvalidArgument,
                   std::string("the server's certificate is not trusted (") +
                       X509_verify_cert_error_string(impl_->pins->untrusted.load()) +
                       "): is --cacert / SKR_CACERT the CA that issued it, and the URL its name?",
                   "tls_untrusted");
    }
    if (impl_->pins && impl_->pins->mismatch.load()) {
      return Error(ErrorCode::kUnavailable,
                   "the server certificate's public key matches no --pin-sha256 value",
                   "pin_mismatch");
    }
    return std::nullopt;
  };
  std::string body_text;
  try {
    web::http::http_request request{web::http::method(std::string(method))};
    request.set_request_uri(path_and_query);
    request.headers().add("Accept", "application/json");
    if (!impl_->token.empty()) {
      request.headers().add("Authorization", "Bearer " + impl_->token);
    }
    if (body != nullptr) {
      body_text = DumpJson(*body);
      request.set_body(body_text, "application/json");
    }
    web::http::http_response response = impl_->http.request(request).get();
    if (!body_text.empty()) OPENSSL_cleanse(body_text.data(), body_text.size());
    const int status = static_cast<int>(response.status_code());
    last_status_ = status;
    last_retry_after_ = RetryAfterOf(response.headers());
    if (auto rid = response.headers().find(U("X-Request-Id")); rid != response.headers().end()) {
      last_request_id_ = rid->second.substr(0, 128);
    }
    const auto length = response.headers().content_length();
    if (length > kMaxResponseBytes) {
      return Error(ErrorCode::kInternal, "response body too large", "bad_response");
    }
    // ignore_content_type: problem+json and application/json are both JSON.
    const std::string text = response.extract_string(true).get();
    if (status < 200 || status > 299) {
      if (auto problem = ParseJson(text, kMaxResponseBytes, 16);
          problem && problem->is_object() && problem->contains("type")) {
        last_problem_ = std::move(problem).value();
      }
      return ErrorFromResponse(status, text);
    }
    if (status == 204 || text.empty()) return Json::object();
    auto parsed = ParseJson(text, kMaxResponseBytes, 64);
    if (!parsed) {
      return Error(ErrorCode::kInternal,
                   "server sent a response that is not JSON (HTTP " + std::to_string(status) + ")",
                   "bad_response");
    }
    return std::move(parsed).value();
  } catch (const web::http::http_exception& e) {
    if (!body_text.empty()) OPENSSL_cleanse(body_text.data(), body_text.size());
    if (auto pin = pin_error()) return *pin;
    if (last_status_ != 0) {
      return Error(ErrorCode::kUnavailable,
                   std::string("connection lost while reading the response: ") + e.what(),
                   "connection_lost");
    }
    return TransportError(e.error_code(), e.what());
  } catch (const std::exception& e) {
    if (!body_text.empty()) OPENSSL_cleanse(body_text.data(), body_text.size());
    if (auto pin = pin_error()) return *pin;
    return Error(ErrorCode::kUnavailable, std::string("request failed: ") + e.what(),
                 "unreachable");
  } catch (...) {
    if (!body_text.empty()) OPENSSL_cleanse(body_text.data(), body_text.size());
    return Error(ErrorCode::kUnavailable, "request failed", "unreachable");
  }
}

Result<std::string> ApiClient::Challenge(std::string_view tenant) {
  SKR_TRY(Json resp, ChallengeFor(tenant, ""));
  return resp.at("nonce").get<std::string>();
}

Result<Json> ApiClient::ChallengeFor(std::string_view tenant, std::string_view key) {
  Json body = Json::object();
  if (!tenant.empty()) body["tenant"] = std::string(tenant);
  if (!tenant.empty() && !key.empty()) body["key"] = std::string(key);
  SKR_TRY(Json resp, Post("/v1/challenge", body));
  auto nonce = GetString(resp, "nonce");
  if (!nonce || nonce->empty()) {
    return Error(ErrorCode::kInternal, "challenge response has no nonce", "bad_response");
  }
  return resp;
}

Result<Json> ApiClient::Release(std::string_view tenant, std::string_view key,
                                std::optional<std::int64_t> version, const Json& request) {
  SKR_TRY(std::string t, PathSegment(tenant));
  SKR_TRY(std::string k, PathSegment(key));
  std::string path = "/v1/tenants/" + t + "/keys/" + k + "/release";
  if (version) path += Query({{"version", std::to_string(*version)}});
  return Post(path, request);
}

}  // namespace skr::client
