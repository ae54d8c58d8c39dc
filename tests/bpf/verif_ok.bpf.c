/* Accepted forms of the verifier corpus (verif_corpus.h). */
#include "verif_corpus.h"
