/* tests/test_ops_reduce.c - reductions: forward values against the NumPy oracle
 * (tests/data/ops_a_reduce.h), hand-derived gradients (Max ties share the
 * gradient, Prod with zeros, Mean's 1/n), static shapes and error paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/ops_a_reduce.h"
#include "opsa_oracle.h"

static void test_oracle(void **state)
{
    (void)state;
    int n = 0;
    int fails = graftT_oa_run_table(oa_cases_reduce, 1e-5, &n);
    printf("reduce oracle: %d cases, %d failed\n", n, fails);
    assert_true(n > 200);
    assert_int_equal(fails, 0);
}

static graft_tensor *f32(const float *v, int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int d = 0; d < rank; d++) n *= dims[d];
    graft_tensor *t = graft_tensor_from_data(GRAFT_FLOAT, dims, rank, v, (size_t)n * sizeof(float), NULL);
    assert_non_null(t);
    return t;
}

/* d/dx of reduce(x) fetched for one fed x; compares with want. */
static void check_grad(graft_out (*build)(graft_graph *, graft_out), const float *xv, const float *want, int rank,
                       const int64_t *dims)
{
    graft_graph *g = graft_graph_new();
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(rank, dims));
    graft_out y = build(g, x), dx;
    graft_status st;
    assert_int_equal(graft_gradients(g, &y, 1, &x, 1, NULL, &dx, &st), GRAFT_OK);
    graft_session *s = graft_session_new(g, NULL, &st);
    graft_tensor *fv = f32(xv, rank, dims), *out = NULL;
    assert_int_equal(graft_session_run(s, &x, &fv, 1, &dx, &out, 1, NULL, 0, &st), GRAFT_OK);
    for (int64_t i = 0; i < graft_tensor_num_elements(out); i++)
        assert_float_equal(((float *)graft_tensor_data(out))[i], want[i], 1e-6);
    graft_tensor_free(out);
    graft_tensor_free(fv);
    graft_session_free(s);
    graft_graph_free(g);
}

static graft_out max_all(graft_graph *g, graft_out x) { return graft_reduce_max(g, x, NULL, 0, false); }
static graft_out max_rows(graft_graph *g, graft_out x) { return graft_reduce_max(g, x, (const int32_t[]){1}, 1, false); }
static graft_out mean_all(graft_graph *g, graft_out x) { return graft_mean(g, x, NULL, 0, false); }
static graft_out prod_all(graft_graph *g, graft_out x)
{
    graft_op_builder *b = graft_op_builder_new(g, "Prod", "Prod");
    graft_op_builder_add_input(b, x);
    graft_op_builder_add_input(b, graft_const_i32(g, 0));
    graft_op_builder_attr_type(b, "T", GRAFT_FLOAT);
    graft_status st;
    graft_out o = {graft_op_builder_finish(b, &st), 0};
    return o;
}

static void test_grad_values(void **state)
{
    (void)state;
    /* Max with ties: the gradient is shared equally among the maxima (TF) */
    const int64_t d3[1] = {3}, d23[2] = {2, 3};
    check_grad(max_all, (const float[]){1, 3, 3}, (const float[]){0, 0.5f, 0.5f}, 1, d3);
    check_grad(max_rows, (const float[]){5, 5, 5, 1, 2, 0}, (const float[]){1.f / 3, 1.f / 3, 1.f / 3, 0, 1, 0}, 2, d23);
    check_grad(mean_all, (const float[]){1, 2, 3, 4, 5, 6}, (const float[]){1.f / 6, 1.f / 6, 1.f / 6, 1.f / 6, 1.f / 6, 1.f / 6},
               2, d23);
    /* Prod: the product of the others, also where x has zeros */
    check_grad(prod_all, (const float[]){2, 0, 3}, (const float[]){0, 6, 0}, 1, d3);
    check_grad(prod_all, (const float[]){0, 0, 3}, (const float[]){0, 0, 0}, 1, d3);
    check_grad(prod_all, (const float[]){2, -1, 3}, (const float[]){-3, 6, -2}, 1, d3);
}

static void test_static_shapes_and_errors(void **state)
{
    (void)state;
    const int64_t dq[3] = {-1, 3, 4};
    graft_graph *g = graft_graph_new();
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(3, dq));
    graft_shape s = graft_out_shape(graft_sum(g, x, (const int32_t[]){1}, 1, false));
    assert_int_equal(s.rank, 2);
    assert_int_equal(s.dims[0], -1);
    assert_int_equal(s.dims[1], 4);
    s = graft_out_shape(graft_mean(g, x, (const int32_t[]){-1, 0}, 2, true));
    assert_int_equal(s.rank, 3);
    assert_true(s.dims[0] == 1 && s.dims[1] == 3 && s.dims[2] == 1);
    s = graft_out_shape(graft_argmax(g, x, 2));
    assert_true(s.rank == 2 && s.dims[0] == -1 && s.dims[1] == 3);
    assert_int_equal(graft_out_dtype(graft_argmax(g, x, 2)), GRAFT_INT64);
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    /* bad axes at build time */
    assert_null(graft_sum(g, x, (const int32_t[]){3}, 1, false).op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(graft_graph_errmsg(g), "Invalid reduction dimension"));
    graft_graph_clear_error(g);
    assert_null(graft_argmax(g, x, -4).op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_INVALID_ARG);
    graft_graph_clear_error(g);
    /* bad axes at run time */
    graft_out ax = graft_placeholder(g, "ax", GRAFT_INT32, graft_shape_unknown());
    graft_op_builder *b = graft_op_builder_new(g, "Sum", "dyn_sum");
    graft_op_builder_add_input(b, x);
    graft_op_builder_add_input(b, ax);
    graft_op_builder_attr_type(b, "T", GRAFT_FLOAT);
    graft_status st;
    graft_op *op = graft_op_builder_finish(b, &st);
    assert_non_null(op);
    assert_int_equal(graft_out_shape((graft_out){op, 0}).rank, -1);
    graft_session *sess = graft_session_new(g, NULL, &st);
    const int64_t d[3] = {2, 3, 4};
    float zeros[24] = {0};
    graft_tensor *xv = f32(zeros, 3, d), *av = graft_tensor_scalar_i64(0, NULL), *out = NULL;
    graft_tensor *a32 = graft_tensor_new(GRAFT_INT32, NULL, 0, NULL);
    *(int32_t *)graft_tensor_data(a32) = 7;
    graft_out feeds[2] = {x, ax};
    graft_tensor *fv[2] = {xv, a32};
    graft_out fo = {op, 0};
    assert_int_equal(graft_session_run(sess, feeds, fv, 2, &fo, &out, 1, NULL, 0, &st), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(st.msg, "Invalid reduction dimension (7 for input with 3 dimension(s))"));
    /* ArgMax over an empty dim */
    graft_out e = graft_placeholder(g, "e", GRAFT_FLOAT, graft_shape_unknown());
    graft_out am = graft_argmax(g, e, 0);
    const int64_t d03[2] = {0, 3};
    graft_tensor *ev = graft_tensor_new(GRAFT_FLOAT, d03, 2, NULL);
    assert_int_equal(graft_session_run(sess, &e, &ev, 1, &am, &out, 1, NULL, 0, &st), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(st.msg, "Reduction axis 0 is empty in shape [0,3]"));
    graft_tensor_free(ev);
    graft_tensor_free(xv);
    graft_tensor_free(av);
    graft_tensor_free(a32);
    graft_session_free(sess);
    graft_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracle),
        cmocka_unit_test(test_grad_values),
        cmocka_unit_test(test_static_shapes_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
