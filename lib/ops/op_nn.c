/* lib/ops/op_nn.c - dense neural-network ops: MatMul (cblas gemm, transposes as
 * trans flags), BiasAdd/BiasAddGrad, Relu/Relu6/Sigmoid/Tanh and TF's gradient
 * ops for them, Softmax, LogSoftmax and the two softmax cross-entropies; each
 * with shape inference, float32/float64 kernel, gradient builder and typed builder. */
#include "internal.h"
#include "op_util.h"
#include "ops/helper_consts.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>

/* ---- shared helpers ------------------------------------------------------- */

static graft_code set_outs(graft_op *op, int n, graft_status *st)
{
    graft_code rc = graftI_set_outputs(op, n);
    if (rc != GRAFT_OK) return graft_status_set(st, rc, "out of memory setting outputs");
    return GRAFT_OK;
}

/* Known static dim d of shape s, or -1 (unknown rank or dim). */
static int64_t sdim(const graft_shape *s, int d) { return (s->rank > d) ? s->dims[d] : -1; }

static graft_code want_rank(const graft_shape *s, int lo, int hi, const char *what, graft_status *st)
{
    if (s->rank < 0) return GRAFT_OK;
    if (s->rank < lo || (hi >= 0 && s->rank > hi)) {
        if (lo == hi)
            return graft_status_set(st, GRAFT_ERR_SHAPE, "%s: wrong rank (%d vs %d)", what, lo, s->rank);
        return graft_status_set(st, GRAFT_ERR_SHAPE, "%s: wrong rank (at least %d vs %d)", what, lo, s->rank);
    }
    return GRAFT_OK;
}

/* Static dims a and b must agree when both are known. */
static graft_code want_dim_eq(int64_t a, int64_t b, const char *what, graft_status *st)
{
    if (a >= 0 && b >= 0 && a != b)
        return graft_status_set(st, GRAFT_ERR_SHAPE, "%s (%lld vs %lld)", what, (long long)a, (long long)b);
    return GRAFT_OK;
}

/* Merges two compatible static shapes (known dims win). */
static graft_shape merge_shape(const graft_shape *a, const graft_shape *b)
{
    if (a->rank < 0) return *b;
    if (b->rank < 0 || a->rank != b->rank) return *a;
    graft_shape r = *a;
    for (int d = 0; d < r.rank; d++)
        if (r.dims[d] < 0) r.dims[d] = b->dims[d];
    return r;
}

static bool same_shape(const graft_tensor *a, const graft_tensor *b)
{
    if (a->rank != b->rank) return false;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}


/* Typed float/double element access for the row kernels (softmax, losses):
 * those are exp/log bound, so one predictable branch per element is free, and
 * accumulating in double keeps float32 sums accurate. */
static inline double ld(const void *p, int64_t i, bool f64)
{
    return f64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
}
static inline void st_(void *p, int64_t i, double v, bool f64)
{
    if (f64)
        ((double *)p)[i] = v;
    else
        ((float *)p)[i] = (float)v;
}

#define GEXP(x)  _Generic((x), float : expf, default : exp)(x)
#define GTANH(x) _Generic((x), float : tanhf, default : tanh)(x)

/* Element-wise loop over n elements of type T: y[i] = EXPR(v = x[i]). */
#define UNARY_LOOP(T, n, x, y, EXPR)                                                                         \
    do {                                                                                                     \
        const T *xx_ = (const T *)(x);                                                                       \
        T *yy_ = (T *)(y);                                                                                   \
        for (int64_t i_ = 0; i_ < (n); i_++) {                                                               \
            T v = xx_[i_];                                                                                   \
            yy_[i_] = (EXPR);                                                                                \
        }                                                                                                    \
    } while (0)

/* Two-input loop: y[i] = EXPR(a = x0[i], b = x1[i]). */
#define BINARY_LOOP(T, n, x0, x1, y, EXPR)                                                                   \
    do {                                                                                                     \
        const T *p0_ = (const T *)(x0);                                                                      \
        const T *p1_ = (const T *)(x1);                                                                      \
        T *yy_ = (T *)(y);                                                                                   \
        for (int64_t i_ = 0; i_ < (n); i_++) {                                                               \
            T a = p0_[i_], b = p1_[i_];                                                                      \
            yy_[i_] = (EXPR);                                                                                \
        }                                                                                                    \
    } while (0)

/* Runs one op with attr T = dt (the common case for gradient ops). */
static graft_out make1(graft_graph *g, const char *type, const graft_out *in, int n_in, graft_dtype dt)
{
    graftI_attr a = graftI_a_type("T", dt);
    return graftI_o(graftI_make_op(g, type, type, in, n_in, &a, 1), 0);
}

static graft_code gstatus(graft_graph *g) { return graft_graph_status(g); }

/* ---- MatMul ------------------------------------------------------------------ */

static const graftI_attr_spec matmul_attrs[] = {{"T", GRAFTI_ATTR_TYPE, "float"},
                                                {"transpose_a", GRAFTI_ATTR_BOOL, "false"},
                                                {"transpose_b", GRAFTI_ATTR_BOOL, "false"},
                                                {NULL, GRAFTI_ATTR_NONE, NULL}};

