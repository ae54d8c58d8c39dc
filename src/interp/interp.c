/* Interpreter: load-time checks, the pre-decoded program cache, entry points and the checked
 * executor's memory rules. The executors themselves are in interp_exec.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp_private.h"
#include "maps/maps.h"

#define BPF_F_RDONLY_PROG (1u << 7) /* linux/bpf.h: the program may only read the map */

static int prep_fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int prep_fail(char *err, size_t err_size, const char *fmt, ...)
{
    if (err && err_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_size, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

static void cache_free(struct interp_cache *c)
{
    if (!c)
        return;
    free(c->ops[0]);
    free(c->ops[1]);
    free(c->reg_masks);
    free(c->subprog_start);
    free(c->maps);
    free(c->lookups);
    free(c);
}

/* Registers an instruction reads and writes, for the checked executor's initialisation rule.
 * Calls and exits adjust the set in their handlers beyond what is recorded here. */
static uint32_t reg_mask(const struct xdpvm_decoded *d)
{
    uint16_t reads, writes;
    xdpvm_isa_regs(d, &reads, &writes);
    return reads | (uint32_t)writes << 16;
}


static bool in_range(uint64_t addr, uint64_t size, uint64_t start, uint64_t len)
{
    return addr >= start && size <= len && addr - start <= len - size;
}

/* The map r1 holds at the call at index call, when straight-line code before it (no jump
 * landing in between, no call) loaded it with an lddw of one of the program's maps. */
static struct xdpvm_map *map_in_r1(const struct xdpvm_prog *prog, const struct xdpvm_decoded *dec,
                                   const uint8_t *second_slot, const uint8_t *landed, size_t call)
{
    for (size_t k = call; k-- > 0 && call - k <= 64;) {
        if (landed[k + 1])
            return NULL;
        if (second_slot[k])
            k--;
        const struct xdpvm_decoded *d = &dec[k];
        enum xdpvm_shape shape = xdpvm_op_table[d->op].shape;
        if (shape == XDPVM_SHAPE_CALL || shape == XDPVM_SHAPE_CALLX || shape == XDPVM_SHAPE_CALL_LOCAL)
            return NULL;
        if (!(REG_MASK_WRITES(reg_mask(d)) & REG_BIT(1)))
            continue;
        if (d->op != XDPVM_OP_LDDW || (d->src != XDPVM_PSEUDO_MAP_FD && d->src != XDPVM_PSEUDO_MAP_IDX))
            return NULL;
        return xdpvm_prog_map_of_handle(prog, d->imm64);
    }
    return NULL;
}

/* Unchecked executor: bpf_map_lookup_elem calls on array maps known at load time become
 * op_CALL_ARRAY_LOOKUP (the helper's result without the call). -ENOMEM or 0. */
static int inline_array_lookups(const struct xdpvm_prog *prog, struct interp_cache *c,
                                const struct xdpvm_decoded *dec, const uint8_t *second_slot,
                                const void *label)
{
    const struct xdpvm_helper *h = prog->helpers ? prog->helpers->by_id[1] : NULL;
    size_t n = c->count;
    if (!h || !h->fn || !h->name || strcmp(h->name, "map_lookup_elem") || !prog->map_count)
        return 0;
    uint8_t *landed = calloc(n + 1, 1); /* jump targets and subprogram starts */
    if (!landed)
        return -ENOMEM;
    for (size_t i = 0; i < n; i += dec[i].slots) {
        if (xdpvm_shape_is_jump(xdpvm_op_table[dec[i].op].shape)) {
            int64_t target = xdpvm_isa_jump_target(&dec[i], i);
            if (target >= 0 && (uint64_t)target < n)
                landed[target] = 1;
        }
        if (c->subprog_start[i])
            landed[i] = 1;
    }
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i += dec[i].slots) {
        struct xdpvm_map_array_layout layout;
        if (dec[i].op != XDPVM_OP_CALL || dec[i].imm != 1)
            continue;
        struct xdpvm_map *map = map_in_r1(prog, dec, second_slot, landed, i);
        if (!map || !xdpvm_map_array_layout(map, &layout))
            continue;
        struct xdpvm_map_array_layout *grown = realloc(c->lookups, (c->lookup_count + 1) * sizeof(*grown));
        if (!grown) {
            rc = -ENOMEM;
            break;
        }
        c->lookups = grown;
        c->lookups[c->lookup_count] = layout;
        c->ops[VARIANT_FAST][i].imm = (int32_t)c->lookup_count++;
        c->ops[VARIANT_FAST][i].label = label;
    }
    free(landed);
    return rc;
}

static void match_idioms(struct interp_cache *c, const struct xdpvm_decoded *dec,
                         const uint8_t *second_slot, const void *const *labels)
{
    size_t n = c->count;
    for (size_t i = 0; i + 2 < n; i++) {
        if (second_slot[i] || second_slot[i + 1] || second_slot[i + 2] ||
            (i + 3 < n && second_slot[i + 3]))
            continue;
        const struct xdpvm_decoded *d = &dec[i];
        if (d[0].op == XDPVM_OP_MOV64_REG && d[1].op == XDPVM_OP_ADD64_IMM && d[1].dst == d[0].dst) {
            if (d[2].op == XDPVM_OP_JGT_REG && d[2].dst == d[0].dst) {
                c->ops[VARIANT_FAST][i].label = labels[INTERP_LABEL_BOUNDS_CHECK];
            } else if (i + 3 < n &&
                       (d[2].op == XDPVM_OP_MOV32_IMM || (d[2].op == XDPVM_OP_MOV64_IMM && d[2].imm >= 0)) &&
                       d[3].op == XDPVM_OP_JGT_REG && d[3].dst == d[0].dst) {
                c->ops[VARIANT_FAST][i].label = labels[INTERP_LABEL_BOUNDS_CHECK_CONST];
            }
            continue;
        }
        if (i + 3 < n && d[0].op == XDPVM_OP_LDXB && d[1].op == XDPVM_OP_LDXB &&
            d[0].src == d[1].src && d[0].dst != d[0].src && d[0].dst != d[1].dst &&
            (d[2].op == XDPVM_OP_LSH32_IMM || d[2].op == XDPVM_OP_LSH64_IMM) && d[2].dst == d[1].dst &&
            d[2].imm == 8 && (d[3].op == XDPVM_OP_OR32_REG || d[3].op == XDPVM_OP_OR64_REG) &&
            d[3].dst == d[1].dst && d[3].src == d[0].dst) {
            if (d[1].off == d[0].off + 1)
                c->ops[VARIANT_FAST][i].label = labels[INTERP_LABEL_LOAD16_LE];
            else if (d[1].off == d[0].off - 1)
                c->ops[VARIANT_FAST][i].label = labels[INTERP_LABEL_LOAD16_BE];
        }
    }
}

/* Unchecked executor: the idioms of interp_private.h get one handler at their first slot.
 * The instruction before an idiom then runs alone: as a pair it would run the idiom's first
 * instruction too and dispatch into the idiom's middle. */
static void fuse_idioms(struct interp_cache *c, const struct xdpvm_decoded *dec,
                        const uint8_t *second_slot, const void *const *labels)
{
    match_idioms(c, dec, second_slot, labels);
    for (size_t i = c->count; i-- > 1;) {
        const void *label = c->ops[VARIANT_FAST][i].label;
        bool idiom = label == labels[INTERP_LABEL_BOUNDS_CHECK] || label == labels[INTERP_LABEL_BOUNDS_CHECK_CONST] ||
                     label == labels[INTERP_LABEL_LOAD16_LE] || label == labels[INTERP_LABEL_LOAD16_BE];
        if (idiom && !second_slot[i - 1])
            c->ops[VARIANT_FAST][i - 1].label = labels[dec[i - 1].op];
    }
}

/* Checks prog and builds its cache (see xdpvm_interp_prepare). */
static int cache_build(const struct xdpvm_prog *prog, struct interp_cache **out, char *err,
                       size_t err_size)
{
    size_t n = prog->count;
    const char *name = prog->name[0] ? prog->name : "program";
    if (!prog->insns || n == 0)
        return prep_fail(err, err_size, "%s: no instructions", name);
    if (n > XDPVM_INTERP_MAX_INSNS)
        return prep_fail(err, err_size, "%s: too many instructions (%zu, the limit is %u)", name, n,
                         XDPVM_INTERP_MAX_INSNS);
    struct xdpvm_decode_error derr;
    if (xdpvm_isa_check_program(prog->insns, n, &derr))
        return prep_fail(err, err_size, "%s: instruction %zu: %s", name, derr.index, derr.message);

    int rc = -ENOMEM;
    struct interp_cache *c = calloc(1, sizeof(*c));
    struct xdpvm_decoded *dec = calloc(n, sizeof(*dec));
    uint8_t *second_slot = calloc(n, 1);
    uint32_t *subprog_of = calloc(n, sizeof(*subprog_of));
    if (!c || !dec || !second_slot || !subprog_of)
        goto out;
    c->count = n;
    c->ops[0] = calloc(n, sizeof(struct interp_op));
    c->ops[1] = calloc(n, sizeof(struct interp_op));
    c->reg_masks = calloc(n, sizeof(uint32_t));
    c->subprog_start = calloc(n, 1);
    c->maps = calloc(prog->map_count ? prog->map_count : 1, sizeof(*c->maps));
    if (!c->ops[0] || !c->ops[1] || !c->reg_masks || !c->subprog_start || !c->maps)
        goto out;
    rc = -EINVAL;

    /* Pass 1: decode; subprogram starts are call targets and callback references. */
    c->subprog_start[0] = 1;
    for (size_t i = 0; i < n; i += dec[i].slots) {
        xdpvm_isa_decode(prog->insns, n, i, &dec[i], NULL); /* cannot fail: checked above */
        if (dec[i].slots == 2)
            second_slot[i + 1] = 1;
    }
    for (size_t i = 0; i < n; i += dec[i].slots) {
        const struct xdpvm_decoded *d = &dec[i];
        bool func_ref = d->op == XDPVM_OP_LDDW && d->src == XDPVM_PSEUDO_FUNC;
        if (d->op != XDPVM_OP_CALL_LOCAL && !func_ref)
            continue;
        int64_t target = xdpvm_isa_jump_target(d, i);
        if (target < 0 || (uint64_t)target >= n || second_slot[target]) {
            rc = prep_fail(err, err_size, "%s: instruction %zu: %s to instruction %" PRId64
                           ", which is not an instruction of the program", name, i,
                           func_ref ? "callback reference" : "local call", target);
            goto out;
        }
        c->subprog_start[target] = 1;
    }
    uint32_t sub = 0;
    for (size_t i = 0; i < n; i++) {
        if (c->subprog_start[i] && i)
            sub++;
        subprog_of[i] = sub;
    }

    /* Pass 2: per-instruction rules. */
    for (size_t i = 0; i < n; i += dec[i].slots) {
        const struct xdpvm_decoded *d = &dec[i];
        const struct xdpvm_op_info *info = &xdpvm_op_table[d->op];
        uint32_t mask = reg_mask(d);
        if (REG_MASK_WRITES(mask) & REG_BIT(XDPVM_REG_FP)) {
            rc = prep_fail(err, err_size, "%s: instruction %zu: %s writes r10, the read-only frame "
                           "pointer", name, i, info->mnemonic);
            goto out;
        }
        if (xdpvm_shape_is_jump(info->shape)) {
            int64_t target = xdpvm_isa_jump_target(d, i);
            if (target == (int64_t)i) {
                rc = prep_fail(err, err_size, "%s: instruction %zu: %s jumps to itself: an infinite "
                               "loop", name, i, info->mnemonic);
                goto out;
            }
            if (subprog_of[target] != subprog_of[i]) {
                rc = prep_fail(err, err_size, "%s: instruction %zu: %s to instruction %" PRId64
                               " leaves its subprogram (jumps may not cross into another function)",
                               name, i, info->mnemonic, target);
                goto out;
            }
        }
        size_t next = i + d->slots;
        if ((next == n || c->subprog_start[next]) && !xdpvm_shape_ends_flow(info->shape)) {
            rc = prep_fail(err, err_size, "%s: instruction %zu: the subprogram ends with %s, not with "
                           "exit or an unconditional jump", name, i, info->mnemonic);
            goto out;
        }
        if (d->op == XDPVM_OP_CALL) {
            if (d->imm < 0 || d->imm >= XDPVM_MAX_HELPER_ID || !prog->helpers ||
                !prog->helpers->by_id[d->imm]) {
                rc = prep_fail(err, err_size, "%s: instruction %zu: call to helper %d, which is not "
                               "available to this program (unknown helper id)", name, i, d->imm);
                goto out;
            }
        }
        uint64_t imm64 = d->imm64;
        if (d->op == XDPVM_OP_LDDW) {
            switch (d->src) {
            case XDPVM_PSEUDO_NONE: break;
            case XDPVM_PSEUDO_FUNC: imm64 = (uint64_t)xdpvm_isa_jump_target(d, i); break;
            case XDPVM_PSEUDO_MAP_FD:
            case XDPVM_PSEUDO_MAP_IDX:
                if (!xdpvm_prog_map_of_handle(prog, imm64)) {
                    rc = prep_fail(err, err_size, "%s: instruction %zu: lddw of a map reference "
                                   "(src=%u) whose value 0x%" PRIx64 " is not one of the program's "
                                   "%zu maps (unresolved map reference)", name, i, d->src, imm64,
                                   prog->map_count);
                    goto out;
                }
                break;
            case XDPVM_PSEUDO_MAP_VALUE:
            case XDPVM_PSEUDO_MAP_IDX_VALUE: {
                bool found = false;
                for (size_t m = 0; m < prog->map_count && !found; m++) {
                    void *start;
                    size_t len;
                    xdpvm_map_storage(prog->maps[m], &start, &len);
                    found = in_range(imm64, 1, (uintptr_t)start, len);
                }
                if (!found) {
                    rc = prep_fail(err, err_size, "%s: instruction %zu: lddw of a map value address "
                                   "(src=%u) 0x%" PRIx64 " that lies in none of the program's %zu "
                                   "maps (unresolved map reference)", name, i, d->src, imm64,
                                   prog->map_count);
                    goto out;
                }
                break;
            }
            default:
                rc = prep_fail(err, err_size, "%s: instruction %zu: lddw with src=%u (BTF object "
                               "reference) is not supported", name, i, d->src);
                goto out;
            }
        }
        c->reg_masks[i] = mask;
        for (int v = 0; v < 2; v++) {
            struct interp_op *op = &c->ops[v][i];
            op->dst = d->dst;
            op->src = d->src;
            op->off = d->off;
            op->imm = d->slots == 2 ? (int32_t)(uint32_t)imm64 : d->imm;
            if (d->slots == 2)
                c->ops[v][i + 1].imm = (int32_t)(uint32_t)(imm64 >> 32);
        }
    }

    /* Handler addresses of each executor. */
    const void *const *labels[2];
    interp_exec_fast(NULL, NULL, 0, NULL, NULL, &labels[VARIANT_FAST]);
    interp_exec_checked(NULL, NULL, 0, NULL, NULL, &labels[VARIANT_CHECKED]);
    for (size_t i = 0; i < n; i++) {
        enum xdpvm_op op = second_slot[i] ? XDPVM_OP_INVALID : dec[i].op;
        c->ops[VARIANT_FAST][i].label = labels[VARIANT_FAST][op];
        c->ops[VARIANT_CHECKED][i].label = labels[VARIANT_CHECKED][op];
    }
    /* Superinstructions (unchecked executor): an instruction and its successor in one handler
     * where the pair is in the selections of interp_private.h. */
#define FUSE_POSITION_OF(PREFIX, NAME) [XDPVM_OP_##NAME] = PREFIX##NAME + 1,
    static const uint8_t first_position[XDPVM_OP__COUNT] = {
        INTERP_FUSE_FIRST(FUSE_POSITION_OF, FUSE_FIRST_)};
    static const uint8_t second_position[XDPVM_OP__COUNT] = {
        INTERP_FUSE_SECOND(FUSE_POSITION_OF, FUSE_SECOND_)};
#undef FUSE_POSITION_OF
    for (size_t i = 0; i + 1 < n; i++) {
        if (second_slot[i] || second_slot[i + 1])
            continue;
        unsigned first = first_position[dec[i].op], second = second_position[dec[i + 1].op];
        if (first && second)
            c->ops[VARIANT_FAST][i].label = labels[VARIANT_FAST][INTERP_FUSED_INDEX(first - 1, second - 1)];
    }
    fuse_idioms(c, dec, second_slot, labels[VARIANT_FAST]);
    if (inline_array_lookups(prog, c, dec, second_slot, labels[VARIANT_FAST][INTERP_LABEL_ARRAY_LOOKUP])) {
        rc = -ENOMEM;
        goto out;
    }

    for (size_t m = 0; m < prog->map_count; m++) {
        void *start;
        size_t len;
        const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(prog->maps[m]);
        xdpvm_map_storage(prog->maps[m], &start, &len);
        c->maps[m] = (struct interp_map_range){(uintptr_t)start, len,
                                               !(spec->map_flags & BPF_F_RDONLY_PROG), spec->name,
                                               spec->type == XDPVM_MAP_RINGBUF ? prog->maps[m] : NULL};
    }
    c->map_count = prog->map_count;
    rc = 0;
out:
    if (rc == -ENOMEM)
        prep_fail(err, err_size, "%s: out of memory preparing %zu instructions", name, n);
    free(dec);
    free(second_slot);
    free(subprog_of);
    if (rc)
        cache_free(c);
    else
        *out = c;
    return rc;
}

/* Builds and publishes the cache once; concurrent first runs race benignly (the loser
 * frees its copy). The cache field is written through a const program: it is the one
 * lazily filled field, and programs are never allocated in read-only memory. */
static int cache_install(const struct xdpvm_prog *prog, char *err, size_t err_size)
{
    void **slot = (void **)&prog->interp_cache;
    if (__atomic_load_n(slot, __ATOMIC_ACQUIRE))
        return 0;
    struct interp_cache *c = NULL;
    int rc = cache_build(prog, &c, err, err_size);
    if (rc)
        return rc;
    void *expected = NULL;
    if (!__atomic_compare_exchange_n(slot, &expected, c, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        cache_free(c);
    return 0;
}

int xdpvm_interp_prepare(struct xdpvm_prog *prog, char *err, size_t err_size)
{
    return cache_install(prog, err, err_size);
}

void xdpvm_interp_release(struct xdpvm_prog *prog)
{
    cache_free(prog->interp_cache);
    prog->interp_cache = NULL;
}

const struct interp_cache *interp_cache_get(struct xdpvm_run *run, const struct xdpvm_prog *prog)
{
    const struct interp_cache *c = __atomic_load_n(&prog->interp_cache, __ATOMIC_ACQUIRE);
    if (c)
        return c;
    char err[sizeof(run->error_message)];
    if (cache_install(prog, err, sizeof(err))) {
        xdpvm_run_fail(run, 0, -EINVAL, "%s", err);
        return NULL;
    }
    return __atomic_load_n(&prog->interp_cache, __ATOMIC_ACQUIRE);
}

/* ---- memory rules of the checked executor ---- */

void interp_stack_bounds(const struct interp_state *st, uint64_t *lo, uint64_t *hi)
{
    *lo = interp_frame_top(st, st->depth) - XDPVM_STACK_SIZE;
    *hi = interp_frame_top(st, 0);
}

bool interp_access_ok(const struct interp_state *st, const struct interp_cache *cache,
                      uint64_t addr, uint64_t size, bool write)
{
    uint64_t lo, hi;
    interp_stack_bounds(st, &lo, &hi);
    if (in_range(addr, size, lo, hi - lo))
        return true;
    const struct xdpvm_run *run = st->run;
    for (unsigned i = 0; i < run->region_count; i++) {
        const struct xdpvm_region *r = &run->regions[i];
        if (in_range(addr, size, r->start, r->len) && (r->writable || !write))
            return true;
    }
    bool ringbufs = false;
    for (size_t i = 0; i < cache->map_count; i++) {
        const struct interp_map_range *m = &cache->maps[i];
        ringbufs |= m->ringbuf != NULL;
        if (!m->ringbuf && in_range(addr, size, m->start, m->len) && (m->writable || !write))
            return true;
    }
    if (ringbufs) /* last: finding a record walks the ring */
        for (size_t i = 0; i < cache->map_count; i++) {
            const struct interp_map_range *m = &cache->maps[i];
            if (m->ringbuf && in_range(addr, size, m->start, m->len) &&
                xdpvm_ringbuf_reserved_record(m->ringbuf, addr, size))
                return true;
        }
    return false;
}

struct nearest {
    const char *what;
    uint64_t start, len, distance;
    bool writable, inside;
};

static void consider(struct nearest *best, const char *what, uint64_t start, uint64_t len,
                     bool writable, uint64_t addr, uint64_t size)
{
    uint64_t end = start + len, distance;
    bool inside = in_range(addr, size, start, len);
    if (inside)
        distance = 0;
    else if (addr < start)
        distance = start - addr;
    else if (addr >= end)
        distance = addr - end + 1;
    else
        distance = addr + size - end; /* starts inside, runs past the end */
    if (!best->what || distance < best->distance)
        *best = (struct nearest){what, start, len, distance, writable, inside};
}

void interp_access_fail(const struct interp_state *st, const struct interp_cache *cache,
                        size_t pc, uint64_t addr, uint64_t size, bool write, bool atomic)
{
    struct xdpvm_run *run = st->run;
    const char *kind = atomic ? "atomic operation" : write ? "store" : "load";
    if (atomic && (addr & (size - 1)) && interp_access_ok(st, cache, addr, size, write)) {
        xdpvm_run_fail(run, pc, -EFAULT, "instruction %zu: misaligned %s of %" PRIu64 " bytes at "
                       "0x%" PRIx64 " (atomics need natural alignment)", pc, kind, size, addr);
        return;
    }
    /* Addresses within a page of 0 (either side) come from a null pointer plus an offset. */
    if (addr < 4096 || addr >= (uint64_t)-4096) {
        xdpvm_run_fail(run, pc, -EFAULT, "instruction %zu: %s of %" PRIu64 " bytes at 0x%" PRIx64
                       ": null pointer dereference (%s)", pc, kind, size, addr,
                       addr < 4096 ? "address near 0" : "address just below 0, a negative offset "
                       "from a null pointer or an integer overflow");
        return;
    }
    for (size_t i = 0; i < cache->map_count; i++) {
        const struct interp_map_range *m = &cache->maps[i];
        if (m->ringbuf && in_range(addr, size, m->start, m->len)) {
            xdpvm_run_fail(run, pc, -EACCES, "instruction %zu: %s of %" PRIu64 " bytes at 0x%" PRIx64
                           " into ring buffer '%s' outside every record reserved by ringbuf_reserve "
                           "and not yet submitted or discarded", pc, kind, size, addr, m->name);
            return;
        }
    }
    struct nearest best = {0};
    uint64_t lo, hi;
    interp_stack_bounds(st, &lo, &hi);
    consider(&best, "stack", lo, hi - lo, true, addr, size);
    for (unsigned i = 0; i < run->region_count; i++) {
        const struct xdpvm_region *r = &run->regions[i];
        consider(&best, r->what ? r->what : "region", r->start, r->len, r->writable, addr, size);
    }
    for (size_t i = 0; i < cache->map_count; i++) {
        const struct interp_map_range *m = &cache->maps[i];
        consider(&best, m->name, m->start, m->len, m->writable, addr, size);
    }
    if (best.inside)
        xdpvm_run_fail(run, pc, -EACCES, "instruction %zu: %s of %" PRIu64 " bytes at 0x%" PRIx64
                       " into %s, which the program may only read", pc, kind, size, addr, best.what);
    else
        xdpvm_run_fail(run, pc, -EFAULT, "instruction %zu: %s of %" PRIu64 " bytes at 0x%" PRIx64
                       " is outside every region the program may access; nearest is %s "
                       "[0x%" PRIx64 ", +%" PRIu64 "), %" PRIu64 " byte(s) %s",
                       pc, kind, size, addr, best.what, best.start, best.len, best.distance,
                       addr < best.start ? "before its start" : "past its end");
}

/* ---- entry points ---- */

static interp_exec_fn exec_for(const struct xdpvm_prog *prog)
{
    return prog->verified ? interp_exec_fast : interp_exec_checked;
}

/* run->call_subprog: a callback runs in a new frame below the helper's caller. */
static uint64_t call_subprog(struct xdpvm_run *run, uint64_t insn_index, uint64_t r1, uint64_t r2,
                             uint64_t r3, uint64_t r4, uint64_t r5)
{
    struct interp_state *st = run->executor_state;
    const struct interp_cache *cache = run->prog->interp_cache;
    if (run->stop)
        return 0;
    if (insn_index >= cache->count || !cache->subprog_start[insn_index]) {
        xdpvm_run_fail(run, run->error_pc, -EINVAL, "instruction %zu: callback at instruction %" PRIu64
                       " is not the start of a subprogram", run->error_pc, insn_index);
        return 0;
    }
    unsigned caller_depth = st->depth;
    if (caller_depth + 1 >= XDPVM_MAX_CALL_DEPTH) {
        xdpvm_run_fail(run, run->error_pc, -E2BIG, "instruction %zu: callback: the call stack would "
                       "exceed %d frames", run->error_pc, XDPVM_MAX_CALL_DEPTH);
        return 0;
    }
    const uint64_t args[5] = {r1, r2, r3, r4, r5};
    uint64_t r0 = 0;
    size_t caller_pc = run->error_pc;
    st->depth = caller_depth + 1;
    st->entry_init = REG_ARGS_MASK | REG_BIT(XDPVM_REG_FP);
    exec_for(run->prog)(st, run->prog, insn_index, args, &r0, NULL);
    st->depth = caller_depth;
    if (!run->error)
        run->error_pc = caller_pc;
    return r0;
}

void interp_install_run_hooks(struct interp_state *st)
{
    struct xdpvm_run *run = st->run;
    st->outer_state = run->executor_state;
    st->outer_call_subprog = run->call_subprog;
    st->outer_access_ok = run->access_ok;
    run->executor_state = st;
    run->call_subprog = call_subprog;
    run->access_ok = xdpvm_interp_access_ok;
    st->hooks_installed = true;
}

/* Inlined into both entries: a run of a small program costs little more than its
 * instructions. */
static inline __attribute__((always_inline)) int run_common(struct xdpvm_run *run, const uint64_t args[5],
                                                            uint32_t init, uint64_t *r0)
{
    const struct xdpvm_prog *prog = run->prog;
    if (!prog) {
        xdpvm_run_fail(run, 0, -EINVAL, "no program to run (run->prog is NULL)");
        return run->error;
    }
    if (!__atomic_load_n(&prog->interp_cache, __ATOMIC_ACQUIRE) && !interp_cache_get(run, prog))
        return run->error;
    _Alignas(16) uint8_t stack[XDPVM_MAX_CALL_DEPTH * XDPVM_STACK_SIZE];
    uint64_t budget = run->insn_budget ? run->insn_budget : XDPVM_DEFAULT_INSN_BUDGET;
    /* Fields one by one: the record arrays (1 KiB) are read only below record_count, and
     * zeroing them would cost more than an empty program's whole run. */
    struct interp_state st;
    st.run = run;
    st.stack = stack;
    st.depth = 0;
    st.budget_left = budget;
    st.record_count = 0;
    st.hooks_installed = false;
    uint64_t result = 0;
    st.entry_init = init | REG_BIT(XDPVM_REG_FP);
    int rc = prog->verified /* direct calls: each is predicted */
                 ? interp_exec_fast(&st, prog, 0, args, &result, NULL)
                 : interp_exec_checked(&st, prog, 0, args, &result, NULL);
    if (st.record_count) {
        interp_release_records(&st);
        rc = run->error;
    }
    run->insns_executed += budget - st.budget_left;
    if (st.hooks_installed) {
        run->executor_state = st.outer_state;
        run->call_subprog = st.outer_call_subprog;
        run->access_ok = st.outer_access_ok;
    }
    if (rc)
        return rc;
    *r0 = result;
    return 0;
}

int xdpvm_interp_run(struct xdpvm_run *run, uint64_t *r0)
{
    const uint64_t args[5] = {(uint64_t)(uintptr_t)run->ctx};
    return run_common(run, args, REG_BIT(1), r0);
}

int xdpvm_interp_run_args(struct xdpvm_run *run, const uint64_t args[5], uint64_t *r0)
{
    return run_common(run, args, REG_ARGS_MASK, r0);
}

bool xdpvm_interp_access_ok(const struct xdpvm_run *run, uint64_t addr, uint64_t size, bool write)
{
    const struct interp_state *st = run->executor_state;
    const struct interp_cache *cache = run->prog ? run->prog->interp_cache : NULL;
    if (run->call_subprog != call_subprog || !st || !cache)
        return false;
    return interp_access_ok(st, cache, addr, size, write);
}

