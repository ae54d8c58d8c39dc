/* xdpvm disasm FILE.o [--section S] [--syntax llvm|asm] [--json]
 *
 * Prints the executable sections of a BPF ELF object the way `llvm-objdump -d` does (section
 * headers, <symbol>: labels, instruction index, bytes, text, <symbol+off> jump annotations), or
 * in the conformance suites' assembler syntax, which `xdpvm_asm` reads back. Reads only raw
 * section bytes and the symbol table; relocations are left to the object loader. */
#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "isa/disasm.h"
#include "isa/isa.h"

struct symbol {
    uint64_t addr;
    const char *name;
};

struct exec_section {
    size_t index;
    const char *name;
    const uint8_t *bytes;
    size_t size;
    struct symbol *symbols; /* sorted by address, one per address (the one llvm-objdump shows) */
    size_t symbol_count;
};

struct object {
    const char *path;
    uint8_t *file;
    size_t file_size;
    Elf *elf;
    struct exec_section *sections;
    size_t section_count;
};

static int compare_symbols(const void *a, const void *b)
{
    const struct symbol *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return strcmp(x->name, y->name);
}

static uint8_t *read_whole_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    size_t capacity = 1 << 16, used = 0;
    uint8_t *data = malloc(capacity);
    while (data) {
        used += fread(data + used, 1, capacity - used, f);
        if (used < capacity)
            break;
        uint8_t *bigger = realloc(data, capacity * 2);
        if (!bigger) {
            free(data);
            data = NULL;
            break;
        }
        data = bigger;
        capacity *= 2;
    }
    bool failed = ferror(f);
    fclose(f);
    if (!data || failed) {
        cli_error("%s: cannot read: %s", path, data ? strerror(errno) : "out of memory");
        free(data);
        return NULL;
    }
    *size = used;
    return data;
}

/* Symbols of one section as llvm-objdump uses them: no section or file symbols; when several
 * share an address, the greatest name (llvm sorts by address then name and shows the last);
 * the section name stands in at address 0 when no symbol is there. */
static int collect_symbols(struct object *obj, Elf_Scn *symtab, size_t link, struct exec_section *sec)
{
    size_t capacity = 1;
    sec->symbols = malloc(sizeof(*sec->symbols));
    sec->symbol_count = 0;
    Elf_Data *data = symtab ? elf_getdata(symtab, NULL) : NULL;
    GElf_Shdr shdr;
    size_t count = 0;
    if (data && gelf_getshdr(symtab, &shdr) && shdr.sh_entsize)
        count = shdr.sh_size / shdr.sh_entsize;
    for (size_t i = 0; i < count && sec->symbols; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx != sec->index)
            continue;
        int type = GELF_ST_TYPE(sym.st_info);
        if (type == STT_SECTION || type == STT_FILE)
            continue;
        const char *name = elf_strptr(obj->elf, link, sym.st_name);
        if (!name || !*name)
            continue;
        if (sec->symbol_count == capacity) {
            struct symbol *bigger = realloc(sec->symbols, 2 * capacity * sizeof(*bigger));
            if (!bigger)
                break;
            sec->symbols = bigger;
            capacity *= 2;
        }
        sec->symbols[sec->symbol_count++] = (struct symbol){sym.st_value, name};
    }
    if (!sec->symbols) {
        cli_error("%s: out of memory reading symbols", obj->path);
        return -1;
    }
    qsort(sec->symbols, sec->symbol_count, sizeof(*sec->symbols), compare_symbols);
    size_t kept = 0;
    for (size_t i = 0; i < sec->symbol_count; i++) {
        if (kept && sec->symbols[kept - 1].addr == sec->symbols[i].addr)
            kept--;
        sec->symbols[kept++] = sec->symbols[i];
    }
    sec->symbol_count = kept;
    if (!kept || sec->symbols[0].addr != 0) {
        struct symbol *bigger = realloc(sec->symbols, (kept + 1) * sizeof(*bigger));
        if (!bigger) {
            cli_error("%s: out of memory reading symbols", obj->path);
            return -1;
        }
        sec->symbols = bigger;
        memmove(sec->symbols + 1, sec->symbols, kept * sizeof(*bigger));
        sec->symbols[0] = (struct symbol){0, sec->name};
        sec->symbol_count = kept + 1;
    }
    return 0;
}