static graft_code matmul_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    if ((rc = want_float(op, 0, "a", st)) || (rc = want_same_dtype(op, 0, 1, "a", "b", st))) return rc;
    const graft_shape *a = graftI_in_shape(op, 0), *b = graftI_in_shape(op, 1);
    if ((rc = want_rank(a, 2, 2, "a", st)) || (rc = want_rank(b, 2, 2, "b", st))) return rc;
    bool ta = graftI_attr_b(op, "transpose_a", false), tb = graftI_attr_b(op, "transpose_b", false);
    int64_t m = sdim(a, ta ? 1 : 0), ka = sdim(a, ta ? 0 : 1);
    int64_t kb = sdim(b, tb ? 1 : 0), n = sdim(b, tb ? 0 : 1);
    if (ka >= 0 && kb >= 0 && ka != kb) {
        char sa[64], sb[64];
        return graft_status_set(st, GRAFT_ERR_SHAPE,
                                "inner dimensions differ for a %s (transpose_a=%d) and b %s (transpose_b=%d) "
                                "(%lld vs %lld)",
                                graft_shape_str(a, sa, sizeof sa), ta, graft_shape_str(b, sb, sizeof sb), tb,
                                (long long)ka, (long long)kb);
    }
    if ((rc = set_outs(op, 1, st))) return rc;
    op->out[0].dtype = graftI_in_dtype(op, 0);
    int64_t d[2] = {m, n};
    op->out[0].shape = graft_shape_make(2, d);
    return GRAFT_OK;
}


static graft_code matmul_forward(graftI_kctx *k)
{
    const graft_tensor *a = k->in[0], *b = k->in[1];
    if (a->rank != 2 || b->rank != 2)
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "a and b: matrices expected (rank 2 and 2 vs %d and %d)",
                            a->rank, b->rank);
    if (a->dtype != b->dtype || !is_float(a->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE, "a and b: float32 or float64 expected (vs %s and %s)",
                            dtname(a->dtype), dtname(b->dtype));
    bool ta = graftI_attr_b(k->op, "transpose_a", false), tb = graftI_attr_b(k->op, "transpose_b", false);
    int64_t m = ta ? a->dims[1] : a->dims[0], ka = ta ? a->dims[0] : a->dims[1];
    int64_t kb = tb ? b->dims[1] : b->dims[0], n = tb ? b->dims[0] : b->dims[1];
    if (ka != kb)
        return graftI_kfail(k, GRAFT_ERR_SHAPE,
                            "inner dimensions differ for a [%lld,%lld] and b [%lld,%lld] (%lld vs %lld)",
                            (long long)a->dims[0], (long long)a->dims[1], (long long)b->dims[0],
                            (long long)b->dims[1], (long long)ka, (long long)kb);
    if (a->dims[0] > INT_MAX || a->dims[1] > INT_MAX || b->dims[0] > INT_MAX || b->dims[1] > INT_MAX)
        return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "a or b: dimension exceeds BLAS int range");
    int64_t d[2] = {m, n};
    graft_tensor *c = graftI_out_alloc(k, 0, a->dtype, d, 2, false);
    if (!c) return knomem(k);
    /* lda/ldb are the stored row lengths; transposes go to BLAS as flags. */
    gemm(a->dtype == GRAFT_DOUBLE, ta, tb, (int)m, (int)n, (int)ka, 1.0, a->data,
         (int)(a->dims[1] ? a->dims[1] : 1), b->data, (int)(b->dims[1] ? b->dims[1] : 1), 0.0, c->data,
         (int)(n ? n : 1));
    return GRAFT_OK;
}

/* TF's _MatMulGrad: the gradients are MatMuls with the flags flipped.
 *   C = A B:      dA = dC Bᵀ,    dB = Aᵀ dC
 *   C = A Bᵀ:     dA = dC B,     dB = dCᵀ A
 *   C = Aᵀ B:     dA = B dCᵀ,    dB = A dC
 *   C = Aᵀ Bᵀ:    dA = Bᵀ dCᵀ,   dB = dCᵀ Aᵀ */
static graft_code matmul_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    bool ta = graftI_attr_b(op, "transpose_a", false), tb = graftI_attr_b(op, "transpose_b", false);
    graft_out a = op->in[0], b = op->in[1], d = dy[0];
    if (!ta && !tb) {
        dx[0] = graft_matmul(g, d, b, false, true);
        dx[1] = graft_matmul(g, a, d, true, false);
    } else if (!ta && tb) {
        dx[0] = graft_matmul(g, d, b, false, false);
        dx[1] = graft_matmul(g, d, a, true, false);
    } else if (ta && !tb) {
        dx[0] = graft_matmul(g, b, d, false, true);
        dx[1] = graft_matmul(g, a, d, false, false);
    } else {
        dx[0] = graft_matmul(g, b, d, true, true);
        dx[1] = graft_matmul(g, d, a, true, true);
    }
    return gstatus(g);
}

static const graftI_op_def op_matmul = {.name = "MatMul",
                                        .min_inputs = 2,
                                        .max_inputs = 2,
                                        .attrs = matmul_attrs,
                                        .infer = matmul_infer,
                                        .forward = matmul_forward,
                                        .grad = matmul_grad};

graft_out graft_matmul(graft_graph *g, graft_out a, graft_out b, bool transpose_a, bool transpose_b)
{
    graft_out in[2] = {a, b};
    graftI_attr at[3] = {graftI_a_type("T", out_dt(a)), graftI_a_bool("transpose_a", transpose_a),
                         graftI_a_bool("transpose_b", transpose_b)};
    return graftI_o(graftI_make_op(g, "MatMul", "MatMul", in, 2, at, 3), 0);
}

/* ---- BiasAdd, BiasAddGrad ---------------------------------------------------- */

static const graftI_attr_spec bias_attrs[] = {{"T", GRAFTI_ATTR_TYPE, "float"},
                                              {"data_format", GRAFTI_ATTR_STRING, "NHWC"},
                                              {NULL, GRAFTI_ATTR_NONE, NULL}};

/* Channel axis for data_format: last (NHWC, "N...C") or 1 (NCHW, "NC..."); -1 if unknown format. */
static int bias_format(const graft_op *op, graft_status *st)
{
    const char *f = graftI_attr_s(op, "data_format", "NHWC");
    if (strcmp(f, "NHWC") == 0) return 0;
    if (strcmp(f, "NCHW") == 0) return 1;
    graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "attr data_format: unknown format (NHWC or NCHW vs \"%s\")",
                     f);
    return -1;
}

