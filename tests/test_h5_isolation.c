/* tests/test_h5_isolation.c - HDF5 parsed in a child process (the default):
 * the same arrays as parsing in process; a child that crashes, hangs, exits without a
 * result or fails to parse ends in a clean error naming the file and how it ended;
 * limits are set in the child; libhdf5's fuzz findings are contained. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "graft/graft.h"

extern void (*graftI_h5_child_hook)(void); /* lib/data/h5child.c, for tests */

#define U8_FILE GRAFT_SOURCE_DIR "/tests/data/dataset/h5py_u8.h5"
#define F32_FILE GRAFT_SOURCE_DIR "/tests/data/dataset/h5py_f32.h5"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static graft_dataset *load(const char *path, bool in_process, double timeout, graft_status *st)
{
    graft_data_opts o;
    graft_data_opts_init(&o);
    o.h5_in_process = in_process;
    o.h5_timeout_s = timeout;
    return graft_dataset_load_h5(path, &o, st);
}

static void same_both_ways(const char *path, int64_t n_expect)
{
    graft_status st;
    graft_dataset *a = load(path, false, 0, &st);
    if (!a) fail_msg("%s", st.msg);
    graft_dataset *b = load(path, true, 0, &st);
    if (!b) fail_msg("%s", st.msg);
    assert_int_equal(graft_dataset_size(a), n_expect);
    assert_int_equal(graft_dataset_size(a), graft_dataset_size(b));
    assert_int_equal(graft_dataset_pixel_type(a), graft_dataset_pixel_type(b));
    int64_t da[3], db[3];
    graft_dataset_image_dims(a, da);
    graft_dataset_image_dims(b, db);
    assert_memory_equal(da, db, sizeof da);
    size_t px = (size_t)(graft_dataset_size(a) * da[0] * da[1] * da[2]) *
                (graft_dataset_pixel_type(a) == GRAFT_FLOAT ? 4 : 1);
    assert_memory_equal(graft_dataset_pixels(a), graft_dataset_pixels(b), px);
    assert_memory_equal(graft_dataset_labels(a), graft_dataset_labels(b),
                        (size_t)graft_dataset_size(a) * sizeof(int32_t));
    graft_dataset_free(a);
    graft_dataset_free(b);
}

/* h5py files of tests/data/dataset (h5_ref.py): 16 uint8 and 8 float32 images */
static void test_same_arrays_as_in_process(void **state)
{
    (void)state;
    same_both_ways(U8_FILE, 16);
    same_both_ways(F32_FILE, 8);
}

static void hook_segv(void) { raise(SIGSEGV); }
static void hook_hang(void)
{
    for (;;) pause();
}
static void hook_exit(void) { _exit(0); }
static void hook_limits(void)
{
    struct rlimit cpu, as;
    getrlimit(RLIMIT_CPU, &cpu);
    getrlimit(RLIMIT_AS, &as);
    if (cpu.rlim_cur == RLIM_INFINITY) raise(SIGUSR1);
#if !defined(__SANITIZE_ADDRESS__) && !defined(GRAFT_TEST_SANITIZED)
    if (as.rlim_cur == RLIM_INFINITY) raise(SIGUSR2);
#endif
}

static void expect_failure(void (*hook)(void), double timeout, graft_code code, const char *part)
{
    graft_status st;
    graftI_h5_child_hook = hook;
    double t0 = mono();
    graft_dataset *ds = load(U8_FILE, false, timeout, &st);
    double dt = mono() - t0;
    graftI_h5_child_hook = NULL;
    assert_null(ds);
    print_message("%.2f s: %s\n", dt, st.msg);
    assert_int_equal(st.code, code);
    assert_non_null(strstr(st.msg, "h5py_u8.h5"));
    if (!strstr(st.msg, part)) fail_msg("'%s' not in: %s", part, st.msg);
    /* this process still works: the same file loads */
    ds = load(U8_FILE, false, 0, &st);
    if (!ds) fail_msg("%s", st.msg);
    graft_dataset_free(ds);
}

static void test_child_crash(void **state)
{
    (void)state;
    expect_failure(hook_segv, 0, GRAFT_ERR_CORRUPT, "killed by signal 11");
}

static void test_child_hang(void **state)
{
    (void)state;
    double t0 = mono();
    expect_failure(hook_hang, 0.3, GRAFT_ERR_IO, "did not finish within the time limit");
    assert_true(mono() - t0 < 10.0);
}

static void test_child_exits_without_result(void **state)
{
    (void)state;
    expect_failure(hook_exit, 0, GRAFT_ERR_CORRUPT, "exited with status 0");
}

static void test_child_limits(void **state)
{
    (void)state;
    graft_status st;
    graftI_h5_child_hook = hook_limits;
    graft_dataset *ds = load(U8_FILE, false, 0, &st);
    graftI_h5_child_hook = NULL;
    if (!ds) fail_msg("limits not set in the child: %s", st.msg);
    graft_dataset_free(ds);
}

