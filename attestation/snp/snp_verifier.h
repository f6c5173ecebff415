// SPDX-License-Identifier: Apache-2.0
// The `sev-snp` evidence type (DESIGN.md sections 2-3):
//   {"type": "sev-snp", "report": base64(1184 bytes),
//    "vcek": PEM or base64 DER (optional),
//    "cert_chain": base64 of the extended-report certificate table, or a PEM bundle (optional)}
// Without a VCEK/VLEK in the evidence, the admin-provisioned cache (SnpCollateral) is asked.
// Parse (report, certificates) -> Verify (AMD chain to pinned roots, CRLs, report signature) ->
// Validate (signer kind, TCB and CHIP_ID against the certificate, product) -> claims.
// No I/O: collateral arrives through SnpCollateral, which the server implements.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "attestation/snp/amd_roots.h"
#include "attestation/snp/cert_chain.h"
#include "attestation/snp/endorsement_cache.h"
#include "attestation/verifier.h"
#include "common/clock.h"
#include "common/thread_annotations.h"

namespace skr::attestation::snp {

// Certificates admins provisioned (VCEK/VLEK cache) and CRLs. Thread-safe.
class SnpCollateral {
 public:
  virtual ~SnpCollateral() = default;
  // DER certificates that may have signed a report with this CHIP_ID and REPORTED_TCB.
  virtual std::vector<std::vector<std::uint8_t>> Candidates(Signer signer,
                                                            std::span<const std::uint8_t> chip_id,
                                                            std::uint64_t reported_tcb) const = 0;
};

// The lookup key under which a VCEK/VLEK is cached, from its own extensions:
// "vcek:<hwID hex>:<bl>.<tee>.<snp>.<ucode>[.<fmc>]" or
// "vlek:<bl>.<tee>.<snp>.<ucode>[.<fmc>]:<hex of cspId>".
std::string CollateralKey(Signer signer, const VcekExtensions& ext);
// The keys a report may be found under (one per possible product layout / hwID length). VLEK
// keys are prefixes (any cspId).
std::vector<std::string> CollateralKeysForReport(Signer signer, std::span<const std::uint8_t> chip_id,
                                                 std::uint64_t reported_tcb);

struct SnpVerifierOptions {
  AmdTrustStore trust = AmdTrustStore::Pinned();
  // CRLs built against `trust` (CrlSet::Create); null or empty: no revocation checking.
  std::shared_ptr<const CrlSet> crls;
  const SnpCollateral* collateral = nullptr;  // not owned; may be null
};

inline constexpr std::size_t kMaxSnpEvidenceCertBytes = 96 * 1024;

// Thread-safety: Verify, trust(), crls() and ReplaceCrls may be called concurrently.
class SnpVerifier final : public Verifier {
 public:
  // `clock` must outlive the verifier. CRL freshness is judged against it at each Verify.
  SnpVerifier(SnpVerifierOptions options, const Clock& clock)
      : options_(std::move(options)), clock_(clock), crls_(std::move(options_.crls)) {}
  std::string_view type() const override { return "sev-snp"; }
  // Errors: see cert_chain.h (VerifyEndorsement with a CrlSet), report.h, verify.h; a CRL that
  // is stale beyond CrlSet::max_staleness_seconds is kUnavailable "snp_crl_stale".
  Result<VerifiedEvidence> Verify(const Json& evidence) const override;
  // As at state.time, with the VCEK/VLEK kept as "snp_signer" (when the release took it from the
  // cache) and the CRLs kept as "snp_crl.N" (none kept: no revocation check, as at the release);
  // the endorsement cache is neither read nor filled. Without "snp_signer", the cache of now.
  Result<VerifiedEvidence> VerifyRecorded(const Json& evidence,
                                          const RecordedState& state) const override;
  const AmdTrustStore& trust() const { return options_.trust; }

  // The CRL set in force (may be null).
  std::shared_ptr<const CrlSet> crls() const SKR_EXCLUDES(crl_mu_);
  // Makes `crls` (built against trust()) the set for Verify calls that start afterwards; calls
  // already running finish with the set they started with (they hold a reference to it).
  void ReplaceCrls(std::shared_ptr<const CrlSet> crls) SKR_EXCLUDES(crl_mu_);

  // Endorsements verified so far and kept for the next report of the same chip and TCB
  // (endorsement_cache.h); exposed for tests.
  std::size_t cached_endorsements() const { return cache_.size(); }

 private:
  // What one verification judges with: time, CRLs, and (replay) the kept VCEK/VLEK.
  struct Context {
    std::int64_t now = 0;
    std::shared_ptr<const CrlSet> crls;
    std::uint64_t crl_generation = 0;
    bool replay = false;                          // no endorsement cache
    const std::string* recorded_signer = nullptr;  // replay: DER kept with the bundle
  };
  Result<VerifiedEvidence> VerifyWith(const Json& evidence, const Context& ctx) const;
  std::pair<std::shared_ptr<const CrlSet>, std::uint64_t> CrlSnapshot() const
      SKR_EXCLUDES(crl_mu_);
  SnpVerifierOptions options_;  // options_.crls is moved into crls_ and stays null
  const Clock& clock_;
  mutable Mutex crl_mu_;
  std::shared_ptr<const CrlSet> crls_ SKR_GUARDED_BY(crl_mu_);
  std::uint64_t crl_generation_ SKR_GUARDED_BY(crl_mu_) = 0;
  // 256 chips x TCBs: a fleet's hosts between two TCB updates; FIFO beyond.
  mutable EndorsementCache cache_{256};
};

}  // namespace skr::attestation::snp
