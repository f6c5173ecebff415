// SPDX-License-Identifier: Apache-2.0
#include "client/tpm_attester.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/encoding.h"
#include "common/ossl.h"
#include "tpm/wire.h"

namespace skr::client {
namespace {

// TCG EK Credential Profile 2.0, 2.2.1.4: RSA 2048 and ECC NIST P-256 EK certificates.
constexpr TPM2_HANDLE kRsaEkCertNvIndex = 0x01c00002;
constexpr TPM2_HANDLE kEccEkCertNvIndex = 0x01c0000a;
constexpr int kMaxQuoteAttempts = 3;

Error TpmError(const std::string& what, TSS2_RC rc, ErrorCode code = ErrorCode::kUnavailable,
               const char* reason = "tpm_unavailable") {
  return Error(code, "TPM: " + what + ": " + Tss2_RC_Decode(rc), reason);
}

// The algorithm table, PCR bitmaps and TPMT_PUBLIC marshalling are the verifier's too (tpm/wire.h).
using tpm_wire::BankAlg;
using tpm_wire::kMaxPcrIndex;

// Frees ESAPI-allocated output.
template <typename T>
struct EsysFree {
  void operator()(T* p) const { Esys_Free(p); }
};
template <typename T>
using EsysPtr = std::unique_ptr<T, EsysFree<T>>;

// TCG EK Credential Profile 2.0, B.3.3 template L-1: the RSA 2048 EK. authPolicy is PolicyA =
// TPM2_PolicySecret(TPM_RH_ENDORSEMENT) (B.3.2).
TPM2B_PUBLIC EkTemplate(TpmEkType type) {
  static constexpr std::uint8_t kPolicyA[32] = {
      0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
      0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa};
  TPM2B_PUBLIC t;
  std::memset(&t, 0, sizeof(t));
  t.publicArea.type = TPM2_ALG_RSA;  // L-1 unless L-2 below
  t.publicArea.nameAlg = TPM2_ALG_SHA256;
  t.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                  TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_ADMINWITHPOLICY |
                                  TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
  t.publicArea.authPolicy.size = sizeof(kPolicyA);
  std::memcpy(t.publicArea.authPolicy.buffer, kPolicyA, sizeof(kPolicyA));
  if (type == TpmEkType::kEccP256) {
    // Template L-2 (B.3.4): NIST P-256, unique = two 32-byte zero coordinates.
    t.publicArea.type = TPM2_ALG_ECC;
    auto& ecc = t.publicArea.parameters.eccDetail;
    ecc.symmetric.algorithm = TPM2_ALG_AES;
    ecc.symmetric.keyBits.aes = 128;
    ecc.symmetric.mode.aes = TPM2_ALG_CFB;
    ecc.scheme.scheme = TPM2_ALG_NULL;
    ecc.curveID = TPM2_ECC_NIST_P256;
    ecc.kdf.scheme = TPM2_ALG_NULL;
    t.publicArea.unique.ecc.x.size = 32;
    t.publicArea.unique.ecc.y.size = 32;
    return t;
  }
  auto& rsa = t.publicArea.parameters.rsaDetail;
  rsa.symmetric.algorithm = TPM2_ALG_AES;
  rsa.symmetric.keyBits.aes = 128;
  rsa.symmetric.mode.aes = TPM2_ALG_CFB;
  rsa.scheme.scheme = TPM2_ALG_NULL;
  rsa.keyBits = 2048;
  rsa.exponent = 0;
  t.publicArea.unique.rsa.size = 256;  // 256 zero bytes
  return t;
}

// A restricted signing key (TCG "AK"), see the header.
TPM2B_PUBLIC AkTemplate(TpmAkType type) {
  TPM2B_PUBLIC t;
  std::memset(&t, 0, sizeof(t));
  t.publicArea.nameAlg = TPM2_ALG_SHA256;
  t.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                  TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                  TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
  if (type == TpmAkType::kRsa2048) {
    t.publicArea.type = TPM2_ALG_RSA;
    auto& rsa = t.publicArea.parameters.rsaDetail;
    rsa.symmetric.algorithm = TPM2_ALG_NULL;
    rsa.scheme.scheme = TPM2_ALG_RSASSA;
    rsa.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
    rsa.keyBits = 2048;
  } else {
    t.publicArea.type = TPM2_ALG_ECC;
    auto& ecc = t.publicArea.parameters.eccDetail;
    ecc.symmetric.algorithm = TPM2_ALG_NULL;
    ecc.scheme.scheme = TPM2_ALG_ECDSA;
    ecc.scheme.details.ecdsa.hashAlg = TPM2_ALG_SHA256;
    ecc.curveID = TPM2_ECC_NIST_P256;
    ecc.kdf.scheme = TPM2_ALG_NULL;
  }
  return t;
}

Result<std::vector<std::uint8_t>> MarshalPublic(const TPMT_PUBLIC& pub) {
  auto out = tpm_wire::MarshalPublic(pub);
  if (!out) return Error(ErrorCode::kInternal, "TPM: " + out.error().message());
  return out;
}

Result<std::vector<unsigned>> ParseIndexList(std::string_view list) {
  std::vector<unsigned> out;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const std::size_t comma = std::min(list.find(',', pos), list.size());
    const std::string_view item = list.substr(pos, comma - pos);
    const std::size_t dash = item.find('-');
    auto num = [](std::string_view s) -> Result<unsigned> {
      unsigned v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > kMaxPcrIndex) {
        return Error(ErrorCode::kInvalidArgument, "PCR index '" + std::string(s) + "' is not 0..23");
      }
      return v;
    };
    if (dash == std::string_view::npos) {
      SKR_TRY(unsigned v, num(item));
      out.push_back(v);
    } else {
      SKR_TRY(unsigned lo, num(item.substr(0, dash)));
      SKR_TRY(unsigned hi, num(item.substr(dash + 1)));
      if (lo > hi) return Error(ErrorCode::kInvalidArgument, "PCR range is reversed");
      for (unsigned v = lo; v <= hi; ++v) out.push_back(v);
    }
    pos = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

TPML_PCR_SELECTION ToTpmSelection(const std::vector<TpmPcrBank>& sel) {
  TPML_PCR_SELECTION s;
  std::memset(&s, 0, sizeof(s));
  for (const auto& b : sel) {
    s.pcrSelections[s.count++] = tpm_wire::EncodePcrSelection(BankAlg(b.bank), b.indexes);
  }
  return s;
}

}  // namespace

Result<TpmAkType> ParseTpmAkType(std::string_view text) {
  if (text == "ecc") return TpmAkType::kEccP256;
  if (text == "rsa") return TpmAkType::kRsa2048;
  return Error(ErrorCode::kInvalidArgument, "AK type must be ecc or rsa");
}

Result<TpmEkType> ParseTpmEkType(std::string_view text) {
  if (text == "rsa") return TpmEkType::kRsa2048;
  if (text == "ecc") return TpmEkType::kEccP256;
  return Error(ErrorCode::kInvalidArgument, "EK type must be rsa or ecc");
}

Result<std::vector<TpmPcrBank>> ParsePcrSpec(std::string_view spec) {
  std::vector<TpmPcrBank> out;
  std::size_t pos = 0;
  while (pos < spec.size()) {
    const std::size_t plus = std::min(spec.find('+', pos), spec.size());
    const std::string_view part = spec.substr(pos, plus - pos);
    const std::size_t colon = part.find(':');
    if (colon == std::string_view::npos) {
      return Error(ErrorCode::kInvalidArgument, "PCR selection must look like sha256:0,1,7");
    }
    TpmPcrBank b;
    b.bank = std::string(part.substr(0, colon));
    if (BankAlg(b.bank) == TPM2_ALG_ERROR) {
      return Error(ErrorCode::kInvalidArgument, "unknown PCR bank '" + b.bank + "'");
    }
    SKR_TRY(b.indexes, ParseIndexList(part.substr(colon + 1)));
    for (const auto& prev : out) {
      if (prev.bank == b.bank) return Error(ErrorCode::kInvalidArgument, "PCR bank named twice");
    }
    out.push_back(std::move(b));
    pos = plus + 1;
  }
  if (out.empty() || out.size() > 4) return Error(ErrorCode::kInvalidArgument, "select 1..4 PCR banks");
  return out;
}

Result<std::vector<TpmPcrBank>> PcrSelectionFromJson(const Json& hint) {
  if (!hint.is_object() || hint.empty() || hint.size() > 4) {
    return Error(ErrorCode::kInvalidArgument, "tpm_pcrs hint must map 1..4 banks to index lists");
  }
  std::vector<TpmPcrBank> out;
  for (const auto& [bank, list] : hint.items()) {
    if (BankAlg(bank) == TPM2_ALG_ERROR || !list.is_array() || list.empty() || list.size() > 24) {
      return Error(ErrorCode::kInvalidArgument, "tpm_pcrs hint has a bad bank");
    }
    TpmPcrBank b;
    b.bank = bank;
    for (const auto& v : list) {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > kMaxPcrIndex) {
        return Error(ErrorCode::kInvalidArgument, "tpm_pcrs hint has a bad index");
      }
      b.indexes.push_back(static_cast<unsigned>(v.get<std::int64_t>()));
    }
    std::sort(b.indexes.begin(), b.indexes.end());
    b.indexes.erase(std::unique(b.indexes.begin(), b.indexes.end()), b.indexes.end());
    out.push_back(std::move(b));
  }
  return out;
}

