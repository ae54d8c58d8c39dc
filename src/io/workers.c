/* The live data path's workers (see live.h for the threading model and the accounting). */
#include "live.h"

#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Counters a worker keeps per port: published with relaxed atomic stores after every batch
 * (one writer per slot), read with relaxed atomic loads by the status line. */
enum counter {
    C_RECEIVED, C_RX_BYTES,
    C_OUTCOME, /* XDPVM_XDP_OUT_COUNT slots */
    C_SENT = C_OUTCOME + XDPVM_XDP_OUT_COUNT, C_SENT_BYTES, C_TX_DROPPED, C_PASS_DROPPED,
    C_KERNEL_DROPS, C_IN_FLIGHT, C_FROM_STACK,
    C_COUNT
};

#define MAX_EXCEPTIONS_SHOWN 10

struct worker_port {
    struct xdpvm_port *port;
    struct xdpvm_xdp_runner *runner;
    uint64_t local[C_COUNT];
    uint64_t published[C_COUNT];
    uint64_t tx_ring_full_seen;  /* port stats already folded into C_TX_DROPPED */
    bool error_reported;         /* a socket error was reported (once) */
};

struct worker {
    struct xdpvm_live *live;
    unsigned index;
    struct xdpvm_frame_pool pool;
    struct worker_port ports[XDPVM_LIVE_MAX_PORTS];
    pthread_t thread;
    bool started;
};

struct live_port {
    char name[IF_NAMESIZE];
    uint32_t ifindex;
    enum xdpvm_port_mode mode;
    bool zero_copy;
    int tap_fd;
    char tap_name[IF_NAMESIZE];
};

struct xdpvm_live {
    struct xdpvm_live_opts opts;
    struct live_port ports[XDPVM_LIVE_MAX_PORTS];
    struct worker *workers;
    unsigned worker_count;
    int stop;                   /* atomic */
    unsigned exceptions_shown;  /* atomic */
    bool stopped;
};

static int port_by_ifindex(const struct xdpvm_live *live, uint32_t ifindex)
{
    for (unsigned p = 0; p < live->opts.port_count; p++)
        if (live->ports[p].ifindex == ifindex)
            return (int)p;
    return -1;
}

static bool ifindex_is_port(void *arg, uint32_t ifindex)
{
    return port_by_ifindex(arg, ifindex) >= 0;
}

static void publish(struct worker *w)
{
    for (unsigned p = 0; p < w->live->opts.port_count; p++) {
        struct worker_port *wp = &w->ports[p];
        const struct xdpvm_port_stats *st = xdpvm_port_stats(wp->port);
        wp->local[C_TX_DROPPED] += st->tx_ring_full - wp->tx_ring_full_seen;
        wp->tx_ring_full_seen = st->tx_ring_full;
        wp->local[C_SENT] = st->tx_packets;
        wp->local[C_SENT_BYTES] = st->tx_bytes;
        wp->local[C_KERNEL_DROPS] = st->rx_kernel_drops;
        wp->local[C_IN_FLIGHT] = xdpvm_port_tx_in_flight(wp->port);
        for (unsigned c = 0; c < C_COUNT; c++)
            if (wp->published[c] != wp->local[c])
                __atomic_store_n(&wp->published[c], wp->local[c], __ATOMIC_RELAXED);
    }
}

static void report_exception(struct worker *w, unsigned p, const struct xdpvm_xdp_result *res)
{
    struct xdpvm_live *live = w->live;
    if (live->opts.quiet)
        return;
    unsigned shown = __atomic_fetch_add(&live->exceptions_shown, 1, __ATOMIC_RELAXED);
    if (shown >= MAX_EXCEPTIONS_SHOWN)
        return;
    fprintf(stderr, "xdpvm: %s queue %u: %s%s\n", live->ports[p].name, w->index,
            res->message[0] ? res->message : "the program returned XDP_ABORTED",
            shown + 1 == MAX_EXCEPTIONS_SHOWN ? " (further exceptions are counted, not shown)" : "");
}

