/* layers/layer_util.c - what layers and optimizers share: variables laid out as
 * TF1's tf.get_variable makes them ("F", "F/Initializer/...", "F/Assign",
 * "F/read"), initializer subgraphs with TF's op names, verbatim-named ops. */
#include "layer_util.h"

#include <math.h>
#include <stdio.h>

graft_op *graftI_verbatim_op(graft_graph *g, const char *type, const char *name, const graft_out *in,
                             int n_in, graft_op *const *ctrl, int n_ctrl, const graftI_attr *attrs,
                             int n_attrs)
{
    if (!g || graft_graph_status(g) != GRAFT_OK) return NULL;
    for (int i = 0; i < n_in; i++)
        if (!in[i].op) return NULL;
    graft_op_builder *b = graft_op_builder_new(g, type, name);
    if (!b) {
        graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory creating '%s' (%s)", name, type);
        return NULL;
    }
    for (int i = 0; i < n_in; i++) graft_op_builder_add_input(b, in[i]);
    for (int i = 0; i < n_ctrl; i++)
        if (ctrl[i]) graft_op_builder_add_control_input(b, ctrl[i]);
    for (int i = 0; i < n_attrs; i++) {
        const graftI_attr *a = &attrs[i];
        switch (a->type) {
        case GRAFTI_ATTR_INT: graft_op_builder_attr_int(b, a->name, a->v.i); break;
        case GRAFTI_ATTR_FLOAT: graft_op_builder_attr_float(b, a->name, a->v.f); break;
        case GRAFTI_ATTR_BOOL: graft_op_builder_attr_bool(b, a->name, a->v.b); break;
        case GRAFTI_ATTR_TYPE: graft_op_builder_attr_type(b, a->name, a->v.dt); break;
        case GRAFTI_ATTR_SHAPE: graft_op_builder_attr_shape(b, a->name, a->v.shape); break;
        case GRAFTI_ATTR_STRING: graft_op_builder_attr_string(b, a->name, a->v.s.ptr, a->v.s.len); break;
        case GRAFTI_ATTR_TENSOR: graft_op_builder_attr_tensor(b, a->name, a->v.t); break;
        case GRAFTI_ATTR_LIST_INT: graft_op_builder_attr_int_list(b, a->name, a->l.i, a->n); break;
        default:
            graft_op_builder_free(b);
            graftI_graph_fail(g, GRAFT_ERR_INTERNAL, "%s: attr '%s' of an unsupported kind", name, a->name);
            return NULL;
        }
    }
    graft_status st;
    graft_op *op = graft_op_builder_finish(b, &st);
    if (!op) graftI_graph_fail(g, st.code, "%s", st.msg);
    return op;
}

