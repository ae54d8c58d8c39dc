/* Maps against the kernel: the same map made both ways (xdpvm_map_create and the bpf syscall),
 * the same random operations applied to both, every return code, value and iteration result
 * compared. Also which map specs each side accepts. Needs root and the bpf syscall: SKIP
 * with the reason otherwise. */
#include "lib/testlib.h"
#include "maps/maps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define MAX_VALUE 4096

struct pair {
    struct xdpvm_map *mine;
    int fd;
    size_t value_bytes; /* user-side value size (per-CPU: every CPU's slot) */
    uint32_t key_size;
};

static unsigned ncpus;

static bool make_pair(const char *test, uint32_t type, uint32_t key_size, uint32_t value_size,
                      uint32_t max_entries, uint32_t flags, struct pair *p)
{
    struct xdpvm_map_spec spec = {.type = type, .key_size = key_size, .value_size = value_size,
                                  .max_entries = max_entries, .map_flags = flags};
    snprintf(spec.name, sizeof(spec.name), "diff_%u", type);
    char err[256];
    p->mine = xdpvm_map_create(&spec, ncpus, err, sizeof(err));
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
    p->fd = bpf_map_create(type, spec.name, key_size, value_size, max_entries, &opts);
    p->key_size = key_size;
    if (!p->mine || p->fd < 0) {
        test_fail(test, "create: xdpvm %s, kernel %s", p->mine ? "ok" : err,
                  p->fd < 0 ? strerror(-p->fd) : "ok");
        return false;
    }
    p->value_bytes = xdpvm_map_user_value_size(p->mine);
    return true;
}

static void free_pair(struct pair *p)
{
    xdpvm_map_free(p->mine);
    if (p->fd >= 0)
        close(p->fd);
}

static bool same(const char *test, int step, const char *op, int mine, int theirs)
{
    if (mine == theirs)
        return true;
    test_fail(test, "step %d: %s: xdpvm %d (%s), kernel %d (%s)", step, op, mine,
              strerror(mine < 0 ? -mine : 0), theirs, strerror(theirs < 0 ? -theirs : 0));
    return false;
}

static bool same_lookup(const char *test, int step, struct pair *p, const void *key)
{
    static uint8_t a[MAX_VALUE], b[MAX_VALUE];
    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    int rc_mine = xdpvm_map_user_lookup(p->mine, key, a);
    int rc_kernel = bpf_map_lookup_elem(p->fd, key, b);
    if (!same(test, step, "lookup", rc_mine, rc_kernel))
        return false;
    if (rc_mine == 0 && memcmp(a, b, p->value_bytes)) {
        test_fail(test, "step %d: lookup: values differ", step);
        return false;
    }
    return true;
}

/* Every key by get_next_key from NULL, in order. Returns the count or -1. */
static int walk_keys(struct pair *p, bool kernel, uint8_t *keys, int max)
{
    uint8_t cur[64], next[64];
    int n = 0;
    int rc = kernel ? bpf_map_get_next_key(p->fd, NULL, next) : xdpvm_map_get_next_key(p->mine, NULL, next);
    while (rc == 0 && n < max) {
        memcpy(keys + (size_t)n * p->key_size, next, p->key_size);
        memcpy(cur, next, p->key_size);
        n++;
        rc = kernel ? bpf_map_get_next_key(p->fd, cur, next) : xdpvm_map_get_next_key(p->mine, cur, next);
    }
    return rc == -ENOENT ? n : -1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x, y;
    memcpy(&x, a, 4);
    memcpy(&y, b, 4);
    return x < y ? -1 : x > y;
}

/* Same keys; in the same order when ordered (arrays, LPM), as sets otherwise (hashes). */
static bool same_keys(const char *test, struct pair *p, bool ordered)
{
    static uint8_t mine[64 * 64], theirs[64 * 64];
    int n_mine = walk_keys(p, false, mine, 64), n_theirs = walk_keys(p, true, theirs, 64);
    if (n_mine != n_theirs || n_mine < 0) {
        test_fail(test, "iteration: xdpvm %d keys, kernel %d", n_mine, n_theirs);
        return false;
    }
    if (!ordered && p->key_size == 4) {
        qsort(mine, (size_t)n_mine, 4, cmp_u32);
        qsort(theirs, (size_t)n_theirs, 4, cmp_u32);
    }
    if (memcmp(mine, theirs, (size_t)n_mine * p->key_size)) {
        test_fail(test, "iteration: keys differ%s", ordered ? " (or their order)" : "");
        return false;
    }
    return true;
}

