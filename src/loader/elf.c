/* ELF side of open: sections, symbols, relocations and the programs they define. Every
 * offset and index taken from the file is checked before use: objects may be truncated or
 * corrupted. */
#include "loader/loader_internal.h"

#include <errno.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#ifndef EM_BPF
#define EM_BPF 247
#endif

/* A section name that is `base` or `base.<anything>` (".data", ".data.counters"). */
static bool is_data_section_name(const char *name, const char *base)
{
    size_t n = strlen(base);
    return strncmp(name, base, n) == 0 && (name[n] == '\0' || name[n] == '.');
}

/* libbpf's section table, reduced to the program types xdpvm runs. A matching entry is
 * either the exact name or the name followed by '/' (and for xdp, the ".frags" flavour). */
struct section_type {
    const char *prefix;
    enum xdpvm_prog_type type;
};
static const struct section_type known_sections[] = {
    {"xdp.frags", XDPVM_PROG_XDP}, {"xdp", XDPVM_PROG_XDP},
    {"tc", XDPVM_PROG_SCHED_CLS},  {"classifier", XDPVM_PROG_SCHED_CLS},
    {"action", XDPVM_PROG_SCHED_ACT}, {"socket", XDPVM_PROG_SOCKET_FILTER},
};

enum xdpvm_prog_type loader_prog_type_for_section(const char *section, bool *known)
{
    for (size_t i = 0; i < sizeof(known_sections) / sizeof(known_sections[0]); i++) {
        size_t n = strlen(known_sections[i].prefix);
        if (strncmp(section, known_sections[i].prefix, n) == 0 &&
            (section[n] == '\0' || section[n] == '/')) {
            *known = true;
            return known_sections[i].type;
        }
    }
    *known = false;
    return XDPVM_PROG_UNSPEC;
}

static enum section_kind classify(const char *name, const GElf_Shdr *sh)
{
    if (sh->sh_type == SHT_PROGBITS && (sh->sh_flags & SHF_EXECINSTR))
        return SEC_CODE;
    if (strcmp(name, ".maps") == 0)
        return SEC_MAPS_BTF;
    if (strcmp(name, "maps") == 0)
        return SEC_MAPS_LEGACY;
    if ((sh->sh_type == SHT_PROGBITS || sh->sh_type == SHT_NOBITS) && (sh->sh_flags & SHF_ALLOC) &&
        (is_data_section_name(name, ".data") || is_data_section_name(name, ".rodata") ||
         is_data_section_name(name, ".bss")))
        return SEC_DATA;
    return SEC_OTHER;
}

static int read_sections(struct xdpvm_object *obj, size_t *symtab_index)
{
    size_t shstrndx;
    if (elf_getshdrnum(obj->elf, &obj->sec_count) != 0 || elf_getshdrstrndx(obj->elf, &shstrndx) != 0)
        return loader_error(EINVAL, "%s: invalid ELF section header table (%s)", obj->path, elf_errmsg(-1));
    if (obj->sec_count == 0)
        return loader_error(EINVAL, "%s: no sections", obj->path);
    obj->secs = calloc(obj->sec_count, sizeof(*obj->secs));
    if (!obj->secs)
        return loader_error(ENOMEM, "%s: out of memory", obj->path);

    *symtab_index = 0;
    for (size_t i = 1; i < obj->sec_count; i++) {
        struct loader_section *sec = &obj->secs[i];
        sec->data_map = -1;
        Elf_Scn *scn = elf_getscn(obj->elf, i);
        GElf_Shdr sh;
        if (!scn || !gelf_getshdr(scn, &sh))
            return loader_error(EINVAL, "%s: section %zu: invalid header (%s)", obj->path, i, elf_errmsg(-1));
        sec->name = elf_strptr(obj->elf, shstrndx, sh.sh_name);
        if (!sec->name)
            return loader_error(EINVAL, "%s: section %zu: name offset %u is outside the section name table",
                                obj->path, i, sh.sh_name);
        sec->type = sh.sh_type;
        sec->flags = sh.sh_flags;
        sec->kind = classify(sec->name, &sh);
        if (sh.sh_type == SHT_NOBITS) {
            sec->size = sh.sh_size;
        } else if (sh.sh_type != SHT_NULL && sec->kind != SEC_OTHER) {
            Elf_Data *d = elf_getdata(scn, NULL);
            if (!d && sh.sh_size)
                return loader_error(EINVAL, "%s: section '%s': contents outside the file (%s)", obj->path,
                                    sec->name, elf_errmsg(-1));
            sec->data = d ? d->d_buf : NULL;
            sec->size = d ? d->d_size : 0;
            if (sec->size && !sec->data)
                return loader_error(EINVAL, "%s: section '%s': no contents", obj->path, sec->name);
        }
        if (sh.sh_type == SHT_SYMTAB) {
            if (*symtab_index)
                return loader_error(EINVAL, "%s: more than one symbol table", obj->path);
            *symtab_index = i;
        }
        if (sec->kind == SEC_CODE && sec->size % sizeof(struct xdpvm_insn))
            return loader_error(EINVAL, "%s: section '%s': size %zu is not a whole number of instructions",
                                obj->path, sec->name, sec->size);
        if (strcmp(sec->name, "license") == 0 && sh.sh_type == SHT_PROGBITS) {
            Elf_Data *d = elf_getdata(scn, NULL);
            if (d && d->d_buf) {
                size_t n = d->d_size < sizeof(obj->license) - 1 ? d->d_size : sizeof(obj->license) - 1;
                memcpy(obj->license, d->d_buf, n);
                obj->license[n] = '\0';
            }
        }
    }
    return 0;
}

