// SPDX-License-Identifier: Apache-2.0
#include "attestation/snp/verify.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include <algorithm>

#include "common/ossl.h"

namespace skr::attestation::snp {
namespace {

constexpr std::size_t kP384Bytes = 48;

// R and S are 72-byte little-endian fields of which only the low 48 bytes may be non-zero.
Result<BignumPtr> LittleEndianScalar(std::span<const std::uint8_t> field) {
  if (field.size() != kSignatureComponentSize) {
    return Error(ErrorCode::kMalformedEvidence, "SNP signature component has the wrong size",
                 "snp_signature_format");
  }
  for (std::size_t i = kP384Bytes; i < field.size(); ++i) {
    if (field[i] != 0) {
      return Error(ErrorCode::kMalformedEvidence, "SNP signature component exceeds P-384",
                   "snp_signature_format");
    }
  }
  BignumPtr bn(BN_lebin2bn(field.data(), static_cast<int>(kP384Bytes), nullptr));
  if (!bn) return OpenSslError("BN_lebin2bn");
  return bn;
}

}  // namespace

Result<void> VerifyReportSignature(const Report& report, EVP_PKEY* signer_key) {
  SKR_TRY(BignumPtr r, LittleEndianScalar(report.signature_r()));
  SKR_TRY(BignumPtr s, LittleEndianScalar(report.signature_s()));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  if (!sig) return OpenSslError("ECDSA_SIG_new");
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return OpenSslError("ECDSA_SIG_set0");
  (void)r.release();  // owned by sig now
  (void)s.release();
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return OpenSslError("i2d_ECDSA_SIG");
  struct DerFree {
    void operator()(unsigned char* p) const { OPENSSL_free(p); }
  };
  std::unique_ptr<unsigned char, DerFree> der_owner(der);

  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return OpenSslError("EVP_MD_CTX_new");
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha384(), nullptr, signer_key) != 1) {
    return OpenSslError("EVP_DigestVerifyInit");
  }
  const auto signed_bytes = report.signed_bytes();
  const int rc = EVP_DigestVerify(ctx.get(), der, static_cast<std::size_t>(der_len),
                                  signed_bytes.data(), signed_bytes.size());
  ERR_clear_error();
  if (rc != 1) {
    return Error(ErrorCode::kVerificationFailed,
                 "SNP report signature does not verify with the VCEK/VLEK", "snp_signature_invalid");
  }
  return Ok();
}

Result<void> Validate(const Report& report) {
  if (report.vmpl() > 3) {
    return Error(ErrorCode::kMalformedEvidence, "SNP report VMPL out of range", "snp_vmpl");
  }
  if (report.signing_key() != SigningKey::kVcek && report.signing_key() != SigningKey::kVlek) {
    return Error(ErrorCode::kVerificationFailed, "SNP report is not signed by a VCEK or VLEK",
                 "snp_signing_key");
  }
  return Ok();
}

Result<void> ValidateAgainstEndorsement(const Report& report, const VerifiedEndorsement& e) {
  const Signer expected =
      report.signing_key() == SigningKey::kVlek ? Signer::kVlek : Signer::kVcek;
  if (e.signer != expected) {
    return Error(ErrorCode::kVerificationFailed,
                 "the report names a different signer kind than the certificate",
                 "snp_signer_mismatch");
  }
  // REPORTED_TCB must be the TCB the certificate was issued for (VCEK spec, section 3: the
  // SPL extensions).
  const TcbVersion tcb = DecodeTcb(report.reported_tcb(), e.product);
  const bool fmc_ok = e.product != Product::kTurin || !e.ext.fmc_spl || *e.ext.fmc_spl == tcb.fmc;
  if (tcb.bootloader != e.ext.bl_spl || tcb.tee != e.ext.tee_spl || tcb.snp != e.ext.snp_spl ||
      tcb.microcode != e.ext.ucode_spl || !fmc_ok) {
    return Error(ErrorCode::kVerificationFailed,
                 "REPORTED_TCB does not match the TCB of the VCEK/VLEK", "snp_tcb_mismatch");
  }
  if (e.signer == Signer::kVcek) {
    if (report.mask_chip_key()) {
      return Error(ErrorCode::kVerificationFailed,
                   "MASK_CHIP_KEY is set: the report cannot be tied to a VCEK", "snp_chip_id_mismatch");
    }
    if (!e.ext.hw_id) {
      return Error(ErrorCode::kVerificationFailed, "VCEK has no hwID extension",
                   "snp_chip_id_mismatch");
    }
    const auto chip = report.chip_id();
    const auto& hw = *e.ext.hw_id;
    // Turin VCEKs carry the first 8 bytes of CHIP_ID (VCEK spec, hwID).
    if (hw.empty() || hw.size() > chip.size() || !std::equal(hw.begin(), hw.end(), chip.begin())) {
      return Error(ErrorCode::kVerificationFailed, "CHIP_ID does not match the VCEK's hwID",
                   "snp_chip_id_mismatch");
    }
  }
  const Product cpuid_product = report.ProductFromCpuid();
  if (cpuid_product != Product::kUnknown && cpuid_product != e.product) {
    return Error(ErrorCode::kVerificationFailed,
                 std::string("report CPUID says ") + ProductName(cpuid_product) +
                     " but the certificate chain is " + ProductName(e.product),
                 "snp_product_mismatch");
  }
  return Ok();
}

}  // namespace skr::attestation::snp
