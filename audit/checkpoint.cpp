// SPDX-License-Identifier: Apache-2.0
// C2SP signed-note (https://c2sp.org/signed-note) and tlog-checkpoint
// (https://c2sp.org/tlog-checkpoint) with Ed25519 (signature type 0x01).
#include "audit/checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "common/encoding.h"

namespace skr::audit {
namespace {

constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";  // U+2014 EM DASH, space
constexpr std::uint8_t kEd25519 = 0x01;
constexpr std::size_t kMaxNote = 64 * 1024;

Error KeyError(const std::string& what, ErrorCode code = ErrorCode::kUnavailable) {
  return Error(code, "audit signing key: " + what, "audit_signing_key");
}

Error Invalid(const std::string& what) {
  return Error(ErrorCode::kVerificationFailed, "checkpoint: " + what, "checkpoint_invalid");
}

std::array<std::uint8_t, 4> KeyId(std::string_view name, std::span<const std::uint8_t> pub) {
  std::string input(name);
  input.push_back('\n');
  input.push_back(static_cast<char>(kEd25519));
  input.append(reinterpret_cast<const char*>(pub.data()), pub.size());  // NOLINT
  const auto h = Sha256(input);
  return {h[0], h[1], h[2], h[3]};
}

std::string Body(std::string_view origin, std::int64_t size, const merkle::Hash& root) {
  std::string body(origin);
  body += "\n" + std::to_string(size) + "\n" + Base64Encode(root) + "\n";
  return body;
}

bool ValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || c == '+' || u == 0x7f) return false;
  }
  return true;
}

std::string Errno() { return std::strerror(errno); }

}  // namespace

Result<CheckpointSigner> CheckpointSigner::FromPrivateKeyPem(std::string_view pem) {
  auto key = LoadPrivateKeyPem(pem);
  if (!key || EVP_PKEY_get_base_id(key->get()) != EVP_PKEY_ED25519) {
    return KeyError("not an Ed25519 private key (PEM)", ErrorCode::kInvalidArgument);
  }
  std::array<std::uint8_t, 32> pub{};
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key->get(), pub.data(), &len) != 1 || len != pub.size()) {
    return OpenSslError("Ed25519 public key");
  }
  CheckpointSigner s;
  s.key_ = std::move(key).value();
  s.origin_ = "skr/" + HexEncode(Sha256(pub)).substr(0, 16);
  s.key_id_ = KeyId(s.origin_, pub);
  std::vector<std::uint8_t> typed{kEd25519};
  typed.insert(typed.end(), pub.begin(), pub.end());
  s.verifier_key_ = s.origin_ + "+" + HexEncode(s.key_id_) + "+" + Base64Encode(typed);
  return s;
}

Result<CheckpointSigner> CheckpointSigner::LoadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return KeyError("cannot open " + path + ": " + Errno());
  struct stat st {};
  const int rc = ::fstat(fd, &st);
  ::close(fd);
  if (rc != 0 || !S_ISREG(st.st_mode)) return KeyError(path + " is not a regular file");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return KeyError(path + " must not be readable by group or others (chmod 600)");
  }
  SKR_TRY(std::string pem, ReadFile(path, 16 * 1024));
  auto signer = FromPrivateKeyPem(pem);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!signer) return KeyError(path + ": " + signer.error().message());
  return signer;
}

Result<void> CheckpointSigner::CreateFile(const std::string& path) {
  EVP_PKEY* raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (raw == nullptr) return OpenSslError("Ed25519 key generation");
  EvpPkeyPtr key(raw);
  SKR_TRY(std::string pem, PrivateKeyToPem(key.get()));
  const int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    OPENSSL_cleanse(pem.data(), pem.size());
    if (errno == EEXIST) {
      return Error(ErrorCode::kAlreadyExists, "audit signing key already exists: " + path,
                   "audit_signing_key_exists");
    }
    return KeyError("cannot create " + path + ": " + Errno());
  }
  bool ok = ::fchmod(fd, 0600) == 0;
  std::size_t off = 0;
  while (ok && off < pem.size()) {
    const ssize_t n = ::write(fd, pem.data() + off, pem.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    off += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!ok) {
    ::unlink(path.c_str());
    return KeyError("cannot write " + path + ": " + Errno());
  }
  return Ok();
}

Result<std::string> CheckpointSigner::Sign(std::int64_t tree_size, const merkle::Hash& root) const {
  if (tree_size < 0) return Error(ErrorCode::kInvalidArgument, "negative tree size");
  const std::string body = Body(origin_, tree_size, root);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return OpenSslError("EVP_MD_CTX_new");
  std::array<std::uint8_t, 64> sig{};
  std::size_t sig_len = sig.size();
  const bool ok = EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key_.get()) == 1 &&
                  EVP_DigestSign(ctx, sig.data(), &sig_len,
                                 reinterpret_cast<const unsigned char*>(body.data()),  // NOLINT
                                 body.size()) == 1 &&
                  sig_len == sig.size();
  EVP_MD_CTX_free(ctx);
  if (!ok) return OpenSslError("Ed25519 signature");
  std::vector<std::uint8_t> blob(key_id_.begin(), key_id_.end());
  blob.insert(blob.end(), sig.begin(), sig.end());
  return body + "\n" + std::string(kSigPrefix) + origin_ + " " + Base64Encode(blob) + "\n";
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
      (*typed)[0] != kEd25519) {
    return bad_key();
  }
  const std::span<const std::uint8_t> pub(typed->data() + 1, 32);
  const auto key_id = KeyId(name, pub);
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
    if (line.substr(0, kSigPrefix.size()) != kSigPrefix) return Invalid("malformed signature line");
    const std::string_view rest = line.substr(kSigPrefix.size());
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

}  // namespace skr::audit
