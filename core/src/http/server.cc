// The HTTP server: the only translation unit that compiles Boost.Asio/Beast (TOOLCHAIN.md §4).
//
// Design:
//  - One io_context run by `workerThreads` threads. Each connection is a Session on its own
//    strand; a handler that blocks holds one thread, the others keep serving.
//  - Session<Stream> is one template for plain TCP and TLS (ssl::stream): the protocol logic is
//    written once, only handshake/close differ (if constexpr).
//  - Beast's request_parser parses; we do the reads ourselves (async_read_some + parser.put) so
//    the first byte of a request is observable: before it the idle timeout applies, after it
//    the read timeout. Responses are serialized by hand into a reused buffer and written with
//    one gather write.
//  - Timeouts cost no timer per operation: a session stores an atomic deadline and a sweeper
//    (one timer for the server) closes sessions whose deadline has passed.
//  - Metric children are resolved once per (route template, method, code) and cached in
//    atomics, so the request path takes no lock.
//  - Streamed responses: a StreamChannel (the StreamWriter given to the source) frames chunks
//    into a queue under its own mutex and posts one "ready" notification to the session's strand
//    per batch; the strand swaps the queue out and writes it (so many small events become one
//    write). While streaming, a background read watches for the client going away. The channel
//    holds only a weak reference to the session, so a writer may outlive both.

// Boost 1.74 Asio under C++20 uses std::exchange without including <utility> (TOOLCHAIN.md §5.1).
#include <utility>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
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
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <ctime>
#include <functional>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <type_traits>

#include "kubeop/http/server.h"
#include "kubeop/log/log.h"
#include "kubeop/metrics/metrics.h"

