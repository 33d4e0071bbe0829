/* lib/ops/op_extra.c - ops real TF1 graphs use beyond the core groups: Elu, Selu,
 * Softplus, Softsign, LeakyRelu (+ their TF gradient ops), L2Loss, OneHot,
 * Gather/GatherV2 (gradient densified as UnsortedSegmentSum), UnsortedSegmentSum,
 * SelectV2 (three-way broadcasting) and SplitV; defs, inference, kernels, grads. */
#include <math.h>
#include <stdio.h>

#include "bcast.h"

/* ---- shared helpers ------------------------------------------------------------ */

static const char *dtname(graft_dtype dt)
{
    const char *s = graft_dtype_name(dt);
    return s ? s : "invalid";
}

static graft_dtype out_dt(graft_out o) { return o.op ? graft_out_dtype(o) : GRAFT_INVALID; }

static graft_code knomem(graftI_kctx *k)
{
    return k->st->code ? k->st->code : graftI_kfail(k, GRAFT_ERR_NOMEM, "out of memory");
}

static graft_code set_outs(graft_op *op, int n, graft_status *st)
{
    graft_code rc = graftI_set_outputs(op, n);
    if (rc != GRAFT_OK) return graft_status_set(st, rc, "out of memory setting outputs");
    return GRAFT_OK;
}

/* Element types that can be moved as plain bytes (1, 2, 4 or 8 of them). */
static bool movable(graft_dtype dt)
{
    size_t es = graft_dtype_size(dt);
    return dt != GRAFT_STRING && (es == 1 || es == 2 || es == 4 || es == 8);
}

/* Attr `name` (when present) must equal input i's dtype. */
static graft_code want_attr_dt(const graft_op *op, const char *name, int i, const char *what,
                               graft_status *st)
{
    graft_dtype t = graftI_attr_dt(op, name, GRAFT_INVALID), in = graftI_in_dtype(op, i);
    if (t != GRAFT_INVALID && t != in)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "%s: dtype differs from attr %s (%s vs %s)", what, name,
                                dtname(t), dtname(in));
    return GRAFT_OK;
}

/* Input i must be float32/float64 and agree with attr T. */
static graft_code want_float(const graft_op *op, int i, const char *what, graft_status *st)
{
    graft_dtype dt = graftI_in_dtype(op, i);
    if (!graftI_is_float(dt))
        return graft_status_set(st, GRAFT_ERR_DTYPE, "%s: unsupported dtype (float32 or float64 vs %s)", what,
                                dtname(dt));
    return want_attr_dt(op, "T", i, what, st);
}

/* Input i must be int32/int64 and agree with attr `attr` (NULL: no attr). */
static graft_code want_index(const graft_op *op, int i, const char *attr, const char *what, graft_status *st)
{
    graft_dtype dt = graftI_in_dtype(op, i);
    if (!graftI_is_int_index(dt))
        return graft_status_set(st, GRAFT_ERR_DTYPE, "%s: unsupported dtype (int32 or int64 vs %s)", what,
                                dtname(dt));
    return attr ? want_attr_dt(op, attr, i, what, st) : GRAFT_OK;
}

/* Static shape s must have rank 0 when known (legacy_vec: [1] is accepted too). */
static graft_code want_scalar(const graft_shape *s, bool legacy_vec, const char *what, graft_status *st)
{
    if (s->rank <= 0) return GRAFT_OK;
    if (legacy_vec && s->rank == 1 && (s->dims[0] < 0 || s->dims[0] == 1)) return GRAFT_OK;
    char b[96];
    return graft_status_set(st, GRAFT_ERR_SHAPE, "%s: must be a scalar (rank 0 vs shape %s)", what,
                            graft_shape_str(s, b, sizeof b));
}

/* Element i of an int32/int64/uint8 tensor. */
static inline int64_t ival(const graft_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case GRAFT_INT32: return ((const int32_t *)t->data)[i];
    case GRAFT_INT64: return ((const int64_t *)t->data)[i];
    case GRAFT_UINT8: return ((const uint8_t *)t->data)[i];
    default: return 0;
    }
}

/* TF's SliceDebugString: the multi-index of flat element i of dims as "[1,2]"
 * ("" for a scalar), for error messages that name an element. */
static const char *index_str(const int64_t *dims, int rank, int64_t i, char *buf, size_t cap)
{
    int64_t idx[GRAFT_MAX_DIMS];
    for (int d = rank - 1; d >= 0; d--) {
        int64_t n = dims[d] > 0 ? dims[d] : 1;
        idx[d] = i % n;
        i /= n;
    }
    size_t used = 0;
    buf[0] = 0;
    if (rank == 0) return buf;
    for (int d = 0; d < rank && used + 1 < cap; d++) {
        int w = snprintf(buf + used, cap - used, "%s%lld", d ? "," : "[", (long long)idx[d]);
        if (w < 0) break;
        used += (size_t)w < cap - used ? (size_t)w : cap - used - 1;
    }
    if (used + 1 < cap) {
        buf[used++] = ']';
        buf[used] = 0;
    }
    return buf;
}

/* Product of dims[lo..hi) into *out; false on int64 overflow (possible when
 * another dim is 0, so the tensor itself is empty). */
static bool dims_prod(const int64_t *dims, int lo, int hi, int64_t *out)
{
    int64_t n = 1;
    for (int d = lo; d < hi; d++)
        if (!graftI_mul_i64(n, dims[d], &n)) return false;
    *out = n;
    return true;
}

static bool same_dims(const graft_tensor *a, const graft_tensor *b)
{
    if (a->rank != b->rank) return false;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

/* Merges two static shapes that must be compatible (known dims win). */
static graft_shape merge_shape(const graft_shape *a, const graft_shape *b)
{
    if (a->rank < 0) return *b;
    if (b->rank < 0 || a->rank != b->rank) return *a;
    graft_shape r = *a;
    for (int d = 0; d < r.rank; d++)
        if (r.dims[d] < 0) r.dims[d] = b->dims[d];
    return r;
}

static graft_out mk(graft_graph *g, const char *type, const char *dflt, const graft_out *in, int n,
                    const graftI_attr *at, int na)
{
    return graftI_o(graftI_make_op(g, type, dflt, in, n, at, na), 0);
}

/* Scalar int32 holding dim d of x: a Const when static, else
 * Reshape(Slice(Shape(x), [d], [1]), []). */
static graft_out dim_of(graft_graph *g, graft_out x, int d)
{
    graft_shape s = graft_out_shape(x);
    if (s.rank > d && s.dims[d] >= 0 && s.dims[d] <= INT32_MAX) return graft_const_i32(g, (int32_t)s.dims[d]);
    int32_t b = d, n = 1;
    graft_out sl = graft_slice(g, graft_shape_of(g, x), &b, &n, 1);
    return graft_reshape_dims(g, sl, NULL, 0);
}

/* ---- activations: Elu, Selu, Softplus, Softsign, LeakyRelu --------------------- */

enum act_kind { A_ELU, A_SELU, A_SOFTPLUS, A_SOFTSIGN, A_LEAKY };

/* Each def is the first member of its info record, so op->def leads back to it. */
typedef struct act_info {
    graftI_op_def def;
    enum act_kind kind;
} act_info;

static enum act_kind act_of(const graft_op *op) { return ((const act_info *)op->def)->kind; }

/* TF's SELU constants (scale, scale * alpha). */
#define SELU_SCALE       1.0507009873554804934193349852946
#define SELU_SCALE_ALPHA 1.7580993408473768599402175208123

static const graftI_attr_spec attrs_T[] = {{"T", GRAFTI_ATTR_TYPE, NULL}, {NULL, GRAFTI_ATTR_NONE, NULL}};
static const graftI_attr_spec attrs_leaky[] = {
    {"alpha", GRAFTI_ATTR_FLOAT, "0.2"}, {"T", GRAFTI_ATTR_TYPE, "float"}, {NULL, GRAFTI_ATTR_NONE, NULL}};

static graft_code act_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    if ((rc = want_float(op, 0, "features", st)) || (rc = set_outs(op, 1, st))) return rc;
    op->out[0].dtype = graftI_in_dtype(op, 0);
    op->out[0].shape = *graftI_in_shape(op, 0);
    return GRAFT_OK;
}

