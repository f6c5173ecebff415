// SPDX-License-Identifier: Apache-2.0
// skrd: the key broker daemon.
//   skrd --config skrd.toml [--port-file FILE]   serve
//   skrd init --config skrd.toml                 create store, master key, first operator token
//   skrd check-config --config skrd.toml         validate configuration and referenced files
#include <CLI/CLI.hpp>
#include <openssl/err.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "attestation/registry.h"
#include "attestation/sample/sample_verifier.h"
#include "attestation/azure/az_snp_vtpm_verifier.h"
#include "attestation/snp/snp_verifier.h"
#include "attestation/tdx/tdx_verifier.h"
#include "attestation/tpm/tpm_verifier.h"
#include "common/x509.h"
#include "server/broker/snp_collateral.h"
#include "server/broker/tdx_collateral.h"
#include "server/broker/policy_lint.h"
#include "server/broker/tpm_aks.h"
#include "audit/audit.h"
#include "audit/checkpoint.h"
#include "common/ossl.h"
#include "config/config.h"
#include "keystore/keystore.h"
#include "keystore/master_key.h"
#include "server/broker/audit_service.h"
#include "server/broker/broker.h"
#include "server/http/https_server.h"
#include "server/http/router.h"

namespace {

using skr::Json;
using skr::server::http::LogLine;

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitConfig = 2;

int Fail(int code, const std::string& msg) {
  LogLine("error", msg);
  return code;
}

skr::Result<void> EnsureParentDir(const std::string& path) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) return skr::Error(skr::ErrorCode::kUnavailable, "cannot create " + parent.string());
  return skr::Ok();
}

constexpr const char* kSampleWarning =
    "the development `sample` attester is enabled ([attestation.sample]): whoever holds its "
    "private key can have keys released; disable it in production";

std::unique_ptr<skr::keystore::MasterKeyProvider> MakeProvider(const skr::config::Config& cfg) {
  return skr::keystore::MakeFileProvider(cfg.master_key.path);
}

