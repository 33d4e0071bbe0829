/* lib/data/dataset.c - the in-memory image dataset: construction with checked
 * sizes, class filtering/relabelling, train/test splits, accessors. Loaders
 * (idx.c, h5data.c) and the batcher (batcher.c) build on these. */
#include "data_internal.h"

void graft_data_opts_init(graft_data_opts *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->split = GRAFT_SPLIT_TRAIN;
}

void graftI_data_opts_resolve(const graft_data_opts *opts, graft_data_opts *o)
{
    if (opts)
        *o = *opts;
    else
        graft_data_opts_init(o);
    if (o->max_bytes <= 0) o->max_bytes = GRAFT_DATA_DEFAULT_MAX_BYTES;
}

graft_code graftI_ds_check_dims(const char *what, graft_dtype dt, int64_t n, int64_t h, int64_t w, int64_t c,
                                int64_t max_bytes, size_t *image_bytes, graft_status *st)
{
    if (dt != GRAFT_UINT8 && dt != GRAFT_FLOAT)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "%s: pixel type %s (uint8 or float32 expected)",
                                what, graft_dtype_name(dt) ? graft_dtype_name(dt) : "invalid");
    if (n < 0 || h <= 0 || w <= 0 || c <= 0)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                "%s: bad dataset shape [%lld,%lld,%lld,%lld] (N >= 0, H, W, C > 0 expected)",
                                what, (long long)n, (long long)h, (long long)w, (long long)c);
    int64_t hw, hwc, bytes, total;
    if (!graftI_mul_i64(h, w, &hw) || !graftI_mul_i64(hw, c, &hwc) ||
        !graftI_mul_i64(hwc, (int64_t)graft_dtype_size(dt), &bytes) || !graftI_mul_i64(bytes, n, &total) ||
        total > max_bytes || (uint64_t)total > SIZE_MAX)
        return graft_status_set(
            st, GRAFT_ERR_NOMEM,
            "%s: [%lld,%lld,%lld,%lld] %s images exceed the cap of %lld bytes (raise max_bytes)", what,
            (long long)n, (long long)h, (long long)w, (long long)c, graft_dtype_name(dt),
            (long long)max_bytes);
    if (image_bytes) *image_bytes = (size_t)bytes;
    return GRAFT_OK;
}

graft_dataset *graftI_ds_adopt(graft_dtype dt, int64_t n, int64_t h, int64_t w, int64_t c, void *pixels,
                               int32_t *labels, graft_status *st)
{
    graft_dataset *ds = graftI_calloc(1, sizeof *ds);
    if (!ds) {
        graftI_free(pixels);
        graftI_free(labels);
        graft_status_set(st, GRAFT_ERR_NOMEM, "dataset: out of memory");
        return NULL;
    }
    ds->n = n;
    ds->h = h;
    ds->w = w;
    ds->c = c;
    ds->dtype = dt;
    ds->pixels = pixels;
    ds->labels = labels;
    return ds;
}

void graft_dataset_free(graft_dataset *ds)
{
    if (!ds) return;
    graftI_free(ds->pixels);
    graftI_free(ds->labels);
    graftI_free(ds);
}

/* Copies the selected examples idx[0..k) of ds into a new dataset. */
static graft_dataset *gather(const graft_dataset *ds, const int64_t *idx, int64_t k, graft_status *st)
{
    size_t ib = graftI_ds_image_bytes(ds);
    size_t pix_bytes, lab_bytes;
    if (!graftI_mul_size(ib, (size_t)k, &pix_bytes) ||
        !graftI_mul_size(sizeof(int32_t), (size_t)k, &lab_bytes)) {
        graft_status_set(st, GRAFT_ERR_NOMEM, "dataset: %lld examples overflow size_t", (long long)k);
        return NULL;
    }
    void *pix = graftI_malloc(pix_bytes ? pix_bytes : 1);
    int32_t *lab = graftI_malloc(lab_bytes ? lab_bytes : 1);
    if (!pix || !lab) {
        graftI_free(pix);
        graftI_free(lab);
        graft_status_set(st, GRAFT_ERR_NOMEM, "dataset: cannot allocate %zu bytes for %lld examples",
                         pix_bytes, (long long)k);
        return NULL;
    }
    for (int64_t i = 0; i < k; i++) {
        memcpy((char *)pix + (size_t)i * ib, (const char *)ds->pixels + (size_t)idx[i] * ib, ib);
        lab[i] = ds->labels[idx[i]];
    }
    return graftI_ds_adopt(ds->dtype, k, ds->h, ds->w, ds->c, pix, lab, st);
}

