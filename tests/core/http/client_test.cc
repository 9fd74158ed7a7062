// Tests for the HTTP client (and the URL helpers), against kubeop's own Server on loopback over
// plain HTTP and TLS (certificates from kubeop::pki), plus a few raw-socket fakes for failure
// modes the real server never produces. Servers bind port 0.
#include "kubeop/http/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kubeop/core/pki.h"
#include "kubeop/http/server.h"
#include "kubeop/http/url.h"

namespace kubeop::http {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = 3000ms) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

std::unique_ptr<Client> makeClient(ClientOptions o = {}) {
  auto c = Client::create(std::move(o));
  if (!c.ok()) throw std::runtime_error(c.status().toString());
  return std::move(*c);
}

// The certificates of a test PKI, made once per test binary (EC keys are cheap, but not free).
struct TestPki {
  pki::CertificateAndKey ca;
  pki::CertificateAndKey otherCa;
  pki::CertificateAndKey serving;       // localhost, 127.0.0.1, ::1
  pki::CertificateAndKey servingOther;  // only "other.example"
  pki::CertificateAndKey client;        // CN=alice, O=devs, O=ops

  static const TestPki& get() {
    static const TestPki instance = [] {
      TestPki p;
      p.ca = *pki::generateCa("kubeop-test-ca");
      p.otherCa = *pki::generateCa("someone-else");
      p.serving = *pki::issueServingCertificate(p.ca, "localhost", {"localhost"}, {"127.0.0.1", "::1"});
      p.servingOther = *pki::issueServingCertificate(p.ca, "other", {"other.example"}, {});
      p.client = *pki::issueClientCertificate(p.ca, "alice", {"devs", "ops"});
      return p;
    }();
    return instance;
  }
};

class HttpClientTest : public ::testing::Test {
 protected:
  Router router() {
    Router r;
    r.add("GET", "/echo", [](const Request& req) {
      return Response::text(200, req.method + " " + req.target + " host=" + std::string(req.header("Host")) +
                                     " ua=" + std::string(req.header("User-Agent")) +
                                     " x=" + std::string(req.header("X-Test")));
    });
    r.add("HEAD", "/echo", [](const Request&) {
      Response resp = Response::text(200, "twelve bytes");
      return resp;
    });
    r.add("POST", "/echo", [](const Request& req) { return Response::text(201, req.body); });
    r.add("PUT", "/echo", [](const Request& req) { return Response::text(200, "put:" + req.body); });
    r.add("GET", "/peer", [](const Request& req) { return Response::text(200, req.remoteAddress); });
    r.add("GET", "/whoami", [](const Request& req) {
      if (!req.clientCertificate) return Response::text(200, "anonymous");
      std::string out = req.clientCertificate->commonName;
      for (const auto& o : req.clientCertificate->organizations) out += "|" + o;
      return Response::text(200, out);
    });
    r.add("GET", "/slow", [](const Request&) {
      std::this_thread::sleep_for(800ms);
      return Response::text(200, "late");
    });
    r.add("GET", "/big", [this](const Request&) { return Response::text(200, std::string(bigSize_, 'b')); });
    r.add("GET", "/gone", [](const Request&) {
      return Response::json(410, R"({"kind":"Status","reason":"Expired","code":410})");
    });
    r.add("GET", "/watch", [this](const Request&) {
      return Response::stream(200, "application/json", makeStreamSource(
          [this](std::shared_ptr<StreamWriter> w) {
            std::lock_guard lk(mu_);
            writers_.push_back(std::move(w));
            cv_.notify_all();
          },
          [this] { clientGone_ = true; }));
    });
    return r;
  }

