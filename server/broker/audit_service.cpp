// SPDX-License-Identifier: Apache-2.0
#include "server/broker/audit_service.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "common/encoding.h"

namespace skr::server {
namespace {

Error Damaged(const std::string& what) {
  return Error(ErrorCode::kUnavailable, "audit log integrity check failed: " + what,
               "audit_integrity");
}

Json HashesJson(const std::vector<merkle::Hash>& hashes) {
  Json arr = Json::array();
  for (const auto& h : hashes) arr.push_back(Base64Encode(h));
  return arr;
}

}  // namespace

AuditService::AuditService(audit::AuditLog& log, const audit::CheckpointSigner& signer,
                           const Clock& clock, std::string checkpoint_file)
    : log_(log), signer_(signer), clock_(clock), checkpoint_file_(std::move(checkpoint_file)) {}

std::optional<Error> AuditService::IntegrityFailure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return damaged_;
}

void AuditService::MarkDamaged(Error e) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!damaged_) damaged_ = std::move(e);
}

Result<void> AuditService::CheckIntegrity() {
  // Fail closed: whatever keeps the check from finishing (an unreadable table included) keeps
  // releases refused, as damage does.
  auto checked = CheckIntegrityOnce();
  if (!checked) {
    MarkDamaged(checked.error().reason() == "audit_integrity"
                    ? checked.error()
                    : Damaged("the check could not finish: " + checked.error().message()));
  }
  return checked;
}

Result<void> AuditService::CheckIntegrityOnce() {
  // The file's own structure first (a torn or overwritten page).
  if (auto quick = log_.QuickCheck(); !quick) {
    if (quick.error().code() != ErrorCode::kVerificationFailed) return quick.error();
    Error e = Damaged(quick.error().message());
    MarkDamaged(e);
    return e;
  }
  // Damage an operator sealed (skrd audit-seal): each seal must be signed by this log's key.
  SKR_TRY(const std::set<std::int64_t> acknowledged, AcknowledgedDamage());
  // Records and tree agree, link by link (names the first bad seq for rows edited in place).
  if (auto all = log_.VerifyAll(acknowledged); !all) {
    if (all.error().code() != ErrorCode::kVerificationFailed) return all.error();
    Error e = Damaged(all.error().message());
    MarkDamaged(e);
    return e;
  }
  // The latest signed checkpoint, from the database or from the file beside the key.
  std::optional<audit::Checkpoint> best;
  std::string source;
  SKR_TRY(auto stored, log_.LatestCheckpoint());
  if (stored) {
    auto cp = audit::VerifyCheckpoint(stored->note, signer_.verifier_key());
    if (!cp || cp->tree_size != stored->tree_size || cp->root != stored->root) {
      Error e = Damaged("the checkpoint stored for tree size " +
                        std::to_string(stored->tree_size) + " is not signed by this log's key");
      MarkDamaged(e);
      return e;
    }
    best = std::move(cp).value();
    source = "the database";
  }
  if (std::filesystem::exists(checkpoint_file_)) {
    SKR_TRY(std::string note, ReadFile(checkpoint_file_, 64 * 1024));
    auto cp = audit::VerifyCheckpoint(note, signer_.verifier_key());
    if (!cp) {
      Error e = Damaged(checkpoint_file_ + " is not a checkpoint signed by this log's key");
      MarkDamaged(e);
      return e;
    }
    if (!best || cp->tree_size > best->tree_size) {
      best = std::move(cp).value();
      source = checkpoint_file_;
    }
  }
  SKR_TRY(const auto tree, log_.CurrentTree());
  if (!best) return CheckStopped(tree.size);  // nothing signed yet
  if (tree.size < best->tree_size) {
    Error e = Damaged("the log holds " + std::to_string(tree.size) +
                      " records but a checkpoint (" + source + ") was signed at " +
                      std::to_string(best->tree_size) + ": records from seq " +
                      std::to_string(tree.size + 1) + " are missing (log truncated)");
    MarkDamaged(e);
    return e;
  }
  auto root = log_.RootAt(best->tree_size);
  if (!root || *root != best->root) {
    Error e = Damaged("the records up to seq " + std::to_string(best->tree_size) +
                      " do not give the root signed in the checkpoint (" + source +
                      "): the log was rewritten at or before seq " +
                      std::to_string(best->tree_size));
    MarkDamaged(e);
    return e;
  }
  return CheckStopped(tree.size);
}

