#include "xdp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "maps/maps.h"

_Static_assert(offsetof(struct xdpvm_xdp_buff, md) == 0, "ctx must point at xdp_md");
_Static_assert(sizeof(struct xdpvm_xdp_md) == 24, "struct xdp_md is 24 bytes in the kernel");

/* BPF_F_BROADCAST (linux/bpf.h): bpf_redirect_map to every entry of a devmap. */
#define REDIRECT_FLAG_BROADCAST (1ull << 3)

struct xdpvm_xdp_runner {
    const struct xdpvm_prog *prog;
    struct xdpvm_xdp_opts opts;
    uint8_t *scratch;              /* one frame for copied-in packets */
    struct xdpvm_xdp_buff buff;
    struct xdpvm_run run;
    struct xdpvm_xdp_stats stats;
};

static const char *const outcome_names[XDPVM_XDP_OUT_COUNT] = {
    [XDPVM_XDP_OUT_ABORTED] = "aborted",   [XDPVM_XDP_OUT_DROP] = "drop",
    [XDPVM_XDP_OUT_PASS] = "pass",         [XDPVM_XDP_OUT_TX] = "tx",
    [XDPVM_XDP_OUT_REDIRECT] = "redirect", [XDPVM_XDP_OUT_INVALID] = "invalid",
    [XDPVM_XDP_OUT_REDIRECT_ERROR] = "redirect_error",
};

const char *xdpvm_xdp_outcome_name(enum xdpvm_xdp_outcome outcome)
{
    return (unsigned)outcome < XDPVM_XDP_OUT_COUNT ? outcome_names[outcome] : "?";
}

const char *xdpvm_xdp_action_name(uint32_t action)
{
    static const char *const names[] = {"XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX",
                                        "XDP_REDIRECT"};
    return action < sizeof(names) / sizeof(names[0]) ? names[action] : NULL;
}

void xdpvm_xdp_stats_add(struct xdpvm_xdp_stats *sum, const struct xdpvm_xdp_stats *more)
{
    sum->packets += more->packets;
    for (int i = 0; i < XDPVM_XDP_OUT_COUNT; i++)
        sum->outcome[i] += more->outcome[i];
    sum->errors += more->errors;
    sum->bytes_in += more->bytes_in;
    sum->bytes_out += more->bytes_out;
}

static size_t page_round(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (size + page - 1) / page * page;
}

void *xdpvm_xdp_low_alloc(size_t size)
{
    if (size == 0) {
        errno = EINVAL;
        return NULL;
    }
    size = page_round(size);
#if defined(__x86_64__) && defined(MAP_32BIT)
    /* MAP_32BIT places the mapping in the first 2 GiB: exactly what 32-bit xdp_md needs. */
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
                     -1, 0);
    if (mem != MAP_FAILED)
        return mem;
    return NULL;
#else
    /* Elsewhere: walk hint addresses below 4 GiB until the kernel grants one unused range. */
    for (uintptr_t hint = 0x10000000u; hint + size <= 0x100000000ull; hint += 0x1000000u) {
        void *mem = mmap((void *)hint, size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (mem == MAP_FAILED)
            continue;
        if ((uintptr_t)mem + size <= 0x100000000ull)
            return mem;
        munmap(mem, size);
    }
    errno = ENOMEM;
    return NULL;
#endif
}

void xdpvm_xdp_low_free(void *mem, size_t size)
{
    if (mem)
        munmap(mem, page_round(size));
}

struct xdpvm_xdp_runner *xdpvm_xdp_runner_new(const struct xdpvm_prog *prog,
                                              const struct xdpvm_xdp_opts *opts, char *err,
                                              size_t err_size)
{
    struct xdpvm_xdp_runner *runner = calloc(1, sizeof(*runner));
    if (!runner) {
        snprintf(err, err_size, "out of memory for the XDP runner");
        return NULL;
    }
    runner->prog = prog;
    if (opts)
        runner->opts = *opts;
    runner->scratch = xdpvm_xdp_low_alloc(XDPVM_XDP_FRAME_SIZE);
    if (!runner->scratch) {
        snprintf(err, err_size, "cannot allocate a packet frame below 4 GiB: %s", strerror(errno));
        free(runner);
        return NULL;
    }
    return runner;
}

