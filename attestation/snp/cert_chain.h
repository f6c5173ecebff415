// SPDX-License-Identifier: Apache-2.0
// VCEK / VLEK certificates: AMD's certificate extensions (parse) and the chain
// leaf -> ASK|ASVK -> ARK (verify).
//
// Sources: AMD "Versioned Chip Endorsement Key (VCEK) Certificate and KDS Interface
// Specification" (publication 57230), chapter "VCEK Certificate" (X.509v3 fields and the table
// of AMD extensions under 1.3.6.1.4.1.3704.1) and its VLEK additions (cspId); SEV-SNP Firmware ABI
// Specification (publication 56860), table "TCB_VERSION Structure" for the meaning of the SPLs.
// Checked against real KDS certificates (../shared/testdata/snp) and, read only, against
// google/go-sev-guest kds/kds.go.
#pragma once

#include <openssl/x509.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "attestation/snp/amd_roots.h"
#include "attestation/snp/report.h"
#include "common/ossl.h"
#include "common/result.h"

namespace skr::attestation::snp {

// AMD's extensions of a VCEK or VLEK certificate (57230, chapter "VCEK Certificate", table of
// X.509v3 extensions). The SPLs are the TCB_VERSION components the key was derived for.
struct VcekExtensions {
  // 1.3.6.1.4.1.3704.1.4 hwID: the CHIP_ID the VCEK belongs to. 64 bytes for Milan and Genoa;
  // 8 bytes for Turin (KDS identifies Turin chips by the first 8 bytes of CHIP_ID). Absent in a
  // VLEK.
  std::optional<std::vector<std::uint8_t>> hw_id;
  std::uint8_t bl_spl = 0;              // 1.3.6.1.4.1.3704.1.3.1 blSPL    (BOOT_LOADER)
  std::uint8_t tee_spl = 0;             // 1.3.6.1.4.1.3704.1.3.2 teeSPL   (TEE)
  std::uint8_t snp_spl = 0;             // 1.3.6.1.4.1.3704.1.3.3 snpSPL   (SNP)
  std::uint8_t ucode_spl = 0;           // 1.3.6.1.4.1.3704.1.3.8 ucodeSPL (MICROCODE)
  std::optional<std::uint8_t> fmc_spl;  // 1.3.6.1.4.1.3704.1.3.9 fmcSPL (FMC; Turin and later)
  std::string product_name;             // 1.3.6.1.4.1.3704.1.2 productName1, e.g. "Milan-B0"
  std::optional<std::string> csp_id;    // 1.3.6.1.4.1.3704.1.5 cspId (VLEK only)
};

// Parses AMD's extensions. Encodings (each extension's extnValue holds the DER of):
//   INTEGER 0..255 for structVersion and every SPL (1.3.6.1.4.1.3704.1.1, .1.3.x);
//   IA5String for productName1 and cspId;
//   hwID: the raw CHIP_ID bytes without a tag (what KDS issues: 64 bytes, 8 for Turin), or an
//   OCTET STRING wrapping them (accepted in case AMD starts tagging it).
// Required: productName1, blSPL, teeSPL, snpSPL, ucodeSPL. Optional: structVersion, spl_4..spl_7
// (parsed and checked, not returned), fmcSPL, hwID, cspId. Extensions outside the AMD arc are
// ignored; unknown OIDs inside it are ignored too (AMD adds SPLs for new generations).
// Errors: kMalformedEvidence, reason "snp_cert_extension", message naming the OID: an encoding
// error, a value out of range, a duplicate, a missing required extension, or both hwID and cspId.
Result<VcekExtensions> ParseVcekExtensions(X509* cert);

// The same from a DER certificate (the fuzz target's entry point). Errors: also
// kMalformedEvidence, reason "cert_malformed", when the certificate itself does not parse.
Result<VcekExtensions> ParseVcekExtensionsDer(std::span<const std::uint8_t> cert_der);

// Which AMD key signed the report (ATTESTATION_REPORT SIGNING_KEY: 0 VCEK, 1 VLEK).
enum class Signer { kVcek, kVlek };

struct VerifiedEndorsement {
  Product product = Product::kUnknown;  // decided by the chain that verified, never by a claim
  Signer signer = Signer::kVcek;
  VcekExtensions ext;
  EvpPkeyPtr key;  // the VCEK/VLEK public key, EC P-384
  // The chain it verified with (owned by the AmdTrustStore, which must outlive this).
  X509* intermediate = nullptr;  // ASK (VCEK) or ASVK (VLEK)
  X509* ark = nullptr;
};

// Verifies `leaf` (a VCEK when `expected` is kVcek, a VLEK when kVlek) up to a trusted ARK:
//   1. for each product in `trust`, leaf signed by that product's ASK (VCEK) or ASVK (VLEK);
//      the product is the one whose chain verifies (ARK->ASK/ASVK links were verified when the
//      store was built);
//   2. validity of leaf, ASK/ASVK and ARK at `now` (unix seconds);
//   3. if `crls` holds a CRL for that product: the CRL must be signed by the product's ARK (then
//      the ASK/ASVK must not be listed) or by the ASK/ASVK (then the leaf must not be listed);
//   4. the AMD extensions parse and fit the signer (VCEK: hwID and no cspId; VLEK: cspId and no
//      hwID);
//   5. the leaf key is EC P-384.
// Errors: kVerificationFailed with reason
//   "snp_signer_mismatch"  the leaf verifies under the other kind of intermediate (e.g. a VLEK
//                          presented where a VCEK is expected);
//   "snp_chain_untrusted"  the leaf verifies under no trusted product;
//   "cert_expired" / "cert_not_yet_valid"  a certificate of the chain at `now`;
//   "cert_revoked" / "crl_untrusted"       CRL checks;
//   "snp_leaf_key"         the leaf key is not EC P-384;
// kMalformedEvidence "snp_cert_extension" (step 4); kInvalidArgument for a null leaf.
// Successful leaf->ASK/ASVK signature checks are cached (keyed by the SHA-256 of both
// certificates, at most 4096 entries, process-wide, mutex-guarded): PERFORMANCE.md.
// Thread-safe.
Result<VerifiedEndorsement> VerifyEndorsement(X509* leaf, Signer expected,
                                              const AmdTrustStore& trust, std::int64_t now,
                                              const std::map<Product, X509CrlPtr>* crls = nullptr);

// One AMD CRL, matched when loaded to the trusted certificate that signed it: a product's ARK
// (AMD KDS GET /vcek/v1/{product}/crl: lists revoked ASKs/ASVKs) or its ASK/ASVK (would list
// revoked VCEKs/VLEKs).
struct AmdCrl {
  X509CrlPtr crl;
  Product product = Product::kUnknown;     // product of the trust-store entry it belongs to
  std::array<std::uint8_t, 32> issuer_sha256{};  // SHA-256 of the signing ARK/ASK/ASVK (DER)
  std::string issuer;                      // issuer commonName, for logs and metrics
  std::int64_t this_update = 0;            // Unix seconds
  std::int64_t next_update = 0;            // Unix seconds
  std::string der;                         // the CRL as DER (kept with audit replay bundles)
};

// The CRLs in force and the freshness rule applied to them. Immutable once created, so one set
// can be shared by concurrent verifications (SnpVerifier swaps whole sets on reload).
class CrlSet {
 public:
  // Matches each CRL to the trust-store certificate (ARK, ASK or ASVK of any entry) whose subject
  // is the CRL issuer and whose key verifies the CRL signature. Refuses (kInvalidArgument, the
  // message names the CRL's issuer), since a CRL set is configuration:
  //   "crl_untrusted"          signed by no trusted ARK/ASK/ASVK;
  //   "crl_duplicate"          two CRLs from the same issuer (which one is meant is unclear);
  //   "crl_malformed"          no nextUpdate (freshness cannot be judged) or times that do not
  //                            decode, or nextUpdate before thisUpdate;
  //   "snp_crl_not_yet_valid"  thisUpdate after `now` (a CRL from the future: clock or issuer
  //                            error).
  // A CRL already past its nextUpdate is accepted here (see Stale(), CheckUsable()).
  // `max_staleness_seconds` (>= 0; 0 = no limit) is the refusal threshold of CheckUsable.
  static Result<CrlSet> Create(std::vector<X509CrlPtr> crls, const AmdTrustStore& trust,
                               std::int64_t now, std::int64_t max_staleness_seconds);

