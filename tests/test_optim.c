/* tests/test_optim.c - the TF1 optimizers: one and two steps of GradientDescent,
 * Momentum and Nesterov momentum against TF's formulas worked by hand, Adam
 * against a double-precision transcription of training_ops.cc (epsilon after
 * the bias correction), TF's variable and op names, the global step, frozen
 * variables staying bit-identical, resuming from copied state, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "infra.h"
#include "internal.h"

static graft_tensor *vec_f32(const float *v, int64_t n)
{
    return graft_tensor_from_data(GRAFT_FLOAT, &n, 1, v, (size_t)n * sizeof(float), NULL);
}

/* Reads a float32 variable into out[n]. */
static void get_f32(graft_session *s, graft_op *var, float *out, int n)
{
    graft_tensor *t = NULL;
    graft_status st;
    assert_int_equal(graft_session_get_variable(s, var, &t, &st), GRAFT_OK);
    assert_int_equal(graft_tensor_num_elements(t), n);
    memcpy(out, graft_tensor_data(t), (size_t)n * sizeof(float));
    graft_tensor_free(t);
}

static void run_op(graft_session *s, graft_op *op)
{
    graft_status st;
    graft_code rc = graft_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &op, 1, &st);
    if (rc != GRAFT_OK) print_error("run %s: %s\n", graft_op_name(op), st.msg);
    assert_int_equal(rc, GRAFT_OK);
}

static void assert_close(const float *got, const double *want, int n, double tol)
{
    for (int i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (d > tol * (1.0 + fabs(want[i]))) {
            print_error("element %d: got %.9g want %.9g\n", i, (double)got[i], want[i]);
            fail();
        }
    }
}

/* The quadratic used by the step tests: loss = sum(c * w^2), so grad = 2 c w.
 * w0 = {1, -2, 0.5}, c = {0.5, 1, 2}  =>  g0 = {1, -4, 2}. */
static const float W0[3] = {1.0f, -2.0f, 0.5f};
static const float C[3] = {0.5f, 1.0f, 2.0f};

typedef struct quad {
    graft_graph *g;
    graft_op *w;
    graft_out loss;
} quad;

static quad make_quad(void)
{
    quad q;
    q.g = graft_graph_new();
    graft_tensor *w0 = vec_f32(W0, 3), *c = vec_f32(C, 3);
    graft_variable info;
    graft_variable_new(q.g, "w", graft_const(q.g, "w0", w0), true, &info);
    q.w = info.var;
    q.loss = graft_sum(q.g, graft_mul(q.g, graft_const(q.g, "c", c), graft_square(q.g, info.value)), NULL, 0,
                       false);
    graft_tensor_free(w0);
    graft_tensor_free(c);
    assert_int_equal(graft_graph_status(q.g), GRAFT_OK);
    return q;
}

static graft_session *start(graft_graph *g)
{
    graft_status st;
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_non_null(s);
    graft_code rc = graft_session_init_variables(s, &st);
    if (rc) print_error("init: %s\n", st.msg);
    assert_int_equal(rc, GRAFT_OK);
    return s;
}

static void test_sgd_steps(void **state)
{
    (void)state;
    quad q = make_quad();
    graft_optimizer *opt = graft_optimizer_sgd(0.1f);
    graft_op *train = NULL;
    graft_status st;
    assert_int_equal(graft_optimizer_minimize(opt, q.g, q.loss, &q.w, 1, NULL, &train, &st), GRAFT_OK);
    assert_string_equal(graft_op_name(train), "GradientDescent");
    assert_string_equal(graft_op_type(train), "NoOp");
    assert_non_null(graft_graph_op(q.g, "GradientDescent/learning_rate"));
    graft_op *up = graft_graph_op(q.g, "GradientDescent/update_w/ApplyGradientDescent");
    assert_non_null(up);
    assert_string_equal(graft_op_type(up), "ApplyGradientDescent");
    assert_int_equal(graft_optimizer_num_variables(opt), 0);
    graft_session *s = start(q.g);
    float w[3];
    /* w1 = w0 - 0.1 * {1, -4, 2} = {0.9, -1.6, 0.3} */
    run_op(s, train);
    get_f32(s, q.w, w, 3);
    assert_close(w, (const double[]){0.9, -1.6, 0.3}, 3, 1e-6);
    /* g1 = 2 c w1 = {0.9, -3.2, 1.2}; w2 = {0.81, -1.28, 0.18} */
    run_op(s, train);
    get_f32(s, q.w, w, 3);
    assert_close(w, (const double[]){0.81, -1.28, 0.18}, 3, 1e-6);
    graft_session_free(s);
    graft_optimizer_free(opt);
    graft_graph_free(q.g);
}

static void test_momentum_steps(void **state)
{
    (void)state;
    quad q = make_quad();
    graft_optimizer *opt = graft_optimizer_momentum(0.1f, 0.9f, false);
    graft_op *train = NULL;
    graft_status st;
    assert_int_equal(graft_optimizer_minimize(opt, q.g, q.loss, NULL, 0, NULL, &train, &st), GRAFT_OK);
    assert_string_equal(graft_op_name(train), "Momentum");
    graft_op *acc = graft_optimizer_slot(opt, q.w, "momentum");
    assert_non_null(acc);
    assert_string_equal(graft_op_name(acc), "w/Momentum");
    assert_non_null(graft_graph_op(q.g, "w/Momentum/Initializer/zeros"));
    assert_non_null(graft_graph_op(q.g, "w/Momentum/Assign"));
    assert_non_null(graft_graph_op(q.g, "Momentum/momentum"));
    graft_op *up = graft_graph_op(q.g, "Momentum/update_w/ApplyMomentum");
    assert_non_null(up);
    bool nest = true;
    assert_true(graft_op_attr_bool(up, "use_nesterov", &nest));
    assert_false(nest);
    graft_variable vi;
    assert_true(graft_graph_find_variable(q.g, acc, &vi));
    assert_false(vi.trainable);
    graft_session *s = start(q.g);
    float w[3], a[3];
    /* accum1 = g0 = {1, -4, 2}; w1 = w0 - 0.1 accum1 = {0.9, -1.6, 0.3} */
    run_op(s, train);
    get_f32(s, q.w, w, 3);
    get_f32(s, acc, a, 3);
    assert_close(a, (const double[]){1, -4, 2}, 3, 1e-6);
    assert_close(w, (const double[]){0.9, -1.6, 0.3}, 3, 1e-6);
    /* g1 = {0.9, -3.2, 1.2}; accum2 = 0.9 accum1 + g1 = {1.8, -6.8, 3.0};
     * w2 = w1 - 0.1 accum2 = {0.72, -0.92, 0.0} */
    run_op(s, train);
    get_f32(s, q.w, w, 3);
    get_f32(s, acc, a, 3);
    assert_close(a, (const double[]){1.8, -6.8, 3.0}, 3, 1e-6);
    assert_close(w, (const double[]){0.72, -0.92, 0.0}, 3, 1e-6);
    graft_session_free(s);
    graft_optimizer_free(opt);
    graft_graph_free(q.g);
}

