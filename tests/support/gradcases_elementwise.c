/* tests/support/gradcases_elementwise.c - gradient-check cases for the
 * element-wise ops (lib/ops/op_elementwise.c): broadcasting in both
 * directions, statically and dynamically shaped, float64 and float32. */
#include "gradcheck.h"

#define D GRAFT_DOUBLE
#define F GRAFT_FLOAT
/* checked input of dtype T, rank R, dims ... */
#define CK(T, R, ...) {.dtype = T, .rank = R, .dims = {__VA_ARGS__}, .check = true}
#define CKD(T, R, DOM, ...) {.dtype = T, .rank = R, .dims = {__VA_ARGS__}, .check = true, .domain = DOM}
#define DYN(T, R, ...) {.dtype = T, .rank = R, .dims = {__VA_ARGS__}, .check = true, .decl = GRAFTT_DECL_DIMS_UNKNOWN}


static int b_add(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_add(g, in[0], in[1]); return 1; }
static int b_addv2(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_add_v2(g, in[0], in[1]); return 1; }
static int b_sub(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_sub(g, in[0], in[1]); return 1; }
static int b_mul(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_mul(g, in[0], in[1]); return 1; }
static int b_div(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_div(g, in[0], in[1]); return 1; }
static int b_max(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_maximum(g, in[0], in[1]); return 1; }
static int b_min(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_minimum(g, in[0], in[1]); return 1; }
static int b_pow(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_pow(g, in[0], in[1]); return 1; }
static int b_neg(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_neg(g, in[0]); return 1; }
static int b_square(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_square(g, in[0]); return 1; }
static int b_sqrt(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_sqrt(g, in[0]); return 1; }
static int b_rsqrt(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_rsqrt(g, in[0]); return 1; }
static int b_exp(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_exp(g, in[0]); return 1; }
static int b_log(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_log(g, in[0]); return 1; }
static int b_addn(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_add_n(g, in, c->n_in); return 1; }
static int b_select(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_select(g, in[0], in[1], in[2]); return 1; }
static int b_gen2(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    /* c->ud names the op type: a binary or ternary op through the generic builder */
    graft_op_builder *b = graft_op_builder_new(g, (const char *)c->ud, "op");
    for (int i = 0; i < c->n_in; i++) graft_op_builder_add_input(b, in[i]);
    graft_op_builder_attr_type(b, "T", graft_out_dtype(in[0]));
    graft_status st;
    graft_op *op = graft_op_builder_finish(b, &st);
    if (!op) return 0;
    o[0].op = op;
    o[0].index = 0;
    return 1;
}
#define RNG(T, R, LO, HI, ...) {.dtype = T, .rank = R, .dims = {__VA_ARGS__}, .check = true, .domain = GRAFTT_RANGE, .lo = LO, .hi = HI}

/* x * x through Mul with the same input twice: both gradient contributions sum */
static int b_mul_self(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o) { o[0] = graft_mul(g, in[0], in[0]); return 1; }

