/* The helper tables (one list, XDPVM_HELPERS, expands into the entries and the per-program-
 * type tables) and the generic helpers: maps, time, random, cpu, tail calls, queues,
 * ring buffers, csum_diff, for_each_map_elem and bpf_loop. XDP helpers are in xdp.c,
 * trace_printk in trace_printk.c. */
#include "helpers_impl.h"

#include "maps/maps.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <linux/bpf.h>

#define BPF_MAX_LOOPS (1u << 23)

static struct xdpvm_map *map_arg(uint64_t r) { return (struct xdpvm_map *)(uintptr_t)r; }
static void *ptr_arg(uint64_t r) { return (void *)(uintptr_t)r; }

static bool map_is(struct xdpvm_map *map, uint32_t type)
{
    return map && xdpvm_map_get_spec(map)->type == type;
}

HELPER_FN(map_lookup_elem)
{
    return (uint64_t)(uintptr_t)xdpvm_map_lookup(map_arg(r1), ptr_arg(r2), run->cpu);
}

HELPER_FN(map_update_elem)
{
    return helper_err(xdpvm_map_update(map_arg(r1), ptr_arg(r2), ptr_arg(r3), r4, run->cpu));
}

HELPER_FN(map_delete_elem) { return helper_err(xdpvm_map_delete(map_arg(r1), ptr_arg(r2))); }

HELPER_FN(map_push_elem)
{
    return helper_err(xdpvm_map_push(map_arg(r1), ptr_arg(r2), r3));
}

HELPER_FN(map_pop_elem) { return helper_err(xdpvm_map_pop(map_arg(r1), ptr_arg(r2), true)); }
HELPER_FN(map_peek_elem) { return helper_err(xdpvm_map_pop(map_arg(r1), ptr_arg(r2), false)); }

static uint64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

HELPER_FN(ktime_get_ns) { return clock_ns(CLOCK_MONOTONIC); }
HELPER_FN(ktime_get_boot_ns) { return clock_ns(CLOCK_BOOTTIME); }
HELPER_FN(ktime_get_coarse_ns) { return clock_ns(CLOCK_MONOTONIC_COARSE); }
HELPER_FN(ktime_get_tai_ns) { return clock_ns(CLOCK_TAI); }
HELPER_FN(get_numa_node_id) { return 0; } /* one memory node */

/* Another worker's slot of a per-CPU map; NULL for maps that are not per-CPU, and (from
 * xdpvm_map_lookup) past the last worker (the kernel: past nr_cpu_ids). */
HELPER_FN(map_lookup_percpu_elem)
{
    struct xdpvm_map *map = map_arg(r1);
    if (!map || !xdpvm_map_is_percpu(xdpvm_map_get_spec(map)->type))
        return 0;
    return (uint64_t)(uintptr_t)xdpvm_map_lookup(map, ptr_arg(r2), (uint32_t)r3);
}

/* xorshift64* per thread, seeded from the clock and the thread's own address. */
HELPER_FN(get_prandom_u32)
{
    static __thread uint64_t state;
    if (!state)
        state = (clock_ns(CLOCK_MONOTONIC) ^ (uint64_t)(uintptr_t)&state) | 1;
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (uint32_t)((state * 0x2545f4914f6cdd1dull) >> 32);
}

HELPER_FN(get_smp_processor_id) { return run->cpu; }

/* On success the executor replaces the current program by run->next_prog; on failure the
 * program goes on with the next instruction, as in the kernel. */
HELPER_FN(tail_call)
{
    struct xdpvm_map *map = map_arg(r2);
    uint32_t index = (uint32_t)r3;
    if (!map_is(map, XDPVM_MAP_PROG_ARRAY))
        return helper_err(-EINVAL);
    if (run->tail_call_count >= XDPVM_MAX_TAIL_CALLS)
        return helper_err(-ELOOP);
    const struct xdpvm_prog *next = xdpvm_map_prog_array_get(map, index);
    if (!next)
        return helper_err(-ENOENT);
    run->tail_call_count++;
    run->next_prog = next;
    return 0;
}

HELPER_FN(ringbuf_output)
{
    struct xdpvm_map *map = map_arg(r1);
    if (!map_is(map, XDPVM_MAP_RINGBUF) || (r4 & ~(uint64_t)(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)))
        return helper_err(-EINVAL);
    return helper_err(xdpvm_ringbuf_output(map, ptr_arg(r2), r3));
}

