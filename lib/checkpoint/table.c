/* lib/checkpoint/table.c - the LevelDB-format table ("SSTable") that holds a V2
 * checkpoint's .index and a whole V1 checkpoint: a bounds-checked reader (footer,
 * magic, index block, data blocks with masked-crc32c trailers, prefix-compressed
 * entries) and a builder that reproduces TensorFlow's table_builder.cc byte for byte. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "checkpoint/ckpt_internal.h"

#define FOOTER_LEN 48
#define TRAILER_LEN 5
#define MAGIC_LO 0x8b80fb57u
#define MAGIC_HI 0xdb477524u

struct graftI_ck_table {
    char *path;
    int fd;
    uint64_t size;
    graftI_ck_limits lim;
    int nblocks;
    uint64_t *boff, *bsize;  /* data block handles from the index block */
    uint8_t **ikey;          /* index keys (separators) */
    size_t *iklen;
    int cached;              /* block in cdata, -1 none */
    uint8_t *cdata;
    size_t csize;
};

int graftI_ck_table_num_blocks(const graftI_ck_table *t) { return t->nblocks; }
uint64_t graftI_ck_table_file_size(const graftI_ck_table *t) { return t->size; }
const char *graftI_ck_table_path(const graftI_ck_table *t) { return t->path; }

static int keycmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    size_t m = al < bl ? al : bl;
    int c = m ? memcmp(a, b, m) : 0;
    if (c) return c;
    return al < bl ? -1 : al > bl ? 1 : 0;
}

/* Reads the block at [off, off+size) plus its trailer, checks type and crc.
 * what names the block in messages. Returns a new allocation of `size` bytes. */
static graft_code read_block(graftI_ck_table *t, uint64_t off, uint64_t size, const char *what, uint8_t **out,
                             graft_status *st)
{
    *out = NULL;
    uint64_t end;
    if (__builtin_add_overflow(off, size, &end) || __builtin_add_overflow(end, TRAILER_LEN, &end) ||
        end > t->size - FOOTER_LEN)
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: offset %llu: %s block handle [%llu,+%llu) plus trailer past the table data "
                                "(end <= %llu vs %llu)",
                                t->path, (unsigned long long)off, what, (unsigned long long)off,
                                (unsigned long long)size, (unsigned long long)(t->size - FOOTER_LEN),
                                (unsigned long long)end);
    if (size > t->lim.max_index_bytes)
        return graft_status_set(st, GRAFT_ERR_NOMEM,
                                "%s: offset %llu: %s block of %llu bytes exceeds the cap of %llu bytes "
                                "(raise max_index_bytes in graft_ckpt_opts)",
                                t->path, (unsigned long long)off, what, (unsigned long long)size,
                                (unsigned long long)t->lim.max_index_bytes);
    size_t n = (size_t)size + TRAILER_LEN;
    uint8_t *d = graftI_malloc(n);
    if (!d)
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: offset %llu: cannot allocate %zu bytes for a %s block",
                                t->path, (unsigned long long)off, n, what);
    graft_code rc = graftI_ck_pread_full(t->fd, t->path, d, n, off, st);
    if (rc != GRAFT_OK) {
        graftI_free(d);
        return rc;
    }
    uint8_t type = d[size];
    uint32_t stored = graftI_ck_le32(d + size + 1);
    uint32_t actual = graftI_crc32c_mask(graftI_crc32c(d, (size_t)size + 1));
    if (stored != actual) {
        graftI_free(d);
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: offset %llu: %s block checksum mismatch (stored masked crc32c %08x vs computed "
                                "%08x)",
                                t->path, (unsigned long long)off, what, stored, actual);
    }
    if (type != 0) {
        graftI_free(d);
        if (type == 1)
            return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                    "%s: offset %llu: %s block is Snappy-compressed; graft reads only uncompressed "
                                    "tables (TensorFlow never compresses checkpoints)",
                                    t->path, (unsigned long long)off, what);
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: offset %llu: %s block has unknown compression type (0 vs %u)", t->path,
                                (unsigned long long)off, what, type);
    }
    *out = d;
    return GRAFT_OK;
}

