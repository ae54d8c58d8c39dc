/* Private to the verifier: the abstract machine state on one path (registers and stack of
 * every active call frame, held references), how to copy it, compare it for pruning and
 * print it in the log. */
#ifndef XDPVM_VERIFIER_STATE_H
#define XDPVM_VERIFIER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isa/isa.h"
#include "verifier/scalar.h"

struct xdpvm_map;

enum reg_type {
    REG_NOT_INIT = 0,
    REG_SCALAR,
    REG_CTX,               /* the program's context, r1 at entry */
    REG_STACK,             /* into the stack of frame `frameno` */
    REG_PKT,               /* into the packet (data + off + var) */
    REG_PKT_END,           /* data_end */
    REG_PKT_META,          /* into the metadata area before data */
    REG_MAP_VALUE,         /* into a value of `map` */
    REG_MAP_VALUE_OR_NULL, /* map lookup result before its null check */
    REG_MAP_PTR,           /* a map handle (lddw of a map) */
    REG_MEM,               /* ring buffer record of mem_size bytes */
    REG_MEM_OR_NULL,       /* ringbuf_reserve result before its null check */
    REG_MAP_KEY,           /* read-only key given to a for_each_map_elem callback */
    REG_FUNC,              /* a callback subprogram starting at insn `subprog` */
};

const char *reg_type_name(enum reg_type type);

struct reg {
    uint8_t type;             /* enum reg_type */
    uint8_t frameno;          /* REG_STACK: whose stack */
    int32_t off;              /* pointers: fixed byte offset */
    uint32_t id;              /* scalars: copies refined together; packet: pointers sharing a
                                 variable offset share proven range; _OR_NULL: null check group */
    uint32_t ref;             /* REG_MEM(_OR_NULL): reference that must be released */
    uint32_t range;           /* packet pointers: bytes proven readable from data + var */
    uint32_t mem_size;        /* REG_MEM, REG_MAP_KEY: size of the memory */
    uint32_t subprog;         /* REG_FUNC */
    uint32_t clobbered_by;    /* REG_NOT_INIT: 1 + index of the helper call that clobbered it */
    uint32_t released_by;     /* REG_NOT_INIT: 1 + index of the call that released the record it held */
    int64_t delta;            /* scalars with an id: value = common base + delta */
    bool link32;              /* ... in 32-bit arithmetic (the whole group is below 2^32) */
    struct xdpvm_map *map;    /* REG_MAP_* */
    struct scalar v;          /* scalars: the value; pointers: the variable part of the offset */
};

enum slot_byte { SLOT_INVALID = 0, SLOT_MISC, SLOT_ZERO, SLOT_SPILL };

/* 8 bytes of stack: slot i covers fp-8(i+1) .. fp-8i-1; byte b of the slot is fp-8(i+1)+b. */
struct slot {
    uint8_t bytes[8];
    struct reg spill;         /* valid when the bytes are SLOT_SPILL */
};

struct frame {
    struct reg regs[XDPVM_REG_COUNT];
    uint32_t callsite;        /* index of the call instruction; UINT32_MAX for the main frame */
    uint32_t subprog;         /* first instruction of the function running in this frame */
    bool callback;            /* started by a helper (bpf_loop, for_each_map_elem) */
    uint16_t nslots;
    struct slot slots[];
};

#define MAX_REFS 16

struct stored_state;
struct path_step;

struct vstate {
    uint32_t pc;
    int curframe;
    struct frame *frames[XDPVM_MAX_CALL_DEPTH];
    uint32_t nrefs;
    struct { uint32_t id, insn; } refs[MAX_REFS];
    bool callback_resume;            /* back at a callback-calling helper after the callback ran */
    struct stored_state *parent;     /* nearest stored ancestor (exploration bookkeeping) */
    const struct path_step *path;    /* branch decisions that led here */
};

struct path_step {
    const struct path_step *prev;
    uint32_t insn;
    bool taken;
};

struct frame *frame_new(uint32_t callsite, uint32_t subprog, uint16_t nslots);
/* Make room for stack bytes down to fp-depth. Returns false when out of memory. */
bool frame_grow(struct frame **f, unsigned depth);
struct vstate *vstate_copy(const struct vstate *s);
void vstate_free(struct vstate *s);

/* old describes every concrete state cur describes (pruning). Registers of the innermost
 * frame outside live (bit r: r is read later before being written) do not matter. */
bool vstate_includes(const struct vstate *old, const struct vstate *cur, uint16_t live);

/* A hash equal for states equal up to renaming of identifiers (cheap loop detection). */
uint64_t vstate_hash(const struct vstate *s, uint16_t live);

/* Call fn on every register of every frame, spilled ones included. */
void vstate_for_each_reg(struct vstate *s, void (*fn)(struct reg *r, void *arg), void *arg);

/* "scalar(0..255)", "pkt(off=14,r=14)", "fp-8", "map_value(map=counts,off=4)" */
int reg_format(const struct reg *r, char *buf, size_t size);

#endif
