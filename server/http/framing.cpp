// SPDX-License-Identifier: Apache-2.0
#include "server/http/framing.h"

#include <algorithm>
#include <cctype>

namespace skr::server::http {
namespace {

namespace bhttp = boost::beast::http;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "http://a/b" -> {"a", "/b"}; nullopt when not absolute-form.
std::optional<std::pair<std::string_view, std::string_view>> SplitAbsolute(
    std::string_view target) {
  const auto lower = Lower(target.substr(0, 8));
  std::size_t scheme = 0;
  if (lower.rfind("https://", 0) == 0) {
    scheme = 8;
  } else if (lower.rfind("http://", 0) == 0) {
    scheme = 7;
  } else {
    return std::nullopt;
  }
  std::string_view rest = target.substr(scheme);
  const std::size_t end = rest.find_first_of("/?#");
  return std::make_pair(rest.substr(0, end),
                        end == std::string_view::npos ? std::string_view() : rest.substr(end));
}

}  // namespace

std::optional<std::string> CheckFraming(const bhttp::request_header<bhttp::fields>& h) {
  const auto te_count = std::distance(h.equal_range(bhttp::field::transfer_encoding).first,
                                      h.equal_range(bhttp::field::transfer_encoding).second);
  const bool has_cl = h.count(bhttp::field::content_length) != 0;
  if (te_count > 0) {
    if (has_cl) return "Content-Length and Transfer-Encoding together";
    if (te_count > 1) return "more than one Transfer-Encoding field";
    if (Lower(TrimOws(h[bhttp::field::transfer_encoding])) != "chunked") {
      return "Transfer-Encoding must be exactly 'chunked'";
    }
  }
  const auto host_count = std::distance(h.equal_range(bhttp::field::host).first,
                                        h.equal_range(bhttp::field::host).second);
  if (h.version() >= 11 && host_count != 1) return "HTTP/1.1 request needs exactly one Host field";
  if (host_count > 1) return "more than one Host field";
  const std::string_view target(h.target().data(), h.target().size());
  if (target.empty()) return "empty request target";
  if (target.front() == '/') return std::nullopt;
  auto abs = SplitAbsolute(target);
  if (!abs) return "request target must be origin-form or absolute-form";
  const std::string_view host(h[bhttp::field::host].data(), h[bhttp::field::host].size());
  if (abs->first.empty() || Lower(abs->first) != Lower(TrimOws(host))) {
    return "absolute-form authority differs from Host";
  }
  if (abs->first.find('@') != std::string_view::npos) return "userinfo in request target";
  return std::nullopt;
}

std::string OriginForm(std::string_view target) {
  if (!target.empty() && target.front() == '/') return std::string(target);
  auto abs = SplitAbsolute(target);
  if (!abs) return std::string(target);
  std::string_view rest = abs->second;
  if (rest.empty() || rest.front() != '/') return "/" + std::string(rest);
  return std::string(rest);
}

}  // namespace skr::server::http
