/* lib/data/batcher.c - the batcher: a deterministic per-epoch order (own
 * splitmix64 + Fisher-Yates), float32 batches with optional zero padding and
 * one-hot labels, written into tensors allocated once. */
#include "data_internal.h"

/* ---- the generator: splitmix64 (Steele, Lea, Flood 2014) ---------------------- */
uint64_t graftI_data_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t sm_next(uint64_t *s)
{
    *s += 0x9E3779B97F4A7C15ull;
    return graftI_data_mix(*s);
}

/* Uniform in [0, bound) without modulo bias: reject the top partial range. */
static uint64_t sm_below(uint64_t *s, uint64_t bound)
{
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t r = sm_next(s);
        if (r >= threshold) return r % bound;
    }
}

void graftI_data_permute(int64_t *perm, int64_t n, uint64_t seed, uint64_t stream)
{
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    uint64_t s = graftI_data_mix(seed ^ graftI_data_mix(stream));
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)sm_below(&s, (uint64_t)i + 1);
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* ---- the batcher ------------------------------------------------------------- */
typedef struct batch_set {
    int64_t count;
    graft_tensor *images, *labels, *onehot;
} batch_set;

struct graft_batcher {
    const graft_dataset *ds;
    graft_batcher_opts o;
    int64_t out_h, out_w, top, left;
    int64_t *order;      /* permutation of the current epoch */
    int64_t epoch;       /* epoch whose order is in `order` */
    int64_t pos;         /* next position in order */
    int64_t batch_index; /* next batch number in the epoch */
    bool ended;          /* the end marker of `epoch` was returned */
    int64_t n_batches;
    batch_set full, part; /* [batch_size,...] and the final partial batch */
    float lut[256];       /* uint8 -> v / 255.0f */
};

void graft_batcher_opts_init(graft_batcher_opts *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->batch_size = 32;
}

static void set_free(batch_set *s)
{
    graft_tensor_free(s->images);
    graft_tensor_free(s->labels);
    graft_tensor_free(s->onehot);
    memset(s, 0, sizeof *s);
}

static graft_code set_alloc(graft_batcher *b, batch_set *s, int64_t count, graft_status *st)
{
    s->count = count;
    if (count == 0) return GRAFT_OK;
    int64_t idims[4] = {count, b->out_h, b->out_w, b->ds->c};
    int64_t ldims[1] = {count};
    int64_t odims[2] = {count, b->o.onehot_classes};
    s->images = graft_tensor_new(GRAFT_FLOAT, idims, 4, st);
    s->labels = s->images ? graft_tensor_new(GRAFT_INT32, ldims, 1, st) : NULL;
    if (s->labels && b->o.onehot_classes > 0) s->onehot = graft_tensor_new(GRAFT_FLOAT, odims, 2, st);
    if (!s->images || !s->labels || (b->o.onehot_classes > 0 && !s->onehot)) {
        set_free(s);
        return st && st->code ? st->code : GRAFT_ERR_NOMEM;
    }
    return GRAFT_OK;
}

static void start_epoch(graft_batcher *b, int64_t epoch)
{
    b->epoch = epoch;
    b->pos = 0;
    b->batch_index = 0;
    b->ended = false;
    /* Stream epoch+1: stream 0 belongs to graft_dataset_split. */
    if (b->o.shuffle)
        graftI_data_permute(b->order, b->ds->n, b->o.seed, (uint64_t)epoch + 1);
    else
        for (int64_t i = 0; i < b->ds->n; i++) b->order[i] = i;
}

