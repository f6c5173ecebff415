// SPDX-License-Identifier: Apache-2.0
#include "attestation/azure/hcl_report.h"

#include <cctype>
#include <cstring>

#include "attestation/tpm/ak_checks.h"
#include "attestation/tpm/quote.h"
#include "common/byte_reader.h"
#include "common/encoding.h"

namespace skr::attestation::azure {
namespace {

Error Malformed(std::string msg, const char* reason = "azure_hcl_malformed") {
  return Error(ErrorCode::kMalformedEvidence, "azure HCL report: " + msg, reason);
}

constexpr std::uint32_t kHashTypeSha256 = 1;

}  // namespace

std::string SnakeCase(std::string_view name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '-' || c == ' ' || c == '.') {
      out.push_back('_');
    } else if (std::isupper(static_cast<unsigned char>(c)) != 0) {
      // Start a new word at a lower->upper transition ("vmUniqueId"), not inside acronyms.
      if (i > 0 && std::islower(static_cast<unsigned char>(name[i - 1])) != 0) out.push_back('_');
      out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<HclReport> HclReport::Parse(std::span<const std::uint8_t> bytes) {
  if (bytes.size() > kMaxHclReportBytes) return Malformed("larger than 16 KiB");
  ByteReader r(bytes);
  auto fail = [](const Error&) { return Malformed("truncated"); };
  HclReport out;
  // Header.
  auto sig = r.Take(4);
  if (!sig) return fail(sig.error());
  if (std::memcmp(sig->data(), "HCLA", 4) != 0) return Malformed("signature is not 'HCLA'");
  auto version = r.U32Le();
  auto report_size = r.U32Le();
  auto request_type = r.U32Le();
  auto status = r.U32Le();
  if (!version || !report_size || !request_type || !status) return Malformed("truncated header");
  if (*version == 0) return Malformed("version 0");
  if (auto skip = r.Skip(12); !skip) return Malformed("truncated header");
  out.version_ = *version;
  out.request_type_ = *request_type;
  // Hardware report.
  auto hw = r.Take(kHclHwReportSize);
  if (!hw) return Malformed("truncated hardware report");
  out.hw_report_.assign(hw->begin(), hw->end());
  // Runtime data header.
  auto data_size = r.U32Le();
  auto rd_version = r.U32Le();
  auto report_type = r.U32Le();
  auto hash_type = r.U32Le();
  auto var_size = r.U32Le();
  if (!data_size || !rd_version || !report_type || !hash_type || !var_size) {
    return Malformed("truncated runtime data header");
  }
  if (*report_type != static_cast<std::uint32_t>(HclReportType::kSnp) &&
      *report_type != static_cast<std::uint32_t>(HclReportType::kTdx)) {
    return Malformed("unknown report type " + std::to_string(*report_type), "azure_hcl_unsupported");
  }
  out.report_type_ = static_cast<HclReportType>(*report_type);
  if (*hash_type != kHashTypeSha256) {
    return Malformed("unsupported runtime data hash type " + std::to_string(*hash_type), "azure_hcl_unsupported");
  }
  if (*var_size == 0 || *var_size > kMaxHclRuntimeDataBytes) return Malformed("runtime data size out of bounds");
  // Sizes must agree: data_size covers the runtime header and data; report_size everything.
  if (*data_size != kHclRuntimeHeaderSize + *var_size) return Malformed("runtime data size fields disagree");
  if (*report_size != kHclHeaderSize + kHclHwReportSize + kHclRuntimeHeaderSize + *var_size) {
    return Malformed("report_size does not match the runtime data size");
  }
  auto var = r.Take(*var_size);
  if (!var) return Malformed("truncated runtime data");
  out.runtime_data_.assign(var->begin(), var->end());
  std::string_view text(reinterpret_cast<const char*>(out.runtime_data_.data()), out.runtime_data_.size());  // NOLINT
  // The buffer may carry trailing NULs; the JSON itself ends at the first one.
  auto json = ParseJson(text.substr(0, text.find('\0')), kMaxHclRuntimeDataBytes, 8);
  if (!json || !json->is_object()) return Malformed("runtime data is not a JSON object");
  out.runtime_ = std::move(json).value();
  return out;
}

Result<EvpPkeyPtr> HclReport::AttestationKey() const {
  auto keys = runtime_.find("keys");
  if (keys == runtime_.end() || !keys->is_array()) {
    return Malformed("runtime data has no 'keys'", "azure_ak_missing");
  }
  for (const auto& k : *keys) {
    if (!k.is_object()) continue;
    auto kid = k.find("kid");
    if (kid == k.end() || !kid->is_string() || kid->get_ref<const std::string&>() != "HCLAkPub") continue;
    auto kty = GetOptionalString(k, "kty");
    auto n = GetOptionalString(k, "n");
    auto e = GetOptionalString(k, "e");
    if (!kty || *kty != "RSA" || !n || !e) return Malformed("HCLAkPub is not an RSA JWK", "azure_ak_malformed");
    auto nb = Base64UrlDecode(*n);
    auto eb = Base64UrlDecode(*e);
    if (!nb || !eb) return Malformed("HCLAkPub n/e are not base64url", "azure_ak_malformed");
    // Issue 9, item 7: the key every az-*-vtpm quote rests on must be RSA >= 2048 with a sane
    // exponent; checked before building the key so that any small modulus reads as weak.
    if (auto strong = tpm::CheckRsaAkParameters(*nb, *eb, "azure_ak_weak"); !strong) {
      return Error(ErrorCode::kVerificationFailed,
                   "azure HCL report: HCLAkPub: " + strong.error().message(), "azure_ak_weak");
    }
    auto key = tpm::RsaPublicKey(*nb, *eb);
    if (!key) return Malformed("HCLAkPub: " + key.error().message(), "azure_ak_malformed");
    return std::move(key).value();
  }
  return Malformed("runtime data has no HCLAkPub key", "azure_ak_missing");
}

void HclReport::AddClaims(Claims& claims) const {
  claims["azure.hcl_version"] = version_;
  claims["azure.report_type"] = report_type_ == HclReportType::kSnp ? "snp" : "tdx";
  if (auto cfg = runtime_.find("vm-configuration"); cfg != runtime_.end() && cfg->is_object()) {
    for (auto it = cfg->begin(); it != cfg->end(); ++it) {
      if (it.value().is_primitive() && !it.value().is_null()) {
        claims["azure.vm_configuration." + SnakeCase(it.key())] = it.value();
      }
    }
  }
  if (auto ud = runtime_.find("user-data"); ud != runtime_.end() && ud->is_string()) {
    std::string v = ud->get<std::string>();
    for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    claims["azure.user_data"] = v;
  }
}

}  // namespace skr::attestation::azure
