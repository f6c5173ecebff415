// SPDX-License-Identifier: Apache-2.0
// AMD SEV-SNP attestation report: structure-only parsing (CONVENTIONS.md section 2, "Parse").
//
// Source: SEV Secure Nested Paging Firmware ABI Specification (AMD publication 56860), section 7.3
// "Attestation", table "ATTESTATION_REPORT Structure" (Table 22 in rev 1.55; rev 1.58 adds the
// version 5 mitigation vectors), table "TCB_VERSION Structure", the GUEST_POLICY table in section
// 4.3 and the "ECDSA P-384 with SHA-384 Signature" table in chapter 10. Offsets and bit positions
// were cross-checked against google/go-sev-guest abi/abi.go and virtee/sev
// src/firmware/guest/types/snp.rs (read only, no code taken).
//
// Parse checks structure only: exact size, supported VERSION, SIGNATURE_ALGO, every reserved
// (must-be-zero) byte range and bit field. It does NOT check the signature (see snp/verify) nor any
// field against expectations (see snp/validate).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/result.h"

namespace skr::attestation::snp {

inline constexpr std::size_t kReportSize = 0x4A0;  // 1184 bytes, the whole ATTESTATION_REPORT
inline constexpr std::size_t kSignedSize = 0x2A0;  // SIGNATURE covers bytes [0, 0x2A0)
inline constexpr std::size_t kSignatureComponentSize = 72;  // R and S, little-endian, zero-padded

// The processor generation; it decides how a TCB_VERSION is laid out.
enum class Product { kUnknown, kMilan, kGenoa, kTurin };

// "Milan" | "Genoa" | "Turin" | "unknown".
const char* ProductName(Product product);

// A decoded TCB_VERSION (ABI spec, table "TCB_VERSION Structure"). Every component is an SVN.
struct TcbVersion {
  std::uint8_t bootloader = 0;  // BOOT_LOADER
  std::uint8_t tee = 0;         // TEE
  std::uint8_t snp = 0;         // SNP
  std::uint8_t microcode = 0;   // MICROCODE
  std::uint8_t fmc = 0;         // FMC (Turin and later only; 0 otherwise)
  std::uint64_t raw = 0;        // the 64-bit little-endian value as found in the report
};

// TCB_VERSION byte layout (raw is little-endian, byte i = bits 8i+7..8i):
//   Milan / Genoa (and kUnknown): byte 0 BOOT_LOADER, byte 1 TEE, bytes 2-5 reserved,
//                                 byte 6 SNP, byte 7 MICROCODE.
//   Turin:                        byte 0 FMC, byte 1 BOOT_LOADER, byte 2 TEE, byte 3 SNP,
//                                 bytes 4-6 reserved, byte 7 MICROCODE.
// Reserved bytes are not checked here: which bytes are reserved depends on the product, which
// for version 2 reports is only known once the certificate chain is verified.
TcbVersion DecodeTcb(std::uint64_t raw, Product product);

// GUEST_POLICY (ABI spec section 4.3, table "Guest Policy Structure"). Bit 17 must be one and bits
// 63:26 must be zero; Parse rejects reports violating either.
struct GuestPolicy {
  std::uint8_t abi_minor = 0;      // 7:0   ABI_MINOR
  std::uint8_t abi_major = 0;      // 15:8  ABI_MAJOR
  bool smt = false;                // 16    SMT
  bool migrate_ma = false;         // 18    MIGRATE_MA
  bool debug = false;              // 19    DEBUG
  bool single_socket = false;      // 20    SINGLE_SOCKET
  bool cxl_allow = false;          // 21    CXL_ALLOW
  bool mem_aes_256_xts = false;    // 22    MEM_AES_256_XTS
  bool rapl_dis = false;           // 23    RAPL_DIS
  bool ciphertext_hiding = false;  // 24    CIPHERTEXT_HIDING
  bool page_swap_disable = false;  // 25    PAGE_SWAP_DISABLE
};
GuestPolicy DecodePolicy(std::uint64_t policy);

// PLATFORM_INFO (ABI spec, table "PLATFORM_INFO Field"). Unknown bits are NOT rejected by Parse:
// the firmware reports platform state here and AMD adds bits with new firmware; a policy that
// cares can test the raw value (claim snp.platform_info).
struct PlatformInfo {
  bool smt_en = false;                // bit 0 SMT_EN
  bool tsme_en = false;               // bit 1 TSME_EN
  bool ecc_en = false;                // bit 2 ECC_EN
  bool rapl_dis = false;              // bit 3 RAPL_DIS
  bool ciphertext_hiding_en = false;  // bit 4 CIPHERTEXT_HIDING_EN
  bool alias_check_complete = false;  // bit 5 ALIAS_CHECK_COMPLETE
  bool tio_en = false;                // bit 7 TIO_EN
};
PlatformInfo DecodePlatformInfo(std::uint64_t platform_info);

// SIGNING_KEY, bits 4:2 of the word at 0x48. Values 2-6 are reserved and rejected by Parse.
enum class SigningKey : std::uint8_t { kVcek = 0, kVlek = 1, kNone = 7 };

// A parsed report. Owns a copy of the 1184 bytes; accessors returning spans point into that copy
// and stay valid as long as the Report (or the Report it was moved into) lives. Immutable, so safe
// to share between threads.
class Report {
 public:
  // Parses exactly kReportSize bytes. Errors (all ErrorCode::kMalformedEvidence), by reason slug:
  //   "snp_report_size"      size != 0x4A0
  //   "snp_report_version"   VERSION not 2, 3 or 5
  //   "snp_signature_algo"   SIGNATURE_ALGO != 1 (ECDSA P-384 with SHA-384)
  //   "snp_reserved_nonzero" a reserved byte or must-be-zero bit is set (message names the offset)
  //   "snp_policy_reserved"  GUEST_POLICY bit 17 (reserved, must be one) is zero
  //   "snp_signing_key"      SIGNING_KEY is a reserved value (2-6)
  static Result<Report> Parse(std::span<const std::uint8_t> bytes);

