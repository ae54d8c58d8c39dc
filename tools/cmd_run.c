/* xdpvm run: an XDP program over the packets of a pcap/pcapng file.
 *
 * Every packet goes through the XDP layer (src/xdp) in one worker; each outcome's packets
 * (with the bytes the program left) can be written to their own pcap. Maps are filled before
 * the run from --map-set / --maps-file and can be dumped after it. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "map_print.h"
#include "helpers/helpers.h"
#include "io/io.h"
#include "jit/jit.h"
#include "maps/maps.h"
#include "verifier/verifier.h"
#include "xdp/xdp.h"
#include "xdpvm/object.h"

#define MAX_MAP_SETS 256
#define MAX_ERRORS_SHOWN 10

struct run_args {
    const char *object;
    const char *section;
    const char *in;
    const char *out[XDPVM_XDP_OUT_COUNT]; /* per outcome; aborted covers the exceptions */
    const char *maps_file;
    const char *map_sets[MAX_MAP_SETS];
    unsigned map_set_count;
    const char *routes[MAX_MAP_SETS];
    unsigned route_count;
    bool json, trace, dump_maps, no_verify, quiet, blind;
    enum { ENGINE_AUTO, ENGINE_INTERP, ENGINE_JIT } engine;
    uint32_t ifindex, rxq;
};

static const char run_usage[] =
    "usage: xdpvm run PROG.o [--section S] --in IN.pcap [--out-pass P.pcap] [--out-tx T.pcap]\n"
    "                 [--out-redirect R.pcap] [--out-drop D.pcap] [--out-aborted A.pcap]\n"
    "                 [--json] [--trace] [--map-set MAP:KEYHEX:VALUEHEX ...] [--maps-file F.json]\n"
    "                 [--dump-maps] [--ifindex N] [--rxq N] [--no-verify] [--interp|--jit]\n"
    "                 [--blind] [--route PREFIX/LEN,IFINDEX[,SMAC,DMAC] ...] [--quiet]\n"
    "  --section S     the program's section (or name); default: the first XDP program\n"
    "  --out-aborted   packets the kernel would drop as exceptions: XDP_ABORTED, run errors,\n"
    "                  unknown return codes, failed redirects\n"
    "  --map-set       put one entry before the run (per-CPU maps: one value for every CPU)\n"
    "  --maps-file     entries from JSON: {\"MAP\": [{\"key\": \"HEX\", \"value\": \"HEX\"}, ...]}\n"
    "  --no-verify     skip xdpvm's verifier; the interpreter then checks every access at run\n"
    "                  time (a bad access aborts that packet with an error)\n"
    "  --jit           run the verified program as x86-64 code (the default for verified\n"
    "                  programs on x86-64; --interp runs the interpreter instead)\n"
    "  --blind         JIT with constant blinding (like the kernel's bpf_jit_harden): no\n"
    "                  immediate of the program appears as is in the machine code\n"
    "  --route         a route for bpf_fib_lookup: longest prefix wins; without MACs the\n"
    "                  lookup says no neighbour (BPF_FIB_LKUP_RET_NO_NEIGH)\n"
    "  --quiet         no progress line and no per-packet exception messages on stderr\n"
    "  --ifindex/--rxq xdp_md.ingress_ifindex (default 1, lo, as the kernel's test run) and\n"
    "                  rx_queue_index (default 0)\n";

static int usage_error(const char *fmt, const char *arg)
{
    return cli_usage_error(run_usage, fmt, arg);
}

static bool parse_u32(const char *text, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno || end == text || *end || v > UINT32_MAX || text[0] == '-')
        return false;
    *out = (uint32_t)v;
    return true;
}