static graft_code bias_add_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    if ((rc = want_float(op, 0, "value", st)) || (rc = want_same_dtype(op, 0, 1, "value", "bias", st))) return rc;
    int fmt = bias_format(op, st);
    if (fmt < 0) return st->code;
    const graft_shape *x = graftI_in_shape(op, 0), *b = graftI_in_shape(op, 1);
    if ((rc = want_rank(x, 2, -1, "value", st)) || (rc = want_rank(b, 1, 1, "bias", st))) return rc;
    if (x->rank >= 0) {
        int64_t c = sdim(x, fmt ? 1 : x->rank - 1);
        if ((rc = want_dim_eq(c, sdim(b, 0), "bias: length differs from value's channel dimension", st)))
            return rc;
    }
    if ((rc = set_outs(op, 1, st))) return rc;
    op->out[0].dtype = graftI_in_dtype(op, 0);
    op->out[0].shape = *x;
    if (x->rank >= 0) {
        int cd = fmt ? 1 : x->rank - 1;
        if (op->out[0].shape.dims[cd] < 0) op->out[0].shape.dims[cd] = sdim(b, 0);
    }
    return GRAFT_OK;
}

/* Splits a tensor into [outer, C, inner] around the channel axis. */
static void bias_split(const graft_tensor *x, int fmt, int64_t *outer, int64_t *c, int64_t *inner)
{
    int cd = fmt ? 1 : x->rank - 1;
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < cd; d++) *outer *= x->dims[d];
    *c = x->dims[cd];
    for (int d = cd + 1; d < x->rank; d++) *inner *= x->dims[d];
}

#define BIAS_ADD_LOOP(T)                                                                                     \
    do {                                                                                                     \
        const T *xp = (const T *)x->data, *bp = (const T *)b->data;                                          \
        T *yp = (T *)y->data;                                                                                \
        for (int64_t o = 0; o < outer; o++)                                                                  \
            for (int64_t ci = 0; ci < c; ci++) {                                                             \
                T bv = bp[ci];                                                                               \
                int64_t base = (o * c + ci) * inner;                                                         \
                for (int64_t i = 0; i < inner; i++) yp[base + i] = xp[base + i] + bv;                        \
            }                                                                                                \
    } while (0)

static graft_code bias_add_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0], *b = k->in[1];
    int fmt = bias_format(k->op, k->st);
    if (fmt < 0) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "attr data_format: unknown format");
    if (x->rank < 2 || b->rank != 1)
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "value and bias: ranks (at least 2 and 1 vs %d and %d)",
                            x->rank, b->rank);
    int64_t outer, c, inner;
    bias_split(x, fmt, &outer, &c, &inner);
    if (b->dims[0] != c)
        return graftI_kfail(k, GRAFT_ERR_SHAPE,
                            "bias: length differs from value's channel dimension (%lld vs %lld)",
                            (long long)c, (long long)b->dims[0]);
    graft_tensor *y = graftI_out_reuse(k, 0, 0, x->dtype, x->dims, x->rank);
    if (!y) return knomem(k);
    if (x->dtype == GRAFT_DOUBLE)
        BIAS_ADD_LOOP(double);
    else
        BIAS_ADD_LOOP(float);
    return GRAFT_OK;
}

/* dbias = sum of dy over every axis but the channel axis (TF's BiasAddGrad). */
static graft_code bias_add_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    dx[0] = dy[0];
    graftI_attr at[2] = {graftI_a_type("T", out_dt(dy[0])),
                         graftI_a_str("data_format", graftI_attr_s(op, "data_format", "NHWC"))};
    dx[1] = graftI_o(graftI_make_op(g, "BiasAddGrad", "BiasAddGrad", &dy[0], 1, at, 2), 0);
    return gstatus(g);
}

static const graftI_op_def op_bias_add = {.name = "BiasAdd",
                                          .min_inputs = 2,
                                          .max_inputs = 2,
                                          .attrs = bias_attrs,
                                          .infer = bias_add_infer,
                                          .forward = bias_add_forward,
                                          .grad = bias_add_grad};

static graft_code bias_add_grad_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    if ((rc = want_float(op, 0, "out_backprop", st))) return rc;
    int fmt = bias_format(op, st);
    if (fmt < 0) return st->code;
    const graft_shape *x = graftI_in_shape(op, 0);
    if ((rc = want_rank(x, 2, -1, "out_backprop", st))) return rc;
    if ((rc = set_outs(op, 1, st))) return rc;
    op->out[0].dtype = graftI_in_dtype(op, 0);
    int64_t c = x->rank >= 0 ? sdim(x, fmt ? 1 : x->rank - 1) : -1;
    op->out[0].shape = graft_shape_make(1, &c);
    return GRAFT_OK;
}

static graft_code bias_add_grad_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    int fmt = bias_format(k->op, k->st);
    if (fmt < 0) return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "attr data_format: unknown format");
    if (x->rank < 2)
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "out_backprop: rank (at least 2 vs %d)", x->rank);
    int64_t outer, c, inner;
    bias_split(x, fmt, &outer, &c, &inner);
    graft_tensor *y = graftI_out_alloc(k, 0, x->dtype, &c, 1, false);
    if (!y) return knomem(k);
    double *acc = graftI_scratch(k, (size_t)(c ? c : 1) * sizeof(double));
    if (!acc) return knomem(k);
    memset(acc, 0, (size_t)c * sizeof(double));
    bool f64 = x->dtype == GRAFT_DOUBLE;
    /* Accumulate in double: float32 sums over a large batch lose digits. */
    for (int64_t o = 0; o < outer; o++)
        for (int64_t ci = 0; ci < c; ci++) {
            int64_t base = (o * c + ci) * inner;
            double s = 0;
            if (f64)
                for (int64_t i = 0; i < inner; i++) s += ((const double *)x->data)[base + i];
            else
                for (int64_t i = 0; i < inner; i++) s += ((const float *)x->data)[base + i];
            acc[ci] += s;
        }
    for (int64_t ci = 0; ci < c; ci++) st_(y->data, ci, acc[ci], f64);
    return GRAFT_OK;
}

