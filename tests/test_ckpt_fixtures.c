/* tests/test_ckpt_fixtures.c - every TensorFlow checkpoint under ../shared/fixtures is
 * read and matches its golden.json (names, dtypes, shapes, sha256 of each tensor's
 * bytes, V1 slice keys); every path form opens the same checkpoint; latest_checkpoint
 * agrees with the goldens; re-writing each single-shard V2 fixture reproduces
 * TensorFlow's .index and .data byte for byte; read -> write -> read round trips are
 * bit-identical and pass the strict reference reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint/ckpt_internal.h"
#include "ckpt_support.h"
#include "ckpt_tensors.h"

static const char *const fixture_dirs[] = {
    "tf1/cnn_cifar10_tf115",          "tf1/cnn_denoise_tf012",   "tf1/lenet_traffic_tf10",
    "tf1/lenet_traffic_tf13",         "tf1/lstm_rnn_tf11",       "tf1/mlp_adam_tf110",
    "tf1/mlp_tiny_tf113",             "tf1/tf2_sharded_objgraph", "tf1v1/half_plus_two_sharded_tf012",
    "tf1v1/har_convlstm_tf011",       "tf1v1/mnist_slim_tf09",   "vgg/vgg_traffic_tf13",
    "savedmodel/tf18_keras_xor_builder", "savedmodel/tf23_keras_linear_objgraph"};
#define N_FIXTURES (int)(sizeof fixture_dirs / sizeof fixture_dirs[0])

static char *fixture_path(const char *dir, const char *rel)
{
    char *d = ckt_path(GRAFT_FIXTURES_DIR, dir);
    char *p = rel ? ckt_path(d, rel) : strdup(d);
    free(d);
    return p;
}

static ckt_json *golden(const char *dir)
{
    char *p = fixture_path(dir, "golden.json");
    ckt_json *g = ckt_json_load(p);
    if (!g) fail_msg("cannot load %s", p);
    free(p);
    return g;
}

/* The path to open for a golden bundle: V2 prefix, or V1 file (first shard). */
static char *bundle_path(const char *dir, const ckt_json *b)
{
    const ckt_json *shards = ckt_json_get(b, "shards");
    if (shards && shards->n > 0) return fixture_path(dir, ckt_json_str(ckt_json_at(shards, 0), "file"));
    return fixture_path(dir, ckt_json_str(b, "prefix"));
}

static bool shape_matches(const ckt_json *js, const graft_shape *s)
{
    if (!js || js->type != CKT_JARR || js->n != s->rank) return false;
    for (int i = 0; i < s->rank; i++)
        if ((int64_t)ckt_json_at(js, i)->num != s->dims[i]) return false;
    return true;
}

static void check_bundle(const char *dir, const ckt_json *b)
{
    bool v1 = ckt_json_str(b, "format") && !strcmp(ckt_json_str(b, "format"), "V1");
    char *path = bundle_path(dir, b);
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(path, NULL, &st);
    if (!r) fail_msg("%s: %s", path, st.msg);
    assert_int_equal(graft_ckpt_reader_format(r), v1 ? GRAFT_CKPT_V1 : GRAFT_CKPT_V2);
    const ckt_json *es = ckt_json_get(b, "entries");
    assert_non_null(es);
    assert_int_equal(graft_ckpt_reader_num_entries(r), es->n);
    for (int i = 0; i < es->n; i++) {
        const ckt_json *e = ckt_json_at(es, i);
        const char *key = ckt_json_str(e, "key");
        graft_ckpt_entry en;
        /* goldens list entries sorted bytewise, as graft does */
        assert_true(graft_ckpt_reader_entry(r, i, &en));
        if (strcmp(en.name, key)) fail_msg("%s: entry %d is '%s', golden has '%s'", path, i, en.name, key);
        assert_string_equal(graft_ckpt_dtype_name(en.dtype), ckt_json_str(e, "dtype"));
        assert_int_equal(en.dtype, (int)ckt_json_num(e, "dtype_enum", -1));
        if (!shape_matches(ckt_json_get(e, "shape"), &en.shape)) fail_msg("%s: %s: shape differs", path, key);
        assert_true(en.num_elements == (int64_t)ckt_json_num(e, "num_elements", -1));
        graft_tensor *t = NULL;
        graft_code rc = graft_ckpt_reader_read(r, key, &t, &st);
        if (rc) fail_msg("%s: %s", path, st.msg);
        char hex[65];
        if (v1) ckt_tensor_sha256_v1(t, hex);
        else ckt_tensor_sha256_v2(t, hex);
        if (strcmp(hex, ckt_json_str(e, "sha256"))) fail_msg("%s: %s: sha256 %s vs golden %s", path, key, hex,
                                                            ckt_json_str(e, "sha256"));
        /* V1: the OrderedCode key of every slice record */
        const ckt_json *recs = ckt_json_get(e, "slice_records");
        const ckt_json *sls = ckt_json_get(e, "slices");
        for (int k = 0; recs && k < recs->n; k++) {
            const ckt_json *ext = ckt_json_at(sls, k);
            int64_t start[8] = {0}, len[8] = {0};
            for (int d = 0; d < ext->n; d++) {
                start[d] = (int64_t)ckt_json_at(ckt_json_at(ext, d), 0)->num;
                len[d] = (int64_t)ckt_json_at(ckt_json_at(ext, d), 1)->num;
            }
            graftI_ck_buf kb = {0};
            assert_true(graftI_ck_slice_key(&kb, (const uint8_t *)key, strlen(key), ext->n, start, len));
            char kh[1024] = "";
            for (size_t j = 0; j < kb.n && 2 * j + 2 < sizeof kh; j++) snprintf(kh + 2 * j, 3, "%02x", kb.p[j]);
            assert_string_equal(kh, ckt_json_str(ckt_json_at(recs, k), "key_hex"));
            graftI_ck_buf_free(&kb);
        }
        graft_tensor_free(t);
    }
    graft_ckpt_reader_free(r);
    free(path);
}

