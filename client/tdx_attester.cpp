// SPDX-License-Identifier: Apache-2.0
#include "client/tdx_attester.h"

#include <algorithm>

#include "client/tsm_report.h"
#include "common/encoding.h"

namespace skr::client {

Result<void> CheckTdxQuoteCarries(std::span<const std::uint8_t> quote,
                                  std::span<const std::uint8_t, 64> report_data) {
  if (quote.size() < 8) return TsmFailed("outblob is too short for a TDX quote");
  const unsigned version = quote[0] | (quote[1] << 8);
  const unsigned tee = quote[4] | (quote[5] << 8) | (quote[6] << 16) | (unsigned{quote[7]} << 24);
  if ((version != 4 && version != 5) || tee != 0x81) {
    return TsmFailed("outblob is not a TDX quote (version " + std::to_string(version) +
                     ", TEE type " + std::to_string(tee) + ")");
  }
  const std::size_t body = 48 + (version == 5 ? 6 : 0);
  const std::size_t at = body + 520;
  if (quote.size() < at + 64) return TsmFailed("outblob is too short for a TDX quote");
  if (!std::equal(report_data.begin(), report_data.end(), quote.begin() + static_cast<std::ptrdiff_t>(at))) {
    return TsmFailed("the quote does not carry the requested REPORTDATA");
  }
  return {};
}

Result<Json> TdxAttester::Collect(std::span<const std::uint8_t, 48> digest) {
  // DESIGN.md section 2: REPORTDATA = digest || 16 zero bytes.
  std::array<std::uint8_t, 64> rd{};
  std::copy(digest.begin(), digest.end(), rd.begin());
  auto out = CollectViaConfigfsTsm(options_.tsm_report_dir, rd, "tdx_guest", 0,
                                   options_.entry_name, 64 * 1024);
  if (out) {
    if (auto ok = CheckTdxQuoteCarries(out->outblob, rd); !ok) out = ok.error();
  }
  if (!out) {
    return Error(ErrorCode::kMalformedEvidence,
                 "no TDX quote from configfs-tsm (provider tdx_guest): " + out.error().message(),
                 "evidence_unavailable");
  }
  return Json{{"type", "tdx"}, {"quote", Base64Encode(out->outblob)}};
}

}  // namespace skr::client
