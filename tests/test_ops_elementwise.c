/* tests/test_ops_elementwise.c - element-wise ops: forward values against the
 * NumPy oracle (tests/data/ops_a_elementwise.h, made by ops_oracle_a.py),
 * build-time and run-time errors, hand-derived gradient values at ties and
 * at the Pow guard, and buffer reuse not clobbering live values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/ops_a_elementwise.h"
#include "opsa_oracle.h"

static void test_oracle(void **state)
{
    (void)state;
    int n = 0;
    int fails = graftT_oa_run_table(oa_cases_elementwise, 4e-6, &n);
    printf("elementwise oracle: %d cases, %d failed\n", n, fails);
    assert_true(n > 300);
    assert_int_equal(fails, 0);
}

static graft_tensor *vec(graft_dtype dt, const double *v, int64_t n)
{
    graftT_oa_tensor t = {.dtype = dt, .rank = 1, .dims = {n}, .n = n, .f = v};
    int64_t iv[64];
    if (dt != GRAFT_FLOAT && dt != GRAFT_DOUBLE) {
        for (int64_t i = 0; i < n; i++) iv[i] = (int64_t)v[i];
        t.f = NULL;
        t.i = iv;
    }
    graft_tensor *r = graftT_oa_make(&t);
    assert_non_null(r);
    return r;
}

static graft_out ph(graft_graph *g, const char *name, graft_dtype dt, int rank, const int64_t *dims)
{
    return graft_placeholder(g, name, dt, rank < 0 ? graft_shape_unknown() : graft_shape_make(rank, dims));
}

/* Runs fetches with feeds; returns the code, outputs in out[]. */
static graft_code run(graft_graph *g, const graft_out *feeds, graft_tensor **fv, int nf, const graft_out *fetch,
                      graft_tensor **out, int no, graft_status *st)
{
    graft_session *s = graft_session_new(g, NULL, st);
    assert_non_null(s);
    graft_code rc = graft_session_run(s, feeds, fv, nf, fetch, out, no, NULL, 0, st);
    graft_session_free(s);
    return rc;
}

static void test_build_errors(void **state)
{
    (void)state;
    int64_t d23[2] = {2, 3}, d4[1] = {4};
    graft_graph *g = graft_graph_new();
    graft_out a = ph(g, "a", GRAFT_FLOAT, 2, d23), b = ph(g, "b", GRAFT_FLOAT, 1, d4);
    graft_out c = graft_add(g, a, b);
    assert_null(c.op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    assert_non_null(strstr(graft_graph_errmsg(g), "Incompatible shapes: [2,3] vs. [4]"));
    /* sticky: later builders return null quietly, the first message stays */
    assert_null(graft_mul(g, c, a).op);
    assert_null(graft_exp(g, a).op);
    assert_non_null(strstr(graft_graph_errmsg(g), "Incompatible shapes"));
    int nops = graft_graph_num_ops(g);
    graft_graph_clear_error(g);
    assert_int_equal(graft_graph_num_ops(g), nops); /* failed ops left the graph unchanged */

    graft_out i = ph(g, "i", GRAFT_INT32, 2, d23);
    assert_null(graft_add(g, a, i).op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_DTYPE);
    graft_graph_clear_error(g);
    assert_null(graft_div(g, i, i).op); /* RealDiv has no int kernel */
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_UNSUPPORTED);
    graft_graph_clear_error(g);
    assert_null(graft_sqrt(g, i).op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_UNSUPPORTED);
    graft_graph_clear_error(g);
    assert_null(graft_add_n(g, &a, 0).op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_INVALID_ARG);
    graft_graph_clear_error(g);
    graft_out two[2] = {a, graft_transpose(g, a, (const int32_t[]){1, 0}, 2)};
    assert_null(graft_add_n(g, two, 2).op); /* AddN does not broadcast */
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    graft_graph_clear_error(g);
    graft_out cond = ph(g, "c", GRAFT_BOOL, 1, d4);
    assert_null(graft_select(g, cond, a, a).op); /* vector cond must match dim 0 */
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    graft_graph_clear_error(g);
    assert_null(graft_select(g, a, a, a).op); /* cond must be bool */
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_DTYPE);
    graft_graph_free(g);
}

