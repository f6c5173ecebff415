// SPDX-License-Identifier: Apache-2.0
// Endorsements (VCEK/VLEK certificates that chained to a pinned AMD root) already verified by an
// SnpVerifier, kept so that the next report signed by the same chip and TCB does not parse the
// certificate again (issue 10: parsing the VCEK with OpenSSL 3.0 cost more than the report's
// ECDSA P-384 verify).
//
// Keyed by SHA-256 over the bytes the attester offered (with a tag for their form), so a hit is
// found before anything is parsed. Only endorsements that passed every check of
// VerifyEndorsement are stored; nothing about a failure is kept (a bad certificate costs the
// full check every time, as before). What depends on time is re-checked on each hit by the
// verifier (validity of leaf, ASK/ASVK and ARK; usability of the CRLs that cover the chain), and
// an entry is only used under the CRL set generation it was checked with: a CRL reload makes
// every entry miss. Bounded (FIFO eviction); thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>

#include "attestation/snp/cert_chain.h"
#include "common/ecdsa_p384.h"
#include "common/ossl.h"
#include "common/thread_annotations.h"

namespace skr::attestation::snp {

using OfferDigest = std::array<std::uint8_t, 32>;

struct CachedEndorsement {
  VerifiedEndorsement endorsement;  // includes the intermediate and ARK of the chain
  P384PublicKey key;                // endorsement.key in nettle's form (report signatures)
  X509Ptr leaf;                     // the parsed certificate (full re-check on a failed hit)
  std::uint64_t crl_generation = 0;
  std::array<std::uint8_t, 32> ark_sha256{};
  std::array<std::uint8_t, 32> intermediate_sha256{};
};

class EndorsementCache {
 public:
  explicit EndorsementCache(std::size_t capacity) : capacity_(capacity) {}

  std::shared_ptr<const CachedEndorsement> Find(const OfferDigest& digest) const
      SKR_EXCLUDES(mu_);
  // Replaces an entry under the same digest; evicts the oldest entry when full.
  void Insert(const OfferDigest& digest, std::shared_ptr<const CachedEndorsement> entry)
      SKR_EXCLUDES(mu_);
  std::size_t size() const SKR_EXCLUDES(mu_);

 private:
  const std::size_t capacity_;
  mutable Mutex mu_;
  std::map<OfferDigest, std::shared_ptr<const CachedEndorsement>> entries_ SKR_GUARDED_BY(mu_);
  std::deque<OfferDigest> order_ SKR_GUARDED_BY(mu_);  // insertion order, oldest first
};

}  // namespace skr::attestation::snp
