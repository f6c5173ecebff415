// SPDX-License-Identifier: Apache-2.0
// skrctl: admin and auditor CLI for skrd (/work/notes/api.md, DESIGN.md section 8).
// Secrets never go on the command line: the API token comes from $SKR_TOKEN or --token-file,
// key material from --material-file (or stdin with '-').
// Exit codes: 0 success, 1 API error, 2 usage error.
#include <openssl/crypto.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "client/api_client.h"
#include "client/skrctl_cli.h"
#include "client/skrctl_format.h"
#include "client/tpm_attester.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/ossl.h"
#include "common/secret_bytes.h"

namespace {

using skr::Error;
using skr::ErrorCode;
using skr::Json;
using skr::Result;
using namespace skr::client;
using namespace skr::client::cli;

// For a command line that failed to parse: the nearest subcommand name to the first word that
// is not one ("skrctl key destory" -> "key destroy"), by edit distance (at most 2), or "".

std::string SuggestCommand(CLI::App& app, int argc, char** argv) {
  CLI::App* level = &app;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string word = argv[i];
    if (word.empty() || word[0] == '-') continue;
    auto subs = level->get_subcommands([](CLI::App*) { return true; });
    if (subs.empty()) return "";
    CLI::App* exact = nullptr;
    std::string best;
    std::size_t best_d = 3;
    for (CLI::App* sub : subs) {
      if (sub->get_name() == word) exact = sub;
      const std::size_t d = skr::EditDistance(word, sub->get_name());
      if (d < best_d) {
        best_d = d;
        best = sub->get_name();
      }
    }
    if (exact != nullptr) {
      path += (path.empty() ? "" : " ") + word;
      level = exact;
      continue;
    }
    return best.empty() ? "" : path + (path.empty() ? "" : " ") + best;
  }
  return "";
}

std::string ReadToken(const Globals& g, std::string& error) {
  std::string token;
  if (!g.token_file.empty()) {
    auto t = skr::ReadFile(g.token_file, 64u << 10);
    if (!t) {
      error = "cannot read token file " + g.token_file;
      return {};
    }
    token = std::move(t).value();
  } else if (const char* env = std::getenv("SKR_TOKEN"); env != nullptr) {
    token = env;
  }
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' ||
                            token.back() == ' ' || token.back() == '\t')) {
    token.pop_back();
  }
  return token;
}

}  // namespace

int main(int argc, char** argv) {
  // `--version` alone (subcommands use --version for key and policy versions).
  if (argc == 2 && std::string_view(argv[1]) == "--version") {
    std::cout << "skrctl " << SKR_VERSION << '\n';
    return 0;
  }
  CLI::App app{"skrctl: administer a skrd secure key release broker"};
  app.fallthrough();  // global options are accepted after the subcommand too
  app.require_subcommand(1);
  Globals g;
  app.add_option("--url,--addr", g.addr,
                 "skrd base URL (default https://127.0.0.1:8443); SKR_ADDR may hold a comma list "
                 "(skr-agent's failover list): skrctl uses the first")
      ->envname("SKR_ADDR");
  app.add_option("--cacert", g.cacert, "CA certificate (PEM) for skrd's TLS certificate")
      ->envname("SKR_CACERT");
  app.add_option("--token-file", g.token_file,
                 "file holding the API token (default: $SKR_TOKEN)");
  app.add_option("--format", g.format, "output format: text|json (default text)")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--timeout", g.timeout, "request timeout in seconds (default 30)")
      ->check(CLI::PositiveNumber);

  std::function<int(Ctx&)> action;
  auto on = [&action](CLI::App* sub, std::function<int(Ctx&)> fn) {
    sub->callback([&action, fn = std::move(fn)] { action = fn; });
  };

  AddTenantCommands(app, on);

  // ---- status ----
  {
    auto* st = app.add_subcommand("status", "server version, sealed or not, and who the token is");
    on(st, [&](Ctx& ctx) {
      auto r = ctx.api().Get("/v1/status");
      if (!r) return ctx.ApiError(r.error());
      std::string text = "server: skrd " + Field(*r, "version") + " at " + g.addr + "\n";
      text += std::string("sealed: ") + (r->value("sealed", false) ? "yes (only health and status answer)" : "no") + "\n";
      if (r->contains("whoami")) {
        const Json& w = (*r)["whoami"];
        text += "token: " + Field(w, "token_id") + ", role " + Field(w, "role");
        if (w.contains("tenant") && !w["tenant"].is_null()) text += ", tenant " + Field(w, "tenant");
        text += w.contains("expires_at") && !w["expires_at"].is_null() ? ", expires " + Field(w, "expires_at")
                                                                       : ", does not expire";
        text += "\n";
      } else if (r->contains("whoami_error")) {
        text += "token: not accepted (" + Field(*r, "whoami_error") + ")\n";
      } else {
        text += "token: none given (SKR_TOKEN or --token-file)\n";
      }
      return ctx.Emit(*r, text);
    });
  }

  AddTokenCommands(app, on);

  // ---- policy, claims ----
  AddPolicyCommands(app, on);

  AddKeyCommands(app, on);

  // ---- audit ----
  AddAuditCommands(app, on);
  AddTdxCommands(app, on);

  AddAttestCommands(app, on);
  AddSnpCommands(app, on);
  AddTpmCommands(app, on);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    if (rc != 0) {
      if (const std::string hint = SuggestCommand(app, argc, argv); !hint.empty()) {
        std::cerr << "did you mean '" << hint << "'?\n";
      }
    }
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (!action) return UsageError("no command given (see --help)");
  if (auto comma = g.addr.find(','); comma != std::string::npos) g.addr = g.addr.substr(0, comma);

  std::string token_error;
  ApiClientOptions options;
  options.base_url = g.addr;
  options.cacert_file = g.cacert;
  options.timeout = std::chrono::seconds(g.timeout);
  options.token = ReadToken(g, token_error);
  if (!token_error.empty()) return UsageError(token_error);
  auto api = ApiClient::Create(options);
  OPENSSL_cleanse(options.token.data(), options.token.size());
  if (!api) return UsageError(api.error().message());
  Ctx ctx(**api, g);
  return action(ctx);
}
