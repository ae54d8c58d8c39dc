/* Map creation, type names and the public entry points of maps.h, which dispatch to the
 * per-type operations (map_array.c, map_hash.c, map_lpm.c, map_ringbuf.c, map_queue.c). */
#include "map_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Kernel names (BPF_MAP_TYPE_<upper>) of every type up to BPF_MAP_TYPE_ARENA, so an
 * unsupported type can be named in errors. */
static const char *const kernel_type_names[] = {
    [0] = "unspec", [1] = "hash", [2] = "array", [3] = "prog_array", [4] = "perf_event_array",
    [5] = "percpu_hash", [6] = "percpu_array", [7] = "stack_trace", [8] = "cgroup_array",
    [9] = "lru_hash", [10] = "lru_percpu_hash", [11] = "lpm_trie", [12] = "array_of_maps",
    [13] = "hash_of_maps", [14] = "devmap", [15] = "sockmap", [16] = "cpumap", [17] = "xskmap",
    [18] = "sockhash", [19] = "cgroup_storage", [20] = "reuseport_sockarray",
    [21] = "percpu_cgroup_storage", [22] = "queue", [23] = "stack", [24] = "sk_storage",
    [25] = "devmap_hash", [26] = "struct_ops", [27] = "ringbuf", [28] = "inode_storage",
    [29] = "task_storage", [30] = "bloom_filter", [31] = "user_ringbuf", [32] = "cgrp_storage",
    [33] = "arena",
};

static const struct map_ops *ops_for(uint32_t type)
{
    switch (type) {
    case XDPVM_MAP_ARRAY:
    case XDPVM_MAP_PERCPU_ARRAY: return &xdpvm_array_ops;
    case XDPVM_MAP_PROG_ARRAY: return &xdpvm_prog_array_ops;
    case XDPVM_MAP_DEVMAP: return &xdpvm_devmap_ops;
    case XDPVM_MAP_XSKMAP: return &xdpvm_xskmap_ops;
    case XDPVM_MAP_HASH:
    case XDPVM_MAP_PERCPU_HASH:
    case XDPVM_MAP_LRU_HASH:
    case XDPVM_MAP_LRU_PERCPU_HASH:
    case XDPVM_MAP_DEVMAP_HASH: return &xdpvm_hash_ops;
    case XDPVM_MAP_LPM_TRIE: return &xdpvm_lpm_ops;
    case XDPVM_MAP_RINGBUF: return &xdpvm_ringbuf_ops;
    case XDPVM_MAP_QUEUE:
    case XDPVM_MAP_STACK: return &xdpvm_queue_ops;
    default: return NULL;
    }
}

const char *xdpvm_map_type_name(uint32_t type)
{
    if (type >= sizeof(kernel_type_names) / sizeof(kernel_type_names[0]))
        return NULL;
    return kernel_type_names[type];
}

bool xdpvm_map_is_percpu(uint32_t type)
{
    return type == XDPVM_MAP_PERCPU_ARRAY || type == XDPVM_MAP_PERCPU_HASH ||
           type == XDPVM_MAP_LRU_PERCPU_HASH;
}

/* From this size on, an arena is its own mapping (page-aligned, so 64-byte aligned too). */
#define ARENA_MMAP_MIN ((size_t)1 << 20)

