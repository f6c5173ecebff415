// SPDX-License-Identifier: Apache-2.0
// skr-agent: attest to skrd and fetch a key (see client/agent.h for the flow and exit codes).
//   skr-agent fetch --url URL --tenant T --key K --evidence sample --sample-key FILE
//                   [--sample-claims FILE] [--cacert FILE] [--out FILE] [--key-type TYPE]
//                   [--version N] [--timeout SECONDS]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "client/agent.h"
#include "client/api_client.h"
#include "client/sample_attester.h"
#include "client/snp_attester.h"

namespace {

using skr::Json;
using namespace skr::client;

void Log(std::string_view level, std::string_view msg, const Json& fields) {
  std::cerr << LogLine(level, msg, fields) << '\n' << std::flush;
}

struct Args {
  std::string url;
  std::string tenant;
  std::string key;
  std::string evidence;
  std::string sample_key;
  std::string sample_claims;
  std::string cacert;
  std::string out;
  std::string key_type = "ec-p384";
  std::optional<std::int64_t> version;
  int timeout = 30;
  std::string tsm_dir = "/sys/kernel/config/tsm/report";
  std::string sev_guest = "/dev/sev-guest";
  int vmpl = 0;
};

int UsageError(const Args& a, const skr::Error& e) {
  Log("error", e.message(), {{"tenant", a.tenant}, {"key", a.key}, {"reason", e.reason()}});
  return kExitUsage;
}

int Fetch(const Args& a) {
  auto key_type = ParseKeyType(a.key_type);
  if (!key_type) return UsageError(a, key_type.error());
  if (a.evidence != "sample" && a.evidence != "sev-snp") {
    return UsageError(a, skr::Error(skr::ErrorCode::kInvalidArgument,
                                    "unsupported evidence type '" + a.evidence +
                                        "' (supported: sample, sev-snp)",
                                    "bad_evidence_type"));
  }
  if (a.evidence == "sample" && a.sample_key.empty()) {
    return UsageError(a, skr::Error(skr::ErrorCode::kInvalidArgument,
                                    "--evidence sample needs --sample-key FILE"));
  }
  if (a.vmpl < 0 || a.vmpl > 3) {
    return UsageError(a, skr::Error(skr::ErrorCode::kInvalidArgument, "--vmpl must be 0..3"));
  }
  if (a.timeout <= 0) {
    return UsageError(a, skr::Error(skr::ErrorCode::kInvalidArgument,
                                    "--timeout must be a positive number of seconds"));
  }
  if (a.out.empty() && ::isatty(STDOUT_FILENO) == 1) {
    return UsageError(a, skr::Error(skr::ErrorCode::kInvalidArgument,
                                    "refusing to write key bytes to a terminal: use --out FILE "
                                    "or redirect stdout",
                                    "stdout_is_tty"));
  }
  std::unique_ptr<EvidenceProvider> attester;
  if (a.evidence == "sample") {
    auto sample = SampleAttester::Load(a.sample_key, a.sample_claims);
    if (!sample) return UsageError(a, sample.error());
    attester = std::make_unique<SampleAttester>(std::move(sample).value());
  } else {
    SnpAttesterOptions snp;
    snp.tsm_report_dir = a.tsm_dir;
    snp.sev_guest_device = a.sev_guest;
    snp.vmpl = a.vmpl;
    attester = std::make_unique<SnpAttester>(snp);
  }

  ApiClientOptions api_options;
  api_options.base_url = a.url;
  api_options.cacert_file = a.cacert;
  api_options.timeout = std::chrono::seconds(a.timeout);
  auto api = ApiClient::Create(api_options);
  if (!api) return UsageError(a, api.error());

  FetchOptions options;
  options.tenant = a.tenant;
  options.key = a.key;
  options.version = a.version;
  options.key_type = *key_type;
  options.evidence = attester.get();

  Json fields = {{"tenant", a.tenant}, {"key", a.key}, {"key_type", KeyTypeName(*key_type)}};
  if (a.version) fields["version"] = *a.version;
  Log("info", "requesting key release", fields);

  auto released = FetchKey(options, **api);
  if (!released) {
    const skr::Error& e = released.error();
    fields["status"] = (*api)->last_status();
    fields["reason"] = e.reason();
    fields["detail"] = e.message();
    const int code = ExitCodeFor(e);
    Log("error", code == kExitDenied ? "release denied by policy" : "release failed", fields);
    return code;
  }
  fields["version"] = released->version;
  fields["audit_seq"] = released->audit_seq;
  fields["status"] = (*api)->last_status();
  fields["length"] = released->key.size();

  auto written = a.out.empty() ? WriteAll(STDOUT_FILENO, released->key.Reveal())
                               : WriteSecretFile(a.out, released->key.Reveal());
  if (!written) {
    fields["reason"] = written.error().reason();
    fields["detail"] = written.error().message();
    Log("error", "cannot write the released key", fields);
    return kExitUsage;
  }
  if (!a.out.empty()) fields["out"] = a.out;
  Log("info", "key released", fields);
  return kExitReleased;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"skr-agent: attest to skrd and fetch a released key"};
  app.require_subcommand(1);
  Args a;
  CLI::App* fetch = app.add_subcommand("fetch", "attest and fetch one key");
  fetch->add_option("--url", a.url, "skrd base URL (https://host:port)")
      ->envname("SKR_ADDR")
      ->required();
  fetch->add_option("--tenant", a.tenant, "tenant name")->required();
  fetch->add_option("--key", a.key, "key name")->required();
  fetch->add_option("--evidence", a.evidence, "evidence type: sample | sev-snp")->required();
  fetch->add_option("--sample-key", a.sample_key, "sample attester private key (PEM)");
  fetch->add_option("--tsm-dir", a.tsm_dir,
                    "configfs-tsm report directory (default /sys/kernel/config/tsm/report)");
  fetch->add_option("--sev-guest", a.sev_guest, "SEV guest device (default /dev/sev-guest)");
  fetch->add_option("--vmpl", a.vmpl, "VMPL to request the SNP report at (default 0)");
  fetch->add_option("--sample-claims", a.sample_claims,
                    "JSON object of sample claims (default {\"debug\": false})");
  fetch->add_option("--cacert", a.cacert, "CA certificate file (PEM) for skrd's TLS certificate")
      ->envname("SKR_CACERT");
  fetch->add_option("--out", a.out, "write the key bytes to FILE (mode 0600) instead of stdout");
  fetch->add_option("--key-type", a.key_type,
                    "ephemeral key: ec-p256|ec-p384|ec-p521|rsa-3072|rsa-4096 (default ec-p384)");
  fetch->add_option("--version", a.version, "key version (default: newest enabled)");
  fetch->add_option("--timeout", a.timeout, "timeout in seconds (default 30)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  return Fetch(a);
}
