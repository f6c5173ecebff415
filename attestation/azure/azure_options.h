// SPDX-License-Identifier: Apache-2.0
// The launch identities of Azure's paravisor (the HCL firmware under which the guest runs, that
// owns the vTPM and vouches for HCLAkPub) that skrd trusts ([attestation.azure] in the config).
// Nothing in an HCL report ties it to Microsoft except the hardware report's launch identity: any
// SEV-SNP guest at VMPL0, or any TD, can write its own runtime JSON with its own HCLAkPub.
//   az-snp-vtpm: accepted when the SNP report's ID_KEY_DIGEST (the key that signed the launch ID
//     block, checked by the AMD firmware at launch) or its MEASUREMENT is listed.
//   az-tdx-vtpm: accepted when the TD quote's MRTD (the TDX module's measurement of the TD's
//     initial memory, i.e. the paravisor image) is listed.
// Lowercase hex, 96 characters (48 bytes) each. Empty lists for a TEE: every bundle of that TEE
// is refused (reason azure_paravisor_untrusted, naming the setting).
#pragma once

#include <string>
#include <vector>

namespace skr::attestation::azure {

struct AzureOptions {
  std::vector<std::string> trusted_id_key_digests;
  std::vector<std::string> trusted_measurements;
  std::vector<std::string> trusted_mrtds;
};

// The identities of the real Azure paravisor reports skr was validated with (Milan and Genoa
// bundles, see ../shared/testdata/PROVENANCE.md): the defaults of [attestation.azure]. Add the new
// identity when Azure updates its paravisor.
const std::vector<std::string>& DefaultTrustedIdKeyDigests();
// The MRTD of the real Azure TDX bundle (../shared/testdata/azure/tdx): the default of
// [attestation.azure] trusted_mrtds.
const std::vector<std::string>& DefaultTrustedMrtds();

}  // namespace skr::attestation::azure
