/* BPF ELF objects: the same clang-built .o that libbpf loads.
 *
 * Modelled on libbpf's libbpf.h: opaque structs, object__verb names, an options struct whose
 * first field is its size, negative errno on failure with a sentence from xdpvm_last_error().
 *
 *   struct xdpvm_object *obj = xdpvm_object__open("prog.o", NULL);
 *   if (!obj) { fprintf(stderr, "%s\n", xdpvm_last_error()); ... }
 *   struct xdpvm_object_map *knobs = xdpvm_object__find_map_by_name(obj, ".rodata");
 *   size_t size; struct my_rodata *ro = xdpvm_object_map__initial_value(knobs, &size);
 *   ro->verbose = 1;                             (writable until load, frozen after)
 *   if (xdpvm_object__load(obj) < 0) ...        (creates maps, links programs)
 *   struct xdpvm_prog *prog = xdpvm_program__prog(xdpvm_object__find_program_by_name(obj, "f"));
 *   ... run prog (runtime.h) ...
 *   xdpvm_object__close(obj);
 *
 * What load does, like libbpf: BTF-defined maps (SEC(".maps")) and legacy SEC("maps") maps
 * become xdpvm maps; .rodata*, .data*, .bss* become single-entry array maps named
 * "<object>.rodata" etc. (prefix cut so the name fits 15 characters, as libbpf does); each
 * program gets the .text subprograms it calls (transitively) appended, and its lddw map
 * references resolved: src=BPF_PSEUDO_MAP_FD keeps the xdpvm map pointer in the imm pair,
 * src=BPF_PSEUDO_MAP_VALUE the absolute address of the value, src=BPF_PSEUDO_FUNC the offset
 * of the callback from the next instruction in imm (the kernel's convention; executors load
 * the absolute instruction index into the register).
 *
 * Not thread-safe per object: open, configure and load from one thread; afterwards the
 * loaded programs and maps may be used from many (see runtime.h, maps.h).
 */
#ifndef XDPVM_OBJECT_H
#define XDPVM_OBJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct xdpvm_object;
struct xdpvm_program;
struct xdpvm_object_map;
struct xdpvm_prog; /* the engine's program (src/runtime/runtime.h) */
struct xdpvm_map;  /* the engine's map (src/maps/maps.h) */
struct btf;        /* libbpf's BTF (bpf/btf.h) */

struct xdpvm_object_open_opts {
    size_t sz;               /* sizeof(struct xdpvm_object_open_opts): set by XDPVM_OPEN_OPTS */
    const char *object_name; /* default: file name without directory and ".o" */
    unsigned ncpus;          /* per-CPU map slots (worker count); 0: online CPUs */
    FILE *warnings;          /* where warnings go (ignored pinning, ...); NULL: stderr */
    bool quiet;              /* no warnings at all */
};
#define XDPVM_OPEN_OPTS(var, ...) \
    struct xdpvm_object_open_opts var = {.sz = sizeof(struct xdpvm_object_open_opts), __VA_ARGS__}

/* The last error of this thread as a sentence: what, where (file, section, instruction) and
 * why. Set by every function here that fails; "" when none yet. */
const char *xdpvm_last_error(void);

/* Open parses everything and reports every problem it can find without creating anything.
 * NULL on failure with errno set to a positive errno and xdpvm_last_error() set. */
struct xdpvm_object *xdpvm_object__open(const char *path, const struct xdpvm_object_open_opts *opts);
/* Same from memory (copied; name from opts->object_name, else "mem"). */
struct xdpvm_object *xdpvm_object__open_mem(const void *data, size_t size,
                                            const struct xdpvm_object_open_opts *opts);
/* Create the maps, link and resolve every program. 0 or negative errno. Once. */
int xdpvm_object__load(struct xdpvm_object *obj);
void xdpvm_object__close(struct xdpvm_object *obj); /* NULL is fine */

const char *xdpvm_object__name(const struct xdpvm_object *obj);
const char *xdpvm_object__license(const struct xdpvm_object *obj); /* "" without a license section */
bool xdpvm_object__loaded(const struct xdpvm_object *obj);
unsigned xdpvm_object__ncpus(const struct xdpvm_object *obj);

/* Programs in file order. next(obj, NULL) is the first; NULL after the last. */
struct xdpvm_program *xdpvm_object__next_program(const struct xdpvm_object *obj,
                                                 const struct xdpvm_program *prev);
#define xdpvm_object__for_each_program(pos, obj) \
    for ((pos) = xdpvm_object__next_program((obj), NULL); (pos); \
         (pos) = xdpvm_object__next_program((obj), (pos)))
