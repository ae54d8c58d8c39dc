# The live tests' topology (after tests/lib/netns.sh and live_run.sh):
#
#   ns a: va ---- pa  (ns r: xdpvm)  pb ---- vb :ns b     (names: $VA_IF, $PA_IF, ...)
#
# with the router example's maps for "10.2.0.2 via pb" (ROUTER_MAPS) and a 40-packet capture
# from va to 10.2.0.2, every fourth packet with TTL 1 (IN).
PY="python3 $LIVE_ROOT/tests/lib/live_pcap.py"
# Interface names unique per run: `xdpvm attach` pins under /sys/fs/bpf/xdpvm/<ifname>/, which
# every network namespace shares, and tests of other runs may be attaching at the same time.
# (At most 12 characters, so that the TAP device "xv-<name>" fits in 15.)
VA_IF="${LIVE_ID}va" PA_IF="${LIVE_ID}pa" PB_IF="${LIVE_ID}pb" VB_IF="${LIVE_ID}vb"
ns_add a; ns_add b; ns_add r
veth_add a ${VA_IF} r ${PA_IF}
veth_add b ${VB_IF} r ${PB_IF}
VA=$(if_mac a ${VA_IF}); PA=$(if_mac r ${PA_IF}); PB=$(if_mac r ${PB_IF}); VB=$(if_mac b ${VB_IF})
IPB=$(if_index r ${PB_IF})
le32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
HOP="${VB//:/}${PB//:/}$(le32 "$IPB")"   # struct next_hop {dmac, smac, ifindex}
ROUTER_MAPS=(--map-set "next_hops:0a020002:$HOP" --map-set "tx_ports:$(le32 "$IPB"):$(le32 "$IPB")")
IN="$LIVE_TMP/in.pcap"
# 40 packets: every fourth has TTL 1 (expired: dropped), the rest TTL 64.
$PY make "$IN" --smac "$VA" --dmac "$PA" --src 10.1.0.2 --dst 10.2.0.2 --count 40 --ttl 64,64,64,1

json_field() { # file key: first numeric value of "key":N
  grep -o "\"$2\":[0-9]*" "$1" | head -1 | cut -d: -f2
}


# The router between pa and pb in MODE; checks what reaches b; keeps the capture as
# $LIVE_TMP/router-userspace.pcapng for the kernel comparison.
router_case() { # mode
  local mode=$1 name=live_router_$1 cap="$LIVE_TMP/router-$1.pcapng"
  LIVE_CASE=$name
  capture_start b ${VB_IF} "$cap" || { fail "$name" "dumpcap did not start"; return; }
  if ! run_start r "$LIVE_TMP/router-$mode" "$BPF_DIR/examples/router.o" --dev ${PA_IF},${PB_IF} --mode "$mode" \
       --json "${ROUTER_MAPS[@]}"; then
    fail "$name" "xdpvm run did not start: $(tail -3 "$RUN_ERR")"; capture_stop "$CAPTURE_PID"; return
  fi
  nsx a "$XDPVM" gen --dev ${VA_IF} --in "$IN" --count 40 >/dev/null 2>&1
  sleep 0.5
  run_stop
  capture_stop "$CAPTURE_PID"
  local check received drop redirect
  check=$($PY check-router "$cap" --smac "$PB" --dmac "$VB" --ttl-in 64)
  received=$(json_field "$RUN_OUT" received); drop=$(json_field "$RUN_OUT" drop)
  redirect=$(json_field "$RUN_OUT" redirect)
  if [ "$RUN_RC" = 0 ] && [ "$check" = "ok 30" ] && [ "$received" = 40 ] && [ "$drop" = 10 ] &&
     [ "$redirect" = 30 ] && grep -q "\"mode\":\"$mode\"" "$RUN_OUT" &&
     [ "$(grep -o '"accounted":true' "$RUN_OUT" | wc -l)" = 2 ]; then
    pass "$name"
    cp "$cap" "$LIVE_TMP/router-userspace.pcapng"
  else
    fail "$name" "rc $RUN_RC, capture: $check, received $received drop $drop redirect $redirect: $(head -c 600 "$RUN_OUT") $(tail -2 "$RUN_ERR")"
  fi
}
