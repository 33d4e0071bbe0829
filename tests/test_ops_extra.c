/* tests/test_ops_extra.c - lib/ops/op_extra.c against PyTorch/NumPy
 * (tests/data/ops_oracle_c.h, made by tests/data/ops_oracle_c.py) and
 * hand-derived values: the activations and their TF gradient ops, L2Loss,
 * OneHot, Gather/GatherV2 (+ gradient), UnsortedSegmentSum, SelectV2, SplitV,
 * their build- and run-time errors, and the TF 1.0 LeNet fixture that uses Elu. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/ops_oracle_c.h"
#include "internal.h"
#include "meta_run.h"
#include "opsb.h"

/* float32 results: inputs are float32-exact, the oracle is float64. */
#define TOL32 1e-5
#define TOL64 1e-12

static graft_tensor *from_orc(graft_dtype dt, const orc_arr *a)
{
    return graftT_opsb_tensor(dt, a->rank, a->dims, a->v);
}

static graft_out ph(graft_graph *g, const char *name, graft_dtype dt, const orc_arr *a)
{
    return graft_placeholder(g, name, dt, graft_shape_make(a->rank, a->dims));
}

/* A tensor of any fixed-size dtype (bool, uint8, ...) from doubles. */
static graft_tensor *bytes_tensor(graft_dtype dt, int rank, const int64_t *dims, const double *v)
{
    graft_status st;
    graft_tensor *t = graft_tensor_new(dt, dims, rank, &st);
    assert_non_null(t);
    uint8_t *d = graft_tensor_data(t);
    for (int64_t i = 0; i < graft_tensor_num_elements(t); i++) d[i] = (uint8_t)v[i];
    return t;
}

static bool has_type(graft_graph *g, const char *type)
{
    for (int i = 0; i < graft_graph_num_ops(g); i++)
        if (strcmp(graft_op_type(graft_graph_op_at(g, i)), type) == 0) return true;
    return false;
}

/* Builds an op through the generic builder; NULL (and st set) on failure. */
static graft_op *build(graft_graph *g, const char *type, const char *name, const graft_out *in, int n,
                       void (*attrs)(graft_op_builder *, const void *), const void *ud, graft_status *st)
{
    graft_op_builder *b = graft_op_builder_new(g, type, name);
    for (int i = 0; i < n; i++) graft_op_builder_add_input(b, in[i]);
    if (attrs) attrs(b, ud);
    return graft_op_builder_finish(b, st);
}

/* ---- activations ------------------------------------------------------------------------ */

static void test_activations(void **state)
{
    (void)state;
    static const struct {
        const char *fwd, *grad;
        const orc_arr *y, *dx;
        bool grad_uses_y; /* EluGrad/SeluGrad(dy, y); the others (dy, x) */
    } acts[] = {{"Elu", "EluGrad", &orc_act_elu_y, &orc_act_elu_dx, true},
                {"Selu", "SeluGrad", &orc_act_selu_y, &orc_act_selu_dx, true},
                {"Softplus", "SoftplusGrad", &orc_act_softplus_y, &orc_act_softplus_dx, false},
                {"Softsign", "SoftsignGrad", &orc_act_softsign_y, &orc_act_softsign_dx, false},
                {"LeakyRelu", "LeakyReluGrad", &orc_act_leaky_y, &orc_act_leaky_dx, false}};
    for (int dti = 0; dti < 2; dti++) {
        graft_dtype dt = dti ? GRAFT_DOUBLE : GRAFT_FLOAT;
        double tol = dti ? TOL64 : TOL32;
        for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
            graft_graph *g = graft_graph_new();
            graft_out x = ph(g, "x", dt, &orc_act_x), dy = ph(g, "dy", dt, &orc_act_dy);
            graft_out y = i == 0   ? graft_elu(g, x)
                          : i == 1 ? graft_selu(g, x)
                          : i == 2 ? graft_softplus(g, x)
                          : i == 3 ? graft_softsign(g, x)
                                   : graft_leaky_relu(g, x, 0.2f);
            assert_int_equal(graft_graph_status(g), GRAFT_OK);
            assert_string_equal(graft_op_type(y.op), acts[i].fwd);
            assert_int_equal(graft_out_shape(y).dims[1], 4);
            /* autodiff emits TF's gradient op with TF's operand order */
            graft_out dx;
            graft_status st;
            assert_int_equal(graft_gradients(g, &y, 1, &x, 1, &dy, &dx, &st), GRAFT_OK);
            assert_string_equal(graft_op_type(dx.op), acts[i].grad);
            assert_ptr_equal(graft_op_input(dx.op, 0).op, dy.op);
            assert_ptr_equal(graft_op_input(dx.op, 1).op, acts[i].grad_uses_y ? y.op : x.op);
            if (i == 4) {
                float a = 0;
                assert_true(graft_op_attr_float(dx.op, "alpha", &a));
                assert_true(a == 0.2f);
            }
            graft_tensor *vx = from_orc(dt, &orc_act_x), *vdy = from_orc(dt, &orc_act_dy);
            graft_out feeds[2] = {x, dy}, f[2] = {y, dx};
            graft_tensor *vals[2] = {vx, vdy}, *out[2] = {NULL, NULL};
            assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, f, out, 2, &st), GRAFT_OK);
            assert_int_equal(graft_tensor_dtype(out[0]), dt);
            assert_true(graftT_opsb_close(acts[i].fwd, out[0], acts[i].y->v, acts[i].y->n, tol, tol));
            assert_true(graftT_opsb_close(acts[i].grad, out[1], acts[i].dx->v, acts[i].dx->n, tol, tol));
            graft_tensor_free(out[0]);
            graft_tensor_free(out[1]);
            graft_tensor_free(vx);
            graft_tensor_free(vdy);
            graft_graph_free(g);
        }
    }
}

static void t_float_attrs(graft_op_builder *b, const void *ud)
{
    (void)ud;
    graft_op_builder_attr_type(b, "T", GRAFT_FLOAT);
}

static void leaky_attrs(graft_op_builder *b, const void *ud)
{
    (void)ud;
    graft_op_builder_attr_float(b, "alpha", 0.5f);
}

