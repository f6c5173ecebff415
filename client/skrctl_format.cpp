// SPDX-License-Identifier: Apache-2.0
#include "client/skrctl_format.h"

#include "common/clock.h"

#include <algorithm>
#include <cctype>

namespace skr::client {
namespace {

void Flatten(const Json& value, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (value.is_object() && !value.empty()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      Flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    }
    return;
  }
  out.emplace_back(prefix, Cell(value));
}

std::string Upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

}  // namespace

std::string Cell(const Json& value) {
  if (value.is_null()) return "-";
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    return s.empty() ? "-" : s;
  }
  return DumpJson(value);
}

std::string Field(const Json& obj, std::string_view name) {
  if (!obj.is_object()) return "-";
  auto it = obj.find(std::string(name));
  if (it == obj.end()) return "-";
  return Cell(*it);
}

std::string RenderTable(const std::vector<std::string>& headers,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(headers.size(), 0);
  for (std::size_t c = 0; c < headers.size(); ++c) width[c] = headers[c].size();
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < width.size(); ++c) {
      const std::string& cell = c < cells.size() ? cells[c] : std::string("-");
      s += cell;
      if (c + 1 < width.size()) s += std::string(width[c] - cell.size() + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + "\n";
  };
  std::string out = line(headers);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string RenderList(const Json& body, std::string_view list_member,
                       const std::vector<std::string>& columns) {
  std::vector<std::string> headers;
  for (const auto& c : columns) headers.push_back(Upper(c));
  std::vector<std::vector<std::string>> rows;
  if (body.is_object()) {
    auto it = body.find(std::string(list_member));
    if (it != body.end() && it->is_array()) {
      for (const auto& item : *it) {
        std::vector<std::string> row;
        for (const auto& c : columns) row.push_back(Field(item, c));
        rows.push_back(std::move(row));
      }
    }
  }
  return RenderTable(headers, rows);
}

std::vector<std::pair<std::string, std::string>> FlattenJson(const Json& value) {
  std::vector<std::pair<std::string, std::string>> out;
  Flatten(value, "", out);
  std::sort(out.begin(), out.end());
  return out;
}

std::string FormatKey(const Json& key) {
  const bool pinned = key.is_object() && key.contains("policy_version") && !key["policy_version"].is_null();
  std::string out = "key " + Field(key, "tenant") + "/" + Field(key, "name") + "  policy " +
                    Field(key, "policy") +
                    (pinned ? " (pinned to version " + Field(key, "policy_version") + ")" : " (newest version)") +
                    "  created " + Field(key, "created_at") + "\n";
  std::vector<std::vector<std::string>> rows;
  if (key.is_object() && key.contains("versions") && key["versions"].is_array()) {
    for (const auto& v : key["versions"]) {
      rows.push_back({Field(v, "version"), Field(v, "state"), Field(v, "origin"),
                      Field(v, "length"), Field(v, "created_at")});
    }
  }
  out += RenderTable({"VERSION", "STATE", "ORIGIN", "LENGTH", "CREATED_AT"}, rows);
  return out;
}

std::string FormatKeyList(const Json& body) {
  std::vector<std::vector<std::string>> rows;
  if (body.is_object() && body.contains("keys") && body["keys"].is_array()) {
    for (const auto& k : body["keys"]) {
      std::size_t count = 0;
      std::string latest = "-";
      if (k.is_object() && k.contains("versions") && k["versions"].is_array()) {
        count = k["versions"].size();
        if (count > 0) latest = Field(k["versions"].back(), "version");
      }
      rows.push_back({Field(k, "name"), Field(k, "policy"), std::to_string(count), latest,
                      Field(k, "created_at")});
    }
  }
  return RenderTable({"NAME", "POLICY", "VERSIONS", "LATEST", "CREATED_AT"}, rows);
}

std::string FormatCreatedToken(const Json& body) {
  std::string out = "id: " + Field(body, "id") + "\n";
  out += "token: " + Field(body, "token") + "\n";
  out += "role: " + Field(body, "role") + "\n";
  out += "tenant: " + Field(body, "tenant") + "\n";
  out += "expires_at: " + Field(body, "expires_at") + "\n";
  return out;
}

std::string FormatEvaluation(const Json& body) {
  std::string out = "decision: " + Field(body, "decision") + "\n";
  out += "reason: " + Field(body, "reason") + "\n";
  if (body.is_object() && body.contains("trace") && body["trace"].is_array()) {
    out += "trace:\n";
    for (const auto& t : body["trace"]) out += "  " + Cell(t) + "\n";
  }
  return out;
}

std::string FormatAuditEntries(const Json& body) {
  // Times as RFC 3339 (UTC), not the epoch seconds the records carry.
  Json shown = body;
  if (shown.is_object() && shown.contains("entries") && shown["entries"].is_array()) {
    for (auto& e : shown["entries"]) {
      if (e.is_object() && e.contains("time") && e["time"].is_number_integer()) {
        e["time"] = FormatRfc3339(e["time"].get<std::int64_t>());
      }
    }
  }
  std::string out = RenderList(shown, "entries",
                               {"seq", "time", "kind", "action", "actor", "tenant", "key",
                                "version", "decision", "reason"});
  if (body.is_object() && body.contains("next_from_seq") && !body["next_from_seq"].is_null()) {
    out += "next_from_seq: " + Cell(body["next_from_seq"]) + "\n";
  }
  return out;
}

std::string FormatClaims(const Json& claims) {
  std::string out;
  for (const auto& [path, value] : FlattenJson(claims)) out += path + " = " + value + "\n";
  return out;
}

}  // namespace skr::client
