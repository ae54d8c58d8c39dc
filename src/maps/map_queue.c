/* queue (FIFO) and stack (LIFO): keyless maps of max_entries values in a ring of
 * max_entries + 1 slots (kernel queue_stack_maps.c). push with BPF_EXIST on a full map drops
 * the oldest value; without it a full map gives -E2BIG; pop/peek on an empty map -ENOENT. */
#include "map_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct qstack {
    pthread_mutex_t lock;
    uint32_t head;  /* next slot to write */
    uint32_t tail;  /* oldest value */
    uint32_t slots; /* max_entries + 1 */
};

static int queue_init(struct xdpvm_map *map, char *err, size_t err_size)
{
    const struct xdpvm_map_spec *s = &map->spec;
    if (s->key_size != 0 || s->value_size == 0) {
        snprintf(err, err_size, "key_size must be 0 and value_size > 0, got %u and %u",
                 s->key_size, s->value_size);
        return -EINVAL;
    }
    if (xdpvm_map_check_flags(map, MAP_F_NUMA_NODE | MAP_F_ACCESS_MASK, "queue/stack", err,
                              err_size))
        return -EINVAL;
    if (s->max_entries >= (1u << 24)) {
        snprintf(err, err_size, "max_entries %u exceeds the supported %u", s->max_entries,
                 (1u << 24) - 1);
        return -E2BIG;
    }
    struct qstack *q = calloc(1, sizeof(*q));
    if (!q)
        goto oom;
    q->slots = s->max_entries + 1;
    map->arena_size = (size_t)q->slots * map->value_stride;
    map->arena = xdpvm_map_arena_alloc(map->arena_size);
    if (!map->arena) {
        free(q);
        goto oom;
    }
    pthread_mutex_init(&q->lock, NULL);
    map->impl = q;
    return 0;
oom:
    snprintf(err, err_size, "out of memory");
    return -ENOMEM;
}

static void queue_destroy(struct xdpvm_map *map)
{
    struct qstack *q = map->impl;
    pthread_mutex_destroy(&q->lock);
    free(q);
}

static uint8_t *slot_at(struct xdpvm_map *map, uint32_t slot)
{
    return map->arena + (size_t)slot * map->value_stride;
}

static bool is_queue_type(const struct xdpvm_map *map)
{
    return map->spec.type == XDPVM_MAP_QUEUE || map->spec.type == XDPVM_MAP_STACK;
}

int xdpvm_map_push(struct xdpvm_map *map, const void *value, uint64_t flags)
{
    if (!is_queue_type(map))
        return -EINVAL;
    if ((flags & XDPVM_NOEXIST) || flags > XDPVM_EXIST)
        return -EINVAL;
    struct qstack *q = map->impl;
    pthread_mutex_lock(&q->lock);
    uint32_t next = (q->head + 1) % q->slots;
    if (next == q->tail) {
        if (!(flags & XDPVM_EXIST)) {
            pthread_mutex_unlock(&q->lock);
            return -E2BIG;
        }
        q->tail = (q->tail + 1) % q->slots; /* make room: drop the oldest */
    }
    memcpy(slot_at(map, q->head), value, map->spec.value_size);
    q->head = next;
    pthread_mutex_unlock(&q->lock);
    return 0;
}

int xdpvm_map_pop(struct xdpvm_map *map, void *value, bool remove)
{
    if (!is_queue_type(map))
        return -EINVAL;
    struct qstack *q = map->impl;
    pthread_mutex_lock(&q->lock);
    if (q->head == q->tail) {
        pthread_mutex_unlock(&q->lock);
        memset(value, 0, map->spec.value_size); /* the kernel clears the buffer on -ENOENT */
        return -ENOENT;
    }
    uint32_t slot;
    if (map->spec.type == XDPVM_MAP_QUEUE) {
        slot = q->tail;
        if (remove)
            q->tail = (q->tail + 1) % q->slots;
    } else {
        slot = (q->head + q->slots - 1) % q->slots;
        if (remove)
            q->head = slot;
    }
    memcpy(value, slot_at(map, slot), map->spec.value_size);
    pthread_mutex_unlock(&q->lock);
    return 0;
}

static void *queue_no_lookup(struct xdpvm_map *map, const void *key, unsigned cpu)
{
    (void)map, (void)key, (void)cpu;
    return NULL;
}

static int queue_update(struct xdpvm_map *map, const void *key, const void *value, uint64_t flags,
                        unsigned cpu, bool user)
{
    (void)key, (void)cpu, (void)user;
    return xdpvm_map_push(map, value, flags);
}

static int queue_delete(struct xdpvm_map *map, const void *key)
{
    (void)map, (void)key;
    return -EINVAL;
}

/* The syscall's lookup on a queue or stack is a peek. */
static int queue_user_lookup(struct xdpvm_map *map, const void *key, void *value)
{
    (void)key;
    return xdpvm_map_pop(map, value, false);
}

static int queue_next_key(struct xdpvm_map *map, const void *key, void *next_key)
{
    (void)map, (void)key, (void)next_key;
    return -EINVAL;
}

const struct map_ops xdpvm_queue_ops = {
    .init = queue_init, .destroy = queue_destroy, .lookup = queue_no_lookup,
    .update = queue_update, .delete = queue_delete, .user_lookup = queue_user_lookup,
    .get_next_key = queue_next_key,
};