static void fill_value(uint8_t *value, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        value[i] = (uint8_t)(seed * 31 + i);
}

/* Random updates (every flag value 0..4), deletes and lookups on keys 0..7. */
static void keyed_ops(const char *test, uint32_t type, uint32_t value_size, uint32_t max_entries,
                      bool ordered_keys)
{
    struct pair p;
    if (!make_pair(test, type, 4, value_size, max_entries, 0, &p))
        goto done;
    unsigned seed = type * 7919u;
    static uint8_t value[MAX_VALUE];
    for (int step = 0; step < 400; step++) {
        uint32_t key = (uint32_t)rand_r(&seed) % (max_entries + 4);
        int op = rand_r(&seed) % 4;
        if (op <= 1) {
            uint64_t flags = (uint64_t)(rand_r(&seed) % 5);
            fill_value(value, p.value_bytes, (unsigned)step);
            if (!same(test, step, "update", xdpvm_map_user_update(p.mine, &key, value, flags),
                      bpf_map_update_elem(p.fd, &key, value, flags)))
                goto done;
        } else if (op == 2) {
            if (!same(test, step, "delete", xdpvm_map_user_delete(p.mine, &key),
                      bpf_map_delete_elem(p.fd, &key)))
                goto done;
        } else if (!same_lookup(test, step, &p, &key)) {
            goto done;
        }
    }
    uint32_t missing = 1000, next_mine, next_theirs;
    if (!same(test, 400, "get_next_key(missing)", xdpvm_map_get_next_key(p.mine, &missing, &next_mine),
              bpf_map_get_next_key(p.fd, &missing, &next_theirs)) ||
        !same_keys(test, &p, ordered_keys))
        goto done;
    test_pass(test);
done:
    free_pair(&p);
}

static void devmaps(void)
{
    const char *test = "maps_vs_kernel_devmap_devmap_hash";
    struct pair dm = {.fd = -1}, dh = {.fd = -1};
    if (!make_pair(test, BPF_MAP_TYPE_DEVMAP, 4, 4, 4, 0, &dm) ||
        !make_pair(test, BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, 4, 0, &dh))
        goto done;
    unsigned seed = 99;
    for (int step = 0; step < 300; step++) {
        struct pair *p = step & 1 ? &dh : &dm;
        uint32_t key = (uint32_t)rand_r(&seed) % 6, ifindex = (uint32_t)(rand_r(&seed) % 3 == 0 ? 0 : 1);
        uint64_t flags = (uint64_t)(rand_r(&seed) % 4);
        int op = rand_r(&seed) % 3;
        bool ok = op == 0   ? same(test, step, "update", xdpvm_map_user_update(p->mine, &key, &ifindex, flags),
                                   bpf_map_update_elem(p->fd, &key, &ifindex, flags))
                  : op == 1 ? same(test, step, "delete", xdpvm_map_user_delete(p->mine, &key),
                                   bpf_map_delete_elem(p->fd, &key))
                            : same_lookup(test, step, p, &key);
        if (!ok)
            goto done;
    }
    if (!same_keys(test, &dm, true) || !same_keys(test, &dh, false))
        goto done;
    test_pass(test);
done:
    free_pair(&dm);
    free_pair(&dh);
}

struct lpm_key {
    uint32_t prefixlen;
    uint8_t addr[4];
};

static void lpm(void)
{
    const char *test = "maps_vs_kernel_lpm_trie";
    struct pair p;
    if (!make_pair(test, BPF_MAP_TYPE_LPM_TRIE, 8, 4, 16, BPF_F_NO_PREALLOC, &p))
        goto done;
    unsigned seed = 4242;
    for (int step = 0; step < 600; step++) {
        struct lpm_key key = {(uint32_t)(rand_r(&seed) % 34), {10, 0, 0, 0}};
        uint32_t bits = (uint32_t)rand_r(&seed);
        key.addr[1] = (uint8_t)(bits & 0x3), key.addr[2] = (uint8_t)((bits >> 2) & 0xc1);
        key.addr[3] = (uint8_t)(bits >> 10);
        if (rand_r(&seed) % 4 == 0)
            key.addr[0] = (uint8_t)(bits >> 20);
        int op = rand_r(&seed) % 4;
        uint32_t value = (uint32_t)step;
        bool ok;
        if (op == 0 || op == 1) {
            uint64_t flags = (uint64_t)(rand_r(&seed) % 4);
            ok = same(test, step, "update", xdpvm_map_user_update(p.mine, &key, &value, flags),
                      bpf_map_update_elem(p.fd, &key, &value, flags));
        } else if (op == 2) {
            ok = same(test, step, "delete", xdpvm_map_user_delete(p.mine, &key),
                      bpf_map_delete_elem(p.fd, &key));
        } else {
            key.prefixlen = 32;
            ok = same_lookup(test, step, &p, &key);
        }
        if (!ok)
            goto done;
        if (step % 50 == 49 && !same_keys(test, &p, true))
            goto done;
    }
    test_pass(test);
done:
    free_pair(&p);
}

