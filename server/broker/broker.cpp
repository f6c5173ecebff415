// SPDX-License-Identifier: Apache-2.0
#include "server/broker/broker.h"

namespace skr::server {

BrokerRefs::BrokerRefs(BrokerContext& c)
    : keys_(c.keys),
      audit_(c.audit),
      verifiers_(c.verifiers),
      clock_(c.clock),
      options_(c.options),
      key_cache_(c.key_cache),
      policy_cache_(c.policy_cache) {}

Broker::Broker(keystore::KeyStore& keys, audit::AuditLog& audit,
               const attestation::Registry& verifiers, const Clock& clock, BrokerOptions options)
    : ctx_{keys, audit, verifiers, clock, std::move(options)},
      release_(ctx_),
      queries_(ctx_, release_),
      admin_(ctx_, release_, queries_) {}

Result<Actor> Broker::Authenticate(std::string_view header) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.substr(0, kBearer.size()) != kBearer) {
    return Error(ErrorCode::kUnauthenticated, "missing bearer token", "unauthenticated");
  }
  std::string_view secret = header.substr(kBearer.size());
  if (secret.size() > 256) {
    return Error(ErrorCode::kUnauthenticated, "invalid token", "unauthenticated");
  }
  SKR_TRY(keystore::TokenInfo t, ctx_.keys.Authenticate(secret));
  Actor a;
  a.token = std::move(t);
  return a;
}

}  // namespace skr::server
