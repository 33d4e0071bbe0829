/* lib/checkpoint/ordered_code.c - TensorFlow's OrderedCode as used for tensor-slice
 * table keys (EncodeTensorNameSlice in saved_tensor_slice_util.cc): NumIncreasing,
 * escaped String and SignedNumIncreasing, encode and decode. */
#include "checkpoint/ckpt_internal.h"

static void oc_num(graftI_ck_buf *out, uint64_t v)
{
    uint8_t b[9];
    int n = 0;
    while (v > 0) {
        n++;
        b[9 - n] = (uint8_t)v;
        v >>= 8;
    }
    b[9 - n - 1] = (uint8_t)n;
    graftI_ck_buf_put(out, b + 9 - n - 1, (size_t)n + 1);
}

static void oc_string(graftI_ck_buf *out, const uint8_t *s, size_t n)
{
    static const uint8_t esc0[2] = {0x00, 0xff}, escff[2] = {0xff, 0x00}, term[2] = {0x00, 0x01};
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == 0x00 || s[i] == 0xff) {
            graftI_ck_buf_put(out, s + run, i - run);
            graftI_ck_buf_put(out, s[i] ? escff : esc0, 2);
            run = i + 1;
        }
    }
    graftI_ck_buf_put(out, s + run, n - run);
    graftI_ck_buf_put(out, term, 2);
}

static int bitlen64(uint64_t x) { return x ? 64 - __builtin_clzll(x) : 0; }

void graftI_ck_oc_signed(graftI_ck_buf *out, int64_t v)
{
    uint64_t x = v < 0 ? ~(uint64_t)v : (uint64_t)v;
    int len = bitlen64(x) / 7 + 1;
    if (len > 10) len = 10;
    uint8_t buf[10];
    uint8_t sign = v < 0 ? 0xff : 0x00;
    buf[0] = buf[1] = sign;
    for (int i = 0; i < 8; i++) buf[2 + i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
    uint8_t *b = buf + 10 - len;
    /* header: `len` one-bits spread over the first two bytes */
    static const uint8_t h0[11] = {0, 0x80, 0xc0, 0xe0, 0xf0, 0xf8, 0xfc, 0xfe, 0xff, 0xff, 0xff};
    static const uint8_t h1[11] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0xc0};
    b[0] ^= h0[len];
    if (len > 1) b[1] ^= h1[len];
    graftI_ck_buf_put(out, b, (size_t)len);
}

size_t graftI_ck_oc_signed_decode(const uint8_t *p, size_t n, int64_t *v)
{
    if (n == 0) return 0;
    uint64_t xm = (p[0] & 0x80) ? 0 : ~(uint64_t)0;
    uint8_t first = p[0] ^ (uint8_t)xm;
    int len;
    uint64_t x;
    if (first != 0xff) {
        len = 7 - (bitlen64((uint64_t)(first ^ 0xff)) - 1);
        if (n < (size_t)len) return 0;
        x = xm;
        for (int i = 0; i < len; i++) x = (x << 8) | p[i];
    } else {
        len = 8;
        if (n < 2) return 0;
        uint8_t second = p[1] ^ (uint8_t)xm;
        if (second >= 0x80) {
            if (second < 0xc0) {
                len = 9;
            } else {
                if (n < 3) return 0;
                uint8_t third = p[2] ^ (uint8_t)xm;
                if (second == 0xc0 && third < 0x80) len = 10;
                else return 0;
            }
        }
        if (n < (size_t)len) return 0;
        x = 0;
        for (int i = len - 8; i < len; i++) x = (x << 8) | p[i];
    }
    static const uint64_t mask[11] = {0,
                                      0x80ull,
                                      0xc000ull,
                                      0xe00000ull,
                                      0xf0000000ull,
                                      0xf800000000ull,
                                      0xfc0000000000ull,
                                      0xfe000000000000ull,
                                      0xff00000000000000ull,
                                      0x8000000000000000ull,
                                      0};
    x ^= mask[len];
    int64_t r;
    memcpy(&r, &x, sizeof r);
    /* reject non-canonical encodings (TF DCHECKs the length) */
    uint64_t ax = r < 0 ? ~x : x;
    int want = bitlen64(ax) / 7 + 1;
    if (want > 10) want = 10;
    if (want != len) return 0;
    *v = r;
    return (size_t)len;
}

bool graftI_ck_slice_key(graftI_ck_buf *out, const uint8_t *name, size_t nlen, int rank, const int64_t *start,
                         const int64_t *len)
{
    oc_num(out, 0);
    oc_string(out, name, nlen);
    oc_num(out, (uint64_t)rank);
    for (int d = 0; d < rank; d++) {
        graftI_ck_oc_signed(out, start[d]);
        graftI_ck_oc_signed(out, len[d]);
    }
    return !out->oom;
}

static size_t oc_num_decode(const uint8_t *p, size_t n, uint64_t *v)
{
    if (n == 0 || p[0] > 8 || n < (size_t)p[0] + 1) return 0;
    uint64_t r = 0;
    for (int i = 0; i < p[0]; i++) r = (r << 8) | p[1 + i];
    if (p[0] > 0 && p[1] == 0) return 0; /* leading zero byte: not canonical */
    *v = r;
    return (size_t)p[0] + 1;
}

bool graftI_ck_slice_key_decode(const uint8_t *key, size_t klen, char **name, size_t *nlen, int *rank,
                                int64_t *start, int64_t *len, int max_rank)
{
    *name = NULL;
    uint64_t v;
    size_t p = oc_num_decode(key, klen, &v);
    if (!p || v != 0) return false;
    graftI_ck_buf nb = {0};
    bool done = false;
    while (p < klen) {
        uint8_t c = key[p];
        if (c == 0x00 || c == 0xff) {
            if (p + 1 >= klen) break;
            uint8_t d = key[p + 1];
            p += 2;
            if (c == 0x00 && d == 0x01) {
                done = true;
                break;
            }
            if (c == 0x00 && d == 0xff) graftI_ck_buf_put(&nb, "\0", 1);
            else if (c == 0xff && d == 0x00) graftI_ck_buf_put(&nb, "\xff", 1);
            else break;
        } else {
            graftI_ck_buf_put(&nb, &c, 1);
            p++;
        }
    }
    size_t k;
    if (!done || nb.oom || !(k = oc_num_decode(key + p, klen - p, &v)) || v > (uint64_t)max_rank) {
        graftI_ck_buf_free(&nb);
        return false;
    }
    p += k;
    int r = (int)v;
    for (int d = 0; d < r; d++) {
        if (!(k = graftI_ck_oc_signed_decode(key + p, klen - p, &start[d]))) goto bad;
        p += k;
        if (!(k = graftI_ck_oc_signed_decode(key + p, klen - p, &len[d]))) goto bad;
        p += k;
    }
    if (p != klen) goto bad;
    *nlen = nb.n;
    graftI_ck_buf_put(&nb, "", 1); /* NUL-terminate */
    if (nb.oom) goto bad;
    *name = (char *)nb.p;
    *rank = r;
    return true;
bad:
    graftI_ck_buf_free(&nb);
    return false;
}
