/* Maps: every type with the kernel's flag and error rules, iteration order, per-CPU slots,
 * LRU eviction, longest-prefix matching (against a brute-force model), ring buffer record
 * order, and concurrent workers. */
#include "lib/expect.h"
#include "lib/testlib.h"
#include "maps/maps.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct xdpvm_map *make(uint32_t type, uint32_t key_size, uint32_t value_size,
                              uint32_t max_entries, uint32_t flags, unsigned ncpus)
{
    struct xdpvm_map_spec spec = {.type = type, .key_size = key_size, .value_size = value_size,
                                  .max_entries = max_entries, .map_flags = flags};
    snprintf(spec.name, sizeof(spec.name), "t%u", type);
    char err[256];
    struct xdpvm_map *map = xdpvm_map_create(&spec, ncpus, err, sizeof(err));
    if (!map)
        fprintf(stderr, "create failed: %s\n", err);
    return map;
}

static bool in_storage(struct xdpvm_map *map, const void *p, size_t len)
{
    void *start;
    size_t size;
    xdpvm_map_storage(map, &start, &size);
    return (const uint8_t *)p >= (uint8_t *)start && (const uint8_t *)p + len <= (uint8_t *)start + size;
}

static void create_errors(void)
{
    const char *name = "maps_create_errors";
    struct xdpvm_map_spec spec = {.name = "inner", .type = 12, .key_size = 4, .value_size = 4,
                                  .max_entries = 1};
    char err[256] = "";
    EXPECT(!xdpvm_map_create(&spec, 1, err, sizeof(err)));
    EXPECT(strstr(err, "BPF_MAP_TYPE_ARRAY_OF_MAPS") && strstr(err, "'inner'") &&
           strstr(err, "unsupported"));
    spec.type = 999;
    EXPECT(!xdpvm_map_create(&spec, 1, err, sizeof(err)) && strstr(err, "unknown map type 999"));
    struct { uint32_t type, ks, vs, max, flags; const char *why; } bad[] = {
        {XDPVM_MAP_ARRAY, 4, 4, 0, 0, "max_entries"},
        {XDPVM_MAP_ARRAY, 8, 4, 1, 0, "key_size must be 4"},
        {XDPVM_MAP_ARRAY, 4, 0, 1, 0, "value_size"},
        {XDPVM_MAP_HASH, 0, 4, 1, 0, "key_size"},
        {XDPVM_MAP_HASH, 4, 4, 1, 1u << 13, "map_flags"},
        {XDPVM_MAP_LRU_HASH, 4, 4, 4, 1, "BPF_F_NO_PREALLOC"},
        {XDPVM_MAP_PERCPU_ARRAY, 4, 40000, 1, 0, "32768"},
        {XDPVM_MAP_LPM_TRIE, 8, 4, 4, 0, "BPF_F_NO_PREALLOC"},
        {XDPVM_MAP_LPM_TRIE, 4, 4, 4, 1, "key_size"},
        {XDPVM_MAP_RINGBUF, 0, 0, 3 * 4096, 0, "power of 2"},
        {XDPVM_MAP_RINGBUF, 0, 0, 1024, 0, "multiple of 4096"},
        {XDPVM_MAP_RINGBUF, 4, 4, 4096, 0, "must be 0"},
        {XDPVM_MAP_QUEUE, 4, 4, 4, 0, "key_size must be 0"},
        {XDPVM_MAP_DEVMAP, 4, 6, 4, 0, "value_size must be 4"},
        {XDPVM_MAP_XSKMAP, 4, 8, 4, 0, "value_size must be 4"},
        {XDPVM_MAP_PROG_ARRAY, 4, 8, 4, 0, "value_size must be 4"},
        {XDPVM_MAP_DEVMAP_HASH, 8, 4, 4, 0, "key_size must be 4"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        spec = (struct xdpvm_map_spec){.name = "m", .type = bad[i].type, .key_size = bad[i].ks,
                                       .value_size = bad[i].vs, .max_entries = bad[i].max,
                                       .map_flags = bad[i].flags};
        err[0] = '\0';
        struct xdpvm_map *m = xdpvm_map_create(&spec, 1, err, sizeof(err));
        if (m || !strstr(err, bad[i].why) || !strstr(err, xdpvm_map_type_name(bad[i].type))) {
            test_fail(name, "case %zu (%s): map %p, error '%s'", i, bad[i].why, (void *)m, err);
            xdpvm_map_free(m);
            return;
        }
    }
    EXPECT(xdpvm_map_type_name(XDPVM_MAP_LRU_PERCPU_HASH) &&
           !strcmp(xdpvm_map_type_name(XDPVM_MAP_LRU_PERCPU_HASH), "lru_percpu_hash"));
    EXPECT(!xdpvm_map_type_name(500));
    test_pass(name);
done:;
}

/* Resident memory of this process in bytes (/proc/self/statm), 0 when unknown. */
static uint64_t resident_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    if (f)
        fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* A map declared huge (as a damaged object may declare one) costs address space, not a pass
 * zeroing every page of it: creating and freeing a 1 GiB array and a 1 GiB hash stays fast
 * and resident memory does not follow the declared size. */
static void huge_maps_cost_address_space_only(void)
{
    const char *name = "maps_huge_map_not_touched";
    struct xdpvm_map *array = NULL, *hash = NULL;
    uint64_t before = resident_bytes();
    EXPECT(before > 0);
    array = make(XDPVM_MAP_ARRAY, 4, 8, 1u << 27, 0, 1);
    hash = make(XDPVM_MAP_HASH, 4, 1u << 16, 1u << 14, 0, 1);
    EXPECT(array && hash);
    uint32_t last = (1u << 27) - 1, key = 7;
    uint64_t value = 0x1122334455667788ull, got = 0;
    uint64_t *slot = xdpvm_map_lookup(array, &last, 0);
    EXPECT(slot && *slot == 0);
    EXPECT_EQ(xdpvm_map_update(array, &last, &value, 0, 0), 0);
    EXPECT(xdpvm_map_user_lookup(array, &last, &got) == 0 && got == value);
    uint8_t *big = calloc(1, 1u << 16);
    EXPECT(big);
    big[0] = 1;
    int rc = xdpvm_map_update(hash, &key, big, 0, 0);
    free(big);
    EXPECT_EQ(rc, 0);
    uint64_t grown = resident_bytes() - before;
    EXPECT(grown < (64u << 20));
    test_pass(name);
done:
    xdpvm_map_free(array);
    xdpvm_map_free(hash);
}

static long count_cb(void *key, void *value, void *arg)
{
    (void)value;
    uint32_t k;
    memcpy(&k, key, 4);
    long *state = arg; /* state[0]: calls, state[1]: stop after this many, state[2..]: keys */
    state[2 + state[0]] = k;
    state[0]++;
    return state[0] >= state[1];
}

static void array_semantics(void)
{
    const char *name = "maps_array_flags_errors_iteration";
    struct xdpvm_map *m = make(XDPVM_MAP_ARRAY, 4, 12, 4, 0, 1);
    EXPECT(m);
    uint32_t key = 2, value[3] = {1, 2, 3}, out[3];
    EXPECT_EQ(xdpvm_map_update(m, &key, value, XDPVM_ANY, 0), 0);
    EXPECT_EQ(xdpvm_map_update(m, &key, value, XDPVM_EXIST, 0), 0);
    EXPECT_EQ(xdpvm_map_update(m, &key, value, XDPVM_NOEXIST, 0), -EEXIST);
    EXPECT_EQ(xdpvm_map_update(m, &key, value, 3, 0), -EINVAL);
    EXPECT_EQ(xdpvm_map_update(m, &key, value, 4 /* BPF_F_LOCK */, 0), -EINVAL);
    key = 4;
    EXPECT_EQ(xdpvm_map_update(m, &key, value, XDPVM_ANY, 0), -E2BIG);
    EXPECT(!xdpvm_map_lookup(m, &key, 0));
    EXPECT_EQ(xdpvm_map_user_lookup(m, &key, out), -ENOENT);
    key = 2;
    uint32_t *p = xdpvm_map_lookup(m, &key, 0);
    EXPECT(p && p[0] == 1 && p[2] == 3 && in_storage(m, p, 12));
    p[1] = 42; /* programs write values in place */
    EXPECT_EQ(xdpvm_map_user_lookup(m, &key, out), 0);
    EXPECT_EQ(out[1], 42);
    EXPECT_EQ(xdpvm_map_delete(m, &key), -EINVAL);
    key = 0;
    EXPECT(xdpvm_map_lookup(m, &key, 0)); /* every index exists, zeroed */
    EXPECT_EQ(*(uint32_t *)xdpvm_map_lookup(m, &key, 0), 0);
    uint32_t next;
    EXPECT_EQ(xdpvm_map_get_next_key(m, NULL, &next), 0);
    EXPECT_EQ(next, 0);
    for (uint32_t i = 0; i < 3; i++) {
        EXPECT_EQ(xdpvm_map_get_next_key(m, &i, &next), 0);
        EXPECT_EQ(next, i + 1);
    }
    key = 3;
    EXPECT_EQ(xdpvm_map_get_next_key(m, &key, &next), -ENOENT);
    key = 77;
    EXPECT_EQ(xdpvm_map_get_next_key(m, &key, &next), 0);
    EXPECT_EQ(next, 0);
    long state[8] = {0, 100};
    EXPECT_EQ(xdpvm_map_for_each(m, 0, count_cb, state), 4);
    EXPECT(state[2] == 0 && state[3] == 1 && state[4] == 2 && state[5] == 3);
    long stop[8] = {0, 2};
    EXPECT_EQ(xdpvm_map_for_each(m, 0, count_cb, stop), 2);
    EXPECT_EQ(xdpvm_map_user_value_size(m), 12);
    xdpvm_map_freeze(m);
    EXPECT_EQ(xdpvm_map_user_update(m, &key, value, 0), -EPERM);
    key = 1;
    EXPECT_EQ(xdpvm_map_update(m, &key, value, 0, 0), 0); /* programs may still write */
    test_pass(name);
done:
    xdpvm_map_free(m);
}

static void percpu_array_slots(void)
{
    const char *name = "maps_percpu_array_slots";
    struct xdpvm_map *m = make(XDPVM_MAP_PERCPU_ARRAY, 4, 4, 2, 0, 3);
    EXPECT(m);
    EXPECT_EQ(xdpvm_map_user_value_size(m), 3 * 8);
    uint32_t key = 1;
    uint32_t *c0 = xdpvm_map_lookup(m, &key, 0), *c2 = xdpvm_map_lookup(m, &key, 2);
    EXPECT(c0 && c2 && c0 != c2 && in_storage(m, c2, 4));
    EXPECT(!xdpvm_map_lookup(m, &key, 3));
    *c0 = 5;
    uint32_t v = 9;
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, 0, 2), 0);
    uint64_t all[3];
    EXPECT_EQ(xdpvm_map_user_lookup(m, &key, all), 0);
    EXPECT(all[0] == 5 && all[1] == 0 && all[2] == 9);
    uint64_t set[3] = {11, 22, 33};
    EXPECT_EQ(xdpvm_map_user_update(m, &key, set, 0), 0);
    EXPECT(*c0 == 11 && *(uint32_t *)xdpvm_map_lookup(m, &key, 1) == 22 && *c2 == 33);
    test_pass(name);
