// SPDX-License-Identifier: Apache-2.0
#include "server/broker/tpm_aks.h"

namespace skr::server {

Result<attestation::tpm::EnrolledAk> KeystoreAkDirectory::FindActiveAk(std::string_view id) const {
  SKR_TRY(keystore::KeyStore::TpmAk ak, keys_.FindTpmAk(id));
  if (ak.state != "active") {
    return Error(ErrorCode::kNotFound, "TPM AK enrolment is not activated", "tpm_ak_not_enrolled");
  }
  attestation::tpm::EnrolledAk out;
  out.id = std::move(ak.id);
  out.tenant = std::move(ak.tenant);
  out.name = std::move(ak.name);
  out.ak_public = std::move(ak.ak_public);
  return out;
}

}  // namespace skr::server
