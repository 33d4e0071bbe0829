/*
 * graft/tensor.h - dtypes (numbered as TensorFlow's DataType enum), shapes and
 * reference-counted dense tensors.
 *
 * A graft_tensor is a dense, row-major (C order) array with a dtype and a shape
 * of rank 0..GRAFT_MAX_DIMS. String tensors hold an array of graft_str, each
 * owning its bytes. Tensors are reference counted: graft_tensor_ref adds a
 * reference, graft_tensor_free drops one and frees on the last.
 */
#ifndef GRAFT_TENSOR_H
#define GRAFT_TENSOR_H

#include <stdbool.h>
#include "graft/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GRAFT_MAX_DIMS 8

/* TensorFlow's DataType numbers (types.proto). */
typedef enum graft_dtype {
    GRAFT_INVALID = 0,
    GRAFT_FLOAT = 1,    /* float32 */
    GRAFT_DOUBLE = 2,   /* float64 */
    GRAFT_INT32 = 3,
    GRAFT_UINT8 = 4,
    GRAFT_INT16 = 5,
    GRAFT_INT8 = 6,
    GRAFT_STRING = 7,
    GRAFT_INT64 = 9,
    GRAFT_BOOL = 10,    /* one byte, 0 or 1 */
    GRAFT_BFLOAT16 = 14, /* storage only (checkpoints): raw 16-bit words */
    GRAFT_UINT16 = 17,
    GRAFT_HALF = 19,    /* storage only (checkpoints): raw IEEE binary16 words */
    GRAFT_UINT32 = 22,
    GRAFT_UINT64 = 23
} graft_dtype;

/* true for the dtypes above (GRAFT_INVALID excluded). */
GRAFT_API bool graft_dtype_valid(int dtype);
/* Bytes per element; 0 for GRAFT_STRING and invalid dtypes. */
GRAFT_API size_t graft_dtype_size(graft_dtype dt);
/* TensorFlow's Python name: "float32", "int64", "string", "bool", ... or NULL. */
GRAFT_API const char *graft_dtype_name(graft_dtype dt);
/* Inverse of graft_dtype_name; also accepts "float", "double", "half". */
GRAFT_API graft_dtype graft_dtype_from_name(const char *name);

/* An element of a string tensor. ptr is owned by the tensor (NUL-terminated for
 * convenience; len excludes the terminator; may contain NUL bytes). */
typedef struct graft_str {
    size_t len;
    char *ptr;
} graft_str;

/* A shape: rank and dims. In graph shapes a dim of -1 is unknown and rank -1 is
 * an unknown rank; tensors always have fully known shapes. */
typedef struct graft_shape {
    int rank;
    int64_t dims[GRAFT_MAX_DIMS];
} graft_shape;

GRAFT_API graft_shape graft_shape_make(int rank, const int64_t *dims);
GRAFT_API graft_shape graft_shape_unknown(void);
/* Element count with overflow checking: GRAFT_OK, or GRAFT_ERR_INVALID_ARG on a
 * negative/unknown dim, or GRAFT_ERR_NOMEM if the count overflows int64. */
GRAFT_API graft_code graft_shape_num_elements(const graft_shape *s, int64_t *out);
/* "[2,3]", "[]" (scalar), "[?,3]", "<unknown>"; writes into buf, returns buf. */
GRAFT_API char *graft_shape_str(const graft_shape *s, char *buf, size_t cap);

typedef struct graft_tensor graft_tensor;

/* New zero-filled tensor (strings: all empty). NULL on failure with st set. */
GRAFT_API graft_tensor *graft_tensor_new(graft_dtype dt, const int64_t *dims, int rank, graft_status *st);
/* New tensor copying nbytes = count*dtype_size bytes from data (not for strings). */
GRAFT_API graft_tensor *graft_tensor_from_data(graft_dtype dt, const int64_t *dims, int rank,
                                               const void *data, size_t nbytes, graft_status *st);
/* Wraps caller memory without copying; dealloc(data, nbytes, arg) runs when the
 * last reference goes (may be NULL: caller keeps ownership and must outlive the tensor). */
GRAFT_API graft_tensor *graft_tensor_wrap(graft_dtype dt, const int64_t *dims, int rank, void *data,
                                          size_t nbytes, void (*dealloc)(void *data, size_t n, void *arg),
                                          void *arg, graft_status *st);
/* Scalar helpers. */
GRAFT_API graft_tensor *graft_tensor_scalar_f32(float v, graft_status *st);
GRAFT_API graft_tensor *graft_tensor_scalar_i64(int64_t v, graft_status *st);
GRAFT_API graft_tensor *graft_tensor_scalar_string(const char *s, size_t len, graft_status *st);
/* Sets element i of a string tensor (copies). */
GRAFT_API graft_code graft_tensor_set_string(graft_tensor *t, int64_t i, const char *s, size_t len,
                                             graft_status *st);
/* Deep copy. */
GRAFT_API graft_tensor *graft_tensor_copy(const graft_tensor *t, graft_status *st);

GRAFT_API graft_tensor *graft_tensor_ref(graft_tensor *t);
GRAFT_API void graft_tensor_free(graft_tensor *t);

GRAFT_API graft_dtype graft_tensor_dtype(const graft_tensor *t);
GRAFT_API int graft_tensor_rank(const graft_tensor *t);
GRAFT_API int64_t graft_tensor_dim(const graft_tensor *t, int i);
GRAFT_API graft_shape graft_tensor_shape(const graft_tensor *t);
GRAFT_API int64_t graft_tensor_num_elements(const graft_tensor *t);
/* Bytes of data (count * dtype size; for strings count * sizeof(graft_str)). */
GRAFT_API size_t graft_tensor_nbytes(const graft_tensor *t);
/* Pointer to the elements; for GRAFT_STRING an array of graft_str. Valid while
 * the tensor lives. */
GRAFT_API void *graft_tensor_data(graft_tensor *t);
GRAFT_API const void *graft_tensor_cdata(const graft_tensor *t);
/* true if dtype, shape and every byte (string bytes for strings) are equal. */
GRAFT_API bool graft_tensor_equal(const graft_tensor *a, const graft_tensor *b);

#ifdef __cplusplus
}
#endif
#endif
