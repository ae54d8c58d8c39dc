/* Private to src/loader: the parsed object shared by open (elf.c, mapdefs.c), link (link.c)
 * and the public accessors (object.c). */
#ifndef XDPVM_LOADER_INTERNAL_H
#define XDPVM_LOADER_INTERNAL_H

#include <gelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xdpvm/object.h"
#include "maps/maps.h"
#include "runtime/runtime.h"

enum section_kind {
    SEC_OTHER = 0,   /* ignored (debug info, BTF.ext, ...) */
    SEC_CODE,        /* executable: programs or .text subprograms */
    SEC_MAPS_BTF,    /* ".maps" */
    SEC_MAPS_LEGACY, /* "maps" */
    SEC_DATA,        /* .data*, .bss*, .rodata*: one global data map each */
};

struct loader_reloc {
    uint64_t offset; /* byte offset of the instruction in its section */
    uint32_t type;   /* R_BPF_* */
    uint32_t sym;    /* symbol table index */
};

struct loader_section {
    const char *name;
    enum section_kind kind;
    uint32_t type;   /* SHT_* */
    uint64_t flags;  /* SHF_* */
    const uint8_t *data; /* NULL for SHT_NOBITS */
    size_t size;
    /* SEC_CODE: relocations applying to this section, sorted by offset. */
    struct loader_reloc *relocs;
    size_t reloc_count;
    int data_map;    /* SEC_DATA: index in obj->maps, else -1 */
};

struct loader_symbol {
    const char *name; /* never NULL ("" when unnamed) */
    uint64_t value;
    uint64_t size;
    uint32_t shndx;   /* SHN_UNDEF for externs */
    unsigned type;    /* STT_* */
    unsigned bind;    /* STB_* */
};

/* prog_array initial contents from `.values = { [i] = &prog }` (relocations in .rel.maps). */
struct loader_prog_slot {
    uint32_t index;
    size_t program; /* index in obj->progs */
};

struct xdpvm_object_map {
    struct xdpvm_object *obj;
    char name[64];
    char section[64];
    struct xdpvm_map_spec spec;
    uint32_t btf_key_type_id;   /* 0 when the key has no BTF type */
    uint32_t btf_value_type_id; /* global data: the section's DATASEC */
    size_t def_section;  /* ELF section index of the definition / the data */
    uint64_t def_offset; /* definition's offset in SEC_MAPS_* (data maps: 0) */
    uint64_t def_size;
    uint64_t values_offset; /* BTF maps: offset of the `values` array in the definition, or 0 */
    bool has_values;
    bool global_data;
    bool read_only;      /* .rodata*: frozen after load */
    uint8_t *image;      /* global data: value_size bytes, writable before load */
    struct loader_prog_slot *prog_slots;
    size_t prog_slot_count;
    struct xdpvm_map *map; /* after load */
};

struct xdpvm_program {
    struct xdpvm_object *obj;
    char name[64];
    char section[128];
    enum xdpvm_prog_type type;
    bool unsupported;    /* section type xdpvm does not run */
    bool autoload;       /* load links it (libbpf's autoload; off for "?sec" and unsupported) */
    size_t sec;          /* ELF section index */
    size_t first_insn;   /* in the section */
    size_t insn_count;
    struct xdpvm_prog prog; /* filled by load */
    bool linked;
};

struct xdpvm_object {
    char name[64];
    char path[512];      /* for messages: the file, or the object name for open_mem */
    char license[128];
    unsigned ncpus;
    FILE *warnings;      /* NULL: quiet */
    uint8_t *image;      /* our copy of the file; libelf reads from it */
    size_t image_size;
    Elf *elf;
    struct loader_section *secs;
    size_t sec_count;
    struct loader_symbol *syms;
    size_t sym_count;
    struct btf *btf;
    struct xdpvm_object_map *maps;
    size_t map_count;
    struct xdpvm_program *progs;
    size_t prog_count;
    bool loaded;
    bool load_failed;
};

/* Record the thread's last error and return -error (error is a positive errno). */
int loader_error(int error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void loader_warn(const struct xdpvm_object *obj, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* elf.c: sections, symbols, relocations, programs. */
int loader_parse_elf(struct xdpvm_object *obj);
/* mapdefs.c: BTF-defined and legacy maps, global data maps, prog_array initial values. */
int loader_parse_maps(struct xdpvm_object *obj);
/* link.c: build prog->prog (subprograms appended, relocations resolved). Maps must exist. */
int loader_link_program(struct xdpvm_object *obj, struct xdpvm_program *prog);

/* The function symbol of a code section containing instruction index insn, or NULL. */
const struct loader_symbol *loader_function_at(const struct xdpvm_object *obj, size_t sec, size_t insn);
/* Instructions of a function symbol (st_size, or up to the next function when missing). */
size_t loader_function_length(const struct xdpvm_object *obj, const struct loader_symbol *fn);
/* The map whose definition sits at (section, offset), or NULL. */
struct xdpvm_object_map *loader_map_at(const struct xdpvm_object *obj, size_t sec, uint64_t offset);
/* Program type from a section name like libbpf; *known false for sections xdpvm skips. */
enum xdpvm_prog_type loader_prog_type_for_section(const char *section, bool *known);

#endif
