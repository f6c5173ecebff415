// SPDX-License-Identifier: Apache-2.0
// File master-key provider (DESIGN.md section 5): 32 random bytes in a file of mode 0600.
#include "keystore/master_key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "common/ossl.h"

namespace skr::keystore {
namespace {

constexpr std::size_t kMasterKeySize = 32;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // close() reports deferred write errors; the caller checks it after writing.
  int Close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string Errno() { return std::strerror(errno); }

// Reads exactly out.size() bytes unless EOF comes first. Returns the count read, or -1.
long ReadFull(int fd, std::span<std::uint8_t> out) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return static_cast<long>(done);
}

bool WriteFull(int fd, std::span<const std::uint8_t> data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Makes the new directory entry durable too (the file's own fsync does not cover it).
void FsyncParentDir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the key file itself is already synced
  (void)::fsync(fd);
  ::close(fd);
}

class FileProvider final : public MasterKeyProvider {
 public:
  explicit FileProvider(std::string path) : path_(std::move(path)) {}

  Result<SecretBytes> Load() override {
    Fd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
      if (errno == ENOENT) {
        return Error(ErrorCode::kSealed, "master key file not found: " + path_,
                     "master_key_missing");
      }
      return Error(ErrorCode::kSealed, "cannot open master key file " + path_ + ": " + Errno(),
                   "master_key_unreadable");
    }
    // fstat on the open descriptor: the checks apply to the file we actually read.
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
      return Error(ErrorCode::kSealed, "cannot stat master key file " + path_ + ": " + Errno(),
                   "master_key_unreadable");
    }
    if (!S_ISREG(st.st_mode)) {
      return Error(ErrorCode::kSealed, "master key path is not a regular file: " + path_,
                   "master_key_malformed");
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      return Error(ErrorCode::kSealed,
                   "master key file must not be readable by group or others (chmod 600)",
                   "master_key_permissions");
    }
    if (st.st_size != static_cast<off_t>(kMasterKeySize)) {
      return Error(ErrorCode::kSealed, "master key file must hold exactly 32 bytes: " + path_,
                   "master_key_malformed");
    }
    // Read straight into the SecretBytes: no temporary copy of the key exists.
    SecretBytes key(kMasterKeySize);
    const long n = ReadFull(fd.get(), key.Reveal());
    if (n < 0) {
      return Error(ErrorCode::kSealed, "cannot read master key file " + path_ + ": " + Errno(),
                   "master_key_unreadable");
    }
    std::uint8_t extra = 0;
    const long more = ReadFull(fd.get(), std::span<std::uint8_t>(&extra, 1));
    if (n != static_cast<long>(kMasterKeySize) || more != 0) {
      // The file changed size between fstat and read; `key` is wiped by its destructor.
      OPENSSL_cleanse(&extra, sizeof(extra));
      return Error(ErrorCode::kSealed, "master key file must hold exactly 32 bytes: " + path_,
                   "master_key_malformed");
    }
    return key;
  }

  Result<void> Create() override {
    // O_EXCL: never overwrite (and so never lose) an existing master key; O_NOFOLLOW refuses a
    // planted symlink.
    Fd fd(::open(path_.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) {
      if (errno == EEXIST) {
        return Error(ErrorCode::kAlreadyExists, "master key file already exists: " + path_,
                     "master_key_exists");
      }
      return Error(ErrorCode::kUnavailable,
                   "cannot create master key file " + path_ + ": " + Errno(),
                   "master_key_unwritable");
    }
    auto fail = [&](const char* what) -> Error {
      Error e(ErrorCode::kUnavailable,
              std::string("cannot ") + what + " master key file " + path_ + ": " + Errno(),
              "master_key_unwritable");
      ::unlink(path_.c_str());  // do not leave a partial key behind
      return e;
    };
    // The umask can only clear bits, but make the mode explicit anyway.
    if (::fchmod(fd.get(), 0600) != 0) return fail("chmod");
    {
      const SecretBytes key = RandomSecret(kMasterKeySize);
      if (!WriteFull(fd.get(), key.Reveal())) return fail("write");
    }
    if (::fsync(fd.get()) != 0) return fail("fsync");
    if (fd.Close() != 0) return fail("close");
    FsyncParentDir(path_);
    return Ok();
  }

  std::string Describe() const override { return "file:" + path_; }

 private:
  std::string path_;
};

}  // namespace

std::unique_ptr<MasterKeyProvider> MakeFileProvider(const std::string& path) {
  return std::make_unique<FileProvider>(path);
}

}  // namespace skr::keystore
