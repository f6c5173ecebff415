// SPDX-License-Identifier: Apache-2.0
// Valid `tpm` evidence for the fuzz harnesses: a quote signed by the fixed ECC AK
// (fuzz_support.h TestKey::kAkP256), the quoted PCR values, the AK's TPMT_PUBLIC, and an AK
// certificate authority (TestKey::kCaP256) that can issue AK certificates carrying arbitrary
// extension bytes. Built with tests/support (libtss2-mu marshalling, OpenSSL signatures), never
// with the code under test. Failures are harness bugs and abort. Test keys only.
#pragma once

#include <openssl/x509.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "common/json.h"
#include "common/ossl.h"

namespace skr::fuzz {

// OID of Google's instance-information extension in GCE AK certificates.
inline constexpr char kGceInstanceInfoOid[] = "1.3.6.1.4.1.11129.2.1.21";

// The self-signed CA certificate of TestKey::kCaP256 (CA:TRUE, keyCertSign), made once.
X509* TestAkCa();

// An AK certificate for TestKey::kAkP256 issued by TestAkCa(): end entity, keyUsage
// digitalSignature (both critical), valid from a day ago for ten years; with a non-critical GCE
// instance-information extension holding `gce_instance_info` as its OCTET STRING value when given.
X509Ptr MakeAkCertificate(std::optional<std::span<const std::uint8_t>> gce_instance_info);

// The members of `tpm` evidence whose quote carries `extra_data` (at most 64 bytes): "type",
// "quote", "signature", "pcrs" and "ak_public" (base64 TPMT_PUBLIC of TestKey::kAkP256). The
// caller adds "ak_cert" or "ak_id".
Json TpmQuoteEvidence(std::span<const std::uint8_t> extra_data);

// The marshalled TPMT_PUBLIC of TestKey::kAkP256.
std::vector<std::uint8_t> AkPublic();

}  // namespace skr::fuzz
