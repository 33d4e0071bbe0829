/* lib/npy.c - NumPy .npy reader and writer (format 1.0/2.0/3.0, little-endian,
 * C order) for the dtypes graft run exchanges. The header dict is parsed by a
 * small bounded tokenizer, never evaluated. */
#include <stdio.h>

#include "internal.h"
#include "graft/npy.h"

static const uint8_t npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

typedef struct npy_type {
    const char *descr;     /* canonical spelling written by NumPy */
    graft_dtype dtype;
    size_t size;
} npy_type;

static const npy_type npy_types[] = {
    {"<f4", GRAFT_FLOAT, 4}, {"<f8", GRAFT_DOUBLE, 8}, {"<i4", GRAFT_INT32, 4},
    {"<i8", GRAFT_INT64, 8}, {"|u1", GRAFT_UINT8, 1},  {"|b1", GRAFT_BOOL, 1},
};

/* Finds the type for a descr string; '<' and '|' are both accepted for the
 * one-byte types, as is '=' nowhere (NumPy never writes it to files). */
static const npy_type *npy_find(const char *d, size_t n)
{
    if (n != 3) return NULL;
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++) {
        const npy_type *t = &npy_types[i];
        if (memcmp(d + 1, t->descr + 1, 2) != 0) continue;
        if (d[0] == t->descr[0] || (t->size == 1 && (d[0] == '<' || d[0] == '|'))) return t;
    }
    return NULL;
}

/* ---- header tokenizer ---------------------------------------------------- */
typedef struct hdr_lex {
    const char *p, *end;
    const char *file;
    graft_status *st;
    const char *base; /* the header's first byte, at file offset off0 */
    size_t off0;
} hdr_lex;

/* The file offset of the lexer's position, for messages. */
static size_t hdr_off(const hdr_lex *lx) { return lx->off0 + (size_t)(lx->p - lx->base); }

static void skip_ws(hdr_lex *lx)
{
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r')) lx->p++;
}

static graft_code hdr_err(hdr_lex *lx, const char *what)
{
    return graft_status_set(lx->st, GRAFT_ERR_CORRUPT, "%s: offset %zu: npy header: %s", lx->file, hdr_off(lx), what);
}

static bool hdr_eat(hdr_lex *lx, char c)
{
    skip_ws(lx);
    if (lx->p < lx->end && *lx->p == c) {
        lx->p++;
        return true;
    }
    return false;
}

/* A quoted string; returns a pointer into the header and its length. */
static graft_code hdr_string(hdr_lex *lx, const char **s, size_t *n)
{
    skip_ws(lx);
    if (lx->p >= lx->end || (*lx->p != '\'' && *lx->p != '"')) return hdr_err(lx, "expected a quoted string");
    char q = *lx->p++;
    const char *b = lx->p;
    while (lx->p < lx->end && *lx->p != q) {
        if (*lx->p == '\\') return hdr_err(lx, "escapes in strings are not supported");
        lx->p++;
    }
    if (lx->p >= lx->end) return hdr_err(lx, "unterminated string");
    *s = b;
    *n = (size_t)(lx->p - b);
    lx->p++;
    return GRAFT_OK;
}

static graft_code hdr_int(hdr_lex *lx, int64_t *v)
{
    skip_ws(lx);
    int64_t x = 0;
    const char *b = lx->p;
    while (lx->p < lx->end && *lx->p >= '0' && *lx->p <= '9') {
        if (x > (INT64_MAX - 9) / 10) return hdr_err(lx, "dimension too large");
        x = x * 10 + (*lx->p - '0');
        lx->p++;
    }
    if (lx->p == b) return hdr_err(lx, "expected a non-negative integer in shape");
    if (lx->p < lx->end && *lx->p == 'L') lx->p++; /* Python 2 long suffix */
    *v = x;
    return GRAFT_OK;
}

