/* lib/metagraph/convert.c - TensorProto/TensorShapeProto <-> graft tensors and
 * shapes (TF's tensor_content or typed *_val fields, with the "last value
 * repeats" fill rule), their size checks, and the bump arena the exporter
 * builds messages in. */
#include <stdio.h>

#include "mg.h"

/* TF DataType numbers graft can name (refs are never valid in tensors). */
static const struct {
    int dt;
    const char *name;
    size_t size;
} tf_types[] = {
    {1, "float", 4},   {2, "double", 8},   {3, "int32", 4},    {4, "uint8", 1},     {5, "int16", 2},
    {6, "int8", 1},    {7, "string", 0},   {8, "complex64", 8}, {9, "int64", 8},    {10, "bool", 1},
    {11, "qint8", 1},  {12, "quint8", 1},  {13, "qint32", 4},  {14, "bfloat16", 2}, {15, "qint16", 2},
    {16, "quint16", 2}, {17, "uint16", 2}, {18, "complex128", 16}, {19, "half", 2}, {20, "resource", 0},
    {21, "variant", 0}, {22, "uint32", 4}, {23, "uint64", 8},
};

const char *graftI_tf_dtype_name(int dt)
{
    static const char *refs[] = {"float_ref", "double_ref", "int32_ref", "uint8_ref", "int16_ref", "int8_ref",
                                 "string_ref", "complex64_ref", "int64_ref", "bool_ref", "qint8_ref", "quint8_ref",
                                 "qint32_ref", "bfloat16_ref", "qint16_ref", "quint16_ref", "uint16_ref",
                                 "complex128_ref", "half_ref", "resource_ref", "variant_ref", "uint32_ref",
                                 "uint64_ref"};
    for (size_t i = 0; i < sizeof tf_types / sizeof tf_types[0]; i++)
        if (tf_types[i].dt == dt) return tf_types[i].name;
    if (dt >= 101 && dt <= 123) return refs[dt - 101];
    return NULL;
}

size_t graftI_tf_dtype_size(int dt)
{
    for (size_t i = 0; i < sizeof tf_types / sizeof tf_types[0]; i++)
        if (tf_types[i].dt == dt) return tf_types[i].size;
    return 0;
}

graft_code graftI_mg_shape(const Tensorflow__TensorShapeProto *p, graft_shape *out, const char *file, const char *what,
                           graft_status *st)
{
    *out = graft_shape_make(0, NULL);
    if (!p) return GRAFT_OK; /* absent message = scalar */
    if (p->unknown_rank) {
        if (p->n_dim)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: shape has unknown_rank and %zu dims", file, what,
                                    p->n_dim);
        *out = graft_shape_unknown();
        return GRAFT_OK;
    }
    if (p->n_dim > GRAFTI_META_MAX_TF_RANK)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: shape rank %zu is over TensorFlow's limit of %d", file,
                                what, p->n_dim, GRAFTI_META_MAX_TF_RANK);
    for (size_t i = 0; i < p->n_dim; i++) {
        int64_t d = p->dim[i] ? p->dim[i]->size : 0;
        if (d < -1)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: dim %zu is %lld (>= -1 expected)", file, what, i,
                                    (long long)d);
    }
    if (p->n_dim > GRAFT_MAX_DIMS)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "%s: %s: rank %zu is over graft's limit of %d", file, what,
                                p->n_dim, GRAFT_MAX_DIMS);
    out->rank = (int)p->n_dim;
    for (size_t i = 0; i < p->n_dim; i++) out->dims[i] = p->dim[i] ? p->dim[i]->size : 0;
    return GRAFT_OK;
}

/* Number of typed values present for dt (complex counts pairs). */
static size_t tf_nvals(const Tensorflow__TensorProto *p, int dt)
{
    switch (dt) {
    case 1: return p->n_float_val;
    case 2: return p->n_double_val;
    case 3: case 4: case 5: case 6: case 11: case 12: case 13: case 15: case 16: case 17: return p->n_int_val;
    case 7: return p->n_string_val;
    case 8: return p->n_scomplex_val / 2;
    case 9: return p->n_int64_val;
    case 10: return p->n_bool_val;
    case 14: case 19: return p->n_half_val;
    case 18: return p->n_dcomplex_val / 2;
    case 22: return p->n_uint32_val;
    case 23: return p->n_uint64_val;
    default: return 0;
    }
}

