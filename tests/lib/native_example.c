/* Loading and binding of the natively compiled examples: see native_example.h and
 * bench/native/bpf_host.h. */
#include "native_example.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bench/native/native_abi.h"
#include "helpers/helpers.h"
#include "maps/maps.h"

_Static_assert(XDPVM_NATIVE_HELPER_SLOTS == XDPVM_MAX_HELPER_ID,
               "bench/native/native_abi.h: one helper slot per xdpvm helper id");
_Static_assert(offsetof(struct xdpvm_run, ctx) == XDPVM_NATIVE_RUN_CTX_OFFSET &&
                   offsetof(struct xdpvm_run, cpu) == XDPVM_NATIVE_RUN_CPU_OFFSET,
               "bench/native/native_abi.h: where the library's exec reads struct xdpvm_run");
_Static_assert(sizeof(((struct xdpvm_run *)0)->cpu) == sizeof(unsigned) &&
                   sizeof(((struct xdpvm_run *)0)->error) == sizeof(int),
               "bench/native/native_abi.h: the types the library's exec reads");
_Static_assert(sizeof(struct xdpvm_native_map) == 4 * sizeof(void *),
               "bench/native/native_abi.h: an array's definition (4 lines) holds the whole record");

struct native_example {
    struct xdpvm_prog prog; /* exec: the library's */
    void *library;
    struct xdpvm_native_host *host;
};

void native_example_path(const char *name, char *path, size_t size)
{
    const char *root = getenv("XDPVM_ROOT");
    snprintf(path, size, "%s/build/bench/native/%s.so", root && *root ? root : ".", name);
}

/* In the slots of helpers xdpvm lacks for XDP (the verifier would have refused the BPF
 * version's call), so that the native version fails the run instead of jumping to NULL. */
