/* tests/test_finetune_cli.c - `graft finetune` end to end: the TF-written VGG fixture and
 * Fashion-MNIST classes 5-9, the saved head checked by refrun (independent interpreter),
 * refread and hand-derived keys, shapes and Adam beta powers; a graft-built graph without a
 * SaverDef; errors that name the fix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graft/graft.h"
#include "graft/npy.h"
#include "ckpt_support.h"
#include "infra.h"

#define GRAFT GRAFT_BINARY_DIR "/graft"
#define VGG   GRAFT_FIXTURES_DIR "/vgg/vgg_traffic_tf13"
#define BASE  GRAFT " finetune --meta " VGG "/vgg.meta --ckpt " VGG " --input Placeholder:0 --classes 5"
#define KEEP  " --set Placeholder_2:0=1.0"

/* 500 training / 200 test images: small enough for the default suite, and the head
 * reaches 0.815-0.87 test accuracy over seeds 1-8 (hidden 64, 10 epochs, Adam 1e-3;
 * chance is 0.2). MIN_ACC sits 4.5 binomial standard deviations (n = 200) under the
 * lowest of those, so only a real fault fails it. */
#define N_TRAIN 500
#define N_TEST  200
#define N_SMALL 100
#define MIN_ACC 0.70

static bool have_data;
static graft_dataset *test_ds;

static int setup(void **state)
{
    (void)state;
    if (access(GRAFT_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz", R_OK) != 0) {
        fprintf(stderr, "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist): skipping\n");
        return 0;
    }
    ckt_rm_rf("out"); /* nothing from an earlier run can pass for this one's output */
    graft_status st;
    const int32_t cls[5] = {5, 6, 7, 8, 9};
    struct {
        const char *file;
        graft_data_split split;
        int64_t limit;
    } sets[3] = {{"train.h5", GRAFT_SPLIT_TRAIN, N_TRAIN},
                 {"test.h5", GRAFT_SPLIT_TEST, N_TEST},
                 {"small.h5", GRAFT_SPLIT_TRAIN, N_SMALL}};
    for (int i = 0; i < 3; i++) {
        graft_data_opts o;
        graft_data_opts_init(&o);
        o.split = sets[i].split;
        o.classes = cls;
        o.n_classes = 5;
        o.relabel = true;
        o.limit = sets[i].limit;
        graft_dataset *ds = graft_dataset_load_fashion_mnist(&o, &st);
        if (!ds || graft_dataset_save_h5(ds, sets[i].file, &st)) {
            fprintf(stderr, "%s: %s\n", sets[i].file, st.msg);
            return -1;
        }
        if (sets[i].split == GRAFT_SPLIT_TEST)
            test_ds = ds;
        else
            graft_dataset_free(ds);
    }
    /* images the graph cannot take: larger than 32x32, and 3 channels */
    static uint8_t px[10 * 40 * 40 * 3];
    const int32_t lab[10] = {0, 1, 2, 3, 4, 0, 1, 2, 3, 4};
    graft_dataset *big = graft_dataset_from_data(GRAFT_UINT8, 10, 40, 40, 1, px, lab, &st);
    graft_dataset *rgb = graft_dataset_from_data(GRAFT_UINT8, 10, 28, 28, 3, px, lab, &st);
    if (!big || !rgb || graft_dataset_save_h5(big, "big.h5", &st) ||
        graft_dataset_save_h5(rgb, "rgb.h5", &st)) {
        fprintf(stderr, "%s\n", st.msg);
        return -1;
    }
    graft_dataset_free(big);
    graft_dataset_free(rgb);
    if (access(GRAFT, X_OK) != 0) {
        fprintf(stderr, "%s not built\n", GRAFT);
        return -1;
    }
    have_data = true;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    graft_dataset_free(test_ds);
    return 0;
}

/* Runs `graft finetune ...`; stdout and stderr captured (free both). */
static int finetune(const char *args, char **out, char **err)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s", BASE, args);
    return ckt_run(cmd, out, err);
}

