/* ringbuf: the kernel's BPF ring buffer. max_entries is the data size in bytes, a power of
 * two and a multiple of the page size. Records are an 8-byte header (length with the busy
 * and discard bits, and the header's offset from the data start) followed by the data,
 * padded to 8 bytes, reserved in order under a lock and committed in any order; the
 * consumer stops at the first record still busy.
 *
 * The kernel maps the data pages twice so that a record crossing the end stays contiguous.
 * We get the same effect by allocating twice the size: a record that starts near the end
 * simply continues into the second half, where the program writes it and the consumer
 * reads it (positions only ever index the first half for headers, which never wrap because
 * the size is a multiple of 8). */
#include "map_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RB_BUSY_BIT (1u << 31)
#define RB_DISCARD_BIT (1u << 30)
#define RB_HDR_SIZE 8u
#define RB_PAGE_SIZE 4096u
#define RB_MAX_SIZE (1u << 30)

struct rb_header {
    uint32_t len;       /* data length | busy | discard */
    uint32_t offset;    /* bytes from the data start to this header */
};

struct ringbuf {
    pthread_mutex_t producer_lock;
    uint8_t *data;
    uint64_t mask;
    uint64_t producer_pos; /* atomic: written under producer_lock, read by the consumer */
    uint64_t consumer_pos; /* atomic: written by the consumer */
};

static int ringbuf_init(struct xdpvm_map *map, char *err, size_t err_size)
{
    const struct xdpvm_map_spec *s = &map->spec;
    if (s->key_size != 0 || s->value_size != 0) {
        snprintf(err, err_size, "key_size and value_size must be 0, got %u and %u", s->key_size,
                 s->value_size);
        return -EINVAL;
    }
    if (xdpvm_map_check_flags(map, MAP_F_NUMA_NODE, "ringbuf", err, err_size))
        return -EINVAL;
    uint32_t size = s->max_entries;
    if ((size & (size - 1)) || size % RB_PAGE_SIZE) {
        snprintf(err, err_size, "max_entries (the size in bytes) must be a power of 2 and a "
                                "multiple of %u, got %u", RB_PAGE_SIZE, size);
        return -EINVAL;
    }
    if (size > RB_MAX_SIZE) {
        snprintf(err, err_size, "size %u exceeds the supported %u bytes", size, RB_MAX_SIZE);
        return -E2BIG;
    }
    struct ringbuf *rb = calloc(1, sizeof(*rb));
    uint8_t *allocation = xdpvm_map_arena_alloc(2 * (size_t)size);
    if (!rb || !allocation) {
        free(rb);
        xdpvm_map_arena_free(allocation, 2 * (size_t)size);
        snprintf(err, err_size, "out of memory for %u bytes", size);
        return -ENOMEM;
    }
    rb->data = allocation;
    rb->mask = size - 1;
    pthread_mutex_init(&rb->producer_lock, NULL);
    map->impl = rb;
    map->arena = rb->data;
    map->arena_size = 2 * (size_t)size;
    return 0;
}

static void ringbuf_destroy(struct xdpvm_map *map)
{
    struct ringbuf *rb = map->impl;
    pthread_mutex_destroy(&rb->producer_lock);
    free(rb);
}

static struct ringbuf *as_ringbuf(struct xdpvm_map *map)
{
    return map->spec.type == XDPVM_MAP_RINGBUF ? map->impl : NULL;
}

void *xdpvm_ringbuf_reserve(struct xdpvm_map *map, uint64_t size)
{
    struct ringbuf *rb = as_ringbuf(map);
    if (!rb || size > RB_MAX_SIZE)
        return NULL;
    uint64_t len = (size + RB_HDR_SIZE + 7) & ~(uint64_t)7;
    if (len > rb->mask + 1)
        return NULL;
    pthread_mutex_lock(&rb->producer_lock);
    uint64_t consumer = __atomic_load_n(&rb->consumer_pos, __ATOMIC_ACQUIRE);
    uint64_t producer = rb->producer_pos;
    if (producer + len - consumer > rb->mask) {
        pthread_mutex_unlock(&rb->producer_lock);
        return NULL;
    }
    struct rb_header *hdr = (struct rb_header *)(rb->data + (producer & rb->mask));
    hdr->offset = (uint32_t)(producer & rb->mask);
    __atomic_store_n(&hdr->len, (uint32_t)size | RB_BUSY_BIT, __ATOMIC_RELAXED);
    __atomic_store_n(&rb->producer_pos, producer + len, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&rb->producer_lock);
    return hdr + 1;
}

