// SPDX-License-Identifier: Apache-2.0
#include "attestation/tpm/quote.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "common/ecdsa_p384.h"
#include "common/encoding.h"

namespace skr::attestation::tpm {
namespace {

Error Malformed(std::string msg, const char* reason) {
  return Error(ErrorCode::kMalformedEvidence, "tpm: " + msg, reason);
}
Error BadSignature(std::string msg) {
  return Error(ErrorCode::kVerificationFailed, "tpm: " + msg, "tpm_signature_invalid");
}

// Runs a libtss2-mu unmarshaller and requires the whole input to be consumed.
template <typename T, typename Fn>
Result<T> Unmarshal(std::span<const std::uint8_t> in, Fn fn, const char* what, const char* reason) {
  if (in.empty() || in.size() > kMaxTpmStructBytes) {
    return Malformed(std::string(what) + " is empty or larger than 4 KiB", reason);
  }
  T out;
  std::memset(&out, 0, sizeof(out));
  std::size_t offset = 0;
  const TSS2_RC rc = fn(in.data(), in.size(), &offset, &out);
  if (rc != TSS2_RC_SUCCESS) return Malformed(std::string(what) + " does not unmarshal", reason);
  if (offset != in.size()) return Malformed(std::string(what) + " has trailing bytes", reason);
  return out;
}

// A TPM2B_ECC_PARAMETER as the 48-byte big-endian value common/ecdsa_p384.h takes. TPMs pad r
// and s to the key size (Part 1, C.8), but leading zeros are not significant: strip them as
// OpenSSL's BN_bin2bn does, so both paths accept the same signatures.
bool P384Scalar(const TPM2B_ECC_PARAMETER& in, std::array<std::uint8_t, kP384ScalarBytes>& out) {
  std::size_t skip = 0;
  while (skip < in.size && in.buffer[skip] == 0) ++skip;
  const std::size_t len = in.size - skip;
  if (len > out.size()) return false;
  out.fill(0);
  std::copy(in.buffer + skip, in.buffer + in.size, out.end() - static_cast<std::ptrdiff_t>(len));
  return true;
}

// ECDSA with a P-384 AK goes through nettle (common/ecdsa_p384.h), about 2x OpenSSL 3.0.
Result<void> VerifyEcdsaP384Quote(std::span<const std::uint8_t> attest_bytes,
                                  const TPMS_SIGNATURE_ECC& e, const EVP_MD* md, EVP_PKEY* ak) {
  std::array<std::uint8_t, kP384ScalarBytes> r;
  std::array<std::uint8_t, kP384ScalarBytes> s;
  if (!P384Scalar(e.signatureR, r) || !P384Scalar(e.signatureS, s)) {
    return BadSignature("ECDSA r or s exceeds P-384");
  }
  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(attest_bytes.data(), attest_bytes.size(), digest, &digest_len, md, nullptr) != 1) {
    return OpenSslError("EVP_Digest");
  }
  if (auto ok = VerifyEcdsaP384(ak, std::span<const std::uint8_t>(digest, digest_len), r, s); !ok) {
    return BadSignature("quote signature does not verify with the AK (" + ok.error().message() +
                        ")");
  }
  return {};
}

}  // namespace

