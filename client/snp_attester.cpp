// SPDX-License-Identifier: Apache-2.0
#include "client/snp_attester.h"

#include <fcntl.h>
#include <linux/sev-guest.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/encoding.h"
#include "common/ossl.h"

namespace skr::client {
namespace {

constexpr std::size_t kReportSize = 1184;     // SEV-SNP ABI, ATTESTATION_REPORT
constexpr std::size_t kReportDataOffset = 0x50;  // ATTESTATION_REPORT: 0x50..0x8F REPORT_DATA

Error TsmFailed(const std::string& msg) {
  return Error(ErrorCode::kMalformedEvidence, "configfs-tsm: " + msg, "tsm_failed");
}

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

Result<SnpReportOutput> CollectSnpViaConfigfsTsm(const std::string& report_dir,
                                                 std::span<const std::uint8_t, 64> report_data,
                                                 int vmpl, const std::string& entry_name) {
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
                                                   *provider != "sev_guest") {
    return TsmFailed("provider is '" + *provider + "', not sev_guest");
  }
  // generation before: every write to inblob/privlevel bumps it; a change we did not cause
  // means another process used the same entry (configfs-tsm ABI).
  SKR_TRY(std::string gen0, ReadText(dir + "/generation"));
  if (vmpl != 0) {
    const std::string lvl = std::to_string(vmpl);
    SKR_TRY_VOID(WriteAllTo(dir + "/privlevel", AsBytes(lvl)));
  }
  SKR_TRY_VOID(WriteAllTo(dir + "/inblob", report_data));
  // The kernel produces outblob when it is read. Tolerate a short delay (bounded) for
  // providers that complete asynchronously.
  std::vector<std::uint8_t> report;
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto r = ReadAll(dir + "/outblob", 64 * 1024);
    if (r && !r->empty()) {
      report = std::move(r).value();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (report.size() != kReportSize) {
    return TsmFailed("outblob is " + std::to_string(report.size()) + " bytes, expected 1184");
  }
  std::vector<std::uint8_t> aux;
  if (auto a = ReadAll(dir + "/auxblob", 64 * 1024); a) aux = std::move(a).value();
  SKR_TRY(std::string gen1, ReadText(dir + "/generation"));
  const int writes = 1 + (vmpl != 0 ? 1 : 0);
  long g0 = 0, g1 = 0;
  try {
    g0 = std::stol(gen0);
    g1 = std::stol(gen1);
  } catch (...) {
    return TsmFailed("generation is not a number");
  }
  if (g1 != g0 + writes) return TsmFailed("generation changed unexpectedly: concurrent use");
  if (!std::equal(report_data.begin(), report_data.end(), report.begin() + kReportDataOffset)) {
    return TsmFailed("the report does not carry the requested REPORT_DATA");
  }
  return SnpReportOutput{std::move(report), std::move(aux)};
}

Result<SnpReportOutput> CollectSnpViaSevGuest(const std::string& device,
                                              std::span<const std::uint8_t, 64> report_data,
                                              int vmpl) {
  int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return Error(ErrorCode::kUnavailable, "cannot open " + device + ": " + std::strerror(errno),
                 "sev_guest_unavailable");
  }
  snp_report_req req{};
  std::memcpy(req.user_data, report_data.data(), report_data.size());
  req.vmpl = static_cast<__u32>(vmpl);
  snp_report_resp resp{};
  snp_guest_request_ioctl io{};
  io.msg_version = 1;
  io.req_data = reinterpret_cast<__u64>(&req);    // NOLINT: ioctl ABI takes addresses
  io.resp_data = reinterpret_cast<__u64>(&resp);  // NOLINT
  const int rc = ::ioctl(fd, SNP_GET_REPORT, &io);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    return Error(ErrorCode::kUnavailable,
                 "SNP_GET_REPORT failed: " + std::string(std::strerror(err)) +
                     " (fw_error " + std::to_string(io.exitinfo2 & 0xffffffffu) + ")",
                 "sev_guest_unavailable");
  }
  // MSG_REPORT_RSP (SEV-SNP ABI, table "MSG_REPORT_RSP Message Structure"): STATUS u32 at 0,
  // REPORT_SIZE u32 at 4, reserved to 0x1F, REPORT at 0x20.
  auto u32 = [&](std::size_t off) {
    return static_cast<std::uint32_t>(resp.data[off]) |
           (static_cast<std::uint32_t>(resp.data[off + 1]) << 8) |
           (static_cast<std::uint32_t>(resp.data[off + 2]) << 16) |
           (static_cast<std::uint32_t>(resp.data[off + 3]) << 24);
  };
  if (u32(0) != 0) {
    return Error(ErrorCode::kMalformedEvidence, "SNP_GET_REPORT status " + std::to_string(u32(0)));
  }
  if (u32(4) != kReportSize) {
    return Error(ErrorCode::kMalformedEvidence, "SNP_GET_REPORT: unexpected report size");
  }
  SnpReportOutput out;
  out.report.assign(resp.data + 0x20, resp.data + 0x20 + kReportSize);
  return out;
}

Result<Json> SnpAttester::Collect(std::span<const std::uint8_t, 48> digest) {
  // DESIGN.md section 2: REPORT_DATA = digest || 16 zero bytes.
  std::array<std::uint8_t, 64> rd{};
  std::copy(digest.begin(), digest.end(), rd.begin());
  auto out = CollectSnpViaConfigfsTsm(options_.tsm_report_dir, rd, options_.vmpl);
  if (!out && out.error().reason() == "tsm_unavailable") {
    // Name every provider tried, so an operator sees why neither gave a report.
    const std::string tsm_error = out.error().message();
    out = CollectSnpViaSevGuest(options_.sev_guest_device, rd, options_.vmpl);
    if (!out) {
      return Error(ErrorCode::kMalformedEvidence,
                   "no SEV-SNP report from any provider: " + tsm_error + "; " +
                       options_.sev_guest_device + ": " + out.error().message(),
                   "evidence_unavailable");
    }
  }
  if (!out) {
    return Error(ErrorCode::kMalformedEvidence, out.error().message(), "evidence_unavailable");
  }
  Json ev = {{"type", "sev-snp"}, {"report", Base64Encode(out->report)}};
  if (!out->auxblob.empty()) ev["cert_chain"] = Base64Encode(out->auxblob);
  return ev;
}

}  // namespace skr::client
