/* Index-keyed maps: array, percpu_array, prog_array, devmap, xskmap.
 *
 * array/percpu_array: every index always exists (kernel: delete is -EINVAL, BPF_NOEXIST is
 * -EEXIST). prog_array/devmap/xskmap: slots may be empty (a presence byte per index). */
#include "map_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot_state {
    uint8_t *present;             /* devmap, xskmap: 1 when the slot holds an entry */
    const void **progs;           /* prog_array: struct xdpvm_prog pointers */
};

static uint32_t read_index(const void *key)
{
    uint32_t index;
    memcpy(&index, key, sizeof(index));
    return index;
}

static size_t slots_per_index(const struct xdpvm_map *map)
{
    return xdpvm_map_is_percpu(map->spec.type) ? map->ncpus : 1;
}

/* cpu only selects a slot in per-CPU maps; every worker shares the others. */
static uint8_t *value_at(struct xdpvm_map *map, uint32_t index, unsigned cpu)
{
    size_t slots = slots_per_index(map);
    size_t slot = slots > 1 ? cpu : 0;
    return map->arena + ((size_t)index * slots + slot) * map->value_stride;
}

bool xdpvm_map_array_layout(const struct xdpvm_map *map, struct xdpvm_map_array_layout *out)
{
    if (map->spec.type != XDPVM_MAP_ARRAY && map->spec.type != XDPVM_MAP_PERCPU_ARRAY)
        return false;
    size_t slots = slots_per_index(map);
    *out = (struct xdpvm_map_array_layout){
        .base = map->arena,
        .index_stride = (uint64_t)slots * map->value_stride,
        /* non-zero for every per-CPU map (even of one cpu): lookups check the cpu then */
        .cpu_stride = xdpvm_map_is_percpu(map->spec.type) ? map->value_stride : 0,
        .max_entries = map->spec.max_entries,
        .ncpus = map->ncpus,
    };
    return true;
}

static int check_index_key(const struct xdpvm_map *map, char *err, size_t err_size)
{
    if (map->spec.key_size != 4) {
        snprintf(err, err_size, "key_size must be 4 (a u32 index), got %u", map->spec.key_size);
        return -EINVAL;
    }
    return 0;
}

static int alloc_values(struct xdpvm_map *map, char *err, size_t err_size)
{
    map->arena_size = (size_t)map->spec.max_entries * slots_per_index(map) * map->value_stride;
    map->arena = xdpvm_map_arena_alloc(map->arena_size);
    if (!map->arena) {
        snprintf(err, err_size, "cannot allocate %zu bytes of values", map->arena_size);
        return -ENOMEM;
    }
    return 0;
}

static int array_init(struct xdpvm_map *map, char *err, size_t err_size)
{
    uint32_t allowed = MAP_F_NUMA_NODE | MAP_F_ACCESS_MASK;
    if (map->spec.type == XDPVM_MAP_ARRAY)
        allowed |= MAP_F_MMAPABLE;
    if (check_index_key(map, err, err_size) || xdpvm_map_check_flags(map, allowed, "this map type", err, err_size))
        return -EINVAL;
    if (map->spec.value_size == 0) {
        snprintf(err, err_size, "value_size must be > 0");
        return -EINVAL;
    }
    if (map->spec.type == XDPVM_MAP_PERCPU_ARRAY && map->spec.value_size > 32768) {
        snprintf(err, err_size, "per-CPU value_size %u exceeds 32768", map->spec.value_size);
        return -E2BIG;
    }
    return alloc_values(map, err, err_size);
}

static void array_destroy(struct xdpvm_map *map) { (void)map; }

static void *array_lookup(struct xdpvm_map *map, const void *key, unsigned cpu)
{
    uint32_t index = read_index(key);
    if (index >= map->spec.max_entries)
        return NULL;
    return value_at(map, index, cpu);
}

/* Kernel order of checks: flags, then index, then BPF_NOEXIST (every index exists). */
static int array_update(struct xdpvm_map *map, const void *key, const void *value, uint64_t flags,
                        unsigned cpu, bool user)
{
    if (flags > XDPVM_EXIST)
        return -EINVAL;
    uint32_t index = read_index(key);
    if (index >= map->spec.max_entries)
        return -E2BIG;
    if (flags == XDPVM_NOEXIST)
        return -EEXIST;
    if (user && map->spec.type == XDPVM_MAP_PERCPU_ARRAY) {
        for (unsigned c = 0; c < map->ncpus; c++)
            memcpy(value_at(map, index, c), (const uint8_t *)value + (size_t)c * map->value_stride,
                   map->value_stride);
    } else {
        memcpy(value_at(map, index, cpu), value, map->spec.value_size);
    }
    return 0;
}

static int array_delete(struct xdpvm_map *map, const void *key)
{
    (void)map, (void)key;
    return -EINVAL;
}

