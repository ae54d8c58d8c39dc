/* Live ports: one queue of a network interface opened as an AF_XDP socket (libxdp's xsk API)
 * or an AF_PACKET socket (TPACKET_V3 RX ring, sendmmsg TX), behind one interface so the
 * workers and the traffic generator do not care which.
 *
 * Frames. Every frame a port hands out lives in a frame pool (struct xdpvm_frame_pool): one
 * block of page-sized frames below 4 GiB (xdpvm's XDP buffers keep 32-bit packet addresses),
 * owned by one worker thread and shared by all the ports that worker serves. For AF_XDP the
 * pool is the socket's UMEM (shared between the worker's sockets with XDP_SHARED_UMEM), so a
 * frame received on one port is transmitted on another without a copy; AF_PACKET copies each
 * packet from its RX ring into a pool frame, so the program runs on the same kind of buffer.
 * A frame received from a port must end in exactly one of xdpvm_port_tx (on any port of the
 * same pool) or xdpvm_frame_pool_put.
 *
 * Threads: a port and its pool belong to one thread; nothing here locks.
 */
#ifndef XDPVM_IO_PORT_H
#define XDPVM_IO_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XDPVM_PORT_FRAME_SIZE 4096u
#define XDPVM_PORT_HEADROOM 256u   /* XDP_PACKET_HEADROOM: where received packets start */
#define XDPVM_PORT_BATCH 64u       /* frames per ring operation */

enum xdpvm_port_mode {
    XDPVM_PORT_AUTO,      /* AF_XDP, falling back to AF_PACKET with a message */
    XDPVM_PORT_AFXDP,
    XDPVM_PORT_AFPACKET,
};
/* "auto", "afxdp", "afpacket"; parse returns -1 for an unknown name. */
const char *xdpvm_port_mode_name(enum xdpvm_port_mode mode);
int xdpvm_port_mode_parse(const char *name, enum xdpvm_port_mode *mode);

/* A block of frames below 4 GiB with a stack of free ones. */
struct xdpvm_frame_pool {
    uint8_t *base;
    uint32_t frame_count;
    uint32_t free_count;
    uint64_t *free;        /* offsets of free frames from base */
    void *xsk_umem;        /* struct xsk_umem once an AF_XDP port registered the pool */
    int umem_users;
};

int xdpvm_frame_pool_init(struct xdpvm_frame_pool *pool, uint32_t frame_count, char *err,
                          size_t err_size);
void xdpvm_frame_pool_destroy(struct xdpvm_frame_pool *pool);
/* A free frame's offset, or UINT64_MAX when none is free. */
static inline uint64_t xdpvm_frame_pool_get(struct xdpvm_frame_pool *pool)
{
    return pool->free_count ? pool->free[--pool->free_count] : UINT64_MAX;
}
/* Give back the frame containing offset addr (any address inside the frame). */
static inline void xdpvm_frame_pool_put(struct xdpvm_frame_pool *pool, uint64_t addr)
{
    pool->free[pool->free_count++] = addr & ~(uint64_t)(XDPVM_PORT_FRAME_SIZE - 1);
}

/* A received frame: the packet is base + addr .. + len; the frame starts at
 * base + (addr & ~(XDPVM_PORT_FRAME_SIZE - 1)). */
struct xdpvm_rx_frame {
    uint64_t addr;
    uint32_t len;
};

struct xdpvm_port_opts {
    const char *ifname;
    uint32_t queue;
    enum xdpvm_port_mode mode;  /* AUTO is resolved by the caller (see xdpvm_port_open) */
    bool rx;                    /* false: transmit only (the generator); no XDP program loaded */
    bool tx;
    bool busy_poll;             /* SO_BUSY_POLL and spinning instead of sleeping in poll() */
    bool skb_mode;              /* AF_XDP: libxdp's redirect program in skb (generic) mode */
    uint32_t ring_size;         /* descriptors per ring; 0: 2048 */
    /* AF_PACKET with several queues: sockets of one interface sharing this (non-zero) group
     * split its packets by RX queue (PACKET_FANOUT_QM) instead of each getting all of them.
     * Join in queue order. */
    uint16_t fanout_group;
};