namespace kubeop::http {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using Strand = net::strand<net::io_context::executor_type>;
using Socket = net::basic_stream_socket<tcp, Strand>;
using PlainStream = Socket;
using TlsStream = ssl::stream<Socket>;
using Clock = std::chrono::steady_clock;

// How long a closing connection keeps reading (and discarding) what the peer still sends.
constexpr std::chrono::milliseconds kMaxLinger{2000};
constexpr std::chrono::milliseconds kStopLinger{200};  // the same while the server stops
constexpr std::size_t kHeaderReadSize = 4096;
constexpr std::size_t kBodyReadSize = 65536;
constexpr std::string_view kUnmatchedRoute = "unmatched";

// Beast 1.74 speaks boost::string_view.
std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

std::int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// --- small helpers ------------------------------------------------------------------------------

bool validRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// 16 hex chars from a per-thread splitmix64 stream seeded from the OS.
void generateRequestId(std::string& out) {
  thread_local std::uint64_t state = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^
           static_cast<std::uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  }();
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  static constexpr char kHex[] = "0123456789abcdef";
  out.resize(16);
  for (int i = 15; i >= 0; --i, z >>= 4) out[static_cast<std::size_t>(i)] = kHex[z & 15];
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

bool safeHeaderText(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

bool headerHasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    const auto comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// "Date: Tue, 15 Nov 1994 08:12:31 GMT\r\n", recomputed once per second per thread.
std::string_view dateHeader() {
  thread_local std::time_t cachedSecond = 0;
  thread_local char buf[64];
  thread_local std::size_t len = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cachedSecond) {
    std::tm tm{};
    gmtime_r(&now, &tm);
    len = std::strftime(buf, sizeof buf, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    cachedSecond = now;
  }
  return {buf, len};
}

void appendNumber(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// --- metrics ------------------------------------------------------------------------------------

constexpr std::array<std::string_view, 8> kMethods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
                                                      "OTHER"};

std::size_t methodIndex(std::string_view m) {
  for (std::size_t i = 0; i + 1 < kMethods.size(); ++i) {
    if (kMethods[i] == m) return i;
  }
  return kMethods.size() - 1;  // bounded cardinality: any other method is "OTHER"
}

// Request metrics with children cached per (route template, method) slot and per status code.
// Slots are allocated on first use and published with a CAS; afterwards recording a request is
// two atomic loads and three atomic adds.
class HttpMetrics {
 public:
  HttpMetrics(metrics::Registry* registry, const Router& router) {
    if (registry == nullptr) return;
    requests_ = &registry->counter("kubeop_http_requests_total", "HTTP requests answered, by route template.",
                                   {"method", "route", "code"});
    duration_ = &registry->histogram("kubeop_http_request_duration_seconds",
                                     "Time from a request being read to its response being written.",
                                     {"method", "route"});
    inflight_ = &registry->gauge("kubeop_http_inflight_requests", "Requests being handled or written.").labels({});
    routes_ = router.routes();
    routes_.emplace_back(kUnmatchedRoute);
    slotCount_ = routes_.size() * kMethods.size();
    slots_ = std::make_unique<std::atomic<Slot*>[]>(slotCount_);
    for (std::size_t i = 0; i < slotCount_; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
  }
  ~HttpMetrics() {
    for (std::size_t i = 0; i < slotCount_; ++i) delete slots_[i].load(std::memory_order_relaxed);
  }
  HttpMetrics(const HttpMetrics&) = delete;
  HttpMetrics& operator=(const HttpMetrics&) = delete;

  bool enabled() const { return requests_ != nullptr; }
  void inflightInc() {
    if (inflight_) inflight_->inc();
  }
  void inflightDec() {
    if (inflight_) inflight_->dec();
  }

  // routeId: a router template index, or routeCount() for "unmatched".
  void record(std::size_t routeId, std::string_view method, int status, double seconds) {
    if (!enabled()) return;
    if (routeId >= routes_.size()) routeId = routes_.size() - 1;
    const std::size_t mi = methodIndex(method);
    Slot& slot = slotFor(routeId * kMethods.size() + mi, routeId, mi);
    slot.duration->observe(seconds);
    const auto ci = static_cast<std::size_t>(status - 100);  // status is validated to 100..599
    metrics::Counter* c = slot.byCode[ci].load(std::memory_order_acquire);
    if (c == nullptr) {
      char code[4];
      std::to_chars(code, code + 3, status);
      c = &requests_->labels({kMethods[mi], routes_[routeId], std::string_view(code, 3)});
      slot.byCode[ci].store(c, std::memory_order_release);
    }
    c->inc();
  }

 private:
  struct Slot {
    metrics::Histogram* duration = nullptr;
    std::array<std::atomic<metrics::Counter*>, 500> byCode{};
  };

  Slot& slotFor(std::size_t i, std::size_t routeId, std::size_t mi) {
    Slot* s = slots_[i].load(std::memory_order_acquire);
    if (s != nullptr) return *s;
    auto fresh = std::make_unique<Slot>();
    fresh->duration = &duration_->labels({kMethods[mi], routes_[routeId]});
    if (slots_[i].compare_exchange_strong(s, fresh.get(), std::memory_order_acq_rel)) return *fresh.release();
    return *s;  // another thread won
  }

  metrics::CounterFamily* requests_ = nullptr;
  metrics::HistogramFamily* duration_ = nullptr;
  metrics::Gauge* inflight_ = nullptr;
  std::vector<std::string> routes_;
  std::size_t slotCount_ = 0;
  std::unique_ptr<std::atomic<Slot*>[]> slots_;
};

class SessionBase;

// --- server state -------------------------------------------------------------------------------

// Everything the sessions share. Lives in Server::Impl; outlives every session (stop() joins the
// workers before it is destroyed).
struct ServerCore {
  ServerCore(ServerOptions o, Router r)
      : options(std::move(o)),
        router(std::move(r)),
        metrics(options.metrics, router),
        ioc(options.workerThreads),
        acceptStrand(net::make_strand(ioc)),
        acceptor(acceptStrand),
        sweepTimer(acceptStrand) {}

  void doAccept();
  void onAccept(beast::error_code ec, Socket socket);
  void startSweeper();
  void sweep();
  // Calls f on every live session (outside the registry lock).
  void forEachSession(const std::function<void(SessionBase&)>& f);

  ServerOptions options;
  Router router;
  HttpMetrics metrics;
  std::chrono::milliseconds sweepInterval{100};

  // Session registry, for the sweeper and for stop(). Declared before ioc: destroying ioc may
  // destroy sessions, which unregister themselves here.
  std::mutex sessionsMu;
  std::condition_variable sessionsCv;
  SessionBase* sessionsHead = nullptr;
  std::size_t sessionCount = 0;

  std::optional<ssl::context> sslContext;  // before ioc: TLS sessions reference it
  net::io_context ioc;
  Strand acceptStrand;  // the acceptor and the sweeper
  tcp::acceptor acceptor;
  net::steady_timer sweepTimer;
  net::steady_timer acceptRetryTimer{acceptStrand};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;

  std::atomic<bool> stopping{false};
  bool sweeperStopped = false;  // on acceptStrand
  std::mutex stopMu;
  std::condition_variable stoppedCv;
  bool stopStarted = false;
  bool stopped = false;

  std::uint16_t boundPort = 0;
  std::string boundAddress;
};

// The part of a session the registry, the sweeper and stop() see.
class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  explicit SessionBase(ServerCore& server) : server_(server) {
    std::lock_guard lk(server_.sessionsMu);
    next_ = server_.sessionsHead;
    if (next_ != nullptr) next_->prev_ = this;
    server_.sessionsHead = this;
    ++server_.sessionCount;
  }
  virtual ~SessionBase() {
    std::lock_guard lk(server_.sessionsMu);
    if (prev_ != nullptr) prev_->next_ = next_;
    if (next_ != nullptr) next_->prev_ = prev_;
    if (server_.sessionsHead == this) server_.sessionsHead = next_;
    if (--server_.sessionCount == 0) server_.sessionsCv.notify_all();
  }
  SessionBase(const SessionBase&) = delete;
  SessionBase& operator=(const SessionBase&) = delete;

  // Both post to the session's strand.
  virtual void checkTimeout() = 0;
  // force=false: close if idle, otherwise finish the current request with Connection: close
  // (or end the stream with its terminating chunk).
  virtual void requestStop(bool force) = 0;
  // From any thread: the stream channel has something for the strand (data, close, overflow).
  virtual void postStreamReady() = 0;

  bool expired(std::int64_t now) const {
    const std::int64_t d = deadline_.load(std::memory_order_relaxed);
    return d != 0 && now >= d;
  }

 protected:
  void setDeadline(std::chrono::milliseconds d) {
    deadline_.store(nowNs() + std::chrono::duration_cast<std::chrono::nanoseconds>(d).count(),
                    std::memory_order_relaxed);
  }
  void clearDeadline() { deadline_.store(0, std::memory_order_relaxed); }

  ServerCore& server_;
  std::atomic<std::int64_t> deadline_{0};  // steady-clock ns; 0: none (e.g. while a handler runs)

 private:
  friend struct ServerCore;
  SessionBase* prev_ = nullptr;  // guarded by server_.sessionsMu
  SessionBase* next_ = nullptr;
};

// The StreamWriter of one streamed response. Producers call write()/close() from any thread;
// the session (on its strand) takes the framed bytes out with take().
class StreamChannel final : public StreamWriter {
 public:
  StreamChannel(std::weak_ptr<SessionBase> session, std::size_t limit) : session_(std::move(session)), limit_(limit) {}

  bool write(std::string chunk) override {
    bool ok = true;
    bool post = false;
    {
      std::lock_guard lk(mu_);
      if (ended_) return false;
      if (chunk.empty()) return true;
      char size[24];
      const auto r = std::to_chars(size, size + sizeof size, chunk.size(), 16);
      const std::size_t framed = static_cast<std::size_t>(r.ptr - size) + chunk.size() + 4;
      if (framed > limit_ || pending_ > limit_ - framed) {
        ended_ = true;
        overflowed_ = true;
        queue_.clear();
        ok = false;
      } else {
        queue_.append(size, r.ptr);
        queue_ += "\r\n";
        queue_ += chunk;
        queue_ += "\r\n";
        pending_ += framed;
      }
      post = !posted_;
      posted_ = true;
    }
    // Outside the lock: the session may be destroyed right here (dropping our reference),
    // and its destructor takes this mutex.
    if (post) notify();
    return ok;
  }

  void close() override {
    bool post = false;
    {
      std::lock_guard lk(mu_);
      if (ended_) return;
      ended_ = true;
      closedBySource_ = true;
      terminated_ = true;
      queue_ += "0\r\n\r\n";
      pending_ += 5;
      post = !posted_;
      posted_ = true;
    }
    if (post) notify();
  }

  bool isOpen() const override {
    std::lock_guard lk(mu_);
    return !ended_;
  }

  // --- the session's side (on its strand) ---

  // Moves the queued bytes to the end of `out`. Returns true when the stream's last bytes (the
  // terminating chunk) are now out of the queue: nothing more will ever be queued.
  bool take(std::string& out) {
    std::lock_guard lk(mu_);
    posted_ = false;
    if (out.empty()) {
      out.swap(queue_);
    } else {
      out += queue_;
    }
    queue_.clear();
    return terminated_;
  }
  void written(std::size_t n) {
    std::lock_guard lk(mu_);
    pending_ -= std::min(pending_, n);
  }
  // The strand has seen the notification; the next write() posts another one. Returns whether
  // the buffer limit was exceeded.
  bool acknowledge() {
    std::lock_guard lk(mu_);
    posted_ = false;
    return overflowed_;
  }
  // The graceful end the server imposes (stop): the terminating chunk after what is queued.
  // Returns false when the source had already closed the stream (or it ended otherwise).
  bool terminate() {
    std::lock_guard lk(mu_);
    if (ended_) return false;
    ended_ = true;
    queue_ += "0\r\n\r\n";
    pending_ += 5;
    terminated_ = true;
    return true;
  }
  // Ends the stream without a terminating chunk (the connection is being dropped). Returns
  // whether the source should be told (it did not close the stream itself).
  bool abort() {
    std::lock_guard lk(mu_);
    ended_ = true;
    queue_.clear();
    const bool tell = !closedBySource_ && !notified_;
    notified_ = true;
    return tell;
  }
  // After terminate(): whether the source must still be told (once).
  bool markNotified() {
    std::lock_guard lk(mu_);
    const bool tell = !closedBySource_ && !notified_;
    notified_ = true;
    return tell;
  }

 private:
  void notify() {
    if (auto s = session_.lock()) s->postStreamReady();
  }

  mutable std::mutex mu_;
  std::string queue_;        // framed chunks not yet taken by the strand
  std::size_t pending_ = 0;  // queued + being written
  bool posted_ = false;      // a "ready" notification is on its way to the strand
  bool ended_ = false;       // no more writes accepted
  bool closedBySource_ = false;
  bool terminated_ = false;  // the terminating chunk is queued (by close() or terminate())
  bool overflowed_ = false;
  bool notified_ = false;    // the source was told (or must not be)
  const std::weak_ptr<SessionBase> session_;
  const std::size_t limit_;
};

// One connection. Stream is Socket (plain) or TlsStream. All members are touched only on the
// session's strand (the socket's executor); the registry fields and deadline_ are the
// exceptions, see SessionBase.
template <typename Stream>
class Session final : public SessionBase {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  Session(ServerCore& server, Socket&& socket)
    requires(!kTls)
      : SessionBase(server), stream_(std::move(socket)) {}
  Session(ServerCore& server, Socket&& socket, ssl::context& ctx)
    requires(kTls)
      : SessionBase(server), stream_(std::move(socket), ctx) {}

  ~Session() override {
    // Normally a stream has ended before the last reference goes; this covers teardown paths
    // where pending operations were destroyed instead of completed.
    if (streamActive_) abortStream();
    if (inflight_) server_.metrics.inflightDec();
  }

  void start() {
    beast::error_code ec;
    const auto ep = socket().remote_endpoint(ec);
    if (!ec) req_.remoteAddress = ep.address().to_string() + ":" + std::to_string(ep.port());
    if constexpr (kTls) {
      phase_ = Phase::kHandshake;
      setDeadline(server_.options.readTimeout);
      stream_.async_handshake(ssl::stream_base::server, [self = self()](beast::error_code e) {
        if (self->phase_ == Phase::kClosed) return;
        if (e) {
          log::debug("tls handshake failed", {{"error", e.message()}, {"remote", self->req_.remoteAddress}});
          self->closeNow();
          return;
        }
        self->readPeerCertificate();
        self->startRequest();
      });
    } else {
      startRequest();
    }
  }

  void checkTimeout() override {
    net::post(socket().get_executor(), [self = self()] {
      if (self->phase_ == Phase::kClosed || !self->expired(nowNs())) return;
      log::debug("http connection timed out",
                 {{"phase", phaseName(self->phase_)}, {"remote", self->req_.remoteAddress}});
      self->closeNow();
    });
  }

  void requestStop(bool force) override {
    net::post(socket().get_executor(), [self = self(), force] {
      if (self->phase_ == Phase::kClosed) return;
      if (force || self->phase_ == Phase::kIdle || self->phase_ == Phase::kHandshake) {
        self->closeNow();
      } else if (self->phase_ == Phase::kStreaming) {
        self->terminateStream();
      }
      // Otherwise the request in progress is answered with Connection: close (stopping is set).
    });
  }

  void postStreamReady() override {
    net::post(socket().get_executor(), [weak = weak_from_this()] {
      // Weak: a notification that is never run (posted while the server is being torn down)
      // must not keep the session alive.
      if (auto s = weak.lock()) static_cast<Session&>(*s).onStreamReady();
    });
  }

 private:
  enum class Phase { kHandshake, kIdle, kReading, kContinue, kHandling, kWriting, kStreaming, kClosing, kClosed };

  static const char* phaseName(Phase p) {
    switch (p) {
      case Phase::kHandshake: return "handshake";
      case Phase::kIdle: return "idle";
      case Phase::kReading: return "reading";
      case Phase::kContinue: return "continue";
      case Phase::kHandling: return "handling";
      case Phase::kWriting: return "writing";
      case Phase::kStreaming: return "streaming";
      case Phase::kClosing: return "closing";
      case Phase::kClosed: return "closed";
    }
    return "unknown";
  }

  std::shared_ptr<Session> self() { return std::static_pointer_cast<Session>(shared_from_this()); }

  // After the handshake: the client certificate, when one was asked for and verified.
  void readPeerCertificate() {
    if constexpr (kTls) {
      SSL* ssl = stream_.native_handle();
      X509* peer = SSL_get0_peer_certificate(ssl);
      if (peer == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return;
      PeerCertificate pc;
      const X509_NAME* name = X509_get_subject_name(peer);
      for (int nid : {NID_commonName, NID_organizationName}) {
        int i = -1;
        while ((i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0) {
          unsigned char* utf8 = nullptr;
          const int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
          if (n < 0) continue;
          std::string value(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
          OPENSSL_free(utf8);
          if (nid == NID_commonName) {
            pc.commonName = std::move(value);  // the last CN, as Go's pkix.Name reads it
          } else {
            pc.organizations.push_back(std::move(value));
          }
        }
      }
      req_.clientCertificate = std::move(pc);
    }
  }

  Socket& socket() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  // --- reading ---

  void startRequest() {
    if (server_.stopping.load(std::memory_order_relaxed)) {
      gracefulClose();
      return;
    }
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options.maxHeaderBytes));
    parser_->body_limit(static_cast<std::uint64_t>(server_.options.maxRequestBodyBytes));
    headerSeen_ = false;
    if (buffer_.size() > 0) {  // pipelined bytes already here
      phase_ = Phase::kReading;
      setDeadline(server_.options.readTimeout);
      parse();
    } else {
      phase_ = Phase::kIdle;
      setDeadline(server_.options.idleTimeout);
      readMore();
    }
  }

  void readMore() {
    // Small reads while waiting for a header keep idle connections cheap (4 KiB each); a body
    // is read in 64 KiB steps. (beast::read_size would stay at 512-byte reads once the buffer
    // is that small: ~6000 recv calls for a 3 MiB body.)
    const std::size_t want = parser_->is_header_done() ? kBodyReadSize : kHeaderReadSize;
    const std::size_t size = std::clamp(buffer_.capacity() - buffer_.size(), want, kBodyReadSize);
    stream_.async_read_some(buffer_.prepare(size), [self = self()](beast::error_code ec, std::size_t n) {
      self->onRead(ec, n);
    });
  }

  void onRead(beast::error_code ec, std::size_t n) {
    if (phase_ == Phase::kClosed) return;
    buffer_.commit(n);
    if (ec) {
      // EOF between requests is the normal end of a keep-alive connection; EOF mid-request or
      // any other error leaves nothing to answer.
      if (phase_ != Phase::kIdle) {
        log::debug("http connection closed mid-request", {{"error", ec.message()}, {"remote", req_.remoteAddress}});
      }
      closeNow();
      return;
    }
    if (phase_ == Phase::kIdle && n > 0) {
      phase_ = Phase::kReading;
      setDeadline(server_.options.readTimeout);
    }
    parse();
  }

  void parse() {
    for (;;) {
      if (buffer_.size() == 0) {
        readMore();
        return;
      }
      beast::error_code ec;
      const std::size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) {
        readMore();
        return;
      }
      if (ec) {
        onParseError(ec);
        return;
      }
      if (!headerSeen_ && parser_->is_header_done()) {
        headerSeen_ = true;
        if (!parser_->is_done() && wantsContinue()) {
          sendContinue();
          return;
        }
      }
      if (parser_->is_done()) {
        handle();
        return;
      }
      if (used == 0) {
        readMore();
        return;
      }
    }
  }

  bool wantsContinue() const {
    const auto& msg = parser_->get();
    if (msg.version() < 11) return false;
    const auto it = msg.find(bhttp::field::expect);
    return it != msg.end() && iequals(sv(it->value()), "100-continue");
  }

  void sendContinue() {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    phase_ = Phase::kContinue;
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = self()](beast::error_code ec, std::size_t) {
                       if (self->phase_ == Phase::kClosed) return;
                       if (ec) {
                         self->closeNow();
                         return;
                       }
                       self->phase_ = Phase::kReading;
                       self->parse();
                     });
  }

