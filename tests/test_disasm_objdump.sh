#!/usr/bin/env bash
# `xdpvm disasm` against `llvm-objdump-19 -d` on compiled BPF objects (tests/bpf/isa_*.o and
# examples/*.o): the same lines modulo whitespace. Where the default llvm decoder prints
# <unknown> or misreads a 32-bit atomic (opcode 0xc3 with a fetch/logic operation), the line is
# compared with llvm's alu32 decoder instead. Then the error paths of the command.
set -u
. "$(dirname "$0")/lib/cli.sh"

normalise() { sed -e 's/[[:space:]]\+/ /g' -e 's/^ //' -e 's/ $//'; }

if ! command -v llvm-objdump-19 >/dev/null; then
  echo "SKIP disasm_objdump: llvm-objdump-19 not installed"
else
  objs=$(ls "$bpf"/tests/bpf/isa_*.o "$bpf"/examples/*.o 2>/dev/null)
  [ -n "$objs" ] || echo "FAIL disasm_objdump: no compiled BPF objects under $bpf (run make)"
  for obj in $objs; do
    name="disasm_objdump_$(basename "$(dirname "$obj")")_$(basename "$obj" .o)"
    if ! "$bin" disasm "$obj" 2>"$tmp/err" | normalise >"$tmp/ours"; then
      echo "FAIL $name: xdpvm disasm failed: $(head -1 "$tmp/err")"; continue
    fi
    llvm-objdump-19 -d "$obj" | normalise >"$tmp/llvm"
    llvm-objdump-19 -d --mattr=+alu32 "$obj" | normalise >"$tmp/alu32"
    verdict=$(paste -d '\n' "$tmp/ours" "$tmp/llvm" "$tmp/alu32" | awk '
      { ours = $0; getline llvm; getline alu32; n++
        if (ours == llvm) next
        atomic32 = (llvm ~ /^[0-9]+: c3 /)
        if ((llvm ~ /<unknown>$/ || atomic32) && ours == alu32) next
        print "line " n ": llvm \"" llvm "\", ours \"" ours "\""; exit }')
    lines_ours=$(wc -l <"$tmp/ours"); lines_llvm=$(wc -l <"$tmp/llvm")
    if [ -n "$verdict" ]; then
      echo "FAIL $name: $verdict"
    elif [ "$lines_ours" -ne "$lines_llvm" ]; then
      echo "FAIL $name: $lines_ours lines, llvm-objdump printed $lines_llvm"
    else
      echo "PASS $name"
    fi
  done
fi

# --section, --syntax asm (assemblable text), --json
obj="$bpf/tests/bpf/isa_programs.o"
if [ -f "$obj" ]; then
  out=$("$bin" disasm "$obj" --section tc 2>&1)
  if grep -q 'Disassembly of section tc:' <<<"$out" && ! grep -q 'section xdp' <<<"$out"; then
    echo "PASS disasm_section_filter"; else echo "FAIL disasm_section_filter: $(head -3 <<<"$out")"; fi
  out=$("$bin" disasm "$obj" --syntax asm --section xdp 2>&1)
  if grep -q '^count_packets:$' <<<"$out" && grep -qE '^(ldxw|ldxdw) %r[0-9]+, \[%r1' <<<"$out" && grep -q '^exit$' <<<"$out"; then
    echo "PASS disasm_syntax_asm"; else echo "FAIL disasm_syntax_asm: $(head -3 <<<"$out")"; fi
  out=$("$bin" disasm "$obj" --json 2>&1)
  if command -v python3 >/dev/null; then
    if python3 -c 'import json,sys; d=json.load(sys.stdin); s=[x["name"] for x in d["sections"]]; assert "xdp" in s and "tc" in s; assert d["sections"][0]["insns"][0]["disasm"]' <<<"$out" 2>"$tmp/err"; then
      echo "PASS disasm_json"; else echo "FAIL disasm_json: $(tail -1 "$tmp/err")"; fi
  else
    echo "SKIP disasm_json: python3 not installed to parse the JSON"
  fi
fi

# Undecodable slots print as <unknown> (as llvm-objdump does) and --json says why.
if command -v llvm-mc-19 >/dev/null; then
  printf 'r0 = 1\n.byte 0xff,0,0,0,0,0,0,0\nexit\n.byte 0x18,0x01,0,0,1,0,0,0\n' >"$tmp/bad.s"
  llvm-mc-19 -triple bpfel -filetype=obj "$tmp/bad.s" -o "$tmp/bad.o"
  text=$("$bin" disasm "$tmp/bad.o" 2>&1); json=$("$bin" disasm "$tmp/bad.o" --json 2>&1)
  if [ "$(grep -c '<unknown>$' <<<"$text")" = 2 ] && grep -q 'unknown opcode 0xff' <<<"$json" &&
     grep -q 'lddw: incomplete' <<<"$json"; then
    echo "PASS disasm_unknown_slots"
  else
    echo "FAIL disasm_unknown_slots: $(tr '\n' ' ' <<<"$text" | tail -c 300)"
  fi
else
  echo "SKIP disasm_unknown_slots: llvm-mc-19 not installed"
fi

# Errors: exit non-zero and say what, where and why.
expect_error() { # name pattern command...
  local name=$1 pattern=$2; shift 2
  local out rc
  out=$("$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" -ne 0 ] && grep -q -- "$pattern" <<<"$out"; then echo "PASS $name"
  else echo "FAIL $name: exit $rc, stderr '$(head -1 <<<"$out")', expected '$pattern'"; fi
}
printf 'hello, not an object\n' >"$tmp/text.o"
expect_error disasm_err_not_elf "$tmp/text.o: not an ELF file" "$bin" disasm "$tmp/text.o"
expect_error disasm_err_missing_file "cannot open" "$bin" disasm "$tmp/missing.o"
if [ -f "$obj" ]; then
  expect_error disasm_err_missing_section "no executable section named 'nope' (executable sections: .text, xdp, tc)" \
    "$bin" disasm "$obj" --section nope
  head -c 100 "$obj" >"$tmp/short.o"
  expect_error disasm_err_truncated_header "truncated file" "$bin" disasm "$tmp/short.o"
  size=$(stat -c %s "$obj"); head -c $((size - 200)) "$obj" >"$tmp/cut.o"
  expect_error disasm_err_truncated "truncated file" "$bin" disasm "$tmp/cut.o"
  if command -v python3 >/dev/null; then
    # a section whose bytes would lie past the end of the file (sh_offset of section 1 patched)
    python3 - "$obj" "$tmp/badsec.o" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], 'rb').read())
shoff, = struct.unpack_from('<Q', data, 0x28)
shentsize, = struct.unpack_from('<H', data, 0x3a)
struct.pack_into('<Q', data, shoff + shentsize * 1 + 0x18, len(data) - 4)
open(sys.argv[2], 'wb').write(data)
PY
    expect_error disasm_err_section_past_end "section 1 '.* extends past the end of the file" "$bin" disasm "$tmp/badsec.o"
  fi
  expect_error disasm_err_bad_syntax "unknown syntax 'intel'" "$bin" disasm "$obj" --syntax intel
fi
host_obj="$root/build/obj/tools/xdpvm.o"
[ -f "$host_obj" ] || host_obj=$(ls "$root"/build*/obj/tools/xdpvm.o 2>/dev/null | head -1)
if [ -n "$host_obj" ] && [ -f "$host_obj" ]; then
  expect_error disasm_err_not_bpf "not BPF" "$bin" disasm "$host_obj"
else
  echo "SKIP disasm_err_not_bpf: no host object file found to try"
fi
