// SPDX-License-Identifier: Apache-2.0
// JWE compact serialization (RFC 7516) with RSA-OAEP-256 or ECDH-ES+A256KW key management
// (RFC 7518 sections 4.3 and 4.6) and A256GCM content encryption (RFC 7518 section 5.3), plus
// the Concat KDF of RFC 7518 section 4.6.2.
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/ecdh_p384.h"
#include "common/encoding.h"
#include "common/jose.h"

namespace skr {
namespace {

constexpr std::string_view kAlgRsaOaep256 = "RSA-OAEP-256";
constexpr std::string_view kAlgEcdhEsA256Kw = "ECDH-ES+A256KW";
constexpr std::string_view kEncA256Gcm = "A256GCM";
constexpr std::size_t kCekBytes = 32;                    // A256GCM key (RFC 7518 section 5.3)
constexpr std::size_t kWrappedCekBytes = kCekBytes + 8;  // RFC 3394 adds one 64-bit block
constexpr std::size_t kIvBytes = 12;                     // RFC 7518 section 5.3: 96-bit IV
constexpr std::size_t kTagBytes = 16;                    // RFC 7518 section 5.3: 128-bit tag
constexpr std::size_t kMaxCompactBytes = 1u << 20;
constexpr std::size_t kMaxHeaderBytes = 8u << 10;
constexpr std::size_t kMaxPartyInfoBytes = 1024;
constexpr std::size_t kMaxKdfBits = 1u << 16;

Error Malformed(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "JWE: " + std::move(message), "malformed_jwe");
}

Error DecryptFailed(std::string message) {
  return Error(ErrorCode::kVerificationFailed, "JWE: " + std::move(message), "decrypt_failed");
}

// The JWE was made for a different kind of key than the one we hold: as undecryptable as a
// wrong key of the right kind, so the same code.
Error WrongKey(std::string message) {
  return Error(ErrorCode::kVerificationFailed, "JWE: " + std::move(message), "wrong_key");
}

void AppendU32Be(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

// NIST SP 800-56A section 5.8.1 "Datalen || Data" as RFC 7518 section 4.6.2 uses it.
void AppendLengthPrefixed(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> data) {
  AppendU32Be(out, static_cast<std::uint32_t>(data.size()));
  out.insert(out.end(), data.begin(), data.end());
}

// The curve name ("P-256", ...) of an EC key, via its public JWK (one place knows the mapping).
Result<std::string> CurveName(EVP_PKEY* key) {
  SKR_TRY(Json jwk, PublicJwkFromKey(key, ""));
  return jwk.at("crv").get<std::string>();
}

// Z = ECDH shared secret (SEC 1 section 3.3.1: the x-coordinate, field-size octets).
Result<SecretBytes> Ecdh(EVP_PKEY* own_private, EVP_PKEY* peer_public) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, own_private, nullptr));
  if (!ctx) return OpenSslError("EVP_PKEY_CTX_new_from_pkey");
  if (EVP_PKEY_derive_init(ctx.get()) != 1) return OpenSslError("EVP_PKEY_derive_init");
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer_public) != 1) {
    return OpenSslError("EVP_PKEY_derive_set_peer", ErrorCode::kVerificationFailed);
  }
  std::size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1 || len == 0) {
    return OpenSslError("EVP_PKEY_derive(size)");
  }
  SecretBytes z(len);
  if (EVP_PKEY_derive(ctx.get(), z.Reveal().data(), &len) != 1) {
    return OpenSslError("EVP_PKEY_derive");
  }
  if (len != z.size()) return Error(ErrorCode::kInternal, "ECDH output size changed");
  return z;
}

