/* Map contents of two loaded objects of the same BPF file, after running the same packets
 * through two executors (interpreter, JIT, native). */
#ifndef XDPVM_TESTLIB_MAP_COMPARE_H
#define XDPVM_TESTLIB_MAP_COMPARE_H

#include <stdbool.h>

#include "xdpvm/object.h"

/* Every map of a and b: same keys in the same order, same values (maps without a key/value
 * view are skipped: prog arrays, ring buffers, queues, stacks). False after test_fail(test)
 * with the map and the entry that differ. */
bool objects_maps_equal(const char *test, struct xdpvm_object *a, struct xdpvm_object *b);

#endif
