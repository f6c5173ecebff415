// SPDX-License-Identifier: Apache-2.0
#include "attestation/tpm/credential.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include <cstring>

namespace skr::attestation::tpm {
namespace {

Error Unsupported(const std::string& msg) {
  return Error(ErrorCode::kInvalidArgument, "tpm: " + msg, "tpm_ek_unsupported");
}

const EVP_MD* MdOf(TPM2_ALG_ID alg) {
  switch (alg) {
    case TPM2_ALG_SHA256: return EVP_sha256();
    case TPM2_ALG_SHA384: return EVP_sha384();
    case TPM2_ALG_SHA512: return EVP_sha512();
    default: return nullptr;
  }
}

void PutU32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}

}  // namespace

Result<SecretBytes> KdfA(TPM2_ALG_ID hash, std::span<const std::uint8_t> key, std::string_view label,
                         std::span<const std::uint8_t> context_u,
                         std::span<const std::uint8_t> context_v, std::size_t bits) {
  const EVP_MD* md = MdOf(hash);
  if (md == nullptr || bits == 0 || bits % 8 != 0 || bits > 4096) {
    return Error(ErrorCode::kInvalidArgument, "tpm: KDFa parameters unsupported");
  }
  const std::size_t bytes = bits / 8;
  SecretBytes out(bytes);
  std::size_t done = 0;
  for (std::uint32_t counter = 1; done < bytes; ++counter) {
    // [i]32 || label || 0x00 || contextU || contextV || [L]32; the label's terminating NUL is
    // part of the input (Part 1, 11.4.10.2).
    std::vector<std::uint8_t> msg;
    msg.reserve(4 + label.size() + 1 + context_u.size() + context_v.size() + 4);
    PutU32(msg, counter);
    for (char ch : label) msg.push_back(static_cast<std::uint8_t>(ch));
    msg.push_back(0);
    for (std::uint8_t b : context_u) msg.push_back(b);
    for (std::uint8_t b : context_v) msg.push_back(b);
    PutU32(msg, static_cast<std::uint32_t>(bits));
    std::uint8_t block[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(md, key.data(), static_cast<int>(key.size()), msg.data(), msg.size(), block, &len) == nullptr) {
      return OpenSslError("HMAC");
    }
    const std::size_t take = std::min<std::size_t>(len, bytes - done);
    std::memcpy(out.Reveal().data() + done, block, take);
    OPENSSL_cleanse(block, sizeof(block));
    done += take;
  }
  return out;
}

