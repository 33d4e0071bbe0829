/* lib/data/h5data.c - image datasets in HDF5 (/images [N,H,W,C] uint8|float32,
 * /labels [N] integer): hardened reading from an in-memory file image (file
 * bytes come through graft's I/O hooks) and writing through an in-memory file
 * that is then saved atomically. Rules from docs/reliability.md (HDF5). */
#include <math.h>
#include <stdio.h>

#include <hdf5.h>

#include "data_internal.h"

#define H5D_MAX_RANK      8    /* ranks above this are refused before fetching dims */
#define H5D_STORAGE_RATIO 1100 /* deflate stays under ~1032:1 */

/* libhdf5 prints its error stack to stderr by default: silence it for the
 * duration of a call and restore the caller's handler afterwards. */
typedef struct h5_quiet {
    H5E_auto2_t func;
    void *data;
} h5_quiet;

static void quiet_on(h5_quiet *q)
{
    q->func = NULL;
    q->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void quiet_off(h5_quiet *q)
{
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *ud)
{
    if (n == 0 && e && e->desc) snprintf(ud, 200, "%s", e->desc);
    return 0;
}

/* The most specific message on the HDF5 error stack (then cleared). */
static const char *h5_err(char buf[200])
{
    snprintf(buf, 200, "no detail from libhdf5");
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, buf);
    H5Eclear2(H5E_DEFAULT);
    return buf;
}

/* A type's description for messages: "float64", "int16", "string", ... */
static const char *type_desc(hid_t t, char buf[48])
{
    H5T_class_t cl = H5Tget_class(t);
    size_t sz = H5Tget_size(t);
    switch (cl) {
    case H5T_INTEGER:
        snprintf(buf, 48, "%sint%zu%s", H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "", sz * 8,
                 H5Tget_order(t) == H5T_ORDER_BE ? " big-endian" : "");
        break;
    case H5T_FLOAT:
        snprintf(buf, 48, "float%zu%s", sz * 8, H5Tget_order(t) == H5T_ORDER_BE ? " big-endian" : "");
        break;
    case H5T_STRING: snprintf(buf, 48, "string"); break;
    case H5T_COMPOUND: snprintf(buf, 48, "compound"); break;
    case H5T_OPAQUE: snprintf(buf, 48, "opaque"); break;
    case H5T_ARRAY: snprintf(buf, 48, "array"); break;
    case H5T_VLEN: snprintf(buf, 48, "variable-length"); break;
    case H5T_ENUM: snprintf(buf, 48, "enum"); break;
    case H5T_REFERENCE: snprintf(buf, 48, "reference"); break;
    default: snprintf(buf, 48, "type class %d", (int)cl); break;
    }
    return buf;
}

/* Accepted element types: file type -> the native memory type read without conversion. */
typedef struct h5_kind {
    hid_t file, mem;
    size_t size;
    bool is_signed, is_float;
} h5_kind;

/* Matches t against the accepted types (images: uint8 / float32 LE; labels:
 * 8..64-bit integers LE, 8-bit either order). false when none matches. */
static bool match_type(hid_t t, bool labels, h5_kind *k)
{
    h5_kind img[] = {
        {H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, false, false},
        {H5T_STD_U8BE, H5T_NATIVE_UINT8, 1, false, false},
        {H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, true, true},
    };
    h5_kind lab[] = {
        {H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, false, false},
        {H5T_STD_U8BE, H5T_NATIVE_UINT8, 1, false, false},
        {H5T_STD_I8LE, H5T_NATIVE_INT8, 1, true, false},
        {H5T_STD_I8BE, H5T_NATIVE_INT8, 1, true, false},
        {H5T_STD_U16LE, H5T_NATIVE_UINT16, 2, false, false},
        {H5T_STD_I16LE, H5T_NATIVE_INT16, 2, true, false},
        {H5T_STD_U32LE, H5T_NATIVE_UINT32, 4, false, false},
        {H5T_STD_I32LE, H5T_NATIVE_INT32, 4, true, false},
        {H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, false, false},
        {H5T_STD_I64LE, H5T_NATIVE_INT64, 8, true, false},
    };
    const h5_kind *list = labels ? lab : img;
    size_t n = labels ? sizeof lab / sizeof lab[0] : sizeof img / sizeof img[0];
    for (size_t i = 0; i < n; i++) {
        /* the native type must be the file type itself: no conversion path */
        if (H5Tequal(t, list[i].file) > 0 && (list[i].size == 1 || H5Tequal(list[i].mem, list[i].file) > 0)) {
            *k = list[i];
            return true;
        }
    }
    return false;
}

