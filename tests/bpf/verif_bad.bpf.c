/* Rejected forms of the verifier corpus (verif_corpus.h): each program lacks one check. */
#define VERIF_BAD 1
#include "verif_corpus.h"
