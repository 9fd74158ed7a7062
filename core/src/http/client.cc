// The HTTP client: the second (and last) translation unit that compiles Boost.Asio/Beast
// (TOOLCHAIN.md §4: keep Beast in few TUs).
//
// Design:
//  - The Client owns an io_context run by its I/O thread(s). A Connection is a socket (plus an
//    ssl::stream over it for https) on its own strand. Callers block; the network work of one
//    call is an Exchange: a small state machine on the connection's strand (resolve, connect,
//    handshake, write, read) whose single outstanding operation reports every outcome.
//  - The caller and the Exchange meet in a mailbox (mutex + condition variable): the final
//    outcome, and for streams the response head and each piece of body. A stream's Exchange
//    reads the next piece only after the caller has consumed the previous one, so a slow
//    consumer applies back-pressure to the server instead of growing a buffer here.
//  - Timeouts: one timer per Exchange; on expiry it closes the socket (or cancels the resolver)
//    and the failing operation reports DeadlineExceeded. Cancellation works the same way.
//  - Pool: idle connections per scheme://host:port. Before reuse a connection is checked for a
//    pending EOF (the server closed it while idle); a connection that fails before the request
//    could have been processed is replaced once (see Client::request).
//  - Responses are parsed by Beast's response_parser, fed by our own reads (as in server.cc).
//  - Fast path: request() on a pooled, connected connection runs on the caller's thread
//    (SyncExchange): the descriptor is released from the I/O threads' reactor and driven with
//    non-blocking calls plus poll(), so a call costs no thread hand-off at all. Connecting (and
//    every stream) stays an Exchange on the I/O thread; a connection moves between the two modes
//    when it changes hands in the pool. Both kinds share ExchangeBase: the same parser set-up,
//    outcomes, messages and retry rules.

// Boost 1.74 Asio under C++20 uses std::exchange without including <utility> (TOOLCHAIN.md §5.1).
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "kubeop/http/client.h"
#include "kubeop/http/url.h"
#include "kubeop/log/log.h"

namespace kubeop::http {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using Strand = net::strand<net::io_context::executor_type>;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kReadSize = 65536;

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool isToken(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar); }

bool safeHeaderValue(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

long long millis(Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

// The first queued OpenSSL error as text (and the queue cleared).
std::string opensslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// Adds every certificate in `pem` to the context's trust store. Returns how many.
StatusOr<int> addTrustedCertificates(SSL_CTX* ctx, std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return internalError("out of memory");
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  for (;;) {
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    if (cert == nullptr) break;
    X509_STORE_add_cert(store, cert);  // duplicates are fine
    X509_free(cert);
    ++count;
  }
  ERR_clear_error();  // the loop ends with a "no start line" error
  BIO_free(bio);
  return count;
}

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

// Installs a client certificate chain and key on one connection.
Status useClientCertificate(SSL* ssl, const ClientCertificate& cc) {
  BIO* bio = BIO_new_mem_buf(cc.certificatePem.data(), static_cast<int>(cc.certificatePem.size()));
  if (bio == nullptr) return internalError("out of memory");
  std::vector<std::unique_ptr<X509, X509Deleter>> chain;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) chain.emplace_back(cert);
  BIO_free(bio);
  ERR_clear_error();
  if (chain.empty()) return invalidArgument("client certificate: no PEM certificate found");
  bio = BIO_new_mem_buf(cc.keyPem.data(), static_cast<int>(cc.keyPem.size()));
  if (bio == nullptr) return internalError("out of memory");
  std::unique_ptr<EVP_PKEY, PkeyDeleter> key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  if (!key) {
    ERR_clear_error();
    return invalidArgument("client certificate: no PEM private key found");
  }
  if (SSL_use_certificate(ssl, chain.front().get()) != 1 || SSL_use_PrivateKey(ssl, key.get()) != 1 ||
      SSL_check_private_key(ssl) != 1) {
    return invalidArgument("client certificate: " + opensslError());
  }
  for (std::size_t i = 1; i < chain.size(); ++i) SSL_add1_chain_cert(ssl, chain[i].get());
  return Status::ok();
}

// --- connections --------------------------------------------------------------------------------

// The caller's-thread I/O of one SyncExchange: non-blocking socket calls plus ppoll(), bounded by
// the request deadline. cancel() may run on any thread: it shuts the socket down, which wakes a
// blocked poll (the caller keeps the descriptor open until the cancel callback is removed).
struct SyncIo {
  int fd = -1;
  Clock::time_point deadline = Clock::time_point::max();
  std::atomic<bool> cancelled{false};
  bool timedOut = false;

  void cancel() {
    cancelled.store(true);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }

  std::size_t readSome(void* data, std::size_t size, beast::error_code& ec) {
    for (;;) {
      if (expired(ec)) return 0;
      const ssize_t n = ::recv(fd, data, size, MSG_DONTWAIT);
      if (n > 0) {
        ec = {};
        return static_cast<std::size_t>(n);
      }
      if (n == 0) {
        ec = net::error::eof;
        return 0;
      }
      if (!waitAfterFailure(POLLIN, ec)) return 0;
    }
  }

  std::size_t writeSome(const void* data, std::size_t size, beast::error_code& ec) {
    for (;;) {
      if (expired(ec)) return 0;
      const ssize_t n = ::send(fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n >= 0) {
        ec = {};
        return static_cast<std::size_t>(n);
      }
      if (!waitAfterFailure(POLLOUT, ec)) return 0;
    }
  }

 private:
  bool expired(beast::error_code& ec) {
    if (deadline == Clock::time_point::max() || Clock::now() < deadline) return false;
    timedOut = true;
    ec = net::error::timed_out;
    return true;
  }

  // After a failed call: true once the socket may be ready (try again); false with `ec` set for
  // a real error, cancellation or the deadline.
  bool waitAfterFailure(short events, beast::error_code& ec) {
    const int err = errno;
    if (err == EINTR) return true;
    if (err != EAGAIN && err != EWOULDBLOCK) {
      ec.assign(err, boost::system::system_category());
      return false;
    }
    if (cancelled.load()) {
      ec = net::error::operation_aborted;
      return false;
    }
    pollfd pfd{fd, events, 0};
    timespec ts{};
    timespec* timeout = nullptr;
    if (deadline != Clock::time_point::max()) {
      const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now());
      if (left.count() <= 0) return !expired(ec);
      ts.tv_sec = static_cast<time_t>(left.count() / 1000000000);
      ts.tv_nsec = static_cast<long>(left.count() % 1000000000);
      timeout = &ts;
    }
    if (::ppoll(&pfd, 1, timeout, nullptr) < 0 && errno != EINTR) {
      ec.assign(errno, boost::system::system_category());
      return false;
    }
    return true;  // ready, interrupted or timed out: the next call (or expired()) tells
  }
};

