#include "map_print.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "maps/maps.h"
#include "runtime/runtime.h"
#include "xdpvm/object.h"

/* bpftool's byte layout: "xx xx xx xx xx xx xx xx  xx xx ..." with a new line every 16. */
static void print_hex(FILE *out, const uint8_t *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i && i % 16 == 0)
            fputc('\n', out);
        else if (i && i % 8 == 0)
            fputs("  ", out);
        else if (i)
            fputc(' ', out);
        fprintf(out, "%02x", bytes[i]);
    }
}

static void print_json_bytes(FILE *out, const uint8_t *bytes, size_t n)
{
    fputc('[', out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s\"0x%02x\"", i ? "," : "", bytes[i]);
    fputc(']', out);
}

static void print_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static const char *type_name(uint32_t type)
{
    const char *name = xdpvm_map_type_name(type);
    return name ? name : "unknown";
}

static void print_entry_text(FILE *out, const struct xdpvm_map_spec *spec, unsigned ncpus, const uint8_t *key,
                             const uint8_t *value)
{
    if (!xdpvm_map_is_percpu(spec->type)) {
        bool break_names = spec->key_size > 16 || spec->value_size > 16;
        bool single_line = spec->key_size + spec->value_size <= 24 && !break_names;
        if (spec->key_size) {
            fprintf(out, "key:%c", break_names ? '\n' : ' ');
            print_hex(out, key, spec->key_size);
            fputs(single_line ? "  " : "\n", out);
        }
        if (spec->value_size) {
            fprintf(out, "value:%c", break_names ? '\n' : ' ');
            print_hex(out, value, spec->value_size);
        }
        fputc('\n', out);
        return;
    }
    size_t stride = (spec->value_size + 7u) & ~7u;
    if (spec->key_size) {
        fputs("key:\n", out);
        print_hex(out, key, spec->key_size);
        fputc('\n', out);
    }
    for (unsigned cpu = 0; cpu < ncpus; cpu++) {
        fprintf(out, "value (CPU %02u):%c", cpu, spec->value_size > 16 ? '\n' : ' ');
        print_hex(out, value + cpu * stride, spec->value_size);
        fputc('\n', out);
    }
}

static void print_entry_json(FILE *out, const struct xdpvm_map_spec *spec, unsigned ncpus, const uint8_t *key,
                             const uint8_t *value)
{
    fputs("{\"key\":", out);
    print_json_bytes(out, key, spec->key_size);
    if (!xdpvm_map_is_percpu(spec->type)) {
        fputs(",\"value\":", out);
        print_json_bytes(out, value, spec->value_size);
    } else {
        size_t stride = (spec->value_size + 7u) & ~7u;
        fputs(",\"values\":[", out);
        for (unsigned cpu = 0; cpu < ncpus; cpu++) {
            fprintf(out, "%s{\"cpu\":%u,\"value\":", cpu ? "," : "", cpu);
            print_json_bytes(out, value + cpu * stride, spec->value_size);
            fputc('}', out);
        }
        fputc(']', out);
    }
    fputc('}', out);
}

static bool has_keys(uint32_t type)
{
    return type != XDPVM_MAP_RINGBUF && type != XDPVM_MAP_QUEUE && type != XDPVM_MAP_STACK;
}

/* Prog array slots hold programs, which have no ids in xdpvm: print their names instead of
 * bpftool's prog id bytes ("prog": "name"). */
static int dump_prog_array(FILE *out, struct xdpvm_map *map, bool json)
{
    const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(map);
    int count = 0;
    if (json)
        fputc('[', out);
    for (uint32_t index = 0; index < spec->max_entries; index++) {
        const struct xdpvm_prog *prog = xdpvm_map_prog_array_get(map, index);
        if (!prog)
            continue;
        uint8_t key[4];
        memcpy(key, &index, sizeof(key));
        if (json) {
            fputs(count ? ",{\"key\":" : "{\"key\":", out);
            print_json_bytes(out, key, sizeof(key));
            fputs(",\"prog\":", out);
            print_json_string(out, prog->name);
            fputc('}', out);
        } else {
            fputs("key: ", out);
            print_hex(out, key, sizeof(key));
            fprintf(out, "  prog: %s\n", prog->name);
        }
        count++;
    }
    if (json)
        fputc(']', out);
    else
        fprintf(out, "Found %d element%s\n", count, count == 1 ? "" : "s");
    return count;
}

