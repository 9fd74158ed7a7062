// ApiServer: the Kubernetes REST API of `kubeop sandbox` over a Store — discovery, CRUD,
// patch (JSON, merge, strategic merge, server-side apply), status subresources, watch
// streams, Table output for kubectl, bearer-token authentication, CRDs becoming served
// resources, and the apiserver's Status error bodies.
//
// It only builds an http::Router; the caller owns the http::Server (HTTPS in `kubeop sandbox`).
// Thread-safety: handlers run concurrently on the server's workers; all state is in the Store
// (thread-safe) and the ResourceRegistry (thread-safe).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kubeop/http/server.h"
#include "kubeop/sandbox/resources.h"
#include "kubeop/sandbox/store.h"

namespace kubeop::sandbox {

// Fault injection for reliability tests; also adjustable at run time through
// PUT /sandbox/faults {"latencyMs":…, "errorRate":…, "throttleRate":…} and
// POST /sandbox/faults/drop-watches (ends every open watch) and /sandbox/faults/expire-watches
// (ends every open watch with a 410 Expired ERROR event, forcing clients to relist).
struct FaultOptions {
  std::chrono::milliseconds latency{0};
  double errorRate = 0;     // fraction of API requests answered 500
  double throttleRate = 0;  // fraction answered 429 with Retry-After: 1
};

struct ApiServerOptions {
  FaultOptions faults;
  // Accepted bearer tokens; empty accepts any request (tests of the protocol only).
  std::vector<std::string> tokens;
  // The kube-apiserver version reported by /version.
  std::string gitVersion = "v1.32.0-kubeop-sandbox";
  // Clock for Table ages and managedFields times.
  std::function<std::chrono::system_clock::time_point()> clock;
  // Longest watch when the client gives no timeoutSeconds (the apiserver picks 30-60 min).
  std::chrono::seconds maxWatchTimeout{1800};
};

class ApiServer {
 public:
  ApiServer(std::shared_ptr<ResourceRegistry> registry, std::shared_ptr<Store> store, ApiServerOptions opts = {});
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Adds every route of the API (and /healthz, /livez, /readyz, /version) to `router`.
  void addRoutes(http::Router& router);

  // Re-registers the served resources of every stored CRD (after Store::loadFrom).
  void restoreCustomResources();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace kubeop::sandbox
