// SPDX-License-Identifier: Apache-2.0
#include "attestation/tdx/collateral.h"

#include <algorithm>
#include <set>
#include <utility>

#include "common/clock.h"
#include "common/encoding.h"
#include "common/json.h"
#include "common/ossl.h"
#include "attestation/tdx/verify.h"
#include "common/x509.h"

namespace skr::attestation::tdx {
namespace {

Error Malformed(const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, "tdx collateral: " + what, "tdx_collateral_malformed");
}

std::size_t SkipWs(std::string_view t, std::size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  return i;
}

// Index just past the JSON string starting at t[i] == '"'; npos when unterminated.
std::size_t SkipString(std::string_view t, std::size_t i) {
  for (++i; i < t.size(); ++i) {
    if (t[i] == '\\') {
      ++i;
    } else if (t[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// Index just past the JSON value starting at t[i]; npos when it does not end inside `t`.
// Structure only: the text is also parsed by nlohmann::json, which checks the grammar.
std::size_t SkipValue(std::string_view t, std::size_t i) {
  if (i >= t.size()) return std::string_view::npos;
  if (t[i] == '"') return SkipString(t, i);
  if (t[i] == '{' || t[i] == '[') {
    int depth = 0;
    while (i < t.size()) {
      const char c = t[i];
      if (c == '"') {
        i = SkipString(t, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if ((c == '{' || c == '[') && ++depth > 64) return std::string_view::npos;
      if ((c == '}' || c == ']') && --depth == 0) return i + 1;
      ++i;
    }
    return std::string_view::npos;
  }
  while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' &&
         t[i] != '\n' && t[i] != '\r' && t[i] != '\t') {
    ++i;
  }
  return i;
}

// The raw text of the top-level member `key` of the object `t`.
Result<std::string_view> RawMember(std::string_view t, std::string_view key) {
  std::size_t i = SkipWs(t, 0);
  if (i >= t.size() || t[i] != '{') return Malformed("body is not a JSON object");
  i = SkipWs(t, i + 1);
  std::optional<std::string_view> found;
  while (i < t.size() && t[i] != '}') {
    if (t[i] != '"') return Malformed("bad member name");
    const std::size_t key_end = SkipString(t, i);
    if (key_end == std::string_view::npos) return Malformed("unterminated member name");
    const std::string_view name = t.substr(i + 1, key_end - i - 2);
    i = SkipWs(t, key_end);
    if (i >= t.size() || t[i] != ':') return Malformed("':' expected");
    i = SkipWs(t, i + 1);
    const std::size_t value_end = SkipValue(t, i);
    if (value_end == std::string_view::npos) return Malformed("unterminated value");
    if (name == key) {
      if (found) return Malformed("member '" + std::string(key) + "' appears twice");
      found = t.substr(i, value_end - i);
    }
    i = SkipWs(t, value_end);
    if (i < t.size() && t[i] == ',') i = SkipWs(t, i + 1);
  }
  if (!found) return Malformed("member '" + std::string(key) + "' missing");
  return *found;
}

Result<Json> Member(const Json& obj, const char* name, Json::value_t type) {
  if (!obj.is_object() || !obj.contains(name) || obj.at(name).type() != type) {
    return Malformed(std::string("'") + name + "' missing or of the wrong type");
  }
  return obj.at(name);
}

Result<std::int64_t> Int(const Json& obj, const char* name, std::int64_t max) {
  if (!obj.is_object() || !obj.contains(name) || !obj.at(name).is_number_integer()) {
    return Malformed(std::string("'") + name + "' missing or not an integer");
  }
  const std::int64_t v = obj.at(name).get<std::int64_t>();
  if (v < 0 || v > max) return Malformed(std::string("'") + name + "' out of range");
  return v;
}

Result<std::int64_t> Time(const Json& obj, const char* name) {
  SKR_TRY(Json s, Member(obj, name, Json::value_t::string));
  auto t = ParseRfc3339(s.get<std::string>());
  if (!t) return Malformed(std::string("'") + name + "' is not an RFC 3339 time");
  return *t;
}

template <std::size_t N>
Result<std::array<std::uint8_t, N>> Hex(const Json& obj, const char* name) {
  SKR_TRY(Json s, Member(obj, name, Json::value_t::string));
  auto bytes = HexDecode(s.get<std::string>());
  if (!bytes || bytes->size() != N) {
    return Malformed(std::string("'") + name + "' is not " + std::to_string(N) + " bytes of hex");
  }
  std::array<std::uint8_t, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

std::uint64_t Le64(const std::array<std::uint8_t, 8>& b) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[static_cast<std::size_t>(i)];
  return v;
}

Result<std::string> Status(const Json& level) {
  static const std::set<std::string, std::less<>> kStatuses = {
      "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
      "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked"};
  SKR_TRY(Json s, Member(level, "tcbStatus", Json::value_t::string));
  if (kStatuses.count(s.get<std::string>()) == 0) {
    return Malformed("unknown tcbStatus '" + s.get<std::string>() + "'");
  }
  return s.get<std::string>();
}

Result<std::vector<std::string>> Advisories(const Json& level) {
  std::vector<std::string> out;
  if (!level.contains("advisoryIDs")) return out;
  const Json& ids = level.at("advisoryIDs");
  if (!ids.is_array() || ids.size() > 256) return Malformed("'advisoryIDs' is not an array");
  for (const Json& id : ids) {
    if (!id.is_string() || id.get<std::string>().size() > 64) return Malformed("bad advisory id");
    out.push_back(id.get<std::string>());
  }
  return out;
}

Result<std::vector<IsvLevel>> IsvLevels(const Json& obj) {
  SKR_TRY(Json levels, Member(obj, "tcbLevels", Json::value_t::array));
  if (levels.empty() || levels.size() > 256) return Malformed("'tcbLevels' empty or too long");
  std::vector<IsvLevel> out;
  for (const Json& l : levels) {
    IsvLevel level;
    SKR_TRY(Json tcb, Member(l, "tcb", Json::value_t::object));
    SKR_TRY(std::int64_t svn, Int(tcb, "isvsvn", 65535));
    level.isv_svn = static_cast<std::uint16_t>(svn);
    SKR_TRY(level.status, Status(l));
    SKR_TRY(level.tcb_date, Time(l, "tcbDate"));
    SKR_TRY(level.advisory_ids, Advisories(l));
    out.push_back(std::move(level));
  }
  return out;
}

Result<std::array<std::uint8_t, 16>> Components(const Json& tcb, const char* name) {
  SKR_TRY(Json comps, Member(tcb, name, Json::value_t::array));
  if (comps.size() != 16) return Malformed(std::string("'") + name + "' does not have 16 entries");
  std::array<std::uint8_t, 16> out{};
  for (std::size_t i = 0; i < 16; ++i) {
    SKR_TRY(std::int64_t svn, Int(comps[i], "svn", 255));
    out[i] = static_cast<std::uint8_t>(svn);
  }
  return out;
}

Result<TdxModuleIdentity> ModuleIdentity(const Json& m, bool with_levels) {
  TdxModuleIdentity out;
  if (with_levels) {
    SKR_TRY(Json id, Member(m, "id", Json::value_t::string));
    out.id = id.get<std::string>();
    SKR_TRY(out.levels, IsvLevels(m));
  }
  SKR_TRY(out.mrsigner, Hex<48>(m, "mrsigner"));
  SKR_TRY(auto attributes, Hex<8>(m, "attributes"));
  SKR_TRY(auto mask, Hex<8>(m, "attributesMask"));
  out.attributes = Le64(attributes);
  out.attributes_mask = Le64(mask);
  return out;
}

Result<std::pair<SignedBody, Json>> Split(std::string_view body, std::string_view key) {
  if (body.size() > kMaxCollateralBytes) return Malformed("body larger than 1 MiB");
  auto parsed = ParseJson(body, kMaxCollateralBytes);
  if (!parsed || !parsed->is_object()) return Malformed("body is not a JSON object");
  SKR_TRY(std::string_view inner, RawMember(body, key));
  SKR_TRY(Json sig, Member(*parsed, "signature", Json::value_t::string));
  auto sig_bytes = HexDecode(sig.get<std::string>());
  if (!sig_bytes || sig_bytes->size() != 64) return Malformed("'signature' is not 64 bytes of hex");
  SignedBody out;
  out.inner = std::string(inner);
  std::copy(sig_bytes->begin(), sig_bytes->end(), out.signature.begin());
  return std::make_pair(std::move(out), parsed->at(std::string(key)));
}

}  // namespace

Result<SignedBody> SplitSignedBody(std::string_view body, std::string_view key) {
  SKR_TRY(auto split, Split(body, key));
  return std::move(split.first);
}

Result<TcbInfo> ParseTcbInfo(std::string_view body) {
  SKR_TRY(auto split, Split(body, "tcbInfo"));
  const Json& t = split.second;
  TcbInfo out;
  out.signed_body = std::move(split.first);
  SKR_TRY(Json id, Member(t, "id", Json::value_t::string));
  SKR_TRY(std::int64_t version, Int(t, "version", 100));
  if (id.get<std::string>() != "TDX" || version != 3) {
    return Malformed("not a TDX TCB Info v3 (id '" + id.get<std::string>() + "', version " +
                     std::to_string(version) + ")");
  }
  out.version = static_cast<int>(version);
  SKR_TRY(out.issue_date, Time(t, "issueDate"));
  SKR_TRY(out.next_update, Time(t, "nextUpdate"));
  SKR_TRY(out.fmspc, Hex<6>(t, "fmspc"));
  SKR_TRY(out.pce_id, Hex<2>(t, "pceId"));
  SKR_TRY(std::int64_t eval, Int(t, "tcbEvaluationDataNumber", 1 << 20));
  out.tcb_evaluation_data_number = static_cast<int>(eval);
  SKR_TRY(Json module, Member(t, "tdxModule", Json::value_t::object));
  SKR_TRY(out.module, ModuleIdentity(module, false));
  if (t.contains("tdxModuleIdentities")) {
    SKR_TRY(Json ids, Member(t, "tdxModuleIdentities", Json::value_t::array));
    if (ids.size() > 64) return Malformed("too many tdxModuleIdentities");
    for (const Json& m : ids) {
      SKR_TRY(TdxModuleIdentity mi, ModuleIdentity(m, true));
      out.module_identities.push_back(std::move(mi));
    }
  }
  SKR_TRY(Json levels, Member(t, "tcbLevels", Json::value_t::array));
  if (levels.empty() || levels.size() > 256) return Malformed("'tcbLevels' empty or too long");
  for (const Json& l : levels) {
    TcbLevel level;
    SKR_TRY(Json tcb, Member(l, "tcb", Json::value_t::object));
    SKR_TRY(level.sgx_components, Components(tcb, "sgxtcbcomponents"));
    SKR_TRY(std::int64_t pcesvn, Int(tcb, "pcesvn", 65535));
    level.pce_svn = static_cast<std::uint16_t>(pcesvn);
    SKR_TRY(level.tdx_components, Components(tcb, "tdxtcbcomponents"));
    SKR_TRY(level.status, Status(l));
    SKR_TRY(level.tcb_date, Time(l, "tcbDate"));
    SKR_TRY(level.advisory_ids, Advisories(l));
    out.levels.push_back(std::move(level));
  }
  return out;
}

Result<QeIdentity> ParseQeIdentity(std::string_view body) {
  SKR_TRY(auto split, Split(body, "enclaveIdentity"));
  const Json& e = split.second;
  QeIdentity out;
  out.signed_body = std::move(split.first);
  SKR_TRY(Json id, Member(e, "id", Json::value_t::string));
  SKR_TRY(std::int64_t version, Int(e, "version", 100));
  if (id.get<std::string>() != "TD_QE" || version != 2) {
    return Malformed("not a TD_QE identity v2 (id '" + id.get<std::string>() + "', version " +
                     std::to_string(version) + ")");
  }
  out.version = static_cast<int>(version);
  SKR_TRY(out.issue_date, Time(e, "issueDate"));
  SKR_TRY(out.next_update, Time(e, "nextUpdate"));
  SKR_TRY(std::int64_t eval, Int(e, "tcbEvaluationDataNumber", 1 << 20));
  out.tcb_evaluation_data_number = static_cast<int>(eval);
  SKR_TRY(auto misc, Hex<4>(e, "miscselect"));
  SKR_TRY(auto misc_mask, Hex<4>(e, "miscselectMask"));
  // MISCSELECT is a little-endian u32 in the REPORT; the identity writes it as big-endian hex.
  out.miscselect = (std::uint32_t{misc[0]} << 24) | (std::uint32_t{misc[1]} << 16) |
                   (std::uint32_t{misc[2]} << 8) | misc[3];
  out.miscselect_mask = (std::uint32_t{misc_mask[0]} << 24) | (std::uint32_t{misc_mask[1]} << 16) |
                        (std::uint32_t{misc_mask[2]} << 8) | misc_mask[3];
  SKR_TRY(out.attributes, Hex<16>(e, "attributes"));
  SKR_TRY(out.attributes_mask, Hex<16>(e, "attributesMask"));
  SKR_TRY(out.mrsigner, Hex<32>(e, "mrsigner"));
  SKR_TRY(std::int64_t prod, Int(e, "isvprodid", 65535));
  out.isv_prod_id = static_cast<std::uint16_t>(prod);
  SKR_TRY(out.levels, IsvLevels(e));
  return out;
}

Result<void> VerifyCollateralSignature(const SignedBody& signed_body,
                                       std::string_view signing_chain_pem,
                                       std::span<X509* const> roots, std::int64_t unix_time) {
  const auto untrusted = [](const std::string& why) {
    return Error(ErrorCode::kVerificationFailed, "tdx collateral: " + why,
                 "tdx_collateral_untrusted");
  };
  auto certs = ParseCertificatesPem(signing_chain_pem);
  if (!certs || certs->empty() || certs->size() > 3) {
    return untrusted("the TCB signing chain is not 1 to 3 PEM certificates");
  }
  std::vector<X509*> rest;
  for (std::size_t i = 1; i < certs->size(); ++i) rest.push_back((*certs)[i].get());
  auto path = VerifyChainToAnchors((*certs)[0].get(), rest, roots, unix_time, 1);
  if (!path) {
    return untrusted("the TCB signing certificate does not chain to the Intel SGX Root CA: " +
                     path.error().message());
  }
  EvpPkeyPtr key(X509_get_pubkey((*certs)[0].get()));
  if (!key || !VerifyP256RawSignature(key.get(), AsBytes(signed_body.inner), signed_body.signature)) {
    return untrusted("signature does not verify with the TCB signing key");
  }
  return {};
}

}  // namespace skr::attestation::tdx
