// SPDX-License-Identifier: Apache-2.0
// AMD's SEV-SNP certificate roots, pinned in the binary, and a trust store over them.
//
// Per product (processor generation) AMD publishes three certificates (VCEK Certificate and KDS
// Interface Specification, AMD publication 57230: its certificate-chain overview, and chapter 4
// "KDS interface"):
//   ARK  - AMD Root Key, RSA-4096, self-signed;
//   ASK  - AMD SEV Key, signed by the ARK, issues VCEKs (GET /vcek/v1/{product}/cert_chain);
//   ASVK - AMD SEV VLEK Key, signed by the ARK, issues VLEKs (GET /vlek/v1/{product}/cert_chain).
// All three sign with RSASSA-PSS, SHA-384, MGF1-SHA-384, salt length 48.
#pragma once

#include <vector>

#include "attestation/snp/report.h"
#include "common/ossl.h"
#include "common/result.h"

namespace skr::attestation::snp {

// The roots of one product. `ark` is always set; `ask` and/or `asvk` may be null for a test PKI
// that has only one of them (the pinned AMD roots have all three).
struct AmdProductRoots {
  Product product = Product::kUnknown;
  X509Ptr ark;
  X509Ptr ask;
  X509Ptr asvk;
};

// The pinned AMD roots for Milan, Genoa and Turin, in that order. Parsed and verified (ARK
// self-signature, ASK/ASVK signatures by the ARK) once, on first use, in a thread-safe static.
// Aborts the process if the embedded certificates do not parse or verify: they are a build-time
// fact, not input.
const std::vector<AmdProductRoots>& PinnedAmdRoots();

// A set of trusted AMD product roots. Every entry was verified when it was added (each ARK
// self-signed, each ASK/ASVK signed by its ARK), so users only check links below the ASK/ASVK.
// Several entries may share a product (e.g. a test PKI next to the real one).
// Thread-safety: const methods are safe to call concurrently; AddProduct is not.
class AmdTrustStore {
 public:
  // An empty store (tests fill it with AddProduct).
  AmdTrustStore() = default;
  AmdTrustStore(AmdTrustStore&&) noexcept = default;
  AmdTrustStore& operator=(AmdTrustStore&&) noexcept = default;
  AmdTrustStore(const AmdTrustStore&) = delete;
  AmdTrustStore& operator=(const AmdTrustStore&) = delete;

  // A store holding (references to) the pinned AMD roots.
  static AmdTrustStore Pinned();

  // Adds a product's roots after verifying them: ARK self-signed, ASK/ASVK (where present) signed
  // by the ARK. Validity periods are not checked here (VerifyEndorsement checks them at the time
  // it is given). Errors: kInvalidArgument (no ARK, or neither ASK nor ASVK), or the
  // kVerificationFailed error of the failing signature check.
  Result<void> AddProduct(AmdProductRoots roots);

  // The first entry for `product`, or nullptr.
  const AmdProductRoots* Find(Product product) const;
  const std::vector<AmdProductRoots>& all() const { return roots_; }

 private:
  std::vector<AmdProductRoots> roots_;
};

}  // namespace skr::attestation::snp
