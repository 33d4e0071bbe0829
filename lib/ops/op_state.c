/* lib/ops/op_state.c - sources and state: Placeholder, PlaceholderWithDefault,
 * Const, variables (VariableV2, Variable, VarHandleOp) and the ops that read
 * and write them (Assign*, ReadVariableOp, AssignVariableOp, ...), NoOp, with
 * their typed builders (graft_placeholder, graft_const, graft_variable_new, ...). */
#include "internal.h"

#include <stdio.h>

/* ---- shared infer helpers ----------------------------------------------------------- */
static graft_code out1(graft_op *op, graft_dtype dt, graft_shape sh)
{
    graft_code rc = graftI_set_outputs(op, 1);
    if (rc) return rc;
    op->out[0].dtype = dt;
    op->out[0].shape = sh;
    return GRAFT_OK;
}

static graft_shape attr_shape(const graft_op *op, const char *name)
{
    const graftI_attr *a = graftI_op_attr(op, name);
    return a && a->type == GRAFTI_ATTR_SHAPE ? a->v.shape : graft_shape_unknown();
}

static bool is_var(const graft_op *op) { return op && op->def && (op->def->flags & GRAFTI_OP_VARIABLE); }

/* ---- Placeholder --------------------------------------------------------------------- */
static const graftI_attr_spec placeholder_attrs[] = {
    {"dtype", GRAFTI_ATTR_TYPE, NULL}, {"shape", GRAFTI_ATTR_SHAPE, "?"}, {NULL, 0, NULL}};

static graft_code placeholder_infer(graft_op *op, graft_status *st)
{
    graft_dtype dt = graftI_attr_dt(op, "dtype", GRAFT_INVALID);
    if (!graft_dtype_valid(dt)) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "invalid dtype %d", (int)dt);
    return out1(op, dt, attr_shape(op, "shape"));
}

static graft_code placeholder_forward(graftI_kctx *k)
{
    return graftI_kfail(k, GRAFT_ERR_FAILED_PRECONDITION, "You must feed a value for placeholder tensor '%s' with dtype %s",
                        k->op->name, graftI_tf_dtype_string(k->op->out[0].dtype));
}

static const graftI_op_def op_placeholder = {"Placeholder", 0, 0, placeholder_attrs, GRAFTI_OP_PLACEHOLDER,
                                             placeholder_infer, placeholder_forward, NULL};

static graft_code pwd_infer(graft_op *op, graft_status *st)
{
    graft_dtype dt = graftI_attr_dt(op, "dtype", GRAFT_INVALID);
    if (dt != graftI_in_dtype(op, 0))
        return graft_status_set(st, GRAFT_ERR_DTYPE, "default is %s, dtype attr is %s",
                                graft_dtype_name(graftI_in_dtype(op, 0)), graft_dtype_name(dt));
    graft_shape s = attr_shape(op, "shape");
    if (!graftI_shape_compatible(&s, graftI_in_shape(op, 0)))
        return graft_status_set(st, GRAFT_ERR_SHAPE, "default value's shape does not match the shape attr");
    if (s.rank < 0) s = *graftI_in_shape(op, 0);
    return out1(op, dt, s);
}

static graft_code identity_forward(graftI_kctx *k)
{
    graftI_out_set(k, 0, graft_tensor_ref(k->in[0]));
    return GRAFT_OK;
}

static graft_code pwd_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    (void)g;
    (void)op;
    dx[0] = dy[0];
    return GRAFT_OK;
}

static const graftI_op_def op_placeholder_with_default = {"PlaceholderWithDefault", 1, 1, placeholder_attrs, 0,
                                                          pwd_infer, identity_forward, pwd_grad};

/* ---- Const --------------------------------------------------------------------------------- */
static const graftI_attr_spec const_attrs[] = {
    {"value", GRAFTI_ATTR_TENSOR, NULL}, {"dtype", GRAFTI_ATTR_TYPE, NULL}, {NULL, 0, NULL}};

static graft_code const_infer(graft_op *op, graft_status *st)
{
    const graft_tensor *t = graft_op_attr_tensor(op, "value");
    if (!t) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "missing value");
    graft_dtype dt = graftI_attr_dt(op, "dtype", GRAFT_INVALID);
    if (dt != t->dtype)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "dtype attr %s does not match the value's %s",
                                graft_dtype_name(dt), graft_dtype_name(t->dtype));
    return out1(op, dt, graftI_tensor_shape(t));
}