// The layer under a connection's socket and TLS stream. Asynchronous operations (Exchange, on
// the I/O thread) go to the Asio socket; synchronous ones (SyncExchange, on the caller's thread)
// to the released descriptor through the connection's current SyncIo.
class Transport {
 public:
  using executor_type = tcp::socket::executor_type;
  using lowest_layer_type = tcp::socket::lowest_layer_type;

  Transport(tcp::socket& socket, SyncIo* const& sync) : socket_(&socket), sync_(&sync) {}

  executor_type get_executor() { return socket_->get_executor(); }
  lowest_layer_type& lowest_layer() { return socket_->lowest_layer(); }
  const lowest_layer_type& lowest_layer() const { return socket_->lowest_layer(); }

  template <class Buffers, class Handler>
  auto async_read_some(const Buffers& buffers, Handler&& handler) {
    return socket_->async_read_some(buffers, std::forward<Handler>(handler));
  }
  template <class Buffers, class Handler>
  auto async_write_some(const Buffers& buffers, Handler&& handler) {
    return socket_->async_write_some(buffers, std::forward<Handler>(handler));
  }

  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, beast::error_code& ec) {
    return onFirstBuffer<net::mutable_buffer>(
        buffers, ec, [&](SyncIo& io, net::mutable_buffer b) { return io.readSome(b.data(), b.size(), ec); });
  }
  template <class Buffers>
  std::size_t write_some(const Buffers& buffers, beast::error_code& ec) {
    return onFirstBuffer<net::const_buffer>(
        buffers, ec, [&](SyncIo& io, net::const_buffer b) { return io.writeSome(b.data(), b.size(), ec); });
  }

 private:
  // Transfers with the first non-empty buffer (a partial transfer, as a socket's read_some may).
  template <class Buffer, class Buffers, class Op>
  std::size_t onFirstBuffer(const Buffers& buffers, beast::error_code& ec, Op op) {
    if (*sync_ == nullptr) {  // not in caller's-thread mode: only the asynchronous operations work
      ec = net::error::operation_not_supported;
      return 0;
    }
    for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers); ++it) {
      const Buffer b(*it);
      if (b.size() > 0) return op(**sync_, b);
    }
    ec = {};
    return 0;
  }

  tcp::socket* socket_;
  SyncIo* const* sync_;
};

// One TCP (+TLS) connection. Touched by one exchange at a time (an Exchange on its strand, or a
// SyncExchange on its caller's thread); idle in the pool otherwise.
struct Connection {
  Connection(net::io_context& ioc, std::string poolKey)
      : strand(net::make_strand(ioc)), socket(strand), resolver(strand), key(std::move(poolKey)) {}
  ~Connection() {
    if (releasedFd >= 0) ::close(releasedFd);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool isOpen() const { return releasedFd >= 0 || socket.is_open(); }
  int fd() { return releasedFd >= 0 ? releasedFd : (socket.is_open() ? socket.native_handle() : -1); }

  void close() {
    beast::error_code ec;
    socket.close(ec);
    if (releasedFd >= 0) ::close(releasedFd);
    releasedFd = -1;
  }

  // Caller's-thread mode: the descriptor leaves the reactor, so its traffic no longer wakes the
  // I/O threads. Returns the descriptor, -1 if the connection is closed.
  int toCallerMode() {
    if (releasedFd >= 0 || !socket.is_open()) return releasedFd;
    beast::error_code ec;
    protocol = socket.local_endpoint(ec).protocol();
    if (!ec) releasedFd = socket.release(ec);
    if (ec) {
      close();
      return -1;
    }
    return releasedFd;
  }

  // Back to the Asio socket, for an Exchange.
  void toSocketMode() {
    if (releasedFd < 0) return;
    const int fd = std::exchange(releasedFd, -1);
    beast::error_code ec;
    socket.assign(protocol, fd, ec);
    if (ec) ::close(fd);  // the exchange then fails on a closed socket, as on a dead one
  }

  Strand strand;
  tcp::socket socket;
  tcp::resolver resolver;
  SyncIo* sync = nullptr;  // while a SyncExchange runs
  Transport transport{socket, sync};
  std::optional<ssl::stream<Transport&>> tls;
  beast::flat_buffer buffer;
  std::string key;
  bool connected = false;
  int exchanges = 0;  // completed; > 0 means a reused connection
  Clock::time_point idleSince{};
  int releasedFd = -1;  // the descriptor in caller's-thread mode, else -1 (the socket holds it)
  tcp protocol = tcp::v4();
};

}  // namespace

// --- cancellation -------------------------------------------------------------------------------

struct CancelToken::State {
  std::mutex mu;
  std::condition_variable cv;
  bool cancelled = false;
  std::uint64_t nextId = 1;
  std::vector<std::pair<std::uint64_t, std::function<void()>>> callbacks;
  std::uint64_t running = 0;  // the id whose callback cancel() is running now (0: none)