std::string ResolveTcti(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("TPM2TOOLS_TCTI"); env != nullptr && *env != '\0') return env;
  return "device:/dev/tpmrm0";
}

Result<void> ValidateDeviceTcti(std::string_view tcti) {
  constexpr std::string_view kPrefix = "device:/dev/";
  constexpr std::size_t kMaxTcti = 128;
  const auto refuse = [](const std::string& why) {
    return Error(ErrorCode::kPermissionDenied,
                 "refusing TCTI: " + why + " (only device:/dev/...; other TCTIs only through "
                 "TPM2TOOLS_TCTI or the local agent config)",
                 "untrusted_tcti");
  };
  if (!tcti.starts_with(kPrefix) || tcti.size() == kPrefix.size()) {
    return refuse("not the device TCTI with a path under /dev/");
  }
  if (tcti.size() > kMaxTcti) return refuse("longer than 128 characters");
  const std::string_view dev_path = tcti.substr(kPrefix.size() - 1);  // "/..." after "/dev"
  for (const char c : dev_path) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '/' || c == '-';
    if (!ok) return refuse("character outside [A-Za-z0-9._/-] in the device path");
  }
  // No "." / ".." component (a way out of /dev) and no empty one.
  std::size_t start = 1;
  while (start <= dev_path.size()) {
    std::size_t end = dev_path.find('/', start);
    if (end == std::string_view::npos) end = dev_path.size();
    const std::string_view part = dev_path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") {
      return refuse("bad component in the device path");
    }
    start = end + 1;
  }
  return Ok();
}

