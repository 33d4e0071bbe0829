/* lib/ops/op_conv.c - 2-D convolution and pooling in NHWC with TensorFlow's
 * SAME/VALID arithmetic: Conv2D (im2col + gemm, chunked through scratch), its
 * two backprop ops, MaxPool/MaxPoolGrad and AvgPool/AvgPoolGrad, with gradient
 * builders and the typed builders declared in graft/graph.h. */
#include "internal.h"
#include "op_util.h"
#include "ops/helper_consts.h"

#include <cblas.h>
#include <limits.h>
#include <math.h>

/* im2col scratch per kernel call is capped near this size; the output rows
 * are processed in chunks that fit (at least one row). */
#define CONV_SCRATCH_BYTES ((size_t)16 << 20)

/* ---- shared helpers (more in op_util.h) ------------------------------------ */

static graft_code want_rank4(const graft_shape *s, const char *what, graft_status *st)
{
    if (s->rank >= 0 && s->rank != 4)
        return graft_status_set(st, GRAFT_ERR_SHAPE, "%s: must be 4-dimensional (rank 4 vs %d)", what,
                                s->rank);
    return GRAFT_OK;
}

static int64_t sdim(const graft_shape *s, int d) { return (s->rank > d) ? s->dims[d] : -1; }

static graft_code set_out(graft_op *op, graft_dtype dt, const int64_t *dims4, graft_status *st)
{
    graft_code rc = graftI_set_outputs(op, 1);
    if (rc != GRAFT_OK) return graft_status_set(st, rc, "out of memory setting outputs");
    op->out[0].dtype = dt;
    op->out[0].shape = graft_shape_make(4, dims4);
    return GRAFT_OK;
}


/* Re-raises an attr/shape error found by a shared checker as a kernel error. */
static graft_code kpass(graftI_kctx *k, const graft_status *st)
{
    return graftI_kfail(k, st->code, "%s", st->msg);
}

/* ---- window attrs and TF's output-size arithmetic ----------------------------- */

typedef struct win {
    int64_t kh, kw; /* window (pooling ksize; conv takes it from the filter) */
    int64_t sh, sw; /* strides */
    bool same;      /* SAME, else VALID */
} win;

/* Reads strides (and ksize when pool), padding, data_format, dilations. */
static graft_code parse_win(const graft_op *op, bool pool, win *w, graft_status *st)
{
    const int64_t *v;
    int n = graftI_attr_ilist(op, "strides", &v);
    if (n != 4)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "attr strides: must have 4 elements (4 vs %d)", n);
    if (v[0] != 1 || v[3] != 1)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                "attr strides: striding the batch or depth dimension is not supported "
                                "([1,sh,sw,1] vs [%lld,%lld,%lld,%lld])",
                                (long long)v[0], (long long)v[1], (long long)v[2], (long long)v[3]);
    if (v[1] < 1 || v[2] < 1)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                "attr strides: must be positive (vs [1,%lld,%lld,1])", (long long)v[1],
                                (long long)v[2]);
    w->sh = v[1];
    w->sw = v[2];
    w->kh = w->kw = 1;
    if (pool) {
        n = graftI_attr_ilist(op, "ksize", &v);
        if (n != 4)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "attr ksize: must have 4 elements (4 vs %d)",
                                    n);
        if (v[0] != 1 || v[3] != 1)
            return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                    "attr ksize: pooling over the batch or depth dimension is not supported "
                                    "([1,kh,kw,1] vs [%lld,%lld,%lld,%lld])",
                                    (long long)v[0], (long long)v[1], (long long)v[2], (long long)v[3]);
        if (v[1] < 1 || v[2] < 1)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                    "attr ksize: must be positive (vs [1,%lld,%lld,1])", (long long)v[1],
                                    (long long)v[2]);
        w->kh = v[1];
        w->kw = v[2];
    }
    const char *p = graftI_attr_s(op, "padding", "");
    if (strcmp(p, "SAME") == 0)
        w->same = true;
    else if (strcmp(p, "VALID") == 0)
        w->same = false;
    else
        return graft_status_set(st,
                                strcmp(p, "EXPLICIT") == 0 ? GRAFT_ERR_UNSUPPORTED : GRAFT_ERR_INVALID_ARG,
                                "attr padding: unsupported padding (SAME or VALID vs \"%s\")", p);
    const char *f = graftI_attr_s(op, "data_format", "NHWC");
    if (strcmp(f, "NHWC") != 0)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                "attr data_format: only NHWC is supported (NHWC vs %s)", f);
    n = graftI_attr_ilist(op, "dilations", &v);
    if (n >= 0) {
        if (n != 4)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                    "attr dilations: must have 4 elements (4 vs %d)", n);
        for (int i = 0; i < 4; i++)
            if (v[i] != 1)
                return graft_status_set(
                    st, GRAFT_ERR_UNSUPPORTED,
                    "attr dilations: only [1,1,1,1] is supported (vs [%lld,%lld,%lld,%lld])", (long long)v[0],
                    (long long)v[1], (long long)v[2], (long long)v[3]);
    }
    return GRAFT_OK;
}

/* TF's GetWindowedOutputSize: SAME: out = ceil(in/s), total pad =
 * max(0, (out-1)s + k - in), pad_before = floor(total/2) (the extra pixel goes
 * after); VALID: out = (in - k + s)/s, no padding. in < 0 (unknown) gives -1. */
static graft_code out_size(int64_t in, int64_t k, int64_t s, bool same, int64_t *out, int64_t *pad,
                           const char *what, graft_status *st)
{
    *pad = 0;
    if (in < 0) {
        *out = -1;
        return GRAFT_OK;
    }
    if (same) {
        *out = (in + s - 1) / s;
        int64_t total = (*out - 1) * s + k - in;
        if (total < 0) total = 0;
        *pad = total / 2;
        return GRAFT_OK;
    }
    if (in < k)
        return graft_status_set(st, GRAFT_ERR_SHAPE,
                                "%s: VALID window larger than the input (at most %lld vs %lld)", what,
                                (long long)in, (long long)k);
    *out = (in - k + s) / s;
    return GRAFT_OK;
}