// RFC 3394 AES key wrap with a 256-bit KEK (RFC 7518 section 4.4: A256KW). `encrypt` false
// unwraps; an integrity-check failure is kVerificationFailed.
Result<SecretBytes> AesKeyWrap(std::span<const std::uint8_t> kek, std::span<const std::uint8_t> in,
                               bool encrypt) {
  if (kek.size() != 32) return Error(ErrorCode::kInternal, "A256KW needs a 32-byte KEK");
  if (in.size() < 16 || in.size() % 8 != 0) {
    return Error(ErrorCode::kInternal, "A256KW input must be a multiple of 8 bytes");
  }
  const std::size_t out_len = encrypt ? in.size() + 8 : in.size() - 8;
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return OpenSslError("EVP_CIPHER_CTX_new");
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_wrap(), nullptr, kek.data(), nullptr,
                        encrypt ? 1 : 0) != 1) {
    return OpenSslError("EVP_CipherInit_ex(aes-256-wrap)");
  }
  // The wrap mode writes the whole result from one update call; keep room for a block more.
  SecretBytes buf(in.size() + 16);
  int len = 0;
  if (EVP_CipherUpdate(ctx.get(), buf.Reveal().data(), &len, in.data(),
                       static_cast<int>(in.size())) != 1) {
    if (encrypt) return OpenSslError("EVP_CipherUpdate(wrap)");
    ERR_clear_error();
    return DecryptFailed("key unwrap failed (wrong key or tampered data)");
  }
  int fin = 0;
  if (EVP_CipherFinal_ex(ctx.get(), buf.Reveal().data() + len, &fin) != 1) {
    if (encrypt) return OpenSslError("EVP_CipherFinal_ex(wrap)");
    ERR_clear_error();
    return DecryptFailed("key unwrap failed (wrong key or tampered data)");
  }
  if (len < 0 || fin < 0 ||
      static_cast<std::size_t>(len) + static_cast<std::size_t>(fin) != out_len) {
    return encrypt ? Error(ErrorCode::kInternal, "A256KW produced an unexpected length")
                   : DecryptFailed("key unwrap produced an unexpected length");
  }
  return SecretBytes::CopyFrom(buf.Reveal().first(out_len));
}

// KEK for ECDH-ES+A256KW: Concat KDF over Z with AlgorithmID = the "alg" value (RFC 7518
// section 4.6.2, key agreement with key wrapping).
Result<SecretBytes> DeriveKek(std::span<const std::uint8_t> z, std::span<const std::uint8_t> apu,
                              std::span<const std::uint8_t> apv) {
  return ConcatKdfSha256(z, 256, kAlgEcdhEsA256Kw, apu, apv);
}

Result<std::vector<std::uint8_t>> RsaOaepEncrypt(EVP_PKEY* key, std::span<const std::uint8_t> in) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx) return OpenSslError("EVP_PKEY_CTX_new_from_pkey");
  // RFC 7518 section 4.3: RSAES-OAEP with SHA-256 and MGF1 with SHA-256.
  if (EVP_PKEY_encrypt_init(ctx.get()) != 1) return OpenSslError("EVP_PKEY_encrypt_init");
  if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1) {
    return OpenSslError("EVP_PKEY_CTX_set_rsa_*");
  }
  std::size_t len = 0;
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &len, in.data(), in.size()) != 1) {
    return OpenSslError("EVP_PKEY_encrypt(size)");
  }
  std::vector<std::uint8_t> out(len);
  if (EVP_PKEY_encrypt(ctx.get(), out.data(), &len, in.data(), in.size()) != 1) {
    return OpenSslError("EVP_PKEY_encrypt");
  }
  out.resize(len);
  return out;
}

Result<SecretBytes> RsaOaepDecrypt(EVP_PKEY* key, std::span<const std::uint8_t> in) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx) return OpenSslError("EVP_PKEY_CTX_new_from_pkey");
  if (EVP_PKEY_decrypt_init(ctx.get()) != 1) return OpenSslError("EVP_PKEY_decrypt_init");
  if (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(ctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1) {
    return OpenSslError("EVP_PKEY_CTX_set_rsa_*");
  }
  std::size_t len = 0;
  if (EVP_PKEY_decrypt(ctx.get(), nullptr, &len, in.data(), in.size()) != 1 || len == 0) {
    return OpenSslError("EVP_PKEY_decrypt(size)");
  }
  SecretBytes buf(len);
  if (EVP_PKEY_decrypt(ctx.get(), buf.Reveal().data(), &len, in.data(), in.size()) != 1) {
    ERR_clear_error();
    return DecryptFailed("RSA-OAEP decryption failed (wrong key or tampered data)");
  }
  if (len != kCekBytes) return DecryptFailed("decrypted CEK has the wrong length");
  return SecretBytes::CopyFrom(buf.Reveal().first(len));
}

// Splits a compact serialization into exactly `n` dot-separated parts.
bool SplitCompact(std::string_view compact, std::size_t n, std::vector<std::string_view>& parts) {
  parts.clear();
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = compact.find('.', start);
    if (dot == std::string_view::npos) {
      parts.push_back(compact.substr(start));
      break;
    }
    parts.push_back(compact.substr(start, dot - start));
    if (parts.size() > n) return false;
    start = dot + 1;
  }
  return parts.size() == n;
}

