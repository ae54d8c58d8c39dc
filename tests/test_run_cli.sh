#!/usr/bin/env bash
# `xdpvm run` end to end: output pcaps readable by tshark with the counts the run reports,
# modified bytes with valid checksums, input timestamps kept, --json that parses, --trace,
# map pre-fill from the command line and from JSON, damaged and wrong inputs.
# Prints PASS/FAIL/SKIP lines (tests/lib/testlib.h protocol).
set -u
. "$(dirname "$0")/lib/cli.sh"
pcap=$root/build/data/mixed.pcap
pcapng=$root/build/data/mixed.pcapng
router=$bpf/examples/router.o
traceprog=$bpf/tests/bpf/xdp_cli_trace.o

count() { # packets in a capture, as tshark reads it
  tshark -r "$1" 2>/dev/null | wc -l
}

require_files run_cli_setup "$bin" "$router" "$traceprog" "$pcap" "$pcapng"
if ! command -v tshark >/dev/null; then
  echo "SKIP run_cli: tshark is not installed"
  exit 0
fi

# The expected split of the capture for the trace program, computed from the raw records.
read -r want_invalid want_drop want_tx want_pass total < <(python3 - "$pcap" <<'EOF'
import struct, sys
data = open(sys.argv[1], "rb").read()
off, c = 24, {"invalid": 0, "drop": 0, "tx": 0, "pass": 0}
n = 0
while off + 16 <= len(data):
    _, _, caplen, _ = struct.unpack_from("<IIII", data, off)
    frame = data[off + 16: off + 16 + caplen]
    off += 16 + caplen
    n += 1
    if len(frame) < 14: c["invalid"] += 1
    elif frame[0] == 0xff: c["drop"] += 1
    elif frame[12:14] == b"\x86\xdd": c["tx"] += 1
    else: c["pass"] += 1
print(c["invalid"], c["drop"], c["tx"], c["pass"], n)
EOF
)

# 1. Counts, outputs, JSON.
"$bin" run "$traceprog" --in "$pcap" --out-pass "$tmp/pass.pcap" --out-tx "$tmp/tx.pcap" \
  --out-drop "$tmp/drop.pcap" --out-aborted "$tmp/aborted.pcap" --json >"$tmp/run.json" 2>"$tmp/run.err"
rc=$?
why="exit status $rc: $(head -3 "$tmp/run.err")"
[ "$rc" -eq 0 ]; verdict run_cli_exit_status
why="python3 -m json.tool rejects: $(head -c 300 "$tmp/run.json")"
python3 -m json.tool "$tmp/run.json" /dev/null; verdict run_cli_json_parses
got=$(json_field "$tmp/run.json" '"%d %d %d %d %d" % (d["actions"]["invalid"], d["actions"]["drop"], d["actions"]["tx"], d["actions"]["pass"], d["packets"])' 2>/dev/null)
why="json counts invalid/drop/tx/pass/packets '$got', want '$want_invalid $want_drop $want_tx $want_pass $total'"
[ "$got" = "$want_invalid $want_drop $want_tx $want_pass $total" ]; verdict run_cli_json_counts
files="$(count "$tmp/pass.pcap") $(count "$tmp/tx.pcap") $(count "$tmp/drop.pcap") $(count "$tmp/aborted.pcap")"
why="tshark reads pass/tx/drop/aborted '$files', want '$want_pass $want_tx $want_drop $want_invalid'"
[ "$files" = "$want_pass $want_tx $want_drop $want_invalid" ]; verdict run_cli_output_pcaps_counts

# Timestamps and lengths kept: the pass output's records are the input's, in order.
python3 - "$pcap" "$tmp/pass.pcap" >"$tmp/ts.out" 2>&1 <<'EOF'
import struct, sys
def records(path):
    d = open(path, "rb").read()
    magic = struct.unpack_from("<I", d, 0)[0]
    scale = 1 if magic == 0xA1B23C4D else 1000   # nanosecond or microsecond pcap
    off, out = 24, []
    while off + 16 <= len(d):
        s, frac, cap, wire = struct.unpack_from("<IIII", d, off)
        out.append((s * 10**9 + frac * scale, cap, wire, d[off + 16: off + 16 + cap]))
        off += 16 + cap
    return out
inp = records(sys.argv[1])
outp = records(sys.argv[2])
passed = [r for r in inp if len(r[3]) >= 14 and r[3][0] != 0xff and r[3][12:14] != b"\x86\xdd"]
if [(t, c, w, b) for t, c, w, b in passed] != outp:
    print("pass output differs from the passed input records (timestamp, caplen, len or bytes)")
    sys.exit(1)
