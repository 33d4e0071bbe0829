/*
 * graft/common.h - error codes, status objects, version, and the process-wide
 * allocation and file-I/O hooks that graft's fault-injection tests use.
 *
 * Conventions (they hold for every graft header):
 *  - Every public name starts with graft_ or GRAFT_.
 *  - Objects with a lifetime are opaque handles made by graft_X_new / graft_X_open
 *    and released by graft_X_free; passing NULL to a _free function is a no-op.
 *  - Fallible calls return a graft_code and take a trailing `graft_status *st`
 *    (may be NULL). On success st->code is GRAFT_OK and st->msg is "", on failure
 *    st holds the code and a message of the form "<file>: <key or offset>: <what>".
 *  - Graph-building calls instead use a sticky error on the graph (see graph.h).
 *  - The library never aborts or exits on caller input or file content.
 */
#ifndef GRAFT_COMMON_H
#define GRAFT_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(GRAFT_SHARED_BUILD)
#define GRAFT_API __declspec(dllexport)
#elif defined(__GNUC__)
#define GRAFT_API __attribute__((visibility("default")))
#else
#define GRAFT_API
#endif

#define GRAFT_VERSION_MAJOR 0
#define GRAFT_VERSION_MINOR 1
#define GRAFT_VERSION_PATCH 0
#define GRAFT_VERSION_STRING "0.1.0"
#define GRAFT_VERSION_NUMBER (GRAFT_VERSION_MAJOR * 1000000 + GRAFT_VERSION_MINOR * 1000 + GRAFT_VERSION_PATCH)

/* Library version at run time; compare with GRAFT_VERSION_NUMBER. */
GRAFT_API int graft_version_number(void);

typedef enum graft_code {
    GRAFT_OK = 0,
    GRAFT_ERR_INVALID_ARG,  /* a bad argument from the caller (shape, dtype, name syntax) */
    GRAFT_ERR_NOT_FOUND,    /* a named op, tensor, file or checkpoint key does not exist */
    GRAFT_ERR_SHAPE,        /* shapes are incompatible */
    GRAFT_ERR_DTYPE,        /* dtypes are incompatible */
    GRAFT_ERR_NOMEM,        /* an allocation failed or a resource cap was reached */
    GRAFT_ERR_IO,           /* the operating system reported an error */
    GRAFT_ERR_CORRUPT,      /* a file is malformed, truncated or fails a checksum */
    GRAFT_ERR_VERSION,      /* a file needs a newer reader, or is too old */
    GRAFT_ERR_UNSUPPORTED,  /* valid input that graft does not handle (op, dtype, feature) */
    GRAFT_ERR_FAILED_PRECONDITION, /* e.g. unfed placeholder, uninitialised variable */
    GRAFT_ERR_MISUSE,       /* the API contract was broken (wrong graph, freed handle) */
    GRAFT_ERR_ABORTED,      /* the abort callback asked to stop */
    GRAFT_ERR_INTERNAL,     /* a bug in graft */
    GRAFT_CODE_COUNT
} graft_code;

/* A short constant name for a code ("GRAFT_ERR_CORRUPT" -> "corrupt data"). */
GRAFT_API const char *graft_code_str(graft_code code);

#define GRAFT_STATUS_MSG_MAX 2048

/* Plain status object: lives wherever the caller puts it (stack is fine). */
typedef struct graft_status {
    graft_code code;
    char msg[GRAFT_STATUS_MSG_MAX];
} graft_status;

/* Sets st to OK with an empty message. */
GRAFT_API void graft_status_clear(graft_status *st);
/* Sets code and a printf-style message; returns code. st may be NULL. */
GRAFT_API graft_code graft_status_set(graft_status *st, graft_code code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- process-wide hooks (fault injection, embedding) ----------------------
 * The allocator hook has Lua's realloc-style signature: nsize == 0 frees ptr and
 * returns NULL; otherwise it returns a block of nsize bytes (or NULL on failure),
 * keeping min(osize, nsize) bytes of ptr. Every byte graft allocates goes through
 * it (protobuf-c's and libhdf5's internal allocations excepted where noted).
 * Install hooks before creating any graft object; NULL restores the default. */
typedef void *(*graft_alloc_fn)(void *ud, void *ptr, size_t osize, size_t nsize);
GRAFT_API void graft_set_allocator(graft_alloc_fn fn, void *ud);

/* What the stat hooks report: the size of a regular file and its kind. */
typedef enum graft_file_kind { GRAFT_FILE_REGULAR = 1, GRAFT_FILE_DIRECTORY = 2, GRAFT_FILE_OTHER = 3 } graft_file_kind;
typedef struct graft_file_stat {
    int64_t size;         /* bytes, for GRAFT_FILE_REGULAR */
    graft_file_kind kind;
} graft_file_stat;

/* File operations seam used by every reader and writer in graft. Each member
 * has the POSIX meaning and returns -1 with errno set on failure. A NULL member
 * means the POSIX default, so a hook set may replace only what it needs (and sets
 * written before stat/fstat existed keep working). Directory listings (retention
 * sweeps, "did you mean" lists in messages) read the real file system. */
typedef struct graft_io_hooks {
    int (*open)(void *ud, const char *path, int flags, int mode);
    long (*read)(void *ud, int fd, void *buf, size_t n);
    long (*write)(void *ud, int fd, const void *buf, size_t n);
    long (*pread)(void *ud, int fd, void *buf, size_t n, int64_t off);
    int (*fsync)(void *ud, int fd);
    int (*close)(void *ud, int fd);
    int (*rename)(void *ud, const char *from, const char *to);
    int (*unlink)(void *ud, const char *path);
    void *ud;
    int (*stat)(void *ud, const char *path, graft_file_stat *out); /* follows symlinks */
    int (*fstat)(void *ud, int fd, graft_file_stat *out);
} graft_io_hooks;
/* Installs hooks (copied; NULL members take the defaults); NULL restores the POSIX
 * defaults. */
GRAFT_API void graft_set_io_hooks(const graft_io_hooks *hooks);
/* The POSIX defaults, for hooks that wrap them. */
GRAFT_API const graft_io_hooks *graft_default_io_hooks(void);

/* Optional log hook for warnings the library wants a human to see (e.g. a
 * checkpoint state file naming a missing checkpoint). Default: stderr. */
typedef enum graft_log_level { GRAFT_LOG_DEBUG, GRAFT_LOG_INFO, GRAFT_LOG_WARN, GRAFT_LOG_ERROR } graft_log_level;
typedef void (*graft_log_fn)(void *ud, graft_log_level level, const char *msg);
GRAFT_API void graft_set_log(graft_log_fn fn, void *ud);

#ifdef __cplusplus
}
#endif
#endif
