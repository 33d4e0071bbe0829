/* tests/fuzz/fuzz_entries.c - libFuzzer target: the BundleHeaderProto and
 * BundleEntryProtos of a V2 checkpoint, behind a table the harness builds itself, so
 * every mutation reaches the proto parsing and entry validation instead of dying at
 * the table's block checksums. The input is records split by "#GR#":
 *   header-proto # key-len(1 byte) key entry-proto # ... # data-file-bytes
 * (the last record is the .data shard; entries are sorted by key, duplicates dropped).
 * An entry that parses has its crc32c recomputed over the bytes it points at (for
 * numeric dtypes), so tensor decoding runs too. */
#include "fuzz_util.h"
#include "checkpoint/ckpt_internal.h"
#include "tensor_bundle.pb-c.h"

#define FZ_SEP "#GR#"
#define FZ_MAXREC 64

typedef struct fz_rec {
    const uint8_t *key, *val;
    size_t klen, vlen;
    char defkey[16];
} fz_rec;

static int fz_rec_cmp(const void *a, const void *b)
{
    const fz_rec *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* Splits data on FZ_SEP into at most FZ_MAXREC pieces; returns the count. */
static int fz_split(const uint8_t *data, size_t size, const uint8_t **p, size_t *n)
{
    int k = 0;
    size_t start = 0;
    for (size_t i = 0; i + 4 <= size && k < FZ_MAXREC - 1; i++)
        if (data[i] == '#' && data[i + 1] == 'G' && data[i + 2] == 'R' && data[i + 3] == '#') { /* FZ_SEP */
            p[k] = data + start;
            n[k++] = i - start;
            start = i + 4;
            i += 3;
        }
    p[k] = data + start;
    n[k++] = size - start;
    return k;
}

/* Re-packs an entry with crc32c fixed to match data; returns the new value in buf
 * (or the original bytes when it does not parse or is out of range). */
static const uint8_t *fz_fix_crc(const uint8_t *val, size_t *vlen, const uint8_t *dat, size_t dn, uint8_t *buf,
                                 size_t cap)
{
    Tensorflow__BundleEntryProto *e = tensorflow__bundle_entry_proto__unpack(NULL, *vlen, val);
    if (!e) return val;
    const uint8_t *out = val;
    if (e->dtype != TENSORFLOW__DATA_TYPE__DT_STRING && e->offset >= 0 && e->size >= 0 && (uint64_t)e->offset <= dn &&
        (uint64_t)e->size <= dn - (uint64_t)e->offset) {
        e->crc32c = graftI_crc32c_mask(graftI_crc32c(dat + e->offset, (size_t)e->size));
        size_t need = tensorflow__bundle_entry_proto__get_packed_size(e);
        if (need <= cap) {
            *vlen = tensorflow__bundle_entry_proto__pack(e, buf);
            out = buf;
        }
    }
    tensorflow__bundle_entry_proto__free_unpacked(e, NULL);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fz_dir(); /* forgets the previous input's files */
    const uint8_t *p[FZ_MAXREC];
    size_t n[FZ_MAXREC];
    int k = fz_split(data, size, p, n);
    if (k < 2) return 0;
    const uint8_t *dat = p[k - 1];
    size_t dn = n[k - 1];
    fz_rec r[FZ_MAXREC];
    int nr = 0;
    r[nr++] = (fz_rec){(const uint8_t *)"", p[0], 0, n[0], ""}; /* the header, key "" */
    for (int i = 1; i < k - 1; i++) {
        fz_rec *e = &r[nr];
        size_t kl = n[i] ? p[i][0] : 0;
        if (n[i] == 0 || kl == 0 || kl >= n[i]) { /* no key of its own: "v<i>" */
            snprintf(e->defkey, sizeof e->defkey, "v%03d", i);
            e->key = (const uint8_t *)e->defkey;
            e->klen = strlen(e->defkey);
            e->val = n[i] ? p[i] + 1 : p[i];
            e->vlen = n[i] ? n[i] - 1 : 0;
        } else {
            e->key = p[i] + 1;
            e->klen = kl;
            e->val = p[i] + 1 + kl;
            e->vlen = n[i] - 1 - kl;
        }
        if (e->klen == 0) continue; /* "" is the header's */
        nr++;
    }
    qsort(r + 1, (size_t)(nr - 1), sizeof r[0], fz_rec_cmp);
    graftI_ck_tbuilder *b = graftI_ck_tbuilder_new(4096, 16);
    if (!b) return 0;
    static uint8_t fixed[FZ_MAXREC][512];
    graft_status st;
    for (int i = 0; i < nr; i++) {
        if (i > 1 && fz_rec_cmp(&r[i], &r[i - 1]) == 0) continue;
        size_t vl = r[i].vlen;
        const uint8_t *v = i ? fz_fix_crc(r[i].val, &vl, dat, dn, fixed[i], sizeof fixed[i]) : r[i].val;
        if (graftI_ck_tbuilder_add(b, r[i].key, r[i].klen, v, vl, &st) != GRAFT_OK) {
            graftI_ck_tbuilder_free(b);
            return 0;
        }
    }
    const uint8_t *tab;
    size_t tn;
    if (graftI_ck_tbuilder_finish(b, &tab, &tn, &st) == GRAFT_OK) {
        fz_put(fz_path(0, "e.index"), tab, tn);
        fz_put(fz_path(1, "e.data-00000-of-00001"), dat, dn);
        fz_read_all(fz_path(2, "e"), true);
    }
    graftI_ck_tbuilder_free(b);
    return 0;
}