void xdpvm_ringbuf_commit(void *record, bool discard)
{
    struct rb_header *hdr = (struct rb_header *)record - 1;
    uint32_t len = __atomic_load_n(&hdr->len, __ATOMIC_RELAXED);
    uint32_t committed = (len & ~RB_BUSY_BIT) | (discard ? RB_DISCARD_BIT : 0);
    __atomic_store_n(&hdr->len, committed, __ATOMIC_RELEASE);
}

/* Walks the records between the consumer and the producer under the producer lock, so no
 * reservation moves the end meanwhile; the consumer stops at the first busy record, so a
 * busy record found here stays in place. */
const void *xdpvm_ringbuf_reserved_record(struct xdpvm_map *map, uint64_t addr, uint64_t size)
{
    struct ringbuf *rb = as_ringbuf(map);
    if (!rb)
        return NULL;
    const void *found = NULL;
    pthread_mutex_lock(&rb->producer_lock);
    uint64_t pos = __atomic_load_n(&rb->consumer_pos, __ATOMIC_ACQUIRE);
    while (pos < rb->producer_pos) {
        struct rb_header *hdr = (struct rb_header *)(rb->data + (pos & rb->mask));
        uint32_t len = __atomic_load_n(&hdr->len, __ATOMIC_ACQUIRE);
        uint32_t data_len = len & ~(RB_BUSY_BIT | RB_DISCARD_BIT);
        uint64_t start = (uint64_t)(uintptr_t)(hdr + 1);
        if ((len & RB_BUSY_BIT) && addr >= start && size <= data_len && addr - start <= data_len - size) {
            found = hdr + 1;
            break;
        }
        pos += (data_len + RB_HDR_SIZE + 7) & ~7u;
    }
    pthread_mutex_unlock(&rb->producer_lock);
    return found;
}

int xdpvm_ringbuf_output(struct xdpvm_map *map, const void *data, uint64_t size)
{
    if (!as_ringbuf(map))
        return -EINVAL;
    void *record = xdpvm_ringbuf_reserve(map, size);
    if (!record)
        return -EAGAIN;
    if (size) /* an empty record may come with any pointer, NULL too */
        memcpy(record, data, size);
    xdpvm_ringbuf_commit(record, false);
    return 0;
}

int xdpvm_ringbuf_consume(struct xdpvm_map *map, int (*fn)(void *ctx, void *data, size_t size),
                          void *ctx)
{
    struct ringbuf *rb = as_ringbuf(map);
    if (!rb)
        return -EINVAL;
    int consumed = 0;
    uint64_t consumer = __atomic_load_n(&rb->consumer_pos, __ATOMIC_ACQUIRE);
    for (;;) {
        uint64_t producer = __atomic_load_n(&rb->producer_pos, __ATOMIC_ACQUIRE);
        if (consumer >= producer)
            break;
        struct rb_header *hdr = (struct rb_header *)(rb->data + (consumer & rb->mask));
        uint32_t len = __atomic_load_n(&hdr->len, __ATOMIC_ACQUIRE);
        if (len & RB_BUSY_BIT)
            break;
        uint32_t data_len = len & ~(RB_BUSY_BIT | RB_DISCARD_BIT);
        consumer += (data_len + RB_HDR_SIZE + 7) & ~7u;
        int stop = 0;
        if (!(len & RB_DISCARD_BIT)) {
            consumed++;
            stop = fn ? fn(ctx, hdr + 1, data_len) : 0;
        }
        __atomic_store_n(&rb->consumer_pos, consumer, __ATOMIC_RELEASE);
        if (stop)
            break;
    }
    return consumed;
}

static void *rb_no_lookup(struct xdpvm_map *map, const void *key, unsigned cpu)
{
    (void)map, (void)key, (void)cpu;
    return NULL;
}

static int rb_no_update(struct xdpvm_map *map, const void *key, const void *value, uint64_t flags,
                        unsigned cpu, bool user)
{
    (void)map, (void)key, (void)value, (void)flags, (void)cpu, (void)user;
    return -EOPNOTSUPP;
}

static int rb_no_delete(struct xdpvm_map *map, const void *key)
{
    (void)map, (void)key;
    return -EOPNOTSUPP;
}

static int rb_no_user_lookup(struct xdpvm_map *map, const void *key, void *value)
{
    (void)map, (void)key, (void)value;
    return -EOPNOTSUPP;
}

static int rb_no_next_key(struct xdpvm_map *map, const void *key, void *next_key)
{
    (void)map, (void)key, (void)next_key;
    return -EOPNOTSUPP;
}

const struct map_ops xdpvm_ringbuf_ops = {
    .init = ringbuf_init, .destroy = ringbuf_destroy, .lookup = rb_no_lookup,
    .update = rb_no_update, .delete = rb_no_delete, .user_lookup = rb_no_user_lookup,
    .get_next_key = rb_no_next_key,
};
