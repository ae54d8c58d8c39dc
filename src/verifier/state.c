/* Verifier states: copying, inclusion (for pruning) and printing. */
#include "verifier/state.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps/maps.h"

const char *reg_type_name(enum reg_type type)
{
    switch (type) {
    case REG_NOT_INIT: return "not set";
    case REG_SCALAR: return "scalar";
    case REG_CTX: return "ctx";
    case REG_STACK: return "fp";
    case REG_PKT: return "pkt";
    case REG_PKT_END: return "pkt_end";
    case REG_PKT_META: return "pkt_meta";
    case REG_MAP_VALUE: return "map_value";
    case REG_MAP_VALUE_OR_NULL: return "map_value_or_null";
    case REG_MAP_PTR: return "map_ptr";
    case REG_MEM: return "ringbuf_mem";
    case REG_MEM_OR_NULL: return "ringbuf_mem_or_null";
    case REG_MAP_KEY: return "map_key";
    case REG_FUNC: return "func";
    }
    return "?";
}

static size_t frame_bytes(uint16_t nslots) { return sizeof(struct frame) + nslots * sizeof(struct slot); }

struct frame *frame_new(uint32_t callsite, uint32_t subprog, uint16_t nslots)
{
    struct frame *f = calloc(1, frame_bytes(nslots));
    if (!f)
        return NULL;
    f->callsite = callsite;
    f->subprog = subprog;
    f->nslots = nslots;
    return f;
}

bool frame_grow(struct frame **fp, unsigned depth)
{
    unsigned need = (depth + 7) / 8;
    struct frame *f = *fp;
    if (need <= f->nslots)
        return true;
    struct frame *g = realloc(f, frame_bytes((uint16_t)need));
    if (!g)
        return false;
    memset(&g->slots[g->nslots], 0, (need - g->nslots) * sizeof(struct slot));
    g->nslots = (uint16_t)need;
    *fp = g;
    return true;
}

struct vstate *vstate_copy(const struct vstate *s)
{
    struct vstate *c = malloc(sizeof(*c));
    if (!c)
        return NULL;
    *c = *s;
    for (int i = 0; i <= s->curframe; i++) {
        size_t n = frame_bytes(s->frames[i]->nslots);
        c->frames[i] = malloc(n);
        if (!c->frames[i]) {
            c->curframe = i - 1;
            vstate_free(c);
            return NULL;
        }
        memcpy(c->frames[i], s->frames[i], n);
    }
    for (int i = s->curframe + 1; i < XDPVM_MAX_CALL_DEPTH; i++)
        c->frames[i] = NULL;
    return c;
}

void vstate_free(struct vstate *s)
{
    if (!s)
        return;
    for (int i = 0; i <= s->curframe; i++)
        free(s->frames[i]);
    free(s);
}

void vstate_for_each_reg(struct vstate *s, void (*fn)(struct reg *r, void *arg), void *arg)
{
    for (int i = 0; i <= s->curframe; i++) {
        struct frame *f = s->frames[i];
        for (int r = 0; r < XDPVM_REG_COUNT; r++)
            fn(&f->regs[r], arg);
        for (unsigned k = 0; k < f->nslots; k++)
            if (f->slots[k].bytes[0] == SLOT_SPILL)
                fn(&f->slots[k].spill, arg);
    }
}

/* ---- inclusion ---- */

/* Identifiers only matter through which registers share them, so two states match when a
 * one-to-one renaming maps the old identifiers onto the current ones. */
struct idmap {
    unsigned count;
    struct { uint32_t old, cur; } pairs[XDPVM_MAX_CALL_DEPTH * (XDPVM_REG_COUNT + 64) + MAX_REFS];
};

static bool ids_match(struct idmap *m, uint32_t old, uint32_t cur)
{
    for (unsigned i = 0; i < m->count; i++) {
        if (m->pairs[i].old == old)
            return m->pairs[i].cur == cur;
        if (m->pairs[i].cur == cur)
            return false;
    }
    if (m->count >= sizeof(m->pairs) / sizeof(m->pairs[0]))
        return false;
    m->pairs[m->count].old = old;
    m->pairs[m->count].cur = cur;
    m->count++;
    return true;
}

