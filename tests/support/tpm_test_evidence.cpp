// SPDX-License-Identifier: Apache-2.0
#include "tests/support/tpm_test_evidence.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "common/encoding.h"
#include "common/ossl.h"
#include "tests/support/intel_test_pki.h"
#include "tests/support/test_certs.h"

namespace skr::test {
namespace {

void Check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("tpm_test_evidence: " + what);
}

using Bytes = std::vector<std::uint8_t>;

// TCG Algorithm Registry digest sizes.
std::size_t DigestSize(TPM2_ALG_ID hash) {
  switch (hash) {
    case TPM2_ALG_SHA1:
      return 20;
    case TPM2_ALG_SHA256:
      return 32;
    case TPM2_ALG_SHA384:
      return 48;
    case TPM2_ALG_SHA512:
      return 64;
    default:
      throw std::runtime_error("tpm_test_evidence: unsupported hash algorithm");
  }
}

const EVP_MD* Md(TPM2_ALG_ID hash) {
  switch (hash) {
    case TPM2_ALG_SHA1:
      return EVP_sha1();
    case TPM2_ALG_SHA256:
      return EVP_sha256();
    case TPM2_ALG_SHA384:
      return EVP_sha384();
    case TPM2_ALG_SHA512:
      return EVP_sha512();
    default:
      throw std::runtime_error("tpm_test_evidence: unsupported hash algorithm");
  }
}

// Runs a libtss2-mu marshaller into a buffer large enough for any structure used here.
template <typename T, typename Fn>
Bytes Marshal(const T& value, Fn fn, const char* what) {
  Bytes buf(8192);
  std::size_t offset = 0;
  Check(fn(&value, buf.data(), buf.size(), &offset) == TSS2_RC_SUCCESS,
        std::string(what) + " does not marshal");
  buf.resize(offset);
  return buf;
}

template <typename B>
void Fill2B(B& dst, std::span<const std::uint8_t> src, const char* what) {
  Check(src.size() <= sizeof(dst.buffer), std::string(what) + " is too large");
  dst.size = static_cast<UINT16>(src.size());
  if (!src.empty()) std::memcpy(dst.buffer, src.data(), src.size());
}

Bytes BnParam(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  Check(EVP_PKEY_get_bn_param(key, name, &bn) == 1, std::string("EVP_PKEY_get_bn_param ") + name);
  BignumPtr owned(bn);
  Bytes out(static_cast<std::size_t>(BN_num_bytes(bn)));
  Check(BN_bn2bin(bn, out.data()) == static_cast<int>(out.size()), "BN_bn2bin");
  return out;
}

std::string GroupName(EVP_PKEY* key) {
  char name[64] = {};
  std::size_t len = 0;
  Check(EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) ==
            1,
        "EC group name");
  return std::string(name, len);
}

// TPM_ECC_CURVE and field size of a P-256 / P-384 key.
std::pair<TPM2_ECC_CURVE, std::size_t> Curve(EVP_PKEY* key) {
  const std::string g = GroupName(key);
  if (g == "prime256v1" || g == "P-256") return {TPM2_ECC_NIST_P256, 32};
  if (g == "secp384r1" || g == "P-384") return {TPM2_ECC_NIST_P384, 48};
  throw std::runtime_error("tpm_test_evidence: unsupported curve " + g);
}

// Field size of any named curve SignQuote accepts (also non-TPM curves, for negative tests).
std::size_t EcFieldSize(EVP_PKEY* key) {
  const std::string g = GroupName(key);
  if (g == "secp256k1") return 32;
  if (g == "secp521r1" || g == "P-521") return 66;
  return Curve(key).second;
}

Bytes LeftPad(const Bytes& b, std::size_t n) {
  Check(b.size() <= n, "value longer than its field");
  Bytes out(n - b.size(), 0);
  out.insert(out.end(), b.begin(), b.end());
  return out;
}