static void test_goldens(void **state)
{
    (void)state;
    int bundles = 0, tensors = 0;
    for (int f = 0; f < N_FIXTURES; f++) {
        ckt_json *g = golden(fixture_dirs[f]);
        const ckt_json *bs = ckt_json_get(g, "bundles");
        assert_non_null(bs);
        assert_true(bs->n >= 1);
        for (int i = 0; i < bs->n; i++) {
            check_bundle(fixture_dirs[f], ckt_json_at(bs, i));
            bundles++;
            tensors += ckt_json_get(ckt_json_at(bs, i), "entries")->n;
        }
        ckt_json_free(g);
    }
    print_message("%d bundles, %d tensors match their goldens\n", bundles, tensors);
    assert_true(bundles >= N_FIXTURES);
}

/* Every way of naming a checkpoint opens the same one. */
static void expect_prefix(const char *dir, const char *rel, const char *want_rel)
{
    char *p = rel ? fixture_path(dir, rel) : fixture_path(dir, NULL);
    char *want = fixture_path(dir, want_rel);
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(p, NULL, &st);
    if (!r) fail_msg("%s: %s", p, st.msg);
    assert_string_equal(graft_ckpt_reader_prefix(r), want);
    graft_ckpt_reader_free(r);
    free(p);
    free(want);
}

static void test_path_forms(void **state)
{
    (void)state;
    const char *d = "tf1/mlp_tiny_tf113";
    expect_prefix(d, "model.ckpt", "model.ckpt");
    expect_prefix(d, "model.ckpt.index", "model.ckpt");
    expect_prefix(d, "model.ckpt.data-00000-of-00001", "model.ckpt");
    expect_prefix(d, "model.ckpt.meta", "model.ckpt");
    expect_prefix(d, NULL, "model.ckpt"); /* via the state file */
    expect_prefix("tf1/tf2_sharded_objgraph", "model.ckpt.data-00001-of-00002", "model.ckpt");
    expect_prefix("tf1/lenet_traffic_tf13", NULL, "lenet"); /* no state file, one .index */
    expect_prefix("savedmodel/tf18_keras_xor_builder", NULL, "variables/variables");
    /* V1: the file, the sharded set by prefix, pattern and shard file */
    expect_prefix("tf1v1/mnist_slim_tf09", "my-model", "my-model");
    expect_prefix("tf1v1/mnist_slim_tf09", NULL, "my-model");
    expect_prefix("tf1v1/half_plus_two_sharded_tf012", "export", "export");
    expect_prefix("tf1v1/half_plus_two_sharded_tf012", "export-00000-of-00001", "export");
    expect_prefix("tf1v1/half_plus_two_sharded_tf012", "export-\?\?\?\?\?-of-00001", "export");
    /* a state file naming checkpoints that are gone: a clear error */
    char *p = fixture_path("tf1/cnn_denoise_tf012", NULL);
    graft_status st;
    assert_null(graft_ckpt_reader_open(p, NULL, &st));
    assert_int_equal(st.code, GRAFT_ERR_NOT_FOUND);
    assert_non_null(strstr(st.msg, "model_8140.ckpt"));
    assert_non_null(strstr(st.msg, "model.ckpt"));
    free(p);
    p = fixture_path("tf1/mlp_tiny_tf113", "nope");
    assert_null(graft_ckpt_reader_open(p, NULL, &st));
    assert_int_equal(st.code, GRAFT_ERR_NOT_FOUND);
    assert_non_null(strstr(st.msg, "nope"));
    free(p);
}