int map_print_dump(FILE *out, struct xdpvm_map *map, bool json)
{
    const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(map);
    if (spec->type == XDPVM_MAP_PROG_ARRAY)
        return dump_prog_array(out, map, json);
    if (!has_keys(spec->type)) {
        if (json)
            fprintf(out, "[]");
        else
            fprintf(out, "%s map '%s' has no keys to dump\n", type_name(spec->type), spec->name);
        return 0;
    }
    size_t value_size = xdpvm_map_user_value_size(map);
    uint8_t *key = calloc(1, spec->key_size + 1);
    uint8_t *next = calloc(1, spec->key_size + 1);
    uint8_t *value = calloc(1, value_size + 1);
    if (!key || !next || !value) {
        free(key);
        free(next);
        free(value);
        cli_error("out of memory");
        return -ENOMEM;
    }
    if (json)
        fputc('[', out);
    int count = 0, err;
    for (err = xdpvm_map_get_next_key(map, NULL, next); err == 0; err = xdpvm_map_get_next_key(map, key, next)) {
        memcpy(key, next, spec->key_size);
        /* An entry may vanish between get_next_key and lookup (LRU eviction, a concurrent
         * delete); so may empty prog_array slots. bpftool skips those too. */
        if (xdpvm_map_user_lookup(map, key, value))
            continue;
        if (json) {
            if (count)
                fputc(',', out);
            print_entry_json(out, spec, xdpvm_map_ncpus(map), key, value);
        } else {
            print_entry_text(out, spec, xdpvm_map_ncpus(map), key, value);
        }
        count++;
    }
    if (json)
        fputc(']', out);
    else
        fprintf(out, "Found %d element%s\n", count, count == 1 ? "" : "s");
    free(key);
    free(next);
    free(value);
    if (err != -ENOENT) {
        cli_error("map '%s': cannot iterate: %s", spec->name, strerror(-err));
        return err;
    }
    return count;
}

void map_print_show(FILE *out, unsigned id, struct xdpvm_map *map, bool json)
{
    const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(map);
    if (json) {
        fprintf(out, "{\"id\":%u,\"type\":", id);
        print_json_string(out, type_name(spec->type));
        fputs(",\"name\":", out);
        print_json_string(out, spec->name);
        fprintf(out, ",\"flags\":%u,\"bytes_key\":%u,\"bytes_value\":%u,\"max_entries\":%u}", spec->map_flags,
                spec->key_size, spec->value_size, spec->max_entries);
        return;
    }
    fprintf(out, "%u: %s  name %s  flags 0x%x\n", id, type_name(spec->type), spec->name, spec->map_flags);
    fprintf(out, "\tkey %uB  value %uB  max_entries %u\n", spec->key_size, spec->value_size, spec->max_entries);
}

int map_print_object(FILE *out, const struct xdpvm_object *obj, const char *only, bool json)
{
    if (only && !xdpvm_object__find_map_by_name(obj, only)) {
        cli_error("%s", xdpvm_last_error());
        return -ENOENT;
    }
    if (json)
        fputc('[', out);
    unsigned id = 0;
    bool first = true;
    struct xdpvm_object_map *m;
    xdpvm_object__for_each_map(m, obj) {
        id++;
        if (only && m != xdpvm_object__find_map_by_name(obj, only))
            continue;
        struct xdpvm_map *map = xdpvm_object_map__map(m);
        if (!map)
            continue; /* object not loaded */
        if (json) {
            if (!first)
                fputc(',', out);
            /* The show object, reopened to add the entries. */
            char *show = NULL;
            size_t show_size = 0;
            FILE *buffer = open_memstream(&show, &show_size);
            if (buffer) {
                map_print_show(buffer, id, map, true);
                fclose(buffer);
            }
            if (show && show_size > 1) {
                fwrite(show, 1, show_size - 1, out); /* without the closing brace */
                fputs(",\"entries\":", out);
                map_print_dump(out, map, true);
                fputc('}', out);
            }
            free(show);
        } else {
            map_print_show(out, id, map, false);
            map_print_dump(out, map, false);
        }
        first = false;
    }
    if (json)
        fputs("]\n", out);
    return 0;
}