static int parse_args(int argc, char **argv, struct run_args *args)
{
    memset(args, 0, sizeof(*args));
    args->ifindex = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes_value = true;
        const char **slot = NULL;
        if (!strcmp(a, "--section")) slot = &args->section;
        else if (!strcmp(a, "--in")) slot = &args->in;
        else if (!strcmp(a, "--out-pass")) slot = &args->out[XDPVM_XDP_OUT_PASS];
        else if (!strcmp(a, "--out-tx")) slot = &args->out[XDPVM_XDP_OUT_TX];
        else if (!strcmp(a, "--out-redirect")) slot = &args->out[XDPVM_XDP_OUT_REDIRECT];
        else if (!strcmp(a, "--out-drop")) slot = &args->out[XDPVM_XDP_OUT_DROP];
        else if (!strcmp(a, "--out-aborted")) slot = &args->out[XDPVM_XDP_OUT_ABORTED];
        else if (!strcmp(a, "--maps-file")) slot = &args->maps_file;
        else if (!strcmp(a, "--map-set")) {
            if (!next)
                return usage_error("%s needs a value", a);
            if (args->map_set_count == MAX_MAP_SETS)
                return usage_error("more than 256 %s options; use --maps-file", a);
            args->map_sets[args->map_set_count++] = next;
            i++;
            continue;
        } else if (!strcmp(a, "--route")) {
            if (!next)
                return usage_error("%s needs a value", a);
            if (args->route_count == MAX_MAP_SETS)
                return usage_error("more than 256 %s options", a);
            args->routes[args->route_count++] = next;
            i++;
            continue;
        } else if (!strcmp(a, "--ifindex") || !strcmp(a, "--rxq")) {
            if (!next || !parse_u32(next, !strcmp(a, "--rxq") ? &args->rxq : &args->ifindex))
                return usage_error("%s needs an unsigned 32-bit number", a);
            i++;
            continue;
        } else {
            takes_value = false;
            if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                fputs(run_usage, stdout);
                return -1;
            }
            if (!strcmp(a, "--json")) args->json = true;
            else if (!strcmp(a, "--trace")) args->trace = true;
            else if (!strcmp(a, "--dump-maps")) args->dump_maps = true;
            else if (!strcmp(a, "--no-verify")) args->no_verify = true;
            else if (!strcmp(a, "--interp")) args->engine = ENGINE_INTERP;
            else if (!strcmp(a, "--jit")) args->engine = ENGINE_JIT;
            else if (!strcmp(a, "--blind")) args->blind = true;
            else if (!strcmp(a, "--quiet")) args->quiet = true;
            else if (a[0] == '-' && a[1])
                return usage_error("unknown option '%s'", a);
            else if (!args->object)
                args->object = a;
            else
                return usage_error("unexpected argument '%s' (one object file per run)", a);
        }
        if (takes_value) {
            if (!next)
                return usage_error("%s needs a value", a);
            *slot = next;
            i++;
        }
    }
    if (!args->object)
        return usage_error("%s", "no object file given");
    if (!args->in)
        return usage_error("%s", "no input given (--in IN.pcap)");
    if (args->blind) {
        if (args->engine == ENGINE_INTERP)
            return usage_error("%s", "--blind blinds the JIT's constants; it does not go with --interp");
        args->engine = ENGINE_JIT;
    }
    return 0;
}

/* ---- the routing table of bpf_fib_lookup ---- */

static bool parse_mac(const char *text, uint8_t mac[6])
{
    unsigned b[6];
    char tail;
    if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)b[i];
    return true;
}

/* PREFIX/LEN,IFINDEX[,SMAC,DMAC] -> route; 0, or -1 after saying what is wrong. */
static int parse_route(const char *text, struct xdpvm_fib_route *route)
{
    char copy[256], *fields[5];
    unsigned n = 0;
    if (strlen(text) >= sizeof(copy)) {
        cli_error("--route %.40s...: too long", text);
        return -1;
    }
    strcpy(copy, text);
    for (char *save = NULL, *f = strtok_r(copy, ",", &save); f && n < 5; f = strtok_r(NULL, ",", &save))
        fields[n++] = f;
    if (n != 2 && n != 4) {
        cli_error("--route %s: want PREFIX/LEN,IFINDEX or PREFIX/LEN,IFINDEX,SMAC,DMAC", text);
        return -1;
    }
    memset(route, 0, sizeof(*route));
    char *slash = strchr(fields[0], '/');
    char *end = NULL;
    unsigned long len = slash ? strtoul(slash + 1, &end, 10) : 0;
    if (slash)
        *slash = '\0';
    route->family = strchr(fields[0], ':') ? AF_INET6 : AF_INET;
    unsigned max_len = route->family == AF_INET6 ? 128 : 32;
    if (slash && *(slash + 1) && !*end && len > max_len) {
        cli_error("--route %s: prefix length %lu is more than %u", text, len, max_len);
        return -1;
    }
    if (!slash || !*(slash + 1) || *end || inet_pton(route->family, fields[0], route->prefix) != 1) {
        cli_error("--route %s: '%s' is not an IPv4 or IPv6 prefix with a length (such as 10.0.0.0/8)", text,
                  fields[0]);
        return -1;
    }
    route->prefix_len = (uint8_t)len;
    if (!parse_u32(fields[1], &route->ifindex) || route->ifindex == 0) {
        cli_error("--route %s: the interface index must be a number above 0, not '%s'", text, fields[1]);
        return -1;
    }
    if (n == 4 && (!parse_mac(fields[2], route->smac) || !parse_mac(fields[3], route->dmac))) {
        cli_error("--route %s: MAC addresses are written aa:bb:cc:dd:ee:ff", text);
        return -1;
    }
    return 0;
}

