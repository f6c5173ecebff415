// SPDX-License-Identifier: Apache-2.0
// skr-agent: attest to skrd and fetch a key (see client/agent.h for the flow and exit codes).
//   skr-agent evidence --evidence sample|sev-snp|tdx|tpm [--nonce N] [attester options]
//     prints this VM's evidence (JSON) without a release, for `skrctl policy scaffold`.
//   skr-agent fetch --url URL [--url URL2 ...] --tenant T --key K --evidence sample
//                   --sample-key FILE [--sample-claims FILE] [--cacert FILE]
//                   [--pin-sha256 BASE64 ...] [--out FILE] [--key-type TYPE] [--version N]
//                   [--retries N] [--deadline SECONDS] [--connect-timeout SECONDS]
//                   [--timeout SECONDS]
// URLs are tried in order in each round; transport failures, 429 and 5xx move on to the next
// URL, then to the next round after an exponential backoff with jitter, until --retries rounds
// or --deadline seconds are used up (exit 4). One JSON log line per attempt on stderr.
// The Clevis pin fills these options from a LUKS header the host can write: before anything
// else they are checked against fixed rules and the local agent config, /etc/skr/agent.toml or
// $SKR_AGENT_CONFIG (client/agent_inputs.h, client/local_config.h); a refusal exits 2.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "client/agent.h"
#include "client/agent_inputs.h"
#include "client/api_client.h"
#include "client/local_config.h"
#include "client/sample_attester.h"
#include "client/snp_attester.h"
#include "client/stderr_capture.h"
#include "client/tdx_attester.h"
#include "client/tpm_attester.h"
#include "common/ossl.h"

namespace {

using skr::Json;
using skr::Result;
using namespace skr::client;

// Where the agent's JSON lines go: stderr, or the original stderr while libraries' stderr is
// captured (StderrCapture).
std::atomic<int> g_log_fd{STDERR_FILENO};

void Log(std::string_view level, std::string_view msg, const Json& fields) {
  WriteLogLine(g_log_fd.load(), LogLine(level, msg, fields));
}

// A line a library wrote to stderr, as a JSON log line. tpm2-tss writes
// "LEVEL:module:file:line:function() text" with LEVEL one of ERROR, WARNING, info, debug, trace.
void LogLibraryLine(std::string_view line) {
  std::string_view level = "warn";
  std::string source = "stderr";
  const std::size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    const std::string_view tag = line.substr(0, colon);
    const std::size_t module_end = line.find(':', colon + 1);
    const bool tss = (tag == "ERROR" || tag == "WARNING" || tag == "info" || tag == "debug" ||
                      tag == "trace") &&
                     module_end != std::string_view::npos && module_end > colon + 1;
    if (tss) {
      source = "tpm2-tss";
      level = tag == "ERROR" ? "error" : tag == "WARNING" ? "warn" : "debug";
      if (tag == "info") level = "info";
    }
  }
  Log(level, "library output", {{"source", source}, {"text", std::string(line)}});
}

struct Args {
  std::vector<std::string> urls;
  std::string tenant;
  std::string key;
  std::string evidence;
  std::string tcti, ak_id, ak_type = "ecc", pcrs, event_log;  // --evidence tpm
  std::string sample_key;
  std::string sample_claims;
  std::string cacert;
  std::string out;
  std::string key_type = "ec-p384";
  std::optional<std::int64_t> version;
  std::vector<std::string> pins;
  int retries = 5;
  double deadline = 60;
  double connect_timeout = 5;
  double timeout = 10;
  std::string tsm_dir = "/sys/kernel/config/tsm/report";
  std::string tsm_entry;
  std::string sev_guest = "/dev/sev-guest";
  int vmpl = 0;
  std::string nonce;  // `evidence` only
};