static void close_object(struct object *obj)
{
    for (size_t i = 0; i < obj->section_count; i++)
        free(obj->sections[i].symbols);
    free(obj->sections);
    if (obj->elf)
        elf_end(obj->elf);
    free(obj->file);
}

static const char *machine_name(unsigned machine)
{
    switch (machine) {
    case EM_X86_64: return "x86-64";
    case EM_386: return "i386";
    case EM_AARCH64: return "AArch64";
    case EM_ARM: return "ARM";
    case EM_RISCV: return "RISC-V";
    default: return "another architecture";
    }
}

static int open_object(struct object *obj, const char *path)
{
    memset(obj, 0, sizeof(*obj));
    obj->path = path;
    obj->file = read_whole_file(path, &obj->file_size);
    if (!obj->file)
        return -1;
    if (obj->file_size < SELFMAG || memcmp(obj->file, ELFMAG, SELFMAG)) {
        cli_error("%s: not an ELF file (no \\177ELF magic at offset 0)", path);
        return -1;
    }
    if (obj->file_size < EI_NIDENT || obj->file[EI_CLASS] != ELFCLASS64) {
        cli_error("%s: not a 64-bit ELF file; BPF objects are ELFCLASS64", path);
        return -1;
    }
    if (obj->file_size < sizeof(Elf64_Ehdr)) {
        cli_error("%s: truncated file: %zu bytes, shorter than the 64-byte ELF header", path, obj->file_size);
        return -1;
    }
    if (obj->file[EI_DATA] != ELFDATA2LSB) {
        cli_error("%s: big-endian ELF; only little-endian BPF objects (bpfel) are supported", path);
        return -1;
    }
    Elf64_Ehdr ehdr;
    memcpy(&ehdr, obj->file, sizeof(ehdr));
    if (ehdr.e_machine != EM_BPF) {
        cli_error("%s: ELF machine is %s (e_machine %u), not BPF (%u)", path, machine_name(ehdr.e_machine),
                  ehdr.e_machine, EM_BPF);
        return -1;
    }
    if (ehdr.e_shoff > obj->file_size ||
        (uint64_t)ehdr.e_shnum * ehdr.e_shentsize > obj->file_size - ehdr.e_shoff) {
        cli_error("%s: truncated file: the section header table (offset 0x%" PRIx64 ", %u entries) "
                  "extends past the end of the file (%zu bytes)", path, (uint64_t)ehdr.e_shoff,
                  ehdr.e_shnum, obj->file_size);
        return -1;
    }
    elf_version(EV_CURRENT);
    obj->elf = elf_memory((char *)obj->file, obj->file_size);
    size_t shstrndx;
    if (!obj->elf || elf_getshdrstrndx(obj->elf, &shstrndx)) {
        cli_error("%s: unreadable ELF: %s", path, elf_errmsg(-1));
        return -1;
    }
    Elf_Scn *symtab = NULL;
    size_t symtab_link = 0;
    size_t section_total = 0;
    for (Elf_Scn *scn = elf_nextscn(obj->elf, NULL); scn; scn = elf_nextscn(obj->elf, scn)) {
        GElf_Shdr shdr;
        if (!gelf_getshdr(scn, &shdr)) {
            cli_error("%s: section %zu: unreadable header: %s", path, elf_ndxscn(scn), elf_errmsg(-1));
            return -1;
        }
        const char *name = elf_strptr(obj->elf, shstrndx, shdr.sh_name);
        if (shdr.sh_type != SHT_NOBITS &&
            (shdr.sh_offset > obj->file_size || shdr.sh_size > obj->file_size - shdr.sh_offset)) {
            cli_error("%s: truncated file: section %zu '%s' (offset 0x%" PRIx64 ", 0x%" PRIx64
                      " bytes) extends past the end of the file (%zu bytes)", path, elf_ndxscn(scn),
                      name ? name : "?", (uint64_t)shdr.sh_offset, (uint64_t)shdr.sh_size, obj->file_size);
            return -1;
        }
        if (shdr.sh_type == SHT_SYMTAB) {
            symtab = scn;
            symtab_link = shdr.sh_link;
        }
        section_total++;
    }
    obj->sections = calloc(section_total ? section_total : 1, sizeof(*obj->sections));
    if (!obj->sections) {
        cli_error("%s: out of memory", path);
        return -1;
    }
    for (Elf_Scn *scn = elf_nextscn(obj->elf, NULL); scn; scn = elf_nextscn(obj->elf, scn)) {
        GElf_Shdr shdr;
        gelf_getshdr(scn, &shdr);
        if (shdr.sh_type != SHT_PROGBITS || !(shdr.sh_flags & SHF_EXECINSTR) || !shdr.sh_size)
            continue;
        struct exec_section *sec = &obj->sections[obj->section_count++];
        sec->index = elf_ndxscn(scn);
        sec->name = elf_strptr(obj->elf, shstrndx, shdr.sh_name);
        if (!sec->name)
            sec->name = "";
        sec->bytes = obj->file + shdr.sh_offset;
        sec->size = shdr.sh_size;
        if (collect_symbols(obj, symtab, symtab_link, sec))
            return -1;
    }
    return 0;
}

