# Sourced first by the shell tests of the xdpvm command (`. "$(dirname "$0")/lib/cli.sh"`):
# where the build is (root, bin, bpf: XDPVM_ROOT, XDPVM_BIN and XDPVM_BPF_DIR as tests/run.sh
# exports them, else this checkout's build/), a scratch folder $tmp removed at exit, and the
# PASS/FAIL line protocol of tests/lib/testlib.h.
root=${XDPVM_ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
bin=${XDPVM_BIN:-$root/build/bin/xdpvm}
bpf=${XDPVM_BPF_DIR:-$root/build/bpf}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
verdict() { # name: PASS when the previous command succeeded, else FAIL with $why
  if [ $? -eq 0 ]; then pass "$1"; else fail "$1" "${why:-condition failed}"; fi
}
check() { # name condition-exit-status message
  if [ "$2" -eq 0 ]; then echo "PASS $1"; else echo "FAIL $1: $3"; fi
}
json_field() { # file python-expression-on-d
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"
}
require_files() { # setup-case-name file...: a FAIL line and exit 1 when one is missing
  local name=$1 f
  shift
  for f in "$@"; do
    if [ ! -e "$f" ]; then
      echo "FAIL $name: $f missing (run make first)"
      exit 1
    fi
  done
}
