/*
 * tests/support/ckpt_support.h - helpers for the checkpoint tests: SHA-256, a small
 * JSON reader (for the fixtures' golden.json and `graft inspect --json`), file and
 * process utilities, and access to the reference reader ../shared/tools/refread
 * (built on demand into <build>/refread-build).
 */
#ifndef GRAFT_TEST_CKPT_SUPPORT_H
#define GRAFT_TEST_CKPT_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- SHA-256 ---------------------------------------------------------------------- */
typedef struct ckt_sha256 {
    uint32_t h[8];
    uint64_t len;
    uint8_t buf[64];
    size_t n;
} ckt_sha256;
void ckt_sha256_init(ckt_sha256 *c);
void ckt_sha256_update(ckt_sha256 *c, const void *data, size_t n);
void ckt_sha256_final(ckt_sha256 *c, char hex[65]);
void ckt_sha256_hex(const void *data, size_t n, char hex[65]);

/* ---- JSON -------------------------------------------------------------------------- */
typedef enum { CKT_JNULL, CKT_JBOOL, CKT_JNUM, CKT_JSTR, CKT_JARR, CKT_JOBJ } ckt_jtype;
typedef struct ckt_json {
    ckt_jtype type;
    bool b;
    double num;
    char *str;  /* JSTR (NUL-terminated; slen bytes) */
    size_t slen;
    int n;      /* JARR/JOBJ */
    struct ckt_json **items;
    char **keys; /* JOBJ */
} ckt_json;
ckt_json *ckt_json_parse(const char *text, size_t n); /* NULL on a syntax error */
ckt_json *ckt_json_load(const char *path);
void ckt_json_free(ckt_json *j);
const ckt_json *ckt_json_get(const ckt_json *o, const char *key); /* NULL if absent */
const ckt_json *ckt_json_at(const ckt_json *a, int i);
const char *ckt_json_str(const ckt_json *o, const char *key);     /* NULL unless a string */
double ckt_json_num(const ckt_json *o, const char *key, double dflt);

/* ---- files and processes ----------------------------------------------------------- */
uint8_t *ckt_read_file(const char *path, size_t *n);  /* malloc'd, NULL on error */
bool ckt_write_file(const char *path, const void *data, size_t n);
bool ckt_copy_file(const char *from, const char *to);
bool ckt_files_equal(const char *a, const char *b);
/* A fresh directory under the current directory ("<tag>.XXXXXX"); malloc'd path. */
char *ckt_tempdir(const char *tag);
void ckt_rm_rf(const char *path);
char *ckt_path(const char *a, const char *b); /* a "/" b, malloc'd */
/* Runs a shell command; returns its exit status (-1 if it did not exit), with
 * stdout and stderr captured (malloc'd, may be NULL to discard). */
int ckt_run(const char *cmd, char **out, char **err);
/* Number of directory entries whose name contains `part`. */
int ckt_count_files(const char *dir, const char *part);

/* ---- the reference reader ------------------------------------------------------------ */
/* Debian's python3 (sees python3-protobuf/numpy): $GRAFT_PYTHON or /usr/bin/python3. */
const char *ckt_python(void);
/* Builds (once, under a lock) ldbdump, ldbwrite and the _pb2 modules into
 * GRAFT_BINARY_DIR/refread-build and returns that directory, or NULL with the
 * reason in why. */
const char *ckt_refread_build(char *why, size_t cap);
/* Runs `refread.py <sub> <path>` (sub "ckpt" or "state") or refread_v1.py when
 * v1; returns the exit status; output (stdout+stderr) in *out if non-NULL. */
int ckt_refread(const char *sub, const char *path, bool v1, char **out);

#endif