/* y[i] = EXPR(v = x[i]) over n elements of type T. */
#define ACT_LOOP(T, EXPR)                                                                                    \
    do {                                                                                                     \
        const T *xp_ = (const T *)x->data;                                                                   \
        T *yp_ = (T *)y->data;                                                                               \
        for (int64_t i_ = 0; i_ < n; i_++) {                                                                 \
            const T v = xp_[i_];                                                                             \
            yp_[i_] = (EXPR);                                                                                \
        }                                                                                                    \
    } while (0)

/* Softplus as TF computes it: x above -thr is x, below thr is e^x, else
 * log(1 + e^x), with thr = log(epsilon) + 2 of the dtype. */
static inline float softplus_f(float v)
{
    const float thr = -13.942385f; /* logf(FLT_EPSILON) + 2 */
    return v > -thr ? v : v < thr ? expf(v) : log1pf(expf(v));
}
static inline double softplus_d(double v)
{
    const double thr = -34.043653389117154; /* log(DBL_EPSILON) + 2 */
    return v > -thr ? v : v < thr ? exp(v) : log1p(exp(v));
}

static graft_code act_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    if (!graftI_is_float(x->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE, "features: float32 or float64 expected (vs %s)",
                            dtname(x->dtype));
    graft_tensor *y = graftI_out_reuse(k, 0, 0, x->dtype, x->dims, x->rank);
    if (!y) return knomem(k);
    const int64_t n = x->n;
    const double alpha = graftI_attr_f(k->op, "alpha", 0.2f);
    if (x->dtype == GRAFT_FLOAT) {
        const float fa = (float)alpha, fs = (float)SELU_SCALE, fsa = (float)SELU_SCALE_ALPHA;
        switch (act_of(k->op)) {
        case A_ELU: ACT_LOOP(float, v < 0 ? expm1f(v) : v); break;
        case A_SELU: ACT_LOOP(float, v < 0 ? fsa * expm1f(v) : fs * v); break;
        case A_SOFTPLUS: ACT_LOOP(float, softplus_f(v)); break;
        case A_SOFTSIGN: ACT_LOOP(float, v / (fabsf(v) + 1.0f)); break;
        case A_LEAKY: ACT_LOOP(float, v > 0 ? v : v * fa); break;
        }
    } else {
        switch (act_of(k->op)) {
        case A_ELU: ACT_LOOP(double, v < 0 ? expm1(v) : v); break;
        case A_SELU: ACT_LOOP(double, v < 0 ? SELU_SCALE_ALPHA * expm1(v) : SELU_SCALE * v); break;
        case A_SOFTPLUS: ACT_LOOP(double, softplus_d(v)); break;
        case A_SOFTSIGN: ACT_LOOP(double, v / (fabs(v) + 1.0)); break;
        case A_LEAKY: ACT_LOOP(double, v > 0 ? v : v * alpha); break;
        }
    }
    return GRAFT_OK;
}

/* Gradient ops as TF's nn_grad.py builds them: EluGrad(dy, y), SeluGrad(dy, y),
 * SoftplusGrad(dy, x), SoftsignGrad(dy, x), LeakyReluGrad(dy, x, alpha). */
static graft_code act_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    static const char *const types[] = {"EluGrad", "SeluGrad", "SoftplusGrad", "SoftsignGrad",
                                        "LeakyReluGrad"};
    enum act_kind kind = act_of(op);
    bool uses_y = kind == A_ELU || kind == A_SELU;
    graft_out in[2] = {dy[0], uses_y ? graftI_o(op, 0) : op->in[0]};
    graftI_attr at[2] = {graftI_a_type("T", out_dt(dy[0])),
                         graftI_a_float("alpha", graftI_attr_f(op, "alpha", 0.2f))};
    dx[0] = mk(g, types[kind], types[kind], in, 2, at, kind == A_LEAKY ? 2 : 1);
    return graft_graph_status(g);
}

/* The gradient ops take two same-shaped inputs; the output has their shape. */
static graft_code act_grad_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    if ((rc = want_float(op, 0, "gradients", st))) return rc;
    if (graftI_in_dtype(op, 1) != graftI_in_dtype(op, 0))
        return graft_status_set(st, GRAFT_ERR_DTYPE, "input 1: dtype differs from gradients' (%s vs %s)",
                                dtname(graftI_in_dtype(op, 0)), dtname(graftI_in_dtype(op, 1)));
    const graft_shape *a = graftI_in_shape(op, 0), *b = graftI_in_shape(op, 1);
    if (!graftI_shape_compatible(a, b)) {
        char sa[96], sb[96];
        return graft_status_set(st, GRAFT_ERR_SHAPE, "input 1: shape differs from gradients' (%s vs %s)",
                                graft_shape_str(a, sa, sizeof sa), graft_shape_str(b, sb, sizeof sb));
    }
    if ((rc = set_outs(op, 1, st))) return rc;
    op->out[0].dtype = graftI_in_dtype(op, 0);
    op->out[0].shape = merge_shape(a, b);
    return GRAFT_OK;
}

/* o[i] = EXPR(g = in0[i], f = in1[i]). */
#define GRAD_LOOP(T, EXPR)                                                                                   \
    do {                                                                                                     \
        const T *gp_ = (const T *)t0->data, *fp_ = (const T *)t1->data;                                      \
        T *op_ = (T *)o->data;                                                                               \
        for (int64_t i_ = 0; i_ < n; i_++) {                                                                 \
            const T g = gp_[i_], f = fp_[i_];                                                                \
            op_[i_] = (EXPR);                                                                                \
        }                                                                                                    \
    } while (0)

/* EluGrad(g, y) = y < 0 ? g·(y + 1) : g; SeluGrad(g, y) = y < 0 ? g·(y + s·a) : g·s;
 * SoftplusGrad(g, x) = g / (1 + e^-x); SoftsignGrad(g, x) = g / (1 + |x|)²;
 * LeakyReluGrad(g, x) = x > 0 ? g : g·alpha. */
static graft_code act_grad_forward(graftI_kctx *k)
{
    const graft_tensor *t0 = k->in[0], *t1 = k->in[1];
    if (!graftI_is_float(t0->dtype) || t0->dtype != t1->dtype)
        return graftI_kfail(k, GRAFT_ERR_DTYPE,
                            "inputs: float32 or float64 of one dtype expected (vs %s and %s)",
                            dtname(t0->dtype), dtname(t1->dtype));
    if (!same_dims(t0, t1)) {
        graft_shape s0 = graftI_tensor_shape(t0), s1 = graftI_tensor_shape(t1);
        char b0[96], b1[96];
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "input 1: shape differs from gradients' (%s vs %s)",
                            graft_shape_str(&s0, b0, sizeof b0), graft_shape_str(&s1, b1, sizeof b1));
    }
    graft_tensor *o = graftI_out_reuse(k, 0, 0, t0->dtype, t0->dims, t0->rank);
    if (!o) return knomem(k);
    const int64_t n = t0->n;
    const double alpha = graftI_attr_f(k->op, "alpha", 0.2f);
    const char *type = k->op->type;
    if (t0->dtype == GRAFT_FLOAT) {
        const float fa = (float)alpha, fs = (float)SELU_SCALE, fsa = (float)SELU_SCALE_ALPHA;
        if (strcmp(type, "EluGrad") == 0)
            GRAD_LOOP(float, f < 0 ? g * (f + 1.0f) : g);
        else if (strcmp(type, "SeluGrad") == 0)
            GRAD_LOOP(float, f < 0 ? g * (f + fsa) : g * fs);
        else if (strcmp(type, "SoftplusGrad") == 0)
            GRAD_LOOP(float, g / (expf(-f) + 1.0f));
        else if (strcmp(type, "SoftsignGrad") == 0)
            GRAD_LOOP(float, g / ((fabsf(f) + 1.0f) * (fabsf(f) + 1.0f)));
        else
            GRAD_LOOP(float, f > 0 ? g : g * fa);
    } else {
        if (strcmp(type, "EluGrad") == 0)
            GRAD_LOOP(double, f < 0 ? g * (f + 1.0) : g);
        else if (strcmp(type, "SeluGrad") == 0)
            GRAD_LOOP(double, f < 0 ? g * (f + SELU_SCALE_ALPHA) : g * SELU_SCALE);
        else if (strcmp(type, "SoftplusGrad") == 0)
            GRAD_LOOP(double, g / (exp(-f) + 1.0));
        else if (strcmp(type, "SoftsignGrad") == 0)
            GRAD_LOOP(double, g / ((fabs(f) + 1.0) * (fabs(f) + 1.0)));
        else
            GRAD_LOOP(double, f > 0 ? g : g * alpha);
    }
    return GRAFT_OK;
}

