/* tests/test_ckpt_state.c - the `checkpoint` state file: parsing TF's text format
 * (escapes, lists, comments, adjacent strings) and rejecting malformed files with a
 * line number; writing exactly what Python's text_format writes (octal escapes,
 * repr(float) numbers) so the reference reader's protobuf parser accepts it; path
 * resolution confined to the directory; latest_checkpoint's fallback. */
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
#include "ckpt_support.h"

static char *g_dir;

static void write_state_text(const char *text)
{
    char *p = ckt_path(g_dir, "checkpoint");
    assert_true(ckt_write_file(p, text, strlen(text)));
    free(p);
}

static graft_checkpoint_state *parse_ok(const char *text)
{
    write_state_text(text);
    graft_checkpoint_state *s = NULL;
    graft_status st;
    if (graft_checkpoint_state_read(g_dir, NULL, &s, &st) != GRAFT_OK) fail_msg("%s", st.msg);
    return s;
}

static void parse_bad(const char *text, const char *want)
{
    write_state_text(text);
    graft_checkpoint_state *s = NULL;
    graft_status st;
    assert_int_equal(graft_checkpoint_state_read(g_dir, NULL, &s, &st), GRAFT_ERR_CORRUPT);
    assert_null(s);
    if (!strstr(st.msg, want)) fail_msg("expected '%s' in: %s", want, st.msg);
    assert_non_null(strstr(st.msg, "checkpoint"));
}

static void test_parse(void **state)
{
    (void)state;
    graft_checkpoint_state *s = parse_ok("model_checkpoint_path: \"model.ckpt-1000\"\n"
                                         "all_model_checkpoint_paths: \"model.ckpt-500\"\n"
                                         "all_model_checkpoint_paths: \"model.ckpt-1000\"\n");
    assert_string_equal(s->model_checkpoint_path, "model.ckpt-1000");
    assert_int_equal(s->n_paths, 2);
    assert_string_equal(s->all_model_checkpoint_paths[0], "model.ckpt-500");
    assert_int_equal(s->n_timestamps, 0);
    assert_false(s->has_last_preserved_timestamp);
    graft_checkpoint_state_free(s);
    s = parse_ok("# a comment\n  model_checkpoint_path :'a\\'b' \"\\x41\\101\\303\\251\\n\" ;\n"
                 "all_model_checkpoint_paths: [\"x\", 'y']\n"
                 "all_model_checkpoint_timestamps: [1.5e9, 123]\n"
                 "all_model_checkpoint_timestamps: inf,\n"
                 "last_preserved_timestamp: 1589012345.123456\n"
                 "model_checkpoint_path: \"last wins\"\n");
    assert_string_equal(s->model_checkpoint_path, "last wins");
    assert_int_equal(s->n_paths, 2);
    assert_string_equal(s->all_model_checkpoint_paths[1], "y");
    assert_int_equal(s->n_timestamps, 3);
    assert_true(s->all_model_checkpoint_timestamps[0] == 1.5e9);
    assert_true(s->all_model_checkpoint_timestamps[1] == 123.0);
    assert_true(isinf(s->all_model_checkpoint_timestamps[2]));
    assert_true(s->last_preserved_timestamp == 1589012345.123456);
    graft_checkpoint_state_free(s);
    s = parse_ok("model_checkpoint_path: 'a\\'b' \"\\x41\\101\\303\\251\\n\"");
    assert_string_equal(s->model_checkpoint_path, "a'bAA\xc3\xa9\n");
    graft_checkpoint_state_free(s);
    parse_bad("model_checkpoint_path: \"a\"\nbogus_field: 1\n", "line 2: unknown field 'bogus_field'");
    parse_bad("all_model_checkpoint_paths: \"a\"\n", "line 2: invalid checkpoint state: model_checkpoint_path is missing");
    parse_bad("model_checkpoint_path: \"unterminated\n", "line 1: unterminated string");
    parse_bad("model_checkpoint_path \"a\"\n", "expected ':'");
    parse_bad("model_checkpoint_path: \"a\\0b\"\n", "NUL byte");
    parse_bad("model_checkpoint_path: \"a\\qb\"\n", "unknown escape");
    parse_bad("model_checkpoint_path: [\"a\"]\n", "a list for a singular field");
    parse_bad("model_checkpoint_path: \"a\"\nlast_preserved_timestamp: soon\n", "expected a number");
    char *big = malloc(5000 + 64);
    strcpy(big, "model_checkpoint_path: \"");
    memset(big + strlen(big), 'p', 4200);
    strcpy(big + 24 + 4200, "\"\n");
    parse_bad(big, "longer than 4096");
    free(big);
    write_state_text("model_checkpoint_path: \"a\"\x00\n");
    char *p = ckt_path(g_dir, "checkpoint");
    assert_true(ckt_write_file(p, "model_checkpoint_path: \"a\"\0\n", 29));
    free(p);
    graft_checkpoint_state *x = NULL;
    graft_status st;
    assert_int_equal(graft_checkpoint_state_read(g_dir, NULL, &x, &st), GRAFT_ERR_CORRUPT);
    /* no file: NOT_FOUND; a path in latest_filename: refused */
    assert_int_equal(graft_checkpoint_state_read(g_dir, "nothing-here", &x, &st), GRAFT_ERR_NOT_FOUND);
    assert_int_equal(graft_checkpoint_state_read(g_dir, "../checkpoint", &x, &st), GRAFT_ERR_INVALID_ARG);
}

