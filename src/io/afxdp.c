/* AF_XDP ports through libxdp's xsk API.
 *
 * The worker's frame pool is the UMEM; the first socket registers it and later sockets (other
 * interfaces or queues of the same worker) share it with XDP_SHARED_UMEM, each with its own
 * fill and completion rings, so a frame can leave through any of the worker's ports without a
 * copy. libxdp attaches its default program (an XSKMAP redirect) to the interface when a
 * receiving socket is created and removes it with the last socket.
 *
 * Frame life: pool -> fill ring -> kernel -> RX ring -> program -> TX ring -> completion ring
 * -> pool (or straight back to the pool for drops). In copy mode (veth) the kernel places
 * packets XDP_PACKET_HEADROOM bytes into the frame, as the XDP layer expects. */
#include "port_internal.h"

#include <errno.h>
#include <linux/if_link.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xdp/xsk.h>

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

struct xdpvm_afxdp {
    struct xsk_socket *xsk;
    struct xsk_ring_cons rx;
    struct xsk_ring_prod tx;
    struct xsk_ring_prod fill;
    struct xsk_ring_cons comp;
    uint64_t pending_addr[XDPVM_PORT_BATCH];
    uint32_t pending_len[XDPVM_PORT_BATCH];
    unsigned pending;
    uint64_t in_flight;      /* on the TX ring, not yet completed */
    uint32_t fill_limit;     /* frames this port keeps in its fill ring */
    unsigned flushes;        /* kernel statistics are read every STATS_EVERY flushes */
    uint64_t kernel_drops_base; /* XDP_STATISTICS are totals: what they were at open */
};

#define STATS_EVERY 1024u

/* Frames the kernel dropped for this socket (RX ring full, no fill descriptor):
 * XDP_STATISTICS, which are running totals. */
static uint64_t kernel_drops(const struct xdpvm_port *port)
{
    struct xdp_statistics st;
    socklen_t len = sizeof(st);
    memset(&st, 0, sizeof(st));
    if (getsockopt(port->fd, SOL_XDP, XDP_STATISTICS, &st, &len) < 0)
        return 0;
    /* rx_dropped already counts frames lost to an empty fill ring (rx_fill_ring_empty_descs
     * counts the same events again). */
    return st.rx_dropped + st.rx_ring_full;
}

static void put_frames_back(struct xdpvm_port *port)
{
    struct xdpvm_afxdp *x = port->xsk;
    uint32_t idx;
    unsigned n = xsk_ring_cons__peek(&x->comp, port->opts.ring_size, &idx);
    for (unsigned i = 0; i < n; i++)
        xdpvm_frame_pool_put(port->pool, *xsk_ring_cons__comp_addr(&x->comp, idx + i));
    if (n) {
        xsk_ring_cons__release(&x->comp, n);
        x->in_flight -= n;
        port->stats.tx_completed += n;
    }
}

static void refill(struct xdpvm_port *port)
{
    struct xdpvm_afxdp *x = port->xsk;
    if (!port->opts.rx)
        return;
    uint32_t in_ring = port->opts.ring_size - xsk_prod_nb_free(&x->fill, port->opts.ring_size);
    if (in_ring >= x->fill_limit)
        return;
    uint32_t want = x->fill_limit - in_ring;
    if (want > port->pool->free_count)
        want = port->pool->free_count;
    uint32_t idx;
    if (!want || xsk_ring_prod__reserve(&x->fill, want, &idx) != want)
        return;
    for (uint32_t i = 0; i < want; i++)
        *xsk_ring_prod__fill_addr(&x->fill, idx + i) = xdpvm_frame_pool_get(port->pool);
    xsk_ring_prod__submit(&x->fill, want);
}

