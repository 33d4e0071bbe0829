/* tools/cmd_inspect.c - `graft inspect [--json] [--stats] [--tensor NAME] PATH`: lists
 * a checkpoint's tensors (name, TF dtype name, shape), optionally with exactly
 * rounded sums (Shewchuk/Python fsum), min and max, or one tensor's values. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graft/graft.h"
#include "cli.h"

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

/* ---- exactly rounded float sum (Python's math.fsum) ---------------------------------- */
typedef struct fsum {
    double *p;
    int n, cap;
    double special; /* sum of inf/nan inputs */
    bool has_special;
} fsum;

static void fsum_add(fsum *f, double x)
{
    if (!isfinite(x)) {
        f->special += x;
        f->has_special = true;
        return;
    }
    int i = 0;
    for (int j = 0; j < f->n; j++) {
        double y = f->p[j];
        if (fabs(x) < fabs(y)) {
            double t = x;
            x = y;
            y = t;
        }
        double hi = x + y, lo = y - (hi - x);
        if (lo != 0.0) f->p[i++] = lo;
        x = hi;
    }
    if (i >= f->cap) {
        int nc = f->cap ? f->cap * 2 : 32;
        double *np = realloc(f->p, (size_t)nc * sizeof *np);
        if (!np) return; /* tiny allocation; an imprecise sum is the only effect */
        f->p = np;
        f->cap = nc;
    }
    f->p[i] = x;
    f->n = i + 1;
}

static double fsum_result(const fsum *f)
{
    if (f->has_special) return f->special;
    int n = f->n;
    double hi = 0.0, lo = 0.0;
    if (n > 0) {
        hi = f->p[--n];
        while (n > 0) {
            double x = hi, y = f->p[--n];
            hi = x + y;
            double yr = hi - x;
            lo = y - yr;
            if (lo != 0.0) break;
        }
        if (n > 0 && ((lo < 0 && f->p[n - 1] < 0) || (lo > 0 && f->p[n - 1] > 0))) {
            double y = lo * 2, x = hi + y, yr = x - hi;
            if (y == yr) hi = x;
        }
    }
    return hi;
}

/* ---- values ---------------------------------------------------------------------------- */
static float half_to_float(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v;
    if (e == 0) v = ldexpf((float)m, -24);
    else if (e == 31) v = m ? NAN : INFINITY;
    else v = ldexpf((float)(m | 0x400), e - 25);
    return s ? -v : v;
}

