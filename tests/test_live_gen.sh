#!/usr/bin/env bash
# xdpvm gen: sends a capture out of a veth port in a private namespace; the peer receives
# exactly the packets sent, byte for byte, in both AF_XDP and AF_PACKET modes.
. "$(dirname "$0")/lib/netns.sh"
PY="python3 $LIVE_ROOT/tests/lib/live_pcap.py"
cases=(live_gen_afxdp live_gen_afpacket live_gen_rate live_gen_errors)
live_require "${cases[@]}" || exit 0

ns_add a; ns_add b
veth_add a va b vb
in="$LIVE_TMP/in.pcap"
$PY make "$in" --smac 02:00:00:00:00:01 --dmac 02:00:00:00:00:02 --src 10.9.0.1 --dst 10.9.0.2 \
  --count 50 --ttl 64,3,1

for mode in afxdp afpacket; do
  name=live_gen_$mode
  cap="$LIVE_TMP/$mode.pcapng"
  if ! capture_start b vb "$cap"; then fail "$name" "dumpcap did not start"; continue; fi
  out=$(timeout 20 ip netns exec "$NS_a" "$XDPVM" gen --dev va --in "$in" --count 200 --mode $mode --json 2>&1)
  rc=$?
  sleep 0.3
  capture_stop "$CAPTURE_PID"
  if [ $rc -ne 0 ]; then fail "$name" "gen exited $rc: $out"; continue; fi
  case "$out" in *"\"mode\":\"$mode\""*"\"packets\":200,"*) ;; *) fail "$name" "unexpected report: $out"; continue;; esac
  # 200 packets = the 50 of the capture 4 times, in order.
  expected=$( for i in 1 2 3 4; do $PY dump "$in"; done )
  got=$($PY dump "$cap")
  if [ "$expected" = "$got" ]; then pass "$name"
  else fail "$name" "received $(echo "$got" | grep -c .) packets, not the 200 sent in order"; fi
done

# Paced: 300 packets at 1000 pps take about 0.3 s.
start=$(date +%s.%N)
out=$(timeout 20 ip netns exec "$NS_a" "$XDPVM" gen --dev va --in "$in" --count 300 --rate 1000 --json 2>&1)
took=$(echo "$(date +%s.%N) - $start" | bc)
if [[ "$out" == *'"packets":300,'* ]] && [ "$(echo "$took > 0.25 && $took < 3" | bc)" = 1 ]; then
  pass live_gen_rate
else
  fail live_gen_rate "took $took s: $out"
fi

# Clear errors: a missing interface, a down interface, a missing capture.
e1=$(ip netns exec "$NS_a" "$XDPVM" gen --dev nosuchif0 --in "$in" --count 1 2>&1)
ip -n "$NS_a" link set va down
e2=$(ip netns exec "$NS_a" "$XDPVM" gen --dev va --in "$in" --count 1 2>&1)
e3=$(ip netns exec "$NS_a" "$XDPVM" gen --dev va --in "$LIVE_TMP/missing.pcap" --count 1 2>&1)
if [[ "$e1" == *"'nosuchif0' does not exist"* && "$e2" == *"'va' is down"* && "$e3" == *"missing.pcap"* ]]; then
  pass live_gen_errors
else
  fail live_gen_errors "messages: [$e1] [$e2] [$e3]"
fi
