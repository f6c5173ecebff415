// SPDX-License-Identifier: Apache-2.0
// TPM 2.0 quote verification throughput on one core (pin with taskset):
//   (a) the real Azure Genoa vTPM quote of ../shared/testdata/azure/snp-genoa/evidence.json,
//       TPM part only: Quote::Parse + RsassaSignature + VerifyQuoteSignature (RSA-2048 HCLAkPub,
//       taken once from the HCL runtime data) + VerifyPcrDigest (24 SHA-256 PCRs)
//   (b) AzSnpVtpmVerifier::Verify on the same bundle, as skrd runs it (evidence JSON, HCL report,
//       SNP report through the sev-snp verifier with a warm chain cache, runtime-data hash, AK
//       JWK, quote, PCRs, claims), at a pinned time inside the certificates' validity
//   (c) synthetic quotes (tests/support/tpm_test_evidence.h) over 24 SHA-256 PCRs signed by an
//       RSA-2048 (RSASSA-SHA256), ECDSA P-256 (SHA-256) or P-384 (SHA-384) AK: Quote::Parse +
//       ParseSignature + VerifyQuoteSignature + VerifyPcrDigest
//   (d) TpmVerifier::Verify on `tpm` evidence (enrolled ECC P-256 AK, 8 SHA-256 PCRs), as skrd
//       runs it for skr-agent's quotes
//   skr-tpm-bench [TESTDATA_DIR] [SECONDS]
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include "attestation/azure/az_snp_vtpm_verifier.h"
#include "attestation/azure/hcl_report.h"
#include "attestation/snp/snp_verifier.h"
#include "attestation/tpm/quote.h"
#include "attestation/tpm/tpm_verifier.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/json.h"
#include "tests/support/tpm_test_evidence.h"

namespace tpm = skr::attestation::tpm;
namespace azure = skr::attestation::azure;
namespace snp = skr::attestation::snp;
using Clock = std::chrono::steady_clock;
using Bytes = std::vector<std::uint8_t>;

