#!/usr/bin/env bash
# Workers and modes of the live data path on a 2-queue veth in a private namespace:
# - --queues 2: one worker per queue, every frame counted, each worker in its own per-CPU slot
#   (the drop program's per-CPU counters show both slots used, summing to what was sent);
# - --busy-poll: the same frames, spinning instead of sleeping;
# - --mode auto: when AF_XDP cannot take the queue (another xdpvm holds it), AF_PACKET with a
#   message;
# - the interface going down while running: reported once, no CPU burnt, clean exit;
# - not root: a clear error.
. "$(dirname "$0")/lib/netns.sh"
. "$(dirname "$0")/lib/live_run.sh"
PY="python3 $LIVE_ROOT/tests/lib/live_pcap.py"
cases=(live_two_queues_percpu live_two_queues_afpacket live_busy_poll live_auto_fallback live_port_down live_not_root)
live_require "${cases[@]}" || exit 0

ns_add g; ns_add d
ip -n "$NS_g" link add vg numtxqueues 2 numrxqueues 2 type veth peer name pd numtxqueues 2 numrxqueues 2 netns "$NS_d"
nsx g sysctl -qw net.ipv6.conf.vg.disable_ipv6=1; nsx d sysctl -qw net.ipv6.conf.pd.disable_ipv6=1
ip -n "$NS_g" link set vg up; ip -n "$NS_d" link set pd up
IN="$LIVE_TMP/in.pcap"
$PY make "$IN" --smac "$(if_mac g vg)" --dmac "$(if_mac d pd)" --src 10.1.0.2 --dst 10.2.0.2 --count 10
DROP="$BPF_DIR/tests/bpf/live_drop.o"

LIVE_CASE=live_two_queues_percpu
if run_start d "$LIVE_TMP/q2" "$DROP" --dev pd --queues 2 --json --no-tap --dump-maps; then
  # AF_XDP TX on queue q of vg arrives on queue q of pd.
  nsx g "$XDPVM" gen --dev vg --queue 0 --in "$IN" --count 300 >/dev/null 2>&1
  nsx g "$XDPVM" gen --dev vg --queue 1 --in "$IN" --count 200 >/dev/null 2>&1
  sleep 0.5
  run_stop
  # The stats map's XDP_DROP slot (key 1) per CPU, from --dump-maps' JSON.
  slots=$(python3 - "$RUN_OUT" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
docs, i = [], 0
dec = json.JSONDecoder()
while i < len(text):
    if text[i].isspace(): i += 1; continue
    obj, i = dec.raw_decode(text, i); docs.append(obj)
maps = [d for d in docs if isinstance(d, list)][0]
stats = [m for m in maps if m.get("name") == "stats"][0]
for e in stats["entries"]:
    if int(e["key"][0], 16) == 1:
        print(" ".join(str(int.from_bytes(bytes(int(b, 16) for b in v["value"]), "little")) for v in e["values"]))
EOF
  )
  received=$(grep -o '"received":[0-9]*' "$RUN_OUT" | head -1 | cut -d: -f2)
  if [ "$RUN_RC" = 0 ] && [ "$received" = 500 ] && [ "$slots" = "300 200" ]; then
    pass live_two_queues_percpu
  else
    fail live_two_queues_percpu "rc $RUN_RC, received $received, per-CPU drop counters [$slots] (want 300 200): $(tail -2 "$RUN_ERR")"
  fi
else
  fail live_two_queues_percpu "xdpvm run did not start: $(tail -3 "$RUN_ERR")"
fi

