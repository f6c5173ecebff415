// SPDX-License-Identifier: Apache-2.0
// AuditLog: the SQLite store of the hash-chained audit records (DESIGN.md section 6), with group
// commit. The leader/follower scheme: every Append enqueues its record; whoever finds no write in
// flight becomes the leader, takes the whole queue, writes it in one BEGIN IMMEDIATE .. COMMIT
// (synchronous=FULL, so COMMIT returns after fsync of the WAL), and hands every queued caller
// its result. One fsync then covers many concurrent releases.
#include "audit/audit.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <set>

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <utility>

#include "audit/internal.h"
#include "audit/log_impl.h"
#include "common/merkle.h"
#include "audit/sqlite_util.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "common/ossl.h"

namespace skr::audit {

using internal::Exec;
using internal::Prepare;
using internal::RowToRecord;
using internal::SqliteDbPtr;
using internal::SqliteError;
using internal::SqliteStmtPtr;

namespace {

constexpr std::size_t kMaxBatchLimit = 512;
// The WAL is truncated back to this size after checkpoints, so a log that filled its disk needs
// only this much free space again to resume (issue 11; SQLite's default keeps the WAL at its
// largest size).
constexpr const char* kJournalSizeLimit = "PRAGMA journal_size_limit = 1048576";
constexpr int kMaxEntriesLimit = 1000;

// Schema migrations, numbered by position (migration N brings PRAGMA user_version to N).
// Never edit a shipped entry; append a new one.
constexpr const char* kMigrations[] = {
    // 1: the records. `json` is the full record (RecordToJson); the other columns are copies
    // for filtering and for cross-checking in VerifyAll.
    "CREATE TABLE audit_records ("
    "  seq INTEGER PRIMARY KEY,"
    "  time INTEGER NOT NULL,"
    "  tenant TEXT NOT NULL,"
    "  decision TEXT NOT NULL,"
    "  json TEXT NOT NULL,"
    "  hash TEXT NOT NULL);"
    "CREATE INDEX audit_records_tenant_seq ON audit_records(tenant, seq);",
    // 2: append-only at the SQL level too (defence in depth; the hash chain is the real check).
    "CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records"
    " BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;"
    "CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records"
    " BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;",
    // 3: the Merkle tree over the records (RFC 9162; audit/tree_store.h), and the signed
    // checkpoints of it (C2SP tlog-checkpoint notes). Leaves of the records already stored are
    // added when the log is opened. Both append-only.
    "CREATE TABLE merkle_nodes ("
    "  level INTEGER NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  hash BLOB NOT NULL CHECK (length(hash) = 32),"
    "  PRIMARY KEY (level, idx)) WITHOUT ROWID;"
    "CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes"
    " BEGIN SELECT RAISE(ABORT, 'the Merkle tree is append-only'); END;"
    "CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes"
    " BEGIN SELECT RAISE(ABORT, 'the Merkle tree is append-only'); END;"
    "CREATE TABLE checkpoints ("
    "  tree_size INTEGER PRIMARY KEY,"
    "  root_hash BLOB NOT NULL CHECK (length(root_hash) = 32),"
    "  note TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);",
    // 4: what a release was decided on (evidence, binding inputs, policy digest), kept outside
    // the leaf for offline replay; the record's replay_sha256 binds each bundle to its leaf.
    // Rows may be pruned (retention), never changed.
    "CREATE TABLE replay_bundles ("
    "  seq INTEGER PRIMARY KEY,"
    "  bundle BLOB NOT NULL);"
    "CREATE TRIGGER replay_bundles_no_update BEFORE UPDATE ON replay_bundles"
    " BEGIN SELECT RAISE(ABORT, 'replay bundles are write-once'); END;",
    // 5: damage acknowledged by an operator (`skrd audit-seal`): each seal names its audit.seal
    // record, the records it acknowledges and a checkpoint signed over the seal record.
    "CREATE TABLE seals ("
    "  seal_seq INTEGER PRIMARY KEY,"
    "  acknowledged TEXT NOT NULL,"
    "  note TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TRIGGER seals_no_update BEFORE UPDATE ON seals"
    " BEGIN SELECT RAISE(ABORT, 'seals are append-only'); END;"
    "CREATE TRIGGER seals_no_delete BEFORE DELETE ON seals"
    " BEGIN SELECT RAISE(ABORT, 'seals are append-only'); END;",
    // 6: collateral bytes replay bundles name by digest (a VCEK from the cache, CRLs, enrolled
    // AKs), once per digest; last_time (the newest release that named it, to the hour) drives
    // pruning. The bytes never change.
    "CREATE TABLE replay_collateral ("
    "  sha256 TEXT PRIMARY KEY,"
    "  bytes BLOB NOT NULL,"
    "  last_time INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TRIGGER replay_collateral_bytes_fixed BEFORE UPDATE OF sha256, bytes ON replay_collateral"
    " BEGIN SELECT RAISE(ABORT, 'kept collateral is write-once'); END;",
};
constexpr std::int64_t kSchemaVersion =
    static_cast<std::int64_t>(sizeof(kMigrations) / sizeof(kMigrations[0]));

Error Unavailable(std::string_view detail) {
  return Error(ErrorCode::kUnavailable, "audit log unavailable: " + std::string(detail),
               "audit_unavailable");
}

// RFC 3629 well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). JSON text must be
// UTF-8 (RFC 8259 section 8.1); a record that would be stored with replacement characters
// would no longer match its hash.
bool IsUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (n > s.size() - i - 1) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

bool JsonIsUtf8(const Json& j) {
  if (j.is_string()) return IsUtf8(j.get_ref<const std::string&>());
  if (j.is_object()) {
    for (const auto& item : j.items()) {
      if (!IsUtf8(item.key()) || !JsonIsUtf8(item.value())) return false;
    }
  } else if (j.is_array()) {
    for (const auto& v : j) {
      if (!JsonIsUtf8(v)) return false;
    }
  }
  return true;
}

// Rolls back the open transaction of `db`, if any. Used on every failure path so that a failed
// batch leaves neither rows nor a dangling write lock behind.
void RollbackIfOpen(sqlite3* db) {
  if (sqlite3_get_autocommit(db) == 0) {
    (void)sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

constexpr const char* kHeadSql = "SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1";

// The chain head, with `stmt` a prepared kHeadSql (reset afterwards).
Result<Head> ReadHeadWith(sqlite3* db, sqlite3_stmt* stmt) {
  const int rc = sqlite3_step(stmt);
  Head head;
  if (rc == SQLITE_ROW) {
    head.seq = sqlite3_column_int64(stmt, 0);
    head.hash = internal::ColumnText(stmt, 1);
  } else if (rc != SQLITE_DONE) {
    Error e = SqliteError(db, "reading the audit chain head", ErrorCode::kUnavailable);
    sqlite3_reset(stmt);
    return e;
  }
  sqlite3_reset(stmt);
  return head;
}

Result<void> Migrate(sqlite3* db) {
  SKR_TRY_VOID(Exec(db, "BEGIN IMMEDIATE", ErrorCode::kUnavailable));
  auto version = internal::QueryInt(db, "PRAGMA user_version", ErrorCode::kUnavailable);
  if (!version) {
    RollbackIfOpen(db);
    return version.error();
  }
  if (*version > kSchemaVersion) {
    RollbackIfOpen(db);
    return Error(ErrorCode::kUnavailable,
                 "audit database schema version " + std::to_string(*version) +
                     " is newer than this build supports (" + std::to_string(kSchemaVersion) + ")");
  }
  for (std::int64_t v = *version; v < kSchemaVersion; ++v) {
    auto applied = Exec(db, kMigrations[v], ErrorCode::kUnavailable);
    if (applied) {
      const std::string bump = "PRAGMA user_version = " + std::to_string(v + 1);
      applied = Exec(db, bump.c_str(), ErrorCode::kUnavailable);
    }
    if (!applied) {
      RollbackIfOpen(db);
      return Error(ErrorCode::kUnavailable, "audit schema migration " + std::to_string(v + 1) +
                                                " failed: " + applied.error().message());
    }
  }
  auto committed = Exec(db, "COMMIT", ErrorCode::kUnavailable);
  if (!committed) RollbackIfOpen(db);
  return committed;
}

// Adds the Merkle leaves of records stored before the tree existed (schema version 2 logs), in
// one transaction. Leaf bytes are the JCS form of each stored record.
Result<void> BackfillTree(sqlite3* db, TreeStore& tree) {
  SKR_TRY_VOID(Exec(db, "BEGIN IMMEDIATE", ErrorCode::kUnavailable));
  auto fail = [db](const Error& e) {
    RollbackIfOpen(db);
    return e;
  };
  auto leaves = tree.LeafCount();
  if (!leaves) return fail(leaves.error());
  auto stmt = Prepare(db, "SELECT seq, hash, json FROM audit_records WHERE seq > ?1 ORDER BY seq",
                      ErrorCode::kUnavailable);
  if (!stmt) return fail(stmt.error());
  sqlite3_bind_int64(stmt->get(), 1, static_cast<sqlite3_int64>(*leaves));
  std::uint64_t next = *leaves;
  for (;;) {
    const int rc = sqlite3_step(stmt->get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return fail(SqliteError(db, "reading records", ErrorCode::kUnavailable));
    const std::int64_t seq = sqlite3_column_int64(stmt->get(), 0);
    if (seq < 1 || static_cast<std::uint64_t>(seq) != next + 1) {
      return fail(Error(ErrorCode::kUnavailable,
                        "audit log unavailable: record seq " + std::to_string(next + 1) +
                            " is missing (cannot build the Merkle tree)",
                        "audit_integrity"));
    }
    auto record = RowToRecord(stmt->get(), 0, 1, 2, ErrorCode::kUnavailable);
    if (!record) return fail(record.error());
    auto canonical = CanonicalizeJson(RecordToJson(*record));
    if (!canonical) return fail(Error(ErrorCode::kUnavailable, canonical.error().message()));
    if (auto ok = tree.AppendLeaf(next, merkle::LeafHash(*canonical)); !ok) return fail(ok.error());
    ++next;
  }
  stmt->reset();
  auto committed = Exec(db, "COMMIT", ErrorCode::kUnavailable);
  if (!committed) RollbackIfOpen(db);
  return committed;
}

}  // namespace

namespace internal {

// A record parsed back from its row, cross-checked against the row's own columns.
Result<Record> RowToRecord(sqlite3_stmt* stmt, int seq_col, int hash_col, int json_col,
                           ErrorCode code) {
  const std::int64_t seq = sqlite3_column_int64(stmt, seq_col);
  auto parsed = ParseJson(internal::ColumnText(stmt, json_col), 16u << 20, 64);
  if (!parsed) {
    return Error(code, "audit record seq " + std::to_string(seq) +
                           " is corrupt: " + parsed.error().message());
  }
  auto record = RecordFromJson(*parsed);
  if (!record) {
    return Error(code, "audit record seq " + std::to_string(seq) +
                           " is corrupt: " + record.error().message());
  }
  if (record->seq != seq) {
    return Error(code, "audit record seq " + std::to_string(seq) +
                           " is corrupt: its JSON says seq " + std::to_string(record->seq));
  }
  if (hash_col >= 0 && record->hash != internal::ColumnText(stmt, hash_col)) {
    return Error(code, "audit record seq " + std::to_string(seq) +
                           " is corrupt: the hash column differs from its JSON");
  }
  return record;
}

}  // namespace internal

LockFd::~LockFd() {
  if (fd >= 0) ::close(fd);  // releases the flock
}

Result<void> AuditLog::Impl::WithWriter(const std::function<Result<void>(sqlite3*)>& f) {
  std::unique_lock<std::mutex> held(mu);
  cv.wait(held, [&] { return !leader_active; });
  leader_active = true;
  held.unlock();
  Result<void> result = Ok();
  try {
    result = f(write_db.get());
  } catch (const std::exception&) {
    result = Unavailable("writing to the audit log failed");
  }
  held.lock();
  leader_active = false;
  cv.notify_all();
  return result;
}

Result<std::vector<Record>> AuditLog::Impl::CommitBatch(const std::vector<Pending*>& batch,
                                                        const Head& expect,
                                                        std::int64_t unrecorded) {
  sqlite3* db = write_db.get();
  // BEGIN IMMEDIATE takes the write lock now (waiting up to busy_timeout), so a concurrent
  // writer makes us fail here, before any work, rather than at COMMIT.
  if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error e = Unavailable(std::string("BEGIN: ") + sqlite3_errmsg(db));
    RollbackIfOpen(db);
    return e;
  }
  auto fail = [db](std::string_view what) -> Error {
    Error e = Unavailable(std::string(what) + ": " + sqlite3_errmsg(db));
    RollbackIfOpen(db);
    return e;
  };

  // The head in the file must be the one we hold in memory. A larger seq means another process
  // appended to the same file: continue its chain. Anything else (rows removed or rewritten)
  // would make us fork the chain, so refuse: nothing may be released without a sound log.
  auto db_head = ReadHeadWith(db, head_stmt.get());
  if (!db_head) {
    RollbackIfOpen(db);
    return Unavailable(db_head.error().message());
  }
  Head tip = expect;
  if (db_head->seq != expect.seq || db_head->hash != expect.hash) {
    if (db_head->seq <= expect.seq) {
      RollbackIfOpen(db);
      return Unavailable("chain head changed underneath: expected seq " +
                         std::to_string(expect.seq) + ", found seq " +
                         std::to_string(db_head->seq) + " with a different hash");
    }
    tip = *db_head;
  }

  const std::int64_t now = clock->NowUnix();
  std::vector<Record> out;
  out.reserve(batch.size());
  sqlite3_stmt* ins = insert_stmt.get();
  for (const Pending* p : batch) {
    Record r = p->record;
    r.unrecorded_failures = out.empty() ? unrecorded : 0;
    r.seq = tip.seq + 1;
    r.time = now;
    r.prev_hash = tip.hash;
    auto hash = ComputeRecordHash(r);
    if (!hash) {
      RollbackIfOpen(db);
      return Error(ErrorCode::kInternal, "audit record hash: " + hash.error().message());
    }
    r.hash = std::move(*hash);
    // Stored as its JCS form, which is also the Merkle leaf (DESIGN.md section 6).
    auto canonical = CanonicalizeJson(RecordToJson(r));
    if (!canonical) {
      RollbackIfOpen(db);
      return Error(ErrorCode::kInternal, "audit record JCS: " + canonical.error().message());
    }
    const std::string& json = *canonical;
    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins);
    if (sqlite3_bind_int64(ins, 1, r.seq) != SQLITE_OK ||
        sqlite3_bind_int64(ins, 2, r.time) != SQLITE_OK ||
        internal::BindText(ins, 3, r.tenant) != SQLITE_OK ||
        internal::BindText(ins, 4, r.decision) != SQLITE_OK ||
        internal::BindText(ins, 5, json) != SQLITE_OK ||
        internal::BindText(ins, 6, r.hash) != SQLITE_OK) {
      return fail("bind");
    }
    if (sqlite3_step(ins) != SQLITE_DONE) {
      Error e = fail("INSERT");
      sqlite3_reset(ins);
      return e;
    }
    sqlite3_reset(ins);
    if (!p->bundle.empty()) {
      sqlite3_stmt* b = bundle_stmt.get();
      sqlite3_reset(b);
      if (sqlite3_bind_int64(b, 1, r.seq) != SQLITE_OK ||
          sqlite3_bind_blob64(b, 2, p->bundle.data(), p->bundle.size(), SQLITE_STATIC) != SQLITE_OK ||
          sqlite3_step(b) != SQLITE_DONE) {
        Error e = fail("INSERT replay bundle");
        sqlite3_reset(b);
        return e;
      }
      sqlite3_reset(b);
      sqlite3_clear_bindings(b);
    }
    for (const auto& [digest, bytes] : p->collateral) {
      sqlite3_stmt* c = collateral_stmt.get();
      sqlite3_reset(c);
      if (internal::BindText(c, 1, digest) != SQLITE_OK ||
          sqlite3_bind_blob64(c, 2, bytes.data(), bytes.size(), SQLITE_STATIC) != SQLITE_OK ||
          sqlite3_bind_int64(c, 3, r.time) != SQLITE_OK || sqlite3_step(c) != SQLITE_DONE) {
        Error e = fail("INSERT replay collateral");
        sqlite3_reset(c);
        return e;
      }
      sqlite3_reset(c);
      sqlite3_clear_bindings(c);
    }
    if (auto leaf = write_tree->AppendLeaf(static_cast<std::uint64_t>(r.seq - 1),
                                           merkle::LeafHash(json));
        !leaf) {
      RollbackIfOpen(db);
      return leaf.error();
    }
    tip.seq = r.seq;
    tip.hash = r.hash;
    out.push_back(std::move(r));
  }
  // synchronous=FULL in WAL mode: COMMIT returns after the WAL is fsync'ed.
  if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("COMMIT");
  return out;
}

AuditLog::AuditLog() : impl_(std::make_unique<Impl>()) {}
AuditLog::~AuditLog() = default;

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, const Clock& clock,
                                                 AuditOptions options) {
  if (options.busy_timeout_ms < 0) {
    return Error(ErrorCode::kInvalidArgument, "audit busy_timeout_ms must be >= 0");
  }
  std::unique_ptr<AuditLog> log(new AuditLog());
  Impl& impl = *log->impl_;
  impl.clock = &clock;
  impl.options = options;

  if (options.max_batch < 1 || options.max_batch > kMaxBatchLimit) {
    return Error(ErrorCode::kInvalidArgument, "audit max_batch must be 1.." +
                                                  std::to_string(kMaxBatchLimit));
  }
  if (options.exclusive) {
    // One writer per file: a second skrd on the same data dir would fork the Merkle tree's
    // in-memory state. The lock goes when the process does (kill -9 included).
    const std::string lock_path = path + ".lock";
    impl.lock.fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (impl.lock.fd < 0) {
      return Error(ErrorCode::kUnavailable,
                   "cannot open the audit lock file " + lock_path + ": " + std::strerror(errno),
                   "audit_unavailable");
    }
    if (::flock(impl.lock.fd, LOCK_EX | LOCK_NB) != 0) {
      return Error(ErrorCode::kUnavailable,
                   "another process holds " + lock_path +
                       ": one skrd serves an SQLite audit log at a time (replicas sharing one "
                       "fleet use the PostgreSQL engine)",
                   "audit_locked");
    }
  }
  const int rw = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;
  SKR_TRY(impl.write_db, internal::OpenDb(path, rw | SQLITE_OPEN_CREATE, options.busy_timeout_ms,
                                          ErrorCode::kUnavailable));
  sqlite3* db = impl.write_db.get();
  {
    SKR_TRY(auto stmt, Prepare(db, "PRAGMA journal_mode = WAL", ErrorCode::kUnavailable));
    if (sqlite3_step(stmt.get()) != SQLITE_ROW) {
      return SqliteError(db, "PRAGMA journal_mode", ErrorCode::kUnavailable);
    }
    const std::string mode = internal::ColumnText(stmt.get(), 0);
    if (mode != "wal") {
      return Error(ErrorCode::kUnavailable,
                   "audit database '" + path + "' cannot use WAL (journal_mode " + mode + ")");
    }
  }
  SKR_TRY_VOID(Exec(db, "PRAGMA synchronous = FULL", ErrorCode::kUnavailable));
  SKR_TRY_VOID(Exec(db, kJournalSizeLimit, ErrorCode::kUnavailable));
  SKR_TRY_VOID(Migrate(db));
  SKR_TRY(impl.insert_stmt,
          Prepare(db,
                  "INSERT INTO audit_records (seq, time, tenant, decision, json, hash)"
                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                  ErrorCode::kUnavailable));
  SKR_TRY(impl.head_stmt, Prepare(db, kHeadSql, ErrorCode::kUnavailable));
  SKR_TRY(impl.bundle_stmt,
          Prepare(db, "INSERT INTO replay_bundles (seq, bundle) VALUES (?1, ?2)",
                  ErrorCode::kUnavailable));
  // The hour-granular last_time keeps a release from rewriting a hot row each time.
  SKR_TRY(impl.collateral_stmt,
          Prepare(db,
                  "INSERT INTO replay_collateral (sha256, bytes, last_time) VALUES (?1, ?2, ?3)"
                  " ON CONFLICT(sha256) DO UPDATE SET last_time = excluded.last_time"
                  " WHERE last_time < excluded.last_time - 3600",
                  ErrorCode::kUnavailable));
  SKR_TRY(impl.head, ReadHeadWith(db, impl.head_stmt.get()));
  SKR_TRY(TreeStore tree, TreeStore::Open(db));
  impl.write_tree.emplace(std::move(tree));
  SKR_TRY_VOID(BackfillTree(db, *impl.write_tree));

  SKR_TRY(impl.read_db,
          internal::OpenDb(path, rw, options.busy_timeout_ms, ErrorCode::kUnavailable));
  SKR_TRY_VOID(Exec(impl.read_db.get(), "PRAGMA query_only = ON", ErrorCode::kUnavailable));
  SKR_TRY(TreeStore read_tree, TreeStore::Open(impl.read_db.get()));
  impl.read_tree.emplace(std::move(read_tree));
  return log;
}

Result<Record> AuditLog::Append(Record record, std::string replay_bundle,
                                std::vector<std::pair<std::string, std::string>> collateral) {
  // Fields Append owns; whatever the caller put there is replaced.
  record.seq = 0;
  record.time = 0;
  record.prev_hash.clear();
  record.hash.clear();
  record.unrecorded_failures = 0;
  record.replay_sha256 =
      replay_bundle.empty() ? std::string() : HexEncode(Sha256(replay_bundle));
  {
    Json as_json = RecordToJson(record);
    if (!JsonIsUtf8(as_json)) {
      return Error(ErrorCode::kInvalidArgument, "audit record contains invalid UTF-8");
    }
  }
  // Computed before queueing so that a bad trace (e.g. a non-finite number) fails this caller
  // alone instead of the whole batch.
  SKR_TRY(record.trace_sha256, internal::TraceSha256(record.trace));

  Impl& impl = *impl_;
  Pending pending{std::move(record), std::move(replay_bundle), std::move(collateral), std::nullopt};
  std::unique_lock<std::mutex> lock(impl.mu);
  impl.queue.push_back(&pending);
  while (!pending.result.has_value()) {
    if (impl.leader_active) {
      impl.cv.wait(lock);
      continue;
    }
    // Become the leader for everything queued so far (ours included, unless the queue is longer
    // than one batch; then a later round picks ours up).
    impl.leader_active = true;
    const std::size_t n = std::min(impl.queue.size(), impl.options.max_batch);
    std::vector<Pending*> batch(impl.queue.begin(),
                                impl.queue.begin() + static_cast<std::ptrdiff_t>(n));
    impl.queue.erase(impl.queue.begin(), impl.queue.begin() + static_cast<std::ptrdiff_t>(n));
    const Head expect = impl.head;
    const std::int64_t unrecorded = impl.stats.unrecorded;
    impl.stats.writing = static_cast<std::int64_t>(batch.size());
    lock.unlock();

    // No exception may leave leader_active set (every later Append would wait forever), and
    // none may escape to callers: a throw is a failed commit.
    Result<std::vector<Record>> committed =
        Error(ErrorCode::kUnavailable, "audit log unavailable: commit failed", "audit_unavailable");
    try {
      committed = impl.CommitBatch(batch, expect, unrecorded);
    } catch (const std::exception&) {
      committed = Error(ErrorCode::kUnavailable, "audit log unavailable: commit failed",
                        "audit_unavailable");
    }
    if (!committed) {
      // Visible (the caller's hook logs it with SQLite's reason), and recoverable: a checkpoint
      // moves what the WAL holds into the database and truncates the WAL to its size limit, so
      // that freeing a little space lets the next commit through.
      try {
        if (impl.options.on_failure) impl.options.on_failure(committed.error(), batch.size());
      } catch (const std::exception&) {
      }
      (void)sqlite3_wal_checkpoint_v2(impl.write_db.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                      nullptr, nullptr);
    }

    lock.lock();
    if (committed) {
      std::vector<Record>& stored = *committed;
      impl.head.seq = stored.back().seq;
      impl.head.hash = stored.back().hash;
      for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->result.emplace(std::move(stored[i]));
      impl.stats.records += static_cast<std::int64_t>(batch.size());
      impl.stats.commits += 1;
      impl.stats.max_batch =
          std::max(impl.stats.max_batch, static_cast<std::int64_t>(batch.size()));
      impl.stats.unrecorded -= unrecorded;  // now told in the first record of this batch
    } else {
      // The chain head stays where it was: the rolled-back records never existed. Their number
      // goes into the next record that is committed.
      for (Pending* p : batch) p->result.emplace(committed.error());
      impl.stats.failed += static_cast<std::int64_t>(batch.size());
      impl.stats.failed_commits += 1;
      impl.stats.unrecorded += static_cast<std::int64_t>(batch.size());
    }
    impl.stats.writing = 0;
    impl.leader_active = false;
    impl.cv.notify_all();
  }
  return std::move(*pending.result);
}

Result<std::vector<Record>> AuditLog::Entries(const Query& q) {
  if (q.from_seq < 1) return Error(ErrorCode::kInvalidArgument, "from_seq must be >= 1");
  if (q.limit < 1) return Error(ErrorCode::kInvalidArgument, "limit must be >= 1");
  const int limit = std::min(q.limit, kMaxEntriesLimit);
  // Only the filters present go into the SQL, so SQLite can use the (tenant, seq) index.
  // key, action and actor are read from the stored record itself (json_extract): no extra
  // columns, so records of every schema version filter the same way.
  std::string sql = "SELECT seq, hash, json FROM audit_records WHERE seq >= ?1";
  if (q.tenant) sql += " AND tenant = ?2";
  if (q.decision) sql += " AND decision = ?3";
  if (q.key) sql += " AND json_extract(json, '$.key') = ?5";
  if (q.action) sql += " AND json_extract(json, '$.action') = ?6";
  if (q.actor) sql += " AND json_extract(json, '$.actor') = ?7";
  if (q.since) sql += " AND time >= ?8";
  if (q.until) sql += " AND time < ?9";
  // Newest first: the `limit` newest matches (the what-if replay of a key's recent releases).
  sql += q.newest_first ? " ORDER BY seq DESC LIMIT ?4" : " ORDER BY seq LIMIT ?4";

  std::lock_guard<std::mutex> guard(impl_->read_mu);
  sqlite3* db = impl_->read_db.get();
  SKR_TRY(auto stmt, Prepare(db, sql, ErrorCode::kUnavailable));
  sqlite3_bind_int64(stmt.get(), 1, q.from_seq);
  if (q.tenant) internal::BindText(stmt.get(), 2, *q.tenant);
  if (q.decision) internal::BindText(stmt.get(), 3, *q.decision);
  sqlite3_bind_int(stmt.get(), 4, limit);
  if (q.key) internal::BindText(stmt.get(), 5, *q.key);
  if (q.action) internal::BindText(stmt.get(), 6, *q.action);
  if (q.actor) internal::BindText(stmt.get(), 7, *q.actor);
  if (q.since) sqlite3_bind_int64(stmt.get(), 8, *q.since);
  if (q.until) sqlite3_bind_int64(stmt.get(), 9, *q.until);
  std::vector<Record> out;
  for (;;) {
    const int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Unavailable(std::string("reading entries: ") + sqlite3_errmsg(db));
    SKR_TRY(Record r, RowToRecord(stmt.get(), 0, 1, 2, ErrorCode::kInternal));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::int64_t> AuditLog::Size() {
  std::lock_guard<std::mutex> guard(impl_->read_mu);
  auto n = internal::QueryInt(impl_->read_db.get(), "SELECT COUNT(*) FROM audit_records",
                              ErrorCode::kUnavailable);
  if (!n) return Unavailable(n.error().message());
  return n;
}

AppendStats AuditLog::Stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  AppendStats s = impl_->stats;
  s.queued = static_cast<std::int64_t>(impl_->queue.size());
  return s;
}

}  // namespace skr::audit
