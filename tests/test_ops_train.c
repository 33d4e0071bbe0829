/* tests/test_ops_train.c - one step of ApplyGradientDescent, ApplyMomentum
 * (plain and Nesterov) and ApplyAdam (plain and Nesterov) against TF 1.x's
 * training_ops.cc formulas worked by hand below; in-place updates of var and
 * slots, the output ref, and the errors (uninitialised, non-variable refs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "ops/train_ops.h"
#include "opsb.h"

typedef struct vars {
    graft_graph *g;
    graft_variable v[3];
    int n;
} vars;

/* A trainable variable initialised from values (rank-1). */
static graft_out ref_var(vars *V, const char *name, graft_dtype dt, const double *vals, int64_t n)
{
    graft_tensor *t = graftT_opsb_tensor(dt, 1, &n, vals);
    graft_out init = graft_const(V->g, NULL, t);
    graft_tensor_free(t);
    graft_variable_new(V->g, name, init, true, &V->v[V->n]);
    return graftI_o(V->v[V->n++].var, 0);
}

static graft_out scalar(graft_graph *g, graft_dtype dt, double v)
{
    graft_tensor *t = graftT_opsb_tensor(dt, 0, NULL, &v);
    graft_out o = graft_const(g, NULL, t);
    graft_tensor_free(t);
    return o;
}

static graft_out vec(graft_graph *g, graft_dtype dt, const double *v, int64_t n)
{
    graft_tensor *t = graftT_opsb_tensor(dt, 1, &n, v);
    graft_out o = graft_const(g, NULL, t);
    graft_tensor_free(t);
    return o;
}

/* Initialises, runs `step` once (fetching its output), and checks the output
 * and every variable i against want[i]. */
static void run_step(vars *V, graft_out step, const double *const *want, int64_t n, double tol)
{
    graft_status st;
    graft_session *s = graft_session_new(V->g, NULL, &st);
    assert_non_null(s);
    assert_int_equal(graft_session_init_variables(s, &st), GRAFT_OK);
    graft_tensor *out = NULL;
    assert_int_equal(graft_session_run(s, NULL, NULL, 0, &step, &out, 1, NULL, 0, &st), GRAFT_OK);
    assert_true(graftT_opsb_close("output (updated var)", out, want[0], n, tol, tol));
    graft_tensor_free(out);
    for (int i = 0; i < V->n; i++) {
        graft_tensor *v = NULL;
        assert_int_equal(graft_session_get_variable(s, V->v[i].var, &v, &st), GRAFT_OK);
        assert_true(graftT_opsb_close(graft_op_name(V->v[i].var), v, want[i], n, tol, tol));
        graft_tensor_free(v);
    }
    graft_session_free(s);
}

/* var = [1, 2, 3], alpha = 0.1, delta = [1, -2, 0.5]:
 * var - alpha*delta = [0.9, 2.2, 2.95]. */
static void test_gradient_descent(void **state)
{
    (void)state;
    for (int dti = 0; dti < 2; dti++) {
        graft_dtype dt = dti ? GRAFT_DOUBLE : GRAFT_FLOAT;
        vars V = {graft_graph_new(), {{0}}, 0};
        const double w0[3] = {1, 2, 3}, d[3] = {1, -2, 0.5}, w1[3] = {0.9, 2.2, 2.95};
        graft_out w = ref_var(&V, "w", dt, w0, 3);
        graft_out step = graftI_apply_gradient_descent(V.g, w, scalar(V.g, dt, 0.1), vec(V.g, dt, d, 3));
        assert_int_equal(graft_graph_status(V.g), GRAFT_OK);
        assert_string_equal(graft_op_type(step.op), "ApplyGradientDescent");
        const double *want[1] = {w1};
        run_step(&V, step, want, 3, dti ? 1e-15 : 1e-7);
        graft_graph_free(V.g);
    }
}

/* var = [1, 2], accum = [0.5, -1], lr = 0.1, grad = [0.2, 0.4], momentum = 0.9:
 * accum = 0.9*accum + grad = [0.65, -0.5]
 * plain:    var -= lr*accum                  -> [0.935, 2.05]
 * Nesterov: var -= lr*grad + lr*0.9*accum    -> [1 - (0.02 + 0.0585), 2 - (0.04 - 0.045)]
 *                                             = [0.9215, 2.005] */
