/* tests/support/opsb.h - helpers for the nn, conv, random and train op tests
 * (tests/test_ops_{nn,conv,random,train}.c): tensors from double arrays, one-shot
 * graph runs and element-wise comparison against expected values. */
#ifndef GRAFT_TESTS_OPSB_H
#define GRAFT_TESTS_OPSB_H

#include <stdbool.h>
#include <stdint.h>

#include "graft/graft.h"

/* New tensor of dtype dt (float, double, int32, int64) holding v converted;
 * NULL on failure. Caller frees. */
graft_tensor *graftT_opsb_tensor(graft_dtype dt, int rank, const int64_t *dims, const double *v);
/* Element i of a float/double/int32/int64 tensor as a double. */
double graftT_opsb_get(const graft_tensor *t, int64_t i);
/* Runs `fetch` once in a new session with the given feeds (borrowed); each
 * out[i] receives a new reference. Returns the run's code (st filled). */
graft_code graftT_opsb_run(graft_graph *g, const graft_out *feeds, graft_tensor *const *vals, int nfeeds,
                           const graft_out *fetch, graft_tensor **out, int nfetch, graft_status *st);
/* True when got has n elements and every |got - want| <= atol + rtol * |want|;
 * otherwise prints the first mismatch under `label` and returns false. */
bool graftT_opsb_close(const char *label, const graft_tensor *got, const double *want, int64_t n, double atol,
                       double rtol);

#endif
