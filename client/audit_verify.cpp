// SPDX-License-Identifier: Apache-2.0
#include "client/audit_verify.h"

#include "client/state_file.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "common/encoding.h"
#include "common/json.h"
#include "common/merkle.h"
#include "common/signed_note.h"

namespace skr::client {
namespace {

constexpr int kPage = 1000;
constexpr std::size_t kMaxStateBytes = 64 * 1024;

Result<merkle::Hash> HashB64(const Json& v) {
  if (!v.is_string()) return Error(ErrorCode::kInvalidArgument, "hash must be a base64 string");
  SKR_TRY(const auto bytes, Base64Decode(v.get_ref<const std::string&>()));
  if (bytes.size() != 32) return Error(ErrorCode::kInvalidArgument, "hash must be 32 bytes");
  merkle::Hash h{};
  std::copy(bytes.begin(), bytes.end(), h.begin());
  return h;
}

Result<std::vector<merkle::Hash>> HashList(const Json& arr) {
  if (!arr.is_array()) return Error(ErrorCode::kInvalidArgument, "'hashes' must be an array");
  std::vector<merkle::Hash> out;
  for (const auto& v : arr) {
    SKR_TRY(merkle::Hash h, HashB64(v));
    out.push_back(h);
  }
  return out;
}

struct State {
  std::int64_t tree_size = 0;
  merkle::Hash root = merkle::EmptyRoot();
  merkle::Frontier frontier;
};

Result<std::optional<State>> LoadState(const std::string& path, const std::string& verifier_key) {
  SKR_TRY(const std::optional<Json> file, ReadStateFile(path, kMaxStateBytes));
  if (!file) return std::optional<State>();
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidArgument, "state file " + path + ": " + why);
  };
  const Json* j = &*file;
  if (j->value("verifier_key", "") != verifier_key) {
    return bad("saved for another verifier key (another log); use another --state file");
  }
  State s;
  if (!j->contains("tree_size") || !(*j)["tree_size"].is_number_integer()) return bad("no tree_size");
  s.tree_size = (*j)["tree_size"].get<std::int64_t>();
  if (s.tree_size < 0) return bad("negative tree_size");
  auto root = HashB64(j->value("root_hash", Json()));
  if (!root) return bad("bad root_hash");
  s.root = *root;
  std::vector<std::pair<int, merkle::Hash>> edges;
  const Json fr = j->value("frontier", Json::array());
  if (!fr.is_array()) return bad("bad frontier");
  for (const auto& e : fr) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_number_integer()) return bad("bad frontier");
    auto h = HashB64(e[1]);
    if (!h) return bad("bad frontier hash");
    edges.emplace_back(e[0].get<int>(), *h);
  }
  auto f = merkle::Frontier::FromEdges(static_cast<std::uint64_t>(s.tree_size), std::move(edges));
  if (!f) return bad(f.error().message());
  if (f->Root() != s.root) return bad("frontier does not give the saved root");
  s.frontier = std::move(f).value();
  return std::optional<State>(std::move(s));
}

Result<void> SaveState(const std::string& path, const std::string& verifier_key,
                       const Checkpoint& cp, const merkle::Frontier& f) {
  Json edges = Json::array();
  for (const auto& [level, h] : f.edges()) edges.push_back(Json::array({level, Base64Encode(h)}));
  return WriteStateFile(path, {{"verifier_key", verifier_key},
                               {"origin", cp.origin},
                               {"tree_size", cp.tree_size},
                               {"root_hash", Base64Encode(cp.root)},
                               {"frontier", edges}});
}

// Is the prefix of `k` leaves (root `prefix_root`) part of the signed tree?
Result<bool> PrefixConsistent(ApiClient& api, std::int64_t k, const merkle::Hash& prefix_root,
                              const Checkpoint& cp) {
  if (k == 0) return true;
  if (k == cp.tree_size) return prefix_root == cp.root;
  SKR_TRY(const Json r, api.Get("/v1/audit/proof/consistency?from=" + std::to_string(k) +
                                "&to=" + std::to_string(cp.tree_size)));
  SKR_TRY(const auto proof, HashList(r.value("hashes", Json())));
  return merkle::VerifyConsistency(static_cast<std::uint64_t>(k),
                                   static_cast<std::uint64_t>(cp.tree_size), prefix_root, cp.root,
                                   proof);
}

