/* Helpers called directly through the XDP helper table with a constructed struct xdpvm_run
 * and struct xdpvm_xdp_buff: packet adjustment limits, checksums, redirects, trace_printk
 * formatting, fib_lookup, tail calls, maps, ring buffers and callbacks. */
#include "helpers/helpers.h"
#include "lib/expect.h"
#include "lib/testlib.h"
#include "maps/maps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <linux/bpf.h>

static const struct xdpvm_helper_table *xdp_table;

static uint64_t call(struct xdpvm_run *run, uint32_t id, uint64_t r1, uint64_t r2, uint64_t r3,
                     uint64_t r4, uint64_t r5)
{
    return xdp_table->by_id[id]->fn(r1, r2, r3, r4, r5, run);
}
#define P(x) ((uint64_t)(uintptr_t)(x))

/* A one-page frame in the low 4 GiB (md holds 32-bit addresses), packet at headroom. */
struct frame {
    uint8_t *page;
    struct xdpvm_xdp_buff buff;
    struct xdpvm_run run;
};

static bool frame_init(struct frame *f, uint32_t headroom, uint32_t len)
{
    memset(f, 0, sizeof(*f));
    f->page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    if (f->page == MAP_FAILED)
        return false;
    uint32_t base = (uint32_t)(uintptr_t)f->page;
    f->buff.frame = f->page;
    f->buff.frame_size = 4096;
    f->buff.tailroom_reserve = 320;
    f->buff.md.data = base + headroom;
    f->buff.md.data_meta = base + headroom;
    f->buff.md.data_end = base + headroom + len;
    for (uint32_t i = 0; i < len; i++)
        f->page[headroom + i] = (uint8_t)i;
    f->run.ctx = &f->buff.md;
    f->run.xdp = &f->buff;
    return true;
}

static void frame_free(struct frame *f)
{
    if (f->page && f->page != MAP_FAILED)
        munmap(f->page, 4096);
}

static uint32_t off(const struct frame *f, uint32_t a) { return a - (uint32_t)(uintptr_t)f->page; }

static void table(void)
{
    const char *name = "helpers_table_prototypes_names";
    const struct xdpvm_helper_table *generic = xdpvm_helpers_for(XDPVM_PROG_SCHED_CLS);
    static const uint32_t ids[] = {1, 2, 3, 5, 6, 7, 8, 12, 23, 28, 42, 44, 51, 54, 65, 69, 87,
                                   88, 89, 125, 130, 131, 132, 133, 160, 164, 181, 188, 189,
                                   190, 195, 208};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        const struct xdpvm_helper *h = xdp_table->by_id[ids[i]];
        EXPECT(h && h->id == ids[i] && h->fn);
        EXPECT(xdpvm_helper_kernel_name(ids[i]) && !strcmp(h->name, xdpvm_helper_kernel_name(ids[i])));
        EXPECT_EQ(h->changes_packet, ids[i] == 44 || ids[i] == 54 || ids[i] == 65);
    }
    EXPECT(!generic->by_id[44] && !generic->by_id[51] && !generic->by_id[23]);
    EXPECT(generic->by_id[1] && generic->by_id[181] && generic->by_id[28]);
    EXPECT(!xdp_table->by_id[10] && !xdp_table->by_id[11] && !xdp_table->by_id[113]);
    EXPECT(!strcmp(xdpvm_helper_kernel_name(113), "probe_read_kernel"));
    EXPECT(!strcmp(xdpvm_helper_kernel_name(10), "l3_csum_replace"));
    EXPECT(!xdpvm_helper_kernel_name(0) && !xdpvm_helper_kernel_name(100000));
    const struct xdpvm_helper *lookup = xdp_table->by_id[1];
    EXPECT(lookup->ret == XDPVM_RET_PTR_TO_MAP_VALUE_OR_NULL &&
           lookup->args[0] == XDPVM_ARG_CONST_MAP_PTR && lookup->args[1] == XDPVM_ARG_PTR_TO_MAP_KEY &&
           lookup->args[2] == XDPVM_ARG_DONTCARE);
    EXPECT(xdp_table->by_id[131]->ret == XDPVM_RET_PTR_TO_ALLOC_MEM_OR_NULL &&
           xdp_table->by_id[131]->args[1] == XDPVM_ARG_CONST_ALLOC_SIZE_OR_ZERO);
    EXPECT(xdp_table->by_id[12]->ret == XDPVM_RET_VOID && xdp_table->by_id[12]->args[0] == XDPVM_ARG_PTR_TO_CTX);
    EXPECT(xdp_table->by_id[181]->args[1] == XDPVM_ARG_PTR_TO_FUNC &&
           xdp_table->by_id[181]->args[2] == XDPVM_ARG_PTR_TO_STACK_OR_NULL);
    EXPECT(xdp_table->by_id[88]->args[1] == XDPVM_ARG_PTR_TO_UNINIT_MAP_VALUE);
    EXPECT(xdp_table->by_id[28]->args[0] == XDPVM_ARG_PTR_TO_MEM_OR_NULL &&
           xdp_table->by_id[28]->args[3] == XDPVM_ARG_CONST_SIZE_OR_ZERO);
    test_pass(name);
