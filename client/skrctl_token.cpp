// SPDX-License-Identifier: Apache-2.0
// `skrctl token create|list|revoke`.
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

// Option storage of the token commands (only one runs); kept alive by the registered actions.
struct TokenOptions {
  std::string id;
  std::string role;
  std::string tenant;
  std::string ttl_text;
};

}  // namespace

void AddTokenCommands(CLI::App& app, const On& on) {
  auto o = std::make_shared<TokenOptions>();
  CLI::App* token_cmd = app.add_subcommand("token", "manage API tokens");
  token_cmd->require_subcommand(1);
  {
    auto* c = token_cmd->add_subcommand("create", "create a token (its secret is shown once)");
    c->add_option("--role", o->role, "operator|admin|auditor")
        ->required()
        ->check(CLI::IsMember({"operator", "admin", "auditor"}));
    c->add_option("--tenant", o->tenant, "tenant (admin and auditor tokens)");
    c->add_option("--ttl", o->ttl_text, "lifetime: 3600, 90s, 15m, 24h or 30d (default 90d)");
    on(c, [o](Ctx& ctx) {
      Json body = {{"role", o->role}};
      if (!o->tenant.empty()) body["tenant"] = o->tenant;
      if (!o->ttl_text.empty()) {
        auto seconds = ParseDuration(o->ttl_text);
        if (!seconds) return UsageError("--ttl '" + o->ttl_text + "' is not a duration (e.g. 3600, 90s, 15m, 24h, 30d)");
        body["ttl_seconds"] = *seconds;
      }
      auto r = ctx.api().Post("/v1/tokens", body);
      if (!r) return ctx.ApiError(r.error());
      const int rc = ctx.Emit(*r, FormatCreatedToken(*r));
      WipeMaterial(*r);
      if (r->contains("token") && (*r)["token"].is_string()) {
        auto& s = (*r)["token"].get_ref<std::string&>();
        OPENSSL_cleanse(s.data(), s.size());
      }
      return rc;
    });
    auto* l = token_cmd->add_subcommand("list", "list tokens (never their secrets)");
    l->add_option("--tenant", o->tenant, "only this tenant's tokens");
    on(l, [o](Ctx& ctx) {
      auto r = GetAllPages(ctx.api(), "/v1/tokens", {{"tenant", o->tenant}}, "tokens");
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, RenderList(*r, "tokens",
                                     {"id", "role", "tenant", "created_at", "expires_at"}));
    });
    auto* v = token_cmd->add_subcommand("revoke", "revoke a token");
    v->add_option("ID", o->id, "token id")->required();
    on(v, [o](Ctx& ctx) {
      auto seg = PathSegment(o->id);
      if (!seg) return UsageError(seg.error().message());
      auto r = ctx.api().Delete("/v1/tokens/" + *seg);
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, "revoked token " + o->id + "\n");
    });
  }
}

}  // namespace skr::client::cli