static void test_nesterov_steps(void **state)
{
    (void)state;
    quad q = make_quad();
    graft_optimizer *opt = graft_optimizer_momentum(0.1f, 0.9f, true);
    graft_op *train = NULL;
    graft_status st;
    assert_int_equal(graft_optimizer_minimize(opt, q.g, q.loss, &q.w, 1, NULL, &train, &st), GRAFT_OK);
    bool nest = false;
    assert_true(
        graft_op_attr_bool(graft_graph_op(q.g, "Momentum/update_w/ApplyMomentum"), "use_nesterov", &nest));
    assert_true(nest);
    graft_session *s = start(q.g);
    float w[3];
    /* accum1 = g0; w1 = w0 - 0.1 g0 - 0.1*0.9 accum1 = w0 - 0.19 g0 = {0.81, -1.24, 0.12} */
    run_op(s, train);
    get_f32(s, q.w, w, 3);
    assert_close(w, (const double[]){0.81, -1.24, 0.12}, 3, 1e-6);
    /* g1 = 2 c w1 = {0.81, -2.48, 0.48}; accum2 = 0.9 g0 + g1 = {1.71, -6.08, 2.28};
     * w2 = w1 - 0.1 g1 - 0.09 accum2 = {0.5751, -0.4448, -0.1332} */
    run_op(s, train);
    get_f32(s, q.w, w, 3);
    assert_close(w, (const double[]){0.5751, -0.4448, -0.1332}, 3, 1e-6);
    graft_session_free(s);
    graft_optimizer_free(opt);
    graft_graph_free(q.g);
}

/* TF 1.x ApplyAdam in double, hyperparameters rounded to float32 as TF's
 * float32 Consts and beta-power variables hold them. */
typedef struct adam_ref {
    double w[3], m[3], v[3], b1p, b2p;
} adam_ref;

static void adam_ref_step(adam_ref *r, double lr, float beta1, float beta2, float eps)
{
    double b1 = beta1, b2 = beta2, e = eps;
    double lr_t = lr * sqrt(1.0 - r->b2p) / (1.0 - r->b1p);
    for (int i = 0; i < 3; i++) {
        double g = 2.0 * (double)C[i] * r->w[i];
        r->m[i] += (g - r->m[i]) * (1.0 - b1);
        r->v[i] += (g * g - r->v[i]) * (1.0 - b2);
        r->w[i] -= lr_t * r->m[i] / (sqrt(r->v[i]) + e);
    }
    /* powers multiplied after the step, in float32 as Adam/mul does */
    r->b1p = (double)((float)r->b1p * beta1);
    r->b2p = (double)((float)r->b2p * beta2);
}

static void test_adam_one_step_epsilon_hat(void **state)
{
    (void)state;
    /* epsilon = 0.1 is large enough to tell TF's form from the paper's. At t = 1,
     * for the element with g = 1 (w = 1, c = 0.5): m = 0.1, v = 0.001,
     * lr_t = 0.1 * sqrt(1 - 0.999) / (1 - 0.9) = 0.0316228,
     * w1 = 1 - 0.0316228 * 0.1 / (sqrt(0.001) + 0.1) = 1 - 0.0240253 = 0.9759747.
     * (Paper Adam would give 1 - 0.1 * 1 / (1 + 0.1) = 0.90909.) */
    quad q = make_quad();
    graft_adam_opts ao;
    graft_adam_opts_init(&ao);
    assert_float_equal(ao.learning_rate, 0.001f, 0);
    assert_float_equal(ao.beta1, 0.9f, 0);
    assert_float_equal(ao.beta2, 0.999f, 0);
    assert_float_equal(ao.epsilon, 1e-8f, 0);
    ao.learning_rate = 0.1f;
    ao.epsilon = 0.1f;
    graft_status st;
    graft_optimizer *opt = graft_adam_new(&ao, &st);
    assert_non_null(opt);
    graft_op *train = NULL;
    assert_int_equal(graft_optimizer_minimize(opt, q.g, q.loss, &q.w, 1, NULL, &train, &st), GRAFT_OK);
    graft_session *s = start(q.g);
    run_op(s, train);
    float w[3], m[3], v[3], p[1];
    get_f32(s, q.w, w, 3);
    assert_float_equal(w[0], 0.9759747f, 2e-6);
    /* m = 0.1 g0, v = 0.001 g0^2 */
    get_f32(s, graft_optimizer_slot(opt, q.w, "m"), m, 3);
    get_f32(s, graft_optimizer_slot(opt, q.w, "v"), v, 3);
    assert_close(m, (const double[]){0.1, -0.4, 0.2}, 3, 1e-6);
    assert_close(v, (const double[]){0.001, 0.016, 0.004}, 3, 1e-6);
    /* beta powers after one step: 0.9^2, 0.999^2 */
    get_f32(s, graft_graph_op(q.g, "beta1_power"), p, 1);
    assert_float_equal(p[0], 0.81f, 1e-7);
    get_f32(s, graft_graph_op(q.g, "beta2_power"), p, 1);
    assert_float_equal(p[0], 0.998001f, 1e-7);
    graft_session_free(s);
    graft_optimizer_free(opt);
    graft_graph_free(q.g);
}

