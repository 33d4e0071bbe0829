/* tests/test_ckpt_cli.c - `graft inspect` and `graft convert` as a user runs them:
 * inspect --json on every fixture agrees with golden.json (names, dtypes, shapes and
 * the exactly rounded sum, min and max), --tensor prints TF's values, damaged input
 * exits non-zero naming the file and key; convert writes V2 copies (subset, renames)
 * with bit-identical values and a state file, accepted by the reference reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graft/graft.h"
#include "ckpt_support.h"
#include "ckpt_tensors.h"

static const char *const fixtures[] = {"tf1/cnn_cifar10_tf115", "tf1/lenet_traffic_tf10", "tf1/lstm_rnn_tf11",
                                       "tf1/mlp_adam_tf110",    "tf1/mlp_tiny_tf113",     "tf1/tf2_sharded_objgraph",
                                       "tf1v1/half_plus_two_sharded_tf012", "tf1v1/har_convlstm_tf011",
                                       "tf1v1/mnist_slim_tf09", "vgg/vgg_traffic_tf13",
                                       "savedmodel/tf18_keras_xor_builder", "savedmodel/tf23_keras_linear_objgraph"};

static int graft(const char *args, char **out, char **err)
{
    size_t n = strlen(args) + strlen(GRAFT_BINARY_DIR) + 16;
    char *cmd = malloc(n);
    snprintf(cmd, n, "'%s/graft' %s", GRAFT_BINARY_DIR, args);
    int rc = ckt_run(cmd, out, err);
    free(cmd);
    return rc;
}

static void same_number(const ckt_json *a, const ckt_json *b, const char *what, const char *key)
{
    if (!a || !b) fail_msg("%s of %s missing", what, key);
    if (a->type == CKT_JNUM && b->type == CKT_JNUM) {
        if (a->num != b->num) fail_msg("%s: %s %.17g vs golden %.17g", key, what, a->num, b->num);
    } else if (a->type == CKT_JSTR && b->type == CKT_JSTR) {
        assert_string_equal(a->str, b->str); /* "nan", "inf" */
    } else if (!(a->type == CKT_JNULL && b->type == CKT_JNULL)) {
        fail_msg("%s: %s: types differ", key, what);
    }
}

static void test_inspect_json_matches_goldens(void **state)
{
    (void)state;
    int checked = 0;
    for (size_t f = 0; f < sizeof fixtures / sizeof fixtures[0]; f++) {
        char *d = ckt_path(GRAFT_FIXTURES_DIR, fixtures[f]);
        char *gp = ckt_path(d, "golden.json");
        ckt_json *g = ckt_json_load(gp);
        const ckt_json *b = ckt_json_at(ckt_json_get(g, "bundles"), 0);
        const ckt_json *shards = ckt_json_get(b, "shards");
        char *target = ckt_path(d, shards ? ckt_json_str(ckt_json_at(shards, 0), "file") : ckt_json_str(b, "prefix"));
        char args[4096], *out = NULL, *err = NULL;
        snprintf(args, sizeof args, "inspect --json '%s'", target);
        int rc = graft(args, &out, &err);
        if (rc != 0) fail_msg("graft %s: exit %d: %s", args, rc, err);
        ckt_json *j = ckt_json_parse(out, strlen(out));
        if (!j) fail_msg("not JSON: %s", out);
        assert_string_equal(ckt_json_str(j, "format"), shards ? "V1" : "V2");
        const ckt_json *ts = ckt_json_get(j, "tensors"), *es = ckt_json_get(b, "entries");
        assert_int_equal(ts->n, es->n);
        for (int i = 0; i < es->n; i++) {
            const ckt_json *t = ckt_json_at(ts, i), *e = ckt_json_at(es, i);
            const char *key = ckt_json_str(e, "key");
            assert_string_equal(ckt_json_str(t, "name"), key);
            assert_string_equal(ckt_json_str(t, "dtype"), ckt_json_str(e, "dtype"));
            const ckt_json *s1 = ckt_json_get(t, "shape"), *s2 = ckt_json_get(e, "shape");
            assert_int_equal(s1->n, s2->n);
            for (int k = 0; k < s1->n; k++) assert_true(ckt_json_at(s1, k)->num == ckt_json_at(s2, k)->num);
            if (ckt_json_get(e, "sum")) {
                same_number(ckt_json_get(t, "sum"), ckt_json_get(e, "sum"), "sum", key);
                same_number(ckt_json_get(t, "min"), ckt_json_get(e, "min"), "min", key);
                same_number(ckt_json_get(t, "max"), ckt_json_get(e, "max"), "max", key);
                checked++;
            } else {
                assert_int_equal(ckt_json_get(t, "sum")->type, CKT_JNULL);
            }
        }
        ckt_json_free(j);
        free(out);
        free(err);
        free(target);
        ckt_json_free(g);
        free(gp);
        free(d);
    }
    print_message("sum/min/max of %d tensors equal the goldens exactly\n", checked);
    assert_true(checked > 200);
}

