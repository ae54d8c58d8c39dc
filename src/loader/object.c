/* The public object API (include/xdpvm/object.h): open, load, close, accessors, errors. */
#include "loader/loader_internal.h"

#include <bpf/btf.h>
#include <errno.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "interp/interp.h"
#include "jit/jit.h"

static __thread char last_error[512];

const char *xdpvm_last_error(void)
{
    return last_error;
}

int loader_error(int error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    return -error;
}

void loader_warn(const struct xdpvm_object *obj, const char *fmt, ...)
{
    if (!obj->warnings)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("xdpvm: warning: ", obj->warnings);
    vfprintf(obj->warnings, fmt, ap);
    fputc('\n', obj->warnings);
    va_end(ap);
}

/* Options fields are read only when the caller's struct is large enough to have them. */
#define OPT(opts, field, fallback)                                                              \
    ((opts) && (opts)->sz >= offsetof(struct xdpvm_object_open_opts, field) + sizeof((opts)->field) \
         ? (opts)->field : (fallback))

static struct xdpvm_object *open_image(uint8_t *image, size_t size, const char *path, const char *default_name,
                                       const struct xdpvm_object_open_opts *opts)
{
    struct xdpvm_object *obj = calloc(1, sizeof(*obj));
    if (!obj) {
        free(image);
        loader_error(ENOMEM, "%s: out of memory", path);
        errno = ENOMEM;
        return NULL;
    }
    obj->image = image;
    obj->image_size = size;
    snprintf(obj->path, sizeof(obj->path), "%s", path);
    const char *name = OPT(opts, object_name, NULL);
    snprintf(obj->name, sizeof(obj->name), "%s", name ? name : default_name);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    obj->ncpus = OPT(opts, ncpus, 0u);
    if (!obj->ncpus)
        obj->ncpus = online > 0 ? (unsigned)online : 1;
    FILE *warnings = OPT(opts, warnings, (FILE *)NULL);
    obj->warnings = OPT(opts, quiet, false) ? NULL : warnings ? warnings : stderr;

    int err = loader_parse_elf(obj);
    if (!err)
        err = loader_parse_maps(obj);
    if (err) {
        xdpvm_object__close(obj);
        errno = -err;
        return NULL;
    }
    return obj;
}

struct xdpvm_object *xdpvm_object__open_mem(const void *data, size_t size, const struct xdpvm_object_open_opts *opts)
{
    const char *name = OPT(opts, object_name, NULL);
    if (!name)
        name = "mem";
    if (!data && size) {
        loader_error(EINVAL, "%s: no data", name);
        errno = EINVAL;
        return NULL;
    }
    uint8_t *image = malloc(size ? size : 1);
    if (!image) {
        loader_error(ENOMEM, "%s: out of memory", name);
        errno = ENOMEM;
        return NULL;
    }
    if (size)
        memcpy(image, data, size);
    return open_image(image, size, name, name, opts);
}

struct xdpvm_object *xdpvm_object__open(const char *path, const struct xdpvm_object_open_opts *opts)
{
    if (!path) {
        loader_error(EINVAL, "xdpvm_object__open: no path");
        errno = EINVAL;
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        int error = errno;
        loader_error(error, "%s: cannot open: %s", path, strerror(error));
        errno = error;
        return NULL;
    }
    uint8_t *image = NULL;
    size_t size = 0, capacity = 0;
    for (;;) {
        if (size == capacity) {
            capacity = capacity ? 2 * capacity : 65536;
            uint8_t *grown = realloc(image, capacity);
            if (!grown) {
                free(image);
                fclose(f);
                loader_error(ENOMEM, "%s: out of memory", path);
                errno = ENOMEM;
                return NULL;
            }
            image = grown;
        }
        size_t n = fread(image + size, 1, capacity - size, f);
        size += n;
        if (n == 0)
            break;
    }
    int read_error = ferror(f) ? errno : 0;
    fclose(f);
    if (read_error) {
        free(image);
        loader_error(read_error, "%s: cannot read: %s", path, strerror(read_error));
        errno = read_error;
        return NULL;
    }
    /* Default name like libbpf: the file name without directory and ".o". */
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char name[64];
    snprintf(name, sizeof(name), "%s", base);
    char *dot = strchr(name, '.');
    if (dot && dot != name)
        *dot = '\0';
    return open_image(image, size, path, name, opts);
}

static int create_maps(struct xdpvm_object *obj)
{
    for (size_t i = 0; i < obj->map_count; i++) {
        struct xdpvm_object_map *m = &obj->maps[i];
        char why[256] = "";
        m->map = xdpvm_map_create(&m->spec, obj->ncpus, why, sizeof(why));
        if (!m->map)
            return loader_error(EINVAL, "%s: section '%s': %s", obj->path, m->section,
                                *why ? why : "a map cannot be created");
        if (m->global_data) {
            uint32_t key = 0;
            int err = xdpvm_map_user_update(m->map, &key, m->image, XDPVM_ANY);
            if (err)
                return loader_error(-err, "%s: map '%s': cannot store the initial value: %s", obj->path, m->name,
                                    strerror(-err));
        }
    }
    return 0;
}

