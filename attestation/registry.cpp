// SPDX-License-Identifier: Apache-2.0
#include "attestation/registry.h"

#include "common/encoding.h"

namespace skr::attestation {

void Registry::Register(std::unique_ptr<Verifier> verifier) {
  std::string type(verifier->type());
  verifiers_[type] = std::move(verifier);
}

const Verifier* Registry::Find(std::string_view type) const {
  auto it = verifiers_.find(type);
  return it == verifiers_.end() ? nullptr : it->second.get();
}

std::vector<std::string> Registry::Types() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : verifiers_) out.push_back(k);
  return out;
}

Result<VerifiedEvidence> Registry::Verify(const Json& evidence) const {
  return Dispatch(evidence, nullptr);
}

Result<VerifiedEvidence> Registry::VerifyRecorded(const Json& evidence,
                                                  const RecordedState& state) const {
  return Dispatch(evidence, &state);
}

Result<VerifiedEvidence> Registry::Dispatch(const Json& evidence, const RecordedState* state) const {
  if (!evidence.is_object()) {
    return Error(ErrorCode::kInvalidArgument, "evidence must be a JSON object", "malformed_request");
  }
  auto it = evidence.find("type");
  if (it == evidence.end() || !it->is_string()) {
    return Error(ErrorCode::kInvalidArgument, "evidence.type must be a string",
                 "malformed_request");
  }
  const std::string type = it->get<std::string>();
  const Verifier* v = Find(type);
  if (v == nullptr) {
    // The type name is client input: echo it only short and printable.
    return Error(ErrorCode::kInvalidArgument,
                 "evidence type '" + PrintableAscii(type, 32) + "' is not supported or not enabled",
                 "unsupported_evidence_type");
  }
  auto out = state != nullptr ? v->VerifyRecorded(evidence, *state) : v->Verify(evidence);
  if (!out) return out.error();
  out->type = type;
  out->claims["tee"] = type;
  return out;
}

}  // namespace skr::attestation
