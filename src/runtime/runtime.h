/* The runtime contract between executors (interpreter, JIT), helpers, maps and the XDP layer.
 *
 * A loaded program (struct xdpvm_prog) is instructions plus the maps and helper table it
 * was linked against. One invocation of it is a struct xdpvm_run: the context pointer, the
 * worker (CPU) index for per-CPU maps, the memory regions the checked interpreter allows,
 * and the state helpers need (tail calls, callbacks, the XDP buffer, errors).
 *
 * Helper ABI: helpers are plain C functions taking BPF r1..r5 and the run as a sixth
 * argument, so the JIT calls them directly with arguments in place (System V: rdi, rsi,
 * rdx, rcx, r8, r9), as the kernel's x86 JIT does.
 */
#ifndef XDPVM_RUNTIME_H
#define XDPVM_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../isa/isa.h"

struct xdpvm_run;
struct xdpvm_prog;
struct xdpvm_map;

typedef uint64_t (*xdpvm_helper_fn)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                                    struct xdpvm_run *run);

/* Helper argument and return types for the verifier (kernel bpf_func_proto names). */
enum xdpvm_arg_type {
    XDPVM_ARG_DONTCARE = 0,           /* unused argument */
    XDPVM_ARG_ANYTHING,               /* any initialised scalar or pointer value */
    XDPVM_ARG_SCALAR,                 /* an initialised scalar */
    XDPVM_ARG_CONST_MAP_PTR,          /* a map handle (lddw of a map) */
    XDPVM_ARG_PTR_TO_MAP_KEY,         /* readable memory of map key_size bytes */
    XDPVM_ARG_PTR_TO_MAP_VALUE,       /* readable memory of map value_size bytes */
    XDPVM_ARG_PTR_TO_MEM,             /* readable memory; size in the next argument */
    XDPVM_ARG_PTR_TO_MEM_OR_NULL,     /* same, or NULL when the size is 0 */
    XDPVM_ARG_PTR_TO_UNINIT_MEM,      /* writable memory; size in the next argument */
    XDPVM_ARG_CONST_SIZE,             /* size of the previous memory argument, > 0 */
    XDPVM_ARG_CONST_SIZE_OR_ZERO,     /* size of the previous memory argument, >= 0 */
    XDPVM_ARG_PTR_TO_CTX,             /* the program's context (r1 at entry) */
    XDPVM_ARG_PTR_TO_FUNC,            /* a callback: lddw with src = BPF_PSEUDO_FUNC */
    XDPVM_ARG_PTR_TO_STACK_OR_NULL,   /* callback context: stack pointer or NULL */
    XDPVM_ARG_PTR_TO_ALLOC_MEM,       /* a ring buffer record from ringbuf_reserve */
    XDPVM_ARG_CONST_ALLOC_SIZE_OR_ZERO, /* ringbuf_reserve size, a known constant */
    XDPVM_ARG_PTR_TO_UNINIT_MAP_VALUE, /* writable memory of map value_size bytes (map_pop_elem) */
};
enum xdpvm_ret_type {
    XDPVM_RET_INTEGER = 0,
    XDPVM_RET_VOID,
    XDPVM_RET_PTR_TO_MAP_VALUE_OR_NULL,
    XDPVM_RET_PTR_TO_ALLOC_MEM_OR_NULL, /* size = the constant size argument */
};

struct xdpvm_helper {
    uint32_t id;            /* kernel helper number (enum bpf_func_id) */
    const char *name;       /* "map_lookup_elem" */
    xdpvm_helper_fn fn;
    enum xdpvm_ret_type ret;
    enum xdpvm_arg_type args[5];
    bool changes_packet;    /* invalidates packet pointers (adjust_head, ...) */
};

/* Whether a helper may be called with a map of this type (the kernel verifier's
 * check_map_func_compatibility: e.g. tail_call takes only a prog_array, a prog_array goes
 * only to tail_call). Helper ids and map types in linux/bpf.h numbering. */
bool xdpvm_helper_map_compatible(uint32_t helper_id, uint32_t map_type);

#define XDPVM_MAX_HELPER_ID 256
/* Helpers a program may call, by id. A program is linked against exactly one table. */
struct xdpvm_helper_table {
    const struct xdpvm_helper *by_id[XDPVM_MAX_HELPER_ID];
};

/* A memory region that the checked interpreter lets a program touch. */
struct xdpvm_region {
    uintptr_t start;
    size_t len;
    bool writable;
    const char *what; /* "stack", "packet", "context", map name: for error messages */
};

/* Kernel program types we know (enum bpf_prog_type numbering). */
enum xdpvm_prog_type {
    XDPVM_PROG_UNSPEC = 0,
    XDPVM_PROG_SOCKET_FILTER = 1,
    XDPVM_PROG_SCHED_CLS = 3,
    XDPVM_PROG_SCHED_ACT = 4,
    XDPVM_PROG_XDP = 6,
};

struct xdpvm_prog {
    char name[64];
    char section[128];
    enum xdpvm_prog_type type;
    struct xdpvm_insn *insns; /* linked: subprograms appended, map references resolved */
    size_t count;
    struct xdpvm_map **maps;  /* maps the program references (for region checks, verifier) */
    size_t map_count;
    const struct xdpvm_helper_table *helpers;
    bool verified;            /* set by the verifier; executors then skip run-time checks */
    uint32_t stack_depth;     /* max stack bytes used by the main frame, from the verifier */
    /* How to run it: the interpreter by default (xdpvm_interp_run), replaced by the JIT's entry
     * when compiled. Returns 0 with *r0 set, or run->error (negative errno). The executor
     * follows tail calls (run->next_prog) by calling next_prog->exec itself. */
    int (*exec)(struct xdpvm_run *run, uint64_t *r0);
    void *jit_code;           /* entry of JIT-compiled code, NULL when interpreted */
    size_t jit_size;
    void *jit_state;          /* owned by the JIT */
    /* Pre-decoded form for the interpreter, built by xdpvm_interp_prepare (or on the first
     * run) and freed by xdpvm_interp_release (interp.h). */
    void *interp_cache;
};