static void test_runtime_errors(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_out a = ph(g, "a", GRAFT_FLOAT, -1, NULL), b = ph(g, "b", GRAFT_FLOAT, -1, NULL);
    graft_out c = graft_add(g, a, b);
    assert_non_null(c.op);
    const double v3[3] = {1, 2, 3}, v4[4] = {1, 2, 3, 4};
    graft_tensor *fv[2] = {vec(GRAFT_FLOAT, v3, 3), vec(GRAFT_FLOAT, v4, 4)}, *out = NULL;
    graft_out feeds[2] = {a, b};
    graft_status st;
    assert_int_equal(run(g, feeds, fv, 2, &c, &out, 1, &st), GRAFT_ERR_SHAPE);
    assert_non_null(strstr(st.msg, "Incompatible shapes: [3] vs. [4]"));
    assert_null(out);
    graft_tensor_free(fv[0]);
    graft_tensor_free(fv[1]);
    /* integer FloorDiv by zero */
    graft_out x = ph(g, "x", GRAFT_INT32, -1, NULL), y = ph(g, "y", GRAFT_INT32, -1, NULL);
    graft_out xy[2] = {x, y};
    graft_op_builder *bd = graft_op_builder_new(g, "FloorDiv", "fd");
    graft_op_builder_add_input(bd, x);
    graft_op_builder_add_input(bd, y);
    graft_op_builder_attr_type(bd, "T", GRAFT_INT32);
    graft_op *fd = graft_op_builder_finish(bd, &st);
    assert_non_null(fd);
    const double num[2] = {7, -7}, den[2] = {2, 0};
    graft_tensor *iv[2] = {vec(GRAFT_INT32, num, 2), vec(GRAFT_INT32, den, 2)};
    graft_out fo = {fd, 0};
    assert_int_equal(run(g, xy, iv, 2, &fo, &out, 1, &st), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(st.msg, "Integer division by zero"));
    graft_tensor_free(iv[0]);
    graft_tensor_free(iv[1]);
    /* Select with a cond of the wrong length at run time */
    graft_out cd = ph(g, "cd", GRAFT_BOOL, -1, NULL);
    graft_out sel = graft_select(g, cd, a, a);
    assert_non_null(sel.op);
    const double cv[2] = {1, 0};
    graft_tensor *sv[2] = {vec(GRAFT_BOOL, cv, 2), vec(GRAFT_FLOAT, v3, 3)};
    graft_out sf[2] = {cd, a};
    assert_int_equal(run(g, sf, sv, 2, &sel, &out, 1, &st), GRAFT_ERR_SHAPE);
    graft_tensor_free(sv[0]);
    graft_tensor_free(sv[1]);
    graft_graph_free(g);
}

/* TF routes a Maximum tie's gradient to x (GreaterEqual mask), Minimum's too
 * (LessEqual); Pow's dy/dexponent is 0 (not NaN) where the base is 0. */