#define ACT(var, NAME, KIND, ATTRS)                                                                          \
    static const act_info var = {{NAME, 1, 1, ATTRS, 0, act_infer, act_forward, act_grad}, KIND};
ACT(op_elu, "Elu", A_ELU, attrs_T)
ACT(op_selu, "Selu", A_SELU, attrs_T)
ACT(op_softplus, "Softplus", A_SOFTPLUS, attrs_T)
ACT(op_softsign, "Softsign", A_SOFTSIGN, attrs_T)
ACT(op_leaky, "LeakyRelu", A_LEAKY, attrs_leaky)

/* Second-order gradients through these are not provided (grad NULL: autodiff
 * reports "no gradient" if a path needs one). */
#define ACT_GRAD(var, NAME, ATTRS)                                                                           \
    static const graftI_op_def var = {NAME, 2, 2, ATTRS, 0, act_grad_infer, act_grad_forward, NULL};
ACT_GRAD(op_elu_grad, "EluGrad", attrs_T)
ACT_GRAD(op_selu_grad, "SeluGrad", attrs_T)
ACT_GRAD(op_softplus_grad, "SoftplusGrad", attrs_T)
ACT_GRAD(op_softsign_grad, "SoftsignGrad", attrs_T)
ACT_GRAD(op_leaky_grad, "LeakyReluGrad", attrs_leaky)

static graft_out act1(graft_graph *g, const char *type, graft_out x)
{
    graftI_attr at = graftI_a_type("T", out_dt(x));
    return mk(g, type, type, &x, 1, &at, 1);
}
graft_out graft_elu(graft_graph *g, graft_out x) { return act1(g, "Elu", x); }
graft_out graft_selu(graft_graph *g, graft_out x) { return act1(g, "Selu", x); }
graft_out graft_softplus(graft_graph *g, graft_out x) { return act1(g, "Softplus", x); }
graft_out graft_softsign(graft_graph *g, graft_out x) { return act1(g, "Softsign", x); }
graft_out graft_leaky_relu(graft_graph *g, graft_out x, float alpha)
{
    graftI_attr at[2] = {graftI_a_float("alpha", alpha), graftI_a_type("T", out_dt(x))};
    return mk(g, "LeakyRelu", "LeakyRelu", &x, 1, at, 2);
}

/* ---- L2Loss --------------------------------------------------------------------- */

static graft_code l2_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    if ((rc = want_float(op, 0, "t", st)) || (rc = set_outs(op, 1, st))) return rc;
    op->out[0].dtype = graftI_in_dtype(op, 0);
    op->out[0].shape = graft_shape_make(0, NULL);
    return GRAFT_OK;
}

/* sum(t²) / 2, accumulated in double (float32 sums over many elements lose digits). */
static graft_code l2_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    if (!graftI_is_float(x->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE, "t: float32 or float64 expected (vs %s)", dtname(x->dtype));
    graft_tensor *y = graftI_out_alloc(k, 0, x->dtype, NULL, 0, false);
    if (!y) return knomem(k);
    double s = 0;
    if (x->dtype == GRAFT_FLOAT) {
        const float *p = x->data;
        for (int64_t i = 0; i < x->n; i++) s += (double)p[i] * (double)p[i];
        *(float *)y->data = (float)(s * 0.5);
    } else {
        const double *p = x->data;
        for (int64_t i = 0; i < x->n; i++) s += p[i] * p[i];
        *(double *)y->data = s * 0.5;
    }
    return GRAFT_OK;
}

/* TF's _L2LossGrad: t · dy (dy is a scalar). */
static graft_code l2_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    dx[0] = graft_mul(g, op->in[0], dy[0]);
    return graft_graph_status(g);
}

static const graftI_op_def op_l2loss = {.name = "L2Loss",
                                        .min_inputs = 1,
                                        .max_inputs = 1,
                                        .attrs = attrs_T,
                                        .infer = l2_infer,
                                        .forward = l2_forward,
                                        .grad = l2_grad};

graft_out graft_l2_loss(graft_graph *g, graft_out x) { return act1(g, "L2Loss", x); }

/* ---- OneHot --------------------------------------------------------------------- */

static const graftI_attr_spec attrs_onehot[] = {{"axis", GRAFTI_ATTR_INT, "-1"},
                                                {"T", GRAFTI_ATTR_TYPE, NULL},
                                                {"TI", GRAFTI_ATTR_TYPE, "int64"},
                                                {NULL, GRAFTI_ATTR_NONE, NULL}};

static bool onehot_index_dt(graft_dtype dt)
{
    return dt == GRAFT_UINT8 || dt == GRAFT_INT32 || dt == GRAFT_INT64;
}

static graft_code onehot_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    graft_dtype it = graftI_in_dtype(op, 0), t = graftI_in_dtype(op, 2);
    if (!onehot_index_dt(it))
        return graft_status_set(st, GRAFT_ERR_DTYPE,
                                "indices: unsupported dtype (uint8, int32 or int64 vs %s)", dtname(it));
    if ((rc = want_attr_dt(op, "TI", 0, "indices", st))) return rc;
    if (graftI_in_dtype(op, 1) != GRAFT_INT32)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "depth: unsupported dtype (int32 vs %s)",
                                dtname(graftI_in_dtype(op, 1)));
    if (graftI_in_dtype(op, 3) != t)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "off_value: dtype differs from on_value's (%s vs %s)",
                                dtname(t), dtname(graftI_in_dtype(op, 3)));
    if ((rc = want_attr_dt(op, "T", 2, "on_value", st))) return rc;
    if (!movable(t))
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "on_value: unsupported dtype %s", dtname(t));
    if ((rc = want_scalar(graftI_in_shape(op, 1), false, "depth", st)) ||
        (rc = want_scalar(graftI_in_shape(op, 2), false, "on_value", st)) ||
        (rc = want_scalar(graftI_in_shape(op, 3), false, "off_value", st)))
        return rc;
    const graft_shape *is = graftI_in_shape(op, 0);
    int64_t axis = graftI_attr_i(op, "axis", -1);
    if (axis < -1 || (is->rank >= 0 && axis > is->rank))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "attr axis: out of range (-1 or [0, %d] vs %lld)",
                                is->rank, (long long)axis);
    if (is->rank >= GRAFT_MAX_DIMS)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "indices: rank too large (at most %d vs %d)",
                                GRAFT_MAX_DIMS - 1, is->rank);
    int64_t depth = -1;
    const graft_tensor *dc = graftI_const_input(op, 1);
    if (dc && dc->n == 1) {
        depth = ival(dc, 0);
        if (depth < 0)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "depth: must be non-negative (>= 0 vs %lld)",
                                    (long long)depth);
    }
    if ((rc = set_outs(op, 1, st))) return rc;
    op->out[0].dtype = t;
    if (is->rank < 0) {
        op->out[0].shape = graft_shape_unknown();
        return GRAFT_OK;
    }
    int a = axis < 0 ? is->rank : (int)axis;
    graft_shape s = {is->rank + 1, {0}};
    for (int d = 0, j = 0; d < s.rank; d++) s.dims[d] = d == a ? depth : is->dims[j++];
    op->out[0].shape = s;
    return GRAFT_OK;
}

/* out[p, d, s] = indices[p, s] == d ? on : off over [prefix, depth, suffix]
 * (axis splits the indices' dims into prefix and suffix). Out-of-range
 * indices (negative or >= depth) give an all-off row, as TF's kernel does. */
