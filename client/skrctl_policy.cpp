// SPDX-License-Identifier: Apache-2.0
// `skrctl policy ...` and `skrctl claims` (DESIGN.md sections 4 and 8; issue 12): store (linted
// by skrd), show, list, dry-run stored versions and unsaved drafts, roll back, what-if a draft
// over a key's recent releases, and the claim catalogue the lint uses.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/skrctl_cli.h"
#include "client/skrctl_format.h"

namespace skr::client::cli {
namespace {

// Option storage of the policy commands (only one runs); kept alive by the registered actions.
struct PolicyOptions {
  std::string tenant, name, file, evidence_file, claims_file, key, tee;
  std::optional<std::int64_t> version, to, last;
  bool pin_machine = false;
};

// A policy pinning the stable claims of verified evidence (`claims`, as /v1/attestation/verify
// returns them), with one comment line per choice. Per-boot values are left out, and so are the
// claims naming one machine unless `pin_machine`.
struct Scaffold {
  Json leaves = Json::array();
  std::vector<std::string> comments;
  void Pin(const Json& claims, const std::string& claim, const char* op, const std::string& why) {
    auto it = claims.find(claim);
    if (it == claims.end()) return;
    Json value = std::string(op) == "in" ? Json::array({*it}) : *it;
    leaves.push_back({{"claim", claim}, {op, std::move(value)}});
    comments.push_back(claim + " " + op + " " + it->dump() + ": " + why);
  }
  void Fixed(const std::string& claim, const char* op, Json value, const std::string& why) {
    comments.push_back(claim + " " + op + " " + value.dump() + ": " + why);
    leaves.push_back({{"claim", claim}, {op, std::move(value)}});
  }
  void Skip(const std::string& what) { comments.push_back("left out: " + what); }
};

Result<Scaffold> BuildScaffold(const Json& claims, bool pin_machine) {
  Scaffold s;
  const std::string tee = claims.value("tee", std::string());
  if (tee.empty()) return Error(ErrorCode::kInvalidArgument, "the verified claims name no tee");
  s.Fixed("tee", "equals", tee, "trust only " + tee + " evidence");
  const bool snp = tee == "sev-snp" || tee == "az-snp-vtpm";
  const bool tpm = tee == "tpm" || tee == "az-snp-vtpm";
  if (snp) {
    s.Pin(claims, "snp.measurement", "in",
          "the launch measurement of this image (add the measurements of other images you trust)");
    s.Fixed("snp.policy.debug", "equals", false, "debugging off: a debuggable guest can be read by the host");
    if (claims.value("snp.policy.debug", false)) {
      s.comments.push_back("WARNING: this evidence has debugging ON, so this policy denies it: "
                           "launch the VM without debug");
    }
    s.Fixed("snp.policy.migrate_ma", "equals", false, "no migration agent");
    s.Pin(claims, "snp.vmpl", "equals", "the VM privilege level the report was requested at");
    for (const char* part : {"bootloader", "tee", "snp", "microcode", "fmc"}) {
      s.Pin(claims, std::string("snp.reported_tcb.") + part, "greaterOrEquals",
            "TCB floor = today's value: firmware updates pass, rollbacks do not");
    }
    if (pin_machine) {
      s.Pin(claims, "snp.chip_id", "equals", "this one machine (--pin-machine)");
    } else {
      s.Skip("snp.chip_id (one machine; --pin-machine pins it)");
    }
    s.Skip("snp.report_id, snp.report_data, report_data (per boot)");
  }
  if (tpm) {
    for (const auto& [name, value] : claims.items()) {
      if (name.rfind("tpm.pcr.sha256.", 0) == 0) {
        s.Pin(claims, name, "equals", "as measured in this boot (re-scaffold after firmware or boot loader updates)");
      }
    }
    if (claims.value("tpm.secure_boot.enabled", false)) {
      s.Fixed("tpm.secure_boot.enabled", "equals", true, "UEFI secure boot on, from the replayed boot log");
    }
    if (tee == "tpm") {
      if (pin_machine) {
        s.Pin(claims, "tpm.ak.id", "equals", "this one machine's enrolled AK (--pin-machine)");
      } else {
        s.Skip("tpm.ak.id, tpm.ak.name (one machine; --pin-machine pins the AK)");
      }
    }
    s.Skip("tpm.clock.*, tpm.extra_data (per boot)");
  }
  if (tee == "sample") {
    s.Fixed("debug", "equals", false, "debugging off");
    for (const auto& [name, value] : claims.items()) {
      if (name.rfind("sample.", 0) != 0 || name == "sample.report_data" || name == "sample.debug") continue;
      if (!value.is_primitive() || value.is_null()) continue;
      s.Pin(claims, name, "equals", "as the sample attester reported it");
    }
    s.Skip("report_data (per request)");
  }
  if (tee == "tdx") {
    s.Pin(claims, "tdx.mrtd", "in",
          "the initial TD measurement of this image (add those of other images you trust)");
    s.Fixed("tdx.td_attributes.debug", "equals", false,
            "debugging off: a debug TD can be read by the host");
    if (claims.value("tdx.td_attributes.debug", false)) {
      s.comments.push_back("WARNING: this evidence is a debug TD, so this policy denies it: "
                           "launch the TD without debug");
    }
    for (int i = 0; i < 3; ++i) {
      s.Pin(claims, "tdx.rtmr" + std::to_string(i), "equals",
            "as measured in this boot (firmware, boot loader and kernel; re-scaffold after updates)");
    }
    s.Pin(claims, "tdx.mrconfigid", "equals", "the configuration the host launched the TD with");
    s.Pin(claims, "tdx.xfam", "equals", "the CPU extended features enabled for the TD");
    s.Fixed("tdx.tcb_status", "in", Json::array({"UpToDate"}),
            "Intel's verdict on the platform TCB from the imported collateral (today's: " +
                claims.value("tdx.tcb_status", std::string("?")) +
                "; add SWHardeningNeeded if you accept it)");
    s.Pin(claims, "tdx.qe_svn", "greaterOrEquals", "quoting enclave floor = today's value");
    s.Pin(claims, "tdx.pce_svn", "greaterOrEquals", "PCE floor = today's value");
    if (pin_machine) {
      s.Pin(claims, "tdx.fmspc", "equals", "this platform family (--pin-machine)");
    } else {
      s.Skip("tdx.fmspc (a platform family; --pin-machine pins it)");
    }
    s.Skip("tdx.rtmr3, tdx.report_data, report_data (per boot or runtime)");
  }
  if (!snp && !tpm && tee != "sample" && tee != "tdx") {
    return Error(ErrorCode::kInvalidArgument, "no scaffold for evidence type '" + tee + "'");
  }
  return s;
}

std::string FormatWhatIf(const Json& r) {
  std::string out = "key " + Field(r, "key") + " (policy " + Field(r, "policy") + "): " +
                    Field(r, "checked") + " releases replayed, " + Field(r, "would_grant") +
                    " would be granted, " +
                    std::to_string(r.value("would_deny", Json::array()).size()) +
                    " would be denied\n";
  for (const auto& d : r.value("would_deny", Json::array())) {
    out += "  DENY  seq " + Field(d, "audit_seq") + "  " + Field(d, "time") + "  recorded " +
           Field(d, "recorded");
    if (!Field(d, "vm").empty()) out += "  " + Field(d, "vm");
    if (!Field(d, "client_address").empty()) out += "  from " + Field(d, "client_address");
    out += "\n        " + Field(d, "reason") + "\n";
  }
  for (const auto& n : r.value("not_replayed", Json::array())) {
    out += "  skipped seq " + Field(n, "audit_seq") + ": " + Field(n, "reason") + "\n";
  }
  return out;
}

std::string FormatCatalogue(const Json& rows, const std::string& tee) {
  std::string out;
  for (const auto& row : rows) {
    std::string tees;
    bool match = tee.empty();
    for (const auto& t : row.value("tee", Json::array())) {
      if (!tees.empty()) tees += ",";
      tees += t.get<std::string>();
      if (t == tee) match = true;
    }
    if (!match) continue;
    std::string type = Field(row, "type");
    if (row.contains("hex_bytes")) type += "(" + Field(row, "hex_bytes") + ")";
    std::string line = Field(row, "name");
    line.resize(std::max<std::size_t>(line.size() + 1, 44), ' ');
    type.resize(std::max<std::size_t>(type.size() + 1, 12), ' ');
    out += line + type + tees;
    if (row.contains("values")) {
      std::string values;
      for (const auto& v : row["values"]) values += (values.empty() ? "" : "|") + v.get<std::string>();
      out += "  [" + values + "]";
    }
    out += "  " + Field(row, "description") + "\n";
  }
  return out;
}

}  // namespace

void AddPolicyCommands(CLI::App& app, const On& on) {
  auto o = std::make_shared<PolicyOptions>();
  CLI::App* policy_cmd = app.add_subcommand("policy", "manage release policies (admin)");
  policy_cmd->require_subcommand(1);

  auto* p = policy_cmd->add_subcommand("put", "store a new version of a policy (checked by skrd's lint)");
  p->add_option("--tenant", o->tenant, "tenant")->required();
  p->add_option("NAME", o->name, "policy name")->required();
  p->add_option("--file", o->file, "policy document (JSON; '-' = stdin)")->required();
  on(p, [o](Ctx& ctx) {
    auto path = TenantPath(o->tenant, {"policies", o->name});
    if (!path) return UsageError(path.error().message());
    auto doc = ReadJsonObject(o->file);
    if (!doc) return UsageError(doc.error().message());
    auto r = ctx.api().Put(*path, *doc);
    if (!r) return ctx.ApiError(r.error());
    return ctx.Emit(*r, "stored policy " + Field(*r, "name") + " version " + Field(*r, "version") + "\n");
  });

  auto* gt = policy_cmd->add_subcommand("get", "show a policy (newest version by default)");
  gt->add_option("--tenant", o->tenant, "tenant")->required();
  gt->add_option("NAME", o->name, "policy name")->required();
  gt->add_option("--version", o->version, "policy version");
  on(gt, [o](Ctx& ctx) {
    auto path = TenantPath(o->tenant, {"policies", o->name});
    if (!path) return UsageError(path.error().message());
    std::string q = o->version ? Query({{"version", std::to_string(*o->version)}}) : "";
    auto r = ctx.api().Get(*path + q);
    if (!r) return ctx.ApiError(r.error());
    std::string text = "# policy " + Field(*r, "name") + " version " + Field(*r, "version") +
                       " created " + Field(*r, "created_at") + "\n";
    for (const auto& w : r->value("warnings", Json::array())) text += "# warning: " + w.get<std::string>() + "\n";
    for (const auto& l : r->value("lint", Json::array())) {
      text += "#   at " + Field(l, "path") + ": " + Field(l, "message") + "\n";
    }
    text += skr::DumpJson(r->is_object() && r->contains("policy") ? (*r)["policy"] : Json(), 2) + "\n";
    return ctx.Emit(*r, text);
  });

  auto* l = policy_cmd->add_subcommand("list", "list a tenant's policies");
  l->add_option("--tenant", o->tenant, "tenant")->required();
  on(l, [o](Ctx& ctx) {
    auto path = TenantPath(o->tenant, {"policies"});
    if (!path) return UsageError(path.error().message());
    auto r = GetAllPages(ctx.api(), *path, {}, "policies");
    if (!r) return ctx.ApiError(r.error());
    return ctx.Emit(*r, RenderList(*r, "policies", {"name", "version", "created_at"}));
  });

  auto* e = policy_cmd->add_subcommand(
      "evaluate", "dry-run a policy (newest, --version N, or an unsaved --file draft) on evidence "
                  "or claims; exits 1 on deny");
  e->add_option("--tenant", o->tenant, "tenant")->required();
  e->add_option("NAME", o->name, "policy name")->required();
  auto* ef = e->add_option("--evidence-file", o->evidence_file, "evidence JSON ('-' = stdin)");
  auto* cf = e->add_option("--claims-file", o->claims_file, "claims JSON ('-' = stdin)");
  ef->excludes(cf);
  auto* df = e->add_option("--file", o->file, "an unsaved draft policy document (JSON) to evaluate");
  auto* vf = e->add_option("--version", o->version, "a stored version instead of the newest");
  df->excludes(vf);
  on(e, [o](Ctx& ctx) {
    if (o->evidence_file.empty() == o->claims_file.empty()) {
      return UsageError("give exactly one of --evidence-file and --claims-file");
    }
    if (o->file == "-" && (o->evidence_file == "-" || o->claims_file == "-")) {
      return UsageError("only one input can come from stdin");
    }
    auto path = TenantPath(o->tenant, {"policies", o->name, "evaluate"});
    if (!path) return UsageError(path.error().message());
    const bool ev = !o->evidence_file.empty();
    auto doc = ReadJsonObject(ev ? o->evidence_file : o->claims_file);
    if (!doc) return UsageError(doc.error().message());
    Json body = {{ev ? "evidence" : "claims", std::move(doc).value()}};
    if (!o->file.empty()) {
      auto draft = ReadJsonObject(o->file);
      if (!draft) return UsageError(draft.error().message());
      body["document"] = std::move(draft).value();
    }
    if (o->version) body["version"] = *o->version;
    auto r = ctx.api().Post(*path, body);
    if (!r) return ctx.ApiError(r.error());
    const int rc = ctx.Emit(*r, FormatEvaluation(*r));
    return r->value("decision", std::string()) == "allow" ? rc : kExitApi;
  });

  auto* rb = policy_cmd->add_subcommand("rollback", "store version N's document as the newest version");
  rb->add_option("--tenant", o->tenant, "tenant")->required();
  rb->add_option("NAME", o->name, "policy name")->required();
  rb->add_option("--to", o->to, "the version to roll back to")->required();
  on(rb, [o](Ctx& ctx) {
    auto path = TenantPath(o->tenant, {"policies", o->name, "rollback"});
    if (!path) return UsageError(path.error().message());
    if (*o->to < 1) return UsageError("--to must be a version number (>= 1)");
    auto r = ctx.api().Post(*path, Json{{"to", *o->to}});
    if (!r) return ctx.ApiError(r.error());
    return ctx.Emit(*r, "policy " + Field(*r, "name") + " version " + Field(*r, "version") +
                            " now holds version " + Field(*r, "rolled_back_to") + "'s document\n");
  });

  auto* w = policy_cmd->add_subcommand(
      "what-if", "replay the evidence of a key's recent releases against a draft and list which "
                 "would now be denied (exits 1 when any would)");
  w->add_option("--tenant", o->tenant, "tenant")->required();
  w->add_option("--key", o->key, "the key whose releases to replay")->required();
  w->add_option("--file", o->file, "the draft policy document (JSON; '-' = stdin)")->required();
  w->add_option("--last", o->last, "how many of the newest releases (default 100, at most 1000)");
  on(w, [o](Ctx& ctx) {
    auto path = TenantPath(o->tenant, {"keys", o->key, "what-if"});
    if (!path) return UsageError(path.error().message());
    auto draft = ReadJsonObject(o->file);
    if (!draft) return UsageError(draft.error().message());
    Json body = {{"document", std::move(draft).value()}};
    if (o->last) {
      if (*o->last < 1 || *o->last > 1000) return UsageError("--last must be between 1 and 1000");
      body["last"] = *o->last;
    }
    auto r = ctx.api().Post(*path, body);
    if (!r) return ctx.ApiError(r.error());
    const int rc = ctx.Emit(*r, FormatWhatIf(*r));
    return r->value("would_deny", Json::array()).empty() ? rc : kExitApi;
  });

  auto* sc = policy_cmd->add_subcommand(
      "scaffold", "print a policy that pins the stable claims of evidence (from `skr-agent "
                  "evidence`), with a comment line per choice; `policy put` reads it as is");
  sc->add_option("--from-evidence", o->evidence_file, "evidence JSON ('-' = stdin)")->required();
  sc->add_option("--tee", o->tee, "the evidence type expected (refused when it differs)");
  sc->add_flag("--pin-machine", o->pin_machine, "also pin the claims naming this one machine");
  on(sc, [o](Ctx& ctx) {
    auto ev = ReadJsonObject(o->evidence_file);
    if (!ev) return UsageError(ev.error().message());
    // skrd verifies it (chain to the hardware maker's root): the scaffold pins verified claims.
    auto r = ctx.api().Post("/v1/attestation/verify", Json{{"evidence", std::move(ev).value()}});
    if (!r) return ctx.ApiError(r.error());
    const Json claims = r->value("claims", Json::object());
    if (!o->tee.empty() && claims.value("tee", std::string()) != o->tee) {
      return UsageError("the evidence is " + claims.value("tee", std::string("?")) + ", not " + o->tee);
    }
    auto s = BuildScaffold(claims, o->pin_machine);
    if (!s) return UsageError(s.error().message());
    const Json policy = {{"version", "1.0.0"},
                         {"anyOf", Json::array({{{"authority", "skr:local"}, {"allOf", s->leaves}}})}};
    if (ctx.json()) return ctx.Emit(Json{{"policy", policy}, {"comments", s->comments}}, "");
    std::string text = "# policy scaffolded from " + claims.value("tee", std::string()) +
                       " evidence verified by skrd; review each choice:\n";
    for (const auto& c : s->comments) text += "#   " + c + "\n";
    text += skr::DumpJson(policy, 2) + "\n";
    return ctx.Emit(policy, text);
  });

  auto* c = app.add_subcommand("claims", "list the claims policies can test, with their types and evidence types");
  c->add_option("--tee", o->tee, "only claims of this evidence type (sev-snp, az-snp-vtpm, tpm, sample, tdx, az-tdx-vtpm)");
  on(c, [o](Ctx& ctx) {
    auto r = ctx.api().Get("/v1/claims");
    if (!r) return ctx.ApiError(r.error());
    if (!r->is_array()) return ctx.ApiError(Error(ErrorCode::kInternal, "unexpected response", "bad_response"));
    return ctx.Emit(*r, FormatCatalogue(*r, o->tee));
  });
}

}  // namespace skr::client::cli
