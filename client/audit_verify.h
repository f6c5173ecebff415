// SPDX-License-Identifier: Apache-2.0
// `skrctl audit verify` (issue 11): checks skrd's audit log from the auditor API alone, against a
// pinned verifier key. It fetches the latest signed checkpoint and verifies its signature,
// recomputes the Merkle tree (RFC 9162) from every entry's leaf bytes (after checking that those
// bytes are the entry as shown), compares the root, and checks that the checkpoint saved by the
// previous run is a prefix of this one (consistency proof), so a log cut, rewritten or forked
// between runs is caught. The state file keeps that checkpoint and the tree's right edge, so the
// next run reads only the new entries. On a mismatch it finds the first bad entry with
// consistency proofs against the signed root (log2 n requests).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "client/api_client.h"
#include "common/result.h"

namespace skr::client {

struct AuditVerifyOptions {
  std::string verifier_key;  // "<name>+<hex key id>+<base64 key>", as `skrd init` printed it
  std::string state_file;    // "" = do not save or resume
  // A tenant-scoped auditor sees only its tenant's entries, so it cannot recompute the tree:
  // with `tenant` set, each of the tenant's entries is proven by its inclusion proof against
  // the signed root instead (one request per entry), and the saved checkpoint by a consistency
  // proof as usual.
  std::string tenant;
};

struct AuditVerifyReport {
  bool ok = false;
  std::string origin;
  std::int64_t tree_size = 0;
  std::string root_hash;              // base64
  std::int64_t previous_size = 0;     // the saved checkpoint's size (0: none)
  std::int64_t entries_read = 0;      // entries fetched and hashed this run
  std::optional<std::int64_t> first_bad_seq;
  std::string detail;                 // why it failed
};

// Errors: API and transport errors; kInvalidArgument for a bad verifier key or state file. A log
// that does not verify is a report with ok = false (not an error).
Result<AuditVerifyReport> VerifyAuditLog(ApiClient& api, const AuditVerifyOptions& options);

}  // namespace skr::client
