// SPDX-License-Identifier: Apache-2.0
// TPM AK enrolment (issue 4; DESIGN.md section 8), part of the admin service: a tenant admin
// registers a machine's AK, proven resident in the same TPM as a certified EK by a
// MakeCredential / ActivateCredential round trip.
#include <string>

#include "attestation/tpm/enrollment.h"
#include "attestation/tpm/tpm_verifier.h"
#include "common/encoding.h"
#include "common/ossl.h"
#include "common/x509.h"
#include "server/broker/admin_helpers.h"
#include "server/broker/admin_service.h"
#include "server/broker/release_steps.h"

namespace skr::server {

// ---------------------------------------------------------------------- TPM AK enrolment ---

namespace {

Json TpmAkToJson(const keystore::KeyStore::TpmAk& ak) {
  Json j = {{"id", ak.id},           {"tenant", ak.tenant},       {"name", ak.name},
            {"state", ak.state},     {"ak_name", ak.ak_name},     {"ek_sha256", ak.ek_sha256},
            {"created_at", FormatRfc3339(ak.created_at)}};
  if (ak.state == "pending") j["expires_at"] = FormatRfc3339(ak.expires_at);
  if (ak.activated_at != 0) j["activated_at"] = FormatRfc3339(ak.activated_at);
  return j;
}

Result<std::vector<std::uint8_t>> Base64Field(const Json& req, const char* name, std::size_t max_bytes) {
  auto it = req.find(name);
  if (it == req.end() || !it->is_string()) return BadRequest(std::string("'") + name + "' must be a base64 string");
  auto bytes = Base64DecodeAtMost(it->get_ref<const std::string&>(), max_bytes);
  if (!bytes) {
    return BadRequest(std::string("'") + name + (bytes.error().reason() == "too_large" ? "' is too large" : "' is not base64"));
  }
  if (bytes->empty()) return BadRequest(std::string("'") + name + "' is not base64");
  return std::move(bytes).value();
}

}  // namespace

Result<Json> AdminService::BeginTpmEnrollment(const Actor& a, std::string_view tenant, std::string_view body,
                                        const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(Authorize(a, Permission::kAdminTenant, tenant));
  SKR_TRY(Json req, ParseBodyObject(body, 64 * 1024));
  SKR_TRY(std::string name, GetString(req, "name"));
  SKR_TRY_VOID(CheckName("machine", name));
  // Every enrolment attempt is audited: the intent first (no audit, no enrolment), then the
  // outcome, whether the EK, the AK or storage refused it.
  SKR_TRY_VOID(AuditIntent(a, rid, "tpm.enroll", std::string(tenant), name));
  auto result = DoBeginTpmEnrollment(tenant, name, req);
  SKR_TRY_VOID(AuditAdmin(a, "tpm.enroll", std::string(tenant), name, std::nullopt, rid, Outcome(result)));
  return result;
}

Result<Json> AdminService::DoBeginTpmEnrollment(std::string_view tenant, const std::string& name, const Json& req) {
  namespace tpm = attestation::tpm;
  for (auto it = req.begin(); it != req.end(); ++it) {
    const auto& k = it.key();
    if (k != "name" && k != "ak_public" && k != "ek_cert" && k != "ek_chain" && k != "ek_public") {
      return BadRequest("unknown member '" + Clip(k, 32) + "'");
    }
  }
  SKR_TRY(std::vector<std::uint8_t> ak_bytes, Base64Field(req, "ak_public", tpm::kMaxTpmStructBytes));
  SKR_TRY(tpm::EnrollmentAk ak, tpm::CheckEnrollmentAk(ak_bytes));

  keystore::KeyStore::TpmAk rec;
  rec.id = "ak_" + HexEncode(RandomBytes(12));
  rec.tenant = std::string(tenant);
  rec.name = name;
  rec.ak_public = ak_bytes;
  rec.ak_name = HexEncode(ak.name);
  Json response;

  auto ek_it = req.find("ek_cert");
  if (ek_it == req.end()) {
    if (options_.tpm_require_ek) {
      return BadRequest("'ek_cert' is required: AKs are enrolled by proving them resident in the TPM of a "
                        "certified EK (MakeCredential / ActivateCredential)",
                        "tpm_ek_required");
    }
    rec.state = "active";
    SKR_TRY(keystore::KeyStore::TpmAk put, keys_.PutTpmAk(rec, {}));
    return TpmAkToJson(put);
  }

  // ---- EK certificate: chain to a configured EK CA ----
  if (!ek_it->is_string() || ek_it->get_ref<const std::string&>().size() > 32 * 1024) {
    return BadRequest("'ek_cert' must be PEM or base64 DER of at most 32 KiB");
  }
  auto ek_cert = ParseCertificateAny(ek_it->get_ref<const std::string&>());
  if (!ek_cert) return BadRequest("'ek_cert' is not a certificate", "tpm_ek_malformed");
  std::vector<X509Ptr> chain;
  if (auto ch = req.find("ek_chain"); ch != req.end()) {
    if (!ch->is_string() || ch->get_ref<const std::string&>().size() > 64 * 1024) {
      return BadRequest("'ek_chain' must be a PEM bundle of at most 64 KiB");
    }
    auto parsed = ParseCertificatesPem(ch->get_ref<const std::string&>());
    if (!parsed) return BadRequest("'ek_chain' is not a PEM bundle of certificates", "tpm_ek_malformed");
    chain = std::move(parsed).value();
  }
  if (options_.tpm_ek_roots == nullptr || options_.tpm_ek_roots->empty()) {
    return Error(ErrorCode::kFailedPrecondition, "no EK certificate authority is configured ([attestation.tpm] ek_roots)",
                 "tpm_ek_untrusted");
  }
  std::vector<X509*> inter, anchors;
  for (const auto& c : chain) inter.push_back(c.get());
  for (const auto& r : *options_.tpm_ek_roots) anchors.push_back(r.get());
  auto chained = VerifyChainToAnchors(ek_cert->get(), inter, anchors, clock_.NowUnix());
  const auto ek_fp = CertificateSha256(ek_cert->get());
  rec.ek_sha256 = HexEncode(ek_fp);
  if (!chained) {
    return Error(ErrorCode::kVerificationFailed, "EK certificate: " + chained.error().message(), "tpm_ek_untrusted");
  }
  EVP_PKEY* ek_key = X509_get0_pubkey(ek_cert->get());
  tpm::EkParameters params;
  if (req.contains("ek_public")) {
    SKR_TRY(std::vector<std::uint8_t> ek_pub_bytes, Base64Field(req, "ek_public", tpm::kMaxTpmStructBytes));
    SKR_TRY(params, tpm::EkParametersFromPublic(ek_pub_bytes, ek_key));
  }
  // ---- MakeCredential: only the TPM holding this EK and this AK can answer ----
  SKR_TRY(tpm::EnrollmentChallenge challenge, tpm::IssueEnrollmentChallenge(ek_key, params, ak.name));
  rec.state = "pending";
  rec.expires_at = clock_.NowUnix() + options_.tpm_enrollment_ttl_seconds;
  SKR_TRY(keystore::KeyStore::TpmAk put, keys_.PutTpmAk(rec, challenge.secret_sha256));
  response = TpmAkToJson(put);
  response["credential_blob"] = Base64Encode(challenge.challenge.credential_blob);
  response["encrypted_secret"] = Base64Encode(challenge.challenge.encrypted_secret);
  return response;
}

Result<Json> AdminService::ActivateTpmEnrollment(const Actor& a, std::string_view tenant, std::string_view id,
                                           std::string_view body, const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(Authorize(a, Permission::kAdminTenant, tenant));
  if (id.empty() || id.size() > 64) return BadRequest("bad enrolment id");
  SKR_TRY(Json req, ParseBodyObject(body, 4096));
  auto s = Base64Field(req, "secret", 64);
  if (!s) return s.error();
  SecretBytes secret = SecretBytes::CopyFrom(*s);
  OPENSSL_cleanse(s->data(), s->size());
  SKR_TRY_VOID(AuditIntent(a, rid, "tpm.activate", std::string(tenant), std::string(id)));
  auto ak = keys_.ActivateTpmAk(tenant, id, secret.Reveal());
  SKR_TRY_VOID(AuditAdmin(a, "tpm.activate", std::string(tenant), std::string(id), std::nullopt, rid,
                          Outcome(ak)));
  if (!ak) return ak.error();
  return TpmAkToJson(*ak);
}

Result<Json> AdminService::ListTpmAks(const Actor& a, std::string_view tenant) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(Authorize(a, Permission::kAdminTenant, tenant));
  SKR_TRY(std::vector<keystore::KeyStore::TpmAk> list, keys_.ListTpmAks(tenant));
  Json arr = Json::array();
  for (const auto& ak : list) arr.push_back(TpmAkToJson(ak));
  return Json{{"aks", arr}};
}

Result<void> AdminService::DeleteTpmAk(const Actor& a, std::string_view tenant, std::string_view id,
                                 const std::string& rid) {
  SKR_TRY_VOID(CheckName("tenant", tenant));
  SKR_TRY_VOID(Authorize(a, Permission::kAdminTenant, tenant));
  if (id.empty() || id.size() > 64) return BadRequest("bad AK id");
  SKR_TRY_VOID(AuditIntent(a, rid, "tpm.delete_ak", std::string(tenant), std::string(id)));
  auto del = keys_.DeleteTpmAk(tenant, id);
  SKR_TRY_VOID(AuditAdmin(a, "tpm.delete_ak", std::string(tenant), std::string(id), std::nullopt, rid, del));
  return del;
}

}  // namespace skr::server
