/* tests/test_bundle.c - V2 bundle writing and reading: every dtype (strings with
 * NULs and multi-byte varint lengths, scalars, empty tensors) round-trips bit for
 * bit and passes the strict reference reader; the header bytes equal TensorFlow's;
 * partitioned tensors; big-endian bundles; versions; every dtype number 0..300;
 * the crash-safe file protocol (no temp files left, failed writers leave nothing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor_bundle.pb-c.h"

#include "checkpoint/ckpt_internal.h"
#include "ckpt_support.h"
#include "ckpt_tensors.h"

static const graft_dtype all_dtypes[] = {GRAFT_FLOAT,  GRAFT_DOUBLE, GRAFT_INT32,    GRAFT_UINT8,  GRAFT_INT16,
                                         GRAFT_INT8,   GRAFT_STRING, GRAFT_INT64,    GRAFT_BOOL,   GRAFT_BFLOAT16,
                                         GRAFT_UINT16, GRAFT_HALF,   GRAFT_UINT32,   GRAFT_UINT64};
#define N_DTYPES (int)(sizeof all_dtypes / sizeof all_dtypes[0])

static void refread_ok(const char *prefix)
{
    char *out = NULL;
    int rc = ckt_refread("ckpt", prefix, false, &out);
    if (rc != 0) fail_msg("refread rejects %s (exit %d):\n%s", prefix, rc, out ? out : "");
    free(out);
}

static void test_all_dtypes_roundtrip(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("bundle");
    char *prefix = ckt_path(dir, "all.ckpt");
    graft_status st;
    graft_ckpt_writer *w = graft_ckpt_writer_new(prefix, &st);
    assert_non_null(w);
    graft_tensor *ts[3 * N_DTYPES];
    char names[3 * N_DTYPES][64];
    int n = 0;
    for (int i = 0; i < N_DTYPES; i++) {
        int64_t d2[2] = {3, 5}, d1[1] = {0};
        const char *dn = graft_dtype_name(all_dtypes[i]);
        /* a matrix, a scalar and an empty tensor of each dtype; keys in non-sorted order */
        snprintf(names[n], 64, "z/%s/matrix", dn);
        ts[n++] = ckt_make_tensor(all_dtypes[i], d2, 2, (unsigned)i);
        snprintf(names[n], 64, "%s_scalar", dn);
        ts[n++] = ckt_make_tensor(all_dtypes[i], NULL, 0, (unsigned)i + 100);
        snprintf(names[n], 64, "a/%s/empty", dn);
        ts[n++] = ckt_make_tensor(all_dtypes[i], d1, 1, 0);
    }
    for (int i = 0; i < n; i++) {
        assert_non_null(ts[i]);
        assert_int_equal(graft_ckpt_writer_add(w, names[i], ts[i], &st), GRAFT_OK);
    }
    graft_code rc = graft_ckpt_writer_finish(w, &st);
    if (rc) fail_msg("%s", st.msg);
    graft_ckpt_writer_free(w);
    assert_int_equal(ckt_count_files(dir, "tempstate"), 0);
    refread_ok(prefix);

    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
    if (!r) fail_msg("%s", st.msg);
    assert_int_equal(graft_ckpt_reader_format(r), GRAFT_CKPT_V2);
    assert_int_equal(graft_ckpt_reader_num_entries(r), n);
    /* listing is sorted bytewise */
    graft_ckpt_entry prev, e;
    for (int i = 0; i < n; i++) {
        assert_true(graft_ckpt_reader_entry(r, i, &e));
        if (i) assert_true(strcmp(prev.name, e.name) < 0);
        prev = e;
    }
    for (int i = 0; i < n; i++) {
        graft_tensor *t = NULL;
        rc = graft_ckpt_reader_read(r, names[i], &t, &st);
        if (rc) fail_msg("%s: %s", names[i], st.msg);
        assert_true(graft_tensor_equal(t, ts[i]));
        int k = graft_ckpt_reader_find(r, names[i]);
        assert_true(graft_ckpt_reader_entry(r, k, &e));
        assert_int_equal(e.dtype, (int)all_dtypes[i / 3]);
        assert_string_equal(graft_ckpt_dtype_name(e.dtype), graft_dtype_name(all_dtypes[i / 3]));
        graft_tensor_free(t);
    }
    assert_int_equal(graft_ckpt_reader_verify(r, &st), GRAFT_OK);
    graft_tensor *t = NULL;
    assert_int_equal(graft_ckpt_reader_read(r, "no/such/key", &t, &st), GRAFT_ERR_NOT_FOUND);
    assert_non_null(strstr(st.msg, "no/such/key"));
    graft_ckpt_reader_free(r);

    /* the sha256 refread reports for every entry equals ours */
    char cmd[4096], *out = NULL;
    char why[512];
    const char *rb = ckt_refread_build(why, sizeof why);
    assert_non_null(rb);
    snprintf(cmd, sizeof cmd, "REFREAD_BUILD='%s' '%s' '%s/tools/refread/refread.py' ckpt '%s' --json", rb,
             ckt_python(), GRAFT_SHARED_DIR, prefix);
    assert_int_equal(ckt_run(cmd, &out, NULL), 0);
    ckt_json *j = ckt_json_parse(out, strlen(out));
    assert_non_null(j);
    const ckt_json *es = ckt_json_get(j, "entries");
    if (!es) es = ckt_json_get(ckt_json_at(ckt_json_get(j, "bundles"), 0), "entries");
    assert_non_null(es);
    assert_int_equal(es->n, n);
    for (int i = 0; i < es->n; i++) {
        const ckt_json *x = ckt_json_at(es, i);
        const char *key = ckt_json_str(x, "key");
        int k = -1;
        for (int m = 0; m < n; m++)
            if (!strcmp(names[m], key)) k = m;
        assert_true(k >= 0);
        char hex[65];
        ckt_tensor_sha256_v2(ts[k], hex);
        assert_string_equal(ckt_json_str(x, "sha256"), hex);
    }
    ckt_json_free(j);
    free(out);
    for (int i = 0; i < n; i++) graft_tensor_free(ts[i]);
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

