/* The kernel oracle through libbpf. libbpf's own messages are captured (not printed) and the
 * last ones end up in the error sentence when something fails. */
#include "kernel/kernel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel keeps verifier logs up to 1 GiB; ours are small programs. Big enough that a
 * log level 2 log of a test program is not truncated (which the kernel reports as ENOSPC). */
#define VERIFIER_LOG_SIZE (16u << 20)

struct xdpvm_kernel_object {
    struct bpf_object *bpf;
    char path[512];
};

static __thread char last_error[8192];
/* Tail of libbpf's messages since the last reset: the reason behind a failure. */
static __thread char libbpf_messages[6144];

static int kernel_error(int error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int kernel_error(int error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(last_error, sizeof(last_error), fmt, ap);
    va_end(ap);
    if (libbpf_messages[0] && n >= 0 && (size_t)n < sizeof(last_error))
        snprintf(last_error + n, sizeof(last_error) - (size_t)n, "\nlibbpf said:\n%s", libbpf_messages);
    return error > 0 ? -error : error;
}

const char *xdpvm_kernel_error(void)
{
    return last_error;
}

static int capture_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    if (level == LIBBPF_DEBUG)
        return 0;
    char line[1024];
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    if (n <= 0)
        return n;
    size_t have = strlen(libbpf_messages), add = strlen(line);
    if (add >= sizeof(libbpf_messages))
        add = sizeof(libbpf_messages) - 1;
    if (have + add >= sizeof(libbpf_messages)) { /* keep the newest text */
        size_t drop = have + add - (sizeof(libbpf_messages) - 1);
        memmove(libbpf_messages, libbpf_messages + drop, have - drop + 1);
        have -= drop;
    }
    memcpy(libbpf_messages + have, line + strlen(line) - add, add + 1);
    return n;
}

static void start_call(void)
{
    libbpf_set_print(capture_libbpf);
    libbpf_messages[0] = '\0';
}

bool xdpvm_kernel_available(char *why, size_t why_size)
{
    if (geteuid() != 0) {
        snprintf(why, why_size, "needs root for the bpf syscall (euid %u)", (unsigned)geteuid());
        return false;
    }
    /* A tiny array map proves the syscall works (not blocked by seccomp or a kernel without BPF). */
    int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
    if (fd < 0) {
        snprintf(why, why_size, "bpf syscall unavailable: %s", strerror(errno));
        return false;
    }
    close(fd);
    return true;
}

struct xdpvm_kernel_object *xdpvm_kernel_open(const char *path)
{
    start_call();
    struct bpf_object *bpf = bpf_object__open_file(path, NULL);
    if (!bpf) {
        kernel_error(errno, "%s: libbpf cannot open it: %s", path, strerror(errno));
        return NULL;
    }
    struct xdpvm_kernel_object *obj = calloc(1, sizeof(*obj));
    if (!obj) {
        bpf_object__close(bpf);
        kernel_error(ENOMEM, "out of memory");
        return NULL;
    }
    obj->bpf = bpf;
    snprintf(obj->path, sizeof(obj->path), "%s", path);
    return obj;
}

static struct bpf_map *find_map(struct xdpvm_kernel_object *obj, const char *name)
{
    struct bpf_map *map = bpf_object__find_map_by_name(obj->bpf, name);
    if (!map)
        kernel_error(ENOENT, "%s: no map named '%s'", obj->path, name);
    return map;
}

static struct bpf_program *find_prog(struct xdpvm_kernel_object *obj, const char *name)
{
    struct bpf_program *prog = bpf_object__find_program_by_name(obj->bpf, name);
    if (!prog)
        kernel_error(ENOENT, "%s: no program named '%s'", obj->path, name);
    return prog;
}

void *xdpvm_kernel_initial_value(struct xdpvm_kernel_object *obj, const char *map_name, size_t *size)
{
    start_call();
    struct bpf_map *map = find_map(obj, map_name);
    if (!map)
        return NULL;
    /* libbpf 1.1 returns it const, yet before load it is the writable mmap skeletons use. */
    void *value = (void *)(uintptr_t)bpf_map__initial_value(map, size);
    if (!value)
        kernel_error(EINVAL, "%s: map '%s' has no initial value (not global data)", obj->path, map_name);
    return value;
}

int xdpvm_kernel_load(struct xdpvm_kernel_object *obj)
{
    start_call();
    int err = bpf_object__load(obj->bpf);
    if (err)
        return kernel_error(err, "%s: the kernel did not load it: %s", obj->path, strerror(-err));
    return 0;
}

