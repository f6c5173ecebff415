// SPDX-License-Identifier: Apache-2.0
#include "attestation/tpm/ak_checks.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <cstring>
#include <string>

#include "attestation/tpm/tpm_verifier.h"
#include "common/encoding.h"
#include "common/ossl.h"

namespace skr::attestation::tpm {
namespace {

Error Refused(const std::string& msg, const char* reason) {
  return Error(ErrorCode::kVerificationFailed, "tpm AK: " + msg, reason);
}

// The AK template attributes of TCG's AK profile, go-tpm-tools' AKTemplateRSA/ECC
// (FlagSignerDefault), tpm2_createak's default and skr-agent (TPM 2.0 Part 2, 8.3 TPMA_OBJECT).
constexpr TPMA_OBJECT kAkTemplateAttributes =
    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;

// Hierarchies a primary AK may live in (Part 2, 7.4 TPM_RH): their handle is their qualified name.
constexpr TPM2_HANDLE kAkHierarchies[] = {TPM2_RH_ENDORSEMENT, TPM2_RH_OWNER};

Result<BignumPtr> BnParam(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return OpenSslError(name);
  return BignumPtr(bn);
}

Result<std::vector<std::uint8_t>> BnBytes(const BIGNUM* bn, std::size_t pad_to = 0) {
  const std::size_t len = static_cast<std::size_t>(BN_num_bytes(bn));
  std::vector<std::uint8_t> out(pad_to > len ? pad_to : len);
  if (BN_bn2binpad(bn, out.data(), static_cast<int>(out.size())) != static_cast<int>(out.size())) {
    return OpenSslError("BN_bn2binpad");
  }
  return out;
}

// NIST P-256 / P-384 by OpenSSL group name; TPM2_ECC_NONE otherwise.
std::pair<TPM2_ECC_CURVE, std::size_t> AkCurve(EVP_PKEY* key) {
  char group[64] = {};
  std::size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &len) !=
      1) {
    return {TPM2_ECC_NONE, 0};  // explicit parameters: no named group
  }
  const std::string g(group, len);
  if (g == "prime256v1" || g == "P-256") return {TPM2_ECC_NIST_P256, 32};
  if (g == "secp384r1" || g == "P-384") return {TPM2_ECC_NIST_P384, 48};
  return {TPM2_ECC_NONE, 0};
}

// The public parts of a restricted signing AK holding `key`, before attributes and exponent
// variants are filled in (see CheckCertifiedAkTemplate in the header).
Result<TPMT_PUBLIC> AkTemplateFor(EVP_PKEY* key, const TPMT_SIGNATURE& sig,
                                  TPMI_ALG_HASH name_alg) {
  TPMT_PUBLIC p;
  std::memset(&p, 0, sizeof(p));
  p.nameAlg = name_alg;
  p.objectAttributes = kAkTemplateAttributes;
  const TPM2_ALG_ID hash = SignatureHash(sig);
  if (EVP_PKEY_is_a(key, "RSA") == 1) {
    if (sig.sigAlg != TPM2_ALG_RSASSA && sig.sigAlg != TPM2_ALG_RSAPSS) {
      return Refused("the quote's signature scheme does not fit an RSA AK",
                     "tpm_ak_attributes_unproven");
    }
    // Part 2, 12.2.3.5 TPMS_RSA_PARMS; 12.2.3.2 TPMU_PUBLIC_ID: unique.rsa is the modulus.
    SKR_TRY(BignumPtr n, BnParam(key, OSSL_PKEY_PARAM_RSA_N));
    SKR_TRY(std::vector<std::uint8_t> nb, BnBytes(n.get()));
    if (nb.size() > sizeof(p.unique.rsa.buffer))
      return Refused("RSA modulus too large", "tpm_ak_weak");
    p.type = TPM2_ALG_RSA;
    p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p.parameters.rsaDetail.scheme.scheme = sig.sigAlg;
    p.parameters.rsaDetail.scheme.details.anySig.hashAlg = hash;
    p.parameters.rsaDetail.keyBits = static_cast<TPMI_RSA_KEY_BITS>(nb.size() * 8);
    p.parameters.rsaDetail.exponent = 0;
    p.unique.rsa.size = static_cast<UINT16>(nb.size());
    std::memcpy(p.unique.rsa.buffer, nb.data(), nb.size());
    return p;
  }
  if (EVP_PKEY_is_a(key, "EC") == 1) {
    if (sig.sigAlg != TPM2_ALG_ECDSA) {
      return Refused("the quote's signature scheme does not fit an ECC AK",
                     "tpm_ak_attributes_unproven");
    }
    const auto [curve, field] = AkCurve(key);
    if (curve == TPM2_ECC_NONE) return Refused("the AK is not on P-256 or P-384", "tpm_ak_weak");
    // Part 2, 12.2.3.6 TPMS_ECC_PARMS; 11.2.5.2 TPMS_ECC_POINT, coordinates at the field size.
    SKR_TRY(BignumPtr x, BnParam(key, OSSL_PKEY_PARAM_EC_PUB_X));
    SKR_TRY(BignumPtr y, BnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y));
    SKR_TRY(std::vector<std::uint8_t> xb, BnBytes(x.get(), field));
    SKR_TRY(std::vector<std::uint8_t> yb, BnBytes(y.get(), field));
    if (xb.size() != field || yb.size() != field)
      return Refused("ECC point out of range", "tpm_ak_weak");
    p.type = TPM2_ALG_ECC;
    p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    p.parameters.eccDetail.scheme.details.ecdsa.hashAlg = hash;
    p.parameters.eccDetail.curveID = curve;
    p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    p.unique.ecc.x.size = static_cast<UINT16>(field);
    p.unique.ecc.y.size = static_cast<UINT16>(field);
    std::memcpy(p.unique.ecc.x.buffer, xb.data(), field);
    std::memcpy(p.unique.ecc.y.buffer, yb.data(), field);
    return p;
  }
  return Refused("the AK is neither RSA nor ECC", "tpm_ak_weak");
}

}  // namespace