/* Walks the entries of one block. cb gets the full key. */
typedef graft_code (*entry_cb)(void *ud, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                               uint64_t file_off, graft_status *st);

static graft_code walk_block(graftI_ck_table *t, const uint8_t *d, size_t n, uint64_t boff, const char *what,
                             entry_cb cb, void *ud, graft_status *st)
{
    if (n < 4)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %llu: %s block too short (>= 4 vs %zu bytes)",
                                t->path, (unsigned long long)boff, what, n);
    uint32_t nr = graftI_ck_le32(d + n - 4);
    if (nr > (n - 4) / 4)
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: offset %llu: %s block restart count too large (<= %zu vs %u)", t->path,
                                (unsigned long long)boff, what, (n - 4) / 4, nr);
    size_t limit = n - 4 - 4 * (size_t)nr;
    for (uint32_t i = 0; i < nr; i++) {
        uint32_t r = graftI_ck_le32(d + limit + 4 * (size_t)i);
        if (r > limit || (i == 0 && r != 0))
            return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                    "%s: offset %llu: %s block restart point %u out of range (<= %zu vs %u)",
                                    t->path, (unsigned long long)boff, what, i, limit, r);
    }
    graftI_ck_buf key = {0};
    size_t pos = 0;
    graft_code rc = GRAFT_OK;
    while (pos < limit) {
        uint32_t shared, nonshared, vlen;
        size_t a = graftI_ck_varint32(d + pos, limit - pos, &shared);
        size_t b = a ? graftI_ck_varint32(d + pos + a, limit - pos - a, &nonshared) : 0;
        size_t c = b ? graftI_ck_varint32(d + pos + a + b, limit - pos - a - b, &vlen) : 0;
        if (!c) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %llu: bad varint in %s block entry header",
                                  t->path, (unsigned long long)(boff + pos), what);
            break;
        }
        pos += a + b + c;
        if (shared > key.n || nonshared > limit - pos || vlen > limit - pos - nonshared) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                                  "%s: offset %llu: %s block entry out of bounds (shared %u <= %zu, %u+%u bytes <= "
                                  "%zu)",
                                  t->path, (unsigned long long)(boff + pos), what, shared, key.n, nonshared, vlen,
                                  limit - pos);
            break;
        }
        if ((size_t)shared + nonshared > t->lim.max_key_bytes) {
            rc = graft_status_set(st, GRAFT_ERR_NOMEM,
                                  "%s: offset %llu: key of %llu bytes exceeds the cap of %zu bytes (raise "
                                  "max_key_bytes in graft_ckpt_opts)",
                                  t->path,
                                  (unsigned long long)(boff + pos), (unsigned long long)shared + nonshared,
                                  t->lim.max_key_bytes);
            break;
        }
        key.n = shared;
        if (!graftI_ck_buf_put(&key, d + pos, nonshared) && nonshared) {
            rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", t->path);
            break;
        }
        static const uint8_t empty[1] = {0};
        rc = cb(ud, key.n ? key.p : empty, key.n, d + pos + nonshared, vlen, boff + pos + nonshared, st);
        if (rc != GRAFT_OK) break;
        pos += (size_t)nonshared + vlen;
    }
    graftI_ck_buf_free(&key);
    return rc;
}

/* ---- open ---------------------------------------------------------------------------- */
typedef struct {
    graftI_ck_table *t;
    int cap;
} index_ctx;

