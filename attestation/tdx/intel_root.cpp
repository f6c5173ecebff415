// SPDX-License-Identifier: Apache-2.0
#include "attestation/tdx/intel_root.h"

#include <cstdio>
#include <cstdlib>

#include "common/encoding.h"
#include "common/x509.h"

namespace skr::attestation::tdx {
namespace {

// Intel publishes this certificate at
//   https://certificates.trustedservices.intel.com/IntelSGXRootCA.der (and .pem as
//   Intel_SGX_Provisioning_Certification_RootCA.pem)
// and describes it in the "Intel SGX PCK Certificate and Certificate Revocation List Profile
// Specification", section 1.3.1 ("Intel SGX Root CA Certificate"). Cross-checked against
// google/go-tdx-guest verify/trusted_root.pem (commit 91f9a52f36c7) and the root at the end of
// every PCK chain in ../shared/testdata/tdx; SHA-256 of the DER in kIntelSgxRootCaSha256.
constexpr std::string_view kPem = R"PEM(-----BEGIN CERTIFICATE-----
MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIw
aDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENv
cnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJ
BgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgG
A1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0
aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYT
AlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi7
1OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOB
uzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJ
MEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50
ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SV
Ur9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYI
KoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwg
AiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=
-----END CERTIFICATE-----
)PEM";

X509* Load() {
  auto cert = ParseCertificatePem(kPem);
  if (!cert || HexEncode(CertificateSha256(cert->get())) != kIntelSgxRootCaSha256) {
    std::fprintf(stderr, "skr: the embedded Intel SGX Root CA does not parse or has the wrong "
                 "digest (%s)\n", cert ? HexEncode(CertificateSha256(cert->get())).c_str()
                                        : cert.error().message().c_str());
    std::abort();
  }
  return cert->release();
}

}  // namespace

std::string_view IntelSgxRootCaPem() { return kPem; }

X509* IntelSgxRootCa() {
  static X509* const root = Load();
  return root;
}

}  // namespace skr::attestation::tdx