static void test_adam_many_steps(void **state)
{
    (void)state;
    quad q = make_quad();
    graft_optimizer *opt = graft_optimizer_adam(0.05f, 0.9f, 0.999f, 1e-8f);
    assert_non_null(opt);
    graft_op *train = NULL;
    graft_status st;
    assert_int_equal(graft_optimizer_minimize(opt, q.g, q.loss, &q.w, 1, NULL, &train, &st), GRAFT_OK);
    graft_session *s = start(q.g);
    adam_ref r = {{W0[0], W0[1], W0[2]}, {0}, {0}, 0.9f, 0.999f};
    float w[3], m[3], v[3];
    for (int step = 0; step < 20; step++) {
        run_op(s, train);
        adam_ref_step(&r, 0.05f, 0.9f, 0.999f, 1e-8f);
        get_f32(s, q.w, w, 3);
        get_f32(s, graft_optimizer_slot(opt, q.w, "m"), m, 3);
        get_f32(s, graft_optimizer_slot(opt, q.w, "v"), v, 3);
        assert_close(w, r.w, 3, 2e-5);
        assert_close(m, r.m, 3, 2e-5);
        assert_close(v, r.v, 3, 2e-5);
    }
    graft_session_free(s);
    graft_optimizer_free(opt);
    graft_graph_free(q.g);
}

/* A float64 variable: hyperparameters and beta powers are Cast, the step is
 * computed in double (TF's math_ops.cast to var.dtype). */
static void test_adam_float64(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    double w0[3] = {1.0, -2.0, 0.5}, c[3] = {0.5, 1.0, 2.0};
    int64_t n = 3;
    graft_tensor *tw = graft_tensor_from_data(GRAFT_DOUBLE, &n, 1, w0, sizeof w0, NULL);
    graft_tensor *tc = graft_tensor_from_data(GRAFT_DOUBLE, &n, 1, c, sizeof c, NULL);
    graft_variable info;
    graft_variable_new(g, "w", graft_const(g, NULL, tw), true, &info);
    graft_out loss =
        graft_sum(g, graft_mul(g, graft_const(g, NULL, tc), graft_square(g, info.value)), NULL, 0, false);
    graft_tensor_free(tw);
    graft_tensor_free(tc);
    graft_optimizer *opt = graft_optimizer_adam(0.05f, 0.9f, 0.999f, 1e-8f);
    graft_op *train = NULL;
    graft_status st;
    graft_code rc = graft_optimizer_minimize(opt, g, loss, &info.var, 1, NULL, &train, &st);
    if (rc) print_error("%s\n", st.msg);
    assert_int_equal(rc, GRAFT_OK);
    graft_session *s = start(g);
    adam_ref r = {{1.0, -2.0, 0.5}, {0}, {0}, 0.9f, 0.999f};
    for (int step = 0; step < 5; step++) {
        run_op(s, train);
        adam_ref_step(&r, 0.05f, 0.9f, 0.999f, 1e-8f);
    }
    graft_tensor *t = NULL;
    assert_int_equal(graft_session_get_variable(s, info.var, &t, &st), GRAFT_OK);
    assert_int_equal(graft_tensor_dtype(t), GRAFT_DOUBLE);
    const double *wv = graft_tensor_data(t);
    for (int i = 0; i < 3; i++) assert_true(fabs(wv[i] - r.w[i]) < 1e-12);
    graft_tensor_free(t);
    graft_session_free(s);
    graft_optimizer_free(opt);
    graft_graph_free(g);
}

static void test_adam_names(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t xd[2] = {-1, 3};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(2, xd));
    graft_out y = graft_placeholder(g, "y", GRAFT_INT64, graft_shape_make(1, xd));
    graft_dense_cfg d;
    graft_dense_cfg_init(&d);
    d.units = 4;
    d.activation = GRAFT_ACT_RELU;
    graft_out h = graft_dense(g, x, &d);
    d.units = 2;
    d.activation = GRAFT_ACT_NONE;
    graft_out logits = graft_dense(g, h, &d);
    graft_out loss = graft_sparse_softmax_cross_entropy_loss(g, logits, y);
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    graft_optimizer *opt = graft_optimizer_adam(0.001f, 0.9f, 0.999f, 1e-8f);
    graft_op *train = NULL;
    graft_status st;
    graft_code rc = graft_optimizer_minimize(opt, g, loss, NULL, 0, NULL, &train, &st);
    if (rc) print_error("%s\n", st.msg);
    assert_int_equal(rc, GRAFT_OK);
    assert_string_equal(graft_op_name(train), "Adam");
    assert_string_equal(graft_op_type(train), "NoOp");
    static const char *const must[] = {"dense/kernel",
                                       "dense/bias",
                                       "dense_1/kernel",
                                       "dense_1/bias",
                                       "dense/kernel/Adam",
                                       "dense/kernel/Adam_1",
                                       "dense/bias/Adam",
                                       "dense/bias/Adam_1",
                                       "dense_1/kernel/Adam",
                                       "dense_1/kernel/Adam_1",
                                       "dense_1/bias/Adam",
                                       "dense_1/bias/Adam_1",
                                       "dense/kernel/Adam/Initializer/zeros",
                                       "dense/kernel/Adam/Assign",
                                       "dense/kernel/Adam/read",
                                       "beta1_power",
                                       "beta2_power",
                                       "beta1_power/initial_value",
                                       "beta1_power/Assign",
                                       "beta2_power/read",
                                       "Adam/learning_rate",
                                       "Adam/beta1",
                                       "Adam/beta2",
                                       "Adam/epsilon",
                                       "Adam/update_dense/kernel/ApplyAdam",
                                       "Adam/update_dense/bias/ApplyAdam",
                                       "Adam/update_dense_1/kernel/ApplyAdam",
                                       "Adam/update_dense_1/bias/ApplyAdam",
                                       "Adam/mul",
                                       "Adam/Assign",
                                       "Adam/mul_1",
                                       "Adam/Assign_1",
                                       NULL};
    for (int i = 0; must[i]; i++) {
        if (!graft_graph_op(g, must[i])) print_error("missing op '%s'\n", must[i]);
        assert_non_null(graft_graph_op(g, must[i]));
    }
    assert_string_equal(graft_op_type(graft_graph_op(g, "Adam/update_dense/kernel/ApplyAdam")), "ApplyAdam");
    assert_string_equal(graft_op_type(graft_graph_op(g, "beta1_power")), "VariableV2");
    /* beta powers and slots: registered, not trainable; 8 slots + 2 powers */
    assert_int_equal(graft_optimizer_num_variables(opt), 10);
    for (int i = 0; i < graft_optimizer_num_variables(opt); i++) {
        graft_variable v;
        assert_true(graft_graph_find_variable(g, graft_optimizer_variable_at(opt, i), &v));
        assert_false(v.trainable);
    }
    assert_string_equal(graft_op_name(graft_optimizer_slot(opt, graft_graph_op(g, "dense_1/kernel"), "v")),
                        "dense_1/kernel/Adam_1");
    /* the slot lookup also takes the read op */
    assert_string_equal(graft_op_name(graft_optimizer_slot(opt, graft_graph_op(g, "dense/bias/read"), "m")),
                        "dense/bias/Adam");
    assert_null(graft_optimizer_slot(opt, graft_graph_op(g, "dense/bias"), "momentum"));
    /* Adam/mul runs after the updates: it has them as control inputs */
    graft_op *mul = graft_graph_op(g, "Adam/mul");
    assert_int_equal(graft_op_num_control_inputs(mul), 4);
    /* the train op groups the 4 updates and the 2 power assigns */
    assert_int_equal(graft_op_num_control_inputs(train), 6);
    assert_int_equal(graft_graph_collection_size(g, "train_op"), 1);
    assert_ptr_equal(graft_graph_collection_at(g, "train_op", 0), train);
    /* a second minimize with the same object: new scope Adam_1, slots and powers reused */
    graft_op *train2 = NULL;
    assert_int_equal(graft_optimizer_minimize(opt, g, loss, NULL, 0, NULL, &train2, &st), GRAFT_OK);
    assert_string_equal(graft_op_name(train2), "Adam_1");
    assert_non_null(graft_graph_op(g, "Adam_1/update_dense/kernel/ApplyAdam"));
    assert_null(graft_graph_op(g, "beta1_power_1"));
    assert_null(graft_graph_op(g, "dense/kernel/Adam_2"));
    assert_int_equal(graft_optimizer_num_variables(opt), 10);
    /* a second Adam object: its own powers, slots uniquified as TF does */
    graft_optimizer *opt2 = graft_optimizer_adam(0.001f, 0.9f, 0.999f, 1e-8f);
    graft_op *w1 = graft_graph_op(g, "dense_1/kernel");
    graft_op *train3 = NULL;
    assert_int_equal(graft_optimizer_minimize(opt2, g, loss, &w1, 1, NULL, &train3, &st), GRAFT_OK);
    assert_string_equal(graft_op_name(train3), "Adam_2");
    assert_non_null(graft_graph_op(g, "beta1_power_1"));
    assert_non_null(graft_graph_op(g, "dense_1/kernel/Adam_2"));
    assert_non_null(graft_graph_op(g, "dense_1/kernel/Adam_3"));
    graft_optimizer_free(opt2);
    graft_optimizer_free(opt);
    graft_graph_free(g);
}

