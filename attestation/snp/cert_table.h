// SPDX-License-Identifier: Apache-2.0
// The certificate table that accompanies an extended SEV-SNP report (GHCB specification,
// "SNP Extended Guest Request": a list of {GUID guid; u32 offset; u32 length} entries ending
// with an all-zero entry, followed by the certificates at the given offsets). Linux exposes it
// as configfs-tsm's auxblob and as SNP_GET_EXT_REPORT's certs buffer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"

namespace skr::attestation::snp {

enum class CertKind { kVcek, kVlek, kAsk, kArk, kCrl, kOther };

struct CertTableEntry {
  CertKind kind = CertKind::kOther;
  std::string guid;                // canonical lowercase text
  std::vector<std::uint8_t> data;  // DER (or PEM text, as some hosts store it)
};

inline constexpr std::size_t kMaxCertTableBytes = 64 * 1024;
inline constexpr std::size_t kMaxCertTableEntries = 16;

// Parses the table. GUIDs are matched in RFC 4122 byte order and in the mixed-endian (UEFI)
// order some hosts write. Errors (kMalformedEvidence, reason "snp_cert_table"): over the size
// or entry limit, no terminator, an entry pointing outside the blob, or a zero length.
Result<std::vector<CertTableEntry>> ParseCertTable(std::span<const std::uint8_t> blob);

}  // namespace skr::attestation::snp
