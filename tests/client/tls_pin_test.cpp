// SPDX-License-Identifier: Apache-2.0
// SPKI pinning (--pin-sha256) and the connect probe of ApiClient, checked against a certificate
// made here and against a live `openssl s_server` with the scripts/dev-pki certificates.
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "client/agent.h"
#include "client/api_client.h"
#include "common/encoding.h"
#include "common/ossl.h"
#include "tests/support/test_support.h"

extern char** environ;

namespace skr::client {
namespace {

// A self-signed certificate for `key` (only the SubjectPublicKeyInfo matters here).
X509Ptr MakeCertificate(EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  REQUIRE(cert);
  REQUIRE(X509_set_version(cert.get(), 2) == 1);
  REQUIRE(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7) == 1);
  REQUIRE(X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0) != nullptr);
  REQUIRE(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600) != nullptr);
  X509_NAME* name = X509_get_subject_name(cert.get());
  REQUIRE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("pin test"),  // NOLINT
                                     -1, -1, 0) == 1);
  REQUIRE(X509_set_issuer_name(cert.get(), name) == 1);
  REQUIRE(X509_set_pubkey(cert.get(), key) == 1);
  REQUIRE(X509_sign(cert.get(), key, EVP_sha256()) > 0);
  return cert;
}

std::string CertToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(bio);
  REQUIRE(PEM_write_bio_X509(bio.get(), cert) == 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

// The pin computed independently of the code under test: i2d_PUBKEY (EVP_PKEY -> SPKI DER).
std::string ReferencePin(X509* cert) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(X509_get0_pubkey(cert), &der);
  REQUIRE(len > 0);
  const auto digest = Sha256(std::span<const std::uint8_t>(der, static_cast<std::size_t>(len)));
  OPENSSL_free(der);
  return Base64Encode(digest);
}

// Runs a shell pipeline and returns its stdout without the trailing newline ("" on failure).
std::string ShellOutput(const std::string& command) {
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return "";
  std::string out;
  char buf[256];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  if (::pclose(p) != 0) return "";
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

bool HaveOpensslCli() { return !ShellOutput("command -v openssl").empty(); }

// posix_spawnp with stdout and stderr redirected to `output`; returns the pid.
pid_t Spawn(const std::vector<std::string>& args, const std::string& output) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));  // NOLINT
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  REQUIRE(posix_spawn_file_actions_init(&fa) == 0);
  REQUIRE(posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0) == 0);
  REQUIRE(posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, output.c_str(),
                                           O_WRONLY | O_CREAT | O_TRUNC, 0600) == 0);
  REQUIRE(posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO) == 0);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  return pid;
}

int RunAndWait(const std::vector<std::string>& args, const std::string& output) {
  const pid_t pid = Spawn(args, output);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);  // NOLINT
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);  // NOLINT
  ::close(fd);
  return ntohs(addr.sin_port);
}

// `openssl s_server -www` on 127.0.0.1 with the dev-pki server certificate, for at most 120 s
// (coreutils timeout); stopped by PID in the destructor.
class TlsServer {
 public:
  explicit TlsServer(const test::TempDir& dir) {
    const std::string pki = dir.file("pki");
    REQUIRE(RunAndWait({"bash", test::SourceDir() + "/scripts/dev-pki", pki},
                       dir.file("dev-pki.log")) == 0);
    ca = pki + "/tls/ca.crt";
    cert = pki + "/tls/server.crt";
    key = pki + "/tls/server.key";
    attester_key = pki + "/dev/sample-attester.key";
    for (int tries = 0; tries < 3 && pid_ < 0; ++tries) {
      port = FreeLoopbackPort();
      url = "https://127.0.0.1:" + std::to_string(port);
      pid_ = Spawn({"timeout", "120", "openssl", "s_server", "-accept",
                    "127.0.0.1:" + std::to_string(port), "-cert", cert, "-key", key, "-www",
                    "-quiet"},
                   dir.file("s_server.log"));
      if (!WaitReady()) Stop();
    }
    REQUIRE(pid_ > 0);
  }
  ~TlsServer() { Stop(); }
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  std::string ca, cert, key, attester_key, url;
  int port = 0;

 private:
  bool WaitReady() {
    for (int i = 0; i < 100; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // exited (port taken?)
        return false;
      }
      if (ProbeConnect(url, std::chrono::milliseconds(200))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);  // timeout(1) passes SIGTERM on to s_server
    int status = 0;
    (void)::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  pid_t pid_ = -1;
};

ApiClientOptions PinnedOptions(const TlsServer& s, std::vector<std::string> pins) {
  ApiClientOptions o;
  o.base_url = s.url;
  o.cacert_file = s.ca;
  o.timeout = std::chrono::seconds(5);
  o.connect_timeout = std::chrono::seconds(2);
  o.pin_sha256 = std::move(pins);
  return o;
}

// GET / through ApiClient; s_server -www answers 200 with an HTML page, so a request whose TLS
// handshake (including the pin check) passed ends in kInternal "bad_response" with status 200.
Result<Json> GetRoot(const ApiClientOptions& o, int* status) {
  auto api = ApiClient::Create(o);
  REQUIRE(api.has_value());
  auto r = (*api)->Get("/");
  *status = (*api)->last_status();
  return r;
}

constexpr const char* kWrongPin = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

}  // namespace