/* Hand-derived: Elu(-1) = e^-1 - 1, Selu(1) = scale, Selu(-1) = scale·alpha·(e^-1 - 1),
 * LeakyRelu with its default alpha 0.2 and with 0.5, Softsign(3) = 0.75,
 * Softplus(0) = log 2; the registered defaults (LeakyRelu: alpha 0.2, T float). */
static void test_activations_hand(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t d = 2;
    const double xv[2] = {-1.0, 1.0};
    graft_tensor *tx = graftT_opsb_tensor(GRAFT_DOUBLE, 1, &d, xv),
                 *tf = graftT_opsb_tensor(GRAFT_FLOAT, 1, &d, xv);
    graft_out x = graft_const(g, "x", tx), xf = graft_const(g, "xf", tf);
    graft_status st;
    /* LeakyRelu through the generic builder with no attrs: TF's defaults apply */
    graft_op *lk = build(g, "LeakyRelu", "lk", &xf, 1, NULL, NULL, &st);
    assert_non_null(lk);
    float a = 0;
    graft_dtype t = GRAFT_INVALID;
    assert_true(graft_op_attr_float(lk, "alpha", &a) && a == 0.2f);
    assert_true(graft_op_attr_type(lk, "T", &t) && t == GRAFT_FLOAT);
    graft_op *lk5 = build(g, "LeakyRelu", "lk5", &xf, 1, leaky_attrs, NULL, &st);
    assert_non_null(lk5);
    /* Elu has no default T: the generic builder requires it */
    assert_null(build(g, "Elu", "elu_no_t", &x, 1, NULL, NULL, &st));
    assert_non_null(strstr(st.msg, "missing required attr 'T'"));
    graft_out f[6] = {graft_elu(g, x),  graft_selu(g, x),     graftI_o(lk, 0),
                      graftI_o(lk5, 0), graft_softsign(g, x), graft_softplus(g, graft_sub(g, x, x))};
    graft_tensor *out[6] = {NULL};
    assert_int_equal(graftT_opsb_run(g, NULL, NULL, 0, f, out, 6, &st), GRAFT_OK);
    const double s = 1.0507009873554804934193349852946, sa = 1.7580993408473768599402175208123;
    const double elu[2] = {exp(-1.0) - 1.0, 1.0}, selu[2] = {sa * (exp(-1.0) - 1.0), s};
    const double lk02[2] = {-0.2, 1.0}, lk05[2] = {-0.5, 1.0}, ssn[2] = {-0.5, 0.5},
                 sp[2] = {log(2.0), log(2.0)};
    assert_true(graftT_opsb_close("Elu", out[0], elu, 2, 1e-15, 1e-15));
    assert_true(graftT_opsb_close("Selu", out[1], selu, 2, 1e-15, 1e-15));
    assert_true(graftT_opsb_close("LeakyRelu default", out[2], lk02, 2, 1e-7, 1e-7));
    assert_true(graftT_opsb_close("LeakyRelu 0.5", out[3], lk05, 2, 0, 0));
    assert_true(graftT_opsb_close("Softsign", out[4], ssn, 2, 0, 0));
    assert_true(graftT_opsb_close("Softplus(0)", out[5], sp, 2, 1e-15, 1e-15));
    for (int i = 0; i < 6; i++) graft_tensor_free(out[i]);

    /* dtype errors: ints are refused at build time, as TF's T constraint does */
    int64_t d1 = 3;
    graft_out xi = graft_placeholder(g, "xi", GRAFT_INT32, graft_shape_make(1, &d1));
    assert_false(graft_out_ok(graft_elu(g, xi)));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_DTYPE);
    assert_non_null(strstr(graft_graph_errmsg(g), "float32 or float64 vs int32"));
    graft_graph_clear_error(g);
    /* EluGrad inputs must have one shape */
    graft_out a3 = graft_placeholder(g, "a3", GRAFT_FLOAT, graft_shape_make(1, &d1));
    graft_out in2[2] = {a3, xf};
    assert_null(build(g, "EluGrad", "eg", in2, 2, t_float_attrs, NULL, &st));
    assert_int_equal(st.code, GRAFT_ERR_SHAPE);
    assert_non_null(strstr(st.msg, "input 1: shape differs from gradients' ([3] vs [2])"));
    graft_tensor_free(tx);
    graft_tensor_free(tf);
    graft_graph_free(g);
}

/* ---- L2Loss ------------------------------------------------------------------------------- */

static void test_l2loss(void **state)
{
    (void)state;
    for (int dti = 0; dti < 2; dti++) {
        graft_dtype dt = dti ? GRAFT_DOUBLE : GRAFT_FLOAT;
        graft_graph *g = graft_graph_new();
        graft_out x = ph(g, "x", dt, &orc_l2_x);
        graft_out y = graft_l2_loss(g, x);
        assert_int_equal(graft_out_shape(y).rank, 0);
        /* d/dx with dy = 3: 3x (TF's Mul(x, dy)) */
        graft_out dy = dti ? graftI_o(NULL, 0) : graft_const_f32(g, 3.0f);
        if (dti) {
            graft_status st0;
            graft_tensor *three = graft_tensor_new(GRAFT_DOUBLE, NULL, 0, &st0);
            *(double *)graft_tensor_data(three) = 3.0;
            dy = graft_const(g, "three", three);
            graft_tensor_free(three);
        }
        graft_out dx;
        graft_status st;
        assert_int_equal(graft_gradients(g, &y, 1, &x, 1, &dy, &dx, &st), GRAFT_OK);
        assert_string_equal(graft_op_type(dx.op), "Mul");
        graft_tensor *vx = from_orc(dt, &orc_l2_x), *out[2] = {NULL, NULL};
        graft_out f[2] = {y, dx};
        assert_int_equal(graftT_opsb_run(g, &x, &vx, 1, f, out, 2, &st), GRAFT_OK);
        assert_true(
            graftT_opsb_close("L2Loss", out[0], orc_l2_y.v, 1, dti ? TOL64 : TOL32, dti ? TOL64 : TOL32));
        double want[60];
        for (int i = 0; i < 60; i++) want[i] = 3.0 * orc_l2_x.v[i];
        assert_true(graftT_opsb_close("dL2Loss", out[1], want, 60, 0, dti ? 0 : 1e-7));
        graft_tensor_free(out[0]);
        graft_tensor_free(out[1]);
        graft_tensor_free(vx);
        graft_graph_free(g);
    }
    /* hand: [1, 2, 3] -> 7; empty -> 0 */
    graft_graph *g = graft_graph_new();
    int64_t d3 = 3, d0 = 0;
    const double v[3] = {1, 2, 3};
    graft_tensor *t3 = graftT_opsb_tensor(GRAFT_FLOAT, 1, &d3, v),
                 *t0 = graftT_opsb_tensor(GRAFT_FLOAT, 1, &d0, v);
    graft_out f[2] = {graft_l2_loss(g, graft_const(g, "a", t3)), graft_l2_loss(g, graft_const(g, "b", t0))};
    graft_tensor *out[2] = {NULL, NULL};
    graft_status st;
    assert_int_equal(graftT_opsb_run(g, NULL, NULL, 0, f, out, 2, &st), GRAFT_OK);
    const double seven = 7, zero = 0;
    assert_true(graftT_opsb_close("l2 [1,2,3]", out[0], &seven, 1, 0, 0));
    assert_true(graftT_opsb_close("l2 []", out[1], &zero, 1, 0, 0));
    graft_tensor_free(out[0]);
    graft_tensor_free(out[1]);
    graft_tensor_free(t3);
    graft_tensor_free(t0);
    graft_graph_free(g);
}

