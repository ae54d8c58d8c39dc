/* `xdpvm map ... --dev IF`: the maps `xdpvm attach` pinned for an interface
 * (/sys/fs/bpf/xdpvm/<ifname>/<map>), read and updated in the kernel.
 *
 *   xdpvm map list --dev IF [--json]
 *   xdpvm map dump --dev IF [--map NAME] [--json]
 *   xdpvm map update --dev IF --map NAME --key HEX --value HEX   (per-CPU: every CPU's slot)
 *   xdpvm map delete --dev IF --map NAME --key HEX
 *
 * Text output follows `bpftool map dump` (hex bytes, "value (CPU NN)" for per-CPU maps). */
#include "commands.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/kernel.h"
#include "kernel_pins.h"

static const char map_pinned_usage[] =
    "usage: xdpvm map list --dev IF [--json]\n"
    "       xdpvm map dump --dev IF [--map NAME] [--json]\n"
    "       xdpvm map update --dev IF --map NAME --key HEX --value HEX\n"
    "       xdpvm map delete --dev IF --map NAME --key HEX";

/* "0a020002" or "0a 02 00 02" into exactly size bytes. */
static int parse_hex_bytes(const char *text, uint8_t *out, size_t size)
{
    size_t n = 0;
    for (const char *p = text; *p;) {
        if (*p == ' ' || *p == ':') {
            p++;
            continue;
        }
        unsigned v;
        if (n == size || sscanf(p, "%2x", &v) != 1 || !p[1] || p[1] == ' ')
            return -1;
        out[n++] = (uint8_t)v;
        p += 2;
    }
    return n == size ? 0 : -1;
}

static void print_hex(const uint8_t *data, size_t size, bool json)
{
    for (size_t i = 0; i < size; i++) {
        if (json)
            printf("%s\"0x%02x\"", i ? "," : "", data[i]);
        else
            printf("%s%02x", i ? " " : "", data[i]);
    }
}