/* ---- printing ------------------------------------------------------------------------------- */

/* The symbol llvm-objdump names a jump target after: the last one at or before it. */
static const struct symbol *symbol_before(const struct exec_section *sec, uint64_t addr)
{
    const struct symbol *best = &sec->symbols[0];
    for (size_t i = 0; i < sec->symbol_count && sec->symbols[i].addr <= addr; i++)
        best = &sec->symbols[i];
    return best;
}

static const struct symbol *symbol_at(const struct exec_section *sec, uint64_t addr)
{
    for (size_t i = 0; i < sec->symbol_count; i++)
        if (sec->symbols[i].addr == addr)
            return &sec->symbols[i];
    return NULL;
}

static bool has_jump_annotation(enum xdpvm_shape shape)
{
    return shape == XDPVM_SHAPE_JA || shape == XDPVM_SHAPE_GOTOL || shape == XDPVM_SHAPE_JMP_IMM ||
           shape == XDPVM_SHAPE_JMP_REG;
}

static void json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c == '\t')
            printf("\\t");
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

struct print_options {
    enum xdpvm_syntax syntax;
    bool json;
};

static int print_section(const struct object *obj, const struct exec_section *sec, const struct print_options *opt,
                         bool first)
{
    size_t count = sec->size / 8;
    struct xdpvm_insn *insns = malloc((count ? count : 1) * sizeof(*insns));
    if (!insns) {
        cli_error("%s: section '%s': out of memory", obj->path, sec->name);
        return -1;
    }
    memcpy(insns, sec->bytes, count * sizeof(*insns));
    if (opt->json) {
        printf("%s{\"name\":", first ? "" : ",");
        json_string(sec->name);
        printf(",\"insns\":[");
    } else if (opt->syntax == XDPVM_SYNTAX_LLVM) {
        printf("\nDisassembly of section %s:\n", sec->name);
    } else {
        printf("%s# section %s\n", first ? "" : "\n", sec->name);
    }
    size_t slots;
    for (size_t i = 0; i < count; i += slots) {
        uint64_t addr = (uint64_t)i * 8;
        const struct symbol *label = symbol_at(sec, addr);
        struct xdpvm_decoded d;
        slots = 1;
        char text[160] = "<unknown>";
        char annotation[200] = "";
        struct xdpvm_decode_error why = {0};
        if (!xdpvm_isa_decode(insns, count, i, &d, &why)) {
            slots = d.slots;
            xdpvm_disasm_insn(&d, i, opt->syntax, text, sizeof(text));
            enum xdpvm_shape shape = xdpvm_op_table[d.op].shape;
            if (has_jump_annotation(shape)) {
                /* byte address, wrapping like llvm-objdump's unsigned arithmetic */
                int64_t delta = shape == XDPVM_SHAPE_GOTOL ? d.imm : d.off;
                uint64_t target = addr + 8 + (uint64_t)delta * 8;
                const struct symbol *sym = symbol_before(sec, target);
                if (target == sym->addr)
                    snprintf(annotation, sizeof(annotation), "%s", sym->name);
                else
                    snprintf(annotation, sizeof(annotation), "%s+0x%" PRIx64, sym->name, target - sym->addr);
            }
        }
        const uint8_t *bytes = sec->bytes + addr;
        if (opt->json) {
            printf("%s{\"index\":%zu,", i ? "," : "", i);
            if (label) {
                printf("\"symbol\":");
                json_string(label->name);
                putchar(',');
            }
            printf("\"opcodes\":[");
            for (size_t b = 0; b < slots * 8; b++)
                printf("%s\"%02x\"", b ? "," : "", bytes[b]);
            printf("],\"disasm\":");
            json_string(text);
            if (annotation[0]) {
                printf(",\"target\":");
                json_string(annotation);
            }
            if (why.message[0]) { /* why the slot is <unknown> */
                printf(",\"error\":");
                json_string(why.message);
            }
            putchar('}');
        } else if (opt->syntax == XDPVM_SYNTAX_LLVM) {
            if (label)
                printf("\n%016" PRIx64 " <%s>:\n", addr, label->name);
            printf("%8zu:\t", i);
            for (size_t b = 0; b < slots * 8; b++)
                printf("%02x%s", bytes[b], b + 1 < slots * 8 ? " " : "");
            printf("\t%s%s%s%s\n", text, annotation[0] ? " <" : "", annotation, annotation[0] ? ">" : "");
        } else {
            if (label)
                printf("%s:\n", label->name);
            printf("%s\n", text);
        }
    }
    size_t tail = sec->size % 8;
    if (tail && !opt->json) {
        /* A section that is not a whole number of instructions: show the stray bytes. */
        printf(opt->syntax == XDPVM_SYNTAX_LLVM ? "%8zu:\t" : "# %zu: ", count);
        for (size_t b = 0; b < tail; b++)
            printf("%02x%s", sec->bytes[count * 8 + b], b + 1 < tail ? " " : "");
        printf("\t<unknown>\n");
    }
    if (opt->json)
        printf("]}");
    free(insns);
    return 0;
}

