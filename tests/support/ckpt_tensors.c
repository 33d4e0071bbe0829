/* tests/support/ckpt_tensors.c - deterministic test tensors of every dtype and the
 * sha256 encodings used by the fixtures' golden.json files. */
#include "ckpt_tensors.h"

#include <stdlib.h>
#include <string.h>

#include "checkpoint/ckpt_internal.h"
#include "ckpt_support.h"

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

graft_tensor *ckt_make_tensor(graft_dtype dt, const int64_t *dims, int rank, unsigned seed)
{
    graft_tensor *t = graft_tensor_new(dt, dims, rank, NULL);
    if (!t) return NULL;
    int64_t n = graft_tensor_num_elements(t);
    void *d = graft_tensor_data(t);
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = mix((uint64_t)seed << 32 ^ (uint64_t)i);
        switch (dt) {
        case GRAFT_FLOAT: ((float *)d)[i] = (float)((double)(int64_t)(r % 20001) / 1000.0 - 10.0); break;
        case GRAFT_DOUBLE: ((double *)d)[i] = (double)(int64_t)(r % 2000001) / 1e5 - 10.0; break;
        case GRAFT_INT32: ((int32_t *)d)[i] = (int32_t)(uint32_t)r; break;
        case GRAFT_UINT8: ((uint8_t *)d)[i] = (uint8_t)r; break;
        case GRAFT_INT16: ((int16_t *)d)[i] = (int16_t)(uint16_t)r; break;
        case GRAFT_INT8: ((int8_t *)d)[i] = (int8_t)(uint8_t)r; break;
        case GRAFT_INT64: ((int64_t *)d)[i] = (int64_t)r; break;
        case GRAFT_BOOL: ((uint8_t *)d)[i] = (uint8_t)(r & 1); break;
        case GRAFT_BFLOAT16: case GRAFT_UINT16: ((uint16_t *)d)[i] = (uint16_t)r; break;
        case GRAFT_HALF: ((uint16_t *)d)[i] = (uint16_t)(r & 0x7bff); break; /* finite halves */
        case GRAFT_UINT32: ((uint32_t *)d)[i] = (uint32_t)r; break;
        case GRAFT_UINT64: ((uint64_t *)d)[i] = r; break;
        case GRAFT_STRING: {
            size_t len = (size_t)(r % 7 == 0 ? 0 : r % 301);
            char *s = malloc(len + 1);
            for (size_t k = 0; k < len; k++) s[k] = (char)(mix(r + k) & 0xff);
            if (len > 2) {
                s[0] = 0;
                s[1] = (char)0xff;
            }
            graft_tensor_set_string(t, i, s, len, NULL);
            free(s);
            break;
        }
        default: break;
        }
    }
    return t;
}

void ckt_tensor_sha256_v2(const graft_tensor *t, char hex[65])
{
    if (graft_tensor_dtype(t) != GRAFT_STRING) {
        ckt_sha256_hex(graft_tensor_cdata(t), graft_tensor_nbytes(t), hex);
        return;
    }
    /* TF layout: varint64 lengths, masked crc32c of the lengths, the bytes */
    ckt_sha256 c;
    ckt_sha256_init(&c);
    const graft_str *s = graft_tensor_cdata(t);
    int64_t n = graft_tensor_num_elements(t);
    uint32_t crc = 0;
    for (int64_t i = 0; i < n; i++) {
        uint8_t b[10];
        uint64_t v = s[i].len;
        size_t k = 0;
        while (v >= 0x80) b[k++] = (uint8_t)(v | 0x80), v >>= 7;
        b[k++] = (uint8_t)v;
        ckt_sha256_update(&c, b, k);
        uint8_t l4[4] = {(uint8_t)s[i].len, (uint8_t)(s[i].len >> 8), (uint8_t)(s[i].len >> 16),
                         (uint8_t)(s[i].len >> 24)};
        crc = graftI_crc32c_extend_sw(crc, l4, 4);
    }
    uint32_t m = graftI_crc32c_mask(crc);
    uint8_t mb[4] = {(uint8_t)m, (uint8_t)(m >> 8), (uint8_t)(m >> 16), (uint8_t)(m >> 24)};
    ckt_sha256_update(&c, mb, 4);
    for (int64_t i = 0; i < n; i++) ckt_sha256_update(&c, s[i].ptr, s[i].len);
    ckt_sha256_final(&c, hex);
}

void ckt_tensor_sha256_v1(const graft_tensor *t, char hex[65])
{
    if (graft_tensor_dtype(t) != GRAFT_STRING) {
        ckt_sha256_hex(graft_tensor_cdata(t), graft_tensor_nbytes(t), hex);
        return;
    }
    ckt_sha256 c;
    ckt_sha256_init(&c);
    const graft_str *s = graft_tensor_cdata(t);
    for (int64_t i = 0; i < graft_tensor_num_elements(t); i++) {
        uint8_t l8[8];
        for (int k = 0; k < 8; k++) l8[k] = (uint8_t)((uint64_t)s[i].len >> (8 * k));
        ckt_sha256_update(&c, l8, 8);
        ckt_sha256_update(&c, s[i].ptr, s[i].len);
    }
    ckt_sha256_final(&c, hex);
}
