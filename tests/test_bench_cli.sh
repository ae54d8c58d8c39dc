#!/usr/bin/env bash
# `xdpvm bench` end to end: the table's shape, --json that parses with the runs asked for and
# the same actions in every engine (the kernel's too when it is measured), maps from
# --map-set reaching the kernel, the kernel column's reason when it is missing, an unsafe
# program refused, clear errors for missing or damaged files and bad options. No timing
# assertions: the machine is shared.
# Prints PASS/FAIL/SKIP lines (tests/lib/testlib.h protocol).
set -u
. "$(dirname "$0")/lib/cli.sh"
pcap=$root/build/data/mixed.pcap
macswap=$bpf/examples/macswap.o
router=$bpf/examples/router.o
oob=$bpf/tests/bpf/xdp_cli_oob.o
require_files bench_cli_setup "$bin" "$macswap" "$router" "$oob" "$pcap"

# A short capture keeps the kernel's part quick: each packet is one BPF_PROG_TEST_RUN call
# that waits for the kernel's XDP dispatcher switch. The first 12 records of the bundled one.
python3 - "$pcap" "$tmp/small.pcap" <<'EOF'
import struct, sys
data = open(sys.argv[1], 'rb').read()
order = '<' if data[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
out, off = [data[:24]], 24
for _ in range(12):
    caplen = struct.unpack(order + 'I', data[off + 8:off + 12])[0]
    out.append(data[off:off + 16 + caplen])
    off += 16 + caplen
open(sys.argv[2], 'wb').write(b''.join(out))
EOF
small=$tmp/small.pcap
chmod 755 "$tmp" && chmod 644 "$small" # readable by nobody (kernel-missing case)
packets=12
repeat=50

# 1. The table: a header naming program, packet count and runs per packet, one row per engine.
"$bin" bench "$macswap" --in "$small" --repeat $repeat >"$tmp/text.out" 2>"$tmp/text.err"
rc=$?
why="exit $rc: $(head -3 "$tmp/text.out") $(head -2 "$tmp/text.err")"
[ "$rc" -eq 0 ] && \
  grep -q "^$macswap: program xdp_macswap (section xdp), $packets packets from $small, $repeat runs per packet$" "$tmp/text.out" && \
  grep -Eq '^engine +packets/s +ns/packet +runs +vs kernel$' "$tmp/text.out" && \
  grep -Eq "^interp +[0-9]+ +[0-9]+\.[0-9] +$((packets * repeat)) +" "$tmp/text.out" && \
  grep -Eq "^jit +[0-9]+ +[0-9]+\.[0-9] +$((packets * repeat)) +" "$tmp/text.out" && \
  grep -Eq "^kernel +([0-9]+ +[0-9]+\.[0-9] +$((packets * repeat)) +1\.00x|- +- +- +- +not measured: .+)$" "$tmp/text.out"
verdict bench_cli_table

# 2. --json parses; every engine ran each packet `repeat` times and did the same thing.
"$bin" bench "$macswap" --in "$small" --repeat $repeat --json >"$tmp/out.json" 2>"$tmp/json.err"
rc=$?
why="exit $rc: $(head -c 300 "$tmp/out.json") $(head -2 "$tmp/json.err")"
[ "$rc" -eq 0 ] && python3 -m json.tool "$tmp/out.json" >/dev/null; verdict bench_cli_json_parses
got=$(json_field "$tmp/out.json" '" ".join("%s:%s:%s:%s" % (e["engine"], e["runs"], e["actions"]["tx"], sum(e["actions"].values())) if e["measured"] else e["engine"] + ":-" for e in d["engines"])' 2>&1)
want_x="interp:$((packets * repeat)):$packets:$packets jit:$((packets * repeat)):$packets:$packets"
why="engines '$got', want '$want_x kernel:...'"
case "$got" in
  "$want_x kernel:$((packets * repeat)):$packets:$packets"|"$want_x kernel:-") true ;;
  *) false ;;
esac
verdict bench_cli_json_engines
got=$(json_field "$tmp/out.json" '"%s %s %s %s" % (d["program"], d["packets"], d["repeat"], d["verified"])' 2>&1)
why="'$got'"
[ "$got" = "xdp_macswap $packets $repeat True" ]; verdict bench_cli_json_header
kernel_measured=$(json_field "$tmp/out.json" '[e for e in d["engines"] if e["engine"] == "kernel"][0]["measured"]' 2>/dev/null)
if [ "$kernel_measured" = True ]; then
  got=$(json_field "$tmp/out.json" '" ".join("%.3f" % (e["ns_per_packet"] / k["ns_per_packet"]) + "=" + "%.3f" % e["vs_kernel"] for k in [d["engines"][2]] for e in d["engines"])' 2>&1)
  why="ratio=vs_kernel per engine: '$got'"
  python3 -c "import sys; sys.exit(any(abs(float(a) - float(b)) > 0.01 * float(b) + 0.001 for a, b in (p.split('=') for p in sys.argv[1].split())))" "$got"
  verdict bench_cli_json_ratio
else
  got=$(json_field "$tmp/out.json" '"%s|%s" % (d["engines"][2]["reason"], d["engines"][0]["vs_kernel"])' 2>&1)
  why="'$got'"
  case "$got" in "not measured: "?*"|None") true ;; *) false ;; esac; verdict bench_cli_json_kernel_reason
fi

