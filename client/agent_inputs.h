// SPDX-License-Identifier: Apache-2.0
// The skr-agent fetch options that the Clevis pin fills from the LUKS2 token's JWE header, which
// is plaintext on disk and writable by a hostile host. Before anything runs (no attester, no
// network), skr-agent checks them against fixed rules and against the local agent config
// (local_config.h), and uses only what passes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "client/local_config.h"
#include "common/result.h"

namespace skr::client {

struct AgentInputs {
  std::vector<std::string> urls;  // --url
  std::string cacert;             // --cacert
  std::vector<std::string> pins;  // --pin-sha256
  std::string tenant;             // --tenant
  std::string key;                // --key
  std::string evidence;           // --evidence
  std::string ak_id;              // --ak-id
  std::string tcti;               // --tcti (empty: local config, else ResolveTcti)
  std::string event_log;          // --event-log (empty: local config, else the default)
  std::string sample_key;         // --sample-key
  std::string sample_claims;      // --sample-claims
};

// [a-z0-9][a-z0-9._-]{0,62}, the tenant and key names skrd accepts.
bool IsValidResourceName(std::string_view name);
// An enrolment id: [A-Za-z0-9_-]{1,64}.
bool IsValidAkId(std::string_view id);

// Returns the inputs to use. Rules, in this order:
//   - tenant and key are names (kInvalidArgument "bad_name"), ak_id when set an enrolment id
//     (kInvalidArgument "bad_ak_id");
//   - tcti: the local config's value, or ValidateDeviceTcti; event_log: the local config's value,
//     or ValidateEventLogOption (empty: the local value, if any);
//   - with a local config (`local` non-null), each value it names is the only one accepted:
//     every URL in `servers` ("untrusted_url"), cacert ("untrusted_cacert"), every pin in
//     `pin_sha256` ("untrusted_pin"), tenant, key, evidence ("untrusted_tenant", ...), sample_key
//     and sample_claims, which must be named there to be used at all ("untrusted_sample_key",
//     "untrusted_sample_claims"); an empty cacert / pins / sample file takes the local value.
// Errors: kInvalidArgument as above, kPermissionDenied with the "untrusted_*" reasons. Messages
// name the option, not the value (it may be an attacker's payload).
Result<AgentInputs> ValidateAgentInputs(AgentInputs in, const LocalAgentConfig* local);

}  // namespace skr::client
