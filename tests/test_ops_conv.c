/* tests/test_ops_conv.c - lib/ops/op_conv.c against PyTorch with TF's padding
 * made explicit (tests/data/ops_oracle_b.h from tests/data/ops_oracle_b.py), a
 * naive convolution written here (the chunked im2col path), and hand-derived
 * pooling cases (ties, real-cell averages); attribute errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/ops_oracle_b.h"
#include "internal.h"
#include "opsb.h"

#define TOL32 2e-5
#define TOL64 1e-12

static graft_tensor *from_orb(graft_dtype dt, const orb_arr *a)
{
    return graftT_opsb_tensor(dt, a->rank, a->dims, a->v);
}

static graft_out ph(graft_graph *g, const char *name, graft_dtype dt, const orb_arr *a)
{
    return graft_placeholder(g, name, dt, graft_shape_make(a->rank, a->dims));
}

static graft_out shape_const(graft_graph *g, const orb_arr *a)
{
    int32_t v[4];
    for (int i = 0; i < 4; i++) v[i] = (int32_t)a->dims[i];
    return graft_const_i32_vec(g, v, 4);
}

/* Conv2DBackpropInput / Conv2DBackpropFilter through the generic builder. */
static graft_out backprop_op(graft_graph *g, const char *type, graft_out in0, graft_out in1, graft_out in2,
                             graft_dtype dt, int sh, int sw, bool same)
{
    graft_op_builder *b = graft_op_builder_new(g, type, type);
    graft_op_builder_add_input(b, in0);
    graft_op_builder_add_input(b, in1);
    graft_op_builder_add_input(b, in2);
    int64_t s[4] = {1, sh, sw, 1};
    graft_op_builder_attr_type(b, "T", dt);
    graft_op_builder_attr_int_list(b, "strides", s, 4);
    graft_op_builder_attr_string(b, "padding", same ? "SAME" : "VALID", same ? 4 : 5);
    graft_status st;
    graft_op *op = graft_op_builder_finish(b, &st);
    if (!op) printf("%s: %s\n", type, st.msg);
    return graftI_o(op, 0);
}

/* ---- Conv2D and the backprop ops vs PyTorch ---------------------------------------------- */