Result<Quote> Quote::Parse(std::span<const std::uint8_t> attest) {
  SKR_TRY(TPMS_ATTEST a, Unmarshal<TPMS_ATTEST>(attest, Tss2_MU_TPMS_ATTEST_Unmarshal, "TPMS_ATTEST",
                                                "tpm_attest_malformed"));
  // Part 2, 10.12.12: magic is TPM_GENERATED_VALUE for every TPM-generated attestation.
  if (a.magic != TPM2_GENERATED_VALUE) return Malformed("TPMS_ATTEST magic is not TPM_GENERATED", "tpm_attest_malformed");
  if (a.type != TPM2_ST_ATTEST_QUOTE) return Malformed("TPMS_ATTEST is not a quote", "tpm_attest_type");
  Quote q;
  q.qualified_signer.assign(a.qualifiedSigner.name, a.qualifiedSigner.name + a.qualifiedSigner.size);
  q.extra_data.assign(a.extraData.buffer, a.extraData.buffer + a.extraData.size);
  q.clock = a.clockInfo.clock;
  q.reset_count = a.clockInfo.resetCount;
  q.restart_count = a.clockInfo.restartCount;
  q.safe = a.clockInfo.safe != 0;
  q.firmware_version = a.firmwareVersion;
  const TPMS_QUOTE_INFO& info = a.attested.quote;
  for (UINT32 i = 0; i < info.pcrSelect.count; ++i) {
    const TPMS_PCR_SELECTION& s = info.pcrSelect.pcrSelections[i];
    PcrBankSelection sel;
    sel.hash = s.hash;
    sel.bank = BankName(s.hash);
    if (sel.bank.empty()) return Malformed("unknown PCR bank in the selection", "tpm_attest_malformed");
    for (const auto& prev : q.pcr_selection) {
      if (prev.hash == s.hash) return Malformed("PCR bank selected twice", "tpm_attest_malformed");
    }
    sel.indexes = tpm_wire::DecodePcrSelection(s);
    q.pcr_selection.push_back(std::move(sel));
  }
  q.pcr_digest.assign(info.pcrDigest.buffer, info.pcrDigest.buffer + info.pcrDigest.size);
  return q;
}

Result<TPMT_SIGNATURE> ParseSignature(std::span<const std::uint8_t> bytes) {
  return Unmarshal<TPMT_SIGNATURE>(bytes, Tss2_MU_TPMT_SIGNATURE_Unmarshal, "TPMT_SIGNATURE",
                                   "tpm_signature_malformed");
}

Result<TPMT_PUBLIC> ParsePublic(std::span<const std::uint8_t> bytes) {
  return Unmarshal<TPMT_PUBLIC>(bytes, Tss2_MU_TPMT_PUBLIC_Unmarshal, "TPMT_PUBLIC",
                                "tpm_public_malformed");
}

Result<TPMT_PUBLIC> ParsePublic2B(std::span<const std::uint8_t> bytes) {
  SKR_TRY(TPM2B_PUBLIC p, Unmarshal<TPM2B_PUBLIC>(bytes, Tss2_MU_TPM2B_PUBLIC_Unmarshal,
                                                  "TPM2B_PUBLIC", "tpm_public_malformed"));
  // Part 2, 12.2.5: "size=" marks a TPM2B_PUBLIC of size zero as not valid (libtss2-mu accepts it
  // and leaves publicArea zeroed, an object of type TPM_ALG_ERROR).
  if (p.size == 0) return Malformed("TPM2B_PUBLIC is empty", "tpm_public_malformed");
  return p.publicArea;
}

Result<TPMT_SIGNATURE> RsassaSignature(std::span<const std::uint8_t> sig, TPM2_ALG_ID hash) {
  TPMT_SIGNATURE out;
  std::memset(&out, 0, sizeof(out));
  if (sig.empty() || sig.size() > sizeof(out.signature.rsassa.sig.buffer)) {
    return Malformed("RSA signature is empty or too long", "tpm_signature_malformed");
  }
  out.sigAlg = TPM2_ALG_RSASSA;
  out.signature.rsassa.hash = hash;
  out.signature.rsassa.sig.size = static_cast<UINT16>(sig.size());
  std::memcpy(out.signature.rsassa.sig.buffer, sig.data(), sig.size());
  return out;
}

TPM2_ALG_ID SignatureHash(const TPMT_SIGNATURE& sig) {
  switch (sig.sigAlg) {
    case TPM2_ALG_RSASSA: return sig.signature.rsassa.hash;
    case TPM2_ALG_RSAPSS: return sig.signature.rsapss.hash;
    case TPM2_ALG_ECDSA: return sig.signature.ecdsa.hash;
    default: return TPM2_ALG_ERROR;
  }
}

