// SPDX-License-Identifier: Apache-2.0
// Boot storms under attack (issue 10) through real skrd processes over loopback TLS: stateless
// nonce tokens across restarts and replicas, per-address limits (another 127.x address is
// another client), connection caps and the TLS handshake deadline, the bounded worker queue, and
// the HTTP/1.1 framing rules (raw requests over TLS).
#include <sqlite3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "audit/audit.h"
#include "common/encoding.h"
#include "tests/integration/skrd_fixture.h"

using skr::Json;
using skr::test::HttpResult;
using skr::test::MakeSampleAttestation;
using skr::test::Skrd;
using skr::test::SkrdOptions;

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;

const Json kPolicy = Json::parse(R"({"version":"1.0.0","anyOf":[{"authority":"skr:local","allOf":[
  {"claim":"tee","equals":"sample"},{"claim":"debug","equals":false}]}]})");
const Json kClaims = {{"debug", false}};
const std::string kMaterialB64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const std::string kTarget = "/v1/tenants/acme/keys/root/release";

struct World {
  Skrd skrd;
  std::string attester_pem;
  explicit World(SkrdOptions o = {}) : skrd(std::move(o)) {
    REQUIRE(skrd.Start());
    attester_pem = skr::test::ReadFileOrFail(skrd.file("dev/sample-attester.key"));
    skrd.SetUpTenant("acme", "disk", kPolicy, "root", kMaterialB64);
  }
  static std::string Nonce(Skrd& s) {
    auto r = s.Post("/v1/challenge", Json::object());
    REQUIRE(r.status == 200);
    return r.json["nonce"].get<std::string>();
  }
  HttpResult Release(Skrd& s, const std::string& nonce) {
    auto a = MakeSampleAttestation(attester_pem, nonce, kClaims);
    return s.Post(kTarget, {{"nonce", nonce}, {"tee-pubkey", a.tee_pubkey}, {"evidence", a.evidence}});
  }
  std::int64_t Granted() {
    auto r = skrd.Get("/v1/audit/entries?decision=granted&limit=1000", skrd.operator_token());
    REQUIRE(r.status == 200);
    return static_cast<std::int64_t>(r.json["entries"].size());
  }
};

void ExpectProblem(const HttpResult& r, unsigned status, const std::string& reason) {
  INFO(r.body);
  CHECK(r.status == status);
  CHECK(r.problem_type() == "urn:skr:problem:" + reason);
}

// A metric's value from /metrics text ("name{labels} value"), -1 when absent.
long Metric(Skrd& s, const std::string& series) {
  const std::string text = s.Get("/metrics").body;
  const auto at = text.find(series + " ");
  if (at == std::string::npos) return -1;
  return std::stol(text.substr(at + series.size() + 1));
}

// A TCP connection from `source` that sends nothing. Returns the socket.
std::unique_ptr<tcp::socket> IdleConnection(net::io_context& ioc, const std::string& source,
                                            std::uint16_t port) {
  auto s = std::make_unique<tcp::socket>(ioc);
  s->open(tcp::v4());
  s->bind(tcp::endpoint(net::ip::make_address(source), 0));
  s->connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  return s;
}

// Waits (bounded by `limit`) for the server to close `s`; returns how long that took, or
// nullopt when it stayed open.
std::optional<std::chrono::milliseconds> WaitForClose(tcp::socket& s,
                                                      std::chrono::milliseconds limit) {
  const auto start = std::chrono::steady_clock::now();
  timeval tv{};
  tv.tv_sec = static_cast<long>(limit.count() / 1000);
  tv.tv_usec = static_cast<long>((limit.count() % 1000) * 1000);
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char byte = 0;
  const ssize_t n = ::recv(s.native_handle(), &byte, 1, 0);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (n == 0 || (n < 0 && errno == ECONNRESET)) return took;
  return std::nullopt;
}

// Sends `raw` (a whole HTTP request) over TLS and returns everything the server answers until it
// closes or 5 s pass.
std::string RawTls(Skrd& s, const std::string& raw) {
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(s.file("tls/ca.crt"));
  ctx.set_verify_mode(ssl::verify_peer);
  boost::beast::ssl_stream<boost::beast::tcp_stream> stream(ioc, ctx);
  SSL_set_tlsext_host_name(stream.native_handle(), "localhost");
  boost::beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  boost::beast::error_code ec;
  boost::beast::get_lowest_layer(stream).connect(
      tcp::endpoint(net::ip::make_address("127.0.0.1"), s.port()), ec);
  if (ec) return "";
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) return "";
  net::write(stream, net::buffer(raw), ec);
  std::string out;
  char buf[4096];
  while (true) {
    const std::size_t n = stream.read_some(net::buffer(buf), ec);
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

}  // namespace