#define ONEHOT_LOOP(T)                                                                                       \
    do {                                                                                                     \
        T on_, off_;                                                                                         \
        memcpy(&on_, on->data, sizeof on_);                                                                  \
        memcpy(&off_, off->data, sizeof off_);                                                               \
        T *o = (T *)y->data;                                                                                 \
        for (int64_t i_ = 0; i_ < y->n; i_++) o[i_] = off_;                                                  \
        for (int64_t p = 0; p < prefix; p++)                                                                 \
            for (int64_t s = 0; s < suffix; s++) {                                                           \
                int64_t v = ival(ind, p * suffix + s);                                                       \
                if (v >= 0 && v < depth) o[(p * depth + v) * suffix + s] = on_;                              \
            }                                                                                                \
    } while (0)

static graft_code onehot_forward(graftI_kctx *k)
{
    const graft_tensor *ind = k->in[0], *dt = k->in[1], *on = k->in[2], *off = k->in[3];
    if (!onehot_index_dt(ind->dtype) || dt->dtype != GRAFT_INT32 || on->dtype != off->dtype ||
        !movable(on->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE,
                            "inputs: dtypes (indices uint8/int32/int64, depth int32, "
                            "on/off one fixed-size dtype vs %s, %s, %s, %s)",
                            dtname(ind->dtype), dtname(dt->dtype), dtname(on->dtype), dtname(off->dtype));
    if (dt->rank != 0)
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "depth: must be a scalar (rank 0 vs %d)", dt->rank);
    if (on->rank != 0)
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "on_value: must be a scalar (rank 0 vs %d)", on->rank);
    if (off->rank != 0)
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "off_value: must be a scalar (rank 0 vs %d)", off->rank);
    int64_t depth = ival(dt, 0), axis = graftI_attr_i(k->op, "axis", -1);
    if (depth < 0)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "depth: must be non-negative (>= 0 vs %lld)",
                            (long long)depth);
    if (axis < -1 || axis > ind->rank)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "attr axis: out of range (-1 or [0, %d] vs %lld)",
                            ind->rank, (long long)axis);
    if (ind->rank >= GRAFT_MAX_DIMS)
        return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "indices: rank too large (at most %d vs %d)",
                            GRAFT_MAX_DIMS - 1, ind->rank);
    int a = axis < 0 ? ind->rank : (int)axis;
    int64_t od[GRAFT_MAX_DIMS], prefix = 1, suffix = 1, total;
    for (int d = 0, j = 0; d <= ind->rank; d++) od[d] = d == a ? depth : ind->dims[j++];
    if (!dims_prod(ind->dims, 0, a, &prefix) || !dims_prod(ind->dims, a, ind->rank, &suffix) ||
        !graftI_mul_i64(ind->n, depth, &total))
        return graftI_kfail(k, GRAFT_ERR_NOMEM, "output: element count overflows (%lld x %lld)",
                            (long long)ind->n, (long long)depth);
    graft_tensor *y = graftI_out_alloc(k, 0, on->dtype, od, ind->rank + 1, false);
    if (!y) return knomem(k);
    switch (graft_dtype_size(on->dtype)) {
    case 1: ONEHOT_LOOP(uint8_t); break;
    case 2: ONEHOT_LOOP(uint16_t); break;
    case 4: ONEHOT_LOOP(uint32_t); break;
    default: ONEHOT_LOOP(uint64_t); break;
    }
    return GRAFT_OK;
}

static const graftI_op_def op_onehot = {.name = "OneHot",
                                        .min_inputs = 4,
                                        .max_inputs = 4,
                                        .attrs = attrs_onehot,
                                        .flags = GRAFTI_OP_NO_GRAD,
                                        .infer = onehot_infer,
                                        .forward = onehot_forward,
                                        .grad = NULL};

/* A scalar Const of dtype dt holding v (float, double, ints, uint8, bool). */
static graft_out scalar_const(graft_graph *g, graft_dtype dt, double v)
{
    if (!g) return graftI_o(NULL, 0);
    if (dt == GRAFT_BOOL) v = v != 0;
    return graftI_gb_scalar(g, dt, v);
}

graft_out graft_one_hot(graft_graph *g, graft_out indices, int32_t depth, double on_value, double off_value,
                        int axis, graft_dtype dt)
{
    if (!indices.op) return indices;
    graft_out in[4] = {indices, graft_const_i32(g, depth), scalar_const(g, dt, on_value),
                       scalar_const(g, dt, off_value)};
    graftI_attr at[3] = {graftI_a_int("axis", axis), graftI_a_type("T", dt),
                         graftI_a_type("TI", out_dt(indices))};
    return mk(g, "OneHot", "one_hot", in, 4, at, 3);
}

/* ---- Gather, GatherV2 ----------------------------------------------------------- */

static const graftI_attr_spec attrs_gather[] = {{"validate_indices", GRAFTI_ATTR_BOOL, "true"},
                                                {"Tparams", GRAFTI_ATTR_TYPE, NULL},
                                                {"Tindices", GRAFTI_ATTR_TYPE, NULL},
                                                {NULL, GRAFTI_ATTR_NONE, NULL}};
static const graftI_attr_spec attrs_gatherv2[] = {{"batch_dims", GRAFTI_ATTR_INT, "0"},
                                                  {"Tparams", GRAFTI_ATTR_TYPE, NULL},
                                                  {"Tindices", GRAFTI_ATTR_TYPE, NULL},
                                                  {"Taxis", GRAFTI_ATTR_TYPE, NULL},
                                                  {NULL, GRAFTI_ATTR_NONE, NULL}};

static bool is_v2(const graft_op *op) { return op->n_in == 3; }

/* Static axis of a gather (Gather: 0). false when unknown; *a is the raw value. */
static bool gather_static_axis(const graft_op *op, int64_t *a)
{
    if (!is_v2(op)) {
        *a = 0;
        return true;
    }
    const graft_tensor *c = graftI_const_input(op, 2);
    if (!c || c->n != 1 || !graftI_is_int_index(c->dtype)) return false;
    *a = ival(c, 0);
    return true;
}

static graft_code gather_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    graft_dtype pt = graftI_in_dtype(op, 0);
    if ((rc = want_attr_dt(op, "Tparams", 0, "params", st)) ||
        (rc = want_index(op, 1, "Tindices", "indices", st)))
        return rc;
    if (!movable(pt))
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "params: unsupported dtype %s", dtname(pt));
    if (is_v2(op)) {
        if ((rc = want_index(op, 2, "Taxis", "axis", st)) ||
            (rc = want_scalar(graftI_in_shape(op, 2), false, "axis", st)))
            return rc;
        int64_t bd = graftI_attr_i(op, "batch_dims", 0);
        if (bd != 0)
            return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                    "attr batch_dims: only 0 is supported (0 vs %lld)", (long long)bd);
    }
    const graft_shape *ps = graftI_in_shape(op, 0), *is = graftI_in_shape(op, 1);
    if (ps->rank == 0)
        return graft_status_set(st, GRAFT_ERR_SHAPE,
                                "params: must be at least 1-dimensional (rank >= 1 vs 0)");
    int64_t a;
    bool have_axis = gather_static_axis(op, &a);
    if (have_axis && ps->rank >= 0) {
        if (a < -ps->rank || a >= ps->rank)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "axis: out of range ([%d, %d) vs %lld)",
                                    -ps->rank, ps->rank, (long long)a);
        if (a < 0) a += ps->rank;
    }
    if ((rc = set_outs(op, 1, st))) return rc;
    op->out[0].dtype = pt;
    op->out[0].shape = graft_shape_unknown();
    if (ps->rank < 0 || is->rank < 0) return GRAFT_OK;
    int orank = ps->rank + is->rank - 1;
    if (orank > GRAFT_MAX_DIMS)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "output: rank too large (at most %d vs %d)",
                                GRAFT_MAX_DIMS, orank);
    graft_shape s = {orank, {0}};
    for (int d = 0; d < orank; d++) s.dims[d] = -1;
    if (have_axis) {
        int j = 0;
        for (int d = 0; d < a; d++) s.dims[j++] = ps->dims[d];
        for (int d = 0; d < is->rank; d++) s.dims[j++] = is->dims[d];
        for (int d = (int)a + 1; d < ps->rank; d++) s.dims[j++] = ps->dims[d];
    }
    op->out[0].shape = s;
    return GRAFT_OK;
}