done:
    xdpvm_map_free(m);
}

static void hash_semantics(void)
{
    const char *name = "maps_hash_flags_errors_iteration";
    struct xdpvm_map *m = make(XDPVM_MAP_HASH, 8, 4, 16, 0, 1);
    EXPECT(m);
    uint64_t key = 7;
    uint32_t v = 1, out;
    EXPECT(!xdpvm_map_lookup(m, &key, 0));
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, XDPVM_EXIST, 0), -ENOENT);
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, XDPVM_NOEXIST, 0), 0);
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, XDPVM_NOEXIST, 0), -EEXIST);
    v = 2;
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, XDPVM_EXIST, 0), 0);
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, 3, 0), -EINVAL);
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, 4, 0), -EINVAL);
    uint32_t *p = xdpvm_map_lookup(m, &key, 0);
    EXPECT(p && *p == 2 && in_storage(m, p, 4));
    EXPECT_EQ(xdpvm_map_delete(m, &key), 0);
    EXPECT_EQ(xdpvm_map_delete(m, &key), -ENOENT);
    EXPECT_EQ(xdpvm_map_user_lookup(m, &key, &out), -ENOENT);
    uint64_t none;
    EXPECT_EQ(xdpvm_map_get_next_key(m, NULL, &none), -ENOENT);
    for (uint64_t k = 100; k < 116; k++) {
        v = (uint32_t)k;
        EXPECT_EQ(xdpvm_map_user_update(m, &k, &v, XDPVM_ANY), 0);
    }
    key = 999;
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, XDPVM_ANY, 0), -E2BIG);
    key = 105;
    v = 5000;
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, XDPVM_ANY, 0), 0); /* replacing works when full */
    EXPECT_EQ(xdpvm_map_user_lookup(m, &key, &out), 0);
    EXPECT_EQ(out, 5000);
    /* iteration: every key exactly once, then -ENOENT; a missing key restarts at the first */
    bool seen[16] = {false};
    uint64_t cur, nxt;
    int n = 0;
    int rc = xdpvm_map_get_next_key(m, NULL, &cur);
    uint64_t first = cur;
    while (rc == 0) {
        EXPECT(cur >= 100 && cur < 116 && !seen[cur - 100]);
        seen[cur - 100] = true;
        n++;
        rc = xdpvm_map_get_next_key(m, &cur, &nxt);
        cur = nxt;
    }
    EXPECT_EQ(rc, -ENOENT);
    EXPECT_EQ(n, 16);
    key = 12345;
    EXPECT_EQ(xdpvm_map_get_next_key(m, &key, &nxt), 0);
    EXPECT_EQ(nxt, first);
    long state[20] = {0, 100};
    EXPECT_EQ(xdpvm_map_for_each(m, 0, count_cb, state), 16);
    /* after deleting everything the elements are reusable */
    for (uint64_t k = 100; k < 116; k++)
        EXPECT_EQ(xdpvm_map_user_delete(m, &k), 0);
    for (uint64_t k = 200; k < 216; k++)
        EXPECT_EQ(xdpvm_map_update(m, &k, &v, XDPVM_NOEXIST, 0), 0);
    test_pass(name);
