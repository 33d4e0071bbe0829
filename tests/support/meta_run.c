/* tests/support/meta_run.c - import a .meta, restore its checkpoint, feed the
 * refout.json inputs (.npy), fetch, and compare with the reference .npy files
 * within the stated tolerance (integers exactly). */
#include "meta_run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graft/npy.h"
#include "meta_json.h"

int meta_restore_by_name(graft_session *s, graft_graph *g, const char *prefix)
{
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
    if (!r) {
        fprintf(stderr, "restore: %s\n", st.msg);
        return -1;
    }
    int n = 0;
    for (int i = 0; i < graft_graph_num_variables(g); i++) {
        graft_variable v;
        graft_graph_variable_at(g, i, &v);
        graft_tensor *t = NULL;
        if (graft_ckpt_reader_read(r, graft_op_name(v.var), &t, &st) ||
            graft_session_set_variable(s, v.var, t, &st)) {
            fprintf(stderr, "restore %s: %s\n", graft_op_name(v.var), st.msg);
            graft_tensor_free(t);
            graft_ckpt_reader_free(r);
            return -1;
        }
        graft_tensor_free(t);
        n++;
    }
    graft_ckpt_reader_free(r);
    return n;
}

static double elem(const graft_tensor *t, int64_t i)
{
    const void *d = graft_tensor_cdata(t);
    switch (graft_tensor_dtype(t)) {
    case GRAFT_FLOAT: return ((const float *)d)[i];
    case GRAFT_DOUBLE: return ((const double *)d)[i];
    case GRAFT_INT32: return ((const int32_t *)d)[i];
    case GRAFT_INT64: return (double)((const int64_t *)d)[i];
    case GRAFT_UINT8:
    case GRAFT_BOOL: return ((const uint8_t *)d)[i];
    default: return NAN;
    }
}

int meta_run_refout(const char *dir, const char *meta_override, const char *prefix_override, bool use_saver)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/refout.json", dir);
    mj *ref = mj_parse_file(path);
    if (!ref) return -1;
    int bad = -1;
    graft_status st;
    char meta[2048], prefix[2048];
    snprintf(meta, sizeof meta, "%s/%s", dir, mj_str(mj_get(ref, "meta")));
    snprintf(prefix, sizeof prefix, "%s/%s", dir, mj_str(mj_get(ref, "checkpoint_prefix")));
    if (meta_override) snprintf(meta, sizeof meta, "%s", meta_override);
    if (prefix_override) snprintf(prefix, sizeof prefix, "%s", prefix_override);
    double atol = mj_num(mj_path(ref, "tolerance.atol")), rtol = mj_num(mj_path(ref, "tolerance.rtol"));
    const mj *feeds = mj_get(ref, "feeds"), *fetches = mj_get(ref, "fetches");
    int nf = mj_len(feeds), nt = mj_len(fetches);
    graft_graph *g = graft_graph_new();
    graft_session *s = NULL;
    graft_out fo[16], to[16];
    graft_tensor *fv[16] = {0}, *tv[16] = {0};
    if (nf > 16 || nt > 16) goto done;
    graft_meta_import *imp = NULL;
    if (graft_import_meta_graph(g, meta, NULL, &imp, &st)) {
        fprintf(stderr, "%s: %s\n", meta, st.msg);
        goto done;
    }
    graft_saver *saver = graft_meta_import_take_saver(imp);
    graft_meta_import_free(imp);
    s = graft_session_new(g, NULL, &st);
    if (use_saver) {
        graft_code rc = saver ? graft_saver_restore(saver, s, prefix, &st) : GRAFT_ERR_NOT_FOUND;
        graft_saver_free(saver);
        if (rc) {
            fprintf(stderr, "restore via the imported saver: %s\n", saver ? st.msg : "no saver");
            goto done;
        }
    } else {
        graft_saver_free(saver);
    }
    if (!s || (!use_saver && meta_restore_by_name(s, g, prefix) < 0)) goto done;
    for (int i = 0; i < nf; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, mj_str(mj_at(feeds, i)));
        if (graft_graph_tensor(g, mj_key_at(feeds, i), &fo[i], &st) || graft_npy_read(path, 0, &fv[i], &st)) {
            fprintf(stderr, "feed %s: %s\n", mj_key_at(feeds, i), st.msg);
            goto done;
        }
    }
    for (int i = 0; i < nt; i++)
        if (graft_graph_tensor(g, mj_key_at(fetches, i), &to[i], &st)) {
            fprintf(stderr, "fetch %s: %s\n", mj_key_at(fetches, i), st.msg);
            goto done;
        }
    if (graft_session_run(s, fo, fv, nf, to, tv, nt, NULL, 0, &st)) {
        fprintf(stderr, "run: %s\n", st.msg);
        goto done;
    }
    bad = 0;
    for (int i = 0; i < nt; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, mj_str(mj_at(fetches, i)));
        graft_tensor *want = NULL;
        if (graft_npy_read(path, 0, &want, &st)) {
            fprintf(stderr, "%s: %s\n", path, st.msg);
            bad++;
            continue;
        }
        graft_shape a = graft_tensor_shape(tv[i]), b = graft_tensor_shape(want);
        char sa[64], sb[64];
        bool same = graft_tensor_dtype(tv[i]) == graft_tensor_dtype(want) && a.rank == b.rank;
        for (int k = 0; same && k < a.rank; k++) same = a.dims[k] == b.dims[k];
        if (!same) {
            fprintf(stderr, "%s: graft %s %s vs reference %s %s\n", mj_key_at(fetches, i),
                    graft_dtype_name(graft_tensor_dtype(tv[i])), graft_shape_str(&a, sa, sizeof sa),
                    graft_dtype_name(graft_tensor_dtype(want)), graft_shape_str(&b, sb, sizeof sb));
            bad++;
            graft_tensor_free(want);
            continue;
        }
        bool is_int = graft_tensor_dtype(want) != GRAFT_FLOAT && graft_tensor_dtype(want) != GRAFT_DOUBLE;
        double worst = 0;
        int64_t nbad = 0;
        for (int64_t k = 0; k < graft_tensor_num_elements(want); k++) {
            double x = elem(tv[i], k), y = elem(want, k), d = fabs(x - y);
            if (d > worst) worst = d;
            if (is_int ? d != 0 : !(d <= atol + rtol * fabs(y))) nbad++;
        }
        printf("# %s %s: max |graft - ref| = %.3g (atol %.3g, rtol %.3g), %lld outside\n", dir,
               mj_key_at(fetches, i), worst, atol, rtol, (long long)nbad);
        if (nbad) bad++;
        graft_tensor_free(want);
    }
done:
    for (int i = 0; i < 16; i++) {
        graft_tensor_free(fv[i]);
        graft_tensor_free(tv[i]);
    }
    graft_session_free(s);
    graft_graph_free(g);
    mj_free(ref);
    return bad;
}
