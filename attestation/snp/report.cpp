// SPDX-License-Identifier: Apache-2.0
#include "attestation/snp/report.h"

#include <cstdio>
#include <string>
#include <string_view>

#include "common/byte_reader.h"

namespace skr::attestation::snp {
namespace {

// SEV-SNP Firmware ABI (pub. 56860), table "ATTESTATION_REPORT Structure": byte offsets.
constexpr std::size_t kOffFamilyId = 0x010;         // FAMILY_ID, 16 bytes
constexpr std::size_t kOffImageId = 0x020;          // IMAGE_ID, 16 bytes
constexpr std::size_t kOffKeyInfo = 0x048;          // AUTHOR_KEY_EN / MASK_CHIP_KEY / SIGNING_KEY
constexpr std::size_t kOffReportData = 0x050;       // REPORT_DATA, 64 bytes
constexpr std::size_t kOffMeasurement = 0x090;      // MEASUREMENT, 48 bytes
constexpr std::size_t kOffHostData = 0x0C0;         // HOST_DATA, 32 bytes
constexpr std::size_t kOffIdKeyDigest = 0x0E0;      // ID_KEY_DIGEST, 48 bytes
constexpr std::size_t kOffAuthorKeyDigest = 0x110;  // AUTHOR_KEY_DIGEST, 48 bytes
constexpr std::size_t kOffReportId = 0x140;         // REPORT_ID, 32 bytes
constexpr std::size_t kOffReportIdMa = 0x160;       // REPORT_ID_MA, 32 bytes
constexpr std::size_t kOffReportedTcb = 0x180;      // REPORTED_TCB, 8 bytes
constexpr std::size_t kOffCpuid = 0x188;            // CPUID_FAM_ID, CPUID_MOD_ID, CPUID_STEP (v3+)
constexpr std::size_t kOffChipId = 0x1A0;           // CHIP_ID, 64 bytes
constexpr std::size_t kOffCommittedTcb = 0x1E0;     // COMMITTED_TCB, 8 bytes
constexpr std::size_t kOffLaunchTcb = 0x1F0;        // LAUNCH_TCB, 8 bytes
constexpr std::size_t kOffMitVectors = 0x1F8;       // LAUNCH_MIT_VECTOR, CURRENT_MIT_VECTOR (v5)
constexpr std::size_t kOffSignatureR = 0x2A0;       // SIGNATURE: R (72 bytes LE)
constexpr std::size_t kOffSignatureS = 0x2E8;       //            S (72 bytes LE)
constexpr std::size_t kOffSignatureEnd = 0x330;     // rest of the 512-byte SIGNATURE is reserved

constexpr std::size_t kFamilyIdSize = 16;
constexpr std::size_t kImageIdSize = 16;
constexpr std::size_t kReportDataSize = 64;
constexpr std::size_t kMeasurementSize = 48;
constexpr std::size_t kHostDataSize = 32;
constexpr std::size_t kDigestSize = 48;
constexpr std::size_t kReportIdSize = 32;
constexpr std::size_t kChipIdSize = 64;

static_assert(kOffSignatureR == kSignedSize);
static_assert(kOffSignatureS == kOffSignatureR + kSignatureComponentSize);
static_assert(kOffSignatureEnd == kOffSignatureS + kSignatureComponentSize);

// VERSION values this parser knows: 2 (ABI <= 1.54), 3 (adds CPUID_* at 0x188, ABI 1.55),
// 5 (adds the mitigation vectors at 0x1F8, ABI 1.58).
constexpr std::uint32_t kVersion2 = 2;
constexpr std::uint32_t kVersion3 = 3;
constexpr std::uint32_t kVersion5 = 5;

// SIGNATURE_ALGO: 1 = ECDSA P-384 with SHA-384 (ABI spec, table "Signature Algorithm Encodings").
constexpr std::uint32_t kSigAlgoEcdsaP384Sha384 = 1;

// GUEST_POLICY (ABI spec section 4.3): bit 17 reserved, must be one; bits 63:26 must be zero.
constexpr std::uint64_t kPolicyReservedOne = std::uint64_t{1} << 17;
constexpr std::uint64_t kPolicyMbzMask = ~((std::uint64_t{1} << 26) - 1);

// Word at 0x48: bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY, 31:5 MBZ.
constexpr std::uint32_t kKeyInfoMbzMask = ~std::uint32_t{0x1F};

std::string Hex(std::size_t value) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%03zX", value);
  return buf;
}

Error Malformed(std::string message, const char* reason) {
  return Error(ErrorCode::kMalformedEvidence, "SEV-SNP report: " + message, reason);
}

// Consumes n reserved bytes and fails on the first non-zero one, naming its report offset.
Result<void> TakeReserved(ByteReader& r, std::size_t n) {
  const std::size_t start = r.position();
  SKR_TRY(auto bytes, r.Take(n));
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != 0) {
      return Malformed("reserved byte at offset " + Hex(start + i) + " is not zero",
                       "snp_reserved_nonzero");
    }
  }
  return Ok();
}