/* One dataset read under the rules: hard link, plain layout, known filters,
 * checked rank, type and element count, then read with the native type. */
typedef struct h5_array {
    int rank;
    hsize_t dims[H5D_MAX_RANK];
    h5_kind kind;
    void *data; /* owned */
    size_t nbytes;
} h5_array;

static graft_code read_array(const void *image, size_t len, hid_t file, const char *name, const char *key,
                             bool labels, int min_rank, int max_rank, int64_t max_bytes, h5_array *a,
                             graft_status *st)
{
    char eb[200], tb[48];
    graft_code rc = GRAFT_OK;
    hid_t dapl = H5I_INVALID_HID, d = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, sp = H5I_INVALID_HID,
          t = H5I_INVALID_HID;
    memset(a, 0, sizeof *a);

    htri_t ex = H5Lexists(file, key + 1, H5P_DEFAULT);
    if (ex <= 0) {
        if (ex < 0)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: cannot look up (%s)", name, key,
                                    h5_err(eb));
        return graft_status_set(st, GRAFT_ERR_NOT_FOUND, "%s: %s: dataset missing", name, key);
    }
    H5L_info_t li;
    if (H5Lget_info(file, key + 1, &li, H5P_DEFAULT) < 0)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: bad link (%s)", name, key, h5_err(eb));
    if (li.type != H5L_TYPE_HARD)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "%s: %s: %s link refused (hard link expected)",
                                name, key,
                                li.type == H5L_TYPE_SOFT       ? "soft"
                                : li.type == H5L_TYPE_EXTERNAL ? "external"
                                                               : "user-defined");
    graft_code prc = graftI_h5_precheck(image, len, (uint64_t)li.u.address, name, key, st);
    if (prc) return prc;
    dapl = H5Pcreate(H5P_DATASET_ACCESS);
    if (dapl < 0 || H5Pset_chunk_cache(dapl, 521, (size_t)4 << 20, 0.75) < 0) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: cannot make an access list (%s)", name, key,
                              h5_err(eb));
        goto out;
    }
    d = H5Dopen2(file, key + 1, dapl);
    if (d < 0) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: not a readable dataset (%s)", name, key,
                              h5_err(eb));
        goto out;
    }
    dcpl = H5Dget_create_plist(d);
    if (dcpl < 0) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: no creation properties (%s)", name, key,
                              h5_err(eb));
        goto out;
    }
    H5D_layout_t lay = H5Pget_layout(dcpl);
    if (lay != H5D_CONTIGUOUS && lay != H5D_CHUNKED && lay != H5D_COMPACT) {
        rc = graft_status_set(st, lay == H5D_VIRTUAL ? GRAFT_ERR_UNSUPPORTED : GRAFT_ERR_CORRUPT,
                              "%s: %s: %s layout refused (contiguous, chunked or compact expected)", name,
                              key, lay == H5D_VIRTUAL ? "virtual" : "unknown");
        goto out;
    }
    int next = H5Pget_external_count(dcpl);
    if (next != 0) {
        rc = graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                              "%s: %s: external storage refused (%d external files)", name, key, next);
        goto out;
    }
    int nf = H5Pget_nfilters(dcpl);
    if (nf < 0 || nf > 32) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: bad filter pipeline (%d filters)", name, key,
                              nf);
        goto out;
    }
    for (int i = 0; i < nf; i++) {
        unsigned flags = 0, cd[8], cfg = 0;
        size_t ncd = 8;
        char fname[64] = "";
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &ncd, cd, sizeof fname, fname, &cfg);
        if (id != H5Z_FILTER_DEFLATE && id != H5Z_FILTER_SHUFFLE && id != H5Z_FILTER_FLETCHER32) {
            fname[sizeof fname - 1] = '\0';
            rc =
                graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                 "%s: %s: filter %d \"%s\" refused (deflate, shuffle or fletcher32 expected)",
                                 name, key, (int)id, fname);
            goto out;
        }
    }
    sp = H5Dget_space(d);
    if (sp < 0 || H5Sget_simple_extent_type(sp) != H5S_SIMPLE) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                              "%s: %s: scalar, null or unreadable dataspace (simple expected)", name, key);
        goto out;
    }
    int rank = H5Sget_simple_extent_ndims(sp);
    if (rank < 0 || rank > H5D_MAX_RANK || rank < min_rank || rank > max_rank) {
        if (min_rank == max_rank)
            rc =
                graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: rank (%d vs %d)", name, key, min_rank, rank);
        else
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: rank (%d..%d vs %d)", name, key, min_rank,
                                  max_rank, rank);
        goto out;
    }
    if (H5Sget_simple_extent_dims(sp, a->dims, NULL) != rank) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: cannot read dims (%s)", name, key, h5_err(eb));
        goto out;
    }
    a->rank = rank;
    if (lay == H5D_CHUNKED) {
        /* libhdf5 1.10 reads out of bounds when a chunk is larger than the
         * dataset (a one-byte change to the layout message does that) */
        hsize_t cd[H5D_MAX_RANK];
        if (H5Pget_chunk(dcpl, H5D_MAX_RANK, cd) != rank) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                                  "%s: %s: chunk rank differs from the dataset rank (%d)", name, key, rank);
            goto out;
        }
        for (int i = 0; i < rank; i++)
            if (cd[i] == 0 || (a->dims[i] > 0 && cd[i] > a->dims[i])) {
                rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: chunk dim %d (1..%llu vs %llu)", name,
                                      key, i, (unsigned long long)a->dims[i], (unsigned long long)cd[i]);
                goto out;
            }
    }
    t = H5Dget_type(d);
    if (t < 0 || !match_type(t, labels, &a->kind)) {
        rc = graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "%s: %s: element type (%s vs %s)", name, key,
                              labels ? "8/16/32/64-bit little-endian integer"
                                     : "uint8 or little-endian float32",
                              t < 0 ? "unreadable" : type_desc(t, tb));
        goto out;
    }
    uint64_t count = 1, bytes;
    for (int i = 0; i < rank; i++)
        if (__builtin_mul_overflow(count, (uint64_t)a->dims[i], &count)) count = UINT64_MAX;
    if (__builtin_mul_overflow(count, (uint64_t)a->kind.size, &bytes) || bytes > (uint64_t)max_bytes ||
        bytes > SIZE_MAX) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM,
                              "%s: %s: %llu elements exceed the cap of %lld bytes (raise max_bytes)", name,
                              key, (unsigned long long)count, (long long)max_bytes);
        goto out;
    }
    /* Stored bytes bound the data: unwritten (fill-value) datasets and
     * impossible compression ratios are refused before allocating. */
    uint64_t stored = H5Dget_storage_size(d);
    uint64_t bound =
        nf == 0 ? stored
                : (stored > UINT64_MAX / H5D_STORAGE_RATIO ? UINT64_MAX : stored * H5D_STORAGE_RATIO + 4096);
    if (bytes > bound) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                              "%s: %s: data not stored (%llu bytes needed vs %llu bytes stored)", name, key,
                              (unsigned long long)bytes, (unsigned long long)stored);
        goto out;
    }
    a->nbytes = (size_t)bytes;
    a->data = graftI_malloc(a->nbytes ? a->nbytes : 1);
    if (!a->data) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: cannot allocate %zu bytes", name, key, a->nbytes);
        goto out;
    }
    if (a->nbytes && H5Dread(d, a->kind.mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->data) < 0) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: read failed (%s)", name, key, h5_err(eb));
        goto out;
    }
