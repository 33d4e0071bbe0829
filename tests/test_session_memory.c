/* tests/test_session_memory.c - the session's memory promises: a warm training
 * step of the same shapes makes no allocation at all (counted through the
 * process-wide allocator hook), intermediate values are freed after their last
 * use (peak stays near one layer's activations, not the sum of all), and
 * nothing below a stop-gradient is kept for a backward pass that never needs it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static size_t n_allocs;
static void *counting_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (!ptr) n_allocs++;
    else if (nsize > osize) n_allocs++;
    return realloc(ptr, nsize);
}

static graft_tensor *filled(graft_dtype dt, const int64_t *d, int r, float v)
{
    graft_tensor *t = graft_tensor_new(dt, d, r, NULL);
    float *p = graft_tensor_data(t);
    for (int64_t i = 0; i < graft_tensor_num_elements(t); i++) p[i] = v * (float)((i % 7) - 3);
    return t;
}

/* A conv + dense classifier trained with Adam: steps 3.. allocate nothing. */
static void test_warm_step_allocates_nothing(void **state)
{
    (void)state;
    graft_set_allocator(counting_alloc, NULL);
    graft_status st;
    graft_graph *g = graft_graph_new();
    graft_graph_set_seed(g, 3);
    int64_t xd[4] = {-1, 8, 8, 1}, yd[2] = {-1, 4};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(4, xd));
    graft_out y = graft_placeholder(g, "y", GRAFT_FLOAT, graft_shape_make(2, yd));
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
    h = graft_flatten(g, graft_max_pooling2d(g, h, &p), NULL);
    graft_dense_cfg d;
    graft_dense_cfg_init(&d);
    d.units = 4;
    graft_out logits = graft_dense(g, h, &d);
    graft_out loss = graft_softmax_cross_entropy_loss(g, logits, y);
    graft_optimizer *opt = graft_optimizer_adam(0.01f, 0.9f, 0.999f, 1e-8f);
    graft_op *train;
    assert_int_equal(graft_optimizer_minimize(opt, g, loss, NULL, 0, NULL, &train, &st), GRAFT_OK);
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_int_equal(graft_session_init_variables(s, &st), GRAFT_OK);
    int64_t xb[4] = {16, 8, 8, 1}, yb[2] = {16, 4};
    graft_tensor *xv = filled(GRAFT_FLOAT, xb, 4, 0.1f), *yv = graft_tensor_new(GRAFT_FLOAT, yb, 2, NULL);
    for (int i = 0; i < 16; i++) ((float *)graft_tensor_data(yv))[i * 4 + i % 4] = 1.0f;
    graft_out feeds[2] = {x, y};
    graft_tensor *fv[2] = {xv, yv};
    float first = 0, last = 0;
    for (int step = 0; step < 30; step++) {
        graft_tensor *lv;
        size_t before = n_allocs;
        assert_int_equal(graft_session_run(s, feeds, fv, 2, &loss, &lv, 1, &train, 1, &st), GRAFT_OK);
        last = *(float *)graft_tensor_data(lv);
        if (step == 0) first = last;
        graft_tensor_free(lv);
        if (step >= 2) assert_int_equal(n_allocs - before, 0);
        graft_session_stats ss;
        graft_session_get_stats(s, &ss);
        if (step >= 2) assert_int_equal(ss.allocations_last_run, 0);
    }
    assert_true(last < first);
    graft_tensor_free(xv);
    graft_tensor_free(yv);
    graft_optimizer_free(opt);
    graft_session_free(s);
    graft_graph_free(g);
    graft_set_allocator(NULL, NULL);
}

/* A chain of 8 large elementwise ops: with values freed after their last use the
 * peak holds about two of them, not eight. */
static void test_values_freed_after_last_use(void **state)
{
    (void)state;
    graft_status st;
    graft_graph *g = graft_graph_new();
    int64_t d[1] = {1 << 18}; /* 1 MiB of float32 */
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(1, d));
    graft_out h = x;
    for (int i = 0; i < 8; i++) h = graft_exp(g, graft_neg(g, h));
    graft_session *s = graft_session_new(g, NULL, &st);
    graft_tensor *xv = filled(GRAFT_FLOAT, d, 1, 0.01f), *out;
    assert_int_equal(graft_session_run(s, &x, &xv, 1, &h, &out, 1, NULL, 0, &st), GRAFT_OK);
    graft_session_stats ss;
    graft_session_get_stats(s, &ss);
    assert_true(ss.peak_bytes_last_run <= 3u * (1u << 20));
    assert_int_equal(ss.ops_run_last_run, 16);
    graft_tensor_free(out);
    graft_tensor_free(xv);
    graft_session_free(s);
    graft_graph_free(g);
}

/* Training a head above a stop-gradient: the trunk's activations are not kept for
 * a backward pass (the trunk's gradient is never built), so the peak is the same
 * as inference. */
static void test_nothing_kept_below_stop_gradient(void **state)
{
    (void)state;
    graft_status st;
    graft_graph *g = graft_graph_new();
    graft_graph_set_seed(g, 5);
    int64_t xd[2] = {64, 4096};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(2, xd));
    graft_dense_cfg d;
    graft_dense_cfg_init(&d);
    d.units = 1024;
    d.activation = GRAFT_ACT_RELU;
    graft_out t = graft_dense(g, x, &d); /* trunk */
    t = graft_dense(g, t, &d);
    graft_out f = graft_stop_gradient(g, t);
    d.units = 4;
    d.activation = GRAFT_ACT_NONE;
    graft_layer_vars hv;
    d.vars = &hv;
    graft_out logits = graft_dense(g, f, &d);
    graft_out loss = graft_mean(g, graft_square(g, logits), NULL, 0, false);
    graft_op *head[2] = {hv.kernel, hv.bias}, *train;
    graft_optimizer *opt = graft_optimizer_sgd(0.1f);
    assert_int_equal(graft_optimizer_minimize(opt, g, loss, head, 2, NULL, &train, &st), GRAFT_OK);
    /* no gradient op reaches into the trunk */
    for (int i = 0; i < graft_graph_num_ops(g); i++) {
        const char *nm = graft_op_name(graft_graph_op_at(g, i));
        assert_null(strstr(nm, "gradients/dense/"));
        assert_null(strstr(nm, "gradients/dense_1/"));
    }
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_int_equal(graft_session_init_variables(s, &st), GRAFT_OK);
    graft_tensor *xv = filled(GRAFT_FLOAT, xd, 2, 0.001f), *lv;
    assert_int_equal(graft_session_run(s, &x, &xv, 1, &loss, &lv, 1, NULL, 0, &st), GRAFT_OK);
    graft_tensor_free(lv);
    graft_session_stats inf, tr;
    graft_session_get_stats(s, &inf);
    assert_int_equal(graft_session_run(s, &x, &xv, 1, &loss, &lv, 1, &train, 1, &st), GRAFT_OK);
    graft_tensor_free(lv);
    graft_session_get_stats(s, &tr);
    /* the trunk's [64,1024] activations (256 KiB each) are not held for backprop */
    assert_true(tr.peak_bytes_last_run <= inf.peak_bytes_last_run + (64u << 10));
    graft_tensor_free(xv);
    graft_optimizer_free(opt);
    graft_session_free(s);
    graft_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_warm_step_allocates_nothing),
        cmocka_unit_test(test_values_freed_after_last_use),
        cmocka_unit_test(test_nothing_kept_below_stop_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