  void onParseError(beast::error_code ec) {
    // Whatever is left of the request is unread: answer, then close (never resynchronise).
    keepAlive_ = false;
    requestStart_ = Clock::now();
    req_.route.clear();
    req_.method.clear();
    req_.requestId.clear();
    routeId_ = server_.router.routeCount();
    {
      // Beast stores the start line and each field as it parses them, so even a rejected header
      // yields whatever preceded the error (e.g. X-Request-Id before an oversized
      // Content-Length).
      const auto& msg = parser_->get();
      req_.method.assign(sv(msg.method_string()));
      const auto id = msg.find("X-Request-Id");
      if (id != msg.end() && validRequestId(sv(id->value()))) req_.requestId.assign(sv(id->value()));
      const std::string_view target = sv(msg.target());
      if (!target.empty()) {
        const auto m = server_.router.match(req_.method, target.substr(0, target.find('?')), nullptr);
        if (m.kind != Router::MatchKind::kNotFound) {
          routeId_ = m.routeId;
          req_.route.assign(m.route);
        }
      }
    }
    if (req_.requestId.empty()) generateRequestId(req_.requestId);

    if (ec == bhttp::error::header_limit) {
      resp_ = Response::error(
          431, payloadTooLarge("request header exceeds " + std::to_string(server_.options.maxHeaderBytes) + " bytes"),
          "RequestHeaderFieldsTooLarge", req_.requestId);
    } else if (ec == bhttp::error::body_limit) {
      resp_ = Response::error(
          payloadTooLarge("request body exceeds " + std::to_string(server_.options.maxRequestBodyBytes) + " bytes"),
          req_.requestId);
    } else {
      resp_ = Response::error(400, invalidArgument("malformed HTTP request: " + ec.message()), "BadRequest",
                              req_.requestId);
    }
    log::debug("http request rejected", {{"error", ec.message()}, {"status", resp_.status},
                                         {"request_id", req_.requestId}, {"remote", req_.remoteAddress}});
    beginResponse();
    writeResponse(false);
  }

