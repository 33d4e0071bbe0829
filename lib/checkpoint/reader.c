/* lib/checkpoint/reader.c - graft_ckpt_reader: opening any TensorFlow checkpoint
 * (V2 bundle or V1 tensor-slices table, by prefix, file or directory), validating its
 * whole index before any data is read, and reading tensors with checksums, partition
 * reassembly and byte-swapping for big-endian bundles. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>

#include "tensor_bundle.pb-c.h"
#include "saved_tensor_slice.pb-c.h"

#include "checkpoint/reader_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "graft's checkpoint code assumes a little-endian host"
#endif

/* ---- dtypes -------------------------------------------------------------------------- */
const char *graft_ckpt_dtype_name(int dtype)
{
    static const char *const names[] = {
        "invalid", "float32", "float64", "int32", "uint8", "int16", "int8", "string", "complex64", "int64",
        "bool", "qint8", "quint8", "qint32", "bfloat16", "qint16", "quint16", "uint16", "complex128", "float16",
        "resource", "variant", "uint32", "uint64"};
    if (dtype >= 0 && dtype < (int)(sizeof names / sizeof names[0])) return names[dtype];
    return "invalid";
}

/* A DataType number a checkpoint may list (non-ref, known). */
static bool listable_dtype(int dt) { return dt >= 1 && dt <= 23; }

/* A DataType graft can load into a graft_tensor. */
bool graftI_ck_loadable_dtype(int dt)
{
    switch (dt) {
    case 1: case 2: case 3: case 4: case 5: case 6: case 7: case 9: case 10: case 14: case 17: case 19: case 22:
    case 23:
        return true;
    default:
        return false;
    }
}

void graft_ckpt_opts_init(graft_ckpt_opts *o)
{
    o->max_index_bytes = (uint64_t)1 << 30;
    o->max_entries = 1000000;
    o->max_key_bytes = 64 * 1024;
    o->flags = 0;
}

graftI_ck_limits graftI_ck_limits_of(const graft_ckpt_opts *o, bool v1)
{
    graftI_ck_limits l;
    l.max_index_bytes = o->max_index_bytes;
    if (v1) l.max_index_bytes = o->max_index_bytes > UINT64_MAX / 4 ? UINT64_MAX : o->max_index_bytes * 4;
    l.max_entries = o->max_entries;
    l.max_key_bytes = o->max_key_bytes;
    return l;
}

/* ---- reader object ------------------------------------------------------------------ */
static void entry_clear(ck_entry *e)
{
    graftI_free(e->name);
    graftI_free(e->slices);
    memset(e, 0, sizeof *e);
}

void graft_ckpt_reader_free(graft_ckpt_reader *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++) entry_clear(&r->e[i]);
    graftI_free(r->e);
    for (int i = 0; i < r->nsl; i++) graftI_free(r->sl[i].key);
    graftI_free(r->sl);
    for (int i = 0; i < r->shard_slots; i++) graftI_free(r->shard_paths ? r->shard_paths[i] : NULL);
    graftI_free(r->shard_paths);
    graftI_free(r->shard_sizes);
    for (int i = 0; i < r->ntables; i++) graftI_ck_table_close(r->tables[i]);
    graftI_free(r->tables);
    graftI_free(r->prefix);
    graftI_free(r);
}

graft_ckpt_format graft_ckpt_reader_format(const graft_ckpt_reader *r) { return r->fmt; }
const char *graft_ckpt_reader_prefix(const graft_ckpt_reader *r) { return r->prefix; }
int graft_ckpt_reader_num_entries(const graft_ckpt_reader *r) { return r ? r->n : 0; }

bool graft_ckpt_reader_entry(const graft_ckpt_reader *r, int i, graft_ckpt_entry *out)
{
    if (!r || i < 0 || i >= r->n) return false;
    const ck_entry *e = &r->e[i];
    out->name = e->name;
    out->dtype = e->dtype;
    out->shape = e->shape;
    out->num_elements = e->nelem;
    out->num_slices = e->nslices;
    return true;
}

static int cmp_bytes(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t m = al < bl ? al : bl;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return al < bl ? -1 : al > bl ? 1 : 0;
}

int graft_ckpt_reader_find(const graft_ckpt_reader *r, const char *name)
{
    if (!r || !name) return -1;
    size_t nl = strlen(name);
    int lo = 0, hi = r->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = cmp_bytes((const uint8_t *)r->e[mid].name, r->e[mid].nlen, (const uint8_t *)name, nl);
        if (c == 0) return mid;
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

static graft_code oom(graft_status *st, const char *where) { return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", where); }

bool graftI_ck_push_entry(graft_ckpt_reader *r, int *cap, ck_entry **out)
{
    if (r->n == *cap) {
        int nc = *cap ? *cap * 2 : 64;
        ck_entry *e = graftI_realloc(r->e, (size_t)nc * sizeof *e);
        if (!e) return false;
        r->e = e;
        *cap = nc;
    }
    *out = &r->e[r->n++];
    memset(*out, 0, sizeof **out);
    return true;
}

/* Shape from a TensorShapeProto: known rank <= GRAFT_MAX_DIMS, dims >= 0, element
 * count without overflow. */
graft_code graftI_ck_shape_from_proto(const void *sp_, const char *file, const char *key,
                                   graft_shape *out, int64_t *nelem, graft_status *st)
{
    const Tensorflow__TensorShapeProto *sp = sp_;
    out->rank = 0;
    *nelem = 1;
    if (!sp) return GRAFT_OK; /* absent = scalar, as protobuf defaults */
    if (sp->unknown_rank)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: shape has unknown rank (known vs unknown)", file, key);
    if (sp->n_dim > GRAFT_MAX_DIMS)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "%s: %s: rank %zu exceeds graft's limit (<= %d vs %zu)",
                                file, key, sp->n_dim, GRAFT_MAX_DIMS, sp->n_dim);
    out->rank = (int)sp->n_dim;
    for (size_t i = 0; i < sp->n_dim; i++) {
        int64_t d = sp->dim[i]->size;
        out->dims[i] = d;
        if (d < 0)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: dimension %zu is negative (>= 0 vs %lld)", file,
                                    key, i, (long long)d);
        if (!graftI_mul_i64(*nelem, d, nelem)) {
            char b[200];
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: element count of shape %s overflows int64", file,
                                    key, graft_shape_str(out, b, sizeof b));
        }
    }
    for (int i = out->rank; i < GRAFT_MAX_DIMS; i++) out->dims[i] = 0;
    return GRAFT_OK;
}

