/* Private to the interpreter: the pre-decoded program and the per-run state shared by the
 * checked and unchecked executors (interp_exec.h is compiled once for each). */
#ifndef XDPVM_INTERP_PRIVATE_H
#define XDPVM_INTERP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "interp.h"
#include "maps/maps.h"

/* One pre-decoded instruction: the address of its handler plus its operands. For lddw the
 * second slot's imm holds the upper half of the (resolved) 64-bit value. */
struct interp_op {
    const void *label;
    int32_t imm;
    int16_t off;
    uint8_t dst, src;
};
_Static_assert(sizeof(struct interp_op) == 16, "two operations per cache line quarter");

enum { VARIANT_FAST = 0, VARIANT_CHECKED = 1 };

/* Superinstructions of the unchecked executor: an instruction of the first selection followed
 * by one of the second runs both in one dispatch (a first that jumps dispatches from its
 * target). Any such pair fuses (the fused handler does what the two do, in order, whatever
 * their operands); the second keeps its own handler for
 * jumps that land on it, and may itself start a pair. The selections are the rows most
 * frequent in pairs of clang's XDP code (loads and stores of packets and the stack, pointer
 * arithmetic, byte assembly, bounds checks); they are two lists so that the handlers can be
 * generated as their cross product. */
#define INTERP_FUSE_FIRST(X, Y)                                                                    \
    X(Y, LDXB) X(Y, LDXH) X(Y, LDXW) X(Y, LDXDW) X(Y, STXB) X(Y, STXH) X(Y, STXW) X(Y, STXDW)     \
    X(Y, MOV64_REG) X(Y, MOV32_REG) X(Y, MOV64_IMM) X(Y, MOV32_IMM) X(Y, ADD64_IMM)               \
    X(Y, ADD32_REG) X(Y, OR32_REG) X(Y, OR64_REG) X(Y, LSH32_IMM) X(Y, LSH64_IMM)                 \
    X(Y, RSH32_IMM) X(Y, RSH64_IMM) X(Y, AND32_IMM) X(Y, XOR32_REG) X(Y, ADD64_REG)             \
    X(Y, SUB64_REG) X(Y, JGT_REG) X(Y, JEQ_IMM) X(Y, JNE_IMM) X(Y, JEQ32_IMM) X(Y, JNE32_IMM)    \
    X(Y, JLT32_IMM)
#define INTERP_FUSE_SECOND(X, Y)                                                                   \
    X(Y, LDXB) X(Y, LDXH) X(Y, LDXW) X(Y, LDXDW) X(Y, STXB) X(Y, STXH) X(Y, STXW) X(Y, STXDW)     \
    X(Y, MOV64_REG) X(Y, MOV32_REG) X(Y, MOV32_IMM) X(Y, ADD64_IMM) X(Y, ADD32_REG)               \
    X(Y, OR32_REG) X(Y, OR64_REG) X(Y, LSH32_IMM) X(Y, LSH64_IMM) X(Y, RSH32_IMM)                 \
    X(Y, RSH64_IMM) X(Y, AND32_IMM) X(Y, XOR32_REG) X(Y, ADD64_REG) X(Y, SUB64_REG)              \
    X(Y, JGT_REG) X(Y, JLT_REG) X(Y, JEQ_IMM) X(Y, JNE_IMM) X(Y, JEQ32_IMM) X(Y, JNE32_IMM)       \
    X(Y, JLT32_IMM)

#define INTERP_FUSE_POSITION(PREFIX, NAME) PREFIX##NAME,
enum { INTERP_FUSE_FIRST(INTERP_FUSE_POSITION, FUSE_FIRST_) FUSE_FIRST_COUNT };
enum { INTERP_FUSE_SECOND(INTERP_FUSE_POSITION, FUSE_SECOND_) FUSE_SECOND_COUNT };
#undef INTERP_FUSE_POSITION
/* Handler tables: XDPVM_OP__COUNT rows, then the pairs (unchecked executor only). */
#define INTERP_FUSED_INDEX(first, second) (XDPVM_OP__COUNT + (first) * FUSE_SECOND_COUNT + (second))
/* then bpf_map_lookup_elem of an array map known at load time, inlined (the kernel's
 * map_gen_lookup; unchecked executor only) */
#define INTERP_LABEL_ARRAY_LOOKUP INTERP_FUSED_INDEX(FUSE_FIRST_COUNT, 0)
/* then idioms of clang's XDP code, one handler for several instructions (unchecked executor
 * only; the instructions keep their own handlers for jumps into the middle):
 *   BOUNDS_CHECK        rX = rY; rX += K; if rX > rZ goto L       (a header fits in the packet)
 *   BOUNDS_CHECK_CONST  rX = rY; rX += K; wC = K2; if rX > rZ goto L   (return value set first;
 *                       rC = K2 too when K2 >= 0)
 *   LOAD16_LE / _BE     rA = *(u8 *)(rP + o); rB = *(u8 *)(rP + o ± 1); wB <<= 8; wB |= wA
 *                       (a 16-bit field of a packed header, byte by byte) */
#define INTERP_LABEL_BOUNDS_CHECK (INTERP_LABEL_ARRAY_LOOKUP + 1)
#define INTERP_LABEL_BOUNDS_CHECK_CONST (INTERP_LABEL_ARRAY_LOOKUP + 2)
#define INTERP_LABEL_LOAD16_LE (INTERP_LABEL_ARRAY_LOOKUP + 3)
#define INTERP_LABEL_LOAD16_BE (INTERP_LABEL_ARRAY_LOOKUP + 4)
#define INTERP_LABEL_COUNT (INTERP_LABEL_ARRAY_LOOKUP + 5)