  // --- handling ---

  void handle() {
    auto& msg = parser_->get();
    requestStart_ = Clock::now();
    clearDeadline();  // a slow handler is not a slow client
    phase_ = Phase::kHandling;

    req_.method.assign(sv(msg.method_string()));
    const std::string_view target = sv(msg.target());
    req_.target.assign(target);
    const auto q = target.find('?');
    req_.path.assign(target.substr(0, q));
    if (q == std::string_view::npos) {
      req_.query.clear();
    } else {
      req_.query.assign(target.substr(q + 1));
    }
    std::size_t i = 0;
    std::string_view incomingId;
    for (const auto& f : msg) {
      if (i == req_.headers.size()) req_.headers.emplace_back();
      req_.headers[i].first.assign(sv(f.name_string()));
      req_.headers[i].second.assign(sv(f.value()));
      if (incomingId.empty() && iequals(sv(f.name_string()), "X-Request-Id")) incomingId = sv(f.value());
      ++i;
    }
    req_.headers.resize(i);
    req_.body = std::move(msg.body());
    if (validRequestId(incomingId)) {
      req_.requestId.assign(incomingId);
    } else {
      generateRequestId(req_.requestId);
    }
    keepAlive_ = msg.keep_alive();
    http10_ = msg.version() < 11;

    beginResponse();
    try {
      resp_ = server_.router.dispatch(req_, &routeId_);
    } catch (const std::exception& e) {  // dispatch catches handler exceptions; this is e.g. bad_alloc
      log::error("http request failed", {{"request_id", req_.requestId}, {"error", e.what()}});
      resp_ = Response::error(internalError("internal error"), req_.requestId);
    }
    if (resp_.status < 200 || resp_.status > 599) {  // 1xx are interim, never a handler's answer
      log::error("http handler returned an invalid status",
                 {{"request_id", req_.requestId}, {"route", req_.route}, {"status", resp_.status}});
      resp_ = Response::error(internalError("internal error"), req_.requestId);
    }
    writeResponse(req_.method == "HEAD");
  }