static int fill_prog_arrays(struct xdpvm_object *obj)
{
    for (size_t i = 0; i < obj->map_count; i++) {
        struct xdpvm_object_map *m = &obj->maps[i];
        for (size_t s = 0; s < m->prog_slot_count; s++) {
            const struct xdpvm_program *target = &obj->progs[m->prog_slots[s].program];
            if (!target->linked)
                return loader_error(EINVAL, "%s: map '%s': slot %u refers to program '%s', which was not loaded",
                                    obj->path, m->name, m->prog_slots[s].index, target->name);
            int err = xdpvm_map_prog_array_set(m->map, m->prog_slots[s].index, &target->prog);
            if (err)
                return loader_error(-err, "%s: map '%s': cannot set slot %u to '%s': %s", obj->path, m->name,
                                    m->prog_slots[s].index, target->name, strerror(-err));
        }
    }
    return 0;
}

int xdpvm_object__load(struct xdpvm_object *obj)
{
    if (!obj)
        return loader_error(EINVAL, "xdpvm_object__load: no object");
    if (obj->loaded || obj->load_failed)
        return loader_error(EBUSY, "%s: already loaded%s", obj->path, obj->load_failed ? " (and failed)" : "");
    obj->load_failed = true;
    int err = create_maps(obj);
    for (size_t i = 0; i < obj->prog_count && !err; i++) {
        struct xdpvm_program *p = &obj->progs[i];
        if (!p->autoload)
            continue;
        err = loader_link_program(obj, p);
        /* The interpreter's load-time checks, now rather than at the first packet. */
        char why[256];
        if (!err && xdpvm_interp_prepare(&p->prog, why, sizeof(why)))
            err = loader_error(EINVAL, "%s: section '%s': program '%s': %s", obj->path, p->section, p->name, why);
    }
    if (!err)
        err = fill_prog_arrays(obj);
    if (err)
        return err;
    for (size_t i = 0; i < obj->map_count; i++)
        if (obj->maps[i].read_only)
            xdpvm_map_freeze(obj->maps[i].map);
    obj->loaded = true;
    obj->load_failed = false;
    return 0;
}

void xdpvm_object__close(struct xdpvm_object *obj)
{
    if (!obj)
        return;
    for (size_t i = 0; i < obj->prog_count; i++) {
        /* Whatever executors attached to a program goes with it. */
        if (obj->progs[i].prog.jit_code || obj->progs[i].prog.jit_state)
            xdpvm_jit_free(&obj->progs[i].prog);
        xdpvm_interp_release(&obj->progs[i].prog);
        free(obj->progs[i].prog.insns);
        free(obj->progs[i].prog.maps);
    }
    free(obj->progs);
    for (size_t i = 0; i < obj->map_count; i++) {
        if (obj->maps[i].map)
            xdpvm_map_free(obj->maps[i].map);
        free(obj->maps[i].image);
        free(obj->maps[i].prog_slots);
    }
    free(obj->maps);
    for (size_t i = 0; i < obj->sec_count; i++)
        free(obj->secs[i].relocs);
    free(obj->secs);
    free(obj->syms);
    btf__free(obj->btf);
    if (obj->elf)
        elf_end(obj->elf);
    free(obj->image);
    free(obj);
}

const char *xdpvm_object__name(const struct xdpvm_object *obj) { return obj->name; }
const char *xdpvm_object__license(const struct xdpvm_object *obj) { return obj->license; }
bool xdpvm_object__loaded(const struct xdpvm_object *obj) { return obj->loaded; }
unsigned xdpvm_object__ncpus(const struct xdpvm_object *obj) { return obj->ncpus; }

struct xdpvm_program *xdpvm_object__next_program(const struct xdpvm_object *obj, const struct xdpvm_program *prev)
{
    size_t next = prev ? (size_t)(prev - obj->progs) + 1 : 0;
    return next < obj->prog_count ? &obj->progs[next] : NULL;
}

struct xdpvm_program *xdpvm_object__find_program_by_name(const struct xdpvm_object *obj, const char *name)
{
    for (size_t i = 0; i < obj->prog_count; i++)
        if (strcmp(obj->progs[i].name, name) == 0)
            return &obj->progs[i];
    loader_error(ENOENT, "%s: no program named '%s'", obj->path, name);
    return NULL;
}

struct xdpvm_program *xdpvm_object__find_program_by_section(const struct xdpvm_object *obj, const char *section)
{
    for (size_t i = 0; i < obj->prog_count; i++)
        if (strcmp(obj->progs[i].section, section) == 0)
            return &obj->progs[i];
    loader_error(ENOENT, "%s: no program in section '%s'", obj->path, section);
    return NULL;
}