/* A map's value storage as the checked executor sees it. A ring buffer's storage is
 * accessible only inside records reserved and not yet submitted (ringbuf set). */
struct interp_map_range {
    uintptr_t start;
    size_t len;
    bool writable;
    const char *name;
    struct xdpvm_map *ringbuf;
};

struct interp_cache {
    size_t count;
    struct interp_op *ops[2];     /* per variant: same operands, that variant's labels */
    uint32_t *reg_masks;          /* checked: registers read (bits 0..10) | written (<< 16) */
    uint8_t *subprog_start;       /* 1 where a subprogram (call or callback target) begins */
    struct interp_map_range *maps;
    size_t map_count;
    struct xdpvm_map_array_layout *lookups; /* inlined lookups: the op's imm indexes this */
    size_t lookup_count;
};

#define REG_MASK_READS(m) ((m) & 0xffffu)
#define REG_MASK_WRITES(m) ((m) >> 16)
#define REG_BIT(r) (1u << (r))
#define REG_ARGS_MASK 0x3eu /* r1..r5 */

/* State of one run shared by nested executions (callbacks, tail calls into the other
 * variant). The stack holds every frame: frame d's r10 is stack + (MAX - d) * 512. */
#define INTERP_MAX_RECORDS 64 /* ring buffer records a checked run may hold at once */

struct interp_state {
    struct xdpvm_run *run;
    uint8_t *stack;
    unsigned depth;               /* frame of the instruction executing now; on entry to an
                                   * executor, the frame it starts in */
    uint32_t entry_init;          /* on entry to an executor: the registers holding a value */
    uint64_t budget_left;         /* checked variant only */
    /* The run's executor_state, call_subprog and access_ok, which only helpers use: set by
     * the first helper call of the run (interp_install_run_hooks), and the outer values they
     * replaced restored by the entry point at the end. A run that calls no helper (or only
     * inlined array lookups) does not pay for them. */
    bool hooks_installed;
    void *outer_state;
    uint64_t (*outer_call_subprog)(struct xdpvm_run *, uint64_t, uint64_t, uint64_t, uint64_t,
                                   uint64_t, uint64_t);
    bool (*outer_access_ok)(const struct xdpvm_run *, uint64_t, uint64_t, bool);
    /* Checked variant: ring buffer records reserved and not yet released, with the index of
     * the reserving call; what is left at the end is discarded, so a bad program cannot
     * block the ring (the kernel's verifier refuses unreleased references). */
    unsigned record_count;
    void *records[INTERP_MAX_RECORDS];
    size_t record_pc[INTERP_MAX_RECORDS];
};

/* The executors: run prog from start_pc in frame st->depth with r1..r5 = args and
 * st->entry_init the registers holding a value (six arguments, all in registers: the call is
 * part of every run). With labels_out, only report the handler table. */
typedef int (*interp_exec_fn)(struct interp_state *st, const struct xdpvm_prog *prog,
                              size_t start_pc, const uint64_t args[5], uint64_t *r0_out,
                              const void *const **labels_out);

int interp_exec_fast(struct interp_state *st, const struct xdpvm_prog *prog, size_t start_pc,
                     const uint64_t args[5], uint64_t *r0_out, const void *const **labels_out);
int interp_exec_checked(struct interp_state *st, const struct xdpvm_prog *prog, size_t start_pc,
                        const uint64_t args[5], uint64_t *r0_out, const void *const **labels_out);

/* Before a helper call: points the run's executor_state, call_subprog and access_ok at
 * this execution (once per run; see interp_state.hooks_installed). */
void interp_install_run_hooks(struct interp_state *st);

/* The cache of prog, built on first use; NULL with a run error recorded when the program
 * does not pass the load-time checks. */
const struct interp_cache *interp_cache_get(struct xdpvm_run *run, const struct xdpvm_prog *prog);

static inline uint64_t interp_frame_top(const struct interp_state *st, unsigned depth)
{
    return (uint64_t)(uintptr_t)(st->stack + (size_t)(XDPVM_MAX_CALL_DEPTH - depth) * XDPVM_STACK_SIZE);
}

/* The active stack frames, [lo, hi): callees may use pointers into their callers' frames. */
void interp_stack_bounds(const struct interp_state *st, uint64_t *lo, uint64_t *hi);

bool interp_access_ok(const struct interp_state *st, const struct interp_cache *cache,
                      uint64_t addr, uint64_t size, bool write);
/* Records why an access failed (nearest region, null pointer, read-only...). */
void interp_access_fail(const struct interp_state *st, const struct interp_cache *cache,
                        size_t pc, uint64_t addr, uint64_t size, bool write, bool atomic);

/* Checked executor, before calling h: its arguments r1..r5 (regs[1..5]) against its prototype
 * (maps of the program and of a type the helper takes, memory the program may access for
 * the sizes the helper uses, the context, callbacks, live ring buffer records). init: the
 * registers holding a value. False with the run error recorded (naming instruction pc). */
bool interp_helper_args_ok(const struct interp_state *st, const struct interp_cache *cache,
                           const struct xdpvm_prog *prog, const struct xdpvm_helper *h,
                           const uint64_t regs[6], uint32_t init, size_t pc);

/* Checked executor, after h returned r0: follows ring buffer reservations (h returns one)
 * and releases (h takes one in r1). False with the run error recorded when too many records
 * are held at once. */
bool interp_track_records(struct interp_state *st, const struct xdpvm_helper *h, uint64_t r1,
                          uint64_t r0, size_t pc);
/* End of a checked run: discards the records still held; fails the run (unless it failed
 * already) naming the reserving call. */
void interp_release_records(struct interp_state *st);

#endif
