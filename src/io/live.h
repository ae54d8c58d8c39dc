/* The live data path: an XDP program run in user space on packets from real interfaces.
 *
 * Threading: one worker thread per queue. Worker q owns queue q of every port (an AF_XDP or
 * AF_PACKET socket each), one frame pool shared by those sockets (one UMEM), and one XDP
 * runner per port (its cpu = q, so per-CPU maps give each worker its own slot). The program
 * and its maps are shared by all workers (maps are safe for concurrent use). A frame never
 * crosses threads: XDP_TX and XDP_REDIRECT leave through the same worker's socket on the
 * target port, so the data path takes no lock. Workers sleep in poll() when idle (no CPU
 * spent on an idle port) unless busy polling was asked for.
 *
 * Actions: DROP recycles the frame; TX sends it out of the port it came in on; REDIRECT sends
 * it out of the port whose ifindex the program named (bpf_redirect or a devmap); a target that
 * is not one of the ports is a redirect error, dropped as the kernel does; PASS writes it to
 * the port's TAP device "xv-<ifname>" so it reaches the host stack (and what the stack sends
 * into that TAP leaves through the port, so replies work); ABORTED (and invalid
 * return codes, run errors) are counted, dropped and reported on stderr (the first few).
 *
 * Accounting: every received frame has exactly one outcome, so received = drop + tx +
 * redirect + pass + aborted + invalid + redirect_error, at any time a snapshot is taken
 * between batches and exactly after xdpvm_live_stop. */
#ifndef XDPVM_IO_LIVE_H
#define XDPVM_IO_LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "io/port.h"
#include "xdp/xdp.h"

#define XDPVM_LIVE_MAX_PORTS 16
#define XDPVM_LIVE_MAX_QUEUES 64

struct xdpvm_live_opts {
    const struct xdpvm_prog *prog;
    const char *ifnames[XDPVM_LIVE_MAX_PORTS];
    unsigned port_count;
    unsigned queues;            /* worker threads; each serves this queue index on every port */
    enum xdpvm_port_mode mode;
    bool busy_poll;
    bool skb_mode;              /* AF_XDP: libxdp's redirect program in generic mode */
    bool no_tap;                /* XDP_PASS frames are counted and dropped instead */
    bool quiet;                 /* no per-packet exception messages on stderr */
};

/* Per port, summed over workers. */
struct xdpvm_live_counts {
    uint64_t received, rx_bytes;
    uint64_t outcome[XDPVM_XDP_OUT_COUNT];  /* by the program's outcome (xdp.h) */
    uint64_t sent;              /* frames this port transmitted (its TX + redirects into it) */
    uint64_t sent_bytes;
    uint64_t tx_dropped;        /* TX/redirect frames the TX ring or device refused */
    uint64_t pass_dropped;      /* XDP_PASS frames the TAP device refused (or no TAP) */
    uint64_t kernel_drops;      /* dropped by the kernel before reaching us (ring full) */
    uint64_t in_flight;         /* frames handed to the kernel for TX, not yet completed */
    uint64_t from_stack;        /* frames the host stack sent into the TAP, sent out here
                                 * (included in sent; not part of the received accounting) */
};

struct xdpvm_live;

/* Open every port on every queue, create the TAP devices and start the workers. NULL with a
 * sentence in err when anything fails (then nothing stays open). note receives remarks such
 * as an AF_PACKET fallback (may be empty). */
struct xdpvm_live *xdpvm_live_start(const struct xdpvm_live_opts *opts, char *note,
                                    size_t note_size, char *err, size_t err_size);
/* Stop the workers (returns within ~0.2 s), wait for transmissions to complete, close the
 * sockets (libxdp removes its program with the last one) and the TAP devices. Counters stay
 * readable until xdpvm_live_free. */
void xdpvm_live_stop(struct xdpvm_live *live);
void xdpvm_live_free(struct xdpvm_live *live);

unsigned xdpvm_live_port_count(const struct xdpvm_live *live);
const char *xdpvm_live_port_name(const struct xdpvm_live *live, unsigned port);
const char *xdpvm_live_tap_name(const struct xdpvm_live *live, unsigned port); /* "" without */
enum xdpvm_port_mode xdpvm_live_port_mode(const struct xdpvm_live *live, unsigned port);
uint32_t xdpvm_live_port_ifindex(const struct xdpvm_live *live, unsigned port);
bool xdpvm_live_port_zero_copy(const struct xdpvm_live *live, unsigned port); /* AF_XDP */
/* A consistent-enough snapshot (each counter read atomically) of one port's counters. */
void xdpvm_live_counts(const struct xdpvm_live *live, unsigned port, struct xdpvm_live_counts *out);

#endif
