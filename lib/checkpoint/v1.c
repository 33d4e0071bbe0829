/* lib/checkpoint/v1.c - V1 ("tensor slices") checkpoints as written by TF <= 0.11 and
 * TF-slim: one table file (or a PREFIX-SSSSS-of-NNNNN set) whose "" entry lists the
 * tensors and whose other entries hold one SavedSlice each under an OrderedCode key.
 * The meta is decoded with protobuf-c; slice records are walked by hand so a 400 MB
 * tensor is decoded straight into its graft_tensor (no intermediate copies). */
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>

#include "saved_tensor_slice.pb-c.h"

#include "checkpoint/reader_internal.h"

/* ---- opening ---------------------------------------------------------------------------- */
typedef struct {
    uint8_t *val;
    size_t vlen;
    bool got;
    bool empty_key;
} first_ctx;

static graft_code first_entry(void *ud, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                              uint64_t file_off, graft_status *st)
{
    (void)file_off;
    first_ctx *c = ud;
    c->got = true;
    c->empty_key = klen == 0;
    if (klen == 0) {
        c->val = graftI_malloc(vlen ? vlen : 1);
        if (!c->val) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        if (vlen) memcpy(c->val, val, vlen);
        c->vlen = vlen;
    }
    return GRAFT_ERR_ABORTED; /* only the first entry is wanted */
}

static int cmp_entry(const void *a, const void *b)
{
    const ck_entry *x = a, *y = b;
    size_t m = x->nlen < y->nlen ? x->nlen : y->nlen;
    int c = m ? memcmp(x->name, y->name, m) : 0;
    if (c) return c;
    return x->nlen < y->nlen ? -1 : x->nlen > y->nlen;
}

/* Reads the meta of table `ti` and appends its tensors to r->e. */
static graft_code load_meta(graft_ckpt_reader *r, int ti, int *cap, graft_status *st)
{
    graftI_ck_table *t = r->tables[ti];
    const char *file = graftI_ck_table_path(t);
    first_ctx fc = {NULL, 0, false, false};
    graft_code rc = graftI_ck_table_scan_first_block(t, first_entry, &fc, st);
    graftI_ck_table_drop_cache(t); /* the first block may hold a large record too */
    if (rc != GRAFT_OK && rc != GRAFT_ERR_ABORTED) {
        graftI_free(fc.val);
        return rc;
    }
    if (!fc.got || !fc.empty_key) {
        graftI_free(fc.val);
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: first key must be the empty meta key (\"\" vs %s); not a V1 checkpoint", file,
                                fc.got ? "another key" : "no entries");
    }
    graftI_ck_pballoc pa;
    ProtobufCAllocator *al = graftI_ck_pballoc_init(&pa);
    Tensorflow__SavedTensorSlices *sts = tensorflow__saved_tensor_slices__unpack(al, fc.vlen, fc.val);
    graftI_free(fc.val);
    if (!sts && pa.failed) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", file);
    if (!sts)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: entry \"\": not a SavedTensorSlices message", file);
    rc = GRAFT_OK;
    const Tensorflow__SavedTensorSliceMeta *m = sts->meta;
    if (!m || sts->data) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: entry \"\": must hold only the meta (meta %s, data %s)",
                              file, m ? "present" : "absent", sts->data ? "present" : "absent");
        goto done;
    }
    if (m->versions) {
        const Tensorflow__VersionDef *v = m->versions;
        bool bad = false;
        for (size_t i = 0; i < v->n_bad_consumers; i++) bad = bad || v->bad_consumers[i] == 1;
        if (v->producer < 0)
            rc = graft_status_set(st, GRAFT_ERR_VERSION, "%s: checkpoint producer version too old (>= 0 vs %d)", file,
                                  v->producer);
        else if (v->min_consumer > 1)
            rc = graft_status_set(st, GRAFT_ERR_VERSION,
                                  "%s: checkpoint needs a newer reader (min_consumer <= 1 vs %d)", file,
                                  v->min_consumer);
        else if (bad)
            rc = graft_status_set(st, GRAFT_ERR_VERSION, "%s: checkpoint disallows consumer version 1", file);
        if (rc != GRAFT_OK) goto done;
    }
    if ((int64_t)m->n_tensor > r->opts.max_entries - r->n) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %zu tensors exceed the cap of %lld (max_entries)", file,
                              m->n_tensor, (long long)r->opts.max_entries);
        goto done;
    }
    for (size_t i = 0; i < m->n_tensor && rc == GRAFT_OK; i++) {
        const Tensorflow__SavedSliceMeta *sm = m->tensor[i];
        char kb[256];
        const char *ks = graftI_ck_keystr(sm->name.data, sm->name.len, kb, sizeof kb);
        int dt = (int)sm->type;
        if (sm->name.len == 0 || memchr(sm->name.data, 0, sm->name.len)) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: meta tensor %zu: empty name or NUL byte in '%s'", file,
                                  i, ks);
            break;
        }
        if (dt < 1 || dt > 23 || dt == 20 || dt == 21) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: unsupported dtype %d (%s)", file, ks, dt,
                                  dt > 100 && dt < 124 ? "a reference type" : "not a V1 checkpoint type");
            break;
        }
        ck_entry *e;
        if (!graftI_ck_push_entry(r, cap, &e)) {
            rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", file);
            break;
        }
        e->name = graftI_strndup((const char *)sm->name.data, sm->name.len);
        if (!e->name) {
            rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", file);
            break;
        }
        e->nlen = sm->name.len;
        e->dtype = dt;
        e->sliced = true;
        rc = graftI_ck_shape_from_proto(sm->shape, file, ks, &e->shape, &e->nelem, st);
        if (rc != GRAFT_OK) break;
        if ((int64_t)sm->n_slice > r->opts.max_entries) {
            rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: %zu slices exceed the cap of %lld (max_entries)", file, ks,
                                  sm->n_slice, (long long)r->opts.max_entries);
            break;
        }
        if (sm->n_slice) {
            e->slices = graftI_calloc(sm->n_slice, sizeof *e->slices);
            if (!e->slices) {
                rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", file);
                break;
            }
        }
        e->nslices = (int)sm->n_slice;
        for (size_t j = 0; j < sm->n_slice && rc == GRAFT_OK; j++) {
            int64_t ne;
            rc = graftI_ck_slice_from_proto(sm->slice[j], &e->shape, file, ks, &e->slices[j], &ne, st);
            e->slices[j].shard = ti;
        }
    }