// Is the checkpoint a run verified before (size, root) a prefix of `cp`? When not, `rep` says why
// (a log that shrank names the first missing seq). Sets rep.previous_size.
Result<bool> ExtendsSaved(ApiClient& api, std::int64_t size, const merkle::Hash& root,
                          const Checkpoint& cp, AuditVerifyReport& rep) {
  rep.previous_size = size;
  if (size > cp.tree_size) {
    rep.detail = "the log shrank: a checkpoint of " + std::to_string(size) +
                 " records was verified before, the server now signs " +
                 std::to_string(cp.tree_size) + " (truncated or rolled back)";
    rep.first_bad_seq = cp.tree_size + 1;
    return false;
  }
  SKR_TRY(const bool consistent, PrefixConsistent(api, size, root, cp));
  if (!consistent) {
    rep.detail = "the checkpoint of " + std::to_string(size) +
                 " records verified before is not a prefix of the new one (log rewritten or "
                 "forked)";
  }
  return consistent;
}

// What a tenant-scoped run keeps: the checkpoint it verified and where its tenant's entries
// continue (it never sees the other tenants' leaves, so it has no frontier).
struct TenantState {
  std::int64_t tree_size = 0;
  merkle::Hash root = merkle::EmptyRoot();
  std::int64_t next_from_seq = 1;
};

Result<std::optional<TenantState>> LoadTenantState(const std::string& path,
                                                   const AuditVerifyOptions& o) {
  SKR_TRY(const std::optional<Json> file, ReadStateFile(path, kMaxStateBytes));
  if (!file) return std::optional<TenantState>();
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidArgument, "state file " + path + ": " + why);
  };
  const Json* j = &*file;
  if (j->value("verifier_key", "") != o.verifier_key || j->value("tenant", "") != o.tenant) {
    return bad("saved for another log or tenant; use another --state file");
  }
  TenantState s;
  const Json size = j->value("tree_size", Json());
  const Json next = j->value("next_from_seq", Json());
  if (!size.is_number_integer() || size.get<std::int64_t>() < 0 || !next.is_number_integer() ||
      next.get<std::int64_t>() < 1) {
    return bad("no tree_size / next_from_seq");
  }
  s.tree_size = size.get<std::int64_t>();
  s.next_from_seq = next.get<std::int64_t>();
  auto root = HashB64(j->value("root_hash", Json()));
  if (!root) return bad("bad root_hash");
  s.root = *root;
  return std::optional<TenantState>(s);
}

Result<void> SaveTenantState(const std::string& path, const AuditVerifyOptions& o,
                             const Checkpoint& cp, std::int64_t next_from_seq) {
  return WriteStateFile(path, {{"verifier_key", o.verifier_key}, {"tenant", o.tenant},
                               {"origin", cp.origin},            {"tree_size", cp.tree_size},
                               {"root_hash", Base64Encode(cp.root)}, {"next_from_seq", next_from_seq}});
}

