// A small HTTP/1.1 server for kubeop's API, webhook and operational endpoints.
//
// Handlers are plain synchronous functions `Response(const Request&)` registered on a Router by
// method and path template ("/v1/plugins/{name}"). The server (Boost.Beast underneath, hidden
// behind a pimpl: this header pulls in no Boost) does the protocol work: keep-alive and
// pipelining, size limits (413/431), timeouts, request ids, JSON errors, metrics, access logs,
// optional TLS and graceful shutdown.
//
// Threading: handlers run on the server's worker threads, possibly concurrently with each other
// (never two at once for the same connection). A handler that blocks occupies one worker; with
// the default two workers the other keeps serving every other connection.
//
// Long-lived answers (a Kubernetes watch) are streamed: the handler returns
// Response::stream(...) with a StreamSource, which then pushes chunks from any thread through a
// StreamWriter. An open stream holds no worker thread, only its connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kubeop/core/status.h"

namespace kubeop::metrics {
class Registry;
}

namespace kubeop::http {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The verified TLS client certificate of a connection (Kubernetes reads CN as the user name and
// O as the groups).
struct PeerCertificate {
  std::string commonName;
  std::vector<std::string> organizations;
};

// An HTTP request as handlers see it. Value type; the server owns it for the duration of the
// handler call (do not keep references past the return).
struct Request {
  std::string method;   // "GET", case as sent (methods are case-sensitive)
  std::string target;   // the raw request-target: "/v1/plugins/x?verbose=1"
  std::string path;     // the target before '?', still percent-encoded: "/v1/plugins/x"
  std::string query;    // the target after '?', without it: "verbose=1"
  HeaderList headers;   // in arrival order, names as sent
  std::string body;
  std::string requestId;   // X-Request-Id as received (if valid) or generated
  std::string route;       // the matched route template, e.g. "/v1/plugins/{name}"
  HeaderList pathParams;   // {"name", "x"}: percent-decoded values, from the route template
  std::string remoteAddress;  // "127.0.0.1:54321"
  // Set when TlsOptions::clientCaPem is configured and the client presented a certificate that
  // verified against it.
  std::optional<PeerCertificate> clientCertificate{};

  // The first header with this name (ASCII case-insensitive); empty if absent.
  std::string_view header(std::string_view name) const;
  bool hasHeader(std::string_view name) const;
  // The decoded value of the first `name=` query parameter ('+' is a space); nullopt if absent.
  std::optional<std::string> queryParam(std::string_view name) const;
  // The decoded path parameter named in the route template; empty if absent.
  std::string_view pathParam(std::string_view name) const;
};

// --- streamed responses ---------------------------------------------------------------------

// The producer side of a streamed response (HTTP/1.1 chunked transfer coding), handed to
// StreamSource::onStart.
// Thread-safety: every member may be called from any thread, concurrently. Writes are queued and
// handed to the connection's strand; nothing here blocks on the network.
// Lifetime: a writer may outlive its connection and the server; once the stream has ended,
// write() returns false and close() does nothing.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Queues `chunk` as one HTTP chunk (an empty chunk is ignored: it would end the stream).
  // Returns false once the stream has ended — closed, client gone, output buffer over its limit
  // (ServerOptions::maxStreamBufferBytes; the connection is then dropped) or server stopping —
  // the producer should stop then.
  virtual bool write(std::string chunk) = 0;
  // Ends the stream: what is queued is sent, then the terminating chunk; the connection closes
  // afterwards. Idempotent.
  virtual void close() = 0;
  // False once the stream has ended, for any reason.
  virtual bool isOpen() const = 0;
};

// What a streaming handler returns inside its Response. The server owns it (shared) until the
// stream ends, then drops its reference.
class StreamSource {
 public:
  virtual ~StreamSource() = default;
  // Called once, on a server thread, after the response headers have been queued. Keep the
  // writer and produce from any thread (the first events may be written from here). Must not
  // block: it runs on the connection's strand. A throw ends the stream (the connection is
  // dropped) and is logged.
  virtual void onStart(std::shared_ptr<StreamWriter> writer) = 0;
  // Called at most once, on a server thread, when the stream ends other than by the writer's
  // close(): the client disconnected or stopped reading (buffer over its limit, write timeout),
  // or the server is stopping (its graceful stop sends the terminating chunk itself, as the
  // Kubernetes apiserver ends watches on shutdown). Stop producing; must not block.
  virtual void onClientGone() {}
};

// A StreamSource from two functions (onClientGone may be empty).
std::shared_ptr<StreamSource> makeStreamSource(std::function<void(std::shared_ptr<StreamWriter>)> onStart,
                                               std::function<void()> onClientGone = {});

// What a handler returns. The server adds Content-Length, Date, X-Request-Id and Connection;
// handler-supplied values of those headers (and Transfer-Encoding) are ignored, and headers
// whose name or value contains CR, LF or NUL are dropped (no response splitting).
// A handler may add "Connection: close" to close the connection after this response.
struct Response {
  int status = 200;
  std::string contentType = "application/json";
  HeaderList headers;
  std::string body;
  // Set by stream(): the body is produced by this source instead (`body` is ignored). The
  // response goes out with "Transfer-Encoding: chunked" and "Connection: close"; read and idle
  // timeouts do not apply while it is open (a source imposes its own, e.g. watch
  // timeoutSeconds). For HEAD, or a status that has no body, the source is dropped unstarted.
  std::shared_ptr<StreamSource> streamSource{};