const graftT_gradcase graftT_gradcases_elementwise[] = {
    {.op = "Add", .label = "[2,3] + [3] f64", .n_in = 2, .in = {CK(D, 2, 2, 3), CK(D, 1, 3)}, .build = b_add},
    {.op = "Add", .label = "[2,1,3] + [4,1] f64", .n_in = 2, .in = {CK(D, 3, 2, 1, 3), CK(D, 2, 4, 1)}, .build = b_add},
    {.op = "Add", .label = "dynamic [2,3] + [1,3] (BroadcastGradientArgs)", .n_in = 2,
     .in = {DYN(D, 2, 2, 3), DYN(D, 2, 1, 3)}, .build = b_add},
    {.op = "Add", .label = "[4,3] + [4,3] f32", .n_in = 2, .in = {CK(F, 2, 4, 3), CK(F, 2, 4, 3)}, .build = b_add},
    {.op = "AddV2", .label = "[3] + scalar f64", .n_in = 2, .in = {CK(D, 1, 3), CK(D, 0, 0)}, .build = b_addv2},
    {.op = "Sub", .label = "[2,3] - [2,1] f64", .n_in = 2, .in = {CK(D, 2, 2, 3), CK(D, 2, 2, 1)}, .build = b_sub},
    {.op = "Sub", .label = "dynamic scalar - [2,2]", .n_in = 2, .in = {DYN(D, 0, 0), DYN(D, 2, 2, 2)}, .build = b_sub},
    {.op = "Mul", .label = "[2,3] * [3] f64", .n_in = 2, .in = {CK(D, 2, 2, 3), CK(D, 1, 3)}, .build = b_mul},
    {.op = "Mul", .label = "[3,1] * [1,4] f32", .n_in = 2, .in = {CK(F, 2, 3, 1), CK(F, 2, 1, 4)}, .build = b_mul},
    {.op = "Mul", .label = "x * x (fan-in)", .n_in = 1, .in = {CK(D, 2, 2, 2)}, .build = b_mul_self},
    {.op = "RealDiv", .label = "[2,3] / [3] f64", .n_in = 2,
     .in = {CK(D, 2, 2, 3), CKD(D, 1, GRAFTT_NONZERO, 3)}, .build = b_div},
    {.op = "RealDiv", .label = "scalar / [2,2] f32", .n_in = 2,
     .in = {CK(F, 0, 0), CKD(F, 2, GRAFTT_NONZERO, 2, 2)}, .build = b_div},
    {.op = "Maximum", .label = "[2,3] vs [3] f64", .n_in = 2,
     .in = {CKD(D, 2, GRAFTT_DISTINCT, 2, 3), CKD(D, 1, GRAFTT_DISTINCT, 3)}, .build = b_max},
    {.op = "Maximum", .label = "dynamic [2,3] vs scalar", .n_in = 2,
     .in = {{.dtype = D, .rank = 2, .dims = {2, 3}, .check = true, .domain = GRAFTT_DISTINCT, .decl = GRAFTT_DECL_DIMS_UNKNOWN},
            {.dtype = D, .rank = 0, .check = true, .domain = GRAFTT_DISTINCT, .decl = GRAFTT_DECL_DIMS_UNKNOWN}},
     .build = b_max},
    {.op = "Minimum", .label = "[3,2] vs [3,1] f64", .n_in = 2,
     .in = {CKD(D, 2, GRAFTT_DISTINCT, 3, 2), CKD(D, 2, GRAFTT_DISTINCT, 3, 1)}, .build = b_min},
    {.op = "Pow", .label = "[2,3] ^ [3], x > 0, f64", .n_in = 2,
     .in = {CKD(D, 2, GRAFTT_POSITIVE, 2, 3), CK(D, 1, 3)}, .build = b_pow},
    {.op = "Pow", .label = "[4] ^ scalar f32", .n_in = 2, .in = {CKD(F, 1, GRAFTT_POSITIVE, 4), CK(F, 0, 0)},
     .build = b_pow, .tol = 2e-2},
    {.op = "Neg", .label = "[2,3] f64", .n_in = 1, .in = {CK(D, 2, 2, 3)}, .build = b_neg},
    {.op = "Square", .label = "[2,3] f64", .n_in = 1, .in = {CK(D, 2, 2, 3)}, .build = b_square},
    {.op = "Square", .label = "[5] f32", .n_in = 1, .in = {CK(F, 1, 5)}, .build = b_square},
    {.op = "Sqrt", .label = "[2,3] f64", .n_in = 1, .in = {CKD(D, 2, GRAFTT_POSITIVE, 2, 3)}, .build = b_sqrt},
    {.op = "Rsqrt", .label = "[2,3] f64", .n_in = 1, .in = {CKD(D, 2, GRAFTT_POSITIVE, 2, 3)}, .build = b_rsqrt},
    {.op = "Exp", .label = "[2,3] f64", .n_in = 1, .in = {CK(D, 2, 2, 3)}, .build = b_exp},
    {.op = "Exp", .label = "[6] f32", .n_in = 1, .in = {CK(F, 1, 6)}, .build = b_exp},
    {.op = "Log", .label = "[2,3] f64", .n_in = 1, .in = {CKD(D, 2, GRAFTT_POSITIVE, 2, 3)}, .build = b_log},
    {.op = "Reciprocal", .label = "[2,3] f64 (generic builder)", .n_in = 1,
     .in = {CKD(D, 2, GRAFTT_NONZERO, 2, 3)}, .attrs = {{.name = "T", .kind = 't', .i = GRAFT_DOUBLE}}},
    {.op = "Select", .label = "cond same shape [2,3]", .n_in = 3,
     .in = {{.dtype = GRAFT_BOOL, .rank = 2, .dims = {2, 3}}, CK(D, 2, 2, 3), CK(D, 2, 2, 3)}, .build = b_select},
    {.op = "Select", .label = "cond vector [3] picks rows of [3,2]", .n_in = 3,
     .in = {{.dtype = GRAFT_BOOL, .rank = 1, .dims = {3}}, CK(D, 2, 3, 2), CK(D, 2, 3, 2)}, .build = b_select},
    {.op = "AddN", .label = "3 x [2,2] f64", .n_in = 3, .in = {CK(D, 2, 2, 2), CK(D, 2, 2, 2), CK(D, 2, 2, 2)},
     .build = b_addn},
    {.op = "Div", .label = "[2,3] / [3] f64 (float Div is RealDiv)", .n_in = 2,
     .in = {CK(D, 2, 2, 3), CKD(D, 1, GRAFTT_NONZERO, 3)}, .build = b_gen2, .ud = "Div"},
    {.op = "FloorMod", .label = "x in [2.1,2.3] mod y in [1.5,2]", .n_in = 2,
     .in = {RNG(D, 2, 2.1, 2.3, 2, 3), RNG(D, 1, 1.5, 2.0, 3)}, .build = b_gen2, .ud = "FloorMod"},
    {.op = "FloorMod", .label = "negative x: floor(x/y) = -1", .n_in = 2,
     .in = {RNG(D, 2, -0.9, -0.1, 3, 2), RNG(D, 0, 1.2, 2.0, 0)}, .build = b_gen2, .ud = "FloorMod"},
    {.op = "SquaredDifference", .label = "[2,3] vs [3] f64", .n_in = 2, .in = {CK(D, 2, 2, 3), CK(D, 1, 3)},
     .build = b_gen2, .ud = "SquaredDifference"},
    {.op = "DivNoNan", .label = "[2,3] / [2,1] f64", .n_in = 2, .in = {CK(D, 2, 2, 3), CKD(D, 2, GRAFTT_NONZERO, 2, 1)},
     .build = b_gen2, .ud = "DivNoNan"},
    {.op = "Inv", .label = "[4] f64", .n_in = 1, .in = {CKD(D, 1, GRAFTT_NONZERO, 4)},
     .attrs = {{.name = "T", .kind = 't', .i = GRAFT_DOUBLE}}},
    {.op = "Log1p", .label = "[2,3] f64", .n_in = 1, .in = {RNG(D, 2, -0.5, 2.0, 2, 3)},
     .attrs = {{.name = "T", .kind = 't', .i = GRAFT_DOUBLE}}},
    {.op = "ClipByValue", .label = "[3,4] between scalar bounds", .n_in = 3,
     /* t on a grid of step 1/6 (-0.583, -0.417, ..., 0.417, 0.583); the bounds stay
      * >= 0.03 from every grid value, so no element sits on a kink, and lo < hi */
     .in = {CKD(D, 2, GRAFTT_DISTINCT, 3, 4), RNG(D, 0, -0.55, -0.45, 0), RNG(D, 0, 0.45, 0.55, 0)},
     .build = b_gen2, .ud = "ClipByValue"},
    {.op = "ClipByValue", .label = "[2,3] between t-shaped bounds", .n_in = 3,
     /* t on {+-0.167, +-0.5, +-0.833}; bounds away from those */
     .in = {CKD(D, 2, GRAFTT_DISTINCT, 2, 3), RNG(D, 2, -0.42, -0.25, 2, 3), RNG(D, 2, 0.25, 0.42, 2, 3)},
     .build = b_gen2, .ud = "ClipByValue"},
    {0}};