Result<void> CheckRsaAkParameters(std::span<const std::uint8_t> n, std::span<const std::uint8_t> e,
                                  const char* reason) {
  if (n.size() > 2 * kMaxAkRsaBits / 8 || e.size() > 16) {
    return Refused("RSA modulus or exponent is oversized", reason);
  }
  BignumPtr bn_n(BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
  BignumPtr bn_e(BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
  if (!bn_n || !bn_e) return OpenSslError("BN_bin2bn");
  const int bits = BN_num_bits(bn_n.get());
  if (bits < kMinAkRsaBits || bits > kMaxAkRsaBits) {
    return Refused("RSA key of " + std::to_string(bits) + " bits (2048..4096 required)", reason);
  }
  // Odd with 2^16 < e < 2^32: an odd number of 17..32 bits (the smallest is 2^16 + 1 = 65537).
  const int e_bits = BN_num_bits(bn_e.get());
  if (!BN_is_odd(bn_e.get()) || e_bits < 17 || e_bits > 32) {
    return Refused("RSA exponent must be odd, > 2^16 and < 2^32", reason);
  }
  return {};
}

Result<void> CheckAkKeyStrength(EVP_PKEY* key, const char* reason) {
  if (key == nullptr) return Refused("no key", reason);
  if (EVP_PKEY_is_a(key, "RSA") == 1) {
    SKR_TRY(BignumPtr n, BnParam(key, OSSL_PKEY_PARAM_RSA_N));
    SKR_TRY(BignumPtr e, BnParam(key, OSSL_PKEY_PARAM_RSA_E));
    if (BN_num_bits(n.get()) > 2 * kMaxAkRsaBits || BN_num_bits(e.get()) > 128) {
      return Refused("RSA key is oversized", reason);
    }
    SKR_TRY(std::vector<std::uint8_t> nb, BnBytes(n.get()));
    SKR_TRY(std::vector<std::uint8_t> eb, BnBytes(e.get()));
    return CheckRsaAkParameters(nb, eb, reason);
  }
  if (EVP_PKEY_is_a(key, "EC") == 1) {
    if (AkCurve(key).first == TPM2_ECC_NONE) {
      return Refused("ECC AK is not on a named NIST P-256 or P-384 curve", reason);
    }
    return {};
  }
  return Refused("AK key type is neither RSA nor ECC (P-256/P-384)", reason);
}

Result<void> CheckAkCertificateProfile(X509* leaf) {
  if (leaf == nullptr) return Refused("no certificate", "tpm_ak_cert_ca");
  // X509_get_extension_flags decodes the extensions once (and caches them); EXFLAG_INVALID marks
  // one that does not decode.
  const std::uint32_t flags = X509_get_extension_flags(leaf);
  if ((flags & EXFLAG_INVALID) != 0) {
    return Error(ErrorCode::kMalformedEvidence, "tpm AK: certificate extensions do not decode",
                 "cert_malformed");
  }
  // RFC 5280 4.2.1.9: cA TRUE makes the subject a CA.
  if ((flags & EXFLAG_CA) != 0) {
    return Refused("the AK certificate is a CA certificate (basicConstraints cA TRUE)",
                   "tpm_ak_cert_ca");
  }
  // RFC 5280 4.2.1.3: KeyUsage. OpenSSL's KU_* constants are the first-octet bit values.
  if ((flags & EXFLAG_KUSAGE) == 0) {
    return Refused("the AK certificate has no keyUsage (digitalSignature required)",
                   "tpm_ak_cert_usage");
  }
  const std::uint32_t ku = X509_get_key_usage(leaf);
  if ((ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) != 0) {
    return Refused("the AK certificate's keyUsage allows signing certificates or CRLs",
                   "tpm_ak_cert_ca");
  }
  if ((ku & KU_DIGITAL_SIGNATURE) == 0) {
    return Refused("the AK certificate's keyUsage lacks digitalSignature", "tpm_ak_cert_usage");
  }
  if ((ku & ~static_cast<std::uint32_t>(KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) != 0) {
    return Refused(
        "the AK certificate's keyUsage allows encipherment or key agreement (an AK only signs)",
        "tpm_ak_cert_usage");
  }
  return {};
}

Result<std::vector<std::uint8_t>> QualifiedName(std::span<const std::uint8_t> parent_qn,
                                                std::span<const std::uint8_t> name) {
  if (name.size() < 2) {
    return Error(ErrorCode::kMalformedEvidence, "tpm: a Name is too short", "tpm_public_malformed");
  }
  const TPM2_ALG_ID alg = static_cast<TPM2_ALG_ID>((name[0] << 8) | name[1]);
  const EVP_MD* md = StrongHashMd(alg);
  if (md == nullptr) {
    return Error(ErrorCode::kMalformedEvidence, "tpm: unsupported nameAlg", "tpm_public_malformed");
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), parent_qn.data(), parent_qn.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), name.data(), name.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) {
    return OpenSslError("QualifiedName digest");
  }
  std::vector<std::uint8_t> qn = {name[0], name[1]};
  qn.insert(qn.end(), digest, digest + len);
  return qn;
}

Result<void> CheckCertifiedAkTemplate(const Quote& quote, const TPMT_SIGNATURE& sig,
                                      EVP_PKEY* cert_key) {
  auto unproven = [](const std::string& why) {
    const std::string msg =
        "without 'ak_public' the AK must be a primary restricted signing key "
        "of a standard template; " +
        why + " (send 'ak_public')";
    return Refused(msg, "tpm_ak_attributes_unproven");
  };
  const auto& qs = quote.qualified_signer;
  if (qs.size() < 2) return unproven("the quote has no qualifiedSigner");
  const TPM2_ALG_ID name_alg = static_cast<TPM2_ALG_ID>((qs[0] << 8) | qs[1]);
  const EVP_MD* md = StrongHashMd(name_alg);
  if (md == nullptr || qs.size() != 2 + static_cast<std::size_t>(EVP_MD_get_size(md))) {
    return unproven("qualifiedSigner has no SHA-256/384/512 nameAlg");
  }
  SKR_TRY(TPMT_PUBLIC base, AkTemplateFor(cert_key, sig, name_alg));
  // RSA exponent: 0 is the default 65537 (Part 2, 12.2.3.5); a template may also spell it out.
  std::vector<UINT32> exponents = {0};
  if (base.type == TPM2_ALG_RSA) {
    SKR_TRY(BignumPtr e, BnParam(cert_key, OSSL_PKEY_PARAM_RSA_E));
    if (BN_num_bits(e.get()) > 32) return unproven("the RSA exponent does not fit a TPMT_PUBLIC");
    const auto word = static_cast<UINT32>(BN_get_word(e.get()));
    if (word == 65537) {
      exponents.push_back(65537);
    } else {
      exponents = {word};
    }
  }
  for (TPMA_OBJECT attrs : {kAkTemplateAttributes, kAkTemplateAttributes | TPMA_OBJECT_NODA}) {
    for (UINT32 exponent : exponents) {
      TPMT_PUBLIC p = base;
      p.objectAttributes = attrs;
      if (p.type == TPM2_ALG_RSA) p.parameters.rsaDetail.exponent = exponent;
      SKR_TRY(std::vector<std::uint8_t> name, ObjectName(p));
      for (TPM2_HANDLE h : kAkHierarchies) {
        const std::uint8_t handle[4] = {
            static_cast<std::uint8_t>(h >> 24), static_cast<std::uint8_t>(h >> 16),
            static_cast<std::uint8_t>(h >> 8), static_cast<std::uint8_t>(h)};
        SKR_TRY(std::vector<std::uint8_t> qn, QualifiedName(handle, name));
        if (ConstantTimeEquals(qn, qs)) return {};
      }
    }
  }
  return unproven(
      "the quote's qualifiedSigner matches no such key holding the certified public key");
}

}  // namespace skr::attestation::tpm
