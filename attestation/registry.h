// SPDX-License-Identifier: Apache-2.0
// Registry of verifiers by evidence type; immutable after start-up, so lock-free reads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "attestation/verifier.h"

namespace skr::attestation {

class Registry {
 public:
  void Register(std::unique_ptr<Verifier> verifier);
  const Verifier* Find(std::string_view type) const;
  std::vector<std::string> Types() const;
  // Dispatches on evidence["type"]. Errors: kInvalidArgument (not an object / no type),
  // kInvalidArgument reason "unsupported_evidence_type", and whatever the verifier returns.
  Result<VerifiedEvidence> Verify(const Json& evidence) const;
  // The same dispatch to Verifier::VerifyRecorded (offline replay).
  Result<VerifiedEvidence> VerifyRecorded(const Json& evidence, const RecordedState& state) const;

 private:
  Result<VerifiedEvidence> Dispatch(const Json& evidence, const RecordedState* state) const;
  std::map<std::string, std::unique_ptr<Verifier>, std::less<>> verifiers_;
};

}  // namespace skr::attestation
