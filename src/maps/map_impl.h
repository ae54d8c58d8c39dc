/* Private to src/maps: the map object and the per-type operations behind maps.h. */
#ifndef XDPVM_MAP_IMPL_H
#define XDPVM_MAP_IMPL_H

#include "maps.h"

#include <errno.h>
#include <pthread.h>

/* Kernel flag values (linux/bpf.h) used by the map implementations. */
#define MAP_F_NO_PREALLOC (1u << 0)
#define MAP_F_NO_COMMON_LRU (1u << 1)
#define MAP_F_NUMA_NODE (1u << 2)
#define MAP_F_RDONLY (1u << 3)
#define MAP_F_WRONLY (1u << 4)
#define MAP_F_ZERO_SEED (1u << 6)
#define MAP_F_RDONLY_PROG (1u << 7)
#define MAP_F_WRONLY_PROG (1u << 8)
#define MAP_F_MMAPABLE (1u << 10)
#define MAP_F_ACCESS_MASK (MAP_F_RDONLY | MAP_F_WRONLY | MAP_F_RDONLY_PROG | MAP_F_WRONLY_PROG)
#define MAP_UPDATE_F_LOCK 4u /* BPF_F_LOCK: needs a bpf_spin_lock in the value; we have none */

struct map_ops {
    /* Allocates map->arena and map->impl; writes a reason to err on failure (then frees
     * impl's state itself; xdpvm_map_create frees an arena left behind). */
    int (*init)(struct xdpvm_map *map, char *err, size_t err_size);
    void (*destroy)(struct xdpvm_map *map);
    void *(*lookup)(struct xdpvm_map *map, const void *key, unsigned cpu);
    /* user: value holds every cpu's slot (per-CPU maps); otherwise only cpu's slot. */
    int (*update)(struct xdpvm_map *map, const void *key, const void *value, uint64_t flags,
                  unsigned cpu, bool user);
    int (*delete)(struct xdpvm_map *map, const void *key);
    int (*user_lookup)(struct xdpvm_map *map, const void *key, void *value);
    int (*get_next_key)(struct xdpvm_map *map, const void *key, void *next_key);
    long (*for_each)(struct xdpvm_map *map, unsigned cpu,
                     long (*fn)(void *key, void *value, void *arg), void *arg);
};

struct xdpvm_map {
    struct xdpvm_map_spec spec;
    unsigned ncpus;
    const struct map_ops *ops;
    uint8_t *arena;         /* every value of the map, all cpus */
    size_t arena_size;
    uint32_t value_stride;  /* round_up(value_size, 8), the kernel's per-value slot size */
    bool frozen;            /* accessed with __atomic builtins */
    void *impl;             /* type-specific state */
};

extern const struct map_ops xdpvm_array_ops, xdpvm_prog_array_ops,
    xdpvm_devmap_ops, xdpvm_xskmap_ops, xdpvm_hash_ops, xdpvm_lpm_ops, xdpvm_ringbuf_ops,
    xdpvm_queue_ops;

/* Zeroed arena of len bytes, 64-byte aligned (never NULL-sized). NULL when out of memory.
 * Large arenas come straight from mmap, whose pages are zero until first touched, so that a
 * map declared huge (a damaged object, say) costs address space only; the kernel's own
 * preallocation would be charged to a memory cgroup instead. Free with xdpvm_map_arena_free
 * and the same len. */
void *xdpvm_map_arena_alloc(size_t len);
void xdpvm_map_arena_free(void *arena, size_t len);

/* 0, or -EINVAL with "map_flags 0x... not supported for <what>" in err when map_flags has a
 * flag outside allowed. */
int xdpvm_map_check_flags(const struct xdpvm_map *map, uint32_t allowed, const char *what,
                          char *err, size_t err_size);

static inline uint32_t map_round8(uint32_t n) { return (n + 7u) & ~7u; }

#endif
