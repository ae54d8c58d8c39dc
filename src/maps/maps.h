/* BPF maps with kernel semantics and kernel type numbers (enum bpf_map_type).
 *
 * Every map keeps its values in one arena allocated at creation (like the kernel's
 * preallocated maps), so the checked interpreter can tell whether a pointer is a map value
 * (xdpvm_map_storage). Maps are safe for concurrent use by worker threads; per-CPU maps
 * have one value slot per worker ("cpu"), chosen by the caller.
 *
 * Two families of operations:
 *  - program side (helpers): lookup returns a pointer into the arena for one cpu;
 *  - user side (CLI, tests, loader): values are copied; for per-CPU maps a value is
 *    ncpus * round_up(value_size, 8) bytes, one slot per cpu, as libbpf does. */
#ifndef XDPVM_MAPS_H
#define XDPVM_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xdpvm_map;

/* enum bpf_map_type numbering */
enum xdpvm_map_type {
    XDPVM_MAP_HASH = 1, XDPVM_MAP_ARRAY = 2, XDPVM_MAP_PROG_ARRAY = 3,
    XDPVM_MAP_PERF_EVENT_ARRAY = 4, XDPVM_MAP_PERCPU_HASH = 5, XDPVM_MAP_PERCPU_ARRAY = 6,
    XDPVM_MAP_LRU_HASH = 9, XDPVM_MAP_LRU_PERCPU_HASH = 10, XDPVM_MAP_LPM_TRIE = 11,
    XDPVM_MAP_DEVMAP = 14, XDPVM_MAP_XSKMAP = 17, XDPVM_MAP_QUEUE = 22, XDPVM_MAP_STACK = 23,
    XDPVM_MAP_DEVMAP_HASH = 25, XDPVM_MAP_RINGBUF = 27,
};

/* Update flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST); map_flags BPF_F_NO_PREALLOC etc. kept. */
enum { XDPVM_ANY = 0, XDPVM_NOEXIST = 1, XDPVM_EXIST = 2 };

struct xdpvm_map_spec {
    char name[64];
    uint32_t type;        /* enum xdpvm_map_type */
    uint32_t key_size;
    uint32_t value_size;
    uint32_t max_entries;
    uint32_t map_flags;
};

/* Create a map for ncpus workers. On failure returns NULL and writes a sentence to err
 * (e.g. "map 'foo': unsupported map type 12 (BPF_MAP_TYPE_ARRAY_OF_MAPS)"). */
struct xdpvm_map *xdpvm_map_create(const struct xdpvm_map_spec *spec, unsigned ncpus, char *err,
                                   size_t err_size);
void xdpvm_map_free(struct xdpvm_map *map);
const struct xdpvm_map_spec *xdpvm_map_get_spec(const struct xdpvm_map *map);
unsigned xdpvm_map_ncpus(const struct xdpvm_map *map);
const char *xdpvm_map_type_name(uint32_t type); /* "hash", "percpu_array", ...; NULL if unknown */
bool xdpvm_map_is_percpu(uint32_t type);

/* Where an array map (array, per-CPU array) keeps its values, so the JIT can inline lookups
 * as the kernel's map_gen_lookup does: xdpvm_map_lookup(map, &i, cpu) is NULL unless
 * i < max_entries (and, per-CPU array only, cpu < ncpus), and is
 * base + i * index_stride + cpu * cpu_stride otherwise. cpu_stride is 0 exactly for a plain
 * array, whose lookups ignore the cpu. false for other map types. */
struct xdpvm_map_array_layout {
    uint8_t *base;
    uint64_t index_stride, cpu_stride;
    uint32_t max_entries;
    unsigned ncpus;
};
bool xdpvm_map_array_layout(const struct xdpvm_map *map, struct xdpvm_map_array_layout *out);

/* The arena holding all values (all cpus); for run-time pointer checks. */
void xdpvm_map_storage(const struct xdpvm_map *map, void **start, size_t *len);

/* Program side (kernel semantics). cpu selects the per-CPU slot (ignored otherwise).
 * lookup returns NULL when absent, and in a per-CPU map for a cpu past the last. update/delete return 0 or a negative errno
 * (-E2BIG full, -EEXIST/-ENOENT for NOEXIST/EXIST, -EINVAL bad flags/key). */
void *xdpvm_map_lookup(struct xdpvm_map *map, const void *key, unsigned cpu);
int xdpvm_map_update(struct xdpvm_map *map, const void *key, const void *value, uint64_t flags,
                     unsigned cpu);
int xdpvm_map_delete(struct xdpvm_map *map, const void *key);
/* queue/stack: push (flags BPF_EXIST overwrites the oldest when full), pop, peek. */
int xdpvm_map_push(struct xdpvm_map *map, const void *value, uint64_t flags);
int xdpvm_map_pop(struct xdpvm_map *map, void *value, bool remove);
/* for_each_map_elem: calls fn(key, value_for_cpu, arg) until it returns non-zero. */
long xdpvm_map_for_each(struct xdpvm_map *map, unsigned cpu,
                        long (*fn)(void *key, void *value, void *arg), void *arg);

/* User side: copies of values (per-CPU: all slots). get_next_key with key NULL gives the
 * first key; returns -ENOENT after the last. */
int xdpvm_map_user_lookup(struct xdpvm_map *map, const void *key, void *value);
int xdpvm_map_user_update(struct xdpvm_map *map, const void *key, const void *value, uint64_t flags);
int xdpvm_map_user_delete(struct xdpvm_map *map, const void *key);
int xdpvm_map_get_next_key(struct xdpvm_map *map, const void *key, void *next_key);
size_t xdpvm_map_user_value_size(const struct xdpvm_map *map);

/* Prog array (tail calls): slots hold struct xdpvm_prog pointers. */
int xdpvm_map_prog_array_set(struct xdpvm_map *map, uint32_t index, const void *prog);
const void *xdpvm_map_prog_array_get(struct xdpvm_map *map, uint32_t index);

/* Ring buffer: reserve/commit/discard records, and a consumer for user space. */
void *xdpvm_ringbuf_reserve(struct xdpvm_map *map, uint64_t size);
void xdpvm_ringbuf_commit(void *record, bool discard);
int xdpvm_ringbuf_output(struct xdpvm_map *map, const void *data, uint64_t size);
/* Checked execution: the start of the record of map, reserved and not yet submitted or
 * discarded, whose data holds [addr, addr + size); NULL when there is none. Programs may touch
 * a ring buffer only there (the rest holds the headers the consumer trusts). */
const void *xdpvm_ringbuf_reserved_record(struct xdpvm_map *map, uint64_t addr, uint64_t size);
/* Calls fn for each committed record in order; returns the number consumed. */
int xdpvm_ringbuf_consume(struct xdpvm_map *map, int (*fn)(void *ctx, void *data, size_t size),
                          void *ctx);

/* Read-only after load (frozen .rodata): further user updates fail with -EPERM. */
void xdpvm_map_freeze(struct xdpvm_map *map);
bool xdpvm_map_is_frozen(const struct xdpvm_map *map);

#endif