graft_batcher *graft_batcher_new(const graft_dataset *ds, const graft_batcher_opts *opts, graft_status *st)
{
    graft_batcher_opts o;
    if (opts)
        o = *opts;
    else
        graft_batcher_opts_init(&o);
    if (!ds) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_batcher_new: NULL dataset"), NULL;
    if (o.batch_size <= 0)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                "graft_batcher_new: batch_size %lld (> 0 expected)", (long long)o.batch_size),
               NULL;
    int64_t oh = o.out_h ? o.out_h : ds->h, ow = o.out_w ? o.out_w : ds->w;
    if (oh < ds->h || ow < ds->w || oh > (int64_t)1 << 20 || ow > (int64_t)1 << 20)
        return graft_status_set(
                   st, GRAFT_ERR_INVALID_ARG,
                   "graft_batcher_new: output size %lldx%lld (at least the image size %lldx%lld expected)",
                   (long long)oh, (long long)ow, (long long)ds->h, (long long)ds->w),
               NULL;
    if (o.onehot_classes < 0)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                "graft_batcher_new: onehot_classes %d (>= 0 expected)",
                                (int)o.onehot_classes),
               NULL;
    for (int64_t i = 0; o.onehot_classes > 0 && i < ds->n; i++)
        if (ds->labels[i] >= o.onehot_classes)
            return graft_status_set(
                       st, GRAFT_ERR_INVALID_ARG,
                       "graft_batcher_new: example %lld has label %d (< onehot_classes %d expected)",
                       (long long)i, (int)ds->labels[i], (int)o.onehot_classes),
                   NULL;
    /* The whole output batch must be addressable. */
    int64_t per, bytes;
    if (!graftI_mul_i64(oh, ow, &per) || !graftI_mul_i64(per, ds->c, &per) ||
        !graftI_mul_i64(per, o.batch_size < ds->n ? o.batch_size : (ds->n ? ds->n : 1), &bytes) ||
        !graftI_mul_i64(bytes, 4, &bytes))
        return graft_status_set(st, GRAFT_ERR_NOMEM, "graft_batcher_new: batch too large"), NULL;

    graft_batcher *b = graftI_calloc(1, sizeof *b);
    if (!b) return graft_status_set(st, GRAFT_ERR_NOMEM, "graft_batcher_new: out of memory"), NULL;
    b->ds = ds;
    b->o = o;
    b->out_h = oh;
    b->out_w = ow;
    b->top = (oh - ds->h) / 2;
    b->left = (ow - ds->w) / 2;
    for (int v = 0; v < 256; v++) b->lut[v] = (float)v / 255.0f;
    b->order = graftI_malloc(ds->n ? (size_t)ds->n * sizeof(int64_t) : 1);
    if (!b->order) {
        graftI_free(b);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "graft_batcher_new: out of memory"), NULL;
    }
    int64_t full = ds->n / o.batch_size, rest = ds->n % o.batch_size;
    if (o.drop_last) rest = 0;
    b->n_batches = full + (rest > 0);
    if (set_alloc(b, &b->full, full > 0 ? o.batch_size : 0, st) || set_alloc(b, &b->part, rest, st)) {
        graft_batcher_free(b);
        return NULL;
    }
    start_epoch(b, 0);
    graft_status_clear(st);
    return b;
}

void graft_batcher_free(graft_batcher *b)
{
    if (!b) return;
    set_free(&b->full);
    set_free(&b->part);
    graftI_free(b->order);
    graftI_free(b);
}

/* Writes example ex as image row r of a [*, out_h, out_w, C] float buffer
 * (the padding border written as zeros). */
static void put_image(const graft_batcher *b, float *dst, int64_t ex)
{
    const graft_dataset *ds = b->ds;
    int64_t c = ds->c, rowlen = ds->w * c, outrow = b->out_w * c;
    size_t m = (size_t)(ds->h * ds->w * c);
    bool pad = b->out_h != ds->h || b->out_w != ds->w;
    if (pad) memset(dst, 0, (size_t)(b->out_h * outrow) * sizeof(float));
    for (int64_t y = 0; y < ds->h; y++) {
        float *o = dst + (y + b->top) * outrow + b->left * c;
        if (ds->dtype == GRAFT_UINT8) {
            const uint8_t *p = (const uint8_t *)ds->pixels + (size_t)ex * m + (size_t)(y * rowlen);
            for (int64_t x = 0; x < rowlen; x++) o[x] = b->lut[p[x]];
        } else {
            const float *p = (const float *)ds->pixels + (size_t)ex * m + (size_t)(y * rowlen);
            memcpy(o, p, (size_t)rowlen * sizeof(float));
        }
    }
}

/* Fills `count` examples from the current position into the buffers (rows
 * beyond count up to `rows` zeroed), advancing the position. */
static void fill_rows(graft_batcher *b, int64_t count, int64_t rows, float *img, int32_t *lab, float *hot)
{
    size_t per = (size_t)(b->out_h * b->out_w * b->ds->c);
    int64_t k = b->o.onehot_classes;
    for (int64_t r = 0; r < count; r++) {
        int64_t ex = b->order[b->pos + r];
        put_image(b, img + (size_t)r * per, ex);
        int32_t y = b->ds->labels[ex];
        if (lab) lab[r] = y;
        if (hot) {
            memset(hot + r * k, 0, (size_t)k * sizeof(float));
            hot[r * k + y] = 1.0f;
        }
    }
    if (rows > count) {
        memset(img + (size_t)count * per, 0, (size_t)(rows - count) * per * sizeof(float));
        if (lab) memset(lab + count, 0, (size_t)(rows - count) * sizeof(int32_t));
        if (hot) memset(hot + count * k, 0, (size_t)((rows - count) * k) * sizeof(float));
    }
    b->pos += count;
    b->batch_index++;
}

