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
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <system_error>

#include <boost/asio/ssl.hpp>
#include <cpprest/http_client.h>
#include <cpprest/uri.h>

#include "common/encoding.h"
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

// --- HTTP-date (RFC 9110 section 5.6.7) ----------------------------------------------------------
constexpr std::array<std::string_view, 7> kDayNames = {"Mon", "Tue", "Wed", "Thu",
                                                       "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kDayNamesLong = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }  // ASCII only, unlike a locale's isdigit

// Reads an HTTP-date left to right; every method consumes only on success. Names are
// case-sensitive (section 5.6.7: "HTTP-date is case sensitive").
class DateReader {
 public:
  explicit DateReader(std::string_view text) : rest_(text) {}
  bool Literal(std::string_view lit) {
    if (!rest_.starts_with(lit)) return false;
    rest_.remove_prefix(lit.size());
    return true;
  }
  bool Peek(char c) const { return !rest_.empty() && rest_.front() == c; }
  // Exactly `n` ASCII digits.
  std::optional<int> Digits(std::size_t n) {
    if (rest_.size() < n) return std::nullopt;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!IsDigit(rest_[i])) return std::nullopt;
      v = v * 10 + (rest_[i] - '0');
    }
    rest_.remove_prefix(n);
    return v;
  }
  // 0-based index of the name in `names` that `rest` starts with.
  template <std::size_t N>
  std::optional<unsigned> Name(const std::array<std::string_view, N>& names) {
    for (std::size_t i = 0; i < N; ++i) {
      if (Literal(names[i])) return static_cast<unsigned>(i);
    }
    return std::nullopt;
  }
  // time-of-day = hour ":" minute ":" second; second 60 is a leap second.
  std::optional<std::chrono::seconds> TimeOfDay() {
    const auto h = Digits(2);
    if (!h || *h > 23 || !Literal(":")) return std::nullopt;
    const auto m = Digits(2);
    if (!m || *m > 59 || !Literal(":")) return std::nullopt;
    const auto sec = Digits(2);
    if (!sec || *sec > 60) return std::nullopt;
    return std::chrono::hours(*h) + std::chrono::minutes(*m) + std::chrono::seconds(*sec);
  }
  bool AtEnd() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

std::optional<std::chrono::system_clock::time_point> MakeTime(int year, unsigned month_index,
                                                              int day,
                                                              std::chrono::seconds time_of_day) {
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(month_index + 1),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;  // 31 Apr, 29 Feb 2026, day 00 ...
  return std::chrono::sys_days(ymd) + time_of_day;
}

// IMF-fixdate = day-name "," SP 2DIGIT SP month SP 4DIGIT SP time-of-day SP "GMT"
std::optional<std::chrono::system_clock::time_point> ParseImfFixdate(std::string_view text) {
  DateReader r(text);
  if (!r.Name(kDayNames) || !r.Literal(", ")) return std::nullopt;
  const auto day = r.Digits(2);
  if (!day || !r.Literal(" ")) return std::nullopt;
  const auto month = r.Name(kMonthNames);
  if (!month || !r.Literal(" ")) return std::nullopt;
  const auto year = r.Digits(4);
  if (!year || !r.Literal(" ")) return std::nullopt;
  const auto tod = r.TimeOfDay();
  if (!tod || !r.Literal(" GMT") || !r.AtEnd()) return std::nullopt;
  return MakeTime(*year, *month, *day, *tod);
}

// rfc850-date = day-name-l "," SP 2DIGIT "-" month "-" 2DIGIT SP time-of-day SP "GMT"
std::optional<std::chrono::system_clock::time_point> ParseRfc850Date(
    std::string_view text, std::chrono::system_clock::time_point now) {
  DateReader r(text);
  if (!r.Name(kDayNamesLong) || !r.Literal(", ")) return std::nullopt;
  const auto day = r.Digits(2);
  if (!day || !r.Literal("-")) return std::nullopt;
  const auto month = r.Name(kMonthNames);
  if (!month || !r.Literal("-")) return std::nullopt;
  const auto yy = r.Digits(2);
  if (!yy || !r.Literal(" ")) return std::nullopt;
  const auto tod = r.TimeOfDay();
  if (!tod || !r.Literal(" GMT") || !r.AtEnd()) return std::nullopt;
  // "a timestamp that appears to be more than 50 years in the future" is the past century.
  const int this_year = static_cast<int>(
      std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(now)).year());
  int year = this_year - this_year % 100 + *yy;
  if (year > this_year + 50) year -= 100;
  return MakeTime(year, *month, *day, *tod);
}