/* Full geometry of one convolution or pooling. */
typedef struct geo {
    int64_t n, ih, iw, c;   /* input [n, ih, iw, c] */
    int64_t kh, kw, oc;     /* window; conv filter [kh, kw, c, oc] */
    int64_t oh, ow;         /* output [n, oh, ow, oc (conv) or c (pool)] */
    int64_t sh, sw, pt, pl; /* strides, top/left padding */
} geo;

static graft_code make_geo(const win *w, const int64_t *in4, int64_t kh, int64_t kw, int64_t oc, geo *gm,
                           graft_status *st)
{
    gm->n = in4[0];
    gm->ih = in4[1];
    gm->iw = in4[2];
    gm->c = in4[3];
    gm->kh = kh;
    gm->kw = kw;
    gm->oc = oc;
    gm->sh = w->sh;
    gm->sw = w->sw;
    graft_code rc = out_size(gm->ih, kh, w->sh, w->same, &gm->oh, &gm->pt, "input rows", st);
    if (rc) return rc;
    return out_size(gm->iw, kw, w->sw, w->same, &gm->ow, &gm->pl, "input columns", st);
}

/* Copies the named attrs of op (that it has) for a gradient op. */
static int copy_attrs(const graft_op *op, const char *const *names, graftI_attr *out)
{
    int n = 0;
    for (int i = 0; names[i]; i++) {
        const graftI_attr *a = graftI_op_attr(op, names[i]);
        if (a) out[n++] = *a;
    }
    return n;
}

/* The shape of x as an int32 vector: a Const when fully known statically
 * (keeps downstream shapes static), else a Shape op. */
static graft_out shape_vec(graft_graph *g, graft_out x)
{
    if (!x.op) return x;
    graft_shape s = graft_out_shape(x);
    if (graftI_shape_known(&s)) {
        int32_t v[GRAFT_MAX_DIMS];
        bool fits = true;
        for (int i = 0; i < s.rank; i++) {
            if (s.dims[i] > INT32_MAX) fits = false;
            v[i] = (int32_t)s.dims[i];
        }
        if (fits) return graft_const_i32_vec(g, v, s.rank);
    }
    return graft_shape_of(g, x);
}

/* Reads a 4-element int32/int64 shape input into d. */
static graft_code read_shape4(const graft_tensor *t, int64_t *d, const char *what, graft_status *st)
{
    if ((t->dtype != GRAFT_INT32 && t->dtype != GRAFT_INT64) || t->rank != 1 || t->n != 4)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                "%s: must be a 4-element int32 vector (vs %s of %lld)", what,
                                dtname(t->dtype), (long long)t->n);
    for (int i = 0; i < 4; i++) {
        d[i] = t->dtype == GRAFT_INT32 ? ((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
        if (d[i] < 0)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s[%d]: negative dimension (>= 0 vs %lld)",
                                    what, i, (long long)d[i]);
    }
    return GRAFT_OK;
}

/* Static value of a 4-element shape input given as a Const, or false. */
static bool const_shape4(const graft_op *op, int i, int64_t *d)
{
    const graft_tensor *t = graftI_const_input(op, i);
    graft_status st;
    return t && read_shape4(t, d, "shape", &st) == GRAFT_OK;
}

/* ---- gemm and im2col ------------------------------------------------------------ */


/* True when the conv is a plain [rows, c] x [c, oc] product of the input. */
static bool conv_is_1x1(const geo *gm) { return gm->kh == 1 && gm->kw == 1 && gm->sh == 1 && gm->sw == 1; }

/* The window of output row r (r = (n·oh + y)·ow + x): input origin and the
 * range of filter taps [j0, j1) along w that land inside the input. */
static void row_origin(const geo *gm, int64_t r, int64_t *n, int64_t *h0, int64_t *w0, int64_t *j0,
                       int64_t *j1)
{
    int64_t x = r % gm->ow, t = r / gm->ow;
    int64_t y = t % gm->oh;
    *n = t / gm->oh;
    *h0 = y * gm->sh - gm->pt;
    *w0 = x * gm->sw - gm->pl;
    *j0 = *w0 < 0 ? -*w0 : 0;
    *j1 = gm->iw - *w0 < gm->kw ? gm->iw - *w0 : gm->kw;
    if (*j1 < *j0) *j1 = *j0;
}

/* cols[r - r0][(i·kw + j)·c + ch] = input[n, h0+i, w0+j, ch] (0 in the padding).
 * Each filter row i is one contiguous run of input memory. */
static void im2col(const geo *gm, const char *in, char *cols, int64_t r0, int64_t cnt, size_t esz)
{
    size_t run = (size_t)gm->c * esz, krow = (size_t)gm->kw * run;
    for (int64_t r = r0; r < r0 + cnt; r++) {
        int64_t n, h0, w0, j0, j1;
        row_origin(gm, r, &n, &h0, &w0, &j0, &j1);
        char *dst = cols + (size_t)(r - r0) * (size_t)gm->kh * krow;
        for (int64_t i = 0; i < gm->kh; i++, dst += krow) {
            int64_t h = h0 + i;
            if (h < 0 || h >= gm->ih || j0 >= j1) {
                memset(dst, 0, krow);
                continue;
            }
            if (j0 > 0) memset(dst, 0, (size_t)j0 * run);
            const char *src = in + (size_t)(((n * gm->ih + h) * gm->iw + w0 + j0) * gm->c) * esz;
            memcpy(dst + (size_t)j0 * run, src, (size_t)(j1 - j0) * run);
            if (j1 < gm->kw) memset(dst + (size_t)j1 * run, 0, (size_t)(gm->kw - j1) * run);
        }
    }
}

static void add_run(void *dst, const void *src, int64_t n, bool f64)
{
    if (f64) {
        double *d = dst;
        const double *s = src;
        for (int64_t i = 0; i < n; i++) d[i] += s[i];
    } else {
        float *d = dst;
        const float *s = src;
        for (int64_t i = 0; i < n; i++) d[i] += s[i];
    }
}

/* The adjoint of im2col: adds each column entry back into its input cell. */
static void col2im_add(const geo *gm, const char *cols, char *out, int64_t r0, int64_t cnt, size_t esz,
                       bool f64)
{
    size_t run = (size_t)gm->c * esz, krow = (size_t)gm->kw * run;
    for (int64_t r = r0; r < r0 + cnt; r++) {
        int64_t n, h0, w0, j0, j1;
        row_origin(gm, r, &n, &h0, &w0, &j0, &j1);
        const char *src = cols + (size_t)(r - r0) * (size_t)gm->kh * krow;
        for (int64_t i = 0; i < gm->kh; i++, src += krow) {
            int64_t h = h0 + i;
            if (h < 0 || h >= gm->ih || j0 >= j1) continue;
            char *dst = out + (size_t)(((n * gm->ih + h) * gm->iw + w0 + j0) * gm->c) * esz;
            add_run(dst, src + (size_t)j0 * run, (j1 - j0) * gm->c, f64);
        }
    }
}

