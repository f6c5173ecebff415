// SPDX-License-Identifier: Apache-2.0
#include "tpm/wire.h"

#include <tss2/tss2_mu.h>

#include <algorithm>

namespace skr::tpm_wire {
namespace {

struct HashAlg {
  TPM2_ALG_ID id;
  const char* bank;
  std::size_t size;
  const EVP_MD* (*md)();  // null: no OpenSSL default implementation
};

// TCG Algorithm Registry 1.34, table 3 (hash algorithms a PC Client TPM banks).
constexpr HashAlg kHashes[] = {
    {TPM2_ALG_SHA1, "sha1", 20, EVP_sha1},
    {TPM2_ALG_SHA256, "sha256", 32, EVP_sha256},
    {TPM2_ALG_SHA384, "sha384", 48, EVP_sha384},
    {TPM2_ALG_SHA512, "sha512", 64, EVP_sha512},
    {TPM2_ALG_SM3_256, "sm3_256", 32, nullptr},
};

const HashAlg* Find(TPM2_ALG_ID alg) {
  for (const HashAlg& h : kHashes) {
    if (h.id == alg) return &h;
  }
  return nullptr;
}

Error Malformed(const char* msg) {
  return Error(ErrorCode::kMalformedEvidence, std::string("tpm: ") + msg, "tpm_public_malformed");
}

}  // namespace

std::string BankName(TPM2_ALG_ID alg) {
  const HashAlg* h = Find(alg);
  return h != nullptr ? h->bank : "";
}

TPM2_ALG_ID BankAlg(std::string_view bank) {
  for (const HashAlg& h : kHashes) {
    if (bank == h.bank) return h.id;
  }
  return TPM2_ALG_ERROR;
}

std::size_t DigestSize(TPM2_ALG_ID alg) {
  const HashAlg* h = Find(alg);
  return h != nullptr ? h->size : 0;
}

const EVP_MD* HashMd(TPM2_ALG_ID alg) {
  const HashAlg* h = Find(alg);
  return h != nullptr && h->md != nullptr ? h->md() : nullptr;
}

const EVP_MD* StrongHashMd(TPM2_ALG_ID alg) {
  return alg == TPM2_ALG_SHA1 ? nullptr : HashMd(alg);
}

TPMS_PCR_SELECTION EncodePcrSelection(TPM2_ALG_ID hash, std::span<const unsigned> indexes) {
  TPMS_PCR_SELECTION s{};
  s.hash = hash;
  s.sizeofSelect = kPcrSelectBytes;
  for (unsigned i : indexes) {
    if (i > kMaxPcrIndex) continue;
    s.pcrSelect[i / 8] = static_cast<BYTE>(s.pcrSelect[i / 8] | (1u << (i % 8)));
  }
  return s;
}

std::vector<unsigned> DecodePcrSelection(const TPMS_PCR_SELECTION& selection) {
  std::vector<unsigned> out;
  const unsigned bytes = std::min<unsigned>(selection.sizeofSelect, TPM2_PCR_SELECT_MAX);
  for (unsigned byte = 0; byte < bytes; ++byte) {
    for (unsigned bit = 0; bit < 8; ++bit) {
      if ((selection.pcrSelect[byte] >> bit) & 1u) out.push_back(byte * 8 + bit);
    }
  }
  return out;
}

Result<std::vector<std::uint8_t>> MarshalPublic(const TPMT_PUBLIC& pub) {
  std::vector<std::uint8_t> out(sizeof(TPMT_PUBLIC));
  std::size_t offset = 0;
  if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub, out.data(), out.size(), &offset) != TSS2_RC_SUCCESS) {
    return Malformed("TPMT_PUBLIC does not marshal");
  }
  out.resize(offset);
  return out;
}

Result<std::vector<std::uint8_t>> ObjectName(const TPMT_PUBLIC& pub) {
  const EVP_MD* md = StrongHashMd(pub.nameAlg);
  if (md == nullptr) return Malformed("unsupported nameAlg");
  SKR_TRY(std::vector<std::uint8_t> bytes, MarshalPublic(pub));
  std::uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &len, md, nullptr) != 1) {
    return Error(ErrorCode::kInternal, "tpm: EVP_Digest failed");
  }
  std::vector<std::uint8_t> name = {static_cast<std::uint8_t>(pub.nameAlg >> 8),
                                    static_cast<std::uint8_t>(pub.nameAlg & 0xff)};
  name.insert(name.end(), digest, digest + len);
  return name;
}

}  // namespace skr::tpm_wire
