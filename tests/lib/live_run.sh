# xdpvm run --dev in the background, for the live tests (after tests/lib/netns.sh).
#   run_start NS OUT_PREFIX xdpvm-run-arguments...   starts it, waits until it forwards
#   run_stop                                         SIGINT; sets RUN_RC and RUN_STOP_MS
run_start() {
  local ns=$1 prefix=$2; shift 2
  RUN_OUT="$prefix.out" RUN_ERR="$prefix.err"
  # ip directly, not through a shell function: $! must be xdpvm itself (signals).
  ip netns exec "$LIVE_ID-$ns" "$XDPVM" run "$@" >"$RUN_OUT" 2>"$RUN_ERR" &
  RUN_PID=$!
  LIVE_PIDS+=("$RUN_PID")
  local i
  for i in $(seq 1 100); do
    grep -q "Ctrl-C stops" "$RUN_ERR" 2>/dev/null && return 0
    kill -0 "$RUN_PID" 2>/dev/null || { wait "$RUN_PID"; RUN_RC=$?; return 1; }
    sleep 0.05
  done
  return 1
}
run_stop() {
  local t0 t1
  t0=$(date +%s%N)
  kill -INT "$RUN_PID" 2>/dev/null
  wait "$RUN_PID"
  RUN_RC=$?
  t1=$(date +%s%N)
  RUN_STOP_MS=$(( (t1 - t0) / 1000000 ))
}
