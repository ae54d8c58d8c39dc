/* Kernel mode: the same object file attached to an interface in the kernel.
 *
 *   xdpvm attach PROG.o --dev IF [--section S] [--mode native|skb] [--json]
 *   xdpvm detach --dev IF [--json]
 *   xdpvm status [--dev IF] [--json]
 *
 * attach loads through libbpf and attaches through libxdp (its multi-program dispatcher), so
 * it coexists with other XDP programs on the interface, including libxdp's AF_XDP program.
 * Maps and the program are pinned under /sys/fs/bpf/xdpvm/<ifname>/ (bpffs is mounted there
 * when absent) so that they outlive the command: `xdpvm map ... --dev IF` and bpftool read and
 * update them, detach finds the program, status reports it.
 *
 * Network namespaces: `ip netns exec` gives the command a fresh /sys without bpffs, and a bpffs
 * mounted there disappears with the command. Run attach/detach/status with
 * `nsenter --net=/var/run/netns/NAME xdpvm ...` so pins land in the host's /sys/fs/bpf. */
#include "commands.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "kernel_pins.h"
#include "verifier/verifier.h"
#include "xdp/xdp.h"
#include "xdpvm/xdpvm.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define PIN_ROOT "/sys/fs/bpf/xdpvm"
#define PROG_PIN "program"   /* the attached program, next to its maps */

static char libbpf_log[8192];
static size_t libbpf_log_len;

/* Keep libbpf's warnings (they carry the kernel verifier's log) for our error message. */
static int keep_libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    if (level == LIBBPF_DEBUG)
        return 0;
    if (libbpf_log_len < sizeof(libbpf_log) - 1) {
        int n = vsnprintf(libbpf_log + libbpf_log_len, sizeof(libbpf_log) - libbpf_log_len, fmt, ap);
        if (n > 0)
            libbpf_log_len += (size_t)n;
        if (libbpf_log_len >= sizeof(libbpf_log))
            libbpf_log_len = sizeof(libbpf_log) - 1;
    }
    return 0;
}

int kernel_pins_ensure_bpffs(char *err, size_t err_size)
{
    struct statfs st;
    if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC)
        return 0;
    if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") < 0) {
        snprintf(err, err_size, "/sys/fs/bpf is not a BPF filesystem and mounting one failed: %s",
                 strerror(errno));
        return -1;
    }
    fprintf(stderr, "xdpvm: mounted a BPF filesystem on /sys/fs/bpf (pins made here are private to "
                    "this mount namespace; with 'ip netns exec', prefer 'nsenter --net=...')\n");
    return 0;
}

void kernel_pins_dir(const char *ifname, char *path, size_t size)
{
    snprintf(path, size, PIN_ROOT "/%s", ifname);
}

static int remove_pins(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(dir);
}

/* xdpvm's own verdict on the program attach is about to give the kernel. Returns 1 accepted,
 * 0 rejected (reason in why), -1 when it could not tell (load error, in why). */
static int xdpvm_verdict(const char *object, const char *section, char *why, size_t why_size)
{
    struct xdpvm_object *obj = xdpvm_object__open(object, NULL);
    int verdict = -1;
    if (!obj || xdpvm_object__load(obj) < 0) {
        snprintf(why, why_size, "%s", xdpvm_last_error());
        xdpvm_object__close(obj);
        return -1;
    }
    struct xdpvm_program *p = NULL, *found = NULL;
    xdpvm_object__for_each_program(p, obj) {
        if (section ? (!strcmp(xdpvm_program__section(p), section) || !strcmp(xdpvm_program__name(p), section))
                    : xdpvm_program__type(p) == XDPVM_PROG_XDP) {
            found = p;
            break;
        }
    }
    if (!found || !xdpvm_program__prog(found)) {
        snprintf(why, why_size, "no such program in xdpvm's view of the object");
    } else {
        struct xdpvm_verify_opts vopts = {0};
        struct xdpvm_verify_result res;
        if (xdpvm_verify(xdpvm_program__prog(found), &vopts, &res) == 0) {
            verdict = 1;
            snprintf(why, why_size, "accepted (%" PRIu64 " instructions processed)", res.insns_processed);
        } else {
            verdict = 0;
            snprintf(why, why_size, "rejected at instruction %zu: %s", res.error_insn, res.reason);
        }
    }
    xdpvm_object__close(obj);
    return verdict;
}

static int parse_attach_mode(const char *text, enum xdp_attach_mode *mode)
{
    if (!strcmp(text, "native") || !strcmp(text, "drv")) *mode = XDP_MODE_NATIVE;
    else if (!strcmp(text, "skb") || !strcmp(text, "generic")) *mode = XDP_MODE_SKB;
    else return -1;
    return 0;
}

