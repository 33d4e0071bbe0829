/* tests/support/gradcases_shape.c - gradient-check cases for the shape and
 * data-movement ops (lib/ops/op_shape.c), static and dynamic shapes. */
#include <string.h>

#include "gradcheck.h"

#define D GRAFT_DOUBLE
#define F GRAFT_FLOAT
#define CK(T, R, ...) {.dtype = T, .rank = R, .dims = {__VA_ARGS__}, .check = true}
#define DYN(T, R, ...) {.dtype = T, .rank = R, .dims = {__VA_ARGS__}, .check = true, .decl = GRAFTT_DECL_DIMS_UNKNOWN}
#define I32V(R, N, V) {.dtype = GRAFT_INT32, .rank = R, .dims = {N}, .domain = GRAFTT_VALUES, .values = V, .n_values = N}

static graft_out one(graft_op *op, int i)
{
    graft_out o = {op, i};
    return o;
}

/* Generic op with inputs and a few int attrs, for ops without a typed builder. */
static graft_op *gen(graft_graph *g, const char *type, const graft_out *in, int n, const char *const *an, const int64_t *av,
                     int na)
{
    graft_op_builder *b = graft_op_builder_new(g, type, type);
    for (int i = 0; i < n; i++) graft_op_builder_add_input(b, in[i]);
    graft_op_builder_attr_type(b, "T", graft_out_dtype(in[strcmp(type, "StridedSliceGrad") == 0 ? 4 : 0]));
    for (int i = 0; i < na; i++) graft_op_builder_attr_int(b, an[i], av[i]);
    graft_status st;
    return graft_op_builder_finish(b, &st);
}

static int b_identity(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    o[0] = graft_identity(g, in[0]);
    return 1;
}
static int b_reshape(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    const int64_t d[2] = {3, -1};
    o[0] = graft_reshape_dims(g, in[0], d, 2);
    return 1;
}
static int b_reshape_dyn(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    o[0] = graft_reshape(g, in[0], in[1]); /* shape fed at run time */
    return 1;
}
static int b_squeeze(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    const int64_t ax[1] = {1};
    o[0] = graft_squeeze(g, in[0], ax, 1);
    return 1;
}
static int b_expand(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    o[0] = graft_expand_dims(g, in[0], -1);
    return 1;
}
static int b_transpose(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    const int32_t p[3] = {2, 0, 1};
    o[0] = graft_transpose(g, in[0], p, 3);
    return 1;
}
static int b_transpose_dyn(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    graft_op *op = gen(g, "Transpose", in, 2, NULL, NULL, 0); /* perm fed: InvertPermutation path */
    if (!op) return 0;
    o[0] = one(op, 0);
    return 1;
}
static int b_concat(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    o[0] = graft_concat(g, in, c->n_in, 1);
    return 1;
}
static int b_concat_neg(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    o[0] = graft_concat(g, in, c->n_in, -2);
    return 1;
}
static int b_concat_v1(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    graft_out ins[3] = {graft_const_i32(g, 0), in[0], in[1]};
    graft_op_builder *b = graft_op_builder_new(g, "Concat", "Concat");
    for (int i = 0; i < 3; i++) graft_op_builder_add_input(b, ins[i]);
    graft_op_builder_attr_type(b, "T", graft_out_dtype(in[0]));
    graft_op_builder_attr_int(b, "N", 2);
    graft_status st;
    graft_op *op = graft_op_builder_finish(b, &st);
    if (!op) return 0;
    o[0] = one(op, 0);
    return 1;
}
static int b_pack(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    static const char *const an[2] = {"N", "axis"};
    const int64_t av[2] = {c->n_in, 1};
    graft_op *op = gen(g, "Pack", in, c->n_in, an, av, 2);
    if (!op) return 0;
    o[0] = one(op, 0);
    return 1;
}
static int b_unpack(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    static const char *const an[2] = {"num", "axis"};
    const int64_t av[2] = {3, -1};
    graft_op *op = gen(g, "Unpack", in, 1, an, av, 2);
    if (!op) return 0;
    o[0] = one(op, 0); /* output 1 unused: its gradient is zeros */
    o[1] = one(op, 2);
    return 2;
}
static int b_pad(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    const int32_t p[4] = {1, 0, 2, 1};
    o[0] = graft_pad(g, in[0], p, 2);
    return 1;
}
static int b_pad_dyn(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    graft_op *op = gen(g, "Pad", in, 2, NULL, NULL, 0);
    if (!op) return 0;
    o[0] = one(op, 0);
    return 1;
}
static int b_slice(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    const int32_t b[2] = {1, 1}, s[2] = {2, -1};
    o[0] = graft_slice(g, in[0], b, s, 2);
    return 1;
}
static int b_slice_dyn(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    graft_op_builder *b = graft_op_builder_new(g, "Slice", "Slice");
    for (int i = 0; i < 3; i++) graft_op_builder_add_input(b, in[i]);
    graft_op_builder_attr_type(b, "T", graft_out_dtype(in[0]));
    graft_status st;
    graft_op *op = graft_op_builder_finish(b, &st);
    if (!op) return 0;
    o[0] = one(op, 0);
    return 1;
}
/* StridedSlice with masks; ud = int64 {b0,b1,b2, e0,e1,e2, s0,s1,s2, n, begin, end, ellipsis, new, shrink} */
static int b_sslice(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    const int64_t *u = c->ud;
    int n = (int)u[9];
    int32_t b[3], e[3], s[3];
    for (int i = 0; i < n; i++) b[i] = (int32_t)u[i], e[i] = (int32_t)u[3 + i], s[i] = (int32_t)u[6 + i];
    graft_out ins[4] = {in[0], graft_const_i32_vec(g, b, n), graft_const_i32_vec(g, e, n), graft_const_i32_vec(g, s, n)};
    static const char *const an[5] = {"begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask", "shrink_axis_mask"};
    graft_op *op = gen(g, "StridedSlice", ins, 4, an, u + 10, 5);
    if (!op) return 0;
    o[0] = one(op, 0);
    return 1;
}
static int b_ssgrad(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    /* dy [2,2] scattered into [3,4] at rows 0..2 step 2, cols 1..3 */
    const int32_t shape[2] = {3, 4}, b[2] = {0, 1}, e[2] = {3, 3}, s[2] = {2, 1};
    graft_out ins[5] = {graft_const_i32_vec(g, shape, 2), graft_const_i32_vec(g, b, 2), graft_const_i32_vec(g, e, 2),
                        graft_const_i32_vec(g, s, 2), in[0]};
    graft_op *op = gen(g, "StridedSliceGrad", ins, 5, NULL, NULL, 0);
    if (!op) return 0;
    o[0] = one(op, 0);
    return 1;
}
static int b_tile(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    const int32_t m[2] = {2, 3};
    graft_out ins[2] = {in[0], graft_const_i32_vec(g, m, 2)};
    graft_op *op = gen(g, "Tile", ins, 2, NULL, NULL, 0);
    if (!op) return 0;
    o[0] = one(op, 0);
    return 1;
}
static int b_tile_dyn(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    graft_op *op = gen(g, "Tile", in, 2, NULL, NULL, 0);
    if (!op) return 0;
    o[0] = one(op, 0);
    return 1;
}
static int b_bto(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    const int32_t s[3] = {2, 3, 4};
    graft_out ins[2] = {in[0], graft_const_i32_vec(g, s, 3)};
    graft_op *op = gen(g, "BroadcastTo", ins, 2, NULL, NULL, 0);
    if (!op) return 0;
    o[0] = one(op, 0);
    return 1;
}
static int b_fill(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    const int32_t d[2] = {2, 3};
    o[0] = graft_fill(g, graft_const_i32_vec(g, d, 2), in[0]);
    return 1;
}
static int b_cast(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    o[0] = graft_cast(g, in[0], GRAFT_DOUBLE);
    return 1;
}
static int b_cast_down(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    o[0] = graft_cast(g, in[0], GRAFT_FLOAT);
    return 1;
}