// The AMD trust store: the pinned roots plus, when configured, extra AMD-shaped roots (test or
// pre-production PKIs). CRLs are loaded by LoadCrlSet.
skr::Result<skr::attestation::snp::SnpVerifierOptions> LoadSnpOptions(
    const skr::config::Config& cfg) {
  namespace snp = skr::attestation::snp;
  snp::SnpVerifierOptions opts;
  const auto& c = cfg.attestation.snp;
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
  const auto& c = cfg.attestation.snp;
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
  const int max_staleness = cfg.attestation.snp.crl_max_staleness_seconds;
  for (const snp::AmdCrl& crl : set.crls()) {
    const std::int64_t stale = snp::CrlSet::Stale(crl, now);
    if (stale == 0) continue;
    const bool refused = max_staleness > 0 && stale > max_staleness;
    LogLine("warn",
            refused ? "AMD CRL is stale beyond attestation.snp.crl_max_staleness_seconds: "
                      "sev-snp evidence that needs it is refused until the CRL is refreshed"
                    : "AMD CRL is stale (past its nextUpdate); it is still used",
            {{"file", cfg.attestation.snp.crl_file},
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

// The audit log's counters for /metrics (group commit and failed writes).
std::string AuditMetricsText(const skr::audit::AppendStats& st) {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, std::int64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + std::to_string(v) + "\n";
  };
  metric("skr_audit_records_total", "counter", "Audit records committed.", st.records);
  metric("skr_audit_commits_total", "counter",
         "Audit transactions committed (records / commits = mean group-commit batch).", st.commits);
  metric("skr_audit_write_failures_total", "counter",
         "Audit records that could not be written (their requests got 503; nothing was released).",
         st.failed);
  metric("skr_audit_failed_commits_total", "counter", "Audit transactions that failed.",
         st.failed_commits);
  metric("skr_audit_unrecorded_failures", "gauge",
         "Failed audit records not yet counted in a committed record (unrecorded_failures).",
         st.unrecorded);
  metric("skr_audit_queued", "gauge", "Audit appends waiting for the group commit.", st.queued);
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

// A PEM bundle or one DER certificate file (trust anchors named in the config).
skr::Result<std::vector<skr::X509Ptr>> LoadCertFile(const std::string& key, const std::string& path) {
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
skr::Result<std::vector<skr::X509Ptr>> LoadEkRoots(const skr::config::Config& cfg) {
  if (!cfg.attestation.tpm.enabled || cfg.attestation.tpm.ek_roots.empty()) return std::vector<skr::X509Ptr>{};
  return LoadCertFile("attestation.tpm.ek_roots", cfg.attestation.tpm.ek_roots);
}

// What BuildRegistry set up that skrd still needs afterwards.
struct BuiltVerifiers {
  const skr::attestation::snp::AmdTrustStore* snp_trust = nullptr;  // null: sev-snp disabled
  skr::attestation::snp::SnpVerifier* snp = nullptr;  // owned by the registry; CRL reloads
  bool tdx = false;
};

// The Azure paravisor identities: the configured lists, or the built-in ID-key digests when
// trusted_id_key_digests is not set (config/ cannot name them; an explicit [] stays empty).
skr::attestation::azure::AzureOptions AzureOptionsFrom(const skr::config::Config& cfg) {
  const auto& az = cfg.attestation.azure;
  return skr::attestation::azure::AzureOptions{
      az.trusted_id_key_digests ? *az.trusted_id_key_digests
                                : skr::attestation::azure::DefaultTrustedIdKeyDigests(),
      az.trusted_measurements};
}

// Registers the enabled verifiers. `collateral` backs the SEV-SNP VCEK/VLEK cache,
// `enrolled_aks` the enrolled TPM AKs and `tdx_store` the TDX collateral (all may be null for
// check-config).
skr::Result<BuiltVerifiers> BuildRegistry(const skr::config::Config& cfg,
                                          skr::attestation::Registry& registry,
                                          const skr::Clock& clock,
                                          const skr::attestation::snp::SnpCollateral* collateral,
                                          const skr::attestation::tpm::AkDirectory* enrolled_aks,
                                          skr::server::TdxCollateralStore* tdx_store = nullptr) {
  if (cfg.attestation.tpm.enabled) {
    skr::attestation::tpm::TpmVerifierOptions topt;
    topt.clock = &clock;
    topt.enrolled = enrolled_aks;
    if (!cfg.attestation.tpm.ak_roots.empty()) {
      SKR_TRY(topt.ak_anchors, LoadCertFile("attestation.tpm.ak_roots", cfg.attestation.tpm.ak_roots));
    }
    registry.Register(std::make_unique<skr::attestation::tpm::TpmVerifier>(std::move(topt)));
  }
  if (cfg.attestation.sample.enabled) {
    SKR_TRY(std::string pem, skr::ReadFile(cfg.attestation.sample.public_key, 64 * 1024));
    auto v = skr::attestation::sample::SampleVerifier::Create(pem);
    if (!v) {
      return skr::Error(skr::ErrorCode::kInvalidArgument,
                        "attestation.sample.public_key: " + v.error().message());
    }
    registry.Register(std::move(v).value());
  }
  BuiltVerifiers out;
  if (cfg.attestation.tdx.enabled) {
    skr::attestation::tdx::TdxVerifierOptions topt;
    if (!cfg.attestation.tdx.extra_roots.empty()) {
      SKR_TRY(topt.extra_roots,
              LoadCertFile("attestation.tdx.extra_roots", cfg.attestation.tdx.extra_roots));
    }
    topt.collateral = tdx_store;
    topt.collateral_grace_seconds = cfg.attestation.tdx.collateral_grace_seconds;
    auto v = std::make_unique<skr::attestation::tdx::TdxVerifier>(std::move(topt), clock);
    if (tdx_store != nullptr) tdx_store->SetRoots(v->roots());
    out.tdx = true;
    registry.Register(std::move(v));
  }
  if (cfg.attestation.snp.enabled) {
    SKR_TRY(skr::attestation::snp::SnpVerifierOptions opts, LoadSnpOptions(cfg));
    const std::int64_t now = clock.NowUnix();
    SKR_TRY(opts.crls, LoadCrlSet(cfg, opts.trust, now));
    if (opts.crls) WarnStaleCrls(cfg, *opts.crls, now);
    opts.collateral = collateral;
    auto v = std::make_unique<skr::attestation::snp::SnpVerifier>(std::move(opts), clock);
    out.snp_trust = &v->trust();
    out.snp = v.get();
    // Azure CVM vTPM evidence: the SNP report inside the HCL report goes through the same SNP
    // verifier (owned by the registry, so the reference stays valid; CRL reloads apply to both).
    auto az = std::make_unique<skr::attestation::azure::AzSnpVtpmVerifier>(*v, AzureOptionsFrom(cfg));
    registry.Register(std::move(v));
    registry.Register(std::move(az));
  }
  return out;
}

// SIGHUP: re-reads [attestation.snp] crl_file. A file that fails to load leaves the CRLs in force
// untouched. Runs on an I/O thread; the swap itself is SnpVerifier::ReplaceCrls.
class CrlReloader {
 public:
  CrlReloader(const skr::config::Config& cfg, skr::attestation::snp::SnpVerifier* snp,
              const skr::Clock& clock)
      : cfg_(cfg), snp_(snp), clock_(clock) {}

  void Reload() {
    const std::string& file = cfg_.attestation.snp.crl_file;
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

  std::string MetricsText() const {
    if (snp_ == nullptr) return {};
    const auto set = snp_->crls();
    return CrlMetricsText(set.get(), clock_.NowUnix(), ok_.load(), failed_.load());
  }

 private:
  const skr::config::Config& cfg_;
  skr::attestation::snp::SnpVerifier* snp_;
  const skr::Clock& clock_;
  std::atomic<std::uint64_t> ok_{0};
  std::atomic<std::uint64_t> failed_{0};
};

int RunInit(const skr::config::Config& cfg) {
  skr::SystemClock clock;
  if (auto r = EnsureParentDir(cfg.storage.path); !r) return Fail(kExitFailure, r.error().message());
  if (auto r = EnsureParentDir(cfg.master_key.path); !r) {
    return Fail(kExitFailure, r.error().message());
  }
  const bool db_existed = std::filesystem::exists(cfg.storage.path);
  if (db_existed) {
    auto ks = skr::keystore::KeyStore::Open(cfg.storage.path, clock);
    if (!ks) return Fail(kExitFailure, ks.error().message());
    if ((*ks)->IsInitialized()) {
      if (!std::filesystem::exists(cfg.audit.signing_key)) {
        // A store made before signed checkpoints (issue 11): add the audit signing key only.
        if (auto r = skr::audit::CheckpointSigner::CreateFile(cfg.audit.signing_key); !r) {
          return Fail(kExitFailure, r.error().message());
        }
        auto signer = skr::audit::CheckpointSigner::LoadFile(cfg.audit.signing_key);
        if (!signer) return Fail(kExitFailure, signer.error().message());
        std::cout << skr::DumpJson(Json{{"audit_verifier_key", signer->verifier_key()}})
                  << std::endl;
        return kExitOk;
      }
      return Fail(kExitFailure, "store " + cfg.storage.path +
                                    " is already initialized; nothing was changed");
    }
  }
  if (std::filesystem::exists(cfg.master_key.path)) {
    return Fail(kExitFailure, "master key " + cfg.master_key.path +
                                  " already exists; refusing to overwrite it");
  }
  if (std::filesystem::exists(cfg.audit.signing_key)) {
    return Fail(kExitFailure, "audit signing key " + cfg.audit.signing_key +
                                  " already exists; refusing to overwrite it");
  }
  if (auto r = EnsureParentDir(cfg.audit.signing_key); !r) {
    return Fail(kExitFailure, r.error().message());
  }
  auto provider = MakeProvider(cfg);
  if (auto r = provider->Create(); !r) return Fail(kExitFailure, r.error().message());
  auto mk = provider->Load();
  if (!mk) return Fail(kExitFailure, mk.error().message());
  auto ks = skr::keystore::KeyStore::Open(cfg.storage.path, clock);
  if (!ks) return Fail(kExitFailure, ks.error().message());
  if (auto r = (*ks)->Initialize(*mk); !r) return Fail(kExitFailure, r.error().message());
  if (auto r = (*ks)->Unseal(*mk); !r) return Fail(kExitFailure, r.error().message());
  skr::audit::AuditOptions init_opt;
  init_opt.exclusive = true;
  auto audit = skr::audit::AuditLog::Open(cfg.storage.audit_path, clock, init_opt);
  if (!audit) return Fail(kExitFailure, audit.error().message());
  if (auto r = skr::audit::CheckpointSigner::CreateFile(cfg.audit.signing_key); !r) {
    return Fail(kExitFailure, r.error().message());
  }
  auto signer = skr::audit::CheckpointSigner::LoadFile(cfg.audit.signing_key);
  if (!signer) return Fail(kExitFailure, signer.error().message());
  auto tok = (*ks)->CreateToken(skr::keystore::Role::kOperator, std::nullopt, 0);
  if (!tok) return Fail(kExitFailure, tok.error().message());
  skr::audit::Record rec;
  rec.kind = "admin";
  rec.action = "init";
  rec.actor = "skrd-init";
  rec.decision = "ok";
  rec.reason = "store initialized; operator token " + tok->info.id + " created";
  if (auto r = (*audit)->Append(std::move(rec)); !r) return Fail(kExitFailure, r.error().message());
  // The one time the operator token is shown (DESIGN.md section 9).
  // The verifier key is public: auditors pin it to check the log's signed checkpoints.
  std::cout << skr::DumpJson(Json{{"operator_token", tok->secret},
                                  {"audit_verifier_key", signer->verifier_key()}})
            << std::endl;
  return kExitOk;
}

int RunCheckConfig(const skr::config::Config& cfg) {
  for (const auto& [what, path] : {std::pair<std::string, std::string>{"server.tls_cert", cfg.server.tls_cert},
                                   {"server.tls_key", cfg.server.tls_key}}) {
    if (!std::filesystem::exists(path)) return Fail(kExitConfig, what + ": file not found: " + path);
  }
  skr::attestation::Registry registry;
  skr::SystemClock clock;
  if (auto r = BuildRegistry(cfg, registry, clock, nullptr, nullptr); !r) {
    return Fail(kExitConfig, r.error().message());
  }
  if (auto r = LoadEkRoots(cfg); !r) return Fail(kExitConfig, r.error().message());
  Json types = Json::array();
  for (const auto& t : registry.Types()) types.push_back(t);
  Json out = {{"config", "ok"},
              {"listen", cfg.server.listen},
              {"storage", cfg.storage.path},
              {"evidence_types", types}};
  if (cfg.attestation.sample.enabled) {
    LogLine("warn", kSampleWarning);
    out["warnings"] = Json::array({kSampleWarning});
  }
  // Policies stored before the "tee" rule (DESIGN.md section 4) keep evaluating; list them so
  // the operator can have them re-stored.
  if (std::filesystem::exists(cfg.storage.path)) {
    auto ks = skr::keystore::KeyStore::Open(cfg.storage.path, clock);
    if (!ks) return Fail(kExitFailure, ks.error().message());
    auto flagged = skr::server::PoliciesWithoutTee(**ks);
    if (!flagged) return Fail(kExitFailure, flagged.error().message());
    for (const auto& p : *flagged) {
      LogLine("warn", "policy " + p.at("tenant").get<std::string>() + "/" +
                          p.at("policy").get<std::string>() + " v" +
                          std::to_string(p.at("version").get<int>()) +
                          " can grant without constraining 'tee': store a new version that names "
                          "the TEE");
    }
    // The master key, the way a start reads it: a start with this one would be sealed.
    if ((*ks)->IsInitialized()) {
      auto mk = MakeProvider(cfg)->Load();
      if (!mk) return Fail(kExitConfig, "master key: " + mk.error().message() + " (skrd would start sealed)");
      if (auto r = (*ks)->Unseal(*mk); !r) {
        return Fail(kExitConfig, "master key: " + r.error().message() + " (skrd would start sealed)");
      }
      out["master_key"] = "ok";
    }
    out["policies_without_tee"] = std::move(flagged).value();
    // Policies stored before the lint (issue 12) whose conditions can never hold as written.
    auto linted = skr::server::PoliciesWithLintProblems(**ks);
    if (!linted) return Fail(kExitFailure, linted.error().message());
    for (const auto& p : *linted) {
      LogLine("warn", "policy " + p.at("tenant").get<std::string>() + "/" +
                          p.at("policy").get<std::string>() + " v" +
                          std::to_string(p.at("version").get<int>()) + " at " +
                          p.at("lint")[0].at("path").get<std::string>() + ": " +
                          p.at("lint")[0].at("message").get<std::string>());
    }
    out["policies_with_lint_problems"] = std::move(linted).value();
  }
  std::cout << skr::DumpJson(out) << std::endl;
  return kExitOk;
}

// `skrd audit-seal`: with skrd stopped (the audit lock is taken), acknowledges the damage the
// start-up check finds so that releases can resume; the damage stays provable (AuditService::Seal).
int RunAuditSeal(const skr::config::Config& cfg, const std::string& reason) {
  skr::SystemClock clock;
  skr::audit::AuditOptions aopt;
  aopt.exclusive = true;
  auto audit = skr::audit::AuditLog::Open(cfg.storage.audit_path, clock, aopt);
  if (!audit) return Fail(kExitFailure, "audit log: " + audit.error().message());
  auto signer = skr::audit::CheckpointSigner::LoadFile(cfg.audit.signing_key);
  if (!signer) return Fail(kExitConfig, signer.error().message());
  skr::server::AuditService svc(**audit, *signer, clock, cfg.audit.signing_key + ".checkpoint");
  auto sealed = svc.Seal(reason);
  if (!sealed) return Fail(kExitFailure, sealed.error().message());
  std::cout << skr::DumpJson(*sealed) << std::endl;
  return kExitOk;
}

int RunServe(const skr::config::Config& cfg, const std::string& port_file) {
  skr::SystemClock clock;
  if (!std::filesystem::exists(cfg.storage.path)) {
    return Fail(kExitConfig, "storage.path " + cfg.storage.path +
                                 " does not exist: run `skrd init --config FILE` first");
  }
  auto ks = skr::keystore::KeyStore::Open(cfg.storage.path, clock);
  if (!ks) return Fail(kExitFailure, ks.error().message());
  if (!(*ks)->IsInitialized()) {
    return Fail(kExitConfig, "store is not initialized: run `skrd init --config FILE` first");
  }
  // A missing or wrong master key does not stop skrd: it starts sealed (DESIGN.md section 5).
  auto provider = MakeProvider(cfg);
  if (auto mk = provider->Load(); !mk) {
    LogLine("warn", "starting sealed: " + mk.error().message());
  } else if (auto r = (*ks)->Unseal(*mk); !r) {
    LogLine("warn", "starting sealed: " + r.error().message());
  }
  skr::audit::AuditOptions aopt;
  aopt.busy_timeout_ms = cfg.audit.busy_timeout_ms;
  aopt.max_batch = static_cast<std::size_t>(cfg.audit.max_batch);
  aopt.exclusive = true;  // one skrd per SQLite audit log (the Merkle tree has one writer)
  aopt.on_failure = [](const skr::Error& e, std::size_t records) {
    LogLine("error", "audit write failed; nothing was released for these requests",
            {{"reason", e.message()}, {"records", records}});
  };
  auto audit = skr::audit::AuditLog::Open(cfg.storage.audit_path, clock, aopt);
  if (!audit) return Fail(kExitFailure, "audit log: " + audit.error().message());
  auto signer = skr::audit::CheckpointSigner::LoadFile(cfg.audit.signing_key);
  if (!signer) {
    return Fail(kExitConfig, signer.error().message() +
                                 " (run `skrd init --config FILE` to create the audit signing key)");
  }

  if (cfg.attestation.sample.enabled) LogLine("warn", kSampleWarning);
  skr::attestation::Registry registry;
  skr::server::KeystoreSnpCollateral snp_cache(**ks);
  skr::server::KeystoreAkDirectory enrolled_aks(**ks);
  skr::server::TdxCollateralStore tdx_store(**ks, clock);
  auto built = BuildRegistry(cfg, registry, clock, &snp_cache, &enrolled_aks, &tdx_store);
  if (!built) return Fail(kExitConfig, built.error().message());
  if (built->tdx) {
    // Stored collateral that no longer verifies is not served: tdx releases then answer 503
    // tdx_collateral_missing until an operator imports collateral again.
    if (auto r = tdx_store.Load(); !r) {
      LogLine("error", "stored TDX collateral is not used: " + r.error().message(),
              {{"reason", r.error().reason()}});
    }
  }
  auto ek_roots = LoadEkRoots(cfg);
  if (!ek_roots) return Fail(kExitConfig, ek_roots.error().message());

  skr::server::BrokerOptions bopt;
  bopt.snp_trust = built->snp_trust;
  if (built->tdx) bopt.tdx_collateral = &tdx_store;
  bopt.nonce_ttl_seconds = cfg.release.nonce_ttl_seconds;
  bopt.max_json_bytes = cfg.server.body_limit_bytes;
  bopt.tpm_ek_roots = &*ek_roots;
  bopt.tpm_require_ek = cfg.attestation.tpm.require_ek;
  bopt.tpm_enrollment_ttl_seconds = cfg.attestation.tpm.enrollment_ttl_seconds;
  bopt.keep_replay_bundles = cfg.audit.replay_retention_days > 0;
  skr::server::Broker broker(**ks, **audit, registry, clock, bopt);
  skr::server::http::RouterLimits limits;
  limits.challenge_rate_per_second = cfg.server.challenge_rate_per_second;
  limits.challenge_burst = cfg.server.challenge_burst;
  limits.release_rate_per_second = cfg.server.release_rate_per_second;
  limits.release_burst = cfg.server.release_burst;
  limits.max_tracked_addresses = static_cast<std::size_t>(cfg.server.max_tracked_addresses);
  skr::server::http::Router router(broker, limits);
  // The audit log against its last signed checkpoint (DESIGN.md section 6): a damaged log keeps
  // releases refused (503 audit_integrity) until an operator deals with it.
  skr::server::AuditService audit_service(**audit, *signer, clock,
                                          cfg.audit.signing_key + ".checkpoint");
  if (auto r = audit_service.CheckIntegrity(); !r) {
    LogLine("error", "audit log: " + r.error().message() + "; releases are refused");
  }
  broker.SetReleaseGate([&audit_service] { return audit_service.IntegrityFailure(); });
  router.SetAuditService(&audit_service);
  skr::audit::AuditLog* log_ptr = audit->get();
  router.AddMetricsSource([log_ptr] { return AuditMetricsText(log_ptr->Stats()); });
  CrlReloader crl_reloader(cfg, built->snp, clock);
  router.AddMetricsSource([&crl_reloader] { return crl_reloader.MetricsText(); });
  if (built->tdx) router.AddMetricsSource([&tdx_store] { return tdx_store.MetricsText(); });

  skr::server::http::ServerOptions sopt;
  sopt.host = cfg.server.host;
  sopt.port = cfg.server.port;
  sopt.cert_file = cfg.server.tls_cert;
  sopt.key_file = cfg.server.tls_key;
  sopt.body_limit = cfg.server.body_limit_bytes;
  sopt.header_limit = cfg.server.header_limit_bytes;
  sopt.read_timeout_seconds = cfg.server.read_timeout_seconds;
  sopt.write_timeout_seconds = cfg.server.write_timeout_seconds;
  sopt.max_connections = cfg.server.max_connections;
  sopt.handshake_timeout_seconds = cfg.server.handshake_timeout_seconds;
  sopt.max_connections_per_address = cfg.server.max_connections_per_address;
  sopt.queue_limit = static_cast<std::size_t>(cfg.server.queue_limit);
  sopt.queue_timeout_ms = cfg.server.queue_timeout_ms;
  const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // I/O threads do TLS and parsing (CPU): one per core. Workers also wait on fsync (group
  // commit), so there are more of them than cores.
  sopt.threads = cfg.server.threads > 0 ? cfg.server.threads : std::max(2, hw);
  sopt.workers = cfg.server.workers > 0 ? cfg.server.workers : std::max(4, 2 * hw);
  auto srv = skr::server::http::HttpsServer::Create(sopt, router);
  if (!srv) return Fail(kExitFailure, srv.error().message());
  (*srv)->SetReloadHandler([&crl_reloader] { crl_reloader.Reload(); });
  skr::server::http::HttpsServer* sp = srv->get();
  router.AddMetricsSource([sp] { return sp->MetricsText(); });

  // Periodic work on an I/O thread (cheap): consumed-nonce records past their token's expiry
  // are pruned (once a minute), unknown-key releases are written as aggregated audit records.
  skr::keystore::KeyStore* kp = ks->get();
  const int interval = cfg.audit.unknown_release_interval_seconds;
  auto last_purge = std::make_shared<std::int64_t>(0);
  auto last_checkpoint = std::make_shared<std::int64_t>(clock.NowUnix());
  const int checkpoint_every = cfg.audit.checkpoint_interval_seconds;
  const int retention_days = cfg.audit.replay_retention_days;
  auto last_prune = std::make_shared<std::int64_t>(0);
  (*srv)->SetPeriodicTask(std::min({60, interval, checkpoint_every}),
                          [kp, &clock, &broker, &audit_service, last_purge, last_checkpoint,
                           checkpoint_every, log_ptr, retention_days, last_prune] {
    const std::int64_t now = clock.NowUnix();
    if (now - *last_purge >= 60) {
      (void)kp->PurgeNonces(now);
      // Replay bundles past their retention (the records themselves stay), hourly.
      if (retention_days > 0 && now - *last_prune >= 3600) {
        *last_prune = now;
        if (auto pruned = log_ptr->PruneReplayBundles(now - std::int64_t{retention_days} * 86400);
            !pruned) {
          LogLine("error", "pruning replay bundles: " + pruned.error().message());
        }
      }
      *last_purge = now;
    }
    broker.FlushUnknownReleases();
    if (now - *last_checkpoint >= checkpoint_every) {
      *last_checkpoint = now;
      if (auto cp = audit_service.Checkpoint(); !cp && !audit_service.IntegrityFailure()) {
        LogLine("error", "audit checkpoint: " + cp.error().message());
      }
    }
  });
  const std::uint16_t port = (*srv)->port();
  if (!port_file.empty()) {
    const std::string tmp = port_file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << port << "\n";
    }
    std::filesystem::rename(tmp, port_file);
  }
  Json types = Json::array();
  for (const auto& t : registry.Types()) types.push_back(t);
  LogLine("info", "listening",
          {{"address", cfg.server.host}, {"port", port}, {"sealed", broker.sealed()},
           {"evidence_types", types}, {"threads", sopt.threads},
           {"workers", sopt.workers}});
  (*srv)->Run(/*handle_signals=*/true);
  broker.FlushUnknownReleases();
  if (auto cp = audit_service.Checkpoint(); cp) {
    LogLine("info", "audit checkpoint", {{"tree_size", cp->tree_size}});
    // A clean stop at this size: a log found longer or shorter at the next start was changed
    // by something else meanwhile.
    if (auto size = audit->get()->Size(); size && *size == cp->tree_size) {
      if (auto m = audit_service.MarkStopped(*size); !m) {
        LogLine("error", "audit stop marker: " + m.error().message());
      }
    }
  } else if (!audit_service.IntegrityFailure()) {
    LogLine("error", "audit checkpoint at shutdown: " + cp.error().message());
  }
  LogLine("info", "stopped");
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  // `--version` alone (subcommands use --version for key and policy versions).
  if (argc == 2 && std::string_view(argv[1]) == "--version") {
    std::cout << "skrd " << SKR_VERSION << '\n';
    return 0;
  }
  CLI::App app{"skrd: secure key release broker"};
  std::string config_path;
  std::string port_file;
  app.add_option("--config", config_path, "configuration file (TOML)");
  app.add_option("--port-file", port_file, "write the bound port to this file once listening");
  auto* init = app.add_subcommand("init", "create the store, master key and first operator token");
  init->add_option("--config", config_path, "configuration file (TOML)");
  auto* check = app.add_subcommand("check-config", "validate the configuration");
  check->add_option("--config", config_path, "configuration file (TOML)");
  std::string seal_reason;
  auto* seal = app.add_subcommand(
      "audit-seal", "with skrd stopped: acknowledge the audit log damage found at start (stays provable)");
  seal->add_option("--config", config_path, "configuration file (TOML)");
  seal->add_option("--reason", seal_reason, "why (recorded in the audit.seal record)")->required();
  app.require_subcommand(0, 1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitConfig;
  }
  if (config_path.empty()) return Fail(kExitConfig, "--config FILE is required");
  auto cfg = skr::config::LoadConfig(config_path);
  if (!cfg) return Fail(kExitConfig, "config: " + cfg.error().message());
  if (init->parsed()) return RunInit(*cfg);
  if (check->parsed()) return RunCheckConfig(*cfg);
  if (seal->parsed()) return RunAuditSeal(*cfg, seal_reason);
  return RunServe(*cfg, port_file);
}
