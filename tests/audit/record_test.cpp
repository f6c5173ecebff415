// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "audit/audit.h"
#include "common/encoding.h"
#include "common/jose.h"
#include "common/ossl.h"
#include "tests/support/test_support.h"

namespace skr::audit {
namespace {

const std::string kZeros(64, '0');

Record FullRecord() {
  Record r;
  r.seq = 7;
  r.time = 1700000000;
  r.kind = "release";
  r.action = "release";
  r.actor = "attester";
  r.tenant = "acme";
  r.key = "disk";
  r.version = 3;
  r.evidence_type = "sev-snp";
  r.evidence_sha256 = std::string(64, 'a');
  r.tee_pubkey_thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
  r.policy_name = "prod";
  r.policy_version = 2;
  r.decision = "granted";
  r.reason = "";
  r.request_id = "req-1";
  r.trace =
      Json::array({{{"claim", "tee"}, {"op", "equals"}, {"seen", "sev-snp"}, {"result", true}}});
  r.trace_sha256 = std::string(64, 'b');
  r.prev_hash = std::string(64, 'c');
  r.hash = std::string(64, 'd');
  return r;
}

void CheckSame(const Record& a, const Record& b) {
  CHECK(a.seq == b.seq);
  CHECK(a.time == b.time);
  CHECK(a.kind == b.kind);
  CHECK(a.action == b.action);
  CHECK(a.actor == b.actor);
  CHECK(a.tenant == b.tenant);
  CHECK(a.key == b.key);
  CHECK(a.version == b.version);
  CHECK(a.evidence_type == b.evidence_type);
  CHECK(a.evidence_sha256 == b.evidence_sha256);
  CHECK(a.tee_pubkey_thumbprint == b.tee_pubkey_thumbprint);
  CHECK(a.policy_name == b.policy_name);
  CHECK(a.policy_version == b.policy_version);
  CHECK(a.decision == b.decision);
  CHECK(a.reason == b.reason);
  CHECK(a.request_id == b.request_id);
  CHECK(a.trace == b.trace);
  CHECK(a.trace_sha256 == b.trace_sha256);
  CHECK(a.prev_hash == b.prev_hash);
  CHECK(a.hash == b.hash);
  CHECK(a.client_address == b.client_address);
  CHECK(a.intent_seq == b.intent_seq);
  CHECK(a.policy_sha256 == b.policy_sha256);
  CHECK(a.replay_sha256 == b.replay_sha256);
  CHECK(a.unrecorded_failures == b.unrecorded_failures);
}

// A valid chain of n records built with the public helpers.
std::vector<Record> Chain(int n) {
  std::vector<Record> out;
  std::string prev = kZeros;
  for (int i = 1; i <= n; ++i) {
    Record r = FullRecord();
    r.seq = i;
    r.request_id = "req-" + std::to_string(i);
    auto trace_jcs = CanonicalizeJson(r.trace);
    REQUIRE(trace_jcs.has_value());
    r.trace_sha256 = HexEncode(Sha256(*trace_jcs));
    r.prev_hash = prev;
    auto h = ComputeRecordHash(r);
    REQUIRE(h.has_value());
    r.hash = *h;
    prev = r.hash;
    out.push_back(r);
  }
  return out;
}

TEST_CASE("RecordToJson: round trips every field through RecordFromJson", "[audit][unit]") {
  Record r = FullRecord();
  SECTION("all members set") {}
  SECTION("optional versions absent and no trace") {
    r.version.reset();
    r.policy_version.reset();
    r.trace = nullptr;
    r.trace_sha256.clear();
  }
  const Json j = RecordToJson(r);
  CHECK(j.size() == 20);
  CHECK(j.contains("hash"));
  CHECK(j.contains("prev_hash"));
  if (!r.version) {
    CHECK(j.at("version").is_null());
    CHECK(j.at("policy_version").is_null());
  }
  // Through text too, as the store and the API do.
  auto parsed = ParseJson(DumpJson(j));
  REQUIRE(parsed.has_value());
  auto back = RecordFromJson(*parsed);
  REQUIRE(back.has_value());
  CheckSame(*back, r);
}

TEST_CASE("RecordToJson: optional members appear only when set, and round trip",
          "[audit][unit]") {
  Record r = FullRecord();
  const Json plain = RecordToJson(r);
  // Unset: the JSON (hence leaf bytes and hash) is exactly what records had before them.
  for (const char* m : {"client_address", "intent_seq", "policy_sha256", "replay_sha256",
                        "unrecorded_failures"}) {
    CHECK_FALSE(plain.contains(m));
  }
  r.client_address = "127.0.0.5";
  r.intent_seq = 41;
  r.policy_sha256 = std::string(64, 'a');
  r.replay_sha256 = std::string(64, 'b');
  r.unrecorded_failures = 3;
  const Json j = RecordToJson(r);
  CHECK(j.size() == 25);
  CHECK(j.at("intent_seq") == 41);
  auto back = RecordFromJson(ParseJson(DumpJson(j)).value());
  REQUIRE(back.has_value());
  CheckSame(*back, r);
  CHECK(ComputeRecordHash(*back).value() != ComputeRecordHash(FullRecord()).value());
  // Present means set: an empty or zero value would not survive the round trip.
  for (const auto& [member, value] : std::vector<std::pair<std::string, Json>>{
           {"client_address", ""}, {"intent_seq", 0}, {"policy_sha256", ""},
           {"replay_sha256", ""}, {"unrecorded_failures", 0}, {"intent_seq", "4"}}) {
    Json bad = plain;
    bad[member] = value;
    INFO(member);
    CHECK(test::CodeOf(RecordFromJson(bad)) == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("RecordFromJson: rejects malformed records", "[audit][unit]") {
  Json j = RecordToJson(FullRecord());
  SECTION("not an object") { j = Json::array(); }
  SECTION("missing member") { j.erase("tenant"); }
  SECTION("missing nullable member") { j.erase("version"); }
  SECTION("missing trace") { j.erase("trace"); }
  SECTION("string member with a number") { j["decision"] = 1; }
  SECTION("seq as a string") { j["seq"] = "7"; }
  SECTION("version as a float") { j["version"] = 1.5; }
  SECTION("version out of int range") { j["version"] = 1LL << 40; }
  SECTION("seq beyond int64") { j["seq"] = std::uint64_t{1} << 63; }
  SECTION("unknown member") { j["extra"] = "x"; }
  CHECK(test::CodeOf(RecordFromJson(j)) == ErrorCode::kInvalidArgument);
}

TEST_CASE("ComputeRecordHash: SHA-256 of prev_hash bytes and the JCS of the record without hash",
          "[audit][unit]") {
  Record r = FullRecord();
  auto h = ComputeRecordHash(r);
  REQUIRE(h.has_value());
  CHECK(h->size() == 64);

  Json body = RecordToJson(r);
  body.erase("hash");
  auto jcs = CanonicalizeJson(body);
  REQUIRE(jcs.has_value());
  auto prev = HexDecode(r.prev_hash);
  REQUIRE(prev.has_value());
  std::string input(prev->begin(), prev->end());
  input += *jcs;
  CHECK(*h == HexEncode(Sha256(input)));

  SECTION("the hash member does not feed the hash") {
    r.hash = "anything";
    CHECK(ComputeRecordHash(r).value() == *h);
  }
  SECTION("every other member does") {
    Record m = FullRecord();
    const int which = GENERATE(range(0, 9));
    switch (which) {
      case 0:
        m.seq += 1;
        break;
      case 1:
        m.time += 1;
        break;
      case 2:
        m.tenant = "other";
        break;
      case 3:
        m.version = 4;
        break;
      case 4:
        m.policy_version.reset();
        break;
      case 5:
        m.decision = "denied";
        break;
      case 6:
        m.trace = Json::array();
        break;
      case 7:
        m.prev_hash = std::string(64, 'e');
        break;
      default:
        m.reason = "x";
        break;
    }
    CHECK(ComputeRecordHash(m).value() != *h);
  }
}

TEST_CASE("ComputeRecordHash: rejects a malformed prev_hash", "[audit][unit]") {
  Record r = FullRecord();
  r.prev_hash =
      GENERATE(std::string(""), std::string(63, '0'), std::string(64, 'g'), std::string(66, '0'));
  CHECK(test::CodeOf(ComputeRecordHash(r)) == ErrorCode::kInvalidArgument);
}

TEST_CASE("VerifyChain: accepts a linked chain and names the first bad seq", "[audit][unit]") {
  std::vector<Record> chain = Chain(4);
  REQUIRE(VerifyChain(chain, kZeros).has_value());
  REQUIRE(VerifyChain({}, kZeros).has_value());
  // A suffix verifies against the hash before it.
  REQUIRE(VerifyChain({chain.begin() + 2, chain.end()}, chain[1].hash).has_value());

  std::string expect_seq = "seq 3";
  SECTION("content altered") { chain[2].reason = "edited"; }
  SECTION("hash altered") { chain[2].hash = std::string(64, 'f'); }
  SECTION("trace altered, trace_sha256 kept") { chain[2].trace = Json::array(); }
  SECTION("link broken") { chain[2].prev_hash = chain[0].hash; }
  SECTION("record missing") {
    chain.erase(chain.begin() + 2);
    expect_seq = "seq 4";
  }
  SECTION("records swapped") {
    std::swap(chain[1], chain[2]);
    expect_seq = "seq 3";
  }
  SECTION("wrong starting hash") {
    chain.erase(chain.begin());
    expect_seq = "seq 2";
  }
  auto r = VerifyChain(chain, kZeros);
  REQUIRE(test::CodeOf(r) == ErrorCode::kVerificationFailed);
  CHECK_THAT(r.error().message(), Catch::Contains(expect_seq));
}

}  // namespace
}  // namespace skr::audit
