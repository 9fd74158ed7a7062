// kubeop up: the platform on embedded defaults. At this stage: every plugin loaded, the sandbox
// as the cluster (when no kubeconfig is given), the operator reconciling Tenants, Projects and
// Apps on it, the operational endpoints (/healthz, /readyz, /version, /metrics) and the plugin
// API (GET /v1/plugins, GET /v1/plugins/{name}) behind an admin bearer token.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "commands.h"
#include "kubeop/cli/flags.h"
#include "kubeop/core/json.h"
#include "kubeop/http/server.h"
#include "kubeop/log/log.h"
#include "kubeop/metrics/metrics.h"
#include "sandbox_runner.h"

namespace kubeop::cmd {
namespace {

std::string randomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    size_t got = 0;
    while (got < bytes) {
      ssize_t n = ::read(fd, raw.data() + got, bytes - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    ::close(fd);
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

// Constant-time comparison: the token check must not leak how many bytes matched.
bool tokenEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string defaultStateDir() {
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.kubeop";
  return ".kubeop";
}

}  // namespace

int runUp(const std::vector<std::string>& args) {
  cli::FlagSet fs("up",
                  "Runs kubeop on embedded defaults: loads every plugin, runs the sandbox as the cluster when\n"
                  "no kubeconfig is given, runs the operator on it, and serves the API with health, readiness,\n"
                  "version and Prometheus metrics. Prints the API URL, an admin token and a kubeconfig.\n"
                  "Stops gracefully on SIGTERM or Ctrl-C.");
  fs.add("http-addr", "127.0.0.1:8080", "address to serve the API on (host:port; port 0 picks a free one)");
  fs.add("plugin-path", "", "plugin directories or files, colon-separated", "KUBEOP_PLUGIN_PATH");
  fs.add("plugin-config", "", "plugin config file (YAML/JSON map of plugin name → config)");
  fs.add("state-dir", defaultStateDir(), "where kubeop up keeps its state (admin token, address)");
  fs.add("admin-token", "", "the admin bearer token (default: generated and stored in the state dir)");
  fs.add("threads", "2", "HTTP worker threads");
  fs.add("kubeconfig", "", "the cluster to deliver to (default: $KUBECONFIG; when neither is set, kubeop up "
                           "runs the sandbox as its cluster)");
  fs.add("sandbox-addr", "127.0.0.1:0", "where the embedded sandbox serves when it is the cluster");
  if (Status st = fs.parse(args); !st.isOk()) {
    std::fprintf(stderr, "kubeop up: %s\n", st.message().c_str());
    return 2;
  }
  if (fs.helpRequested()) {
    std::fputs(fs.usage().c_str(), stdout);
    return 0;
  }
  log::setComponent("kubeop");
  http::installTerminationSignalHandlers();

  auto addr = parseAddr("http-addr", fs.get("http-addr"));
  if (!addr.ok()) {
    std::fprintf(stderr, "kubeop up: %s\n", addr.status().message().c_str());
    return 2;
  }
  auto threads = fs.getInt("threads");
  if (!threads.ok() || *threads < 1 || *threads > 64) {
    std::fprintf(stderr, "kubeop up: --threads must be an integer between 1 and 64\n");
    return 2;
  }

  // State: the admin token survives restarts so scripts keep working.
  std::string stateDir = fs.get("state-dir");
  std::error_code ec;
  std::filesystem::create_directories(stateDir, ec);
  std::string token = fs.get("admin-token");
  std::string tokenFile = stateDir + "/admin-token";
  if (token.empty()) {
    std::ifstream in(tokenFile);
    std::getline(in, token);
    if (token.size() < 32) {
      token = randomHex(32);
      int fd = ::open(tokenFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0 || ::write(fd, token.data(), token.size()) != static_cast<ssize_t>(token.size())) {
        log::warn("cannot store the admin token", {{"path", tokenFile}});
      }
      if (fd >= 0) ::close(fd);
    }
  }

  // The cluster: a kubeconfig when given, else the embedded sandbox (state kept in the state dir).
  std::string kubeconfig = fs.get("kubeconfig");
  if (kubeconfig.empty()) {
    if (const char* env = std::getenv("KUBECONFIG"); env && *env) kubeconfig = env;
  }
  std::unique_ptr<EmbeddedSandbox> sandbox;
  if (kubeconfig.empty()) {
    auto sbAddr = parseAddr("sandbox-addr", fs.get("sandbox-addr"));
    if (!sbAddr.ok()) {
      std::fprintf(stderr, "kubeop up: %s\n", sbAddr.status().message().c_str());
      return 2;
    }
    SandboxConfig sc;
    sc.host = sbAddr->first;
    sc.port = sbAddr->second;
    sc.dataDir = stateDir + "/sandbox";
    sc.kubeconfigOut = stateDir + "/kubeconfig";
    auto sb = EmbeddedSandbox::start(sc);
    if (!sb.ok()) {
      std::fprintf(stderr, "kubeop up: cannot start the sandbox cluster: %s\n", sb.status().message().c_str());
      return 3;
    }
    sandbox = std::move(sb).value();
    kubeconfig = sc.kubeconfigOut;
  }

  metrics::Registry registry;
  auto reg = loadRegistry(fs.get("plugin-path"), fs.get("plugin-config"));
  if (!reg.ok()) {
    std::fprintf(stderr, "kubeop up: %s\n", reg.status().message().c_str());
    return 3;
  }
  std::shared_ptr<plugin::Registry> plugins = std::move(reg).value();
  observePluginCalls(*plugins, registry);
  registry.gauge("kubeop_plugins_loaded", "Plugins loaded into the registry.", {})
      .labels(std::vector<std::string>{})
      .set(static_cast<double>(plugins->plugins().size()));
  registry.gauge("kubeop_plugins_refused", "Plugin files refused at start-up.", {})
      .labels(std::vector<std::string>{})
      .set(static_cast<double>(plugins->errors().size()));

  // The operator, against the same cluster, on the same plugin registry and metrics.
  OperatorSetup setup;
  setup.kubeconfig = kubeconfig;
  setup.plugins = plugins;
  setup.metrics = &registry;
  auto built = buildOperator(setup);
  if (!built.ok()) {
    std::fprintf(stderr, "kubeop up: the operator: %s\n", built.status().message().c_str());
    return 3;
  }
  std::unique_ptr<op::Operator> oper = std::move(built).value();
  if (Status st = oper->start(); !st.isOk()) {
    std::fprintf(stderr, "kubeop up: the operator: %s\n", st.message().c_str());
    return 3;
  }
  op::Operator* operPtr = oper.get();

  http::Router router;
  http::addStandardEndpoints(router, versionInfo("kubeop"), &registry, [operPtr]() -> Status {
    return operPtr->ready() ? Status::ok() : unavailable("the operator's caches are not synced yet");
  });
  auto authorized = [token](const http::Request& req) -> Status {
    std::string_view h = req.header("Authorization");
    if (h.empty()) return unauthenticated("missing token: send Authorization: Bearer <admin token>");
    if (h.substr(0, 7) != "Bearer " || !tokenEquals(h.substr(7), token)) return unauthenticated("invalid token");
    return Status::ok();
  };
  router.add("GET", "/v1/plugins", [plugins, authorized](const http::Request& req) {
    if (Status st = authorized(req); !st.isOk()) return http::Response::error(st, req.requestId);
    return http::Response::json(200, plugins->toJson());
  });
  router.add("GET", "/v1/plugins/{name}", [plugins, authorized](const http::Request& req) {
    if (Status st = authorized(req); !st.isOk()) return http::Response::error(st, req.requestId);
    std::string name(req.pathParam("name"));
    auto doc = json::parse(plugins->toJson());
    if (doc.ok()) {
      for (const auto& p : (*doc)["plugins"].GetArray()) {
        if (json::getString(p, "name") == name) return http::Response::json(200, json::write(p));
      }
    }
    return http::Response::error(notFound("plugin \"" + name + "\" is not loaded"), req.requestId);
  });

  http::ServerOptions so;
  so.address = addr->first;
  so.port = addr->second;
  so.workerThreads = static_cast<int>(*threads);
  so.serviceName = "kubeop";
  so.metrics = &registry;
  auto server = http::Server::start(so, std::move(router));
  if (!server.ok()) {
    std::fprintf(stderr, "kubeop up: %s\n", server.status().message().c_str());
    return 3;
  }
  std::string host = addr->first == "0.0.0.0" ? "127.0.0.1" : addr->first;
  std::string url = "http://" + host + ":" + std::to_string((*server)->port());
  {
    std::ofstream(stateDir + "/api-url") << url << "\n";
  }
  std::string pluginList;
  for (const auto& p : plugins->plugins()) {
    pluginList += "\n              " + p->info().name + " " + p->info().version +
                  (p->info().deliveryType.empty() ? "" : " (type " + p->info().deliveryType + ")");
  }
  for (const auto& e : plugins->errors()) pluginList += "\n    REFUSED   " + e.path + ": " + e.message;
  std::string cluster = sandbox ? "sandbox at " + sandbox->url() : "from " + kubeconfig;
  std::printf(
      "kubeop is up\n"
      "  API URL:    %s\n"
      "  admin token: %s\n"
      "              (also in %s)\n"
      "  cluster:    %s\n"
      "  kubeconfig: %s\n"
      "  plugins:    %zu loaded%s\n"
      "  operator:   reconciling Tenants, Projects and Apps (CRDs installed)\n"
      "  try:        kubectl --kubeconfig %s apply -f docs/examples/tenant-project-app.yaml\n"
      "              kubectl --kubeconfig %s get tenants,projects,apps -A\n"
      "              curl -H \"Authorization: Bearer $(cat %s)\" %s/v1/plugins\n"
      "              curl %s/metrics\n"
      "  stop:       Ctrl-C\n",
      url.c_str(), token.c_str(), tokenFile.c_str(), cluster.c_str(), kubeconfig.c_str(), plugins->plugins().size(),
      pluginList.c_str(), kubeconfig.c_str(), kubeconfig.c_str(), tokenFile.c_str(), url.c_str(), url.c_str());
  std::fflush(stdout);
  log::info("serving", {{"url", url}, {"plugins", static_cast<unsigned long>(plugins->plugins().size())}});
  MemoryTrimmer trimmer(std::chrono::seconds(15));

  int sig = http::waitForTerminationSignal();
  log::info("shutting down", {{"signal", sig}});
  (*server)->stop(std::chrono::seconds(10));
  oper->stop();
  if (sandbox) {
    if (Status st = sandbox->stop(); !st.isOk()) log::error("cannot save the sandbox state", {{"error", st.message()}});
  }
  return 0;
}

}  // namespace kubeop::cmd