static graft_code hdr_parse(const char *h, size_t hn, size_t off0, const char *file, const npy_type **type,
                            graft_shape *shape, graft_status *st)
{
    hdr_lex lx = {h, h + hn, file, st, h, off0};
    bool have_descr = false, have_fo = false, have_shape = false;
    if (!hdr_eat(&lx, '{')) return hdr_err(&lx, "does not start with '{'");
    for (;;) {
        if (hdr_eat(&lx, '}')) break;
        const char *k;
        size_t kn;
        skip_ws(&lx);
        size_t key_off = hdr_off(&lx);
        graft_code c = hdr_string(&lx, &k, &kn);
        if (c) return c;
        if (!hdr_eat(&lx, ':')) return hdr_err(&lx, "expected ':' after a key");
        if (kn == 5 && memcmp(k, "descr", 5) == 0) {
            const char *d;
            size_t dn;
            skip_ws(&lx);
            size_t val_off = hdr_off(&lx);
            if ((c = hdr_string(&lx, &d, &dn))) return c;
            *type = npy_find(d, dn);
            if (!*type) {
                if (dn >= 1 && d[0] == '>')
                    return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                            "%s: offset %zu: npy descr '%.*s': big-endian data is not supported "
                                            "(expected '<')",
                                            file, val_off, (int)(dn > 32 ? 32 : dn), d);
                return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                        "%s: offset %zu: npy descr '%.*s' is not supported (expected one of <f4 "
                                        "<f8 <i4 <i8 |u1 |b1)",
                                        file, val_off, (int)(dn > 32 ? 32 : dn), d);
            }
            have_descr = true;
        } else if (kn == 13 && memcmp(k, "fortran_order", 13) == 0) {
            skip_ws(&lx);
            if ((size_t)(lx.end - lx.p) >= 5 && memcmp(lx.p, "False", 5) == 0) {
                lx.p += 5;
            } else if ((size_t)(lx.end - lx.p) >= 4 && memcmp(lx.p, "True", 4) == 0) {
                return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                        "%s: offset %zu: npy array is in Fortran order (C order expected; save "
                                        "with numpy.ascontiguousarray)",
                                        file, hdr_off(&lx));
            } else {
                return hdr_err(&lx, "fortran_order is not True or False");
            }
            have_fo = true;
        } else if (kn == 5 && memcmp(k, "shape", 5) == 0) {
            if (!hdr_eat(&lx, '(')) return hdr_err(&lx, "shape is not a tuple");
            shape->rank = 0;
            while (!hdr_eat(&lx, ')')) {
                if (shape->rank >= GRAFT_MAX_DIMS)
                    return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                            "%s: offset %zu: npy shape has more than %d dimensions", file,
                                            hdr_off(&lx), GRAFT_MAX_DIMS);
                if ((c = hdr_int(&lx, &shape->dims[shape->rank]))) return c;
                shape->rank++;
                if (!hdr_eat(&lx, ',')) {
                    if (!hdr_eat(&lx, ')')) return hdr_err(&lx, "expected ',' or ')' in shape");
                    break;
                }
            }
            have_shape = true;
        } else {
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %zu: npy header: unexpected key '%.*s'",
                                    file, key_off, (int)(kn > 32 ? 32 : kn), k);
        }
        if (!hdr_eat(&lx, ',')) {
            if (!hdr_eat(&lx, '}')) return hdr_err(&lx, "expected ',' or '}'");
            break;
        }
    }
    skip_ws(&lx);
    if (lx.p != lx.end) return hdr_err(&lx, "trailing characters after the dict");
    if (!have_descr || !have_fo || !have_shape)
        return hdr_err(&lx, "missing one of the keys 'descr', 'fortran_order', 'shape'");
    return GRAFT_OK;
}

graft_code graft_npy_parse(const void *data, size_t len, const char *name, graft_tensor **out, graft_status *st)
{
    const uint8_t *b = data;
    const char *file = name ? name : "<npy>";
    if (out) *out = NULL;
    if (!out || (!data && len)) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_npy_parse: NULL argument");
    if (len < 10 || memcmp(b, npy_magic, 6) != 0)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset 0: not a NumPy .npy file (bad magic)", file);
    unsigned major = b[6], minor = b[7];
    size_t hlen, hoff;
    if (major == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hoff = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12)
            return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                    "%s: offset %zu: truncated npy preamble (need 12 bytes, file has %zu)", file, len,
                                    len);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hoff = 12;
    } else {
        return graft_status_set(st, GRAFT_ERR_VERSION,
                                "%s: offset 6: npy format version %u.%u is not supported (1.0, 2.0, 3.0)", file, major,
                                minor);
    }
    if (minor != 0)
        return graft_status_set(st, GRAFT_ERR_VERSION,
                                "%s: offset 6: npy format version %u.%u is not supported (1.0, 2.0, 3.0)", file, major,
                                minor);
    if (hlen > GRAFT_NPY_MAX_HEADER)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset 8: npy header length %zu is over the cap of %d bytes",
                                file, hlen, GRAFT_NPY_MAX_HEADER);
    if (hlen > len - hoff)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %zu: truncated npy header (need %zu bytes, have %zu)",
                                file, hoff, hlen, len - hoff);
    const npy_type *type = NULL;
    graft_shape shape = {0};
    graft_code c = hdr_parse((const char *)b + hoff, hlen, hoff, file, &type, &shape, st);
    if (c) return c;
    int64_t count = 1;
    for (int i = 0; i < shape.rank; i++)
        if (!graftI_mul_i64(count, shape.dims[i], &count))
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %zu: npy shape element count overflows", file,
                                    hoff);
    size_t nbytes;
    if ((uint64_t)count > SIZE_MAX || !graftI_mul_size((size_t)count, type->size, &nbytes))
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %zu: npy data size overflows", file, hoff);
    size_t doff = hoff + hlen;
    if (len - doff != nbytes) {
        char sb[128];
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: offset %zu: npy data size mismatch for %s %s (expected %zu bytes vs found %zu)",
                                file, doff, type->descr, graft_shape_str(&shape, sb, sizeof sb), nbytes, len - doff);
    }
    if (type->dtype == GRAFT_BOOL) {
        for (size_t i = 0; i < nbytes; i++)
            if (b[doff + i] > 1)
                return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                        "%s: offset %zu: bool element %zu is %u (expected 0 or 1)", file, doff + i, i,
                                        b[doff + i]);
    }
    graft_tensor *t = graft_tensor_from_data(type->dtype, shape.dims, shape.rank, b + doff, nbytes, st);
    if (!t) return st ? st->code : GRAFT_ERR_NOMEM;
    *out = t;
    graft_status_clear(st);
    return GRAFT_OK;
}

