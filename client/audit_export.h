// SPDX-License-Identifier: Apache-2.0
// `skrctl audit export` and `skrctl audit tail` (issue 11): read the audit log through
// GET /v1/audit/entries (DESIGN.md section 6) page by page. export writes every entry as one
// JSON line (with its leaf bytes) and can resume where the last run stopped; tail shows the last
// entries and, with follow, polls for new ones.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "client/api_client.h"
#include "common/json.h"
#include "common/result.h"

namespace skr::client {

// Filters passed through to the entries endpoint (empty = not set).
using AuditFilters = std::vector<std::pair<std::string, std::string>>;

struct AuditExportOptions {
  std::int64_t from_seq = 1;  // first seq to export (ignored when the state file names one)
  std::string state_file;     // {"next_from_seq": N}, rewritten after every page written
  AuditFilters filters;       // tenant, key, decision, action, actor, since, until
};

struct AuditExportReport {
  std::int64_t exported = 0;      // lines written by this run
  std::int64_t next_from_seq = 1;  // where the next run starts
};

// Writes entries with seq >= the start as JSON lines to `out` (flushed before the state file
// moves on, so an interrupted export repeats at most one page and never skips). Errors: the
// API's, kUnavailable when the state file cannot be written, kInvalidArgument for a bad state.
Result<AuditExportReport> ExportAuditLog(ApiClient& api, const AuditExportOptions& options,
                                         std::ostream& out);

struct AuditTailOptions {
  std::int64_t last = 10;  // entries shown first (the newest ones)
  bool follow = false;     // then poll for new entries until `stop` says so
  std::chrono::milliseconds interval{2000};
  AuditFilters filters;
  // Asked between polls; returning true ends the tail (tests, signals). Null: never.
  std::function<bool()> stop;
};

// Calls `emit` with each page of entries (oldest first). The newest `last` entries are found
// from the signed tree size (GET /v1/audit/checkpoint), then the log is followed from there.
Result<void> TailAuditLog(ApiClient& api, const AuditTailOptions& options,
                          const std::function<void(const Json& entries)>& emit);

}  // namespace skr::client