void xdpvm_kernel_close(struct xdpvm_kernel_object *obj)
{
    if (!obj)
        return;
    bpf_object__close(obj->bpf);
    free(obj);
}

int xdpvm_kernel_test_run(struct xdpvm_kernel_object *obj, const char *prog_name, struct xdpvm_kernel_test_run *run)
{
    start_call();
    int fd = xdpvm_kernel_prog_fd(obj, prog_name);
    if (fd < 0)
        return fd;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = run->data_in, .data_size_in = run->data_size_in,
                .data_out = run->data_out, .data_size_out = run->data_out ? run->data_size_out : 0,
                .ctx_in = run->ctx_in, .ctx_size_in = run->ctx_size_in, .ctx_out = run->ctx_out,
                .ctx_size_out = run->ctx_out ? run->ctx_size_out : 0, .repeat = run->repeat, .flags = run->flags);
    int err = bpf_prog_test_run_opts(fd, &opts);
    if (err)
        return kernel_error(errno ? errno : -err, "%s: program '%s': BPF_PROG_TEST_RUN failed: %s", obj->path, prog_name,
                            strerror(errno ? errno : -err));
    run->retval = opts.retval;
    run->duration = opts.duration;
    run->data_size_out = opts.data_size_out;
    run->ctx_size_out = opts.ctx_size_out;
    return 0;
}

int xdpvm_kernel_time_packets(struct xdpvm_kernel_object *obj, const char *prog_name,
                              const struct xdpvm_xdp_packet_ref *packets, size_t count,
                              uint32_t repeat, struct xdpvm_kernel_timing *timing)
{
    memset(timing, 0, sizeof(*timing));
    if (repeat == 0)
        repeat = 1;
    double total_ns = 0;
    for (size_t i = 0; i < count; i++) {
        struct xdpvm_kernel_test_run warmup = {.data_in = packets[i].data,
                                               .data_size_in = packets[i].len, .repeat = 1};
        struct xdpvm_kernel_test_run run = warmup;
        run.repeat = repeat;
        int err = xdpvm_kernel_test_run(obj, prog_name, &warmup);
        if (!err) {
            timing->actions[warmup.retval <= XDP_REDIRECT ? warmup.retval : 5]++;
            err = xdpvm_kernel_test_run(obj, prog_name, &run);
        }
        if (err) {
            char why[sizeof(last_error)];
            memcpy(why, last_error, sizeof(why));
            libbpf_messages[0] = '\0'; /* already in why */
            return kernel_error(err, "packet %zu (%u bytes): %s", i + 1, packets[i].len, why);
        }
        total_ns += (double)run.duration * repeat;
        timing->runs += repeat;
    }
    timing->ns_per_run = timing->runs ? total_ns / (double)timing->runs : 0;
    return 0;
}

unsigned xdpvm_kernel_possible_cpus(void)
{
    int n = libbpf_num_possible_cpus();
    return n > 0 ? (unsigned)n : 1;
}

