// SPDX-License-Identifier: Apache-2.0
// Verification of signed checkpoints in the C2SP formats transparency-log tools read (used by
// skrd's audit log and by `skrctl audit verify`):
//   tlog-checkpoint body:  "<origin>\n<tree size, decimal>\n<base64 root hash>\n" [extension lines]
//   signed-note:           body, "\n", then lines "\u2014 <key name> <base64(key id || signature)>\n"
//   Ed25519 key id:        SHA-256(key name || 0x0A || 0x01 || public key)[:4]
//   verifier key string:   "<key name>+<hex key id>+<base64(0x01 || public key)>"
// (https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint). Signing lives with the log
// (audit/checkpoint.h).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/merkle.h"
#include "common/result.h"

namespace skr {

struct Checkpoint {
  std::string origin;
  std::int64_t tree_size = 0;
  merkle::Hash root{};
};

// The U+2014 EM DASH and space that start a signature line.
inline constexpr std::string_view kSignedNoteSigPrefix = "\xE2\x80\x94 ";
inline constexpr std::uint8_t kSignedNoteEd25519 = 0x01;

// SHA-256(name || 0x0A || 0x01 || public key)[:4].
std::array<std::uint8_t, 4> SignedNoteKeyId(std::string_view name,
                                            std::span<const std::uint8_t> ed25519_public_key);
// "<origin>\n<size>\n<base64 root>\n": the text a checkpoint signature covers.
std::string CheckpointBody(std::string_view origin, std::int64_t tree_size, const merkle::Hash& root);

// Parses `note` and checks its signature by `verifier_key`. The origin must be the key's name;
// other signatures on the note are ignored. Errors: kVerificationFailed "checkpoint_invalid"
// (malformed note or body, no signature by that key, bad signature), kInvalidArgument
// "verifier_key_invalid".
Result<Checkpoint> VerifyCheckpoint(std::string_view note, std::string_view verifier_key);

}  // namespace skr