if not any(c < w for _, c, w, _ in outp):
    print("the snapped record (caplen < len) lost its wire length")
    sys.exit(1)
EOF
why=$(cat "$tmp/ts.out")
[ -z "$why" ]; verdict run_cli_timestamps_lengths_bytes_kept

# 2. Human output.
"$bin" run "$traceprog" --in "$pcap" >"$tmp/human.out" 2>&1
why="$(head -12 "$tmp/human.out")"
bash -c "grep -Eq '^ +pass +$want_pass\\b' '$tmp/human.out' && grep -Eq '^ +tx +$want_tx\\b' '$tmp/human.out' && grep -Eq '^ +invalid +$want_invalid\\b' '$tmp/human.out' && grep -q 'packets/s' '$tmp/human.out' && grep -q 'ns/packet' '$tmp/human.out'"; verdict run_cli_human_counts

# 3. pcapng gives the same result.
"$bin" run "$traceprog" --in "$pcapng" --json >"$tmp/ng.json" 2>/dev/null
got=$(json_field "$tmp/ng.json" '"%d %d" % (d["packets"], d["actions"]["tx"])' 2>/dev/null)
why="pcapng: packets/tx '$got', want '$total $want_tx'"
[ "$got" = "$total $want_tx" ]; verdict run_cli_pcapng_input

# 4. --trace: one line per packet with the action, and the program's trace_printk output.
"$bin" run "$traceprog" --in "$pcap" --trace >"$tmp/trace.out" 2>&1
lines=$(grep -c '^packet [0-9]*: ' "$tmp/trace.out")
prints=$(grep -c 'trace: .*frame of [0-9]* bytes' "$tmp/trace.out")
why="$lines packet lines, $prints trace_printk lines, want $total each; $(grep -m1 '^packet 1:' -A2 "$tmp/trace.out")"
[ "$lines" -eq "$total" ] && [ "$prints" -eq "$total" ]; verdict run_cli_trace
# Each packet's trace is exactly its own output: one line naming its length, nothing left
# over from an earlier (longer) packet's output.
why=$(awk '/^packet [0-9]+: / { if (want != "") { print "packet " n ": no trace line"; exit }
                                  n = $2; sub(/:$/, "", n); want = "  trace: frame of " $(NF-3) " bytes"; next }
           /^  trace: / { if ($0 != want) { print "packet " n ": \"" $0 "\", want \"" want "\""; exit }
                          want = ""; next }' "$tmp/trace.out")
[ -z "$why" ]; verdict run_cli_trace_only_this_packets_output
why="$(grep -m1 '(7)' "$tmp/trace.out")"
grep -q 'packet [0-9]*: ? (7) -> invalid' "$tmp/trace.out"; verdict run_cli_trace_names_invalid_action

# 4b. --route: bpf_fib_lookup's routing table (tests/bpf/helper_xdp.c, section fib: redirects
# with the route's MACs on success, passes otherwise, aborts frames too short for IPv4).
fibprog=$bpf/tests/bpf/helper_xdp.o
"$bin" run "$fibprog" --section fib --in "$pcap" --json >"$tmp/fib0.json" 2>/dev/null
"$bin" run "$fibprog" --section fib --in "$pcap" --route 0.0.0.0/0,1,02:00:00:00:00:0a,02:00:00:00:00:0b \
  --out-redirect "$tmp/fib.pcap" --json >"$tmp/fib1.json" 2>"$tmp/fib1.err"
"$bin" run "$fibprog" --section fib --in "$pcap" --route 0.0.0.0/0,1 --route 10.0.0.0/24,1,02:00:00:00:00:0c,02:00:00:00:00:0d \
  --json >"$tmp/fib2.json" 2>/dev/null
