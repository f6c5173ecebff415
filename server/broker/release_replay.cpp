// SPDX-License-Identifier: Apache-2.0
// Offline replay of a release decision (issue 11, DESIGN.md section 6): the evidence, tee-pubkey
// and nonce a release was decided on are kept beside its audit record (bound to the leaf by
// replay_sha256, the evidence also by evidence_sha256); replay re-runs the same verification,
// binding and policy steps (ReleaseService::Decide) on them, against the policy version the record names,
// and says whether the decision and trace are the same, and what differs when they are not.
// Nothing is released, no nonce is consumed. Verification runs as at the record's time with the
// collateral bytes kept with the bundle (a VCEK from the cache, the CRLs in force, the enrolled AK:
// Verifier::VerifyRecorded), so the decision replays even after that collateral changed; the same
// evidence is also verified as of today, and a certificate replaced, expired or revoked since
// shows there as a named difference.
#include <string>
#include <utility>

#include "common/encoding.h"
#include "common/ossl.h"
#include "server/broker/audit_queries.h"
#include "server/broker/release_steps.h"

namespace skr::server {
namespace {

Error ReplayError(ErrorCode code, std::string msg, std::string reason) {
  return Error(code, std::move(msg), std::move(reason));
}

// The steps replay does not repeat (they depend on state at the time, not on the evidence).
bool DecidedOutsideReplay(const std::string& recorded_reason) {
  for (const char* prefix : {"nonce_", "key_version", "key_integrity", "audit_", "sealed",
                             "overloaded", "rate_limited"}) {
    if (recorded_reason.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

}  // namespace

Result<AuditQueryService::ReplayInputs> AuditQueryService::LoadReplayInputs(const audit::Record& rec) {
  const std::int64_t seq = rec.seq;
  SKR_TRY(const std::optional<std::string> bundle, audit_.ReplayBundle(seq));
  if (!bundle || rec.replay_sha256.empty()) {
    return ReplayError(ErrorCode::kNotFound,
                       "no evidence is kept for record " + std::to_string(seq) +
                           " (the request ended before its evidence was read, it was pruned "
                           "after audit.replay_retention_days, or it predates replay bundles)",
                       "replay_evidence_missing");
  }
  // The bundle must be the one the leaf names, and its evidence the evidence the record names.
  if (HexEncode(Sha256(*bundle)) != rec.replay_sha256) {
    return ReplayError(ErrorCode::kFailedPrecondition,
                       "the evidence kept for record " + std::to_string(seq) +
                           " does not match its replay_sha256 (altered)",
                       "replay_evidence_altered");
  }
  auto parsed = ParseJson(*bundle, options_.max_json_bytes + 4096, 64);
  if (!parsed || !parsed->is_object() || !parsed->contains("evidence") ||
      !parsed->contains("tee-pubkey") || !(*parsed)["nonce"].is_string()) {
    return ReplayError(ErrorCode::kFailedPrecondition, "the replay bundle of record " + std::to_string(seq) +
                                                 " does not parse", "replay_evidence_altered");
  }
  ReplayInputs in;
  in.bundle = std::move(parsed).value();
  const Json& b = in.bundle;
  if (EvidenceDigest(b["evidence"]) != rec.evidence_sha256) {
    return ReplayError(ErrorCode::kFailedPrecondition,
                       "the evidence kept for record " + std::to_string(seq) +
                           " does not match its evidence_sha256 (altered)",
                       "replay_evidence_altered");
  }

  // The collateral bytes the release relied on, as kept (by digest; each checked).
  attestation::RecordedState& recorded = in.recorded;
  recorded.time = rec.time;
  const Json kept_bytes = b.value("collateral_bytes", Json::object());
  if (!kept_bytes.is_object()) {
    return ReplayError(ErrorCode::kFailedPrecondition, "the replay bundle of record " + std::to_string(seq) +
                                                 " does not parse", "replay_evidence_altered");
  }
  for (const auto& [name, digest] : kept_bytes.items()) {
    if (!digest.is_string()) {
      return ReplayError(ErrorCode::kFailedPrecondition, "the replay bundle of record " + std::to_string(seq) +
                                                   " does not parse", "replay_evidence_altered");
    }
    SKR_TRY(std::optional<std::string> bytes, audit_.ReplayCollateral(digest.get<std::string>()));
    if (!bytes) {
      in.notes.push_back("collateral " + name + " is no longer kept (pruned): today's stood in");
      continue;
    }
    if (HexEncode(Sha256(*bytes)) != digest.get<std::string>()) {
      return ReplayError(ErrorCode::kFailedPrecondition,
                         "the collateral " + name + " kept for record " + std::to_string(seq) +
                             " does not match its digest (altered)",
                         "replay_evidence_altered");
    }
    recorded.collateral.emplace(name, std::move(*bytes));
  }
  return in;
}

Result<Json> AuditQueryService::ReplayRelease(const Actor& a, std::int64_t seq) {
  SKR_TRY_VOID(Authorize(a, Permission::kReadAudit));
  if (seq < 1) return ReplayError(ErrorCode::kInvalidArgument, "seq must be >= 1", "malformed_request");
  audit::Query q;
  q.from_seq = seq;
  q.limit = 1;
  q.tenant = AuditScope(a);
  SKR_TRY(const std::vector<audit::Record> found, audit_.Entries(q));
  if (found.empty() || found.front().seq != seq) {
    return ReplayError(ErrorCode::kNotFound, "no audit record " + std::to_string(seq) + " you may read",
                       "audit_record_not_found");
  }
  const audit::Record& rec = found.front();
  if (rec.kind != "release" || rec.action != "release") {
    return ReplayError(ErrorCode::kFailedPrecondition,
                       "record " + std::to_string(seq) + " is a " + rec.action + " record, not a release",
                       "not_a_release");
  }
  SKR_TRY(ReplayInputs in, LoadReplayInputs(rec));
  const Json& b = in.bundle;
  Json differences = Json::array();
  Json notes = std::move(in.notes);
  const attestation::RecordedState& recorded = in.recorded;
  notes.push_back("verification ran as at " + FormatRfc3339(rec.time) +
                  " with the collateral kept with the record; 'today' is the same evidence "
                  "verified now, with today's trust roots, collateral and clock; the nonce's "
                  "freshness and the key version's state are not replayed");
  // The policy version the record names, and the document it was decided on.
  bool policy_checked = false;
  auto policy_of = [&]() -> Result<keystore::PolicyRecord> {
    if (!rec.policy_version) {
      return ReplayError(ErrorCode::kFailedPrecondition,
                         "the record names no policy version (the release ended before its policy)",
                         "replay_no_policy");
    }
    SKR_TRY(keystore::PolicyRecord p, keys_.GetPolicy(rec.tenant, rec.policy_name, *rec.policy_version));
    const std::string kept = b.value("policy_sha256", std::string());
    if (!policy_checked && !kept.empty() && HexEncode(Sha256(p.document)) != kept) {
      differences.push_back("policy " + rec.policy_name + " v" + std::to_string(p.version) +
                            " is not the document the release was decided on");
    }
    policy_checked = true;
    return p;
  };
  const Json kept = b.value("collateral", Json::object());
  // The collateral `relied` names against the digests recorded, member by member.
  auto compare_collateral = [&kept](bool verified, const Json& relied, Json& out) {
    if (!kept.is_object() || !relied.is_object()) return;
    for (const auto& [name, value] : kept.items()) {
      const auto now = relied.find(name);
      if (now == relied.end()) {
        if (verified) out.push_back("collateral " + name + ": recorded " + value.dump() + ", not used");
      } else if (*now != value) {
        out.push_back("collateral " + name + ": recorded " + value.dump() + ", now " + now->dump());
      }
    }
  };
  auto outcome = [](const Result<policy::Decision>& decided) {
    if (decided) {
      return Json{{"decision", decided->allowed ? "granted" : "denied"},
                  {"reason", decided->allowed ? "policy satisfied" : decided->reason},
                  {"trace", decided->TraceJson()}};
    }
    const ErrorCode c = decided.error().code();
    return Json{{"decision", (c == ErrorCode::kInternal || c == ErrorCode::kUnavailable) ? "error" : "denied"},
                {"reason", decided.error().reason() + ": " + decided.error().message()},
                {"trace", nullptr}};
  };

  keystore::PolicyRecord pol;
  ReliedOn relied;
  auto decided = release_.Decide(b["evidence"], b["nonce"].get<std::string>(), b["tee-pubkey"], rec.tenant,
                        policy_of, pol, relied, &recorded);
  compare_collateral(decided.has_value(), relied.collateral, differences);
  const Json replayed = outcome(decided);
  const std::string replayed_decision = replayed["decision"].get<std::string>();
  if (replayed_decision != rec.decision) {
    differences.push_back("decision: recorded " + rec.decision + ", replayed " + replayed_decision);
  }
  if (replayed["trace"] != rec.trace) {
    differences.push_back("trace: the replayed policy trace differs from the recorded one");
  }

  // Today: what the same evidence gets now (a certificate expired or revoked since, an AK
  // deleted, a CRL replaced): information for the auditor, not part of `same`.
  keystore::PolicyRecord pol_now;
  ReliedOn relied_now;
  auto decided_now = release_.Decide(b["evidence"], b["nonce"].get<std::string>(), b["tee-pubkey"],
                            rec.tenant, policy_of, pol_now, relied_now, nullptr);
  Json today = outcome(decided_now);
  Json today_differences = Json::array();
  compare_collateral(decided_now.has_value(), relied_now.collateral, today_differences);
  if (today["decision"] != replayed["decision"]) {
    today_differences.push_back("decision: replayed " + replayed_decision + ", today " +
                                today["decision"].get<std::string>());
  }
  today["collateral"] = std::move(relied_now.collateral);
  today["differences"] = std::move(today_differences);
  const std::string recorded_reason = rec.reason.substr(0, rec.reason.find(':'));
  if (rec.decision != "granted" && DecidedOutsideReplay(recorded_reason)) {
    notes.push_back("the recorded decision came from '" + recorded_reason +
                    "', a step replay does not repeat");
  }
  return Json{{"seq", seq},
              {"collateral", {{"recorded", kept}, {"replayed", relied.collateral}}},
              {"tenant", rec.tenant},
              {"key", rec.key},
              {"policy", {{"name", rec.policy_name},
                          {"version", rec.policy_version ? Json(*rec.policy_version) : Json(nullptr)}}},
              {"recorded", {{"decision", rec.decision}, {"reason", rec.reason}, {"trace", rec.trace}}},
              {"replayed", replayed},
              {"same", differences.empty()},
              {"today", std::move(today)},
              {"differences", differences},
              {"notes", notes}};
}

}  // namespace skr::server