out:
    if (t >= 0) H5Tclose(t);
    if (sp >= 0) H5Sclose(sp);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (d >= 0) H5Dclose(d);
    if (dapl >= 0) H5Pclose(dapl);
    if (rc) {
        graftI_free(a->data);
        a->data = NULL;
    }
    return rc;
}

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

static bool has_signature(const uint8_t *p, size_t len)
{
    static const uint8_t sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    /* the superblock sits at 0, 512, 1024, 2048, ... */
    for (size_t off = 0; off + 8 <= len; off = off ? off * 2 : 512)
        if (memcmp(p + off, sig, 8) == 0) return true;
    return false;
}

graft_dataset *graftI_h5_parse(const void *data, size_t len, const char *name, const graft_data_opts *o,
                               graft_status *st)
{
    char eb[200];
    h5_quiet q;
    quiet_on(&q);
    H5PLset_loading_state(0); /* never load filter plugins named by a file */
    graft_dataset *ds = NULL;
    h5_array im = {0}, lb = {0};
    int32_t *labels = NULL;
    hid_t file = H5I_INVALID_HID;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) < 0 ||
        H5Pset_file_image(fapl, (void *)(uintptr_t)data, len) < 0) {
        graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot set up an in-memory file (%s)", name, h5_err(eb));
        goto out;
    }
    /* The core driver refuses a file image whose name exists on disk (this one
     * cannot) and shares open files by name (hence the counter). */
    static unsigned long image_counter;
    char iname[64];
    snprintf(iname, sizeof iname, "/dev/null/graft-h5-image-%lu", ++image_counter);
    file = H5Fopen(iname, H5F_ACC_RDONLY, fapl);
    if (file < 0) {
        graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: not a readable HDF5 file (%s)", name, h5_err(eb));
        goto out;
    }
    if (read_array(data, len, file, name, "/images", false, 3, 4, o->max_bytes, &im, st)) goto out;
    if (read_array(data, len, file, name, "/labels", true, 1, 1, o->max_bytes, &lb, st)) goto out;
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
    quiet_off(&q);
    graftI_free(im.data);
    graftI_free(lb.data);
    graftI_free(labels);
    return ds;
}