static void test_momentum(void **state)
{
    (void)state;
    for (int nest = 0; nest < 2; nest++)
        for (int dti = 0; dti < 2; dti++) {
            graft_dtype dt = dti ? GRAFT_DOUBLE : GRAFT_FLOAT;
            vars V = {graft_graph_new(), {{0}}, 0};
            const double w0[2] = {1, 2}, a0[2] = {0.5, -1}, gr[2] = {0.2, 0.4};
            const double a1[2] = {0.65, -0.5}, w_plain[2] = {0.935, 2.05}, w_nest[2] = {0.9215, 2.005};
            graft_out w = ref_var(&V, "w", dt, w0, 2);
            graft_out acc = ref_var(&V, "w/Momentum", dt, a0, 2);
            graft_out step = graftI_apply_momentum(V.g, w, acc, scalar(V.g, dt, 0.1), vec(V.g, dt, gr, 2),
                                                   scalar(V.g, dt, 0.9), nest != 0);
            assert_int_equal(graft_graph_status(V.g), GRAFT_OK);
            bool b;
            assert_true(graft_op_attr_bool(step.op, "use_nesterov", &b));
            assert_int_equal(b, nest != 0);
            const double *want[2] = {nest ? w_nest : w_plain, a1};
            run_step(&V, step, want, 2, dti ? 1e-14 : 1e-6);
            graft_graph_free(V.g);
        }
}

/* var = [1, -2], m = [0.1, 0], v = [0.01, 0], beta1_power = 0.9,
 * beta2_power = 0.999 (the first step), lr = 0.01, beta1 = 0.9, beta2 = 0.999,
 * epsilon = 1e-8, grad = [0.5, -1]:
 *   alpha = lr*sqrt(1 - 0.999)/(1 - 0.9) = 0.01*0.0316227766/0.1 = 0.003162277660168381
 *   m = m + (g - m)*0.1   = [0.1 + 0.04, 0 - 0.1]      = [0.14, -0.1]
 *   v = v + (g² - v)*0.001 = [0.01 + 0.00024, 0 + 0.001] = [0.01024, 0.001]
 *   plain: var -= alpha*m/(sqrt(v) + eps)
 *     [1 - 0.00044271887/(0.10119288513 + 1e-8), -2 + 0.00031622777/(0.03162277660 + 1e-8)]
 *     = [0.9956250004323426, -1.9900000031622767]
 *   Nesterov: var -= alpha*(g*(1 - beta1) + beta1*m)/(sqrt(v) + eps)
 *     numerators (0.05 + 0.126, -0.1 - 0.09) = (0.176, -0.19)
 *     = [0.9945000005435164, -1.9810000060083257] */
static void test_adam(void **state)
{
    (void)state;
    for (int nest = 0; nest < 2; nest++)
        for (int dti = 0; dti < 2; dti++) {
            graft_dtype dt = dti ? GRAFT_DOUBLE : GRAFT_FLOAT;
            vars V = {graft_graph_new(), {{0}}, 0};
            const double w0[2] = {1, -2}, m0[2] = {0.1, 0}, v0[2] = {0.01, 0}, gr[2] = {0.5, -1};
            const double m1[2] = {0.14, -0.1}, v1[2] = {0.01024, 0.001};
            const double w_plain[2] = {0.9956250004323426, -1.9900000031622767};
            const double w_nest[2] = {0.9945000005435164, -1.9810000060083257};
            graft_graph *g = V.g;
            graft_out w = ref_var(&V, "w", dt, w0, 2);
            graft_out m = ref_var(&V, "w/Adam", dt, m0, 2);
            graft_out v = ref_var(&V, "w/Adam_1", dt, v0, 2);
            graft_out step = graftI_apply_adam(g, w, m, v, scalar(g, dt, 0.9), scalar(g, dt, 0.999),
                                               scalar(g, dt, 0.01), scalar(g, dt, 0.9), scalar(g, dt, 0.999),
                                               scalar(g, dt, 1e-8), vec(g, dt, gr, 2), nest != 0);
            assert_int_equal(graft_graph_status(g), GRAFT_OK);
            const double *want[3] = {nest ? w_nest : w_plain, m1, v1};
            run_step(&V, step, want, 2, dti ? 1e-13 : 2e-6);
            graft_graph_free(g);
        }
}

