/* lib/data/h5data.c - image datasets in HDF5 (/images [N,H,W,C] uint8|float32,
 * /labels [N] integer): hardened reading from an in-memory file image (file
 * bytes come through graft's I/O hooks) and writing through an in-memory file
 * that is then saved atomically. Rules from docs/reliability.md (HDF5). */
#include <math.h>
#include <stdio.h>

#include "h5util.h"

/* Converts any accepted integer label array to int32, checking the range. */
static graft_code labels_to_i32(const char *name, const h5_array *a, int32_t *out, graft_status *st)
{
    int64_t n = (int64_t)a->dims[0];
    for (int64_t i = 0; i < n; i++) {
        int64_t v;
        uint64_t u = 0;
        bool neg = false;
        switch (a->kind.size) {
        case 1: v = a->kind.is_signed ? ((const int8_t *)a->data)[i] : ((const uint8_t *)a->data)[i]; break;
        case 2: v = a->kind.is_signed ? ((const int16_t *)a->data)[i] : ((const uint16_t *)a->data)[i]; break;
        case 4:
            v = a->kind.is_signed ? ((const int32_t *)a->data)[i] : (int64_t)((const uint32_t *)a->data)[i];
            break;
        default:
            if (a->kind.is_signed) {
                v = ((const int64_t *)a->data)[i];
            } else {
                u = ((const uint64_t *)a->data)[i];
                v = u > INT32_MAX ? INT64_MAX : (int64_t)u;
            }
            break;
        }
        neg = v < 0;
        if (neg || v > INT32_MAX)
            return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                    "%s: /labels: element %lld: label %lld out of range (0..%d)", name,
                                    (long long)i, (long long)v, INT32_MAX);
        out[i] = (int32_t)v;
    }
    return GRAFT_OK;
}

graft_dataset *graftI_h5_parse(const void *data, size_t len, const char *name, const graft_data_opts *o,
                               graft_status *st)
{
    graftI_h5_quiet q;
    graftI_h5_quiet_on(&q);
    graft_dataset *ds = NULL;
    h5_array im = {0}, lb = {0};
    int32_t *labels = NULL;
    hid_t fapl = H5I_INVALID_HID;
    hid_t file = graftI_h5_open_image(data, len, name, &fapl, st);
    if (file < 0 || graftI_h5_precheck_path(data, len, file, "/", name, st)) goto out;
    if (graftI_h5_read_array(data, len, file, name, "/images", GRAFTI_H5_IMAGES, 3, 4, o->max_bytes, &im, st)) goto out;
    if (graftI_h5_read_array(data, len, file, name, "/labels", GRAFTI_H5_LABELS, 1, 1, o->max_bytes, &lb, st)) goto out;
    if (lb.dims[0] != im.dims[0]) {
        graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: /labels: count (%llu images vs %llu labels)", name,
                         (unsigned long long)im.dims[0], (unsigned long long)lb.dims[0]);
        goto out;
    }
    int64_t n = (int64_t)im.dims[0], h = (int64_t)im.dims[1], w = (int64_t)im.dims[2];
    int64_t c = im.rank == 4 ? (int64_t)im.dims[3] : 1;
    graft_dtype dt = im.kind.is_float ? GRAFT_FLOAT : GRAFT_UINT8;
    if (graftI_ds_check_dims(name, dt, n, h, w, c, o->max_bytes, NULL, st)) {
        if (st) st->code = GRAFT_ERR_CORRUPT;
        goto out;
    }
    if (dt == GRAFT_FLOAT) {
        const float *f = im.data;
        for (size_t i = 0; i < im.nbytes / sizeof(float); i++)
            if (!isfinite(f[i])) {
                graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: /images: element %zu is not finite", name, i);
                goto out;
            }
    }
    labels = graftI_malloc(n ? (size_t)n * sizeof(int32_t) : 1);
    if (!labels) {
        graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot allocate %lld labels", name, (long long)n);
        goto out;
    }
    if (labels_to_i32(name, &lb, labels, st)) goto out;
    ds = graftI_ds_adopt(dt, n, h, w, c, im.data, labels, st);
    im.data = NULL;
    labels = NULL;
    if (ds && graftI_ds_filter_inplace(ds, o, name, st)) {
        graft_dataset_free(ds);
        ds = NULL;
    }
    if (ds) graft_status_clear(st);
out:
    if (file >= 0) H5Fclose(file);
    if (fapl >= 0) H5Pclose(fapl);
    graftI_h5_quiet_off(&q);
    graftI_free(im.data);
    graftI_free(lb.data);
    graftI_free(labels);
    return ds;
}

/* In the child (or here): the dataset parsed and laid out as a blob: dtype, n, h, w, c
 * as u64, then the pixels, then n int32 labels. */
