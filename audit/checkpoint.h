// SPDX-License-Identifier: Apache-2.0
// Signed checkpoints of the audit Merkle tree (DESIGN.md section 6, issue 11) in the C2SP formats
// that transparency-log tools read:
//   tlog-checkpoint body:  "<origin>\n<tree size, decimal>\n<base64 root hash>\n"
//   signed-note:           body, "\n", then "— <key name> <base64(key id || signature)>\n"
//   Ed25519 key id:        SHA-256(key name || 0x0A || 0x01 || public key)[:4]
//   verifier key string:   "<key name>+<hex key id>+<base64(0x01 || public key)>"
// The key name is the origin, "skr/<log id>", where log id is the first 16 hex digits of
// SHA-256(public key): one signing key, one log. The key is an Ed25519 private key in a PEM file
// (PKCS#8, mode 0600) that `skrd init` creates beside the master key, never in the database.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/merkle.h"
#include "common/signed_note.h"
#include "common/ossl.h"
#include "common/result.h"

namespace skr::audit {

using skr::Checkpoint;
using skr::VerifyCheckpoint;

class CheckpointSigner {
 public:
  // Errors: kInvalidArgument "audit_signing_key" when the PEM is not an Ed25519 private key.
  static Result<CheckpointSigner> FromPrivateKeyPem(std::string_view pem);
  // Loads the key file: a regular file, not readable by group or others. Errors:
  // kUnavailable "audit_signing_key" (missing, unreadable, permissions, not Ed25519).
  static Result<CheckpointSigner> LoadFile(const std::string& path);
  // Creates a new key file (O_EXCL: never replaces a key; mode 0600; fsync'ed). Errors:
  // kAlreadyExists, kUnavailable.
  static Result<void> CreateFile(const std::string& path);

  const std::string& origin() const { return origin_; }
  const std::string& verifier_key() const { return verifier_key_; }
  // The signed note for this log at `tree_size` with `root`.
  Result<std::string> Sign(std::int64_t tree_size, const merkle::Hash& root) const;

 private:
  CheckpointSigner() = default;
  EvpPkeyPtr key_;
  std::string origin_;
  std::string verifier_key_;
  std::array<std::uint8_t, 4> key_id_{};
};

}  // namespace skr::audit