static const char *attach_mode_name(enum xdp_attach_mode mode)
{
    switch (mode) {
    case XDP_MODE_NATIVE: return "native";
    case XDP_MODE_SKB: return "skb";
    case XDP_MODE_HW: return "hw";
    default: return "unspecified";
    }
}

int cmd_attach(int argc, char **argv)
{
    const char *object = NULL, *dev = NULL, *section = NULL;
    enum xdp_attach_mode mode = XDP_MODE_NATIVE;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--dev") && v) { dev = v; i++; }
        else if (!strcmp(a, "--section") && v) { section = v; i++; }
        else if (!strcmp(a, "--mode") && v) {
            if (parse_attach_mode(v, &mode)) {
                cli_error("attach: --mode expects native or skb, got '%s'", v);
                return 2;
            }
            i++;
        } else if (a[0] != '-' && !object) object = a;
        else {
            cli_error("attach: unexpected argument '%s'", a);
            cli_error("usage: xdpvm attach PROG.o --dev IF [--section S] [--mode native|skb] [--json]");
            return 2;
        }
    }
    if (!object || !dev) {
        cli_error("usage: xdpvm attach PROG.o --dev IF [--section S] [--mode native|skb] [--json]");
        return 2;
    }
    unsigned ifindex = if_nametoindex(dev);
    if (!ifindex) {
        cli_error("attach: interface '%s' does not exist in this network namespace", dev);
        return 1;
    }
    if (geteuid() != 0) {
        cli_error("attach: attaching XDP programs needs root (CAP_BPF, CAP_NET_ADMIN)");
        return 1;
    }
    char err[512], dir[256], path[PATH_MAX];
    if (kernel_pins_ensure_bpffs(err, sizeof(err)) < 0) {
        cli_error("attach: %s", err);
        return 1;
    }
    kernel_pins_dir(dev, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/" PROG_PIN, dir);
    if (access(path, F_OK) == 0) {
        cli_error("attach: '%s' already has a program attached by xdpvm (%s); run 'xdpvm detach --dev %s' first",
                  dev, path, dev);
        return 1;
    }
    /* Leftover pins without a program (a crashed attach): start clean. */
    remove_pins(dir);
    if ((mkdir(PIN_ROOT, 0700) < 0 && errno != EEXIST) || (mkdir(dir, 0700) < 0 && errno != EEXIST)) {
        cli_error("attach: cannot create %s: %s", dir, strerror(errno));
        return 1;
    }

    live_quiet_libraries();
    char ours[700];
    int our_verdict = xdpvm_verdict(object, section, ours, sizeof(ours));

    libbpf_set_print(keep_libbpf_log);
    int status = 1;
    struct bpf_object *obj = bpf_object__open_file(object, NULL);
    struct xdp_program *prog = NULL;
    if (!obj) {
        cli_error("attach: %s: cannot open: %s", object, strerror(errno));
        goto out;
    }
    struct bpf_program *bp = NULL, *p;
    bpf_object__for_each_program(p, obj) {
        bool match = section ? (!strcmp(bpf_program__section_name(p), section) ||
                                !strcmp(bpf_program__name(p), section))
                             : bpf_program__type(p) == BPF_PROG_TYPE_XDP;
        if (match && !bp)
            bp = p;
        else
            bpf_program__set_autoload(p, false);
    }
    if (!bp) {
        cli_error(section ? "attach: %s: no program in section or named '%s'"
                          : "attach: %s: no XDP program (SEC(\"xdp\"))%s", object, section ? section : "");
        goto out;
    }
    struct bpf_map *m;
    bpf_object__for_each_map(m, obj) {
        snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(m));
        /* Names like "router.rodata" are fine as file names; '/' would not be. */
        if (strchr(bpf_map__name(m), '/'))
            continue;
        bpf_map__set_pin_path(m, path);
    }
    DECLARE_LIBXDP_OPTS(xdp_program_opts, xopts, .obj = obj, .prog_name = bpf_program__name(bp));
    prog = xdp_program__create(&xopts);
    int rc = libxdp_get_error(prog);
    if (rc) {
        prog = NULL;
        cli_error("attach: %s: libxdp cannot use program '%s': %s", object, bpf_program__name(bp),
                  strerror(-rc));
        goto out;
    }
    libbpf_log_len = 0;
    libbpf_log[0] = 0;
    rc = xdp_program__attach(prog, (int)ifindex, mode, 0);
    /* The kernel's verdict decides; xdpvm's is printed when the two differ. */
    bool kernel_rejected = rc == -EACCES || rc == -EINVAL || (rc && strstr(libbpf_log, "verifier"));
    if (our_verdict == 1 && kernel_rejected)
        fprintf(stderr, "xdpvm: verdicts differ: xdpvm's verifier %s; the kernel's rejected it (%s)\n",
                ours, strerror(-rc));
    else if (our_verdict == 0 && rc == 0)
        fprintf(stderr, "xdpvm: verdicts differ: xdpvm's verifier %s; the kernel's accepted it\n", ours);
    else if (our_verdict < 0)
        fprintf(stderr, "xdpvm: xdpvm's verifier could not check %s: %s\n", object, ours);
    if (rc) {
        cli_error("attach: %s: program '%s' on '%s' (%s mode): %s", object, bpf_program__name(bp), dev,
                  attach_mode_name(mode), strerror(-rc));
        if (libbpf_log_len)
            fprintf(stderr, "kernel verifier / libbpf said:\n%s", libbpf_log);
        goto out;
    }
    snprintf(path, sizeof(path), "%s/" PROG_PIN, dir);
    if (bpf_obj_pin(xdp_program__fd(prog), path) < 0) {
        cli_error("attach: cannot pin the program at %s: %s (it stays attached; detach with 'ip link set dev %s xdp off' or xdp-loader)",
                  path, strerror(errno), dev);
        goto out;
    }
    if (json) {
        printf("{\"dev\":\"%s\",\"ifindex\":%u,\"mode\":\"%s\",\"program\":\"%s\",\"id\":%u,\"pins\":\"%s\","
               "\"xdpvm_verifier\":\"%s\",\"kernel_verifier\":\"accepted\"}\n",
               dev, ifindex, attach_mode_name(mode), xdp_program__name(prog), xdp_program__id(prog), dir,
               our_verdict == 1 ? "accepted" : our_verdict == 0 ? "rejected" : "unknown");
    } else {
        printf("attached %s (program '%s', id %u) to %s in %s mode; maps pinned in %s\n"
               "verifiers: kernel accepted; xdpvm %s\n", object,
               xdp_program__name(prog), xdp_program__id(prog), dev, attach_mode_name(mode), dir, ours);
    }
    status = 0;