Result<void> ValidateEventLogOption(std::string_view path) {
  if (path == "none" || path == TpmAttesterOptions::kDefaultEventLog) return Ok();
  return Error(ErrorCode::kPermissionDenied,
               std::string("refusing event log path: only ") +
                   TpmAttesterOptions::kDefaultEventLog +
                   " or none (another file only through the local agent config)",
               "untrusted_event_log");
}

// ---- TpmDevice ----

struct TpmDevice::Impl {
  TSS2_TCTI_CONTEXT* tcti = nullptr;
  ESYS_CONTEXT* esys = nullptr;
  TpmAkType ak_type = TpmAkType::kEccP256;
  TpmEkType ek_type = TpmEkType::kRsa2048;
  ESYS_TR ek = ESYS_TR_NONE;
  ESYS_TR ak = ESYS_TR_NONE;
  TPMT_PUBLIC ek_public{};
  TPMT_PUBLIC ak_public{};

  ~Impl() {
    if (esys != nullptr) {
      if (ak != ESYS_TR_NONE) Esys_FlushContext(esys, ak);
      if (ek != ESYS_TR_NONE) Esys_FlushContext(esys, ek);
      Esys_Finalize(&esys);
    }
    if (tcti != nullptr) Tss2_TctiLdr_Finalize(&tcti);
  }

