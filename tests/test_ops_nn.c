/* tests/test_ops_nn.c - lib/ops/op_nn.c against PyTorch (tests/data/ops_oracle_b.h,
 * made by tests/data/ops_oracle_b.py) and hand-derived values: MatMul, BiasAdd(+Grad),
 * activations and their TF gradient ops, Softmax/LogSoftmax, both cross-entropies,
 * shape/dtype errors at build and run time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "data/ops_oracle_b.h"
#include "internal.h"
#include "opsb.h"

/* float32 results: inputs are float32-exact, the oracle is float64. */
#define TOL32 1e-5
#define TOL64 1e-12

static graft_tensor *from_orb(graft_dtype dt, const orb_arr *a)
{
    return graftT_opsb_tensor(dt, a->rank, a->dims, a->v);
}

static graft_out ph(graft_graph *g, const char *name, graft_dtype dt, const orb_arr *a)
{
    return graft_placeholder(g, name, dt, graft_shape_make(a->rank, a->dims));
}

static bool has_type(graft_graph *g, const char *type)
{
    for (int i = 0; i < graft_graph_num_ops(g); i++)
        if (strcmp(graft_op_type(graft_graph_op_at(g, i)), type) == 0) return true;
    return false;
}

/* ---- MatMul ------------------------------------------------------------------------ */

static void test_matmul_oracle(void **state)
{
    (void)state;
    for (int dti = 0; dti < 2; dti++) {
        graft_dtype dt = dti ? GRAFT_DOUBLE : GRAFT_FLOAT;
        double tol = dti ? TOL64 : TOL32;
        for (size_t i = 0; i < sizeof orb_matmul_cases / sizeof orb_matmul_cases[0]; i++) {
            const orb_matmul *c = &orb_matmul_cases[i];
            graft_graph *g = graft_graph_new();
            graft_out a = ph(g, "a", dt, c->a), b = ph(g, "b", dt, c->b);
            graft_out y = graft_matmul(g, a, b, c->ta, c->tb);
            assert_int_equal(graft_graph_status(g), GRAFT_OK);
            graft_shape s = graft_out_shape(y);
            assert_int_equal(s.rank, 2);
            assert_int_equal(s.dims[0], c->c->dims[0]);
            assert_int_equal(s.dims[1], c->c->dims[1]);
            graft_tensor *va = from_orb(dt, c->a), *vb = from_orb(dt, c->b), *out = NULL;
            graft_out feeds[2] = {a, b};
            graft_tensor *vals[2] = {va, vb};
            graft_status st;
            assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, &y, &out, 1, &st), GRAFT_OK);
            assert_int_equal(graft_tensor_dtype(out), dt);
            assert_true(graftT_opsb_close("matmul", out, c->c->v, c->c->n, tol, tol));
            graft_tensor_free(out);
            graft_tensor_free(va);
            graft_tensor_free(vb);
            graft_graph_free(g);
        }
    }
}

static void test_matmul_errors(void **state)
{
    (void)state;
    /* static: inner dims 4 vs 5 */
    graft_graph *g = graft_graph_new();
    int64_t d1[2] = {3, 4}, d2[2] = {5, 2};
    graft_out a = graft_placeholder(g, "a", GRAFT_FLOAT, graft_shape_make(2, d1));
    graft_out b = graft_placeholder(g, "b", GRAFT_FLOAT, graft_shape_make(2, d2));
    graft_out y = graft_matmul(g, a, b, false, false);
    assert_false(graft_out_ok(y));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    assert_non_null(strstr(graft_graph_errmsg(g), "inner dimensions"));
    assert_non_null(strstr(graft_graph_errmsg(g), "(4 vs 5)"));
    graft_graph_free(g);

    /* dtype mismatch */
    g = graft_graph_new();
    a = graft_placeholder(g, "a", GRAFT_FLOAT, graft_shape_make(2, d1));
    b = graft_placeholder(g, "b", GRAFT_DOUBLE, graft_shape_unknown());
    y = graft_matmul(g, a, b, false, false);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_DTYPE);
    graft_graph_free(g);

    /* unknown static shapes: the kernel reports it */
    g = graft_graph_new();
    a = graft_placeholder(g, "a", GRAFT_FLOAT, graft_shape_unknown());
    b = graft_placeholder(g, "b", GRAFT_FLOAT, graft_shape_unknown());
    y = graft_matmul(g, a, b, false, false);
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    double z[20] = {0};
    graft_tensor *va = graftT_opsb_tensor(GRAFT_FLOAT, 2, d1, z),
                 *vb = graftT_opsb_tensor(GRAFT_FLOAT, 2, d2, z);
    graft_out feeds[2] = {a, b};
    graft_tensor *vals[2] = {va, vb}, *out = NULL;
    graft_status st;
    assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, &y, &out, 1, &st), GRAFT_ERR_SHAPE);
    assert_null(out);
    assert_non_null(strstr(st.msg, "MatMul (MatMul)"));
    assert_non_null(strstr(st.msg, "(4 vs 5)"));
    graft_tensor_free(va);
    graft_tensor_free(vb);
    graft_graph_free(g);
}