graft_op *graftI_tf_variable(graft_graph *g, const char *name, graftI_init_fn init, void *ud,
                             bool initializer_scope, bool trainable, graft_variable *info)
{
    if (info) memset(info, 0, sizeof *info);
    if (!g || graft_graph_status(g) != GRAFT_OK) return NULL;
    /* reserve the full name first, as TF's name_scope(name) does; the variable op
     * itself is then named after the scope, verbatim */
    const char *u = graft_graph_unique_name(g, name, true);
    if (!u) {
        graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory naming variable '%s'", name);
        return NULL;
    }
    char full[512], sc[520];
    if (strlen(u) > 400) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "variable '%s': name too long (at most 400 vs %zu bytes)",
                          u, strlen(u));
        return NULL;
    }
    snprintf(full, sizeof full, "%s", u);
    snprintf(sc, sizeof sc, "%s/", full);
    if (!graft_graph_push_scope(g, sc)) return NULL;
    graft_out iv = {NULL, 0};
    if (initializer_scope) {
        if (graft_graph_push_scope(g, "Initializer")) {
            iv = init(g, ud);
            graft_graph_pop_scope(g);
        }
    } else {
        iv = init(g, ud);
    }
    graft_op *var = NULL;
    if (!iv.op) {
        if (graft_graph_status(g) == GRAFT_OK)
            graftI_graph_fail(g, GRAFT_ERR_INTERNAL, "variable '%s': no initial value was built", full);
        goto out;
    }
    graft_shape s = graft_out_shape(iv);
    graft_dtype dt = graft_out_dtype(iv);
    if (!graftI_shape_known(&s)) {
        char b[128];
        graftI_graph_fail(g, GRAFT_ERR_SHAPE,
                          "variable '%s': the initial value's shape %s must be fully known", full,
                          graft_shape_str(&s, b, sizeof b));
        goto out;
    }
    graftI_attr va[2] = {graftI_a_shape("shape", s), graftI_a_type("dtype", dt)};
    var = graftI_verbatim_op(g, "VariableV2", full, NULL, 0, NULL, 0, va, 2);
    if (!var) goto out;
    graftI_attr aa[3] = {graftI_a_type("T", dt), graftI_a_bool("validate_shape", true),
                         graftI_a_bool("use_locking", true)};
    graft_out in2[2] = {graftI_o(var, 0), iv};
    graft_name_next(g, "Assign");
    graft_op *asg = graftI_make_op(g, "Assign", "Assign", in2, 2, aa, 3);
    graft_name_next(g, "read");
    graft_out rd = graft_identity(g, graftI_o(var, 0));
    if (!asg || !rd.op) {
        var = NULL;
        goto out;
    }
    graft_variable v = {var, asg, rd, iv, trainable};
    graft_status st;
    if (graft_graph_add_variable(g, &v, &st) != GRAFT_OK) {
        graftI_graph_fail(g, st.code, "%s", st.msg);
        var = NULL;
        goto out;
    }
    if (info) *info = v;
out:
    graft_graph_pop_scope(g);
    return var;
}

/* ---- initializers ------------------------------------------------------------------ */

static graft_out scalar_const(graft_graph *g, const char *name, graft_dtype dt, double v)
{
    graft_status st;
    graft_tensor *t = graft_tensor_new(dt, NULL, 0, &st);
    if (!t) {
        graftI_graph_fail(g, st.code, "%s", st.msg);
        return graftI_o(NULL, 0);
    }
    switch (dt) {
    case GRAFT_DOUBLE: *(double *)graft_tensor_data(t) = v; break;
    case GRAFT_FLOAT: *(float *)graft_tensor_data(t) = (float)v; break;
    case GRAFT_INT32: *(int32_t *)graft_tensor_data(t) = (int32_t)v; break;
    case GRAFT_INT64: *(int64_t *)graft_tensor_data(t) = (int64_t)v; break;
    default:
        graft_tensor_free(t);
        graftI_graph_fail(g, GRAFT_ERR_UNSUPPORTED, "%s: constant of dtype %s", name,
                          graft_dtype_name(dt) ? graft_dtype_name(dt) : "invalid");
        return graftI_o(NULL, 0);
    }
    graft_out o = graft_const(g, name, t);
    graft_tensor_free(t);
    return o;
}

/* random_ops.random_uniform: scope "random_uniform" with shape, min, max,
 * RandomUniform, sub = max - min, mul = rnd * sub, and the Add named after the
 * scope itself: rnd * (max - min) + min. */
static graft_out random_uniform_sub(graft_graph *g, graft_dtype dt, const int64_t *dims, int rank, double lo,
                                    double hi, int64_t seed)
{
    const char *sc = graft_graph_push_scope(g, "random_uniform");
    if (!sc) return graftI_o(NULL, 0);
    char full[520];
    snprintf(full, sizeof full, "%s", sc);
    graft_out rnd = graft_random_uniform(g, dims, rank, dt, seed);
    graft_out mn = scalar_const(g, "min", dt, lo);
    graft_out mx = scalar_const(g, "max", dt, hi);
    graft_name_next(g, "sub");
    graft_out sub = graft_sub(g, mx, mn);
    graft_name_next(g, "mul");
    graft_out mul = graft_mul(g, rnd, sub);
    graft_graph_pop_scope(g);
    graft_out in[2] = {mul, mn};
    graftI_attr at = graftI_a_type("T", dt);
    return graftI_o(graftI_verbatim_op(g, "Add", full, in, 2, NULL, 0, &at, 1), 0);
}