/* Element count of a tensor shape (dims must be known and >= 0). */
static graft_code tensor_count(const Tensorflow__TensorProto *p, const char *file, const char *what, int64_t *count,
                               graft_status *st)
{
    const Tensorflow__TensorShapeProto *s = p->tensor_shape;
    int64_t n = 1;
    if (s) {
        if (s->unknown_rank)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: tensor shape has an unknown rank", file, what);
        if (s->n_dim > GRAFTI_META_MAX_TF_RANK)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: tensor rank %zu is over TensorFlow's limit of %d",
                                    file, what, s->n_dim, GRAFTI_META_MAX_TF_RANK);
        for (size_t i = 0; i < s->n_dim; i++) {
            int64_t d = s->dim[i] ? s->dim[i]->size : 0;
            if (d < 0)
                return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: tensor dim %zu is %lld (>= 0 expected)", file,
                                        what, i, (long long)d);
            if (!graftI_mul_i64(n, d, &n))
                return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: tensor element count overflows", file, what);
        }
    }
    *count = n;
    return GRAFT_OK;
}

graft_code graftI_mg_tensor_check(const Tensorflow__TensorProto *p, const char *file, const char *what, size_t *bytes,
                                  graft_status *st)
{
    if (!p) return GRAFT_OK; /* default TensorProto: DT_INVALID scalar, refused on conversion */
    int dt = (int)p->dtype;
    const char *nm = graftI_tf_dtype_name(dt);
    if (!nm || dt == 0 || dt > 100)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: tensor dtype %d is not a valid value type", file, what,
                                dt);
    int64_t count;
    graft_code c = tensor_count(p, file, what, &count, st);
    if (c) return c;
    size_t esz = graftI_tf_dtype_size(dt);
    size_t nv = tf_nvals(p, dt);
    if (p->tensor_content.len) {
        if (dt == 7 || esz == 0)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: tensor_content is not allowed for dtype %s", file,
                                    what, nm);
        size_t want;
        if ((uint64_t)count > SIZE_MAX || !graftI_mul_size((size_t)count, esz, &want) || want != p->tensor_content.len)
            return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                    "%s: %s: tensor_content size mismatch for %s with %lld elements (expected %llu "
                                    "bytes vs found %zu)",
                                    file, what, nm, (long long)count, (unsigned long long)count * esz,
                                    p->tensor_content.len);
    } else if ((uint64_t)nv > (uint64_t)count) {
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: %s: tensor has %zu %s values for %lld elements (at most %lld expected)", file, what,
                                nv, nm, (long long)count, (long long)count);
    }
    if ((dt == 8 && p->n_scomplex_val % 2) || (dt == 18 && p->n_dcomplex_val % 2))
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: odd number of complex components", file, what);
    /* expanded size */
    size_t sz;
    if (dt == 7) {
        size_t per = sizeof(graft_str) + 1, last = nv ? p->string_val[nv - 1].len : 0, given = 0;
        for (size_t i = 0; i < nv; i++)
            if (!graftI_add_size(given, p->string_val[i].len + per, &given)) given = SIZE_MAX;
        size_t rest = (size_t)count - nv, more;
        if (!graftI_mul_size(rest, last + per, &more) || !graftI_add_size(given, more, &sz)) sz = SIZE_MAX;
    } else if ((uint64_t)count > SIZE_MAX || !graftI_mul_size((size_t)count, esz ? esz : 8, &sz)) {
        sz = SIZE_MAX;
    }
    if (!graftI_add_size(*bytes, sz, bytes)) *bytes = SIZE_MAX;
    return GRAFT_OK;
}

/* Copies typed values into T elements, repeating the last (TF's fill rule);
 * integer sources narrower than int32 are range-checked when lo < hi. */