  // Runs `f` at once if already cancelled; otherwise when cancelled. Returns an id for remove().
  std::uint64_t add(std::function<void()> f) {
    {
      std::lock_guard lk(mu);
      if (!cancelled) {
        callbacks.emplace_back(nextId, std::move(f));
        return nextId++;
      }
    }
    f();
    return 0;
  }
  // After remove() returns, the callback is not running and never will.
  void remove(std::uint64_t id) {
    if (id == 0) return;
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return running != id; });
    callbacks.erase(std::remove_if(callbacks.begin(), callbacks.end(), [&](const auto& c) { return c.first == id; }),
                    callbacks.end());
  }
  void cancel() {
    std::unique_lock lk(mu);
    if (cancelled) return;
    cancelled = true;
    while (!callbacks.empty()) {
      auto [id, f] = std::move(callbacks.back());
      callbacks.pop_back();
      running = id;
      lk.unlock();
      f();
      lk.lock();
      running = 0;
      cv.notify_all();
    }
  }
};

CancelToken::CancelToken() : state_(std::make_shared<State>()) {}
void CancelToken::cancel() const { state_->cancel(); }
bool CancelToken::cancelled() const {
  std::lock_guard lk(state_->mu);
  return state_->cancelled;
}

std::string_view ClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return {};
}

// --- the client ---------------------------------------------------------------------------------

namespace {

// Everything the exchanges share; Client::Impl is this.
struct ClientCore {
  explicit ClientCore(ClientOptions o) : options(std::move(o)), sslContext(ssl::context::tls_client) {}

  ~ClientCore() {
    closeIdle();
    work.reset();
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
  }

  // A pooled connection that still looks alive, or a fresh one (not yet connected).
  std::shared_ptr<Connection> acquire(const std::string& key, bool fresh) {
    if (!fresh) {
      std::lock_guard lk(poolMu);
      auto it = idle.find(key);
      if (it != idle.end()) {
        auto& list = it->second;
        const auto now = Clock::now();
        while (!list.empty()) {
          std::shared_ptr<Connection> c = std::move(list.back());  // most recently used first
          list.pop_back();
          if (now - c->idleSince < options.idleConnectionTimeout && stillOpen(*c)) return c;
          closeConnection(*c);
        }
      }
    }
    return std::make_shared<Connection>(ioc, key);
  }

  void release(std::shared_ptr<Connection> c) {
    c->idleSince = Clock::now();
    std::lock_guard lk(poolMu);
    auto& list = idle[c->key];
    if (list.size() >= options.maxIdleConnectionsPerHost) {
      closeConnection(*c);
      return;
    }
    list.push_back(std::move(c));
  }

  void closeIdle() {
    std::lock_guard lk(poolMu);
    for (auto& [key, list] : idle) {
      for (auto& c : list) closeConnection(*c);
    }
    idle.clear();
  }

  // An idle connection (no operation outstanding) whose peer has closed it, or sent something
  // unasked, is useless.
  static bool stillOpen(Connection& c) {
    if (!c.isOpen()) return false;
    char byte;
    const ssize_t n = ::recv(c.fd(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  static void closeConnection(Connection& c) { c.close(); }

  ClientOptions options;
  ssl::context sslContext;
  std::atomic<std::uint64_t> connectionsOpened{0};

  std::mutex poolMu;
  std::map<std::string, std::vector<std::shared_ptr<Connection>>> idle;

  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
};

// What the caller takes from an Exchange's mailbox.
struct Event {
  enum class Kind { kHead, kData, kDone };
  Kind kind = Kind::kDone;
  std::string data;
};

enum class Stage { kResolve, kConnect, kHandshake, kWrite, kReadHead, kReadBody, kPaused, kDone };

struct ExchangeParams {
  std::string method;
  Url url;
  std::string wire;  // the serialized request, body included
  bool streaming = false;
  Clock::time_point deadline = Clock::time_point::max();  // the request as a whole
};

// What Exchange (I/O thread) and SyncExchange (caller's thread) share: the request, the response
// parser, and the rules that turn an outcome into a Status. Used by one thread at a time.
class ExchangeBase {
 public:
  using Params = ExchangeParams;

  // After the exchange ended: the response (the body only for a non-stream or an error).
  ClientResponse& response() { return response_; }
  const Status& final() const { return final_; }
  bool retryable() const { return retryable_; }
  bool reused() const { return reused_; }

 protected:
  ExchangeBase(ClientCore& client, std::shared_ptr<Connection> conn, Params p)
      : client_(client), conn_(std::move(conn)), p_(std::move(p)) {
    prefix_ = p_.method + " " + p_.url.toString() + ": ";
    idempotent_ = p_.method == "GET" || p_.method == "HEAD" || p_.method == "OPTIONS";
    reused_ = conn_->exchanges > 0;
  }

  // A fresh parser for the next response head.
  void resetParser() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(client_.options.maxResponseHeaderBytes,
                                                                          0xffffffffu)));
    if (p_.streaming) {
      // Streams are bounded by the consumer, error bodies by hand. (Not boost::none: Beast 1.74
      // compares a Content-Length against the optional, and any number is "greater" than none.)
      parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    } else {
      parser_->body_limit(static_cast<std::uint64_t>(client_.options.maxResponseBytes));
    }
    if (p_.method == "HEAD") parser_->skip(true);
  }

  // A parser error (not need_more) as the exchange's outcome.
  Status parseFailure(beast::error_code ec) const {
    if (ec == bhttp::error::body_limit) return bodyTooLarge();
    if (ec == bhttp::error::header_limit) {
      return Status(StatusCode::kResourceExhausted,
                    prefix_ + "response header exceeds " + std::to_string(client_.options.maxResponseHeaderBytes) +
                        " bytes");
    }
    return unavailable(prefix_ + "malformed HTTP response: " + ec.message());
  }

  Status bodyTooLarge() const {
    return Status(StatusCode::kResourceExhausted,
                  prefix_ + "response body exceeds " + std::to_string(client_.options.maxResponseBytes) + " bytes");
  }

  // In kReadHead once the head is parsed: an interim (1xx) answer is dropped and the parser reset
  // for the real one (true); otherwise the head is recorded and the body comes next (false).
  StatusOr<bool> skipInterimOrTakeHead() {
    const int status = static_cast<int>(parser_->get().result_int());
    if (status >= 100 && status < 200 && status != 101) {  // interim: read the real answer
      if (!parser_->is_done()) return unavailable(prefix_ + "malformed interim response");
      resetParser();
      return true;
    }
    stage_ = Stage::kReadBody;
    const auto& msg = parser_->get();
    response_.status = status;
    response_.headers.clear();
    for (const auto& f : msg) response_.headers.emplace_back(std::string(sv(f.name_string())), std::string(sv(f.value())));
    return false;
  }

