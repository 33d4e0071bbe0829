/*
 * tests/support/gradcheck.h - the gradient-check harness every op group uses:
 * a case table per group, numeric (central differences, in double) against
 * analytic (graft_gradients) gradients, and the registry coverage check.
 *
 * How a case is checked (graftT_gradcheck_run):
 *   1. inputs are made: Placeholders (or Consts when as_const) with values drawn
 *      from a fixed-seed generator according to each input's domain;
 *   2. the op is built: by c->build when set, else generically from c->op,
 *      the inputs and c->attrs through graft_op_builder (name "op");
 *   3. a forward run gives each checked output's value y_k; fixed random R_k of
 *      the same shape are drawn; the loss is L = sum_k sum(y_k * R_k), computed
 *      on the host in double (so the loss itself adds no float32 rounding);
 *   4. analytic: graft_gradients(ys = outputs, grad_ys = Const(R_k)) -> dL/dx;
 *   5. numeric: for every element of every checked input, (L(x+e) - L(x-e)) /
 *      (actual float distance between x+e and x-e), each L from a session run;
 *   6. pass when every element has |a - n| <= tol * max(|a|, |n|, floor).
 *
 * Keep inputs small (the numeric pass runs the graph 2x per element; stay under
 * ~200 checked elements per case). Prefer float64 cases where the op supports
 * DOUBLE (eps 1e-6, tol 1e-6); float32 cases use eps 1e-3, tol 1e-2.
 *
 * Adding a case: append to your group's table (NULL-op terminated), e.g.
 *
 *     static int build_sum(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
 *     { static const int32_t ax[] = {1}; outs[0] = graft_sum(g, in[0], ax, 1, false); return 1; }
 *     const graftT_gradcase graftT_gradcases_reduce[] = {
 *         {.op = "Sum", .label = "axis 1", .n_in = 1,
 *          .in = {{.dtype = GRAFT_DOUBLE, .rank = 2, .dims = {3, 4}, .check = true}},
 *          .build = build_sum},
 *         {0}};
 *
 * Names: test-support symbols use the graftT_ / GRAFTT_ prefix.
 */
#ifndef GRAFT_TESTS_GRADCHECK_H
#define GRAFT_TESTS_GRADCHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "graft/graft.h"

#define GRAFTT_MAX_IN 8
#define GRAFTT_MAX_OUT 4
#define GRAFTT_MAX_ATTRS 8

/* How an input's values are drawn (fixed seed per case). */
typedef enum graftT_domain {
    GRAFTT_ANY = 0,    /* float: uniform [-1, 1]; int: uniform [-5, 5]; bool: random 0/1 */
    GRAFTT_POSITIVE,   /* float: uniform [0.5, 2]; int: [1, 5] */
    GRAFTT_NONZERO,    /* float: |x| uniform [0.5, 1.5] with random sign */
    GRAFTT_DISTINCT,   /* float: a shuffled grid over [-1, 1]; all DISTINCT inputs of a
                          case share one grid, so no two values (within or across
                          inputs) are closer than 2/(total elements): no ties, no kinks
                          within eps (Max, Maximum, Relu, MaxPool, ...) */
    GRAFTT_RANGE,      /* uniform [lo, hi] (ints: integers in [lo, hi]) */
    GRAFTT_ONEHOT,     /* one 1 per row of the last dim, rest 0 (labels) */
    GRAFTT_SIMPLEX,    /* positive rows of the last dim summing to 1 (soft labels) */
    GRAFTT_VALUES      /* exactly `values` (n_values == element count), any dtype */
} graftT_domain;

/* How a Placeholder input declares its static shape (to exercise the
 * dynamic-shape gradient paths: Shape + BroadcastGradientArgs, ...). */
typedef enum graftT_decl {
    GRAFTT_DECL_EXACT = 0,     /* the full dims */
    GRAFTT_DECL_DIMS_UNKNOWN,  /* rank known, every dim -1 */
    GRAFTT_DECL_FIRST_UNKNOWN, /* dim 0 is -1 (a batch dim), the rest known */
    GRAFTT_DECL_RANK_UNKNOWN   /* graft_shape_unknown() */
} graftT_decl;

typedef struct graftT_input {
    graft_dtype dtype;         /* GRAFT_INVALID (0) means GRAFT_FLOAT */
    int rank;
    int64_t dims[GRAFT_MAX_DIMS];
    graftT_domain domain;
    double lo, hi;             /* GRAFTT_RANGE bounds */
    const double *values;      /* GRAFTT_VALUES data, converted to dtype */
    int64_t n_values;
    bool check;                /* compare analytic vs numeric gradient of this input */
    bool as_const;             /* a Const op (value known at build time, e.g. axes); never checked */
    graftT_decl decl;          /* placeholder's declared shape */
} graftT_input;