static int open_pinned(const char *dev, const char *name, struct bpf_map_info *info, char *path, size_t size)
{
    char dir[256];
    kernel_pins_dir(dev, dir, sizeof(dir));
    snprintf(path, size, "%s/%s", dir, name);
    int fd = bpf_obj_get(path);
    if (fd < 0) {
        cli_error("map: no map '%s' pinned for '%s' (%s: %s); see 'xdpvm map list --dev %s'", name, dev, path,
                  strerror(errno), dev);
        return -1;
    }
    uint32_t len = sizeof(*info);
    memset(info, 0, sizeof(*info));
    if (bpf_obj_get_info_by_fd(fd, info, &len) < 0) {
        cli_error("map: %s is not a map: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int dump_one(const char *dev, const char *name, bool json, bool *first)
{
    char path[PATH_MAX];
    struct bpf_map_info info;
    int fd = open_pinned(dev, name, &info, path, sizeof(path));
    if (fd < 0)
        return -1;
    int ncpus = xdpvm_kernel_map_is_percpu(info.type) ? libbpf_num_possible_cpus() : 1;
    size_t slot = xdpvm_kernel_map_is_percpu(info.type) ? (info.value_size + 7) / 8 * 8 : info.value_size;
    uint8_t *key = calloc(1, info.key_size ? info.key_size : 1);
    uint8_t *next = calloc(1, info.key_size ? info.key_size : 1);
    uint8_t *value = calloc((size_t)(ncpus > 0 ? ncpus : 1), slot ? slot : 1);
    if (!key || !next || !value) {
        free(key), free(next), free(value), close(fd);
        cli_error("out of memory");
        return -1;
    }
    if (json)
        printf("%s{\"name\":\"%s\",\"type\":%u,\"key_size\":%u,\"value_size\":%u,\"max_entries\":%u,\"entries\":[",
               *first ? "" : ",", name, info.type, info.key_size, info.value_size, info.max_entries);
    else
        printf("map %s: type %u  key %uB  value %uB  max_entries %u\n", name, info.type, info.key_size,
               info.value_size, info.max_entries);
    *first = false;
    unsigned count = 0;
    void *prev = NULL;
    while (info.key_size && bpf_map_get_next_key(fd, prev, next) == 0) {
        memcpy(key, next, info.key_size);
        prev = key;
        if (bpf_map_lookup_elem(fd, key, value) < 0)
            continue; /* deleted meanwhile, or a devmap slot without a device */
        if (json) {
            printf("%s{\"key\":[", count ? "," : "");
            print_hex(key, info.key_size, true);
            if (xdpvm_kernel_map_is_percpu(info.type)) {
                printf("],\"values\":[");
                for (int c = 0; c < ncpus; c++) {
                    printf("%s{\"cpu\":%d,\"value\":[", c ? "," : "", c);
                    print_hex(value + (size_t)c * slot, info.value_size, true);
                    printf("]}");
                }
                printf("]}");
            } else {
                printf("],\"value\":[");
                print_hex(value, info.value_size, true);
                printf("]}");
            }
        } else {
            printf("key: ");
            print_hex(key, info.key_size, false);
            if (xdpvm_kernel_map_is_percpu(info.type)) {
                printf("\n");
                for (int c = 0; c < ncpus; c++) {
                    printf("  value (CPU %02d): ", c);
                    print_hex(value + (size_t)c * slot, info.value_size, false);
                    printf("\n");
                }
            } else {
                printf("  value: ");
                print_hex(value, info.value_size, false);
                printf("\n");
            }
        }
        count++;
    }
    if (json)
        printf("]}");
    else
        printf("Found %u element%s\n", count, count == 1 ? "" : "s");
    free(key), free(next), free(value);
    close(fd);
    return 0;
}

int map_pinned(int argc, char **argv)
{
    if (argc < 2) {
        cli_error("%s", map_pinned_usage);
        return 2;
    }
    const char *verb = argv[1], *dev = NULL, *name = NULL, *key_hex = NULL, *value_hex = NULL;
    bool json = false;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--dev") && v) { dev = v; i++; }
        else if (!strcmp(a, "--map") && v) { name = v; i++; }
        else if (!strcmp(a, "--key") && v) { key_hex = v; i++; }
        else if (!strcmp(a, "--value") && v) { value_hex = v; i++; }
        else {
            cli_error("map: unexpected argument '%s'\n%s", a, map_pinned_usage);
            return 2;
        }
    }
    char err[512];
    if (!dev) {
        cli_error("%s", map_pinned_usage);
        return 2;
    }
    if (kernel_pins_ensure_bpffs(err, sizeof(err)) < 0) {
        cli_error("map: %s", err);
        return 1;
    }
    char dir[256];
    kernel_pins_dir(dev, dir, sizeof(dir));
    if (!strcmp(verb, "list") || !strcmp(verb, "dump")) {
        bool first = true;
        if (name) {
            if (json)
                printf("[");
            int rc = dump_one(dev, name, json, &first);
            if (json)
                printf("]\n");
            return rc < 0 ? 1 : 0;
        }
        DIR *d = opendir(dir);
        if (!d) {
            cli_error("map: nothing pinned for '%s' (%s: %s); attach with 'xdpvm attach PROG.o --dev %s'", dev,
                      dir, strerror(errno), dev);
            return 1;
        }
        if (json)
            printf("[");
        struct dirent *e;
        int status = 0;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.' || !strcmp(e->d_name, "program"))
                continue;
            if (!strcmp(verb, "list")) {
                char path[PATH_MAX];
                struct bpf_map_info info;
                int fd = open_pinned(dev, e->d_name, &info, path, sizeof(path));
                if (fd < 0) {
                    status = 1;
                    continue;
                }
                if (json)
                    printf("%s{\"name\":\"%s\",\"type\":%u,\"key_size\":%u,\"value_size\":%u,\"max_entries\":%u,\"pin\":\"%s\"}",
                           first ? "" : ",", e->d_name, info.type, info.key_size, info.value_size,
                           info.max_entries, path);
                else
                    printf("%-16s type %-3u key %uB  value %uB  max_entries %u  %s\n", e->d_name, info.type,
                           info.key_size, info.value_size, info.max_entries, path);
                first = false;
                close(fd);
            } else if (dump_one(dev, e->d_name, json, &first) < 0) {
                status = 1;
            }
        }
        closedir(d);
        if (json)
            printf("]\n");
        return status;
    }
    if (strcmp(verb, "update") && strcmp(verb, "delete")) {
        cli_error("map: unknown verb '%s' with --dev\n%s", verb, map_pinned_usage);
        return 2;
    }
    if (!name || !key_hex || (!strcmp(verb, "update") && !value_hex)) {
        cli_error("%s", map_pinned_usage);
        return 2;
    }
    char path[PATH_MAX];
    struct bpf_map_info info;
    int fd = open_pinned(dev, name, &info, path, sizeof(path));
    if (fd < 0)
        return 1;
    int status = 1;
    int ncpus = xdpvm_kernel_map_is_percpu(info.type) ? libbpf_num_possible_cpus() : 1;
    size_t slot = xdpvm_kernel_map_is_percpu(info.type) ? (info.value_size + 7) / 8 * 8 : info.value_size;
    uint8_t *key = calloc(1, info.key_size ? info.key_size : 1);
    uint8_t *value = calloc((size_t)(ncpus > 0 ? ncpus : 1), slot ? slot : 1);
    if (!key || !value) {
        cli_error("out of memory");
        goto out;
    }
    if (parse_hex_bytes(key_hex, key, info.key_size) < 0) {
        cli_error("map update: --key '%s' is not %u bytes of hex for map '%s'", key_hex, info.key_size, name);
        goto out;
    }
    if (!strcmp(verb, "delete")) {
        if (bpf_map_delete_elem(fd, key) < 0) {
            cli_error("map delete: map '%s' (%s): %s", name, path, strerror(errno));
            goto out;
        }
        status = 0;
        goto out;
    }
    if (parse_hex_bytes(value_hex, value, info.value_size) < 0) {
        cli_error("map update: --value '%s' is not %u bytes of hex for map '%s'", value_hex, info.value_size, name);
        goto out;
    }
    for (int c = 1; c < ncpus; c++)
        memcpy(value + (size_t)c * slot, value, info.value_size);
    if (bpf_map_update_elem(fd, key, value, BPF_ANY) < 0) {
        cli_error("map update: map '%s' (%s): %s%s", name, path, strerror(errno),
                  info.type == BPF_MAP_TYPE_DEVMAP || info.type == BPF_MAP_TYPE_DEVMAP_HASH
                      ? " (a devmap value is an ifindex in the namespace this command runs in)" : "");
        goto out;
    }
    status = 0;
out:
    free(key);
    free(value);
    close(fd);
    return status;
}
