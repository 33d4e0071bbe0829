/* tests/test_layers.c - the TF1-style layers, losses and accuracy: tf.layers
 * names (scopes, variables, initializer subgraphs), Glorot bounds, forward
 * values worked by hand (dense, conv2d SAME/VALID, pooling, flatten, softmax),
 * dropout semantics and its gradient, cross-entropy values and gradients,
 * accuracy, and the sticky errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "internal.h"

static graft_tensor *tf32(const float *v, const int64_t *dims, int rank)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    return graft_tensor_from_data(GRAFT_FLOAT, dims, rank, v, (size_t)n * sizeof(float), NULL);
}

static graft_session *start(graft_graph *g)
{
    graft_status st;
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_non_null(s);
    graft_code rc = graft_session_init_variables(s, &st);
    if (rc) print_error("init: %s\n", st.msg);
    assert_int_equal(rc, GRAFT_OK);
    return s;
}

static void set_var(graft_session *s, graft_op *var, const float *v, const int64_t *dims, int rank)
{
    graft_status st;
    graft_tensor *t = tf32(v, dims, rank);
    graft_code rc = graft_session_set_variable(s, var, t, &st);
    if (rc) print_error("set %s: %s\n", graft_op_name(var), st.msg);
    assert_int_equal(rc, GRAFT_OK);
    graft_tensor_free(t);
}

/* Runs y with one feed (feed.op may be NULL) and returns the value. */
static graft_tensor *run1(graft_session *s, graft_out feed, graft_tensor *fv, graft_out y)
{
    graft_status st;
    graft_tensor *out = NULL;
    graft_code rc = graft_session_run(s, &feed, &fv, feed.op ? 1 : 0, &y, &out, 1, NULL, 0, &st);
    if (rc) print_error("run: %s\n", st.msg);
    assert_int_equal(rc, GRAFT_OK);
    return out;
}

static void assert_vals(const graft_tensor *t, const double *want, int n, double tol)
{
    assert_int_equal(graft_tensor_num_elements(t), n);
    const float *p = graft_tensor_cdata(t);
    for (int i = 0; i < n; i++)
        if (fabs((double)p[i] - want[i]) > tol * (1.0 + fabs(want[i]))) {
            print_error("element %d: got %.9g want %.9g\n", i, (double)p[i], want[i]);
            fail();
        }
}

static void assert_op(graft_graph *g, const char *name, const char *type)
{
    graft_op *op = graft_graph_op(g, name);
    if (!op) print_error("missing op '%s'\n", name);
    assert_non_null(op);
    if (type) assert_string_equal(graft_op_type(op), type);
}

static graft_shape out_shape(graft_out o) { return graft_out_shape(o); }

/* ---- dense -------------------------------------------------------------------------- */

