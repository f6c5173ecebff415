// SPDX-License-Identifier: Apache-2.0
// What skrctl's command groups share (client/skrctl_*.cpp): exit codes, global options, the
// per-run context that prints results and API errors, and the way a subcommand registers the
// action main() runs after parsing.
#pragma once

#include <functional>
#include <iostream>
#include <string>

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
  int ApiError(const Error& e) {
    const int status = api_.last_status();
    std::cerr << "error: ";
    if (status != 0) std::cerr << status << ' ';
    std::cerr << e.reason() << ": " << e.message() << '\n';
    return kExitApi;
  }

 private:
  ApiClient& api_;
  const Globals& g_;
};

inline int UsageError(const std::string& message) {
  std::cerr << "error: " << message << '\n';
  return kExitUsage;
}

// Registers `fn` as what runs when subcommand `sub` was given.
using Action = std::function<int(Ctx&)>;
using On = std::function<void(CLI::App*, Action)>;

// `skrctl audit entries|export|tail|replay|verify` (client/skrctl_audit.cpp).
void AddAuditCommands(CLI::App& app, const On& on);

}  // namespace skr::client::cli
