/* tests/fuzz/fuzz_npy.c - libFuzzer target: a NumPy .npy image parsed from memory;
 * a parsed tensor is re-encoded, and the encoding must parse back. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fz_dir();
    graft_tensor *t = NULL;
    graft_status st;
    if (graft_npy_parse(data, size, "fuzz.npy", &t, &st) != GRAFT_OK) return 0;
    fz_consume(t);
    void *enc = NULL;
    size_t n = 0;
    if (graft_npy_encode(t, &enc, &n, &st) == GRAFT_OK) {
        graft_tensor *u = NULL;
        if (graft_npy_parse(enc, n, "re-encoded", &u, &st) != GRAFT_OK && st.code != GRAFT_ERR_NOMEM)
            abort(); /* a round-trip bug: what graft writes it must read */
        graft_tensor_free(u);
        graft_npy_free(enc);
    }
    graft_tensor_free(t);
    return 0;
}
