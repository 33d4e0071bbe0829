/* lib/data/h5util.c - graft's hardened HDF5 reading, shared by the dataset and Keras
 * readers: quiet error stacks, file images opened from memory, one dataset read under
 * the rules of docs/reliability.md (HDF5), string-array attributes. */
#include <stdio.h>
#include <string.h>

#include "h5util.h"

/* libhdf5 prints its error stack to stderr by default: silence it for the
 * duration of a call and restore the caller's handler afterwards. */
void graftI_h5_quiet_on(graftI_h5_quiet *q)
{
    q->func = NULL;
    q->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void graftI_h5_quiet_off(graftI_h5_quiet *q)
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
const char *graftI_h5_err(char buf[200])
{
    snprintf(buf, 200, "no detail from libhdf5");
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, buf);
    H5Eclear2(H5E_DEFAULT);
    return buf;
}

/* A type's description for messages: "float64", "int16", "string", ... */
const char *graftI_h5_type_desc(hid_t t, char buf[48])
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

static bool match_list(hid_t t, const h5_kind *list, size_t n, h5_kind *k)
{
    for (size_t i = 0; i < n; i++) {
        /* the native type must be the file type itself: no conversion path */
        if (H5Tequal(t, list[i].file) > 0 && (list[i].size == 1 || H5Tequal(list[i].mem, list[i].file) > 0)) {
            *k = list[i];
            return true;
        }
    }
    return false;
}

/* Matches t against the accepted types of kinds. false when none matches. */
static bool match_type(hid_t t, graftI_h5_kinds kinds, h5_kind *k)
{
    const h5_kind img[] = {
        {H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, false, false, GRAFT_UINT8},
        {H5T_STD_U8BE, H5T_NATIVE_UINT8, 1, false, false, GRAFT_UINT8},
        {H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, true, true, GRAFT_FLOAT},
    };
    const h5_kind lab[] = {
        {H5T_STD_U8LE, H5T_NATIVE_UINT8, 1, false, false, GRAFT_UINT8},
        {H5T_STD_U8BE, H5T_NATIVE_UINT8, 1, false, false, GRAFT_UINT8},
        {H5T_STD_I8LE, H5T_NATIVE_INT8, 1, true, false, GRAFT_INT8},
        {H5T_STD_I8BE, H5T_NATIVE_INT8, 1, true, false, GRAFT_INT8},
        {H5T_STD_U16LE, H5T_NATIVE_UINT16, 2, false, false, GRAFT_UINT16},
        {H5T_STD_I16LE, H5T_NATIVE_INT16, 2, true, false, GRAFT_INT16},
        {H5T_STD_U32LE, H5T_NATIVE_UINT32, 4, false, false, GRAFT_UINT32},
        {H5T_STD_I32LE, H5T_NATIVE_INT32, 4, true, false, GRAFT_INT32},
        {H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, false, false, GRAFT_UINT64},
        {H5T_STD_I64LE, H5T_NATIVE_INT64, 8, true, false, GRAFT_INT64},
    };
    const h5_kind flt[] = {
        {H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, true, true, GRAFT_FLOAT},
        {H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 8, true, true, GRAFT_DOUBLE},
    };
    if (kinds == GRAFTI_H5_IMAGES) return match_list(t, img, sizeof img / sizeof *img, k);
    if (kinds == GRAFTI_H5_LABELS) return match_list(t, lab, sizeof lab / sizeof *lab, k);
    if (match_list(t, flt, sizeof flt / sizeof *flt, k) || match_list(t, lab, sizeof lab / sizeof *lab, k))
        return true;
    /* IEEE half, little-endian: no predefined libhdf5 type; read as raw 16-bit words */
    if (H5Tget_class(t) == H5T_FLOAT && H5Tget_size(t) == 2 && H5Tget_order(t) == H5T_ORDER_LE) {
        size_t spos, epos, esize, mpos, msize;
        if (H5Tget_fields(t, &spos, &epos, &esize, &mpos, &msize) >= 0 && spos == 15 && epos == 10 &&
            esize == 5 && mpos == 0 && msize == 10) {
            *k = (h5_kind){t, t, 2, true, true, GRAFT_HALF};
            return true;
        }
    }
    return false;
}

