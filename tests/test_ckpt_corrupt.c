/* tests/test_ckpt_corrupt.c - damaged and hostile checkpoints: every single-bit flip of
 * an index, every byte of a data file inverted, every truncation, index/data swapped
 * between checkpoints, bit flips in TF's own V2 and V1 files, and crafted attacks
 * (bad magic, bad varints, keys out of order, overflowing/negative shapes, rank 255,
 * extents past the end or overlapping, bad shard ids, size != dtype x count, string
 * lengths beyond the entry, caps). Each must be an error naming the file and key or
 * offset, or (for harmless flips) load bit-identically; never a crash or a wrong tensor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor_bundle.pb-c.h"

#include "checkpoint/ckpt_internal.h"
#include "ckpt_support.h"
#include "ckpt_tensors.h"

#define MAX_T 64

typedef struct snapshot {
    int n;
    char *names[MAX_T];
    graft_tensor *t[MAX_T];
} snapshot;

static void snap_free(snapshot *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->names[i]);
        graft_tensor_free(s->t[i]);
    }
    s->n = 0;
}

/* Opens and reads everything: GRAFT_OK with the tensors, or the first error. */
static graft_code load_all(const char *path, snapshot *out, graft_status *st)
{
    out->n = 0;
    graft_ckpt_reader *r = graft_ckpt_reader_open(path, NULL, st);
    if (!r) return st->code;
    graft_code rc = GRAFT_OK;
    int n = graft_ckpt_reader_num_entries(r);
    for (int i = 0; i < n && i < MAX_T && rc == GRAFT_OK; i++) {
        graft_ckpt_entry e;
        graft_ckpt_reader_entry(r, i, &e);
        out->names[i] = strdup(e.name);
        out->t[i] = NULL;
        out->n = i + 1;
        rc = graft_ckpt_reader_read(r, e.name, &out->t[i], st);
    }
    graft_ckpt_reader_free(r);
    if (rc != GRAFT_OK) snap_free(out);
    return rc;
}

static bool snap_equal(const snapshot *a, const snapshot *b)
{
    if (a->n != b->n) return false;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->names[i], b->names[i]) || !graft_tensor_equal(a->t[i], b->t[i])) return false;
    return true;
}

typedef struct tally {
    int errors, identical;
} tally;

/* One damaged variant: an error that names the file, or bit-identical contents. */
static void judge(const char *path, const snapshot *base, const char *file_part, tally *t, const char *what, long at)
{
    snapshot s;
    graft_status st;
    graft_code rc = load_all(path, &s, &st);
    if (rc == GRAFT_OK) {
        if (!snap_equal(&s, base)) fail_msg("%s at %ld: loaded WRONG tensors without an error", what, at);
        t->identical++;
        snap_free(&s);
        return;
    }
    if (!strstr(st.msg, file_part)) fail_msg("%s at %ld: message does not name %s: %s", what, at, file_part, st.msg);
    t->errors++;
}

static void write_reference(const char *prefix, unsigned seed)
{
    int64_t d2[2] = {5, 7}, d1[1] = {9}, ds[1] = {4};
    graft_tensor *a = ckt_make_tensor(GRAFT_FLOAT, d2, 2, seed), *b = ckt_make_tensor(GRAFT_HALF, d1, 1, seed + 1),
                 *c = ckt_make_tensor(GRAFT_STRING, ds, 1, seed + 2);
    graft_status st;
    graft_ckpt_writer *w = graft_ckpt_writer_new(prefix, &st);
    assert_int_equal(graft_ckpt_writer_add(w, "f32", a, &st), GRAFT_OK);
    assert_int_equal(graft_ckpt_writer_add(w, "f16", b, &st), GRAFT_OK);
    assert_int_equal(graft_ckpt_writer_add(w, "str", c, &st), GRAFT_OK);
    assert_int_equal(graft_ckpt_writer_finish(w, &st), GRAFT_OK);
    graft_ckpt_writer_free(w);
    graft_tensor_free(a);
    graft_tensor_free(b);
    graft_tensor_free(c);
}

