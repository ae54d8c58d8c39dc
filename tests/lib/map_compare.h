/* Map contents of two loaded objects of the same BPF file, after running the same packets
 * through two executors (interpreter, JIT, native). */
#ifndef XDPVM_TESTLIB_MAP_COMPARE_H
#define XDPVM_TESTLIB_MAP_COMPARE_H

#include <stdbool.h>
#include <stdint.h>

#include "xdpvm/object.h"

/* Every map of a and b: same keys in the same order, same values (maps without a key/value
 * view are skipped: prog arrays, ring buffers, queues, stacks). False after test_fail(test)
 * with the map and the entry that differ. */
bool objects_maps_equal(const char *test, struct xdpvm_object *a, struct xdpvm_object *b);

/* The end of such a comparison whose packets all matched: passes test when the maps are
 * equal too, with a comment line naming the example, the packets per outcome and the two
 * executors ("the interpreter and the JIT"). */
void pass_if_maps_equal(const char *test, const char *example, long packets, const char *executors,
                        const uint64_t *outcomes, struct xdpvm_object *a, struct xdpvm_object *b);

#endif
