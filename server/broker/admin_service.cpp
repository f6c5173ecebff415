// SPDX-License-Identifier: Apache-2.0
// The admin service (DESIGN.md section 8): tenants, tokens, keys, dry-run verification and
// SEV-SNP certificates, each change audited before (intent) and after (outcome). Policies are in
// policy_admin.cpp, TDX collateral in tdx_admin.cpp, TPM enrolment in tpm_enrollment.cpp.
#include "server/broker/admin_service.h"

#include <algorithm>

#include "attestation/snp/cert_chain.h"
#include "attestation/snp/snp_verifier.h"
#include "common/encoding.h"
#include "common/ossl.h"
#include "common/x509.h"
#include "server/broker/admin_helpers.h"
#include "server/broker/release_steps.h"
#include "server/broker/snp_collateral.h"

namespace skr::server {
namespace {

using keystore::Role;

constexpr std::size_t kMaxKeyBytes = 1024;
constexpr std::int64_t kDefaultTokenTtlSeconds = 90LL * 86400;

Result<SecretBytes> MaterialFromBody(const Json& body, bool require) {
  auto gen = body.find("generate");
  auto mat = body.find("material");
  if (gen != body.end() && mat != body.end()) {
    return BadRequest("give either 'generate' or 'material', not both");
  }
  if (mat != body.end()) {
    if (!mat->is_string()) return BadRequest("'material' must be a base64 string");
    auto bytes = Base64Decode(mat->get_ref<const std::string&>());
    if (!bytes) return BadRequest("'material' is not valid base64");
    SecretBytes out = SecretBytes::CopyFrom(*bytes);
    OPENSSL_cleanse(bytes->data(), bytes->size());
    if (out.empty() || out.size() > kMaxKeyBytes) {
      return BadRequest("key material must be 1..1024 bytes");
    }
    return out;
  }
  std::int64_t n = 32;
  if (gen != body.end()) {
    if (!gen->is_object()) return BadRequest("'generate' must be an object");
    auto b = gen->find("bytes");
    if (b != gen->end()) {
      if (!b->is_number_integer()) return BadRequest("'generate.bytes' must be an integer");
      n = b->get<std::int64_t>();
    }
  } else if (require) {
    return BadRequest("give 'generate' or 'material'");
  }
  if (n < 16 || n > static_cast<std::int64_t>(kMaxKeyBytes)) {
    return BadRequest("'generate.bytes' must be between 16 and 1024");
  }
  return RandomSecret(static_cast<std::size_t>(n));
}

}  // namespace

Result<void> AdminService::AuditIntent(const Actor& a, const std::string& rid, std::string action,
                                 std::string tenant, std::string key) {
  // Written before the change, so an admin change never happens unaudited (fail closed): if the
  // audit log cannot take this record, nothing is changed and the caller gets 503.
  audit::Record rec;
  rec.kind = "admin";
  rec.action = std::move(action);
  rec.actor = a.token.id;
  rec.tenant = std::move(tenant);
  rec.key = Clip(key, 128);
  rec.request_id = rid;
  rec.client_address = Clip(a.source, 64);
  rec.decision = "requested";
  const std::string action_name = rec.action;
  auto r = audit_.Append(std::move(rec));
  if (!r) {
    return Error(ErrorCode::kUnavailable, "audit log unavailable; nothing was changed",
                 "audit_unavailable");
  }
  a.intent_seq = r->seq;
  a.intent_action = action_name;
  return Ok();
}

Result<void> AdminService::AuditAdmin(const Actor& a, std::string action, std::string tenant,
                                std::string key, std::optional<int> version,
                                const std::string& rid, const Result<void>& outcome,
                                std::string policy_sha256, std::string policy_name,
                                std::optional<int> policy_version) {
  // Every admin change ends here, whatever its outcome: cached key metadata is dropped, so the
  // next release reads what the change left (DESIGN.md: nothing that matters is only in memory).
  key_cache_.Clear();
  audit::Record rec;
  rec.kind = "admin";
  rec.action = std::move(action);
  rec.actor = a.token.id;
  rec.tenant = std::move(tenant);
  rec.key = std::move(key);
  rec.version = version;
  rec.request_id = rid;
  rec.client_address = Clip(a.source, 64);
  // The outcome names its "requested" record: the two records of one change are linked.
  if (a.intent_seq && a.intent_action == rec.action) rec.intent_seq = a.intent_seq;
  a.intent_seq.reset();
  a.intent_action.clear();
  rec.policy_sha256 = std::move(policy_sha256);
  rec.policy_name = std::move(policy_name);
  rec.policy_version = policy_version;
  rec.decision = outcome ? "ok" : "failed";
  rec.reason = outcome ? "" : Clip(outcome.error().reason() + ": " + outcome.error().message(), 512);
  auto r = audit_.Append(std::move(rec));
  if (!r) return r.error();
  return Ok();
}


Result<Json> AdminService::CreateTenant(const Actor& a, std::string_view body, const std::string& rid) {
  SKR_TRY_VOID(Authorize(a, Permission::kManageTenants));
  SKR_TRY(Json req, ParseBodyObject(body, 4096));
  SKR_TRY(std::string name, GetString(req, "name"));
  SKR_TRY_VOID(CheckName("tenant", name));
  SKR_TRY_VOID(AuditIntent(a, rid, "tenant.create", name, ""));
  auto t = keys_.CreateTenant(name);
  SKR_TRY_VOID(AuditAdmin(a, "tenant.create", name, "", std::nullopt, rid, Outcome(t)));
  if (!t) return t.error();
  return Json{{"name", t->name}, {"created_at", FormatRfc3339(t->created_at)}};
}

Result<Json> AdminService::ListTenants(const Actor& a, const Page& page) {
  SKR_TRY_VOID(Authorize(a, Permission::kManageTenants));
  SKR_TRY(std::vector<keystore::Tenant> list, keys_.ListTenants());
  return Paginate<keystore::Tenant>(
      list, page, [](const keystore::Tenant& t) { return t.name; },
      [](const keystore::Tenant& t) {
        return Json{{"name", t.name}, {"created_at", FormatRfc3339(t.created_at)}};
      },
      "tenants");
}

Result<void> AdminService::DeleteTenant(const Actor& a, std::string_view tenant, const std::string& rid) {
  SKR_TRY_VOID(Authorize(a, Permission::kManageTenants));
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(AuditIntent(a, rid, "tenant.delete", std::string(tenant), ""));
  auto r = keys_.DeleteTenant(tenant);
  SKR_TRY_VOID(AuditAdmin(a, "tenant.delete", std::string(tenant), "", std::nullopt, rid, r));
  return r;
}

Result<Json> AdminService::CreateToken(const Actor& a, std::string_view body, const std::string& rid) {
  SKR_TRY(Json req, ParseBodyObject(body, 4096));
  SKR_TRY(std::string role_s, GetString(req, "role"));
  auto role = keystore::ParseRole(role_s);
  if (!role) return BadRequest("role must be operator, admin or auditor");
  std::optional<std::string> tenant = GetOptionalString(req, "tenant");
  if (req.contains("tenant") && !tenant) return BadRequest("'tenant' must be a string");
  if (tenant) SKR_TRY_VOID(CheckName("tenant", *tenant));
  // Tokens expire: 90 days unless the request says otherwise (up to 10 years).
  std::int64_t ttl = kDefaultTokenTtlSeconds;
  if (req.contains("ttl_seconds")) {
    SKR_TRY(std::int64_t v, GetInt(req, "ttl_seconds"));
    if (v <= 0 || v > 10LL * 365 * 86400) return BadRequest("ttl_seconds out of range");
    ttl = v;
  }
  // An admin may mint admin/auditor tokens for its own tenant only; operator tokens and global
  // auditors are the operators' (no tenant).
  SKR_TRY_VOID(Authorize(a, Permission::kIssueTokens,
                         *role == Role::kOperator ? std::nullopt : OptView(tenant)));
  if (*role == Role::kOperator && tenant) return BadRequest("operator tokens have no tenant");
  if (*role == Role::kAdmin && !tenant) return BadRequest("admin tokens need a tenant");
  // A token minted by an admin never outlives the admin's own token.
  if (a.token.role != Role::kOperator && a.token.expires_at) {
    const std::int64_t left = *a.token.expires_at - clock_.NowUnix();
    if (left <= 0) return Error(ErrorCode::kUnauthenticated, "token expired", "unauthenticated");
    ttl = std::min(ttl, left);
  }
  SKR_TRY_VOID(AuditIntent(a, rid, "token.create", tenant.value_or(""), ""));
  auto t = keys_.CreateToken(*role, tenant, ttl);
  SKR_TRY_VOID(AuditAdmin(a, "token.create", tenant.value_or(""), t ? t->info.id : "",
                          std::nullopt, rid, Outcome(t)));
  if (!t) return t.error();
  Json out = TokenToJson(t->info);
  out["token"] = t->secret;
  return out;
}

Result<Json> AdminService::ListTokens(const Actor& a, std::optional<std::string> tenant,
                                const Page& page) {
  if (a.token.role != Role::kOperator) {
    SKR_TRY_VOID(Authorize(a, Permission::kIssueTokens, OptView(a.token.tenant)));
    tenant = a.token.tenant;  // admins see their own tenant's tokens only
  }
  SKR_TRY(std::vector<keystore::TokenInfo> list, keys_.ListTokens(tenant));
  return Paginate<keystore::TokenInfo>(
      list, page, [](const keystore::TokenInfo& t) { return t.id; }, TokenToJson, "tokens");
}

Result<void> AdminService::RevokeToken(const Actor& a, std::string_view id, const std::string& rid) {
  auto t = keys_.GetToken(id);
  if (!t) return t.error();
  SKR_TRY_VOID(Authorize(a, Permission::kIssueTokens, OptView(t->tenant)));
  // Recorded under the token's tenant, so that tenant's auditors see the revocation.
  const std::string tenant = t->tenant.value_or("");
  SKR_TRY_VOID(AuditIntent(a, rid, "token.revoke", tenant, std::string(id)));
  auto r = keys_.RevokeToken(id);
  SKR_TRY_VOID(AuditAdmin(a, "token.revoke", tenant, std::string(id), std::nullopt, rid, r));
  return r;
}

Result<Json> AdminService::CreateKey(const Actor& a, std::string_view tenant, std::string_view body,
                               const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(Authorize(a, Permission::kAdminTenant, tenant));
  SKR_TRY(Json req, ParseBodyObject(body, 64 * 1024));
  SKR_TRY(std::string name, GetString(req, "name"));
  SKR_TRY(std::string pol, GetString(req, "policy"));
  SKR_TRY_VOID(CheckName("key", name));
  SKR_TRY_VOID(CheckName("policy", pol));
  const bool imported = req.contains("material");
  SKR_TRY(SecretBytes material, MaterialFromBody(req, false));
  if (auto m = req.find("material"); m != req.end() && m->is_string()) {
    // Wipe the base64 copy of imported material held by the parsed request.
    auto& s = m->get_ref<std::string&>();
    OPENSSL_cleanse(s.data(), s.size());
  }
  SKR_TRY_VOID(AuditIntent(a, rid, imported ? "key.import" : "key.create", std::string(tenant), name));
  auto info = keys_.CreateKey(tenant, name, pol, material, imported ? "imported" : "generated");
  SKR_TRY_VOID(AuditAdmin(a, imported ? "key.import" : "key.create", std::string(tenant), name,
                          info ? std::optional<int>(1) : std::nullopt, rid, Outcome(info)));
  if (!info) return info.error();
  return KeyToJson(*info);
}

Result<Json> AdminService::ListKeys(const Actor& a, std::string_view tenant, const Page& page) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(Authorize(a, Permission::kReadTenant, tenant));
  SKR_TRY(std::vector<keystore::KeyInfo> list, keys_.ListKeys(tenant));
  return Paginate<keystore::KeyInfo>(
      list, page, [](const keystore::KeyInfo& k) { return k.name; }, KeyToJson, "keys");
}

