/* xdpvm gen --dev IF --in P.pcap [--rate PPS] [--count N | --duration S]
 *           [--mode auto|afxdp|afpacket] [--queue Q] [--json]
 *
 * A traffic generator: sends the packets of a capture in a loop out of an interface, as fast as
 * possible or paced at PPS, through AF_XDP TX (falling back to AF_PACKET), and prints packets/s.
 * The live tests and `make bench-live` use it as their source. */
#include "commands.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "io/io.h"
#include "io/port.h"

struct gen_packet {
    uint8_t *data;
    uint32_t len;
};

static volatile sig_atomic_t gen_stop;
static void on_signal(int sig) { (void)sig; gen_stop = 1; }

static void sleep_until(double when)
{
    struct timespec ts = {.tv_sec = (time_t)when,
                          .tv_nsec = (long)((when - (double)(time_t)when) * 1e9)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Every packet of the capture, in memory. Packets too big for a frame are skipped (counted). */
static int load_pcap(const char *path, struct gen_packet **out, size_t *count, size_t *skipped)
{
    char err[512];
    struct xdpvm_pcap_reader *reader = xdpvm_pcap_open(path, err, sizeof(err));
    if (!reader) {
        cli_error("gen: %s", err);
        return -1;
    }
    struct gen_packet *packets = NULL;
    size_t n = 0, cap = 0;
    *skipped = 0;
    struct xdpvm_packet pkt;
    int rc;
    while ((rc = xdpvm_pcap_next(reader, &pkt, err, sizeof(err))) == 1) {
        if (pkt.caplen < 14 || pkt.caplen > XDPVM_PORT_FRAME_SIZE - XDPVM_PORT_HEADROOM) {
            (*skipped)++;
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct gen_packet *grown = realloc(packets, cap * sizeof(*packets));
            if (!grown)
                goto oom;
            packets = grown;
        }
        packets[n].data = malloc(pkt.caplen);
        if (!packets[n].data)
            goto oom;
        memcpy(packets[n].data, pkt.data, pkt.caplen);
        packets[n].len = pkt.caplen;
        n++;
    }
    if (rc < 0)
        fprintf(stderr, "xdpvm gen: warning: %s; sending the %zu packets read\n", err, n);
    xdpvm_pcap_close(reader);
    if (!n) {
        cli_error("gen: '%s' has no packet that fits a frame (14..%u bytes)", path,
                  XDPVM_PORT_FRAME_SIZE - XDPVM_PORT_HEADROOM);
        free(packets);
        return -1;
    }
    *out = packets;
    *count = n;
    return 0;
oom:
    cli_error("gen: out of memory reading '%s'", path);
    for (size_t i = 0; i < n; i++)
        free(packets[i].data);
    free(packets);
    xdpvm_pcap_close(reader);
    return -1;
}

static int parse_u64(const char *opt, const char *text, uint64_t *value)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno || end == text || *end || text[0] == '-') {
        cli_error("%s expects a non-negative integer, got '%s'", opt, text);
        return -1;
    }
    *value = v;
    return 0;
}