static graft_code index_entry(void *ud, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                              uint64_t file_off, graft_status *st)
{
    index_ctx *c = ud;
    graftI_ck_table *t = c->t;
    char kb[96];
    if (t->nblocks >= t->lim.max_entries)
        return graft_status_set(st, GRAFT_ERR_NOMEM,
                                "%s: offset %llu: index block has more than %lld entries (the cap; raise "
                                "max_entries in graft_ckpt_opts)",
                                t->path, (unsigned long long)file_off, (long long)t->lim.max_entries);
    uint64_t off, size;
    size_t a = graftI_ck_varint64(val, vlen, &off);
    size_t b = a ? graftI_ck_varint64(val + a, vlen - a, &size) : 0;
    if (!b)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %llu: index entry '%s': bad block handle",
                                t->path, (unsigned long long)file_off, graftI_ck_keystr(key, klen, kb, sizeof kb));
    uint64_t end;
    if (__builtin_add_overflow(off, size, &end) || __builtin_add_overflow(end, TRAILER_LEN, &end) ||
        end > t->size - FOOTER_LEN)
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: offset %llu: index entry '%s': block [%llu,+%llu) past the table data (end <= "
                                "%llu vs %llu)",
                                t->path, (unsigned long long)file_off, graftI_ck_keystr(key, klen, kb, sizeof kb),
                                (unsigned long long)off, (unsigned long long)size,
                                (unsigned long long)(t->size - FOOTER_LEN), (unsigned long long)end);
    if (t->nblocks > 0 &&
        keycmp(t->ikey[t->nblocks - 1], t->iklen[t->nblocks - 1], key, klen) >= 0)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %llu: index keys out of order at '%s'", t->path,
                                (unsigned long long)file_off, graftI_ck_keystr(key, klen, kb, sizeof kb));
    if (t->nblocks == c->cap) {
        int cap = c->cap ? c->cap * 2 : 16;
        uint64_t *bo = graftI_realloc(t->boff, (size_t)cap * sizeof *bo);
        if (bo) t->boff = bo;
        uint64_t *bs = graftI_realloc(t->bsize, (size_t)cap * sizeof *bs);
        if (bs) t->bsize = bs;
        uint8_t **ik = graftI_realloc(t->ikey, (size_t)cap * sizeof *ik);
        if (ik) t->ikey = ik;
        size_t *il = graftI_realloc(t->iklen, (size_t)cap * sizeof *il);
        if (il) t->iklen = il;
        if (!bo || !bs || !ik || !il) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", t->path);
        c->cap = cap;
    }
    uint8_t *k = graftI_malloc(klen ? klen : 1);
    if (!k) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", t->path);
    if (klen) memcpy(k, key, klen);
    t->ikey[t->nblocks] = k;
    t->iklen[t->nblocks] = klen;
    t->boff[t->nblocks] = off;
    t->bsize[t->nblocks] = size;
    t->nblocks++;
    return GRAFT_OK;
}

graft_code graftI_ck_table_open(const char *path, const graftI_ck_limits *lim, graftI_ck_table **out,
                                graft_status *st)
{
    *out = NULL;
    const graft_io_hooks *io = graftI_io();
    graftI_ck_table *t = graftI_calloc(1, sizeof *t);
    if (!t) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", path);
    t->fd = -1;
    t->cached = -1;
    t->lim = *lim;
    t->path = graftI_strdup(path);
    if (!t->path) {
        graftI_free(t);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", path);
    }
    graft_code rc;
    t->fd = io->open(io->ud, path, O_RDONLY, 0);
    if (t->fd < 0) {
        rc = graft_status_set(st, errno == ENOENT ? GRAFT_ERR_NOT_FOUND : GRAFT_ERR_IO, "%s: open: %s", path,
                              strerror(errno));
        goto fail;
    }
    graft_file_stat sb;
    if (io->fstat(io->ud, t->fd, &sb) != 0 || sb.kind != GRAFT_FILE_REGULAR || sb.size < 0) {
        rc = graft_status_set(st, GRAFT_ERR_IO, "%s: not a regular file", path);
        goto fail;
    }
    t->size = (uint64_t)sb.size;
    if (t->size < FOOTER_LEN) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                              "%s: offset 0: truncated: need %d bytes for the table footer, file has %llu", path,
                              FOOTER_LEN, (unsigned long long)t->size);
        goto fail;
    }
    uint8_t f[FOOTER_LEN];
    rc = graftI_ck_pread_full(t->fd, path, f, FOOTER_LEN, t->size - FOOTER_LEN, st);
    if (rc != GRAFT_OK) goto fail;
    uint32_t lo = graftI_ck_le32(f + 40), hi = graftI_ck_le32(f + 44);
    if (lo != MAGIC_LO || hi != MAGIC_HI) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                              "%s: offset %llu: not a TF table (bad magic) (db4775248b80fb57 vs %08x%08x)", path,
                              (unsigned long long)(t->size - 8), hi, lo);
        goto fail;
    }
    uint64_t mo, ms, io_, is;
    size_t p = 0, k;
    if (!(k = graftI_ck_varint64(f + p, 40 - p, &mo)) || !(p += k, k = graftI_ck_varint64(f + p, 40 - p, &ms)) ||
        !(p += k, k = graftI_ck_varint64(f + p, 40 - p, &io_)) ||
        !(p += k, k = graftI_ck_varint64(f + p, 40 - p, &is))) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %llu: bad block handle in table footer", path,
                              (unsigned long long)(t->size - FOOTER_LEN));
        goto fail;
    }
    uint64_t mend;
    if (__builtin_add_overflow(mo, ms, &mend) || mend > t->size - FOOTER_LEN) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                              "%s: offset %llu: metaindex handle [%llu,+%llu) past the table data (%llu bytes)", path,
                              (unsigned long long)(t->size - FOOTER_LEN), (unsigned long long)mo,
                              (unsigned long long)ms, (unsigned long long)(t->size - FOOTER_LEN));
        goto fail;
    }
    uint8_t *ib;
    rc = read_block(t, io_, is, "index", &ib, st);
    if (rc != GRAFT_OK) goto fail;
    index_ctx ic = {t, 0};
    rc = walk_block(t, ib, (size_t)is, io_, "index", index_entry, &ic, st);
    graftI_free(ib);
    if (rc != GRAFT_OK) goto fail;
    *out = t;
    return GRAFT_OK;
