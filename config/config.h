// SPDX-License-Identifier: Apache-2.0
// skrd configuration (DESIGN.md sections 7 and 9): a TOML file plus SKR_SECTION_KEY environment
// overrides, validated into plain structs. Relative paths resolve against the config file's
// directory.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config_section.h"
#include "common/result.h"

namespace skr::config {

struct ServerConfig {
  std::string listen = "127.0.0.1:8443";  // host:port; [v6]:port accepted
  std::string host;                      // derived from listen
  std::uint16_t port = 0;                // derived from listen
  std::string tls_cert;
  std::string tls_key;
  std::size_t body_limit_bytes = 256 * 1024;
  std::size_t header_limit_bytes = 8 * 1024;
  int read_timeout_seconds = 10;
  int write_timeout_seconds = 10;
  int threads = 0;  // 0: 2 x hardware threads (at least 4)
  int max_connections = 1024;
  // Boot storms under attack (issue 10): limits that isolate clients (per source address: the
  // IPv4 address, or the /64 prefix of an IPv6 one) and shed load before latency grows.
  int handshake_timeout_seconds = 5;    // TLS handshake deadline, separate from the read deadline
  int max_connections_per_address = 64;
  int challenge_rate_per_second = 20;   // token bucket per address for POST /v1/challenge
  int challenge_burst = 100;
  int release_rate_per_second = 20;     // token bucket per address for releases
  int release_burst = 100;
  int max_tracked_addresses = 100000;   // rate-limit table size
  int workers = 0;                      // release/admin worker threads; 0: 2 x hardware (>= 4)
  int queue_limit = 512;                // queued requests beyond which the answer is 503
  int queue_timeout_ms = 3000;          // a request that waited longer is answered 503
};

struct StorageConfig {
  std::string path;        // keystore SQLite file
  std::string audit_path;  // audit SQLite file; default: <dir of path>/audit.db
};

struct MasterKeyConfig {
  std::string provider = "file";
  std::string path;
};

struct ReleaseConfig {
  int nonce_ttl_seconds = 120;
};

struct AuditConfig {
  int busy_timeout_ms = 5000;
  // Releases naming unknown tenants or keys: one aggregated record per source per interval.
  int unknown_release_interval_seconds = 60;
  // Ed25519 key that signs the audit log's checkpoints (issue 11), made by `skrd init`; default:
  // audit-signing.key beside the master key. The latest checkpoint is also kept beside it
  // (<signing_key>.checkpoint), outside the database.
  std::string signing_key;
  // How often a checkpoint is signed when the log grew (also on demand and at shutdown).
  int checkpoint_interval_seconds = 60;
  // Most records one audit commit carries (group commit); 1 = one fsync per record.
  int max_batch = 512;
  // Days a release's evidence is kept beside its record for offline replay; 0 = none kept.
  int replay_retention_days = 90;
};

struct Config {
  ServerConfig server;
  StorageConfig storage;
  MasterKeyConfig master_key;
  // The sections modules own (common/config_section.h): one per TEE, `[attestation.<tee>]`,
  // listed by the server's verifier table and parsed here without config/ knowing them.
  ConfigSections sections;
  template <typename T>
  const T& Get() const { return sections.Get<T>(); }
  ReleaseConfig release;
  AuditConfig audit;
  std::string config_dir;  // absolute directory of the config file
};

// Parses TOML text into the fixed sections and clones of `sections` (the modules' sections, e.g.
// every TEE's [attestation.<tee>]); a table no fixed key and no given section names is an
// unknown key. `env` holds SKR_* overrides (e.g. SKR_SERVER_LISTEN,
// SKR_ATTESTATION_SAMPLE_ENABLED) which win over the file. List-valued keys take a
// comma-separated list in the environment (an empty value is an empty list). Unknown keys, wrong types and
// invalid values are kInvalidArgument errors whose message names the key ("server.listen: ...").
using SectionList = std::vector<std::shared_ptr<ConfigSectionBase>>;
Result<Config> ParseConfig(std::string_view toml_text, const std::string& config_dir,
                           const std::map<std::string, std::string>& env,
                           const SectionList& sections = {});
// Reads the file and the process environment.
Result<Config> LoadConfig(const std::string& path, const SectionList& sections = {});
// The SKR_* variables of the process environment.
std::map<std::string, std::string> SkrEnvironment();

}  // namespace skr::config
