/* tests/test_train_xor.c - convergence smoke tests (ggml test-opt style): a
 * 2-8-2 MLP built from graft_dense learns XOR with each optimizer
 * (GradientDescent, Momentum, Nesterov momentum, Adam) to a loss threshold and
 * 100% accuracy; a small conv net (conv2d, max pooling, flatten, dropout,
 * dense) learns to tell which half of a 6x6 image holds a bright bar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "graft/graft.h"

typedef struct run_result {
    float first_loss, loss, accuracy;
    int steps;
} run_result;

/* Trains until loss < target or max_steps; returns the final loss and accuracy. */
static run_result train_xor(graft_optimizer *opt, float target, int max_steps, int64_t seed)
{
    graft_graph *g = graft_graph_new();
    graft_graph_set_seed(g, seed);
    int64_t xd[2] = {4, 2}, yd[1] = {4};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(2, xd));
    graft_out y = graft_placeholder(g, "y", GRAFT_INT64, graft_shape_make(1, yd));
    graft_dense_cfg d;
    graft_dense_cfg_init(&d);
    d.units = 8;
    d.activation = GRAFT_ACT_TANH;
    graft_out h = graft_dense(g, x, &d);
    d.units = 2;
    d.activation = GRAFT_ACT_NONE;
    graft_out logits = graft_dense(g, h, &d);
    graft_out loss = graft_sparse_softmax_cross_entropy_loss(g, logits, y);
    graft_out acc = graft_accuracy(g, logits, y);
    graft_op *train = NULL;
    graft_status st;
    graft_code rc = graft_optimizer_minimize(opt, g, loss, NULL, 0, NULL, &train, &st);
    if (rc) print_error("minimize: %s\n", st.msg);
    assert_int_equal(rc, GRAFT_OK);
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_non_null(s);
    assert_int_equal(graft_session_init_variables(s, &st), GRAFT_OK);
    const float xv[8] = {0, 0, 0, 1, 1, 0, 1, 1};
    const int64_t yv[4] = {0, 1, 1, 0};
    graft_tensor *tx = graft_tensor_from_data(GRAFT_FLOAT, xd, 2, xv, sizeof xv, NULL);
    graft_tensor *ty = graft_tensor_from_data(GRAFT_INT64, yd, 1, yv, sizeof yv, NULL);
    graft_out feeds[2] = {x, y};
    graft_tensor *fv[2] = {tx, ty};
    graft_out fetch[2] = {loss, acc};
    run_result r = {0, 0, 0, 0};
    for (int step = 0; step < max_steps; step++) {
        graft_tensor *out[2] = {NULL, NULL};
        rc = graft_session_run(s, feeds, fv, 2, fetch, out, 2, &train, 1, &st);
        if (rc) print_error("step %d: %s\n", step, st.msg);
        assert_int_equal(rc, GRAFT_OK);
        float l = *(float *)graft_tensor_data(out[0]);
        if (step == 0) r.first_loss = l;
        graft_tensor_free(out[0]);
        graft_tensor_free(out[1]);
        r.steps = step + 1;
        if (l < target) break;
    }
    /* loss and accuracy after training (fetched without the train op) */
    graft_tensor *out[2] = {NULL, NULL};
    assert_int_equal(graft_session_run(s, feeds, fv, 2, fetch, out, 2, NULL, 0, &st), GRAFT_OK);
    r.loss = *(float *)graft_tensor_data(out[0]);
    r.accuracy = *(float *)graft_tensor_data(out[1]);
    graft_tensor_free(out[0]);
    graft_tensor_free(out[1]);
    graft_tensor_free(tx);
    graft_tensor_free(ty);
    graft_session_free(s);
    graft_graph_free(g);
    return r;
}

typedef enum kind { SGD, MOMENTUM, NESTEROV, ADAM } kind;

static graft_optimizer *make_opt(kind k)
{
    switch (k) {
    case SGD: return graft_optimizer_sgd(0.5f);
    case MOMENTUM: return graft_optimizer_momentum(0.1f, 0.9f, false);
    case NESTEROV: return graft_optimizer_momentum(0.1f, 0.9f, true);
    default: return graft_optimizer_adam(0.05f, 0.9f, 0.999f, 1e-8f);
    }
}

/* Three graph seeds (convergence must not hinge on one lucky initialisation);
 * an optimizer binds to one graph, so each seed gets a fresh one. */
static void check_xor(kind k, int max_steps)
{
    static const char *const names[] = {"GradientDescent", "Momentum", "Nesterov", "Adam"};
    for (int64_t seed = 1; seed <= 3; seed++) {
        graft_optimizer *opt = make_opt(k);
        assert_non_null(opt);
        run_result r = train_xor(opt, 0.05f, max_steps, seed);
        print_message("%s seed %lld: loss %.4f -> %.4f in %d steps, accuracy %.2f\n", names[k],
                      (long long)seed, (double)r.first_loss, (double)r.loss, r.steps, (double)r.accuracy);
        assert_true(r.first_loss > 0.3f); /* XOR starts near log(2) = 0.69 */
        assert_true(r.loss < 0.05f);
        assert_true(r.accuracy == 1.0f);
        graft_optimizer_free(opt);
    }
}

static void test_xor_sgd(void **state)
{
    (void)state;
    check_xor(SGD, 4000);
}

static void test_xor_momentum(void **state)
{
    (void)state;
    check_xor(MOMENTUM, 2000);
}

static void test_xor_nesterov(void **state)
{
    (void)state;
    check_xor(NESTEROV, 2000);
}

static void test_xor_adam(void **state)
{
    (void)state;
    check_xor(ADAM, 2000);
}

