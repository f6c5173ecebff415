// SPDX-License-Identifier: Apache-2.0
#include "server/broker/tdx_collateral.h"

#include <algorithm>
#include <utility>

#include "common/encoding.h"

namespace skr::server {
namespace {

namespace tdx = attestation::tdx;
constexpr std::string_view kLookup = "current";

Error Malformed(const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, "tdx collateral: " + what, "tdx_collateral_malformed");
}

Json TextsToJson(const tdx::TdxCollateralTexts& t) {
  return {{"tcb_infos", t.tcb_infos},
          {"qe_identity", t.qe_identity},
          {"tcb_signing_chain", t.tcb_signing_chain},
          {"pck_crls", t.pck_crls},
          {"root_ca_crl", t.root_ca_crl}};
}

Result<tdx::TdxCollateralTexts> TextsFromJson(const Json& j) {
  tdx::TdxCollateralTexts t;
  try {
    t.tcb_infos = j.at("tcb_infos").get<std::vector<std::string>>();
    t.qe_identity = j.at("qe_identity").get<std::string>();
    t.tcb_signing_chain = j.at("tcb_signing_chain").get<std::string>();
    t.pck_crls = j.at("pck_crls").get<std::vector<std::string>>();
    t.root_ca_crl = j.at("root_ca_crl").get<std::string>();
  } catch (const Json::exception&) {
    return Malformed("the stored collateral document is damaged");
  }
  return t;
}

// A CRL member: PEM text as is, else base64 of DER (decoded to the raw DER bytes).
Result<std::string> CrlText(const Json& v, const char* what) {
  if (!v.is_string() || v.get_ref<const std::string&>().empty()) {
    return Malformed(std::string(what) + " must be a non-empty string (base64 DER or PEM)");
  }
  const std::string& s = v.get_ref<const std::string&>();
  if (s.find("-----BEGIN") != std::string::npos) return s;
  auto der = Base64DecodeAtMost(s, 1 << 20);
  if (!der) return Malformed(std::string(what) + " is neither PEM nor base64 DER");
  return std::string(der->begin(), der->end());
}


}  // namespace

Result<void> TdxCollateralStore::Load() {
  auto stored = keys_.FindCollateral(kTdxCollateralKind, kLookup);
  if (!stored) {
    if (stored.error().code() == ErrorCode::kNotFound) return {};
    return stored.error();
  }
  auto doc = ParseJson(std::string_view(reinterpret_cast<const char*>(stored->data.data()),
                                        stored->data.size()),
                       8u << 20);
  if (!doc) return Malformed("the stored collateral document does not parse");
  SKR_TRY(tdx::TdxCollateralTexts texts, TextsFromJson(*doc));
  SKR_TRY(auto set, tdx::TdxCollateralSet::Build(std::move(texts), roots_));
  MutexLock lock(mu_);
  current_ = std::move(set);
  return {};
}

std::shared_ptr<const tdx::TdxCollateralSet> TdxCollateralStore::Current() const {
  MutexLock lock(mu_);
  return current_;
}

