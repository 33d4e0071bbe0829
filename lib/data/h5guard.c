/* lib/data/h5guard.c - a bounded pre-check of a dataset's layout message, read
 * straight from the in-memory file image before libhdf5 opens the dataset:
 * libhdf5 1.10.8 divides by zero inside H5Dopen2 when a chunked layout has
 * dimensionality 0 or a zero chunk dim (a one-bit change to a valid file). */
#include <stdio.h>

#include "data_internal.h"

#define MAX_BLOCKS   64 /* object header continuation blocks followed */
#define MAX_MESSAGES 4096

typedef struct img {
    const uint8_t *p;
    size_t len;
    int so, sl; /* size of offsets, size of lengths (superblock) */
} img;

/* Little-endian unsigned of n (1..8) bytes at off; false when out of range. */
static bool rd(const img *m, uint64_t off, int n, uint64_t *v)
{
    if (n < 1 || n > 8 || off > m->len || (uint64_t)n > m->len - off) return false;
    uint64_t x = 0;
    for (int i = n - 1; i >= 0; i--) x = x << 8 | m->p[off + (uint64_t)i];
    *v = x;
    return true;
}

/* Checks one layout message body (HDF5 spec, "Data Layout Message" v1-v4). */
static bool check_layout(const img *m, uint64_t off, uint64_t size, char *why, size_t wl)
{
    uint64_t ver, cls, d, v;
    if (size < 2 || !rd(m, off, 1, &ver)) return snprintf(why, wl, "layout message too short"), false;
    if (ver == 1 || ver == 2) {
        /* version, dimensionality, class, 5 reserved, [address], dims (4 bytes each) */
        if (!rd(m, off + 1, 1, &d) || !rd(m, off + 2, 1, &cls))
            return snprintf(why, wl, "layout truncated"), false;
        if (d < 1 || d > 33)
            return snprintf(why, wl, "layout dimensionality %llu (1..33)", (unsigned long long)d), false;
        uint64_t q = 8 + (cls != 0 ? (uint64_t)m->so : 0);
        if (q + 4 * d > size) return snprintf(why, wl, "layout dims past the message"), false;
        for (uint64_t i = 0; cls == 2 && i < d; i++)
            if (!rd(m, off + q + 4 * i, 4, &v) || v == 0)
                return snprintf(why, wl, "chunk dim %llu is 0", (unsigned long long)i), false;
        return true;
    }
    if (ver == 3 || ver == 4) {
        if (!rd(m, off + 1, 1, &cls)) return snprintf(why, wl, "layout truncated"), false;
        if (cls != 2) return true; /* compact, contiguous: no chunk dims; virtual is refused later */
        uint64_t q, enc = 4;
        if (ver == 3) {
            if (!rd(m, off + 2, 1, &d)) return snprintf(why, wl, "layout truncated"), false;
            q = 3 + (uint64_t)m->so;
        } else {
            if (!rd(m, off + 3, 1, &d) || !rd(m, off + 4, 1, &enc))
                return snprintf(why, wl, "layout truncated"), false;
            if (enc < 1 || enc > 8)
                return snprintf(why, wl, "chunk dim width %llu (1..8)", (unsigned long long)enc), false;
            q = 5;
        }
        if (d < 2 || d > 33)
            return snprintf(why, wl, "chunk dimensionality %llu (2..33)", (unsigned long long)d), false;
        if (q + enc * d > size) return snprintf(why, wl, "chunk dims past the message"), false;
        for (uint64_t i = 0; i < d; i++)
            if (!rd(m, off + q + enc * i, (int)enc, &v) || v == 0)
                return snprintf(why, wl, "chunk dim %llu is 0", (unsigned long long)i), false;
        return true;
    }
    return snprintf(why, wl, "layout message version %llu (1..4)", (unsigned long long)ver), false;
}