/* out[o, i, :] = params[o, indices[i], :] over params viewed as [outer, limit,
 * inner]; every index is checked first (TF's CPU kernel reports the first bad one). */
static graft_code gather_forward(graftI_kctx *k)
{
    const graft_tensor *p = k->in[0], *ind = k->in[1];
    if (!movable(p->dtype))
        return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "params: unsupported dtype %s", dtname(p->dtype));
    if (!graftI_is_int_index(ind->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE, "indices: int32 or int64 expected (vs %s)",
                            dtname(ind->dtype));
    int64_t a = 0;
    if (k->n_in == 3) {
        const graft_tensor *ax = k->in[2];
        if (!graftI_is_int_index(ax->dtype) || ax->n != 1 || ax->rank != 0)
            return graftI_kfail(k, GRAFT_ERR_INVALID_ARG,
                                "axis: must be an int32/int64 scalar (vs %s rank %d)", dtname(ax->dtype),
                                ax->rank);
        a = ival(ax, 0);
    }
    if (p->rank < 1)
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "params: must be at least 1-dimensional (rank >= 1 vs 0)");
    if (a < -p->rank || a >= p->rank)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "axis: out of range ([%d, %d) vs %lld)", -p->rank,
                            p->rank, (long long)a);
    if (a < 0) a += p->rank;
    int orank = p->rank + ind->rank - 1;
    if (orank > GRAFT_MAX_DIMS)
        return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "output: rank too large (at most %d vs %d)",
                            GRAFT_MAX_DIMS, orank);
    int64_t outer = 1, inner = 1, limit = p->dims[a], nidx = ind->n, od[GRAFT_MAX_DIMS], total;
    int j = 0;
    for (int d = 0; d < a; d++) od[j++] = p->dims[d];
    for (int d = 0; d < ind->rank; d++) od[j++] = ind->dims[d];
    for (int d = (int)a + 1; d < p->rank; d++) od[j++] = p->dims[d];
    if (!dims_prod(p->dims, 0, (int)a, &outer) || !dims_prod(p->dims, (int)a + 1, p->rank, &inner) ||
        !graftI_mul_i64(outer, inner, &total) || !graftI_mul_i64(total, nidx, &total))
        return graftI_kfail(k, GRAFT_ERR_NOMEM, "output: element count overflows");
    for (int64_t i = 0; i < nidx; i++) {
        int64_t v = ival(ind, i);
        if (v < 0 || v >= limit) {
            char b[128];
            return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "indices%s = %lld is not in [0, %lld)",
                                index_str(ind->dims, ind->rank, i, b, sizeof b), (long long)v,
                                (long long)limit);
        }
    }
    graft_tensor *y = graftI_out_alloc(k, 0, p->dtype, od, orank, false);
    if (!y) return knomem(k);
    size_t es = graft_dtype_size(p->dtype), row = (size_t)inner * es;
    if (row == 0) return GRAFT_OK;
    const char *src = p->data;
    char *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < nidx; i++)
            memcpy(dst + (size_t)(o * nidx + i) * row, src + (size_t)(o * limit + ival(ind, i)) * row, row);
    return GRAFT_OK;
}

static graft_out unsorted_segment_sum(graft_graph *g, graft_out data, graft_out ids, graft_out num)
{
    graft_out in[3] = {data, ids, num};
    graftI_attr at[3] = {graftI_a_type("T", out_dt(data)), graftI_a_type("Tindices", out_dt(ids)),
                         graftI_a_type("Tnumsegments", out_dt(num))};
    return mk(g, "UnsortedSegmentSum", "UnsortedSegmentSum", in, 3, at, 3);
}

/* TF's _GatherV2Grad returns IndexedSlices, which densify to an
 * UnsortedSegmentSum of the gradient rows by index; that sum is built directly:
 *   axis 0:  dparams = USS(dy, indices, P[0])   (dy = indices.shape + P[1:])
 *   axis a:  dy = P[:a] + indices.shape + P[a+1:] is transposed to put the
 *            indices' dims first, summed, and transposed back. */
static graft_code gather_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out params = op->in[0], ind = op->in[1];
    int64_t a;
    if (!gather_static_axis(op, &a))
        return graftI_graph_fail(g, GRAFT_ERR_UNSUPPORTED, "gradient of %s (%s): the axis must be a constant",
                                 op->name, op->type);
    graft_shape ps = graft_out_shape(params), is = graft_out_shape(ind);
    if (a < 0) {
        if (ps.rank < 0)
            return graftI_graph_fail(g, GRAFT_ERR_UNSUPPORTED,
                                     "gradient of %s (%s): a negative axis needs params of known rank",
                                     op->name, op->type);
        a += ps.rank;
    }
    if (a == 0) {
        dx[0] = unsorted_segment_sum(g, dy[0], ind, dim_of(g, params, 0));
        return graft_graph_status(g);
    }
    if (ps.rank < 0 || is.rank < 0)
        return graftI_graph_fail(g, GRAFT_ERR_UNSUPPORTED,
                                 "gradient of %s (%s): axis %lld needs params and indices of known rank",
                                 op->name, op->type, (long long)a);
    int pr = ps.rank, ir = is.rank, dr = pr + ir - 1, n = 0;
    int32_t perm[GRAFT_MAX_DIMS], inv[GRAFT_MAX_DIMS];
    for (int d = 0; d < ir; d++) perm[n++] = (int32_t)a + d;
    for (int d = 0; d < a; d++) perm[n++] = d;
    for (int d = (int)a + ir; d < dr; d++) perm[n++] = d;
    /* the sum is [P[a]] + P[:a] + P[a+1:]; move its first dim back to a */
    n = 0;
    for (int d = 1; d <= a; d++) inv[n++] = d;
    inv[n++] = 0;
    for (int d = (int)a + 1; d < pr; d++) inv[n++] = d;
    graft_out vals = graft_transpose(g, dy[0], perm, dr);
    graft_out sum = unsorted_segment_sum(g, vals, ind, dim_of(g, params, (int)a));
    dx[0] = graft_transpose(g, sum, inv, pr);
    return graft_graph_status(g);
}

static const graftI_op_def op_gather = {.name = "Gather",
                                        .min_inputs = 2,
                                        .max_inputs = 2,
                                        .attrs = attrs_gather,
                                        .infer = gather_infer,
                                        .forward = gather_forward,
                                        .grad = gather_grad};
static const graftI_op_def op_gatherv2 = {.name = "GatherV2",
                                          .min_inputs = 3,
                                          .max_inputs = 3,
                                          .attrs = attrs_gatherv2,
                                          .infer = gather_infer,
                                          .forward = gather_forward,
                                          .grad = gather_grad};

graft_out graft_gather(graft_graph *g, graft_out params, graft_out indices, int axis)
{
    if (!params.op || !indices.op) return graftI_o(NULL, 0);
    graft_out in[3] = {params, indices, graft_const_i32(g, axis)};
    graftI_attr at[4] = {graftI_a_int("batch_dims", 0), graftI_a_type("Tparams", out_dt(params)),
                         graftI_a_type("Tindices", out_dt(indices)), graftI_a_type("Taxis", GRAFT_INT32)};
    return mk(g, "GatherV2", "GatherV2", in, 3, at, 4);
}

/* ---- UnsortedSegmentSum ----------------------------------------------------------- */

static const graftI_attr_spec attrs_uss[] = {{"T", GRAFTI_ATTR_TYPE, NULL},
                                             {"Tindices", GRAFTI_ATTR_TYPE, NULL},
                                             {"Tnumsegments", GRAFTI_ATTR_TYPE, "int32"},
                                             {NULL, GRAFTI_ATTR_NONE, NULL}};

static bool uss_dtype(graft_dtype dt)
{
    return dt == GRAFT_FLOAT || dt == GRAFT_DOUBLE || dt == GRAFT_INT32 || dt == GRAFT_INT64;
}

