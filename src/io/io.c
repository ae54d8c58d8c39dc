#include "io.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Output snap length: the largest any packet can become, so no written packet is cut. */
#define OUTPUT_SNAPLEN 262144

struct xdpvm_pcap_reader {
    pcap_t *pcap;
    char *path;
    uint64_t next_index;
};

struct xdpvm_pcap_writer {
    pcap_t *dead;
    pcap_dumper_t *dumper;
    char *path;
    uint64_t written;
};

struct xdpvm_pcap_reader *xdpvm_pcap_open(const char *path, char *err, size_t err_size)
{
    char pcap_err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *pcap = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
                                                           pcap_err);
    if (!pcap) {
        snprintf(err, err_size, "%s: cannot read as pcap or pcapng: %s", path, pcap_err);
        return NULL;
    }
    int linktype = pcap_datalink(pcap);
    if (linktype != DLT_EN10MB) {
        const char *name = pcap_datalink_val_to_name(linktype);
        snprintf(err, err_size, "%s: link type %d (%s) is not Ethernet; XDP programs see "
                 "Ethernet frames", path, linktype, name ? name : "unknown");
        pcap_close(pcap);
        return NULL;
    }
    struct xdpvm_pcap_reader *reader = calloc(1, sizeof(*reader));
    char *copy = strdup(path);
    if (!reader || !copy) {
        snprintf(err, err_size, "%s: out of memory", path);
        free(reader);
        free(copy);
        pcap_close(pcap);
        return NULL;
    }
    reader->pcap = pcap;
    reader->path = copy;
    return reader;
}

int xdpvm_pcap_next(struct xdpvm_pcap_reader *reader, struct xdpvm_packet *packet, char *err,
                    size_t err_size)
{
    struct pcap_pkthdr *header;
    const u_char *data;
    int rc = pcap_next_ex(reader->pcap, &header, &data);
    if (rc == PCAP_ERROR_BREAK)
        return 0;
    if (rc != 1) {
        snprintf(err, err_size, "%s: packet %llu: damaged capture: %s", reader->path,
                 (unsigned long long)reader->next_index + 1, pcap_geterr(reader->pcap));
        return -1;
    }
    packet->data = data;
    packet->caplen = header->caplen;
    packet->len = header->len < header->caplen ? header->caplen : header->len;
    packet->ts_sec = header->ts.tv_sec;
    packet->ts_nsec = (uint32_t)header->ts.tv_usec; /* nanoseconds: opened with NANO precision */
    packet->index = reader->next_index++;
    return 1;
}

void xdpvm_pcap_close(struct xdpvm_pcap_reader *reader)
{
    if (!reader)
        return;
    pcap_close(reader->pcap);
    free(reader->path);
    free(reader);
}

struct xdpvm_pcap_writer *xdpvm_pcap_create(const char *path, char *err, size_t err_size)
{
    struct xdpvm_pcap_writer *writer = calloc(1, sizeof(*writer));
    if (!writer || !(writer->path = strdup(path))) {
        snprintf(err, err_size, "%s: out of memory", path);
        free(writer);
        return NULL;
    }
    writer->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, OUTPUT_SNAPLEN,
                                                        PCAP_TSTAMP_PRECISION_NANO);
    if (!writer->dead) {
        snprintf(err, err_size, "%s: libpcap cannot create a capture handle", path);
        free(writer->path);
        free(writer);
        return NULL;
    }
    writer->dumper = pcap_dump_open(writer->dead, path);
    if (!writer->dumper) {
        snprintf(err, err_size, "%s: cannot create: %s", path, pcap_geterr(writer->dead));
        pcap_close(writer->dead);
        free(writer->path);
        free(writer);
        return NULL;
    }
    return writer;
}

void xdpvm_pcap_write(struct xdpvm_pcap_writer *writer, const void *data, uint32_t caplen,
                      uint32_t len, int64_t ts_sec, uint32_t ts_nsec)
{
    struct pcap_pkthdr header = {
        .caplen = caplen,
        .len = len < caplen ? caplen : len,
    };
    header.ts.tv_sec = (time_t)ts_sec;
    header.ts.tv_usec = (suseconds_t)ts_nsec; /* the dumper was opened with NANO precision */
    pcap_dump((u_char *)writer->dumper, &header, data);
    writer->written++;
}

uint64_t xdpvm_pcap_written(const struct xdpvm_pcap_writer *writer)
{
    return writer->written;
}

int xdpvm_pcap_writer_close(struct xdpvm_pcap_writer *writer, char *err, size_t err_size)
{
    if (!writer)
        return 0;
    int rc = 0;
    FILE *file = pcap_dump_file(writer->dumper);
    if (pcap_dump_flush(writer->dumper) != 0 || ferror(file)) {
        snprintf(err, err_size, "%s: write failed: %s", writer->path, strerror(errno));
        rc = -1;
    }
    pcap_dump_close(writer->dumper);
    pcap_close(writer->dead);
    free(writer->path);
    free(writer);
    return rc;
}

void xdpvm_pcap_contents_free(struct xdpvm_pcap_contents *contents)
{
    for (size_t i = 0; i < contents->count; i++)
        free((void *)contents->packets[i].data);
    free(contents->packets);
    memset(contents, 0, sizeof(*contents));
}

int xdpvm_pcap_read_all(const char *path, uint32_t min_len, uint32_t max_len,
                        struct xdpvm_pcap_contents *contents, char *err, size_t err_size)
{
    memset(contents, 0, sizeof(*contents));
    struct xdpvm_pcap_reader *reader = xdpvm_pcap_open(path, err, err_size);
    if (!reader)
        return -1;
    size_t capacity = 0;
    struct xdpvm_packet packet;
    int got;
    while ((got = xdpvm_pcap_next(reader, &packet, err, err_size)) == 1) {
        if (packet.caplen < min_len || packet.caplen > max_len) {
            contents->skipped++;
            continue;
        }
        if (contents->count == capacity) {
            size_t bigger = capacity ? capacity * 2 : 256;
            struct xdpvm_xdp_packet_ref *grown = realloc(contents->packets, bigger * sizeof(*grown));
            if (!grown)
                goto out_of_memory;
            contents->packets = grown;
            capacity = bigger;
        }
        uint8_t *copy = malloc(packet.caplen ? packet.caplen : 1);
        if (!copy)
            goto out_of_memory;
        memcpy(copy, packet.data, packet.caplen);
        contents->packets[contents->count++] = (struct xdpvm_xdp_packet_ref){copy, packet.caplen};
    }
    xdpvm_pcap_close(reader);
    if (got < 0) {
        xdpvm_pcap_contents_free(contents);
        return -1;
    }
    return 0;

out_of_memory:
    snprintf(err, err_size, "%s: out of memory after %zu packets", path, contents->count);
    xdpvm_pcap_close(reader);
    xdpvm_pcap_contents_free(contents);
    return -1;
}
