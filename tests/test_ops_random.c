/* tests/test_ops_random.c - lib/ops/op_random.c: shapes, dtypes, the
 * distributions' moments and bounds (analytic values), per-run streams and
 * seeding (TF's get_seed rules for the typed builders, nondeterminism at 0/0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "opsb.h"

typedef struct moments {
    double mean, var, lo, hi;
} moments;

static moments stats(const graft_tensor *t)
{
    moments m = {0, 0, INFINITY, -INFINITY};
    int64_t n = graft_tensor_num_elements(t);
    for (int64_t i = 0; i < n; i++) {
        double v = graftT_opsb_get(t, i);
        m.mean += v;
        if (v < m.lo) m.lo = v;
        if (v > m.hi) m.hi = v;
    }
    m.mean /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        double d = graftT_opsb_get(t, i) - m.mean;
        m.var += d * d;
    }
    m.var /= (double)(n - 1);
    return m;
}

static graft_tensor *run1(graft_session *s, graft_out o)
{
    graft_status st;
    graft_tensor *t = NULL;
    assert_int_equal(graft_session_run(s, NULL, NULL, 0, &o, &t, 1, NULL, 0, &st), GRAFT_OK);
    return t;
}

/* n = 40000 draws; the sample mean's standard error is sqrt(var/n):
 * uniform [0,1): mean 1/2, var 1/12 (se 0.0014); normal: 0, 1 (se 0.005);
 * normal truncated at ±2: mean 0, var 1 - 4φ(2)/(2Φ(2) - 1) = 0.77374 with
 * φ(2) = 0.0539910, Φ(2) = 0.9772499. Bounds: 6+ standard errors. */
static void test_distributions(void **state)
{
    (void)state;
    for (int dti = 0; dti < 2; dti++) {
        graft_dtype dt = dti ? GRAFT_DOUBLE : GRAFT_FLOAT;
        graft_graph *g = graft_graph_new();
        int64_t dims[2] = {200, 200};
        graft_out u = graft_random_uniform(g, dims, 2, dt, 1);
        graft_out nrm = graft_random_normal(g, dims, 2, dt, 2);
        graft_out tr = graft_truncated_normal(g, dims, 2, dt, 3);
        assert_int_equal(graft_graph_status(g), GRAFT_OK);
        assert_string_equal(graft_op_type(u.op), "RandomUniform");
        assert_string_equal(graft_op_type(nrm.op), "RandomStandardNormal");
        assert_string_equal(graft_op_type(tr.op), "TruncatedNormal");
        graft_shape s = graft_out_shape(u);
        assert_int_equal(s.rank, 2);
        assert_int_equal(s.dims[0], 200);
        assert_int_equal(graft_out_dtype(u), dt);
        graft_status st;
        graft_session *sess = graft_session_new(g, NULL, &st);
        graft_tensor *tu = run1(sess, u), *tn = run1(sess, nrm), *tt = run1(sess, tr);
        assert_int_equal(graft_tensor_dtype(tu), dt);
        assert_int_equal(graft_tensor_dim(tu, 1), 200);
        moments mu = stats(tu), mn = stats(tn), mt = stats(tt);
        assert_true(mu.lo >= 0.0 && mu.hi < 1.0);
        assert_true(fabs(mu.mean - 0.5) < 0.01);
        assert_true(fabs(mu.var - 1.0 / 12.0) < 0.003);
        assert_true(fabs(mn.mean) < 0.03);
        assert_true(fabs(mn.var - 1.0) < 0.04);
        assert_true(mn.lo < -2.5 && mn.hi > 2.5); /* tails exist: P(|x| > 2.5) = 1.2% */
        assert_true(mt.lo >= -2.0 && mt.hi <= 2.0);
        assert_true(fabs(mt.mean) < 0.03);
        assert_true(fabs(mt.var - 0.77374) < 0.03);
        graft_tensor_free(tu);
        graft_tensor_free(tn);
        graft_tensor_free(tt);
        graft_session_free(sess);
        graft_graph_free(g);
    }
}

static bool same_values(const graft_tensor *a, const graft_tensor *b)
{
    return graft_tensor_nbytes(a) == graft_tensor_nbytes(b) &&
           memcmp(graft_tensor_cdata(a), graft_tensor_cdata(b), graft_tensor_nbytes(a)) == 0;
}

/* Seeded ops draw new values on each run, and a new session repeats the
 * sequence; seed = seed2 = 0 differs between sessions. */
