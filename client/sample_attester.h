// SPDX-License-Identifier: Apache-2.0
// The "sample" evidence type (DESIGN.md section 3): a dev attester that signs a JSON object of
// claims as a compact JWS (ES256 or ES384). It proves nothing about hardware; skrd accepts it only
// when attestation.sample.enabled = true. Useful for demos, tests and CI.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "common/json.h"
#include "common/ossl.h"
#include "common/result.h"

namespace skr::client {

// Something that produces evidence binding a 48-byte binding digest (DESIGN.md section 2).
// Further evidence types (configfs-tsm, /dev/sev-guest, TPM) implement the same interface.
class EvidenceProvider {
 public:
  virtual ~EvidenceProvider() = default;
  // Whether the challenge should name the key, so skrd adds hints (`tpm_pcrs`) that cost it a
  // keystore lookup; only attesters that use them ask. Default: no.
  virtual bool WantsChallengeHints() const { return false; }
  // The whole /v1/challenge response, before Collect (hints such as `tpm_pcrs`). Default: ignored.
  virtual void OnChallenge(const Json& challenge) { (void)challenge; }
  // Returns the `evidence` member of a release request, e.g. {"type":"sample","jws":"..."}.
  virtual Result<Json> Collect(std::span<const std::uint8_t, 48> digest) = 0;
};

// Returns {"type":"sample","jws":<compact JWS>} where the JWS (ES256 for a P-256 key, ES384 for
// P-384) is signed with `sample_key` and its payload is `claims` plus
// "report_data" = lowercase hex(digest || 16 zero bytes) (replacing any given report_data).
// Errors: kInvalidArgument (claims not an object, key not EC P-256/P-384), errors of JwsSign.
Result<Json> BuildSampleEvidence(EVP_PKEY* sample_key, const Json& claims,
                                 std::span<const std::uint8_t, 48> digest);

// The default claims of the sample attester: {"debug": false}.
Json DefaultSampleClaims();

// Reads a claims file: a JSON object. Errors: kInvalidArgument (unreadable, not an object).
Result<Json> LoadSampleClaims(const std::string& path);

class SampleAttester final : public EvidenceProvider {
 public:
  // Loads the private key PEM from `key_file` and the claims from `claims_file` (empty =
  // DefaultSampleClaims). Errors: kInvalidArgument (unreadable file, bad key, bad claims).
  static Result<SampleAttester> Load(const std::string& key_file, const std::string& claims_file);
  SampleAttester(EvpPkeyPtr key, Json claims) : key_(std::move(key)), claims_(std::move(claims)) {}

  Result<Json> Collect(std::span<const std::uint8_t, 48> digest) override;

 private:
  EvpPkeyPtr key_;
  Json claims_;
};

}  // namespace skr::client
