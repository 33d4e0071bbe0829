/* tests/test_ckpt_v1.c - V1 ("tensor slices") checkpoints beyond what the real
 * fixtures hold: a two-shard set with a partitioned tensor split across the shards,
 * every value field (packed and unpacked encodings), strings, bools, halves, a
 * scalar; values checked against hand-written inputs and against the independent
 * reference reader refread_v1.py (sha256 per tensor); malformed records refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "saved_tensor_slice.pb-c.h"

#include "checkpoint/ckpt_internal.h"
#include "ckpt_support.h"
#include "ckpt_tensors.h"

typedef struct slice_def {
    int rank;
    int64_t start[2], len[2]; /* len -1: whole dimension */
} slice_def;

/* One table = one shard: the meta record plus data records (sorted by key). */
typedef struct shard {
    graftI_ck_buf keys[16], vals[16];
    int n;
    Tensorflow__SavedSliceMeta *metas[8];
    int nmeta;
} shard;

static Tensorflow__TensorSliceProto *slice_proto(const slice_def *s)
{
    Tensorflow__TensorSliceProto *p = calloc(1, sizeof *p);
    tensorflow__tensor_slice_proto__init(p);
    p->n_extent = (size_t)s->rank;
    p->extent = calloc((size_t)s->rank + 1, sizeof *p->extent);
    for (int d = 0; d < s->rank; d++) {
        Tensorflow__TensorSliceProto__Extent *x = calloc(1, sizeof *x);
        tensorflow__tensor_slice_proto__extent__init(x);
        if (s->len[d] >= 0) {
            x->start = s->start[d];
            x->has_length_case = TENSORFLOW__TENSOR_SLICE_PROTO__EXTENT__HAS_LENGTH_LENGTH;
            x->length = s->len[d];
        }
        p->extent[d] = x;
    }
    return p;
}

static void add_meta(shard *sh, const char *name, int dtype, int rank, const int64_t *dims, const slice_def *sl,
                     int nsl)
{
    Tensorflow__SavedSliceMeta *m = calloc(1, sizeof *m);
    tensorflow__saved_slice_meta__init(m);
    m->name.data = (uint8_t *)strdup(name);
    m->name.len = strlen(name);
    m->type = (Tensorflow__DataType)dtype;
    Tensorflow__TensorShapeProto *sp = calloc(1, sizeof *sp);
    tensorflow__tensor_shape_proto__init(sp);
    sp->n_dim = (size_t)rank;
    sp->dim = calloc((size_t)rank + 1, sizeof *sp->dim);
    for (int d = 0; d < rank; d++) {
        sp->dim[d] = calloc(1, sizeof *sp->dim[d]);
        tensorflow__tensor_shape_proto__dim__init(sp->dim[d]);
        sp->dim[d]->size = dims[d];
    }
    m->shape = sp;
    m->n_slice = (size_t)nsl;
    m->slice = calloc((size_t)nsl + 1, sizeof *m->slice);
    for (int i = 0; i < nsl; i++) m->slice[i] = slice_proto(&sl[i]);
    sh->metas[sh->nmeta++] = m;
}

