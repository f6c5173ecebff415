// SPDX-License-Identifier: Apache-2.0
// Issue 9, item 9: secrets do not linger in skrd's memory after the request that carried them.
// A real skrd (loopback TLS, real SQLite) takes a key import, a rotation with imported material
// and a freshly minted bearer token used once; then the test reads every readable, writable
// mapping of the skrd process through /proc/<pid>/mem (the test is its parent, so ptrace access
// is allowed) and searches for the key bytes, their base64 and the token. Freed heap blocks
// (including those held in ASan's quarantine) count: they are exactly what a core dump or a
// later heap bug would expose.
#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "tests/integration/skrd_fixture.h"

using skr::Json;
using skr::test::Skrd;

namespace {

struct Needle {
  std::string name;
  std::string bytes;
};

struct Region {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

// Readable and writable mappings, except huge reservations (ASan's shadow: terabytes of
// never-touched MAP_NORESERVE pages).
std::vector<Region> WritableRegions(pid_t pid) {
  std::vector<Region> out;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream in(line);
    std::string range;
    std::string perms;
    in >> range >> perms;
    if (perms.size() < 2 || perms[0] != 'r' || perms[1] != 'w') continue;
    if (line.find("[vvar]") != std::string::npos) continue;
    const auto dash = range.find('-');
    Region r;
    r.begin = std::stoull(range.substr(0, dash), nullptr, 16);
    r.end = std::stoull(range.substr(dash + 1), nullptr, 16);
    if (r.end - r.begin > (std::uint64_t{1} << 30)) continue;
    out.push_back(r);
  }
  return out;
}

// How many times each needle occurs in the process's writable memory.
std::vector<int> Scan(pid_t pid, const std::vector<Needle>& needles, std::uint64_t* scanned) {
  std::vector<int> hits(needles.size(), 0);
  const int fd = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  std::size_t overlap = 0;
  for (const auto& n : needles) overlap = std::max(overlap, n.bytes.size());
  constexpr std::size_t kChunk = 1 << 20;
  std::vector<char> buf(kChunk + overlap);
  *scanned = 0;
  for (const Region& r : WritableRegions(pid)) {
    std::size_t carried = 0;
    for (std::uint64_t at = r.begin; at < r.end;) {
      const std::size_t want =
          static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, r.end - at));
      const ssize_t got = ::pread(fd, buf.data() + carried, want, static_cast<off_t>(at));
      if (got <= 0) break;  // e.g. a guard page: skip the rest of the region
      *scanned += static_cast<std::uint64_t>(got);
      const std::size_t len = carried + static_cast<std::size_t>(got);
      for (std::size_t i = 0; i < needles.size(); ++i) {
        const auto& n = needles[i].bytes;
        const char* p = buf.data();
        const char* end = buf.data() + len;
        while (p < end) {
          const void* f = memmem(p, static_cast<std::size_t>(end - p), n.data(), n.size());
          if (f == nullptr) break;
          // Matches wholly inside the carried prefix were counted in the previous chunk.
          if (static_cast<const char*>(f) + n.size() > buf.data() + carried) ++hits[i];
          p = static_cast<const char*>(f) + 1;
        }
      }
      carried = std::min(overlap - 1, len);
      std::memmove(buf.data(), buf.data() + len - carried, carried);
      at += static_cast<std::uint64_t>(got);
    }
  }
  ::close(fd);
  return hits;
}

std::string RandomBytes(std::size_t n) {
  std::string out(n, '\0');
  REQUIRE(RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) == 1);
  return out;
}

}  // namespace

TEST_CASE("Memory: imported key material and bearer tokens are wiped from skrd after use",
          "[integration][secrets]") {
  Skrd skrd;
  REQUIRE(skrd.Start());
  const Json policy = Json::parse(
      R"({"anyOf":[{"authority":"skr:local","allOf":[{"claim":"tee","equals":"sample"}]}]})");

  const std::string first = RandomBytes(32);
  const std::string second = RandomBytes(48);
  const std::string first_b64 = skr::Base64Encode(skr::AsBytes(first));
  const std::string second_b64 = skr::Base64Encode(skr::AsBytes(second));
  const std::string admin = skrd.SetUpTenant("acme", "p", policy, "disk", first_b64).admin_token;

  auto rot = skrd.Post("/v1/tenants/acme/keys/disk/rotate", {{"material", second_b64}}, admin);
  REQUIRE(rot.status == 200);
  auto tok = skrd.Post("/v1/tokens", {{"role", "auditor"}, {"tenant", "acme"}}, admin);
  REQUIRE(tok.status == 201);
  const std::string token = tok.json["token"].get<std::string>();
  REQUIRE(skrd.Get("/v1/audit/entries?limit=5", token).status == 200);

  // The last response leaves the server before its buffers are released: give the I/O thread
  // a moment to finish the write and free them.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  const std::vector<Needle> needles = {{"imported key bytes", first},
                                       {"imported key base64", first_b64},
                                       {"rotated key bytes", second},
                                       {"rotated key base64", second_b64},
                                       {"bearer token (minted and used)", token},
                                       {"admin bearer token", admin}};
  std::uint64_t scanned = 0;
  const auto hits = Scan(skrd.pid(), needles, &scanned);
  INFO("scanned " << scanned / 1024 << " KiB of skrd's writable memory");
  CHECK(scanned > 1024 * 1024);
  for (std::size_t i = 0; i < needles.size(); ++i) {
    INFO(needles[i].name);
    CHECK(hits[i] == 0);
  }
}
