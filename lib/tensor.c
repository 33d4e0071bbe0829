/* lib/tensor.c - dtype table (TensorFlow numbering), checked shape arithmetic,
 * reference-counted tensors and the buffer pool sessions use so that a repeated
 * step of the same shapes allocates nothing. */
#include "internal.h"

#include <stdio.h>

/* ---- dtypes --------------------------------------------------------------------- */
typedef struct {
    graft_dtype dt;
    size_t size;
    const char *name;
} dtype_info;

static const dtype_info dtypes[] = {
    {GRAFT_FLOAT, 4, "float32"},   {GRAFT_DOUBLE, 8, "float64"},  {GRAFT_INT32, 4, "int32"},
    {GRAFT_UINT8, 1, "uint8"},     {GRAFT_INT16, 2, "int16"},     {GRAFT_INT8, 1, "int8"},
    {GRAFT_STRING, 0, "string"},   {GRAFT_INT64, 8, "int64"},     {GRAFT_BOOL, 1, "bool"},
    {GRAFT_BFLOAT16, 2, "bfloat16"}, {GRAFT_UINT16, 2, "uint16"}, {GRAFT_HALF, 2, "float16"},
    {GRAFT_UINT32, 4, "uint32"},   {GRAFT_UINT64, 8, "uint64"},
};

static const dtype_info *dinfo(int dt)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if ((int)dtypes[i].dt == dt) return &dtypes[i];
    return NULL;
}

bool graft_dtype_valid(int dtype) { return dinfo(dtype) != NULL; }
size_t graft_dtype_size(graft_dtype dt)
{
    const dtype_info *d = dinfo(dt);
    return d ? d->size : 0;
}
const char *graft_dtype_name(graft_dtype dt)
{
    const dtype_info *d = dinfo(dt);
    return d ? d->name : NULL;
}
graft_dtype graft_dtype_from_name(const char *name)
{
    if (!name) return GRAFT_INVALID;
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(dtypes[i].name, name) == 0) return dtypes[i].dt;
    if (strcmp(name, "float") == 0) return GRAFT_FLOAT;
    if (strcmp(name, "double") == 0) return GRAFT_DOUBLE;
    if (strcmp(name, "half") == 0) return GRAFT_HALF;
    return GRAFT_INVALID;
}

/* ---- shapes ---------------------------------------------------------------------- */
graft_shape graft_shape_make(int rank, const int64_t *dims)
{
    graft_shape s;
    memset(&s, 0, sizeof s);
    if (rank < 0 || rank > GRAFT_MAX_DIMS) {
        s.rank = -1;
        return s;
    }
    s.rank = rank;
    for (int i = 0; i < rank; i++) s.dims[i] = dims ? dims[i] : -1;
    return s;
}

graft_shape graft_shape_unknown(void)
{
    graft_shape s;
    memset(&s, 0, sizeof s);
    s.rank = -1;
    return s;
}

graft_code graft_shape_num_elements(const graft_shape *s, int64_t *out)
{
    *out = 0;
    if (s->rank < 0 || s->rank > GRAFT_MAX_DIMS) return GRAFT_ERR_INVALID_ARG;
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) {
        if (s->dims[i] < 0) return GRAFT_ERR_INVALID_ARG;
        if (!graftI_mul_i64(n, s->dims[i], &n)) return GRAFT_ERR_NOMEM;
    }
    *out = n;
    return GRAFT_OK;
}

char *graft_shape_str(const graft_shape *s, char *buf, size_t cap)
{
    if (!buf || cap == 0) return buf;
    if (s->rank < 0) {
        snprintf(buf, cap, "<unknown>");
        return buf;
    }
    size_t o = 0;
    o += (size_t)snprintf(buf + o, cap - o, "[");
    for (int i = 0; i < s->rank && o < cap; i++) {
        if (s->dims[i] < 0) o += (size_t)snprintf(buf + o, cap - o, "%s?", i ? "," : "");
        else o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? "," : "", (long long)s->dims[i]);
    }
    if (o < cap) snprintf(buf + o, cap - o, "]");
    return buf;
}