  // A read ended with EOF: true when that completes a body delimited by the end of the
  // connection (the connection is then not reusable).
  bool eofEndsBody() {
    if (cancelled_ || timedOut_ || !parser_->got_some()) return false;
    beast::error_code eofEc;
    parser_->put_eof(eofEc);
    if (eofEc || !parser_->is_done()) return false;
    closeAfter_ = true;
    return true;
  }

  const char* readingWhat() const { return gotResponseByte_ ? "reading the response" : "waiting for the response"; }

  // Whether the connection can serve another request once the parser is done.
  bool keepAlive() const { return parser_->get().keep_alive() && !closeAfter_ && conn_->buffer.size() == 0; }

  // The outcome of a failed network operation. Marks the exchange retryable when the request
  // cannot have been processed.
  Status transportFailure(beast::error_code ec, const std::string& what) {
    if (cancelled_) return Status(StatusCode::kCancelled, prefix_ + "cancelled");
    if (timedOut_) {
      const bool connecting = stage_ == Stage::kResolve || stage_ == Stage::kConnect || stage_ == Stage::kHandshake;
      if (connecting) {
        return Status(StatusCode::kDeadlineExceeded, prefix_ + "timed out after " +
                                                         std::to_string(millis(Clock::now() - connectStart_)) + "ms " +
                                                         what);
      }
      if (stage_ == Stage::kReadBody && p_.streaming && streamOk_) {
        return Status(StatusCode::kDeadlineExceeded,
                      prefix_ + "no data for " + std::to_string(client_.options.streamIdleTimeout.count()) +
                          "ms (stream idle timeout)");
      }
      return Status(StatusCode::kDeadlineExceeded,
                    prefix_ + "request timed out (" + std::to_string(client_.options.requestTimeout.count()) + "ms) " +
                        what);
    }
    // A reused connection the server had closed: never processed if the request did not fully
    // leave, or (idempotent methods) if nothing at all came back.
    if (reused_ && !gotResponseByte_ && (stage_ == Stage::kWrite || (stage_ == Stage::kReadHead && idempotent_))) {
      retryable_ = true;
    }
    std::string reason = ec.message();
    if (ec == net::error::eof) reason = "connection closed by the server";
    if (ec == ssl::error::stream_truncated) reason = "connection closed by the server (TLS stream truncated)";
    return unavailable(prefix_ + what + ": " + reason);
  }

  ClientCore& client_;
  std::shared_ptr<Connection> conn_;
  Params p_;
  std::string prefix_;
  bool idempotent_ = false;
  bool reused_ = false;

  Stage stage_ = Stage::kResolve;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  Clock::time_point connectStart_{};
  bool cancelled_ = false;
  bool timedOut_ = false;
  bool gotResponseByte_ = false;
  bool streamOk_ = false;
  bool closeAfter_ = false;

  // The outcome; for an Exchange written on the strand and read by the caller under its mutex.
  Status final_;
  bool retryable_ = false;
  ClientResponse response_;
};

// One request on one connection, on the I/O thread. Strand-side members are touched only on the
// connection's strand; the mailbox members only under mu_.
class Exchange : public ExchangeBase, public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(ClientCore& client, std::shared_ptr<Connection> conn, Params p)
      : ExchangeBase(client, std::move(conn), std::move(p)), timer_(conn_->strand) {}

  // --- caller side (any thread) ---

  void start() {
    net::post(conn_->strand, [self = shared_from_this()] { self->begin(); });
  }
  void resume() {
    net::post(conn_->strand, [self = shared_from_this()] { self->onResume(); });
  }
  void cancel() {
    net::post(conn_->strand, [self = shared_from_this()] { self->onCancel(); });
  }