static float bf16_to_float(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

enum { K_FLOAT, K_INT, K_UINT, K_NONE };

static int kind_of(graft_dtype dt)
{
    switch (dt) {
    case GRAFT_FLOAT: case GRAFT_DOUBLE: case GRAFT_HALF: case GRAFT_BFLOAT16: return K_FLOAT;
    case GRAFT_INT8: case GRAFT_INT16: case GRAFT_INT32: case GRAFT_INT64: return K_INT;
    case GRAFT_UINT8: case GRAFT_UINT16: case GRAFT_UINT32: case GRAFT_UINT64: case GRAFT_BOOL: return K_UINT;
    default: return K_NONE;
    }
}

static double fval(const graft_tensor *t, int64_t i)
{
    const void *d = graft_tensor_cdata(t);
    switch (graft_tensor_dtype(t)) {
    case GRAFT_FLOAT: return ((const float *)d)[i];
    case GRAFT_DOUBLE: return ((const double *)d)[i];
    case GRAFT_HALF: return half_to_float(((const uint16_t *)d)[i]);
    case GRAFT_BFLOAT16: return bf16_to_float(((const uint16_t *)d)[i]);
    default: return 0;
    }
}

static int64_t ival(const graft_tensor *t, int64_t i)
{
    const void *d = graft_tensor_cdata(t);
    switch (graft_tensor_dtype(t)) {
    case GRAFT_INT8: return ((const int8_t *)d)[i];
    case GRAFT_INT16: return ((const int16_t *)d)[i];
    case GRAFT_INT32: return ((const int32_t *)d)[i];
    case GRAFT_INT64: return ((const int64_t *)d)[i];
    default: return 0;
    }
}

static uint64_t uval(const graft_tensor *t, int64_t i)
{
    const void *d = graft_tensor_cdata(t);
    switch (graft_tensor_dtype(t)) {
    case GRAFT_UINT8: case GRAFT_BOOL: return ((const uint8_t *)d)[i];
    case GRAFT_UINT16: return ((const uint16_t *)d)[i];
    case GRAFT_UINT32: return ((const uint32_t *)d)[i];
    case GRAFT_UINT64: return ((const uint64_t *)d)[i];
    default: return 0;
    }
}

/* Shortest decimal that reads back as v (Python's repr); "nan"/"inf" as JSON strings. */
static void fmt_double(char *buf, size_t cap, double v, bool json)
{
    if (isnan(v)) snprintf(buf, cap, json ? "\"nan\"" : "nan");
    else if (isinf(v)) snprintf(buf, cap, json ? "\"%sinf\"" : "%sinf", v < 0 ? "-" : "");
    else {
        for (int p = 1; p <= 17; p++) {
            snprintf(buf, cap, "%.*g", p, v);
            if (strtod(buf, NULL) == v) break;
        }
        if (json && !strpbrk(buf, ".eEn")) strncat(buf, ".0", cap - strlen(buf) - 1);
    }
}

static void fmt_i128(char *buf, size_t cap, i128 v)
{
    char tmp[48];
    int n = 0;
    bool neg = v < 0;
    u128 u = neg ? (u128)(-(v + 1)) + 1 : (u128)v;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    size_t o = 0;
    if (neg && o + 1 < cap) buf[o++] = '-';
    while (n > 0 && o + 1 < cap) buf[o++] = tmp[--n];
    buf[o] = '\0';
}

typedef struct stats {
    bool ok;
    char sum[64], min[64], max[64];
} stats;

static void compute_stats(const graft_tensor *t, stats *s, bool json)
{
    memset(s, 0, sizeof *s);
    int k = kind_of(graft_tensor_dtype(t));
    int64_t n = graft_tensor_num_elements(t);
    if (k == K_NONE) return;
    s->ok = true;
    if (n == 0) {
        strcpy(s->sum, "0");
        strcpy(s->min, "null");
        strcpy(s->max, "null");
        return;
    }
    if (k == K_FLOAT) {
        fsum f = {0};
        double mn = INFINITY, mx = -INFINITY;
        bool nan = false;
        for (int64_t i = 0; i < n; i++) {
            double v = fval(t, i);
            fsum_add(&f, v);
            if (isnan(v)) nan = true;
            else {
                if (v < mn) mn = v;
                if (v > mx) mx = v;
            }
        }
        fmt_double(s->sum, sizeof s->sum, fsum_result(&f), json);
        fmt_double(s->min, sizeof s->min, nan ? NAN : mn, json);
        fmt_double(s->max, sizeof s->max, nan ? NAN : mx, json);
        free(f.p);
    } else if (k == K_INT) {
        i128 sum = 0;
        int64_t mn = INT64_MAX, mx = INT64_MIN;
        for (int64_t i = 0; i < n; i++) {
            int64_t v = ival(t, i);
            sum += v;
            if (v < mn) mn = v;
            if (v > mx) mx = v;
        }
        fmt_i128(s->sum, sizeof s->sum, sum);
        fmt_i128(s->min, sizeof s->min, mn);
        fmt_i128(s->max, sizeof s->max, mx);
    } else {
        i128 sum = 0;
        uint64_t mn = UINT64_MAX, mx = 0;
        for (int64_t i = 0; i < n; i++) {
            uint64_t v = uval(t, i);
            sum += (i128)v;
            if (v < mn) mn = v;
            if (v > mx) mx = v;
        }
        fmt_i128(s->sum, sizeof s->sum, sum);
        fmt_i128(s->min, sizeof s->min, (i128)mn);
        fmt_i128(s->max, sizeof s->max, (i128)mx);
    }
}

/* ---- output helpers ------------------------------------------------------------------- */
static void json_string(FILE *f, const char *s, size_t n)
{
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n; i++) {
        unsigned c = p[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c == '\t') fputs("\\t", f);
        else if (c < 0x20 || c == 0x7f) fprintf(f, "\\u%04x", c);
        else if (c < 0x80) fputc((int)c, f);
        else {
            /* pass valid UTF-8 through, escape stray bytes as code points U+0080..U+00FF */
            int len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
            bool valid = len > 0 && i + (size_t)len <= n;
            for (int k = 1; valid && k < len; k++) valid = (p[i + (size_t)k] & 0xc0) == 0x80;
            if (valid) {
                fwrite(p + i, 1, (size_t)len, f);
                i += (size_t)len - 1;
            } else {
                fprintf(f, "\\u%04x", c);
            }
        }
    }
    fputc('"', f);
}

