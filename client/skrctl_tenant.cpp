// SPDX-License-Identifier: Apache-2.0
// `skrctl tenant create|list|delete` (operator).
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

// Option storage of the tenant commands (only one runs); kept alive by the registered actions.
struct TenantOptions {
  std::string name;
  std::string tenant;
};

}  // namespace

void AddTenantCommands(CLI::App& app, const On& on) {
  auto o = std::make_shared<TenantOptions>();
  CLI::App* tenant_cmd = app.add_subcommand("tenant", "manage tenants (operator)");
  tenant_cmd->require_subcommand(1);
  {
    auto* c = tenant_cmd->add_subcommand("create", "create a tenant");
    c->add_option("NAME", o->name, "tenant name")->required();
    on(c, [o](Ctx& ctx) {
      auto r = ctx.api().Post("/v1/tenants", Json{{"name", o->name}});
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, "created tenant " + Field(*r, "name") + "\n");
    });
    auto* l = tenant_cmd->add_subcommand("list", "list tenants");
    on(l, [o](Ctx& ctx) {
      auto r = GetAllPages(ctx.api(), "/v1/tenants", {}, "tenants");
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, RenderList(*r, "tenants", {"name", "created_at"}));
    });
    auto* d = tenant_cmd->add_subcommand("delete", "delete a tenant");
    d->add_option("NAME", o->name, "tenant name")->required();
    on(d, [o](Ctx& ctx) {
      auto path = TenantPath(o->name);
      if (!path) return UsageError(path.error().message());
      auto r = ctx.api().Delete(*path);
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, "deleted tenant " + o->name + "\n");
    });
  }
}

}  // namespace skr::client::cli
