/* libFuzzer target for the capture reader (src/io, libpcap underneath): any file must open
 * and read packet by packet, or fail with a sentence, never crash; packets read are within
 * their stated lengths. The bytes are handed over as a memory file (memfd). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz.pcap", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64], err[512] = "";
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    struct xdpvm_pcap_reader *reader = xdpvm_pcap_open(path, err, sizeof(err));
    if (!reader) {
        if (!err[0])
            __builtin_trap();
        close(fd);
        return 0;
    }
    struct xdpvm_packet packet;
    int rc = 0;
    volatile uint8_t sink = 0;
    for (unsigned n = 0; n < 100000 && (rc = xdpvm_pcap_next(reader, &packet, err, sizeof(err))) == 1; n++) {
        for (uint32_t i = 0; i < packet.caplen; i++)
            sink ^= packet.data[i]; /* every captured byte is readable */
        err[0] = '\0';
    }
    (void)sink;
    if (rc < 0 && !err[0])
        __builtin_trap();
    xdpvm_pcap_close(reader);
    close(fd);
    return 0;
}