TPMT_PUBLIC AkPublic(EVP_PKEY* ak, TPMA_OBJECT attributes) {
  Check(ak != nullptr, "no key");
  TPMT_PUBLIC p;
  std::memset(&p, 0, sizeof(p));
  p.nameAlg = TPM2_ALG_SHA256;
  p.objectAttributes = attributes;
  p.authPolicy.size = 0;
  if (EVP_PKEY_is_a(ak, "RSA") == 1) {
    // Part 2, 12.2.3.5 TPMS_RSA_PARMS: a restricted signing key names its scheme; exponent 0
    // means 2^16 + 1.
    const Bytes n = BnParam(ak, OSSL_PKEY_PARAM_RSA_N);
    const Bytes e = BnParam(ak, OSSL_PKEY_PARAM_RSA_E);
    Check(e.size() <= 4, "RSA exponent too large");
    UINT32 exponent = 0;
    for (auto b : e) exponent = (exponent << 8) | b;
    p.type = TPM2_ALG_RSA;
    p.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
    p.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
    p.parameters.rsaDetail.keyBits = static_cast<TPMI_RSA_KEY_BITS>(n.size() * 8);
    p.parameters.rsaDetail.exponent = exponent == 65537 ? 0 : exponent;
    Fill2B(p.unique.rsa, n, "RSA modulus");
    return p;
  }
  if (EVP_PKEY_is_a(ak, "EC") == 1) {
    // Part 2, 12.2.3.6 TPMS_ECC_PARMS and 11.2.5.2 TPMS_ECC_POINT (coordinates at field size).
    const auto [curve, field] = Curve(ak);
    p.type = TPM2_ALG_ECC;
    p.parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p.parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
    p.parameters.eccDetail.scheme.details.ecdsa.hashAlg =
        curve == TPM2_ECC_NIST_P256 ? TPM2_ALG_SHA256 : TPM2_ALG_SHA384;
    p.parameters.eccDetail.curveID = curve;
    p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
    Fill2B(p.unique.ecc.x, LeftPad(BnParam(ak, OSSL_PKEY_PARAM_EC_PUB_X), field), "ECC x");
    Fill2B(p.unique.ecc.y, LeftPad(BnParam(ak, OSSL_PKEY_PARAM_EC_PUB_Y), field), "ECC y");
    return p;
  }
  throw std::runtime_error("tpm_test_evidence: AK is neither RSA nor EC");
}

Bytes DigestSign(EVP_PKEY* key, const EVP_MD* md, int padding, std::span<const std::uint8_t> msg) {
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  Check(ctx != nullptr && EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key) == 1,
        "EVP_DigestSignInit (wrong key type for the scheme?)");
  if (padding != 0) {
    Check(EVP_PKEY_CTX_set_rsa_padding(pctx, padding) == 1, "set_rsa_padding");
    if (padding == RSA_PKCS1_PSS_PADDING) {
      // TPM 2.0 Part 1, B.7: current TPMs use a salt as long as the digest, MGF1 with the same
      // hash.
      Check(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
                EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1,
            "PSS parameters");
    }
  }
  std::size_t len = 0;
  Check(EVP_DigestSign(ctx.get(), nullptr, &len, msg.data(), msg.size()) == 1, "EVP_DigestSign");
  Bytes sig(len);
  Check(EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()) == 1, "EVP_DigestSign");
  sig.resize(len);
  return sig;
}

std::uint32_t Le32At(std::size_t v) { return static_cast<std::uint32_t>(v); }

void PutLe32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace

std::string TpmBankName(TPM2_ALG_ID hash) {
  switch (hash) {
    case TPM2_ALG_SHA1:
      return "sha1";
    case TPM2_ALG_SHA256:
      return "sha256";
    case TPM2_ALG_SHA384:
      return "sha384";
    case TPM2_ALG_SHA512:
      return "sha512";
    default:
      throw std::runtime_error("tpm_test_evidence: unsupported PCR bank");
  }
}

TpmPcrSelection Sha256Pcrs(unsigned first, unsigned last) {
  TpmPcrBank bank{TPM2_ALG_SHA256, {}};
  for (unsigned i = first; i <= last; ++i) bank.indexes.push_back(i);
  return {bank};
}

TpmPcrValues SyntheticPcrValues(const TpmPcrSelection& selection, std::uint8_t seed) {
  TpmPcrValues out;
  for (const auto& bank : selection) {
    const std::size_t n = DigestSize(bank.hash);
    for (unsigned index : bank.indexes) {
      Bytes v(n);
      for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + index + i);
      out[TpmBankName(bank.hash)][index] = std::move(v);
    }
  }
  return out;
}