static void test_latest_checkpoint(void **state)
{
    (void)state;
    for (int f = 0; f < N_FIXTURES; f++) {
        ckt_json *g = golden(fixture_dirs[f]);
        const ckt_json *cs = ckt_json_get(ckt_json_get(g, "checkpoint_state"), "checkpoint");
        char *dir = fixture_path(fixture_dirs[f], NULL);
        char buf[4096];
        graft_status st;
        graft_code rc = graft_latest_checkpoint(dir, buf, sizeof buf, &st);
        if (!cs) {
            assert_int_equal(rc, GRAFT_ERR_NOT_FOUND);
        } else {
            const ckt_json *res = ckt_json_get(cs, "resolved_latest");
            if (!res || res->type == CKT_JNULL) {
                assert_int_equal(rc, GRAFT_ERR_NOT_FOUND);
            } else {
                if (rc) fail_msg("%s: %s", dir, st.msg);
                char *want = ckt_path(dir, res->str);
                assert_string_equal(buf, want);
                free(want);
            }
            /* the parsed state equals the golden's */
            graft_checkpoint_state *s = NULL;
            assert_int_equal(graft_checkpoint_state_read(dir, NULL, &s, &st), GRAFT_OK);
            assert_string_equal(s->model_checkpoint_path, ckt_json_str(cs, "model_checkpoint_path"));
            const ckt_json *all = ckt_json_get(cs, "all_model_checkpoint_paths");
            assert_int_equal(s->n_paths, all->n);
            for (int i = 0; i < all->n; i++) assert_string_equal(s->all_model_checkpoint_paths[i], ckt_json_at(all, i)->str);
            graft_checkpoint_state_free(s);
        }
        free(dir);
        ckt_json_free(g);
    }
}

/* Writes every tensor of r (in the order of their offsets when V2, i.e. the order
 * TensorFlow wrote them) to prefix. */
typedef struct ord {
    const char *name;
    int64_t shard, off;
} ord;

