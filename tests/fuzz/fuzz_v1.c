/* tests/fuzz/fuzz_v1.c - libFuzzer target: a V1 (SavedTensorSlices) checkpoint file,
 * opened by its name and every tensor read (slices reassembled). */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fz_dir(); /* forgets the previous input's files */
    const char *p = fz_path(0, "v1.ckpt");
    fz_put(p, data, size);
    fz_read_all(p, true);
    return 0;
}