fail:
    graftI_ck_table_close(t);
    return rc;
}

void graftI_ck_table_close(graftI_ck_table *t)
{
    if (!t) return;
    if (t->fd >= 0) graftI_io()->close(graftI_io()->ud, t->fd);
    for (int i = 0; i < t->nblocks; i++) graftI_free(t->ikey[i]);
    graftI_free(t->ikey);
    graftI_free(t->iklen);
    graftI_free(t->boff);
    graftI_free(t->bsize);
    graftI_free(t->cdata);
    graftI_free(t->path);
    graftI_free(t);
}

static graft_code get_block(graftI_ck_table *t, int i, const uint8_t **d, size_t *n, graft_status *st)
{
    if (t->cached != i) {
        graftI_free(t->cdata);
        t->cdata = NULL;
        t->cached = -1;
        graft_code rc = read_block(t, t->boff[i], t->bsize[i], "data", &t->cdata, st);
        if (rc != GRAFT_OK) return rc;
        t->cached = i;
        t->csize = (size_t)t->bsize[i];
    }
    *d = t->cdata;
    *n = t->csize;
    return GRAFT_OK;
}

void graftI_ck_table_drop_cache(graftI_ck_table *t)
{
    graftI_free(t->cdata);
    t->cdata = NULL;
    t->cached = -1;
}

/* ---- scan ------------------------------------------------------------------------------- */
typedef struct {
    graftI_ck_table *t;
    int block;
    graftI_ck_buf prev;
    bool have_prev;
    int64_t count;
    graftI_ck_table_fn fn;
    void *ud;
} scan_ctx;

static graft_code scan_entry(void *ud, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                             uint64_t file_off, graft_status *st)
{
    scan_ctx *c = ud;
    graftI_ck_table *t = c->t;
    char kb[96];
    if (++c->count > t->lim.max_entries)
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: more than %lld table entries (the cap; raise "
                                "max_entries in graft_ckpt_opts)", t->path, (long long)t->lim.max_entries);
    if (c->have_prev && keycmp(c->prev.p, c->prev.n, key, klen) >= 0)
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: offset %llu: key '%s' out of order or duplicated (keys must increase bytewise)",
                                t->path, (unsigned long long)file_off, graftI_ck_keystr(key, klen, kb, sizeof kb));
    if (keycmp(key, klen, t->ikey[c->block], t->iklen[c->block]) > 0 ||
        (c->block > 0 && keycmp(key, klen, t->ikey[c->block - 1], t->iklen[c->block - 1]) <= 0))
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: offset %llu: key '%s' outside the range the index gives its block %d", t->path,
                                (unsigned long long)file_off, graftI_ck_keystr(key, klen, kb, sizeof kb), c->block);
    c->prev.n = 0;
    graftI_ck_buf_put(&c->prev, key, klen);
    if (c->prev.oom) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", t->path);
    c->have_prev = true;
    return c->fn(c->ud, key, klen, val, vlen, file_off, st);
}

