/* lib/ops/op_train.c - TF1's in-place training ops ApplyGradientDescent,
 * ApplyMomentum and ApplyAdam with training_ops.cc's formulas, updating the
 * session's variable storage (and slot variables) through graftI_var_slot. */
#include "internal.h"
#include "op_util.h"

#include <math.h>

#include "train_ops.h"


static bool is_var(const graft_op *op) { return op && op->def && (op->def->flags & GRAFTI_OP_VARIABLE); }

/* Describes one Apply op's inputs: which are variable refs, which scalars, and
 * which one is the gradient (same shape as var). */
typedef struct train_sig {
    int n_in;
    const char *const *names;
    unsigned ref_mask;    /* inputs that must be variables (bit i) */
    unsigned scalar_mask; /* inputs that must hold one element */
} train_sig;

static const char *const gd_names[] = {"var", "alpha", "delta"};
static const char *const mom_names[] = {"var", "accum", "lr", "grad", "momentum"};
static const char *const adam_names[] = {"var", "m",     "v",     "beta1_power", "beta2_power",
                                         "lr",  "beta1", "beta2", "epsilon",     "grad"};
static const train_sig sig_gd = {3, gd_names, 0x1, 0x2};
static const train_sig sig_mom = {5, mom_names, 0x3, 0x4 | 0x10};
static const train_sig sig_adam = {10, adam_names, 0x7, 0x8 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100};

static const train_sig *sig_of(const graft_op *op)
{
    if (strcmp(op->type, "ApplyGradientDescent") == 0) return &sig_gd;
    if (strcmp(op->type, "ApplyMomentum") == 0) return &sig_mom;
    return &sig_adam;
}

static const graftI_attr_spec gd_attrs[] = {{"T", GRAFTI_ATTR_TYPE, "float"},
                                            {"use_locking", GRAFTI_ATTR_BOOL, "false"},
                                            {NULL, GRAFTI_ATTR_NONE, NULL}};
static const graftI_attr_spec nesterov_attrs[] = {{"T", GRAFTI_ATTR_TYPE, "float"},
                                                  {"use_locking", GRAFTI_ATTR_BOOL, "false"},
                                                  {"use_nesterov", GRAFTI_ATTR_BOOL, "false"},
                                                  {NULL, GRAFTI_ATTR_NONE, NULL}};

/* Checks refs, dtypes and static shapes; output 0 is the var (dtype, shape). */
static graft_code train_infer(graft_op *op, graft_status *st)
{
    const train_sig *sg = sig_of(op);
    graft_dtype vt = graftI_in_dtype(op, 0);
    if (vt != GRAFT_FLOAT && vt != GRAFT_DOUBLE)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "var: unsupported dtype (float32 or float64 vs %s)",
                                dtname(vt));
    if (graftI_attr_dt(op, "T", vt) != vt)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "var: dtype differs from attr T (%s vs %s)",
                                dtname(graftI_attr_dt(op, "T", vt)), dtname(vt));
    const graft_shape *vs = graftI_in_shape(op, 0);
    for (int i = 0; i < sg->n_in; i++) {
        graft_out in = op->in[i];
        if ((sg->ref_mask >> i) & 1) {
            if (!is_var(in.op) || in.index != 0)
                return graft_status_set(
                    st, GRAFT_ERR_INVALID_ARG,
                    "%s: must be a variable's ref output (a VariableV2:0 vs '%s' (%s):%d)", sg->names[i],
                    in.op->name, in.op->type, in.index);
        }
        if (graftI_in_dtype(op, i) != vt)
            return graft_status_set(st, GRAFT_ERR_DTYPE, "%s: dtype differs from var's (%s vs %s)",
                                    sg->names[i], dtname(vt), dtname(graftI_in_dtype(op, i)));
        const graft_shape *s = graftI_in_shape(op, i);
        if ((sg->scalar_mask >> i) & 1) {
            int64_t n;
            if (graftI_shape_known(s) && graft_shape_num_elements(s, &n) == GRAFT_OK && n != 1)
                return graft_status_set(st, GRAFT_ERR_SHAPE, "%s: must be a scalar (1 element vs %lld)",
                                        sg->names[i], (long long)n);
        } else if (!graftI_shape_compatible(vs, s)) {
            char a[64], b[64];
            return graft_status_set(st, GRAFT_ERR_SHAPE, "%s: shape differs from var's (%s vs %s)",
                                    sg->names[i], graft_shape_str(vs, a, sizeof a),
                                    graft_shape_str(s, b, sizeof b));
        }
    }
    graft_code rc = graftI_set_outputs(op, 1);
    if (rc) return graft_status_set(st, rc, "out of memory setting outputs");
    op->out[0].dtype = vt;
    op->out[0].shape = *vs;
    return GRAFT_OK;
}