done:
    xdpvm_map_free(m);
}

static void percpu_hash_slots(void)
{
    const char *name = "maps_percpu_hash_slots";
    struct xdpvm_map *m = make(XDPVM_MAP_PERCPU_HASH, 4, 4, 4, 0, 2);
    EXPECT(m);
    uint32_t key = 3, v = 7;
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, 0, 1), 0); /* new element: other cpus zeroed */
    uint64_t all[2];
    EXPECT_EQ(xdpvm_map_user_lookup(m, &key, all), 0);
    EXPECT(all[0] == 0 && all[1] == 7);
    v = 8;
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, 0, 0), 0);
    EXPECT_EQ(xdpvm_map_user_lookup(m, &key, all), 0);
    EXPECT(all[0] == 8 && all[1] == 7);
    uint32_t *c1 = xdpvm_map_lookup(m, &key, 1);
    EXPECT(c1 && *c1 == 7 && c1 != xdpvm_map_lookup(m, &key, 0));
    uint64_t set[2] = {100, 200};
    EXPECT_EQ(xdpvm_map_user_update(m, &key, set, XDPVM_EXIST), 0);
    EXPECT_EQ(*c1, 200);
    struct xdpvm_map *l = make(XDPVM_MAP_LRU_PERCPU_HASH, 4, 4, 2, 0, 2);
    EXPECT(l);
    for (uint32_t k = 0; k < 5; k++)
        EXPECT_EQ(xdpvm_map_update(l, &k, &k, 0, k % 2), 0);
    key = 4;
    EXPECT_EQ(xdpvm_map_user_lookup(l, &key, all), 0);
    EXPECT(all[0] == 4 && all[1] == 0);
    xdpvm_map_free(l);
    test_pass(name);
