#!/usr/bin/env bash
# The live data path between veth ports in private namespaces (topology: tests/lib/live_topo.sh):
# - router example, AF_XDP and AF_PACKET: packets from a reach b with TTL decremented, MACs from
#   the next-hop map and a valid IPv4 checksum; TTL-expired packets are drops; accounting holds;
#   a next hop that is not one of the ports is a redirect error; XDP_ABORTED is counted;
# - macswap example: packets come back to a with the addresses exchanged, VLAN tags kept.
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/live_run.sh"
cases=(live_router_afxdp live_router_afpacket live_redirect_unknown_target live_aborted live_macswap_afxdp live_macswap_afpacket live_afpacket_vlan_kept)
live_require "${cases[@]}" || exit 0
. "$(dirname "$0")/lib/live_topo.sh"


macswap_case() { # mode
  local mode=$1 name=live_macswap_$1 cap="$LIVE_TMP/macswap-$1.pcapng"
  LIVE_CASE=$name
  capture_start a ${VA_IF} "$cap" || { fail "$name" "dumpcap did not start"; return; }
  if ! run_start r "$LIVE_TMP/macswap-$mode" "$BPF_DIR/examples/macswap.o" --dev ${PA_IF} --mode "$mode" --json; then
    fail "$name" "xdpvm run did not start: $(tail -3 "$RUN_ERR")"; capture_stop "$CAPTURE_PID"; return
  fi
  nsx a "$XDPVM" gen --dev ${VA_IF} --in "$IN" --count 40 >/dev/null 2>&1
  sleep 0.5
  run_stop
  capture_stop "$CAPTURE_PID"
  local expected got
  expected=$($PY dump "$IN" --swap)
  got=$($PY dump "$cap" --smac "$PA")
  if [ "$RUN_RC" = 0 ] && [ "$expected" = "$got" ] && [ "$(json_field "$RUN_OUT" tx)" = 40 ] &&
     grep -q '"accounted":true' "$RUN_OUT"; then
    pass "$name"
  else
    fail "$name" "rc $RUN_RC, $(echo "$got" | grep -c .) of 40 reflected packets as expected: $(head -c 400 "$RUN_OUT")"
  fi
}

router_case afxdp
router_case afpacket
macswap_case afxdp
macswap_case afpacket

# The next hop's port is not one of xdpvm's ports: redirect errors, as in the kernel.
LIVE_CASE=live_redirect_unknown_target
if run_start r "$LIVE_TMP/unknown" "$BPF_DIR/examples/router.o" --dev ${PA_IF} --json --quiet "${ROUTER_MAPS[@]}"; then
  nsx a "$XDPVM" gen --dev ${VA_IF} --in "$IN" --count 40 >/dev/null 2>&1
  sleep 0.4
  run_stop
  if [ "$RUN_RC" = 0 ] && [ "$(json_field "$RUN_OUT" redirect_error)" = 30 ] &&
     [ "$(json_field "$RUN_OUT" drop)" = 10 ] && grep -q '"accounted":true' "$RUN_OUT"; then
    pass live_redirect_unknown_target
  else
    fail live_redirect_unknown_target "rc $RUN_RC: $(head -c 500 "$RUN_OUT")"
  fi
else
  fail live_redirect_unknown_target "xdpvm run did not start: $(tail -3 "$RUN_ERR")"
fi

# XDP_ABORTED: counted, dropped, reported on stderr.
LIVE_CASE=live_aborted
if run_start r "$LIVE_TMP/abort" "$BPF_DIR/tests/bpf/live_abort.o" --dev ${PA_IF} --json; then
  nsx a "$XDPVM" gen --dev ${VA_IF} --in "$IN" --count 40 >/dev/null 2>&1
  sleep 0.4
  run_stop
  if [ "$RUN_RC" = 0 ] && [ "$(json_field "$RUN_OUT" aborted)" = 40 ] && [ "$(json_field "$RUN_OUT" sent)" = 0 ] &&
     grep -q "${PA_IF} queue 0: the program returned XDP_ABORTED" "$RUN_ERR"; then
    pass live_aborted
  else
    fail live_aborted "rc $RUN_RC: $(head -c 400 "$RUN_OUT") $(grep -m1 ABORTED "$RUN_ERR")"
  fi
else
  fail live_aborted "xdpvm run did not start: $(tail -3 "$RUN_ERR")"
fi

# AF_PACKET gets VLAN tags out of band (the kernel strips them before packet sockets); the
# port puts them back, so the program and the wire see the tag.
LIVE_CASE=live_afpacket_vlan_kept
VIN="$LIVE_TMP/vlan.pcap"
$PY make "$VIN" --smac "$VA" --dmac "$PA" --src 10.1.0.2 --dst 10.2.0.2 --count 10 --vlan 42
cap="$LIVE_TMP/vlan.pcapng"
if capture_start a ${VA_IF} "$cap" && run_start r "$LIVE_TMP/vlan" "$BPF_DIR/examples/macswap.o" --dev ${PA_IF} --mode afpacket --json; then
  nsx a "$XDPVM" gen --dev ${VA_IF} --in "$VIN" --count 10 >/dev/null 2>&1
  sleep 0.5
  run_stop
  capture_stop "$CAPTURE_PID"
  if [ "$($PY dump "$VIN" --swap)" = "$($PY dump "$cap" --smac "$PA")" ]; then
    pass live_afpacket_vlan_kept
  else
    fail live_afpacket_vlan_kept "reflected frames differ from the tagged input with MACs swapped: $($PY dump "$cap" --smac "$PA" | head -1)"
  fi
else
  fail live_afpacket_vlan_kept "could not start capture or xdpvm run: $(tail -2 "$RUN_ERR")"
fi

