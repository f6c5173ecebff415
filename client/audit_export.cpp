// SPDX-License-Identifier: Apache-2.0
#include "client/audit_export.h"

#include "client/state_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

namespace skr::client {
namespace {

constexpr int kPage = 1000;
constexpr int kMaxPages = 1000000;  // 10^9 records: a bound, not a limit anyone meets

Result<std::optional<std::int64_t>> LoadNext(const std::string& path) {
  SKR_TRY(const std::optional<Json> j, ReadStateFile(path, 4096));
  if (!j) return std::optional<std::int64_t>();
  const Json next = j->value("next_from_seq", Json());
  if (!next.is_number_integer() || next.get<std::int64_t>() < 1) {
    return Error(ErrorCode::kInvalidArgument,
                 "state file " + path + " is not an export state ({\"next_from_seq\": N})");
  }
  return std::optional<std::int64_t>(next.get<std::int64_t>());
}

Result<void> SaveNext(const std::string& path, std::int64_t next) {
  return WriteStateFile(path, {{"next_from_seq", next}});
}

// One page of entries with seq >= from; the page body's "entries" and "next_from_seq".
Result<Json> Page(ApiClient& api, std::int64_t from, int limit, const AuditFilters& filters) {
  AuditFilters params = filters;
  params.emplace_back("from_seq", std::to_string(from));
  params.emplace_back("limit", std::to_string(limit));
  SKR_TRY(Json body, api.Get("/v1/audit/entries" + Query(params)));
  if (!body.is_object() || !body.contains("entries") || !body["entries"].is_array()) {
    return Error(ErrorCode::kInternal, "the server's entries answer has no 'entries' array",
                 "bad_response");
  }
  return body;
}

// The seq after the page's last entry (entries are in seq order).
Result<std::int64_t> NextAfter(const Json& entries, std::int64_t from) {
  std::int64_t next = from;
  for (const auto& e : entries) {
    if (!e.is_object() || !e.contains("seq") || !e["seq"].is_number_integer() ||
        e["seq"].get<std::int64_t>() < next) {
      return Error(ErrorCode::kInternal, "the server's entries are not in seq order", "bad_response");
    }
    next = e["seq"].get<std::int64_t>() + 1;
  }
  return next;
}

}  // namespace

Result<AuditExportReport> ExportAuditLog(ApiClient& api, const AuditExportOptions& options,
                                         std::ostream& out) {
  if (options.from_seq < 1) return Error(ErrorCode::kInvalidArgument, "--from-seq must be >= 1");
  SKR_TRY(const auto saved, LoadNext(options.state_file));
  AuditExportReport rep;
  rep.next_from_seq = saved ? *saved : options.from_seq;
  for (int pages = 0; pages < kMaxPages; ++pages) {
    SKR_TRY(const Json body, Page(api, rep.next_from_seq, kPage, options.filters));
    const Json& entries = body["entries"];
    if (entries.empty()) break;
    SKR_TRY(const std::int64_t next, NextAfter(entries, rep.next_from_seq));
    for (const auto& e : entries) out << DumpJson(e) << '\n';
    out.flush();
    if (!out) return Error(ErrorCode::kUnavailable, "cannot write the export");
    rep.exported += static_cast<std::int64_t>(entries.size());
    rep.next_from_seq = next;
    SKR_TRY_VOID(SaveNext(options.state_file, rep.next_from_seq));
    if (body.value("next_from_seq", Json()).is_null()) break;  // the last page
  }
  // Saved even when nothing was new, so the state file exists after the first run.
  SKR_TRY_VOID(SaveNext(options.state_file, rep.next_from_seq));
  return rep;
}

Result<void> TailAuditLog(ApiClient& api, const AuditTailOptions& options,
                          const std::function<void(const Json& entries)>& emit) {
  if (options.last < 0 || options.last > kPage) {
    return Error(ErrorCode::kInvalidArgument, "-n must be 0.." + std::to_string(kPage));
  }
  // Where the newest `last` records start: the tree size of a fresh checkpoint (signed on
  // demand) is the number of records. With filters, the newest matching ones are found by
  // stepping back a page at a time.
  SKR_TRY(const Json cp, api.Get("/v1/audit/checkpoint"));
  const std::int64_t size = cp.value("tree_size", std::int64_t{0});
  std::int64_t next = size + 1;
  if (options.last > 0) {
    Json shown = Json::array();
    std::int64_t window_end = size + 1;  // exclusive
    while (static_cast<std::int64_t>(shown.size()) < options.last && window_end > 1) {
      const std::int64_t from = std::max<std::int64_t>(1, window_end - kPage);
      SKR_TRY(const Json body, Page(api, from, kPage, options.filters));
      Json chunk = Json::array();
      for (const auto& e : body["entries"]) {
        if (e.value("seq", std::int64_t{0}) < window_end) chunk.push_back(e);
      }
      // Prepend the newest of this window that are still needed.
      const std::size_t want = static_cast<std::size_t>(options.last) - shown.size();
      const std::size_t take = std::min(want, chunk.size());
      Json merged = Json::array();
      for (std::size_t i = chunk.size() - take; i < chunk.size(); ++i) merged.push_back(chunk[i]);
      for (auto& e : shown) merged.push_back(std::move(e));
      shown = std::move(merged);
      window_end = from;
    }
    if (!shown.empty()) emit(shown);
  }
  if (!options.follow) return Ok();
  while (!(options.stop && options.stop())) {
    SKR_TRY(const Json body, Page(api, next, kPage, options.filters));
    const Json& entries = body["entries"];
    if (!entries.empty()) {
      SKR_TRY(next, NextAfter(entries, next));
      emit(entries);
      if (!body.value("next_from_seq", Json()).is_null()) continue;  // more right away
    }
    std::this_thread::sleep_for(options.interval);
  }
  return Ok();
}

}  // namespace skr::client