static int b_split(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *o)
{
    graft_op_builder *b = graft_op_builder_new(g, "Split", "Split");
    graft_op_builder_add_input(b, graft_const_i32(g, -1));
    graft_op_builder_add_input(b, in[0]);
    graft_op_builder_attr_type(b, "T", graft_out_dtype(in[0]));
    graft_op_builder_attr_int(b, "num_split", 3);
    graft_status st;
    graft_op *op = graft_op_builder_finish(b, &st);
    if (!op) return 0;
    o[0] = one(op, 0); /* output 1 unused: its gradient is zeros */
    o[1] = one(op, 2);
    return 2;
}

static const double shape_6x2[] = {6, 2}, perm_102[] = {1, 0, 2}, pads_dyn[] = {0, 1, 1, 1}, sl_b[] = {0, 1},
                    sl_s[] = {-1, 2}, tile_m[] = {1, 2};
/* x[:, 1:] on [3,4] */
static const int64_t ss_cols[15] = {0, 1, 0, 0, 0, 0, 1, 1, 0, 2, 1, 2, 0, 0, 0};
/* x[1, ::-2] on [3,5]: shrink axis 0, negative stride on axis 1 */
static const int64_t ss_shrink_rev[15] = {1, -1, 0, 2, 0, 0, 1, -2, 0, 2, 2, 2, 0, 0, 1};
/* x[..., tf.newaxis, 1:3] on [2,3,4] */
static const int64_t ss_ellipsis[15] = {0, 0, 1, 0, 0, 3, 1, 1, 1, 3, 0, 0, 1, 2, 0};