/* An attr for the generic builder (c->build == NULL). kind: 'i' int, 'f' float,
 * 'b' bool (.i), 't' type (.i = graft_dtype), 's' string, 'I' int list
 * (.list/.n), 'S' shape (.list/.n as dims, .n = -1 unknown rank). */
typedef struct graftT_attr {
    const char *name;
    char kind;
    int64_t i;
    double f;
    const char *s;
    const int64_t *list;
    int n;
} graftT_attr;

typedef struct graftT_gradcase graftT_gradcase;

/* Builds the op under test from the ready inputs in[0..c->n_in) and stores the
 * tensors the loss covers in outs[0..GRAFTT_MAX_OUT); returns how many (>= 1),
 * or 0 on failure (the graph's sticky error is reported). May add helper ops
 * (Consts for axes, a Cast, ...), but the graph must contain an op of type c->op. */
/* The build function may replace in[i] (cast away const) by another tensor of
 * the same dtype and shape; the harness then feeds and differentiates that one. */
typedef int (*graftT_build_fn)(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs);

struct graftT_gradcase {
    const char *op;            /* TF op type covered; NULL terminates a table */
    const char *label;         /* short description shown in the report */
    int n_in;
    graftT_input in[GRAFTT_MAX_IN];
    graftT_build_fn build;     /* NULL: generic builder from op + attrs */
    graftT_attr attrs[GRAFTT_MAX_ATTRS]; /* generic builder attrs (name NULL ends) */
    unsigned out_mask;         /* generic builder: outputs in the loss (bit k = output k); 0 = output 0 */
    double eps;                /* perturbation; 0 = 1e-3 (float32) / 1e-6 (float64) */
    double tol;                /* relative tolerance; 0 = 1e-2 (float32) / 1e-6 (float64) */
    double floor;              /* denominator floor; 0 = 1e-2 (float32) / 1e-6 (float64) */
    uint64_t seed;             /* 0 = derived from op and label */
    const void *ud;            /* free for the case's build function */
};

/* Result of one case. */
typedef struct graftT_gradreport {
    bool ok;
    int n_checked;             /* elements compared */
    double max_err;            /* max |a - n| / max(|a|, |n|, floor) */
    char msg[1024];            /* failure detail (or "") */
} graftT_gradreport;

/* Runs one case, prints one line ("ok"/"FAIL" + detail) to stdout. rep may be NULL. */
bool graftT_gradcheck_run(const graftT_gradcase *c, graftT_gradreport *rep);
/* Runs every case of a NULL-op terminated table; returns the number of failures. */
int graftT_gradcheck_table(const char *group, const graftT_gradcase *table);

/* Per-group case tables, each terminated by an entry with op == NULL. Each
 * group's owner defines its table in tests/support/gradcases_<group>.c (a
 * group without a gradient still defines an empty table). */
extern const graftT_gradcase graftT_gradcases_elementwise[];
extern const graftT_gradcase graftT_gradcases_reduce[];
extern const graftT_gradcase graftT_gradcases_shape[];
extern const graftT_gradcase graftT_gradcases_nn[];
extern const graftT_gradcase graftT_gradcases_conv[];
extern const graftT_gradcase graftT_gradcases_random[];
extern const graftT_gradcase graftT_gradcases_train[];
extern const graftT_gradcase graftT_gradcases_state[];
extern const graftT_gradcase graftT_gradcases_io[];
extern const graftT_gradcase graftT_gradcases_extra[];

typedef struct graftT_gradgroup {
    const char *group;
    const graftT_gradcase *cases;
} graftT_gradgroup;

/* Initializer for the list of all groups, {NULL, NULL} terminated. Instantiate
 * it in the test program itself (static const graftT_gradgroup groups[] =
 * GRAFTT_GRADGROUPS_INIT;): the reference from the program's own object is what
 * makes the linker pull each gradcases_<group>.o out of the support archive. */
#define GRAFTT_GRADGROUPS_INIT                                                                     \
    {                                                                                              \
        {"elementwise", graftT_gradcases_elementwise}, {"reduce", graftT_gradcases_reduce},        \
        {"shape", graftT_gradcases_shape}, {"nn", graftT_gradcases_nn},                            \
        {"conv", graftT_gradcases_conv}, {"random", graftT_gradcases_random},                      \
        {"train", graftT_gradcases_train}, {"state", graftT_gradcases_state},                      \
        {"io", graftT_gradcases_io}, {"extra", graftT_gradcases_extra}, {NULL, NULL}               \
    }

/* Registry coverage over the given groups: prints every registered op whose def
 * has a grad builder and no case in any table (returns how many), and lists the
 * exempt ops (grad NULL or GRAFTI_OP_NO_GRAD). */
int graftT_gradcheck_coverage(const graftT_gradgroup *groups);

#endif
