// EmbeddedSandbox: `kubeop sandbox` as an object, so that `kubeop up` can run the sandbox as its
// cluster in the same process. Owns the store, the API server, the simulator, the HTTPS server
// and a housekeeping thread (bookmarks, snapshots to the data dir).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "kubeop/core/status.h"
#include "kubeop/http/server.h"
#include "kubeop/metrics/metrics.h"
#include "kubeop/sandbox/api_server.h"
#include "kubeop/sandbox/simulator.h"

namespace kubeop::cmd {

struct SandboxConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string dataDir;        // empty: in memory
  std::string token;          // empty: generated (and kept in dataDir)
  std::string kubeconfigOut;  // empty: not written
  size_t watchWindow = 10000;
  std::chrono::milliseconds bookmarkInterval{30000};  // BOOKMARK events to watchers that allow them
  std::chrono::milliseconds rolloutDelay{500};
  std::chrono::milliseconds jobDelay{500};
  std::string failingImagePattern = "(^|/)fail(:|@|$)";
  sandbox::FaultOptions faults;
  int threads = 4;
};

class EmbeddedSandbox {
 public:
  static StatusOr<std::unique_ptr<EmbeddedSandbox>> start(const SandboxConfig& config);
  ~EmbeddedSandbox();

  const std::string& url() const { return url_; }
  const std::string& token() const { return token_; }
  const std::string& caPem() const { return caPem_; }
  // Stops serving and writes the final snapshot. Idempotent.
  Status stop();

 private:
  EmbeddedSandbox() = default;
  SandboxConfig config_;
  std::shared_ptr<sandbox::ResourceRegistry> registry_;
  std::shared_ptr<sandbox::Store> store_;
  std::unique_ptr<sandbox::ApiServer> api_;
  std::unique_ptr<metrics::Registry> metrics_;
  std::unique_ptr<sandbox::Simulator> sim_;
  std::unique_ptr<http::Server> server_;
  std::thread housekeeping_;
  std::atomic<bool> done_{false};
  bool stopped_ = false;
  std::string url_, token_, caPem_;
};

}  // namespace kubeop::cmd
