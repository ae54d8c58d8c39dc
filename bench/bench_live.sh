#!/usr/bin/env bash
# make bench-live (root): the live data path on veth pairs between private namespaces, with
# `xdpvm gen` (AF_XDP TX) as the source, all measured in one run:
#
#   ns g: vg ==== pd  (ns d: the device under test)  pe ---- vs :ns s
#
# For XDP_DROP (tests/bpf/live_drop), MAC-swap XDP_TX (examples/macswap) and the router
# (examples/router, redirect pd -> pe) through (a) xdpvm AF_XDP, (b) xdpvm AF_PACKET, (c) the
# kernel's XDP in native mode on the same veth, (d) in skb mode: packets/s the program
# handled (drop: frames it saw; macswap: frames back at vg; router: frames at vs) and CPU
# seconds per million packets (DUT process CPU + softirq time of the whole machine during the
# run: copy-mode AF_XDP and the kernel's XDP both work in softirq). Ratios to (c).
# Then 1 and 2 workers on a 2-queue veth (2 generators, one per queue) and idle CPU use.
#
# Environment: BENCH_SECONDS (default 2) per measurement.
LIVE_TIMEOUT=${BENCH_TIMEOUT:-300}   # read by netns.sh's watchdog
. "$(dirname "$0")/../tests/lib/netns.sh"
D=${BENCH_SECONDS:-2}
PY="python3 $LIVE_ROOT/tests/lib/live_pcap.py"
if [ "$(id -u)" != 0 ]; then echo "bench-live: needs root (namespaces, AF_XDP, XDP attach)"; exit 1; fi

ns_add g; ns_add d; ns_add s
ip -n "$NS_g" link add vg numtxqueues 2 numrxqueues 2 type veth peer name pd numtxqueues 2 numrxqueues 2 netns "$NS_d"
for x in "g vg" "d pd"; do set -- $x; nsx "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"; ip -n "$LIVE_ID-$1" link set "$2" up; done
veth_add s vs d pe
VG=$(if_mac g vg); PD=$(if_mac d pd); PE=$(if_mac d pe); VS=$(if_mac s vs); IPE=$(if_index d pe)
le32() { printf '%02x%02x%02x%02x' $(($1 & 255)) $((($1 >> 8) & 255)) $((($1 >> 16) & 255)) $((($1 >> 24) & 255)); }
HOP="${VS//:/}${PE//:/}$(le32 "$IPE")"
IN="$LIVE_TMP/in.pcap"
$PY make "$IN" --smac "$VG" --dmac "$PD" --src 10.1.0.2 --dst 10.2.0.2 --count 64 --ttl 64
kx() { nsenter --net="/var/run/netns/$LIVE_ID-$1" "${@:2}"; }
# XDP on the receiving ends, so the kernel's native XDP_TX/redirect into a veth works (the
# peer needs XDP); present in every variant so they all pay the same.
kx g "$XDPVM" attach "$BPF_DIR/examples/counter.o" --dev vg >/dev/null 2>&1
kx s "$XDPVM" attach "$BPF_DIR/examples/counter.o" --dev vs >/dev/null 2>&1
cleanup_attach() {
  kx g "$XDPVM" detach --dev vg >/dev/null 2>&1; kx s "$XDPVM" detach --dev vs >/dev/null 2>&1
  kx d "$XDPVM" detach --dev pd >/dev/null 2>&1
}
trap 'cleanup_attach; live_cleanup' EXIT

softirq_ticks() { awk '/^cpu /{print $8}' /proc/stat; }
ticks_per_s=$(getconf CLK_TCK)
jnum() { grep -o "\"$2\":[0-9.]*" "$1" | head -1 | cut -d: -f2; }
jsum() { grep -o "\"$2\":[0-9.]*" "$1" | cut -d: -f2 | paste -sd+ | bc; }