static void test_inspect_text_and_tensor(void **state)
{
    (void)state;
    char args[4096], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "inspect --stats '%s/tf1/mlp_tiny_tf113'", GRAFT_FIXTURES_DIR);
    assert_int_equal(graft(args, &out, &err), 0);
    assert_non_null(strstr(out, "(V2, 4 tensors)"));
    assert_non_null(strstr(out, "Weights2  float32   [2,3]  sum=0.323039174079895 min=-12.934139251708984"));
    free(out);
    free(err);
    /* --tensor: the first values golden.json lists for Weights2 */
    snprintf(args, sizeof args, "inspect --json --tensor Weights2 '%s/tf1/mlp_tiny_tf113/model.ckpt.index'",
             GRAFT_FIXTURES_DIR);
    assert_int_equal(graft(args, &out, &err), 0);
    ckt_json *j = ckt_json_parse(out, strlen(out));
    assert_non_null(j);
    const ckt_json *v = ckt_json_get(j, "values");
    assert_int_equal(v->n, 6);
    static const double first[4] = {-12.934139251708984, 12.583747863769531, -1.086295247077942, 12.174388885498047};
    for (int i = 0; i < 4; i++) assert_true((float)ckt_json_at(v, i)->num == (float)first[i]);
    ckt_json_free(j);
    free(out);
    free(err);
    snprintf(args, sizeof args, "inspect --tensor Bias1 '%s/tf1/mlp_tiny_tf113'", GRAFT_FIXTURES_DIR);
    assert_int_equal(graft(args, &out, &err), 0);
    /* shortest float32 round-trip digits, as numpy's repr(np.float32(...)) prints them */
    assert_string_equal(out, "Bias1 float32 [2]\n-11.6021385 -5.660689\n");
    free(out);
    free(err);
    /* usage errors exit 2, a missing tensor or path 1 */
    assert_int_equal(graft("inspect", NULL, NULL), 2);
    assert_int_equal(graft("inspect --bogus x", NULL, NULL), 2);
    assert_int_equal(graft("frobnicate", NULL, NULL), 2);
    snprintf(args, sizeof args, "inspect --tensor nope '%s/tf1/mlp_tiny_tf113'", GRAFT_FIXTURES_DIR);
    assert_int_equal(graft(args, NULL, &err), 1);
    assert_non_null(strstr(err, "nope"));
    free(err);
    assert_int_equal(graft("inspect /nonexistent/ckpt", NULL, &err), 1);
    assert_non_null(strstr(err, "/nonexistent/ckpt"));
    free(err);
}

