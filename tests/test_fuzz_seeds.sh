#!/usr/bin/env bash
# Regression run of the fuzz targets (fuzz/fuzz_<name>.c) without libFuzzer: each target's
# committed seeds (fuzz/seeds/<name>/, from scripts/fuzz_seeds.py, plus inputs that once
# crashed) and, for the loader, the clang-built test objects, replayed through the target's
# LLVMFuzzerTestOneInput (build*/fuzz/replay_<name>, normal and sanitizer trees). One line per
# target; a seed that crashes or trips a target's own check fails it.
set -u
root=${XDPVM_ROOT:-.}
tree=build
[ "${XDPVM_SANITIZED:-0}" = 1 ] && tree=build-san
objs=${XDPVM_BPF_DIR:-build/bpf}/tests/bpf

for src in "$root"/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c); name=${name#fuzz_}
  replay="$root/$tree/fuzz/replay_$name"
  if [ ! -x "$replay" ]; then
    echo "FAIL fuzz_seeds_$name: $replay is not built (make tests / make san)"
    continue
  fi
  seeds=()
  [ -d "$root/fuzz/seeds/$name" ] && seeds+=("$root"/fuzz/seeds/"$name"/*)
  [ "$name" = loader ] && seeds+=("$objs"/*.o)
  if [ ${#seeds[@]} -eq 0 ]; then
    echo "FAIL fuzz_seeds_$name: no seeds in fuzz/seeds/$name"
    continue
  fi
  bad=""
  for seed in "${seeds[@]}"; do
    [ -f "$seed" ] || continue
    if ! out=$(timeout 60 "$replay" "$seed" 2>&1); then
      bad="$(basename "$seed"): $(printf '%s' "$out" | grep -m1 -E 'ERROR|runtime error|trap|SEGV' || printf '%s' "$out" | tail -1)"
      break
    fi
  done
  if [ -z "$bad" ]; then
    echo "PASS fuzz_seeds_$name (${#seeds[@]} inputs)"
  else
    echo "FAIL fuzz_seeds_$name: $bad"
  fi
done
