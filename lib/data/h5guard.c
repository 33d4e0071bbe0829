/* lib/data/h5guard.c - a bounded pre-check of an object header, read straight from the
 * in-memory file image before libhdf5 decodes it: libhdf5 1.10.8 divides by zero inside
 * H5Dopen2 when a chunked layout has dimensionality 0 or a zero chunk dim (a one-bit
 * change to a valid file), and copies an attribute's data past its message when the
 * attribute's dataspace and datatype claim more than the message holds (a heap
 * over-read the h5 fuzz target found). */
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

static uint64_t pad8(uint64_t x) { return (x + 7) & ~(uint64_t)7; }

/* A symbol table message (old-style group): its local heap ("HEAP", version 0) with a
 * non-empty data segment inside the file and a free list inside the segment (libhdf5
 * 1.10 dereferences NULL on some broken local heaps, found by the h5 fuzz target). */
static bool check_symbol_table(const img *m, uint64_t base, uint64_t off, uint64_t size, char *why, size_t wl)
{
    uint64_t btree, heap, v, dsize, freel, daddr;
    if (size < 2 * (uint64_t)m->so || !rd(m, off, m->so, &btree) || !rd(m, off + m->so, m->so, &heap))
        return snprintf(why, wl, "symbol table message truncated"), false;
    uint64_t h = base + heap, hl = 8 + 2 * (uint64_t)m->sl + (uint64_t)m->so;
    if (h < base || h > m->len || m->len - h < hl || memcmp(m->p + h, "HEAP", 4) != 0 || !rd(m, h + 4, 1, &v) ||
        v != 0 || !rd(m, h + 8, m->sl, &dsize) || !rd(m, h + 8 + m->sl, m->sl, &freel) ||
        !rd(m, h + 8 + 2 * (uint64_t)m->sl, m->so, &daddr))
        return snprintf(why, wl, "local heap at %llu malformed", (unsigned long long)heap), false;
    uint64_t undef = m->sl == 8 ? UINT64_MAX : 0xffffffffu, d = base + daddr;
    if (dsize == 0 || d < base || d > m->len || dsize > m->len - d || (freel != 1 && freel != undef && freel >= dsize))
        return snprintf(why, wl, "local heap at %llu: data segment of %llu bytes at %llu (free list at %llu)",
                        (unsigned long long)heap, (unsigned long long)dsize, (unsigned long long)daddr,
                        (unsigned long long)freel),
               false;
    return true;
}

/* Objects of one global heap collection ("GCOL"), by their 16-bit index. */
typedef struct gcol {
    uint64_t addr;          /* the collection parsed (0: none) */
    uint64_t *off, *size;   /* 65536 entries each; size UINT64_MAX: no such object */
} gcol;

static bool parse_gcol(const img *m, uint64_t base, uint64_t addr, gcol *g, char *why, size_t wl)
{
    if (!g->off) {
        g->off = graftI_malloc(65536 * sizeof *g->off);
        g->size = graftI_malloc(65536 * sizeof *g->size);
        if (!g->off || !g->size) return snprintf(why, wl, "out of memory checking a global heap"), false;
    }
    for (int i = 0; i < 65536; i++) g->size[i] = UINT64_MAX;
    g->addr = 0;
    uint64_t at = base + addr, v, csize;
    if (at < base || at > m->len || m->len - at < 8 + (uint64_t)m->sl || memcmp(m->p + at, "GCOL", 4) != 0 ||
        !rd(m, at + 4, 1, &v) || v != 1 || !rd(m, at + 8, m->sl, &csize) || csize > m->len - at ||
        csize < 8 + (uint64_t)m->sl)
        return snprintf(why, wl, "global heap collection at %llu malformed", (unsigned long long)addr), false;
    uint64_t p = at + 8 + (uint64_t)m->sl, end = at + csize, hdr = 8 + (uint64_t)m->sl;
    /* walked as libhdf5 walks it: a free-space object (index 0) counts its own header,
     * others are header + data padded to 8; a tail too small for a header is free */
    while (p + hdr <= end) {
        uint64_t idx, osize;
        if (!rd(m, p, 2, &idx) || !rd(m, p + 8, m->sl, &osize)) break;
        uint64_t need = idx == 0 ? osize : osize > end - p - hdr ? UINT64_MAX : hdr + pad8(osize);
        if (need < hdr || need > end - p) /* libhdf5 1.10 loops forever on free space of size 0 */
            return snprintf(why, wl, "global heap object %llu of %llu bytes does not fit its collection",
                            (unsigned long long)idx, (unsigned long long)osize),
                   false;
        if (idx) {
            g->off[idx] = p + hdr;
            g->size[idx] = osize;
        }
        p += need;
    }
    g->addr = addr ? addr : 1;
    return true;
}