// The tenant-scoped verify: the tenant's entries up to the signed size, each proven included.
Result<AuditVerifyReport> VerifyTenantEntries(ApiClient& api, const AuditVerifyOptions& options,
                                              const Checkpoint& cp, AuditVerifyReport rep) {
  SKR_TRY(std::optional<TenantState> saved, LoadTenantState(options.state_file, options));
  std::int64_t next = 1;
  if (saved) {
    SKR_TRY(const bool extends, ExtendsSaved(api, saved->tree_size, saved->root, cp, rep));
    if (!extends) return rep;
    next = saved->next_from_seq;
  }
  const std::string tenant_q = "&tenant=" + options.tenant;
  while (next <= cp.tree_size) {
    SKR_TRY(const Json page, api.Get("/v1/audit/entries?from_seq=" + std::to_string(next) +
                                     "&limit=" + std::to_string(kPage) + tenant_q));
    const Json entries = page.value("entries", Json::array());
    if (!entries.is_array() || entries.empty()) break;
    bool beyond = false;
    for (Json e : entries) {
      const std::int64_t seq = e.is_object() ? e.value("seq", std::int64_t{0}) : 0;
      if (seq < next || !e.contains("leaf") || !e["leaf"].is_string() ||
          e.value("tenant", std::string()) != options.tenant) {
        rep.detail = "an entry after seq " + std::to_string(next - 1) + " is malformed or not the tenant's";
        rep.first_bad_seq = seq > 0 ? std::optional<std::int64_t>(seq) : std::nullopt;
        return rep;
      }
      if (seq > cp.tree_size) {
        beyond = true;  // not signed yet: the next run checks it
        break;
      }
      auto leaf = Base64Decode(e["leaf"].get<std::string>());
      e.erase("leaf");
      auto as_json = leaf ? ParseJson(std::string(leaf->begin(), leaf->end())) : Result<Json>(leaf.error());
      if (!as_json || *as_json != e) {
        rep.detail = "entry " + std::to_string(seq) + " is not the record its leaf bytes hash";
        rep.first_bad_seq = seq;
        return rep;
      }
      SKR_TRY(const Json proof, api.Get("/v1/audit/proof/inclusion?seq=" + std::to_string(seq) +
                                        "&tree_size=" + std::to_string(cp.tree_size)));
      SKR_TRY(const auto path, HashList(proof.value("hashes", Json())));
      if (!merkle::VerifyInclusion(static_cast<std::uint64_t>(seq - 1),
                                   static_cast<std::uint64_t>(cp.tree_size), merkle::LeafHash(*leaf),
                                   path, cp.root)) {
        rep.detail = "entry " + std::to_string(seq) + " is not in the signed log (its inclusion "
                     "proof does not lead to the signed root)";
        rep.first_bad_seq = seq;
        return rep;
      }
      ++rep.entries_read;
      next = seq + 1;
    }
    if (beyond || page.value("next_from_seq", Json()).is_null()) break;
  }
  next = std::max(next, std::int64_t{1});
  SKR_TRY_VOID(SaveTenantState(options.state_file, options, cp, next));
  rep.ok = true;
  return rep;
}

}  // namespace