TEST_CASE("SpkiSha256: base64 SHA-256 of the SubjectPublicKeyInfo DER", "[client][unit]") {
  const char* curve = GENERATE("P-256", "P-384");
  auto key = GenerateEcKey(curve);
  REQUIRE(key.has_value());
  X509Ptr cert = MakeCertificate(key->get());
  const std::string want = ReferencePin(cert.get());
  CHECK(want.size() == 44);

  auto pin = SpkiSha256(cert.get());
  REQUIRE(pin.has_value());
  CHECK(*pin == want);
  auto from_pem = SpkiSha256FromPem(CertToPem(cert.get()));
  REQUIRE(from_pem.has_value());
  CHECK(*from_pem == want);
  CHECK(ParseSpkiPin(*pin).has_value());

  // Another key gives another pin.
  auto other = GenerateEcKey(curve);
  REQUIRE(other.has_value());
  X509Ptr other_cert = MakeCertificate(other->get());
  CHECK(SpkiSha256(other_cert.get()).value() != want);

  // The documented command line computes the same value.
  if (HaveOpensslCli()) {
    test::TempDir dir;
    test::WriteFile(dir.file("c.pem"), CertToPem(cert.get()));
    const std::string cli = ShellOutput(
        "openssl x509 -in '" + dir.file("c.pem") +
        "' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | "
        "base64");
    CHECK(cli == want);
  } else {
    WARN("openssl command line not found: CLI cross-check skipped");
  }
}

TEST_CASE("SpkiSha256: bad inputs", "[client][unit]") {
  CHECK(test::CodeOf(SpkiSha256(nullptr)) == ErrorCode::kInvalidArgument);
  CHECK(test::ReasonOf(SpkiSha256FromPem("")) == "bad_certificate");
  CHECK(test::ReasonOf(SpkiSha256FromPem("-----BEGIN CERTIFICATE-----\nAAAA\n"
                                         "-----END CERTIFICATE-----\n")) == "bad_certificate");
}

TEST_CASE("ParseSpkiPin: only base64 of exactly 32 bytes", "[client][unit]") {
  const std::string bad = GENERATE(std::string(""), std::string("xx"), std::string("!!!!"),
                                   Base64Encode(std::vector<std::uint8_t>(31, 1)),
                                   Base64Encode(std::vector<std::uint8_t>(33, 1)),
                                   Base64UrlEncode(std::vector<std::uint8_t>(32, 0xfb)));
  auto r = ParseSpkiPin(bad);
  CHECK(test::CodeOf(r) == ErrorCode::kInvalidArgument);
  CHECK(test::ReasonOf(r) == "bad_pin");

  ApiClientOptions o;
  o.pin_sha256 = {kWrongPin, bad};
  auto api = ApiClient::Create(o);
  CHECK(test::CodeOf(api) == ErrorCode::kInvalidArgument);
  CHECK(test::ReasonOf(api) == "bad_pin");
}

TEST_CASE("ParseSpkiPin: accepts a 32-byte value", "[client][unit]") {
  auto r = ParseSpkiPin(kWrongPin);
  REQUIRE(r.has_value());
  CHECK(*r == std::array<std::uint8_t, 32>{});
  ApiClientOptions o;
  o.pin_sha256 = {kWrongPin};
  CHECK(ApiClient::Create(o).has_value());
}

TEST_CASE("ProbeConnect: refused port, bad URL, negative connect timeout",
          "[client][integration]") {
  auto r = ProbeConnect("https://127.0.0.1:1", std::chrono::seconds(1));
  CHECK(test::CodeOf(r) == ErrorCode::kUnavailable);
  CHECK(test::ReasonOf(r) == "unreachable");
  CHECK(test::ReasonOf(ProbeConnect("https://", std::chrono::seconds(1))) == "bad_url");

  ApiClientOptions o;
  o.connect_timeout = std::chrono::milliseconds(-1);
  CHECK(test::ReasonOf(ApiClient::Create(o)) == "bad_timeout");

  // The probe runs before the request when a connect timeout is configured.
  o.connect_timeout = std::chrono::seconds(1);
  o.base_url = "https://127.0.0.1:1";
  auto api = ApiClient::Create(o);
  REQUIRE(api.has_value());
  auto g = (*api)->Get("/healthz");
  CHECK(test::ReasonOf(g) == "unreachable");
  CHECK(g.error().message().find("cannot connect") != std::string::npos);
}