static void test_conv_oracle(void **state)
{
    (void)state;
    for (int dti = 0; dti < 2; dti++) {
        graft_dtype dt = dti ? GRAFT_DOUBLE : GRAFT_FLOAT;
        double tol = dti ? TOL64 : TOL32;
        for (size_t i = 0; i < sizeof orb_conv_cases / sizeof orb_conv_cases[0]; i++) {
            const orb_conv *c = &orb_conv_cases[i];
            graft_graph *g = graft_graph_new();
            graft_out x = ph(g, "x", dt, c->x), f = ph(g, "f", dt, c->f), dy = ph(g, "dy", dt, c->dy);
            graft_out y = graft_conv2d(g, x, f, c->sh, c->sw, c->same ? GRAFT_PAD_SAME : GRAFT_PAD_VALID);
            assert_int_equal(graft_graph_status(g), GRAFT_OK);
            graft_shape ys = graft_out_shape(y);
            for (int d = 0; d < 4; d++) assert_int_equal(ys.dims[d], c->y->dims[d]);
            graft_out bi =
                backprop_op(g, "Conv2DBackpropInput", shape_const(g, c->x), f, dy, dt, c->sh, c->sw, c->same);
            graft_out bf = backprop_op(g, "Conv2DBackpropFilter", x, shape_const(g, c->f), dy, dt, c->sh,
                                       c->sw, c->same);
            assert_true(graft_out_ok(bi) && graft_out_ok(bf));
            /* the static shapes come from the constant size inputs */
            assert_int_equal(graft_out_shape(bi).dims[1], c->x->dims[1]);
            assert_int_equal(graft_out_shape(bf).dims[0], c->f->dims[0]);
            /* autodiff: d sum(y * dy) / d(x, f) via the same backprop ops */
            graft_out xs[2] = {x, f}, dxs[2];
            graft_status st;
            assert_int_equal(graft_gradients(g, &y, 1, xs, 2, &dy, dxs, &st), GRAFT_OK);
            assert_string_equal(graft_op_type(dxs[0].op), "Conv2DBackpropInput");
            assert_string_equal(graft_op_type(dxs[1].op), "Conv2DBackpropFilter");
            graft_tensor *vx = from_orb(dt, c->x), *vf = from_orb(dt, c->f), *vdy = from_orb(dt, c->dy);
            graft_out feeds[3] = {x, f, dy}, fetch[5] = {y, bi, bf, dxs[0], dxs[1]};
            graft_tensor *vals[3] = {vx, vf, vdy}, *out[5] = {0};
            assert_int_equal(graftT_opsb_run(g, feeds, vals, 3, fetch, out, 5, &st), GRAFT_OK);
            char lab[128];
            snprintf(lab, sizeof lab, "%s %s y", c->name, dti ? "f64" : "f32");
            assert_true(graftT_opsb_close(lab, out[0], c->y->v, c->y->n, tol, tol));
            snprintf(lab, sizeof lab, "%s %s dx", c->name, dti ? "f64" : "f32");
            assert_true(graftT_opsb_close(lab, out[1], c->dx->v, c->dx->n, tol, tol));
            assert_true(graftT_opsb_close(lab, out[3], c->dx->v, c->dx->n, tol, tol));
            snprintf(lab, sizeof lab, "%s %s dfilter", c->name, dti ? "f64" : "f32");
            assert_true(graftT_opsb_close(lab, out[2], c->df->v, c->df->n, tol, tol));
            assert_true(graftT_opsb_close(lab, out[4], c->df->v, c->df->n, tol, tol));
            for (int k = 0; k < 5; k++) graft_tensor_free(out[k]);
            graft_tensor_free(vx);
            graft_tensor_free(vf);
            graft_tensor_free(vdy);
            graft_graph_free(g);
        }
    }
}

/* ---- a conv larger than one im2col chunk, against a naive loop --------------------------- */

static void naive_conv(const float *x, const float *f, double *y, int n, int h, int w, int c, int kh, int kw,
                       int o, int sh, int sw, int oh, int ow, int pt, int pl)
{
    for (int b = 0; b < n; b++)
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++)
                for (int q = 0; q < o; q++) {
                    double s = 0;
                    for (int di = 0; di < kh; di++)
                        for (int dj = 0; dj < kw; dj++) {
                            int hi = i * sh - pt + di, wj = j * sw - pl + dj;
                            if (hi < 0 || hi >= h || wj < 0 || wj >= w) continue;
                            for (int ch = 0; ch < c; ch++)
                                s += (double)x[((b * h + hi) * w + wj) * c + ch] *
                                     (double)f[((di * kw + dj) * c + ch) * o + q];
                        }
                    y[((b * oh + i) * ow + j) * o + q] = s;
                }
}

