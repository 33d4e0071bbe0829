/* tests/fuzz/fuzz_bundle.c - libFuzzer target: a V2 checkpoint, index + one data
 * shard, split from one input: 4 bytes little-endian index length, the .index
 * bytes, then the .data-00000-of-00001 bytes. Every entry is read and checked. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fz_dir(); /* forgets the previous input's files */
    if (size < 4) return 0;
    size_t n = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
    data += 4;
    size -= 4;
    if (n > size) n = size;
    fz_put(fz_path(0, "b.index"), data, n);
    fz_put(fz_path(1, "b.data-00000-of-00001"), data + n, size - n);
    fz_read_all(fz_path(2, "b"), true);
    return 0;
}
