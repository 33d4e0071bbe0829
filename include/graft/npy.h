/*
 * graft/npy.h - NumPy .npy arrays as graft tensors (what `graft run` feeds and
 * fetches). Supported: format versions 1.0, 2.0 and 3.0, little-endian (or
 * byte-order-free) data in C order, dtypes float32, float64, int32, int64,
 * uint8 and bool ('<f4' '<f8' '<i4' '<i8' '|u1' '|b1'). Everything else
 * (big-endian, Fortran order, object arrays, other dtypes) is refused with a
 * message naming the file and what was found.
 *
 * The header is parsed as a bounded Python-dict literal: at most
 * GRAFT_NPY_MAX_HEADER bytes, rank <= GRAFT_MAX_DIMS, every dim >= 0, the
 * element count checked for overflow, and the data size must equal
 * count * itemsize exactly (a short or over-long file is GRAFT_ERR_CORRUPT).
 */
#ifndef GRAFT_NPY_H
#define GRAFT_NPY_H

#include "graft/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GRAFT_NPY_MAX_HEADER 100000

/* Parses an in-memory .npy image. `name` is used in error messages only (may
 * be NULL). On success *out is a new tensor the caller frees with
 * graft_tensor_free; on failure *out is NULL. */
GRAFT_API graft_code graft_npy_parse(const void *data, size_t len, const char *name, graft_tensor **out,
                                     graft_status *st);

/* Reads a .npy file (through graft's I/O hooks). Files larger than max_bytes
 * are refused (0 = no cap beyond the address space). */
GRAFT_API graft_code graft_npy_read(const char *path, size_t max_bytes, graft_tensor **out, graft_status *st);

/* Serialises t as a .npy image: format 1.0 when the header fits, else 2.0;
 * header padded so the data starts at a multiple of 64 bytes, as NumPy does.
 * *data is allocated with graft's allocator; release it with graft_npy_free. */
GRAFT_API graft_code graft_npy_encode(const graft_tensor *t, void **data, size_t *len, graft_status *st);
GRAFT_API void graft_npy_free(void *data);

/* Writes t to path atomically (temp file, fsync, rename). */
GRAFT_API graft_code graft_npy_write(const char *path, const graft_tensor *t, graft_status *st);

#ifdef __cplusplus
}
#endif
#endif