static graft_code const_forward(graftI_kctx *k)
{
    graft_tensor *t = (graft_tensor *)graft_op_attr_tensor(k->op, "value");
    graftI_out_set(k, 0, graft_tensor_ref(t));
    return GRAFT_OK;
}

static const graftI_op_def op_const = {"Const", 0, 0, const_attrs, GRAFTI_OP_NO_GRAD, const_infer, const_forward, NULL};

/* ---- variables ------------------------------------------------------------------------------ */
static const graftI_attr_spec var_attrs[] = {{"shape", GRAFTI_ATTR_SHAPE, NULL},
                                             {"dtype", GRAFTI_ATTR_TYPE, NULL},
                                             {"container", GRAFTI_ATTR_STRING, ""},
                                             {"shared_name", GRAFTI_ATTR_STRING, ""},
                                             {NULL, 0, NULL}};

static graft_code var_infer(graft_op *op, graft_status *st)
{
    graft_dtype dt = graftI_attr_dt(op, "dtype", GRAFT_INVALID);
    if (!graft_dtype_valid(dt)) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "invalid dtype %d", (int)dt);
    return out1(op, dt, attr_shape(op, "shape"));
}

/* Output 0 is the variable's storage itself (a ref), NULL while uninitialised. */
static graft_code var_forward(graftI_kctx *k)
{
    graft_tensor **slot = graftI_var_slot(k, k->op);
    if (!slot) return graftI_kfail(k, GRAFT_ERR_INTERNAL, "no variable slot");
    if (*slot) graftI_out_set(k, 0, graft_tensor_ref(*slot));
    return GRAFT_OK;
}

static const graftI_op_def op_variable_v2 = {"VariableV2", 0, 0, var_attrs, GRAFTI_OP_VARIABLE | GRAFTI_OP_STATEFUL,
                                             var_infer, var_forward, NULL};
static const graftI_op_def op_variable = {"Variable", 0, 0, var_attrs, GRAFTI_OP_VARIABLE | GRAFTI_OP_STATEFUL,
                                          var_infer, var_forward, NULL};

/* Resource variables: graft keeps no resource dtype; the handle's output carries
 * the value dtype and shape, and ReadVariableOp/AssignVariableOp reach the
 * storage through the handle op. */
static const graftI_attr_spec varhandle_attrs[] = {{"dtype", GRAFTI_ATTR_TYPE, NULL},
                                                   {"shape", GRAFTI_ATTR_SHAPE, NULL},
                                                   {"container", GRAFTI_ATTR_STRING, ""},
                                                   {"shared_name", GRAFTI_ATTR_STRING, ""},
                                                   {"allowed_devices", GRAFTI_ATTR_LIST_STRING, "[]"},
                                                   {NULL, 0, NULL}};
static const graftI_op_def op_var_handle = {"VarHandleOp", 0, 0, varhandle_attrs,
                                            GRAFTI_OP_VARIABLE | GRAFTI_OP_STATEFUL, var_infer, var_forward, NULL};

static graft_code need_var_input(graft_op *op, graft_status *st)
{
    if (!is_var(op->in[0].op) || op->in[0].index != 0)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "input 0 must be a variable, got '%s' (%s)",
                                op->in[0].op->name, op->in[0].op->type);
    return GRAFT_OK;
}

static const graftI_attr_spec readvar_attrs[] = {{"dtype", GRAFTI_ATTR_TYPE, NULL}, {NULL, 0, NULL}};

static graft_code readvar_infer(graft_op *op, graft_status *st)
{
    graft_code rc = need_var_input(op, st);
    if (rc) return rc;
    return out1(op, graftI_attr_dt(op, "dtype", graftI_in_dtype(op, 0)), *graftI_in_shape(op, 0));
}

/* The handle's output is the variable's value (its storage, or a fed value). */
static graft_code readvar_forward(graftI_kctx *k)
{
    if (!k->in[0])
        return graftI_kfail(k, GRAFT_ERR_FAILED_PRECONDITION, "Attempting to use uninitialized value %s",
                            k->op->in[0].op->name);
    graftI_out_set(k, 0, graft_tensor_ref(k->in[0]));
    return GRAFT_OK;
}

static graft_code readvar_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    (void)g;
    (void)op;
    dx[0] = dy[0];
    return GRAFT_OK;
}