Result<std::vector<std::uint8_t>> DecodePart(std::string_view text, const char* what) {
  auto bytes = Base64UrlDecode(text);
  if (!bytes) return Malformed(std::string(what) + " is not valid base64url");
  return std::move(bytes).value();
}

Result<std::vector<std::uint8_t>> DecodeHeaderB64(const Json& header, const char* name) {
  auto it = header.find(name);
  if (it == header.end()) return std::vector<std::uint8_t>();
  if (!it->is_string()) return Malformed(std::string("header '") + name + "' must be a string");
  SKR_TRY(std::vector<std::uint8_t> bytes, DecodePart(it->get_ref<const std::string&>(), name));
  if (bytes.size() > kMaxPartyInfoBytes) {
    return Malformed(std::string("header '") + name + "' is too long");
  }
  return bytes;
}

}  // namespace

// RFC 7518 section 4.6.2 (NIST SP 800-56A section 5.8.1 single-step KDF with SHA-256):
// K(i) = SHA-256(counter_i (32-bit BE, from 1) || Z || OtherInfo), output = leading bits of
// K(1) || K(2) || ...
Result<SecretBytes> ConcatKdfSha256(std::span<const std::uint8_t> z, std::size_t keydatalen_bits,
                                    std::string_view algorithm_id,
                                    std::span<const std::uint8_t> apu,
                                    std::span<const std::uint8_t> apv) {
  if (keydatalen_bits == 0 || keydatalen_bits % 8 != 0 || keydatalen_bits > kMaxKdfBits) {
    return Error(ErrorCode::kInvalidArgument, "Concat KDF: key length must be whole bytes");
  }
  if (algorithm_id.size() > kMaxPartyInfoBytes || apu.size() > kMaxPartyInfoBytes ||
      apv.size() > kMaxPartyInfoBytes) {
    return Error(ErrorCode::kInvalidArgument, "Concat KDF: OtherInfo field too long");
  }
  std::vector<std::uint8_t> other_info;
  AppendLengthPrefixed(other_info, AsBytes(algorithm_id));               // AlgorithmID
  AppendLengthPrefixed(other_info, apu);                                 // PartyUInfo
  AppendLengthPrefixed(other_info, apv);                                 // PartyVInfo
  AppendU32Be(other_info, static_cast<std::uint32_t>(keydatalen_bits));  // SuppPubInfo
  // SuppPrivInfo is empty.

  const std::size_t out_len = keydatalen_bits / 8;
  SecretBytes out(out_len);
  std::array<std::uint8_t, 32> block{};
  EvpMdCtxPtr md(EVP_MD_CTX_new());
  if (!md) return OpenSslError("EVP_MD_CTX_new");
  std::size_t done = 0;
  for (std::uint32_t counter = 1; done < out_len; ++counter) {
    std::vector<std::uint8_t> counter_be;
    AppendU32Be(counter_be, counter);
    unsigned int block_len = 0;
    if (EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(md.get(), counter_be.data(), counter_be.size()) != 1 ||
        EVP_DigestUpdate(md.get(), z.data(), z.size()) != 1 ||
        EVP_DigestUpdate(md.get(), other_info.data(), other_info.size()) != 1 ||
        EVP_DigestFinal_ex(md.get(), block.data(), &block_len) != 1 || block_len != block.size()) {
      OPENSSL_cleanse(block.data(), block.size());
      return OpenSslError("Concat KDF digest");
    }
    const std::size_t take = std::min(block.size(), out_len - done);
    for (std::size_t i = 0; i < take; ++i) out.Reveal()[done + i] = block[i];
    done += take;
  }
  OPENSSL_cleanse(block.data(), block.size());
  return out;
}

