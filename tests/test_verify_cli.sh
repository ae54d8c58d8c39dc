#!/usr/bin/env bash
# `xdpvm verify`: verdicts and exit status, the rejection log (instruction, registers, path,
# reason, statistics), --section, --json and usage errors.
set -u
. "$(dirname "$0")/lib/cli.sh"
ok="$bpf/tests/bpf/verif_ok.o"
bad="$bpf/tests/bpf/verif_bad.o"


"$bin" verify "$ok" >"$tmp/ok" 2>&1; rc=$?
check verify_cli_accepts_ok_corpus $rc "exit $rc: $(head -3 "$tmp/ok")"
n=$(grep -c '^accepted' "$tmp/ok")
[ "$n" -ge 12 ]; check verify_cli_every_program_reported $? "$n 'accepted' lines, expected 12"
grep -q '^processed [0-9]* insns, [0-9]* states stored, peak [0-9]* states' "$tmp/ok"
check verify_cli_statistics $? "no statistics line: $(tail -2 "$tmp/ok")"

"$bin" verify "$bad" --section xdp >"$tmp/bad" 2>&1; rc=$?
[ "$rc" -eq 1 ]; check verify_cli_rejects_bad_corpus $? "exit $rc, expected 1"
grep -q '^rejected at insn [0-9]*: ' "$tmp/bad"; check verify_cli_log_insn $? "no 'rejected at insn N: <disassembly>' line"
grep -q '^registers: .*r10=fp0' "$tmp/bad"; check verify_cli_log_registers $? "no register state line"
grep -q '^path: [0-9]* branch decision' "$tmp/bad"; check verify_cli_log_path $? "no branch decisions"
grep -q '^reason: r1 points into the packet at offset 30..34 but only 33 bytes are proven before data_end' "$tmp/bad"
check verify_cli_log_reason $? "reason line missing or different: $(grep '^reason' "$tmp/bad" | head -1)"

"$bin" verify "$bad" --json >"$tmp/json" 2>"$tmp/json.err"; rc=$?
python3 - "$tmp/json" <<'PY' >"$tmp/json.check" 2>&1
import json, sys
doc = json.load(open(sys.argv[1]))
assert isinstance(doc, list) and len(doc) >= 12, "expected one object per program"
for p in doc:
    assert p["accepted"] is False, p["name"] + " accepted"
    assert p["reason"] and isinstance(p["error_insn"], int), p
    assert p["insns_processed"] >= 1 and "time_ms" in p, p
PY
[ "$rc" -eq 1 ] && [ ! -s "$tmp/json.check" ]
check verify_cli_json $? "exit $rc; $(cat "$tmp/json.check" | tail -2)"

"$bin" verify "$ok" --log-level 2 --section xdp >"$tmp/l2" 2>&1
grep -q '^0: r1 = \*(u32 \*)(r1 + 0x0) *; r1=ctx(off=0) r10=fp0' "$tmp/l2" || grep -q '^[0-9]*: .*;.*r10=fp0' "$tmp/l2"
check verify_cli_log_level_2 $? "no per-instruction state lines"

"$bin" verify "$ok" --log-level 7 >/dev/null 2>"$tmp/usage"; rc=$?
[ "$rc" -eq 2 ] && grep -q 'log-level' "$tmp/usage"; check verify_cli_bad_log_level $? "exit $rc: $(cat "$tmp/usage")"
"$bin" verify >/dev/null 2>"$tmp/usage"; rc=$?
[ "$rc" -eq 2 ] && grep -q 'usage: xdpvm verify' "$tmp/usage"; check verify_cli_no_file $? "exit $rc"
"$bin" verify "$tmp/missing.o" >/dev/null 2>"$tmp/missing"; rc=$?
[ "$rc" -eq 1 ] && grep -q 'missing.o' "$tmp/missing"; check verify_cli_missing_file $? "exit $rc: $(cat "$tmp/missing")"
"$bin" verify "$ok" --section nosuch >/dev/null 2>"$tmp/nosec"; rc=$?
[ "$rc" -eq 1 ] && grep -q 'no program in section nosuch' "$tmp/nosec"; check verify_cli_unknown_section $? "exit $rc: $(cat "$tmp/nosec")"