static const graftI_op_def op_read_variable = {"ReadVariableOp", 1, 1, readvar_attrs, GRAFTI_OP_REF_INPUT0,
                                               readvar_infer, readvar_forward, readvar_grad};

/* ---- assignment ------------------------------------------------------------------------------ */
static const graftI_attr_spec assign_attrs[] = {{"T", GRAFTI_ATTR_TYPE, NULL},
                                                {"validate_shape", GRAFTI_ATTR_BOOL, "true"},
                                                {"use_locking", GRAFTI_ATTR_BOOL, "true"},
                                                {NULL, 0, NULL}};
static const graftI_attr_spec assign_add_attrs[] = {
    {"T", GRAFTI_ATTR_TYPE, NULL}, {"use_locking", GRAFTI_ATTR_BOOL, "false"}, {NULL, 0, NULL}};

static graft_code assign_infer(graft_op *op, graft_status *st)
{
    graft_code rc = need_var_input(op, st);
    if (rc) return rc;
    graft_dtype vt = graftI_in_dtype(op, 0), xt = graftI_in_dtype(op, 1);
    if (vt != xt)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "variable '%s' is %s, value is %s", op->in[0].op->name,
                                graft_dtype_name(vt), graft_dtype_name(xt));
    bool validate = graftI_attr_b(op, "validate_shape", true);
    if (validate && !graftI_shape_compatible(graftI_in_shape(op, 0), graftI_in_shape(op, 1))) {
        char a[128], b[128];
        return graft_status_set(st, GRAFT_ERR_SHAPE, "variable '%s' has shape %s, value has shape %s",
                                op->in[0].op->name, graft_shape_str(graftI_in_shape(op, 0), a, sizeof a),
                                graft_shape_str(graftI_in_shape(op, 1), b, sizeof b));
    }
    graft_shape s = *graftI_in_shape(op, 0);
    if (s.rank < 0 || !validate) s = *graftI_in_shape(op, 1);
    return out1(op, vt, s);
}

static graft_code assign_forward(graftI_kctx *k)
{
    graft_op *var = k->op->in[0].op;
    graft_tensor **slot = graftI_var_slot(k, var);
    graft_tensor *v = k->in[1];
    if (!slot) return graftI_kfail(k, GRAFT_ERR_INTERNAL, "no variable slot");
    bool validate = graftI_attr_b(k->op, "validate_shape", true);
    graft_shape declared = var->out[0].shape, got = graftI_tensor_shape(v);
    if (validate && !graftI_shape_compatible(&declared, &got)) {
        char a[128], b[128];
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "Assign requires shapes of both tensors to match. lhs shape= %s rhs shape= %s",
                            graft_shape_str(&declared, a, sizeof a), graft_shape_str(&got, b, sizeof b));
    }
    graft_tensor *cur = *slot;
    if (cur && cur->dtype == v->dtype && cur->n == v->n && cur->rank == v->rank && v->dtype != GRAFT_STRING &&
        memcmp(cur->dims, v->dims, sizeof cur->dims) == 0) {
        if (cur->data != v->data) memmove(cur->data, v->data, v->nbytes); /* in place: readers alias the storage */
    } else {
        graft_tensor *c = graft_tensor_copy(v, k->st);
        if (!c) return graftI_kfail(k, GRAFT_ERR_NOMEM, "cannot allocate storage for '%s'", var->name);
        graft_tensor_free(*slot);
        *slot = c;
    }
    graftI_out_set(k, 0, graft_tensor_ref(*slot));
    return GRAFT_OK;
}

