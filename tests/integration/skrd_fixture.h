// SPDX-License-Identifier: Apache-2.0
// A real skrd for integration tests: dev PKI (scripts/dev-pki), config file, `skrd init`, then
// skrd on 127.0.0.1 with an ephemeral port, driven over real TLS with a Beast client. Stopped by
// PID when the fixture goes away.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/json.h"
#include "common/ossl.h"
#include "tests/support/process.h"
#include "tests/support/test_support.h"

namespace skr::test {

struct HttpResult {
  unsigned status = 0;
  std::string body;
  Json json;  // parsed body, or null
  std::string retry_after;  // the Retry-After header, "" when absent
  std::string problem_type() const {
    return json.is_object() && json.contains("type") ? json["type"].get<std::string>() : "";
  }
  std::string detail() const {
    return json.is_object() && json.contains("detail") ? json["detail"].get<std::string>() : "";
  }
};

class Skrd;

struct SkrdOptions {
  std::string extra_toml;          // appended to the config (after the [audit] section)
  std::string server_toml;         // lines appended to the [server] section
  int nonce_ttl_seconds = 120;
  std::size_t body_limit = 256 * 1024;
  int audit_busy_timeout_ms = 5000;
  bool init = true;
  // A second skrd process on the same keystore, master key and TLS files as `replica_of` (its
  // own port and log), as replicas sharing one database run.
  const Skrd* replica_of = nullptr;
};

class Skrd {
 public:
  explicit Skrd(SkrdOptions options = {});
  ~Skrd();
  // Starts skrd and waits (bounded) for it to listen. Returns false with the log on failure.
  bool Start();
  void Stop();

  HttpResult Request(const std::string& method, const std::string& target,
                     const std::string& body = "", const std::string& token = "",
                     const std::string& content_type = "application/json");
  HttpResult Get(const std::string& target, const std::string& token = "") {
    return Request("GET", target, "", token);
  }
  HttpResult Post(const std::string& target, const Json& body, const std::string& token = "") {
    return Request("POST", target, DumpJson(body), token);
  }

  // Requests from now on leave from this local address (e.g. "127.0.0.2"; any 127.x reaches
  // loopback), to act as another client machine. Empty: the kernel's choice (127.0.0.1).
  void SetSourceAddress(std::string address) { source_address_ = std::move(address); }

  const std::string& operator_token() const { return operator_token_; }
  // Printed by `skrd init`: pins the log's checkpoint signatures (DESIGN.md section 6).
  const std::string& audit_verifier_key() const { return audit_verifier_key_; }
  std::string dir() const { return dir_.path().string(); }
  std::string file(const std::string& rel) const { return dir_.file(rel); }
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return service_.pid(); }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string Log() const;
  std::string config_path() const { return dir_.file("skrd.toml"); }

  // Convenience: tenant + admin token + policy + imported key.
  struct TenantSetup {
    std::string admin_token;
  };
  TenantSetup SetUpTenant(const std::string& tenant, const std::string& policy_name,
                          const Json& policy, const std::string& key,
                          const std::string& material_b64);

 private:
  SkrdOptions options_;
  TempDir dir_;
  Service service_;
  std::string operator_token_;
  std::string audit_verifier_key_;
  std::uint16_t port_ = 0;
  std::string source_address_;
};

// An attester in the test process: ephemeral key + sample evidence signed by the dev key.
struct Attestation {
  EvpPkeyPtr ephemeral;
  Json tee_pubkey;
  Json evidence;
};
// `claims` is the sample payload (report_data is added). `bind_nonce`/`bind_jwk` default to the
// nonce and the ephemeral key (override to build mis-bound evidence).
Attestation MakeSampleAttestation(const std::string& attester_key_pem, const std::string& nonce,
                                  const Json& claims, const std::string& curve = "P-384",
                                  const Json* bind_jwk = nullptr,
                                  const std::string* bind_nonce = nullptr);

// Runs the skrctl binary against `skrd` with `token` (SKR_ADDR, SKR_CACERT, SKR_TOKEN set).
CommandResult Skrctl(Skrd& skrd, const std::string& token, std::vector<std::string> args,
                     const std::string& stdin_text = "");

}  // namespace skr::test
