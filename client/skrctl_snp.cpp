// SPDX-License-Identifier: Apache-2.0
// `skrctl snp import-cert|list-certs` (operator).
#include <openssl/crypto.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/skrctl_cli.h"
#include "client/skrctl_format.h"
#include "common/encoding.h"
#include "common/ossl.h"

namespace skr::client::cli {
namespace {

// Option storage of the snp commands (only one runs); kept alive by the registered actions.
struct SnpOptions {
  std::string cert_file;
};

}  // namespace

void AddSnpCommands(CLI::App& app, const On& on) {
  auto o = std::make_shared<SnpOptions>();
  CLI::App* snp_cmd = app.add_subcommand("snp", "SEV-SNP collateral (operator)");
  snp_cmd->require_subcommand(1);
  {
    auto* ic = snp_cmd->add_subcommand(
        "import-cert", "cache a VCEK or VLEK (PEM or DER) for reports that arrive without one");
    ic->add_option("--file", o->cert_file, "certificate file ('-' = stdin)")->required();
    on(ic, [o](Ctx& ctx) {
      auto raw = ReadInput(o->cert_file, 64 * 1024);
      if (!raw) return UsageError(raw.error().message());
      const std::string text = raw->find("-----BEGIN") != std::string::npos
                                   ? *raw
                                   : skr::Base64Encode(skr::AsBytes(*raw));
      auto r = ctx.api().Post("/v1/attestation/snp/certs", Json{{"cert", text}});
      if (!r) return ctx.ApiError(r.error());
      std::string line = "cached " + r->value("signer", std::string("?")) + " for " +
                         r->value("product", std::string("?")) + " under " +
                         r->value("lookup", std::string("?"));
      return ctx.Emit(*r, line + "\n");
    });
    auto* lc = snp_cmd->add_subcommand("list-certs", "list cached VCEK/VLEK certificates");
    on(lc, [o](Ctx& ctx) {
      auto r = ctx.api().Get("/v1/attestation/snp/certs");
      if (!r) return ctx.ApiError(r.error());
      std::string text;
      for (const auto& c : (*r)["certs"]) {
        text += c.value("signer", std::string("?")) + "  " + c.value("product", std::string("?")) +
                "  " + c.value("lookup", std::string("?")) + "\n";
      }
      return ctx.Emit(*r, text);
    });
  }
}

}  // namespace skr::client::cli
