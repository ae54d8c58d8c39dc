#!/usr/bin/env bash
# The live data path and the host stack and kernel (topology: tests/lib/live_topo.sh):
# - a program returning XDP_PASS: packets reach the TAP device xv-pa unchanged, and the stack
#   behind it answers (a TCP exchange through XDP_PASS and the TAP);
# - the router attached in the kernel (xdpvm attach, native mode) on the same veth: the same
#   output bytes as the user-space path (run here first, AF_XDP);
# - SIGINT while traffic flows: exit within 1 s, status 0, every frame accounted for;
# - clear errors.
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/live_run.sh"
cases=(live_pass_tap live_pass_stack_replies live_kernel_attach_same_bytes live_sigint_clean_exit live_errors)
live_require "${cases[@]}" || exit 0
. "$(dirname "$0")/lib/live_topo.sh"

router_case afxdp >/dev/null   # the user-space output the kernel's must equal (reported by test_live_router)

# XDP_PASS: the counter example passes everything; the frames appear on xv-pa.
LIVE_CASE=live_pass_tap
if run_start r "$LIVE_TMP/pass" "$BPF_DIR/examples/counter.o" --dev ${PA_IF} --json; then
  cap="$LIVE_TMP/pass.pcapng"
  if capture_start r xv-${PA_IF} "$cap"; then
    nsx a "$XDPVM" gen --dev ${VA_IF} --in "$IN" --count 40 >/dev/null 2>&1
    sleep 0.5
    capture_stop "$CAPTURE_PID"
    run_stop
    if [ "$RUN_RC" = 0 ] && [ "$($PY dump "$IN")" = "$($PY dump "$cap" --smac "$VA")" ] &&
       [ "$(json_field "$RUN_OUT" pass)" = 40 ] && grep -q "\"tap\":\"xv-${PA_IF}\"" "$RUN_OUT"; then
      pass live_pass_tap
    else
      fail live_pass_tap "rc $RUN_RC, $($PY dump "$cap" --smac "$VA" | grep -c .) of 40 packets on xv-${PA_IF}: $(head -c 400 "$RUN_OUT")"
    fi
  else
    run_stop; fail live_pass_tap "cannot capture on xv-${PA_IF}"
  fi
else
  fail live_pass_tap "xdpvm run did not start: $(tail -3 "$RUN_ERR")"
fi

# The stack behind the TAP answers: a talks TCP to an address on xv-pa; its frames go up
# through XDP_PASS, the stack's (ARP, SYN-ACK, data) come back down the TAP and out of pa.
LIVE_CASE=live_pass_stack_replies
if run_start r "$LIVE_TMP/stack" "$BPF_DIR/examples/counter.o" --dev ${PA_IF} --json; then
  ip -n "$NS_r" addr add 10.1.0.1/24 dev xv-${PA_IF}
  ip -n "$NS_a" addr add 10.1.0.2/24 dev ${VA_IF}
  no_tx_csum a ${VA_IF}
  # A TCP exchange (ARP, handshake, data): a listener behind the TAP, a client in a.
  nsx r timeout 8 python3 -c "import socket; s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('10.1.0.1', 7777)); s.listen(); c, _ = s.accept(); c.sendall(b'hello via tap'); c.close()" &
  LIVE_PIDS+=($!)
  sleep 0.3
  ping_out=$(nsx a timeout 8 python3 -c "import socket; s = socket.create_connection(('10.1.0.1', 7777), timeout=5); print(s.recv(64).decode())" 2>&1)
  [ "$ping_out" = "hello via tap" ]
  ping_rc=$?
  run_stop
  ip -n "$NS_a" addr del 10.1.0.2/24 dev ${VA_IF}
  if [ $ping_rc = 0 ] && [ "$RUN_RC" = 0 ] && grep -q '"from_stack":[1-9]' "$RUN_OUT"; then
    pass live_pass_stack_replies
  else
    fail live_pass_stack_replies "TCP exchange rc $ping_rc ($(echo "$ping_out" | tail -2 | tr '\n' ' ')), run rc $RUN_RC: $(head -c 400 "$RUN_OUT")"
  fi
else
  fail live_pass_stack_replies "xdpvm run did not start: $(tail -3 "$RUN_ERR")"
fi

# Kernel mode: the same object attached on pa; the same bytes must reach b. A native-mode
# redirect into a veth needs XDP on the receiving end of the peer, hence XDP_PASS on vb.
LIVE_CASE=live_kernel_attach_same_bytes
kx() { nsenter --net="/var/run/netns/$LIVE_ID-$1" "${@:2}"; }
if [ ! -f "$LIVE_TMP/router-userspace.pcapng" ]; then
  fail live_kernel_attach_same_bytes "no user-space capture to compare with (router case failed)"
elif ! out=$(kx r "$XDPVM" attach "$BPF_DIR/examples/router.o" --dev ${PA_IF} --mode native 2>&1); then
  fail live_kernel_attach_same_bytes "attach failed: $out"