graft_code graftI_h5_precheck(const void *data, size_t len, uint64_t addr, const char *name, const char *key,
                              graft_status *st)
{
    img m = {data, len, 0, 0};
    char why[160] = "";
    /* superblock: signature at 0, 512, 1024, ... */
    static const uint8_t sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    uint64_t sb = 0;
    while (sb + 8 <= len && memcmp(m.p + sb, sig, 8) != 0) sb = sb ? sb * 2 : 512;
    uint64_t sbv = 0, so = 0, sl = 0, base = 0;
    if (sb + 8 > len || !rd(&m, sb + 8, 1, &sbv))
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: no superblock", name);
    uint64_t so_at = sbv <= 1 ? sb + 13 : sb + 9, base_at = sbv == 0 ? sb + 24 : sbv == 1 ? sb + 28 : sb + 12;
    if (sbv > 3 || !rd(&m, so_at, 1, &so) || !rd(&m, so_at + 1, 1, &sl) || (so != 4 && so != 8) ||
        (sl != 4 && sl != 8) || !rd(&m, base_at, (int)so, &base))
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: superblock version %llu with offset size %llu and length size %llu "
                                "(versions 0..3, sizes 4 or 8 expected)",
                                name, (unsigned long long)sbv, (unsigned long long)so,
                                (unsigned long long)sl);
    m.so = (int)so;
    m.sl = (int)sl;

    /* The object header: v1 (version byte 1) or v2 ("OHDR"); blocks queued
     * iteratively (continuation messages), each bounded by the image. */
    uint64_t blk_off[MAX_BLOCKS], blk_len[MAX_BLOCKS];
    int nblk = 0, ver;
    uint64_t oh = base + addr, v;
    if (oh < base || oh >= len)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: object header outside the file", name, key);
    uint64_t hdr_flags = 0;
    if (oh + 4 <= len && memcmp(m.p + oh, "OHDR", 4) == 0) {
        ver = 2;
        uint64_t q = oh + 6, csize;
        if (!rd(&m, oh + 4, 1, &v) || v != 2 || !rd(&m, oh + 5, 1, &hdr_flags)) goto corrupt;
        if (hdr_flags & 0x20) q += 16;
        if (hdr_flags & 0x10) q += 4;
        int w = 1 << (hdr_flags & 3);
        if (!rd(&m, q, w, &csize)) goto corrupt;
        blk_off[0] = q + (uint64_t)w;
        blk_len[0] = csize;
    } else {
        ver = 1;
        uint64_t hsize;
        if (!rd(&m, oh, 1, &v) || v != 1 || !rd(&m, oh + 8, 4, &hsize)) goto corrupt;
        blk_off[0] = oh + 16;
        blk_len[0] = hsize;
    }
    nblk = 1;
    int seen = 0;
    for (int b = 0; b < nblk; b++) {
        uint64_t p = blk_off[b], end;
        if (p > len || blk_len[b] > len - p) goto corrupt;
        end = p + blk_len[b];
        if (ver == 2 && b > 0) {
            if (blk_len[b] < 8 || memcmp(m.p + p, "OCHK", 4) != 0) goto corrupt;
            p += 4;
        }
        if (ver == 2 && b > 0) end -= 4; /* continuation blocks end with a checksum */
        uint64_t mh = ver == 1 ? 8 : 4 + ((hdr_flags & 0x04) ? 2 : 0);
        while (p + mh <= end) {
            uint64_t type, size;
            if (++seen > MAX_MESSAGES) {
                snprintf(why, sizeof why, "more than %d header messages", MAX_MESSAGES);
                goto bad;
            }
            if (ver == 1) {
                if (!rd(&m, p, 2, &type) || !rd(&m, p + 2, 2, &size)) goto corrupt;
            } else {
                if (!rd(&m, p, 1, &type) || !rd(&m, p + 1, 2, &size)) goto corrupt;
            }
            uint64_t body = p + mh;
            if (size > end - body) goto corrupt;
            if (type == 0x08 && !check_layout(&m, body, size, why, sizeof why)) goto bad;
            if (type == 0x10) { /* continuation: offset, length */
                uint64_t co, cl;
                if (size < so + sl || !rd(&m, body, (int)so, &co) || !rd(&m, body + so, (int)sl, &cl))
                    goto corrupt;
                if (nblk == MAX_BLOCKS) {
                    snprintf(why, sizeof why, "more than %d header continuation blocks", MAX_BLOCKS);
                    goto bad;
                }
                if (base + co < base) goto corrupt;
                blk_off[nblk] = base + co;
                blk_len[nblk] = cl;
                nblk++;
            }
            p = body + size;
        }
    }
    return GRAFT_OK;
corrupt:
    snprintf(why, sizeof why, "malformed object header");
bad:
    return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: %s (checked before libhdf5 opens it)", name, key,
                            why);
}