/* Variable-length attribute data: each element (length, collection address, object
 * index) names an object of a well-formed collection holding at least length x base
 * bytes: libhdf5 1.10 copies that much without checking. */
static bool check_vlen_data(const img *m, uint64_t base, uint64_t at, uint64_t count, uint64_t unit, gcol *g,
                            char *why, size_t wl)
{
    uint64_t step = 4 + (uint64_t)m->so + 4;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t n, caddr, idx, q = at + i * step;
        if (!rd(m, q, 4, &n) || !rd(m, q + 4, m->so, &caddr) || !rd(m, q + 4 + m->so, 4, &idx)) return false;
        if (n == 0 && caddr == 0) continue; /* an empty or NULL element */
        if (g->addr != (caddr ? caddr : 1) && !parse_gcol(m, base, caddr, g, why, wl)) return false;
        if (idx > 65535 || g->size[idx] == UINT64_MAX || (unit && n > g->size[idx] / unit))
            return snprintf(why, wl, "attribute element %llu: %llu x %llu bytes not in global heap object %llu",
                            (unsigned long long)i, (unsigned long long)n, (unsigned long long)unit,
                            (unsigned long long)idx),
                   false;
    }
    return true;
}

/* Checks one attribute message body (HDF5 spec, "Attribute Message" v1-v3): name,
 * datatype and dataspace inside the message, and the data the dataspace and datatype
 * describe inside what is left. Shared datatypes and dataspaces are not followed. */
