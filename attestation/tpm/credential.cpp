// SPDX-License-Identifier: Apache-2.0
#include "attestation/tpm/credential.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include <cstring>
#include <string>
#include <utility>

#include "attestation/tpm/quote.h"

namespace skr::attestation::tpm {
namespace {

Error Unsupported(const std::string& msg) {
  return Error(ErrorCode::kInvalidArgument, "tpm: " + msg, "tpm_ek_unsupported");
}

// Credential protection hashes: the EK's nameAlg, never SHA-1.
const EVP_MD* MdOf(TPM2_ALG_ID alg) { return StrongHashMd(alg); }

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

Result<SecretBytes> KdfE(TPM2_ALG_ID hash, std::span<const std::uint8_t> z, std::string_view label,
                         std::span<const std::uint8_t> party_u, std::span<const std::uint8_t> party_v,
                         std::size_t bits) {
  const EVP_MD* md = MdOf(hash);
  if (md == nullptr || bits == 0 || bits % 8 != 0 || bits > 4096) {
    return Error(ErrorCode::kInvalidArgument, "tpm: KDFe parameters unsupported");
  }
  const std::size_t bytes = bits / 8;
  SecretBytes out(bytes);
  std::size_t done = 0;
  for (std::uint32_t counter = 1; done < bytes; ++counter) {
    // H([i]32 || Z || label || 0x00 || PartyUInfo || PartyVInfo) (Part 1, 11.4.10.3).
    std::uint8_t ctr[4] = {static_cast<std::uint8_t>(counter >> 24), static_cast<std::uint8_t>(counter >> 16),
                           static_cast<std::uint8_t>(counter >> 8), static_cast<std::uint8_t>(counter)};
    const std::uint8_t nul = 0;
    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    std::uint8_t block[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 || EVP_DigestUpdate(ctx.get(), ctr, 4) != 1 ||
        EVP_DigestUpdate(ctx.get(), z.data(), z.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), label.data(), label.size()) != 1 || EVP_DigestUpdate(ctx.get(), &nul, 1) != 1 ||
        EVP_DigestUpdate(ctx.get(), party_u.data(), party_u.size()) != 1 ||
        EVP_DigestUpdate(ctx.get(), party_v.data(), party_v.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), block, &len) != 1) {
      return OpenSslError("KDFe digest");
    }
    const std::size_t take = std::min<std::size_t>(len, bytes - done);
    std::memcpy(out.Reveal().data() + done, block, take);
    OPENSSL_cleanse(block, sizeof(block));
    done += take;
  }
  return out;
}

namespace {

// Big-endian affine coordinates of an EC public key, each padded to the field size.
Result<std::pair<std::vector<std::uint8_t>, std::vector<std::uint8_t>>> EcPoint(EVP_PKEY* key, std::size_t field) {
  BIGNUM* x = nullptr;
  BIGNUM* y = nullptr;
  if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
      EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1) {
    BN_free(x);
    BN_free(y);
    return OpenSslError("EC public point");
  }
  BignumPtr bx(x), by(y);
  std::vector<std::uint8_t> xs(field), ys(field);
  if (BN_bn2binpad(bx.get(), xs.data(), static_cast<int>(field)) < 0 ||
      BN_bn2binpad(by.get(), ys.data(), static_cast<int>(field)) < 0) {
    return OpenSslError("BN_bn2binpad");
  }
  return std::make_pair(std::move(xs), std::move(ys));
}