static const graftI_op_def op_bias_add_grad = {.name = "BiasAddGrad",
                                               .min_inputs = 1,
                                               .max_inputs = 1,
                                               .attrs = bias_attrs,
                                               .infer = bias_add_grad_infer,
                                               .forward = bias_add_grad_forward,
                                               .grad = NULL};

graft_out graft_bias_add(graft_graph *g, graft_out x, graft_out bias)
{
    graft_out in[2] = {x, bias};
    graftI_attr at[2] = {graftI_a_type("T", out_dt(x)), graftI_a_str("data_format", "NHWC")};
    return graftI_o(graftI_make_op(g, "BiasAdd", "BiasAdd", in, 2, at, 2), 0);
}

/* ---- activations and their TF gradient ops ---------------------------------- */

static const graftI_attr_spec t_attrs[] = {{"T", GRAFTI_ATTR_TYPE, "float"}, {NULL, GRAFTI_ATTR_NONE, NULL}};

static graft_code unary_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    if ((rc = want_float(op, 0, "features", st))) return rc;
    if ((rc = set_outs(op, 1, st))) return rc;
    op->out[0].dtype = graftI_in_dtype(op, 0);
    op->out[0].shape = *graftI_in_shape(op, 0);
    return GRAFT_OK;
}

enum act_kind { ACT_RELU, ACT_RELU6, ACT_SIGMOID, ACT_TANH };

static graft_code act_forward(graftI_kctx *k, enum act_kind kind)
{
    const graft_tensor *x = k->in[0];
    if (!is_float(x->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE, "features: float32 or float64 expected (vs %s)",
                            dtname(x->dtype));
    graft_tensor *y = graftI_out_reuse(k, 0, 0, x->dtype, x->dims, x->rank);
    if (!y) return knomem(k);
    int64_t n = x->n;
    if (x->dtype == GRAFT_FLOAT) {
        switch (kind) {
        case ACT_RELU: UNARY_LOOP(float, n, x->data, y->data, v > 0 ? v : 0.0f); break;
        case ACT_RELU6: UNARY_LOOP(float, n, x->data, y->data, v > 0 ? (v < 6 ? v : 6.0f) : 0.0f); break;
        case ACT_SIGMOID: UNARY_LOOP(float, n, x->data, y->data, 1.0f / (1.0f + GEXP(-v))); break;
        case ACT_TANH: UNARY_LOOP(float, n, x->data, y->data, GTANH(v)); break;
        }
    } else {
        switch (kind) {
        case ACT_RELU: UNARY_LOOP(double, n, x->data, y->data, v > 0 ? v : 0.0); break;
        case ACT_RELU6: UNARY_LOOP(double, n, x->data, y->data, v > 0 ? (v < 6 ? v : 6.0) : 0.0); break;
        case ACT_SIGMOID: UNARY_LOOP(double, n, x->data, y->data, 1.0 / (1.0 + GEXP(-v))); break;
        case ACT_TANH: UNARY_LOOP(double, n, x->data, y->data, GTANH(v)); break;
        }
    }
    return GRAFT_OK;
}

static graft_code relu_forward(graftI_kctx *k) { return act_forward(k, ACT_RELU); }
static graft_code relu6_forward(graftI_kctx *k) { return act_forward(k, ACT_RELU6); }
static graft_code sigmoid_forward(graftI_kctx *k) { return act_forward(k, ACT_SIGMOID); }
static graft_code tanh_forward(graftI_kctx *k) { return act_forward(k, ACT_TANH); }

/* Gradients as TF builds them: ReluGrad(dy, y), Relu6Grad(dy, x),
 * SigmoidGrad(y, dy), TanhGrad(y, dy). */
static graft_code relu_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out in[2] = {dy[0], graftI_o(op, 0)};
    dx[0] = make1(g, "ReluGrad", in, 2, out_dt(dy[0]));
    return gstatus(g);
}
static graft_code relu6_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out in[2] = {dy[0], op->in[0]};
    dx[0] = make1(g, "Relu6Grad", in, 2, out_dt(dy[0]));
    return gstatus(g);
}
static graft_code sigmoid_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out in[2] = {graftI_o(op, 0), dy[0]};
    dx[0] = make1(g, "SigmoidGrad", in, 2, out_dt(dy[0]));
    return gstatus(g);
}
static graft_code tanh_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out in[2] = {graftI_o(op, 0), dy[0]};
    dx[0] = make1(g, "TanhGrad", in, 2, out_dt(dy[0]));
    return gstatus(g);
}

static const graftI_op_def op_relu = {.name = "Relu",
                                      .min_inputs = 1,
                                      .max_inputs = 1,
                                      .attrs = t_attrs,
                                      .infer = unary_infer,
                                      .forward = relu_forward,
                                      .grad = relu_grad};
static const graftI_op_def op_relu6 = {.name = "Relu6",
                                       .min_inputs = 1,
                                       .max_inputs = 1,
                                       .attrs = t_attrs,
                                       .infer = unary_infer,
                                       .forward = relu6_forward,
                                       .grad = relu6_grad};
static const graftI_op_def op_sigmoid = {.name = "Sigmoid",
                                         .min_inputs = 1,
                                         .max_inputs = 1,
                                         .attrs = t_attrs,
                                         .infer = unary_infer,
                                         .forward = sigmoid_forward,
                                         .grad = sigmoid_grad};