# measure PATH PROG -> sets PPS CPUPM
measure() {
  local path=$1 prog=$2 obj devs maps=()
  case $prog in
    drop) obj=$BPF_DIR/tests/bpf/live_drop.o; devs=pd ;;
    macswap) obj=$BPF_DIR/examples/macswap.o; devs=pd ;;
    router) obj=$BPF_DIR/examples/router.o; devs=pd,pe
            maps=(--map-set "next_hops:0a020002:$HOP" --map-set "tx_ports:$(le32 "$IPE"):$(le32 "$IPE")") ;;
  esac
  local out="$LIVE_TMP/$path-$prog" rx_g0 rx_s0 soft0 soft1 dut_cpu=0 handled
  if [[ $path == afxdp || $path == afpacket ]]; then
    ip netns exec "$NS_d" "$XDPVM" run "$obj" --dev "$devs" --mode "$path" --json --quiet --no-tap "${maps[@]}" >"$out.json" 2>"$out.err" &
    local pid=$!
    for i in $(seq 1 100); do grep -q "Ctrl-C stops" "$out.err" && break; sleep 0.05; done
  else
    kx d "$XDPVM" attach "$obj" --dev pd --mode "$path" >/dev/null 2>"$out.err" || { echo "attach failed: $(cat "$out.err")"; PPS=0; CPUPM=0; return; }
    if [ "$prog" = router ]; then
      kx d "$XDPVM" map update --dev pd --map next_hops --key 0a020002 --value "$HOP"
      kx d "$XDPVM" map update --dev pd --map tx_ports --key "$(le32 "$IPE")" --value "$(le32 "$IPE")"
    fi
  fi
  rx_g0=$(if_stat g vg rx_packets); rx_s0=$(if_stat s vs rx_packets); soft0=$(softirq_ticks)
  nsx g "$XDPVM" gen --dev vg --in "$IN" --duration "$D" --json >"$out.gen" 2>/dev/null
  sleep 0.2
  soft1=$(softirq_ticks)
  if [[ $path == afxdp || $path == afpacket ]]; then
    kill -INT "$pid"; wait "$pid"
    dut_cpu=$(echo "$(jnum "$out.json" cpu_user) + $(jnum "$out.json" cpu_sys)" | bc -l)
  else
    kx d "$XDPVM" status --dev pd --json >"$out.json" 2>/dev/null
    kx d "$XDPVM" detach --dev pd >/dev/null 2>&1
  fi
  case $prog in
    drop) if [[ $path == afxdp || $path == afpacket ]]; then handled=$(jnum "$out.json" drop)
          else handled=$(jnum "$out.json" drop); fi ;;
    macswap) handled=$(( $(if_stat g vg rx_packets) - rx_g0 )) ;;
    router) handled=$(( $(if_stat s vs rx_packets) - rx_s0 )) ;;
  esac
  local soft_s; soft_s=$(echo "($soft1 - $soft0) / $ticks_per_s" | bc -l)
  PPS=$(echo "${handled:-0} / $D" | bc -l)
  SENT=$(jnum "$out.gen" pps)
  CPUPM=$(echo "if (${handled:-0} > 0) ($dut_cpu + $soft_s) / (${handled:-0} / 1000000) else 0" | bc -l)
}

echo "bench-live: $D s per measurement; source: xdpvm gen (AF_XDP TX) on a veth; $(nproc) CPUs shared with other work"
printf '%-8s %-10s %12s %12s %14s %10s\n' program path pps "gen pps" "CPU-s/Mpkt" "vs native"
declare -A RES
for prog in drop macswap router; do
  for path in native afxdp afpacket skb; do
    measure "$path" "$prog"
    RES[$prog-$path]=$PPS
    base=${RES[$prog-native]}
    ratio=$(echo "if ($base > 0) $PPS / $base else 0" | bc -l)
    printf '%-8s %-10s %12.0f %12.0f %14.2f %10.2f\n' "$prog" "$path" "$PPS" "${SENT:-0}" "$CPUPM" "$ratio"
  done
done

# Scaling: 2-queue veth, one generator per queue (AF_XDP TX on queue q reaches pd's queue q).
echo
echo "scaling (XDP_DROP program, xdpvm AF_XDP, 2-queue veth):"
for w in 1 2; do
  out="$LIVE_TMP/scale-$w"
  ip netns exec "$NS_d" "$XDPVM" run "$BPF_DIR/tests/bpf/live_drop.o" --dev pd --queues "$w" --json --quiet --no-tap >"$out.json" 2>"$out.err" &
  pid=$!
  for i in $(seq 1 100); do grep -q "Ctrl-C stops" "$out.err" && break; sleep 0.05; done
  gens=()
  for q in $(seq 0 $((w - 1))); do
    nsx g "$XDPVM" gen --dev vg --queue "$q" --in "$IN" --duration "$D" --json >"$out.gen$q" 2>/dev/null &
    gens+=($!)
  done
  wait "${gens[@]}"
  sleep 0.2
  kill -INT "$pid"; wait "$pid"
  total=$(jsum "$out.json" received)
  cpu=$(echo "$(jnum "$out.json" cpu_user) + $(jnum "$out.json" cpu_sys)" | bc -l)
  printf '  %d worker%s: %12.0f pps, xdpvm CPU %.2f s over %s s\n' "$w" "$([ "$w" = 1 ] || echo s)" \
    "$(echo "${total:-0} / $D" | bc -l)" "$cpu" "$D"
done

# Idle: no traffic for 3 s; poll() with need-wakeup should cost (almost) nothing.
out="$LIVE_TMP/idle"
ip netns exec "$NS_d" "$XDPVM" run "$BPF_DIR/tests/bpf/live_drop.o" --dev pd --json --quiet --no-tap --duration 3 >"$out.json" 2>"$out.err"
cpu=$(echo "$(jnum "$out.json" cpu_user) + $(jnum "$out.json" cpu_sys)" | bc -l)
printf '\nidle: xdpvm AF_XDP, 1 worker, 3 s without traffic: %.3f CPU-s (%.2f%% of a core, includes start-up)\n' "$cpu" "$(echo "$cpu / 3 * 100" | bc -l)"