// ECC secret sharing for credentials (Part 1, C.6.4 / 24.4 with an ECC EK): an ephemeral key on
// the EK's curve, Z = x of [d_e]Q_ek, seed = KDFe(nameAlg, Z, "IDENTITY", x_e, x_ek, digest bits);
// the TPM recomputes Z from the ephemeral point (the "encrypted secret", a TPMS_ECC_POINT).
Result<std::vector<std::uint8_t>> EccSeed(EVP_PKEY* ek, TPM2_ALG_ID name_alg, std::size_t digest_size,
                                          SecretBytes& seed) {
  char group[32] = {0};
  std::size_t glen = 0;
  if (EVP_PKEY_get_utf8_string_param(ek, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) != 1) {
    return OpenSslError("EC group");
  }
  const std::string_view name(group, glen);
  std::size_t field = 0;
  if (name == "prime256v1" || name == "P-256") field = 32;
  if (name == "secp384r1" || name == "P-384") field = 48;
  if (field == 0) return Unsupported("ECC EK curve must be NIST P-256 or P-384");
  SKR_TRY(EvpPkeyPtr eph, GenerateEcKey(field == 32 ? "P-256" : "P-384"));
  EvpPkeyCtxPtr dctx(EVP_PKEY_CTX_new(eph.get(), nullptr));
  std::size_t zlen = 0;
  if (!dctx || EVP_PKEY_derive_init(dctx.get()) != 1 || EVP_PKEY_derive_set_peer(dctx.get(), ek) != 1 ||
      EVP_PKEY_derive(dctx.get(), nullptr, &zlen) != 1 || zlen != field) {
    return OpenSslError("ECDH with the EK");
  }
  SecretBytes z(zlen);
  if (EVP_PKEY_derive(dctx.get(), z.Reveal().data(), &zlen) != 1) return OpenSslError("ECDH derive");
  SKR_TRY(auto eph_point, EcPoint(eph.get(), field));
  SKR_TRY(auto ek_point, EcPoint(ek, field));
  SKR_TRY(seed, KdfE(name_alg, z.Reveal(), "IDENTITY", eph_point.first, ek_point.first, digest_size * 8));
  // The TPM2B_ENCRYPTED_SECRET carries the marshalled TPMS_ECC_POINT of the ephemeral key.
  TPMS_ECC_POINT point;
  std::memset(&point, 0, sizeof(point));
  point.x.size = static_cast<UINT16>(field);
  point.y.size = static_cast<UINT16>(field);
  std::memcpy(point.x.buffer, eph_point.first.data(), field);
  std::memcpy(point.y.buffer, eph_point.second.data(), field);
  std::vector<std::uint8_t> out(sizeof(TPMS_ECC_POINT));
  std::size_t off = 0;
  if (Tss2_MU_TPMS_ECC_POINT_Marshal(&point, out.data(), out.size(), &off) != TSS2_RC_SUCCESS) {
    return Error(ErrorCode::kInternal, "tpm: ECC point does not marshal");
  }
  out.resize(off);
  return out;
}

}  // namespace

Result<CredentialChallenge> MakeCredential(EVP_PKEY* ek, const EkParameters& params,
                                           std::span<const std::uint8_t> object_name,
                                           std::span<const std::uint8_t> credential) {
  const bool rsa = ek != nullptr && EVP_PKEY_is_a(ek, "RSA") == 1;
  const bool ecc = ek != nullptr && EVP_PKEY_is_a(ek, "EC") == 1;
  if (!rsa && !ecc) return Unsupported("the EK must be an RSA or ECC key");
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

  SecretBytes seed;
  std::vector<std::uint8_t> enc;
  if (ecc) {
    SKR_TRY(enc, EccSeed(ek, params.name_alg, digest_size, seed));
  } else {
    // ---- Seed, RSA-OAEP encrypted to the EK with label "IDENTITY\0" (Part 1, B.10.4) ----
    seed = RandomSecret(digest_size);
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
    enc.resize(enc_len);
    if (EVP_PKEY_encrypt(ctx.get(), enc.data(), &enc_len, seed.Reveal().data(), seed.size()) != 1) {
      return OpenSslError("RSA-OAEP encrypt");
    }
    enc.resize(enc_len);
  }
  if (enc.size() > sizeof(TPMU_ENCRYPTED_SECRET)) return Unsupported("EK key is too large");

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