static void handle_frame(struct worker *w, unsigned p, const struct xdpvm_rx_frame *f)
{
    struct worker_port *wp = &w->ports[p];
    struct xdpvm_frame_pool *pool = &w->pool;
    uint64_t frame = f->addr & ~(uint64_t)(XDPVM_PORT_FRAME_SIZE - 1);
    struct xdpvm_xdp_result res;
    enum xdpvm_xdp_outcome out = xdpvm_xdp_run_frame(wp->runner, pool->base + frame,
                                                     XDPVM_PORT_FRAME_SIZE,
                                                     (uint32_t)(f->addr - frame), f->len, &res);
    wp->local[C_RECEIVED]++;
    wp->local[C_RX_BYTES] += f->len;
    uint64_t data = (uint64_t)(res.data - pool->base);
    int target;
    switch (out) {
    case XDPVM_XDP_OUT_TX:
        xdpvm_port_tx(wp->port, data, res.len);
        break;
    case XDPVM_XDP_OUT_REDIRECT:
        target = port_by_ifindex(w->live, res.redirect_ifindex);
        if (target < 0) {
            /* An XSKMAP target (ifindex 0): there is no AF_XDP socket behind xdpvm's ports. */
            out = XDPVM_XDP_OUT_REDIRECT_ERROR;
            snprintf(res.message, sizeof(res.message),
                     "XDP_REDIRECT to ifindex %u, which is not one of the ports", res.redirect_ifindex);
            xdpvm_frame_pool_put(pool, f->addr);
            report_exception(w, p, &res);
            break;
        }
        xdpvm_port_tx(w->ports[target].port, data, res.len);
        break;
    case XDPVM_XDP_OUT_PASS: {
        int tap = w->live->ports[p].tap_fd;
        if (tap < 0 || write(tap, pool->base + data, res.len) != (ssize_t)res.len)
            wp->local[C_PASS_DROPPED]++;
        xdpvm_frame_pool_put(pool, f->addr);
        break;
    }
    case XDPVM_XDP_OUT_DROP:
        xdpvm_frame_pool_put(pool, f->addr);
        break;
    default: /* ABORTED, INVALID, REDIRECT_ERROR */
        xdpvm_frame_pool_put(pool, f->addr);
        report_exception(w, p, &res);
        break;
    }
    wp->local[C_OUTCOME + out]++;
}

/* Frames the host stack sent into port p's TAP device go out of port p. */
static unsigned tap_to_port(struct worker *w, unsigned p)
{
    int tap = w->live->ports[p].tap_fd;
    if (tap < 0)
        return 0;
    unsigned n = 0;
    while (n < XDPVM_PORT_BATCH) {
        uint64_t frame = xdpvm_frame_pool_get(&w->pool);
        if (frame == UINT64_MAX)
            break;
        uint64_t addr = frame + XDPVM_PORT_HEADROOM;
        ssize_t len = read(tap, w->pool.base + addr, XDPVM_XDP_MAX_PACKET);
        if (len <= 0) {
            xdpvm_frame_pool_put(&w->pool, frame);
            break;
        }
        xdpvm_port_tx(w->ports[p].port, addr, (uint32_t)len);
        w->ports[p].local[C_FROM_STACK]++;
        n++;
    }
    return n;
}

/* Socket errors reported by poll(): read (and so clear) them, say so once per port. True when
 * any port is in error. */
