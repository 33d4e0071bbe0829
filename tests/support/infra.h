/* tests/support/infra.h - helpers for tests that call the Python oracles:
 * where Debian's python3 and the built reference reader (refread) are, and a
 * way to run a command and capture its output. */
#ifndef GRAFT_TEST_INFRA_H
#define GRAFT_TEST_INFRA_H

#include <stddef.h>

/* $GRAFT_PYTHON, else /usr/bin/python3 (Debian's, which sees python3-h5py,
 * python3-numpy, python3-protobuf, python3-torch). */
const char *infra_python(void);

/* The refread copy built by scripts/build-refread.sh: $GRAFT_REFREAD_DIR, else
 * <source>/build/refread. NULL (with a hint printed) when refread.py or
 * build/ldbdump is missing there: run scripts/build-refread.sh. */
const char *infra_refread_dir(void);

/* Runs a shell command (printf-style) and captures up to cap-1 bytes of its
 * stdout into out (NUL-terminated; out may be NULL). Returns the exit status,
 * or -1 if it could not run or was killed. */
int infra_run(char *out, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The value after "key " on the line of a "key value..." text (e.g. a facts
 * file loaded into memory): a pointer into text, or NULL when absent. The
 * n-th (0-based) line with that key when several share it. */
const char *infra_fact(const char *text, const char *key, int nth);

/* Reads a whole (small) file into a new NUL-terminated buffer; NULL on error.
 * Free with free(). */
char *infra_slurp(const char *path, size_t *len);

#endif
