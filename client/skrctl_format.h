// SPDX-License-Identifier: Apache-2.0
// Text rendering for skrctl's default output format (short human lines and tables). The JSON
// format prints the server's JSON as is; these helpers never see secrets except the one-time
// token of `token create`, which FormatCreatedToken prints on purpose.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json.h"

namespace skr::client {

// A JSON value as a table cell: strings unquoted, null/missing as "-", others compact JSON.
std::string Cell(const Json& value);
// Cell(obj[name]) or "-" when obj is not an object or lacks name.
std::string Field(const Json& obj, std::string_view name);

// Left-aligned columns separated by two spaces, header row first; every line ends in '\n'.
std::string RenderTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows);

// Renders the array `list_member` of `body` with one column per member name; headers are the
// upper-cased member names.
std::string RenderList(const Json& body, std::string_view list_member,
                       const std::vector<std::string>& columns);

// Flattens nested objects to dot paths ("snp.policy.debug" -> "false"), sorted by path.
std::vector<std::pair<std::string, std::string>> FlattenJson(const Json& value);

// A key's metadata: header line plus a versions table.
std::string FormatKey(const Json& key);
// key list: NAME POLICY VERSIONS LATEST CREATED_AT.
std::string FormatKeyList(const Json& body);
// token create: "id: ...\ntoken: ...\n" plus role, tenant, expires_at.
std::string FormatCreatedToken(const Json& body);
// policy evaluate: decision, reason, then one line per trace entry.
std::string FormatEvaluation(const Json& body);
// audit entries table plus "next_from_seq: N" when more entries exist.
std::string FormatAuditEntries(const Json& body);
// claims as "path = value" lines.
std::string FormatClaims(const Json& claims);

}  // namespace skr::client
