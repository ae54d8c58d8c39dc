#include "map_print.h"

#include <bpf/btf.h>
#include <errno.h>
#include <stdarg.h>
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

/* A JSON writer with bpftool's layout (its json_writer): in pretty mode every object member
 * starts a new line indented 4 spaces per level and a non-empty container closes on its own
 * line, while array elements follow each other on one line ("[1,2,3" then "]"). */
struct json_out {
    FILE *out;
    bool pretty;
    int depth;
    char separator; /* what goes before the next element: ',' or nothing */
};

static void json_separate(struct json_out *w)
{
    if (w->separator)
        fputc(w->separator, w->out);
    w->separator = ',';
}

static void json_newline(struct json_out *w)
{
    if (!w->pretty)
        return;
    fputc('\n', w->out);
    for (int i = 0; i < w->depth; i++)
        fputs("    ", w->out);
}

static void json_open(struct json_out *w, char bracket)
{
    json_separate(w);
    fputc(bracket, w->out);
    w->depth++;
    w->separator = '\0';
}

static void json_close(struct json_out *w, char bracket)
{
    w->depth--;
    if (w->separator)
        json_newline(w);
    fputc(bracket, w->out);
    w->separator = ',';
}

static void json_name(struct json_out *w, const char *name)
{
    json_separate(w);
    json_newline(w);
    w->separator = '\0';
    cli_json_string(w->out, name);
    fputs(w->pretty ? ": " : ":", w->out);
}

static void json_value(struct json_out *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void json_value(struct json_out *w, const char *fmt, ...)
{
    json_separate(w);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(w->out, fmt, ap);
    va_end(ap);
}

static void json_string(struct json_out *w, const char *s)
{
    json_separate(w);
    cli_json_string(w->out, s);
}

/* ---- values through BTF, as bpftool's "formatted" ---- */

#define MAX_FORMAT_DEPTH 32

static uint64_t read_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Bits [bit_offset, bit_offset + bits) of little-endian memory. */
static uint64_t read_bits(const uint8_t *base, size_t avail, uint64_t bit_offset, unsigned bits)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bits && i < 64; i++) {
        uint64_t bit = bit_offset + i;
        if (bit / 8 < avail && (base[bit / 8] >> (bit % 8)) & 1)
            v |= 1ull << i;
    }
    return v;
}

/* bpftool prints bitfields in hex: a string in JSON, bare in the text form. */
static void print_hex_number(struct json_out *w, uint64_t v)
{
    if (w->pretty)
        json_value(w, "0x%llx", (unsigned long long)v);
    else
        json_value(w, "\"0x%llx\"", (unsigned long long)v);
}

/* A char array holding printable text up to a NUL prints as a string. */
static bool is_string(const struct btf *btf, const struct btf_array *arr, const uint8_t *data, size_t avail)
{
    const struct btf_type *elem = btf__type_by_id(btf, arr->type);
    for (int i = 0; elem && btf_is_mod(elem) && i < MAX_FORMAT_DEPTH; i++)
        elem = btf__type_by_id(btf, elem->type);
    if (!elem || !btf_is_int(elem) || elem->size != 1 || arr->nelems == 0)
        return false;
    const char *name = btf__name_by_offset(btf, elem->name_off);
    if (btf_int_encoding(elem) != BTF_INT_CHAR && (!name || strcmp(name, "char")))
        return false;
    for (size_t i = 0; i < arr->nelems && i < avail; i++) {
        if (data[i] == 0)
            return true;
        if (data[i] < 0x20 || data[i] >= 0x7f)
            return false;
    }
    return false;
}

static void format_value(struct json_out *w, const struct btf *btf, uint32_t id, const uint8_t *data, size_t avail,
                         int depth);

static void format_int(struct json_out *w, const struct btf_type *t, const uint8_t *data, size_t avail)
{
    unsigned bits = btf_int_bits(t), shift = btf_int_offset(t);
    uint8_t encoding = btf_int_encoding(t);
    if (t->size > avail) {
        json_value(w, "null");
        return;
    }
    if (t->size > 8) { /* __int128: hex, like bpftool */
        json_value(w, "\"0x");
        for (size_t i = t->size; i-- > 0;)
            fprintf(w->out, "%02x", data[i]);
        fputc('"', w->out);
        return;
    }
    if (shift || bits != t->size * 8u) {
        print_hex_number(w, read_bits(data, avail, shift, bits));
        return;
    }
    uint64_t v = read_le(data, t->size);
    if (encoding & BTF_INT_BOOL)
        json_value(w, "%s", v ? "true" : "false");
    else if (encoding & BTF_INT_SIGNED) {
        int64_t sv = bits < 64 && (v >> (bits - 1)) & 1 ? (int64_t)(v | (~0ull << bits)) : (int64_t)v;
        json_value(w, "%lld", (long long)sv);
    } else
        json_value(w, "%llu", (unsigned long long)v);
}