TEST_CASE("ApiClient and skr-agent: SPKI pins against a live TLS server",
          "[client][integration]") {
  if (!HaveOpensslCli()) {
    WARN("SKIPPED: openssl command line not found");
    return;
  }
  test::TempDir dir;
  TlsServer server(dir);
  auto right = SpkiSha256FromPem(test::ReadFileOrFail(server.cert));
  REQUIRE(right.has_value());
  int status = 0;

  // Right pin (alone, or among others): the handshake passes, s_server's HTML is not JSON.
  for (const auto& pins : {std::vector<std::string>{*right},
                           std::vector<std::string>{kWrongPin, *right}}) {
    auto r = GetRoot(PinnedOptions(server, pins), &status);
    CHECK(test::CodeOf(r) == ErrorCode::kInternal);
    CHECK(test::ReasonOf(r) == "bad_response");
    CHECK(status == 200);
  }
  // No pin: unchanged behaviour.
  {
    auto r = GetRoot(PinnedOptions(server, {}), &status);
    CHECK(test::ReasonOf(r) == "bad_response");
  }
  // Wrong pin: the handshake fails with reason pin_mismatch.
  {
    auto r = GetRoot(PinnedOptions(server, {kWrongPin}), &status);
    CHECK(test::CodeOf(r) == ErrorCode::kUnavailable);
    CHECK(test::ReasonOf(r) == "pin_mismatch");
    CHECK(status == 0);
  }
  // The right pin does not replace chain verification: untrusted CA -> tls_untrusted (a
  // configuration error, not retried), not a pin matter (the pin is compared only after the
  // chain and host name checks succeeded).
  {
    ApiClientOptions o = PinnedOptions(server, {*right});
    o.cacert_file.clear();  // system store: the dev CA is not in it
    auto r = GetRoot(o, &status);
    CHECK(test::CodeOf(r) == ErrorCode::kInvalidArgument);
    CHECK(test::ReasonOf(r) != "pin_mismatch");
    CHECK(test::ReasonOf(r) == "tls_untrusted");
    CHECK(r.error().message().find("not trusted") != std::string::npos);
  }
  // The agent's failover loop: a pin mismatch counts as a TLS failure -> exit 4 after all URLs.
  {
    ApiClientOptions base = PinnedOptions(server, {kWrongPin});
    HttpsConnector connector(base);
    SystemRetryEnvironment env;
    SampleAttester attester(GenerateEcKey("P-384").value(), DefaultSampleClaims());
    FetchOptions opts;
    opts.tenant = "acme";
    opts.key = "disk";
    opts.evidence = &attester;
    RetryPolicy policy;
    policy.retries = 0;
    std::vector<AttemptRecord> log;
    auto r = FetchWithFailover(opts, {server.url, server.url}, policy, connector, env,
                               [&](const AttemptRecord& rec) { log.push_back(rec); });
    CHECK(test::ReasonOf(r) == "pin_mismatch");
    CHECK(ExitCodeFor(r.error()) == kExitUnavailable);
    REQUIRE(log.size() == 2);  // both URLs tried
    CHECK(log[0].reason == "pin_mismatch");
    CHECK(log[0].will_retry);
  }
  // The skr-agent binary: wrong pin -> exit 4, reason pin_mismatch in the JSON log.
  const std::string agent = test::BinaryDir() + "/client/skr-agent";
  if (!std::filesystem::exists(agent)) {
    WARN("SKIPPED: " + agent + " not built");
    return;
  }
  const std::string log_file = dir.file("agent.log");
  const int rc = RunAndWait({agent, "fetch", "--url", server.url, "--cacert", server.ca,
                             "--pin-sha256", kWrongPin, "--tenant", "acme", "--key", "disk",
                             "--evidence", "sample", "--sample-key", server.attester_key,
                             "--retries", "1", "--deadline", "20", "--out", dir.file("key.bin")},
                            log_file);
  CHECK(rc == kExitUnavailable);
  const std::string log = test::ReadFileOrFail(log_file);
  CAPTURE(log);
  int attempt_lines = 0;
  bool final_pin_mismatch = false;
  std::size_t pos = 0;
  while (pos < log.size()) {
    const auto nl = log.find('\n', pos);
    const std::string line = log.substr(pos, nl == std::string::npos ? nl : nl - pos);
    pos = nl == std::string::npos ? log.size() : nl + 1;
    // The agent's own lines are JSON; sanitizer runtimes may append their reports.
    if (line.empty() || line[0] != '{') continue;
    auto j = ParseJson(line);
    REQUIRE(j.has_value());
    if ((*j)["msg"] == "attempt") {
      ++attempt_lines;
      CHECK((*j)["reason"] == "pin_mismatch");
      CHECK((*j)["url"] == server.url);
    }
    if ((*j)["msg"] == "release failed") {
      final_pin_mismatch = (*j)["reason"] == "pin_mismatch" && (*j)["exit_code"] == 4;
    }
  }
  CHECK(attempt_lines == 2);  // 1 retry round after the first
  CHECK(final_pin_mismatch);
  CHECK_FALSE(std::filesystem::exists(dir.file("key.bin")));
}

}  // namespace skr::client