static void print_shape(FILE *f, const graft_shape *s, bool json)
{
    fputc('[', f);
    for (int i = 0; i < s->rank; i++) fprintf(f, "%s%lld", i ? (json ? ", " : ",") : "", (long long)s->dims[i]);
    fputc(']', f);
}

static void print_value(FILE *f, const graft_tensor *t, int64_t i, bool json)
{
    char b[64];
    graft_dtype dt = graft_tensor_dtype(t);
    switch (kind_of(dt)) {
    case K_FLOAT:
        if (dt == GRAFT_FLOAT || dt == GRAFT_HALF || dt == GRAFT_BFLOAT16) {
            /* shortest float32 that reads back */
            float v = (float)fval(t, i);
            if (!isfinite(v)) fmt_double(b, sizeof b, v, json);
            else
                for (int p = 1; p <= 9; p++) {
                    snprintf(b, sizeof b, "%.*g", p, (double)v);
                    if (strtof(b, NULL) == v) break;
                }
        } else {
            fmt_double(b, sizeof b, fval(t, i), json);
        }
        fputs(b, f);
        break;
    case K_INT: fprintf(f, "%lld", (long long)ival(t, i)); break;
    case K_UINT:
        if (dt == GRAFT_BOOL) fputs(uval(t, i) ? "true" : "false", f);
        else fprintf(f, "%llu", (unsigned long long)uval(t, i));
        break;
    default: {
        const graft_str *s = (const graft_str *)graft_tensor_cdata(t) + i;
        json_string(f, s->ptr ? s->ptr : "", s->len);
    }
    }
}

static void print_values(FILE *f, const graft_tensor *t, bool json)
{
    int64_t n = graft_tensor_num_elements(t);
    int rank = graft_tensor_rank(t);
    int64_t row = rank ? graft_tensor_dim(t, rank - 1) : 1;
    if (json) {
        fputc('[', f);
        for (int64_t i = 0; i < n; i++) {
            if (i) fputs(", ", f);
            print_value(f, t, i, true);
        }
        fputc(']', f);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        print_value(f, t, i, false);
        fputc(row > 0 && (i + 1) % row == 0 ? '\n' : ' ', f);
    }
}

/* ---- the command ------------------------------------------------------------------------ */
/* A Keras HDF5 file: its layout and versions, then every weight (TensorFlow name,
 * dtype, shape, statistics, the dataset it came from); --tensor prints one. */