static int array_user_lookup(struct xdpvm_map *map, const void *key, void *value)
{
    uint32_t index = read_index(key);
    if (index >= map->spec.max_entries)
        return -ENOENT;
    if (map->spec.type == XDPVM_MAP_PERCPU_ARRAY)
        memcpy(value, value_at(map, index, 0), (size_t)map->ncpus * map->value_stride);
    else
        memcpy(value, value_at(map, index, 0), map->spec.value_size);
    return 0;
}

/* Index order; a missing or out-of-range key restarts at 0 (kernel array_map_get_next_key). */
static int index_get_next_key(struct xdpvm_map *map, const void *key, void *next_key)
{
    uint32_t index = key ? read_index(key) : UINT32_MAX;
    uint32_t next;
    if (index >= map->spec.max_entries)
        next = 0;
    else if (index == map->spec.max_entries - 1)
        return -ENOENT;
    else
        next = index + 1;
    memcpy(next_key, &next, sizeof(next));
    return 0;
}

static long array_for_each(struct xdpvm_map *map, unsigned cpu,
                           long (*fn)(void *key, void *value, void *arg), void *arg)
{
    long visited = 0;
    for (uint32_t i = 0; i < map->spec.max_entries; i++) {
        uint32_t key = i;
        visited++;
        if (fn(&key, value_at(map, i, cpu), arg))
            break;
    }
    return visited;
}

/* array and percpu_array alike: the functions tell them apart by spec.type */
const struct map_ops xdpvm_array_ops = {
    .init = array_init, .destroy = array_destroy, .lookup = array_lookup,
    .update = array_update, .delete = array_delete, .user_lookup = array_user_lookup,
    .get_next_key = index_get_next_key, .for_each = array_for_each,
};

/* prog_array, devmap and xskmap state (also after a failed init: st may be partial) */
static void slots_destroy(struct xdpvm_map *map)
{
    struct slot_state *st = map->impl;
    if (!st)
        return;
    free(st->progs);
    free(st->present);
    free(st);
}

/* ---- prog_array: slots of program pointers, set by the loader or CLI ---- */