Result<void> AuditService::CheckStopped(std::int64_t size) {
  const std::string marker = stopped_file();
  if (!std::filesystem::exists(marker)) return Ok();
  SKR_TRY(const std::string text, ReadFile(marker, 64));
  std::int64_t stopped = -1;
  try {
    std::size_t used = 0;
    stopped = std::stoll(text, &used);
    if (used != text.size() && text.substr(used) != "\n") stopped = -1;
  } catch (const std::exception&) {
    stopped = -1;
  }
  if (stopped < 0) {
    Error e = Damaged(marker + " does not hold a tree size");
    MarkDamaged(e);
    return e;
  }
  if (size != stopped) {
    Error e = Damaged(
        size > stopped
            ? "records from seq " + std::to_string(stopped + 1) + " to " + std::to_string(size) +
                  " were added while skrd was stopped (it stopped cleanly at " +
                  std::to_string(stopped) + " records)"
            : "the log holds " + std::to_string(size) + " records but skrd stopped cleanly at " +
                  std::to_string(stopped) + ": records from seq " + std::to_string(size + 1) +
                  " are missing (log truncated)");
    MarkDamaged(e);
    return e;
  }
  // Sound: from now on a crash may leave records after the last checkpoint.
  if (std::error_code ec; !std::filesystem::remove(marker, ec) || ec) {
    return Error(ErrorCode::kUnavailable, "cannot remove " + marker, "audit_unavailable");
  }
  return Ok();
}

Result<void> AuditService::MarkStopped(std::int64_t tree_size) {
  return SaveFile(stopped_file(), std::to_string(tree_size) + "\n");
}

Result<void> AuditService::SaveFile(const std::string& path, const std::string& note) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    return Error(ErrorCode::kUnavailable,
                 "cannot write " + tmp + ": " + std::strerror(errno), "audit_unavailable");
  }
  std::size_t off = 0;
  bool ok = true;
  while (ok && off < note.size()) {
    const ssize_t n = ::write(fd, note.data() + off, note.size() - off);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) off += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  ok = ok && ::rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) {
    ::unlink(tmp.c_str());
    return Error(ErrorCode::kUnavailable, "cannot write " + path, "audit_unavailable");
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return Ok();
}

Result<audit::AuditLog::StoredCheckpoint> AuditService::Checkpoint() {
  std::lock_guard<std::mutex> lock(sign_mu_);
  SKR_TRY(auto latest, log_.LatestCheckpoint());
  if (auto damaged = IntegrityFailure()) {
    // Nothing new is signed over a damaged log; auditors still get the last signed checkpoint
    // to find the damage with (`skrctl audit verify`).
    if (latest) return std::move(*latest);
    return *damaged;
  }
  SKR_TRY(const auto tree, log_.CurrentTree());
  if (latest && latest->tree_size >= tree.size) return std::move(*latest);
  audit::AuditLog::StoredCheckpoint cp;
  cp.tree_size = tree.size;
  cp.root = tree.root;
  SKR_TRY(cp.note, signer_.Sign(tree.size, tree.root));
  cp.created_at = clock_.NowUnix();
  SKR_TRY_VOID(log_.StoreCheckpoint(cp));
  SKR_TRY_VOID(SaveFile(checkpoint_file_, cp.note));
  return cp;
}

