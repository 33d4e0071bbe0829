/* tests/test_ops_shape.c - shape and data-movement ops: forward values against
 * the NumPy oracle (tests/data/ops_a_shape.h), static shape inference with
 * unknown dims (tf.shape(x)[0], x[:, 1:], Reshape to Shape(y)), build-time and
 * run-time errors, Cast edge values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/ops_a_shape.h"
#include "opsa_oracle.h"

static void test_oracle(void **state)
{
    (void)state;
    int n = 0;
    int fails = graftT_oa_run_table(oa_cases_shape, 1e-6, &n);
    printf("shape oracle: %d cases, %d failed\n", n, fails);
    assert_true(n > 120);
    assert_int_equal(fails, 0);
}

static graft_op *gen(graft_graph *g, const char *type, const graft_out *in, int n, graft_status *st)
{
    graft_op_builder *b = graft_op_builder_new(g, type, graft_graph_unique_name(g, type, true));
    for (int i = 0; i < n; i++) graft_op_builder_add_input(b, in[i]);
    graft_op_builder_attr_type(b, "T", graft_out_dtype(in[0]));
    return graft_op_builder_finish(b, st);
}

static bool shape_is(graft_out o, int rank, const int64_t *dims)
{
    graft_shape s = graft_out_shape(o);
    if (s.rank != rank) return false;
    for (int d = 0; d < rank; d++)
        if (s.dims[d] != dims[d]) return false;
    return true;
}

static void test_static_shapes(void **state)
{
    (void)state;
    const int64_t dq[2] = {-1, 4}, d6[2] = {6, -1};
    graft_graph *g = graft_graph_new();
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(2, dq));
    /* x[:, 1:] */
    graft_out ss_in[4] = {x, graft_const_i32_vec(g, (const int32_t[]){0, 1}, 2), graft_const_i32_vec(g, (const int32_t[]){0, 0}, 2),
                          graft_const_i32_vec(g, (const int32_t[]){1, 1}, 2)};
    graft_op_builder *b = graft_op_builder_new(g, "StridedSlice", "cols");
    for (int i = 0; i < 4; i++) graft_op_builder_add_input(b, ss_in[i]);
    graft_op_builder_attr_type(b, "T", GRAFT_FLOAT);
    graft_op_builder_attr_type(b, "Index", GRAFT_INT32);
    graft_op_builder_attr_int(b, "begin_mask", 1);
    graft_op_builder_attr_int(b, "end_mask", 3);
    graft_status st;
    graft_op *cols = graft_op_builder_finish(b, &st);
    assert_non_null(cols);
    assert_true(shape_is((graft_out){cols, 0}, 2, (const int64_t[]){-1, 3}));
    /* tf.shape(x)[0]: a scalar int32 */
    graft_out shp = graft_shape_of(g, x);
    assert_true(shape_is(shp, 1, (const int64_t[]){2}));
    graft_out s0_in[4] = {shp, graft_const_i32_vec(g, (const int32_t[]){0}, 1), graft_const_i32_vec(g, (const int32_t[]){1}, 1),
                          graft_const_i32_vec(g, (const int32_t[]){1}, 1)};
    b = graft_op_builder_new(g, "StridedSlice", "batch");
    for (int i = 0; i < 4; i++) graft_op_builder_add_input(b, s0_in[i]);
    graft_op_builder_attr_type(b, "T", GRAFT_INT32);
    graft_op_builder_attr_int(b, "shrink_axis_mask", 1);
    graft_op *batch = graft_op_builder_finish(b, &st);
    assert_non_null(batch);
    assert_true(shape_is((graft_out){batch, 0}, 0, NULL));
    /* Reshape to Shape(y): the static dims of y carry over */
    graft_out y = graft_placeholder(g, "y", GRAFT_FLOAT, graft_shape_make(2, d6));
    assert_true(shape_is(graft_reshape(g, x, graft_shape_of(g, y)), 2, (const int64_t[]){6, -1}));
    /* Reshape with -1 against a partly unknown input keeps the -1 unknown */
    assert_true(shape_is(graft_reshape_dims(g, x, (const int64_t[]){-1, 2}, 2), 2, (const int64_t[]){-1, 2}));
    /* Fill of dims Shape(x) */
    assert_true(shape_is(graft_fill(g, graft_shape_of(g, x), graft_const_f32(g, 0)), 2, (const int64_t[]){-1, 4}));
    /* Concat along the unknown dim, Pack, Transpose, Pad, Tile */
    graft_out cc = graft_concat(g, (graft_out[]){x, x}, 2, 0);
    assert_true(shape_is(cc, 2, (const int64_t[]){-1, 4}));
    assert_true(shape_is(graft_concat(g, (graft_out[]){x, x}, 2, -1), 2, (const int64_t[]){-1, 8}));
    assert_true(shape_is(graft_transpose(g, x, (const int32_t[]){1, 0}, 2), 2, (const int64_t[]){4, -1}));
    assert_true(shape_is(graft_pad(g, x, (const int32_t[]){1, 1, 0, 2}, 2), 2, (const int64_t[]){-1, 6}));
    assert_true(shape_is(graft_expand_dims(g, x, 1), 3, (const int64_t[]){-1, 1, 4}));
    assert_true(shape_is(graft_slice(g, x, (const int32_t[]){0, 1}, (const int32_t[]){2, -1}, 2), 2, (const int64_t[]){2, 3}));
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    graft_graph_free(g);
}

