#!/usr/bin/env bash
# `npm run test:cluster`: the tap suite in test/cluster/ against a real local control plane (see README, "Run it on
# a real control plane"). Builds the hook and, when the cache lacks them, the control-plane binaries; starts a
# fresh cluster; runs the tests one file at a time; always stops the cluster. Ends with the closing line of
# scripts/run-tap.sh ("N passed, N failed, N skipped"). Without Go it skips, saying so, and prints 0 passed.
set -uo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null; then
  echo "test:cluster skipped: Go is not installed (needed to build kube-apiserver, Metacontroller and DittoFS)"
  echo "0 passed, 0 failed, 1 skipped"
  exit 0
fi
npm run -s build || exit 1
t0=$(date +%s)
bash scripts/cluster-build.sh >/dev/null || exit 1
echo "[test:cluster] binaries ready in $(( $(date +%s) - t0 )) s"
node dist/test/cluster/down.js >/dev/null 2>&1 || true
node dist/test/cluster/up.js || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
trap 'node dist/test/cluster/down.js' EXIT
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(test/cluster/*.cluster.ts)
# One file at a time: the files share one cluster and some restart its components.
bash scripts/run-tap.sh --disable-coverage --jobs=1 --timeout=1800 "${files[@]}"
