/* Map definitions of an object: BTF-defined maps in SEC(".maps") (read through libbpf's public
 * BTF API), legacy SEC("maps") struct bpf_map_def, global data sections, and prog_array
 * initial values (`.values = { [i] = &prog }`). */
#include "loader/loader_internal.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <ctype.h>
#include <errno.h>
#include <libelf.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

/* Type chains in BTF are short; a longer one is a corrupted (possibly cyclic) object. */
#define MAX_BTF_CHAIN 32

/* The kernel refuses array map values larger than KMALLOC_MAX_SIZE (4 MiB on x86-64), and a
 * .bss size comes from the header alone: check it before allocating the image. */
#define MAX_GLOBAL_DATA (4u << 20)

/* The kernel's struct bpf_map_def, the layout of legacy SEC("maps") entries. */
struct legacy_map_def {
    uint32_t type, key_size, value_size, max_entries, map_flags;
};
/* iproute2's struct bpf_elf_map (tc objects), a superset of it. */
struct iproute2_map_def {
    uint32_t type, key_size, value_size, max_entries, map_flags;
    uint32_t id, pinning, inner_id, inner_idx;
};

static struct xdpvm_object_map *new_map(struct xdpvm_object *obj)
{
    struct xdpvm_object_map *grown = realloc(obj->maps, (obj->map_count + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    obj->maps = grown;
    struct xdpvm_object_map *m = &obj->maps[obj->map_count++];
    memset(m, 0, sizeof(*m));
    return m;
}

static int check_map_type(const struct xdpvm_object *obj, const struct xdpvm_object_map *m)
{
    if (xdpvm_map_type_name(m->spec.type))
        return 0;
    const char *kernel_name = libbpf_bpf_map_type_str((enum bpf_map_type)m->spec.type);
    return loader_error(ENOTSUP, "%s: section '%s': map '%s': unsupported map type %u (%s)", obj->path,
                        m->section, m->name, m->spec.type, kernel_name ? kernel_name : "unknown to the kernel too");
}

static const struct btf_type *skip_mods_and_typedefs(const struct btf *btf, uint32_t id, uint32_t *res_id)
{
    const struct btf_type *t = btf__type_by_id(btf, id);
    for (int depth = 0; t && (btf_is_mod(t) || btf_is_typedef(t)); depth++) {
        if (depth == MAX_BTF_CHAIN)
            return NULL;
        id = t->type;
        t = btf__type_by_id(btf, id);
    }
    if (res_id)
        *res_id = id;
    return t;
}

/* __uint(name, N) is `int (*name)[N]`: N is the array length behind the pointer. */
static bool btf_field_uint(const struct btf *btf, const struct btf_member *m, uint32_t *out)
{
    const struct btf_type *ptr = skip_mods_and_typedefs(btf, m->type, NULL);
    if (!ptr || !btf_is_ptr(ptr))
        return false;
    const struct btf_type *arr = skip_mods_and_typedefs(btf, ptr->type, NULL);
    if (!arr || !btf_is_array(arr))
        return false;
    *out = btf_array(arr)->nelems;
    return true;
}

/* __type(name, T) is `T *name`: the size of T, and T's id. */
static bool btf_field_type_size(const struct btf *btf, const struct btf_member *m, uint32_t *out, uint32_t *type_id)
{
    const struct btf_type *ptr = skip_mods_and_typedefs(btf, m->type, NULL);
    if (!ptr || !btf_is_ptr(ptr))
        return false;
    long long size = btf__resolve_size(btf, ptr->type);
    if (size < 0 || size > UINT32_MAX)
        return false;
    *out = (uint32_t)size;
    *type_id = ptr->type;
    return true;
}

static const struct loader_symbol *symbol_in_section(const struct xdpvm_object *obj, size_t sec, const char *name)
{
    for (size_t i = 0; i < obj->sym_count; i++) {
        const struct loader_symbol *s = &obj->syms[i];
        if (s->shndx == sec && s->type != STT_SECTION && strcmp(s->name, name) == 0)
            return s;
    }
    return NULL;
}

static int parse_btf_map(struct xdpvm_object *obj, size_t sec, const struct btf_var_secinfo *vsi)
{
    const struct btf *btf = obj->btf;
    const char *where = obj->secs[sec].name;
    const struct btf_type *var = btf__type_by_id(btf, vsi->type);
    if (!var || !btf_is_var(var))
        return loader_error(EINVAL, "%s: section '%s': BTF entry %u is not a variable", obj->path, where, vsi->type);
    const char *name = btf__name_by_offset(btf, var->name_off);
    if (!name || !*name)
        return loader_error(EINVAL, "%s: section '%s': map variable without a name", obj->path, where);
    uint32_t def_id;
    const struct btf_type *def = skip_mods_and_typedefs(btf, var->type, &def_id);
    if (!def || !btf_is_struct(def))
        return loader_error(EINVAL, "%s: section '%s': map '%s': definition is not a struct", obj->path, where, name);
    const struct loader_symbol *sym = symbol_in_section(obj, sec, name);
    if (!sym)
        return loader_error(EINVAL, "%s: section '%s': map '%s': no symbol for it in the symbol table", obj->path,
                            where, name);
    long long def_size = btf__resolve_size(btf, def_id);
    if (def_size < 0 || sym->value > obj->secs[sec].size || (uint64_t)def_size > obj->secs[sec].size - sym->value)
        return loader_error(EINVAL, "%s: section '%s': map '%s': definition does not fit the section", obj->path,
                            where, name);

    struct xdpvm_object_map *m = new_map(obj);
    if (!m)
        return loader_error(ENOMEM, "%s: out of memory", obj->path);
    snprintf(m->name, sizeof(m->name), "%s", name);
    snprintf(m->section, sizeof(m->section), "%s", where);
    snprintf(m->spec.name, sizeof(m->spec.name), "%s", name);
    m->def_section = sec;
    m->def_offset = sym->value;
    /* The symbol also covers `.values = {...}` beyond the struct's flexible array. */
    m->def_size = sym->size > (uint64_t)def_size && sym->size <= obj->secs[sec].size - sym->value ? sym->size
                                                                                                 : (uint64_t)def_size;

    uint32_t key_type_size = 0, value_type_size = 0;
    const struct btf_member *members = btf_members(def);
    for (unsigned i = 0; i < btf_vlen(def); i++) {
        const struct btf_member *member = &members[i];
        const char *field = btf__name_by_offset(btf, member->name_off);
        if (!field)
            field = "";
        bool ok = true;
        uint32_t ignored;
        if (strcmp(field, "type") == 0)
            ok = btf_field_uint(btf, member, &m->spec.type);
        else if (strcmp(field, "max_entries") == 0)
            ok = btf_field_uint(btf, member, &m->spec.max_entries);
        else if (strcmp(field, "map_flags") == 0)
            ok = btf_field_uint(btf, member, &m->spec.map_flags);
        else if (strcmp(field, "key_size") == 0)
            ok = btf_field_uint(btf, member, &m->spec.key_size);
        else if (strcmp(field, "value_size") == 0)
            ok = btf_field_uint(btf, member, &m->spec.value_size);
        else if (strcmp(field, "key") == 0)
            ok = btf_field_type_size(btf, member, &key_type_size, &m->btf_key_type_id);
        else if (strcmp(field, "value") == 0)
            ok = btf_field_type_size(btf, member, &value_type_size, &m->btf_value_type_id);
        else if (strcmp(field, "pinning") == 0) {
            ok = btf_field_uint(btf, member, &ignored);
            loader_warn(obj, "%s: map '%s': pinning ignored (xdpvm maps live in the process)", obj->path, name);
        } else if (strcmp(field, "numa_node") == 0 || strcmp(field, "map_extra") == 0)
            ok = btf_field_uint(btf, member, &ignored);
        else if (strcmp(field, "values") == 0) {
            m->has_values = true;
            m->values_offset = btf_member_bit_offset(def, i) / 8;
        } else
            return loader_error(ENOTSUP, "%s: section '%s': map '%s': unknown field '%s'", obj->path, where, name,
                                field);
        if (!ok)
            return loader_error(EINVAL, "%s: section '%s': map '%s': field '%s' has an unexpected BTF type", obj->path,
                                where, name, field);
    }
    if (key_type_size) {
        if (m->spec.key_size && m->spec.key_size != key_type_size)
            return loader_error(EINVAL, "%s: map '%s': key_size %u conflicts with the key type's size %u", obj->path,
                                name, m->spec.key_size, key_type_size);
        m->spec.key_size = key_type_size;
    }
    if (value_type_size) {
        if (m->spec.value_size && m->spec.value_size != value_type_size)
            return loader_error(EINVAL, "%s: map '%s': value_size %u conflicts with the value type's size %u",
                                obj->path, name, m->spec.value_size, value_type_size);
        m->spec.value_size = value_type_size;
    }
    /* For prog arrays the value is a program: the kernel wants 4 bytes (an fd). */
    if (m->has_values && m->spec.type == XDPVM_MAP_PROG_ARRAY && !m->spec.value_size)
        m->spec.value_size = sizeof(uint32_t);
    if (m->has_values && m->spec.type == XDPVM_MAP_PROG_ARRAY && !m->spec.key_size)
        m->spec.key_size = sizeof(uint32_t);
    return check_map_type(obj, m);
}

static int parse_btf_maps(struct xdpvm_object *obj, size_t sec)
{
    const struct loader_section *s = &obj->secs[sec];
    if (!obj->btf)
        return loader_error(EINVAL, "%s: section '.maps' needs BTF, but the object has no valid .BTF section (compile with -g)",
                            obj->path);
    const struct btf_type *datasec = NULL;
    for (uint32_t id = 1; id < btf__type_cnt(obj->btf); id++) {
        const struct btf_type *t = btf__type_by_id(obj->btf, id);
        const char *name = t ? btf__name_by_offset(obj->btf, t->name_off) : NULL;
        if (t && btf_is_datasec(t) && name && strcmp(name, s->name) == 0) {
            datasec = t;
            break;
        }
    }
    if (!datasec)
        return loader_error(EINVAL, "%s: section '.maps': no BTF DATASEC describes it", obj->path);
    const struct btf_var_secinfo *vars = btf_var_secinfos(datasec);
    for (unsigned i = 0; i < btf_vlen(datasec); i++) {
        int err = parse_btf_map(obj, sec, &vars[i]);
        if (err)
            return err;
    }
    return 0;
}

static int parse_legacy_maps(struct xdpvm_object *obj, size_t sec)
{
    const struct loader_section *s = &obj->secs[sec];
    size_t count = 0;
    for (size_t i = 0; i < obj->sym_count; i++)
        if (obj->syms[i].shndx == sec && obj->syms[i].type != STT_SECTION && *obj->syms[i].name)
            count++;
    if (count == 0)
        return s->size ? loader_error(EINVAL, "%s: section 'maps': %zu bytes but no map symbols", obj->path, s->size) : 0;
    if (!s->data || s->size % count)
        return loader_error(EINVAL, "%s: section 'maps': %zu bytes do not divide into %zu map definitions", obj->path,
                            s->size, count);
    size_t def_size = s->size / count;
    if (def_size < sizeof(struct legacy_map_def))
        return loader_error(EINVAL, "%s: section 'maps': definitions of %zu bytes are smaller than struct bpf_map_def (%zu)",
                            obj->path, def_size, sizeof(struct legacy_map_def));
    for (size_t i = 0; i < obj->sym_count; i++) {
        const struct loader_symbol *sym = &obj->syms[i];
        if (sym->shndx != sec || sym->type == STT_SECTION || !*sym->name)
            continue;
        if (sym->value % def_size || sym->value > s->size - def_size)
            return loader_error(EINVAL, "%s: section 'maps': map '%s' at offset %llu is not at a definition", obj->path,
                                sym->name, (unsigned long long)sym->value);
        struct legacy_map_def def;
        memcpy(&def, s->data + sym->value, sizeof(def));
        size_t known = sizeof(def);
        if (def_size >= sizeof(struct iproute2_map_def)) {
            /* iproute2's struct bpf_elf_map: the same five fields, then id, pinning and the
             * inner map of map-in-map. Pinning is ignored as for BTF maps. */
            struct iproute2_map_def elf_map;
            memcpy(&elf_map, s->data + sym->value, sizeof(elf_map));
            if (elf_map.inner_id || elf_map.inner_idx)
                return loader_error(ENOTSUP, "%s: section 'maps': map '%s': map-in-map (inner_id/inner_idx) is not supported",
                                    obj->path, sym->name);
            if (elf_map.pinning)
                loader_warn(obj, "%s: map '%s': pinning ignored (xdpvm maps live in the process)", obj->path,
                            sym->name);
            known = sizeof(elf_map);
        }
        for (size_t b = known; b < def_size; b++)
            if (s->data[sym->value + b])
                return loader_error(ENOTSUP, "%s: section 'maps': map '%s' sets fields beyond struct bpf_map_def",
                                    obj->path, sym->name);
        struct xdpvm_object_map *m = new_map(obj);
        if (!m)
            return loader_error(ENOMEM, "%s: out of memory", obj->path);
        snprintf(m->name, sizeof(m->name), "%s", sym->name);
        snprintf(m->section, sizeof(m->section), "%s", s->name);
        snprintf(m->spec.name, sizeof(m->spec.name), "%s", sym->name);
        m->spec.type = def.type;
        m->spec.key_size = def.key_size;
        m->spec.value_size = def.value_size;
        m->spec.max_entries = def.max_entries;
        m->spec.map_flags = def.map_flags;
        m->def_section = sec;
        m->def_offset = sym->value;
        m->def_size = def_size;
        int err = check_map_type(obj, m);
        if (err)
            return err;
    }
    return 0;
}

/* libbpf's naming of internal maps: .data, .rodata and .bss get as much of the object name
 * as fits before the section name (which counts as at least 7 characters) in the kernel's 15
 * visible characters; custom sections (.data.foo, a second dot) keep just their own name. Then
 * anything but [A-Za-z0-9_.] becomes '_'. */
static void global_data_map_name(const struct xdpvm_object *obj, const char *section, char *out, size_t out_size)
{
    const size_t visible = 15;
    size_t suffix = strlen(section) > 7 ? strlen(section) : 7;
    if (suffix > visible)
        suffix = visible;
    size_t prefix = 0;
    if (!strchr(section + 1, '.')) {
        prefix = visible - suffix;
        if (prefix > strlen(obj->name))
            prefix = strlen(obj->name);
    }
    char name[16];
    snprintf(name, sizeof(name), "%.*s%.*s", (int)prefix, obj->name, (int)suffix, section);
    for (char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.')
            *p = '_';
    snprintf(out, out_size, "%s", name);
}

static uint32_t datasec_id(const struct xdpvm_object *obj, const char *section)
{
    for (uint32_t id = 1; obj->btf && id < btf__type_cnt(obj->btf); id++) {
        const struct btf_type *t = btf__type_by_id(obj->btf, id);
        const char *name = t ? btf__name_by_offset(obj->btf, t->name_off) : NULL;
        if (t && btf_is_datasec(t) && name && strcmp(name, section) == 0)
            return id;
    }
    return 0;
}

/* Whether BTF describes a non-static variable in this section (libbpf's map_is_mmapable):
 * compiler-made sections such as .rodata.str1.1 or .rodata.cst16 have none. */
static bool section_has_global_variable(const struct xdpvm_object *obj, const char *section)
{
    uint32_t id = datasec_id(obj, section);
    if (id) {
        const struct btf_type *t = btf__type_by_id(obj->btf, id);
        const struct btf_var_secinfo *vars = btf_var_secinfos(t);
        for (unsigned i = 0; i < btf_vlen(t); i++) {
            const struct btf_type *var = btf__type_by_id(obj->btf, vars[i].type);
            if (var && btf_is_var(var) && btf_var(var)->linkage != BTF_VAR_STATIC)
                return true;
        }
    }
    return false;
}

static int add_global_data_map(struct xdpvm_object *obj, size_t sec)
{
    struct loader_section *s = &obj->secs[sec];
    if (s->size == 0)
        return 0;
    if (s->size > MAX_GLOBAL_DATA)
        return loader_error(E2BIG, "%s: section '%s': %zu bytes is more than an array map value may hold (%u, the kernel's KMALLOC_MAX_SIZE)",
                            obj->path, s->name, s->size, MAX_GLOBAL_DATA);
    struct xdpvm_object_map *m = new_map(obj);
    if (!m)
        return loader_error(ENOMEM, "%s: out of memory", obj->path);
    global_data_map_name(obj, s->name, m->name, sizeof(m->name));
    snprintf(m->section, sizeof(m->section), "%s", s->name);
    snprintf(m->spec.name, sizeof(m->spec.name), "%s", m->name);
    m->spec.type = XDPVM_MAP_ARRAY;
    m->spec.key_size = sizeof(uint32_t);
    m->spec.value_size = (uint32_t)s->size;
    m->spec.max_entries = 1;
    m->global_data = true;
    m->read_only = strncmp(s->name, ".rodata", 7) == 0;
    /* As libbpf: programs may not write .rodata (the verifier checks BPF_F_RDONLY_PROG);
     * sections holding global variables can be mapped by user space. */
    m->spec.map_flags = (m->read_only ? BPF_F_RDONLY_PROG : 0) |
                        (section_has_global_variable(obj, s->name) ? BPF_F_MMAPABLE : 0);
    m->btf_value_type_id = datasec_id(obj, s->name);
    m->def_section = sec;
    m->image = calloc(1, s->size);
    if (!m->image)
        return loader_error(ENOMEM, "%s: out of memory", obj->path);
    if (s->type != SHT_NOBITS && s->data)
        memcpy(m->image, s->data, s->size);
    s->data_map = (int)(obj->map_count - 1);
    return 0;
}

/* `.values = { [i] = &prog }` in a prog_array definition: relocations in .rel.maps, one per
 * initialised slot, against the program's symbol. */
static int parse_prog_array_values(struct xdpvm_object *obj, size_t maps_sec)
{
    for (size_t i = 1; i < obj->sec_count; i++) {
        Elf_Scn *scn = elf_getscn(obj->elf, i);
        GElf_Shdr sh;
        if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_type != SHT_REL || sh.sh_info != maps_sec)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        size_t count = d ? d->d_size / sizeof(Elf64_Rel) : 0;
        for (size_t r = 0; r < count; r++) {
            GElf_Rel rel;
            if (!gelf_getrel(d, (int)r, &rel))
                return loader_error(EINVAL, "%s: section '%s': relocation %zu unreadable", obj->path, obj->secs[i].name, r);
            size_t sym_index = GELF_R_SYM(rel.r_info);
            if (sym_index >= obj->sym_count)
                return loader_error(EINVAL, "%s: section '%s': relocation %zu refers to symbol %zu of %zu", obj->path,
                                    obj->secs[i].name, r, sym_index, obj->sym_count);
            const struct loader_symbol *sym = &obj->syms[sym_index];
            struct xdpvm_object_map *m = loader_map_at(obj, maps_sec, rel.r_offset);
            if (!m || !m->has_values || rel.r_offset < m->def_offset + m->values_offset)
                return loader_error(EINVAL, "%s: section '.maps': relocation at offset %llu is not in a map's `values`",
                                    obj->path, (unsigned long long)rel.r_offset);
            if (m->spec.type != XDPVM_MAP_PROG_ARRAY)
                return loader_error(ENOTSUP, "%s: map '%s': initial `values` are supported for prog_array maps only (map-in-map is not)",
                                    obj->path, m->name);
            uint64_t slot = (rel.r_offset - m->def_offset - m->values_offset) / sizeof(uint64_t);
            size_t program = obj->prog_count;
            for (size_t p = 0; p < obj->prog_count; p++)
                if (obj->progs[p].sec == sym->shndx && obj->progs[p].first_insn * sizeof(struct xdpvm_insn) == sym->value &&
                    sym->type == STT_FUNC)
                    program = p;
            if (program == obj->prog_count)
                return loader_error(EINVAL, "%s: map '%s': slot %llu refers to '%s', which is not a program", obj->path,
                                    m->name, (unsigned long long)slot, sym->name);
            if (slot >= m->spec.max_entries)
                return loader_error(EINVAL, "%s: map '%s': slot %llu is beyond max_entries %u", obj->path, m->name,
                                    (unsigned long long)slot, m->spec.max_entries);
            struct loader_prog_slot *grown = realloc(m->prog_slots, (m->prog_slot_count + 1) * sizeof(*grown));
            if (!grown)
                return loader_error(ENOMEM, "%s: out of memory", obj->path);
            m->prog_slots = grown;
            m->prog_slots[m->prog_slot_count++] = (struct loader_prog_slot){(uint32_t)slot, program};
        }
    }
    return 0;
}

/* clang leaves DATASEC sizes and variable offsets 0 in object files; the symbol table has
 * them. Fill them in as libbpf does, so that BTF describes the global data maps' layout. */
static void fix_up_datasecs(struct xdpvm_object *obj)
{
    for (uint32_t id = 1; obj->btf && id < btf__type_cnt(obj->btf); id++) {
        /* libbpf's BTF lives in memory it owns and edits the same way (btf_fixup_datasec). */
        struct btf_type *t = (struct btf_type *)btf__type_by_id(obj->btf, id);
        const char *name = t ? btf__name_by_offset(obj->btf, t->name_off) : NULL;
        if (!t || !btf_is_datasec(t) || !name)
            continue;
        size_t sec = 0;
        for (size_t i = 1; i < obj->sec_count && !sec; i++)
            if (strcmp(obj->secs[i].name, name) == 0)
                sec = i;
        if (!sec)
            continue;
        if (obj->secs[sec].size <= UINT32_MAX)
            t->size = (uint32_t)obj->secs[sec].size;
        struct btf_var_secinfo *vars = btf_var_secinfos(t);
        for (unsigned v = 0; v < btf_vlen(t); v++) {
            const struct btf_type *var = btf__type_by_id(obj->btf, vars[v].type);
            const char *var_name = var ? btf__name_by_offset(obj->btf, var->name_off) : NULL;
            const struct loader_symbol *sym = var_name ? symbol_in_section(obj, sec, var_name) : NULL;
            if (sym && sym->value <= obj->secs[sec].size && vars[v].size <= obj->secs[sec].size - sym->value)
                vars[v].offset = (uint32_t)sym->value;
        }
    }
}

/* CO-RE relocations (.BTF.ext) adapt field offsets to the running kernel's BTF; xdpvm runs
 * no kernel, so offsets stay as compiled, which is right for UAPI structs such as xdp_md. */
static void warn_about_core_relocations(const struct xdpvm_object *obj)
{
    /* struct btf_ext_header: magic, version, flags, hdr_len, then (offset, length) pairs for
     * func_info, line_info and, when hdr_len covers it, core_relo. */
    enum { MAGIC = 0xeb9f, CORE_RELO_LEN_AT = 28, HEADER_WITH_CORE = 32 };
    for (size_t i = 1; i < obj->sec_count; i++) {
        if (strcmp(obj->secs[i].name, ".BTF.ext") || obj->secs[i].type != SHT_PROGBITS)
            continue;
        Elf_Data *d = elf_getdata(elf_getscn(obj->elf, i), NULL);
        if (!d || !d->d_buf || d->d_size < HEADER_WITH_CORE)
            return;
        const uint8_t *h = d->d_buf;
        uint16_t magic;
        uint32_t header_len, core_len;
        memcpy(&magic, h, sizeof(magic));
        memcpy(&header_len, h + 4, sizeof(header_len));
        memcpy(&core_len, h + CORE_RELO_LEN_AT, sizeof(core_len));
        if (magic == MAGIC && header_len >= HEADER_WITH_CORE && core_len > 0)
            loader_warn(obj, "%s: CO-RE relocations are not applied: field offsets stay as compiled (there is no kernel BTF to match)",
                        obj->path);
        return;
    }
}

struct xdpvm_object_map *loader_map_at(const struct xdpvm_object *obj, size_t sec, uint64_t offset)
{
    for (size_t i = 0; i < obj->map_count; i++) {
        struct xdpvm_object_map *m = &obj->maps[i];
        if (!m->global_data && m->def_section == sec && offset >= m->def_offset && offset - m->def_offset < m->def_size)
            return m;
    }
    return NULL;
}

int loader_parse_maps(struct xdpvm_object *obj)
{
    int err = 0;
    size_t btf_maps_sec = 0;
    for (size_t i = 1; i < obj->sec_count && !err; i++) {
        if (strcmp(obj->secs[i].name, ".BTF") == 0 && obj->secs[i].type == SHT_PROGBITS) {
            if (obj->btf) {
                err = loader_error(EINVAL, "%s: more than one .BTF section", obj->path);
                break;
            }
            Elf_Data *d = elf_getdata(elf_getscn(obj->elf, i), NULL);
            if (d && d->d_buf && d->d_size)
                obj->btf = btf__new(d->d_buf, (uint32_t)d->d_size);
            if (!obj->btf)
                loader_warn(obj, "%s: section '.BTF' is invalid; BTF-defined maps cannot be read", obj->path);
        }
    }
    if (!err) {
        fix_up_datasecs(obj);
        warn_about_core_relocations(obj);
    }
    for (size_t i = 1; i < obj->sec_count && !err; i++) {
        if (obj->secs[i].kind == SEC_MAPS_BTF) {
            btf_maps_sec = i;
            err = parse_btf_maps(obj, i);
        } else if (obj->secs[i].kind == SEC_MAPS_LEGACY)
            err = parse_legacy_maps(obj, i);
    }
    for (size_t i = 1; i < obj->sec_count && !err; i++)
        if (obj->secs[i].kind == SEC_DATA)
            err = add_global_data_map(obj, i);
    if (!err && btf_maps_sec)
        err = parse_prog_array_values(obj, btf_maps_sec);
    for (size_t i = 0; i < obj->map_count; i++)
        obj->maps[i].obj = obj;
    return err;
}