done:
    xdpvm_map_free(m);
}

static void lru_eviction(void)
{
    const char *name = "maps_lru_hash_eviction";
    struct xdpvm_map *m = make(XDPVM_MAP_LRU_HASH, 4, 4, 8, 0, 1);
    EXPECT(m);
    for (uint32_t k = 0; k < 8; k++)
        EXPECT_EQ(xdpvm_map_update(m, &k, &k, XDPVM_NOEXIST, 0), 0);
    /* keys 0..3 are in use; 4..7 are not: new keys must evict 4..7 */
    for (uint32_t k = 0; k < 4; k++)
        EXPECT(xdpvm_map_lookup(m, &k, 0));
    for (uint32_t k = 100; k < 104; k++)
        EXPECT_EQ(xdpvm_map_update(m, &k, &k, XDPVM_NOEXIST, 0), 0); /* never -E2BIG */
    uint32_t out;
    for (uint32_t k = 0; k < 4; k++)
        EXPECT_EQ(xdpvm_map_user_lookup(m, &k, &out), 0);
    for (uint32_t k = 4; k < 8; k++)
        EXPECT_EQ(xdpvm_map_user_lookup(m, &k, &out), -ENOENT);
    for (uint32_t k = 100; k < 104; k++)
        EXPECT_EQ(xdpvm_map_user_lookup(m, &k, &out), 0);
    uint32_t key = 0;
    EXPECT_EQ(xdpvm_map_update(m, &key, &key, XDPVM_NOEXIST, 0), -EEXIST);
    /* the map never holds more than max_entries */
    int count = 0;
    uint32_t cur, nxt;
    for (int rc = xdpvm_map_get_next_key(m, NULL, &cur); rc == 0;
         rc = xdpvm_map_get_next_key(m, &cur, &nxt), cur = nxt)
        count++;
    EXPECT_EQ(count, 8);
    test_pass(name);
done:
    xdpvm_map_free(m);
}

struct lpm_key4 {
    uint32_t prefixlen;
    uint8_t addr[4];
};

static struct lpm_key4 k4(uint32_t plen, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    return (struct lpm_key4){plen, {a, b, c, d}};
}

static bool prefix_matches(const struct lpm_key4 *route, uint32_t addr)
{
    uint32_t net = (uint32_t)route->addr[0] << 24 | (uint32_t)route->addr[1] << 16 |
                   (uint32_t)route->addr[2] << 8 | route->addr[3];
    uint32_t mask = route->prefixlen ? ~0u << (32 - route->prefixlen) : 0;
    return (net & mask) == (addr & mask);
}

static void lpm_trie(void)
{
    const char *name = "maps_lpm_trie_matches";
    struct xdpvm_map *m = make(XDPVM_MAP_LPM_TRIE, 8, 4, 6, 1, 1);
    EXPECT(m);
    struct lpm_key4 key = k4(8, 10, 0, 0, 0);
    uint32_t v = 8, out;
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, XDPVM_EXIST, 0), -ENOENT);
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, XDPVM_NOEXIST, 0), 0);
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, XDPVM_NOEXIST, 0), -EEXIST);
    key = k4(16, 10, 1, 0, 0), v = 16;
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, 0, 0), 0);
    key = k4(24, 10, 1, 2, 0), v = 24;
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, 0, 0), 0);
    key = k4(24, 10, 1, 3, 0), v = 243; /* sibling: forces an intermediate node */
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, 0, 0), 0);
    key = k4(0, 0, 0, 0, 0), v = 0;
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, 0, 0), 0);
    key = k4(33, 1, 2, 3, 4);
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, 0, 0), -EINVAL);
    struct { struct lpm_key4 k; uint32_t want; } q[] = {
        {k4(32, 10, 1, 2, 99), 24}, {k4(32, 10, 1, 3, 1), 243}, {k4(32, 10, 1, 4, 1), 16},
        {k4(32, 10, 9, 9, 9), 8}, {k4(32, 192, 168, 0, 1), 0}, {k4(20, 10, 1, 2, 3), 16},
    };
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        uint32_t *p = xdpvm_map_lookup(m, &q[i].k, 0);
        EXPECT(p && in_storage(m, p, 4));
        EXPECT_EQ(*p, q[i].want);
    }
    /* post order: more specific prefixes first, every entry once */
    struct lpm_key4 cur, nxt;
    uint32_t order[8], n = 0;
    for (int rc = xdpvm_map_get_next_key(m, NULL, &cur); rc == 0 && n < 8;
         rc = xdpvm_map_get_next_key(m, &cur, &nxt), cur = nxt)
        order[n++] = cur.prefixlen;
    EXPECT_EQ(n, 5);
    EXPECT(order[0] == 24 && order[1] == 24 && order[2] == 16 && order[3] == 8 && order[4] == 0);
    key = k4(12, 10, 0, 0, 0); /* not in the trie: iteration restarts */
    EXPECT_EQ(xdpvm_map_get_next_key(m, &key, &nxt), 0);
    EXPECT_EQ(nxt.prefixlen, 24);
    key = k4(5, 0, 0, 0, 0), v = 5;
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, 0, 0), 0);
    key = k4(6, 0, 0, 0, 0);
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, 0, 0), -ENOSPC);
    key = k4(16, 10, 1, 0, 0), v = 1616;
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, XDPVM_EXIST, 0), 0); /* in place when full */
    EXPECT_EQ(xdpvm_map_delete(m, &key), 0);
    EXPECT_EQ(xdpvm_map_delete(m, &key), -ENOENT);
    key = k4(32, 10, 1, 4, 1);
    EXPECT_EQ(xdpvm_map_user_lookup(m, &key, &out), 0);
    EXPECT_EQ(out, 8);
    key = k4(24, 10, 1, 2, 0);
    EXPECT_EQ(xdpvm_map_delete(m, &key), 0);
    key = k4(32, 10, 1, 2, 7);
    EXPECT_EQ(*(uint32_t *)xdpvm_map_lookup(m, &key, 0), 8);
    test_pass(name);