static void test_write(void **state)
{
    (void)state;
    char *paths[2] = {"old \"quoted\"", "caf\xc3\xa9\n"};
    double ts[2] = {1589012345.123456, 1e16};
    graft_checkpoint_state s = {"caf\xc3\xa9\n", paths, 2, ts, 2, 1e-05, true};
    graft_status st;
    assert_int_equal(graft_checkpoint_state_write(g_dir, NULL, &s, &st), GRAFT_OK);
    char *p = ckt_path(g_dir, "checkpoint");
    size_t n;
    char *text = (char *)ckt_read_file(p, &n);
    /* what Python's text_format.MessageToString writes for the same message */
    assert_string_equal(text, "model_checkpoint_path: \"caf\\303\\251\\n\"\n"
                              "all_model_checkpoint_paths: \"old \\\"quoted\\\"\"\n"
                              "all_model_checkpoint_paths: \"caf\\303\\251\\n\"\n"
                              "all_model_checkpoint_timestamps: 1589012345.123456\n"
                              "all_model_checkpoint_timestamps: 1e+16\n"
                              "last_preserved_timestamp: 1e-05\n");
    free(text);
    char *out = NULL;
    if (ckt_refread("state", p, false, &out) != 0) fail_msg("refread: %s", out);
    free(out);
    /* round trip through graft's parser */
    graft_checkpoint_state *r = NULL;
    assert_int_equal(graft_checkpoint_state_read(g_dir, NULL, &r, &st), GRAFT_OK);
    assert_string_equal(r->model_checkpoint_path, s.model_checkpoint_path);
    assert_string_equal(r->all_model_checkpoint_paths[0], paths[0]);
    assert_true(r->all_model_checkpoint_timestamps[0] == ts[0]);
    assert_true(r->last_preserved_timestamp == 1e-05);
    graft_checkpoint_state_free(r);
    /* more numbers in repr(float) form */
    static const struct {
        double v;
        const char *s;
    } nums[] = {{0.0001, "0.0001"}, {1e15, "1000000000000000.0"}, {123.5, "123.5"}, {0.1, "0.1"},
                {100.0, "100.0"},    {1.25e-7, "1.25e-07"},           {-2.5, "-2.5"},  {0.0, "0.0"}};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        graft_checkpoint_state t = {"m", NULL, 0, NULL, 0, nums[i].v, true};
        assert_int_equal(graft_checkpoint_state_write(g_dir, NULL, &t, &st), GRAFT_OK);
        text = (char *)ckt_read_file(p, &n);
        char want[128];
        snprintf(want, sizeof want, "model_checkpoint_path: \"m\"\nlast_preserved_timestamp: %s\n", nums[i].s);
        assert_string_equal(text, want);
        free(text);
    }
    /* the state file may not name itself; no temp files are left */
    graft_checkpoint_state bad = {"checkpoint", NULL, 0, NULL, 0, 0, false};
    assert_int_equal(graft_checkpoint_state_write(g_dir, NULL, &bad, &st), GRAFT_ERR_INVALID_ARG);
    assert_int_equal(ckt_count_files(g_dir, "tempstate"), 0);
    free(p);
}

static void touch_ckpt(const char *name)
{
    char f[512];
    snprintf(f, sizeof f, "%s.index", name);
    char *p = ckt_path(g_dir, f);
    assert_true(ckt_write_file(p, "x", 1));
    free(p);
}

