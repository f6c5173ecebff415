// SPDX-License-Identifier: Apache-2.0
// JWS compact serialization (RFC 7515) with ES256 / ES384 (RFC 7518 section 3.4).
#include <openssl/ec.h>
#include <openssl/err.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "common/jose.h"

namespace skr {
namespace {

constexpr std::size_t kMaxCompactBytes = 64u << 10;
constexpr std::size_t kMaxHeaderBytes = 4u << 10;

struct EsAlg {
  std::string_view alg;
  std::string_view crv;
  std::size_t coordinate_bytes;  // RFC 7518 section 3.4: R and S are each this long
  const EVP_MD* (*md)();
};
constexpr EsAlg kEsAlgs[] = {
    {"ES256", "P-256", 32, &EVP_sha256},
    {"ES384", "P-384", 48, &EVP_sha384},
};

const EsAlg* FindAlg(std::string_view alg) {
  for (const auto& a : kEsAlgs) {
    if (a.alg == alg) return &a;
  }
  return nullptr;
}

Error Malformed(std::string message) {
  return Error(ErrorCode::kMalformedEvidence, "JWS: " + std::move(message), "malformed_jws");
}

Error Rejected(std::string message) {
  return Error(ErrorCode::kVerificationFailed, "JWS: " + std::move(message), "signature_invalid");
}

// The curve name of an EC key ("" for other key types).
std::string CurveName(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "EC") != 1) return {};
  auto jwk = PublicJwkFromKey(key, "");
  if (!jwk) return {};
  return jwk->at("crv").get<std::string>();
}

// DER ECDSA-Sig-Value (RFC 3279 section 2.2.3) -> R || S, each left-padded (RFC 7518 3.4).
Result<std::vector<std::uint8_t>> DerToRaw(std::span<const std::uint8_t> der, std::size_t n) {
  const unsigned char* p = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
  if (!sig) return OpenSslError("d2i_ECDSA_SIG");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::vector<std::uint8_t> out(2 * n);
  if (BN_bn2binpad(r, out.data(), static_cast<int>(n)) != static_cast<int>(n) ||
      BN_bn2binpad(s, out.data() + n, static_cast<int>(n)) != static_cast<int>(n)) {
    return OpenSslError("BN_bn2binpad");
  }
  return out;
}

// R || S -> DER, for EVP_DigestVerify.
Result<std::vector<std::uint8_t>> RawToDer(std::span<const std::uint8_t> raw) {
  const std::size_t n = raw.size() / 2;
  BignumPtr r(BN_bin2bn(raw.data(), static_cast<int>(n), nullptr));
  BignumPtr s(BN_bin2bn(raw.data() + n, static_cast<int>(n), nullptr));
  if (!r || !s) return OpenSslError("BN_bin2bn");
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!sig) return OpenSslError("ECDSA_SIG_new");
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return OpenSslError("ECDSA_SIG_set0");
  // ECDSA_SIG_set0 took ownership of r and s.
  (void)r.release();
  (void)s.release();
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return OpenSslError("i2d_ECDSA_SIG");
  std::vector<std::uint8_t> der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return OpenSslError("i2d_ECDSA_SIG");
  return der;
}

}  // namespace

Result<std::string> JwsSign(EVP_PKEY* private_key, std::string_view alg, std::string_view payload) {
  if (private_key == nullptr) return Error(ErrorCode::kInvalidArgument, "JWS: no key");
  const EsAlg* es = FindAlg(alg);
  if (es == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "JWS: unsupported alg " + std::string(alg));
  }
  if (CurveName(private_key) != es->crv) {
    return Error(ErrorCode::kInvalidArgument,
                 "JWS: " + std::string(alg) + " needs a " + std::string(es->crv) + " key");
  }
  if (payload.size() > kMaxCompactBytes) {
    return Error(ErrorCode::kInvalidArgument, "JWS: payload too large");
  }
  Json header = Json::object();
  header["alg"] = std::string(alg);
  // RFC 7515 section 5.1: signing input = ASCII(BASE64URL(header) || '.' || BASE64URL(payload)).
  std::string out = Base64UrlEncode(AsBytes(DumpJson(header)));
  out += '.';
  out += Base64UrlEncode(AsBytes(payload));

  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslError("EVP_MD_CTX_new");
  if (EVP_DigestSignInit_ex(ctx.get(), nullptr, EVP_MD_get0_name(es->md()), nullptr, nullptr,
                            private_key, nullptr) != 1) {
    return OpenSslError("EVP_DigestSignInit_ex");
  }
  std::size_t der_len = 0;
  const std::uint8_t* input = AsBytes(out).data();
  if (EVP_DigestSign(ctx.get(), nullptr, &der_len, input, out.size()) != 1) {
    return OpenSslError("EVP_DigestSign(size)");
  }
  std::vector<std::uint8_t> der(der_len);
  if (EVP_DigestSign(ctx.get(), der.data(), &der_len, input, out.size()) != 1) {
    return OpenSslError("EVP_DigestSign");
  }
  der.resize(der_len);
  SKR_TRY(std::vector<std::uint8_t> raw, DerToRaw(der, es->coordinate_bytes));
  out += '.';
  out += Base64UrlEncode(raw);
  return out;
}

