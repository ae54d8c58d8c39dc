#include "object_runner.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

struct xdpvm_xdp_runner *object_runner(const char *test, struct xdpvm_object *obj,
                                       const char *prog_name, const struct xdpvm_xdp_opts *opts)
{
    struct xdpvm_program *program = xdpvm_object__find_program_by_name(obj, prog_name);
    struct xdpvm_prog *prog = program ? xdpvm_program__prog(program) : NULL;
    if (!prog) {
        test_fail(test, "program %s not loaded: %s", prog_name, xdpvm_last_error());
        return NULL;
    }
    char err[256];
    struct xdpvm_xdp_runner *runner = xdpvm_xdp_runner_new(prog, opts, err, sizeof(err));
    if (!runner)
        test_fail(test, "runner: %s", err);
    return runner;
}

struct xdpvm_object *object_open_xdp(const char *path, struct xdpvm_program **program)
{
    XDPVM_OPEN_OPTS(opts, .ncpus = 1, .quiet = true);
    struct xdpvm_object *obj = xdpvm_object__open(path, &opts);
    if (!obj || xdpvm_object__load(obj) < 0) {
        xdpvm_object__close(obj);
        return NULL;
    }
    xdpvm_object__for_each_program(*program, obj)
        if (xdpvm_program__type(*program) == XDPVM_PROG_XDP)
            break;
    return obj;
}

static void visit_object_file(const char *dir, const char *file, object_visitor visit, void *ctx)
{
    size_t len = strlen(file);
    if (len <= 2 || strcmp(file + len - 2, ".o"))
        return;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, file);
    XDPVM_OPEN_OPTS(opts, .quiet = true);
    struct xdpvm_object *obj = xdpvm_object__open(path, &opts);
    if (!obj)
        return;
    if (xdpvm_object__load(obj) >= 0)
        visit(path, file, obj, ctx);
    xdpvm_object__close(obj);
}

void object_for_each_loaded(const char *dir, object_visitor visit, void *ctx)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        visit_object_file(dir, names[i]->d_name, visit, ctx);
        free(names[i]);
    }
    if (n > 0)
        free(names);
}