  static Response json(int status, std::string body);
  static Response text(int status, std::string body);
  // A streamed response; see StreamSource. Metrics and the access log record it when it ends.
  static Response stream(int status, std::string contentType, std::shared_ptr<StreamSource> source);
  // The JSON error body, with the HTTP status from httpStatusFor(status.code()):
  //   {"error":"<message>","code":"<StatusCode name>","reason":"<reasonFor>","status":<http>,
  //    "requestId":"<id>"}
  static Response error(const Status& status, std::string_view requestId);
  // Same body, for protocol errors whose HTTP status has no StatusCode of its own
  // (405 MethodNotAllowed, 431 RequestHeaderFieldsTooLarge, 400 BadRequest).
  static Response error(int httpStatus, const Status& status, std::string_view reason,
                        std::string_view requestId);

  Response& setHeader(std::string name, std::string value);
  // The first header with this name (case-insensitive); empty if absent.
  std::string_view header(std::string_view name) const;
};

using Handler = std::function<Response(const Request&)>;

// Maps (method, path) to a handler through path templates. Segments are literals or `{param}`;
// when several templates match a path the most specific wins (at the first differing segment a
// literal beats a parameter). HEAD is served by the GET handler when no HEAD route exists
// (the server drops the body). Built before Server::start and read-only afterwards, so
// concurrent match() calls are safe.
class Router {
 public:
  enum class MatchKind { kFound, kNotFound, kMethodNotAllowed };
  struct Match {
    MatchKind kind = MatchKind::kNotFound;
    const Handler* handler = nullptr;
    // The matched template (kFound, kMethodNotAllowed) — THE label for metrics and logs, never
    // the raw path. Points into the router.
    std::string_view route;
    std::size_t routeId = 0;  // dense index of the template, < routeCount()
    std::string allow;        // kMethodNotAllowed: "GET, HEAD, POST"
  };

  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Registers a handler. The pattern must start with '/'; `{name}` segments must span a whole
  // segment and have unique names. Throws std::invalid_argument for a malformed pattern or a
  // duplicate (method, pattern) — both are programming errors caught at start-up.
  Router& add(std::string_view method, std::string_view pattern, Handler handler);

  // Matches `path` (percent-encoded, without query). On kFound fills `params` (if non-null)
  // with the decoded template parameters.
  Match match(std::string_view method, std::string_view path, HeaderList* params = nullptr) const;