Result<Json> AdminService::GetKey(const Actor& a, std::string_view tenant, std::string_view key) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(CheckName("key", key));
  SKR_TRY_VOID(Authorize(a, Permission::kReadTenant, tenant));
  SKR_TRY(keystore::KeyInfo info, keys_.GetKey(tenant, key));
  return KeyToJson(info);
}

Result<Json> AdminService::RotateKey(const Actor& a, std::string_view tenant, std::string_view key,
                               std::string_view body, const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(CheckName("key", key));
  SKR_TRY_VOID(Authorize(a, Permission::kAdminTenant, tenant));
  SKR_TRY(Json req, ParseBodyObject(body, 64 * 1024));
  const bool imported = req.contains("material");
  SKR_TRY(SecretBytes material, MaterialFromBody(req, false));
  if (auto m = req.find("material"); m != req.end() && m->is_string()) {
    auto& s = m->get_ref<std::string&>();
    OPENSSL_cleanse(s.data(), s.size());
  }
  SKR_TRY_VOID(AuditIntent(a, rid, "key.rotate", std::string(tenant), std::string(key)));
  auto info = keys_.RotateKey(tenant, key, material, imported ? "imported" : "generated");
  std::optional<int> v;
  if (info && !info->versions.empty()) v = info->versions.back().version;
  SKR_TRY_VOID(AuditAdmin(a, "key.rotate", std::string(tenant), std::string(key), v, rid,
                          Outcome(info)));
  if (!info) return info.error();
  return KeyToJson(*info);
}

