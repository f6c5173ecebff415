// SPDX-License-Identifier: Apache-2.0
// What the broker's services (release, admin, audit queries) share: the stores, the verifiers,
// the clock, the options, and the caches every admin change invalidates. Transport-free.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "attestation/registry.h"
#include "attestation/snp/amd_roots.h"
#include "audit/audit.h"
#include "common/clock.h"
#include "common/x509.h"
#include "keystore/keystore.h"
#include "server/broker/authorize.h"
#include "server/broker/release_caches.h"

namespace skr::server {

class TdxCollateralStore;  // server/broker/tdx_collateral.h

struct BrokerOptions {
  int nonce_ttl_seconds = 120;
  std::size_t max_json_bytes = 256 * 1024;
  // AMD roots used to check VCEK/VLEK certificates before they enter the cache; null when
  // sev-snp is disabled.
  const attestation::snp::AmdTrustStore* snp_trust = nullptr;
  // The TDX collateral store (issue 13); null when tdx is disabled.
  TdxCollateralStore* tdx_collateral = nullptr;
  // TPM AK enrolment (issue 4): EK certificate authorities (null or empty: enrolment with an EK
  // is refused), whether an EK + ActivateCredential round trip is required, how long a
  // MakeCredential challenge stays valid.
  const std::vector<X509Ptr>* tpm_ek_roots = nullptr;
  bool tpm_require_ek = true;
  int tpm_enrollment_ttl_seconds = 300;
  // Keep each release's evidence, tee-pubkey, nonce and policy digest beside its audit record
  // for offline replay (audit.replay_retention_days > 0).
  bool keep_replay_bundles = true;
};

struct Page {
  int limit = 100;
  std::string after;  // exclusive cursor (a name or id)
};

struct ReleaseStats {
  std::atomic<std::uint64_t> granted{0};
  std::atomic<std::uint64_t> denied{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> challenges{0};
  std::atomic<std::uint64_t> unknown_key{0};  // releases naming unknown tenants/keys (aggregated)
};

// The shared state. Owned by Broker; the services hold references.
struct BrokerContext {
  keystore::KeyStore& keys;
  audit::AuditLog& audit;
  const attestation::Registry& verifiers;
  const Clock& clock;
  BrokerOptions options;
  KeyInfoCache key_cache{std::chrono::seconds(5), 10000};
  PolicyCache policy_cache{10000};
};

// The context's parts under the names the services' code uses.
class BrokerRefs {
 protected:
  explicit BrokerRefs(BrokerContext& c);
  keystore::KeyStore& keys_;
  audit::AuditLog& audit_;
  const attestation::Registry& verifiers_;
  const Clock& clock_;
  const BrokerOptions& options_;
  KeyInfoCache& key_cache_;
  PolicyCache& policy_cache_;
};

}  // namespace skr::server