Result<std::string> JweEncrypt(const PublicJwk& recipient,
                               std::span<const std::uint8_t> plaintext) {
  if (!recipient.key) return Error(ErrorCode::kInvalidArgument, "JWE: recipient has no key");
  if (plaintext.size() > kMaxCompactBytes / 2) {
    return Error(ErrorCode::kInvalidArgument, "JWE: plaintext too large");
  }
  SKR_TRY(std::string kid, JwkThumbprint(recipient.members));
  Json header = Json::object();
  header["alg"] = recipient.alg;
  header["enc"] = std::string(kEncA256Gcm);
  header["kid"] = kid;

  SecretBytes cek = RandomSecret(kCekBytes);
  std::vector<std::uint8_t> encrypted_key;
  if (recipient.alg == kAlgRsaOaep256) {
    if (EVP_PKEY_is_a(recipient.key.get(), "RSA") != 1) {
      return Error(ErrorCode::kInvalidArgument, "JWE: RSA-OAEP-256 needs an RSA key");
    }
    SKR_TRY(encrypted_key, RsaOaepEncrypt(recipient.key.get(), cek.Reveal()));
  } else if (recipient.alg == kAlgEcdhEsA256Kw) {
    if (EVP_PKEY_is_a(recipient.key.get(), "EC") != 1) {
      return Error(ErrorCode::kInvalidArgument, "JWE: ECDH-ES+A256KW needs an EC key");
    }
    // RFC 7518 section 4.6: a fresh ephemeral key on the recipient's curve, published as "epk".
    SKR_TRY(std::string crv, CurveName(recipient.key.get()));
    SecretBytes z;
    if (crv == "P-384") {
      // nettle: about 5.7x OpenSSL 3.0's P-384 here, side-channel silent (common/ecdh_p384.h).
      SKR_TRY(EcdhP384 agreed, EcdhEsP384(recipient.key.get()));
      header["epk"] = Json{{"kty", "EC"},
                           {"crv", "P-384"},
                           {"x", Base64UrlEncode(agreed.epk_x)},
                           {"y", Base64UrlEncode(agreed.epk_y)}};
      z = std::move(agreed.z);
    } else {
      SKR_TRY(EvpPkeyPtr ephemeral, GenerateEcKey(crv));
      SKR_TRY(header["epk"], PublicJwkFromKey(ephemeral.get(), ""));
      SKR_TRY(z, Ecdh(ephemeral.get(), recipient.key.get()));
    }
    SKR_TRY(SecretBytes kek, DeriveKek(z.Reveal(), {}, {}));
    SKR_TRY(SecretBytes wrapped, AesKeyWrap(kek.Reveal(), cek.Reveal(), /*encrypt=*/true));
    encrypted_key.assign(wrapped.Reveal().begin(), wrapped.Reveal().end());
  } else {
    return Error(ErrorCode::kInvalidArgument, "JWE: unsupported alg " + recipient.alg);
  }

  const std::string header_b64 = Base64UrlEncode(AsBytes(DumpJson(header)));
  // RFC 7516 section 5.1 step 14: AAD = ASCII(BASE64URL(UTF8(JWE Protected Header))).
  SKR_TRY(std::vector<std::uint8_t> sealed,
          AesGcmSeal(cek.Reveal(), plaintext, AsBytes(header_b64)));
  // AesGcmSeal lays out iv(12) || ciphertext || tag(16).
  const std::span<const std::uint8_t> all(sealed);
  const auto iv = all.first(kIvBytes);
  const auto tag = all.last(kTagBytes);
  const auto ciphertext = all.subspan(kIvBytes, all.size() - kIvBytes - kTagBytes);

  std::string out = header_b64;
  out += '.';
  out += Base64UrlEncode(encrypted_key);
  out += '.';
  out += Base64UrlEncode(iv);
  out += '.';
  out += Base64UrlEncode(ciphertext);
  out += '.';
  out += Base64UrlEncode(tag);
  return out;
}

