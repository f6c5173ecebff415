// SPDX-License-Identifier: Apache-2.0
// JWK import/export (RFC 7517, RFC 7518 section 6) and RFC 7638 thumbprints.
#include <openssl/core_names.h>
#include <openssl/err.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "common/jose.h"

namespace skr {
namespace {

constexpr std::string_view kAlgRsaOaep256 = "RSA-OAEP-256";
constexpr std::string_view kAlgEcdhEsA256Kw = "ECDH-ES+A256KW";
constexpr int kMinRsaBits = 3072;
// An upper bound keeps a hostile modulus from making every release slow.
constexpr int kMaxRsaBits = 16384;
// At most 64 bits: OpenSSL refuses larger public exponents for moduli above 3072 bits
// (RSA_MAX_PUBEXP_BITS), so a key with one would parse and then fail its JWE at release time
// (found by the skr_fuzz_jwk target). SP 800-56B rev2 section 6.2.1 allows up to 2^256, but
// 65537 is what every implementation uses.
constexpr std::size_t kMaxRsaExponentBytes = 8;

Error Bad(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "tee-pubkey: " + std::move(message),
               "invalid_tee_pubkey");
}

struct Curve {
  std::string_view jwk_name;  // RFC 7518 section 6.2.1.1
  const char* ossl_group;     // OSSL_PKEY_PARAM_GROUP_NAME
  std::size_t field_bytes;    // RFC 7518 sections 6.2.1.2/6.2.1.3: x and y are this long
};
constexpr Curve kCurves[] = {
    {"P-256", "prime256v1", 32},
    {"P-384", "secp384r1", 48},
    {"P-521", "secp521r1", 66},
};

const Curve* CurveByJwkName(std::string_view name) {
  for (const auto& c : kCurves) {
    if (c.jwk_name == name) return &c;
  }
  return nullptr;
}

const Curve* CurveByGroup(std::string_view group) {
  for (const auto& c : kCurves) {
    if (group == c.ossl_group) return &c;
  }
  // Aliases that OpenSSL providers may report for the same groups.
  if (group == "P-256" || group == "secp256r1") return &kCurves[0];
  if (group == "P-384") return &kCurves[1];
  if (group == "P-521") return &kCurves[2];
  return nullptr;
}

Result<const Curve*> CurveOfKey(EVP_PKEY* key) {
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len) !=
      1) {
    return OpenSslError("EVP_PKEY_get_utf8_string_param(group)", ErrorCode::kInvalidArgument);
  }
  const Curve* c = CurveByGroup(std::string_view(group, len));
  if (c == nullptr) {
    return Error(ErrorCode::kInvalidArgument,
                 "unsupported EC group " + std::string(group, len) + " (P-256/384/521 only)");
  }
  return c;
}

// A BIGNUM parameter of `key`, big-endian. pad == 0: minimal length (RFC 7518 section 6.3.1.1,
// no leading zero octets); pad > 0: left-padded to exactly `pad` bytes (section 6.2.1.2).
Result<std::vector<std::uint8_t>> BnParam(EVP_PKEY* key, const char* name, std::size_t pad) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) {
    return OpenSslError(std::string("EVP_PKEY_get_bn_param(") + name + ")");
  }
  BignumPtr bn(raw);
  const int nbytes = BN_num_bytes(bn.get());
  if (nbytes < 0) return Error(ErrorCode::kInternal, "BN_num_bytes failed");
  std::size_t size = pad != 0 ? pad : static_cast<std::size_t>(nbytes);
  if (size == 0) size = 1;  // the value zero still takes one octet
  if (static_cast<std::size_t>(nbytes) > size) {
    return Error(ErrorCode::kInternal, std::string("key parameter too long: ") + name);
  }
  std::vector<std::uint8_t> out(size);
  if (BN_bn2binpad(bn.get(), out.data(), static_cast<int>(size)) != static_cast<int>(size)) {
    return OpenSslError("BN_bn2binpad");
  }
  return out;
}

Result<std::string> BnParamB64(EVP_PKEY* key, const char* name, std::size_t pad) {
  SKR_TRY(std::vector<std::uint8_t> bytes, BnParam(key, name, pad));
  std::string out = Base64UrlEncode(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());  // may be a private parameter
  return out;
}

bool AlgFitsRsa(std::string_view alg) {
  return alg == kAlgRsaOaep256 || alg == "RS256" || alg == "RS384" || alg == "RS512" ||
         alg == "PS256" || alg == "PS384" || alg == "PS512";
}

