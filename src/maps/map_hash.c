/* Hash maps: hash, percpu_hash, lru_hash, lru_percpu_hash and devmap_hash.
 *
 * Like the kernel's preallocated hash tables, max_entries elements exist from creation:
 * their values live in the arena (element i at i * element_bytes), their keys and chain links
 * in separate arrays so a program writing through a value pointer can never corrupt the
 * table.
 *
 * Program lookups take no lock: each bucket has a sequence counter (odd while a writer
 * changes its chain) and a lookup retries when the counter moved, the way the kernel's
 * lookups run under RCU. Writers (updates, deletes, user-side reads and iteration) take one
 * mutex per map. Fields that lookups read (bucket heads, chain links, hashes, key bytes) are
 * written with atomic stores, so a racing lookup reads stale but never torn or undefined
 * values; a chain it followed into a moved element fails the counter check. As in the kernel,
 * a value pointer a program holds may be reused if another worker deletes its element.
 *
 * LRU maps evict with a second-chance list: lookups set a reference bit; when no element is
 * free, the oldest unreferenced element is reused (referenced ones get moved to the front
 * with the bit cleared), approximating the kernel's active/inactive lists. */
#include "map_impl.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

struct helem {
    uint32_t next;      /* bucket chain, or free list: atomic (lock-free lookups follow it) */
    uint32_t hash;      /* atomic */
    uint32_t lru_prev, lru_next;
    uint8_t used;
    uint8_t ref;        /* LRU reference bit; set under the shared lock, hence atomic */
};

struct htab {
    pthread_mutex_t lock;   /* writers */
    uint32_t bucket_mask;
    uint32_t *buckets;      /* chain heads: atomic */
    uint32_t *bucket_seq;   /* per-bucket sequence counters: atomic */
    struct helem *elems;
    uint8_t *keys;
    size_t element_bytes;  /* value bytes per element: value_stride, times ncpus if per-CPU */
    uint32_t free_head;
    uint32_t count;
    uint32_t lru_head, lru_tail; /* most recently inserted/refreshed at head */
    bool lru, percpu, devmap_hash;
};

static uint32_t hash_bytes(const uint8_t *key, uint32_t len)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < len; i++)
        h = (h ^ key[i]) * 16777619u;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    return h ^ (h >> 16);
}

static uint8_t *key_at(const struct xdpvm_map *map, const struct htab *ht, uint32_t idx)
{
    return ht->keys + (size_t)idx * map->spec.key_size;
}

static uint8_t *values_at(const struct xdpvm_map *map, const struct htab *ht, uint32_t idx)
{
    return map->arena + (size_t)idx * ht->element_bytes;
}