/* Hand-derived: [[1,2],[3,4]] · [[5],[6]] = [[17],[39]]; an empty inner
 * dimension gives zeros. */
static void test_matmul_hand(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t da[2] = {2, 2}, db[2] = {2, 1}, dz1[2] = {2, 0}, dz2[2] = {0, 3};
    double av[4] = {1, 2, 3, 4}, bv[2] = {5, 6};
    graft_tensor *ta = graftT_opsb_tensor(GRAFT_FLOAT, 2, da, av),
                 *tb = graftT_opsb_tensor(GRAFT_FLOAT, 2, db, bv);
    graft_out y = graft_matmul(g, graft_const(g, "a", ta), graft_const(g, "b", tb), false, false);
    graft_tensor *tz1 = graftT_opsb_tensor(GRAFT_FLOAT, 2, dz1, av),
                 *tz2 = graftT_opsb_tensor(GRAFT_FLOAT, 2, dz2, av);
    graft_out z = graft_matmul(g, graft_const(g, "z1", tz1), graft_const(g, "z2", tz2), false, false);
    graft_out f[2] = {y, z};
    graft_tensor *out[2] = {NULL, NULL};
    graft_status st;
    assert_int_equal(graftT_opsb_run(g, NULL, NULL, 0, f, out, 2, &st), GRAFT_OK);
    const double want[2] = {17, 39}, zeros[6] = {0};
    assert_true(graftT_opsb_close("2x2 matmul", out[0], want, 2, 0, 0));
    assert_int_equal(graft_tensor_dim(out[1], 0), 2);
    assert_int_equal(graft_tensor_dim(out[1], 1), 3);
    assert_true(graftT_opsb_close("empty inner dim", out[1], zeros, 6, 0, 0));
    graft_tensor_free(out[0]);
    graft_tensor_free(out[1]);
    graft_tensor_free(ta);
    graft_tensor_free(tb);
    graft_tensor_free(tz1);
    graft_tensor_free(tz2);
    graft_graph_free(g);
}

/* The gradient of MatMul is MatMuls (no Transpose ops), with TF's flags. */
static void test_matmul_grad_structure(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t da[2] = {4, 3}, db[2] = {5, 4};
    graft_out a = graft_placeholder(g, "a", GRAFT_FLOAT, graft_shape_make(2, da));
    graft_out b = graft_placeholder(g, "b", GRAFT_FLOAT, graft_shape_make(2, db));
    graft_out y = graft_matmul(g, a, b, true, true);
    graft_out xs[2] = {a, b}, dx[2];
    graft_status st;
    assert_int_equal(graft_gradients(g, &y, 1, xs, 2, NULL, dx, &st), GRAFT_OK);
    assert_false(has_type(g, "Transpose"));
    /* ta, tb: dA = matmul(b, dy, ta, tb), dB = matmul(dy, a, ta, tb) */
    assert_string_equal(graft_op_type(dx[0].op), "MatMul");
    assert_ptr_equal(graft_op_input(dx[0].op, 0).op, b.op);
    bool f;
    assert_true(graft_op_attr_bool(dx[0].op, "transpose_a", &f) && f);
    assert_true(graft_op_attr_bool(dx[0].op, "transpose_b", &f) && f);
    assert_ptr_equal(graft_op_input(dx[1].op, 1).op, a.op);
    graft_shape s0 = graft_out_shape(dx[0]), s1 = graft_out_shape(dx[1]);
    assert_int_equal(s0.dims[0], 4);
    assert_int_equal(s0.dims[1], 3);
    assert_int_equal(s1.dims[0], 5);
    assert_int_equal(s1.dims[1], 4);
    graft_graph_free(g);
}

