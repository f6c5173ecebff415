// SPDX-License-Identifier: Apache-2.0
// The evidence types skrd can serve, as one table (issue 13, the TEE seam): each row names the
// evidence types it registers, the config section that configures it, whether the config
// enables it, and the factory that builds its verifier from the config and the server-side
// collateral it needs. Adding a TEE is its folder under attestation/ plus one row here.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "attestation/registry.h"
#include "attestation/snp/snp_verifier.h"
#include "attestation/tpm/tpm_verifier.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/x509.h"
#include "config/config.h"

namespace skr::server {

class TdxCollateralStore;

// What the factories may use beyond the config; each may be null (check-config builds the
// verifiers without a store).
struct VerifierDeps {
  const Clock& clock;
  const attestation::snp::SnpCollateral* snp_collateral = nullptr;  // VCEK/VLEK cache
  const attestation::tpm::AkDirectory* enrolled_aks = nullptr;      // enrolled TPM AKs
  TdxCollateralStore* tdx_store = nullptr;                          // imported TDX collateral
};

// What skrd still needs from the built verifiers afterwards.
struct BuiltVerifiers {
  const attestation::snp::AmdTrustStore* snp_trust = nullptr;  // null: sev-snp disabled
  attestation::snp::SnpVerifier* snp = nullptr;  // owned by the registry; CRL reloads
  bool tdx = false;
  // TPM AK enrolment (BrokerOptions): the EK authorities and rules of [attestation.tpm].
  std::vector<X509Ptr> tpm_ek_roots;
  bool tpm_require_ek = true;
  int tpm_enrollment_ttl_seconds = 300;
  // What the operator must hear at start and from check-config (e.g. the development attester).
  std::vector<std::string> warnings;
};

struct VerifierEntry {
  const char* types;    // evidence types the row registers, space-separated
  const char* section;  // its config section
  std::shared_ptr<ConfigSectionBase> (*config)();  // that section's keys and validation
  bool (*enabled)(const config::Config& cfg);
  Result<void> (*add)(const config::Config& cfg, const VerifierDeps& deps,
                      attestation::Registry& registry, BuiltVerifiers& out);
};

std::span<const VerifierEntry> VerifierTable();
// The config sections of every row (and the Azure identities they share): what LoadConfig parses
// beside its fixed sections.
config::SectionList ConfigSections();

// Registers the verifier of every row the config enables. Errors: the row's (a bad file named
// by the config, ...), kInvalidArgument.
Result<BuiltVerifiers> BuildVerifiers(const config::Config& cfg, attestation::Registry& registry,
                                      const VerifierDeps& deps);

// A PEM bundle or one DER certificate named by config key `key`.
Result<std::vector<X509Ptr>> LoadCertFile(const std::string& key, const std::string& path);
// The EK certificate authorities for TPM AK enrolment ([attestation.tpm] ek_roots).
Result<std::vector<X509Ptr>> LoadEkRoots(const config::Config& cfg);

// SIGHUP: re-reads [attestation.snp] crl_file. A file that fails to load leaves the CRLs in force
// untouched. Runs on an I/O thread; the swap itself is SnpVerifier::ReplaceCrls.
class CrlReloader {
 public:
  CrlReloader(const config::Config& cfg, attestation::snp::SnpVerifier* snp, const Clock& clock);
  void Reload();
  // The CRL gauges and reload counters of /metrics.
  std::string MetricsText() const;

 private:
  const config::Config& cfg_;
  attestation::snp::SnpVerifier* snp_;
  const Clock& clock_;
  std::atomic<std::uint64_t> ok_{0};
  std::atomic<std::uint64_t> failed_{0};
};

}  // namespace skr::server