done:;
}

static void adjust_head(void)
{
    const char *name = "helpers_xdp_adjust_head_limits";
    struct frame f;
    EXPECT(frame_init(&f, 256, 64));
    struct xdpvm_run *run = &f.run;
    /* the frame keeps sizeof(struct xdp_frame) = 40 bytes of headroom */
    EXPECT_EQ(call(run, 44, P(run->ctx), (uint64_t)-217, 0, 0, 0), (uint64_t)-EINVAL);
    EXPECT_EQ(call(run, 44, P(run->ctx), (uint64_t)-216, 0, 0, 0), 0);
    EXPECT_EQ(off(&f, f.buff.md.data), 40);
    EXPECT_EQ(f.buff.md.data_meta, f.buff.md.data);
    EXPECT_EQ(call(run, 44, P(run->ctx), 216, 0, 0, 0), 0);
    /* at least ETH_HLEN bytes must stay */
    EXPECT_EQ(call(run, 44, P(run->ctx), 51, 0, 0, 0), (uint64_t)-EINVAL);
    EXPECT_EQ(call(run, 44, P(run->ctx), 50, 0, 0, 0), 0);
    EXPECT_EQ(f.buff.md.data_end - f.buff.md.data, 14);
    EXPECT_EQ(f.page[f.buff.md.data - (uint32_t)(uintptr_t)f.page], 50);
    EXPECT_EQ(call(run, 44, P(run->ctx), (uint64_t)-50, 0, 0, 0), 0);
    /* metadata moves with the packet start and limits how far it can grow */
    EXPECT_EQ(call(run, 54, P(run->ctx), (uint64_t)-8, 0, 0, 0), 0);
    memcpy(f.page + off(&f, f.buff.md.data_meta), "METADATA", 8);
    EXPECT_EQ(call(run, 44, P(run->ctx), (uint64_t)-16, 0, 0, 0), 0);
    EXPECT_EQ(f.buff.md.data - f.buff.md.data_meta, 8);
    EXPECT(!memcmp(f.page + off(&f, f.buff.md.data_meta), "METADATA", 8));
    EXPECT_EQ(off(&f, f.buff.md.data), 240);
    EXPECT_EQ(call(run, 44, P(run->ctx), (uint64_t)-193, 0, 0, 0), (uint64_t)-EINVAL);
    EXPECT_EQ(call(run, 44, P(run->ctx), (uint64_t)-192, 0, 0, 0), 0);
    EXPECT_EQ(off(&f, f.buff.md.data_meta), 40);
    /* no buffer: -EINVAL, not a crash */
    struct xdpvm_run bare = {0};
    EXPECT_EQ(call(&bare, 44, 0, 0, 0, 0, 0), (uint64_t)-EINVAL);
    test_pass(name);
done:
    frame_free(&f);
}

static void adjust_meta(void)
{
    const char *name = "helpers_xdp_adjust_meta_limits";
    struct frame f;
    EXPECT(frame_init(&f, 64, 64));
    struct xdpvm_run *run = &f.run;
    EXPECT_EQ(call(run, 54, P(run->ctx), (uint64_t)-2, 0, 0, 0), (uint64_t)-EACCES);
    EXPECT_EQ(call(run, 54, P(run->ctx), (uint64_t)-36, 0, 0, 0), (uint64_t)-EINVAL); /* < frame+40 */
    EXPECT_EQ(call(run, 54, P(run->ctx), (uint64_t)-24, 0, 0, 0), 0);
    EXPECT_EQ(call(run, 54, P(run->ctx), (uint64_t)-4, 0, 0, 0), (uint64_t)-EINVAL); /* below frame + 40 */
    EXPECT_EQ(call(run, 54, P(run->ctx), 28, 0, 0, 0), (uint64_t)-EINVAL);          /* past data */
    EXPECT_EQ(call(run, 54, P(run->ctx), 24, 0, 0, 0), 0);
    frame_free(&f);
    EXPECT(frame_init(&f, 256, 64));
    run = &f.run;
    EXPECT_EQ(call(run, 54, P(run->ctx), (uint64_t)-32, 0, 0, 0), 0);
    EXPECT_EQ(call(run, 54, P(run->ctx), (uint64_t)-4, 0, 0, 0), 0); /* past the old 32 limit */
    EXPECT_EQ(call(run, 54, P(run->ctx), 8, 0, 0, 0), 0);
    EXPECT_EQ(f.buff.md.data - f.buff.md.data_meta, 28);
    frame_free(&f);
    EXPECT(frame_init(&f, 400, 64));
    run = &f.run;
    /* at most 255 bytes (skb_shared_info.meta_len is a u8), so 252 with the alignment */
    EXPECT_EQ(call(run, 54, P(run->ctx), (uint64_t)-256, 0, 0, 0), (uint64_t)-EACCES);
    EXPECT_EQ(call(run, 54, P(run->ctx), (uint64_t)-252, 0, 0, 0), 0);
    f.buff.md.data_meta = f.buff.md.data + 1; /* the driver has no metadata support */
    EXPECT_EQ(call(run, 54, P(run->ctx), (uint64_t)-4, 0, 0, 0), (uint64_t)-524);
    EXPECT_EQ(call(run, 44, P(run->ctx), (uint64_t)-4, 0, 0, 0), 0);
    EXPECT_EQ(f.buff.md.data_meta, f.buff.md.data + 1);
    test_pass(name);
done:
    frame_free(&f);
}

