// SPDX-License-Identifier: Apache-2.0
#include "server/broker/tee_routes.h"

#include <optional>

#include "server/broker/broker.h"

namespace skr::server {
namespace {

Result<Json> Done(const Result<void>& r) {
  if (!r) return r.error();
  return Json::object();
}

constexpr TeeRoute kSnp[] = {
    {"POST", "/v1/attestation/snp/certs", 201,
     [](Broker& b, const Actor& a, const std::vector<std::string>&, std::string_view body,
        const std::string& rid) { return b.admin().ImportSnpCert(a, body, rid); }},
    {"GET", "/v1/attestation/snp/certs", 200,
     [](Broker& b, const Actor& a, const std::vector<std::string>&, std::string_view,
        const std::string&) { return b.admin().ListSnpCerts(a); }},
};

constexpr TeeRoute kTpm[] = {
    {"POST", "/v1/tenants/{tenant}/tpm/enrollments", 201,
     [](Broker& b, const Actor& a, const std::vector<std::string>& p, std::string_view body,
        const std::string& rid) { return b.admin().BeginTpmEnrollment(a, p[0], body, rid); }},
    {"POST", "/v1/tenants/{tenant}/tpm/enrollments/{id}/activate", 200,
     [](Broker& b, const Actor& a, const std::vector<std::string>& p, std::string_view body,
        const std::string& rid) { return b.admin().ActivateTpmEnrollment(a, p[0], p[1], body, rid); }},
    {"GET", "/v1/tenants/{tenant}/tpm/aks", 200,
     [](Broker& b, const Actor& a, const std::vector<std::string>& p, std::string_view,
        const std::string&) { return b.admin().ListTpmAks(a, p[0]); }},
    {"DELETE", "/v1/tenants/{tenant}/tpm/aks/{id}", 204,
     [](Broker& b, const Actor& a, const std::vector<std::string>& p, std::string_view,
        const std::string& rid) { return Done(b.admin().DeleteTpmAk(a, p[0], p[1], rid)); }},
};

constexpr TeeRoute kTdx[] = {
    {"POST", "/v1/attestation/tdx/collateral", 201,
     [](Broker& b, const Actor& a, const std::vector<std::string>&, std::string_view body,
        const std::string& rid) { return b.admin().ImportTdxCollateral(a, body, rid); }},
    {"GET", "/v1/attestation/tdx/collateral", 200,
     [](Broker& b, const Actor& a, const std::vector<std::string>&, std::string_view,
        const std::string&) { return b.admin().GetTdxCollateral(a); }},
};

}  // namespace

std::span<const TeeRoute> SnpRoutes() { return kSnp; }
std::span<const TeeRoute> TpmRoutes() { return kTpm; }
std::span<const TeeRoute> TdxRoutes() { return kTdx; }

std::vector<TeeRoute> AllTeeRoutes() {
  std::vector<TeeRoute> out;
  for (auto table : {SnpRoutes(), TpmRoutes(), TdxRoutes()}) out.insert(out.end(), table.begin(), table.end());
  return out;
}

std::optional<std::vector<std::string>> MatchTeeRoute(std::string_view pattern,
                                                      const std::vector<std::string>& segs) {
  std::vector<std::string> params;
  std::size_t i = 0;
  if (!pattern.empty() && pattern.front() == '/') pattern.remove_prefix(1);
  while (!pattern.empty()) {
    const std::size_t slash = pattern.find('/');
    const std::string_view part = pattern.substr(0, slash);
    pattern = slash == std::string_view::npos ? std::string_view() : pattern.substr(slash + 1);
    if (i >= segs.size()) return std::nullopt;
    if (part.size() >= 2 && part.front() == '{' && part.back() == '}') {
      params.push_back(segs[i]);
    } else if (part != segs[i]) {
      return std::nullopt;
    }
    ++i;
  }
  if (i != segs.size()) return std::nullopt;
  return params;
}

}  // namespace skr::server