/* Rows per chunk so that cnt·k elements fit the scratch budget (>= 1). */
static int64_t chunk_rows(int64_t rows, int64_t k, size_t esz)
{
    int64_t per = (int64_t)(CONV_SCRATCH_BYTES / ((size_t)(k ? k : 1) * esz));
    if (per < 1) per = 1;
    if (per > rows) per = rows;
    if (per > INT_MAX / 2) per = INT_MAX / 2;
    return per;
}

/* Checks sizes for the BLAS int interface: rows·k per chunk is bounded by the
 * scratch, but k, oc and the channel count go to BLAS as ints. */
static graft_code conv_check_sizes(graftI_kctx *k, const geo *gm, int64_t *kdim)
{
    int64_t kk;
    if (!graftI_mul_i64(gm->kh, gm->kw, &kk) || !graftI_mul_i64(kk, gm->c, &kk) || kk > INT_MAX / 2 ||
        gm->oc > INT_MAX || gm->c > INT_MAX)
        return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED,
                            "filter: too large for the BLAS int interface (kh*kw*c %lld)",
                            (long long)gm->kh * gm->kw * gm->c);
    *kdim = kk;
    return GRAFT_OK;
}

/* ---- Conv2D ------------------------------------------------------------------------- */

static const graftI_attr_spec conv_attrs[] = {{"T", GRAFTI_ATTR_TYPE, "float"},
                                              {"strides", GRAFTI_ATTR_LIST_INT, NULL},
                                              {"use_cudnn_on_gpu", GRAFTI_ATTR_BOOL, "true"},
                                              {"padding", GRAFTI_ATTR_STRING, NULL},
                                              {"explicit_paddings", GRAFTI_ATTR_LIST_INT, "[]"},
                                              {"data_format", GRAFTI_ATTR_STRING, "NHWC"},
                                              {"dilations", GRAFTI_ATTR_LIST_INT, "[1,1,1,1]"},
                                              {NULL, GRAFTI_ATTR_NONE, NULL}};

static const char *const conv_attr_names[] = {
    "T", "strides", "use_cudnn_on_gpu", "padding", "explicit_paddings", "data_format", "dilations", NULL};

static graft_code conv_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    win w;
    if ((rc = want_float(op, 0, "input", st)) || (rc = want_same_dtype(op, 0, 1, "input", "filter", st)) ||
        (rc = parse_win(op, false, &w, st)))
        return rc;
    const graft_shape *x = graftI_in_shape(op, 0), *f = graftI_in_shape(op, 1);
    if ((rc = want_rank4(x, "input", st)) || (rc = want_rank4(f, "filter", st))) return rc;
    int64_t c = sdim(x, 3), fc = sdim(f, 2);
    if (c >= 0 && fc >= 0 && c != fc)
        return graft_status_set(st, GRAFT_ERR_SHAPE,
                                "filter: in-channels differ from input depth (%lld vs %lld)", (long long)c,
                                (long long)fc);
    int64_t oh = -1, ow = -1, pad;
    if (sdim(f, 0) >= 0 && (rc = out_size(sdim(x, 1), sdim(f, 0), w.sh, w.same, &oh, &pad, "input rows", st)))
        return rc;
    if (sdim(f, 1) >= 0 &&
        (rc = out_size(sdim(x, 2), sdim(f, 1), w.sw, w.same, &ow, &pad, "input columns", st)))
        return rc;
    if (sdim(f, 0) < 0) oh = -1;
    if (sdim(f, 1) < 0) ow = -1;
    int64_t d[4] = {sdim(x, 0), oh, ow, sdim(f, 3)};
    return set_out(op, graftI_in_dtype(op, 0), d, st);
}

static graft_code conv_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0], *f = k->in[1];
    graft_status st;
    win w;
    if (parse_win(k->op, false, &w, &st)) return kpass(k, &st);
    if (x->dtype != f->dtype || !is_float(x->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE,
                            "input and filter: float32 or float64 of one dtype (vs %s and %s)",
                            dtname(x->dtype), dtname(f->dtype));
    if (x->rank != 4 || f->rank != 4)
        return graftI_kfail(k, GRAFT_ERR_SHAPE,
                            "input and filter: must be 4-dimensional (vs ranks %d and %d)", x->rank, f->rank);
    if (f->dims[2] != x->dims[3])
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "filter: in-channels differ from input depth (%lld vs %lld)",
                            (long long)x->dims[3], (long long)f->dims[2]);
    geo gm;
    if (make_geo(&w, x->dims, f->dims[0], f->dims[1], f->dims[3], &gm, &st)) return kpass(k, &st);
    int64_t kk;
    graft_code rc = conv_check_sizes(k, &gm, &kk);
    if (rc) return rc;
    int64_t d[4] = {gm.n, gm.oh, gm.ow, gm.oc};
    graft_tensor *y = graftI_out_alloc(k, 0, x->dtype, d, 4, false);
    if (!y) return knomem(k);
    bool f64 = x->dtype == GRAFT_DOUBLE;
    size_t esz = f64 ? 8 : 4;
    int64_t rows = gm.n * gm.oh * gm.ow;
    if (rows == 0 || gm.oc == 0) return GRAFT_OK;
    bool direct = conv_is_1x1(&gm);
    int64_t per = direct ? (rows < INT_MAX / 2 ? rows : INT_MAX / 2) : chunk_rows(rows, kk, esz);
    char *cols = NULL;
    if (!direct && !(cols = graftI_scratch(k, (size_t)per * (size_t)kk * esz))) return knomem(k);
    /* out[rows, oc] = cols[rows, kh·kw·c] · filter[kh·kw·c, oc]: HWIO is already
     * the row-major [K, oc] matrix. */
    for (int64_t r0 = 0; r0 < rows; r0 += per) {
        int64_t cnt = rows - r0 < per ? rows - r0 : per;
        const char *a;
        if (direct) {
            a = (const char *)x->data + (size_t)r0 * (size_t)kk * esz;
        } else {
            im2col(&gm, x->data, cols, r0, cnt, esz);
            a = cols;
        }
        gemm(f64, false, false, (int)cnt, (int)gm.oc, (int)kk, 1.0, a, (int)(kk ? kk : 1), f->data,
             (int)gm.oc, 0.0, (char *)y->data + (size_t)r0 * (size_t)gm.oc * esz, (int)gm.oc);
    }
    return GRAFT_OK;
}