  std::uint32_t version() const { return version_; }                   // 0x000 VERSION
  std::uint32_t guest_svn() const { return guest_svn_; }               // 0x004 GUEST_SVN
  std::uint64_t policy() const { return policy_; }                     // 0x008 POLICY
  GuestPolicy policy_fields() const { return DecodePolicy(policy_); }  // POLICY, decoded
  std::span<const std::uint8_t> family_id() const;                     // 0x010 FAMILY_ID (16)
  std::span<const std::uint8_t> image_id() const;                      // 0x020 IMAGE_ID (16)
  std::uint32_t vmpl() const { return vmpl_; }                         // 0x030 VMPL
  std::uint32_t signature_algo() const { return signature_algo_; }     // 0x034 SIGNATURE_ALGO
  std::uint64_t current_tcb() const { return current_tcb_; }           // 0x038 CURRENT_TCB (raw)
  std::uint64_t platform_info() const { return platform_info_; }       // 0x040 PLATFORM_INFO
  PlatformInfo platform_info_fields() const { return DecodePlatformInfo(platform_info_); }
  std::uint32_t key_info() const { return key_info_; }            // 0x048, the whole 32-bit word
  bool author_key_en() const { return (key_info_ & 0x1U) != 0; }  // 0x048 bit 0 AUTHOR_KEY_EN
  bool mask_chip_key() const { return (key_info_ & 0x2U) != 0; }  // 0x048 bit 1 MASK_CHIP_KEY
  SigningKey signing_key() const {                                // 0x048 bits 4:2 SIGNING_KEY
    return static_cast<SigningKey>((key_info_ >> 2) & 0x7U);
  }
  std::span<const std::uint8_t> report_data() const;            // 0x050 REPORT_DATA (64)
  std::span<const std::uint8_t> measurement() const;            // 0x090 MEASUREMENT (48)
  std::span<const std::uint8_t> host_data() const;              // 0x0C0 HOST_DATA (32)
  std::span<const std::uint8_t> id_key_digest() const;          // 0x0E0 ID_KEY_DIGEST (48)
  std::span<const std::uint8_t> author_key_digest() const;      // 0x110 AUTHOR_KEY_DIGEST (48)
  std::span<const std::uint8_t> report_id() const;              // 0x140 REPORT_ID (32)
  std::span<const std::uint8_t> report_id_ma() const;           // 0x160 REPORT_ID_MA (32)
  std::uint64_t reported_tcb() const { return reported_tcb_; }  // 0x180 REPORTED_TCB (raw)
  // 0x188 CPUID_FAM_ID, 0x189 CPUID_MOD_ID, 0x18A CPUID_STEP: version 3 and later; nullopt for 2.
  std::optional<std::uint8_t> cpuid_fam_id() const { return cpuid_fam_id_; }
  std::optional<std::uint8_t> cpuid_mod_id() const { return cpuid_mod_id_; }
  std::optional<std::uint8_t> cpuid_step() const { return cpuid_step_; }
  std::span<const std::uint8_t> chip_id() const;                     // 0x1A0 CHIP_ID (64)
  std::uint64_t committed_tcb() const { return committed_tcb_; }     // 0x1E0 COMMITTED_TCB (raw)
  std::uint8_t current_build() const { return current_build_; }      // 0x1E8 CURRENT_BUILD
  std::uint8_t current_minor() const { return current_minor_; }      // 0x1E9 CURRENT_MINOR
  std::uint8_t current_major() const { return current_major_; }      // 0x1EA CURRENT_MAJOR
  std::uint8_t committed_build() const { return committed_build_; }  // 0x1EC COMMITTED_BUILD
  std::uint8_t committed_minor() const { return committed_minor_; }  // 0x1ED COMMITTED_MINOR
  std::uint8_t committed_major() const { return committed_major_; }  // 0x1EE COMMITTED_MAJOR
  std::uint64_t launch_tcb() const { return launch_tcb_; }           // 0x1F0 LAUNCH_TCB (raw)
  // 0x1F8 LAUNCH_MIT_VECTOR, 0x200 CURRENT_MIT_VECTOR: version 5 and later; nullopt before.
  std::optional<std::uint64_t> launch_mit_vector() const { return launch_mit_vector_; }
  std::optional<std::uint64_t> current_mit_vector() const { return current_mit_vector_; }
  // SIGNATURE at 0x2A0, ECDSA P-384 format: R at 0x2A0 and S at 0x2E8, each 72 bytes
  // little-endian (zero-extended); 0x330..0x49F reserved.
  std::span<const std::uint8_t> signature_r() const;
  std::span<const std::uint8_t> signature_s() const;

