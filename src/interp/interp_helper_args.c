/* Checked executor: helper arguments against the helper's prototype (struct xdpvm_helper in
 * runtime.h), so that an unverified program cannot hand a helper a pointer it would crash
 * on. The rules are the kernel verifier's, applied to the values at run time: a map argument
 * is one of the program's maps, of a type the helper takes; memory arguments are memory the
 * program may access (stack frames, run regions, map values) for the size the helper uses;
 * the context is the run's context; a callback is the start of a subprogram; a ring buffer
 * record is reserved and not yet submitted or discarded. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "interp_private.h"
#include "maps/maps.h"

struct arg_check {
    const struct interp_state *st;
    const struct interp_cache *cache;
    const struct xdpvm_helper *helper;
    size_t pc;
};

static bool arg_fail(const struct arg_check *c, int error, unsigned regno, const char *what,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static bool arg_fail(const struct arg_check *c, int error, unsigned regno, const char *what,
                     const char *fmt, ...)
{
    char why[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    xdpvm_run_fail(c->st->run, c->pc, error, "instruction %zu: call %s: r%u (%s) %s", c->pc,
                   c->helper->name ? c->helper->name : "helper", regno, what, why);
    return false;
}

static const char *arg_role(enum xdpvm_arg_type t)
{
    switch (t) {
    case XDPVM_ARG_CONST_MAP_PTR: return "map";
    case XDPVM_ARG_PTR_TO_MAP_KEY: return "key";
    case XDPVM_ARG_PTR_TO_MAP_VALUE: return "value";
    case XDPVM_ARG_PTR_TO_UNINIT_MAP_VALUE: return "value out";
    case XDPVM_ARG_PTR_TO_MEM:
    case XDPVM_ARG_PTR_TO_MEM_OR_NULL: return "memory";
    case XDPVM_ARG_PTR_TO_UNINIT_MEM: return "memory out";
    case XDPVM_ARG_CONST_SIZE:
    case XDPVM_ARG_CONST_SIZE_OR_ZERO: return "size";
    case XDPVM_ARG_PTR_TO_CTX: return "context";
    case XDPVM_ARG_PTR_TO_FUNC: return "callback";
    case XDPVM_ARG_PTR_TO_STACK_OR_NULL: return "callback context";
    case XDPVM_ARG_PTR_TO_ALLOC_MEM: return "ring buffer record";
    case XDPVM_ARG_CONST_ALLOC_SIZE_OR_ZERO: return "record size";
    default: return "argument";
    }
}

/* regno points at size bytes the helper reads (or writes). */
static bool mem_ok(const struct arg_check *c, unsigned regno, const char *role, uint64_t addr,
                   uint64_t size, bool write)
{
    if (interp_access_ok(c->st, c->cache, addr, size, write))
        return true;
    char what[64];
    snprintf(what, sizeof(what), "%s, %" PRIu64 " byte%s", role, size, size == 1 ? "" : "s");
    bool readable = write && interp_access_ok(c->st, c->cache, addr, size, false);
    return arg_fail(c, readable ? -EACCES : -EFAULT, regno, what,
                    "points at 0x%" PRIx64 ", which is not memory the program may %s%s", addr,
                    write ? "write" : "read", readable ? " (it is read-only)" : "");
}