done:
    tensorflow__saved_tensor_slices__free_unpacked(sts, al);
    return rc;
}

/* Merges entries of the same tensor from several shards and checks coverage. */
static graft_code merge_entries(graft_ckpt_reader *r, graft_status *st)
{
    if (r->n > 1) qsort(r->e, (size_t)r->n, sizeof *r->e, cmp_entry);
    int w = 0;
    for (int i = 0; i < r->n; i++) {
        if (w > 0 && cmp_entry(&r->e[w - 1], &r->e[i]) == 0) {
            ck_entry *a = &r->e[w - 1], *b = &r->e[i];
            char x[200], y[200];
            if (a->dtype != b->dtype || !graftI_shape_equal(&a->shape, &b->shape))
                return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                        "%s: %s: shards disagree on the tensor (%s %s vs %s %s)", r->prefix, a->name,
                                        graft_ckpt_dtype_name(a->dtype), graft_shape_str(&a->shape, x, sizeof x),
                                        graft_ckpt_dtype_name(b->dtype), graft_shape_str(&b->shape, y, sizeof y));
            if (b->nslices > r->opts.max_entries - a->nslices)
                return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: too many slices", r->prefix, a->name);
            ck_slice *s = graftI_realloc(a->slices, (size_t)(a->nslices + b->nslices + 1) * sizeof *s);
            if (!s) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", r->prefix);
            if (b->nslices) memcpy(s + a->nslices, b->slices, (size_t)b->nslices * sizeof *s);
            a->slices = s;
            a->nslices += b->nslices;
            graftI_free(b->name);
            graftI_free(b->slices);
            memset(b, 0, sizeof *b);
            continue;
        }
        if (w != i) {
            r->e[w] = r->e[i];
            memset(&r->e[i], 0, sizeof r->e[i]);
        }
        w++;
    }
    r->n = w;
    for (int i = 0; i < r->n; i++) {
        ck_entry *e = &r->e[i];
        int64_t total = 0;
        for (int j = 0; j < e->nslices; j++) {
            int64_t ne = 1;
            graft_shape ss = graftI_ck_slice_shape(&e->slices[j], &e->shape);
            for (int d = 0; d < ss.rank; d++) ne *= ss.dims[d]; /* <= nelem: no overflow */
            if (__builtin_add_overflow(total, ne, &total)) total = INT64_MAX;
        }
        if (total != e->nelem)
            return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                    "%s: %s: slices do not tile the tensor (%lld elements vs %lld in %d slices)",
                                    r->prefix, e->name, (long long)e->nelem, (long long)total, e->nslices);
    }
    return GRAFT_OK;
}