bool graftI_shape_known(const graft_shape *s)
{
    if (s->rank < 0) return false;
    for (int i = 0; i < s->rank; i++)
        if (s->dims[i] < 0) return false;
    return true;
}

bool graftI_shape_compatible(const graft_shape *a, const graft_shape *b)
{
    if (a->rank < 0 || b->rank < 0) return true;
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] >= 0 && b->dims[i] >= 0 && a->dims[i] != b->dims[i]) return false;
    return true;
}

bool graftI_shape_equal(const graft_shape *a, const graft_shape *b)
{
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    return true;
}

bool graftI_broadcast_shape(const graft_shape *a, const graft_shape *b, graft_shape *out)
{
    if (a->rank < 0 || b->rank < 0) {
        *out = graft_shape_unknown();
        return true;
    }
    int r = a->rank > b->rank ? a->rank : b->rank;
    graft_shape o;
    memset(&o, 0, sizeof o);
    o.rank = r;
    for (int i = 0; i < r; i++) {
        int ia = a->rank - r + i, ib = b->rank - r + i;
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        int64_t d;
        if (da == db) d = da;
        else if (da == 1) d = db;
        else if (db == 1) d = da;
        else if (da < 0 && db < 0) d = -1;
        else if (da < 0) d = db; /* unknown must be 1 or db */
        else if (db < 0) d = da;
        else return false;
        o.dims[i] = d;
    }
    *out = o;
    return true;
}

graft_shape graftI_tensor_shape(const graft_tensor *t) { return graft_shape_make(t->rank, t->dims); }

/* ---- pool ------------------------------------------------------------------------ */
typedef struct bin {
    size_t size;
    graftI_buffer *head;
} bin;

struct graftI_pool {
    int refcnt;          /* 1 for the owner + 1 per outstanding buffer or header */
    bool closed;
    bin *bins;
    int nbins, capbins;
    graft_tensor *free_headers;
    size_t allocations;
    size_t live_bytes;
};

graftI_pool *graftI_pool_new(void)
{
    graftI_pool *p = graftI_calloc(1, sizeof *p);
    if (p) p->refcnt = 1;
    return p;
}

static void pool_unref(graftI_pool *p)
{
    if (--p->refcnt > 0) return;
    graftI_free(p->bins);
    graftI_free(p);
}

void graftI_pool_close(graftI_pool *p)
{
    if (!p) return;
    p->closed = true;
    for (int i = 0; i < p->nbins; i++) {
        graftI_buffer *b = p->bins[i].head;
        while (b) {
            graftI_buffer *nx = b->next;
            graftI_free(b);
            p->refcnt--;
            b = nx;
        }
        p->bins[i].head = NULL;
    }
    graft_tensor *h = p->free_headers;
    while (h) {
        graft_tensor *nx = (graft_tensor *)h->data;
        graftI_free(h);
        p->refcnt--;
        h = nx;
    }
    p->free_headers = NULL;
    pool_unref(p);
}

size_t graftI_pool_allocations(const graftI_pool *p) { return p ? p->allocations : 0; }
size_t graftI_pool_live_bytes(const graftI_pool *p) { return p ? p->live_bytes : 0; }

#define ALIGN 64

