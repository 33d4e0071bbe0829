/* lib/data/idx.c - IDX files (the MNIST / Fashion-MNIST format), plain or
 * gzip-compressed: read through graft's I/O hooks, inflated with zlib, the
 * header checked against the data length before the payload is allocated. */
#include <fcntl.h>
#include <stdio.h>
#include <zlib.h>

#include "data_internal.h"

#define IDX_MAX_RANK 4
/* deflate cannot compress better than about 1032:1; a header that claims more
 * data than that is a lie we refuse before allocating. */
#define DEFLATE_MAX_RATIO 1040

typedef struct idx_file {
    int rank;
    int64_t dims[IDX_MAX_RANK];
    uint8_t *data; /* owned payload: product of dims bytes */
    size_t nbytes;
} idx_file;

static void *z_alloc(void *opaque, uInt items, uInt size)
{
    (void)opaque;
    size_t n;
    return graftI_mul_size(items, size, &n) ? graftI_malloc(n ? n : 1) : NULL;
}

static void z_free(void *opaque, void *p)
{
    (void)opaque;
    graftI_free(p);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static const char *idx_type_name(int t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return NULL;
    }
}

/* Checks the 4-byte magic (00 00 type rank); the type must be unsigned byte. */
static graft_code check_magic(const char *path, const uint8_t *h, int want_rank, graft_status *st)
{
    if (h[0] != 0 || h[1] != 0 || !idx_type_name(h[2]))
        return graft_status_set(
            st, GRAFT_ERR_CORRUPT,
            "%s: offset 0: not an IDX file (magic 00 00 <type> <rank> vs %02x %02x %02x %02x)", path, h[0],
            h[1], h[2], h[3]);
    if (h[2] != 0x08)
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                "%s: offset 2: IDX element type 0x%02x %s (0x08 unsigned byte expected)",
                                path, h[2], idx_type_name(h[2]));
    if (h[3] != want_rank)
        return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset 3: IDX rank (%d vs %d)", path, want_rank,
                                h[3]);
    return GRAFT_OK;
}

/* Reads the dims after the magic and the payload size they imply (capped). */
static graft_code parse_dims(const char *path, const uint8_t *h, int rank, int64_t max_bytes, idx_file *f,
                             graft_status *st)
{
    int64_t total = 1;
    f->rank = rank;
    for (int i = 0; i < rank; i++) {
        f->dims[i] = be32(h + 4 + 4 * i);
        /* the first dim (item count) may be 0; image rows/cols may not */
        if (i > 0 && f->dims[i] == 0)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %d: dimension %d is 0 (> 0 expected)",
                                    path, 4 + 4 * i, i);
        if (!graftI_mul_i64(total, f->dims[i], &total) || total > max_bytes)
            return graft_status_set(
                st, GRAFT_ERR_NOMEM,
                "%s: offset %d: IDX dimensions need more than the cap of %lld bytes (raise max_bytes)", path,
                4 + 4 * i, (long long)max_bytes);
    }
    f->nbytes = (size_t)total;
    return GRAFT_OK;
}

/* avail_in is 32-bit: feed inputs over 4 GiB in slices (next_in already points
 * past what was consumed). */
static void refill(z_stream *zs, size_t clen)
{
    if (zs->avail_in == 0 && zs->total_in < clen) {
        size_t rem = clen - (size_t)zs->total_in;
        zs->avail_in = rem > UINT32_MAX ? UINT32_MAX : (uInt)rem;
    }
}