static void test_global_step(void **state)
{
    (void)state;
    quad q = make_quad();
    assert_null(graft_global_step(q.g));
    graft_op *gs = graft_global_step_new(q.g);
    assert_non_null(gs);
    assert_string_equal(graft_op_name(gs), "global_step");
    assert_ptr_equal(graft_global_step(q.g), gs);
    assert_int_equal(graft_out_dtype(graftI_o(gs, 0)), GRAFT_INT64);
    assert_non_null(graft_graph_op(q.g, "global_step/Initializer/zeros"));
    assert_non_null(graft_graph_op(q.g, "global_step/Assign"));
    graft_variable v;
    assert_true(graft_graph_find_variable(q.g, gs, &v));
    assert_false(v.trainable);
    graft_optimizer *opt = graft_optimizer_sgd(0.1f);
    graft_op *train = NULL;
    graft_status st;
    assert_int_equal(graft_optimizer_minimize(opt, q.g, q.loss, NULL, 0, gs, &train, &st), GRAFT_OK);
    assert_string_equal(graft_op_name(train), "GradientDescent");
    assert_string_equal(graft_op_type(train), "AssignAdd");
    graft_op *upd = graft_graph_op(q.g, "GradientDescent/update");
    assert_non_null(upd);
    assert_string_equal(graft_op_type(upd), "NoOp");
    assert_non_null(graft_graph_op(q.g, "GradientDescent/value"));
    assert_int_equal(graft_op_num_control_inputs(train), 1);
    assert_ptr_equal(graft_op_control_input(train, 0), upd);
    graft_session *s = start(q.g);
    for (int i = 0; i < 3; i++) run_op(s, train);
    graft_tensor *t = NULL;
    assert_int_equal(graft_session_get_variable(s, gs, &t, &st), GRAFT_OK);
    assert_int_equal(*(int64_t *)graft_tensor_data(t), 3);
    graft_tensor_free(t);
    /* and the weights took three SGD steps: w3 = w0 * (1 - 0.2 c)^3 */
    float w[3];
    get_f32(s, q.w, w, 3);
    assert_close(w, (const double[]){1.0 * 0.729, -2.0 * 0.512, 0.5 * 0.216}, 3, 1e-6);
    /* a second global step is refused */
    assert_null(graft_global_step_new(q.g));
    assert_int_equal(graft_graph_status(q.g), GRAFT_ERR_INVALID_ARG);
    graft_session_free(s);
    graft_optimizer_free(opt);
    graft_graph_free(q.g);
}

static void test_learning_rate_tensor(void **state)
{
    (void)state;
    quad q = make_quad();
    graft_out lr = graft_placeholder(q.g, "lr", GRAFT_FLOAT, graft_shape_make(0, NULL));
    graft_optimizer *opt = graft_optimizer_sgd(0.1f);
    graft_optimizer_set_learning_rate_tensor(opt, lr);
    graft_op *train = NULL;
    graft_status st;
    assert_int_equal(graft_optimizer_minimize(opt, q.g, q.loss, NULL, 0, NULL, &train, &st), GRAFT_OK);
    assert_null(graft_graph_op(q.g, "GradientDescent/learning_rate"));
    graft_session *s = start(q.g);
    graft_tensor *lv = graft_tensor_scalar_f32(0.5f, NULL);
    assert_int_equal(graft_session_run(s, &lr, &lv, 1, NULL, NULL, 0, &train, 1, &st), GRAFT_OK);
    /* w1 = w0 - 0.5 * {1, -4, 2} = {0.5, 0, -0.5} */
    float w[3];
    get_f32(s, q.w, w, 3);
    assert_close(w, (const double[]){0.5, 0.0, -0.5}, 3, 1e-6);
    /* unfed: the learning rate placeholder is required */
    assert_int_equal(graft_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &train, 1, &st),
                     GRAFT_ERR_FAILED_PRECONDITION);
    graft_tensor_free(lv);
    graft_session_free(s);
    graft_optimizer_free(opt);
    graft_graph_free(q.g);
}