static void format_enum(struct json_out *w, const struct btf *btf, const struct btf_type *t, const uint8_t *data,
                        size_t avail)
{
    if (t->size > avail || t->size > 8) {
        json_value(w, "null");
        return;
    }
    uint64_t raw = read_le(data, t->size);
    bool is_signed = btf_kflag(t);
    int64_t value = t->size < 8 && is_signed && (raw >> (t->size * 8 - 1)) & 1
                        ? (int64_t)(raw | (~0ull << (t->size * 8))) : (int64_t)raw;
    for (unsigned i = 0; i < btf_vlen(t); i++) {
        const char *name;
        int64_t enumerator;
        if (btf_is_enum(t)) {
            name = btf__name_by_offset(btf, btf_enum(t)[i].name_off);
            enumerator = is_signed ? btf_enum(t)[i].val : (int64_t)(uint32_t)btf_enum(t)[i].val;
        } else {
            name = btf__name_by_offset(btf, btf_enum64(t)[i].name_off);
            enumerator = (int64_t)btf_enum64_value(&btf_enum64(t)[i]);
        }
        if (name && (t->size < 8 ? enumerator == value : (uint64_t)enumerator == raw)) {
            json_string(w, name);
            return;
        }
    }
    if (is_signed)
        json_value(w, "%lld", (long long)value);
    else
        json_value(w, "%llu", (unsigned long long)raw);
}

static void format_composite(struct json_out *w, const struct btf *btf, const struct btf_type *t,
                             const uint8_t *data, size_t avail, int depth)
{
    json_open(w, '{');
    const struct btf_member *members = btf_members(t);
    for (unsigned i = 0; i < btf_vlen(t); i++) {
        const char *name = btf__name_by_offset(btf, members[i].name_off);
        json_name(w, name ? name : "");
        uint32_t bit_offset = btf_member_bit_offset(t, i);
        uint32_t bitfield = btf_member_bitfield_size(t, i);
        if (bitfield)
            print_hex_number(w, read_bits(data, avail, bit_offset, bitfield));
        else if (bit_offset / 8 <= avail)
            format_value(w, btf, members[i].type, data + bit_offset / 8, avail - bit_offset / 8, depth + 1);
        else
            json_value(w, "null");
    }
    json_close(w, '}');
}

static void format_datasec(struct json_out *w, const struct btf *btf, const struct btf_type *t, const uint8_t *data,
                           size_t avail, int depth)
{
    const char *section = btf__name_by_offset(btf, t->name_off);
    json_open(w, '{');
    json_name(w, section ? section : "");
    json_open(w, '[');
    const struct btf_var_secinfo *vars = btf_var_secinfos(t);
    for (unsigned i = 0; i < btf_vlen(t); i++) {
        const struct btf_type *var = btf__type_by_id(btf, vars[i].type);
        const char *name = var ? btf__name_by_offset(btf, var->name_off) : NULL;
        json_open(w, '{');
        json_name(w, name ? name : "");
        if (var && vars[i].offset <= avail)
            format_value(w, btf, var->type, data + vars[i].offset, avail - vars[i].offset, depth + 1);
        else
            json_value(w, "null");
        json_close(w, '}');
    }
    json_close(w, ']');
    json_close(w, '}');
}

static void format_value(struct json_out *w, const struct btf *btf, uint32_t id, const uint8_t *data, size_t avail,
                         int depth)
{
    const struct btf_type *t = btf__type_by_id(btf, id);
    if (!t || depth > MAX_FORMAT_DEPTH) {
        json_value(w, "null");
        return;
    }
    switch (btf_kind(t)) {
    case BTF_KIND_INT:
        format_int(w, t, data, avail);
        break;
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
        format_enum(w, btf, t, data, avail);
        break;
    case BTF_KIND_PTR:
        if (avail < 8)
            json_value(w, "null");
        else if (w->pretty)
            json_value(w, "0x%llx", (unsigned long long)read_le(data, 8));
        else
            json_value(w, "%llu", (unsigned long long)read_le(data, 8));
        break;
    case BTF_KIND_ARRAY: {
        const struct btf_array *arr = btf_array(t);
        if (is_string(btf, arr, data, avail)) {
            json_string(w, (const char *)data);
            break;
        }
        long long elem_size = btf__resolve_size(btf, arr->type);
        /* Zero-sized elements take no bytes, so the data cannot bound them: a corrupted
         * nelems of billions would print forever. One stands for them all. */
        uint32_t nelems = elem_size == 0 && arr->nelems > 1 ? 1 : arr->nelems;
        json_open(w, '[');
        for (uint32_t i = 0; elem_size >= 0 && i < nelems; i++) {
            uint64_t at = (uint64_t)i * (uint64_t)elem_size;
            if (at > avail) {
                json_value(w, "null");
                break;
            }
            format_value(w, btf, arr->type, data + at, avail - at, depth + 1);
        }
        json_close(w, ']');
        break;
    }
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
        format_composite(w, btf, t, data, avail, depth);
        break;
    case BTF_KIND_DATASEC:
        format_datasec(w, btf, t, data, avail, depth);
        break;
    case BTF_KIND_TYPEDEF:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_CONST:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
    case BTF_KIND_VAR:
        format_value(w, btf, t->type, data, avail, depth + 1);
        break;
    case BTF_KIND_FLOAT:
        if (t->size == 8 && avail >= 8) {
            double d;
            memcpy(&d, data, 8);
            json_value(w, "%.17g", d);
        } else if (t->size == 4 && avail >= 4) {
            float f;
            memcpy(&f, data, 4);
            json_value(w, "%.9g", (double)f);
        } else {
            json_value(w, "null");
        }
        break;
    default:
        json_value(w, "null");
        break;
    }
}

