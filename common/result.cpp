// SPDX-License-Identifier: Apache-2.0
#include "common/result.h"

namespace skr {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kMalformedEvidence: return "malformed_evidence";
    case ErrorCode::kPayloadTooLarge: return "payload_too_large";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kBadNonce: return "bad_nonce";
    case ErrorCode::kVerificationFailed: return "verification_failed";
    case ErrorCode::kPermissionDenied: return "permission_denied";
    case ErrorCode::kPolicyDenied: return "policy_denied";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kMethodNotAllowed: return "method_not_allowed";
    case ErrorCode::kUnsupportedMediaType: return "unsupported_media_type";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kFailedPrecondition: return "failed_precondition";
    case ErrorCode::kGone: return "gone";
    case ErrorCode::kRateLimited: return "rate_limited";
    case ErrorCode::kSealed: return "sealed";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

}  // namespace skr
