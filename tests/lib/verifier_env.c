/* Maps and helper prototypes for verifier tests (see verifier_env.h). The helpers run: the
 * soundness test executes accepted programs in the interpreter with them. */
#include "verifier_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isa/asm.h"
#include "maps/maps.h"

static uint64_t h_map_lookup(uint64_t map, uint64_t key, uint64_t a3, uint64_t a4, uint64_t a5, struct xdpvm_run *run)
{
    return (uint64_t)(uintptr_t)xdpvm_map_lookup((struct xdpvm_map *)(uintptr_t)map, (const void *)(uintptr_t)key,
                                                 run->cpu);
}

static uint64_t h_map_update(uint64_t map, uint64_t key, uint64_t value, uint64_t flags, uint64_t a5,
                             struct xdpvm_run *run)
{
    return (uint64_t)(int64_t)xdpvm_map_update((struct xdpvm_map *)(uintptr_t)map, (const void *)(uintptr_t)key,
                                               (const void *)(uintptr_t)value, flags, run->cpu);
}

static uint64_t h_ktime(uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, struct xdpvm_run *run)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t prandom_state = 88172645463325252ull;
static uint64_t h_prandom(uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, struct xdpvm_run *run)
{
    prandom_state ^= prandom_state << 13;
    prandom_state ^= prandom_state >> 7;
    prandom_state ^= prandom_state << 17;
    return (uint32_t)prandom_state;
}

/* Prototypes as the kernel declares them (bpf_func_proto). Helpers the soundness test never
 * runs have no function. */
static const struct xdpvm_helper helper_defs[] = {
    {1, "map_lookup_elem", h_map_lookup, XDPVM_RET_PTR_TO_MAP_VALUE_OR_NULL,
     {XDPVM_ARG_CONST_MAP_PTR, XDPVM_ARG_PTR_TO_MAP_KEY}, false},
    {2, "map_update_elem", h_map_update, XDPVM_RET_INTEGER,
     {XDPVM_ARG_CONST_MAP_PTR, XDPVM_ARG_PTR_TO_MAP_KEY, XDPVM_ARG_PTR_TO_MAP_VALUE, XDPVM_ARG_ANYTHING}, false},
    {3, "map_delete_elem", NULL, XDPVM_RET_INTEGER, {XDPVM_ARG_CONST_MAP_PTR, XDPVM_ARG_PTR_TO_MAP_KEY}, false},
    {5, "ktime_get_ns", h_ktime, XDPVM_RET_INTEGER, {0}, false},
    {7, "get_prandom_u32", h_prandom, XDPVM_RET_INTEGER, {0}, false},
    {12, "tail_call", NULL, XDPVM_RET_INTEGER,
     {XDPVM_ARG_PTR_TO_CTX, XDPVM_ARG_CONST_MAP_PTR, XDPVM_ARG_ANYTHING}, false},
    {28, "csum_diff", NULL, XDPVM_RET_INTEGER,
     {XDPVM_ARG_PTR_TO_MEM_OR_NULL, XDPVM_ARG_CONST_SIZE_OR_ZERO, XDPVM_ARG_PTR_TO_MEM_OR_NULL,
      XDPVM_ARG_CONST_SIZE_OR_ZERO, XDPVM_ARG_ANYTHING}, false},
    {44, "xdp_adjust_head", NULL, XDPVM_RET_INTEGER, {XDPVM_ARG_PTR_TO_CTX, XDPVM_ARG_ANYTHING}, true},
    {51, "redirect_map", NULL, XDPVM_RET_INTEGER,
     {XDPVM_ARG_CONST_MAP_PTR, XDPVM_ARG_ANYTHING, XDPVM_ARG_ANYTHING}, false},
    {130, "ringbuf_output", NULL, XDPVM_RET_INTEGER,
     {XDPVM_ARG_CONST_MAP_PTR, XDPVM_ARG_PTR_TO_MEM, XDPVM_ARG_CONST_SIZE_OR_ZERO, XDPVM_ARG_ANYTHING}, false},
    {131, "ringbuf_reserve", NULL, XDPVM_RET_PTR_TO_ALLOC_MEM_OR_NULL,
     {XDPVM_ARG_CONST_MAP_PTR, XDPVM_ARG_CONST_ALLOC_SIZE_OR_ZERO, XDPVM_ARG_ANYTHING}, false},
    {132, "ringbuf_submit", NULL, XDPVM_RET_VOID, {XDPVM_ARG_PTR_TO_ALLOC_MEM, XDPVM_ARG_ANYTHING}, false},
    {133, "ringbuf_discard", NULL, XDPVM_RET_VOID, {XDPVM_ARG_PTR_TO_ALLOC_MEM, XDPVM_ARG_ANYTHING}, false},
    {164, "for_each_map_elem", NULL, XDPVM_RET_INTEGER,
     {XDPVM_ARG_CONST_MAP_PTR, XDPVM_ARG_PTR_TO_FUNC, XDPVM_ARG_PTR_TO_STACK_OR_NULL, XDPVM_ARG_ANYTHING}, false},
    {181, "loop", NULL, XDPVM_RET_INTEGER,
     {XDPVM_ARG_ANYTHING, XDPVM_ARG_PTR_TO_FUNC, XDPVM_ARG_PTR_TO_STACK_OR_NULL, XDPVM_ARG_ANYTHING}, false},
};

