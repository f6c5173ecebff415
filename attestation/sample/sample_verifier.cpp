// SPDX-License-Identifier: Apache-2.0
#include "attestation/sample/sample_verifier.h"

#include <openssl/evp.h>

#include "common/encoding.h"
#include "common/jose.h"

namespace skr::attestation::sample {

Result<std::unique_ptr<SampleVerifier>> SampleVerifier::Create(std::string_view public_key_pem) {
  auto key = LoadPublicKeyPem(public_key_pem);
  if (!key) return Error(ErrorCode::kInvalidArgument, "sample attester public key: not a PEM key");
  if (EVP_PKEY_get_base_id(key->get()) != EVP_PKEY_EC) {
    return Error(ErrorCode::kInvalidArgument, "sample attester public key must be EC P-256/P-384");
  }
  return std::unique_ptr<SampleVerifier>(new SampleVerifier(std::move(key).value()));
}

Result<VerifiedEvidence> SampleVerifier::Verify(const Json& evidence) const {
  // Parse: the evidence object has exactly {"type", "jws"}.
  for (auto it = evidence.begin(); it != evidence.end(); ++it) {
    if (it.key() != "type" && it.key() != "jws") {
      return Error(ErrorCode::kMalformedEvidence, "sample evidence: unknown member", "malformed_evidence");
    }
  }
  auto jws_it = evidence.find("jws");
  if (jws_it == evidence.end() || !jws_it->is_string()) {
    return Error(ErrorCode::kMalformedEvidence, "sample evidence: 'jws' must be a string",
                 "malformed_evidence");
  }
  const auto& jws = jws_it->get_ref<const std::string&>();
  if (jws.size() > kMaxJwsBytes) {
    return Error(ErrorCode::kMalformedEvidence, "sample evidence: jws too large",
                 "malformed_evidence");
  }
  // Verify: signature by the configured attester key.
  auto verified = JwsVerify(jws, key_.get());
  if (!verified) {
    if (verified.error().code() == ErrorCode::kVerificationFailed) {
      return Error(ErrorCode::kVerificationFailed,
                   "sample evidence: " + verified.error().message(), "evidence_signature_invalid");
    }
    return Error(ErrorCode::kMalformedEvidence, "sample evidence: " + verified.error().message(),
                 "malformed_evidence");
  }
  auto payload = ParseJson(verified->payload, kMaxJwsBytes, 16);
  if (!payload || !payload->is_object()) {
    return Error(ErrorCode::kMalformedEvidence, "sample evidence: payload is not a JSON object",
                 "malformed_evidence");
  }
  // Validate: report_data is 64 bytes of hex.
  auto rd_it = payload->find("report_data");
  if (rd_it == payload->end() || !rd_it->is_string()) {
    return Error(ErrorCode::kMalformedEvidence, "sample evidence: report_data missing",
                 "malformed_evidence");
  }
  auto rd = HexDecode(rd_it->get<std::string>());
  if (!rd || rd->size() != 64) {
    return Error(ErrorCode::kMalformedEvidence, "sample evidence: report_data must be 64 bytes hex",
                 "malformed_evidence");
  }
  VerifiedEvidence out;
  out.type = "sample";
  out.binding_form = BindingForm::kReportData64;
  out.bound_data = std::move(rd).value();
  FlattenInto(out.claims, "sample", *payload);
  auto dbg = payload->find("debug");
  // Fail closed: evidence that does not say debug is off counts as debug.
  out.claims["debug"] = dbg != payload->end() && dbg->is_boolean() ? dbg->get<bool>() : true;
  out.claims["report_data"] = HexEncode(out.bound_data);
  return out;
}

}  // namespace skr::attestation::sample