static void test_inspect_corrupt(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("cli");
    char *prefix = ckt_path(dir, "model.ckpt");
    char a[2048], b[2048];
    snprintf(a, sizeof a, "%s/tf1/mlp_tiny_tf113/model.ckpt.index", GRAFT_FIXTURES_DIR);
    snprintf(b, sizeof b, "%s.index", prefix);
    assert_true(ckt_copy_file(a, b));
    snprintf(a, sizeof a, "%s/tf1/mlp_tiny_tf113/model.ckpt.data-00000-of-00001", GRAFT_FIXTURES_DIR);
    snprintf(b, sizeof b, "%s.data-00000-of-00001", prefix);
    size_t n;
    uint8_t *d = ckt_read_file(a, &n);
    d[40] ^= 0x20; /* inside Weights2 (offset 36, 24 bytes) */
    assert_true(ckt_write_file(b, d, n));
    free(d);
    char args[4096], *out = NULL, *err = NULL;
    snprintf(args, sizeof args, "inspect --stats '%s'", prefix);
    assert_int_equal(graft(args, &out, &err), 1);
    assert_non_null(strstr(err, "model.ckpt.data-00000-of-00001: Weights2: tensor checksum mismatch at offset 36"));
    free(out);
    free(err);
    /* the listing alone does not read data: it still succeeds */
    snprintf(args, sizeof args, "inspect '%s'", prefix);
    assert_int_equal(graft(args, NULL, NULL), 0);
    /* a broken index is reported with the file and offset */
    snprintf(b, sizeof b, "%s.index", prefix);
    d = ckt_read_file(b, &n);
    d[n - 1] ^= 0xff;
    assert_true(ckt_write_file(b, d, n));
    free(d);
    assert_int_equal(graft(args, NULL, &err), 1);
    assert_non_null(strstr(err, "model.ckpt.index: offset"));
    assert_non_null(strstr(err, "bad magic"));
    free(err);
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

static const char *golden_sha(const ckt_json *g, const char *key)
{
    const ckt_json *es = ckt_json_get(ckt_json_at(ckt_json_get(g, "bundles"), 0), "entries");
    for (int i = 0; i < es->n; i++)
        if (!strcmp(ckt_json_str(ckt_json_at(es, i), "key"), key)) return ckt_json_str(ckt_json_at(es, i), "sha256");
    return NULL;
}

static void test_convert(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("cli");
    char *dst = ckt_path(dir, "slim_v2");
    char args[8192], *out = NULL, *err = NULL;
    /* V1 -> V2, two tensors, one renamed */
    snprintf(args, sizeof args,
             "convert '%s/tf1v1/mnist_slim_tf09/my-model' '%s' --vars Conv/weights,beta1_power --rename "
             "Conv/weights=backbone/conv/kernel",
             GRAFT_FIXTURES_DIR, dst);
    int rc = graft(args, &out, &err);
    if (rc) fail_msg("exit %d: %s", rc, err);
    free(out);
    free(err);
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(dir, NULL, &st); /* via the state file beside it */
    if (!r) fail_msg("%s", st.msg);
    assert_string_equal(graft_ckpt_reader_prefix(r), dst);
    assert_int_equal(graft_ckpt_reader_format(r), GRAFT_CKPT_V2);
    assert_int_equal(graft_ckpt_reader_num_entries(r), 2);
    ckt_json *g = ckt_json_load(GRAFT_FIXTURES_DIR "/tf1v1/mnist_slim_tf09/golden.json");
    const char *src_names[2] = {"Conv/weights", "beta1_power"}, *dst_names[2] = {"backbone/conv/kernel", "beta1_power"};
    for (int i = 0; i < 2; i++) {
        graft_tensor *t = NULL;
        assert_int_equal(graft_ckpt_reader_read(r, dst_names[i], &t, &st), GRAFT_OK);
        char hex[65];
        ckt_tensor_sha256_v1(t, hex);
        assert_string_equal(hex, golden_sha(g, src_names[i]));
        graft_tensor_free(t);
    }
    ckt_json_free(g);
    graft_ckpt_reader_free(r);
    char *sp = ckt_path(dir, "checkpoint");
    size_t tn;
    char *text = (char *)ckt_read_file(sp, &tn);
    assert_string_equal(text, "model_checkpoint_path: \"slim_v2\"\nall_model_checkpoint_paths: \"slim_v2\"\n");
    free(text);
    char *o2 = NULL;
    if (ckt_refread("ckpt", dst, false, &o2) != 0) fail_msg("refread: %s", o2);
    free(o2);
    if (ckt_refread("state", sp, false, &o2) != 0) fail_msg("refread state: %s", o2);
    free(o2);
    free(sp);
    /* TF2 object-based, two shards -> one V2 shard, all tensors */
    char *dst2 = ckt_path(dir, "objgraph");
    snprintf(args, sizeof args, "convert '%s/tf1/tf2_sharded_objgraph/model.ckpt' '%s'", GRAFT_FIXTURES_DIR, dst2);
    assert_int_equal(graft(args, NULL, NULL), 0);
    r = graft_ckpt_reader_open(dst2, NULL, &st);
    assert_non_null(r);
    g = ckt_json_load(GRAFT_FIXTURES_DIR "/tf1/tf2_sharded_objgraph/golden.json");
    const ckt_json *es = ckt_json_get(ckt_json_at(ckt_json_get(g, "bundles"), 0), "entries");
    assert_int_equal(graft_ckpt_reader_num_entries(r), es->n);
    for (int i = 0; i < es->n; i++) {
        graft_tensor *t = NULL;
        const char *key = ckt_json_str(ckt_json_at(es, i), "key");
        assert_int_equal(graft_ckpt_reader_read(r, key, &t, &st), GRAFT_OK);
        char hex[65];
        ckt_tensor_sha256_v2(t, hex);
        assert_string_equal(hex, ckt_json_str(ckt_json_at(es, i), "sha256"));
        graft_tensor_free(t);
    }
    ckt_json_free(g);
    graft_ckpt_reader_free(r);
    if (ckt_refread("ckpt", dst2, false, &o2) != 0) fail_msg("refread: %s", o2);
    free(o2);
    /* errors: unknown tensor, a rename collision, the source as destination */
    snprintf(args, sizeof args, "convert '%s/tf1/mlp_tiny_tf113' '%s/x' --vars Bias1,Nope", GRAFT_FIXTURES_DIR, dir);
    assert_int_equal(graft(args, NULL, &err), 1);
    assert_non_null(strstr(err, "Nope: no such tensor"));
    free(err);
    snprintf(args, sizeof args, "convert '%s/tf1/mlp_tiny_tf113' '%s/x' --rename Bias1=Bias2", GRAFT_FIXTURES_DIR, dir);
    assert_int_equal(graft(args, NULL, &err), 1);
    assert_non_null(strstr(err, "'Bias2'"));
    free(err);
    assert_int_equal(ckt_count_files(dir, "x."), 0); /* nothing written for failed conversions */
    free(dst2);
    ckt_rm_rf(dir);
    free(dst);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inspect_json_matches_goldens),
        cmocka_unit_test(test_inspect_text_and_tensor),
        cmocka_unit_test(test_inspect_corrupt),
        cmocka_unit_test(test_convert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