bool AlgFitsCurve(std::string_view alg, const Curve& c) {
  if (alg == kAlgEcdhEsA256Kw) return true;
  if (alg == "ES256") return c.jwk_name == "P-256";
  if (alg == "ES384") return c.jwk_name == "P-384";
  if (alg == "ES512") return c.jwk_name == "P-521";
  return false;
}

Result<Json> JwkFromKey(EVP_PKEY* key, std::string_view alg, bool with_private) {
  if (key == nullptr) return Error(ErrorCode::kInvalidArgument, "JWK: no key");
  Json jwk = Json::object();
  if (EVP_PKEY_is_a(key, "RSA") == 1) {
    if (!alg.empty() && !AlgFitsRsa(alg)) {
      return Error(ErrorCode::kInvalidArgument,
                   "JWK: alg " + std::string(alg) + " does not fit an RSA key");
    }
    jwk["kty"] = "RSA";
    SKR_TRY(jwk["n"], BnParamB64(key, OSSL_PKEY_PARAM_RSA_N, 0));
    SKR_TRY(jwk["e"], BnParamB64(key, OSSL_PKEY_PARAM_RSA_E, 0));
    if (with_private) {
      // RFC 7518 section 6.3.2: d, p, q, dp, dq, qi.
      SKR_TRY(jwk["d"], BnParamB64(key, OSSL_PKEY_PARAM_RSA_D, 0));
      SKR_TRY(jwk["p"], BnParamB64(key, OSSL_PKEY_PARAM_RSA_FACTOR1, 0));
      SKR_TRY(jwk["q"], BnParamB64(key, OSSL_PKEY_PARAM_RSA_FACTOR2, 0));
      SKR_TRY(jwk["dp"], BnParamB64(key, OSSL_PKEY_PARAM_RSA_EXPONENT1, 0));
      SKR_TRY(jwk["dq"], BnParamB64(key, OSSL_PKEY_PARAM_RSA_EXPONENT2, 0));
      SKR_TRY(jwk["qi"], BnParamB64(key, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0));
    }
  } else if (EVP_PKEY_is_a(key, "EC") == 1) {
    SKR_TRY(const Curve* curve, CurveOfKey(key));
    if (!alg.empty() && !AlgFitsCurve(alg, *curve)) {
      return Error(
          ErrorCode::kInvalidArgument,
          "JWK: alg " + std::string(alg) + " does not fit curve " + std::string(curve->jwk_name));
    }
    jwk["kty"] = "EC";
    jwk["crv"] = std::string(curve->jwk_name);
    SKR_TRY(jwk["x"], BnParamB64(key, OSSL_PKEY_PARAM_EC_PUB_X, curve->field_bytes));
    SKR_TRY(jwk["y"], BnParamB64(key, OSSL_PKEY_PARAM_EC_PUB_Y, curve->field_bytes));
    if (with_private) {
      // RFC 7518 section 6.2.2.1: d is ceil(log256(n)) octets, the field size for these curves.
      SKR_TRY(jwk["d"], BnParamB64(key, OSSL_PKEY_PARAM_PRIV_KEY, curve->field_bytes));
    }
  } else {
    return Error(ErrorCode::kInvalidArgument, "JWK: only RSA and EC keys are supported");
  }
  if (!alg.empty()) jwk["alg"] = std::string(alg);
  return jwk;
}

Result<std::vector<std::uint8_t>> DecodeMember(const Json& jwk, const char* name) {
  auto it = jwk.find(name);
  if (it == jwk.end()) return Bad(std::string("member '") + name + "' is missing");
  if (!it->is_string()) return Bad(std::string("member '") + name + "' must be a string");
  auto bytes = Base64UrlDecode(it->get_ref<const std::string&>());
  if (!bytes) return Bad(std::string("member '") + name + "' is not valid base64url");
  return std::move(bytes).value();
}

// EVP_PKEY_fromdata with a public-key selection (PERFORMANCE.md: never d2i_PUBKEY).
Result<EvpPkeyPtr> FromData(const char* type, OSSL_PARAM_BLD* bld) {
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) return OpenSslError("OSSL_PARAM_BLD_to_param");
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx) return OpenSslError("EVP_PKEY_CTX_new_from_name");
  if (EVP_PKEY_fromdata_init(ctx.get()) != 1) return OpenSslError("EVP_PKEY_fromdata_init");
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return OpenSslError("EVP_PKEY_fromdata", ErrorCode::kInvalidArgument);
  }
  return EvpPkeyPtr(raw);
}