graft_dataset *graft_dataset_from_data(graft_dtype pixel_type, int64_t n, int64_t h, int64_t w, int64_t c,
                                       const void *pixels, const int32_t *labels, graft_status *st)
{
    size_t ib;
    if (graftI_ds_check_dims("graft_dataset_from_data", pixel_type, n, h, w, c, INT64_MAX, &ib, st))
        return NULL;
    if (n > 0 && (!pixels || !labels))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_dataset_from_data: NULL pixels or labels"),
               NULL;
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                    "graft_dataset_from_data: label %lld is %d (>= 0 expected)", (long long)i,
                                    (int)labels[i]),
                   NULL;
    size_t pix_bytes = ib * (size_t)n; /* checked above */
    void *pix = graftI_malloc(pix_bytes ? pix_bytes : 1);
    int32_t *lab = graftI_malloc(n ? (size_t)n * sizeof(int32_t) : 1);
    if (!pix || !lab) {
        graftI_free(pix);
        graftI_free(lab);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "graft_dataset_from_data: out of memory"), NULL;
    }
    if (n > 0) {
        memcpy(pix, pixels, pix_bytes);
        memcpy(lab, labels, (size_t)n * sizeof(int32_t));
    }
    graft_dataset *ds = graftI_ds_adopt(pixel_type, n, h, w, c, pix, lab, st);
    if (ds) graft_status_clear(st);
    return ds;
}

/* Validates the filter part of o (limit, class list, relabel). */
graft_code graftI_ds_check_filter(const graft_data_opts *o, const char *what, graft_status *st)
{
    if (o->limit < 0)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: limit %lld (>= 0 expected)", what,
                                (long long)o->limit);
    if (o->n_classes < 0 || (o->n_classes > 0 && !o->classes))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: %d classes given without a class list", what,
                                o->n_classes);
    if (o->relabel && (!o->classes || o->n_classes == 0))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: relabel needs a class list", what);
    for (int i = 0; o->classes && i < o->n_classes; i++) {
        if (o->classes[i] < 0)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: class %d is negative", what,
                                    (int)o->classes[i]);
        for (int j = 0; j < i; j++)
            if (o->classes[j] == o->classes[i])
                return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: class %d listed twice", what,
                                        (int)o->classes[i]);
    }
    return GRAFT_OK;
}

/* Position of label in the class list, or -1 (linear: class lists are short). */
static int class_pos(const graft_data_opts *o, int32_t label)
{
    for (int i = 0; i < o->n_classes; i++)
        if (o->classes[i] == label) return i;
    return -1;
}

graft_code graftI_ds_filter_inplace(graft_dataset *ds, const graft_data_opts *o, const char *what,
                                    graft_status *st)
{
    graft_code rc = graftI_ds_check_filter(o, what, st);
    if (rc) return rc;
    bool by_class = o->classes && o->n_classes > 0;
    int64_t limit = o->limit > 0 ? o->limit : INT64_MAX;
    if (!by_class && ds->n <= limit) return GRAFT_OK;
    size_t ib = graftI_ds_image_bytes(ds);
    int64_t k = 0;
    for (int64_t i = 0; i < ds->n && k < limit; i++) {
        int pos = by_class ? class_pos(o, ds->labels[i]) : 0;
        if (pos < 0) continue;
        if (k != i) memmove((char *)ds->pixels + (size_t)k * ib, (char *)ds->pixels + (size_t)i * ib, ib);
        ds->labels[k] = o->relabel ? (int32_t)pos : ds->labels[i];
        k++;
    }
    ds->n = k;
    /* Give back the unused tail; a failed shrink keeps the larger block. */
    void *p = graftI_realloc(ds->pixels, k ? (size_t)k * ib : 1);
    if (p) ds->pixels = p;
    void *l = graftI_realloc(ds->labels, k ? (size_t)k * sizeof(int32_t) : 1);
    if (l) ds->labels = l;
    return GRAFT_OK;
}

graft_dataset *graft_dataset_filter(const graft_dataset *ds, const graft_data_opts *opts, graft_status *st)
{
    if (!ds) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_dataset_filter: NULL dataset"), NULL;
    graft_data_opts o;
    graftI_data_opts_resolve(opts, &o);
    if (graftI_ds_check_filter(&o, "graft_dataset_filter", st)) return NULL;
    /* Select indices first so only the kept examples are copied. */
    int64_t *idx = graftI_malloc(ds->n ? (size_t)ds->n * sizeof(int64_t) : 1);
    if (!idx) return graft_status_set(st, GRAFT_ERR_NOMEM, "graft_dataset_filter: out of memory"), NULL;
    bool by_class = o.classes && o.n_classes > 0;
    int64_t limit = o.limit > 0 ? o.limit : INT64_MAX;
    int64_t k = 0;
    for (int64_t i = 0; i < ds->n && k < limit; i++)
        if (!by_class || class_pos(&o, ds->labels[i]) >= 0) idx[k++] = i;
    graft_dataset *out = gather(ds, idx, k, st);
    graftI_free(idx);
    if (!out) return NULL;
    if (o.relabel)
        for (int64_t i = 0; i < out->n; i++) out->labels[i] = (int32_t)class_pos(&o, out->labels[i]);
    graft_status_clear(st);
    return out;
}