  Server& startServer(ServerOptions o = {}) {
    auto s = Server::start(std::move(o), router());
    if (!s.ok()) throw std::runtime_error(s.status().toString());
    server_ = std::move(*s);
    return *server_;
  }
  Server& startTlsServer(const pki::CertificateAndKey& cert, std::string clientCa = {}) {
    ServerOptions o;
    o.tls = TlsOptions{cert.certificatePem, cert.keyPem, std::move(clientCa)};
    return startServer(std::move(o));
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(server_->port()) + path; }
  std::string httpsUrl(const std::string& host, const std::string& path) const {
    return "https://" + host + ":" + std::to_string(server_->port()) + path;
  }

  // The n-th stream writer the /watch route handed out (waits for it).
  std::shared_ptr<StreamWriter> writer(std::size_t n) {
    std::unique_lock lk(mu_);
    cv_.wait_for(lk, 5s, [&] { return writers_.size() > n; });
    return writers_.size() > n ? writers_[n] : nullptr;
  }

  std::size_t bigSize_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<StreamWriter>> writers_;
  std::atomic<bool> clientGone_{false};
  std::unique_ptr<Server> server_;
};

// --- plain HTTP -------------------------------------------------------------------------------

TEST_F(HttpClientTest, GetAndPostRoundTrip) {
  startServer();
  auto client = makeClient();
  auto r = client->request("GET", url("/echo?a=1&b=x%20y"), {{"X-Test", "v"}});
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r->body, "GET /echo?a=1&b=x%20y host=127.0.0.1:" + std::to_string(server_->port()) + " ua=kubeop x=v");

  auto p = client->request("POST", url("/echo"), {{"Content-Type", "text/plain"}}, "hello");
  ASSERT_TRUE(p.ok()) << p.status().toString();
  EXPECT_EQ(p->status, 201);
  EXPECT_EQ(p->body, "hello");

  auto empty = client->request("PUT", url("/echo"));  // Content-Length: 0
  ASSERT_TRUE(empty.ok()) << empty.status().toString();
  EXPECT_EQ(empty->body, "put:");

  auto missing = client->request("GET", url("/nope"));
  ASSERT_TRUE(missing.ok()) << "an HTTP error status is a successful call";
  EXPECT_EQ(missing->status, 404);
}

TEST_F(HttpClientTest, HeadResponseHasNoBody) {
  startServer();
  auto client = makeClient();
  auto r = client->request("HEAD", url("/echo"));
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->header("content-length"), "12");
  EXPECT_EQ(r->body, "");
  // The connection is still in sync for the next request.
  auto next = client->request("GET", url("/echo"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->status, 200);
}

TEST_F(HttpClientTest, SequentialRequestsReuseOneKeepAliveConnection) {
  startServer();
  auto client = makeClient();
  std::set<std::string> peers;
  for (int i = 0; i < 20; ++i) {
    auto r = client->request("GET", url("/peer"));
    ASSERT_TRUE(r.ok()) << r.status().toString();
    peers.insert(r->body);
  }
  EXPECT_EQ(peers.size(), 1u) << "the server saw more than one connection";
  EXPECT_EQ(client->stats().connectionsOpened, 1u);
  EXPECT_EQ(client->stats().idleConnections, 1u);
  client->closeIdleConnections();
  EXPECT_EQ(client->stats().idleConnections, 0u);
}

TEST_F(HttpClientTest, ManyThreadsShareTheClient) {
  startServer();
  ClientOptions o;
  o.maxIdleConnectionsPerHost = 8;
  auto client = makeClient(o);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto r = client->request("POST", url("/echo"), {}, "t" + std::to_string(t) + "-" + std::to_string(i));
        if (r.ok() && r->status == 201 && r->body == "t" + std::to_string(t) + "-" + std::to_string(i)) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 400);
  EXPECT_LE(client->stats().connectionsOpened, 8u) << "at most one connection per concurrent caller";
}

TEST_F(HttpClientTest, LargeBodiesBothWays) {
  startServer();
  auto client = makeClient();
  std::string body(3 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  auto r = client->request("POST", url("/echo"), {}, body);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->body.size(), body.size());
  EXPECT_TRUE(r->body == body);

  bigSize_ = 20 * 1024 * 1024;
  auto big = client->request("GET", url("/big"));
  ASSERT_TRUE(big.ok()) << big.status().toString();
  EXPECT_EQ(big->body.size(), bigSize_);
}

