// SPDX-License-Identifier: Apache-2.0
#include "common/ossl.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace skr {

Error OpenSslError(std::string_view what, ErrorCode code) {
  std::string msg(what);
  msg += " failed";
  unsigned long e = 0;
  bool first = true;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    msg += first ? ": " : "; ";
    msg += buf;
    first = false;
  }
  return Error(code, msg);
}

std::vector<std::uint8_t> RandomBytes(std::size_t n) {
  std::vector<std::uint8_t> out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
    std::fputs("RAND_bytes failed\n", stderr);
    std::abort();
  }
  return out;
}

SecretBytes RandomSecret(std::size_t n) {
  SecretBytes s(n);
  if (n > 0 && RAND_priv_bytes(s.Reveal().data(), static_cast<int>(n)) != 1) {
    std::fputs("RAND_priv_bytes failed\n", stderr);
    std::abort();
  }
  return s;
}

namespace {
template <std::size_t N>
std::array<std::uint8_t, N> Digest(const EVP_MD* md, std::span<const std::uint8_t> data) {
  std::array<std::uint8_t, N> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, md, nullptr) != 1 || len != N) {
    std::fputs("EVP_Digest failed\n", stderr);
    std::abort();
  }
  return out;
}
}  // namespace

std::array<std::uint8_t, 32> Sha256(std::span<const std::uint8_t> data) {
  return Digest<32>(EVP_sha256(), data);
}
std::array<std::uint8_t, 48> Sha384(std::span<const std::uint8_t> data) {
  return Digest<48>(EVP_sha384(), data);
}
std::array<std::uint8_t, 32> Sha256(std::string_view data) { return Sha256(AsBytes(data)); }
std::array<std::uint8_t, 48> Sha384(std::string_view data) { return Sha384(AsBytes(data)); }

bool ConstantTimeEquals(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

Result<EvpPkeyPtr> LoadPublicKeyPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError("BIO_new_mem_buf");
  EvpPkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return OpenSslError("PEM_read_bio_PUBKEY", ErrorCode::kInvalidArgument);
  return key;
}

Result<EvpPkeyPtr> LoadPrivateKeyPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpenSslError("BIO_new_mem_buf");
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return OpenSslError("PEM_read_bio_PrivateKey", ErrorCode::kInvalidArgument);
  return key;
}

namespace {
Result<std::string> BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len < 0 || data == nullptr) return OpenSslError("BIO_get_mem_data");
  return std::string(data, static_cast<std::size_t>(len));
}
}  // namespace

Result<std::string> PublicKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return OpenSslError("BIO_new");
  if (PEM_write_bio_PUBKEY(bio.get(), key) != 1) return OpenSslError("PEM_write_bio_PUBKEY");
  return BioToString(bio.get());
}

Result<std::string> PrivateKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return OpenSslError("BIO_new");
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError("PEM_write_bio_PrivateKey");
  }
  return BioToString(bio.get());
}

Result<std::string> ReadFile(const std::string& path, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(ErrorCode::kNotFound, "cannot open " + path);
  std::string out;
  char buf[8192];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    out.append(buf, static_cast<std::size_t>(in.gcount()));
    if (out.size() > max_bytes) {
      return Error(ErrorCode::kInvalidArgument, path + " is larger than allowed");
    }
  }
  return out;
}

Result<EvpPkeyPtr> GenerateEcKey(std::string_view curve) {
  const char* group = nullptr;
  if (curve == "P-256") group = "P-256";
  else if (curve == "P-384") group = "P-384";
  else if (curve == "P-521") group = "P-521";
  else return Error(ErrorCode::kInvalidArgument, "unsupported curve");
  EVP_PKEY* raw = EVP_EC_gen(group);
  if (raw == nullptr) return OpenSslError("EVP_EC_gen");
  return EvpPkeyPtr(raw);
}

Result<EvpPkeyPtr> GenerateRsaKey(unsigned bits) {
  EVP_PKEY* raw = EVP_RSA_gen(bits);
  if (raw == nullptr) return OpenSslError("EVP_RSA_gen");
  return EvpPkeyPtr(raw);
}

namespace {
constexpr std::size_t kGcmIv = 12;
constexpr std::size_t kGcmTag = 16;
}  // namespace

Result<std::vector<std::uint8_t>> AesGcmSeal(std::span<const std::uint8_t> key,
                                             std::span<const std::uint8_t> plaintext,
                                             std::span<const std::uint8_t> aad) {
  if (key.size() != 32) return Error(ErrorCode::kInternal, "AES-256-GCM needs a 32-byte key");
  std::vector<std::uint8_t> out = RandomBytes(kGcmIv);
  out.resize(kGcmIv + plaintext.size() + kGcmTag);
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslError("EVP_CIPHER_CTX_new");
  int len = 0;
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), out.data()) != 1) {
    return OpenSslError("EVP_EncryptInit_ex");
  }
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return OpenSslError("EVP_EncryptUpdate(aad)");
  }
  if (!plaintext.empty() &&
      EVP_EncryptUpdate(ctx.get(), out.data() + kGcmIv, &len, plaintext.data(),
                        static_cast<int>(plaintext.size())) != 1) {
    return OpenSslError("EVP_EncryptUpdate");
  }
  if (EVP_EncryptFinal_ex(ctx.get(), out.data() + kGcmIv + plaintext.size(), &len) != 1) {
    return OpenSslError("EVP_EncryptFinal_ex");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTag),
                          out.data() + kGcmIv + plaintext.size()) != 1) {
    return OpenSslError("EVP_CTRL_GCM_GET_TAG");
  }
  return out;
}

Result<SecretBytes> AesGcmOpen(std::span<const std::uint8_t> key,
                               std::span<const std::uint8_t> sealed,
                               std::span<const std::uint8_t> aad) {
  if (key.size() != 32) return Error(ErrorCode::kInternal, "AES-256-GCM needs a 32-byte key");
  if (sealed.size() < kGcmIv + kGcmTag) {
    return Error(ErrorCode::kVerificationFailed, "sealed data too short", "decrypt_failed");
  }
  const std::size_t n = sealed.size() - kGcmIv - kGcmTag;
  SecretBytes out(n);
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslError("EVP_CIPHER_CTX_new");
  int len = 0;
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), sealed.data()) != 1) {
    return OpenSslError("EVP_DecryptInit_ex");
  }
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(), static_cast<int>(aad.size())) != 1) {
    return OpenSslError("EVP_DecryptUpdate(aad)");
  }
  if (n > 0 && EVP_DecryptUpdate(ctx.get(), out.Reveal().data(), &len, sealed.data() + kGcmIv,
                                 static_cast<int>(n)) != 1) {
    return OpenSslError("EVP_DecryptUpdate");
  }
  std::uint8_t tag[kGcmTag];
  for (std::size_t i = 0; i < kGcmTag; ++i) tag[i] = sealed[kGcmIv + n + i];
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTag), tag) != 1) {
    return OpenSslError("EVP_CTRL_GCM_SET_TAG");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), out.Reveal().data() + n, &len) != 1) {
    ERR_clear_error();
    return Error(ErrorCode::kVerificationFailed, "authenticated decryption failed",
                 "decrypt_failed");
  }
  return out;
}

}  // namespace skr