  Event next() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return headReady_ || dataReady_ || done_; });
    Event e;
    if (headReady_) {
      headReady_ = false;
      e.kind = Event::Kind::kHead;
    } else if (dataReady_) {
      dataReady_ = false;
      e.kind = Event::Kind::kData;
      e.data = std::move(data_);
      data_.clear();
    } else {
      e.kind = Event::Kind::kDone;
    }
    return e;
  }

 private:
  // --- strand side ---

  void begin() {
    if (cancelled_) return fail(Status(StatusCode::kCancelled, prefix_ + "cancelled"));
    if (conn_->connected) return sendRequest();
    const auto connectDeadline = std::min(p_.deadline, Clock::now() + client_.options.connectTimeout);
    armTimer(connectDeadline);
    connectStart_ = Clock::now();
    const Url& u = p_.url;
    if (isIpLiteral(u.host)) {
      beast::error_code ec;
      const auto addr = net::ip::make_address(u.host, ec);
      if (ec) return fail(unavailable(prefix_ + "invalid address: " + ec.message()));
      stage_ = Stage::kConnect;
      conn_->socket.async_connect(tcp::endpoint(addr, u.port),
                                  [self = shared_from_this()](beast::error_code e) { self->onConnect(e); });
      return;
    }
    stage_ = Stage::kResolve;
    conn_->resolver.async_resolve(u.host, std::to_string(u.port),
                                  [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type r) {
                                    self->onResolve(ec, std::move(r));
                                  });
  }

  void onResolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (ec) return failNet(ec, "resolving " + p_.url.host);
    if (cancelled_ || timedOut_) return failNet(net::error::operation_aborted, "resolving " + p_.url.host);
    stage_ = Stage::kConnect;
    net::async_connect(conn_->socket, results,
                       [self = shared_from_this()](beast::error_code e, const tcp::endpoint&) { self->onConnect(e); });
  }

  void onConnect(beast::error_code ec) {
    if (ec) return failNet(ec, "connecting to " + p_.url.hostPort());
    if (cancelled_ || timedOut_) return failNet(net::error::operation_aborted, "connecting");
    client_.connectionsOpened.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ignored;
    conn_->socket.set_option(tcp::no_delay(true), ignored);
    if (!p_.url.https()) {
      conn_->connected = true;
      return sendRequest();
    }
    stage_ = Stage::kHandshake;
    conn_->tls->async_handshake(ssl::stream_base::client,
                                [self = shared_from_this()](beast::error_code e) { self->onHandshake(e); });
  }

  void onHandshake(beast::error_code ec) {
    if (ec) {
      if (!cancelled_ && !timedOut_) {
        const long verify = SSL_get_verify_result(conn_->tls->native_handle());
        if (verify != X509_V_OK && !client_.options.tls.insecureSkipVerify) {
          std::string msg = prefix_ + "TLS certificate verification failed: " +
                            X509_verify_cert_error_string(verify);
          msg += " (verifying \"" + verifyName_ + "\")";
          return fail(unavailable(std::move(msg)));
        }
      }
      return failNet(ec, "TLS handshake with " + p_.url.hostPort());
    }
    conn_->connected = true;
    sendRequest();
  }

  void sendRequest() {
    disarmTimer();
    if (p_.deadline != Clock::time_point::max()) armTimer(p_.deadline);
    stage_ = Stage::kWrite;
    auto done = [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onWrite(ec); };
    if (conn_->tls) {
      net::async_write(*conn_->tls, net::buffer(p_.wire), std::move(done));
    } else {
      net::async_write(conn_->socket, net::buffer(p_.wire), std::move(done));
    }
  }

  void onWrite(beast::error_code ec) {
    if (ec) return failNet(ec, "sending the request");
    stage_ = Stage::kReadHead;
    resetParser();
    parse();
  }

  void readMore() {
    auto& buf = conn_->buffer;
    auto done = [self = shared_from_this()](beast::error_code ec, std::size_t n) { self->onRead(ec, n); };
    if (conn_->tls) {
      conn_->tls->async_read_some(buf.prepare(kReadSize), std::move(done));
    } else {
      conn_->socket.async_read_some(buf.prepare(kReadSize), std::move(done));
    }
  }

  void onRead(beast::error_code ec, std::size_t n) {
    conn_->buffer.commit(n);
    if (n > 0) gotResponseByte_ = true;
    if (ec == net::error::eof || ec == ssl::error::stream_truncated) {
      if (eofEndsBody()) {
        if (p_.streaming) takeBody();
        return complete();
      }
      return failNet(ec, readingWhat());
    }
    if (ec) return failNet(ec, readingWhat());
    if (stage_ == Stage::kReadBody && client_.options.streamIdleTimeout.count() > 0 && p_.streaming) {
      armTimer(Clock::now() + client_.options.streamIdleTimeout);
    }
    parse();
  }

  void parse() {
    auto& buf = conn_->buffer;
    for (;;) {
      if (buf.size() == 0) return readMore();
      beast::error_code ec;
      const std::size_t used = parser_->put(buf.data(), ec);
      buf.consume(used);
      if (ec == bhttp::error::need_more) return readMore();
      if (ec) return fail(parseFailure(ec));
      if (stage_ == Stage::kReadHead && parser_->is_header_done()) {
        StatusOr<bool> interim = skipInterimOrTakeHead();
        if (!interim.ok()) return fail(interim.status());
        if (*interim) continue;
        if (p_.streaming) {
          streamOk_ = response_.status >= 200 && response_.status < 300;
          if (streamOk_) {
            // From here the request timeout no longer applies; the idle timeout (if any) does.
            disarmTimer();
            if (client_.options.streamIdleTimeout.count() > 0) {
              armTimer(Clock::now() + client_.options.streamIdleTimeout);
            }
            std::lock_guard lk(mu_);
            headReady_ = true;
            cv_.notify_all();
          }
        }
      }
      if (p_.streaming && stage_ == Stage::kReadBody) {
        if (streamOk_) {
          if (takeBody()) {
            if (parser_->is_done()) {
              pendingComplete_ = true;  // after the caller has consumed this last piece
            }
            return pause();
          }
        } else if (parser_->get().body().size() > client_.options.maxResponseBytes) {
          return fail(bodyTooLarge());
        }
      }
      if (parser_->is_done()) return complete();
      if (used == 0) return readMore();
    }
  }

  // Moves the body bytes parsed so far into the mailbox. Returns whether there were any.
  bool takeBody() {
    std::string& body = parser_->get().body();
    if (body.empty()) return false;
    std::lock_guard lk(mu_);
    data_ = std::move(body);
    body.clear();
    dataReady_ = true;
    cv_.notify_all();
    return true;
  }

  void pause() {
    stage_ = Stage::kPaused;
    disarmTimer();  // the consumer's time is not the server's silence
  }

  void onResume() {
    if (stage_ != Stage::kPaused) return;
    if (cancelled_) return fail(Status(StatusCode::kCancelled, prefix_ + "cancelled"));
    stage_ = Stage::kReadBody;
    if (pendingComplete_) return complete();
    if (client_.options.streamIdleTimeout.count() > 0) armTimer(Clock::now() + client_.options.streamIdleTimeout);
    parse();
  }

  void onCancel() {
    if (stage_ == Stage::kDone) return;
    cancelled_ = true;
    if (stage_ == Stage::kPaused) return fail(Status(StatusCode::kCancelled, prefix_ + "cancelled"));
    abortIo();  // the outstanding operation fails and reports Cancelled
  }

  // --- outcomes ---

  void complete() {
    if (stage_ == Stage::kDone) return;
    const bool reusable = keepAlive();
    if (!p_.streaming || !streamOk_) response_.body = std::move(parser_->get().body());
    finalize(Status::ok(), reusable);
  }

  void failNet(beast::error_code ec, const std::string& what) {
    if (stage_ == Stage::kDone) return;
    fail(transportFailure(ec, what));
  }

  void fail(Status st) {
    if (stage_ == Stage::kDone) return;
    abortIo();
    finalize(std::move(st), false);
  }

  void abortIo() {
    beast::error_code ec;
    conn_->resolver.cancel();
    conn_->socket.close(ec);
  }

  // The single place an Exchange ends: the connection goes back to the pool (first, so the
  // caller's next request finds it) or is closed, then the caller is woken.
  void finalize(Status st, bool reusable) {
    stage_ = Stage::kDone;
    disarmTimer();
    if (st.isOk() && reusable) {
      ++conn_->exchanges;
      client_.release(conn_);
    } else {
      conn_->close();
    }
    std::lock_guard lk(mu_);
    final_ = std::move(st);
    done_ = true;
    cv_.notify_all();
  }

  // --- timer ---

  void armTimer(Clock::time_point at) {
    ++timerGen_;
    timer_.expires_at(at);
    timer_.async_wait([self = shared_from_this(), gen = timerGen_](beast::error_code ec) {
      if (ec || gen != self->timerGen_ || self->stage_ == Stage::kDone || self->stage_ == Stage::kPaused) return;
      self->timedOut_ = true;
      self->abortIo();
    });
  }
  void disarmTimer() {
    ++timerGen_;
    timer_.cancel();
  }

 public:
  // Set up by the caller before start(), for https.
  std::string verifyName_;

 private:
  // strand side
  net::steady_timer timer_;
  std::uint64_t timerGen_ = 0;
  bool pendingComplete_ = false;

  // mailbox
  std::mutex mu_;
  std::condition_variable cv_;
  bool headReady_ = false;
  bool dataReady_ = false;
  std::string data_;
  bool done_ = false;
};