/* Adds a data record whose TensorProto bytes are given (already encoded). */
static void add_record(shard *sh, const char *name, const slice_def *s, const uint8_t *tensor, size_t tn)
{
    Tensorflow__SavedSlice ss = TENSORFLOW__SAVED_SLICE__INIT;
    ss.name.data = (uint8_t *)name;
    ss.name.len = strlen(name);
    ss.slice = slice_proto(s);
    /* SavedSlice{name, slice} packed by protobuf-c, then field 3 appended by hand */
    size_t n = tensorflow__saved_slice__get_packed_size(&ss);
    graftI_ck_buf inner = {0};
    uint8_t *tmp = malloc(n + 1);
    tensorflow__saved_slice__pack(&ss, tmp);
    tensorflow__tensor_slice_proto__free_unpacked(ss.slice, NULL);
    graftI_ck_buf_put(&inner, tmp, n);
    free(tmp);
    graftI_ck_buf_varint(&inner, (3 << 3) | 2);
    graftI_ck_buf_varint(&inner, tn);
    graftI_ck_buf_put(&inner, tensor, tn);
    graftI_ck_buf *v = &sh->vals[sh->n], *k = &sh->keys[sh->n];
    memset(v, 0, sizeof *v);
    memset(k, 0, sizeof *k);
    graftI_ck_buf_varint(v, (2 << 3) | 2); /* SavedTensorSlices.data */
    graftI_ck_buf_varint(v, inner.n);
    graftI_ck_buf_put(v, inner.p, inner.n);
    graftI_ck_buf_free(&inner);
    graftI_ck_slice_key(k, (const uint8_t *)name, strlen(name), s->rank, s->start, s->len);
    sh->n++;
}

static void write_shard(shard *sh, const char *path)
{
    Tensorflow__VersionDef v = TENSORFLOW__VERSION_DEF__INIT;
    v.producer = 1;
    Tensorflow__SavedTensorSliceMeta meta = TENSORFLOW__SAVED_TENSOR_SLICE_META__INIT;
    meta.n_tensor = (size_t)sh->nmeta;
    meta.tensor = sh->metas;
    meta.versions = &v;
    Tensorflow__SavedTensorSlices top = TENSORFLOW__SAVED_TENSOR_SLICES__INIT;
    top.meta = &meta;
    size_t mn = tensorflow__saved_tensor_slices__get_packed_size(&top);
    uint8_t *mb = malloc(mn);
    tensorflow__saved_tensor_slices__pack(&top, mb);
    /* sort records by key (selection sort; tiny) */
    for (int i = 0; i < sh->n; i++)
        for (int j = i + 1; j < sh->n; j++) {
            size_t m = sh->keys[i].n < sh->keys[j].n ? sh->keys[i].n : sh->keys[j].n;
            int c = memcmp(sh->keys[i].p, sh->keys[j].p, m);
            if (c > 0 || (c == 0 && sh->keys[i].n > sh->keys[j].n)) {
                graftI_ck_buf t = sh->keys[i];
                sh->keys[i] = sh->keys[j];
                sh->keys[j] = t;
                t = sh->vals[i];
                sh->vals[i] = sh->vals[j];
                sh->vals[j] = t;
            }
        }
    graftI_ck_tbuilder *b = graftI_ck_tbuilder_new(262144, 16);
    graft_status st;
    assert_int_equal(graftI_ck_tbuilder_add(b, (const uint8_t *)"", 0, mb, mn, &st), GRAFT_OK);
    for (int i = 0; i < sh->n; i++)
        assert_int_equal(graftI_ck_tbuilder_add(b, sh->keys[i].p, sh->keys[i].n, sh->vals[i].p, sh->vals[i].n, &st),
                         GRAFT_OK);
    const uint8_t *out;
    size_t on;
    assert_int_equal(graftI_ck_tbuilder_finish(b, &out, &on, &st), GRAFT_OK);
    assert_true(ckt_write_file(path, out, on));
    graftI_ck_tbuilder_free(b);
    free(mb);
    for (int i = 0; i < sh->n; i++) {
        graftI_ck_buf_free(&sh->keys[i]);
        graftI_ck_buf_free(&sh->vals[i]);
    }
    for (int i = 0; i < sh->nmeta; i++) tensorflow__saved_slice_meta__free_unpacked(sh->metas[i], NULL);
    sh->n = sh->nmeta = 0;
}

