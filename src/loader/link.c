/* Linking one program: copy its instructions, append every function it calls (transitively,
 * each once, like libbpf), and resolve relocations and lddw pseudo sources to xdpvm values:
 *   src=BPF_PSEUDO_MAP_FD    imm pair = struct xdpvm_map *
 *   src=BPF_PSEUDO_MAP_VALUE imm pair = absolute address of the value byte
 *   src=BPF_PSEUDO_FUNC      imm = offset of the callback from the next instruction, as the
 *                            kernel has it (interpreter and JIT load the absolute index)
 * A call's imm becomes relative to the linked position. */
#include "loader/loader_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/helpers.h"
#include "interp/interp.h"
#include "isa/isa.h"

/* ELF relocation types of the BPF target (R_BPF_*, llvm BPFELFObjectWriter); elf.h has
 * only some of them. */
enum {
    RELOC_NONE = 0,
    RELOC_64_64 = 1,        /* lddw: 64-bit address split over the imm pair */
    RELOC_64_ABS64 = 2,     /* data (BTF, debug info) */
    RELOC_64_ABS32 = 3,
    RELOC_64_NODYLD32 = 4,  /* .BTF.ext */
    RELOC_64_32 = 10,       /* call imm */
};

static const char *reloc_name(uint32_t type)
{
    switch (type) {
    case RELOC_NONE: return "R_BPF_NONE";
    case RELOC_64_64: return "R_BPF_64_64";
    case RELOC_64_ABS64: return "R_BPF_64_ABS64";
    case RELOC_64_ABS32: return "R_BPF_64_ABS32";
    case RELOC_64_NODYLD32: return "R_BPF_64_NODYLD32";
    case RELOC_64_32: return "R_BPF_64_32";
    default: return NULL;
    }
}

/* "relocation R_BPF_64_32" or "unknown relocation type 77", for messages. */
static const char *describe_reloc(uint32_t type, char *buf, size_t size)
{
    const char *name = reloc_name(type);
    if (name)
        snprintf(buf, size, "relocation %s", name);
    else
        snprintf(buf, size, "unknown relocation type %u", type);
    return buf;
}

enum { CODE_LDDW = XDPVM_CLASS_LD | XDPVM_MODE_IMM | XDPVM_SIZE_DW, CODE_CALL = XDPVM_CLASS_JMP | XDPVM_JMP_CALL };

/* Upper bound of a linked program; the kernel's is 1M instructions too. */
#define MAX_LINKED_INSNS (1u << 20)

/* A function copied into the linked program. */
struct unit {
    size_t sec, start, count; /* where it comes from (instruction indexes in sec) */
    size_t base;              /* where it starts in the linked program */
};

struct linker {
    struct xdpvm_object *obj;
    struct xdpvm_program *program;
    struct xdpvm_insn *insns;
    size_t count, capacity;
    struct unit *units;
    size_t unit_count;
    struct xdpvm_map **maps;
    size_t map_count;
};

/* Prefix of every message about instruction i of the linked program. */
#define AT "%s: section '%s': program '%s': instruction %zu (section '%s' instruction %zu): "
#define AT_ARGS(l, i, u) (l)->obj->path, (l)->program->section, (l)->program->name, (i), \
                         (l)->obj->secs[(u)->sec].name, (u)->start + ((i) - (u)->base)

static const struct unit *unit_of(const struct linker *l, size_t index)
{
    for (size_t u = 0; u < l->unit_count; u++)
        if (index >= l->units[u].base && index < l->units[u].base + l->units[u].count)
            return &l->units[u];
    return NULL; /* not reached: every linked instruction belongs to a unit */
}

static int append_unit(struct linker *l, size_t sec, size_t start, size_t count)
{
    if (count > MAX_LINKED_INSNS - l->count)
        return loader_error(E2BIG, "%s: program '%s': more than %u instructions after linking subprograms",
                            l->obj->path, l->program->name, MAX_LINKED_INSNS);
    struct unit *units = realloc(l->units, (l->unit_count + 1) * sizeof(*units));
    if (!units)
        return loader_error(ENOMEM, "%s: out of memory", l->obj->path);
    l->units = units;
    if (l->count + count > l->capacity) {
        size_t capacity = 2 * (l->count + count);
        struct xdpvm_insn *insns = realloc(l->insns, capacity * sizeof(*insns));
        if (!insns)
            return loader_error(ENOMEM, "%s: out of memory", l->obj->path);
        l->insns = insns;
        l->capacity = capacity;
    }
    memcpy(l->insns + l->count, l->obj->secs[sec].data + start * sizeof(struct xdpvm_insn),
           count * sizeof(struct xdpvm_insn));
    l->units[l->unit_count++] = (struct unit){sec, start, count, l->count};
    l->count += count;
    return 0;
}