  void beginResponse() {
    if (!inflight_) {
      inflight_ = true;
      server_.metrics.inflightInc();
    }
  }

  // --- writing ---

  void writeResponse(bool headOnly) {
    const int status = resp_.status;
    const bool bodyAllowed = status >= 200 && status != 204 && status != 304;
    if (server_.stopping.load(std::memory_order_relaxed)) keepAlive_ = false;
    const bool streaming = resp_.streamSource != nullptr && bodyAllowed && !headOnly;
    if (resp_.streamSource != nullptr && !streaming) {
      resp_.streamSource.reset();  // HEAD or a body-less status: never started
    }
    if (streaming) {
      resp_.body.clear();
      keepAlive_ = false;  // the stream ends the connection (clients then never race a reuse)
    }

    head_.clear();
    head_ += "HTTP/1.1 ";
    appendNumber(head_, static_cast<std::uint64_t>(status));
    head_ += ' ';
    const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(status));
    head_.append(reason.data(), reason.size());
    head_ += "\r\n";
    if (bodyAllowed || !resp_.body.empty()) {
      if (!resp_.contentType.empty() && safeHeaderText(resp_.contentType)) {
        head_ += "Content-Type: ";
        head_ += resp_.contentType;
        head_ += "\r\n";
      }
    }
    if (streaming) {
      head_ += "Transfer-Encoding: chunked\r\n";
    } else if (status >= 200 && status != 204) {
      head_ += "Content-Length: ";
      appendNumber(head_, bodyAllowed ? resp_.body.size() : 0);
      head_ += "\r\n";
    }
    head_ += dateHeader();
    head_ += "X-Request-Id: ";
    head_ += req_.requestId;
    head_ += "\r\n";
    for (const auto& [name, value] : resp_.headers) {
      if (iequals(name, "Connection")) {
        if (headerHasToken(value, "close")) keepAlive_ = false;
        continue;
      }
      if (name.empty() || iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
          iequals(name, "Date") || iequals(name, "X-Request-Id") || iequals(name, "Content-Type") ||
          !safeHeaderText(name) || !safeHeaderText(value) || name.find_first_of(": \t") != std::string::npos) {
        continue;
      }
      head_ += name;
      head_ += ": ";
      head_ += value;
      head_ += "\r\n";
    }
    if (!keepAlive_) {
      head_ += "Connection: close\r\n";
    } else if (http10_) {
      head_ += "Connection: keep-alive\r\n";
    }
    head_ += "\r\n";