static int usage_error(const char *fmt, const char *arg)
{
    cli_error(fmt, arg);
    fprintf(stderr, "usage: xdpvm disasm FILE.o [--section NAME] [--syntax llvm|asm] [--json]\n"
                    "       xdpvm disasm FILE.o --jited [--section NAME] [--blind] [--json]\n");
    return 2;
}

int cmd_disasm(int argc, char **argv)
{
    if (cli_has_flag(argc, argv, "--jited")) /* machine code of the JIT: tools/disasm_jited.c */
        return cmd_disasm_jited(argc, argv);
    const char *path = NULL, *only_section = NULL;
    struct print_options opt = {.syntax = XDPVM_SYNTAX_LLVM};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            opt.json = true;
        } else if (!strcmp(argv[i], "--section") || !strcmp(argv[i], "-j")) {
            if (++i == argc)
                return usage_error("%s needs a section name", argv[i - 1]);
            only_section = argv[i];
        } else if (!strcmp(argv[i], "--syntax")) {
            if (++i == argc)
                return usage_error("%s needs llvm or asm", argv[i - 1]);
            if (!strcmp(argv[i], "llvm"))
                opt.syntax = XDPVM_SYNTAX_LLVM;
            else if (!strcmp(argv[i], "asm"))
                opt.syntax = XDPVM_SYNTAX_ASM;
            else
                return usage_error("unknown syntax '%s' (llvm or asm)", argv[i]);
        } else if (argv[i][0] == '-') {
            return usage_error("unknown option '%s'", argv[i]);
        } else if (path) {
            return usage_error("more than one file given ('%s')", argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (!path)
        return usage_error("%s", "no object file given");

    struct object obj;
    if (open_object(&obj, path)) {
        close_object(&obj);
        return 1;
    }
    bool found = !only_section;
    for (size_t i = 0; i < obj.section_count && !found; i++)
        found = !strcmp(obj.sections[i].name, only_section);
    if (!found) {
        char names[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < obj.section_count && used < sizeof(names); i++)
            used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", obj.sections[i].name);
        cli_error("%s: no executable section named '%s' (executable sections: %s)", path, only_section,
                  obj.section_count ? names : "none");
        close_object(&obj);
        return 1;
    }
    if (opt.json) {
        printf("{\"file\":");
        json_string(path);
        printf(",\"sections\":[");
    } else if (opt.syntax == XDPVM_SYNTAX_LLVM) {
        printf("\n%s:\tfile format elf64-bpf\n", path);
    }
    int rc = 0;
    bool first = true;
    for (size_t i = 0; i < obj.section_count && !rc; i++) {
        if (only_section && strcmp(obj.sections[i].name, only_section))
            continue;
        rc = print_section(&obj, &obj.sections[i], &opt, first);
        first = false;
    }
    if (opt.json)
        printf("]}\n");
    close_object(&obj);
    return rc ? 1 : 0;
}
