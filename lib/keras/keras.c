/* lib/keras/keras.c - Keras HDF5 weights (graft/keras.h): the three layouts (Keras 1/2
 * save_weights, model.save's /model_weights, Keras 3 .weights.h5) walked with libhdf5 in
 * a child process (data/h5util.h), the result sent back as a blob and checked here;
 * lookup by TensorFlow variable name; export as a V2 checkpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/h5util.h"
#include "graft/checkpoint.h"
#include "graft/keras.h"

#define KW_MAX_LAYERS  100000
#define KW_MAX_WEIGHTS 1000000
#define KW_MAX_NAME    4096
#define KW_MAX_RANK    8

typedef struct kw_item {
    char *layer, *path, *name;
    graft_tensor *t;
} kw_item;

struct graft_keras_weights {
    char *layout, *version, *backend;
    char **layers;
    int n_layers;
    kw_item *w;
    int n, cap;
};

void graft_keras_opts_init(graft_keras_opts *o)
{
    if (o) memset(o, 0, sizeof *o);
}

static void resolve(const graft_keras_opts *opts, graft_keras_opts *o)
{
    if (opts) *o = *opts;
    else graft_keras_opts_init(o);
    if (o->max_bytes <= 0) o->max_bytes = GRAFT_DATA_DEFAULT_MAX_BYTES;
}

/* A layer name: one non-empty component other than "." and "..". A weight path: one
 * or more such components separated by single slashes. Both at most KW_MAX_NAME
 * bytes. Returns GRAFT_OK or sets st (what: "layer_names[3]" etc.). */
static graft_code check_name(const char *s, bool path, const char *name, const char *where, const char *what, int i,
                             graft_status *st)
{
    size_t n = strlen(s);
    if (n > KW_MAX_NAME)
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: %s[%d]: a name of %zu bytes (graft's cap is %d)", name,
                                where, what, i, n, KW_MAX_NAME);
    const char *p = s;
    bool ok = n > 0;
    while (ok) {
        const char *q = strchr(p, '/');
        size_t l = q ? (size_t)(q - p) : strlen(p);
        ok = l > 0 && !(l == 1 && p[0] == '.') && !(l == 2 && p[0] == '.' && p[1] == '.') && (!q || path);
        if (!q) break;
        p = q + 1;
    }
    if (!ok)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: %s[%d]: bad %s name '%.64s'", name, where, what, i,
                                path ? "weight" : "layer", s);
    return GRAFT_OK;
}

/* "conv2d_1/kernel:0" -> "conv2d_1/kernel" (a trailing ":<digits>" goes). */
static void var_name(const char *stored, char *out, size_t cap)
{
    snprintf(out, cap, "%s", stored);
    char *c = strrchr(out, ':');
    if (!c || !c[1] || c == out) return;
    for (const char *d = c + 1; *d; d++)
        if (*d < '0' || *d > '9') return;
    *c = '\0';
}

/* ---- in the child: walk the file, write the blob ------------------------------------- */
/* blob: layout, keras_version, backend, n_layers, layer names, then per weight
 * (1, layer, path, name, dtype, rank, dims[rank], nbytes, bytes) and a final 0. */

static graft_code one_string_attr(const void *data, size_t len, hid_t file, const char *path, const char *attr,
                                  const char *name, char **out, graft_status *st)
{
    char **v = NULL;
    int n = 0;
    *out = NULL;
    graft_code rc = graftI_h5_strings_attr(data, len, file, path, attr, name, 1, &v, &n, st);
    if (rc == GRAFT_ERR_NOT_FOUND) return GRAFT_OK;
    if (rc) return rc;
    if (n == 1) {
        *out = v[0];
        v[0] = NULL;
    }
    graftI_h5_strings_free(v, n);
    return GRAFT_OK;
}