  // The exact bytes the signature covers: [0, 0x2A0).
  std::span<const std::uint8_t> signed_bytes() const;
  // The whole report as parsed.
  std::span<const std::uint8_t> bytes() const { return bytes_; }

  // Product from CPUID_FAM_ID / CPUID_MOD_ID (version 3+); kUnknown for version 2 reports or
  // unknown family/model. Family 19h: models 00h-0Fh Milan, 10h-1Fh and A0h-AFh Genoa;
  // family 1Ah: models 00h-11h Turin. Untrusted until the signature and chain are verified.
  Product ProductFromCpuid() const;

 private:
  Report() = default;

  std::span<const std::uint8_t> Field(std::size_t offset, std::size_t size) const;

  std::vector<std::uint8_t> bytes_;
  std::uint32_t version_ = 0;
  std::uint32_t guest_svn_ = 0;
  std::uint64_t policy_ = 0;
  std::uint32_t vmpl_ = 0;
  std::uint32_t signature_algo_ = 0;
  std::uint64_t current_tcb_ = 0;
  std::uint64_t platform_info_ = 0;
  std::uint32_t key_info_ = 0;
  std::uint64_t reported_tcb_ = 0;
  std::optional<std::uint8_t> cpuid_fam_id_;
  std::optional<std::uint8_t> cpuid_mod_id_;
  std::optional<std::uint8_t> cpuid_step_;
  std::uint64_t committed_tcb_ = 0;
  std::uint8_t current_build_ = 0;
  std::uint8_t current_minor_ = 0;
  std::uint8_t current_major_ = 0;
  std::uint8_t committed_build_ = 0;
  std::uint8_t committed_minor_ = 0;
  std::uint8_t committed_major_ = 0;
  std::uint64_t launch_tcb_ = 0;
  std::optional<std::uint64_t> launch_mit_vector_;
  std::optional<std::uint64_t> current_mit_vector_;
};

}  // namespace skr::attestation::snp
