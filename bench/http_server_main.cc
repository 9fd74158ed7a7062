// kubeop_bench_http_server: the kubeop HTTP server with only the standard endpoints, for load
// tests (bench/wrk_healthz.sh).
//
//   kubeop_bench_http_server [PORT] [--threads N] [--address ADDR]
//
// PORT 0 (the default) picks a free port. Prints "listening on http://ADDR:PORT" on stdout,
// serves until SIGTERM or SIGINT, then stops with a 5 s grace period.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kubeop/http/server.h"
#include "kubeop/http/standard_endpoints.h"
#include "kubeop/log/log.h"
#include "kubeop/metrics/metrics.h"

#ifndef KUBEOP_BENCH_VERSION
#define KUBEOP_BENCH_VERSION "dev"
#endif
#ifndef KUBEOP_BENCH_GIT_COMMIT
#define KUBEOP_BENCH_GIT_COMMIT "unknown"
#endif
#ifndef KUBEOP_BENCH_BUILD_DATE
#define KUBEOP_BENCH_BUILD_DATE "unknown"
#endif

int main(int argc, char** argv) {
  using namespace kubeop;
  log::initFromEnv();
  log::setComponent("bench-http");
  http::installTerminationSignalHandlers();

  http::ServerOptions options;
  options.serviceName = "kubeop-bench";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) {
      options.workerThreads = std::atoi(argv[++i]);
    } else if (arg == "--address" && i + 1 < argc) {
      options.address = argv[++i];
    } else if (arg == "-h" || arg == "--help") {
      std::printf("usage: %s [PORT] [--threads N] [--address ADDR]\n", argv[0]);
      return 0;
    } else {
      options.port = static_cast<std::uint16_t>(std::atoi(arg.c_str()));
    }
  }

  metrics::Registry registry;
  options.metrics = &registry;
  http::Router router;
  http::addStandardEndpoints(router,
                             {"kubeop-bench", KUBEOP_BENCH_VERSION, KUBEOP_BENCH_GIT_COMMIT, KUBEOP_BENCH_BUILD_DATE},
                             &registry, [] { return Status::ok(); });

  auto server = http::Server::start(options, std::move(router));
  if (!server.ok()) {
    std::fprintf(stderr, "error: %s\n", server.status().toString().c_str());
    return 1;
  }
  std::printf("listening on http://%s\n", (*server)->address().c_str());
  std::fflush(stdout);

  const int sig = http::waitForTerminationSignal();
  log::info("stopping", {{"signal", sig}});
  (*server)->stop(std::chrono::seconds(5));
  return 0;
}
