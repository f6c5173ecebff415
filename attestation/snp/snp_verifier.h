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
#include <vector>

#include "attestation/snp/amd_roots.h"
#include "attestation/snp/cert_chain.h"
#include "attestation/verifier.h"
#include "common/clock.h"

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
  std::map<Product, X509CrlPtr> crls;        // checked when present
  const SnpCollateral* collateral = nullptr;  // not owned; may be null
};

inline constexpr std::size_t kMaxSnpEvidenceCertBytes = 96 * 1024;

class SnpVerifier final : public Verifier {
 public:
  // `clock` must outlive the verifier.
  SnpVerifier(SnpVerifierOptions options, const Clock& clock)
      : options_(std::move(options)), clock_(clock) {}
  std::string_view type() const override { return "sev-snp"; }
  Result<VerifiedEvidence> Verify(const Json& evidence) const override;
  const AmdTrustStore& trust() const { return options_.trust; }

 private:
  SnpVerifierOptions options_;
  const Clock& clock_;
};

}  // namespace skr::attestation::snp
