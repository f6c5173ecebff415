// SPDX-License-Identifier: Apache-2.0
#include "tests/attestation/snp_test_support.h"

#include <exception>

#include "tests/support/amd_test_pki.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include <algorithm>

#include "common/ossl.h"

namespace skr::test {
namespace {

constexpr std::size_t kReportSize = 0x4A0;
constexpr std::size_t kSignedSize = 0x2A0;
constexpr std::size_t kRsSize = 72;

void PutLe(std::vector<std::uint8_t>& out, std::size_t offset, std::uint64_t value,
           std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) {
    out[offset + i] = static_cast<std::uint8_t>((value >> (8 * i)) & 0xFF);
  }
}

template <std::size_t N>
void Put(std::vector<std::uint8_t>& out, std::size_t offset, const std::array<std::uint8_t, N>& a) {
  std::copy(a.begin(), a.end(), out.begin() + static_cast<std::ptrdiff_t>(offset));
}

}  // namespace

std::vector<std::uint8_t> BuildSnpReport(const SnpReportFields& f) {
  std::vector<std::uint8_t> out(kReportSize, 0);
  PutLe(out, 0x000, f.version, 4);
  PutLe(out, 0x004, f.guest_svn, 4);
  PutLe(out, 0x008, f.policy, 8);
  Put(out, 0x010, f.family_id);
  Put(out, 0x020, f.image_id);
  PutLe(out, 0x030, f.vmpl, 4);
  PutLe(out, 0x034, f.signature_algo, 4);
  PutLe(out, 0x038, f.current_tcb, 8);
  PutLe(out, 0x040, f.platform_info, 8);
  PutLe(out, 0x048, f.key_info, 4);
  Put(out, 0x050, f.report_data);
  Put(out, 0x090, f.measurement);
  Put(out, 0x0C0, f.host_data);
  Put(out, 0x0E0, f.id_key_digest);
  Put(out, 0x110, f.author_key_digest);
  Put(out, 0x140, f.report_id);
  Put(out, 0x160, f.report_id_ma);
  PutLe(out, 0x180, f.reported_tcb, 8);
  if (f.version >= 3) {
    out[0x188] = f.cpuid_fam_id;
    out[0x189] = f.cpuid_mod_id;
    out[0x18A] = f.cpuid_step;
  }
  Put(out, 0x1A0, f.chip_id);
  PutLe(out, 0x1E0, f.committed_tcb, 8);
  out[0x1E8] = f.current_build;
  out[0x1E9] = f.current_minor;
  out[0x1EA] = f.current_major;
  out[0x1EC] = f.committed_build;
  out[0x1ED] = f.committed_minor;
  out[0x1EE] = f.committed_major;
  PutLe(out, 0x1F0, f.launch_tcb, 8);
  if (f.version >= 5) {
    PutLe(out, 0x1F8, f.launch_mit_vector, 8);
    PutLe(out, 0x200, f.current_mit_vector, 8);
  }
  Put(out, 0x2A0, f.signature_r);
  Put(out, 0x2E8, f.signature_s);
  return out;
}

Result<void> SignSnpReport(std::vector<std::uint8_t>& report, EVP_PKEY* key) {
  if (report.size() != kReportSize || key == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "SignSnpReport: bad report size or key");
  }
  try {
    SignSnpReportWith(key, report);  // tests/support/amd_test_pki.h
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInternal, e.what());
  }
  return Ok();
}

}  // namespace skr::test
