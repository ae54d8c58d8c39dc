#!/usr/bin/env bash
# --json errors, bpftool style: a command that fails before printing its document leaves one
# JSON object {"error": "..."} on stdout (the text error stays on stderr, the exit status is
# non-zero); a command that printed its document and then failed prints nothing more, so
# stdout is always exactly one JSON document.
set -u
. "$(dirname "$0")/lib/cli.sh"
pcap=$root/build/data/mixed.pcap
router=$bpf/examples/router.o
oob=$bpf/tests/bpf/xdp_cli_oob.o

# The one JSON document on stdout, printed as python repr; fails when there is not exactly one.
one_document() {
  python3 -c 'import json,sys; print(repr(json.loads(sys.stdin.read())))' <"$1" 2>/dev/null
}

for f in "$bin" "$router" "$oob" "$pcap"; do
  [ -e "$f" ] || { echo "FAIL cli_json_errors: $f missing (run make)"; exit 0; }
done

# name | expected phrase in the error | command
while IFS='|' read -r name phrase args; do
  # shellcheck disable=SC2086 # the argument list is split on purpose
  "$bin" $args --json >"$tmp/out" 2>"$tmp/err"; rc=$?
  doc=$(one_document "$tmp/out")
  why="exit $rc, stdout '$(head -c 200 "$tmp/out")', stderr '$(head -1 "$tmp/err")'"
  [ "$rc" -ne 0 ] && [[ "$doc" == "{'error': "*"$phrase"* ]] && grep -q "xdpvm: error: .*$phrase" "$tmp/err"
  check "cli_json_error_$name" $? "$why"
done <<EOF
disasm_missing_file|/nonexistent.o: cannot open|disasm /nonexistent.o
disasm_jited_not_elf|not an ELF file|disasm $pcap --jited
verify_missing_file|/nonexistent.o: cannot open|verify /nonexistent.o
map_missing_file|/nonexistent.o: cannot open|map dump /nonexistent.o
run_missing_capture|/nonexistent.pcap: cannot read|run $router --in /nonexistent.pcap
run_unsafe_program|rejected by the verifier at instruction|run $oob --in $pcap
bench_missing_capture|/nonexistent.pcap: cannot read|bench $router --in /nonexistent.pcap
EOF

# A failure after the document: the run's own document says what went wrong, nothing follows.
head -c 5000 "$pcap" >"$tmp/cut.pcap"
"$bin" run "$router" --in "$tmp/cut.pcap" --json >"$tmp/out" 2>"$tmp/err"; rc=$?
doc=$(one_document "$tmp/out")
[ "$rc" -ne 0 ] && [[ "$doc" == *"'input_error': "*"damaged capture"* ]] && [[ "$doc" != *"'error': "* ]]
check cli_json_error_after_document_not_added $? "exit $rc, stdout '$(head -c 300 "$tmp/out")'"

# A rejection is a verdict, not an error: verify's document, exit status 1.
"$bin" verify "$oob" --json >"$tmp/out" 2>"$tmp/err"; rc=$?
doc=$(one_document "$tmp/out")
[ "$rc" -eq 1 ] && [[ "$doc" == "[{'name': 'xdp_cli_oob'"*"'accepted': False"* ]]
check cli_json_verify_rejection_is_a_document $? "exit $rc, stdout '$(head -c 300 "$tmp/out")'"

# Without --json, stdout stays empty on errors.
"$bin" verify /nonexistent.o >"$tmp/out" 2>/dev/null
[ ! -s "$tmp/out" ]; check cli_text_error_leaves_stdout_empty $? "stdout '$(head -c 200 "$tmp/out")'"