#define H5D_MAX_CHUNKS 1000000

/* Every stored chunk of a chunked dataset sits at a valid chunk coordinate, lies inside
 * the file image and, without filters, holds exactly one chunk's bytes: libhdf5 1.10
 * copies chunks whose index entries are garbage (a heap over-read the h5 fuzz target
 * found). Looked up by coordinates (a B-tree search each), then the index's own count
 * must match; at most H5D_MAX_CHUNKS chunks. */
static graft_code check_chunks(hid_t d, hid_t sp, size_t len, int rank, const hsize_t *cd, const h5_array *a, int nf,
                               const char *name, const char *key, graft_status *st)
{
    hsize_t grid[H5D_MAX_RANK], at[H5D_MAX_RANK];
    uint64_t chunks = 1, chunk_bytes = a->kind.size;
    for (int i = 0; i < rank; i++) {
        grid[i] = (a->dims[i] + cd[i] - 1) / cd[i];
        at[i] = 0;
        chunks = grid[i] && chunks > H5D_MAX_CHUNKS / grid[i] ? H5D_MAX_CHUNKS + 1 : chunks * grid[i];
        chunk_bytes = cd[i] && chunk_bytes > UINT64_MAX / cd[i] ? UINT64_MAX : chunk_bytes * cd[i];
    }
    if (chunks > H5D_MAX_CHUNKS)
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: more than %d chunks (rewrite it with larger chunks)",
                                name, key, H5D_MAX_CHUNKS);
    uint64_t found = 0;
    for (uint64_t c = 0; c < chunks; c++) {
        hsize_t off[H5D_MAX_RANK];
        for (int i = 0; i < rank; i++) off[i] = at[i] * cd[i];
        unsigned mask = 0;
        haddr_t addr = HADDR_UNDEF;
        hsize_t size = 0;
        if (H5Dget_chunk_info_by_coord(d, off, &mask, &addr, &size) < 0) {
            char eb[200];
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: chunk %llu: unreadable index (%s)", name, key,
                                    (unsigned long long)c, graftI_h5_err(eb));
        }
        if (addr != HADDR_UNDEF) {
            found++;
            if (addr > len || size > len - addr)
                return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                        "%s: %s: chunk %llu: %llu bytes at offset %llu past the end of the file (%zu)",
                                        name, key, (unsigned long long)c, (unsigned long long)size,
                                        (unsigned long long)addr, len);
            if ((nf == 0 || mask == ((1u << nf) - 1)) && size != chunk_bytes)
                return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                        "%s: %s: chunk %llu at offset %llu: unfiltered chunk of %llu bytes (%llu "
                                        "expected)",
                                        name, key, (unsigned long long)c, (unsigned long long)addr,
                                        (unsigned long long)size, (unsigned long long)chunk_bytes);
        }
        for (int i = rank - 1; i >= 0; i--) { /* next coordinate, last dim fastest */
            if (++at[i] < grid[i]) break;
            at[i] = 0;
        }
    }
    /* an index entry at no valid coordinate (libhdf5 would still copy it) */
    hsize_t listed = 0;
    if (H5Dget_num_chunks(d, sp, &listed) < 0 || listed != found)
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: %s: the chunk index lists %llu chunks, %llu of them at valid coordinates", name,
                                key, (unsigned long long)listed, (unsigned long long)found);
    return GRAFT_OK;
}