done:
    xdpvm_map_free(m);
}

/* Random routes, random deletes, random lookups: the trie agrees with a linear scan. */
static void lpm_random_model(void)
{
    const char *name = "maps_lpm_trie_matches_model";
    enum { ROUTES = 64 };
    struct lpm_key4 routes[ROUTES];
    bool live[ROUTES] = {false};
    struct xdpvm_map *m = make(XDPVM_MAP_LPM_TRIE, 8, 4, ROUTES, 1, 1);
    EXPECT(m);
    unsigned seed = 12345;
    for (uint32_t i = 0; i < ROUTES; i++) {
        uint32_t plen = rand_r(&seed) % 33, addr = (uint32_t)rand_r(&seed) & 0xffff00ffu;
        uint32_t mask = plen ? ~0u << (32 - plen) : 0;
        addr &= mask;
        routes[i] = k4(plen, addr >> 24, addr >> 16, addr >> 8, addr);
        live[i] = true;
        for (uint32_t j = 0; j < i; j++)
            if (live[j] && routes[j].prefixlen == plen && !memcmp(routes[j].addr, routes[i].addr, 4))
                live[i] = false; /* duplicate prefix: the update replaces the older value */
        if (live[i])
            EXPECT_EQ(xdpvm_map_update(m, &routes[i], &i, XDPVM_NOEXIST, 0), 0);
    }
    for (uint32_t i = 0; i < ROUTES; i += 3)
        if (live[i]) {
            EXPECT_EQ(xdpvm_map_delete(m, &routes[i]), 0);
            live[i] = false;
        }
    for (int probe = 0; probe < 2000; probe++) {
        uint32_t addr = (uint32_t)rand_r(&seed) & 0xffff00ffu;
        int best = -1;
        for (int i = 0; i < ROUTES; i++)
            if (live[i] && prefix_matches(&routes[i], addr) &&
                (best < 0 || routes[i].prefixlen > routes[best].prefixlen))
                best = i;
        struct lpm_key4 key = k4(32, addr >> 24, addr >> 16, addr >> 8, addr);
        uint32_t *p = xdpvm_map_lookup(m, &key, 0);
        if (best < 0)
            EXPECT(!p);
        else
            EXPECT(p && *p == (uint32_t)best);
    }
    test_pass(name);
done:
    xdpvm_map_free(m);
}