/* key's first `checked` bytes name a group already pre-checked (the layer's). */
static graft_code put_weight(const void *data, size_t len, hid_t file, const char *name, const char *layer,
                             const char *key, size_t checked, const char *wname, int64_t *budget, graftI_ck_buf *out,
                             int *count, graft_status *st)
{
    if (++*count > KW_MAX_WEIGHTS)
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: more than %d weights", name, key, KW_MAX_WEIGHTS);
    /* the groups below it on the way ("conv2d_1/kernel:0" lives in a subgroup) too */
    char grp[2 * KW_MAX_NAME + 80];
    snprintf(grp, sizeof grp, "%s", key);
    for (char *sl = strchr(grp + checked + 1, '/'); sl; sl = strchr(sl + 1, '/')) {
        *sl = '\0';
        graft_code prc = graftI_h5_precheck_path(data, len, file, grp, name, st);
        *sl = '/';
        if (prc) return prc;
    }
    h5_array a;
    graft_code rc = graftI_h5_read_array(data, len, file, name, key, GRAFTI_H5_WEIGHTS, 0, KW_MAX_RANK, *budget, &a, st);
    if (rc) return rc;
    *budget -= (int64_t)a.nbytes;
    char vn[KW_MAX_NAME + 1];
    var_name(wname, vn, sizeof vn);
    graftI_blob_u64(out, 1);
    graftI_blob_str(out, layer);
    graftI_blob_str(out, key);
    graftI_blob_str(out, vn);
    graftI_blob_u64(out, (uint64_t)a.kind.dtype);
    graftI_blob_u64(out, (uint64_t)a.rank);
    for (int i = 0; i < a.rank; i++) graftI_blob_u64(out, (uint64_t)a.dims[i]);
    graftI_blob_u64(out, a.nbytes);
    graftI_ck_buf_put(out, a.data, a.nbytes);
    graftI_free(a.data);
    return GRAFT_OK;
}

/* Keras 1/2: layer_names on group, weight_names on each layer group. */
static graft_code walk_keras2(const void *data, size_t len, hid_t file, const char *name, const char *group,
                              int64_t budget, graftI_ck_buf *out, graft_status *st)
{
    char **layers = NULL;
    int nl = 0, count = 0;
    graft_code rc = graftI_h5_strings_attr(data, len, file, group, "layer_names", name, KW_MAX_LAYERS, &layers, &nl, st);
    if (rc) return rc;
    for (int i = 0; i < nl && !rc; i++) rc = check_name(layers[i], false, name, group, "layer_names", i, st);
    if (rc) goto out;
    graftI_blob_u64(out, (uint64_t)nl);
    for (int i = 0; i < nl; i++) graftI_blob_str(out, layers[i]);
    for (int i = 0; i < nl && !rc; i++) {
        char lp[KW_MAX_NAME + 64];
        snprintf(lp, sizeof lp, "%s/%s", strcmp(group, "/") ? group : "", layers[i]);
        if (H5Lexists(file, lp + 1, H5P_DEFAULT) <= 0) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: layer group missing (listed in layer_names)", name,
                                  lp);
            break;
        }
        char **wn = NULL;
        int nw = 0;
        rc = graftI_h5_strings_attr(data, len, file, lp, "weight_names", name, KW_MAX_WEIGHTS, &wn, &nw, st);
        if (rc == GRAFT_ERR_NOT_FOUND) rc = GRAFT_ERR_CORRUPT; /* Keras writes it on every layer */
        for (int k = 0; k < nw && !rc; k++) {
            char key[2 * KW_MAX_NAME + 80];
            if ((rc = check_name(wn[k], true, name, lp, "weight_names", k, st)) != GRAFT_OK) break;
            snprintf(key, sizeof key, "%s/%s", lp, wn[k]);
            rc = put_weight(data, len, file, name, layers[i], key, strlen(lp), wn[k], &budget, out, &count, st);
        }
        graftI_h5_strings_free(wn, nw);
    }
