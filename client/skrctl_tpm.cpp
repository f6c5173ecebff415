// SPDX-License-Identifier: Apache-2.0
// `skrctl tpm enroll|list|delete` (admin of the tenant; enroll runs on the machine).
#include <openssl/crypto.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/skrctl_cli.h"
#include "client/skrctl_format.h"
#include "client/tpm_attester.h"
#include "common/encoding.h"
#include "common/ossl.h"

namespace skr::client::cli {
namespace {

// Option storage of the tpm commands (only one runs); kept alive by the registered actions.
struct TpmOptions {
  std::string ak_id;
  std::string ak_type_text = "ecc";
  std::string ek_cert_file;
  std::string ek_chain_file;
  std::string ek_type_text = "rsa";
  std::string machine;
  std::string tcti;
  std::string tenant;
};

}  // namespace

void AddTpmCommands(CLI::App& app, const On& on) {
  auto o = std::make_shared<TpmOptions>();
  CLI::App* tpm_cmd = app.add_subcommand("tpm", "TPM attestation keys (admin of the tenant)");
  tpm_cmd->require_subcommand(1);
  {
    auto* en = tpm_cmd->add_subcommand(
        "enroll",
        "enrol this machine's TPM AK: sends the EK certificate and AK to skrd and answers its "
        "MakeCredential challenge with TPM2_ActivateCredential (run on the machine)");
    en->add_option("--tenant", o->tenant, "tenant")->required();
    en->add_option("--name", o->machine, "machine name (unique in the tenant)")->required();
    en->add_option("--tcti", o->tcti, "TSS2 TCTI (default $TPM2TOOLS_TCTI, else device:/dev/tpmrm0)");
    en->add_option("--ak-type", o->ak_type_text, "AK algorithm: ecc (P-256, default) or rsa (2048)");
    en->add_option("--ek-type", o->ek_type_text, "EK: rsa (template L-1, default) or ecc (L-2, NIST P-256)");
    en->add_option("--ek-cert", o->ek_cert_file,
                   "EK certificate file (default: read from TPM NV 0x01c00002 for rsa, 0x01c0000a for ecc)");
    en->add_option("--ek-chain", o->ek_chain_file, "PEM bundle of EK intermediate CA certificates");
    on(en, [o](Ctx& ctx) -> int {
      auto ak_type = ParseTpmAkType(o->ak_type_text);
      if (!ak_type) return UsageError(ak_type.error().message());
      auto ek_type = ParseTpmEkType(o->ek_type_text);
      if (!ek_type) return UsageError(ek_type.error().message());
      auto path = TenantPath(o->tenant, {"tpm", "enrollments"});
      if (!path) return UsageError(path.error().message());
      auto tpm = TpmDevice::Open(ResolveTcti(o->tcti), *ak_type, *ek_type);
      if (!tpm) return ctx.ApiError(tpm.error());
      std::string ek_pem;
      if (!o->ek_cert_file.empty()) {
        auto raw = ReadInput(o->ek_cert_file, 64 * 1024);
        if (!raw) return UsageError(raw.error().message());
        ek_pem = raw->find("-----BEGIN") != std::string::npos ? *raw : skr::Base64Encode(skr::AsBytes(*raw));
      } else {
        auto pem = (*tpm)->EkCertificatePem();
        if (!pem) return ctx.ApiError(pem.error());
        ek_pem = *pem;
      }
      auto ak_pub = (*tpm)->AkPublic();
      if (!ak_pub) return ctx.ApiError(ak_pub.error());
      auto ek_pub = (*tpm)->EkPublic();
      if (!ek_pub) return ctx.ApiError(ek_pub.error());
      Json body{{"name", o->machine},
                {"ak_public", skr::Base64Encode(*ak_pub)},
                {"ek_cert", ek_pem},
                {"ek_public", skr::Base64Encode(*ek_pub)}};
      if (!o->ek_chain_file.empty()) {
        auto chain = ReadInput(o->ek_chain_file, 64 * 1024);
        if (!chain) return UsageError(chain.error().message());
        body["ek_chain"] = *chain;
      }
      auto begun = ctx.api().Post(*path, body);
      if (!begun) return ctx.ApiError(begun.error());
      if (begun->value("state", std::string()) == "active") {
        return ctx.Emit(*begun, "enrolled " + begun->value("name", std::string()) + " as " +
                                    begun->value("id", std::string()) + "\n");
      }
      auto blob = skr::Base64Decode(begun->value("credential_blob", std::string()));
      auto secret_in = skr::Base64Decode(begun->value("encrypted_secret", std::string()));
      const std::string enrol_id = begun->value("id", std::string());
      if (!blob || !secret_in || enrol_id.empty()) return ctx.ApiError(Error(ErrorCode::kInternal, "bad enrolment answer", "bad_response"));
      auto secret = (*tpm)->ActivateCredential(*blob, *secret_in);
      if (!secret) return ctx.ApiError(secret.error());
      std::string secret_b64 = skr::Base64Encode(secret->Reveal());
      auto done = ctx.api().Post(*path + "/" + enrol_id + "/activate", Json{{"secret", secret_b64}});
      OPENSSL_cleanse(secret_b64.data(), secret_b64.size());
      if (!done) return ctx.ApiError(done.error());
      return ctx.Emit(*done, "enrolled " + done->value("name", std::string()) + " as " +
                                 done->value("id", std::string()) + "\n");
    });
    auto* ls = tpm_cmd->add_subcommand("list", "list the tenant's enrolled AKs");
    ls->add_option("--tenant", o->tenant, "tenant")->required();
    on(ls, [o](Ctx& ctx) {
      auto path = TenantPath(o->tenant, {"tpm", "aks"});
      if (!path) return UsageError(path.error().message());
      auto r = ctx.api().Get(*path);
      if (!r) return ctx.ApiError(r.error());
      std::string text;
      for (const auto& ak : (*r)["aks"]) {
        text += ak.value("id", std::string()) + "  " + ak.value("name", std::string()) + "  " +
                ak.value("state", std::string()) + "  " + ak.value("created_at", std::string()) + "\n";
      }
      return ctx.Emit(*r, text);
    });
    auto* rm = tpm_cmd->add_subcommand("delete", "revoke an enrolled AK");
    rm->add_option("--tenant", o->tenant, "tenant")->required();
    rm->add_option("ID", o->ak_id, "AK id")->required();
    on(rm, [o](Ctx& ctx) {
      auto path = TenantPath(o->tenant, {"tpm", "aks", o->ak_id});
      if (!path) return UsageError(path.error().message());
      auto r = ctx.api().Delete(*path);
      if (!r) return ctx.ApiError(r.error());
      return ctx.Emit(Json{{"deleted", o->ak_id}}, "deleted " + o->ak_id + "\n");
    });
  }
}

}  // namespace skr::client::cli
