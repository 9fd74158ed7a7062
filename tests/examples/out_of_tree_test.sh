#!/usr/bin/env bash
# usage: out_of_tree_test.sh <build dir> <source dir> <kubeop binary>
set -euo pipefail
build=$1 src=$2 kubeop=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/kubeop/plugin_sdk.h" || fail "SDK header not installed"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$src/examples/hello-delivery" -B "$work/hello" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
  "${launcher[@]}" >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configure"; }
cmake --build "$work/hello" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "build"; }
so="$work/hello/libkubeop-hello-delivery.so"
test -f "$so" || fail "plugin not built"

out=$("$kubeop" plugins --plugin-path "$build/plugins:$work/hello")
echo "$out"
grep -q '^hello-delivery *1.0.0 *delivery *1.0 *Hello' <<<"$out" || fail "kubeop plugins does not list hello-delivery"
grep -q '^delivery-raw' <<<"$out" || fail "in-tree plugins missing"

rendered=$("$kubeop" render -f "$src/examples/hello-delivery/app.yaml" --plugin-path "$build/plugins:$work/hello")
echo "$rendered"
grep -q 'greeting: good morning' <<<"$rendered" || fail "render did not use the plugin"
grep -q 'name: hello-greeter' <<<"$rendered" || fail "render output lacks the ConfigMap"

# The host validates the plugin's config against the plugin's schema.
printf 'hello-delivery: {bogus: 1}\n' > "$work/cfg.yaml"
if "$kubeop" plugins --plugin-path "$work/hello" --plugin-config "$work/cfg.yaml" 2>"$work/err"; then
  fail "a config violating the schema was accepted"
fi
grep -q 'additionalProperties' "$work/err" || { cat "$work/err"; fail "schema error not reported"; }
