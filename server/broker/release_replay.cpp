// SPDX-License-Identifier: Apache-2.0
// Offline replay of a release decision (issue 11, DESIGN.md section 6): the evidence, tee-pubkey
// and nonce a release was decided on are kept beside its audit record (bound to the leaf by
// replay_sha256, the evidence also by evidence_sha256); replay re-runs the same verification,
// binding and policy steps (Broker::Decide) on them, against the policy version the record names,
// and says whether the decision and trace are the same, and what differs when they are not.
// Nothing is released, no nonce is consumed. Verification runs with today's trust roots,
// collateral and clock; the bundle keeps digests of the collateral the release relied on
// (VerifiedEvidence::collateral), so a certificate replaced, expired or revoked since shows as a
// difference, named.
#include <string>
#include <utility>

#include "common/encoding.h"
#include "common/ossl.h"
#include "server/broker/broker.h"
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

Result<Json> Broker::ReplayRelease(const Actor& a, std::int64_t seq) {
  if (a.token.role == keystore::Role::kAdmin) {
    return Error(ErrorCode::kPermissionDenied, "auditor or operator role required", "forbidden");
  }
  if (seq < 1) return ReplayError(ErrorCode::kInvalidArgument, "seq must be >= 1", "malformed_request");
  audit::Query q;
  q.from_seq = seq;
  q.limit = 1;
  if (a.token.role == keystore::Role::kAuditor && a.token.tenant) q.tenant = a.token.tenant;
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
  const Json& b = *parsed;
  if (EvidenceDigest(b["evidence"]) != rec.evidence_sha256) {
    return ReplayError(ErrorCode::kFailedPrecondition,
                       "the evidence kept for record " + std::to_string(seq) +
                           " does not match its evidence_sha256 (altered)",
                       "replay_evidence_altered");
  }

  Json differences = Json::array();
  Json notes = Json::array();
  notes.push_back("verification ran now, with today's trust roots, collateral and clock (the "
                  "collateral's digests are compared with the ones recorded); the nonce's "
                  "freshness and the key version's state are not replayed");
  // The policy version the record names, and the document it was decided on.
  auto policy_of = [&]() -> Result<keystore::PolicyRecord> {
    if (!rec.policy_version) {
      return ReplayError(ErrorCode::kFailedPrecondition,
                         "the record names no policy version (the release ended before its policy)",
                         "replay_no_policy");
    }
    SKR_TRY(keystore::PolicyRecord p, keys_.GetPolicy(rec.tenant, rec.policy_name, *rec.policy_version));
    const std::string kept = b.value("policy_sha256", std::string());
    if (!kept.empty() && HexEncode(Sha256(p.document)) != kept) {
      differences.push_back("policy " + rec.policy_name + " v" + std::to_string(p.version) +
                            " is not the document the release was decided on");
    }
    return p;
  };
  keystore::PolicyRecord pol;
  Json collateral;
  auto decided = Decide(b["evidence"], b["nonce"].get<std::string>(), b["tee-pubkey"], rec.tenant,
                        policy_of, pol, collateral);
  // The collateral the release relied on against what replay relied on now, member by member.
  const Json kept = b.value("collateral", Json::object());
  if (kept.is_object() && collateral.is_object()) {
    for (const auto& [name, value] : kept.items()) {
      const auto now = collateral.find(name);
      if (now == collateral.end()) {
        if (decided) differences.push_back("collateral " + name + ": recorded " + value.dump() + ", not used now");
      } else if (*now != value) {
        differences.push_back("collateral " + name + ": recorded " + value.dump() + ", now " + now->dump());
      }
    }
  }
  Json replayed;
  std::string replayed_decision;
  if (decided) {
    replayed_decision = decided->allowed ? "granted" : "denied";
    replayed = {{"decision", replayed_decision},
                {"reason", decided->allowed ? "policy satisfied" : decided->reason},
                {"trace", decided->TraceJson()}};
  } else {
    const ErrorCode c = decided.error().code();
    replayed_decision = (c == ErrorCode::kInternal || c == ErrorCode::kUnavailable) ? "error" : "denied";
    replayed = {{"decision", replayed_decision},
                {"reason", decided.error().reason() + ": " + decided.error().message()},
                {"trace", nullptr}};
  }
  if (replayed_decision != rec.decision) {
    differences.push_back("decision: recorded " + rec.decision + ", replayed " + replayed_decision);
  }
  if (replayed["trace"] != rec.trace) {
    differences.push_back("trace: the replayed policy trace differs from the recorded one");
  }
  const std::string recorded_reason = rec.reason.substr(0, rec.reason.find(':'));
  if (rec.decision != "granted" && DecidedOutsideReplay(recorded_reason)) {
    notes.push_back("the recorded decision came from '" + recorded_reason +
                    "', a step replay does not repeat");
  }
  return Json{{"seq", seq},
              {"collateral", {{"recorded", kept}, {"replayed", collateral}}},
              {"tenant", rec.tenant},
              {"key", rec.key},
              {"policy", {{"name", rec.policy_name},
                          {"version", rec.policy_version ? Json(*rec.policy_version) : Json(nullptr)}}},
              {"recorded", {{"decision", rec.decision}, {"reason", rec.reason}, {"trace", rec.trace}}},
              {"replayed", replayed},
              {"same", differences.empty()},
              {"differences", differences},
              {"notes", notes}};
}

}  // namespace skr::server