/* Slice from a TensorSliceProto against a shape: extents == rank, start >= 0,
 * explicit lengths inside the dim, whole-dim extents start at 0. */
graft_code graftI_ck_slice_from_proto(const void *sp_, const graft_shape *shape,
                                   const char *file, const char *key, ck_slice *out, int64_t *nelem,
                                   graft_status *st)
{
    const Tensorflow__TensorSliceProto *sp = sp_;
    size_t ne = sp ? sp->n_extent : 0;
    if ((int)ne != shape->rank || ne > GRAFT_MAX_DIMS)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: slice rank differs from tensor rank (%d vs %zu)",
                                file, key, shape->rank, ne);
    *nelem = 1;
    for (size_t d = 0; d < ne; d++) {
        const Tensorflow__TensorSliceProto__Extent *x = sp->extent[d];
        int64_t start = x->start, len;
        if (x->has_length_case == TENSORFLOW__TENSOR_SLICE_PROTO__EXTENT__HAS_LENGTH_LENGTH) {
            len = x->length;
            if (start < 0 || len < 0 || start > shape->dims[d] || len > shape->dims[d] - start)
                return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                        "%s: %s: slice extent %zu [%lld,+%lld) outside the dimension (size %lld)",
                                        file, key, d, (long long)start, (long long)len, (long long)shape->dims[d]);
            out->len[d] = len;
        } else {
            if (start != 0)
                return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                        "%s: %s: whole-dimension slice extent %zu starts at %lld (0 vs %lld)", file,
                                        key, d, (long long)start, (long long)start);
            out->len[d] = -1;
            len = shape->dims[d];
        }
        out->start[d] = start;
        if (!graftI_mul_i64(*nelem, len, nelem))
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: slice element count overflows", file, key);
    }
    return GRAFT_OK;
}

graft_shape graftI_ck_slice_shape(const ck_slice *s, const graft_shape *full)
{
    graft_shape r = *full;
    for (int d = 0; d < full->rank; d++) r.dims[d] = s->len[d] < 0 ? full->dims[d] : s->len[d];
    return r;
}

bool graftI_ck_slice_is_full(const ck_slice *s, const graft_shape *full)
{
    for (int d = 0; d < full->rank; d++)
        if (s->start[d] != 0 || (s->len[d] >= 0 && s->len[d] != full->dims[d])) return false;
    return true;
}

bool graftI_ck_encode_slice_key(graftI_ck_buf *b, const ck_entry *e, const ck_slice *s)
{
    b->n = 0;
    return graftI_ck_slice_key(b, (const uint8_t *)e->name, e->nlen, e->shape.rank, s->start, s->len);
}

/* =============================== V2 ==================================================== */
typedef struct {
    graft_ckpt_reader *r;
    const char *file;
    int cap, slcap;
    bool seen_header;
    graft_status *st;
} v2_ctx;

static int cmp_sl(const void *a, const void *b)
{
    const ck_slice_entry *x = a, *y = b;
    return cmp_bytes(x->key, x->klen, y->key, y->klen);
}

static graft_code v2_header(v2_ctx *c, const uint8_t *val, size_t vlen, graft_status *st)
{
    graft_ckpt_reader *r = c->r;
    graftI_ck_pballoc pa;
    ProtobufCAllocator *al = graftI_ck_pballoc_init(&pa);
    Tensorflow__BundleHeaderProto *h = tensorflow__bundle_header_proto__unpack(al, vlen, val);
    if (!h && pa.failed) return oom(st, c->file);
    if (!h)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: header entry \"\": not a BundleHeaderProto (%zu bytes)",
                                c->file, vlen);
    graft_code rc = GRAFT_OK;
    if (h->num_shards < 1 || h->num_shards > c->r->opts.max_entries)
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: header: num_shards out of range (1..%lld vs %d)", c->file,
                              (long long)c->r->opts.max_entries, h->num_shards);
    else if ((int)h->endianness != 0 && (int)h->endianness != 1)
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: header: unknown endianness (0 LITTLE or 1 BIG vs %d)",
                              c->file, (int)h->endianness);
    else if (h->version && h->version->producer < 0)
        rc = graft_status_set(st, GRAFT_ERR_VERSION,
                              "%s: header: bundle producer version too old (>= 0 vs %d)", c->file,
                              h->version->producer);
    else if (h->version && h->version->min_consumer > 1)
        rc = graft_status_set(st, GRAFT_ERR_VERSION,
                              "%s: header: bundle needs a newer reader (min_consumer <= 1 vs %d); graft reads bundle "
                              "version 1",
                              c->file, h->version->min_consumer);
    if (rc == GRAFT_OK && h->version)
        for (size_t i = 0; i < h->version->n_bad_consumers; i++)
            if (h->version->bad_consumers[i] == 1)
                rc = graft_status_set(st, GRAFT_ERR_VERSION,
                                      "%s: header: bundle disallows consumer version 1 (bad_consumers)", c->file);
    if (rc == GRAFT_OK) {
        r->num_shards = h->num_shards;
        r->big_endian = (int)h->endianness == 1;
    }
    tensorflow__bundle_header_proto__free_unpacked(h, al);
    return rc;
}