/* The gradients of Conv2D are TF's two backprop ops with the same attrs. */
static graft_code conv_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graftI_attr at[8];
    int na = copy_attrs(op, conv_attr_names, at);
    graft_out in_x[3] = {shape_vec(g, op->in[0]), op->in[1], dy[0]};
    dx[0] = graftI_o(graftI_make_op(g, "Conv2DBackpropInput", "Conv2DBackpropInput", in_x, 3, at, na), 0);
    graft_out in_f[3] = {op->in[0], shape_vec(g, op->in[1]), dy[0]};
    dx[1] = graftI_o(graftI_make_op(g, "Conv2DBackpropFilter", "Conv2DBackpropFilter", in_f, 3, at, na), 0);
    return graft_graph_status(g);
}

static const graftI_op_def op_conv2d = {.name = "Conv2D",
                                        .min_inputs = 2,
                                        .max_inputs = 2,
                                        .attrs = conv_attrs,
                                        .infer = conv_infer,
                                        .forward = conv_forward,
                                        .grad = conv_grad};

graft_out graft_conv2d(graft_graph *g, graft_out x, graft_out filter, int stride_h, int stride_w,
                       graft_padding pad)
{
    graft_out in[2] = {x, filter};
    int64_t s[4] = {1, stride_h, stride_w, 1};
    graftI_attr at[4] = {graftI_a_type("T", out_dt(x)), graftI_a_ilist("strides", s, 4),
                         graftI_a_str("padding", pad == GRAFT_PAD_SAME ? "SAME" : "VALID"),
                         graftI_a_str("data_format", "NHWC")};
    return graftI_o(graftI_make_op(g, "Conv2D", "Conv2D", in, 2, at, 4), 0);
}

/* ---- Conv2DBackpropInput(input_sizes, filter, out_backprop) ------------------------- */

static graft_code want_int_vec(const graft_op *op, int i, const char *what, graft_status *st)
{
    graft_dtype dt = graftI_in_dtype(op, i);
    if (dt != GRAFT_INT32 && dt != GRAFT_INT64)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "%s: must be int32 (vs %s)", what, dtname(dt));
    const graft_shape *s = graftI_in_shape(op, i);
    if (s->rank >= 0 && (s->rank != 1 || (s->dims[0] >= 0 && s->dims[0] != 4)))
        return graft_status_set(st, GRAFT_ERR_SHAPE, "%s: must be a 4-element vector", what);
    return GRAFT_OK;
}

static graft_code conv_bi_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    win w;
    if ((rc = want_int_vec(op, 0, "input_sizes", st)) || (rc = want_float(op, 1, "filter", st)) ||
        (rc = want_same_dtype(op, 1, 2, "filter", "out_backprop", st)) || (rc = parse_win(op, false, &w, st)))
        return rc;
    const graft_shape *f = graftI_in_shape(op, 1), *dy = graftI_in_shape(op, 2);
    if ((rc = want_rank4(f, "filter", st)) || (rc = want_rank4(dy, "out_backprop", st))) return rc;
    int64_t d[4];
    if (!const_shape4(op, 0, d)) {
        d[0] = sdim(dy, 0);
        d[1] = d[2] = -1;
        d[3] = sdim(f, 2);
    }
    return set_out(op, graftI_in_dtype(op, 1), d, st);
}

/* Validates the out_backprop shape against the geometry (TF checks this too). */
static graft_code check_dy(graftI_kctx *k, const geo *gm, const graft_tensor *dy)
{
    if (dy->rank != 4 || dy->dims[0] != gm->n || dy->dims[1] != gm->oh || dy->dims[2] != gm->ow ||
        dy->dims[3] != gm->oc)
        return graftI_kfail(
            k, GRAFT_ERR_SHAPE,
            "out_backprop: shape differs from the forward output ([%lld,%lld,%lld,%lld] vs rank %d "
            "[%lld,%lld,%lld,%lld])",
            (long long)gm->n, (long long)gm->oh, (long long)gm->ow, (long long)gm->oc, dy->rank,
            (long long)(dy->rank > 0 ? dy->dims[0] : -1), (long long)(dy->rank > 1 ? dy->dims[1] : -1),
            (long long)(dy->rank > 2 ? dy->dims[2] : -1), (long long)(dy->rank > 3 ? dy->dims[3] : -1));
    return GRAFT_OK;
}

static graft_code conv_bi_forward(graftI_kctx *k)
{
    const graft_tensor *f = k->in[1], *dy = k->in[2];
    graft_status st;
    win w;
    int64_t xd[4];
    if (parse_win(k->op, false, &w, &st) || read_shape4(k->in[0], xd, "input_sizes", &st))
        return kpass(k, &st);
    if (f->dtype != dy->dtype || !is_float(f->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE,
                            "filter and out_backprop: float32 or float64 of one dtype (vs %s and %s)",
                            dtname(f->dtype), dtname(dy->dtype));
    if (f->rank != 4)
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "filter: must be 4-dimensional (vs rank %d)", f->rank);
    if (f->dims[2] != xd[3])
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "filter: in-channels differ from input depth (%lld vs %lld)",
                            (long long)xd[3], (long long)f->dims[2]);
    geo gm;
    if (make_geo(&w, xd, f->dims[0], f->dims[1], f->dims[3], &gm, &st)) return kpass(k, &st);
    graft_code rc;
    int64_t kk;
    if ((rc = check_dy(k, &gm, dy)) || (rc = conv_check_sizes(k, &gm, &kk))) return rc;
    bool f64 = f->dtype == GRAFT_DOUBLE;
    size_t esz = f64 ? 8 : 4;
    int64_t rows = gm.n * gm.oh * gm.ow;
    bool direct = conv_is_1x1(&gm);
    graft_tensor *dx = graftI_out_alloc(k, 0, f->dtype, xd, 4, !direct || rows == 0 || gm.oc == 0);
    if (!dx) return knomem(k);
    if (rows == 0 || gm.oc == 0) return GRAFT_OK;
    int64_t per = direct ? (rows < INT_MAX / 2 ? rows : INT_MAX / 2) : chunk_rows(rows, kk, esz);
    char *cols = NULL;
    if (!direct && !(cols = graftI_scratch(k, (size_t)per * (size_t)kk * esz))) return knomem(k);
    /* dcols[rows, K] = dy[rows, oc] · filterᵀ; then each column entry is added
     * back into the input cell it was copied from (col2im). */
    for (int64_t r0 = 0; r0 < rows; r0 += per) {
        int64_t cnt = rows - r0 < per ? rows - r0 : per;
        const char *a = (const char *)dy->data + (size_t)r0 * (size_t)gm.oc * esz;
        char *c = direct ? (char *)dx->data + (size_t)r0 * (size_t)kk * esz : cols;
        gemm(f64, false, true, (int)cnt, (int)kk, (int)gm.oc, 1.0, a, (int)gm.oc, f->data, (int)gm.oc, 0.0, c,
             (int)(kk ? kk : 1));
        if (!direct) col2im_add(&gm, cols, dx->data, r0, cnt, esz, f64);
    }
    return GRAFT_OK;
}

