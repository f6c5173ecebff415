// SPDX-License-Identifier: Apache-2.0
#include "tests/fuzz/fuzz_support.h"

#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/ossl.h"

namespace skr::fuzz {
namespace {

// Generated with `openssl genpkey` for these harnesses; they protect nothing.
constexpr char kAttesterP256Pem[] = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg01vdODxaq7vTZ4YB
eycuwfk47xZT9USyodJ0HCny/7ahRANCAATZZYFEC449Dbxc1Cxpni6m2zS9HHHR
1Gxb58IYIzJhEs1cYn0orz++rYFPkb6YuCWqCT5DkBvn438AjGVgE8n2
-----END PRIVATE KEY-----
)";
constexpr char kAttesterP384Pem[] = R"(-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDB7AG8FA0oqonczv6C8
+jtHo/sqIMqjqSDQ7xGl0BEATe4xGPZuFCSZLzxqbklFy6WhZANiAATNeDhX84gm
y4IqLDCx0GILfAGumJnSV9pg9c27lRV6DY5V8VKZrK7+fzJ6ZPlMu9jUBWglFedO
hIlri52nXuZaGHJRHBwbUDgIiW+gDhFf46E/7JqPHXpFuFwQrtOtOvU=
-----END PRIVATE KEY-----
)";
constexpr char kCaP256Pem[] = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgK8K6en7ENwdvxi0m
RWhxsyuC/5mF0yz61m+XMQWtemqhRANCAARI6x2FH/J7wgeZY2c9gDnJaB+2oo+4
oPJQrBELTJrXJCE5xuR1zdxlmudut7KGBo/dudnUhuUufnIJ9Lqibv0o
-----END PRIVATE KEY-----
)";
constexpr char kAkP256Pem[] = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgaTiwaEb0WZ4EqzSh
xeCCChfVSsVikyqYmhZdPnaoNvehRANCAARjnIIpnDBoG3mUZZMtwsb80/hP6JCZ
Ek9yWOZ2n669BD2CBDVDbgj3HRzRn/wEEFBI8ii5QHNdt9oYH8UcHZ3p
-----END PRIVATE KEY-----
)";
constexpr char kAkRsa2048Pem[] = R"(-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCdRkPgpm6mSMDf
HgbMD7aH4itmGeowU1vt7H/1zCYngDN79FkNyPSnolESOVd2N46NwoxWfjrwJ7HB
EGEbDGZjGzB2ocXCtAM/+RkFyf7jbGu5wkz97TWmeBjdLsv8cj23xO2Cu85HzkiE
ceqMH/BSCJVciH/kQmo3F5fDQtmF5M3fW0KWdMgmhNHwdzY8NRw9QWImRHn7u6sI
o9VxGePmbw+sfuiGzhKcB3xzhaNzPVvigs8MufV1hpCgffYHmfqYMCiqR+26oX+F
WdZ/Lk41ff+BfNKPg5PTAUiTzwt4HQLpvUOujY/2fVxmZ/LpCqlU3+laIO4fcWPG
dubvZu9XAgMBAAECggEACMLD6oewMjhrRgJ42R/RndAjdWnheb+q/J3n+DE0ZDmS
pJz/45ywxDBug61eCd/JDmx/6hwt/E1kbB9qyVmaJSXRP/UoUag6u3LiH0hul7c6
aPvsfgNGByKO1VioqZn+MMvEzzuBn3kGNm/XY5GD5DibhAQL273iB3Tw/JeEtnM/
Wcake9+1VLkrSlKf2K6Qd6F/EoY24t5Np7EDty1wQSpW099795ZrD2QcuyFGkaDg
R1fkylG0s5bKOvXzOqmFh28F34pypr0om+WqA18W8X08Qf70H706Y2Fho7D3fo0g
3sHDnT3W40p2zit6p21LuFiucdEoUqa1q2wCW/aogQKBgQDReqbo6FI7McSgJOmI
mbvq1yS0+VKxgsL/rUTCWB1EKzWHAOn8dNEqNh7S81tB9MIKdPc5oqhRGb/AwWAb
LnghayaesxL1a5/3brancQXaUWTIeGnkzTm6l63xdvpwzH6CrEHZtn0nRi/wIAJw
nZe9gnmf/rtAqfgJdgtzTzr1/wKBgQDAM6ov/YCGqU8PVGUidqPvVAXERLJKu+05
zYiJREoUs+/bctpPPoNcTag7mVzwKCCtalqsokYR8SFI7GF87q2FtTn5JJ/3Slgo
RYILc/6XAYnCNzllJ7vEnotGTRSFYu1EgJ3XnpPEDSVCJ/FTV2uYNlJc0Qv0n/2J
qX/9cel2qQKBgB2IxW+hEbb21Voe2i5APpZlru81F8ufPA8ARul/suChlvJp1pOZ
hMQGzWHAneU2tQT0aMbfgAuvLbHnkb1DV/yeNtu5M7sWaX9hRK9m6ARX5XW+RG/V
34XHTOb2d2jf7BZQYxhm+k5HPwsD+FQYZAR8GNnN+GitjiMHWaXwTcfRAoGAN9tL
7GJ5xajSpxvZwGhGQDlk66MjRYDT8mZ+9ZV5Cgc4/8ejFkCOoHaZG6j4T3r59Cvi
aiVGw9QV3kGEG3Cp0R/X10YDjzR15k48+uMc6/mwdVbjQTiI4x1IUIf6HMGhPrU6
Kf2V5/YCC/XbtmLDjBrNWNgP52nPnwA5iAhg1vECgYAFBvRvqD9nUYqFFFAC22hO
sw3NHNgJp0rb5KyTgU0M/ef6t15rUzYlMxAH1lK6rJZFR2b1IqTOWXj6MlCqrN6a
8TDW1HQiRjHVeDzSv5iQZLSWTBuyyUkOMwBc0PuOlnEbNr12+O+QH/GkIcBVwbzM
SSSXFAVkJbMeoYJdOYGcBQ==
-----END PRIVATE KEY-----
)";