static void load_store_bytes(void)
{
    const char *name = "helpers_xdp_load_store_bytes";
    struct frame f;
    EXPECT(frame_init(&f, 256, 64));
    struct xdpvm_run *run = &f.run;
    uint8_t buf[16] = {0};
    EXPECT_EQ(call(run, 188, P(run->ctx), 0, 0, 0, 0), 64);
    EXPECT_EQ(call(run, 189, P(run->ctx), 60, P(buf), 4, 0), 0);
    EXPECT(buf[0] == 60 && buf[3] == 63);
    EXPECT_EQ(call(run, 189, P(run->ctx), 61, P(buf), 4, 0), (uint64_t)-EINVAL);
    EXPECT_EQ(call(run, 189, P(run->ctx), 0x10000, P(buf), 4, 0), (uint64_t)-EFAULT);
    EXPECT_EQ(call(run, 189, P(run->ctx), (uint64_t)-1, P(buf), 4, 0), (uint64_t)-EFAULT);
    memcpy(buf, "\xaa\xbb", 2);
    EXPECT_EQ(call(run, 190, P(run->ctx), 10, P(buf), 2, 0), 0);
    EXPECT(f.page[256 + 10] == 0xaa && f.page[256 + 11] == 0xbb && f.page[256 + 12] == 12);
    EXPECT_EQ(call(run, 190, P(run->ctx), 63, P(buf), 2, 0), (uint64_t)-EINVAL);
    test_pass(name);
done:
    frame_free(&f);
}

static void adjust_tail(void)
{
    const char *name = "helpers_xdp_adjust_tail_limits";
    struct frame f;
    EXPECT(frame_init(&f, 256, 64));
    struct xdpvm_run *run = &f.run;
    EXPECT_EQ(call(run, 65, P(run->ctx), (uint64_t)-51, 0, 0, 0), (uint64_t)-EINVAL);
    EXPECT_EQ(call(run, 65, P(run->ctx), (uint64_t)-50, 0, 0, 0), 0);
    EXPECT_EQ(f.buff.md.data_end - f.buff.md.data, 14);
    /* growing clears the new bytes, up to frame_size - tailroom_reserve */
    uint32_t room = 4096 - 320 - off(&f, f.buff.md.data_end);
    EXPECT_EQ(call(run, 65, P(run->ctx), room + 1, 0, 0, 0), (uint64_t)-EINVAL);
    EXPECT_EQ(call(run, 65, P(run->ctx), room, 0, 0, 0), 0);
    EXPECT_EQ(off(&f, f.buff.md.data_end), 4096 - 320);
    EXPECT_EQ(f.page[256 + 20], 0); /* was 20 before the shrink */
    EXPECT_EQ(f.page[256 + 13], 13);
    EXPECT_EQ(call(run, 65, P(run->ctx), 1, 0, 0, 0), (uint64_t)-EINVAL);
    test_pass(name);
done:
    frame_free(&f);
}