static graft_code scan_blocks(graftI_ck_table *t, int nblocks, graftI_ck_table_fn fn, void *ud, graft_status *st)
{
    scan_ctx c = {t, 0, {0}, false, 0, fn, ud};
    graft_code rc = GRAFT_OK;
    for (int i = 0; i < nblocks && rc == GRAFT_OK; i++) {
        const uint8_t *d;
        size_t n;
        rc = get_block(t, i, &d, &n, st);
        if (rc != GRAFT_OK) break;
        c.block = i;
        rc = walk_block(t, d, n, t->boff[i], "data", scan_entry, &c, st);
    }
    graftI_ck_buf_free(&c.prev);
    return rc;
}

graft_code graftI_ck_table_scan(graftI_ck_table *t, graftI_ck_table_fn fn, void *ud, graft_status *st)
{
    return scan_blocks(t, t->nblocks, fn, ud, st);
}

graft_code graftI_ck_table_scan_first_block(graftI_ck_table *t, graftI_ck_table_fn fn, void *ud, graft_status *st)
{
    return scan_blocks(t, t->nblocks > 0 ? 1 : 0, fn, ud, st);
}

/* ---- get ------------------------------------------------------------------------------- */
typedef struct {
    const uint8_t *key;
    size_t klen;
    const uint8_t *val;
    size_t vlen;
    bool found;
} get_ctx;

static graft_code get_entry(void *ud, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                            uint64_t file_off, graft_status *st)
{
    (void)file_off;
    (void)st;
    get_ctx *c = ud;
    if (keycmp(key, klen, c->key, c->klen) == 0) {
        c->val = val;
        c->vlen = vlen;
        c->found = true;
        return GRAFT_ERR_ABORTED; /* stop the walk */
    }
    return GRAFT_OK;
}

graft_code graftI_ck_table_get(graftI_ck_table *t, const uint8_t *key, size_t klen, const uint8_t **val,
                               size_t *vlen, graft_status *st)
{
    int lo = 0, hi = t->nblocks; /* first block whose index key >= key */
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (keycmp(t->ikey[mid], t->iklen[mid], key, klen) < 0) lo = mid + 1;
        else hi = mid;
    }
    char kb[96];
    if (lo == t->nblocks)
        return graft_status_set(st, GRAFT_ERR_NOT_FOUND, "%s: key '%s' not in table", t->path,
                                graftI_ck_keystr(key, klen, kb, sizeof kb));
    const uint8_t *d;
    size_t n;
    graft_code rc = get_block(t, lo, &d, &n, st);
    if (rc != GRAFT_OK) return rc;
    get_ctx c = {key, klen, NULL, 0, false};
    rc = walk_block(t, d, n, t->boff[lo], "data", get_entry, &c, st);
    if (c.found) {
        *val = c.val;
        *vlen = c.vlen;
        return GRAFT_OK;
    }
    if (rc != GRAFT_OK) return rc;
    return graft_status_set(st, GRAFT_ERR_NOT_FOUND, "%s: key '%s' not in table", t->path,
                            graftI_ck_keystr(key, klen, kb, sizeof kb));
}

/* ---- builder ---------------------------------------------------------------------------- */
typedef struct bblock {
    graftI_ck_buf buf;
    uint32_t *restarts;
    int nr, capr;
    int counter;
    int interval;
    graftI_ck_buf last;
} bblock;

struct graftI_ck_tbuilder {
    size_t block_size;
    graftI_ck_buf out;
    bblock data, index;
    graftI_ck_buf last_key;
    int64_t nentries;
    bool pending;
    uint64_t poff, psize;
    bool failed, finished;
};