int xdpvm_afxdp_open(struct xdpvm_port *port, char *err, size_t err_size)
{
    struct xdpvm_afxdp *x = calloc(1, sizeof(*x));
    if (!x) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    struct xdpvm_frame_pool *pool = port->pool;
    uint32_t ring = port->opts.ring_size;
    int rc;
    bool created_umem = false;
    if (!pool->xsk_umem) {
        struct xsk_umem_config ucfg = {
            .fill_size = ring, .comp_size = ring, .frame_size = XDPVM_PORT_FRAME_SIZE,
            .frame_headroom = 0, .flags = 0,
        };
        struct xsk_umem *umem = NULL;
        rc = xsk_umem__create(&umem, pool->base, (uint64_t)pool->frame_count * XDPVM_PORT_FRAME_SIZE,
                              &x->fill, &x->comp, &ucfg);
        if (rc) {
            snprintf(err, err_size, "cannot register AF_XDP memory (UMEM) for '%s': %s%s",
                     port->ifname, strerror(-rc),
                     rc == -EAFNOSUPPORT ? " (AF_XDP is not supported by this kernel)" : "");
            free(x);
            return -1;
        }
        pool->xsk_umem = umem;
        created_umem = true;
    }
    struct xsk_socket_config cfg = {
        .rx_size = port->opts.rx ? ring : 0,
        .tx_size = port->opts.tx ? ring : 0,
        .libxdp_flags = port->opts.rx ? 0 : XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
        .xdp_flags = port->opts.skb_mode ? XDP_FLAGS_SKB_MODE : 0,
        .bind_flags = XDP_USE_NEED_WAKEUP,
    };
    /* EBUSY right after another socket on this queue closed: the kernel releases a queue
     * asynchronously, so a quick restart may find it still taken. Retry for half a second. */
    for (int attempt = 0;; attempt++) {
        rc = xsk_socket__create_shared(&x->xsk, port->ifname, port->queue, pool->xsk_umem,
                                       port->opts.rx ? &x->rx : NULL, port->opts.tx ? &x->tx : NULL,
                                       &x->fill, &x->comp, &cfg);
        if (rc != -EBUSY || attempt == 10)
            break;
        struct timespec pause = {0, 50000000};
        nanosleep(&pause, NULL);
    }
    if (rc) {
        const char *hint = "";
        if (rc == -EAFNOSUPPORT)
            hint = " (AF_XDP is not supported by this kernel)";
        else if (rc == -EINVAL)
            hint = " (the queue may not exist or the driver rejects AF_XDP)";
        else if (rc == -EBUSY)
            hint = " (another AF_XDP socket or XDP program owns this queue)";
        else if (rc == -EPERM)
            hint = " (needs root)";
        snprintf(err, err_size, "cannot open an AF_XDP socket on '%s' queue %u: %s%s",
                 port->ifname, port->queue, strerror(-rc), hint);
        if (created_umem) {
            xsk_umem__delete(pool->xsk_umem);
            pool->xsk_umem = NULL;
        }
        free(x);
        return -1;
    }
    pool->umem_users++;
    port->xsk = x;
    port->fd = xsk_socket__fd(x->xsk);
    if (port->opts.busy_poll) {
        int one = 1, usec = 20, budget = XDPVM_PORT_BATCH;
        /* Best effort: without these the socket still works, only polls less eagerly. */
        (void)setsockopt(port->fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one));
        (void)setsockopt(port->fd, SOL_SOCKET, SO_BUSY_POLL, &usec, sizeof(usec));
        (void)setsockopt(port->fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget));
    }
    x->fill_limit = ring;
    x->kernel_drops_base = kernel_drops(port);
    struct xdp_options xopt;
    socklen_t olen = sizeof(xopt);
    port->zero_copy = getsockopt(port->fd, SOL_XDP, XDP_OPTIONS, &xopt, &olen) == 0 &&
                      (xopt.flags & XDP_OPTIONS_ZEROCOPY);
    refill(port);
    return 0;
}