std::vector<std::uint8_t> ComputePcrDigest(const TpmPcrSelection& selection,
                                           const TpmPcrValues& values, TPM2_ALG_ID hash) {
  // Part 3, 18.4 TPM2_Quote: the TPM hashes the selected PCRs in the order of the selection
  // list, and within a bank from the lowest index (bitmap order).
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  Check(ctx != nullptr && EVP_DigestInit_ex(ctx.get(), Md(hash), nullptr) == 1, "EVP_DigestInit");
  for (const auto& bank : selection) {
    const std::string name = TpmBankName(bank.hash);
    std::vector<unsigned> indexes = bank.indexes;
    std::sort(indexes.begin(), indexes.end());
    indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());
    auto b = values.find(name);
    for (unsigned index : indexes) {
      Check(b != values.end() && b->second.count(index) == 1,
            "no value for PCR " + name + ":" + std::to_string(index));
      const Bytes& v = b->second.at(index);
      Check(v.size() == DigestSize(bank.hash),
            "PCR " + name + ":" + std::to_string(index) + " has the wrong size");
      Check(EVP_DigestUpdate(ctx.get(), v.data(), v.size()) == 1, "EVP_DigestUpdate");
    }
  }
  Bytes out(static_cast<std::size_t>(EVP_MD_get_size(Md(hash))));
  unsigned len = 0;
  Check(EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1 && len == out.size(),
        "EVP_DigestFinal");
  return out;
}

std::vector<std::uint8_t> MarshalQuoteAttest(const QuoteSpec& spec) {
  // Part 2, 10.12.12 TPMS_ATTEST and 10.12.4 TPMS_QUOTE_INFO.
  TPMS_ATTEST a;
  std::memset(&a, 0, sizeof(a));
  a.magic = TPM2_GENERATED_VALUE;
  a.type = spec.type;
  Check(spec.qualified_signer.size() <= sizeof(a.qualifiedSigner.name),
        "qualifiedSigner is too large");
  a.qualifiedSigner.size = static_cast<UINT16>(spec.qualified_signer.size());
  if (!spec.qualified_signer.empty()) {
    std::memcpy(a.qualifiedSigner.name, spec.qualified_signer.data(), spec.qualified_signer.size());
  }
  Check(spec.extra_data.size() <= 64, "extraData is longer than 64 bytes");
  Fill2B(a.extraData, spec.extra_data, "extraData");
  a.clockInfo.clock = spec.clock;
  a.clockInfo.resetCount = spec.reset_count;
  a.clockInfo.restartCount = spec.restart_count;
  a.clockInfo.safe = spec.safe ? 1 : 0;
  a.firmwareVersion = spec.firmware_version;
  TPMS_QUOTE_INFO& q = a.attested.quote;
  Check(spec.selection.size() <= TPM2_NUM_PCR_BANKS, "too many PCR banks");
  q.pcrSelect.count = static_cast<UINT32>(spec.selection.size());
  for (std::size_t i = 0; i < spec.selection.size(); ++i) {
    const TpmPcrBank& bank = spec.selection[i];
    TPMS_PCR_SELECTION& s = q.pcrSelect.pcrSelections[i];
    s.hash = bank.hash;
    // Part 2, 10.6.2: bit (n mod 8) of pcrSelect[n / 8] selects PCR n. At least 3 octets
    // (TPM PC Client profile: 24 PCRs), as real TPMs send.
    unsigned max_index = 0;
    for (unsigned index : bank.indexes) max_index = std::max(max_index, index);
    Check(max_index < 8 * TPM2_PCR_SELECT_MAX, "PCR index too large");
    s.sizeofSelect = static_cast<UINT8>(std::max(3u, max_index / 8 + 1));
    for (unsigned index : bank.indexes)
      s.pcrSelect[index / 8] |= static_cast<BYTE>(1u << (index % 8));
  }
  const Bytes digest = spec.pcr_digest_override
                           ? *spec.pcr_digest_override
                           : ComputePcrDigest(spec.selection, spec.pcrs, spec.digest_hash);
  Fill2B(q.pcrDigest, digest, "pcrDigest");
  return Marshal(a, Tss2_MU_TPMS_ATTEST_Marshal, "TPMS_ATTEST");
}