static void test_resolve(void **state)
{
    (void)state;
    char buf[4096];
    graft_status st;
    char *want = ckt_path(g_dir, "m-1");
    assert_int_equal(graft_checkpoint_resolve(g_dir, "m-1", 0, buf, sizeof buf, &st), GRAFT_OK);
    assert_string_equal(buf, want);
    assert_int_equal(graft_checkpoint_resolve(g_dir, "sub/../m-1", 0, buf, sizeof buf, &st), GRAFT_OK);
    assert_string_equal(buf, want);
    free(want);
    assert_int_equal(graft_checkpoint_resolve(g_dir, "../m-1", 0, buf, sizeof buf, &st), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(st.msg, "outside the directory"));
    assert_int_equal(graft_checkpoint_resolve(g_dir, "a/../../m-1", 0, buf, sizeof buf, &st), GRAFT_ERR_INVALID_ARG);
    assert_int_equal(graft_checkpoint_resolve(g_dir, "../m-1", GRAFT_CKPT_ALLOW_OUTSIDE_DIR, buf, sizeof buf, &st),
                     GRAFT_OK);
    /* absolute: inside the directory stays; elsewhere refused unless moved here */
    char cwd[2048];
    assert_non_null(getcwd(cwd, sizeof cwd));
    char *absdir = ckt_path(cwd, g_dir), *inside = ckt_path(absdir, "m-2");
    assert_int_equal(graft_checkpoint_resolve(g_dir, inside, 0, buf, sizeof buf, &st), GRAFT_OK);
    assert_string_equal(buf, inside);
    assert_int_equal(graft_checkpoint_resolve(g_dir, "/etc/passwd", 0, buf, sizeof buf, &st), GRAFT_ERR_INVALID_ARG);
    assert_non_null(strstr(st.msg, "/etc/passwd"));
    touch_ckpt("moved");
    assert_int_equal(graft_checkpoint_resolve(g_dir, "/old/place/moved", 0, buf, sizeof buf, &st), GRAFT_OK);
    char *mv = ckt_path(g_dir, "moved");
    assert_string_equal(buf, mv);
    free(mv);
    assert_int_equal(graft_checkpoint_resolve(g_dir, "/etc/passwd", GRAFT_CKPT_ALLOW_OUTSIDE_DIR, buf, sizeof buf, &st),
                     GRAFT_OK);
    assert_string_equal(buf, "/etc/passwd");
    free(absdir);
    free(inside);
}

static char g_log[2048];
static void capture(void *ud, graft_log_level lvl, const char *msg)
{
    (void)ud;
    if (lvl == GRAFT_LOG_WARN) snprintf(g_log, sizeof g_log, "%s", msg);
}

static void test_latest(void **state)
{
    (void)state;
    char buf[4096];
    graft_status st;
    touch_ckpt("m-10");
    touch_ckpt("m-20");
    write_state_text("model_checkpoint_path: \"m-30\"\nall_model_checkpoint_paths: \"m-10\"\n"
                     "all_model_checkpoint_paths: \"m-20\"\nall_model_checkpoint_paths: \"m-30\"\n");
    graft_set_log(capture, NULL);
    assert_int_equal(graft_latest_checkpoint(g_dir, buf, sizeof buf, &st), GRAFT_OK);
    graft_set_log(NULL, NULL);
    char *want = ckt_path(g_dir, "m-20");
    assert_string_equal(buf, want);
    free(want);
    assert_non_null(strstr(g_log, "'m-30' is missing"));
    write_state_text("model_checkpoint_path: \"m-40\"\nall_model_checkpoint_paths: \"../m-10\"\n");
    assert_int_equal(graft_latest_checkpoint(g_dir, buf, sizeof buf, &st), GRAFT_ERR_NOT_FOUND);
    assert_non_null(strstr(st.msg, "'m-40'"));
    assert_non_null(strstr(st.msg, "outside the directory"));
    /* a custom state file name */
    char *p = ckt_path(g_dir, "mystate");
    assert_true(ckt_write_file(p, "model_checkpoint_path: \"m-10\"\n", 30));
    free(p);
    assert_int_equal(graft_latest_checkpoint_ex(g_dir, "mystate", 0, buf, sizeof buf, &st), GRAFT_OK);
    assert_non_null(strstr(buf, "m-10"));
    /* a V1 checkpoint is a plain file */
    p = ckt_path(g_dir, "v1model");
    assert_true(ckt_write_file(p, "x", 1));
    free(p);
    write_state_text("model_checkpoint_path: \"v1model\"\n");
    assert_int_equal(graft_latest_checkpoint(g_dir, buf, sizeof buf, &st), GRAFT_OK);
    assert_non_null(strstr(buf, "v1model"));
}

static int setup(void **state)
{
    (void)state;
    g_dir = ckt_tempdir("state");
    return g_dir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    ckt_rm_rf(g_dir);
    free(g_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_parse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latest, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
