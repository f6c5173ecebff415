// SPDX-License-Identifier: Apache-2.0
// The Verifier interface (DESIGN.md sections 1-3): one implementation per evidence type, each
// turning an untrusted evidence object into verified Claims plus the data that binds the
// evidence to a nonce and an ephemeral key. Verifiers do no I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/claims.h"
#include "common/json.h"
#include "common/result.h"

namespace skr::attestation {

// How the evidence carries the binding digest of DESIGN.md section 2.
enum class BindingForm {
  kReportData64,  // SNP, TDX, sample: 64-byte REPORT_DATA = digest(48) || 16 zero bytes
  kExact48,       // TPM quotes: extraData = digest
};

struct VerifiedEvidence {
  std::string type;                       // evidence.type
  std::string authority = "skr:local";    // policy authority (token issuer for tokens)
  Claims claims;                          // includes tee, debug, report_data
  BindingForm binding_form = BindingForm::kReportData64;
  std::vector<std::uint8_t> bound_data;   // REPORT_DATA / extraData as found in the evidence
  // What the verification relied on beyond the evidence's own bytes (for the audit replay
  // bundle): e.g. SEV-SNP's VCEK/VLEK, ASK/ASVK and ARK certificate digests and where the VCEK
  // came from. An object; empty when the evidence carries everything.
  Json collateral = Json::object();
  // The bytes of that collateral where they are not in the evidence itself (a VCEK from the
  // operator's cache, the CRLs in force, an enrolled AK's TPMT_PUBLIC, the AK certificate's CA),
  // by name ("snp_signer", "snp_crl.0", "tpm_ak_public", "tpm_ak_ca"): kept with the replay
  // bundle so that a replay verifies with exactly what the release relied on.
  std::vector<std::pair<std::string, std::string>> collateral_bytes;
};

// What an offline replay of an audit record verifies with, in place of the server's state now
// (issue 11): the release's own time (certificate validity, CRL freshness) and the collateral
// bytes kept with its bundle (VerifiedEvidence::collateral_bytes, by name). A name missing here
// (a bundle from before collateral bytes were kept) falls back to the server's collateral now.
struct RecordedState {
  std::int64_t time = 0;  // unix seconds
  std::map<std::string, std::string, std::less<>> collateral;
  const std::string* Find(std::string_view name) const {
    auto it = collateral.find(name);
    return it == collateral.end() ? nullptr : &it->second;
  }
};

class Verifier {
 public:
  virtual ~Verifier() = default;
  virtual std::string_view type() const = 0;
  // Parses, verifies and validates `evidence` (the whole evidence object, with "type").
  // Errors: kMalformedEvidence (does not parse), kVerificationFailed (signature / chain).
  // Thread-safe: called concurrently.
  virtual Result<VerifiedEvidence> Verify(const Json& evidence) const = 0;
  // The same verification as at `state.time` with `state`'s collateral (offline replay): no
  // cache is read or filled. Same errors as Verify.
  virtual Result<VerifiedEvidence> VerifyRecorded(const Json& evidence,
                                                  const RecordedState& state) const = 0;
};

}  // namespace skr::attestation