TEST_CASE("Nonce tokens: consumed once across a restart and across two skrd on one keystore",
          "[integration][nonce][attack]") {
  World w;
  SkrdOptions ro;
  ro.replica_of = &w.skrd;
  Skrd replica(ro);
  REQUIRE(replica.Start());
  REQUIRE(replica.port() != w.skrd.port());

  // Issued by one, redeemed at the other: the token needs no shared memory, only the master key.
  const std::string n1 = World::Nonce(w.skrd);
  CHECK(w.Release(replica, n1).status == 200);
  ExpectProblem(w.Release(w.skrd, n1), 401, "nonce_reused");
  ExpectProblem(w.Release(replica, n1), 401, "nonce_reused");

  // Two processes racing with one nonce: exactly one release.
  for (int round = 0; round < 3; ++round) {
    const std::string n = World::Nonce(replica);
    auto f1 = std::async(std::launch::async, [&] { return w.Release(w.skrd, n); });
    auto f2 = std::async(std::launch::async, [&] { return w.Release(replica, n); });
    const auto r1 = f1.get();
    const auto r2 = f2.get();
    CHECK((r1.status == 200) + (r2.status == 200) == 1);
    ExpectProblem(r1.status == 200 ? r2 : r1, 401, "nonce_reused");
  }

  // Reused after a restart: the consumed record is durable.
  const std::string n2 = World::Nonce(w.skrd);
  REQUIRE(w.Release(w.skrd, n2).status == 200);
  w.skrd.Stop();
  REQUIRE(w.skrd.Start());
  ExpectProblem(w.Release(w.skrd, n2), 401, "nonce_reused");
  // Five keys released in all, each logged by the skrd that released it (each SQLite-backed
  // skrd has its own audit log).
  auto replica_granted = replica.Get("/v1/audit/entries?decision=granted&limit=1000",
                                     replica.operator_token());
  REQUIRE(replica_granted.status == 200);
  CHECK(w.Granted() + static_cast<std::int64_t>(replica_granted.json["entries"].size()) == 5);
}

TEST_CASE("Audit lock: a second skrd on the same SQLite audit log is refused",
          "[integration][audit][attack]") {
  World w;
  // Same config file, same data dir: the second process must not start (two writers would fork
  // the Merkle tree's head).
  auto second = skr::test::RunCommand({skr::test::BinaryDir() + "/server/skrd", "--config",
                                       w.skrd.config_path()},
                                      "", {}, /*timeout_seconds=*/20);
  CHECK(second.exit_code != 0);
  CHECK_THAT(second.out + second.err, Catch::Contains("one skrd serves an SQLite audit log at a time"));
  // The first one still serves and releases.
  CHECK(w.Release(w.skrd, World::Nonce(w.skrd)).status == 200);
  // Once the first one has stopped, the lock is free again.
  w.skrd.Stop();
  REQUIRE(w.skrd.Start());
  CHECK(w.Granted() == 1);
}

// Expiry is tested on the broker's FakeClock (tests/server/broker_test.cpp), not by sleeping.
TEST_CASE("Nonce tokens: forged, truncated and foreign nonces are refused",
          "[integration][nonce][attack]") {
  World w;
  World other;  // another skrd: its own master key
  const std::string good = World::Nonce(w.skrd);
  std::vector<std::uint8_t> bytes = skr::Base64Decode(good).value();
  bytes.back() ^= 1;
  ExpectProblem(w.Release(w.skrd, skr::Base64Encode(bytes)), 401, "nonce_unknown");  // forged MAC
  ExpectProblem(w.Release(w.skrd, good.substr(0, 96)), 401, "nonce_unknown");        // truncated
  ExpectProblem(w.Release(w.skrd, World::Nonce(other.skrd)), 401, "nonce_unknown");  // other key
  CHECK(w.Granted() == 0);
  // The untouched nonce itself is good.
  CHECK(w.Release(w.skrd, good).status == 200);
}

TEST_CASE("Limits: a client over its rate gets 429 while another address gets nonces and keys",
          "[integration][limits][attack]") {
  SkrdOptions o;
  o.server_toml = "challenge_rate_per_second = 1\nchallenge_burst = 5\n"
                  "release_rate_per_second = 1\nrelease_burst = 5\n";
  World w(o);
  // The flood, from 127.0.0.2.
  w.skrd.SetSourceAddress("127.0.0.2");
  int limited = 0;
  for (int i = 0; i < 15; ++i) {
    auto r = w.skrd.Post("/v1/challenge", Json::object());
    if (r.status == 429) {
      ++limited;
      ExpectProblem(r, 429, "rate_limited");
      CHECK(std::stoi(r.retry_after) >= 1);
    }
  }
  CHECK(limited >= 9);
  // Another machine is not affected by the flood.
  w.skrd.SetSourceAddress("127.0.0.3");
  const std::string n = World::Nonce(w.skrd);
  CHECK(w.Release(w.skrd, n).status == 200);
  CHECK(Metric(w.skrd, "skr_rate_limited_total{endpoint=\"challenge\"}") == limited);
}