static graft_code uss_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    graft_dtype t = graftI_in_dtype(op, 0);
    if (!uss_dtype(t))
        return graft_status_set(st, GRAFT_ERR_DTYPE,
                                "data: unsupported dtype (float32, float64, int32 or int64 vs %s)",
                                dtname(t));
    if ((rc = want_attr_dt(op, "T", 0, "data", st)) ||
        (rc = want_index(op, 1, "Tindices", "segment_ids", st)) ||
        (rc = want_index(op, 2, "Tnumsegments", "num_segments", st)) ||
        (rc = want_scalar(graftI_in_shape(op, 2), true, "num_segments", st)))
        return rc;
    const graft_shape *ds = graftI_in_shape(op, 0), *is = graftI_in_shape(op, 1);
    if (ds->rank >= 0 && is->rank >= 0) {
        bool ok = is->rank <= ds->rank;
        for (int d = 0; ok && d < is->rank; d++)
            ok = ds->dims[d] < 0 || is->dims[d] < 0 || ds->dims[d] == is->dims[d];
        if (!ok) {
            char b1[96], b2[96];
            return graft_status_set(st, GRAFT_ERR_SHAPE,
                                    "segment_ids: shape is not a prefix of data's (%s vs %s)",
                                    graft_shape_str(ds, b1, sizeof b1), graft_shape_str(is, b2, sizeof b2));
        }
    }
    int64_t num = -1;
    const graft_tensor *nc = graftI_const_input(op, 2);
    if (nc && nc->n == 1 && graftI_is_int_index(nc->dtype)) {
        num = ival(nc, 0);
        if (num < 0)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                    "num_segments: must be non-negative (>= 0 vs %lld)", (long long)num);
    }
    if ((rc = set_outs(op, 1, st))) return rc;
    op->out[0].dtype = t;
    op->out[0].shape = graft_shape_unknown();
    if (ds->rank >= 0 && is->rank >= 0) {
        graft_shape s = {ds->rank - is->rank + 1, {num}};
        for (int d = is->rank; d < ds->rank; d++) s.dims[d - is->rank + 1] = ds->dims[d];
        op->out[0].shape = s;
    }
    return GRAFT_OK;
}

#define USS_LOOP(T, ADD)                                                                                     \
    do {                                                                                                     \
        const T *src_ = (const T *)data->data;                                                               \
        T *dst_ = (T *)y->data;                                                                              \
        for (int64_t i_ = 0; i_ < nids; i_++) {                                                              \
            int64_t j_ = ival(ids, i_);                                                                      \
            if (j_ < 0) continue;                                                                            \
            const T *s_ = src_ + i_ * inner;                                                                 \
            T *d_ = dst_ + j_ * inner;                                                                       \
            for (int64_t c_ = 0; c_ < inner; c_++) d_[c_] = (T)ADD(d_[c_], s_[c_]);                          \
        }                                                                                                    \
    } while (0)
#define PLAIN_ADD(x, y)  ((x) + (y))
#define WRAP_ADD32(x, y) ((uint32_t)(x) + (uint32_t)(y))
#define WRAP_ADD64(x, y) ((uint64_t)(x) + (uint64_t)(y))

/* output[j, :] = Σ data[i, :] over segment_ids[i] == j; negative ids are
 * dropped, ids >= num_segments are an error naming the element (TF's CPU kernel). */
static graft_code uss_forward(graftI_kctx *k)
{
    const graft_tensor *data = k->in[0], *ids = k->in[1], *nt = k->in[2];
    if (!uss_dtype(data->dtype) || !graftI_is_int_index(ids->dtype) || !graftI_is_int_index(nt->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE,
                            "inputs: dtypes (data numeric, ids and num_segments int vs %s, %s, %s)",
                            dtname(data->dtype), dtname(ids->dtype), dtname(nt->dtype));
    if (nt->n != 1 || nt->rank > 1)
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "num_segments: must be a scalar (rank 0 vs %d)", nt->rank);
    bool prefix = ids->rank <= data->rank;
    for (int d = 0; prefix && d < ids->rank; d++) prefix = ids->dims[d] == data->dims[d];
    if (!prefix) {
        graft_shape s0 = graftI_tensor_shape(data), s1 = graftI_tensor_shape(ids);
        char b0[96], b1[96];
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "segment_ids: shape is not a prefix of data's (%s vs %s)",
                            graft_shape_str(&s0, b0, sizeof b0), graft_shape_str(&s1, b1, sizeof b1));
    }
    int64_t num = ival(nt, 0), nids = ids->n, inner = 1, od[GRAFT_MAX_DIMS], total;
    if (num < 0)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "num_segments: must be non-negative (>= 0 vs %lld)",
                            (long long)num);
    od[0] = num;
    for (int d = ids->rank; d < data->rank; d++) od[d - ids->rank + 1] = data->dims[d];
    if (!dims_prod(data->dims, ids->rank, data->rank, &inner) || !graftI_mul_i64(num, inner, &total))
        return graftI_kfail(k, GRAFT_ERR_NOMEM, "output: element count overflows (%lld x %lld)",
                            (long long)num, (long long)inner);
    for (int64_t i = 0; i < nids; i++) {
        int64_t j = ival(ids, i);
        if (j >= num) {
            char b[128];
            return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "segment_ids%s = %lld is out of range [0, %lld)",
                                index_str(ids->dims, ids->rank, i, b, sizeof b), (long long)j,
                                (long long)num);
        }
    }
    graft_tensor *y = graftI_out_alloc(k, 0, data->dtype, od, data->rank - ids->rank + 1, true);
    if (!y) return knomem(k);
    switch (data->dtype) {
    case GRAFT_FLOAT: USS_LOOP(float, PLAIN_ADD); break;
    case GRAFT_DOUBLE: USS_LOOP(double, PLAIN_ADD); break;
    case GRAFT_INT32: USS_LOOP(int32_t, WRAP_ADD32); break;
    default: USS_LOOP(int64_t, WRAP_ADD64); break;
    }
    return GRAFT_OK;
}

/* TF's _UnsortedSegmentSumGrad (_GatherDropNegatives): the rows of dy gathered
 * by max(id, 0), replaced by zeros where the id was negative (those elements
 * were dropped): Select(ids >= 0 (broadcast to the gathered shape with
 * LogicalAnd and a Fill of true, as TF does), gathered, zeros). */
static graft_code uss_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out data = op->in[0], ids = op->in[1];
    graft_shape ds = graft_out_shape(data), is = graft_out_shape(ids);
    if (ds.rank < 0 || is.rank < 0)
        return graftI_graph_fail(g, GRAFT_ERR_UNSUPPORTED,
                                 "gradient of %s (%s): data and segment_ids need known ranks", op->name,
                                 op->type);
    graft_out zero = graftI_gb_scalar(g, out_dt(ids), 0.0);
    graft_out gathered = graft_gather(g, dy[0], graft_maximum(g, ids, zero), 0);
    graft_out keep = graft_greater_equal(g, ids, zero);
    for (int d = is.rank; d < ds.rank; d++) keep = graft_expand_dims(g, keep, -1);
    graft_out in[2] = {keep,
                       graft_fill(g, graftI_gb_shape(g, gathered), graftI_gb_scalar(g, GRAFT_BOOL, 1.0))};
    graft_out cond = mk(g, "LogicalAnd", "LogicalAnd", in, 2, NULL, 0);
    dx[0] = graft_select(g, cond, gathered, graft_zeros_like(g, gathered));
    return graft_graph_status(g);
}

static const graftI_op_def op_uss = {.name = "UnsortedSegmentSum",
                                     .min_inputs = 3,
                                     .max_inputs = 3,
                                     .attrs = attrs_uss,
                                     .infer = uss_infer,
                                     .forward = uss_forward,
                                     .grad = uss_grad};

/* ---- SelectV2 -------------------------------------------------------------------- */

