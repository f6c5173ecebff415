// SPDX-License-Identifier: Apache-2.0
// ECDH-ES key agreement on P-384 through nettle (hogweed) for JWE wraps to P-384 tee keys
// (issue 10): a fresh ephemeral key and Z = x(ephemeral * recipient), RFC 7518 section 4.6.
//
// Why: OpenSSL 3.0 has no optimised P-384 code; nettle's secp384r1 key generation + derivation is
// about 5.7x faster on this machine (bench/ecdsa_bench.cpp), and nettle's ECC arithmetic is
// written to be side-channel silent (no secret-dependent branches or memory accesses). OpenSSL
// stays for everything else (other curves, RSA, the rest of the JWE).
//
// Secrets: the ephemeral scalar and Z. Every GMP/nettle heap block is wiped before it is freed
// (GMP's memory functions are set to wiping ones while the program starts), the scalar's limbs
// are wiped explicitly, Z is returned in SecretBytes. nettle's stack scratch (TMP_ALLOC) is not wiped, as
// OpenSSL's is not either.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstdint>

#include "common/ecdsa_p384.h"
#include "common/result.h"
#include "common/secret_bytes.h"

namespace skr {

struct EcdhP384 {
  std::array<std::uint8_t, kP384ScalarBytes> epk_x{};  // the ephemeral public key, affine,
  std::array<std::uint8_t, kP384ScalarBytes> epk_y{};  // big-endian (for the JWE "epk")
  SecretBytes z;                                        // the shared secret's x, 48 bytes
};

// Errors: "ecdsa_p384_key" (kVerificationFailed) when `recipient` is not a P-384 EC key or its
// point is not on the curve; kInternal when randomness fails.
Result<EcdhP384> EcdhEsP384(EVP_PKEY* recipient);

}  // namespace skr
