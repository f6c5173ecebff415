// SPDX-License-Identifier: Apache-2.0
// Audit record <-> JSON, record hashing and chain verification (pure; no I/O).
//
// Hash of a record (audit.h): SHA-256( prev_hash as 32 raw bytes || JCS(record JSON without the
// "hash" member) ), hex. JCS is RFC 8785, so a verifier in any language reproduces the exact
// bytes from the JSON an auditor fetched through the API.
#include <array>
#include <limits>
#include <string_view>

#include "audit/audit.h"
#include "audit/internal.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "common/ossl.h"

namespace skr::audit {
namespace {

// Every member of the JSON form, in the order RecordToJson writes them (JCS sorts anyway).
constexpr std::array<std::string_view, 25> kMembers = {"seq",
                                                       "time",
                                                       "kind",
                                                       "action",
                                                       "actor",
                                                       "tenant",
                                                       "key",
                                                       "version",
                                                       "evidence_type",
                                                       "evidence_sha256",
                                                       "tee_pubkey_thumbprint",
                                                       "policy_name",
                                                       "policy_version",
                                                       "decision",
                                                       "reason",
                                                       "request_id",
                                                       "trace",
                                                       "trace_sha256",
                                                       "prev_hash",
                                                       "hash",
                                                       "client_address",
                                                       "intent_seq",
                                                       "policy_sha256",
                                                       "replay_sha256",
                                                       "unrecorded_failures"};

Error BadRecord(std::string_view what) {
  return Error(ErrorCode::kInvalidArgument, "audit record: " + std::string(what),
               "malformed_audit_record");
}

Result<std::string> StringMember(const Json& j, std::string_view name) {
  const auto it = j.find(std::string(name));
  if (it == j.end() || !it->is_string()) {
    return BadRecord("member '" + std::string(name) + "' must be a string");
  }
  return it->get<std::string>();
}

Result<std::int64_t> Int64Member(const Json& j, std::string_view name) {
  const auto it = j.find(std::string(name));
  if (it == j.end() || !it->is_number_integer()) {
    return BadRecord("member '" + std::string(name) + "' must be an integer");
  }
  if (it->is_number_unsigned() &&
      it->get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return BadRecord("member '" + std::string(name) + "' is out of range");
  }
  return it->get<std::int64_t>();
}

// An int member that may be null (version, policy_version).
Result<std::optional<int>> OptionalIntMember(const Json& j, std::string_view name) {
  const auto it = j.find(std::string(name));
  if (it == j.end()) return BadRecord("member '" + std::string(name) + "' is missing");
  if (it->is_null()) return std::optional<int>();
  SKR_TRY(const std::int64_t v, Int64Member(j, name));
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    return BadRecord("member '" + std::string(name) + "' is out of range");
  }
  return std::optional<int>(static_cast<int>(v));
}

Error ChainError(std::int64_t seq, std::string_view what) {
  return Error(ErrorCode::kVerificationFailed,
               "audit chain broken at seq " + std::to_string(seq) + ": " + std::string(what),
               "audit_chain_broken");
}

}  // namespace

namespace internal {

Result<std::string> TraceSha256(const Json& trace) {
  if (trace.is_null()) return std::string();
  SKR_TRY(const std::string canonical, CanonicalizeJson(trace));
  return HexEncode(Sha256(canonical));
}

}  // namespace internal

Json RecordToJson(const Record& r) {
  Json j = Json::object();
  j["seq"] = r.seq;
  j["time"] = r.time;
  j["kind"] = r.kind;
  j["action"] = r.action;
  j["actor"] = r.actor;
  j["tenant"] = r.tenant;
  j["key"] = r.key;
  j["version"] = r.version ? Json(*r.version) : Json(nullptr);
  j["evidence_type"] = r.evidence_type;
  j["evidence_sha256"] = r.evidence_sha256;
  j["tee_pubkey_thumbprint"] = r.tee_pubkey_thumbprint;
  j["policy_name"] = r.policy_name;
  j["policy_version"] = r.policy_version ? Json(*r.policy_version) : Json(nullptr);
  j["decision"] = r.decision;
  j["reason"] = r.reason;
  j["request_id"] = r.request_id;
  j["trace"] = r.trace;
  j["trace_sha256"] = r.trace_sha256;
  j["prev_hash"] = r.prev_hash;
  j["hash"] = r.hash;
  // Optional members: present only when set (older records' leaf bytes stay as they were).
  if (!r.client_address.empty()) j["client_address"] = r.client_address;
  if (r.intent_seq) j["intent_seq"] = *r.intent_seq;
  if (!r.policy_sha256.empty()) j["policy_sha256"] = r.policy_sha256;
  if (!r.replay_sha256.empty()) j["replay_sha256"] = r.replay_sha256;
  if (r.unrecorded_failures != 0) j["unrecorded_failures"] = r.unrecorded_failures;
  return j;
}