/* The linked index of instruction target of section sec, appending its function if needed. */
static int linked_index(struct linker *l, size_t at, size_t sec, int64_t target, size_t *out)
{
    const struct unit *from = unit_of(l, at);
    const struct loader_section *s = &l->obj->secs[sec];
    if (s->kind != SEC_CODE || target < 0 || (uint64_t)target >= s->size / sizeof(struct xdpvm_insn))
        return loader_error(EINVAL, AT "target %lld of section '%s' is outside its code", AT_ARGS(l, at, from),
                            (long long)target, s->name);
    for (size_t u = 0; u < l->unit_count; u++) {
        const struct unit *unit = &l->units[u];
        if (unit->sec == sec && (size_t)target >= unit->start && (size_t)target < unit->start + unit->count) {
            *out = unit->base + ((size_t)target - unit->start);
            return 0;
        }
    }
    const struct loader_symbol *fn = loader_function_at(l->obj, sec, (size_t)target);
    if (!fn)
        return loader_error(EINVAL, AT "target %lld of section '%s' is in no function", AT_ARGS(l, at, from),
                            (long long)target, s->name);
    size_t start = fn->value / sizeof(struct xdpvm_insn);
    int err = append_unit(l, sec, start, loader_function_length(l->obj, fn));
    if (err)
        return err;
    *out = l->units[l->unit_count - 1].base + ((size_t)target - start);
    return 0;
}

static int add_map(struct linker *l, struct xdpvm_map *map)
{
    for (size_t i = 0; i < l->map_count; i++)
        if (l->maps[i] == map)
            return 0;
    struct xdpvm_map **maps = realloc(l->maps, (l->map_count + 1) * sizeof(*maps));
    if (!maps)
        return loader_error(ENOMEM, "%s: out of memory", l->obj->path);
    l->maps = maps;
    l->maps[l->map_count++] = map;
    return 0;
}

static void set_imm64(struct xdpvm_insn *lddw, uint64_t value)
{
    lddw[0].imm = (int32_t)(uint32_t)value;
    lddw[1].imm = (int32_t)(uint32_t)(value >> 32);
}