static int read_symbols(struct xdpvm_object *obj, size_t symtab_index)
{
    if (!symtab_index)
        return loader_error(EINVAL, "%s: no symbol table (.symtab): was the object stripped?", obj->path);
    Elf_Scn *scn = elf_getscn(obj->elf, symtab_index);
    GElf_Shdr sh;
    Elf_Data *d = scn && gelf_getshdr(scn, &sh) ? elf_getdata(scn, NULL) : NULL;
    if (!d)
        return loader_error(EINVAL, "%s: symbol table: invalid contents (%s)", obj->path, elf_errmsg(-1));
    if (sh.sh_entsize != sizeof(Elf64_Sym))
        return loader_error(EINVAL, "%s: symbol table: entry size %llu, expected %zu", obj->path,
                            (unsigned long long)sh.sh_entsize, sizeof(Elf64_Sym));
    if (sh.sh_link == 0 || sh.sh_link >= obj->sec_count)
        return loader_error(EINVAL, "%s: symbol table: string table index %u is invalid", obj->path, sh.sh_link);
    size_t count = d->d_size / sizeof(Elf64_Sym);
    obj->syms = calloc(count ? count : 1, sizeof(*obj->syms));
    if (!obj->syms)
        return loader_error(ENOMEM, "%s: out of memory", obj->path);
    obj->sym_count = count;
    for (size_t i = 0; i < count; i++) {
        GElf_Sym s;
        if (!gelf_getsym(d, (int)i, &s))
            return loader_error(EINVAL, "%s: symbol %zu: unreadable (%s)", obj->path, i, elf_errmsg(-1));
        struct loader_symbol *sym = &obj->syms[i];
        const char *name = s.st_name ? elf_strptr(obj->elf, sh.sh_link, s.st_name) : "";
        if (!name)
            return loader_error(EINVAL, "%s: symbol %zu: name offset %u is outside the string table",
                                obj->path, i, s.st_name);
        sym->type = GELF_ST_TYPE(s.st_info);
        sym->bind = GELF_ST_BIND(s.st_info);
        sym->value = s.st_value;
        sym->size = s.st_size;
        sym->shndx = s.st_shndx;
        /* Section symbols are unnamed; name them after their section for messages. */
        if (sym->type == STT_SECTION && !*name && sym->shndx < obj->sec_count && obj->secs[sym->shndx].name)
            name = obj->secs[sym->shndx].name;
        sym->name = name;
    }
    return 0;
}