graft_code graftI_h5_read_array(const void *image, size_t len, hid_t file, const char *name, const char *key,
                                 graftI_h5_kinds kinds, int min_rank, int max_rank, int64_t max_bytes, h5_array *a,
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
                                    graftI_h5_err(eb));
        return graft_status_set(st, GRAFT_ERR_NOT_FOUND, "%s: %s: dataset missing", name, key);
    }
    H5L_info_t li;
    if (H5Lget_info(file, key + 1, &li, H5P_DEFAULT) < 0)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: bad link (%s)", name, key, graftI_h5_err(eb));
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
                              graftI_h5_err(eb));
        goto out;
    }
    d = H5Dopen2(file, key + 1, dapl);
    if (d < 0) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: not a readable dataset (%s)", name, key,
                              graftI_h5_err(eb));
        goto out;
    }
    dcpl = H5Dget_create_plist(d);
    if (dcpl < 0) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: no creation properties (%s)", name, key,
                              graftI_h5_err(eb));
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
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: cannot read dims (%s)", name, key, graftI_h5_err(eb));
        goto out;
    }
    a->rank = rank;
    hsize_t cd[H5D_MAX_RANK]; /* chunk dims (chunked layout) */
    if (lay == H5D_CHUNKED) {
        /* libhdf5 1.10 reads out of bounds when a chunk is larger than the
         * dataset (a one-byte change to the layout message does that) */
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
    if (t < 0 || !match_type(t, kinds, &a->kind)) {
        rc = graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "%s: %s: element type (%s vs %s)", name, key,
                              kinds == GRAFTI_H5_LABELS   ? "8/16/32/64-bit little-endian integer"
                              : kinds == GRAFTI_H5_IMAGES ? "uint8 or little-endian float32"
                                                          : "little-endian float16/32/64 or integer",
                              t < 0 ? "unreadable" : graftI_h5_type_desc(t, tb));
        goto out;
    }
    uint64_t count = 1, bytes;
    for (int i = 0; i < rank; i++)
        if (__builtin_mul_overflow(count, (uint64_t)a->dims[i], &count)) count = UINT64_MAX;
    if (__builtin_mul_overflow(count, (uint64_t)a->kind.size, &bytes) || bytes > (uint64_t)max_bytes ||
        bytes > SIZE_MAX) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM,
                              "%s: %s: %llu elements exceed the cap (%lld bytes left under max_bytes; raise it)",
                              name, key, (unsigned long long)count, (long long)max_bytes);
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
    if (lay == H5D_CHUNKED && count > 0 && (rc = check_chunks(d, sp, len, rank, cd, a, nf, name, key, st)) != GRAFT_OK)
        goto out;
    a->nbytes = (size_t)bytes;
    a->data = graftI_malloc(a->nbytes ? a->nbytes : 1);
    if (!a->data) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: cannot allocate %zu bytes", name, key, a->nbytes);
        goto out;
    }
    if (a->nbytes && H5Dread(d, a->kind.mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, a->data) < 0) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: read failed (%s)", name, key, graftI_h5_err(eb));
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


bool graftI_h5_has_signature(const void *data, size_t len)
{
    static const uint8_t sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    const uint8_t *p = data;
    /* the superblock sits at 0, 512, 1024, 2048, ... */
    for (size_t off = 0; p && off + 8 <= len; off = off ? off * 2 : 512)
        if (memcmp(p + off, sig, 8) == 0) return true;
    return false;
}

graft_code graftI_h5_check_image(const void *data, size_t len, const char *name, int64_t max_bytes,
                                 graft_status *st)
{
    if ((uint64_t)len > (uint64_t)max_bytes)
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %zu bytes exceed the cap of %lld bytes (raise max_bytes)",
                                name, len, (long long)max_bytes);
    if (!graftI_h5_has_signature(data, len))
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: offset 0: not an HDF5 file (no superblock signature in %zu bytes)", name, len);
    return GRAFT_OK;
}