Result<void> VerifyQuoteSignature(std::span<const std::uint8_t> attest_bytes,
                                  const TPMT_SIGNATURE& sig, EVP_PKEY* ak) {
  if (ak == nullptr) return BadSignature("no attestation key");
  const TPM2_ALG_ID hash = SignatureHash(sig);
  // SHA-1 signatures are not accepted (collisions); SHA-1 PCR banks are still readable.
  if (hash == TPM2_ALG_SHA1 || HashMd(hash) == nullptr) return BadSignature("unsupported signature scheme or hash");
  const EVP_MD* md = HashMd(hash);
  const bool is_rsa = EVP_PKEY_is_a(ak, "RSA") == 1;
  const bool is_ec = EVP_PKEY_is_a(ak, "EC") == 1;

  std::vector<std::uint8_t> der;  // the signature as OpenSSL verifies it
  int padding = 0;
  switch (sig.sigAlg) {
    case TPM2_ALG_RSASSA:
    case TPM2_ALG_RSAPSS: {
      if (!is_rsa) return BadSignature("RSA signature but the AK is not an RSA key");
      const TPM2B_PUBLIC_KEY_RSA& s =
          sig.sigAlg == TPM2_ALG_RSASSA ? sig.signature.rsassa.sig : sig.signature.rsapss.sig;
      der.assign(s.buffer, s.buffer + s.size);
      padding = sig.sigAlg == TPM2_ALG_RSASSA ? RSA_PKCS1_PADDING : RSA_PKCS1_PSS_PADDING;
      break;
    }
    case TPM2_ALG_ECDSA: {
      if (!is_ec) return BadSignature("ECDSA signature but the AK is not an EC key");
      const TPMS_SIGNATURE_ECC& e = sig.signature.ecdsa;
      if (IsP384Key(ak)) return VerifyEcdsaP384Quote(attest_bytes, e, md, ak);
      EcdsaSigPtr es(ECDSA_SIG_new());
      BignumPtr r(BN_bin2bn(e.signatureR.buffer, e.signatureR.size, nullptr));
      BignumPtr s(BN_bin2bn(e.signatureS.buffer, e.signatureS.size, nullptr));
      if (!es || !r || !s) return OpenSslError("ECDSA_SIG");
      if (ECDSA_SIG_set0(es.get(), r.get(), s.get()) != 1) return OpenSslError("ECDSA_SIG_set0");
      (void)r.release();
      (void)s.release();
      const int len = i2d_ECDSA_SIG(es.get(), nullptr);
      if (len <= 0) return BadSignature("ECDSA signature does not encode");
      der.resize(static_cast<std::size_t>(len));
      unsigned char* p = der.data();
      if (i2d_ECDSA_SIG(es.get(), &p) != len) return OpenSslError("i2d_ECDSA_SIG");
      break;
    }
    default:
      return BadSignature("unsupported signature algorithm");
  }

  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslError("EVP_MD_CTX_new");
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, ak) != 1) {
    return BadSignature("the AK cannot verify this signature");
  }
  if (padding != 0) {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, padding) != 1) return OpenSslError("set_rsa_padding");
    if (padding == RSA_PKCS1_PSS_PADDING) {
      // TPM 2.0 Part 1, B.7: the salt is the digest size on current TPMs, the maximum on older
      // ones; accept either (the salt length is recovered from the encoding).
      if (EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) != 1 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1) {
        return OpenSslError("PSS parameters");
      }
    }
  }
  if (EVP_DigestVerify(ctx.get(), der.data(), der.size(), attest_bytes.data(), attest_bytes.size()) != 1) {
    return BadSignature("quote signature does not verify with the AK");
  }
  return {};
}

