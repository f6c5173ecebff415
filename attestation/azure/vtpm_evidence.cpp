// SPDX-License-Identifier: Apache-2.0
#include "attestation/azure/vtpm_evidence.h"

#include "common/encoding.h"
#include "common/ossl.h"

namespace skr::attestation::azure {
namespace {

constexpr std::size_t kPcrValueSize = 32;  // Trustee sends the SHA-256 bank

Error Malformed(std::string_view type, const std::string& msg) {
  return Error(ErrorCode::kMalformedEvidence, std::string(type) + " evidence: " + msg,
               "malformed_evidence");
}

}  // namespace

Result<std::vector<std::uint8_t>> EvidenceBytes(const Json& value, std::size_t max_bytes,
                                                std::string_view what, std::string_view type) {
  const std::string name(what);
  if (value.is_string()) {
    auto b = Base64DecodeAtMost(value.get_ref<const std::string&>(), max_bytes);
    if (!b) {
      return Malformed(type, "'" + name +
                                 (b.error().reason() == "too_large" ? "' is too large"
                                                                    : "' is not base64"));
    }
    return std::move(b).value();
  }
  if (value.is_array()) {
    if (value.size() > max_bytes) return Malformed(type, "'" + name + "' is too large");
    std::vector<std::uint8_t> out;
    out.reserve(value.size());
    for (const auto& v : value) {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 255) {
        return Malformed(type, "'" + name + "' must hold integers 0..255");
      }
      out.push_back(static_cast<std::uint8_t>(v.get<std::int64_t>()));
    }
    return out;
  }
  return Malformed(type, "'" + name + "' must be an array of bytes or a base64 string");
}

Result<VtpmEvidence> ParseVtpmEvidence(const Json& evidence, std::string_view type,
                                       std::string_view hw_member, HclReportType hw_type) {
  if (!evidence.is_object()) return Malformed(type, "not an object");
  // Trustee's az-tdx-vtpm evidence names the HCL report "hcl_report" and the vTPM quote
  // "tpm_quote" (its verifier's Evidence struct); DESIGN.md's names are "report" and "quote".
  // For TDX both spellings are accepted, one of each pair.
  const bool tdx_names = hw_type == HclReportType::kTdx;
  for (auto it = evidence.begin(); it != evidence.end(); ++it) {
    const auto& k = it.key();
    const bool alias = tdx_names && (k == "hcl_report" || k == "tpm_quote");
    if (k != "type" && k != "report" && k != "quote" && k != hw_member && !alias) {
      return Malformed(type, "unknown member '" + k + "'");
    }
  }
  auto member = [&](const char* name, const char* alias) -> Result<Json::const_iterator> {
    auto a = evidence.find(name);
    auto b = tdx_names ? evidence.find(alias) : evidence.end();
    if (a != evidence.end() && b != evidence.end()) {
      return Malformed(type, std::string("'") + name + "' and '" + alias + "' are the same member");
    }
    return a != evidence.end() ? a : b;
  };
  SKR_TRY(auto rep, member("report", "hcl_report"));
  SKR_TRY(auto quote, member("quote", "tpm_quote"));
  if (rep == evidence.end() || quote == evidence.end() || !quote->is_object()) {
    return Malformed(type, "'report' and 'quote' are required");
  }
  for (auto it = quote->begin(); it != quote->end(); ++it) {
    if (it.key() != "message" && it.key() != "signature" && it.key() != "pcrs") {
      return Malformed(type, "unknown member 'quote." + it.key() + "'");
    }
  }
  auto msg_it = quote->find("message");
  auto sig_it = quote->find("signature");
  auto pcrs_it = quote->find("pcrs");
  if (msg_it == quote->end() || sig_it == quote->end() || pcrs_it == quote->end()) {
    return Malformed(type, "'quote' needs 'message', 'signature' and 'pcrs'");
  }
  if (!pcrs_it->is_array() || pcrs_it->size() > kMaxAzPcrCount) {
    return Malformed(type, "'quote.pcrs' must be an array of at most 24 PCR values");
  }
  SKR_TRY(std::vector<std::uint8_t> hcl_bytes,
          EvidenceBytes(*rep, kMaxHclReportBytes, "report", type));
  VtpmEvidence out;
  SKR_TRY(out.message, EvidenceBytes(*msg_it, tpm::kMaxTpmStructBytes, "quote.message", type));
  SKR_TRY(out.signature,
          EvidenceBytes(*sig_it, tpm::kMaxTpmStructBytes, "quote.signature", type));
  for (const auto& p : *pcrs_it) {
    SKR_TRY(std::vector<std::uint8_t> v, EvidenceBytes(p, kPcrValueSize, "quote.pcrs[]", type));
    if (v.size() != kPcrValueSize) {
      return Malformed(type, "'quote.pcrs' values must be 32 bytes (SHA-256 bank)");
    }
    out.pcrs.push_back(std::move(v));
  }
  SKR_TRY(out.hcl, HclReport::Parse(hcl_bytes));
  if (out.hcl.report_type() != hw_type) {
    return Error(ErrorCode::kVerificationFailed,
                 std::string(type) + " evidence: HCL report is not " +
                     (hw_type == HclReportType::kSnp ? "an SNP" : "a TDX") + " report",
                 "azure_report_type");
  }
  SKR_TRY(out.quote, tpm::Quote::Parse(out.message));
  return out;
}

