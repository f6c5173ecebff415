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

constexpr std::size_t kMaxMaterialBytes = 64u << 10;

// Raw key material from a file or stdin, base64-encoded for the API. The plaintext copy is
// wiped; the encoded string is the caller's to wipe.
Result<std::string> ReadMaterialBase64(const std::string& path) {
  SKR_TRY(std::string raw, ReadInput(path, kMaxMaterialBytes));
  skr::SecretBytes material = skr::SecretBytes::CopyFrom(skr::AsBytes(raw));
  OPENSSL_cleanse(raw.data(), raw.size());
  if (material.empty()) return Error(ErrorCode::kInvalidArgument, "key material is empty");
  return skr::Base64Encode(material.Reveal());
}

// Wipes the base64 material inside a request body after it was sent (best effort: cpprestsdk
// keeps its own copy of the serialized body until the request completes).
void WipeMaterial(Json& body) {
  if (body.is_object() && body.contains("material") && body["material"].is_string()) {
    auto& s = body["material"].get_ref<std::string&>();
    OPENSSL_cleanse(s.data(), s.size());
  }
}

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

  // Option storage shared by subcommands (only one subcommand runs).
  std::string name, tenant, role, file, policy, id, material_file, evidence_file, claims_file;
  std::optional<std::int64_t> version_opt, bytes_opt;
  std::string ttl_text;
  bool yes = false;
  std::int64_t version = 0;
  std::int64_t bytes = 32;

  // ---- tenant ----
  CLI::App* tenant_cmd = app.add_subcommand("tenant", "manage tenants (operator)");
  tenant_cmd->require_subcommand(1);
  {
    auto* c = tenant_cmd->add_subcommand("create", "create a tenant");
    c->add_option("NAME", name, "tenant name")->required();
    on(c, [&](Ctx& ctx) {
      auto r = ctx.api().Post("/v1/tenants", Json{{"name", name}});
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, "created tenant " + Field(*r, "name") + "\n");
    });
    auto* l = tenant_cmd->add_subcommand("list", "list tenants");
    on(l, [&](Ctx& ctx) {
      auto r = GetAllPages(ctx.api(), "/v1/tenants", {}, "tenants");
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, RenderList(*r, "tenants", {"name", "created_at"}));
    });
    auto* d = tenant_cmd->add_subcommand("delete", "delete a tenant");
    d->add_option("NAME", name, "tenant name")->required();
    on(d, [&](Ctx& ctx) {
      auto path = TenantPath(name);
      if (!path) return UsageError(path.error().message());
      auto r = ctx.api().Delete(*path);
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, "deleted tenant " + name + "\n");
    });
  }

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

  // ---- token ----
  CLI::App* token_cmd = app.add_subcommand("token", "manage API tokens");
  token_cmd->require_subcommand(1);
  {
    auto* c = token_cmd->add_subcommand("create", "create a token (its secret is shown once)");
    c->add_option("--role", role, "operator|admin|auditor")
        ->required()
        ->check(CLI::IsMember({"operator", "admin", "auditor"}));
    c->add_option("--tenant", tenant, "tenant (admin and auditor tokens)");
    c->add_option("--ttl", ttl_text, "lifetime: 3600, 90s, 15m, 24h or 30d (default 90d)");
    on(c, [&](Ctx& ctx) {
      Json body = {{"role", role}};
      if (!tenant.empty()) body["tenant"] = tenant;
      if (!ttl_text.empty()) {
        auto seconds = ParseDuration(ttl_text);
        if (!seconds) return UsageError("--ttl '" + ttl_text + "' is not a duration (e.g. 3600, 90s, 15m, 24h, 30d)");
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
    l->add_option("--tenant", tenant, "only this tenant's tokens");
    on(l, [&](Ctx& ctx) {
      auto r = GetAllPages(ctx.api(), "/v1/tokens", {{"tenant", tenant}}, "tokens");
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, RenderList(*r, "tokens",
                                     {"id", "role", "tenant", "created_at", "expires_at"}));
    });
    auto* v = token_cmd->add_subcommand("revoke", "revoke a token");
    v->add_option("ID", id, "token id")->required();
    on(v, [&](Ctx& ctx) {
      auto seg = PathSegment(id);
      if (!seg) return UsageError(seg.error().message());
      auto r = ctx.api().Delete("/v1/tokens/" + *seg);
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, "revoked token " + id + "\n");
    });
  }

  // ---- policy, claims ----
  AddPolicyCommands(app, on);

  // ---- key ----
  CLI::App* key_cmd = app.add_subcommand("key", "manage keys (admin)");
  key_cmd->require_subcommand(1);
  {
    auto* c = key_cmd->add_subcommand("create", "create a key with generated material");
    c->add_option("--tenant", tenant, "tenant")->required();
    c->add_option("NAME", name, "key name")->required();
    c->add_option("--policy", policy, "release policy name")->required();
    c->add_option("--bytes", bytes, "key length in bytes (default 32)");
    on(c, [&](Ctx& ctx) {
      auto path = TenantPath(tenant, {"keys"});
      if (!path) return UsageError(path.error().message());
      if (bytes <= 0) return UsageError("--bytes must be positive");
      auto r = ctx.api().Post(
          *path, Json{{"name", name}, {"policy", policy}, {"generate", {{"bytes", bytes}}}});
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, FormatKey(*r));
    });
    auto* im = key_cmd->add_subcommand("import", "import key material (raw bytes)");
    im->add_option("--tenant", tenant, "tenant")->required();
    im->add_option("NAME", name, "key name")->required();
    im->add_option("--policy", policy, "release policy name")->required();
    im->add_option("--material-file", material_file, "raw key bytes ('-' = stdin)")->required();
    on(im, [&](Ctx& ctx) {
      auto path = TenantPath(tenant, {"keys"});
      if (!path) return UsageError(path.error().message());
      auto material = ReadMaterialBase64(material_file);
      if (!material) return UsageError(material.error().message());
      Json body = {{"name", name}, {"policy", policy}, {"material", *material}};
      OPENSSL_cleanse(material->data(), material->size());
      auto r = ctx.api().Post(*path, body);
      WipeMaterial(body);
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, FormatKey(*r));
    });
    auto* l = key_cmd->add_subcommand("list", "list a tenant's keys");
    l->add_option("--tenant", tenant, "tenant")->required();
    on(l, [&](Ctx& ctx) {
      auto path = TenantPath(tenant, {"keys"});
      if (!path) return UsageError(path.error().message());
      auto r = GetAllPages(ctx.api(), *path, {}, "keys");
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, FormatKeyList(*r));
    });
    auto* gt = key_cmd->add_subcommand("get", "show a key's metadata");
    gt->add_option("--tenant", tenant, "tenant")->required();
    gt->add_option("NAME", name, "key name")->required();
    on(gt, [&](Ctx& ctx) {
      auto path = TenantPath(tenant, {"keys", name});
      if (!path) return UsageError(path.error().message());
      auto r = ctx.api().Get(*path);
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, FormatKey(*r));
    });
    auto* ro = key_cmd->add_subcommand("rotate", "add a new key version");
    ro->add_option("--tenant", tenant, "tenant")->required();
    ro->add_option("NAME", name, "key name")->required();
    auto* bo = ro->add_option("--bytes", bytes_opt, "generate N bytes");
    auto* mo = ro->add_option("--material-file", material_file, "raw key bytes ('-' = stdin)");
    bo->excludes(mo);
    on(ro, [&](Ctx& ctx) {
      auto path = TenantPath(tenant, {"keys", name, "rotate"});
      if (!path) return UsageError(path.error().message());
      Json body = Json::object();
      if (bytes_opt) {
        if (*bytes_opt <= 0) return UsageError("--bytes must be positive");
        body["generate"] = {{"bytes", *bytes_opt}};
      } else if (!material_file.empty()) {
        auto material = ReadMaterialBase64(material_file);
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
      s->add_option("--tenant", tenant, "tenant")->required();
      s->add_option("NAME", name, "key name")->required();
      s->add_option("--version", version, "key version")->required();
      const std::string verb = sc.name;
      if (verb == "destroy") s->add_flag("--yes", yes, "do not ask for confirmation");
      on(s, [&, verb](Ctx& ctx) {
        if (version <= 0) return UsageError("--version must be positive");
        if (verb == "destroy" && !yes) {
          // Irreversible: the key material is erased. Ask on a terminal; refuse otherwise.
          if (::isatty(STDIN_FILENO) != 1) {
            return UsageError("destroying a key version is irreversible: pass --yes to confirm");
          }
          std::cerr << "destroy version " << version << " of key " << tenant << "/" << name
                    << "? Its material is erased for good. Type the key name to confirm: " << std::flush;
          std::string answer;
          std::getline(std::cin, answer);
          if (answer != name) return UsageError("not confirmed: nothing was destroyed");
        }
        auto path = TenantPath(tenant, {"keys", name, "versions", std::to_string(version)});
        if (!path) return UsageError(path.error().message());
        auto r = verb == "destroy" ? ctx.api().Delete(*path)
                                   : ctx.api().Post(*path + "/" + verb, Json::object());
        if (!r) return ctx.ApiError(r.error());
        return ctx.Emit(*r, FormatKey(*r));
      });
    }
    auto* sp = key_cmd->add_subcommand("set-policy", "change the policy a key is released under");
    sp->add_option("--tenant", tenant, "tenant")->required();
    sp->add_option("NAME", name, "key name")->required();
    sp->add_option("--policy", policy, "release policy name")->required();
    sp->add_option("--version", version_opt,
                   "pin the key to this policy version (without it the key follows the newest)");
    on(sp, [&](Ctx& ctx) {
      auto path = TenantPath(tenant, {"keys", name, "policy"});
      if (!path) return UsageError(path.error().message());
      Json body = {{"policy", policy}};
      if (version_opt) {
        if (*version_opt < 1) return UsageError("--version must be >= 1");
        body["version"] = *version_opt;
      }
      auto r = ctx.api().Put(*path, body);
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, FormatKey(*r));
    });
  }

  // ---- audit ----
  AddAuditCommands(app, on);
  AddTdxCommands(app, on);

  // ---- attest ----
  CLI::App* attest_cmd = app.add_subcommand("attest", "verify evidence (admin)");
  attest_cmd->require_subcommand(1);
  {
    auto* v = attest_cmd->add_subcommand("verify", "verify evidence and show its claims");
    v->add_option("--evidence-file", evidence_file, "evidence JSON ('-' = stdin)")->required();
    on(v, [&](Ctx& ctx) {
      auto doc = ReadJsonObject(evidence_file);
      if (!doc) return UsageError(doc.error().message());
      auto r = ctx.api().Post("/v1/attestation/verify", Json{{"evidence", std::move(doc).value()}});
      if (!r) return ctx.ApiError(r.error());
      const Json& claims = r->is_object() && r->contains("claims") ? (*r)["claims"] : *r;
      return ctx.Emit(*r, FormatClaims(claims));
    });
  }

  // ---- snp ----
  std::string cert_file;
  CLI::App* snp_cmd = app.add_subcommand("snp", "SEV-SNP collateral (operator)");
  snp_cmd->require_subcommand(1);
  {
    auto* ic = snp_cmd->add_subcommand(
        "import-cert", "cache a VCEK or VLEK (PEM or DER) for reports that arrive without one");
    ic->add_option("--file", cert_file, "certificate file ('-' = stdin)")->required();
    on(ic, [&](Ctx& ctx) {
      auto raw = ReadInput(cert_file, 64 * 1024);
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
    on(lc, [&](Ctx& ctx) {
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

  // ---- tpm ----
  std::string tcti, ak_type_text = "ecc", ek_type_text = "rsa", ek_cert_file, ek_chain_file, machine, ak_id;
  CLI::App* tpm_cmd = app.add_subcommand("tpm", "TPM attestation keys (admin of the tenant)");
  tpm_cmd->require_subcommand(1);
  {
    auto* en = tpm_cmd->add_subcommand(
        "enroll",
        "enrol this machine's TPM AK: sends the EK certificate and AK to skrd and answers its "
        "MakeCredential challenge with TPM2_ActivateCredential (run on the machine)");
    en->add_option("--tenant", tenant, "tenant")->required();
    en->add_option("--name", machine, "machine name (unique in the tenant)")->required();
    en->add_option("--tcti", tcti, "TSS2 TCTI (default $TPM2TOOLS_TCTI, else device:/dev/tpmrm0)");
    en->add_option("--ak-type", ak_type_text, "AK algorithm: ecc (P-256, default) or rsa (2048)");
    en->add_option("--ek-type", ek_type_text, "EK: rsa (template L-1, default) or ecc (L-2, NIST P-256)");
    en->add_option("--ek-cert", ek_cert_file,
                   "EK certificate file (default: read from TPM NV 0x01c00002 for rsa, 0x01c0000a for ecc)");
    en->add_option("--ek-chain", ek_chain_file, "PEM bundle of EK intermediate CA certificates");
    on(en, [&](Ctx& ctx) -> int {
      auto ak_type = ParseTpmAkType(ak_type_text);
      if (!ak_type) return UsageError(ak_type.error().message());
      auto ek_type = ParseTpmEkType(ek_type_text);
      if (!ek_type) return UsageError(ek_type.error().message());
      auto path = TenantPath(tenant, {"tpm", "enrollments"});
      if (!path) return UsageError(path.error().message());
      auto tpm = TpmDevice::Open(ResolveTcti(tcti), *ak_type, *ek_type);
      if (!tpm) return ctx.ApiError(tpm.error());
      std::string ek_pem;
      if (!ek_cert_file.empty()) {
        auto raw = ReadInput(ek_cert_file, 64 * 1024);
        if (!raw) return UsageError(raw.error().message());
        ek_pem = raw->find("-----BEGIN") != std::string::npos ? *raw : skr::Base64Encode(skr::AsBytes(*raw));
      } else {
        auto pem = (*tpm)->EkCertificatePem();
        if (!pem) return ctx.ApiError(pem.error());
        ek_pem = *pem;
      }
      auto ak_pub = (*tpm)->AkPublic();
      if (!ak_pub) return ctx.ApiError(ak_pub.error());
      auto ek_pub = (*tpm)->EkPublic();
      if (!ek_pub) return ctx.ApiError(ek_pub.error());
      Json body{{"name", machine},
                {"ak_public", skr::Base64Encode(*ak_pub)},
                {"ek_cert", ek_pem},
                {"ek_public", skr::Base64Encode(*ek_pub)}};
      if (!ek_chain_file.empty()) {
        auto chain = ReadInput(ek_chain_file, 64 * 1024);
        if (!chain) return UsageError(chain.error().message());
        body["ek_chain"] = *chain;
      }
      auto begun = ctx.api().Post(*path, body);
      if (!begun) return ctx.ApiError(begun.error());
      if (begun->value("state", std::string()) == "active") {
        return ctx.Emit(*begun, "enrolled " + begun->value("name", std::string()) + " as " +
                                    begun->value("id", std::string()) + "\n");
      }
      auto blob = skr::Base64Decode(begun->value("credential_blob", std::string()));
      auto secret_in = skr::Base64Decode(begun->value("encrypted_secret", std::string()));
      const std::string enrol_id = begun->value("id", std::string());
      if (!blob || !secret_in || enrol_id.empty()) return ctx.ApiError(Error(ErrorCode::kInternal, "bad enrolment answer", "bad_response"));
      auto secret = (*tpm)->ActivateCredential(*blob, *secret_in);
      if (!secret) return ctx.ApiError(secret.error());
      std::string secret_b64 = skr::Base64Encode(secret->Reveal());
      auto done = ctx.api().Post(*path + "/" + enrol_id + "/activate", Json{{"secret", secret_b64}});
      OPENSSL_cleanse(secret_b64.data(), secret_b64.size());
      if (!done) return ctx.ApiError(done.error());
      return ctx.Emit(*done, "enrolled " + done->value("name", std::string()) + " as " +
                                 done->value("id", std::string()) + "\n");
    });
    auto* ls = tpm_cmd->add_subcommand("list", "list the tenant's enrolled AKs");
    ls->add_option("--tenant", tenant, "tenant")->required();
    on(ls, [&](Ctx& ctx) {
      auto path = TenantPath(tenant, {"tpm", "aks"});
      if (!path) return UsageError(path.error().message());
      auto r = ctx.api().Get(*path);
      if (!r) return ctx.ApiError(r.error());
      std::string text;
      for (const auto& ak : (*r)["aks"]) {
        text += ak.value("id", std::string()) + "  " + ak.value("name", std::string()) + "  " +
                ak.value("state", std::string()) + "  " + ak.value("created_at", std::string()) + "\n";
      }
      return ctx.Emit(*r, text);
    });
    auto* rm = tpm_cmd->add_subcommand("delete", "revoke an enrolled AK");
    rm->add_option("--tenant", tenant, "tenant")->required();
    rm->add_option("ID", ak_id, "AK id")->required();
    on(rm, [&](Ctx& ctx) {
      auto path = TenantPath(tenant, {"tpm", "aks", ak_id});
      if (!path) return UsageError(path.error().message());
      auto r = ctx.api().Delete(*path);
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(Json{{"deleted", ak_id}}, "deleted " + ak_id + "\n");
    });
  }

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