out:
    graftI_h5_strings_free(layers, nl);
    return rc;
}

typedef struct name_list {
    char **v;
    int n, cap;
    bool too_many, oom;
} name_list;

static herr_t collect_cb(hid_t g, const char *lname, const H5L_info_t *info, void *ud)
{
    (void)g;
    (void)info;
    name_list *l = ud;
    if (l->n >= KW_MAX_LAYERS) {
        l->too_many = true;
        return 1;
    }
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        char **v = graftI_realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) {
            l->oom = true;
            return 1;
        }
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = graftI_strdup(lname))) {
        l->oom = true;
        return 1;
    }
    l->n++;
    return 0;
}

/* Keras 3: /layers/<name>/vars/0..n-1, layers in name order. */
static graft_code walk_keras3(const void *data, size_t len, hid_t file, const char *name, int64_t budget,
                              graftI_ck_buf *out, graft_status *st)
{
    char eb[200];
    name_list l = {0};
    int count = 0;
    graft_code rc = graftI_h5_precheck_path(data, len, file, "/layers", name, st);
    if (rc) return rc;
    hid_t g = H5Gopen2(file, "layers", H5P_DEFAULT);
    if (g < 0) return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: /layers: not a group (%s)", name, graftI_h5_err(eb));
    hsize_t idx = 0;
    herr_t it = H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_cb, &l);
    H5Gclose(g);
    if (l.oom) rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: /layers: out of memory", name);
    else if (l.too_many) rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: /layers: more than %d layers", name, KW_MAX_LAYERS);
    else if (it < 0) rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: /layers: cannot list (%s)", name, graftI_h5_err(eb));
    for (int i = 0; i < l.n && !rc; i++) rc = check_name(l.v[i], false, name, "/layers", "group", i, st);
    if (rc) goto out;
    graftI_blob_u64(out, (uint64_t)l.n);
    for (int i = 0; i < l.n; i++) graftI_blob_str(out, l.v[i]);
    for (int i = 0; i < l.n && !rc; i++) {
        char vp[KW_MAX_NAME + 32];
        snprintf(vp, sizeof vp, "/layers/%s", l.v[i]);
        size_t lpl = strlen(vp);
        if ((rc = graftI_h5_precheck_path(data, len, file, vp, name, st)) != GRAFT_OK) break;
        strcat(vp, "/vars");
        htri_t ex = H5Lexists(file, vp + 1, H5P_DEFAULT);
        if (ex < 0) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: cannot look up (%s)", name, vp, graftI_h5_err(eb));
            break;
        }
        if (ex == 0) continue; /* a layer without variables */
        H5G_info_t gi;
        if (H5Gget_info_by_name(file, vp + 1, &gi, H5P_DEFAULT) < 0) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: not a group (%s)", name, vp, graftI_h5_err(eb));
            break;
        }
        if (gi.nlinks > KW_MAX_WEIGHTS) {
            rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: %llu variables (at most %d)", name, vp,
                                  (unsigned long long)gi.nlinks, KW_MAX_WEIGHTS);
            break;
        }
        for (hsize_t k = 0; k < gi.nlinks && !rc; k++) {
            char key[KW_MAX_NAME + 64], wn[KW_MAX_NAME + 64];
            snprintf(key, sizeof key, "%s/%llu", vp, (unsigned long long)k);
            snprintf(wn, sizeof wn, "%s/vars/%llu", l.v[i], (unsigned long long)k);
            rc = put_weight(data, len, file, name, l.v[i], key, lpl, wn, &budget, out, &count, st);
        }
    }
out:
    graftI_h5_strings_free(l.v, l.n);
    return rc;
}