out:
    if (status) {
        remove_pins(dir);
        rmdir(PIN_ROOT);
    }
    /* The attachment (and libxdp's dispatcher pins) outlive these handles. */
    if (prog)
        xdp_program__close(prog);
    bpf_object__close(obj);
    return status;
}

int cmd_detach(int argc, char **argv)
{
    live_quiet_libraries();
    const char *dev = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--dev") && i + 1 < argc) dev = argv[++i];
        else {
            cli_error("usage: xdpvm detach --dev IF [--json]");
            return 2;
        }
    }
    if (!dev) {
        cli_error("usage: xdpvm detach --dev IF [--json]");
        return 2;
    }
    char err[512], dir[256], path[PATH_MAX];
    if (kernel_pins_ensure_bpffs(err, sizeof(err)) < 0) {
        cli_error("detach: %s", err);
        return 1;
    }
    kernel_pins_dir(dev, dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/" PROG_PIN, dir);
    unsigned ifindex = if_nametoindex(dev);
    struct xdp_program *prog = xdp_program__from_pin(path);
    if (libxdp_get_error(prog)) {
        cli_error("detach: no program attached by xdpvm on '%s' (%s not found)", dev, path);
        return 1;
    }
    int status = 0;
    if (ifindex) {
        struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex((int)ifindex);
        enum xdp_attach_mode mode = libxdp_get_error(mp) ? XDP_MODE_UNSPEC : xdp_multiprog__attach_mode(mp);
        if (!libxdp_get_error(mp))
            xdp_multiprog__close(mp);
        int rc = xdp_program__detach(prog, (int)ifindex, mode, 0);
        if (rc && rc != -ENOENT) {
            cli_error("detach: cannot detach program '%s' from '%s': %s", xdp_program__name(prog), dev,
                      strerror(-rc));
            status = 1;
        }
    }
    if (json)
        printf("{\"dev\":\"%s\",\"detached\":%s,\"program\":\"%s\"}\n", dev, status ? "false" : "true",
               xdp_program__name(prog));
    else if (!status)
        printf("detached program '%s' from %s; removed %s\n", xdp_program__name(prog), dev, dir);
    xdp_program__close(prog);
    if (!status) {
        remove_pins(dir);
        rmdir(PIN_ROOT); /* only when empty */
    }
    return status;
}

/* Per-action counters, when the program keeps them the usual way: an array or per-CPU array
 * of u64 indexed by XDP action (XDP_ABORTED..XDP_REDIRECT). */