static uint32_t load32(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static void store32(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

/* Key bytes are read by lock-free lookups while a writer may refill a free element. */
static void store_key(uint8_t *dst, const uint8_t *src, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        __atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
}

static bool key_equal_racy(const uint8_t *stored, const uint8_t *key, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        if (__atomic_load_n(&stored[i], __ATOMIC_RELAXED) != key[i])
            return false;
    return true;
}

/* Writers bracket every change to a bucket's chain: odd while it changes. */
static void bucket_write_begin(struct htab *ht, uint32_t bucket)
{
    uint32_t *seq = &ht->bucket_seq[bucket];
    __atomic_store_n(seq, *seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void bucket_write_end(struct htab *ht, uint32_t bucket)
{
    uint32_t *seq = &ht->bucket_seq[bucket];
    __atomic_store_n(seq, *seq + 1, __ATOMIC_RELEASE);
}

/* Lock-free lookup: walk the chain, then check that nobody changed it meanwhile. The step
 * bound ends walks through chains torn by a concurrent writer (the check then fails). */
static uint32_t find_lockless(const struct xdpvm_map *map, const struct htab *ht, const void *key,
                              uint32_t hash)
{
    uint32_t bucket = hash & ht->bucket_mask;
    uint32_t *seq = &ht->bucket_seq[bucket];
    for (;;) {
        uint32_t before = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
        if (before & 1) {
            sched_yield();
            continue;
        }
        uint32_t found = NIL, steps = 0;
        for (uint32_t i = load32(&ht->buckets[bucket]); i != NIL && steps <= map->spec.max_entries;
             i = load32(&ht->elems[i].next), steps++) {
            if (load32(&ht->elems[i].hash) == hash &&
                key_equal_racy(key_at(map, ht, i), key, map->spec.key_size)) {
                found = i;
                break;
            }
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(seq, __ATOMIC_RELAXED) == before)
            return found;
    }
}

/* Index of the element holding key, or NIL; *prev gets its chain predecessor (NIL: head).
 * Writers only (mutex held): nobody else changes the chains. */
static uint32_t find(const struct xdpvm_map *map, const struct htab *ht, const void *key,
                     uint32_t hash, uint32_t *prev)
{
    uint32_t before = NIL;
    for (uint32_t i = ht->buckets[hash & ht->bucket_mask]; i != NIL; i = ht->elems[i].next) {
        if (ht->elems[i].hash == hash && !memcmp(key_at(map, ht, i), key, map->spec.key_size)) {
            if (prev)
                *prev = before;
            return i;
        }
        before = i;
    }
    return NIL;
}

/* The table's own allocations (the arena is the map's); also a partly built table. */
static void htab_free(struct htab *ht)
{
    free(ht->buckets);
    free(ht->bucket_seq);
    free(ht->elems);
    free(ht->keys);
    free(ht);
}

static int hash_init(struct xdpvm_map *map, char *err, size_t err_size)
{
    const struct xdpvm_map_spec *s = &map->spec;
    bool lru = s->type == XDPVM_MAP_LRU_HASH || s->type == XDPVM_MAP_LRU_PERCPU_HASH;
    bool devmap_hash = s->type == XDPVM_MAP_DEVMAP_HASH;
    uint32_t allowed = MAP_F_NO_PREALLOC | MAP_F_NUMA_NODE | MAP_F_ACCESS_MASK | MAP_F_ZERO_SEED;
    if (lru)
        allowed = MAP_F_NO_COMMON_LRU | MAP_F_NUMA_NODE | MAP_F_ACCESS_MASK | MAP_F_ZERO_SEED;
    if (devmap_hash)
        allowed = MAP_F_NUMA_NODE | MAP_F_RDONLY | MAP_F_WRONLY;
    if (lru && (s->map_flags & MAP_F_NO_PREALLOC)) {
        snprintf(err, err_size, "LRU maps are always preallocated: BPF_F_NO_PREALLOC is not allowed");
        return -EOPNOTSUPP;
    }
    if (xdpvm_map_check_flags(map, allowed, "this map type", err, err_size))
        return -EINVAL;
    if (s->key_size == 0 || s->value_size == 0) {
        snprintf(err, err_size, "key_size and value_size must be > 0 (got %u and %u)", s->key_size,
                 s->value_size);
        return -EINVAL;
    }
    if (devmap_hash && (s->key_size != 4 || (s->value_size != 4 && s->value_size != 8))) {
        snprintf(err, err_size, "key_size must be 4 and value_size 4 or 8, got %u and %u",
                 s->key_size, s->value_size);
        return -EINVAL;
    }
    if (xdpvm_map_is_percpu(s->type) && s->value_size > 32768) {
        snprintf(err, err_size, "per-CPU value_size %u exceeds 32768", s->value_size);
        return -E2BIG;
    }
    if (s->max_entries > (1u << 24)) {
        snprintf(err, err_size, "max_entries %u exceeds the supported %u", s->max_entries, 1u << 24);
        return -E2BIG;
    }
    struct htab *ht = calloc(1, sizeof(*ht));
    if (!ht)
        goto oom;
    ht->lru = lru;
    ht->percpu = xdpvm_map_is_percpu(s->type);
    ht->devmap_hash = devmap_hash;
    ht->element_bytes = (size_t)map->value_stride * (ht->percpu ? map->ncpus : 1);
    uint32_t nbuckets = 1;
    while (nbuckets < s->max_entries)
        nbuckets <<= 1;
    ht->bucket_mask = nbuckets - 1;
    ht->buckets = malloc((size_t)nbuckets * sizeof(*ht->buckets));
    ht->bucket_seq = calloc(nbuckets, sizeof(*ht->bucket_seq));
    ht->elems = calloc(s->max_entries, sizeof(*ht->elems));
    ht->keys = calloc(s->max_entries, s->key_size);
    map->arena_size = (size_t)s->max_entries * ht->element_bytes;
    map->arena = xdpvm_map_arena_alloc(map->arena_size);
    if (!ht->buckets || !ht->bucket_seq || !ht->elems || !ht->keys || !map->arena) {
        htab_free(ht);
        goto oom;
    }
    memset(ht->buckets, 0xff, (size_t)nbuckets * sizeof(*ht->buckets));
    for (uint32_t i = 0; i < s->max_entries; i++)
        ht->elems[i].next = i + 1 < s->max_entries ? i + 1 : NIL;
    ht->free_head = 0;
    ht->lru_head = ht->lru_tail = NIL;
    pthread_mutex_init(&ht->lock, NULL);
    map->impl = ht;
    return 0;
oom:
    snprintf(err, err_size, "out of memory for %u elements", s->max_entries);
    return -ENOMEM;
}

static void hash_destroy(struct xdpvm_map *map)
{
    struct htab *ht = map->impl;
    pthread_mutex_destroy(&ht->lock);
    htab_free(ht);
}

static void lru_unlink(struct htab *ht, uint32_t idx)
{
    struct helem *e = &ht->elems[idx];
    if (e->lru_prev != NIL)
        ht->elems[e->lru_prev].lru_next = e->lru_next;
    else
        ht->lru_head = e->lru_next;
    if (e->lru_next != NIL)
        ht->elems[e->lru_next].lru_prev = e->lru_prev;
    else
        ht->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NIL;
}

static void lru_push_head(struct htab *ht, uint32_t idx)
{
    struct helem *e = &ht->elems[idx];
    e->lru_prev = NIL;
    e->lru_next = ht->lru_head;
    if (ht->lru_head != NIL)
        ht->elems[ht->lru_head].lru_prev = idx;
    ht->lru_head = idx;
    if (ht->lru_tail == NIL)
        ht->lru_tail = idx;
}

static void unlink_from_bucket(struct htab *ht, uint32_t idx, uint32_t prev)
{
    uint32_t bucket = ht->elems[idx].hash & ht->bucket_mask;
    bucket_write_begin(ht, bucket);
    if (prev == NIL)
        store32(&ht->buckets[bucket], ht->elems[idx].next);
    else
        store32(&ht->elems[prev].next, ht->elems[idx].next);
    bucket_write_end(ht, bucket);
}

/* Second chance: referenced elements at the tail are refreshed; the first unreferenced one
 * is removed from its bucket and returned. Called with the lock held exclusively. */
static uint32_t lru_evict(struct xdpvm_map *map, struct htab *ht)
{
    for (uint32_t tries = 0; tries <= 2 * ht->count && ht->lru_tail != NIL; tries++) {
        uint32_t victim = ht->lru_tail;
        struct helem *e = &ht->elems[victim];
        if (__atomic_load_n(&e->ref, __ATOMIC_RELAXED) && tries < 2 * ht->count) {
            __atomic_store_n(&e->ref, 0, __ATOMIC_RELAXED);
            lru_unlink(ht, victim);
            lru_push_head(ht, victim);
            continue;
        }
        uint32_t prev = NIL;
        uint32_t found = find(map, ht, key_at(map, ht, victim), e->hash, &prev);
        if (found != victim)
            return NIL; /* cannot happen: every listed element is in its bucket */
        unlink_from_bucket(ht, victim, prev);
        lru_unlink(ht, victim);
        e->used = 0;
        ht->count--;
        return victim;
    }
    return NIL;
}

static void *hash_lookup(struct xdpvm_map *map, const void *key, unsigned cpu)
{
    struct htab *ht = map->impl;
    uint32_t hash = hash_bytes(key, map->spec.key_size);
    uint32_t idx = find_lockless(map, ht, key, hash);
    if (idx != NIL && ht->lru)
        __atomic_store_n(&ht->elems[idx].ref, 1, __ATOMIC_RELAXED);
    if (idx == NIL)
        return NULL;
    return values_at(map, ht, idx) + (ht->percpu ? (size_t)cpu * map->value_stride : 0);
}

static void store_value(struct xdpvm_map *map, struct htab *ht, uint32_t idx, const void *value,
                        unsigned cpu, bool user, bool fresh)
{
    uint8_t *dst = values_at(map, ht, idx);
    if (fresh)
        memset(dst, 0, ht->element_bytes); /* the kernel zeroes other CPUs' slots on insert */
    if (ht->percpu && user)
        memcpy(dst, value, ht->element_bytes);
    else
        memcpy(dst + (ht->percpu ? (size_t)cpu * map->value_stride : 0), value,
               map->spec.value_size);
}

/* Kernel htab_map_update_elem rules; devmap_hash follows __dev_map_hash_update_elem
 * (ifindex 0 is -EINVAL, BPF_EXIST on a missing key inserts). */
static int hash_update(struct xdpvm_map *map, const void *key, const void *value, uint64_t flags,
                       unsigned cpu, bool user)
{
    struct htab *ht = map->impl;
    if ((flags & ~(uint64_t)MAP_UPDATE_F_LOCK) > XDPVM_EXIST)
        return -EINVAL;
    if (flags & MAP_UPDATE_F_LOCK)
        return -EINVAL; /* values have no bpf_spin_lock */
    uint32_t devval[2] = {0, 0};
    if (ht->devmap_hash) {
        memcpy(devval, value, map->spec.value_size);
        if (devval[0] == 0)
            return -EINVAL;
        if (map->spec.value_size == 8 && (int32_t)devval[1] > 0)
            return -EOPNOTSUPP; /* devmap programs are not supported */
        devval[1] = 0;
        value = devval;
    }
    uint32_t hash = hash_bytes(key, map->spec.key_size);
    int ret = 0;
    pthread_mutex_lock(&ht->lock);
    uint32_t idx = find(map, ht, key, hash, NULL);
    if (idx != NIL) {
        if (flags == XDPVM_NOEXIST) {
            ret = -EEXIST;
        } else {
            store_value(map, ht, idx, value, cpu, user, false);
            if (ht->lru)
                __atomic_store_n(&ht->elems[idx].ref, 1, __ATOMIC_RELAXED);
        }
        goto out;
    }
    if (flags == XDPVM_EXIST && !ht->devmap_hash) {
        ret = -ENOENT;
        goto out;
    }
    idx = ht->free_head;
    if (idx != NIL)
        ht->free_head = load32(&ht->elems[idx].next);
    else if (ht->lru)
        idx = lru_evict(map, ht);
    if (idx == NIL) {
        ret = -E2BIG;
        goto out;
    }
    struct helem *e = &ht->elems[idx];
    store_key(key_at(map, ht, idx), key, map->spec.key_size);
    store32(&e->hash, hash);
    e->used = 1;
    __atomic_store_n(&e->ref, 0, __ATOMIC_RELAXED);
    store_value(map, ht, idx, value, cpu, user, true);
    uint32_t bucket = hash & ht->bucket_mask;
    bucket_write_begin(ht, bucket);
    store32(&e->next, ht->buckets[bucket]);
    store32(&ht->buckets[bucket], idx);
    bucket_write_end(ht, bucket);
    ht->count++;
    if (ht->lru)
        lru_push_head(ht, idx);
out:
    pthread_mutex_unlock(&ht->lock);
    return ret;
}

static int hash_delete(struct xdpvm_map *map, const void *key)
{
    struct htab *ht = map->impl;
    uint32_t hash = hash_bytes(key, map->spec.key_size);
    pthread_mutex_lock(&ht->lock);
    uint32_t prev = NIL;
    uint32_t idx = find(map, ht, key, hash, &prev);
    if (idx != NIL) {
        unlink_from_bucket(ht, idx, prev);
        if (ht->lru)
            lru_unlink(ht, idx);
        ht->elems[idx].used = 0;
        store32(&ht->elems[idx].next, ht->free_head);
        ht->free_head = idx;
        ht->count--;
    }
    pthread_mutex_unlock(&ht->lock);
    return idx == NIL ? -ENOENT : 0;
}

static int hash_user_lookup(struct xdpvm_map *map, const void *key, void *value)
{
    struct htab *ht = map->impl;
    uint32_t hash = hash_bytes(key, map->spec.key_size);
    pthread_mutex_lock(&ht->lock);
    uint32_t idx = find(map, ht, key, hash, NULL);
    if (idx != NIL)
        memcpy(value, values_at(map, ht, idx), ht->percpu ? ht->element_bytes : map->spec.value_size);
    pthread_mutex_unlock(&ht->lock);
    return idx == NIL ? -ENOENT : 0;
}

/* Bucket order: the key's chain successor, else the first element of a later bucket; a
 * missing key restarts from the first bucket (kernel htab_map_get_next_key). */
static int hash_get_next_key(struct xdpvm_map *map, const void *key, void *next_key)
{
    struct htab *ht = map->impl;
    int ret = -ENOENT;
    pthread_mutex_lock(&ht->lock);
    uint32_t bucket = 0;
    if (key) {
        uint32_t hash = hash_bytes(key, map->spec.key_size);
        uint32_t idx = find(map, ht, key, hash, NULL);
        if (idx != NIL) {
            if (ht->elems[idx].next != NIL) {
                memcpy(next_key, key_at(map, ht, ht->elems[idx].next), map->spec.key_size);
                ret = 0;
                goto out;
            }
            bucket = (hash & ht->bucket_mask) + 1;
        }
    }
    for (; bucket <= ht->bucket_mask; bucket++) {
        if (ht->buckets[bucket] != NIL) {
            memcpy(next_key, key_at(map, ht, ht->buckets[bucket]), map->spec.key_size);
            ret = 0;
            break;
        }
    }
out:
    pthread_mutex_unlock(&ht->lock);
    return ret;
}

/* Walks the element pool without holding the lock across callbacks, so a callback may update
 * or delete elements of the same map (as bpf_for_each_map_elem callbacks can). The callback
 * gets a copy of the key, taken under the lock. */
static long hash_for_each(struct xdpvm_map *map, unsigned cpu,
                          long (*fn)(void *key, void *value, void *arg), void *arg)
{
    struct htab *ht = map->impl;
    uint8_t key[512];
    long visited = 0;
    for (uint32_t i = 0; i < map->spec.max_entries; i++) {
        pthread_mutex_lock(&ht->lock);
        bool used = ht->elems[i].used;
        if (used)
            memcpy(key, key_at(map, ht, i), map->spec.key_size);
        pthread_mutex_unlock(&ht->lock);
        if (!used)
            continue;
        visited++;
        uint8_t *value = values_at(map, ht, i) + (ht->percpu ? (size_t)cpu * map->value_stride : 0);
        if (fn(key, value, arg))
            break;
    }
    return visited;
}

const struct map_ops xdpvm_hash_ops = {
    .init = hash_init, .destroy = hash_destroy, .lookup = hash_lookup, .update = hash_update,
    .delete = hash_delete, .user_lookup = hash_user_lookup, .get_next_key = hash_get_next_key,
    .for_each = hash_for_each,
};
