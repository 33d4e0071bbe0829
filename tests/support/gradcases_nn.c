/* tests/support/gradcases_nn.c - gradient-check cases for lib/ops/op_nn.c:
 * MatMul (all transpose combinations), BiasAdd (NHWC, NCHW), the activations
 * (inputs kept off their kinks), Softmax, LogSoftmax and both cross-entropies
 * (including a gradient reaching their backprop output). */
#include <stddef.h>

#include "gradcheck.h"
#include "internal.h"

#define F64 GRAFT_DOUBLE

/* ---- build functions (typed builders) ------------------------------------------ */

typedef struct mm_cfg {
    bool ta, tb;
} mm_cfg;
static const mm_cfg mm_nn = {false, false}, mm_nt = {false, true}, mm_tn = {true, false},
                    mm_tt = {true, true};

static int build_matmul(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    const mm_cfg *m = c->ud;
    outs[0] = graft_matmul(g, in[0], in[1], m->ta, m->tb);
    return 1;
}

static int build_bias_add(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    outs[0] = graft_bias_add(g, in[0], in[1]);
    return 1;
}

static int build_relu(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    outs[0] = graft_relu(g, in[0]);
    return 1;
}

static int build_relu6(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    outs[0] = graft_relu6(g, in[0]);
    return 1;
}

static int build_sigmoid(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    outs[0] = graft_sigmoid(g, in[0]);
    return 1;
}

static int build_tanh(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    outs[0] = graft_tanh(g, in[0]);
    return 1;
}

static int build_softmax(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    outs[0] = graft_softmax(g, in[0]);
    return 1;
}

static int build_log_softmax(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    (void)c;
    outs[0] = graft_log_softmax(g, in[0]);
    return 1;
}

/* ud non-NULL: the loss also covers output 1 (backprop), exercising the
 * second-order term TF adds when a gradient reaches it. */
static int build_xent(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    outs[0] = graft_softmax_cross_entropy_with_logits(g, in[0], in[1]);
    if (!c->ud) return 1;
    outs[1] = graftI_o(outs[0].op, 1);
    return 2;
}

static int build_sparse_xent(graft_graph *g, const graft_out *in, const graftT_gradcase *c, graft_out *outs)
{
    outs[0] = graft_sparse_softmax_cross_entropy_with_logits(g, in[0], in[1]);
    if (!c->ud) return 1;
    outs[1] = graftI_o(outs[0].op, 1);
    return 2;
}

static const int both_outputs = 1;

/* Relu6 inputs: spread over [-2, 8], each at least 0.1 away from the kinks 0 and 6. */
static const double relu6_vals[] = {-1.9, -0.7, -0.15, 0.12, 0.55, 1.3, 2.2, 3.1,  4.4, 5.3,
                                    5.85, 6.2,  6.9,   7.7,  -1.1, 0.9, 2.7, 6.45, 5.6, 7.1};

#define MM(label_, cfg_, ad0, ad1, bd0, bd1)                                                                 \
    {                                                                                                        \
        .op = "MatMul", .label = label_, .n_in = 2,                                                          \
        .in = {{.dtype = F64, .rank = 2, .dims = {ad0, ad1}, .check = true},                                 \
               {.dtype = F64, .rank = 2, .dims = {bd0, bd1}, .check = true}},                                \
        .build = build_matmul, .ud = &cfg_                                                                   \
    }