/* random_ops.truncated_normal: scope "truncated_normal" with shape, mean,
 * stddev, TruncatedNormal, mul = rnd * stddev, and the Add "truncated_normal". */
static graft_out truncated_normal_sub(graft_graph *g, graft_dtype dt, const int64_t *dims, int rank,
                                      double mean, double stddev, int64_t seed)
{
    const char *sc = graft_graph_push_scope(g, "truncated_normal");
    if (!sc) return graftI_o(NULL, 0);
    char full[520];
    snprintf(full, sizeof full, "%s", sc);
    graft_out rnd = graft_truncated_normal(g, dims, rank, dt, seed);
    graft_out mu = scalar_const(g, "mean", dt, mean);
    graft_out sd = scalar_const(g, "stddev", dt, stddev);
    graft_name_next(g, "mul");
    graft_out mul = graft_mul(g, rnd, sd);
    graft_graph_pop_scope(g);
    graft_out in[2] = {mul, mu};
    graftI_attr at = graftI_a_type("T", dt);
    return graftI_o(graftI_verbatim_op(g, "Add", full, in, 2, NULL, 0, &at, 1), 0);
}

graft_out graftI_zeros(graft_graph *g, graft_dtype dt, const int64_t *dims, int rank)
{
    graft_shape s = graft_shape_make(rank, dims);
    int64_t cnt;
    if (rank < 0 || rank > GRAFT_MAX_DIMS || graft_shape_num_elements(&s, &cnt) != GRAFT_OK) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "zeros: bad shape");
        return graftI_o(NULL, 0);
    }
    bool fits = true;
    for (int i = 0; i < rank; i++) fits &= dims[i] <= INT32_MAX;
    if (cnt < 1000 || !fits) return graft_zeros(g, dt, dims, rank); /* a Const "zeros" */
    /* array_ops.zeros for 1000+ elements: scope "zeros" with "shape_as_tensor" and
     * "Const", and the Fill named after the scope itself */
    const char *sc = graft_graph_push_scope(g, "zeros");
    if (!sc) return graftI_o(NULL, 0);
    char full[520];
    snprintf(full, sizeof full, "%s", sc);
    int32_t d32[GRAFT_MAX_DIMS];
    for (int i = 0; i < rank; i++) d32[i] = (int32_t)dims[i];
    graft_name_next(g, "shape_as_tensor");
    graft_out shp = graft_const_i32_vec(g, d32, rank);
    graft_out zero = scalar_const(g, "Const", dt, 0.0);
    graft_graph_pop_scope(g);
    graft_out in[2] = {shp, zero};
    graftI_attr at[2] = {graftI_a_type("T", dt), graftI_a_type("index_type", GRAFT_INT32)};
    return graftI_o(graftI_verbatim_op(g, "Fill", full, in, 2, NULL, 0, at, 2), 0);
}