const char *xdpvm_program__name(const struct xdpvm_program *prog) { return prog->name; }
const char *xdpvm_program__section(const struct xdpvm_program *prog) { return prog->section; }
int xdpvm_program__type(const struct xdpvm_program *prog) { return prog->unsupported ? 0 : (int)prog->type; }
bool xdpvm_program__autoload(const struct xdpvm_program *prog) { return prog->autoload; }

int xdpvm_program__set_autoload(struct xdpvm_program *prog, bool autoload)
{
    if (prog->obj->loaded || prog->obj->load_failed)
        return loader_error(EBUSY, "%s: program '%s': autoload can only change before load", prog->obj->path,
                            prog->name);
    if (autoload && prog->unsupported)
        return loader_error(ENOTSUP, "%s: program '%s': xdpvm does not run programs of section '%s'", prog->obj->path,
                            prog->name, prog->section);
    prog->autoload = autoload;
    return 0;
}

const void *xdpvm_program__raw_insns(const struct xdpvm_program *prog, size_t *count)
{
    *count = prog->insn_count;
    return prog->obj->secs[prog->sec].data + prog->first_insn * sizeof(struct xdpvm_insn);
}

struct xdpvm_prog *xdpvm_program__prog(const struct xdpvm_program *prog)
{
    return prog->linked ? (struct xdpvm_prog *)&prog->prog : NULL;
}

struct xdpvm_object_map *xdpvm_object__next_map(const struct xdpvm_object *obj, const struct xdpvm_object_map *prev)
{
    size_t next = prev ? (size_t)(prev - obj->maps) + 1 : 0;
    return next < obj->map_count ? &obj->maps[next] : NULL;
}

struct xdpvm_object_map *xdpvm_object__find_map_by_name(const struct xdpvm_object *obj, const char *name)
{
    for (size_t i = 0; i < obj->map_count; i++)
        if (strcmp(obj->maps[i].name, name) == 0)
            return &obj->maps[i];
    for (size_t i = 0; i < obj->map_count; i++)
        if (obj->maps[i].global_data && strcmp(obj->maps[i].section, name) == 0)
            return &obj->maps[i];
    loader_error(ENOENT, "%s: no map named '%s'", obj->path, name);
    return NULL;
}

const char *xdpvm_object_map__name(const struct xdpvm_object_map *map) { return map->name; }
const char *xdpvm_object_map__section(const struct xdpvm_object_map *map) { return map->section; }
uint32_t xdpvm_object_map__type(const struct xdpvm_object_map *map) { return map->spec.type; }
uint32_t xdpvm_object_map__key_size(const struct xdpvm_object_map *map) { return map->spec.key_size; }
uint32_t xdpvm_object_map__value_size(const struct xdpvm_object_map *map) { return map->spec.value_size; }
uint32_t xdpvm_object_map__max_entries(const struct xdpvm_object_map *map) { return map->spec.max_entries; }
uint32_t xdpvm_object_map__map_flags(const struct xdpvm_object_map *map) { return map->spec.map_flags; }
bool xdpvm_object_map__is_global_data(const struct xdpvm_object_map *map) { return map->global_data; }
struct xdpvm_map *xdpvm_object_map__map(const struct xdpvm_object_map *map) { return map->map; }
uint32_t xdpvm_object_map__btf_key_type_id(const struct xdpvm_object_map *map) { return map->btf_key_type_id; }
uint32_t xdpvm_object_map__btf_value_type_id(const struct xdpvm_object_map *map) { return map->btf_value_type_id; }
const struct btf *xdpvm_object__btf(const struct xdpvm_object *obj) { return obj->btf; }

void *xdpvm_object_map__initial_value(const struct xdpvm_object_map *map, size_t *size)
{
    if (!map->global_data) {
        loader_error(EINVAL, "%s: map '%s' is not global data", map->obj->path, map->name);
        return NULL;
    }
    *size = map->spec.value_size;
    if (!map->map || map->read_only)
        return map->image; /* before load; or frozen .rodata, whose copy changes nothing */
    uint32_t key = 0;
    return xdpvm_map_lookup(map->map, &key, 0);
}

int xdpvm_object_map__set_initial_value(struct xdpvm_object_map *map, const void *data, size_t size)
{
    if (!map->global_data)
        return loader_error(EINVAL, "%s: map '%s' is not global data: it has no initial value", map->obj->path,
                            map->name);
    if (map->obj->loaded || map->obj->load_failed)
        return loader_error(EBUSY, "%s: map '%s': initial value can only be set before load", map->obj->path,
                            map->name);
    if (size != map->spec.value_size)
        return loader_error(EINVAL, "%s: map '%s': initial value is %zu bytes, the section has %u", map->obj->path,
                            map->name, size, map->spec.value_size);
    memcpy(map->image, data, size);
    return 0;
}