static void expect_build_error(graft_graph *g, graft_out o, graft_code code, const char *msg)
{
    assert_null(o.op);
    assert_int_equal(graft_graph_status(g), code);
    if (msg && !strstr(graft_graph_errmsg(g), msg)) fail_msg("message '%s' lacks '%s'", graft_graph_errmsg(g), msg);
    graft_graph_clear_error(g);
}

static void test_build_errors(void **state)
{
    (void)state;
    const int64_t d23[2] = {2, 3};
    graft_graph *g = graft_graph_new();
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(2, d23));
    expect_build_error(g, graft_reshape_dims(g, x, (const int64_t[]){4}, 1), GRAFT_ERR_SHAPE,
                       "Input to reshape is a tensor with 6 values, but the requested shape has 4");
    expect_build_error(g, graft_reshape_dims(g, x, (const int64_t[]){-1, -1}, 2), GRAFT_ERR_SHAPE, "one dimension");
    expect_build_error(g, graft_reshape_dims(g, x, (const int64_t[]){4, -1}, 2), GRAFT_ERR_SHAPE, "multiple of 4");
    expect_build_error(g, graft_squeeze(g, x, (const int64_t[]){1}, 1), GRAFT_ERR_INVALID_ARG,
                       "Can not squeeze dim[1], expected a dimension of 1, got 3");
    expect_build_error(g, graft_transpose(g, x, (const int32_t[]){0, 0}, 2), GRAFT_ERR_INVALID_ARG, NULL);
    expect_build_error(g, graft_transpose(g, x, (const int32_t[]){1, 0, 2}, 3), GRAFT_ERR_INVALID_ARG, "size 2");
    expect_build_error(g, graft_expand_dims(g, x, 4), GRAFT_ERR_INVALID_ARG, NULL);
    const int64_t d33[2] = {3, 3};
    graft_out y = graft_placeholder(g, "y", GRAFT_FLOAT, graft_shape_make(2, d33));
    expect_build_error(g, graft_concat(g, (graft_out[]){x, y}, 2, 1), GRAFT_ERR_SHAPE, "Dimension 0 in both shapes must be equal");
    expect_build_error(g, graft_concat(g, (graft_out[]){x, x}, 2, 2), GRAFT_ERR_INVALID_ARG, "range [-2, 2)");
    graft_out i = graft_placeholder(g, "i", GRAFT_INT32, graft_shape_make(2, d23));
    expect_build_error(g, graft_concat(g, (graft_out[]){x, i}, 2, 0), GRAFT_ERR_DTYPE, NULL);
    expect_build_error(g, graft_slice(g, x, (const int32_t[]){1, 0}, (const int32_t[]){2, 1}, 2), GRAFT_ERR_INVALID_ARG,
                       "size[0]");
    expect_build_error(g, graft_pad(g, x, (const int32_t[]){1, -1, 0, 0}, 2), GRAFT_ERR_INVALID_ARG, "non-negative");
    expect_build_error(g, graft_fill(g, graft_const_i32_vec(g, (const int32_t[]){2, -3}, 2), graft_const_f32(g, 1)),
                       GRAFT_ERR_INVALID_ARG, "non-negative");
    expect_build_error(g, graft_cast(g, x, GRAFT_STRING), GRAFT_ERR_UNSUPPORTED, "Cast from float32 to string");
    graft_status st;
    graft_out bad_ss[4] = {x, graft_const_i32_vec(g, (const int32_t[]){5}, 1), graft_const_i32_vec(g, (const int32_t[]){6}, 1),
                           graft_const_i32_vec(g, (const int32_t[]){1}, 1)};
    graft_op_builder *b = graft_op_builder_new(g, "StridedSlice", "bad_ss");
    for (int k = 0; k < 4; k++) graft_op_builder_add_input(b, bad_ss[k]);
    graft_op_builder_attr_type(b, "T", GRAFT_FLOAT);
    graft_op_builder_attr_int(b, "shrink_axis_mask", 1);
    assert_null(graft_op_builder_finish(b, &st));
    assert_non_null(strstr(st.msg, "slice index 5 of dimension 0 out of bounds"));
    graft_graph_free(g);
}