int cmd_gen(int argc, char **argv)
{
    const char *dev = NULL, *in = NULL;
    uint64_t rate = 0, count = 0, queue = 0;
    double duration = 0;
    enum xdpvm_port_mode mode = XDPVM_PORT_AUTO;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) { json = true; continue; }
        if (!v) {
            cli_error("gen: %s needs a value", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--dev")) dev = v;
        else if (!strcmp(a, "--in")) in = v;
        else if (!strcmp(a, "--rate")) { if (parse_u64(a, v, &rate)) return 2; }
        else if (!strcmp(a, "--count")) { if (parse_u64(a, v, &count)) return 2; }
        else if (!strcmp(a, "--queue")) { if (parse_u64(a, v, &queue)) return 2; }
        else if (!strcmp(a, "--duration")) {
            char *end;
            duration = strtod(v, &end);
            if (end == v || *end || !(duration > 0)) {
                cli_error("--duration expects seconds > 0, got '%s'", v);
                return 2;
            }
        } else if (!strcmp(a, "--mode")) {
            if (xdpvm_port_mode_parse(v, &mode)) {
                cli_error("--mode expects auto, afxdp or afpacket, got '%s'", v);
                return 2;
            }
        } else {
            cli_error("gen: unknown option '%s'", a);
            return 2;
        }
    }
    if (!dev || !in) {
        cli_error("usage: xdpvm gen --dev IF --in P.pcap [--rate PPS] [--count N | --duration S] "
                  "[--mode auto|afxdp|afpacket] [--queue Q] [--json]");
        return 2;
    }
    if (count && duration) {
        cli_error("gen: give --count or --duration, not both");
        return 2;
    }

    struct gen_packet *packets;
    size_t npackets, skipped;
    if (load_pcap(in, &packets, &npackets, &skipped) < 0)
        return 1;
    if (skipped)
        fprintf(stderr, "xdpvm gen: skipping %zu packets shorter than 14 or longer than %u bytes\n",
                skipped, XDPVM_PORT_FRAME_SIZE - XDPVM_PORT_HEADROOM);

    int status = 1;
    char err[512], note[512];
    struct xdpvm_frame_pool pool;
    struct xdpvm_port *port = NULL;
    if (xdpvm_frame_pool_init(&pool, 4096, err, sizeof(err)) < 0) {
        cli_error("gen: %s", err);
        goto out_packets;
    }
    live_quiet_libraries();
    struct xdpvm_port_opts opts = {
        .ifname = dev, .queue = (uint32_t)queue, .mode = mode, .rx = false, .tx = true,
        .ring_size = 2048,
    };
    port = xdpvm_port_open(&opts, &pool, note, sizeof(note), err, sizeof(err));
    if (!port) {
        cli_error("gen: %s", err);
        goto out_pool;
    }
    if (note[0])
        fprintf(stderr, "xdpvm gen: %s\n", note);

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    double start = cli_now_seconds(), last_report = start;
    uint64_t queued = 0, last_sent = 0;
    size_t next = 0;
    bool tty = isatty(2) && !json;
    while (!gen_stop) {
        double now = cli_now_seconds();
        if (duration && now - start >= duration)
            break;
        if (count && queued >= count)
            break;
        uint64_t burst = XDPVM_PORT_BATCH;
        if (rate) {
            uint64_t due = (uint64_t)((now - start) * (double)rate) + 1;
            if (due <= queued) {
                sleep_until(start + (double)queued / (double)rate);
                continue;
            }
            if (due - queued < burst)
                burst = due - queued;
        }
        if (count && count - queued < burst)
            burst = count - queued;
        for (uint64_t i = 0; i < burst; i++) {
            uint64_t frame = xdpvm_frame_pool_get(&pool);
            if (frame == UINT64_MAX) {
                xdpvm_port_flush(port);
                frame = xdpvm_frame_pool_get(&pool);
                if (frame == UINT64_MAX) {
                    struct pollfd pfd = {.fd = xdpvm_port_fd(port), .events = POLLOUT};
                    (void)poll(&pfd, 1, 1);
                    break;
                }
            }
            uint64_t addr = frame + XDPVM_PORT_HEADROOM;
            memcpy(pool.base + addr, packets[next].data, packets[next].len);
            xdpvm_port_tx(port, addr, packets[next].len);
            next = next + 1 == npackets ? 0 : next + 1;
            queued++;
        }
        xdpvm_port_flush(port);
        if (tty && now - last_report >= 1.0) {
            uint64_t sent = xdpvm_port_stats(port)->tx_packets;
            fprintf(stderr, "\rxdpvm gen: %s: %" PRIu64 " packets, %.0f pps   ", dev, sent,
                    (double)(sent - last_sent) / (now - last_report));
            last_report = now;
            last_sent = sent;
        }
    }
    /* Wait (briefly) until the kernel has taken every frame. */
    for (double until = cli_now_seconds() + 1.0; xdpvm_port_tx_in_flight(port) && cli_now_seconds() < until;) {
        xdpvm_port_flush(port);
        struct pollfd pfd = {.fd = xdpvm_port_fd(port), .events = POLLOUT};
        (void)poll(&pfd, 1, 1);
    }
    double elapsed = cli_now_seconds() - start;
    if (tty)
        fputc('\n', stderr);
    const struct xdpvm_port_stats *st = xdpvm_port_stats(port);
    double pps = elapsed > 0 ? (double)st->tx_packets / elapsed : 0;
    double mbps = elapsed > 0 ? (double)st->tx_bytes * 8 / elapsed / 1e6 : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    if (json)
        printf("{\"dev\":\"%s\",\"mode\":\"%s\",\"queue\":%" PRIu64 ",\"packets\":%" PRIu64
               ",\"bytes\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"in_flight\":%" PRIu64
               ",\"seconds\":%.6f,\"pps\":%.0f,\"mbps\":%.1f,\"cpu_seconds\":%.3f}\n",
               dev, xdpvm_port_mode_name(xdpvm_port_mode(port)), queue, st->tx_packets,
               st->tx_bytes, st->tx_ring_full, xdpvm_port_tx_in_flight(port), elapsed, pps, mbps, cpu);
    else
        printf("%s (%s): sent %" PRIu64 " packets (%" PRIu64 " bytes) in %.3f s: %.0f pps, "
               "%.1f Mbit/s%s\n",
               dev, xdpvm_port_mode_name(xdpvm_port_mode(port)), st->tx_packets, st->tx_bytes,
               elapsed, pps, mbps, st->tx_ring_full ? " (some dropped: TX ring full)" : "");
    if (st->tx_ring_full && !json)
        printf("dropped before sending: %" PRIu64 "\n", st->tx_ring_full);
    status = 0;
    xdpvm_port_close(port);
out_pool:
    xdpvm_frame_pool_destroy(&pool);
out_packets:
    for (size_t i = 0; i < npackets; i++)
        free(packets[i].data);
    free(packets);
    return status;
}
