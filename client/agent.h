// SPDX-License-Identifier: Apache-2.0
// skr-agent: fetches a key from skrd by attesting (DESIGN.md section 2):
//   challenge -> ephemeral key pair -> evidence binding SHA-384(JCS{nonce, tee-pubkey}) ->
//   release -> JWE decrypt with the ephemeral private key (which never leaves memory).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

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
};

// Runs the whole flow against `api`. Errors: those of ApiClient (server answers), kMalformedEvidence
// with reason "evidence_unavailable" when evidence cannot be produced, kVerificationFailed with
// reason "kid_mismatch" / "decrypt_failed" when the JWE is not for our key, kInternal
// "bad_response" for a malformed release response.
Result<FetchResult> FetchKey(const FetchOptions& options, ApiClient& api);

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