/* The last line of stdout as JSON, which must be exactly the documented object. */
static ckt_json *last_json(const char *out)
{
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '\n') n--;
    const char *line = out + n;
    while (line > out && line[-1] != '\n') line--;
    ckt_json *j = ckt_json_parse(line, (size_t)(out + n - line));
    if (!j || j->type != CKT_JOBJ)
        fail_msg("last stdout line is not a JSON object: %.*s", (int)(out + n - line), line);
    static const char *const keys[5] = {"test_accuracy", "train_accuracy", "saved", "variables", "seconds"};
    assert_int_equal(j->n, 5);
    for (int i = 0; i < 5; i++) assert_string_equal(j->keys[i], keys[i]);
    return j;
}

static void expect_in(const char *text, const char *needle)
{
    if (!text || !strstr(text, needle))
        fail_msg("output lacks '%s':\n%.3000s", needle, text ? text : "(none)");
}

/* The checkpoint at prefix holds exactly keys[] (sorted), float32, of these shapes. */
static void expect_ckpt(const char *prefix, const char *const *keys, const graft_shape *shapes, int n)
{
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
    if (!r) fail_msg("%s", st.msg);
    assert_int_equal(graft_ckpt_reader_format(r), GRAFT_CKPT_V2);
    assert_int_equal(graft_ckpt_reader_num_entries(r), n);
    for (int i = 0; i < n; i++) {
        graft_ckpt_entry e;
        assert_true(graft_ckpt_reader_entry(r, i, &e));
        assert_string_equal(e.name, keys[i]);
        assert_int_equal(e.dtype, GRAFT_FLOAT);
        assert_int_equal(e.shape.rank, shapes[i].rank);
        for (int k = 0; k < e.shape.rank; k++) assert_int_equal(e.shape.dims[k], shapes[i].dims[k]);
    }
    assert_int_equal(graft_ckpt_reader_verify(r, &st), GRAFT_OK);
    graft_ckpt_reader_free(r);
}

static void expect_json_vars(const ckt_json *j, const char *const *keys, int n)
{
    const ckt_json *v = ckt_json_get(j, "variables");
    assert_non_null(v);
    assert_int_equal(v->type, CKT_JARR);
    assert_int_equal(v->n, n);
    for (int i = 0; i < n; i++) assert_string_equal(ckt_json_at(v, i)->str, keys[i]);
}

/* refread (independent reader) accepts what was written: "ckpt PREFIX", "meta FILE", "state FILE". */
static void refread_ok(const char *sub, const char *path)
{
    const char *rr = infra_refread_dir();
    assert_non_null(rr);
    char cmd[4096], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "'%s' '%s/refread.py' %s '%s'", infra_python(), rr, sub, path);
    int rc = ckt_run(cmd, &out, &err);
    if (rc != 0) fail_msg("refread %s %s: exit %d\n%.2000s%.2000s", sub, path, rc, out, err);
    free(out);
    free(err);
}

/* Rows of the CSV after its header (which must be the documented one). */
static int csv_rows(const char *path, double rows[][5], int cap, bool *empty_test)
{
    char *text = infra_slurp(path, NULL);
    if (!text) fail_msg("cannot read %s", path);
    const char *hdr = "epoch,loss,train_accuracy,test_accuracy,seconds\n";
    assert_memory_equal(text, hdr, strlen(hdr));
    int n = 0;
    *empty_test = false;
    for (char *line = text + strlen(hdr); *line && n < cap;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        double *r = rows[n];
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf", &r[0], &r[1], &r[2], &r[3], &r[4]) != 5) {
            assert_int_equal(sscanf(line, "%lf,%lf,%lf,,%lf", &r[0], &r[1], &r[2], &r[4]), 4);
            r[3] = NAN;
            *empty_test = true;
        }
        n++;
        line = nl + 1;
    }
    free(text);
    return n;
}