/* ---- frozen variables and resuming --------------------------------------------------- */

static uint64_t fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static uint64_t var_sum(graft_session *s, graft_op *var)
{
    graft_tensor *t = NULL;
    graft_status st;
    assert_int_equal(graft_session_get_variable(s, var, &t, &st), GRAFT_OK);
    uint64_t h = fnv(graft_tensor_data(t), graft_tensor_nbytes(t));
    graft_tensor_free(t);
    return h;
}

typedef struct mlp {
    graft_graph *g;
    graft_out x, y, loss;
    graft_tensor *xv, *yv;
} mlp;

/* 3 dense layers on a fixed batch of 8 points in 4 dims, 3 classes. */
static mlp make_mlp(void)
{
    mlp m;
    m.g = graft_graph_new();
    graft_graph_set_seed(m.g, 42);
    int64_t xd[2] = {8, 4}, yd[1] = {8};
    m.x = graft_placeholder(m.g, "x", GRAFT_FLOAT, graft_shape_make(2, xd));
    m.y = graft_placeholder(m.g, "y", GRAFT_INT32, graft_shape_make(1, yd));
    graft_dense_cfg d;
    graft_dense_cfg_init(&d);
    d.units = 6;
    d.activation = GRAFT_ACT_TANH;
    graft_out h = graft_dense(m.g, m.x, &d);
    h = graft_dense(m.g, h, &d);
    d.units = 3;
    d.activation = GRAFT_ACT_NONE;
    graft_out logits = graft_dense(m.g, h, &d);
    m.loss = graft_sparse_softmax_cross_entropy_loss(m.g, logits, m.y);
    assert_int_equal(graft_graph_status(m.g), GRAFT_OK);
    float xs[32];
    int32_t ys[8];
    for (int i = 0; i < 32; i++) xs[i] = (float)((i * 7) % 11) / 5.0f - 1.0f;
    for (int i = 0; i < 8; i++) ys[i] = i % 3;
    m.xv = graft_tensor_from_data(GRAFT_FLOAT, xd, 2, xs, sizeof xs, NULL);
    m.yv = graft_tensor_from_data(GRAFT_INT32, yd, 1, ys, sizeof ys, NULL);
    return m;
}

static void mlp_free(mlp *m)
{
    graft_tensor_free(m->xv);
    graft_tensor_free(m->yv);
    graft_graph_free(m->g);
}

static float mlp_step(graft_session *s, mlp *m, graft_op *train)
{
    graft_out feeds[2] = {m->x, m->y};
    graft_tensor *vals[2] = {m->xv, m->yv};
    graft_tensor *lv = NULL;
    graft_status st;
    graft_code rc = graft_session_run(s, feeds, vals, 2, &m->loss, &lv, 1, &train, 1, &st);
    if (rc) print_error("step: %s\n", st.msg);
    assert_int_equal(rc, GRAFT_OK);
    float l = *(float *)graft_tensor_data(lv);
    graft_tensor_free(lv);
    return l;
}

static void frozen_case(graft_optimizer *opt)
{
    mlp m = make_mlp();
    /* train only the last two layers: "dense" is frozen */
    graft_op *vl[8];
    int nv = graft_var_list(m.g, (const char *[]){"dense_1", "dense_2"}, 2, NULL, 0, true, vl, 8);
    assert_int_equal(nv, 4);
    int n_before = graft_graph_num_variables(m.g);
    graft_op *train = NULL;
    graft_status st;
    graft_code rc = graft_optimizer_minimize(opt, m.g, m.loss, vl, nv, NULL, &train, &st);
    if (rc) print_error("%s\n", st.msg);
    assert_int_equal(rc, GRAFT_OK);
    /* no slots for frozen variables */
    assert_null(graft_graph_op(m.g, "dense/kernel/Adam"));
    assert_null(graft_graph_op(m.g, "dense/kernel/Momentum"));
    graft_session *s = start(m.g);
    /* checksum every variable that existed before minimize and is not in var_list */
    graft_op *frozen[16];
    uint64_t before[16], trained_before[8];
    int nf = 0;
    for (int i = 0; i < n_before; i++) {
        graft_variable v;
        graft_graph_variable_at(m.g, i, &v);
        bool listed = false;
        for (int k = 0; k < nv; k++) listed |= vl[k] == v.var;
        if (!listed) {
            frozen[nf] = v.var;
            before[nf++] = var_sum(s, v.var);
        }
    }
    assert_int_equal(nf, 2); /* dense/kernel, dense/bias */
    for (int k = 0; k < nv; k++) trained_before[k] = var_sum(s, vl[k]);
    float l0 = mlp_step(s, &m, train), l = l0;
    for (int i = 0; i < 30; i++) l = mlp_step(s, &m, train);
    assert_true(l < l0);
    for (int i = 0; i < nf; i++) assert_true(var_sum(s, frozen[i]) == before[i]);
    for (int k = 0; k < nv; k++) assert_true(var_sum(s, vl[k]) != trained_before[k]);
    graft_session_free(s);
    mlp_free(&m);
}

static void test_frozen_bit_identical(void **state)
{
    (void)state;
    graft_optimizer *o1 = graft_optimizer_sgd(0.1f), *o2 = graft_optimizer_momentum(0.05f, 0.9f, true),
                    *o3 = graft_optimizer_adam(0.01f, 0.9f, 0.999f, 1e-8f);
    frozen_case(o1);
    frozen_case(o2);
    frozen_case(o3);
    graft_optimizer_free(o1);
    graft_optimizer_free(o2);
    graft_optimizer_free(o3);
}

/* Training resumes exactly: all state (weights, slots, beta powers, global
 * step) is in graph variables, so copying every variable into a fresh session
 * and continuing gives bit-identical results. */
