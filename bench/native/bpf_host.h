/* Host stand-in for libbpf's <bpf/bpf_helpers.h>, forced in front of an unchanged example
 * (clang -include, see the Makefile rule for build/bench/native/%.so) so that the example's
 * C code compiles for the host with clang -O2: the benchmark's "native" column, the practical
 * limit the JIT is measured against.
 *
 * Only the program's own code is native, and it does what a C program does with its data:
 * bpf_map_lookup_elem on an array or per-CPU array is an index check and an address, inline,
 * as the JIT and the kernel's JIT (map_gen_lookup) compile it. Every other helper, and the
 * lookup in any other map, is a host function calling xdpvm's implementation of that helper
 * (the function the interpreter and the JIT call, with the helper ABI's r1..r5 and the current
 * run). Every map is the xdpvm map the loader created from the BPF object: the loader
 * (tests/lib/native_example.c) writes a struct xdpvm_native_map (native_abi.h: the map
 * pointer, and an array's layout) into the storage of the `struct {...} name SEC(".maps")`
 * definition of the same name. That storage is unused otherwise (libbpf reads map definitions
 * from BTF, never their bytes) and holds one pointer per __uint/__type line, so a helper
 * turns &name back into the map with one load, as the JIT has it in an immediate, and an
 * array lookup reads the layout with a few. The context is xdpvm's struct xdpvm_xdp_md, whose
 * data and data_end are the packet's real addresses below 4 GiB, so the examples'
 * `(void *)(long)ctx->data` needs no translation.
 *
 * The program is entered as the JIT's code is, through struct xdpvm_prog's exec: the
 * Makefile names the program (-DXDPVM_NATIVE_PROGRAM=xdp_counter, from the BPF object) and
 * xdpvm_native_exec below, with the executors' signature, has it inlined, so a run is one
 * call into the library, not a call to a wrapper that calls the program. */
#ifndef XDPVM_BENCH_BPF_HOST_H
#define XDPVM_BENCH_BPF_HOST_H

#include <linux/bpf.h>
#include <linux/types.h>
#include <stddef.h>
#include <string.h>

#include "native_abi.h"

/* The real header and its helper definitions (function pointers to helper ids, meaningful
 * only to the BPF backend) are skipped: bpf_helper_defs.h is included only from it. */
#define __BPF_HELPERS__

#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
/* Sections mean nothing to the host; the symbols themselves are what the loader looks up. */
#define SEC(name)
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif

struct xdpvm_native_host xdpvm_native_host;

static __always_inline __u64 xdpvm_native_call(unsigned id, __u64 r1, __u64 r2, __u64 r3, __u64 r4,
                                               __u64 r5)
{
    return xdpvm_native_host.helper[id](r1, r2, r3, r4, r5, xdpvm_native_host.run);
}

/* The xdpvm map the loader stored in a map definition, as the helper ABI passes it. Read with
 * memcpy: the definition's declared type is the program's own struct. */
static __always_inline __u64 xdpvm_native_map(const void *definition)
{
    void *map;
    memcpy(&map, (const char *)definition + offsetof(struct xdpvm_native_map, map), sizeof(map));
    return (__u64)(unsigned long)map;
}

static __always_inline __u64 xdpvm_native_ptr(const void *p) { return (__u64)(unsigned long)p; }

/* The helpers, with libbpf's prototypes (bpf_helper_defs.h). */
/* An array's lookup without a call (native_abi.h, struct xdpvm_native_map); other maps' by
 * xdpvm's helper. Only an array's definition is read past array_base: the loader checked it
 * holds the whole record. */
