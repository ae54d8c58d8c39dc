/* The example programs (examples/NAME.bpf.c) run in xdpvm on packets built here, each compared
 * byte for byte with an expected packet built independently: headers rewritten field by field
 * and checksums recomputed from scratch (tests/lib/packets.c), never incrementally as the
 * programs do. Then each example over the bundled capture (build/data/mixed.pcap) against a
 * reference model written here. Everything runs in the interpreter, then again verified and
 * JIT-compiled. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "jit/jit.h"
#include "lib/object_runner.h"
#include "lib/packets.h"
#include "lib/testlib.h"
#include "maps/maps.h"
#include "verifier/verifier.h"
#include "xdp/xdp.h"
#include "xdpvm/object.h"

/* Every case runs twice: in the interpreter as loaded (checked), then verified and
 * JIT-compiled, with "_jit" appended to its name. */
static bool jit_pass;

static const char *case_name(const char *name, char *buf, size_t size)
{
    if (!jit_pass)
        return name;
    snprintf(buf, size, "%s_jit", name);
    return buf;
}

static void t_pass(const char *name)
{
    char buf[160];
    test_pass(case_name(name, buf, sizeof(buf)));
}

static void t_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void t_fail(const char *name, const char *fmt, ...)
{
    char buf[160], message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    test_fail(case_name(name, buf, sizeof(buf)), "%s", message);
}

