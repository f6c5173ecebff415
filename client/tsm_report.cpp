// SPDX-License-Identifier: Apache-2.0
#include "client/tsm_report.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/encoding.h"
#include "common/ossl.h"

namespace skr::client {
namespace {

Result<std::vector<std::uint8_t>> ReadAll(const std::string& path, std::size_t max) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(ErrorCode::kUnavailable, "cannot open " + path);
  std::vector<std::uint8_t> out;
  std::uint8_t buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Error(ErrorCode::kUnavailable, "read " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
    if (out.size() > max) {
      ::close(fd);
      return Error(ErrorCode::kMalformedEvidence, path + " larger than expected");
    }
  }
  ::close(fd);
  return out;
}

Result<void> WriteAllTo(const std::string& path, std::span<const std::uint8_t> data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Error(ErrorCode::kUnavailable, "cannot open " + path + " for writing");
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Error(ErrorCode::kUnavailable, "write " + path + ": " + std::strerror(err));
    }
    off += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return Ok();
}

Result<std::string> ReadText(const std::string& path) {
  SKR_TRY(std::vector<std::uint8_t> raw, ReadAll(path, 256));
  std::string s(raw.begin(), raw.end());
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Removes the configfs entry on every path out.
struct EntryGuard {
  std::string dir;
  ~EntryGuard() {
    if (!dir.empty()) ::rmdir(dir.c_str());
  }
};

}  // namespace

Error TsmFailed(const std::string& msg) {
  return Error(ErrorCode::kMalformedEvidence, "configfs-tsm: " + msg, "tsm_failed");
}

Result<TsmOutput> CollectViaConfigfsTsm(const std::string& report_dir,
                                        std::span<const std::uint8_t, 64> report_data,
                                        std::string_view provider_expected, int privlevel,
                                        const std::string& entry_name, std::size_t max_outblob) {
  struct stat st {};
  if (::stat(report_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(ErrorCode::kUnavailable, "configfs-tsm not available at " + report_dir,
                 "tsm_unavailable");
  }
  const std::string name =
      entry_name.empty() ? "skr-agent-" + HexEncode(RandomBytes(8)) : entry_name;
  const std::string dir = report_dir + "/" + name;
  EntryGuard guard;
  if (::mkdir(dir.c_str(), 0700) == 0) {
    guard.dir = dir;  // ours: removed on the way out
  } else if (!(errno == EEXIST && !entry_name.empty())) {
    // A named entry that already exists (made by an operator) is reused; the generation
    // check below still detects a concurrent writer.
    return Error(ErrorCode::kUnavailable, "configfs-tsm: cannot create " + dir + ": " +
                                              std::strerror(errno),
                 "tsm_unavailable");
  }

  if (auto provider = ReadText(dir + "/provider"); provider && !provider->empty() &&
                                                   *provider != provider_expected) {
    return TsmFailed("provider is '" + *provider + "', not " + std::string(provider_expected));
  }
  // generation before: every write to inblob/privlevel bumps it; a change we did not cause
  // means another process used the same entry (configfs-tsm ABI).
  SKR_TRY(std::string gen0, ReadText(dir + "/generation"));
  if (privlevel != 0) {
    const std::string lvl = std::to_string(privlevel);
    SKR_TRY_VOID(WriteAllTo(dir + "/privlevel", AsBytes(lvl)));
  }
  SKR_TRY_VOID(WriteAllTo(dir + "/inblob", report_data));
  // The kernel produces outblob when it is read. Tolerate a short delay (bounded) for
  // providers that complete asynchronously.
  std::vector<std::uint8_t> report;
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto r = ReadAll(dir + "/outblob", max_outblob);
    if (r && !r->empty()) {
      report = std::move(r).value();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (report.empty()) return TsmFailed("outblob stayed empty");
  std::vector<std::uint8_t> aux;
  if (auto a = ReadAll(dir + "/auxblob", 64 * 1024); a) aux = std::move(a).value();
  SKR_TRY(std::string gen1, ReadText(dir + "/generation"));
  const int writes = 1 + (privlevel != 0 ? 1 : 0);
  long g0 = 0, g1 = 0;
  try {
    g0 = std::stol(gen0);
    g1 = std::stol(gen1);
  } catch (...) {
    return TsmFailed("generation is not a number");
  }
  if (g1 != g0 + writes) return TsmFailed("generation changed unexpectedly: concurrent use");
  return TsmOutput{std::move(report), std::move(aux)};
}

}  // namespace skr::client