hid_t graftI_h5_open_image(const void *data, size_t len, const char *name, hid_t *fapl, graft_status *st)
{
    char eb[200];
    *fapl = H5I_INVALID_HID;
    if (graftI_h5_precheck_root(data, len, name, st)) return H5I_INVALID_HID;
    H5PLset_loading_state(0); /* never load filter plugins named by a file */
    *fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (*fapl < 0 || H5Pset_fapl_core(*fapl, (size_t)1 << 20, 0) < 0 ||
        H5Pset_file_image(*fapl, (void *)(uintptr_t)data, len) < 0) {
        graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot set up an in-memory file (%s)", name, graftI_h5_err(eb));
        return H5I_INVALID_HID;
    }
    /* The core driver refuses a file image whose name exists on disk (this one
     * cannot) and shares open files by name (hence the counter). */
    static unsigned long image_counter;
    char iname[64];
    snprintf(iname, sizeof iname, "/dev/null/graft-h5-image-%lu", ++image_counter);
    hid_t file = H5Fopen(iname, H5F_ACC_RDONLY, *fapl);
    if (file < 0)
        graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: not a readable HDF5 file (%s)", name, graftI_h5_err(eb));
    return file;
}

void graftI_h5_strings_free(char **v, int n)
{
    for (int i = 0; v && i < n; i++) graftI_free(v[i]);
    graftI_free(v);
}

#define H5S_MAX_STRING 65536

graft_code graftI_h5_precheck_path(const void *data, size_t len, hid_t file, const char *path, const char *name,
                                   graft_status *st)
{
    char eb[200];
    haddr_t addr;
    if (!strcmp(path, "/")) {
        H5O_info_t oi;
        if (H5Oget_info2(file, &oi, H5O_INFO_BASIC) < 0)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: /: unreadable root group (%s)", name, graftI_h5_err(eb));
        addr = oi.addr;
    } else {
        H5L_info_t li;
        htri_t ex = H5Lexists(file, path + (path[0] == '/'), H5P_DEFAULT);
        if (ex <= 0)
            return graft_status_set(st, ex < 0 ? GRAFT_ERR_CORRUPT : GRAFT_ERR_NOT_FOUND, "%s: %s: %s", name, path,
                                    ex < 0 ? "cannot look up" : "missing");
        if (H5Lget_info(file, path + (path[0] == '/'), &li, H5P_DEFAULT) < 0)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: bad link (%s)", name, path, graftI_h5_err(eb));
        if (li.type != H5L_TYPE_HARD)
            return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "%s: %s: soft, external or user-defined link refused",
                                    name, path);
        addr = li.u.address;
    }
    return graftI_h5_precheck(data, len, (uint64_t)addr, name, path, st);
}