/* 6x6 single-channel images with a bright vertical bar (3 px) in the left or
 * right half at one of three columns and rows offsets, plus faint noise; class
 * = the half. conv2d(4 filters, 3x3, SAME, relu) -> max_pooling2d 2x2 -> flatten
 * -> dropout (training only) -> dense(2). */
static void test_conv_net(void **state)
{
    (void)state;
    enum { N = 24, H = 6, W = 6 };
    graft_graph *g = graft_graph_new();
    graft_graph_set_seed(g, 5);
    int64_t xd[4] = {N, H, W, 1}, yd[1] = {N};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(4, xd));
    graft_out y = graft_placeholder(g, "y", GRAFT_INT32, graft_shape_make(1, yd));
    graft_tensor *f = graft_tensor_new(GRAFT_BOOL, NULL, 0, NULL);
    graft_out training =
        graft_placeholder_with_default(g, "training", graft_const(g, NULL, f), graft_shape_make(0, NULL));
    graft_tensor_free(f);
    graft_conv2d_cfg c;
    graft_conv2d_cfg_init(&c);
    c.filters = 4;
    c.kernel_size[0] = c.kernel_size[1] = 3;
    c.padding = GRAFT_PAD_SAME;
    c.activation = GRAFT_ACT_RELU;
    graft_out h = graft_conv2d_layer(g, x, &c);
    graft_pool2d_cfg p;
    graft_pool2d_cfg_init(&p);
    p.pool_size[0] = p.pool_size[1] = 2;
    h = graft_max_pooling2d(g, h, &p);
    h = graft_flatten(g, h, NULL);
    graft_dropout_cfg dc;
    graft_dropout_cfg_init(&dc);
    dc.rate = 0.1;
    dc.training_tensor = training;
    h = graft_dropout(g, h, &dc);
    graft_dense_cfg d;
    graft_dense_cfg_init(&d);
    d.units = 2;
    graft_out logits = graft_dense(g, h, &d);
    graft_out loss = graft_sparse_softmax_cross_entropy_loss(g, logits, y);
    graft_out acc = graft_accuracy(g, logits, y);
    graft_optimizer *opt = graft_optimizer_adam(0.02f, 0.9f, 0.999f, 1e-8f);
    graft_op *gs = graft_global_step_new(g), *train = NULL;
    graft_status st;
    graft_code rc = graft_optimizer_minimize(opt, g, loss, NULL, 0, gs, &train, &st);
    if (rc) print_error("minimize: %s\n", st.msg);
    assert_int_equal(rc, GRAFT_OK);
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_int_equal(graft_session_init_variables(s, &st), GRAFT_OK);

    static float xs[N * H * W];
    int32_t ys[N];
    uint32_t rng = 12345;
    for (int n = 0; n < N; n++) {
        int cls = n % 2, col = (n / 2) % 3 + (cls ? 3 : 0), row = (n / 6) % 4;
        for (int i = 0; i < H * W; i++) {
            rng = rng * 1664525u + 1013904223u;
            xs[n * H * W + i] = (float)(rng >> 8) / 16777216.0f * 0.2f;
        }
        for (int r = row; r < row + 3 && r < H; r++) xs[n * H * W + r * W + col] += 1.0f;
        ys[n] = cls;
    }
    graft_tensor *tx = graft_tensor_from_data(GRAFT_FLOAT, xd, 4, xs, sizeof xs, NULL);
    graft_tensor *ty = graft_tensor_from_data(GRAFT_INT32, yd, 1, ys, sizeof ys, NULL);
    graft_tensor *ton = graft_tensor_new(GRAFT_BOOL, NULL, 0, NULL);
    *(bool *)graft_tensor_data(ton) = true;
    graft_out feeds[3] = {x, y, training};
    graft_tensor *fv[3] = {tx, ty, ton};
    graft_out fetch[2] = {loss, acc};
    float first = 0, l = 0;
    int step;
    for (step = 0; step < 400; step++) {
        graft_tensor *lv = NULL;
        rc = graft_session_run(s, feeds, fv, 3, &loss, &lv, 1, &train, 1, &st);
        if (rc) print_error("step %d: %s\n", step, st.msg);
        assert_int_equal(rc, GRAFT_OK);
        l = *(float *)graft_tensor_data(lv);
        graft_tensor_free(lv);
        if (step == 0) first = l;
        if (l < 0.05f) break;
    }
    /* evaluate without dropout (training defaults to false) */
    graft_tensor *out[2] = {NULL, NULL};
    assert_int_equal(graft_session_run(s, feeds, fv, 2, fetch, out, 2, NULL, 0, &st), GRAFT_OK);
    float el = *(float *)graft_tensor_data(out[0]), ea = *(float *)graft_tensor_data(out[1]);
    print_message("conv net: loss %.4f -> %.4f in %d steps; eval loss %.4f accuracy %.2f\n", (double)first,
                  (double)l, step + 1, (double)el, (double)ea);
    assert_true(first > 0.3f);
    assert_true(el < 0.1f);
    assert_true(ea == 1.0f);
    graft_tensor *gv = NULL;
    assert_int_equal(graft_session_get_variable(s, gs, &gv, &st), GRAFT_OK);
    assert_int_equal(*(int64_t *)graft_tensor_data(gv), step < 400 ? step + 1 : 400);
    graft_tensor_free(gv);
    graft_tensor_free(out[0]);
    graft_tensor_free(out[1]);
    graft_tensor_free(tx);
    graft_tensor_free(ty);
    graft_tensor_free(ton);
    graft_session_free(s);
    graft_optimizer_free(opt);
    graft_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xor_sgd),      cmocka_unit_test(test_xor_momentum),
        cmocka_unit_test(test_xor_nesterov), cmocka_unit_test(test_xor_adam),
        cmocka_unit_test(test_conv_net),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