Result<AuditVerifyReport> VerifyAuditLog(ApiClient& api, const AuditVerifyOptions& options) {
  AuditVerifyReport rep;
  SKR_TRY(const Json cpj, api.Get("/v1/audit/checkpoint"));
  if (!cpj.contains("checkpoint") || !cpj["checkpoint"].is_string()) {
    return Error(ErrorCode::kInvalidArgument, "the server sent no checkpoint");
  }
  auto verified = VerifyCheckpoint(cpj["checkpoint"].get<std::string>(), options.verifier_key);
  if (!verified) {
    if (verified.error().code() == ErrorCode::kInvalidArgument) return verified.error();
    rep.detail = "the checkpoint does not verify with the pinned key: " + verified.error().message();
    return rep;
  }
  const Checkpoint cp = std::move(verified).value();
  rep.origin = cp.origin;
  rep.tree_size = cp.tree_size;
  rep.root_hash = Base64Encode(cp.root);
  if (!options.tenant.empty()) {
    SKR_TRY(rep, VerifyTenantEntries(api, options, cp, std::move(rep)));
    if (rep.ok) {
      if (const auto damaged = cpj.find("integrity_error");
          damaged != cpj.end() && damaged->is_string()) {
        rep.ok = false;
        rep.detail = "the tenant's signed entries verify, but skrd reports its log damaged: " +
                     damaged->get<std::string>();
      }
    }
    return rep;
  }

  // The checkpoint saved by the previous run must be a prefix of this one.
  SKR_TRY(std::optional<State> saved, LoadState(options.state_file, options.verifier_key));
  State start;
  if (saved) {
    SKR_TRY(const bool extends, ExtendsSaved(api, saved->tree_size, saved->root, cp, rep));
    if (!extends) return rep;
    start = std::move(*saved);
  }

  // Every new entry: the leaf bytes are the entry as shown, then hashed into the tree.
  merkle::Frontier f = start.frontier;
  std::vector<merkle::Hash> leaves;  // this run's, for locating a bad one
  std::int64_t next = start.tree_size + 1;
  while (next <= cp.tree_size) {
    SKR_TRY(const Json page, api.Get("/v1/audit/entries?from_seq=" + std::to_string(next) +
                                     "&limit=" + std::to_string(kPage)));
    const Json entries = page.value("entries", Json::array());
    if (!entries.is_array() || entries.empty()) {
      rep.detail = "the server returned no entry from seq " + std::to_string(next) +
                   " although its checkpoint covers " + std::to_string(cp.tree_size);
      rep.first_bad_seq = next;
      return rep;
    }
    for (Json e : entries) {
      if (next > cp.tree_size) break;
      if (!e.is_object() || e.value("seq", std::int64_t{0}) != next || !e.contains("leaf") ||
          !e["leaf"].is_string()) {
        rep.detail = "entry " + std::to_string(next) + " is missing or out of order";
        rep.first_bad_seq = next;
        return rep;
      }
      auto leaf = Base64Decode(e["leaf"].get<std::string>());
      e.erase("leaf");
      auto as_json = leaf ? ParseJson(std::string(leaf->begin(), leaf->end())) : Result<Json>(leaf.error());
      if (!as_json || *as_json != e) {
        rep.detail = "entry " + std::to_string(next) + " is not the record its leaf bytes hash";
        rep.first_bad_seq = next;
        return rep;
      }
      leaves.push_back(merkle::LeafHash(*leaf));
      f.Push(leaves.back());
      ++rep.entries_read;
      ++next;
    }
  }
  if (f.Root() != cp.root) {
    // The largest prefix consistent with the signed root; the entry after it is the first bad.
    std::int64_t lo = start.tree_size;  // known good
    std::int64_t hi = cp.tree_size;     // known bad
    while (hi - lo > 1) {
      const std::int64_t mid = lo + (hi - lo) / 2;
      merkle::Frontier g = start.frontier;
      for (std::int64_t i = start.tree_size; i < mid; ++i) {
        g.Push(leaves[static_cast<std::size_t>(i - start.tree_size)]);
      }
      SKR_TRY(const bool good, PrefixConsistent(api, mid, g.Root(), cp));
      (good ? lo : hi) = mid;
    }
    rep.first_bad_seq = hi;
    rep.detail = "the entries do not give the signed root; the first entry that differs from the "
                 "signed log is seq " + std::to_string(hi);
    // Damage an operator acknowledged (skrd audit-seal) stays provable; say that it was sealed.
    for (const auto& seal : cpj.value("seals", Json::array())) {
      for (const auto& seq : seal.value("acknowledged", Json::array())) {
        if (seq.is_number_integer() && seq.get<std::int64_t>() == hi) {
          rep.detail += " (acknowledged damage, sealed by record " +
                        std::to_string(seal.value("seal_seq", std::int64_t{0})) + ")";
        }
      }
    }
    return rep;
  }
  if (const auto damaged = cpj.find("integrity_error");
      damaged != cpj.end() && damaged->is_string()) {
    // The signed part is sound, but skrd found its log damaged beyond it and refuses releases.
    // The state is not advanced, so the next run checks the same span again.
    rep.detail = "the signed log verifies up to " + std::to_string(cp.tree_size) +
                 " records, but skrd reports its log damaged: " + damaged->get<std::string>();
    return rep;
  }
  SKR_TRY_VOID(SaveState(options.state_file, options.verifier_key, cp, f));
  rep.ok = true;
  return rep;
}

}  // namespace skr::client
