/* The XDP packet path: frames shaped like the kernel's xdp_buff, one program run per packet,
 * the action's outcome and per-outcome counters.
 *
 * A frame is one page (4096 bytes): 256 bytes of headroom (XDP_PACKET_HEADROOM), the packet,
 * and a 320-byte tailroom reserve at the end that bpf_xdp_adjust_tail may not use (the
 * kernel keeps struct skb_shared_info there). So a packet may be at most 3520 bytes, the same
 * limit as the kernel's BPF_PROG_TEST_RUN without fragments.
 *
 * Frames live in the low 4 GiB of the address space because struct xdpvm_xdp_md (runtime.h)
 * holds the packet's real addresses in 32-bit fields, as the program reads them.
 *
 * A runner belongs to one worker thread (its cpu selects per-CPU map slots). It owns one
 * scratch frame for packets that are copied in (pcap), and can also run a frame in place
 * (live ports, whose frames come from xdpvm_xdp_low_alloc). */
#ifndef XDPVM_XDP_H
#define XDPVM_XDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "runtime/runtime.h"

#define XDPVM_XDP_FRAME_SIZE 4096u
#define XDPVM_XDP_HEADROOM 256u          /* XDP_PACKET_HEADROOM */
#define XDPVM_XDP_TAILROOM_RESERVE 320u  /* SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), x86-64 */
#define XDPVM_XDP_MAX_PACKET (XDPVM_XDP_FRAME_SIZE - XDPVM_XDP_HEADROOM - XDPVM_XDP_TAILROOM_RESERVE)

/* Return codes of an XDP program (enum xdp_action). */
enum { XDPVM_XDP_ABORTED = 0, XDPVM_XDP_DROP = 1, XDPVM_XDP_PASS = 2, XDPVM_XDP_TX = 3,
       XDPVM_XDP_REDIRECT = 4 };

/* What happened to a packet; each packet has exactly one outcome. The first five are the
 * program's actions, with the values of enum xdp_action. INVALID is a return code outside
 * enum xdp_action (the kernel warns with bpf_warn_invalid_xdp_action and drops it);
 * REDIRECT_ERROR is XDP_REDIRECT to a target that does not exist (the kernel drops it and
 * counts a redirect error). A run error in checked mode (bad access, budget exhausted) and a
 * packet too big for the frame are ABORTED with result.error set, also counted in
 * stats.errors. */
enum xdpvm_xdp_outcome {
    XDPVM_XDP_OUT_ABORTED,
    XDPVM_XDP_OUT_DROP,
    XDPVM_XDP_OUT_PASS,
    XDPVM_XDP_OUT_TX,
    XDPVM_XDP_OUT_REDIRECT,
    XDPVM_XDP_OUT_INVALID,
    XDPVM_XDP_OUT_REDIRECT_ERROR,
    XDPVM_XDP_OUT_COUNT
};

/* "aborted", "drop", "pass", "tx", "redirect", "invalid", "redirect_error". */
const char *xdpvm_xdp_outcome_name(enum xdpvm_xdp_outcome outcome);
/* "XDP_ABORTED" .. "XDP_REDIRECT"; NULL for a code outside enum xdp_action. */
const char *xdpvm_xdp_action_name(uint32_t action);

struct xdpvm_xdp_stats {
    uint64_t packets;
    uint64_t outcome[XDPVM_XDP_OUT_COUNT];
    uint64_t errors;          /* run errors and oversize packets (included in ABORTED) */
    uint64_t bytes_in, bytes_out; /* packet bytes before and after the program */
};
void xdpvm_xdp_stats_add(struct xdpvm_xdp_stats *sum, const struct xdpvm_xdp_stats *more);

struct xdpvm_xdp_result {
    enum xdpvm_xdp_outcome outcome;
    uint32_t ret;             /* the program's return code (low 32 bits of r0, as the kernel) */
    uint8_t *data;            /* the packet after the program, inside the frame */
    uint32_t len;
    uint32_t meta_len;        /* bytes of metadata before data (bpf_xdp_adjust_meta) */
    /* XDP_REDIRECT target: ifindex (0 for an XSKMAP or a broadcast), and the map and key when
     * redirected through a map (NULL for bpf_redirect). */
    uint32_t redirect_ifindex;
    const struct xdpvm_map *redirect_map;
    uint32_t redirect_key;
    uint64_t insns_executed;  /* checked mode only */
    int error;                /* negative errno for a run error or a redirect error, else 0 */
    char message[320];        /* what went wrong when error != 0 */
};