static int install_routes(const struct run_args *args)
{
    if (!args->route_count)
        return 0;
    struct xdpvm_fib_route routes[MAX_MAP_SETS];
    for (unsigned i = 0; i < args->route_count; i++)
        if (parse_route(args->routes[i], &routes[i]) < 0)
            return -1;
    xdpvm_helpers_set_fib(routes, args->route_count);
    return 0;
}

/* ---- map entries from the command line and from JSON ---- */

/* Hex bytes, spaces allowed between them, an optional 0x prefix. Returns the byte count or -1. */
static long parse_hex(const char *text, size_t text_len, uint8_t *out, size_t cap)
{
    size_t n = 0;
    size_t i = 0;
    if (text_len >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
        i = 2;
    int high = -1;
    for (; i < text_len; i++) {
        char c = text[i];
        if (isspace((unsigned char)c)) {
            if (high >= 0)
                return -1; /* a lone nibble */
            continue;
        }
        if (!isxdigit((unsigned char)c))
            return -1;
        int v = isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
        if (high < 0) {
            high = v;
        } else {
            if (n == cap)
                return -1;
            out[n++] = (uint8_t)(high << 4 | v);
            high = -1;
        }
    }
    return high >= 0 ? -1 : (long)n;
}

/* Put one entry whose key and value are hex text; where says which option or file entry it came
 * from. For a per-CPU map a single value is copied to every CPU's slot. */
static int put_entry(struct xdpvm_object *obj, const char *where, const char *map_name,
                     const char *key_hex, size_t key_len, const char *value_hex, size_t value_len)
{
    struct xdpvm_object_map *omap = xdpvm_object__find_map_by_name(obj, map_name);
    struct xdpvm_map *map = omap ? xdpvm_object_map__map(omap) : NULL;
    if (!map) {
        cli_error("%s: no map named '%s' in %s", where, map_name, xdpvm_object__name(obj));
        return -1;
    }
    const struct xdpvm_map_spec *spec = xdpvm_map_get_spec(map);
    size_t user_size = xdpvm_map_user_value_size(map);
    uint8_t *key = calloc(1, spec->key_size + 1);
    uint8_t *value = calloc(1, user_size + spec->value_size + 1);
    int rc = -1;
    if (!key || !value) {
        cli_error("%s: out of memory", where);
        goto out;
    }
    long klen = parse_hex(key_hex, key_len, key, spec->key_size + 1);
    if (klen != (long)spec->key_size) {
        cli_error("%s: key for map '%s' must be %u bytes of hex, got '%.*s'", where, map_name,
                  spec->key_size, (int)key_len, key_hex);
        goto out;
    }
    long vlen = parse_hex(value_hex, value_len, value, user_size + 1);
    if (vlen == (long)spec->value_size && user_size != spec->value_size) {
        size_t stride = (spec->value_size + 7) / 8 * 8;
        uint8_t one[spec->value_size];
        memcpy(one, value, spec->value_size);
        memset(value, 0, user_size);
        for (size_t off = 0; off + spec->value_size <= user_size; off += stride)
            memcpy(value + off, one, spec->value_size);
    } else if (vlen != (long)user_size) {
        cli_error("%s: value for map '%s' must be %u bytes of hex%s, got '%.*s'", where, map_name,
                  spec->value_size, user_size != spec->value_size ? " (or one slot per CPU)" : "",
                  (int)value_len, value_hex);
        goto out;
    }
    int err = xdpvm_map_user_update(map, key, value, XDPVM_ANY);
    if (err) {
        cli_error("%s: update of map '%s' failed: %s", where, map_name, strerror(-err));
        goto out;
    }
    rc = 0;
out:
    free(key);
    free(value);
    return rc;
}

static int apply_map_set(struct xdpvm_object *obj, const char *option)
{
    char where[300];
    snprintf(where, sizeof(where), "--map-set %s", option);
    const char *c1 = strchr(option, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2 || strchr(c2 + 1, ':')) {
        cli_error("%s: expected MAP:KEYHEX:VALUEHEX", where);
        return -1;
    }
    char map_name[128];
    snprintf(map_name, sizeof(map_name), "%.*s", (int)(c1 - option), option);
    return put_entry(obj, where, map_name, c1 + 1, (size_t)(c2 - c1 - 1), c2 + 1, strlen(c2 + 1));
}

/* A small reader for the maps file: {"MAP": [{"key": HEX, "value": HEX}, ...], ...} where HEX
 * is a string of hex bytes or, as bpftool prints them, an array of "0x.." strings. */
struct json_reader {
    const char *text, *pos, *path;
    char error[256];
};

static void json_skip(struct json_reader *r)
{
    while (isspace((unsigned char)*r->pos))
        r->pos++;
}

/* After an item: skips white space and a ',' when one follows (another item then comes). */
static bool json_comma(struct json_reader *r)
{
    json_skip(r);
    if (*r->pos != ',')
        return false;
    r->pos++;
    return true;
}

static unsigned json_line(const struct json_reader *r)
{
    unsigned line = 1;
    for (const char *p = r->text; p < r->pos; p++)
        line += *p == '\n';
    return line;
}

static bool json_fail(struct json_reader *r, const char *what)
{
    if (!r->error[0])
        snprintf(r->error, sizeof(r->error), "%s:%u: %s", r->path, json_line(r), what);
    return false;
}

static bool json_expect(struct json_reader *r, char c)
{
    json_skip(r);
    if (*r->pos != c) {
        char what[64];
        snprintf(what, sizeof(what), "expected '%c'", c);
        return json_fail(r, what);
    }
    r->pos++;
    return true;
}

/* A string without escapes (map names and hex never need them): start and length. */
static bool json_string(struct json_reader *r, const char **start, size_t *len)
{
    json_skip(r);
    if (*r->pos != '"')
        return json_fail(r, "expected a string");
    const char *s = ++r->pos;
    while (*r->pos && *r->pos != '"') {
        if (*r->pos == '\\')
            return json_fail(r, "escapes are not supported in map names or hex strings");
        r->pos++;
    }
    if (!*r->pos)
        return json_fail(r, "unterminated string");
    *start = s;
    *len = (size_t)(r->pos - s);
    r->pos++;
    return true;
}

/* HEX as a string or an array of byte strings; appended into buf as hex text. */
static bool json_hex(struct json_reader *r, char *buf, size_t cap)
{
    json_skip(r);
    const char *s;
    size_t len;
    if (*r->pos == '"') {
        if (!json_string(r, &s, &len))
            return false;
        if (len >= cap)
            return json_fail(r, "hex string too long");
        memcpy(buf, s, len);
        buf[len] = 0;
        return true;
    }
    if (!json_expect(r, '['))
        return false;
    size_t n = 0;
    buf[0] = 0;
    json_skip(r);
    if (*r->pos == ']') {
        r->pos++;
        return true;
    }
    for (;;) {
        if (!json_string(r, &s, &len))
            return false;
        if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
            s += 2;
            len -= 2;
        }
        if (len == 1) { /* "0x5" */
            if (n + 3 >= cap)
                return json_fail(r, "too many bytes");
            buf[n++] = '0';
        }
        if (len > 2 || len == 0 || n + len + 2 >= cap)
            return json_fail(r, "each array element must be one byte, like \"0x0a\"");
        memcpy(buf + n, s, len);
        n += len;
        buf[n++] = ' ';
        buf[n] = 0;
        json_skip(r);
        if (*r->pos == ',') {
            r->pos++;
            continue;
        }
        return json_expect(r, ']');
    }
}