static graft_code v2_entry(void *ud, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                           uint64_t file_off, graft_status *st)
{
    v2_ctx *c = ud;
    graft_ckpt_reader *r = c->r;
    char kb[256];
    const char *ks = graftI_ck_keystr(key, klen, kb, sizeof kb);
    if (!c->seen_header) {
        c->seen_header = true;
        if (klen != 0)
            return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                    "%s: offset %llu: first key must be the empty header key (\"\" vs '%s')", c->file,
                                    (unsigned long long)file_off, ks);
        return v2_header(c, val, vlen, st);
    }
    graftI_ck_pballoc pa;
    ProtobufCAllocator *al = graftI_ck_pballoc_init(&pa);
    Tensorflow__BundleEntryProto *p = tensorflow__bundle_entry_proto__unpack(al, vlen, val);
    if (!p && pa.failed) return oom(st, c->file);
    if (!p)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: value is not a BundleEntryProto (%zu bytes at offset %llu)",
                                c->file, ks, vlen, (unsigned long long)file_off);
    graft_code rc = GRAFT_OK;
    int dt = (int)p->dtype;
    graft_shape shape;
    int64_t nelem;
    if (!listable_dtype(dt)) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: unsupported dtype %d (%s)", c->file, ks, dt,
                              dt > 100 && dt < 124 ? "a reference type" : "not a TensorFlow DataType");
        goto done;
    }
    rc = graftI_ck_shape_from_proto(p->shape, c->file, ks, &shape, &nelem, st);
    if (rc != GRAFT_OK) goto done;
    bool is_slice_key = klen > 0 && key[0] == 0x00;
    if (!is_slice_key && memchr(key, 0, klen)) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: key contains a NUL byte", c->file, ks);
        goto done;
    }
    if (p->n_slices == 0) {
        /* an entry that holds data: shard, extent and size must agree */
        if (p->shard_id < 0 || p->shard_id >= r->num_shards) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: shard_id out of range (0..%d vs %d)", c->file, ks,
                                  r->num_shards - 1, p->shard_id);
            goto done;
        }
        if (p->offset < 0 || p->size < 0 || p->offset > INT64_MAX - p->size) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: bad extent (offset %lld, size %lld)", c->file, ks,
                                  (long long)p->offset, (long long)p->size);
            goto done;
        }
        size_t isz = graftI_ck_dtype_size(dt);
        if (isz) {
            int64_t want;
            if (!graftI_mul_i64(nelem, (int64_t)isz, &want) || want != p->size) {
                char b[200];
                rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                                      "%s: %s: invalid size in bundle entry (%s %s = %lld bytes vs %lld)", c->file, ks,
                                      graft_ckpt_dtype_name(dt), graft_shape_str(&shape, b, sizeof b),
                                      (long long)want, (long long)p->size);
                goto done;
            }
        } else if (dt == 7 && (nelem > INT64_MAX - 4 || p->size < nelem + 4)) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                                  "%s: %s: string tensor of %lld elements cannot fit in %lld bytes (>= %lld)", c->file,
                                  ks, (long long)nelem, (long long)p->size, (long long)nelem + 4);
            goto done;
        }
    }
    if (is_slice_key) {
        if (p->n_slices) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: slice entry itself lists slices", c->file, ks);
            goto done;
        }
        if (r->nsl == c->slcap) {
            int nc = c->slcap ? c->slcap * 2 : 16;
            ck_slice_entry *s = graftI_realloc(r->sl, (size_t)nc * sizeof *s);
            if (!s) {
                rc = oom(st, c->file);
                goto done;
            }
            r->sl = s;
            c->slcap = nc;
        }
        ck_slice_entry *s = &r->sl[r->nsl];
        memset(s, 0, sizeof *s);
        s->key = graftI_malloc(klen);
        if (!s->key) {
            rc = oom(st, c->file);
            goto done;
        }
        memcpy(s->key, key, klen);
        s->klen = klen;
        s->dtype = dt;
        s->shape = shape;
        s->nelem = nelem;
        s->shard = p->shard_id;
        s->offset = (uint64_t)p->offset;
        s->size = (uint64_t)p->size;
        s->crc = p->crc32c;
        r->nsl++;
        goto done;
    }
    ck_entry *e;
    if (!graftI_ck_push_entry(r, &c->cap, &e)) {
        rc = oom(st, c->file);
        goto done;
    }
    e->name = graftI_strndup((const char *)key, klen);
    if (!e->name) {
        rc = oom(st, c->file);
        goto done;
    }
    e->nlen = klen;
    e->dtype = dt;
    e->shape = shape;
    e->nelem = nelem;
    e->nslices = 1;
    if (p->n_slices == 0) {
        e->shard = p->shard_id;
        e->offset = (uint64_t)p->offset;
        e->size = (uint64_t)p->size;
        e->crc = p->crc32c;
    } else {
        if ((int64_t)p->n_slices > r->opts.max_entries) {
            rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: %zu slices exceed the cap of %lld (max_entries)", c->file, ks,
                                  p->n_slices, (long long)r->opts.max_entries);
            goto done;
        }
        e->slices = graftI_calloc(p->n_slices, sizeof *e->slices);
        if (!e->slices) {
            rc = oom(st, c->file);
            goto done;
        }
        e->nslices = (int)p->n_slices;
        e->sliced = true;
        int64_t total = 0;
        for (size_t i = 0; i < p->n_slices; i++) {
            int64_t ne;
            rc = graftI_ck_slice_from_proto(p->slices[i], &shape, c->file, ks, &e->slices[i], &ne, st);
            if (rc != GRAFT_OK) goto done;
            if (!__builtin_add_overflow(total, ne, &total) && total > nelem) break;
        }
        if (total != nelem) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                                  "%s: %s: slices do not tile the tensor (%lld elements vs %lld in slices)", c->file,
                                  ks, (long long)nelem, (long long)total);
            goto done;
        }
    }