static void test_streams(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t d[1] = {64};
    graft_out a = graft_random_uniform(g, d, 1, GRAFT_FLOAT, 7);
    graft_out b = graft_random_uniform(g, d, 1, GRAFT_FLOAT, 8);
    graft_out z = graft_random_uniform(g, d, 1, GRAFT_FLOAT, 0);
    int64_t seed, seed2;
    /* TF's get_seed without a graph seed: (DEFAULT_GRAPH_SEED, op seed) or (0, 0) */
    assert_true(graft_op_attr_int(a.op, "seed", &seed) && graft_op_attr_int(a.op, "seed2", &seed2));
    assert_int_equal(seed, 87654321);
    assert_int_equal(seed2, 7);
    assert_true(graft_op_attr_int(z.op, "seed", &seed) && graft_op_attr_int(z.op, "seed2", &seed2));
    assert_int_equal(seed, 0);
    assert_int_equal(seed2, 0);
    graft_status st;
    graft_session *s1 = graft_session_new(g, NULL, &st), *s2 = graft_session_new(g, NULL, &st);
    graft_tensor *a1 = run1(s1, a), *a2 = run1(s1, a), *b1 = run1(s1, b), *z1 = run1(s1, z);
    graft_tensor *a1b = run1(s2, a), *a2b = run1(s2, a), *z1b = run1(s2, z);
    assert_false(same_values(a1, a2)); /* stateful: a new draw per run */
    assert_false(same_values(a1, b1)); /* other op seed */
    assert_true(same_values(a1, a1b)); /* same seeds: same sequence per session */
    assert_true(same_values(a2, a2b));
    assert_false(same_values(z1, z1b)); /* 0/0: nondeterministic */
    graft_tensor *ts[] = {a1, a2, b1, z1, a1b, a2b, z1b};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) graft_tensor_free(ts[i]);
    graft_session_free(s1);
    graft_session_free(s2);
    graft_graph_free(g);

    /* with a graph seed: (graph seed, op seed or an op counter) */
    g = graft_graph_new();
    graft_graph_set_seed(g, 42);
    graft_out c = graft_truncated_normal(g, d, 1, GRAFT_FLOAT, 0);
    graft_out e = graft_truncated_normal(g, d, 1, GRAFT_FLOAT, 5);
    assert_true(graft_op_attr_int(c.op, "seed", &seed) && graft_op_attr_int(c.op, "seed2", &seed2));
    assert_int_equal(seed, 42);
    assert_true(seed2 != 0);
    assert_true(graft_op_attr_int(e.op, "seed", &seed) && graft_op_attr_int(e.op, "seed2", &seed2));
    assert_int_equal(seed, 42);
    assert_int_equal(seed2, 5);
    graft_graph_free(g);
}

/* The generic builder as an imported graph has it: an int64 shape from a
 * placeholder (shape unknown statically, rank known from the vector length). */
static void test_dynamic_shape(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t three = 3;
    graft_out shp = graft_placeholder(g, "shape", GRAFT_INT64, graft_shape_make(1, &three));
    graft_op_builder *b = graft_op_builder_new(g, "RandomStandardNormal", "rn");
    graft_op_builder_add_input(b, shp);
    graft_op_builder_attr_type(b, "dtype", GRAFT_FLOAT);
    graft_op_builder_attr_type(b, "T", GRAFT_INT64);
    graft_op_builder_attr_int(b, "seed", 1);
    graft_status st;
    graft_op *op = graft_op_builder_finish(b, &st);
    assert_non_null(op);
    graft_shape s = graft_out_shape(graftI_o(op, 0));
    assert_int_equal(s.rank, 3);
    assert_int_equal(s.dims[0], -1);
    const double dv[3] = {2, 0, 5}, neg[3] = {2, -1, 5};
    graft_tensor *v = graftT_opsb_tensor(GRAFT_INT64, 1, &three, dv), *out = NULL;
    graft_out o = graftI_o(op, 0);
    assert_int_equal(graftT_opsb_run(g, &shp, &v, 1, &o, &out, 1, &st), GRAFT_OK);
    assert_int_equal(graft_tensor_rank(out), 3);
    assert_int_equal(graft_tensor_num_elements(out), 0);
    graft_tensor_free(out);
    graft_tensor_free(v);
    v = graftT_opsb_tensor(GRAFT_INT64, 1, &three, neg);
    assert_int_equal(graftT_opsb_run(g, &shp, &v, 1, &o, &out, 1, &st), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(st.msg, "shape[1]"));
    graft_tensor_free(v);
    /* missing dtype attr; unsupported dtype */
    b = graft_op_builder_new(g, "RandomUniform", "ru");
    graft_op_builder_add_input(b, shp);
    assert_null(graft_op_builder_finish(b, &st));
    assert_non_null(strstr(st.msg, "dtype"));
    int64_t d[1] = {2};
    assert_false(graft_out_ok(graft_random_uniform(g, d, 1, GRAFT_INT32, 0)));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_UNSUPPORTED);
    graft_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distributions),
        cmocka_unit_test(test_streams),
        cmocka_unit_test(test_dynamic_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