static const graftI_op_def op_tanh = {.name = "Tanh",
                                      .min_inputs = 1,
                                      .max_inputs = 1,
                                      .attrs = t_attrs,
                                      .infer = unary_infer,
                                      .forward = tanh_forward,
                                      .grad = tanh_grad};

/* The gradient ops take two same-shaped inputs; the output has their shape. */
static graft_code act_grad_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    if ((rc = want_float(op, 0, "input 0", st)) || (rc = want_same_dtype(op, 0, 1, "input 0", "input 1", st)))
        return rc;
    const graft_shape *a = graftI_in_shape(op, 0), *b = graftI_in_shape(op, 1);
    if (!graftI_shape_compatible(a, b)) {
        char sa[64], sb[64];
        return graft_status_set(st, GRAFT_ERR_SHAPE, "input 1: shape differs from input 0's (%s vs %s)",
                                graft_shape_str(a, sa, sizeof sa), graft_shape_str(b, sb, sizeof sb));
    }
    if ((rc = set_outs(op, 1, st))) return rc;
    op->out[0].dtype = graftI_in_dtype(op, 0);
    op->out[0].shape = merge_shape(a, b);
    return GRAFT_OK;
}

static graft_code act_grad_forward(graftI_kctx *k, enum act_kind kind)
{
    const graft_tensor *t0 = k->in[0], *t1 = k->in[1];
    if (!is_float(t0->dtype) || t0->dtype != t1->dtype)
        return graftI_kfail(k, GRAFT_ERR_DTYPE,
                            "inputs: float32 or float64 of one dtype expected (vs %s and %s)",
                            dtname(t0->dtype), dtname(t1->dtype));
    if (!same_shape(t0, t1)) return graftI_kfail(k, GRAFT_ERR_SHAPE, "inputs: shapes differ");
    graft_tensor *y = graftI_out_alloc(k, 0, t0->dtype, t0->dims, t0->rank, false);
    if (!y) return knomem(k);
    int64_t n = t0->n;
    /* ReluGrad(g, f) = g·[f>0]; Relu6Grad(g, f) = g·[0<f<6];
     * SigmoidGrad(y, g) = g·y(1-y); TanhGrad(y, g) = g·(1-y²). */
    if (t0->dtype == GRAFT_FLOAT) {
        switch (kind) {
        case ACT_RELU: BINARY_LOOP(float, n, t0->data, t1->data, y->data, b > 0 ? a : 0.0f); break;
        case ACT_RELU6:
            BINARY_LOOP(float, n, t0->data, t1->data, y->data, (b > 0 && b < 6) ? a : 0.0f);
            break;
        case ACT_SIGMOID: BINARY_LOOP(float, n, t0->data, t1->data, y->data, b *a *(1.0f - a)); break;
        case ACT_TANH: BINARY_LOOP(float, n, t0->data, t1->data, y->data, b *(1.0f - a * a)); break;
        }
    } else {
        switch (kind) {
        case ACT_RELU: BINARY_LOOP(double, n, t0->data, t1->data, y->data, b > 0 ? a : 0.0); break;
        case ACT_RELU6:
            BINARY_LOOP(double, n, t0->data, t1->data, y->data, (b > 0 && b < 6) ? a : 0.0);
            break;
        case ACT_SIGMOID: BINARY_LOOP(double, n, t0->data, t1->data, y->data, b *a *(1.0 - a)); break;
        case ACT_TANH: BINARY_LOOP(double, n, t0->data, t1->data, y->data, b *(1.0 - a * a)); break;
        }
    }
    return GRAFT_OK;
}

static graft_code relu_grad_forward(graftI_kctx *k) { return act_grad_forward(k, ACT_RELU); }
static graft_code relu6_grad_forward(graftI_kctx *k) { return act_grad_forward(k, ACT_RELU6); }
static graft_code sigmoid_grad_forward(graftI_kctx *k) { return act_grad_forward(k, ACT_SIGMOID); }
static graft_code tanh_grad_forward(graftI_kctx *k) { return act_grad_forward(k, ACT_TANH); }

/* Second-order gradients through these are not provided (grad NULL: autodiff
 * reports "no gradient" if a path needs one). */
static const graftI_op_def op_relu_grad = {.name = "ReluGrad",
                                           .min_inputs = 2,
                                           .max_inputs = 2,
                                           .attrs = t_attrs,
                                           .infer = act_grad_infer,
                                           .forward = relu_grad_forward};
static const graftI_op_def op_relu6_grad = {.name = "Relu6Grad",
                                            .min_inputs = 2,
                                            .max_inputs = 2,
                                            .attrs = t_attrs,
                                            .infer = act_grad_infer,
                                            .forward = relu6_grad_forward};
static const graftI_op_def op_sigmoid_grad = {.name = "SigmoidGrad",
                                              .min_inputs = 2,
                                              .max_inputs = 2,
                                              .attrs = t_attrs,
                                              .infer = act_grad_infer,
                                              .forward = sigmoid_grad_forward};
static const graftI_op_def op_tanh_grad = {.name = "TanhGrad",
                                           .min_inputs = 2,
                                           .max_inputs = 2,
                                           .attrs = t_attrs,
                                           .infer = act_grad_infer,
                                           .forward = tanh_grad_forward};

graft_out graft_relu(graft_graph *g, graft_out x) { return make1(g, "Relu", &x, 1, out_dt(x)); }
graft_out graft_relu6(graft_graph *g, graft_out x) { return make1(g, "Relu6", &x, 1, out_dt(x)); }
graft_out graft_sigmoid(graft_graph *g, graft_out x) { return make1(g, "Sigmoid", &x, 1, out_dt(x)); }
graft_out graft_tanh(graft_graph *g, graft_out x) { return make1(g, "Tanh", &x, 1, out_dt(x)); }