done:
    tensorflow__bundle_entry_proto__free_unpacked(p, al);
    return rc;
}

typedef struct {
    int shard;
    uint64_t off, size;
    const char *key;
} extent_ref;

static int cmp_extent(const void *a, const void *b)
{
    const extent_ref *x = a, *y = b;
    if (x->shard != y->shard) return x->shard < y->shard ? -1 : 1;
    if (x->off != y->off) return x->off < y->off ? -1 : 1;
    return x->size < y->size ? -1 : x->size > y->size;
}

static char *data_path(const char *prefix, int shard, int n)
{
    size_t l = strlen(prefix) + 32;
    char *p = graftI_malloc(l);
    if (p) snprintf(p, l, "%s.data-%05d-of-%05d", prefix, shard, n);
    return p;
}

static graft_code v2_validate(graft_ckpt_reader *r, const char *file, graft_status *st)
{
    /* partitioned tensors: every slice entry must exist and agree */
    if (r->nsl > 1) qsort(r->sl, (size_t)r->nsl, sizeof *r->sl, cmp_sl);
    for (int i = 1; i < r->nsl; i++)
        if (cmp_sl(&r->sl[i - 1], &r->sl[i]) == 0)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: duplicate slice key", file);
    graftI_ck_buf kb = {0};
    graft_code rc = GRAFT_OK;
    for (int i = 0; i < r->n && rc == GRAFT_OK; i++) {
        ck_entry *e = &r->e[i];
        if (!e->sliced) continue;
        for (int j = 0; j < e->nslices && rc == GRAFT_OK; j++) {
            if (!graftI_ck_encode_slice_key(&kb, e, &e->slices[j])) {
                rc = oom(st, file);
                break;
            }
            ck_slice_entry probe = {kb.p, kb.n, 0, {0}, 0, 0, 0, 0, 0};
            ck_slice_entry *s = r->nsl ? bsearch(&probe, r->sl, (size_t)r->nsl, sizeof *r->sl, cmp_sl) : NULL;
            graft_shape want = graftI_ck_slice_shape(&e->slices[j], &e->shape);
            char a[200], b[200];
            if (!s)
                rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: slice %d has no data entry", file, e->name, j);
            else if (s->dtype != e->dtype)
                rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: slice %d dtype differs (%s vs %s)", file,
                                      e->name, j, graft_ckpt_dtype_name(e->dtype), graft_ckpt_dtype_name(s->dtype));
            else if (!graftI_shape_equal(&s->shape, &want))
                rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: slice %d shape differs (%s vs %s)", file,
                                      e->name, j, graft_shape_str(&want, a, sizeof a),
                                      graft_shape_str(&s->shape, b, sizeof b));
            else
                e->slices[j].shard = (int)(s - r->sl); /* index of the slice entry */
        }
    }
    graftI_ck_buf_free(&kb);
    if (rc != GRAFT_OK) return rc;

    /* data files: present, large enough, extents disjoint. Only the shards entries
     * use are looked at (as TF opens them on demand), and the per-shard arrays are
     * sized by the highest one used, not by the header's num_shards: a tiny index
     * claiming a million shards allocates nothing for them. */
    int64_t next = (int64_t)r->n + r->nsl;
    extent_ref *ex = graftI_calloc((size_t)(next ? next : 1), sizeof *ex);
    if (!ex) return oom(st, file);
    int nx = 0;
    for (int i = 0; i < r->n; i++)
        if (!r->e[i].sliced) ex[nx++] = (extent_ref){r->e[i].shard, r->e[i].offset, r->e[i].size, r->e[i].name};
    for (int i = 0; i < r->nsl; i++) ex[nx++] = (extent_ref){r->sl[i].shard, r->sl[i].offset, r->sl[i].size, NULL};
    int slots = 1;
    for (int i = 0; i < nx; i++)
        if (ex[i].shard >= slots) slots = ex[i].shard + 1;
    r->shard_paths = graftI_calloc((size_t)slots, sizeof *r->shard_paths);
    r->shard_sizes = graftI_calloc((size_t)slots, sizeof *r->shard_sizes);
    if (!r->shard_paths || !r->shard_sizes) {
        graftI_free(ex);
        return oom(st, file);
    }
    r->shard_slots = slots;
    if (nx > 1) qsort(ex, (size_t)nx, sizeof *ex, cmp_extent);
    int cur = -1;
    uint64_t end = 0;
    const char *prev = NULL;
    for (int i = 0; i < nx && rc == GRAFT_OK; i++) {
        int s = ex[i].shard;
        if (s != cur) {
            cur = s;
            end = 0;
            prev = NULL;
            r->shard_paths[s] = data_path(r->prefix, s, r->num_shards);
            if (!r->shard_paths[s]) {
                rc = oom(st, file);
                break;
            }
            graft_status tmp;
            if (graftI_ck_file_size(r->shard_paths[s], &r->shard_sizes[s], &tmp) != GRAFT_OK) {
                rc = graft_status_set(st, tmp.code == GRAFT_ERR_NOT_FOUND ? GRAFT_ERR_NOT_FOUND : GRAFT_ERR_IO,
                                      "%s: %s: data file needed by the index is missing or unreadable (%s)",
                                      r->shard_paths[s], ex[i].key ? ex[i].key : "(slice)", tmp.msg);
                break;
            }
        }
        uint64_t xend = ex[i].off + ex[i].size; /* no overflow: both < 2^63 */
        if (xend > r->shard_sizes[s]) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                                  "%s: %s: tensor extent [%llu,+%llu) past the end of the data file (<= %llu vs %llu)",
                                  r->shard_paths[s], ex[i].key ? ex[i].key : "(slice)",
                                  (unsigned long long)ex[i].off, (unsigned long long)ex[i].size,
                                  (unsigned long long)r->shard_sizes[s], (unsigned long long)xend);
            break;
        }
        if (ex[i].size > 0) {
            if (ex[i].off < end)
                rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: tensor extent at offset %llu overlaps %s",
                                      r->shard_paths[s], ex[i].key ? ex[i].key : "(slice)",
                                      (unsigned long long)ex[i].off, prev ? prev : "a slice");
            end = xend;
            prev = ex[i].key;
        }
    }
    graftI_free(ex);
    return rc;
}

