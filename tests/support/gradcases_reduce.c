/* tests/support/gradcases_reduce.c - gradient-check cases for the reductions
 * (lib/ops/op_reduce.c): static and run-time axes, keep_dims, unknown dims,
 * ties-free Max/Min, Prod with a zero in the slice. */
#include <string.h>

#include "gradcheck.h"

#define D GRAFT_DOUBLE
#define F GRAFT_FLOAT
#define CK(T, R, ...) {.dtype = T, .rank = R, .dims = {__VA_ARGS__}, .check = true}
#define CKD(T, R, DOM, ...) {.dtype = T, .rank = R, .dims = {__VA_ARGS__}, .check = true, .domain = DOM}

/* ud: {op type, keep_dims, n, axes...} */
typedef struct red_args {
    const char *type;
    bool keep;
    int n;
    int32_t axes[4];
} red_args;

static int b_reduce(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    const red_args *a = c->ud;
    graft_out x = in[0];
    if (strcmp(a->type, "Sum") == 0) o[0] = graft_sum(g, x, a->axes, a->n, a->keep);
    else if (strcmp(a->type, "Mean") == 0) o[0] = graft_mean(g, x, a->axes, a->n, a->keep);
    else if (strcmp(a->type, "Max") == 0) o[0] = graft_reduce_max(g, x, a->axes, a->n, a->keep);
    else {
        /* Min, Prod: through the generic builder */
        graft_out ax = graft_const_i32_vec(g, a->axes, a->n);
        graft_op_builder *b = graft_op_builder_new(g, a->type, a->type);
        graft_op_builder_add_input(b, x);
        graft_op_builder_add_input(b, ax);
        graft_op_builder_attr_type(b, "T", graft_out_dtype(x));
        graft_op_builder_attr_bool(b, "keep_dims", a->keep);
        graft_status st;
        graft_op *op = graft_op_builder_finish(b, &st);
        if (!op) return 0;
        o[0].op = op;
        o[0].index = 0;
    }
    return 1;
}

/* axes fed at run time: in[1] is an int32 placeholder */
static int b_reduce_dyn(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    const red_args *a = c->ud;
    graft_op_builder *b = graft_op_builder_new(g, a->type, a->type);
    graft_op_builder_add_input(b, in[0]);
    graft_op_builder_add_input(b, in[1]);
    graft_op_builder_attr_type(b, "T", graft_out_dtype(in[0]));
    graft_op_builder_attr_bool(b, "keep_dims", a->keep);
    graft_status st;
    graft_op *op = graft_op_builder_finish(b, &st);
    if (!op) return 0;
    o[0].op = op;
    o[0].index = 0;
    return 1;
}

static const red_args sum1 = {"Sum", false, 1, {1}}, sum_keep = {"Sum", true, 2, {0, 2}}, sum_all = {"Sum", false, 0, {0}},
                      sum_neg = {"Sum", false, 1, {-1}}, sum_dyn = {"Sum", false, 0, {0}}, mean0 = {"Mean", false, 1, {0}},
                      mean_keep = {"Mean", true, 1, {1}}, mean_dyn = {"Mean", false, 0, {0}}, max1 = {"Max", false, 1, {1}},
                      max_all = {"Max", true, 0, {0}}, min0 = {"Min", false, 1, {0}}, prod1 = {"Prod", false, 1, {1}},
                      prod01 = {"Prod", true, 2, {0, 1}}, max_dyn = {"Max", false, 0, {0}};

static const double prod_vals[] = {0.5, -1.2, 0.0, 0.9, 1.1, 0.7, -0.8, 1.3, 0.6, 0.0, 0.0, -0.4};
static const double axis1[] = {1};
static const double axis_m1[] = {-1};

