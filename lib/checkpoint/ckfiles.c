/* lib/checkpoint/ckfiles.c - file and path helpers for the checkpoint module: exact
 * reads and writes through the graftI_io() hooks, file sizes, path joins, and a
 * printable form of binary table keys for error messages. */
#include <errno.h>
#include <stdio.h>

#include "checkpoint/ckpt_internal.h"

graft_code graftI_ck_file_size(const char *path, uint64_t *size, graft_status *st)
{
    const graft_io_hooks *io = graftI_io();
    graft_file_stat sb;
    if (io->stat(io->ud, path, &sb) != 0)
        return graft_status_set(st, errno == ENOENT || errno == ENOTDIR ? GRAFT_ERR_NOT_FOUND : GRAFT_ERR_IO,
                                "%s: %s", path, strerror(errno));
    if (sb.kind != GRAFT_FILE_REGULAR || sb.size < 0)
        return graft_status_set(st, GRAFT_ERR_IO, "%s: not a regular file", path);
    *size = (uint64_t)sb.size;
    return GRAFT_OK;
}

static int kind_of(const char *path)
{
    const graft_io_hooks *io = graftI_io();
    graft_file_stat sb;
    return io->stat(io->ud, path, &sb) == 0 ? (int)sb.kind : 0;
}

bool graftI_ck_exists(const char *path) { return kind_of(path) == GRAFT_FILE_REGULAR; }

bool graftI_ck_is_dir(const char *path) { return kind_of(path) == GRAFT_FILE_DIRECTORY; }

graft_code graftI_ck_pread_full(int fd, const char *path, void *buf, size_t n, uint64_t off, graft_status *st)
{
    const graft_io_hooks *io = graftI_io();
    size_t got = 0;
    while (got < n) {
        if (off + got > (uint64_t)INT64_MAX)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %llu: beyond any file", path,
                                    (unsigned long long)off);
        long r = io->pread(io->ud, fd, (uint8_t *)buf + got, n - got, (int64_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0)
            return graft_status_set(st, GRAFT_ERR_IO, "%s: offset %llu: read: %s", path,
                                    (unsigned long long)(off + got), strerror(errno));
        if (r == 0)
            return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                    "%s: offset %llu: truncated: need %zu bytes at offset %llu, file ended", path,
                                    (unsigned long long)(off + got), n, (unsigned long long)off);
        got += (size_t)r;
    }
    return GRAFT_OK;
}

graft_code graftI_ck_write_full(int fd, const char *path, const void *buf, size_t n, graft_status *st)
{
    const graft_io_hooks *io = graftI_io();
    const uint8_t *p = buf;
    while (n > 0) {
        long w = io->write(io->ud, fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            return graft_status_set(st, GRAFT_ERR_IO, "%s: write: %s", path, w < 0 ? strerror(errno) : "no progress");
        p += w;
        n -= (size_t)w;
    }
    return GRAFT_OK;
}

char *graftI_ck_join(const char *dir, const char *name)
{
    if (!dir || !*dir || (name && name[0] == '/')) return graftI_strdup(name ? name : "");
    size_t dl = strlen(dir), nl = strlen(name);
    bool slash = dir[dl - 1] == '/';
    char *r = graftI_malloc(dl + nl + 2);
    if (!r) return NULL;
    memcpy(r, dir, dl);
    if (!slash) r[dl++] = '/';
    memcpy(r + dl, name, nl + 1);
    return r;
}

char *graftI_ck_dirname(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s) return graftI_strdup(".");
    if (s == path) return graftI_strdup("/");
    return graftI_strndup(path, (size_t)(s - path));
}

const char *graftI_ck_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

const char *graftI_ck_keystr(const uint8_t *key, size_t klen, char *buf, size_t cap)
{
    size_t o = 0, i = 0;
    if (cap < 12) {
        if (cap) buf[0] = '\0';
        return buf;
    }
    for (; i < klen && o + 8 < cap; i++) {
        uint8_t c = key[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            buf[o++] = (char)c;
        } else {
            snprintf(buf + o, cap - o, "\\x%02x", c);
            o += 4;
        }
    }
    if (i < klen) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}