TPM2_ALG_ID SchemeHash(TpmSigScheme scheme) {
  return scheme == TpmSigScheme::kEcdsaSha384 ? TPM2_ALG_SHA384 : TPM2_ALG_SHA256;
}

std::vector<std::uint8_t> SignQuote(std::span<const std::uint8_t> attest, EVP_PKEY* ak,
                                    TpmSigScheme scheme) {
  Check(ak != nullptr, "no AK");
  // Part 2, 11.3.4 TPMT_SIGNATURE; 11.3.1 TPMS_SIGNATURE_RSA; 11.3.2 TPMS_SIGNATURE_ECC.
  TPMT_SIGNATURE sig;
  std::memset(&sig, 0, sizeof(sig));
  const TPM2_ALG_ID hash = SchemeHash(scheme);
  const EVP_MD* md = Md(hash);
  switch (scheme) {
    case TpmSigScheme::kRsassaSha256:
    case TpmSigScheme::kRsapssSha256: {
      Check(EVP_PKEY_is_a(ak, "RSA") == 1, "RSA scheme needs an RSA AK");
      const bool pss = scheme == TpmSigScheme::kRsapssSha256;
      const Bytes s = DigestSign(ak, md, pss ? RSA_PKCS1_PSS_PADDING : RSA_PKCS1_PADDING, attest);
      sig.sigAlg = pss ? TPM2_ALG_RSAPSS : TPM2_ALG_RSASSA;
      TPMS_SIGNATURE_RSA& r = pss ? sig.signature.rsapss : sig.signature.rsassa;
      r.hash = hash;
      Fill2B(r.sig, s, "RSA signature");
      break;
    }
    case TpmSigScheme::kEcdsaSha256:
    case TpmSigScheme::kEcdsaSha384: {
      Check(EVP_PKEY_is_a(ak, "EC") == 1, "ECDSA scheme needs an EC AK");
      const std::size_t field = EcFieldSize(ak);
      const Bytes der = DigestSign(ak, md, 0, attest);
      const unsigned char* p = der.data();
      EcdsaSigPtr es(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())));
      Check(es != nullptr, "d2i_ECDSA_SIG");
      const BIGNUM* r = nullptr;
      const BIGNUM* s = nullptr;
      ECDSA_SIG_get0(es.get(), &r, &s);
      Bytes rb(field), sb(field);
      Check(BN_bn2binpad(r, rb.data(), static_cast<int>(field)) == static_cast<int>(field) &&
                BN_bn2binpad(s, sb.data(), static_cast<int>(field)) == static_cast<int>(field),
            "BN_bn2binpad");
      sig.sigAlg = TPM2_ALG_ECDSA;
      sig.signature.ecdsa.hash = hash;
      Fill2B(sig.signature.ecdsa.signatureR, rb, "ECDSA R");
      Fill2B(sig.signature.ecdsa.signatureS, sb, "ECDSA S");
      break;
    }
  }
  return Marshal(sig, Tss2_MU_TPMT_SIGNATURE_Marshal, "TPMT_SIGNATURE");
}

std::vector<std::uint8_t> BareRsaSignature(std::span<const std::uint8_t> tpmt_signature) {
  TPMT_SIGNATURE sig;
  std::memset(&sig, 0, sizeof(sig));
  std::size_t offset = 0;
  Check(Tss2_MU_TPMT_SIGNATURE_Unmarshal(tpmt_signature.data(), tpmt_signature.size(), &offset,
                                         &sig) == TSS2_RC_SUCCESS &&
            offset == tpmt_signature.size(),
        "TPMT_SIGNATURE does not unmarshal");
  Check(sig.sigAlg == TPM2_ALG_RSASSA || sig.sigAlg == TPM2_ALG_RSAPSS, "not an RSA signature");
  const TPM2B_PUBLIC_KEY_RSA& s =
      sig.sigAlg == TPM2_ALG_RSASSA ? sig.signature.rsassa.sig : sig.signature.rsapss.sig;
  return Bytes(s.buffer, s.buffer + s.size);
}