/* ---- Softmax, LogSoftmax ------------------------------------------------------- */

static graft_code softmax_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    if ((rc = want_float(op, 0, "logits", st))) return rc;
    if ((rc = want_rank(graftI_in_shape(op, 0), 1, -1, "logits", st))) return rc;
    if ((rc = set_outs(op, 1, st))) return rc;
    op->out[0].dtype = graftI_in_dtype(op, 0);
    op->out[0].shape = *graftI_in_shape(op, 0);
    return GRAFT_OK;
}

/* Row-wise over the last axis with the row max subtracted first:
 * softmax = e^(x-m) / Σe^(x-m); log_softmax = (x-m) - log Σe^(x-m). */
static graft_code softmax_common(graftI_kctx *k, bool log_)
{
    const graft_tensor *x = k->in[0];
    if (!is_float(x->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE, "logits: float32 or float64 expected (vs %s)",
                            dtname(x->dtype));
    if (x->rank < 1) return graftI_kfail(k, GRAFT_ERR_SHAPE, "logits: rank (at least 1 vs 0)");
    graft_tensor *y = graftI_out_reuse(k, 0, 0, x->dtype, x->dims, x->rank);
    if (!y) return knomem(k);
    int64_t c = x->dims[x->rank - 1];
    if (c == 0) return GRAFT_OK;
    int64_t rows = x->n / c;
    bool f64 = x->dtype == GRAFT_DOUBLE;
    for (int64_t r = 0; r < rows; r++) {
        int64_t o = r * c;
        double m = ld(x->data, o, f64);
        for (int64_t j = 1; j < c; j++) {
            double v = ld(x->data, o + j, f64);
            if (v > m) m = v;
        }
        double s = 0;
        for (int64_t j = 0; j < c; j++) s += exp(ld(x->data, o + j, f64) - m);
        if (log_) {
            double ls = log(s);
            for (int64_t j = 0; j < c; j++) st_(y->data, o + j, ld(x->data, o + j, f64) - m - ls, f64);
        } else {
            double inv = 1.0 / s;
            for (int64_t j = 0; j < c; j++) st_(y->data, o + j, exp(ld(x->data, o + j, f64) - m) * inv, f64);
        }
    }
    return GRAFT_OK;
}

static graft_code softmax_forward(graftI_kctx *k) { return softmax_common(k, false); }
static graft_code log_softmax_forward(graftI_kctx *k) { return softmax_common(k, true); }

/* Sum over the last axis keeping it (the reductions below need its index). */
static graft_out sum_last_keep(graft_graph *g, graft_out x)
{
    if (!x.op) return x;
    graft_shape s = graft_out_shape(x);
    int32_t ax = s.rank >= 1 ? s.rank - 1 : -1;
    return graft_sum(g, x, &ax, 1, true);
}

/* TF's _SoftmaxGrad: dx = (dy - Σ(dy·y)) · y. */
static graft_out softmax_backprop(graft_graph *g, graft_out dy, graft_out y)
{
    return graft_mul(g, graft_sub(g, dy, sum_last_keep(g, graft_mul(g, dy, y))), y);
}

static graft_code softmax_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    dx[0] = softmax_backprop(g, dy[0], graftI_o(op, 0));
    return gstatus(g);
}

/* TF's _LogSoftmaxGrad: dx = dy - Σdy · e^y. */
static graft_code log_softmax_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    dx[0] = graft_sub(g, dy[0], graft_mul(g, sum_last_keep(g, dy[0]), graft_exp(g, graftI_o(op, 0))));
    return gstatus(g);
}

static const graftI_op_def op_softmax = {.name = "Softmax",
                                         .min_inputs = 1,
                                         .max_inputs = 1,
                                         .attrs = t_attrs,
                                         .infer = softmax_infer,
                                         .forward = softmax_forward,
                                         .grad = softmax_grad};
static const graftI_op_def op_log_softmax = {.name = "LogSoftmax",
                                             .min_inputs = 1,
                                             .max_inputs = 1,
                                             .attrs = t_attrs,
                                             .infer = softmax_infer,
                                             .forward = log_softmax_forward,
                                             .grad = log_softmax_grad};

graft_out graft_softmax(graft_graph *g, graft_out logits)
{
    return make1(g, "Softmax", &logits, 1, out_dt(logits));
}
graft_out graft_log_softmax(graft_graph *g, graft_out logits)
{
    return make1(g, "LogSoftmax", &logits, 1, out_dt(logits));
}

/* ---- softmax cross-entropies ------------------------------------------------------ */

static graft_code xent_outputs(graft_op *op, graft_status *st)
{
    graft_code rc;
    if ((rc = set_outs(op, 2, st))) return rc;
    const graft_shape *x = graftI_in_shape(op, 0);
    int64_t b = sdim(x, 0), c = sdim(x, 1);
    int64_t d[2] = {b, c};
    op->out[0].dtype = op->out[1].dtype = graftI_in_dtype(op, 0);
    op->out[0].shape = graft_shape_make(1, d);
    op->out[1].shape = graft_shape_make(2, d);
    return GRAFT_OK;
}