static char *shard_name(const char *base, int i, int n)
{
    size_t l = strlen(base) + 24;
    char *p = graftI_malloc(l);
    if (p) snprintf(p, l, "%s-%05d-of-%05d", base, i, n);
    return p;
}

graft_code graftI_ck_open_v1(graft_ckpt_reader *r, graft_status *st)
{
    const char *p = r->prefix;
    char *base = NULL;
    int nshards = 0;
    size_t cut;
    int ns;
    bool single = false;
    if (graftI_ck_shard_suffix(p, &cut, &ns) && ns > 0) {
        base = graftI_strndup(p, cut);
        if (!base) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", p);
        nshards = ns;
    } else if (graftI_ck_exists(p)) {
        single = true;
    } else {
        size_t pl = strlen(p);
        char *pat = graftI_malloc(pl + 20);
        if (!pat) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        memcpy(pat, p, pl);
        memcpy(pat + pl, "-\?\?\?\?\?-of-\?\?\?\?\?", 16);
        glob_t g;
        int gr = glob(pat, 0, NULL, &g);
        graftI_free(pat);
        if (gr == 0 && g.gl_pathc > 0 && graftI_ck_shard_suffix(g.gl_pathv[0], &cut, &ns) && ns > 0) {
            base = graftI_strdup(p);
            nshards = ns;
        }
        if (gr == 0) globfree(&g);
        if (nshards && !base) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", p);
    }
    if (!single && !base) {
        size_t pl = strlen(p);
        char *d = graftI_malloc(pl + 32);
        bool data = false;
        if (d) {
            snprintf(d, pl + 32, "%s.data-00000-of-00001", p);
            data = graftI_ck_exists(d);
            graftI_free(d);
        }
        if (data)
            return graft_status_set(st, GRAFT_ERR_NOT_FOUND,
                                    "%s.index: missing, but %s.data-00000-of-00001 exists (an interrupted save?)", p,
                                    p);
        return graft_status_set(st, GRAFT_ERR_NOT_FOUND,
                                "%s: no checkpoint: neither %s.index (V2) nor a V1 file %s or %s-\?\?\?\?\?-of-NNNNN exists",
                                p, p, p, p);
    }
    if (base) {
        if (nshards > 100000) {
            graftI_free(base);
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: implausible shard count %d", p, nshards);
        }
        graftI_free(r->prefix);
        r->prefix = base;
    }
    int nt = single ? 1 : nshards;
    r->tables = graftI_calloc((size_t)nt, sizeof *r->tables);
    if (!r->tables) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    graftI_ck_limits lim = graftI_ck_limits_of(&r->opts, true);
    int cap = 0;
    graft_code rc = GRAFT_OK;
    for (int i = 0; i < nt && rc == GRAFT_OK; i++) {
        char *f = single ? graftI_strdup(r->prefix) : shard_name(r->prefix, i, nshards);
        if (!f) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
        rc = graftI_ck_table_open(f, &lim, &r->tables[i], st);
        graftI_free(f);
        if (rc != GRAFT_OK) break;
        r->ntables = i + 1;
        rc = load_meta(r, i, &cap, st);
    }
    if (rc == GRAFT_OK) rc = merge_entries(r, st);
    return rc;
}

/* ---- slice records ---------------------------------------------------------------------------- */
typedef struct wire {
    const uint8_t *p;
    size_t n, pos;
} wire;

/* Next field: 1 ok, 0 end, -1 malformed. Length-delimited payloads in (lp, ll). */
static int wire_next(wire *w, uint32_t *field, int *wt, uint64_t *val, const uint8_t **lp, size_t *ll)
{
    if (w->pos >= w->n) return 0;
    uint64_t tag;
    size_t k = graftI_ck_varint64(w->p + w->pos, w->n - w->pos, &tag);
    if (!k || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff) return -1;
    w->pos += k;
    *field = (uint32_t)(tag >> 3);
    *wt = (int)(tag & 7);
    switch (*wt) {
    case 0:
        k = graftI_ck_varint64(w->p + w->pos, w->n - w->pos, val);
        if (!k) return -1;
        w->pos += k;
        return 1;
    case 1:
        if (w->n - w->pos < 8) return -1;
        *val = graftI_ck_le64(w->p + w->pos);
        w->pos += 8;
        return 1;
    case 5:
        if (w->n - w->pos < 4) return -1;
        *val = graftI_ck_le32(w->p + w->pos);
        w->pos += 4;
        return 1;
    case 2: {
        uint64_t len;
        k = graftI_ck_varint64(w->p + w->pos, w->n - w->pos, &len);
        if (!k || len > w->n - w->pos - k) return -1;
        w->pos += k;
        *lp = w->p + w->pos;
        *ll = (size_t)len;
        w->pos += (size_t)len;
        return 1;
    }
    default:
        return -1; /* groups and reserved wire types */
    }
}