std::vector<std::uint8_t> MarshalAkPublic(EVP_PKEY* ak, TPMA_OBJECT attributes) {
  const TPMT_PUBLIC p = AkPublic(ak, attributes);
  return Marshal(p, Tss2_MU_TPMT_PUBLIC_Marshal, "TPMT_PUBLIC");
}

std::vector<std::uint8_t> MarshalAkPublic2B(EVP_PKEY* ak, TPMA_OBJECT attributes) {
  TPM2B_PUBLIC p2b;
  std::memset(&p2b, 0, sizeof(p2b));
  p2b.publicArea = AkPublic(ak, attributes);
  // size 0 lets the marshaller compute it from publicArea (Part 2, 12.2.5).
  p2b.size = 0;
  return Marshal(p2b, Tss2_MU_TPM2B_PUBLIC_Marshal, "TPM2B_PUBLIC");
}

std::vector<std::uint8_t> TpmName(std::span<const std::uint8_t> tpmt_public) {
  // Part 1, 16 "Names": Name = nameAlg || H_nameAlg(TPMT_PUBLIC); nameAlg here is SHA-256.
  Bytes name = {static_cast<std::uint8_t>(TPM2_ALG_SHA256 >> 8),
                static_cast<std::uint8_t>(TPM2_ALG_SHA256 & 0xFF)};
  const auto d = Sha256(tpmt_public);
  name.insert(name.end(), d.begin(), d.end());
  return name;
}

std::vector<std::uint8_t> TpmQualifiedName(std::span<const std::uint8_t> name,
                                           TPM2_HANDLE hierarchy) {
  // Part 1, 16: QN = nameAlg || H_nameAlg(QN of the parent || Name); a hierarchy's QN is its
  // handle.
  Check(name.size() == 34 && name[0] == 0x00 && name[1] == 0x0B,
        "TpmQualifiedName needs a SHA-256 Name");
  Bytes msg = {static_cast<std::uint8_t>(hierarchy >> 24),
               static_cast<std::uint8_t>(hierarchy >> 16),
               static_cast<std::uint8_t>(hierarchy >> 8), static_cast<std::uint8_t>(hierarchy)};
  msg.insert(msg.end(), name.begin(), name.end());
  Bytes qn = {0x00, 0x0B};
  const auto d = Sha256(msg);
  qn.insert(qn.end(), d.begin(), d.end());
  return qn;
}

std::vector<std::uint8_t> MakeAzureHclReport(std::span<const std::uint8_t> hw_report,
                                             std::string_view runtime_json,
                                             std::uint32_t report_type) {
  // Layout: attestation/azure/hcl_report.h (Azure CVM IGVM_ATTEST / HCL report), little endian.
  constexpr std::size_t kHeader = 0x20, kHw = 0x4A0, kRuntimeHeader = 20, kNvSize = 2600;
  Check(hw_report.size() <= kHw, "the hardware report must fit in 0x4A0 bytes");
  Check(!runtime_json.empty(), "empty runtime data");
  const std::size_t report_size = kHeader + kHw + kRuntimeHeader + runtime_json.size();
  Bytes out;
  out.reserve(std::max(report_size, kNvSize));
  out.insert(out.end(), {'H', 'C', 'L', 'A'});
  PutLe32(out, 2);                    // version
  PutLe32(out, Le32At(report_size));  // report_size
  PutLe32(out, 2);                    // request_type (as Azure returns)
  PutLe32(out, 0);                    // status
  out.insert(out.end(), 12, 0);       // reserved
  out.insert(out.end(), hw_report.begin(), hw_report.end());
  out.insert(out.end(), kHw - hw_report.size(), 0);
  PutLe32(out, Le32At(kRuntimeHeader + runtime_json.size()));  // data_size
  PutLe32(out, 1);                                             // version
  PutLe32(out, report_type);                                   // 2 = SNP, 4 = TDX
  PutLe32(out, 1);                                             // hash_type: SHA-256
  PutLe32(out, Le32At(runtime_json.size()));                   // variable_data_size
  out.insert(out.end(), runtime_json.begin(), runtime_json.end());
  if (out.size() < kNvSize) out.resize(kNvSize, 0);
  return out;
}