/* A buffer struct and its data in one block, data 64-byte aligned. */
static graftI_buffer *buffer_new(graftI_pool *p, size_t cap)
{
    if (p && !p->closed) {
        for (int i = 0; i < p->nbins; i++) {
            if (p->bins[i].size == cap && p->bins[i].head) {
                graftI_buffer *b = p->bins[i].head;
                p->bins[i].head = b->next;
                b->next = NULL;
                b->refcnt = 1;
                p->live_bytes += cap;
                return b;
            }
        }
    }
    size_t tot;
    if (!graftI_add_size(cap, sizeof(graftI_buffer) + ALIGN, &tot)) return NULL;
    graftI_buffer *b = graftI_malloc(tot);
    if (!b) return NULL;
    memset(b, 0, sizeof *b);
    uintptr_t d = (uintptr_t)(b + 1);
    d = (d + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
    b->data = (void *)d;
    b->cap = cap;
    b->refcnt = 1;
    if (p && !p->closed) {
        b->pool = p;
        p->refcnt++;
        p->allocations++;
        p->live_bytes += cap;
    }
    return b;
}

static void buffer_release(graftI_buffer *b)
{
    if (!b || --b->refcnt > 0) return;
    if (b->n_strings > 0) {
        graft_str *s = b->data;
        for (int64_t i = 0; i < b->n_strings; i++) graftI_free(s[i].ptr);
        b->n_strings = 0;
    }
    if (b->wrapped) {
        if (b->dealloc) b->dealloc(b->data, b->cap, b->dealloc_arg);
        graftI_free(b);
        return;
    }
    graftI_pool *p = b->pool;
    if (p) {
        p->live_bytes -= b->cap;
        if (!p->closed) {
            int i;
            for (i = 0; i < p->nbins; i++)
                if (p->bins[i].size == b->cap) break;
            if (i == p->nbins) {
                if (!graftI_grow((void **)&p->bins, &p->capbins, p->nbins + 1, sizeof(bin))) {
                    graftI_free(b);
                    pool_unref(p);
                    return;
                }
                p->bins[p->nbins].size = b->cap;
                p->bins[p->nbins].head = NULL;
                p->nbins++;
            }
            b->next = p->bins[i].head;
            p->bins[i].head = b;
            return;
        }
        graftI_free(b);
        pool_unref(p);
        return;
    }
    graftI_free(b);
}

static graft_tensor *header_new(graftI_pool *p)
{
    graft_tensor *t;
    if (p && !p->closed && p->free_headers) {
        t = p->free_headers;
        p->free_headers = (graft_tensor *)t->data;
        memset(t, 0, sizeof *t);
        t->pool = p;
        return t;
    }
    t = graftI_calloc(1, sizeof *t);
    if (!t) return NULL;
    if (p && !p->closed) {
        t->pool = p;
        p->refcnt++;
        p->allocations++;
    }
    return t;
}

static void header_release(graft_tensor *t)
{
    graftI_pool *p = t->pool;
    if (p && !p->closed) {
        t->data = p->free_headers;
        t->buf = NULL;
        p->free_headers = t;
        return;
    }
    graftI_free(t);
    if (p) pool_unref(p);
}

static bool set_dims(graft_tensor *t, graft_dtype dt, const int64_t *dims, int rank)
{
    if (rank < 0 || rank > GRAFT_MAX_DIMS || !graft_dtype_valid(dt)) return false;
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || !graftI_mul_i64(n, dims[i], &n)) return false;
        t->dims[i] = dims[i];
    }
    for (int i = rank; i < GRAFT_MAX_DIMS; i++) t->dims[i] = 0;
    size_t es = dt == GRAFT_STRING ? sizeof(graft_str) : graft_dtype_size(dt);
    size_t nb;
    if ((uint64_t)n > SIZE_MAX || !graftI_mul_size((size_t)n, es, &nb)) return false;
    t->dtype = dt;
    t->rank = rank;
    t->n = n;
    t->nbytes = nb;
    return true;
}

graft_tensor *graftI_tensor_alloc(graftI_pool *p, graft_dtype dt, const int64_t *dims, int rank, bool zero)
{
    graft_tensor tmp;
    memset(&tmp, 0, sizeof tmp);
    if (!set_dims(&tmp, dt, dims, rank)) return NULL;
    if (dt == GRAFT_STRING) p = NULL; /* string buffers own element memory: never pooled */
    graft_tensor *t = header_new(p);
    if (!t) return NULL;
    graftI_pool *keep = t->pool;
    *t = tmp;
    t->pool = keep;
    t->refcnt = 1;
    t->buf = buffer_new(p, t->nbytes);
    if (!t->buf) {
        header_release(t);
        return NULL;
    }
    t->data = t->buf->data;
    if (zero || dt == GRAFT_STRING) memset(t->data, 0, t->nbytes);
    if (dt == GRAFT_STRING) t->buf->n_strings = t->n;
    return t;
}