TEST_CASE("Limits: idle connections beyond the per-address cap are closed",
          "[integration][limits][attack]") {
  SkrdOptions o;
  o.server_toml = "max_connections_per_address = 4\nhandshake_timeout_seconds = 30\n";
  World w(o);
  net::io_context ioc;
  std::vector<std::unique_ptr<tcp::socket>> idle;
  for (int i = 0; i < 4; ++i) idle.push_back(IdleConnection(ioc, "127.0.0.2", w.skrd.port()));
  // The fifth from the same address is closed at once, without a handshake.
  auto fifth = IdleConnection(ioc, "127.0.0.2", w.skrd.port());
  CHECK(WaitForClose(*fifth, std::chrono::milliseconds(3000)).has_value());
  // The four stay open (the handshake deadline is 30 s here) ...
  CHECK_FALSE(WaitForClose(*idle[0], std::chrono::milliseconds(300)).has_value());
  // ... and another address is served.
  w.skrd.SetSourceAddress("127.0.0.3");
  CHECK(w.Release(w.skrd, World::Nonce(w.skrd)).status == 200);
  CHECK(Metric(w.skrd, "skr_transport_refused_total{reason=\"connections_per_address\"}") >= 1);
}

TEST_CASE("Limits: a slow TLS handshake is cut at its deadline", "[integration][limits][attack]") {
  SkrdOptions o;
  o.server_toml = "handshake_timeout_seconds = 1\nread_timeout_seconds = 30\n";
  World w(o);
  net::io_context ioc;
  auto silent = IdleConnection(ioc, "127.0.0.2", w.skrd.port());
  // Half a ClientHello, then nothing.
  const unsigned char partial[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01};
  REQUIRE(::send(silent->native_handle(), partial, sizeof(partial), 0) == sizeof(partial));
  auto took = WaitForClose(*silent, std::chrono::milliseconds(6000));
  REQUIRE(took.has_value());
  CHECK(took->count() >= 700);
  CHECK(took->count() < 4000);
  CHECK(Metric(w.skrd, "skr_transport_refused_total{reason=\"handshake_timeout\"}") >= 1);
  // A normal client is unaffected.
  CHECK(w.Release(w.skrd, World::Nonce(w.skrd)).status == 200);
}

TEST_CASE("Limits: worker queue full is 503 with Retry-After; nothing released, audit intact",
          "[integration][limits][attack]") {
  SkrdOptions o;
  o.server_toml = "workers = 1\nqueue_limit = 1\n";
  o.audit_busy_timeout_ms = 4000;
  World w(o);
  const std::string n1 = World::Nonce(w.skrd);
  const std::string n2 = World::Nonce(w.skrd);
  const std::string n3 = World::Nonce(w.skrd);
  const auto granted_before = w.Granted();

  // The one worker blocks in the audit append of release 1 (another writer holds the audit
  // database); release 2 waits in the queue; release 3 finds the queue full.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(w.skrd.file("data/audit.db").c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
  auto f1 = std::async(std::launch::async, [&] { return w.Release(w.skrd, n1); });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  auto f2 = std::async(std::launch::async, [&] { return w.Release(w.skrd, n2); });
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const HttpResult r3 = w.Release(w.skrd, n3);
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);

  ExpectProblem(r3, 503, "overloaded");
  CHECK(r3.retry_after == "1");
  CHECK(r3.body.find("jwe") == std::string::npos);
  // The queued and the blocked releases complete once the lock is gone.
  CHECK(f1.get().status == 200);
  CHECK(f2.get().status == 200);
  CHECK(w.Granted() == granted_before + 2);
  CHECK(Metric(w.skrd, "skr_transport_refused_total{reason=\"queue_full\"}") == 1);
  // The shed request spent nothing: its nonce still works once, and the chain verifies.
  CHECK(w.Release(w.skrd, n3).status == 200);
  auto entries = w.skrd.Get("/v1/audit/entries?limit=1000", w.skrd.operator_token());
  REQUIRE(entries.status == 200);
  std::vector<skr::audit::Record> recs;
  for (Json e : entries.json["entries"]) {
    e.erase("leaf");  // the Merkle leaf bytes that come with each record
    recs.push_back(skr::audit::RecordFromJson(e).value());
  }
  CHECK(skr::audit::VerifyChain(recs, std::string(64, '0')).has_value());
}

