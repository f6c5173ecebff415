// SPDX-License-Identifier: Apache-2.0
// What a simulated VM of the load generator sends: its ephemeral tee-pubkey and evidence bound
// to a nonce, for the evidence kinds skr-loadgen supports:
//   sample       a sample-attester JWS (ES384) over {report_data, svn, debug};
//   sev-snp      an SNP report signed by the AMD-shaped test PKI (tests/support/amd_test_pki.h),
//                VCEK sent in the evidence;
//   az-snp-vtpm  synthetic Azure-shaped evidence (tests/support/tpm_test_evidence.h): per VM,
//                once, an RSA-2048 AK, the runtime JSON holding it as HCLAkPub, and an HCL report
//                around an SNP report (REPORT_DATA = SHA-256(runtime JSON) || 0); per release, a
//                fresh TPM quote (SHA-256 PCRs 0..7, extraData = the binding digest),
//                RSASSA-SHA256.
//   tdx          a TD quote (v4) from the Intel-shaped test PKI (tests/support/intel_test_pki.h)
//                of --tdx-seed: per release, an attestation-key signature over the quote (the QE
//                report and its PCK signature too, as the test PKI builds whole quotes).
//   tpm          a certified AK, as a cloud vTPM presents it (GCE: an AK certificate from the
//                provider's CA): per VM, once, an ECC P-256 AK of the standard template and its
//                certificate from the AK CA of --tpm-seed (tests/support TpmTestAkCa; skrd trusts
//                it through [attestation.tpm] ak_roots); per release, a fresh quote (SHA-256 PCRs
//                0..7, extraData = the binding digest), ECDSA-SHA256, with ak_public and ak_cert.
//                (Enrolled AKs, skr-agent's way, differ only in a keystore lookup instead of the
//                certificate chain.)
// Key generation is not what is measured: keys come from a small pool shared round robin.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/ossl.h"
#include "common/result.h"

namespace skr::bench {

struct EvidenceOptions {
  std::string evidence = "sample";   // sample | sev-snp | az-snp-vtpm | tdx | tpm
  std::string key_type = "ec-p384";  // ec-p384 | ec-p256 | rsa-3072
  std::string attester_key;          // sample attester private key (PEM file)
  std::string snp_vcek_key;          // VCEK private key of the test PKI (PEM file)
  std::string snp_vcek;              // VCEK certificate (PEM file), sent with each report
  std::string tdx_seed;              // tdx: seed of the Intel-shaped test PKI
  std::string tpm_seed;              // tpm: seed of the test AK CA
};

class AzureVm;
struct TpmVm;
}  // namespace skr::bench
namespace skr::test {
class IntelTestPki;
}  // namespace skr::test
namespace skr::bench {

// Evidence for `vms` simulated VMs. Thread-safe after Create (Body may run on many threads).
class EvidenceFactory {
 public:
  static Result<std::unique_ptr<EvidenceFactory>> Create(const EvidenceOptions& options, int vms);
  ~EvidenceFactory();

  // The release request body of VM `vm` for `nonce`: {"nonce", "tee-pubkey", "evidence"}.
  Result<std::string> ReleaseBody(int vm, const std::string& nonce);

 private:
  EvidenceFactory() = default;
  EvidenceOptions options_;
  EvpPkeyPtr attester_, vcek_key_;
  std::string vcek_pem_;
  std::vector<EvpPkeyPtr> eph_;
  std::vector<Json> jwks_;
  std::vector<std::unique_ptr<AzureVm>> azure_;
  std::unique_ptr<test::IntelTestPki> intel_;
  std::vector<std::unique_ptr<TpmVm>> tpm_;
  std::atomic<std::uint64_t> tpm_clock_{1000};
};

}  // namespace skr::bench
