// SPDX-License-Identifier: Apache-2.0
#include "keystore/nonce_token.h"

#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include <array>
#include <vector>

#include "common/encoding.h"
#include "common/ossl.h"

namespace skr::keystore {
namespace {

constexpr std::uint8_t kFormatVersion = 0x01;
constexpr std::size_t kSignedBytes = 41;  // version + expiry + random
constexpr std::size_t kMacBytes = 32;
constexpr std::string_view kHkdfInfo = "skr/nonce-token/v1";

Error Unknown() { return Error(ErrorCode::kBadNonce, "unknown nonce", "nonce_unknown"); }

Result<std::array<std::uint8_t, kMacBytes>> Mac(const SecretBytes& key,
                                                std::span<const std::uint8_t> data) {
  std::array<std::uint8_t, kMacBytes> out{};
  unsigned len = 0;
  if (HMAC(EVP_sha256(), key.Reveal().data(), static_cast<int>(key.size()), data.data(),
           data.size(), out.data(), &len) == nullptr ||
      len != kMacBytes) {
    return Error(ErrorCode::kInternal, "HMAC-SHA256 failed");
  }
  return out;
}

}  // namespace

Result<SecretBytes> DeriveNonceKey(const SecretBytes& master_key) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return Error(ErrorCode::kInternal, "HKDF unavailable");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return Error(ErrorCode::kInternal, "HKDF context");
  std::string digest = "SHA256";
  std::string info(kHkdfInfo);
  auto ikm = master_key.Reveal();
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest.data(), 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(ikm.data()),
                                        ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info.data(), info.size()),
      OSSL_PARAM_construct_end()};
  SecretBytes out(32);
  const int rc = EVP_KDF_derive(ctx, out.Reveal().data(), out.size(), params);
  EVP_KDF_CTX_free(ctx);
  if (rc != 1) return Error(ErrorCode::kInternal, "HKDF derive failed");
  return out;
}

Result<std::string> IssueNonceToken(const SecretBytes& nonce_key, std::int64_t expires_at) {
  std::vector<std::uint8_t> token;
  token.reserve(kNonceTokenBytes);
  token.push_back(kFormatVersion);
  const auto e = static_cast<std::uint64_t>(expires_at);
  for (int shift = 56; shift >= 0; shift -= 8) {
    token.push_back(static_cast<std::uint8_t>(e >> shift));
  }
  const std::vector<std::uint8_t> random = RandomBytes(32);
  token.insert(token.end(), random.begin(), random.end());
  SKR_TRY(const auto mac, Mac(nonce_key, token));
  token.insert(token.end(), mac.begin(), mac.end());
  return Base64Encode(token);
}

Result<std::int64_t> OpenNonceToken(const SecretBytes& nonce_key, std::string_view token) {
  if (token.size() != kNonceTokenChars) return Unknown();
  auto bytes = Base64Decode(token);
  if (!bytes || bytes->size() != kNonceTokenBytes || (*bytes)[0] != kFormatVersion) {
    return Unknown();
  }
  const std::span<const std::uint8_t> all(*bytes);
  SKR_TRY(const auto mac, Mac(nonce_key, all.first(kSignedBytes)));
  if (!ConstantTimeEquals(mac, all.subspan(kSignedBytes))) return Unknown();
  std::uint64_t e = 0;
  for (std::size_t i = 1; i <= 8; ++i) e = (e << 8) | all[i];
  return static_cast<std::int64_t>(e);
}

}  // namespace skr::keystore