/* ---- OneHot ------------------------------------------------------------------------------- */

static void test_onehot(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof orc_onehot_cases / sizeof orc_onehot_cases[0]; c++) {
        const orc_onehot *oc = &orc_onehot_cases[c];
        for (int v = 0; v < 4; v++) {
            graft_dtype it = (v & 1) ? GRAFT_INT64 : GRAFT_INT32, ot = (v & 2) ? GRAFT_DOUBLE : GRAFT_FLOAT;
            graft_graph *g = graft_graph_new();
            graft_out ind = ph(g, "ind", it, &orc_onehot_indices);
            graft_out y =
                graft_one_hot(g, ind, orc_onehot_depth, orc_onehot_on, orc_onehot_off, oc->axis, ot);
            assert_int_equal(graft_graph_status(g), GRAFT_OK);
            assert_string_equal(graft_op_type(y.op), "OneHot");
            assert_string_equal(graft_op_name(y.op), "one_hot");
            graft_shape s = graft_out_shape(y);
            assert_int_equal(s.rank, 3);
            for (int d = 0; d < 3; d++) assert_int_equal(s.dims[d], oc->y->dims[d]);
            graft_tensor *vi = from_orc(it, &orc_onehot_indices), *out = NULL;
            graft_status st;
            assert_int_equal(graftT_opsb_run(g, &ind, &vi, 1, &y, &out, 1, &st), GRAFT_OK);
            assert_int_equal(graft_tensor_dtype(out), ot);
            char label[64];
            snprintf(label, sizeof label, "OneHot axis %d", oc->axis);
            assert_true(graftT_opsb_close(label, out, oc->y->v, oc->y->n, 0, 0));
            /* not differentiable: no gradient reaches on_value, and that is no error */
            graft_out on = graft_op_input(y.op, 2), don;
            assert_int_equal(graft_gradients(g, &y, 1, &on, 1, NULL, &don, &st), GRAFT_OK);
            assert_false(graft_out_ok(don));
            graft_tensor_free(out);
            graft_tensor_free(vi);
            graft_graph_free(g);
        }
    }
}

/* uint8 indices with 200 out of range, int32 and bool outputs, errors. */
static void test_onehot_hand(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t d4 = 4;
    const double iv[4] = {0, 3, 200, 1};
    graft_tensor *ti = bytes_tensor(GRAFT_UINT8, 1, &d4, iv);
    graft_out ind = graft_const(g, "ind", ti);
    graft_out y = graft_one_hot(g, ind, 4, 1, 0, -1, GRAFT_INT32);
    graft_out yb = graft_one_hot(g, ind, 4, 1, 0, 0, GRAFT_BOOL);
    graft_out z = graft_one_hot(g, ind, 0, 1, 0, -1, GRAFT_FLOAT); /* depth 0: shape [4, 0] */
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    graft_dtype ti_attr;
    assert_true(graft_op_attr_type(y.op, "TI", &ti_attr) && ti_attr == GRAFT_UINT8);
    graft_out f[3] = {y, yb, z};
    graft_tensor *out[3] = {NULL};
    graft_status st;
    assert_int_equal(graftT_opsb_run(g, NULL, NULL, 0, f, out, 3, &st), GRAFT_OK);
    const double want[16] = {1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0};
    assert_true(graftT_opsb_close("uint8 indices -> int32", out[0], want, 16, 0, 0));
    /* axis 0: the transpose of the above */
    const uint8_t *b = graft_tensor_cdata(out[1]);
    assert_int_equal(graft_tensor_dtype(out[1]), GRAFT_BOOL);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) assert_int_equal(b[r * 4 + c], want[c * 4 + r] != 0);
    assert_int_equal(graft_tensor_dim(out[2], 0), 4);
    assert_int_equal(graft_tensor_dim(out[2], 1), 0);
    for (int i = 0; i < 3; i++) graft_tensor_free(out[i]);

    /* build-time errors: negative constant depth, axis -2, non-scalar on_value */
    assert_false(graft_out_ok(graft_one_hot(g, ind, -1, 1, 0, -1, GRAFT_FLOAT)));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(graft_graph_errmsg(g), "depth: must be non-negative (>= 0 vs -1)"));
    graft_graph_clear_error(g);
    assert_false(graft_out_ok(graft_one_hot(g, ind, 3, 1, 0, -2, GRAFT_FLOAT)));
    assert_non_null(strstr(graft_graph_errmsg(g), "attr axis: out of range (-1 or [0, 1] vs -2)"));
    graft_graph_clear_error(g);
    graft_out vec = graft_const_i32_vec(g, (const int32_t[]){1, 2}, 2);
    graft_out in4[4] = {ind, graft_const_i32(g, 3), vec, vec};
    graft_op_builder *bl = graft_op_builder_new(g, "OneHot", "bad_on");
    for (int i = 0; i < 4; i++) graft_op_builder_add_input(bl, in4[i]);
    graft_op_builder_attr_type(bl, "T", GRAFT_INT32);
    graft_op_builder_attr_type(bl, "TI", GRAFT_UINT8);
    assert_null(graft_op_builder_finish(bl, &st));
    assert_int_equal(st.code, GRAFT_ERR_SHAPE);
    assert_non_null(strstr(st.msg, "on_value: must be a scalar"));

    /* run-time: a fed negative depth */
    graft_out dph = graft_placeholder(g, "depth", GRAFT_INT32, graft_shape_make(0, NULL));
    graft_out in5[4] = {ind, dph, graft_const_i32(g, 1), graft_const_i32(g, 0)};
    bl = graft_op_builder_new(g, "OneHot", "fed_depth");
    for (int i = 0; i < 4; i++) graft_op_builder_add_input(bl, in5[i]);
    graft_op_builder_attr_type(bl, "T", GRAFT_INT32);
    graft_op_builder_attr_type(bl, "TI", GRAFT_UINT8);
    graft_op *oh = graft_op_builder_finish(bl, &st);
    assert_non_null(oh);
    assert_int_equal(graft_out_shape(graftI_o(oh, 0)).dims[1], -1);
    const double m2 = -2;
    graft_tensor *vd = graftT_opsb_tensor(GRAFT_INT32, 0, NULL, &m2), *o = NULL;
    graft_out fo = graftI_o(oh, 0);
    assert_int_equal(graftT_opsb_run(g, &dph, &vd, 1, &fo, &o, 1, &st), GRAFT_ERR_INVALID_ARG);
    assert_null(o);
    assert_non_null(strstr(st.msg, "fed_depth (OneHot)"));
    assert_non_null(strstr(st.msg, "(>= 0 vs -2)"));
    graft_tensor_free(vd);
    graft_tensor_free(ti);
    graft_graph_free(g);
}

