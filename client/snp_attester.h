// SPDX-License-Identifier: Apache-2.0
// SEV-SNP evidence from inside a guest (DESIGN.md section 3, evidence.type "sev-snp"):
// 1. the kernel's configfs-tsm report interface (Documentation/ABI/testing/configfs-tsm):
//    mkdir <tsm>/report/<entry>; write REPORT_DATA to inblob (and the VMPL to privlevel); read
//    outblob (the ATTESTATION_REPORT) and auxblob (the GHCB certificate table with the VCEK or
//    VLEK when the host provides it); `generation` must not change in between (no concurrent
//    writer); rmdir the entry.
// 2. fallback: /dev/sev-guest SNP_GET_REPORT ioctl (linux/sev-guest.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "client/sample_attester.h"

namespace skr::client {

struct SnpReportOutput {
  std::vector<std::uint8_t> report;   // 1184 bytes
  std::vector<std::uint8_t> auxblob;  // certificate table, may be empty
};

// configfs-tsm. `report_dir` is the "report" directory (default
// /sys/kernel/config/tsm/report). Errors: kUnavailable reason "tsm_unavailable" when the
// interface is absent; kMalformedEvidence "tsm_failed" when it misbehaves (short outblob,
// generation changed, report_data not echoed).
Result<SnpReportOutput> CollectSnpViaConfigfsTsm(const std::string& report_dir,
                                                 std::span<const std::uint8_t, 64> report_data,
                                                 int vmpl, const std::string& entry_name = "");

// /dev/sev-guest. Errors: kUnavailable "sev_guest_unavailable" (no device), kMalformedEvidence.
Result<SnpReportOutput> CollectSnpViaSevGuest(const std::string& device,
                                              std::span<const std::uint8_t, 64> report_data,
                                              int vmpl);

struct SnpAttesterOptions {
  std::string tsm_report_dir = "/sys/kernel/config/tsm/report";
  std::string sev_guest_device = "/dev/sev-guest";
  int vmpl = 0;
  std::string tsm_entry;  // configfs-tsm entry to use (empty: a fresh one per report)
};

class SnpAttester final : public EvidenceProvider {
 public:
  explicit SnpAttester(SnpAttesterOptions options) : options_(std::move(options)) {}
  // {"type":"sev-snp","report":base64, "cert_chain": base64(auxblob) when present}.
  Result<Json> Collect(std::span<const std::uint8_t, 48> digest) override;

 private:
  SnpAttesterOptions options_;
};

}  // namespace skr::client
