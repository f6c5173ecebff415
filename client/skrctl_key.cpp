// SPDX-License-Identifier: Apache-2.0
// `skrctl key create|import|list|get|rotate|disable|enable|destroy|set-policy` (admin).
#include <openssl/crypto.h>
#include <unistd.h>

#include <iostream>

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

// Option storage of the key commands (only one runs); kept alive by the registered actions.
struct KeyOptions {
  std::int64_t bytes = 32;
  std::optional<std::int64_t> bytes_opt;
  std::string material_file;
  std::string name;
  std::string policy;
  std::string tenant;
  std::int64_t version = 0;
  std::optional<std::int64_t> version_opt;
  bool yes = false;
};

}  // namespace

void AddKeyCommands(CLI::App& app, const On& on) {
  auto o = std::make_shared<KeyOptions>();
  CLI::App* key_cmd = app.add_subcommand("key", "manage keys (admin)");
  key_cmd->require_subcommand(1);
  {
    auto* c = key_cmd->add_subcommand("create", "create a key with generated material");
    c->add_option("--tenant", o->tenant, "tenant")->required();
    c->add_option("NAME", o->name, "key name")->required();
    c->add_option("--policy", o->policy, "release policy name")->required();
    c->add_option("--bytes", o->bytes, "key length in bytes (default 32)");
    on(c, [o](Ctx& ctx) {
      auto path = TenantPath(o->tenant, {"keys"});
      if (!path) return UsageError(path.error().message());
      if (o->bytes <= 0) return UsageError("--bytes must be positive");
      auto r = ctx.api().Post(
          *path, Json{{"name", o->name}, {"policy", o->policy}, {"generate", {{"bytes", o->bytes}}}});
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, FormatKey(*r));
    });
    auto* im = key_cmd->add_subcommand("import", "import key material (raw bytes)");
    im->add_option("--tenant", o->tenant, "tenant")->required();
    im->add_option("NAME", o->name, "key name")->required();
    im->add_option("--policy", o->policy, "release policy name")->required();
    im->add_option("--material-file", o->material_file, "raw key bytes ('-' = stdin)")->required();
    on(im, [o](Ctx& ctx) {
      auto path = TenantPath(o->tenant, {"keys"});
      if (!path) return UsageError(path.error().message());
      auto material = ReadMaterialBase64(o->material_file);
      if (!material) return UsageError(material.error().message());
      Json body = {{"name", o->name}, {"policy", o->policy}, {"material", *material}};
      OPENSSL_cleanse(material->data(), material->size());
      auto r = ctx.api().Post(*path, body);
      WipeMaterial(body);
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, FormatKey(*r));
    });
    auto* l = key_cmd->add_subcommand("list", "list a tenant's keys");
    l->add_option("--tenant", o->tenant, "tenant")->required();
    on(l, [o](Ctx& ctx) {
      auto path = TenantPath(o->tenant, {"keys"});
      if (!path) return UsageError(path.error().message());
      auto r = GetAllPages(ctx.api(), *path, {}, "keys");
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, FormatKeyList(*r));
    });
    auto* gt = key_cmd->add_subcommand("get", "show a key's metadata");
    gt->add_option("--tenant", o->tenant, "tenant")->required();
    gt->add_option("NAME", o->name, "key name")->required();
    on(gt, [o](Ctx& ctx) {
      auto path = TenantPath(o->tenant, {"keys", o->name});
      if (!path) return UsageError(path.error().message());
      auto r = ctx.api().Get(*path);
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, FormatKey(*r));
    });
    auto* ro = key_cmd->add_subcommand("rotate", "add a new key version");
    ro->add_option("--tenant", o->tenant, "tenant")->required();
    ro->add_option("NAME", o->name, "key name")->required();
    auto* bo = ro->add_option("--bytes", o->bytes_opt, "generate N bytes");
    auto* mo = ro->add_option("--material-file", o->material_file, "raw key bytes ('-' = stdin)");
    bo->excludes(mo);
    on(ro, [o](Ctx& ctx) {
      auto path = TenantPath(o->tenant, {"keys", o->name, "rotate"});
      if (!path) return UsageError(path.error().message());
      Json body = Json::object();
      if (o->bytes_opt) {
        if (*o->bytes_opt <= 0) return UsageError("--bytes must be positive");
        body["generate"] = {{"bytes", *o->bytes_opt}};
      } else if (!o->material_file.empty()) {
        auto material = ReadMaterialBase64(o->material_file);
        if (!material) return UsageError(material.error().message());
        body["material"] = *material;
        OPENSSL_cleanse(material->data(), material->size());
      }
      auto r = ctx.api().Post(*path, body);
      WipeMaterial(body);
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, FormatKey(*r));
    });
    struct StateCmd {
      const char* name;
      const char* help;
    };
    for (const StateCmd sc : {StateCmd{"disable", "disable a key version (no releases)"},
                              StateCmd{"enable", "re-enable a disabled key version"},
                              StateCmd{"destroy", "destroy a key version (irreversible)"}}) {
      auto* s = key_cmd->add_subcommand(sc.name, sc.help);
      s->add_option("--tenant", o->tenant, "tenant")->required();
      s->add_option("NAME", o->name, "key name")->required();
      s->add_option("--version", o->version, "key version")->required();
      const std::string verb = sc.name;
      if (verb == "destroy") s->add_flag("--yes", o->yes, "do not ask for confirmation");
      on(s, [o, verb](Ctx& ctx) {
        if (o->version <= 0) return UsageError("--version must be positive");
        if (verb == "destroy" && !o->yes) {
          // Irreversible: the key material is erased. Ask on a terminal; refuse otherwise.
          if (::isatty(STDIN_FILENO) != 1) {
            return UsageError("destroying a key version is irreversible: pass --yes to confirm");
          }
          std::cerr << "destroy version " << o->version << " of key " << o->tenant << "/" << o->name
                    << "? Its material is erased for good. Type the key name to confirm: " << std::flush;
          std::string answer;
          std::getline(std::cin, answer);
          if (answer != o->name) return UsageError("not confirmed: nothing was destroyed");
        }
        auto path = TenantPath(o->tenant, {"keys", o->name, "versions", std::to_string(o->version)});
        if (!path) return UsageError(path.error().message());
        auto r = verb == "destroy" ? ctx.api().Delete(*path)
                                   : ctx.api().Post(*path + "/" + verb, Json::object());
        if (!r) return ctx.ApiError(r.error());
        return ctx.Emit(*r, FormatKey(*r));
      });
    }
    auto* sp = key_cmd->add_subcommand("set-policy", "change the policy a key is released under");
    sp->add_option("--tenant", o->tenant, "tenant")->required();
    sp->add_option("NAME", o->name, "key name")->required();
    sp->add_option("--policy", o->policy, "release policy name")->required();
    sp->add_option("--version", o->version_opt,
                   "pin the key to this policy version (without it the key follows the newest)");
    on(sp, [o](Ctx& ctx) {
      auto path = TenantPath(o->tenant, {"keys", o->name, "policy"});
      if (!path) return UsageError(path.error().message());
      Json body = {{"policy", o->policy}};
      if (o->version_opt) {
        if (*o->version_opt < 1) return UsageError("--version must be >= 1");
        body["version"] = *o->version_opt;
      }
      auto r = ctx.api().Put(*path, body);
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, FormatKey(*r));
    });
  }
}

}  // namespace skr::client::cli