static graft_code xent_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    if ((rc = want_float(op, 0, "features", st)) || (rc = want_same_dtype(op, 0, 1, "features", "labels", st)))
        return rc;
    const graft_shape *x = graftI_in_shape(op, 0), *l = graftI_in_shape(op, 1);
    if ((rc = want_rank(x, 2, 2, "features", st)) || (rc = want_rank(l, 2, 2, "labels", st))) return rc;
    if (!graftI_shape_compatible(x, l)) {
        char sa[64], sb[64];
        return graft_status_set(st, GRAFT_ERR_SHAPE, "labels: shape differs from features' (%s vs %s)",
                                graft_shape_str(x, sa, sizeof sa), graft_shape_str(l, sb, sizeof sb));
    }
    if ((rc = xent_outputs(op, st))) return rc;
    graft_shape m = merge_shape(x, l);
    if (m.rank == 2) {
        op->out[0].shape.dims[0] = m.dims[0];
        op->out[1].shape = m;
    }
    return GRAFT_OK;
}

/* One row: m = max x, s = Σe^(x-m); loss = Σ labels·(log s - (x-m)),
 * backprop = e^(x-m)/s - labels. label_at(j) gives the label of class j. */
static graft_code xent_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0], *l = k->in[1];
    if (!is_float(x->dtype) || x->dtype != l->dtype)
        return graftI_kfail(k, GRAFT_ERR_DTYPE,
                            "features and labels: float32 or float64 of one dtype (vs %s and %s)",
                            dtname(x->dtype), dtname(l->dtype));
    if (x->rank != 2)
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "features: must be 2-dimensional (rank 2 vs %d)", x->rank);
    if (!same_shape(x, l))
        return graftI_kfail(k, GRAFT_ERR_SHAPE,
                            "labels: shape differs from features' ([%lld,%lld] vs rank %d)",
                            (long long)x->dims[0], (long long)x->dims[1], l->rank);
    int64_t b = x->dims[0], c = x->dims[1];
    graft_tensor *loss = graftI_out_alloc(k, 0, x->dtype, &b, 1, false);
    if (!loss) return knomem(k);
    graft_tensor *bp = graftI_out_alloc(k, 1, x->dtype, x->dims, 2, false);
    if (!bp) return knomem(k);
    bool f64 = x->dtype == GRAFT_DOUBLE;
    for (int64_t r = 0; r < b; r++) {
        int64_t o = r * c;
        double m = c ? ld(x->data, o, f64) : 0;
        for (int64_t j = 1; j < c; j++) {
            double v = ld(x->data, o + j, f64);
            if (v > m) m = v;
        }
        double s = 0;
        for (int64_t j = 0; j < c; j++) s += exp(ld(x->data, o + j, f64) - m);
        double ls = log(s), inv = 1.0 / s, acc = 0;
        for (int64_t j = 0; j < c; j++) {
            double z = ld(x->data, o + j, f64) - m, lab = ld(l->data, o + j, f64);
            acc += lab * (ls - z);
            st_(bp->data, o + j, exp(z) * inv - lab, f64);
        }
        st_(loss->data, r, acc, f64);
    }
    return GRAFT_OK;
}

/* dy[:, None] · t, the broadcast product TF's _BroadcastMul makes. */
static graft_out broadcast_mul(graft_graph *g, graft_out vec, graft_out t)
{
    return graft_mul(g, graft_expand_dims(g, vec, 1), t);
}

/* The term from a gradient reaching output 1 (backprop = softmax - labels):
 * (gg - Σ(gg·softmax)) · softmax, with softmax recomputed from the logits. */
static graft_out xent_grad_grad(graft_graph *g, graft_out gg, graft_out logits)
{
    return softmax_backprop(g, gg, graft_softmax(g, logits));
}

/* A labels input that can carry no gradient (constant, or explicitly stopped),
 * for which the labels gradient subgraph is not built. */
static bool grad_blocked(graft_out in)
{
    const char *t = in.op ? in.op->type : NULL;
    return !t || strcmp(t, "Const") == 0 || strcmp(t, "StopGradient") == 0 ||
           strcmp(t, "PreventGradient") == 0;
}

/* TF's _SoftmaxCrossEntropyWithLogitsGrad, reusing output 1:
 * dlogits = backprop · dloss[:,None] (+ the softmax-backprop of a gradient gg
 * reaching output 1); dlabels = -log_softmax(logits) · dloss[:,None] - gg. */
static graft_code xent_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    graft_out logits = op->in[0];
    graft_out dl = {NULL, 0};
    if (dy[0].op) dl = broadcast_mul(g, dy[0], graftI_o(op, 1));
    if (dy[1].op) {
        graft_out t = xent_grad_grad(g, dy[1], logits);
        dl = dl.op ? graft_add_v2(g, dl, t) : t;
    }
    dx[0] = dl;
    if (grad_blocked(op->in[1])) return gstatus(g);
    /* labels: -log_softmax · dloss[:,None] (TF), plus -gg from output 1 = softmax -
     * labels, which TF's builder omits */
    graft_out dlab = {NULL, 0};
    if (dy[0].op) dlab = broadcast_mul(g, dy[0], graft_neg(g, graft_log_softmax(g, logits)));
    if (dy[1].op) {
        graft_out t = graft_neg(g, dy[1]);
        dlab = dlab.op ? graft_add_v2(g, dlab, t) : t;
    }
    dx[1] = dlab;
    return gstatus(g);
}

static const graftI_op_def op_xent = {.name = "SoftmaxCrossEntropyWithLogits",
                                      .min_inputs = 2,
                                      .max_inputs = 2,
                                      .attrs = t_attrs,
                                      .infer = xent_infer,
                                      .forward = xent_forward,
                                      .grad = xent_grad};

static const graftI_attr_spec sparse_xent_attrs[] = {
    {"T", GRAFTI_ATTR_TYPE, "float"}, {"Tlabels", GRAFTI_ATTR_TYPE, "int64"}, {NULL, GRAFTI_ATTR_NONE, NULL}};