Result<EvpPkeyPtr> ImportRsa(const Json& jwk) {
  SKR_TRY(std::vector<std::uint8_t> n, DecodeMember(jwk, "n"));
  SKR_TRY(std::vector<std::uint8_t> e, DecodeMember(jwk, "e"));
  // RFC 7518 sections 6.3.1.1/6.3.1.2: minimal big-endian encodings, no leading zero octets.
  if (n.empty() || n[0] == 0) return Bad("RSA modulus 'n' is empty or has a leading zero octet");
  if (e.empty() || e[0] == 0) return Bad("RSA exponent 'e' is empty or has a leading zero octet");
  if (e.size() > kMaxRsaExponentBytes) return Bad("RSA exponent 'e' is too large");
  BignumPtr bn_n(BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
  BignumPtr bn_e(BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
  if (!bn_n || !bn_e) return OpenSslError("BN_bin2bn");
  const int bits = BN_num_bits(bn_n.get());
  if (bits < kMinRsaBits) {
    return Bad("RSA modulus is " + std::to_string(bits) + " bits, at least " +
               std::to_string(kMinRsaBits) + " required");
  }
  if (bits > kMaxRsaBits) {
    return Bad("RSA modulus is " + std::to_string(bits) + " bits, at most " +
               std::to_string(kMaxRsaBits) + " allowed");
  }
  if (BN_is_odd(bn_n.get()) != 1) return Bad("RSA modulus is even");
  if (BN_is_odd(bn_e.get()) != 1 || BN_is_one(bn_e.get()) == 1) {
    return Bad("RSA exponent must be odd and greater than 1");
  }
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) return OpenSslError("OSSL_PARAM_BLD_new");
  if (OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return OpenSslError("OSSL_PARAM_BLD_push_BN");
  }
  auto key = FromData("RSA", bld.get());
  if (!key) return Bad("RSA key rejected by OpenSSL (" + key.error().message() + ")");
  return key;
}

Result<EvpPkeyPtr> ImportEc(const Json& jwk, const Curve& curve) {
  SKR_TRY(std::vector<std::uint8_t> x, DecodeMember(jwk, "x"));
  SKR_TRY(std::vector<std::uint8_t> y, DecodeMember(jwk, "y"));
  const std::string crv(curve.jwk_name);
  if (x.size() != curve.field_bytes || y.size() != curve.field_bytes) {
    return Bad("EC coordinates for " + crv + " must be " + std::to_string(curve.field_bytes) +
               " bytes each (got x " + std::to_string(x.size()) + ", y " +
               std::to_string(y.size()) + ")");
  }
  // SEC 1 section 2.3.3: uncompressed point 04 || X || Y.
  std::vector<std::uint8_t> point;
  point.reserve(1 + x.size() + y.size());
  point.push_back(0x04);
  point.insert(point.end(), x.begin(), x.end());
  point.insert(point.end(), y.begin(), y.end());
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld) return OpenSslError("OSSL_PARAM_BLD_new");
  if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve.ossl_group, 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return OpenSslError("OSSL_PARAM_BLD_push");
  }
  auto key = FromData("EC", bld.get());
  if (!key) {
    ERR_clear_error();
    return Bad("EC point is not on curve " + crv);
  }
  // SP 800-56A rev3 section 5.6.2.3.3 full public-key validation: in range, on the curve, not
  // the point at infinity, correct order.
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key->get(), nullptr));
  if (!check) return OpenSslError("EVP_PKEY_CTX_new_from_pkey");
  if (EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return Bad("EC point is not a valid public key on curve " + crv);
  }
  return key;
}

}  // namespace