Result<Json> TdxCollateralStore::Import(const Json& req) {
  if (!req.is_object()) return Malformed("the request must be a JSON object");
  for (auto it = req.begin(); it != req.end(); ++it) {
    static const char* const kKnown[] = {"tcb_info", "qe_identity", "tcb_signing_chain", "pck_crls",
                                         "root_ca_crl"};
    if (std::none_of(std::begin(kKnown), std::end(kKnown),
                     [&](const char* k) { return it.key() == k; })) {
      return Malformed("unknown member '" + it.key() + "'");
    }
  }
  std::lock_guard<std::mutex> import_lock(import_mu_);
  const auto old = Current();
  tdx::TdxCollateralTexts texts = old ? old->texts() : tdx::TdxCollateralTexts{};

  if (req.contains("tcb_info")) {
    const Json& v = req.at("tcb_info");
    std::vector<std::string> bodies;
    if (v.is_string()) {
      bodies.push_back(v.get<std::string>());
    } else if (v.is_array() && !v.empty() && v.size() <= 64 &&
               std::all_of(v.begin(), v.end(), [](const Json& x) { return x.is_string(); })) {
      for (const Json& x : v) bodies.push_back(x.get<std::string>());
    } else {
      return Malformed("'tcb_info' must be a PCS TCB Info body (string) or a list of them");
    }
    for (std::string& body : bodies) {
      SKR_TRY(tdx::TcbInfo parsed, tdx::ParseTcbInfo(body));
      // Replace the TCB Info of the same FMSPC, keep the others.
      std::vector<std::string> kept;
      for (const std::string& existing : texts.tcb_infos) {
        auto e = tdx::ParseTcbInfo(existing);
        if (!e || e->fmspc != parsed.fmspc) kept.push_back(existing);
      }
      kept.push_back(std::move(body));
      texts.tcb_infos = std::move(kept);
    }
  }
  if (req.contains("qe_identity")) {
    if (!req.at("qe_identity").is_string()) return Malformed("'qe_identity' must be a string");
    texts.qe_identity = req.at("qe_identity").get<std::string>();
  }
  if (req.contains("tcb_signing_chain")) {
    if (!req.at("tcb_signing_chain").is_string()) {
      return Malformed("'tcb_signing_chain' must be PEM text");
    }
    texts.tcb_signing_chain = req.at("tcb_signing_chain").get<std::string>();
  }
  if (req.contains("pck_crls")) {
    const Json& v = req.at("pck_crls");
    if (!v.is_array() || v.empty() || v.size() > 4) return Malformed("'pck_crls' must list 1 to 4 CRLs");
    texts.pck_crls.clear();
    for (const Json& c : v) {
      SKR_TRY(std::string crl, CrlText(c, "a 'pck_crls' entry"));
      texts.pck_crls.push_back(std::move(crl));
    }
  }
  if (req.contains("root_ca_crl")) {
    SKR_TRY(texts.root_ca_crl, CrlText(req.at("root_ca_crl"), "'root_ca_crl'"));
  }
  if (texts.tcb_infos.empty() || texts.qe_identity.empty() || texts.tcb_signing_chain.empty() ||
      texts.pck_crls.empty() || texts.root_ca_crl.empty()) {
    return Malformed("the first import needs tcb_info, qe_identity, tcb_signing_chain, pck_crls "
                     "and root_ca_crl");
  }
  SKR_TRY(auto set, tdx::TdxCollateralSet::Build(texts, roots_));
  const std::string doc = DumpJson(TextsToJson(texts));
  SKR_TRY_VOID(keys_.PutCollateral(kTdxCollateralKind, kLookup, AsBytes(doc),
                                   DumpJson(Json{{"fmspcs", texts.tcb_infos.size()}})));
  {
    MutexLock lock(mu_);
    current_ = std::move(set);
  }
  return Summary();
}

Json TdxCollateralStore::Summary() const {
  const auto set = Current();
  if (!set) return Json{{"imported", false}};
  const std::int64_t now = clock_.NowUnix();
  Json infos = Json::array();
  std::int64_t next = INT64_MAX;
  for (const tdx::TcbInfo& t : set->tcb_infos()) {
    const std::int64_t n = set->NextUpdate(t);
    next = std::min(next, n);
    infos.push_back({{"fmspc", HexEncode(t.fmspc)},
                     {"issue_date", FormatRfc3339(t.issue_date)},
                     {"next_update", FormatRfc3339(t.next_update)},
                     {"tcb_evaluation_data_number", t.tcb_evaluation_data_number},
                     {"levels", t.levels.size()}});
  }
  const auto& qe = set->qe_identity();
  return {{"imported", true},
          {"tcb_infos", infos},
          {"qe_identity",
           {{"issue_date", FormatRfc3339(qe.issue_date)},
            {"next_update", FormatRfc3339(qe.next_update)},
            {"tcb_evaluation_data_number", qe.tcb_evaluation_data_number}}},
          {"pck_crls", set->texts().pck_crls.size()},
          {"next_update", FormatRfc3339(next)},
          {"stale", now > next}};
}

std::string TdxCollateralStore::MetricsText() const {
  const auto set = Current();
  std::string out =
      "# HELP skr_tdx_collateral_imported Whether TDX collateral (TCB Info, QE Identity, CRLs) is imported.\n"
      "# TYPE skr_tdx_collateral_imported gauge\n"
      "skr_tdx_collateral_imported " + std::string(set ? "1" : "0") + "\n";
  if (!set) return out;
  std::int64_t next = INT64_MAX;
  for (const tdx::TcbInfo& t : set->tcb_infos()) next = std::min(next, set->NextUpdate(t));
  out += "# HELP skr_tdx_collateral_next_update_timestamp Earliest nextUpdate of the TDX collateral.\n"
         "# TYPE skr_tdx_collateral_next_update_timestamp gauge\n"
         "skr_tdx_collateral_next_update_timestamp " + std::to_string(next) + "\n"
         "# HELP skr_tdx_collateral_stale 1 when the TDX collateral is past its nextUpdate.\n"
         "# TYPE skr_tdx_collateral_stale gauge\n"
         "skr_tdx_collateral_stale " + std::string(clock_.NowUnix() > next ? "1" : "0") + "\n";
  return out;
}

}  // namespace skr::server