Result<Json> AuditService::GetCheckpoint(const Actor& a) {
  SKR_TRY_VOID(Authorize(a, Permission::kReadAudit));
  SKR_TRY(const auto cp, Checkpoint());
  Json out{{"checkpoint", cp.note},
           {"tree_size", cp.tree_size},
           {"root_hash", Base64Encode(cp.root)},
           {"verifier_key", signer_.verifier_key()}};
  // A damaged log is served with its last signed checkpoint and says so: what skrd found at
  // start (e.g. records added while it was stopped, which no signature can tell apart).
  if (auto damaged = IntegrityFailure()) out["integrity_error"] = damaged->message();
  // Sealed damage stays visible: which records an operator acknowledged, and where.
  if (auto seals = log_.Seals(); seals && !seals->empty()) {
    Json arr = Json::array();
    for (const auto& seal : *seals) {
      arr.push_back({{"seal_seq", seal.seal_seq}, {"acknowledged", seal.acknowledged}});
    }
    out["seals"] = std::move(arr);
  }
  return out;
}

Result<Json> AuditService::GetInclusionProof(const Actor& a, std::int64_t seq,
                                             std::optional<std::int64_t> tree_size) {
  SKR_TRY_VOID(Authorize(a, Permission::kReadAudit));
  if (auto scope = AuditScope(a)) {
    // A tenant's auditor proves its own records only (other records' hashes appear in the
    // path, never their contents).
    audit::Query q;
    q.tenant = std::move(scope);
    q.from_seq = seq < 1 ? 1 : seq;
    q.limit = 1;
    SKR_TRY(const auto recs, log_.Entries(q));
    if (recs.empty() || recs.front().seq != seq) {
      return Error(ErrorCode::kNotFound, "no record of this tenant has seq " + std::to_string(seq),
                   "audit_record_not_found");
    }
  }
  Json out;
  std::int64_t size = 0;
  if (tree_size) {
    size = *tree_size;
  } else {
    SKR_TRY(const auto cp, Checkpoint());
    size = cp.tree_size;
    out["checkpoint"] = cp.note;
  }
  SKR_TRY(const auto path, log_.InclusionProof(seq, size));
  SKR_TRY(const auto leaf, log_.LeafHashAt(seq));
  out["leaf_index"] = seq - 1;
  out["tree_size"] = size;
  out["leaf_hash"] = Base64Encode(leaf);
  out["hashes"] = HashesJson(path);
  return out;
}

Result<Json> AuditService::Receipt(std::int64_t seq) {
  SKR_TRY(const auto cp, Checkpoint());
  if (cp.tree_size < seq) {
    return Error(ErrorCode::kUnavailable, "no signed checkpoint covers the record yet",
                 "audit_unavailable");
  }
  audit::Query q;
  q.from_seq = seq;
  q.limit = 1;
  SKR_TRY(const auto recs, log_.Entries(q));
  if (recs.empty() || recs.front().seq != seq) {
    return Error(ErrorCode::kInternal, "the released record is not in the log", "audit_integrity");
  }
  SKR_TRY(const std::string leaf, audit::LeafBytes(recs.front()));
  SKR_TRY(const auto path, log_.InclusionProof(seq, cp.tree_size));
  return Json{{"checkpoint", cp.note},
              {"tree_size", cp.tree_size},
              {"leaf_index", seq - 1},
              {"leaf", Base64Encode(AsBytes(leaf))},
              {"hashes", HashesJson(path)},
              {"verifier_key", signer_.verifier_key()}};
}

Result<Json> AuditService::GetConsistencyProof(const Actor& a, std::int64_t from, std::int64_t to) {
  SKR_TRY_VOID(Authorize(a, Permission::kReadAudit));
  SKR_TRY(const auto proof, log_.ConsistencyProof(from, to));
  return Json{{"from", from}, {"to", to}, {"hashes", HashesJson(proof)}};
}

}  // namespace skr::server
