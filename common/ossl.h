// SPDX-License-Identifier: Apache-2.0
// OpenSSL RAII handles and error helpers (CONVENTIONS.md section 3). Defined once here.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace skr {

template <auto kFree>
struct OsslFree {
  template <typename T>
  void operator()(T* p) const noexcept {
    kFree(p);
  }
};
inline void FreeX509Stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }

using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OsslFree<&EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, OsslFree<&EVP_PKEY_CTX_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OsslFree<&EVP_MD_CTX_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, OsslFree<&EVP_CIPHER_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, OsslFree<&X509_free>>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), OsslFree<&FreeX509Stack>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OsslFree<&X509_CRL_free>>;
using BioPtr = std::unique_ptr<BIO, OsslFree<&BIO_free_all>>;
using BignumPtr = std::unique_ptr<BIGNUM, OsslFree<&BN_free>>;
using OsslParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, OsslFree<&OSSL_PARAM_BLD_free>>;
using OsslParamPtr = std::unique_ptr<OSSL_PARAM, OsslFree<&OSSL_PARAM_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OsslFree<&ECDSA_SIG_free>>;

// Drains the OpenSSL error queue into an Error naming the failed call (`what`).
Error OpenSslError(std::string_view what, ErrorCode code = ErrorCode::kInternal);

// Cryptographically random bytes (RAND_bytes). Aborts the process if the DRBG fails.
std::vector<std::uint8_t> RandomBytes(std::size_t n);
SecretBytes RandomSecret(std::size_t n);

std::array<std::uint8_t, 32> Sha256(std::span<const std::uint8_t> data);
std::array<std::uint8_t, 48> Sha384(std::span<const std::uint8_t> data);
std::array<std::uint8_t, 32> Sha256(std::string_view data);
std::array<std::uint8_t, 48> Sha384(std::string_view data);

// Constant-time equality (CRYPTO_memcmp); false when sizes differ.
bool ConstantTimeEquals(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

inline std::span<const std::uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};  // NOLINT
}

// PEM helpers (trusted local files: keys and certificates made by skrd init / scripts).
Result<EvpPkeyPtr> LoadPublicKeyPem(std::string_view pem);
Result<EvpPkeyPtr> LoadPrivateKeyPem(std::string_view pem);
Result<std::string> PublicKeyToPem(EVP_PKEY* key);
Result<std::string> PrivateKeyToPem(EVP_PKEY* key);
Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes = 16u << 20);

// Key generation. `curve` is "P-256", "P-384" or "P-521".
Result<EvpPkeyPtr> GenerateEcKey(std::string_view curve);
Result<EvpPkeyPtr> GenerateRsaKey(unsigned bits);

// AES-256-GCM with a random 12-byte IV. Output layout: iv(12) || ciphertext || tag(16).
Result<std::vector<std::uint8_t>> AesGcmSeal(std::span<const std::uint8_t> key,
                                             std::span<const std::uint8_t> plaintext,
                                             std::span<const std::uint8_t> aad);
// Errors: kVerificationFailed on a bad tag (wrong key, wrong AAD or tampered data).
Result<SecretBytes> AesGcmOpen(std::span<const std::uint8_t> key,
                               std::span<const std::uint8_t> sealed,
                               std::span<const std::uint8_t> aad);

}  // namespace skr
