/* tests/test_fuzz_replay.c - the fuzz targets as a plain CTest program: every file of
 * tests/fuzz/corpus/<target>/ (seeds and hand-made abuse files) and tests/fuzz/crashes/
 * <target>/ (past findings), and every file of the target's kind under
 * ../shared/fixtures (the fuzzers' real seeds), goes through the same
 * LLVMFuzzerTestOneInput the fuzzer runs, so the default suite (under ASan/UBSan
 * when GRAFT_SANITIZE) guards against regressions without clang. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define LLVMFuzzerTestOneInput fuzz_index_one
#include "fuzz/fuzz_index.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_bundle_one
#include "fuzz/fuzz_bundle.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_entries_one
#include "fuzz/fuzz_entries.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_v1_one
#include "fuzz/fuzz_v1.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_meta_one
#include "fuzz/fuzz_meta.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_state_one
#include "fuzz/fuzz_state.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_npy_one
#include "fuzz/fuzz_npy.c"
#undef LLVMFuzzerTestOneInput
#define FUZZ_H5_IN_PROCESS 0 /* through the child process, as graft_dataset_load_h5 runs by default */
#define LLVMFuzzerTestOneInput fuzz_h5_one
#include "fuzz/fuzz_h5.c"
#undef LLVMFuzzerTestOneInput

