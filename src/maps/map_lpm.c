/* lpm_trie: longest-prefix match on keys laid out as struct bpf_lpm_trie_key
 * (u32 prefixlen, then data_size bytes in network order), with the kernel's rules: the map
 * must be created with BPF_F_NO_PREALLOC, a full map gives -ENOSPC, get_next_key walks the
 * trie in post order (more specific prefixes before the prefixes that contain them).
 *
 * A path-compressed binary trie like the kernel's: each node holds a prefix; "intermediate"
 * nodes (no value) only join two subtrees, so there are fewer than max_entries of them and
 * a pool of 2 * max_entries nodes never runs out. Values live in the arena, one slot per
 * entry, allocated from a free stack.
 *
 * Program lookups take no lock: writers (one mutex) make the trie's sequence counter odd
 * while they change it, and a lookup retries when the counter moved during its walk. Node
 * fields and bytes that lookups read are stored atomically, so a racing lookup reads stale
 * but defined values; indices stay valid, and the walk is bounded by the pool size. */
#include "map_impl.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX
#define LPM_DATA_SIZE_MAX 256

struct lnode {
    uint32_t child[2];
    uint32_t prefixlen;
    uint32_t value_slot;   /* NIL: intermediate node */
};

struct trie {
    pthread_mutex_t lock;  /* writers and user-side reads */
    uint32_t seq;          /* odd while a writer changes the trie: atomic */
    uint32_t data_size, max_prefixlen;
    uint32_t root;
    struct lnode *nodes;
    uint8_t *data;         /* data_size bytes per node */
    uint32_t *free_nodes, free_node_count;
    uint32_t *free_slots, free_slot_count;
    uint32_t entries;
    uint32_t entries_limit; /* max_entries: bounds a lock-free walk */
};

static uint8_t *node_data(const struct trie *t, uint32_t idx)
{
    return t->data + (size_t)idx * t->data_size;
}

static bool bit_at(const uint8_t *data, uint32_t index)
{
    return (data[index / 8] >> (7 - index % 8)) & 1;
}

