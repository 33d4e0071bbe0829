/* tests/test_sstable.c - the LevelDB-format table: graft's builder produces the same
 * bytes as Debian's libleveldb TableBuilder (via refread's ldbwrite) for TF's
 * settings, graft's reader lists libleveldb's tables, TF's "overly large entry"
 * flush, exact lookups, varints, and OrderedCode slice keys against hand-derived
 * bytes from tensorflow/core/lib/strings/ordered_code.cc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint/ckpt_internal.h"
#include "ckpt_support.h"

typedef struct kv {
    uint8_t *k, *v;
    size_t kl, vl;
} kv;

typedef struct kvset {
    kv *e;
    int n;
} kvset;

static void kv_add(kvset *s, const void *k, size_t kl, const void *v, size_t vl)
{
    s->e = realloc(s->e, (size_t)(s->n + 1) * sizeof *s->e);
    assert_non_null(s->e);
    kv *e = &s->e[s->n++];
    e->k = malloc(kl + 1);
    e->v = malloc(vl + 1);
    memcpy(e->k, k, kl);
    memcpy(e->v, v, vl);
    e->kl = kl;
    e->vl = vl;
}

static void kv_free(kvset *s)
{
    for (int i = 0; i < s->n; i++) {
        free(s->e[i].k);
        free(s->e[i].v);
    }
    free(s->e);
    s->e = NULL;
    s->n = 0;
}

static graftI_ck_limits lim(void)
{
    graftI_ck_limits l = {1u << 30, 1000000, 65536};
    return l;
}

static void write_graft(const kvset *s, const char *path, size_t block_size)
{
    graftI_ck_tbuilder *b = graftI_ck_tbuilder_new(block_size, 16);
    assert_non_null(b);
    graft_status st;
    for (int i = 0; i < s->n; i++)
        assert_int_equal(graftI_ck_tbuilder_add(b, s->e[i].k, s->e[i].kl, s->e[i].v, s->e[i].vl, &st), GRAFT_OK);
    const uint8_t *out;
    size_t n;
    assert_int_equal(graftI_ck_tbuilder_finish(b, &out, &n, &st), GRAFT_OK);
    assert_true(ckt_write_file(path, out, n));
    graftI_ck_tbuilder_free(b);
}

/* libleveldb's TableBuilder with TF's options (refread's ldbwrite). */
static void write_leveldb(const kvset *s, const char *path)
{
    char why[4096];
    const char *rb = ckt_refread_build(why, sizeof why);
    if (!rb) fail_msg("%s", why);
    char in[512];
    snprintf(in, sizeof in, "%s.hex", path);
    FILE *f = fopen(in, "w");
    assert_non_null(f);
    for (int i = 0; i < s->n; i++) {
        for (size_t j = 0; j < s->e[i].kl; j++) fprintf(f, "%02x", s->e[i].k[j]);
        fputc('\t', f);
        for (size_t j = 0; j < s->e[i].vl; j++) fprintf(f, "%02x", s->e[i].v[j]);
        fputc('\n', f);
    }
    fclose(f);
    char cmd[5000];
    snprintf(cmd, sizeof cmd, "'%s/ldbwrite' '%s' < '%s'", rb, path, in);
    char *err = NULL;
    int rc = ckt_run(cmd, NULL, &err);
    if (rc != 0) fail_msg("ldbwrite failed (%d): %s", rc, err ? err : "");
    free(err);
    remove(in);
}

typedef struct scan_check {
    const kvset *s;
    int i;
} scan_check;

static graft_code check_entry(void *ud, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                              uint64_t off, graft_status *st)
{
    (void)off;
    (void)st;
    scan_check *c = ud;
    if (c->i >= c->s->n) return GRAFT_ERR_INTERNAL;
    const kv *e = &c->s->e[c->i++];
    if (klen != e->kl || vlen != e->vl || (klen && memcmp(key, e->k, klen)) || (vlen && memcmp(val, e->v, vlen)))
        return GRAFT_ERR_INTERNAL;
    return GRAFT_OK;
}

static void read_check(const kvset *s, const char *path, int *nblocks)
{
    graftI_ck_limits l = lim();
    graftI_ck_table *t = NULL;
    graft_status st;
    graft_code rc = graftI_ck_table_open(path, &l, &t, &st);
    if (rc != GRAFT_OK) fail_msg("%s", st.msg);
    scan_check c = {s, 0};
    assert_int_equal(graftI_ck_table_scan(t, check_entry, &c, &st), GRAFT_OK);
    assert_int_equal(c.i, s->n);
    /* every key is found by exact lookup, values intact */
    for (int i = 0; i < s->n; i += (s->n > 50 ? 7 : 1)) {
        const uint8_t *v;
        size_t vl;
        assert_int_equal(graftI_ck_table_get(t, s->e[i].k, s->e[i].kl, &v, &vl, &st), GRAFT_OK);
        assert_int_equal(vl, s->e[i].vl);
        assert_memory_equal(v, s->e[i].v, vl);
    }
    const uint8_t *v;
    size_t vl;
    assert_int_equal(graftI_ck_table_get(t, (const uint8_t *)"zzzz-missing", 12, &v, &vl, &st), GRAFT_ERR_NOT_FOUND);
    if (nblocks) *nblocks = graftI_ck_table_num_blocks(t);
    graftI_ck_table_close(t);
}