static void test_resume_from_variables(void **state)
{
    (void)state;
    mlp m = make_mlp();
    graft_op *gs = graft_global_step_new(m.g);
    graft_optimizer *opt = graft_optimizer_adam(0.01f, 0.9f, 0.999f, 1e-8f);
    graft_op *train = NULL;
    graft_status st;
    assert_int_equal(graft_optimizer_minimize(opt, m.g, m.loss, NULL, 0, gs, &train, &st), GRAFT_OK);
    graft_session *a = start(m.g);
    for (int i = 0; i < 5; i++) mlp_step(a, &m, train);
    int nv = graft_graph_num_variables(m.g);
    graft_session *b = start(m.g);
    for (int i = 0; i < nv; i++) {
        graft_variable v;
        graft_graph_variable_at(m.g, i, &v);
        graft_tensor *t = NULL;
        assert_int_equal(graft_session_get_variable(a, v.var, &t, &st), GRAFT_OK);
        assert_int_equal(graft_session_set_variable(b, v.var, t, &st), GRAFT_OK);
        graft_tensor_free(t);
    }
    for (int i = 0; i < 5; i++) {
        float la = mlp_step(a, &m, train), lb = mlp_step(b, &m, train);
        assert_memory_equal(&la, &lb, sizeof la);
    }
    for (int i = 0; i < nv; i++) {
        graft_variable v;
        graft_graph_variable_at(m.g, i, &v);
        assert_true(var_sum(a, v.var) == var_sum(b, v.var));
    }
    graft_tensor *t = NULL;
    assert_int_equal(graft_session_get_variable(b, gs, &t, &st), GRAFT_OK);
    assert_int_equal(*(int64_t *)graft_tensor_data(t), 10);
    graft_tensor_free(t);
    graft_session_free(a);
    graft_session_free(b);
    graft_optimizer_free(opt);
    mlp_free(&m);
}

/* The same through the Saver: save after 5 steps, restore into a new session,
 * and the next 5 steps match the uninterrupted run bit for bit. The checkpoint
 * holds TF's keys for the slots, beta powers and global step, which the
 * independent reference reader (refread) lists too when it is built; the
 * exported .meta with the training ops parses there as well. */
static void test_saver_resume(void **state)
{
    (void)state;
    mlp m = make_mlp();
    graft_op *gs = graft_global_step_new(m.g);
    graft_optimizer *opt = graft_optimizer_adam(0.01f, 0.9f, 0.999f, 1e-8f);
    graft_op *train = NULL;
    graft_status st;
    assert_int_equal(graft_optimizer_minimize(opt, m.g, m.loss, NULL, 0, gs, &train, &st), GRAFT_OK);
    graft_saver_opts so;
    graft_saver_opts_init(&so);
    so.write_meta_graph = false;
    graft_saver *saver = graft_saver_new(m.g, &so, &st);
    if (!saver) print_error("saver: %s\n", st.msg);
    assert_non_null(saver);
    mkdir("resume", 0777);
    graft_session *a = start(m.g);
    for (int i = 0; i < 5; i++) mlp_step(a, &m, train);
    char prefix[512];
    graft_code rc = graft_saver_save(saver, a, "resume/model.ckpt", 5, prefix, sizeof prefix, &st);
    if (rc) print_error("save: %s\n", st.msg);
    assert_int_equal(rc, GRAFT_OK);
    float la[5];
    for (int i = 0; i < 5; i++) la[i] = mlp_step(a, &m, train);

    graft_session *b = graft_session_new(m.g, NULL, &st);
    rc = graft_saver_restore(saver, b, prefix, &st);
    if (rc) print_error("restore: %s\n", st.msg);
    assert_int_equal(rc, GRAFT_OK);
    for (int i = 0; i < 5; i++) {
        float lb = mlp_step(b, &m, train);
        assert_memory_equal(&la[i], &lb, sizeof lb);
    }
    int nv = graft_graph_num_variables(m.g);
    for (int i = 0; i < nv; i++) {
        graft_variable v;
        graft_graph_variable_at(m.g, i, &v);
        assert_true(var_sum(a, v.var) == var_sum(b, v.var));
    }

    /* the checkpoint's keys are TF's, and beta1_power was 0.9^6 after 5 steps */
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
    assert_non_null(r);
    static const char *const keys[] = {
        "dense/kernel", "dense/kernel/Adam", "dense/kernel/Adam_1", "dense_2/bias/Adam_1",
        "beta1_power",  "beta2_power",       "global_step",         NULL};
    for (int i = 0; keys[i]; i++) {
        if (graft_ckpt_reader_find(r, keys[i]) < 0) print_error("missing key %s\n", keys[i]);
        assert_true(graft_ckpt_reader_find(r, keys[i]) >= 0);
    }
    assert_int_equal(graft_ckpt_reader_num_entries(r), nv);
    graft_tensor *t = NULL;
    assert_int_equal(graft_ckpt_reader_read(r, "beta1_power", &t, &st), GRAFT_OK);
    float p = 0.9f;
    for (int i = 0; i < 5; i++) p *= 0.9f;
    assert_memory_equal(graft_tensor_data(t), &p, sizeof p);
    graft_tensor_free(t);
    assert_int_equal(graft_ckpt_reader_read(r, "global_step", &t, &st), GRAFT_OK);
    assert_int_equal(*(int64_t *)graft_tensor_data(t), 5);
    graft_tensor_free(t);
    graft_ckpt_reader_free(r);

    const char *rr = infra_refread_dir();
    if (rr) {
        static char out[65536];
        int ex = infra_run(out, sizeof out, "%s %s/refread.py ckpt %s 2>&1", infra_python(), rr, prefix);
        if (ex != 0) print_error("refread ckpt exit %d:\n%s\n", ex, out);
        assert_int_equal(ex, 0);
        assert_non_null(strstr(out, "dense_1/kernel/Adam_1"));
        assert_non_null(strstr(out, "beta2_power"));
        rc = graft_meta_graph_export(m.g, saver, "resume/train.meta", &st);
        if (rc) print_error("export: %s\n", st.msg);
        assert_int_equal(rc, GRAFT_OK);
        ex = infra_run(out, sizeof out, "%s %s/refread.py meta resume/train.meta 2>&1", infra_python(), rr);
        if (ex != 0) print_error("refread meta exit %d:\n%s\n", ex, out);
        assert_int_equal(ex, 0);
    }
    graft_saver_free(saver);
    graft_session_free(a);
    graft_session_free(b);
    graft_optimizer_free(opt);
    mlp_free(&m);
}

/* Fine-tuning in a live session: after the trunk has values, a new head and its
 * optimizer are added to the graph, only the new variables are initialised
 * (graft_variables_initializer over the head's and the optimizer's variables),
 * and training moves the head while the trunk stays bit-identical. */
