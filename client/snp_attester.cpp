// SPDX-License-Identifier: Apache-2.0
#include "client/snp_attester.h"
#include "client/tsm_report.h"

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

}  // namespace

Result<SnpReportOutput> CollectSnpViaConfigfsTsm(const std::string& report_dir,
                                                 std::span<const std::uint8_t, 64> report_data,
                                                 int vmpl, const std::string& entry_name) {
  SKR_TRY(TsmOutput out, CollectViaConfigfsTsm(report_dir, report_data, "sev_guest", vmpl,
                                               entry_name, 64 * 1024));
  if (out.outblob.size() != kReportSize) {
    return TsmFailed("outblob is " + std::to_string(out.outblob.size()) + " bytes, expected 1184");
  }
  if (!std::equal(report_data.begin(), report_data.end(), out.outblob.begin() + kReportDataOffset)) {
    return TsmFailed("the report does not carry the requested REPORT_DATA");
  }
  return SnpReportOutput{std::move(out.outblob), std::move(out.auxblob)};
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
  auto out = CollectSnpViaConfigfsTsm(options_.tsm_report_dir, rd, options_.vmpl, options_.tsm_entry);
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