static graft_code open_v2(graft_ckpt_reader *r, graft_status *st)
{
    size_t pl = strlen(r->prefix);
    char *index = graftI_malloc(pl + 7);
    if (!index) return oom(st, r->prefix);
    memcpy(index, r->prefix, pl);
    memcpy(index + pl, ".index", 7);
    graftI_ck_limits lim = graftI_ck_limits_of(&r->opts, false);
    uint64_t isz;
    graft_code rc = graftI_ck_file_size(index, &isz, st);
    if (rc == GRAFT_OK && isz > r->opts.max_index_bytes)
        rc = graft_status_set(st, GRAFT_ERR_NOMEM,
                              "%s: index of %llu bytes exceeds the cap of %llu bytes (raise max_index_bytes in "
                              "graft_ckpt_opts)",
                              index, (unsigned long long)isz, (unsigned long long)r->opts.max_index_bytes);
    graftI_ck_table *t = NULL;
    if (rc == GRAFT_OK) rc = graftI_ck_table_open(index, &lim, &t, st);
    if (rc == GRAFT_OK) {
        v2_ctx c = {r, index, 0, 0, false, st};
        rc = graftI_ck_table_scan(t, v2_entry, &c, st);
        if (rc == GRAFT_OK && !c.seen_header)
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: key '': no header entry (the table is empty)", index);
    }
    graftI_ck_table_close(t);
    if (rc == GRAFT_OK) rc = v2_validate(r, index, st);
    graftI_free(index);
    return rc;
}