static const struct loader_reloc *reloc_at(const struct loader_section *sec, size_t insn)
{
    uint64_t offset = insn * sizeof(struct xdpvm_insn);
    size_t lo = 0, hi = sec->reloc_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sec->relocs[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < sec->reloc_count && sec->relocs[lo].offset == offset ? &sec->relocs[lo] : NULL;
}

static int undefined_symbol(const struct linker *l, size_t at, const struct loader_symbol *sym)
{
    const struct unit *u = unit_of(l, at);
    return loader_error(ENOENT, AT "reference to undefined symbol '%s' (extern variables, kconfig and kfuncs are not supported)",
                        AT_ARGS(l, at, u), sym->name);
}

static int resolve_lddw(struct linker *l, size_t at, const struct loader_reloc *reloc)
{
    const struct unit *u = unit_of(l, at);
    struct xdpvm_insn *insn = &l->insns[at];
    if (at + 1 >= u->base + u->count)
        return loader_error(EINVAL, AT "lddw without its second half", AT_ARGS(l, at, u));
    if (!reloc) {
        if (insn->src == XDPVM_PSEUDO_NONE)
            return 0;
        return loader_error(EINVAL, AT "lddw with pseudo source %u but no relocation saying what it refers to",
                            AT_ARGS(l, at, u), insn->src);
    }
    if (reloc->type != RELOC_64_64)
        return loader_error(EINVAL, AT "%s on lddw, expected R_BPF_64_64", AT_ARGS(l, at, u),
                            describe_reloc(reloc->type, (char[48]){0}, 48));
    const struct loader_symbol *sym = &l->obj->syms[reloc->sym];
    if (sym->shndx == SHN_UNDEF)
        return undefined_symbol(l, at, sym);
    if (sym->shndx >= l->obj->sec_count)
        return loader_error(EINVAL, AT "symbol '%s' is in special section %u", AT_ARGS(l, at, u), sym->name, sym->shndx);
    const struct loader_section *target = &l->obj->secs[sym->shndx];
    switch (target->kind) {
    case SEC_MAPS_BTF:
    case SEC_MAPS_LEGACY: {
        struct xdpvm_object_map *m = loader_map_at(l->obj, sym->shndx, sym->value);
        if (!m || !m->map)
            return loader_error(EINVAL, AT "symbol '%s' (offset %llu of '%s') is not a map definition", AT_ARGS(l, at, u),
                                sym->name, (unsigned long long)sym->value, target->name);
        insn->src = XDPVM_PSEUDO_MAP_FD;
        set_imm64(insn, (uint64_t)(uintptr_t)m->map);
        return add_map(l, m->map);
    }
    case SEC_DATA: {
        struct xdpvm_object_map *m = target->data_map >= 0 ? &l->obj->maps[target->data_map] : NULL;
        uint64_t offset = sym->value + (uint64_t)(int64_t)insn->imm;
        if (!m || !m->map || offset > m->spec.value_size)
            return loader_error(EINVAL, AT "symbol '%s' + %d is outside section '%s' (%zu bytes)", AT_ARGS(l, at, u),
                                sym->name, insn->imm, target->name, target->size);
        uint32_t key = 0;
        uint8_t *value = xdpvm_map_lookup(m->map, &key, 0);
        if (!value)
            return loader_error(EINVAL, "%s: map '%s': global data value missing", l->obj->path, m->name);
        insn->src = XDPVM_PSEUDO_MAP_VALUE;
        set_imm64(insn, (uint64_t)(uintptr_t)(value + offset));
        return add_map(l, m->map);
    }
    case SEC_CODE: {
        uint64_t byte = sym->value + (uint64_t)(int64_t)insn->imm;
        if (byte % sizeof(struct xdpvm_insn))
            return loader_error(EINVAL, AT "function address '%s' + %d is not at an instruction", AT_ARGS(l, at, u),
                                sym->name, insn->imm);
        size_t index;
        int err = linked_index(l, at, sym->shndx, (int64_t)(byte / sizeof(struct xdpvm_insn)), &index);
        if (err)
            return err;
        insn = &l->insns[at]; /* appending may have moved the array */
        insn->src = XDPVM_PSEUDO_FUNC;
        set_imm64(insn, 0);
        insn->imm = (int32_t)((int64_t)index - (int64_t)at - 1);
        return 0;
    }
    default:
        return loader_error(EINVAL, AT "symbol '%s' is in section '%s', which is neither maps, global data nor code",
                            AT_ARGS(l, at, u), sym->name, target->name);
    }
}

static int resolve_local_call(struct linker *l, size_t at, const struct loader_reloc *reloc)
{
    const struct unit *u = unit_of(l, at);
    size_t sec = u->sec;
    size_t origin = u->start + (at - u->base);
    int64_t target;
    if (reloc) {
        if (reloc->type != RELOC_64_32)
            return loader_error(EINVAL, AT "%s on a call, expected R_BPF_64_32", AT_ARGS(l, at, u),
                                describe_reloc(reloc->type, (char[48]){0}, 48));
        const struct loader_symbol *sym = &l->obj->syms[reloc->sym];
        if (sym->shndx == SHN_UNDEF)
            return undefined_symbol(l, at, sym);
        if (sym->shndx >= l->obj->sec_count || sym->value % sizeof(struct xdpvm_insn))
            return loader_error(EINVAL, AT "call to symbol '%s', which is not a function", AT_ARGS(l, at, u), sym->name);
        /* Global functions: imm is -1. Static ones: the relocation is against the section
         * symbol and imm + 1 is the function's index in it. */
        sec = sym->shndx;
        target = (int64_t)(sym->value / sizeof(struct xdpvm_insn)) + l->insns[at].imm + 1;
    } else {
        target = (int64_t)origin + l->insns[at].imm + 1; /* same section: imm already relative */
    }
    size_t index;
    int err = linked_index(l, at, sec, target, &index);
    if (err)
        return err;
    l->insns[at].imm = (int32_t)((int64_t)index - (int64_t)at - 1);
    return 0;
}

static int check_helper_call(struct linker *l, size_t at, const struct loader_reloc *reloc)
{
    const struct unit *u = unit_of(l, at);
    struct xdpvm_insn *insn = &l->insns[at];
    if (reloc) {
        const struct loader_symbol *sym = &l->obj->syms[reloc->sym];
        if (sym->shndx == SHN_UNDEF)
            return undefined_symbol(l, at, sym);
        return loader_error(EINVAL, AT "helper call with a relocation against '%s'", AT_ARGS(l, at, u), sym->name);
    }
    const struct xdpvm_helper_table *table = l->program->prog.helpers;
    int32_t id = insn->imm;
    if (id >= 0 && id < XDPVM_MAX_HELPER_ID && table && table->by_id[id])
        return 0;
    const char *name = id >= 0 ? xdpvm_helper_kernel_name((uint32_t)id) : NULL;
    if (!name)
        return loader_error(ENOENT, AT "call to helper %d, which the kernel does not have", AT_ARGS(l, at, u), id);
    return loader_error(ENOTSUP, AT "call to helper %d (bpf_%s), which xdpvm does not provide to %s programs",
                        AT_ARGS(l, at, u), id, strncmp(name, "bpf_", 4) ? name : name + 4, l->program->section);
}

static int resolve(struct linker *l)
{
    /* l->count grows while we walk: appended subprograms get resolved too. */
    for (size_t at = 0; at < l->count; at++) {
        const struct unit *u = unit_of(l, at);
        const struct loader_reloc *reloc = reloc_at(&l->obj->secs[u->sec], u->start + (at - u->base));
        struct xdpvm_insn *insn = &l->insns[at];
        int err = 0;
        if (insn->code == CODE_LDDW) {
            err = resolve_lddw(l, at, reloc);
            at++;
        } else if (insn->code == CODE_CALL && insn->src == XDPVM_CALL_LOCAL) {
            err = resolve_local_call(l, at, reloc);
        } else if (insn->code == CODE_CALL && insn->src == XDPVM_CALL_HELPER) {
            err = check_helper_call(l, at, reloc);
        } else if (insn->code == CODE_CALL && insn->src == XDPVM_CALL_KFUNC) {
            if (reloc && l->obj->syms[reloc->sym].shndx == SHN_UNDEF)
                err = undefined_symbol(l, at, &l->obj->syms[reloc->sym]);
            else
                err = loader_error(ENOTSUP, AT "kfunc calls are not supported", AT_ARGS(l, at, u));
        } else if (reloc) {
            err = loader_error(EINVAL, AT "%s on an instruction that is neither lddw nor call (opcode 0x%02x)",
                               AT_ARGS(l, at, u), describe_reloc(reloc->type, (char[48]){0}, 48), insn->code);
        }
        if (err)
            return err;
    }
    return 0;
}

int loader_link_program(struct xdpvm_object *obj, struct xdpvm_program *program)
{
    struct linker l = {.obj = obj, .program = program};
    struct xdpvm_prog *prog = &program->prog;
    memset(prog, 0, sizeof(*prog));
    snprintf(prog->name, sizeof(prog->name), "%s", program->name);
    snprintf(prog->section, sizeof(prog->section), "%s", program->section);
    prog->type = program->type;
    prog->helpers = xdpvm_helpers_for(program->type);
    prog->exec = xdpvm_interp_run;

    int err = append_unit(&l, program->sec, program->first_insn, program->insn_count);
    if (!err)
        err = resolve(&l);
    if (!err) {
        struct xdpvm_decode_error derr = {0};
        if (xdpvm_isa_check_program(l.insns, l.count, &derr)) {
            const struct unit *u = unit_of(&l, derr.index < l.count ? derr.index : l.count - 1);
            err = loader_error(EINVAL, AT "%s", AT_ARGS(&l, derr.index < l.count ? derr.index : l.count - 1, u),
                               derr.message);
        }
    }
    free(l.units);
    if (err) {
        free(l.insns);
        free(l.maps);
        return err;
    }
    prog->insns = l.insns;
    prog->count = l.count;
    prog->maps = l.maps;
    prog->map_count = l.map_count;
    program->linked = true;
    return 0;
}