HELPER_FN(ringbuf_reserve)
{
    struct xdpvm_map *map = map_arg(r1);
    if (!map_is(map, XDPVM_MAP_RINGBUF) || r3 != 0)
        return 0;
    return (uint64_t)(uintptr_t)xdpvm_ringbuf_reserve(map, r2);
}

HELPER_FN(ringbuf_submit)
{
    if (r1)
        xdpvm_ringbuf_commit(ptr_arg(r1), false);
    return 0;
}

HELPER_FN(ringbuf_discard)
{
    if (r1)
        xdpvm_ringbuf_commit(ptr_arg(r1), true);
    return 0;
}

/* x86-64 csum_partial: 64-bit little-endian words added with end-around carry, any tail
 * bytes zero-padded, folded to 32 bits. */
static uint32_t csum_partial(const uint8_t *buf, size_t len, uint32_t seed)
{
    uint64_t sum = seed;
    for (; len >= 8; buf += 8, len -= 8) {
        uint64_t word;
        memcpy(&word, buf, 8);
        sum += word;
        sum += sum < word;
    }
    if (len) {
        uint64_t tail = 0;
        memcpy(&tail, buf, len);
        sum += tail;
        sum += sum < tail;
    }
    uint32_t hi = (uint32_t)(sum >> 32), lo = (uint32_t)sum;
    uint32_t folded = hi + lo;
    return folded + (folded < hi);
}

static uint32_t csum_add(uint32_t a, uint32_t b)
{
    uint32_t sum = a + b;
    return sum + (sum < b);
}

/* The kernel's csum_from32to16: fold to 16 bits without complementing. */
static uint16_t csum_from32to16(uint32_t sum)
{
    sum += (sum >> 16) | (sum << 16);
    return (uint16_t)(sum >> 16);
}

/* The kernel's bpf_csum_diff since 6.13 ("optimize and homogenize for all archs"): the
 * difference csum(to) - csum(from) plus seed, folded to 16 bits, for any sizes (the verifier
 * bounds the memory); older kernels returned the unfolded x86 value and wanted sizes that
 * are multiples of 4 and at most 512 bytes together. */
HELPER_FN(csum_diff)
{
    (void)run;
    const uint8_t *from = ptr_arg(r1), *to = ptr_arg(r3);
    uint32_t from_size = (uint32_t)r2, to_size = (uint32_t)r4;
    uint32_t ret = (uint32_t)r5;
    if (from_size && to_size)
        ret = csum_add(csum_partial(to, to_size, ret), ~csum_partial(from, from_size, 0));
    else if (to_size)
        ret = csum_partial(to, to_size, ret);
    else if (from_size)
        ret = ~csum_partial(from, from_size, ~ret);
    return csum_from32to16(ret);
}

struct for_each_state {
    struct xdpvm_run *run;
    uint64_t callback, map, ctx;
    uint8_t key[512];
};

/* The callback gets a copy of the key in a buffer registered as a readable region, so the
 * checked interpreter accepts the pointer and deletes during iteration stay harmless. */
static long for_each_trampoline(void *key, void *value, void *arg)
{
    struct for_each_state *st = arg;
    memcpy(st->key, key, xdpvm_map_get_spec(map_arg(st->map))->key_size);
    uint64_t ret = st->run->call_subprog(st->run, st->callback, st->map,
                                         (uint64_t)(uintptr_t)st->key,
                                         (uint64_t)(uintptr_t)value, st->ctx, 0);
    return ret != 0 || st->run->stop;
}

HELPER_FN(for_each_map_elem)
{
    struct xdpvm_map *map = map_arg(r1);
    if (r4 != 0 || !map)
        return helper_err(-EINVAL);
    if (!run->call_subprog) {
        xdpvm_run_fail(run, run->error_pc, -EOPNOTSUPP,
                       "for_each_map_elem: this executor cannot call back");
        return helper_err(-EOPNOTSUPP);
    }
    struct for_each_state st = {.run = run, .callback = r2, .map = r1, .ctx = r3};
    bool added = xdpvm_run_add_region(run, st.key, xdpvm_map_get_spec(map)->key_size, false,
                                      "for_each_map_elem key") == 0;
    long n = xdpvm_map_for_each(map, run->cpu, for_each_trampoline, &st);
    if (added)
        run->region_count--;
    return n < 0 ? helper_err((int)n) : (uint64_t)n;
}