  Result<ESYS_TR> CreatePrimary(const TPM2B_PUBLIC& tmpl, TPMT_PUBLIC& out_public, const char* what) {
    TPM2B_SENSITIVE_CREATE sensitive;
    std::memset(&sensitive, 0, sizeof(sensitive));
    TPM2B_DATA outside;
    std::memset(&outside, 0, sizeof(outside));
    TPML_PCR_SELECTION creation_pcr;
    std::memset(&creation_pcr, 0, sizeof(creation_pcr));
    ESYS_TR handle = ESYS_TR_NONE;
    TPM2B_PUBLIC* pub = nullptr;
    TPM2B_CREATION_DATA* cdata = nullptr;
    TPM2B_DIGEST* chash = nullptr;
    TPMT_TK_CREATION* ticket = nullptr;
    const TSS2_RC rc = Esys_CreatePrimary(esys, ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                          ESYS_TR_NONE, &sensitive, &tmpl, &outside, &creation_pcr,
                                          &handle, &pub, &cdata, &chash, &ticket);
    EsysPtr<TPM2B_PUBLIC> p1(pub);
    EsysPtr<TPM2B_CREATION_DATA> p2(cdata);
    EsysPtr<TPM2B_DIGEST> p3(chash);
    EsysPtr<TPMT_TK_CREATION> p4(ticket);
    if (rc != TSS2_RC_SUCCESS) return TpmError(std::string("CreatePrimary (") + what + ")", rc);
    out_public = pub->publicArea;
    return handle;
  }

  Result<void> EnsureEk() {
    if (ek != ESYS_TR_NONE) return Ok();
    SKR_TRY(ek, CreatePrimary(EkTemplate(ek_type), ek_public, "EK"));
    return Ok();
  }
  Result<void> EnsureAk() {
    if (ak != ESYS_TR_NONE) return Ok();
    SKR_TRY(ak, CreatePrimary(AkTemplate(ak_type), ak_public, "AK"));
    return Ok();
  }
};

TpmDevice::TpmDevice(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TpmDevice::~TpmDevice() = default;

Result<std::unique_ptr<TpmDevice>> TpmDevice::Open(const std::string& tcti, TpmAkType ak_type,
                                                  TpmEkType ek_type) {
  auto impl = std::make_unique<Impl>();
  impl->ak_type = ak_type;
  impl->ek_type = ek_type;
  TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti.c_str(), &impl->tcti);
  if (rc != TSS2_RC_SUCCESS) return TpmError("cannot open TCTI '" + tcti + "'", rc);
  rc = Esys_Initialize(&impl->esys, impl->tcti, nullptr);
  if (rc != TSS2_RC_SUCCESS) return TpmError("Esys_Initialize", rc);
  return std::unique_ptr<TpmDevice>(new TpmDevice(std::move(impl)));
}

