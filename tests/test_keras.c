/* tests/test_keras.c - Keras HDF5 weights against the real files of ../shared/fixtures/keras
 * (Keras 1 with TF and Theano-era names, Keras 2.1.6 save_weights and model.save, tf.keras
 * 2.6 model.save, Keras 3 .weights.h5): layout, versions, layer list, and every weight's
 * path, name, dtype, shape, sha256, sum and first values from golden.json (written by the
 * independent h5golden.py reader); the same through the child process and in process;
 * export as a V2 checkpoint that refread accepts and graft restores into a model; and
 * refusals of files that are not Keras weights. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt_support.h"
#include "graft/graft.h"

#define KDIR GRAFT_FIXTURES_DIR "/keras"

typedef struct fx {
    const char *dir, *file;
    int weights; /* weights golden.json lists for this file (its weights_total) */
} fx;

static const fx fixtures[] = {
    {"keras1_ddqn_mlp_tf", "weights.h5", 6},      {"keras1_ttt_mlp", "weights.h5", 6},
    {"keras216_mnist_cnn", "weights.h5", 10},     {"keras216_mnist_cnn", "model.h5", 10},
    {"keras3_mnist_mlp", "model.weights.h5", 6},  {"tfkeras260_mnist_cnn", "mnist.h5", 6},
};
#define N_FX (int)(sizeof fixtures / sizeof fixtures[0])

static const ckt_json *golden_entry(const ckt_json *g, const char *file)
{
    const ckt_json *h5 = ckt_json_get(g, "h5");
    for (int i = 0; h5 && i < h5->n; i++)
        if (ckt_json_str(ckt_json_at(h5, i), "file") && !strcmp(ckt_json_str(ckt_json_at(h5, i), "file"), file))
            return ckt_json_at(h5, i);
    return NULL;
}

static void expected_name(const char *path_in_file, const char *layer, bool keras3, char *out, size_t cap)
{
    if (keras3) { /* "layers/dense/vars/0" -> "dense/vars/0" */
        snprintf(out, cap, "%s", path_in_file + strlen("layers/"));
        return;
    }
    /* "<group>/<layer>/<weight name>" -> weight name without ":0" */
    const char *p = strstr(path_in_file, layer);
    assert_non_null(p);
    snprintf(out, cap, "%s", p + strlen(layer) + 1);
    size_t l = strlen(out);
    if (l > 2 && out[l - 2] == ':' && out[l - 1] == '0') out[l - 2] = '\0';
}

/* One weight against its golden record. */
static void check_weight(const graft_keras_weights *kw, int i, const ckt_json *gw, const char *layer, bool keras3)
{
    const char *gpath = ckt_json_str(gw, "path");
    assert_non_null(gpath);
    if (strcmp(graft_keras_weight_path(kw, i) + 1, gpath) != 0)
        fail_msg("weight %d: path %s, golden %s", i, graft_keras_weight_path(kw, i), gpath);
    assert_string_equal(graft_keras_weight_layer(kw, i), layer);
    char name[512];
    expected_name(gpath, layer, keras3, name, sizeof name);
    assert_string_equal(graft_keras_weight_name(kw, i), name);
    assert_int_equal(graft_keras_find_weight(kw, name), i);
    const graft_tensor *t = graft_keras_weight_tensor(kw, i);
    assert_string_equal(graft_dtype_name(graft_tensor_dtype(t)), ckt_json_str(gw, "dtype"));
    const ckt_json *shape = ckt_json_get(gw, "shape");
    assert_int_equal(graft_tensor_rank(t), shape->n);
    for (int d = 0; d < shape->n; d++) assert_int_equal(graft_tensor_dim(t, d), (int64_t)ckt_json_at(shape, d)->num);
    assert_int_equal(graft_tensor_nbytes(t), (size_t)ckt_json_num(gw, "nbytes", -1));
    char hex[65];
    ckt_sha256_hex(graft_tensor_cdata(t), graft_tensor_nbytes(t), hex);
    assert_string_equal(hex, ckt_json_str(gw, "sha256"));
    if (graft_tensor_dtype(t) == GRAFT_FLOAT) {
        const float *f = graft_tensor_cdata(t);
        double sum = 0;
        for (int64_t k = 0; k < graft_tensor_num_elements(t); k++) sum += f[k];
        double gs = ckt_json_num(gw, "sum", NAN);
        assert_true(fabs(sum - gs) <= 1e-6 * (1 + fabs(gs)));
        const ckt_json *first = ckt_json_get(gw, "first");
        for (int k = 0; first && k < first->n; k++) assert_true(f[k] == (float)ckt_json_at(first, k)->num);
    }
}

