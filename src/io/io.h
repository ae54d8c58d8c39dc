/* Packet files: pcap and pcapng in (libpcap), pcap out.
 *
 * Timestamps are kept to the nanosecond: input is read with nanosecond precision and output
 * is written as nanosecond pcap, so a packet leaves with the timestamp it came with. */
#ifndef XDPVM_IO_H
#define XDPVM_IO_H

#include <stddef.h>
#include <stdint.h>

#include "xdp/xdp.h" /* struct xdpvm_xdp_packet_ref */

struct xdpvm_packet {
    const uint8_t *data;   /* captured bytes; valid until the next read */
    uint32_t caplen;       /* bytes captured */
    uint32_t len;          /* bytes on the wire (>= caplen when the capture was truncated) */
    int64_t ts_sec;
    uint32_t ts_nsec;
    uint64_t index;        /* 0-based position in the file */
};

struct xdpvm_pcap_reader;
struct xdpvm_pcap_writer;

/* Open a pcap or pcapng file of Ethernet frames. NULL with a sentence in err otherwise
 * (missing file, not a capture, not Ethernet). */
struct xdpvm_pcap_reader *xdpvm_pcap_open(const char *path, char *err, size_t err_size);
/* Next packet: 1 and *packet filled, 0 at the end of the file, -1 on a damaged or truncated
 * file with a sentence in err naming the file and the packet number. */
int xdpvm_pcap_next(struct xdpvm_pcap_reader *reader, struct xdpvm_packet *packet, char *err,
                    size_t err_size);
void xdpvm_pcap_close(struct xdpvm_pcap_reader *reader);

/* Create (truncate) a nanosecond pcap of Ethernet frames. NULL with a sentence in err. */
struct xdpvm_pcap_writer *xdpvm_pcap_create(const char *path, char *err, size_t err_size);
/* Append one packet: caplen bytes of data, len on the wire (len >= caplen), timestamp. */
void xdpvm_pcap_write(struct xdpvm_pcap_writer *writer, const void *data, uint32_t caplen,
                      uint32_t len, int64_t ts_sec, uint32_t ts_nsec);
uint64_t xdpvm_pcap_written(const struct xdpvm_pcap_writer *writer);
/* Flush and close; returns 0, or -1 with a sentence in err when the data did not reach the
 * file (disk full, I/O error). writer is freed either way. */
int xdpvm_pcap_writer_close(struct xdpvm_pcap_writer *writer, char *err, size_t err_size);

/* A whole capture in memory (benchmarks): the packets whose captured length is within
 * [min_len, max_len], in file order; the others are counted in `skipped`. */
struct xdpvm_pcap_contents {
    struct xdpvm_xdp_packet_ref *packets;
    size_t count;
    uint64_t skipped;
};
/* 0, or -1 with a sentence in err (unreadable or damaged file, naming the packet; out of
 * memory). Nothing to free on failure. */
int xdpvm_pcap_read_all(const char *path, uint32_t min_len, uint32_t max_len,
                        struct xdpvm_pcap_contents *contents, char *err, size_t err_size);
void xdpvm_pcap_contents_free(struct xdpvm_pcap_contents *contents);

#endif
