// SPDX-License-Identifier: Apache-2.0
#include "tests/integration/skrd_fixture.h"

#include <catch2/catch.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "common/encoding.h"
#include "common/jose.h"

namespace skr::test {
namespace {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
}  // namespace

Skrd::Skrd(SkrdOptions options) : options_(std::move(options)) {}
Skrd::~Skrd() { Stop(); }

std::string Skrd::Log() const {
  try {
    return ReadFileOrFail(dir_.file("skrd.log"));
  } catch (...) {
    return "";
  }
}

bool Skrd::Start() {
  if (options_.replica_of != nullptr && !std::filesystem::exists(config_path())) {
    // Same config, with the relative paths pointing into the first skrd's directory.
    std::string toml = ReadFileOrFail(options_.replica_of->config_path());
    const std::string base = options_.replica_of->dir() + "/";
    for (const std::string rel : {"tls/", "data/", "dev/"}) {
      for (std::size_t at = 0; (at = toml.find("\"" + rel, at)) != std::string::npos;) {
        toml.insert(at + 1, base);
        at += base.size() + rel.size();
      }
    }
    // Its own audit log and signing key: an SQLite audit log has one writer (a lock file
    // refuses a second skrd on it); replicas share one log only on the PostgreSQL engine.
    for (const auto& [section, line] :
         {std::pair<std::string, std::string>{"[storage]\n", "audit_path = \"data/audit.db\"\n"},
          {"[audit]\n", "signing_key = \"data/audit-signing.key\"\n"}}) {
      const auto at = toml.find(section);
      if (at == std::string::npos) return false;
      toml.insert(at + section.size(), line);
    }
    WriteFile(config_path(), toml, 0644);
    std::filesystem::create_directories(dir_.file("tls"));
    std::filesystem::create_directories(dir_.file("data"));
    std::filesystem::copy_file(options_.replica_of->file("tls/ca.crt"), dir_.file("tls/ca.crt"));
    operator_token_ = options_.replica_of->operator_token();
    auto init = RunCommand({BinaryDir() + "/server/skrd", "init", "--config", config_path()});
    auto j = ParseJson(init.out);
    if (init.exit_code != 0 || !j || !j->contains("audit_verifier_key")) {
      UNSCOPED_INFO("skrd init (replica) failed: " << init.out << init.err);
      return false;
    }
    audit_verifier_key_ = (*j)["audit_verifier_key"].get<std::string>();
  }
  if (!std::filesystem::exists(dir_.file("tls/ca.crt"))) {
    auto pki = RunCommand({SourceDir() + "/scripts/dev-pki", dir()});
    if (pki.exit_code != 0) {
      UNSCOPED_INFO("dev-pki failed: " << pki.err);
      return false;
    }
    std::string toml = "[server]\nlisten = \"127.0.0.1:0\"\ntls_cert = \"tls/server.crt\"\n"
                       "tls_key = \"tls/server.key\"\nbody_limit_bytes = " +
                       std::to_string(options_.body_limit) + "\n" + options_.server_toml +
                       "\n\n[storage]\npath = \"data/skr.db\"\n\n[master_key]\nprovider = \"file\"\n"
                       "path = \"data/master.key\"\n\n[attestation.sample]\nenabled = true\n"
                       "public_key = \"dev/sample-attester.pub.pem\"\n\n[release]\n"
                       "nonce_ttl_seconds = " +
                       std::to_string(options_.nonce_ttl_seconds) + "\n\n[audit]\nbusy_timeout_ms = " +
                       std::to_string(options_.audit_busy_timeout_ms) + "\n" + options_.extra_toml;
    WriteFile(config_path(), toml, 0644);
    if (options_.init) {
      auto init = RunCommand({BinaryDir() + "/server/skrd", "init", "--config", config_path()});
      if (init.exit_code != 0) {
        UNSCOPED_INFO("skrd init failed: " << init.err);
        return false;
      }
      auto j = ParseJson(init.out);
      if (!j || !j->contains("operator_token")) return false;
      operator_token_ = (*j)["operator_token"].get<std::string>();
      if (j->contains("audit_verifier_key")) {
        audit_verifier_key_ = (*j)["audit_verifier_key"].get<std::string>();
      }
    }
  }
  std::filesystem::remove(dir_.file("port"));
  if (!service_.Start({BinaryDir() + "/server/skrd", "--config", config_path(), "--port-file",
                       dir_.file("port")},
                      dir_.file("skrd.log"))) {
    return false;
  }
  for (int i = 0; i < 200; ++i) {  // bounded: 20 s
    if (std::filesystem::exists(dir_.file("port"))) {
      port_ = static_cast<std::uint16_t>(std::stoi(ReadFileOrFail(dir_.file("port"))));
      return true;
    }
    if (!service_.Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  UNSCOPED_INFO("skrd did not start: " << Log());
  return false;
}

void Skrd::Stop() { service_.Stop(); }

HttpResult Skrd::Request(const std::string& method, const std::string& target,
                         const std::string& body, const std::string& token,
                         const std::string& content_type) {
  HttpResult out;
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(dir_.file("tls/ca.crt"));
  ctx.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
  if (SSL_set_tlsext_host_name(stream.native_handle(), "localhost") != 1) return out;
  stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto results = resolver.resolve("127.0.0.1", std::to_string(port_), ec);
  if (ec) return out;
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
  if (!source_address_.empty()) {
    auto& sock = beast::get_lowest_layer(stream).socket();
    sock.open(tcp::v4(), ec);
    if (!ec) sock.bind(tcp::endpoint(net::ip::make_address(source_address_), 0), ec);
    if (ec) return out;
    sock.connect(*results.begin(), ec);
  } else {
    beast::get_lowest_layer(stream).connect(results, ec);
  }
  if (ec) return out;
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) return out;
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, "127.0.0.1");
  if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
  if (!body.empty() || method == "POST" || method == "PUT") {
    if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
    req.body() = body;
    req.prepare_payload();
  }
  bhttp::write(stream, req, ec);
  if (ec && ec != bhttp::error::end_of_stream) {
    // The server may answer (413) before reading the whole body; try to read the answer.
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  bhttp::read(stream, buffer, parser, ec);
  if (ec && ec != bhttp::error::end_of_stream) return out;
  out.status = parser.get().result_int();
  out.body = parser.get().body();
  out.retry_after = std::string(parser.get()[bhttp::field::retry_after]);
  auto j = ParseJson(out.body, 16 * 1024 * 1024);
  if (j) out.json = *j;
  stream.shutdown(ec);
  return out;
}

Skrd::TenantSetup Skrd::SetUpTenant(const std::string& tenant, const std::string& policy_name,
                                    const Json& policy, const std::string& key,
                                    const std::string& material_b64) {
  TenantSetup s;
  auto t = Post("/v1/tenants", {{"name", tenant}}, operator_token_);
  REQUIRE(t.status == 201);
  auto tok = Post("/v1/tokens", {{"role", "admin"}, {"tenant", tenant}}, operator_token_);
  REQUIRE(tok.status == 201);
  s.admin_token = tok.json["token"].get<std::string>();
  auto p = Request("PUT", "/v1/tenants/" + tenant + "/policies/" + policy_name, DumpJson(policy),
                   s.admin_token);
  REQUIRE(p.status == 201);
  auto k = Post("/v1/tenants/" + tenant + "/keys",
                {{"name", key}, {"policy", policy_name}, {"material", material_b64}},
                s.admin_token);
  REQUIRE(k.status == 201);
  return s;
}

Attestation MakeSampleAttestation(const std::string& attester_key_pem, const std::string& nonce,
                                  const Json& claims, const std::string& curve,
                                  const Json* bind_jwk, const std::string* bind_nonce) {
  Attestation a;
  a.ephemeral = GenerateEcKey(curve).value();
  a.tee_pubkey = PublicJwkFromKey(a.ephemeral.get(), "ECDH-ES+A256KW").value();
  auto digest = BindingDigest(bind_nonce ? *bind_nonce : nonce,
                              bind_jwk ? *bind_jwk : a.tee_pubkey)
                    .value();
  std::vector<std::uint8_t> rd(digest.begin(), digest.end());
  rd.resize(64, 0);
  Json payload = claims;
  payload["report_data"] = HexEncode(rd);
  auto signer = LoadPrivateKeyPem(attester_key_pem).value();
  a.evidence = {{"type", "sample"}, {"jws", JwsSign(signer.get(), "ES384", DumpJson(payload)).value()}};
  return a;
}

CommandResult Skrctl(Skrd& skrd, const std::string& token, std::vector<std::string> args,
                     const std::string& stdin_text) {
  args.insert(args.begin(), BinaryDir() + "/client/skrctl");
  return RunCommand(args, stdin_text,
                    {{"SKR_ADDR", skrd.url()}, {"SKR_CACERT", skrd.file("tls/ca.crt")},
                     {"SKR_TOKEN", token}});
}

}  // namespace skr::test
