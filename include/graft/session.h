/*
 * graft/session.h - running graphs: feeds, fetches and targets, with only the
 * subgraph the fetches need executed (as TensorFlow prunes), variable values
 * held by the session, intermediate buffers freed after their last use, and a
 * buffer pool so a repeated step of the same shapes allocates nothing.
 *
 * A session keeps a borrowed pointer to its graph: the graph must outlive it.
 * Ops may be added to the graph after the session is made (e.g. a new head).
 */
#ifndef GRAFT_SESSION_H
#define GRAFT_SESSION_H

#include "graft/graph.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct graft_session graft_session;

typedef struct graft_session_opts {
    int n_threads;               /* worker threads, OpenBLAS included; 0 = all cores */
    int (*abort_cb)(void *ud);   /* checked between ops; non-zero -> GRAFT_ERR_ABORTED */
    void *abort_ud;
} graft_session_opts;

GRAFT_API void graft_session_opts_init(graft_session_opts *o);

/* opts may be NULL (defaults). */
GRAFT_API graft_session *graft_session_new(graft_graph *g, const graft_session_opts *opts, graft_status *st);
GRAFT_API void graft_session_free(graft_session *s);
GRAFT_API graft_graph *graft_session_graph(const graft_session *s);

/* Runs the graph. feed_vals are borrowed. Each fetch_vals[i] receives a new
 * reference the caller frees with graft_tensor_free. On failure no fetch is
 * returned (all NULL) and st names the failing op; variables assigned by ops that
 * ran before the failure keep their new values (as in TensorFlow).
 * An unfed placeholder on the needed path is GRAFT_ERR_FAILED_PRECONDITION:
 * "You must feed a value for placeholder tensor 'w1_1' with dtype float". */
GRAFT_API graft_code graft_session_run(graft_session *s,
                                       /* inputs */
                                       const graft_out *feeds, graft_tensor *const *feed_vals, int nfeeds,
                                       /* outputs */
                                       const graft_out *fetches, graft_tensor **fetch_vals, int nfetches,
                                       /* ops run for their effects */
                                       graft_op *const *targets, int ntargets, graft_status *st);

/* Runs every variable's initializer (global_variables_initializer). */
GRAFT_API graft_code graft_session_init_variables(graft_session *s, graft_status *st);

/* Current value of a variable (its VariableV2 op), as a new reference that
 * shares nothing with the session (a copy). GRAFT_ERR_FAILED_PRECONDITION if
 * uninitialised. */
GRAFT_API graft_code graft_session_get_variable(graft_session *s, const graft_op *var, graft_tensor **out,
                                                graft_status *st);
/* Sets a variable's value (copies). The dtype must match the variable's; the
 * shape must match its declared shape unless that is unknown. */
GRAFT_API graft_code graft_session_set_variable(graft_session *s, const graft_op *var, const graft_tensor *val,
                                                graft_status *st);
/* Borrowed pointer to the variable's storage, or NULL if uninitialised. Valid
 * until the next run or set on this session. For savers and optimizers. */
GRAFT_API graft_tensor *graft_session_variable_storage(graft_session *s, const graft_op *var);

/* Statistics for tests and benchmarks: bytes currently held by intermediate
 * values, the peak of that during the last run, and allocations made by the
 * last run (0 once a repeated step is warm). */
typedef struct graft_session_stats {
    size_t live_bytes;
    size_t peak_bytes_last_run;
    size_t allocations_last_run;
    int ops_run_last_run;
} graft_session_stats;
GRAFT_API void graft_session_get_stats(const graft_session *s, graft_session_stats *out);

#ifdef __cplusplus
}
#endif
#endif