bool interp_helper_args_ok(const struct interp_state *st, const struct interp_cache *cache,
                           const struct xdpvm_prog *prog, const struct xdpvm_helper *h,
                           const uint64_t regs[6], uint32_t init, size_t pc)
{
    const struct arg_check c = {st, cache, h, pc};
    const struct xdpvm_run *run = st->run;
    struct xdpvm_map *map = NULL;
    unsigned mem_reg = 0; /* the memory argument a size argument belongs to */
    bool mem_write = false;
    for (unsigned i = 0; i < 5; i++) {
        enum xdpvm_arg_type t = h->args[i];
        unsigned regno = i + 1;
        uint64_t v = regs[regno];
        const char *role = arg_role(t);
        if (t == XDPVM_ARG_DONTCARE)
            continue;
        if (!(init & REG_BIT(regno)))
            return arg_fail(&c, -EINVAL, regno, role, "holds no value (never written, or clobbered "
                            "by an earlier call)");
        switch (t) {
        case XDPVM_ARG_CONST_MAP_PTR: {
            map = xdpvm_prog_map_of_handle(prog, v);
            if (!map)
                return arg_fail(&c, -EINVAL, regno, role, "is 0x%" PRIx64 ", which is not one of "
                                "the program's %zu maps (a map is loaded with lddw)", v, prog->map_count);
            const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(map);
            if (!xdpvm_helper_map_compatible(h->id, spec->type)) {
                const char *type = xdpvm_map_type_name(spec->type);
                return arg_fail(&c, -EINVAL, regno, role, "is map '%s' of type %s, which this "
                                "helper does not take", spec->name, type ? type : "?");
            }
            break;
        }
        case XDPVM_ARG_PTR_TO_MAP_KEY:
        case XDPVM_ARG_PTR_TO_MAP_VALUE:
        case XDPVM_ARG_PTR_TO_UNINIT_MAP_VALUE: {
            if (!map) /* a prototype without its map argument: nothing to size it by */
                return arg_fail(&c, -EINVAL, regno, role, "has no map argument before it");
            const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(map);
            uint32_t size = t == XDPVM_ARG_PTR_TO_MAP_KEY ? spec->key_size : spec->value_size;
            if (size && !mem_ok(&c, regno, role, v, size, t == XDPVM_ARG_PTR_TO_UNINIT_MAP_VALUE))
                return false;
            break;
        }
        case XDPVM_ARG_PTR_TO_MEM:
        case XDPVM_ARG_PTR_TO_MEM_OR_NULL:
        case XDPVM_ARG_PTR_TO_UNINIT_MEM:
            mem_reg = regno;
            mem_write = t == XDPVM_ARG_PTR_TO_UNINIT_MEM;
            break;
        case XDPVM_ARG_CONST_SIZE:
        case XDPVM_ARG_CONST_SIZE_OR_ZERO: {
            if (!mem_reg)
                return arg_fail(&c, -EINVAL, regno, role, "has no memory argument before it");
            uint64_t addr = regs[mem_reg];
            enum xdpvm_arg_type mem_type = h->args[mem_reg - 1];
            if (t == XDPVM_ARG_CONST_SIZE && v == 0)
                return arg_fail(&c, -EINVAL, regno, role, "is 0, but the size of r%u must be at "
                                "least 1", mem_reg);
            if (addr == 0 && mem_type == XDPVM_ARG_PTR_TO_MEM_OR_NULL) {
                if (v != 0)
                    return arg_fail(&c, -EINVAL, regno, role, "is %" PRIu64 ", but r%u is NULL, so "
                                    "the size must be 0", v, mem_reg);
            } else if (v && !mem_ok(&c, mem_reg, arg_role(mem_type), addr, v, mem_write)) {
                return false;
            }
            mem_reg = 0;
            break;
        }
        case XDPVM_ARG_PTR_TO_CTX:
            if (v != (uint64_t)(uintptr_t)run->ctx)
                return arg_fail(&c, -EINVAL, regno, role, "is 0x%" PRIx64 ", not the program's "
                                "context 0x%" PRIx64 " (r1 at entry, unmodified)", v,
                                (uint64_t)(uintptr_t)run->ctx);
            break;
        case XDPVM_ARG_PTR_TO_FUNC:
            if (v >= cache->count || !cache->subprog_start[v])
                return arg_fail(&c, -EINVAL, regno, role, "is %" PRIu64 ", which is not the "
                                "instruction index of a subprogram (load a callback with lddw "
                                "src=4)", v);
            break;
        case XDPVM_ARG_PTR_TO_STACK_OR_NULL:
            /* Not checked: the helper hands it to the callback untouched, whose accesses are
             * checked; the kernel too accepts a stack pointer moved out of the stack here. */
            break;
        case XDPVM_ARG_PTR_TO_ALLOC_MEM: {
            bool live = false;
            for (size_t m = 0; m < cache->map_count && !live; m++)
                live = cache->maps[m].ringbuf &&
                       xdpvm_ringbuf_reserved_record(cache->maps[m].ringbuf, v, 0) ==
                           (const void *)(uintptr_t)v;
            if (!live)
                return arg_fail(&c, -EINVAL, regno, role, "is 0x%" PRIx64 ", which is not a "
                                "record reserved by ringbuf_reserve and not yet submitted or "
                                "discarded", v);
            break;
        }
        default: /* ANYTHING, SCALAR, CONST_ALLOC_SIZE_OR_ZERO: any value */
            break;
        }
    }
    return true;
}

bool interp_track_records(struct interp_state *st, const struct xdpvm_helper *h, uint64_t r1,
                          uint64_t r0, size_t pc)
{
    if (h->ret == XDPVM_RET_PTR_TO_ALLOC_MEM_OR_NULL && r0) {
        if (st->record_count == INTERP_MAX_RECORDS) {
            xdpvm_ringbuf_commit((void *)(uintptr_t)r0, true);
            xdpvm_run_fail(st->run, pc, -E2BIG, "instruction %zu: call %s: more than %d ring buffer "
                           "records reserved at once", pc, h->name, INTERP_MAX_RECORDS);
            return false;
        }
        st->records[st->record_count] = (void *)(uintptr_t)r0;
        st->record_pc[st->record_count++] = pc;
    } else if (h->args[0] == XDPVM_ARG_PTR_TO_ALLOC_MEM) {
        for (unsigned i = 0; i < st->record_count; i++)
            if (st->records[i] == (void *)(uintptr_t)r1) {
                st->record_count--;
                st->records[i] = st->records[st->record_count];
                st->record_pc[i] = st->record_pc[st->record_count];
                break;
            }
    }
    return true;
}

void interp_release_records(struct interp_state *st)
{
    if (!st->record_count)
        return;
    xdpvm_run_fail(st->run, st->record_pc[0], -EINVAL, "instruction %zu: the ring buffer record "
                   "reserved here was neither submitted nor discarded before the program ended "
                   "(discarded now)", st->record_pc[0]);
    for (unsigned i = 0; i < st->record_count; i++)
        xdpvm_ringbuf_commit(st->records[i], true);
    st->record_count = 0;
}