/* ---- V2 tensor data ---------------------------------------------------------------- */
static void swap_bytes(void *data, int64_t n, size_t isz)
{
    uint8_t *p = data;
    if (isz <= 1) return;
    /* complex types swap each component */
    for (int64_t i = 0; i < n; i++, p += isz)
        for (size_t a = 0, b = isz - 1; a < b; a++, b--) {
            uint8_t t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* Reads one stored extent (entry or slice entry) into a new tensor. */
static graft_code v2_read_extent(graft_ckpt_reader *r, const char *key, int dtype, const graft_shape *shape,
                                 int64_t nelem, int shard, uint64_t off, uint64_t size, uint32_t crc,
                                 graft_tensor **out, graft_status *st)
{
    *out = NULL;
    const char *path = r->shard_paths[shard];
    const graft_io_hooks *io = graftI_io();
    if (size > SIZE_MAX) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: tensor too large", path, key);
    graft_tensor *t = graftI_tensor_alloc(NULL, (graft_dtype)dtype, shape->dims, shape->rank, dtype == 7);
    if (!t) {
        char b[200];
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: cannot allocate a %s tensor of shape %s", path, key,
                                graft_ckpt_dtype_name(dtype), graft_shape_str(shape, b, sizeof b));
    }
    int fd = io->open(io->ud, path, O_RDONLY, 0);
    if (fd < 0) {
        graft_tensor_free(t);
        return graft_status_set(st, errno == ENOENT ? GRAFT_ERR_NOT_FOUND : GRAFT_ERR_IO, "%s: open: %s", path,
                                strerror(errno));
    }
    graft_code rc = GRAFT_OK;
    uint8_t *raw = NULL;
    if (dtype != 7) {
        rc = graftI_ck_pread_full(fd, path, t->data, (size_t)size, off, st);
        if (rc == GRAFT_OK) {
            uint32_t got = graftI_crc32c_mask(graftI_crc32c(t->data, (size_t)size));
            if (got != crc)
                rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                                      "%s: %s: tensor checksum mismatch at offset %llu (stored masked crc32c %08x vs "
                                      "computed %08x)",
                                      path, key, (unsigned long long)off, crc, got);
            else if (r->big_endian)
                swap_bytes(t->data, nelem, graftI_ck_dtype_size(dtype));
        }
        io->close(io->ud, fd);
        if (rc != GRAFT_OK) graft_tensor_free(t);
        else *out = t;
        return rc;
    }
    /* DT_STRING: varint64 lengths | masked crc32c of the lengths | bytes */
    raw = graftI_malloc(size ? (size_t)size : 1);
    if (!raw) rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: cannot allocate %llu bytes", path, key,
                                    (unsigned long long)size);
    if (rc == GRAFT_OK) rc = graftI_ck_pread_full(fd, path, raw, (size_t)size, off, st);
    io->close(io->ud, fd);
    size_t pos = 0, n = (size_t)size;
    uint32_t c = 0;
    graft_str *s = t->data;
    for (int64_t i = 0; rc == GRAFT_OK && i < nelem; i++) {
        uint64_t len;
        size_t k = graftI_ck_varint64(raw + pos, n - pos, &len);
        if (!k) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: bad varint length of string %lld at offset %llu",
                                  path, key, (long long)i, (unsigned long long)(off + pos));
            break;
        }
        pos += k;
        uint8_t fx[8];
        if (len > UINT32_MAX) {
            uint64_t be = r->big_endian ? __builtin_bswap64(len) : len;
            memcpy(fx, &be, 8);
            c = graftI_crc32c_extend(c, fx, 8);
        } else {
            uint32_t l32 = (uint32_t)len;
            if (r->big_endian) l32 = __builtin_bswap32(l32);
            memcpy(fx, &l32, 4);
            c = graftI_crc32c_extend(c, fx, 4);
        }
        s[i].len = (size_t)len; /* validated against the size below */
        if (len > size) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                                  "%s: %s: string %lld length %llu exceeds the entry size (<= %llu)", path, key,
                                  (long long)i, (unsigned long long)len, (unsigned long long)size);
            s[i].len = 0;
        }
    }
    if (rc == GRAFT_OK) {
        if (n - pos < 4) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                                  "%s: %s: string tensor truncated before its length checksum (offset %llu)", path, key,
                                  (unsigned long long)(off + pos));
        } else {
            uint32_t stored = graftI_ck_le32(raw + pos);
            if (r->big_endian) stored = __builtin_bswap32(stored);
            if (graftI_crc32c_unmask(stored) != c)
                rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                                      "%s: %s: string length checksum mismatch at offset %llu (stored %08x vs computed "
                                      "%08x)",
                                      path, key, (unsigned long long)(off + pos), stored, graftI_crc32c_mask(c));
            c = graftI_crc32c_extend(c, raw + pos, 4);
            pos += 4;
        }
    }
    for (int64_t i = 0; rc == GRAFT_OK && i < nelem; i++) {
        size_t len = s[i].len;
        s[i].len = 0;
        if (len > n - pos) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                                  "%s: %s: string %lld of %zu bytes runs past the entry (%zu bytes left)", path, key,
                                  (long long)i, len, n - pos);
            break;
        }
        char *p = graftI_malloc(len + 1);
        if (!p) {
            rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: out of memory", path, key);
            break;
        }
        memcpy(p, raw + pos, len);
        p[len] = '\0';
        s[i].ptr = p;
        s[i].len = len;
        c = graftI_crc32c_extend(c, raw + pos, len);
        pos += len;
    }
    if (rc == GRAFT_OK && pos != n)
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: %zu trailing bytes after the strings (0 vs %zu)", path,
                              key, n - pos, n - pos);
    if (rc == GRAFT_OK && graftI_crc32c_mask(c) != crc)
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                              "%s: %s: tensor checksum mismatch at offset %llu (stored masked crc32c %08x vs computed "
                              "%08x)",
                              path, key, (unsigned long long)off, crc, graftI_crc32c_mask(c));
    if (rc != GRAFT_OK) {
        for (int64_t i = 0; i < nelem; i++)
            if (!s[i].ptr) s[i].len = 0;
        graft_tensor_free(t);
    } else {
        *out = t;
    }
    graftI_free(raw);
    return rc;
}

/* Copies src (the box at start[] with src's shape) into dst (the full tensor).
 * cover (1 bit per dst element) detects overlap; strings are moved. */