Result<EvpPkeyPtr> RsaPublicKey(std::span<const std::uint8_t> n, std::span<const std::uint8_t> e) {
  if (n.empty() || n.size() > 1024 || e.empty() || e.size() > 8) {
    return Malformed("RSA modulus or exponent has a bad size", "tpm_public_malformed");
  }
  BignumPtr bn_n(BN_bin2bn(n.data(), static_cast<int>(n.size()), nullptr));
  BignumPtr bn_e(BN_bin2bn(e.data(), static_cast<int>(e.size()), nullptr));
  if (!bn_n || !bn_e) return OpenSslError("BN_bin2bn");
  if (BN_num_bits(bn_n.get()) < 1024 || BN_is_zero(bn_e.get()) || !BN_is_odd(bn_e.get())) {
    return Malformed("RSA key is too small or has a bad exponent", "tpm_public_malformed");
  }
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return OpenSslError("OSSL_PARAM_BLD");
  }
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return Malformed("RSA public key is not valid", "tpm_public_malformed");
  }
  return EvpPkeyPtr(pkey);
}

Result<EvpPkeyPtr> AkFromTpmtPublic(const TPMT_PUBLIC& pub) {
  if (pub.type == TPM2_ALG_RSA) {
    const TPM2B_PUBLIC_KEY_RSA& n = pub.unique.rsa;
    // Part 2, 12.2.3.5: exponent 0 means the default 2^16 + 1.
    const UINT32 exp = pub.parameters.rsaDetail.exponent == 0 ? 65537u : pub.parameters.rsaDetail.exponent;
    const std::uint8_t e[4] = {static_cast<std::uint8_t>(exp >> 24), static_cast<std::uint8_t>(exp >> 16),
                               static_cast<std::uint8_t>(exp >> 8), static_cast<std::uint8_t>(exp)};
    if (n.size == 0 || n.size * 8u != pub.parameters.rsaDetail.keyBits) {
      return Malformed("RSA modulus size does not match keyBits", "tpm_public_malformed");
    }
    return RsaPublicKey(std::span<const std::uint8_t>(n.buffer, n.size), e);
  }
  if (pub.type == TPM2_ALG_ECC) {
    const char* group = nullptr;
    std::size_t field = 0;
    switch (pub.parameters.eccDetail.curveID) {
      case TPM2_ECC_NIST_P256: group = "P-256"; field = 32; break;
      case TPM2_ECC_NIST_P384: group = "P-384"; field = 48; break;
      default: return Malformed("unsupported ECC curve", "tpm_public_malformed");
    }
    const TPMS_ECC_POINT& pt = pub.unique.ecc;
    if (pt.x.size == 0 || pt.x.size > field || pt.y.size == 0 || pt.y.size > field) {
      return Malformed("ECC point coordinates have a bad size", "tpm_public_malformed");
    }
    // SEC 1 uncompressed point, coordinates left-padded to the field size.
    std::vector<std::uint8_t> point(1 + 2 * field, 0);
    point[0] = 0x04;
    std::memcpy(point.data() + 1 + field - pt.x.size, pt.x.buffer, pt.x.size);
    std::memcpy(point.data() + 1 + 2 * field - pt.y.size, pt.y.buffer, pt.y.size);
    OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
    if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
      return OpenSslError("OSSL_PARAM_BLD");
    }
    OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    EVP_PKEY* pkey = nullptr;
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
        EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
      return Malformed("ECC point is not on the curve", "tpm_public_malformed");
    }
    EvpPkeyPtr key(pkey);
    EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
    if (!check || EVP_PKEY_public_check(check.get()) != 1) {
      return Malformed("ECC point is not on the curve", "tpm_public_malformed");
    }
    return key;
  }
  return Malformed("AK is neither RSA nor ECC", "tpm_public_malformed");
}