/* ---- BiasAdd ------------------------------------------------------------------------ */

static void run_bias(graft_dtype dt, const char *fmt, const orb_arr *x, const orb_arr *b, const orb_arr *y,
                     const orb_arr *db)
{
    graft_graph *g = graft_graph_new();
    graft_out px = ph(g, "x", dt, x), pb = ph(g, "b", dt, b);
    graft_op_builder *bld = graft_op_builder_new(g, "BiasAdd", "ba");
    graft_op_builder_add_input(bld, px);
    graft_op_builder_add_input(bld, pb);
    graft_op_builder_attr_type(bld, "T", dt);
    graft_op_builder_attr_string(bld, "data_format", fmt, strlen(fmt));
    graft_status st;
    graft_op *op = graft_op_builder_finish(bld, &st);
    assert_non_null(op);
    graft_op_builder *bg = graft_op_builder_new(g, "BiasAddGrad", "bag");
    graft_op_builder_add_input(bg, px);
    graft_op_builder_attr_type(bg, "T", dt);
    graft_op_builder_attr_string(bg, "data_format", fmt, strlen(fmt));
    graft_op *gop = graft_op_builder_finish(bg, &st);
    assert_non_null(gop);
    assert_int_equal(graft_out_shape(graftI_o(gop, 0)).dims[0], db->dims[0]);
    graft_tensor *vx = from_orb(dt, x), *vb = from_orb(dt, b);
    graft_out feeds[2] = {px, pb}, f[2] = {graftI_o(op, 0), graftI_o(gop, 0)};
    graft_tensor *vals[2] = {vx, vb}, *out[2] = {NULL, NULL};
    assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, f, out, 2, &st), GRAFT_OK);
    double tol = dt == GRAFT_DOUBLE ? TOL64 : TOL32;
    assert_true(graftT_opsb_close(fmt, out[0], y->v, y->n, tol, tol));
    assert_true(graftT_opsb_close("BiasAddGrad", out[1], db->v, db->n, tol, tol));
    graft_tensor_free(out[0]);
    graft_tensor_free(out[1]);
    graft_tensor_free(vx);
    graft_tensor_free(vb);
    graft_graph_free(g);
}

static void test_bias_add(void **state)
{
    (void)state;
    run_bias(GRAFT_FLOAT, "NHWC", &orb_bias_nhwc_x, &orb_bias_nhwc_b, &orb_bias_nhwc_y, &orb_bias_nhwc_db);
    run_bias(GRAFT_DOUBLE, "NHWC", &orb_bias_nhwc_x, &orb_bias_nhwc_b, &orb_bias_nhwc_y, &orb_bias_nhwc_db);
    run_bias(GRAFT_FLOAT, "NCHW", &orb_bias_nchw_x, &orb_bias_nchw_b, &orb_bias_nchw_y, &orb_bias_nchw_db);
    run_bias(GRAFT_DOUBLE, "NCHW", &orb_bias_nchw_x, &orb_bias_nchw_b, &orb_bias_nchw_y, &orb_bias_nchw_db);

    /* typed builder (NHWC) and its gradient: dbias is BiasAddGrad */
    graft_graph *g = graft_graph_new();
    graft_out x = ph(g, "x", GRAFT_FLOAT, &orb_bias_nhwc_x), b = ph(g, "b", GRAFT_FLOAT, &orb_bias_nhwc_b);
    graft_out y = graft_bias_add(g, x, b);
    graft_out xs[2] = {x, b}, dx[2];
    graft_status st;
    assert_int_equal(graft_gradients(g, &y, 1, xs, 2, NULL, dx, &st), GRAFT_OK);
    assert_string_equal(graft_op_type(dx[1].op), "BiasAddGrad");
    graft_tensor *vx = from_orb(GRAFT_FLOAT, &orb_bias_nhwc_x), *vb = from_orb(GRAFT_FLOAT, &orb_bias_nhwc_b);
    graft_tensor *vals[2] = {vx, vb}, *out = NULL;
    assert_int_equal(graftT_opsb_run(g, xs, vals, 2, &dx[1], &out, 1, &st), GRAFT_OK);
    /* d sum(y) / d bias = the number of rows = 2*3 */
    const double six[4] = {6, 6, 6, 6};
    assert_true(graftT_opsb_close("dbias", out, six, 4, 0, 0));
    graft_tensor_free(out);
    graft_tensor_free(vx);
    graft_tensor_free(vb);

    /* wrong bias length */
    int64_t d5 = 5;
    graft_out bad = graft_bias_add(g, x, graft_placeholder(g, "b5", GRAFT_FLOAT, graft_shape_make(1, &d5)));
    assert_false(graft_out_ok(bad));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    assert_non_null(strstr(graft_graph_errmsg(g), "(4 vs 5)"));
    graft_graph_free(g);
}