# 3. --map-set reaches every engine: the router forwards (XDP_TX) through the default route
#    in xdpvm and, when measured, in the kernel alike.
hop=0a0b0c0d0e0f1a1b1c1d1e1f00000000
"$bin" bench "$router" --in "$small" --repeat 5 --map-set "next_hops:00000000:$hop" --json \
  >"$tmp/router.json" 2>"$tmp/router.err"
rc=$?
got=$(json_field "$tmp/router.json" '" ".join("%s:%s" % (e["engine"], e["actions"]["tx"]) if e["measured"] else e["engine"] + ":-" for e in d["engines"])' 2>&1)
why="exit $rc, tx per engine '$got': $(head -2 "$tmp/router.err")"
tx=${got#interp:}
tx=${tx%% *}
[ "$rc" -eq 0 ] && [ "$tx" -gt 0 ] 2>/dev/null && \
  { [ "$got" = "interp:$tx jit:$tx kernel:$tx" ] || [ "$got" = "interp:$tx jit:$tx kernel:-" ]; }
verdict bench_cli_map_set_all_engines

# 4. --engine picks engines; a named engine that cannot run is an error.
"$bin" bench "$macswap" --in "$small" --repeat 2 --engine interp >"$tmp/one.out" 2>&1
rc=$?
why="exit $rc: $(cat "$tmp/one.out")"
[ "$rc" -eq 0 ] && grep -q '^interp ' "$tmp/one.out" && ! grep -Eq '^(jit|kernel) ' "$tmp/one.out"
verdict bench_cli_engine_select
"$bin" bench "$macswap" --in "$small" --engine turbo >/dev/null 2>"$tmp/eng.err"
rc=$?
why="exit $rc: $(head -1 "$tmp/eng.err")"
[ "$rc" -eq 2 ] && grep -q "^xdpvm: error: --engine takes interp, jit, kernel .* not 'turbo'" "$tmp/eng.err"
verdict bench_cli_engine_unknown
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && \
   setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$bin" -a -r "$macswap" -a -r "$small" 2>/dev/null; then
  setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" bench "$macswap" --in "$small" --repeat 2 \
    >"$tmp/user.out" 2>"$tmp/user.err"
  rc=$?
  setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" bench "$macswap" --in "$small" --repeat 2 \
    --engine kernel >/dev/null 2>"$tmp/userk.err"
  rck=$?
  why="exit $rc/$rck: $(grep '^kernel' "$tmp/user.out") $(head -1 "$tmp/userk.err")"
  [ "$rc" -eq 0 ] && grep -Eq '^kernel +- +- +- +- +not measured: needs root' "$tmp/user.out" && \
    [ "$rck" -eq 1 ] && grep -q '^xdpvm: error: kernel: not measured: needs root' "$tmp/userk.err"
  verdict bench_cli_kernel_missing_says_why
else
  echo "SKIP bench_cli_kernel_missing_says_why: needs root and setpriv to run as nobody"
fi

# 5. An unsafe program is refused, as by `xdpvm run`: nothing is timed.
"$bin" bench "$oob" --in "$small" --repeat 2 >"$tmp/rej.out" 2>"$tmp/rej.err"
rc=$?
why="exit $rc: $(head -2 "$tmp/rej.err") $(head -1 "$tmp/rej.out")"
[ "$rc" -eq 1 ] && [ ! -s "$tmp/rej.out" ] && \
  grep -q "xdp_cli_oob.o: program 'xdp_cli_oob' (section 'xdp') rejected by the verifier at instruction [0-9]*: " "$tmp/rej.err"
verdict bench_cli_refuses_unsafe

# 6. Missing and damaged files: one clear error naming the file, no table.
"$bin" bench "$macswap" --in "$tmp/nope.pcap" >"$tmp/m1.out" 2>"$tmp/m1.err"
rc=$?
why="exit $rc: $(head -2 "$tmp/m1.err")"
[ "$rc" -eq 1 ] && [ ! -s "$tmp/m1.out" ] && grep -q "^xdpvm: error: .*$tmp/nope.pcap" "$tmp/m1.err"
verdict bench_cli_missing_capture
"$bin" bench "$tmp/nope.o" --in "$small" >"$tmp/m2.out" 2>"$tmp/m2.err"
rc=$?
why="exit $rc: $(head -2 "$tmp/m2.err")"
[ "$rc" -eq 1 ] && [ ! -s "$tmp/m2.out" ] && grep -q "^xdpvm: error: .*$tmp/nope.o" "$tmp/m2.err"
verdict bench_cli_missing_object
head -c $(( $(stat -c %s "$small") - 10 )) "$small" >"$tmp/cut.pcap"
"$bin" bench "$macswap" --in "$tmp/cut.pcap" >"$tmp/m3.out" 2>"$tmp/m3.err"
rc=$?
why="exit $rc: $(head -2 "$tmp/m3.err")"
[ "$rc" -eq 1 ] && [ ! -s "$tmp/m3.out" ] && grep -q "^xdpvm: error: .*cut.pcap.*packet 12" "$tmp/m3.err"
verdict bench_cli_damaged_capture
"$bin" bench "$macswap" --in "$small" --repeat 0 >/dev/null 2>"$tmp/r0.err"
rc=$?
why="exit $rc: $(head -1 "$tmp/r0.err")"
[ "$rc" -eq 2 ] && grep -q "^xdpvm: error: --repeat needs a number of runs per packet" "$tmp/r0.err"
verdict bench_cli_bad_repeat