HELPER_FN(loop)
{
    uint32_t nr_loops = (uint32_t)r1;
    if (r4 != 0)
        return helper_err(-EINVAL);
    /* The kernel's verifier inlines bpf_loop when flags is 0, and the inlined code sets
     * -E2BIG with a 32-bit move: programs see 0xfffffff9, not a 64-bit -7. */
    if (nr_loops > BPF_MAX_LOOPS)
        return (uint32_t)-E2BIG;
    if (!run->call_subprog) {
        xdpvm_run_fail(run, run->error_pc, -EOPNOTSUPP,
                       "bpf_loop: this executor cannot call back");
        return helper_err(-EOPNOTSUPP);
    }
    for (uint32_t i = 0; i < nr_loops; i++) {
        uint64_t ret = run->call_subprog(run, r2, i, r3, 0, 0, 0);
        if (ret || run->stop)
            return (uint64_t)i + 1;
    }
    return nr_loops;
}

/* id, name, return type, argument types, changes packet pointers, XDP only */
#define XDPVM_HELPERS(X)                                                                        \
    X(1, map_lookup_elem, RET_PTR_TO_MAP_VALUE_OR_NULL, A(CONST_MAP_PTR, PTR_TO_MAP_KEY), 0, 0)  \
    X(2, map_update_elem, RET_INTEGER,                                                           \
      A(CONST_MAP_PTR, PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE, ANYTHING), 0, 0)                        \
    X(3, map_delete_elem, RET_INTEGER, A(CONST_MAP_PTR, PTR_TO_MAP_KEY), 0, 0)                   \
    X(5, ktime_get_ns, RET_INTEGER, A(DONTCARE), 0, 0)                                           \
    X(6, trace_printk, RET_INTEGER, A(PTR_TO_MEM, CONST_SIZE), 0, 0)                             \
    X(7, get_prandom_u32, RET_INTEGER, A(DONTCARE), 0, 0)                                        \
    X(8, get_smp_processor_id, RET_INTEGER, A(DONTCARE), 0, 0)                                   \
    X(12, tail_call, RET_VOID, A(PTR_TO_CTX, CONST_MAP_PTR, ANYTHING), 0, 0)                     \
    X(23, redirect, RET_INTEGER, A(ANYTHING, ANYTHING), 0, 1)                                    \
    X(28, csum_diff, RET_INTEGER,                                                                \
      A(PTR_TO_MEM_OR_NULL, CONST_SIZE_OR_ZERO, PTR_TO_MEM_OR_NULL, CONST_SIZE_OR_ZERO,          \
        ANYTHING), 0, 0)                                                                         \
    X(42, get_numa_node_id, RET_INTEGER, A(DONTCARE), 0, 0)                                      \
    X(44, xdp_adjust_head, RET_INTEGER, A(PTR_TO_CTX, ANYTHING), 1, 1)                           \
    X(51, redirect_map, RET_INTEGER, A(CONST_MAP_PTR, ANYTHING, ANYTHING), 0, 1)                 \
    X(54, xdp_adjust_meta, RET_INTEGER, A(PTR_TO_CTX, ANYTHING), 1, 1)                           \
    X(65, xdp_adjust_tail, RET_INTEGER, A(PTR_TO_CTX, ANYTHING), 1, 1)                           \
    X(69, fib_lookup, RET_INTEGER, A(PTR_TO_CTX, PTR_TO_MEM, CONST_SIZE, ANYTHING), 0, 1)        \
    X(87, map_push_elem, RET_INTEGER, A(CONST_MAP_PTR, PTR_TO_MAP_VALUE, ANYTHING), 0, 0)        \
    X(88, map_pop_elem, RET_INTEGER, A(CONST_MAP_PTR, PTR_TO_UNINIT_MAP_VALUE), 0, 0)            \
    X(89, map_peek_elem, RET_INTEGER, A(CONST_MAP_PTR, PTR_TO_UNINIT_MAP_VALUE), 0, 0)           \
    X(125, ktime_get_boot_ns, RET_INTEGER, A(DONTCARE), 0, 0)                                    \
    X(130, ringbuf_output, RET_INTEGER,                                                          \
      A(CONST_MAP_PTR, PTR_TO_MEM, CONST_SIZE_OR_ZERO, ANYTHING), 0, 0)                          \
    X(131, ringbuf_reserve, RET_PTR_TO_ALLOC_MEM_OR_NULL,                                        \
      A(CONST_MAP_PTR, CONST_ALLOC_SIZE_OR_ZERO, ANYTHING), 0, 0)                                \
    X(132, ringbuf_submit, RET_VOID, A(PTR_TO_ALLOC_MEM, ANYTHING), 0, 0)                        \
    X(133, ringbuf_discard, RET_VOID, A(PTR_TO_ALLOC_MEM, ANYTHING), 0, 0)                       \
    X(160, ktime_get_coarse_ns, RET_INTEGER, A(DONTCARE), 0, 0)                                  \
    X(164, for_each_map_elem, RET_INTEGER,                                                       \
      A(CONST_MAP_PTR, PTR_TO_FUNC, PTR_TO_STACK_OR_NULL, ANYTHING), 0, 0)                       \
    X(181, loop, RET_INTEGER, A(ANYTHING, PTR_TO_FUNC, PTR_TO_STACK_OR_NULL, ANYTHING), 0, 0)    \
    X(188, xdp_get_buff_len, RET_INTEGER, A(PTR_TO_CTX), 0, 1)                                   \
    X(189, xdp_load_bytes, RET_INTEGER, A(PTR_TO_CTX, ANYTHING, PTR_TO_UNINIT_MEM, CONST_SIZE),  \
      0, 1)                                                                                      \
    X(190, xdp_store_bytes, RET_INTEGER, A(PTR_TO_CTX, ANYTHING, PTR_TO_MEM, CONST_SIZE), 0, 1)  \
    X(195, map_lookup_percpu_elem, RET_PTR_TO_MAP_VALUE_OR_NULL,                                 \
      A(CONST_MAP_PTR, PTR_TO_MAP_KEY, ANYTHING), 0, 0)                                          \
    X(208, ktime_get_tai_ns, RET_INTEGER, A(DONTCARE), 0, 0)

