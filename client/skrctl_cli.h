// SPDX-License-Identifier: Apache-2.0
// What skrctl's command groups share (client/skrctl_*.cpp): exit codes, global options, the
// per-run context that prints results and API errors, and the way a subcommand registers the
// action main() runs after parsing.
#pragma once

#include <functional>
#include <iostream>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "client/api_client.h"
#include "common/json.h"
#include "common/result.h"

namespace skr::client::cli {

// Exit codes: 0 success, 1 API error (or a check that failed), 2 usage error.
constexpr int kExitOk = 0;
constexpr int kExitApi = 1;
constexpr int kExitUsage = 2;

struct Globals {
  std::string addr = "https://127.0.0.1:8443";
  std::string cacert;
  std::string token_file;
  std::string format = "text";
  int timeout = 30;
};

class Ctx {
 public:
  Ctx(ApiClient& api, const Globals& g) : api_(api), g_(g) {}
  ApiClient& api() { return api_; }
  bool json() const { return g_.format == "json"; }

  // Prints a successful result: the server's JSON (pretty) or the text rendering.
  int Emit(const Json& json, const std::string& text) {
    if (g_.format == "json") {
      std::cout << skr::DumpJson(json, 2) << '\n';
    } else {
      std::cout << text;
      if (!text.empty() && text.back() != '\n') std::cout << '\n';
    }
    return kExitOk;
  }
  // Prints a failed request (stderr): the problem document itself with --format json; else the
  // status, reason and detail, each problem with its JSON path, the request id (for the
  // server's log) and a hint for the common causes.
  int ApiError(const Error& e) {
    const int status = api_.last_status();
    const Json& problem = api_.last_problem();
    if (json() && problem.is_object()) {
      std::cerr << skr::DumpJson(problem, 2) << '\n';  // errors go to stderr, as JSON
      return kExitApi;
    }
    std::cerr << "error: ";
    if (status != 0) std::cerr << status << ' ';
    std::cerr << e.reason() << ": " << e.message() << '\n';
    if (problem.is_object()) {
      if (auto it = problem.find("problems"); it != problem.end() && it->is_array()) {
        for (const auto& p : *it) {
          if (!p.is_object()) continue;
          std::cerr << "  at " << p.value("path", std::string("?")) << ": "
                    << p.value("message", std::string()) << '\n';
        }
      }
      if (auto rid = problem.find("request_id"); rid != problem.end() && rid->is_string()) {
        std::cerr << "  request id: " << rid->get<std::string>() << '\n';
      }
    }
    if (const std::string hint = Hint(e, status); !hint.empty()) std::cerr << "hint: " << hint << '\n';
    return kExitApi;
  }

  // One line for the common causes of a failure (empty when there is nothing useful to add).
  std::string Hint(const Error& e, int status) const {
    const std::string reason = e.reason();
    if (status == 0 && (reason.rfind("tls", 0) == 0 || reason.find("cert") != std::string::npos)) {
      return "the server's certificate was not trusted: pass --cacert or set SKR_CACERT";
    }
    if (status == 0) return "no answer from " + g_.addr + ": is skrd running there? (--addr or SKR_ADDR)";
    if (status == 401 && (reason == "unauthenticated" || reason.find("token") != std::string::npos)) {
      return "pass a valid API token with --token-file or SKR_TOKEN";
    }
    if (status == 403 && reason == "forbidden") {
      return "this needs another role: tenant admin (or operator) for keys and policies, "
             "operator for tenants and tokens, auditor or operator for the audit log";
    }
    if (reason == "policy_lint" || reason == "policy_tee_unconstrained") {
      return "`skrctl claims` lists every claim with its type and evidence types";
    }
    return "";
  }

 private:
  ApiClient& api_;
  const Globals& g_;
};

inline int UsageError(const std::string& message) {
  std::cerr << "error: " << message << '\n';
  return kExitUsage;
}

// Largest JSON document skrctl reads from a file or stdin.
constexpr std::size_t kMaxInputBytes = 4u << 20;
// Reads a file, or stdin for "-" (at most `max_bytes`). kInvalidArgument.
Result<std::string> ReadInput(const std::string& path, std::size_t max_bytes);
// A JSON object from a file or stdin. kInvalidArgument naming the file.
Result<Json> ReadJsonObject(const std::string& path);
// Follows "next" cursors and concatenates the pages' `member` arrays.
Result<Json> GetAllPages(ApiClient& api, const std::string& path,
                         std::vector<std::pair<std::string, std::string>> params,
                         const std::string& member);
// "/v1/tenants/{tenant}/{rest[0]}/..." with every segment percent-encoded, so a name containing
// '/', '?' or '#' stays one segment.
Result<std::string> TenantPath(const std::string& tenant, std::vector<std::string> rest = {});

// A time span: "3600" (seconds), "90s", "15m", "24h", "30d"; positive, at most 10 years.
std::optional<std::int64_t> ParseDuration(std::string_view text);

// Registers `fn` as what runs when subcommand `sub` was given.
using Action = std::function<int(Ctx&)>;
using On = std::function<void(CLI::App*, Action)>;

// `skrctl audit entries|export|tail|replay|verify` (client/skrctl_audit.cpp).
void AddAuditCommands(CLI::App& app, const On& on);
// `skrctl policy ...` and `skrctl claims` (client/skrctl_policy.cpp).
void AddPolicyCommands(CLI::App& app, const On& on);
// `skrctl tdx import-collateral|collateral` (client/skrctl_tdx.cpp).
void AddTdxCommands(CLI::App& app, const On& on);
// One file per command group: client/skrctl_<group>.cpp.
void AddTenantCommands(CLI::App& app, const On& on);
void AddTokenCommands(CLI::App& app, const On& on);
void AddKeyCommands(CLI::App& app, const On& on);
void AddAttestCommands(CLI::App& app, const On& on);
void AddSnpCommands(CLI::App& app, const On& on);
void AddTpmCommands(CLI::App& app, const On& on);

// Raw key material from a file or stdin ('-'), base64-encoded for the API; the plaintext copy is
// wiped, the encoded string is the caller's to wipe (client/skrctl_io.cpp).
Result<std::string> ReadMaterialBase64(const std::string& path);
// Wipes body["material"] (and nothing else) after a request was sent.
void WipeMaterial(Json& body);

}  // namespace skr::client::cli