Result<void> VerifyPcrDigest(const Quote& quote, const PcrValues& pcrs, TPM2_ALG_ID digest_alg) {
  const EVP_MD* md = HashMd(digest_alg);
  if (md == nullptr) {
    return Error(ErrorCode::kVerificationFailed, "tpm: unsupported pcrDigest hash", "tpm_pcr_mismatch");
  }
  // Every supplied PCR must be selected (a value the quote does not cover must not be claimed).
  for (const auto& [bank, values] : pcrs) {
    const PcrBankSelection* sel = nullptr;
    for (const auto& s : quote.pcr_selection) {
      if (s.bank == bank) sel = &s;
    }
    for (const auto& [index, value] : values) {
      const bool selected = sel != nullptr && std::find(sel->indexes.begin(), sel->indexes.end(), index) != sel->indexes.end();
      if (!selected) {
        return Error(ErrorCode::kVerificationFailed,
                     "tpm: PCR " + bank + ":" + std::to_string(index) + " is not in the quote's selection",
                     "tpm_pcr_mismatch");
      }
    }
  }
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) return OpenSslError("EVP_DigestInit");
  for (const auto& sel : quote.pcr_selection) {
    auto bank = pcrs.find(sel.bank);
    for (unsigned index : sel.indexes) {
      if (bank == pcrs.end() || bank->second.find(index) == bank->second.end()) {
        return Error(ErrorCode::kVerificationFailed,
                     "tpm: selected PCR " + sel.bank + ":" + std::to_string(index) + " was not supplied",
                     "tpm_pcr_missing");
      }
      const auto& value = bank->second.at(index);
      if (value.size() != DigestSize(sel.hash)) {
        return Error(ErrorCode::kVerificationFailed,
                     "tpm: PCR " + sel.bank + ":" + std::to_string(index) + " has the wrong size",
                     "tpm_pcr_mismatch");
      }
      if (EVP_DigestUpdate(ctx.get(), value.data(), value.size()) != 1) return OpenSslError("EVP_DigestUpdate");
    }
  }
  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) return OpenSslError("EVP_DigestFinal");
  if (!ConstantTimeEquals(std::span<const std::uint8_t>(digest, len), quote.pcr_digest)) {
    return Error(ErrorCode::kVerificationFailed, "tpm: PCR values do not match the quote's pcrDigest",
                 "tpm_pcr_mismatch");
  }
  return {};
}

void AddQuoteClaims(Claims& claims, const Quote& quote, const PcrValues& pcrs) {
  for (const auto& sel : quote.pcr_selection) {
    auto bank = pcrs.find(sel.bank);
    if (bank == pcrs.end()) continue;
    for (unsigned index : sel.indexes) {
      auto v = bank->second.find(index);
      if (v != bank->second.end()) claims["tpm.pcr." + sel.bank + "." + std::to_string(index)] = HexEncode(v->second);
    }
  }
  claims["tpm.firmware_version"] = quote.firmware_version;
  claims["tpm.clock.safe"] = quote.safe;
  claims["tpm.clock.reset_count"] = quote.reset_count;
  claims["tpm.clock.restart_count"] = quote.restart_count;
  claims["tpm.extra_data"] = HexEncode(quote.extra_data);
  claims["tpm.qualified_signer"] = HexEncode(quote.qualified_signer);
}

Result<void> AddAkClaims(Claims& claims, EVP_PKEY* ak) {
  if (ak == nullptr) return Error(ErrorCode::kInternal, "tpm: no AK");
  const int len = i2d_PUBKEY(ak, nullptr);
  if (len <= 0) return OpenSslError("i2d_PUBKEY");
  std::vector<std::uint8_t> spki(static_cast<std::size_t>(len));
  unsigned char* p = spki.data();
  if (i2d_PUBKEY(ak, &p) != len) return OpenSslError("i2d_PUBKEY");
  claims["tpm.ak.type"] = EVP_PKEY_is_a(ak, "RSA") == 1 ? "rsa" : "ecc";
  claims["tpm.ak.bits"] = EVP_PKEY_get_bits(ak);
  claims["tpm.ak.sha256"] = HexEncode(Sha256(spki));
  return {};
}

}  // namespace skr::attestation::tpm