// Calls _exit(kExitUnavailable) after `limit` unless disarmed first.
class Watchdog {
 public:
  Watchdog(std::chrono::milliseconds limit, Json fields)
      : fields_(std::move(fields)), thread_([this, limit] { Run(limit); }) {}
  ~Watchdog() {
    Disarm();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;
  void Disarm() {
    std::lock_guard<std::mutex> lock(mu_);
    disarmed_ = true;
    cv_.notify_all();
  }

 private:
  void Run(std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, limit, [this] { return disarmed_; })) return;
    // Still holding the lock: Disarm() (and so the key output) cannot happen concurrently.
    fields_["reason"] = "deadline_exceeded";
    fields_["exit_code"] = kExitUnavailable;
    Log("error", "deadline passed during a request: stopping", fields_);
    std::_Exit(kExitUnavailable);
  }

  Json fields_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool disarmed_ = false;
  std::thread thread_;
};

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000.0)));
}

int UsageError(const Args& a, const skr::Error& e) {
  Log("error", e.message(), {{"tenant", a.tenant}, {"key", a.key}, {"reason", e.reason()}});
  return kExitUsage;
}

// Checks what may have come from a LUKS header (see client/agent_inputs.h) against fixed rules and
// the local agent config, and replaces those options by the values to use. Runs before anything
// else: no attester, TCTI or file named by the options is touched when it refuses.
Result<void> ApplyTrustedInputs(Args& a) {
  SKR_TRY(std::optional<LocalAgentConfig> local, LoadLocalAgentConfig());
  AgentInputs in{a.urls, a.cacert, a.pins, a.tenant, a.key, a.evidence, a.ak_id, a.tcti,
                 a.event_log, a.sample_key, a.sample_claims};
  SKR_TRY(AgentInputs ok, ValidateAgentInputs(std::move(in), local ? &*local : nullptr));
  a.urls = std::move(ok.urls);
  a.cacert = std::move(ok.cacert);
  a.pins = std::move(ok.pins);
  a.evidence = std::move(ok.evidence);
  a.tcti = std::move(ok.tcti);
  a.event_log = std::move(ok.event_log);
  a.sample_key = std::move(ok.sample_key);
  a.sample_claims = std::move(ok.sample_claims);
  return skr::Ok();
}

// The attester for --evidence (sample, tpm, sev-snp, tdx), from the options. kInvalidArgument.
Result<std::unique_ptr<EvidenceProvider>> MakeAttester(const Args& a) {
  if (a.evidence == "sample") {
    auto sample = SampleAttester::Load(a.sample_key, a.sample_claims);
    if (!sample) return sample.error();
    return std::unique_ptr<EvidenceProvider>(std::make_unique<SampleAttester>(std::move(sample).value()));
  } else if (a.evidence == "tpm") {
    TpmAttesterOptions tpm;
    tpm.tcti = a.tcti;
    tpm.ak_id = a.ak_id;
    if (!a.event_log.empty()) tpm.event_log = a.event_log;
    auto ak_type = ParseTpmAkType(a.ak_type);
    if (!ak_type) return ak_type.error();
    tpm.ak_type = *ak_type;
    if (!a.pcrs.empty()) {
      auto sel = ParsePcrSpec(a.pcrs);
      if (!sel) return sel.error();
      tpm.pcrs = std::move(sel).value();
    }
    return std::unique_ptr<EvidenceProvider>(std::make_unique<TpmAttester>(std::move(tpm)));
  } else if (a.evidence == "tdx") {
    TdxAttesterOptions tdx;
    tdx.tsm_report_dir = a.tsm_dir;
    tdx.entry_name = a.tsm_entry;
    return std::unique_ptr<EvidenceProvider>(std::make_unique<TdxAttester>(tdx));
  } else {
    SnpAttesterOptions snp;
    snp.tsm_report_dir = a.tsm_dir;
    snp.tsm_entry = a.tsm_entry;
    snp.sev_guest_device = a.sev_guest;
    snp.vmpl = a.vmpl;
    return std::unique_ptr<EvidenceProvider>(std::make_unique<SnpAttester>(snp));
  }
}