/* Two steps of plain SGD accumulate in place: w = 1 - 2*0.5*1 = 0. */
static void test_in_place_repeat(void **state)
{
    (void)state;
    vars V = {graft_graph_new(), {{0}}, 0};
    const double w0[1] = {1}, d[1] = {1};
    graft_out w = ref_var(&V, "w", GRAFT_FLOAT, w0, 1);
    graft_out step =
        graftI_apply_gradient_descent(V.g, w, scalar(V.g, GRAFT_FLOAT, 0.5), vec(V.g, GRAFT_FLOAT, d, 1));
    graft_status st;
    graft_session *s = graft_session_new(V.g, NULL, &st);
    assert_int_equal(graft_session_init_variables(s, &st), GRAFT_OK);
    /* read the value before the steps: a fetched value must not change under us */
    graft_tensor *before = NULL;
    assert_int_equal(graft_session_run(s, NULL, NULL, 0, &V.v[0].value, &before, 1, NULL, 0, &st), GRAFT_OK);
    assert_int_equal(graft_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &step.op, 1, &st), GRAFT_OK);
    assert_int_equal(graft_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &step.op, 1, &st), GRAFT_OK);
    graft_tensor *after = NULL;
    assert_int_equal(graft_session_get_variable(s, V.v[0].var, &after, &st), GRAFT_OK);
    const double one[1] = {1}, zero[1] = {0};
    assert_true(graftT_opsb_close("fetched before", before, one, 1, 0, 0));
    assert_true(graftT_opsb_close("after two steps", after, zero, 1, 0, 0));
    graft_tensor_free(before);
    graft_tensor_free(after);
    graft_session_free(s);
    graft_graph_free(V.g);
}

static void test_train_errors(void **state)
{
    (void)state;
    vars V = {graft_graph_new(), {{0}}, 0};
    graft_graph *g = V.g;
    const double w0[2] = {1, 2}, d[2] = {1, 1}, d3[3] = {1, 1, 1};
    graft_out w = ref_var(&V, "w", GRAFT_FLOAT, w0, 2);
    /* the ref must be a variable's output 0, not its snapshot */
    graft_out bad = graftI_apply_gradient_descent(g, V.v[0].value, scalar(g, GRAFT_FLOAT, 0.1),
                                                  vec(g, GRAFT_FLOAT, d, 2));
    assert_false(graft_out_ok(bad));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(graft_graph_errmsg(g), "var"));
    graft_graph_clear_error(g);
    /* so must the accum slot */
    bad = graftI_apply_momentum(g, w, vec(g, GRAFT_FLOAT, d, 2), scalar(g, GRAFT_FLOAT, 0.1),
                                vec(g, GRAFT_FLOAT, d, 2), scalar(g, GRAFT_FLOAT, 0.9), false);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(graft_graph_errmsg(g), "accum"));
    graft_graph_clear_error(g);
    /* shape and dtype mismatches */
    bad = graftI_apply_gradient_descent(g, w, scalar(g, GRAFT_FLOAT, 0.1), vec(g, GRAFT_FLOAT, d3, 3));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    graft_graph_clear_error(g);
    bad = graftI_apply_gradient_descent(g, w, vec(g, GRAFT_FLOAT, d, 2), vec(g, GRAFT_FLOAT, d, 2));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    assert_non_null(strstr(graft_graph_errmsg(g), "alpha"));
    graft_graph_clear_error(g);
    bad = graftI_apply_gradient_descent(g, w, scalar(g, GRAFT_DOUBLE, 0.1), vec(g, GRAFT_FLOAT, d, 2));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_DTYPE);
    graft_graph_clear_error(g);
    /* uninitialised */
    graft_out step =
        graftI_apply_gradient_descent(g, w, scalar(g, GRAFT_FLOAT, 0.1), vec(g, GRAFT_FLOAT, d, 2));
    assert_true(graft_out_ok(step));
    graft_status st;
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_int_equal(graft_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &step.op, 1, &st),
                     GRAFT_ERR_FAILED_PRECONDITION);
    assert_non_null(strstr(st.msg, "uninitialized value w"));
    graft_session_free(s);
    graft_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_descent),
        cmocka_unit_test(test_momentum),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_in_place_repeat),
        cmocka_unit_test(test_train_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