Result<SecretBytes> JweDecrypt(std::string_view compact, EVP_PKEY* private_key) {
  if (private_key == nullptr) return Error(ErrorCode::kInvalidArgument, "JWE: no private key");
  if (compact.size() > kMaxCompactBytes) return Malformed("too large");
  // RFC 7516 section 7.1: five base64url parts.
  std::vector<std::string_view> parts;
  if (!SplitCompact(compact, 5, parts)) return Malformed("compact form must have five parts");
  if (parts[0].empty() || parts[0].size() > kMaxHeaderBytes) {
    return Malformed("protected header is empty or too large");
  }
  SKR_TRY(std::vector<std::uint8_t> header_bytes, DecodePart(parts[0], "protected header"));
  const std::string header_text(header_bytes.begin(), header_bytes.end());
  auto parsed = ParseJson(header_text, kMaxHeaderBytes, 8);
  if (!parsed || !parsed->is_object()) return Malformed("protected header is not a JSON object");
  const Json& header = *parsed;

  // RFC 7516 section 4.1.13: we implement no extensions, so any "crit" is unsupported; "zip"
  // (compression) is refused as well.
  if (header.contains("crit")) return Malformed("unsupported critical header parameters");
  if (header.contains("zip")) return Malformed("compressed payloads (\"zip\") are not supported");

  auto alg_it = header.find("alg");
  if (alg_it == header.end() || !alg_it->is_string()) return Malformed("header 'alg' is missing");
  const std::string alg = alg_it->get<std::string>();
  if (alg == "none" || alg == "dir" || alg == "RSA1_5") {
    return Malformed("alg \"" + alg + "\" is not allowed");
  }
  if (alg != kAlgRsaOaep256 && alg != kAlgEcdhEsA256Kw) {
    return Malformed("unsupported alg \"" + alg + "\"");
  }
  auto enc_it = header.find("enc");
  if (enc_it == header.end() || !enc_it->is_string() ||
      enc_it->get_ref<const std::string&>() != kEncA256Gcm) {
    return Malformed("header 'enc' must be \"A256GCM\"");
  }

  SKR_TRY(std::vector<std::uint8_t> encrypted_key, DecodePart(parts[1], "encrypted key"));
  SKR_TRY(std::vector<std::uint8_t> iv, DecodePart(parts[2], "IV"));
  SKR_TRY(std::vector<std::uint8_t> ciphertext, DecodePart(parts[3], "ciphertext"));
  SKR_TRY(std::vector<std::uint8_t> tag, DecodePart(parts[4], "tag"));
  if (iv.size() != kIvBytes) return Malformed("IV must be 12 bytes");
  if (tag.size() != kTagBytes) return Malformed("tag must be 16 bytes");

  SecretBytes cek;
  if (alg == kAlgRsaOaep256) {
    if (EVP_PKEY_is_a(private_key, "RSA") != 1) {
      return WrongKey("alg RSA-OAEP-256 does not fit the private key");
    }
    const int modulus_bytes = EVP_PKEY_get_size(private_key);
    if (modulus_bytes <= 0 || encrypted_key.size() != static_cast<std::size_t>(modulus_bytes)) {
      return WrongKey("encrypted key does not match the RSA modulus size");
    }
    SKR_TRY(cek, RsaOaepDecrypt(private_key, encrypted_key));
  } else {
    if (EVP_PKEY_is_a(private_key, "EC") != 1) {
      return WrongKey("alg ECDH-ES+A256KW does not fit the private key");
    }
    if (encrypted_key.size() != kWrappedCekBytes) {
      return Malformed("encrypted key must be 40 bytes for ECDH-ES+A256KW with A256GCM");
    }
    auto epk_it = header.find("epk");
    if (epk_it == header.end() || !epk_it->is_object()) return Malformed("header 'epk' missing");
    // The epk is a bare public JWK (RFC 7518 section 4.6.1.1); validate it with the tee-pubkey
    // rules, which need an alg member.
    Json epk = *epk_it;
    if (!epk.contains("alg")) epk["alg"] = std::string(kAlgEcdhEsA256Kw);
    auto peer = ParsePublicJwk(epk);
    if (!peer) return Malformed("invalid epk: " + peer.error().message());
    if (peer->kty != "EC") return Malformed("epk must be an EC key");
    SKR_TRY(std::string own_crv, CurveName(private_key));
    if (peer->crv != own_crv) {
      return WrongKey("epk curve " + peer->crv + " does not match the key's curve " + own_crv);
    }
    SKR_TRY(std::vector<std::uint8_t> apu, DecodeHeaderB64(header, "apu"));
    SKR_TRY(std::vector<std::uint8_t> apv, DecodeHeaderB64(header, "apv"));
    SKR_TRY(SecretBytes z, Ecdh(private_key, peer->key.get()));
    SKR_TRY(SecretBytes kek, DeriveKek(z.Reveal(), apu, apv));
    SKR_TRY(cek, AesKeyWrap(kek.Reveal(), encrypted_key, /*encrypt=*/false));
  }
  if (cek.size() != kCekBytes) return DecryptFailed("CEK has the wrong length");

  // AesGcmOpen expects iv || ciphertext || tag; the AAD is the protected header as sent.
  std::vector<std::uint8_t> sealed;
  sealed.reserve(iv.size() + ciphertext.size() + tag.size());
  sealed.insert(sealed.end(), iv.begin(), iv.end());
  sealed.insert(sealed.end(), ciphertext.begin(), ciphertext.end());
  sealed.insert(sealed.end(), tag.begin(), tag.end());
  auto plaintext = AesGcmOpen(cek.Reveal(), sealed, AsBytes(parts[0]));
  if (!plaintext) {
    if (plaintext.error().code() == ErrorCode::kVerificationFailed) {
      return DecryptFailed("authentication tag mismatch (wrong key or tampered data)");
    }
    return plaintext.error();
  }
  return std::move(plaintext).value();
}

}  // namespace skr
