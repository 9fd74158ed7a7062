#!/usr/bin/env bash
# wrk_healthz.sh URL — load-tests GET URL/healthz with keep-alive:
#   wrk -t2 -c64 -d10s URL/healthz
#
# Against the bench server (standard endpoints only):
#   cmake --build build --target kubeop_bench_http_server
#   build/bench/http/kubeop_bench_http_server 18080 &      # prints "listening on http://127.0.0.1:18080"
#   bench/wrk_healthz.sh http://127.0.0.1:18080
#   kill -TERM %1
#
# Against a running operator: `kubeop up` prints the address of its HTTP endpoint at start
# (the same /healthz, /readyz, /version and /metrics); pass that base URL:
#   bench/wrk_healthz.sh http://127.0.0.1:<port printed by kubeop up>
#
# Overrides: WRK_THREADS (2), WRK_CONNECTIONS (64), WRK_DURATION (10s). On a 2-core machine wrk
# and the server share the cores, so the number is a floor, not the server's ceiling.
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 BASE_URL   (e.g. http://127.0.0.1:18080)" >&2
  exit 2
fi
if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk is not installed (apt-get install wrk)" >&2
  exit 1
fi

base="${1%/}"
threads="${WRK_THREADS:-2}"
connections="${WRK_CONNECTIONS:-64}"
duration="${WRK_DURATION:-10s}"

# Fail fast (and clearly) when nothing answers.
if command -v curl >/dev/null 2>&1; then
  curl -fsS --max-time 5 "${base}/healthz" >/dev/null || { echo "no answer from ${base}/healthz" >&2; exit 1; }
fi

echo "wrk -t${threads} -c${connections} -d${duration} ${base}/healthz"
wrk -t"${threads}" -c"${connections}" -d"${duration}" "${base}/healthz"