const graftT_gradcase graftT_gradcases_reduce[] = {
    {.op = "Sum", .label = "[3,4] axis 1", .n_in = 1, .in = {CK(D, 2, 3, 4)}, .build = b_reduce, .ud = &sum1},
    {.op = "Sum", .label = "[2,3,4] axes {0,2} keep_dims", .n_in = 1, .in = {CK(D, 3, 2, 3, 4)}, .build = b_reduce,
     .ud = &sum_keep},
    {.op = "Sum", .label = "[2,3] all axes f32", .n_in = 1, .in = {CK(F, 2, 2, 3)}, .build = b_reduce, .ud = &sum_all},
    {.op = "Sum", .label = "[?,4] axis -1 (ExpandDims path)", .n_in = 1,
     .in = {{.dtype = D, .rank = 2, .dims = {3, 4}, .check = true, .decl = GRAFTT_DECL_FIRST_UNKNOWN}}, .build = b_reduce,
     .ud = &sum_neg},
    {.op = "Sum", .label = "axes fed at run time", .n_in = 2,
     .in = {CK(D, 2, 3, 4), {.dtype = GRAFT_INT32, .rank = 1, .dims = {1}, .domain = GRAFTT_VALUES, .values = axis1, .n_values = 1}},
     .build = b_reduce_dyn, .ud = &sum_dyn},
    {.op = "Mean", .label = "[3,4] axis 0", .n_in = 1, .in = {CK(D, 2, 3, 4)}, .build = b_reduce, .ud = &mean0},
    {.op = "Mean", .label = "[2,3] axis 1 keep_dims f32", .n_in = 1, .in = {CK(F, 2, 2, 3)}, .build = b_reduce,
     .ud = &mean_keep},
    {.op = "Mean", .label = "dims unknown, axes fed (Size path)", .n_in = 2,
     .in = {{.dtype = D, .rank = 2, .dims = {3, 4}, .check = true, .decl = GRAFTT_DECL_DIMS_UNKNOWN},
            {.dtype = GRAFT_INT32, .rank = 1, .dims = {1}, .domain = GRAFTT_VALUES, .values = axis_m1, .n_values = 1}},
     .build = b_reduce_dyn, .ud = &mean_dyn},
    {.op = "Max", .label = "[3,4] axis 1", .n_in = 1, .in = {CKD(D, 2, GRAFTT_DISTINCT, 3, 4)}, .build = b_reduce,
     .ud = &max1},
    {.op = "Max", .label = "[2,3] all axes keep_dims", .n_in = 1, .in = {CKD(D, 2, GRAFTT_DISTINCT, 2, 3)},
     .build = b_reduce, .ud = &max_all},
    {.op = "Max", .label = "axes fed at run time", .n_in = 2,
     .in = {CKD(D, 2, GRAFTT_DISTINCT, 3, 4),
            {.dtype = GRAFT_INT32, .rank = 0, .domain = GRAFTT_VALUES, .values = axis1, .n_values = 1}},
     .build = b_reduce_dyn, .ud = &max_dyn},
    {.op = "Min", .label = "[3,4] axis 0", .n_in = 1, .in = {CKD(D, 2, GRAFTT_DISTINCT, 3, 4)}, .build = b_reduce,
     .ud = &min0},
    {.op = "Prod", .label = "[3,4] axis 1", .n_in = 1, .in = {CKD(D, 2, GRAFTT_NONZERO, 3, 4)}, .build = b_reduce,
     .ud = &prod1},
    {.op = "Prod", .label = "[3,4] axis 1, zeros in the slices", .n_in = 1,
     .in = {{.dtype = D, .rank = 2, .dims = {3, 4}, .check = true, .domain = GRAFTT_VALUES, .values = prod_vals, .n_values = 12}},
     .build = b_reduce, .ud = &prod1},
    {.op = "Prod", .label = "[2,2,3] axes {0,1} keep_dims", .n_in = 1, .in = {CKD(D, 3, GRAFTT_NONZERO, 2, 2, 3)},
     .build = b_reduce, .ud = &prod01},
    {0}};