namespace {

struct Rate {
  double per_s = 0;
  double us = 0;
};

// Runs `one` until `seconds` have passed; false from `one` aborts the benchmark.
bool Measure(double seconds, const std::function<bool()>& one, Rate& out) {
  std::uint64_t n = 0;
  const auto t0 = Clock::now();
  while (std::chrono::duration<double>(Clock::now() - t0).count() < seconds) {
    if (!one()) return false;
    ++n;
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  out.per_s = static_cast<double>(n) / s;
  out.us = s * 1e6 / static_cast<double>(n);
  return true;
}

// 12345 -> "12,345" (built by appending: GCC 12 warns falsely on std::string::insert, PR 105329).
std::string Thousands(double v) {
  const std::string digits = std::to_string(static_cast<long long>(v + 0.5));
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

void Row(const char* path, const Rate& r) {
  std::printf("| %s | %s | %.0f |\n", path, Thousands(r.per_s).c_str(), r.us);
}

// The TPM part of a quote: parse, signature, PCR digest (what every vTPM path pays).
bool VerifyTpmPart(const Bytes& attest, const TPMT_SIGNATURE& sig, EVP_PKEY* ak,
                   const tpm::PcrValues& pcrs) {
  auto q = tpm::Quote::Parse(attest);
  if (!q) return false;
  if (!tpm::VerifyQuoteSignature(attest, sig, ak)) return false;
  return tpm::VerifyPcrDigest(*q, pcrs, tpm::SignatureHash(sig)).has_value();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "../shared/testdata";
  const double seconds = argc > 2 ? std::stod(argv[2]) : 5.0;
  auto text = skr::ReadFile(dir + "/azure/snp-genoa/evidence.json");
  if (!text) {
    std::fprintf(stderr, "testdata not found under %s\n", dir.c_str());
    return 2;
  }
  skr::Json ev = skr::ParseJson(*text).value();
  ev["type"] = "az-snp-vtpm";
  const Bytes hcl_bytes = ev["report"].get<Bytes>();
  const Bytes message = ev["quote"]["message"].get<Bytes>();
  const Bytes signature = ev["quote"]["signature"].get<Bytes>();
  auto hcl = azure::HclReport::Parse(hcl_bytes);
  if (!hcl) return 1;
  auto ak = hcl->AttestationKey();
  if (!ak) return 1;
  tpm::PcrValues genoa_pcrs;
  for (std::size_t i = 0; i < ev["quote"]["pcrs"].size(); ++i) {
    genoa_pcrs["sha256"][static_cast<unsigned>(i)] = ev["quote"]["pcrs"][i].get<Bytes>();
  }

  std::printf("| path | verifications/s | us each |\n|---|---|---|\n");
  Rate r;
  // (a) Real Azure quote, TPM part only.
  if (!Measure(
          seconds,
          [&] {
            auto sig = tpm::RsassaSignature(signature, TPM2_ALG_SHA256);
            return sig.has_value() && VerifyTpmPart(message, *sig, ak->get(), genoa_pcrs);
          },
          r)) {
    std::fprintf(stderr, "Genoa quote does not verify\n");
    return 1;
  }
  Row("Azure Genoa vTPM quote, TPM part (parse, RSA-2048 RSASSA-SHA256, 24-PCR digest)", r);

  // (b) The whole az-snp-vtpm verifier, chain cache warm.
  skr::FakeClock clock(1748736000);  // 2025-06-01, inside every certificate's validity
  snp::SnpVerifier snp_verifier({}, clock);
  azure::AzSnpVtpmVerifier verifier(snp_verifier, azure::AzureOptions{azure::DefaultTrustedIdKeyDigests(), {}, {}});
  if (auto v = verifier.Verify(ev); !v) {
    std::fprintf(stderr, "Genoa bundle does not verify: %s\n", v.error().message().c_str());
    return 1;
  }
  if (!Measure(
          seconds, [&] { return verifier.Verify(ev).has_value(); }, r))
    return 1;
  Row("Azure Genoa bundle, `AzSnpVtpmVerifier::Verify` (JSON, HCL, SNP report + VCEK, AK, quote, "
      "claims)",
      r);

  // (c) Synthetic quotes, one AK per kind.
  struct Synthetic {
    const char* path;
    skr::EvpPkeyPtr key;
    skr::test::TpmSigScheme scheme;
  };
  Synthetic cases[] = {
      {"synthetic quote, RSA-2048 AK, RSASSA-SHA256", skr::GenerateRsaKey(2048).value(),
       skr::test::TpmSigScheme::kRsassaSha256},
      {"synthetic quote, ECC P-256 AK, ECDSA-SHA256", skr::GenerateEcKey("P-256").value(),
       skr::test::TpmSigScheme::kEcdsaSha256},
      {"synthetic quote, ECC P-384 AK, ECDSA-SHA384", skr::GenerateEcKey("P-384").value(),
       skr::test::TpmSigScheme::kEcdsaSha384},
  };
  for (auto& c : cases) {
    skr::test::QuoteSpec spec;
    spec.selection = skr::test::Sha256Pcrs(0, 23);
    spec.pcrs = skr::test::SyntheticPcrValues(spec.selection);
    spec.digest_hash = skr::test::SchemeHash(c.scheme);
    spec.qualified_signer = skr::test::TpmName(skr::test::MarshalAkPublic(c.key.get()));
    const Bytes attest = skr::test::MarshalQuoteAttest(spec);
    const Bytes sig_bytes = skr::test::SignQuote(attest, c.key.get(), c.scheme);
    if (!Measure(
            seconds,
            [&] {
              auto sig = tpm::ParseSignature(sig_bytes);
              return sig.has_value() && VerifyTpmPart(attest, *sig, c.key.get(), spec.pcrs);
            },
            r)) {
      std::fprintf(stderr, "%s does not verify\n", c.path);
      return 1;
    }
    Row(c.path, r);
  }

  // (d) The whole `tpm` verifier as skrd runs it for skr-agent's evidence: evidence JSON, an
  //     enrolled ECC P-256 AK looked up by id (in memory here; SQLite in skrd), 8 SHA-256 PCRs.
  {
    struct OneAk final : tpm::AkDirectory {
      tpm::EnrolledAk ak;
      skr::Result<tpm::EnrolledAk> FindActiveAk(std::string_view) const override { return ak; }
    } directory;
    auto key = skr::GenerateEcKey("P-256").value();
    directory.ak = {"ak_bench", "acme", "vm1", skr::test::MarshalAkPublic(key.get())};
    skr::test::QuoteSpec spec;
    spec.selection = skr::test::Sha256Pcrs(0, 7);
    spec.pcrs = skr::test::SyntheticPcrValues(spec.selection);
    spec.extra_data = Bytes(48, 0x5a);
    spec.qualified_signer = skr::test::TpmName(directory.ak.ak_public);
    const Bytes attest = skr::test::MarshalQuoteAttest(spec);
    const Bytes sig = skr::test::SignQuote(attest, key.get(), skr::test::TpmSigScheme::kEcdsaSha256);
    skr::Json pcrs = skr::Json::object();
    for (const auto& [bank, values] : spec.pcrs) {
      for (const auto& [index, value] : values) pcrs[bank][std::to_string(index)] = skr::HexEncode(value);
    }
    const skr::Json evidence = {{"type", "tpm"},
                                {"quote", skr::Base64Encode(attest)},
                                {"signature", skr::Base64Encode(sig)},
                                {"pcrs", pcrs},
                                {"ak_id", "ak_bench"}};
    skr::SystemClock now;
    tpm::TpmVerifierOptions opts;
    opts.clock = &now;
    opts.enrolled = &directory;
    const tpm::TpmVerifier tpm_verifier(std::move(opts));
    if (!Measure(seconds, [&] { return tpm_verifier.Verify(evidence).has_value(); }, r)) {
      std::fprintf(stderr, "tpm evidence does not verify\n");
      return 1;
    }
    Row("`tpm` evidence, whole `TpmVerifier::Verify` (JSON, base64, enrolled ECC P-256 AK, ECDSA-SHA256, 8 PCRs, claims)", r);
  }
  return 0;
}