    if (streaming) {
      startStream();
      return;
    }
    phase_ = Phase::kWriting;
    setDeadline(server_.options.readTimeout);
    const bool withBody = bodyAllowed && !headOnly && !resp_.body.empty();
    auto done = [self = self()](beast::error_code ec, std::size_t) { self->onWrite(ec); };
    if (withBody) {
      // One gather write (writev) for head and body; the array is copied into the operation.
      const std::array<net::const_buffer, 2> bufs = {net::buffer(head_), net::buffer(resp_.body)};
      net::async_write(stream_, bufs, std::move(done));
    } else {
      net::async_write(stream_, net::buffer(head_), std::move(done));
    }
  }

  void onWrite(beast::error_code ec) {
    finishRequest();
    if (phase_ == Phase::kClosed) return;
    if (ec) {
      log::debug("http write failed", {{"error", ec.message()}, {"request_id", req_.requestId}});
      closeNow();
      return;
    }
    resp_.body.clear();
    resp_.headers.clear();
    // A large upload grew the buffer; do not keep it for the life of a keep-alive connection.
    if (buffer_.capacity() > 2 * kBodyReadSize && buffer_.size() < kHeaderReadSize) buffer_.shrink_to_fit();
    if (!keepAlive_) {
      gracefulClose();
      return;
    }
    startRequest();
  }

  void finishRequest() {
    if (!inflight_) return;
    inflight_ = false;
    server_.metrics.inflightDec();
    const double seconds = std::chrono::duration<double>(Clock::now() - requestStart_).count();
    server_.metrics.record(routeId_, req_.method, resp_.status, seconds);
    if (!log::enabled(log::Level::kDebug)) return;
    const std::string_view route = req_.route.empty() ? kUnmatchedRoute : std::string_view(req_.route);
    if (streamStarted_) {
      log::write(log::Level::kDebug, "http stream ended",
                 {{"service", server_.options.serviceName},
                  {"method", req_.method},
                  {"route", route},
                  {"status", resp_.status},
                  {"duration_ms", seconds * 1000.0},
                  {"bytes", static_cast<unsigned long>(streamBytes_)},
                  {"end", streamEnd_},
                  {"request_id", req_.requestId}});
    } else {
      log::write(log::Level::kDebug, "http request",
                 {{"service", server_.options.serviceName},
                  {"method", req_.method},
                  {"route", route},
                  {"status", resp_.status},
                  {"duration_ms", seconds * 1000.0},
                  {"request_id", req_.requestId}});
    }
  }

  // --- streaming ---
  //
  // Phase kStreaming from the headers on. out_ holds what is being written (first the head,
  // then batches of framed chunks taken from the channel); a background read (reading_) sees
  // the client go away. The stream ends in one of three ways:
  //   - cleanly: the terminating chunk (queued by close() or terminateStream()) is written →
  //     finishStream(), then a graceful close of the connection;
  //   - abruptly: client gone, write error, buffer overflow, timeout or forced stop →
  //     closeNow() → abortStream() tells the source (unless it had closed the stream itself).

  void startStream() {
    phase_ = Phase::kStreaming;
    streamStarted_ = true;
    streamActive_ = true;
    streamEnd_ = "closed";
    source_ = std::move(resp_.streamSource);
    channel_ = std::make_shared<StreamChannel>(weak_from_this(), server_.options.maxStreamBufferBytes);
    out_ = std::move(head_);
    head_.clear();
    headInFlight_ = true;
    writeOut();
    streamRead();
    try {
      source_->onStart(channel_);
    } catch (const std::exception& e) {
      log::error("http stream source failed to start",
                 {{"request_id", req_.requestId}, {"route", req_.route}, {"error", e.what()}});
      streamEnd_ = "source failed";
      closeNow();
      return;
    } catch (...) {
      log::error("http stream source failed to start", {{"request_id", req_.requestId}, {"route", req_.route}});
      streamEnd_ = "source failed";
      closeNow();
      return;
    }
    // A handler that was still running when stop() began: its stream ends at once.
    if (server_.stopping.load(std::memory_order_relaxed)) terminateStream();
  }

  void onStreamReady() {
    if (phase_ != Phase::kStreaming || !channel_) return;
    // Acknowledged even while a write is in flight: a stuck write must not hide an overflow.
    if (channel_->acknowledge()) {
      log::debug("http stream buffer limit exceeded; dropping the connection",
                 {{"request_id", req_.requestId}, {"limit", static_cast<unsigned long>(server_.options.maxStreamBufferBytes)}});
      streamEnd_ = "buffer limit exceeded";
      closeNow();
      return;
    }
    if (!writing_) pump();
  }

  // Takes queued chunks and writes them; when nothing is left and the terminating chunk has
  // gone out, the stream is over.
  void pump() {
    const bool last = channel_->take(out_);
    if (!out_.empty()) {
      writeOut();
      return;
    }
    if (last) {
      finishStream();
      keepAlive_ = false;
      gracefulClose();
    }
  }

  void writeOut() {
    writing_ = true;
    setDeadline(server_.options.readTimeout);  // a write that makes no progress is a gone client
    net::async_write(stream_, net::buffer(out_), [self = self()](beast::error_code ec, std::size_t n) {
      self->onStreamWrite(ec, n);
    });
  }

  void onStreamWrite(beast::error_code ec, std::size_t n) {
    writing_ = false;
    if (phase_ != Phase::kStreaming) return;  // closed meanwhile (timeout, forced stop)
    if (ec) {
      log::debug("http stream write failed", {{"error", ec.message()}, {"request_id", req_.requestId}});
      streamEnd_ = "client gone";
      closeNow();
      return;
    }
    clearDeadline();
    if (headInFlight_) {
      headInFlight_ = false;
    } else {
      channel_->written(n);
      streamBytes_ += n;
    }
    out_.clear();
    if (out_.capacity() > 4 * kBodyReadSize) out_.shrink_to_fit();
    pump();
  }

  // Reads (and discards) whatever the client sends while the stream is open: the only thing a
  // read tells us is that the client has gone. Also serves as the drain of a graceful close.
  void streamRead() {
    reading_ = true;
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(kHeaderReadSize), [self = self()](beast::error_code ec, std::size_t) {
      self->onStreamRead(ec);
    });
  }

  void onStreamRead(beast::error_code ec) {
    reading_ = false;
    if (phase_ == Phase::kClosed) return;
    if (phase_ == Phase::kClosing) {
      if (closeAfterRead_) {  // TLS: the read was cancelled so that the shutdown can read
        closeAfterRead_ = false;
        gracefulClose();
      } else if (ec) {
        closeNow();
      } else {
        streamRead();
      }
      return;
    }
    if (ec) {
      log::debug("http stream client disconnected", {{"error", ec.message()}, {"request_id", req_.requestId}});
      streamEnd_ = "client gone";
      closeNow();
      return;
    }
    streamRead();
  }

  // Server stop: end the stream gracefully (queued chunks, then the terminating chunk).
  void terminateStream() {
    if (!streamActive_) return;
    channel_->terminate();
    if (channel_->markNotified()) {
      streamEnd_ = "server stopping";
      notifySourceGone();
    }
    if (phase_ == Phase::kStreaming && !writing_) pump();
  }

  void notifySourceGone() {
    if (!source_) return;
    try {
      source_->onClientGone();
    } catch (const std::exception& e) {
      log::error("http stream source failed in onClientGone", {{"request_id", req_.requestId}, {"error", e.what()}});
    } catch (...) {
      log::error("http stream source failed in onClientGone", {{"request_id", req_.requestId}});
    }
  }

  // The terminating chunk is written.
  void finishStream() {
    streamActive_ = false;
    source_.reset();
    finishRequest();
  }

  // The connection is going down under the stream.
  void abortStream() {
    streamActive_ = false;
    if (channel_ && channel_->abort()) {
      if (streamEnd_ == std::string_view("closed")) streamEnd_ = "aborted";
      notifySourceGone();
    }
    source_.reset();
    finishRequest();
  }

  // --- closing ---

  // Sends what is pending, then reads and discards the peer's remaining input for a short
  // while before closing, so an unread request body does not turn our close into a reset that
  // would destroy the response in flight.
  void gracefulClose() {
    phase_ = Phase::kClosing;
    // While the server stops, a peer that does not close promptly must not hold up stop().
    const auto linger = server_.stopping.load(std::memory_order_relaxed) ? kStopLinger : kMaxLinger;
    setDeadline(std::min(server_.options.readTimeout, linger));
    if (reading_) {  // after a stream: its background read is still outstanding
      beast::error_code ec;
      if constexpr (kTls) {
        // The TLS shutdown needs to read; cancel ours first (onStreamRead comes back here).
        closeAfterRead_ = true;
        socket().cancel(ec);
      } else {
        socket().shutdown(tcp::socket::shutdown_send, ec);  // the outstanding read drains
        if (ec) closeNow();
      }
      return;
    }
    if constexpr (kTls) {
      stream_.async_shutdown([self = self()](beast::error_code) {
        if (self->phase_ != Phase::kClosed) self->closeNow();
      });
    } else {
      beast::error_code ec;
      socket().shutdown(tcp::socket::shutdown_send, ec);
      if (ec) {
        closeNow();
        return;
      }
      drain();
    }
  }

  void drain() {
    buffer_.clear();
    socket().async_read_some(buffer_.prepare(16384), [self = self()](beast::error_code ec, std::size_t) {
      if (self->phase_ == Phase::kClosed) return;
      if (ec) {
        self->closeNow();
        return;
      }
      self->drain();
    });
  }

  void closeNow() {
    if (streamActive_) abortStream();
    phase_ = Phase::kClosed;
    clearDeadline();
    beast::error_code ec;
    socket().close(ec);
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request req_;
  Response resp_;
  std::string head_;
  Phase phase_ = Phase::kIdle;
  bool headerSeen_ = false;
  bool keepAlive_ = true;
  bool http10_ = false;
  bool inflight_ = false;
  std::size_t routeId_ = 0;
  Clock::time_point requestStart_{};
  // Streaming state (see "streaming" above).
  std::shared_ptr<StreamSource> source_;
  std::shared_ptr<StreamChannel> channel_;
  std::string out_;
  bool streamStarted_ = false;  // this request's response is a stream (for the access log)
  bool streamActive_ = false;   // started and not yet ended
  bool writing_ = false;
  bool reading_ = false;
  bool headInFlight_ = false;
  bool closeAfterRead_ = false;
  std::uint64_t streamBytes_ = 0;
  const char* streamEnd_ = "closed";
};

