/* AF_PACKET ports: a TPACKET_V3 RX ring (blocks of packets mapped from the kernel) and
 * sendmmsg() for TX, for hosts or drivers without AF_XDP.
 *
 * Each received packet is copied from the ring into a frame of the worker's pool, at the same
 * headroom AF_XDP gives, so the program sees the same buffer in both modes. Differences from
 * AF_XDP that users should know: the kernel's stack still receives every packet too (AF_PACKET
 * taps, it does not steal), and VLAN tags stripped by the driver are put back into the frame
 * from the ring's metadata so the program sees the bytes that were on the wire. */
#include "port_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xdp/xdp.h"

#define BLOCK_SIZE (1u << 18)
#define BLOCK_COUNT 16u
#define BLOCK_TIMEOUT_MS 2u
#define MAX_PACKET XDPVM_XDP_MAX_PACKET

struct xdpvm_afpacket {
    uint8_t *ring;
    size_t ring_size;
    unsigned block;             /* block being read */
    uint32_t block_left;        /* packets left in it; 0: not started */
    struct tpacket3_hdr *next;  /* next packet in it */
    uint64_t pending_addr[XDPVM_PORT_BATCH];
    uint32_t pending_len[XDPVM_PORT_BATCH];
    unsigned pending;
    unsigned flushes;           /* statistics are read every STATS_EVERY flushes */
};

#define STATS_EVERY 1024u

static struct tpacket_block_desc *block_at(struct xdpvm_afpacket *p, unsigned index)
{
    return (struct tpacket_block_desc *)(p->ring + (size_t)index * BLOCK_SIZE);
}

int xdpvm_afpacket_open(struct xdpvm_port *port, char *err, size_t err_size)
{
    struct xdpvm_afpacket *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    int proto = port->opts.rx ? htons(ETH_P_ALL) : 0;
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, proto);
    if (fd < 0) {
        snprintf(err, err_size, "cannot open an AF_PACKET socket for '%s': %s%s", port->ifname,
                 strerror(errno), errno == EPERM ? " (needs root or CAP_NET_RAW)" : "");
        free(p);
        return -1;
    }
    int version = TPACKET_V3, one = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) < 0) {
        snprintf(err, err_size, "'%s': the kernel refuses TPACKET_V3: %s", port->ifname,
                 strerror(errno));
        goto fail;
    }
    /* Our own transmissions are not input. */
    (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
    /* Straight to the driver: the generator and XDP_TX should not queue behind the qdisc. */
    (void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
    if (port->opts.rx) {
        struct tpacket_req3 req = {
            .tp_block_size = BLOCK_SIZE,
            .tp_block_nr = BLOCK_COUNT,
            .tp_frame_size = 2048,
            .tp_frame_nr = BLOCK_SIZE / 2048 * BLOCK_COUNT,
            .tp_retire_blk_tov = BLOCK_TIMEOUT_MS,
            .tp_feature_req_word = 0,
        };
        if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
            snprintf(err, err_size, "'%s': cannot set up the TPACKET_V3 RX ring: %s",
                     port->ifname, strerror(errno));
            goto fail;
        }
        p->ring_size = (size_t)BLOCK_SIZE * BLOCK_COUNT;
        void *ring = mmap(NULL, p->ring_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED,
                          fd, 0);
        if (ring == MAP_FAILED)
            ring = mmap(NULL, p->ring_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (ring == MAP_FAILED) {
            snprintf(err, err_size, "'%s': cannot map the RX ring: %s", port->ifname,
                     strerror(errno));
            goto fail;
        }
        p->ring = ring;
    }
    struct sockaddr_ll addr = {
        .sll_family = AF_PACKET,
        .sll_protocol = (unsigned short)proto,
        .sll_ifindex = (int)port->ifindex,
    };
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        snprintf(err, err_size, "cannot bind an AF_PACKET socket to '%s': %s", port->ifname,
                 strerror(errno));
        goto fail;
    }
    if (port->opts.rx && port->opts.fanout_group) {
        int fanout = port->opts.fanout_group | (PACKET_FANOUT_QM << 16);
        if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &fanout, sizeof(fanout)) < 0) {
            snprintf(err, err_size, "'%s' queue %u: cannot split packets between workers "
                     "(PACKET_FANOUT): %s", port->ifname, port->queue, strerror(errno));
            goto fail;
        }
    }
    if (port->opts.busy_poll) {
        int usec = 20;
        (void)setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &usec, sizeof(usec));
    }
    port->fd = fd;
    port->pkt = p;
    return 0;
fail:
    if (p->ring)
        munmap(p->ring, p->ring_size);
    close(fd);
    free(p);
    return -1;
}

void xdpvm_afpacket_close(struct xdpvm_port *port)
{
    struct xdpvm_afpacket *p = port->pkt;
    if (!p)
        return;
    xdpvm_afpacket_read_kernel_drops(port);
    for (unsigned i = 0; i < p->pending; i++)
        xdpvm_frame_pool_put(port->pool, p->pending_addr[i]);
    if (p->ring)
        munmap(p->ring, p->ring_size);
    close(port->fd);
    port->fd = -1;
    free(p);
    port->pkt = NULL;
}

