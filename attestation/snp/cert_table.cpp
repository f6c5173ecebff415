// SPDX-License-Identifier: Apache-2.0
#include "attestation/snp/cert_table.h"

#include <array>

#include "common/byte_reader.h"
#include "common/encoding.h"

namespace skr::attestation::snp {
namespace {

// GHCB specification, certificate table GUIDs.
struct KnownGuid {
  const char* text;
  CertKind kind;
};
constexpr std::array<KnownGuid, 5> kKnown = {{
    {"63da758d-e664-4564-adc5-f4b93be8accd", CertKind::kVcek},
    {"a8074bc2-a25a-483e-aae6-39c045a0b8a1", CertKind::kVlek},
    {"4ab7b379-bbac-4fe4-a02f-05aef327c782", CertKind::kAsk},
    {"c0b406a4-a803-4952-9743-3fb6014cd0ae", CertKind::kArk},
    {"92f81bc3-5811-4d3d-97ff-d19f88dc67ea", CertKind::kCrl},
}};

std::string GuidText(std::span<const std::uint8_t> g, bool mixed_endian) {
  std::array<std::uint8_t, 16> b{};
  for (std::size_t i = 0; i < 16; ++i) b[i] = g[i];
  if (mixed_endian) {  // UEFI: the first three fields little-endian
    std::swap(b[0], b[3]);
    std::swap(b[1], b[2]);
    std::swap(b[4], b[5]);
    std::swap(b[6], b[7]);
  }
  const std::string h = HexEncode(b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

Error Bad(const std::string& msg) {
  return Error(ErrorCode::kMalformedEvidence, "SNP certificate table: " + msg, "snp_cert_table");
}

}  // namespace

Result<std::vector<CertTableEntry>> ParseCertTable(std::span<const std::uint8_t> blob) {
  if (blob.size() > kMaxCertTableBytes) return Bad("too large");
  ByteReader r(blob);
  std::vector<CertTableEntry> out;
  while (true) {
    auto guid = r.Take(16);
    if (!guid) return Bad("no terminating entry");
    auto offset = r.U32Le();
    auto length = r.U32Le();
    if (!offset || !length) return Bad("truncated entry");
    bool zero_guid = true;
    for (std::uint8_t b : *guid) zero_guid = zero_guid && b == 0;
    if (zero_guid) {
      if (*offset != 0 || *length != 0) return Bad("terminator entry is not all zero");
      break;
    }
    if (out.size() == kMaxCertTableEntries) return Bad("too many entries");
    if (*length == 0) return Bad("zero-length entry");
    if (*offset > blob.size() || *length > blob.size() - *offset) {
      return Bad("entry points outside the table");
    }
    CertTableEntry e;
    e.guid = GuidText(*guid, false);
    for (const auto& k : kKnown) {
      if (e.guid == k.text || GuidText(*guid, true) == k.text) {
        e.kind = k.kind;
        e.guid = k.text;
      }
    }
    e.data.assign(blob.begin() + *offset, blob.begin() + *offset + *length);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace skr::attestation::snp