static void test_dense_names_and_values(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t xd[2] = {-1, 3};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(2, xd));
    graft_dense_cfg d;
    graft_dense_cfg_init(&d);
    assert_true(d.use_bias);
    assert_true(d.trainable);
    assert_int_equal(d.kernel_init.kind, GRAFT_INIT_GLOROT_UNIFORM);
    assert_int_equal(d.bias_init.kind, GRAFT_INIT_ZEROS);
    graft_layer_vars lv;
    d.units = 2;
    d.activation = GRAFT_ACT_RELU;
    d.vars = &lv;
    graft_out y = graft_dense(g, x, &d);
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    assert_string_equal(graft_op_name(y.op), "dense/Relu");
    assert_string_equal(lv.scope, "dense");
    assert_string_equal(graft_op_name(lv.kernel), "dense/kernel");
    assert_string_equal(graft_op_name(lv.bias), "dense/bias");
    graft_shape ks = out_shape(graftI_o(lv.kernel, 0));
    assert_int_equal(ks.rank, 2);
    assert_int_equal(ks.dims[0], 3);
    assert_int_equal(ks.dims[1], 2);
    graft_shape ys = out_shape(y);
    assert_int_equal(ys.rank, 2);
    assert_int_equal(ys.dims[0], -1);
    assert_int_equal(ys.dims[1], 2);
    /* tf.layers.dense / tf.get_variable op layout */
    assert_op(g, "dense/kernel", "VariableV2");
    assert_op(g, "dense/kernel/Initializer/random_uniform/shape", "Const");
    assert_op(g, "dense/kernel/Initializer/random_uniform/min", "Const");
    assert_op(g, "dense/kernel/Initializer/random_uniform/max", "Const");
    assert_op(g, "dense/kernel/Initializer/random_uniform/RandomUniform", "RandomUniform");
    assert_op(g, "dense/kernel/Initializer/random_uniform/sub", "Sub");
    assert_op(g, "dense/kernel/Initializer/random_uniform/mul", "Mul");
    assert_op(g, "dense/kernel/Initializer/random_uniform", "Add");
    assert_op(g, "dense/kernel/Assign", "Assign");
    assert_op(g, "dense/kernel/read", "Identity");
    assert_op(g, "dense/bias/Initializer/zeros", "Const");
    assert_op(g, "dense/bias/Assign", "Assign");
    assert_op(g, "dense/MatMul", "MatMul");
    assert_op(g, "dense/BiasAdd", "BiasAdd");
    graft_variable vi;
    assert_true(graft_graph_find_variable_by_name(g, "dense/kernel", &vi));
    assert_true(vi.trainable);
    assert_string_equal(graft_op_name(vi.initializer), "dense/kernel/Assign");
    /* second layer: dense_1; named layer; no bias; not trainable */
    graft_out y1 = graft_dense(g, x, &d);
    assert_string_equal(graft_op_name(y1.op), "dense_1/Relu");
    assert_op(g, "dense_1/kernel", "VariableV2");
    d.name = "fc1";
    d.use_bias = false;
    d.trainable = false;
    d.activation = GRAFT_ACT_NONE;
    graft_out y2 = graft_dense(g, x, &d);
    assert_string_equal(graft_op_name(y2.op), "fc1/MatMul");
    assert_null(graft_graph_op(g, "fc1/bias"));
    assert_null(lv.bias);
    assert_true(graft_graph_find_variable_by_name(g, "fc1/kernel", &vi));
    assert_false(vi.trainable);
    graft_out y3 = graft_dense(g, x, &d); /* the name taken: uniquified as a scope */
    assert_string_equal(graft_op_name(y3.op), "fc1_1/MatMul");

    /* values: x W + b, relu. W = [[1,-1],[2,0],[0,3]], b = [0.5,-5]
     * x0 = [1,2,3]: xW = [5, 8] -> +b [5.5, 3]; x1 = [-1,0,1]: xW = [-1, 4] -> [-0.5, -1] -> relu 0 */
    graft_session *s = start(g);
    set_var(s, graft_graph_op(g, "dense/kernel"), (const float[]){1, -1, 2, 0, 0, 3}, (const int64_t[]){3, 2},
            2);
    set_var(s, graft_graph_op(g, "dense/bias"), (const float[]){0.5f, -5}, (const int64_t[]){2}, 1);
    graft_tensor *xv = tf32((const float[]){1, 2, 3, -1, 0, 1}, (const int64_t[]){2, 3}, 2);
    graft_tensor *out = run1(s, x, xv, y);
    assert_vals(out, (const double[]){5.5, 3, 0, 0}, 4, 0);
    graft_tensor_free(out);
    graft_tensor_free(xv);
    graft_session_free(s);
    graft_graph_free(g);
}

static void kernel_stats(graft_session *s, graft_op *k, double *mn, double *mx, double *mean_abs, int64_t *n)
{
    graft_tensor *t = NULL;
    graft_status st;
    assert_int_equal(graft_session_get_variable(s, k, &t, &st), GRAFT_OK);
    *n = graft_tensor_num_elements(t);
    const float *p = graft_tensor_data(t);
    *mn = 1e30;
    *mx = -1e30;
    double sa = 0;
    for (int64_t i = 0; i < *n; i++) {
        if (p[i] < *mn) *mn = p[i];
        if (p[i] > *mx) *mx = p[i];
        sa += fabs(p[i]);
    }
    *mean_abs = sa / (double)*n;
    graft_tensor_free(t);
}

