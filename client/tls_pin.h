// SPDX-License-Identifier: Apache-2.0
// SPKI pinning for the skrd API client's TLS connections: pin values (RFC 7469 section 2.4 style,
// base64 SHA-256 of the DER SubjectPublicKeyInfo) and the SSL_CTX hook that checks the server's
// leaf certificate against them after normal chain and host name verification succeeded.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace skr::client {

// base64(SHA-256(DER SubjectPublicKeyInfo of `cert`)), the value of
//   openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary |
//   base64
// Errors: kInvalidArgument (null certificate), kInternal (encoding failure).
Result<std::string> SpkiSha256(X509* cert);
// The same for the first certificate of a PEM text. Errors: kInvalidArgument "bad_certificate".
Result<std::string> SpkiSha256FromPem(std::string_view cert_pem);
// Decodes a --pin-sha256 value (standard base64, 32 bytes). Errors: kInvalidArgument "bad_pin".
Result<std::array<std::uint8_t, 32>> ParseSpkiPin(std::string_view pin);

// Shared between an ApiClient and the SSL_CTXs cpprestsdk creates for its connections (one per
// connection, on worker threads). `mismatch` tells Send() why a handshake failed.
struct PinState {
  std::vector<std::array<std::uint8_t, 32>> pins;  // empty: chain verification only
  std::atomic<bool> mismatch{false};
  // The chain (or host name) did not verify: X509_V_ERR_* of the last failure, 0 when none. A
  // configuration error (wrong CA, wrong URL), told apart from transient handshake failures.
  std::atomic<int> untrusted{0};
};
using PinStatePtr = std::shared_ptr<PinState>;

// Makes every handshake on `ctx` verify the chain as usual and then require the leaf's SPKI to
// match one of `state`'s pins (setting `state->mismatch` when it does not). `ctx` keeps its own
// reference to `state`, released when the context is freed. If the hook cannot be installed,
// fails closed: the context gets an empty trust store and `mismatch` is set.
void InstallPinning(SSL_CTX* ctx, const PinStatePtr& state);

}  // namespace skr::client