/* ---- activations ---------------------------------------------------------------------- */

static void test_activations(void **state)
{
    (void)state;
    static const struct {
        const char *fwd, *grad;
        const orb_arr *y, *dx;
        int grad_form; /* 0: Grad(dy, y); 1: Grad(dy, x); 2: Grad(y, dy) */
    } acts[] = {{"Relu", "ReluGrad", &orb_act_relu_y, &orb_act_relu_dx, 0},
                {"Relu6", "Relu6Grad", &orb_act_relu6_y, &orb_act_relu6_dx, 1},
                {"Sigmoid", "SigmoidGrad", &orb_act_sigmoid_y, &orb_act_sigmoid_dx, 2},
                {"Tanh", "TanhGrad", &orb_act_tanh_y, &orb_act_tanh_dx, 2}};
    for (int dti = 0; dti < 2; dti++) {
        graft_dtype dt = dti ? GRAFT_DOUBLE : GRAFT_FLOAT;
        double tol = dti ? TOL64 : TOL32;
        for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
            graft_graph *g = graft_graph_new();
            graft_out x = ph(g, "x", dt, &orb_act_x), dy = ph(g, "dy", dt, &orb_act_dy);
            graft_out y = strcmp(acts[i].fwd, "Relu") == 0      ? graft_relu(g, x)
                          : strcmp(acts[i].fwd, "Relu6") == 0   ? graft_relu6(g, x)
                          : strcmp(acts[i].fwd, "Sigmoid") == 0 ? graft_sigmoid(g, x)
                                                                : graft_tanh(g, x);
            assert_string_equal(graft_op_type(y.op), acts[i].fwd);
            /* autodiff emits TF's gradient op */
            graft_out dx;
            graft_status st;
            assert_int_equal(graft_gradients(g, &y, 1, &x, 1, &dy, &dx, &st), GRAFT_OK);
            assert_string_equal(graft_op_type(dx.op), acts[i].grad);
            graft_out expect_in0 = acts[i].grad_form == 2 ? y : dy;
            assert_ptr_equal(graft_op_input(dx.op, 0).op, expect_in0.op);
            graft_tensor *vx = from_orb(dt, &orb_act_x), *vdy = from_orb(dt, &orb_act_dy);
            graft_out feeds[2] = {x, dy}, f[2] = {y, dx};
            graft_tensor *vals[2] = {vx, vdy}, *out[2] = {NULL, NULL};
            assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, f, out, 2, &st), GRAFT_OK);
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

/* ---- Softmax / LogSoftmax --------------------------------------------------------------- */

static void test_softmax(void **state)
{
    (void)state;
    for (int dti = 0; dti < 2; dti++) {
        graft_dtype dt = dti ? GRAFT_DOUBLE : GRAFT_FLOAT;
        double tol = dti ? TOL64 : TOL32;
        graft_graph *g = graft_graph_new();
        graft_out x = ph(g, "x", dt, &orb_softmax_x);
        graft_out f[2] = {graft_softmax(g, x), graft_log_softmax(g, x)};
        graft_tensor *vx = from_orb(dt, &orb_softmax_x), *out[2] = {NULL, NULL};
        graft_status st;
        assert_int_equal(graftT_opsb_run(g, &x, &vx, 1, f, out, 2, &st), GRAFT_OK);
        /* rows offset by +1000 / -500 stay finite only with the max subtracted */
        assert_true(graftT_opsb_close("Softmax", out[0], orb_softmax_y.v, orb_softmax_y.n, tol, tol));
        assert_true(
            graftT_opsb_close("LogSoftmax", out[1], orb_log_softmax_y.v, orb_log_softmax_y.n, tol, tol));
        graft_tensor_free(out[0]);
        graft_tensor_free(out[1]);
        graft_tensor_free(vx);
        graft_graph_free(g);
    }
}

