/* Test fixture shared by the verifier tests: a fixed set of maps and a helper table with the
 * kernel's prototypes, and the linking step that turns the assembler's map and map-value
 * placeholders into real handles and addresses.
 *   map 0 "arr": array, key 4, value 16, 4 entries     map 1 "hash": hash, key 4, value 8
 *   map 2 "rb": ringbuf 4096                           map 3 "jmp": prog_array, 4 entries
 *   map 4 "dev": devmap, 4 entries                     map 5 "ro": array, value 8 (holds 3), frozen,
 *                                                      read-only for programs (like .rodata)
 *   map 6 "glob": array, value 16, one entry (global data)
 * In a program, "lddw %rN, K, map_fd" refers to map K and "lddw %rN, K*65536+OFF, map_value"
 * to byte OFF of entry 0 of map K. */
#ifndef XDPVM_TESTS_VERIFIER_ENV_H
#define XDPVM_TESTS_VERIFIER_ENV_H

#include <stddef.h>
#include <stdio.h>

#include "runtime/runtime.h"
#include "verifier/verifier.h"

#define VERIFIER_ENV_MAPS 7

struct verifier_env {
    struct xdpvm_map *maps[VERIFIER_ENV_MAPS];
    struct xdpvm_helper_table helpers;
};

int verifier_env_init(struct verifier_env *env, char *err, size_t err_size);
void verifier_env_free(struct verifier_env *env);
/* Replace the map placeholders of lddw instructions by handles and addresses. */
void verifier_env_link(const struct verifier_env *env, struct xdpvm_insn *insns, size_t count);
/* Assembles text, links it to env's maps and verifies it as a program of type named "rule"
 * (log: where a level-1 log goes, or NULL). -1 with err set when the text does not assemble;
 * otherwise 0 with *res filled, and err set when prog->verified disagrees with the verdict. */
int verifier_env_verify_text(struct verifier_env *env, enum xdpvm_prog_type type, const char *text,
                             struct xdpvm_verify_result *res, char *err, size_t err_size, FILE *log);

/* The rule table (tests/verifier/rules.txt): calls fn for each case with its name, the
 * expected reason of the rejected program, and both programs' text. Returns the number of
 * cases, or -1 when the file cannot be read or a case is malformed (err says which). */
int verifier_rules_each(const char *path,
                        void (*fn)(const char *name, const char *reason, const char *reject_text,
                                   const char *accept_text, void *arg),
                        void *arg, char *err, size_t err_size);

#endif