static graft_code sparse_xent_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    if ((rc = want_float(op, 0, "features", st))) return rc;
    graft_dtype lt = graftI_in_dtype(op, 1);
    if (lt != GRAFT_INT32 && lt != GRAFT_INT64)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "labels: unsupported dtype (int32 or int64 vs %s)",
                                dtname(lt));
    graft_dtype at = graftI_attr_dt(op, "Tlabels", lt);
    if (at != lt)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "labels: dtype differs from attr Tlabels (%s vs %s)",
                                dtname(at), dtname(lt));
    const graft_shape *x = graftI_in_shape(op, 0), *l = graftI_in_shape(op, 1);
    if ((rc = want_rank(x, 2, 2, "features", st)) || (rc = want_rank(l, 1, 1, "labels", st))) return rc;
    if ((rc = want_dim_eq(sdim(x, 0), sdim(l, 0), "labels: length differs from features' batch dimension",
                          st)))
        return rc;
    if ((rc = xent_outputs(op, st))) return rc;
    if (op->out[0].shape.dims[0] < 0) op->out[0].shape.dims[0] = op->out[1].shape.dims[0] = sdim(l, 0);
    return GRAFT_OK;
}

static graft_code sparse_xent_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0], *l = k->in[1];
    if (!is_float(x->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE, "features: float32 or float64 (vs %s)", dtname(x->dtype));
    if (l->dtype != GRAFT_INT32 && l->dtype != GRAFT_INT64)
        return graftI_kfail(k, GRAFT_ERR_DTYPE, "labels: int32 or int64 (vs %s)", dtname(l->dtype));
    if (x->rank != 2)
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "features: must be 2-dimensional (rank 2 vs %d)", x->rank);
    if (l->rank != 1 || l->dims[0] != x->dims[0])
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "labels: must be a vector of the batch size (%lld vs %s%lld)",
                            (long long)x->dims[0], l->rank == 1 ? "" : "rank ",
                            (long long)(l->rank == 1 ? l->dims[0] : l->rank));
    int64_t b = x->dims[0], c = x->dims[1];
    /* Check every label before writing anything (TF reports the bad index). */
    for (int64_t r = 0; r < b; r++) {
        int64_t lab = l->dtype == GRAFT_INT32 ? ((const int32_t *)l->data)[r] : ((const int64_t *)l->data)[r];
        if (lab < 0 || lab >= c)
            return graftI_kfail(k, GRAFT_ERR_INVALID_ARG,
                                "labels[%lld]: label value outside the valid range [0, %lld) (%lld)",
                                (long long)r, (long long)c, (long long)lab);
    }
    graft_tensor *loss = graftI_out_alloc(k, 0, x->dtype, &b, 1, false);
    if (!loss) return knomem(k);
    graft_tensor *bp = graftI_out_alloc(k, 1, x->dtype, x->dims, 2, false);
    if (!bp) return knomem(k);
    bool f64 = x->dtype == GRAFT_DOUBLE;
    for (int64_t r = 0; r < b; r++) {
        int64_t lab = l->dtype == GRAFT_INT32 ? ((const int32_t *)l->data)[r] : ((const int64_t *)l->data)[r];
        int64_t o = r * c;
        double m = ld(x->data, o, f64);
        for (int64_t j = 1; j < c; j++) {
            double v = ld(x->data, o + j, f64);
            if (v > m) m = v;
        }
        double s = 0;
        for (int64_t j = 0; j < c; j++) s += exp(ld(x->data, o + j, f64) - m);
        double ls = log(s), inv = 1.0 / s;
        for (int64_t j = 0; j < c; j++) {
            double z = ld(x->data, o + j, f64) - m;
            st_(bp->data, o + j, exp(z) * inv - (j == lab ? 1.0 : 0.0), f64);
        }
        /* loss = log s - (x[label] - m) */
        st_(loss->data, r, ls - (ld(x->data, o + lab, f64) - m), f64);
    }
    return GRAFT_OK;
}

static graft_code sparse_xent_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    graft_out dl = {NULL, 0};
    if (dy[0].op) dl = broadcast_mul(g, dy[0], graftI_o(op, 1));
    if (dy[1].op) {
        graft_out t = xent_grad_grad(g, dy[1], op->in[0]);
        dl = dl.op ? graft_add_v2(g, dl, t) : t;
    }
    dx[0] = dl; /* integer labels get no gradient */
    return gstatus(g);
}

static const graftI_op_def op_sparse_xent = {.name = "SparseSoftmaxCrossEntropyWithLogits",
                                             .min_inputs = 2,
                                             .max_inputs = 2,
                                             .attrs = sparse_xent_attrs,
                                             .infer = sparse_xent_infer,
                                             .forward = sparse_xent_forward,
                                             .grad = sparse_xent_grad};

graft_out graft_softmax_cross_entropy_with_logits(graft_graph *g, graft_out logits, graft_out labels)
{
    graft_out in[2] = {logits, labels};
    return make1(g, "SoftmaxCrossEntropyWithLogits", in, 2, out_dt(logits));
}

graft_out graft_sparse_softmax_cross_entropy_with_logits(graft_graph *g, graft_out logits, graft_out labels)
{
    graft_out in[2] = {logits, labels};
    graftI_attr at[2] = {graftI_a_type("T", out_dt(logits)), graftI_a_type("Tlabels", out_dt(labels))};
    return graftI_o(graftI_make_op(g, "SparseSoftmaxCrossEntropyWithLogits",
                                   "SparseSoftmaxCrossEntropyWithLogits", in, 2, at, 2),
                    0);
}

const graftI_op_def *const graftI_ops_nn[] = {
    &op_matmul,      &op_bias_add,     &op_bias_add_grad, &op_relu,
    &op_relu6,       &op_sigmoid,      &op_tanh,          &op_relu_grad,
    &op_relu6_grad,  &op_sigmoid_grad, &op_tanh_grad,     &op_softmax,
    &op_log_softmax, &op_xent,         &op_sparse_xent,   NULL};