// --- ServerCore ---------------------------------------------------------------------------------

void ServerCore::doAccept() {
  acceptor.async_accept(net::make_strand(ioc),
                        net::bind_executor(acceptStrand, [this](beast::error_code ec, Socket socket) {
                          onAccept(ec, std::move(socket));
                        }));
}

void ServerCore::onAccept(beast::error_code ec, Socket socket) {
  if (stopping.load() || ec == net::error::operation_aborted) return;
  if (ec) {
    // Out of descriptors and the like: back off briefly instead of spinning.
    log::warn("http accept failed", {{"error", ec.message()}, {"address", boundAddress}});
    acceptRetryTimer.expires_after(std::chrono::milliseconds(50));
    acceptRetryTimer.async_wait([this](beast::error_code e) {
      if (!e && !stopping.load()) doAccept();
    });
    return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  auto executor = socket.get_executor();
  if (sslContext) {
    auto s = std::make_shared<Session<TlsStream>>(*this, std::move(socket), *sslContext);
    net::dispatch(executor, [s] { s->start(); });
  } else {
    auto s = std::make_shared<Session<PlainStream>>(*this, std::move(socket));
    net::dispatch(executor, [s] { s->start(); });
  }
  doAccept();
}

void ServerCore::startSweeper() {
  sweepTimer.expires_after(sweepInterval);
  sweepTimer.async_wait([this](beast::error_code ec) {
    if (ec || sweeperStopped) return;
    sweep();
    startSweeper();
  });
}

void ServerCore::sweep() {
  const std::int64_t now = nowNs();
  std::vector<std::shared_ptr<SessionBase>> expired;
  {
    std::lock_guard lk(sessionsMu);
    for (SessionBase* s = sessionsHead; s != nullptr; s = s->next_) {
      if (!s->expired(now)) continue;
      if (auto locked = s->weak_from_this().lock()) expired.push_back(std::move(locked));
    }
  }
  // Outside the lock: dropping the last reference runs ~SessionBase, which takes it.
  for (auto& s : expired) s->checkTimeout();
}

void ServerCore::forEachSession(const std::function<void(SessionBase&)>& f) {
  std::vector<std::shared_ptr<SessionBase>> all;
  {
    std::lock_guard lk(sessionsMu);
    for (SessionBase* s = sessionsHead; s != nullptr; s = s->next_) {
      if (auto locked = s->weak_from_this().lock()) all.push_back(std::move(locked));
    }
  }
  for (auto& s : all) f(*s);
}

}  // namespace

struct Server::Impl : ServerCore {
  using ServerCore::ServerCore;
};

// --- Server -------------------------------------------------------------------------------------

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  if (impl_) stop(std::chrono::milliseconds(0));
}