static void prog_dev_xsk(void)
{
    const char *name = "maps_prog_array_devmap_xskmap";
    struct xdpvm_map *pa = make(XDPVM_MAP_PROG_ARRAY, 4, 4, 4, 0, 1);
    struct xdpvm_map *dm = make(XDPVM_MAP_DEVMAP, 4, 4, 4, 0, 1);
    struct xdpvm_map *dh = make(XDPVM_MAP_DEVMAP_HASH, 4, 8, 2, 0, 1);
    struct xdpvm_map *xm = make(XDPVM_MAP_XSKMAP, 4, 4, 4, 0, 1);
    EXPECT(pa && dm && dh && xm);
    int prog_stand_in;
    uint32_t key = 1, v = 0, out;
    EXPECT_EQ(xdpvm_map_prog_array_set(pa, 1, &prog_stand_in), 0);
    EXPECT_EQ(xdpvm_map_prog_array_set(pa, 4, &prog_stand_in), -E2BIG);
    EXPECT(xdpvm_map_prog_array_get(pa, 1) == &prog_stand_in && !xdpvm_map_prog_array_get(pa, 0));
    EXPECT(!xdpvm_map_prog_array_get(pa, 99));
    EXPECT_EQ(xdpvm_map_user_delete(pa, &key), 0);
    EXPECT_EQ(xdpvm_map_user_delete(pa, &key), -ENOENT);
    EXPECT(!xdpvm_map_prog_array_get(pa, 1));
    EXPECT(!xdpvm_map_prog_array_get(dm, 1)); /* not a prog_array */
    /* devmap */
    EXPECT(!xdpvm_map_lookup(dm, &key, 0));
    EXPECT_EQ(xdpvm_map_user_lookup(dm, &key, &out), -ENOENT);
    v = 7;
    EXPECT_EQ(xdpvm_map_user_update(dm, &key, &v, XDPVM_NOEXIST), -EEXIST);
    EXPECT_EQ(xdpvm_map_user_update(dm, &key, &v, XDPVM_ANY), 0);
    uint32_t *p = xdpvm_map_lookup(dm, &key, 0);
    EXPECT(p && *p == 7 && in_storage(dm, p, 4));
    key = 9;
    EXPECT_EQ(xdpvm_map_user_update(dm, &key, &v, XDPVM_ANY), -E2BIG);
    EXPECT_EQ(xdpvm_map_user_delete(dm, &key), -EINVAL);
    key = 1, v = 0; /* ifindex 0 empties the slot */
    EXPECT_EQ(xdpvm_map_user_update(dm, &key, &v, XDPVM_ANY), 0);
    EXPECT(!xdpvm_map_lookup(dm, &key, 0));
    uint32_t next;
    key = 1;
    EXPECT_EQ(xdpvm_map_get_next_key(dm, &key, &next), 0); /* index order, like arrays */
    EXPECT_EQ(next, 2);
    /* devmap_hash */
    uint32_t val8[2] = {0, 0};
    key = 100;
    EXPECT_EQ(xdpvm_map_user_update(dh, &key, val8, XDPVM_ANY), -EINVAL);
    val8[0] = 3;
    EXPECT_EQ(xdpvm_map_user_update(dh, &key, val8, XDPVM_EXIST), 0); /* kernel inserts */
    EXPECT_EQ(xdpvm_map_user_update(dh, &key, val8, XDPVM_NOEXIST), -EEXIST);
    key = 200;
    EXPECT_EQ(xdpvm_map_user_update(dh, &key, val8, XDPVM_ANY), 0);
    key = 300;
    EXPECT_EQ(xdpvm_map_user_update(dh, &key, val8, XDPVM_ANY), -E2BIG);
    key = 200;
    p = xdpvm_map_lookup(dh, &key, 0);
    EXPECT(p && p[0] == 3 && p[1] == 0);
    /* xskmap */
    key = 0, v = 5;
    EXPECT_EQ(xdpvm_map_user_update(xm, &key, &v, XDPVM_EXIST), -ENOENT);
    EXPECT_EQ(xdpvm_map_user_update(xm, &key, &v, XDPVM_NOEXIST), 0);
    EXPECT_EQ(xdpvm_map_user_update(xm, &key, &v, XDPVM_NOEXIST), -EEXIST);
    EXPECT(xdpvm_map_lookup(xm, &key, 0));
    EXPECT_EQ(xdpvm_map_user_lookup(xm, &key, &out), -EOPNOTSUPP);
    EXPECT_EQ(xdpvm_map_user_delete(xm, &key), 0);
    EXPECT(!xdpvm_map_lookup(xm, &key, 0));
    test_pass(name);
done:
    xdpvm_map_free(pa);
    xdpvm_map_free(dm);
    xdpvm_map_free(dh);
    xdpvm_map_free(xm);
}

struct consumed {
    int count;
    uint32_t values[64];
    size_t sizes[64];
};

static int consume_cb(void *ctx, void *data, size_t size)
{
    struct consumed *c = ctx;
    uint32_t v = 0;
    memcpy(&v, data, size < 4 ? size : 4);
    if (c->count < 64) {
        c->values[c->count] = v;
        c->sizes[c->count] = size;
    }
    c->count++;
    return 0;
}

static void ringbuf(void)
{
    const char *name = "maps_ringbuf_order_discard_full";
    struct xdpvm_map *m = make(XDPVM_MAP_RINGBUF, 0, 0, 4096, 0, 1);
    EXPECT(m);
    uint32_t *a = xdpvm_ringbuf_reserve(m, 4), *b = xdpvm_ringbuf_reserve(m, 4),
             *c = xdpvm_ringbuf_reserve(m, 12);
    EXPECT(a && b && c && in_storage(m, c, 12));
    *a = 1, *b = 2, *c = 3;
    struct consumed got = {0};
    xdpvm_ringbuf_commit(b, false);
    EXPECT_EQ(xdpvm_ringbuf_consume(m, consume_cb, &got), 0); /* a still busy: nothing */
    xdpvm_ringbuf_commit(a, true);
    xdpvm_ringbuf_commit(c, false);
    EXPECT_EQ(xdpvm_ringbuf_consume(m, consume_cb, &got), 2);
    EXPECT(got.values[0] == 2 && got.values[1] == 3 && got.sizes[1] == 12);
    uint32_t v = 4;
    EXPECT_EQ(xdpvm_ringbuf_output(m, &v, 4), 0);
    EXPECT(!xdpvm_ringbuf_reserve(m, 5000)); /* larger than the ring */
    /* fill with 16-byte records: the kernel refuses to fill all 4096 bytes, so 255 records
     * fit in total, 254 after the one already there */
    int reserved = 0;
    uint64_t v8 = 5;
    while (xdpvm_ringbuf_output(m, &v8, 8) == 0)
        reserved++;
    EXPECT_EQ(reserved, 254);
    EXPECT_EQ(xdpvm_ringbuf_output(m, &v8, 8), -EAGAIN);
    got.count = 0;
    EXPECT_EQ(xdpvm_ringbuf_consume(m, consume_cb, &got), reserved + 1);
    /* records keep wrapping around and stay contiguous */
    for (uint32_t i = 0; i < 1000; i++) {
        uint8_t payload[100];
        memset(payload, (int)(i & 0xff), sizeof(payload));
        memcpy(payload, &i, 4);
        EXPECT_EQ(xdpvm_ringbuf_output(m, payload, 20 + i % 80), 0);
        got.count = 0;
        EXPECT_EQ(xdpvm_ringbuf_consume(m, consume_cb, &got), 1);
        EXPECT(got.values[0] == i && got.sizes[0] == 20 + i % 80);
    }
    EXPECT_EQ(xdpvm_map_user_lookup(m, NULL, &v), -EOPNOTSUPP);
    test_pass(name);
done:
    xdpvm_map_free(m);
}