/* Checks w against golden.json; returns the number of weights checked. */
static int check_against_golden(const graft_keras_weights *kw, const fx *f)
{
    char gp[1024];
    snprintf(gp, sizeof gp, "%s/%s/golden.json", KDIR, f->dir);
    ckt_json *g = ckt_json_load(gp);
    assert_non_null(g);
    const ckt_json *e = golden_entry(g, f->file);
    assert_non_null(e);
    const char *layout = ckt_json_str(e, "layout");
    assert_string_equal(graft_keras_weights_layout(kw), layout);
    const char *kv = ckt_json_str(e, "keras_version"), *be = ckt_json_str(e, "backend");
    assert_string_equal(graft_keras_weights_keras_version(kw), kv ? kv : "");
    assert_string_equal(graft_keras_weights_backend(kw), be ? be : "");
    int i = 0;
    if (!strcmp(layout, "keras3_weights")) {
        const ckt_json *k3 = ckt_json_get(e, "keras3");
        const ckt_json *layers = ckt_json_get(k3, "layers");
        assert_int_equal(graft_keras_num_layers(kw), layers->n);
        for (int l = 0; l < layers->n; l++)
            assert_string_equal(graft_keras_layer_name(kw, l), ckt_json_str(ckt_json_at(layers, l), "name"));
        const ckt_json *groups = ckt_json_get(k3, "vars_groups");
        for (int gi = 0; gi < groups->n; gi++) {
            const ckt_json *grp = ckt_json_at(groups, gi), *vars = ckt_json_get(grp, "vars");
            if (strncmp(ckt_json_str(grp, "group"), "layers/", 7) != 0) continue; /* optimizer state: not read */
            for (int v = 0; v < vars->n; v++, i++)
                check_weight(kw, i, ckt_json_at(vars, v), ckt_json_str(grp, "name"), true);
        }
    } else {
        const ckt_json *w = ckt_json_get(e, "weights");
        const ckt_json *ln = ckt_json_get(w, "layer_names"), *layers = ckt_json_get(w, "layers");
        assert_int_equal(graft_keras_num_layers(kw), ln->n);
        for (int l = 0; l < ln->n; l++) assert_string_equal(graft_keras_layer_name(kw, l), ckt_json_at(ln, l)->str);
        for (int l = 0; l < layers->n; l++) {
            const ckt_json *layer = ckt_json_at(layers, l), *ws = ckt_json_get(layer, "weights");
            for (int k = 0; ws && k < ws->n; k++, i++)
                check_weight(kw, i, ckt_json_at(ws, k), ckt_json_str(layer, "name"), false);
        }
    }
    assert_int_equal(graft_keras_num_weights(kw), i);
    ckt_json_free(g);
    return i;
}

static graft_keras_weights *read_fx(const fx *f, bool in_process, graft_status *st)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", KDIR, f->dir, f->file);
    graft_keras_opts o;
    graft_keras_opts_init(&o);
    o.in_process = in_process;
    return graft_keras_weights_read(path, &o, st);
}

static void test_golden(void **state)
{
    (void)state;
    int total = 0;
    for (int k = 0; k < N_FX; k++) {
        for (int mode = 0; mode < 2; mode++) {
            graft_status st;
            graft_keras_weights *kw = read_fx(&fixtures[k], mode == 1, &st);
            if (!kw) fail_msg("%s/%s: %s", fixtures[k].dir, fixtures[k].file, st.msg);
            int n = check_against_golden(kw, &fixtures[k]);
            assert_int_equal(n, fixtures[k].weights);
            total += n;
            graft_keras_weights_free(kw);
        }
        print_message("%s/%s: %d weights match golden.json\n", fixtures[k].dir, fixtures[k].file,
                      fixtures[k].weights);
    }
    assert_int_equal(total, 2 * 44);
}