Result<void> CheckRuntimeDataBinding(std::span<const std::uint8_t> report_data64,
                                     const HclReport& hcl, std::string_view type,
                                     std::string_view hw_name) {
  const auto rt_hash = Sha256(hcl.runtime_data());
  bool tail_zero = report_data64.size() == 64;
  for (std::size_t i = 32; tail_zero && i < 64; ++i) tail_zero = report_data64[i] == 0;
  if (!tail_zero || !ConstantTimeEquals(report_data64.first(32), rt_hash)) {
    return Error(ErrorCode::kVerificationFailed,
                 std::string(type) + " evidence: " + std::string(hw_name) +
                     " REPORT_DATA is not SHA-256 of the HCL runtime data",
                 "azure_runtime_data_mismatch");
  }
  return Ok();
}

Result<void> VerifyVtpmQuote(const VtpmEvidence& ev, std::string_view type,
                             VerifiedEvidence& out) {
  SKR_TRY(EvpPkeyPtr ak, ev.hcl.AttestationKey());
  // Trustee sends only the RSA signature bytes (RSASSA, SHA-256: the HCL AK's scheme); a
  // marshalled TPMT_SIGNATURE is also accepted, told apart by its length.
  TPMT_SIGNATURE sig;
  if (ev.signature.size() == static_cast<std::size_t>(EVP_PKEY_get_size(ak.get()))) {
    SKR_TRY(sig, tpm::RsassaSignature(ev.signature, TPM2_ALG_SHA256));
  } else {
    SKR_TRY(sig, tpm::ParseSignature(ev.signature));
  }
  SKR_TRY_VOID(tpm::VerifyQuoteSignature(ev.message, sig, ak.get()));
  // The list position is the PCR index; only PCRs the quote selects are covered (and claimed).
  tpm::PcrValues pcrs;
  for (const auto& sel : ev.quote.pcr_selection) {
    if (sel.bank != "sha256") continue;
    for (unsigned index : sel.indexes) {
      if (index < ev.pcrs.size()) pcrs["sha256"][index] = ev.pcrs[index];
    }
  }
  SKR_TRY_VOID(tpm::VerifyPcrDigest(ev.quote, pcrs, tpm::SignatureHash(sig)));

  tpm::AddQuoteClaims(out.claims, ev.quote, pcrs);
  SKR_TRY_VOID(tpm::AddAkClaims(out.claims, ak.get()));
  ev.hcl.AddClaims(out.claims);
  out.claims["tee"] = std::string(type);
  out.claims["report_data"] = HexEncode(ev.quote.extra_data);
  out.binding_form = BindingForm::kExact48;
  out.bound_data = ev.quote.extra_data;
  return Ok();
}

}  // namespace skr::attestation::azure
