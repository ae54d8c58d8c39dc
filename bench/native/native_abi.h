/* What a natively compiled example (build/bench/native/NAME.so, see bpf_host.h) and the
 * process that loads it (tests/lib/native_example.c) share. The library has no link-time
 * dependency on xdpvm: the loader fills struct xdpvm_native_host with xdpvm's own helper
 * functions, writes a struct xdpvm_native_map into the storage of each map definition of the
 * same name (see bpf_host.h) and runs the program through the library's exec. Plain C types
 * only, so that both sides compile it: the library without xdpvm's headers. */
#ifndef XDPVM_BENCH_NATIVE_ABI_H
#define XDPVM_BENCH_NATIVE_ABI_H

#include <stdint.h>

struct xdpvm_run;

/* Helper slots by kernel helper id: the size of xdpvm's helper table (XDPVM_MAX_HELPER_ID,
 * checked by the loader). */
#define XDPVM_NATIVE_HELPER_SLOTS 256

/* The library's symbols, for dlsym: the structure below; the program's name (a string, the
 * function the Makefile named by -DXDPVM_NATIVE_PROGRAM, taken from the BPF object); and the
 * program wrapped as an executor, int exec(struct xdpvm_run *run, uint64_t *r0) as struct
 * xdpvm_prog wants it (src/runtime/runtime.h): it sets run and cpu below, calls the program
 * (inlined into it: one call per run, as the JIT's code is entered) and returns run->error. */
#define XDPVM_NATIVE_HOST_SYMBOL "xdpvm_native_host"
#define XDPVM_NATIVE_PROGRAM_SYMBOL "xdpvm_native_program"
#define XDPVM_NATIVE_EXEC_SYMBOL "xdpvm_native_exec"

/* Where the exec finds the context and the cpu in struct xdpvm_run, opaque to the library
 * (the loader checks these against src/runtime/runtime.h at compile time). */
#define XDPVM_NATIVE_RUN_CTX_OFFSET 8
#define XDPVM_NATIVE_RUN_CPU_OFFSET 16

/* What the loader writes over a map definition `struct {...} name SEC(".maps")`. A BTF map
 * definition has one pointer-sized member per __uint/__type line; every map has at least two
 * (type and max_entries or value), an array at least four (type, max_entries, key, value), so
 * the loader requires the first 16 bytes of any definition and all 32 of an array's.
 *
 * For an array or per-CPU array whose strides fit in 32 bits, array_base is non-NULL and a
 * lookup is, like the JIT's and the kernel's inlined one, index < max_entries and an address:
 * array_base + index * index_stride, plus cpu * cpu_stride for a per-CPU array (cpu_stride
 * non-zero), whose lookup is NULL on a cpu >= ncpus; a plain array's value is the same for
 * every cpu. The layout is xdpvm_map_array_layout() of src/maps/maps.h. */
struct xdpvm_native_map {
    void *map;           /* the xdpvm map, as the helper ABI passes it */
    uint8_t *array_base; /* NULL: not an inlinable array, lookups call the helper */
    uint32_t max_entries;
    uint32_t ncpus;
    uint32_t index_stride;
    uint32_t cpu_stride; /* 0: a plain array */
};

/* The storage the loader needs in a map definition: the first two fields of any map (the map,
 * and array_base NULL when it is not an array), the whole record in an array's. */
#define XDPVM_NATIVE_MAP_MIN_SIZE (2 * sizeof(void *))

struct xdpvm_native_host {
    /* The run in progress: helpers get it as their sixth argument, as from the JIT. Set by the
     * library's exec before each call into the program (one run at a time per library). */
    struct xdpvm_run *run;
    /* run->cpu, copied with run: per-CPU arrays' slot. */
    unsigned cpu;
    /* offsetof(struct xdpvm_run, error), set by the loader: what the exec returns. */
    uint32_t run_error_offset;
    /* xdpvm's helper functions (the helper ABI of src/runtime/runtime.h), NULL where xdpvm
     * has none for XDP. */
    uint64_t (*helper[XDPVM_NATIVE_HELPER_SLOTS])(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
                                                  uint64_t r5, struct xdpvm_run *run);
};

#endif