/* A parse error in the child comes back with the child's message and code. */
static void test_child_error_message(void **state)
{
    (void)state;
    char path[] = "h5iso.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *in = fopen(U8_FILE, "rb");
    assert_non_null(in);
    uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    assert_true(n > 4096);
    /* keep the superblock (so the child runs) and cut the rest */
    assert_int_equal(write(fd, buf, 1200), 1200);
    close(fd);
    graft_status st;
    graft_dataset *ds = load(path, false, 0, &st);
    unlink(path);
    assert_null(ds);
    print_message("%s\n", st.msg);
    assert_int_equal(st.code, GRAFT_ERR_CORRUPT);
    assert_non_null(strstr(st.msg, path));
    assert_null(strstr(st.msg, "child process")); /* the parser's own message, not a crash report */
}

/* Files on which fuzzing made libhdf5 1.10 allocate 1.7 GB, leak, or dereference NULL
 * (tests/fuzz/crashes/h5): isolated, they end in an error and this process neither
 * allocates, leaks nor crashes for them (a crash itself: test_child_crash). */
static void test_libhdf5_findings_contained(void **state)
{
    (void)state;
    const char *files[] = {GRAFT_SOURCE_DIR "/tests/fuzz/crashes/h5/libhdf5-alloc-1.7GB-local-heap",
                           GRAFT_SOURCE_DIR "/tests/fuzz/crashes/h5/libhdf5-leak-local-heap",
                           GRAFT_SOURCE_DIR "/tests/fuzz/crashes/h5/libhdf5-segv-local-heap"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        graft_status st;
        graft_data_opts o;
        graft_data_opts_init(&o);
        o.max_bytes = (int64_t)64 << 20; /* child limit: this process + 1.125 GiB */
        graft_dataset *ds = graft_dataset_load_h5(files[i], &o, &st);
        print_message("%s\n", ds ? "loaded" : st.msg);
        assert_null(ds);
        assert_non_null(strstr(st.msg, "crashes/h5/libhdf5-"));
        /* since found, graft's pre-check refuses two of them before libhdf5 reads */
        if (strstr(files[i], "segv")) assert_non_null(strstr(st.msg, "local heap at"));
        if (strstr(files[i], "1.7GB")) assert_non_null(strstr(st.msg, "malformed object header"));
    }
}

/* Heap over-reads the fuzzer found in libhdf5's chunk copying (garbage index entries, a
 * short unfiltered chunk) are refused by graft's own checks before libhdf5 reads, so
 * even in process (under ASan in the sanitizer build) nothing is over-read. */
static void test_chunk_index_checked_in_process(void **state)
{
    (void)state;
    const char *files[] = {GRAFT_SOURCE_DIR "/tests/fuzz/crashes/h5/libhdf5-overread-garbage-chunk-index",
                           GRAFT_SOURCE_DIR "/tests/fuzz/crashes/h5/libhdf5-overread-short-chunk"};
    const char *expect[] = {"the chunk index lists 6 chunks, 1 of them at valid coordinates",
                            "unfiltered chunk of 32 bytes (48 expected)"};
    for (int i = 0; i < 2; i++) {
        graft_status st;
        graft_dataset *ds = load(files[i], true, 0, &st);
        assert_null(ds);
        print_message("%s\n", st.msg);
        assert_int_equal(st.code, GRAFT_ERR_CORRUPT);
        if (!strstr(st.msg, expect[i])) fail_msg("'%s' not in: %s", expect[i], st.msg);
    }
}

/* Keras files on which libhdf5 1.10 over-reads an attribute's data, copies a global
 * heap object past its collection, loops forever on a free-space object of size 0, or
 * allocates 21 GB for a string whose base type claims 4 GB elements (h5 fuzz target): graft's pre-check of object headers and global heaps refuses
 * them in process, before libhdf5 decodes anything (under ASan in the sanitizer
 * build), and fast. */
static void test_attribute_and_heap_checked_in_process(void **state)
{
    (void)state;
    static const struct {
        const char *file, *part;
    } cases[] = {
        {"libhdf5-overread-attribute-data", "attribute name, type and space of 264 bytes in a 128-byte message"},
        {"libhdf5-overread-global-heap", "global heap object 2 of 54975581388805 bytes does not fit its collection"},
        {"libhdf5-hang-global-heap-free-space", "global heap object 0 of 0 bytes does not fit its collection"},
        {"libhdf5-alloc-21GB-vlen-base-type", "attribute element 0: 5 x 4261412865 bytes not in global heap object 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fuzz/crashes/h5/%s", GRAFT_SOURCE_DIR, cases[i].file);
        graft_keras_opts o;
        graft_keras_opts_init(&o);
        o.in_process = true;
        graft_status st;
        double t0 = mono();
        graft_keras_weights *kw = graft_keras_weights_read(path, &o, &st);
        double dt = mono() - t0;
        assert_null(kw);
        print_message("%.3f s: %s\n", dt, st.msg);
        assert_int_equal(st.code, GRAFT_ERR_CORRUPT);
        if (!strstr(st.msg, cases[i].part)) fail_msg("'%s' not in: %s", cases[i].part, st.msg);
        assert_true(dt < 5.0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_arrays_as_in_process),
        cmocka_unit_test(test_child_crash),
        cmocka_unit_test(test_child_hang),
        cmocka_unit_test(test_child_exits_without_result),
        cmocka_unit_test(test_child_limits),
        cmocka_unit_test(test_child_error_message),
        cmocka_unit_test(test_libhdf5_findings_contained),
        cmocka_unit_test(test_chunk_index_checked_in_process),
        cmocka_unit_test(test_attribute_and_heap_checked_in_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