#define FILL_FROM(T, src, nsrc, lo, hi)                                                                           \
    do {                                                                                                          \
        T *o = (T *)graft_tensor_data(t);                                                                         \
        for (int64_t i = 0; i < count && (nsrc); i++) {                                                           \
            size_t j = (size_t)i < (nsrc) ? (size_t)i : (nsrc) - 1;                                               \
            if ((lo) < (hi) && ((int64_t)(src)[j] < (lo) || (int64_t)(src)[j] > (hi))) {                          \
                graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: value %lld is out of range for %s", file, what,  \
                                 (long long)(src)[j], graftI_tf_dtype_name(dt));                                  \
                graft_tensor_free(t);                                                                             \
                return NULL;                                                                                      \
            }                                                                                                     \
            o[i] = (T)(src)[j];                                                                                   \
        }                                                                                                         \
    } while (0)

graft_tensor *graftI_mg_tensor(const Tensorflow__TensorProto *p, const char *file, const char *what, graft_status *st)
{
    int dt = p ? (int)p->dtype : 0;
    if (!p || !graft_dtype_valid(dt)) {
        const char *nm = graftI_tf_dtype_name(dt);
        graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "%s: %s: tensors of dtype %s (%d) are not supported", file, what,
                         nm ? nm : "?", dt);
        return NULL;
    }
    size_t scratch = 0;
    if (graftI_mg_tensor_check(p, file, what, &scratch, st)) return NULL;
    graft_shape sh;
    graft_code c = graftI_mg_shape(p->tensor_shape, &sh, file, what, st);
    if (c) return NULL;
    int64_t count;
    if (tensor_count(p, file, what, &count, st)) return NULL;
    graft_tensor *t = graft_tensor_new((graft_dtype)dt, sh.dims, sh.rank, st);
    if (!t) return NULL;
    if (p->tensor_content.len) {
        memcpy(graft_tensor_data(t), p->tensor_content.data, p->tensor_content.len);
        if (dt == GRAFT_BOOL) {
            const uint8_t *b = p->tensor_content.data;
            for (size_t i = 0; i < p->tensor_content.len; i++)
                if (b[i] > 1) {
                    graft_tensor_free(t);
                    graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: %s: bool element %zu is %u (0 or 1 expected)", file,
                                     what, i, b[i]);
                    return NULL;
                }
        }
        return t;
    }
    switch (dt) {
    case GRAFT_FLOAT: FILL_FROM(float, p->float_val, p->n_float_val, 0, 0); break;
    case GRAFT_DOUBLE: FILL_FROM(double, p->double_val, p->n_double_val, 0, 0); break;
    case GRAFT_INT32: FILL_FROM(int32_t, p->int_val, p->n_int_val, 0, 0); break;
    case GRAFT_UINT8: FILL_FROM(uint8_t, p->int_val, p->n_int_val, 0, 255); break;
    case GRAFT_INT16: FILL_FROM(int16_t, p->int_val, p->n_int_val, -32768, 32767); break;
    case GRAFT_INT8: FILL_FROM(int8_t, p->int_val, p->n_int_val, -128, 127); break;
    case GRAFT_UINT16: FILL_FROM(uint16_t, p->int_val, p->n_int_val, 0, 65535); break;
    case GRAFT_INT64: FILL_FROM(int64_t, p->int64_val, p->n_int64_val, 0, 0); break;
    case GRAFT_BOOL: FILL_FROM(uint8_t, p->bool_val, p->n_bool_val, 0, 0); break;
    case GRAFT_HALF:
    case GRAFT_BFLOAT16: FILL_FROM(uint16_t, p->half_val, p->n_half_val, -32768, 65535); break;
    case GRAFT_UINT32: FILL_FROM(uint32_t, p->uint32_val, p->n_uint32_val, 0, 0); break;
    case GRAFT_UINT64: {
        uint64_t *o = graft_tensor_data(t);
        size_t nv = p->n_uint64_val;
        for (int64_t i = 0; i < count; i++) o[i] = nv ? p->uint64_val[(size_t)i < nv ? (size_t)i : nv - 1] : 0;
        break;
    }
    case GRAFT_STRING: {
        size_t nv = p->n_string_val;
        for (int64_t i = 0; i < count && nv; i++) {
            const ProtobufCBinaryData *s = &p->string_val[(size_t)i < nv ? (size_t)i : nv - 1];
            if (graft_tensor_set_string(t, i, (const char *)s->data, s->len, st)) {
                graft_tensor_free(t);
                return NULL;
            }
        }
        break;
    }
    default:
        graft_tensor_free(t);
        graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "%s: %s: dtype %d is not supported", file, what, dt);
        return NULL;
    }
    return t;
}

/* ---- arena ------------------------------------------------------------------ */
typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
} arena_chunk;

struct mgI_arena {
    arena_chunk *head;
    bool failed;
};

mgI_arena *graftI_arena_new(void)
{
    return graftI_calloc(1, sizeof(mgI_arena));
}

void graftI_arena_free(mgI_arena *a)
{
    if (!a) return;
    for (arena_chunk *c = a->head, *n; c; c = n) {
        n = c->next;
        graftI_free(c);
    }
    graftI_free(a);
}

bool graftI_arena_failed(const mgI_arena *a)
{
    return !a || a->failed;
}