Result<JwsVerified> JwsVerify(std::string_view compact, EVP_PKEY* public_key) {
  if (public_key == nullptr) return Error(ErrorCode::kInvalidArgument, "JWS: no key");
  if (compact.size() > kMaxCompactBytes) return Malformed("too large");
  // RFC 7515 section 7.1: exactly three parts.
  const std::size_t dot1 = compact.find('.');
  if (dot1 == std::string_view::npos) return Malformed("compact form must have three parts");
  const std::size_t dot2 = compact.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || compact.find('.', dot2 + 1) != std::string_view::npos) {
    return Malformed("compact form must have three parts");
  }
  const std::string_view header_b64 = compact.substr(0, dot1);
  const std::string_view payload_b64 = compact.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = compact.substr(dot2 + 1);
  if (header_b64.empty() || header_b64.size() > kMaxHeaderBytes) {
    return Malformed("protected header is empty or too large");
  }

  auto header_bytes = Base64UrlDecode(header_b64);
  if (!header_bytes) return Malformed("protected header is not valid base64url");
  auto header =
      ParseJson(std::string(header_bytes->begin(), header_bytes->end()), kMaxHeaderBytes, 8);
  if (!header || !header->is_object()) return Malformed("protected header is not a JSON object");
  auto payload = Base64UrlDecode(payload_b64);
  if (!payload) return Malformed("payload is not valid base64url");
  auto signature = Base64UrlDecode(signature_b64);
  if (!signature) return Malformed("signature is not valid base64url");

  // RFC 7515 section 4.1.11: no extensions are understood, so "crit" cannot be honoured;
  // RFC 7797 "b64" changes what is signed and is refused for the same reason.
  if (header->contains("crit")) return Malformed("unsupported critical header parameters");
  if (header->contains("b64")) return Malformed("unencoded payloads (b64) are not supported");
  auto alg_it = header->find("alg");
  if (alg_it == header->end() || !alg_it->is_string()) return Malformed("header 'alg' is missing");
  const std::string alg = alg_it->get<std::string>();
  // The allow-list is all there is: "none", HS* (key confusion with a public key), RS*, ... fail.
  const EsAlg* es = FindAlg(alg);
  if (es == nullptr) return Rejected("alg \"" + alg + "\" is not allowed (ES256 or ES384)");
  const std::string key_crv = CurveName(public_key);
  if (key_crv != es->crv) {
    return Rejected("alg " + alg + " does not fit the verification key" +
                    (key_crv.empty() ? std::string() : " (" + key_crv + ")"));
  }
  if (signature->size() != 2 * es->coordinate_bytes) {
    return Rejected("signature must be " + std::to_string(2 * es->coordinate_bytes) +
                    " bytes for " + alg);
  }

  SKR_TRY(std::vector<std::uint8_t> der, RawToDer(*signature));
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslError("EVP_MD_CTX_new");
  if (EVP_DigestVerifyInit_ex(ctx.get(), nullptr, EVP_MD_get0_name(es->md()), nullptr, nullptr,
                              public_key, nullptr) != 1) {
    return OpenSslError("EVP_DigestVerifyInit_ex");
  }
  // The signing input is the exact received text, never a re-serialization.
  const std::string_view signing_input = compact.substr(0, dot2);
  const std::uint8_t* input = AsBytes(signing_input).data();
  if (EVP_DigestVerify(ctx.get(), der.data(), der.size(), input, signing_input.size()) != 1) {
    ERR_clear_error();
    return Rejected("signature verification failed");
  }
  JwsVerified out;
  out.header = std::move(header).value();
  out.payload.assign(payload->begin(), payload->end());
  return out;
}

}  // namespace skr
