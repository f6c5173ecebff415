// SPDX-License-Identifier: Apache-2.0
#include "attestation/snp/verify.h"

#include <algorithm>
#include <array>

#include "common/ecdsa_p384.h"
#include "common/ossl.h"

namespace skr::attestation::snp {
namespace {

// R and S are 72-byte little-endian fields of which only the low 48 bytes may be non-zero;
// returns the 48-byte big-endian value.
Result<std::array<std::uint8_t, kP384ScalarBytes>> LittleEndianScalar(
    std::span<const std::uint8_t> field) {
  if (field.size() != kSignatureComponentSize) {
    return Error(ErrorCode::kMalformedEvidence, "SNP signature component has the wrong size",
                 "snp_signature_format");
  }
  for (std::size_t i = kP384ScalarBytes; i < field.size(); ++i) {
    if (field[i] != 0) {
      return Error(ErrorCode::kMalformedEvidence, "SNP signature component exceeds P-384",
                   "snp_signature_format");
    }
  }
  std::array<std::uint8_t, kP384ScalarBytes> be;
  std::reverse_copy(field.begin(), field.begin() + kP384ScalarBytes, be.begin());
  return be;
}

}  // namespace

Result<void> VerifyReportSignature(const Report& report, EVP_PKEY* signer_key) {
  // Malformed R or S are reported as such before anything about the key.
  SKR_TRY_VOID(LittleEndianScalar(report.signature_r()));
  SKR_TRY_VOID(LittleEndianScalar(report.signature_s()));
  auto key = P384PublicKey::FromEvpPkey(signer_key);
  if (!key) {
    return Error(ErrorCode::kVerificationFailed,
                 "SNP report signature does not verify with the VCEK/VLEK (" +
                     key.error().message() + ")",
                 "snp_signature_invalid");
  }
  return VerifyReportSignature(report, *key);
}

Result<void> VerifyReportSignature(const Report& report, const P384PublicKey& signer_key) {
  SKR_TRY(const auto r, LittleEndianScalar(report.signature_r()));
  SKR_TRY(const auto s, LittleEndianScalar(report.signature_s()));
  // ECDSA P-384 through nettle (common/ecdsa_p384.h): the largest cost of a release on OpenSSL.
  const auto digest = Sha384(report.signed_bytes());
  if (auto ok = signer_key.Verify(digest, r, s); !ok) {
    return Error(
        ErrorCode::kVerificationFailed,
        "SNP report signature does not verify with the VCEK/VLEK (" + ok.error().message() + ")",
        "snp_signature_invalid");
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