// Skips a byte-array field; the Report later exposes it as a view into its own copy.
Result<void> SkipField(ByteReader& r, std::size_t expected_offset, std::size_t n) {
  // The reader walks the table in order; a mismatch here is a bug in this file, not bad input.
  if (r.position() != expected_offset) {
    return Error(ErrorCode::kInternal,
                 "SEV-SNP report parser offset mismatch at " + Hex(expected_offset));
  }
  return r.Skip(n);
}

Result<void> ExpectOffset(const ByteReader& r, std::size_t expected_offset) {
  if (r.position() != expected_offset) {
    return Error(ErrorCode::kInternal,
                 "SEV-SNP report parser offset mismatch at " + Hex(expected_offset));
  }
  return Ok();
}

std::uint8_t ByteOf(std::uint64_t raw, unsigned index) {
  return static_cast<std::uint8_t>((raw >> (8U * index)) & 0xFFU);
}

bool Bit(std::uint64_t value, unsigned bit) { return ((value >> bit) & 1U) != 0; }

}  // namespace

const char* ProductName(Product product) {
  switch (product) {
    case Product::kMilan:
      return "Milan";
    case Product::kGenoa:
      return "Genoa";
    case Product::kTurin:
      return "Turin";
    case Product::kUnknown:
      break;
  }
  return "unknown";
}

TcbVersion DecodeTcb(std::uint64_t raw, Product product) {
  // ABI spec, table "TCB_VERSION Structure". Turin (Zen 5) moved the fields and added FMC.
  TcbVersion tcb;
  tcb.raw = raw;
  if (product == Product::kTurin) {
    tcb.fmc = ByteOf(raw, 0);
    tcb.bootloader = ByteOf(raw, 1);
    tcb.tee = ByteOf(raw, 2);
    tcb.snp = ByteOf(raw, 3);
    tcb.microcode = ByteOf(raw, 7);
  } else {
    tcb.bootloader = ByteOf(raw, 0);
    tcb.tee = ByteOf(raw, 1);
    tcb.snp = ByteOf(raw, 6);
    tcb.microcode = ByteOf(raw, 7);
  }
  return tcb;
}

GuestPolicy DecodePolicy(std::uint64_t policy) {
  GuestPolicy p;
  p.abi_minor = ByteOf(policy, 0);
  p.abi_major = ByteOf(policy, 1);
  p.smt = Bit(policy, 16);
  p.migrate_ma = Bit(policy, 18);
  p.debug = Bit(policy, 19);
  p.single_socket = Bit(policy, 20);
  p.cxl_allow = Bit(policy, 21);
  p.mem_aes_256_xts = Bit(policy, 22);
  p.rapl_dis = Bit(policy, 23);
  p.ciphertext_hiding = Bit(policy, 24);
  p.page_swap_disable = Bit(policy, 25);
  return p;
}

PlatformInfo DecodePlatformInfo(std::uint64_t platform_info) {
  PlatformInfo p;
  p.smt_en = Bit(platform_info, 0);
  p.tsme_en = Bit(platform_info, 1);
  p.ecc_en = Bit(platform_info, 2);
  p.rapl_dis = Bit(platform_info, 3);
  p.ciphertext_hiding_en = Bit(platform_info, 4);
  p.alias_check_complete = Bit(platform_info, 5);
  p.tio_en = Bit(platform_info, 7);
  return p;
}