static bool t_check(bool cond, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool t_check(bool cond, const char *name, const char *fmt, ...)
{
    if (cond) {
        t_pass(name);
        return true;
    }
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    t_fail(name, "%s", message);
    return false;
}

struct example {
    struct xdpvm_object *obj;
    struct xdpvm_prog *prog;
    struct xdpvm_xdp_runner *runner;
};

static bool example_open(struct example *ex, const char *name, const char *test)
{
    memset(ex, 0, sizeof(*ex));
    char path[1024], err[256];
    snprintf(path, sizeof(path), "%s/examples/%s.o", test_bpf_dir(), name);
    struct xdpvm_program *p;
    ex->obj = object_open_xdp(path, &p);
    if (!ex->obj) {
        t_fail(test, "%s: %s", path, xdpvm_last_error());
        return false;
    }
    ex->prog = p ? xdpvm_program__prog(p) : NULL;
    if (ex->prog && jit_pass) {
        struct xdpvm_verify_opts vo = {0};
        struct xdpvm_verify_result vr;
        struct xdpvm_jit_opts jo = {0};
        if (xdpvm_verify(ex->prog, &vo, &vr) < 0) {
            t_fail(test, "%s: verifier rejects it at instruction %zu: %s", path, vr.error_insn, vr.reason);
            xdpvm_object__close(ex->obj);
            ex->obj = NULL;
            return false;
        }
        if (xdpvm_jit_compile(ex->prog, &jo, err, sizeof(err)) < 0) {
            t_fail(test, "%s: JIT: %s", path, err);
            xdpvm_object__close(ex->obj);
            ex->obj = NULL;
            return false;
        }
    }
    struct xdpvm_xdp_opts opts_xdp = {.ingress_ifindex = 1};
    ex->runner = ex->prog ? xdpvm_xdp_runner_new(ex->prog, &opts_xdp, err, sizeof(err)) : NULL;
    if (!ex->runner) {
        t_fail(test, "%s: %s", path, ex->prog ? err : "no XDP program");
        xdpvm_object__close(ex->obj);
        ex->obj = NULL;
        return false;
    }
    return true;
}

static void example_close(struct example *ex)
{
    xdpvm_xdp_runner_free(ex->runner);
    if (ex->prog && ex->prog->jit_code)
        xdpvm_jit_free(ex->prog);
    xdpvm_object__close(ex->obj);
}

static struct xdpvm_map *example_map(struct example *ex, const char *name)
{
    struct xdpvm_object_map *m = xdpvm_object__find_map_by_name(ex->obj, name);
    return m ? xdpvm_object_map__map(m) : NULL;
}

static bool map_put(struct example *ex, const char *map_name, const void *key, const void *value,
                    const char *test)
{
    struct xdpvm_map *map = example_map(ex, map_name);
    int rc = map ? xdpvm_map_user_update(map, key, value, XDPVM_ANY) : -ENOENT;
    if (rc)
        t_fail(test, "update of map '%s': %s", map_name, strerror(-rc));
    return rc == 0;
}

static bool map_del(struct example *ex, const char *map_name, const void *key, const char *test)
{
    struct xdpvm_map *map = example_map(ex, map_name);
    int rc = map ? xdpvm_map_user_delete(map, key) : -ENOENT;
    if (rc)
        t_fail(test, "delete from map '%s': %s", map_name, strerror(-rc));
    return rc == 0;
}

/* Value of a per-CPU array slot (ncpus is 1 here) or a plain map; false when absent. */
static bool map_get(struct example *ex, const char *map_name, const void *key, void *value)
{
    struct xdpvm_map *map = example_map(ex, map_name);
    return map && xdpvm_map_user_lookup(map, key, value) == 0;
}

static void hex(char *out, size_t cap, const uint8_t *p, size_t len, long around)
{
    size_t from = around > 8 ? (size_t)around - 8 : 0, n = 0;
    out[0] = 0;
    for (size_t i = from; i < len && i < from + 24 && n + 4 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%02x", i == (size_t)around ? "[" : " ", p[i]);
}

/* Run in on the example; pass when the action is want and the output equals expect. */
static void expect_packet(struct example *ex, const char *test, const uint8_t *in, size_t in_len,
                          uint32_t want_action, const uint8_t *expect, size_t expect_len)
{
    struct xdpvm_xdp_result r;
    xdpvm_xdp_run_packet(ex->runner, in, in_len, &r);
    if (r.error && r.outcome == XDPVM_XDP_OUT_ABORTED) {
        t_fail(test, "run error: %s", r.message);
        return;
    }
    if (r.ret != want_action) {
        t_fail(test, "action %u (%s), want %s", r.ret,
                  xdpvm_xdp_action_name(r.ret) ? xdpvm_xdp_action_name(r.ret) : "?",
                  xdpvm_xdp_action_name(want_action));
        return;
    }
    long at = pkt_diff(r.data, r.len, expect, expect_len);
    if (at >= 0) {
        char got_hex[128], want_hex[128];
        hex(got_hex, sizeof(got_hex), r.data, r.len, at);
        hex(want_hex, sizeof(want_hex), expect, expect_len, at);
        t_fail(test, "output differs at byte %ld (got %u bytes, want %zu): got ..%s.. want ..%s..",
                  at, r.len, expect_len, got_hex, want_hex);
        return;
    }
    t_pass(test);
}

static const uint8_t MAC_A[6] = {0x02, 0, 0, 0, 0, 0x01}, MAC_B[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t HOP_DMAC[6] = {0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
static const uint8_t HOP_SMAC[6] = {0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};

static struct pkt_flow flow_v4(uint8_t proto, const uint8_t dst[4], uint8_t ttl)
{
    struct pkt_flow f = {.proto = proto, .sport = 40000, .dport = 80, .ttl = ttl, .payload = 33};
    memcpy(f.dmac, MAC_B, 6);
    memcpy(f.smac, MAC_A, 6);
    memcpy(f.src, (uint8_t[]){192, 0, 2, 10}, 4);
    memcpy(f.dst, dst, 4);
    return f;
}

/* ---- router ---- */

struct next_hop {
    uint8_t dmac[6], smac[6];
    uint32_t ifindex;
};

/* What the router must emit: TTL - 1, header checksum from scratch, MACs of the hop. */
static size_t router_expected(uint8_t *out, const uint8_t *in, size_t len)
{
    memcpy(out, in, len);
    out[14 + 8] -= 1;
    pkt_fix_ipv4_checksum(out + 14);
    memcpy(out, HOP_DMAC, 6);
    memcpy(out + 6, HOP_SMAC, 6);
    return len;
}

static void test_router(void)
{
    struct example ex;
    if (!example_open(&ex, "router", "router_open"))
        return;
    uint8_t in[2048], want[2048];
    const uint8_t routed[4] = {198, 51, 100, 7}, other[4] = {203, 0, 113, 9};
    struct next_hop hop = {.ifindex = 0};
    memcpy(hop.dmac, HOP_DMAC, 6);
    memcpy(hop.smac, HOP_SMAC, 6);
    uint32_t key;
    memcpy(&key, routed, 4);
    if (!map_put(&ex, "next_hops", &key, &hop, "router_setup")) {
        example_close(&ex);
        return;
    }

    /* No route: untouched, XDP_PASS. */
    struct pkt_flow f = flow_v4(PKT_TCP, other, 64);
    size_t n = pkt_build_v4(in, &f);
    expect_packet(&ex, "router_no_route_passes_untouched", in, n, XDPVM_XDP_PASS, in, n);

    /* Routed TCP, UDP, ICMP with several TTLs: TX with TTL - 1 and a checksum from scratch. */
    static const uint8_t ttls[] = {64, 2, 255, 128};
    static const uint8_t protos[] = {PKT_TCP, PKT_UDP, PKT_ICMP, PKT_TCP};
    for (size_t i = 0; i < sizeof(ttls); i++) {
        f = flow_v4(protos[i], routed, ttls[i]);
        f.payload = 10 + i * 17;
        n = pkt_build_v4(in, &f);
        size_t wn = router_expected(want, in, n);
        char name[64];
        snprintf(name, sizeof(name), "router_tx_ttl%u_proto%u", ttls[i], protos[i]);
        expect_packet(&ex, name, in, n, XDPVM_XDP_TX, want, wn);
    }
    /* The header checksum's carry case: bytes chosen so the TTL word change wraps the sum. */
    f = flow_v4(PKT_UDP, routed, 1 + 1);
    n = pkt_build_v4(in, &f);
    in[14 + 4] = 0xff; /* identification: pushes the checksum near 0 / 0xffff */
    in[14 + 5] = 0xfe;
    pkt_fix_ipv4_checksum(in + 14);
    router_expected(want, in, n);
    expect_packet(&ex, "router_tx_checksum_wrap", in, n, XDPVM_XDP_TX, want, n);

    /* TTL 1 and 0: dropped untouched. */
    f = flow_v4(PKT_TCP, routed, 1);
    n = pkt_build_v4(in, &f);
    expect_packet(&ex, "router_ttl1_drops", in, n, XDPVM_XDP_DROP, in, n);
    f.ttl = 0;
    n = pkt_build_v4(in, &f);
    expect_packet(&ex, "router_ttl0_drops", in, n, XDPVM_XDP_DROP, in, n);

    /* Bad version, IHL < 5: dropped. */
    f = flow_v4(PKT_UDP, routed, 64);
    n = pkt_build_v4(in, &f);
    in[14] = 0x55;
    expect_packet(&ex, "router_bad_version_drops", in, n, XDPVM_XDP_DROP, in, n);
    in[14] = 0x43;
    expect_packet(&ex, "router_short_ihl_drops", in, n, XDPVM_XDP_DROP, in, n);

    /* Non-IPv4 and short frames: passed untouched. */
    struct pkt_flow f6 = {.proto = PKT_UDP, .sport = 1, .dport = 2, .ttl = 64, .payload = 5};
    memcpy(f6.dmac, MAC_B, 6);
    memcpy(f6.smac, MAC_A, 6);
    f6.dst[0] = 0xfd;
    n = pkt_build_v6(in, &f6);
    expect_packet(&ex, "router_ipv6_passes", in, n, XDPVM_XDP_PASS, in, n);
    f = flow_v4(PKT_TCP, routed, 64);
    n = pkt_build_v4(in, &f);
    expect_packet(&ex, "router_truncated_ip_passes", in, 30, XDPVM_XDP_PASS, in, 30);
    expect_packet(&ex, "router_runt_frame_passes", in, 10, XDPVM_XDP_PASS, in, 10);

    /* Default route through the devmap: redirect to the hop's ifindex. */
    struct next_hop dflt = hop;
    dflt.ifindex = 5;
    uint32_t zero = 0, port = 5, port_ifindex = 5;
    if (map_put(&ex, "next_hops", &zero, &dflt, "router_setup_default") &&
        map_put(&ex, "tx_ports", &port, &port_ifindex, "router_setup_devmap")) {
        f = flow_v4(PKT_UDP, other, 9);
        n = pkt_build_v4(in, &f);
        router_expected(want, in, n);
        struct xdpvm_xdp_result r;
        expect_packet(&ex, "router_default_route_redirects", in, n, XDPVM_XDP_REDIRECT, want, n);
        xdpvm_xdp_run_packet(ex.runner, in, n, &r);
        t_check(r.outcome == XDPVM_XDP_OUT_REDIRECT && r.redirect_ifindex == 5,
                   "router_redirect_target_is_devmap_ifindex", "outcome %s ifindex %u (%s)",
                   xdpvm_xdp_outcome_name(r.outcome), r.redirect_ifindex, r.message);
        /* Devmap slot missing: bpf_redirect_map falls back to XDP_DROP (its flags argument). */
        if (map_del(&ex, "tx_ports", &port, "router_setup_devmap_delete"))
            expect_packet(&ex, "router_missing_devmap_entry_drops", in, n, XDPVM_XDP_DROP, want, n);
    }

    /* stats: per-action counters match what ran above (pass 5, tx 5, drop 5, redirect 2). */
    uint64_t counts[5] = {0};
    bool got = true;
    for (uint32_t a = 0; a < 5; a++)
        got = got && map_get(&ex, "stats", &a, &counts[a]);
    const struct xdpvm_xdp_stats *st = xdpvm_xdp_runner_stats(ex.runner);
    t_check(got && counts[XDPVM_XDP_PASS] == st->outcome[XDPVM_XDP_OUT_PASS] &&
                   counts[XDPVM_XDP_TX] == st->outcome[XDPVM_XDP_OUT_TX] &&
                   counts[XDPVM_XDP_DROP] == st->outcome[XDPVM_XDP_OUT_DROP] &&
                   counts[XDPVM_XDP_REDIRECT] == st->outcome[XDPVM_XDP_OUT_REDIRECT] &&
                   counts[XDPVM_XDP_TX] == 5 && counts[XDPVM_XDP_REDIRECT] == 2,
               "router_stats_count_actions", "map pass %llu tx %llu drop %llu redirect %llu",
               (unsigned long long)counts[2], (unsigned long long)counts[3],
               (unsigned long long)counts[1], (unsigned long long)counts[4]);
    example_close(&ex);
}

/* ---- macswap ---- */

static void test_macswap(void)
{
    struct example ex;
    if (!example_open(&ex, "macswap", "macswap_open"))
        return;
    uint8_t in[2048], want[2048];
    struct pkt_flow f = flow_v4(PKT_UDP, (uint8_t[]){198, 51, 100, 1}, 64);
    size_t n = pkt_build_v4(in, &f);
    memcpy(want, in, n);
    memcpy(want, MAC_A, 6);
    memcpy(want + 6, MAC_B, 6);
    expect_packet(&ex, "macswap_swaps_and_tx", in, n, XDPVM_XDP_TX, want, n);
    expect_packet(&ex, "macswap_ethernet_only_frame", in, 14, XDPVM_XDP_TX, want, 14);
    expect_packet(&ex, "macswap_runt_drops", in, 13, XDPVM_XDP_DROP, in, 13);
    example_close(&ex);
}

/* ---- vlan ---- */

struct vlan_rule {
    uint16_t new_vid, reserved;
};

static void test_vlan(void)
{
    struct example ex;
    if (!example_open(&ex, "vlan", "vlan_open"))
        return;
    uint8_t in[2048], want[2048];
    struct pkt_flow f = flow_v4(PKT_TCP, (uint8_t[]){198, 51, 100, 1}, 64);
    f.vlan = 0xa000 | 100; /* PCP 5, VID 100 */
    size_t n = pkt_build_v4(in, &f);
    expect_packet(&ex, "vlan_no_rule_passes", in, n, XDPVM_XDP_PASS, in, n);

    uint16_t vid = 100, pop_vid = 200, untagged = 0;
    struct vlan_rule rewrite = {.new_vid = 300}, pop = {.new_vid = 0}, push = {.new_vid = 42};
    if (!map_put(&ex, "vlan_rules", &vid, &rewrite, "vlan_setup") ||
        !map_put(&ex, "vlan_rules", &pop_vid, &pop, "vlan_setup")) {
        example_close(&ex);
        return;
    }
    /* Rewrite: VID 100 -> 300, PCP kept. The expected frame is built with the new tag. */
    struct pkt_flow g = f;
    g.vlan = 0xa000 | 300;
    size_t wn = pkt_build_v4(want, &g);
    expect_packet(&ex, "vlan_rewrites_vid_keeps_pcp", in, n, XDPVM_XDP_TX, want, wn);

    /* Pop: VID 200 -> untagged frame. */
    f.vlan = 200;
    n = pkt_build_v4(in, &f);
    g = f;
    g.vlan = 0;
    wn = pkt_build_v4(want, &g);
    expect_packet(&ex, "vlan_pops_tag", in, n, XDPVM_XDP_TX, want, wn);

    /* Untagged without a rule at key 0: pass; with one: push VID 42 (PCP 0). */
    f.vlan = 0;
    n = pkt_build_v4(in, &f);
    expect_packet(&ex, "vlan_untagged_without_rule_passes", in, n, XDPVM_XDP_PASS, in, n);
    if (map_put(&ex, "vlan_rules", &untagged, &push, "vlan_setup_push")) {
        g = f;
        g.vlan = 42;
        wn = pkt_build_v4(want, &g);
        expect_packet(&ex, "vlan_pushes_tag", in, n, XDPVM_XDP_TX, want, wn);
    }
    /* Truncated tag: drop. */
    f.vlan = 100;
    n = pkt_build_v4(in, &f);
    expect_packet(&ex, "vlan_truncated_tag_drops", in, 16, XDPVM_XDP_DROP, in, 16);
    expect_packet(&ex, "vlan_runt_drops", in, 12, XDPVM_XDP_DROP, in, 12);
    example_close(&ex);
}

/* ---- firewall ---- */

struct lpm_v4_key {
    uint32_t prefixlen;
    uint8_t addr[4];
};
struct port_key {
    uint8_t protocol, pad;
    uint16_t port; /* host order */
};

static void test_firewall(void)
{
    struct example ex;
    if (!example_open(&ex, "firewall", "firewall_open"))
        return;
    struct lpm_v4_key net = {.prefixlen = 24, .addr = {192, 0, 2, 0}};
    struct lpm_v4_key host = {.prefixlen = 32, .addr = {203, 0, 113, 77}};
    struct port_key telnet = {.protocol = PKT_TCP, .port = 23}, dns = {.protocol = PKT_UDP, .port = 53};
    uint32_t rule_net = 1, rule_host = 2, rule_telnet = 3, rule_dns = 4;
    if (!map_put(&ex, "blocked_sources", &net, &rule_net, "firewall_setup") ||
        !map_put(&ex, "blocked_sources", &host, &rule_host, "firewall_setup") ||
        !map_put(&ex, "blocked_ports", &telnet, &rule_telnet, "firewall_setup") ||
        !map_put(&ex, "blocked_ports", &dns, &rule_dns, "firewall_setup")) {
        example_close(&ex);
        return;
    }
    uint8_t in[2048];
    struct pkt_flow f = flow_v4(PKT_TCP, (uint8_t[]){198, 51, 100, 1}, 64);
    size_t n = pkt_build_v4(in, &f); /* from 192.0.2.10: inside the /24 */
    expect_packet(&ex, "firewall_drops_blocked_prefix", in, n, XDPVM_XDP_DROP, in, n);
    memcpy(f.src, (uint8_t[]){192, 0, 3, 10}, 4);
    n = pkt_build_v4(in, &f);
    expect_packet(&ex, "firewall_passes_outside_prefix", in, n, XDPVM_XDP_PASS, in, n);
    memcpy(f.src, (uint8_t[]){203, 0, 113, 77}, 4);
    n = pkt_build_v4(in, &f);
    expect_packet(&ex, "firewall_drops_blocked_host", in, n, XDPVM_XDP_DROP, in, n);
    memcpy(f.src, (uint8_t[]){203, 0, 113, 78}, 4);
    f.dport = 23;
    n = pkt_build_v4(in, &f);
    expect_packet(&ex, "firewall_drops_tcp_port", in, n, XDPVM_XDP_DROP, in, n);
    f.proto = PKT_UDP;
    n = pkt_build_v4(in, &f);
    expect_packet(&ex, "firewall_passes_udp_on_tcp_rule_port", in, n, XDPVM_XDP_PASS, in, n);
    f.dport = 53;
    n = pkt_build_v4(in, &f);
    expect_packet(&ex, "firewall_drops_udp_port", in, n, XDPVM_XDP_DROP, in, n);
    f.vlan = 7;
    n = pkt_build_v4(in, &f);
    expect_packet(&ex, "firewall_drops_udp_port_vlan_tagged", in, n, XDPVM_XDP_DROP, in, n);
    f.vlan = 0;
    n = pkt_build_v4(in, &f);
    in[14 + 6] = 0x00;
    in[14 + 7] = 0x10; /* a later fragment: no ports to check */
    pkt_fix_ipv4_checksum(in + 14);
    expect_packet(&ex, "firewall_passes_later_fragment", in, n, XDPVM_XDP_PASS, in, n);
    expect_packet(&ex, "firewall_drops_truncated_ipv4", in, 24, XDPVM_XDP_DROP, in, 24);

    uint64_t hits[5] = {0};
    for (uint32_t r = 1; r <= 4; r++)
        map_get(&ex, "rule_hits", &r, &hits[r]);
    t_check(hits[1] == 1 && hits[2] == 1 && hits[3] == 1 && hits[4] == 2, "firewall_rule_hits",
               "hits per rule 1..4: %llu %llu %llu %llu, want 1 1 1 2",
               (unsigned long long)hits[1], (unsigned long long)hits[2],
               (unsigned long long)hits[3], (unsigned long long)hits[4]);
    example_close(&ex);
}

/* ---- lb ---- */

struct lb_config {
    uint8_t vip4[4];
    uint8_t vip6[16];
    uint16_t port;
    uint16_t reserved;
    uint32_t backend_count;
};
struct backend {
    uint8_t mac[6];
    uint16_t reserved;
    uint8_t ip4[4];
    uint8_t ip6[16];
};

static void test_lb(void)
{
    struct example ex;
    if (!example_open(&ex, "lb", "lb_open"))
        return;
    struct lb_config cfg = {.vip4 = {10, 0, 0, 100}, .backend_count = 1};
    memcpy(cfg.vip6, (uint8_t[]){0xfd, 0, [14] = 1, [15] = 0}, 16);
    struct backend b0 = {.mac = {0x0e, 0, 0, 0, 0, 0x10}, .ip4 = {10, 1, 0, 10}};
    memcpy(b0.ip6, (uint8_t[]){0xfd, 0, 0, 1, [15] = 0x10}, 16);
    struct backend b1 = {.mac = {0x0e, 0, 0, 0, 0, 0x11}, .ip4 = {10, 1, 0, 11}};
    memcpy(b1.ip6, (uint8_t[]){0xfd, 0, 0, 1, [15] = 0x11}, 16);
    uint32_t k0 = 0, k1 = 1;
    if (!map_put(&ex, "lb_config", &k0, &cfg, "lb_setup") ||
        !map_put(&ex, "backends", &k0, &b0, "lb_setup") ||
        !map_put(&ex, "backends", &k1, &b1, "lb_setup")) {
        example_close(&ex);
        return;
    }
    uint8_t in[2048], want[2048];
    static const uint8_t protos[] = {PKT_TCP, PKT_UDP};
    for (int v6 = 0; v6 < 2; v6++) {
        for (int p = 0; p < 2; p++) {
            struct pkt_flow f = flow_v4(protos[p], cfg.vip4, 64);
            if (v6) {
                memcpy(f.src, (uint8_t[]){0x20, 0x01, 0x0d, 0xb8, [15] = 5}, 16);
                memcpy(f.dst, cfg.vip6, 16);
            }
            size_t n = v6 ? pkt_build_v6(in, &f) : pkt_build_v4(in, &f);
            /* Expected: destination MAC = backend, source MAC = the old destination, destination
             * address = backend, every checksum from scratch. */
            struct pkt_flow g = f;
            memcpy(g.smac, f.dmac, 6);
            memcpy(g.dmac, b0.mac, 6);
            memcpy(g.dst, v6 ? b0.ip6 : b0.ip4, v6 ? 16 : 4);
            size_t wn = v6 ? pkt_build_v6(want, &g) : pkt_build_v4(want, &g);
            char name[64];
            snprintf(name, sizeof(name), "lb_%s_%s_to_backend", v6 ? "ipv6" : "ipv4",
                     protos[p] == PKT_TCP ? "tcp" : "udp");
            expect_packet(&ex, name, in, n, XDPVM_XDP_TX, want, wn);
        }
    }
    struct pkt_flow f = flow_v4(PKT_TCP, (uint8_t[]){10, 0, 0, 101}, 64);
    size_t n = pkt_build_v4(in, &f);
    expect_packet(&ex, "lb_other_destination_passes", in, n, XDPVM_XDP_PASS, in, n);
    f = flow_v4(PKT_ICMP, cfg.vip4, 64);
    n = pkt_build_v4(in, &f);
    expect_packet(&ex, "lb_icmp_to_vip_passes", in, n, XDPVM_XDP_PASS, in, n);
    f = flow_v4(PKT_TCP, cfg.vip4, 64);
    n = pkt_build_v4(in, &f);
    expect_packet(&ex, "lb_truncated_ports_drop", in, 14 + 20 + 2, XDPVM_XDP_DROP, in, 14 + 20 + 2);
    expect_packet(&ex, "lb_runt_drops", in, 13, XDPVM_XDP_DROP, in, 13);

    /* Two backends: each flow always reaches the same one, whose bytes match exactly, and both
     * are used by some flow. */
    cfg.backend_count = 2;
    if (!map_put(&ex, "lb_config", &k0, &cfg, "lb_setup_two")) {
        example_close(&ex);
        return;
    }
    bool used[2] = {false, false}, ok = true;
    for (uint16_t sport = 1000; sport < 1040 && ok; sport++) {
        f = flow_v4(PKT_UDP, cfg.vip4, 64);
        f.sport = sport;
        n = pkt_build_v4(in, &f);
        struct xdpvm_xdp_result r1, r2;
        uint8_t first[2048];
        xdpvm_xdp_run_packet(ex.runner, in, n, &r1);
        memcpy(first, r1.data, r1.len);
        size_t first_len = r1.len;
        xdpvm_xdp_run_packet(ex.runner, in, n, &r2);
        int which = r1.len >= 6 && r1.data[5] == 0x11;
        struct pkt_flow g = f;
        memcpy(g.smac, f.dmac, 6);
        memcpy(g.dmac, which ? b1.mac : b0.mac, 6);
        memcpy(g.dst, which ? b1.ip4 : b0.ip4, 4);
        size_t wn = pkt_build_v4(want, &g);
        if (r1.ret != XDPVM_XDP_TX || pkt_diff(first, first_len, want, wn) >= 0 ||
            pkt_diff(r2.data, r2.len, first, first_len) >= 0) {
            t_fail("lb_flows_stick_to_one_backend", "sport %u: action %u, bytes differ from "
                      "backend %d's expected packet or between two runs", sport, r1.ret, which);
            ok = false;
        }
        used[which] = true;
    }
    if (ok)
        t_check(used[0] && used[1], "lb_flows_stick_to_one_backend",
                   "40 flows all went to backend %d", used[1]);
    example_close(&ex);
}

/* ---- counter ---- */

enum { C_ARP, C_V4_TCP, C_V4_UDP, C_V4_ICMP, C_V4_OTHER, C_V6_TCP, C_V6_UDP, C_V6_ICMP,
       C_V6_OTHER, C_OTHER, C_MALFORMED, C_VLAN, C_COUNT };
struct counters {
    uint64_t packets, bytes;
};

/* Reference classification of a frame, written from the example's header comment. */
static void counter_model(const uint8_t *p, size_t len, struct counters *c)
{
    size_t off = 12;
    uint16_t type = len >= 14 ? pkt_get16(p + 12) : 0;
    bool tagged = type == 0x8100 || type == 0x88a8;
    for (int i = 0; i < 2 && (type == 0x8100 || type == 0x88a8); i++) {
        off += 4;
        type = len >= off + 2 ? pkt_get16(p + off) : 0;
    }
    off += 2;
    if (len < 14 || !type) {
        c[C_MALFORMED].packets++;
        c[C_MALFORMED].bytes += len;
        return;
    }
    if (tagged) {
        c[C_VLAN].packets++;
        c[C_VLAN].bytes += len;
    }
    int cls = C_OTHER;
    if (type == 0x0806) {
        cls = C_ARP;
    } else if (type == 0x0800) {
        if (len < off + 20 || (p[off] >> 4) != 4 || (p[off] & 15) < 5)
            cls = C_MALFORMED;
        else
            cls = p[off + 9] == 6 ? C_V4_TCP : p[off + 9] == 17 ? C_V4_UDP
                : p[off + 9] == 1 || p[off + 9] == 58 ? C_V4_ICMP : C_V4_OTHER;
    } else if (type == 0x86dd) {
        if (len < off + 40 || (p[off] >> 4) != 6)
            cls = C_MALFORMED;
        else
            cls = p[off + 6] == 6 ? C_V6_TCP : p[off + 6] == 17 ? C_V6_UDP
                : p[off + 6] == 1 || p[off + 6] == 58 ? C_V6_ICMP : C_V6_OTHER;
    }
    c[cls].packets++;
    c[cls].bytes += len;
}

/* ---- the bundled capture ---- */

/* Every example over build/data/mixed.pcap; router, macswap and counter checked packet by
 * packet against reference models, the others for running without errors and for the
 * outcomes their comments promise. */
static void test_bundled_pcap(void)
{
    char path[1024], err[512];
    snprintf(path, sizeof(path), "%s/build/data/mixed.pcap", test_root_dir());
    static const char *const names[] = {"router", "macswap", "vlan", "firewall", "lb", "counter"};
    for (size_t e = 0; e < sizeof(names) / sizeof(names[0]); e++) {
        char test[64];
        snprintf(test, sizeof(test), "%s_bundled_pcap", names[e]);
        struct example ex;
        if (!example_open(&ex, names[e], test))
            continue;
        /* Configuration: router default route (TX), vlan rewrite 100 -> 101, firewall a /24. */
        struct next_hop hop;
        memcpy(hop.dmac, HOP_DMAC, 6);
        memcpy(hop.smac, HOP_SMAC, 6);
        hop.ifindex = 0;
        uint32_t zero = 0;
        uint16_t vid = 100;
        struct vlan_rule rule = {.new_vid = 101};
        struct lpm_v4_key net = {.prefixlen = 24, .addr = {192, 0, 2, 0}};
        struct lb_config cfg = {.vip4 = {10, 0, 0, 100}, .backend_count = 1};
        memcpy(cfg.vip6, (uint8_t[]){0xfd, 0, [14] = 1, [15] = 0}, 16);
        struct backend b0 = {.mac = {0x0e, 0, 0, 0, 0, 0x10}, .ip4 = {10, 1, 0, 10}};
        bool setup = true;
        if (!strcmp(names[e], "router"))
            setup = map_put(&ex, "next_hops", &zero, &hop, test);
        else if (!strcmp(names[e], "vlan"))
            setup = map_put(&ex, "vlan_rules", &vid, &rule, test);
        else if (!strcmp(names[e], "firewall"))
            setup = map_put(&ex, "blocked_sources", &net, &zero, test);
        else if (!strcmp(names[e], "lb"))
            setup = map_put(&ex, "lb_config", &zero, &cfg, test) &&
                    map_put(&ex, "backends", &zero, &b0, test);
        struct xdpvm_pcap_reader *reader = setup ? xdpvm_pcap_open(path, err, sizeof(err)) : NULL;
        if (!reader) {
            if (setup)
                t_fail(test, "%s", err);
            example_close(&ex);
            continue;
        }
        struct counters model[C_COUNT];
        memset(model, 0, sizeof(model));
        struct xdpvm_packet pkt;
        int got;
        bool ok = true;
        uint64_t packets = 0;
        while (ok && (got = xdpvm_pcap_next(reader, &pkt, err, sizeof(err))) == 1) {
            packets++;
            struct xdpvm_xdp_result r;
            xdpvm_xdp_run_packet(ex.runner, pkt.data, pkt.caplen, &r);
            const uint8_t *p = pkt.data;
            size_t len = pkt.caplen;
            uint8_t want[4096];
            size_t want_len = len;
            uint32_t want_action = XDPVM_XDP_PASS;
            bool check_bytes = true;
            memcpy(want, p, len);
            if (r.error && r.outcome == XDPVM_XDP_OUT_ABORTED) {
                t_fail(test, "packet %llu: %s", (unsigned long long)pkt.index + 1, r.message);
                ok = false;
                break;
            }
            if (!strcmp(names[e], "router")) {
                bool v4 = len >= 14 + 20 && pkt_get16(p + 12) == 0x0800;
                if (v4 && ((p[14] >> 4) != 4 || (p[14] & 15) < 5 || p[14 + 8] <= 1))
                    want_action = XDPVM_XDP_DROP;
                else if (v4) {
                    want_action = XDPVM_XDP_TX;
                    router_expected(want, p, len);
                }
            } else if (!strcmp(names[e], "macswap")) {
                want_action = len < 14 ? XDPVM_XDP_DROP : XDPVM_XDP_TX;
                if (len >= 14) {
                    memcpy(want, p + 6, 6);
                    memcpy(want + 6, p, 6);
                }
            } else if (!strcmp(names[e], "counter")) {
                counter_model(p, len, model);
            } else {
                check_bytes = false; /* invariants only: no run errors, known actions */
                want_action = r.ret <= XDPVM_XDP_TX ? r.ret : 99;
            }
            if (r.ret != want_action ||
                (check_bytes && pkt_diff(r.data, r.len, want, want_len) >= 0)) {
                t_fail(test, "packet %llu (%u bytes): action %u want %u, bytes %s",
                          (unsigned long long)pkt.index + 1, pkt.caplen, r.ret, want_action,
                          pkt_diff(r.data, r.len, want, want_len) >= 0 ? "differ" : "equal");
                ok = false;
            }
        }
        if (ok && got < 0) {
            t_fail(test, "%s", err);
            ok = false;
        }
        if (ok && !strcmp(names[e], "counter")) {
            for (uint32_t c = 0; c < C_COUNT && ok; c++) {
                struct counters in_map = {0, 0};
                map_get(&ex, "proto_stats", &c, &in_map);
                if (in_map.packets != model[c].packets || in_map.bytes != model[c].bytes) {
                    t_fail(test, "class %u: %llu packets %llu bytes, model says %llu %llu", c,
                              (unsigned long long)in_map.packets, (unsigned long long)in_map.bytes,
                              (unsigned long long)model[c].packets, (unsigned long long)model[c].bytes);
                    ok = false;
                }
            }
        }
        if (ok)
            t_check(packets == 240, test, "read %llu packets, the capture has 240",
                       (unsigned long long)packets);
        xdpvm_pcap_close(reader);
        example_close(&ex);
    }
}

int main(void)
{
    test_router();
    test_macswap();
    test_vlan();
    test_firewall();
    test_lb();
    test_bundled_pcap();
    if (!xdpvm_jit_available()) {
        test_skip("examples_jit", "the JIT targets x86-64, not this host");
        return test_exit_code();
    }
    jit_pass = true;
    test_router();
    test_macswap();
    test_vlan();
    test_firewall();
    test_lb();
    test_bundled_pcap();
    return test_exit_code();
}