/* Inflates exactly n bytes into dst. *ended is set when the gzip stream ends. */
static graft_code z_read(const char *path, z_stream *zs, size_t *produced, size_t clen, uint8_t *dst,
                         size_t n, bool *ended, graft_status *st)
{
    while (n > 0) {
        refill(zs, clen);
        uInt chunk = n > (size_t)UINT32_MAX ? UINT32_MAX : (uInt)n;
        zs->next_out = dst;
        zs->avail_out = chunk;
        int r = inflate(zs, Z_NO_FLUSH);
        size_t got = chunk - zs->avail_out;
        dst += got;
        n -= got;
        *produced += got;
        if (r == Z_STREAM_END) {
            *ended = true;
            if (n > 0)
                return graft_status_set(
                    st, GRAFT_ERR_CORRUPT,
                    "%s: offset %zu (uncompressed): truncated: need %zu more bytes, data ends here", path,
                    *produced, n);
            return GRAFT_OK;
        }
        if (r == Z_MEM_ERROR) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: zlib: out of memory", path);
        if (r == Z_DATA_ERROR || r == Z_NEED_DICT || r == Z_STREAM_ERROR)
            return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                    "%s: offset %zu (uncompressed): bad gzip data (%s)", path, *produced,
                                    zs->msg ? zs->msg : "inflate failed");
        if (r == Z_BUF_ERROR || (got == 0 && zs->avail_in == 0))
            return graft_status_set(
                st, GRAFT_ERR_CORRUPT,
                "%s: offset %zu (uncompressed): truncated gzip file: need %zu more bytes, "
                "compressed data ends at %zu bytes",
                path, *produced, n, clen);
    }
    return GRAFT_OK;
}

/* A gzip-compressed IDX file held in memory. */
static graft_code read_gz(const char *path, const uint8_t *buf, size_t len, int want_rank, int64_t max_bytes,
                          idx_file *f, graft_status *st)
{
    if (len < 18)
        return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                "%s: offset 0: truncated gzip file: need at least 18 bytes, file has %zu",
                                path, len);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    zs.zalloc = z_alloc;
    zs.zfree = z_free;
    int zr = inflateInit2(&zs, 16 + MAX_WBITS); /* gzip wrapper only */
    if (zr != Z_OK)
        return graft_status_set(st, zr == Z_MEM_ERROR ? GRAFT_ERR_NOMEM : GRAFT_ERR_INTERNAL,
                                "%s: zlib: inflateInit2 failed (%d)", path, zr);
    zs.next_in = (Bytef *)(uintptr_t)buf;
    zs.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
    graft_code rc = GRAFT_OK;
    size_t produced = 0;
    bool ended = false;
    uint8_t hdr[4 + 4 * IDX_MAX_RANK];
    if ((rc = z_read(path, &zs, &produced, len, hdr, 4, &ended, st))) goto out;
    if ((rc = check_magic(path, hdr, want_rank, st))) goto out;
    if ((rc = z_read(path, &zs, &produced, len, hdr + 4, 4 * (size_t)want_rank, &ended, st))) goto out;
    if ((rc = parse_dims(path, hdr, want_rank, max_bytes, f, st))) goto out;
    /* Before allocating: the gzip trailer (ISIZE) records the uncompressed size
     * mod 2^32, and the compressed size bounds it. */
    size_t hdr_len = 4 + 4 * (size_t)want_rank;
    uint64_t want_total = (uint64_t)hdr_len + f->nbytes;
    uint32_t isize = (uint32_t)buf[len - 4] | (uint32_t)buf[len - 3] << 8 | (uint32_t)buf[len - 2] << 16 |
                     (uint32_t)buf[len - 1] << 24;
    if ((uint32_t)want_total != isize) {
        rc = graft_status_set(
            st, GRAFT_ERR_CORRUPT,
            "%s: offset %zu: uncompressed size (%llu bytes from the IDX header vs %lu mod 2^32 "
            "recorded in the gzip trailer): truncated or corrupt file",
            path, len - 4, (unsigned long long)want_total, (unsigned long)isize);
        goto out;
    }
    if (f->nbytes / DEFLATE_MAX_RATIO > len) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                              "%s: IDX header declares %zu bytes, more than %zu compressed bytes can hold",
                              path, f->nbytes, len);
        goto out;
    }
    f->data = graftI_malloc(f->nbytes ? f->nbytes : 1);
    if (!f->data) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot allocate %zu bytes", path, f->nbytes);
        goto out;
    }
    if ((rc = z_read(path, &zs, &produced, len, f->data, f->nbytes, &ended, st))) goto out;
    /* The payload is complete: the stream must end now, which also checks the
     * gzip trailer (CRC-32 and length). */
    while (!ended) {
        uint8_t extra;
        refill(&zs, len);
        zs.next_out = &extra;
        zs.avail_out = 1;
        int r = inflate(&zs, Z_NO_FLUSH);
        if (zs.avail_out == 0) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                                  "%s: offset %zu (uncompressed): trailing data after the IDX payload "
                                  "(end of data vs more bytes)",
                                  path, produced);
            goto out;
        }
        if (r == Z_STREAM_END) break;
        if (r == Z_MEM_ERROR) {
            rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: zlib: out of memory", path);
            goto out;
        }
        if (r != Z_OK) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %zu (uncompressed): bad gzip data (%s)",
                                  path, produced,
                                  r == Z_BUF_ERROR ? "stream ends without its trailer"
                                  : zs.msg         ? zs.msg
                                                   : "inflate failed");
            goto out;
        }
        if (zs.avail_in == 0) {
            rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                                  "%s: offset %zu: truncated gzip file: trailer missing", path, len);
            goto out;
        }
    }
    if (zs.total_in != len)
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                              "%s: offset %zu: %zu trailing bytes after the gzip stream", path,
                              (size_t)zs.total_in, len - (size_t)zs.total_in);
