/* tests/test_metagraph_cli.c - `graft run` and `graft graph` end to end on the
 * fixtures (outputs against the refout.json references, missing feeds and inert
 * ops reported by name, JSON/DOT listings against golden.json), and the seed
 * save/restore example, whose files refread and refrun (independent of graft)
 * read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <cmocka.h>

#include "graft/graft.h"
#include "graft/npy.h"
#include "infra.h"
#include "meta_json.h"

#define GRAFT GRAFT_BINARY_DIR "/graft"
#define LENET GRAFT_FIXTURES_DIR "/tf1/lenet_traffic_tf13"
#define VGG GRAFT_FIXTURES_DIR "/vgg/vgg_traffic_tf13"

static char out[1 << 20];

static void expect_in(const char *needle)
{
    if (!strstr(out, needle)) fail_msg("output lacks '%s':\n%.2000s", needle, out);
}

static double max_dev(const char *a, const char *b, double atol, double rtol, int *outside)
{
    graft_status st;
    graft_tensor *x = NULL, *y = NULL;
    if (graft_npy_read(a, 0, &x, &st) || graft_npy_read(b, 0, &y, &st)) fail_msg("%s", st.msg);
    assert_int_equal(graft_tensor_num_elements(x), graft_tensor_num_elements(y));
    assert_int_equal(graft_tensor_dtype(x), graft_tensor_dtype(y));
    double worst = 0;
    *outside = 0;
    for (int64_t i = 0; i < graft_tensor_num_elements(x); i++) {
        double u, v;
        if (graft_tensor_dtype(x) == GRAFT_INT64) {
            u = (double)((const int64_t *)graft_tensor_cdata(x))[i];
            v = (double)((const int64_t *)graft_tensor_cdata(y))[i];
        } else {
            u = ((const float *)graft_tensor_cdata(x))[i];
            v = ((const float *)graft_tensor_cdata(y))[i];
        }
        double d = fabs(u - v);
        if (d > worst) worst = d;
        if (d > atol + rtol * fabs(v)) (*outside)++;
    }
    graft_tensor_free(x);
    graft_tensor_free(y);
    return worst;
}

static void test_run_lenet(void **state)
{
    (void)state;
    int rc = infra_run(out, sizeof out,
                       "%s run --meta %s/lenet.meta --ckpt %s/lenet --feed Placeholder:0=%s/ref/input.npy "
                       "--feed Placeholder_2:0=%s/ref/keep_prob.npy --fetch Add_2:0=logits.npy "
                       "--fetch ArgMax:0=argmax.npy --fetch Relu_3:0=fc.npy 2>&1",
                       GRAFT, LENET, LENET, LENET, LENET);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    expect_in("Add_2:0 -> logits.npy (float32 [4,43])");
    int bad;
    double d = max_dev("logits.npy", LENET "/ref/logits.npy", 4e-5, 1e-4, &bad); /* refout.json tolerance */
    printf("# graft run lenet: max |d| logits %.3g\n", d);
    assert_int_equal(bad, 0);
    max_dev("fc.npy", LENET "/ref/fc_penultimate.npy", 4e-5, 1e-4, &bad);
    assert_int_equal(bad, 0);
    d = max_dev("argmax.npy", LENET "/ref/argmax.npy", 0, 0, &bad);
    assert_int_equal(bad, 0);

    /* default checkpoint: the one next to the .meta (lenet.meta -> lenet) */
    rc = infra_run(out, sizeof out,
                   "%s run --meta %s/lenet.meta --feed Placeholder:0=%s/ref/input.npy "
                   "--feed Placeholder_2:0=%s/ref/keep_prob.npy --fetch ArgMax:0=argmax2.npy 2>&1",
                   GRAFT, LENET, LENET, LENET);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    max_dev("argmax2.npy", LENET "/ref/argmax.npy", 0, 0, &bad);
    assert_int_equal(bad, 0);
}

