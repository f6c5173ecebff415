// SPDX-License-Identifier: Apache-2.0
// HTTP/1.1 message framing rules skrd enforces on request headers before reading a body
// (RFC 9112): a request whose framing two parsers could read differently (request smuggling
// through a proxy) is refused with 400 and the connection closed.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <optional>
#include <string>

namespace skr::server::http {

// The refusal detail, or nullopt when the header is acceptable:
// - Content-Length together with any Transfer-Encoding (RFC 9112 section 6.3 item 3: "ought to
//   be handled as an error"); a Transfer-Encoding other than exactly one "chunked" coding
//   (section 6.1: chunked must be final, and we know no other coding); more than one
//   Transfer-Encoding field line;
// - an HTTP/1.1 request without exactly one Host field line (section 3.2: 400);
// - a request target in absolute-form whose authority is not the Host field value (section
//   3.2.2: our own authority, as the client named it in Host, is accepted), or in
//   authority-form / asterisk-form (CONNECT and OPTIONS * are not ours).
std::optional<std::string> CheckFraming(
    const boost::beast::http::request_header<boost::beast::http::fields>& header);

// The origin-form of a target: "/path?query" unchanged; "https://host:port/path?q" -> "/path?q"
// ("/" when the path is empty). Call after CheckFraming accepted the header.
std::string OriginForm(std::string_view target);

}  // namespace skr::server::http