Result<std::string> TpmDevice::EkCertificatePem() {
  ESYS_TR nv = ESYS_TR_NONE;
  const bool ecc = impl_->ek_type == TpmEkType::kEccP256;
  TSS2_RC rc = Esys_TR_FromTPMPublic(impl_->esys, ecc ? kEccEkCertNvIndex : kRsaEkCertNvIndex, ESYS_TR_NONE,
                                     ESYS_TR_NONE, ESYS_TR_NONE, &nv);
  if (rc != TSS2_RC_SUCCESS) {
    return Error(ErrorCode::kNotFound,
                 std::string("TPM: no EK certificate at NV index ") + (ecc ? "0x01c0000a" : "0x01c00002"),
                 "tpm_ek_cert_missing");
  }
  // The ESYS_TR is released on every path.
  struct CloseTr {
    ESYS_CONTEXT* esys;
    ESYS_TR* tr;
    ~CloseTr() { Esys_TR_Close(esys, tr); }
  } close_nv{impl_->esys, &nv};
  TPM2B_NV_PUBLIC* nv_pub = nullptr;
  TPM2B_NAME* nv_name = nullptr;
  rc = Esys_NV_ReadPublic(impl_->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv_pub, &nv_name);
  EsysPtr<TPM2B_NV_PUBLIC> f1(nv_pub);
  EsysPtr<TPM2B_NAME> f2(nv_name);
  if (rc != TSS2_RC_SUCCESS) return TpmError("NV_ReadPublic(EK certificate)", rc);
  const std::size_t total = nv_pub->nvPublic.dataSize;
  // EK certificate indexes allow AUTHREAD with an empty auth value (TCG EK Credential Profile
  // 2.2.1.4); owner authorization is the fallback and fails when an owner password is set.
  const ESYS_TR auth = (nv_pub->nvPublic.attributes & TPMA_NV_AUTHREAD) != 0 ? nv : ESYS_TR_RH_OWNER;
  std::vector<std::uint8_t> der;
  // NV_Read moves at most MAX_NV_BUFFER_SIZE bytes per call; 512 is below every TPM's limit.
  constexpr std::size_t kChunk = 512;
  while (der.size() < total) {
    const auto n = static_cast<UINT16>(std::min(kChunk, total - der.size()));
    TPM2B_MAX_NV_BUFFER* data = nullptr;
    rc = Esys_NV_Read(impl_->esys, auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, n,
                      static_cast<UINT16>(der.size()), &data);
    EsysPtr<TPM2B_MAX_NV_BUFFER> f3(data);
    if (rc != TSS2_RC_SUCCESS) return TpmError("NV_Read(EK certificate)", rc);
    if (data->size == 0) break;
    der.insert(der.end(), data->buffer, data->buffer + data->size);
  }
  // Some TPMs pad the NV area; the certificate is the first DER object.
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return Error(ErrorCode::kMalformedEvidence, "TPM: the EK certificate does not parse", "tpm_ek_cert_missing");
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert.get()) != 1) return OpenSslError("PEM_write_bio_X509");
  char* text = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &text);
  return std::string(text, static_cast<std::size_t>(len));
}

Result<std::vector<std::uint8_t>> TpmDevice::EkPublic() {
  SKR_TRY_VOID(impl_->EnsureEk());
  return MarshalPublic(impl_->ek_public);
}

Result<std::vector<std::uint8_t>> TpmDevice::AkPublic() {
  SKR_TRY_VOID(impl_->EnsureAk());
  return MarshalPublic(impl_->ak_public);
}

Result<SecretBytes> TpmDevice::ActivateCredential(std::span<const std::uint8_t> credential_blob,
                                                  std::span<const std::uint8_t> encrypted_secret) {
  SKR_TRY_VOID(impl_->EnsureEk());
  SKR_TRY_VOID(impl_->EnsureAk());
  TPM2B_ID_OBJECT blob;
  TPM2B_ENCRYPTED_SECRET secret;
  std::memset(&blob, 0, sizeof(blob));
  std::memset(&secret, 0, sizeof(secret));
  std::size_t o1 = 0, o2 = 0;
  if (Tss2_MU_TPM2B_ID_OBJECT_Unmarshal(credential_blob.data(), credential_blob.size(), &o1, &blob) != TSS2_RC_SUCCESS ||
      o1 != credential_blob.size() ||
      Tss2_MU_TPM2B_ENCRYPTED_SECRET_Unmarshal(encrypted_secret.data(), encrypted_secret.size(), &o2, &secret) != TSS2_RC_SUCCESS ||
      o2 != encrypted_secret.size()) {
    return Error(ErrorCode::kMalformedEvidence, "TPM: credential challenge does not unmarshal", "bad_response");
  }
  // The EK's authPolicy is PolicySecret(TPM_RH_ENDORSEMENT): satisfy it in a policy session.
  TPMT_SYM_DEF sym;
  std::memset(&sym, 0, sizeof(sym));
  sym.algorithm = TPM2_ALG_NULL;
  ESYS_TR session = ESYS_TR_NONE;
  TSS2_RC rc = Esys_StartAuthSession(impl_->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                     ESYS_TR_NONE, nullptr, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256, &session);
  if (rc != TSS2_RC_SUCCESS) return TpmError("StartAuthSession", rc);
  TPM2B_TIMEOUT* timeout = nullptr;
  TPMT_TK_AUTH* ticket = nullptr;
  rc = Esys_PolicySecret(impl_->esys, ESYS_TR_RH_ENDORSEMENT, session, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                         ESYS_TR_NONE, nullptr, nullptr, nullptr, 0, &timeout, &ticket);
  EsysPtr<TPM2B_TIMEOUT> f1(timeout);
  EsysPtr<TPMT_TK_AUTH> f2(ticket);
  if (rc != TSS2_RC_SUCCESS) {
    Esys_FlushContext(impl_->esys, session);
    return TpmError("PolicySecret(endorsement)", rc);
  }
  TPM2B_DIGEST* cert_info = nullptr;
  rc = Esys_ActivateCredential(impl_->esys, impl_->ak, impl_->ek, ESYS_TR_PASSWORD, session, ESYS_TR_NONE,
                               &blob, &secret, &cert_info);
  Esys_FlushContext(impl_->esys, session);
  if (rc != TSS2_RC_SUCCESS) {
    return TpmError("ActivateCredential refused the challenge", rc, ErrorCode::kVerificationFailed,
                    "tpm_activation_failed");
  }
  SecretBytes out = SecretBytes::CopyFrom(std::span<const std::uint8_t>(cert_info->buffer, cert_info->size));
  OPENSSL_cleanse(cert_info->buffer, cert_info->size);
  Esys_Free(cert_info);
  return out;
}

