/* An XDP runner for one program of a loaded object, as the object tests build it. */
#ifndef XDPVM_TESTLIB_OBJECT_RUNNER_H
#define XDPVM_TESTLIB_OBJECT_RUNNER_H

#include "xdp/xdp.h"
#include "xdpvm/object.h"

/* The runner for the program named prog_name in obj (loaded), with opts; NULL after failing
 * test with the reason (program missing or not loaded, runner refused). */
struct xdpvm_xdp_runner *object_runner(const char *test, struct xdpvm_object *obj,
                                       const char *prog_name, const struct xdpvm_xdp_opts *opts);

/* Opens and loads the object at path on one CPU, quietly (the caller reports failures). NULL
 * when it does not open or load (xdpvm_last_error() says why); otherwise the object, with
 * *program its first XDP program, or NULL when it has none. */
struct xdpvm_object *object_open_xdp(const char *path, struct xdpvm_program **program);

/* Opens and loads (quietly) each .o file of dir, in name order, and hands every loaded object
 * to visit (path: dir/file), closing it afterwards. Objects the loader refuses (its own error
 * tests) are skipped: they hold no program to run or verify. */
typedef void (*object_visitor)(const char *path, const char *file, struct xdpvm_object *obj, void *ctx);
void object_for_each_loaded(const char *dir, object_visitor visit, void *ctx);

#endif