# frames long enough for an IPv4 header whose destination (bytes 30..33) is in 10.0.0.0/24
want_specific=$(python3 - "$pcap" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
off, n = 24, 0
while off + 16 <= len(data):
    caplen = struct.unpack_from("<I", data, off + 8)[0]
    frame = data[off + 16:off + 16 + caplen]
    n += len(frame) >= 34 and frame[30:33] == bytes([10, 0, 0])
    off += 16 + caplen
print(n)
PY
)
no_route=$(json_field "$tmp/fib0.json" '"%d %d" % (d["actions"]["redirect"], d["actions"]["aborted"])' 2>/dev/null)
routed=$(json_field "$tmp/fib1.json" '"%d %d" % (d["actions"]["redirect"], d["actions"]["aborted"])' 2>/dev/null)
no_neigh=$(json_field "$tmp/fib2.json" 'd["actions"]["redirect"]' 2>/dev/null)
macs=$(tshark -r "$tmp/fib.pcap" -T fields -e eth.src -e eth.dst 2>/dev/null | sort -u | tr '\t\n' '  ')
aborted=${no_route#* }
why="without routes '$no_route', default route '$routed' MACs '$macs', 10.0.0.0/24 over a default without neighbour '$no_neigh', want '$want_specific' ($(head -1 "$tmp/fib1.err"))"
[ "$no_route" = "0 $aborted" ] && [ "$routed" = "$((total - aborted)) $aborted" ] && \
  [ "$macs" = "02:00:00:00:00:0a 02:00:00:00:00:0b " ] && [ "$want_specific" -gt 0 ] && \
  [ "$no_neigh" = "$want_specific" ]
verdict run_cli_route_fib_lookup
"$bin" run "$fibprog" --section fib --in "$pcap" --route 10.0.0.0/33,1 >/dev/null 2>"$tmp/fibbad.err"; rc=$?
why="exit $rc: $(head -1 "$tmp/fibbad.err")"
[ "$rc" -eq 1 ] && grep -q -- "--route 10.0.0.0/33,1: prefix length 33 is more than 32" "$tmp/fibbad.err"
verdict run_cli_route_bad_prefix

# 5. Router with a default route from --map-set: TX with TTL - 1 and valid checksums.
hop=0a0b0c0d0e0f1a1b1c1d1e1f00000000
"$bin" run "$router" --in "$pcap" --map-set "next_hops:00000000:$hop" --out-tx "$tmp/rtx.pcap" \
  --json >"$tmp/router.json" 2>"$tmp/router.err"
tx=$(json_field "$tmp/router.json" 'd["actions"]["tx"]' 2>/dev/null)
why="tx '$tx' ($(head -2 "$tmp/router.err"))"
[ -n "$tx" ] && [ "$tx" -gt 0 ] && [ "$(count "$tmp/rtx.pcap")" = "$tx" ]; verdict run_cli_map_set_routes
bad=$(tshark -r "$tmp/rtx.pcap" -o ip.check_checksum:TRUE -Y 'ip.checksum.status == "Bad" || eth.dst != 0a:0b:0c:0d:0e:0f' 2>/dev/null | wc -l)
why="$bad TX frames with a bad IPv4 checksum or the wrong MAC"
[ "$bad" -eq 0 ]; verdict run_cli_router_output_valid
ttl_in=$(tshark -r "$pcap" -Y 'ip && !vlan && ip.ttl > 1' -T fields -e ip.ttl 2>/dev/null | head -20 | tr '\n' ' ')
ttl_out=$(tshark -r "$tmp/rtx.pcap" -T fields -e ip.ttl 2>/dev/null | head -20 | awk '{printf "%d ", $1 + 1}')
why="input TTLs '$ttl_in', output TTLs + 1 '$ttl_out'"
[ -n "$ttl_in" ] && [ "$ttl_in" = "$ttl_out" ]; verdict run_cli_router_ttl_decremented

# --dump-maps: the router's per-action counters (per-CPU array `stats`) agree with the run.
"$bin" run "$router" --in "$pcap" --map-set "next_hops:00000000:$hop" --dump-maps --json >"$tmp/dump.json" 2>/dev/null
got=$(python3 - "$tmp/dump.json" <<'EOF2' 2>&1
import json, sys
d = json.load(open(sys.argv[1]))
stats = [m for m in d["maps"] if m["name"] == "stats"][0]
names = ["aborted", "drop", "pass", "tx", "redirect"]
for e in stats["entries"]:
    action = int(e["key"][0], 16)
    count = int.from_bytes(bytes(int(b, 16) for b in e["values"][0]["value"]), "little")
    if count != d["actions"][names[action]]:
        print("stats[%s] = %d, run counted %d" % (names[action], count, d["actions"][names[action]]))
EOF2
)
why="$got"
[ -z "$got" ] && grep -q '"next_hops"' "$tmp/dump.json"; verdict run_cli_dump_maps_json
"$bin" run "$router" --in "$pcap" --map-set "next_hops:00000000:$hop" --dump-maps >"$tmp/dump.txt" 2>&1
why="$(tail -5 "$tmp/dump.txt")"
# Maps with BTF types print typed, as `bpftool map dump` does (tools/map_print.h).
grep -q "name next_hops" "$tmp/dump.txt" && grep -q '"dmac": \[10,11,12,13,14,15$' "$tmp/dump.txt" && grep -q '"smac": \[26,27,28,29,30,31$' "$tmp/dump.txt"; verdict run_cli_dump_maps_text

# 6. The same entry from a maps file, in both value notations.
cat >"$tmp/maps.json" <<EOF
{"next_hops": [{"key": ["0x00", "0x00", "0x00", "0x00"],
                "value": "$hop"}]}
EOF
"$bin" run "$router" --in "$pcap" --maps-file "$tmp/maps.json" --json >"$tmp/mf.json" 2>"$tmp/mf.err"
got=$(json_field "$tmp/mf.json" 'd["actions"]["tx"]' 2>/dev/null)
why="tx '$got' want '$tx' ($(head -2 "$tmp/mf.err"))"
[ -n "$got" ] && [ "$got" = "$tx" ]; verdict run_cli_maps_file

# 7. Wrong inputs: clear errors, non-zero exit.
"$bin" run "$router" --in "$pcap" --map-set "next_hops:00:$hop" >/dev/null 2>"$tmp/e1"
rc=$?
why="exit $rc: $(cat "$tmp/e1")"
[ "$rc" -ne 0 ] && grep -q "key for map 'next_hops' must be 4 bytes" "$tmp/e1"; verdict run_cli_bad_map_set_key
"$bin" run "$router" --in "$pcap" --map-set "nosuch:00000000:00" >/dev/null 2>"$tmp/e2"
rc=$?
why="exit $rc: $(cat "$tmp/e2")"
[ "$rc" -ne 0 ] && grep -q "no map named 'nosuch'" "$tmp/e2"; verdict run_cli_unknown_map
echo '{"next_hops": [{"key": "00000000", "value": }]}' >"$tmp/bad.json"
"$bin" run "$router" --in "$pcap" --maps-file "$tmp/bad.json" >/dev/null 2>"$tmp/e3"
rc=$?
why="exit $rc: $(cat "$tmp/e3")"
[ "$rc" -ne 0 ] && grep -q "bad.json:1:" "$tmp/e3"; verdict run_cli_bad_maps_file
"$bin" run "$tmp/missing.o" --in "$pcap" >/dev/null 2>"$tmp/e4"
rc=$?
why="exit $rc: $(cat "$tmp/e4")"
[ "$rc" -ne 0 ] && grep -q "missing.o" "$tmp/e4"; verdict run_cli_missing_object
"$bin" run "$bpf/tests/bpf/isa_programs.o" --section tc --in "$pcap" >/dev/null 2>"$tmp/e7"
rc=$?
why="exit $rc: $(cat "$tmp/e7")"
[ "$rc" -ne 0 ] && grep -q "program 'tc_mark' (section 'tc') is not an XDP program" "$tmp/e7"; verdict run_cli_not_xdp_program
"$bin" run "$router" --section nosuch --in "$pcap" >/dev/null 2>"$tmp/e8"
rc=$?
why="exit $rc: $(cat "$tmp/e8")"
[ "$rc" -ne 0 ] && grep -q "router.o: no program in section or named 'nosuch'" "$tmp/e8"; verdict run_cli_unknown_section
echo "this is not a capture" >"$tmp/notpcap.pcap"
"$bin" run "$router" --in "$tmp/notpcap.pcap" >/dev/null 2>"$tmp/e5"
rc=$?
why="exit $rc: $(cat "$tmp/e5")"
[ "$rc" -ne 0 ] && grep -q "notpcap.pcap: cannot read as pcap or pcapng" "$tmp/e5"; verdict run_cli_not_a_pcap
"$bin" run "$router" >/dev/null 2>"$tmp/e6"
rc=$?
why="exit $rc: $(cat "$tmp/e6")"
[ "$rc" -eq 2 ] && grep -q "no input given" "$tmp/e6"; verdict run_cli_usage_without_input

# 8. Run errors in the middle of the capture (checked interpreter): counted as aborted with
# the error shown, the packets after them still run.
oob=$bpf/tests/bpf/xdp_cli_oob.o
"$bin" run "$oob" --no-verify --in "$pcap" --out-aborted "$tmp/oob.pcap" --json >"$tmp/oob.json" 2>"$tmp/oob.err"
rc=$?
got=$(json_field "$tmp/oob.json" '"%d %d %d %d" % (d["actions"]["aborted"], d["errors"], d["actions"]["pass"], d["packets"])' 2>/dev/null)
shown=$(grep -c "packet [0-9]*: program 'xdp_cli_oob': instruction [0-9]*: load of 8 bytes" "$tmp/oob.err")
why="exit $rc, aborted/errors/pass/packets '$got' want '$want_drop $want_drop $((total - want_drop)) $total', $shown errors shown: $(head -2 "$tmp/oob.err")"
[ "$rc" -eq 0 ] && [ "$got" = "$want_drop $want_drop $((total - want_drop)) $total" ] && \
  [ "$shown" -eq 10 ] && grep -q "further exceptions are counted, not shown" "$tmp/oob.err" && \
  [ "$(count "$tmp/oob.pcap")" = "$want_drop" ]; verdict run_cli_run_errors_keep_going

# The verifier: the unsafe program is refused unless --no-verify; --jit gives the
# interpreter's results byte for byte.
"$bin" run "$oob" --in "$pcap" >/dev/null 2>"$tmp/rej.err"
rc=$?
why="exit $rc: $(head -2 "$tmp/rej.err")"
[ "$rc" -ne 0 ] && grep -q "xdp_cli_oob.o: program 'xdp_cli_oob' (section 'xdp') rejected by the verifier at instruction [0-9]*: " "$tmp/rej.err"; verdict run_cli_verifier_refuses_unsafe
"$bin" run "$oob" --no-verify --jit --in "$pcap" >/dev/null 2>"$tmp/jnv.err"
rc=$?
why="exit $rc: $(head -2 "$tmp/jnv.err")"
[ "$rc" -ne 0 ] && grep -q -- "--jit runs verified programs only" "$tmp/jnv.err"; verdict run_cli_jit_needs_verification
for mode in interp jit; do
  "$bin" run "$router" --$mode --in "$pcap" --map-set "next_hops:00000000:$hop" --out-tx "$tmp/$mode-tx.pcap" \
    --out-pass "$tmp/$mode-pass.pcap" --out-drop "$tmp/$mode-drop.pcap" --json >"$tmp/$mode.json" 2>"$tmp/$mode.err"
done
got=$(json_field "$tmp/jit.json" '"%s %s %s" % (d["mode"], d["verified"], d["actions"]["tx"])' 2>/dev/null)
why="jit run: '$got' ($(head -2 "$tmp/jit.err")), interp tx $tx"
[ "$got" = "jit True $tx" ] && cmp -s "$tmp/interp-tx.pcap" "$tmp/jit-tx.pcap" && \
  cmp -s "$tmp/interp-pass.pcap" "$tmp/jit-pass.pcap" && cmp -s "$tmp/interp-drop.pcap" "$tmp/jit-drop.pcap"; verdict run_cli_jit_same_output
# --blind: the JIT with constant blinding gives the same packets.
"$bin" run "$router" --blind --in "$pcap" --map-set "next_hops:00000000:$hop" --out-tx "$tmp/blind-tx.pcap" \
  --out-pass "$tmp/blind-pass.pcap" --out-drop "$tmp/blind-drop.pcap" --json >"$tmp/blind.json" 2>"$tmp/blind.err"
got=$(json_field "$tmp/blind.json" '"%s/%s" % (d["mode"], d["actions"]["tx"])' 2>/dev/null)
why="blinded run: '$got' ($(head -2 "$tmp/blind.err")), interp tx $tx"
[ "$got" = "jit (constants blinded)/$tx" ] && cmp -s "$tmp/interp-tx.pcap" "$tmp/blind-tx.pcap" && \
  cmp -s "$tmp/interp-pass.pcap" "$tmp/blind-pass.pcap" && cmp -s "$tmp/interp-drop.pcap" "$tmp/blind-drop.pcap"
verdict run_cli_blind_same_output
"$bin" run "$router" --blind --interp --in "$pcap" >/dev/null 2>"$tmp/bi.err"
rc=$?
why="exit $rc: $(head -1 "$tmp/bi.err")"
[ "$rc" -eq 2 ] && grep -q -- "--blind" "$tmp/bi.err"; verdict run_cli_blind_needs_jit
got=$(json_field "$tmp/interp.json" '"%s %s" % (d["mode"], d["verified"])' 2>/dev/null)
why="interp run: '$got'"
[ "$got" = "interpreter True" ]; verdict run_cli_verified_runs_unchecked

# 9. A capture cut in the middle of a record: error, packets before it processed and written.
size=$(stat -c %s "$pcap")
head -c $((size * 2 / 3)) "$pcap" >"$tmp/cut.pcap"
"$bin" run "$traceprog" --in "$tmp/cut.pcap" --out-pass "$tmp/cutpass.pcap" --out-tx "$tmp/cuttx.pcap" \
  --out-drop "$tmp/cutdrop.pcap" --out-aborted "$tmp/cutab.pcap" --json >"$tmp/cut.json" 2>"$tmp/cut.err"
rc=$?
done_packets=$(json_field "$tmp/cut.json" 'd["packets"]' 2>/dev/null)
written=$(( $(count "$tmp/cutpass.pcap") + $(count "$tmp/cuttx.pcap") + $(count "$tmp/cutdrop.pcap") + $(count "$tmp/cutab.pcap") ))
why="exit $rc, $done_packets processed, $written written, stderr: $(head -2 "$tmp/cut.err")"
[ "$rc" -ne 0 ] && [ -n "$done_packets" ] && [ "$done_packets" -gt 0 ] && \
  [ "$done_packets" -lt "$total" ] && [ "$written" -eq "$done_packets" ] && \
  grep -q "cut.pcap: packet $((done_packets + 1)): damaged capture" "$tmp/cut.err" && \
  json_field "$tmp/cut.json" 'd["input_error"]' >/dev/null; verdict run_cli_truncated_pcap
# A record whose capture length is absurd: the same handling as a cut file.
python3 - "$pcap" "$tmp/corrupt.pcap" <<'EOF2'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
off = 24
for _ in range(4):
    off += 16 + struct.unpack_from("<I", d, off + 8)[0]
struct.pack_into("<I", d, off + 8, 0xfffffff0)
open(sys.argv[2], "wb").write(d)
EOF2
"$bin" run "$router" --in "$tmp/corrupt.pcap" --out-pass "$tmp/cpass.pcap" >/dev/null 2>"$tmp/corrupt.err"
rc=$?
why="exit $rc, $(count "$tmp/cpass.pcap") written: $(head -2 "$tmp/corrupt.err")"
[ "$rc" -eq 1 ] && [ "$(count "$tmp/cpass.pcap")" = 4 ] && \
  grep -q "corrupt.pcap: packet 5: damaged capture: invalid packet capture length" "$tmp/corrupt.err"; verdict run_cli_corrupt_record

# A capture with only its header: nothing to do, success. A jumbo frame that does not fit a
# page-sized frame: aborted with the reason, written unchanged to the aborted output.
python3 - "$tmp/empty.pcap" "$tmp/jumbo.pcap" <<'EOF2'
import struct, sys
header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
open(sys.argv[1], "wb").write(header)
jumbo = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]) + bytes(8986)
small = jumbo[:60]
with open(sys.argv[2], "wb") as f:
    f.write(header)
    for i, frame in enumerate([jumbo, small]):
        f.write(struct.pack("<IIII", 1767225600, i, len(frame), len(frame)) + frame)