TEST_F(HttpClientTest, ResponseOverTheLimitIsResourceExhausted) {
  startServer();
  ClientOptions o;
  o.maxResponseBytes = 1024;
  auto client = makeClient(o);
  bigSize_ = 4096;
  auto r = client->request("GET", url("/big"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(r.status().message(), HasSubstr("1024 bytes"));
  bigSize_ = 100;
  EXPECT_TRUE(client->request("GET", url("/big")).ok()) << "the client recovers on a new connection";
}

TEST_F(HttpClientTest, InvalidRequestsAreRejectedWithoutLeakingHeaderValues) {
  startServer();
  auto client = makeClient();
  auto badHeader = client->request("GET", url("/echo"), {{"Authorization", "Bearer s3cret\r\nX-Evil: 1"}});
  ASSERT_FALSE(badHeader.ok());
  EXPECT_EQ(badHeader.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(badHeader.status().message(), Not(HasSubstr("s3cret")));

  EXPECT_EQ(client->request("GE T", url("/echo")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client->request("GET", "ftp://x/y").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client->request("GET", "not a url").status().code(), StatusCode::kInvalidArgument);
}

// --- failures and timeouts ----------------------------------------------------------------------

TEST_F(HttpClientTest, ConnectionRefusedIsUnavailableAndNamesTheUrlButNotTheToken) {
  startServer();
  const std::string dead = url("/echo?x=1");
  server_.reset();  // nobody listens on that port any more
  auto client = makeClient();
  auto r = client->request("GET", dead, {{"Authorization", "Bearer top-secret-token"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("GET " + dead));
  EXPECT_THAT(r.status().message(), HasSubstr("refused"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("top-secret-token")));
}

TEST_F(HttpClientTest, UserinfoNeverAppearsInMessages) {
  auto client = makeClient();
  auto r = client->request("GET", "http://admin:hunter2@127.0.0.1:1/x");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), Not(HasSubstr("hunter2")));
}

TEST_F(HttpClientTest, ConnectTimeoutIsDeadlineExceeded) {
  // A listener whose accept queue is full and never drained: further SYNs are dropped, so a
  // connect hangs (hermetic, unlike a "non-routable" address).
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 0), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int f = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ::connect(f, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    fillers.push_back(f);
  }
  std::this_thread::sleep_for(50ms);  // let the handshakes of the fillers complete

  ClientOptions o;
  o.connectTimeout = 300ms;
  auto client = makeClient(o);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = client->request("GET", "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/");
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  for (int f : fillers) ::close(f);
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().toString();
  EXPECT_THAT(r.status().message(), HasSubstr("connecting"));
  EXPECT_LT(elapsed, 3s);
}

TEST_F(HttpClientTest, RequestTimeoutIsDeadlineExceeded) {
  startServer();
  ClientOptions o;
  o.requestTimeout = 200ms;
  auto client = makeClient(o);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = client->request("GET", url("/slow"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 700ms);
  EXPECT_THAT(r.status().message(), HasSubstr("timed out"));
}

TEST_F(HttpClientTest, RequestIsCancellableFromAnotherThread) {
  startServer();
  auto client = makeClient();
  CancelToken token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(100ms);
    token.cancel();
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = client->request("GET", url("/slow"), {}, {}, &token);
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 700ms);
  EXPECT_EQ(client->request("GET", url("/echo"), {}, {}, &token).status().code(), StatusCode::kCancelled)
      << "a cancelled token stays cancelled";
}

// The same two on a reused connection, whose requests run on the caller's thread.
TEST_F(HttpClientTest, RequestOnAReusedConnectionTimesOutAndIsCancellable) {
  startServer();
  ClientOptions o;
  o.requestTimeout = 200ms;
  auto client = makeClient(o);
  ASSERT_TRUE(client->request("GET", url("/echo")).ok());
  auto t0 = std::chrono::steady_clock::now();
  auto r = client->request("GET", url("/slow"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded) << r.status().toString();
  EXPECT_THAT(r.status().message(), HasSubstr("timed out"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 700ms);

  auto patient = makeClient();
  ASSERT_TRUE(patient->request("GET", url("/echo")).ok());
  CancelToken token;
  std::thread canceller([&] {
    std::this_thread::sleep_for(100ms);
    token.cancel();
  });
  t0 = std::chrono::steady_clock::now();
  r = patient->request("GET", url("/slow"), {}, {}, &token);
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().toString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 700ms);
  auto after = patient->request("POST", url("/echo"), {}, "still usable");
  ASSERT_TRUE(after.ok()) << after.status().toString();
  EXPECT_EQ(after->body, "still usable");
  EXPECT_EQ(patient->stats().connectionsOpened, 2u) << "the cancelled request's connection is not reused";
}

// Requests (on the caller's thread) and a stream (on the I/O thread) take turns on a pooled TLS
// connection.
TEST_F(HttpClientTest, PooledTlsConnectionServesRequestsThenAStream) {
  const auto& p = TestPki::get();
  startTlsServer(p.serving);
  ClientOptions o;
  o.tls.caPem = p.ca.certificatePem;
  auto client = makeClient(o);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 3; ++i) {
      auto r = client->request("POST", httpsUrl("127.0.0.1", "/echo"), {}, "r" + std::to_string(i));
      ASSERT_TRUE(r.ok()) << r.status().toString();
      EXPECT_EQ(r->body, "r" + std::to_string(i));
    }
    std::thread producer([&] {
      auto w = writer(static_cast<std::size_t>(round));
      ASSERT_NE(w, nullptr);
      w->write("{\"type\":\"ADDED\"}\n");
      w->close();
    });
    std::vector<std::string> lines;
    Status st = client->stream("GET", httpsUrl("127.0.0.1", "/watch"), {}, {}, splitLines([&](std::string_view line) {
                                 lines.emplace_back(line);
                                 return Status::ok();
                               }));
    producer.join();
    ASSERT_TRUE(st.isOk()) << st.toString();
    EXPECT_THAT(lines, ::testing::ElementsAre("{\"type\":\"ADDED\"}"));
  }
  // Each stream took over the connection its round's requests used; the server ends a
  // connection with its stream.
  EXPECT_EQ(client->stats().connectionsOpened, 2u);
}

TEST_F(HttpClientTest, StalePooledConnectionIsReplacedTransparently) {
  ServerOptions so;
  so.idleTimeout = 100ms;
  startServer(so);
  auto client = makeClient();
  ASSERT_TRUE(client->request("GET", url("/echo")).ok());
  std::this_thread::sleep_for(400ms);  // the server closes the idle connection meanwhile
  auto r = client->request("POST", url("/echo"), {}, "after idle");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->body, "after idle");
  EXPECT_EQ(client->stats().connectionsOpened, 2u);
}

// A raw HTTP server that answers the first request on each connection and then, on the first
// connection only, reads the second request and closes without answering: the race of a
// keep-alive connection closed by the server just as the client reuses it.
class ClosingServer {
 public:
  ClosingServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~ClosingServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  int requests() const { return requests_; }

 private:
  static bool readRequest(int c) {
    std::string buf;
    char tmp[4096];
    while (buf.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
    return true;
  }
  void run() {
    while (!stop_) {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      const int index = connections_++;
      if (readRequest(c)) {
        ++requests_;
        const std::string resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        ::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
        if (index == 0 && readRequest(c)) ++requests_;  // read, never answered
      }
      ::close(c);
    }
  }
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

TEST(HttpClientRetryTest, IdempotentRequestIsRetriedWhenAReusedConnectionDiesUnanswered) {
  ClosingServer fake;
  auto client = makeClient();
  const std::string u = "http://127.0.0.1:" + std::to_string(fake.port()) + "/x";
  ASSERT_TRUE(client->request("GET", u).ok());
  auto r = client->request("GET", u);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(fake.connections(), 2);
}

TEST(HttpClientRetryTest, NonIdempotentRequestIsNotRetriedOnceSent) {
  ClosingServer fake;
  auto client = makeClient();
  const std::string u = "http://127.0.0.1:" + std::to_string(fake.port()) + "/x";
  ASSERT_TRUE(client->request("GET", u).ok());
  auto r = client->request("POST", u, {}, "create-once");
  ASSERT_FALSE(r.ok()) << "the server may have processed it: no silent retry";
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(fake.connections(), 1);
}

// --- TLS ----------------------------------------------------------------------------------------

TEST_F(HttpClientTest, HttpsVerifiesTheServerAgainstTheCa) {
  const auto& p = TestPki::get();
  startTlsServer(p.serving);
  ClientOptions o;
  o.tls.caPem = p.ca.certificatePem;
  auto client = makeClient(o);
  for (const char* host : {"127.0.0.1", "localhost"}) {  // IP SAN, then DNS SAN (through the resolver)
    auto r = client->request("GET", httpsUrl(host, "/echo"));
    ASSERT_TRUE(r.ok()) << host << ": " << r.status().toString();
    EXPECT_EQ(r->status, 200);
  }
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(client->request("GET", httpsUrl("127.0.0.1", "/echo")).ok());
  EXPECT_EQ(client->stats().connectionsOpened, 2u) << "keep-alive over TLS too";
}

TEST_F(HttpClientTest, HttpsWithTheWrongCaFailsClearly) {
  const auto& p = TestPki::get();
  startTlsServer(p.serving);
  ClientOptions o;
  o.tls.caPem = p.otherCa.certificatePem;
  auto client = makeClient(o);
  auto r = client->request("GET", httpsUrl("127.0.0.1", "/echo"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("TLS certificate verification failed"));
  EXPECT_THAT(r.status().message(), HasSubstr("unable to get local issuer certificate"));
}

TEST_F(HttpClientTest, HttpsHostnameMismatchFailsAndServerNameOverrideFixesIt) {
  const auto& p = TestPki::get();
  startTlsServer(p.servingOther);  // valid only for other.example
  ClientOptions o;
  o.tls.caPem = p.ca.certificatePem;
  auto client = makeClient(o);
  auto r = client->request("GET", httpsUrl("127.0.0.1", "/echo"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("mismatch"));

  o.tls.serverName = "other.example";
  auto overridden = makeClient(o);
  auto ok = overridden->request("GET", httpsUrl("127.0.0.1", "/echo"));
  ASSERT_TRUE(ok.ok()) << ok.status().toString();
}

TEST_F(HttpClientTest, InsecureSkipVerifyAcceptsAnyCertificate) {
  const auto& p = TestPki::get();
  startTlsServer(p.servingOther);
  ClientOptions o;
  o.tls.insecureSkipVerify = true;
  auto client = makeClient(o);
  auto r = client->request("GET", httpsUrl("127.0.0.1", "/echo"));
  ASSERT_TRUE(r.ok()) << r.status().toString();
}

TEST_F(HttpClientTest, ClientCertificateIsPresentedForMutualTls) {
  const auto& p = TestPki::get();
  startTlsServer(p.serving, p.ca.certificatePem);
  ClientOptions o;
  o.tls.caPem = p.ca.certificatePem;
  auto anonymous = makeClient(o);
  auto a = anonymous->request("GET", httpsUrl("127.0.0.1", "/whoami"));
  ASSERT_TRUE(a.ok()) << a.status().toString();
  EXPECT_EQ(a->body, "anonymous");

  o.tls.clientCertificatePem = p.client.certificatePem;
  o.tls.clientKeyPem = p.client.keyPem;
  auto alice = makeClient(o);
  auto r = alice->request("GET", httpsUrl("127.0.0.1", "/whoami"));
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(r->body, "alice|devs|ops");

  ClientOptions dynamic;
  dynamic.tls.caPem = p.ca.certificatePem;
  std::atomic<int> calls{0};
  dynamic.tls.clientCertificateProvider = [&]() -> StatusOr<ClientCertificate> {
    ++calls;
    return ClientCertificate{p.client.certificatePem, p.client.keyPem};
  };
  auto viaProvider = makeClient(dynamic);
  for (int i = 0; i < 3; ++i) {
    auto d = viaProvider->request("GET", httpsUrl("127.0.0.1", "/whoami"));
    ASSERT_TRUE(d.ok()) << d.status().toString();
    EXPECT_EQ(d->body, "alice|devs|ops");
  }
  EXPECT_EQ(calls.load(), 1) << "asked once per new connection";
}

TEST_F(HttpClientTest, ClientCertificateFromAnotherCaIsRefusedByTheServer) {
  const auto& p = TestPki::get();
  startTlsServer(p.serving, p.ca.certificatePem);
  auto stranger = *pki::issueClientCertificate(p.otherCa, "mallory", {});
  ClientOptions o;
  o.tls.caPem = p.ca.certificatePem;
  o.tls.clientCertificatePem = stranger.certificatePem;
  o.tls.clientKeyPem = stranger.keyPem;
  auto client = makeClient(o);
  auto r = client->request("GET", httpsUrl("127.0.0.1", "/whoami"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST(HttpClientOptionsTest, BadTlsMaterialIsInvalidArgument) {
  ClientOptions noCerts;
  noCerts.tls.caPem = "not a pem";
  EXPECT_EQ(Client::create(noCerts).status().code(), StatusCode::kInvalidArgument);

  const auto& p = TestPki::get();
  ClientOptions mismatched;
  mismatched.tls.clientCertificatePem = p.client.certificatePem;
  mismatched.tls.clientKeyPem = p.serving.keyPem;
  auto m = Client::create(mismatched);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("does not match"));
  EXPECT_THAT(m.status().message(), Not(HasSubstr("PRIVATE KEY")));

  ClientOptions halfPair;
  halfPair.tls.clientCertificatePem = p.client.certificatePem;
  EXPECT_EQ(Client::create(halfPair).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(HttpClientTest, Ipv6LoopbackWorksWhenAvailable) {
  ServerOptions so;
  so.address = "::1";
  auto s = Server::start(so, router());
  if (!s.ok()) GTEST_SKIP() << "no IPv6 loopback here: " << s.status().toString();
  server_ = std::move(*s);
  auto client = makeClient();
  auto r = client->request("GET", "http://[::1]:" + std::to_string(server_->port()) + "/echo");
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_THAT(r->body, HasSubstr("host=[::1]:" + std::to_string(server_->port())));
}

// --- streaming ----------------------------------------------------------------------------------

TEST_F(HttpClientTest, StreamDeliversLinesUntilTheServerCloses) {
  startServer();
  auto client = makeClient();
  std::vector<std::string> lines;
  std::thread producer([&] {
    auto w = writer(0);
    ASSERT_NE(w, nullptr);
    w->write("{\"type\":\"ADDED\"}\n{\"type\":");  // a line split across chunks
    std::this_thread::sleep_for(20ms);
    w->write("\"MODIFIED\"}\r\n");
    std::this_thread::sleep_for(20ms);
    w->write("{\"type\":\"DELETED\"}\n");
    w->close();
  });
  ClientResponse head;
  Status st = client->stream("GET", url("/watch?watch=1"), {}, {}, splitLines([&](std::string_view line) {
                               lines.emplace_back(line);
                               return Status::ok();
                             }),
                             nullptr, &head);
  producer.join();
  ASSERT_TRUE(st.isOk()) << st.toString();
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("transfer-encoding"), "chunked");
  EXPECT_THAT(lines, ::testing::ElementsAre("{\"type\":\"ADDED\"}", "{\"type\":\"MODIFIED\"}", "{\"type\":\"DELETED\"}"));
}

TEST_F(HttpClientTest, StreamIsCancellableFromAnotherThreadAndTheServerSeesTheClientGo) {
  startServer();
  auto client = makeClient();
  CancelToken token;
  std::atomic<int> received{0};
  std::thread producer([&] {
    auto w = writer(0);
    ASSERT_NE(w, nullptr);
    while (w->write("{\"type\":\"BOOKMARK\"}\n")) std::this_thread::sleep_for(10ms);
  });
  std::thread canceller([&] {
    ASSERT_TRUE(eventually([&] { return received.load() >= 3; }));
    token.cancel();
  });
  Status st = client->stream("GET", url("/watch"), {}, {}, splitLines([&](std::string_view) {
                               ++received;
                               return Status::ok();
                             }),
                             &token);
  canceller.join();
  EXPECT_EQ(st.code(), StatusCode::kCancelled) << st.toString();
  EXPECT_GE(received.load(), 3);
  EXPECT_TRUE(eventually([&] { return clientGone_.load(); })) << "the server notices the cancelled stream";
  producer.join();
}

TEST_F(HttpClientTest, StreamCallbackCanStopTheStreamWithItsOwnStatus) {
  startServer();
  auto client = makeClient();
  std::thread producer([&] {
    auto w = writer(0);
    ASSERT_NE(w, nullptr);
    w->write("{\"type\":\"ERROR\"}\n");
  });
  Status st = client->stream("GET", url("/watch"), {}, {}, splitLines([](std::string_view line) {
                               if (line.find("ERROR") != std::string_view::npos) return aborted("watch expired");
                               return Status::ok();
                             }));
  producer.join();
  EXPECT_EQ(st, aborted("watch expired"));
  EXPECT_TRUE(eventually([&] { return clientGone_.load(); }));
}

TEST_F(HttpClientTest, StreamErrorStatusReturnsTheBodyInTheHead) {
  startServer();
  auto client = makeClient();
  ClientResponse head;
  bool called = false;
  Status st = client->stream("GET", url("/gone"), {}, {}, [&](std::string_view) {
    called = true;
    return Status::ok();
  }, nullptr, &head);
  EXPECT_FALSE(st.isOk());
  EXPECT_EQ(st.code(), statusCodeFromHttp(410));
  EXPECT_THAT(st.message(), HasSubstr("HTTP 410"));
  EXPECT_EQ(head.status, 410);
  EXPECT_THAT(head.body, HasSubstr("Expired"));
  EXPECT_FALSE(called);
}

TEST_F(HttpClientTest, StreamIdleTimeoutEndsASilentStream) {
  startServer();
  ClientOptions o;
  o.streamIdleTimeout = 200ms;
  auto client = makeClient(o);
  Status st = client->stream("GET", url("/watch"), {}, {}, [](std::string_view) { return Status::ok(); });
  EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded) << st.toString();
  EXPECT_THAT(st.message(), HasSubstr("idle"));
}

TEST_F(HttpClientTest, StreamOverTlsEndsCleanlyWhenTheServerStops) {
  const auto& p = TestPki::get();
  startTlsServer(p.serving);
  ClientOptions o;
  o.tls.caPem = p.ca.certificatePem;
  auto client = makeClient(o);
  std::vector<std::string> lines;
  std::thread stopper([&] {
    auto w = writer(0);
    ASSERT_NE(w, nullptr);
    w->write("{\"type\":\"ADDED\"}\n");
    server_->stop(5s);  // a graceful stop ends watches with the terminating chunk
  });
  Status st = client->stream("GET", httpsUrl("127.0.0.1", "/watch"), {}, {}, splitLines([&](std::string_view line) {
                               lines.emplace_back(line);
                               return Status::ok();
                             }));
  stopper.join();
  EXPECT_TRUE(st.isOk()) << st.toString();
  EXPECT_THAT(lines, ::testing::ElementsAre("{\"type\":\"ADDED\"}"));
  EXPECT_TRUE(clientGone_.load());
}

TEST(SplitLinesTest, SplitsAcrossChunksAndEnforcesTheLineLimit) {
  std::vector<std::string> lines;
  auto cb = splitLines([&](std::string_view l) {
    lines.emplace_back(l);
    return Status::ok();
  }, 8);
  EXPECT_TRUE(cb("ab").isOk());
  EXPECT_TRUE(cb("c\nde\r\n\nf").isOk());
  EXPECT_THAT(lines, ::testing::ElementsAre("abc", "de", ""));
  EXPECT_EQ(cb("123456789").code(), StatusCode::kResourceExhausted);
}

// --- URLs ---------------------------------------------------------------------------------------

TEST(UrlTest, ParsesHostsPortsPathsAndQueries) {
  auto u = parseUrl("HTTPS://Example.COM:6443/api/v1/pods?labelSelector=a%3Db#frag");
  ASSERT_TRUE(u.ok()) << u.status().toString();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 6443);
  EXPECT_TRUE(u->explicitPort);
  EXPECT_EQ(u->path, "/api/v1/pods");
  EXPECT_EQ(u->query, "labelSelector=a%3Db");
  EXPECT_EQ(u->target(), "/api/v1/pods?labelSelector=a%3Db");
  EXPECT_EQ(u->hostPort(), "example.com:6443");

  auto v6 = parseUrl("http://[::1]:8080");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->path, "/");
  EXPECT_EQ(v6->hostHeader(), "[::1]:8080");
  EXPECT_EQ(v6->toString(), "http://[::1]:8080/");

  auto defaults = parseUrl("https://10.0.0.1");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->port, 443);
  EXPECT_EQ(defaults->hostHeader(), "10.0.0.1");

  auto creds = parseUrl("https://user:pw@host/x");
  ASSERT_TRUE(creds.ok());
  EXPECT_EQ(creds->userinfo, "user:pw");
  EXPECT_EQ(creds->toString(), "https://host/x");
}

TEST(UrlTest, RejectsMalformedUrlsWithoutEchoingPasswords) {
  for (const char* bad : {"", "example.com", "ftp://x", "http://", "http://:80", "http://h:0", "http://h:99999",
                          "http://h:x", "http://[::1", "http://::1/", "http://h/a b", "http://h_o st/"}) {
    auto u = parseUrl(bad);
    EXPECT_FALSE(u.ok()) << bad;
    if (!u.ok()) {
      EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument);
    }
  }
  auto withPassword = parseUrl("gopher://admin:hunter2@h/");
  ASSERT_FALSE(withPassword.ok());
  EXPECT_THAT(withPassword.status().message(), Not(HasSubstr("hunter2")));
}

TEST(UrlTest, PercentEncodingHelpers) {
  EXPECT_EQ(urlEncodeQueryValue("app=web,tier in (a b)"), "app%3Dweb%2Ctier%20in%20%28a%20b%29");
  EXPECT_EQ(urlEncodeQueryValue("a-b_c.d~"), "a-b_c.d~");
  EXPECT_EQ(urlEncodePathSegment("a/b"), "a%2Fb");
  EXPECT_EQ(percentDecode("a%2Fb%zz+c"), "a/b%zz+c");
  EXPECT_EQ(percentDecode("a+b", true), "a b");
  EXPECT_EQ(buildQuery({{"watch", "true"}, {"labelSelector", "app=x"}}), "watch=true&labelSelector=app%3Dx");
  EXPECT_TRUE(isIpLiteral("127.0.0.1"));
  EXPECT_TRUE(isIpLiteral("::1"));
  EXPECT_FALSE(isIpLiteral("localhost"));
  EXPECT_FALSE(isIpLiteral("1.2.3"));
}

}  // namespace
}  // namespace kubeop::http