static void expect_svg(const char *path, int curves)
{
    size_t len;
    char *text = infra_slurp(path, &len);
    if (!text) fail_msg("cannot read %s", path);
    assert_memory_equal(text, "<svg", 4);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ')) len--;
    assert_true(len > 6 && memcmp(text + len - 6, "</svg>", 6) == 0);
    int polylines = 0;
    for (const char *p = text; (p = strstr(p, "<polyline")); p++) polylines++;
    assert_int_equal(polylines, curves);
    free(text);
    char cmd[4096], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd,
             "'%s' -c 'import sys, xml.etree.ElementTree as E; r = E.parse(sys.argv[1]).getroot(); "
             "assert r.tag == \"{http://www.w3.org/2000/svg}svg\", r.tag' '%s'",
             infra_python(), path);
    int rc = ckt_run(cmd, &out, &err);
    if (rc != 0) fail_msg("%s is not well-formed SVG: %s", path, err);
    free(out);
    free(err);
}

/* The test images as the graph takes them: each 28x28 image centred in 32x32 zeros
 * (2 + 28 + 2), laid out by hand here, written as .npy for refrun. */
static void write_padded_test_images(const char *path)
{
    graft_status st;
    int64_t n = graft_dataset_size(test_ds), dims[4] = {n, 32, 32, 1};
    graft_tensor *t = graft_tensor_new(GRAFT_FLOAT, dims, 4, &st);
    assert_non_null(t);
    float *p = graft_tensor_data(t), img[28 * 28];
    for (int64_t i = 0; i < n; i++) {
        assert_int_equal(graft_dataset_image(test_ds, i, img, &st), GRAFT_OK);
        for (int y = 0; y < 28; y++)
            for (int x = 0; x < 28; x++) p[i * 1024 + (y + 2) * 32 + (x + 2)] = img[y * 28 + x];
    }
    assert_int_equal(graft_npy_write(path, t, &st), GRAFT_OK);
    graft_tensor_free(t);
    graft_tensor *k = graft_tensor_scalar_f32(1.0f, &st);
    assert_int_equal(graft_npy_write("keep.npy", k, &st), GRAFT_OK);
    graft_tensor_free(k);
}

/* refrun (independent interpreter): pristine fixture trunk -> Relu_7, then the saved
 * head from its own .meta and checkpoint -> logits; the fraction of correct argmaxes. */
static double refrun_accuracy(const char *prefix)
{
    const char *rr = infra_refread_dir();
    assert_non_null(rr);
    write_padded_test_images("timg.npy");
    char cmd[8192], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd,
             "'%s' '%s/refrun.py' run '%s/vgg.meta' '%s/vgg' --backend numpy --feed Placeholder:0=timg.npy "
             "--feed Placeholder_2:0=keep.npy --fetch Relu_7:0=feat.npy && "
             "'%s' '%s/refrun.py' run '%s.meta' '%s' --backend numpy --feed finetune/features:0=feat.npy "
             "--fetch finetune/logits/BiasAdd:0=logits.npy",
             infra_python(), rr, VGG, VGG, infra_python(), rr, prefix, prefix);
    int rc = ckt_run(cmd, &out, &err);
    if (rc != 0) fail_msg("refrun: exit %d\n%.3000s%.3000s", rc, out, err);
    free(out);
    free(err);
    graft_status st;
    graft_tensor *l = NULL;
    assert_int_equal(graft_npy_read("logits.npy", 0, &l, &st), GRAFT_OK);
    int64_t n = graft_dataset_size(test_ds);
    assert_int_equal(graft_tensor_dim(l, 0), n);
    assert_int_equal(graft_tensor_dim(l, 1), 5);
    const float *v = graft_tensor_cdata(l);
    const int32_t *y = graft_dataset_labels(test_ds);
    int64_t correct = 0;
    for (int64_t i = 0; i < n; i++) {
        int am = 0;
        for (int k = 1; k < 5; k++)
            if (v[i * 5 + k] > v[i * 5 + am]) am = k;
        correct += am == y[i];
    }
    graft_tensor_free(l);
    return (double)correct / (double)n;
}

