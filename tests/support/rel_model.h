/*
 * tests/support/rel_model.h - the small model the reliability tests save, kill and
 * restore: three variables whose values are a hand-derived function of a step number,
 * so any checkpoint can be checked against the step it claims to hold.
 */
#ifndef GRAFT_TEST_REL_MODEL_H
#define GRAFT_TEST_REL_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "graft/graft.h"

/* w: float [3,4] = 0.5*k + 0.25*i;  b: double [5] = 1000*k + i/8;  step: int64 [] = k
 * (all exactly representable, so comparisons are bit-exact). */
#define REL_W_N 12
#define REL_B_N 5

typedef struct rel_model {
    graft_graph *g;
    graft_session *s;
    graft_op *w, *b, *step;
    graft_saver *sv;
} rel_model;

/* Builds the graph, a session with initialised variables and a Saver
 * (max_to_keep as given, write_meta given). false with the reason in why. */
bool rel_model_new(rel_model *m, int max_to_keep, bool write_meta, char *why, size_t cap);
void rel_model_free(rel_model *m);
/* Writes step k's values into the session's variables. */
void rel_model_set_step(rel_model *m, int64_t k);
/* FNV-1a over every variable's bytes (w, b, step). */
uint64_t rel_model_hash(rel_model *m);
/* The step whose values the session holds, or -1 if they match no step. */
int64_t rel_model_step_of(rel_model *m);
/* Opens prefix and checks it holds exactly step k's values; returns NULL when it
 * does, else a static description of the problem. */
const char *rel_ckpt_check(const char *prefix, int64_t k);
/* The step number the checkpoint at prefix holds (from its "step" tensor), checked
 * against all the other values; -1 with the reason in why if it does not verify. */
int64_t rel_ckpt_step(const char *prefix, char *why, size_t cap);

#endif