/* ---- cross-entropies -------------------------------------------------------------------- */

static void test_xent(void **state)
{
    (void)state;
    for (int dti = 0; dti < 2; dti++) {
        graft_dtype dt = dti ? GRAFT_DOUBLE : GRAFT_FLOAT;
        double tol = dti ? TOL64 : 2e-5;
        graft_graph *g = graft_graph_new();
        graft_out x = ph(g, "x", dt, &orb_xent_x), l = ph(g, "l", dt, &orb_xent_labels);
        graft_out loss = graft_softmax_cross_entropy_with_logits(g, x, l);
        assert_int_equal(graft_graph_status(g), GRAFT_OK);
        assert_int_equal(graft_op_num_outputs(loss.op), 2);
        assert_int_equal(graft_out_shape(loss).rank, 1);
        assert_int_equal(graft_out_shape(loss).dims[0], 4);
        /* gradient wrt logits reuses output 1 (backprop), as TF's graph does */
        graft_out dx;
        graft_status st;
        assert_int_equal(graft_gradients(g, &loss, 1, &x, 1, NULL, &dx, &st), GRAFT_OK);
        bool uses_out1 = false;
        for (int i = 0; i < graft_graph_num_ops(g); i++) {
            graft_op *op = graft_graph_op_at(g, i);
            for (int j = 0; j < graft_op_num_inputs(op); j++) {
                graft_out in = graft_op_input(op, j);
                if (in.op == loss.op && in.index == 1) uses_out1 = true;
            }
        }
        assert_true(uses_out1);
        graft_tensor *vx = from_orb(dt, &orb_xent_x), *vl = from_orb(dt, &orb_xent_labels);
        graft_out feeds[2] = {x, l}, f[3] = {loss, graftI_o(loss.op, 1), dx};
        graft_tensor *vals[2] = {vx, vl}, *out[3] = {NULL, NULL, NULL};
        assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, f, out, 3, &st), GRAFT_OK);
        assert_true(graftT_opsb_close("loss", out[0], orb_xent_loss.v, orb_xent_loss.n, tol, tol));
        assert_true(
            graftT_opsb_close("backprop", out[1], orb_xent_backprop.v, orb_xent_backprop.n, tol, tol));
        /* with dloss = 1 the logits gradient is the backprop */
        assert_true(graftT_opsb_close("dlogits", out[2], orb_xent_backprop.v, orb_xent_backprop.n, tol, tol));
        for (int i = 0; i < 3; i++) graft_tensor_free(out[i]);
        graft_tensor_free(vx);
        graft_tensor_free(vl);
        graft_graph_free(g);
    }
}

static void test_sparse_xent(void **state)
{
    (void)state;
    for (int li = 0; li < 2; li++) {
        graft_dtype lt = li ? GRAFT_INT64 : GRAFT_INT32;
        graft_graph *g = graft_graph_new();
        graft_out x = ph(g, "x", GRAFT_FLOAT, &orb_xent_x), l = ph(g, "l", lt, &orb_sxent_labels);
        graft_out loss = graft_sparse_softmax_cross_entropy_with_logits(g, x, l);
        assert_int_equal(graft_graph_status(g), GRAFT_OK);
        graft_dtype tl;
        assert_true(graft_op_attr_type(loss.op, "Tlabels", &tl));
        assert_int_equal(tl, lt);
        graft_out dx;
        graft_status st;
        assert_int_equal(graft_gradients(g, &loss, 1, &x, 1, NULL, &dx, &st), GRAFT_OK);
        graft_tensor *vx = from_orb(GRAFT_FLOAT, &orb_xent_x), *vl = from_orb(lt, &orb_sxent_labels);
        graft_out feeds[2] = {x, l}, f[3] = {loss, graftI_o(loss.op, 1), dx};
        graft_tensor *vals[2] = {vx, vl}, *out[3] = {NULL, NULL, NULL};
        assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, f, out, 3, &st), GRAFT_OK);
        assert_true(graftT_opsb_close("sparse loss", out[0], orb_sxent_loss.v, orb_sxent_loss.n, 2e-5, 2e-5));
        assert_true(graftT_opsb_close("sparse backprop", out[1], orb_sxent_backprop.v, orb_sxent_backprop.n,
                                      1e-6, 1e-5));
        assert_true(graftT_opsb_close("sparse dlogits", out[2], orb_sxent_backprop.v, orb_sxent_backprop.n,
                                      1e-6, 1e-5));
        for (int i = 0; i < 3; i++) graft_tensor_free(out[i]);
        graft_tensor_free(vl);

        /* an out-of-range label is a kernel error naming its index */
        const double bad[4] = {2, 0, 5, 1};
        vl = graftT_opsb_tensor(lt, 1, orb_sxent_labels.dims, bad);
        vals[1] = vl;
        graft_tensor *o = NULL;
        assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, &loss, &o, 1, &st), GRAFT_ERR_INVALID_ARG);
        assert_null(o);
        assert_non_null(strstr(st.msg, "labels[2]"));
        assert_non_null(strstr(st.msg, "[0, 5)"));
        const double neg[4] = {0, -1, 0, 0};
        graft_tensor_free(vl);
        vl = graftT_opsb_tensor(lt, 1, orb_sxent_labels.dims, neg);
        vals[1] = vl;
        assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, &loss, &o, 1, &st), GRAFT_ERR_INVALID_ARG);
        assert_non_null(strstr(st.msg, "labels[1]"));
        graft_tensor_free(vl);
        graft_tensor_free(vx);
        graft_graph_free(g);
    }
}