static bool check_attribute(const img *m, uint64_t base, uint64_t off, uint64_t size, gcol *g, char *why, size_t wl)
{
    uint64_t ver, flags, nsz, tsz, ssz;
    if (size < 8 || !rd(m, off, 1, &ver) || !rd(m, off + 1, 1, &flags) || !rd(m, off + 2, 2, &nsz) ||
        !rd(m, off + 4, 2, &tsz) || !rd(m, off + 6, 2, &ssz))
        return snprintf(why, wl, "attribute message truncated"), false;
    uint64_t tpos, spos, dpos;
    if (ver == 1) {
        tpos = 8 + pad8(nsz);
        spos = tpos + pad8(tsz);
        dpos = spos + pad8(ssz);
    } else if (ver == 2 || ver == 3) {
        tpos = (ver == 3 ? 9 : 8) + nsz;
        spos = tpos + tsz;
        dpos = spos + ssz;
    } else {
        return snprintf(why, wl, "attribute message version %llu (1..3)", (unsigned long long)ver), false;
    }
    if (dpos > size)
        return snprintf(why, wl, "attribute name, type and space of %llu bytes in a %llu-byte message",
                        (unsigned long long)dpos, (unsigned long long)size),
               false;
    /* A shared (committed) datatype or dataspace hides the element size, and with it
     * the check of the data below: refused (Keras and h5py do not write them; a fuzzed
     * one made libhdf5 allocate 21 GB converting a string). */
    if (ver > 1 && (flags & 3))
        return snprintf(why, wl, "attribute with a shared datatype or dataspace (not supported)"), false;
    uint64_t cv, tsize, sv, nd, dflags, type = 1;
    if (tsz < 8 || ssz < 4 || !rd(m, off + tpos, 1, &cv) || !rd(m, off + tpos + 4, 4, &tsize) ||
        !rd(m, off + spos, 1, &sv) || !rd(m, off + spos + 1, 1, &nd) || !rd(m, off + spos + 2, 1, &dflags))
        return snprintf(why, wl, "attribute datatype or dataspace truncated"), false;
    uint64_t elem = (cv & 0x0f) == 9 ? 4 + (uint64_t)m->so + 4 : tsize; /* variable-length: global heap ids */
    uint64_t dims_at = sv == 1 ? 8 : 4;
    if (sv == 2 && !rd(m, off + spos + 3, 1, &type)) return snprintf(why, wl, "attribute dataspace truncated"), false;
    if (sv < 1 || sv > 2 || nd > 32 || dims_at + nd * (uint64_t)m->sl > ssz)
        return snprintf(why, wl, "attribute dataspace (version %llu, rank %llu) malformed", (unsigned long long)sv,
                        (unsigned long long)nd),
               false;
    uint64_t count = type == 2 ? 0 : 1; /* version 2 type 2: null dataspace */
    for (uint64_t i = 0; i < nd && count; i++) {
        uint64_t d;
        if (!rd(m, off + spos + dims_at + i * (uint64_t)m->sl, m->sl, &d)) return false;
        if (d && count > UINT64_MAX / d) return snprintf(why, wl, "attribute dataspace overflows"), false;
        count *= d;
    }
    if (count && elem > (size - dpos) / count)
        return snprintf(why, wl, "attribute data of %llu x %llu bytes in %llu bytes left in the message",
                        (unsigned long long)count, (unsigned long long)elem, (unsigned long long)(size - dpos)),
               false;
    if ((cv & 0x0f) == 9) { /* variable-length: a base type follows (strings too: libhdf5 sizes
                               * its conversion buffers by it) */
        uint64_t unit = 1;
        if (tsz < 16 || !rd(m, off + tpos + 8 + 4, 4, &unit))
            return snprintf(why, wl, "attribute variable-length base type truncated"), false;
        return check_vlen_data(m, base, off + dpos, count, unit ? unit : 1, g, why, wl);
    }
    return true;
}

graft_code graftI_h5_precheck(const void *data, size_t len, uint64_t addr, const char *name, const char *key,
                              graft_status *st)
{
    img m = {data, len, 0, 0};
    char why[160] = "";
    gcol heap = {0, NULL, NULL}; /* global heap of variable-length attributes, parsed on demand */
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
            if (type == 0x0C && !check_attribute(&m, base, body, size, &heap, why, sizeof why)) goto bad;
            if (type == 0x11 && !check_symbol_table(&m, base, body, size, why, sizeof why)) goto bad;
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
    graftI_free(heap.off);
    graftI_free(heap.size);
    return GRAFT_OK;
corrupt:
    snprintf(why, sizeof why, "malformed object header");
bad:
    graftI_free(heap.off);
    graftI_free(heap.size);
    return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: %s (checked before libhdf5 opens it)", name, key,
                            why);
}

graft_code graftI_h5_precheck_root(const void *data, size_t len, const char *name, graft_status *st)
{
    img m = {data, len, 0, 0};
    static const uint8_t sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    uint64_t sb = 0, sbv = 0, so = 0, root = 0;
    while (sb + 8 <= len && memcmp(m.p + sb, sig, 8) != 0) sb = sb ? sb * 2 : 512;
    if (sb + 8 > len || !rd(&m, sb + 8, 1, &sbv) || sbv > 3)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: no superblock of versions 0..3", name);
    if (!rd(&m, sbv <= 1 ? sb + 13 : sb + 9, 1, &so) || (so != 4 && so != 8))
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: superblock offset size %llu (4 or 8)", name,
                                (unsigned long long)so);
    /* v0/1: base, free space, end of file, driver info, then the root symbol table entry
     * (link name offset, object header address); v2/3: base, extension, end of file, root */
    uint64_t at = sbv == 0 ? sb + 24 + 5 * so : sbv == 1 ? sb + 28 + 5 * so : sb + 12 + 3 * so;
    if (!rd(&m, at, (int)so, &root))
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: superblock truncated (root group address)", name);
    return graftI_h5_precheck(data, len, root, name, "/", st);
}
