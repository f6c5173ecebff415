// SPDX-License-Identifier: Apache-2.0
// `skrctl attest verify` (admin).
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

// Option storage of the attest commands (only one runs); kept alive by the registered actions.
struct AttestOptions {
  std::string evidence_file;
};

}  // namespace

void AddAttestCommands(CLI::App& app, const On& on) {
  auto o = std::make_shared<AttestOptions>();
  CLI::App* attest_cmd = app.add_subcommand("attest", "verify evidence (admin)");
  attest_cmd->require_subcommand(1);
  {
    auto* v = attest_cmd->add_subcommand("verify", "verify evidence and show its claims");
    v->add_option("--evidence-file", o->evidence_file, "evidence JSON ('-' = stdin)")->required();
    on(v, [o](Ctx& ctx) {
      auto doc = ReadJsonObject(o->evidence_file);
      if (!doc) return UsageError(doc.error().message());
      auto r = ctx.api().Post("/v1/attestation/verify", Json{{"evidence", std::move(doc).value()}});
      if (!r) return ctx.ApiError(r.error());
      const Json& claims = r->is_object() && r->contains("claims") ? (*r)["claims"] : *r;
      return ctx.Emit(*r, FormatClaims(claims));
    });
  }
}

}  // namespace skr::client::cli