static graft_code select_v2_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    graft_dtype c = graftI_in_dtype(op, 0), t = graftI_in_dtype(op, 1), e = graftI_in_dtype(op, 2);
    if (c != GRAFT_BOOL)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "condition: unsupported dtype (bool vs %s)", dtname(c));
    if (t != e)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "e: dtype differs from t's (%s vs %s)", dtname(t),
                                dtname(e));
    if ((rc = want_attr_dt(op, "T", 1, "t", st))) return rc;
    if (!movable(t)) return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "t: unsupported dtype %s", dtname(t));
    graft_shape te, all;
    char b0[96], b1[96], b2[96];
    if (!graftI_broadcast_shape(graftI_in_shape(op, 1), graftI_in_shape(op, 2), &te) ||
        !graftI_broadcast_shape(graftI_in_shape(op, 0), &te, &all))
        return graft_status_set(st, GRAFT_ERR_SHAPE,
                                "condition, t and e: shapes do not broadcast (%s, %s, %s)",
                                graft_shape_str(graftI_in_shape(op, 0), b0, sizeof b0),
                                graft_shape_str(graftI_in_shape(op, 1), b1, sizeof b1),
                                graft_shape_str(graftI_in_shape(op, 2), b2, sizeof b2));
    if ((rc = set_outs(op, 1, st))) return rc;
    op->out[0].dtype = t;
    op->out[0].shape = all;
    return GRAFT_OK;
}

/* Walks the broadcast output [od] with the three inputs' strides (0 along
 * broadcast dims): o[i] = c ? t : e. */
#define SELECT_LOOP(T)                                                                                       \
    do {                                                                                                     \
        const uint8_t *cp_ = (const uint8_t *)c->data;                                                       \
        const T *tp_ = (const T *)t->data, *ep_ = (const T *)e->data;                                        \
        T *o_ = (T *)y->data;                                                                                \
        if (flat) {                                                                                          \
            for (int64_t i_ = 0; i_ < total; i_++) o_[i_] = cp_[i_] ? tp_[i_] : ep_[i_];                     \
            break;                                                                                           \
        }                                                                                                    \
        int64_t idx_[GRAFT_MAX_DIMS] = {0}, oc_ = 0, ot_ = 0, oe_ = 0;                                       \
        for (int64_t i_ = 0; i_ < total; i_++) {                                                             \
            o_[i_] = cp_[oc_] ? tp_[ot_] : ep_[oe_];                                                         \
            for (int d_ = rank - 1; d_ >= 0; d_--) {                                                         \
                oc_ += str[0][d_], ot_ += str[1][d_], oe_ += str[2][d_];                                     \
                if (++idx_[d_] < od[d_]) break;                                                              \
                oc_ -= str[0][d_] * od[d_], ot_ -= str[1][d_] * od[d_], oe_ -= str[2][d_] * od[d_];          \
                idx_[d_] = 0;                                                                                \
            }                                                                                                \
        }                                                                                                    \
    } while (0)

static graft_code select_v2_forward(graftI_kctx *k)
{
    const graft_tensor *c = k->in[0], *t = k->in[1], *e = k->in[2];
    if (c->dtype != GRAFT_BOOL || t->dtype != e->dtype || !movable(t->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE,
                            "inputs: dtypes (bool condition, t and e of one dtype vs %s, %s, %s)",
                            dtname(c->dtype), dtname(t->dtype), dtname(e->dtype));
    const graft_tensor *ts[3] = {c, t, e};
    int rank = 0;
    for (int i = 0; i < 3; i++)
        if (ts[i]->rank > rank) rank = ts[i]->rank;
    int64_t od[GRAFT_MAX_DIMS], str[3][GRAFT_MAX_DIMS];
    for (int d = 0; d < rank; d++) {
        od[d] = 1;
        for (int i = 0; i < 3; i++) {
            int di = d - (rank - ts[i]->rank);
            int64_t n = di >= 0 ? ts[i]->dims[di] : 1;
            if (n != 1) {
                if (od[d] != 1 && od[d] != n) {
                    graft_shape s0 = graftI_tensor_shape(c), s1 = graftI_tensor_shape(t),
                                s2 = graftI_tensor_shape(e);
                    char b0[96], b1[96], b2[96];
                    return graftI_kfail(
                        k, GRAFT_ERR_SHAPE, "condition, t and e: shapes do not broadcast (%s, %s, %s)",
                        graft_shape_str(&s0, b0, sizeof b0), graft_shape_str(&s1, b1, sizeof b1),
                        graft_shape_str(&s2, b2, sizeof b2));
                }
                od[d] = n;
            }
        }
    }
    /* element strides, 0 where an input is broadcast */
    bool flat = true;
    for (int i = 0; i < 3; i++) {
        int64_t s = 1;
        for (int d = rank - 1; d >= 0; d--) {
            int di = d - (rank - ts[i]->rank);
            int64_t n = di >= 0 ? ts[i]->dims[di] : 1;
            str[i][d] = (n == 1 && od[d] != 1) ? 0 : s;
            if (n != od[d]) flat = false;
            if (!graftI_mul_i64(s, n, &s))
                return graftI_kfail(k, GRAFT_ERR_NOMEM, "input %d: element count overflows", i);
        }
    }
    graft_tensor *y = graftI_out_alloc(k, 0, t->dtype, od, rank, false);
    if (!y) return knomem(k);
    const int64_t total = y->n;
    switch (graft_dtype_size(t->dtype)) {
    case 1: SELECT_LOOP(uint8_t); break;
    case 2: SELECT_LOOP(uint16_t); break;
    case 4: SELECT_LOOP(uint32_t); break;
    default: SELECT_LOOP(uint64_t); break;
    }
    return GRAFT_OK;
}

/* TF's _SelectGradV2: dt = SelectV2(c, dy, 0), de = SelectV2(c, 0, dy), each
 * summed back over the dims where t (or e) was broadcast. */
static graft_code select_v2_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graft_out c = op->in[0], out = graftI_o(op, 0);
    graft_out zero = graftI_gb_scalar(g, out_dt(dy[0]), 0.0);
    graftI_attr at = graftI_a_type("T", out_dt(dy[0]));
    graft_out in_t[3] = {c, dy[0], zero}, in_e[3] = {c, zero, dy[0]};
    graft_out gt = mk(g, "SelectV2", "SelectV2", in_t, 3, &at, 1);
    graft_out ge = mk(g, "SelectV2", "SelectV2", in_e, 3, &at, 1);
    dx[1] = graftI_gb_unbroadcast(g, gt, op->in[1], out);
    dx[2] = graftI_gb_unbroadcast(g, ge, op->in[2], out);
    return graft_graph_status(g);
}

static const graftI_op_def op_select_v2 = {.name = "SelectV2",
                                           .min_inputs = 3,
                                           .max_inputs = 3,
                                           .attrs = attrs_T,
                                           .infer = select_v2_infer,
                                           .forward = select_v2_forward,
                                           .grad = select_v2_grad};

/* ---- SplitV ------------------------------------------------------------------------ */

#define MAX_SPLIT 65536

static const graftI_attr_spec attrs_splitv[] = {{"num_split", GRAFTI_ATTR_INT, NULL},
                                                {"T", GRAFTI_ATTR_TYPE, NULL},
                                                {"Tlen", GRAFTI_ATTR_TYPE, "int64"},
                                                {NULL, GRAFTI_ATTR_NONE, NULL}};

/* Resolves size_splits against the split dimension's size dim (-1 unknown):
 * at most one -1, which takes what is left; the sizes must add up to dim. On
 * return sizes[] hold the resolved sizes (-1 where unknown). Messages as TF's. */
static graft_code splitv_sizes(int64_t *sizes, int64_t n, int64_t dim, char *msg, size_t cap)
{
    int64_t known = 0, neg = -1;
    for (int64_t i = 0; i < n; i++) {
        if (sizes[i] == -1) {
            if (neg >= 0) {
                snprintf(msg, cap, "size_splits: only one value may be -1 (second one at index %lld)",
                         (long long)i);
                return GRAFT_ERR_INVALID_ARG;
            }
            neg = i;
        } else if (sizes[i] < 0) {
            snprintf(msg, cap, "size_splits[%lld]: must be >= 0 or -1 (vs %lld)", (long long)i,
                     (long long)sizes[i]);
            return GRAFT_ERR_INVALID_ARG;
        } else if (sizes[i] > INT64_MAX - known) {
            snprintf(msg, cap, "size_splits: sum overflows");
            return GRAFT_ERR_INVALID_ARG;
        } else {
            known += sizes[i];
        }
    }
    if (dim < 0) return GRAFT_OK;
    if ((neg < 0 && known != dim) || (neg >= 0 && known > dim)) {
        snprintf(msg, cap,
                 "size_splits: sizes must add up to the split dimension (%lld) exactly when fully specified, "
                 "or to at most it with one -1 (vs %lld)",
                 (long long)dim, (long long)known);
        return GRAFT_ERR_INVALID_ARG;
    }
    if (neg >= 0) sizes[neg] = dim - known;
    return GRAFT_OK;
}