/* TensorProto encodings by hand: packed floats, packed/unpacked varints, strings. */
static void tp_floats(graftI_ck_buf *b, const float *v, int n)
{
    graftI_ck_buf_varint(b, (5 << 3) | 2);
    graftI_ck_buf_varint(b, (uint64_t)n * 4);
    graftI_ck_buf_put(b, v, (size_t)n * 4);
}
static void tp_varints(graftI_ck_buf *b, int field, const int64_t *v, int n, bool packed)
{
    if (packed) {
        graftI_ck_buf p = {0};
        for (int i = 0; i < n; i++) graftI_ck_buf_varint(&p, (uint64_t)v[i]);
        graftI_ck_buf_varint(b, (uint64_t)(field << 3) | 2);
        graftI_ck_buf_varint(b, p.n);
        graftI_ck_buf_put(b, p.p, p.n);
        graftI_ck_buf_free(&p);
    } else {
        for (int i = 0; i < n; i++) {
            graftI_ck_buf_varint(b, (uint64_t)(field << 3));
            graftI_ck_buf_varint(b, (uint64_t)v[i]);
        }
    }
}
static void tp_string(graftI_ck_buf *b, const char *s, size_t n)
{
    graftI_ck_buf_varint(b, (8 << 3) | 2);
    graftI_ck_buf_varint(b, n);
    graftI_ck_buf_put(b, s, n);
}

static const float F[12] = {0.5f, -1, 2, 3, 4.25f, 5, 6, 7, 8, 9, 10, -11.5f};
static const int64_t I32[5] = {-2147483648ll, -1, 0, 7, 2147483647ll};
static const int64_t BOOLS[3] = {1, 0, 1};
static const int64_t HALFS[2] = {0x3c00, 0xc000}; /* 1.0, -2.0 */
static const int64_t I64[2] = {-5, 1ll << 40};

static void build_set(const char *prefix)
{
    char p0[1024], p1[1024];
    snprintf(p0, sizeof p0, "%s-00000-of-00002", prefix);
    snprintf(p1, sizeof p1, "%s-00001-of-00002", prefix);
    shard a = {0}, b = {0};
    int64_t fd[2] = {4, 3}, d5[1] = {5}, d2[1] = {2}, d3[1] = {3};
    slice_def top = {2, {0, 0}, {2, -1}}, bot = {2, {2, 0}, {2, -1}};
    slice_def full1 = {1, {0}, {-1}}, scalar = {0, {0}, {0}};
    graftI_ck_buf t = {0};
    /* shard 0: f rows 0..1, i (packed int_val), b (bool), d (double scalar) */
    add_meta(&a, "f", 1, 2, fd, &top, 1);
    tp_floats(&t, F, 6);
    add_record(&a, "f", &top, t.p, t.n);
    t.n = 0;
    add_meta(&a, "i", 3, 1, d5, &full1, 1);
    tp_varints(&t, 7, I32, 5, true);
    add_record(&a, "i", &full1, t.p, t.n);
    t.n = 0;
    add_meta(&a, "b", 10, 1, d3, &full1, 1);
    tp_varints(&t, 11, BOOLS, 3, true);
    add_record(&a, "b", &full1, t.p, t.n);
    t.n = 0;
    add_meta(&a, "d", 2, 0, NULL, &scalar, 1);
    double dv = -0.125;
    graftI_ck_buf_varint(&t, (6 << 3) | 1); /* unpacked fixed64 double */
    graftI_ck_buf_put(&t, &dv, 8);
    add_record(&a, "d", &scalar, t.p, t.n);
    t.n = 0;
    write_shard(&a, p0);
    /* shard 1: f rows 2..3, s (strings), h (half), l (unpacked int64) */
    add_meta(&b, "f", 1, 2, fd, &bot, 1);
    tp_floats(&t, F + 6, 6);
    add_record(&b, "f", &bot, t.p, t.n);
    t.n = 0;
    add_meta(&b, "s", 7, 1, d2, &full1, 1);
    tp_string(&t, "hello", 5);
    tp_string(&t, "w\0rld", 5);
    add_record(&b, "s", &full1, t.p, t.n);
    t.n = 0;
    add_meta(&b, "h", 19, 1, d2, &full1, 1);
    tp_varints(&t, 13, HALFS, 2, true);
    add_record(&b, "h", &full1, t.p, t.n);
    t.n = 0;
    add_meta(&b, "l", 9, 1, d2, &full1, 1);
    tp_varints(&t, 10, I64, 2, false);
    add_record(&b, "l", &full1, t.p, t.n);
    t.n = 0;
    write_shard(&b, p1);
    graftI_ck_buf_free(&t);
}