static graft_code copy_box(graft_tensor *dst, graft_tensor *src, const int64_t *start, uint8_t *cover,
                           const char *file, const char *key, graft_status *st)
{
    int rank = dst->rank;
    size_t es = dst->dtype == GRAFT_STRING ? sizeof(graft_str) : graft_dtype_size(dst->dtype);
    if (src->n == 0) return GRAFT_OK;
    int64_t idx[GRAFT_MAX_DIMS] = {0};
    int64_t inner = rank ? src->dims[rank - 1] : 1;
    int64_t rows = inner ? src->n / inner : 0;
    for (int64_t row = 0; row < rows; row++) {
        int64_t off = 0;
        for (int d = 0; d < rank; d++) off = off * dst->dims[d] + start[d] + (d == rank - 1 ? 0 : idx[d]);
        for (int64_t k = 0; k < inner; k++) {
            int64_t o = off + k;
            if (cover[o >> 3] & (1u << (o & 7)))
                return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: partition slices overlap at element %lld",
                                        file, key, (long long)o);
            cover[o >> 3] |= (uint8_t)(1u << (o & 7));
        }
        uint8_t *d8 = (uint8_t *)dst->data + (size_t)off * es;
        uint8_t *s8 = (uint8_t *)src->data + (size_t)(row * inner) * es;
        memcpy(d8, s8, (size_t)inner * es);
        if (dst->dtype == GRAFT_STRING) memset(s8, 0, (size_t)inner * es); /* moved */
        for (int d = rank - 2; d >= 0; d--) {
            if (++idx[d] < src->dims[d]) break;
            idx[d] = 0;
        }
    }
    return GRAFT_OK;
}

graft_code graftI_ck_assemble(graft_ckpt_reader *r, const ck_entry *e, graftI_ck_read_slice_fn rd, const char *file,
                           graft_tensor **out, graft_status *st)
{
    graft_tensor *full = graftI_tensor_alloc(NULL, (graft_dtype)e->dtype, e->shape.dims, e->shape.rank, true);
    uint8_t *cover = graftI_calloc((size_t)(e->nelem / 8 + 1), 1);
    if (!full || !cover) {
        graft_tensor_free(full);
        graftI_free(cover);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: out of memory assembling %d slices", file, e->name,
                                e->nslices);
    }
    graft_code rc = GRAFT_OK;
    for (int j = 0; j < e->nslices && rc == GRAFT_OK; j++) {
        graft_tensor *part = NULL;
        rc = rd(r, e, j, &part, st);
        if (rc == GRAFT_OK) rc = copy_box(full, part, e->slices[j].start, cover, file, e->name, st);
        graft_tensor_free(part);
    }
    for (int64_t o = 0; rc == GRAFT_OK && o < e->nelem; o++)
        if (!(cover[o >> 3] & (1u << (o & 7))))
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: partition slices leave element %lld uncovered",
                                  file, e->name, (long long)o);
    graftI_free(cover);
    if (rc != GRAFT_OK) graft_tensor_free(full);
    else *out = full;
    return rc;
}

static graft_code v2_read_slice(graft_ckpt_reader *r, const ck_entry *e, int j, graft_tensor **out, graft_status *st)
{
    const ck_slice_entry *s = &r->sl[e->slices[j].shard];
    return v2_read_extent(r, e->name, s->dtype, &s->shape, s->nelem, s->shard, s->offset, s->size, s->crc, out, st);
}

/* ---- path normalisation -------------------------------------------------------------- */
static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

/* ".data-DDDDD-of-DDDDD" at the end of s: returns the length of what precedes. */
static bool strip_data_suffix(const char *s, size_t *cut)
{
    size_t n = strlen(s);
    const size_t L = 20; /* ".data-" 5 "-of-" 5 */
    if (n <= L) return false;
    const char *p = s + n - L;
    if (memcmp(p, ".data-", 6) || !all_digits(p + 6, 5) || memcmp(p + 11, "-of-", 4) || !all_digits(p + 15, 5))
        return false;
    *cut = n - L;
    return true;
}

/* "-SSSSS-of-NNNNN" (S digits or '?') at the end of s. */
bool graftI_ck_shard_suffix(const char *s, size_t *cut, int *nshards)
{
    size_t n = strlen(s);
    const size_t L = 15;
    if (n <= L) return false;
    const char *p = s + n - L;
    if (p[0] != '-' || memcmp(p + 6, "-of-", 4) || !all_digits(p + 10, 5)) return false;
    bool q = true, dg = true;
    for (int i = 1; i <= 5; i++) {
        q = q && p[i] == '?';
        dg = dg && p[i] >= '0' && p[i] <= '9';
    }
    if (!q && !dg) return false;
    *cut = n - L;
    *nshards = atoi(p + 10);
    return true;
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n > m && memcmp(s + n - m, suf, m) == 0;
}

static char *cat2(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *r = graftI_malloc(la + lb + 1);
    if (!r) return NULL;
    memcpy(r, a, la);
    memcpy(r + la, b, lb + 1);
    return r;
}

/* 1 when prefix.index exists, 0 when not, -1 out of memory. */
static int index_exists(const char *prefix)
{
    char *p = cat2(prefix, ".index");
    if (!p) return -1;
    int ok = graftI_ck_exists(p);
    graftI_free(p);
    return ok;
}

/* Lists the *.index prefixes in dir (for directory opens and messages). */
static int list_index_prefixes(const char *dir, char *first, size_t cap, char *all, size_t acap)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    size_t ao = 0;
    if (acap) all[0] = '\0';
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!has_suffix(de->d_name, ".index")) continue;
        size_t l = strlen(de->d_name) - 6;
        if (n == 0 && cap > l) {
            memcpy(first, de->d_name, l);
            first[l] = '\0';
        }
        if (acap && ao + l + 3 < acap) {
            if (ao) {
                memcpy(all + ao, ", ", 2);
                ao += 2;
            }
            memcpy(all + ao, de->d_name, l);
            ao += l;
            all[ao] = '\0';
        }
        n++;
    }
    closedir(d);
    return n;
}