static void queue_stack(uint32_t type, const char *test)
{
    struct pair p;
    if (!make_pair(test, type, 0, 4, 3, 0, &p))
        goto done;
    unsigned seed = type;
    for (int step = 0; step < 300; step++) {
        uint32_t value = (uint32_t)step, a = 0, b = 0;
        int op = rand_r(&seed) % 3;
        bool ok;
        if (op == 0) {
            uint64_t flags = (uint64_t)(rand_r(&seed) % 4);
            ok = same(test, step, "push", xdpvm_map_push(p.mine, &value, flags),
                      bpf_map_update_elem(p.fd, NULL, &value, flags));
        } else if (op == 1) {
            ok = same(test, step, "pop", xdpvm_map_pop(p.mine, &a, true),
                      bpf_map_lookup_and_delete_elem(p.fd, NULL, &b)) && a == b;
        } else {
            ok = same(test, step, "peek", xdpvm_map_user_lookup(p.mine, NULL, &a),
                      bpf_map_lookup_elem(p.fd, NULL, &b)) && a == b;
        }
        if (!ok) {
            test_fail(test, "step %d: values %u and %u", step, a, b);
            goto done;
        }
    }
    uint32_t key;
    if (!same(test, 300, "delete", xdpvm_map_user_delete(p.mine, NULL), bpf_map_delete_elem(p.fd, NULL)) ||
        !same(test, 301, "get_next_key", xdpvm_map_get_next_key(p.mine, NULL, &key),
              bpf_map_get_next_key(p.fd, NULL, &key)))
        goto done;
    test_pass(test);
done:
    free_pair(&p);
}

/* LRU eviction policies differ in detail; what must agree: inserts never fail, the newest key
 * is there, the map never holds more than max_entries. */
static void lru(uint32_t type, const char *test)
{
    struct pair p;
    if (!make_pair(test, type, 4, 8, 64, 0, &p))
        goto done;
    static uint8_t value[MAX_VALUE];
    for (uint32_t key = 0; key < 300; key++) {
        fill_value(value, p.value_bytes, key);
        if (!same(test, (int)key, "update", xdpvm_map_user_update(p.mine, &key, value, BPF_NOEXIST),
                  bpf_map_update_elem(p.fd, &key, value, BPF_NOEXIST)) ||
            !same_lookup(test, (int)key, &p, &key))
            goto done;
    }
    static uint8_t keys[64 * 64];
    int n_mine = walk_keys(&p, false, keys, 64), n_theirs = walk_keys(&p, true, keys, 64);
    if (n_mine < 1 || n_mine > 64 || n_theirs < 1 || n_theirs > 64) {
        test_fail(test, "entries after 300 inserts: xdpvm %d, kernel %d (max 64)", n_mine, n_theirs);
        goto done;
    }
    test_pass(test);
done:
    free_pair(&p);
}