/* Hand-derived: logits [0, ln 3] (softmax [1/4, 3/4]), one-hot label class 1:
 * loss = -ln(3/4) = 0.28768207245178090, backprop = [0.25, -0.25]. */
static void test_xent_hand(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t d[2] = {1, 2};
    double xv[2] = {0, log(3.0)}, lv[2] = {0, 1};
    graft_tensor *tx = graftT_opsb_tensor(GRAFT_DOUBLE, 2, d, xv),
                 *tl = graftT_opsb_tensor(GRAFT_DOUBLE, 2, d, lv);
    graft_out loss =
        graft_softmax_cross_entropy_with_logits(g, graft_const(g, "x", tx), graft_const(g, "l", tl));
    graft_out f[2] = {loss, graftI_o(loss.op, 1)};
    graft_tensor *out[2] = {NULL, NULL};
    graft_status st;
    assert_int_equal(graftT_opsb_run(g, NULL, NULL, 0, f, out, 2, &st), GRAFT_OK);
    const double wl[1] = {0.28768207245178090}, wb[2] = {0.25, -0.25};
    assert_true(graftT_opsb_close("hand loss", out[0], wl, 1, 1e-15, 1e-14));
    assert_true(graftT_opsb_close("hand backprop", out[1], wb, 2, 1e-15, 1e-14));
    graft_tensor_free(out[0]);
    graft_tensor_free(out[1]);
    graft_tensor_free(tx);
    graft_tensor_free(tl);
    graft_graph_free(g);
}

static void test_xent_errors(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t d3[3] = {2, 3, 4}, d2[2] = {2, 4}, d23[2] = {2, 3};
    graft_out x3 = graft_placeholder(g, "x3", GRAFT_FLOAT, graft_shape_make(3, d3));
    graft_out x2 = graft_placeholder(g, "x2", GRAFT_FLOAT, graft_shape_make(2, d2));
    graft_out l23 = graft_placeholder(g, "l", GRAFT_FLOAT, graft_shape_make(2, d23));
    assert_false(graft_out_ok(graft_softmax_cross_entropy_with_logits(g, x3, x3)));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    graft_graph_clear_error(g);
    assert_false(graft_out_ok(graft_softmax_cross_entropy_with_logits(g, x2, l23)));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    graft_graph_clear_error(g);
    /* float labels for the sparse op */
    assert_false(graft_out_ok(graft_sparse_softmax_cross_entropy_with_logits(g, x2, x2)));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_DTYPE);
    graft_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_oracle), cmocka_unit_test(test_matmul_errors),
        cmocka_unit_test(test_matmul_hand),   cmocka_unit_test(test_matmul_grad_structure),
        cmocka_unit_test(test_bias_add),      cmocka_unit_test(test_activations),
        cmocka_unit_test(test_softmax),       cmocka_unit_test(test_xent),
        cmocka_unit_test(test_sparse_xent),   cmocka_unit_test(test_xent_hand),
        cmocka_unit_test(test_xent_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
