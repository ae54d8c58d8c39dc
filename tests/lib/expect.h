/* Assertions for a test case written as one function with a `const char *name` (the case's
 * name) and a `done:` label that releases what the case holds: a failed check reports the
 * line and the expression through test_fail and jumps to done. */
#ifndef XDPVM_TESTLIB_EXPECT_H
#define XDPVM_TESTLIB_EXPECT_H

#include "testlib.h"

#define EXPECT(cond)                                                                    \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            test_fail(name, "line %d: %s", __LINE__, #cond);                            \
            goto done;                                                                  \
        }                                                                               \
    } while (0)
#define EXPECT_EQ(a, b)                                                                 \
    do {                                                                                \
        long long va_ = (long long)(a), vb_ = (long long)(b);                           \
        if (va_ != vb_) {                                                               \
            test_fail(name, "line %d: %s == %lld, expected %lld", __LINE__, #a, va_, vb_); \
            goto done;                                                                  \
        }                                                                               \
    } while (0)

#endif