static graft_code assign_update(graftI_kctx *k, double sign)
{
    graft_op *var = k->op->in[0].op;
    graft_tensor **slot = graftI_var_slot(k, var);
    if (!slot || !*slot)
        return graftI_kfail(k, GRAFT_ERR_FAILED_PRECONDITION, "Attempting to use uninitialized value %s", var->name);
    graft_tensor *cur = *slot, *v = k->in[1];
    if (cur->n != v->n || cur->rank != v->rank || memcmp(cur->dims, v->dims, sizeof cur->dims) != 0) {
        char a[128], b[128];
        graft_shape sa = graftI_tensor_shape(cur), sb = graftI_tensor_shape(v);
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "variable has shape %s, update has shape %s",
                            graft_shape_str(&sa, a, sizeof a), graft_shape_str(&sb, b, sizeof b));
    }
    int64_t n = cur->n;
    switch (cur->dtype) {
    case GRAFT_FLOAT: {
        float *d = cur->data;
        const float *s = v->data;
        float sg = (float)sign;
        for (int64_t i = 0; i < n; i++) d[i] += sg * s[i];
        break;
    }
    case GRAFT_DOUBLE: {
        double *d = cur->data;
        const double *s = v->data;
        for (int64_t i = 0; i < n; i++) d[i] += sign * s[i];
        break;
    }
    case GRAFT_INT32: {
        int32_t *d = cur->data;
        const int32_t *s = v->data;
        for (int64_t i = 0; i < n; i++) d[i] = (int32_t)((uint32_t)d[i] + (uint32_t)(sign > 0 ? s[i] : -(int64_t)s[i]));
        break;
    }
    case GRAFT_INT64: {
        int64_t *d = cur->data;
        const int64_t *s = v->data;
        for (int64_t i = 0; i < n; i++) d[i] = (int64_t)((uint64_t)d[i] + (uint64_t)(sign > 0 ? s[i] : -s[i]));
        break;
    }
    default: return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED, "dtype %s", graft_dtype_name(cur->dtype));
    }
    graftI_out_set(k, 0, graft_tensor_ref(cur));
    return GRAFT_OK;
}

static graft_code assign_add_forward(graftI_kctx *k) { return assign_update(k, 1.0); }
static graft_code assign_sub_forward(graftI_kctx *k) { return assign_update(k, -1.0); }

static graft_code assign_add_infer(graft_op *op, graft_status *st)
{
    graft_code rc = need_var_input(op, st);
    if (rc) return rc;
    if (graftI_in_dtype(op, 0) != graftI_in_dtype(op, 1))
        return graft_status_set(st, GRAFT_ERR_DTYPE, "variable is %s, value is %s",
                                graft_dtype_name(graftI_in_dtype(op, 0)), graft_dtype_name(graftI_in_dtype(op, 1)));
    if (!graftI_shape_compatible(graftI_in_shape(op, 0), graftI_in_shape(op, 1)))
        return graft_status_set(st, GRAFT_ERR_SHAPE, "variable and value shapes differ");
    return out1(op, graftI_in_dtype(op, 0), *graftI_in_shape(op, 0));
}

#define STATEFUL_REF (GRAFTI_OP_STATEFUL | GRAFTI_OP_REF_INPUT0 | GRAFTI_OP_NO_GRAD)
static const graftI_op_def op_assign = {"Assign", 2, 2, assign_attrs, STATEFUL_REF, assign_infer, assign_forward, NULL};
static const graftI_op_def op_assign_add = {"AssignAdd", 2, 2, assign_add_attrs, STATEFUL_REF, assign_add_infer,
                                            assign_add_forward, NULL};
static const graftI_op_def op_assign_sub = {"AssignSub", 2, 2, assign_add_attrs, STATEFUL_REF, assign_add_infer,
                                            assign_sub_forward, NULL};

static graft_code assignvar_infer(graft_op *op, graft_status *st)
{
    graft_code rc = need_var_input(op, st);
    if (rc) return rc;
    return graftI_set_outputs(op, 0);
}

static graft_code assignvar_forward(graftI_kctx *k)
{
    graft_op *var = k->op->in[0].op;
    graft_tensor **slot = graftI_var_slot(k, var);
    if (!slot) return graftI_kfail(k, GRAFT_ERR_INTERNAL, "no variable slot");
    graft_tensor *c = graft_tensor_copy(k->in[1], k->st);
    if (!c) return graftI_kfail(k, GRAFT_ERR_NOMEM, "cannot allocate storage for '%s'", var->name);
    graft_tensor_free(*slot);
    *slot = c;
    return GRAFT_OK;
}

static const graftI_op_def op_assign_variable = {"AssignVariableOp", 2, 2, readvar_attrs, STATEFUL_REF,
                                                 assignvar_infer, assignvar_forward, NULL};

static const graftI_attr_spec isinit_attrs[] = {{"dtype", GRAFTI_ATTR_TYPE, "float"}, {NULL, 0, NULL}};

static graft_code isinit_infer(graft_op *op, graft_status *st)
{
    graft_code rc = need_var_input(op, st);
    if (rc) return rc;
    return out1(op, GRAFT_BOOL, graft_shape_make(0, NULL));
}