StatusOr<std::unique_ptr<Server>> Server::start(ServerOptions options, Router router) {
  if (options.workerThreads < 1 || options.workerThreads > 256) {
    return invalidArgument("http server: workerThreads must be in 1..256");
  }
  if (options.maxRequestBodyBytes == 0) return invalidArgument("http server: maxRequestBodyBytes must be > 0");
  if (options.maxStreamBufferBytes == 0) return invalidArgument("http server: maxStreamBufferBytes must be > 0");
  if (options.maxHeaderBytes < 256 || options.maxHeaderBytes > (1u << 30)) {
    return invalidArgument("http server: maxHeaderBytes must be in 256..2^30");
  }
  if (options.readTimeout.count() <= 0 || options.idleTimeout.count() <= 0) {
    return invalidArgument("http server: timeouts must be positive");
  }
  beast::error_code ec;
  const auto ip = net::ip::make_address(options.address, ec);
  if (ec) return invalidArgument("http server: invalid address '" + options.address + "': " + ec.message());
  const std::string where = (ip.is_v6() ? "[" + options.address + "]" : options.address) + ":" +
                            std::to_string(options.port);

  auto impl = std::make_unique<Impl>(std::move(options), std::move(router));
  const ServerOptions& o = impl->options;

  if (o.tls) {
    impl->sslContext.emplace(ssl::context::tls_server);
    auto& ctx = *impl->sslContext;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    ctx.use_certificate_chain(net::buffer(o.tls->certificateChainPem), ec);
    if (ec) return invalidArgument("http server: TLS certificate chain: " + ec.message());
    ctx.use_private_key(net::buffer(o.tls->privateKeyPem), ssl::context::pem, ec);
    if (ec) return invalidArgument("http server: TLS private key: " + ec.message());
    if (!o.tls->clientCaPem.empty()) {
      const std::string_view pem = o.tls->clientCaPem;
      BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
      if (bio == nullptr) return internalError("http server: out of memory");
      int count = 0;
      while (X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx.native_handle()), ca);
        SSL_CTX_add_client_CA(ctx.native_handle(), ca);  // tells clients which CA to pick
        X509_free(ca);
        ++count;
      }
      BIO_free(bio);
      ERR_clear_error();
      if (count == 0) return invalidArgument("http server: TLS client CA bundle contains no PEM certificate");
      // Without SSL_VERIFY_FAIL_IF_NO_PEER_CERT: a client may come without a certificate.
      ctx.set_verify_mode(ssl::verify_peer);
    }
  }

  const tcp::endpoint endpoint(ip, o.port);
  auto& acc = impl->acceptor;
  if (acc.open(endpoint.protocol(), ec); ec) return unavailable("http server: opening " + where + ": " + ec.message());
  if (acc.set_option(net::socket_base::reuse_address(true), ec); ec) {
    return unavailable("http server: configuring " + where + ": " + ec.message());
  }
  if (acc.bind(endpoint, ec); ec) return unavailable("http server: binding " + where + ": " + ec.message());
  if (acc.listen(net::socket_base::max_listen_connections, ec); ec) {
    return unavailable("http server: listening on " + where + ": " + ec.message());
  }
  const auto local = acc.local_endpoint(ec);
  if (ec) return unavailable("http server: reading the bound address of " + where + ": " + ec.message());
  impl->boundPort = local.port();
  impl->boundAddress = (ip.is_v6() ? "[" + local.address().to_string() + "]" : local.address().to_string()) + ":" +
                       std::to_string(local.port());

  // The sweeper's period bounds how late a timeout fires: a quarter of the shortest timeout,
  // at most 250 ms (lingering closes use short deadlines too); a few wake-ups a second cost
  // nothing measurable.
  const auto shortest = std::min({o.readTimeout, o.idleTimeout, kStopLinger});
  impl->sweepInterval = std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(250));

  Impl* raw = impl.get();
  impl->work.emplace(impl->ioc.get_executor());
  net::dispatch(impl->acceptStrand, [raw] {
    raw->startSweeper();
    raw->doAccept();
  });
  try {
    for (int i = 0; i < o.workerThreads; ++i) {
      impl->threads.emplace_back([raw] {
        for (;;) {
          try {
            raw->ioc.run();
            return;
          } catch (const std::exception& e) {  // something escaped a handler: keep serving
            log::error("http worker caught an exception", {{"error", e.what()}});
          }
        }
      });
    }
  } catch (const std::system_error& e) {
    impl->stopping.store(true);
    impl->ioc.stop();
    for (auto& t : impl->threads) t.join();
    return unavailable("http server: starting worker threads: " + std::string(e.what()));
  }
  log::info("http server listening", {{"service", o.serviceName}, {"address", impl->boundAddress},
                                      {"tls", o.tls.has_value()}, {"workers", o.workerThreads}});
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

std::uint16_t Server::port() const { return impl_->boundPort; }
std::string Server::address() const { return impl_->boundAddress; }
bool Server::tls() const { return impl_->sslContext.has_value(); }

void Server::stop(std::chrono::milliseconds grace) {
  Impl& s = *impl_;
  {
    std::unique_lock lk(s.stopMu);
    if (s.stopStarted) {
      s.stoppedCv.wait(lk, [&] { return s.stopped; });
      return;
    }
    s.stopStarted = true;
  }
  s.stopping.store(true);
  net::post(s.acceptStrand, [&s] {
    beast::error_code ec;
    s.acceptor.close(ec);
    s.acceptRetryTimer.cancel();
  });
  s.forEachSession([](SessionBase& session) { session.requestStop(false); });
  {
    std::unique_lock lk(s.sessionsMu);
    s.sessionsCv.wait_for(lk, grace, [&] { return s.sessionCount == 0; });
  }
  s.forEachSession([](SessionBase& session) { session.requestStop(true); });
  net::post(s.acceptStrand, [&s] {
    s.sweeperStopped = true;
    s.sweepTimer.cancel();
  });
  s.work.reset();
  for (auto& t : s.threads) {
    if (t.joinable()) t.join();
  }
  {
    // A StreamWriter may hold a session for the instant of a write() (to post to its strand);
    // the io_context must outlive that.
    std::unique_lock lk(s.sessionsMu);
    s.sessionsCv.wait(lk, [&] { return s.sessionCount == 0; });
  }
  log::info("http server stopped", {{"service", s.options.serviceName}, {"address", s.boundAddress}});
  {
    std::lock_guard lk(s.stopMu);
    s.stopped = true;
  }
  s.stoppedCv.notify_all();
}

void Server::wait() {
  Impl& s = *impl_;
  std::unique_lock lk(s.stopMu);
  s.stoppedCv.wait(lk, [&] { return s.stopped; });
}

// --- termination signals ------------------------------------------------------------------------

namespace {
int g_signalPipe[2] = {-1, -1};
std::once_flag g_signalOnce;

extern "C" void onTerminationSignal(int sig) {
  const int saved = errno;
  const auto b = static_cast<unsigned char>(sig);
  [[maybe_unused]] const auto n = ::write(g_signalPipe[1], &b, 1);  // async-signal-safe
  errno = saved;
}
}  // namespace

void installTerminationSignalHandlers() {
  std::call_once(g_signalOnce, [] {
    if (::pipe2(g_signalPipe, O_CLOEXEC | O_NONBLOCK) != 0) {
      log::error("cannot create the signal pipe", {{"errno", errno}});
      return;
    }
    struct sigaction sa {};
    sa.sa_handler = onTerminationSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
  });
}

int waitForTerminationSignal(std::chrono::milliseconds timeout) {
  installTerminationSignalHandlers();
  if (g_signalPipe[0] < 0) return 0;
  const bool forever = timeout.count() < 0;
  const auto deadline = Clock::now() + (forever ? std::chrono::milliseconds(0) : timeout);
  for (;;) {
    int waitMs = -1;
    if (!forever) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left < 0) return 0;
      waitMs = static_cast<int>(std::min<long long>(left, 1 << 30));
    }
    pollfd p{g_signalPipe[0], POLLIN, 0};
    const int r = ::poll(&p, 1, waitMs);
    if (r < 0 && errno != EINTR) return 0;
    if (r > 0) {
      unsigned char b = 0;
      if (::read(g_signalPipe[0], &b, 1) == 1) return b;
    }
    if (r == 0 && !forever) return 0;
  }
}

int waitForTerminationSignal() { return waitForTerminationSignal(std::chrono::milliseconds(-1)); }

}  // namespace kubeop::http
