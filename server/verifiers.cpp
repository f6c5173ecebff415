// SPDX-License-Identifier: Apache-2.0
// The evidence types skrd serves, one row each (server/verifiers.h), and what the SEV-SNP row
// needs beyond its verifier: the AMD trust store from config, the CRL file, its reloads and
// metrics.
#include "server/verifiers.h"

#include <atomic>
#include <memory>

#include "attestation/azure/az_snp_vtpm_verifier.h"
#include "attestation/azure/az_tdx_vtpm_verifier.h"
#include "attestation/azure/azure_config.h"
#include "attestation/sample/sample_config.h"
#include "attestation/sample/sample_verifier.h"
#include "attestation/snp/snp_config.h"
#include "attestation/tdx/tdx_config.h"
#include "attestation/tpm/tpm_config.h"
#include "attestation/tdx/tdx_verifier.h"
#include "attestation/tpm/tpm_verifier.h"
#include "common/x509.h"
#include "server/broker/tdx_collateral.h"
#include "server/http/https_server.h"

namespace skr::server {

using http::LogLine;

namespace {

// The AMD trust store: the pinned roots plus, when configured, extra AMD-shaped roots (test or
// pre-production PKIs). CRLs are loaded by LoadCrlSet.
skr::Result<skr::attestation::snp::SnpVerifierOptions> LoadSnpOptions(
    const skr::config::Config& cfg) {
  namespace snp = skr::attestation::snp;
  snp::SnpVerifierOptions opts;
  const auto& c = cfg.Get<attestation::snp::SnpConfig>();
  if (!c.extra_roots.empty()) {
    SKR_TRY(std::string pem, skr::ReadFile(c.extra_roots, 1 << 20));
    auto certs = skr::ParseCertificatesPem(pem);
    if (!certs || certs->size() < 2) {
      return skr::Error(skr::ErrorCode::kInvalidArgument,
                        "attestation.snp.extra_roots: need a PEM bundle of ARK, ASK[, ASVK]");
    }
    snp::AmdProductRoots roots;
    roots.product = c.extra_roots_product == "Milan"   ? snp::Product::kMilan
                    : c.extra_roots_product == "Genoa" ? snp::Product::kGenoa
                                                       : snp::Product::kTurin;
    roots.ark = std::move((*certs)[0]);
    roots.ask = std::move((*certs)[1]);
    if (certs->size() > 2) roots.asvk = std::move((*certs)[2]);
    if (auto r = opts.trust.AddProduct(std::move(roots)); !r) {
      return skr::Error(skr::ErrorCode::kInvalidArgument,
                        "attestation.snp.extra_roots: " + r.error().message());
    }
  }
  return opts;
}

// [attestation.snp] crl_file read and matched to the certificates of `trust` that signed each CRL
// (null when no file is configured). Errors (kInvalidArgument, message prefixed with the key):
// unreadable file, a CRL that does not parse, is signed by no trusted ARK/ASK/ASVK, has no
// nextUpdate or a thisUpdate after `now`.
skr::Result<std::shared_ptr<const skr::attestation::snp::CrlSet>> LoadCrlSet(
    const skr::config::Config& cfg, const skr::attestation::snp::AmdTrustStore& trust,
    std::int64_t now) {
  namespace snp = skr::attestation::snp;
  const auto& c = cfg.Get<attestation::snp::SnpConfig>();
  if (c.crl_file.empty()) return std::shared_ptr<const snp::CrlSet>();
  auto fail = [&](const skr::Error& e) {
    return skr::Error(skr::ErrorCode::kInvalidArgument,
                      "attestation.snp.crl_file " + c.crl_file + ": " + e.message(), e.reason());
  };
  auto text = skr::ReadFile(c.crl_file, 4 << 20);
  if (!text) return fail(text.error());
  auto crls = skr::ParseCrls(*text);
  if (!crls) return fail(crls.error());
  auto set = snp::CrlSet::Create(std::move(crls).value(), trust, now,
                                 c.crl_max_staleness_seconds);
  if (!set) return fail(set.error());
  return std::make_shared<const snp::CrlSet>(std::move(set).value());
}

// One warning line per CRL past its nextUpdate (skrd keeps using it unless it is stale by more
// than crl_max_staleness_seconds, then verification that needs it is refused).
void WarnStaleCrls(const skr::config::Config& cfg, const skr::attestation::snp::CrlSet& set,
                   std::int64_t now) {
  namespace snp = skr::attestation::snp;
  const int max_staleness = cfg.Get<attestation::snp::SnpConfig>().crl_max_staleness_seconds;
  for (const snp::AmdCrl& crl : set.crls()) {
    const std::int64_t stale = snp::CrlSet::Stale(crl, now);
    if (stale == 0) continue;
    const bool refused = max_staleness > 0 && stale > max_staleness;
    LogLine("warn",
            refused ? "AMD CRL is stale beyond attestation.snp.crl_max_staleness_seconds: "
                      "sev-snp evidence that needs it is refused until the CRL is refreshed"
                    : "AMD CRL is stale (past its nextUpdate); it is still used",
            {{"file", cfg.Get<attestation::snp::SnpConfig>().crl_file},
             {"issuer", crl.issuer},
             {"product", std::string(snp::ProductName(crl.product))},
             {"next_update", skr::FormatRfc3339(crl.next_update)},
             {"stale_seconds", stale},
             {"crl_max_staleness_seconds", max_staleness}});
  }
}

// Prometheus label value escaping (text format 0.0.4): backslash, double quote, newline.
std::string LabelValue(const std::string& v) {
  std::string out;
  for (char ch : v) {
    if (ch == '\\' || ch == '"') out.push_back('\\');
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(ch);
  }
  return out;
}

// The CRL gauges of /metrics for the set in force at `now`.
std::string CrlMetricsText(const skr::attestation::snp::CrlSet* set, std::int64_t now,
                           std::uint64_t reloads_ok, std::uint64_t reloads_failed) {
  namespace snp = skr::attestation::snp;
  std::string stale, stale_s, next;
  if (set != nullptr) {
    for (const snp::AmdCrl& crl : set->crls()) {
      const std::string labels = "{product=\"" + std::string(snp::ProductName(crl.product)) +
                                 "\",issuer=\"" + LabelValue(crl.issuer) + "\"} ";
      const std::int64_t s = snp::CrlSet::Stale(crl, now);
      stale += "skr_crl_stale" + labels + (s > 0 ? "1" : "0") + "\n";
      stale_s += "skr_crl_stale_seconds" + labels + std::to_string(s) + "\n";
      next += "skr_crl_next_update_seconds" + labels + std::to_string(crl.next_update) + "\n";
    }
  }
  return "# HELP skr_crl_stale 1 when a loaded AMD CRL is past its nextUpdate.\n"
         "# TYPE skr_crl_stale gauge\n" + stale +
         "# HELP skr_crl_stale_seconds Seconds a loaded AMD CRL is past its nextUpdate.\n"
         "# TYPE skr_crl_stale_seconds gauge\n" + stale_s +
         "# HELP skr_crl_next_update_seconds nextUpdate of a loaded AMD CRL (Unix time).\n"
         "# TYPE skr_crl_next_update_seconds gauge\n" + next +
         "# HELP skr_crl_reloads_total CRL reloads on SIGHUP, by result.\n"
         "# TYPE skr_crl_reloads_total counter\n"
         "skr_crl_reloads_total{result=\"ok\"} " + std::to_string(reloads_ok) + "\n"
         "skr_crl_reloads_total{result=\"failed\"} " + std::to_string(reloads_failed) + "\n";
}

// The Azure paravisor identities: the configured lists, or the built-in ID-key digests when
// trusted_id_key_digests is not set (config/ cannot name them; an explicit [] stays empty).
skr::attestation::azure::AzureOptions AzureOptionsFrom(const skr::config::Config& cfg) {
  const auto& az = cfg.Get<attestation::azure::AzureConfig>();
  return skr::attestation::azure::AzureOptions{
      az.trusted_id_key_digests ? *az.trusted_id_key_digests
                                : skr::attestation::azure::DefaultTrustedIdKeyDigests(),
      az.trusted_measurements,
      az.trusted_mrtds ? *az.trusted_mrtds : skr::attestation::azure::DefaultTrustedMrtds()};
}


// ---- the rows ----

Result<void> AddTpm(const config::Config& cfg, const VerifierDeps& deps,
                    attestation::Registry& registry, BuiltVerifiers& out) {
  const auto& tpm = cfg.Get<attestation::tpm::TpmConfig>();
  attestation::tpm::TpmVerifierOptions topt;
  topt.clock = &deps.clock;
  topt.enrolled = deps.enrolled_aks;
  if (!cfg.Get<attestation::tpm::TpmConfig>().ak_roots.empty()) {
    SKR_TRY(topt.ak_anchors, LoadCertFile("attestation.tpm.ak_roots", cfg.Get<attestation::tpm::TpmConfig>().ak_roots));
  }
  registry.Register(std::make_unique<attestation::tpm::TpmVerifier>(std::move(topt)));
  // AK enrolment (the admin service): its EK authorities and rules.
  SKR_TRY(out.tpm_ek_roots, LoadEkRoots(cfg));
  out.tpm_require_ek = tpm.require_ek;
  out.tpm_enrollment_ttl_seconds = tpm.enrollment_ttl_seconds;
  return Ok();
}

Result<void> AddSample(const config::Config& cfg, const VerifierDeps&,
                       attestation::Registry& registry, BuiltVerifiers& out) {
  out.warnings.push_back(
      "the development `sample` attester is enabled ([attestation.sample]): whoever holds its "
      "private key can have keys released; disable it in production");
  SKR_TRY(std::string pem, ReadFile(cfg.Get<attestation::sample::SampleConfig>().public_key, 64 * 1024));
  auto v = attestation::sample::SampleVerifier::Create(pem);
  if (!v) {
    return Error(ErrorCode::kInvalidArgument,
                 "attestation.sample.public_key: " + v.error().message());
  }
  registry.Register(std::move(v).value());
  return Ok();
}

Result<void> AddTdx(const config::Config& cfg, const VerifierDeps& deps,
                    attestation::Registry& registry, BuiltVerifiers& out) {
  attestation::tdx::TdxVerifierOptions topt;
  if (!cfg.Get<attestation::tdx::TdxConfig>().extra_roots.empty()) {
    SKR_TRY(topt.extra_roots,
            LoadCertFile("attestation.tdx.extra_roots", cfg.Get<attestation::tdx::TdxConfig>().extra_roots));
  }
  topt.collateral = deps.tdx_store;
  topt.collateral_grace_seconds = cfg.Get<attestation::tdx::TdxConfig>().collateral_grace_seconds;
  auto v = std::make_unique<attestation::tdx::TdxVerifier>(std::move(topt), deps.clock);
  if (deps.tdx_store != nullptr) deps.tdx_store->SetRoots(v->roots());
  out.tdx = true;
  // Azure CVM vTPM evidence on TDX: the TD quote goes through the same tdx verifier (owned by the
  // registry, so the reference stays valid).
  auto az = std::make_unique<attestation::azure::AzTdxVtpmVerifier>(*v, AzureOptionsFrom(cfg));
  registry.Register(std::move(v));
  registry.Register(std::move(az));
  return Ok();
}

Result<void> AddSnp(const config::Config& cfg, const VerifierDeps& deps,
                    attestation::Registry& registry, BuiltVerifiers& out) {
  SKR_TRY(attestation::snp::SnpVerifierOptions opts, LoadSnpOptions(cfg));
  const std::int64_t now = deps.clock.NowUnix();
  SKR_TRY(opts.crls, LoadCrlSet(cfg, opts.trust, now));
  if (opts.crls) WarnStaleCrls(cfg, *opts.crls, now);
  opts.collateral = deps.snp_collateral;
  auto v = std::make_unique<attestation::snp::SnpVerifier>(std::move(opts), deps.clock);
  out.snp_trust = &v->trust();
  out.snp = v.get();
  // Azure CVM vTPM evidence: the SNP report inside the HCL report goes through the same SNP
  // verifier (owned by the registry, so the reference stays valid; CRL reloads apply to both).
  auto az = std::make_unique<attestation::azure::AzSnpVtpmVerifier>(*v, AzureOptionsFrom(cfg));
  registry.Register(std::move(v));
  registry.Register(std::move(az));
  return Ok();
}

template <typename T>
bool Enabled(const config::Config& cfg) {
  return cfg.Get<T>().enabled;
}

constexpr VerifierEntry kVerifiers[] = {
    {"tpm", "attestation.tpm", attestation::tpm::TpmConfigSection, Enabled<attestation::tpm::TpmConfig>, AddTpm},
    {"sample", "attestation.sample", attestation::sample::SampleConfigSection, Enabled<attestation::sample::SampleConfig>, AddSample},
    {"tdx az-tdx-vtpm", "attestation.tdx", attestation::tdx::TdxConfigSection, Enabled<attestation::tdx::TdxConfig>, AddTdx},
    {"sev-snp az-snp-vtpm", "attestation.snp", attestation::snp::SnpConfigSection, Enabled<attestation::snp::SnpConfig>, AddSnp},
};

}  // namespace

// A PEM bundle or one DER certificate file (trust anchors named in the config).
Result<std::vector<X509Ptr>> LoadCertFile(const std::string& key, const std::string& path) {
  auto text = skr::ReadFile(path, skr::kMaxPemBundleSize);
  if (!text) return skr::Error(skr::ErrorCode::kInvalidArgument, key + ": " + text.error().message());
  std::vector<skr::X509Ptr> out;
  if (text->find("-----BEGIN") != std::string::npos) {
    auto certs = skr::ParseCertificatesPem(*text);
    if (!certs) return skr::Error(skr::ErrorCode::kInvalidArgument, key + ": " + certs.error().message());
    out = std::move(certs).value();
  } else {
    auto cert = skr::ParseCertificateDer(skr::AsBytes(*text));
    if (!cert) return skr::Error(skr::ErrorCode::kInvalidArgument, key + ": " + cert.error().message());
    out.push_back(std::move(cert).value());
  }
  return out;
}

// The EK certificate authorities for TPM AK enrolment ([attestation.tpm] ek_roots).
Result<std::vector<X509Ptr>> LoadEkRoots(const skr::config::Config& cfg) {
  if (!cfg.Get<attestation::tpm::TpmConfig>().enabled || cfg.Get<attestation::tpm::TpmConfig>().ek_roots.empty()) return std::vector<skr::X509Ptr>{};
  return LoadCertFile("attestation.tpm.ek_roots", cfg.Get<attestation::tpm::TpmConfig>().ek_roots);
}

std::span<const VerifierEntry> VerifierTable() { return kVerifiers; }

config::SectionList ConfigSections() {
  config::SectionList out;
  for (const VerifierEntry& row : kVerifiers) out.push_back(row.config());
  // The Azure paravisor identities, read by the rows whose verifiers check Azure bundles.
  out.push_back(attestation::azure::AzureConfigSection());
  return out;
}

Result<BuiltVerifiers> BuildVerifiers(const config::Config& cfg, attestation::Registry& registry,
                                      const VerifierDeps& deps) {
  BuiltVerifiers out;
  for (const VerifierEntry& row : kVerifiers) {
    if (row.enabled(cfg)) SKR_TRY_VOID(row.add(cfg, deps, registry, out));
  }
  return out;
}

CrlReloader::CrlReloader(const config::Config& cfg, attestation::snp::SnpVerifier* snp,
                         const Clock& clock)
    : cfg_(cfg), snp_(snp), clock_(clock) {}

void CrlReloader::Reload() {
  const std::string& file = cfg_.Get<attestation::snp::SnpConfig>().crl_file;
  if (snp_ == nullptr || file.empty()) {
    LogLine("info", "SIGHUP: no attestation.snp.crl_file to reload");
    return;
  }
  const std::int64_t now = clock_.NowUnix();
  auto set = LoadCrlSet(cfg_, snp_->trust(), now);
  if (!set) {
    failed_.fetch_add(1);
    LogLine("error", "CRL reload failed; the previous CRLs stay in force",
            {{"file", file}, {"error", set.error().message()}, {"reason", set.error().reason()}});
    return;
  }
  const std::size_t n = (*set)->crls().size();
  WarnStaleCrls(cfg_, **set, now);
  snp_->ReplaceCrls(std::move(set).value());
  ok_.fetch_add(1);
  LogLine("info", "CRLs reloaded", {{"file", file}, {"crls", n}});
}

std::string CrlReloader::MetricsText() const {
  if (snp_ == nullptr) return {};
  const auto set = snp_->crls();
  return CrlMetricsText(set.get(), clock_.NowUnix(), ok_.load(), failed_.load());
}

}  // namespace skr::server