graft_tensor *graftI_tensor_view(graftI_pool *p, graft_tensor *src, const int64_t *dims, int rank)
{
    graft_tensor tmp;
    memset(&tmp, 0, sizeof tmp);
    if (!set_dims(&tmp, src->dtype, dims, rank) || tmp.n != src->n) return NULL;
    graft_tensor *t = header_new(p);
    if (!t) return NULL;
    graftI_pool *keep = t->pool;
    *t = tmp;
    t->pool = keep;
    t->refcnt = 1;
    t->buf = src->buf;
    t->buf->refcnt++;
    t->data = src->data;
    return t;
}

/* ---- public tensor API ------------------------------------------------------------ */
static graft_tensor *alloc_checked(graft_dtype dt, const int64_t *dims, int rank, bool zero, graft_status *st)
{
    if (!graft_dtype_valid(dt))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "invalid dtype %d", (int)dt), NULL;
    if (rank < 0 || rank > GRAFT_MAX_DIMS)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "rank %d outside 0..%d", rank, GRAFT_MAX_DIMS), NULL;
    for (int i = 0; i < rank; i++)
        if (dims[i] < 0)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "dimension %d is negative (%lld)", i,
                                    (long long)dims[i]),
                   NULL;
    graft_tensor *t = graftI_tensor_alloc(NULL, dt, dims, rank, zero);
    if (!t) {
        graft_shape s = graft_shape_make(rank, dims);
        char b[128];
        graft_status_set(st, GRAFT_ERR_NOMEM, "cannot allocate a %s tensor of shape %s", graft_dtype_name(dt),
                         graft_shape_str(&s, b, sizeof b));
        return NULL;
    }
    graft_status_clear(st);
    return t;
}

graft_tensor *graft_tensor_new(graft_dtype dt, const int64_t *dims, int rank, graft_status *st)
{
    return alloc_checked(dt, dims, rank, true, st);
}

graft_tensor *graft_tensor_from_data(graft_dtype dt, const int64_t *dims, int rank, const void *data,
                                     size_t nbytes, graft_status *st)
{
    if (dt == GRAFT_STRING)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_tensor_from_data: not for strings"), NULL;
    graft_tensor *t = alloc_checked(dt, dims, rank, false, st);
    if (!t) return NULL;
    if (nbytes != t->nbytes) {
        graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_tensor_from_data: %zu bytes given, shape needs %zu",
                         nbytes, t->nbytes);
        graft_tensor_free(t);
        return NULL;
    }
    if (nbytes) memcpy(t->data, data, nbytes);
    return t;
}

graft_tensor *graft_tensor_wrap(graft_dtype dt, const int64_t *dims, int rank, void *data, size_t nbytes,
                                void (*dealloc)(void *, size_t, void *), void *arg, graft_status *st)
{
    graft_tensor tmp;
    memset(&tmp, 0, sizeof tmp);
    if (dt == GRAFT_STRING || !set_dims(&tmp, dt, dims, rank))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_tensor_wrap: bad dtype or shape"), NULL;
    if (tmp.nbytes != nbytes)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_tensor_wrap: %zu bytes given, shape needs %zu",
                                nbytes, tmp.nbytes),
               NULL;
    graft_tensor *t = graftI_calloc(1, sizeof *t);
    graftI_buffer *b = graftI_calloc(1, sizeof *b);
    if (!t || !b) {
        graftI_free(t);
        graftI_free(b);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory"), NULL;
    }
    *t = tmp;
    t->refcnt = 1;
    b->refcnt = 1;
    b->data = data;
    b->cap = nbytes;
    b->dealloc = dealloc;
    b->dealloc_arg = arg;
    b->wrapped = true;
    t->buf = b;
    t->data = data;
    graft_status_clear(st);
    return t;
}

