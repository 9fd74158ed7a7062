// Load driver for the operator (issue 4 benchmarks): N Apps created at once across T tenants, the
// time until every App is Ready, and the operator's RSS and CPU; then the CPU of idle resyncs.
//
//   build/bench/kubeop_bench_operator [apps=1000] [tenants=100] [resync-seconds=20] [idle-seconds=60]
//
// `kubeop sandbox` (the cluster) and `kubeop operator` run as separate processes, so the numbers
// are the operator's alone (/proc/<pid>/status VmRSS/VmHWM, /proc/<pid>/stat utime+stime). Each
// App is Raw: a ConfigMap and a Deployment (2 replicas; the sandbox rolls it out after 100 ms).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kubeop/core/json.h"
#include "kubeop/kube/client.h"
#include "kubeop/kube/kubeconfig.h"
#include "kubeop/log/log.h"
#include "process.h"
#include "test_paths.h"

using namespace kubeop;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

struct ProcStats {
  double cpuSeconds = 0;
  long rssKiB = 0;
  long hwmKiB = 0;
};

ProcStats procStats(pid_t pid) {
  ProcStats s;
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(st, line);
  auto close = line.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(line.substr(close + 2));
    std::string f;
    std::vector<std::string> fields;
    while (rest >> f) fields.push_back(f);
    // After "(comm)": state is field 3; utime 14, stime 15 (1-based) → indexes 11, 12 here.
    if (fields.size() > 12) {
      double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
      s.cpuSeconds = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;
    }
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rssKiB = std::stol(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) s.hwmKiB = std::stol(line.substr(6));
  }
  return s;
}

Object parse(const std::string& json) {
  auto o = Object::fromJson(json);
  if (!o.ok()) {
    std::fprintf(stderr, "bad object: %s\n", o.status().message().c_str());
    std::exit(1);
  }
  return std::move(o).value();
}

// Parallel creates (the driver must not be the bottleneck).
void createAll(kube::Client& c, const std::vector<std::string>& objects, int threads) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      for (size_t i = next++; i < objects.size(); i = next++) {
        auto r = c.create(parse(objects[i]));
        if (!r.ok() && r.status().code() != StatusCode::kAlreadyExists) {
          std::fprintf(stderr, "create: %s\n", r.status().message().c_str());
        }
      }
    });
  }
  for (auto& t : ts) t.join();
}

size_t countReady(kube::Client& c, std::string_view apiVersion, std::string_view kind) {
  kube::ListOptions lo;
  lo.limit = 2000;
  auto l = c.listAll(apiVersion, kind, "", lo);
  if (!l.ok()) return 0;
  size_t n = 0;
  for (const auto& o : l->items) {
    const json::Value* st = o.status();
    const json::Value* ready = st ? json::find(*st, "ready") : nullptr;
    if (ready && ready->IsBool() && ready->GetBool()) ++n;
  }
  return n;
}

