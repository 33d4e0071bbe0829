/* tests/support/opsa_oracle.c - runner for the generated forward-value cases of
 * the elementwise, reduce and shape ops (see opsa_oracle.h). */
#include "opsa_oracle.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

graft_tensor *graftT_oa_make(const graftT_oa_tensor *v)
{
    graft_status st;
    graft_tensor *t = graft_tensor_new((graft_dtype)v->dtype, v->dims, v->rank, &st);
    if (!t) return NULL;
    void *d = graft_tensor_data(t);
    for (int64_t k = 0; k < v->n; k++) {
        switch (v->dtype) {
        case GRAFT_FLOAT: ((float *)d)[k] = (float)v->f[k]; break;
        case GRAFT_DOUBLE: ((double *)d)[k] = v->f[k]; break;
        case GRAFT_INT32: ((int32_t *)d)[k] = (int32_t)v->i[k]; break;
        case GRAFT_INT64: ((int64_t *)d)[k] = v->i[k]; break;
        case GRAFT_BOOL:
        case GRAFT_UINT8: ((uint8_t *)d)[k] = (uint8_t)v->i[k]; break;
        case GRAFT_INT8: ((int8_t *)d)[k] = (int8_t)v->i[k]; break;
        case GRAFT_INT16: ((int16_t *)d)[k] = (int16_t)v->i[k]; break;
        case GRAFT_HALF:
        case GRAFT_BFLOAT16:
        case GRAFT_UINT16: ((uint16_t *)d)[k] = (uint16_t)v->i[k]; break;
        default: graft_tensor_free(t); return NULL;
        }
    }
    return t;
}

static bool is_index(int dt) { return dt == GRAFT_INT32 || dt == GRAFT_INT64; }

static bool compare(const graftT_oa_case *c, int k, const graft_tensor *got, double rtol_f32, char *why, size_t cap)
{
    const graftT_oa_tensor *w = &c->out[k];
    graft_shape gs = graft_tensor_shape(got), ws = graft_shape_make(w->rank, w->dims);
    char b1[96], b2[96];
    if ((int)graft_tensor_dtype(got) != w->dtype) {
        snprintf(why, cap, "output %d dtype %s, want %s", k, graft_dtype_name(graft_tensor_dtype(got)),
                 graft_dtype_name((graft_dtype)w->dtype));
        return false;
    }
    if (gs.rank != ws.rank || memcmp(gs.dims, ws.dims, sizeof(int64_t) * (size_t)gs.rank) != 0) {
        snprintf(why, cap, "output %d shape %s, want %s", k, graft_shape_str(&gs, b1, sizeof b1),
                 graft_shape_str(&ws, b2, sizeof b2));
        return false;
    }
    const void *d = graft_tensor_cdata(got);
    for (int64_t e = 0; e < w->n; e++) {
        if (w->f) {
            double g = w->dtype == GRAFT_FLOAT ? ((const float *)d)[e] : ((const double *)d)[e], want = w->f[e];
            double tol = w->dtype == GRAFT_FLOAT ? 1e-6 + rtol_f32 * fabs(want) : 1e-300 + 1e-12 * fabs(want);
            bool ok = (isnan(want) && isnan(g)) || g == want || fabs(g - want) <= tol;
            if (!ok) {
                snprintf(why, cap, "output %d element %lld: got %.9g, want %.9g", k, (long long)e, g, want);
                return false;
            }
        } else {
            int64_t g;
            switch (w->dtype) {
            case GRAFT_INT32: g = ((const int32_t *)d)[e]; break;
            case GRAFT_INT64: g = ((const int64_t *)d)[e]; break;
            case GRAFT_INT8: g = ((const int8_t *)d)[e]; break;
            case GRAFT_INT16: g = ((const int16_t *)d)[e]; break;
            case GRAFT_HALF:
            case GRAFT_BFLOAT16:
            case GRAFT_UINT16: g = ((const uint16_t *)d)[e]; break;
            default: g = ((const uint8_t *)d)[e]; break;
            }
            if (g != w->i[e]) {
                snprintf(why, cap, "output %d element %lld: got %lld, want %lld", k, (long long)e, (long long)g,
                         (long long)w->i[e]);
                return false;
            }
        }
    }
    return true;
}

