// kubeop operator: the reconciler against a cluster (kubeconfig, or in-cluster), with kubeOP's
// endpoints: metrics on :8081, /healthz /readyz /version on :8082, optional leader election.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <cstdio>

#include "commands.h"
#include "kubeop/cli/flags.h"
#include "kubeop/http/server.h"
#include "kubeop/kube/kubeconfig.h"
#include "kubeop/log/log.h"
#include "kubeop/metrics/metrics.h"
#include "kubeop/operator/leader_election.h"
#include "kubeop/operator/operator.h"

namespace kubeop::cmd {

void observePluginCalls(plugin::Registry& plugins, metrics::Registry& registry) {
  auto& calls = registry.counter("kubeop_plugin_calls_total", "Calls into plugins by plugin, operation and result.",
                                 {"plugin", "op", "result"});
  auto& latency = registry.histogram("kubeop_plugin_call_duration_seconds", "Latency of plugin calls.",
                                     {"plugin", "op"});
  plugins.setObserver([&calls, &latency](std::string_view p, std::string_view op, std::string_view result, double s) {
    calls.labels({p, op, result}).inc();
    latency.labels({p, op}).observe(s);
  });
}

StatusOr<std::unique_ptr<op::Operator>> buildOperator(const OperatorSetup& setup) {
  kube::LoadOptions lo;
  lo.kubeconfigPath = setup.kubeconfig;
  lo.context = setup.context;
  lo.userAgent = "kubeop-operator";
  auto rest = kube::loadRestConfig(lo);
  if (!rest.ok()) return Status(rest.status().code(), "the cluster's configuration: " + rest.status().message());
  kube::ClientConfig cc;
  cc.qps = setup.qps;
  cc.burst = setup.burst;
  cc.userAgent = "kubeop-operator";
  auto client = kube::Client::create(std::move(rest).value(), cc);
  if (!client.ok()) return client.status();
  op::OperatorOptions oo;
  oo.client = std::shared_ptr<kube::Client>(std::move(client).value());
  oo.plugins = setup.plugins;
  oo.metrics = setup.metrics;
  oo.maxConcurrentReconciles = setup.maxConcurrentReconciles;
  oo.resyncPeriod = setup.resyncPeriod;
  oo.installCrds = setup.installCrds;
  return op::Operator::create(std::move(oo));
}

int runOperator(const std::vector<std::string>& args) {
  cli::FlagSet fs("operator",
                  "Reconciles kubeop's Tenants, Projects and Apps on a cluster: project namespaces with their\n"
                  "guardrails, Apps rendered by their delivery plugin and server-side applied, drift undone.\n"
                  "Serves Prometheus metrics and health endpoints. Stops gracefully on SIGTERM.");
  fs.add("kubeconfig", "", "the cluster (default: $KUBECONFIG, then in-cluster, then ~/.kube/config)", "KUBECONFIG");
  fs.add("context", "", "the kubeconfig context (default: its current context)");
  fs.add("plugin-path", "", "plugin directories or files, colon-separated", "KUBEOP_PLUGIN_PATH");
  fs.add("plugin-config", "", "plugin config file (YAML/JSON map of plugin name → config)");
  fs.add("metrics-bind-address", ":8081", "where /metrics is served (host:port; port 0 picks a free one)");
  fs.add("health-probe-bind-address", ":8082", "where /healthz, /readyz and /version are served");
  fs.add("max-concurrent-reconciles", "4", "App reconciles at once (Tenants and Projects get half)");
  fs.add("resync-period", "10m", "every object is reconciled again this often");
  fs.addBool("install-crds", true, "create or update kubeop's CRDs at start-up");
  fs.addBool("leader-elect", false, "elect a leader on a Lease so that only one replica reconciles");
  fs.add("leader-election-namespace", "kubeop-system", "the namespace of the leader-election Lease");
  fs.add("leader-election-id", "kubeop-operator", "the name of the leader-election Lease");
  fs.add("lease-duration", "15s", "how long a leader's lease lasts without renewal");
  fs.add("renew-deadline", "10s", "how long the leader retries renewing before it gives up leadership");
  fs.add("retry-period", "2s", "how often candidates try to acquire and the leader renews");
  fs.add("kube-api-qps", "1000", "client-side rate limit towards the API server (requests per second)");
  fs.add("kube-api-burst", "2000", "client-side burst towards the API server");
  if (Status st = fs.parse(args); !st.isOk()) {
    std::fprintf(stderr, "kubeop operator: %s\n", st.message().c_str());
    return 2;
  }
  if (fs.helpRequested()) {
    std::fputs(fs.usage().c_str(), stdout);
    return 0;
  }
  log::setComponent("operator");
  http::installTerminationSignalHandlers();

  auto usage = [](const Status& st) {
    std::fprintf(stderr, "kubeop operator: %s\n", st.message().c_str());
    return 2;
  };
  auto metricsAddr = parseAddr("metrics-bind-address", fs.get("metrics-bind-address"));
  if (!metricsAddr.ok()) return usage(metricsAddr.status());
  auto healthAddr = parseAddr("health-probe-bind-address", fs.get("health-probe-bind-address"));
  if (!healthAddr.ok()) return usage(healthAddr.status());
  auto workers = fs.getInt("max-concurrent-reconciles");
  if (!workers.ok() || *workers < 1 || *workers > 256) {
    return usage(invalidArgument("--max-concurrent-reconciles must be an integer between 1 and 256"));
  }
  auto resync = parseDuration("resync-period", fs.get("resync-period"));
  if (!resync.ok()) return usage(resync.status());
  auto leaseDuration = parseDuration("lease-duration", fs.get("lease-duration"));
  if (!leaseDuration.ok()) return usage(leaseDuration.status());
  auto renewDeadline = parseDuration("renew-deadline", fs.get("renew-deadline"));
  if (!renewDeadline.ok()) return usage(renewDeadline.status());
  auto retryPeriod = parseDuration("retry-period", fs.get("retry-period"));
  if (!retryPeriod.ok()) return usage(retryPeriod.status());
  if (!(*leaseDuration > *renewDeadline && *renewDeadline > *retryPeriod)) {
    return usage(invalidArgument("leader election needs --lease-duration > --renew-deadline > --retry-period"));
  }
  auto qps = fs.getInt("kube-api-qps");
  auto burst = fs.getInt("kube-api-burst");
  if (!qps.ok() || !burst.ok() || *qps < 0 || *burst < 0) {
    return usage(invalidArgument("--kube-api-qps and --kube-api-burst must be non-negative integers"));
  }

  metrics::Registry registry;
  auto reg = loadRegistry(fs.get("plugin-path"), fs.get("plugin-config"));
  if (!reg.ok()) {
    std::fprintf(stderr, "kubeop operator: %s\n", reg.status().message().c_str());
    return 3;
  }
  std::shared_ptr<plugin::Registry> plugins = std::move(reg).value();
  observePluginCalls(*plugins, registry);

  OperatorSetup setup;
  setup.kubeconfig = fs.get("kubeconfig");
  setup.context = fs.get("context");
  setup.plugins = plugins;
  setup.metrics = &registry;
  setup.maxConcurrentReconciles = static_cast<int>(*workers);
  setup.resyncPeriod = *resync;
  setup.installCrds = fs.getBool("install-crds");
  setup.qps = static_cast<double>(*qps);
  setup.burst = static_cast<int>(*burst);
  auto built = buildOperator(setup);
  if (!built.ok()) {
    std::fprintf(stderr, "kubeop operator: %s\n", built.status().message().c_str());
    return 3;
  }
  std::unique_ptr<op::Operator> operatorPtr = std::move(built).value();
  op::Operator& oper = *operatorPtr;

  // Endpoints first, so that probes answer (not ready) while the caches fill.
  auto serve = [&](const std::pair<std::string, uint16_t>& addr, http::Router router, const char* what)
      -> StatusOr<std::unique_ptr<http::Server>> {
    http::ServerOptions so;
    so.address = addr.first;
    so.port = addr.second;
    so.workerThreads = 1;
    so.serviceName = "operator";
    auto s = http::Server::start(so, std::move(router));
    if (!s.ok()) return Status(s.status().code(), std::string(what) + ": " + s.status().message());
    return s;
  };
  http::Router metricsRouter;
  http::addStandardEndpoints(metricsRouter, versionInfo("operator"), &registry, [&oper]() -> Status {
    return oper.ready() ? Status::ok() : unavailable("caches not synced yet");
  });
  http::Router healthRouter;
  http::addStandardEndpoints(healthRouter, versionInfo("operator"), nullptr, [&oper]() -> Status {
    return oper.ready() ? Status::ok() : unavailable("caches not synced yet");
  });
  auto metricsServer = serve(*metricsAddr, std::move(metricsRouter), "--metrics-bind-address");
  auto healthServer = serve(*healthAddr, std::move(healthRouter), "--health-probe-bind-address");
  if (!metricsServer.ok() || !healthServer.ok()) {
    std::fprintf(stderr, "kubeop operator: %s\n",
                 (!metricsServer.ok() ? metricsServer.status() : healthServer.status()).message().c_str());
    return 3;
  }
  std::printf("kubeop operator\n  metrics: http://%s:%u/metrics\n  health:  http://%s:%u/healthz\n",
              metricsAddr->first.c_str(), (*metricsServer)->port(), healthAddr->first.c_str(),
              (*healthServer)->port());
  std::fflush(stdout);

  if (Status st = oper.startCaches(); !st.isOk()) {
    std::fprintf(stderr, "kubeop operator: %s\n", st.message().c_str());
    return 3;
  }

  // Leadership: the leader runs the controllers; losing the lease ends the process (as
  // controller-runtime does), so that a restarted replica starts from a clean state.
  std::unique_ptr<op::LeaderElector> elector;
  std::atomic<bool> lostLease{false};
  std::atomic<bool> stopping{false};
  if (fs.getBool("leader-elect")) {
    // The elector's own client: each of its calls must end well before the renew deadline
    // (controller-runtime: max(1s, renewDeadline / 2)), whatever the controllers' calls do.
    kube::LoadOptions lo;
    lo.kubeconfigPath = fs.get("kubeconfig");
    lo.context = fs.get("context");
    lo.userAgent = "kubeop-operator/leader-election";
    auto rest = kube::loadRestConfig(lo);
    if (!rest.ok()) {
      std::fprintf(stderr, "kubeop operator: %s\n", rest.status().message().c_str());
      return 3;
    }
    kube::ClientConfig lcc;
    lcc.timeout = std::max(std::chrono::milliseconds(1000), *renewDeadline / 2);
    lcc.maxRetries = 0;
    lcc.qps = 0;
    auto leClient = kube::Client::create(std::move(rest).value(), lcc);
    if (!leClient.ok()) {
      std::fprintf(stderr, "kubeop operator: %s\n", leClient.status().message().c_str());
      return 3;
    }
    op::LeaderElectionConfig lc;
    lc.client = std::shared_ptr<kube::Client>(std::move(leClient).value());
    lc.leaseNamespace = fs.get("leader-election-namespace");
    lc.leaseName = fs.get("leader-election-id");
    lc.leaseDuration = *leaseDuration;
    lc.renewDeadline = *renewDeadline;
    lc.retryPeriod = *retryPeriod;
    lc.metrics = &registry;
    lc.callbacks.onStartedLeading = [&oper](std::stop_token token) {
      log::info("leading: starting the controllers", {});
      if (Status st = oper.startControllers(); !st.isOk()) {
        log::error("cannot start the controllers", {{"error", st.message()}});
        ::kill(::getpid(), SIGTERM);
        return;
      }
      // Act only while leading: when the lease is lost the controllers stop before anyone else
      // may take over (leaseDuration > renewDeadline).
      std::mutex mu;
      std::condition_variable_any cv;
      std::unique_lock lock(mu);
      cv.wait(lock, token, [] { return false; });
      oper.stop();
    };
    lc.callbacks.onStoppedLeading = [&stopping, &lostLease] {
      if (stopping) return;
      lostLease = true;
      log::error("leadership lost; exiting so that a fresh replica can compete", {});
      ::kill(::getpid(), SIGTERM);
    };
    lc.callbacks.onNewLeader = [](const std::string& id) {
      log::info("leader observed", {{"identity", id.empty() ? std::string("(released)") : id}});
    };
    elector = std::make_unique<op::LeaderElector>(std::move(lc));
    if (Status st = elector->start(); !st.isOk()) {
      std::fprintf(stderr, "kubeop operator: leader election: %s\n", st.message().c_str());
      return 2;
    }
  } else {
    if (Status st = oper.startControllers(); !st.isOk()) {
      std::fprintf(stderr, "kubeop operator: %s\n", st.message().c_str());
      return 3;
    }
  }
  if (elector) std::printf("  identity: %s (leader election on Lease %s/%s)\n", elector->identity().c_str(),
                          fs.get("leader-election-namespace").c_str(), fs.get("leader-election-id").c_str());
  std::printf("  ready:   caches synced\n");
  std::fflush(stdout);
  MemoryTrimmer trimmer(std::chrono::seconds(15));

  int sig = http::waitForTerminationSignal();
  log::info("shutting down", {{"signal", sig}});
  stopping = true;
  if (elector) elector->stop();
  oper.stop();
  (*metricsServer)->stop(std::chrono::seconds(5));
  (*healthServer)->stop(std::chrono::seconds(5));
  return lostLease ? 1 : 0;
}

}  // namespace kubeop::cmd
