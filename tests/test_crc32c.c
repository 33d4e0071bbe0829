/* tests/test_crc32c.c - CRC-32C against published check values (RFC 3720 iSCSI
 * vectors, the "123456789" check value), the hardware and table paths against
 * each other at every length and alignment, TF's mask, and the masked crc32c
 * TensorFlow stored for a real fixture tensor. */
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

typedef uint32_t (*crc_fn)(uint32_t, const void *, size_t);

static void check_vectors(crc_fn f)
{
    uint8_t buf[48];
    assert_int_equal(f(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(f(0, "", 0), 0u);
    /* RFC 3720 B.4 */
    memset(buf, 0, 32);
    assert_int_equal(f(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xff, 32);
    assert_int_equal(f(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++) buf[i] = (uint8_t)i;
    assert_int_equal(f(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++) buf[i] = (uint8_t)(31 - i);
    assert_int_equal(f(0, buf, 32), 0x113FDB5Cu);
    /* an iSCSI read command PDU (LevelDB's crc32c test) */
    static const uint8_t pdu[48] = {0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
                                    0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(f(0, pdu, 48), 0xD9963A56u);
    /* extension: crc(a || b) == extend(crc(a), b) */
    assert_int_equal(f(f(0, "hello ", 6), "world", 5), f(0, "hello world", 11));
}

static void test_software_vectors(void **state)
{
    (void)state;
    check_vectors(graftI_crc32c_extend_sw);
}

static void test_hardware_vectors(void **state)
{
    (void)state;
    if (!graftI_crc32c_hw_available()) {
        print_message("SSE4.2 not available: the dispatching function uses the table path\n");
        check_vectors(graftI_crc32c_extend);
        return;
    }
    check_vectors(graftI_crc32c_extend_hw);
    check_vectors(graftI_crc32c_extend);
}

static void test_paths_agree(void **state)
{
    (void)state;
    enum { N = 1100 };
    uint8_t *buf = malloc(N + 16);
    assert_non_null(buf);
    uint32_t x = 12345;
    for (int i = 0; i < N + 16; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (int off = 0; off < 9; off++)
        for (int len = 0; len <= N; len += (len < 80 ? 1 : 37)) {
            uint32_t sw = graftI_crc32c_extend_sw(0x1234567u, buf + off, (size_t)len);
            uint32_t hw = graftI_crc32c_extend_hw(0x1234567u, buf + off, (size_t)len);
            assert_int_equal(sw, hw);
            /* a single flipped bit always changes the crc */
            if (len > 0) {
                buf[off + len / 2] ^= 0x10;
                assert_int_not_equal(graftI_crc32c_extend(0x1234567u, buf + off, (size_t)len), sw);
                buf[off + len / 2] ^= 0x10;
            }
        }
    free(buf);
}

static void test_mask(void **state)
{
    (void)state;
    uint32_t c = graftI_crc32c("foo", 3);
    assert_int_not_equal(graftI_crc32c_mask(c), c);
    assert_int_not_equal(graftI_crc32c_mask(graftI_crc32c_mask(c)), c);
    assert_int_equal(graftI_crc32c_unmask(graftI_crc32c_mask(c)), c);
    assert_int_equal(graftI_crc32c_unmask(graftI_crc32c_unmask(graftI_crc32c_mask(graftI_crc32c_mask(c)))), c);
    /* hand-derived: mask(0) = rotr(0,15) + 0xa282ead8 */
    assert_int_equal(graftI_crc32c_mask(0), 0xa282ead8u);
    assert_int_equal(graftI_crc32c_mask(0x00008000u), 1u + 0xa282ead8u);
}

/* The masked crc32c TensorFlow stored for tensor "Bias1" (8 bytes at offset 0 of
 * mlp_tiny_tf113's data file) is 1447952193 per the fixture's golden.json. */
static void test_tensorflow_fixture_crc(void **state)
{
    (void)state;
    char *gp = ckt_path(GRAFT_FIXTURES_DIR, "tf1/mlp_tiny_tf113/golden.json");
    char *dp = ckt_path(GRAFT_FIXTURES_DIR, "tf1/mlp_tiny_tf113/model.ckpt.data-00000-of-00001");
    ckt_json *g = ckt_json_load(gp);
    assert_non_null(g);
    size_t n;
    uint8_t *d = ckt_read_file(dp, &n);
    assert_non_null(d);
    const ckt_json *es = ckt_json_get(ckt_json_at(ckt_json_get(g, "bundles"), 0), "entries");
    assert_non_null(es);
    assert_true(es->n >= 4);
    for (int i = 0; i < es->n; i++) {
        const ckt_json *e = ckt_json_at(es, i);
        size_t off = (size_t)ckt_json_num(e, "offset", -1), size = (size_t)ckt_json_num(e, "size", -1);
        uint32_t want = (uint32_t)ckt_json_num(e, "crc32c_masked", 0);
        assert_true(off + size <= n);
        assert_int_equal(graftI_crc32c_mask(graftI_crc32c_extend_sw(0, d + off, size)), want);
        assert_int_equal(graftI_crc32c_mask(graftI_crc32c(d + off, size)), want);
    }
    free(d);
    ckt_json_free(g);
    free(gp);
    free(dp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_software_vectors), cmocka_unit_test(test_hardware_vectors),
        cmocka_unit_test(test_paths_agree),      cmocka_unit_test(test_mask),
        cmocka_unit_test(test_tensorflow_fixture_crc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