static void test_glorot_uniform(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_graph_set_seed(g, 7);
    int64_t xd[2] = {-1, 100}, cd[4] = {-1, 8, 8, 4};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(2, xd));
    graft_out xc = graft_placeholder(g, "xc", GRAFT_FLOAT, graft_shape_make(4, cd));
    graft_dense_cfg d;
    graft_dense_cfg_init(&d);
    d.units = 50;
    graft_layer_vars dv, cv;
    d.vars = &dv;
    graft_dense(g, x, &d);
    graft_conv2d_cfg c;
    graft_conv2d_cfg_init(&c);
    c.filters = 8;
    c.kernel_size[0] = c.kernel_size[1] = 3;
    c.vars = &cv;
    graft_conv2d_layer(g, xc, &c);
    graft_session *s = start(g);
    double mn, mx, ma;
    int64_t n;
    /* dense [100, 50]: limit = sqrt(6 / 150) = 0.2; U(-l, l) has E|w| = l / 2 */
    kernel_stats(s, dv.kernel, &mn, &mx, &ma, &n);
    assert_int_equal(n, 5000);
    assert_true(mn >= -0.2 - 1e-7 && mx <= 0.2 + 1e-7);
    assert_true(mn < -0.195 && mx > 0.195);
    assert_true(fabs(ma - 0.1) < 0.005);
    /* conv [3,3,4,8]: fan_in 36, fan_out 72, limit = sqrt(6 / 108) = 0.2357 */
    kernel_stats(s, cv.kernel, &mn, &mx, &ma, &n);
    assert_int_equal(n, 288);
    double lim = sqrt(6.0 / 108.0);
    assert_true(mn >= -lim - 1e-7 && mx <= lim + 1e-7);
    assert_true(mn < -0.8 * lim && mx > 0.8 * lim);
    /* biases start at zero */
    kernel_stats(s, dv.bias, &mn, &mx, &ma, &n);
    assert_true(mn == 0 && mx == 0);
    /* the same graph seed reproduces the kernel in a new graph */
    graft_graph *g2 = graft_graph_new();
    graft_graph_set_seed(g2, 7);
    graft_out x2 = graft_placeholder(g2, "x", GRAFT_FLOAT, graft_shape_make(2, xd));
    /* the op seed is derived from the op count, as TF's: build the same ops first */
    graft_placeholder(g2, "xc", GRAFT_FLOAT, graft_shape_make(4, cd));
    graft_layer_vars dv2;
    d.vars = &dv2;
    graft_dense(g2, x2, &d);
    graft_session *s2 = start(g2);
    graft_tensor *a = NULL, *b = NULL;
    graft_status st;
    graft_session_get_variable(s, dv.kernel, &a, &st);
    graft_session_get_variable(s2, dv2.kernel, &b, &st);
    assert_true(graft_tensor_equal(a, b));
    graft_tensor_free(a);
    graft_tensor_free(b);
    graft_session_free(s2);
    graft_graph_free(g2);
    graft_session_free(s);
    graft_graph_free(g);
}

static void test_initializers(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_graph_set_seed(g, 3);
    int64_t xd[2] = {-1, 40};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(2, xd));
    graft_dense_cfg d;
    graft_dense_cfg_init(&d);
    graft_layer_vars v1, v2, v3;
    d.units = 30;
    d.kernel_init.kind = GRAFT_INIT_TRUNCATED_NORMAL;
    d.kernel_init.mean = 1.0;
    d.kernel_init.stddev = 0.1;
    d.bias_init.kind = GRAFT_INIT_CONSTANT;
    d.bias_init.value = 0.25;
    d.vars = &v1;
    graft_dense(g, x, &d);
    d.kernel_init.kind = GRAFT_INIT_RANDOM_UNIFORM;
    d.kernel_init.minval = 2.0;
    d.kernel_init.maxval = 3.0;
    d.vars = &v2;
    graft_dense(g, x, &d);
    d.kernel_init.kind = GRAFT_INIT_ZEROS;
    d.vars = &v3;
    graft_dense(g, x, &d);
    assert_op(g, "dense/kernel/Initializer/truncated_normal", "Add");
    assert_op(g, "dense/kernel/Initializer/truncated_normal/TruncatedNormal", "TruncatedNormal");
    assert_op(g, "dense/kernel/Initializer/truncated_normal/stddev", "Const");
    assert_op(g, "dense/bias/Initializer/Const", "Const");
    assert_op(g, "dense_1/kernel/Initializer/random_uniform", "Add");
    /* 1200 zeros: tf.zeros uses Fill above 1000 elements */
    assert_op(g, "dense_2/kernel/Initializer/zeros", "Fill");
    assert_op(g, "dense_2/kernel/Initializer/zeros/shape_as_tensor", "Const");
    graft_session *s = start(g);
    double mn, mx, ma;
    int64_t n;
    kernel_stats(s, v1.kernel, &mn, &mx, &ma, &n); /* within mean +- 2 stddev */
    assert_true(mn >= 0.8 - 1e-6 && mx <= 1.2 + 1e-6 && mn < 0.85 && mx > 1.15);
    kernel_stats(s, v1.bias, &mn, &mx, &ma, &n);
    assert_true(mn == 0.25 && mx == 0.25);
    kernel_stats(s, v2.kernel, &mn, &mx, &ma, &n);
    assert_true(mn >= 2.0 && mx <= 3.0 && mn < 2.05 && mx > 2.95);
    kernel_stats(s, v3.kernel, &mn, &mx, &ma, &n);
    assert_true(mn == 0 && mx == 0 && n == 1200);
    graft_session_free(s);
    /* a bad initializer is an error before anything is built */
    int before = graft_graph_num_ops(g);
    d.kernel_init.kind = GRAFT_INIT_RANDOM_UNIFORM;
    d.kernel_init.minval = 1.0;
    d.kernel_init.maxval = 0.0;
    graft_out y = graft_dense(g, x, &d);
    assert_null(y.op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_INVALID_ARG);
    assert_int_equal(graft_graph_num_ops(g), before);
    graft_graph_free(g);
}