out:
    inflateEnd(&zs);
    if (rc) {
        graftI_free(f->data);
        f->data = NULL;
    }
    return rc;
}

/* An uncompressed IDX file held in memory; takes ownership of buf. */
static graft_code read_raw(const char *path, uint8_t *buf, size_t len, int want_rank, int64_t max_bytes,
                           idx_file *f, graft_status *st)
{
    size_t hdr_len = 4 + 4 * (size_t)want_rank;
    graft_code rc;
    if (len < 4) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset 0: truncated: need 4 bytes, file has %zu",
                              path, len);
        goto fail;
    }
    if ((rc = check_magic(path, buf, want_rank, st))) goto fail;
    if (len < hdr_len) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                              "%s: offset 4: truncated: need %zu header bytes, file has %zu", path, hdr_len,
                              len);
        goto fail;
    }
    if ((rc = parse_dims(path, buf, want_rank, max_bytes, f, st))) goto fail;
    if (len - hdr_len < f->nbytes) {
        rc =
            graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %zu: truncated: need %zu bytes, file has %zu",
                             path, hdr_len, f->nbytes, len - hdr_len);
        goto fail;
    }
    if (len - hdr_len > f->nbytes) {
        rc = graft_status_set(st, GRAFT_ERR_CORRUPT,
                              "%s: offset %zu: %zu trailing bytes after the IDX payload", path,
                              hdr_len + f->nbytes, len - hdr_len - f->nbytes);
        goto fail;
    }
    memmove(buf, buf + hdr_len, f->nbytes);
    f->data = buf;
    return GRAFT_OK;
fail:
    graftI_free(buf);
    return rc;
}

static graft_code idx_read(const char *path, int want_rank, int64_t max_bytes, idx_file *f, graft_status *st)
{
    memset(f, 0, sizeof *f);
    uint8_t *buf;
    size_t len;
    graft_code rc = graftI_read_file(path, (size_t)max_bytes, &buf, &len, st);
    if (rc) return rc;
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        rc = read_gz(path, buf, len, want_rank, max_bytes, f, st);
        graftI_free(buf);
        return rc;
    }
    return read_raw(path, buf, len, want_rank, max_bytes, f, st);
}

