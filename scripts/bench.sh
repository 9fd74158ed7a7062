#!/usr/bin/env bash
# Runs every benchmark and prints the results that go into docs/benchmarks.md.
# usage: scripts/bench.sh [build dir]
set -euo pipefail
build=${1:-build}
"$build/bench/kubeop_bench_yaml" --benchmark_min_time=2
"$build/bench/kubeop_bench_plugin_render" --benchmark_min_time=2
if [[ -x "$build/bench/kubeop_bench_http_server" ]]; then
  bench/wrk_healthz.sh "$build"
fi