/* TensorProto value field for a dtype, 0 if V1 has none. */
static uint32_t value_field(int dt)
{
    switch (dt) {
    case 1: return 5;                                    /* float_val */
    case 2: return 6;                                    /* double_val */
    case 3: case 4: case 5: case 6: case 17: return 7;   /* int_val */
    case 7: return 8;                                    /* string_val */
    case 9: return 10;                                   /* int64_val */
    case 10: return 11;                                  /* bool_val */
    case 19: return 13;                                  /* half_val */
    case 22: return 16;                                  /* uint32_val */
    case 23: return 17;                                  /* uint64_val */
    default: return 0;
    }
}

static bool is_value_field(uint32_t f) { return (f >= 4 && f <= 13) || f == 16 || f == 17; }

typedef struct vctx {
    graft_tensor *dst;
    int dt;
    int64_t cnt;
    const char *file, *name;
    graft_status *st;
} vctx;

static graft_code put_int(vctx *c, uint64_t raw)
{
    int64_t n = c->dst->n;
    if (c->cnt >= n)
        return graft_status_set(c->st, GRAFT_ERR_CORRUPT, "%s: %s: more values than the slice holds (%lld)", c->file,
                                c->name, (long long)n);
    int64_t v;
    memcpy(&v, &raw, sizeof v);
    int64_t lo = 0, hi = 0;
    switch (c->dt) {
    case 3: lo = INT32_MIN; hi = INT32_MAX; break;
    case 4: lo = 0; hi = 255; break;
    case 5: lo = INT16_MIN; hi = INT16_MAX; break;
    case 6: lo = INT8_MIN; hi = INT8_MAX; break;
    case 17: case 19: lo = 0; hi = 65535; break;
    case 22: lo = 0; hi = (int64_t)UINT32_MAX; break;
    default: lo = INT64_MIN; hi = INT64_MAX; break;
    }
    if (c->dt != 23 && c->dt != 10 && (v < lo || v > hi))
        return graft_status_set(c->st, GRAFT_ERR_CORRUPT, "%s: %s: value %lld at %lld outside %s's range", c->file,
                                c->name, (long long)v, (long long)c->cnt, graft_ckpt_dtype_name(c->dt));
    void *d = c->dst->data;
    int64_t i = c->cnt++;
    switch (c->dt) {
    case 3: ((int32_t *)d)[i] = (int32_t)v; break;
    case 4: ((uint8_t *)d)[i] = (uint8_t)v; break;
    case 5: ((int16_t *)d)[i] = (int16_t)v; break;
    case 6: ((int8_t *)d)[i] = (int8_t)v; break;
    case 17: case 19: ((uint16_t *)d)[i] = (uint16_t)v; break;
    case 22: ((uint32_t *)d)[i] = (uint32_t)v; break;
    case 9: ((int64_t *)d)[i] = v; break;
    case 23: ((uint64_t *)d)[i] = raw; break;
    case 10: ((uint8_t *)d)[i] = raw != 0; break;
    default: break;
    }
    return GRAFT_OK;
}

static graft_code put_fixed(vctx *c, const uint8_t *p, size_t width, size_t count)
{
    int64_t n = c->dst->n;
    if ((uint64_t)count > (uint64_t)(n - c->cnt))
        return graft_status_set(c->st, GRAFT_ERR_CORRUPT, "%s: %s: more values than the slice holds (%lld)", c->file,
                                c->name, (long long)n);
    memcpy((uint8_t *)c->dst->data + (size_t)c->cnt * width, p, count * width);
    c->cnt += (int64_t)count;
    return GRAFT_OK;
}