Result<TpmDevice::QuoteOutput> TpmDevice::Quote(const std::vector<TpmPcrBank>& selection,
                                                std::span<const std::uint8_t> extra_data) {
  SKR_TRY_VOID(impl_->EnsureAk());
  if (selection.empty() || selection.size() > TPM2_NUM_PCR_BANKS) {
    return Error(ErrorCode::kInvalidArgument, "TPM: select 1..16 PCR banks");
  }
  if (extra_data.size() > sizeof(TPMU_HA)) return Error(ErrorCode::kInvalidArgument, "TPM: qualifying data too long");
  TPM2B_DATA qualifying;
  std::memset(&qualifying, 0, sizeof(qualifying));
  qualifying.size = static_cast<UINT16>(extra_data.size());
  std::memcpy(qualifying.buffer, extra_data.data(), extra_data.size());
  TPMT_SIG_SCHEME scheme;
  std::memset(&scheme, 0, sizeof(scheme));
  scheme.scheme = TPM2_ALG_NULL;  // the AK's own scheme
  const TPML_PCR_SELECTION tpm_sel = ToTpmSelection(selection);

  for (int attempt = 0; attempt < kMaxQuoteAttempts; ++attempt) {
    // 1. PCR values, one PCR per read (TPM2_PCR_Read returns at most 8 digests per call).
    QuoteOutput out;
    out.pcrs = Json::object();
    std::vector<std::uint8_t> concat;
    for (const auto& b : selection) {
      for (unsigned i : b.indexes) {
        TpmPcrBank one{b.bank, {i}};
        const TPML_PCR_SELECTION s = ToTpmSelection({one});
        UINT32 counter = 0;
        TPML_PCR_SELECTION* sel_out = nullptr;
        TPML_DIGEST* values = nullptr;
        const TSS2_RC rc = Esys_PCR_Read(impl_->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &s, &counter,
                                         &sel_out, &values);
        EsysPtr<TPML_PCR_SELECTION> f1(sel_out);
        EsysPtr<TPML_DIGEST> f2(values);
        if (rc != TSS2_RC_SUCCESS) return TpmError("PCR_Read", rc);
        if (values->count != 1) {
          return Error(ErrorCode::kUnavailable, "TPM: PCR " + b.bank + ":" + std::to_string(i) +
                                                    " is not allocated on this TPM", "tpm_unavailable");
        }
        const TPM2B_DIGEST& d = values->digests[0];
        out.pcrs[b.bank][std::to_string(i)] = HexEncode(std::span<const std::uint8_t>(d.buffer, d.size));
        concat.insert(concat.end(), d.buffer, d.buffer + d.size);
      }
    }
    // 2. The quote.
    TPM2B_ATTEST* quoted = nullptr;
    TPMT_SIGNATURE* sig = nullptr;
    const TSS2_RC rc = Esys_Quote(impl_->esys, impl_->ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                  &qualifying, &scheme, &tpm_sel, &quoted, &sig);
    EsysPtr<TPM2B_ATTEST> f3(quoted);
    EsysPtr<TPMT_SIGNATURE> f4(sig);
    if (rc != TSS2_RC_SUCCESS) return TpmError("Quote", rc);
    out.attest.assign(quoted->attestationData, quoted->attestationData + quoted->size);
    out.signature.resize(sizeof(TPMT_SIGNATURE));
    std::size_t off = 0;
    if (Tss2_MU_TPMT_SIGNATURE_Marshal(sig, out.signature.data(), out.signature.size(), &off) != TSS2_RC_SUCCESS) {
      return Error(ErrorCode::kInternal, "TPM: signature does not marshal");
    }
    out.signature.resize(off);
    // 3. The values read must be the ones quoted (a PCR may be extended in between): compare the
    //    quote's pcrDigest with the digest of what was read (the AK scheme hash is SHA-256).
    TPMS_ATTEST attest;
    std::memset(&attest, 0, sizeof(attest));
    std::size_t aoff = 0;
    if (Tss2_MU_TPMS_ATTEST_Unmarshal(out.attest.data(), out.attest.size(), &aoff, &attest) != TSS2_RC_SUCCESS) {
      return Error(ErrorCode::kMalformedEvidence, "TPM: quote does not unmarshal", "tpm_failed");
    }
    std::uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_Digest(concat.data(), concat.size(), digest, &dlen, EVP_sha256(), nullptr) != 1) {
      return OpenSslError("EVP_Digest");
    }
    const TPM2B_DIGEST& qd = attest.attested.quote.pcrDigest;
    if (qd.size == dlen && std::memcmp(qd.buffer, digest, dlen) == 0) return out;
  }
  return Error(ErrorCode::kUnavailable, "TPM: PCRs kept changing while quoting", "tpm_unavailable");
}