typedef int (*fz_fn)(const uint8_t *, size_t);

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The whole file (malloc'd), NULL if it cannot be opened. */
static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0, r;
    uint8_t *buf = malloc(cap);
    while ((r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *n = len;
    return buf;
}

/* Runs every file of dir through fn; returns the number of files. */
static int replay_dir(const char *dir, fz_fn fn, double *slowest, char *slowest_name, size_t cap)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len;
        uint8_t *buf = slurp(path, &len);
        if (!buf) continue;
        double t0 = mono();
        fn(buf, len);
        double dt = mono() - t0;
        if (dt > *slowest) {
            *slowest = dt;
            snprintf(slowest_name, cap, "%s", path);
        }
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

static void replay(const char *target, fz_fn fn, int min_files)
{
    char dir[4096], slow[4096] = "";
    double slowest = 0;
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", GRAFT_SOURCE_DIR, target);
    int n = replay_dir(dir, fn, &slowest, slow, sizeof slow);
    snprintf(dir, sizeof dir, "%s/tests/fuzz/crashes/%s", GRAFT_SOURCE_DIR, target);
    int c = replay_dir(dir, fn, &slowest, slow, sizeof slow);
    print_message("%s: %d corpus files and %d past findings replayed (slowest %.3f s: %s)\n", target, n, c, slowest,
                  slow);
    assert_true(n >= min_files);
}

/* The checkpoint targets must reach tensor data on their real seeds: an in-memory
 * file system or input framing that broke would otherwise pass silently. */
static void replay_reading(const char *target, fz_fn fn, int min_files)
{
    long before = fz_reads_ok;
    replay(target, fn, min_files);
    print_message("%s: %ld tensors read\n", target, fz_reads_ok - before);
    assert_true(fz_reads_ok - before >= 5);
}
/* ---- every fixture file of a target's kind, straight from ../shared/fixtures -------- */
typedef bool (*fz_match)(const char *rel, const char *base);
static bool ends(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}
static bool m_index(const char *rel, const char *base) { (void)rel; return ends(base, ".index"); }
static bool m_meta(const char *rel, const char *base) { (void)rel; return ends(base, ".meta") || !strcmp(base, "saved_model.pb"); }
static bool m_state(const char *rel, const char *base) { (void)rel; return !strcmp(base, "checkpoint"); }
static bool m_npy(const char *rel, const char *base) { (void)rel; return ends(base, ".npy"); }
static bool m_h5(const char *rel, const char *base) { (void)rel; return ends(base, ".h5") || ends(base, ".hdf5"); }
static bool m_v1(const char *rel, const char *base)
{
    return !strncmp(rel, "tf1v1/", 6) && !ends(base, ".meta") && !ends(base, ".json") && !ends(base, ".txt") &&
           strcmp(base, "checkpoint") != 0;
}
/* V2 pairs as fuzz_bundle frames them: 4-byte index length, index, data shard 0. */
static bool m_bundle(const char *rel, const char *base) { (void)rel; return ends(base, ".index"); }


static int fixture_walk(const char *dir, const char *rel, fz_match m, bool bundle, fz_fn fn)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char path[4096], r2[2048];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        snprintf(r2, sizeof r2, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            n += fixture_walk(path, r2, m, bundle, fn);
            continue;
        }
        if (!m(r2, de->d_name)) continue;
        size_t len;
        uint8_t *buf = slurp(path, &len);
        if (!buf) continue;
        if (bundle) { /* append the first data shard, if any and not too large */
            char dp[4200];
            snprintf(dp, sizeof dp, "%.*s.data-00000-of-00001", (int)(strlen(path) - 6), path);
            size_t dn = 0;
            uint8_t *data = slurp(dp, &dn);
            if (!data || dn > ((size_t)16 << 20)) {
                free(data);
                free(buf);
                continue;
            }
            uint8_t *in = malloc(4 + len + dn);
            in[0] = (uint8_t)len, in[1] = (uint8_t)(len >> 8), in[2] = (uint8_t)(len >> 16), in[3] = (uint8_t)(len >> 24);
            memcpy(in + 4, buf, len);
            memcpy(in + 4 + len, data, dn);
            free(buf);
            free(data);
            buf = in;
            len += 4 + dn;
        }
        fn(buf, len);
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

static void replay_fixtures(const char *target, fz_match m, bool bundle, fz_fn fn, int min_files)
{
    int n = fixture_walk(GRAFT_FIXTURES_DIR, "", m, bundle, fn);
    print_message("%s: %d fixture files replayed\n", target, n);
    assert_true(n >= min_files);
}

static void test_index(void **s)
{
    (void)s;
    replay("index", fuzz_index_one, 5);
    replay_fixtures("index", m_index, false, fuzz_index_one, 10);
}
static void test_bundle(void **s)
{
    (void)s;
    replay_reading("bundle", fuzz_bundle_one, 3);
    long before = fz_reads_ok;
    replay_fixtures("bundle", m_bundle, true, fuzz_bundle_one, 8);
    assert_true(fz_reads_ok - before >= 100); /* the fixtures' tensors, read through the harness */
}
static void test_entries(void **s) { (void)s; replay_reading("entries", fuzz_entries_one, 5); }
static void test_v1(void **s)
{
    (void)s;
    replay_reading("v1", fuzz_v1_one, 2);
    long before = fz_reads_ok;
    replay_fixtures("v1", m_v1, false, fuzz_v1_one, 3);
    assert_true(fz_reads_ok - before >= 50);
}
static void test_meta(void **s)
{
    (void)s;
    replay("meta", fuzz_meta_one, 3);
    replay_fixtures("meta", m_meta, false, fuzz_meta_one, 12);
}
static void test_state(void **s)
{
    (void)s;
    replay("state", fuzz_state_one, 5);
    replay_fixtures("state", m_state, false, fuzz_state_one, 8);
}
static void test_npy(void **s)
{
    (void)s;
    replay("npy", fuzz_npy_one, 5);
    replay_fixtures("npy", m_npy, false, fuzz_npy_one, 10);
}

/* libhdf5's own findings (huge allocations, leaks) are in crashes/h5: replayed through
 * the isolated default path they must end in clean errors. */
static void test_h5(void **s)
{
    (void)s;
    replay("h5", fuzz_h5_one, 10);
    replay_fixtures("h5", m_h5, false, fuzz_h5_one, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index), cmocka_unit_test(test_bundle), cmocka_unit_test(test_entries), cmocka_unit_test(test_v1),
        cmocka_unit_test(test_meta),  cmocka_unit_test(test_state),  cmocka_unit_test(test_npy),
        cmocka_unit_test(test_h5),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    return rc;
}