static void sweep_file(const char *prefix, const char *file, const snapshot *base, bool bits, bool must_error)
{
    size_t n;
    uint8_t *orig = ckt_read_file(file, &n);
    assert_non_null(orig);
    uint8_t *buf = malloc(n + 1);
    tally t = {0, 0};
    const char *part = strrchr(file, '/') + 1;
    /* flips: every bit (index) or every byte inverted (data) */
    for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < (bits ? 8 : 1); bit++) {
            memcpy(buf, orig, n);
            buf[i] ^= bits ? (uint8_t)(1u << bit) : 0xff;
            assert_true(ckt_write_file(file, buf, n));
            int before = t.errors;
            judge(prefix, base, part, &t, bits ? "bit flip" : "byte inversion", (long)(i * 8 + (size_t)bit));
            if (must_error && t.errors == before) fail_msg("%s: inverting byte %zu went undetected", file, i);
        }
    /* truncations */
    for (size_t len = 0; len < n; len++) {
        assert_true(ckt_write_file(file, orig, len));
        int before = t.errors;
        judge(prefix, base, part, &t, "truncation", (long)len);
        if (t.errors == before) fail_msg("%s: truncation to %zu bytes went undetected", file, len);
    }
    assert_true(ckt_write_file(file, orig, n));
    print_message("%s: %d variants rejected, %d harmless (bit-identical)\n", part, t.errors, t.identical);
    free(buf);
    free(orig);
}

static void test_sweep_reference(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("corrupt");
    char *prefix = ckt_path(dir, "ref"), *other = ckt_path(dir, "other");
    write_reference(prefix, 1);
    write_reference(other, 2);
    snapshot base;
    graft_status st;
    assert_int_equal(load_all(prefix, &base, &st), GRAFT_OK);
    char idx[1024], data[1024], oidx[1024], odata[1024];
    snprintf(idx, sizeof idx, "%s.index", prefix);
    snprintf(data, sizeof data, "%s.data-00000-of-00001", prefix);
    snprintf(oidx, sizeof oidx, "%s.index", other);
    snprintf(odata, sizeof odata, "%s.data-00000-of-00001", other);
    sweep_file(prefix, idx, &base, true, false);
    sweep_file(prefix, data, &base, false, true); /* crc32c catches every data corruption */
    /* index and data swapped between two checkpoints of the same layout */
    assert_true(ckt_copy_file(odata, data));
    tally t = {0, 0};
    judge(prefix, &base, "ref.data", &t, "swapped data", 0);
    assert_int_equal(t.errors, 1);
    snap_free(&base);
    ckt_rm_rf(dir);
    free(prefix);
    free(other);
    free(dir);
}

