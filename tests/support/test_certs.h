// SPDX-License-Identifier: Apache-2.0
// Building blocks of the test PKIs shaped like the hardware makers' (amd_test_pki.h,
// intel_test_pki.h): certificates with custom extensions, CRL times, PEM output. Failures throw
// std::runtime_error (a broken test fixture, not a test result).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/ossl.h"

namespace skr::test {

void CheckPki(bool ok, const char* what);
// Adds a non-critical extension `oid` (dotted text) whose value is `der`.
void AddRawExtension(X509* cert, const char* oid, const std::vector<std::uint8_t>& der);
// An unsigned v3 certificate "O=<org>, CN=<cn>" issued by "O=<org>, CN=<issuer_cn>", valid from a
// day ago for ten years; `ca` adds a critical basicConstraints CA:TRUE.
X509Ptr MakeTestCert(const std::string& org, const std::string& cn, const std::string& issuer_cn,
                     long serial, EVP_PKEY* key, bool ca);
// thisUpdate (next = false) or nextUpdate (next = true) of a CRL.
void SetTestCrlTime(X509_CRL* crl, bool next, std::int64_t t);
std::string CertPem(X509* cert);
std::string CrlPemText(X509_CRL* crl);

}  // namespace skr::test