// One request/response on a connected pooled connection, run on the caller's thread with the
// connection in caller's-thread mode: no hand-off to the I/O thread and back, which for the small
// exchanges of a Kubernetes client costs more than the work (two thread wake-ups per call). Same
// outcomes, messages and retry rules as Exchange. Not for streams.
// Use: run(); then, once nothing can call cancel() any more, finish().
class SyncExchange : public ExchangeBase {
 public:
  SyncExchange(ClientCore& client, std::shared_ptr<Connection> conn, Params p)
      : ExchangeBase(client, std::move(conn), std::move(p)) {
    io_.fd = conn_->toCallerMode();
    io_.deadline = p_.deadline;
    conn_->sync = &io_;
  }

  // Any thread, until finish().
  void cancel() { io_.cancel(); }

  void run() {
    if (io_.cancelled.load()) return end(Status(StatusCode::kCancelled, prefix_ + "cancelled"), false);
    stage_ = Stage::kWrite;
    if (io_.fd < 0) return failNet(net::error::bad_descriptor, "sending the request");
    beast::error_code ec;
    if (conn_->tls) {
      net::write(*conn_->tls, net::buffer(p_.wire), ec);
    } else {
      net::write(conn_->transport, net::buffer(p_.wire), ec);
    }
    if (ec) return failNet(ec, "sending the request");
    stage_ = Stage::kReadHead;
    resetParser();
    auto& buf = conn_->buffer;
    for (;;) {
      if (buf.size() > 0) {
        const std::size_t used = parser_->put(buf.data(), ec);
        buf.consume(used);
        if (ec && ec != bhttp::error::need_more) return end(parseFailure(ec), false);
        if (!ec) {
          if (stage_ == Stage::kReadHead && parser_->is_header_done()) {
            StatusOr<bool> interim = skipInterimOrTakeHead();
            if (!interim.ok()) return end(interim.status(), false);
            if (*interim) continue;
          }
          if (parser_->is_done()) {
            const bool reusable = keepAlive();
            response_.body = std::move(parser_->get().body());
            return end(Status::ok(), reusable);
          }
          if (used > 0) continue;
        }
      }
      std::size_t n = 0;
      if (conn_->tls) {
        n = conn_->tls->read_some(buf.prepare(kReadSize), ec);
      } else {
        n = conn_->transport.read_some(buf.prepare(kReadSize), ec);
      }
      buf.commit(n);
      if (n > 0) gotResponseByte_ = true;
      if (ec == net::error::eof || ec == ssl::error::stream_truncated) {
        syncFlags();
        if (eofEndsBody()) {
          response_.body = std::move(parser_->get().body());
          return end(Status::ok(), false);
        }
        return failNet(ec, readingWhat());
      }
      if (ec) return failNet(ec, readingWhat());
    }
  }

  // The connection back to the pool, or closed. The caller's thread, after cancel() can no
  // longer be called (the descriptor stays open until here).
  void finish() {
    conn_->sync = nullptr;
    if (final_.isOk() && reusable_) {
      ++conn_->exchanges;
      client_.release(conn_);
    } else {
      conn_->close();
    }
  }

 private:
  void syncFlags() {
    cancelled_ = io_.cancelled.load();
    timedOut_ = io_.timedOut;
  }

  void failNet(beast::error_code ec, const std::string& what) {
    syncFlags();
    end(transportFailure(ec, what), false);
  }

  void end(Status st, bool reusable) {
    stage_ = Stage::kDone;
    final_ = std::move(st);
    reusable_ = reusable;
  }

  SyncIo io_;
  bool reusable_ = false;
};

// Serializes the request line and headers; the body follows.
StatusOr<std::string> buildRequest(std::string_view method, const Url& url, const HeaderList& headers,
                                   std::string_view body, const ClientOptions& options) {
  if (!isToken(method)) return invalidArgument("invalid HTTP method \"" + std::string(method.substr(0, 32)) + "\"");
  std::string wire;
  wire.reserve(256 + body.size());
  wire.append(method);
  wire += ' ';
  wire += url.target();
  wire += " HTTP/1.1\r\n";
  bool haveHost = false;
  bool haveAgent = false;
  for (const auto& [name, value] : headers) {
    // The value is never quoted in the message: it may be a credential.
    if (!isToken(name)) return invalidArgument("invalid HTTP header name \"" + name.substr(0, 64) + "\"");
    if (!safeHeaderValue(value)) return invalidArgument("HTTP header " + name + ": value contains CR, LF or NUL");
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") || iequals(name, "Connection")) {
      continue;
    }
    haveHost = haveHost || iequals(name, "Host");
    haveAgent = haveAgent || iequals(name, "User-Agent");
    wire += name;
    wire += ": ";
    wire += value;
    wire += "\r\n";
  }
  if (!haveHost) {
    wire += "Host: ";
    wire += url.hostHeader();
    wire += "\r\n";
  }
  if (!haveAgent && !options.userAgent.empty() && safeHeaderValue(options.userAgent)) {
    wire += "User-Agent: ";
    wire += options.userAgent;
    wire += "\r\n";
  }
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    wire += "Content-Length: ";
    wire += std::to_string(body.size());
    wire += "\r\n";
  }
  wire += "\r\n";
  wire.append(body);
  return wire;
}

}  // namespace