static graft_code dataset_to_blob(const void *data, size_t len, const char *name, const void *ctx, graftI_ck_buf *out,
                                  graft_status *st)
{
    graft_dataset *ds = graftI_h5_parse(data, len, name, ctx, st);
    if (!ds) return st->code != GRAFT_OK ? st->code : GRAFT_ERR_CORRUPT;
    graftI_blob_u64(out, (uint64_t)ds->dtype);
    graftI_blob_u64(out, (uint64_t)ds->n);
    graftI_blob_u64(out, (uint64_t)ds->h);
    graftI_blob_u64(out, (uint64_t)ds->w);
    graftI_blob_u64(out, (uint64_t)ds->c);
    graftI_ck_buf_put(out, ds->pixels, (size_t)ds->n * graftI_ds_image_bytes(ds));
    graftI_ck_buf_put(out, ds->labels, (size_t)ds->n * sizeof(int32_t));
    graft_dataset_free(ds);
    return GRAFT_OK;
}

/* The blob checked like any input (it may come from a process that parsed a hostile
 * file): type, shape and caps, exact length, labels >= 0, finite floats. */
static graft_dataset *dataset_from_blob(const uint8_t *b, size_t n, const char *name, const graft_data_opts *o,
                                        graft_status *st)
{
    graftI_blob_rd r = {b, n, 0};
    uint64_t v[5];
    for (int i = 0; i < 5; i++)
        if (!graftI_rd_u64(&r, &v[i]) || v[i] > INT64_MAX)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: the HDF5 parser sent a malformed result", name), NULL;
    size_t image_bytes = 0;
    if (v[0] > 1000 || graftI_ds_check_dims(name, (graft_dtype)v[0], (int64_t)v[1], (int64_t)v[2], (int64_t)v[3],
                                            (int64_t)v[4], o->max_bytes, &image_bytes, st)) {
        if (v[0] > 1000) graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: the HDF5 parser sent a bad pixel type", name);
        return NULL;
    }
    size_t count = (size_t)v[1], npx = count * image_bytes;
    const void *px = graftI_rd_bytes(&r, npx);
    const int32_t *lb = graftI_rd_bytes(&r, count * sizeof(int32_t));
    if (!px || !lb || r.off != r.n)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: the HDF5 parser sent %zu bytes for %zu images", name, n,
                                count),
               NULL;
    void *pixels = graftI_malloc(npx ? npx : 1);
    int32_t *labels = graftI_malloc(count ? count * sizeof(int32_t) : 1);
    if (!pixels || !labels) {
        graftI_free(pixels);
        graftI_free(labels);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot allocate %zu bytes of images", name, npx), NULL;
    }
    if (npx) memcpy(pixels, px, npx);
    if (count) memcpy(labels, lb, count * sizeof(int32_t));
    graft_code rc = GRAFT_OK;
    for (size_t i = 0; i < count && !rc; i++)
        if (labels[i] < 0)
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: /labels: element %zu is %d", name, i, (int)labels[i]);
    if (!rc && v[0] == GRAFT_FLOAT) {
        const float *f = pixels;
        for (size_t i = 0; i < npx / sizeof(float) && !rc; i++)
            if (!isfinite(f[i]))
                rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: /images: element %zu is not finite", name, i);
    }
    if (rc) {
        graftI_free(pixels);
        graftI_free(labels);
        return NULL;
    }
    graft_dataset *ds = graftI_ds_adopt((graft_dtype)v[0], (int64_t)v[1], (int64_t)v[2], (int64_t)v[3],
                                        (int64_t)v[4], pixels, labels, st);
    if (ds) graft_status_clear(st);
    return ds;
}

/* Checks the signature here (no child for a file that is not HDF5), then parses in a
 * child process unless the options ask for this one. */
static graft_dataset *load_image(const void *data, size_t len, const char *name, const graft_data_opts *o,
                                 graft_status *st)
{
    if (graftI_h5_check_image(data, len, name, o->max_bytes, st)) return NULL;
    if (o->h5_in_process) return graftI_h5_parse(data, len, name, o, st); /* no blob to copy and re-check */
    uint8_t *blob = NULL;
    size_t n = 0;
    if (graftI_h5_run(data, len, name, false, o->h5_timeout_s, o->max_bytes, dataset_to_blob, o, &blob, &n, st))
        return NULL;
    graft_dataset *ds = dataset_from_blob(blob, n, name, o, st);
    graftI_free(blob);
    return ds;
}

graft_dataset *graft_dataset_load_h5_image(const void *data, size_t len, const char *name,
                                           const graft_data_opts *opts, graft_status *st)
{
    graft_data_opts o;
    graftI_data_opts_resolve(opts, &o);
    if (!name) name = "<memory>";
    if (graftI_ds_check_filter(&o, name, st)) return NULL;
    return load_image(data, len, name, &o, st);
}