static bool reg_includes(const struct reg *old, const struct reg *cur, struct idmap *ids)
{
    if (old->type == REG_NOT_INIT)
        return true; /* no path from old reads it */
    if (old->type != cur->type)
        return false;
    switch (old->type) {
    case REG_SCALAR:
        if (old->id && (!cur->id || !ids_match(ids, old->id, cur->id) || old->delta != cur->delta ||
                        old->link32 != cur->link32))
            return false;
        return scalar_contains(&old->v, &cur->v);
    case REG_PKT:
    case REG_PKT_META:
        if (old->range > cur->range || !ids_match(ids, old->id | 0x80000000u, cur->id | 0x80000000u))
            return false;
        break;
    case REG_MAP_VALUE_OR_NULL:
    case REG_MEM_OR_NULL:
        if (!ids_match(ids, old->id, cur->id))
            return false;
        break;
    default:
        break;
    }
    if (old->ref && !ids_match(ids, old->ref, cur->ref))
        return false;
    return old->off == cur->off && old->frameno == cur->frameno && old->map == cur->map &&
           old->mem_size == cur->mem_size && old->subprog == cur->subprog &&
           scalar_contains(&old->v, &cur->v);
}

static uint8_t slot_byte(const struct frame *f, unsigned slot, unsigned b)
{
    return slot < f->nslots ? f->slots[slot].bytes[b] : SLOT_INVALID;
}

static bool stack_includes(const struct frame *old, const struct frame *cur, struct idmap *ids)
{
    for (unsigned k = 0; k < old->nslots; k++) {
        const struct slot *os = &old->slots[k];
        for (unsigned b = 0; b < 8; b++) {
            uint8_t o = os->bytes[b], c = slot_byte(cur, k, b);
            if (o == SLOT_INVALID)
                continue;
            if (o == SLOT_MISC) {
                if (c == SLOT_MISC || c == SLOT_ZERO)
                    continue;
                if (c == SLOT_SPILL && cur->slots[k].spill.type == REG_SCALAR)
                    continue;
                return false;
            }
            if (o == SLOT_ZERO) {
                if (c != SLOT_ZERO)
                    return false;
                continue;
            }
            if (c != SLOT_SPILL)
                return false;
        }
        if (os->bytes[0] == SLOT_SPILL && !reg_includes(&os->spill, &cur->slots[k].spill, ids))
            return false;
    }
    return true;
}