const graftT_gradcase graftT_gradcases_nn[] = {
    MM("a b", mm_nn, 3, 4, 4, 5),
    MM("a b^T", mm_nt, 3, 4, 5, 4),
    MM("a^T b", mm_tn, 4, 3, 4, 5),
    MM("a^T b^T", mm_tt, 4, 3, 5, 4),
    {.op = "MatMul",
     .label = "float32, batch dim unknown",
     .n_in = 2,
     .in =
         {{.dtype = GRAFT_FLOAT, .rank = 2, .dims = {3, 4}, .check = true, .decl = GRAFTT_DECL_FIRST_UNKNOWN},
          {.dtype = GRAFT_FLOAT, .rank = 2, .dims = {4, 2}, .check = true}},
     .build = build_matmul,
     .ud = &mm_nn},

    {.op = "BiasAdd",
     .label = "NHWC rank 4",
     .n_in = 2,
     .in = {{.dtype = F64, .rank = 4, .dims = {2, 2, 3, 3}, .check = true},
            {.dtype = F64, .rank = 1, .dims = {3}, .check = true}},
     .build = build_bias_add},
    {.op = "BiasAdd",
     .label = "NHWC rank 2, dims unknown",
     .n_in = 2,
     .in = {{.dtype = F64, .rank = 2, .dims = {4, 5}, .check = true, .decl = GRAFTT_DECL_DIMS_UNKNOWN},
            {.dtype = F64, .rank = 1, .dims = {5}, .check = true}},
     .build = build_bias_add},
    {.op = "BiasAdd",
     .label = "NCHW (generic builder)",
     .n_in = 2,
     .in = {{.dtype = F64, .rank = 4, .dims = {2, 3, 2, 2}, .check = true},
            {.dtype = F64, .rank = 1, .dims = {3}, .check = true}},
     .attrs = {{.name = "T", .kind = 't', .i = GRAFT_DOUBLE},
               {.name = "data_format", .kind = 's', .s = "NCHW"}}},

    /* 12 elements: an even grid never contains 0 */
    {.op = "Relu",
     .label = "distinct, off the kink",
     .n_in = 1,
     .in = {{.dtype = F64, .rank = 2, .dims = {3, 4}, .domain = GRAFTT_DISTINCT, .check = true}},
     .build = build_relu},
    {.op = "Relu6",
     .label = "values off 0 and 6",
     .n_in = 1,
     .in = {{.dtype = F64,
             .rank = 2,
             .dims = {4, 5},
             .domain = GRAFTT_VALUES,
             .values = relu6_vals,
             .n_values = 20,
             .check = true}},
     .build = build_relu6},
    {.op = "Sigmoid",
     .label = "[-3, 3]",
     .n_in = 1,
     .in = {{.dtype = F64,
             .rank = 2,
             .dims = {3, 4},
             .domain = GRAFTT_RANGE,
             .lo = -3,
             .hi = 3,
             .check = true}},
     .build = build_sigmoid},
    {.op = "Tanh",
     .label = "[-2, 2]",
     .n_in = 1,
     .in = {{.dtype = F64,
             .rank = 3,
             .dims = {2, 2, 3},
             .domain = GRAFTT_RANGE,
             .lo = -2,
             .hi = 2,
             .check = true}},
     .build = build_tanh},
    {.op = "Tanh",
     .label = "float32",
     .n_in = 1,
     .in = {{.dtype = GRAFT_FLOAT,
             .rank = 2,
             .dims = {3, 4},
             .domain = GRAFTT_RANGE,
             .lo = -2,
             .hi = 2,
             .check = true}},
     .build = build_tanh},

    {.op = "Softmax",
     .label = "rank 2",
     .n_in = 1,
     .in = {{.dtype = F64,
             .rank = 2,
             .dims = {3, 5},
             .domain = GRAFTT_RANGE,
             .lo = -2,
             .hi = 2,
             .check = true}},
     .build = build_softmax},
    {.op = "Softmax",
     .label = "rank 3, dims unknown",
     .n_in = 1,
     .in = {{.dtype = F64,
             .rank = 3,
             .dims = {2, 2, 4},
             .domain = GRAFTT_RANGE,
             .lo = -2,
             .hi = 2,
             .check = true,
             .decl = GRAFTT_DECL_DIMS_UNKNOWN}},
     .build = build_softmax},
    {.op = "LogSoftmax",
     .label = "rank 3, rank unknown",
     .n_in = 1,
     .in = {{.dtype = F64,
             .rank = 3,
             .dims = {2, 1, 3},
             .domain = GRAFTT_RANGE,
             .lo = -2,
             .hi = 2,
             .check = true,
             .decl = GRAFTT_DECL_RANK_UNKNOWN}},
     .build = build_log_softmax},
    {.op = "LogSoftmax",
     .label = "rank 2",
     .n_in = 1,
     .in = {{.dtype = F64,
             .rank = 2,
             .dims = {3, 5},
             .domain = GRAFTT_RANGE,
             .lo = -2,
             .hi = 2,
             .check = true}},
     .build = build_log_softmax},
    {.op = "LogSoftmax",
     .label = "float32, batch unknown",
     .n_in = 1,
     .in = {{.dtype = GRAFT_FLOAT,
             .rank = 2,
             .dims = {2, 4},
             .domain = GRAFTT_RANGE,
             .lo = -2,
             .hi = 2,
             .check = true,
             .decl = GRAFTT_DECL_FIRST_UNKNOWN}},
     .build = build_log_softmax},

    {.op = "SoftmaxCrossEntropyWithLogits",
     .label = "loss; logits and soft labels",
     .n_in = 2,
     .in =
         {{.dtype = F64, .rank = 2, .dims = {3, 4}, .domain = GRAFTT_RANGE, .lo = -2, .hi = 2, .check = true},
          {.dtype = F64, .rank = 2, .dims = {3, 4}, .domain = GRAFTT_SIMPLEX, .check = true}},
     .build = build_xent},
    {.op = "SoftmaxCrossEntropyWithLogits",
     .label = "loss and backprop outputs",
     .n_in = 2,
     .in = {{.dtype = F64,
             .rank = 2,
             .dims = {3, 4},
             .domain = GRAFTT_RANGE,
             .lo = -2,
             .hi = 2,
             .check = true,
             .decl = GRAFTT_DECL_FIRST_UNKNOWN},
            {.dtype = F64,
             .rank = 2,
             .dims = {3, 4},
             .domain = GRAFTT_SIMPLEX,
             .check = true,
             .decl = GRAFTT_DECL_FIRST_UNKNOWN}},
     .build = build_xent,
     .ud = &both_outputs},
    {.op = "SparseSoftmaxCrossEntropyWithLogits",
     .label = "int32 labels, loss",
     .n_in = 2,
     .in =
         {{.dtype = F64, .rank = 2, .dims = {4, 5}, .domain = GRAFTT_RANGE, .lo = -2, .hi = 2, .check = true},
          {.dtype = GRAFT_INT32, .rank = 1, .dims = {4}, .domain = GRAFTT_RANGE, .lo = 0, .hi = 4}},
     .build = build_sparse_xent},
    {.op = "SparseSoftmaxCrossEntropyWithLogits",
     .label = "int64 labels, loss and backprop",
     .n_in = 2,
     .in =
         {{.dtype = F64, .rank = 2, .dims = {3, 4}, .domain = GRAFTT_RANGE, .lo = -2, .hi = 2, .check = true},
          {.dtype = GRAFT_INT64, .rank = 1, .dims = {3}, .domain = GRAFTT_RANGE, .lo = 0, .hi = 3}},
     .build = build_sparse_xent,
     .ud = &both_outputs},
    {0}};