graft_code graft_npy_read(const char *path, size_t max_bytes, graft_tensor **out, graft_status *st)
{
    if (out) *out = NULL;
    if (!path || !out) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_npy_read: NULL argument");
    uint8_t *data = NULL;
    size_t len = 0;
    graft_code c = graftI_read_file(path, max_bytes ? max_bytes : SIZE_MAX, &data, &len, st);
    if (c) return c;
    c = graft_npy_parse(data, len, path, out, st);
    graftI_free(data);
    return c;
}

static const npy_type *npy_for_dtype(graft_dtype dt)
{
    for (size_t i = 0; i < sizeof npy_types / sizeof npy_types[0]; i++)
        if (npy_types[i].dtype == dt) return &npy_types[i];
    return NULL;
}

graft_code graft_npy_encode(const graft_tensor *t, void **data, size_t *len, graft_status *st)
{
    if (data) *data = NULL;
    if (len) *len = 0;
    if (!t || !data || !len) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_npy_encode: NULL argument");
    const npy_type *type = npy_for_dtype(graft_tensor_dtype(t));
    if (!type)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED, "npy: dtype %s cannot be written (float32, float64, "
                                "int32, int64, uint8, bool)",
                                graft_dtype_name(graft_tensor_dtype(t)) ? graft_dtype_name(graft_tensor_dtype(t))
                                                                        : "?");
    /* {'descr': '<f4', 'fortran_order': False, 'shape': (4, 43), } as NumPy writes it */
    char dict[64 + GRAFT_MAX_DIMS * 24];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", type->descr);
    int rank = graft_tensor_rank(t);
    for (int i = 0; i < rank; i++)
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%s%lld", i ? ", " : "", (long long)graft_tensor_dim(t, i));
    n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", rank == 1 ? "," : "");
    size_t pre = 10, total = pre + (size_t)n + 1; /* + '\n' */
    if (total > 65535 + 10) pre = 12;            /* never for rank <= 8, kept for completeness */
    total = pre + (size_t)n + 1;
    size_t padded = (total + 63) / 64 * 64;
    size_t hlen = padded - pre;
    size_t nbytes = graft_tensor_nbytes(t), all;
    if (!graftI_add_size(padded, nbytes, &all)) return graft_status_set(st, GRAFT_ERR_NOMEM, "npy: size overflows");
    uint8_t *buf = graftI_malloc(all ? all : 1);
    if (!buf) return graft_status_set(st, GRAFT_ERR_NOMEM, "npy: cannot allocate %zu bytes", all);
    memcpy(buf, npy_magic, 6);
    buf[6] = pre == 10 ? 1 : 2;
    buf[7] = 0;
    buf[8] = (uint8_t)(hlen & 0xff);
    buf[9] = (uint8_t)(hlen >> 8 & 0xff);
    if (pre == 12) {
        buf[10] = (uint8_t)(hlen >> 16 & 0xff);
        buf[11] = (uint8_t)(hlen >> 24 & 0xff);
    }
    memcpy(buf + pre, dict, (size_t)n);
    memset(buf + pre + n, ' ', hlen - (size_t)n - 1);
    buf[padded - 1] = '\n';
    if (nbytes) memcpy(buf + padded, graft_tensor_cdata(t), nbytes);
    *data = buf;
    *len = all;
    graft_status_clear(st);
    return GRAFT_OK;
}

void graft_npy_free(void *data)
{
    graftI_free(data);
}

graft_code graft_npy_write(const char *path, const graft_tensor *t, graft_status *st)
{
    if (!path) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_npy_write: NULL path");
    void *data;
    size_t len;
    graft_code c = graft_npy_encode(t, &data, &len, st);
    if (c) {
        if (st) {
            char tmp[GRAFT_STATUS_MSG_MAX];
            snprintf(tmp, sizeof tmp, "%s", st->msg);
            graft_status_set(st, c, "%s: %s", path, tmp);
        }
        return c;
    }
    c = graftI_write_file_atomic(path, data, len, st);
    graftI_free(data);
    return c;
}
