#include "kubeop/http/standard_endpoints.h"

#include <exception>
#include <memory>
#include <string>
#include <utility>

#include "kubeop/log/log.h"
#include "kubeop/metrics/metrics.h"

namespace kubeop::http {
namespace {

void appendJsonField(std::string& out, std::string_view key, std::string_view value, bool first) {
  if (!first) out += ',';
  out += '"';
  out += key;
  out += "\":\"";
  log::appendJsonEscaped(out, value);
  out += '"';
}

}  // namespace

void addStandardEndpoints(Router& router, const VersionInfo& version, metrics::Registry* registry,
                          std::function<Status()> readiness) {
  router.add("GET", "/healthz", [](const Request&) { return Response::json(200, R"({"status":"ok"})"); });

  router.add("GET", "/readyz", [readiness = std::move(readiness)](const Request& req) {
    Status st;
    if (readiness) {
      try {
        st = readiness();
      } catch (const std::exception& e) {
        st = internalError(std::string("readiness check threw: ") + e.what());
      } catch (...) {
        st = internalError("readiness check threw");
      }
    }
    if (st.isOk()) return Response::json(200, R"({"status":"ready"})");
    // Not ready is always 503 whatever the cause: probes and load balancers read the status.
    return Response::error(Status(StatusCode::kUnavailable, st.message()), req.requestId);
  });

  std::string versionBody = "{";
  appendJsonField(versionBody, "service", version.service, true);
  appendJsonField(versionBody, "version", version.version, false);
  appendJsonField(versionBody, "gitCommit", version.gitCommit, false);
  appendJsonField(versionBody, "buildDate", version.buildDate, false);
  versionBody += '}';
  router.add("GET", "/version",
             [body = std::move(versionBody)](const Request&) { return Response::json(200, body); });

  if (registry != nullptr) {
    router.add("GET", "/metrics", [registry](const Request&) {
      Response r = Response::text(200, registry->serialize());
      r.contentType = std::string(metrics::kExpositionContentType);
      return r;
    });
  }
}

}  // namespace kubeop::http