static graft_code isinit_forward(graftI_kctx *k)
{
    graft_tensor **slot = graftI_var_slot(k, k->op->in[0].op);
    graft_tensor *t = graftI_out_alloc(k, 0, GRAFT_BOOL, NULL, 0, false);
    if (!t) return GRAFT_ERR_NOMEM;
    *(uint8_t *)t->data = slot && *slot ? 1 : 0;
    return GRAFT_OK;
}

static const graftI_op_def op_is_initialized = {"IsVariableInitialized", 1, 1, isinit_attrs,
                                                GRAFTI_OP_REF_INPUT0 | GRAFTI_OP_NO_GRAD, isinit_infer, isinit_forward,
                                                NULL};
static const graftI_attr_spec empty_attrs[] = {{NULL, 0, NULL}};
static const graftI_op_def op_var_is_initialized = {"VarIsInitializedOp", 1, 1, empty_attrs,
                                                    GRAFTI_OP_REF_INPUT0 | GRAFTI_OP_NO_GRAD, isinit_infer,
                                                    isinit_forward, NULL};

/* ---- NoOp ---------------------------------------------------------------------------------- */
static graft_code noop_infer(graft_op *op, graft_status *st)
{
    (void)st;
    return graftI_set_outputs(op, 0);
}
static graft_code noop_forward(graftI_kctx *k)
{
    (void)k;
    return GRAFT_OK;
}
static const graftI_op_def op_noop = {"NoOp", 0, 0, empty_attrs, GRAFTI_OP_NO_GRAD, noop_infer, noop_forward, NULL};

const graftI_op_def *const graftI_ops_state[] = {&op_placeholder, &op_placeholder_with_default, &op_const,
                                                 &op_variable_v2, &op_variable, &op_var_handle, &op_read_variable,
                                                 &op_assign, &op_assign_add, &op_assign_sub, &op_assign_variable,
                                                 &op_is_initialized, &op_var_is_initialized, &op_noop, NULL};

/* ---- typed builders ---------------------------------------------------------------------------- */
graft_out graft_placeholder(graft_graph *g, const char *name, graft_dtype dt, graft_shape shape)
{
    graftI_attr a[2] = {graftI_a_type("dtype", dt), graftI_a_shape("shape", shape)};
    if (name) graft_name_next(g, name);
    return graftI_o(graftI_make_op(g, "Placeholder", "Placeholder", NULL, 0, a, 2), 0);
}

graft_out graft_placeholder_with_default(graft_graph *g, const char *name, graft_out def, graft_shape shape)
{
    graftI_attr a[2] = {graftI_a_type("dtype", graft_out_dtype(def)), graftI_a_shape("shape", shape)};
    if (name) graft_name_next(g, name);
    return graftI_o(graftI_make_op(g, "PlaceholderWithDefault", "PlaceholderWithDefault", &def, 1, a, 2), 0);
}

graft_out graft_const(graft_graph *g, const char *name, graft_tensor *t)
{
    if (!t) {
        if (g) graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "graft_const: NULL tensor");
        graft_name_next(g, NULL);
        return graftI_o(NULL, 0);
    }
    graftI_attr a[2] = {graftI_a_tensor("value", t), graftI_a_type("dtype", t->dtype)};
    if (name) graft_name_next(g, name);
    return graftI_o(graftI_make_op(g, "Const", "Const", NULL, 0, a, 2), 0);
}

static graft_out const_scalar(graft_graph *g, graft_dtype dt, const void *v)
{
    graft_status st;
    graft_tensor *t = graft_tensor_new(dt, NULL, 0, &st);
    if (!t) {
        graftI_graph_fail(g, st.code, "%s", st.msg);
        return graftI_o(NULL, 0);
    }
    memcpy(t->data, v, graft_dtype_size(dt));
    graft_out o = graft_const(g, NULL, t);
    graft_tensor_free(t);
    return o;
}

graft_out graft_const_f32(graft_graph *g, float v) { return const_scalar(g, GRAFT_FLOAT, &v); }
graft_out graft_const_i32(graft_graph *g, int32_t v) { return const_scalar(g, GRAFT_INT32, &v); }
graft_out graft_const_i64(graft_graph *g, int64_t v) { return const_scalar(g, GRAFT_INT64, &v); }

