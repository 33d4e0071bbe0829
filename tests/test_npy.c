/* tests/test_npy.c - NumPy .npy reader/writer: the fixtures' NumPy-written
 * files parse to the known values and re-encode byte for byte; malformed
 * headers, unsupported layouts and size mismatches are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "internal.h"
#include "graft/npy.h"

#define REF GRAFT_FIXTURES_DIR "/tf1/lenet_traffic_tf13/ref/"

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* input.npy is RandomState(1).standard_normal([4,32,32,1]) as float32 (README):
 * its first values are NumPy's well-known seed-1 normals. */
static void test_read_fixture_input(void **state)
{
    (void)state;
    graft_status st;
    graft_tensor *t = NULL;
    assert_int_equal(graft_npy_read(REF "input.npy", 0, &t, &st), GRAFT_OK);
    assert_int_equal(graft_tensor_dtype(t), GRAFT_FLOAT);
    assert_int_equal(graft_tensor_rank(t), 4);
    assert_int_equal(graft_tensor_dim(t, 0), 4);
    assert_int_equal(graft_tensor_dim(t, 1), 32);
    assert_int_equal(graft_tensor_dim(t, 2), 32);
    assert_int_equal(graft_tensor_dim(t, 3), 1);
    const float *v = graft_tensor_cdata(t);
    assert_float_equal(v[0], 1.62434536f, 1e-6);
    assert_float_equal(v[1], -0.61175641f, 1e-6);
    assert_float_equal(v[2], -0.52817175f, 1e-6);
    assert_float_equal(v[3], -1.07296862f, 1e-6);
    graft_tensor_free(t);
}

/* keep_prob.npy: float32 scalar 1.0; argmax.npy: int64 [4] within the refout.json
 * stats (min 23, max 40, mean |x| 32.75). */
static void test_read_fixture_scalar_and_int64(void **state)
{
    (void)state;
    graft_status st;
    graft_tensor *t = NULL;
    assert_int_equal(graft_npy_read(REF "keep_prob.npy", 0, &t, &st), GRAFT_OK);
    assert_int_equal(graft_tensor_rank(t), 0);
    assert_int_equal(graft_tensor_num_elements(t), 1);
    assert_true(*(const float *)graft_tensor_cdata(t) == 1.0f);
    graft_tensor_free(t);
    assert_int_equal(graft_npy_read(REF "argmax.npy", 0, &t, &st), GRAFT_OK);
    assert_int_equal(graft_tensor_dtype(t), GRAFT_INT64);
    assert_int_equal(graft_tensor_rank(t), 1);
    assert_int_equal(graft_tensor_dim(t, 0), 4);
    const int64_t *a = graft_tensor_cdata(t);
    int64_t mn = a[0], mx = a[0], sum = 0;
    for (int i = 0; i < 4; i++) {
        if (a[i] < mn) mn = a[i];
        if (a[i] > mx) mx = a[i];
        sum += a[i];
    }
    assert_int_equal(mn, 23);
    assert_int_equal(mx, 40);
    assert_int_equal(sum, 131); /* 4 * 32.75 */
    graft_tensor_free(t);
}

/* Every fixture .npy re-encodes to exactly the bytes NumPy wrote. */
static void test_reencode_identical(void **state)
{
    (void)state;
    const char *files[] = {"input.npy", "keep_prob.npy", "argmax.npy", "logits.npy", "fc_penultimate.npy",
                           "logits_after_dropout.npy"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, REF "%s", files[i]);
        size_t len;
        uint8_t *raw = slurp(path, &len);
        graft_status st;
        graft_tensor *t = NULL;
        assert_int_equal(graft_npy_parse(raw, len, path, &t, &st), GRAFT_OK);
        void *enc;
        size_t elen;
        assert_int_equal(graft_npy_encode(t, &enc, &elen, &st), GRAFT_OK);
        assert_int_equal(elen, len);
        assert_memory_equal(enc, raw, len);
        graft_npy_free(enc);
        graft_tensor_free(t);
        free(raw);
    }
}

/* Builds a v1 file from a header dict and n payload bytes. */
static size_t make_npy(uint8_t *buf, int major, const char *dict, const void *data, size_t n)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t hl = dl + 1;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major;
    buf[7] = 0;
    buf[8] = (uint8_t)(hl & 0xff);
    buf[9] = (uint8_t)(hl >> 8);
    if (major != 1) buf[10] = buf[11] = 0;
    memcpy(buf + pre, dict, dl);
    buf[pre + dl] = '\n';
    if (n) memcpy(buf + pre + hl, data, n);
    return pre + hl + n;
}

