# xdpvm build. Plain GNU make: one pattern rule per kind of file, components found by
# wildcard (src/<component>/*.c), so adding a file needs no edit here.
#
#   make            install missing Debian packages, build library, CLI, examples, tests
#   make demo       the main job: router example over the bundled pcap
#   make test       every test, normal and ASan+UBSan builds; ends with "N passed, N failed"
#   make bench      benchmarks (ratios against baselines measured in the same run)
#   make soak-jit   long JIT-vs-interpreter differential run (ITERATIONS=N random programs)
#   make bench-live live-port benchmark on veth pairs (root): xdpvm AF_XDP/AF_PACKET vs kernel XDP
#   make fuzz       libFuzzer targets in fuzz/ for FUZZ_SECONDS each (default 60)

.DEFAULT_GOAL := all

CC       ?= cc
BPF_CC   ?= clang-19
V        ?= 0
Q        := $(if $(filter 1,$(V)),,@)

PKGS     := libbpf libxdp libpcap libelf zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CAPSTONE_CFLAGS := $(shell pkg-config --cflags capstone 2>/dev/null)
CAPSTONE_LIBS   := $(shell pkg-config --libs capstone 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter
BASE_CFLAGS := -std=gnu11 $(WARN) -Iinclude -Isrc -D_GNU_SOURCE $(PKG_CFLAGS) $(CAPSTONE_CFLAGS) -fPIC
OPT_CFLAGS  := -O2 -g
SAN_CFLAGS  := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDLIBS   := $(PKG_LIBS) $(CAPSTONE_LIBS) -lpthread -lm

BPF_CFLAGS := -O2 -g -target bpf -I/usr/include/x86_64-linux-gnu -Iinclude -Wall -Werror \
              -Wno-unused-function -mcpu=v3

LIB_SRCS   := $(sort $(wildcard src/*/*.c))
TOOL_SRCS  := $(sort $(wildcard tools/*.c))
TESTLIB_SRCS := $(sort $(wildcard tests/lib/*.c))
TEST_SRCS  := $(sort $(wildcard tests/test_*.c))
BENCH_SRCS := $(sort $(wildcard bench/bench_*.c))
EXAMPLE_SRCS := $(sort $(wildcard examples/*.bpf.c))
TESTBPF_SRCS := $(sort $(wildcard tests/bpf/*.bpf.c))
BENCHBPF_SRCS := $(sort $(wildcard bench/bpf/*.bpf.c))

# Two build trees: build/ (optimised) and build-san/ (ASan + UBSan), same sources.
define build_tree
$(1)/obj/%.o: %.c | deps
	@mkdir -p $$(dir $$@)
	@$(if $(filter 1,$(V)),,echo "  CC      $$@")
	$(Q)$(CC) $(BASE_CFLAGS) $(2) -MMD -MP -c $$< -o $$@

$(1)/libxdpvm.a: $(patsubst %.c,$(1)/obj/%.o,$(LIB_SRCS))
	@$(if $(filter 1,$(V)),,echo "  AR      $$@")
	$(Q)rm -f $$@ && ar rcs $$@ $$^

$(1)/bin/xdpvm: $(patsubst %.c,$(1)/obj/%.o,$(TOOL_SRCS)) $(1)/libxdpvm.a
	@mkdir -p $$(dir $$@)
	@$(if $(filter 1,$(V)),,echo "  LD      $$@")
	$(Q)$(CC) $(2) -o $$@ $$^ $(LDLIBS)

$(1)/tests/%: $(1)/obj/tests/%.o $(patsubst %.c,$(1)/obj/%.o,$(TESTLIB_SRCS)) $(1)/libxdpvm.a
	@mkdir -p $$(dir $$@)
	@$(if $(filter 1,$(V)),,echo "  LD      $$@")
	$(Q)$(CC) $(2) -o $$@ $$^ $(LDLIBS)

$(1)/bench/%: $(1)/obj/bench/%.o $(patsubst %.c,$(1)/obj/%.o,$(TESTLIB_SRCS)) $(1)/libxdpvm.a
	@mkdir -p $$(dir $$@)
	@$(if $(filter 1,$(V)),,echo "  LD      $$@")
	$(Q)$(CC) $(2) -o $$@ $$^ $(LDLIBS)

-include $$(shell find $(1)/obj -name '*.d' 2>/dev/null)
endef

$(eval $(call build_tree,build,$(OPT_CFLAGS)))
$(eval $(call build_tree,build-san,$(SAN_CFLAGS)))

build/libxdpvm.so: $(patsubst %.c,build/obj/%.o,$(LIB_SRCS))
	@echo "  LD      $@"
	$(Q)$(CC) -shared -o $@ $^ $(LDLIBS)

# BPF objects: examples and test programs, compiled at build time (none are committed).
build/bpf/%.o: %.bpf.c | deps
	@mkdir -p $(dir $@)
	@echo "  BPF     $@"
	$(Q)$(BPF_CC) $(BPF_CFLAGS) -MMD -MP -c $< -o $@
-include $(shell find build/bpf -name '*.d' 2>/dev/null)

TEST_BINS   := $(patsubst tests/%.c,build/tests/%,$(TEST_SRCS))
SANTEST_BINS:= $(patsubst tests/%.c,build-san/tests/%,$(TEST_SRCS))
BENCH_BINS  := $(patsubst bench/%.c,build/bench/%,$(BENCH_SRCS))
BPF_OBJS    := $(patsubst %.bpf.c,build/bpf/%.o,$(EXAMPLE_SRCS) $(TESTBPF_SRCS) $(BENCHBPF_SRCS))

# The JIT benchmark's native baseline for the micro-programs: their C logic compiled for the host
# by clang -O2.
build/bench/micro_native.o: bench/micro/native.c bench/micro/micro.h bench/micro/native.h | deps
	@mkdir -p $(dir $@)
	@echo "  CLANG   $@"
	$(Q)$(BPF_CC) -O2 -Wall -Werror -Isrc -c $< -o $@
build/bench/bench_jit: build/bench/micro_native.o

# The examples' native baseline (bench_jit's native column, tests/test_native_examples.c): each
# unchanged example compiled for the host by clang -O2 as a shared object (they share map and
# function names), with bench/native/bpf_host.h standing in for libbpf's bpf_helpers.h. Bound
# by symbol, so symbols bind inside the library (-Bsymbolic: no GOT loads for maps). The shim
# wraps the program as an executor and needs its name: the one function of the BPF object's
# XDP section.
LLVM_OBJDUMP ?= llvm-objdump-19
NATIVE_HOST_HDRS := bench/native/bpf_host.h bench/native/native_abi.h examples/xdp_common.h
NATIVE_EXAMPLES  := $(patsubst examples/%.bpf.c,build/bench/native/%.so,$(EXAMPLE_SRCS))
# $(1): the BPF source, $(2): its BPF object.
define native_build
	@mkdir -p $(dir $@)
	@echo "  NATIVE  $@"
	$(Q)program=$$($(LLVM_OBJDUMP) -t $(2) | awk '$$3 == "F" && $$4 ~ /^xdp/ {print $$6}'); \
	if [ "$$(echo $$program | wc -w)" != 1 ]; then \
	    echo "$(2): expected one function in an xdp section, found: '$$program'" >&2; exit 1; fi; \
	$(BPF_CC) -O2 -g $(WARN) -fPIC -shared -fno-semantic-interposition -Wl,-Bsymbolic \
	    -include bench/native/bpf_host.h -DXDPVM_NATIVE_PROGRAM=$$program -o $@ $(1)
endef
build/bench/native/%.so: examples/%.bpf.c build/bpf/examples/%.o $(NATIVE_HOST_HDRS) | deps
	$(call native_build,$<,build/bpf/examples/$*.o)
# The same for the test programs of the shim itself (tests/test_native_examples.c).
NATIVE_TESTS := build/bench/native/tests/native_lookup.so
build/bench/native/tests/%.so: tests/bpf/%.bpf.c build/bpf/tests/bpf/%.o $(NATIVE_HOST_HDRS) | deps
	$(call native_build,$<,build/bpf/tests/bpf/$*.o)

# The bundled capture, generated (deterministically) rather than committed.
DATA := build/data/mixed.pcap build/data/mixed.pcapng
build/data/mixed.pcap: scripts/gen_pcap.py
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)python3 scripts/gen_pcap.py $@
build/data/mixed.pcapng: scripts/gen_pcap.py
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)python3 scripts/gen_pcap.py --format pcapng $@

.PHONY: all deps lib cli tests san demo test test-fast bench bench-live soak-jit clean
.SECONDARY:

all: lib cli $(BPF_OBJS) $(DATA) $(NATIVE_EXAMPLES) $(NATIVE_TESTS) tests
lib: build/libxdpvm.a build/libxdpvm.so
cli: build/bin/xdpvm
tests: $(TEST_BINS)
san: build-san/bin/xdpvm $(SANTEST_BINS)

deps: build/.deps-ok
build/.deps-ok: scripts/deps.sh
	@./scripts/deps.sh
	@mkdir -p build && touch $@

# The main job: the router example over the bundled mixed-traffic pcap, with a default route
# (next_hops key 0.0.0.0 -> MACs 0a:0b:0c:0d:0e:0f / 1a:1b:1c:1d:1e:1f, ifindex 0 = back out
# with XDP_TX), printing per-action counts; each action's packets go to build/demo/.
DEMO_ROUTE := next_hops:00000000:0a0b0c0d0e0f1a1b1c1d1e1f00000000
demo: all
	@mkdir -p build/demo
	./build/bin/xdpvm run build/bpf/examples/router.o --in build/data/mixed.pcap \
	    --map-set $(DEMO_ROUTE) --out-tx build/demo/router-tx.pcap \
	    --out-pass build/demo/router-pass.pcap --out-drop build/demo/router-drop.pcap

# Every test in both trees. tests/run.sh prints the closing "N passed, N failed, N skipped".
test: all san
	@./tests/run.sh

test-fast: all
	@XDPVM_NO_SAN=1 ./tests/run.sh

# Long differential run of the JIT against the interpreter: ITERATIONS random programs
# (the test command runs 1500).
soak-jit: build/tests/test_jit_diff
	XDPVM_JIT_DIFF_ITERATIONS=$${ITERATIONS:-200000} ./build/tests/test_jit_diff | grep -v '^PASS diff_row'

bench: all $(BENCH_BINS)
	@./bench/run.sh

bench-live: all
	@./bench/bench_live.sh

clean:
	rm -rf build build-san build-fuzz

# libFuzzer targets: fuzz/fuzz_<name>.c, built with clang against the library sources (ASan +
# UBSan), each run for FUZZ_SECONDS on a corpus in build-fuzz/corpus/<name> seeded with
# fuzz/seeds/<name> (the loader: the clang-built test objects). Not part of `make test` (it is
# CPU-heavy by design); `make fuzz FUZZ_TARGETS="asm pcap"` runs some.
FUZZ_CC      ?= clang-19
FUZZ_SECONDS ?= 60
# Seconds for one input: a slower one fails the run and is saved as build-fuzz/timeout-*.
FUZZ_TIMEOUT ?= 30
FUZZ_SRCS    := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(patsubst fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
FUZZ_BINS    := $(patsubst %,build-fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_CFLAGS  := $(filter-out -Werror,$(BASE_CFLAGS)) -O1 -g -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=undefined -fno-omit-frame-pointer

# Targets may also drive the CLI's map printer.
FUZZ_TOOL_SRCS := tools/map_print.c tools/common.c

build-fuzz/%: fuzz/%.c $(LIB_SRCS) $(FUZZ_TOOL_SRCS) | deps
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Itools -o $@ $< $(LIB_SRCS) $(FUZZ_TOOL_SRCS) $(LDLIBS)

.PHONY: fuzz
fuzz: $(FUZZ_BINS) $(BPF_OBJS)
	@for bin in $(FUZZ_BINS); do \
	    name=$$(basename $$bin); corpus=build-fuzz/corpus/$$name; mkdir -p $$corpus; \
	    if [ $$name = fuzz_loader ]; then cp build/bpf/tests/bpf/*.o $$corpus/ 2>/dev/null; fi; \
	    python3 scripts/fuzz_seeds.py decode fuzz/seeds/$${name#fuzz_} $$corpus || exit 1; \
	    echo "  RUN     $$bin for $(FUZZ_SECONDS)s"; \
	    $$bin -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=2048 \
	        -artifact_prefix=build-fuzz/ -max_len=65536 $$corpus \
	        >build-fuzz/$$name.log 2>&1 || { tail -40 build-fuzz/$$name.log; exit 1; }; \
	    tail -2 build-fuzz/$$name.log; \
	done

# The test suite replays each target's committed seeds (fuzz/seeds/<name>/, hex or text; the
# loader's are the clang-built test objects) through the same LLVMFuzzerTestOneInput, built
# without libFuzzer in both trees: tests/test_fuzz_seeds.sh.
FUZZ_NAMES := $(patsubst fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
define fuzz_replay_tree
$(1)/obj/fuzz/%.o: fuzz/%.c | deps
	@mkdir -p $$(dir $$@)
	@$(if $(filter 1,$(V)),,echo "  CC      $$@")
	$(Q)$(CC) $(BASE_CFLAGS) -Itools $(2) -MMD -MP -c $$< -o $$@

$(1)/fuzz/replay_%: $(1)/obj/fuzz/fuzz_%.o $(1)/obj/fuzz/replay.o \
                    $(patsubst %.c,$(1)/obj/%.o,$(FUZZ_TOOL_SRCS)) $(1)/libxdpvm.a
	@mkdir -p $$(dir $$@)
	@$(if $(filter 1,$(V)),,echo "  LD      $$@")
	$(Q)$(CC) $(2) -o $$@ $$^ $(LDLIBS)
endef
$(eval $(call fuzz_replay_tree,build,$(OPT_CFLAGS)))
$(eval $(call fuzz_replay_tree,build-san,$(SAN_CFLAGS)))
tests: $(patsubst %,build/fuzz/replay_%,$(FUZZ_NAMES))
san: $(patsubst %,build-san/fuzz/replay_%,$(FUZZ_NAMES))