static int compare_relocs(const void *a, const void *b)
{
    const struct loader_reloc *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int read_relocations(struct xdpvm_object *obj)
{
    for (size_t i = 1; i < obj->sec_count; i++) {
        Elf_Scn *scn = elf_getscn(obj->elf, i);
        GElf_Shdr sh;
        if (!scn || !gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_REL && sh.sh_type != SHT_RELA))
            continue;
        if (sh.sh_info == 0 || sh.sh_info >= obj->sec_count)
            return loader_error(EINVAL, "%s: section '%s': relocations for section index %u, which does not exist",
                                obj->path, obj->secs[i].name, sh.sh_info);
        struct loader_section *target = &obj->secs[sh.sh_info];
        if (target->kind != SEC_CODE)
            continue; /* debug info, BTF.ext; .maps relocations are read by mapdefs.c */
        if (sh.sh_type == SHT_RELA)
            return loader_error(EINVAL, "%s: section '%s': RELA relocations for code are not used by BPF",
                                obj->path, obj->secs[i].name);
        Elf_Data *d = elf_getdata(scn, NULL);
        if (!d)
            return loader_error(EINVAL, "%s: section '%s': invalid contents (%s)", obj->path,
                                obj->secs[i].name, elf_errmsg(-1));
        size_t count = d->d_size / sizeof(Elf64_Rel);
        struct loader_reloc *relocs = realloc(target->relocs, (target->reloc_count + count + 1) * sizeof(*relocs));
        if (!relocs)
            return loader_error(ENOMEM, "%s: out of memory", obj->path);
        target->relocs = relocs;
        for (size_t r = 0; r < count; r++) {
            GElf_Rel rel;
            if (!gelf_getrel(d, (int)r, &rel))
                return loader_error(EINVAL, "%s: section '%s': relocation %zu unreadable", obj->path,
                                    obj->secs[i].name, r);
            struct loader_reloc *out = &relocs[target->reloc_count++];
            out->offset = rel.r_offset;
            out->type = (uint32_t)GELF_R_TYPE(rel.r_info);
            out->sym = (uint32_t)GELF_R_SYM(rel.r_info);
            if (out->offset % sizeof(struct xdpvm_insn) || out->offset >= target->size)
                return loader_error(EINVAL, "%s: section '%s': relocation %zu at offset %llu is not at an instruction of '%s'",
                                    obj->path, obj->secs[i].name, r, (unsigned long long)out->offset, target->name);
            if (out->sym >= obj->sym_count)
                return loader_error(EINVAL, "%s: section '%s': relocation %zu refers to symbol %u of %zu",
                                    obj->path, obj->secs[i].name, r, out->sym, obj->sym_count);
        }
        qsort(target->relocs, target->reloc_count, sizeof(*target->relocs), compare_relocs);
    }
    return 0;
}

static bool is_function_in(const struct loader_symbol *sym, size_t sec)
{
    return sym->type == STT_FUNC && sym->shndx == sec;
}

/* Extent of a function in instructions: st_size, or up to the next function / section end
 * when the size is missing. */
size_t loader_function_length(const struct xdpvm_object *obj, const struct loader_symbol *fn)
{
    size_t sec_insns = obj->secs[fn->shndx].size / sizeof(struct xdpvm_insn);
    size_t start = fn->value / sizeof(struct xdpvm_insn);
    if (fn->size)
        return fn->size / sizeof(struct xdpvm_insn);
    size_t end = sec_insns;
    for (size_t i = 0; i < obj->sym_count; i++) {
        const struct loader_symbol *s = &obj->syms[i];
        size_t other = s->value / sizeof(struct xdpvm_insn);
        if (is_function_in(s, fn->shndx) && other > start && other < end)
            end = other;
    }
    return end - start;
}

const struct loader_symbol *loader_function_at(const struct xdpvm_object *obj, size_t sec, size_t insn)
{
    for (size_t i = 0; i < obj->sym_count; i++) {
        const struct loader_symbol *s = &obj->syms[i];
        if (!is_function_in(s, sec))
            continue;
        size_t start = s->value / sizeof(struct xdpvm_insn);
        if (insn >= start && insn < start + loader_function_length(obj, s))
            return s;
    }
    return NULL;
}

static int check_functions(struct xdpvm_object *obj)
{
    for (size_t i = 0; i < obj->sym_count; i++) {
        const struct loader_symbol *s = &obj->syms[i];
        if (s->type != STT_FUNC || s->shndx == SHN_UNDEF)
            continue;
        if (s->shndx >= obj->sec_count || obj->secs[s->shndx].kind != SEC_CODE)
            return loader_error(EINVAL, "%s: function '%s' is not in a code section", obj->path, s->name);
        const struct loader_section *sec = &obj->secs[s->shndx];
        if (s->value % sizeof(struct xdpvm_insn) || s->size % sizeof(struct xdpvm_insn) ||
            s->value > sec->size || s->size > sec->size - s->value)
            return loader_error(EINVAL, "%s: section '%s': function '%s' (offset %llu, size %llu) does not fit the section (%zu bytes of whole instructions)",
                                obj->path, sec->name, s->name, (unsigned long long)s->value,
                                (unsigned long long)s->size, sec->size);
    }
    return 0;
}