static graft_code decode_values(vctx *c, const uint8_t *tp, size_t tn)
{
    uint32_t want = value_field(c->dt);
    wire w = {tp, tn, 0};
    uint32_t f;
    int wt, k;
    uint64_t val;
    const uint8_t *lp = NULL;
    size_t ll = 0;
    graft_code rc = GRAFT_OK;
    while (rc == GRAFT_OK && (k = wire_next(&w, &f, &wt, &val, &lp, &ll)) == 1) {
        if (f == 1 && wt == 0) {
            if (val != 0 && val != (uint64_t)c->dt)
                rc = graft_status_set(c->st, GRAFT_ERR_CORRUPT, "%s: %s: record dtype differs from the meta (%s vs %d)",
                                      c->file, c->name, graft_ckpt_dtype_name(c->dt), (int)val);
            continue;
        }
        if (!is_value_field(f)) continue;
        if (f != want) {
            bool empty = wt == 2 && ll == 0;
            if (!empty)
                rc = graft_status_set(c->st, GRAFT_ERR_CORRUPT,
                                      "%s: %s: unexpected TensorProto value field %u for dtype %s (field %u expected)",
                                      c->file, c->name, f, graft_ckpt_dtype_name(c->dt), want);
            continue;
        }
        if (f == 8) { /* string_val: one element per occurrence */
            if (wt != 2) goto badwt;
            if (c->cnt >= c->dst->n)
                return graft_status_set(c->st, GRAFT_ERR_CORRUPT, "%s: %s: more values than the slice holds (%lld)",
                                        c->file, c->name, (long long)c->dst->n);
            char *s = graftI_malloc(ll + 1);
            if (!s) return graft_status_set(c->st, GRAFT_ERR_NOMEM, "%s: %s: out of memory", c->file, c->name);
            if (ll) memcpy(s, lp, ll);
            s[ll] = '\0';
            graft_str *e = (graft_str *)c->dst->data + c->cnt++;
            e->ptr = s;
            e->len = ll;
            continue;
        }
        if (f == 5 || f == 6) { /* fixed-width floats */
            size_t width = f == 5 ? 4 : 8;
            if (wt == 2) {
                if (ll % width)
                    rc = graft_status_set(c->st, GRAFT_ERR_CORRUPT,
                                          "%s: %s: packed field of %zu bytes is not a multiple of %zu", c->file,
                                          c->name, ll, width);
                else rc = put_fixed(c, lp, width, ll / width);
            } else if ((wt == 5 && width == 4) || (wt == 1 && width == 8)) {
                uint8_t b[8];
                for (size_t i = 0; i < width; i++) b[i] = (uint8_t)(val >> (8 * i));
                rc = put_fixed(c, b, width, 1);
            } else {
                goto badwt;
            }
            continue;
        }
        /* varint fields */
        if (wt == 0) {
            rc = put_int(c, val);
        } else if (wt == 2) {
            size_t pos = 0;
            while (rc == GRAFT_OK && pos < ll) {
                uint64_t v;
                size_t kk = graftI_ck_varint64(lp + pos, ll - pos, &v);
                if (!kk) {
                    rc = graft_status_set(c->st, GRAFT_ERR_CORRUPT, "%s: %s: bad varint in packed values", c->file,
                                          c->name);
                    break;
                }
                pos += kk;
                rc = put_int(c, v);
            }
        } else {
            goto badwt;
        }
        continue;
    badwt:
        return graft_status_set(c->st, GRAFT_ERR_CORRUPT, "%s: %s: TensorProto field %u has wire type %d", c->file,
                                c->name, f, wt);
    }
    if (rc == GRAFT_OK && k < 0)
        rc = graft_status_set(c->st, GRAFT_ERR_CORRUPT, "%s: %s: malformed TensorProto in slice record", c->file,
                              c->name);
    return rc;
}