/* mode 0: all placeholders, unknown shapes; mode 1: ints as Consts, exact shapes */
static bool run_case(const graftT_oa_case *c, int mode, double rtol_f32, char *why, size_t cap)
{
    bool ok = false;
    graft_graph *g = graft_graph_new();
    graft_tensor *vals[6] = {0}, *outs[4] = {0};
    graft_out feeds[6], fetch[4];
    graft_tensor *fv[6];
    int nf = 0;
    graft_session *s = NULL;
    graft_status st;
    graft_op_builder *b = NULL;
    for (int i = 0; i < c->n_in; i++) {
        vals[i] = graftT_oa_make(&c->in[i]);
        if (!vals[i]) {
            snprintf(why, cap, "cannot make input %d", i);
            goto done;
        }
    }
    graft_out ins[6];
    for (int i = 0; i < c->n_in; i++) {
        char name[16];
        snprintf(name, sizeof name, "in%d", i);
        if (mode == 1 && is_index(c->in[i].dtype)) {
            ins[i] = graft_const(g, name, vals[i]);
        } else {
            graft_shape shp = mode == 1 ? graft_tensor_shape(vals[i]) : graft_shape_unknown();
            ins[i] = graft_placeholder(g, name, graft_tensor_dtype(vals[i]), shp);
            feeds[nf] = ins[i];
            fv[nf++] = vals[i];
        }
    }
    b = graft_op_builder_new(g, c->op, "op");
    for (int i = 0; i < c->n_in; i++) graft_op_builder_add_input(b, ins[i]);
    for (int a = 0; a < c->n_attr; a++) {
        const graftT_oa_attr *at = &c->attrs[a];
        switch (at->kind) {
        case 't': graft_op_builder_attr_type(b, at->name, (graft_dtype)at->i); break;
        case 'i': graft_op_builder_attr_int(b, at->name, at->i); break;
        case 'b': graft_op_builder_attr_bool(b, at->name, at->i != 0); break;
        case 'I': graft_op_builder_attr_int_list(b, at->name, at->list, at->n); break;
        default: break;
        }
    }
    graft_op *op = graft_op_builder_finish(b, &st);
    if (!op) {
        snprintf(why, cap, "build: %s", st.msg);
        goto done;
    }
    if (graft_op_num_outputs(op) != c->n_out) {
        snprintf(why, cap, "%d outputs, want %d", graft_op_num_outputs(op), c->n_out);
        goto done;
    }
    for (int k = 0; k < c->n_out; k++) {
        fetch[k] = (graft_out){op, k};
        /* the static shape must admit the actual one */
        graft_shape ss = graft_out_shape(fetch[k]);
        const graftT_oa_tensor *w = &c->out[k];
        bool compat = ss.rank < 0 || ss.rank == w->rank;
        for (int d = 0; compat && ss.rank >= 0 && d < ss.rank; d++) compat = ss.dims[d] < 0 || ss.dims[d] == w->dims[d];
        if (!compat || (int)graft_out_dtype(fetch[k]) != w->dtype) {
            char b1[96];
            snprintf(why, cap, "static output %d is %s %s, the value is %s rank %d", k,
                     graft_dtype_name(graft_out_dtype(fetch[k])), graft_shape_str(&ss, b1, sizeof b1),
                     graft_dtype_name((graft_dtype)w->dtype), w->rank);
            goto done;
        }
    }
    s = graft_session_new(g, NULL, &st);
    if (!s || graft_session_run(s, feeds, fv, nf, fetch, outs, c->n_out, NULL, 0, &st) != GRAFT_OK) {
        snprintf(why, cap, "run: %s", st.msg);
        goto done;
    }
    ok = true;
    for (int k = 0; k < c->n_out && ok; k++) ok = compare(c, k, outs[k], rtol_f32, why, cap);
done:
    for (int k = 0; k < 4; k++) graft_tensor_free(outs[k]);
    for (int i = 0; i < 6; i++) graft_tensor_free(vals[i]);
    graft_session_free(s);
    graft_graph_free(g);
    return ok;
}

int graftT_oa_run_table(const graftT_oa_case *cases, double rtol_f32, int *n_cases)
{
    int fails = 0, n = 0;
    for (const graftT_oa_case *c = cases; c->label; c++, n++) {
        for (int mode = 0; mode < 2; mode++) {
            char why[512] = "";
            if (!run_case(c, mode, rtol_f32, why, sizeof why)) {
                printf("FAIL %s [%s] (%s): %s\n", c->label, c->op, mode ? "static shapes" : "unknown shapes", why);
                fails++;
                break;
            }
        }
    }
    if (n_cases) *n_cases = n;
    return fails;
}