// asctime-date = day-name SP month SP ( 2DIGIT / ( SP DIGIT ) ) SP time-of-day SP 4DIGIT
std::optional<std::chrono::system_clock::time_point> ParseAsctimeDate(std::string_view text) {
  DateReader r(text);
  if (!r.Name(kDayNames) || !r.Literal(" ")) return std::nullopt;
  const auto month = r.Name(kMonthNames);
  if (!month || !r.Literal(" ")) return std::nullopt;
  const auto day = r.Literal(" ") ? r.Digits(1) : r.Digits(2);
  if (!day || !r.Literal(" ")) return std::nullopt;
  const auto tod = r.TimeOfDay();
  if (!tod || !r.Literal(" ")) return std::nullopt;
  const auto year = r.Digits(4);
  if (!year || !r.AtEnd()) return std::nullopt;
  return MakeTime(*year, *month, *day, *tod);
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

// --- SPKI pinning -------------------------------------------------------------------------------
// Shared between an ApiClient and the SSL_CTXs cpprestsdk creates for its connections (one per
// connection, on worker threads). `mismatch` tells Send() why a handshake failed.
struct PinState {
  std::vector<std::array<std::uint8_t, 32>> pins;
  std::atomic<bool> mismatch{false};
};
using PinStatePtr = std::shared_ptr<PinState>;

// Each SSL_CTX owns a heap copy of the shared_ptr in its ex_data slot, freed with the context, so
// the state outlives any connection cpprestsdk still holds after the ApiClient is gone.
void FreePinStateExData(void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/,
                        long /*argl*/, void* /*argp*/) {
  delete static_cast<PinStatePtr*>(ptr);
}

int PinStateIndex() {
  static const int index =
      CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, nullptr, nullptr, nullptr,
                              &FreePinStateExData);
  return index;
}

// SSL_CTX_set_cert_verify_callback: replaces the library's call to X509_verify_cert for the whole
// chain. We call X509_verify_cert ourselves first, which still runs the per-connection verify
// callback cpprestsdk installs (RFC 2818 host name check) and the CA checks; only if all of that
// succeeded is the leaf's SPKI compared with the pins. (A callback set with SSL_CTX_set_verify
// would not run: cpprestsdk calls SSL_set_verify on every connection, which replaces it.)
int VerifyChainThenPin(X509_STORE_CTX* store_ctx, void* arg) {
  auto* state_ptr = static_cast<PinStatePtr*>(arg);
  const int ok = X509_verify_cert(store_ctx);
  if (ok != 1 || state_ptr == nullptr || !*state_ptr || (*state_ptr)->pins.empty()) return ok;
  PinState& state = **state_ptr;
  X509* leaf = X509_STORE_CTX_get0_cert(store_ctx);
  unsigned char* der = nullptr;
  const int len = leaf != nullptr ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der) : -1;
  bool matched = false;
  if (len > 0) {
    const auto digest = Sha256(std::span<const std::uint8_t>(der, static_cast<std::size_t>(len)));
    for (const auto& pin : state.pins) {
      // Evaluate every pin (no early exit) so timing does not depend on which pin matched.
      if (ConstantTimeEquals(digest, pin)) matched = true;
    }
  }
  OPENSSL_free(der);
  if (!matched) {
    state.mismatch.store(true);
    X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  return 1;
}