static int prog_array_init(struct xdpvm_map *map, char *err, size_t err_size)
{
    if (check_index_key(map, err, err_size) ||
        xdpvm_map_check_flags(map, MAP_F_NUMA_NODE | MAP_F_ACCESS_MASK, "this map type", err,
                              err_size))
        return -EINVAL;
    if (map->spec.value_size != 4) {
        snprintf(err, err_size, "value_size must be 4 (a program fd), got %u", map->spec.value_size);
        return -EINVAL;
    }
    struct slot_state *st = calloc(1, sizeof(*st));
    if (st)
        st->progs = calloc(map->spec.max_entries, sizeof(*st->progs));
    map->impl = st;
    if (!st || !st->progs || alloc_values(map, err, err_size)) {
        slots_destroy(map);
        snprintf(err, err_size, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

/* Programs cannot look up or update a prog_array (the kernel verifier refuses it); user
 * space installs programs with xdpvm_map_prog_array_set. */
static void *no_lookup(struct xdpvm_map *map, const void *key, unsigned cpu)
{
    (void)map, (void)key, (void)cpu;
    return NULL;
}

static int prog_array_update(struct xdpvm_map *map, const void *key, const void *value,
                             uint64_t flags, unsigned cpu, bool user)
{
    (void)map, (void)key, (void)value, (void)flags, (void)cpu, (void)user;
    return -EOPNOTSUPP;
}

static int prog_array_delete(struct xdpvm_map *map, const void *key)
{
    struct slot_state *st = map->impl;
    uint32_t index = read_index(key);
    if (index >= map->spec.max_entries)
        return -E2BIG;
    const void *old = __atomic_exchange_n(&st->progs[index], NULL, __ATOMIC_ACQ_REL);
    return old ? 0 : -ENOENT;
}

static int prog_array_user_lookup(struct xdpvm_map *map, const void *key, void *value)
{
    (void)map, (void)key, (void)value;
    return -EOPNOTSUPP;
}

const struct map_ops xdpvm_prog_array_ops = {
    .init = prog_array_init, .destroy = slots_destroy, .lookup = no_lookup,
    .update = prog_array_update, .delete = prog_array_delete,
    .user_lookup = prog_array_user_lookup, .get_next_key = index_get_next_key,
};

int xdpvm_map_prog_array_set(struct xdpvm_map *map, uint32_t index, const void *prog)
{
    if (map->spec.type != XDPVM_MAP_PROG_ARRAY)
        return -EINVAL;
    if (index >= map->spec.max_entries)
        return -E2BIG;
    struct slot_state *st = map->impl;
    __atomic_store_n(&st->progs[index], prog, __ATOMIC_RELEASE);
    return 0;
}

const void *xdpvm_map_prog_array_get(struct xdpvm_map *map, uint32_t index)
{
    if (map->spec.type != XDPVM_MAP_PROG_ARRAY || index >= map->spec.max_entries)
        return NULL;
    struct slot_state *st = map->impl;
    return __atomic_load_n(&st->progs[index], __ATOMIC_ACQUIRE);
}

/* ---- devmap and xskmap: slots that may be empty ---- */

static int sparse_init(struct xdpvm_map *map, char *err, size_t err_size)
{
    if (check_index_key(map, err, err_size) ||
        xdpvm_map_check_flags(map, MAP_F_NUMA_NODE | MAP_F_RDONLY | MAP_F_WRONLY, "this map type",
                              err, err_size))
        return -EINVAL;
    uint32_t vs = map->spec.value_size;
    if (map->spec.type == XDPVM_MAP_DEVMAP && vs != 4 && vs != 8) {
        snprintf(err, err_size, "value_size must be 4 (ifindex) or 8 (struct bpf_devmap_val), got %u",
                 vs);
        return -EINVAL;
    }
    if (map->spec.type == XDPVM_MAP_XSKMAP && vs != 4) {
        snprintf(err, err_size, "value_size must be 4 (an AF_XDP socket fd), got %u", vs);
        return -EINVAL;
    }
    struct slot_state *st = calloc(1, sizeof(*st));
    if (st)
        st->present = calloc(map->spec.max_entries, 1);
    map->impl = st;
    if (!st || !st->present || alloc_values(map, err, err_size)) {
        slots_destroy(map);
        snprintf(err, err_size, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

static void *sparse_lookup(struct xdpvm_map *map, const void *key, unsigned cpu)
{
    struct slot_state *st = map->impl;
    uint32_t index = read_index(key);
    if (index >= map->spec.max_entries || !__atomic_load_n(&st->present[index], __ATOMIC_ACQUIRE))
        return NULL;
    return value_at(map, index, 0);
}

/* Kernel dev_map_update_elem and xsk_map_update_elem rules. Entries are published by the
 * presence byte after the value is written; a devmap ifindex of 0 empties the slot. */
static int sparse_update(struct xdpvm_map *map, const void *key, const void *value,
                         uint64_t flags, unsigned cpu, bool user)
{
    (void)cpu, (void)user;
    struct slot_state *st = map->impl;
    if (flags > XDPVM_EXIST)
        return -EINVAL;
    uint32_t index = read_index(key);
    if (index >= map->spec.max_entries)
        return -E2BIG;
    uint8_t *present = &st->present[index];
    uint32_t words[2] = {0, 0};
    memcpy(words, value, map->spec.value_size);
    if (map->spec.type == XDPVM_MAP_DEVMAP) {
        if (flags == XDPVM_NOEXIST)
            return -EEXIST;
        if (map->spec.value_size == 8 && (int32_t)words[1] > 0)
            return words[0] ? -EOPNOTSUPP : -EINVAL; /* devmap programs are not supported */
        if (words[0] == 0) {
            __atomic_store_n(present, 0, __ATOMIC_RELEASE);
            return 0;
        }
        words[1] = 0; /* the kernel reports bpf_prog.id 0 when no program is attached */
    } else {
        bool exists = __atomic_load_n(present, __ATOMIC_ACQUIRE);
        if (exists && flags == XDPVM_NOEXIST)
            return -EEXIST;
        if (!exists && flags == XDPVM_EXIST)
            return -ENOENT;
    }
    __atomic_store_n(present, 0, __ATOMIC_RELEASE);
    memcpy(value_at(map, index, 0), words, map->spec.value_size);
    __atomic_store_n(present, 1, __ATOMIC_RELEASE);
    return 0;
}

static int sparse_delete(struct xdpvm_map *map, const void *key)
{
    struct slot_state *st = map->impl;
    uint32_t index = read_index(key);
    if (index >= map->spec.max_entries)
        return -EINVAL;
    __atomic_store_n(&st->present[index], 0, __ATOMIC_RELEASE);
    return 0;
}

static int devmap_user_lookup(struct xdpvm_map *map, const void *key, void *value)
{
    void *v = sparse_lookup(map, key, 0);
    if (!v)
        return -ENOENT;
    memcpy(value, v, map->spec.value_size);
    return 0;
}

/* The kernel does not let user space read sockets back out of an xskmap. */
static int xskmap_user_lookup(struct xdpvm_map *map, const void *key, void *value)
{
    (void)map, (void)key, (void)value;
    return -EOPNOTSUPP;
}

const struct map_ops xdpvm_devmap_ops = {
    .init = sparse_init, .destroy = slots_destroy, .lookup = sparse_lookup,
    .update = sparse_update, .delete = sparse_delete, .user_lookup = devmap_user_lookup,
    .get_next_key = index_get_next_key,
};
const struct map_ops xdpvm_xskmap_ops = {
    .init = sparse_init, .destroy = slots_destroy, .lookup = sparse_lookup,
    .update = sparse_update, .delete = sparse_delete, .user_lookup = xskmap_user_lookup,
    .get_next_key = index_get_next_key,
};