  // Routes and runs a request without a socket: fills req.route and req.pathParams, returns
  // 404/405 JSON errors (405 with an Allow header) and turns a handler exception into a logged
  // 500 JSON error. The body is kept for HEAD (the server sends only the headers, with the
  // Content-Length of that body). `routeId` (if non-null) receives the template index, or
  // routeCount() when no template matched. The server calls this; tests may too.
  Response dispatch(Request& req, std::size_t* routeId = nullptr) const;

  std::size_t routeCount() const;
  std::vector<std::string> routes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct TlsOptions {
  std::string certificateChainPem;  // the leaf first, then intermediates
  std::string privateKeyPem;
  // Client certificate authentication (kube-apiserver's --client-ca-file): when set, the server
  // asks for a client certificate and verifies it against these CAs (PEM). A client without a
  // certificate is still served (Request::clientCertificate is empty: other authentication may
  // apply); one whose certificate does not verify fails the TLS handshake.
  std::string clientCaPem{};  // (initialized: {cert, key} aggregates stay warning-free)
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: an ephemeral port, see Server::port()
  int workerThreads = 2;
  std::size_t maxRequestBodyBytes = 3 * 1024 * 1024;  // larger → 413
  std::size_t maxHeaderBytes = 64 * 1024;             // request line + headers; larger → 431
  // From the first byte of a request until it is completely read (also bounds a response write
  // and the TLS handshake). A slow client is disconnected when it expires.
  std::chrono::milliseconds readTimeout{30000};
  // How long a keep-alive connection may sit idle between requests.
  std::chrono::milliseconds idleTimeout{60000};
  // Per streamed response: bytes queued by the StreamWriter and not yet written to the socket.
  // A client that stops reading makes the queue grow; past this limit the stream is ended,
  // the connection dropped and the source told onClientGone(). A single write into a stream
  // whose socket makes no progress for readTimeout has the same effect.
  std::size_t maxStreamBufferBytes = 16 * 1024 * 1024;
  std::string serviceName = "kubeop";  // the "service" field of the server's log lines
  // When set: kubeop_http_requests_total{method,route,code},
  // kubeop_http_request_duration_seconds{method,route} and kubeop_http_inflight_requests. A
  // streamed response is recorded when it ends (and is in flight until then).
  // Not owned; must outlive the server.
  metrics::Registry* metrics = nullptr;
  // When set the server speaks HTTPS only.
  std::optional<TlsOptions> tls;
};

// A running server. Owns its worker threads; destroying it stops it (no grace period).
// Thread-safety: port(), stop() and wait() may be called from any thread except a handler.
class Server {
 public:
  // Binds, listens and starts the workers. Errors: InvalidArgument (bad options, address or
  // TLS material), Unavailable (bind/listen failure; the message names the address).
  static StatusOr<std::unique_ptr<Server>> start(ServerOptions options, Router router);

  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port (the ephemeral one when ServerOptions::port was 0).
  std::uint16_t port() const;
  // "127.0.0.1:8080".
  std::string address() const;
  bool tls() const;

  // Stops accepting, closes idle connections, lets requests in flight finish and answers them
  // with "Connection: close", ends open streams (the terminating chunk after what is queued,
  // and StreamSource::onClientGone), waits up to `grace` for connections to drain, then closes
  // the rest and joins the workers. A handler still running after `grace` is waited for (threads
  // cannot be interrupted), but its connection is already closed. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // Blocks until stop() has completed.
  void wait();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Installs SIGTERM and SIGINT handlers that wake waitForTerminationSignal(). Call early in
// main (before the first signal could arrive); idempotent, safe with any number of threads
// (the handler only writes to a self-pipe).
void installTerminationSignalHandlers();
// Blocks until SIGTERM or SIGINT arrives (installing the handlers if needed) and returns the
// signal number. With a timeout, returns 0 when it expires first.
int waitForTerminationSignal();
int waitForTerminationSignal(std::chrono::milliseconds timeout);

}  // namespace kubeop::http