int verifier_env_init(struct verifier_env *env, char *err, size_t err_size)
{
    memset(env, 0, sizeof(*env));
    static const struct xdpvm_map_spec specs[VERIFIER_ENV_MAPS] = {
        {"arr", XDPVM_MAP_ARRAY, 4, 16, 4, 0},
        {"hash", XDPVM_MAP_HASH, 4, 8, 16, 0},
        {"rb", XDPVM_MAP_RINGBUF, 0, 0, 4096, 0},
        {"jmp", XDPVM_MAP_PROG_ARRAY, 4, 4, 4, 0},
        {"dev", XDPVM_MAP_DEVMAP, 4, 4, 4, 0},
        {"ro", XDPVM_MAP_ARRAY, 4, 8, 1, 1u << 7 /* BPF_F_RDONLY_PROG */},
        {"glob", XDPVM_MAP_ARRAY, 4, 16, 1, 0},
    };
    for (int i = 0; i < VERIFIER_ENV_MAPS; i++) {
        env->maps[i] = xdpvm_map_create(&specs[i], 1, err, err_size);
        if (!env->maps[i]) {
            verifier_env_free(env);
            return -1;
        }
    }
    /* "ro" holds 3 and is frozen, like .rodata after load. */
    uint32_t key = 0;
    uint64_t three = 3;
    xdpvm_map_user_update(env->maps[5], &key, &three, XDPVM_ANY);
    xdpvm_map_freeze(env->maps[5]);
    for (size_t i = 0; i < sizeof(helper_defs) / sizeof(helper_defs[0]); i++)
        env->helpers.by_id[helper_defs[i].id] = &helper_defs[i];
    return 0;
}

void verifier_env_free(struct verifier_env *env)
{
    for (int i = 0; i < VERIFIER_ENV_MAPS; i++) {
        if (env->maps[i])
            xdpvm_map_free(env->maps[i]);
        env->maps[i] = NULL;
    }
}

void verifier_env_link(const struct verifier_env *env, struct xdpvm_insn *insns, size_t count)
{
    for (size_t i = 0; i + 1 < count; i++) {
        if (insns[i].code != (XDPVM_CLASS_LD | XDPVM_MODE_IMM | XDPVM_SIZE_DW))
            continue;
        uint64_t imm = (uint32_t)insns[i].imm | ((uint64_t)(uint32_t)insns[i + 1].imm << 32);
        uint64_t value = imm;
        if (insns[i].src == XDPVM_PSEUDO_MAP_FD && imm < VERIFIER_ENV_MAPS) {
            value = (uint64_t)(uintptr_t)env->maps[imm];
        } else if (insns[i].src == XDPVM_PSEUDO_MAP_VALUE && (imm >> 16) < VERIFIER_ENV_MAPS) {
            void *start;
            size_t len;
            xdpvm_map_storage(env->maps[imm >> 16], &start, &len);
            value = (uint64_t)(uintptr_t)start + (imm & 0xffff);
        }
        insns[i].imm = (int32_t)(uint32_t)value;
        insns[i + 1].imm = (int32_t)(uint32_t)(value >> 32);
        i++;
    }
}

static char *copy_range(const char *start, const char *end)
{
    size_t n = (size_t)(end - start);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, start, n);
        s[n] = 0;
    }
    return s;
}

int verifier_env_verify_text(struct verifier_env *env, enum xdpvm_prog_type type, const char *text,
                             struct xdpvm_verify_result *res, char *err, size_t err_size, FILE *log)
{
    struct xdpvm_insn *insns;
    size_t count;
    struct xdpvm_asm_error aerr;
    if (xdpvm_asm(text, &insns, &count, &aerr)) {
        snprintf(err, err_size, "assembler: line %u: %s", aerr.line, aerr.message);
        return -1;
    }
    verifier_env_link(env, insns, count);
    struct xdpvm_prog prog = {.type = type, .insns = insns, .count = count, .maps = env->maps,
                              .map_count = VERIFIER_ENV_MAPS, .helpers = &env->helpers};
    snprintf(prog.name, sizeof(prog.name), "rule");
    struct xdpvm_verify_opts opts = {.log_level = log ? 1 : 0, .log = log};
    xdpvm_verify(&prog, &opts, res);
    if (res->accepted != prog.verified)
        snprintf(err, err_size, "prog->verified does not match the verdict");
    free(insns);
    return 0;
}

int verifier_rules_each(const char *path,
                        void (*fn)(const char *name, const char *reason, const char *reject_text,
                                   const char *accept_text, void *arg),
                        void *arg, char *err, size_t err_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, err_size, "cannot read %s", path);
        return -1;
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, got, mem);
    fclose(f);
    fclose(mem);
    int cases = 0;
    for (char *p = strstr(text, "\n=== "); p;) {
        p += 5;
        char *eol = strchr(p, '\n');
        if (!eol)
            break;
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)(eol - p), p);
        char *rej = strstr(eol, "\n--- reject: ");
        char *acc = rej ? strstr(rej, "\n--- accept\n") : NULL;
        char *next = strstr(eol, "\n=== ");
        if (!rej || !acc || (next && acc > next)) {
            snprintf(err, err_size, "%s: case '%s' lacks a '--- reject: reason' or '--- accept' part", path, name);
            cases = -1;
            break;
        }
        char *reason = rej + 13, *reason_end = strchr(reason, '\n');
        char *reason_text = copy_range(reason, reason_end);
        char *reject_text = copy_range(reason_end + 1, acc + 1);
        char *accept_text = copy_range(acc + 12, next ? next + 1 : text + len);
        if (reason_text && reject_text && accept_text)
            fn(name, reason_text, reject_text, accept_text, arg);
        free(reason_text);
        free(reject_text);
        free(accept_text);
        cases++;
        p = next;
    }
    free(text);
    return cases;
}
