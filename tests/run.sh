#!/usr/bin/env bash
# Runs every test binary (build/tests/test_*) and shell test (tests/test_*.sh), first in the
# optimised tree, then in the ASan+UBSan tree (unless XDPVM_NO_SAN=1), and counts the
# PASS/FAIL/SKIP lines they print. A binary that dies without reporting is a failure.
# Ends with "N passed, N failed, N skipped"; exits non-zero when anything failed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export XDPVM_ROOT="$root" XDPVM_BPF_DIR="$root/build/bpf"
export XDPVM_SHARED="${XDPVM_SHARED:-$root/../shared}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
filter="${1:-}"
log_dir="$root/build/test-logs"
mkdir -p "$log_dir"
passed=0 failed=0 skipped=0
trees=(build)
[ "${XDPVM_NO_SAN:-0}" = 1 ] || trees+=(build-san)

run_one() { # tree name command...
  local tree=$1 name=$2; shift 2
  local log="$log_dir/$tree-$name.log"
  local start=$SECONDS
  timeout --kill-after=10 "${XDPVM_TEST_TIMEOUT:-600}" "$@" >"$log" 2>"$log.err"
  local rc=$?
  local p f s
  p=$(grep -c '^PASS ' "$log"); f=$(grep -c '^FAIL ' "$log"); s=$(grep -c '^SKIP ' "$log")
  grep -E '^(FAIL|SKIP) ' "$log" | sed "s|^|  [$tree] |"
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "  [$tree] FAIL $name: exited with status $rc without reporting a failure (stderr: $log.err)"
    tail -5 "$log.err" | sed 's/^/      /'
    f=1
  fi
  printf '%-10s %-36s %4d passed %3d failed %3d skipped  %3ds\n' "$tree" "$name" "$p" "$f" "$s" $((SECONDS - start))
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

for tree in "${trees[@]}"; do
  if [ "$tree" = build-san ]; then export XDPVM_SANITIZED=1; else unset XDPVM_SANITIZED; fi
  export XDPVM_BIN="$root/$tree/bin/xdpvm"
  for bin in "$tree"/tests/test_*; do
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    run_one "$tree" "$name" "$bin"
  done
  for script in tests/test_*.sh; do
    [ -f "$script" ] || continue
    name=$(basename "$script" .sh)
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    run_one "$tree" "$name" bash "$script"
  done
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