/* ---- Gather / GatherV2 ------------------------------------------------------------------------ */

static void test_gather(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof orc_gather_cases / sizeof orc_gather_cases[0]; c++) {
        const orc_gather *gc = &orc_gather_cases[c];
        for (int v = 0; v < 4; v++) {
            graft_dtype it = (v & 1) ? GRAFT_INT64 : GRAFT_INT32, dt = (v & 2) ? GRAFT_DOUBLE : GRAFT_FLOAT;
            double tol = (v & 2) ? TOL64 : TOL32;
            graft_graph *g = graft_graph_new();
            graft_out p = ph(g, "params", dt, &orc_gather_params), ind = ph(g, "ind", it, gc->idx);
            graft_out dy = ph(g, "dy", dt, gc->dy);
            graft_out y = graft_gather(g, p, ind, gc->axis);
            assert_int_equal(graft_graph_status(g), GRAFT_OK);
            assert_string_equal(graft_op_type(y.op), "GatherV2");
            graft_shape s = graft_out_shape(y);
            assert_int_equal(s.rank, gc->y->rank);
            for (int d = 0; d < s.rank; d++) assert_int_equal(s.dims[d], gc->y->dims[d]);
            graft_out dp;
            graft_status st;
            assert_int_equal(graft_gradients(g, &y, 1, &p, 1, &dy, &dp, &st), GRAFT_OK);
            assert_true(has_type(g, "UnsortedSegmentSum"));
            s = graft_out_shape(dp);
            assert_int_equal(s.rank, 3);
            for (int d = 0; d < 3; d++) assert_int_equal(s.dims[d], orc_gather_params.dims[d]);
            graft_tensor *vp = from_orc(dt, &orc_gather_params), *vi = from_orc(it, gc->idx),
                         *vdy = from_orc(dt, gc->dy);
            graft_out feeds[3] = {p, ind, dy}, f[2] = {y, dp};
            graft_tensor *vals[3] = {vp, vi, vdy}, *out[2] = {NULL, NULL};
            assert_int_equal(graftT_opsb_run(g, feeds, vals, 3, f, out, 2, &st), GRAFT_OK);
            char label[64];
            snprintf(label, sizeof label, "GatherV2 axis %d", gc->axis);
            assert_true(graftT_opsb_close(label, out[0], gc->y->v, gc->y->n, 0, 0));
            snprintf(label, sizeof label, "GatherV2 axis %d dparams", gc->axis);
            assert_true(graftT_opsb_close(label, out[1], gc->dparams->v, gc->dparams->n, tol, tol));
            graft_tensor_free(out[0]);
            graft_tensor_free(out[1]);
            graft_tensor_free(vp);
            graft_tensor_free(vi);
            graft_tensor_free(vdy);
            graft_graph_free(g);
        }
    }
}

static void gather_v1_attrs(graft_op_builder *b, const void *ud)
{
    (void)ud;
    graft_op_builder_attr_type(b, "Tparams", GRAFT_FLOAT);
    graft_op_builder_attr_type(b, "Tindices", GRAFT_INT32);
}

static void gather_bd_attrs(graft_op_builder *b, const void *ud)
{
    (void)ud;
    graft_op_builder_attr_type(b, "Tparams", GRAFT_FLOAT);
    graft_op_builder_attr_type(b, "Tindices", GRAFT_INT32);
    graft_op_builder_attr_type(b, "Taxis", GRAFT_INT32);
    graft_op_builder_attr_int(b, "batch_dims", 1);
}

/* The v1 Gather (no axis input), int params, and the errors: an index out of
 * range names its position as TF's CPU kernel does. */