/* The main run: hidden layer, test set, JSON; everything written is checked. */
static void test_finetune_vgg_fashion(void **state)
{
    (void)state;
    if (!have_data) skip();
    char *out = NULL, *err = NULL;
    int rc = finetune("--cut Relu_7:0 --train train.h5 --test test.h5 --hidden 64 --epochs 10 --seed 1" KEEP
                      " --save out/main/head --json",
                      &out, &err);
    if (rc != 0) fail_msg("exit %d\n%s", rc, err);
    ckt_json *j = last_json(out);
    double test_acc = ckt_json_num(j, "test_accuracy", -1), train_acc = ckt_json_num(j, "train_accuracy", -1);
    print_message("test accuracy %.4f, train accuracy %.4f, %.1fs\n", test_acc, train_acc,
                  ckt_json_num(j, "seconds", -1));
    assert_true(test_acc >= MIN_ACC && test_acc <= 1);
    assert_true(train_acc >= MIN_ACC && train_acc <= 1);
    assert_string_equal(ckt_json_str(j, "saved"), "out/main/head");
    assert_true(ckt_json_num(j, "seconds", -1) > 0);
    static const char *const keys[4] = {"finetune/hidden/bias", "finetune/hidden/kernel",
                                        "finetune/logits/bias", "finetune/logits/kernel"};
    const graft_shape shapes[4] = {{1, {64}}, {2, {280, 64}}, {1, {5}}, {2, {64, 5}}};
    expect_json_vars(j, keys, 4);
    expect_ckpt("out/main/head", keys, shapes, 4);
    /* the command's own report: padding said, frozen trunk proved unchanged */
    expect_in(err, "zero-padding each image to 32x32, centred");
    expect_in(err, "trunk: 56 variables bit-identical after training");
    /* TF's files: checkpoint, state file, meta graph */
    refread_ok("ckpt", "out/main/head");
    refread_ok("state", "out/main/checkpoint");
    refread_ok("meta", "out/main/head.meta");
    char *state_text = infra_slurp("out/main/checkpoint", NULL);
    expect_in(state_text, "model_checkpoint_path: \"head\"");
    free(state_text);
    /* CSV: one row per epoch */
    double rows[64][5];
    bool empty_test;
    int n = csv_rows("out/main/head.csv", rows, 64, &empty_test);
    assert_int_equal(n, 10);
    assert_false(empty_test);
    for (int i = 0; i < n; i++) {
        assert_true(rows[i][0] == i + 1);
        assert_true(isfinite(rows[i][1]) && rows[i][1] > 0);
        assert_true(rows[i][2] >= 0 && rows[i][2] <= 1 && rows[i][3] >= 0 && rows[i][3] <= 1);
        if (i) assert_true(rows[i][4] >= rows[i - 1][4]);
    }
    assert_true(rows[n - 1][1] < rows[0][1]); /* the loss went down */
    assert_true(fabs(rows[n - 1][2] - train_acc) < 1e-6);
    expect_svg("out/main/head.svg", 3);
    /* independent check: refrun on the pristine trunk + the saved head agrees with the
     * reported end-to-end accuracy (up to one image: float64 vs float32 near a tie) */
    double ref = refrun_accuracy("out/main/head");
    print_message("refrun: %.4f\n", ref);
    assert_true(fabs(ref - test_acc) <= 1.0 / N_TEST + 1e-9);
    ckt_json_free(j);
    free(out);
    free(err);
}

/* Momentum with --save-optimizer and --step: the head plus its Momentum slots, saved as
 * PREFIX-7; no test set: test_accuracy null, the CSV's test column empty. */
