#!/usr/bin/env bash
# `xdpvm disasm FILE.o --jited` (tools/disasm_jited.c): every BPF instruction of every program
# followed by the JIT's x86-64 code (libcapstone), in text and JSON; blinding hides immediates;
# errors name the file.
set -u
bin=${XDPVM_BIN:-build/bin/xdpvm}
bpf=${XDPVM_BPF_DIR:-build/bpf}

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

obj=$bpf/examples/router.o
out=$("$bin" disasm "$obj" --jited 2>&1)
rc=$?
# one "; N: text" line per BPF instruction, as many as the plain disassembly has
bpf_lines=$(printf '%s\n' "$out" | grep -c '^; [0-9]*: ')
plain=$("$bin" disasm "$obj" --json | python3 -c '
import json, sys
doc = json.load(sys.stdin)
secs = doc if isinstance(doc, list) else doc.get("sections", [])
print(sum(len(s.get("insns", [])) for s in secs if s.get("name") == "xdp"))' 2>/dev/null)
if [ $rc -eq 0 ] && [ "$bpf_lines" -gt 20 ] && printf '%s\n' "$out" | grep -q 'callq	\*%r10' &&
   printf '%s\n' "$out" | grep -q '^; unwind'; then
  pass disasm_jited_text
else
  fail disasm_jited_text "rc $rc, $bpf_lines BPF lines (plain disasm: $plain); head: $(printf '%s\n' "$out" | head -3)"
fi

# every BPF line is followed by machine code, or says which instruction's code does its work
# (merged byte accesses); the second slot of lddw has no line
gaps=$(printf '%s\n' "$out" | awk '/^; [0-9]+: /{ if (prev) n++; prev=1; next } /^ *[0-9a-f]+:\t/{prev=0}
                                   /^;\t\(done by the code of [0-9]+\)$/{prev=0} END{print n+0}')
[ "$gaps" = 0 ] && pass disasm_jited_code_for_every_insn || fail disasm_jited_code_for_every_insn "$gaps BPF instructions without code"

json=$("$bin" disasm "$obj" --jited --json 2>&1)
if printf '%s' "$json" | python3 -c '
import json, sys
progs = json.load(sys.stdin)
p = progs[0]
assert p["name"] and p["section"] == "xdp" and p["bytes"] > 0
assert all(i["x86"] or i.get("merged_into", i["pc"]) < i["pc"] for i in p["insns"]), "instruction without code"
assert p["insns"][0]["pc"] == 0 and p["entries"] and p["unwind"]
total = sum(len(x["bytes"].split()) for part in (p["entries"], p["unwind"]) for x in part)
total += sum(len(x["bytes"].split()) for i in p["insns"] for x in i["x86"])
assert total == p["bytes"], (total, p["bytes"])
' 2>/tmp/disasm_jited_json.$$; then
  pass disasm_jited_json
else
  fail disasm_jited_json "$(tail -1 /tmp/disasm_jited_json.$$)"
fi
rm -f /tmp/disasm_jited_json.$$

# blinded: the constant 0x3e8 (1000) of the router's TTL check... any lddw/imm: compare the
# set of 32-bit immediates between plain and blinded code
imms() { "$bin" disasm "$obj" --jited $1 | grep -o '\$0x[0-9a-f]\{5,8\}\b' | sort -u; }
plain_imms=$(imms "")
blind_imms=$(imms --blind)
common=$(comm -12 <(printf '%s\n' "$plain_imms") <(printf '%s\n' "$blind_imms") | grep -c .)
[ -n "$plain_imms" ] && [ "$common" = 0 ] && pass disasm_jited_blind ||
  fail disasm_jited_blind "$common immediates appear in both plain and blinded code"

out=$("$bin" disasm /nonexistent.o --jited 2>&1)
[ $? -ne 0 ] && printf '%s' "$out" | grep -q nonexistent.o && pass disasm_jited_missing_file ||
  fail disasm_jited_missing_file "got: $out"
out=$("$bin" disasm "$obj" --jited --section nosuch 2>&1)
[ $? -ne 0 ] && printf '%s' "$out" | grep -q nosuch && pass disasm_jited_unknown_section ||
  fail disasm_jited_unknown_section "got: $out"
out=$("$bin" help 2>&1)
printf '%s' "$out" | grep -q 'xdpvm disasm FILE.o --jited' && pass disasm_jited_listed_in_help ||
  fail disasm_jited_listed_in_help "xdpvm help does not list disasm --jited"
