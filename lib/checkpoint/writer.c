/* lib/checkpoint/writer.c - graft_ckpt_writer: V2 bundles byte-identical to what
 * TensorFlow's BundleWriter produces (header, bytewise-sorted keys, densely packed
 * data, masked crc32c per tensor), written crash-safely: data to a temp file, fsync,
 * rename; index built last into a temp file, fsync, rename; then the directory fsync. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

#include "tensor_bundle.pb-c.h"

#include "checkpoint/ckpt_internal.h"

#define WBUF_CAP (1u << 20)
#define TF_BLOCK_SIZE 262144
#define TF_RESTART_INTERVAL 16

typedef struct wentry {
    uint8_t *key;
    size_t klen;
    /* data-bearing entries */
    int dtype;
    graft_shape shape;
    uint64_t offset, size;
    uint32_t crc;
    /* full entries of partitioned tensors */
    int nslices;
    int64_t (*sl_start)[GRAFT_MAX_DIMS];
    int64_t (*sl_len)[GRAFT_MAX_DIMS];
} wentry;

struct graft_ckpt_writer {
    char *prefix;
    char *data_final, *data_tmp;
    int fd;
    uint64_t off;
    graftI_ck_buf wbuf;
    wentry *e;
    int n, cap;
    bool failed, finished, renamed;
};

static graft_code fail(graft_ckpt_writer *w, graft_code rc)
{
    w->failed = true;
    return rc;
}

static char *suffixed(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *r = graftI_malloc(la + lb + 1);
    if (r) {
        memcpy(r, a, la);
        memcpy(r + la, b, lb + 1);
    }
    return r;
}

static char *temp_name(const char *final)
{
    char tail[48];
    snprintf(tail, sizeof tail, ".tempstate%llu", (unsigned long long)graftI_random64());
    return suffixed(final, tail);
}

