// YAML → objects throughput on a manifest stream of ~1 MiB in 500 documents.
//   build/bench/kubeop_bench_yaml --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <string>

#include "kubeop/core/yaml.h"

namespace {

std::string makeStream(size_t docs) {
  std::string s;
  for (size_t i = 0; i < docs; ++i) {
    s += "# deployment " + std::to_string(i) + "\n---\n";
    s += "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-" + std::to_string(i) +
         "\n  labels:\n    app: web\n    tier: \"frontend\"\n  annotations:\n    note: |\n      multi\n      line\n"
         "spec:\n  replicas: 3\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n"
         "      labels: {app: web}\n    spec:\n      containers:\n";
    for (int c = 0; c < 4; ++c) {
      s += "      - name: c" + std::to_string(c) + "\n        image: registry.example.com/team/app:1." +
           std::to_string(c) + "\n        ports:\n        - containerPort: 8080\n          protocol: TCP\n"
           "        env:\n        - name: MODE\n          value: \"0755\"\n        - name: ENABLED\n"
           "          value: \"true\"\n        resources:\n          requests: {cpu: 100m, memory: 64Mi}\n"
           "          limits: {cpu: 500m, memory: 256Mi}\n        readinessProbe:\n          httpGet: {path: "
           "/healthz, port: 8080}\n          periodSeconds: 10\n";
    }
  }
  return s;
}

void BM_YamlStreamToObjects(benchmark::State& state) {
  static const std::string stream = makeStream(500);
  for (auto _ : state) {
    auto docs = kubeop::yaml::parseStream(stream);
    if (!docs.ok() || docs->size() != 500) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(docs);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(stream.size()));
  state.counters["input_MiB"] = static_cast<double>(stream.size()) / (1024.0 * 1024.0);
  state.counters["docs"] = 500;
}
BENCHMARK(BM_YamlStreamToObjects)->Unit(benchmark::kMillisecond);

void BM_ObjectsToYaml(benchmark::State& state) {
  static const std::string stream = makeStream(500);
  auto docs = kubeop::yaml::parseStream(stream);
  size_t bytes = 0;
  for (auto _ : state) {
    bytes = 0;
    for (const auto& d : *docs) {
      std::string y = kubeop::yaml::toYaml(d.doc);
      bytes += y.size();
      benchmark::DoNotOptimize(y);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_ObjectsToYaml)->Unit(benchmark::kMillisecond);

}  // namespace