static void test_gather_v1_and_errors(void **state)
{
    (void)state;
    const orc_gather *a0 = &orc_gather_cases[0];
    graft_graph *g = graft_graph_new();
    graft_out p = ph(g, "params", GRAFT_FLOAT, &orc_gather_params), ind = ph(g, "ind", GRAFT_INT32, a0->idx);
    graft_status st;
    graft_out in2[2] = {p, ind};
    graft_op *v1 = build(g, "Gather", "g1", in2, 2, gather_v1_attrs, NULL, &st);
    assert_non_null(v1);
    bool vi_attr = false;
    assert_true(graft_op_attr_bool(v1, "validate_indices", &vi_attr) && vi_attr);
    graft_out y1 = graftI_o(v1, 0);
    assert_int_equal(graft_out_shape(y1).dims[0], 3);
    graft_tensor *vp = from_orc(GRAFT_FLOAT, &orc_gather_params), *vi = from_orc(GRAFT_INT32, a0->idx),
                 *out = NULL;
    graft_out feeds[2] = {p, ind};
    graft_tensor *vals[2] = {vp, vi};
    assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, &y1, &out, 1, &st), GRAFT_OK);
    assert_true(graftT_opsb_close("Gather v1", out, a0->y->v, a0->y->n, 0, 0));
    graft_tensor_free(out);
    graft_tensor_free(vi);

    /* out of range: [[1, 4], [0, 2]] against 4 rows: indices[0,1] = 4 */
    int64_t d22[2] = {2, 2};
    graft_out ind2 = graft_placeholder(g, "ind2", GRAFT_INT64, graft_shape_make(2, d22));
    graft_out y2 = graft_gather(g, p, ind2, 0);
    const double bad[4] = {1, 4, 0, 2}, neg[4] = {1, 0, -1, 2};
    vi = graftT_opsb_tensor(GRAFT_INT64, 2, d22, bad);
    feeds[1] = ind2;
    vals[1] = vi;
    assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, &y2, &out, 1, &st), GRAFT_ERR_INVALID_ARG);
    assert_null(out);
    assert_non_null(strstr(st.msg, "GatherV2 (GatherV2)"));
    assert_non_null(strstr(st.msg, "indices[0,1] = 4 is not in [0, 4)"));
    graft_tensor_free(vi);
    vi = graftT_opsb_tensor(GRAFT_INT64, 2, d22, neg);
    vals[1] = vi;
    assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, &y2, &out, 1, &st), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(st.msg, "indices[1,0] = -1 is not in [0, 4)"));
    graft_tensor_free(vi);
    /* a scalar index names no position */
    graft_out y3 = graft_gather(g, p, graft_const_i32(g, 9), 2);
    assert_int_equal(graft_out_shape(y3).rank, 2);
    assert_int_equal(graftT_opsb_run(g, feeds, vals, 1, &y3, &out, 1, &st), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(st.msg, "indices = 9 is not in [0, 5)"));

    /* build time: axis out of range, batch_dims != 0, float indices, scalar params */
    assert_false(graft_out_ok(graft_gather(g, p, ind, 3)));
    assert_non_null(strstr(graft_graph_errmsg(g), "axis: out of range ([-3, 3) vs 3)"));
    graft_graph_clear_error(g);
    graft_out in3[3] = {p, ind, graft_const_i32(g, 0)};
    assert_null(build(g, "GatherV2", "bd", in3, 3, gather_bd_attrs, NULL, &st));
    assert_int_equal(st.code, GRAFT_ERR_UNSUPPORTED);
    assert_non_null(strstr(st.msg, "batch_dims"));
    assert_false(graft_out_ok(graft_gather(g, p, p, 0)));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_DTYPE);
    graft_graph_clear_error(g);
    assert_false(graft_out_ok(graft_gather(g, graft_const_f32(g, 1.0f), ind, 0)));
    assert_non_null(strstr(graft_graph_errmsg(g), "at least 1-dimensional"));
    graft_graph_clear_error(g);

    /* int32 params (an embedding of ids), hand-checked */
    int64_t d3 = 3;
    const double pv[3] = {10, 20, 30};
    graft_tensor *tp = graftT_opsb_tensor(GRAFT_INT32, 1, &d3, pv);
    graft_out y4 =
        graft_gather(g, graft_const(g, "ip", tp), graft_const_i32_vec(g, (const int32_t[]){2, 2, 0}, 3), 0);
    assert_int_equal(graftT_opsb_run(g, NULL, NULL, 0, &y4, &out, 1, &st), GRAFT_OK);
    const double want[3] = {30, 30, 10};
    assert_int_equal(graft_tensor_dtype(out), GRAFT_INT32);
    assert_true(graftT_opsb_close("int32 gather", out, want, 3, 0, 0));
    graft_tensor_free(out);
    graft_tensor_free(tp);
    graft_tensor_free(vp);
    graft_graph_free(g);
}

/* ---- UnsortedSegmentSum ------------------------------------------------------------------------ */

static void uss_attrs(graft_op_builder *b, const void *ud)
{
    const graft_dtype *dts = ud;
    graft_op_builder_attr_type(b, "T", dts[0]);
    graft_op_builder_attr_type(b, "Tindices", dts[1]);
    graft_op_builder_attr_type(b, "Tnumsegments", GRAFT_INT32);
}