graft_out graft_const_i32_vec(graft_graph *g, const int32_t *v, int n)
{
    graft_status st;
    int64_t d = n;
    graft_tensor *t = graft_tensor_new(GRAFT_INT32, &d, 1, &st);
    if (!t) {
        graftI_graph_fail(g, st.code, "%s", st.msg);
        return graftI_o(NULL, 0);
    }
    if (n) memcpy(t->data, v, (size_t)n * sizeof(int32_t));
    graft_out o = graft_const(g, NULL, t);
    graft_tensor_free(t);
    return o;
}

graft_out graft_zeros(graft_graph *g, graft_dtype dt, const int64_t *dims, int n)
{
    graft_shape s = graft_shape_make(n, dims);
    int64_t cnt;
    if (!g) return graftI_o(NULL, 0);
    if (n < 0 || n > GRAFT_MAX_DIMS || graft_shape_num_elements(&s, &cnt) != GRAFT_OK) {
        graftI_graph_fail(g, GRAFT_ERR_INVALID_ARG, "graft_zeros: bad shape");
        return graftI_o(NULL, 0);
    }
    if (cnt < 1000 || dt == GRAFT_STRING) {
        graft_status st;
        graft_tensor *t = graft_tensor_new(dt, dims, n, &st);
        if (!t) {
            graftI_graph_fail(g, st.code, "%s", st.msg);
            return graftI_o(NULL, 0);
        }
        graft_out o = graft_const(g, "zeros", t);
        graft_tensor_free(t);
        return o;
    }
    /* large: Fill(shape, 0) keeps the graph (and exported .meta) small, as tf.zeros does */
    graft_graph_push_scope(g, "zeros");
    int32_t d32[GRAFT_MAX_DIMS];
    for (int i = 0; i < n; i++) d32[i] = (int32_t)dims[i];
    graft_name_next(g, "shape_as_tensor");
    graft_out shp = graft_const_i32_vec(g, d32, n);
    graft_status st;
    graft_tensor *z = graft_tensor_new(dt, NULL, 0, &st);
    graft_name_next(g, "Const");
    graft_out zero = graft_const(g, "Const", z);
    graft_tensor_free(z);
    char fill_name[600];
    snprintf(fill_name, sizeof fill_name, "%s", graft_op_name(shp.op));
    char *slash = strrchr(fill_name, '/');
    if (slash) strcpy(slash, "/"); /* the Fill is named like its scope: ".../zeros" */
    graft_graph_pop_scope(g);
    if (graft_graph_status(g) != GRAFT_OK) return graftI_o(NULL, 0);
    graft_name_next(g, fill_name);
    return graft_fill(g, shp, zero);
}

graft_out graft_variable_new(graft_graph *g, const char *name, graft_out init, bool trainable, graft_variable *info)
{
    graft_out none = {NULL, 0};
    if (info) memset(info, 0, sizeof *info);
    if (!g || !init.op) {
        graft_name_next(g, NULL);
        return none;
    }
    if (graft_graph_status(g) != GRAFT_OK) return none;
    graft_shape s = graft_out_shape(init);
    graft_dtype dt = graft_out_dtype(init);
    if (!graftI_shape_known(&s)) {
        char b[128];
        graftI_graph_fail(g, GRAFT_ERR_SHAPE, "variable '%s': the initial value's shape %s must be fully known",
                          name ? name : "Variable", graft_shape_str(&s, b, sizeof b));
        return none;
    }
    graftI_attr a[2] = {graftI_a_shape("shape", s), graftI_a_type("dtype", dt)};
    graft_graph_push_control_deps(g, NULL, -1); /* TF makes variables under init_scope */
    graft_name_next(g, name ? name : "Variable");
    graft_op *var = graftI_make_op(g, "VariableV2", "Variable", NULL, 0, a, 2);
    if (!var) {
        graft_graph_pop_control_deps(g);
        return none;
    }
    char sc[520];
    snprintf(sc, sizeof sc, "%s/", var->name);
    /* a variable's scope re-enters the variable's own name, ignoring the current scope */
    graft_graph_push_scope(g, sc);
    graftI_attr aa[3] = {graftI_a_type("T", dt), graftI_a_bool("validate_shape", true), graftI_a_bool("use_locking", true)};
    graft_out in2[2] = {{var, 0}, init};
    graft_name_next(g, "Assign");
    graft_op *asg = graftI_make_op(g, "Assign", "Assign", in2, 2, aa, 3);
    graft_name_next(g, "read");
    graft_out rd = graft_identity(g, graftI_o(var, 0));
    graft_graph_pop_scope(g);
    graft_graph_pop_control_deps(g);
    if (!asg || !rd.op) return none;
    graft_variable v = {var, asg, rd, init, trainable};
    graft_status st;
    if (graft_graph_add_variable(g, &v, &st) != GRAFT_OK) {
        graftI_graph_fail(g, st.code, "%s", st.msg);
        return none;
    }
    if (info) *info = v;
    return rd;
}

