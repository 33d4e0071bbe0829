/* tests/test_autodiff.c - graft_gradients semantics: hand-derived values, fan-in
 * summed with AddN, an x that no y depends on, StopGradient and integer paths
 * blocking, ops without a gradient named in the error, gradient op naming. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "internal.h"

static float run1(graft_graph *g, graft_out feed, float fv, graft_out fetch)
{
    graft_status st;
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_non_null(s);
    graft_tensor *v = graft_tensor_scalar_f32(fv, NULL), *out = NULL;
    assert_int_equal(graft_session_run(s, &feed, &v, 1, &fetch, &out, 1, NULL, 0, &st), GRAFT_OK);
    float r = *(float *)graft_tensor_data(out);
    graft_tensor_free(out);
    graft_tensor_free(v);
    graft_session_free(s);
    return r;
}

/* y = x*x + 3x (x used three times): dy/dx = 2x + 3 -> at x = 2: 7 */
static void test_fan_in(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(0, NULL));
    graft_out y = graft_add(g, graft_mul(g, x, x), graft_mul(g, graft_const_f32(g, 3.0f), x));
    graft_out dx;
    graft_status st;
    assert_int_equal(graft_gradients(g, &y, 1, &x, 1, NULL, &dx, &st), GRAFT_OK);
    assert_non_null(dx.op);
    assert_float_equal(run1(g, x, 2.0f, dx), 7.0f, 1e-6);
    /* gradient ops live under "gradients/"; fan-in sums are AddN */
    assert_int_equal(strncmp(graft_op_name(dx.op), "gradients/", 10), 0);
    bool saw_addn = false;
    for (int i = 0; i < graft_graph_num_ops(g); i++)
        if (strcmp(graft_op_type(graft_graph_op_at(g, i)), "AddN") == 0) saw_addn = true;
    assert_true(saw_addn);
    /* a second call uses "gradients_1/" */
    graft_out dx2;
    assert_int_equal(graft_gradients(g, &y, 1, &x, 1, NULL, &dx2, &st), GRAFT_OK);
    assert_int_equal(strncmp(graft_op_name(dx2.op), "gradients_1/", 12), 0);
    graft_graph_free(g);
}

static void test_unrelated_and_blocked(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(0, NULL));
    graft_out z = graft_placeholder(g, "z", GRAFT_FLOAT, graft_shape_make(0, NULL));
    /* y = x * stop_gradient(x) + cast(cast(z, int32), float) */
    graft_out y = graft_add(g, graft_mul(g, x, graft_stop_gradient(g, x)),
                            graft_cast(g, graft_cast(g, z, GRAFT_INT32), GRAFT_FLOAT));
    graft_out q = graft_placeholder(g, "q", GRAFT_FLOAT, graft_shape_make(0, NULL));
    graft_out xs[3] = {x, z, q}, d[3];
    graft_status st;
    assert_int_equal(graft_gradients(g, &y, 1, xs, 3, NULL, d, &st), GRAFT_OK);
    assert_non_null(d[0].op);
    assert_null(d[1].op); /* only through an integer path */
    assert_null(d[2].op); /* y does not depend on q */
    /* d/dx [x * sg(x)] = sg(x) = x -> at 5: 5 (not 10); the seed's Shape(y) needs z fed */
    graft_session *s = graft_session_new(g, NULL, &st);
    graft_tensor *fv[2] = {graft_tensor_scalar_f32(5.0f, NULL), graft_tensor_scalar_f32(1.5f, NULL)}, *out = NULL;
    graft_out feeds[2] = {x, z};
    assert_int_equal(graft_session_run(s, feeds, fv, 2, &d[0], &out, 1, NULL, 0, &st), GRAFT_OK);
    assert_float_equal(*(float *)graft_tensor_data(out), 5.0f, 1e-6);
    graft_tensor_free(out);
    graft_tensor_free(fv[0]);
    graft_tensor_free(fv[1]);
    graft_session_free(s);
    graft_graph_free(g);
}

static void test_grad_ys(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(0, NULL));
    graft_out y = graft_square(g, x);
    graft_out gy = graft_const_f32(g, 0.5f), dx;
    graft_status st;
    assert_int_equal(graft_gradients(g, &y, 1, &x, 1, &gy, &dx, &st), GRAFT_OK);
    /* 0.5 * 2x at x = 3 -> 3 */
    assert_float_equal(run1(g, x, 3.0f, dx), 3.0f, 1e-6);
    graft_graph_free(g);
}

/* ReluGrad is registered without a gradient of its own: differentiating through
 * it is an error that names the op. */
static void test_no_gradient_error(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_status st;
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(1, (int64_t[]){3}));
    graft_op_builder *b = graft_op_builder_new(g, "ReluGrad", "rg");
    graft_op_builder_add_input(b, x);
    graft_op_builder_add_input(b, x);
    graft_op_builder_attr_type(b, "T", GRAFT_FLOAT);
    graft_op *m = graft_op_builder_finish(b, &st);
    assert_non_null(m);
    graft_out y = graft_sum(g, (graft_out){m, 0}, NULL, 0, false);
    graft_out dx;
    assert_int_equal(graft_gradients(g, &y, 1, &x, 1, NULL, &dx, &st), GRAFT_ERR_UNSUPPORTED);
    assert_string_equal(st.msg, "No gradient defined for operation 'rg' (op type: ReluGrad)");
    assert_null(dx.op);
    graft_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fan_in),
        cmocka_unit_test(test_unrelated_and_blocked),
        cmocka_unit_test(test_grad_ys),
        cmocka_unit_test(test_no_gradient_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
