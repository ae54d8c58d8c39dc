/* Live ports: what AF_XDP and AF_PACKET share (frame pool, interface checks, TAP devices) and
 * the dispatch to the two implementations. */
#include "port_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xdp/xdp.h"

const char *xdpvm_port_mode_name(enum xdpvm_port_mode mode)
{
    switch (mode) {
    case XDPVM_PORT_AUTO: return "auto";
    case XDPVM_PORT_AFXDP: return "afxdp";
    case XDPVM_PORT_AFPACKET: return "afpacket";
    }
    return "?";
}

int xdpvm_port_mode_parse(const char *name, enum xdpvm_port_mode *mode)
{
    static const enum xdpvm_port_mode modes[] = {XDPVM_PORT_AUTO, XDPVM_PORT_AFXDP,
                                                 XDPVM_PORT_AFPACKET};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
        if (!strcmp(name, xdpvm_port_mode_name(modes[i]))) {
            *mode = modes[i];
            return 0;
        }
    return -1;
}

int xdpvm_frame_pool_init(struct xdpvm_frame_pool *pool, uint32_t frame_count, char *err,
                          size_t err_size)
{
    memset(pool, 0, sizeof(*pool));
    size_t bytes = (size_t)frame_count * XDPVM_PORT_FRAME_SIZE;
    pool->base = xdpvm_xdp_low_alloc(bytes);
    if (!pool->base) {
        snprintf(err, err_size, "cannot allocate %zu bytes of frames below 4 GiB: %s", bytes,
                 strerror(errno));
        return -1;
    }
    pool->free = calloc(frame_count, sizeof(*pool->free));
    if (!pool->free) {
        xdpvm_xdp_low_free(pool->base, bytes);
        pool->base = NULL;
        snprintf(err, err_size, "out of memory for the frame pool");
        return -1;
    }
    pool->frame_count = frame_count;
    /* Lowest offsets on top of the stack: easier to read in traces. */
    for (uint32_t i = 0; i < frame_count; i++)
        pool->free[i] = (uint64_t)(frame_count - 1 - i) * XDPVM_PORT_FRAME_SIZE;
    pool->free_count = frame_count;
    return 0;
}

void xdpvm_frame_pool_destroy(struct xdpvm_frame_pool *pool)
{
    if (pool->base)
        xdpvm_xdp_low_free(pool->base, (size_t)pool->frame_count * XDPVM_PORT_FRAME_SIZE);
    free(pool->free);
    memset(pool, 0, sizeof(*pool));
}

static int ifreq_ioctl(const char *ifname, unsigned long request, struct ifreq *ifr)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(ifr, 0, sizeof(*ifr));
    snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", ifname);
    int rc = ioctl(fd, request, ifr);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int xdpvm_iface_lookup(const char *ifname, uint32_t *ifindex, char *err, size_t err_size)
{
    if (strlen(ifname) >= IF_NAMESIZE) {
        snprintf(err, err_size, "interface name '%s' is longer than %d characters", ifname,
                 IF_NAMESIZE - 1);
        return -1;
    }
    unsigned index = if_nametoindex(ifname);
    if (!index) {
        snprintf(err, err_size, "interface '%s' does not exist in this network namespace",
                 ifname);
        return -1;
    }
    *ifindex = index;
    return 0;
}

int xdpvm_iface_check_up(const char *ifname, char *err, size_t err_size)
{
    struct ifreq ifr;
    if (ifreq_ioctl(ifname, SIOCGIFFLAGS, &ifr) < 0) {
        snprintf(err, err_size, "cannot read the flags of interface '%s': %s", ifname,
                 strerror(errno));
        return -1;
    }
    if (!(ifr.ifr_flags & IFF_UP)) {
        snprintf(err, err_size, "interface '%s' is down (ip link set dev %s up)", ifname, ifname);
        return -1;
    }
    return 0;
}

int xdpvm_iface_mtu(const char *ifname, uint32_t *mtu)
{
    struct ifreq ifr;
    if (ifreq_ioctl(ifname, SIOCGIFMTU, &ifr) < 0)
        return -1;
    *mtu = (uint32_t)ifr.ifr_mtu;
    return 0;
}