graft_dataset *graft_dataset_load_idx(const char *images_path, const char *labels_path,
                                      const graft_data_opts *opts, graft_status *st)
{
    if (!images_path || !labels_path)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_dataset_load_idx: NULL path"), NULL;
    graft_data_opts o;
    graftI_data_opts_resolve(opts, &o);
    if (graftI_ds_check_filter(&o, images_path, st)) return NULL;
    idx_file lf, imf;
    if (idx_read(labels_path, 1, o.max_bytes, &lf, st)) return NULL;
    if (idx_read(images_path, 3, o.max_bytes, &imf, st)) {
        graftI_free(lf.data);
        return NULL;
    }
    graft_dataset *ds = NULL;
    int32_t *labels = NULL;
    if (lf.dims[0] != imf.dims[0]) {
        graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset 4: item count (%lld images in %s vs %lld labels)",
                         labels_path, (long long)imf.dims[0], images_path, (long long)lf.dims[0]);
        goto out;
    }
    int64_t n = imf.dims[0];
    if (graftI_ds_check_dims(images_path, GRAFT_UINT8, n, imf.dims[1], imf.dims[2], 1, o.max_bytes, NULL, st))
        goto out;
    labels = graftI_malloc(n ? (size_t)n * sizeof(int32_t) : 1);
    if (!labels) {
        graft_status_set(st, GRAFT_ERR_NOMEM, "%s: cannot allocate %lld labels", labels_path, (long long)n);
        goto out;
    }
    for (int64_t i = 0; i < n; i++) labels[i] = lf.data[i];
    ds = graftI_ds_adopt(GRAFT_UINT8, n, imf.dims[1], imf.dims[2], 1, imf.data, labels, st);
    imf.data = NULL;
    labels = NULL;
    if (ds && graftI_ds_filter_inplace(ds, &o, images_path, st)) {
        graft_dataset_free(ds);
        ds = NULL;
    }
    if (ds) graft_status_clear(st);
out:
    graftI_free(lf.data);
    graftI_free(imf.data);
    graftI_free(labels);
    return ds;
}

/* dir/name, or NULL when out of memory. */
static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = graftI_malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

/* dir/<base>.gz when it exists (or cannot be probed), else dir/<base>. */
static char *pick(const char *dir, const char *base)
{
    char gzname[64];
    snprintf(gzname, sizeof gzname, "%s.gz", base);
    char *gz = join(dir, gzname);
    if (!gz) return NULL;
    const graft_io_hooks *io = graftI_io();
    int fd = io->open(io->ud, gz, O_RDONLY, 0);
    if (fd >= 0) {
        io->close(io->ud, fd);
        return gz;
    }
    char *plain = join(dir, base);
    if (!plain) return gz;
    fd = io->open(io->ud, plain, O_RDONLY, 0);
    if (fd >= 0) {
        io->close(io->ud, fd);
        graftI_free(gz);
        return plain;
    }
    graftI_free(plain);
    return gz; /* report the .gz name */
}

graft_dataset *graft_dataset_load_fashion_mnist(const graft_data_opts *opts, graft_status *st)
{
    graft_data_opts o;
    graftI_data_opts_resolve(opts, &o);
    const char *dir = o.dir ? o.dir : GRAFT_FASHION_MNIST_DIR;
    const char *pre = o.split == GRAFT_SPLIT_TEST ? "t10k" : "train";
    if (o.split != GRAFT_SPLIT_TRAIN && o.split != GRAFT_SPLIT_TEST)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "fashion-mnist: unknown split %d", (int)o.split),
               NULL;
    char ib[64], lb[64];
    snprintf(ib, sizeof ib, "%s-images-idx3-ubyte", pre);
    snprintf(lb, sizeof lb, "%s-labels-idx1-ubyte", pre);
    char *ip = pick(dir, ib), *lp = pick(dir, lb);
    graft_dataset *ds = NULL;
    if (!ip || !lp) {
        graft_status_set(st, GRAFT_ERR_NOMEM, "fashion-mnist: out of memory");
    } else {
        ds = graft_dataset_load_idx(ip, lp, &o, st);
        if (!ds && st && st->code == GRAFT_ERR_NOT_FOUND && !o.dir) {
            size_t l = strlen(st->msg);
            snprintf(st->msg + l, sizeof st->msg - l, " (apt-get install dataset-fashion-mnist)");
        }
    }
    graftI_free(ip);
    graftI_free(lp);
    return ds;
}