bool waitReady(kube::Client& c, std::string_view kind, size_t want, std::chrono::seconds within) {
  auto deadline = Clock::now() + within;
  while (Clock::now() < deadline) {
    if (countReady(c, "paas.kubeop.io/v1alpha1", kind) >= want) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  int apps = argc > 1 ? std::atoi(argv[1]) : 1000;
  int tenants = argc > 2 ? std::atoi(argv[2]) : 100;
  int resyncSeconds = argc > 3 ? std::atoi(argv[3]) : 20;
  int idleSeconds = argc > 4 ? std::atoi(argv[4]) : 60;
  tenants = std::max(1, std::min(tenants, apps));
  log::setLevel(log::Level::kError);

  char tmpl[] = "/tmp/kubeop-bench-operator-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  std::string dir = tmpl, kubeconfig = dir + "/kubeconfig";
  std::string bin = kubeop::test::kubeopBinary();
  kubeop::test::Child sandbox({bin, "sandbox", "--listen", "127.0.0.1:0", "--kubeconfig-out", kubeconfig,
                               "--rollout-delay", "100ms", "--watch-window", "200000", "--threads", "4"});
  if (sandbox.readUntil("kubeconfig:", 30s).find("kubeconfig:") == std::string::npos) {
    std::fprintf(stderr, "the sandbox did not start\n");
    return 1;
  }
  kube::LoadOptions lo;
  lo.kubeconfigPath = kubeconfig;
  auto rest = kube::loadRestConfig(lo);
  kube::ClientConfig cc;
  cc.qps = 0;
  cc.burst = 0;
  auto client = kube::Client::create(std::move(rest).value(), cc);
  if (!client.ok()) return 1;
  kube::Client& c = **client;

  // KUBEOP_BENCH_OPERATOR_WRAP="/usr/bin/heaptrack -o /tmp/op" runs the operator under a profiler
  // (then the RSS printed is the wrapper's, not the operator's).
  std::vector<std::string> opArgs;
  if (const char* wrap = std::getenv("KUBEOP_BENCH_OPERATOR_WRAP"); wrap && *wrap) {
    std::istringstream words(wrap);
    for (std::string w; words >> w;) opArgs.push_back(w);
  }
  for (std::string a : {bin, std::string("operator"), std::string("--kubeconfig"), kubeconfig,
                        std::string("--plugin-path"), kubeop::test::pluginDir(), std::string("--metrics-bind-address"),
                        std::string("127.0.0.1:0"), std::string("--health-probe-bind-address"),
                        std::string("127.0.0.1:0"), std::string("--resync-period"),
                        std::to_string(resyncSeconds) + "s"}) {
    opArgs.push_back(std::move(a));
  }
  kubeop::test::Child op(opArgs);
  std::string banner = op.readUntil("ready:", 60s);
  if (banner.find("ready:") == std::string::npos) {
    std::fprintf(stderr, "the operator did not start\n");
    return 1;
  }
  uint16_t metricsPort = 0;
  if (auto p = banner.find("metrics: http://127.0.0.1:"); p != std::string::npos) {
    metricsPort = static_cast<uint16_t>(std::atoi(banner.c_str() + p + std::strlen("metrics: http://127.0.0.1:")));
  }
  ProcStats idle0 = procStats(op.pid());

  // Tenants, one project each.
  std::vector<std::string> setup;
  for (int t = 0; t < tenants; ++t) {
    std::string name = "t" + std::to_string(t);
    setup.push_back(R"({"apiVersion":"paas.kubeop.io/v1alpha1","kind":"Tenant","metadata":{"name":")" + name +
                    R"("},"spec":{"name":")" + name + R"("}})");
    setup.push_back(R"({"apiVersion":"paas.kubeop.io/v1alpha1","kind":"Project","metadata":{"name":")" + name +
                    R"(-p"},"spec":{"tenantRef":")" + name + R"(","name":"p"}})");
  }
  createAll(c, setup, 8);
  if (!waitReady(c, "Project", static_cast<size_t>(tenants), 300s)) {
    std::fprintf(stderr, "projects did not become ready\n");
    return 1;
  }
  ProcStats before = procStats(op.pid());
  ProcStats sandboxBefore = procStats(sandbox.pid());

  std::vector<std::string> appObjs;
  for (int i = 0; i < apps; ++i) {
    std::string ns = "kubeop-t" + std::to_string(i % tenants) + "-p";
    std::string name = "app" + std::to_string(i);
    std::string manifests =
        "apiVersion: v1\\nkind: ConfigMap\\nmetadata: {name: " + name +
        "-cfg}\\ndata: {k: v}\\n---\\napiVersion: apps/v1\\nkind: Deployment\\nmetadata: {name: " + name +
        "}\\nspec:\\n  replicas: 2\\n  selector: {matchLabels: {app: " + name +
        "}}\\n  template:\\n    metadata: {labels: {app: " + name +
        "}}\\n    spec:\\n      containers: [{name: app, image: nginx:1.25}]\\n";
    appObjs.push_back(R"({"apiVersion":"paas.kubeop.io/v1alpha1","kind":"App","metadata":{"name":")" + name +
                      R"(","namespace":")" + ns + R"("},"spec":{"type":"Raw","rawManifests":")" + manifests + R"("}})");
  }
  auto start = Clock::now();
  createAll(c, appObjs, 8);
  auto created = Clock::now();
  bool ok = waitReady(c, "App", static_cast<size_t>(apps), std::chrono::seconds(600 + apps / 10));
  auto done = Clock::now();
  ProcStats after = procStats(op.pid());
  ProcStats sandboxAfter = procStats(sandbox.pid());
  double total = std::chrono::duration<double>(done - start).count();
  double createSecs = std::chrono::duration<double>(created - start).count();
  std::printf("apps=%d tenants=%d: %s in %.2f s (creates took %.2f s)\n", apps, tenants,
              ok ? "all Ready" : "NOT all Ready", total, createSecs);
  std::printf("operator: RSS %ld KiB (peak %ld KiB; %ld KiB before the apps, %ld KiB idle at start), CPU %.2f s "
              "during the run\n",
              after.rssKiB, after.hwmKiB, before.rssKiB, idle0.rssKiB, after.cpuSeconds - before.cpuSeconds);
  std::printf("sandbox (the cluster): CPU %.2f s during the run, RSS %ld KiB\n",
              sandboxAfter.cpuSeconds - sandboxBefore.cpuSeconds, sandboxAfter.rssKiB);
  if (apps > 0) {
    std::printf("operator: %.2f KiB RSS per app above the pre-app baseline\n",
                static_cast<double>(after.rssKiB - before.rssKiB) / apps);
  }
  // What the passes were: outcomes and queue retries (from the operator's /metrics).
  if (metricsPort != 0) {
    std::istringstream lines(kubeop::test::httpRequest(metricsPort, "GET", "/metrics").body);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("kubeop_reconcile_total{", 0) == 0 || line.rfind("kubeop_workqueue_retries_total{", 0) == 0 ||
          line.rfind("kubeop_reconcile_duration_seconds_sum", 0) == 0 ||
          line.rfind("kubeop_reconcile_duration_seconds_count", 0) == 0) {
        std::printf("  %s\n", line.c_str());
      }
    }
  }

  // Idle: converged apps, only resyncs.
  if (idleSeconds > 0) {
    std::this_thread::sleep_for(std::chrono::seconds(std::min(5, idleSeconds)));
    ProcStats i0 = procStats(op.pid());
    std::this_thread::sleep_for(std::chrono::seconds(idleSeconds));
    ProcStats i1 = procStats(op.pid());
    double cpu = i1.cpuSeconds - i0.cpuSeconds;
    double resyncs = static_cast<double>(idleSeconds) / resyncSeconds;
    double perResync = resyncs > 0 ? cpu / resyncs : cpu;
    std::printf("idle %d s with resync every %d s: CPU %.2f s (%.2f s per resync of %d apps) → at the default 10 m "
                "resync: %.3f %% of one core\n",
                idleSeconds, resyncSeconds, cpu, perResync, apps, perResync / 600.0 * 100.0);
    std::printf("operator: RSS %ld KiB after idling\n", i1.rssKiB);
  }
  op.stop(SIGTERM, 30s);

  // A restart over converged Apps: the new operator lists everything, passes over every App once
  // (nothing to apply) and settles. Its RSS then, and its peak on the way.
  if (ok && std::getenv("KUBEOP_BENCH_NO_RESTART") == nullptr) {
    auto t0 = Clock::now();
    kubeop::test::Child again(opArgs);
    if (again.readUntil("ready:", 120s).find("ready:") != std::string::npos) {
      double synced = std::chrono::duration<double>(Clock::now() - t0).count();
      // Settled: CPU stops moving (every App's pass done).
      ProcStats prev = procStats(again.pid());
      for (int i = 0; i < 600; ++i) {
        std::this_thread::sleep_for(1s);
        ProcStats now = procStats(again.pid());
        if (now.cpuSeconds - prev.cpuSeconds < 0.05) break;
        prev = now;
      }
      ProcStats settled = procStats(again.pid());
      std::printf("restart over %d converged apps: caches synced in %.2f s, settled after %.1f s; RSS %ld KiB "
                  "(peak %ld KiB), CPU %.2f s\n",
                  apps, synced, std::chrono::duration<double>(Clock::now() - t0).count(), settled.rssKiB,
                  settled.hwmKiB, settled.cpuSeconds);
      // The operator gives freed heap pages back every 15 s.
      std::this_thread::sleep_for(20s);
      std::printf("restart: RSS %ld KiB 20 s later\n", procStats(again.pid()).rssKiB);
    }
    again.stop(SIGTERM, 30s);
  }
  sandbox.stop(SIGTERM, 30s);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return ok ? 0 : 1;
}