static int add_programs(struct xdpvm_object *obj)
{
    size_t capacity = 0;
    for (size_t si = 1; si < obj->sec_count; si++) {
        const struct loader_section *sec = &obj->secs[si];
        if (sec->kind != SEC_CODE || sec->size == 0 || strcmp(sec->name, ".text") == 0)
            continue;
        bool known;
        /* libbpf: a '?' before the section name means "not loaded unless asked for". */
        bool optional = sec->name[0] == '?';
        enum xdpvm_prog_type type = loader_prog_type_for_section(sec->name + optional, &known);
        size_t found = 0;
        for (size_t i = 0; i < obj->sym_count; i++) {
            const struct loader_symbol *s = &obj->syms[i];
            if (!is_function_in(s, si))
                continue;
            if (s->bind == STB_LOCAL)
                return loader_error(ENOTSUP, "%s: section '%s': program '%s' is static; programs must be global functions (as libbpf requires)",
                                    obj->path, sec->name, s->name);
            if (obj->prog_count == capacity) {
                capacity = capacity ? 2 * capacity : 8;
                struct xdpvm_program *grown = realloc(obj->progs, capacity * sizeof(*grown));
                if (!grown)
                    return loader_error(ENOMEM, "%s: out of memory", obj->path);
                obj->progs = grown;
            }
            struct xdpvm_program *p = &obj->progs[obj->prog_count++];
            memset(p, 0, sizeof(*p));
            snprintf(p->name, sizeof(p->name), "%s", s->name);
            snprintf(p->section, sizeof(p->section), "%s", sec->name);
            p->type = type;
            p->unsupported = !known;
            p->autoload = known && !optional;
            p->sec = si;
            p->first_insn = s->value / sizeof(struct xdpvm_insn);
            p->insn_count = loader_function_length(obj, s);
            if (p->insn_count == 0)
                return loader_error(EINVAL, "%s: section '%s': program '%s' has no instructions", obj->path,
                                    sec->name, s->name);
            found++;
            if (!known)
                loader_warn(obj, "%s: section '%s': program '%s' skipped: xdpvm runs xdp, tc/classifier, action and socket programs",
                            obj->path, sec->name, s->name);
        }
        if (!found)
            return loader_error(EINVAL, "%s: section '%s' holds code but no function symbol", obj->path, sec->name);
    }
    /* Programs keep pointers to the object; fix them now that the array no longer moves. */
    for (size_t i = 0; i < obj->prog_count; i++)
        obj->progs[i].obj = obj;
    return 0;
}

int loader_parse_elf(struct xdpvm_object *obj)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return loader_error(EINVAL, "libelf: %s", elf_errmsg(-1));
    obj->elf = elf_memory((char *)obj->image, obj->image_size);
    if (!obj->elf || elf_kind(obj->elf) != ELF_K_ELF)
        return loader_error(EINVAL, "%s: not an ELF file", obj->path);
    if (gelf_getclass(obj->elf) != ELFCLASS64)
        return loader_error(EINVAL, "%s: not a 64-bit ELF file (BPF objects are ELFCLASS64)", obj->path);
    GElf_Ehdr eh;
    if (!gelf_getehdr(obj->elf, &eh))
        return loader_error(EINVAL, "%s: invalid ELF header (%s)", obj->path, elf_errmsg(-1));
    if (eh.e_machine != EM_BPF)
        return loader_error(EINVAL, "%s: not a BPF object: e_machine is %u, expected EM_BPF (%u)", obj->path,
                            eh.e_machine, EM_BPF);
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return loader_error(ENOTSUP, "%s: big-endian BPF objects are not supported (build with -target bpfel or bpf on x86)",
                            obj->path);
    if (eh.e_type != ET_REL)
        return loader_error(EINVAL, "%s: ELF type %u: expected a relocatable object (ET_REL, clang -c)", obj->path,
                            eh.e_type);
    size_t symtab_index = 0;
    int err = read_sections(obj, &symtab_index);
    if (!err)
        err = read_symbols(obj, symtab_index);
    if (!err)
        err = read_relocations(obj);
    if (!err)
        err = check_functions(obj);
    if (!err)
        err = add_programs(obj);
    if (!err && obj->prog_count == 0)
        err = loader_error(ENOENT, "%s: no programs (no code section other than .text)", obj->path);
    return err;
}