static graft_code splitv_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    if ((rc = want_attr_dt(op, "T", 0, "value", st)) || (rc = want_index(op, 1, "Tlen", "size_splits", st)))
        return rc;
    if (graftI_in_dtype(op, 2) != GRAFT_INT32)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "split_dim: unsupported dtype (int32 vs %s)",
                                dtname(graftI_in_dtype(op, 2)));
    if ((rc = want_scalar(graftI_in_shape(op, 2), false, "split_dim", st))) return rc;
    graft_dtype t = graftI_in_dtype(op, 0);
    if (!movable(t))
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "value: unsupported dtype %s", dtname(t));
    int64_t ns = graftI_attr_i(op, "num_split", 0);
    if (ns < 1 || ns > MAX_SPLIT)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "attr num_split: out of range ([1, %d] vs %lld)",
                                MAX_SPLIT, (long long)ns);
    const graft_shape *ss = graftI_in_shape(op, 1), *xs = graftI_in_shape(op, 0);
    if (ss->rank >= 0 && (ss->rank != 1 || (ss->dims[0] >= 0 && ss->dims[0] != ns))) {
        char b[96];
        return graft_status_set(st, GRAFT_ERR_SHAPE,
                                "size_splits: must be a vector of num_split elements ([%lld] vs %s)",
                                (long long)ns, graft_shape_str(ss, b, sizeof b));
    }
    /* the split axis, when split_dim is a Const and the rank is known */
    int ax = -1;
    const graft_tensor *dc = graftI_const_input(op, 2);
    if (dc && dc->n == 1 && xs->rank >= 0) {
        int64_t a = ival(dc, 0);
        if (a < -xs->rank || a >= xs->rank)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "split_dim: out of range ([%d, %d) vs %lld)",
                                    -xs->rank, xs->rank, (long long)a);
        ax = (int)(a < 0 ? a + xs->rank : a);
    }
    int64_t *sizes = graftI_calloc((size_t)ns, sizeof *sizes);
    if (!sizes) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < ns; i++) sizes[i] = -1;
    const graft_tensor *sc = graftI_const_input(op, 1);
    if (sc && sc->n == ns && graftI_is_int_index(sc->dtype)) {
        for (int64_t i = 0; i < ns; i++) sizes[i] = ival(sc, i);
        char msg[256];
        graft_code c = splitv_sizes(sizes, ns, ax >= 0 ? xs->dims[ax] : -1, msg, sizeof msg);
        if (c) {
            graftI_free(sizes);
            return graft_status_set(st, c, "%s", msg);
        }
    } else if (sc) {
        graftI_free(sizes);
        return graft_status_set(st, GRAFT_ERR_SHAPE,
                                "size_splits: must have num_split elements (%lld vs %lld)", (long long)ns,
                                (long long)sc->n);
    }
    if ((rc = set_outs(op, (int)ns, st))) {
        graftI_free(sizes);
        return rc;
    }
    for (int64_t i = 0; i < ns; i++) {
        graft_shape s = *xs;
        if (xs->rank >= 0 && ax < 0)
            for (int d = 0; d < s.rank; d++) s.dims[d] = -1;
        if (ax >= 0) s.dims[ax] = sizes[i];
        op->out[i].dtype = t;
        op->out[i].shape = s;
    }
    graftI_free(sizes);
    return GRAFT_OK;
}

static graft_code splitv_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0], *ss = k->in[1], *sd = k->in[2];
    int64_t ns = graftI_attr_i(k->op, "num_split", 1);
    if (!movable(x->dtype))
        return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "value: unsupported dtype %s", dtname(x->dtype));
    if (!graftI_is_int_index(ss->dtype) || !graftI_is_int_index(sd->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE,
                            "size_splits and split_dim: int32/int64 expected (vs %s and %s)",
                            dtname(ss->dtype), dtname(sd->dtype));
    if (sd->rank != 0)
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "split_dim: must be a scalar (rank 0 vs %d)", sd->rank);
    if (ss->rank != 1 || ss->n != ns)
        return graftI_kfail(
            k, GRAFT_ERR_SHAPE,
            "size_splits: must be a vector of num_split elements ([%lld] vs rank %d, %lld elements)",
            (long long)ns, ss->rank, (long long)ss->n);
    int64_t a = ival(sd, 0);
    if (a < -x->rank || a >= x->rank)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "split_dim: out of range ([%d, %d) vs %lld)", -x->rank,
                            x->rank, (long long)a);
    int ax = (int)(a < 0 ? a + x->rank : a);
    int64_t *sizes = graftI_scratch(k, (size_t)ns * sizeof *sizes);
    if (!sizes) return knomem(k);
    for (int64_t i = 0; i < ns; i++) sizes[i] = ival(ss, i);
    char msg[256];
    graft_code c = splitv_sizes(sizes, ns, x->dims[ax], msg, sizeof msg);
    if (c) return graftI_kfail(k, c, "%s", msg);
    int64_t outer, inner, row, dim = x->dims[ax];
    if (!dims_prod(x->dims, 0, ax, &outer) || !dims_prod(x->dims, ax + 1, x->rank, &inner) ||
        !graftI_mul_i64(dim, inner, &row))
        return graftI_kfail(k, GRAFT_ERR_NOMEM, "value: element count overflows");
    size_t es = graft_dtype_size(x->dtype);
    int64_t start = 0, od[GRAFT_MAX_DIMS];
    memcpy(od, x->dims, sizeof od);
    for (int64_t i = 0; i < ns; i++) {
        od[ax] = sizes[i];
        graft_tensor *o = graftI_out_alloc(k, (int)i, x->dtype, od, x->rank, false);
        if (!o) return knomem(k);
        size_t chunk = (size_t)(sizes[i] * inner) * es;
        if (chunk)
            for (int64_t r = 0; r < outer; r++)
                memcpy((char *)o->data + (size_t)r * chunk,
                       (const char *)x->data + ((size_t)(r * dim + start) * (size_t)inner) * es, chunk);
        start += sizes[i];
    }
    return GRAFT_OK;
}

/* TF's _SplitVGrad: concatenate the outputs' gradients (zeros where none
 * arrived) along split_dim. */
static graft_code splitv_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    int n = op->n_out;
    graft_out *in = graftI_calloc((size_t)n + 1, sizeof *in);
    if (!in) return graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) in[i] = dy[i].op ? dy[i] : graft_zeros_like(g, graftI_o(op, i));
    in[n] = op->in[2];
    graftI_attr at[3] = {graftI_a_int("N", n), graftI_a_type("T", graftI_in_dtype(op, 0)),
                         graftI_a_type("Tidx", graftI_in_dtype(op, 2))};
    dx[0] = mk(g, "ConcatV2", "concat", in, n + 1, at, 3);
    graftI_free(in);
    return graft_graph_status(g);
}

static const graftI_op_def op_splitv = {.name = "SplitV",
                                        .min_inputs = 3,
                                        .max_inputs = 3,
                                        .attrs = attrs_splitv,
                                        .infer = splitv_infer,
                                        .forward = splitv_forward,
                                        .grad = splitv_grad};

/* ---- the table ---------------------------------------------------------------------- */

const graftI_op_def *const graftI_ops_extra[] = {
    &op_elu.def,   &op_selu.def,      &op_softplus.def,  &op_softsign.def, &op_leaky.def, &op_elu_grad,
    &op_selu_grad, &op_softplus_grad, &op_softsign_grad, &op_leaky_grad,   &op_l2loss,    &op_onehot,
    &op_gather,    &op_gatherv2,      &op_uss,           &op_select_v2,    &op_splitv,    NULL};
