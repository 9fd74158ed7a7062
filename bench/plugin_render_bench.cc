// One Raw render of a 10-object App: directly (the plugin's own work) and through the ABI
// (the .so loaded by the host: request copy, SDK exception barrier, output copy, output JSON
// validation). The difference is the ABI's share.
//   build/bench/kubeop_bench_plugin_render --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "kubeop/core/json.h"
#include "kubeop/plugin/registry.h"
#include "raw_delivery.h"

namespace {

std::string request() {
  std::string raw;
  for (int i = 0; i < 10; ++i) {
    if (i) raw += "---\n";
    if (i % 2 == 0) {
      raw += "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-" + std::to_string(i) +
             "\ndata:\n  mode: \"0755\"\n  app.properties: |\n    a=1\n    b=2\n";
    } else {
      raw += "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-" + std::to_string(i) +
             "\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: "
             "{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n"
             "        ports: [{containerPort: 80}]\n        resources: {requests: {cpu: 100m, memory: 64Mi}}\n";
    }
  }
  kubeop::json::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  kubeop::json::Value app(rapidjson::kObjectType);
  app.AddMember("apiVersion", "paas.kubeop.io/v1alpha1", a);
  app.AddMember("kind", "App", a);
  kubeop::json::Value meta(rapidjson::kObjectType);
  meta.AddMember("name", "web", a);
  meta.AddMember("namespace", "kubeop-acme-web", a);
  app.AddMember("metadata", meta, a);
  kubeop::json::Value spec(rapidjson::kObjectType);
  spec.AddMember("type", "Raw", a);
  spec.AddMember("rawManifests", kubeop::json::str(raw, a), a);
  app.AddMember("spec", spec, a);
  d.AddMember("app", app, a);
  kubeop::json::Value ctx(rapidjson::kObjectType);
  ctx.AddMember("tenant", "acme", a);
  ctx.AddMember("project", "web", a);
  d.AddMember("context", ctx, a);
  return kubeop::json::write(d);
}

void BM_RawRenderDirect(benchmark::State& state) {
  const std::string req = request();
  kubeop::plugins::raw::RawDelivery p{kubeop::plugins::raw::RawConfig{}};
  for (auto _ : state) {
    auto out = p.render(req);
    if (!out.ok()) state.SkipWithError(out.status().message().c_str());
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_RawRenderDirect)->Unit(benchmark::kMicrosecond);

void BM_RawRenderThroughAbi(benchmark::State& state) {
  const std::string req = request();
  kubeop::plugin::Loader loader(std::make_shared<kubeop::plugin::HostServices>());
  auto p = loader.load(std::string(KUBEOP_BENCH_PLUGIN_DIR) + "/libkubeop-delivery-raw.so");
  if (!p.ok()) {
    state.SkipWithError(p.status().message().c_str());
    return;
  }
  for (auto _ : state) {
    auto out = (*p)->render(req);
    if (!out.ok()) state.SkipWithError(out.status().message().c_str());
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_RawRenderThroughAbi)->Unit(benchmark::kMicrosecond);

// The host's own share in isolation: validating a result document of the size Raw returns.
void BM_AbiOutputValidation(benchmark::State& state) {
  kubeop::plugins::raw::RawDelivery p{kubeop::plugins::raw::RawConfig{}};
  auto out = p.render(request());
  for (auto _ : state) {
    auto d = kubeop::json::parse(*out);
    benchmark::DoNotOptimize(d);
  }
  state.counters["result_bytes"] = static_cast<double>(out->size());
}
BENCHMARK(BM_AbiOutputValidation)->Unit(benchmark::kMicrosecond);

}  // namespace
