// kubeop sandbox: a Kubernetes API server in one process — HTTPS with its own CA, a bearer
// token, a kubeconfig for kubectl, optional persistence, simulated workload status and fault
// injection. See sandbox/ for the API semantics.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "commands.h"
#include "kubeop/cli/flags.h"
#include "kubeop/core/json.h"
#include "kubeop/http/server.h"
#include "kubeop/log/log.h"
#include "kubeop/metrics/metrics.h"
#include "kubeop/sandbox/api_server.h"
#include "kubeop/sandbox/simulator.h"
#include "sandbox_runner.h"

namespace kubeop::cmd {


int runSandbox(const std::vector<std::string>& args) {
  cli::FlagSet fs("sandbox",
                  "Serves a Kubernetes API (HTTPS, bearer token) from this process: stored objects with the\n"
                  "apiserver's semantics, CRDs, watches, server-side apply, simulated rollouts. kubectl and\n"
                  "kubeop's operator use it like a cluster. Writes a kubeconfig for it.");
  fs.add("listen", "127.0.0.1:6443", "address to serve on (host:port; port 0 picks a free one)");
  fs.add("kubeconfig-out", "", "write a kubeconfig for the sandbox to this file");
  fs.add("data-dir", "", "persist objects here and reload them on start (empty: in memory only)");
  fs.add("token", "", "the bearer token clients must send (default: generated)");
  fs.add("watch-window", "10000", "watch events kept for resuming watches; older resourceVersions get 410 Gone");
  fs.add("bookmark-interval", "30s", "how often watchers that allow bookmarks get a BOOKMARK event");
  fs.add("rollout-delay", "500ms", "time before a Deployment/StatefulSet/DaemonSet reports its rollout done");
  fs.add("job-delay", "500ms", "time before a Job completes (or fails)");
  fs.add("failing-image-pattern", "(^|/)fail(:|@|$)", "Jobs whose image matches this regex fail");
  fs.add("fault-latency", "0ms", "fault injection: added latency per API request");
  fs.add("fault-error-rate", "0", "fault injection: fraction of API requests answered 500");
  fs.add("fault-throttle-rate", "0", "fault injection: fraction of API requests answered 429 with Retry-After: 1");
  fs.add("threads", "4", "HTTP worker threads");
  if (Status st = fs.parse(args); !st.isOk()) {
    std::fprintf(stderr, "kubeop sandbox: %s\n", st.message().c_str());
    return 2;
  }
  if (fs.helpRequested()) {
    std::fputs(fs.usage().c_str(), stdout);
    return 0;
  }
  log::setComponent("sandbox");
  http::installTerminationSignalHandlers();

  auto fail = [](const std::string& m, int code) {
    std::fprintf(stderr, "kubeop sandbox: %s\n", m.c_str());
    return code;
  };
  auto window = fs.getInt("watch-window");
  auto threads = fs.getInt("threads");
  auto rollout = parseDuration("rollout-delay", fs.get("rollout-delay"));
  auto jobDelay = parseDuration("job-delay", fs.get("job-delay"));
  auto latency = parseDuration("fault-latency", fs.get("fault-latency"));
  auto bookmarks = parseDuration("bookmark-interval", fs.get("bookmark-interval"));
  if (!bookmarks.ok() || bookmarks->count() < 10) return fail("--bookmark-interval must be a duration of at least 10ms", 2);
  if (!window.ok() || *window < 10) return fail("--watch-window must be an integer ≥ 10", 2);
  if (!threads.ok() || *threads < 1 || *threads > 64) return fail("--threads must be between 1 and 64", 2);
  if (!rollout.ok()) return fail(rollout.status().message(), 2);
  if (!jobDelay.ok()) return fail(jobDelay.status().message(), 2);
  if (!latency.ok()) return fail(latency.status().message(), 2);
  double errorRate = 0, throttleRate = 0;
  try {
    errorRate = std::stod(fs.get("fault-error-rate"));
    throttleRate = std::stod(fs.get("fault-throttle-rate"));
  } catch (...) {
    return fail("--fault-error-rate and --fault-throttle-rate must be numbers between 0 and 1", 2);
  }
  std::string host;
  uint16_t port = 0;
  {
    std::string l = fs.get("listen");
    auto c = l.rfind(':');
    if (c == std::string::npos) return fail("--listen must be host:port", 2);
    host = l.substr(0, c);
    try {
      int p = std::stoi(l.substr(c + 1));
      if (p < 0 || p > 65535) throw std::out_of_range(l);
      port = static_cast<uint16_t>(p);
    } catch (...) {
      return fail("--listen has an invalid port: " + l, 2);
    }
    if (host.empty()) host = "0.0.0.0";
  }

  SandboxConfig config;
  config.host = host;
  config.port = port;
  config.dataDir = fs.get("data-dir");
  config.token = fs.get("token");
  config.kubeconfigOut = fs.get("kubeconfig-out");
  config.watchWindow = static_cast<size_t>(*window);
  config.rolloutDelay = *rollout;
  config.bookmarkInterval = *bookmarks;
  config.jobDelay = *jobDelay;
  config.failingImagePattern = fs.get("failing-image-pattern");
  config.faults.latency = *latency;
  config.faults.errorRate = errorRate;
  config.faults.throttleRate = throttleRate;
  config.threads = static_cast<int>(*threads);
  auto sb = EmbeddedSandbox::start(config);
  if (!sb.ok()) return fail(sb.status().message(), 3);
  const std::string& kc = config.kubeconfigOut;
  std::printf("kubeop sandbox is serving\n  server:     %s\n  kubeconfig: %s\n  try:        kubectl --kubeconfig %s get namespaces\n",
              (*sb)->url().c_str(), kc.empty() ? "(not written; pass --kubeconfig-out)" : kc.c_str(),
              kc.empty() ? "<file>" : kc.c_str());
  std::fflush(stdout);
  int sig = http::waitForTerminationSignal();
  log::info("shutting down", {{"signal", sig}});
  if (Status st = (*sb)->stop(); !st.isOk()) {
    log::error("cannot save the sandbox state", {{"dir", config.dataDir}, {"error", st.message()}});
    return 3;
  }
  return 0;
}

}  // namespace kubeop::cmd