static void test_finetune_new_head(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_graph_set_seed(g, 9);
    int64_t xd[2] = {8, 4}, yd[1] = {8};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(2, xd));
    graft_out y = graft_placeholder(g, "y", GRAFT_INT32, graft_shape_make(1, yd));
    graft_dense_cfg d;
    graft_dense_cfg_init(&d);
    d.units = 6;
    d.activation = GRAFT_ACT_RELU;
    d.name = "trunk";
    graft_layer_vars tv, hv;
    d.vars = &tv;
    graft_out h = graft_dense(g, x, &d);
    graft_session *s = start(g);
    uint64_t k0 = var_sum(s, tv.kernel), b0 = var_sum(s, tv.bias);

    /* the new head, after the session exists */
    d.units = 3;
    d.activation = GRAFT_ACT_NONE;
    d.name = "head";
    d.vars = &hv;
    graft_out logits = graft_dense(g, graft_stop_gradient(g, h), &d);
    graft_out loss = graft_sparse_softmax_cross_entropy_loss(g, logits, y);
    graft_optimizer *opt = graft_optimizer_adam(0.05f, 0.9f, 0.999f, 1e-8f);
    graft_op *head[2] = {hv.kernel, hv.bias}, *train = NULL;
    graft_status st;
    /* var_list NULL would include the trunk too, but the StopGradient cuts it off:
     * minimize skips variables without a gradient and makes no slots for them */
    assert_int_equal(graft_optimizer_minimize(opt, g, loss, NULL, 0, NULL, &train, &st), GRAFT_OK);
    assert_null(graft_optimizer_slot(opt, tv.kernel, "m"));
    assert_int_equal(graft_optimizer_num_variables(opt), 6); /* 4 slots + 2 powers */
    graft_op *fresh[8] = {head[0], head[1]};
    for (int i = 0; i < 6; i++) fresh[2 + i] = graft_optimizer_variable_at(opt, i);
    graft_op *init = graft_variables_initializer(g, fresh, 8, "init_head");
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    run_op(s, init);
    assert_true(var_sum(s, tv.kernel) == k0);

    float xs[32];
    int32_t ys[8];
    for (int i = 0; i < 32; i++) xs[i] = (float)((i * 5) % 7) / 3.0f - 0.5f;
    for (int i = 0; i < 8; i++) ys[i] = (i * 2) % 3;
    graft_tensor *tx = graft_tensor_from_data(GRAFT_FLOAT, xd, 2, xs, sizeof xs, NULL);
    graft_tensor *ty = graft_tensor_from_data(GRAFT_INT32, yd, 1, ys, sizeof ys, NULL);
    graft_out feeds[2] = {x, y};
    graft_tensor *fv[2] = {tx, ty};
    uint64_t hk = var_sum(s, hv.kernel);
    float first = 0, last = 0;
    for (int i = 0; i < 40; i++) {
        graft_tensor *lv = NULL;
        assert_int_equal(graft_session_run(s, feeds, fv, 2, &loss, &lv, 1, &train, 1, &st), GRAFT_OK);
        last = *(float *)graft_tensor_data(lv);
        if (i == 0) first = last;
        graft_tensor_free(lv);
    }
    assert_true(last < first);
    assert_true(var_sum(s, tv.kernel) == k0);
    assert_true(var_sum(s, tv.bias) == b0);
    assert_true(var_sum(s, hv.kernel) != hk);
    graft_tensor_free(tx);
    graft_tensor_free(ty);
    graft_session_free(s);
    graft_optimizer_free(opt);
    graft_graph_free(g);
}

/* ---- var_list selection and errors ----------------------------------------------------- */

static void test_var_list(void **state)
{
    (void)state;
    mlp m = make_mlp();
    graft_op *out[8];
    assert_int_equal(graft_var_list(m.g, NULL, 0, NULL, 0, true, out, 8), 6);
    assert_string_equal(graft_op_name(out[0]), "dense/kernel");
    /* "dense" covers dense/... but not dense_1/... */
    assert_int_equal(graft_var_list(m.g, (const char *[]){"dense"}, 1, NULL, 0, true, out, 8), 2);
    assert_string_equal(graft_op_name(out[1]), "dense/bias");
    /* a trailing slash is a plain prefix; exclusion removes */
    assert_int_equal(graft_var_list(m.g, NULL, 0, (const char *[]){"dense_2"}, 1, true, out, 8), 4);
    assert_int_equal(graft_var_list(m.g, (const char *[]){"dense_1/"}, 1, NULL, 0, true, out, 8), 2);
    assert_int_equal(graft_var_list(m.g, (const char *[]){"dense_1/kernel"}, 1, NULL, 0, true, out, 8), 1);
    /* count beyond cap */
    assert_int_equal(graft_var_list(m.g, NULL, 0, NULL, 0, true, out, 1), 6);
    assert_string_equal(graft_op_name(out[0]), "dense/kernel");
    /* optimizer slots are not trainable */
    graft_optimizer *opt = graft_optimizer_momentum(0.1f, 0.9f, false);
    graft_op *train;
    graft_status st;
    assert_int_equal(graft_optimizer_minimize(opt, m.g, m.loss, NULL, 0, NULL, &train, &st), GRAFT_OK);
    assert_int_equal(graft_var_list(m.g, NULL, 0, NULL, 0, true, out, 8), 6);
    assert_int_equal(graft_var_list(m.g, NULL, 0, NULL, 0, false, NULL, 0), 12);
    graft_optimizer_free(opt);
    mlp_free(&m);
}