graft_code graft_dataset_split(const graft_dataset *ds, int64_t n_first, bool shuffle, uint64_t seed,
                               graft_dataset **first, graft_dataset **second, graft_status *st)
{
    if (first) *first = NULL;
    if (second) *second = NULL;
    if (!ds || !first || !second)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_dataset_split: NULL argument");
    if (n_first < 0 || n_first > ds->n)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                "graft_dataset_split: n_first %lld (0..%lld expected)", (long long)n_first,
                                (long long)ds->n);
    size_t nb = ds->n ? (size_t)ds->n : 1;
    int64_t *perm = graftI_malloc(nb * sizeof(int64_t));
    uint8_t *in_first = graftI_calloc(nb, 1);
    int64_t *idx = graftI_malloc(nb * sizeof(int64_t));
    graft_code rc = GRAFT_OK;
    if (!perm || !in_first || !idx) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "graft_dataset_split: out of memory");
        goto done;
    }
    /* Stream 0 is reserved for splits; batcher epochs use streams 1, 2, ... */
    if (shuffle)
        graftI_data_permute(perm, ds->n, seed, 0);
    else
        for (int64_t i = 0; i < ds->n; i++) perm[i] = i;
    for (int64_t i = 0; i < n_first; i++) in_first[perm[i]] = 1;
    int64_t k = 0;
    for (int64_t i = 0; i < ds->n; i++)
        if (in_first[i]) idx[k++] = i;
    *first = gather(ds, idx, k, st);
    k = 0;
    for (int64_t i = 0; i < ds->n; i++)
        if (!in_first[i]) idx[k++] = i;
    if (*first) *second = gather(ds, idx, k, st);
    if (!*first || !*second) {
        graft_dataset_free(*first);
        *first = NULL;
        rc = GRAFT_ERR_NOMEM; /* gather's only failure; st holds its message */
        goto done;
    }
    graft_status_clear(st);
done:
    graftI_free(perm);
    graftI_free(in_first);
    graftI_free(idx);
    return rc;
}

int64_t graft_dataset_size(const graft_dataset *ds) { return ds ? ds->n : 0; }

void graft_dataset_image_dims(const graft_dataset *ds, int64_t dims[3])
{
    dims[0] = ds ? ds->h : 0;
    dims[1] = ds ? ds->w : 0;
    dims[2] = ds ? ds->c : 0;
}

graft_dtype graft_dataset_pixel_type(const graft_dataset *ds) { return ds ? ds->dtype : GRAFT_INVALID; }

int32_t graft_dataset_num_classes(const graft_dataset *ds)
{
    int32_t m = -1;
    for (int64_t i = 0; ds && i < ds->n; i++)
        if (ds->labels[i] > m) m = ds->labels[i];
    return m == INT32_MAX ? INT32_MAX : m + 1;
}

const int32_t *graft_dataset_labels(const graft_dataset *ds) { return ds ? ds->labels : NULL; }
const void *graft_dataset_pixels(const graft_dataset *ds) { return ds ? ds->pixels : NULL; }

graft_code graft_dataset_image(const graft_dataset *ds, int64_t i, float *out, graft_status *st)
{
    if (!ds || !out) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_dataset_image: NULL argument");
    if (i < 0 || i >= ds->n)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                "graft_dataset_image: index %lld (0..%lld expected)", (long long)i,
                                (long long)ds->n - 1);
    size_t m = (size_t)(ds->h * ds->w * ds->c);
    if (ds->dtype == GRAFT_UINT8) {
        const uint8_t *p = (const uint8_t *)ds->pixels + (size_t)i * m;
        for (size_t j = 0; j < m; j++) out[j] = (float)p[j] / 255.0f;
    } else {
        memcpy(out, (const float *)ds->pixels + (size_t)i * m, m * sizeof(float));
    }
    graft_status_clear(st);
    return GRAFT_OK;
}

void graft_dataset_class_counts(const graft_dataset *ds, int64_t *counts, int n)
{
    if (!counts || n <= 0) return;
    memset(counts, 0, (size_t)n * sizeof *counts);
    for (int64_t i = 0; ds && i < ds->n; i++)
        if (ds->labels[i] < n) counts[ds->labels[i]]++;
}