/* Decodes the record of slice `s` of entry e into dst (shape = the slice's). */
static graft_code decode_record(const char *file, const ck_entry *e, const ck_slice *s, const uint8_t *v, size_t n,
                                graft_tensor *dst, graft_status *st)
{
    wire w = {v, n, 0};
    uint32_t f;
    int wt, k;
    uint64_t val;
    const uint8_t *lp = NULL, *slice_p = NULL, *name_p = NULL, *data_p = NULL;
    size_t ll = 0, slice_n = 0, name_n = 0, data_n = 0;
    const uint8_t *sp = NULL;
    size_t sn = 0;
    int nsaved = 0;
    while ((k = wire_next(&w, &f, &wt, &val, &lp, &ll)) == 1) {
        if (f == 1)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: slice record holds a meta (data only expected)",
                                    file, e->name);
        if (f == 2 && wt == 2) {
            sp = lp;
            sn = ll;
            nsaved++;
        }
    }
    if (k < 0 || nsaved != 1)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: malformed slice record (%d SavedSlice fields)", file,
                                e->name, nsaved);
    w = (wire){sp, sn, 0};
    while ((k = wire_next(&w, &f, &wt, &val, &lp, &ll)) == 1) {
        if (wt != 2) continue;
        if (f == 1) name_p = lp, name_n = ll;
        else if (f == 2) slice_p = lp, slice_n = ll;
        else if (f == 3) data_p = lp, data_n = ll;
    }
    if (k < 0)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: malformed SavedSlice", file, e->name);
    if (name_n != e->nlen || (name_n && memcmp(name_p, e->name, name_n)))
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: slice record names another tensor", file, e->name);
    /* the record's slice must be the one its key encodes */
    graftI_ck_pballoc pa;
    ProtobufCAllocator *al = graftI_ck_pballoc_init(&pa);
    Tensorflow__TensorSliceProto *tsp =
        tensorflow__tensor_slice_proto__unpack(al, slice_n, slice_p ? slice_p : (const uint8_t *)"");
    if (!tsp && pa.failed) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: out of memory", file, e->name);
    bool same = tsp && (int)tsp->n_extent == e->shape.rank;
    for (int d = 0; same && d < e->shape.rank; d++) {
        const Tensorflow__TensorSliceProto__Extent *x = tsp->extent[d];
        bool hl = x->has_length_case == TENSORFLOW__TENSOR_SLICE_PROTO__EXTENT__HAS_LENGTH_LENGTH;
        same = x->start == s->start[d] && hl == (s->len[d] >= 0) && (!hl || x->length == s->len[d]);
    }
    if (tsp) tensorflow__tensor_slice_proto__free_unpacked(tsp, al);
    if (!same)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: slice record's slice differs from its key", file,
                                e->name);
    vctx c = {dst, e->dtype, 0, file, e->name, st};
    graft_code rc = decode_values(&c, data_p ? data_p : (const uint8_t *)"", data_n);
    if (rc == GRAFT_OK && c.cnt != dst->n)
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: value count differs from the slice size (%lld vs %lld)",
                              file, e->name, (long long)dst->n, (long long)c.cnt);
    return rc;
}

static graft_code read_slice(graft_ckpt_reader *r, const ck_entry *e, int j, graft_tensor **out, graft_status *st)
{
    *out = NULL;
    const ck_slice *s = &e->slices[j];
    graftI_ck_table *t = r->tables[s->shard];
    const char *file = graftI_ck_table_path(t);
    graftI_ck_buf kb = {0};
    if (!graftI_ck_encode_slice_key(&kb, e, s)) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory");
    const uint8_t *v;
    size_t vn;
    graft_code rc = graftI_ck_table_get(t, kb.p, kb.n, &v, &vn, st);
    graftI_ck_buf_free(&kb);
    if (rc == GRAFT_ERR_NOT_FOUND)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: the meta lists slice %d but its record is missing",
                                file, e->name, j);
    if (rc != GRAFT_OK) return rc;
    graft_shape ss = graftI_ck_slice_shape(s, &e->shape);
    graft_tensor *t2 = graftI_tensor_alloc(NULL, (graft_dtype)e->dtype, ss.dims, ss.rank, true);
    if (!t2) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %s: out of memory", file, e->name);
    rc = decode_record(file, e, s, v, vn, t2, st);
    if (vn > ((size_t)4 << 20)) graftI_ck_table_drop_cache(t); /* do not keep a big tensor's block alive */
    if (rc != GRAFT_OK) graft_tensor_free(t2);
    else *out = t2;
    return rc;
}

graft_code graftI_ck_read_v1(graft_ckpt_reader *r, const ck_entry *e, graft_tensor **out, graft_status *st)
{
    *out = NULL;
    if (!value_field(e->dtype))
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "%s: %s: dtype %s has no V1 value field", r->prefix,
                                e->name, graft_ckpt_dtype_name(e->dtype));
    if (e->nslices == 1 && graftI_ck_slice_is_full(&e->slices[0], &e->shape)) return read_slice(r, e, 0, out, st);
    return graftI_ck_assemble(r, e, read_slice, r->prefix, out, st);
}
