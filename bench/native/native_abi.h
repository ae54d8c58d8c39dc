/* What a natively compiled example (build/bench/native/NAME.so, see bpf_host.h) and the
 * process that loads it (tests/lib/native_example.c) share. The library has no link-time
 * dependency on xdpvm: the loader fills this structure, the one symbol the shim adds, with the
 * current run and xdpvm's own helper functions, and writes each xdpvm map pointer into the
 * storage of the map definition of the same name (see bpf_host.h). Plain C types only, so
 * that both sides compile it: the library without xdpvm's headers. */
#ifndef XDPVM_BENCH_NATIVE_ABI_H
#define XDPVM_BENCH_NATIVE_ABI_H

#include <stdint.h>

struct xdpvm_run;

/* Helper slots by kernel helper id: the size of xdpvm's helper table (XDPVM_MAX_HELPER_ID,
 * checked by the loader). */
#define XDPVM_NATIVE_HELPER_SLOTS 256

/* The name of the structure below in the library, for dlsym. */
#define XDPVM_NATIVE_HOST_SYMBOL "xdpvm_native_host"

struct xdpvm_native_host {
    /* The run in progress: helpers get it as their sixth argument, as from the JIT. Set by the
     * loader's exec before each call into the program (one run at a time per library). */
    struct xdpvm_run *run;
    /* xdpvm's helper functions (the helper ABI of src/runtime/runtime.h), NULL where xdpvm
     * has none for XDP. */
    uint64_t (*helper[XDPVM_NATIVE_HELPER_SLOTS])(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                                                  uint64_t r5, struct xdpvm_run *run);
};

#endif
