// SPDX-License-Identifier: Apache-2.0
#include "tests/integration/swtpm_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

namespace skr::test {
namespace {

// Binds a loopback TCP socket to `port` (0: the kernel picks); returns the fd or -1.
int BindLoopback(std::uint16_t port, std::uint16_t* bound) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return -1;
  }
  *bound = ntohs(addr.sin_port);
  return fd;
}

// A loopback port P, free right now together with P+1: the swtpm TCTI reaches the control
// channel at port+1.
std::uint16_t FreePortPair() {
  for (int i = 0; i < 100; ++i) {
    std::uint16_t p = 0, q = 0;
    const int a = BindLoopback(0, &p);
    if (a < 0) continue;
    const int b = p < 65535 ? BindLoopback(static_cast<std::uint16_t>(p + 1), &q) : -1;
    ::close(a);
    if (b >= 0) {
      ::close(b);
      return p;
    }
  }
  return 0;
}

bool CanConnect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

bool Swtpm::Start() {
  namespace fs = std::filesystem;
  fs::create_directories(dir_.file("state"));
  fs::create_directories(dir_.file("ca"));
  // swtpm_localca keeps its CA (root, issuing CA, serial) in statedir: ours, not /var/lib.
  WriteFile(dir_.file("localca.conf"),
            "statedir = " + dir_.file("ca") + "\nsigningkey = " + dir_.file("ca/signkey.pem") +
                "\nissuercert = " + dir_.file("ca/issuercert.pem") +
                "\ncertserial = " + dir_.file("ca/certserial") + "\n",
            0644);
  WriteFile(dir_.file("localca.options"),
            "--platform-manufacturer skr-test\n--platform-version 2.1\n--platform-model swtpm\n", 0644);
  WriteFile(dir_.file("swtpm_setup.conf"),
            "create_certs_tool = /usr/bin/swtpm_localca\ncreate_certs_tool_config = " +
                dir_.file("localca.conf") + "\ncreate_certs_tool_options = " +
                dir_.file("localca.options") + "\nactive_pcr_banks = sha256\n",
            0644);
  auto setup = RunCommand({"swtpm_setup", "--tpm2", "--tpmstate", dir_.file("state"), "--create-ek-cert",
                           "--config", dir_.file("swtpm_setup.conf"), "--overwrite"},
                          "", {}, 60);
  if (setup.exit_code != 0) {
    error_ = "swtpm_setup failed: " + setup.out + setup.err;
    return false;
  }
  // Two attempts: a port found free may be taken before swtpm binds it.
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = FreePortPair();
    if (port_ == 0) continue;
    const auto ctrl = static_cast<std::uint16_t>(port_ + 1);
    if (!service_.Start({"swtpm", "socket", "--tpm2", "--tpmstate", "dir=" + dir_.file("state"),
                         "--server", "type=tcp,bindaddr=127.0.0.1,port=" + std::to_string(port_),
                         "--ctrl", "type=tcp,bindaddr=127.0.0.1,port=" + std::to_string(ctrl),
                         "--flags", "not-need-init,startup-clear"},
                        dir_.file("swtpm.log"))) {
      continue;
    }
    for (int i = 0; i < 100; ++i) {  // up to 5 s
      if (!service_.Running()) break;
      if (CanConnect(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    service_.Stop();
  }
  error_ = "swtpm did not start on loopback";
  return false;
}

}  // namespace skr::test
