/*
 * lib/data/h5util.h - what graft's HDF5 readers share (h5util.c, h5guard.c, h5child.c):
 * libhdf5's error stack silenced and turned into messages, file images opened read-only
 * from memory, one dataset read under the hardening rules of docs/reliability.md,
 * string-array attributes, and parsing in a child process with the result sent back as
 * a blob the parent checks. Used by the dataset reader (h5data.c) and the Keras weights
 * reader (lib/keras/). Never installed.
 */
#ifndef GRAFT_H5UTIL_H
#define GRAFT_H5UTIL_H

#include <hdf5.h>

#include "data_internal.h"

#define H5D_MAX_RANK      8    /* ranks above this are refused before fetching dims */
#define H5D_STORAGE_RATIO 1100 /* deflate stays under ~1032:1 */

/* libhdf5 prints its error stack to stderr by default: silenced for the duration of
 * a call, the caller's handler restored afterwards. */
typedef struct graftI_h5_quiet {
    H5E_auto2_t func;
    void *data;
} graftI_h5_quiet;
GRAFTI_FUNC void graftI_h5_quiet_on(graftI_h5_quiet *q);
GRAFTI_FUNC void graftI_h5_quiet_off(graftI_h5_quiet *q);
/* The most specific message on the HDF5 error stack (then cleared). */
GRAFTI_FUNC const char *graftI_h5_err(char buf[200]);
/* A type's description for messages: "float64", "int16", "string", ... */
GRAFTI_FUNC const char *graftI_h5_type_desc(hid_t t, char buf[48]);

/* true when an HDF5 superblock signature sits at 0, 512, 1024, ... */
GRAFTI_FUNC bool graftI_h5_has_signature(const void *data, size_t len);
/* An image to parse: at most max_bytes (GRAFT_ERR_NOMEM) with a signature
 * (GRAFT_ERR_CORRUPT), checked before any child process is started. */
GRAFTI_FUNC graft_code graftI_h5_check_image(const void *data, size_t len, const char *name, int64_t max_bytes,
                                             graft_status *st);
/* Opens a file image read-only (dynamic filter plugins off). Returns the file id,
 * or a negative id with st set; *fapl must be closed after the file. */
GRAFTI_FUNC hid_t graftI_h5_open_image(const void *data, size_t len, const char *name, hid_t *fapl,
                                       graft_status *st);

/* Element types accepted by a reader: the file type and the native memory type read
 * without conversion. */
typedef enum graftI_h5_kinds {
    GRAFTI_H5_IMAGES,  /* uint8, little-endian float32 */
    GRAFTI_H5_LABELS,  /* 8..64-bit little-endian integers (8-bit either order) */
    GRAFTI_H5_WEIGHTS  /* little-endian float16/32/64 and 8..64-bit integers */
} graftI_h5_kinds;
typedef struct h5_kind {
    hid_t file, mem;
    size_t size;
    bool is_signed, is_float;
    graft_dtype dtype;
} h5_kind;
/* One dataset read under the rules: hard link, plain layout, known filters, checked
 * rank, type and element count, then read with the native type. */
typedef struct h5_array {
    int rank;
    hsize_t dims[H5D_MAX_RANK];
    h5_kind kind;
    void *data; /* owned (graftI_malloc) */
    size_t nbytes;
} h5_array;
/* key is the dataset's absolute path ("/images"); loc and the path below it are used
 * for the lookup (key + 1 relative to the root when loc is the file). */
GRAFTI_FUNC graft_code graftI_h5_read_array(const void *image, size_t len, hid_t file, const char *name,
                                            const char *key, graftI_h5_kinds kinds, int min_rank, int max_rank,
                                            int64_t max_bytes, h5_array *a, graft_status *st);

/* Reads the string array attribute attr of object path (absolute; pre-checked with
 * graftI_h5_precheck_path) of the image data/len into *out (count
 * *n; each string and the array graftI_malloc'd; free with graftI_h5_strings_free).
 * Fixed-length or variable-length strings, rank 0 or 1, at most max_count strings of
 * at most 65,536 bytes. GRAFT_ERR_NOT_FOUND when the attribute does not exist. */
GRAFTI_FUNC graft_code graftI_h5_strings_attr(const void *data, size_t len, hid_t file, const char *path,
                                              const char *attr, const char *name, int max_count, char ***out, int *n,
                                              graft_status *st);
/* graftI_h5_precheck (data_internal.h) of the object at path ("/" or a hard link's
 * target; soft and external links refused), before libhdf5 decodes its header. The
 * object's attributes are checked then, so it runs before any attribute access. */
GRAFTI_FUNC graft_code graftI_h5_precheck_path(const void *data, size_t len, hid_t file, const char *path,
                                               const char *name, graft_status *st);
GRAFTI_FUNC void graftI_h5_strings_free(char **v, int n);

/* ---- results as blobs (h5child.c) ---------------------------------------------------- */
GRAFTI_FUNC void graftI_blob_u64(graftI_ck_buf *b, uint64_t v);
GRAFTI_FUNC void graftI_blob_str(graftI_ck_buf *b, const char *s);
typedef struct graftI_blob_rd {
    const uint8_t *p;
    size_t n, off;
} graftI_blob_rd;
GRAFTI_FUNC bool graftI_rd_u64(graftI_blob_rd *r, uint64_t *v);
/* n bytes in place, or NULL when fewer remain */
GRAFTI_FUNC const void *graftI_rd_bytes(graftI_blob_rd *r, size_t n);
/* a string of at most max bytes without NUL, copied (graftI_malloc); NULL if bad */
GRAFTI_FUNC char *graftI_rd_str(graftI_blob_rd *r, size_t max);

/* Parses a file image into a blob (runs in the child, or here). */
typedef graft_code (*graftI_h5_parse_fn)(const void *data, size_t len, const char *name, const void *ctx,
                                         graftI_ck_buf *out, graft_status *st);
/* Runs fn on the image in a forked child (in_process: here) under an address-space
 * limit of this process's size + 2 x max_bytes + 1 GiB (none under sanitizers), a CPU
 * limit and a deadline (timeout_s; 0 = 60 s + 1 s per 10 MB), and returns its blob
 * (graftI_malloc'd, at most 2 x max_bytes + 64 MiB) or its error. A child that crashes,
 * hangs or ends without a result is an error naming the file and how it ended. */
GRAFTI_FUNC graft_code graftI_h5_run(const void *data, size_t len, const char *name, bool in_process,
                                     double timeout_s, int64_t max_bytes, graftI_h5_parse_fn fn, const void *ctx,
                                     uint8_t **blob, size_t *blob_len, graft_status *st);

#endif