Result<Report> Report::Parse(std::span<const std::uint8_t> bytes) {
  // The ABI fixes the size: check it exactly before reading anything.
  if (bytes.size() != kReportSize) {
    return Malformed("size is " + std::to_string(bytes.size()) + " bytes, expected " +
                         std::to_string(kReportSize),
                     "snp_report_size");
  }
  Report out;
  ByteReader r(bytes);

  // 0x000 VERSION
  SKR_TRY(out.version_, r.U32Le());
  if (out.version_ != kVersion2 && out.version_ != kVersion3 && out.version_ != kVersion5) {
    return Malformed(
        "unsupported VERSION " + std::to_string(out.version_) + " (supported: 2, 3, 5)",
        "snp_report_version");
  }
  // 0x004 GUEST_SVN
  SKR_TRY(out.guest_svn_, r.U32Le());
  // 0x008 POLICY
  SKR_TRY(out.policy_, r.U64Le());
  if ((out.policy_ & kPolicyMbzMask) != 0) {
    return Malformed("POLICY (offset 0x008) bits 63:26 are reserved and not zero",
                     "snp_reserved_nonzero");
  }
  if ((out.policy_ & kPolicyReservedOne) == 0) {
    return Malformed("POLICY (offset 0x008) bit 17 is reserved and must be one",
                     "snp_policy_reserved");
  }
  // 0x010 FAMILY_ID, 0x020 IMAGE_ID
  SKR_TRY_VOID(SkipField(r, kOffFamilyId, kFamilyIdSize));
  SKR_TRY_VOID(SkipField(r, kOffImageId, kImageIdSize));
  // 0x030 VMPL, 0x034 SIGNATURE_ALGO
  SKR_TRY(out.vmpl_, r.U32Le());
  SKR_TRY(out.signature_algo_, r.U32Le());
  if (out.signature_algo_ != kSigAlgoEcdsaP384Sha384) {
    return Malformed("SIGNATURE_ALGO " + std::to_string(out.signature_algo_) +
                         " is not 1 (ECDSA P-384 with SHA-384)",
                     "snp_signature_algo");
  }
  // 0x038 CURRENT_TCB, 0x040 PLATFORM_INFO
  SKR_TRY(out.current_tcb_, r.U64Le());
  SKR_TRY(out.platform_info_, r.U64Le());
  // 0x048 AUTHOR_KEY_EN (bit 0), MASK_CHIP_KEY (bit 1), SIGNING_KEY (bits 4:2), 31:5 reserved
  SKR_TRY_VOID(ExpectOffset(r, kOffKeyInfo));
  SKR_TRY(out.key_info_, r.U32Le());
  if ((out.key_info_ & kKeyInfoMbzMask) != 0) {
    return Malformed("word at offset 0x048 bits 31:5 are reserved and not zero",
                     "snp_reserved_nonzero");
  }
  const auto signing_key = (out.key_info_ >> 2) & 0x7U;
  if (signing_key >= 2 && signing_key <= 6) {
    return Malformed(
        "SIGNING_KEY (offset 0x048 bits 4:2) has reserved value " + std::to_string(signing_key),
        "snp_signing_key");
  }
  // 0x04C..0x04F reserved
  SKR_TRY_VOID(TakeReserved(r, 4));
  // 0x050 REPORT_DATA .. 0x160 REPORT_ID_MA
  SKR_TRY_VOID(SkipField(r, kOffReportData, kReportDataSize));
  SKR_TRY_VOID(SkipField(r, kOffMeasurement, kMeasurementSize));
  SKR_TRY_VOID(SkipField(r, kOffHostData, kHostDataSize));
  SKR_TRY_VOID(SkipField(r, kOffIdKeyDigest, kDigestSize));
  SKR_TRY_VOID(SkipField(r, kOffAuthorKeyDigest, kDigestSize));
  SKR_TRY_VOID(SkipField(r, kOffReportId, kReportIdSize));
  SKR_TRY_VOID(SkipField(r, kOffReportIdMa, kReportIdSize));
  // 0x180 REPORTED_TCB
  SKR_TRY_VOID(ExpectOffset(r, kOffReportedTcb));
  SKR_TRY(out.reported_tcb_, r.U64Le());
  // 0x188 CPUID_FAM_ID, 0x189 CPUID_MOD_ID, 0x18A CPUID_STEP (version 3+), then reserved to
  // 0x19F. In version 2 the whole range 0x188..0x19F is reserved.
  SKR_TRY_VOID(ExpectOffset(r, kOffCpuid));
  if (out.version_ >= kVersion3) {
    SKR_TRY(out.cpuid_fam_id_, r.U8());
    SKR_TRY(out.cpuid_mod_id_, r.U8());
    SKR_TRY(out.cpuid_step_, r.U8());
  }
  SKR_TRY_VOID(TakeReserved(r, kOffChipId - r.position()));
  // 0x1A0 CHIP_ID
  SKR_TRY_VOID(SkipField(r, kOffChipId, kChipIdSize));
  // 0x1E0 COMMITTED_TCB
  SKR_TRY_VOID(ExpectOffset(r, kOffCommittedTcb));
  SKR_TRY(out.committed_tcb_, r.U64Le());
  // 0x1E8 CURRENT_BUILD, 0x1E9 CURRENT_MINOR, 0x1EA CURRENT_MAJOR, 0x1EB reserved
  SKR_TRY(out.current_build_, r.U8());
  SKR_TRY(out.current_minor_, r.U8());
  SKR_TRY(out.current_major_, r.U8());
  SKR_TRY_VOID(TakeReserved(r, 1));
  // 0x1EC COMMITTED_BUILD, 0x1ED COMMITTED_MINOR, 0x1EE COMMITTED_MAJOR, 0x1EF reserved
  SKR_TRY(out.committed_build_, r.U8());
  SKR_TRY(out.committed_minor_, r.U8());
  SKR_TRY(out.committed_major_, r.U8());
  SKR_TRY_VOID(TakeReserved(r, 1));
  // 0x1F0 LAUNCH_TCB
  SKR_TRY_VOID(ExpectOffset(r, kOffLaunchTcb));
  SKR_TRY(out.launch_tcb_, r.U64Le());
  // 0x1F8 LAUNCH_MIT_VECTOR, 0x200 CURRENT_MIT_VECTOR (version 5+), then reserved to 0x29F.
  // Before version 5 the whole range 0x1F8..0x29F is reserved.
  SKR_TRY_VOID(ExpectOffset(r, kOffMitVectors));
  if (out.version_ >= kVersion5) {
    SKR_TRY(out.launch_mit_vector_, r.U64Le());
    SKR_TRY(out.current_mit_vector_, r.U64Le());
  }
  SKR_TRY_VOID(TakeReserved(r, kOffSignatureR - r.position()));
  // 0x2A0 SIGNATURE (ABI spec chapter 10, "ECDSA P-384 with SHA-384 Signature"): R at +0x00,
  // S at +0x48, each 72 bytes little-endian; +0x90..+0x1FF reserved.
  SKR_TRY_VOID(SkipField(r, kOffSignatureR, kSignatureComponentSize));
  SKR_TRY_VOID(SkipField(r, kOffSignatureS, kSignatureComponentSize));
  SKR_TRY_VOID(ExpectOffset(r, kOffSignatureEnd));
  SKR_TRY_VOID(TakeReserved(r, r.remaining()));

  out.bytes_.assign(bytes.begin(), bytes.end());
  return out;
}

