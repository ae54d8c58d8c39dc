#include "example_config.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>

#include "kernel/kernel.h"
#include "maps/maps.h"
#include "xdpvm/object.h"

int example_map_update(struct xdpvm_object *obj, const char *map, const void *key, const void *value)
{
    struct xdpvm_object_map *om = xdpvm_object__find_map_by_name(obj, map);
    struct xdpvm_map *m = om ? xdpvm_object_map__map(om) : NULL;
    return m ? xdpvm_map_user_update(m, key, value, XDPVM_ANY) : -ENOENT;
}

bool example_put_object(void *obj, const char *map, const void *key, const void *value)
{
    return example_map_update(obj, map, key, value) == 0;
}

bool example_put_kernel(void *kernel_obj, const char *map, const void *key, const void *value)
{
    return xdpvm_kernel_map_update(kernel_obj, map, key, value, 0) == 0;
}

const char *const example_names[6] = {"router", "macswap", "vlan", "firewall", "lb", "counter"};

struct next_hop {
    uint8_t dmac[6], smac[6];
    uint32_t ifindex;
};
struct vlan_rule {
    uint16_t new_vid, reserved;
};
struct lpm_v4_key {
    uint32_t prefixlen;
    uint8_t addr[4];
};
struct port_key {
    uint8_t protocol, pad;
    uint16_t port;
};
struct lb_config {
    uint8_t vip4[4], vip6[16];
    uint16_t port, reserved;
    uint32_t backend_count;
};
struct backend {
    uint8_t mac[6];
    uint16_t reserved;
    uint8_t ip4[4], ip6[16];
};

static bool configure_router(example_put_fn put, void *ctx, uint32_t redirect_ifindex)
{
    struct next_hop hop = {{0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f}, {0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f},
                           redirect_ifindex};
    struct next_hop tx_hop = hop;
    tx_hop.ifindex = 0;
    /* 10.0.0.100 (the capture's load-balancer VIP, frequent in it) goes back out with XDP_TX,
     * everything else follows the default route; network order, as the program reads it. */
    uint32_t any = 0, specific;
    memcpy(&specific, (uint8_t[]){10, 0, 0, 100}, 4);
    if (redirect_ifindex && !put(ctx, "tx_ports", &redirect_ifindex, &redirect_ifindex))
        return false;
    return put(ctx, "next_hops", &any, &hop) && put(ctx, "next_hops", &specific, &tx_hop);
}

static bool configure_vlan(example_put_fn put, void *ctx)
{
    uint16_t vid100 = 100, vid200 = 200, untagged = 0;
    struct vlan_rule rewrite = {101, 0}, pop = {0, 0}, push = {42, 0};
    return put(ctx, "vlan_rules", &vid100, &rewrite) && put(ctx, "vlan_rules", &vid200, &pop) &&
           put(ctx, "vlan_rules", &untagged, &push);
}

static bool configure_firewall(example_put_fn put, void *ctx)
{
    /* A /26 of the generated sources (192.0.2.x) and two service ports. */
    struct lpm_v4_key net = {26, {192, 0, 2, 64}};
    struct port_key https = {6, 0, 443}, dns = {17, 0, 53};
    uint32_t r1 = 1, r2 = 2, r3 = 3;
    return put(ctx, "blocked_sources", &net, &r1) && put(ctx, "blocked_ports", &https, &r2) &&
           put(ctx, "blocked_ports", &dns, &r3);
}

static bool configure_lb(example_put_fn put, void *ctx)
{
    struct lb_config cfg = {{10, 0, 0, 100}, {0xfd, [14] = 1, [15] = 0}, 0, 0, 3};
    uint32_t zero = 0;
    if (!put(ctx, "lb_config", &zero, &cfg))
        return false;
    for (uint32_t i = 0; i < 3; i++) {
        struct backend b = {{0x0e, 0, 0, 0, 0, (uint8_t)(0x10 + i)}, 0, {10, 1, 0, (uint8_t)(10 + i)},
                            {0xfd, 0, 0, 1, [15] = (uint8_t)(0x10 + i)}};
        if (!put(ctx, "backends", &i, &b))
            return false;
    }
    return true;
}

bool example_configure(const char *name, example_put_fn put, void *ctx, uint32_t redirect_ifindex)
{
    if (!strcmp(name, "router"))
        return configure_router(put, ctx, redirect_ifindex);
    if (!strcmp(name, "vlan"))
        return configure_vlan(put, ctx);
    if (!strcmp(name, "firewall"))
        return configure_firewall(put, ctx);
    if (!strcmp(name, "lb"))
        return configure_lb(put, ctx);
    return true; /* macswap and counter need no entries */
}

uint32_t example_redirect_ifindex(void)
{
    uint32_t found = 0;
    struct if_nameindex *names = if_nameindex();
    for (struct if_nameindex *n = names; n && n->if_index; n++)
        if (n->if_index != 1 && !found)
            found = n->if_index;
    if (names)
        if_freenameindex(names);
    return found;
}