/* ---- conv2d and pooling ------------------------------------------------------------------ */

static void test_conv2d(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t xd[4] = {1, 3, 3, 1};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(4, xd));
    graft_conv2d_cfg c;
    graft_conv2d_cfg_init(&c);
    assert_int_equal(c.padding, GRAFT_PAD_VALID);
    assert_int_equal(c.strides[0], 1);
    graft_layer_vars v1, v2;
    c.filters = 1;
    c.kernel_size[0] = c.kernel_size[1] = 2;
    c.vars = &v1;
    graft_out y1 = graft_conv2d_layer(g, x, &c);
    c.padding = GRAFT_PAD_SAME;
    c.strides[0] = c.strides[1] = 2;
    c.activation = GRAFT_ACT_RELU;
    c.vars = &v2;
    graft_out y2 = graft_conv2d_layer(g, x, &c);
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    assert_string_equal(graft_op_name(y1.op), "conv2d/BiasAdd");
    assert_string_equal(graft_op_name(y2.op), "conv2d_1/Relu");
    assert_op(g, "conv2d/Conv2D", "Conv2D");
    assert_op(g, "conv2d/kernel/Initializer/random_uniform", "Add");
    assert_string_equal(graft_op_name(v2.kernel), "conv2d_1/kernel");
    graft_shape ks = out_shape(graftI_o(v1.kernel, 0));
    assert_int_equal(ks.rank, 4); /* HWIO [2, 2, 1, 1] */
    assert_int_equal(ks.dims[0], 2);
    assert_int_equal(ks.dims[2], 1);
    assert_int_equal(ks.dims[3], 1);
    graft_session *s = start(g);
    /* kernel [[1,0],[0,1]] adds a pixel and its lower-right neighbour; bias 0.5 */
    const float k[4] = {1, 0, 0, 1};
    const int64_t kd[4] = {2, 2, 1, 1}, bd[1] = {1};
    set_var(s, v1.kernel, k, kd, 4);
    set_var(s, v2.kernel, k, kd, 4);
    set_var(s, v1.bias, (const float[]){0.5f}, bd, 1);
    set_var(s, v2.bias, (const float[]){0.5f}, bd, 1);
    graft_tensor *xv = tf32((const float[]){1, 2, 3, 4, 5, 6, 7, 8, 9}, xd, 4);
    /* VALID: [1+5, 2+6, 4+8, 5+9] + 0.5 */
    graft_tensor *o1 = run1(s, x, xv, y1);
    assert_int_equal(graft_tensor_dim(o1, 1), 2);
    assert_vals(o1, (const double[]){6.5, 8.5, 12.5, 14.5}, 4, 0);
    /* SAME stride 2: out 2x2, pad 0 before / 1 after: [1+5, 3+0, 7+0, 9] + 0.5 */
    graft_tensor *o2 = run1(s, x, xv, y2);
    assert_int_equal(graft_tensor_dim(o2, 1), 2);
    assert_vals(o2, (const double[]){6.5, 3.5, 7.5, 9.5}, 4, 0);
    graft_tensor_free(o1);
    graft_tensor_free(o2);
    graft_tensor_free(xv);
    graft_session_free(s);
    graft_graph_free(g);
}