/* The BTF description of a map's key and value (value_type_id 0: print raw bytes only). */
struct map_types {
    const struct btf *btf;
    uint32_t key_type_id, value_type_id;
};

/* {"key": <formatted>, "value": <formatted>} or, per-CPU, "values": [{"cpu", "value"}]. */
static void format_entry(struct json_out *w, const struct map_types *types, const struct xdpvm_map_spec *spec,
                         unsigned ncpus, const uint8_t *key, const uint8_t *value)
{
    json_open(w, '{');
    if (types->key_type_id) {
        json_name(w, "key");
        format_value(w, types->btf, types->key_type_id, key, spec->key_size, 0);
    }
    if (!xdpvm_map_is_percpu(spec->type)) {
        json_name(w, "value");
        format_value(w, types->btf, types->value_type_id, value, spec->value_size, 0);
    } else {
        size_t stride = (spec->value_size + 7u) & ~7u;
        json_name(w, "values");
        json_open(w, '[');
        for (unsigned cpu = 0; cpu < ncpus; cpu++) {
            json_open(w, '{');
            json_name(w, "cpu");
            json_value(w, "%u", cpu);
            json_name(w, "value");
            format_value(w, types->btf, types->value_type_id, value + cpu * stride, spec->value_size, 0);
            json_close(w, '}');
        }
        json_close(w, ']');
    }
    json_close(w, '}');
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

static void print_entry_json(FILE *out, const struct map_types *types, const struct xdpvm_map_spec *spec,
                             unsigned ncpus, const uint8_t *key, const uint8_t *value)
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
    if (types) {
        struct json_out w = {.out = out};
        fputs(",\"formatted\":", out);
        format_entry(&w, types, spec, ncpus, key, value);
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
            cli_json_string(out, prog->name);
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

/* Text with BTF is bpftool's: the formatted entries as pretty JSON, no element count. */
static int dump(FILE *out, struct xdpvm_map *map, const struct map_types *types, bool json)
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
    if (types && !types->value_type_id)
        types = NULL;
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
    struct json_out pretty = {.out = out, .pretty = true};
    if (json)
        fputc('[', out);
    else if (types)
        json_open(&pretty, '[');
    int count = 0, err;
    for (err = xdpvm_map_get_next_key(map, NULL, next); err == 0; err = xdpvm_map_get_next_key(map, key, next)) {
        memcpy(key, next, spec->key_size);
        /* An entry may vanish between get_next_key and lookup (LRU eviction, a concurrent
         * delete). bpftool skips those too. */
        if (xdpvm_map_user_lookup(map, key, value))
            continue;
        if (json) {
            if (count)
                fputc(',', out);
            print_entry_json(out, types, spec, xdpvm_map_ncpus(map), key, value);
        } else if (types) {
            format_entry(&pretty, types, spec, xdpvm_map_ncpus(map), key, value);
        } else {
            print_entry_text(out, spec, xdpvm_map_ncpus(map), key, value);
        }
        count++;
    }
    if (json) {
        fputc(']', out);
    } else if (types) {
        json_close(&pretty, ']');
        fputc('\n', out);
    } else {
        fprintf(out, "Found %d element%s\n", count, count == 1 ? "" : "s");
    }
    free(key);
    free(next);
    free(value);
    if (err != -ENOENT) {
        cli_error("map '%s': cannot iterate: %s", spec->name, strerror(-err));
        return err;
    }
    return count;
}

int map_print_dump(FILE *out, struct xdpvm_map *map, bool json)
{
    return dump(out, map, NULL, json);
}

int map_print_dump_btf(FILE *out, struct xdpvm_map *map, const struct btf *btf, uint32_t key_type_id,
                       uint32_t value_type_id, bool json)
{
    struct map_types types = {btf, key_type_id, value_type_id};
    return dump(out, map, btf ? &types : NULL, json);
}

void map_print_show(FILE *out, unsigned id, struct xdpvm_map *map, bool json)
{
    const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(map);
    if (json) {
        fprintf(out, "{\"id\":%u,\"type\":", id);
        cli_json_string(out, type_name(spec->type));
        fputs(",\"name\":", out);
        cli_json_string(out, spec->name);
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
                map_print_dump_btf(out, map, xdpvm_object__btf(obj), xdpvm_object_map__btf_key_type_id(m),
                                   xdpvm_object_map__btf_value_type_id(m), true);
                fputc('}', out);
            }
            free(show);
        } else {
            map_print_show(out, id, map, false);
            map_print_dump_btf(out, map, xdpvm_object__btf(obj), xdpvm_object_map__btf_key_type_id(m),
                               xdpvm_object_map__btf_value_type_id(m), false);
        }
        first = false;
    }
    if (json)
        fputs("]\n", out);
    return 0;
}