static graft_code keras_to_blob(const void *data, size_t len, const char *name, const void *ctx, graftI_ck_buf *out,
                                graft_status *st)
{
    const graft_keras_opts *o = ctx;
    char eb[200];
    graftI_h5_quiet q;
    graftI_h5_quiet_on(&q);
    char *version = NULL, *backend = NULL;
    hid_t fapl = H5I_INVALID_HID;
    graft_code rc = GRAFT_OK;
    hid_t file = graftI_h5_open_image(data, len, name, &fapl, st);
    if (file < 0) {
        rc = st->code;
        goto out;
    }
    const char *layout = NULL, *group = NULL;
    if ((rc = graftI_h5_precheck_path(data, len, file, "/", name, st)) != GRAFT_OK) goto out;
    htri_t ln = H5Aexists_by_name(file, "/", "layer_names", H5P_DEFAULT);
    htri_t mw = ln > 0 ? 0 : H5Lexists(file, "model_weights", H5P_DEFAULT);
    htri_t l3 = ln > 0 || mw > 0 ? 0 : H5Lexists(file, "layers", H5P_DEFAULT);
    if (ln < 0 || mw < 0 || l3 < 0) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: /: cannot look up the Keras layout (%s)", name,
                              graftI_h5_err(eb));
        goto out;
    }
    if (ln > 0) layout = "keras_weights", group = "/";
    else if (mw > 0) layout = "keras_model", group = "/model_weights";
    else if (l3 > 0) layout = "keras3_weights";
    else {
        rc = graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                              "%s: not a Keras weights file (no layer_names attribute, no /model_weights or /layers "
                              "group)",
                              name);
        goto out;
    }
    if ((rc = one_string_attr(data, len, file, "/", "keras_version", name, &version, st)) ||
        (rc = one_string_attr(data, len, file, "/", "backend", name, &backend, st)))
        goto out;
    if (!version && group && strcmp(group, "/") &&
        (rc = one_string_attr(data, len, file, group, "keras_version", name, &version, st)))
        goto out;
    if (!backend && group && strcmp(group, "/") && (rc = one_string_attr(data, len, file, group, "backend", name, &backend, st)))
        goto out;
    graftI_blob_str(out, layout);
    graftI_blob_str(out, version ? version : "");
    graftI_blob_str(out, backend ? backend : "");
    rc = group ? walk_keras2(data, len, file, name, group, o->max_bytes, out, st)
               : walk_keras3(data, len, file, name, o->max_bytes, out, st);
    if (!rc) graftI_blob_u64(out, 0);
out:
    graftI_free(version);
    graftI_free(backend);
    if (file >= 0) H5Fclose(file);
    if (fapl >= 0) H5Pclose(fapl);
    graftI_h5_quiet_off(&q);
    return rc;
}

/* ---- here: the blob checked and turned into graft objects ---------------------------- */
static char *rd_name(graftI_blob_rd *r) { return graftI_rd_str(r, 2 * KW_MAX_NAME + 80); }

static graft_code bad_blob(const char *name, const char *what, graft_status *st)
{
    return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: the HDF5 parser sent a malformed result (%s)", name, what);
}

static graft_code add_item(graft_keras_weights *w, kw_item *it)
{
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        kw_item *v = graftI_realloc(w->w, (size_t)cap * sizeof *v);
        if (!v) return GRAFT_ERR_NOMEM;
        w->w = v;
        w->cap = cap;
    }
    w->w[w->n++] = *it;
    return GRAFT_OK;
}

static void free_item(kw_item *it)
{
    graftI_free(it->layer);
    graftI_free(it->path);
    graftI_free(it->name);
    graft_tensor_free(it->t);
}