  const std::vector<AmdCrl>& crls() const { return crls_; }
  std::int64_t max_staleness_seconds() const { return max_staleness_seconds_; }

  // Seconds `crl` is past its nextUpdate at `now` (0 when fresh).
  static std::int64_t Stale(const AmdCrl& crl, std::int64_t now);
  // Whether `crl` may be relied on at `now`. Errors, kUnavailable (skrd's revocation data is not
  // usable: nothing about the evidence is wrong, an operator must refresh the CRL; 503, and the
  // audit record's decision is "error", not "denied"):
  //   "snp_crl_not_yet_valid"  now < thisUpdate;
  //   "snp_crl_stale"          max_staleness_seconds > 0 and now > nextUpdate + max_staleness.
  Result<void> CheckUsable(const AmdCrl& crl, std::int64_t now) const;

 private:
  CrlSet() = default;
  std::vector<AmdCrl> crls_;
  std::int64_t max_staleness_seconds_ = 0;
};

// As above, with revocation from `crls` (step 3): every CRL of the set issued by the chain's ARK
// (the ASK/ASVK must not be listed) or by its ASK/ASVK (the leaf must not be listed) is applied
// and must pass CrlSet::CheckUsable. A listed certificate is "cert_revoked" even when the CRL is
// stale (a revocation is never undone). Errors: those above, plus kUnavailable
// "snp_crl_stale" / "snp_crl_not_yet_valid".
Result<VerifiedEndorsement> VerifyEndorsement(X509* leaf, Signer expected,
                                              const AmdTrustStore& trust, std::int64_t now,
                                              const CrlSet& crls);

}  // namespace skr::attestation::snp
