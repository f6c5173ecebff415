// SPDX-License-Identifier: Apache-2.0
#include "client/agent_inputs.h"

#include <algorithm>

#include "client/tpm_attester.h"

namespace skr::client {
namespace {

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

Error Untrusted(const std::string& option, const LocalAgentConfig& local, const std::string& slug) {
  return Error(
      ErrorCode::kPermissionDenied,
      "refusing " + option + ": not the value the local agent config " + local.path + " allows",
      "untrusted_" + slug);
}

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// `value` must equal `allowed` when the local config names one; empty takes it.
Result<void> MustEqual(std::string& value, const std::optional<std::string>& allowed,
                       const std::string& option, const LocalAgentConfig& local,
                       const std::string& slug) {
  if (!allowed) return Ok();
  if (value.empty()) value = *allowed;
  if (value != *allowed) return Untrusted(option, local, slug);
  return Ok();
}

// Sample attester files are read (the key) and sent (the claims): with a local config they must
// be named there; without one, as given (skr-agent run by hand; the pin needs a local config).
Result<void> SampleFile(std::string& value, const std::optional<std::string>& allowed,
                        const std::string& option, const LocalAgentConfig& local,
                        const std::string& slug) {
  if (!allowed) {
    if (!value.empty()) return Untrusted(option, local, slug);
    return Ok();
  }
  return MustEqual(value, allowed, option, local, slug);
}

}  // namespace

bool IsValidResourceName(std::string_view name) {
  if (name.empty() || name.size() > 63 || !IsLowerAlnum(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsLowerAlnum(c) || c == '.' || c == '_' || c == '-'; });
}

bool IsValidAkId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
  });
}

Result<AgentInputs> ValidateAgentInputs(AgentInputs in, const LocalAgentConfig* local) {
  for (const auto& [option, value] :
       {std::pair<const char*, const std::string*>{"--tenant", &in.tenant}, {"--key", &in.key}}) {
    if (!IsValidResourceName(*value)) {
      return Error(ErrorCode::kInvalidArgument,
                   std::string(option) + " must match [a-z0-9][a-z0-9._-]{0,62}", "bad_name");
    }
  }
  if (!in.ak_id.empty() && !IsValidAkId(in.ak_id)) {
    return Error(ErrorCode::kInvalidArgument, "--ak-id must match [A-Za-z0-9_-]{1,64}",
                 "bad_ak_id");
  }
  // TCTI and event log: the local config may allow one more value and make it the default.
  const std::optional<std::string> local_tcti = local ? local->tcti : std::nullopt;
  const std::optional<std::string> local_log = local ? local->event_log : std::nullopt;
  if (in.tcti.empty() && local_tcti) in.tcti = *local_tcti;
  if (!in.tcti.empty() && in.tcti != local_tcti) SKR_TRY_VOID(ValidateDeviceTcti(in.tcti));
  if (in.event_log.empty() && local_log) in.event_log = *local_log;
  if (!in.event_log.empty() && in.event_log != local_log) {
    SKR_TRY_VOID(ValidateEventLogOption(in.event_log));
  }
  if (local == nullptr) return in;

  const LocalAgentConfig& l = *local;
  if (!l.servers.empty()) {
    for (const auto& url : in.urls) {
      if (!Contains(l.servers, url)) return Untrusted("--url", l, "url");
    }
  }
  SKR_TRY_VOID(MustEqual(in.cacert, l.cacert, "--cacert", l, "cacert"));
  if (!l.pin_sha256.empty()) {
    if (in.pins.empty()) in.pins = l.pin_sha256;
    for (const auto& pin : in.pins) {
      if (!Contains(l.pin_sha256, pin)) return Untrusted("--pin-sha256", l, "pin");
    }
  }
  SKR_TRY_VOID(MustEqual(in.tenant, l.tenant, "--tenant", l, "tenant"));
  SKR_TRY_VOID(MustEqual(in.key, l.key, "--key", l, "key"));
  SKR_TRY_VOID(MustEqual(in.evidence, l.evidence, "--evidence", l, "evidence"));
  SKR_TRY_VOID(SampleFile(in.sample_key, l.sample_key, "--sample-key", l, "sample_key"));
  SKR_TRY_VOID(
      SampleFile(in.sample_claims, l.sample_claims, "--sample-claims", l, "sample_claims"));
  return in;
}

}  // namespace skr::client