static bool same_shape(const graft_tensor *a, const graft_tensor *b)
{
    if (a->rank != b->rank) return false;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

/* Gathers the storage of the ref inputs (t[i] for refs) and the values of the
 * others, checking initialisation, dtypes and shapes at run time. */
static graft_code train_gather(graftI_kctx *k, graft_tensor **t, double *scal)
{
    const train_sig *sg = sig_of(k->op);
    for (int i = 0; i < sg->n_in; i++) {
        if ((sg->ref_mask >> i) & 1) {
            const graft_op *var = k->op->in[i].op;
            graft_tensor **slot = graftI_var_slot(k, var);
            if (!slot || !*slot)
                return graftI_kfail(k, GRAFT_ERR_FAILED_PRECONDITION,
                                    "Attempting to use uninitialized value %s", var->name);
            t[i] = *slot;
        } else {
            t[i] = k->in[i];
        }
        if (t[i]->dtype != t[0]->dtype || (t[0]->dtype != GRAFT_FLOAT && t[0]->dtype != GRAFT_DOUBLE))
            return graftI_kfail(k, GRAFT_ERR_DTYPE, "%s: dtype differs from var's (%s vs %s)", sg->names[i],
                                dtname(t[0]->dtype), dtname(t[i]->dtype));
        if ((sg->scalar_mask >> i) & 1) {
            if (t[i]->n != 1)
                return graftI_kfail(k, GRAFT_ERR_SHAPE, "%s: must be a scalar (1 element vs %lld)",
                                    sg->names[i], (long long)t[i]->n);
            scal[i] = t[i]->dtype == GRAFT_DOUBLE ? *(const double *)t[i]->data : *(const float *)t[i]->data;
        } else if (!same_shape(t[0], t[i])) {
            graft_shape a = graftI_tensor_shape(t[0]), b = graftI_tensor_shape(t[i]);
            char sa[64], sb[64];
            return graftI_kfail(k, GRAFT_ERR_SHAPE, "%s: shape differs from var's (%s vs %s)", sg->names[i],
                                graft_shape_str(&a, sa, sizeof sa), graft_shape_str(&b, sb, sizeof sb));
        }
    }
    return GRAFT_OK;
}

/* ---- ApplyGradientDescent: var -= alpha · delta ---------------------------------- */

#define GD_LOOP(T)                                                                                           \
    do {                                                                                                     \
        T *w = (T *)t[0]->data;                                                                              \
        const T *d = (const T *)t[2]->data;                                                                  \
        T a = (T)s[1];                                                                                       \
        for (int64_t i = 0; i < n; i++) w[i] -= d[i] * a;                                                    \
    } while (0)

static graft_code gd_forward(graftI_kctx *k)
{
    graft_tensor *t[3];
    double s[3];
    graft_code rc = train_gather(k, t, s);
    if (rc) return rc;
    int64_t n = t[0]->n;
    if (t[0]->dtype == GRAFT_DOUBLE)
        GD_LOOP(double);
    else
        GD_LOOP(float);
    graftI_out_set(k, 0, graft_tensor_ref(t[0]));
    return GRAFT_OK;
}

/* ---- ApplyMomentum ---------------------------------------------------------------- */

/* accum = accum·momentum + grad; var -= accum·lr, or (Nesterov)
 * var -= grad·lr + accum·momentum·lr (training_ops.cc, in T arithmetic). */
#define MOMENTUM_LOOP(T)                                                                                     \
    do {                                                                                                     \
        T *w = (T *)t[0]->data, *acc = (T *)t[1]->data;                                                      \
        const T *gr = (const T *)t[3]->data;                                                                 \
        T lr = (T)s[2], mom = (T)s[4];                                                                       \
        for (int64_t i = 0; i < n; i++) {                                                                    \
            acc[i] = acc[i] * mom + gr[i];                                                                   \
            if (nesterov)                                                                                    \
                w[i] -= gr[i] * lr + acc[i] * mom * lr;                                                      \
            else                                                                                             \
                w[i] -= acc[i] * lr;                                                                         \
        }                                                                                                    \
    } while (0)

static graft_code momentum_forward(graftI_kctx *k)
{
    graft_tensor *t[5];
    double s[5];
    graft_code rc = train_gather(k, t, s);
    if (rc) return rc;
    if (t[1] == t[0] || t[1]->data == t[0]->data)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "accum: must be a different variable from var");
    bool nesterov = graftI_attr_b(k->op, "use_nesterov", false);
    int64_t n = t[0]->n;
    if (t[0]->dtype == GRAFT_DOUBLE)
        MOMENTUM_LOOP(double);
    else
        MOMENTUM_LOOP(float);
    graftI_out_set(k, 0, graft_tensor_ref(t[0]));
    return GRAFT_OK;
}

/* ---- ApplyAdam -------------------------------------------------------------------- */

/* training_ops.cc ApplyAdamNonCuda, in T arithmetic:
 *   alpha = lr·√(1 − β2_power) / (1 − β1_power)
 *   m += (g − m)(1 − β1);  v += (g² − v)(1 − β2)
 *   var −= m·alpha / (√v + ε)      or, Nesterov,
 *   var −= (g(1 − β1) + β1·m)·alpha / (√v + ε)
 * ε is applied after the bias correction ("epsilon hat"). */