static int cmp_ord(const void *a, const void *b)
{
    const ord *x = a, *y = b;
    if (x->shard != y->shard) return x->shard < y->shard ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

static void rewrite(graft_ckpt_reader *r, const ckt_json *b, const char *prefix)
{
    int n = graft_ckpt_reader_num_entries(r);
    ord *o = calloc((size_t)n, sizeof *o);
    const ckt_json *es = ckt_json_get(b, "entries");
    for (int i = 0; i < n; i++) {
        const ckt_json *e = ckt_json_at(es, i);
        o[i].name = ckt_json_str(e, "key");
        o[i].shard = (int64_t)ckt_json_num(e, "shard", 0);
        o[i].off = (int64_t)ckt_json_num(e, "offset", i);
    }
    qsort(o, (size_t)n, sizeof *o, cmp_ord);
    graft_status st;
    graft_ckpt_writer *w = graft_ckpt_writer_new(prefix, &st);
    assert_non_null(w);
    for (int i = 0; i < n; i++) {
        graft_tensor *t = NULL;
        assert_int_equal(graft_ckpt_reader_read(r, o[i].name, &t, &st), GRAFT_OK);
        assert_int_equal(graft_ckpt_writer_add(w, o[i].name, t, &st), GRAFT_OK);
        graft_tensor_free(t);
    }
    graft_code rc = graft_ckpt_writer_finish(w, &st);
    if (rc) fail_msg("%s", st.msg);
    graft_ckpt_writer_free(w);
    free(o);
}

static void test_roundtrip_byte_identical(void **state)
{
    (void)state;
    char *tmp = ckt_tempdir("fixtures");
    int identical = 0;
    for (int f = 0; f < N_FIXTURES; f++) {
        ckt_json *g = golden(fixture_dirs[f]);
        const ckt_json *bs = ckt_json_get(g, "bundles");
        for (int bi = 0; bi < bs->n; bi++) {
            const ckt_json *b = ckt_json_at(bs, bi);
            bool v1 = ckt_json_str(b, "format") && !strcmp(ckt_json_str(b, "format"), "V1");
            char *src = bundle_path(fixture_dirs[f], b);
            char name[64];
            snprintf(name, sizeof name, "rt%d_%d", f, bi);
            char *dst = ckt_path(tmp, name);
            graft_status st;
            graft_ckpt_reader *r = graft_ckpt_reader_open(src, NULL, &st);
            if (!r) fail_msg("%s: %s", src, st.msg);
            rewrite(r, b, dst);
            /* strict reference reader accepts it */
            char *out = NULL;
            int rr = ckt_refread("ckpt", dst, false, &out);
            if (rr != 0) fail_msg("refread rejects the re-written %s:\n%s", src, out ? out : "");
            free(out);
            /* re-read: every tensor bit-identical to the source */
            graft_ckpt_reader *r2 = graft_ckpt_reader_open(dst, NULL, &st);
            if (!r2) fail_msg("%s", st.msg);
            assert_int_equal(graft_ckpt_reader_num_entries(r2), graft_ckpt_reader_num_entries(r));
            for (int i = 0; i < graft_ckpt_reader_num_entries(r); i++) {
                graft_ckpt_entry e;
                graft_ckpt_reader_entry(r, i, &e);
                graft_tensor *a = NULL, *c = NULL;
                assert_int_equal(graft_ckpt_reader_read(r, e.name, &a, &st), GRAFT_OK);
                assert_int_equal(graft_ckpt_reader_read(r2, e.name, &c, &st), GRAFT_OK);
                assert_true(graft_tensor_equal(a, c));
                graft_tensor_free(a);
                graft_tensor_free(c);
            }
            graft_ckpt_reader_free(r2);
            /* single-shard V2 fixtures: TensorFlow's exact bytes */
            const ckt_json *df = ckt_json_get(b, "data_files");
            if (!v1 && df && df->n == 1) {
                char a1[1024], a2[1024], b1[1024], b2[1024];
                snprintf(a1, sizeof a1, "%s.index", graft_ckpt_reader_prefix(r));
                snprintf(a2, sizeof a2, "%s.data-00000-of-00001", graft_ckpt_reader_prefix(r));
                snprintf(b1, sizeof b1, "%s.index", dst);
                snprintf(b2, sizeof b2, "%s.data-00000-of-00001", dst);
                if (!ckt_files_equal(a1, b1)) fail_msg("%s: re-written .index differs from TensorFlow's", a1);
                if (!ckt_files_equal(a2, b2)) fail_msg("%s: re-written data differs from TensorFlow's", a2);
                identical++;
            }
            graft_ckpt_reader_free(r);
            free(src);
            free(dst);
        }
        ckt_json_free(g);
    }
    print_message("%d fixtures re-written byte-identical to TensorFlow's files\n", identical);
    assert_true(identical >= 10);
    ckt_rm_rf(tmp);
    free(tmp);
}

/* The TF2 object-graph tensor: a DT_STRING scalar holding a serialized proto. */
static void test_object_graph_string(void **state)
{
    (void)state;
    char *p = fixture_path("tf1/tf2_sharded_objgraph", "model.ckpt");
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(p, NULL, &st);
    assert_non_null(r);
    graft_tensor *t = NULL;
    assert_int_equal(graft_ckpt_reader_read(r, "_CHECKPOINTABLE_OBJECT_GRAPH", &t, &st), GRAFT_OK);
    assert_int_equal(graft_tensor_dtype(t), GRAFT_STRING);
    assert_int_equal(graft_tensor_rank(t), 0);
    const graft_str *s = graft_tensor_cdata(t);
    assert_int_equal(s[0].len, 2085); /* golden string_lengths_first */
    graft_tensor_free(t);
    assert_int_equal(graft_ckpt_reader_read(r, "layer-2/kernel/.ATTRIBUTES/VARIABLE_VALUE", &t, &st), GRAFT_OK);
    assert_int_equal(graft_tensor_dim(t, 0), 128);
    assert_int_equal(graft_tensor_dim(t, 1), 3);
    graft_tensor_free(t);
    graft_ckpt_reader_free(r);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens),           cmocka_unit_test(test_path_forms),
        cmocka_unit_test(test_latest_checkpoint), cmocka_unit_test(test_roundtrip_byte_identical),
        cmocka_unit_test(test_object_graph_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