/* The same checks when shapes are only known at run time: errors, no crash. */
static void test_runtime_errors(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_unknown());
    graft_out s = graft_placeholder(g, "s", GRAFT_INT32, graft_shape_unknown());
    graft_status st;
    const int64_t d23[2] = {2, 3};
    graft_tensor *xv = graft_tensor_new(GRAFT_FLOAT, d23, 2, NULL);
    struct {
        const char *type;
        int32_t sv[4];
        int ns;
        graft_code code;
        const char *msg;
    } cases[] = {
        {"Reshape", {4, 2}, 2, GRAFT_ERR_SHAPE, "6 values, but the requested shape has 8"},
        {"Transpose", {0, 2}, 2, GRAFT_ERR_INVALID_ARG, NULL},
        {"Tile", {2}, 1, GRAFT_ERR_INVALID_ARG, "length 2"},
        {"ExpandDims", {9}, 1, GRAFT_ERR_INVALID_ARG, NULL},
        {"Fill", {-1}, 1, GRAFT_ERR_INVALID_ARG, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        graft_out in[2] = {x, s};
        graft_op *op;
        if (strcmp(cases[k].type, "Fill") == 0) {
            graft_op_builder *b = graft_op_builder_new(g, "Fill", "fill");
            graft_op_builder_add_input(b, s);
            graft_op_builder_add_input(b, graft_const_f32(g, 1));
            graft_op_builder_attr_type(b, "T", GRAFT_FLOAT);
            op = graft_op_builder_finish(b, &st);
        } else {
            op = gen(g, cases[k].type, in, 2, &st);
        }
        assert_non_null(op);
        int64_t n = cases[k].ns;
        graft_tensor *sv = graft_tensor_from_data(GRAFT_INT32, &n, 1, cases[k].sv, sizeof(int32_t) * (size_t)n, NULL);
        graft_session *sess = graft_session_new(g, NULL, &st);
        graft_out feeds[2] = {x, s}, fo = {op, 0};
        graft_tensor *fv[2] = {xv, sv}, *out = NULL;
        graft_code rc = graft_session_run(sess, feeds, fv, 2, &fo, &out, 1, NULL, 0, &st);
        if (rc != cases[k].code) fail_msg("%s: code %d (%s), want %d", cases[k].type, rc, st.msg, cases[k].code);
        if (cases[k].msg && !strstr(st.msg, cases[k].msg)) fail_msg("%s: '%s' lacks '%s'", cases[k].type, st.msg, cases[k].msg);
        assert_null(out);
        graft_tensor_free(sv);
        graft_session_free(sess);
    }
    graft_tensor_free(xv);
    graft_graph_free(g);
}

/* Float -> int Cast of NaN / out-of-range values gives the type's minimum
 * (x86 semantics, what TF shows on CPU) rather than undefined behaviour. */
static void test_cast_edges(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_unknown());
    graft_out c32 = graft_cast(g, x, GRAFT_INT32), c64 = graft_cast(g, x, GRAFT_INT64);
    const float v[4] = {NAN, 3e9f, -3e9f, -1.5f};
    int64_t n = 4;
    graft_tensor *xv = graft_tensor_from_data(GRAFT_FLOAT, &n, 1, v, sizeof v, NULL), *out[2] = {0};
    graft_status st;
    graft_session *s = graft_session_new(g, NULL, &st);
    graft_out fetch[2] = {c32, c64};
    assert_int_equal(graft_session_run(s, &x, &xv, 1, fetch, out, 2, NULL, 0, &st), GRAFT_OK);
    const int32_t *a = graft_tensor_data(out[0]);
    const int64_t *b = graft_tensor_data(out[1]);
    assert_int_equal(a[0], INT32_MIN);
    assert_int_equal(a[1], INT32_MIN);
    assert_int_equal(a[2], INT32_MIN);
    assert_int_equal(a[3], -1);
    assert_true(b[0] == INT64_MIN);
    assert_true(b[1] == 3000000000ll && b[2] == -3000000000ll && b[3] == -1);
    graft_tensor_free(out[0]);
    graft_tensor_free(out[1]);
    graft_tensor_free(xv);
    graft_session_free(s);
    graft_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oracle),         cmocka_unit_test(test_static_shapes),
        cmocka_unit_test(test_build_errors),   cmocka_unit_test(test_runtime_errors),
        cmocka_unit_test(test_cast_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
