#include "runtime.h"

#include <errno.h>
#include <stdarg.h>

void xdpvm_run_fail(struct xdpvm_run *run, size_t pc, int error, const char *fmt, ...)
{
    run->stop = true;
    if (run->error)
        return;
    run->error = error;
    run->error_pc = pc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->error_message, sizeof(run->error_message), fmt, ap);
    va_end(ap);
}

int xdpvm_run_add_region(struct xdpvm_run *run, const void *start, size_t len, bool writable,
                         const char *what)
{
    if (run->region_count >= XDPVM_MAX_RUN_REGIONS)
        return -ENOSPC;
    run->regions[run->region_count++] =
        (struct xdpvm_region){(uintptr_t)start, len, writable, what};
    return 0;
}
