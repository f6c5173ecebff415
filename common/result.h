// SPDX-License-Identifier: Apache-2.0
// Result<T> / Error: errors as values across module boundaries (CONVENTIONS.md section 1).
#pragma once

#include <cstdlib>
#include <string>
#include <vector>
#include <type_traits>
#include <utility>
#include <variant>

namespace skr {

// Closed set of error codes. Mapped to HTTP status in exactly one place
// (server/http/errors.cpp).
enum class ErrorCode {
  kInvalidArgument,     // 400: malformed request, bad name, bad JSON
  kMalformedEvidence,   // 400: evidence bytes do not parse
  kPayloadTooLarge,     // 413
  kUnauthenticated,     // 401: missing / unknown / expired API token
  kBadNonce,            // 401: unknown, expired or reused nonce
  kVerificationFailed,  // 401: evidence signature / chain / binding failed
  kPermissionDenied,    // 403: token lacks the role or tenant
  kPolicyDenied,        // 403: release policy evaluated to false
  kNotFound,            // 404
  kMethodNotAllowed,    // 405: the path exists, the method does not
  kUnsupportedMediaType,  // 415: a body that is not application/json
  kAlreadyExists,       // 409
  kFailedPrecondition,  // 409: e.g. key version disabled
  kGone,                // 410: key version destroyed
  kRateLimited,         // 429
  kSealed,              // 503: master key missing or wrong
  kUnavailable,         // 503: storage or audit unavailable
  kInternal,            // 500
};

// Stable, lower-case name of a code (used in logs and problem types).
const char* ErrorCodeName(ErrorCode code);

// An error: a code, a stable machine-readable reason slug (e.g. "nonce_reused"), and a
// human-readable message. Messages are shown to clients: never put key material, tokens or raw
// evidence into them.
class Error {
 public:
  Error(ErrorCode code, std::string message, std::string reason = {})
      : code_(code), message_(std::move(message)), reason_(std::move(reason)) {}
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // Slug; defaults to the code name when not given.
  std::string reason() const { return reason_.empty() ? ErrorCodeName(code_) : reason_; }

  // Each problem found in a client's document, with its JSON path (e.g. a policy's lint):
  // the problem document's "problems" member.
  struct Problem {
    std::string path;
    std::string message;
  };
  Error&& WithProblems(std::vector<Problem> problems) && {
    problems_ = std::move(problems);
    return std::move(*this);
  }
  const std::vector<Problem>& problems() const { return problems_; }

 private:
  ErrorCode code_;
  std::string message_;
  std::string reason_;
  std::vector<Problem> problems_;
};

// A subset of std::expected<T, Error>; converts implicitly from T and from Error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(const T& v) : v_(std::in_place_index<0>, v) {}  // NOLINT(google-explicit-constructor)
  Result(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}  // NOLINT
  Result(Error e) : v_(std::in_place_index<1>, std::move(e)) {}  // NOLINT
  template <typename U, typename = std::enable_if_t<std::is_constructible_v<T, U&&> &&
                                                    !std::is_same_v<std::decay_t<U>, T> &&
                                                    !std::is_same_v<std::decay_t<U>, Error> &&
                                                    !std::is_same_v<std::decay_t<U>, Result>>>
  Result(U&& u) : v_(std::in_place_index<0>, T(std::forward<U>(u))) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & {
    if (!has_value()) std::abort();
    return std::get<0>(v_);
  }
  const T& value() const& {
    if (!has_value()) std::abort();
    return std::get<0>(v_);
  }
  T&& value() && {
    if (!has_value()) std::abort();
    return std::move(std::get<0>(v_));
  }
  const Error& error() const {
    if (has_value()) std::abort();
    return std::get<1>(v_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : error_(std::move(e)), ok_(false) {}  // NOLINT
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  void value() const {
    if (!ok_) std::abort();
  }
  const Error& error() const {
    if (ok_) std::abort();
    return error_;
  }

 private:
  Error error_{ErrorCode::kInternal, ""};
  bool ok_ = true;
};

inline Result<void> Ok() { return Result<void>(); }

}  // namespace skr

// Propagates an error: SKR_TRY(auto x, Expr()); or SKR_TRY_VOID(Expr());
#define SKR_CONCAT_INNER(a, b) a##b
#define SKR_CONCAT(a, b) SKR_CONCAT_INNER(a, b)
#define SKR_TRY_VOID(expr)                                     \
  do {                                                         \
    auto&& skr_try_result_ = (expr);                           \
    if (!skr_try_result_.has_value()) return skr_try_result_.error(); \
  } while (0)
#define SKR_TRY_IMPL(tmp, decl, expr)          \
  auto tmp = (expr);                           \
  if (!tmp.has_value()) return tmp.error();    \
  decl = std::move(tmp).value()
#define SKR_TRY(decl, expr) SKR_TRY_IMPL(SKR_CONCAT(skr_try_tmp_, __LINE__), decl, expr)