/* TF 1.x writes the header as 08 01 1a 02 08 01 and a float scalar's entry with an
 * empty shape submessage (12 00); compare with bytes from the fixtures. */
static void test_header_and_entry_bytes(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("bundle");
    char *prefix = ckt_path(dir, "h");
    graft_status st;
    graft_ckpt_writer *w = graft_ckpt_writer_new(prefix, &st);
    graft_tensor *s = graft_tensor_scalar_f32(1.5f, &st);
    assert_int_equal(graft_ckpt_writer_add(w, "x", s, &st), GRAFT_OK);
    assert_int_equal(graft_ckpt_writer_add(w, "y", s, &st), GRAFT_OK);
    assert_int_equal(graft_ckpt_writer_finish(w, &st), GRAFT_OK);
    graft_ckpt_writer_free(w);
    char *ip = ckt_path(dir, "h.index");
    size_t n;
    uint8_t *idx = ckt_read_file(ip, &n);
    assert_non_null(idx);
    /* first entry: shared 0, unshared 0, value 6, header */
    assert_memory_equal(idx, "\x00\x00\x06\x08\x01\x1a\x02\x08\x01", 9);
    /* second: key "x", entry {dtype 1, shape {}, size 4, crc} (offset 0 omitted) */
    assert_memory_equal(idx + 9, "\x00\x01\x0b" "x" "\x08\x01\x12\x00\x28\x04\x35", 11);
    /* third: key "y" at offset 4: {dtype 1, shape {}, offset 4, size 4, crc} */
    assert_memory_equal(idx + 9 + 11 + 4, "\x00\x01\x0d" "y" "\x08\x01\x12\x00\x20\x04\x28\x04\x35", 13);
    /* the header bytes equal those TensorFlow wrote in every 1.x fixture */
    char *gp = ckt_path(GRAFT_FIXTURES_DIR, "tf1/mlp_tiny_tf113/golden.json");
    ckt_json *g = ckt_json_load(gp);
    const char *raw = ckt_json_str(ckt_json_get(ckt_json_at(ckt_json_get(g, "bundles"), 0), "header"), "raw_hex");
    assert_non_null(raw);
    assert_string_equal(raw, "08011a020801");
    ckt_json_free(g);
    free(gp);
    free(idx);
    free(ip);
    graft_tensor_free(s);
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

static void test_partitioned(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("bundle");
    char *prefix = ckt_path(dir, "part");
    graft_status st;
    int64_t fd[2] = {5, 4};
    graft_tensor *full = ckt_make_tensor(GRAFT_FLOAT, fd, 2, 7);
    graft_tensor *sfull = ckt_make_tensor(GRAFT_STRING, fd, 2, 8);
    graft_ckpt_writer *w = graft_ckpt_writer_new(prefix, &st);
    /* rows [0,2) and [2,5): TF's partitioned-variable layout */
    int64_t rows[3] = {0, 2, 5};
    for (int p = 0; p < 2; p++) {
        int64_t d[2] = {rows[p + 1] - rows[p], 4}, start[2] = {rows[p], 0};
        graft_tensor *part = graft_tensor_new(GRAFT_FLOAT, d, 2, &st);
        memcpy(graft_tensor_data(part), (float *)graft_tensor_data(full) + rows[p] * 4, graft_tensor_nbytes(part));
        assert_int_equal(graft_ckpt_writer_add_slice(w, "v", graft_shape_make(2, fd), start, part, &st), GRAFT_OK);
        graft_tensor_free(part);
    }
    /* columns [0,1) and [1,4) of a string tensor */
    for (int p = 0; p < 2; p++) {
        int64_t c0 = p ? 1 : 0, c1 = p ? 4 : 1;
        int64_t d[2] = {5, c1 - c0}, start[2] = {0, c0};
        graft_tensor *part = graft_tensor_new(GRAFT_STRING, d, 2, &st);
        const graft_str *src = graft_tensor_cdata(sfull);
        for (int64_t r = 0; r < 5; r++)
            for (int64_t c = c0; c < c1; c++)
                graft_tensor_set_string(part, r * (c1 - c0) + (c - c0), src[r * 4 + c].ptr, src[r * 4 + c].len, &st);
        assert_int_equal(graft_ckpt_writer_add_slice(w, "s", graft_shape_make(2, fd), start, part, &st), GRAFT_OK);
        graft_tensor_free(part);
    }
    graft_code rc = graft_ckpt_writer_finish(w, &st);
    if (rc) fail_msg("%s", st.msg);
    graft_ckpt_writer_free(w);
    refread_ok(prefix);
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
    if (!r) fail_msg("%s", st.msg);
    assert_int_equal(graft_ckpt_reader_num_entries(r), 2); /* slice entries hidden */
    graft_ckpt_entry e;
    assert_true(graft_ckpt_reader_entry(r, graft_ckpt_reader_find(r, "v"), &e));
    assert_int_equal(e.num_slices, 2);
    assert_int_equal(e.shape.rank, 2);
    assert_int_equal(e.shape.dims[0], 5);
    graft_tensor *t = NULL;
    assert_int_equal(graft_ckpt_reader_read(r, "v", &t, &st), GRAFT_OK);
    assert_true(graft_tensor_equal(t, full));
    graft_tensor_free(t);
    assert_int_equal(graft_ckpt_reader_read(r, "s", &t, &st), GRAFT_OK);
    assert_true(graft_tensor_equal(t, sfull));
    graft_tensor_free(t);
    graft_ckpt_reader_free(r);
    graft_tensor_free(full);
    graft_tensor_free(sfull);
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

/* ---- hand-built bundles: an index of our own entries over our own data ---------- */
typedef struct raw_entry {
    const char *key;
    Tensorflow__BundleEntryProto e;
} raw_entry;

static void write_index(const char *prefix, const uint8_t *hdr, size_t hn, raw_entry *es, int n)
{
    graftI_ck_tbuilder *b = graftI_ck_tbuilder_new(262144, 16);
    graft_status st;
    assert_int_equal(graftI_ck_tbuilder_add(b, (const uint8_t *)"", 0, hdr, hn, &st), GRAFT_OK);
    for (int i = 0; i < n; i++) {
        uint8_t buf[512];
        size_t vn = tensorflow__bundle_entry_proto__pack(&es[i].e, buf);
        assert_int_equal(graftI_ck_tbuilder_add(b, (const uint8_t *)es[i].key, strlen(es[i].key), buf, vn, &st),
                         GRAFT_OK);
    }
    const uint8_t *out;
    size_t on;
    assert_int_equal(graftI_ck_tbuilder_finish(b, &out, &on, &st), GRAFT_OK);
    char p[1024];
    snprintf(p, sizeof p, "%s.index", prefix);
    assert_true(ckt_write_file(p, out, on));
    graftI_ck_tbuilder_free(b);
}

static size_t pack_header(uint8_t *buf, int shards, int endian, int producer, int min_consumer, int32_t *bad,
                          int nbad)
{
    Tensorflow__VersionDef v = TENSORFLOW__VERSION_DEF__INIT;
    v.producer = producer;
    v.min_consumer = min_consumer;
    v.bad_consumers = bad;
    v.n_bad_consumers = (size_t)nbad;
    Tensorflow__BundleHeaderProto h = TENSORFLOW__BUNDLE_HEADER_PROTO__INIT;
    h.num_shards = shards;
    h.endianness = (Tensorflow__BundleHeaderProto__Endianness)endian;
    h.version = &v;
    return tensorflow__bundle_header_proto__pack(&h, buf);
}

/* A big-endian bundle (as a BIG-endian TF build writes it): graft checks the crc
 * over the stored bytes, then byte-swaps to native order. */
static void test_big_endian(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("bundle");
    char *prefix = ckt_path(dir, "be");
    int64_t dims[1] = {3};
    float f[3] = {1.5f, -2.25f, 1e30f};
    int64_t q[2] = {-5, 0x0102030405060708ll};
    uint8_t data[12 + 16 + 32];
    size_t o = 0;
    for (int i = 0; i < 3; i++) {
        uint32_t u;
        memcpy(&u, &f[i], 4);
        u = __builtin_bswap32(u);
        memcpy(data + o, &u, 4);
        o += 4;
    }
    for (int i = 0; i < 2; i++) {
        uint64_t u = __builtin_bswap64((uint64_t)q[i]);
        memcpy(data + o, &u, 8);
        o += 8;
    }
    /* string ["ab"]: varint 2, masked crc of the BE length, "ab" */
    size_t so = o;
    data[o++] = 2;
    uint32_t be2 = __builtin_bswap32(2);
    uint32_t lc = graftI_crc32c(&be2, 4);
    uint32_t ml = __builtin_bswap32(graftI_crc32c_mask(lc));
    memcpy(data + o, &ml, 4);
    o += 4;
    memcpy(data + o, "ab", 2);
    o += 2;
    uint32_t scrc = graftI_crc32c_extend(graftI_crc32c_extend(lc, &ml, 4), "ab", 2);
    char p[1024];
    snprintf(p, sizeof p, "%s.data-00000-of-00001", prefix);
    assert_true(ckt_write_file(p, data, o));
    Tensorflow__TensorShapeProto__Dim d3 = TENSORFLOW__TENSOR_SHAPE_PROTO__DIM__INIT, d2 = d3, *pd3 = &d3, *pd2 = &d2;
    d3.size = 3;
    d2.size = 2;
    Tensorflow__TensorShapeProto s3 = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT, s2 = s3, s0 = s3;
    s3.n_dim = 1;
    s3.dim = &pd3;
    s2.n_dim = 1;
    s2.dim = &pd2;
    raw_entry es[3];
    for (int i = 0; i < 3; i++) es[i].e = (Tensorflow__BundleEntryProto)TENSORFLOW__BUNDLE_ENTRY_PROTO__INIT;
    es[0].key = "f";
    es[0].e.dtype = TENSORFLOW__DATA_TYPE__DT_FLOAT;
    es[0].e.shape = &s3;
    es[0].e.size = 12;
    es[0].e.crc32c = graftI_crc32c_mask(graftI_crc32c(data, 12));
    es[1].key = "q";
    es[1].e.dtype = TENSORFLOW__DATA_TYPE__DT_INT64;
    es[1].e.shape = &s2;
    es[1].e.offset = 12;
    es[1].e.size = 16;
    es[1].e.crc32c = graftI_crc32c_mask(graftI_crc32c(data + 12, 16));
    es[2].key = "s";
    es[2].e.dtype = TENSORFLOW__DATA_TYPE__DT_STRING;
    es[2].e.shape = &s0;
    es[2].e.offset = (int64_t)so;
    es[2].e.size = (int64_t)(o - so);
    es[2].e.crc32c = graftI_crc32c_mask(scrc);
    uint8_t hdr[64];
    write_index(prefix, hdr, pack_header(hdr, 1, 1, 1, 0, NULL, 0), es, 3);
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
    if (!r) fail_msg("%s", st.msg);
    graft_tensor *t = NULL;
    assert_int_equal(graft_ckpt_reader_read(r, "f", &t, &st), GRAFT_OK);
    assert_memory_equal(graft_tensor_cdata(t), f, 12);
    graft_tensor_free(t);
    assert_int_equal(graft_ckpt_reader_read(r, "q", &t, &st), GRAFT_OK);
    assert_memory_equal(graft_tensor_cdata(t), q, 16);
    graft_tensor_free(t);
    graft_code rc = graft_ckpt_reader_read(r, "s", &t, &st);
    if (rc) fail_msg("%s", st.msg);
    const graft_str *sv = graft_tensor_cdata(t);
    assert_int_equal(sv[0].len, 2);
    assert_memory_equal(sv[0].ptr, "ab", 2);
    graft_tensor_free(t);
    graft_ckpt_reader_free(r);
    (void)dims;
    /* an unknown endianness value is refused at open */
    write_index(prefix, hdr, pack_header(hdr, 1, 7, 1, 0, NULL, 0), es, 3);
    assert_null(graft_ckpt_reader_open(prefix, NULL, &st));
    assert_int_equal(st.code, GRAFT_ERR_CORRUPT);
    assert_non_null(strstr(st.msg, "endianness"));
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

static void test_versions(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("bundle");
    char *prefix = ckt_path(dir, "v");
    char p[1024];
    snprintf(p, sizeof p, "%s.data-00000-of-00001", prefix);
    assert_true(ckt_write_file(p, "", 0));
    uint8_t hdr[64];
    graft_status st;
    int32_t bad[2] = {3, 1};
    struct {
        int producer, min_consumer, nbad;
        graft_code want;
    } cases[] = {{1, 0, 0, GRAFT_OK}, {0, 1, 0, GRAFT_OK}, {-1, 0, 0, GRAFT_ERR_VERSION},
                 {1, 2, 0, GRAFT_ERR_VERSION}, {1, 0, 1, GRAFT_OK}, {1, 0, 2, GRAFT_ERR_VERSION}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_index(prefix, hdr, pack_header(hdr, 1, 0, cases[i].producer, cases[i].min_consumer, bad, cases[i].nbad),
                    NULL, 0);
        graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
        assert_int_equal(st.code, cases[i].want);
        if (cases[i].want != GRAFT_OK) assert_non_null(strstr(st.msg, "v.index"));
        graft_ckpt_reader_free(r);
    }
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

/* Every DataType number 0..300 plus random int32s in an entry: graft's dtypes load,
 * listable TF types are listed but refused on read, the rest refused at open. */
static void test_dtype_numbers(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("bundle");
    char *prefix = ckt_path(dir, "d");
    char p[1024];
    snprintf(p, sizeof p, "%s.data-00000-of-00001", prefix);
    uint8_t zeros[64] = {0};
    assert_true(ckt_write_file(p, zeros, 16));
    uint8_t hdr[64];
    size_t hn = pack_header(hdr, 1, 0, 1, 0, NULL, 0);
    int values[320];
    int nv = 0;
    for (int v = 0; v <= 300; v++) values[nv++] = v;
    uint32_t x = 99;
    while (nv < 320) {
        x = x * 1664525u + 1013904223u;
        values[nv++] = (int)x;
    }
    Tensorflow__TensorShapeProto s0 = TENSORFLOW__TENSOR_SHAPE_PROTO__INIT;
    for (int i = 0; i < nv; i++) {
        int dt = values[i];
        size_t isz = graftI_ck_dtype_size(dt);
        raw_entry e = {"t", TENSORFLOW__BUNDLE_ENTRY_PROTO__INIT};
        e.e.dtype = (Tensorflow__DataType)dt;
        e.e.shape = &s0;
        e.e.size = dt == 7 ? 5 : (int64_t)isz;
        uint8_t sdata[5] = {0, 0, 0, 0, 0};
        if (dt == 7) {
            /* one empty string: varint 0, masked crc of the length as fixed32 0, no bytes */
            uint32_t c0 = graftI_crc32c("\0\0\0\0", 4);
            uint32_t mm = graftI_crc32c_mask(c0);
            memcpy(sdata + 1, &mm, 4);
            e.e.crc32c = graftI_crc32c_mask(graftI_crc32c_extend(c0, sdata + 1, 4));
            assert_true(ckt_write_file(p, sdata, 5));
        } else {
            e.e.crc32c = graftI_crc32c_mask(graftI_crc32c(zeros, (size_t)e.e.size));
            assert_true(ckt_write_file(p, zeros, 16));
        }
        write_index(prefix, hdr, hn, &e, 1);
        graft_status st;
        graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
        bool loadable = dt == 1 || dt == 2 || dt == 3 || dt == 4 || dt == 5 || dt == 6 || dt == 7 || dt == 9 ||
                        dt == 10 || dt == 14 || dt == 17 || dt == 19 || dt == 22 || dt == 23;
        bool listable = dt >= 1 && dt <= 23;
        if (!listable) {
            assert_null(r);
            assert_int_equal(st.code, GRAFT_ERR_CORRUPT);
            char want[64];
            snprintf(want, sizeof want, "unsupported dtype %d", dt);
            if (!strstr(st.msg, want)) fail_msg("dtype %d: %s", dt, st.msg);
            continue;
        }
        if (!r) fail_msg("dtype %d: %s", dt, st.msg);
        graft_tensor *t = NULL;
        graft_code rc = graft_ckpt_reader_read(r, "t", &t, &st);
        if (loadable) {
            if (rc) fail_msg("dtype %d: %s", dt, st.msg);
            assert_int_equal((int)graft_tensor_dtype(t), dt);
        } else {
            assert_int_equal(rc, GRAFT_ERR_UNSUPPORTED);
            assert_non_null(strstr(st.msg, "t: unsupported dtype"));
        }
        graft_tensor_free(t);
        graft_ckpt_reader_free(r);
    }
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

static void test_writer_protocol(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("bundle");
    char *prefix = ckt_path(dir, "w");
    graft_status st;
    graft_tensor *t = graft_tensor_scalar_f32(3.0f, &st);
    /* abandoned writer: nothing left behind */
    graft_ckpt_writer *w = graft_ckpt_writer_new(prefix, &st);
    assert_int_equal(graft_ckpt_writer_add(w, "a", t, &st), GRAFT_OK);
    assert_int_equal(ckt_count_files(dir, "tempstate"), 1);
    graft_ckpt_writer_free(w);
    assert_int_equal(ckt_count_files(dir, ""), 0);
    /* duplicate keys: refused at finish, nothing left behind */
    w = graft_ckpt_writer_new(prefix, &st);
    assert_int_equal(graft_ckpt_writer_add(w, "a", t, &st), GRAFT_OK);
    assert_int_equal(graft_ckpt_writer_add(w, "a", t, &st), GRAFT_OK);
    assert_int_equal(graft_ckpt_writer_finish(w, &st), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(st.msg, "duplicate checkpoint key 'a'"));
    graft_ckpt_writer_free(w);
    assert_int_equal(ckt_count_files(dir, ""), 0);
    /* empty keys refused; a missing directory is an error naming the path */
    w = graft_ckpt_writer_new(prefix, &st);
    assert_int_equal(graft_ckpt_writer_add(w, "", t, &st), GRAFT_ERR_INVALID_ARG);
    graft_ckpt_writer_free(w);
    char *bad = ckt_path(dir, "nodir/x");
    assert_null(graft_ckpt_writer_new(bad, &st));
    assert_non_null(strstr(st.msg, "nodir/x"));
    free(bad);
    /* an empty checkpoint is valid (TF writes one too) */
    w = graft_ckpt_writer_new(prefix, &st);
    assert_int_equal(graft_ckpt_writer_finish(w, &st), GRAFT_OK);
    graft_ckpt_writer_free(w);
    refread_ok(prefix);
    /* overwrite in place, then remove */
    w = graft_ckpt_writer_new(prefix, &st);
    assert_int_equal(graft_ckpt_writer_add(w, "a", t, &st), GRAFT_OK);
    assert_int_equal(graft_ckpt_writer_finish(w, &st), GRAFT_OK);
    graft_ckpt_writer_free(w);
    assert_int_equal(ckt_count_files(dir, ""), 2);
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
    assert_non_null(r);
    assert_int_equal(graft_ckpt_reader_num_entries(r), 1);
    graft_ckpt_reader_free(r);
    assert_int_equal(graft_ckpt_remove(prefix, &st), GRAFT_OK);
    assert_int_equal(ckt_count_files(dir, ""), 0);
    graft_tensor_free(t);
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

/* A large tensor goes through the unbuffered write path and pread straight into
 * the tensor; values and refread agree. */
static void test_large_tensor(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("bundle");
    char *prefix = ckt_path(dir, "big");
    int64_t dims[2] = {1024, 1100};
    graft_tensor *t = ckt_make_tensor(GRAFT_FLOAT, dims, 2, 3);
    graft_tensor *small = ckt_make_tensor(GRAFT_INT32, dims, 1, 4);
    graft_status st;
    graft_ckpt_writer *w = graft_ckpt_writer_new(prefix, &st);
    assert_int_equal(graft_ckpt_writer_add(w, "small", small, &st), GRAFT_OK);
    assert_int_equal(graft_ckpt_writer_add(w, "big", t, &st), GRAFT_OK);
    assert_int_equal(graft_ckpt_writer_finish(w, &st), GRAFT_OK);
    graft_ckpt_writer_free(w);
    refread_ok(prefix);
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
    graft_tensor *a = NULL, *b = NULL;
    assert_int_equal(graft_ckpt_reader_read(r, "big", &a, &st), GRAFT_OK);
    assert_int_equal(graft_ckpt_reader_read(r, "small", &b, &st), GRAFT_OK);
    assert_true(graft_tensor_equal(a, t));
    assert_true(graft_tensor_equal(b, small));
    graft_tensor_free(a);
    graft_tensor_free(b);
    graft_ckpt_reader_free(r);
    graft_tensor_free(t);
    graft_tensor_free(small);
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_all_dtypes_roundtrip), cmocka_unit_test(test_header_and_entry_bytes),
        cmocka_unit_test(test_partitioned),          cmocka_unit_test(test_big_endian),
        cmocka_unit_test(test_versions),             cmocka_unit_test(test_dtype_numbers),
        cmocka_unit_test(test_writer_protocol),      cmocka_unit_test(test_large_tensor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