static uint32_t ld(const uint32_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static void st(uint32_t *p, uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }

static void store_data(struct trie *t, uint32_t node, const uint8_t *src)
{
    uint8_t *dst = node_data(t, node);
    for (uint32_t i = 0; i < t->data_size; i++)
        __atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
}

static void write_begin(struct trie *t)
{
    __atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(struct trie *t) { __atomic_store_n(&t->seq, t->seq + 1, __ATOMIC_RELEASE); }

/* Leading bits that node and key have in common, up to both prefix lengths. Node bytes are
 * read atomically and node_prefixlen comes from the caller, so lock-free lookups can use it. */
static uint32_t common_prefix(const struct trie *t, uint32_t node, uint32_t node_prefixlen,
                            const uint8_t *key_data, uint32_t key_prefixlen)
{
    const uint8_t *nd = node_data(t, node);
    uint32_t limit = node_prefixlen < key_prefixlen ? node_prefixlen : key_prefixlen;
    uint32_t bits = 0;
    for (uint32_t i = 0; i < t->data_size && bits < limit; i++) {
        uint8_t diff = __atomic_load_n(&nd[i], __ATOMIC_RELAXED) ^ key_data[i];
        if (diff) {
            bits += (uint32_t)__builtin_clz((unsigned)diff) - 24;
            break;
        }
        bits += 8;
    }
    return bits < limit ? bits : limit;
}

static void read_key(const void *key, uint32_t *prefixlen, const uint8_t **data)
{
    memcpy(prefixlen, key, sizeof(*prefixlen));
    *data = (const uint8_t *)key + 4;
}

/* The trie's own allocations (the arena is the map's); also a partly built trie. */
static void trie_free(struct trie *t)
{
    free(t->nodes);
    free(t->data);
    free(t->free_nodes);
    free(t->free_slots);
    free(t);
}

static int lpm_init(struct xdpvm_map *map, char *err, size_t err_size)
{
    const struct xdpvm_map_spec *s = &map->spec;
    if (!(s->map_flags & MAP_F_NO_PREALLOC)) {
        snprintf(err, err_size, "lpm_trie maps must be created with BPF_F_NO_PREALLOC");
        return -EINVAL;
    }
    if (xdpvm_map_check_flags(map, MAP_F_NO_PREALLOC | MAP_F_NUMA_NODE | MAP_F_ACCESS_MASK,
                              "lpm_trie", err, err_size))
        return -EINVAL;
    if (s->key_size < 5 || s->key_size > 4 + LPM_DATA_SIZE_MAX) {
        snprintf(err, err_size, "key_size must be 4 + 1..%d (struct bpf_lpm_trie_key), got %u",
                 LPM_DATA_SIZE_MAX, s->key_size);
        return -EINVAL;
    }
    if (s->value_size == 0) {
        snprintf(err, err_size, "value_size must be > 0");
        return -EINVAL;
    }
    if (s->max_entries > (1u << 24)) {
        snprintf(err, err_size, "max_entries %u exceeds the supported %u", s->max_entries, 1u << 24);
        return -E2BIG;
    }
    struct trie *t = calloc(1, sizeof(*t));
    if (!t)
        goto oom;
    t->data_size = s->key_size - 4;
    t->max_prefixlen = t->data_size * 8;
    t->root = NIL;
    t->entries_limit = s->max_entries;
    uint32_t node_count = 2 * s->max_entries;
    t->nodes = calloc(node_count, sizeof(*t->nodes));
    t->data = calloc(node_count, t->data_size);
    t->free_nodes = malloc((size_t)node_count * sizeof(uint32_t));
    t->free_slots = malloc((size_t)s->max_entries * sizeof(uint32_t));
    map->arena_size = (size_t)s->max_entries * map->value_stride;
    map->arena = xdpvm_map_arena_alloc(map->arena_size);
    if (!t->nodes || !t->data || !t->free_nodes || !t->free_slots || !map->arena) {
        trie_free(t);
        goto oom;
    }
    for (uint32_t i = 0; i < node_count; i++)
        t->free_nodes[i] = node_count - 1 - i;
    t->free_node_count = node_count;
    for (uint32_t i = 0; i < s->max_entries; i++)
        t->free_slots[i] = s->max_entries - 1 - i;
    t->free_slot_count = s->max_entries;
    pthread_mutex_init(&t->lock, NULL);
    map->impl = t;
    return 0;
oom:
    snprintf(err, err_size, "out of memory for %u entries", s->max_entries);
    return -ENOMEM;
}

static void lpm_destroy(struct xdpvm_map *map)
{
    struct trie *t = map->impl;
    pthread_mutex_destroy(&t->lock);
    trie_free(t);
}

static uint8_t *slot_value(struct xdpvm_map *map, uint32_t slot)
{
    return map->arena + (size_t)slot * map->value_stride;
}

/* Value slot of the longest matching prefix, or NIL, without the lock (see the top); user
 * lookups call it under the lock, where the sequence counter stays put. */
static uint32_t longest_match(const struct trie *t, const void *key)
{
    uint32_t prefixlen;
    const uint8_t *data;
    read_key(key, &prefixlen, &data);
    uint32_t *seq = (uint32_t *)&t->seq;
    uint32_t max_steps = 2 * t->entries_limit;
    for (;;) {
        uint32_t before = __atomic_load_n(seq, __ATOMIC_ACQUIRE);
        if (before & 1) {
            sched_yield();
            continue;
        }
        uint32_t found = NIL, steps = 0;
        uint32_t node = ld(&t->root);
        while (node != NIL && steps++ <= max_steps) {
            const struct lnode *n = &t->nodes[node];
            uint32_t node_prefixlen = ld(&n->prefixlen), slot = ld(&n->value_slot);
            uint32_t matchlen = common_prefix(t, node, node_prefixlen, data, prefixlen);
            if (matchlen == t->max_prefixlen) {
                if (slot != NIL)
                    found = slot;
                break;
            }
            if (matchlen < node_prefixlen)
                break;
            if (slot != NIL)
                found = slot;
            node = ld(&n->child[bit_at(data, node_prefixlen)]);
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(seq, __ATOMIC_RELAXED) == before)
            return found;
    }
}

static void *lpm_lookup(struct xdpvm_map *map, const void *key, unsigned cpu)
{
    (void)cpu;
    struct trie *t = map->impl;
    uint32_t slot = longest_match(t, key);
    return slot == NIL ? NULL : slot_value(map, slot);
}

static int lpm_user_lookup(struct xdpvm_map *map, const void *key, void *value)
{
    struct trie *t = map->impl;
    pthread_mutex_lock(&t->lock);
    uint32_t slot = longest_match(t, key);
    if (slot != NIL)
        memcpy(value, slot_value(map, slot), map->spec.value_size);
    pthread_mutex_unlock(&t->lock);
    return slot == NIL ? -ENOENT : 0;
}

static uint32_t take_node(struct trie *t)
{
    uint32_t idx = t->free_nodes[--t->free_node_count];
    struct lnode *n = &t->nodes[idx];
    st(&n->child[0], NIL);
    st(&n->child[1], NIL);
    st(&n->prefixlen, 0);
    st(&n->value_slot, NIL);
    return idx;
}

static void put_node(struct trie *t, uint32_t idx) { t->free_nodes[t->free_node_count++] = idx; }

static uint32_t take_slot(struct xdpvm_map *map, struct trie *t, const void *value)
{
    uint32_t slot = t->free_slots[--t->free_slot_count];
    memcpy(slot_value(map, slot), value, map->spec.value_size);
    t->entries++;
    return slot;
}

static void put_slot(struct trie *t, uint32_t slot)
{
    t->free_slots[t->free_slot_count++] = slot;
    t->entries--;
}

static int lpm_update(struct xdpvm_map *map, const void *key, const void *value, uint64_t flags,
                      unsigned cpu, bool user)
{
    (void)cpu, (void)user;
    struct trie *t = map->impl;
    if (flags > XDPVM_EXIST)
        return -EINVAL;
    uint32_t prefixlen;
    const uint8_t *data;
    read_key(key, &prefixlen, &data);
    if (prefixlen > t->max_prefixlen)
        return -EINVAL;
    int ret = 0;
    pthread_mutex_lock(&t->lock);
    write_begin(t);
    uint32_t *link = &t->root;
    uint32_t node, matchlen = 0;
    while ((node = *link) != NIL) {
        struct lnode *n = &t->nodes[node];
        matchlen = common_prefix(t, node, n->prefixlen, data, prefixlen);
        if (n->prefixlen != matchlen || n->prefixlen == prefixlen ||
            n->prefixlen == t->max_prefixlen)
            break;
        link = &n->child[bit_at(data, n->prefixlen)];
    }
    if (node != NIL && t->nodes[node].prefixlen == prefixlen && matchlen == prefixlen) {
        struct lnode *n = &t->nodes[node];
        if (n->value_slot != NIL) {
            if (flags == XDPVM_NOEXIST)
                ret = -EEXIST;
            else
                memcpy(slot_value(map, n->value_slot), value, map->spec.value_size);
        } else if (flags == XDPVM_EXIST) {
            ret = -ENOENT;
        } else if (t->entries >= map->spec.max_entries) {
            ret = -ENOSPC;
        } else {
            st(&n->value_slot, take_slot(map, t, value));
        }
        /* The kernel replaces the node, so the key's bits past the prefix are the ones
         * get_next_key reports from now on. */
        if (ret == 0)
            store_data(t, node, data);
        goto out;
    }
    if (flags == XDPVM_EXIST) {
        ret = -ENOENT;
        goto out;
    }
    if (t->entries >= map->spec.max_entries) {
        ret = -ENOSPC;
        goto out;
    }
    uint32_t fresh = take_node(t);
    st(&t->nodes[fresh].prefixlen, prefixlen);
    store_data(t, fresh, data);
    st(&t->nodes[fresh].value_slot, take_slot(map, t, value));
    if (node == NIL) {
        st(link, fresh);
    } else if (matchlen == prefixlen) {
        /* the new prefix contains the existing node: it becomes its parent */
        st(&t->nodes[fresh].child[bit_at(node_data(t, node), matchlen)], node);
        st(link, fresh);
    } else {
        /* they diverge after matchlen bits: join them under an intermediate node */
        uint32_t join = take_node(t);
        st(&t->nodes[join].prefixlen, matchlen);
        store_data(t, join, node_data(t, node));
        bool fresh_right = bit_at(data, matchlen);
        st(&t->nodes[join].child[fresh_right], fresh);
        st(&t->nodes[join].child[!fresh_right], node);
        st(link, join);
    }
out:
    write_end(t);
    pthread_mutex_unlock(&t->lock);
    return ret;
}

static int lpm_delete(struct xdpvm_map *map, const void *key)
{
    struct trie *t = map->impl;
    uint32_t prefixlen;
    const uint8_t *data;
    read_key(key, &prefixlen, &data);
    if (prefixlen > t->max_prefixlen)
        return -EINVAL;
    pthread_mutex_lock(&t->lock);
    uint32_t *link = &t->root, *parent_link = &t->root;
    uint32_t parent = NIL, node, matchlen = 0;
    while ((node = *link) != NIL) {
        struct lnode *n = &t->nodes[node];
        matchlen = common_prefix(t, node, n->prefixlen, data, prefixlen);
        if (n->prefixlen != matchlen || n->prefixlen == prefixlen)
            break;
        parent = node;
        parent_link = link;
        link = &n->child[bit_at(data, n->prefixlen)];
    }
    if (node == NIL || t->nodes[node].prefixlen != prefixlen || matchlen != prefixlen ||
        t->nodes[node].value_slot == NIL) {
        pthread_mutex_unlock(&t->lock);
        return -ENOENT;
    }
    write_begin(t);
    struct lnode *n = &t->nodes[node];
    put_slot(t, n->value_slot);
    st(&n->value_slot, NIL);
    if (n->child[0] != NIL && n->child[1] != NIL) {
        /* still joins two subtrees: keep it as an intermediate node */
    } else if (parent != NIL && t->nodes[parent].value_slot == NIL && n->child[0] == NIL &&
               n->child[1] == NIL) {
        /* a leaf under an intermediate node: the sibling replaces the intermediate node */
        struct lnode *p = &t->nodes[parent];
        st(parent_link, p->child[0] == node ? p->child[1] : p->child[0]);
        put_node(t, parent);
        put_node(t, node);
    } else {
        st(link, n->child[0] != NIL ? n->child[0] : n->child[1]);
        put_node(t, node);
    }
    write_end(t);
    pthread_mutex_unlock(&t->lock);
    return 0;
}

/* Post-order list of the nodes that hold values; returns how many. */
static uint32_t collect_postorder(const struct trie *t, uint32_t node, uint32_t *out, uint32_t n)
{
    if (node == NIL)
        return n;
    n = collect_postorder(t, t->nodes[node].child[0], out, n);
    n = collect_postorder(t, t->nodes[node].child[1], out, n);
    if (t->nodes[node].value_slot != NIL)
        out[n++] = node;
    return n;
}

static int lpm_get_next_key(struct xdpvm_map *map, const void *key, void *next_key)
{
    struct trie *t = map->impl;
    pthread_mutex_lock(&t->lock);
    uint32_t *order = malloc(((size_t)t->entries + 1) * sizeof(uint32_t));
    if (!order) {
        pthread_mutex_unlock(&t->lock);
        return -ENOMEM;
    }
    uint32_t count = collect_postorder(t, t->root, order, 0);
    uint32_t next = 0; /* a NULL, invalid or missing key starts over at the first entry */
    if (key) {
        uint32_t prefixlen;
        const uint8_t *data;
        read_key(key, &prefixlen, &data);
        for (uint32_t i = 0; i < count && prefixlen <= t->max_prefixlen; i++) {
            uint32_t node = order[i];
            if (t->nodes[node].prefixlen == prefixlen &&
                common_prefix(t, node, t->nodes[node].prefixlen, data, prefixlen) == prefixlen) {
                next = i + 1;
                break;
            }
        }
    }
    int ret = -ENOENT;
    if (next < count) {
        uint32_t prefix = t->nodes[order[next]].prefixlen;
        memcpy(next_key, &prefix, sizeof(prefix));
        memcpy((uint8_t *)next_key + 4, node_data(t, order[next]), t->data_size);
        ret = 0;
    }
    free(order);
    pthread_mutex_unlock(&t->lock);
    return ret;
}

const struct map_ops xdpvm_lpm_ops = {
    .init = lpm_init, .destroy = lpm_destroy, .lookup = lpm_lookup, .update = lpm_update,
    .delete = lpm_delete, .user_lookup = lpm_user_lookup, .get_next_key = lpm_get_next_key,
};