/* RFC 1071 checksum of a buffer, the reference for csum_diff. */
static uint16_t inet_csum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static uint16_t csum_fold(uint32_t csum) /* the kernel's: result in memory byte order */
{
    uint32_t sum = (csum & 0xffff) + (csum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void csum_diff(void)
{
    const char *name = "helpers_csum_diff_vectors";
    struct xdpvm_run run = {0};
    uint32_t word = 0x01020304, pair[2] = {0xffffffff, 1};
    /* results are folded to 16 bits, as the kernel has done since 6.13 */
    EXPECT_EQ(call(&run, 28, 0, 0, P(&word), 4, 0), 0x0406);
    EXPECT_EQ(call(&run, 28, 0, 0, P(pair), 8, 0), 1); /* end-around carry */
    EXPECT_EQ(call(&run, 28, 0, 0, 0, 0, 0x1234), 0x1234);
    EXPECT_EQ(call(&run, 28, 0, 0, 0, 0, 0x00012345), 0x2346);
    EXPECT_EQ(call(&run, 28, P(&word), 4, 0, 0, 0), 0xfbf9);
    EXPECT_EQ(call(&run, 28, 0, 0, P(&word), 3, 0), 0x0306); /* any size, zero-padded */
    EXPECT_EQ(call(&run, 28, P(&word), 4, P(&word), 4, 0), 0xffff); /* x - x = -0 */
    static uint8_t big[520];
    memset(big, 0xff, sizeof(big));
    EXPECT_EQ(call(&run, 28, P(big), 256, P(big), 260, 0), 0xffff);
    /* a full header checksum, then an incremental update as programs do it */
    uint8_t ip[20] = {0x45, 0, 0, 0x54, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
    uint16_t full = csum_fold((uint32_t)call(&run, 28, 0, 0, P(ip), 20, 0));
    uint16_t want = htons(inet_csum(ip, 20));
    EXPECT_EQ(full, want);
    memcpy(ip + 10, &full, 2);
    uint32_t old_dst, new_dst = htonl(0xc0a80001);
    memcpy(&old_dst, ip + 16, 4);
    uint16_t check;
    memcpy(&check, ip + 10, 2);
    uint32_t diff = (uint32_t)call(&run, 28, P(&old_dst), 4, P(&new_dst), 4, (uint16_t)~check);
    memcpy(ip + 16, &new_dst, 4);
    uint16_t updated = csum_fold(diff);
    memset(ip + 10, 0, 2);
    EXPECT_EQ(updated, htons(inet_csum(ip, 20)));
    test_pass(name);
done:;
}

static void redirects(void)
{
    const char *name = "helpers_redirect_and_redirect_map";
    struct frame f;
    struct xdpvm_map *dev = NULL, *xsk = NULL, *arr = NULL;
    EXPECT(frame_init(&f, 256, 64));
    struct xdpvm_run *run = &f.run;
    EXPECT_EQ(call(run, 23, 7, 0, 0, 0, 0), XDP_REDIRECT);
    EXPECT(f.buff.redirect_set && f.buff.redirect_ifindex == 7 && !f.buff.redirect_map);
    EXPECT_EQ(call(run, 23, 7, 1, 0, 0, 0), XDP_ABORTED);
    char err[200];
    struct xdpvm_map_spec spec = {.name = "tx", .type = XDPVM_MAP_DEVMAP, .key_size = 4,
                                  .value_size = 4, .max_entries = 4};
    dev = xdpvm_map_create(&spec, 1, err, sizeof(err));
    spec.type = XDPVM_MAP_XSKMAP;
    xsk = xdpvm_map_create(&spec, 1, err, sizeof(err));
    spec.type = XDPVM_MAP_ARRAY;
    arr = xdpvm_map_create(&spec, 1, err, sizeof(err));
    EXPECT(dev && xsk && arr);
    uint32_t key = 1, ifindex = 9;
    EXPECT_EQ(xdpvm_map_user_update(dev, &key, &ifindex, 0), 0);
    EXPECT_EQ(call(run, 51, P(dev), 1, XDP_PASS, 0, 0), XDP_REDIRECT);
    EXPECT(f.buff.redirect_set && f.buff.redirect_map == dev && f.buff.redirect_key == 1);
    EXPECT_EQ(call(run, 51, P(dev), 2, XDP_PASS, 0, 0), XDP_PASS); /* miss: flags' action */
    EXPECT(!f.buff.redirect_set);
    EXPECT_EQ(call(run, 51, P(dev), 2, XDP_DROP, 0, 0), XDP_DROP);
    EXPECT_EQ(call(run, 51, P(dev), 2, 0, 0, 0), XDP_ABORTED);
    EXPECT_EQ(call(run, 51, P(dev), 1, 1u << 5, 0, 0), XDP_ABORTED);
    EXPECT_EQ(call(run, 51, P(dev), 2, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS, 0, 0), XDP_REDIRECT);
    EXPECT_EQ(f.buff.redirect_flags, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
    EXPECT_EQ(call(run, 51, P(xsk), 1, BPF_F_BROADCAST, 0, 0), XDP_ABORTED);
    EXPECT_EQ(call(run, 51, P(xsk), 1, XDP_PASS, 0, 0), XDP_PASS);
    EXPECT_EQ(xdpvm_map_user_update(xsk, &key, &ifindex, 0), 0);
    EXPECT_EQ(call(run, 51, P(xsk), 1, XDP_PASS, 0, 0), XDP_REDIRECT);
    EXPECT_EQ(call(run, 51, P(arr), 1, XDP_PASS, 0, 0), XDP_ABORTED);
    test_pass(name);
done:
    xdpvm_map_free(dev);
    xdpvm_map_free(xsk);
    xdpvm_map_free(arr);
    frame_free(&f);
}

static uint64_t printk(struct xdpvm_run *run, const char *fmt, uint64_t a, uint64_t b, uint64_t c)
{
    return call(run, 6, P(fmt), strlen(fmt) + 1, a, b, c);
}

static void trace_printk(void)
{
    const char *name = "helpers_trace_printk_format";
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    struct xdpvm_run run = {.trace = mem};
    EXPECT(mem);
    EXPECT_EQ(printk(&run, "%d %i %u", (uint64_t)-1, 0x100000005ull, (uint64_t)-1), 15);
    EXPECT_EQ(printk(&run, "%x %ld %lu\n", 255, (uint64_t)-2, (uint64_t)-1), 27);
    printk(&run, "%lx %lld %llu", 0xabcdef012345ull, (uint64_t)-3, 18446744073709551615ull);
    printk(&run, "%llx|%s|%c", 0xffull, P("str"), 'Z');
    printk(&run, "%5d|%-4x|%05u", 42, 0xa, 7);
    printk(&run, "100%% %X %pI4", 0xbeef, P("\x0a\x00\x00\x01"), 0);
    printk(&run, "%p %p %s|", 0x1234, 0, 0);
    EXPECT_EQ(printk(&run, "caf\xc3\xa9 %pI4", 0, 0, 0), 13); /* UTF-8 is fine; NULL: zeros */
    EXPECT_EQ(printk(&run, "%d %d %d %d", 1, 2, 3), (uint64_t)-EINVAL);
    EXPECT_EQ(printk(&run, "%q", 1, 0, 0), (uint64_t)-EINVAL);
    EXPECT_EQ(printk(&run, "%.2d", 1, 0, 0), (uint64_t)-EINVAL);
    EXPECT_EQ(printk(&run, "bell\a", 0, 0, 0), (uint64_t)-EINVAL);
    EXPECT_EQ(printk(&run, "%ls", 0, 0, 0), (uint64_t)-EINVAL);
    EXPECT_EQ(call(&run, 6, P("abc"), 3, 0, 0, 0), (uint64_t)-EINVAL); /* no NUL in size */
    fclose(mem);
    mem = NULL;
    const char *want = "-1 5 4294967295\n"
                       "ff -2 18446744073709551615\n"
                       "abcdef012345 -3 18446744073709551615\n"
                       "ff|str|Z\n"
                       "   42|a   |00007\n"
                       "100% BEEF 10.0.0.1\n"
                       "0000000000001234 (null) |\n"
                       "caf\xc3\xa9 0.0.0.0\n";
    if (strcmp(text, want)) {
        test_fail(name, "output:\n%s\nexpected:\n%s", text, want);
        goto done;
    }
    test_pass(name);
done:
    if (mem)
        fclose(mem);
    free(text);
}

static void fib_lookup(void)
{
    const char *name = "helpers_fib_lookup_routes";
    struct frame f;
    EXPECT(frame_init(&f, 256, 64));
    struct xdpvm_fib_route routes[4] = {
        {.family = AF_INET, .prefix = {10}, .prefix_len = 8, .ifindex = 2,
         .smac = {2, 0, 0, 0, 0, 2}, .dmac = {2, 0, 0, 0, 0, 0x22}},
        {.family = AF_INET, .prefix = {10, 1}, .prefix_len = 16, .ifindex = 3,
         .smac = {2, 0, 0, 0, 0, 3}, .dmac = {2, 0, 0, 0, 0, 0x33}},
        {.family = AF_INET, .prefix = {0}, .prefix_len = 0, .ifindex = 5},
        {.family = AF_INET6, .prefix = {0x20, 0x01, 0x0d, 0xb8}, .prefix_len = 32, .ifindex = 4,
         .smac = {2, 0, 0, 0, 0, 4}, .dmac = {2, 0, 0, 0, 0, 0x44}},
    };
    xdpvm_helpers_set_fib(routes, 4);
    struct bpf_fib_lookup p = {.family = AF_INET, .ifindex = 1};
    p.ipv4_dst = htonl(0x0a010203);
    EXPECT_EQ(call(&f.run, 69, P(f.run.ctx), P(&p), sizeof(p), 0, 0), BPF_FIB_LKUP_RET_SUCCESS);
    EXPECT(p.ifindex == 3 && p.dmac[5] == 0x33 && p.smac[5] == 3);
    p.ipv4_dst = htonl(0x0a020001);
    EXPECT_EQ(call(&f.run, 69, P(f.run.ctx), P(&p), sizeof(p), 0, 0), BPF_FIB_LKUP_RET_SUCCESS);
    EXPECT(p.ifindex == 2 && p.dmac[5] == 0x22);
    p.ipv4_dst = htonl(0x08080808);
    EXPECT_EQ(call(&f.run, 69, P(f.run.ctx), P(&p), sizeof(p), 0, 0), BPF_FIB_LKUP_RET_NO_NEIGH);
    EXPECT_EQ(p.ifindex, 5);
    EXPECT_EQ(call(&f.run, 69, P(f.run.ctx), P(&p), sizeof(p), BPF_FIB_LOOKUP_SKIP_NEIGH, 0),
              BPF_FIB_LKUP_RET_SUCCESS);
    struct bpf_fib_lookup p6 = {.family = AF_INET6};
    memcpy(p6.ipv6_dst, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1", 16);
    EXPECT_EQ(call(&f.run, 69, P(f.run.ctx), P(&p6), sizeof(p6), 0, 0), BPF_FIB_LKUP_RET_SUCCESS);
    EXPECT(p6.ifindex == 4 && p6.dmac[5] == 0x44);
    p6.ipv6_dst[0] = htonl(0x20010db9);
    EXPECT_EQ(call(&f.run, 69, P(f.run.ctx), P(&p6), sizeof(p6), 0, 0), BPF_FIB_LKUP_RET_NOT_FWDED);
    p.family = 99;
    EXPECT_EQ(call(&f.run, 69, P(f.run.ctx), P(&p), sizeof(p), 0, 0), (uint64_t)-EAFNOSUPPORT);
    p.family = AF_INET;
    EXPECT_EQ(call(&f.run, 69, P(f.run.ctx), P(&p), sizeof(p) - 1, 0, 0), (uint64_t)-EINVAL);
    EXPECT_EQ(call(&f.run, 69, P(f.run.ctx), P(&p), sizeof(p), BPF_FIB_LOOKUP_SRC, 0),
              (uint64_t)-EINVAL);
    xdpvm_helpers_set_fib(NULL, 0);
    EXPECT_EQ(call(&f.run, 69, P(f.run.ctx), P(&p), sizeof(p), 0, 0), BPF_FIB_LKUP_RET_NOT_FWDED);
    test_pass(name);
done:
    xdpvm_helpers_set_fib(NULL, 0);
    frame_free(&f);
}

static void tail_call(void)
{
    const char *name = "helpers_tail_call_limit";
    char err[200];
    struct xdpvm_map_spec spec = {.name = "jmp", .type = XDPVM_MAP_PROG_ARRAY, .key_size = 4,
                                  .value_size = 4, .max_entries = 2};
    struct xdpvm_map *pa = xdpvm_map_create(&spec, 1, err, sizeof(err));
    struct xdpvm_prog target = {.name = "target"};
    struct xdpvm_run run = {0};
    EXPECT(pa);
    EXPECT_EQ(xdpvm_map_prog_array_set(pa, 0, &target), 0);
    EXPECT(call(&run, 12, 0, P(pa), 1, 0, 0) != 0 && !run.next_prog); /* empty slot */
    EXPECT(call(&run, 12, 0, P(pa), 7, 0, 0) != 0 && !run.next_prog); /* out of range */
    for (int i = 0; i < XDPVM_MAX_TAIL_CALLS; i++) {
        run.next_prog = NULL;
        EXPECT_EQ(call(&run, 12, 0, P(pa), 0, 0, 0), 0);
        EXPECT(run.next_prog == &target);
    }
    run.next_prog = NULL;
    EXPECT(call(&run, 12, 0, P(pa), 0, 0, 0) != 0 && !run.next_prog);
    EXPECT_EQ(run.tail_call_count, 33);
    test_pass(name);
done:
    xdpvm_map_free(pa);
}

static void maps_and_ringbuf(void)
{
    const char *name = "helpers_maps_queue_ringbuf";
    char err[200];
    struct xdpvm_map_spec spec = {.name = "pc", .type = XDPVM_MAP_PERCPU_ARRAY, .key_size = 4,
                                  .value_size = 8, .max_entries = 2};
    struct xdpvm_map *pc = xdpvm_map_create(&spec, 2, err, sizeof(err));
    spec = (struct xdpvm_map_spec){.name = "q", .type = XDPVM_MAP_QUEUE, .value_size = 4,
                                   .max_entries = 2};
    struct xdpvm_map *q = xdpvm_map_create(&spec, 2, err, sizeof(err));
    spec = (struct xdpvm_map_spec){.name = "rb", .type = XDPVM_MAP_RINGBUF, .max_entries = 4096};
    struct xdpvm_map *rb = xdpvm_map_create(&spec, 2, err, sizeof(err));
    struct xdpvm_run run = {.cpu = 1};
    EXPECT(pc && q && rb);
    EXPECT_EQ(call(&run, 8, 0, 0, 0, 0, 0), 1);
    EXPECT_EQ(call(&run, 42, 0, 0, 0, 0, 0), 0);
    uint32_t key = 1;
    uint64_t v = 77;
    EXPECT_EQ(call(&run, 2, P(pc), P(&key), P(&v), BPF_ANY, 0), 0);
    EXPECT_EQ(call(&run, 2, P(pc), P(&key), P(&v), BPF_NOEXIST, 0), (uint64_t)-EEXIST);
    uint64_t *slot = (uint64_t *)(uintptr_t)call(&run, 1, P(pc), P(&key), 0, 0, 0);
    EXPECT(slot && *slot == 77 && slot == xdpvm_map_lookup(pc, &key, 1));
    EXPECT_EQ(call(&run, 3, P(pc), P(&key), 0, 0, 0), (uint64_t)-EINVAL);
    /* another worker's slot */
    EXPECT(call(&run, 195, P(pc), P(&key), 1, 0, 0) == P(slot));
    EXPECT(call(&run, 195, P(pc), P(&key), 0, 0, 0) == P(xdpvm_map_lookup(pc, &key, 0)));
    EXPECT_EQ(call(&run, 195, P(pc), P(&key), 2, 0, 0), 0);
    EXPECT_EQ(call(&run, 195, P(q), P(&key), 0, 0, 0), 0); /* not per-CPU */
    uint32_t a = 5, out = 0;
    EXPECT_EQ(call(&run, 87, P(q), P(&a), 0, 0, 0), 0);
    a = 6;
    EXPECT_EQ(call(&run, 87, P(q), P(&a), 0, 0, 0), 0);
    EXPECT_EQ(call(&run, 87, P(q), P(&a), 0, 0, 0), (uint64_t)-E2BIG);
    EXPECT_EQ(call(&run, 89, P(q), P(&out), 0, 0, 0), 0);
    EXPECT_EQ(out, 5);
    EXPECT_EQ(call(&run, 88, P(q), P(&out), 0, 0, 0), 0);
    EXPECT_EQ(call(&run, 88, P(q), P(&out), 0, 0, 0), 0);
    EXPECT_EQ(out, 6);
    EXPECT_EQ(call(&run, 88, P(q), P(&out), 0, 0, 0), (uint64_t)-ENOENT);
    /* ring buffer */
    EXPECT_EQ(call(&run, 131, P(rb), 8, 1, 0, 0), 0); /* flags must be 0 */
    uint64_t *r1 = (uint64_t *)(uintptr_t)call(&run, 131, P(rb), 8, 0, 0, 0);
    uint64_t *r2 = (uint64_t *)(uintptr_t)call(&run, 131, P(rb), 8, 0, 0, 0);
    EXPECT(r1 && r2);
    *r1 = 1, *r2 = 2;
    EXPECT_EQ(call(&run, 133, P(r1), 0, 0, 0, 0), 0);
    EXPECT_EQ(call(&run, 132, P(r2), 0, 0, 0, 0), 0);
    v = 3;
    EXPECT_EQ(call(&run, 130, P(rb), P(&v), 8, BPF_RB_FORCE_WAKEUP, 0), 0);
    EXPECT_EQ(call(&run, 130, P(rb), P(&v), 8, 4, 0), (uint64_t)-EINVAL);
    EXPECT_EQ(call(&run, 130, P(rb), P(&v), 8000, 0, 0), (uint64_t)-EAGAIN);
    EXPECT_EQ(xdpvm_ringbuf_consume(rb, NULL, NULL), 2);
    /* time and randomness */
    uint64_t t1 = call(&run, 5, 0, 0, 0, 0, 0), t2 = call(&run, 5, 0, 0, 0, 0, 0);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    EXPECT(t1 <= t2 && t2 <= now && now - t1 < 1000000000ull);
    EXPECT(call(&run, 125, 0, 0, 0, 0, 0) >= t1 - 1000000000ull);
    uint64_t coarse = call(&run, 160, 0, 0, 0, 0, 0);
    EXPECT(coarse <= now + 10000000ull && now - coarse < 1000000000ull); /* within a tick */
    clock_gettime(CLOCK_TAI, &ts);
    uint64_t tai = call(&run, 208, 0, 0, 0, 0, 0);
    EXPECT(tai >= (uint64_t)ts.tv_sec * 1000000000ull);
    uint64_t first = call(&run, 7, 0, 0, 0, 0, 0), distinct = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t r = call(&run, 7, 0, 0, 0, 0, 0);
        EXPECT(r <= UINT32_MAX);
        distinct += r != first;
    }
    EXPECT(distinct > 90);
    test_pass(name);
done:
    xdpvm_map_free(pc);
    xdpvm_map_free(q);
    xdpvm_map_free(rb);
}

/* A stand-in executor callback: records the calls, returns 1 at stop_at. */
struct callback_log {
    uint64_t calls, stop_at, last_insn, sum_r1, last_r4;
    bool key_in_region;
};
static struct callback_log cb_log;

static uint64_t fake_call_subprog(struct xdpvm_run *run, uint64_t insn_index, uint64_t r1,
                                  uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5)
{
    (void)r3, (void)r5;
    cb_log.calls++;
    cb_log.last_insn = insn_index;
    cb_log.sum_r1 += r1;
    cb_log.last_r4 = r4;
    if (insn_index == 77) { /* for_each: r2 is the key, readable through a run region */
        cb_log.key_in_region = false;
        for (unsigned i = 0; i < run->region_count; i++)
            if (run->regions[i].start == r2)
                cb_log.key_in_region = true;
    }
    return cb_log.calls == cb_log.stop_at;
}

static void callbacks(void)
{
    const char *name = "helpers_loop_and_for_each_map_elem";
    char err[200];
    struct xdpvm_map_spec spec = {.name = "h", .type = XDPVM_MAP_HASH, .key_size = 4,
                                  .value_size = 8, .max_entries = 8};
    struct xdpvm_map *h = xdpvm_map_create(&spec, 1, err, sizeof(err));
    struct xdpvm_run run = {.call_subprog = fake_call_subprog};
    int ctx_stand_in;
    EXPECT(h);
    cb_log = (struct callback_log){.stop_at = 0};
    EXPECT_EQ(call(&run, 181, 10, 42, P(&ctx_stand_in), 0, 0), 10);
    EXPECT(cb_log.calls == 10 && cb_log.last_insn == 42 && cb_log.sum_r1 == 45);
    cb_log = (struct callback_log){.stop_at = 3};
    EXPECT_EQ(call(&run, 181, 10, 42, 0, 0, 0), 3);
    EXPECT_EQ(call(&run, 181, (1u << 23) + 1, 42, 0, 0, 0), (uint32_t)-E2BIG); /* as inlined */
    EXPECT_EQ(call(&run, 181, 1, 42, 0, 1, 0), (uint64_t)-EINVAL);
    for (uint32_t k = 0; k < 5; k++) {
        uint64_t v = k;
        EXPECT_EQ(xdpvm_map_user_update(h, &k, &v, 0), 0);
    }
    cb_log = (struct callback_log){.stop_at = 0};
    EXPECT_EQ(call(&run, 164, P(h), 77, P(&ctx_stand_in), 0, 0), 5);
    EXPECT(cb_log.calls == 5 && cb_log.sum_r1 == 5 * P(h) && cb_log.last_r4 == P(&ctx_stand_in));
    EXPECT(cb_log.key_in_region && run.region_count == 0);
    cb_log = (struct callback_log){.stop_at = 2};
    EXPECT_EQ(call(&run, 164, P(h), 77, 0, 0, 0), 2);
    EXPECT_EQ(call(&run, 164, P(h), 77, 0, 1, 0), (uint64_t)-EINVAL);
    struct xdpvm_run no_callbacks = {0};
    EXPECT_EQ(call(&no_callbacks, 181, 1, 42, 0, 0, 0), (uint64_t)-EOPNOTSUPP);
    EXPECT(no_callbacks.error == -EOPNOTSUPP && strstr(no_callbacks.error_message, "bpf_loop"));
    test_pass(name);
done:
    xdpvm_map_free(h);
}

int main(void)
{
    xdp_table = xdpvm_helpers_for(XDPVM_PROG_XDP);
    table();
    adjust_head();
    adjust_meta();
    adjust_tail();
    load_store_bytes();
    csum_diff();
    redirects();
    trace_printk();
    fib_lookup();
    tail_call();
    maps_and_ringbuf();
    callbacks();
    return test_exit_code();
}