static void test_finetune_momentum_slots(void **state)
{
    (void)state;
    if (!have_data) skip();
    char *out = NULL, *err = NULL;
    int rc = finetune("--cut Relu_7:0 --train small.h5 --epochs 2 --optimizer momentum --lr 0.01" KEEP
                      " --save-optimizer --step 7 --save out/mom/head --json",
                      &out, &err);
    if (rc != 0) fail_msg("exit %d\n%s", rc, err);
    ckt_json *j = last_json(out);
    assert_int_equal(ckt_json_get(j, "test_accuracy")->type, CKT_JNULL);
    assert_string_equal(ckt_json_str(j, "saved"), "out/mom/head-7");
    static const char *const keys[4] = {"finetune/logits/bias", "finetune/logits/bias/Momentum",
                                        "finetune/logits/kernel", "finetune/logits/kernel/Momentum"};
    const graft_shape shapes[4] = {{1, {5}}, {1, {5}}, {2, {280, 5}}, {2, {280, 5}}};
    expect_json_vars(j, keys, 4);
    expect_ckpt("out/mom/head-7", keys, shapes, 4);
    assert_int_equal(access("out/mom/head.index", F_OK), -1);
    refread_ok("ckpt", "out/mom/head-7");
    double rows[8][5];
    bool empty_test;
    assert_int_equal(csv_rows("out/mom/head-7.csv", rows, 8, &empty_test), 2);
    assert_true(empty_test);
    expect_svg("out/mom/head-7.svg", 2);
    ckt_json_free(j);
    free(out);
    free(err);
}

/* Adam with --save-optimizer: head, m and v slots, and the beta powers, which after s
 * steps hold beta^(s+1): 100 images in batches of 64 are 2 steps, so 0.9^3 and 0.999^3. */
static void test_finetune_adam_slots(void **state)
{
    (void)state;
    if (!have_data) skip();
    char *out = NULL, *err = NULL;
    int rc = finetune("--cut Relu_7:0 --train small.h5 --epochs 1 --batch 64 --hidden 8" KEEP
                      " --save-optimizer --save out/adam/head --json",
                      &out, &err);
    if (rc != 0) fail_msg("exit %d\n%s", rc, err);
    ckt_json *j = last_json(out);
    static const char *const keys[14] = {
        "finetune/beta1_power",        "finetune/beta2_power",          "finetune/hidden/bias",
        "finetune/hidden/bias/Adam",   "finetune/hidden/bias/Adam_1",   "finetune/hidden/kernel",
        "finetune/hidden/kernel/Adam", "finetune/hidden/kernel/Adam_1", "finetune/logits/bias",
        "finetune/logits/bias/Adam",   "finetune/logits/bias/Adam_1",   "finetune/logits/kernel",
        "finetune/logits/kernel/Adam", "finetune/logits/kernel/Adam_1"};
    const graft_shape shapes[14] = {{0, {0}},      {0, {0}},      {1, {8}},      {1, {8}},   {1, {8}},
                                    {2, {280, 8}}, {2, {280, 8}}, {2, {280, 8}}, {1, {5}},   {1, {5}},
                                    {1, {5}},      {2, {8, 5}},   {2, {8, 5}},   {2, {8, 5}}};
    expect_json_vars(j, keys, 14);
    expect_ckpt("out/adam/head", keys, shapes, 14);
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open("out/adam/head", NULL, &st);
    assert_non_null(r);
    graft_tensor *b1 = NULL, *b2 = NULL;
    assert_int_equal(graft_ckpt_reader_read(r, "finetune/beta1_power", &b1, &st), GRAFT_OK);
    assert_int_equal(graft_ckpt_reader_read(r, "finetune/beta2_power", &b2, &st), GRAFT_OK);
    assert_true(fabs(*(const float *)graft_tensor_cdata(b1) - 0.729) < 1e-6);
    assert_true(fabs(*(const float *)graft_tensor_cdata(b2) - 0.997002999) < 1e-6);
    graft_tensor_free(b1);
    graft_tensor_free(b2);
    graft_ckpt_reader_free(r);
    refread_ok("ckpt", "out/adam/head");
    ckt_json_free(j);
    free(out);
    free(err);
}

