// SPDX-License-Identifier: Apache-2.0
#include "common/signed_note.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "common/encoding.h"
#include "common/ossl.h"

namespace skr {
namespace {

constexpr std::size_t kMaxNote = 64 * 1024;

Error Invalid(const std::string& what) {
  return Error(ErrorCode::kVerificationFailed, "checkpoint: " + what, "checkpoint_invalid");
}

bool ValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || c == '+' || u == 0x7f) return false;
  }
  return true;
}

}  // namespace

std::array<std::uint8_t, 4> SignedNoteKeyId(std::string_view name,
                                            std::span<const std::uint8_t> pub) {
  std::string input(name);
  input.push_back('\n');
  input.push_back(static_cast<char>(kSignedNoteEd25519));
  input.append(reinterpret_cast<const char*>(pub.data()), pub.size());  // NOLINT
  const auto h = Sha256(input);
  return {h[0], h[1], h[2], h[3]};
}

std::string CheckpointBody(std::string_view origin, std::int64_t size, const merkle::Hash& root) {
  std::string body(origin);
  body += "\n" + std::to_string(size) + "\n" + Base64Encode(root) + "\n";
  return body;
}

Result<Checkpoint> VerifyCheckpoint(std::string_view note, std::string_view verifier_key) {
  // Verifier key: name+hexid+base64(0x01||pub).
  const auto p1 = verifier_key.find('+');
  const auto p2 = p1 == std::string_view::npos ? p1 : verifier_key.find('+', p1 + 1);
  auto bad_key = [] {
    return Error(ErrorCode::kInvalidArgument, "verifier key must be name+keyid+base64key",
                 "verifier_key_invalid");
  };
  if (p2 == std::string_view::npos) return bad_key();
  const std::string_view name = verifier_key.substr(0, p1);
  const std::string_view id_hex = verifier_key.substr(p1 + 1, p2 - p1 - 1);
  auto typed = Base64Decode(verifier_key.substr(p2 + 1));
  if (!ValidKeyName(name) || id_hex.size() != 8 || !typed || typed->size() != 33 ||
      (*typed)[0] != kSignedNoteEd25519) {
    return bad_key();
  }
  const std::span<const std::uint8_t> pub(typed->data() + 1, 32);
  const auto key_id = SignedNoteKeyId(name, pub);
  if (HexEncode(key_id) != id_hex) return bad_key();

  if (note.size() > kMaxNote) return Invalid("note too large");
  // Text (ending in a newline), a blank line, signature lines.
  const auto sep = note.rfind("\n\n");
  if (sep == std::string_view::npos) return Invalid("no blank line before the signatures");
  const std::string_view text = note.substr(0, sep + 1);
  std::string_view sigs = note.substr(sep + 2);
  if (sigs.empty() || sigs.back() != '\n') return Invalid("signature lines must end in a newline");
  std::optional<std::vector<std::uint8_t>> signature;
  while (!sigs.empty()) {
    const auto nl = sigs.find('\n');
    const std::string_view line = sigs.substr(0, nl);
    sigs.remove_prefix(nl + 1);
    if (line.substr(0, kSignedNoteSigPrefix.size()) != kSignedNoteSigPrefix) return Invalid("malformed signature line");
    const std::string_view rest = line.substr(kSignedNoteSigPrefix.size());
    const auto sp = rest.find(' ');
    if (sp == std::string_view::npos) return Invalid("malformed signature line");
    if (rest.substr(0, sp) != name) continue;
    auto blob = Base64Decode(rest.substr(sp + 1));
    if (!blob || blob->size() != 4 + 64) continue;
    if (!std::equal(key_id.begin(), key_id.end(), blob->begin())) continue;
    signature = std::vector<std::uint8_t>(blob->begin() + 4, blob->end());
    break;
  }
  if (!signature) return Invalid("no signature by " + std::string(name));
  EVP_PKEY* raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub.data(), pub.size());
  if (raw == nullptr) return bad_key();
  EvpPkeyPtr key(raw);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return OpenSslError("EVP_MD_CTX_new");
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key.get()) == 1 &&
                  EVP_DigestVerify(ctx, signature->data(), signature->size(),
                                   reinterpret_cast<const unsigned char*>(text.data()),  // NOLINT
                                   text.size()) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  if (!ok) return Invalid("signature does not verify");

  // tlog-checkpoint body: origin, size, root, optional extension lines.
  std::vector<std::string_view> lines;
  for (std::string_view t = text; !t.empty();) {
    const auto nl = t.find('\n');
    lines.push_back(t.substr(0, nl));
    t.remove_prefix(nl + 1);
  }
  if (lines.size() < 3) return Invalid("body needs origin, tree size and root hash");
  Checkpoint cp;
  cp.origin = std::string(lines[0]);
  if (cp.origin != name) return Invalid("origin is not the signing key's name");
  const std::string_view size = lines[1];
  if (size.empty() || size.size() > 18 || (size.size() > 1 && size[0] == '0')) {
    return Invalid("malformed tree size");
  }
  for (char c : size) {
    if (c < '0' || c > '9') return Invalid("malformed tree size");
    cp.tree_size = cp.tree_size * 10 + (c - '0');
  }
  auto root = Base64Decode(lines[2]);
  if (!root || root->size() != cp.root.size()) return Invalid("malformed root hash");
  std::copy(root->begin(), root->end(), cp.root.begin());
  return cp;
}

}  // namespace skr
