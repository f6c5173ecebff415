// SPDX-License-Identifier: Apache-2.0
// A live software TPM for integration tests: `swtpm_setup` manufactures a TPM 2.0 state with an
// RSA EK certificate issued by swtpm's local CA (created in the fixture's own directory), then
// `swtpm socket` serves it on 127.0.0.1 (ephemeral ports, startup-clear). Stopped by PID when the
// fixture goes away. TCTI for clients: tcti().
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "tests/support/process.h"
#include "tests/support/test_support.h"

namespace skr::test {

class Swtpm {
 public:
  Swtpm() = default;
  ~Swtpm() { service_.Stop(); }
  // Manufactures and starts the TPM; false (with the reason in error()) on failure.
  bool Start();
  std::string tcti() const { return "swtpm:host=127.0.0.1,port=" + std::to_string(port_); }
  std::map<std::string, std::string> env() const { return {{"TPM2TOOLS_TCTI", tcti()}}; }
  // swtpm's local CA: the root (trust anchor for skrd's ek_roots) and the issuing CA of the EK
  // certificate (the EK chain a client sends).
  std::string ca_root() const { return dir_.file("ca/swtpm-localca-rootca-cert.pem"); }
  std::string ca_issuer() const { return dir_.file("ca/issuercert.pem"); }
  const std::string& error() const { return error_; }

 private:
  TempDir dir_;
  Service service_;
  std::uint16_t port_ = 0;
  std::string error_;
};

}  // namespace skr::test
