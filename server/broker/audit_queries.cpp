// SPDX-License-Identifier: Apache-2.0
// The audit query service: audit records for auditors and operators (DESIGN.md section 6);
// replays of release decisions are in release_replay.cpp.
#include "server/broker/audit_queries.h"

#include <algorithm>

#include "common/encoding.h"

namespace skr::server {

Result<Json> AuditQueryService::AuditEntries(const Actor& a, const audit::Query& query) {
  audit::Query q = query;
  SKR_TRY_VOID(Authorize(a, Permission::kReadAudit, OptView(q.tenant)));
  if (auto scope = AuditScope(a)) q.tenant = std::move(scope);
  q.limit = std::clamp(q.limit, 1, 1000);
  SKR_TRY(std::vector<audit::Record> recs, audit_.Entries(q));
  Json arr = Json::array();
  for (const auto& r : recs) {
    Json j = audit::RecordToJson(r);
    // The Merkle leaf bytes (DESIGN.md section 6): what the auditor hashes to check proofs.
    SKR_TRY(const std::string leaf, audit::LeafBytes(r));
    j["leaf"] = Base64Encode(AsBytes(leaf));
    arr.push_back(std::move(j));
  }
  Json next = nullptr;
  if (static_cast<int>(recs.size()) == q.limit && !recs.empty()) next = recs.back().seq + 1;
  return Json{{"entries", arr}, {"next_from_seq", next}};
}

}  // namespace skr::server