graft_op *graft_group(graft_graph *g, const char *name, graft_op *const *ops, int n)
{
    if (!g) return NULL;
    graft_graph_push_control_deps(g, ops, n);
    if (name) graft_name_next(g, name);
    graft_op *op = graftI_make_op(g, "NoOp", "NoOp", NULL, 0, NULL, 0);
    graft_graph_pop_control_deps(g);
    return op;
}

graft_op *graft_variables_initializer(graft_graph *g, graft_op *const *vars, int n, const char *name)
{
    if (!g) return NULL;
    graft_op **inits = graftI_calloc((size_t)n + 1, sizeof *inits);
    if (!inits) {
        graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        graft_variable v;
        if (graft_graph_find_variable(g, vars[i], &v) && v.initializer) inits[k++] = v.initializer;
    }
    graft_op *op = graft_group(g, name ? name : "init", inits, k);
    graftI_free(inits);
    return op;
}

graft_op *graft_global_variables_initializer(graft_graph *g)
{
    if (!g) return NULL;
    int n = graft_graph_num_variables(g);
    graft_op **vars = graftI_calloc((size_t)n + 1, sizeof *vars);
    if (!vars) {
        graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        graft_variable v;
        graft_graph_variable_at(g, i, &v);
        vars[i] = v.var;
    }
    graft_op *op = graft_variables_initializer(g, vars, n, "init");
    graftI_free(vars);
    return op;
}

static graft_out assign_like(graft_graph *g, const char *type, graft_out ref, graft_out value)
{
    if (!ref.op || !value.op) return graftI_o(NULL, 0);
    graftI_attr a[2] = {graftI_a_type("T", graft_out_dtype(ref)), graftI_a_bool("use_locking", strcmp(type, "Assign") == 0)};
    graft_out in[2] = {ref, value};
    return graftI_o(graftI_make_op(g, type, type, in, 2, a, 2), 0);
}

graft_out graft_assign(graft_graph *g, graft_out ref, graft_out value) { return assign_like(g, "Assign", ref, value); }
graft_out graft_assign_add(graft_graph *g, graft_out ref, graft_out value) { return assign_like(g, "AssignAdd", ref, value); }
graft_out graft_assign_sub(graft_graph *g, graft_out ref, graft_out value) { return assign_like(g, "AssignSub", ref, value); }

/* ---- helper consts for builders (see lib/ops/helper_consts.h) ---------------------------------- */
graft_out graftI_helper_const(graft_graph *g, const char *name, graft_tensor *t)
{
    char *pending = graftI_take_next_name(g);
    graft_out o = graft_const(g, name, t);
    graftI_restore_next_name(g, pending);
    return o;
}
graft_out graftI_helper_const_f32(graft_graph *g, float v)
{
    char *pending = graftI_take_next_name(g);
    graft_out o = graft_const_f32(g, v);
    graftI_restore_next_name(g, pending);
    return o;
}
graft_out graftI_helper_const_i32(graft_graph *g, int32_t v)
{
    char *pending = graftI_take_next_name(g);
    graft_out o = graft_const_i32(g, v);
    graftI_restore_next_name(g, pending);
    return o;
}
graft_out graftI_helper_const_i64(graft_graph *g, int64_t v)
{
    char *pending = graftI_take_next_name(g);
    graft_out o = graft_const_i64(g, v);
    graftI_restore_next_name(g, pending);
    return o;
}
graft_out graftI_helper_const_i32_vec(graft_graph *g, const int32_t *v, int n)
{
    char *pending = graftI_take_next_name(g);
    graft_out o = graft_const_i32_vec(g, v, n);
    graftI_restore_next_name(g, pending);
    return o;
}