std::span<const std::uint8_t> Report::Field(std::size_t offset, std::size_t size) const {
  return std::span<const std::uint8_t>(bytes_).subspan(offset, size);
}

std::span<const std::uint8_t> Report::family_id() const {
  return Field(kOffFamilyId, kFamilyIdSize);
}
std::span<const std::uint8_t> Report::image_id() const { return Field(kOffImageId, kImageIdSize); }
std::span<const std::uint8_t> Report::report_data() const {
  return Field(kOffReportData, kReportDataSize);
}
std::span<const std::uint8_t> Report::measurement() const {
  return Field(kOffMeasurement, kMeasurementSize);
}
std::span<const std::uint8_t> Report::host_data() const {
  return Field(kOffHostData, kHostDataSize);
}
std::span<const std::uint8_t> Report::id_key_digest() const {
  return Field(kOffIdKeyDigest, kDigestSize);
}
std::span<const std::uint8_t> Report::author_key_digest() const {
  return Field(kOffAuthorKeyDigest, kDigestSize);
}
std::span<const std::uint8_t> Report::report_id() const {
  return Field(kOffReportId, kReportIdSize);
}
std::span<const std::uint8_t> Report::report_id_ma() const {
  return Field(kOffReportIdMa, kReportIdSize);
}
std::span<const std::uint8_t> Report::chip_id() const { return Field(kOffChipId, kChipIdSize); }
std::span<const std::uint8_t> Report::signature_r() const {
  return Field(kOffSignatureR, kSignatureComponentSize);
}
std::span<const std::uint8_t> Report::signature_s() const {
  return Field(kOffSignatureS, kSignatureComponentSize);
}
std::span<const std::uint8_t> Report::signed_bytes() const { return Field(0, kSignedSize); }

Product Report::ProductFromCpuid() const {
  if (!cpuid_fam_id_ || !cpuid_mod_id_) return Product::kUnknown;
  const std::uint8_t family = *cpuid_fam_id_;
  const std::uint8_t model = *cpuid_mod_id_;
  // Family 19h (Zen 3 / Zen 4): Milan 00h-0Fh; Genoa 10h-1Fh, and the Genoa-family parts
  // (Bergamo, Siena) A0h-AFh, which share Genoa's ARK/ASK. Family 1Ah (Zen 5): Turin 00h-11h.
  if (family == 0x19) {
    if (model <= 0x0F) return Product::kMilan;
    if ((model >= 0x10 && model <= 0x1F) || (model >= 0xA0 && model <= 0xAF)) {
      return Product::kGenoa;
    }
    return Product::kUnknown;
  }
  if (family == 0x1A && model <= 0x11) return Product::kTurin;
  return Product::kUnknown;
}

}  // namespace skr::attestation::snp
