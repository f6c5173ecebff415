// SPDX-License-Identifier: Apache-2.0
// [attestation.tpm]: TPM 2.0 quotes and AK enrolment.
// The section's keys and validation (common/config_section.h); config/ parses it without knowing
// it, server/verifiers.cpp lists it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_section.h"

namespace skr::attestation::tpm {

struct TpmConfig {
  static constexpr std::string_view kSection = "attestation.tpm";
  bool enabled = true;
  // Trust anchors for AK certificates (`tpm` evidence with ak_cert): a PEM bundle or one DER
  // certificate file, e.g. Google's vTPM CA for GCE Shielded VMs. Empty: only enrolled AKs.
  std::string ak_roots;
  // EK certificate authorities for AK enrolment (PEM bundle or DER), e.g. the TPM makers' CAs or
  // swtpm's local CA. Empty: enrolment with an EK is refused.
  std::string ek_roots;
  // Enrolment must prove the AK resident in the TPM of a certified EK (MakeCredential /
  // ActivateCredential). false also allows registering a bare AK public key.
  bool require_ek = true;
  int enrollment_ttl_seconds = 300;
};

// A fresh section for ParseConfig.
std::shared_ptr<ConfigSectionBase> TpmConfigSection();

}  // namespace skr::attestation::tpm
