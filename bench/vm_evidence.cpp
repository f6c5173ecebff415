// SPDX-License-Identifier: Apache-2.0
#include "bench/vm_evidence.h"

#include "tests/support/intel_test_pki.h"

#include <algorithm>
#include <cstdio>
#include <span>

#include "common/encoding.h"
#include "common/jose.h"
#include "tests/support/amd_test_pki.h"
#include "tests/support/tpm_test_evidence.h"

namespace skr::bench {

// One simulated Azure CVM: what its paravisor fixes at boot (AK, runtime data, HCL report).
class AzureVm {
 public:
  AzureVm(EVP_PKEY* vcek_key, int index) {
    ak_ = GenerateRsaKey(2048).value();
    ak_name_ = test::TpmName(test::MarshalAkPublic(ak_.get()));
    char uuid[40];
    std::snprintf(uuid, sizeof(uuid), "5E6C1F0A-7B3D-4C2E-9A81-%012X",
                  static_cast<unsigned>(index));
    const std::string runtime = test::AzureRuntimeJson(ak_.get(), nullptr, uuid);
    test::TestSnpReport rep;
    const auto h = Sha256(runtime);
    std::copy(h.begin(), h.end(), rep.report_data.begin());
    for (std::size_t b = 0; b < rep.chip_id.size(); ++b) {
      rep.chip_id[b] = static_cast<std::uint8_t>(0xC0 + b);
    }
    auto bytes = rep.Build();
    test::SignSnpReportWith(vcek_key, bytes);
    hcl_ = test::MakeAzureHclReport(bytes, runtime);
    pcr_values_ = test::SyntheticPcrValues(test::Sha256Pcrs(0, 7));
    for (unsigned i = 0; i < 8; ++i) pcrs_.push_back(pcr_values_.at("sha256").at(i));
  }

  // A fresh quote binding `digest`, as Trustee's attestation agent sends it (bare signature).
  Json Evidence(std::span<const std::uint8_t> digest, const std::string& vcek_pem) {
    test::QuoteSpec spec;
    spec.qualified_signer = ak_name_;
    spec.extra_data.assign(digest.begin(), digest.end());
    spec.clock = clock_.fetch_add(1);
    spec.selection = test::Sha256Pcrs(0, 7);
    spec.pcrs = pcr_values_;
    const auto attest = test::MarshalQuoteAttest(spec);
    const auto sig = test::BareRsaSignature(
        test::SignQuote(attest, ak_.get(), test::TpmSigScheme::kRsassaSha256));
    return test::AzSnpVtpmEvidence(hcl_, vcek_pem, attest, sig, pcrs_);
  }

