/* tests/support/opsb.c - helpers for the nn, conv, random and train op tests:
 * tensor construction from doubles, one-shot runs, tolerance comparison. */
#include "opsb.h"

#include <math.h>
#include <stdio.h>

graft_tensor *graftT_opsb_tensor(graft_dtype dt, int rank, const int64_t *dims, const double *v)
{
    graft_status st;
    graft_tensor *t = graft_tensor_new(dt, dims, rank, &st);
    if (!t) return NULL;
    int64_t n = graft_tensor_num_elements(t);
    void *d = graft_tensor_data(t);
    for (int64_t i = 0; i < n; i++) {
        switch (dt) {
        case GRAFT_FLOAT: ((float *)d)[i] = (float)v[i]; break;
        case GRAFT_DOUBLE: ((double *)d)[i] = v[i]; break;
        case GRAFT_INT32: ((int32_t *)d)[i] = (int32_t)v[i]; break;
        case GRAFT_INT64: ((int64_t *)d)[i] = (int64_t)v[i]; break;
        default: graft_tensor_free(t); return NULL;
        }
    }
    return t;
}

double graftT_opsb_get(const graft_tensor *t, int64_t i)
{
    const void *d = graft_tensor_cdata(t);
    switch (graft_tensor_dtype(t)) {
    case GRAFT_FLOAT: return ((const float *)d)[i];
    case GRAFT_DOUBLE: return ((const double *)d)[i];
    case GRAFT_INT32: return ((const int32_t *)d)[i];
    case GRAFT_INT64: return (double)((const int64_t *)d)[i];
    default: return NAN;
    }
}

graft_code graftT_opsb_run(graft_graph *g, const graft_out *feeds, graft_tensor *const *vals, int nfeeds,
                           const graft_out *fetch, graft_tensor **out, int nfetch, graft_status *st)
{
    graft_session *s = graft_session_new(g, NULL, st);
    if (!s) return st->code;
    graft_code rc = graft_session_run(s, feeds, vals, nfeeds, fetch, out, nfetch, NULL, 0, st);
    graft_session_free(s);
    return rc;
}

bool graftT_opsb_close(const char *label, const graft_tensor *got, const double *want, int64_t n, double atol,
                       double rtol)
{
    if (!got) {
        printf("%s: no tensor\n", label);
        return false;
    }
    if (graft_tensor_num_elements(got) != n) {
        printf("%s: %lld elements, expected %lld\n", label, (long long)graft_tensor_num_elements(got),
               (long long)n);
        return false;
    }
    for (int64_t i = 0; i < n; i++) {
        double g = graftT_opsb_get(got, i);
        if (!(fabs(g - want[i]) <= atol + rtol * fabs(want[i]))) {
            printf("%s: element %lld is %.9g, expected %.9g\n", label, (long long)i, g, want[i]);
            return false;
        }
    }
    return true;
}