static graft_keras_weights *from_blob(const uint8_t *b, size_t n, const char *name, int64_t max_bytes,
                                      graft_status *st)
{
    graftI_blob_rd r = {b, n, 0};
    graft_keras_weights *w = graftI_calloc(1, sizeof *w);
    if (!w) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", name), NULL;
    graft_code rc = GRAFT_OK;
    uint64_t nl = 0, more = 0, total = 0;
    w->layout = rd_name(&r);
    w->version = graftI_rd_str(&r, 65536); /* graftI_h5_strings_attr's cap */
    w->backend = graftI_rd_str(&r, 65536);
    if (!w->layout || !w->version || !w->backend || !graftI_rd_u64(&r, &nl) || nl > KW_MAX_LAYERS) {
        rc = bad_blob(name, "header", st);
        goto out;
    }
    w->layers = graftI_calloc(nl ? (size_t)nl : 1, sizeof *w->layers);
    if (!w->layers) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", name);
        goto out;
    }
    for (uint64_t i = 0; i < nl; i++, w->n_layers++)
        if (!(w->layers[i] = rd_name(&r))) {
            rc = bad_blob(name, "layer names", st);
            goto out;
        }
    while (graftI_rd_u64(&r, &more) && more == 1) {
        kw_item it = {rd_name(&r), rd_name(&r), rd_name(&r), NULL};
        uint64_t dt = 0, rank = 0, nbytes = 0;
        int64_t dims[KW_MAX_RANK];
        bool ok = it.layer && it.path && it.name && w->n < KW_MAX_WEIGHTS && graftI_rd_u64(&r, &dt) &&
                  graftI_rd_u64(&r, &rank) && dt < 1000 && graft_dtype_valid((int)dt) && dt != GRAFT_STRING &&
                  rank <= KW_MAX_RANK;
        uint64_t count = 1;
        for (uint64_t i = 0; ok && i < rank; i++) {
            uint64_t d;
            ok = graftI_rd_u64(&r, &d) && d <= INT64_MAX && !__builtin_mul_overflow(count, d, &count);
            if (ok) dims[i] = (int64_t)d;
        }
        ok = ok && graftI_rd_u64(&r, &nbytes) && count <= UINT64_MAX / graft_dtype_size((graft_dtype)dt) &&
             nbytes == count * graft_dtype_size((graft_dtype)dt) && nbytes <= (uint64_t)max_bytes - total;
        const void *bytes = ok ? graftI_rd_bytes(&r, (size_t)nbytes) : NULL;
        if (!ok || !bytes) {
            free_item(&it);
            rc = bad_blob(name, "weight record", st);
            goto out;
        }
        total += nbytes;
        it.t = graft_tensor_from_data((graft_dtype)dt, dims, (int)rank, bytes, (size_t)nbytes, st);
        if (!it.t || add_item(w, &it)) {
            if (it.t) graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", name);
            free_item(&it);
            rc = GRAFT_ERR_NOMEM;
            goto out;
        }
    }
    if (more != 0 || r.off != r.n) rc = bad_blob(name, "trailer", st);
out:
    if (rc) {
        graft_keras_weights_free(w);
        return NULL;
    }
    graft_status_clear(st);
    return w;
}

graft_keras_weights *graft_keras_weights_parse(const void *data, size_t len, const char *name,
                                               const graft_keras_opts *opts, graft_status *st)
{
    graft_keras_opts o;
    resolve(opts, &o);
    if (!name) name = "<memory>";
    if (graftI_h5_check_image(data, len, name, o.max_bytes, st)) return NULL;
    uint8_t *blob = NULL;
    size_t n = 0;
    if (graftI_h5_run(data, len, name, o.in_process, o.timeout_s, o.max_bytes, keras_to_blob, &o, &blob, &n, st))
        return NULL;
    graft_keras_weights *w = from_blob(blob, n, name, o.max_bytes, st);
    graftI_free(blob);
    return w;
}

graft_keras_weights *graft_keras_weights_read(const char *path, const graft_keras_opts *opts, graft_status *st)
{
    if (!path) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_keras_weights_read: NULL path"), NULL;
    graft_keras_opts o;
    resolve(opts, &o);
    uint8_t *buf;
    size_t len;
    if (graftI_read_file(path, (size_t)o.max_bytes, &buf, &len, st)) return NULL;
    graft_keras_weights *w = graft_keras_weights_parse(buf, len, path, &o, st);
    graftI_free(buf);
    return w;
}

