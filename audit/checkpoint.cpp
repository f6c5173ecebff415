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


Error KeyError(const std::string& what, ErrorCode code = ErrorCode::kUnavailable) {
  return Error(code, "audit signing key: " + what, "audit_signing_key");
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
  s.key_id_ = SignedNoteKeyId(s.origin_, pub);
  std::vector<std::uint8_t> typed{kSignedNoteEd25519};
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
  const std::string body = CheckpointBody(origin_, tree_size, root);
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
  return body + "\n" + std::string(kSignedNoteSigPrefix) + origin_ + " " + Base64Encode(blob) + "\n";
}

}  // namespace skr::audit
