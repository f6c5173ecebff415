// SPDX-License-Identifier: Apache-2.0
// TPM 2.0 wire facts both sides need (DESIGN.md section 1: `tpm/`, skr::tpm_wire): the verifiers
// (attestation/tpm, attestation/azure) and the agent (client/tpm_attester) link this one copy,
// never their own. On libtss2-mu (structures are marshalled by it, never by hand) and OpenSSL.
//   - the hash algorithms of PCR banks, names and signatures: TCG Algorithm Registry ids, the
//     bank names skr uses on the wire ("sha256", ...), digest sizes, OpenSSL digests;
//   - TPMS_PCR_SELECTION bitmaps (TPM 2.0 Library Part 2, 10.6.2);
//   - TPMT_PUBLIC marshalling and object Names (Part 1, section 16 "Names").
#pragma once

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace skr::tpm_wire {

// PC Client platforms have PCRs 0..23 (TCG PC Client Platform TPM Profile, 4.6); a selection
// bitmap of 3 bytes covers them.
inline constexpr unsigned kMaxPcrIndex = 23;
inline constexpr std::uint8_t kPcrSelectBytes = 3;
// Banks a quote or an evidence document may name (sha1, sha256, sha384, sha512, sm3_256).
inline constexpr std::size_t kMaxPcrBanks = 5;

// "sha1", "sha256", "sha384", "sha512", "sm3_256"; empty for any other algorithm.
std::string BankName(TPM2_ALG_ID alg);
// The inverse of BankName; TPM2_ALG_ERROR when unknown.
TPM2_ALG_ID BankAlg(std::string_view bank);
// Digest size in bytes of a bank's hash; 0 when unknown.
std::size_t DigestSize(TPM2_ALG_ID alg);
// The OpenSSL digest of a hash algorithm; null when OpenSSL's default provider has none (SM3)
// or the algorithm is unknown.
const EVP_MD* HashMd(TPM2_ALG_ID alg);
// HashMd for what must resist collisions (object names, credential protection, signatures):
// never SHA-1.
const EVP_MD* StrongHashMd(TPM2_ALG_ID alg);

// One bank's selection bitmap (bit n of pcrSelect[n / 8] is PCR n), kPcrSelectBytes long.
// Indexes above kMaxPcrIndex are ignored.
TPMS_PCR_SELECTION EncodePcrSelection(TPM2_ALG_ID hash, std::span<const unsigned> indexes);
// The selected indexes, ascending (any sizeofSelect up to the structure's maximum).
std::vector<unsigned> DecodePcrSelection(const TPMS_PCR_SELECTION& selection);

// The marshalled TPMT_PUBLIC. Errors: kMalformedEvidence "tpm_public_malformed".
Result<std::vector<std::uint8_t>> MarshalPublic(const TPMT_PUBLIC& pub);
// The object's Name: nameAlg (big-endian UINT16) || H_nameAlg(marshalled TPMT_PUBLIC), nameAlg
// SHA-256/384/512. Errors: kMalformedEvidence "tpm_public_malformed".
Result<std::vector<std::uint8_t>> ObjectName(const TPMT_PUBLIC& pub);

}  // namespace skr::tpm_wire