static void test_uss(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof orc_uss_cases / sizeof orc_uss_cases[0]; c++) {
        const orc_uss *uc = &orc_uss_cases[c];
        for (int v = 0; v < 4; v++) {
            graft_dtype dts[2] = {(v & 2) ? GRAFT_DOUBLE : GRAFT_FLOAT, (v & 1) ? GRAFT_INT64 : GRAFT_INT32};
            double tol = (v & 2) ? TOL64 : TOL32;
            graft_graph *g = graft_graph_new();
            graft_out in[3] = {ph(g, "data", dts[0], uc->data), ph(g, "ids", dts[1], uc->ids),
                               graft_const_i32(g, uc->num)};
            graft_status st;
            graft_op *op = build(g, "UnsortedSegmentSum", "uss", in, 3, uss_attrs, dts, &st);
            assert_non_null(op);
            graft_out y = graftI_o(op, 0);
            graft_shape s = graft_out_shape(y);
            assert_int_equal(s.rank, uc->y->rank);
            for (int d = 0; d < s.rank; d++) assert_int_equal(s.dims[d], uc->y->dims[d]);
            graft_tensor *vd = from_orc(dts[0], uc->data), *vi = from_orc(dts[1], uc->ids), *out = NULL;
            graft_tensor *vals[2] = {vd, vi};
            assert_int_equal(graftT_opsb_run(g, in, vals, 2, &y, &out, 1, &st), GRAFT_OK);
            assert_true(graftT_opsb_close("UnsortedSegmentSum", out, uc->y->v, uc->y->n, tol, tol));
            graft_tensor_free(out);
            /* an id >= num_segments is an error naming it; negative ones were dropped above */
            double ids[6];
            for (int i = 0; i < uc->ids->n; i++) ids[i] = uc->ids->v[i];
            ids[uc->ids->n - 1] = uc->num;
            graft_tensor_free(vi);
            vi = graftT_opsb_tensor(dts[1], uc->ids->rank, uc->ids->dims, ids);
            vals[1] = vi;
            assert_int_equal(graftT_opsb_run(g, in, vals, 2, &y, &out, 1, &st), GRAFT_ERR_INVALID_ARG);
            char want[96];
            snprintf(want, sizeof want, "segment_ids%s = %d is out of range [0, %d)",
                     c == 0 ? "[5]" : "[1,2]", uc->num, uc->num);
            assert_non_null(strstr(st.msg, want));
            graft_tensor_free(vd);
            graft_tensor_free(vi);
            graft_graph_free(g);
        }
    }
    /* int32 data (wrapping adds) and build-time errors */
    graft_graph *g = graft_graph_new();
    int64_t d4 = 4, d3 = 3;
    const double dv[4] = {1, 2, 3, 4}, iv[4] = {1, 1, -1, 0};
    graft_tensor *td = graftT_opsb_tensor(GRAFT_INT32, 1, &d4, dv),
                 *tids = graftT_opsb_tensor(GRAFT_INT32, 1, &d4, iv);
    graft_out in[3] = {graft_const(g, "d", td), graft_const(g, "i", tids), graft_const_i32(g, 3)};
    graft_dtype dts[2] = {GRAFT_INT32, GRAFT_INT32};
    graft_status st;
    graft_op *op = build(g, "UnsortedSegmentSum", "uss", in, 3, uss_attrs, dts, &st);
    assert_non_null(op);
    graft_out y = graftI_o(op, 0);
    graft_tensor *out = NULL;
    assert_int_equal(graftT_opsb_run(g, NULL, NULL, 0, &y, &out, 1, &st), GRAFT_OK);
    const double want[3] = {4, 3, 0};
    assert_true(graftT_opsb_close("int32 uss", out, want, 3, 0, 0));
    graft_tensor_free(out);
    in[1] = graft_placeholder(g, "ids3", GRAFT_INT32, graft_shape_make(1, &d3));
    assert_null(build(g, "UnsortedSegmentSum", "bad", in, 3, uss_attrs, dts, &st));
    assert_int_equal(st.code, GRAFT_ERR_SHAPE);
    assert_non_null(strstr(st.msg, "not a prefix of data's ([4] vs [3])"));
    graft_tensor_free(td);
    graft_tensor_free(tids);
    graft_graph_free(g);
}

/* ---- SelectV2 -------------------------------------------------------------------------------- */

static void select_attrs(graft_op_builder *b, const void *ud)
{
    graft_op_builder_attr_type(b, "T", *(const graft_dtype *)ud);
}

static void test_select_v2(void **state)
{
    (void)state;
    for (int dti = 0; dti < 3; dti++) {
        graft_dtype dt = dti == 0 ? GRAFT_FLOAT : dti == 1 ? GRAFT_DOUBLE : GRAFT_INT64;
        graft_graph *g = graft_graph_new();
        graft_out in[3] = {ph(g, "c", GRAFT_BOOL, &orc_sel_cond), ph(g, "t", dt, &orc_sel_t),
                           ph(g, "e", dt, &orc_sel_e)};
        graft_status st;
        graft_op *op = build(g, "SelectV2", "sel", in, 3, select_attrs, &dt, &st);
        assert_non_null(op);
        graft_out y = graftI_o(op, 0);
        graft_shape s = graft_out_shape(y);
        assert_int_equal(s.rank, 3);
        for (int d = 0; d < 3; d++) assert_int_equal(s.dims[d], orc_sel_y.dims[d]);
        graft_tensor *vals[3] = {bytes_tensor(GRAFT_BOOL, 3, orc_sel_cond.dims, orc_sel_cond.v), NULL, NULL},
                     *out = NULL;
        double tv[8], ev[3], yv[24];
        /* int64: the same pattern with the values scaled to integers */
        for (int i = 0; i < 8; i++) tv[i] = dti == 2 ? floor(orc_sel_t.v[i] * 1000) : orc_sel_t.v[i];
        for (int i = 0; i < 3; i++) ev[i] = dti == 2 ? floor(orc_sel_e.v[i] * 1000) : orc_sel_e.v[i];
        for (int i = 0; i < 24; i++) yv[i] = dti == 2 ? floor(orc_sel_y.v[i] * 1000) : orc_sel_y.v[i];
        vals[1] = graftT_opsb_tensor(dt, 2, orc_sel_t.dims, tv);
        vals[2] = graftT_opsb_tensor(dt, 3, orc_sel_e.dims, ev);
        assert_int_equal(graftT_opsb_run(g, in, vals, 3, &y, &out, 1, &st), GRAFT_OK);
        assert_true(graftT_opsb_close("SelectV2", out, yv, 24, 0, 0));
        graft_tensor_free(out);
        for (int i = 0; i < 3; i++) graft_tensor_free(vals[i]);
        /* incompatible: t [2,4] with e [3,1,3] */
        if (dti == 0) {
            int64_t de[3] = {3, 1, 3};
            graft_out in2[3] = {in[0], in[1], graft_placeholder(g, "e2", dt, graft_shape_make(3, de))};
            assert_null(build(g, "SelectV2", "bad", in2, 3, select_attrs, &dt, &st));
            assert_int_equal(st.code, GRAFT_ERR_SHAPE);
            assert_non_null(strstr(st.msg, "do not broadcast ([3,1,4], [2,4], [3,1,3])"));
        }
        graft_graph_free(g);
    }
}