/* Another graph, built here: x [?,28,28,1] -> conv 3x3x4 SAME relu -> dropout switched by
 * a bool placeholder is_training -> max pool 2x2 -> [?,14,14,4]; its checkpoint holds every
 * variable by name and its .meta has NO SaverDef. Cutting at the rank-4 pool output
 * flattens 14*14*4 = 784 features per image; the bool flag must be set (and the command
 * says so); 28x28 images need no padding; restoring falls back to variable names. */
static void test_finetune_own_graph_no_saverdef(void **state)
{
    (void)state;
    if (!have_data) skip();
    graft_status st;
    graft_graph *g = graft_graph_new();
    graft_graph_set_seed(g, 3);
    int64_t xd[4] = {-1, 28, 28, 1};
    graft_out x = graft_placeholder(g, "x", GRAFT_FLOAT, graft_shape_make(4, xd));
    graft_out tr = graft_placeholder(g, "is_training", GRAFT_BOOL, graft_shape_make(0, NULL));
    graft_conv2d_cfg c;
    graft_conv2d_cfg_init(&c);
    c.filters = 4;
    c.kernel_size[0] = c.kernel_size[1] = 3;
    c.padding = GRAFT_PAD_SAME;
    c.activation = GRAFT_ACT_RELU;
    c.name = "conv";
    graft_out h = graft_conv2d_layer(g, x, &c);
    graft_dropout_cfg dc;
    graft_dropout_cfg_init(&dc);
    dc.training_tensor = tr;
    h = graft_dropout(g, h, &dc);
    graft_pool2d_cfg pc;
    graft_pool2d_cfg_init(&pc);
    pc.pool_size[0] = pc.pool_size[1] = 2;
    pc.name = "pool";
    h = graft_max_pooling2d(g, h, &pc);
    if (graft_graph_check(g, &st)) fail_msg("%s", st.msg);
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_non_null(s);
    assert_int_equal(graft_session_init_variables(s, &st), GRAFT_OK);
    graft_saver_opts so;
    graft_saver_opts_init(&so);
    so.write_meta_graph = false;
    graft_saver *sv = graft_saver_new(g, &so, &st);
    assert_non_null(sv);
    assert_int_equal(system("mkdir -p out/own"), 0);
    if (graft_saver_save(sv, s, "out/own/model", -1, NULL, 0, &st)) fail_msg("%s", st.msg);
    graft_saver_free(sv);
    if (graft_meta_graph_export(g, NULL, "out/own/model.meta", &st)) fail_msg("%s", st.msg);
    graft_session_free(s);
    graft_graph_free(g);

    char *out = NULL, *err = NULL, cmd[2048];
    const char *own =
        GRAFT " finetune --meta out/own/model.meta --ckpt out/own/model --input x:0 --cut pool/MaxPool:0"
              " --classes 5 --train small.h5 --epochs 2 --save out/own/head --json";
    assert_int_equal(ckt_run(own, &out, &err), 1);
    expect_in(err, "placeholder 'is_training' (bool");
    expect_in(err, "add --set is_training:0=false");
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "%s --set is_training:0=false", own);
    int rc = ckt_run(cmd, &out, &err);
    if (rc != 0) fail_msg("exit %d\n%s", rc, err);
    expect_in(err, "has no SaverDef; restoring every variable by name");
    expect_in(err, "trunk: 2 variables bit-identical after training");
    assert_null(strstr(err, "zero-padding"));
    ckt_json *j = last_json(out);
    static const char *const keys[2] = {"finetune/logits/bias", "finetune/logits/kernel"};
    const graft_shape shapes[2] = {{1, {5}}, {2, {784, 5}}};
    expect_json_vars(j, keys, 2);
    expect_ckpt("out/own/head", keys, shapes, 2);
    ckt_json_free(j);
    free(out);
    free(err);
}