// Checks the evidence options both subcommands take.
Result<void> CheckEvidenceOptions(const Args& a) {
  if (a.evidence != "sample" && a.evidence != "sev-snp" && a.evidence != "tpm" &&
      a.evidence != "tdx") {
    return skr::Error(skr::ErrorCode::kInvalidArgument,
                      "unsupported evidence type '" + a.evidence + "' (supported: sample, sev-snp, tdx, tpm)",
                      "bad_evidence_type");
  }
  if (a.evidence == "tpm" && a.ak_id.empty()) {
    return skr::Error(skr::ErrorCode::kInvalidArgument,
                      "--evidence tpm needs --ak-id (from `skrctl tpm enroll`)");
  }
  if (a.evidence == "sample" && a.sample_key.empty()) {
    return skr::Error(skr::ErrorCode::kInvalidArgument, "--evidence sample needs --sample-key FILE");
  }
  if (a.vmpl < 0 || a.vmpl > 3) return skr::Error(skr::ErrorCode::kInvalidArgument, "--vmpl must be 0..3");
  // A configfs entry name, never a path.
  const bool entry_ok =
      a.tsm_entry.size() <= 64 &&
      std::all_of(a.tsm_entry.begin(), a.tsm_entry.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
      });
  if (!entry_ok) {
    return skr::Error(skr::ErrorCode::kInvalidArgument,
                      "--tsm-entry must be a name of at most 64 [A-Za-z0-9_-]");
  }
  return skr::Ok();
}

// `skr-agent evidence`: the evidence this VM produces, printed as JSON, without a release (for
// `skrctl policy scaffold --from-evidence`). Its report data is SHA-384(--nonce) when a nonce is
// given (a verifier's own freshness check), else zeros: policies never pin it.
int CollectEvidence(Args& a) {
  if (auto ok = CheckEvidenceOptions(a); !ok) return UsageError(a, ok.error());
  auto made = MakeAttester(a);
  if (!made) return UsageError(a, made.error());
  std::array<std::uint8_t, 48> digest{};
  if (!a.nonce.empty()) digest = skr::Sha384(a.nonce);
  auto evidence = (*made)->Collect(std::span<const std::uint8_t, 48>(digest));
  if (!evidence) {
    // No TPM / SEV-SNP device here is "attestation unavailable" (3), as in `fetch`; a bad
    // option or file stays a usage error (2).
    int code = ExitCodeFor(evidence.error());
    if (code == kExitUnavailable) code = kExitAttestation;
    Log("error", "cannot collect evidence",
        {{"evidence", a.evidence}, {"reason", evidence.error().reason()},
         {"detail", evidence.error().message()}, {"exit_code", code}});
    return code;
  }
  std::cout << skr::DumpJson(*evidence, 2) << '\n';
  Log("info", "evidence collected", {{"evidence", a.evidence}, {"nonce", !a.nonce.empty()}});
  return 0;
}