# AF_PACKET has no per-queue sockets: the workers' sockets split the interface's packets by RX
# queue (PACKET_FANOUT_QM) instead of each seeing every packet.
LIVE_CASE=live_two_queues_afpacket
if run_start d "$LIVE_TMP/q2p" "$DROP" --dev pd --queues 2 --mode afpacket --json --no-tap --dump-maps; then
  nsx g "$XDPVM" gen --dev vg --queue 0 --in "$IN" --count 300 >/dev/null 2>&1
  nsx g "$XDPVM" gen --dev vg --queue 1 --in "$IN" --count 200 >/dev/null 2>&1
  sleep 0.5
  run_stop
  received=$(grep -o '"received":[0-9]*' "$RUN_OUT" | head -1 | cut -d: -f2)
  if [ "$RUN_RC" = 0 ] && [ "$received" = 500 ]; then
    pass live_two_queues_afpacket
  else
    fail live_two_queues_afpacket "rc $RUN_RC, received $received (want 500, each frame once): $(tail -2 "$RUN_ERR")"
  fi
else
  fail live_two_queues_afpacket "xdpvm run did not start: $(tail -3 "$RUN_ERR")"
fi

LIVE_CASE=live_busy_poll
if run_start d "$LIVE_TMP/busy" "$DROP" --dev pd --busy-poll --json --no-tap; then
  nsx g "$XDPVM" gen --dev vg --in "$IN" --count 300 >/dev/null 2>&1
  sleep 0.3
  run_stop
  received=$(grep -o '"received":[0-9]*' "$RUN_OUT" | head -1 | cut -d: -f2)
  if [ "$RUN_RC" = 0 ] && [ "$received" = 300 ] && [ "$RUN_STOP_MS" -lt 1000 ]; then
    pass live_busy_poll
  else
    fail live_busy_poll "rc $RUN_RC, received $received, stopped after $RUN_STOP_MS ms"
  fi
else
  fail live_busy_poll "xdpvm run did not start: $(tail -3 "$RUN_ERR")"
fi

LIVE_CASE=live_auto_fallback
if run_start d "$LIVE_TMP/holder" "$DROP" --dev pd --mode afxdp --json --no-tap; then
  holder=$RUN_PID holder_out=$RUN_OUT
  out=$(nsx d timeout 10 "$XDPVM" run "$DROP" --dev pd --mode auto --json --no-tap --duration 0.5 2>&1)
  rc=$?
  RUN_PID=$holder RUN_OUT=$holder_out
  run_stop
  if [ $rc = 0 ] && [[ "$out" == *"falling back to AF_PACKET"* ]] && [[ "$out" == *'"mode":"afpacket"'* ]]; then
    pass live_auto_fallback
  else
    fail live_auto_fallback "rc $rc: $out"
  fi
else
  fail live_auto_fallback "xdpvm run did not start: $(tail -3 "$RUN_ERR")"
fi

LIVE_CASE=live_port_down
for mode in afpacket afxdp; do
  if ! run_start d "$LIVE_TMP/down-$mode" "$DROP" --dev pd --mode $mode --json --no-tap --quiet; then
    fail live_port_down "xdpvm run ($mode) did not start: $(tail -3 "$RUN_ERR")"; continue 2
  fi
  ip -n "$NS_d" link set pd down
  sleep 1
  run_stop
  ip -n "$NS_d" link set pd up
  cpu=$(echo "$(grep -o '"cpu_user":[0-9.]*' "$RUN_OUT" | cut -d: -f2) + $(grep -o '"cpu_sys":[0-9.]*' "$RUN_OUT" | cut -d: -f2)" | bc -l)
  if [ "$RUN_RC" != 0 ] || [ "$(echo "$cpu < 0.3" | bc -l)" != 1 ]; then
    fail live_port_down "$mode: rc $RUN_RC, CPU $cpu s in about 1.5 s: $(tail -2 "$RUN_ERR")"; continue 2
  fi
done
pass live_port_down

LIVE_CASE=live_not_root
e=$(nsx d setpriv --reuid 65534 --regid 65534 --clear-groups "$XDPVM" run "$DROP" --dev pd 2>&1)
rc=$?
if [ $rc -ne 0 ] && [[ "$e" == *"need root"* ]]; then pass live_not_root
else fail live_not_root "rc $rc: $e"; fi