static __always_inline void *bpf_map_lookup_elem(void *map, const void *key)
{
    __u8 *array_base;
    memcpy(&array_base, (const char *)map + offsetof(struct xdpvm_native_map, array_base),
           sizeof(array_base));
    if (!array_base)
        return (void *)(unsigned long)xdpvm_native_call(BPF_FUNC_map_lookup_elem,
                                                        xdpvm_native_map(map),
                                                        xdpvm_native_ptr(key), 0, 0, 0);
    struct xdpvm_native_map array;
    memcpy(&array, map, sizeof(array));
    __u32 index;
    memcpy(&index, key, sizeof(index));
    if (index >= array.max_entries)
        return NULL;
    __u8 *value = array_base + (__u64)index * array.index_stride;
    if (!array.cpu_stride)
        return value; /* a plain array: one value for every cpu */
    unsigned cpu = xdpvm_native_host.cpu;
    return cpu < array.ncpus ? value + (__u64)cpu * array.cpu_stride : NULL;
}
static __always_inline long bpf_map_update_elem(void *map, const void *key, const void *value,
                                                __u64 flags)
{
    return (long)xdpvm_native_call(BPF_FUNC_map_update_elem, xdpvm_native_map(map),
                                   xdpvm_native_ptr(key), xdpvm_native_ptr(value), flags, 0);
}
static __always_inline long bpf_map_delete_elem(void *map, const void *key)
{
    return (long)xdpvm_native_call(BPF_FUNC_map_delete_elem, xdpvm_native_map(map),
                                   xdpvm_native_ptr(key), 0, 0, 0);
}
static __always_inline long bpf_redirect(__u32 ifindex, __u64 flags)
{
    return (long)xdpvm_native_call(BPF_FUNC_redirect, ifindex, flags, 0, 0, 0);
}
static __always_inline long bpf_redirect_map(void *map, __u64 key, __u64 flags)
{
    return (long)xdpvm_native_call(BPF_FUNC_redirect_map, xdpvm_native_map(map), key, flags, 0, 0);
}
/* An int argument reaches a BPF helper sign-extended in its 64-bit register. */
static __always_inline long bpf_xdp_adjust_head(struct xdp_md *xdp_md, int delta)
{
    return (long)xdpvm_native_call(BPF_FUNC_xdp_adjust_head, xdpvm_native_ptr(xdp_md),
                                   (__u64)(__s64)delta, 0, 0, 0);
}
static __always_inline long bpf_xdp_adjust_meta(struct xdp_md *xdp_md, int delta)
{
    return (long)xdpvm_native_call(BPF_FUNC_xdp_adjust_meta, xdpvm_native_ptr(xdp_md),
                                   (__u64)(__s64)delta, 0, 0, 0);
}
static __always_inline long bpf_xdp_adjust_tail(struct xdp_md *xdp_md, int delta)
{
    return (long)xdpvm_native_call(BPF_FUNC_xdp_adjust_tail, xdpvm_native_ptr(xdp_md),
                                   (__u64)(__s64)delta, 0, 0, 0);
}
static __always_inline __s64 bpf_csum_diff(__be32 *from, __u32 from_size, __be32 *to, __u32 to_size,
                                           __wsum seed)
{
    return (__s64)xdpvm_native_call(BPF_FUNC_csum_diff, xdpvm_native_ptr(from), from_size,
                                    xdpvm_native_ptr(to), to_size, seed);
}

#ifndef XDPVM_NATIVE_PROGRAM
#error "bench/native/bpf_host.h: compile with -DXDPVM_NATIVE_PROGRAM=<the XDP program's function>"
#endif
#define XDPVM_NATIVE_STRING(x) #x
#define XDPVM_NATIVE_NAME(x) XDPVM_NATIVE_STRING(x)

/* The example defines it further down; inlined into the exec all the same (one unit). */
int XDPVM_NATIVE_PROGRAM(struct xdp_md *ctx);

const char xdpvm_native_program[] = XDPVM_NATIVE_NAME(XDPVM_NATIVE_PROGRAM);

/* struct xdpvm_prog's exec (native_abi.h). flatten: the program's body in here, whatever its
 * size. */
__attribute__((flatten)) int xdpvm_native_exec(struct xdpvm_run *run, __u64 *r0)
{
    const char *fields = (const char *)run;
    struct xdp_md *ctx;
    memcpy(&ctx, fields + XDPVM_NATIVE_RUN_CTX_OFFSET, sizeof(ctx));
    unsigned cpu;
    memcpy(&cpu, fields + XDPVM_NATIVE_RUN_CPU_OFFSET, sizeof(cpu));
    xdpvm_native_host.run = run;
    xdpvm_native_host.cpu = cpu;
    *r0 = (__u32)XDPVM_NATIVE_PROGRAM(ctx);
    int error;
    memcpy(&error, fields + xdpvm_native_host.run_error_offset, sizeof(error));
    return error;
}

#endif
