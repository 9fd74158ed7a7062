// Tests for the HTTP server, router and standard endpoints, over loopback with a small blocking
// client written here (POSIX sockets; OpenSSL for the TLS test). Servers bind port 0.
#include "kubeop/http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "kubeop/http/standard_endpoints.h"
#include "kubeop/metrics/metrics.h"

namespace kubeop::http {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;
using ::testing::StartsWith;

// --- a tiny blocking HTTP client ------------------------------------------------------------------

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A byte transport: plain socket or TLS.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual bool sendAll(std::string_view data) = 0;
  // >0 bytes, 0 on orderly close, <0 on error or timeout.
  virtual long recvSome(char* buf, std::size_t n) = 0;
};

class PlainTransport : public Transport {
 public:
  explicit PlainTransport(int fd) : fd_(fd) {}
  ~PlainTransport() override { ::close(fd_); }
  bool sendAll(std::string_view data) override {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  long recvSome(char* buf, std::size_t n) override { return ::recv(fd_, buf, n, 0); }
  int fd() const { return fd_; }

 private:
  int fd_;
};

int connectTo(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval tv{5, 0};  // no test may hang on a read
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

class Client {
 public:
  explicit Client(std::uint16_t port) {
    const int fd = connectTo(port);
    if (fd < 0) throw std::runtime_error("connect failed: " + std::string(std::strerror(errno)));
    plain_ = new PlainTransport(fd);
    transport_.reset(plain_);
  }
  explicit Client(std::unique_ptr<Transport> t) : transport_(std::move(t)) {}

  bool send(std::string_view data) { return transport_->sendAll(data); }

  // Reads one response. `headRequest`: the response has no body whatever its Content-Length.
  std::optional<HttpResponse> read(bool headRequest = false) {
    HttpResponse r;
    std::size_t headerEnd;
    while ((headerEnd = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    std::istringstream head(buf_.substr(0, headerEnd));
    buf_.erase(0, headerEnd + 4);
    std::string line;
    std::getline(head, line);
    if (line.rfind("HTTP/1.", 0) != 0 || line.size() < 12) return std::nullopt;
    r.status = std::stoi(line.substr(9, 3));
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[lower(line.substr(0, colon))] = value;
    }
    if (headRequest || r.status < 200 || r.status == 204 || r.status == 304) return r;
    if (r.headers.count("content-length")) {
      const std::size_t len = std::stoul(r.headers["content-length"]);
      while (buf_.size() < len) {
        if (!fill()) return std::nullopt;
      }
      r.body = buf_.substr(0, len);
      buf_.erase(0, len);
    } else {
      while (fill()) {
      }
      r.body = std::move(buf_);
      buf_.clear();
    }
    return r;
  }

  // Reads one chunk of a chunked body: its data, "" for the terminating chunk, nullopt on EOF
  // or a framing error.
  std::optional<std::string> readChunk() {
    std::size_t eol;
    while ((eol = buf_.find("\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    std::size_t size = 0;
    try {
      size = std::stoul(buf_.substr(0, eol), nullptr, 16);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    const std::size_t need = eol + 2 + size + 2;
    while (buf_.size() < need) {
      if (!fill()) return std::nullopt;
    }
    std::string data = buf_.substr(eol + 2, size);
    if (buf_.compare(eol + 2 + size, 2, "\r\n") != 0) return std::nullopt;
    buf_.erase(0, need);
    return data;
  }

  // True when the server closes the connection (EOF or reset) before `within` elapses.
  bool closedByServer(std::chrono::milliseconds within) {
    if (plain_ == nullptr) return false;
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{plain_->fd(), POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) {
        char c;
        const ssize_t n = ::recv(plain_->fd(), &c, 1, MSG_DONTWAIT);
        if (n == 0) return true;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return true;
      }
    }
    return false;
  }

 private:
  bool fill() {
    char tmp[16384];
    const long n = transport_->recvSome(tmp, sizeof tmp);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  std::unique_ptr<Transport> transport_;
  PlainTransport* plain_ = nullptr;
  std::string buf_;
};

std::string request(const std::string& method, const std::string& target,
                    const std::vector<std::string>& headers = {}, const std::string& body = "") {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
  for (const auto& h : headers) r += h + "\r\n";
  if (!body.empty()) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "\r\n" + body;
  return r;
}

// Polls `pred` until it holds or `within` elapses (no fixed sleeps).
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = 3000ms) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// --- fixture ------------------------------------------------------------------------------------

class HttpServerTest : public ::testing::Test {
 protected:
  Router testRouter() {
    Router r;
    r.add("GET", "/v1/plugins/{name}", [](const Request& req) {
      std::string body = "{\"name\":\"" + std::string(req.pathParam("name")) + "\",\"route\":\"" + req.route + "\"";
      if (auto v = req.queryParam("verbose")) body += ",\"verbose\":\"" + *v + "\"";
      return Response::json(200, body + "}");
    });
    r.add("GET", "/v1/plugins/status", [](const Request&) { return Response::text(200, "literal wins"); });
    r.add("POST", "/v1/plugins/{name}", [](const Request& req) { return Response::text(201, req.body); });
    r.add("GET", "/v1/clusters/{cluster}/apps/{app}", [](const Request& req) {
      return Response::text(200, std::string(req.pathParam("cluster")) + "/" + std::string(req.pathParam("app")));
    });
    r.add("GET", "/boom", [](const Request&) -> Response { throw std::runtime_error("handler exploded"); });
    r.add("GET", "/request-id", [](const Request& req) { return Response::text(200, req.requestId); });
    r.add("GET", "/headers", [](const Request& req) {
      return Response::text(200, std::string(req.header("x-custom")) + "|" + std::string(req.header("X-CUSTOM")));
    });
    r.add("GET", "/close", [](const Request&) {
      Response resp = Response::text(200, "bye");
      resp.setHeader("Connection", "close");
      return resp;
    });
    r.add("GET", "/slow", [this](const Request&) {
      slowEntered_.set_value();
      std::this_thread::sleep_for(slowFor_);
      return Response::text(200, "slow done");
    });
    return r;
  }

  Server& startServer(ServerOptions options = {}, std::optional<Router> router = std::nullopt) {
    auto s = Server::start(std::move(options), router ? std::move(*router) : testRouter());
    if (!s.ok()) throw std::runtime_error(s.status().toString());
    server_ = std::move(*s);
    return *server_;
  }

  HttpResponse roundTrip(const std::string& raw, bool head = false) {
    Client c(server_->port());
    EXPECT_TRUE(c.send(raw));
    auto r = c.read(head);
    if (!r) throw std::runtime_error("no response");
    return *r;
  }

  // Declared before server_: the registry must outlive the server that records into it.
  metrics::Registry registry_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<Server> server_;
  std::promise<void> slowEntered_;
  std::chrono::milliseconds slowFor_{300};
};

MATCHER(IsGeneratedRequestId, "is 16 lower-case hex characters") {
  if (arg.size() != 16) return false;
  for (char c : arg) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// --- routing ------------------------------------------------------------------------------------

TEST_F(HttpServerTest, RoutesRequestsAndExtractsPathParams) {
  startServer();
  auto r = roundTrip(request("GET", "/v1/plugins/dns%20x?verbose=yes+please"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"name":"dns x","route":"/v1/plugins/{name}","verbose":"yes please"})");

  r = roundTrip(request("GET", "/v1/clusters/c1/apps/web"));
  EXPECT_EQ(r.body, "c1/web");
}

TEST_F(HttpServerTest, LiteralSegmentBeatsParameter) {
  startServer();
  EXPECT_EQ(roundTrip(request("GET", "/v1/plugins/status")).body, "literal wins");
}

TEST_F(HttpServerTest, PostBodyReachesTheHandler) {
  startServer();
  auto r = roundTrip(request("POST", "/v1/plugins/x", {"Content-Type: text/plain"}, "hello body"));
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "hello body");
}

TEST_F(HttpServerTest, ChunkedRequestBodyIsDecoded) {
  startServer();
  auto r = roundTrip("POST /v1/plugins/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "hello world");
}

TEST_F(HttpServerTest, HeaderLookupIsCaseInsensitive) {
  startServer();
  EXPECT_EQ(roundTrip(request("GET", "/headers", {"X-Custom: v1"})).body, "v1|v1");
}

TEST_F(HttpServerTest, UnknownPathReturns404JsonError) {
  startServer();
  auto r = roundTrip(request("GET", "/nope", {"X-Request-Id: rid-404"}));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"error":"no route for GET /nope","code":"NotFound","reason":"NotFound","status":404,)"
                    R"("requestId":"rid-404"})");
}

TEST_F(HttpServerTest, WrongMethodReturns405JsonErrorWithAllowHeader) {
  startServer();
  auto r = roundTrip(request("DELETE", "/v1/plugins/x"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "GET, HEAD, POST");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_THAT(r.body, HasSubstr(R"("reason":"MethodNotAllowed","status":405)"));
  EXPECT_THAT(r.body, HasSubstr(R"("error":"method DELETE is not allowed on /v1/plugins/{name}")"));
}

TEST_F(HttpServerTest, HeadIsServedByTheGetRouteWithoutABody) {
  startServer();
  Client c(server_->port());
  ASSERT_TRUE(c.send(request("HEAD", "/v1/plugins/abc")));
  auto head = c.read(/*headRequest=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  const std::string expectedBody = R"({"name":"abc","route":"/v1/plugins/{name}"})";
  EXPECT_EQ(head->header("content-length"), std::to_string(expectedBody.size()));
  // Had a body been sent, it would now be parsed as the next response's status line.
  ASSERT_TRUE(c.send(request("GET", "/v1/plugins/abc")));
  auto get = c.read();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, expectedBody);
}

// --- connection handling ---------------------------------------------------------------------

TEST_F(HttpServerTest, ServesThreeRequestsOnOneKeepAliveConnection) {
  startServer();
  Client c(server_->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(request("GET", "/v1/plugins/p" + std::to_string(i))));
    auto r = c.read();
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200);
    EXPECT_THAT(r->body, HasSubstr("\"p" + std::to_string(i) + "\""));
    EXPECT_EQ(r->header("connection"), "");
  }
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  startServer();
  Client c(server_->port());
  ASSERT_TRUE(c.send(request("GET", "/v1/plugins/a") + request("POST", "/v1/plugins/b", {}, "xyz") +
                     request("GET", "/v1/plugins/c")));
  auto a = c.read();
  auto b = c.read();
  auto cc = c.read();
  ASSERT_TRUE(a && b && cc);
  EXPECT_THAT(a->body, HasSubstr("\"a\""));
  EXPECT_EQ(b->body, "xyz");
  EXPECT_THAT(cc->body, HasSubstr("\"c\""));
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  startServer();
  Client c(server_->port());
  ASSERT_TRUE(c.send(request("GET", "/v1/plugins/a", {"Connection: close"})));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.closedByServer(3s));
}

TEST_F(HttpServerTest, HandlerCanAskToCloseTheConnection) {
  startServer();
  Client c(server_->port());
  ASSERT_TRUE(c.send(request("GET", "/close")));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.closedByServer(3s));
}

TEST_F(HttpServerTest, Http10ClientGetsConnectionClosedByDefault) {
  startServer();
  Client c(server_->port());
  ASSERT_TRUE(c.send("GET /v1/plugins/a HTTP/1.0\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(c.closedByServer(3s));
}

TEST_F(HttpServerTest, ExpectContinueGetsAnInterimResponse) {
  startServer();
  Client c(server_->port());
  ASSERT_TRUE(c.send("POST /v1/plugins/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  auto interim = c.read();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.send("12345"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "12345");
}

// --- limits and malformed input ---------------------------------------------------------------

TEST_F(HttpServerTest, OversizedBodyReturns413AndTheServerKeepsServing) {
  ServerOptions o;
  o.maxRequestBodyBytes = 1024;
  startServer(o);
  {
    Client c(server_->port());
    ASSERT_TRUE(c.send(request("POST", "/v1/plugins/x", {"X-Request-Id: big-1"}, std::string(4096, 'a'))));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->header("content-type"), "application/json");
    EXPECT_EQ(r->header("connection"), "close");
    EXPECT_EQ(r->body, R"({"error":"request body exceeds 1024 bytes","code":"PayloadTooLarge",)"
                       R"("reason":"RequestEntityTooLarge","status":413,"requestId":"big-1"})");
  }
  auto ok = roundTrip(request("GET", "/v1/plugins/next"));
  EXPECT_EQ(ok.status, 200);
}

TEST_F(HttpServerTest, DefaultBodyLimitIsThreeMebibytes) {
  startServer();
  auto r = roundTrip("POST /v1/plugins/x HTTP/1.1\r\nHost: h\r\nContent-Length: " +
                     std::to_string(3 * 1024 * 1024 + 1) + "\r\n\r\n");
  EXPECT_EQ(r.status, 413);
  auto ok = roundTrip(request("POST", "/v1/plugins/x", {}, std::string(3 * 1024 * 1024, 'b')));
  EXPECT_EQ(ok.status, 201);
  EXPECT_EQ(ok.body.size(), 3u * 1024 * 1024);
}

TEST_F(HttpServerTest, OversizedHeaderReturns431) {
  startServer();
  Client c(server_->port());
  ASSERT_TRUE(c.send(request("GET", "/v1/plugins/x", {"X-Big: " + std::string(70 * 1024, 'h')})));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(r->header("content-type"), "application/json");
  EXPECT_THAT(r->body, HasSubstr(R"("reason":"RequestHeaderFieldsTooLarge","status":431)"));
  EXPECT_EQ(roundTrip(request("GET", "/v1/plugins/next")).status, 200);
}

TEST_F(HttpServerTest, MalformedRequestLineReturns400AndCloses) {
  startServer();
  Client c(server_->port());
  ASSERT_TRUE(c.send("THIS IS NOT HTTP\r\n\r\n"));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->header("content-type"), "application/json");
  EXPECT_THAT(r->body, HasSubstr(R"("code":"InvalidArgument","reason":"BadRequest","status":400)"));
  EXPECT_THAT(r->header("x-request-id"), IsGeneratedRequestId());
  EXPECT_TRUE(c.closedByServer(3s));
  EXPECT_EQ(roundTrip(request("GET", "/v1/plugins/next")).status, 200);
}

TEST_F(HttpServerTest, ThrowingHandlerReturns500JsonAndTheServerContinues) {
  startServer();
  Client c(server_->port());
  ASSERT_TRUE(c.send(request("GET", "/boom", {"X-Request-Id: boom-1"})));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->header("content-type"), "application/json");
  EXPECT_EQ(r->body, R"({"error":"internal error","code":"Internal","reason":"InternalError","status":500,)"
                     R"("requestId":"boom-1"})");
  // Same connection keeps working.
  ASSERT_TRUE(c.send(request("GET", "/v1/plugins/after")));
  auto next = c.read();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
}

// --- request ids --------------------------------------------------------------------------------

TEST_F(HttpServerTest, ValidIncomingRequestIdIsEchoed) {
  startServer();
  auto r = roundTrip(request("GET", "/request-id", {"X-Request-Id: abc.DEF_123-x"}));
  EXPECT_EQ(r.header("x-request-id"), "abc.DEF_123-x");
  EXPECT_EQ(r.body, "abc.DEF_123-x");
}

TEST_F(HttpServerTest, MissingOrInvalidRequestIdIsReplacedByAGeneratedOne) {
  startServer();
  auto none = roundTrip(request("GET", "/request-id"));
  EXPECT_THAT(none.header("x-request-id"), IsGeneratedRequestId());
  EXPECT_EQ(none.body, none.header("x-request-id"));

  auto invalid = roundTrip(request("GET", "/request-id", {"X-Request-Id: has spaces;and=junk"}));
  EXPECT_THAT(invalid.header("x-request-id"), IsGeneratedRequestId());

  auto tooLong = roundTrip(request("GET", "/request-id", {"X-Request-Id: " + std::string(65, 'a')}));
  EXPECT_THAT(tooLong.header("x-request-id"), IsGeneratedRequestId());

  EXPECT_NE(none.header("x-request-id"), invalid.header("x-request-id"));
}

// --- timeouts -----------------------------------------------------------------------------------

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  ServerOptions o;
  o.idleTimeout = 300ms;
  startServer(o);
  Client c(server_->port());
  ASSERT_TRUE(c.send(request("GET", "/v1/plugins/a")));
  ASSERT_TRUE(c.read());
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closedByServer(5s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
}

TEST_F(HttpServerTest, SlowHeaderClientIsDisconnectedWithoutBlockingOthers) {
  ServerOptions o;
  o.readTimeout = 300ms;
  o.workerThreads = 1;  // even with one worker the slow client holds nothing
  startServer(o);
  Client slow(server_->port());
  ASSERT_TRUE(slow.send("GET /v1/plugins/a HTTP/1.1\r\nHost: loc"));  // never finished
  for (int i = 0; i < 5; ++i) EXPECT_EQ(roundTrip(request("GET", "/v1/plugins/b")).status, 200);
  EXPECT_TRUE(slow.closedByServer(5s));
}

// --- graceful stop ------------------------------------------------------------------------------

TEST_F(HttpServerTest, GracefulStopLetsAnInFlightSlowHandlerFinish) {
  startServer();
  slowFor_ = 400ms;
  Client c(server_->port());
  Client idle(server_->port());
  ASSERT_TRUE(idle.send(request("GET", "/v1/plugins/a")));
  ASSERT_TRUE(idle.read());
  ASSERT_TRUE(c.send(request("GET", "/slow")));
  ASSERT_EQ(slowEntered_.get_future().wait_for(5s), std::future_status::ready);

  const auto port = server_->port();
  std::thread stopper([&] { server_->stop(5s); });
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "slow done");
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(idle.closedByServer(3s));
  stopper.join();
  server_->wait();  // returns at once: already stopped
  EXPECT_LT(connectTo(port), 0) << "the listener must be closed";
}

TEST_F(HttpServerTest, StopWithZeroGraceClosesConnectionsAndReturns) {
  startServer();
  Client c(server_->port());
  ASSERT_TRUE(c.send(request("GET", "/v1/plugins/a")));
  ASSERT_TRUE(c.read());
  server_->stop(0ms);
  EXPECT_TRUE(c.closedByServer(3s));
  server_->stop(0ms);  // idempotent
}

TEST_F(HttpServerTest, WaitBlocksUntilAnotherThreadStopsTheServer) {
  startServer();
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    server_->wait();
    returned = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(returned.load());
  server_->stop(1s);
  waiter.join();
  EXPECT_TRUE(returned.load());
}

// --- start errors -------------------------------------------------------------------------------

TEST_F(HttpServerTest, BindFailureNamesTheAddress) {
  startServer();
  ServerOptions o;
  o.port = server_->port();
  auto second = Server::start(o, Router());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("127.0.0.1:" + std::to_string(o.port)));
}

TEST_F(HttpServerTest, InvalidOptionsAreRejected) {
  ServerOptions badAddress;
  badAddress.address = "not-an-ip";
  auto a = Server::start(badAddress, Router());
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(a.status().message(), HasSubstr("not-an-ip"));

  ServerOptions badTls;
  badTls.tls = TlsOptions{"not a pem", "not a key"};
  auto b = Server::start(badTls, Router());
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument);
}

// --- metrics ------------------------------------------------------------------------------------

TEST_F(HttpServerTest, MetricsUseTheRouteTemplateNotTheRawPath) {
  metrics::Registry& registry = registry_;
  Router router = testRouter();
  addStandardEndpoints(router, {"svc", "1.0", "abc", "today"}, &registry, nullptr);
  ServerOptions o;
  o.metrics = &registry;
  startServer(o, std::move(router));

  Client c(server_->port());
  for (const char* name : {"abc", "def", "ghi"}) {
    ASSERT_TRUE(c.send(request("GET", std::string("/v1/plugins/") + name)));
    ASSERT_TRUE(c.read());
  }
  ASSERT_TRUE(c.send(request("GET", "/no/such/path")));
  ASSERT_TRUE(c.read());
  ASSERT_TRUE(c.send(request("GET", "/metrics")));
  auto r = c.read();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_THAT(r->body,
              HasSubstr("kubeop_http_requests_total{method=\"GET\",route=\"/v1/plugins/{name}\",code=\"200\"} 3\n"));
  EXPECT_THAT(r->body, HasSubstr("kubeop_http_requests_total{method=\"GET\",route=\"unmatched\",code=\"404\"} 1\n"));
  EXPECT_THAT(r->body, HasSubstr("kubeop_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/plugins/{name}\"} 3\n"));
  EXPECT_THAT(r->body, HasSubstr("kubeop_http_inflight_requests 1\n"));  // the /metrics request itself
  EXPECT_THAT(r->body, HasSubstr("process_resident_memory_bytes"));
  EXPECT_THAT(r->body, Not(HasSubstr("/v1/plugins/abc")));
  EXPECT_THAT(r->body, Not(HasSubstr("/no/such/path")));
}

TEST_F(HttpServerTest, UnknownMethodsShareOneMetricLabel) {
  metrics::Registry& registry = registry_;
  ServerOptions o;
  o.metrics = &registry;
  startServer(o);
  EXPECT_EQ(roundTrip(request("BREW", "/v1/plugins/x")).status, 405);
  // Recorded once the write completes, which may be just after the client has read it.
  const std::string expected =
      "kubeop_http_requests_total{method=\"OTHER\",route=\"/v1/plugins/{name}\",code=\"405\"} 1\n";
  EXPECT_TRUE(eventually([&] { return registry.serialize().find(expected) != std::string::npos; }))
      << registry.serialize();
}

// --- standard endpoints ---------------------------------------------------------------------

TEST_F(HttpServerTest, StandardEndpointsAnswerHealthReadinessAndVersion) {
  Router router;
  addStandardEndpoints(router, {"kubeop-api", "0.3.1", "0123abcd", "2026-11-23T10:00:00Z"}, nullptr, [this] {
    return ready_ ? Status::ok() : unavailable("database not connected");
  });
  startServer({}, std::move(router));

  auto health = roundTrip(request("GET", "/healthz"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok"})");
  EXPECT_EQ(health.header("content-type"), "application/json");

  auto notReady = roundTrip(request("GET", "/readyz", {"X-Request-Id: probe-1"}));
  EXPECT_EQ(notReady.status, 503);
  EXPECT_EQ(notReady.header("content-type"), "application/json");
  EXPECT_EQ(notReady.body, R"({"error":"database not connected","code":"Unavailable",)"
                           R"("reason":"ServiceUnavailable","status":503,"requestId":"probe-1"})");
  ready_ = true;
  auto isReady = roundTrip(request("GET", "/readyz"));
  EXPECT_EQ(isReady.status, 200);
  EXPECT_EQ(isReady.body, R"({"status":"ready"})");

  auto version = roundTrip(request("GET", "/version"));
  EXPECT_EQ(version.body, R"({"service":"kubeop-api","version":"0.3.1","gitCommit":"0123abcd",)"
                          R"("buildDate":"2026-11-23T10:00:00Z"})");
  EXPECT_EQ(roundTrip(request("GET", "/metrics")).status, 404);  // no registry, no /metrics
  EXPECT_EQ(roundTrip(request("HEAD", "/healthz"), true).status, 200);
}

TEST_F(HttpServerTest, ReadinessCallbackThatThrowsMeansNotReady) {
  Router router;
  addStandardEndpoints(router, {}, nullptr, []() -> Status { throw std::runtime_error("probe broke"); });
  startServer({}, std::move(router));
  auto r = roundTrip(request("GET", "/readyz"));
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(r.body, HasSubstr("probe broke"));
}

// --- concurrency ----------------------------------------------------------------------------

TEST_F(HttpServerTest, ManyConcurrentKeepAliveClientsAreAllServed) {
  metrics::Registry& registry = registry_;
  ServerOptions o;
  o.metrics = &registry;
  startServer(o);
  constexpr int kClients = 8;
  constexpr int kRequests = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kClients; ++t) {
    threads.emplace_back([&, t] {
      Client c(server_->port());
      for (int i = 0; i < kRequests; ++i) {
        if (!c.send(request("GET", "/v1/plugins/c" + std::to_string(t)))) return;
        auto r = c.read();
        if (r && r->status == 200) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
  const std::string expected =
      "kubeop_http_requests_total{method=\"GET\",route=\"/v1/plugins/{name}\",code=\"200\"} 400\n";
  EXPECT_TRUE(eventually([&] { return registry.serialize().find(expected) != std::string::npos; }))
      << registry.serialize();
}

// --- streamed responses -----------------------------------------------------------------------

// A StreamSource for tests: records the writer and the onClientGone call.
struct RecordingSource : StreamSource {
  void onStart(std::shared_ptr<StreamWriter> w) override {
    std::lock_guard lk(mu);
    writer = std::move(w);
    started = true;
    if (onStartHook) onStartHook(writer);
  }
  void onClientGone() override { gone = true; }
  std::shared_ptr<StreamWriter> getWriter() {
    std::lock_guard lk(mu);
    return writer;
  }
  std::mutex mu;
  std::shared_ptr<StreamWriter> writer;
  std::function<void(const std::shared_ptr<StreamWriter>&)> onStartHook;
  std::atomic<bool> started{false};
  std::atomic<bool> gone{false};
};

class HttpStreamTest : public HttpServerTest {
 protected:
  // A router whose /watch answers with `source_` (and /v1/plugins/{name} as usual).
  Router streamRouter() {
    Router r = testRouter();
    r.add("GET", "/watch", [this](const Request&) {
      Response resp = Response::stream(200, "application/json", source_);
      resp.setHeader("Cache-Control", "no-cache");
      return resp;
    });
    return r;
  }
  std::shared_ptr<RecordingSource> source_ = std::make_shared<RecordingSource>();
};

TEST_F(HttpStreamTest, StreamDeliversEventsWrittenFromAnotherThread) {
  metrics::Registry& registry = registry_;
  ServerOptions o;
  o.metrics = &registry;
  startServer(o, streamRouter());
  std::promise<void> firstSeen;
  std::thread producer;
  source_->onStartHook = [&](const std::shared_ptr<StreamWriter>& w) {
    producer = std::thread([w, seen = firstSeen.get_future()]() mutable {
      EXPECT_TRUE(w->write("{\"type\":\"ADDED\"}\n"));
      seen.wait();  // the client has it before the next one is even written: no buffering
      std::this_thread::sleep_for(30ms);
      EXPECT_TRUE(w->write("{\"type\":\"MODIFIED\"}\n"));
      std::this_thread::sleep_for(30ms);
      EXPECT_TRUE(w->write(""));  // ignored: an empty chunk would end the stream
      EXPECT_TRUE(w->write("{\"type\":\"DELETED\"}\n"));
      w->close();
      EXPECT_FALSE(w->write("late"));
      EXPECT_FALSE(w->isOpen());
    });
  };

  Client c(server_->port());
  ASSERT_TRUE(c.send(request("GET", "/watch")));
  auto head = c.read(/*headRequest=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("transfer-encoding"), "chunked");
  EXPECT_EQ(head->header("content-type"), "application/json");
  EXPECT_EQ(head->header("cache-control"), "no-cache");
  EXPECT_EQ(head->header("connection"), "close");
  EXPECT_EQ(head->header("content-length"), "");
  EXPECT_EQ(c.readChunk(), "{\"type\":\"ADDED\"}\n");
  firstSeen.set_value();
  EXPECT_EQ(c.readChunk(), "{\"type\":\"MODIFIED\"}\n");
  EXPECT_EQ(c.readChunk(), "{\"type\":\"DELETED\"}\n");
  EXPECT_EQ(c.readChunk(), "");  // the terminating chunk
  EXPECT_TRUE(c.closedByServer(3s));
  producer.join();
  EXPECT_FALSE(source_->gone.load()) << "a stream closed by its source is not a gone client";

  // Recorded once the stream has ended.
  const std::string expected = "kubeop_http_requests_total{method=\"GET\",route=\"/watch\",code=\"200\"} 1\n";
  EXPECT_TRUE(eventually([&] { return registry.serialize().find(expected) != std::string::npos; }))
      << registry.serialize();
  EXPECT_THAT(registry.serialize(), HasSubstr("kubeop_http_inflight_requests 0\n"));
}

TEST_F(HttpStreamTest, SourceMayWriteFromOnStart) {
  startServer({}, streamRouter());
  source_->onStartHook = [](const std::shared_ptr<StreamWriter>& w) {
    EXPECT_TRUE(w->write("first"));
    w->close();
  };
  Client c(server_->port());
  ASSERT_TRUE(c.send(request("GET", "/watch")));
  ASSERT_TRUE(c.read(true));
  EXPECT_EQ(c.readChunk(), "first");
  EXPECT_EQ(c.readChunk(), "");
}

TEST_F(HttpStreamTest, ClientDisconnectNotifiesTheSource) {
  startServer({}, streamRouter());
  {
    Client c(server_->port());
    ASSERT_TRUE(c.send(request("GET", "/watch")));
    ASSERT_TRUE(c.read(true));
    ASSERT_TRUE(eventually([&] { return source_->started.load(); }));
    EXPECT_TRUE(source_->getWriter()->write("one"));
    EXPECT_EQ(c.readChunk(), "one");
  }  // the client goes away
  EXPECT_TRUE(eventually([&] { return source_->gone.load(); }));
  auto w = source_->getWriter();
  EXPECT_FALSE(w->isOpen());
  EXPECT_FALSE(w->write("nobody listens"));
  w->close();  // harmless
  EXPECT_EQ(roundTrip(request("GET", "/v1/plugins/after")).status, 200);
}

TEST_F(HttpStreamTest, IdleAndReadTimeoutsDoNotEndAnOpenStream) {
  ServerOptions o;
  o.idleTimeout = 100ms;
  o.readTimeout = 100ms;
  startServer(o, streamRouter());
  Client c(server_->port());
  ASSERT_TRUE(c.send(request("GET", "/watch")));
  ASSERT_TRUE(c.read(true));
  ASSERT_TRUE(eventually([&] { return source_->started.load(); }));
  std::this_thread::sleep_for(500ms);  // several timeouts' worth of silence on purpose
  EXPECT_FALSE(source_->gone.load());
  EXPECT_TRUE(source_->getWriter()->write("still here"));
  EXPECT_EQ(c.readChunk(), "still here");
  source_->getWriter()->close();
  EXPECT_EQ(c.readChunk(), "");
}

TEST_F(HttpStreamTest, GracefulStopEndsStreamsWithTheTerminatingChunk) {
  startServer({}, streamRouter());
  Client c(server_->port());
  ASSERT_TRUE(c.send(request("GET", "/watch")));
  ASSERT_TRUE(c.read(true));
  ASSERT_TRUE(eventually([&] { return source_->started.load(); }));
  ASSERT_TRUE(source_->getWriter()->write("queued before stop"));

  const auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] { server_->stop(10s); });
  EXPECT_EQ(c.readChunk(), "queued before stop");
  EXPECT_EQ(c.readChunk(), "");  // the stream ended cleanly, as a watch does on shutdown
  EXPECT_TRUE(c.closedByServer(3s));
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "streams must not hold stop() for the grace period";
  EXPECT_TRUE(source_->gone.load());
  EXPECT_FALSE(source_->getWriter()->write("after stop"));
}

TEST_F(HttpStreamTest, WriterOutlivingTheServerIsSafe) {
  startServer({}, streamRouter());
  Client c(server_->port());
  ASSERT_TRUE(c.send(request("GET", "/watch")));
  ASSERT_TRUE(c.read(true));
  ASSERT_TRUE(eventually([&] { return source_->started.load(); }));
  std::shared_ptr<StreamWriter> w = source_->getWriter();
  server_->stop(0ms);
  server_.reset();
  EXPECT_FALSE(w->write("into the void"));
  w->close();
  EXPECT_FALSE(w->isOpen());
}

TEST_F(HttpStreamTest, SlowReaderIsCutOffWithoutBlockingOtherConnections) {
  ServerOptions o;
  o.workerThreads = 1;
  o.maxStreamBufferBytes = 1 << 20;
  startServer(o, streamRouter());

  // A client that asks for a stream and never reads it, with a small receive window.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  int small = 4096;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  PlainTransport slow(fd);
  ASSERT_TRUE(slow.sendAll(request("GET", "/watch")));
  ASSERT_TRUE(eventually([&] { return source_->started.load(); }));

  std::atomic<bool> refused{false};
  std::atomic<std::size_t> accepted{0};
  std::thread producer([&, w = source_->getWriter()] {
    const std::string chunk(64 * 1024, 'x');
    for (int i = 0; i < 10000 && !refused; ++i) {
      if (w->write(chunk)) {
        accepted += chunk.size();
      } else {
        refused = true;
      }
    }
  });
  // Meanwhile everybody else is served, even with a single worker thread.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(roundTrip(request("GET", "/v1/plugins/other")).status, 200);
  producer.join();
  EXPECT_TRUE(refused.load()) << "the writer must refuse once the buffer limit is exceeded";
  EXPECT_TRUE(eventually([&] { return source_->gone.load(); }));
  EXPECT_LT(accepted.load(), 64u << 20);
  EXPECT_EQ(roundTrip(request("GET", "/v1/plugins/after")).status, 200);
}

TEST_F(HttpStreamTest, HeadOnAStreamRouteNeverStartsTheSource) {
  startServer({}, streamRouter());
  auto r = roundTrip(request("HEAD", "/watch"), /*head=*/true);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(source_->started.load());
}

TEST_F(HttpStreamTest, SourceThatThrowsOnStartDropsTheConnection) {
  startServer({}, streamRouter());
  source_->onStartHook = [](const std::shared_ptr<StreamWriter>&) { throw std::runtime_error("no store"); };
  Client c(server_->port());
  ASSERT_TRUE(c.send(request("GET", "/watch")));
  EXPECT_TRUE(c.closedByServer(3s));
  EXPECT_EQ(roundTrip(request("GET", "/v1/plugins/after")).status, 200);
}

// --- TLS ----------------------------------------------------------------------------------------

class TlsTransport : public Transport {
 public:
  static std::unique_ptr<TlsTransport> connect(std::uint16_t port, const std::string& caFile, std::string& error) {
    auto t = std::unique_ptr<TlsTransport>(new TlsTransport());
    t->ctx_ = SSL_CTX_new(TLS_client_method());
    if (SSL_CTX_load_verify_locations(t->ctx_, caFile.c_str(), nullptr) != 1) {
      error = "cannot load CA";
      return nullptr;
    }
    SSL_CTX_set_verify(t->ctx_, SSL_VERIFY_PEER, nullptr);
    t->fd_ = connectTo(port);
    if (t->fd_ < 0) {
      error = "connect failed";
      return nullptr;
    }
    t->ssl_ = SSL_new(t->ctx_);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl_), "127.0.0.1");  // verify the SAN
    SSL_set_fd(t->ssl_, t->fd_);
    if (SSL_connect(t->ssl_) != 1) {
      char buf[256];
      ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
      error = std::string("TLS handshake failed: ") + buf;
      return nullptr;
    }
    return t;
  }
  ~TlsTransport() override {
    if (ssl_ != nullptr) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool sendAll(std::string_view data) override {
    return SSL_write(ssl_, data.data(), static_cast<int>(data.size())) == static_cast<int>(data.size());
  }
  long recvSome(char* buf, std::size_t n) override {
    const int r = SSL_read(ssl_, buf, static_cast<int>(n));
    return r > 0 ? r : (SSL_get_error(ssl_, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1);
  }
  std::string protocol() const { return SSL_get_version(ssl_); }

 private:
  TlsTransport() = default;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
};

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_F(HttpServerTest, TlsRoundTripWithASelfSignedCertificate) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "openssl CLI not installed";
  char tmpl[] = "/tmp/kubeop-http-tls-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::filesystem::path dir = tmpl;
  const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
                          "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout " +
                          (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);

  ServerOptions o;
  o.tls = TlsOptions{readFile(dir / "cert.pem"), readFile(dir / "key.pem")};
  startServer(o);
  EXPECT_TRUE(server_->tls());

  std::string error;
  auto transport = TlsTransport::connect(server_->port(), (dir / "cert.pem").string(), error);
  ASSERT_TRUE(transport) << error;
  const std::string protocol = transport->protocol();
  EXPECT_THAT(protocol, StartsWith("TLSv1."));
  Client c(std::move(transport));
  for (int i = 0; i < 2; ++i) {  // keep-alive over TLS too
    ASSERT_TRUE(c.send(request("GET", "/v1/plugins/secure?verbose=1")));
    auto r = c.read();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, R"({"name":"secure","route":"/v1/plugins/{name}","verbose":"1"})");
  }

  // Plain HTTP to the HTTPS port gets no HTTP answer.
  Client plain(server_->port());
  ASSERT_TRUE(plain.send(request("GET", "/v1/plugins/x")));
  auto r = plain.read();
  EXPECT_FALSE(r.has_value() && r->status == 200);

  std::filesystem::remove_all(dir);
}

// --- router and response units ------------------------------------------------------------

TEST(RouterTest, MatchReportsTheTemplateAndDecodedParams) {
  Router r;
  r.add("GET", "/v1/plugins/{name}", [](const Request&) { return Response(); });
  HeaderList params;
  auto m = r.match("GET", "/v1/plugins/a%2Fb", &params);
  EXPECT_EQ(m.kind, Router::MatchKind::kFound);
  EXPECT_EQ(m.route, "/v1/plugins/{name}");
  ASSERT_EQ(params.size(), 1u);
  EXPECT_EQ(params[0].first, "name");
  EXPECT_EQ(params[0].second, "a/b");
  EXPECT_EQ(r.match("GET", "/v1/plugins/", &params).kind, Router::MatchKind::kNotFound);  // empty segment
  EXPECT_EQ(r.match("GET", "/v1/plugins/a/b", &params).kind, Router::MatchKind::kNotFound);
  EXPECT_EQ(r.match("GET", "", &params).kind, Router::MatchKind::kNotFound);
}

TEST(RouterTest, MethodSpecificTemplateFallsBackToAMoreGeneralOne) {
  Router r;
  r.add("GET", "/v1/plugins/{name}", [](const Request&) { return Response::text(200, "param"); });
  r.add("POST", "/v1/plugins/reload", [](const Request&) { return Response::text(200, "reload"); });
  auto get = r.match("GET", "/v1/plugins/reload");
  EXPECT_EQ(get.kind, Router::MatchKind::kFound);
  EXPECT_EQ(get.route, "/v1/plugins/{name}");
  auto put = r.match("PUT", "/v1/plugins/reload");
  EXPECT_EQ(put.kind, Router::MatchKind::kMethodNotAllowed);
  EXPECT_EQ(put.allow, "GET, HEAD, POST");
}

TEST(RouterTest, InvalidOrDuplicateRoutesThrow) {
  Router r;
  auto h = [](const Request&) { return Response(); };
  r.add("GET", "/a/{x}", h);
  EXPECT_THROW(r.add("GET", "/a/{x}", h), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/{y}", h), std::invalid_argument);  // same shape, other name
  EXPECT_THROW(r.add("GET", "no-slash", h), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/a/pre{x}", h), std::invalid_argument);
  EXPECT_THROW(r.add("GET", "/b/{x}/{x}", h), std::invalid_argument);
  EXPECT_NO_THROW(r.add("POST", "/a/{x}", h));
  EXPECT_EQ(r.routeCount(), 1u);
}

TEST(RouterTest, DispatchWithoutASocketRunsTheHandler) {
  Router r;
  r.add("GET", "/x/{id}", [](const Request& req) { return Response::text(200, std::string(req.pathParam("id"))); });
  Request req;
  req.method = "GET";
  req.path = "/x/42";
  std::size_t routeId = 99;
  Response resp = r.dispatch(req, &routeId);
  EXPECT_EQ(resp.body, "42");
  EXPECT_EQ(req.route, "/x/{id}");
  EXPECT_EQ(routeId, 0u);
  req.path = "/nothing";
  EXPECT_EQ(r.dispatch(req, &routeId).status, 404);
  EXPECT_EQ(routeId, r.routeCount());
}

TEST(RequestTest, QueryParamsAreDecoded) {
  Request req;
  req.query = "a=1&b=hello+world&c=%41%zz&flag&a=2";
  EXPECT_EQ(req.queryParam("a"), "1");
  EXPECT_EQ(req.queryParam("b"), "hello world");
  EXPECT_EQ(req.queryParam("c"), "A%zz");
  EXPECT_EQ(req.queryParam("flag"), "");
  EXPECT_EQ(req.queryParam("missing"), std::nullopt);
}

TEST(ResponseTest, ErrorBodyCarriesCodeReasonStatusAndRequestId) {
  Response r = Response::error(alreadyExists("plugin \"dns\" exists"), "rid-1");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.contentType, "application/json");
  EXPECT_EQ(r.body, R"({"error":"plugin \"dns\" exists","code":"AlreadyExists","reason":"AlreadyExists",)"
                    R"("status":409,"requestId":"rid-1"})");
}

TEST(ResponseTest, HelpersSetStatusAndContentType) {
  EXPECT_EQ(Response::text(202, "x").contentType, "text/plain; charset=utf-8");
  Response j = Response::json(201, "{}");
  EXPECT_EQ(j.status, 201);
  j.setHeader("Location", "/a").setHeader("location", "/b");
  EXPECT_EQ(j.headers.size(), 1u);
  EXPECT_EQ(j.header("LOCATION"), "/b");
}

// --- signals ------------------------------------------------------------------------------------

TEST(SignalTest, WaitForTerminationSignalReturnsTheSignal) {
  installTerminationSignalHandlers();
  EXPECT_EQ(waitForTerminationSignal(20ms), 0);  // nothing pending: times out
  ASSERT_EQ(::raise(SIGTERM), 0);
  EXPECT_EQ(waitForTerminationSignal(2s), SIGTERM);
}

}  // namespace
}  // namespace kubeop::http