std::string AzureRuntimeJson(EVP_PKEY* rsa_ak, EVP_PKEY* rsa_ek, std::string_view vm_unique_id) {
  Check(rsa_ak != nullptr && EVP_PKEY_is_a(rsa_ak, "RSA") == 1, "HCLAkPub must be an RSA key");
  // ordered_json keeps Azure's member order (nlohmann::json would sort the keys).
  using OJson = nlohmann::ordered_json;
  auto jwk = [](EVP_PKEY* k, const char* kid, const char* op) {
    OJson j;
    j["kid"] = kid;
    j["key_ops"] = OJson::array({op});
    j["kty"] = "RSA";
    j["e"] = Base64UrlEncode(BnParam(k, OSSL_PKEY_PARAM_RSA_E));
    j["n"] = Base64UrlEncode(BnParam(k, OSSL_PKEY_PARAM_RSA_N));
    return j;
  };
  OJson rt;
  rt["keys"] = OJson::array({jwk(rsa_ak, "HCLAkPub", "sign")});
  if (rsa_ek != nullptr) {
    Check(EVP_PKEY_is_a(rsa_ek, "RSA") == 1, "HCLEkPub must be an RSA key");
    rt["keys"].push_back(jwk(rsa_ek, "HCLEkPub", "encrypt"));
  }
  OJson cfg;
  cfg["console-enabled"] = true;
  cfg["root-cert-thumbprint"] = Base64UrlEncode(Sha256(std::string_view("skr synthetic root")));
  cfg["secure-boot"] = true;
  cfg["tpm-enabled"] = true;
  cfg["tpm-persisted"] = true;
  cfg["vmUniqueId"] = std::string(vm_unique_id);
  rt["vm-configuration"] = std::move(cfg);
  rt["user-data"] = std::string(128, '0');
  return rt.dump();
}

Json AzSnpVtpmEvidence(std::span<const std::uint8_t> hcl_report, std::string_view vcek_pem,
                       std::span<const std::uint8_t> attest,
                       std::span<const std::uint8_t> signature,
                       const std::vector<std::vector<std::uint8_t>>& sha256_pcrs) {
  Json pcrs = Json::array();
  for (const auto& p : sha256_pcrs) pcrs.push_back(Base64Encode(p));
  return {{"type", "az-snp-vtpm"},
          {"report", Base64Encode(hcl_report)},
          {"vcek", std::string(vcek_pem)},
          {"quote",
           {{"message", Base64Encode(attest)},
            {"signature", Base64Encode(signature)},
            {"pcrs", pcrs}}}};
}

Json AzTdxVtpmEvidence(std::span<const std::uint8_t> hcl_report,
                       std::span<const std::uint8_t> td_quote, std::span<const std::uint8_t> attest,
                       std::span<const std::uint8_t> signature,
                       const std::vector<std::vector<std::uint8_t>>& sha256_pcrs) {
  Json e = AzSnpVtpmEvidence(hcl_report, "", attest, signature, sha256_pcrs);
  e.erase("vcek");
  e["type"] = "az-tdx-vtpm";
  e["td_quote"] = Base64Encode(td_quote);
  return e;
}

