// SPDX-License-Identifier: Apache-2.0
// ECDSA P-384 signature verification through nettle (hogweed) instead of OpenSSL.
//
// Why: OpenSSL 3.0 has no optimised P-384 code and an SEV-SNP report signature (ECDSA P-384,
// SHA-384) was the largest single cost of a release; nettle's secp384r1 code verifies the same
// signatures about 2x faster (bench/ecdsa_bench.cpp). Only the verification of attestation
// signatures (SNP reports, TPM quotes by a P-384 AK) goes through here; OpenSSL stays for TLS,
// X.509, JOSE and everything else. The inputs are public: no secret is handled.
//
// ECDSA as in FIPS 186-5 section 6.4.2 / SEC 1 v2 section 4.1.4: the digest is truncated to its
// leftmost 384 bits when longer, and both r and s must lie in [1, n-1]. A signature (r, s) and
// its "high-s" twin (r, n - s) both verify, as with OpenSSL.
//
// Error reasons (Error::reason()), so that callers can map them to their own:
//   "ecdsa_p384_key"              kVerificationFailed: the key is not an EC P-384 key, or its
//                                 point is not on the curve (or is the point at infinity);
//   "ecdsa_p384_input"            kInvalidArgument: r or s is not exactly 48 bytes, or the digest
//                                 is not 32..64 bytes;
//   "ecdsa_p384_signature_invalid" kVerificationFailed: r or s is 0 or >= n, or the signature does
//                                 not verify.
// Thread-safety: all functions are reentrant; a P384PublicKey may be shared by threads (Verify is
// const and nettle keeps no global state).
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "common/result.h"

namespace skr {

inline constexpr std::size_t kP384ScalarBytes = 48;  // r, s, x, y: big-endian, zero-padded

// The affine coordinates of an EC key on P-384, 48 bytes each, big-endian. Errors:
// "ecdsa_p384_key" for RSA / other curves / keys without a public point.
Result<void> P384AffineCoordinates(EVP_PKEY* key, std::span<std::uint8_t, kP384ScalarBytes> x,
                                   std::span<std::uint8_t, kP384ScalarBytes> y);

// A validated P-384 public point in nettle's form. Move-only. Building one costs a curve-equation
// check (a few big-number multiplications, under 1% of a verify), so no cache is kept; callers
// verifying many signatures with one key may still keep one.
class P384PublicKey {
 public:
  // The affine coordinates of an EC key on P-384 (OpenSSL's group name "secp384r1"). Errors:
  // "ecdsa_p384_key" for RSA / other curves / keys without a public point.
  static Result<P384PublicKey> FromEvpPkey(EVP_PKEY* key);
  // Affine coordinates, 48 bytes each, big-endian (SEC 1 section 2.3.5 without the 0x04). The
  // point must satisfy the curve equation with 0 <= x, y < p; (0, 0), the usual encoding of
  // the point at infinity, does not. Errors: "ecdsa_p384_key".
  static Result<P384PublicKey> FromAffine(std::span<const std::uint8_t> x,
                                          std::span<const std::uint8_t> y);

  // Verifies (r, s) over `digest` (the message hash, computed by the caller). r and s are
  // big-endian, exactly 48 bytes each. Errors: see the file comment.
  Result<void> Verify(std::span<const std::uint8_t> digest, std::span<const std::uint8_t> r,
                      std::span<const std::uint8_t> s) const;

  P384PublicKey(P384PublicKey&&) noexcept;
  P384PublicKey& operator=(P384PublicKey&&) noexcept;
  P384PublicKey(const P384PublicKey&) = delete;
  P384PublicKey& operator=(const P384PublicKey&) = delete;
  ~P384PublicKey();

 private:
  struct Point;  // nettle's ecc_point; nettle stays out of this header
  explicit P384PublicKey(std::unique_ptr<Point> point);
  std::unique_ptr<Point> point_;
};

// True when `key` is an EC key on P-384 (callers choose this path or OpenSSL's with it).
bool IsP384Key(EVP_PKEY* key);

// The one entry point for callers holding an OpenSSL key: FromEvpPkey(key), then Verify.
Result<void> VerifyEcdsaP384(EVP_PKEY* key, std::span<const std::uint8_t> digest,
                             std::span<const std::uint8_t> r, std::span<const std::uint8_t> s);

}  // namespace skr