static void queue_stack(void)
{
    const char *name = "maps_queue_stack";
    struct xdpvm_map *q = make(XDPVM_MAP_QUEUE, 0, 4, 3, 0, 1);
    struct xdpvm_map *s = make(XDPVM_MAP_STACK, 0, 4, 3, 0, 1);
    EXPECT(q && s);
    uint32_t v;
    EXPECT_EQ(xdpvm_map_pop(q, &v, true), -ENOENT);
    for (v = 1; v <= 3; v++) {
        EXPECT_EQ(xdpvm_map_push(q, &v, 0), 0);
        EXPECT_EQ(xdpvm_map_user_update(s, NULL, &v, 0), 0);
    }
    v = 4;
    EXPECT_EQ(xdpvm_map_push(q, &v, 0), -E2BIG);
    EXPECT_EQ(xdpvm_map_push(q, &v, XDPVM_NOEXIST), -EINVAL);
    EXPECT_EQ(xdpvm_map_push(q, &v, 3), -EINVAL);
    EXPECT_EQ(xdpvm_map_push(q, &v, XDPVM_EXIST), 0); /* drops 1 */
    EXPECT_EQ(xdpvm_map_push(s, &v, XDPVM_EXIST), 0); /* drops 1 */
    EXPECT_EQ(xdpvm_map_pop(q, &v, false), 0);
    EXPECT_EQ(v, 2);
    EXPECT_EQ(xdpvm_map_user_lookup(q, NULL, &v), 0);
    EXPECT_EQ(v, 2);
    uint32_t want_q[] = {2, 3, 4}, want_s[] = {4, 3, 2};
    for (int i = 0; i < 3; i++) {
        EXPECT_EQ(xdpvm_map_pop(q, &v, true), 0);
        EXPECT_EQ(v, want_q[i]);
        EXPECT_EQ(xdpvm_map_pop(s, &v, true), 0);
        EXPECT_EQ(v, want_s[i]);
    }
    v = 99;
    EXPECT_EQ(xdpvm_map_pop(s, &v, true), -ENOENT);
    EXPECT_EQ(v, 0);
    EXPECT_EQ(xdpvm_map_user_delete(q, NULL), -EINVAL);
    EXPECT_EQ(xdpvm_map_get_next_key(q, NULL, &v), -EINVAL);
    test_pass(name);
done:
    xdpvm_map_free(q);
    xdpvm_map_free(s);
}

struct worker {
    struct xdpvm_map *hash, *array, *lru;
    unsigned cpu;
    int iterations;
    int errors;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < w->iterations; i++) {
        uint32_t key = (uint32_t)(i % 64), counter_key = 0;
        uint64_t one = 1;
        /* shared counter in the array, like a program's __sync_fetch_and_add */
        uint64_t *counter = xdpvm_map_lookup(w->array, &counter_key, w->cpu);
        __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
        /* per-thread keys 1000+cpu*64.. are only touched by this thread */
        uint32_t own = 1000 + w->cpu * 64 + key;
        if (xdpvm_map_update(w->hash, &own, &one, XDPVM_ANY, w->cpu) != 0)
            w->errors++;
        uint64_t *v = xdpvm_map_lookup(w->hash, &own, w->cpu);
        if (!v)
            w->errors++;
        if (i % 3 == 0 && xdpvm_map_delete(w->hash, &own) != 0)
            w->errors++;
        /* an LRU map much smaller than the key space: constant eviction under lookups */
        uint32_t lru_key = (uint32_t)(i * 7 + w->cpu) % 97;
        uint64_t tagged = lru_key;
        if (xdpvm_map_update(w->lru, &lru_key, &tagged, XDPVM_ANY, w->cpu) != 0)
            w->errors++;
        uint64_t *hit = xdpvm_map_lookup(w->lru, &lru_key, w->cpu);
        if (hit && !in_storage(w->lru, hit, 8))
            w->errors++;
        /* a shared key, updated by everyone */
        uint64_t *shared = xdpvm_map_lookup(w->hash, &counter_key, w->cpu);
        if (shared)
            __atomic_fetch_add(shared, 1, __ATOMIC_RELAXED);
        else
            w->errors++;
    }
    return NULL;
}