/* Size of the next batch (0 = the epoch is over), starting the next epoch after an end marker. */
static int64_t next_count(graft_batcher *b)
{
    if (b->ended) start_epoch(b, b->epoch + 1);
    int64_t left = b->ds->n - b->pos;
    int64_t count = left < b->o.batch_size ? left : b->o.batch_size;
    if (count < b->o.batch_size && b->o.drop_last) count = 0;
    if (count == 0) b->ended = true;
    return count;
}

graft_code graft_batcher_next(graft_batcher *b, graft_batch *out, graft_status *st)
{
    if (!b || !out) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_batcher_next: NULL argument");
    memset(out, 0, sizeof *out);
    int64_t count = next_count(b);
    out->epoch = b->epoch;
    out->index = b->batch_index;
    if (count > 0) {
        batch_set *s = count == b->full.count ? &b->full : &b->part;
        GRAFT_ASSERT(s->count == count && s->images);
        fill_rows(b, count, count, graft_tensor_data(s->images), graft_tensor_data(s->labels),
                  s->onehot ? graft_tensor_data(s->onehot) : NULL);
        out->images = s->images;
        out->labels = s->labels;
        out->onehot = s->onehot;
        out->count = count;
    }
    graft_status_clear(st);
    return GRAFT_OK;
}

static graft_code check_tensor(const char *what, const graft_tensor *t, graft_dtype dt, int rank,
                               const int64_t *dims, graft_status *st)
{
    char want[96], have[96];
    graft_shape ws = graft_shape_make(rank, dims), hs = graft_tensor_shape(t);
    if (graft_tensor_dtype(t) != dt)
        return graft_status_set(
            st, GRAFT_ERR_DTYPE, "graft_batcher_fill: %s dtype (%s vs %s)", what, graft_dtype_name(dt),
            graft_dtype_name(graft_tensor_dtype(t)) ? graft_dtype_name(graft_tensor_dtype(t)) : "?");
    bool same = hs.rank == rank;
    for (int i = 0; same && i < rank; i++) same = hs.dims[i] == dims[i];
    if (!same)
        return graft_status_set(st, GRAFT_ERR_SHAPE, "graft_batcher_fill: %s shape (%s vs %s)", what,
                                graft_shape_str(&ws, want, sizeof want),
                                graft_shape_str(&hs, have, sizeof have));
    return GRAFT_OK;
}

graft_code graft_batcher_fill(graft_batcher *b, graft_tensor *images, graft_tensor *labels,
                              graft_tensor *onehot, int64_t *count, graft_status *st)
{
    if (count) *count = 0;
    if (!b || !images || !count)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_batcher_fill: NULL argument");
    int64_t bs = b->o.batch_size;
    int64_t idims[4] = {bs, b->out_h, b->out_w, b->ds->c}, ldims[1] = {bs},
            odims[2] = {bs, b->o.onehot_classes};
    graft_code rc;
    if ((rc = check_tensor("images", images, GRAFT_FLOAT, 4, idims, st))) return rc;
    if (labels && (rc = check_tensor("labels", labels, GRAFT_INT32, 1, ldims, st))) return rc;
    if (onehot) {
        if (b->o.onehot_classes <= 0)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                    "graft_batcher_fill: one-hot tensor given without onehot_classes");
        if ((rc = check_tensor("onehot", onehot, GRAFT_FLOAT, 2, odims, st))) return rc;
    }
    int64_t n = next_count(b);
    if (n > 0)
        fill_rows(b, n, bs, graft_tensor_data(images), labels ? graft_tensor_data(labels) : NULL,
                  onehot ? graft_tensor_data(onehot) : NULL);
    *count = n;
    graft_status_clear(st);
    return GRAFT_OK;
}

int64_t graft_batcher_num_batches(const graft_batcher *b) { return b ? b->n_batches : 0; }

int64_t graft_batcher_epoch(const graft_batcher *b) { return b ? b->epoch + (b->ended ? 1 : 0) : 0; }

graft_code graft_batcher_reset(graft_batcher *b, int64_t epoch, graft_status *st)
{
    if (!b || epoch < 0)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_batcher_reset: bad batcher or epoch %lld",
                                (long long)epoch);
    start_epoch(b, epoch);
    graft_status_clear(st);
    return GRAFT_OK;
}

int64_t graft_batcher_order_at(const graft_batcher *b, int64_t i)
{
    if (!b || i < 0 || i >= b->ds->n) return -1;
    return b->order[i];
}