void xdpvm_xdp_runner_free(struct xdpvm_xdp_runner *runner)
{
    if (!runner)
        return;
    xdpvm_xdp_low_free(runner->scratch, XDPVM_XDP_FRAME_SIZE);
    free(runner);
}

const struct xdpvm_xdp_stats *xdpvm_xdp_runner_stats(const struct xdpvm_xdp_runner *runner)
{
    return &runner->stats;
}

void xdpvm_xdp_runner_reset_stats(struct xdpvm_xdp_runner *runner)
{
    memset(&runner->stats, 0, sizeof(runner->stats));
}

static void set_error(struct xdpvm_xdp_result *result, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_error(struct xdpvm_xdp_result *result, int error, const char *fmt, ...)
{
    result->error = error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(result->message, sizeof(result->message), fmt, ap);
    va_end(ap);
}

static bool ifindex_exists(const struct xdpvm_xdp_runner *runner, uint32_t ifindex)
{
    if (runner->opts.ifindex_exists)
        return runner->opts.ifindex_exists(runner->opts.ifindex_arg, ifindex);
    return ifindex != 0;
}

/* Where an XDP_REDIRECT goes, from what bpf_redirect / bpf_redirect_map recorded in the
 * buffer. Returns the outcome: REDIRECT, or REDIRECT_ERROR where the kernel's
 * xdp_do_redirect would fail. */
static enum xdpvm_xdp_outcome resolve_redirect(struct xdpvm_xdp_runner *runner,
                                               struct xdpvm_xdp_result *result)
{
    const struct xdpvm_xdp_buff *buff = &runner->buff;
    if (!buff->redirect_set) {
        set_error(result, -EBADRQC, "XDP_REDIRECT without a target (no bpf_redirect or "
                                    "bpf_redirect_map call in this run)");
        return XDPVM_XDP_OUT_REDIRECT_ERROR;
    }
    result->redirect_map = buff->redirect_map;
    result->redirect_key = buff->redirect_key;
    if (!buff->redirect_map) {
        result->redirect_ifindex = buff->redirect_ifindex;
        if (!ifindex_exists(runner, buff->redirect_ifindex)) {
            set_error(result, -EINVAL, "XDP_REDIRECT to ifindex %u: no such device",
                      buff->redirect_ifindex);
            return XDPVM_XDP_OUT_REDIRECT_ERROR;
        }
        return XDPVM_XDP_OUT_REDIRECT;
    }
    const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(buff->redirect_map);
    if (spec->type == XDPVM_MAP_XSKMAP)
        return XDPVM_XDP_OUT_REDIRECT; /* to the AF_XDP socket of queue redirect_key */
    if (spec->type != XDPVM_MAP_DEVMAP && spec->type != XDPVM_MAP_DEVMAP_HASH) {
        set_error(result, -EINVAL, "XDP_REDIRECT through map '%s' of type %s, which is not a "
                  "redirect target (devmap, devmap_hash, xskmap)", spec->name,
                  xdpvm_map_type_name(spec->type) ? xdpvm_map_type_name(spec->type) : "?");
        return XDPVM_XDP_OUT_REDIRECT_ERROR;
    }
    if (buff->redirect_flags & REDIRECT_FLAG_BROADCAST)
        return XDPVM_XDP_OUT_REDIRECT; /* to every device of the map */
    uint32_t key = buff->redirect_key;
    const uint8_t *value = xdpvm_map_lookup(buff->redirect_map, &key, runner->opts.cpu);
    if (!value) {
        set_error(result, -ENOENT, "XDP_REDIRECT to %s '%s' key %u: no such entry",
                  xdpvm_map_type_name(spec->type), spec->name, key);
        return XDPVM_XDP_OUT_REDIRECT_ERROR;
    }
    uint32_t ifindex; /* struct bpf_devmap_val starts with the ifindex */
    memcpy(&ifindex, value, sizeof(ifindex));
    result->redirect_ifindex = ifindex;
    if (!ifindex_exists(runner, ifindex)) {
        set_error(result, -EINVAL, "XDP_REDIRECT to %s '%s' key %u: ifindex %u: no such device",
                  xdpvm_map_type_name(spec->type), spec->name, key, ifindex);
        return XDPVM_XDP_OUT_REDIRECT_ERROR;
    }
    return XDPVM_XDP_OUT_REDIRECT;
}

static enum xdpvm_xdp_outcome finish(struct xdpvm_xdp_runner *runner,
                                     struct xdpvm_xdp_result *result,
                                     enum xdpvm_xdp_outcome outcome)
{
    result->outcome = outcome;
    runner->stats.packets++;
    runner->stats.outcome[outcome]++;
    runner->stats.bytes_out += result->len;
    if (outcome == XDPVM_XDP_OUT_ABORTED && result->error)
        runner->stats.errors++;
    return outcome;
}

enum xdpvm_xdp_outcome xdpvm_xdp_run_frame(struct xdpvm_xdp_runner *runner, uint8_t *frame,
                                           uint32_t frame_size, uint32_t data_off, uint32_t len,
                                           struct xdpvm_xdp_result *result)
{
    result->ret = 0;
    result->meta_len = 0;
    result->redirect_ifindex = 0;
    result->redirect_map = NULL;
    result->redirect_key = 0;
    result->insns_executed = 0;
    result->error = 0;
    result->message[0] = 0;
    runner->stats.bytes_in += len;

    if ((uintptr_t)frame + frame_size > 0x100000000ull || data_off > frame_size ||
        len > frame_size - data_off) {
        result->data = frame;
        result->len = 0;
        set_error(result, -EFAULT, "frame at %p (%u bytes, packet at offset %u, %u bytes) is "
                  "not inside the low 4 GiB", (void *)frame, frame_size, data_off, len);
        return finish(runner, result, XDPVM_XDP_OUT_ABORTED);
    }

    struct xdpvm_xdp_buff *buff = &runner->buff;
    uint32_t data = (uint32_t)(uintptr_t)(frame + data_off);
    buff->md = (struct xdpvm_xdp_md){
        .data = data,
        .data_end = data + len,
        .data_meta = data, /* metadata supported, none yet: the kernel's xdp_prepare_buff */
        .ingress_ifindex = runner->opts.ingress_ifindex,
        .rx_queue_index = runner->opts.rx_queue_index,
    };
    buff->frame = frame;
    buff->frame_size = frame_size;
    buff->tailroom_reserve = XDPVM_XDP_TAILROOM_RESERVE;
    buff->redirect_set = false;
    buff->redirect_ifindex = 0;
    buff->redirect_map = NULL;
    buff->redirect_key = 0;
    buff->redirect_flags = 0;

    struct xdpvm_run *run = &runner->run;
    run->prog = runner->prog;
    run->ctx = &buff->md;
    run->cpu = runner->opts.cpu;
    /* For checked execution: the packet (data_meta..data_end, kept current by the adjust
     * helpers) and the read-only context. Set even for a verified program: a tail call may
     * enter one that is not. */
    run->region_count = 0;
    run->xdp = buff;
    xdpvm_run_add_packet_region(run);
    xdpvm_run_add_region(run, &buff->md, sizeof(buff->md), false, "context");
    run->insn_budget = runner->opts.insn_budget;
    run->insns_executed = 0;
    run->next_prog = NULL;
    run->tail_call_count = 0;
    run->stop = false;
    run->stop_value = 0;
    run->trace = runner->opts.trace;
    run->error = 0;
    run->error_pc = 0;
    run->error_message[0] = 0;

    uint64_t r0 = 0;
    int rc = runner->prog->exec(run, &r0);
    result->insns_executed = run->insns_executed;

    /* Whatever the program left, the packet is what md says now (helpers keep md inside the
     * frame; an unchecked program could not have written md, which is read-only to it). */
    uintptr_t pkt = buff->md.data, pkt_end = buff->md.data_end, meta = buff->md.data_meta;
    uintptr_t lo = (uintptr_t)frame, hi = lo + frame_size;
    if (pkt < lo || pkt_end > hi || pkt > pkt_end || meta > pkt || meta < lo) {
        result->data = frame + data_off;
        result->len = 0;
        set_error(result, -EFAULT, "the program left xdp_md outside its frame (data %#lx, "
                  "data_end %#lx, data_meta %#lx)", (unsigned long)pkt, (unsigned long)pkt_end,
                  (unsigned long)meta);
        return finish(runner, result, XDPVM_XDP_OUT_ABORTED);
    }
    result->data = (uint8_t *)pkt;
    result->len = (uint32_t)(pkt_end - pkt);
    result->meta_len = (uint32_t)(pkt - meta);

    if (rc != 0 || run->error) {
        const struct xdpvm_prog *failed = run->prog ? run->prog : runner->prog;
        int error = run->error ? run->error : rc;
        if (run->error_message[0]) /* the executor's message names the instruction */
            set_error(result, error, "program '%s': %s", failed->name, run->error_message);
        else
            set_error(result, error, "program '%s' failed at instruction %zu: %s", failed->name,
                      run->error_pc, strerror(-error));
        return finish(runner, result, XDPVM_XDP_OUT_ABORTED);
    }

    result->ret = (uint32_t)r0;
    switch (result->ret) {
    case XDPVM_XDP_ABORTED: return finish(runner, result, XDPVM_XDP_OUT_ABORTED);
    case XDPVM_XDP_DROP: return finish(runner, result, XDPVM_XDP_OUT_DROP);
    case XDPVM_XDP_PASS: return finish(runner, result, XDPVM_XDP_OUT_PASS);
    case XDPVM_XDP_TX: return finish(runner, result, XDPVM_XDP_OUT_TX);
    case XDPVM_XDP_REDIRECT: return finish(runner, result, resolve_redirect(runner, result));
    default:
        set_error(result, 0, "program '%s' returned %u, which is not an XDP action (the kernel "
                  "drops it: bpf_warn_invalid_xdp_action)", runner->prog->name, result->ret);
        return finish(runner, result, XDPVM_XDP_OUT_INVALID);
    }
}

enum xdpvm_xdp_outcome xdpvm_xdp_run_packet(struct xdpvm_xdp_runner *runner, const void *packet,
                                            size_t len, struct xdpvm_xdp_result *result)
{
    if (len > XDPVM_XDP_MAX_PACKET) {
        memset(result, 0, offsetof(struct xdpvm_xdp_result, message));
        runner->stats.bytes_in += len;
        set_error(result, -EMSGSIZE, "packet of %zu bytes does not fit a %u-byte frame (at most "
                  "%u bytes after the headroom and tailroom; multi-buffer frames are not "
                  "supported)", len, XDPVM_XDP_FRAME_SIZE, XDPVM_XDP_MAX_PACKET);
        return finish(runner, result, XDPVM_XDP_OUT_ABORTED);
    }
    /* Clear the frame around the packet so no earlier packet's bytes show through headroom
     * or the tail (adjust_tail growth is zeroed by the helper, as in the kernel). */
    memset(runner->scratch, 0, XDPVM_XDP_HEADROOM);
    memcpy(runner->scratch + XDPVM_XDP_HEADROOM, packet, len);
    return xdpvm_xdp_run_frame(runner, runner->scratch, XDPVM_XDP_FRAME_SIZE, XDPVM_XDP_HEADROOM,
                               (uint32_t)len, result);
}

static double monotonic_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void xdpvm_xdp_time_packets(struct xdpvm_xdp_runner *runner,
                            const struct xdpvm_xdp_packet_ref *packets, size_t count,
                            uint64_t min_runs, double min_seconds, struct xdpvm_xdp_timing *timing)
{
    memset(timing, 0, sizeof(*timing));
    xdpvm_xdp_runner_reset_stats(runner);
    if (count == 0)
        return;
    struct xdpvm_xdp_result result;
    for (size_t i = 0; i < count; i++)
        xdpvm_xdp_run_packet(runner, packets[i].data, packets[i].len, &result);
    timing->warmup = runner->stats;
    /* The clock is read once per pass, not per packet: reading it costs about as much as a
     * short program. */
    double start = monotonic_seconds(), elapsed = 0;
    while (timing->runs < min_runs || elapsed < min_seconds) {
        for (size_t i = 0; i < count; i++)
            xdpvm_xdp_run_packet(runner, packets[i].data, packets[i].len, &result);
        timing->runs += count;
        elapsed = monotonic_seconds() - start;
    }
    timing->seconds = elapsed;
    timing->ns_per_packet = elapsed * 1e9 / (double)timing->runs;
}