else
  sink=$(kx b "$XDPVM" attach "$BPF_DIR/examples/counter.o" --dev ${VB_IF} 2>&1)
  # The same map contents as the user-space run, through xdpvm map on the pins (in r's
  # namespace: a devmap value is an ifindex there).
  kx r "$XDPVM" map update --dev ${PA_IF} --map next_hops --key 0a020002 --value "$HOP"
  kx r "$XDPVM" map update --dev ${PA_IF} --map tx_ports --key "$(le32 "$IPB")" --value "$(le32 "$IPB")"
  cap="$LIVE_TMP/router-kernel.pcapng"
  if capture_start b ${VB_IF} "$cap"; then
    nsx a "$XDPVM" gen --dev ${VA_IF} --in "$IN" --count 40 >/dev/null 2>&1
    sleep 0.5
    capture_stop "$CAPTURE_PID"
  fi
  status=$(kx r "$XDPVM" status --dev ${PA_IF} --json 2>&1)
  hops=$(kx r "$XDPVM" map dump --dev ${PA_IF} --map next_hops 2>&1)
  kx r "$XDPVM" detach --dev ${PA_IF} >/dev/null 2>&1
  # Detached: no program on pa, no pins left.
  detached=yes
  ip -n "$NS_r" link show ${PA_IF} | grep -q 'prog/xdp' && detached="no: program still on ${PA_IF}"
  [ -e /sys/fs/bpf/xdpvm/${PA_IF} ] && detached="no: pins left in /sys/fs/bpf/xdpvm/${PA_IF}"
  kx b "$XDPVM" detach --dev ${VB_IF} >/dev/null 2>&1
  user=$($PY dump "$LIVE_TMP/router-userspace.pcapng" --smac "$PB")
  kern=$($PY dump "$cap" --smac "$PB")
  if [ -n "$kern" ] && [ "$user" = "$kern" ] && [[ "$status" == *'"drop":10,'*'"redirect":30'* ]] &&
     [[ "$hops" == *"key: 0a 02 00 02"*"Found 1 element"* ]] && [ "$detached" = yes ]; then
    pass live_kernel_attach_same_bytes
  else
    fail live_kernel_attach_same_bytes "kernel sent $(echo "$kern" | grep -c .) packets, user space $(echo "$user" | grep -c .); equal: $([ "$user" = "$kern" ] && echo yes || echo no); status: $status; map dump: $hops; detached: $detached; sink attach: $sink"
  fi
fi

# SIGINT while traffic flows: stops within a second, every frame accounted for, no leak
# (ASan's leak check fails the exit status in the sanitizer tree).
LIVE_CASE=live_sigint_clean_exit
if run_start r "$LIVE_TMP/sigint" "$BPF_DIR/examples/router.o" --dev ${PA_IF},${PB_IF} --json --quiet "${ROUTER_MAPS[@]}"; then
  nsx a timeout 10 "$XDPVM" gen --dev ${VA_IF} --in "$IN" --duration 3 --rate 20000 >/dev/null 2>&1 &
  GEN=$!; LIVE_PIDS+=("$GEN")
  sleep 1
  run_stop
  wait "$GEN"
  received=$(json_field "$RUN_OUT" received)
  if [ "$RUN_RC" = 0 ] && [ "$RUN_STOP_MS" -lt 1000 ] && [ "${received:-0}" -gt 1000 ] &&
     [ "$(grep -o '"accounted":true' "$RUN_OUT" | wc -l)" = 2 ] && grep -q '"in_flight":0' "$RUN_OUT" &&
     ! ip -n "$NS_r" link show ${PA_IF} | grep -q 'prog/xdp' && ! ip -n "$NS_r" link show xv-${PA_IF} >/dev/null 2>&1; then
    pass live_sigint_clean_exit
  else
    fail live_sigint_clean_exit "rc $RUN_RC after ${RUN_STOP_MS} ms, received $received: $(head -c 500 "$RUN_OUT") $(tail -3 "$RUN_ERR")"
  fi
else
  fail live_sigint_clean_exit "xdpvm run did not start: $(tail -3 "$RUN_ERR")"
fi

# Clear errors.
LIVE_CASE=live_errors
e1=$(nsx r "$XDPVM" run "$BPF_DIR/examples/macswap.o" --dev nosuch0 2>&1)
e2=$(nsx r "$XDPVM" run "$BPF_DIR/examples/macswap.o" --dev ${PA_IF} --queues 2 2>&1)
ip -n "$NS_r" link set ${PB_IF} down
e3=$(nsx r "$XDPVM" run "$BPF_DIR/examples/macswap.o" --dev ${PB_IF} 2>&1)
ip -n "$NS_r" link set ${PB_IF} up
ip -n "$NS_r" link set ${PA_IF} mtu 9000
e4=$(nsx r "$XDPVM" run "$BPF_DIR/examples/macswap.o" --dev ${PA_IF} 2>&1)
ip -n "$NS_r" link set ${PA_IF} mtu 1500
if [[ "$e1" == *"'nosuch0' does not exist"* && "$e2" == *"queue count mismatch"* &&
      "$e3" == *"'${PB_IF}' is down"* && "$e4" == *"MTU 9000"* ]]; then
  pass live_errors
else
  fail live_errors "messages: [$e1] [$e2] [$e3] [$e4]"
fi
