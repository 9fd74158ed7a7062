// The operational endpoints every kubeop process serves:
//   GET /healthz  200 {"status":"ok"}                          (liveness: the process answers)
//   GET /readyz   200 {"status":"ready"} or 503 JSON error     (readiness callback)
//   GET /version  200 {"service","version","gitCommit","buildDate"}
//   GET /metrics  200 Prometheus text, "text/plain; version=0.0.4"  (only with a registry)
// HEAD works for each (the router serves HEAD from GET).
#pragma once

#include <functional>
#include <string>

#include "kubeop/core/status.h"
#include "kubeop/http/server.h"

namespace kubeop::metrics {
class Registry;
}

namespace kubeop::http {

struct VersionInfo {
  std::string service;
  std::string version;
  std::string gitCommit;
  std::string buildDate;
};

// `registry` may be null (then /metrics is not added) and must outlive the router's server.
// `readiness` may be empty (always ready). It runs on a worker thread per /readyz request, so it
// should be cheap (read a flag, not probe a database); a non-OK Status becomes a 503 JSON error
// with its message, and an exception from it counts as not ready.
void addStandardEndpoints(Router& router, const VersionInfo& version, metrics::Registry* registry,
                          std::function<Status()> readiness);

}  // namespace kubeop::http