void InstallPinning(SSL_CTX* ctx, const PinStatePtr& state) {
  const int index = PinStateIndex();
  auto* owned = new PinStatePtr(state);
  if (index < 0 || SSL_CTX_set_ex_data(ctx, index, owned) != 1) {
    delete owned;
    // Fail closed: an empty store makes every handshake fail verification.
    SSL_CTX_set_cert_store(ctx, X509_STORE_new());
    state->mismatch.store(true);
    return;
  }
  SSL_CTX_set_cert_verify_callback(ctx, &VerifyChainThenPin, owned);
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

std::optional<std::chrono::system_clock::time_point> ParseHttpDate(
    std::string_view text, std::chrono::system_clock::time_point now) {
  if (auto t = ParseImfFixdate(text)) return t;
  if (auto t = ParseRfc850Date(text, now)) return t;
  return ParseAsctimeDate(text);
}

std::optional<std::chrono::seconds> ParseRetryAfter(std::string_view value,
                                                    std::chrono::system_clock::time_point now) {
  // RFC 9110 section 5.5: leading and trailing whitespace is not part of the field value.
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  // delta-seconds = 1*DIGIT (section 10.2.3); saturate instead of overflowing.
  if (std::all_of(value.begin(), value.end(), IsDigit)) {
    std::int64_t secs = 0;
    for (const char c : value) {
      secs = secs * 10 + (c - '0');
      if (secs > kMaxRetryAfter.count()) return kMaxRetryAfter;
    }
    return std::chrono::seconds(secs);
  }
  auto date = ParseHttpDate(value, now);
  if (!date) return std::nullopt;
  if (*date <= now) return std::chrono::seconds(0);
  // Rounded up: the server's date is a time not to come back before.
  return std::min(std::chrono::ceil<std::chrono::seconds>(*date - now), kMaxRetryAfter);
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


Result<std::string> SpkiSha256(X509* cert) {
  if (cert == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "no certificate", "bad_certificate");
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
  if (len <= 0) return OpenSslError("i2d_X509_PUBKEY");
  const auto digest = Sha256(std::span<const std::uint8_t>(der, static_cast<std::size_t>(len)));
  OPENSSL_free(der);
  return Base64Encode(digest);
}

Result<std::string> SpkiSha256FromPem(std::string_view cert_pem) {
  BioPtr bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  if (!bio) return OpenSslError("BIO_new_mem_buf");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    (void)OpenSslError("PEM_read_bio_X509");  // drains the queue
    return Error(ErrorCode::kInvalidArgument, "no PEM certificate", "bad_certificate");
  }
  return SpkiSha256(cert.get());
}

Result<std::array<std::uint8_t, 32>> ParseSpkiPin(std::string_view pin) {
  auto raw = Base64Decode(pin);
  if (!raw || raw->size() != 32) {
    return Error(ErrorCode::kInvalidArgument,
                 "--pin-sha256 must be the base64 SHA-256 of a SubjectPublicKeyInfo (44 chars)",
                 "bad_pin");
  }
  std::array<std::uint8_t, 32> out{};
  std::copy(raw->begin(), raw->end(), out.begin());
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
  PinStatePtr pins;  // null when no pins are configured; declared before `http` (outlives it)
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
  PinStatePtr pins;
  if (!options.pin_sha256.empty()) {
    pins = std::make_shared<PinState>();
    for (const auto& text : options.pin_sha256) {
      SKR_TRY(auto pin, ParseSpkiPin(text));
      pins->pins.push_back(pin);
    }
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
    if (!options.cacert_file.empty() || pins) {
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
  last_retry_after_.reset();
  if (!impl_) return Error(ErrorCode::kInternal, "ApiClient not initialized");
  if (path_and_query.empty() || path_and_query.front() != '/') {
    return Error(ErrorCode::kInternal, "request path must start with '/'");
  }
  if (impl_->connect_timeout.count() > 0 && !impl_->probed) {
    SKR_TRY_VOID(ProbeConnect(impl_->base_url, impl_->connect_timeout));
    impl_->probed = true;
  }
  if (impl_->pins) impl_->pins->mismatch.store(false);
  const auto pin_error = [this]() -> std::optional<Error> {
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
    const auto length = response.headers().content_length();
    if (length > kMaxResponseBytes) {
      return Error(ErrorCode::kInternal, "response body too large", "bad_response");
    }
    // ignore_content_type: problem+json and application/json are both JSON.
    const std::string text = response.extract_string(true).get();
    if (status < 200 || status > 299) return ErrorFromResponse(status, text);
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
