// SPDX-License-Identifier: Apache-2.0
// Signed checkpoints (audit/checkpoint.h, issue 11): C2SP signed-note / tlog-checkpoint notes
// signed with the audit Ed25519 key, verified by skr and by an independent Python verifier
// (tests/audit/signed_note_verify.py, Python `cryptography`); tampered notes, other keys and
// malformed verifier keys are refused; the key file is created once with mode 0600.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "audit/audit.h"
#include "audit/checkpoint.h"
#include "common/encoding.h"
#include "common/json.h"
#include "tests/support/process.h"
#include "tests/support/test_support.h"

namespace skr::audit {
namespace {

CheckpointSigner NewSigner(const test::TempDir& dir, const std::string& name = "audit.key") {
  REQUIRE(CheckpointSigner::CreateFile(dir.file(name)).has_value());
  auto s = CheckpointSigner::LoadFile(dir.file(name));
  if (!s) FAIL(s.error().message());
  return std::move(s).value();
}

merkle::Hash SomeRoot(std::uint8_t b) {
  merkle::Hash h{};
  h.fill(b);
  return h;
}

test::CommandResult PythonVerify(const std::string& note, const std::string& verifier_key) {
  return test::RunCommand(
      {"python3", test::SourceDir() + "/tests/audit/signed_note_verify.py", verifier_key}, note);
}

}  // namespace

TEST_CASE("Checkpoint: signed notes verify with skr and with an independent verifier",
          "[audit][checkpoint]") {
  test::TempDir dir;
  const CheckpointSigner signer = NewSigner(dir);
  CHECK(signer.origin().rfind("skr/", 0) == 0);
  CHECK(signer.origin().size() == 4 + 16);
  // name+<8 hex>+base64(33 bytes)
  CHECK(signer.verifier_key().rfind(signer.origin() + "+", 0) == 0);
  const merkle::Hash root = SomeRoot(0xab);
  const std::string note = signer.Sign(1234, root).value();
  const std::string expect_body =
      signer.origin() + "\n1234\n" + Base64Encode(root) + "\n\n\xE2\x80\x94 " + signer.origin() + " ";
  CHECK(note.rfind(expect_body, 0) == 0);

  auto cp = VerifyCheckpoint(note, signer.verifier_key());
  REQUIRE(cp.has_value());
  CHECK(cp->origin == signer.origin());
  CHECK(cp->tree_size == 1234);
  CHECK(cp->root == root);

  auto py = PythonVerify(note, signer.verifier_key());
  INFO(py.err);
  REQUIRE(py.exit_code == 0);
  const Json out = ParseJson(py.out).value();
  CHECK(out.at("origin") == signer.origin());
  CHECK(out.at("tree_size") == 1234);
  CHECK(out.at("root_hash") == Base64Encode(root));

  SECTION("the empty tree") {
    const std::string empty = signer.Sign(0, merkle::EmptyRoot()).value();
    CHECK(VerifyCheckpoint(empty, signer.verifier_key()).value().tree_size == 0);
    CHECK(PythonVerify(empty, signer.verifier_key()).exit_code == 0);
  }
}

TEST_CASE("Checkpoint: tampered notes and other keys are refused", "[audit][checkpoint]") {
  test::TempDir dir;
  const CheckpointSigner signer = NewSigner(dir);
  const CheckpointSigner other = NewSigner(dir, "other.key");
  const std::string note = signer.Sign(77, SomeRoot(1)).value();
  REQUIRE(VerifyCheckpoint(note, signer.verifier_key()).has_value());

  auto refused = [&](const std::string& n, const std::string& key, const char* what) {
    INFO(what);
    CHECK(test::ReasonOf(VerifyCheckpoint(n, key)) == "checkpoint_invalid");
    CHECK(PythonVerify(n, key).exit_code != 0);
  };
  std::string larger = note;
  larger.replace(larger.find("\n77\n"), 4, "\n78\n");
  refused(larger, signer.verifier_key(), "tree size changed");
  std::string rerooted = note;
  rerooted.replace(rerooted.find(Base64Encode(SomeRoot(1))), 44, Base64Encode(SomeRoot(2)));
  refused(rerooted, signer.verifier_key(), "root changed");
  refused(note, other.verifier_key(), "another key");
  refused(other.Sign(77, SomeRoot(1)).value(), signer.verifier_key(), "signed by another key");
  std::string cut = note.substr(0, note.find("\n\n") + 1);
  refused(cut, signer.verifier_key(), "signature removed");
  std::string sig_flipped = note;
  sig_flipped[sig_flipped.size() - 5] = sig_flipped[sig_flipped.size() - 5] == 'A' ? 'B' : 'A';
  refused(sig_flipped, signer.verifier_key(), "signature altered");

  CHECK(test::ReasonOf(VerifyCheckpoint(note, "skr/x+00+AAAA")) == "verifier_key_invalid");
  CHECK(test::ReasonOf(VerifyCheckpoint(note, "no-plus-signs")) == "verifier_key_invalid");
  std::string wrong_id = signer.verifier_key();
  const auto plus = wrong_id.find('+');
  wrong_id.replace(plus + 1, 8, "00000000");
  CHECK(test::ReasonOf(VerifyCheckpoint(note, wrong_id)) == "verifier_key_invalid");
}

TEST_CASE("Checkpoint: the signing key file is made once, private, and must stay so",
          "[audit][checkpoint]") {
  test::TempDir dir;
  const std::string path = dir.file("audit.key");
  REQUIRE(CheckpointSigner::CreateFile(path).has_value());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string before = test::ReadFileOrFail(path);
  CHECK(test::ReasonOf(CheckpointSigner::CreateFile(path)) == "audit_signing_key_exists");
  CHECK(test::ReadFileOrFail(path) == before);  // never replaced
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  CHECK(test::ReasonOf(CheckpointSigner::LoadFile(path)) == "audit_signing_key");
  CHECK(test::ReasonOf(CheckpointSigner::LoadFile(dir.file("missing.key"))) == "audit_signing_key");
  test::WriteFile(dir.file("ec.key"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  CHECK(test::ReasonOf(CheckpointSigner::LoadFile(dir.file("ec.key"))) == "audit_signing_key");
}

TEST_CASE("Checkpoint: stored in the log, latest first", "[audit][checkpoint][integration]") {
  test::TempDir dir;
  FakeClock clock(1764300000);
  auto log = AuditLog::Open(dir.file("audit.db"), clock).value();
  CHECK_FALSE(log->LatestCheckpoint().value().has_value());
  const CheckpointSigner signer = NewSigner(dir);
  for (std::int64_t size : {3, 9, 5}) {
    AuditLog::StoredCheckpoint cp;
    cp.tree_size = size;
    cp.root = SomeRoot(static_cast<std::uint8_t>(size));
    cp.note = signer.Sign(size, cp.root).value();
    cp.created_at = 1764300000 + size;
    REQUIRE(log->StoreCheckpoint(cp).has_value());
  }
  auto latest = log->LatestCheckpoint().value();
  REQUIRE(latest.has_value());
  CHECK(latest->tree_size == 9);
  CHECK(latest->root == SomeRoot(9));
  CHECK(VerifyCheckpoint(latest->note, signer.verifier_key()).value().tree_size == 9);
}

}  // namespace skr::audit
