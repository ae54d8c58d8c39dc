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
same_entries() { # ours theirs: `xdpvm map dump --json` has the entries of `bpftool -j map dump`
  python3 -c '
import json, sys
sys.exit(0 if json.loads(sys.argv[1])[0]["entries"] == json.loads(sys.argv[2]) else 1)
' "$1" "$2"
}

# Raw text (maps without BTF types): bpftool's "key: ..  value: .." lines and element count.
out=$("$bin" map dump "$objs/loader_legacy.o" --map legacy_counts 2>&1 | tail -n +3)
zeros='value: 00 00 00 00 00 00 00 00'
expect="key: 00 00 00 00  $zeros"$'\n'"key: 01 00 00 00  $zeros"$'\n'"key: 02 00 00 00  $zeros"$'\n'"key: 03 00 00 00  $zeros"$'\nFound 4 elements'
[ "$out" = "$expect" ] && pass map_dump_text_raw || fail map_dump_text_raw "got: $out"

# Raw per-CPU text: one value per CPU, values over 16 bytes on their own lines (a double space
# after 8 bytes, a new line after 16).
cpus=$(nproc)
out=$("$bin" map dump "$objs/loader_legacy.o" --map legacy_percpu 2>/dev/null | sed -n 3,7p)
expect=$'key:\n00 00 00 00\nvalue (CPU 00):\n00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00\n00 00 00 00 00 00 00 00'
[ "$out" = "$expect" ] && pass map_dump_text_percpu || fail map_dump_text_percpu "got: $out"
n=$("$bin" map dump "$objs/loader_legacy.o" --map legacy_percpu 2>/dev/null | grep -c '^value (CPU')
[ "$n" = "$cpus" ] && pass map_dump_text_percpu_every_cpu || fail map_dump_text_percpu_every_cpu "$n value lines for $cpus CPUs"

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

# BTF-typed text: a global data section shown through its DATASEC, as bpftool prints it.
out=$("$bin" map dump "$objs/loader_btfdump.o" --map .rodata 2>&1 | tail -n +3)
expect=$'[{\n        "value": {\n            ".rodata": [{\n                    "greeting": "howdy"\n                },{\n                    "favourite": "GREEN"\n                }\n            ]\n        }\n    }\n]'
[ "$out" = "$expect" ] && pass map_dump_text_btf_datasec || fail map_dump_text_btf_datasec "got: $out"

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
  if ! same_entries "$ours" "$theirs"; then
    fail map_dump_json_matches_bpftool "map $map: ours ${ours:0:200} bpftool ${theirs:0:200}"
    ok=0
    break
  fi
done
[ $ok = 1 ] && pass map_dump_json_matches_bpftool

# Typed values ("formatted" in JSON, the pretty text form): struct, union, bitfields, enums,
# strings, bool, negative numbers, DATASEC; every map of loader_btfdump.o as loaded.
if ! bpftool prog loadall "$objs/loader_btfdump.o" "$pin/btf_progs" pinmaps "$pin/btf_maps" >/dev/null 2>&1; then
  fail map_dump_btf_matches_bpftool "bpftool could not load loader_btfdump.o"
  exit 0
fi
ok=1
for pair in records:records by_inner:by_inner sized_only:sized_only .data:loader_b_data .rodata:loader_b_rodata; do
  map=${pair%%:*} pinned=${pair#*:}
  ours=$("$bin" map dump "$objs/loader_btfdump.o" --map "$map" --json 2>/dev/null)
  theirs=$(bpftool -j map dump pinned "$pin/btf_maps/$pinned")
  if ! same_entries "$ours" "$theirs"; then
    fail map_dump_btf_matches_bpftool "map $map (json): ours ${ours:0:300} bpftool ${theirs:0:300}"
    ok=0
    break
  fi
  ours=$("$bin" map dump "$objs/loader_btfdump.o" --map "$map" 2>/dev/null | tail -n +3)
  theirs=$(bpftool map dump pinned "$pin/btf_maps/$pinned")
  if [ "$ours" != "$theirs" ]; then
    fail map_dump_btf_matches_bpftool "map $map (text): ours ${ours:0:300} bpftool ${theirs:0:300}"
    ok=0
    break
  fi
done
[ $ok = 1 ] && pass map_dump_btf_matches_bpftool