TEST_CASE("HTTP framing: ambiguous or incomplete requests get 400 and the connection closes",
          "[integration][http][attack]") {
  World w;
  const std::string body = "{}";
  const std::string host = "Host: 127.0.0.1:" + std::to_string(w.skrd.port()) + "\r\n";
  auto expect_400 = [&](const std::string& raw) {
    const std::string answer = RawTls(w.skrd, raw);
    INFO(raw << "\n---\n" << answer);
    CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(answer.find("urn:skr:problem:bad_framing") != std::string::npos);
    CHECK(answer.find("Connection: close") != std::string::npos);
  };
  // Content-Length with any Transfer-Encoding.
  expect_400("POST /v1/challenge HTTP/1.1\r\n" + host +
             "Content-Type: application/json\r\nContent-Length: 2\r\n"
             "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  expect_400("POST /v1/challenge HTTP/1.1\r\n" + host +
             "Content-Length: 2\r\nTransfer-Encoding: chunked, identity\r\n\r\n{}");
  expect_400("POST /v1/challenge HTTP/1.1\r\n" + host +
             "Content-Length: 2\r\nTransfer-Encoding: xchunked\r\n\r\n{}");
  // A Transfer-Encoding other than exactly "chunked", even without Content-Length.
  expect_400("POST /v1/challenge HTTP/1.1\r\n" + host +
             "Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  // HTTP/1.1 without Host, or with two.
  expect_400("POST /v1/challenge HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
  expect_400("GET /healthz HTTP/1.1\r\n" + host + host + "\r\n");
  // Absolute-form naming another authority.
  expect_400("GET https://other.example/healthz HTTP/1.1\r\n" + host + "\r\n");

  // What is accepted: plain chunked, absolute-form for our own authority.
  const std::string chunked = RawTls(w.skrd, "POST /v1/challenge HTTP/1.1\r\n" + host +
                                                 "Content-Type: application/json\r\n"
                                                 "Transfer-Encoding: chunked\r\nConnection: "
                                                 "close\r\n\r\n2\r\n{}\r\n0\r\n\r\n");
  CHECK(chunked.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(chunked.find("\"nonce\"") != std::string::npos);
  const std::string absolute =
      RawTls(w.skrd, "GET https://127.0.0.1:" + std::to_string(w.skrd.port()) +
                         "/healthz HTTP/1.1\r\n" + host + "Connection: close\r\n\r\n");
  CHECK(absolute.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(Metric(w.skrd, "skr_transport_refused_total{reason=\"bad_framing\"}") == 7);
}

TEST_CASE("TLS: a reconnecting client resumes its session with a ticket",
          "[integration][tls]") {
  World w;
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(w.skrd.file("tls/ca.crt"));
  ctx.set_verify_mode(ssl::verify_peer);
  SSL_SESSION* saved = nullptr;
  for (int round = 0; round < 2; ++round) {
    boost::beast::ssl_stream<boost::beast::tcp_stream> stream(ioc, ctx);
    SSL_set_tlsext_host_name(stream.native_handle(), "localhost");
    if (saved != nullptr) REQUIRE(SSL_set_session(stream.native_handle(), saved) == 1);
    boost::beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    boost::beast::error_code ec;
    boost::beast::get_lowest_layer(stream).connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), w.skrd.port()), ec);
    REQUIRE_FALSE(ec);
    stream.handshake(ssl::stream_base::client, ec);
    REQUIRE_FALSE(ec);
    CHECK(SSL_session_reused(stream.native_handle()) == (round == 1 ? 1 : 0));
    // One request and its answer, so the TLS 1.3 tickets sent after the handshake are read.
    const std::string req = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    net::write(stream, net::buffer(req), ec);
    REQUIRE_FALSE(ec);
    std::string answer;
    char buf[1024];
    while (!ec) answer.append(buf, stream.read_some(net::buffer(buf), ec));
    CHECK(answer.rfind("HTTP/1.1 200", 0) == 0);
    // Answer the server's close_notify: OpenSSL marks the session of a connection that was not
    // shut down cleanly as not resumable when the SSL object is freed (a real client closes
    // cleanly; a broken connection is not resumed).
    stream.shutdown(ec);
    if (round == 0) {
      saved = SSL_get1_session(stream.native_handle());
      REQUIRE(saved != nullptr);
      CHECK(SSL_SESSION_is_resumable(saved) == 1);
    }
  }
  SSL_SESSION_free(saved);
}