static int apply_maps_file(struct xdpvm_object *obj, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_error("--maps-file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    char *text = malloc(cap);
    size_t got;
    while (text && (got = fread(text + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *bigger = realloc(text, cap *= 2);
            if (!bigger) {
                free(text);
                text = NULL;
            }
            text = bigger;
        }
    }
    fclose(f);
    if (!text) {
        cli_error("--maps-file %s: out of memory", path);
        return -1;
    }
    text[n] = 0;
    struct json_reader r = {.text = text, .pos = text, .path = path};
    char *key = malloc(65536), *value = malloc(65536);
    int rc = -1;
    if (!key || !value || !json_expect(&r, '{'))
        goto out;
    json_skip(&r);
    if (*r.pos == '}') {
        rc = 0;
        goto out;
    }
    for (;;) {
        const char *name;
        size_t name_len;
        if (!json_string(&r, &name, &name_len) || !json_expect(&r, ':') || !json_expect(&r, '['))
            goto out;
        char map_name[128];
        snprintf(map_name, sizeof(map_name), "%.*s", (int)name_len, name);
        json_skip(&r);
        bool empty = *r.pos == ']';
        while (!empty) {
            bool have_key = false, have_value = false;
            unsigned line = json_line(&r);
            if (!json_expect(&r, '{'))
                goto out;
            for (;;) {
                const char *field;
                size_t field_len;
                if (!json_string(&r, &field, &field_len) || !json_expect(&r, ':'))
                    goto out;
                if (field_len == 3 && !memcmp(field, "key", 3)) {
                    if (!json_hex(&r, key, 65536))
                        goto out;
                    have_key = true;
                } else if (field_len == 5 && !memcmp(field, "value", 5)) {
                    if (!json_hex(&r, value, 65536))
                        goto out;
                    have_value = true;
                } else {
                    json_fail(&r, "an entry has only \"key\" and \"value\"");
                    goto out;
                }
                if (json_comma(&r))
                    continue;
                if (!json_expect(&r, '}'))
                    goto out;
                break;
            }
            char where[300];
            snprintf(where, sizeof(where), "%s:%u", path, line);
            if (!have_key || !have_value) {
                cli_error("%s: an entry of map '%s' needs both \"key\" and \"value\"", where, map_name);
                goto out_reported;
            }
            if (put_entry(obj, where, map_name, key, strlen(key), value, strlen(value)) < 0)
                goto out_reported;
            if (json_comma(&r))
                continue;
            break;
        }
        if (!json_expect(&r, ']'))
            goto out;
        if (json_comma(&r))
            continue;
        if (!json_expect(&r, '}'))
            goto out;
        json_skip(&r);
        if (*r.pos)
            json_fail(&r, "unexpected text after the closing '}'");
        else
            rc = 0;
        break;
    }
out:
    if (rc < 0)
        cli_error("--maps-file %s", r.error[0] ? r.error : "out of memory");
out_reported:
    free(key);
    free(value);
    free(text);
    return rc;
}

int apply_map_options(struct xdpvm_object *obj, const char *const *map_sets, unsigned count,
                      const char *maps_file)
{
    for (unsigned i = 0; i < count; i++)
        if (apply_map_set(obj, map_sets[i]) < 0)
            return -1;
    if (maps_file && apply_maps_file(obj, maps_file) < 0)
        return -1;
    return 0;
}

/* ---- the run ---- */

static struct xdpvm_program *find_program(struct xdpvm_object *obj, const char *path,
                                          const char *section)
{
    struct xdpvm_program *p;
    if (section) {
        p = xdpvm_object__find_program_by_section(obj, section);
        if (!p)
            p = xdpvm_object__find_program_by_name(obj, section);
        if (!p)
            cli_error("%s: no program in section or named '%s'", path, section);
        return p;
    }
    xdpvm_object__for_each_program(p, obj)
        if (xdpvm_program__type(p) == XDPVM_PROG_XDP)
            return p;
    cli_error("%s: no XDP program (SEC(\"xdp\")) in the object", path);
    return NULL;
}

struct xdpvm_program *pick_program(struct xdpvm_object *obj, const char *path,
                                   const char *section)
{
    struct xdpvm_program *program = find_program(obj, path, section);
    if (!program)
        return NULL;
    if (!xdpvm_program__prog(program) || xdpvm_program__type(program) != XDPVM_PROG_XDP) {
        cli_error("%s: program '%s' (section '%s') is not an XDP program", path,
                  xdpvm_program__name(program), xdpvm_program__section(program));
        return NULL;
    }
    return program;
}

int verify_for_run(struct xdpvm_object *obj, const char *path, struct xdpvm_program *program,
                   const char *hint)
{
    struct xdpvm_prog *prog = xdpvm_program__prog(program);
    struct xdpvm_verify_opts vopts = {0};
    struct xdpvm_verify_result verdict = {0};
    if (xdpvm_verify(prog, &vopts, &verdict) < 0) {
        cli_error("%s: program '%s' (section '%s') rejected by the verifier at instruction "
                  "%zu: %s%s", path, xdpvm_program__name(program), xdpvm_program__section(program),
                  verdict.error_insn, verdict.reason, hint ? hint : "");
        return -1;
    }
    /* Tail-call targets: verified ones run unchecked, the others stay checked. */
    struct xdpvm_program *other;
    xdpvm_object__for_each_program(other, obj) {
        struct xdpvm_prog *p = xdpvm_program__prog(other);
        struct xdpvm_verify_result ignored;
        if (p && p != prog)
            xdpvm_verify(p, &vopts, &ignored);
    }
    return 0;
}

/* The outcome's output file: every exception (aborted, invalid, failed redirect) goes to the
 * aborted output, as the kernel drops them all through its exception path. */
static enum xdpvm_xdp_outcome output_for(enum xdpvm_xdp_outcome outcome)
{
    if (outcome == XDPVM_XDP_OUT_INVALID || outcome == XDPVM_XDP_OUT_REDIRECT_ERROR)
        return XDPVM_XDP_OUT_ABORTED;
    return outcome;
}

struct trace_capture {
    char *buf;
    size_t size;
    FILE *stream;
};

int cmd_run(int argc, char **argv)
{
    if (cli_has_flag(argc, argv, "--dev"))
        return run_live(argc, argv); /* live ports: tools/run_live.c */
    struct run_args args;
    int rc = parse_args(argc, argv, &args);
    if (rc)
        return rc < 0 ? 0 : rc; /* -1: help was asked for and printed */

    int status = 1;
    struct xdpvm_object *obj = NULL;
    struct xdpvm_xdp_runner *runner = NULL;
    struct xdpvm_pcap_reader *reader = NULL;
    struct xdpvm_pcap_writer *writers[XDPVM_XDP_OUT_COUNT] = {0};
    struct trace_capture trace = {0};
    struct xdpvm_prog *jitted = NULL;
    char err[512];

    XDPVM_OPEN_OPTS(open_opts, .ncpus = 1);
    obj = xdpvm_object__open(args.object, &open_opts);
    if (!obj) {
        cli_error("%s", xdpvm_last_error());
        goto out;
    }
    if (xdpvm_object__load(obj) < 0) {
        cli_error("%s", xdpvm_last_error());
        goto out;
    }
    struct xdpvm_program *program = pick_program(obj, args.object, args.section);
    if (!program)
        goto out;
    struct xdpvm_prog *prog = xdpvm_program__prog(program);
    /* The kernel verifies at load; so does run, unless told not to. A rejected program does
     * not run: --no-verify runs it in the checked interpreter instead. */
    if (!args.no_verify &&
        verify_for_run(obj, args.object, program, " (--no-verify runs it in the checked interpreter)") < 0)
        goto out;
    /* Verified programs run JIT-compiled unless --interp says otherwise; without --jit, a host
     * the JIT cannot serve falls back to the interpreter with a message. */
    bool want_jit = args.engine == ENGINE_JIT || (args.engine == ENGINE_AUTO && prog->verified);
    if (want_jit) {
        char jit_err[256];
        struct xdpvm_jit_opts jopts = {.blind_constants = args.blind};
        if (!prog->verified) {
            cli_error("--jit runs verified programs only; drop --no-verify");
            goto out;
        }
        if (!xdpvm_jit_available()) {
            if (args.engine == ENGINE_JIT) {
                cli_error("--jit: the JIT targets x86-64, not this host");
                goto out;
            }
            fprintf(stderr, "xdpvm: the JIT targets x86-64, not this host: using the interpreter\n");
        } else if (xdpvm_jit_compile(prog, &jopts, jit_err, sizeof(jit_err)) < 0) {
            if (args.engine == ENGINE_JIT) {
                cli_error("%s: program '%s': %s", args.object, xdpvm_program__name(program), jit_err);
                goto out;
            }
            fprintf(stderr, "xdpvm: %s: program '%s': JIT failed (%s): using the interpreter\n",
                    args.object, xdpvm_program__name(program), jit_err);
        } else {
            jitted = prog;
        }
    }

    if (apply_map_options(obj, args.map_sets, args.map_set_count, args.maps_file) < 0)
        goto out;
    if (install_routes(&args) < 0)
        goto out;

    reader = xdpvm_pcap_open(args.in, err, sizeof(err));
    if (!reader) {
        cli_error("%s", err);
        goto out;
    }
    for (int i = 0; i < XDPVM_XDP_OUT_COUNT; i++) {
        if (!args.out[i])
            continue;
        writers[i] = xdpvm_pcap_create(args.out[i], err, sizeof(err));
        if (!writers[i]) {
            cli_error("%s", err);
            goto out;
        }
    }

    struct xdpvm_xdp_opts xdp_opts = {.ingress_ifindex = args.ifindex, .rx_queue_index = args.rxq};
    if (args.trace) {
        trace.stream = open_memstream(&trace.buf, &trace.size);
        if (!trace.stream) {
            cli_error("cannot capture trace output: %s", strerror(errno));
            goto out;
        }
        xdp_opts.trace = trace.stream;
    }
    runner = xdpvm_xdp_runner_new(prog, &xdp_opts, err, sizeof(err));
    if (!runner) {
        cli_error("%s", err);
        goto out;
    }

    /* Progress on stderr once a run has taken a second: rewritten in place on a terminal, a
     * line every few seconds otherwise (logs). */
    bool tty = isatty(STDERR_FILENO);
    bool progress_printed = false;
    double start = cli_now_seconds(), next_progress = start + 1.0, program_seconds = 0;
    uint64_t errors_shown = 0;
    char input_error[512] = "";
    FILE *human = args.json ? stderr : stdout; /* trace lines never mix into the JSON document */
    struct xdpvm_packet packet;
    struct xdpvm_xdp_result result;
    int got;
    while ((got = xdpvm_pcap_next(reader, &packet, input_error, sizeof(input_error))) == 1) {
        double t0 = cli_now_seconds();
        enum xdpvm_xdp_outcome outcome = xdpvm_xdp_run_packet(runner, packet.data, packet.caplen,
                                                              &result);
        double t1 = cli_now_seconds();
        program_seconds += t1 - t0;

        if (args.trace) {
            fflush(trace.stream);
            const char *action = xdpvm_xdp_action_name(result.ret);
            fprintf(human, "packet %" PRIu64 ": %s", packet.index + 1,
                    result.error && outcome == XDPVM_XDP_OUT_ABORTED ? "error" : action ? action : "?");
            if (!action && !result.error)
                fprintf(human, " (%u)", result.ret);
            fprintf(human, " -> %s, %u -> %u bytes", xdpvm_xdp_outcome_name(outcome),
                    packet.caplen, result.len);
            if (outcome == XDPVM_XDP_OUT_REDIRECT)
                fprintf(human, ", ifindex %u", result.redirect_ifindex);
            fputc('\n', human);
            if (result.message[0])
                fprintf(human, "  %s\n", result.message);
            /* Only what this packet wrote: after rewind, the stream's buffer still holds the
             * tail of a longer earlier packet's output past the current position. */
            long written = ftell(trace.stream);
            const char *end = trace.buf && written > 0 ? trace.buf + written : trace.buf;
            for (const char *line = trace.buf; line && line < end;) {
                const char *nl = memchr(line, '\n', (size_t)(end - line));
                size_t len = nl ? (size_t)(nl - line) : (size_t)(end - line);
                fprintf(human, "  trace: %.*s\n", (int)len, line);
                line += len + (nl ? 1 : 0);
            }
            rewind(trace.stream);
        } else if (!args.quiet && output_for(outcome) == XDPVM_XDP_OUT_ABORTED &&
                   errors_shown++ < MAX_ERRORS_SHOWN) {
            /* The kernel traces these (xdp_exception); so do we, for the first few. */
            fprintf(stderr, "xdpvm: packet %" PRIu64 ": %s%s\n", packet.index + 1,
                    result.message[0] ? result.message : "the program returned XDP_ABORTED",
                    errors_shown == MAX_ERRORS_SHOWN
                        ? " (further exceptions are counted, not shown)" : "");
        }

        struct xdpvm_pcap_writer *w = writers[output_for(outcome)];
        if (w) {
            uint32_t cut = packet.len - packet.caplen; /* bytes the capture never had */
            if (result.error == -EMSGSIZE)
                xdpvm_pcap_write(w, packet.data, packet.caplen, packet.len, packet.ts_sec,
                                 packet.ts_nsec);
            else
                xdpvm_pcap_write(w, result.data, result.len, result.len + cut, packet.ts_sec,
                                 packet.ts_nsec);
        }

        if ((packet.index & 1023) == 0 && t1 >= next_progress && !args.quiet) {
            fprintf(stderr, "%s%" PRIu64 " packets, %.0f packets/s%s", tty ? "\r" : "",
                    packet.index + 1, (packet.index + 1) / (t1 - start), tty ? " " : "\n");
            progress_printed = tty;
            next_progress = t1 + (tty ? 0.5 : 5.0);
        }
    }
    double elapsed = cli_now_seconds() - start;
    if (progress_printed)
        fputc('\n', stderr);
    if (got < 0)
        cli_error("%s (the %" PRIu64 " packets before it were processed and written)", input_error,
                  xdpvm_xdp_runner_stats(runner)->packets);

    bool write_failed = false;
    for (int i = 0; i < XDPVM_XDP_OUT_COUNT; i++) {
        if (writers[i] && xdpvm_pcap_writer_close(writers[i], err, sizeof(err)) < 0) {
            cli_error("%s", err);
            write_failed = true;
        }
        writers[i] = NULL;
    }

    const struct xdpvm_xdp_stats *stats = xdpvm_xdp_runner_stats(runner);
    double pps = elapsed > 0 ? stats->packets / elapsed : 0;
    double ns_per_packet = stats->packets ? program_seconds * 1e9 / stats->packets : 0;
    const char *mode = prog->jit_code ? (args.blind ? "jit (constants blinded)" : "jit")
                       : prog->verified ? "interpreter" : "interpreter (checked)";
    if (args.json) {
        printf("{\"object\":");
        cli_json_string(stdout, args.object);
        printf(",\"program\":");
        cli_json_string(stdout, xdpvm_program__name(program));
        printf(",\"section\":");
        cli_json_string(stdout, xdpvm_program__section(program));
        printf(",\"mode\":\"%s\",\"verified\":%s,\"input\":", mode, prog->verified ? "true" : "false");
        cli_json_string(stdout, args.in);
        printf(",\"packets\":%" PRIu64 ",\"actions\":{", stats->packets);
        for (int i = 0; i < XDPVM_XDP_OUT_COUNT; i++)
            printf("%s\"%s\":%" PRIu64, i ? "," : "", xdpvm_xdp_outcome_name(i), stats->outcome[i]);
        printf("},\"errors\":%" PRIu64 ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
               ",\"seconds\":%.6f,\"packets_per_second\":%.0f,\"ns_per_packet\":%.1f,\"outputs\":{",
               stats->errors, stats->bytes_in, stats->bytes_out, elapsed, pps, ns_per_packet);
        bool first = true;
        for (int i = 0; i < XDPVM_XDP_OUT_COUNT; i++) {
            if (!args.out[i])
                continue;
            printf("%s\"%s\":", first ? "" : ",", xdpvm_xdp_outcome_name(i));
            cli_json_string(stdout, args.out[i]);
            first = false;
        }
        printf("}");
        if (got < 0) {
            printf(",\"input_error\":");
            cli_json_string(stdout, input_error);
        }
        if (args.dump_maps) {
            printf(",\"maps\":");
            fflush(stdout);
            map_print_object(stdout, obj, NULL, true);
        }
        printf("}\n");
    } else {
        printf("%s: program %s (section %s), %s, %" PRIu64 " packets from %s\n", args.object,
               xdpvm_program__name(program), xdpvm_program__section(program), mode,
               stats->packets, args.in);
        for (int i = 0; i < XDPVM_XDP_OUT_COUNT; i++) {
            if ((i == XDPVM_XDP_OUT_INVALID || i == XDPVM_XDP_OUT_REDIRECT_ERROR) && !stats->outcome[i])
                continue;
            printf("  %-15s %10" PRIu64, xdpvm_xdp_outcome_name(i), stats->outcome[i]);
            if (i == XDPVM_XDP_OUT_ABORTED && stats->errors)
                printf("  (%" PRIu64 " run errors)", stats->errors);
            if (args.out[output_for(i)])
                printf("  -> %s", args.out[output_for(i)]);
            putchar('\n');
        }
        printf("  %.0f packets/s, %.1f ns/packet in the program, %.3f s\n", pps, ns_per_packet, elapsed);
        if (args.dump_maps) {
            printf("\nmaps after the run:\n");
            fflush(stdout);
            map_print_object(stdout, obj, NULL, false);
        }
    }
    status = got < 0 || write_failed ? 1 : 0;

out:
    for (int i = 0; i < XDPVM_XDP_OUT_COUNT; i++)
        if (writers[i])
            xdpvm_pcap_writer_close(writers[i], err, sizeof(err));
    xdpvm_xdp_runner_free(runner);
    if (trace.stream)
        fclose(trace.stream);
    free(trace.buf);
    xdpvm_pcap_close(reader);
    if (jitted)
        xdpvm_jit_free(jitted);
    xdpvm_object__close(obj);
    return status;
}