Result<Json> AdminService::SetVersionState(const Actor& a, std::string_view tenant,
                                     std::string_view key, int version,
                                     keystore::VersionState state, const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(CheckName("key", key));
  SKR_TRY_VOID(Authorize(a, Permission::kAdminTenant, tenant));
  const char* action = state == keystore::VersionState::kEnabled    ? "key.enable"
                       : state == keystore::VersionState::kDisabled ? "key.disable"
                                                                    : "key.destroy";
  SKR_TRY_VOID(AuditIntent(a, rid, action, std::string(tenant), std::string(key)));
  auto info = keys_.SetVersionState(tenant, key, version, state);
  SKR_TRY_VOID(AuditAdmin(a, action, std::string(tenant), std::string(key), version, rid,
                          Outcome(info)));
  if (!info) return info.error();
  return KeyToJson(*info);
}

Result<Json> AdminService::VerifyEvidence(const Actor& a, std::string_view body) {
  SKR_TRY_VOID(Authorize(a, Permission::kVerifyEvidence));
  SKR_TRY(Json req, ParseBodyObject(body, options_.max_json_bytes));
  auto ev = req.find("evidence");
  if (ev == req.end()) return BadRequest("give 'evidence'");
  SKR_TRY(attestation::VerifiedEvidence v, verifiers_.Verify(*ev));
  // A tenant admin sees only its own tenant's enrolled AKs; operators see all.
  if (a.token.role != Role::kOperator) {
    SKR_TRY_VOID(CheckAkTenant(v, a.token.tenant.value_or("")));
  }
  return Json{{"type", v.type}, {"authority", v.authority}, {"claims", ClaimsToJson(v.claims)}};
}

