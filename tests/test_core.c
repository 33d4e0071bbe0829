/* tests/test_core.c - the graph core and session semantics with state ops only:
 * TF naming rules, tensor lookup errors, feeds, pruning, unfed placeholders,
 * uninitialised variables, Assign/AssignAdd, the buffer pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "internal.h"

static graft_tensor *f32(float v) { return graft_tensor_scalar_f32(v, NULL); }

/* Messages quote names from files: control characters and bytes that are not UTF-8
 * come out as \xNN, valid UTF-8, newlines and tabs as they are. */
static void test_status_escapes(void **state)
{
    (void)state;
    graft_status st;
    graft_status_set(&st, GRAFT_ERR_CORRUPT, "f: node '%s'", "a\x1b[31mb\xff\xc3\xa9\xed\xa0\x80\x7f\tz\nq");
    assert_string_equal(st.msg, "f: node 'a\\x1B[31mb\\xFF\xc3\xa9\\xED\\xA0\\x80\\x7F\tz\nq'");
    /* an argument pointing into the message itself */
    graft_status_set(&st, GRAFT_ERR_IO, "outer: %s", st.msg);
    assert_string_equal(st.msg, "outer: f: node 'a\\x1B[31mb\\xFF\xc3\xa9\\xED\\xA0\\x80\\x7F\tz\nq'");
    /* escaping that would overflow ends the message with "..." */
    char big[GRAFT_STATUS_MSG_MAX];
    memset(big, 0x01, sizeof big - 1);
    big[sizeof big - 1] = '\0';
    graft_status_set(&st, GRAFT_ERR_IO, "%s", big);
    size_t l = strlen(st.msg);
    assert_true(l < GRAFT_STATUS_MSG_MAX);
    assert_string_equal(st.msg + l - 3, "...");
    assert_memory_equal(st.msg, "\\x01\\x01", 8);
}

static void test_naming(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_out a = graft_placeholder(g, "w1", GRAFT_FLOAT, graft_shape_make(0, NULL));
    graft_out b = graft_placeholder(g, "w1", GRAFT_FLOAT, graft_shape_make(0, NULL));
    graft_out c = graft_placeholder(g, "W1", GRAFT_FLOAT, graft_shape_make(0, NULL)); /* case-insensitive clash */
    assert_string_equal(graft_op_name(a.op), "w1");
    assert_string_equal(graft_op_name(b.op), "w1_1");
    assert_string_equal(graft_op_name(c.op), "W1_2");
    /* asking for "w1_1" explicitly skips to a free name, as TF does */
    graft_out d = graft_placeholder(g, "w1_1", GRAFT_FLOAT, graft_shape_make(0, NULL));
    assert_string_equal(graft_op_name(d.op), "w1_1_1");
    graft_graph_push_scope(g, "dense");
    graft_out e = graft_const_f32(g, 1.0f);
    graft_graph_pop_scope(g);
    graft_graph_push_scope(g, "dense");
    graft_out f = graft_const_f32(g, 2.0f);
    graft_graph_pop_scope(g);
    assert_string_equal(graft_op_name(e.op), "dense/Const");
    assert_string_equal(graft_op_name(f.op), "dense_1/Const");
    graft_out v = graft_variable_new(g, "bias", graft_const_f32(g, 2.0f), true, NULL);
    assert_string_equal(graft_op_name(v.op), "bias/read");
    assert_non_null(graft_graph_op(g, "bias/Assign"));
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    graft_graph_free(g);
}

static void test_verbatim_names_and_ctrl_reset(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_graph_push_scope(g, "outer");
    graft_name_next(g, "exact/name/");
    graft_out a = graft_const_f32(g, 1.0f);
    assert_string_equal(graft_op_name(a.op), "exact/name");
    graft_graph_push_scope(g, "");
    graft_out b = graft_const_f32(g, 1.0f);
    assert_string_equal(graft_op_name(b.op), "Const");
    graft_graph_pop_scope(g);
    graft_graph_pop_scope(g);
    /* a pending name goes to the builder's op, not to its helper axis Const */
    graft_name_next(g, "loss");
    graft_out m = graft_mean(g, a, NULL, 0, false);
    assert_string_equal(graft_op_name(m.op), "loss");
    graft_out a1 = graft_reshape_dims(g, a, (int64_t[]){1}, 1);
    graft_name_next(g, "best");
    graft_out am = graft_argmax(g, a1, 0);
    assert_string_equal(graft_op_name(am.op), "best");
    assert_string_equal(graft_op_type(am.op), "ArgMax");
    /* a big zeros is Fill named like its scope, as tf.zeros */
    int64_t d[2] = {100, 100};
    graft_out z = graft_zeros(g, GRAFT_FLOAT, d, 2);
    assert_string_equal(graft_op_name(z.op), "zeros");
    assert_string_equal(graft_op_type(z.op), "Fill");
    /* control deps: a variable ignores the enclosing frame; other ops take it */
    graft_op *dep = graft_group(g, "dep", NULL, 0);
    graft_graph_push_control_deps(g, &dep, 1);
    graft_variable v;
    graft_variable_new(g, "v", graft_const_f32(g, 0.0f), true, &v);
    graft_out c = graft_const_f32(g, 2.0f);
    graft_graph_pop_control_deps(g);
    assert_int_equal(graft_op_num_control_inputs(v.var), 0);
    assert_int_equal(graft_op_num_control_inputs(v.initializer), 0);
    assert_int_equal(graft_op_num_control_inputs(c.op), 1);
    assert_ptr_equal(graft_op_control_input(c.op, 0), dep);
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    graft_graph_free(g);
}

