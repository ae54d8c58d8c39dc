#!/usr/bin/env bash
# Runs every benchmark binary (build/bench/bench_*) from the repository root. Each prints its
# own table; ratios compare against baselines measured in the same run.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export XDPVM_ROOT="$root" XDPVM_BPF_DIR="$root/build/bpf"
status=0
for bin in build/bench/bench_*; do
  [ -x "$bin" ] || continue
  echo "== $(basename "$bin")"
  "$bin" "$@" || status=1
done
exit $status