struct xdpvm_port_stats {
    uint64_t rx_packets, rx_bytes;
    uint64_t tx_packets, tx_bytes;   /* handed to the kernel */
    uint64_t tx_completed;           /* AF_XDP: frames the kernel gave back */
    uint64_t tx_ring_full;           /* frames dropped because the TX ring was full */
    uint64_t rx_kernel_drops;        /* dropped by the kernel before we saw them */
};

struct xdpvm_port;

/* Open one queue of an interface. AUTO tries AF_XDP and falls back to AF_PACKET, writing why
 * into note (may be empty). NULL with a sentence in err naming the interface and the reason:
 * missing, down, not root, AF_XDP unsupported, queue out of range, MTU larger than a frame. */
struct xdpvm_port *xdpvm_port_open(const struct xdpvm_port_opts *opts,
                                   struct xdpvm_frame_pool *pool, char *note, size_t note_size,
                                   char *err, size_t err_size);
/* Close, returning frames still in the kernel's rings to the pool. */
void xdpvm_port_close(struct xdpvm_port *port);

enum xdpvm_port_mode xdpvm_port_mode(const struct xdpvm_port *port);
const char *xdpvm_port_ifname(const struct xdpvm_port *port);
uint32_t xdpvm_port_ifindex(const struct xdpvm_port *port);
uint32_t xdpvm_port_queue(const struct xdpvm_port *port);
int xdpvm_port_fd(const struct xdpvm_port *port);
/* AF_XDP in the driver's zero-copy mode (false: copy mode, or AF_PACKET). */
bool xdpvm_port_zero_copy(const struct xdpvm_port *port);
struct xdpvm_frame_pool *xdpvm_port_pool(const struct xdpvm_port *port);
const struct xdpvm_port_stats *xdpvm_port_stats(const struct xdpvm_port *port);

/* Received frames, at most max. Frames are the caller's until given to tx or the pool. */
unsigned xdpvm_port_rx(struct xdpvm_port *port, struct xdpvm_rx_frame *frames, unsigned max);
/* Queue a frame of the port's pool for transmission (the packet at addr, len bytes). The frame
 * goes back to the pool when sent (or at once if the TX ring is full: counted in
 * tx_ring_full, return false). Nothing leaves before xdpvm_port_flush. */
bool xdpvm_port_tx(struct xdpvm_port *port, uint64_t addr, uint32_t len);
/* Send queued frames, take back completed ones and refill the RX (fill) ring. */
void xdpvm_port_flush(struct xdpvm_port *port);
/* Read the kernel's counters for the socket now (flush reads them only now and then). */
void xdpvm_port_refresh_stats(struct xdpvm_port *port);
/* Frames given to the kernel for transmission and not yet completed. */
uint64_t xdpvm_port_tx_in_flight(const struct xdpvm_port *port);
/* Events to poll() for: POLLIN when receiving; POLLOUT while TX waits for room. */
short xdpvm_port_poll_events(const struct xdpvm_port *port);

/* Interface checks shared by ports and commands. Return 0, or -1 with a sentence in err. */
int xdpvm_iface_lookup(const char *ifname, uint32_t *ifindex, char *err, size_t err_size);
int xdpvm_iface_check_up(const char *ifname, char *err, size_t err_size);
int xdpvm_iface_mtu(const char *ifname, uint32_t *mtu);
int xdpvm_iface_mac(const char *ifname, uint8_t mac[6]);
/* Number of RX queues the interface has (sysfs), 1 when unknown. */
uint32_t xdpvm_iface_rx_queues(const char *ifname);

/* A TAP device that hands XDP_PASS frames to the host stack. Named "xv-" + the port's name
 * (cut to 15 characters), with the port's MAC address, brought up. Returns the fd or -1. */
int xdpvm_tap_open(const char *port_ifname, char *name_out, size_t name_size, char *err,
                   size_t err_size);

#endif
