// SPDX-License-Identifier: Apache-2.0
// Sealing a damaged audit log (issue 11): `skrd audit-seal` acknowledges damage the start-up check
// found, so that releases can resume, while the damage stays provable. A seal is an audit.seal
// record whose reason names the acknowledged records, plus a checkpoint signed with the log's
// key over the tree that ends with that record; a seal row without such a signature
// acknowledges nothing (AcknowledgedDamage marks the log damaged instead).
#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "server/broker/audit_service.h"
#include "server/broker/release_steps.h"

namespace skr::server {
namespace {

// The reason of an audit.seal record starts with this, for exactly these records.
std::string SealReasonPrefix(const std::vector<std::int64_t>& acknowledged) {
  Json arr = Json::array();
  for (const std::int64_t seq : acknowledged) arr.push_back(seq);
  return "sealed: acknowledged damaged records " + DumpJson(arr) + "; ";
}

Error Unsealable(const std::string& why) {
  return Error(ErrorCode::kFailedPrecondition,
               "the audit log cannot be sealed: " + why + "; restore it from a backup",
               "audit_unsealable");
}

}  // namespace

std::string AuditService::SealProblem(const audit::AuditLog::Seal& seal) {
  const std::string at = "the seal at seq " + std::to_string(seal.seal_seq);
  auto cp = audit::VerifyCheckpoint(seal.note, signer_.verifier_key());
  if (!cp || cp->tree_size != seal.seal_seq) return at + " is not signed by this log's key";
  auto root = log_.RootAt(seal.seal_seq);
  if (!root || *root != cp->root) return at + " signs a tree the log no longer holds";
  audit::Query q;
  q.from_seq = seal.seal_seq;
  q.limit = 1;
  auto recs = log_.Entries(q);
  if (!recs || recs->empty() || recs->front().seq != seal.seal_seq) return at + " has no record";
  const audit::Record& rec = recs->front();
  auto leaf = audit::LeafBytes(rec);
  auto stored = log_.LeafHashAt(seal.seal_seq);
  if (!leaf || !stored || merkle::LeafHash(*leaf) != *stored || rec.action != "audit.seal" ||
      rec.reason.rfind(SealReasonPrefix(seal.acknowledged), 0) != 0 ||
      std::find(seal.acknowledged.begin(), seal.acknowledged.end(), seal.seal_seq) !=
          seal.acknowledged.end()) {
    return at + " does not match its audit.seal record";
  }
  return "";
}

Result<std::set<std::int64_t>> AuditService::AcknowledgedDamage() {
  SKR_TRY(const auto seals, log_.Seals());
  std::set<std::int64_t> acknowledged;
  for (const auto& seal : seals) {
    if (const std::string problem = SealProblem(seal); !problem.empty()) {
      Error e = Error(ErrorCode::kUnavailable, "audit log integrity check failed: " + problem,
                      "audit_integrity");
      MarkDamaged(e);
      return e;
    }
    acknowledged.insert(seal.acknowledged.begin(), seal.acknowledged.end());
  }
  return acknowledged;
}

Result<Json> AuditService::Seal(const std::string& reason) {
  if (auto quick = log_.QuickCheck(); !quick) return Unsealable(quick.error().message());
  SKR_TRY(const std::set<std::int64_t> already, AcknowledgedDamage());
  // What no longer hashes: records edited in place (not yet acknowledged).
  SKR_TRY(const std::vector<std::int64_t> damaged_all, log_.DamagedRecords());
  std::vector<std::int64_t> damaged;
  for (const std::int64_t seq : damaged_all) {
    if (already.count(seq) == 0) damaged.push_back(seq);
  }
  std::set<std::int64_t> all = already;
  all.insert(damaged.begin(), damaged.end());
  // Everything else must be sound: no record missing, every node hashing its children, every
  // signed checkpoint still a prefix of the tree.
  if (auto walk = log_.VerifyAll(all); !walk) return Unsealable(walk.error().message());
  SKR_TRY(const auto tree, log_.CurrentTree());
  SKR_TRY(auto latest, log_.LatestCheckpoint());
  std::vector<std::string> notes;
  if (latest) notes.push_back(latest->note);
  if (std::filesystem::exists(checkpoint_file_)) {
    SKR_TRY(std::string note, ReadFile(checkpoint_file_, 64 * 1024));
    notes.push_back(std::move(note));
  }
  for (const auto& note : notes) {
    auto cp = audit::VerifyCheckpoint(note, signer_.verifier_key());
    if (!cp) return Unsealable("a stored checkpoint is not signed by this log's key");
    if (cp->tree_size > tree.size) {
      return Unsealable("records from seq " + std::to_string(tree.size + 1) + " to " +
                        std::to_string(cp->tree_size) + " are missing (log truncated)");
    }
    auto root = log_.RootAt(cp->tree_size);
    if (!root || *root != cp->root) {
      return Unsealable("the stored tree no longer gives the root signed at " +
                        std::to_string(cp->tree_size) + " records");
    }
  }
  // Records added while skrd was stopped (its stop marker): accepted, and said so.
  std::int64_t added = 0;
  if (std::filesystem::exists(stopped_file())) {
    SKR_TRY(const std::string text, ReadFile(stopped_file(), 64));
    try {
      added = std::max<std::int64_t>(0, tree.size - std::stoll(text));
    } catch (const std::exception&) {
      added = 0;
    }
  }
  if (SealReasonPrefix(damaged).size() > 900) {
    // The list must fit the record's bounded reason, where every start reads it back.
    return Unsealable(std::to_string(damaged.size()) + " records are damaged, too many to seal");
  }
  if (damaged.empty() && added == 0) {
    return Json{{"sealed", false}, {"detail", "the audit log is sound; nothing to seal"}};
  }

  audit::Record rec;
  rec.kind = "admin";
  rec.action = "audit.seal";
  rec.actor = "skrd-audit-seal";
  rec.decision = "ok";
  rec.reason = Clip(SealReasonPrefix(damaged) + std::to_string(added) +
                        " records added while skrd was stopped accepted; operator: " + reason,
                    1024);
  SKR_TRY(const audit::Record sealed, log_.Append(std::move(rec)));
  SKR_TRY(const auto after, log_.CurrentTree());
  if (after.size != sealed.seq) {
    return Error(ErrorCode::kUnavailable, "the audit log grew while it was being sealed",
                 "audit_unavailable");
  }
  audit::AuditLog::StoredCheckpoint cp;
  cp.tree_size = after.size;
  cp.root = after.root;
  SKR_TRY(cp.note, signer_.Sign(after.size, after.root));
  cp.created_at = clock_.NowUnix();
  audit::AuditLog::Seal seal;
  seal.seal_seq = sealed.seq;
  seal.acknowledged = damaged;
  seal.note = cp.note;
  seal.created_at = cp.created_at;
  SKR_TRY_VOID(log_.StoreSeal(seal));
  SKR_TRY_VOID(log_.StoreCheckpoint(cp));
  SKR_TRY_VOID(SaveFile(checkpoint_file_, cp.note));
  SKR_TRY_VOID(MarkStopped(after.size));
  return Json{{"sealed", true},
              {"seal_seq", sealed.seq},
              {"acknowledged", damaged},
              {"added_while_stopped", added},
              {"checkpoint", cp.note}};
}

}  // namespace skr::server
