// An HTTP/1.1 client for kubeop's Kubernetes client and tests: keep-alive connection pool,
// http:// and https:// (CA verification with host name / IP SAN checks, mTLS, SNI override),
// timeouts, cancellation and streamed (chunked) responses such as Kubernetes watches.
//
// Boost.Beast/Asio sit behind a pimpl (core/src/http/client.cc): this header pulls in no Boost.
//
// Threading: a Client is thread-safe; any number of threads may call request() and stream()
// concurrently. Each call blocks its caller. Connecting and streams run on the client's own I/O
// thread(s), so a slow stream consumer never holds up other calls; a request() on a pooled
// keep-alive connection does its I/O on the calling thread (no thread hand-off). Callbacks
// (stream chunks) run on the calling thread.
//
// Errors (Status codes carry the retry meaning, see status.h):
//   Unavailable      connection refused/reset, DNS failure, TLS handshake or certificate
//                    verification failure, malformed response, connection closed early
//   DeadlineExceeded connect or request timeout
//   Cancelled        the CancelToken fired, or a stream callback returned a non-OK Status
//   ResourceExhausted the response is over maxResponseBytes / maxResponseHeaderBytes
//   InvalidArgument  malformed URL, method or header
// Messages name the method and the URL (without userinfo), never header values (the
// Authorization header stays out of every message and log line).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "kubeop/core/status.h"
#include "kubeop/http/server.h"  // HeaderList

namespace kubeop::http {

// A client certificate and its key, PEM.
struct ClientCertificate {
  std::string certificatePem;  // the leaf first, then intermediates
  std::string keyPem;
};

struct ClientTlsOptions {
  // Trusted CA certificates (PEM, one or more). Empty: the system's default trust store.
  std::string caPem;
  // mTLS: a static client certificate...
  std::string clientCertificatePem;
  std::string clientKeyPem;
  // ...or one obtained per new connection (e.g. from a kubeconfig exec plugin, which may rotate
  // it). Called on the requesting thread before the TLS handshake; its error fails the request;
  // an empty certificatePem means "no client certificate".
  std::function<StatusOr<ClientCertificate>()> clientCertificateProvider;
  // Skips server certificate verification (kubeconfig insecure-skip-tls-verify). For tests and
  // throwaway clusters only.
  bool insecureSkipVerify = false;
  // The name sent as SNI and checked against the certificate's SANs instead of the URL's host
  // (kubeconfig tls-server-name). An IP literal is checked against IP SANs and not sent as SNI.
  std::string serverName;
};

struct ClientOptions {
  ClientTlsOptions tls;
  // Resolve + TCP connect + TLS handshake of a new connection.
  std::chrono::milliseconds connectTimeout{10000};
  // request(): the whole call, connecting and retrying included. stream(): until the response
  // headers arrive. Zero: no limit.
  std::chrono::milliseconds requestTimeout{60000};
  // stream(): the longest silence allowed between two pieces of the body while the caller is
  // waiting for them. Zero: no limit (the server's watch timeout ends the stream).
  std::chrono::milliseconds streamIdleTimeout{0};
  // Pool: idle keep-alive connections kept per scheme://host:port, and for how long.
  std::size_t maxIdleConnectionsPerHost = 8;
  std::chrono::milliseconds idleConnectionTimeout{90000};
  std::string userAgent = "kubeop";
  // request(): larger bodies fail with ResourceExhausted (also bounds a stream's error body).
  std::size_t maxResponseBytes = 128u << 20;
  std::size_t maxResponseHeaderBytes = 1u << 20;
  int ioThreads = 1;
};

struct ClientResponse {
  int status = 0;
  HeaderList headers;  // in arrival order
  std::string body;

  // The first header with this name (ASCII case-insensitive); empty if absent.
  std::string_view header(std::string_view name) const;
};

// Cancels request() and stream() calls from another thread. A copyable handle: copies share the
// state. Thread-safe. Once cancelled it stays cancelled.
class CancelToken {
 public:
  CancelToken();
  void cancel() const;
  bool cancelled() const;

 private:
  friend class Client;
  struct State;
  std::shared_ptr<State> state_;
};

// A stream consumer. A non-OK Status stops the stream; stream() then returns it.
using ChunkCallback = std::function<Status(std::string_view data)>;

// A pool of keep-alive connections plus the I/O thread(s) that drive them. Thread-safe (see the
// file comment); owns its threads and connections; destroy it only after every call returned.
class Client {
 public:
  // Validates the options and loads the TLS material. Errors: InvalidArgument (bad PEM, a key
  // that does not match its certificate, bad limits).
  static StatusOr<std::unique_ptr<Client>> create(ClientOptions options);
  // Closes idle connections and stops the I/O threads. Every call must have returned.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One request/response exchange. Any HTTP status is a successful call (the caller decides what
  // a 404 means); only transport failures are errors. The Host, User-Agent (unless given),
  // Content-Length headers are added; a caller's Content-Length, Transfer-Encoding and
  // Connection headers are ignored.
  // A pooled connection that turns out to be dead is replaced transparently, once, when the
  // request cannot have been processed: its bytes never fully left, or (GET, HEAD, OPTIONS) the
  // server closed the reused connection without answering (as Go's transport does).
  StatusOr<ClientResponse> request(std::string_view method, std::string_view url, const HeaderList& headers = {},
                                   std::string_view body = {}, const CancelToken* cancel = nullptr);

  // Sends a request and hands the response body to `onChunk` as it arrives (the pieces follow
  // the network, not the sender's chunk boundaries; see splitLines). Returns:
  //   OK                 the body ended (terminating chunk, Content-Length reached or EOF);
  //   the callback's     when it returned non-OK;
  //   Cancelled          when `cancel` fired;
  //   statusCodeFromHttp(status) for a non-2xx answer, whose body is not streamed but stored in
  //                      `head->body`;
  //   a transport error otherwise.
  // `head` (optional) receives the status and headers as soon as they arrive.
  Status stream(std::string_view method, std::string_view url, const HeaderList& headers, std::string_view body,
                const ChunkCallback& onChunk, const CancelToken* cancel = nullptr, ClientResponse* head = nullptr);

  struct Stats {
    std::uint64_t connectionsOpened = 0;  // TCP connections established, ever
    std::size_t idleConnections = 0;      // in the pool now
  };
  Stats stats() const;
  void closeIdleConnections();

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Wraps a line consumer into a ChunkCallback: the body is split at '\n' (dropped, as is a '\r'
// before it), as Kubernetes watches send one JSON object per line. A line longer than
// `maxLineBytes` stops the stream with ResourceExhausted. A last line without '\n' is dropped.
// The returned callback keeps its buffer; use one per stream.
ChunkCallback splitLines(std::function<Status(std::string_view line)> onLine, std::size_t maxLineBytes = 16u << 20);

}  // namespace kubeop::http
