/* tests/support/gradcases_extra.c - gradient-check cases for lib/ops/op_extra.c:
 * the activations (kept off their kinks), L2Loss, Gather/GatherV2 with repeated
 * indices (the scatter-add of UnsortedSegmentSum), UnsortedSegmentSum with
 * dropped negative ids, broadcasting SelectV2 and SplitV with a -1 size. */
#include <stddef.h>

#include "gradcheck.h"
#include "internal.h"

#define F64 GRAFT_DOUBLE
#define I32 GRAFT_INT32
#define I64 GRAFT_INT64

/* ---- build functions (typed builders) ------------------------------------------ */

static int build_elu(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    outs[0] = graft_elu(g, in[0]);
    return 1;
}

static int build_selu(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    outs[0] = graft_selu(g, in[0]);
    return 1;
}

static int build_softplus(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    outs[0] = graft_softplus(g, in[0]);
    return 1;
}

static int build_softsign(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    outs[0] = graft_softsign(g, in[0]);
    return 1;
}

static int build_leaky(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    outs[0] = graft_leaky_relu(g, in[0], 0.2f);
    return 1;
}

static int build_l2(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    outs[0] = graft_l2_loss(g, in[0]);
    return 1;
}

/* ud: the axis (int) */
static int build_gather(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    outs[0] = graft_gather(g, in[0], in[1], *(const int *)c->ud);
    return 1;
}

static const int axis0 = 0, axis1 = 1, axis_m1 = -1;

/* Softplus's regimes: below log(eps)+2 = -34.04 it is e^x, above 34.04 it is
 * x, log1p(e^x) between. Split in two cases: the tiny gradients of the negative
 * side are only resolvable numerically when the loss itself is small. */
static const double softplus_neg[] = {-40.0, -36.0, -33.0, -20.0, -12.0, -8.0};
static const double softplus_pos[] = {0.3, 5.0, 20.0, 33.0, 35.0, 40.0};
/* Repeated indices: the gradient rows must be summed (4 three times, 3 never). */
static const double gidx_a[] = {4, 0, 4, 2, 4, 1};
static const double gidx_b[] = {2, 0, 2, 2};
static const double gidx_c[] = {3, 3, 1};
static const double gidx_d[] = {1, 1, 3, 0, 1, 3};
/* Segment ids with repeats and dropped (negative) ids; segment 1 gets nothing. */
static const double seg_a[] = {2, 0, -1, 2, 3, -1};
static const double seg_b[] = {1, -1, 0, 1, 1, 2};
static const double num4[] = {4};
static const double num3[] = {3};
static const double split_sizes[] = {1, -1, 2};
static const double split_dim1[] = {1};
static const double split_dim0[] = {0};
static const double split_sizes0[] = {3, 1};