static bool port_errors(struct worker *w, const struct pollfd *pfds, nfds_t nfds)
{
    bool any = false;
    for (nfds_t i = 0; i < nfds; i++) {
        if (!(pfds[i].revents & (POLLERR | POLLHUP | POLLNVAL)))
            continue;
        int error = 0;
        socklen_t len = sizeof(error);
        (void)getsockopt(pfds[i].fd, SOL_SOCKET, SO_ERROR, &error, &len);
        any = true;
        for (unsigned p = 0; p < w->live->opts.port_count; p++)
            if (xdpvm_port_fd(w->ports[p].port) == pfds[i].fd && !w->ports[p].error_reported) {
                w->ports[p].error_reported = true;
                fprintf(stderr, "xdpvm: %s queue %u: %s; waiting for it\n", w->live->ports[p].name,
                        w->index, error ? strerror(error) : "socket error (interface down or gone?)");
            }
    }
    return any;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct xdpvm_live *live = w->live;
    unsigned nports = live->opts.port_count;
    struct pollfd pfds[2 * XDPVM_LIVE_MAX_PORTS];
    struct xdpvm_rx_frame frames[XDPVM_PORT_BATCH];
    /* Worker 0 also carries what the host stack sends through the TAP devices (replies to
     * XDP_PASS traffic: ARP, ICMP, ...) out of their ports. */
    bool serves_taps = w->index == 0;
    while (!__atomic_load_n(&live->stop, __ATOMIC_RELAXED)) {
        unsigned got = 0;
        for (unsigned p = 0; p < nports; p++) {
            unsigned n = xdpvm_port_rx(w->ports[p].port, frames, XDPVM_PORT_BATCH);
            for (unsigned i = 0; i < n; i++)
                handle_frame(w, p, &frames[i]);
            got += n;
        }
        if (serves_taps)
            for (unsigned p = 0; p < nports; p++)
                got += tap_to_port(w, p);
        for (unsigned p = 0; p < nports; p++)
            xdpvm_port_flush(w->ports[p].port);
        publish(w);
        if (got || live->opts.busy_poll)
            continue;
        nfds_t nfds = 0;
        for (unsigned p = 0; p < nports; p++) {
            pfds[nfds].fd = xdpvm_port_fd(w->ports[p].port);
            pfds[nfds].events = xdpvm_port_poll_events(w->ports[p].port);
            pfds[nfds++].revents = 0;
            if (serves_taps && live->ports[p].tap_fd >= 0) {
                pfds[nfds].fd = live->ports[p].tap_fd;
                pfds[nfds].events = POLLIN;
                pfds[nfds++].revents = 0;
            }
        }
        /* 100 ms: an idle worker wakes ten times a second to notice a stop request. */
        if (poll(pfds, nfds, 100) > 0 && port_errors(w, pfds, nfds)) {
            /* A port in error (interface down: AF_PACKET reports ENETDOWN at once, again and
             * again): wait instead of spinning until it comes back. */
            struct timespec pause = {0, 100000000};
            nanosleep(&pause, NULL);
        }
    }
    /* Let the kernel finish what is queued for transmission (bounded). */
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        uint64_t in_flight = 0;
        for (unsigned p = 0; p < nports; p++) {
            xdpvm_port_flush(w->ports[p].port);
            in_flight += xdpvm_port_tx_in_flight(w->ports[p].port);
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (!in_flight || (t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > 200000000L)
            break;
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
    for (unsigned p = 0; p < nports; p++)
        xdpvm_port_refresh_stats(w->ports[p].port);
    publish(w);
    return NULL;
}

static void close_worker(struct worker *w)
{
    for (unsigned p = 0; p < XDPVM_LIVE_MAX_PORTS; p++) {
        xdpvm_port_close(w->ports[p].port);
        w->ports[p].port = NULL;
        xdpvm_xdp_runner_free(w->ports[p].runner);
        w->ports[p].runner = NULL;
    }
    xdpvm_frame_pool_destroy(&w->pool);
}

struct xdpvm_live *xdpvm_live_start(const struct xdpvm_live_opts *opts, char *note,
                                    size_t note_size, char *err, size_t err_size)
{
    if (note_size)
        note[0] = '\0';
    if (!opts->port_count || opts->port_count > XDPVM_LIVE_MAX_PORTS) {
        snprintf(err, err_size, "between 1 and %d ports, not %u", XDPVM_LIVE_MAX_PORTS, opts->port_count);
        return NULL;
    }
    unsigned queues = opts->queues ? opts->queues : 1;
    if (queues > XDPVM_LIVE_MAX_QUEUES) {
        snprintf(err, err_size, "at most %d queues, not %u", XDPVM_LIVE_MAX_QUEUES, queues);
        return NULL;
    }
    struct xdpvm_live *live = calloc(1, sizeof(*live));
    if (!live || !(live->workers = calloc(queues, sizeof(*live->workers)))) {
        free(live);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    live->opts = *opts;
    live->worker_count = queues;
    for (unsigned p = 0; p < opts->port_count; p++) {
        live->ports[p].tap_fd = -1;
        snprintf(live->ports[p].name, sizeof(live->ports[p].name), "%s", opts->ifnames[p]);
        if (xdpvm_iface_lookup(opts->ifnames[p], &live->ports[p].ifindex, err, err_size) < 0)
            goto fail;
        for (unsigned q = 0; q < p; q++)
            if (live->ports[q].ifindex == live->ports[p].ifindex) {
                snprintf(err, err_size, "interface '%s' is given twice", opts->ifnames[p]);
                goto fail;
            }
        uint32_t available = xdpvm_iface_rx_queues(opts->ifnames[p]);
        if (queues > available) {
            snprintf(err, err_size, "--queues %u: interface '%s' has %u RX queue%s (queue count "
                     "mismatch; use --queues %u or add queues with ethtool -L / numrxqueues)",
                     queues, opts->ifnames[p], available, available == 1 ? "" : "s", available);
            goto fail;
        }
    }

    enum xdpvm_port_mode mode = opts->mode;
    for (unsigned q = 0; q < queues; q++) {
        struct worker *w = &live->workers[q];
        w->live = live;
        w->index = q;
        /* Room for a full fill ring and a full TX ring per port. */
        if (xdpvm_frame_pool_init(&w->pool, opts->port_count * 8192u, err, err_size) < 0)
            goto fail;
        for (unsigned p = 0; p < opts->port_count; p++) {
            struct xdpvm_port_opts popts = {
                .ifname = opts->ifnames[p], .queue = q, .mode = mode, .rx = true, .tx = true,
                .busy_poll = opts->busy_poll, .skb_mode = opts->skb_mode, .ring_size = 4096,
                /* One group per interface and process; workers join in queue order. */
                .fanout_group = queues > 1 ? (uint16_t)((getpid() * 31u + live->ports[p].ifindex) | 1u) : 0,
            };
            char port_note[512];
            w->ports[p].port = xdpvm_port_open(&popts, &w->pool, port_note, sizeof(port_note), err, err_size);
            if (!w->ports[p].port)
                goto fail;
            if (port_note[0] && note_size && !note[0])
                snprintf(note, note_size, "%s", port_note);
            /* Once a port fell back to AF_PACKET, the others use it too: one mode per run. */
            mode = xdpvm_port_mode(w->ports[p].port);
            live->ports[p].mode = mode;
            live->ports[p].zero_copy = xdpvm_port_zero_copy(w->ports[p].port);
            struct xdpvm_xdp_opts xopts = {
                .cpu = q, .ingress_ifindex = live->ports[p].ifindex, .rx_queue_index = q,
                .ifindex_exists = ifindex_is_port, .ifindex_arg = live,
            };
            w->ports[p].runner = xdpvm_xdp_runner_new(opts->prog, &xopts, err, err_size);
            if (!w->ports[p].runner)
                goto fail;
        }
    }
    if (!opts->no_tap)
        for (unsigned p = 0; p < opts->port_count; p++) {
            live->ports[p].tap_fd = xdpvm_tap_open(live->ports[p].name, live->ports[p].tap_name,
                                                   sizeof(live->ports[p].tap_name), err, err_size);
            if (live->ports[p].tap_fd < 0)
                goto fail;
        }
    for (unsigned q = 0; q < queues; q++) {
        int rc = pthread_create(&live->workers[q].thread, NULL, worker_main, &live->workers[q]);
        if (rc) {
            snprintf(err, err_size, "cannot start worker thread %u: %s", q, strerror(rc));
            xdpvm_live_stop(live);
            xdpvm_live_free(live);
            return NULL;
        }
        live->workers[q].started = true;
    }
    return live;
fail:
    xdpvm_live_stop(live);
    xdpvm_live_free(live);
    return NULL;
}

void xdpvm_live_stop(struct xdpvm_live *live)
{
    if (!live || live->stopped)
        return;
    __atomic_store_n(&live->stop, 1, __ATOMIC_RELAXED);
    for (unsigned q = 0; q < live->worker_count; q++)
        if (live->workers[q].started)
            pthread_join(live->workers[q].thread, NULL);
    for (unsigned q = 0; q < live->worker_count; q++) {
        struct worker *w = &live->workers[q];
        /* Keep the final counters: fold the kernel's last word (AF_PACKET drop statistics
         * are read on close) into the published ones after closing. */
        for (unsigned p = 0; p < live->opts.port_count && w->ports[p].port; p++)
            w->ports[p].published[C_IN_FLIGHT] = xdpvm_port_tx_in_flight(w->ports[p].port);
        close_worker(w);
    }
    for (unsigned p = 0; p < live->opts.port_count; p++)
        if (live->ports[p].tap_fd >= 0) {
            close(live->ports[p].tap_fd);
            live->ports[p].tap_fd = -1;
        }
    live->stopped = true;
}

void xdpvm_live_free(struct xdpvm_live *live)
{
    if (!live)
        return;
    xdpvm_live_stop(live);
    free(live->workers);
    free(live);
}

unsigned xdpvm_live_port_count(const struct xdpvm_live *live) { return live->opts.port_count; }
const char *xdpvm_live_port_name(const struct xdpvm_live *live, unsigned port)
{
    return live->ports[port].name;
}
const char *xdpvm_live_tap_name(const struct xdpvm_live *live, unsigned port)
{
    return live->ports[port].tap_name;
}
enum xdpvm_port_mode xdpvm_live_port_mode(const struct xdpvm_live *live, unsigned port)
{
    return live->ports[port].mode;
}
bool xdpvm_live_port_zero_copy(const struct xdpvm_live *live, unsigned port)
{
    return live->ports[port].zero_copy;
}
uint32_t xdpvm_live_port_ifindex(const struct xdpvm_live *live, unsigned port)
{
    return live->ports[port].ifindex;
}

void xdpvm_live_counts(const struct xdpvm_live *live, unsigned port, struct xdpvm_live_counts *out)
{
    uint64_t sum[C_COUNT] = {0};
    for (unsigned q = 0; q < live->worker_count; q++)
        for (unsigned c = 0; c < C_COUNT; c++)
            sum[c] += __atomic_load_n(&live->workers[q].ports[port].published[c], __ATOMIC_RELAXED);
    memset(out, 0, sizeof(*out));
    out->received = sum[C_RECEIVED];
    out->rx_bytes = sum[C_RX_BYTES];
    for (unsigned o = 0; o < XDPVM_XDP_OUT_COUNT; o++)
        out->outcome[o] = sum[C_OUTCOME + o];
    out->sent = sum[C_SENT];
    out->sent_bytes = sum[C_SENT_BYTES];
    out->tx_dropped = sum[C_TX_DROPPED];
    out->pass_dropped = sum[C_PASS_DROPPED];
    out->kernel_drops = sum[C_KERNEL_DROPS];
    out->in_flight = sum[C_IN_FLIGHT];
    out->from_stack = sum[C_FROM_STACK];
}