Result<Json> AdminService::ImportSnpCert(const Actor& a, std::string_view body,
                                   const std::string& rid) {
  namespace snp = attestation::snp;
  SKR_TRY_VOID(Authorize(a, Permission::kManageTrust));
  if (options_.snp_trust == nullptr) {
    return Error(ErrorCode::kFailedPrecondition, "sev-snp attestation is disabled", "snp_disabled");
  }
  SKR_TRY(Json req, ParseBodyObject(body, 64 * 1024));
  SKR_TRY(std::string text, GetString(req, "cert"));
  auto cert = ParseCertificateAny(text);
  if (!cert) return BadRequest("'cert' is not a PEM or base64 DER certificate", "snp_cert_malformed");
  auto ext = snp::ParseVcekExtensions(cert->get());
  if (!ext) return Error(ErrorCode::kInvalidArgument, ext.error().message(), ext.error().reason());
  const snp::Signer signer = ext->hw_id ? snp::Signer::kVcek : snp::Signer::kVlek;
  // Only certificates that chain to a trusted AMD root enter the cache.
  auto endorsed = snp::VerifyEndorsement(cert->get(), signer, *options_.snp_trust, clock_.NowUnix());
  if (!endorsed) {
    (void)AuditAdmin(a, "snp.import_cert", "", "", std::nullopt, rid, endorsed.error());
    return endorsed.error();
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert->get(), &der);
  if (len <= 0) return OpenSslError("i2d_X509");
  std::vector<std::uint8_t> der_bytes(der, der + len);
  OPENSSL_free(der);
  const std::string key = snp::CollateralKey(signer, *ext);
  Json info = {{"lookup", key},
               {"signer", signer == snp::Signer::kVcek ? "vcek" : "vlek"},
               {"product", snp::ProductName(endorsed->product)},
               {"product_name", ext->product_name},
               {"sha256", HexEncode(Sha256(der_bytes))}};
  SKR_TRY_VOID(AuditIntent(a, rid, "snp.import_cert", "", key));
  auto put = keys_.PutCollateral(kSnpCertKind, key, der_bytes, DumpJson(info));
  SKR_TRY_VOID(AuditAdmin(a, "snp.import_cert", "", key, std::nullopt, rid, put));
  if (!put) return put.error();
  return info;
}

Result<Json> AdminService::ListSnpCerts(const Actor& a) {
  SKR_TRY_VOID(Authorize(a, Permission::kManageTrust));
  SKR_TRY(std::vector<keystore::KeyStore::Collateral> list, keys_.ListCollateral(kSnpCertKind));
  Json arr = Json::array();
  for (const auto& c : list) {
    auto info = ParseJson(c.info);
    Json j = info ? *info : Json::object();
    j["created_at"] = FormatRfc3339(c.created_at);
    arr.push_back(j);
  }
  return Json{{"certs", arr}};
}

}  // namespace skr::server