struct xdpvm_xdp_opts {
    unsigned cpu;               /* worker index: per-CPU map slot */
    uint32_t ingress_ifindex;   /* xdp_md.ingress_ifindex (the kernel's test run uses lo: 1) */
    uint32_t rx_queue_index;    /* xdp_md.rx_queue_index */
    FILE *trace;                /* bpf_trace_printk output; NULL = stderr */
    uint64_t insn_budget;       /* checked mode; 0 = XDPVM_DEFAULT_INSN_BUDGET */
    /* Whether an egress ifindex exists (live ports). NULL: every ifindex but 0 does. */
    bool (*ifindex_exists)(void *arg, uint32_t ifindex);
    void *ifindex_arg;
};

struct xdpvm_xdp_runner;

/* A runner for prog (not owned; it must outlive the runner). Returns NULL with a sentence in
 * err when the frame cannot be allocated. */
struct xdpvm_xdp_runner *xdpvm_xdp_runner_new(const struct xdpvm_prog *prog,
                                              const struct xdpvm_xdp_opts *opts, char *err,
                                              size_t err_size);
void xdpvm_xdp_runner_free(struct xdpvm_xdp_runner *runner);

/* Copy packet into the runner's frame at the headroom and run the program on it. The result's
 * data points into the runner's frame and stays valid until the next run. Returns the
 * outcome; never fails on bad programs or packets (see enum xdpvm_xdp_outcome). */
enum xdpvm_xdp_outcome xdpvm_xdp_run_packet(struct xdpvm_xdp_runner *runner, const void *packet,
                                            size_t len, struct xdpvm_xdp_result *result);

/* Run the program on a packet already in a frame (in place): frame must come from
 * xdpvm_xdp_low_alloc, frame_size bytes long with the packet at data_off. */
enum xdpvm_xdp_outcome xdpvm_xdp_run_frame(struct xdpvm_xdp_runner *runner, uint8_t *frame,
                                           uint32_t frame_size, uint32_t data_off, uint32_t len,
                                           struct xdpvm_xdp_result *result);

const struct xdpvm_xdp_stats *xdpvm_xdp_runner_stats(const struct xdpvm_xdp_runner *runner);
void xdpvm_xdp_runner_reset_stats(struct xdpvm_xdp_runner *runner);

/* Page-aligned memory below 4 GiB (frames, UMEMs), size rounded up to pages. NULL with errno
 * set when the low address space is exhausted. */
void *xdpvm_xdp_low_alloc(size_t size);
void xdpvm_xdp_low_free(void *mem, size_t size);

/* ---- Timing: a program over packets held in memory (`xdpvm bench`, `make bench`) ---- */

struct xdpvm_xdp_packet_ref {
    const uint8_t *data;
    uint32_t len;
};

struct xdpvm_xdp_timing {
    uint64_t runs;               /* timed program runs (the warm-up pass excluded) */
    double seconds;              /* wall time of the timed runs */
    double ns_per_packet;        /* seconds * 1e9 / runs; 0 when nothing ran */
    struct xdpvm_xdp_stats warmup; /* outcomes of the warm-up pass: one run per packet */
};

/* Run every packet once through runner (warm-up, its outcomes kept in timing->warmup), then
 * whole passes over all of them until at least min_runs runs and min_seconds of wall time.
 * Each run copies its packet into the frame first (xdpvm_xdp_run_packet), so a run always
 * starts from the original bytes and the copy is part of the time. The runner's stats are
 * reset first and then count every run. */
void xdpvm_xdp_time_packets(struct xdpvm_xdp_runner *runner,
                            const struct xdpvm_xdp_packet_ref *packets, size_t count,
                            uint64_t min_runs, double min_seconds, struct xdpvm_xdp_timing *timing);

#endif
