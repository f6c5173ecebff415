// SPDX-License-Identifier: Apache-2.0
// The one place where ErrorCode becomes an HTTP status and an RFC 7807 problem document.
#pragma once

#include <string>

#include "common/result.h"
#include "server/http/message.h"

namespace skr::server::http {

unsigned HttpStatusFor(ErrorCode code);
const char* StatusTitle(unsigned status);
// {"type": "urn:skr:problem:<reason>", "title", "status", "detail", "request_id"}.
Response ProblemResponse(const Error& error, const std::string& request_id);

}  // namespace skr::server::http