EOF2
"$bin" run "$router" --in "$tmp/empty.pcap" --json >"$tmp/empty.json" 2>"$tmp/empty.err"
rc=$?
got=$(json_field "$tmp/empty.json" 'd["packets"]' 2>/dev/null)
why="exit $rc, packets '$got': $(head -2 "$tmp/empty.err")"
[ "$rc" -eq 0 ] && [ "$got" = 0 ]; verdict run_cli_empty_capture
"$bin" run "$router" --in "$tmp/jumbo.pcap" --out-aborted "$tmp/jab.pcap" --json >"$tmp/jumbo.json" 2>"$tmp/jumbo.err"
rc=$?
got=$(json_field "$tmp/jumbo.json" '"%d %d %d" % (d["actions"]["aborted"], d["errors"], d["actions"]["drop"])' 2>/dev/null)
len=$(tshark -r "$tmp/jab.pcap" -T fields -e frame.cap_len 2>/dev/null)
why="exit $rc, aborted/errors/drop '$got' (the small frame has IP version 0), aborted output frame of '$len' bytes: $(head -2 "$tmp/jumbo.err")"
[ "$rc" -eq 0 ] && [ "$got" = "1 1 1" ] && [ "$len" = 9000 ] && \
  grep -q "packet 1: packet of 9000 bytes does not fit a 4096-byte frame" "$tmp/jumbo.err"; verdict run_cli_jumbo_frame
exit 0