/* Resolves a directory to a checkpoint prefix. */
static graft_code resolve_dir(const char *dir, const graft_ckpt_opts *o, char **prefix, graft_status *st)
{
    char buf[4096];
    graft_status tmp;
    graft_code rc = graft_latest_checkpoint_ex(dir, NULL, o->flags, buf, sizeof buf, &tmp);
    if (rc == GRAFT_OK) {
        *prefix = graftI_strdup(buf);
        return *prefix ? GRAFT_OK : oom(st, dir);
    }
    if (tmp.code == GRAFT_ERR_NOMEM) {
        *st = tmp;
        return tmp.code;
    }
    char *state = graftI_ck_join(dir, "checkpoint");
    if (!state) return oom(st, dir);
    bool has_state = graftI_ck_exists(state);
    graftI_free(state);
    char first[1024], all[1024];
    int n = list_index_prefixes(dir, first, sizeof first, all, sizeof all);
    if (has_state) {
        if (n > 0)
            return graft_status_set(st, tmp.code, "%s (the directory holds %s; pass its prefix)", tmp.msg, all);
        *st = tmp;
        return tmp.code;
    }
    char *sm = graftI_ck_join(dir, "variables/variables");
    int ie = sm ? index_exists(sm) : -1;
    if (ie < 0) {
        graftI_free(sm);
        return oom(st, dir);
    }
    if (ie) {
        *prefix = sm;
        return GRAFT_OK;
    }
    graftI_free(sm);
    if (n == 1) {
        *prefix = graftI_ck_join(dir, first);
        return *prefix ? GRAFT_OK : oom(st, dir);
    }
    if (n > 1)
        return graft_status_set(st, GRAFT_ERR_NOT_FOUND,
                                "%s: no `checkpoint` state file and several checkpoints (%s); pass a prefix", dir, all);
    return graft_status_set(st, GRAFT_ERR_NOT_FOUND,
                            "%s: no checkpoint in this directory (no `checkpoint` state file, no *.index file)", dir);
}

graft_ckpt_reader *graft_ckpt_reader_open(const char *path, const graft_ckpt_opts *opts, graft_status *st)
{
    if (!path || !*path) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_ckpt_reader_open: empty path"), NULL;
    graft_ckpt_reader *r = graftI_calloc(1, sizeof *r);
    if (!r) return oom(st, path), NULL;
    if (opts) r->opts = *opts;
    else graft_ckpt_opts_init(&r->opts);
    graft_code rc = GRAFT_OK;
    char *prefix = NULL;
    if (graftI_ck_is_dir(path)) {
        rc = resolve_dir(path, &r->opts, &prefix, st);
    } else {
        size_t cut = strlen(path);
        if (has_suffix(path, ".index")) cut -= 6;
        else if (has_suffix(path, ".meta")) cut -= 5;
        else strip_data_suffix(path, &cut);
        prefix = graftI_strndup(path, cut);
        if (!prefix) rc = oom(st, path);
    }
    if (rc != GRAFT_OK) goto fail;
    r->prefix = prefix;
    int ie = index_exists(prefix);
    if (ie < 0) {
        rc = oom(st, prefix);
        goto fail;
    }
    if (ie) {
        r->fmt = GRAFT_CKPT_V2;
        rc = open_v2(r, st);
    } else {
        r->fmt = GRAFT_CKPT_V1;
        rc = graftI_ck_open_v1(r, st);
    }
    if (rc != GRAFT_OK) goto fail;
    graft_status_clear(st);
    return r;
fail:
    graft_ckpt_reader_free(r);
    return NULL;
}

/* ---- reading ------------------------------------------------------------------------- */
graft_code graft_ckpt_reader_read(graft_ckpt_reader *r, const char *name, graft_tensor **out, graft_status *st)
{
    *out = NULL;
    if (!r || !name) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_ckpt_reader_read: NULL argument");
    int i = graft_ckpt_reader_find(r, name);
    if (i < 0) return graft_status_set(st, GRAFT_ERR_NOT_FOUND, "%s: %s: key not found in checkpoint", r->prefix, name);
    const ck_entry *e = &r->e[i];
    if (!graftI_ck_loadable_dtype(e->dtype))
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "%s: %s: unsupported dtype %d (%s) for graft tensors",
                                r->prefix, name, e->dtype, graft_ckpt_dtype_name(e->dtype));
    graft_code rc;
    if (r->fmt == GRAFT_CKPT_V1) rc = graftI_ck_read_v1(r, e, out, st);
    else if (e->sliced) rc = graftI_ck_assemble(r, e, v2_read_slice, r->prefix, out, st);
    else
        rc = v2_read_extent(r, e->name, e->dtype, &e->shape, e->nelem, e->shard, e->offset, e->size, e->crc, out,
                            st);
    if (rc == GRAFT_OK) graft_status_clear(st);
    return rc;
}

graft_code graft_ckpt_reader_verify(graft_ckpt_reader *r, graft_status *st)
{
    for (int i = 0; i < r->n; i++) {
        if (!graftI_ck_loadable_dtype(r->e[i].dtype)) continue;
        graft_tensor *t = NULL;
        graft_code rc = graft_ckpt_reader_read(r, r->e[i].name, &t, st);
        graft_tensor_free(t);
        if (rc != GRAFT_OK) return rc;
    }
    graft_status_clear(st);
    return GRAFT_OK;
}

