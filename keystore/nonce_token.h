// SPDX-License-Identifier: Apache-2.0
// Stateless challenge nonces (DESIGN.md section 2, step 1): a nonce is a token that only a holder
// of the master key can make, so issuing one writes nothing and every replica that shares the
// keystore (and so the master key) accepts it. Single use is enforced separately by a durable
// consumed-nonce record (KeyStore::ConsumeNonce).
//
// Token bytes (73), sent as standard base64 with padding (100 characters):
//   0      1  format version, 0x01
//   1      8  expires_at, Unix seconds, big-endian two's complement
//   9     32  random bytes
//   41    32  HMAC-SHA256(nonce key, bytes 0..40)
// nonce key = HKDF-SHA256 (RFC 5869) with IKM = master key, empty salt,
//             info = "skr/nonce-token/v1", L = 32.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace skr::keystore {

inline constexpr std::size_t kNonceTokenBytes = 73;
inline constexpr std::size_t kNonceTokenChars = 100;

// Errors: kInternal when OpenSSL fails.
Result<SecretBytes> DeriveNonceKey(const SecretBytes& master_key);
// A fresh token that expires at `expires_at`. Errors: kInternal when OpenSSL fails.
Result<std::string> IssueNonceToken(const SecretBytes& nonce_key, std::int64_t expires_at);
// The expiry of a token this key made. Anything else (wrong length or alphabet, truncated, other
// format version, MAC under another key or over altered bytes) is kBadNonce "nonce_unknown"; the
// MAC is compared in constant time. Expiry is the caller's check.
Result<std::int64_t> OpenNonceToken(const SecretBytes& nonce_key, std::string_view token);

}  // namespace skr::keystore