/* ---- Conv2DBackpropFilter(input, filter_sizes, out_backprop) ------------------------ */

static graft_code conv_bf_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    win w;
    if ((rc = want_float(op, 0, "input", st)) || (rc = want_int_vec(op, 1, "filter_sizes", st)) ||
        (rc = want_same_dtype(op, 0, 2, "input", "out_backprop", st)) || (rc = parse_win(op, false, &w, st)))
        return rc;
    const graft_shape *x = graftI_in_shape(op, 0), *dy = graftI_in_shape(op, 2);
    if ((rc = want_rank4(x, "input", st)) || (rc = want_rank4(dy, "out_backprop", st))) return rc;
    int64_t d[4];
    if (!const_shape4(op, 1, d)) {
        d[0] = d[1] = -1;
        d[2] = sdim(x, 3);
        d[3] = sdim(dy, 3);
    }
    return set_out(op, graftI_in_dtype(op, 0), d, st);
}

static graft_code conv_bf_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0], *dy = k->in[2];
    graft_status st;
    win w;
    int64_t fd[4];
    if (parse_win(k->op, false, &w, &st) || read_shape4(k->in[1], fd, "filter_sizes", &st))
        return kpass(k, &st);
    if (x->dtype != dy->dtype || !is_float(x->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE,
                            "input and out_backprop: float32 or float64 of one dtype (vs %s and %s)",
                            dtname(x->dtype), dtname(dy->dtype));
    if (x->rank != 4)
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "input: must be 4-dimensional (vs rank %d)", x->rank);
    if (fd[2] != x->dims[3])
        return graftI_kfail(k, GRAFT_ERR_SHAPE,
                            "filter_sizes: in-channels differ from input depth (%lld vs %lld)",
                            (long long)x->dims[3], (long long)fd[2]);
    geo gm;
    if (make_geo(&w, x->dims, fd[0], fd[1], fd[3], &gm, &st)) return kpass(k, &st);
    graft_code rc;
    int64_t kk;
    if ((rc = check_dy(k, &gm, dy)) || (rc = conv_check_sizes(k, &gm, &kk))) return rc;
    bool f64 = x->dtype == GRAFT_DOUBLE;
    size_t esz = f64 ? 8 : 4;
    int64_t rows = gm.n * gm.oh * gm.ow;
    graft_tensor *df = graftI_out_alloc(k, 0, x->dtype, fd, 4, rows == 0);
    if (!df) return knomem(k);
    if (rows == 0 || gm.oc == 0 || kk == 0) return GRAFT_OK;
    bool direct = conv_is_1x1(&gm);
    int64_t per = direct ? (rows < INT_MAX / 2 ? rows : INT_MAX / 2) : chunk_rows(rows, kk, esz);
    char *cols = NULL;
    if (!direct && !(cols = graftI_scratch(k, (size_t)per * (size_t)kk * esz))) return knomem(k);
    /* dfilter[K, oc] = Σ over row chunks colsᵀ[K, cnt] · dy[cnt, oc]. */
    for (int64_t r0 = 0; r0 < rows; r0 += per) {
        int64_t cnt = rows - r0 < per ? rows - r0 : per;
        const char *a;
        if (direct) {
            a = (const char *)x->data + (size_t)r0 * (size_t)kk * esz;
        } else {
            im2col(&gm, x->data, cols, r0, cnt, esz);
            a = cols;
        }
        gemm(f64, true, false, (int)kk, (int)gm.oc, (int)cnt, 1.0, a, (int)kk,
             (const char *)dy->data + (size_t)r0 * (size_t)gm.oc * esz, (int)gm.oc, r0 == 0 ? 0.0 : 1.0,
             df->data, (int)gm.oc);
    }
    return GRAFT_OK;
}

/* The backprop ops have no gradient of their own here (grad NULL: a path that
 * needs one is reported by autodiff); their shape inputs are integers. */
static const graftI_op_def op_conv_bi = {.name = "Conv2DBackpropInput",
                                         .min_inputs = 3,
                                         .max_inputs = 3,
                                         .attrs = conv_attrs,
                                         .infer = conv_bi_infer,
                                         .forward = conv_bi_forward};
static const graftI_op_def op_conv_bf = {.name = "Conv2DBackpropFilter",
                                         .min_inputs = 3,
                                         .max_inputs = 3,
                                         .attrs = conv_attrs,
                                         .infer = conv_bf_infer,
                                         .forward = conv_bf_forward};

/* ---- pooling ----------------------------------------------------------------------- */

static const graftI_attr_spec pool_attrs[] = {{"T", GRAFTI_ATTR_TYPE, "float"},
                                              {"ksize", GRAFTI_ATTR_LIST_INT, NULL},
                                              {"strides", GRAFTI_ATTR_LIST_INT, NULL},
                                              {"padding", GRAFTI_ATTR_STRING, NULL},
                                              {"data_format", GRAFTI_ATTR_STRING, "NHWC"},
                                              {NULL, GRAFTI_ATTR_NONE, NULL}};