static void test_lookup(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_placeholder(g, "fc7", GRAFT_FLOAT, graft_shape_unknown());
    graft_out o;
    graft_status st;
    assert_int_equal(graft_graph_tensor(g, "fc7:0", &o, &st), GRAFT_OK);
    assert_string_equal(graft_op_name(o.op), "fc7");
    assert_int_equal(graft_graph_tensor(g, "fc7", &o, &st), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(st.msg, "fc7:0"));
    assert_int_equal(graft_graph_tensor(g, "fc8:0", &o, &st), GRAFT_ERR_NOT_FOUND);
    assert_int_equal(graft_graph_tensor(g, "fc7:1", &o, &st), GRAFT_ERR_NOT_FOUND);
    assert_non_null(strstr(st.msg, "only has 1 outputs"));
    assert_int_equal(graft_graph_tensor(g, "fc7:x", &o, &st), GRAFT_ERR_INVALID_ARG);
    graft_graph_free(g);
}

static void test_unfed_and_uninitialised(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_out w = graft_placeholder(g, "w1", GRAFT_FLOAT, graft_shape_unknown());
    graft_out w_1 = graft_placeholder(g, "w1", GRAFT_FLOAT, graft_shape_unknown());
    graft_out id = graft_identity(g, w_1);
    graft_status st;
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_non_null(s);
    graft_tensor *v = f32(3), *out = NULL;
    /* feeding w1 does not satisfy w1_1 */
    assert_int_equal(graft_session_run(s, &w, &v, 1, &id, &out, 1, NULL, 0, &st), GRAFT_ERR_FAILED_PRECONDITION);
    assert_string_equal(st.msg, "You must feed a value for placeholder tensor 'w1_1' with dtype float");
    assert_null(out);
    /* feeding the right one works and returns the value */
    assert_int_equal(graft_session_run(s, &w_1, &v, 1, &id, &out, 1, NULL, 0, &st), GRAFT_OK);
    assert_float_equal(*(float *)graft_tensor_data(out), 3.0f, 0);
    graft_tensor_free(out);

    graft_variable info;
    graft_out b = graft_variable_new(g, "bias", graft_const_f32(g, 2.0f), true, &info);
    assert_int_equal(graft_session_run(s, NULL, NULL, 0, &b, &out, 1, NULL, 0, &st), GRAFT_ERR_FAILED_PRECONDITION);
    assert_non_null(strstr(st.msg, "Attempting to use uninitialized value bias"));
    assert_int_equal(graft_session_init_variables(s, &st), GRAFT_OK);
    assert_int_equal(graft_session_run(s, NULL, NULL, 0, &b, &out, 1, NULL, 0, &st), GRAFT_OK);
    assert_float_equal(*(float *)graft_tensor_data(out), 2.0f, 0);
    /* the fetched value is a copy: assigning later does not change it */
    graft_out inc = graft_assign_add(g, graftI_o(info.var, 0), graft_const_f32(g, 5.0f));
    graft_tensor *out2 = NULL;
    assert_int_equal(graft_session_run(s, NULL, NULL, 0, &inc, &out2, 1, NULL, 0, &st), GRAFT_OK);
    assert_float_equal(*(float *)graft_tensor_data(out2), 7.0f, 0);
    assert_float_equal(*(float *)graft_tensor_data(out), 2.0f, 0);
    graft_tensor_free(out);
    graft_tensor_free(out2);
    /* dtype mismatch on feed */
    graft_tensor *i64 = graft_tensor_scalar_i64(1, NULL);
    assert_int_equal(graft_session_run(s, &w_1, &i64, 1, &id, &out, 1, NULL, 0, &st), GRAFT_ERR_DTYPE);
    graft_tensor_free(i64);
    graft_tensor_free(v);
    graft_session_free(s);
    graft_graph_free(g);
}