static void test_two_shards_every_field(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("v1");
    char *prefix = ckt_path(dir, "old");
    build_set(prefix);
    graft_status st;
    char p0[1024];
    snprintf(p0, sizeof p0, "%s-00000-of-00002", prefix);
    graft_ckpt_reader *r = graft_ckpt_reader_open(p0, NULL, &st);
    if (!r) fail_msg("%s", st.msg);
    assert_int_equal(graft_ckpt_reader_format(r), GRAFT_CKPT_V1);
    assert_string_equal(graft_ckpt_reader_prefix(r), prefix);
    assert_int_equal(graft_ckpt_reader_num_entries(r), 7);
    graft_ckpt_entry e;
    assert_true(graft_ckpt_reader_entry(r, graft_ckpt_reader_find(r, "f"), &e));
    assert_int_equal(e.num_slices, 2);
    graft_tensor *t = NULL;
    assert_int_equal(graft_ckpt_reader_read(r, "f", &t, &st), GRAFT_OK);
    assert_memory_equal(graft_tensor_cdata(t), F, sizeof F);
    graft_tensor_free(t);
    assert_int_equal(graft_ckpt_reader_read(r, "i", &t, &st), GRAFT_OK);
    const int32_t *iv = graft_tensor_cdata(t);
    for (int i = 0; i < 5; i++) assert_int_equal(iv[i], (int32_t)I32[i]);
    graft_tensor_free(t);
    assert_int_equal(graft_ckpt_reader_read(r, "b", &t, &st), GRAFT_OK);
    assert_memory_equal(graft_tensor_cdata(t), "\1\0\1", 3);
    graft_tensor_free(t);
    assert_int_equal(graft_ckpt_reader_read(r, "d", &t, &st), GRAFT_OK);
    assert_true(*(const double *)graft_tensor_cdata(t) == -0.125);
    graft_tensor_free(t);
    assert_int_equal(graft_ckpt_reader_read(r, "s", &t, &st), GRAFT_OK);
    const graft_str *sv = graft_tensor_cdata(t);
    assert_int_equal(sv[1].len, 5);
    assert_memory_equal(sv[1].ptr, "w\0rld", 5);
    graft_tensor_free(t);
    assert_int_equal(graft_ckpt_reader_read(r, "h", &t, &st), GRAFT_OK);
    assert_int_equal(((const uint16_t *)graft_tensor_cdata(t))[1], 0xc000);
    graft_tensor_free(t);
    assert_int_equal(graft_ckpt_reader_read(r, "l", &t, &st), GRAFT_OK);
    assert_true(((const int64_t *)graft_tensor_cdata(t))[1] == (1ll << 40));
    graft_tensor_free(t);
    /* the reference reader agrees on every tensor */
    char why[512], cmd[8192], *out = NULL, *err = NULL;
    const char *rb = ckt_refread_build(why, sizeof why);
    assert_non_null(rb);
    snprintf(cmd, sizeof cmd, "REFREAD_BUILD='%s' '%s' '%s/tools/refread/refread_v1.py' ckpt '%s' --json", rb,
             ckt_python(), GRAFT_SHARED_DIR, p0);
    int rc = ckt_run(cmd, &out, &err);
    if (rc != 0) fail_msg("refread_v1 rejects the synthetic set: %s", err);
    ckt_json *j = ckt_json_parse(out, strlen(out));
    assert_non_null(j);
    const ckt_json *es = ckt_json_get(j, "entries");
    assert_non_null(es);
    assert_int_equal(es->n, 7);
    int compared = 0;
    for (int i = 0; i < es->n; i++) {
        const ckt_json *x = ckt_json_at(es, i);
        const char *name = ckt_json_str(x, "key");
        const char *sha = ckt_json_str(x, "sha256");
        if (!sha) continue; /* refread does not hash every dtype */
        assert_int_equal(graft_ckpt_reader_read(r, name, &t, &st), GRAFT_OK);
        char hex[65];
        ckt_tensor_sha256_v1(t, hex);
        if (strcmp(hex, sha)) fail_msg("%s: sha256 %s vs refread_v1 %s", name, hex, sha);
        graft_tensor_free(t);
        compared++;
    }
    assert_true(compared >= 6);
    ckt_json_free(j);
    free(out);
    free(err);
    graft_ckpt_reader_free(r);
    /* the set opens by prefix and by pattern too */
    r = graft_ckpt_reader_open(prefix, NULL, &st);
    assert_non_null(r);
    graft_ckpt_reader_free(r);
    /* a missing shard */
    char p1[1024];
    snprintf(p1, sizeof p1, "%s-00001-of-00002", prefix);
    remove(p1);
    assert_null(graft_ckpt_reader_open(p0, NULL, &st));
    assert_non_null(strstr(st.msg, "old-00001-of-00002"));
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

static void bad_record(const char *dir, int dtype, const int64_t *dims, int rank, const uint8_t *tp, size_t tn,
                       const char *want)
{
    char *path = ckt_path(dir, "bad");
    shard sh = {0};
    slice_def s = {rank, {0, 0}, {-1, -1}};
    add_meta(&sh, "x", dtype, rank, dims, &s, 1);
    add_record(&sh, "x", &s, tp, tn);
    write_shard(&sh, path);
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(path, NULL, &st);
    if (!r) fail_msg("%s", st.msg);
    graft_tensor *t = NULL;
    graft_code rc = graft_ckpt_reader_read(r, "x", &t, &st);
    if (rc == GRAFT_OK) fail_msg("accepted (expected '%s')", want);
    if (!strstr(st.msg, want)) fail_msg("expected '%s' in: %s", want, st.msg);
    assert_non_null(strstr(st.msg, "bad: x:"));
    graft_ckpt_reader_free(r);
    free(path);
}

static void test_bad_records(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("v1");
    int64_t d3[1] = {3};
    graftI_ck_buf t = {0};
    tp_floats(&t, F, 2);
    bad_record(dir, 1, d3, 1, t.p, t.n, "value count differs from the slice size (3 vs 2)");
    t.n = 0;
    tp_floats(&t, F, 4);
    bad_record(dir, 1, d3, 1, t.p, t.n, "more values than the slice holds");
    t.n = 0;
    int64_t big[3] = {1, 300, 2};
    tp_varints(&t, 7, big, 3, true);
    bad_record(dir, 4, d3, 1, t.p, t.n, "value 300 at 1 outside uint8's range");
    t.n = 0;
    tp_floats(&t, F, 3);
    bad_record(dir, 2, d3, 1, t.p, t.n, "unexpected TensorProto value field 5 for dtype float64");
    t.n = 0;
    graftI_ck_buf_varint(&t, (5 << 3) | 2);
    graftI_ck_buf_varint(&t, 7); /* not a multiple of 4 */
    graftI_ck_buf_put(&t, F, 7);
    bad_record(dir, 1, d3, 1, t.p, t.n, "not a multiple of 4");
    t.n = 0;
    graftI_ck_buf_varint(&t, (5 << 3) | 2);
    graftI_ck_buf_varint(&t, 100); /* longer than the record */
    bad_record(dir, 1, d3, 1, t.p, t.n, "malformed");
    t.n = 0;
    graftI_ck_buf_varint(&t, (5 << 3) | 3); /* a group: refused */
    bad_record(dir, 1, d3, 1, t.p, t.n, "malformed");
    graftI_ck_buf_free(&t);
    ckt_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_shards_every_field),
        cmocka_unit_test(test_bad_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