graft_ckpt_writer *graft_ckpt_writer_new(const char *prefix, graft_status *st)
{
    if (!prefix || !*prefix)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_ckpt_writer_new: empty prefix"), NULL;
    graft_ckpt_writer *w = graftI_calloc(1, sizeof *w);
    if (!w) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", prefix), NULL;
    w->fd = -1;
    w->prefix = graftI_strdup(prefix);
    w->data_final = suffixed(prefix, ".data-00000-of-00001");
    w->data_tmp = w->data_final ? temp_name(w->data_final) : NULL;
    if (!w->prefix || !w->data_final || !w->data_tmp) {
        graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", prefix);
        graft_ckpt_writer_free(w);
        return NULL;
    }
    const graft_io_hooks *io = graftI_io();
    w->fd = io->open(io->ud, w->data_tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (w->fd < 0) {
        graft_status_set(st, errno == ENOENT ? GRAFT_ERR_NOT_FOUND : GRAFT_ERR_IO, "%s: open: %s", w->data_tmp,
                         strerror(errno));
        graft_ckpt_writer_free(w);
        return NULL;
    }
    graft_status_clear(st);
    return w;
}

static graft_code flush_buf(graft_ckpt_writer *w, graft_status *st)
{
    if (w->wbuf.n == 0) return GRAFT_OK;
    graft_code rc = graftI_ck_write_full(w->fd, w->data_tmp, w->wbuf.p, w->wbuf.n, st);
    w->wbuf.n = 0;
    return rc;
}

static graft_code append(graft_ckpt_writer *w, const void *p, size_t n, graft_status *st)
{
    if (n >= WBUF_CAP) {
        graft_code rc = flush_buf(w, st);
        if (rc == GRAFT_OK) rc = graftI_ck_write_full(w->fd, w->data_tmp, p, n, st);
        return rc;
    }
    if (w->wbuf.n + n > WBUF_CAP) {
        graft_code rc = flush_buf(w, st);
        if (rc != GRAFT_OK) return rc;
    }
    if (!graftI_ck_buf_put(&w->wbuf, p, n)) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", w->prefix);
    return GRAFT_OK;
}

static wentry *new_entry(graft_ckpt_writer *w, const uint8_t *key, size_t klen)
{
    if (w->n == w->cap) {
        int nc = w->cap ? w->cap * 2 : 64;
        wentry *e = graftI_realloc(w->e, (size_t)nc * sizeof *e);
        if (!e) return NULL;
        w->e = e;
        w->cap = nc;
    }
    wentry *e = &w->e[w->n];
    memset(e, 0, sizeof *e);
    e->key = graftI_malloc(klen ? klen : 1);
    if (!e->key) return NULL;
    memcpy(e->key, key, klen);
    e->klen = klen;
    w->n++;
    return e;
}

/* Appends a tensor's bytes and records an entry under the raw key. */
static graft_code add_raw(graft_ckpt_writer *w, const uint8_t *key, size_t klen, const char *kname,
                          const graft_tensor *t, graft_status *st)
{
    graft_dtype dt = graft_tensor_dtype(t);
    if (!graft_dtype_valid(dt))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: %s: invalid dtype %d", w->prefix, kname, (int)dt);
    wentry *e = new_entry(w, key, klen);
    if (!e) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", w->prefix);
    e->dtype = (int)dt;
    e->shape = graft_tensor_shape(t);
    e->offset = w->off;
    graft_code rc;
    if (dt == GRAFT_STRING) {
        graftI_ck_buf b = {0};
        uint32_t crc;
        if (!graftI_ck_encode_strings(&b, graft_tensor_cdata(t), graft_tensor_num_elements(t), &crc)) {
            graftI_ck_buf_free(&b);
            return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: out of memory", w->prefix, kname);
        }
        rc = append(w, b.p, b.n, st);
        e->size = b.n;
        e->crc = graftI_crc32c_mask(crc);
        graftI_ck_buf_free(&b);
    } else {
        size_t nb = graft_tensor_nbytes(t);
        const void *d = graft_tensor_cdata(t);
        e->size = nb;
        e->crc = graftI_crc32c_mask(graftI_crc32c(d, nb));
        rc = append(w, d, nb, st);
    }
    w->off += e->size;
    return rc;
}

static graft_code check_key(graft_ckpt_writer *w, const char *key, graft_status *st)
{
    if (w->failed || w->finished)
        return graft_status_set(st, GRAFT_ERR_MISUSE, "%s: writer already %s", w->prefix,
                                w->finished ? "finished" : "failed");
    if (!key || !*key) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: empty checkpoint key", w->prefix);
    return GRAFT_OK;
}

graft_code graft_ckpt_writer_add(graft_ckpt_writer *w, const char *key, const graft_tensor *t, graft_status *st)
{
    graft_code rc = check_key(w, key, st);
    if (rc != GRAFT_OK) return rc;
    if (!t) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: %s: NULL tensor", w->prefix, key);
    rc = add_raw(w, (const uint8_t *)key, strlen(key), key, t, st);
    if (rc != GRAFT_OK) return fail(w, rc);
    graft_status_clear(st);
    return GRAFT_OK;
}

graft_code graft_ckpt_writer_add_slice(graft_ckpt_writer *w, const char *key, graft_shape full, const int64_t *start,
                                       const graft_tensor *t, graft_status *st)
{
    graft_code rc = check_key(w, key, st);
    if (rc != GRAFT_OK) return rc;
    if (!t || !start) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: %s: NULL argument", w->prefix, key);
    int rank = graft_tensor_rank(t);
    char a[200], b[200];
    if (full.rank != rank || rank < 0 || rank > GRAFT_MAX_DIMS)
        return graft_status_set(st, GRAFT_ERR_SHAPE, "%s: %s: slice rank differs from the full shape (%d vs %d)",
                                w->prefix, key, full.rank, rank);
    bool whole = true;
    graft_shape ts = graft_tensor_shape(t);
    for (int d = 0; d < rank; d++) {
        int64_t n = graft_tensor_dim(t, d);
        if (start[d] < 0 || full.dims[d] < 0 || start[d] > full.dims[d] || n > full.dims[d] - start[d])
            return graft_status_set(st, GRAFT_ERR_SHAPE, "%s: %s: slice of shape %s at dim %d start %lld is outside %s",
                                    w->prefix, key, graft_shape_str(&ts, a, sizeof a), d,
                                    (long long)start[d], graft_shape_str(&full, b, sizeof b));
        whole = whole && start[d] == 0 && n == full.dims[d];
    }
    if (whole) return graft_ckpt_writer_add(w, key, t, st);
    size_t kl = strlen(key);
    /* the full entry: dtype, shape and the list of slices (TF's AddSlice) */
    wentry *fe = NULL;
    for (int i = 0; i < w->n; i++)
        if (w->e[i].nslices > 0 && w->e[i].klen == kl && memcmp(w->e[i].key, key, kl) == 0) fe = &w->e[i];
    if (fe && (fe->dtype != (int)graft_tensor_dtype(t) || !graftI_shape_equal(&fe->shape, &full)))
        return graft_status_set(st, GRAFT_ERR_SHAPE, "%s: %s: slice disagrees with earlier slices (%s %s vs %s %s)",
                                w->prefix, key, graft_dtype_name((graft_dtype)fe->dtype),
                                graft_shape_str(&fe->shape, a, sizeof a), graft_dtype_name(graft_tensor_dtype(t)),
                                graft_shape_str(&full, b, sizeof b));
    if (!fe) {
        fe = new_entry(w, (const uint8_t *)key, kl);
        if (!fe) return fail(w, graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", w->prefix));
        fe->dtype = (int)graft_tensor_dtype(t);
        fe->shape = full;
    }
    void *ns = graftI_realloc(fe->sl_start, (size_t)(fe->nslices + 1) * sizeof *fe->sl_start);
    if (ns) fe->sl_start = ns;
    void *nl = graftI_realloc(fe->sl_len, (size_t)(fe->nslices + 1) * sizeof *fe->sl_len);
    if (nl) fe->sl_len = nl;
    if (!ns || !nl) return fail(w, graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", w->prefix));
    for (int d = 0; d < GRAFT_MAX_DIMS; d++) {
        fe->sl_start[fe->nslices][d] = d < rank ? start[d] : 0;
        fe->sl_len[fe->nslices][d] = d < rank ? graft_tensor_dim(t, d) : 0;
    }
    fe->nslices++;
    graftI_ck_buf kb = {0};
    if (!graftI_ck_slice_key(&kb, (const uint8_t *)key, kl, rank, fe->sl_start[fe->nslices - 1],
                             fe->sl_len[fe->nslices - 1])) {
        graftI_ck_buf_free(&kb);
        return fail(w, graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", w->prefix));
    }
    rc = add_raw(w, kb.p, kb.n, key, t, st);
    graftI_ck_buf_free(&kb);
    if (rc != GRAFT_OK) return fail(w, rc);
    graft_status_clear(st);
    return GRAFT_OK;
}

static int cmp_wentry(const void *a, const void *b)
{
    const wentry *x = a, *y = b;
    size_t m = x->klen < y->klen ? x->klen : y->klen;
    int c = m ? memcmp(x->key, y->key, m) : 0;
    if (c) return c;
    return x->klen < y->klen ? -1 : x->klen > y->klen;
}

/* Serializes a BundleEntryProto exactly as TF's C++ protobuf would (field order,
 * proto3 zero omission, a shape submessage always present). */
static bool pack_entry(const wentry *e, graftI_ck_buf *out)
{
    Tensorflow__BundleEntryProto p = TENSORFLOW__BUNDLE_ENTRY_PROTO__INIT;
    Tensorflow__TensorShapeProto shape = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
    Tensorflow__TensorShapeProto__Dim dims[GRAFT_MAX_DIMS], *dimp[GRAFT_MAX_DIMS];
    for (int d = 0; d < e->shape.rank; d++) {
        tensorflow__tensor_shape_proto__dim__init(&dims[d]);
        dims[d].size = e->shape.dims[d];
        dimp[d] = &dims[d];
    }
    shape.n_dim = (size_t)e->shape.rank;
    shape.dim = dimp;
    p.dtype = (Tensorflow__DataType)e->dtype;
    p.shape = &shape;
    Tensorflow__TensorSliceProto *sl = NULL, **slp = NULL;
    Tensorflow__TensorSliceProto__Extent *ext = NULL, **extp = NULL;
    if (e->nslices > 0) {
        int r = e->shape.rank;
        sl = graftI_calloc((size_t)e->nslices, sizeof *sl);
        slp = graftI_calloc((size_t)e->nslices, sizeof *slp);
        ext = graftI_calloc((size_t)e->nslices * (size_t)(r ? r : 1), sizeof *ext);
        extp = graftI_calloc((size_t)e->nslices * (size_t)(r ? r : 1), sizeof *extp);
        if (!sl || !slp || !ext || !extp) {
            graftI_free(sl);
            graftI_free(slp);
            graftI_free(ext);
            graftI_free(extp);
            return false;
        }
        for (int i = 0; i < e->nslices; i++) {
            tensorflow__tensor_slice_proto__init(&sl[i]);
            for (int d = 0; d < r; d++) {
                Tensorflow__TensorSliceProto__Extent *x = &ext[i * r + d];
                tensorflow__tensor_slice_proto__extent__init(x);
                x->start = e->sl_start[i][d];
                x->has_length_case = TENSORFLOW__TENSOR_SLICE_PROTO__EXTENT__HAS_LENGTH_LENGTH;
                x->length = e->sl_len[i][d];
                extp[i * r + d] = x;
            }
            sl[i].n_extent = (size_t)r;
            sl[i].extent = extp + i * r;
            slp[i] = &sl[i];
        }
        p.n_slices = (size_t)e->nslices;
        p.slices = slp;
    } else {
        p.shard_id = 0;
        p.offset = (int64_t)e->offset;
        p.size = (int64_t)e->size;
        p.crc32c = e->crc;
    }
    size_t n = tensorflow__bundle_entry_proto__get_packed_size(&p);
    bool ok = false;
    out->n = 0;
    uint8_t *tmp = graftI_malloc(n ? n : 1);
    if (tmp) {
        tensorflow__bundle_entry_proto__pack(&p, tmp);
        ok = graftI_ck_buf_put(out, tmp, n) || n == 0;
        graftI_free(tmp);
    }
    graftI_free(sl);
    graftI_free(slp);
    graftI_free(ext);
    graftI_free(extp);
    return ok;
}

static graft_code build_index(graft_ckpt_writer *w, graftI_ck_tbuilder *tb, graft_status *st)
{
    /* header: num_shards 1, endianness LITTLE, version { producer: 1 } */
    Tensorflow__VersionDef v = TENSORFLOW__VERSION_DEF__INIT;
    v.producer = 1;
    Tensorflow__BundleHeaderProto h = TENSORFLOW__BUNDLE_HEADER_PROTO__INIT;
    h.num_shards = 1;
    h.version = &v;
    uint8_t hb[32];
    size_t hn = tensorflow__bundle_header_proto__get_packed_size(&h);
    if (hn > sizeof hb) return graft_status_set(st, GRAFT_ERR_INTERNAL, "header too large");
    tensorflow__bundle_header_proto__pack(&h, hb);
    graft_code rc = graftI_ck_tbuilder_add(tb, (const uint8_t *)"", 0, hb, hn, st);
    graftI_ck_buf vb = {0};
    for (int i = 0; i < w->n && rc == GRAFT_OK; i++) {
        if (!pack_entry(&w->e[i], &vb)) {
            rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", w->prefix);
            break;
        }
        rc = graftI_ck_tbuilder_add(tb, w->e[i].key, w->e[i].klen, vb.p, vb.n, st);
    }
    graftI_ck_buf_free(&vb);
    return rc;
}

graft_code graft_ckpt_writer_finish(graft_ckpt_writer *w, graft_status *st)
{
    if (!w) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_ckpt_writer_finish: NULL writer");
    if (w->failed || w->finished)
        return graft_status_set(st, GRAFT_ERR_MISUSE, "%s: writer already %s", w->prefix,
                                w->finished ? "finished" : "failed");
    const graft_io_hooks *io = graftI_io();
    graft_code rc = GRAFT_OK;
    char kb[256];
    if (w->n > 1) qsort(w->e, (size_t)w->n, sizeof *w->e, cmp_wentry);
    for (int i = 1; i < w->n; i++)
        if (cmp_wentry(&w->e[i - 1], &w->e[i]) == 0)
            return fail(w, graft_status_set(st, GRAFT_ERR_INVALID_ARG, "%s: duplicate checkpoint key '%s'", w->prefix,
                                            graftI_ck_keystr(w->e[i].key, w->e[i].klen, kb, sizeof kb)));
    /* 1. data: flush, fsync, close, rename */
    rc = flush_buf(w, st);
    if (rc == GRAFT_OK && io->fsync(io->ud, w->fd) != 0)
        rc = graft_status_set(st, GRAFT_ERR_IO, "%s: fsync: %s", w->data_tmp, strerror(errno));
    int fd = w->fd;
    w->fd = -1;
    if (io->close(io->ud, fd) != 0 && rc == GRAFT_OK)
        rc = graft_status_set(st, GRAFT_ERR_IO, "%s: close: %s", w->data_tmp, strerror(errno));
    if (rc != GRAFT_OK) return fail(w, rc);

    /* 2. index: built in memory, written to a temp file */
    graftI_ck_tbuilder *tb = graftI_ck_tbuilder_new(TF_BLOCK_SIZE, TF_RESTART_INTERVAL);
    if (!tb) return fail(w, graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", w->prefix));
    rc = build_index(w, tb, st);
    const uint8_t *ib = NULL;
    size_t in = 0;
    if (rc == GRAFT_OK) rc = graftI_ck_tbuilder_finish(tb, &ib, &in, st);
    char *index_final = suffixed(w->prefix, ".index");
    char *index_tmp = index_final ? temp_name(index_final) : NULL;
    if (rc == GRAFT_OK && (!index_final || !index_tmp))
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", w->prefix);
    int ifd = -1;
    if (rc == GRAFT_OK) {
        ifd = io->open(io->ud, index_tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (ifd < 0) rc = graft_status_set(st, GRAFT_ERR_IO, "%s: open: %s", index_tmp, strerror(errno));
    }
    if (rc == GRAFT_OK) rc = graftI_ck_write_full(ifd, index_tmp, ib, in, st);
    if (rc == GRAFT_OK && io->fsync(io->ud, ifd) != 0)
        rc = graft_status_set(st, GRAFT_ERR_IO, "%s: fsync: %s", index_tmp, strerror(errno));
    if (ifd >= 0 && io->close(io->ud, ifd) != 0 && rc == GRAFT_OK)
        rc = graft_status_set(st, GRAFT_ERR_IO, "%s: close: %s", index_tmp, strerror(errno));
    graftI_ck_tbuilder_free(tb);

    /* 3. renames: an older checkpoint at this prefix is first made absent (its
     * index removed) so no reader can pair an old index with new data; then
     * data, then the index last. */
    if (rc == GRAFT_OK) {
        if (graftI_ck_exists(index_final) && io->unlink(io->ud, index_final) != 0)
            rc = graft_status_set(st, GRAFT_ERR_IO, "%s: unlink: %s", index_final, strerror(errno));
    }
    if (rc == GRAFT_OK) {
        if (io->rename(io->ud, w->data_tmp, w->data_final) != 0)
            rc = graft_status_set(st, GRAFT_ERR_IO, "%s: rename to %s: %s", w->data_tmp, w->data_final,
                                  strerror(errno));
        else w->renamed = true;
    }
    if (rc == GRAFT_OK && io->rename(io->ud, index_tmp, index_final) != 0)
        rc = graft_status_set(st, GRAFT_ERR_IO, "%s: rename to %s: %s", index_tmp, index_final, strerror(errno));
    if (rc != GRAFT_OK && index_tmp) io->unlink(io->ud, index_tmp);
    if (rc == GRAFT_OK) {
        char *dir = graftI_ck_dirname(w->prefix);
        rc = dir ? graftI_fsync_dir(dir, st) : graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        graftI_free(dir);
    }
    graftI_free(index_final);
    graftI_free(index_tmp);
    if (rc != GRAFT_OK) return fail(w, rc);
    w->finished = true;
    graft_status_clear(st);
    return GRAFT_OK;
}

void graft_ckpt_writer_free(graft_ckpt_writer *w)
{
    if (!w) return;
    const graft_io_hooks *io = graftI_io();
    if (w->fd >= 0) io->close(io->ud, w->fd);
    if (!w->finished && w->data_tmp) {
        if (w->renamed) io->unlink(io->ud, w->data_final); /* data without index: ours, incomplete */
        else io->unlink(io->ud, w->data_tmp);
    }
    for (int i = 0; i < w->n; i++) {
        graftI_free(w->e[i].key);
        graftI_free(w->e[i].sl_start);
        graftI_free(w->e[i].sl_len);
    }
    graftI_free(w->e);
    graftI_ck_buf_free(&w->wbuf);
    graftI_free(w->prefix);
    graftI_free(w->data_final);
    graftI_free(w->data_tmp);
    graftI_free(w);
}

/* ---- removal ------------------------------------------------------------------------------ */
static bool is_data_name(const char *name, const char *base)
{
    size_t bl = strlen(base), nl = strlen(name);
    if (nl != bl + 20 || memcmp(name, base, bl)) return false;
    const char *p = name + bl;
    if (memcmp(p, ".data-", 6) || memcmp(p + 11, "-of-", 4)) return false;
    for (int i = 0; i < 5; i++)
        if (p[6 + i] < '0' || p[6 + i] > '9' || p[15 + i] < '0' || p[15 + i] > '9') return false;
    return true;
}

graft_code graft_ckpt_remove(const char *prefix, graft_status *st)
{
    const graft_io_hooks *io = graftI_io();
    graft_code rc = GRAFT_OK;
    char *idx = suffixed(prefix, ".index"), *meta = suffixed(prefix, ".meta");
    char *dir = graftI_ck_dirname(prefix);
    if (!idx || !meta || !dir) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        goto done;
    }
    bool v2 = graftI_ck_exists(idx);
    /* the index goes first: a half-removed checkpoint is then simply absent */
    if (v2 && io->unlink(io->ud, idx) != 0 && errno != ENOENT)
        rc = graft_status_set(st, GRAFT_ERR_IO, "%s: unlink: %s", idx, strerror(errno));
    DIR *d = opendir(dir);
    const char *base = graftI_ck_basename(prefix);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!is_data_name(de->d_name, base)) continue;
            char *p = graftI_ck_join(dir, de->d_name);
            if (p && io->unlink(io->ud, p) != 0 && errno != ENOENT && rc == GRAFT_OK)
                rc = graft_status_set(st, GRAFT_ERR_IO, "%s: unlink: %s", p, strerror(errno));
            graftI_free(p);
        }
        closedir(d);
    }
    if (graftI_ck_exists(meta) && io->unlink(io->ud, meta) != 0 && errno != ENOENT && rc == GRAFT_OK)
        rc = graft_status_set(st, GRAFT_ERR_IO, "%s: unlink: %s", meta, strerror(errno));
    if (!v2 && graftI_ck_exists(prefix)) {
        /* a V1 file: only if it really is a table (magic in the last 8 bytes) */
        graftI_ck_limits lim = {1u << 20, 1, 1};
        graftI_ck_table *t = NULL;
        graft_status tmp;
        uint64_t size = 0;
        if (graftI_ck_file_size(prefix, &size, &tmp) == GRAFT_OK && size >= 48) {
            graft_code orc = graftI_ck_table_open(prefix, &lim, &t, &tmp);
            bool table = orc == GRAFT_OK || strstr(tmp.msg, "bad magic") == NULL;
            graftI_ck_table_close(t);
            if (table && io->unlink(io->ud, prefix) != 0 && rc == GRAFT_OK)
                rc = graft_status_set(st, GRAFT_ERR_IO, "%s: unlink: %s", prefix, strerror(errno));
        }
    }
done:
    graftI_free(idx);
    graftI_free(meta);
    graftI_free(dir);
    if (rc == GRAFT_OK) graft_status_clear(st);
    return rc;
}
