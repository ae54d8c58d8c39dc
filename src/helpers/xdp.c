/* XDP helpers: redirect, redirect_map, xdp_adjust_head/meta/tail and fib_lookup, with the
 * kernel's limits and error codes (net/core/filter.c). They work on run->xdp, the
 * struct xdpvm_xdp_buff whose md fields hold 32-bit packet addresses. */
#include "helpers_impl.h"

#include "maps/maps.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/bpf.h>

#define ETH_HLEN 14
#define XDP_FRAME_SIZE 40    /* sizeof(struct xdp_frame) on x86-64: headroom kept at the front */
#define XDP_META_MAX 255 /* type_max(skb_shared_info.meta_len), the kernel since 6.x; was 32 */
#define KERNEL_ENOTSUPP 524  /* the kernel's internal ENOTSUPP, seen by programs as -524 */

static uint8_t *addr(uint32_t a) { return (uint8_t *)(uintptr_t)a; }
static uint32_t addr32(const uint8_t *p) { return (uint32_t)(uintptr_t)p; }

static struct xdpvm_xdp_buff *xdp_of(struct xdpvm_run *run)
{
    return run ? run->xdp : NULL;
}

/* The kernel marks "no metadata support" with data_meta = data + 1. */
static bool meta_supported(const struct xdpvm_xdp_buff *x) { return x->md.data_meta <= x->md.data; }

static uint32_t meta_len(const struct xdpvm_xdp_buff *x)
{
    return meta_supported(x) ? x->md.data - x->md.data_meta : 0;
}

HELPER_FN(xdp_adjust_head)
{
    struct xdpvm_xdp_buff *x = xdp_of(run);
    if (!x)
        return helper_err(-EINVAL);
    int32_t offset = (int32_t)(uint32_t)r2;
    uint32_t metalen = meta_len(x);
    int64_t data_start = (int64_t)addr32(x->frame) + XDP_FRAME_SIZE + metalen;
    int64_t data = (int64_t)x->md.data + offset;
    if (data < data_start || data > (int64_t)x->md.data_end - ETH_HLEN)
        return helper_err(-EINVAL);
    if (metalen)
        memmove(addr(x->md.data_meta + (uint32_t)offset), addr(x->md.data_meta), metalen);
    x->md.data_meta += (uint32_t)offset; /* also keeps "unsupported" as data + 1 */
    x->md.data = (uint32_t)data;
    xdpvm_run_packet_moved(run);
    return 0;
}

HELPER_FN(xdp_adjust_meta)
{
    struct xdpvm_xdp_buff *x = xdp_of(run);
    if (!x)
        return helper_err(-EINVAL);
    if (!meta_supported(x))
        return helper_err(-KERNEL_ENOTSUPP);
    int32_t offset = (int32_t)(uint32_t)r2;
    int64_t meta = (int64_t)x->md.data_meta + offset;
    if (meta < (int64_t)addr32(x->frame) + XDP_FRAME_SIZE || meta > (int64_t)x->md.data)
        return helper_err(-EINVAL);
    int64_t metalen = (int64_t)x->md.data - meta;
    if ((metalen & 3) || metalen > XDP_META_MAX)
        return helper_err(-EACCES);
    x->md.data_meta = (uint32_t)meta;
    xdpvm_run_packet_moved(run);
    return 0;
}

HELPER_FN(xdp_adjust_tail)
{
    struct xdpvm_xdp_buff *x = xdp_of(run);
    if (!x)
        return helper_err(-EINVAL);
    int32_t offset = (int32_t)(uint32_t)r2;
    int64_t hard_end = (int64_t)addr32(x->frame) + x->frame_size - x->tailroom_reserve;
    int64_t data_end = (int64_t)x->md.data_end + offset;
    if (data_end > hard_end || data_end < (int64_t)x->md.data + ETH_HLEN)
        return helper_err(-EINVAL);
    if (offset > 0) /* the kernel clears grown bytes: they may hold old data */
        memset(addr(x->md.data_end), 0, (size_t)offset);
    x->md.data_end = (uint32_t)data_end;
    xdpvm_run_packet_moved(run);
    return 0;
}

/* Frames have no fragments here: the buffer is the linear packet. */
HELPER_FN(xdp_get_buff_len)
{
    struct xdpvm_xdp_buff *x = xdp_of(run);
    return x ? x->md.data_end - x->md.data : 0;
}

/* Kernel bpf_xdp_pointer rules: offset or len above 0xffff is -EFAULT, a range past the
 * packet -EINVAL. */
static uint8_t *xdp_range(struct xdpvm_xdp_buff *x, uint32_t offset, uint32_t len, int *err)
{
    *err = 0;
    if (!x)
        *err = -EINVAL;
    else if (offset > 0xffff || len > 0xffff)
        *err = -EFAULT;
    else if (offset + len > x->md.data_end - x->md.data)
        *err = -EINVAL;
    return *err ? NULL : addr(x->md.data + offset);
}

HELPER_FN(xdp_load_bytes)
{
    int err;
    uint8_t *src = xdp_range(xdp_of(run), (uint32_t)r2, (uint32_t)r4, &err);
    if (src)
        memcpy((void *)(uintptr_t)r3, src, (uint32_t)r4);
    return helper_err(err);
}

HELPER_FN(xdp_store_bytes)
{
    int err;
    uint8_t *dst = xdp_range(xdp_of(run), (uint32_t)r2, (uint32_t)r4, &err);
    if (dst)
        memmove(dst, (const void *)(uintptr_t)r3, (uint32_t)r4);
    return helper_err(err);
}