static bool bb_push_restart(bblock *b, uint32_t off)
{
    if (b->nr == b->capr) {
        int cap = b->capr ? b->capr * 2 : 16;
        uint32_t *r = graftI_realloc(b->restarts, (size_t)cap * sizeof *r);
        if (!r) return false;
        b->restarts = r;
        b->capr = cap;
    }
    b->restarts[b->nr++] = off;
    return true;
}

static bool bb_reset(bblock *b)
{
    b->buf.n = 0;
    b->nr = 0;
    b->counter = 0;
    b->last.n = 0;
    return bb_push_restart(b, 0);
}

static size_t bb_estimate(const bblock *b) { return b->buf.n + (size_t)b->nr * 4 + 4; }

static bool bb_add(bblock *b, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    static const uint8_t none[1];
    if (!key) key = none; /* the empty key of a table holding only "" has no buffer (found by fuzz_entries) */
    size_t shared = 0;
    if (b->counter < b->interval) {
        size_t m = b->last.n < klen ? b->last.n : klen;
        while (shared < m && b->last.p[shared] == key[shared]) shared++;
    } else {
        if (b->buf.n > UINT32_MAX || !bb_push_restart(b, (uint32_t)b->buf.n)) return false;
        b->counter = 0;
    }
    graftI_ck_buf_varint(&b->buf, shared);
    graftI_ck_buf_varint(&b->buf, klen - shared);
    graftI_ck_buf_varint(&b->buf, vlen);
    graftI_ck_buf_put(&b->buf, key + shared, klen - shared);
    graftI_ck_buf_put(&b->buf, val, vlen);
    b->last.n = shared;
    graftI_ck_buf_put(&b->last, key + shared, klen - shared);
    b->counter++;
    return !b->buf.oom && !b->last.oom;
}

static bool bb_finish(bblock *b)
{
    for (int i = 0; i < b->nr; i++) graftI_ck_buf_le32(&b->buf, b->restarts[i]);
    graftI_ck_buf_le32(&b->buf, (uint32_t)b->nr);
    return !b->buf.oom;
}

static void bb_free(bblock *b)
{
    graftI_ck_buf_free(&b->buf);
    graftI_ck_buf_free(&b->last);
    graftI_free(b->restarts);
}

graftI_ck_tbuilder *graftI_ck_tbuilder_new(size_t block_size, int restart_interval)
{
    graftI_ck_tbuilder *b = graftI_calloc(1, sizeof *b);
    if (!b) return NULL;
    b->block_size = block_size;
    b->data.interval = restart_interval;
    b->index.interval = 1;
    if (!bb_reset(&b->data) || !bb_reset(&b->index)) {
        graftI_ck_tbuilder_free(b);
        return NULL;
    }
    return b;
}

void graftI_ck_tbuilder_free(graftI_ck_tbuilder *b)
{
    if (!b) return;
    bb_free(&b->data);
    bb_free(&b->index);
    graftI_ck_buf_free(&b->out);
    graftI_ck_buf_free(&b->last_key);
    graftI_free(b);
}

/* Block contents, then type byte 0 and the masked crc32c of both. */
static bool write_block(graftI_ck_tbuilder *b, bblock *blk, uint64_t *off, uint64_t *size)
{
    if (!bb_finish(blk)) return false;
    *off = b->out.n;
    *size = blk->buf.n;
    uint8_t trailer[5] = {0};
    uint32_t crc = graftI_crc32c_extend(graftI_crc32c(blk->buf.p, blk->buf.n), trailer, 1);
    graftI_ck_put_le32(trailer + 1, graftI_crc32c_mask(crc));
    graftI_ck_buf_put(&b->out, blk->buf.p, blk->buf.n);
    graftI_ck_buf_put(&b->out, trailer, 5);
    return !b->out.oom && bb_reset(blk);
}

static bool add_index_entry(graftI_ck_tbuilder *b)
{
    uint8_t h[20];
    size_t hl = graftI_ck_enc_varint64(h, b->poff);
    hl += graftI_ck_enc_varint64(h + hl, b->psize);
    b->pending = false;
    return bb_add(&b->index, b->last_key.p, b->last_key.n, h, hl);
}