graft_out graftI_initializer_value(graft_graph *g, const graft_initializer *init, graft_dtype dt,
                                   const int64_t *dims, int rank, int64_t fan_in, int64_t fan_out)
{
    switch (init->kind) {
    case GRAFT_INIT_ZEROS: return graftI_zeros(g, dt, dims, rank);
    case GRAFT_INIT_CONSTANT: {
        graft_status st;
        graft_tensor *t = graft_tensor_new(dt, dims, rank, &st);
        if (!t) {
            graftI_graph_fail(g, st.code, "constant initializer: %s", st.msg);
            return graftI_o(NULL, 0);
        }
        int64_t n = graft_tensor_num_elements(t);
        if (dt == GRAFT_DOUBLE) {
            double *p = graft_tensor_data(t);
            for (int64_t i = 0; i < n; i++) p[i] = init->value;
        } else {
            float *p = graft_tensor_data(t);
            for (int64_t i = 0; i < n; i++) p[i] = (float)init->value;
        }
        graft_out o = graft_const(g, "Const", t);
        graft_tensor_free(t);
        return o;
    }
    case GRAFT_INIT_GLOROT_UNIFORM: {
        /* init_ops.VarianceScaling(scale=1, mode="fan_avg", distribution="uniform"):
         * limit = sqrt(3 * 1 / max(1, (fan_in + fan_out) / 2)) = sqrt(6 / (fan_in + fan_out)) */
        double n = ((double)fan_in + (double)fan_out) / 2.0;
        if (n < 1.0) n = 1.0;
        double limit = sqrt(3.0 / n);
        return random_uniform_sub(g, dt, dims, rank, -limit, limit, init->seed);
    }
    case GRAFT_INIT_RANDOM_UNIFORM:
        return random_uniform_sub(g, dt, dims, rank, init->minval, init->maxval, init->seed);
    case GRAFT_INIT_TRUNCATED_NORMAL:
        return truncated_normal_sub(g, dt, dims, rank, init->mean, init->stddev, init->seed);
    default:
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "initializer: unknown kind %d", (int)init->kind);
        return graftI_o(NULL, 0);
    }
}

graft_out graftI_build_var_init(graft_graph *g, void *ud)
{
    const graftI_var_init *v = ud;
    return graftI_initializer_value(g, &v->init, v->dt, v->dims, v->rank, v->fan_in, v->fan_out);
}

bool graftI_check_initializer(graft_graph *g, const char *layer, const char *what,
                              const graft_initializer *in)
{
    switch (in->kind) {
    case GRAFT_INIT_DEFAULT:
    case GRAFT_INIT_ZEROS:
    case GRAFT_INIT_GLOROT_UNIFORM: return true;
    case GRAFT_INIT_CONSTANT:
        if (isfinite(in->value)) return true;
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "%s: %s constant initializer: value must be finite",
                          layer, what);
        return false;
    case GRAFT_INIT_RANDOM_UNIFORM:
        if (isfinite(in->minval) && isfinite(in->maxval) && in->minval <= in->maxval) return true;
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG,
                          "%s: %s random uniform initializer: need finite minval <= maxval (%g vs %g)", layer,
                          what, in->minval, in->maxval);
        return false;
    case GRAFT_INIT_TRUNCATED_NORMAL:
        if (isfinite(in->mean) && isfinite(in->stddev) && in->stddev >= 0) return true;
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG,
                          "%s: %s truncated normal initializer: need finite mean and stddev >= 0 (stddev %g)",
                          layer, what, in->stddev);
        return false;
    default:
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "%s: %s initializer: unknown kind (0..%d vs %d)", layer,
                          what, (int)GRAFT_INIT_TRUNCATED_NORMAL, (int)in->kind);
        return false;
    }
}

const char *graftI_layer_scope(graft_graph *g, const char *name, const char *dflt, char *buf, size_t cap)
{
    if (name && !*name) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "%s: empty layer name", dflt);
        return NULL;
    }
    const char *sc = graft_graph_push_scope(g, name ? name : dflt);
    if (!sc) return NULL;
    snprintf(buf, cap, "%s", sc);
    return buf;
}

graft_out graftI_activation(graft_graph *g, graft_out x, graft_activation act)
{
    switch (act) {
    case GRAFT_ACT_NONE: return x;
    case GRAFT_ACT_RELU: return graft_relu(g, x);
    case GRAFT_ACT_RELU6: return graft_relu6(g, x);
    case GRAFT_ACT_SIGMOID: return graft_sigmoid(g, x);
    case GRAFT_ACT_TANH: return graft_tanh(g, x);
    case GRAFT_ACT_SOFTMAX: return graft_softmax(g, x);
    default:
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "activation: unknown value (0..%d vs %d)",
                          (int)GRAFT_ACT_SOFTMAX, (int)act);
        return graftI_o(NULL, 0);
    }
}