static int inspect_keras(const char *path, bool json, bool want_stats, const char *tensor)
{
    graft_status st;
    graft_keras_weights *kw = graft_keras_weights_read(path, NULL, &st);
    if (!kw) {
        fprintf(stderr, "graft inspect: %s\n", st.msg);
        return 1;
    }
    int n = graft_keras_num_weights(kw);
    if (tensor) {
        int k = graft_keras_find_weight(kw, tensor);
        if (k < 0) {
            fprintf(stderr, "graft inspect: %s: %s: no such weight\n", path, tensor);
            graft_keras_weights_free(kw);
            return 1;
        }
        const graft_tensor *t = graft_keras_weight_tensor(kw, k);
        graft_shape sh = graft_tensor_shape(t);
        printf("%s %s ", tensor, graft_dtype_name(graft_tensor_dtype(t)));
        print_shape(stdout, &sh, false);
        printf("\n");
        print_values(stdout, t, false);
        if (graft_tensor_num_elements(t) == 0 || graft_tensor_rank(t) == 0) printf("\n");
        graft_keras_weights_free(kw);
        return 0;
    }
    int width = 4;
    for (int i = 0; i < n; i++)
        if ((int)strlen(graft_keras_weight_name(kw, i)) > width) width = (int)strlen(graft_keras_weight_name(kw, i));
    if (json) {
        printf("{\"path\": ");
        json_string(stdout, path, strlen(path));
        printf(", \"format\": \"%s\", \"keras_version\": ", graft_keras_weights_layout(kw));
        json_string(stdout, graft_keras_weights_keras_version(kw), strlen(graft_keras_weights_keras_version(kw)));
        printf(", \"tensors\": [");
    } else {
        const char *v = graft_keras_weights_keras_version(kw), *b = graft_keras_weights_backend(kw);
        printf("%s (Keras %s%s%s%s%s, %d layers, %d weights)\n", path, graft_keras_weights_layout(kw), *v ? ", " : "",
               v, *b ? ", " : "", b, graft_keras_num_layers(kw), n);
    }
    for (int i = 0; i < n; i++) {
        const graft_tensor *t = graft_keras_weight_tensor(kw, i);
        graft_shape sh = graft_tensor_shape(t);
        stats s = {0};
        if ((want_stats || json) && kind_of(graft_tensor_dtype(t)) != K_NONE) compute_stats(t, &s, json);
        const char *name = graft_keras_weight_name(kw, i), *dn = graft_dtype_name(graft_tensor_dtype(t));
        if (json) {
            printf("%s\n  {\"name\": ", i ? "," : "");
            json_string(stdout, name, strlen(name));
            printf(", \"dtype\": \"%s\", \"shape\": ", dn);
            print_shape(stdout, &sh, true);
            printf(", \"path\": ");
            json_string(stdout, graft_keras_weight_path(kw, i), strlen(graft_keras_weight_path(kw, i)));
            printf(", \"sum\": %s, \"min\": %s, \"max\": %s}", s.ok ? s.sum : "null", s.ok ? s.min : "null",
                   s.ok ? s.max : "null");
        } else {
            printf("%-*s  %-9s ", width, name, dn);
            print_shape(stdout, &sh, false);
            if (s.ok) printf("  sum=%s min=%s max=%s", s.sum, s.min, s.max);
            printf("  (%s)\n", graft_keras_weight_path(kw, i));
        }
    }
    if (json) printf("%s]}\n", n ? "\n" : "");
    graft_keras_weights_free(kw);
    return 0;
}

