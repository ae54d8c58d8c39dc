#include "runtime.h"

#include <errno.h>
#include <stdarg.h>

#include <linux/bpf.h>

void xdpvm_run_fail(struct xdpvm_run *run, size_t pc, int error, const char *fmt, ...)
{
    run->stop = true;
    if (run->error)
        return;
    run->error = error;
    run->error_pc = pc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->error_message, sizeof(run->error_message), fmt, ap);
    va_end(ap);
}

int xdpvm_run_add_region(struct xdpvm_run *run, const void *start, size_t len, bool writable,
                         const char *what)
{
    if (run->region_count >= XDPVM_MAX_RUN_REGIONS)
        return -ENOSPC;
    run->regions[run->region_count++] =
        (struct xdpvm_region){(uintptr_t)start, len, writable, what};
    return 0;
}

const char xdpvm_region_packet[] = "packet";

static void packet_bounds(const struct xdpvm_xdp_buff *x, uintptr_t *start, size_t *len)
{
    uint32_t first = x->md.data_meta <= x->md.data ? x->md.data_meta : x->md.data;
    *start = first;
    *len = x->md.data_end >= first ? x->md.data_end - first : 0;
}

int xdpvm_run_add_packet_region(struct xdpvm_run *run)
{
    uintptr_t start;
    size_t len;
    packet_bounds(run->xdp, &start, &len);
    return xdpvm_run_add_region(run, (const void *)start, len, true, xdpvm_region_packet);
}

void xdpvm_run_packet_moved(struct xdpvm_run *run)
{
    if (!run || !run->xdp)
        return;
    for (unsigned i = 0; i < run->region_count; i++)
        if (run->regions[i].what == xdpvm_region_packet)
            packet_bounds(run->xdp, &run->regions[i].start, &run->regions[i].len);
}

/* The kernel verifier's check_map_func_compatibility, both directions: map types that only
 * some helpers may take, and helpers that only take some map types. */
bool xdpvm_helper_map_compatible(uint32_t helper_id, uint32_t map_type)
{
    switch (map_type) {
    case BPF_MAP_TYPE_PROG_ARRAY: return helper_id == BPF_FUNC_tail_call;
    case BPF_MAP_TYPE_RINGBUF:
        return helper_id == BPF_FUNC_ringbuf_output || helper_id == BPF_FUNC_ringbuf_reserve ||
               helper_id == BPF_FUNC_ringbuf_query;
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH:
    case BPF_MAP_TYPE_XSKMAP:
        return helper_id == BPF_FUNC_redirect_map || helper_id == BPF_FUNC_map_lookup_elem;
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK:
        return helper_id == BPF_FUNC_map_push_elem || helper_id == BPF_FUNC_map_pop_elem ||
               helper_id == BPF_FUNC_map_peek_elem;
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
        return helper_id == BPF_FUNC_perf_event_output || helper_id == BPF_FUNC_perf_event_read ||
               helper_id == BPF_FUNC_perf_event_read_value;
    default: break;
    }
    switch (helper_id) {
    case BPF_FUNC_tail_call: return map_type == BPF_MAP_TYPE_PROG_ARRAY;
    case BPF_FUNC_ringbuf_output:
    case BPF_FUNC_ringbuf_reserve:
    case BPF_FUNC_ringbuf_query: return map_type == BPF_MAP_TYPE_RINGBUF;
    case BPF_FUNC_redirect_map:
        return map_type == BPF_MAP_TYPE_DEVMAP || map_type == BPF_MAP_TYPE_DEVMAP_HASH ||
               map_type == BPF_MAP_TYPE_CPUMAP || map_type == BPF_MAP_TYPE_XSKMAP;
    case BPF_FUNC_map_push_elem:
    case BPF_FUNC_map_pop_elem:
    case BPF_FUNC_map_peek_elem: return map_type == BPF_MAP_TYPE_QUEUE || map_type == BPF_MAP_TYPE_STACK;
    case BPF_FUNC_perf_event_output:
    case BPF_FUNC_perf_event_read:
    case BPF_FUNC_perf_event_read_value: return map_type == BPF_MAP_TYPE_PERF_EVENT_ARRAY;
    case BPF_FUNC_map_lookup_percpu_elem:
        return map_type == BPF_MAP_TYPE_PERCPU_ARRAY || map_type == BPF_MAP_TYPE_PERCPU_HASH ||
               map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    case BPF_FUNC_for_each_map_elem: /* maps with a map_for_each_callback */
        return map_type == BPF_MAP_TYPE_ARRAY || map_type == BPF_MAP_TYPE_PERCPU_ARRAY ||
               map_type == BPF_MAP_TYPE_HASH || map_type == BPF_MAP_TYPE_PERCPU_HASH ||
               map_type == BPF_MAP_TYPE_LRU_HASH || map_type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    default: return true;
    }
}
