// SPDX-License-Identifier: Apache-2.0
// Boot-storm load generator: N concurrent simulated VMs, each looping challenge + release with
// sample, sev-snp or az-snp-vtpm evidence against a running skrd, over keep-alive connections or
// a new TLS connection per request. Prints releases/s and latency percentiles of a whole
// challenge+release.
//   skr-loadgen --port P --cacert CA --attester-key KEY --tenant T --key K
//               [--concurrency N] [--seconds S] [--mode keepalive|new] [--skrd-pid PID]
//               [--evidence sample|sev-snp|az-snp-vtpm --snp-vcek-key K --snp-vcek PEM]
// az-snp-vtpm is synthetic Azure-shaped evidence (tests/support/tpm_test_evidence.h): per VM,
// once, an RSA-2048 AK, the runtime JSON holding it as HCLAkPub, and an HCL report around an SNP
// report (REPORT_DATA = SHA-256(runtime JSON) || 0) signed by the AMD test PKI; per release, a
// fresh TPM quote (SHA-256 PCRs 0..7, extraData = the binding digest) signed RSASSA-SHA256.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "common/jose.h"
#include "common/json.h"
#include "common/ossl.h"
#include "tests/support/amd_test_pki.h"
#include "tests/support/tpm_test_evidence.h"

namespace {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::uint16_t port = 8443;
  std::string cacert, attester_key, tenant, key, mode = "keepalive";
  int concurrency = 1;
  int seconds = 10;
  int skrd_pid = 0;
  std::string evidence = "sample";
  std::string snp_vcek_key, snp_vcek;
  std::string key_type = "ec-p384";
};

class Conn {
 public:
  Conn(net::io_context& ioc, ssl::context& ctx, std::uint16_t port)
      : ioc_(ioc), ctx_(ctx), port_(port) {}
  // Sends one request; reconnects when needed. Returns status (0 on transport failure).
  unsigned Send(const std::string& target, const std::string& body, std::string& out, bool keep) {
    beast::error_code ec;
    if (!stream_) {
      stream_.emplace(ioc_, ctx_);
      tcp::endpoint ep(net::ip::make_address("127.0.0.1"), port_);
      beast::get_lowest_layer(*stream_).connect(ep, ec);
      if (ec) return Reset();
      beast::get_lowest_layer(*stream_).socket().set_option(tcp::no_delay(true), ec);
      stream_->handshake(ssl::stream_base::client, ec);
      if (ec) return Reset();
    }
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, target, 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::content_type, "application/json");
    req.keep_alive(keep);
    req.body() = body;
    req.prepare_payload();
    bhttp::write(*stream_, req, ec);
    if (ec) return Reset();
    bhttp::response<bhttp::string_body> res;
    bhttp::read(*stream_, buf_, res, ec);
    if (ec) return Reset();
    out = std::move(res.body());
    const unsigned status = res.result_int();
    if (!keep || !res.keep_alive()) {
      stream_->shutdown(ec);
      stream_.reset();
      buf_.clear();
    }
    return status;
  }

 private:
  unsigned Reset() {
    stream_.reset();
    buf_.clear();
    return 0;
  }
  net::io_context& ioc_;
  ssl::context& ctx_;
  std::uint16_t port_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> stream_;
  beast::flat_buffer buf_;
};

long PeakRssKb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// One simulated Azure CVM: what its paravisor fixes at boot (AK, runtime data, HCL report).
struct AzureVm {
  skr::EvpPkeyPtr ak;
  std::vector<std::uint8_t> ak_name;  // TPM Name of the AK (the quote's qualifiedSigner)
  std::vector<std::uint8_t> hcl;
  std::vector<std::vector<std::uint8_t>> pcrs;  // SHA-256 PCRs 0..7
  skr::test::TpmPcrValues pcr_values;
  std::uint64_t clock = 1000;

