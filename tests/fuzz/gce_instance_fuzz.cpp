// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the DER reader of Google's instance-information extension
// (1.3.6.1.4.1.11129.2.1.21) in GCE AK certificates, which becomes the tpm.gce.* claims
// (attestation/tpm/tpm_verifier.cpp; the reader is file-local, so it is reached through
// TpmVerifier::Verify, the way a client reaches it). The input is the extension's value: the
// harness puts it into an AK certificate issued by a configured test CA and sends otherwise valid
// `tpm` evidence (quote signed by that AK), so every input gets past the chain check to the reader.
// Invariants beyond "no crash / no sanitizer report":
//   - the only failure is kMalformedEvidence reason cert_malformed (everything else is valid);
//   - on success the five identity claims are present: zone, project id and instance name as
//     printable ASCII of at most 256 bytes, project number and instance id as unsigned numbers;
//     security_version is a number and is_production a boolean when present.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <span>
#include <string>
#include <vector>

#include "attestation/tpm/tpm_verifier.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/x509.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/fuzz/tpm_fuzz_fixture.h"

namespace {

using skr::ErrorCode;
using skr::fuzz::Require;
namespace tpm = skr::attestation::tpm;

constexpr std::size_t kMaxInput = 4096;

const tpm::TpmVerifier& Verifier() {
  static const skr::SystemClock clock;
  static const tpm::TpmVerifier verifier = [] {
    tpm::TpmVerifierOptions options;
    X509_up_ref(skr::fuzz::TestAkCa());
    options.ak_anchors.emplace_back(skr::fuzz::TestAkCa());
    options.clock = &clock;
    return tpm::TpmVerifier(std::move(options));
  }();
  return verifier;
}

const skr::Json& BaseEvidence() {
  static const skr::Json evidence =
      skr::fuzz::TpmQuoteEvidence(std::vector<std::uint8_t>(48, 0x5A));
  return evidence;
}

skr::Result<skr::attestation::VerifiedEvidence> VerifyWith(std::span<const std::uint8_t> info) {
  skr::X509Ptr cert = skr::fuzz::MakeAkCertificate(info);
  auto der = skr::CertificateDer(cert.get());
  Require(der.has_value());
  skr::Json evidence = BaseEvidence();
  evidence["ak_cert"] = skr::Base64Encode(*der);
  return Verifier().Verify(evidence);
}

bool IsPrintableAscii(const skr::Json& j) {
  if (!j.is_string() || j.get_ref<const std::string&>().size() > 256) return false;
  for (char c : j.get_ref<const std::string&>()) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

// DER TLV with a short or two-byte long length (X.690 8.1.3).
std::vector<std::uint8_t> Tlv(std::uint8_t tag, const std::vector<std::uint8_t>& content) {
  std::vector<std::uint8_t> out = {tag};
  if (content.size() < 0x80) {
    out.push_back(static_cast<std::uint8_t>(content.size()));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<std::uint8_t>(content.size() >> 8));
    out.push_back(static_cast<std::uint8_t>(content.size() & 0xFF));
  }
  out.insert(out.end(), content.begin(), content.end());
  return out;
}
std::vector<std::uint8_t> Cat(std::initializer_list<std::vector<std::uint8_t>> parts) {
  std::vector<std::uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
std::vector<std::uint8_t> Utf8(std::string_view s) { return Tlv(0x0C, skr::fuzz::Bytes(s)); }

std::vector<std::uint8_t> InstanceInfo(bool with_properties) {
  auto identity = Cat(
      {Utf8("us-central1-a"), Tlv(0x02, {0x1C, 0xBE, 0x99, 0x1A, 0x14}), Utf8("skr-fuzz-project"),
       Tlv(0x02, {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}), Utf8("instance-1")});
  if (with_properties) {
    auto props = Tlv(0x30, Cat({Tlv(0xA0, Tlv(0x02, {0x01})), Tlv(0xA1, Tlv(0x01, {0xFF}))}));
    identity = Cat({identity, Tlv(0xA0, props)});
  }
  return Tlv(0x30, identity);
}

std::vector<skr::fuzz::Seed> MakeSeeds() {
  return {{"identity", InstanceInfo(false)}, {"identity-properties", InstanceInfo(true)}};
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  // The harness must reach the reader: a well-formed extension has to verify end to end.
  auto ok = VerifyWith(InstanceInfo(true));
  if (!ok || ok->claims.count("tpm.gce.is_production") != 1) {
    std::fprintf(stderr, "gce_instance harness: valid evidence does not verify: %s\n",
                 ok ? "no tpm.gce claims" : ok.error().message().c_str());
    std::abort();
  }
  skr::fuzz::WriteSeeds("gce_instance", MakeSeeds);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > kMaxInput) return 0;
  auto out = VerifyWith(std::span<const std::uint8_t>(data, size));
  skr::fuzz::RequireError(out, ErrorCode::kMalformedEvidence, {"cert_malformed"});
  if (!out) return 0;
  const skr::Claims& c = out->claims;
  for (const char* name : {"tpm.gce.zone", "tpm.gce.project_id", "tpm.gce.instance_name"}) {
    Require(c.count(name) == 1 && IsPrintableAscii(c.at(name)));
  }
  for (const char* name : {"tpm.gce.project_number", "tpm.gce.instance_id"}) {
    Require(c.count(name) == 1 && c.at(name).is_number_unsigned());
  }
  if (c.count("tpm.gce.security_version") != 0)
    Require(c.at("tpm.gce.security_version").is_number());
  if (c.count("tpm.gce.is_production") != 0) Require(c.at("tpm.gce.is_production").is_boolean());
  Require(c.at("tpm.ak.trust") == "certificate");
  return 0;
}
