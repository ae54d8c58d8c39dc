/* The Linux kernel as an oracle for differential tests: load the same object file through
 * libbpf, run programs with BPF_PROG_TEST_RUN, read and write maps, and get the kernel
 * verifier's verdict and log. Needs root (CAP_BPF) and a working bpf syscall: check with
 * xdpvm_kernel_available() and SKIP otherwise.
 *
 * Sits above xdp in the layering; the engine never depends on it. Every function returning
 * int returns 0 or a negative errno, with a sentence in xdpvm_kernel_error(). */
#ifndef XDPVM_KERNEL_H
#define XDPVM_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xdp/xdp.h" /* struct xdpvm_xdp_packet_ref */

struct xdpvm_kernel_object;

/* Whether the kernel can load BPF programs here. When not, why says so (for SKIP lines). */
bool xdpvm_kernel_available(char *why, size_t why_size);

/* The last error of this thread ("prog 'f': verifier rejected it: ..."). */
const char *xdpvm_kernel_error(void);

/* Open an object with libbpf (bpf_object__open_file); nothing is loaded yet. NULL on error. */
struct xdpvm_kernel_object *xdpvm_kernel_open(const char *path);
/* Global data before load: the writable initial image of a map (".rodata", "obj.rodata"),
 * like skeleton rodata. NULL when the map has none. */
void *xdpvm_kernel_initial_value(struct xdpvm_kernel_object *obj, const char *map_name, size_t *size);
/* Load every program and create every map (bpf_object__load). On a verifier rejection the
 * error names the program and ends with the verifier's log. */
int xdpvm_kernel_load(struct xdpvm_kernel_object *obj);
void xdpvm_kernel_close(struct xdpvm_kernel_object *obj); /* NULL is fine */

/* BPF_PROG_TEST_RUN of a loaded program (bpf_prog_test_run_opts). */
struct xdpvm_kernel_test_run {
    const void *data_in;     /* packet (XDP: at least 14 bytes) */
    uint32_t data_size_in;
    void *data_out;          /* may be NULL */
    uint32_t data_size_out;  /* in: capacity of data_out; out: bytes of the resulting packet */
    const void *ctx_in;      /* e.g. struct xdp_md; may be NULL */
    uint32_t ctx_size_in;
    void *ctx_out;
    uint32_t ctx_size_out;   /* in: capacity; out: bytes */
    uint32_t repeat;         /* 0 or 1: once */
    uint32_t flags;          /* BPF_F_TEST_* */
    uint32_t retval;         /* out: the program's return value */
    uint32_t duration;       /* out: average ns per run */
};
int xdpvm_kernel_test_run(struct xdpvm_kernel_object *obj, const char *prog_name, struct xdpvm_kernel_test_run *run);

/* Time a loaded program over packets held in memory: each packet runs once through
 * BPF_PROG_TEST_RUN (warm-up; its return code is counted in actions, by enum xdp_action,
 * index 5 for codes outside it), then once more with `repeat` runs (the kernel repeats on the
 * buffer the previous run left, it does not restore the packet). ns_per_run is the kernel's
 * own average per run of the repeated calls, weighted over the packets. Each call with repeat > 1 also waits for the kernel to switch its XDP
 * dispatcher (tens of milliseconds here), so the wall time grows with the packet count, not
 * with repeat. Packets must have at least 14 bytes. On failure the error names the packet. */
struct xdpvm_kernel_timing {
    uint64_t runs;
    double ns_per_run;
    uint64_t actions[6];
};
int xdpvm_kernel_time_packets(struct xdpvm_kernel_object *obj, const char *prog_name,
                              const struct xdpvm_xdp_packet_ref *packets, size_t count,
                              uint32_t repeat, struct xdpvm_kernel_timing *timing);

/* Maps by name (as libbpf names them: "counters", "obj.bss", or ".bss"). Values of per-CPU
 * maps hold one slot per possible CPU, each rounded up to 8 bytes, like libbpf. */
unsigned xdpvm_kernel_possible_cpus(void);
/* Map types (BPF_MAP_TYPE_*) whose values hold one slot per possible CPU. */
bool xdpvm_kernel_map_is_percpu(uint32_t type);
struct xdpvm_kernel_map_info {
    uint32_t type, key_size, value_size, max_entries, map_flags;
    size_t user_value_size; /* bytes a lookup fills: value_size, or per CPU as above */
};
int xdpvm_kernel_map_info(struct xdpvm_kernel_object *obj, const char *map_name, struct xdpvm_kernel_map_info *info);
int xdpvm_kernel_map_lookup(struct xdpvm_kernel_object *obj, const char *map_name, const void *key, void *value);
int xdpvm_kernel_map_update(struct xdpvm_kernel_object *obj, const char *map_name, const void *key,
                            const void *value, uint64_t flags);
int xdpvm_kernel_map_delete(struct xdpvm_kernel_object *obj, const char *map_name, const void *key);
/* key NULL: the first key. -ENOENT after the last. */
int xdpvm_kernel_map_get_next_key(struct xdpvm_kernel_object *obj, const char *map_name, const void *key,
                                  void *next_key);
/* File descriptors for what this header does not cover (e.g. prog_array slots). */
int xdpvm_kernel_map_fd(struct xdpvm_kernel_object *obj, const char *map_name);
int xdpvm_kernel_prog_fd(struct xdpvm_kernel_object *obj, const char *prog_name);

/* The verifier's verdict on one program of an object file: loads just that program (the
 * others are not loaded; maps are created) with the given log level (1: the usual log,
 * 2: every state). Returns 0 when accepted, the negative errno of the rejection otherwise
 * (-EACCES, -EINVAL, ...), or another negative errno when it could not ask. The log (NUL-
 * terminated, the end kept when it does not fit) goes to log. */
int xdpvm_kernel_verify(const char *path, const char *prog_name, unsigned log_level, char *log, size_t log_size);

#endif
