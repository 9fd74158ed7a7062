// Load driver for `kubeop sandbox` (issue 3 benchmarks). Runs the sandbox in this process on a
// loopback port and drives it over HTTPS with kubeop's HTTP client, as a cluster client would.
//   build/bench/kubeop_bench_sandbox [objects=5000] [threads=4] [apply]
// ("apply": only the server-side apply phase, e.g. under perf.)
// Prints: server-side apply throughput, watch delivery latency with 10 watchers (p50/p99), and
// the store's memory per stored object.
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kubeop/core/object.h"
#include "kubeop/http/client.h"
#include "kubeop/log/log.h"
#include "kubeop/sandbox/store.h"
#include "sandbox_runner.h"

using namespace kubeop;
using Clock = std::chrono::steady_clock;

namespace {

int64_t nowNs() { return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count(); }

std::string applyBody(const std::string& name, int64_t stamp) {
  return "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"" + name +
         "\",\"annotations\":{\"bench/sent\":\"" + std::to_string(stamp) + "\"},\"labels\":{\"app\":\"bench\"}},"
         "\"data\":{\"mode\":\"0755\",\"greeting\":\"hello\"}}";
}

}  // namespace

int main(int argc, char** argv) {
  int objects = argc > 1 ? std::atoi(argv[1]) : 5000;
  int threads = argc > 2 ? std::atoi(argv[2]) : 4;
  log::setLevel(log::Level::kError);
  cmd::SandboxConfig sc;
  sc.threads = 2;
  auto sb = cmd::EmbeddedSandbox::start(sc);
  if (!sb.ok()) {
    std::fprintf(stderr, "sandbox: %s\n", sb.status().message().c_str());
    return 1;
  }
  http::ClientOptions co;
  co.tls.caPem = (*sb)->caPem();
  co.maxIdleConnectionsPerHost = static_cast<size_t>(threads) + 12;
  co.ioThreads = 2;
  auto client = http::Client::create(co);
  if (!client.ok()) {
    std::fprintf(stderr, "client: %s\n", client.status().message().c_str());
    return 1;
  }
  http::HeaderList auth{{"Authorization", "Bearer " + (*sb)->token()}};
  std::string base = (*sb)->url();

  // --- 1. server-side apply throughput ---
  std::atomic<int> next{0}, failures{0};
  auto t0 = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&] {
      http::HeaderList h = auth;
      h.push_back({"Content-Type", "application/apply-patch+yaml"});
      for (int i = next++; i < objects; i = next++) {
        std::string name = "cm-" + std::to_string(i);
        auto r = (*client)->request("PATCH", base + "/api/v1/namespaces/default/configmaps/" + name +
                                                 "?fieldManager=bench&force=true", h, applyBody(name, 0));
        if (!r.ok() || (r->status != 200 && r->status != 201)) ++failures;
      }
    });
  }
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("server-side apply: %d objects in %.2f s = %.0f objects/s (%d threads, %d failures)\n", objects, secs,
              objects / secs, threads, failures.load());
  if (argc > 3 && std::string(argv[3]) == "apply") {
    (*sb)->stop().ignoreError();
    return 0;
  }

  // --- 2. watch delivery latency, 10 watchers ---
  const int watchers = 10, events = 2000;
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<int> ready{0};
  http::CancelToken cancel;
  std::vector<std::thread> ws;
  for (int w = 0; w < watchers; ++w) {
    ws.emplace_back([&] {
      std::string buf;
      bool counted = false;
      Status ended = (*client)->stream("GET", base + "/api/v1/namespaces/bench/configmaps?watch=true&resourceVersion=0", auth, "",
                        [&](std::string_view data) {
                          if (!counted) {
                            counted = true;
                            ++ready;
                          }
                          buf.append(data);
                          size_t nl;
                          while ((nl = buf.find('\n')) != std::string::npos) {
                            std::string line = buf.substr(0, nl);
                            buf.erase(0, nl + 1);
                            auto p = line.find("bench/sent\":\"");
                            if (p == std::string::npos) continue;
                            int64_t sent = std::stoll(line.substr(p + 13));
                            std::lock_guard lk(mu);
                            latencies.push_back(static_cast<double>(nowNs() - sent) / 1e6);
                          }
                          return Status::ok();
                        },
                        &cancel);
      ended.ignoreError();  // cancelled at the end of the measurement
    });
  }
  {
    http::HeaderList h = auth;
    h.push_back({"Content-Type", "application/json"});
    (*client)->request("POST", base + "/api/v1/namespaces", h, "{\"metadata\":{\"name\":\"bench\"}}").status().ignoreError();
    // A first object so every watcher has seen bytes before timing starts.
    (*client)->request("POST", base + "/api/v1/namespaces/bench/configmaps", h, applyBody("warmup", nowNs()))
        .status()
        .ignoreError();
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (ready < watchers && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    {
      std::lock_guard lk(mu);
      latencies.clear();
    }
    for (int i = 0; i < events; ++i) {
      (*client)->request("POST", base + "/api/v1/namespaces/bench/configmaps", h,
                         applyBody("w-" + std::to_string(i), nowNs()))
          .status()
          .ignoreError();
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      {
        std::lock_guard lk(mu);
        if (latencies.size() >= static_cast<size_t>(events * watchers)) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  cancel.cancel();
  for (auto& t : ws) t.join();
  {
    std::lock_guard lk(mu);
    std::sort(latencies.begin(), latencies.end());
    auto pct = [&](double p) { return latencies.empty() ? 0.0 : latencies[static_cast<size_t>(p * (latencies.size() - 1))]; };
    std::printf("watch delivery: %zu events to %d watchers, latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                latencies.size(), watchers, pct(0.5), pct(0.99), latencies.empty() ? 0.0 : latencies.back());
  }
  (*sb)->stop().ignoreError();
  client->reset();

  // --- 3. memory per stored object (the store alone) ---
  {
    auto reg = std::make_shared<sandbox::ResourceRegistry>();
    auto store = std::make_shared<sandbox::Store>(reg);
    Object ns;
    ns.setApiVersion("v1");
    ns.setKind("Namespace");
    ns.setName("mem");
    store->create({"", "namespaces"}, "", std::move(ns)).status().ignoreError();
    malloc_trim(0);
    size_t before = mallinfo2().uordblks;
    const int n = 100000;
    for (int i = 0; i < n; ++i) {
      auto o = Object::fromJson(applyBody("m-" + std::to_string(i), 0));
      store->create({"", "configmaps"}, "mem", std::move(o).value()).status().ignoreError();
    }
    size_t after = mallinfo2().uordblks;
    std::printf("store memory: %.0f bytes per ConfigMap (%d objects, %zu bytes of JSON each, history window 10000)\n",
                static_cast<double>(after - before) / n, n, applyBody("m-00000", 0).size());
  }
  return 0;
}