static void test_run_errors(void **state)
{
    (void)state;
    /* the dropout keep_prob is needed and not fed */
    int rc = infra_run(out, sizeof out,
                       "%s run --meta %s/lenet.meta --feed Placeholder:0=%s/ref/input.npy "
                       "--fetch Add_2:0=x.npy 2>&1", GRAFT, LENET, LENET);
    assert_int_equal(rc, 1);
    expect_in("missing feed: placeholder 'Placeholder_2'");
    /* an op graft does not implement on the path: named with its type */
    /* (mlp_adam_tf110's dropout is a tf.cond: Switch/Merge, which graft keeps inert) */
    rc = infra_run(out, sizeof out, "%s run --meta %s/tf1/mlp_adam_tf110/model.ckpt.meta --fetch MatMul_1:0=x.npy 2>&1",
                   GRAFT, GRAFT_FIXTURES_DIR);
    assert_int_equal(rc, 1);
    expect_in("node 'dropout/cond/Merge' has op type 'Merge', which graft cannot run");
    /* a feed of the wrong dtype */
    rc = infra_run(out, sizeof out,
                   "%s run --meta %s/lenet.meta --feed Placeholder:0=%s/ref/argmax.npy "
                   "--feed Placeholder_2:0=%s/ref/keep_prob.npy --fetch Add_2:0=x.npy 2>&1",
                   GRAFT, LENET, LENET, LENET);
    assert_int_equal(rc, 1);
    expect_in("holds int64, the tensor is float32");
    /* no such tensor; usage errors */
    rc = infra_run(out, sizeof out, "%s run --meta %s/lenet.meta --fetch Nope:0=x.npy 2>&1", GRAFT, LENET);
    assert_int_equal(rc, 1);
    expect_in("'Nope'");
    rc = infra_run(out, sizeof out, "%s run --meta %s/lenet.meta --feed broken 2>&1", GRAFT, LENET);
    assert_int_equal(rc, 2);
    rc = infra_run(out, sizeof out, "%s run --meta %s/ref/input.npy --fetch a:0=b.npy 2>&1", GRAFT, LENET);
    assert_int_equal(rc, 1);
}

static void test_graph_listing(void **state)
{
    (void)state;
    mj *gold = mj_parse_file(VGG "/golden.json");
    assert_non_null(gold);
    const mj *meta = mj_at(mj_get(gold, "meta"), 0);
    int nodes = (int)mj_num(mj_get(meta, "node_count"));
    int rc = infra_run(out, sizeof out, "%s graph --json %s/vgg.meta", GRAFT, VGG);
    assert_int_equal(rc, 0);
    mj *j = mj_parse(out);
    assert_non_null(j);
    assert_int_equal((int)mj_num(mj_get(j, "node_count")), nodes);
    assert_int_equal(mj_len(mj_get(j, "nodes")), nodes);
    assert_int_equal((int)mj_num(mj_get(j, "producer")), (int)mj_num(mj_path(meta, "graph_versions.producer")));
    /* op counts from the listing equal refread's */
    const mj *oc = mj_get(meta, "op_counts");
    int edges = 0;
    for (int k = 0; k < mj_len(oc); k++) {
        int c = 0;
        for (int i = 0; i < nodes; i++) c += !strcmp(mj_str(mj_get(mj_at(mj_get(j, "nodes"), i), "op")), mj_key_at(oc, k));
        assert_int_equal(c, (int)mj_num(mj_at(oc, k)));
    }
    for (int i = 0; i < nodes; i++) edges += mj_len(mj_get(mj_at(mj_get(j, "nodes"), i), "inputs"));
    /* the conv input placeholder has the shape TF recorded */
    const mj *n0 = mj_at(mj_get(j, "nodes"), 0);
    assert_string_equal(mj_str(mj_get(n0, "name")), "Placeholder");
    const mj *s0 = mj_at(mj_get(n0, "output_shapes"), 0);
    assert_int_equal(mj_len(s0), 4);
    assert_int_equal((int)mj_num(mj_at(s0, 0)), -1);
    assert_int_equal((int)mj_num(mj_at(s0, 1)), 32);
    mj_free(j);
    /* DOT: one node statement per node, one edge per input */
    rc = infra_run(out, sizeof out, "%s graph --dot %s/vgg.meta", GRAFT, VGG);
    assert_int_equal(rc, 0);
    assert_int_equal(strncmp(out, "digraph", 7), 0);
    int nstmt = 0, nedge = 0;
    for (const char *p = out; (p = strstr(p, "\n  n")); p++) {
        if (p[4] < '0' || p[4] > '9') continue; /* "  node [...]" defaults */
        const char *e = strchr(p + 1, '\n');
        const char *arrow = strstr(p, " -> ");
        if (arrow && (!e || arrow < e)) nedge++;
        else nstmt++;
    }
    assert_int_equal(nstmt, nodes);
    assert_int_equal(nedge, edges);
    /* text */
    rc = infra_run(out, sizeof out, "%s graph %s/lenet.meta", GRAFT, LENET);
    assert_int_equal(rc, 0);
    expect_in("TensorFlow 1.3.0");
    expect_in("OneHot");
    assert_null(strstr(out, "not supported by graft")); /* every op of LeNet runs */
    rc = infra_run(out, sizeof out, "%s graph %s/tf1/mlp_adam_tf110/model.ckpt.meta", GRAFT, GRAFT_FIXTURES_DIR);
    assert_int_equal(rc, 0);
    expect_in("dropout/cond/Switch");
    expect_in("not supported by graft: inert");
    rc = infra_run(out, sizeof out, "%s graph %s/ref/input.npy 2>&1", GRAFT, LENET);
    assert_int_equal(rc, 1);
    mj_free(gold);
}

