#!/usr/bin/env bash
# `xdpvm map list|dump` (tools/map_print.c): bpftool's layouts in text and JSON. The JSON dump
# of maps right after load is compared with `bpftool -j map dump` of the same object loaded
# by the kernel (root and bpftool needed; SKIP otherwise).
set -u
bin=${XDPVM_BIN:-build/bin/xdpvm}
objs=${XDPVM_BPF_DIR:-build/bpf}/tests/bpf

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

# Text: a global data value, bpftool's "key: ..  value: .." line and element count.
out=$("$bin" map dump "$objs/loader_globals.o" --map .data 2>&1)
expect=$'2: array  name loader_g.data  flags 0x400\n\tkey 4B  value 8B  max_entries 1\nkey: 00 00 00 00  value: 64 00 00 00 00 00 00 00\nFound 1 element'
[ "$out" = "$expect" ] && pass map_dump_text_global_data || fail map_dump_text_global_data "got: $out"

# Text: long values break lines (16 bytes per line, double space after 8), per-CPU per line.
out=$("$bin" map dump "$objs/loader_maps.o" --map percpu_packets 2>/dev/null | sed -n 3,5p)
cpus=$(nproc)
expect=$'key:\n00 00 00 00\nvalue (CPU 00): 00 00 00 00 00 00 00 00'
[ "$out" = "$expect" ] && pass map_dump_text_percpu || fail map_dump_text_percpu "got: $out"
n=$("$bin" map dump "$objs/loader_maps.o" --map percpu_packets 2>/dev/null | grep -c '^value (CPU')
[ "$n" = $((2 * cpus)) ] && pass map_dump_text_percpu_every_cpu || fail map_dump_text_percpu_every_cpu "$n value lines for 2 keys and $cpus CPUs"

out=$("$bin" map dump "$objs/loader_callbacks.o" --map jump_table 2>&1 | sed -n 3p)
[ "$out" = "key: 02 00 00 00  prog: tail_target" ] && pass map_dump_prog_array_slot || fail map_dump_prog_array_slot "got: $out"

# JSON documents parse and carry bpftool's show fields.
if "$bin" map list "$objs/loader_maps.o" --json 2>/dev/null | python3 -c '
import json, sys
maps = json.load(sys.stdin)
names = [m["name"] for m in maps]
assert names == ["stats_by_len_mod4", "packets_by_len", "percpu_packets", "packets_by_proto"], names
assert maps[1]["type"] == "hash" and maps[1]["flags"] == 1 and maps[1]["bytes_value"] == 8, maps[1]
'; then pass map_list_json; else fail map_list_json "unexpected document"; fi

"$bin" map dump "$objs/loader_maps.o" --map nope >/dev/null 2>&1
[ $? -ne 0 ] && pass map_dump_unknown_map_fails || fail map_dump_unknown_map_fails "exit status 0"

# Against bpftool on the kernel's copy of the same maps.
if [ "$(id -u)" != 0 ] || ! command -v bpftool >/dev/null || [ ! -d /sys/fs/bpf ]; then
  skip map_dump_json_matches_bpftool "needs root, bpftool and /sys/fs/bpf"
  exit 0
fi
pin=/sys/fs/bpf/xdpvm_map_print_$$
mkdir -p "$pin"
trap 'rm -rf "$pin"' EXIT
if ! bpftool prog loadall "$objs/loader_maps.o" "$pin/progs" pinmaps "$pin/maps" >/dev/null 2>&1; then
  fail map_dump_json_matches_bpftool "bpftool could not load loader_maps.o"
  exit 0
fi
ok=1
for map in stats_by_len_mod4 percpu_packets packets_by_len; do
  ours=$("$bin" map dump "$objs/loader_maps.o" --map "$map" --json 2>/dev/null)
  theirs=$(bpftool -j map dump pinned "$pin/maps/$map")
  if ! python3 -c '
import json, sys
ours = json.loads(sys.argv[1])[0]["entries"]
theirs = json.loads(sys.argv[2])
for e in theirs:
    e.pop("formatted", None)
sys.exit(0 if ours == theirs else 1)
' "$ours" "$theirs"; then
    fail map_dump_json_matches_bpftool "map $map: ours ${ours:0:200} bpftool ${theirs:0:200}"
    ok=0
    break
  fi
done
[ $ok = 1 ] && pass map_dump_json_matches_bpftool