static bool read_action_counts(const char *path, uint64_t counts[5])
{
    int fd = bpf_obj_get(path);
    if (fd < 0)
        return false;
    struct bpf_map_info info;
    uint32_t len = sizeof(info);
    memset(&info, 0, sizeof(info));
    bool ok = false;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.key_size == 4 && info.value_size == 8 &&
        info.max_entries == 5 &&
        (info.type == BPF_MAP_TYPE_ARRAY || info.type == BPF_MAP_TYPE_PERCPU_ARRAY)) {
        int ncpu = info.type == BPF_MAP_TYPE_PERCPU_ARRAY ? libbpf_num_possible_cpus() : 1;
        uint64_t *values = calloc(ncpu > 0 ? (size_t)ncpu : 1, sizeof(uint64_t));
        ok = values != NULL;
        for (uint32_t key = 0; ok && key < 5; key++) {
            counts[key] = 0;
            if (bpf_map_lookup_elem(fd, &key, values) < 0) {
                ok = false;
                break;
            }
            for (int c = 0; c < ncpu; c++)
                counts[key] += values[c];
        }
        free(values);
    }
    close(fd);
    return ok;
}

int cmd_status(int argc, char **argv)
{
    live_quiet_libraries();
    const char *only = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--dev") && i + 1 < argc) only = argv[++i];
        else {
            cli_error("usage: xdpvm status [--dev IF] [--json]");
            return 2;
        }
    }
    char err[512];
    if (kernel_pins_ensure_bpffs(err, sizeof(err)) < 0) {
        cli_error("status: %s", err);
        return 1;
    }
    DIR *root = opendir(PIN_ROOT);
    unsigned shown = 0;
    if (json)
        printf("[");
    struct dirent *e;
    while (root && (e = readdir(root))) {
        if (e->d_name[0] == '.' || (only && strcmp(only, e->d_name)))
            continue;
        char dir[256], path[PATH_MAX];
        kernel_pins_dir(e->d_name, dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/" PROG_PIN, dir);
        struct xdp_program *prog = xdp_program__from_pin(path);
        if (libxdp_get_error(prog))
            continue;
        unsigned ifindex = if_nametoindex(e->d_name);
        const char *mode = "not attached (interface missing in this namespace)";
        struct xdp_multiprog *mp = ifindex ? xdp_multiprog__get_from_ifindex((int)ifindex) : NULL;
        int others = 0;
        if (mp && !libxdp_get_error(mp)) {
            mode = attach_mode_name(xdp_multiprog__attach_mode(mp));
            others = xdp_multiprog__program_count(mp) - 1;
        } else {
            mp = NULL;
        }
        if (json)
            printf("%s{\"dev\":\"%s\",\"ifindex\":%u,\"mode\":\"%s\",\"program\":\"%s\",\"id\":%u,"
                   "\"other_programs\":%d,\"pins\":\"%s\",\"maps\":[",
                   shown ? "," : "", e->d_name, ifindex, mode, xdp_program__name(prog),
                   xdp_program__id(prog), others < 0 ? 0 : others, dir);
        else
            printf("%s: program '%s' (id %u), %s mode%s, pins in %s\n", e->d_name, xdp_program__name(prog),
                   xdp_program__id(prog), mode, others > 0 ? " with other programs (libxdp dispatcher)" : "", dir);
        DIR *d = opendir(dir);
        struct dirent *me;
        unsigned maps = 0;
        while (d && (me = readdir(d))) {
            if (me->d_name[0] == '.' || !strcmp(me->d_name, PROG_PIN))
                continue;
            snprintf(path, sizeof(path), "%s/%s", dir, me->d_name);
            uint64_t counts[5];
            bool counters = read_action_counts(path, counts);
            if (json) {
                printf("%s{\"name\":\"%s\"", maps ? "," : "", me->d_name);
                if (counters) {
                    printf(",\"actions\":{");
                    for (int a = 0; a < 5; a++)
                        printf("%s\"%s\":%" PRIu64, a ? "," : "", xdpvm_xdp_outcome_name(a), counts[a]);
                    printf("}");
                }
                printf("}");
            } else {
                printf("  map %s", me->d_name);
                if (counters)
                    for (int a = 0; a < 5; a++)
                        printf("  %s %" PRIu64, xdpvm_xdp_outcome_name(a), counts[a]);
                printf("\n");
            }
            maps++;
        }
        if (d)
            closedir(d);
        if (json)
            printf("]}");
        if (mp)
            xdp_multiprog__close(mp);
        xdp_program__close(prog);
        shown++;
    }
    if (root)
        closedir(root);
    if (json)
        printf("]\n");
    else if (!shown)
        printf(only ? "nothing attached by xdpvm on %s\n" : "nothing attached by xdpvm%s\n", only ? only : "");
    return 0;
}
