#!/usr/bin/env bash
# Make sure the Debian packages xdpvm builds and tests with are present.
# As root: installs what is missing with apt-get. Otherwise: prints the exact command and fails.
set -euo pipefail
PACKAGES=(
  build-essential pkg-config
  clang-19 llvm-19 libclang-rt-19-dev   # BPF C compiler, llvm-objdump, libFuzzer
  libelf-dev zlib1g-dev                 # ELF parsing
  libbpf-dev bpftool                    # BTF parsing, kernel loading and attach
  libxdp-dev                            # AF_XDP sockets, XDP attach
  libpcap-dev tshark                    # pcap read/write; tshark checks our pcaps
  libcapstone-dev                       # x86 disassembly of JIT output
  iproute2 python3 bc                   # namespaces/veth for live tests; pcap generator; shell arithmetic
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no without a prompt.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq >&2 || true
  log=$(mktemp)
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
  rm -f "$log"
else
  echo "deps: missing Debian packages: ${missing[*]}" >&2
  echo "deps: run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
