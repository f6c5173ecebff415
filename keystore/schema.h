// SPDX-License-Identifier: Apache-2.0
// Private: keystore schema migrations, numbered in code (DESIGN.md section 5). The applied
// version is PRAGMA user_version; each migration runs in its own write transaction together
// with the user_version bump, so a crash leaves either the old or the new schema.
#pragma once

#include <sqlite3.h>

#include "common/result.h"

namespace skr::keystore::db {

// The newest schema version this build knows.
int LatestSchemaVersion();

// Applies every migration newer than the database's user_version. Idempotent. kUnavailable when
// the database is newer than this build (refuses to run against an unknown schema) or on a
// storage failure.
Result<void> Migrate(sqlite3* db);

}  // namespace skr::keystore::db