/* The seed walkthrough: 24, 60, TF's w1_1 error, 120; its .meta files pass
 * refread, and refrun (an independent interpreter) computes 24 from the saved
 * graph and checkpoint. */
static void test_seed_example(void **state)
{
    (void)state;
    int rc = infra_run(out, sizeof out, "rm -rf seed && mkdir seed && %s/seed_save_restore all seed 2>&1",
                       GRAFT_BINARY_DIR);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    expect_in("w1=4, w2=8 -> 24");
    expect_in("w1=13, w2=17 -> 60");
    expect_in("You must feed a value for placeholder tensor 'w1_1' with dtype float");
    expect_in("op_to_restore * 2 -> 120");
    expect_in(".meta written: no");
    const char *rr = infra_refread_dir();
    assert_non_null(rr);
    rc = infra_run(out, sizeof out, "%s %s/refread.py meta seed/checkpoint/saving_restoring-1000.meta", infra_python(), rr);
    assert_int_equal(rc, 0);
    expect_in("\"filename_tensor_name\": \"save/Const:0\"");
    expect_in("\"restore_op_name\": \"save/restore_all\"");
    expect_in("\"variable_name\": \"bias:0\"");
    rc = infra_run(out, sizeof out, "%s %s/refread.py meta seed/partial/my_test_model-1000.meta", infra_python(), rr);
    assert_int_equal(rc, 0);
    rc = infra_run(out, sizeof out, "%s %s/refread.py ckpt seed/checkpoint/saving_restoring-1000", infra_python(), rr);
    assert_int_equal(rc, 0);
    graft_status st;
    graft_tensor *a = graft_tensor_scalar_f32(4, &st), *b = graft_tensor_scalar_f32(8, &st);
    assert_int_equal(graft_npy_write("w1.npy", a, &st), GRAFT_OK);
    assert_int_equal(graft_npy_write("w2.npy", b, &st), GRAFT_OK);
    graft_tensor_free(a);
    graft_tensor_free(b);
    rc = infra_run(out, sizeof out,
                   "%s %s/refrun.py run seed/checkpoint/saving_restoring-1000.meta seed/checkpoint/saving_restoring-1000 "
                   "--feed w1:0=w1.npy --feed w2:0=w2.npy --fetch op_to_restore:0=o.npy 2>&1", infra_python(), rr);
    if (rc != 0) fail_msg("refrun exit %d:\n%s", rc, out);
    graft_tensor *o = NULL;
    assert_int_equal(graft_npy_read("o.npy", 0, &o, &st), GRAFT_OK);
    assert_true(*(const float *)graft_tensor_cdata(o) == 24.0f);
    graft_tensor_free(o);
    /* graft run on the saved model, latest checkpoint found through the state file */
    rc = infra_run(out, sizeof out,
                   "%s run --meta seed/checkpoint/saving_restoring-1000.meta --ckpt seed/checkpoint "
                   "--feed w1:0=w1.npy --feed w2:0=w2.npy --fetch op_to_restore:0=o2.npy 2>&1", GRAFT);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    assert_int_equal(graft_npy_read("o2.npy", 0, &o, &st), GRAFT_OK);
    assert_true(*(const float *)graft_tensor_cdata(o) == 24.0f);
    graft_tensor_free(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_lenet),
        cmocka_unit_test(test_run_errors),
        cmocka_unit_test(test_graph_listing),
        cmocka_unit_test(test_seed_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
