// SPDX-License-Identifier: Apache-2.0
// Seals (audit schema migration 5): damage an operator acknowledged with `skrd audit-seal`. A
// seal names its audit.seal record, the records it acknowledges, and a checkpoint signed over the
// tree that ends with the seal record; whoever checks it (server/broker/audit_service.cpp) needs
// the log's key to accept it, so a row written by someone without the key acknowledges nothing.
#include <sqlite3.h>

#include <string>
#include <vector>

#include "audit/audit.h"
#include "audit/log_impl.h"

namespace skr::audit {

Result<void> AuditLog::StoreSeal(const Seal& seal) {
  Json acked = Json::array();
  for (const std::int64_t seq : seal.acknowledged) acked.push_back(seq);
  const std::string acked_text = DumpJson(acked);
  return impl_->WithWriter([&](sqlite3* db) -> Result<void> {
    SKR_TRY(auto stmt, internal::Prepare(db,
                                         "INSERT INTO seals (seal_seq, acknowledged, note, created_at)"
                                         " VALUES (?1, ?2, ?3, ?4)",
                                         ErrorCode::kUnavailable));
    sqlite3_bind_int64(stmt.get(), 1, seal.seal_seq);
    internal::BindText(stmt.get(), 2, acked_text);
    internal::BindText(stmt.get(), 3, seal.note);
    sqlite3_bind_int64(stmt.get(), 4, seal.created_at);
    if (sqlite3_step(stmt.get()) != SQLITE_DONE) {
      return internal::SqliteError(db, "storing a seal", ErrorCode::kUnavailable);
    }
    return Ok();
  });
}

Result<std::vector<AuditLog::Seal>> AuditLog::Seals() {
  std::lock_guard<std::mutex> guard(impl_->read_mu);
  sqlite3* db = impl_->read_db.get();
  SKR_TRY(auto stmt, internal::Prepare(db,
                                       "SELECT seal_seq, acknowledged, note, created_at FROM seals"
                                       " ORDER BY seal_seq",
                                       ErrorCode::kUnavailable));
  std::vector<Seal> out;
  for (;;) {
    const int rc = sqlite3_step(stmt.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return internal::SqliteError(db, "reading seals", ErrorCode::kUnavailable);
    Seal s;
    s.seal_seq = sqlite3_column_int64(stmt.get(), 0);
    auto acked = ParseJson(internal::ColumnText(stmt.get(), 1), 1u << 20, 4);
    if (!acked || !acked->is_array()) {
      return Error(ErrorCode::kUnavailable,
                   "the seal at seq " + std::to_string(s.seal_seq) + " does not parse",
                   "audit_integrity");
    }
    for (const auto& v : *acked) {
      if (!v.is_number_integer()) {
        return Error(ErrorCode::kUnavailable,
                     "the seal at seq " + std::to_string(s.seal_seq) + " does not parse",
                     "audit_integrity");
      }
      s.acknowledged.push_back(v.get<std::int64_t>());
    }
    s.note = internal::ColumnText(stmt.get(), 2);
    s.created_at = sqlite3_column_int64(stmt.get(), 3);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace skr::audit
