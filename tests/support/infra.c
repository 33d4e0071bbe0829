/* tests/support/infra.c - locating python3 and refread for tests, running a
 * command with captured output, and reading "key value" fact files. */
#include "infra.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *infra_python(void)
{
    const char *p = getenv("GRAFT_PYTHON");
    return p && *p ? p : "/usr/bin/python3";
}

const char *infra_refread_dir(void)
{
    static char dir[4096];
    const char *env = getenv("GRAFT_REFREAD_DIR");
    if (env && *env)
        snprintf(dir, sizeof dir, "%s", env);
    else
        snprintf(dir, sizeof dir, "%s/build/refread", GRAFT_SOURCE_DIR);
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/build/ldbdump", dir);
    bool ok = access(probe, X_OK) == 0;
    snprintf(probe, sizeof probe, "%s/refread.py", dir);
    ok = ok && access(probe, R_OK) == 0;
    if (!ok) {
        fprintf(stderr, "refread not built in %s: run scripts/build-refread.sh (or set GRAFT_REFREAD_DIR)\n",
                dir);
        return NULL;
    }
    return dir;
}

int infra_run(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof cmd) return -1;
    if (out && cap) out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t got = 0;
    char buf[4096];
    size_t r;
    while ((r = fread(buf, 1, sizeof buf, p)) > 0) {
        if (out && cap > 1 && got < cap - 1) {
            size_t k = r < cap - 1 - got ? r : cap - 1 - got;
            memcpy(out + got, buf, k);
            got += k;
            out[got] = '\0';
        }
    }
    int status = pclose(p);
    if (status == -1 || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

const char *infra_fact(const char *text, const char *key, int nth)
{
    size_t kl = strlen(key);
    for (const char *line = text; line && *line;) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ' ' && nth-- == 0) return line + kl + 1;
        line = strchr(line, '\n');
        if (line) line++;
    }
    return NULL;
}

char *infra_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}
