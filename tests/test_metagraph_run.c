/* tests/test_metagraph_run.c - the real TF-trained LeNet and the VGG-style
 * graph run forward after import and restore, matching the reference outputs
 * of their refout.json (refrun.py, float64 torch/numpy) within the stated
 * tolerance, ArgMax exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <string.h>

#include "meta_json.h"
#include "meta_run.h"

static void test_lenet_forward(void **state)
{
    (void)state;
    assert_int_equal(meta_run_refout(GRAFT_FIXTURES_DIR "/tf1/lenet_traffic_tf13/ref", NULL, NULL, false), 0);
}

static void test_vgg_forward(void **state)
{
    (void)state;
    assert_int_equal(meta_run_refout(GRAFT_FIXTURES_DIR "/vgg/vgg_traffic_tf13", NULL, NULL, false), 0);
}

/* The user path: restore through the Saver rebuilt from the file's SaverDef,
 * whose keys are the checkpoint's keys (golden.json lists them). */
static void test_restore_via_imported_saver(void **state)
{
    (void)state;
    assert_int_equal(meta_run_refout(GRAFT_FIXTURES_DIR "/tf1/lenet_traffic_tf13/ref", NULL, NULL, true), 0);
    assert_int_equal(meta_run_refout(GRAFT_FIXTURES_DIR "/vgg/vgg_traffic_tf13", NULL, NULL, true), 0);
    const char *dirs[] = {"tf1/lenet_traffic_tf13", "vgg/vgg_traffic_tf13", "tf1/cnn_cifar10_tf115",
                          "tf1/mlp_adam_tf110", "tf1v1/mnist_slim_tf09"};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/golden.json", GRAFT_FIXTURES_DIR, dirs[d]);
        mj *gold = mj_parse_file(path);
        assert_non_null(gold);
        const mj *entries = mj_get(mj_at(mj_get(gold, "bundles"), 0), "entries");
        snprintf(path, sizeof path, "%s/%s/%s", GRAFT_FIXTURES_DIR, dirs[d],
                 mj_str(mj_get(mj_at(mj_get(gold, "meta"), 0), "file")));
        graft_graph *g = graft_graph_new();
        graft_meta_import *imp = NULL;
        graft_status st;
        if (graft_import_meta_graph(g, path, NULL, &imp, &st)) fail_msg("%s", st.msg);
        graft_saver *sv = graft_meta_import_take_saver(imp);
        if (!sv) fail_msg("%s: no saver: %s", dirs[d], graft_meta_import_saver_note(imp));
        int nkeys = 0;
        for (int i = 0; i < mj_len(entries); i++) {
            const char *k = mj_str(mj_get(mj_at(entries, i), "key"));
            if (!k || !k[0]) continue;
            nkeys++;
            bool found = false;
            for (int j = 0; j < graft_saver_num_vars(sv) && !found; j++) found = !strcmp(graft_saver_key(sv, j), k);
            if (!found) fail_msg("%s: checkpoint key '%s' is not in the imported saver", dirs[d], k);
        }
        assert_int_equal(graft_saver_num_vars(sv), nkeys);
        graft_saver_free(sv);
        graft_meta_import_free(imp);
        graft_graph_free(g);
        mj_free(gold);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lenet_forward),
        cmocka_unit_test(test_vgg_forward),
        cmocka_unit_test(test_restore_via_imported_saver),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
