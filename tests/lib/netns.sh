# Shared by the live tests (tests/test_live_*.sh): private network namespaces and veth pairs
# with unique names, removed on exit even when the test fails, and the PASS/FAIL/SKIP protocol
# of tests/lib/testlib.h.
#
#   . "$(dirname "$0")/lib/netns.sh"
#   live_require || exit 0          # SKIP lines printed when not root / no netns
#   ns_add a; ns_add b              # namespaces "$LIVE_ID-a", "$LIVE_ID-b" (ids in $NS_a ...)
#   veth_add a va b vb              # veth pair va (in a) <-> vb (in b), both up, no IPv6 noise
set -u
LIVE_ROOT=${XDPVM_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
XDPVM=${XDPVM_BIN:-$LIVE_ROOT/build/bin/xdpvm}
BPF_DIR=${XDPVM_BPF_DIR:-$LIVE_ROOT/build/bpf}
# Short and unique: namespace and interface names must fit in 15 characters.
LIVE_ID="xl$$"
LIVE_TMP=$(mktemp -d "/tmp/xdpvm-live-$$-XXXX")
LIVE_NAMESPACES=()
LIVE_PIDS=()

pass() { echo "PASS $1"; }
fail() { local n=$1; shift; echo "FAIL $n: $*"; }
skip() { local n=$1; shift; echo "SKIP $n: $*"; }
check() { # name condition-status message...
  local n=$1 ok=$2; shift 2
  if [ "$ok" = 0 ]; then pass "$n"; else fail "$n" "$*"; fi
}

live_cleanup() {
  local pid
  [ -n "${LIVE_WATCHDOG:-}" ] && kill "$LIVE_WATCHDOG" 2>/dev/null
  for pid in "${LIVE_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  for pid in "${LIVE_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  local ns
  for ns in "${LIVE_NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$LIVE_TMP"
}
trap live_cleanup EXIT
trap 'echo "FAIL ${LIVE_CASE:-live}: stopped (timeout or signal)"; exit 1' INT TERM
# Every live test ends by itself: after LIVE_TIMEOUT seconds the watchdog stops it, and the
# EXIT trap removes what it made.
( sleep "${LIVE_TIMEOUT:-30}" & s=$!; trap 'kill $s; exit 0' TERM; wait $s; kill -TERM $$ ) >/dev/null 2>&1 &
LIVE_WATCHDOG=$!

# Prints SKIP lines for the given case names and returns 1 when live tests cannot run here.
live_require() {
  local why=""
  if [ "$(id -u)" != 0 ]; then why="needs root (network namespaces, AF_XDP)"
  elif ! ip netns add "$LIVE_ID-probe" 2>/dev/null; then why="cannot create network namespaces"
  else ip netns del "$LIVE_ID-probe"
  fi
  if [ -z "$why" ] && [ ! -x "$XDPVM" ]; then why="$XDPVM is not built"; fi
  if [ -n "$why" ]; then
    local n
    for n in "$@"; do skip "$n" "$why"; done
    return 1
  fi
  return 0
}

ns_add() { # short-name
  local ns="$LIVE_ID-$1"
  ip netns add "$ns" || return 1
  LIVE_NAMESPACES+=("$ns")
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  printf -v "NS_$1" '%s' "$ns"
}

veth_add() { # ns1 if1 ns2 if2
  # Created inside the namespaces, so ifindexes are small (devmaps are indexed by them).
  local ns1="$LIVE_ID-$1" ns2="$LIVE_ID-$3"
  ip -n "$ns1" link add "$2" type veth peer name "$4" netns "$ns2" || return 1
  ip netns exec "$ns1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
  ip netns exec "$ns2" sysctl -qw "net.ipv6.conf.$4.disable_ipv6=1"
  ip -n "$ns1" link set "$2" up && ip -n "$ns2" link set "$4" up
}

nsx() { # short-name command...: run in a namespace
  local ns="$LIVE_ID-$1"; shift
  ip netns exec "$ns" "$@"
}

# Turn off TX checksum offload (no ethtool here: SIOCETHTOOL/ETHTOOL_STXCSUM). A veth leaves
# TCP/UDP checksums for "hardware" to fill in; frames that cross AF_XDP keep them unfilled,
# and a stack receiving them drops them.
no_tx_csum() { # ns ifname
  nsx "$1" python3 -c "
import fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
val = struct.pack('II', 0x17, 0)
buf = bytearray(struct.pack('16sP16x', sys.argv[1].encode(), 0))  # struct ifreq: 40 bytes
import ctypes
data = ctypes.create_string_buffer(val)
struct.pack_into('P', buf, 16, ctypes.addressof(data))
fcntl.ioctl(s, 0x8946, bytes(buf))
" "$2"
}

if_mac() { nsx "$1" cat "/sys/class/net/$2/address"; }
if_index() { nsx "$1" cat "/sys/class/net/$2/ifindex"; }
if_stat() { nsx "$1" cat "/sys/class/net/$2/statistics/$3"; }

# Start a capture of an interface into a pcap file in the background; returns once it runs.
capture_start() { # ns ifname file
  local log="$3.log"
  # ip directly, not through a shell function: $! must be dumpcap itself.
  ip netns exec "$LIVE_ID-$1" dumpcap -q -i "$2" -w "$3" >"$log" 2>&1 &
  local pid=$!
  LIVE_PIDS+=("$pid")
  CAPTURE_PID=$pid
  local i
  for i in $(seq 1 100); do
    # dumpcap says so a moment before its socket sees packets on a loaded machine.
    grep -q "Capturing on" "$log" 2>/dev/null && { sleep 0.3; return 0; }
    sleep 0.05
  done
  return 1
}
capture_stop() { # pid
  # TERM, not INT: background jobs of a script start with SIGINT ignored.
  kill -TERM "$1" 2>/dev/null
  local i
  for i in $(seq 1 40); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
  wait "$1" 2>/dev/null
  return 0
}