  AzureVm(EVP_PKEY* vcek_key, int index) {
    ak = skr::GenerateRsaKey(2048).value();
    ak_name = skr::test::TpmName(skr::test::MarshalAkPublic(ak.get()));
    char uuid[40];
    std::snprintf(uuid, sizeof(uuid), "5E6C1F0A-7B3D-4C2E-9A81-%012X",
                  static_cast<unsigned>(index));
    const std::string runtime = skr::test::AzureRuntimeJson(ak.get(), nullptr, uuid);
    skr::test::TestSnpReport rep;
    const auto h = skr::Sha256(runtime);
    std::copy(h.begin(), h.end(), rep.report_data.begin());
    for (std::size_t b = 0; b < rep.chip_id.size(); ++b)
      rep.chip_id[b] = static_cast<std::uint8_t>(0xC0 + b);
    auto bytes = rep.Build();
    skr::test::SignSnpReportWith(vcek_key, bytes);
    hcl = skr::test::MakeAzureHclReport(bytes, runtime);
    pcr_values = skr::test::SyntheticPcrValues(skr::test::Sha256Pcrs(0, 7));
    for (unsigned i = 0; i < 8; ++i) pcrs.push_back(pcr_values.at("sha256").at(i));
  }

  // A fresh quote binding `digest`, as Trustee's attestation agent sends it (bare signature).
  skr::Json Evidence(std::span<const std::uint8_t> digest, const std::string& vcek_pem) {
    skr::test::QuoteSpec spec;
    spec.qualified_signer = ak_name;
    spec.extra_data.assign(digest.begin(), digest.end());
    spec.clock = clock++;
    spec.selection = skr::test::Sha256Pcrs(0, 7);
    spec.pcrs = pcr_values;
    const auto attest = skr::test::MarshalQuoteAttest(spec);
    const auto sig = skr::test::BareRsaSignature(
        skr::test::SignQuote(attest, ak.get(), skr::test::TpmSigScheme::kRsassaSha256));
    return skr::test::AzSnpVtpmEvidence(hcl, vcek_pem, attest, sig, pcrs);
  }
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"skr boot-storm load generator"};
  app.add_option("--port", o.port)->required();
  app.add_option("--cacert", o.cacert)->required();
  app.add_option("--attester-key", o.attester_key)->required();
  app.add_option("--tenant", o.tenant)->required();
  app.add_option("--key", o.key)->required();
  app.add_option("--concurrency", o.concurrency);
  app.add_option("--seconds", o.seconds);
  app.add_option("--mode", o.mode)->check(CLI::IsMember({"keepalive", "new"}));
  app.add_option("--skrd-pid", o.skrd_pid);
  app.add_option("--evidence", o.evidence)->check(CLI::IsMember({"sample", "sev-snp", "az-snp-vtpm"}));
  app.add_option("--snp-vcek-key", o.snp_vcek_key, "VCEK private key (test PKI) for sev-snp and az-snp-vtpm");
  app.add_option("--snp-vcek", o.snp_vcek, "VCEK certificate PEM sent with each report");
  app.add_option("--key-type", o.key_type, "ephemeral tee-pubkey: ec-p384 (ECDH-ES+A256KW) or "
                                           "rsa-3072 (RSA-OAEP-256)")
      ->check(CLI::IsMember({"ec-p384", "rsa-3072"}));
  CLI11_PARSE(app, argc, argv);

  auto pem = skr::ReadFile(o.attester_key);
  if (!pem) {
    std::cerr << pem.error().message() << "\n";
    return 2;
  }
  auto attester = skr::LoadPrivateKeyPem(*pem);
  if (!attester) return 2;
  skr::EvpPkeyPtr vcek_key;
  std::string vcek_pem;
  const bool azure = o.evidence == "az-snp-vtpm";
  if (o.evidence == "sev-snp" || azure) {
    auto k = skr::ReadFile(o.snp_vcek_key);
    auto c = skr::ReadFile(o.snp_vcek);
    if (!k || !c) return 2;
    vcek_key = skr::LoadPrivateKeyPem(*k).value();
    vcek_pem = *c;
  }
  // Ephemeral VM keys, one per simulated VM (generation is not what is measured).
  std::vector<skr::EvpPkeyPtr> eph;
  std::vector<skr::Json> jwks;
  // RSA key generation is slow: a pool of at most 8 keys shared round robin.
  const int distinct = o.key_type == "rsa-3072" ? std::min(o.concurrency, 8) : o.concurrency;
  for (int i = 0; i < o.concurrency; ++i) {
    if (i >= distinct) {
      jwks.push_back(jwks[static_cast<std::size_t>(i % distinct)]);
      continue;
    }
    if (o.key_type == "rsa-3072") {
      eph.push_back(skr::GenerateRsaKey(3072).value());
      jwks.push_back(skr::PublicJwkFromKey(eph.back().get(), "RSA-OAEP-256").value());
    } else {
      eph.push_back(skr::GenerateEcKey("P-384").value());
      jwks.push_back(skr::PublicJwkFromKey(eph.back().get(), "ECDH-ES+A256KW").value());
    }
  }
  // Azure VMs boot once (AK generation is not what is measured).
  std::vector<std::unique_ptr<AzureVm>> azure_vms;
  if (azure) {
    for (int i = 0; i < o.concurrency; ++i) {
      azure_vms.push_back(std::make_unique<AzureVm>(vcek_key.get(), i));
    }
  }
  const std::string release_target = "/v1/tenants/" + o.tenant + "/keys/" + o.key + "/release";
  const std::string challenge_body = skr::DumpJson({{"tenant", o.tenant}});
  const bool keep = o.mode == "keepalive";

  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> ok{0}, failed{0};
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int i = 0; i < o.concurrency; ++i) {
    threads.emplace_back([&, i] {
      net::io_context ioc;
      ssl::context ctx(ssl::context::tls_client);
      ctx.load_verify_file(o.cacert);
      ctx.set_verify_mode(ssl::verify_peer);
      Conn conn(ioc, ctx, o.port);
      std::vector<double> local;
      std::string out;
      while (!stop.load()) {
        const auto t0 = Clock::now();
        if (conn.Send("/v1/challenge", challenge_body, out, keep) != 200) {
          failed.fetch_add(1);
          continue;
        }
        auto nonce = skr::ParseJson(out).value()["nonce"].get<std::string>();
        auto digest = skr::BindingDigest(nonce, jwks[static_cast<std::size_t>(i)]).value();
        std::vector<std::uint8_t> rd(digest.begin(), digest.end());
        rd.resize(64, 0);
        skr::Json evidence;
        if (azure) {
          evidence = azure_vms[static_cast<std::size_t>(i)]->Evidence(digest, vcek_pem);
        } else if (vcek_key) {
          // A report from the AMD-shaped test PKI (tests/support/amd_test_pki.h).
          skr::test::TestSnpReport rep;
          std::copy(rd.begin(), rd.end(), rep.report_data.begin());
          for (std::size_t b = 0; b < rep.chip_id.size(); ++b) {
            rep.chip_id[b] = static_cast<std::uint8_t>(0xC0 + b);
          }
          auto bytes = rep.Build();
          skr::test::SignSnpReportWith(vcek_key.get(), bytes);
          evidence = {{"type", "sev-snp"}, {"report", skr::Base64Encode(bytes)}, {"vcek", vcek_pem}};
        } else {
          skr::Json payload = {{"report_data", skr::HexEncode(rd)}, {"svn", 3}, {"debug", false}};
          evidence = {{"type", "sample"},
                      {"jws", skr::JwsSign(attester->get(), "ES384", skr::DumpJson(payload)).value()}};
        }
        skr::Json body = {{"nonce", nonce},
                          {"tee-pubkey", jwks[static_cast<std::size_t>(i)]},
                          {"evidence", evidence}};
        if (conn.Send(release_target, skr::DumpJson(body), out, keep) == 200) {
          ok.fetch_add(1);
          local.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        } else {
          failed.fetch_add(1);
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies_ms.insert(latencies_ms.end(), local.begin(), local.end());
    });
  }
  std::this_thread::sleep_for(std::chrono::seconds(o.seconds));
  stop.store(true);
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    auto idx = static_cast<std::size_t>(p * static_cast<double>(latencies_ms.size() - 1));
    return latencies_ms[idx];
  };
  skr::Json result = {{"evidence", o.evidence},
                      {"key_type", o.key_type},
                      {"mode", o.mode},
                      {"concurrency", o.concurrency},
                      {"seconds", elapsed},
                      {"releases", ok.load()},
                      {"failed", failed.load()},
                      {"releases_per_s", static_cast<double>(ok.load()) / elapsed},
                      {"p50_ms", pct(0.50)},
                      {"p99_ms", pct(0.99)}};
  if (o.skrd_pid > 0) result["skrd_peak_rss_kb"] = PeakRssKb(o.skrd_pid);
  std::cout << skr::DumpJson(result) << std::endl;
  return failed.load() > 0 && ok.load() == 0 ? 1 : 0;
}