static void test_conv_chunked(void **state)
{
    (void)state;
    /* rows = 80*80 = 6400, K = 3*3*96 = 864: 22 MB of im2col > the 16 MiB chunk */
    const int n = 1, h = 80, w = 80, c = 96, kh = 3, kw = 3, o = 4, sh = 1, sw = 1;
    int64_t xd[4] = {n, h, w, c}, fd[4] = {kh, kw, c, o};
    graft_status st;
    graft_tensor *tx = graft_tensor_new(GRAFT_FLOAT, xd, 4, &st),
                 *tf = graft_tensor_new(GRAFT_FLOAT, fd, 4, &st);
    float *xp = graft_tensor_data(tx), *fp = graft_tensor_data(tf);
    uint32_t r = 12345;
    for (int64_t i = 0; i < graft_tensor_num_elements(tx); i++) {
        r = r * 1664525u + 1013904223u;
        xp[i] = (float)((r >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    for (int64_t i = 0; i < graft_tensor_num_elements(tf); i++) {
        r = r * 1664525u + 1013904223u;
        fp[i] = (float)((r >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    graft_graph *g = graft_graph_new();
    graft_out y = graft_conv2d(g, graft_const(g, "x", tx), graft_const(g, "f", tf), sh, sw, GRAFT_PAD_SAME);
    graft_tensor *out = NULL;
    assert_int_equal(graftT_opsb_run(g, NULL, NULL, 0, &y, &out, 1, &st), GRAFT_OK);
    size_t ny = (size_t)n * h * w * o;
    double *want = malloc(ny * sizeof *want);
    naive_conv(xp, fp, want, n, h, w, c, kh, kw, o, sh, sw, h, w, 1, 1);
    assert_true(graftT_opsb_close("chunked conv", out, want, (int64_t)ny, 1e-4, 1e-4));
    free(want);
    graft_tensor_free(out);
    graft_tensor_free(tx);
    graft_tensor_free(tf);
    graft_graph_free(g);
}

/* ---- pooling vs PyTorch ------------------------------------------------------------------------ */

static graft_out pool_grad_op(graft_graph *g, const char *type, const graft_out *in, int n_in, graft_dtype dt,
                              const orb_pool *c)
{
    graft_op_builder *b = graft_op_builder_new(g, type, type);
    for (int i = 0; i < n_in; i++) graft_op_builder_add_input(b, in[i]);
    int64_t k[4] = {1, c->kh, c->kw, 1}, s[4] = {1, c->sh, c->sw, 1};
    graft_op_builder_attr_type(b, "T", dt);
    graft_op_builder_attr_int_list(b, "ksize", k, 4);
    graft_op_builder_attr_int_list(b, "strides", s, 4);
    graft_op_builder_attr_string(b, "padding", c->same ? "SAME" : "VALID", c->same ? 4 : 5);
    graft_status st;
    graft_op *op = graft_op_builder_finish(b, &st);
    if (!op) printf("%s: %s\n", type, st.msg);
    return graftI_o(op, 0);
}

static void test_pool_oracle(void **state)
{
    (void)state;
    for (int dti = 0; dti < 2; dti++) {
        graft_dtype dt = dti ? GRAFT_DOUBLE : GRAFT_FLOAT;
        double tol = dti ? TOL64 : TOL32;
        for (size_t i = 0; i < sizeof orb_pool_cases / sizeof orb_pool_cases[0]; i++) {
            const orb_pool *c = &orb_pool_cases[i];
            graft_padding pad = c->same ? GRAFT_PAD_SAME : GRAFT_PAD_VALID;
            graft_graph *g = graft_graph_new();
            graft_out x = ph(g, "x", dt, c->x), dy = ph(g, "dy", dt, c->dy);
            graft_out ym = graft_max_pool(g, x, c->kh, c->kw, c->sh, c->sw, pad);
            graft_out ya = graft_avg_pool(g, x, c->kh, c->kw, c->sh, c->sw, pad);
            assert_int_equal(graft_graph_status(g), GRAFT_OK);
            graft_out mg_in[3] = {x, ym, dy};
            graft_out mg = pool_grad_op(g, "MaxPoolGrad", mg_in, 3, dt, c);
            graft_out ag_in[2] = {graft_shape_of(g, x), dy};
            graft_out ag = pool_grad_op(g, "AvgPoolGrad", ag_in, 2, dt, c);
            graft_out dm, da;
            graft_status st;
            assert_int_equal(graft_gradients(g, &ym, 1, &x, 1, &dy, &dm, &st), GRAFT_OK);
            assert_int_equal(graft_gradients(g, &ya, 1, &x, 1, &dy, &da, &st), GRAFT_OK);
            assert_string_equal(graft_op_type(dm.op), "MaxPoolGrad");
            assert_string_equal(graft_op_type(da.op), "AvgPoolGrad");
            graft_tensor *vx = from_orb(dt, c->x), *vdy = from_orb(dt, c->dy);
            graft_out feeds[2] = {x, dy}, fetch[6] = {ym, ya, mg, ag, dm, da};
            graft_tensor *vals[2] = {vx, vdy}, *out[6] = {0};
            assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, fetch, out, 6, &st), GRAFT_OK);
            char lab[128];
            snprintf(lab, sizeof lab, "%s max", c->name);
            assert_true(graftT_opsb_close(lab, out[0], c->ymax->v, c->ymax->n, tol, tol));
            assert_true(graftT_opsb_close(lab, out[2], c->dxmax->v, c->dxmax->n, tol, tol));
            assert_true(graftT_opsb_close(lab, out[4], c->dxmax->v, c->dxmax->n, tol, tol));
            snprintf(lab, sizeof lab, "%s avg", c->name);
            assert_true(graftT_opsb_close(lab, out[1], c->yavg->v, c->yavg->n, tol, tol));
            assert_true(graftT_opsb_close(lab, out[3], c->dxavg->v, c->dxavg->n, tol, tol));
            assert_true(graftT_opsb_close(lab, out[5], c->dxavg->v, c->dxavg->n, tol, tol));
            for (int k = 0; k < 6; k++) graft_tensor_free(out[k]);
            graft_tensor_free(vx);
            graft_tensor_free(vdy);
            graft_graph_free(g);
        }
    }
}

/* ---- hand-derived pooling ---------------------------------------------------------------------- */

/* MaxPoolGrad sends each window's gradient to its first maximum in row-major
 * order. x (1x2x4x1) = [[1, 3, 2, 2], [3, 0, 2, 2]] with 2x2 VALID stride 2:
 * window 0 = {1, 3 (0,1), 3 (1,0), 0} -> (0,1); window 1 = all 2 -> (0,2).
 * dy = [5, 7] -> dx = [[0, 5, 7, 0], [0, 0, 0, 0]]. */
static void test_max_pool_ties(void **state)
{
    (void)state;
    int64_t xd[4] = {1, 2, 4, 1}, gd[4] = {1, 1, 2, 1};
    const double xv[8] = {1, 3, 2, 2, 3, 0, 2, 2}, gv[2] = {5, 7};
    const double want[8] = {0, 5, 7, 0, 0, 0, 0, 0}, wy[2] = {3, 2};
    graft_tensor *tx = graftT_opsb_tensor(GRAFT_FLOAT, 4, xd, xv),
                 *tg = graftT_opsb_tensor(GRAFT_FLOAT, 4, gd, gv);
    graft_graph *g = graft_graph_new();
    graft_out x = graft_const(g, "x", tx), dy = graft_const(g, "dy", tg);
    graft_out y = graft_max_pool(g, x, 2, 2, 2, 2, GRAFT_PAD_VALID);
    graft_out dx;
    graft_status st;
    assert_int_equal(graft_gradients(g, &y, 1, &x, 1, &dy, &dx, &st), GRAFT_OK);
    graft_out f[2] = {y, dx};
    graft_tensor *out[2] = {0};
    assert_int_equal(graftT_opsb_run(g, NULL, NULL, 0, f, out, 2, &st), GRAFT_OK);
    assert_true(graftT_opsb_close("tie max", out[0], wy, 2, 0, 0));
    assert_true(graftT_opsb_close("tie grad", out[1], want, 8, 0, 0));
    graft_tensor_free(out[0]);
    graft_tensor_free(out[1]);
    graft_tensor_free(tx);
    graft_tensor_free(tg);
    graft_graph_free(g);
}

/* SAME pooling, x (1x3x3x1) = 1..9 row-major, 2x2 stride 2: out 2x2, total pad
 * 1 per axis, all after (pad_before = floor(1/2) = 0). Windows: {1,2,4,5},
 * {3,6}, {7,8}, {9}. Avg divides by the real cells: [3, 4.5, 7.5, 9]; max:
 * [5, 6, 8, 9]. All-negative x = -(1..9): max [-1, -3, -7, -9] (a zero pad
 * would give 0 for the last three). */
static void test_pool_same_hand(void **state)
{
    (void)state;
    int64_t xd[4] = {1, 3, 3, 1};
    double xv[9], nv[9];
    for (int i = 0; i < 9; i++) xv[i] = i + 1, nv[i] = -(i + 1);
    graft_tensor *tx = graftT_opsb_tensor(GRAFT_FLOAT, 4, xd, xv),
                 *tn = graftT_opsb_tensor(GRAFT_FLOAT, 4, xd, nv);
    graft_graph *g = graft_graph_new();
    graft_out x = graft_const(g, "x", tx), xn = graft_const(g, "xn", tn);
    graft_out f[3] = {graft_avg_pool(g, x, 2, 2, 2, 2, GRAFT_PAD_SAME),
                      graft_max_pool(g, x, 2, 2, 2, 2, GRAFT_PAD_SAME),
                      graft_max_pool(g, xn, 2, 2, 2, 2, GRAFT_PAD_SAME)};
    graft_tensor *out[3] = {0};
    graft_status st;
    assert_int_equal(graftT_opsb_run(g, NULL, NULL, 0, f, out, 3, &st), GRAFT_OK);
    const double wa[4] = {3, 4.5, 7.5, 9}, wm[4] = {5, 6, 8, 9}, wn[4] = {-1, -3, -7, -9};
    assert_true(graftT_opsb_close("same avg", out[0], wa, 4, 0, 0));
    assert_true(graftT_opsb_close("same max", out[1], wm, 4, 0, 0));
    assert_true(graftT_opsb_close("same max negative", out[2], wn, 4, 0, 0));
    for (int i = 0; i < 3; i++) graft_tensor_free(out[i]);
    graft_tensor_free(tx);
    graft_tensor_free(tn);
    graft_graph_free(g);
}

/* TF's output-size arithmetic: SAME ceil(in/s); VALID (in - k + s)/s. */
static void test_output_shapes(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t xd[4] = {-1, 224, 223, 3}, fd[4] = {7, 7, 3, 64};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(4, xd));
    graft_out f = graft_placeholder(g, "f", GRAFT_FLOAT, graft_shape_make(4, fd));
    graft_shape s = graft_out_shape(graft_conv2d(g, x, f, 2, 2, GRAFT_PAD_SAME));
    assert_int_equal(s.dims[0], -1);
    assert_int_equal(s.dims[1], 112);
    assert_int_equal(s.dims[2], 112);
    assert_int_equal(s.dims[3], 64);
    s = graft_out_shape(graft_conv2d(g, x, f, 2, 3, GRAFT_PAD_VALID));
    assert_int_equal(s.dims[1], 109); /* (224 - 7 + 2) / 2 */
    assert_int_equal(s.dims[2], 73);  /* (223 - 7 + 3) / 3 */
    s = graft_out_shape(graft_max_pool(g, x, 3, 3, 2, 2, GRAFT_PAD_VALID));
    assert_int_equal(s.dims[1], 111);
    assert_int_equal(s.dims[2], 111);
    assert_int_equal(s.dims[3], 3);
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    graft_graph_free(g);
}

/* ---- errors -------------------------------------------------------------------------------------- */

/* A Conv2D with the given strides/padding and optionally one more list or
 * string attr; returns the build's code. */
static graft_code conv_with(graft_graph *g, graft_out x, graft_out f, const int64_t *strides,
                            const char *padding, const char *attr, const int64_t *list, const char *sattr,
                            const char *sval, graft_status *st)
{
    static int seq;
    char name[32];
    snprintf(name, sizeof name, "c%d", seq++);
    graft_op_builder *b = graft_op_builder_new(g, "Conv2D", name);
    graft_op_builder_add_input(b, x);
    graft_op_builder_add_input(b, f);
    graft_op_builder_attr_int_list(b, "strides", strides, 4);
    graft_op_builder_attr_string(b, "padding", padding, strlen(padding));
    if (attr) graft_op_builder_attr_int_list(b, attr, list, 4);
    if (sattr) graft_op_builder_attr_string(b, sattr, sval, strlen(sval));
    graft_op *op = graft_op_builder_finish(b, st);
    return op ? GRAFT_OK : st->code;
}

static void test_conv_errors(void **state)
{
    (void)state;
    graft_graph *g = graft_graph_new();
    int64_t xd[4] = {1, 5, 5, 3}, fd[4] = {3, 3, 3, 2}, fbad[4] = {3, 3, 4, 2};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(4, xd));
    graft_out f = graft_placeholder(g, "f", GRAFT_FLOAT, graft_shape_make(4, fd));
    graft_status st;
    const int64_t dil[4] = {1, 2, 2, 1}, ones[4] = {1, 1, 1, 1}, bstride[4] = {2, 1, 1, 1};
    assert_int_equal(conv_with(g, x, f, ones, "SAME", NULL, NULL, NULL, NULL, &st), GRAFT_OK);
    assert_int_equal(conv_with(g, x, f, ones, "SAME", "dilations", dil, NULL, NULL, &st),
                     GRAFT_ERR_UNSUPPORTED);
    assert_non_null(strstr(st.msg, "dilations"));
    assert_int_equal(conv_with(g, x, f, ones, "SAME", NULL, NULL, "data_format", "NCHW", &st),
                     GRAFT_ERR_UNSUPPORTED);
    assert_non_null(strstr(st.msg, "only NHWC"));
    assert_int_equal(conv_with(g, x, f, ones, "EXPLICIT", NULL, NULL, NULL, NULL, &st),
                     GRAFT_ERR_UNSUPPORTED);
    assert_int_equal(conv_with(g, x, f, ones, "FULL", NULL, NULL, NULL, NULL, &st), GRAFT_ERR_INVALID_ARG);
    assert_int_equal(conv_with(g, x, f, bstride, "SAME", NULL, NULL, NULL, NULL, &st), GRAFT_ERR_UNSUPPORTED);
    /* channel mismatch */
    graft_out fb = graft_placeholder(g, "fb", GRAFT_FLOAT, graft_shape_make(4, fbad));
    assert_false(graft_out_ok(graft_conv2d(g, x, fb, 1, 1, GRAFT_PAD_SAME)));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    assert_non_null(strstr(graft_graph_errmsg(g), "(3 vs 4)"));
    graft_graph_clear_error(g);
    /* VALID window larger than the input */
    assert_false(graft_out_ok(graft_max_pool(g, x, 6, 6, 1, 1, GRAFT_PAD_VALID)));
    assert_int_equal(graft_graph_status(g), GRAFT_ERR_SHAPE);
    graft_graph_clear_error(g);
    assert_false(graft_out_ok(graft_max_pool(g, x, 0, 2, 1, 1, GRAFT_PAD_VALID)));
    graft_graph_clear_error(g);
    /* run-time channel mismatch with unknown static shapes */
    graft_out xu = graft_placeholder(g, "xu", GRAFT_FLOAT, graft_shape_unknown());
    graft_out y = graft_conv2d(g, xu, f, 1, 1, GRAFT_PAD_SAME);
    assert_int_equal(graft_graph_status(g), GRAFT_OK);
    int64_t xd4[4] = {1, 4, 4, 4};
    double z[64] = {0};
    graft_tensor *v = graftT_opsb_tensor(GRAFT_FLOAT, 4, xd4, z),
                 *vf = graftT_opsb_tensor(GRAFT_FLOAT, 4, fd, z), *out = NULL;
    graft_out feeds[2] = {xu, f};
    graft_tensor *vals[2] = {v, vf};
    assert_int_equal(graftT_opsb_run(g, feeds, vals, 2, &y, &out, 1, &st), GRAFT_ERR_SHAPE);
    assert_non_null(strstr(st.msg, "in-channels"));
    graft_tensor_free(v);
    graft_tensor_free(vf);
    graft_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_oracle),    cmocka_unit_test(test_conv_chunked),
        cmocka_unit_test(test_pool_oracle),    cmocka_unit_test(test_max_pool_ties),
        cmocka_unit_test(test_pool_same_hand), cmocka_unit_test(test_output_shapes),
        cmocka_unit_test(test_conv_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
