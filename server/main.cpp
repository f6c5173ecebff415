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
#include "server/verifiers.h"

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


std::unique_ptr<skr::keystore::MasterKeyProvider> MakeProvider(const skr::config::Config& cfg) {
  return skr::keystore::MakeFileProvider(cfg.master_key.path);
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
  auto built = skr::server::BuildVerifiers(cfg, registry, skr::server::VerifierDeps{clock});
  if (!built) return Fail(kExitConfig, built.error().message());
  Json types = Json::array();
  for (const auto& t : registry.Types()) types.push_back(t);
  Json out = {{"config", "ok"},
              {"listen", cfg.server.listen},
              {"storage", cfg.storage.path},
              {"evidence_types", types}};
  if (!built->warnings.empty()) {
    for (const auto& w : built->warnings) LogLine("warn", w);
    out["warnings"] = built->warnings;
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

  skr::attestation::Registry registry;
  skr::server::KeystoreSnpCollateral snp_cache(**ks);
  skr::server::KeystoreAkDirectory enrolled_aks(**ks);
  skr::server::TdxCollateralStore tdx_store(**ks, clock);
  auto built = skr::server::BuildVerifiers(
      cfg, registry, skr::server::VerifierDeps{clock, &snp_cache, &enrolled_aks, &tdx_store});
  if (!built) return Fail(kExitConfig, built.error().message());
  for (const auto& w : built->warnings) LogLine("warn", w);
  if (built->tdx) {
    // Stored collateral that no longer verifies is not served: tdx releases then answer 503
    // tdx_collateral_missing until an operator imports collateral again.
    if (auto r = tdx_store.Load(); !r) {
      LogLine("error", "stored TDX collateral is not used: " + r.error().message(),
              {{"reason", r.error().reason()}});
    }
  }

  skr::server::BrokerOptions bopt;
  bopt.snp_trust = built->snp_trust;
  if (built->tdx) bopt.tdx_collateral = &tdx_store;
  bopt.nonce_ttl_seconds = cfg.release.nonce_ttl_seconds;
  bopt.max_json_bytes = cfg.server.body_limit_bytes;
  bopt.tpm_ek_roots = &built->tpm_ek_roots;
  bopt.tpm_require_ek = built->tpm_require_ek;
  bopt.tpm_enrollment_ttl_seconds = built->tpm_enrollment_ttl_seconds;
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
  broker.release().SetReleaseGate([&audit_service] { return audit_service.IntegrityFailure(); });
  router.SetAuditService(&audit_service);
  skr::audit::AuditLog* log_ptr = audit->get();
  router.AddMetricsSource([log_ptr] { return AuditMetricsText(log_ptr->Stats()); });
  skr::server::CrlReloader crl_reloader(cfg, built->snp, clock);
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
    broker.release().FlushUnknownReleases();
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
  broker.release().FlushUnknownReleases();
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
  // The fixed sections, and every TEE's [attestation.<tee>] from the verifier table.
  auto cfg = skr::config::LoadConfig(config_path, skr::server::ConfigSections());
  if (!cfg) return Fail(kExitConfig, "config: " + cfg.error().message());
  if (init->parsed()) return RunInit(*cfg);
  if (check->parsed()) return RunCheckConfig(*cfg);
  if (seal->parsed()) return RunAuditSeal(*cfg, seal_reason);
  return RunServe(*cfg, port_file);
}
