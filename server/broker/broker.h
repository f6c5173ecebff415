// SPDX-License-Identifier: Apache-2.0
// Transport-free use cases of skrd (DESIGN.md sections 2 and 8), as three services over one
// shared context: release (challenge, release; release_service.h), admin (tenants, tokens,
// policies, keys, TEE trust material, TPM enrolment; admin_service.h) and audit queries (records,
// replays; audit_queries.h), each authorized by Authorize (authorize.h). Composes keystore,
// attestation, policy and audit; knows nothing about HTTP: the router in server/http maps paths
// to these calls and Errors to status codes. Thread-safe.
#pragma once

#include <string_view>

#include "common/result.h"
#include "server/broker/admin_service.h"
#include "server/broker/audit_queries.h"
#include "server/broker/authorize.h"
#include "server/broker/broker_context.h"
#include "server/broker/release_service.h"

namespace skr::server {

class Broker {
 public:
  Broker(keystore::KeyStore& keys, audit::AuditLog& audit, const attestation::Registry& verifiers,
         const Clock& clock, BrokerOptions options);

  bool sealed() const { return ctx_.keys.sealed(); }
  // Bearer token -> actor. kUnauthenticated.
  Result<Actor> Authenticate(std::string_view authorization_header);

  ReleaseService& release() { return release_; }
  AdminService& admin() { return admin_; }
  AuditQueryService& audit_queries() { return queries_; }
  const ReleaseStats& stats() const { return release_.stats(); }

 private:
  BrokerContext ctx_;
  ReleaseService release_;
  AuditQueryService queries_;
  AdminService admin_;
};

}  // namespace skr::server