namespace {

// Appends a little-endian integer.
template <typename T>
void PutLe(std::vector<std::uint8_t>& out, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace

SecureBootEventLog MakeSecureBootEventLog(std::uint8_t secure_boot, bool corrupt_variable_digest) {
  std::vector<std::uint8_t> spec(16, 0);
  std::memcpy(spec.data(), "Spec ID Event03", 16);
  PutLe<std::uint32_t>(spec, 0);  // platformClass
  spec.insert(spec.end(), {0, 2, 0, 2});  // minor, major, errata, uintnSize
  PutLe<std::uint32_t>(spec, 1);
  PutLe<std::uint16_t>(spec, TPM2_ALG_SHA256);
  PutLe<std::uint16_t>(spec, 32);
  spec.push_back(0);  // vendorInfoSize
  SecureBootEventLog out;
  PutLe<std::uint32_t>(out.log, 0);
  PutLe<std::uint32_t>(out.log, 3u);  // EV_NO_ACTION
  out.log.insert(out.log.end(), 20, 0);
  PutLe<std::uint32_t>(out.log, static_cast<std::uint32_t>(spec.size()));
  out.log.insert(out.log.end(), spec.begin(), spec.end());
  // UEFI_VARIABLE_DATA (PFP 10.4.1) for EFI_GLOBAL_VARIABLE {8BE4DF61-93CA-11D2-AA0D-00E098032B8C}.
  std::vector<std::uint8_t> var = {0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11,
                                   0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c};
  PutLe<std::uint64_t>(var, 10);
  PutLe<std::uint64_t>(var, 1);
  for (char ch : std::string("SecureBoot")) {
    var.push_back(static_cast<std::uint8_t>(ch));
    var.push_back(0);
  }
  var.push_back(secure_boot);
  auto digest = skr::Sha256(var);
  if (corrupt_variable_digest) digest[0] ^= 1;
  PutLe<std::uint32_t>(out.log, 7);
  PutLe<std::uint32_t>(out.log, 0x80000001u);  // EV_EFI_VARIABLE_DRIVER_CONFIG
  PutLe<std::uint32_t>(out.log, 1);
  PutLe<std::uint16_t>(out.log, TPM2_ALG_SHA256);
  out.log.insert(out.log.end(), digest.begin(), digest.end());
  PutLe<std::uint32_t>(out.log, static_cast<std::uint32_t>(var.size()));
  out.log.insert(out.log.end(), var.begin(), var.end());
  out.pcr7_event_digest.assign(digest.begin(), digest.end());
  std::vector<std::uint8_t> pcr(32, 0);
  pcr.insert(pcr.end(), digest.begin(), digest.end());
  const auto extended = skr::Sha256(pcr);
  out.pcr7.assign(extended.begin(), extended.end());
  return out;
}

TpmTestAkCa::TpmTestAkCa(std::string_view seed) : key_(SeededTestP256(seed, "tpm-ak-ca")) {
  cert_ = MakeTestCert("skr test", "Test vTPM AK CA", "Test vTPM AK CA", 1, key_.get(), true);
  Check(X509_sign(cert_.get(), key_.get(), EVP_sha256()) > 0, "sign the AK CA");
}

std::string TpmTestAkCa::RootPem() const { return CertPem(cert_.get()); }

std::string TpmTestAkCa::IssueAkCert(EVP_PKEY* ak, long serial) const {
  X509Ptr cert = MakeTestCert("skr test", "Test vTPM AK", "Test vTPM AK CA", serial, ak, false);
  // keyUsage (2.5.29.15) = BIT STRING digitalSignature (RFC 5280, 4.2.1.3).
  AddRawExtension(cert.get(), "2.5.29.15", {0x03, 0x02, 0x07, 0x80});
  Check(X509_sign(cert.get(), key_.get(), EVP_sha256()) > 0, "sign an AK certificate");
  return CertPem(cert.get());
}

Json CertifiedTpmEvidence(EVP_PKEY* ak, const std::string& ak_cert_pem,
                          std::span<const std::uint8_t> extra_data, std::uint64_t clock) {
  QuoteSpec spec;
  spec.qualified_signer = TpmQualifiedName(TpmName(MarshalAkPublic(ak)), TPM2_RH_ENDORSEMENT);
  spec.extra_data.assign(extra_data.begin(), extra_data.end());
  spec.clock = clock;
  const Bytes attest = MarshalQuoteAttest(spec);
  const Bytes sig = SignQuote(attest, ak, TpmSigScheme::kEcdsaSha256);
  Json pcrs = Json::object();
  for (const auto& [i, v] : spec.pcrs.at("sha256")) pcrs["sha256"][std::to_string(i)] = HexEncode(v);
  return {{"type", "tpm"},
          {"quote", Base64Encode(attest)},
          {"signature", Base64Encode(sig)},
          {"pcrs", pcrs},
          {"ak_public", Base64Encode(MarshalAkPublic(ak))},
          {"ak_cert", ak_cert_pem}};
}

}  // namespace skr::test