static void concurrency(void)
{
    const char *name = "maps_concurrent_workers";
    struct xdpvm_map *hash = make(XDPVM_MAP_HASH, 4, 8, 4 * 64 + 1, 0, 4);
    struct xdpvm_map *array = make(XDPVM_MAP_ARRAY, 4, 8, 1, 0, 4);
    struct xdpvm_map *lru = make(XDPVM_MAP_LRU_HASH, 4, 8, 16, 0, 4);
    EXPECT(hash && array && lru);
    uint32_t zero_key = 0;
    uint64_t zero = 0;
    EXPECT_EQ(xdpvm_map_update(hash, &zero_key, &zero, 0, 0), 0);
    enum { THREADS = 4 };
    int iterations = test_sanitized() ? 5000 : 50000;
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    for (unsigned t = 0; t < THREADS; t++) {
        workers[t] = (struct worker){hash, array, lru, t, iterations, 0};
        pthread_create(&threads[t], NULL, hammer, &workers[t]);
    }
    int errors = 0;
    for (unsigned t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        errors += workers[t].errors;
    }
    EXPECT_EQ(errors, 0);
    uint64_t value;
    EXPECT_EQ(xdpvm_map_user_lookup(array, &zero_key, &value), 0);
    EXPECT_EQ(value, (uint64_t)THREADS * iterations);
    EXPECT_EQ(xdpvm_map_user_lookup(hash, &zero_key, &value), 0);
    EXPECT_EQ(value, (uint64_t)THREADS * iterations);
    int lru_entries = 0;
    uint32_t cur, nxt;
    for (int rc = xdpvm_map_get_next_key(lru, NULL, &cur); rc == 0;
         rc = xdpvm_map_get_next_key(lru, &cur, &nxt), cur = nxt) {
        EXPECT_EQ(xdpvm_map_user_lookup(lru, &cur, &value), 0);
        EXPECT_EQ(value, cur); /* each key's value is the key: no element mixed up */
        lru_entries++;
    }
    EXPECT_EQ(lru_entries, 16);
    test_pass(name);
done:
    xdpvm_map_free(hash);
    xdpvm_map_free(array);
    xdpvm_map_free(lru);
}

/* Lock-free trie lookups while a writer keeps inserting and deleting more specific routes:
 * every lookup still finds a route, and one that can match. */
struct lpm_reader {
    struct xdpvm_map *trie;
    int iterations, errors;
    int *stop; /* atomic */
};

static void *lpm_read(void *arg)
{
    struct lpm_reader *r = arg;
    for (int i = 0; !__atomic_load_n(r->stop, __ATOMIC_RELAXED) && i < r->iterations * 100; i++) {
        uint8_t b = (uint8_t)i, c = (uint8_t)(i >> 8);
        struct lpm_key4 in16 = k4(32, 10, 1, b, c), in8 = k4(32, 10, 2, b, c);
        uint32_t *v16 = xdpvm_map_lookup(r->trie, &in16, 0), *v8 = xdpvm_map_lookup(r->trie, &in8, 0);
        /* values are shared with the writer, as in the kernel: read them atomically */
        uint32_t got16 = v16 ? __atomic_load_n(v16, __ATOMIC_RELAXED) : 0;
        uint32_t got8 = v8 ? __atomic_load_n(v8, __ATOMIC_RELAXED) : 0;
        if ((got16 != 16 && got16 != 24) || got8 != 8)
            r->errors++;
    }
    return NULL;
}

static void lpm_concurrency(void)
{
    const char *name = "maps_lpm_trie_concurrent_lookups";
    struct xdpvm_map *m = make(XDPVM_MAP_LPM_TRIE, 8, 4, 300, 1, 1);
    EXPECT(m);
    struct lpm_key4 key = k4(8, 10, 0, 0, 0);
    uint32_t v = 8;
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, 0, 0), 0);
    key = k4(16, 10, 1, 0, 0), v = 16;
    EXPECT_EQ(xdpvm_map_update(m, &key, &v, 0, 0), 0);
    int stop = 0;
    int iterations = test_sanitized() ? 200 : 2000;
    struct lpm_reader readers[2] = {{m, iterations, 0, &stop}, {m, iterations, 0, &stop}};
    pthread_t threads[2];
    for (int t = 0; t < 2; t++)
        pthread_create(&threads[t], NULL, lpm_read, &readers[t]);
    int write_errors = 0;
    for (int i = 0; i < iterations; i++) {
        struct lpm_key4 route = k4(24, 10, 1, (uint8_t)(i * 7), 0);
        v = 24;
        if (xdpvm_map_update(m, &route, &v, 0, 0) || xdpvm_map_delete(m, &route))
            write_errors++;
        if (i % 2) {
            route.addr[2] = (uint8_t)(i * 13);
            xdpvm_map_update(m, &route, &v, 0, 0); /* some stay: deeper tries */
        }
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int t = 0; t < 2; t++)
        pthread_join(threads[t], NULL);
    EXPECT_EQ(write_errors, 0);
    EXPECT_EQ(readers[0].errors + readers[1].errors, 0);
    test_pass(name);
done:
    xdpvm_map_free(m);
}

int main(void)
{
    create_errors();
    huge_maps_cost_address_space_only();
    array_semantics();
    percpu_array_slots();
    hash_semantics();
    percpu_hash_slots();
    lru_eviction();
    lpm_trie();
    lpm_random_model();
    prog_dev_xsk();
    ringbuf();
    queue_stack();
    concurrency();
    lpm_concurrency();
    return test_exit_code();
}