static void test_pooling(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t xd[4] = {1, 4, 4, 1};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(4, xd));
    graft_pool2d_cfg p;
    graft_pool2d_cfg_init(&p);
    p.pool_size[0] = p.pool_size[1] = 2; /* strides default to the pool size */
    graft_out mx = graft_max_pooling2d(g, x, &p);
    graft_out av = graft_average_pooling2d(g, x, &p);
    p.pool_size[0] = p.pool_size[1] = 3;
    p.strides[0] = p.strides[1] = 2;
    p.padding = GRAFT_PAD_SAME;
    graft_out mxs = graft_max_pooling2d(g, x, &p);
    graft_out avs = graft_average_pooling2d(g, x, &p);
    assert_string_equal(graft_op_name(mx.op), "max_pooling2d/MaxPool");
    assert_string_equal(graft_op_name(av.op), "average_pooling2d/AvgPool");
    assert_string_equal(graft_op_name(mxs.op), "max_pooling2d_1/MaxPool");
    int64_t ks = 0;
    const int64_t *kv;
    assert_int_equal(graftI_attr_ilist(mx.op, "strides", &kv), 4);
    ks = kv[1];
    assert_int_equal(ks, 2);
    graft_session *s = start(g);
    float xs[16];
    for (int i = 0; i < 16; i++) xs[i] = (float)i;
    graft_tensor *xv = tf32(xs, xd, 4);
    graft_tensor *o = run1(s, x, xv, mx);
    assert_vals(o, (const double[]){5, 7, 13, 15}, 4, 0);
    graft_tensor_free(o);
    o = run1(s, x, xv, av);
    assert_vals(o, (const double[]){2.5, 4.5, 10.5, 12.5}, 4, 0);
    graft_tensor_free(o);
    /* SAME 3x3/2 on 4x4: out 2x2, pad 0 before / 1 after; padded cells never win
     * and are not counted in the average */
    o = run1(s, x, xv, mxs);
    assert_vals(o, (const double[]){10, 11, 14, 15}, 4, 0);
    graft_tensor_free(o);
    o = run1(s, x, xv, avs);
    assert_vals(o, (const double[]){45.0 / 9, 39.0 / 6, 66.0 / 6, 50.0 / 4}, 4, 1e-6);
    graft_tensor_free(o);
    graft_tensor_free(xv);
    graft_session_free(s);
    /* errors */
    p.pool_size[0] = 0;
    assert_null(graft_max_pooling2d(g, x, &p).op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_INVALID_ARG);
    graft_graph_free(g);
}

/* ---- flatten, softmax, dropout ----------------------------------------------------------- */

static void test_flatten(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t xd[4] = {-1, 2, 3, 4};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(4, xd));
    graft_out y = graft_flatten(g, x, NULL);
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    assert_string_equal(graft_op_name(y.op), "flatten/Reshape");
    graft_shape ys = out_shape(y);
    assert_int_equal(ys.rank, 2);
    assert_int_equal(ys.dims[0], -1);
    assert_int_equal(ys.dims[1], 24);
    graft_session *s = start(g);
    float xs[48];
    for (int i = 0; i < 48; i++) xs[i] = (float)i * 0.5f;
    graft_tensor *xv = tf32(xs, (const int64_t[]){2, 2, 3, 4}, 4);
    graft_tensor *o = run1(s, x, xv, y);
    assert_int_equal(graft_tensor_rank(o), 2);
    assert_int_equal(graft_tensor_dim(o, 0), 2);
    assert_int_equal(graft_tensor_dim(o, 1), 24);
    assert_memory_equal(graft_tensor_data(o), xs, sizeof xs); /* row-major order kept */
    graft_tensor_free(o);
    graft_tensor_free(xv);
    graft_session_free(s);
    /* inner dims must be known */
    int64_t ud[3] = {-1, -1, 3};
    graft_out u = graft_placeholder(g, "u", GRAFT_FLOAT, graft_shape_make(3, ud));
    assert_null(graft_flatten(g, u, NULL).op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    graft_graph_free(g);
}

static void test_softmax_layer(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t xd[2] = {1, 3};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(2, xd));
    graft_out y = graft_softmax_layer(g, x, NULL);
    assert_string_equal(graft_op_name(y.op), "softmax/Softmax");
    graft_session *s = start(g);
    graft_tensor *xv = tf32((const float[]){1, 2, 3}, xd, 2);
    graft_tensor *o = run1(s, x, xv, y);
    double z = exp(1) + exp(2) + exp(3);
    assert_vals(o, (const double[]){exp(1) / z, exp(2) / z, exp(3) / z}, 3, 1e-6);
    graft_tensor_free(o);
    graft_tensor_free(xv);
    graft_session_free(s);
    graft_graph_free(g);
}