static const char *const pool_attr_names[] = {"T", "ksize", "strides", "padding", "data_format", NULL};

static graft_code pool_out_shape(const graft_op *op, int xi, const win *w, int64_t *d, graft_status *st)
{
    const graft_shape *x = graftI_in_shape(op, xi);
    graft_code rc;
    int64_t pad;
    if ((rc = want_rank4(x, "input", st))) return rc;
    d[0] = sdim(x, 0);
    d[3] = sdim(x, 3);
    if ((rc = out_size(sdim(x, 1), w->kh, w->sh, w->same, &d[1], &pad, "input rows", st)) ||
        (rc = out_size(sdim(x, 2), w->kw, w->sw, w->same, &d[2], &pad, "input columns", st)))
        return rc;
    return GRAFT_OK;
}

static graft_code pool_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    win w;
    int64_t d[4];
    if ((rc = want_float(op, 0, "input", st)) || (rc = parse_win(op, true, &w, st)) ||
        (rc = pool_out_shape(op, 0, &w, d, st)))
        return rc;
    return set_out(op, graftI_in_dtype(op, 0), d, st);
}

/* Window of output (y, x) clipped to the input: rows [h0, h1), cols [w0, w1). */
static void pool_window(const geo *gm, int64_t y, int64_t x, int64_t *h0, int64_t *h1, int64_t *w0,
                        int64_t *w1)
{
    int64_t hs = y * gm->sh - gm->pt, ws = x * gm->sw - gm->pl;
    *h0 = hs < 0 ? 0 : hs;
    *h1 = hs + gm->kh < gm->ih ? hs + gm->kh : gm->ih;
    *w0 = ws < 0 ? 0 : ws;
    *w1 = ws + gm->kw < gm->iw ? ws + gm->kw : gm->iw;
}

/* MaxPool: padded cells never take part; cells are scanned row-major and a
 * cell replaces the max only when strictly greater (TF's CPU kernel), so the
 * first maximum wins. An empty window (cannot happen with SAME/VALID) gives -inf. */
#define MAXPOOL_FWD(T)                                                                                       \
    do {                                                                                                     \
        const T *xp = (const T *)x->data;                                                                    \
        T *yp = (T *)y->data;                                                                                \
        for (int64_t n = 0; n < gm.n; n++)                                                                   \
            for (int64_t oy = 0; oy < gm.oh; oy++)                                                           \
                for (int64_t ox = 0; ox < gm.ow; ox++) {                                                     \
                    T *yr = yp + ((n * gm.oh + oy) * gm.ow + ox) * c;                                        \
                    int64_t h0, h1, w0, w1;                                                                  \
                    pool_window(&gm, oy, ox, &h0, &h1, &w0, &w1);                                            \
                    bool first = true;                                                                       \
                    for (int64_t h = h0; h < h1; h++)                                                        \
                        for (int64_t ww = w0; ww < w1; ww++) {                                               \
                            const T *xr = xp + ((n * gm.ih + h) * gm.iw + ww) * c;                           \
                            if (first) {                                                                     \
                                memcpy(yr, xr, (size_t)c * sizeof(T));                                       \
                                first = false;                                                               \
                            } else {                                                                         \
                                for (int64_t ch = 0; ch < c; ch++)                                           \
                                    if (xr[ch] > yr[ch]) yr[ch] = xr[ch];                                    \
                            }                                                                                \
                        }                                                                                    \
                    if (first)                                                                               \
                        for (int64_t ch = 0; ch < c; ch++) yr[ch] = (T)-INFINITY;                            \
                }                                                                                            \
    } while (0)

static graft_code pool_setup(graftI_kctx *k, const graft_tensor *x, geo *gm)
{
    graft_status st;
    win w;
    if (parse_win(k->op, true, &w, &st)) return kpass(k, &st);
    if (!is_float(x->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE, "input: float32 or float64 (vs %s)", dtname(x->dtype));
    if (x->rank != 4)
        return graftI_kfail(k, GRAFT_ERR_SHAPE, "input: must be 4-dimensional (vs rank %d)", x->rank);
    if (make_geo(&w, x->dims, w.kh, w.kw, x->dims[3], gm, &st)) return kpass(k, &st);
    return GRAFT_OK;
}

static graft_code max_pool_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    geo gm;
    graft_code rc = pool_setup(k, x, &gm);
    if (rc) return rc;
    int64_t d[4] = {gm.n, gm.oh, gm.ow, gm.c}, c = gm.c;
    graft_tensor *y = graftI_out_alloc(k, 0, x->dtype, d, 4, false);
    if (!y) return knomem(k);
    if (x->dtype == GRAFT_DOUBLE)
        MAXPOOL_FWD(double);
    else
        MAXPOOL_FWD(float);
    return GRAFT_OK;
}

/* AvgPool: the mean over the real cells of each window (SAME divides by the
 * count of real cells, not by kh·kw). */
#define AVGPOOL_FWD(T)                                                                                       \
    do {                                                                                                     \
        const T *xp = (const T *)x->data;                                                                    \
        T *yp = (T *)y->data;                                                                                \
        for (int64_t n = 0; n < gm.n; n++)                                                                   \
            for (int64_t oy = 0; oy < gm.oh; oy++)                                                           \
                for (int64_t ox = 0; ox < gm.ow; ox++) {                                                     \
                    T *yr = yp + ((n * gm.oh + oy) * gm.ow + ox) * c;                                        \
                    int64_t h0, h1, w0, w1;                                                                  \
                    pool_window(&gm, oy, ox, &h0, &h1, &w0, &w1);                                            \
                    memset(yr, 0, (size_t)c * sizeof(T));                                                    \
                    for (int64_t h = h0; h < h1; h++)                                                        \
                        for (int64_t ww = w0; ww < w1; ww++) {                                               \
                            const T *xr = xp + ((n * gm.ih + h) * gm.iw + ww) * c;                           \
                            for (int64_t ch = 0; ch < c; ch++) yr[ch] += xr[ch];                             \
                        }                                                                                    \
                    int64_t cnt = (h1 - h0) * (w1 - w0);                                                     \
                    T inv = cnt > 0 ? (T)1 / (T)cnt : (T)0;                                                  \
                    for (int64_t ch = 0; ch < c; ch++) yr[ch] *= inv;                                        \
                }                                                                                            \
    } while (0)