void *graftI_arena_alloc(mgI_arena *a, size_t n)
{
    if (!a || a->failed) return NULL;
    const size_t al = sizeof(max_align_t);
    if (n > SIZE_MAX / 2) {
        a->failed = true;
        return NULL;
    }
    n = (n + al - 1) / al * al;
    if (!n) n = al;
    arena_chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        c = graftI_malloc(sizeof(arena_chunk) + cap);
        if (!c) {
            a->failed = true;
            return NULL;
        }
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *graftI_arena_strdup(mgI_arena *a, const char *s)
{
    if (!s) s = "";
    size_t n = strlen(s);
    char *p = graftI_arena_alloc(a, n + 1);
    if (p) memcpy(p, s, n + 1);
    return p;
}

Tensorflow__TensorShapeProto *graftI_mg_shape_proto(mgI_arena *a, const graft_shape *s)
{
    Tensorflow__TensorShapeProto *p = graftI_arena_alloc(a, sizeof *p);
    if (!p) return NULL;
    tensorflow__tensor_shape_proto__init(p);
    if (s->rank < 0) {
        p->unknown_rank = 1;
        return p;
    }
    if (s->rank == 0) return p;
    p->dim = graftI_arena_alloc(a, (size_t)s->rank * sizeof *p->dim);
    if (!p->dim) return NULL;
    for (int i = 0; i < s->rank; i++) {
        Tensorflow__TensorShapeProto__Dim *d = graftI_arena_alloc(a, sizeof *d);
        if (!d) return NULL;
        tensorflow__tensor_shape_proto__dim__init(d);
        d->size = s->dims[i];
        p->dim[i] = d;
    }
    p->n_dim = (size_t)s->rank;
    return p;
}

Tensorflow__TensorProto *graftI_mg_tensor_proto(mgI_arena *a, const graft_tensor *t)
{
    Tensorflow__TensorProto *p = graftI_arena_alloc(a, sizeof *p);
    if (!p) return NULL;
    tensorflow__tensor_proto__init(p);
    graft_dtype dt = graft_tensor_dtype(t);
    p->dtype = (Tensorflow__DataType)dt;
    graft_shape sh = graft_tensor_shape(t);
    p->tensor_shape = graftI_mg_shape_proto(a, &sh);
    if (!p->tensor_shape) return NULL;
    int64_t n = graft_tensor_num_elements(t);
    const void *d = graft_tensor_cdata(t);
    if (dt == GRAFT_STRING) {
        const graft_str *s = d;
        if (n > 0) {
            p->string_val = graftI_arena_alloc(a, (size_t)n * sizeof *p->string_val);
            if (!p->string_val) return NULL;
            for (int64_t i = 0; i < n; i++) {
                uint8_t *b = graftI_arena_alloc(a, s[i].len + 1);
                if (!b) return NULL;
                if (s[i].len) memcpy(b, s[i].ptr, s[i].len);
                p->string_val[i].data = b;
                p->string_val[i].len = s[i].len;
            }
            p->n_string_val = (size_t)n;
        }
        return p;
    }
    bool uniform = n >= 1;
    size_t esz = graft_dtype_size(dt);
    for (int64_t i = 1; uniform && i < n; i++) uniform = memcmp((const char *)d + (size_t)i * esz, d, esz) == 0;
    if (uniform) {
        /* scalars and constant-filled tensors the way TF's make_tensor_proto
         * writes tf.constant(v, shape=...): one typed value, repeated on import */
        switch (dt) {
        case GRAFT_FLOAT:
            p->float_val = graftI_arena_alloc(a, sizeof(float));
            if (!p->float_val) return NULL;
            memcpy(p->float_val, d, 4);
            p->n_float_val = 1;
            return p;
        case GRAFT_DOUBLE:
            p->double_val = graftI_arena_alloc(a, sizeof(double));
            if (!p->double_val) return NULL;
            memcpy(p->double_val, d, 8);
            p->n_double_val = 1;
            return p;
        case GRAFT_INT32:
            p->int_val = graftI_arena_alloc(a, sizeof(int32_t));
            if (!p->int_val) return NULL;
            memcpy(p->int_val, d, 4);
            p->n_int_val = 1;
            return p;
        case GRAFT_INT64:
            p->int64_val = graftI_arena_alloc(a, sizeof(int64_t));
            if (!p->int64_val) return NULL;
            memcpy(p->int64_val, d, 8);
            p->n_int64_val = 1;
            return p;
        case GRAFT_BOOL:
            p->bool_val = graftI_arena_alloc(a, sizeof(protobuf_c_boolean));
            if (!p->bool_val) return NULL;
            p->bool_val[0] = *(const uint8_t *)d != 0;
            p->n_bool_val = 1;
            return p;
        default:
            break;
        }
    }
    size_t nb = graft_tensor_nbytes(t);
    if (nb) {
        uint8_t *b = graftI_arena_alloc(a, nb);
        if (!b) return NULL;
        memcpy(b, d, nb);
        p->tensor_content.data = b;
        p->tensor_content.len = nb;
    }
    return p;
}