Result<PublicJwk> ParsePublicJwk(const Json& jwk) {
  if (!jwk.is_object()) return Bad("must be a JSON object");
  static const std::set<std::string, std::less<>> kPrivate = {"d",  "p",  "q",   "dp",
                                                              "dq", "qi", "oth", "k"};
  static const std::set<std::string, std::less<>> kRsaMembers = {"kty", "alg", "n", "e"};
  static const std::set<std::string, std::less<>> kEcMembers = {"kty", "alg", "crv", "x", "y"};
  static const std::set<std::string, std::less<>> kOptional = {"kid", "use", "key_ops"};

  // kty decides everything else (RFC 7517 section 4.1).
  auto kty_it = jwk.find("kty");
  if (kty_it == jwk.end() || !kty_it->is_string()) return Bad("member 'kty' must be a string");
  const std::string kty = kty_it->get<std::string>();
  if (kty == "oct") return Bad("symmetric keys (kty \"oct\") are not accepted");
  if (kty != "RSA" && kty != "EC") return Bad("unsupported kty (RSA or EC)");

  for (auto it = jwk.begin(); it != jwk.end(); ++it) {
    const std::string& name = it.key();
    if (kPrivate.count(name) != 0) {
      return Bad("private key member '" + name + "' must not be sent");
    }
    const auto& required = kty == "RSA" ? kRsaMembers : kEcMembers;
    if (required.count(name) == 0 && kOptional.count(name) == 0) {
      // Client text is not echoed: it would flow into problem details and audit records.
      return Bad("unknown member in JWK");
    }
  }

  auto alg_it = jwk.find("alg");
  if (alg_it == jwk.end() || !alg_it->is_string()) return Bad("member 'alg' must be a string");
  const std::string alg = alg_it->get<std::string>();
  if (alg == "RSA1_5") {
    return Bad("alg RSA1_5 is not allowed (RSAES-PKCS1-v1_5 is insecure); use RSA-OAEP-256");
  }
  if (kty == "RSA" && alg != kAlgRsaOaep256) {
    return Bad("alg \"" + alg + "\" is not allowed for kty RSA (RSA-OAEP-256 only)");
  }
  if (kty == "EC" && alg != kAlgEcdhEsA256Kw) {
    return Bad("alg \"" + alg + "\" is not allowed for kty EC (ECDH-ES+A256KW only)");
  }

  if (auto it = jwk.find("kid"); it != jwk.end() && !it->is_string()) {
    return Bad("member 'kid' must be a string");
  }
  if (auto it = jwk.find("use"); it != jwk.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>() != "enc") {
      return Bad("member 'use' must be \"enc\"");
    }
  }
  if (auto it = jwk.find("key_ops"); it != jwk.end()) {
    // RFC 7517 section 4.3: an array of unique strings.
    if (!it->is_array()) return Bad("member 'key_ops' must be an array of strings");
    std::set<std::string> seen;
    for (const auto& op : *it) {
      if (!op.is_string()) return Bad("member 'key_ops' must be an array of strings");
      if (!seen.insert(op.get<std::string>()).second) {
        return Bad("member 'key_ops' has duplicate values");
      }
    }
  }

  PublicJwk out;
  out.kty = kty;
  out.alg = alg;
  out.members = Json::object();
  out.members["kty"] = kty;
  out.members["alg"] = alg;
  if (kty == "RSA") {
    SKR_TRY(out.key, ImportRsa(jwk));
    out.members["n"] = jwk.at("n");
    out.members["e"] = jwk.at("e");
  } else {
    auto crv_it = jwk.find("crv");
    if (crv_it == jwk.end() || !crv_it->is_string()) return Bad("member 'crv' must be a string");
    const std::string crv = crv_it->get<std::string>();
    const Curve* curve = CurveByJwkName(crv);
    if (curve == nullptr) return Bad("unsupported crv \"" + crv + "\" (P-256, P-384 or P-521)");
    SKR_TRY(out.key, ImportEc(jwk, *curve));
    out.crv = crv;
    out.members["crv"] = crv;
    out.members["x"] = jwk.at("x");
    out.members["y"] = jwk.at("y");
  }
  return out;
}

Result<Json> PublicJwkFromKey(EVP_PKEY* key, std::string_view alg) {
  return JwkFromKey(key, alg, /*with_private=*/false);
}

Result<Json> PrivateJwkFromKey(EVP_PKEY* key, std::string_view alg) {
  return JwkFromKey(key, alg, /*with_private=*/true);
}

// RFC 7638 section 3.2: only the required members, names in lexicographic order, no whitespace
// (the JCS output is exactly that for these ASCII names), SHA-256, base64url.
Result<std::string> JwkThumbprint(const Json& jwk) {
  if (!jwk.is_object()) return Error(ErrorCode::kInvalidArgument, "JWK must be a JSON object");
  auto kty_it = jwk.find("kty");
  if (kty_it == jwk.end() || !kty_it->is_string()) {
    return Error(ErrorCode::kInvalidArgument, "JWK member 'kty' must be a string");
  }
  const std::string kty = kty_it->get<std::string>();
  std::vector<const char*> names;
  if (kty == "RSA") {
    names = {"e", "kty", "n"};  // RFC 7638 section 3.2.1
  } else if (kty == "EC") {
    names = {"crv", "kty", "x", "y"};  // RFC 7638 section 3.2.1
  } else {
    return Error(ErrorCode::kInvalidArgument, "JWK thumbprint: unsupported kty \"" + kty + "\"");
  }
  Json required = Json::object();
  for (const char* name : names) {
    auto it = jwk.find(name);
    if (it == jwk.end() || !it->is_string()) {
      return Error(ErrorCode::kInvalidArgument,
                   std::string("JWK thumbprint: member '") + name + "' must be a string");
    }
    required[name] = *it;
  }
  SKR_TRY(std::string canonical, CanonicalizeJson(required));
  return Base64UrlEncode(Sha256(canonical));
}

}  // namespace skr
