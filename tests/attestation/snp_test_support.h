// SPDX-License-Identifier: Apache-2.0
// Test helpers for SEV-SNP: a builder of ATTESTATION_REPORT bytes from fields, the table of the
// report's reserved ranges, and an ECDSA P-384 signer for reports built here (test keys only).
// Offsets follow SEV-SNP Firmware ABI (pub. 56860), table "ATTESTATION_REPORT Structure"; the
// builder is written independently of attestation/snp/report.cpp so that tests cross-check it.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/result.h"

namespace skr::test {

// A recognisable non-zero filler: seed, seed+1, ... (mod 256).
template <std::size_t N>
constexpr std::array<std::uint8_t, N> SnpPattern(std::uint8_t seed) {
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::uint8_t>(seed + i);
  return out;
}

// Every field of the report. Defaults describe a plausible Milan (v3) guest: policy 0x30000
// (SMT allowed, reserved bit 17 set, no debug), VMPL 0, signed by a VCEK, every byte-array field
// filled with a distinct pattern so that an offset mistake shows up.
struct SnpReportFields {
  std::uint32_t version = 3;                                      // 0x000; 2, 3 and 5 supported
  std::uint32_t guest_svn = 7;                                    // 0x004
  std::uint64_t policy = 0x30000;                                 // 0x008
  std::array<std::uint8_t, 16> family_id = SnpPattern<16>(0x10);  // 0x010
  std::array<std::uint8_t, 16> image_id = SnpPattern<16>(0x20);   // 0x020
  std::uint32_t vmpl = 0;                                         // 0x030
  std::uint32_t signature_algo = 1;                               // 0x034
  std::uint64_t current_tcb = 0xD918000000000004;  // 0x038: ucode 0xD9, snp 0x18, bl 4
  std::uint64_t platform_info = 0x25;              // 0x040: SMT_EN, ECC_EN, ALIAS_CHECK_COMPLETE
  std::uint32_t key_info = 0;  // 0x048: AUTHOR_KEY_EN | MASK_CHIP_KEY<<1 | SIGNING_KEY<<2
  std::array<std::uint8_t, 64> report_data = SnpPattern<64>(0x50);        // 0x050
  std::array<std::uint8_t, 48> measurement = SnpPattern<48>(0x90);        // 0x090
  std::array<std::uint8_t, 32> host_data = SnpPattern<32>(0xC0);          // 0x0C0
  std::array<std::uint8_t, 48> id_key_digest = SnpPattern<48>(0xE0);      // 0x0E0
  std::array<std::uint8_t, 48> author_key_digest = SnpPattern<48>(0x11);  // 0x110
  std::array<std::uint8_t, 32> report_id = SnpPattern<32>(0x40);          // 0x140
  std::array<std::uint8_t, 32> report_id_ma = SnpPattern<32>(0x60);       // 0x160
  std::uint64_t reported_tcb = 0xD316000000000003;                        // 0x180
  std::uint8_t cpuid_fam_id = 0x19;                                       // 0x188 (v3+)
  std::uint8_t cpuid_mod_id = 0x01;                                       // 0x189 (v3+)
  std::uint8_t cpuid_step = 0x01;                                         // 0x18A (v3+)
  std::array<std::uint8_t, 64> chip_id = SnpPattern<64>(0xA0);            // 0x1A0
  std::uint64_t committed_tcb = 0xD417000000000003;                       // 0x1E0
  std::uint8_t current_build = 29;                                        // 0x1E8
  std::uint8_t current_minor = 55;                                        // 0x1E9
  std::uint8_t current_major = 1;                                         // 0x1EA
  std::uint8_t committed_build = 28;                                      // 0x1EC
  std::uint8_t committed_minor = 55;                                      // 0x1ED
  std::uint8_t committed_major = 1;                                       // 0x1EE
  std::uint64_t launch_tcb = 0xD215000000000002;                          // 0x1F0
  std::uint64_t launch_mit_vector = 0x3;                                  // 0x1F8 (v5+)
  std::uint64_t current_mit_vector = 0x7;                                 // 0x200 (v5+)
  std::array<std::uint8_t, 72> signature_r = SnpPattern<72>(0x01);        // 0x2A0
  std::array<std::uint8_t, 72> signature_s = SnpPattern<72>(0x81);        // 0x2E8
};

// The 0x4A0-byte report; reserved ranges are zero; CPUID_* only written for version >= 3 and the
// mitigation vectors only for version >= 5 (otherwise those bytes are reserved and left zero).
std::vector<std::uint8_t> BuildSnpReport(const SnpReportFields& fields = {});

// A byte range [begin, end) that must be zero in reports of versions min_version..max_version.
struct SnpReservedRange {
  std::size_t begin;
  std::size_t end;
  std::uint32_t min_version;
  std::uint32_t max_version;
  bool AppliesTo(std::uint32_t version) const {
    return version >= min_version && version <= max_version;
  }
};

// ATTESTATION_REPORT Structure: every reserved byte range, by report version.
inline constexpr std::array<SnpReservedRange, 8> kSnpReservedRanges = {{
    {0x04C, 0x050, 2, 5},  // after the AUTHOR_KEY_EN/MASK_CHIP_KEY/SIGNING_KEY word
    {0x188, 0x1A0, 2, 2},  // v2: all reserved between REPORTED_TCB and CHIP_ID
    {0x18B, 0x1A0, 3, 5},  // v3+: after CPUID_FAM_ID/CPUID_MOD_ID/CPUID_STEP
    {0x1EB, 0x1EC, 2, 5},  // after CURRENT_MAJOR
    {0x1EF, 0x1F0, 2, 5},  // after COMMITTED_MAJOR
    {0x1F8, 0x2A0, 2, 3},  // before v5: all reserved between LAUNCH_TCB and SIGNATURE
    {0x208, 0x2A0, 5, 5},  // v5: after LAUNCH_MIT_VECTOR/CURRENT_MIT_VECTOR
    {0x330, 0x4A0, 2, 5},  // SIGNATURE bytes after R and S (ECDSA P-384 format)
}};

// Signs bytes [0, 0x2A0) of `report` with `key` (EC P-384, ECDSA with SHA-384) and writes R and S
// as 72-byte little-endian values at 0x2A0 / 0x2E8, as the AMD-SP does.
Result<void> SignSnpReport(std::vector<std::uint8_t>& report, EVP_PKEY* key);

}  // namespace skr::test