const char* PemOf(TestKey key) {
  switch (key) {
    case TestKey::kAttesterP256:
      return kAttesterP256Pem;
    case TestKey::kAttesterP384:
      return kAttesterP384Pem;
    case TestKey::kCaP256:
      return kCaP256Pem;
    case TestKey::kAkP256:
      return kAkP256Pem;
    case TestKey::kAkRsa2048:
      return kAkRsa2048Pem;
  }
  std::abort();
}

}  // namespace

EVP_PKEY* Key(TestKey key) {
  static const std::array<EvpPkeyPtr, 5> keys = [] {
    std::array<EvpPkeyPtr, 5> out;
    for (std::size_t i = 0; i < out.size(); ++i) {
      auto k = LoadPrivateKeyPem(PemOf(static_cast<TestKey>(i)));
      Require(k.has_value());
      out[i] = std::move(k).value();
    }
    return out;
  }();
  return keys[static_cast<std::size_t>(key)].get();
}

std::string PublicPem(TestKey key) {
  auto pem = PublicKeyToPem(Key(key));
  Require(pem.has_value());
  return *pem;
}

std::vector<std::uint8_t> Bytes(std::string_view text) {
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);  // NOLINT: byte view
}

void WriteSeeds(std::string_view target, const std::function<std::vector<Seed>()>& make) {
  const char* dir_env = std::getenv("SKR_FUZZ_SEED_DIR");
  if (dir_env == nullptr || *dir_env == '\0') return;
  namespace fs = std::filesystem;
  const fs::path dir(dir_env);
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string prefix = "seed-" + std::string(target) + "-";
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) return;  // seeded before
  }
  for (const Seed& seed : make()) {
    const fs::path final_path = dir / (prefix + seed.name);
    const fs::path tmp = dir / (".tmp-" + std::to_string(::getpid()) + "-" + prefix + seed.name);
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(seed.bytes.data()),  // NOLINT: byte I/O
                static_cast<std::streamsize>(seed.bytes.size()));
      if (!out) continue;
    }
    fs::rename(tmp, final_path, ec);
    if (ec) fs::remove(tmp, ec);
  }
}

}  // namespace skr::fuzz