/* Copy one ring packet into a pool frame; false when it was dropped instead. */
static bool take_packet(struct xdpvm_port *port, const struct tpacket3_hdr *hdr,
                        struct xdpvm_rx_frame *out)
{
    const uint8_t *data = (const uint8_t *)hdr + hdr->tp_mac;
    uint32_t len = hdr->tp_snaplen;
    bool vlan = (hdr->tp_status & TP_STATUS_VLAN_VALID) && len >= 12;
    uint32_t total = len + (vlan ? 4 : 0);
    uint64_t frame = total <= MAX_PACKET ? xdpvm_frame_pool_get(port->pool) : UINT64_MAX;
    if (frame == UINT64_MAX) {
        port->stats.rx_kernel_drops++;
        return false;
    }
    uint64_t addr = frame + XDPVM_PORT_HEADROOM;
    uint8_t *dst = port->pool->base + addr;
    if (vlan) {
        uint16_t tpid = (hdr->tp_status & TP_STATUS_VLAN_TPID_VALID) ? hdr->hv1.tp_vlan_tpid
                                                                      : ETH_P_8021Q;
        uint16_t tag[2] = {htons(tpid), htons((uint16_t)hdr->hv1.tp_vlan_tci)};
        memcpy(dst, data, 12);
        memcpy(dst + 12, tag, 4);
        memcpy(dst + 16, data + 12, len - 12);
    } else {
        memcpy(dst, data, len);
    }
    out->addr = addr;
    out->len = total;
    port->stats.rx_packets++;
    port->stats.rx_bytes += total;
    return true;
}

unsigned xdpvm_afpacket_rx(struct xdpvm_port *port, struct xdpvm_rx_frame *frames, unsigned max)
{
    struct xdpvm_afpacket *p = port->pkt;
    if (!p->ring)
        return 0;
    unsigned n = 0;
    while (n < max) {
        struct tpacket_block_desc *block = block_at(p, p->block);
        if (!p->next) {
            if (!(__atomic_load_n(&block->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
                break;
            p->block_left = block->hdr.bh1.num_pkts;
            p->next = (struct tpacket3_hdr *)((uint8_t *)block + block->hdr.bh1.offset_to_first_pkt);
        }
        while (n < max && p->block_left) {
            struct tpacket3_hdr *hdr = p->next;
            if (take_packet(port, hdr, &frames[n]))
                n++;
            p->block_left--;
            p->next = (struct tpacket3_hdr *)((uint8_t *)hdr + hdr->tp_next_offset);
        }
        if (p->block_left)
            break;
        __atomic_store_n(&block->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
        p->next = NULL;
        p->block = (p->block + 1) % BLOCK_COUNT;
    }
    return n;
}

static void send_pending(struct xdpvm_port *port)
{
    struct xdpvm_afpacket *p = port->pkt;
    struct mmsghdr msgs[XDPVM_PORT_BATCH];
    struct iovec iov[XDPVM_PORT_BATCH];
    unsigned n = p->pending, sent = 0;
    for (unsigned i = 0; i < n; i++) {
        iov[i].iov_base = port->pool->base + p->pending_addr[i];
        iov[i].iov_len = p->pending_len[i];
        memset(&msgs[i], 0, sizeof(msgs[i]));
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    for (int attempt = 0; sent < n && attempt < 4; attempt++) {
        int rc = sendmmsg(port->fd, msgs + sent, n - sent, MSG_DONTWAIT);
        if (rc > 0) {
            sent += (unsigned)rc;
            continue;
        }
        if (rc < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EINTR) {
            /* A packet the device refuses (too big, ...): drop it, send the rest. */
            port->stats.tx_ring_full++;
            xdpvm_frame_pool_put(port->pool, p->pending_addr[sent]);
            p->pending_addr[sent] = UINT64_MAX;
            sent++;
            attempt = 0;
            continue;
        }
        struct pollfd pfd = {.fd = port->fd, .events = POLLOUT};
        (void)poll(&pfd, 1, 1);
    }
    for (unsigned i = 0; i < n; i++) {
        if (p->pending_addr[i] == UINT64_MAX)
            continue;
        if (i < sent) {
            port->stats.tx_packets++;
            port->stats.tx_bytes += p->pending_len[i];
        } else {
            port->stats.tx_ring_full++;
        }
        xdpvm_frame_pool_put(port->pool, p->pending_addr[i]);
    }
    p->pending = 0;
}

bool xdpvm_afpacket_tx(struct xdpvm_port *port, uint64_t addr, uint32_t len)
{
    struct xdpvm_afpacket *p = port->pkt;
    if (p->pending == XDPVM_PORT_BATCH)
        send_pending(port);
    p->pending_addr[p->pending] = addr;
    p->pending_len[p->pending] = len;
    p->pending++;
    return true;
}

void xdpvm_afpacket_flush(struct xdpvm_port *port)
{
    if (port->pkt->pending)
        send_pending(port);
    if (port->pkt->flushes++ % STATS_EVERY == 0)
        xdpvm_afpacket_read_kernel_drops(port);
}

void xdpvm_afpacket_read_kernel_drops(struct xdpvm_port *port)
{
    struct tpacket_stats_v3 st;
    socklen_t len = sizeof(st);
    /* Reading the statistics resets them in the kernel: accumulate. */
    if (port->pkt->ring && getsockopt(port->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0)
        port->stats.rx_kernel_drops += st.tp_drops;
}

short xdpvm_afpacket_poll_events(const struct xdpvm_port *port)
{
    return port->pkt->ring ? POLLIN : 0;
}
