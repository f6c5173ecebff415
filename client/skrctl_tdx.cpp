// SPDX-License-Identifier: Apache-2.0
// `skrctl tdx import-collateral|collateral` (operator): Intel TDX collateral for skrd, taken
// verbatim from Intel PCS (or a PCCS) by the operator; skrd never fetches it.
//   tcb_info       GET https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=...
//   qe_identity    GET .../tdx/certification/v4/qe/identity
//   signing chain  the TCB-Info-Issuer-Chain response header, URL-decoded (PEM)
//   pck_crls       GET .../sgx/certification/v4/pckcrl?ca=platform (and ca=processor), DER
//   root_ca_crl    https://certificates.trustedservices.intel.com/IntelSGXRootCA.der
#include <memory>
#include <string>
#include <vector>

#include "client/skrctl_cli.h"
#include "common/encoding.h"

namespace skr::client::cli {
namespace {

struct TdxOptions {
  std::vector<std::string> tcb_infos;
  std::string qe_identity, signing_chain, root_crl;
  std::vector<std::string> pck_crls;
};

constexpr std::size_t kMaxCollateralFile = 1u << 20;

// A CRL file as the API takes it: PEM text as is, DER as base64.
Result<std::string> CrlMember(const std::string& path) {
  SKR_TRY(std::string raw, ReadInput(path, kMaxCollateralFile));
  if (raw.find("-----BEGIN") != std::string::npos) return raw;
  return Base64Encode(AsBytes(raw));
}

}  // namespace

void AddTdxCommands(CLI::App& app, const On& on) {
  auto o = std::make_shared<TdxOptions>();
  CLI::App* tdx = app.add_subcommand("tdx", "Intel TDX collateral (operator)");
  tdx->require_subcommand(1);
  auto* ic = tdx->add_subcommand(
      "import-collateral",
      "import Intel PCS collateral (verified by skrd to the Intel SGX Root CA before it is kept)");
  ic->add_option("--tcb-info", o->tcb_infos, "PCS TCB Info response body, verbatim (repeatable: one per FMSPC)");
  ic->add_option("--qe-identity", o->qe_identity, "PCS TDX QE Identity response body, verbatim");
  ic->add_option("--tcb-signing-chain", o->signing_chain,
                 "PEM: the TCB-Info-Issuer-Chain header (TCB signing certificate, root)");
  ic->add_option("--pck-crl", o->pck_crls, "PCK CA CRL, DER or PEM (repeatable: platform, processor)");
  ic->add_option("--root-ca-crl", o->root_crl, "Intel SGX Root CA CRL, DER or PEM");
  on(ic, [o](Ctx& ctx) {
    Json body = Json::object();
    if (!o->tcb_infos.empty()) {
      Json list = Json::array();
      for (const auto& f : o->tcb_infos) {
        auto text = ReadInput(f, kMaxCollateralFile);
        if (!text) return UsageError(text.error().message());
        list.push_back(*text);
      }
      body["tcb_info"] = list;
    }
    for (const auto& [member, path] : {std::pair<const char*, std::string*>{"qe_identity", &o->qe_identity},
                                       {"tcb_signing_chain", &o->signing_chain}}) {
      if (path->empty()) continue;
      auto text = ReadInput(*path, kMaxCollateralFile);
      if (!text) return UsageError(text.error().message());
      body[member] = *text;
    }
    if (!o->pck_crls.empty()) {
      Json list = Json::array();
      for (const auto& f : o->pck_crls) {
        auto crl = CrlMember(f);
        if (!crl) return UsageError(crl.error().message());
        list.push_back(*crl);
      }
      body["pck_crls"] = list;
    }
    if (!o->root_crl.empty()) {
      auto crl = CrlMember(o->root_crl);
      if (!crl) return UsageError(crl.error().message());
      body["root_ca_crl"] = *crl;
    }
    if (body.empty()) return UsageError("nothing to import: give --tcb-info and the other files");
    auto r = ctx.api().Post("/v1/attestation/tdx/collateral", body);
    if (!r) return ctx.ApiError(r.error());
    std::string text = "TDX collateral in force, next update " +
                       r->value("next_update", std::string("?")) + "\n";
    for (const auto& t : (*r)["tcb_infos"]) {
      text += "  FMSPC " + t.value("fmspc", std::string("?")) + "  issued " +
              t.value("issue_date", std::string("?")) + "  next update " +
              t.value("next_update", std::string("?")) + "\n";
    }
    return ctx.Emit(*r, text);
  });
  auto* show = tdx->add_subcommand("collateral", "show the TDX collateral in force");
  on(show, [](Ctx& ctx) {
    auto r = ctx.api().Get("/v1/attestation/tdx/collateral");
    if (!r) return ctx.ApiError(r.error());
    if (!r->value("imported", false)) return ctx.Emit(*r, "no TDX collateral imported\n");
    std::string text = std::string(r->value("stale", false) ? "STALE: " : "") +
                       "next update " + r->value("next_update", std::string("?")) + "\n";
    for (const auto& t : (*r)["tcb_infos"]) {
      text += "  FMSPC " + t.value("fmspc", std::string("?")) + "  TCB evaluation " +
              std::to_string(t.value("tcb_evaluation_data_number", 0)) + "  next update " +
              t.value("next_update", std::string("?")) + "\n";
    }
    return ctx.Emit(*r, text);
  });
}

}  // namespace skr::client::cli