static void test_all_dtypes_and_v2(void **state)
{
    (void)state;
    uint8_t buf[512];
    graft_status st;
    graft_tensor *t;
    struct {
        const char *descr;
        graft_dtype dt;
        size_t sz;
    } cases[] = {{"<f4", GRAFT_FLOAT, 4}, {"<f8", GRAFT_DOUBLE, 8}, {"<i4", GRAFT_INT32, 4},
                 {"<i8", GRAFT_INT64, 8}, {"|u1", GRAFT_UINT8, 1},  {"|b1", GRAFT_BOOL, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dict[128];
        snprintf(dict, sizeof dict, "{\"descr\": \"%s\", \"shape\": (3,), \"fortran_order\": False}", cases[i].descr);
        uint8_t data[24] = {1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
        size_t n = make_npy(buf, i % 2 ? 2 : 1, dict, data, 3 * cases[i].sz);
        assert_int_equal(graft_npy_parse(buf, n, "t.npy", &t, &st), GRAFT_OK);
        assert_int_equal(graft_tensor_dtype(t), cases[i].dt);
        assert_int_equal(graft_tensor_num_elements(t), 3);
        assert_memory_equal(graft_tensor_cdata(t), data, 3 * cases[i].sz);
        graft_tensor_free(t);
    }
    /* write + read back through a file */
    int32_t v[6] = {1, -2, 3, -4, 5, 2147483647};
    int64_t dims[2] = {2, 3};
    graft_tensor *w = graft_tensor_from_data(GRAFT_INT32, dims, 2, v, sizeof v, &st);
    assert_non_null(w);
    assert_int_equal(graft_npy_write("roundtrip.npy", w, &st), GRAFT_OK);
    assert_int_equal(graft_npy_read("roundtrip.npy", 0, &t, &st), GRAFT_OK);
    assert_true(graft_tensor_equal(t, w));
    graft_tensor_free(t);
    graft_tensor_free(w);
    /* Python's own reader agrees: numpy.load gives the same array */
    int rc = system("/usr/bin/python3 -c \"import numpy as np; a=np.load('roundtrip.npy'); "
                    "assert a.dtype==np.int32 and a.shape==(2,3) and a[1,2]==2147483647 and a[0,1]==-2\"");
    if (rc != 0) fprintf(stderr, "note: numpy cross-check exit %d\n", rc);
    assert_int_equal(rc, 0);
}

static void expect_fail(const uint8_t *b, size_t n, graft_code code, const char *needle)
{
    graft_status st;
    graft_tensor *t = (graft_tensor *)1;
    assert_int_equal(graft_npy_parse(b, n, "bad.npy", &t, &st), code);
    assert_null(t);
    if (!strstr(st.msg, needle)) fail_msg("message '%s' lacks '%s'", st.msg, needle);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    uint8_t buf[4096];
    float f3[3] = {1, 2, 3};
    expect_fail((const uint8_t *)"hello world", 11, GRAFT_ERR_CORRUPT, "bad magic");
    expect_fail((const uint8_t *)"\x93NUMPY", 6, GRAFT_ERR_CORRUPT, "bad magic");
    size_t n = make_npy(buf, 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", f3, 12);
    expect_fail(buf, n, GRAFT_ERR_UNSUPPORTED, "big-endian");
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", f3, 12);
    expect_fail(buf, n, GRAFT_ERR_UNSUPPORTED, "Fortran");
    n = make_npy(buf, 1, "{'descr': '|O', 'fortran_order': False, 'shape': (3,), }", f3, 12);
    expect_fail(buf, n, GRAFT_ERR_UNSUPPORTED, "not supported");
    n = make_npy(buf, 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", f3, 12);
    expect_fail(buf, n, GRAFT_ERR_UNSUPPORTED, "not supported");
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", f3, 12);
    expect_fail(buf, n, GRAFT_ERR_CORRUPT, "expected 16 bytes vs found 12");
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f3, 12);
    expect_fail(buf, n, GRAFT_ERR_CORRUPT, "size mismatch");
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }", f3, 12);
    expect_fail(buf, n, GRAFT_ERR_CORRUPT, "non-negative");
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }", f3, 12);
    expect_fail(buf, n, GRAFT_ERR_CORRUPT, "overflow");
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", f3, 4);
    expect_fail(buf, n, GRAFT_ERR_UNSUPPORTED, "dimensions");
    n = make_npy(buf, 1, "{'descr': '<f4', 'shape': (3,), }", f3, 12);
    expect_fail(buf, n, GRAFT_ERR_CORRUPT, "missing");
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", f3, 12);
    expect_fail(buf, n, GRAFT_ERR_CORRUPT, "unexpected key");
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,) ", f3, 12);
    expect_fail(buf, n, GRAFT_ERR_CORRUPT, "npy header");
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), } junk", f3, 12);
    expect_fail(buf, n, GRAFT_ERR_CORRUPT, "trailing");
    uint8_t b3[3] = {0, 1, 2};
    n = make_npy(buf, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", b3, 3);
    expect_fail(buf, n, GRAFT_ERR_CORRUPT, "bool element 2");
    /* header length beyond the file / beyond the cap; unknown version */
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f3, 12);
    buf[9] = 0x0f;
    expect_fail(buf, n, GRAFT_ERR_CORRUPT, "truncated npy header");
    n = make_npy(buf, 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f3, 12);
    buf[11] = 0x10;
    expect_fail(buf, n, GRAFT_ERR_CORRUPT, "cap");
    buf[11] = 0;
    buf[6] = 4;
    expect_fail(buf, n, GRAFT_ERR_VERSION, "version 4.0");
    /* every truncation of a good file is refused, none crashes */
    n = make_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f3, 12);
    for (size_t k = 0; k < n; k++) {
        graft_status st;
        graft_tensor *t = NULL;
        assert_int_not_equal(graft_npy_parse(buf, k, "cut.npy", &t, &st), GRAFT_OK);
        assert_null(t);
    }
    /* writing an unsupported dtype is refused */
    graft_status st;
    graft_tensor *s = graft_tensor_scalar_string("x", 1, &st);
    void *enc;
    size_t elen;
    assert_int_equal(graft_npy_encode(s, &enc, &elen, &st), GRAFT_ERR_UNSUPPORTED);
    graft_tensor_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_fixture_input),
        cmocka_unit_test(test_read_fixture_scalar_and_int64),
        cmocka_unit_test(test_reencode_identical),
        cmocka_unit_test(test_all_dtypes_and_v2),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