bool xdpvm_kernel_map_is_percpu(uint32_t type)
{
    return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
           type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

int xdpvm_kernel_map_info(struct xdpvm_kernel_object *obj, const char *map_name, struct xdpvm_kernel_map_info *info)
{
    struct bpf_map *map = find_map(obj, map_name);
    if (!map)
        return -ENOENT;
    info->type = bpf_map__type(map);
    info->key_size = bpf_map__key_size(map);
    info->value_size = bpf_map__value_size(map);
    info->max_entries = bpf_map__max_entries(map);
    info->map_flags = bpf_map__map_flags(map);
    info->user_value_size = xdpvm_kernel_map_is_percpu(bpf_map__type(map))
                                ? (size_t)xdpvm_kernel_possible_cpus() * ((info->value_size + 7u) & ~7u)
                                : info->value_size;
    return 0;
}

/* Map operations go straight to the fd: libbpf's bpf_map__* wrappers would only add size checks
 * that the info above already encodes. */
static int map_fd(struct xdpvm_kernel_object *obj, const char *map_name)
{
    struct bpf_map *map = find_map(obj, map_name);
    if (!map)
        return -ENOENT;
    int fd = bpf_map__fd(map);
    if (fd < 0)
        return kernel_error(EBADF, "%s: map '%s' is not created (object not loaded?)", obj->path, map_name);
    return fd;
}

int xdpvm_kernel_map_lookup(struct xdpvm_kernel_object *obj, const char *map_name, const void *key, void *value)
{
    int fd = map_fd(obj, map_name);
    if (fd < 0)
        return fd;
    if (bpf_map_lookup_elem(fd, key, value))
        return kernel_error(errno, "%s: map '%s': lookup: %s", obj->path, map_name, strerror(errno));
    return 0;
}

int xdpvm_kernel_map_update(struct xdpvm_kernel_object *obj, const char *map_name, const void *key, const void *value,
                            uint64_t flags)
{
    int fd = map_fd(obj, map_name);
    if (fd < 0)
        return fd;
    if (bpf_map_update_elem(fd, key, value, flags))
        return kernel_error(errno, "%s: map '%s': update: %s", obj->path, map_name, strerror(errno));
    return 0;
}

int xdpvm_kernel_map_delete(struct xdpvm_kernel_object *obj, const char *map_name, const void *key)
{
    int fd = map_fd(obj, map_name);
    if (fd < 0)
        return fd;
    if (bpf_map_delete_elem(fd, key))
        return kernel_error(errno, "%s: map '%s': delete: %s", obj->path, map_name, strerror(errno));
    return 0;
}

int xdpvm_kernel_map_get_next_key(struct xdpvm_kernel_object *obj, const char *map_name, const void *key,
                                  void *next_key)
{
    int fd = map_fd(obj, map_name);
    if (fd < 0)
        return fd;
    if (bpf_map_get_next_key(fd, key, next_key)) {
        int error = errno;
        if (error == ENOENT)
            return -ENOENT; /* the end of the iteration, not a failure */
        return kernel_error(error, "%s: map '%s': get_next_key: %s", obj->path, map_name, strerror(error));
    }
    return 0;
}

int xdpvm_kernel_map_fd(struct xdpvm_kernel_object *obj, const char *map_name)
{
    return map_fd(obj, map_name);
}

int xdpvm_kernel_prog_fd(struct xdpvm_kernel_object *obj, const char *prog_name)
{
    struct bpf_program *prog = find_prog(obj, prog_name);
    if (!prog)
        return -ENOENT;
    int fd = bpf_program__fd(prog);
    return fd < 0 ? kernel_error(EBADF, "%s: program '%s' is not loaded", obj->path, prog_name) : fd;
}

int xdpvm_kernel_verify(const char *path, const char *prog_name, unsigned log_level, char *log, size_t log_size)
{
    if (log_size)
        log[0] = '\0';
    struct xdpvm_kernel_object *obj = xdpvm_kernel_open(path);
    if (!obj)
        return -EINVAL;
    struct bpf_program *target = find_prog(obj, prog_name);
    if (!target) {
        xdpvm_kernel_close(obj);
        return -ENOENT;
    }
    char *buffer = malloc(VERIFIER_LOG_SIZE);
    if (!buffer) {
        xdpvm_kernel_close(obj);
        return kernel_error(ENOMEM, "out of memory");
    }
    buffer[0] = '\0';
    struct bpf_program *prog;
    bpf_object__for_each_program(prog, obj->bpf)
        bpf_program__set_autoload(prog, prog == target);
    bpf_program__set_log_buf(target, buffer, VERIFIER_LOG_SIZE);
    bpf_program__set_log_level(target, log_level ? log_level : 1);
    start_call();
    int err = bpf_object__load(obj->bpf);
    if (err) {
        /* The object can fail after the program was accepted (a prog_array slot naming a
         * program left unloaded, say) or before it was tried (a map); only libbpf's own
         * message tells that the program load itself failed. */
        char rejected[160];
        snprintf(rejected, sizeof(rejected), "prog '%s': BPF program load failed", prog_name);
        if (strstr(libbpf_messages, rejected))
            kernel_error(err, "%s: program '%s': the verifier rejected it (%s)", path, prog_name, strerror(-err));
        else if (buffer[0])
            err = 0; /* accepted; the failure was elsewhere in the object */
        else
            err = kernel_error(err, "%s: program '%s': could not ask the verifier: %s", path, prog_name, strerror(-err));
    }
    if (log_size) {
        size_t len = strlen(buffer);
        size_t keep = len < log_size ? len : log_size - 1;
        memcpy(log, buffer + len - keep, keep);
        log[keep] = '\0';
    }
    free(buffer);
    xdpvm_kernel_close(obj);
    return err;
}