/* ---- SplitV ---------------------------------------------------------------------------------- */

typedef struct splitv_cfg {
    int n;
    graft_dtype tlen;
} splitv_cfg;

static void splitv_attrs(graft_op_builder *b, const void *ud)
{
    const splitv_cfg *c = ud;
    graft_op_builder_attr_int(b, "num_split", c->n);
    graft_op_builder_attr_type(b, "T", GRAFT_FLOAT);
    if (c->tlen != GRAFT_INVALID) graft_op_builder_attr_type(b, "Tlen", c->tlen);
}

static graft_out int_vec(graft_graph *g, graft_dtype dt, const double *v, int64_t n)
{
    graft_tensor *t = graftT_opsb_tensor(dt, 1, &n, v);
    graft_out o = graft_const(g, NULL, t);
    graft_tensor_free(t);
    return o;
}

static void test_splitv(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_out x = ph(g, "x", GRAFT_FLOAT, &orc_splitv_x);
    graft_status st;
    /* sizes {2, -1, 3} on axis 1 (int32 sizes), {1, 2} on axis -2 (int64, Tlen's default) */
    const double s1[3] = {2, -1, 3}, s0[2] = {1, 2};
    splitv_cfg c3 = {3, GRAFT_INT32}, c2 = {2, GRAFT_INVALID};
    graft_out in1[3] = {x, int_vec(g, GRAFT_INT32, s1, 3), graft_const_i32(g, 1)};
    graft_out in0[3] = {x, int_vec(g, GRAFT_INT64, s0, 2), graft_const_i32(g, -2)};
    graft_op *a1 = build(g, "SplitV", "a1", in1, 3, splitv_attrs, &c3, &st);
    assert_non_null(a1);
    graft_op *a0 = build(g, "SplitV", "a0", in0, 3, splitv_attrs, &c2, &st);
    assert_non_null(a0);
    graft_dtype tl;
    assert_true(graft_op_attr_type(a0, "Tlen", &tl) && tl == GRAFT_INT64);
    /* the -1 is resolved statically */
    assert_int_equal(graft_op_num_outputs(a1), 3);
    assert_int_equal(graft_out_shape(graftI_o(a1, 1)).dims[1], 2);
    assert_int_equal(graft_out_shape(graftI_o(a0, 1)).dims[0], 2);
    graft_out f[5] = {graftI_o(a1, 0), graftI_o(a1, 1), graftI_o(a1, 2), graftI_o(a0, 0), graftI_o(a0, 1)};
    const orc_arr *want[5] = {&orc_splitv_a1_0, &orc_splitv_a1_1, &orc_splitv_a1_2, &orc_splitv_a0_0,
                              &orc_splitv_a0_1};
    graft_tensor *vx = from_orc(GRAFT_FLOAT, &orc_splitv_x), *out[5] = {NULL};
    assert_int_equal(graftT_opsb_run(g, &x, &vx, 1, f, out, 5, &st), GRAFT_OK);
    for (int i = 0; i < 5; i++) {
        graft_shape s = graft_tensor_shape(out[i]);
        assert_int_equal(s.dims[0], want[i]->dims[0]);
        assert_int_equal(s.dims[1], want[i]->dims[1]);
        assert_true(graftT_opsb_close("SplitV", out[i], want[i]->v, want[i]->n, 0, 0));
        graft_tensor_free(out[i]);
    }

    /* build time: two -1, sizes not adding up, wrong count */
    const double two_neg[3] = {-1, 2, -1}, short_[3] = {1, 1, 1};
    graft_out bad[3] = {x, int_vec(g, GRAFT_INT32, two_neg, 3), graft_const_i32(g, 1)};
    assert_null(build(g, "SplitV", "b1", bad, 3, splitv_attrs, &c3, &st));
    assert_non_null(strstr(st.msg, "only one value may be -1 (second one at index 2)"));
    bad[1] = int_vec(g, GRAFT_INT32, short_, 3);
    assert_null(build(g, "SplitV", "b2", bad, 3, splitv_attrs, &c3, &st));
    assert_non_null(strstr(st.msg, "split dimension (7)"));
    assert_non_null(strstr(st.msg, "(vs 3)"));
    /* int32 sizes against Tlen's default int64; then 3 sizes for num_split 2 */
    assert_null(build(g, "SplitV", "b3", bad, 3, splitv_attrs, &c2, &st));
    assert_int_equal(st.code, GRAFT_ERR_DTYPE);
    assert_non_null(strstr(st.msg, "size_splits: dtype differs from attr Tlen (int64 vs int32)"));
    splitv_cfg c2i = {2, GRAFT_INT32};
    assert_null(build(g, "SplitV", "b4", bad, 3, splitv_attrs, &c2i, &st));
    assert_int_equal(st.code, GRAFT_ERR_SHAPE);
    assert_non_null(strstr(st.msg, "num_split elements ([2] vs [3])"));

    /* run time: fed sizes that overshoot */
    int64_t d3 = 3;
    graft_out sz = graft_placeholder(g, "sizes", GRAFT_INT32, graft_shape_make(1, &d3));
    graft_out in2[3] = {x, sz, graft_const_i32(g, 1)};
    graft_op *fed = build(g, "SplitV", "fed", in2, 3, splitv_attrs, &c3, &st);
    assert_non_null(fed);
    assert_int_equal(graft_out_shape(graftI_o(fed, 0)).dims[1], -1);
    const double over[3] = {4, -1, 4};
    graft_tensor *vs = graftT_opsb_tensor(GRAFT_INT32, 1, &d3, over), *o = NULL;
    graft_out feeds[2] = {x, sz}, fo = graftI_o(fed, 0);
    graft_tensor *vals[2] = {vx, vs};
    assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, &fo, &o, 1, &st), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(st.msg, "fed (SplitV)"));
    assert_non_null(strstr(st.msg, "(vs 8)"));
    graft_tensor_free(vs);
    graft_tensor_free(vx);
    graft_graph_free(g);
}

