#!/usr/bin/env bash
# Installs the Debian packages kubeop needs to build and test — only those that are missing,
# so a prepared machine never calls apt. Usage: scripts/deps.sh [build|bench]
set -euo pipefail
pkgs=(g++ cmake ninja-build pkg-config ccache git
      libboost-dev libyaml-cpp-dev rapidjson-dev libssl-dev libzstd-dev
      libgtest-dev libgmock-dev libbenchmark-dev)
if [[ "${1:-build}" == bench ]]; then pkgs+=(wrk); fi
missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then exit 0; fi
echo "deps: installing ${missing[*]}" >&2
SUDO=""
if [[ $(id -u) != 0 ]]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