static uint64_t missing_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                               struct xdpvm_run *run)
{
    (void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
    xdpvm_run_fail(run, 0, -EINVAL, "%s (native): called a helper xdpvm does not offer to XDP "
                   "programs", run->prog->name);
    return (uint64_t)(int64_t)-EINVAL;
}

/* What the native code needs of map: the map, and for an array whose strides fit the
 * record's 32 bits, its layout (bench/native/native_abi.h). */
static struct xdpvm_native_map native_map_of(struct xdpvm_map *map)
{
    struct xdpvm_native_map record = {.map = map};
    struct xdpvm_map_array_layout layout;
    if (xdpvm_map_array_layout(map, &layout) && layout.index_stride <= UINT32_MAX &&
        layout.cpu_stride <= UINT32_MAX) {
        record.array_base = layout.base;
        record.max_entries = layout.max_entries;
        record.ncpus = layout.ncpus;
        record.index_stride = (uint32_t)layout.index_stride;
        record.cpu_stride = (uint32_t)layout.cpu_stride;
    }
    return record;
}

/* Each map of obj into the library's definition of the same name (bpf_host.h says why the
 * definition's storage may carry it). */
static bool bind_maps(struct native_example *native, struct xdpvm_object *obj, const char *so_path,
                      char *err, size_t err_size)
{
    struct xdpvm_object_map *om = NULL;
    while ((om = xdpvm_object__next_map(obj, om))) {
        const char *name = xdpvm_object_map__name(om);
        if (xdpvm_object_map__is_global_data(om)) {
            snprintf(err, err_size, "%s: map '%s' holds the object's global variables, which the "
                     "native code keeps in its own storage: it would not share them", so_path, name);
            return false;
        }
        void *definition = dlsym(native->library, name);
        Dl_info info;
        const ElfW(Sym) *symbol = NULL;
        if (!definition || !dladdr1(definition, &info, (void **)&symbol, RTLD_DL_SYMENT) || !symbol) {
            snprintf(err, err_size, "%s: no map definition '%s' (the object's map)", so_path, name);
            return false;
        }
        struct xdpvm_native_map record = native_map_of(xdpvm_object_map__map(om));
        size_t needed = record.array_base ? sizeof(record) : XDPVM_NATIVE_MAP_MIN_SIZE;
        if (symbol->st_size < needed) {
            snprintf(err, err_size, "%s: map definition '%s' is %zu bytes, too small to carry the "
                     "map (%zu bytes needed)", so_path, name, (size_t)symbol->st_size, needed);
            return false;
        }
        memcpy(definition, &record, needed);
    }
    return true;
}

struct native_example *native_example_open(const char *so_path, struct xdpvm_object *obj,
                                           const char *prog_name, char *err, size_t err_size)
{
    struct xdpvm_program *program = xdpvm_object__find_program_by_name(obj, prog_name);
    const struct xdpvm_prog *bpf = program ? xdpvm_program__prog(program) : NULL;
    if (!bpf) {
        snprintf(err, err_size, "%s: no loaded program '%s' to take the maps from",
                 xdpvm_object__name(obj), prog_name);
        return NULL;
    }
    struct native_example *native = calloc(1, sizeof(*native));
    if (!native) {
        snprintf(err, err_size, "%s: out of memory", so_path);
        return NULL;
    }
    native->library = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
    if (!native->library) {
        snprintf(err, err_size, "cannot load the native example (built by make): %s", dlerror());
        free(native);
        return NULL;
    }
    native->host = dlsym(native->library, XDPVM_NATIVE_HOST_SYMBOL);
    const char *program_name = dlsym(native->library, XDPVM_NATIVE_PROGRAM_SYMBOL);
    void *exec = dlsym(native->library, XDPVM_NATIVE_EXEC_SYMBOL);
    if (!native->host || !program_name || !exec) {
        snprintf(err, err_size, "%s: no symbol '%s' (not compiled with bench/native/bpf_host.h?)",
                 so_path, !native->host ? XDPVM_NATIVE_HOST_SYMBOL
                          : !program_name ? XDPVM_NATIVE_PROGRAM_SYMBOL : XDPVM_NATIVE_EXEC_SYMBOL);
        native_example_close(native);
        return NULL;
    }
    if (strcmp(program_name, prog_name)) {
        snprintf(err, err_size, "%s: runs program '%s', not '%s'", so_path, program_name, prog_name);
        native_example_close(native);
        return NULL;
    }
    native->host->run_error_offset = offsetof(struct xdpvm_run, error);
    const struct xdpvm_helper_table *helpers = xdpvm_helpers_for(XDPVM_PROG_XDP);
    for (size_t id = 0; id < XDPVM_NATIVE_HELPER_SLOTS; id++)
        native->host->helper[id] = helpers->by_id[id] ? helpers->by_id[id]->fn : missing_helper;
    if (!bind_maps(native, obj, so_path, err, err_size)) {
        native_example_close(native);
        return NULL;
    }
    struct xdpvm_prog *prog = &native->prog;
    snprintf(prog->name, sizeof(prog->name), "%s", bpf->name);
    snprintf(prog->section, sizeof(prog->section), "%s", bpf->section);
    prog->type = XDPVM_PROG_XDP;
    prog->maps = bpf->maps;
    prog->map_count = bpf->map_count;
    prog->helpers = helpers;
    prog->verified = true;
    /* POSIX: dlsym's result converts to the function it names */
    prog->exec = (int (*)(struct xdpvm_run *, uint64_t *))exec;
    return native;
}

struct xdpvm_prog *native_example_prog(struct native_example *native) { return &native->prog; }

void native_example_close(struct native_example *native)
{
    if (!native)
        return;
    if (native->library)
        dlclose(native->library);
    free(native);
}

static const char *map_name(const struct xdpvm_map *map)
{
    return map ? xdpvm_map_get_spec(map)->name : "";
}

static void describe(char *out, size_t size, const char *who, const struct xdpvm_xdp_result *r,
                     const uint8_t *frame)
{
    snprintf(out, size, "%s: %s (action %u, data at %td, %u bytes, %u of metadata%s%s)", who,
             xdpvm_xdp_outcome_name(r->outcome), r->ret, r->data - frame, r->len, r->meta_len,
             r->error ? ", " : "", r->error ? r->message : "");
}

bool xdp_runs_agree(struct xdpvm_xdp_runner *a, uint8_t *frame_a, const char *name_a,
                    struct xdpvm_xdp_runner *b, uint8_t *frame_b, const char *name_b,
                    const void *packet, uint32_t len, char *why, size_t why_size)
{
    struct xdpvm_xdp_result ra, rb;
    memcpy(frame_a + XDPVM_XDP_HEADROOM, packet, len);
    memcpy(frame_b + XDPVM_XDP_HEADROOM, packet, len);
    xdpvm_xdp_run_frame(a, frame_a, XDPVM_XDP_FRAME_SIZE, XDPVM_XDP_HEADROOM, len, &ra);
    xdpvm_xdp_run_frame(b, frame_b, XDPVM_XDP_FRAME_SIZE, XDPVM_XDP_HEADROOM, len, &rb);
    const char *what = NULL;
    char bytes[64];
    if (ra.outcome != rb.outcome || ra.ret != rb.ret || ra.error != rb.error)
        what = "different results";
    else if (ra.data - frame_a != rb.data - frame_b || ra.len != rb.len || ra.meta_len != rb.meta_len)
        what = "packets at different places";
    else if (memcmp(ra.data - ra.meta_len, rb.data - rb.meta_len, ra.meta_len + ra.len)) {
        const uint8_t *pa = ra.data - ra.meta_len, *pb = rb.data - rb.meta_len;
        size_t at = 0;
        while (pa[at] == pb[at])
            at++;
        snprintf(bytes, sizeof(bytes), "different bytes from packet offset %ld (metadata < 0)",
                 (long)at - (long)ra.meta_len);
        what = bytes;
    }
    else if (ra.redirect_ifindex != rb.redirect_ifindex || ra.redirect_key != rb.redirect_key ||
             strcmp(map_name(ra.redirect_map), map_name(rb.redirect_map)))
        what = "different redirect targets";
    if (!what)
        return true;
    char da[448], db[448];
    describe(da, sizeof(da), name_a, &ra, frame_a);
    describe(db, sizeof(db), name_b, &rb, frame_b);
    snprintf(why, why_size, "%s: %s; %s", what, da, db);
    return false;
}