const graftT_gradcase graftT_gradcases_shape[] = {
    {.op = "Identity", .label = "[2,3]", .n_in = 1, .in = {CK(D, 2, 2, 3)}, .build = b_identity},
    {.op = "Reshape", .label = "[2,6] -> [3,-1]", .n_in = 1, .in = {CK(D, 2, 2, 6)}, .build = b_reshape},
    {.op = "Reshape", .label = "dynamic shape fed, x dims unknown", .n_in = 2,
     .in = {DYN(D, 3, 2, 3, 2), I32V(1, 2, shape_6x2)}, .build = b_reshape_dyn},
    {.op = "Squeeze", .label = "[2,1,3] dim 1", .n_in = 1, .in = {CK(D, 3, 2, 1, 3)}, .build = b_squeeze},
    {.op = "ExpandDims", .label = "[2,3] at -1", .n_in = 1, .in = {DYN(D, 2, 2, 3)}, .build = b_expand},
    {.op = "Transpose", .label = "[2,3,4] perm {2,0,1}", .n_in = 1, .in = {CK(D, 3, 2, 3, 4)}, .build = b_transpose},
    {.op = "Transpose", .label = "perm fed at run time", .n_in = 2, .in = {CK(D, 3, 2, 3, 2), I32V(1, 3, perm_102)},
     .build = b_transpose_dyn},
    {.op = "ConcatV2", .label = "[2,1]+[2,3]+[2,2] axis 1", .n_in = 3,
     .in = {CK(D, 2, 2, 1), CK(D, 2, 2, 3), CK(D, 2, 2, 2)}, .build = b_concat},
    {.op = "ConcatV2", .label = "dynamic (ConcatOffset), axis -2", .n_in = 2, .in = {DYN(D, 2, 1, 3), DYN(D, 2, 2, 3)},
     .build = b_concat_neg},
    {.op = "Concat", .label = "v1, axis first: [1,2]+[2,2]", .n_in = 2, .in = {CK(D, 2, 1, 2), CK(D, 2, 2, 2)},
     .build = b_concat_v1},
    {.op = "Pack", .label = "3 x [2,2] axis 1", .n_in = 3, .in = {CK(D, 2, 2, 2), CK(D, 2, 2, 2), CK(D, 2, 2, 2)},
     .build = b_pack},
    {.op = "Unpack", .label = "[2,3] axis -1, outputs 0 and 2", .n_in = 1, .in = {CK(D, 2, 2, 3)}, .build = b_unpack},
    {.op = "Pad", .label = "[2,3] pads {1,0},{2,1}", .n_in = 1, .in = {CK(D, 2, 2, 3)}, .build = b_pad},
    {.op = "Pad", .label = "paddings fed, dims unknown", .n_in = 2,
     .in = {DYN(D, 2, 2, 2), {.dtype = GRAFT_INT32, .rank = 2, .dims = {2, 2}, .domain = GRAFTT_VALUES, .values = pads_dyn, .n_values = 4}},
     .build = b_pad_dyn},
    {.op = "Slice", .label = "[3,4] begin {1,1} size {2,-1}", .n_in = 1, .in = {CK(D, 2, 3, 4)}, .build = b_slice},
    {.op = "Slice", .label = "begin/size fed", .n_in = 3, .in = {DYN(D, 2, 3, 4), I32V(1, 2, sl_b), I32V(1, 2, sl_s)},
     .build = b_slice_dyn},
    {.op = "StridedSlice", .label = "x[:, 1:] on [3,4]", .n_in = 1, .in = {CK(D, 2, 3, 4)}, .build = b_sslice,
     .ud = ss_cols},
    {.op = "StridedSlice", .label = "x[1, ::-2] on [3,5] (shrink, stride -2)", .n_in = 1, .in = {CK(D, 2, 3, 5)},
     .build = b_sslice, .ud = ss_shrink_rev},
    {.op = "StridedSlice", .label = "x[..., newaxis, 1:3] on [2,3,4]", .n_in = 1, .in = {DYN(D, 3, 2, 3, 4)},
     .build = b_sslice, .ud = ss_ellipsis},
    {.op = "StridedSliceGrad", .label = "[2,2] into [3,4]", .n_in = 1, .in = {CK(D, 2, 2, 2)}, .build = b_ssgrad},
    {.op = "Tile", .label = "[2,2] x {2,3}", .n_in = 1, .in = {CK(D, 2, 2, 2)}, .build = b_tile},
    {.op = "Tile", .label = "multiples fed, dims unknown", .n_in = 2, .in = {DYN(D, 2, 2, 3), I32V(1, 2, tile_m)},
     .build = b_tile_dyn},
    {.op = "BroadcastTo", .label = "[3,1] -> [2,3,4]", .n_in = 1, .in = {CK(D, 2, 3, 1)}, .build = b_bto},
    {.op = "BroadcastTo", .label = "dims unknown [1,4] -> [2,3,4]", .n_in = 1, .in = {DYN(D, 2, 1, 4)}, .build = b_bto},
    {.op = "Fill", .label = "scalar value -> [2,3]", .n_in = 1, .in = {CK(D, 0, 0)}, .build = b_fill},
    {.op = "Cast", .label = "f32 -> f64", .n_in = 1, .in = {CK(F, 2, 2, 3)}, .build = b_cast},
    {.op = "Cast", .label = "f64 -> f32", .n_in = 1, .in = {CK(D, 1, 4)}, .build = b_cast_down, .eps = 1e-3,
     .tol = 1e-3, .floor = 1e-2},
    {.op = "Split", .label = "[2,6] in 3 along -1, outputs 0 and 2", .n_in = 1, .in = {CK(D, 2, 2, 6)}, .build = b_split},
    {0}};