/* Checks the signature here (no child for a file that is not HDF5), then parses in a
 * child process unless the options ask for this one. */
static graft_dataset *load_image(const void *data, size_t len, const char *name, const graft_data_opts *o,
                                 graft_status *st)
{
    if (!data || !has_signature(data, len))
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: offset 0: not an HDF5 file (no superblock signature in %zu bytes)", name,
                                len),
               NULL;
    return o->h5_in_process ? graftI_h5_parse(data, len, name, o, st)
                            : graftI_h5_parse_isolated(data, len, name, o, st);
}

graft_dataset *graft_dataset_load_h5_image(const void *data, size_t len, const char *name,
                                           const graft_data_opts *opts, graft_status *st)
{
    graft_data_opts o;
    graftI_data_opts_resolve(opts, &o);
    if (!name) name = "<memory>";
    if (graftI_ds_check_filter(&o, name, st)) return NULL;
    if ((uint64_t)len > (uint64_t)o.max_bytes)
        return graft_status_set(st, GRAFT_ERR_NOMEM,
                                "%s: %zu bytes exceed the cap of %lld bytes (raise max_bytes)", name, len,
                                (long long)o.max_bytes),
               NULL;
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
                              h5_err(eb));
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
                                  h5_err(eb));
            goto out;
        }
    }
    d = H5Dcreate2(file, key + 1, ftype, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (d < 0 || (dims[0] > 0 && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0))
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: cannot write (%s)", path, key, h5_err(eb));
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
    h5_quiet q;
    quiet_on(&q);
    graft_code rc = GRAFT_OK;
    uint8_t *img = NULL;
    hid_t file = H5I_INVALID_HID;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0 || H5Pset_fapl_core(fapl, (size_t)4 << 20, 0) < 0) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot set up an in-memory file (%s)", path,
                              h5_err(eb));
        goto out;
    }
    file = H5Fcreate("/dev/null/graft-h5-out", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (file < 0) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot create an in-memory file (%s)", path,
                              h5_err(eb));
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
        rc = graft_status_set(st, GRAFT_ERR_INTERNAL, "%s: flush failed (%s)", path, h5_err(eb));
        goto out;
    }
    ssize_t sz = H5Fget_file_image(file, NULL, 0);
    if (sz <= 0) {
        rc = graft_status_set(st, GRAFT_ERR_INTERNAL, "%s: no file image (%s)", path, h5_err(eb));
        goto out;
    }
    img = graftI_malloc((size_t)sz);
    if (!img) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot allocate %zd bytes", path, sz);
        goto out;
    }
    if (H5Fget_file_image(file, img, (size_t)sz) != sz) {
        rc = graft_status_set(st, GRAFT_ERR_INTERNAL, "%s: file image changed size (%s)", path, h5_err(eb));
        goto out;
    }
    H5Fclose(file);
    file = H5I_INVALID_HID;
    rc = graftI_write_file_atomic(path, img, (size_t)sz, st);
    if (rc == GRAFT_OK) graft_status_clear(st);
out:
    if (file >= 0) H5Fclose(file);
    if (fapl >= 0) H5Pclose(fapl);
    quiet_off(&q);
    graftI_free(img);
    return rc;
}