graft_tensor *graft_tensor_scalar_f32(float v, graft_status *st)
{
    graft_tensor *t = alloc_checked(GRAFT_FLOAT, NULL, 0, false, st);
    if (t) *(float *)t->data = v;
    return t;
}

graft_tensor *graft_tensor_scalar_i64(int64_t v, graft_status *st)
{
    graft_tensor *t = alloc_checked(GRAFT_INT64, NULL, 0, false, st);
    if (t) *(int64_t *)t->data = v;
    return t;
}

graft_code graft_tensor_set_string(graft_tensor *t, int64_t i, const char *s, size_t len, graft_status *st)
{
    if (!t || t->dtype != GRAFT_STRING || i < 0 || i >= t->n)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_tensor_set_string: not a string tensor or index out of range");
    char *c = graftI_strndup(s ? s : "", s ? len : 0);
    if (!c) return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory for a %zu-byte string", len);
    graft_str *e = (graft_str *)t->data + i;
    graftI_free(e->ptr);
    e->ptr = c;
    e->len = s ? len : 0;
    graft_status_clear(st);
    return GRAFT_OK;
}

graft_tensor *graft_tensor_scalar_string(const char *s, size_t len, graft_status *st)
{
    graft_tensor *t = alloc_checked(GRAFT_STRING, NULL, 0, true, st);
    if (t && graft_tensor_set_string(t, 0, s, len, st) != GRAFT_OK) {
        graft_tensor_free(t);
        return NULL;
    }
    return t;
}

graft_tensor *graft_tensor_copy(const graft_tensor *t, graft_status *st)
{
    if (!t) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_tensor_copy: NULL"), NULL;
    graft_tensor *c = alloc_checked(t->dtype, t->dims, t->rank, t->dtype == GRAFT_STRING, st);
    if (!c) return NULL;
    if (t->dtype == GRAFT_STRING) {
        const graft_str *s = t->data;
        for (int64_t i = 0; i < t->n; i++)
            if (graft_tensor_set_string(c, i, s[i].ptr, s[i].len, st) != GRAFT_OK) {
                graft_tensor_free(c);
                return NULL;
            }
    } else if (t->nbytes) {
        memcpy(c->data, t->data, t->nbytes);
    }
    return c;
}

graft_tensor *graft_tensor_ref(graft_tensor *t)
{
    if (t) t->refcnt++;
    return t;
}

void graft_tensor_free(graft_tensor *t)
{
    if (!t || --t->refcnt > 0) return;
    buffer_release(t->buf);
    header_release(t);
}

graft_dtype graft_tensor_dtype(const graft_tensor *t) { return t ? t->dtype : GRAFT_INVALID; }
int graft_tensor_rank(const graft_tensor *t) { return t ? t->rank : -1; }
int64_t graft_tensor_dim(const graft_tensor *t, int i) { return t && i >= 0 && i < t->rank ? t->dims[i] : -1; }
graft_shape graft_tensor_shape(const graft_tensor *t) { return t ? graftI_tensor_shape(t) : graft_shape_unknown(); }
int64_t graft_tensor_num_elements(const graft_tensor *t) { return t ? t->n : 0; }
size_t graft_tensor_nbytes(const graft_tensor *t) { return t ? t->nbytes : 0; }
void *graft_tensor_data(graft_tensor *t) { return t ? t->data : NULL; }
const void *graft_tensor_cdata(const graft_tensor *t) { return t ? t->data : NULL; }

bool graft_tensor_equal(const graft_tensor *a, const graft_tensor *b)
{
    if (!a || !b || a->dtype != b->dtype || a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i]) return false;
    if (a->dtype == GRAFT_STRING) {
        const graft_str *x = a->data, *y = b->data;
        for (int64_t i = 0; i < a->n; i++)
            if (x[i].len != y[i].len || (x[i].len && memcmp(x[i].ptr, y[i].ptr, x[i].len) != 0)) return false;
        return true;
    }
    return a->nbytes == 0 || memcmp(a->data, b->data, a->nbytes) == 0;
}