struct xdpvm_program *xdpvm_object__find_program_by_name(const struct xdpvm_object *obj,
                                                         const char *name);
/* The first program of a section ("xdp", "tc/ingress", ...). */
struct xdpvm_program *xdpvm_object__find_program_by_section(const struct xdpvm_object *obj,
                                                            const char *section);

const char *xdpvm_program__name(const struct xdpvm_program *prog);
const char *xdpvm_program__section(const struct xdpvm_program *prog);
/* enum xdpvm_prog_type (kernel enum bpf_prog_type numbering); 0 for a section type xdpvm
 * does not run (those programs are skipped by load with a warning). */
int xdpvm_program__type(const struct xdpvm_program *prog);
/* Whether load links this program (libbpf's autoload): true by default, false for sections
 * written "?xdp" and for types xdpvm does not run. Turning it off before load lets an object
 * load when another of its programs would not (an unsupported helper, say). 0, -EBUSY after
 * load, -ENOTSUP to turn on an unsupported type. */
bool xdpvm_program__autoload(const struct xdpvm_program *prog);
int xdpvm_program__set_autoload(struct xdpvm_program *prog, bool autoload);
/* Instructions in the object before linking (count in *count). */
const void *xdpvm_program__raw_insns(const struct xdpvm_program *prog, size_t *count);
/* The engine's program after load: linked instructions, maps, helpers, exec. NULL before
 * load and for skipped programs. Owned by the object. */
struct xdpvm_prog *xdpvm_program__prog(const struct xdpvm_program *prog);

/* Maps in order: definitions (.maps, maps), then global data sections in file order. */
struct xdpvm_object_map *xdpvm_object__next_map(const struct xdpvm_object *obj,
                                                const struct xdpvm_object_map *prev);
#define xdpvm_object__for_each_map(pos, obj) \
    for ((pos) = xdpvm_object__next_map((obj), NULL); (pos); (pos) = xdpvm_object__next_map((obj), (pos)))
/* By name ("counters", "prog_glo.rodata") or, for global data, by section (".rodata"). */
struct xdpvm_object_map *xdpvm_object__find_map_by_name(const struct xdpvm_object *obj, const char *name);

const char *xdpvm_object_map__name(const struct xdpvm_object_map *map);
const char *xdpvm_object_map__section(const struct xdpvm_object_map *map); /* ".maps", ".rodata", ... */
uint32_t xdpvm_object_map__type(const struct xdpvm_object_map *map);       /* enum bpf_map_type */
uint32_t xdpvm_object_map__key_size(const struct xdpvm_object_map *map);
uint32_t xdpvm_object_map__value_size(const struct xdpvm_object_map *map);
uint32_t xdpvm_object_map__max_entries(const struct xdpvm_object_map *map);
uint32_t xdpvm_object_map__map_flags(const struct xdpvm_object_map *map);
/* True for the maps made from .rodata*, .data*, .bss*. */
bool xdpvm_object_map__is_global_data(const struct xdpvm_object_map *map);
/* The engine's map after load; NULL before. Owned by the object. */
struct xdpvm_map *xdpvm_object_map__map(const struct xdpvm_object_map *map);
/* BTF type ids of key and value in xdpvm_object__btf (0: none), as libbpf reports them:
 * from __type(key/value, T); a global data map's value is its section's DATASEC (whose size
 * and variable offsets the loader fills in from the symbol table, like libbpf). */
uint32_t xdpvm_object_map__btf_key_type_id(const struct xdpvm_object_map *map);
uint32_t xdpvm_object_map__btf_value_type_id(const struct xdpvm_object_map *map);
/* The object's BTF (libbpf's struct btf, read with its btf__* API); NULL without .BTF. */
const struct btf *xdpvm_object__btf(const struct xdpvm_object *obj);

/* Global data contents. Before load: the writable initial image (what the program will see;
 * set `const volatile` knobs in .rodata here). After load: the live value for .data/.bss, a
 * copy of the image .rodata was loaded with (frozen: writing the copy changes nothing). NULL
 * for maps that are not global data. */
void *xdpvm_object_map__initial_value(const struct xdpvm_object_map *map, size_t *size);
/* Replace the whole initial image (size must equal value_size). Before load only: -EBUSY
 * after, -EINVAL for a size mismatch or a map without an initial image. */
int xdpvm_object_map__set_initial_value(struct xdpvm_object_map *map, const void *data, size_t size);

#endif