static void compare_with_leveldb(const kvset *s, const char *name)
{
    char *dir = ckt_tempdir("sst");
    char *a = ckt_path(dir, "graft.tbl"), *b = ckt_path(dir, "leveldb.tbl");
    write_graft(s, a, 262144);
    write_leveldb(s, b);
    if (!ckt_files_equal(a, b)) fail_msg("%s: graft's table differs from libleveldb's", name);
    read_check(s, b, NULL);
    read_check(s, a, NULL);
    ckt_rm_rf(dir);
    free(a);
    free(b);
    free(dir);
}

static void test_same_bytes_as_leveldb(void **state)
{
    (void)state;
    kvset s = {0};
    compare_with_leveldb(&s, "empty table");

    kv_add(&s, "", 0, "\x08\x01\x1a\x02\x08\x01", 6); /* a bundle header */
    compare_with_leveldb(&s, "header only");

    char k[64], v[64];
    for (int i = 0; i < 100; i++) {
        snprintf(k, sizeof k, "layer_%03d/%s", i / 2, i % 2 ? "weights" : "biases");
        snprintf(v, sizeof v, "value-%d", i * 7919);
        kv_add(&s, k, strlen(k), v, strlen(v));
    }
    compare_with_leveldb(&s, "100 small entries, restart points");
    kv_free(&s);

    /* several data blocks: shortest separators and successors */
    uint8_t *big = malloc(3000);
    for (int i = 0; i < 3000; i++) big[i] = (uint8_t)(i * 31);
    kv_add(&s, "", 0, "h", 1);
    for (int i = 0; i < 400; i++) {
        snprintf(k, sizeof k, "%c%c/kernel_%d", 'a' + i / 26 % 26, 'a' + i % 26, i);
        big[0] = (uint8_t)i;
        kv_add(&s, k, strlen(k), big, 3000);
    }
    kv_add(&s, "zz\xff", 3, "x", 1);
    kv_add(&s, "\xff\xff", 2, "y", 1); /* all-0xff last key: successor leaves it alone */
    compare_with_leveldb(&s, "multi-block");
    free(big);
    kv_free(&s);

    /* separator where the differing byte is one less than the limit's */
    uint8_t *mid = calloc(1, 262144);
    kv_add(&s, "abc\xff", 4, mid, 262100);
    kv_add(&s, "abd", 3, "q", 1);
    kv_add(&s, "abd\x01", 4, mid, 262100);
    kv_add(&s, "b", 1, "r", 1);
    compare_with_leveldb(&s, "separator edge cases");
    free(mid);
    kv_free(&s);
}

/* TF's table_builder.cc (unlike LevelDB) flushes the current block before an
 * entry of at least 2 x block_size bytes. */
static void test_overly_large_entry(void **state)
{
    (void)state;
    kvset s = {0};
    kv_add(&s, "a", 1, "small", 5);
    size_t big = 2 * 262144 + 10;
    uint8_t *v = calloc(1, big);
    kv_add(&s, "b", 1, v, big);
    kv_add(&s, "c", 1, "after", 5);
    free(v);
    char *dir = ckt_tempdir("sst");
    char *a = ckt_path(dir, "graft.tbl"), *b = ckt_path(dir, "leveldb.tbl");
    write_graft(&s, a, 262144);
    write_leveldb(&s, b);
    int ng = 0, nl = 0;
    read_check(&s, a, &ng);
    read_check(&s, b, &nl);
    assert_int_equal(ng, 3); /* [a] [b] [c] */
    assert_int_equal(nl, 2); /* [a b] [c] */
    ckt_rm_rf(dir);
    free(a);
    free(b);
    free(dir);
    kv_free(&s);
}

static void test_builder_rejects_order(void **state)
{
    (void)state;
    graftI_ck_tbuilder *b = graftI_ck_tbuilder_new(4096, 16);
    graft_status st;
    assert_int_equal(graftI_ck_tbuilder_add(b, (const uint8_t *)"b", 1, (const uint8_t *)"1", 1, &st), GRAFT_OK);
    assert_int_equal(graftI_ck_tbuilder_add(b, (const uint8_t *)"a", 1, (const uint8_t *)"1", 1, &st),
                     GRAFT_ERR_INVALID_ARG);
    assert_int_equal(graftI_ck_tbuilder_add(b, (const uint8_t *)"b", 1, (const uint8_t *)"1", 1, &st),
                     GRAFT_ERR_INVALID_ARG);
    graftI_ck_tbuilder_free(b);
}

