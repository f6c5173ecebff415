// SPDX-License-Identifier: Apache-2.0
// `skrctl audit ...` (DESIGN.md section 6): entries, export, tail, replay and verify, from the
// auditor API alone.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "client/audit_export.h"
#include "client/audit_verify.h"
#include "client/skrctl_cli.h"
#include "client/skrctl_format.h"

namespace skr::client::cli {
namespace {

// Option storage of the audit commands (only one runs); kept alive by the registered actions.
struct AuditOptions {
  std::string tenant, decision, key_filter, action_filter, actor_filter, since, until,
      verifier_key, state_file;
  std::optional<std::int64_t> from_seq, limit;
  bool follow = false;
  std::int64_t tail_n = 10;
  std::int64_t replay_seq = 0;
  double interval_s = 2.0;
};

}  // namespace

void AddAuditCommands(CLI::App& app, const On& on) {
  auto o = std::make_shared<AuditOptions>();
  CLI::App* audit_cmd = app.add_subcommand("audit", "read the audit log (auditor)");
  audit_cmd->require_subcommand(1);
  {
    auto* e = audit_cmd->add_subcommand("entries", "list audit records");
    e->add_option("--tenant", o->tenant, "only this tenant");
    e->add_option("--from-seq", o->from_seq, "first sequence number");
    e->add_option("--limit", o->limit, "maximum number of records");
    e->add_option("--decision", o->decision, "only records with this decision")
        ->check(CLI::IsMember({"granted", "denied", "error", "requested", "ok", "failed"}));
    // The filters entries, export and tail share (DESIGN.md section 6).
    auto add_filters = [o](CLI::App* c) {
      c->add_option("--key", o->key_filter, "only records naming this key");
      c->add_option("--action", o->action_filter, "only this action (release, policy.put, ...)");
      c->add_option("--actor", o->actor_filter, "only this actor (token id, or attester)");
      c->add_option("--since", o->since, "only records at or after this time (RFC 3339)");
      c->add_option("--until", o->until, "only records before this time (RFC 3339)");
    };
    add_filters(e);
    auto filters = [o]() -> AuditFilters {
      return {{"tenant", o->tenant}, {"decision", o->decision}, {"key", o->key_filter},
              {"action", o->action_filter}, {"actor", o->actor_filter}, {"since", o->since},
              {"until", o->until}};
    };
    on(e, [o, filters](Ctx& ctx) {
      if (o->from_seq && *o->from_seq < 0) return UsageError("--from-seq must not be negative");
      if (o->limit && *o->limit <= 0) return UsageError("--limit must be positive");
      AuditFilters params = filters();
      params.emplace_back("from_seq", o->from_seq ? std::to_string(*o->from_seq) : "");
      params.emplace_back("limit", o->limit ? std::to_string(*o->limit) : "");
      const std::string q = Query(params);
      auto r = ctx.api().Get("/v1/audit/entries" + q);
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(*r, FormatAuditEntries(*r));
    });

    auto* x = audit_cmd->add_subcommand(
        "export", "write audit records as JSON lines (with leaf bytes), resumable with --state");
    x->add_option("--tenant", o->tenant, "only this tenant");
    x->add_option("--decision", o->decision, "only records with this decision")
        ->check(CLI::IsMember({"granted", "denied", "error", "requested", "ok", "failed"}));
    add_filters(x);
    x->add_option("--from-seq", o->from_seq, "first sequence number (default 1)");
    x->add_option("--state", o->state_file,
                  "file keeping where the export stopped; the next run continues from there");
    on(x, [o, filters](Ctx& ctx) {
      AuditExportOptions opts;
      opts.from_seq = o->from_seq ? *o->from_seq : 1;
      opts.state_file = o->state_file;
      opts.filters = filters();
      auto r = ExportAuditLog(ctx.api(), opts, std::cout);
      if (!r) return ctx.ApiError(r.error());
      std::cerr << "exported " << r->exported << " records; next from seq " << r->next_from_seq
                << '\n';
      return kExitOk;
    });

    auto* tl = audit_cmd->add_subcommand("tail", "show the newest audit records; -f follows");
    tl->add_option("--tenant", o->tenant, "only this tenant");
    tl->add_option("--decision", o->decision, "only records with this decision")
        ->check(CLI::IsMember({"granted", "denied", "error", "requested", "ok", "failed"}));
    add_filters(tl);
    tl->add_option("-n,--lines", o->tail_n, "how many of the newest records to show first (default 10)");
    tl->add_flag("-f,--follow", o->follow, "keep polling for new records");
    tl->add_option("--interval", o->interval_s, "seconds between polls with -f (default 2)")
        ->check(CLI::Range(0.1, 3600.0));
    on(tl, [o, filters](Ctx& ctx) {
      AuditTailOptions opts;
      opts.last = o->tail_n;
      opts.follow = o->follow;
      opts.interval = std::chrono::milliseconds(static_cast<std::int64_t>(o->interval_s * 1000));
      opts.filters = filters();
      auto r = TailAuditLog(ctx.api(), opts, [&ctx](const Json& entries) {
        if (ctx.json()) {
          for (const auto& en : entries) std::cout << skr::DumpJson(en) << '\n';
        } else {
          std::cout << FormatAuditEntries(Json{{"entries", entries}});
        }
        std::cout.flush();
      });
      if (!r) return ctx.ApiError(r.error());
      return kExitOk;
    });

    auto* rp = audit_cmd->add_subcommand(
        "replay", "re-run the verification and policy of a release record on its kept evidence");
    rp->add_option("SEQ", o->replay_seq, "the release record's sequence number")->required();
    on(rp, [o](Ctx& ctx) {
      if (o->replay_seq < 1) return UsageError("SEQ must be >= 1");
      auto r = ctx.api().Get("/v1/audit/replay" + Query({{"seq", std::to_string(o->replay_seq)}}));
      if (!r) return ctx.ApiError(r.error());
      const bool same = r->value("same", false);
      std::string text = "record " + std::to_string(o->replay_seq) + ": recorded " +
                         (*r)["recorded"].value("decision", std::string()) + ", replayed " +
                         (*r)["replayed"].value("decision", std::string()) + ": " +
                         (same ? "same decision and trace" : "DIFFERENT") + "\n";
      for (const auto& d : r->value("differences", Json::array())) {
        text += "  differs: " + d.get<std::string>() + "\n";
      }
      if (!same) text += "  replayed reason: " + (*r)["replayed"].value("reason", std::string()) + "\n";
      if (const Json today = r->value("today", Json::object()); today.is_object() && !today.empty()) {
        text += "  today: " + today.value("decision", std::string()) + " (" +
                today.value("reason", std::string()) + ")\n";
        for (const auto& d : today.value("differences", Json::array())) {
          text += "  today differs: " + d.get<std::string>() + "\n";
        }
      }
      for (const auto& n : r->value("notes", Json::array())) text += "  note: " + n.get<std::string>() + "\n";
      const int rc = ctx.Emit(*r, text);
      return same ? rc : kExitApi;
    });

    auto* v = audit_cmd->add_subcommand(
        "verify", "verify the log against its signed checkpoint and the last verified one");
    v->add_option("--verifier-key", o->verifier_key,
                  "the log's verifier key, as `skrd init` printed it (or $SKR_AUDIT_VERIFIER_KEY)");
    v->add_option("--state", o->state_file,
                  "file keeping the last verified checkpoint (resumed and checked for "
                  "consistency next time)");
    v->add_option("--tenant", o->tenant,
                  "verify as a tenant-scoped auditor: the tenant's entries, each by its inclusion "
                  "proof against the signed root");
    on(v, [o](Ctx& ctx) {
      if (o->verifier_key.empty()) {
        if (const char* env = std::getenv("SKR_AUDIT_VERIFIER_KEY")) o->verifier_key = env;
      }
      if (o->verifier_key.empty()) return UsageError("--verifier-key (or $SKR_AUDIT_VERIFIER_KEY) is required");
      auto r = VerifyAuditLog(ctx.api(), {o->verifier_key, o->state_file, o->tenant});
      if (!r) return ctx.ApiError(r.error());
      Json out = {{"ok", r->ok}, {"origin", r->origin}, {"tree_size", r->tree_size},
                  {"root_hash", r->root_hash}, {"previous_size", r->previous_size},
                  {"entries_read", r->entries_read}};
      if (r->first_bad_seq) out["first_bad_seq"] = *r->first_bad_seq;
      if (!r->detail.empty()) out["detail"] = r->detail;
      if (!r->ok) {
        if (ctx.json()) {
          std::cout << skr::DumpJson(out, 2) << '\n';
        } else {
          std::cerr << "audit log verification FAILED: " << r->detail << '\n';
        }
        return kExitApi;
      }
      std::string text = "audit log verified: " + std::to_string(r->tree_size) +
                         " records under checkpoint " + r->origin + " (root " + r->root_hash + ")";
      if (r->previous_size > 0) {
        text += "; consistent with the checkpoint of " + std::to_string(r->previous_size) +
                " records verified before; " + std::to_string(r->entries_read) + " new entries read";
      }
      return ctx.Emit(out, text + "\n");
    });
  }
}

}  // namespace skr::client::cli