/* Errors: non-zero exit, a message naming the fix, nothing saved. */
static void expect_error(const char *args, int want_rc, const char *needle, const char *needle2)
{
    char *out = NULL, *err = NULL;
    int rc = finetune(args, &out, &err);
    if (rc != want_rc) fail_msg("%s: exit %d, expected %d\n%s", args, rc, want_rc, err);
    expect_in(err, needle);
    if (needle2) expect_in(err, needle2);
    assert_int_equal(access("out/err", F_OK), -1);
    free(out);
    free(err);
}

static void test_finetune_errors(void **state)
{
    (void)state;
    if (!have_data) skip();
    const char *T = " --train small.h5 --save out/err/head";
    char a[1024];
    /* dropout's keep_prob not fed: the placeholder and the exact --set to add */
    snprintf(a, sizeof a, "--cut Relu_7:0%s", T);
    expect_error(a, 1, "placeholder 'Placeholder_2'", "add --set Placeholder_2:0=1.0");
    /* a misspelt cut: the close match */
    snprintf(a, sizeof a, "--cut Relu7:0%s" KEEP, T);
    expect_error(a, 1, "'Relu7'", "did you mean Relu_7:0 [?,280]");
    snprintf(a, sizeof a, "--cut Relu_7%s" KEEP, T);
    expect_error(a, 1, "did you mean 'Relu_7:0'", NULL);
    snprintf(a, sizeof a, "--cut Placeholder:0%s" KEEP, T);
    expect_error(a, 1, "is the --input itself", NULL);
    snprintf(a, sizeof a, "--cut ArgMax:0%s" KEEP, T);
    expect_error(a, 1, "ArgMax:0 is int64", NULL);
    /* labels and K */
    snprintf(a, sizeof a, "--cut Relu_7:0%s" KEEP " --classes 3", T);
    expect_error(a, 1, "small.h5: label 4 >= --classes 3", NULL);
    snprintf(a, sizeof a, "--cut Relu_7:0%s" KEEP " --classes 1", T);
    expect_error(a, 2, "--classes 1: expected an integer K >= 2", NULL);
    /* files */
    snprintf(a, sizeof a, "--cut Relu_7:0 --train missing.h5 --save out/err/head" KEEP);
    expect_error(a, 1, "--train missing.h5", "No such file");
    snprintf(a, sizeof a, "--cut Relu_7:0%s" KEEP " --ckpt nowhere/model", T);
    expect_error(a, 1, "nowhere/model", NULL);
    /* images the input cannot take */
    snprintf(a, sizeof a, "--cut Relu_7:0 --train big.h5 --save out/err/head" KEEP);
    expect_error(a, 1, "are 40x40 (HxW)", "does not crop");
    snprintf(a, sizeof a, "--cut Relu_7:0 --train rgb.h5 --save out/err/head" KEEP);
    expect_error(a, 1, "1 channels, the images of rgb.h5 have 3", NULL);
    /* --set values and usage */
    snprintf(a, sizeof a, "--cut Relu_7:0%s --set Placeholder_2:0=abc", T);
    expect_error(a, 1, "--set Placeholder_2:0=abc: not a number", NULL);
    expect_error("--cut Relu_7:0 --train small.h5" KEEP, 2, "--save is required", NULL);
    snprintf(a, sizeof a, "--cut Relu_7:0%s" KEEP " --optimizer rmsprop", T);
    expect_error(a, 2, "expected sgd, momentum or adam", NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finetune_errors),
        cmocka_unit_test(test_finetune_vgg_fashion),
        cmocka_unit_test(test_finetune_momentum_slots),
        cmocka_unit_test(test_finetune_adam_slots),
        cmocka_unit_test(test_finetune_own_graph_no_saverdef),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