graft_code graftI_h5_strings_attr(const void *data, size_t len, hid_t file, const char *path, const char *attr,
                                  const char *name, int max_count, char ***out, int *n, graft_status *st)
{
    char eb[200], tb[48];
    *out = NULL;
    *n = 0;
    graft_code rc = graftI_h5_precheck_path(data, len, file, path, name, st);
    if (rc) return rc;
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID, sp = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    char **v = NULL;
    char *raw = NULL;
    int count = 0;
    htri_t ex = H5Aexists_by_name(file, path, attr, H5P_DEFAULT);
    if (ex < 0) return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: attribute %s: cannot look up (%s)", name,
                                        path, attr, graftI_h5_err(eb));
    if (ex == 0) return graft_status_set(st, GRAFT_ERR_NOT_FOUND, "%s: %s: attribute %s missing", name, path, attr);
    a = H5Aopen_by_name(file, path, attr, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: attribute %s: unreadable (%s)", name, path, attr,
                              graftI_h5_err(eb));
        goto out;
    }
    t = H5Aget_type(a);
    sp = H5Aget_space(a);
    hssize_t np0 = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (np0 == 0 && H5Sget_simple_extent_type(sp) == H5S_SIMPLE) { /* empty: any type (h5py writes float64) */
        v = graftI_calloc(1, sizeof *v);
        if (!v) rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: attribute %s: out of memory", name, path, attr);
        goto out;
    }
    if (t < 0 || sp < 0 || H5Tget_class(t) != H5T_STRING) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: attribute %s: element type (string vs %s)", name, path,
                              attr, t < 0 ? "unreadable" : graftI_h5_type_desc(t, tb));
        goto out;
    }
    H5S_class_t sc = H5Sget_simple_extent_type(sp);
    int rank = sc == H5S_SIMPLE ? H5Sget_simple_extent_ndims(sp) : sc == H5S_SCALAR ? 0 : -1;
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    if (rank < 0 || rank > 1 || np < 0) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: attribute %s: rank %d (0 or 1 expected)", name, path,
                              attr, rank);
        goto out;
    }
    if (np > max_count) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: attribute %s: %lld strings (graft's cap is %d)", name,
                              path, attr, (long long)np, max_count);
        goto out;
    }
    count = (int)np;
    v = graftI_calloc((size_t)(count ? count : 1), sizeof *v);
    if (!v) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: attribute %s: out of memory", name, path, attr);
        goto out;
    }
    htri_t vl = H5Tis_variable_str(t);
    if (vl < 0) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: attribute %s: bad string type", name, path, attr);
        goto out;
    }
    if (vl) {
        mt = H5Tcopy(H5T_C_S1);
        char **ptrs = graftI_calloc((size_t)(count ? count : 1), sizeof *ptrs);
        if (mt < 0 || !ptrs || H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Tset_cset(mt, H5Tget_cset(t)) < 0 ||
            (count && H5Aread(a, mt, ptrs) < 0)) {
            graftI_free(ptrs);
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: attribute %s: unreadable strings (%s)", name, path,
                                  attr, graftI_h5_err(eb));
            goto out;
        }
        for (int i = 0; i < count && rc == GRAFT_OK; i++) {
            size_t l = ptrs[i] ? strnlen(ptrs[i], H5S_MAX_STRING + 1) : 0;
            if (l > H5S_MAX_STRING)
                rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: attribute %s: string %d longer than %d bytes "
                                      "(graft's cap)", name, path, attr, i, H5S_MAX_STRING);
            else if (!(v[i] = graftI_malloc(l + 1)))
                rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: attribute %s: out of memory", name, path, attr);
            else {
                if (l) memcpy(v[i], ptrs[i], l);
                v[i][l] = '\0';
            }
        }
        H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, ptrs);
        graftI_free(ptrs);
        if (rc) goto out;
    } else {
        size_t sz = H5Tget_size(t);
        if (sz == 0 || sz > H5S_MAX_STRING) {
            rc = graft_status_set(st, sz ? GRAFT_ERR_NOMEM : GRAFT_ERR_CORRUPT,
                                  "%s: %s: attribute %s: strings of %zu bytes (1..%d, graft's cap)", name, path, attr,
                                  sz, H5S_MAX_STRING);
            goto out;
        }
        mt = H5Tcopy(H5T_C_S1);
        raw = graftI_malloc(sz * (size_t)(count ? count : 1));
        if (mt < 0 || !raw || H5Tset_size(mt, sz) < 0 || H5Tset_strpad(mt, H5T_STR_NULLPAD) < 0 ||
            H5Tset_cset(mt, H5Tget_cset(t)) < 0 ||
            (count && H5Aread(a, mt, raw) < 0)) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: attribute %s: unreadable strings (%s)", name, path,
                                  attr, graftI_h5_err(eb));
            goto out;
        }
        for (int i = 0; i < count; i++) {
            size_t l = strnlen(raw + (size_t)i * sz, sz);
            if (!(v[i] = graftI_malloc(l + 1))) {
                rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: attribute %s: out of memory", name, path, attr);
                goto out;
            }
            memcpy(v[i], raw + (size_t)i * sz, l);
            v[i][l] = '\0';
        }
    }
out:
    graftI_free(raw);
    if (mt >= 0) H5Tclose(mt);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    if (rc) {
        graftI_h5_strings_free(v, count);
        return rc;
    }
    *out = v;
    *n = count;
    return GRAFT_OK;
}