/* Which specs each side accepts. */
static void create_rules(void)
{
    const char *test = "maps_vs_kernel_create_rules";
    struct { uint32_t type, ks, vs, max, flags; } specs[] = {
        {BPF_MAP_TYPE_HASH, 4, 8, 4, 0}, {BPF_MAP_TYPE_HASH, 0, 8, 4, 0},
        {BPF_MAP_TYPE_HASH, 4, 0, 4, 0}, {BPF_MAP_TYPE_HASH, 4, 8, 0, 0},
        {BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_NO_PREALLOC}, {BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_RDONLY_PROG},
        {BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_MMAPABLE}, {BPF_MAP_TYPE_HASH, 4, 8, 4, BPF_F_ZERO_SEED},
        {BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_MMAPABLE}, {BPF_MAP_TYPE_ARRAY, 8, 8, 4, 0},
        {BPF_MAP_TYPE_ARRAY, 4, 0, 4, 0}, {BPF_MAP_TYPE_ARRAY, 4, 8, 4, BPF_F_NO_PREALLOC},
        {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4, BPF_F_MMAPABLE}, {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 40000, 4, 0},
        {BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, BPF_F_NO_PREALLOC}, {BPF_MAP_TYPE_LRU_HASH, 4, 8, 4, BPF_F_NO_COMMON_LRU},
        {BPF_MAP_TYPE_LPM_TRIE, 8, 4, 4, 0}, {BPF_MAP_TYPE_LPM_TRIE, 8, 4, 4, BPF_F_NO_PREALLOC},
        {BPF_MAP_TYPE_LPM_TRIE, 4, 4, 4, BPF_F_NO_PREALLOC}, {BPF_MAP_TYPE_LPM_TRIE, 261, 4, 4, BPF_F_NO_PREALLOC},
        {BPF_MAP_TYPE_LPM_TRIE, 260, 4, 4, BPF_F_NO_PREALLOC}, {BPF_MAP_TYPE_LPM_TRIE, 8, 0, 4, BPF_F_NO_PREALLOC},
        {BPF_MAP_TYPE_QUEUE, 0, 4, 4, 0}, {BPF_MAP_TYPE_QUEUE, 4, 4, 4, 0}, {BPF_MAP_TYPE_STACK, 0, 0, 4, 0},
        {BPF_MAP_TYPE_QUEUE, 0, 4, 4, BPF_F_NO_PREALLOC},
        {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0}, {BPF_MAP_TYPE_RINGBUF, 0, 0, 12288, 0},
        {BPF_MAP_TYPE_RINGBUF, 0, 0, 2048, 0}, {BPF_MAP_TYPE_RINGBUF, 4, 4, 4096, 0},
        {BPF_MAP_TYPE_DEVMAP, 4, 4, 4, 0}, {BPF_MAP_TYPE_DEVMAP, 4, 8, 4, 0}, {BPF_MAP_TYPE_DEVMAP, 4, 6, 4, 0},
        {BPF_MAP_TYPE_DEVMAP, 4, 4, 4, BPF_F_NO_PREALLOC}, {BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, 4, 0},
        {BPF_MAP_TYPE_DEVMAP_HASH, 8, 4, 4, 0}, {BPF_MAP_TYPE_XSKMAP, 4, 4, 4, 0}, {BPF_MAP_TYPE_XSKMAP, 4, 8, 4, 0},
        {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0}, {BPF_MAP_TYPE_PROG_ARRAY, 4, 8, 4, 0},
    };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct xdpvm_map_spec spec = {.name = "rule", .type = specs[i].type, .key_size = specs[i].ks,
                                      .value_size = specs[i].vs, .max_entries = specs[i].max,
                                      .map_flags = specs[i].flags};
        char err[256] = "";
        struct xdpvm_map *m = xdpvm_map_create(&spec, ncpus, err, sizeof(err));
        LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = specs[i].flags);
        int fd = bpf_map_create(specs[i].type, "rule", specs[i].ks, specs[i].vs, specs[i].max, &opts);
        bool mine = m != NULL, theirs = fd >= 0;
        xdpvm_map_free(m);
        if (fd >= 0)
            close(fd);
        if (mine != theirs) {
            test_fail(test, "%s key %u value %u max %u flags 0x%x: xdpvm %s, kernel %s",
                      xdpvm_map_type_name(specs[i].type), specs[i].ks, specs[i].vs, specs[i].max,
                      specs[i].flags, mine ? "accepts" : err, theirs ? "accepts" : strerror(-fd));
            return;
        }
    }
    test_pass(test);
}

int main(void)
{
    const char *why;
    if (!test_kernel_bpf_available(&why)) {
        test_skip("maps_vs_kernel", "%s", why);
        return test_exit_code();
    }
    int n = libbpf_num_possible_cpus();
    ncpus = n > 0 ? (unsigned)n : 1;
    create_rules();
    keyed_ops("maps_vs_kernel_hash", BPF_MAP_TYPE_HASH, 12, 4, false);
    keyed_ops("maps_vs_kernel_percpu_hash", BPF_MAP_TYPE_PERCPU_HASH, 12, 4, false);
    keyed_ops("maps_vs_kernel_array", BPF_MAP_TYPE_ARRAY, 12, 6, true);
    keyed_ops("maps_vs_kernel_percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY, 12, 6, true);
    devmaps();
    lpm();
    queue_stack(BPF_MAP_TYPE_QUEUE, "maps_vs_kernel_queue");
    queue_stack(BPF_MAP_TYPE_STACK, "maps_vs_kernel_stack");
    lru(BPF_MAP_TYPE_LRU_HASH, "maps_vs_kernel_lru_hash");
    lru(BPF_MAP_TYPE_LRU_PERCPU_HASH, "maps_vs_kernel_lru_percpu_hash");
    return test_exit_code();
}