Result<CredentialChallenge> MakeCredential(EVP_PKEY* ek, const EkParameters& params,
                                           std::span<const std::uint8_t> object_name,
                                           std::span<const std::uint8_t> credential) {
  if (ek == nullptr || EVP_PKEY_is_a(ek, "RSA") != 1) return Unsupported("only RSA endorsement keys are supported");
  if (params.sym_alg != TPM2_ALG_AES || (params.sym_bits != 128 && params.sym_bits != 256)) {
    return Unsupported("EK symmetric algorithm must be AES-128 or AES-256 (CFB)");
  }
  const EVP_MD* md = MdOf(params.name_alg);
  if (md == nullptr) return Unsupported("EK nameAlg must be SHA-256, SHA-384 or SHA-512");
  const std::size_t digest_size = static_cast<std::size_t>(EVP_MD_get_size(md));
  if (credential.empty() || credential.size() > digest_size) {
    return Error(ErrorCode::kInvalidArgument, "tpm: credential must be 1..digest-size bytes");
  }
  if (object_name.size() < 2 || object_name.size() > sizeof(TPMU_NAME)) {
    return Error(ErrorCode::kInvalidArgument, "tpm: object name has a bad size");
  }

  // ---- Seed, RSA-OAEP encrypted to the EK with label "IDENTITY\0" (Part 1, B.10.4) ----
  SecretBytes seed = RandomSecret(digest_size);
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(ek, nullptr));
  static const char kLabel[] = "IDENTITY";  // sizeof includes the NUL, which is part of the label
  unsigned char* label = static_cast<unsigned char*>(OPENSSL_memdup(kLabel, sizeof(kLabel)));
  if (!ctx || label == nullptr || EVP_PKEY_encrypt_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), md) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), md) != 1) {
    OPENSSL_free(label);
    return OpenSslError("RSA-OAEP setup");
  }
  if (EVP_PKEY_CTX_set0_rsa_oaep_label(ctx.get(), label, static_cast<int>(sizeof(kLabel))) != 1) {
    OPENSSL_free(label);
    return OpenSslError("RSA-OAEP label");
  }
  std::size_t enc_len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &enc_len, seed.Reveal().data(), seed.size()) != 1) {
    return OpenSslError("RSA-OAEP size");
  }
  std::vector<std::uint8_t> enc(enc_len);
  if (EVP_PKEY_encrypt(ctx.get(), enc.data(), &enc_len, seed.Reveal().data(), seed.size()) != 1) {
    return OpenSslError("RSA-OAEP encrypt");
  }
  enc.resize(enc_len);
  if (enc.size() > sizeof(TPMU_ENCRYPTED_SECRET)) return Unsupported("EK modulus is too large");

  // ---- Symmetric protection of the credential (Part 1, 24.4) ----
  SKR_TRY(SecretBytes sym_key, KdfA(params.name_alg, seed.Reveal(), "STORAGE", object_name, {},
                                    params.sym_bits));
  // The plaintext is the credential as a marshalled TPM2B_DIGEST (size || bytes).
  SecretBytes plain(2 + credential.size());
  plain.Reveal()[0] = static_cast<std::uint8_t>(credential.size() >> 8);
  plain.Reveal()[1] = static_cast<std::uint8_t>(credential.size() & 0xff);
  std::memcpy(plain.Reveal().data() + 2, credential.data(), credential.size());
  const EVP_CIPHER* cipher = params.sym_bits == 128 ? EVP_aes_128_cfb128() : EVP_aes_256_cfb128();
  EvpCipherCtxPtr cctx(EVP_CIPHER_CTX_new());
  const std::uint8_t iv[16] = {0};
  std::vector<std::uint8_t> enc_identity(plain.size());
  int out_len = 0, fin_len = 0;
  if (!cctx || EVP_EncryptInit_ex(cctx.get(), cipher, nullptr, sym_key.Reveal().data(), iv) != 1 ||
      EVP_EncryptUpdate(cctx.get(), enc_identity.data(), &out_len, plain.Reveal().data(),
                        static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(cctx.get(), enc_identity.data() + out_len, &fin_len) != 1 ||
      static_cast<std::size_t>(out_len + fin_len) != plain.size()) {
    return OpenSslError("AES-CFB");
  }

  // ---- Integrity (Part 1, 24.5): outerHMAC = HMAC(hmacKey, encIdentity || name) ----
  SKR_TRY(SecretBytes hmac_key, KdfA(params.name_alg, seed.Reveal(), "INTEGRITY", {}, {}, digest_size * 8));
  std::vector<std::uint8_t> hmac_in = enc_identity;
  hmac_in.insert(hmac_in.end(), object_name.begin(), object_name.end());
  std::uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(md, hmac_key.Reveal().data(), static_cast<int>(hmac_key.size()), hmac_in.data(), hmac_in.size(),
           mac, &mac_len) == nullptr) {
    return OpenSslError("HMAC");
  }

  // ---- Marshal TPM2B_ID_OBJECT {TPM2B_DIGEST integrityHMAC, encIdentity} and the secret ----
  TPM2B_ID_OBJECT id;
  std::memset(&id, 0, sizeof(id));
  const std::size_t id_size = 2 + mac_len + enc_identity.size();
  if (id_size > sizeof(id.credential)) return Error(ErrorCode::kInternal, "tpm: credential blob too large");
  id.size = static_cast<UINT16>(id_size);
  id.credential[0] = static_cast<BYTE>(mac_len >> 8);
  id.credential[1] = static_cast<BYTE>(mac_len & 0xff);
  std::memcpy(id.credential + 2, mac, mac_len);
  std::memcpy(id.credential + 2 + mac_len, enc_identity.data(), enc_identity.size());
  TPM2B_ENCRYPTED_SECRET secret;
  std::memset(&secret, 0, sizeof(secret));
  secret.size = static_cast<UINT16>(enc.size());
  std::memcpy(secret.secret, enc.data(), enc.size());

  CredentialChallenge out;
  out.credential_blob.resize(sizeof(TPM2B_ID_OBJECT));
  out.encrypted_secret.resize(sizeof(TPM2B_ENCRYPTED_SECRET));
  std::size_t o1 = 0, o2 = 0;
  if (Tss2_MU_TPM2B_ID_OBJECT_Marshal(&id, out.credential_blob.data(), out.credential_blob.size(), &o1) != TSS2_RC_SUCCESS ||
      Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&secret, out.encrypted_secret.data(), out.encrypted_secret.size(), &o2) != TSS2_RC_SUCCESS) {
    return Error(ErrorCode::kInternal, "tpm: credential does not marshal");
  }
  out.credential_blob.resize(o1);
  out.encrypted_secret.resize(o2);
  return out;
}

}  // namespace skr::attestation::tpm
