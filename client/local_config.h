// SPDX-License-Identifier: Apache-2.0
// skr-agent's local configuration, /etc/skr/agent.toml: what this machine itself trusts.
//
// The Clevis pin (scripts/clevis/clevis-decrypt-skr) takes skr-agent's arguments from the JWE
// protected header in the LUKS2 token, which is plaintext on disk: a hostile host can write it.
// When the local file exists, every value it names is the only one skr-agent accepts for that
// option; the header may repeat it, never replace it. A key the file does not name leaves the
// command-line value as given. The file lives in the root file system and is copied into the
// initramfs by the dracut module / initramfs-tools hook, so the host cannot change it.
//
//   servers       = ["https://kbs1.example:8443", ...]  each --url must be one of these
//   cacert        = "/etc/skr/ca.crt"                   --cacert must be this (default: this)
//   pin_sha256    = ["<base64 SPKI SHA-256>", ...]      each --pin-sha256 must be one of these
//                                                       (default: all of these)
//   tenant, key   = "acme", "root-disk"                 --tenant / --key must be these
//   evidence      = "tpm"                               --evidence must be this
//   tcti          = "device:/dev/tpmrm0"                a TCTI allowed besides device:/dev/...
//                                                       (default for --tcti)
//   event_log     = "/path"                             an event log allowed besides securityfs
//                                                       (default for --event-log)
//   sample_key, sample_claims = "/path"                 the only sample attester files allowed;
//                                                       unset: none allowed (default: these)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace skr::client {

inline constexpr const char* kDefaultLocalAgentConfig = "/etc/skr/agent.toml";
inline constexpr std::size_t kMaxLocalAgentConfigBytes = 64 * 1024;

struct LocalAgentConfig {
  std::string path;  // where it was read from (for messages)
  std::vector<std::string> servers;
  std::optional<std::string> cacert;
  std::vector<std::string> pin_sha256;
  std::optional<std::string> tenant;
  std::optional<std::string> key;
  std::optional<std::string> evidence;
  std::optional<std::string> tcti;
  std::optional<std::string> event_log;
  std::optional<std::string> sample_key;
  std::optional<std::string> sample_claims;
};

// $SKR_AGENT_CONFIG when set and non-empty, else kDefaultLocalAgentConfig.
std::string LocalAgentConfigPath();

// Parses the TOML text. Unknown keys, wrong types, empty strings and empty arrays are errors (a
// typo must not silently drop a restriction). Errors: kInvalidArgument reason
// "bad_local_config", the message names the key.
Result<LocalAgentConfig> ParseLocalAgentConfig(std::string_view toml_text, const std::string& path);

// Reads and parses `path`. A missing file is "no local configuration" (nullopt) only when
// `missing_ok`; otherwise, and for an unreadable or oversized (> 64 KiB) file, an error.
// Errors: kInvalidArgument reason "bad_local_config".
Result<std::optional<LocalAgentConfig>> LoadLocalAgentConfig(const std::string& path,
                                                             bool missing_ok);

// LoadLocalAgentConfig(LocalAgentConfigPath()), where a missing file is fine only at the default
// path: a path set through $SKR_AGENT_CONFIG must exist (fail closed).
Result<std::optional<LocalAgentConfig>> LoadLocalAgentConfig();

}  // namespace skr::client