void graft_keras_weights_free(graft_keras_weights *w)
{
    if (!w) return;
    for (int i = 0; i < w->n; i++) free_item(&w->w[i]);
    graftI_free(w->w);
    for (int i = 0; i < w->n_layers; i++) graftI_free(w->layers[i]);
    graftI_free(w->layers);
    graftI_free(w->layout);
    graftI_free(w->version);
    graftI_free(w->backend);
    graftI_free(w);
}

const char *graft_keras_weights_layout(const graft_keras_weights *w) { return w ? w->layout : NULL; }
const char *graft_keras_weights_keras_version(const graft_keras_weights *w) { return w ? w->version : NULL; }
const char *graft_keras_weights_backend(const graft_keras_weights *w) { return w ? w->backend : NULL; }
int graft_keras_num_layers(const graft_keras_weights *w) { return w ? w->n_layers : 0; }
const char *graft_keras_layer_name(const graft_keras_weights *w, int i)
{
    return w && i >= 0 && i < w->n_layers ? w->layers[i] : NULL;
}
int graft_keras_num_weights(const graft_keras_weights *w) { return w ? w->n : 0; }
static const kw_item *item(const graft_keras_weights *w, int i) { return w && i >= 0 && i < w->n ? &w->w[i] : NULL; }
const char *graft_keras_weight_name(const graft_keras_weights *w, int i) { return item(w, i) ? item(w, i)->name : NULL; }
const char *graft_keras_weight_layer(const graft_keras_weights *w, int i) { return item(w, i) ? item(w, i)->layer : NULL; }
const char *graft_keras_weight_path(const graft_keras_weights *w, int i) { return item(w, i) ? item(w, i)->path : NULL; }
const graft_tensor *graft_keras_weight_tensor(const graft_keras_weights *w, int i)
{
    return item(w, i) ? item(w, i)->t : NULL;
}

int graft_keras_find_weight(const graft_keras_weights *w, const char *name)
{
    for (int i = 0; w && name && i < w->n; i++)
        if (!strcmp(w->w[i].name, name)) return i;
    return -1;
}

static int cmp_by_name(const void *a, const void *b)
{
    return strcmp((*(const kw_item *const *)a)->name, (*(const kw_item *const *)b)->name);
}

graft_code graft_keras_weights_write_checkpoint(const graft_keras_weights *w, const char *prefix, graft_status *st)
{
    if (!w || !prefix || !*prefix)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_keras_weights_write_checkpoint: NULL argument");
    const kw_item **order = graftI_malloc((size_t)(w->n ? w->n : 1) * sizeof *order);
    if (!order) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", prefix);
    for (int i = 0; i < w->n; i++) order[i] = &w->w[i];
    qsort(order, (size_t)w->n, sizeof *order, cmp_by_name); /* key order, as TF's Saver writes */
    graft_code rc = GRAFT_OK;
    for (int i = 1; i < w->n && !rc; i++)
        if (!strcmp(order[i - 1]->name, order[i]->name))
            rc = graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: two weights are named '%s' (%s and %s)", prefix,
                                  order[i]->name, order[i - 1]->path, order[i]->path);
    graft_ckpt_writer *cw = rc ? NULL : graft_ckpt_writer_new(prefix, st);
    if (!rc && !cw) rc = st && st->code ? st->code : GRAFT_ERR_IO;
    for (int i = 0; i < w->n && !rc; i++) rc = graft_ckpt_writer_add(cw, order[i]->name, order[i]->t, st);
    if (!rc) rc = graft_ckpt_writer_finish(cw, st);
    graft_ckpt_writer_free(cw);
    graftI_free(order);
    return rc ? rc : graft_checkpoint_state_write_for(prefix, st);
}