void *xdpvm_map_arena_alloc(size_t len)
{
    size_t rounded = (len + 63) & ~(size_t)63;
    if (rounded < len)
        return NULL;
    if (rounded >= ARENA_MMAP_MIN) {
        void *p = mmap(NULL, rounded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (p)
        memset(p, 0, rounded ? rounded : 64);
    return p;
}

void xdpvm_map_arena_free(void *arena, size_t len)
{
    size_t rounded = (len + 63) & ~(size_t)63;
    if (arena && rounded >= ARENA_MMAP_MIN)
        munmap(arena, rounded);
    else
        free(arena);
}

int xdpvm_map_check_flags(const struct xdpvm_map *map, uint32_t allowed, const char *what,
                          char *err, size_t err_size)
{
    uint32_t bad = map->spec.map_flags & ~allowed;
    if (bad)
        snprintf(err, err_size, "map_flags 0x%x not supported for %s", bad, what);
    return bad ? -EINVAL : 0;
}

struct xdpvm_map *xdpvm_map_create(const struct xdpvm_map_spec *spec, unsigned ncpus, char *err,
                                   size_t err_size)
{
    char why[200] = "";
    const char *name = spec->name[0] ? spec->name : "(unnamed)";
    const struct map_ops *ops = ops_for(spec->type);
    if (!ops) {
        const char *tn = xdpvm_map_type_name(spec->type);
        char upper[40] = "";
        for (size_t i = 0; tn && tn[i] && i + 1 < sizeof(upper); i++)
            upper[i] = (char)(tn[i] >= 'a' && tn[i] <= 'z' ? tn[i] - 32 : tn[i]);
        if (tn)
            snprintf(err, err_size, "map '%s': unsupported map type %u (BPF_MAP_TYPE_%s)", name,
                     spec->type, upper);
        else
            snprintf(err, err_size, "map '%s': unknown map type %u", name, spec->type);
        return NULL;
    }
    if (spec->max_entries == 0) {
        snprintf(err, err_size, "map '%s' (%s): max_entries must be > 0", name,
                 xdpvm_map_type_name(spec->type));
        return NULL;
    }
    struct xdpvm_map *map = calloc(1, sizeof(*map));
    if (!map) {
        snprintf(err, err_size, "map '%s': out of memory", name);
        return NULL;
    }
    map->spec = *spec;
    map->spec.name[sizeof(map->spec.name) - 1] = '\0';
    map->ncpus = ncpus ? ncpus : 1;
    map->ops = ops;
    map->value_stride = map_round8(spec->value_size);
    if (spec->value_size > (1u << 24)) {
        snprintf(why, sizeof(why), "value_size %u too large", spec->value_size);
    } else if (spec->key_size > 512) {
        snprintf(why, sizeof(why), "key_size %u larger than the 512-byte BPF stack", spec->key_size);
    } else if (ops->init(map, why, sizeof(why)) == 0) {
        return map;
    }
    snprintf(err, err_size, "map '%s' (%s): %s", name, xdpvm_map_type_name(spec->type), why);
    /* a failed init frees its own state but may leave the arena, freed here as by map_free */
    xdpvm_map_arena_free(map->arena, map->arena_size);
    free(map);
    return NULL;
}

void xdpvm_map_free(struct xdpvm_map *map)
{
    if (!map)
        return;
    map->ops->destroy(map);
    xdpvm_map_arena_free(map->arena, map->arena_size);
    free(map);
}

const struct xdpvm_map_spec *xdpvm_map_get_spec(const struct xdpvm_map *map) { return &map->spec; }
unsigned xdpvm_map_ncpus(const struct xdpvm_map *map) { return map->ncpus; }

void xdpvm_map_storage(const struct xdpvm_map *map, void **start, size_t *len)
{
    *start = map->arena;
    *len = map->arena_size;
}

size_t xdpvm_map_user_value_size(const struct xdpvm_map *map)
{
    if (xdpvm_map_is_percpu(map->spec.type))
        return (size_t)map->ncpus * map->value_stride;
    return map->spec.value_size;
}

void *xdpvm_map_lookup(struct xdpvm_map *map, const void *key, unsigned cpu)
{
    /* only per-CPU maps have a slot per cpu: the others answer every worker alike (kernel) */
    if (cpu >= map->ncpus && xdpvm_map_is_percpu(map->spec.type))
        return NULL;
    return map->ops->lookup(map, key, cpu);
}

int xdpvm_map_update(struct xdpvm_map *map, const void *key, const void *value, uint64_t flags,
                     unsigned cpu)
{
    if (cpu >= map->ncpus)
        return -EINVAL;
    return map->ops->update(map, key, value, flags, cpu, false);
}

int xdpvm_map_delete(struct xdpvm_map *map, const void *key) { return map->ops->delete(map, key); }

long xdpvm_map_for_each(struct xdpvm_map *map, unsigned cpu,
                        long (*fn)(void *key, void *value, void *arg), void *arg)
{
    if (!map->ops->for_each || cpu >= map->ncpus)
        return -EINVAL;
    return map->ops->for_each(map, cpu, fn, arg);
}

static bool is_frozen(const struct xdpvm_map *map)
{
    return __atomic_load_n(&map->frozen, __ATOMIC_ACQUIRE);
}

int xdpvm_map_user_lookup(struct xdpvm_map *map, const void *key, void *value)
{
    return map->ops->user_lookup(map, key, value);
}

int xdpvm_map_user_update(struct xdpvm_map *map, const void *key, const void *value, uint64_t flags)
{
    if (is_frozen(map))
        return -EPERM;
    if (map->spec.type == XDPVM_MAP_QUEUE || map->spec.type == XDPVM_MAP_STACK)
        return xdpvm_map_push(map, value, flags);
    return map->ops->update(map, key, value, flags, 0, true);
}

int xdpvm_map_user_delete(struct xdpvm_map *map, const void *key)
{
    if (is_frozen(map))
        return -EPERM;
    return map->ops->delete(map, key);
}

int xdpvm_map_get_next_key(struct xdpvm_map *map, const void *key, void *next_key)
{
    return map->ops->get_next_key(map, key, next_key);
}

bool xdpvm_map_is_frozen(const struct xdpvm_map *map) { return is_frozen(map); }

void xdpvm_map_freeze(struct xdpvm_map *map)
{
    __atomic_store_n(&map->frozen, true, __ATOMIC_RELEASE);
}
