/* tests/test_caps.c - every resource cap of the readers at its limit and one past it
 * (reliability T13): checkpoint index bytes, table entries (V2 and V1), key bytes (at
 * the real 64 KiB default), the `checkpoint` state file (bytes, path length, number of
 * paths and timestamps) and the .npy header and file caps. At the limit the input
 * loads; one past it the error is GRAFT_ERR_NOMEM and names the file and the cap.
 * The .meta caps (file bytes, constant bytes, nesting depth) are in test_metagraph.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graft/graft.h"
#include "graft/npy.h"
#include "ckpt_support.h"

static void check_msg(const graft_status *st, const char *a, const char *b)
{
    if (!strstr(st->msg, a) || (b && !strstr(st->msg, b)))
        fail_msg("message lacks '%s'%s%s: %s", a, b ? " or " : "", b ? b : "", st->msg);
}

/* A V2 checkpoint at prefix with n float tensors named by keys[i] (or "t<i>"). */
static void write_ckpt(const char *prefix, int n, const char *const *keys)
{
    graft_status st;
    graft_ckpt_writer *w = graft_ckpt_writer_new(prefix, &st);
    assert_non_null(w);
    for (int i = 0; i < n; i++) {
        graft_tensor *t = graft_tensor_scalar_f32((float)i + 0.5f, &st);
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        assert_int_equal(graft_ckpt_writer_add(w, keys ? keys[i] : name, t, &st), GRAFT_OK);
        graft_tensor_free(t);
    }
    assert_int_equal(graft_ckpt_writer_finish(w, &st), GRAFT_OK);
    graft_ckpt_writer_free(w);
}

/* Opens with o and reads every tensor; GRAFT_OK or the first error. */
static graft_code open_read(const char *prefix, const graft_ckpt_opts *o, int *n_read, graft_status *st)
{
    *n_read = 0;
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, o, st);
    if (!r) return st->code;
    graft_code rc = GRAFT_OK;
    for (int i = 0; i < graft_ckpt_reader_num_entries(r) && rc == GRAFT_OK; i++) {
        graft_ckpt_entry e;
        assert_true(graft_ckpt_reader_entry(r, i, &e));
        graft_tensor *t = NULL;
        rc = graft_ckpt_reader_read(r, e.name, &t, st);
        if (rc == GRAFT_OK) (*n_read)++;
        graft_tensor_free(t);
    }
    graft_ckpt_reader_free(r);
    return rc;
}

