// SPDX-License-Identifier: Apache-2.0
// Stored policies that predate the safe-default rules (DESIGN.md section 4): skrd keeps
// evaluating them, and `skrd check-config` lists them so an operator can have them re-stored.
#pragma once

#include "common/json.h"
#include "common/result.h"
#include "keystore/keystore.h"

namespace skr::server {

// The newest version of every tenant's policies whose skr:local paths can grant without
// constraining "tee": [{"tenant", "policy", "version", "tee_unconstrained": [paths]}]. A stored
// document that no longer parses is listed with "error". Errors: the keystore's.
Result<Json> PoliciesWithoutTee(keystore::KeyStore& keys);

// The newest version of every tenant's policies with conditions the store-time lint refuses
// today (Policy::Lint; stored before it): [{"tenant", "policy", "version", "lint": [{"path",
// "message"}]}]. Errors: the keystore's.
Result<Json> PoliciesWithLintProblems(keystore::KeyStore& keys);

}  // namespace skr::server