int graft_cmd_inspect(int argc, char **argv)
{
    bool json = false, want_stats = false;
    const char *tensor = NULL, *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--stats")) want_stats = true;
        else if (!strcmp(argv[i], "--tensor") && i + 1 < argc) tensor = argv[++i];
        else if (!strncmp(argv[i], "--tensor=", 9)) tensor = argv[i] + 9;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "graft inspect: unknown option '%s'\n", argv[i]);
            graft_cli_print_usage(stderr, "inspect");
            return 2;
        } else if (!path) path = argv[i];
        else {
            fprintf(stderr, "graft inspect: more than one PATH ('%s', '%s')\n", path, argv[i]);
            return 2;
        }
    }
    if (!path) {
        graft_cli_print_usage(stderr, "inspect");
        return 2;
    }
    if (graft_cli_is_hdf5(path)) return inspect_keras(path, json, want_stats, tensor);
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(path, NULL, &st);
    if (!r) {
        fprintf(stderr, "graft inspect: %s\n", st.msg);
        return 1;
    }
    int rc = 0;
    const char *fmt = graft_ckpt_reader_format(r) == GRAFT_CKPT_V1 ? "V1" : "V2";
    if (tensor) {
        int k = graft_ckpt_reader_find(r, tensor);
        graft_tensor *t = NULL;
        if (k < 0 || graft_ckpt_reader_read(r, tensor, &t, &st) != GRAFT_OK) {
            if (k < 0) fprintf(stderr, "graft inspect: %s: %s: no such tensor\n", graft_ckpt_reader_prefix(r), tensor);
            else fprintf(stderr, "graft inspect: %s\n", st.msg);
            graft_ckpt_reader_free(r);
            return 1;
        }
        graft_shape sh = graft_tensor_shape(t);
        const char *dn = graft_dtype_name(graft_tensor_dtype(t));
        if (json) {
            printf("{\"name\": ");
            json_string(stdout, tensor, strlen(tensor));
            printf(", \"dtype\": \"%s\", \"shape\": ", dn);
            print_shape(stdout, &sh, true);
            printf(", \"values\": ");
            print_values(stdout, t, true);
            printf("}\n");
        } else {
            printf("%s %s ", tensor, dn);
            print_shape(stdout, &sh, false);
            printf("\n");
            print_values(stdout, t, false);
            if (graft_tensor_num_elements(t) == 0 || graft_tensor_rank(t) == 0) printf("\n");
        }
        graft_tensor_free(t);
        graft_ckpt_reader_free(r);
        return 0;
    }
    int n = graft_ckpt_reader_num_entries(r);
    bool stats_on = want_stats || json; /* the JSON object always carries sum/min/max */
    int width = 4;
    for (int i = 0; i < n; i++) {
        graft_ckpt_entry e;
        graft_ckpt_reader_entry(r, i, &e);
        int l = (int)strlen(e.name);
        if (l > width) width = l;
    }
    if (json) {
        printf("{\"prefix\": ");
        json_string(stdout, graft_ckpt_reader_prefix(r), strlen(graft_ckpt_reader_prefix(r)));
        printf(", \"format\": \"%s\", \"tensors\": [", fmt);
    } else {
        printf("%s (%s, %d tensor%s)\n", graft_ckpt_reader_prefix(r), fmt, n, n == 1 ? "" : "s");
    }
    for (int i = 0; i < n; i++) {
        graft_ckpt_entry e;
        graft_ckpt_reader_entry(r, i, &e);
        stats s = {0};
        if (stats_on && kind_of((graft_dtype)e.dtype) != K_NONE) {
            graft_tensor *t = NULL;
            if (graft_ckpt_reader_read(r, e.name, &t, &st) != GRAFT_OK) {
                fflush(stdout);
                fprintf(stderr, "graft inspect: %s\n", st.msg);
                rc = 1;
                break;
            }
            compute_stats(t, &s, json);
            graft_tensor_free(t);
        }
        if (json) {
            printf("%s\n  {\"name\": ", i ? "," : "");
            json_string(stdout, e.name, strlen(e.name));
            printf(", \"dtype\": \"%s\", \"shape\": ", graft_ckpt_dtype_name(e.dtype));
            print_shape(stdout, &e.shape, true);
            printf(", \"sum\": %s, \"min\": %s, \"max\": %s}", s.ok ? s.sum : "null", s.ok ? s.min : "null",
                   s.ok ? s.max : "null");
        } else {
            printf("%-*s  %-9s ", width, e.name, graft_ckpt_dtype_name(e.dtype));
            print_shape(stdout, &e.shape, false);
            if (s.ok) printf("  sum=%s min=%s max=%s", s.sum, s.min, s.max);
            if (e.num_slices > 1) printf("  (%d slices)", e.num_slices);
            printf("\n");
        }
    }
    if (json) printf("%s]}\n", n ? "\n" : "");
    graft_ckpt_reader_free(r);
    return rc;
}