/* ---- the TF 1.0 LeNet fixture (Elu, EluGrad) ------------------------------------------------ */

/* lenet_traffic_tf10 was written by TensorFlow 1.0 with Elu activations and
 * tf.train.AdamOptimizer. Import it, restore it, and check that: nothing is
 * inert any more; the logits are finite; Elu and EluGrad (built by TF's own
 * gradient code) match their formulas on the real activations; and a training
 * step runs and keeps the weights finite. There is no reference output. */
static void test_lenet_tf10(void **state)
{
    (void)state;
    char meta[1024], prefix[1024];
    snprintf(meta, sizeof meta, "%s/tf1/lenet_traffic_tf10/model.ckpt.meta", GRAFT_FIXTURES_DIR);
    snprintf(prefix, sizeof prefix, "%s/tf1/lenet_traffic_tf10/model.ckpt", GRAFT_FIXTURES_DIR);
    graft_graph *g = graft_graph_new();
    graft_meta_import *imp = NULL;
    graft_status st;
    if (graft_import_meta_graph(g, meta, NULL, &imp, &st)) fail_msg("%s", st.msg);
    for (int i = 0; i < graft_meta_import_num_inert_types(imp); i++) {
        int n = 0;
        printf("inert: %s x%d\n", graft_meta_import_inert_type(imp, i, &n), n);
    }
    assert_int_equal(graft_meta_import_num_inert_types(imp), 0);
    graft_saver_free(graft_meta_import_take_saver(imp));
    graft_meta_import_free(imp);
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_non_null(s);
    assert_int_equal(meta_restore_by_name(s, g, prefix), 32);

    enum { B = 3 };
    int64_t xd[4] = {B, 32, 32, 1}, ld[2] = {B, 43};
    static double xv[B * 32 * 32], lv[B * 43];
    for (int i = 0; i < B * 32 * 32; i++) xv[i] = sin(0.37 * i) * 0.8;
    for (int i = 0; i < B * 43; i++) lv[i] = (i % 43) == (i / 43) * 7 ? 1.0 : 0.0;
    graft_tensor *tx = graftT_opsb_tensor(GRAFT_FLOAT, 4, xd, xv),
                 *tl = graftT_opsb_tensor(GRAFT_INT32, 2, ld, lv);
    static const char *const names[] = {"Add_2:0", "BiasAdd:0",
                                        "Elu:0",   "gradients/MaxPool_1_grad/MaxPoolGrad:0",
                                        "Elu_1:0", "gradients/Elu_1_grad/EluGrad:0"};
    graft_out feeds[2], f[6];
    assert_int_equal(graft_graph_tensor(g, "Placeholder:0", &feeds[0], &st), GRAFT_OK);
    assert_int_equal(graft_graph_tensor(g, "Placeholder_1:0", &feeds[1], &st), GRAFT_OK);
    for (int i = 0; i < 6; i++) assert_int_equal(graft_graph_tensor(g, names[i], &f[i], &st), GRAFT_OK);
    graft_tensor *vals[2] = {tx, tl}, *out[6] = {NULL};
    if (graft_session_run(s, feeds, vals, 2, f, out, 6, NULL, 0, &st)) fail_msg("%s", st.msg);
    /* logits [B, 43], finite */
    assert_int_equal(graft_tensor_dim(out[0], 0), B);
    assert_int_equal(graft_tensor_dim(out[0], 1), 43);
    double amax = 0;
    for (int64_t i = 0; i < graft_tensor_num_elements(out[0]); i++) {
        double v = graftT_opsb_get(out[0], i);
        assert_true(isfinite(v));
        if (fabs(v) > amax) amax = fabs(v);
    }
    assert_true(amax > 0);
    /* Elu(BiasAdd) on the real activations, both signs present */
    int neg = 0, pos = 0;
    for (int64_t i = 0; i < graft_tensor_num_elements(out[1]); i++) {
        double a = graftT_opsb_get(out[1], i), e = graftT_opsb_get(out[2], i);
        double want = a < 0 ? expm1(a) : a;
        if (fabs(e - want) > 1e-6 * (1 + fabs(want))) fail_msg("Elu[%lld]: %g vs %g", (long long)i, e, want);
        neg += a < 0;
        pos += a > 0;
    }
    assert_true(neg > 0 && pos > 0);
    /* EluGrad(dy, y) = y < 0 ? dy * (y + 1) : dy */
    for (int64_t i = 0; i < graft_tensor_num_elements(out[5]); i++) {
        double dy = graftT_opsb_get(out[3], i), y = graftT_opsb_get(out[4], i),
               gr = graftT_opsb_get(out[5], i);
        double want = y < 0 ? dy * (y + 1) : dy;
        if (fabs(gr - want) > 1e-6 * (1e-3 + fabs(want)))
            fail_msg("EluGrad[%lld]: %g vs %g", (long long)i, gr, want);
    }
    for (int i = 0; i < 6; i++) graft_tensor_free(out[i]);

    /* one Adam step through TF's gradient graph (EluGrad included) */
    graft_op *train = graft_graph_op(g, "Adam");
    assert_non_null(train);
    if (graft_session_run(s, feeds, vals, 2, NULL, NULL, 0, &train, 1, &st)) fail_msg("%s", st.msg);
    graft_variable v;
    assert_true(graft_graph_find_variable_by_name(g, "Variable_1", &v));
    graft_tensor *w = NULL;
    assert_int_equal(graft_session_get_variable(s, v.var, &w, &st), GRAFT_OK);
    for (int64_t i = 0; i < graft_tensor_num_elements(w); i++) assert_true(isfinite(graftT_opsb_get(w, i)));
    graft_tensor_free(w);
    graft_tensor_free(tx);
    graft_tensor_free(tl);
    graft_session_free(s);
    graft_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_activations_hand),
        cmocka_unit_test(test_l2loss),
        cmocka_unit_test(test_onehot),
        cmocka_unit_test(test_onehot_hand),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_gather_v1_and_errors),
        cmocka_unit_test(test_uss),
        cmocka_unit_test(test_select_v2),
        cmocka_unit_test(test_splitv),
        cmocka_unit_test(test_lenet_tf10),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