static graft_code avg_pool_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0];
    geo gm;
    graft_code rc = pool_setup(k, x, &gm);
    if (rc) return rc;
    int64_t d[4] = {gm.n, gm.oh, gm.ow, gm.c}, c = gm.c;
    graft_tensor *y = graftI_out_alloc(k, 0, x->dtype, d, 4, false);
    if (!y) return knomem(k);
    if (x->dtype == GRAFT_DOUBLE)
        AVGPOOL_FWD(double);
    else
        AVGPOOL_FWD(float);
    return GRAFT_OK;
}

/* MaxPoolGrad(orig_input, orig_output, grad): each window's whole gradient goes
 * to its first maximum in row-major order, recomputed from orig_input as TF's
 * CPU kernel does (ties are not split). best/arg are per-channel scratch. */
#define MAXPOOL_BWD(T)                                                                                       \
    do {                                                                                                     \
        const T *xp = (const T *)x->data, *gp = (const T *)gr->data;                                         \
        T *dp = (T *)dx->data;                                                                               \
        int64_t *arg = (int64_t *)scratch; /* int64s first: aligned for both */                              \
        T *best = (T *)((char *)scratch + (size_t)c * sizeof(int64_t));                                      \
        for (int64_t n = 0; n < gm.n; n++)                                                                   \
            for (int64_t oy = 0; oy < gm.oh; oy++)                                                           \
                for (int64_t ox = 0; ox < gm.ow; ox++) {                                                     \
                    int64_t h0, h1, w0, w1;                                                                  \
                    pool_window(&gm, oy, ox, &h0, &h1, &w0, &w1);                                            \
                    if (h0 >= h1 || w0 >= w1) continue;                                                      \
                    bool first = true;                                                                       \
                    for (int64_t h = h0; h < h1; h++)                                                        \
                        for (int64_t ww = w0; ww < w1; ww++) {                                               \
                            int64_t base = ((n * gm.ih + h) * gm.iw + ww) * c;                               \
                            const T *xr = xp + base;                                                         \
                            if (first) {                                                                     \
                                for (int64_t ch = 0; ch < c; ch++) {                                         \
                                    best[ch] = xr[ch];                                                       \
                                    arg[ch] = base + ch;                                                     \
                                }                                                                            \
                                first = false;                                                               \
                            } else {                                                                         \
                                for (int64_t ch = 0; ch < c; ch++)                                           \
                                    if (xr[ch] > best[ch]) {                                                 \
                                        best[ch] = xr[ch];                                                   \
                                        arg[ch] = base + ch;                                                 \
                                    }                                                                        \
                            }                                                                                \
                        }                                                                                    \
                    const T *gr_ = gp + ((n * gm.oh + oy) * gm.ow + ox) * c;                                 \
                    for (int64_t ch = 0; ch < c; ch++) dp[arg[ch]] += gr_[ch];                               \
                }                                                                                            \
    } while (0)

static graft_code check_pool_grad(graftI_kctx *k, const geo *gm, const graft_tensor *gr, const char *what)
{
    if (gr->rank != 4 || gr->dims[0] != gm->n || gr->dims[1] != gm->oh || gr->dims[2] != gm->ow ||
        gr->dims[3] != gm->c)
        return graftI_kfail(
            k, GRAFT_ERR_SHAPE, "%s: shape differs from the pooled output ([%lld,%lld,%lld,%lld] vs rank %d)",
            what, (long long)gm->n, (long long)gm->oh, (long long)gm->ow, (long long)gm->c, gr->rank);
    return GRAFT_OK;
}

static graft_code max_pool_grad_forward(graftI_kctx *k)
{
    const graft_tensor *x = k->in[0], *yo = k->in[1], *gr = k->in[2];
    geo gm;
    graft_code rc = pool_setup(k, x, &gm);
    if (rc) return rc;
    if (yo->dtype != x->dtype || gr->dtype != x->dtype)
        return graftI_kfail(k, GRAFT_ERR_DTYPE,
                            "orig_output and grad: dtype differs from orig_input's (%s vs %s and %s)",
                            dtname(x->dtype), dtname(yo->dtype), dtname(gr->dtype));
    if ((rc = check_pool_grad(k, &gm, yo, "orig_output")) || (rc = check_pool_grad(k, &gm, gr, "grad")))
        return rc;
    int64_t c = gm.c;
    graft_tensor *dx = graftI_out_alloc(k, 0, x->dtype, x->dims, 4, true);
    if (!dx) return knomem(k);
    size_t esz = x->dtype == GRAFT_DOUBLE ? 8 : 4;
    void *scratch = graftI_scratch(k, (size_t)(c ? c : 1) * (esz + sizeof(int64_t)));
    if (!scratch) return knomem(k);
    if (x->dtype == GRAFT_DOUBLE)
        MAXPOOL_BWD(double);
    else
        MAXPOOL_BWD(float);
    return GRAFT_OK;
}

/* AvgPoolGrad(orig_input_shape, grad): each window's gradient spread evenly
 * over its real cells. */
#define AVGPOOL_BWD(T)                                                                                       \
    do {                                                                                                     \
        const T *gp = (const T *)gr->data;                                                                   \
        T *dp = (T *)dx->data;                                                                               \
        for (int64_t n = 0; n < gm.n; n++)                                                                   \
            for (int64_t oy = 0; oy < gm.oh; oy++)                                                           \
                for (int64_t ox = 0; ox < gm.ow; ox++) {                                                     \
                    int64_t h0, h1, w0, w1;                                                                  \
                    pool_window(&gm, oy, ox, &h0, &h1, &w0, &w1);                                            \
                    int64_t cnt = (h1 - h0) * (w1 - w0);                                                     \
                    if (cnt <= 0) continue;                                                                  \
                    T inv = (T)1 / (T)cnt;                                                                   \
                    const T *g_ = gp + ((n * gm.oh + oy) * gm.ow + ox) * c;                                  \
                    for (int64_t h = h0; h < h1; h++)                                                        \
                        for (int64_t ww = w0; ww < w1; ww++) {                                               \
                            T *dr = dp + ((n * gm.ih + h) * gm.iw + ww) * c;                                 \
                            for (int64_t ch = 0; ch < c; ch++) dr[ch] += g_[ch] * inv;                       \
                        }                                                                                    \
                }                                                                                            \
    } while (0)