static void test_varints(void **state)
{
    (void)state;
    uint8_t b[16];
    uint64_t v;
    uint32_t v32;
    const uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        size_t n = graftI_ck_enc_varint64(b, vals[i]);
        assert_int_equal(graftI_ck_varint64(b, n, &v), n);
        assert_true(v == vals[i]);
        assert_int_equal(graftI_ck_varint64(b, n - 1, &v), 0); /* truncated */
    }
    assert_int_equal(graftI_ck_enc_varint64(b, 300), 2);
    assert_int_equal(b[0], 0xac);
    assert_int_equal(b[1], 0x02);
    /* 11 continuation bytes, and a 10th byte carrying more than 64 bits */
    memset(b, 0x80, 11);
    b[11] = 0;
    assert_int_equal(graftI_ck_varint64(b, 12, &v), 0);
    memset(b, 0xff, 9);
    b[9] = 0x02;
    assert_int_equal(graftI_ck_varint64(b, 10, &v), 0);
    b[9] = 0x01;
    assert_int_equal(graftI_ck_varint64(b, 10, &v), 10);
    assert_true(v == UINT64_MAX);
    /* varint32: at most 5 bytes and 32 bits */
    memset(b, 0xff, 4);
    b[4] = 0x0f;
    assert_int_equal(graftI_ck_varint32(b, 5, &v32), 5);
    assert_int_equal(v32, UINT32_MAX);
    b[4] = 0x10;
    assert_int_equal(graftI_ck_varint32(b, 5, &v32), 0);
}

static void check_signed(int64_t v, const char *hex)
{
    graftI_ck_buf b = {0};
    graftI_ck_oc_signed(&b, v);
    char got[64] = "";
    for (size_t i = 0; i < b.n; i++) snprintf(got + 2 * i, 3, "%02x", b.p[i]);
    if (hex) assert_string_equal(got, hex);
    int64_t back;
    assert_int_equal(graftI_ck_oc_signed_decode(b.p, b.n, &back), b.n);
    assert_true(back == v);
    graftI_ck_buf_free(&b);
}

static void test_ordered_code(void **state)
{
    (void)state;
    /* hand-derived from the SignedNumIncreasing definition */
    check_signed(0, "80");
    check_signed(-1, "7f");
    check_signed(5, "85");
    check_signed(63, "bf");
    check_signed(-64, "40");
    check_signed(64, "c040");
    check_signed(100, "c064");
    check_signed(-100, "3f9c");
    check_signed(INT64_MAX, "ffc07fffffffffffffff");
    check_signed(INT64_MIN, "003f8000000000000000");
    for (int64_t v = -70000; v <= 70000; v += 13) check_signed(v, NULL);
    for (int s = 0; s < 63; s++) {
        check_signed((int64_t)1 << s, NULL);
        check_signed(-((int64_t)1 << s), NULL);
        check_signed(((int64_t)1 << s) - 1, NULL);
    }
    /* EncodeTensorNameSlice: scalar "a", and "w" rank 2 full x partial */
    graftI_ck_buf b = {0};
    assert_true(graftI_ck_slice_key(&b, (const uint8_t *)"a", 1, 0, NULL, NULL));
    assert_int_equal(b.n, 5);
    assert_memory_equal(b.p, "\x00\x61\x00\x01\x00", 5);
    b.n = 0;
    int64_t st[2] = {0, 5}, ln[2] = {-1, 100};
    assert_true(graftI_ck_slice_key(&b, (const uint8_t *)"w\x00\xff", 3, 2, st, ln));
    static const uint8_t want[] = {0x00, 'w', 0x00, 0xff, 0xff, 0x00, 0x00, 0x01, 0x01, 0x02,
                                   0x80, 0x7f, 0x85, 0xc0, 0x64};
    assert_int_equal(b.n, sizeof want);
    assert_memory_equal(b.p, want, sizeof want);
    char *name;
    size_t nl;
    int rank;
    int64_t s2[8], l2[8];
    assert_true(graftI_ck_slice_key_decode(b.p, b.n, &name, &nl, &rank, s2, l2, 8));
    assert_int_equal(nl, 3);
    assert_memory_equal(name, "w\x00\xff", 3);
    assert_int_equal(rank, 2);
    assert_true(s2[1] == 5 && l2[0] == -1 && l2[1] == 100);
    graftI_free(name);
    /* malformed: trailing byte, bad escape, truncated */
    graftI_ck_buf_put(&b, "\x80", 1);
    assert_false(graftI_ck_slice_key_decode(b.p, b.n, &name, &nl, &rank, s2, l2, 8));
    assert_false(graftI_ck_slice_key_decode(b.p, 4, &name, &nl, &rank, s2, l2, 8));
    assert_false(graftI_ck_slice_key_decode((const uint8_t *)"\x00w\x00\x02", 4, &name, &nl, &rank, s2, l2, 8));
    graftI_ck_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_as_leveldb), cmocka_unit_test(test_overly_large_entry),
        cmocka_unit_test(test_builder_rejects_order), cmocka_unit_test(test_varints),
        cmocka_unit_test(test_ordered_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