static bool flush(graftI_ck_tbuilder *b)
{
    if (b->data.buf.n == 0) return true;
    if (!write_block(b, &b->data, &b->poff, &b->psize)) return false;
    b->pending = true;
    return true;
}

graft_code graftI_ck_tbuilder_add(graftI_ck_tbuilder *b, const uint8_t *key, size_t klen, const uint8_t *val,
                                  size_t vlen, graft_status *st)
{
    char kb[96];
    if (b->failed || b->finished) return graft_status_set(st, GRAFT_ERR_MISUSE, "table builder already failed/finished");
    if (klen > UINT32_MAX || vlen > UINT32_MAX)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "table entry '%s' too large (key %zu, value %zu bytes)",
                                graftI_ck_keystr(key, klen, kb, sizeof kb), klen, vlen);
    if (b->nentries > 0) {
        if (keycmp(b->last_key.p, b->last_key.n, key, klen) >= 0)
            return graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                                    "table key '%s' not after the previous key (keys must increase bytewise)",
                                    graftI_ck_keystr(key, klen, kb, sizeof kb));
        /* TensorFlow flushes before an entry at least twice the block size. */
        if (klen + vlen >= 2 * b->block_size && !flush(b)) goto oom;
    }
    if (b->pending) {
        /* shortest separator between the last key of the flushed block and key */
        size_t m = b->last_key.n < klen ? b->last_key.n : klen, d = 0;
        while (d < m && b->last_key.p[d] == key[d]) d++;
        if (d < m) {
            uint8_t db = b->last_key.p[d];
            if (db < 0xff && db + 1 < key[d]) {
                b->last_key.p[d]++;
                b->last_key.n = d + 1;
            }
        }
        if (!add_index_entry(b)) goto oom;
    }
    b->last_key.n = 0;
    if (!graftI_ck_buf_put(&b->last_key, key, klen) && klen) goto oom;
    b->nentries++;
    if (!bb_add(&b->data, key, klen, val, vlen)) goto oom;
    if (bb_estimate(&b->data) >= b->block_size && !flush(b)) goto oom;
    return GRAFT_OK;
oom:
    b->failed = true;
    return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory building a table");
}

graft_code graftI_ck_tbuilder_finish(graftI_ck_tbuilder *b, const uint8_t **out, size_t *n, graft_status *st)
{
    if (b->failed || b->finished) return graft_status_set(st, GRAFT_ERR_MISUSE, "table builder already failed/finished");
    uint64_t moff, msize, ioff, isize;
    if (!flush(b)) goto oom;
    b->finished = true;
    bblock meta = {0};
    meta.interval = 16;
    bool ok = bb_reset(&meta) && write_block(b, &meta, &moff, &msize);
    bb_free(&meta);
    if (!ok) goto oom;
    if (b->pending) {
        /* shortest successor of the last key */
        for (size_t i = 0; i < b->last_key.n; i++) {
            if (b->last_key.p[i] != 0xff) {
                b->last_key.p[i]++;
                b->last_key.n = i + 1;
                break;
            }
        }
        if (!add_index_entry(b)) goto oom;
    }
    if (!write_block(b, &b->index, &ioff, &isize)) goto oom;
    uint8_t f[FOOTER_LEN] = {0};
    size_t p = graftI_ck_enc_varint64(f, moff);
    p += graftI_ck_enc_varint64(f + p, msize);
    p += graftI_ck_enc_varint64(f + p, ioff);
    graftI_ck_enc_varint64(f + p, isize);
    graftI_ck_put_le32(f + 40, MAGIC_LO);
    graftI_ck_put_le32(f + 44, MAGIC_HI);
    if (!graftI_ck_buf_put(&b->out, f, FOOTER_LEN)) goto oom;
    *out = b->out.p;
    *n = b->out.n;
    return GRAFT_OK;
oom:
    b->failed = true;
    return graft_status_set(st, GRAFT_ERR_NOMEM, "out of memory building a table");
}