static void kick_tx(struct xdpvm_port *port)
{
    /* The kernel transmits on sendto(); EAGAIN/EBUSY/ENOBUFS mean "try again later", and the
     * frames stay on the ring until then. */
    (void)sendto(port->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
}

static void submit_pending(struct xdpvm_port *port)
{
    struct xdpvm_afxdp *x = port->xsk;
    if (!x->pending)
        return;
    put_frames_back(port);
    uint32_t idx;
    unsigned n = x->pending;
    unsigned room = xsk_prod_nb_free(&x->tx, n);
    if (room < n) {
        /* Give the kernel a chance to drain, then drop what still does not fit. */
        kick_tx(port);
        put_frames_back(port);
        room = xsk_prod_nb_free(&x->tx, n);
    }
    unsigned take = room < n ? room : n;
    if (take && xsk_ring_prod__reserve(&x->tx, take, &idx) == take) {
        for (unsigned i = 0; i < take; i++) {
            struct xdp_desc *desc = xsk_ring_prod__tx_desc(&x->tx, idx + i);
            desc->addr = x->pending_addr[i];
            desc->len = x->pending_len[i];
            port->stats.tx_bytes += x->pending_len[i];
        }
        xsk_ring_prod__submit(&x->tx, take);
        x->in_flight += take;
        port->stats.tx_packets += take;
    } else {
        take = 0;
    }
    for (unsigned i = take; i < n; i++) {
        xdpvm_frame_pool_put(port->pool, x->pending_addr[i]);
        port->stats.tx_ring_full++;
    }
    x->pending = 0;
    if (take && xsk_ring_prod__needs_wakeup(&x->tx))
        kick_tx(port);
}

bool xdpvm_afxdp_tx(struct xdpvm_port *port, uint64_t addr, uint32_t len)
{
    struct xdpvm_afxdp *x = port->xsk;
    if (!port->opts.tx) {
        xdpvm_frame_pool_put(port->pool, addr);
        port->stats.tx_ring_full++;
        return false;
    }
    if (x->pending == XDPVM_PORT_BATCH)
        submit_pending(port);
    x->pending_addr[x->pending] = addr;
    x->pending_len[x->pending] = len;
    x->pending++;
    return true;
}

unsigned xdpvm_afxdp_rx(struct xdpvm_port *port, struct xdpvm_rx_frame *frames, unsigned max)
{
    struct xdpvm_afxdp *x = port->xsk;
    if (!port->opts.rx)
        return 0;
    uint32_t idx;
    unsigned n = xsk_ring_cons__peek(&x->rx, max, &idx);
    for (unsigned i = 0; i < n; i++) {
        const struct xdp_desc *desc = xsk_ring_cons__rx_desc(&x->rx, idx + i);
        frames[i].addr = desc->addr;
        frames[i].len = desc->len;
        port->stats.rx_bytes += desc->len;
    }
    if (n) {
        xsk_ring_cons__release(&x->rx, n);
        port->stats.rx_packets += n;
    } else if (xsk_ring_prod__needs_wakeup(&x->fill)) {
        (void)recvfrom(port->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
    }
    return n;
}

void xdpvm_afxdp_flush(struct xdpvm_port *port)
{
    struct xdpvm_afxdp *x = port->xsk;
    bool submitted = x->pending != 0;
    submit_pending(port);
    put_frames_back(port);
    /* Frames still waiting after submit_pending's kick (the kernel stopped early, or this
     * flush had nothing new): kick again; copy mode only transmits on sendto(). */
    if (!submitted && x->in_flight && port->opts.tx)
        kick_tx(port);
    refill(port);
    if (x->flushes++ % STATS_EVERY == 0)
        xdpvm_afxdp_refresh_stats(port);
}

void xdpvm_afxdp_refresh_stats(struct xdpvm_port *port)
{
    if (port->opts.rx)
        port->stats.rx_kernel_drops = kernel_drops(port) - port->xsk->kernel_drops_base;
}

uint64_t xdpvm_afxdp_in_flight(const struct xdpvm_port *port)
{
    return port->xsk->in_flight + port->xsk->pending;
}

short xdpvm_afxdp_poll_events(const struct xdpvm_port *port)
{
    short events = port->opts.rx ? POLLIN : 0;
    if (port->xsk->in_flight || port->xsk->pending)
        events |= POLLOUT;
    return events;
}

void xdpvm_afxdp_close(struct xdpvm_port *port)
{
    struct xdpvm_afxdp *x = port->xsk;
    if (!x)
        return;
    struct xdpvm_frame_pool *pool = port->pool;
    xdpvm_afxdp_refresh_stats(port);
    xsk_socket__delete(x->xsk);
    if (--pool->umem_users == 0 && pool->xsk_umem) {
        xsk_umem__delete(pool->xsk_umem);
        pool->xsk_umem = NULL;
        /* Every frame is ours again: rebuild the free stack. */
        for (uint32_t i = 0; i < pool->frame_count; i++)
            pool->free[i] = (uint64_t)(pool->frame_count - 1 - i) * XDPVM_PORT_FRAME_SIZE;
        pool->free_count = pool->frame_count;
    }
    free(x);
    port->xsk = NULL;
}
