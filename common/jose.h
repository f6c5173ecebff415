// SPDX-License-Identifier: Apache-2.0
// JOSE: JWK (RFC 7517/7518), RFC 7638 thumbprints, JWS ES256/ES384 (RFC 7515), JWE compact
// (RFC 7516) with RSA-OAEP-256 or ECDH-ES+A256KW key management and A256GCM content encryption.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "common/ossl.h"
#include "common/result.h"
#include "common/secret_bytes.h"

namespace skr {

// A validated public JWK as accepted in `tee-pubkey`.
struct PublicJwk {
  std::string kty;  // "RSA" | "EC"
  std::string alg;  // "RSA-OAEP-256" | "ECDH-ES+A256KW"
  std::string crv;  // EC only: "P-256" | "P-384" | "P-521"
  Json members;     // the public members only, as received (kty, alg, n, e | crv, x, y)
  EvpPkeyPtr key;   // built with EVP_PKEY_fromdata (PERFORMANCE.md: never d2i_PUBKEY)
};

// Validates and imports a public JWK. Rejects: non-objects, private members (d, p, q, dp, dq,
// qi, oth, k), unknown kty/crv/alg, RSA1_5 and any alg other than the two above, alg that does
// not fit kty, RSA modulus < 3072 bits, EC points not on the curve, bad base64url, wrong
// coordinate lengths. Errors: kInvalidArgument with a message naming the problem.
Result<PublicJwk> ParsePublicJwk(const Json& jwk);

// The public JWK of a key (RSA or EC P-256/384/521) with the given alg.
Result<Json> PublicJwkFromKey(EVP_PKEY* key, std::string_view alg);
// The private JWK (for tests and interop with other JOSE libraries only).
Result<Json> PrivateJwkFromKey(EVP_PKEY* key, std::string_view alg);

// RFC 7638 thumbprint (SHA-256, base64url) of an RSA or EC JWK's required members.
Result<std::string> JwkThumbprint(const Json& jwk);

// RFC 8785 JSON Canonicalization Scheme. Errors: kInvalidArgument for non-finite numbers.
Result<std::string> CanonicalizeJson(const Json& value);

// The binding digest of DESIGN.md section 2 (KBS RCAR 0.4.0):
// SHA-384(JCS({"additional-evidence": "", "nonce": nonce, "tee-pubkey": jwk})).
Result<std::array<std::uint8_t, 48>> BindingDigest(std::string_view nonce, const Json& tee_pubkey);

// RFC 7518 section 4.6.2 Concat KDF with SHA-256.
// otherinfo = len(alg)||alg || len(apu)||apu || len(apv)||apv || keydatalen_bits (32-bit BE).
Result<SecretBytes> ConcatKdfSha256(std::span<const std::uint8_t> z, std::size_t keydatalen_bits,
                                    std::string_view algorithm_id,
                                    std::span<const std::uint8_t> apu,
                                    std::span<const std::uint8_t> apv);

// JWE compact serialization encrypted to `recipient` (its alg decides the key management);
// enc = A256GCM, protected header carries "kid" = RFC 7638 thumbprint (and "epk" for ECDH-ES).
Result<std::string> JweEncrypt(const PublicJwk& recipient, std::span<const std::uint8_t> plaintext);
// Decrypts a compact JWE with a private key (RSA-OAEP-256 or ECDH-ES+A256KW, A256GCM).
// Errors: kInvalidArgument (malformed), kVerificationFailed (tag / unwrap failure).
Result<SecretBytes> JweDecrypt(std::string_view compact, EVP_PKEY* private_key);

// JWS compact, ES256 (P-256) or ES384 (P-384); signature is R||S (RFC 7518 section 3.4).
Result<std::string> JwsSign(EVP_PKEY* private_key, std::string_view alg,
                            std::string_view payload);
struct JwsVerified {
  Json header;
  std::string payload;
};
// Verifies with `public_key`; the header alg must be ES256 or ES384 and fit the key's curve.
// Errors: kMalformedEvidence (structure), kVerificationFailed (signature or alg mismatch).
Result<JwsVerified> JwsVerify(std::string_view compact, EVP_PKEY* public_key);

}  // namespace skr