int Fetch(Args& a) {
  if (auto trusted = ApplyTrustedInputs(a); !trusted) return UsageError(a, trusted.error());
  auto key_type = ParseKeyType(a.key_type);
  if (!key_type) return UsageError(a, key_type.error());
  if (auto ok = CheckEvidenceOptions(a); !ok) return UsageError(a, ok.error());
  for (const auto& [name, value] : {std::pair<const char*, double>{"--timeout", a.timeout},
                                     {"--connect-timeout", a.connect_timeout},
                                     {"--deadline", a.deadline}}) {
    // Upper bound one day: keeps the millisecond conversion far from overflow.
    if (!std::isfinite(value) || value < 0.001 || value > 86400) {
      return UsageError(a, skr::Error(skr::ErrorCode::kInvalidArgument,
                                      std::string(name) + " must be 0.001..86400 seconds",
                                      "bad_timeout"));
    }
  }
  if (a.retries < 0 || a.retries > 1000) {
    return UsageError(a, skr::Error(skr::ErrorCode::kInvalidArgument,
                                    "--retries must be 0..1000", "bad_retries"));
  }
  if (a.urls.empty()) {
    return UsageError(a, skr::Error(skr::ErrorCode::kInvalidArgument,
                                    "at least one --url (or SKR_ADDR) is required", "bad_url"));
  }
  if (a.out.empty() && ::isatty(STDOUT_FILENO) == 1) {
    return UsageError(a, skr::Error(skr::ErrorCode::kInvalidArgument,
                                    "refusing to write key bytes to a terminal: use --out FILE "
                                    "or redirect stdout",
                                    "stdout_is_tty"));
  }
  auto made = MakeAttester(a);
  if (!made) return UsageError(a, made.error());
  std::unique_ptr<EvidenceProvider> attester = std::move(made).value();

  ApiClientOptions api_options;
  api_options.cacert_file = a.cacert;
  api_options.pin_sha256 = a.pins;
  api_options.timeout = Millis(a.timeout);
  api_options.connect_timeout = Millis(a.connect_timeout);
  // Validate every URL, the CA file and the pins once, before any network traffic.
  for (const auto& url : a.urls) {
    ApiClientOptions check = api_options;
    check.base_url = url;
    auto api = ApiClient::Create(check);
    if (!api) return UsageError(a, api.error());
  }
  HttpsConnector connector(api_options);
  SystemRetryEnvironment env;
  RetryPolicy policy;
  policy.retries = a.retries;
  policy.deadline = Millis(a.deadline);

  FetchOptions options;
  options.tenant = a.tenant;
  options.key = a.key;
  options.version = a.version;
  options.key_type = *key_type;
  options.evidence = attester.get();

  Json fields = {{"tenant", a.tenant}, {"key", a.key}, {"key_type", KeyTypeName(*key_type)}};
  if (a.version) fields["version"] = *a.version;
  Json start = fields;
  start["urls"] = a.urls;
  start["retries"] = a.retries;
  start["deadline_s"] = a.deadline;
  start["timeout_s"] = a.timeout;
  start["pins"] = a.pins.size();
  Log("info", "requesting key release", start);

  const AttemptLogger log_attempt = [&](const AttemptRecord& r) {
    Json line = fields;
    line["url"] = r.url;
    line["attempt"] = r.attempt;
    line["round"] = r.round;
    line["status"] = r.status;
    line["reason"] = r.reason;
    line["elapsed_ms"] = r.elapsed_ms;
    if (r.retry_after) line["retry_after_s"] = r.retry_after->count();
    if (!r.request_id.empty()) line["request_id"] = r.request_id;
    if (r.reason != "released") line["retryable"] = r.will_retry;
    Log(r.reason == "released" ? "info" : "warn", "attempt", line);
  };
  // Hard stop: cpprestsdk's timeout restarts at every stage of a request and getaddrinfo has no
  // timeout, so an attempt can overrun the budget FetchWithFailover gives it. A watchdog ends the
  // process with exit 4 shortly after the deadline; it is disarmed before any key byte is written.
  Watchdog watchdog(policy.deadline + std::chrono::seconds(2), fields);
  auto released = FetchWithFailover(options, a.urls, policy, connector, env, log_attempt);
  watchdog.Disarm();
  if (!released) {
    const skr::Error& e = released.error();
    fields["reason"] = e.reason();
    fields["detail"] = e.message();
    const int code = ExitCodeFor(e);
    fields["exit_code"] = code;
    Log("error", code == kExitDenied ? "release denied by policy" : "release failed", fields);
    return code;
  }
  fields["url"] = released->url;
  fields["attempts"] = released->attempts;
  fields["version"] = released->version;
  fields["audit_seq"] = released->audit_seq;
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
  // `--version` alone (subcommands use --version for key and policy versions).
  if (argc == 2 && std::string_view(argv[1]) == "--version") {
    std::cout << "skr-agent " << SKR_VERSION << '\n';
    return 0;
  }
  CLI::App app{"skr-agent: attest to skrd and fetch a released key"};
  app.require_subcommand(1);
  Args a;
  CLI::App* fetch = app.add_subcommand("fetch", "attest and fetch one key");
  fetch->add_option("--url", a.urls,
                    "skrd base URL (https://host:port); repeat (or comma-separate) for failover, "
                    "tried in order")
      ->envname("SKR_ADDR")
      ->delimiter(',')
      ->required();
  fetch->add_option("--tenant", a.tenant, "tenant name")->required();
  fetch->add_option("--key", a.key, "key name")->required();
  fetch->add_option("--evidence", a.evidence, "evidence type: sample | sev-snp | tdx | tpm")->required();
  fetch->add_option("--tcti", a.tcti,
                    "tpm: TSS2 TCTI, only device:/dev/... (default: tcti in the local agent "
                    "config, else $TPM2TOOLS_TCTI, else device:/dev/tpmrm0)");
  fetch->add_option("--ak-id", a.ak_id, "tpm: the AK enrolment id from `skrctl tpm enroll`");
  fetch->add_option("--ak-type", a.ak_type, "tpm: AK algorithm used at enrolment: ecc (default) or rsa");
  fetch->add_option("--event-log", a.event_log,
                    "tpm: measured-boot log to send, only "
                    "/sys/kernel/security/tpm0/binary_bios_measurements or none (default: "
                    "event_log in the local agent config, else that file when present)");
  fetch->add_option("--pcrs", a.pcrs, "tpm: PCRs to quote, e.g. sha256:0-7 (default: what the key's policy reads)");
  fetch->add_option("--sample-key", a.sample_key, "sample attester private key (PEM)");
  fetch->add_option("--tsm-dir", a.tsm_dir,
                    "configfs-tsm report directory (default /sys/kernel/config/tsm/report)");
  fetch->add_option("--tsm-entry", a.tsm_entry,
                    "configfs-tsm entry to use, e.g. one an operator made (default: a fresh one)");
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
  fetch->add_option("--pin-sha256", a.pins,
                    "base64 SHA-256 of the server certificate's SubjectPublicKeyInfo; repeatable, "
                    "the certificate must match one");
  fetch->add_option("--retries", a.retries,
                    "retry rounds over all URLs after the first (default 5)");
  fetch->add_option("--deadline", a.deadline,
                    "total time limit in seconds, then exit 4 (default 60)");
  fetch->add_option("--connect-timeout", a.connect_timeout,
                    "TCP connect timeout in seconds per attempt (default 5)");
  fetch->add_option("--timeout", a.timeout,
                    "timeout in seconds for each request stage (default 10)");
  CLI::App* ev = app.add_subcommand(
      "evidence", "collect this VM's evidence without a release and print it (JSON), e.g. for "
                  "`skrctl policy scaffold --from-evidence`");
  ev->add_option("--evidence", a.evidence, "evidence type: sample | sev-snp | tdx | tpm")->required();
  ev->add_option("--nonce", a.nonce, "report data = SHA-384 of this text (default: zeros)");
  ev->add_option("--tcti", a.tcti, "tpm: TSS2 TCTI (default $TPM2TOOLS_TCTI, else device:/dev/tpmrm0)");
  ev->add_option("--ak-id", a.ak_id, "tpm: the AK enrolment id from `skrctl tpm enroll`");
  ev->add_option("--ak-type", a.ak_type, "tpm: AK algorithm used at enrolment: ecc (default) or rsa");
  ev->add_option("--event-log", a.event_log, "tpm: measured-boot log to include, or none");
  ev->add_option("--pcrs", a.pcrs, "tpm: PCRs to quote (default sha256:0-7)");
  ev->add_option("--sample-key", a.sample_key, "sample attester private key (PEM)");
  ev->add_option("--sample-claims", a.sample_claims, "JSON object of sample claims");
  ev->add_option("--tsm-dir", a.tsm_dir, "configfs-tsm report directory");
  ev->add_option("--tsm-entry", a.tsm_entry, "configfs-tsm entry to use (default: a fresh one)");
  ev->add_option("--sev-guest", a.sev_guest, "SEV guest device (default /dev/sev-guest)");
  ev->add_option("--vmpl", a.vmpl, "VMPL to request the SNP report at (default 0)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  // From here on, what a library writes to stderr becomes JSON log lines too.
  auto capture = StderrCapture::Start(LogLibraryLine);
  if (capture) g_log_fd = capture->log_fd();
  const int rc = ev->parsed() ? CollectEvidence(a) : Fetch(a);
  capture.reset();  // drains the last library lines
  g_log_fd = STDERR_FILENO;
  return rc;
}