static graft_code avg_pool_grad_forward(graftI_kctx *k)
{
    const graft_tensor *gr = k->in[1];
    graft_status st;
    win w;
    int64_t xd[4];
    if (parse_win(k->op, true, &w, &st) || read_shape4(k->in[0], xd, "orig_input_shape", &st))
        return kpass(k, &st);
    if (!is_float(gr->dtype))
        return graftI_kfail(k, GRAFT_ERR_DTYPE, "grad: float32 or float64 (vs %s)", dtname(gr->dtype));
    geo gm;
    if (make_geo(&w, xd, w.kh, w.kw, xd[3], &gm, &st)) return kpass(k, &st);
    graft_code rc = check_pool_grad(k, &gm, gr, "grad");
    if (rc) return rc;
    int64_t c = gm.c;
    graft_tensor *dx = graftI_out_alloc(k, 0, gr->dtype, xd, 4, true);
    if (!dx) return knomem(k);
    if (gr->dtype == GRAFT_DOUBLE)
        AVGPOOL_BWD(double);
    else
        AVGPOOL_BWD(float);
    return GRAFT_OK;
}

static graft_code max_pool_grad_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    win w;
    int64_t d[4];
    if ((rc = want_float(op, 0, "orig_input", st)) ||
        (rc = want_same_dtype(op, 0, 1, "orig_input", "orig_output", st)) ||
        (rc = want_same_dtype(op, 0, 2, "orig_input", "grad", st)) || (rc = parse_win(op, true, &w, st)) ||
        (rc = pool_out_shape(op, 0, &w, d, st)))
        return rc;
    const graft_shape *x = graftI_in_shape(op, 0);
    int64_t xd[4] = {sdim(x, 0), sdim(x, 1), sdim(x, 2), sdim(x, 3)};
    return set_out(op, graftI_in_dtype(op, 0), xd, st);
}

static graft_code avg_pool_grad_infer(graft_op *op, graft_status *st)
{
    graft_code rc;
    win w;
    if ((rc = want_int_vec(op, 0, "orig_input_shape", st)) || (rc = want_float(op, 1, "grad", st)) ||
        (rc = parse_win(op, true, &w, st)))
        return rc;
    const graft_shape *gr = graftI_in_shape(op, 1);
    if ((rc = want_rank4(gr, "grad", st))) return rc;
    int64_t d[4];
    if (!const_shape4(op, 0, d)) {
        d[0] = sdim(gr, 0);
        d[1] = d[2] = -1;
        d[3] = sdim(gr, 3);
    }
    return set_out(op, graftI_in_dtype(op, 1), d, st);
}

static graft_code max_pool_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graftI_attr at[6];
    int na = copy_attrs(op, pool_attr_names, at);
    if (!graftI_op_attr(op, "T")) at[na++] = graftI_a_type("T", out_dt(dy[0])); /* pre-T MaxPool graphs */
    graft_out in[3] = {op->in[0], graftI_o(op, 0), dy[0]};
    dx[0] = graftI_o(graftI_make_op(g, "MaxPoolGrad", "MaxPoolGrad", in, 3, at, na), 0);
    return graft_graph_status(g);
}

static graft_code avg_pool_grad(graft_graph *g, graft_op *op, const graft_out *dy, graft_out *dx)
{
    if (!dy[0].op) return GRAFT_OK;
    graftI_attr at[6];
    int na = copy_attrs(op, pool_attr_names, at);
    if (!graftI_op_attr(op, "T")) at[na++] = graftI_a_type("T", out_dt(dy[0]));
    graft_out in[2] = {shape_vec(g, op->in[0]), dy[0]};
    dx[0] = graftI_o(graftI_make_op(g, "AvgPoolGrad", "AvgPoolGrad", in, 2, at, na), 0);
    return graft_graph_status(g);
}

static const graftI_op_def op_max_pool = {.name = "MaxPool",
                                          .min_inputs = 1,
                                          .max_inputs = 1,
                                          .attrs = pool_attrs,
                                          .infer = pool_infer,
                                          .forward = max_pool_forward,
                                          .grad = max_pool_grad};
static const graftI_op_def op_avg_pool = {.name = "AvgPool",
                                          .min_inputs = 1,
                                          .max_inputs = 1,
                                          .attrs = pool_attrs,
                                          .infer = pool_infer,
                                          .forward = avg_pool_forward,
                                          .grad = avg_pool_grad};
static const graftI_op_def op_max_pool_grad = {.name = "MaxPoolGrad",
                                               .min_inputs = 3,
                                               .max_inputs = 3,
                                               .attrs = pool_attrs,
                                               .infer = max_pool_grad_infer,
                                               .forward = max_pool_grad_forward};
static const graftI_op_def op_avg_pool_grad = {.name = "AvgPoolGrad",
                                               .min_inputs = 2,
                                               .max_inputs = 2,
                                               .attrs = pool_attrs,
                                               .infer = avg_pool_grad_infer,
                                               .forward = avg_pool_grad_forward};

static graft_out make_pool(graft_graph *g, const char *type, graft_out x, int kh, int kw, int sh, int sw,
                           graft_padding pad)
{
    int64_t ks[4] = {1, kh, kw, 1}, s[4] = {1, sh, sw, 1};
    graftI_attr at[5] = {graftI_a_type("T", out_dt(x)), graftI_a_ilist("ksize", ks, 4),
                         graftI_a_ilist("strides", s, 4),
                         graftI_a_str("padding", pad == GRAFT_PAD_SAME ? "SAME" : "VALID"),
                         graftI_a_str("data_format", "NHWC")};
    return graftI_o(graftI_make_op(g, type, type, &x, 1, at, 5), 0);
}

graft_out graft_max_pool(graft_graph *g, graft_out x, int kh, int kw, int sh, int sw, graft_padding pad)
{
    return make_pool(g, "MaxPool", x, kh, kw, sh, sw, pad);
}

graft_out graft_avg_pool(graft_graph *g, graft_out x, int kh, int kw, int sh, int sw, graft_padding pad)
{
    return make_pool(g, "AvgPool", x, kh, kw, sh, sw, pad);
}

const graftI_op_def *const graftI_ops_conv[] = {&op_conv2d,        &op_conv_bi,  &op_conv_bf,
                                                &op_max_pool,      &op_avg_pool, &op_max_pool_grad,
                                                &op_avg_pool_grad, NULL};