// ---- TpmAttester ----

void TpmAttester::OnChallenge(const Json& challenge) {
  hinted_.clear();
  if (auto h = challenge.find("tpm_pcrs"); h != challenge.end()) {
    if (auto sel = PcrSelectionFromJson(*h); sel) hinted_ = std::move(sel).value();
  }
}

Result<Json> TpmAttester::Collect(std::span<const std::uint8_t, 48> digest) {
  if (options_.ak_id.empty()) {
    return Error(ErrorCode::kInvalidArgument, "tpm evidence needs --ak-id (from `skrctl tpm enroll`)");
  }
  std::vector<TpmPcrBank> selection = options_.pcrs;
  if (selection.empty()) selection = hinted_;
  if (selection.empty()) {
    SKR_TRY(selection, ParsePcrSpec("sha256:0-7"));
  }
  SKR_TRY(std::unique_ptr<TpmDevice> tpm, TpmDevice::Open(ResolveTcti(options_.tcti), options_.ak_type));
  SKR_TRY(std::vector<std::uint8_t> ak_public, tpm->AkPublic());
  SKR_TRY(TpmDevice::QuoteOutput q, tpm->Quote(selection, digest));
  Json evidence{{"type", "tpm"},
                {"quote", Base64Encode(q.attest)},
                {"signature", Base64Encode(q.signature)},
                {"pcrs", q.pcrs},
                {"ak_id", options_.ak_id},
                {"ak_public", Base64Encode(ak_public)}};
  const std::string& log_path = options_.event_log;
  const bool is_default = log_path == TpmAttesterOptions::kDefaultEventLog;
  std::error_code exists_error;
  if (!log_path.empty() && log_path != "none" &&
      (!is_default || std::filesystem::exists(log_path, exists_error))) {
    // securityfs reports size 0: read to the end, bounded.
    constexpr std::size_t kMaxLog = 1024 * 1024;
    std::ifstream in(log_path, std::ios::binary);
    std::string bytes;
    if (in) {
      bytes.resize(kMaxLog + 1);
      in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      bytes.resize(static_cast<std::size_t>(in.gcount()));
    }
    if (!in && !in.eof()) {
      if (!is_default) return Error(ErrorCode::kUnavailable, "cannot read the event log " + log_path, "tpm_unavailable");
    } else if (bytes.size() > kMaxLog) {
      return Error(ErrorCode::kInvalidArgument, "event log " + log_path + " is larger than 1 MiB");
    } else if (!bytes.empty()) {
      evidence["event_log"] = Base64Encode(AsBytes(bytes));
    }
  }
  return evidence;
}

}  // namespace skr::client