bool vstate_includes(const struct vstate *old, const struct vstate *cur, uint16_t live)
{
    if (old->curframe != cur->curframe || old->nrefs != cur->nrefs ||
        old->callback_resume != cur->callback_resume)
        return false;
    static __thread struct idmap ids;
    ids.count = 0;
    for (uint32_t i = 0; i < old->nrefs; i++)
        if (!ids_match(&ids, old->refs[i].id, cur->refs[i].id))
            return false;
    for (int i = 0; i <= old->curframe; i++) {
        const struct frame *fo = old->frames[i], *fc = cur->frames[i];
        if (fo->callsite != fc->callsite || fo->callback != fc->callback || fo->subprog != fc->subprog)
            return false;
        for (int r = 0; r < XDPVM_REG_COUNT; r++)
            if ((i < old->curframe || (live >> r) & 1) && !reg_includes(&fo->regs[r], &fc->regs[r], &ids))
                return false;
        if (!stack_includes(fo, fc, &ids))
            return false;
    }
    return true;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

static uint64_t reg_hash(uint64_t h, const struct reg *r)
{
    h = mix(h, r->type | (uint64_t)r->frameno << 8 | (uint64_t)(uint32_t)r->off << 32);
    if (r->type == REG_NOT_INIT)
        return h;
    const struct scalar *v = &r->v;
    h = mix(h, v->var.value);
    h = mix(h, v->var.mask);
    h = mix(h, v->umin ^ (v->umax << 1));
    h = mix(h, (uint64_t)v->smin ^ ((uint64_t)v->smax << 1));
    h = mix(h, v->u32min ^ ((uint64_t)v->u32max << 32));
    h = mix(h, (uint32_t)v->s32min ^ ((uint64_t)(uint32_t)v->s32max << 32));
    h = mix(h, r->range ^ ((uint64_t)r->mem_size << 32));
    return mix(h, (uint64_t)(uintptr_t)r->map ^ r->subprog);
}

uint64_t vstate_hash(const struct vstate *s, uint16_t live)
{
    uint64_t h = mix((uint64_t)s->curframe, s->nrefs | (uint64_t)s->callback_resume << 32);
    for (int i = 0; i <= s->curframe; i++) {
        const struct frame *f = s->frames[i];
        h = mix(h, f->callsite ^ ((uint64_t)f->subprog << 32));
        for (int r = 0; r < XDPVM_REG_COUNT; r++)
            if (i < s->curframe || (live >> r) & 1)
                h = reg_hash(h, &f->regs[r]);
        /* Trailing never-written slots do not change the state. */
        unsigned n = f->nslots;
        while (n && !memcmp(f->slots[n - 1].bytes, "\0\0\0\0\0\0\0\0", 8))
            n--;
        for (unsigned k = 0; k < n; k++) {
            uint64_t bytes;
            memcpy(&bytes, f->slots[k].bytes, 8);
            h = mix(h, bytes);
            if (f->slots[k].bytes[0] == SLOT_SPILL)
                h = reg_hash(h, &f->slots[k].spill);
        }
    }
    return h;
}

/* ---- printing ---- */

static int scalar_format(const struct scalar *v, char *buf, size_t size)
{
    if (scalar_is_const(v))
        return snprintf(buf, size, "%" PRId64, (int64_t)v->var.value);
    int n = snprintf(buf, size, "scalar(");
    const char *sep = "";
#define PART(...) do { if ((size_t)n < size) n += snprintf(buf + n, size - n, __VA_ARGS__); } while (0)
    if (v->umin != 0 || v->umax != UINT64_MAX) {
        PART("%s%" PRIu64 "..%" PRIu64, sep, v->umin, v->umax);
        sep = ",";
    }
    if ((v->smin != INT64_MIN || v->smax != INT64_MAX) && (v->smin < 0 || (uint64_t)v->smax != v->umax)) {
        PART("%ss%" PRId64 "..%" PRId64, sep, v->smin, v->smax);
        sep = ",";
    }
    if (v->umax > UINT32_MAX && (v->u32min != 0 || v->u32max != UINT32_MAX)) {
        PART("%slow32 %" PRIu32 "..%" PRIu32, sep, v->u32min, v->u32max);
        sep = ",";
    }
    if (v->var.mask != UINT64_MAX && v->var.mask != ((v->umax == 0) ? 0 : (~0ull >> __builtin_clzll(v->umax)))) {
        PART("%sbits=0x%" PRIx64 "/0x%" PRIx64, sep, v->var.value, v->var.mask);
        sep = ",";
    }
    PART(")");
#undef PART
    return n;
}

int reg_format(const struct reg *r, char *buf, size_t size)
{
    char var[160] = "";
    if (r->type != REG_SCALAR && r->type != REG_NOT_INIT && !(scalar_is_const(&r->v) && r->v.var.value == 0)) {
        var[0] = '+';
        scalar_format(&r->v, var + 1, sizeof(var) - 1);
    }
    const char *map_name = r->map ? xdpvm_map_get_spec(r->map)->name : "";
    switch (r->type) {
    case REG_NOT_INIT: return snprintf(buf, size, "not set");
    case REG_SCALAR: return scalar_format(&r->v, buf, size);
    case REG_STACK: return snprintf(buf, size, "fp%s%d%s", r->frameno ? "(frame)" : "", r->off, var);
    case REG_PKT:
    case REG_PKT_META:
        return snprintf(buf, size, "%s(off=%d%s,proven=%u)", reg_type_name(r->type), r->off, var, r->range);
    case REG_MAP_VALUE:
    case REG_MAP_VALUE_OR_NULL:
        return snprintf(buf, size, "%s(map=%s,off=%d%s)", reg_type_name(r->type), map_name, r->off, var);
    case REG_MAP_PTR: return snprintf(buf, size, "map_ptr(%s)", map_name);
    case REG_MEM:
    case REG_MEM_OR_NULL:
        return snprintf(buf, size, "%s(size=%u,off=%d%s)", reg_type_name(r->type), r->mem_size, r->off, var);
    case REG_FUNC: return snprintf(buf, size, "func(insn %u)", r->subprog);
    default: return snprintf(buf, size, "%s(off=%d%s)", reg_type_name(r->type), r->off, var);
    }
}
