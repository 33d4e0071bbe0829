/* tests/fuzz/fuzz_index.c - libFuzzer target: a V2 `.index` file (the LevelDB-format
 * table, its BundleHeaderProto and BundleEntryProtos) opened without its data, both
 * through the table reader (scan of every entry) and graft_ckpt_reader_open. */
#include "fuzz_util.h"
#include "checkpoint/ckpt_internal.h"

static graft_code fz_index_entry(void *ud, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                                 uint64_t off, graft_status *st)
{
    (void)st;
    (void)off;
    volatile uint8_t *acc = ud;
    if (klen) *acc ^= key[klen - 1];
    if (vlen) *acc ^= val[vlen - 1];
    return GRAFT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fz_dir(); /* forgets the previous input's files */
    const char *idx = fz_path(0, "x.index");
    fz_put(idx, data, size);
    graftI_ck_limits lim = {1u << 24, 10000, 65536};
    graftI_ck_table *t = NULL;
    graft_status st;
    volatile uint8_t acc = 0;
    if (graftI_ck_table_open(idx, &lim, &t, &st) == GRAFT_OK) {
        graftI_ck_table_scan(t, fz_index_entry, (void *)&acc, &st);
        const uint8_t *v;
        size_t vl;
        graftI_ck_table_get(t, (const uint8_t *)"", 0, &v, &vl, &st);
        graftI_ck_table_close(t);
    }
    fz_read_all(fz_path(1, "x"), false);
    return 0;
}