HELPER_FN(redirect)
{
    struct xdpvm_xdp_buff *x = xdp_of(run);
    if (!x || r2 != 0)
        return XDP_ABORTED;
    x->redirect_set = true;
    x->redirect_ifindex = (uint32_t)r1;
    x->redirect_map = NULL;
    x->redirect_key = 0;
    x->redirect_flags = 0;
    return XDP_REDIRECT;
}

/* The low two bits of flags are the action returned when the key is missing; devmaps also
 * accept BPF_F_BROADCAST and BPF_F_EXCLUDE_INGRESS (the XDP layer does the broadcast). */
HELPER_FN(redirect_map)
{
    struct xdpvm_xdp_buff *x = xdp_of(run);
    struct xdpvm_map *map = (struct xdpvm_map *)(uintptr_t)r1;
    uint32_t key = (uint32_t)r2;
    uint64_t flags = r3;
    const uint64_t action_mask = XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX;
    if (!x || !map)
        return XDP_ABORTED;
    uint32_t type = xdpvm_map_get_spec(map)->type;
    uint64_t flag_mask = 0;
    if (type == XDPVM_MAP_DEVMAP || type == XDPVM_MAP_DEVMAP_HASH)
        flag_mask = BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS;
    else if (type != XDPVM_MAP_XSKMAP)
        return XDP_ABORTED;
    if (flags & ~(action_mask | flag_mask))
        return XDP_ABORTED;
    void *target = xdpvm_map_lookup(map, &key, 0);
    if (!target && !(flags & BPF_F_BROADCAST)) {
        /* a failed lookup clears earlier redirect state: the last call wins */
        x->redirect_set = false;
        x->redirect_map = NULL;
        return flags & action_mask;
    }
    x->redirect_set = true;
    x->redirect_map = map;
    x->redirect_key = key;
    x->redirect_ifindex = 0;
    x->redirect_flags = flags & flag_mask;
    return XDP_REDIRECT;
}

/* ---- bpf_fib_lookup from a user routing table ---- */

static pthread_rwlock_t fib_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct xdpvm_fib_route *fib_routes;
static size_t fib_count;

void xdpvm_helpers_set_fib(const struct xdpvm_fib_route *routes, size_t count)
{
    struct xdpvm_fib_route *copy = NULL;
    if (count) {
        copy = malloc(count * sizeof(*copy));
        if (!copy)
            count = 0;
        else
            memcpy(copy, routes, count * sizeof(*copy));
    }
    pthread_rwlock_wrlock(&fib_lock);
    struct xdpvm_fib_route *old = fib_routes;
    fib_routes = copy;
    fib_count = count;
    pthread_rwlock_unlock(&fib_lock);
    free(old);
}

static bool prefix_match(const uint8_t *prefix, const uint8_t *dst, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(prefix, dst, full))
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return ((prefix[full] ^ dst[full]) & mask) == 0;
}

HELPER_FN(fib_lookup)
{
    struct bpf_fib_lookup *params = (struct bpf_fib_lookup *)(uintptr_t)r2;
    uint32_t plen = (uint32_t)r3;
    uint32_t flags = (uint32_t)r4;
    const uint32_t supported = BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_OUTPUT |
                               BPF_FIB_LOOKUP_SKIP_NEIGH | BPF_FIB_LOOKUP_TBID;
    if (!params || plen < sizeof(*params) || (flags & ~supported))
        return helper_err(-EINVAL);
    /* The prototype says "memory" (read, checked by the executor); the kernel's also means
     * written, which only the executor's checker can confirm. */
    if (run && run->access_ok && !run->access_ok(run, r2, sizeof(*params), true)) {
        xdpvm_run_fail(run, run->error_pc, -EACCES, "instruction %zu: call fib_lookup: r2 (params, "
                       "%zu bytes) points at 0x%" PRIx64 ", which is not memory the program may write",
                       run->error_pc, sizeof(*params), r2);
        return helper_err(-EACCES);
    }
    uint8_t dst[16];
    unsigned max_bits;
    if (params->family == AF_INET) {
        memcpy(dst, &params->ipv4_dst, 4);
        max_bits = 32;
    } else if (params->family == AF_INET6) {
        memcpy(dst, params->ipv6_dst, 16);
        max_bits = 128;
    } else {
        return helper_err(-EAFNOSUPPORT);
    }
    pthread_rwlock_rdlock(&fib_lock);
    const struct xdpvm_fib_route *best = NULL;
    for (size_t i = 0; i < fib_count; i++) {
        const struct xdpvm_fib_route *r = &fib_routes[i];
        if (r->family != params->family || r->prefix_len > max_bits)
            continue;
        if (prefix_match(r->prefix, dst, r->prefix_len) &&
            (!best || r->prefix_len > best->prefix_len))
            best = r;
    }
    struct xdpvm_fib_route route;
    if (best)
        route = *best;
    pthread_rwlock_unlock(&fib_lock);
    if (!best)
        return BPF_FIB_LKUP_RET_NOT_FWDED;
    params->ifindex = route.ifindex;
    params->h_vlan_proto = 0;
    params->h_vlan_TCI = 0;
    if (flags & BPF_FIB_LOOKUP_SKIP_NEIGH)
        return BPF_FIB_LKUP_RET_SUCCESS;
    static const uint8_t no_mac[6];
    if (!memcmp(route.dmac, no_mac, 6))
        return BPF_FIB_LKUP_RET_NO_NEIGH;
    memcpy(params->dmac, route.dmac, 6);
    memcpy(params->smac, route.smac, 6);
    return BPF_FIB_LKUP_RET_SUCCESS;
}