/* The program's map whose handle is value (what a linked lddw of a map reference loads), or
 * NULL when it is none of them. */
static inline struct xdpvm_map *xdpvm_prog_map_of_handle(const struct xdpvm_prog *prog, uint64_t value)
{
    for (size_t i = 0; i < prog->map_count; i++)
        if (prog->maps[i] && (uint64_t)(uintptr_t)prog->maps[i] == value)
            return prog->maps[i];
    return NULL;
}

#define XDPVM_MAX_TAIL_CALLS 33
#define XDPVM_DEFAULT_INSN_BUDGET 10000000ull
#define XDPVM_MAX_RUN_REGIONS 8

/* Execution errors, reported through run->error (negative errno) and run->error_message. */
struct xdpvm_run {
    const struct xdpvm_prog *prog;   /* the program currently running (changes on tail call) */
    void *ctx;                       /* r1 at entry */
    unsigned cpu;                    /* worker index: per-CPU maps use this slot */

    /* Checked mode: regions besides the stack and the maps of prog. */
    struct xdpvm_region regions[XDPVM_MAX_RUN_REGIONS];
    unsigned region_count;
    uint64_t insn_budget;            /* 0: XDPVM_DEFAULT_INSN_BUDGET; checked mode only */
    uint64_t insns_executed;

    /* Tail calls: bpf_tail_call sets next_prog and returns 0; the executor then starts it
     * with the same context, replacing the current program (the kernel's semantics). */
    const struct xdpvm_prog *next_prog;
    uint32_t tail_call_count;

    /* Callbacks (bpf_loop, for_each_map_elem): set by the executor, called by helpers with
     * the instruction index of the callback subprogram (from lddw src=BPF_PSEUDO_FUNC). */
    uint64_t (*call_subprog)(struct xdpvm_run *run, uint64_t insn_index, uint64_t r1, uint64_t r2,
                             uint64_t r3, uint64_t r4, uint64_t r5);
    void *executor_state;

    /* Whether the running program may access [addr, addr+size) (write: and modify), for
     * helpers that follow pointers no prototype describes (trace_printk's %s and %pI4) or
     * write memory the prototype only says they read (fib_lookup's params).
     * Set by the executor for the run (the interpreter: the stack frames, run->regions and
     * the program's maps); NULL when the executor cannot tell, and helpers then read such
     * pointers with a fault-tolerant copy, as the kernel does. */
    bool (*access_ok)(const struct xdpvm_run *run, uint64_t addr, uint64_t size, bool write);

    bool stop;                       /* a helper asks to stop now; r0 = stop_value */
    uint64_t stop_value;

    void *xdp;                       /* the XDP layer's per-packet buffer (src/xdp) */
    FILE *trace;                     /* bpf_trace_printk output; NULL = stderr */

    int error;                       /* 0, or negative errno when the run failed */
    size_t error_pc;
    char error_message[256];
};

/* XDP context. The program's ctx (r1) points at md, the kernel's struct xdp_md. Its data,
 * data_end and data_meta fields are the real 32-bit addresses of the packet: frames live in
 * the low 4 GiB of the address space (src/xdp allocates them so), which lets programs,
 * interpreter and JIT use the kernel's 32-bit loads unchanged without rewriting ctx accesses.
 * Helpers that move the packet (bpf_xdp_adjust_*) update md in place. */
struct xdpvm_xdp_md {
    uint32_t data;
    uint32_t data_end;
    uint32_t data_meta;
    uint32_t ingress_ifindex;
    uint32_t rx_queue_index;
    uint32_t egress_ifindex;
};

struct xdpvm_xdp_buff {
    struct xdpvm_xdp_md md;  /* first: ctx == &buff->md */
    uint8_t *frame;          /* start of the whole buffer (headroom + packet + tailroom) */
    uint32_t frame_size;     /* bytes in the buffer (a page, like the kernel) */
    uint32_t tailroom_reserve; /* bytes at the end that adjust_tail may not use (skb_shared_info) */
    /* Set by bpf_redirect / bpf_redirect_map, read by the XDP layer on XDP_REDIRECT. */
    bool redirect_set;
    uint32_t redirect_ifindex;
    struct xdpvm_map *redirect_map; /* NULL for bpf_redirect(ifindex) */
    uint32_t redirect_key;
    uint64_t redirect_flags;
};

/* Record a run-time error (first one wins) and ask the executor to stop. */
void xdpvm_run_fail(struct xdpvm_run *run, size_t pc, int error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Add a region the checked interpreter allows. Returns -ENOSPC when full. */
int xdpvm_run_add_region(struct xdpvm_run *run, const void *start, size_t len, bool writable,
                         const char *what);

/* The packet of an XDP run as the checked interpreter sees it: data_meta (or data, when
 * metadata is unsupported) up to data_end of run->xdp, so that a program reading past
 * data_end stops with an error, as the kernel's verifier would refuse it. Added by the XDP layer;
 * the helpers that move the packet (xdp_adjust_head/meta/tail) call xdpvm_run_packet_moved. */
extern const char xdpvm_region_packet[];
int xdpvm_run_add_packet_region(struct xdpvm_run *run);
void xdpvm_run_packet_moved(struct xdpvm_run *run);

#endif