int xdpvm_iface_mac(const char *ifname, uint8_t mac[6])
{
    struct ifreq ifr;
    if (ifreq_ioctl(ifname, SIOCGIFHWADDR, &ifr) < 0)
        return -1;
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    return 0;
}

uint32_t xdpvm_iface_rx_queues(const char *ifname)
{
    char path[128];
    uint32_t count = 0;
    for (uint32_t q = 0; q < 4096; q++) {
        snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%u", ifname, q);
        if (access(path, F_OK) != 0)
            break;
        count++;
    }
    return count ? count : 1;
}

int xdpvm_tap_open(const char *port_ifname, char *name_out, size_t name_size, char *err,
                   size_t err_size)
{
    char name[IF_NAMESIZE];
    snprintf(name, sizeof(name), "xv-%s", port_ifname);
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, err_size, "cannot open /dev/net/tun for the XDP_PASS device of '%s': %s "
                 "(--no-tap drops XDP_PASS frames instead)", port_ifname, strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        snprintf(err, err_size, "cannot create TAP device '%s' for the XDP_PASS packets of '%s': %s "
                 "(--no-tap drops XDP_PASS frames instead)", name, port_ifname, strerror(errno));
        close(fd);
        return -1;
    }
    /* The port's MAC, so frames addressed to the port are addressed to the TAP as well and
     * the stack accepts them as its own. */
    uint8_t mac[6];
    struct ifreq req;
    if (xdpvm_iface_mac(port_ifname, mac) == 0) {
        memset(&req, 0, sizeof(req));
        snprintf(req.ifr_name, sizeof(req.ifr_name), "%s", name);
        req.ifr_hwaddr.sa_family = ARPHRD_ETHER;
        memcpy(req.ifr_hwaddr.sa_data, mac, 6);
        int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sock >= 0) {
            (void)ioctl(sock, SIOCSIFHWADDR, &req);
            close(sock);
        }
    }
    if (ifreq_ioctl(name, SIOCGIFFLAGS, &req) == 0) {
        req.ifr_flags |= IFF_UP;
        int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (sock >= 0) {
            snprintf(req.ifr_name, sizeof(req.ifr_name), "%s", name);
            (void)ioctl(sock, SIOCSIFFLAGS, &req);
            close(sock);
        }
    }
    snprintf(name_out, name_size, "%s", name);
    return fd;
}

struct xdpvm_port *xdpvm_port_open(const struct xdpvm_port_opts *opts,
                                   struct xdpvm_frame_pool *pool, char *note, size_t note_size,
                                   char *err, size_t err_size)
{
    if (note_size)
        note[0] = '\0';
    uint32_t ifindex;
    if (xdpvm_iface_lookup(opts->ifname, &ifindex, err, err_size) < 0)
        return NULL;
    if (xdpvm_iface_check_up(opts->ifname, err, err_size) < 0)
        return NULL;
    if (geteuid() != 0) {
        snprintf(err, err_size, "opening '%s' needs root (CAP_NET_RAW, CAP_NET_ADMIN, CAP_BPF)",
                 opts->ifname);
        return NULL;
    }
    uint32_t mtu;
    if (xdpvm_iface_mtu(opts->ifname, &mtu) == 0 && mtu + 14 + 4 > XDPVM_XDP_MAX_PACKET) {
        snprintf(err, err_size,
                 "interface '%s' has MTU %u: a frame of %u bytes (plus Ethernet header) does not "
                 "fit the %u bytes an XDP buffer holds; lower it (ip link set dev %s mtu 3500)",
                 opts->ifname, mtu, mtu, XDPVM_XDP_MAX_PACKET, opts->ifname);
        return NULL;
    }
    uint32_t queues = xdpvm_iface_rx_queues(opts->ifname);
    if (opts->rx && opts->queue >= queues) {
        snprintf(err, err_size, "interface '%s' has %u RX queue%s; queue %u does not exist "
                 "(use --queues %u or fewer)", opts->ifname, queues, queues == 1 ? "" : "s",
                 opts->queue, queues);
        return NULL;
    }

    struct xdpvm_port *port = calloc(1, sizeof(*port));
    if (!port) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    snprintf(port->ifname, sizeof(port->ifname), "%s", opts->ifname);
    port->ifindex = ifindex;
    port->queue = opts->queue;
    port->opts = *opts;
    port->opts.ifname = port->ifname;
    if (!port->opts.ring_size)
        port->opts.ring_size = 2048;
    port->pool = pool;
    port->fd = -1;

    enum xdpvm_port_mode mode = opts->mode;
    if (mode == XDPVM_PORT_AFXDP || mode == XDPVM_PORT_AUTO) {
        port->mode = XDPVM_PORT_AFXDP;
        char why[256];
        if (xdpvm_afxdp_open(port, why, sizeof(why)) == 0)
            return port;
        if (mode == XDPVM_PORT_AFXDP) {
            snprintf(err, err_size, "%s", why);
            free(port);
            return NULL;
        }
        snprintf(note, note_size, "%s; falling back to AF_PACKET", why);
    }
    port->mode = XDPVM_PORT_AFPACKET;
    if (xdpvm_afpacket_open(port, err, err_size) == 0)
        return port;
    free(port);
    return NULL;
}