/* Bit flips in TensorFlow-written files: a V2 index and a V1 table. */
static void test_sweep_tf_files(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("corrupt");
    const char *fx = GRAFT_FIXTURES_DIR "/tf1/mlp_tiny_tf113/model.ckpt";
    char *prefix = ckt_path(dir, "model.ckpt");
    char a[2048], b[2048];
    snprintf(a, sizeof a, "%s.index", fx);
    snprintf(b, sizeof b, "%s.index", prefix);
    assert_true(ckt_copy_file(a, b));
    snprintf(a, sizeof a, "%s.data-00000-of-00001", fx);
    snprintf(b, sizeof b, "%s.data-00000-of-00001", prefix);
    assert_true(ckt_copy_file(a, b));
    snapshot base;
    graft_status st;
    assert_int_equal(load_all(prefix, &base, &st), GRAFT_OK);
    snprintf(b, sizeof b, "%s.index", prefix);
    sweep_file(prefix, b, &base, true, false);
    snap_free(&base);

    /* V1: every 3rd bit of a 24 KB TF 0.11 table, every 7th truncation */
    char *v1 = ckt_path(dir, "v1.ckpt");
    assert_true(ckt_copy_file(GRAFT_FIXTURES_DIR "/tf1v1/har_convlstm_tf011/model.ckpt", v1));
    assert_int_equal(load_all(v1, &base, &st), GRAFT_OK);
    assert_true(base.n > 10);
    size_t n;
    uint8_t *orig = ckt_read_file(v1, &n);
    uint8_t *buf = malloc(n);
    tally t = {0, 0};
    for (size_t bitpos = 0; bitpos < n * 8; bitpos += 3) {
        memcpy(buf, orig, n);
        buf[bitpos / 8] ^= (uint8_t)(1u << (bitpos % 8));
        assert_true(ckt_write_file(v1, buf, n));
        judge(v1, &base, "v1.ckpt", &t, "V1 bit flip", (long)bitpos);
    }
    for (size_t len = 0; len < n; len += 7) {
        assert_true(ckt_write_file(v1, orig, len));
        int before = t.errors;
        judge(v1, &base, "v1.ckpt", &t, "V1 truncation", (long)len);
        if (t.errors == before) fail_msg("V1 truncation to %zu undetected", len);
    }
    print_message("V1: %d variants rejected, %d harmless\n", t.errors, t.identical);
    snap_free(&base);
    free(buf);
    free(orig);
    free(v1);
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

/* ---- crafted tables ------------------------------------------------------------------ */
typedef struct rawent {
    const uint8_t *k;
    size_t kl;
    const uint8_t *v;
    size_t vl;
} rawent;

static void put(graftI_ck_buf *b, const void *p, size_t n) { graftI_ck_buf_put(b, p, n); }

static void finish_block(graftI_ck_buf *file, graftI_ck_buf *blk, uint64_t *off, uint64_t *size)
{
    graftI_ck_buf_le32(blk, 0); /* one restart at 0 */
    graftI_ck_buf_le32(blk, 1);
    *off = file->n;
    *size = blk->n;
    uint8_t tr[5] = {0};
    uint32_t c = graftI_crc32c_extend(graftI_crc32c(blk->p, blk->n), tr, 1);
    graftI_ck_put_le32(tr + 1, graftI_crc32c_mask(c));
    put(file, blk->p, blk->n);
    put(file, tr, 5);
}

/* A one-block table with entries exactly as given (no ordering checks). */
static void raw_table(const char *path, const rawent *e, int n, const uint8_t *raw_block, size_t raw_n)
{
    graftI_ck_buf file = {0}, blk = {0};
    if (raw_block) {
        put(&blk, raw_block, raw_n);
    } else {
        for (int i = 0; i < n; i++) {
            graftI_ck_buf_varint(&blk, 0);
            graftI_ck_buf_varint(&blk, e[i].kl);
            graftI_ck_buf_varint(&blk, e[i].vl);
            put(&blk, e[i].k, e[i].kl);
            put(&blk, e[i].v, e[i].vl);
        }
    }
    uint64_t doff, dsz, moff, msz, ioff, isz;
    finish_block(&file, &blk, &doff, &dsz);
    blk.n = 0;
    finish_block(&file, &blk, &moff, &msz);
    blk.n = 0;
    uint8_t h[20];
    size_t hl = graftI_ck_enc_varint64(h, doff);
    hl += graftI_ck_enc_varint64(h + hl, dsz);
    graftI_ck_buf_varint(&blk, 0);
    graftI_ck_buf_varint(&blk, 4);
    graftI_ck_buf_varint(&blk, hl);
    put(&blk, "\xff\xff\xff\xff", 4);
    put(&blk, h, hl);
    finish_block(&file, &blk, &ioff, &isz);
    uint8_t f[48] = {0};
    size_t p = graftI_ck_enc_varint64(f, moff);
    p += graftI_ck_enc_varint64(f + p, msz);
    p += graftI_ck_enc_varint64(f + p, ioff);
    graftI_ck_enc_varint64(f + p, isz);
    memcpy(f + 40, "\x57\xfb\x80\x8b\x24\x75\x47\xdb", 8);
    put(&file, f, 48);
    assert_true(ckt_write_file(path, file.p, file.n));
    graftI_ck_buf_free(&file);
    graftI_ck_buf_free(&blk);
}

static size_t header(uint8_t *buf, int shards)
{
    Tensorflow__VersionDef v = TENSORFLOW__VERSION_DEF__INIT;
    v.producer = 1;
    Tensorflow__BundleHeaderProto h = TENSORFLOW__BUNDLE_HEADER_PROTO__INIT;
    h.num_shards = shards;
    h.version = &v;
    return tensorflow__bundle_header_proto__pack(&h, buf);
}

typedef struct spec {
    const char *key;
    int dtype;
    int rank;
    int64_t dims[300];
    int shard;
    int64_t offset, size;
} spec;

static size_t entry(uint8_t *buf, const spec *s)
{
    Tensorflow__TensorShapeProto__Dim d[300], *dp[300];
    for (int i = 0; i < s->rank; i++) {
        tensorflow__tensor_shape_proto__dim__init(&d[i]);
        d[i].size = s->dims[i];
        dp[i] = &d[i];
    }
    Tensorflow__TensorShapeProto sh = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
    sh.n_dim = (size_t)s->rank;
    sh.dim = dp;
    Tensorflow__BundleEntryProto e = TENSORFLOW__BUNDLE_ENTRY_PROTO__INIT;
    e.dtype = (Tensorflow__DataType)s->dtype;
    e.shape = &sh;
    e.shard_id = s->shard;
    e.offset = s->offset;
    e.size = s->size;
    return tensorflow__bundle_entry_proto__pack(&e, buf);
}

/* A bundle with the given entries over a 64-byte zero data file; expects failure
 * at open or read with `want` in the message (and the key). */
static void expect_bad(const char *dir, const spec *specs, int n, const char *want)
{
    static uint8_t vals[8][4096];
    rawent e[8];
    uint8_t hb[32];
    e[0] = (rawent){(const uint8_t *)"", 0, hb, header(hb, 1)};
    for (int i = 0; i < n; i++) {
        size_t vl = entry(vals[i], &specs[i]);
        e[i + 1] = (rawent){(const uint8_t *)specs[i].key, strlen(specs[i].key), vals[i], vl};
    }
    char *prefix = ckt_path(dir, "crafted"), idx[1024], data[1024];
    snprintf(idx, sizeof idx, "%s.index", prefix);
    snprintf(data, sizeof data, "%s.data-00000-of-00001", prefix);
    static const uint8_t zeros[64] = {0};
    assert_true(ckt_write_file(data, zeros, 64));
    raw_table(idx, e, n + 1, NULL, 0);
    snapshot s;
    graft_status st;
    graft_code rc = load_all(prefix, &s, &st);
    if (rc == GRAFT_OK) fail_msg("crafted '%s' (expecting '%s') was accepted", specs[n - 1].key, want);
    if (!strstr(st.msg, want)) fail_msg("expected '%s' in: %s", want, st.msg);
    if (!strstr(st.msg, "crafted")) fail_msg("message does not name the file: %s", st.msg);
    print_message("  %s\n", st.msg);
    free(prefix);
}

static void test_crafted_entries(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("corrupt");
    spec s = {"k", 1, 2, {4294967296ll, 4294967296ll}, 0, 0, 4};
    expect_bad(dir, &s, 1, "k: element count of shape"); /* 2^32 x 2^32 overflows int64 */
    s = (spec){"k", 1, 2, {4611686018427387905ll, 4}, 0, 0, 16}; /* wraps to 4 in uint64 */
    expect_bad(dir, &s, 1, "overflows");
    s = (spec){"k", 1, 1, {-1}, 0, 0, 4};
    expect_bad(dir, &s, 1, "k: dimension 0 is negative");
    s = (spec){"k", 1, 255, {0}, 0, 0, 4};
    for (int i = 0; i < 255; i++) s.dims[i] = 1;
    expect_bad(dir, &s, 1, "k: rank 255 exceeds");
    s = (spec){"k", 1, 1, {2}, 0, 60, 8};
    expect_bad(dir, &s, 1, "k: tensor extent [60,+8) past the end");
    s = (spec){"k", 1, 1, {2}, 0, INT64_MAX - 3, 8};
    expect_bad(dir, &s, 1, "k: bad extent");
    s = (spec){"k", 1, 1, {3}, 0, 0, 8};
    expect_bad(dir, &s, 1, "k: invalid size in bundle entry");
    s = (spec){"k", 1, 1, {2}, 1, 0, 8};
    expect_bad(dir, &s, 1, "k: shard_id out of range");
    spec two[2] = {{"a", 1, 1, {4}, 0, 0, 16}, {"b", 1, 1, {4}, 0, 8, 16}};
    expect_bad(dir, two, 2, "overlaps a");
    s = (spec){"k", 0, 0, {0}, 0, 0, 0};
    expect_bad(dir, &s, 1, "k: unsupported dtype 0");
    s = (spec){"k", 101, 0, {0}, 0, 0, 4};
    expect_bad(dir, &s, 1, "k: unsupported dtype 101 (a reference type)");
    s = (spec){"k", 9999, 0, {0}, 0, 0, 4};
    expect_bad(dir, &s, 1, "unsupported dtype 9999");
    s = (spec){"k", 7, 1, {100}, 0, 0, 50};
    expect_bad(dir, &s, 1, "k: string tensor of 100 elements cannot fit");
    /* a string entry whose varint length claims 1 GiB: refused without allocating it */
    s = (spec){"k", 7, 0, {0}, 0, 0, 9};
    {
        char *prefix = ckt_path(dir, "crafted"), data[1024];
        snprintf(data, sizeof data, "%s.data-00000-of-00001", prefix);
        expect_bad(dir, &s, 1, "k:");
        uint8_t d[64] = {0x80, 0x80, 0x80, 0x80, 0x04}; /* varint 2^30 */
        assert_true(ckt_write_file(data, d, 64));
        snapshot sn;
        graft_status st;
        assert_int_not_equal(load_all(prefix, &sn, &st), GRAFT_OK);
        assert_non_null(strstr(st.msg, "k: string 0 length 1073741824 exceeds the entry size"));
        free(prefix);
    }
    ckt_rm_rf(dir);
    free(dir);
}

static graft_code open_only(const char *path, graft_status *st)
{
    graft_ckpt_reader *r = graft_ckpt_reader_open(path, NULL, st);
    graft_ckpt_reader_free(r);
    return r ? GRAFT_OK : st->code;
}

static void test_crafted_tables(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("corrupt");
    char *prefix = ckt_path(dir, "t"), idx[1024], data[1024];
    snprintf(idx, sizeof idx, "%s.index", prefix);
    snprintf(data, sizeof data, "%s.data-00000-of-00001", prefix);
    assert_true(ckt_write_file(data, "01234567", 8));
    graft_status st;
    /* not a table: zeros, an HDF5 file, empty */
    uint8_t z[1000] = {0};
    assert_true(ckt_write_file(idx, z, sizeof z));
    assert_int_equal(open_only(prefix, &st), GRAFT_ERR_CORRUPT);
    assert_non_null(strstr(st.msg, "t.index: offset 992: not a TF table (bad magic)"));
    assert_true(ckt_copy_file(GRAFT_FIXTURES_DIR "/keras/keras216_mnist_cnn/model.h5", idx) ||
                ckt_write_file(idx, "\x89HDF\r\n\x1a\n", 8));
    assert_int_equal(open_only(prefix, &st), GRAFT_ERR_CORRUPT);
    assert_true(ckt_write_file(idx, "", 0));
    assert_int_equal(open_only(prefix, &st), GRAFT_ERR_CORRUPT);
    assert_non_null(strstr(st.msg, "truncated: need 48 bytes"));
    /* keys out of order, and a duplicate key */
    uint8_t hb[32];
    size_t hn = header(hb, 1);
    spec sa = {"a", 1, 0, {0}, 0, 0, 4}, sb = {"b", 1, 0, {0}, 0, 4, 4};
    uint8_t va[256], vb[256];
    size_t na = entry(va, &sa), nb = entry(vb, &sb);
    rawent e[3] = {{(const uint8_t *)"", 0, hb, hn}, {(const uint8_t *)"b", 1, vb, nb}, {(const uint8_t *)"a", 1, va, na}};
    raw_table(idx, e, 3, NULL, 0);
    assert_int_equal(open_only(prefix, &st), GRAFT_ERR_CORRUPT);
    assert_non_null(strstr(st.msg, "key 'a' out of order or duplicated"));
    e[2] = e[1];
    raw_table(idx, e, 3, NULL, 0);
    assert_int_equal(open_only(prefix, &st), GRAFT_ERR_CORRUPT);
    assert_non_null(strstr(st.msg, "key 'b' out of order or duplicated"));
    /* the header missing or not first */
    raw_table(idx, e + 1, 1, NULL, 0);
    assert_int_equal(open_only(prefix, &st), GRAFT_ERR_CORRUPT);
    assert_non_null(strstr(st.msg, "first key must be the empty header key"));
    /* a block whose entry header is an 11-byte varint */
    uint8_t bad[16];
    memset(bad, 0xff, 11);
    bad[11] = 0;
    raw_table(idx, NULL, 0, bad, 12);
    assert_int_equal(open_only(prefix, &st), GRAFT_ERR_CORRUPT);
    assert_non_null(strstr(st.msg, "bad varint"));
    /* an entry claiming more bytes than its block holds */
    uint8_t over[8] = {0, 1, 0x7f, 'x', 'y'};
    raw_table(idx, NULL, 0, over, 5);
    assert_int_equal(open_only(prefix, &st), GRAFT_ERR_CORRUPT);
    assert_non_null(strstr(st.msg, "out of bounds"));
    /* footer block handles beyond the file */
    raw_table(idx, e, 2, NULL, 0);
    size_t n;
    uint8_t *f = ckt_read_file(idx, &n);
    uint8_t *foot = f + n - 48;
    memset(foot, 0, 40);
    size_t p = graftI_ck_enc_varint64(foot, 0);
    p += graftI_ck_enc_varint64(foot + p, 0);
    p += graftI_ck_enc_varint64(foot + p, 0);
    graftI_ck_enc_varint64(foot + p, (uint64_t)1 << 40);
    assert_true(ckt_write_file(idx, f, n));
    assert_int_equal(open_only(prefix, &st), GRAFT_ERR_CORRUPT);
    assert_non_null(strstr(st.msg, "past the table data"));
    free(f);
    /* a cap: 2 entries allowed, 3 present */
    rawent e3[3] = {{(const uint8_t *)"", 0, hb, hn}, {(const uint8_t *)"a", 1, va, na}, {(const uint8_t *)"b", 1, vb, nb}};
    raw_table(idx, e3, 3, NULL, 0);
    graft_ckpt_opts o;
    graft_ckpt_opts_init(&o);
    assert_int_equal(open_only(prefix, &st), GRAFT_OK);
    o.max_entries = 2;
    assert_null(graft_ckpt_reader_open(prefix, &o, &st));
    assert_int_equal(st.code, GRAFT_ERR_NOMEM);
    assert_non_null(strstr(st.msg, "cap"));
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

/* An allocator that remembers the largest block asked for. */
static size_t g_max_alloc;
static void *max_alloc_fn(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    if (nsize > g_max_alloc) g_max_alloc = nsize;
    return realloc(ptr, nsize);
}

/* A 100-byte index claiming a million shards, one 4-byte tensor in shard 0: opens
 * and reads, and no allocation is sized by the claimed shard count (reliability
 * T7: nothing larger than min(file size, cap) for what a file merely claims). */
static void test_shard_count_claim(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("corrupt");
    char *prefix = ckt_path(dir, "t"), idx[1024], data[1024];
    snprintf(idx, sizeof idx, "%s.index", prefix);
    snprintf(data, sizeof data, "%s.data-00000-of-1000000", prefix);
    const uint8_t four[4] = {0, 0, 0x80, 0x3f}; /* 1.0f */
    assert_true(ckt_write_file(data, four, 4));
    uint8_t hb[32], vb[256];
    size_t hn = header(hb, 1000000);
    spec sa = {"a", 1, 1, {1}, 0, 0, 4};
    Tensorflow__BundleEntryProto *e = NULL;
    size_t na = entry(vb, &sa);
    e = tensorflow__bundle_entry_proto__unpack(NULL, na, vb);
    assert_non_null(e);
    e->crc32c = graftI_crc32c_mask(graftI_crc32c(four, 4));
    na = tensorflow__bundle_entry_proto__pack(e, vb);
    tensorflow__bundle_entry_proto__free_unpacked(e, NULL);
    rawent ents[2] = {{(const uint8_t *)"", 0, hb, hn}, {(const uint8_t *)"a", 1, vb, na}};
    raw_table(idx, ents, 2, NULL, 0);
    g_max_alloc = 0;
    graft_set_allocator(max_alloc_fn, NULL);
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
    graft_tensor *t = NULL;
    graft_code rc = r ? graft_ckpt_reader_read(r, "a", &t, &st) : st.code;
    float v = t ? ((const float *)graft_tensor_data(t))[0] : 0.0f;
    graft_tensor_free(t);
    graft_ckpt_reader_free(r);
    graft_set_allocator(NULL, NULL);
    if (rc != GRAFT_OK) fail_msg("%s", st.msg);
    assert_true(v == 1.0f);
    print_message("largest allocation while opening and reading: %zu bytes\n", g_max_alloc);
    assert_true(g_max_alloc < 64 * 1024); /* a shard table would be 8 MB */
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sweep_reference),
        cmocka_unit_test(test_sweep_tf_files),
        cmocka_unit_test(test_crafted_entries),
        cmocka_unit_test(test_crafted_tables),
        cmocka_unit_test(test_shard_count_claim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