static void test_grad_values(void **state)
{
    (void)state;
    int64_t d3[1] = {3};
    graft_graph *g = graft_graph_new();
    graft_out x = ph(g, "x", GRAFT_FLOAT, 1, d3), y = ph(g, "y", GRAFT_FLOAT, 1, d3);
    graft_out m = graft_maximum(g, x, y), n = graft_minimum(g, x, y);
    graft_out p = graft_pow(g, x, y);
    graft_out xs[2] = {x, y}, dm[2], dn[2], dp[2];
    graft_status st;
    assert_int_equal(graft_gradients(g, &m, 1, xs, 2, NULL, dm, &st), GRAFT_OK);
    assert_int_equal(graft_gradients(g, &n, 1, xs, 2, NULL, dn, &st), GRAFT_OK);
    assert_int_equal(graft_gradients(g, &p, 1, xs, 2, NULL, dp, &st), GRAFT_OK);
    const double xv[3] = {1, 2, 0}, yv[3] = {1, 1, 2};
    graft_tensor *fv[2] = {vec(GRAFT_FLOAT, xv, 3), vec(GRAFT_FLOAT, yv, 3)}, *out[6] = {0};
    graft_out fetch[6] = {dm[0], dm[1], dn[0], dn[1], dp[0], dp[1]};
    assert_int_equal(run(g, xs, fv, 2, fetch, out, 6, &st), GRAFT_OK);
    const float want[6][3] = {{1, 1, 0}, {0, 0, 1}, {1, 0, 1}, {0, 1, 0},
                              /* d(x^y)/dx = y x^(y-1): 1, 1, 0; d/dy = x^y ln x: 0, 2 ln 2, 0 (guard) */
                              {1, 1, 0}, {0, 2 * 0.69314718f, 0}};
    for (int k = 0; k < 6; k++) {
        const float *o = graft_tensor_data(out[k]);
        for (int i = 0; i < 3; i++) {
            assert_false(isnan(o[i]));
            assert_float_equal(o[i], want[k][i], 1e-6);
        }
        graft_tensor_free(out[k]);
    }
    graft_tensor_free(fv[0]);
    graft_tensor_free(fv[1]);
    graft_graph_free(g);
}

/* A value fetched alongside ops that could run in place on it stays intact. */
static void test_reuse_keeps_live_values(void **state)
{
    (void)state;
    int64_t d[1] = {4};
    graft_graph *g = graft_graph_new();
    graft_out x = ph(g, "x", GRAFT_FLOAT, 1, d);
    graft_out z = graft_add(g, x, x);           /* 2x */
    graft_out e = graft_neg(g, z);              /* may reuse z's buffer only if z is dead */
    graft_out w = graft_mul(g, graft_exp(g, e), z);
    const double xv[4] = {0, 0.5, -1, 2};
    graft_tensor *fv = vec(GRAFT_FLOAT, xv, 4), *out[3] = {0};
    graft_out fetch[3] = {z, e, w};
    graft_status st;
    assert_int_equal(run(g, &x, &fv, 1, fetch, out, 3, &st), GRAFT_OK);
    for (int i = 0; i < 4; i++) {
        float zz = (float)(2 * xv[i]);
        assert_float_equal(((float *)graft_tensor_data(out[0]))[i], zz, 1e-6);
        assert_float_equal(((float *)graft_tensor_data(out[1]))[i], -zz, 1e-6);
        assert_float_equal(((float *)graft_tensor_data(out[2]))[i], expf(-zz) * zz, 1e-5);
    }
    /* the fed tensor is not modified */
    for (int i = 0; i < 4; i++) assert_float_equal(((float *)graft_tensor_data(fv))[i], (float)xv[i], 0);
    for (int k = 0; k < 3; k++) graft_tensor_free(out[k]);
    graft_tensor_free(fv);
    graft_graph_free(g);
}

/* Typed builders use TF's default op names and set T. */
static void test_builder_names(void **state)
{
    (void)state;
    int64_t d[1] = {2};
    graft_graph *g = graft_graph_new();
    graft_out x = ph(g, "x", GRAFT_DOUBLE, 1, d);
    graft_out a = graft_add(g, x, x), b = graft_add(g, x, x), m = graft_maximum(g, a, b);
    assert_string_equal(graft_op_name(a.op), "Add");
    assert_string_equal(graft_op_name(b.op), "Add_1");
    assert_string_equal(graft_op_type(m.op), "Maximum");
    graft_dtype t;
    assert_true(graft_op_attr_type(m.op, "T", &t));
    assert_int_equal(t, GRAFT_DOUBLE);
    graft_name_next(g, "my_sum");
    graft_out s = graft_add_n(g, (graft_out[]){a, b, m}, 3);
    assert_string_equal(graft_op_name(s.op), "my_sum");
    int64_t nn;
    assert_true(graft_op_attr_int(s.op, "N", &nn));
    assert_int_equal(nn, 3);
    graft_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracle),         cmocka_unit_test(test_build_errors),
        cmocka_unit_test(test_runtime_errors), cmocka_unit_test(test_grad_values),
        cmocka_unit_test(test_reuse_keeps_live_values), cmocka_unit_test(test_builder_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