const graftT_gradcase graftT_gradcases_extra[] = {
    /* 12 elements: an even grid never contains 0 (Elu's kink of the 2nd derivative) */
    {.op = "Elu",
     .label = "distinct, off 0",
     .n_in = 1,
     .in = {{.dtype = F64, .rank = 2, .dims = {3, 4}, .domain = GRAFTT_DISTINCT, .check = true}},
     .build = build_elu},
    {.op = "Elu",
     .label = "float32, batch unknown",
     .n_in = 1,
     .in = {{.dtype = GRAFT_FLOAT,
             .rank = 2,
             .dims = {2, 3},
             .domain = GRAFTT_RANGE,
             .lo = -2,
             .hi = 2,
             .check = true,
             .decl = GRAFTT_DECL_FIRST_UNKNOWN}},
     .build = build_elu},
    {.op = "Selu",
     .label = "distinct, off 0",
     .n_in = 1,
     .in = {{.dtype = F64, .rank = 2, .dims = {2, 5}, .domain = GRAFTT_DISTINCT, .check = true}},
     .build = build_selu},
    {.op = "Softplus",
     .label = "[-3, 3]",
     .n_in = 1,
     .in = {{.dtype = F64,
             .rank = 2,
             .dims = {3, 4},
             .domain = GRAFTT_RANGE,
             .lo = -3,
             .hi = 3,
             .check = true}},
     .build = build_softplus},
    {.op = "Softplus",
     .label = "negative regimes (e^x, log1p)",
     .n_in = 1,
     .in = {{.dtype = F64,
             .rank = 1,
             .dims = {6},
             .domain = GRAFTT_VALUES,
             .values = softplus_neg,
             .n_values = 6,
             .check = true}},
     .build = build_softplus},
    {.op = "Softplus",
     .label = "positive regimes (log1p, x)",
     .n_in = 1,
     .in = {{.dtype = F64,
             .rank = 1,
             .dims = {6},
             .domain = GRAFTT_VALUES,
             .values = softplus_pos,
             .n_values = 6,
             .check = true}},
     .build = build_softplus},
    {.op = "Softsign",
     .label = "distinct, rank unknown",
     .n_in = 1,
     .in = {{.dtype = F64,
             .rank = 2,
             .dims = {3, 4},
             .domain = GRAFTT_DISTINCT,
             .check = true,
             .decl = GRAFTT_DECL_RANK_UNKNOWN}},
     .build = build_softsign},
    {.op = "LeakyRelu",
     .label = "default alpha, distinct",
     .n_in = 1,
     .in = {{.dtype = F64, .rank = 2, .dims = {3, 4}, .domain = GRAFTT_DISTINCT, .check = true}},
     .build = build_leaky},
    {.op = "LeakyRelu",
     .label = "alpha 0.3 (generic builder)",
     .n_in = 1,
     .in = {{.dtype = F64, .rank = 3, .dims = {2, 2, 3}, .domain = GRAFTT_DISTINCT, .check = true}},
     .attrs = {{.name = "T", .kind = 't', .i = GRAFT_DOUBLE}, {.name = "alpha", .kind = 'f', .f = 0.3}}},

    {.op = "L2Loss",
     .label = "rank 2",
     .n_in = 1,
     .in = {{.dtype = F64, .rank = 2, .dims = {3, 4}, .check = true}},
     .build = build_l2},
    {.op = "L2Loss",
     .label = "float32, dims unknown",
     .n_in = 1,
     .in = {{.dtype = GRAFT_FLOAT,
             .rank = 3,
             .dims = {2, 2, 3},
             .check = true,
             .decl = GRAFTT_DECL_DIMS_UNKNOWN}},
     .build = build_l2},

    {.op = "GatherV2",
     .label = "axis 0, repeated indices",
     .n_in = 2,
     .in = {{.dtype = F64, .rank = 2, .dims = {5, 3}, .check = true},
            {.dtype = I32, .rank = 1, .dims = {6}, .domain = GRAFTT_VALUES, .values = gidx_a, .n_values = 6}},
     .build = build_gather,
     .ud = &axis0},
    {.op = "GatherV2",
     .label = "axis 0, params dims unknown (dynamic num_segments)",
     .n_in = 2,
     .in = {{.dtype = F64, .rank = 2, .dims = {5, 3}, .check = true, .decl = GRAFTT_DECL_DIMS_UNKNOWN},
            {.dtype = I64, .rank = 1, .dims = {6}, .domain = GRAFTT_VALUES, .values = gidx_a, .n_values = 6}},
     .build = build_gather,
     .ud = &axis0},
    {.op = "GatherV2",
     .label = "axis 1, 2-D repeated indices",
     .n_in = 2,
     .in = {{.dtype = F64, .rank = 3, .dims = {2, 3, 4}, .check = true},
            {.dtype = I32,
             .rank = 2,
             .dims = {2, 2},
             .domain = GRAFTT_VALUES,
             .values = gidx_b,
             .n_values = 4}},
     .build = build_gather,
     .ud = &axis1},
    {.op = "GatherV2",
     .label = "axis 1, params dims unknown",
     .n_in = 2,
     .in = {{.dtype = F64, .rank = 3, .dims = {2, 3, 4}, .check = true, .decl = GRAFTT_DECL_DIMS_UNKNOWN},
            {.dtype = I32,
             .rank = 2,
             .dims = {2, 2},
             .domain = GRAFTT_VALUES,
             .values = gidx_b,
             .n_values = 4}},
     .build = build_gather,
     .ud = &axis1},
    {.op = "GatherV2",
     .label = "axis -1, int64 indices",
     .n_in = 2,
     .in = {{.dtype = F64, .rank = 2, .dims = {3, 4}, .check = true},
            {.dtype = I64, .rank = 1, .dims = {3}, .domain = GRAFTT_VALUES, .values = gidx_c, .n_values = 3}},
     .build = build_gather,
     .ud = &axis_m1},
    {.op = "GatherV2",
     .label = "float32, axis 0",
     .n_in = 2,
     .in = {{.dtype = GRAFT_FLOAT, .rank = 2, .dims = {5, 2}, .check = true},
            {.dtype = I32, .rank = 1, .dims = {6}, .domain = GRAFTT_VALUES, .values = gidx_a, .n_values = 6}},
     .build = build_gather,
     .ud = &axis0},
    {.op = "Gather",
     .label = "v1, 2-D int64 indices (generic builder)",
     .n_in = 2,
     .in = {{.dtype = F64, .rank = 2, .dims = {4, 2}, .check = true},
            {.dtype = I64,
             .rank = 2,
             .dims = {2, 3},
             .domain = GRAFTT_VALUES,
             .values = gidx_d,
             .n_values = 6}},
     .attrs = {{.name = "Tparams", .kind = 't', .i = GRAFT_DOUBLE},
               {.name = "Tindices", .kind = 't', .i = I64}}},

    {.op = "UnsortedSegmentSum",
     .label = "repeats and negative ids",
     .n_in = 3,
     .in = {{.dtype = F64, .rank = 2, .dims = {6, 2}, .check = true},
            {.dtype = I32, .rank = 1, .dims = {6}, .domain = GRAFTT_VALUES, .values = seg_a, .n_values = 6},
            {.dtype = I32,
             .rank = 0,
             .domain = GRAFTT_VALUES,
             .values = num4,
             .n_values = 1,
             .as_const = true}},
     .attrs = {{.name = "T", .kind = 't', .i = GRAFT_DOUBLE},
               {.name = "Tindices", .kind = 't', .i = I32},
               {.name = "Tnumsegments", .kind = 't', .i = I32}}},
    {.op = "UnsortedSegmentSum",
     .label = "2-D ids, int64",
     .n_in = 3,
     .in =
         {{.dtype = F64, .rank = 3, .dims = {2, 3, 2}, .check = true},
          {.dtype = I64, .rank = 2, .dims = {2, 3}, .domain = GRAFTT_VALUES, .values = seg_b, .n_values = 6},
          {.dtype = I64,
           .rank = 0,
           .domain = GRAFTT_VALUES,
           .values = num3,
           .n_values = 1,
           .as_const = true}},
     .attrs = {{.name = "T", .kind = 't', .i = GRAFT_DOUBLE},
               {.name = "Tindices", .kind = 't', .i = I64},
               {.name = "Tnumsegments", .kind = 't', .i = I64}}},

    {.op = "SelectV2",
     .label = "condition [3,1], t [1,4], e [3,4]",
     .n_in = 3,
     .in = {{.dtype = GRAFT_BOOL, .rank = 2, .dims = {3, 1}},
            {.dtype = F64, .rank = 2, .dims = {1, 4}, .check = true},
            {.dtype = F64, .rank = 2, .dims = {3, 4}, .check = true}},
     .attrs = {{.name = "T", .kind = 't', .i = GRAFT_DOUBLE}}},
    {.op = "SelectV2",
     .label = "condition [2,3], t [3] dims unknown, e scalar",
     .n_in = 3,
     .in = {{.dtype = GRAFT_BOOL, .rank = 2, .dims = {2, 3}},
            {.dtype = F64, .rank = 1, .dims = {3}, .check = true, .decl = GRAFTT_DECL_DIMS_UNKNOWN},
            {.dtype = F64, .rank = 0, .check = true}},
     .attrs = {{.name = "T", .kind = 't', .i = GRAFT_DOUBLE}}},

    {.op = "SplitV",
     .label = "sizes {1,-1,2} on axis 1, all outputs",
     .n_in = 3,
     .in = {{.dtype = F64, .rank = 2, .dims = {3, 6}, .check = true},
            {.dtype = I32,
             .rank = 1,
             .dims = {3},
             .domain = GRAFTT_VALUES,
             .values = split_sizes,
             .n_values = 3,
             .as_const = true},
            {.dtype = I32,
             .rank = 0,
             .domain = GRAFTT_VALUES,
             .values = split_dim1,
             .n_values = 1,
             .as_const = true}},
     .attrs = {{.name = "num_split", .kind = 'i', .i = 3},
               {.name = "T", .kind = 't', .i = GRAFT_DOUBLE},
               {.name = "Tlen", .kind = 't', .i = I32}},
     .out_mask = 7},
    {.op = "SplitV",
     .label = "axis 0, only output 1 in the loss (zeros for the rest)",
     .n_in = 3,
     .in = {{.dtype = F64, .rank = 2, .dims = {4, 3}, .check = true, .decl = GRAFTT_DECL_FIRST_UNKNOWN},
            {.dtype = I64,
             .rank = 1,
             .dims = {2},
             .domain = GRAFTT_VALUES,
             .values = split_sizes0,
             .n_values = 2,
             .as_const = true},
            {.dtype = I32,
             .rank = 0,
             .domain = GRAFTT_VALUES,
             .values = split_dim0,
             .n_values = 1,
             .as_const = true}},
     .attrs = {{.name = "num_split", .kind = 'i', .i = 2}, {.name = "T", .kind = 't', .i = GRAFT_DOUBLE}},
     .out_mask = 2},
    {0}};