static void test_bad_builder_input(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_out c = graft_const_f32(g, 1.0f);
    /* Assign into a non-variable is refused and leaves the graph unchanged */
    int before = graft_graph_num_ops(g);
    graft_out bad = graft_assign(g, c, c);
    assert_null(bad.op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_INVALID_ARG);
    assert_int_equal(graft_graph_num_ops(g), before);
    /* sticky: a later builder returns null quietly */
    graft_out later = graft_identity(g, c);
    assert_null(later.op);
    graft_graph_clear_error(g);
    /* generic builder: unknown op, unknown attr, missing attr, wrong input count */
    graft_status st;
    graft_op_builder *b = graft_op_builder_new(g, "NoSuchOp", "x");
    assert_null(graft_op_builder_finish(b, &st));
    assert_int_equal(st.code, GRAFT_ERR_UNSUPPORTED);
    b = graft_op_builder_new(g, "Placeholder", "p");
    graft_op_builder_attr_int(b, "bogus", 1);
    graft_op_builder_attr_type(b, "dtype", GRAFT_FLOAT);
    assert_null(graft_op_builder_finish(b, &st));
    assert_non_null(strstr(st.msg, "unknown attr 'bogus'"));
    b = graft_op_builder_new(g, "Placeholder", "p");
    assert_null(graft_op_builder_finish(b, &st));
    assert_non_null(strstr(st.msg, "missing required attr 'dtype'"));
    b = graft_op_builder_new(g, "NoOp", "n");
    graft_op_builder_add_input(b, c);
    assert_null(graft_op_builder_finish(b, &st));
    assert_non_null(strstr(st.msg, "expects 0 inputs, got 1"));
    /* an unknown op may be kept inert, and running it names it */
    b = graft_op_builder_new(g, "ScalarSummary", "summary");
    graft_op_builder_allow_unknown(b, 1);
    graft_op *inert = graft_op_builder_finish(b, &st);
    assert_non_null(inert);
    assert_false(graft_op_runnable(inert));
    /* an inert op may declare its outputs; list and func attrs are kept */
    b = graft_op_builder_new(g, "StatefulPartitionedCall", "call");
    graft_op_builder_allow_unknown(b, 2);
    graft_op_builder_unknown_output(b, 1, GRAFT_INT64, graft_shape_make(1, (int64_t[]){7}));
    graft_op_builder_attr_func(b, "f", "__inference_fn_42");
    graft_op_builder_attr_bool_list(b, "flags", (const bool[]){true, false}, 2);
    graft_op *typed = graft_op_builder_finish(b, &st);
    assert_non_null(typed);
    assert_int_equal(graft_out_dtype((graft_out){typed, 1}), GRAFT_INT64);
    assert_int_equal(graft_out_shape((graft_out){typed, 1}).dims[0], 7);
    assert_int_equal(graft_out_dtype((graft_out){typed, 0}), GRAFT_INVALID);
    const graftI_attr *fa = graftI_op_attr(typed, "f"), *fl = graftI_op_attr(typed, "flags");
    assert_string_equal(fa->v.s.ptr, "__inference_fn_42");
    assert_int_equal(fl->n, 2);
    assert_true(fl->l.b[0] && !fl->l.b[1]);
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_int_equal(graft_session_run(s, NULL, NULL, 0, NULL, NULL, 0, &inert, 1, &st), GRAFT_ERR_UNSUPPORTED);
    assert_non_null(strstr(st.msg, "summary: op type 'ScalarSummary' is not supported"));
    graft_session_free(s);
    graft_graph_free(g);
}

static void test_pool_reuse(void **state)
{
    (void)state;
    graftI_pool *p = graftI_pool_new();
    int64_t d[2] = {3, 5};
    graft_tensor *a = graftI_tensor_alloc(p, GRAFT_FLOAT, d, 2, true);
    void *first = a->data;
    graft_tensor_free(a);
    size_t n0 = graftI_pool_allocations(p);
    graft_tensor *b = graftI_tensor_alloc(p, GRAFT_FLOAT, d, 2, false);
    assert_ptr_equal(b->data, first);
    assert_int_equal(graftI_pool_allocations(p), n0);
    graftI_pool_close(p); /* b outlives the pool's owner */
    graft_tensor_free(b);
}

static void test_shape_overflow(void **state)
{
    (void)state;
    int64_t d[2] = {INT64_C(1) << 32, INT64_C(1) << 32};
    graft_status st;
    assert_null(graft_tensor_new(GRAFT_FLOAT, d, 2, &st));
    assert_int_equal(st.code, GRAFT_ERR_NOMEM);
    graft_shape s = graft_shape_make(2, d);
    int64_t n;
    assert_int_equal(graft_shape_num_elements(&s, &n), GRAFT_ERR_NOMEM);
    int64_t neg[1] = {-1};
    assert_null(graft_tensor_new(GRAFT_FLOAT, neg, 1, &st));
    assert_int_equal(st.code, GRAFT_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_escapes),
        cmocka_unit_test(test_naming),          cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_verbatim_names_and_ctrl_reset),
        cmocka_unit_test(test_unfed_and_uninitialised), cmocka_unit_test(test_bad_builder_input),
        cmocka_unit_test(test_pool_reuse),      cmocka_unit_test(test_shape_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