/* model.h5 and weights.h5 of keras216 hold the same weights (golden.json: same sha256). */
static void test_model_and_weights_agree(void **state)
{
    (void)state;
    graft_status st;
    graft_keras_weights *a = read_fx(&fixtures[2], false, &st);
    if (!a) fail_msg("%s", st.msg);
    graft_keras_weights *b = read_fx(&fixtures[3], false, &st);
    if (!b) fail_msg("%s", st.msg);
    assert_int_equal(graft_keras_num_weights(a), graft_keras_num_weights(b));
    for (int i = 0; i < graft_keras_num_weights(a); i++) {
        assert_string_equal(graft_keras_weight_name(a, i), graft_keras_weight_name(b, i));
        assert_true(graft_tensor_equal(graft_keras_weight_tensor(a, i), graft_keras_weight_tensor(b, i)));
    }
    graft_keras_weights_free(a);
    graft_keras_weights_free(b);
}

/* Exported as a V2 checkpoint: refread accepts it, every tensor reads back bit-exactly,
 * and a graft model whose variables carry the Keras names restores from it. */
static void test_checkpoint_export(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("keras");
    char *prefix = ckt_path(dir, "keras216");
    graft_status st;
    graft_keras_weights *kw = read_fx(&fixtures[2], false, &st);
    assert_non_null(kw);
    if (graft_keras_weights_write_checkpoint(kw, prefix, &st) != GRAFT_OK) fail_msg("%s", st.msg);
    char *out = NULL;
    if (ckt_refread("ckpt", prefix, false, &out) != 0) fail_msg("refread rejects %s:\n%s", prefix, out ? out : "");
    free(out);
    char latest[2048];
    assert_int_equal(graft_latest_checkpoint(dir, latest, sizeof latest, &st), GRAFT_OK);
    assert_string_equal(latest, prefix);
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
    assert_non_null(r);
    for (int i = 0; i < graft_keras_num_weights(kw); i++) {
        graft_tensor *t = NULL;
        if (graft_ckpt_reader_read(r, graft_keras_weight_name(kw, i), &t, &st) != GRAFT_OK) fail_msg("%s", st.msg);
        assert_true(graft_tensor_equal(t, graft_keras_weight_tensor(kw, i)));
        graft_tensor_free(t);
    }
    graft_ckpt_reader_free(r);

    /* dense_2 (256 -> 10) as graft variables named like Keras's, restored by a Saver */
    graft_graph *g = graft_graph_new();
    int64_t kd[2] = {256, 10}, bd[1] = {10};
    graft_variable k, b;
    graft_variable_new(g, "dense_2/kernel", graft_zeros(g, GRAFT_FLOAT, kd, 2), true, &k);
    graft_variable_new(g, "dense_2/bias", graft_zeros(g, GRAFT_FLOAT, bd, 1), true, &b);
    assert_int_equal(graft_graph_check(g, &st), GRAFT_OK);
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_non_null(s);
    assert_int_equal(graft_session_init_variables(s, &st), GRAFT_OK);
    graft_saver_opts so;
    graft_saver_opts_init(&so);
    graft_saver *sv = graft_saver_new(g, &so, &st);
    assert_non_null(sv);
    if (graft_saver_restore(sv, s, prefix, &st) != GRAFT_OK) fail_msg("%s", st.msg);
    int ki = graft_keras_find_weight(kw, "dense_2/kernel"), bi = graft_keras_find_weight(kw, "dense_2/bias");
    assert_true(ki >= 0 && bi >= 0);
    assert_true(graft_tensor_equal(graft_session_variable_storage(s, k.var), graft_keras_weight_tensor(kw, ki)));
    assert_true(graft_tensor_equal(graft_session_variable_storage(s, b.var), graft_keras_weight_tensor(kw, bi)));
    graft_saver_free(sv);
    graft_session_free(s);
    graft_graph_free(g);
    graft_keras_weights_free(kw);
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

/* The fuzz seeds of tests/fuzz/make_h5_seeds.py (h5py): each layout loads, so the h5
 * fuzz target starts from inputs that reach every weight. */
static void test_fuzz_seeds_load(void **state)
{
    (void)state;
    static const struct {
        const char *file, *layout;
        int layers, weights;
        const char *last;
    } seeds[] = {
        {"keras2_weights.h5", "keras_weights", 3, 4, "dense_2/bias"},
        {"keras2_model.h5", "keras_model", 3, 4, "dense_2/bias"},
        {"keras3.weights.h5", "keras3_weights", 2, 2, "dense/vars/1"},
    };
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fuzz/corpus/h5/%s", GRAFT_SOURCE_DIR, seeds[i].file);
        graft_status st;
        graft_keras_weights *kw = graft_keras_weights_read(path, NULL, &st);
        if (!kw) fail_msg("%s", st.msg);
        assert_string_equal(graft_keras_weights_layout(kw), seeds[i].layout);
        assert_int_equal(graft_keras_num_layers(kw), seeds[i].layers);
        assert_int_equal(graft_keras_num_weights(kw), seeds[i].weights);
        assert_string_equal(graft_keras_weight_name(kw, seeds[i].weights - 1), seeds[i].last);
        graft_keras_weights_free(kw);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    graft_status st;
    /* not HDF5 */
    graft_keras_weights *kw = graft_keras_weights_read(KDIR "/keras1_ttt_mlp/SOURCE.txt", NULL, &st);
    assert_null(kw);
    assert_int_equal(st.code, GRAFT_ERR_CORRUPT);
    assert_non_null(strstr(st.msg, "SOURCE.txt"));
    /* HDF5 but an image dataset, not Keras weights */
    kw = graft_keras_weights_read(GRAFT_SOURCE_DIR "/tests/data/dataset/h5py_u8.h5", NULL, &st);
    assert_null(kw);
    assert_int_equal(st.code, GRAFT_ERR_UNSUPPORTED);
    assert_non_null(strstr(st.msg, "not a Keras weights file"));
    /* over the cap */
    graft_keras_opts o;
    graft_keras_opts_init(&o);
    o.max_bytes = 100000; /* the file is 195,848 bytes */
    kw = graft_keras_weights_read(KDIR "/keras216_mnist_cnn/weights.h5", &o, &st);
    assert_null(kw);
    assert_int_equal(st.code, GRAFT_ERR_NOMEM);
    /* a cap above the file's 8,448 bytes: loads */
    o.max_bytes = 9000;
    kw = graft_keras_weights_read(KDIR "/keras1_ddqn_mlp_tf/weights.h5", &o, &st);
    assert_non_null(kw); /* 6 small weights: 1,450 bytes */
    graft_keras_weights_free(kw);
    o.max_bytes = 1000;
    kw = graft_keras_weights_read(KDIR "/keras1_ddqn_mlp_tf/weights.h5", &o, &st);
    assert_null(kw);
    assert_int_equal(st.code, GRAFT_ERR_NOMEM);
    print_message("%s\n", st.msg);
}

/* The CLI: `graft inspect` lists a Keras file (tf.keras 2.6, UTF-8 variable-length
 * attributes), `graft convert` writes the weights as a checkpoint refread accepts. */
static void test_cli(void **state)
{
    (void)state;
    char cmd[4096], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "'%s/graft' inspect --json '%s/tfkeras260_mnist_cnn/mnist.h5'", GRAFT_BINARY_DIR, KDIR);
    int rc = ckt_run(cmd, &out, &err);
    if (rc != 0) fail_msg("%s: %s", cmd, err ? err : "");
    assert_non_null(strstr(out, "\"format\": \"keras_model\", \"keras_version\": \"2.6.0\""));
    assert_non_null(strstr(out, "{\"name\": \"dense/kernel\", \"dtype\": \"float32\", \"shape\": [1600, 10]"));
    free(out);
    free(err);
    char *dir = ckt_tempdir("kerascli");
    snprintf(cmd, sizeof cmd, "'%s/graft' convert '%s/keras1_ddqn_mlp_tf/weights.h5' '%s/ddqn' --vars dense_1_W,dense_1_b "
             "--rename dense_1_W=q/kernel", GRAFT_BINARY_DIR, KDIR, dir);
    rc = ckt_run(cmd, &out, &err);
    if (rc != 0) fail_msg("%s: %s", cmd, err ? err : "");
    assert_non_null(strstr(out, "wrote 2 tensors"));
    free(out);
    free(err);
    char *prefix = ckt_path(dir, "ddqn");
    out = NULL;
    if (ckt_refread("ckpt", prefix, false, &out) != 0) fail_msg("refread: %s", out ? out : "");
    free(out);
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
    assert_non_null(r);
    assert_int_equal(graft_ckpt_reader_num_entries(r), 2);
    assert_true(graft_ckpt_reader_find(r, "q/kernel") >= 0 && graft_ckpt_reader_find(r, "dense_1_b") >= 0);
    graft_ckpt_reader_free(r);
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

/* Caps at their limit and one past it (files made by tests/data/keras/make_caps.py):
 * names of 4,096 bytes, strings of 65,536 bytes; more than 100,000 layers; and names
 * with a ".." component. (100,000 layers at the limit would need 100,000 groups: the
 * count check runs before any group is opened, so only the refusal is tested.) */
static void test_caps(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("kerascaps"), cmd[4096], *err = NULL;
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/data/keras/make_caps.py' '%s'", ckt_python(), GRAFT_SOURCE_DIR, dir);
    if (ckt_run(cmd, NULL, &err) != 0) fail_msg("%s: %s", cmd, err ? err : "");
    free(err);
    static const struct {
        const char *file;
        graft_code code;
        const char *part; /* in the message, or (when loaded) the last weight's name's length */
        size_t name_len;
    } cases[] = {
        {"name4096.h5", GRAFT_OK, NULL, 4096},
        {"name4097.h5", GRAFT_ERR_NOMEM, "weight_names[0]: a name of 4097 bytes (graft's cap is 4096)", 0},
        {"layer4096.h5", GRAFT_OK, NULL, 1},
        {"layer4097.h5", GRAFT_ERR_NOMEM, "layer_names[0]: a name of 4097 bytes (graft's cap is 4096)", 0},
        {"version65536.h5", GRAFT_OK, NULL, 8},
        {"version65537.h5", GRAFT_ERR_NOMEM, "strings of 65537 bytes", 0},
        {"layers100001.h5", GRAFT_ERR_NOMEM, "100001 strings (graft's cap is 100000)", 0},
        {"dotdot.h5", GRAFT_ERR_CORRUPT, "weight_names[0]: bad weight name 'd/../kernel:0'", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *path = ckt_path(dir, cases[i].file);
        graft_status st;
        graft_keras_weights *kw = graft_keras_weights_read(path, NULL, &st);
        if (cases[i].code == GRAFT_OK) {
            if (!kw) fail_msg("%s: %s", cases[i].file, st.msg);
            assert_int_equal(graft_keras_num_weights(kw), 1);
            assert_int_equal(strlen(graft_keras_weight_name(kw, 0)), cases[i].name_len);
            if (strstr(cases[i].file, "version")) assert_int_equal(strlen(graft_keras_weights_keras_version(kw)), 65536);
            if (strstr(cases[i].file, "layer")) assert_int_equal(strlen(graft_keras_layer_name(kw, 0)), 4096);
        } else {
            assert_null(kw);
            print_message("%s\n", st.msg);
            assert_int_equal(st.code, cases[i].code);
            assert_non_null(strstr(st.msg, cases[i].file));
            if (!strstr(st.msg, cases[i].part)) fail_msg("'%s' not in: %s", cases[i].part, st.msg);
        }
        graft_keras_weights_free(kw);
        free(path);
    }
    /* float16 weights come through as GRAFT_HALF words, bit-exact (IEEE binary16) */
    char *hp = ckt_path(dir, "half.h5");
    graft_status st;
    graft_keras_weights *kw = graft_keras_weights_read(hp, NULL, &st);
    if (!kw) fail_msg("%s", st.msg);
    const graft_tensor *t = graft_keras_weight_tensor(kw, 0);
    assert_int_equal(graft_tensor_dtype(t), GRAFT_HALF);
    const uint16_t want[4] = {0x3800, 0xC000, 0x7BFF, 0x3C00}; /* 0.5, -2, 65504, 1 */
    assert_int_equal(graft_tensor_nbytes(t), sizeof want);
    assert_memory_equal(graft_tensor_cdata(t), want, sizeof want);
    graft_keras_weights_free(kw);
    free(hp);
    ckt_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_model_and_weights_agree),
        cmocka_unit_test(test_checkpoint_export),
        cmocka_unit_test(test_fuzz_seeds_load),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