static void test_dropout(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    graft_graph_set_seed(g, 11);
    int64_t xd[2] = {-1, 500};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(2, xd));
    graft_dropout_cfg c;
    graft_dropout_cfg_init(&c);
    assert_true(c.rate == 0.5 && !c.training);
    c.rate = 0.25;
    graft_out off = graft_dropout(g, x, &c); /* not training: identity */
    c.training = true;
    graft_out on = graft_dropout(g, x, &c);
    graft_tensor *f = graft_tensor_new(GRAFT_BOOL, NULL, 0, NULL);
    graft_out tr =
        graft_placeholder_with_default(g, "training", graft_const(g, NULL, f), graft_shape_make(0, NULL));
    graft_tensor_free(f);
    c.training = false;
    c.training_tensor = tr;
    graft_out by_tensor = graft_dropout(g, x, &c);
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    assert_string_equal(graft_op_name(off.op), "dropout/Identity");
    assert_string_equal(graft_op_type(on.op), "Mul");
    assert_string_equal(graft_op_name(on.op), "dropout_1/mul_1");
    assert_op(g, "dropout_1/GreaterEqual", "GreaterEqual");
    assert_op(g, "dropout_1/random_uniform/RandomUniform", "RandomUniform");
    assert_op(g, "dropout_1/Cast", "Cast");
    assert_string_equal(graft_op_name(by_tensor.op), "dropout_2/Select");
    /* d sum(dropout(x)) / dx = mask * scale */
    graft_out sum = graft_sum(g, on, NULL, 0, false), dx;
    graft_status st;
    assert_int_equal(graft_gradients(g, &sum, 1, &x, 1, NULL, &dx, &st), GRAFT_OK);

    graft_session *s = start(g);
    float ones[1000];
    for (int i = 0; i < 1000; i++) ones[i] = 1.0f;
    graft_tensor *xv = tf32(ones, (const int64_t[]){2, 500}, 2);
    graft_tensor *o = run1(s, x, xv, off);
    assert_memory_equal(graft_tensor_data(o), ones, sizeof ones);
    graft_tensor_free(o);
    /* training: every value is 0 or 1/0.75; about 750 of 1000 kept */
    const float scale = 1.0f / 0.75f;
    graft_out fetch[2] = {on, dx};
    graft_tensor *vals[2] = {NULL, NULL};
    assert_int_equal(graft_session_run(s, &x, &xv, 1, fetch, vals, 2, NULL, 0, &st), GRAFT_OK);
    const float *p = graft_tensor_data(vals[0]), *gp = graft_tensor_data(vals[1]);
    int kept = 0;
    for (int i = 0; i < 1000; i++) {
        assert_true(p[i] == 0.0f || p[i] == scale);
        kept += p[i] != 0.0f;
        assert_true(gp[i] == p[i]); /* x = 1: the gradient equals the output */
    }
    assert_in_range(kept, 680, 820); /* binomial(1000, 0.75): sd 13.7 */
    /* a fresh mask each run */
    graft_tensor *o2 = run1(s, x, xv, on);
    assert_false(memcmp(graft_tensor_data(o2), p, sizeof ones) == 0);
    graft_tensor_free(o2);
    graft_tensor_free(vals[0]);
    graft_tensor_free(vals[1]);
    /* the run-time switch: default false = identity; fed true = dropped */
    o = run1(s, x, xv, by_tensor);
    assert_memory_equal(graft_tensor_data(o), ones, sizeof ones);
    graft_tensor_free(o);
    graft_tensor *t = graft_tensor_new(GRAFT_BOOL, NULL, 0, NULL);
    *(bool *)graft_tensor_data(t) = true;
    graft_out feeds[2] = {x, tr};
    graft_tensor *fv[2] = {xv, t};
    graft_tensor *ov = NULL;
    assert_int_equal(graft_session_run(s, feeds, fv, 2, &by_tensor, &ov, 1, NULL, 0, &st), GRAFT_OK);
    p = graft_tensor_data(ov);
    kept = 0;
    for (int i = 0; i < 1000; i++) {
        assert_true(p[i] == 0.0f || p[i] == scale);
        kept += p[i] != 0.0f;
    }
    assert_in_range(kept, 680, 820);
    graft_tensor_free(ov);
    graft_tensor_free(t);
    graft_tensor_free(xv);
    graft_session_free(s);
    /* rate outside [0, 1) */
    c.rate = 1.0;
    assert_null(graft_dropout(g, x, &c).op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_INVALID_ARG);
    graft_graph_free(g);
}

/* ---- losses and accuracy -------------------------------------------------------------------- */

/* logits [[1,2,3],[1,1,1]], labels [[0,0,1],[1,0,0]]:
 * row 0: logsumexp(1,2,3) - 3 = 0.40760596; row 1: log(3) = 1.09861229; mean 0.75310912 */
static double lse(const double *v, int n)
{
    double m = v[0], s = 0;
    for (int i = 1; i < n; i++) m = v[i] > m ? v[i] : m;
    for (int i = 0; i < n; i++) s += exp(v[i] - m);
    return m + log(s);
}