// --- Client -------------------------------------------------------------------------------------

struct Client::Impl : ClientCore {
  using ClientCore::ClientCore;
};

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Client::~Client() = default;

StatusOr<std::unique_ptr<Client>> Client::create(ClientOptions options) {
  if (options.ioThreads < 1 || options.ioThreads > 64) return invalidArgument("http client: ioThreads must be in 1..64");
  if (options.connectTimeout.count() <= 0) return invalidArgument("http client: connectTimeout must be positive");
  if (options.requestTimeout.count() < 0 || options.streamIdleTimeout.count() < 0) {
    return invalidArgument("http client: timeouts must not be negative");
  }
  if (options.maxResponseBytes == 0 || options.maxResponseHeaderBytes < 1024) {
    return invalidArgument("http client: response limits too small");
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  const ClientTlsOptions& tls = impl->options.tls;
  auto& ctx = impl->sslContext;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  beast::error_code ec;
  if (tls.insecureSkipVerify) {
    ctx.set_verify_mode(ssl::verify_none);
  } else {
    ctx.set_verify_mode(ssl::verify_peer);
    if (tls.caPem.empty()) {
      ctx.set_default_verify_paths(ec);
      if (ec) return invalidArgument("http client: loading the system trust store: " + ec.message());
    } else {
      auto n = addTrustedCertificates(ctx.native_handle(), tls.caPem);
      if (!n.ok()) return n.status();
      if (*n == 0) return invalidArgument("http client: the CA bundle contains no PEM certificate");
    }
  }
  if (!tls.clientCertificatePem.empty() || !tls.clientKeyPem.empty()) {
    if (tls.clientCertificatePem.empty() || tls.clientKeyPem.empty()) {
      return invalidArgument("http client: a client certificate needs both the certificate and the key");
    }
    ctx.use_certificate_chain(net::buffer(tls.clientCertificatePem), ec);
    if (ec) return invalidArgument("http client: client certificate: " + ec.message());
    {
      BIO* bio = BIO_new_mem_buf(tls.clientKeyPem.data(), static_cast<int>(tls.clientKeyPem.size()));
      EVP_PKEY* key = bio != nullptr ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
      BIO_free(bio);
      ERR_clear_error();
      if (key == nullptr) return invalidArgument("http client: client key: no PEM private key found");
      EVP_PKEY_free(key);
    }
    ctx.use_private_key(net::buffer(tls.clientKeyPem), ssl::context::pem, ec);
    if (ec || SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
      ERR_clear_error();
      return invalidArgument("http client: the client key does not match the client certificate");
    }
  }

  Impl* raw = impl.get();
  impl->work.emplace(impl->ioc.get_executor());
  try {
    for (int i = 0; i < impl->options.ioThreads; ++i) {
      impl->threads.emplace_back([raw] {
        for (;;) {
          try {
            raw->ioc.run();
            return;
          } catch (const std::exception& e) {
            log::error("http client I/O thread caught an exception", {{"error", e.what()}});
          }
        }
      });
    }
  } catch (const std::system_error& e) {
    return unavailable("http client: starting I/O threads: " + std::string(e.what()));
  }
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

namespace {

// Runs one exchange on `conn` (connecting it first if needed) and returns it once started.
StatusOr<std::shared_ptr<Exchange>> startExchange(ClientCore& impl, const std::shared_ptr<Connection>& conn,
                                                  Exchange::Params params) {
  std::string verifyName;
  conn->toSocketMode();
  if (params.url.https() && !conn->connected) {
    const ClientTlsOptions& tls = impl.options.tls;
    conn->tls.emplace(conn->transport, impl.sslContext);
    SSL* ssl = conn->tls->native_handle();
    verifyName = tls.serverName.empty() ? params.url.host : tls.serverName;
    if (!isIpLiteral(verifyName)) SSL_set_tlsext_host_name(ssl, verifyName.c_str());  // SNI carries names only
    if (!tls.insecureSkipVerify) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      const int ok = isIpLiteral(verifyName) ? X509_VERIFY_PARAM_set1_ip_asc(param, verifyName.c_str())
                                             : X509_VERIFY_PARAM_set1_host(param, verifyName.c_str(), 0);
      if (ok != 1) {
        ERR_clear_error();
        return invalidArgument("invalid TLS server name \"" + verifyName + "\"");
      }
    }
    if (tls.clientCertificateProvider) {
      StatusOr<ClientCertificate> cc = tls.clientCertificateProvider();
      if (!cc.ok()) return cc.status().withContext("obtaining the client certificate");
      if (!cc->certificatePem.empty()) KUBEOP_RETURN_IF_ERROR(useClientCertificate(ssl, *cc));
    }
  }
  auto ex = std::make_shared<Exchange>(impl, conn, std::move(params));
  ex->verifyName_ = std::move(verifyName);
  ex->start();
  return ex;
}

Clock::time_point deadlineFrom(Clock::time_point start, std::chrono::milliseconds timeout) {
  return timeout.count() > 0 ? start + timeout : Clock::time_point::max();
}

}  // namespace

StatusOr<ClientResponse> Client::request(std::string_view method, std::string_view url, const HeaderList& headers,
                                         std::string_view body, const CancelToken* cancel) {
  const auto start = Clock::now();
  KUBEOP_ASSIGN_OR_RETURN(Url u, parseUrl(url));
  KUBEOP_ASSIGN_OR_RETURN(std::string wire, buildRequest(method, u, headers, body, impl_->options));
  const std::string key = u.scheme + "://" + u.hostPort();
  for (int attempt = 0;; ++attempt) {
    if (cancel != nullptr && cancel->cancelled()) {
      return Status(StatusCode::kCancelled, std::string(method) + " " + u.toString() + ": cancelled");
    }
    auto conn = impl_->acquire(key, attempt > 0);
    Exchange::Params p;
    p.method = std::string(method);
    p.url = u;
    p.wire = wire;
    p.deadline = deadlineFrom(start, impl_->options.requestTimeout);
    std::shared_ptr<ExchangeBase> ex;
    std::uint64_t reg = 0;
    if (conn->connected) {  // the fast path: on this thread
      auto sx = std::make_shared<SyncExchange>(*impl_, conn, std::move(p));
      if (cancel != nullptr) reg = cancel->state_->add([raw = sx.get()] { raw->cancel(); });
      sx->run();
      if (cancel != nullptr) cancel->state_->remove(reg);
      sx->finish();
      ex = std::move(sx);
    } else {
      KUBEOP_ASSIGN_OR_RETURN(auto ax, startExchange(*impl_, conn, std::move(p)));
      if (cancel != nullptr) reg = cancel->state_->add([weak = std::weak_ptr<Exchange>(ax)] {
        if (auto e = weak.lock()) e->cancel();
      });
      while (ax->next().kind != Event::Kind::kDone) {
      }
      if (cancel != nullptr) cancel->state_->remove(reg);
      ex = std::move(ax);
    }
    if (ex->final().isOk()) return std::move(ex->response());
    if (attempt == 0 && ex->retryable()) {
      log::debug("http client retrying on a fresh connection", {{"method", method}, {"url", u.toString()},
                                                                 {"error", ex->final().message()}});
      continue;
    }
    return ex->final();
  }
}

Status Client::stream(std::string_view method, std::string_view url, const HeaderList& headers, std::string_view body,
                      const ChunkCallback& onChunk, const CancelToken* cancel, ClientResponse* head) {
  const auto start = Clock::now();
  KUBEOP_ASSIGN_OR_RETURN(Url u, parseUrl(url));
  KUBEOP_ASSIGN_OR_RETURN(std::string wire, buildRequest(method, u, headers, body, impl_->options));
  const std::string key = u.scheme + "://" + u.hostPort();
  const std::string prefix = std::string(method) + " " + u.toString() + ": ";
  for (int attempt = 0;; ++attempt) {
    if (cancel != nullptr && cancel->cancelled()) return Status(StatusCode::kCancelled, prefix + "cancelled");
    auto conn = impl_->acquire(key, attempt > 0);
    Exchange::Params p;
    p.method = std::string(method);
    p.url = u;
    p.wire = wire;
    p.streaming = true;
    p.deadline = deadlineFrom(start, impl_->options.requestTimeout);
    KUBEOP_ASSIGN_OR_RETURN(auto ex, startExchange(*impl_, conn, std::move(p)));
    std::uint64_t reg = 0;
    if (cancel != nullptr) reg = cancel->state_->add([weak = std::weak_ptr<Exchange>(ex)] {
      if (auto e = weak.lock()) e->cancel();
    });
    Status stopped;  // the callback's verdict, when it stopped the stream
    for (;;) {
      Event ev = ex->next();
      if (ev.kind == Event::Kind::kDone) break;
      if (ev.kind == Event::Kind::kHead) {
        if (head != nullptr) {
          head->status = ex->response().status;
          head->headers = ex->response().headers;
          head->body.clear();
        }
        continue;
      }
      Status st;
      try {
        st = onChunk(ev.data);
      } catch (const std::exception& e) {
        st = internalError(prefix + "stream callback threw: " + e.what());
      } catch (...) {
        st = internalError(prefix + "stream callback threw");
      }
      if (!st.isOk()) {
        stopped = std::move(st);
        ex->cancel();
        continue;  // wait for the exchange to wind down
      }
      ex->resume();
    }
    if (cancel != nullptr) cancel->state_->remove(reg);
    if (!stopped.isOk()) return stopped;
    const Status& final = ex->final();
    if (!final.isOk()) {
      if (attempt == 0 && ex->retryable()) continue;
      return final;
    }
    const ClientResponse& r = ex->response();
    if (r.status < 200 || r.status > 299) {
      if (head != nullptr) *head = r;
      std::string msg = prefix + "HTTP " + std::to_string(r.status);
      return Status(statusCodeFromHttp(r.status), std::move(msg));
    }
    return Status::ok();
  }
}

Client::Stats Client::stats() const {
  Stats s;
  s.connectionsOpened = impl_->connectionsOpened.load(std::memory_order_relaxed);
  std::lock_guard lk(impl_->poolMu);
  for (const auto& [key, list] : impl_->idle) s.idleConnections += list.size();
  return s;
}

void Client::closeIdleConnections() { impl_->closeIdle(); }

// --- line splitting -----------------------------------------------------------------------------

ChunkCallback splitLines(std::function<Status(std::string_view line)> onLine, std::size_t maxLineBytes) {
  auto buffer = std::make_shared<std::string>();
  return [buffer, onLine = std::move(onLine), maxLineBytes](std::string_view data) -> Status {
    std::size_t start = 0;
    for (;;) {
      const auto nl = data.find('\n', start);
      if (nl == std::string_view::npos) break;
      std::string_view piece = data.substr(start, nl - start);
      std::string_view line;
      if (buffer->empty()) {
        line = piece;
      } else {
        buffer->append(piece);
        line = *buffer;
      }
      if (line.size() > maxLineBytes) {
        return Status(StatusCode::kResourceExhausted, "stream line exceeds " + std::to_string(maxLineBytes) + " bytes");
      }
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      Status st = onLine(line);
      buffer->clear();
      if (!st.isOk()) return st;
      start = nl + 1;
    }
    if (start < data.size()) {
      if (buffer->size() + (data.size() - start) > maxLineBytes) {
        return Status(StatusCode::kResourceExhausted, "stream line exceeds " + std::to_string(maxLineBytes) + " bytes");
      }
      buffer->append(data.substr(start));
    }
    return Status::ok();
  };
}

}  // namespace kubeop::http
