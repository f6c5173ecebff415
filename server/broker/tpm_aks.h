// SPDX-License-Identifier: Apache-2.0
// The enrolled-AK directory that the `tpm` verifier consults for `ak_id` evidence, served from the
// keystore's tpm_aks table (filled by POST /v1/tenants/{t}/tpm/enrollments and activated with
// TPM2_ActivateCredential). Only active enrolments are returned.
#pragma once

#include "attestation/tpm/tpm_verifier.h"
#include "keystore/keystore.h"

namespace skr::server {

class KeystoreAkDirectory final : public attestation::tpm::AkDirectory {
 public:
  explicit KeystoreAkDirectory(keystore::KeyStore& keys) : keys_(keys) {}
  Result<attestation::tpm::EnrolledAk> FindActiveAk(std::string_view id) const override;

 private:
  keystore::KeyStore& keys_;
};

}  // namespace skr::server