#define ADAM_LOOP(T, SQRT)                                                                                   \
    do {                                                                                                     \
        T *w = (T *)t[0]->data, *m = (T *)t[1]->data, *v = (T *)t[2]->data;                                  \
        const T *gr = (const T *)t[9]->data;                                                                 \
        T b1p = (T)s[3], b2p = (T)s[4], lr = (T)s[5], b1 = (T)s[6], b2 = (T)s[7], eps = (T)s[8];             \
        T alpha = lr * SQRT((T)1 - b2p) / ((T)1 - b1p);                                                      \
        for (int64_t i = 0; i < n; i++) {                                                                    \
            T g_ = gr[i];                                                                                    \
            m[i] += (g_ - m[i]) * ((T)1 - b1);                                                               \
            v[i] += (g_ * g_ - v[i]) * ((T)1 - b2);                                                          \
            if (nesterov)                                                                                    \
                w[i] -= ((g_ * ((T)1 - b1) + b1 * m[i]) * alpha) / (SQRT(v[i]) + eps);                       \
            else                                                                                             \
                w[i] -= (m[i] * alpha) / (SQRT(v[i]) + eps);                                                 \
        }                                                                                                    \
    } while (0)

static graft_code adam_forward(graftI_kctx *k)
{
    graft_tensor *t[10];
    double s[10];
    graft_code rc = train_gather(k, t, s);
    if (rc) return rc;
    if (t[1]->data == t[0]->data || t[2]->data == t[0]->data || t[1]->data == t[2]->data)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "var, m and v: must be three different variables");
    bool nesterov = graftI_attr_b(k->op, "use_nesterov", false);
    int64_t n = t[0]->n;
    if (t[0]->dtype == GRAFT_DOUBLE)
        ADAM_LOOP(double, sqrt);
    else
        ADAM_LOOP(float, sqrtf);
    graftI_out_set(k, 0, graft_tensor_ref(t[0]));
    return GRAFT_OK;
}

#define TRAIN_FLAGS (GRAFTI_OP_STATEFUL | GRAFTI_OP_REF_INPUT0 | GRAFTI_OP_NO_GRAD)
static const graftI_op_def op_apply_gd = {.name = "ApplyGradientDescent",
                                          .min_inputs = 3,
                                          .max_inputs = 3,
                                          .attrs = gd_attrs,
                                          .flags = TRAIN_FLAGS,
                                          .infer = train_infer,
                                          .forward = gd_forward};
static const graftI_op_def op_apply_momentum = {.name = "ApplyMomentum",
                                                .min_inputs = 5,
                                                .max_inputs = 5,
                                                .attrs = nesterov_attrs,
                                                .flags = TRAIN_FLAGS,
                                                .infer = train_infer,
                                                .forward = momentum_forward};
static const graftI_op_def op_apply_adam = {.name = "ApplyAdam",
                                            .min_inputs = 10,
                                            .max_inputs = 10,
                                            .attrs = nesterov_attrs,
                                            .flags = TRAIN_FLAGS,
                                            .infer = train_infer,
                                            .forward = adam_forward};

/* ---- builders (lib/ops/train_ops.h) ------------------------------------------------ */


graft_out graftI_apply_gradient_descent(graft_graph *g, graft_out var, graft_out alpha, graft_out delta)
{
    graft_out in[3] = {var, alpha, delta};
    graftI_attr at[1] = {graftI_a_type("T", out_dt(var))};
    return graftI_o(graftI_make_op(g, "ApplyGradientDescent", "ApplyGradientDescent", in, 3, at, 1), 0);
}

graft_out graftI_apply_momentum(graft_graph *g, graft_out var, graft_out accum, graft_out lr, graft_out grad,
                                graft_out momentum, bool use_nesterov)
{
    graft_out in[5] = {var, accum, lr, grad, momentum};
    graftI_attr at[2] = {graftI_a_type("T", out_dt(var)), graftI_a_bool("use_nesterov", use_nesterov)};
    return graftI_o(graftI_make_op(g, "ApplyMomentum", "ApplyMomentum", in, 5, at, 2), 0);
}

graft_out graftI_apply_adam(graft_graph *g, graft_out var, graft_out m, graft_out v, graft_out beta1_power,
                            graft_out beta2_power, graft_out lr, graft_out beta1, graft_out beta2,
                            graft_out epsilon, graft_out grad, bool use_nesterov)
{
    graft_out in[10] = {var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad};
    graftI_attr at[2] = {graftI_a_type("T", out_dt(var)), graftI_a_bool("use_nesterov", use_nesterov)};
    return graftI_o(graftI_make_op(g, "ApplyAdam", "ApplyAdam", in, 10, at, 2), 0);
}

const graftI_op_def *const graftI_ops_train[] = {&op_apply_gd, &op_apply_momentum, &op_apply_adam, NULL};