Result<Record> RecordFromJson(const Json& j) {
  if (!j.is_object()) return BadRecord("expected a JSON object");
  // Strict: an unknown member would silently drop out of the hash input on re-serialization,
  // so it is reported here rather than as a confusing hash mismatch later.
  for (const auto& item : j.items()) {
    bool known = false;
    for (const auto m : kMembers) known = known || item.key() == m;
    if (!known) return BadRecord("unknown member '" + item.key() + "'");
  }
  Record r;
  SKR_TRY(r.seq, Int64Member(j, "seq"));
  SKR_TRY(r.time, Int64Member(j, "time"));
  SKR_TRY(r.kind, StringMember(j, "kind"));
  SKR_TRY(r.action, StringMember(j, "action"));
  SKR_TRY(r.actor, StringMember(j, "actor"));
  SKR_TRY(r.tenant, StringMember(j, "tenant"));
  SKR_TRY(r.key, StringMember(j, "key"));
  SKR_TRY(r.version, OptionalIntMember(j, "version"));
  SKR_TRY(r.evidence_type, StringMember(j, "evidence_type"));
  SKR_TRY(r.evidence_sha256, StringMember(j, "evidence_sha256"));
  SKR_TRY(r.tee_pubkey_thumbprint, StringMember(j, "tee_pubkey_thumbprint"));
  SKR_TRY(r.policy_name, StringMember(j, "policy_name"));
  SKR_TRY(r.policy_version, OptionalIntMember(j, "policy_version"));
  SKR_TRY(r.decision, StringMember(j, "decision"));
  SKR_TRY(r.reason, StringMember(j, "reason"));
  SKR_TRY(r.request_id, StringMember(j, "request_id"));
  const auto trace = j.find("trace");
  if (trace == j.end()) return BadRecord("member 'trace' is missing");
  r.trace = *trace;
  SKR_TRY(r.trace_sha256, StringMember(j, "trace_sha256"));
  SKR_TRY(r.prev_hash, StringMember(j, "prev_hash"));
  SKR_TRY(r.hash, StringMember(j, "hash"));
  // Optional members: absent means unset; present they must be set (a member written with its
  // empty value would not survive RecordToJson, and the record would no longer hash the same).
  if (j.contains("client_address")) {
    SKR_TRY(r.client_address, StringMember(j, "client_address"));
    if (r.client_address.empty()) return BadRecord("member 'client_address' must not be empty");
  }
  if (j.contains("intent_seq")) {
    SKR_TRY(const std::int64_t v, Int64Member(j, "intent_seq"));
    if (v < 1) return BadRecord("member 'intent_seq' must be >= 1");
    r.intent_seq = v;
  }
  if (j.contains("policy_sha256")) {
    SKR_TRY(r.policy_sha256, StringMember(j, "policy_sha256"));
    if (r.policy_sha256.empty()) return BadRecord("member 'policy_sha256' must not be empty");
  }
  if (j.contains("replay_sha256")) {
    SKR_TRY(r.replay_sha256, StringMember(j, "replay_sha256"));
    if (r.replay_sha256.empty()) return BadRecord("member 'replay_sha256' must not be empty");
  }
  if (j.contains("unrecorded_failures")) {
    SKR_TRY(r.unrecorded_failures, Int64Member(j, "unrecorded_failures"));
    if (r.unrecorded_failures < 1) return BadRecord("member 'unrecorded_failures' must be >= 1");
  }
  return r;
}

Result<std::string> ComputeRecordHash(const Record& r) {
  if (r.prev_hash.size() != 64) return BadRecord("prev_hash must be 64 hex digits");
  SKR_TRY(const std::vector<std::uint8_t> prev, HexDecode(r.prev_hash));
  Json j = RecordToJson(r);
  j.erase("hash");
  SKR_TRY(const std::string canonical, CanonicalizeJson(j));
  std::string input(prev.begin(), prev.end());
  input += canonical;
  return HexEncode(Sha256(input));
}

Result<std::string> LeafBytes(const Record& r) { return CanonicalizeJson(RecordToJson(r)); }

Result<void> VerifyChain(const std::vector<Record>& records, const std::string& prev_hash) {
  std::string expected_prev = prev_hash;
  std::int64_t prev_seq = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    if (i > 0 && r.seq != prev_seq + 1) {
      return ChainError(r.seq, "expected seq " + std::to_string(prev_seq + 1) + " (gap)");
    }
    if (r.seq < 1) return ChainError(r.seq, "seq must be >= 1");
    if (r.prev_hash != expected_prev) {
      return ChainError(r.seq, "prev_hash does not link to the previous record");
    }
    auto trace_hash = internal::TraceSha256(r.trace);
    if (!trace_hash) return ChainError(r.seq, trace_hash.error().message());
    if (*trace_hash != r.trace_sha256) return ChainError(r.seq, "trace_sha256 does not match");
    auto hash = ComputeRecordHash(r);
    if (!hash) return ChainError(r.seq, hash.error().message());
    if (*hash != r.hash) return ChainError(r.seq, "hash mismatch (record altered)");
    expected_prev = r.hash;
    prev_seq = r.seq;
  }
  return Ok();
}

}  // namespace skr::audit