static void test_errors(void **state)
{
    (void)state;
    graft_status st;
    /* hyperparameters */
    assert_null(graft_optimizer_sgd(-1.0f));
    assert_null(graft_optimizer_sgd(NAN));
    assert_null(graft_optimizer_adam(0.001f, 1.0f, 0.999f, 1e-8f));
    assert_null(graft_optimizer_adam(0.001f, 0.9f, -0.1f, 1e-8f));
    assert_null(graft_optimizer_momentum(0.1f, INFINITY, false));
    graft_adam_opts ao;
    graft_adam_opts_init(&ao);
    ao.name = "bad/name";
    assert_null(graft_adam_new(&ao, &st));
    assert_int_equal(st.code, GRAFT_ERR_INVALID_ARG);
    ao.name = "MyAdam";
    graft_optimizer *named = graft_adam_new(&ao, &st);
    assert_non_null(named);
    assert_string_equal(graft_optimizer_name(named), "MyAdam");

    quad q = make_quad();
    graft_optimizer *opt = graft_optimizer_sgd(0.1f);
    graft_op *train = (graft_op *)1;
    /* not a variable */
    graft_op *notvar = graft_graph_op(q.g, "c");
    assert_int_equal(graft_optimizer_minimize(opt, q.g, q.loss, &notvar, 1, NULL, &train, &st),
                     GRAFT_ERR_INVALID_ARG);
    assert_null(train);
    assert_non_null(strstr(st.msg, "is not a variable"));
    /* a loss that does not depend on the variable */
    graft_tensor *one = graft_tensor_scalar_f32(1.0f, NULL);
    graft_variable other;
    graft_variable_new(q.g, "other", graft_const(q.g, NULL, one), true, NULL);
    graft_graph_find_variable_by_name(q.g, "other", &other);
    graft_out lconst = graft_square(q.g, graft_const(q.g, NULL, one));
    graft_tensor_free(one);
    assert_int_equal(graft_optimizer_minimize(opt, q.g, lconst, &other.var, 1, NULL, &train, &st),
                     GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(st.msg, "No gradients provided"));
    /* listed twice */
    graft_op *twice[2] = {q.w, graft_graph_op(q.g, "w/read")};
    assert_int_equal(graft_optimizer_minimize(opt, q.g, q.loss, twice, 2, NULL, &train, &st),
                     GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(st.msg, "twice"));
    /* a float global step */
    assert_int_equal(graft_optimizer_minimize(opt, q.g, q.loss, &q.w, 1, other.var, &train, &st),
                     GRAFT_ERR_INVALID_ARG);
    assert_int_equal(graft_graph_status(q.g), GRAFT_OK);
    /* a gradient of the wrong shape to apply_gradients */
    graft_out bad = graft_const_f32(q.g, 1.0f);
    int64_t two = 2;
    graft_tensor *t2 = graft_tensor_new(GRAFT_FLOAT, &two, 1, NULL);
    graft_out bad2 = graft_const(q.g, NULL, t2);
    graft_tensor_free(t2);
    (void)bad;
    assert_int_equal(graft_optimizer_apply_gradients(opt, q.g, &bad2, &q.w, 1, NULL, NULL, &train, &st),
                     GRAFT_ERR_SHAPE);
    /* the optimizer works, then is bound to this graph */
    assert_int_equal(graft_optimizer_minimize(opt, q.g, q.loss, &q.w, 1, NULL, &train, &st), GRAFT_OK);
    quad q2 = make_quad();
    assert_int_equal(graft_optimizer_minimize(opt, q2.g, q2.loss, &q2.w, 1, NULL, &train, &st),
                     GRAFT_ERR_MISUSE);
    /* a named optimizer names its scope, train op and slots */
    graft_op *t3;
    assert_int_equal(graft_optimizer_minimize(named, q2.g, q2.loss, NULL, 0, NULL, &t3, &st), GRAFT_OK);
    assert_string_equal(graft_op_name(t3), "MyAdam");
    assert_non_null(graft_graph_op(q2.g, "w/MyAdam"));
    assert_non_null(graft_graph_op(q2.g, "w/MyAdam_1"));
    assert_non_null(graft_graph_op(q2.g, "MyAdam/update_w/ApplyAdam"));
    graft_optimizer_free(named);
    graft_optimizer_free(opt);
    graft_graph_free(q.g);
    graft_graph_free(q2.g);
}

/* ---- out of memory ------------------------------------------------------------------------ */

static long oom_left;    /* allocations still allowed; < 0 = unlimited */
static bool oom_refused; /* an allocation was refused */

static void *failing_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (oom_left == 0) {
        oom_refused = true;
        return NULL;
    }
    if (oom_left > 0) oom_left--;
    return realloc(ptr, nsize);
}

/* Fails the 1st, 2nd, ... allocation of building two dense layers, a loss and
 * Adam's minimize with a global step until it succeeds: every failure must be
 * reported (sticky error or status), nothing may crash, and with the
 * sanitizer build nothing may leak. */
static void test_oom_sweep(void **state)
{
    (void)state;
    int failures = 0;
    for (long n = 0;; n++) {
        graft_graph *g = graft_graph_new();
        int64_t xd[2] = {-1, 3};
        graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(2, xd));
        graft_out y = graft_placeholder(g, "y", GRAFT_INT64, graft_shape_make(1, xd));
        graft_optimizer *opt = graft_optimizer_adam(0.01f, 0.9f, 0.999f, 1e-8f);
        assert_non_null(opt);
        oom_left = n;
        oom_refused = false;
        graft_set_allocator(failing_alloc, NULL);
        graft_dense_cfg d;
        graft_dense_cfg_init(&d);
        d.units = 4;
        d.activation = GRAFT_ACT_RELU;
        graft_out h = graft_dense(g, x, &d);
        d.units = 2;
        graft_out logits = graft_dense(g, h, &d);
        graft_out loss = graft_sparse_softmax_cross_entropy_loss(g, logits, y);
        graft_op *gs = graft_global_step_new(g), *train = NULL;
        graft_status st;
        graft_code rc = loss.op && gs ? graft_optimizer_minimize(opt, g, loss, NULL, 0, gs, &train, &st)
                                      : graft_graph_check(g, &st);
        graft_set_allocator(NULL, NULL);
        if (rc == GRAFT_OK) {
            assert_non_null(train);
            if (oom_refused) print_error("allocation %ld refused but minimize succeeded\n", n);
            assert_false(oom_refused); /* no out-of-memory is swallowed */
        } else {
            assert_null(train);
            assert_true(st.msg[0] != '\0');
            failures++;
        }
        graft_optimizer_free(opt);
        graft_graph_free(g);
        if (rc == GRAFT_OK) break;
        assert_true(n < 200000);
    }
    print_message("%d failing allocation points, each reported\n", failures);
    assert_true(failures > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_steps),
        cmocka_unit_test(test_momentum_steps),
        cmocka_unit_test(test_nesterov_steps),
        cmocka_unit_test(test_adam_one_step_epsilon_hat),
        cmocka_unit_test(test_adam_many_steps),
        cmocka_unit_test(test_adam_float64),
        cmocka_unit_test(test_adam_names),
        cmocka_unit_test(test_global_step),
        cmocka_unit_test(test_learning_rate_tensor),
        cmocka_unit_test(test_frozen_bit_identical),
        cmocka_unit_test(test_resume_from_variables),
        cmocka_unit_test(test_saver_resume),
        cmocka_unit_test(test_finetune_new_head),
        cmocka_unit_test(test_var_list),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_oom_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