 private:
  EvpPkeyPtr ak_;
  std::vector<std::uint8_t> ak_name_;  // TPM Name of the AK (the quote's qualifiedSigner)
  std::vector<std::uint8_t> hcl_;
  std::vector<std::vector<std::uint8_t>> pcrs_;  // SHA-256 PCRs 0..7
  test::TpmPcrValues pcr_values_;
  std::atomic<std::uint64_t> clock_{1000};
};

// One simulated VM with a cloud vTPM: its AK and the provider's certificate for it.
struct TpmVm {
  EvpPkeyPtr ak;
  std::string cert_pem;
};

EvidenceFactory::~EvidenceFactory() = default;

Result<std::unique_ptr<EvidenceFactory>> EvidenceFactory::Create(const EvidenceOptions& options,
                                                                 int vms) {
  std::unique_ptr<EvidenceFactory> f(new EvidenceFactory());
  f->options_ = options;
  if (options.evidence == "sample") {
    SKR_TRY(std::string pem, ReadFile(options.attester_key));
    SKR_TRY(f->attester_, LoadPrivateKeyPem(pem));
  } else if (options.evidence == "tdx") {
    if (options.tdx_seed.empty()) {
      return Error(ErrorCode::kInvalidArgument, "--evidence tdx needs --tdx-seed");
    }
    f->intel_ = std::make_unique<test::IntelTestPki>(options.tdx_seed);
  } else if (options.evidence == "tpm") {
    if (options.tpm_seed.empty()) {
      return Error(ErrorCode::kInvalidArgument, "--evidence tpm needs --tpm-seed");
    }
    const test::TpmTestAkCa ca(options.tpm_seed);
    // AK generation is per VM at boot; at most 64 distinct simulated machines.
    for (int i = 0; i < std::max(1, std::min(vms, 64)); ++i) {
      auto vm = std::make_unique<TpmVm>();
      SKR_TRY(vm->ak, GenerateEcKey("P-256"));
      vm->cert_pem = ca.IssueAkCert(vm->ak.get(), 1000 + i);
      f->tpm_.push_back(std::move(vm));
    }
  } else {
    SKR_TRY(std::string key_pem, ReadFile(options.snp_vcek_key));
    SKR_TRY(f->vcek_pem_, ReadFile(options.snp_vcek));
    SKR_TRY(f->vcek_key_, LoadPrivateKeyPem(key_pem));
  }
  // A pool of ephemeral keys (RSA generation is slow; EC pool bounded for 10,000-VM storms).
  const int pool = std::max(1, std::min(vms, options.key_type == "rsa-3072" ? 8 : 64));
  for (int i = 0; i < pool; ++i) {
    if (options.key_type == "rsa-3072") {
      SKR_TRY(EvpPkeyPtr k, GenerateRsaKey(3072));
      SKR_TRY(Json jwk, PublicJwkFromKey(k.get(), "RSA-OAEP-256"));
      f->eph_.push_back(std::move(k));
      f->jwks_.push_back(std::move(jwk));
    } else {
      SKR_TRY(EvpPkeyPtr k, GenerateEcKey(options.key_type == "ec-p256" ? "P-256" : "P-384"));
      SKR_TRY(Json jwk, PublicJwkFromKey(k.get(), "ECDH-ES+A256KW"));
      f->eph_.push_back(std::move(k));
      f->jwks_.push_back(std::move(jwk));
    }
  }
  if (options.evidence == "az-snp-vtpm") {
    // AK generation (RSA-2048) is per VM at boot; at most 64 distinct simulated machines.
    for (int i = 0; i < std::max(1, std::min(vms, 64)); ++i) {
      f->azure_.push_back(std::make_unique<AzureVm>(f->vcek_key_.get(), i));
    }
  }
  return f;
}

Result<std::string> EvidenceFactory::ReleaseBody(int vm, const std::string& nonce) {
  const Json& jwk = jwks_[static_cast<std::size_t>(vm) % jwks_.size()];
  SKR_TRY(auto digest, BindingDigest(nonce, jwk));
  std::vector<std::uint8_t> rd(digest.begin(), digest.end());
  rd.resize(64, 0);
  Json evidence;
  if (!tpm_.empty()) {
    const TpmVm& t = *tpm_[static_cast<std::size_t>(vm) % tpm_.size()];
    evidence = test::CertifiedTpmEvidence(t.ak.get(), t.cert_pem, digest, tpm_clock_.fetch_add(1));
  } else if (intel_) {
    test::TestTdQuote q;
    std::copy(rd.begin(), rd.end(), q.report_data.begin());
    evidence = {{"type", "tdx"}, {"quote", Base64Encode(intel_->Quote(q))}};
  } else if (!azure_.empty()) {
    evidence = azure_[static_cast<std::size_t>(vm) % azure_.size()]->Evidence(digest, vcek_pem_);
  } else if (vcek_key_) {
    test::TestSnpReport rep;
    std::copy(rd.begin(), rd.end(), rep.report_data.begin());
    for (std::size_t b = 0; b < rep.chip_id.size(); ++b) {
      rep.chip_id[b] = static_cast<std::uint8_t>(0xC0 + b);
    }
    auto bytes = rep.Build();
    test::SignSnpReportWith(vcek_key_.get(), bytes);
    evidence = {{"type", "sev-snp"}, {"report", Base64Encode(bytes)}, {"vcek", vcek_pem_}};
  } else {
    Json payload = {{"report_data", HexEncode(rd)}, {"svn", 3}, {"debug", false}};
    SKR_TRY(std::string jws, JwsSign(attester_.get(), "ES384", DumpJson(payload)));
    evidence = {{"type", "sample"}, {"jws", std::move(jws)}};
  }
  return DumpJson(Json{{"nonce", nonce}, {"tee-pubkey", jwk}, {"evidence", evidence}});
}

}  // namespace skr::bench
