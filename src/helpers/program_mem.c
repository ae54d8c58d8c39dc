/* Reading program memory that no helper prototype describes (trace_printk's %s and %pI4
 * arguments): through run->access_ok when the executor provides it (the interpreter: only
 * memory the program may access), otherwise with a copy that fails instead of faulting, as
 * the kernel's copy_from_kernel_nofault does. */
#include "helpers_impl.h"

#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE_BYTES 4096u

static bool copy_chunk(const struct xdpvm_run *run, uint64_t addr, void *buf, size_t size)
{
    if (addr + size < addr)
        return false;
    if (run && run->access_ok) {
        if (!run->access_ok(run, addr, size, false))
            return false;
        memcpy(buf, (const void *)(uintptr_t)addr, size);
        return true;
    }
    /* The kernel refuses with EFAULT what we may not read; our own pid needs no privilege. */
    struct iovec local = {buf, size}, remote = {(void *)(uintptr_t)addr, size};
    return process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)size;
}

bool helper_read_program(const struct xdpvm_run *run, uint64_t addr, void *buf, size_t size)
{
    return size == 0 || copy_chunk(run, addr, buf, size);
}

size_t helper_read_program_string(const struct xdpvm_run *run, uint64_t addr, char *buf, size_t size)
{
    size_t len = 0;
    if (size == 0)
        return 0;
    while (len + 1 < size) {
        /* Whole pages at once without a checker (a fault is per page); byte by byte with
         * one, whose regions may end anywhere. */
        uint64_t at = addr + len;
        size_t chunk = run && run->access_ok ? 1 : PAGE_BYTES - (size_t)(at % PAGE_BYTES);
        if (chunk > size - 1 - len)
            chunk = size - 1 - len;
        if (!copy_chunk(run, at, buf + len, chunk)) {
            len = 0; /* unreadable: an empty string, like the kernel */
            break;
        }
        char *nul = memchr(buf + len, '\0', chunk);
        if (nul)
            return (size_t)(nul - buf);
        len += chunk;
    }
    buf[len] = '\0';
    return len;
}