void xdpvm_port_close(struct xdpvm_port *port)
{
    if (!port)
        return;
    if (port->mode == XDPVM_PORT_AFXDP)
        xdpvm_afxdp_close(port);
    else
        xdpvm_afpacket_close(port);
    free(port);
}

enum xdpvm_port_mode xdpvm_port_mode(const struct xdpvm_port *port) { return port->mode; }
const char *xdpvm_port_ifname(const struct xdpvm_port *port) { return port->ifname; }
uint32_t xdpvm_port_ifindex(const struct xdpvm_port *port) { return port->ifindex; }
uint32_t xdpvm_port_queue(const struct xdpvm_port *port) { return port->queue; }
int xdpvm_port_fd(const struct xdpvm_port *port) { return port->fd; }
bool xdpvm_port_zero_copy(const struct xdpvm_port *port) { return port->zero_copy; }
struct xdpvm_frame_pool *xdpvm_port_pool(const struct xdpvm_port *port) { return port->pool; }
const struct xdpvm_port_stats *xdpvm_port_stats(const struct xdpvm_port *port)
{
    return &port->stats;
}

unsigned xdpvm_port_rx(struct xdpvm_port *port, struct xdpvm_rx_frame *frames, unsigned max)
{
    return port->mode == XDPVM_PORT_AFXDP ? xdpvm_afxdp_rx(port, frames, max)
                                          : xdpvm_afpacket_rx(port, frames, max);
}

bool xdpvm_port_tx(struct xdpvm_port *port, uint64_t addr, uint32_t len)
{
    return port->mode == XDPVM_PORT_AFXDP ? xdpvm_afxdp_tx(port, addr, len)
                                          : xdpvm_afpacket_tx(port, addr, len);
}

void xdpvm_port_flush(struct xdpvm_port *port)
{
    if (port->mode == XDPVM_PORT_AFXDP)
        xdpvm_afxdp_flush(port);
    else
        xdpvm_afpacket_flush(port);
}

void xdpvm_port_refresh_stats(struct xdpvm_port *port)
{
    if (port->mode == XDPVM_PORT_AFXDP)
        xdpvm_afxdp_refresh_stats(port);
    else
        xdpvm_afpacket_read_kernel_drops(port);
}

uint64_t xdpvm_port_tx_in_flight(const struct xdpvm_port *port)
{
    return port->mode == XDPVM_PORT_AFXDP ? xdpvm_afxdp_in_flight(port) : 0;
}

short xdpvm_port_poll_events(const struct xdpvm_port *port)
{
    return port->mode == XDPVM_PORT_AFXDP ? xdpvm_afxdp_poll_events(port)
                                          : xdpvm_afpacket_poll_events(port);
}
