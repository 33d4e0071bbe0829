/* lib/checkpoint/crc32c.c - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) as
 * TensorFlow and LevelDB use it: the SSE4.2 crc32 instruction when the CPU has it,
 * otherwise a slicing-by-8 table. Also the small coding helpers of the module. */
#include <pthread.h>

#include <protobuf-c/protobuf-c.h>

#include "checkpoint/ckpt_internal.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define GRAFT_CRC_X86 1
#include <nmmintrin.h>
#endif

static uint32_t g_tab[8][256];
static pthread_once_t g_tab_once = PTHREAD_ONCE_INIT;

static void tab_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (c & 1 ? 0x82F63B78u : 0);
        g_tab[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) g_tab[t][i] = (g_tab[t - 1][i] >> 8) ^ g_tab[0][g_tab[t - 1][i] & 0xff];
}

uint32_t graftI_crc32c_extend_sw(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&g_tab_once, tab_init);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = g_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
        n--;
    }
    while (n >= 8) {
        uint32_t lo = c ^ graftI_ck_le32(p), hi = graftI_ck_le32(p + 4);
        c = g_tab[7][lo & 0xff] ^ g_tab[6][(lo >> 8) & 0xff] ^ g_tab[5][(lo >> 16) & 0xff] ^ g_tab[4][lo >> 24] ^
            g_tab[3][hi & 0xff] ^ g_tab[2][(hi >> 8) & 0xff] ^ g_tab[1][(hi >> 16) & 0xff] ^ g_tab[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--) c = g_tab[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

#ifdef GRAFT_CRC_X86
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t c = (uint32_t)~crc;
    while (n && ((uintptr_t)p & 7)) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        n--;
    }
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        n -= 8;
    }
    while (n--) c = _mm_crc32_u8((uint32_t)c, *p++);
    return ~(uint32_t)c;
}
#endif

bool graftI_crc32c_hw_available(void)
{
#ifdef GRAFT_CRC_X86
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    return cached == 1;
#else
    return false;
#endif
}

uint32_t graftI_crc32c_extend_hw(uint32_t crc, const void *data, size_t n)
{
#ifdef GRAFT_CRC_X86
    if (graftI_crc32c_hw_available()) return crc_hw(crc, data, n);
#endif
    return graftI_crc32c_extend_sw(crc, data, n);
}

uint32_t graftI_crc32c_extend(uint32_t crc, const void *data, size_t n)
{
#ifdef GRAFT_CRC_X86
    if (graftI_crc32c_hw_available()) return crc_hw(crc, data, n);
#endif
    return graftI_crc32c_extend_sw(crc, data, n);
}

/* ---- varints ------------------------------------------------------------------------ */
size_t graftI_ck_varint64(const uint8_t *p, size_t n, uint64_t *v)
{
    uint64_t r = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        uint64_t b = p[i];
        if (i == 9 && b > 1) return 0; /* more than 64 bits */
        r |= (b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

size_t graftI_ck_varint32(const uint8_t *p, size_t n, uint32_t *v)
{
    uint32_t r = 0;
    for (size_t i = 0; i < n && i < 5; i++) {
        uint32_t b = p[i];
        if (i == 4 && b > 0x0f) return 0;
        r |= (b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

size_t graftI_ck_enc_varint64(uint8_t *out, uint64_t v)
{
    size_t i = 0;
    while (v >= 0x80) {
        out[i++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[i++] = (uint8_t)v;
    return i;
}

/* ---- byte buffers ----------------------------------------------------------------------- */
bool graftI_ck_buf_put(graftI_ck_buf *b, const void *data, size_t n)
{
    if (b->oom) return false;
    size_t need;
    if (!graftI_add_size(b->n, n, &need)) {
        b->oom = true;
        return false;
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) {
            if (cap > SIZE_MAX / 2) {
                cap = need;
                break;
            }
            cap *= 2;
        }
        uint8_t *p = graftI_realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return false;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, data, n);
    b->n = need;
    return true;
}

bool graftI_ck_buf_varint(graftI_ck_buf *b, uint64_t v)
{
    uint8_t tmp[10];
    return graftI_ck_buf_put(b, tmp, graftI_ck_enc_varint64(tmp, v));
}

bool graftI_ck_buf_le32(graftI_ck_buf *b, uint32_t v)
{
    uint8_t tmp[4];
    graftI_ck_put_le32(tmp, v);
    return graftI_ck_buf_put(b, tmp, 4);
}

void graftI_ck_buf_free(graftI_ck_buf *b)
{
    graftI_free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
    b->oom = false;
}

/* ---- protobuf-c allocator ------------------------------------------------------------------ */
static void *pb_alloc(void *ud, size_t n)
{
    graftI_ck_pballoc *p = ud;
    void *r = graftI_malloc(n ? n : 1);
    if (!r) p->failed = true;
    return r;
}
static void pb_free(void *ud, void *ptr)
{
    (void)ud;
    graftI_free(ptr);
}

ProtobufCAllocator *graftI_ck_pballoc_init(graftI_ck_pballoc *p)
{
    p->a.alloc = pb_alloc;
    p->a.free = pb_free;
    p->a.allocator_data = p;
    p->failed = false;
    return &p->a;
}

/* ---- dtype sizes (TF DataType numbers, including types graft only lists) ---------------------- */
size_t graftI_ck_dtype_size(int dtype)
{
    switch (dtype) {
    case 1: return 4;  /* float */
    case 2: return 8;  /* double */
    case 3: return 4;  /* int32 */
    case 4: return 1;  /* uint8 */
    case 5: return 2;  /* int16 */
    case 6: return 1;  /* int8 */
    case 8: return 8;  /* complex64 */
    case 9: return 8;  /* int64 */
    case 10: return 1; /* bool */
    case 11: return 1; /* qint8 */
    case 12: return 1; /* quint8 */
    case 13: return 4; /* qint32 */
    case 14: return 2; /* bfloat16 */
    case 15: return 2; /* qint16 */
    case 16: return 2; /* quint16 */
    case 17: return 2; /* uint16 */
    case 18: return 16; /* complex128 */
    case 19: return 2; /* half */
    case 22: return 4; /* uint32 */
    case 23: return 8; /* uint64 */
    default: return 0;
    }
}

bool graftI_ck_encode_strings(graftI_ck_buf *out, const graft_str *s, int64_t n, uint32_t *crc)
{
    uint32_t c = 0;
    for (int64_t i = 0; i < n; i++) {
        uint64_t len = s[i].len;
        graftI_ck_buf_varint(out, len);
        uint8_t fx[8];
        if (len > UINT32_MAX) {
            for (int k = 0; k < 8; k++) fx[k] = (uint8_t)(len >> (8 * k));
            c = graftI_crc32c_extend(c, fx, 8);
        } else {
            graftI_ck_put_le32(fx, (uint32_t)len);
            c = graftI_crc32c_extend(c, fx, 4);
        }
    }
    uint8_t ck[4];
    graftI_ck_put_le32(ck, graftI_crc32c_mask(c));
    graftI_ck_buf_put(out, ck, 4);
    c = graftI_crc32c_extend(c, ck, 4);
    for (int64_t i = 0; i < n; i++) {
        if (s[i].len) {
            graftI_ck_buf_put(out, s[i].ptr, s[i].len);
            c = graftI_crc32c_extend(c, s[i].ptr, s[i].len);
        }
    }
    *crc = c;
    return !out->oom;
}