static void test_index_bytes(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("caps");
    char *prefix = ckt_path(dir, "m"), idx[1024];
    write_ckpt(prefix, 3, NULL);
    snprintf(idx, sizeof idx, "%s.index", prefix);
    size_t size;
    uint8_t *bytes = ckt_read_file(idx, &size);
    assert_non_null(bytes);
    free(bytes);
    graft_ckpt_opts o;
    graft_ckpt_opts_init(&o);
    assert_true(o.max_index_bytes == (uint64_t)1 << 30);
    graft_status st;
    int n;
    o.max_index_bytes = size; /* an index of exactly the cap */
    assert_int_equal(open_read(prefix, &o, &n, &st), GRAFT_OK);
    assert_int_equal(n, 3);
    o.max_index_bytes = size - 1; /* one byte over */
    assert_int_equal(open_read(prefix, &o, &n, &st), GRAFT_ERR_NOMEM);
    check_msg(&st, "m.index", "max_index_bytes");
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

/* The entry cap counts table entries: the header entry and one per tensor. */
static void test_entries_v2(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("caps");
    char *prefix = ckt_path(dir, "m");
    write_ckpt(prefix, 4, NULL);
    graft_ckpt_opts o;
    graft_ckpt_opts_init(&o);
    assert_int_equal(o.max_entries, 1000000);
    graft_status st;
    int n;
    o.max_entries = 5;
    assert_int_equal(open_read(prefix, &o, &n, &st), GRAFT_OK);
    assert_int_equal(n, 4);
    o.max_entries = 4;
    assert_int_equal(open_read(prefix, &o, &n, &st), GRAFT_ERR_NOMEM);
    check_msg(&st, "m.index", "max_entries");
    ckt_rm_rf(dir);
    free(prefix);
    free(dir);
}

/* A V1 file written by TensorFlow 0.9: the cap counts its tensors (listed in the
 * metadata entry) and the entries of its table's index block. */
static void test_entries_v1(void **state)
{
    (void)state;
    const char *path = GRAFT_FIXTURES_DIR "/tf1v1/mnist_slim_tf09/my-model";
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(path, NULL, &st);
    if (!r) fail_msg("%s", st.msg);
    int tensors = graft_ckpt_reader_num_entries(r);
    graft_ckpt_reader_free(r);
    assert_true(tensors > 2);
    graft_ckpt_opts o;
    graft_ckpt_opts_init(&o);
    int n;
    o.max_entries = tensors;
    assert_int_equal(open_read(path, &o, &n, &st), GRAFT_OK);
    assert_int_equal(n, tensors);
    o.max_entries = tensors - 1;
    assert_int_equal(open_read(path, &o, &n, &st), GRAFT_ERR_NOMEM);
    check_msg(&st, "my-model: 58 tensors exceed the cap of 57", "max_entries");
    o.max_entries = 9; /* its index block lists 10 data blocks */
    assert_int_equal(open_read(path, &o, &n, &st), GRAFT_ERR_NOMEM);
    check_msg(&st, "index block has more than 9 entries", "max_entries");
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* Keys at the real default of 64 KiB (written by graft's writer, which has no key
 * cap of its own), and at a configured cap. */
static void test_key_bytes(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("caps");
    char *at = ckt_path(dir, "at"), *over = ckt_path(dir, "over");
    char *k64 = repeat('k', 65536), *k64p1 = repeat('k', 65537);
    const char *keys_at[2] = {"a", k64}, *keys_over[2] = {"a", k64p1};
    write_ckpt(at, 2, keys_at);
    write_ckpt(over, 2, keys_over);
    graft_status st;
    int n;
    assert_int_equal(open_read(at, NULL, &n, &st), GRAFT_OK);
    assert_int_equal(n, 2);
    graft_ckpt_reader *r = graft_ckpt_reader_open(at, NULL, &st);
    graft_tensor *t = NULL;
    assert_int_equal(graft_ckpt_reader_read(r, k64, &t, &st), GRAFT_OK);
    assert_true(((const float *)graft_tensor_data(t))[0] == 1.5f);
    graft_tensor_free(t);
    graft_ckpt_reader_free(r);
    assert_int_equal(open_read(over, NULL, &n, &st), GRAFT_ERR_NOMEM);
    check_msg(&st, "over.index", "max_key_bytes");
    /* a configured cap: 5-byte keys at 5 and at 4 */
    const char *keys5[2] = {"abcde", "fghij"};
    char *five = ckt_path(dir, "five");
    write_ckpt(five, 2, keys5);
    graft_ckpt_opts o;
    graft_ckpt_opts_init(&o);
    assert_int_equal((int)o.max_key_bytes, 65536);
    o.max_key_bytes = 5;
    assert_int_equal(open_read(five, &o, &n, &st), GRAFT_OK);
    o.max_key_bytes = 4;
    assert_int_equal(open_read(five, &o, &n, &st), GRAFT_ERR_NOMEM);
    check_msg(&st, "five.index", "max_key_bytes");
    free(k64);
    free(k64p1);
    ckt_rm_rf(dir);
    free(at);
    free(over);
    free(five);
    free(dir);
}

/* ---- the `checkpoint` state file ------------------------------------------------ */
static graft_code read_state(const char *dir, const char *text, size_t n, graft_checkpoint_state **s,
                             graft_status *st)
{
    char *p = ckt_path(dir, "checkpoint");
    assert_true(ckt_write_file(p, text, n));
    free(p);
    *s = NULL;
    return graft_checkpoint_state_read(dir, NULL, s, st);
}

static void test_state_caps(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("caps");
    graft_checkpoint_state *s;
    graft_status st;
    /* a path of 4096 bytes, and of 4097 */
    for (int extra = 0; extra <= 1; extra++) {
        char *name = repeat('p', 4096 + (size_t)extra);
        size_t cap = strlen(name) + 64;
        char *text = malloc(cap);
        int n = snprintf(text, cap, "model_checkpoint_path: \"%s\"\n", name);
        graft_code c = read_state(dir, text, (size_t)n, &s, &st);
        if (!extra) {
            assert_int_equal(c, GRAFT_OK);
            assert_int_equal((int)strlen(s->model_checkpoint_path), 4096);
            graft_checkpoint_state_free(s);
        } else {
            assert_int_equal(c, GRAFT_ERR_CORRUPT);
            check_msg(&st, "checkpoint: line 1", "longer than 4096 bytes");
        }
        free(text);
        free(name);
    }
    /* 100,000 paths and timestamps, and 100,001 of each */
    for (int extra = 0; extra <= 1; extra++)
        for (int ts = 0; ts <= 1; ts++) {
            int n = 100000 + extra;
            size_t cap = (size_t)n * 48 + 64, len = 0;
            char *text = malloc(cap);
            len += (size_t)snprintf(text + len, cap - len, "model_checkpoint_path: \"m-%d\"\n", n - 1);
            for (int i = 0; i < n; i++)
                len += (size_t)(ts ? snprintf(text + len, cap - len, "all_model_checkpoint_timestamps: %d.5\n", i)
                                   : snprintf(text + len, cap - len, "all_model_checkpoint_paths: \"m-%d\"\n", i));
            graft_code c = read_state(dir, text, len, &s, &st);
            if (!extra) {
                if (c != GRAFT_OK) fail_msg("%s", st.msg);
                assert_int_equal(ts ? s->n_timestamps : s->n_paths, 100000);
                if (ts) assert_true(s->all_model_checkpoint_timestamps[99999] == 99999.5);
                else assert_string_equal(s->all_model_checkpoint_paths[99999], "m-99999");
                graft_checkpoint_state_free(s);
            } else {
                assert_int_equal(c, GRAFT_ERR_NOMEM);
                check_msg(&st, "checkpoint: line 100002", "(the cap)");
            }
            free(text);
        }
    /* a file of 16 MiB (a valid entry padded with spaces), and one byte more */
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = ((size_t)16 << 20) + (size_t)extra;
        char *text = malloc(n);
        memset(text, ' ', n);
        const char *line = "model_checkpoint_path: \"m-1\"\n";
        memcpy(text, line, strlen(line));
        graft_code c = read_state(dir, text, n, &s, &st);
        if (!extra) {
            if (c != GRAFT_OK) fail_msg("%s", st.msg);
            assert_string_equal(s->model_checkpoint_path, "m-1");
            graft_checkpoint_state_free(s);
        } else {
            assert_int_equal(c, GRAFT_ERR_NOMEM);
            check_msg(&st, "checkpoint", "over the cap of 16777216 bytes");
        }
        free(text);
    }
    ckt_rm_rf(dir);
    free(dir);
}

/* ---- .npy ------------------------------------------------------------------------ */
/* A version 2.0 .npy of two floats whose header is exactly hlen bytes. */
static uint8_t *npy_with_header(size_t hlen, size_t *len)
{
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    size_t n = 12 + hlen + 8;
    uint8_t *b = malloc(n);
    memcpy(b, "\x93NUMPY\x02\x00", 8);
    b[8] = (uint8_t)hlen, b[9] = (uint8_t)(hlen >> 8), b[10] = (uint8_t)(hlen >> 16), b[11] = (uint8_t)(hlen >> 24);
    memset(b + 12, ' ', hlen);
    memcpy(b + 12, dict, strlen(dict));
    b[12 + hlen - 1] = '\n';
    float v[2] = {1.25f, -2.0f};
    memcpy(b + 12 + hlen, v, 8);
    *len = n;
    return b;
}

static void test_npy_caps(void **state)
{
    (void)state;
    graft_status st;
    graft_tensor *t = NULL;
    size_t len;
    uint8_t *b = npy_with_header(GRAFT_NPY_MAX_HEADER, &len);
    if (graft_npy_parse(b, len, "at.npy", &t, &st) != GRAFT_OK) fail_msg("%s", st.msg);
    assert_true(((const float *)graft_tensor_data(t))[1] == -2.0f);
    graft_tensor_free(t);
    t = NULL;
    /* the file cap of graft_npy_read: a file of exactly max_bytes, and one over */
    char *dir = ckt_tempdir("caps");
    char *path = ckt_path(dir, "at.npy");
    assert_true(ckt_write_file(path, b, len));
    assert_int_equal(graft_npy_read(path, len, &t, &st), GRAFT_OK);
    graft_tensor_free(t);
    t = NULL;
    assert_int_equal(graft_npy_read(path, len - 1, &t, &st), GRAFT_ERR_NOMEM);
    check_msg(&st, "at.npy", "cap");
    assert_null(t);
    free(b);
    b = npy_with_header(GRAFT_NPY_MAX_HEADER + 1, &len);
    assert_int_equal(graft_npy_parse(b, len, "over.npy", &t, &st), GRAFT_ERR_CORRUPT);
    check_msg(&st, "over.npy", "over the cap of 100000 bytes");
    assert_null(t);
    free(b);
    ckt_rm_rf(dir);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_bytes), cmocka_unit_test(test_entries_v2), cmocka_unit_test(test_entries_v1),
        cmocka_unit_test(test_key_bytes),   cmocka_unit_test(test_state_caps), cmocka_unit_test(test_npy_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
