/* Private to src/io: the port structure shared by port.c, afxdp.c and afpacket.c. */
#ifndef XDPVM_IO_PORT_INTERNAL_H
#define XDPVM_IO_PORT_INTERNAL_H

#include <net/if.h>
#include <sys/socket.h>

#include "port.h"

struct xsk_socket;
struct xdpvm_afxdp;
struct xdpvm_afpacket;

struct xdpvm_port {
    enum xdpvm_port_mode mode;
    char ifname[IF_NAMESIZE];
    uint32_t ifindex;
    uint32_t queue;
    struct xdpvm_port_opts opts;
    struct xdpvm_frame_pool *pool;
    struct xdpvm_port_stats stats;
    int fd;
    bool zero_copy;                /* AF_XDP bound in zero-copy mode (the driver's) */
    struct xdpvm_afxdp *xsk;       /* mode AFXDP */
    struct xdpvm_afpacket *pkt;    /* mode AFPACKET */
};

int xdpvm_afxdp_open(struct xdpvm_port *port, char *err, size_t err_size);
void xdpvm_afxdp_close(struct xdpvm_port *port);
unsigned xdpvm_afxdp_rx(struct xdpvm_port *port, struct xdpvm_rx_frame *frames, unsigned max);
bool xdpvm_afxdp_tx(struct xdpvm_port *port, uint64_t addr, uint32_t len);
void xdpvm_afxdp_flush(struct xdpvm_port *port);
void xdpvm_afxdp_refresh_stats(struct xdpvm_port *port);
uint64_t xdpvm_afxdp_in_flight(const struct xdpvm_port *port);
short xdpvm_afxdp_poll_events(const struct xdpvm_port *port);

int xdpvm_afpacket_open(struct xdpvm_port *port, char *err, size_t err_size);
void xdpvm_afpacket_close(struct xdpvm_port *port);
unsigned xdpvm_afpacket_rx(struct xdpvm_port *port, struct xdpvm_rx_frame *frames, unsigned max);
bool xdpvm_afpacket_tx(struct xdpvm_port *port, uint64_t addr, uint32_t len);
void xdpvm_afpacket_flush(struct xdpvm_port *port);
void xdpvm_afpacket_read_kernel_drops(struct xdpvm_port *port);
short xdpvm_afpacket_poll_events(const struct xdpvm_port *port);

#endif
