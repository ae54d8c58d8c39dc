#include "object_runner.h"

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