static void test_losses(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t ld[2] = {2, 3}, yd[1] = {2};
    graft_out logits = graft_placeholder(g, "logits", GRAFT_FLOAT, graft_shape_make(2, ld));
    graft_out onehot = graft_placeholder(g, "onehot", GRAFT_FLOAT, graft_shape_make(2, ld));
    graft_out ids = graft_placeholder(g, "ids", GRAFT_INT64, graft_shape_make(1, yd));
    graft_out l1 = graft_softmax_cross_entropy_loss(g, logits, onehot);
    graft_out l2 = graft_sparse_softmax_cross_entropy_loss(g, logits, ids);
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    assert_string_equal(graft_op_name(l1.op), "softmax_cross_entropy_loss/value");
    assert_string_equal(graft_op_type(l1.op), "Mean");
    assert_op(g, "softmax_cross_entropy_loss/labels_stop_gradient", "StopGradient");
    assert_op(g, "softmax_cross_entropy_loss/xentropy", "SoftmaxCrossEntropyWithLogits");
    assert_string_equal(graft_op_name(l2.op), "sparse_softmax_cross_entropy_loss/value");
    assert_op(g, "sparse_softmax_cross_entropy_loss/xentropy", "SparseSoftmaxCrossEntropyWithLogits");
    assert_int_equal(out_shape(l1).rank, 0);
    /* gradients: logits get (softmax - labels) / batch; labels get none */
    graft_out xs[2] = {logits, onehot}, d[2];
    graft_status st;
    assert_int_equal(graft_gradients(g, &l1, 1, xs, 2, NULL, d, &st), GRAFT_OK);
    assert_non_null(d[0].op);
    assert_null(d[1].op);
    graft_out d2;
    assert_int_equal(graft_gradients(g, &l2, 1, &logits, 1, NULL, &d2, &st), GRAFT_OK);

    graft_session *s = start(g);
    const float lv[6] = {1, 2, 3, 1, 1, 1}, yv[6] = {0, 0, 1, 1, 0, 0};
    const int64_t iv[2] = {2, 0};
    graft_tensor *tl = tf32(lv, ld, 2), *ty = tf32(yv, ld, 2);
    graft_tensor *ti = graft_tensor_from_data(GRAFT_INT64, yd, 1, iv, sizeof iv, NULL);
    const double r0[3] = {1, 2, 3}, r1[3] = {1, 1, 1};
    double want = ((lse(r0, 3) - 3) + (lse(r1, 3) - 1)) / 2; /* 0.75310912 */
    assert_true(fabs(want - 0.75310912) < 1e-7);
    graft_out feeds[3] = {logits, onehot, ids};
    graft_tensor *fv[3] = {tl, ty, ti};
    graft_out fetch[4] = {l1, l2, d[0], d2};
    graft_tensor *out[4] = {NULL};
    graft_code rc = graft_session_run(s, feeds, fv, 3, fetch, out, 4, NULL, 0, &st);
    if (rc) print_error("%s\n", st.msg);
    assert_int_equal(rc, GRAFT_OK);
    assert_vals(out[0], &want, 1, 1e-6);
    assert_vals(out[1], &want, 1, 1e-6);
    double z0 = exp(1) + exp(2) + exp(3);
    double grad[6] = {exp(1) / z0 / 2,   exp(2) / z0 / 2, (exp(3) / z0 - 1) / 2,
                      (1.0 / 3 - 1) / 2, 1.0 / 6,         1.0 / 6};
    assert_vals(out[2], grad, 6, 1e-6);
    assert_vals(out[3], grad, 6, 1e-6);
    for (int i = 0; i < 4; i++) graft_tensor_free(out[i]);
    graft_tensor_free(tl);
    graft_tensor_free(ty);
    graft_tensor_free(ti);
    graft_session_free(s);
    /* errors: wrong label shape, float ids */
    int64_t bd[2] = {2, 4};
    graft_out bad = graft_placeholder(g, "bad", GRAFT_FLOAT, graft_shape_make(2, bd));
    assert_null(graft_softmax_cross_entropy_loss(g, logits, bad).op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    graft_graph_clear_error(g);
    assert_null(graft_sparse_softmax_cross_entropy_loss(g, logits, onehot).op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_DTYPE);
    graft_graph_free(g);
}

static void test_accuracy(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t ld[2] = {4, 3}, yd[1] = {4};
    graft_out logits = graft_placeholder(g, "logits", GRAFT_FLOAT, graft_shape_make(2, ld));
    graft_out ids = graft_placeholder(g, "ids", GRAFT_INT32, graft_shape_make(1, yd));
    graft_out rows = graft_placeholder(g, "rows", GRAFT_FLOAT, graft_shape_make(2, ld));
    graft_out a1 = graft_accuracy(g, logits, ids);
    graft_out a2 = graft_accuracy(g, logits, rows);
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    assert_string_equal(graft_op_name(a1.op), "accuracy/value");
    assert_string_equal(graft_op_name(a2.op), "accuracy_1/value");
    assert_int_equal(graft_out_dtype(a1), GRAFT_FLOAT);
    graft_session *s = start(g);
    /* argmax per row: 2, 0, 1, 1; labels 2, 0, 1, 2 -> 3 of 4 */
    const float lv[12] = {0, 1, 5, 9, 1, 1, 0, 3, 2, -1, 0, -2};
    const int32_t iv[4] = {2, 0, 1, 2};
    const float rv[12] = {0, 0, 1, 1, 0, 0, 0, 1, 0, 0.1f, 0.2f, 0.7f};
    graft_tensor *tl = tf32(lv, ld, 2), *tr = tf32(rv, ld, 2);
    graft_tensor *ti = graft_tensor_from_data(GRAFT_INT32, yd, 1, iv, sizeof iv, NULL);
    graft_out feeds[3] = {logits, ids, rows};
    graft_tensor *fv[3] = {tl, ti, tr};
    graft_out fetch[2] = {a1, a2};
    graft_tensor *out[2] = {NULL, NULL};
    graft_status st;
    assert_int_equal(graft_session_run(s, feeds, fv, 3, fetch, out, 2, NULL, 0, &st), GRAFT_OK);
    assert_vals(out[0], (const double[]){0.75}, 1, 0);
    assert_vals(out[1], (const double[]){0.75}, 1, 0);
    graft_tensor_free(out[0]);
    graft_tensor_free(out[1]);
    graft_tensor_free(tl);
    graft_tensor_free(tr);
    graft_tensor_free(ti);
    graft_session_free(s);
    graft_graph_free(g);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void test_layer_errors(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t d3[3] = {-1, 4, 5}, du[2] = {-1, -1}, d2[2] = {-1, 4};
    graft_out x3 = graft_placeholder(g, "x3", GRAFT_FLOAT, graft_shape_make(3, d3));
    graft_out xu = graft_placeholder(g, "xu", GRAFT_FLOAT, graft_shape_make(2, du));
    graft_out x2 = graft_placeholder(g, "x2", GRAFT_FLOAT, graft_shape_make(2, d2));
    graft_out xi = graft_placeholder(g, "xi", GRAFT_INT32, graft_shape_make(2, d2));
    graft_dense_cfg d;
    graft_dense_cfg_init(&d);
    d.units = 3;
    int n0 = graft_graph_num_ops(g);
    assert_null(graft_dense(g, x3, &d).op); /* rank 3 */
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    assert_non_null(strstr(graft_graph_errmsg(g), "flatten"));
    graft_graph_clear_error(g);
    assert_null(graft_dense(g, xu, &d).op); /* unknown features */
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    graft_graph_clear_error(g);
    assert_null(graft_dense(g, xi, &d).op); /* int input */
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_DTYPE);
    graft_graph_clear_error(g);
    d.units = 0;
    assert_null(graft_dense(g, x2, &d).op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_INVALID_ARG);
    graft_graph_clear_error(g);
    d.units = 3;
    d.activation = (graft_activation)99;
    assert_null(graft_dense(g, x2, &d).op);
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_INVALID_ARG);
    graft_graph_clear_error(g);
    assert_null(graft_dense(g, x2, NULL).op);
    graft_graph_clear_error(g);
    assert_int_equal(graft_graph_num_ops(g), n0); /* rejected before building anything */
    graft_conv2d_cfg c;
    graft_conv2d_cfg_init(&c);
    c.filters = 2;
    assert_null(graft_conv2d_layer(g, x2, &c).op); /* kernel_size 0 */
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_INVALID_ARG);
    graft_graph_clear_error(g);
    c.kernel_size[0] = c.kernel_size[1] = 1;
    assert_null(graft_conv2d_layer(g, x2, &c).op); /* not NHWC */
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    graft_graph_clear_error(g);
    /* a sticky error makes the next layers return null quietly */
    d.activation = GRAFT_ACT_NONE;
    d.units = 0;
    graft_out y = graft_dense(g, x2, &d);
    d.units = 3;
    graft_out y2 = graft_dense(g, y, &d);
    graft_out y3 = graft_dense(g, x2, &d);
    assert_null(y2.op);
    assert_null(y3.op);
    assert_non_null(strstr(graft_graph_errmsg(g), "units"));
    graft_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dense_names_and_values),
        cmocka_unit_test(test_glorot_uniform),
        cmocka_unit_test(test_initializers),
        cmocka_unit_test(test_conv2d),
        cmocka_unit_test(test_pooling),
        cmocka_unit_test(test_flatten),
        cmocka_unit_test(test_softmax_layer),
        cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_losses),
        cmocka_unit_test(test_accuracy),
        cmocka_unit_test(test_layer_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
