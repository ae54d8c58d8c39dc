/* The micro-benchmarks' logic compiled for the host with clang -O2 (see the Makefile): the
 * practical limit the JIT is compared with. Same source as the BPF programs. Each is also
 * wrapped as a struct xdpvm_prog.exec, so the benchmark calls it through the same per-packet
 * loop as the interpreter and the JIT: only the program's code differs. */
#include "micro.h"

#include "native.h"
#include "runtime/runtime.h"

static struct micro_counter native_counters[MICRO_COUNTERS];
#define MICRO_COUNTER_LOOKUP(key) ((key) < MICRO_COUNTERS ? &native_counters[(key)] : (void *)0)

static int native_map(void *data, void *data_end) { MICRO_MAP_BODY(data, data_end); }

#define NATIVE_EXEC(name, call)                                                              \
    int micro_native_##name(struct xdpvm_run *run, uint64_t *r0)                            \
    {                                                                                        \
        const struct xdpvm_xdp_md *md = run->ctx;                                            \
        void *data = (void *)(uintptr_t)md->data, *data_end = (void *)(uintptr_t)md->data_end; \
        *r0 = (uint64_t)(call)(data, data_end);                                              \
        return 0;                                                                            \
    }
NATIVE_EXEC(alu, micro_alu)
NATIVE_EXEC(parse, micro_parse)
NATIVE_EXEC(map, native_map)

/* The smallest exec: what the per-packet loop itself costs. */
int micro_native_nothing(struct xdpvm_run *run, uint64_t *r0)
{
    (void)run;
    *r0 = XDP_PASS;
    return 0;
}