#define ARG1(a) XDPVM_ARG_##a
#define ARGS_1(a) {ARG1(a)}
#define ARGS_2(a, b) {ARG1(a), ARG1(b)}
#define ARGS_3(a, b, c) {ARG1(a), ARG1(b), ARG1(c)}
#define ARGS_4(a, b, c, d) {ARG1(a), ARG1(b), ARG1(c), ARG1(d)}
#define ARGS_5(a, b, c, d, e) {ARG1(a), ARG1(b), ARG1(c), ARG1(d), ARG1(e)}
#define PICK_ARGS(_1, _2, _3, _4, _5, N, ...) N
#define A(...) PICK_ARGS(__VA_ARGS__, ARGS_5, ARGS_4, ARGS_3, ARGS_2, ARGS_1, _)(__VA_ARGS__)

#define ENTRY(id, name, ret, args, changes, xdp_only)                                      \
    static const struct xdpvm_helper entry_##name = {id, #name, xdpvm_helper_##name,       \
                                                     XDPVM_##ret, args, changes};
XDPVM_HELPERS(ENTRY)
#undef ENTRY

#define ALL(id, name, ret, args, changes, xdp_only) [id] = &entry_##name,
#define GENERIC(id, name, ret, args, changes, xdp_only) [id] = xdp_only ? NULL : &entry_##name,
static const struct xdpvm_helper_table xdp_table = {.by_id = {XDPVM_HELPERS(ALL)}};
static const struct xdpvm_helper_table generic_table = {.by_id = {XDPVM_HELPERS(GENERIC)}};
#undef ALL
#undef GENERIC

const struct xdpvm_helper_table *xdpvm_helpers_for(enum xdpvm_prog_type type)
{
    return type == XDPVM_PROG_XDP ? &xdp_table : &generic_table;
}

/* Kernel helper names by id, from the kernel's own list (linux/bpf.h). */
#define KERNEL_NAME(name, ...) #name
static const char *const kernel_names[] = {__BPF_FUNC_MAPPER(KERNEL_NAME)};
#undef KERNEL_NAME

const char *xdpvm_helper_kernel_name(uint32_t id)
{
    if (id == 0 || id >= sizeof(kernel_names) / sizeof(kernel_names[0]))
        return NULL;
    return kernel_names[id];
}