graft_dataset *graft_dataset_load_h5(const char *path, const graft_data_opts *opts, graft_status *st)
{
    if (!path) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_dataset_load_h5: NULL path"), NULL;
    graft_data_opts o;
    graftI_data_opts_resolve(opts, &o);
    if (graftI_ds_check_filter(&o, path, st)) return NULL;
    uint8_t *buf;
    size_t len;
    if (graftI_read_file(path, (size_t)o.max_bytes, &buf, &len, st)) return NULL;
    graft_dataset *ds = load_image(buf, len, path, &o, st);
    graftI_free(buf);
    return ds;
}

/* Creates /<key> with chunks of about 1 MiB along N, deflate (and shuffle for
 * multi-byte types), and writes data. */
static graft_code write_array(hid_t file, const char *path, const char *key, hid_t ftype, hid_t mtype,
                              int rank, const hsize_t *dims, size_t row_bytes, const void *data,
                              graft_status *st)
{
    char eb[200];
    graft_code rc = GRAFT_OK;
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    hid_t d = H5I_INVALID_HID;
    if (sp < 0 || dcpl < 0) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: cannot make a dataspace (%s)", path, key,
                              graftI_h5_err(eb));
        goto out;
    }
    if (dims[0] > 0) {
        hsize_t chunk[H5D_MAX_RANK];
        memcpy(chunk, dims, (size_t)rank * sizeof *chunk);
        hsize_t rows = row_bytes >= ((size_t)1 << 20) ? 1 : ((size_t)1 << 20) / row_bytes;
        chunk[0] = rows < dims[0] ? rows : dims[0];
        if (H5Pset_chunk(dcpl, rank, chunk) < 0 || (H5Tget_size(ftype) > 1 && H5Pset_shuffle(dcpl) < 0) ||
            H5Pset_deflate(dcpl, 4) < 0) {
            rc = graft_status_set(st, GRAFT_ERR_INTERNAL, "%s: %s: cannot set chunking (%s)", path, key,
                                  graftI_h5_err(eb));
            goto out;
        }
    }
    d = H5Dcreate2(file, key + 1, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0 || (dims[0] > 0 && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: cannot write (%s)", path, key, graftI_h5_err(eb));
out:
    if (d >= 0) H5Dclose(d);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    return rc;
}

graft_code graft_dataset_save_h5(const graft_dataset *ds, const char *path, graft_status *st)
{
    if (!ds || !path)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_dataset_save_h5: NULL argument");
    char eb[200];
    graftI_h5_quiet q;
    graftI_h5_quiet_on(&q);
    graft_code rc = GRAFT_OK;
    uint8_t *img = NULL;
    hid_t file = H5I_INVALID_HID;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_core(fapl, (size_t)4 << 20, 0) < 0) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot set up an in-memory file (%s)", path,
                              graftI_h5_err(eb));
        goto out;
    }
    file = H5Fcreate("/dev/null/graft-h5-out", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (file < 0) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot create an in-memory file (%s)", path,
                              graftI_h5_err(eb));
        goto out;
    }
    hsize_t idims[4] = {(hsize_t)ds->n, (hsize_t)ds->h, (hsize_t)ds->w, (hsize_t)ds->c};
    bool f32 = ds->dtype == GRAFT_FLOAT;
    if ((rc = write_array(file, path, "/images", f32 ? H5T_IEEE_F32LE : H5T_STD_U8LE,
                          f32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_UINT8, 4, idims, graftI_ds_image_bytes(ds),
                          ds->pixels, st)))
        goto out;
    hsize_t ldims[1] = {(hsize_t)ds->n};
    if ((rc = write_array(file, path, "/labels", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, ldims, sizeof(int32_t),
                          ds->labels, st)))
        goto out;
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) {
        rc = graft_status_set(st, GRAFT_ERR_INTERNAL, "%s: flush failed (%s)", path, graftI_h5_err(eb));
        goto out;
    }
    ssize_t sz = H5Fget_file_image(file, NULL, 0);
    if (sz <= 0) {
        rc = graft_status_set(st, GRAFT_ERR_INTERNAL, "%s: no file image (%s)", path, graftI_h5_err(eb));
        goto out;
    }
    img = graftI_malloc((size_t)sz);
    if (!img) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot allocate %zd bytes", path, sz);
        goto out;
    }
    if (H5Fget_file_image(file, img, (size_t)sz) != sz) {
        rc = graft_status_set(st, GRAFT_ERR_INTERNAL, "%s: file image changed size (%s)", path, graftI_h5_err(eb));
        goto out;
    }
    H5Fclose(file);
    file = H5I_INVALID_HID;
    rc = graftI_write_file_atomic(path, img, (size_t)sz, st);
    if (rc == GRAFT_OK) graft_status_clear(st);
out:
    if (file >= 0) H5Fclose(file);
    if (fapl >= 0) H5Pclose(fapl);
    graftI_h5_quiet_off(&q);
    graftI_free(img);
    return rc;
}
