/* tests/test_messages.c - every parser error names the file and where in it
 * (reliability section 3: "<file>: <offset or key>: <what>"). Real files of each format
 * (TensorFlow V2 and V1 checkpoints, a .meta, a `checkpoint` state file, a .npy, IDX
 * data files plain and gzip-compressed) are
 * damaged thousands of ways by a seeded generator (bit flips, bytes set to 0x00/0xff/
 * random, 32-bit words set to extreme values, truncations, chunks duplicated or cut);
 * each error message must contain the damaged file's name followed by a locator: an
 * offset, a line, a node (by name or, when the name itself is bad, by number), a
 * collection of the meta graph, or a key of the checkpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graft/graft.h"
#include "graft/npy.h"
#include "ckpt_support.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static size_t below(size_t n) { return n ? (size_t)(next() % n) : 0; }

/* One damaged copy of orig into buf (capacity 2 * n + 64); returns its length. */
static size_t mutate(const uint8_t *orig, size_t n, uint8_t *buf)
{
    memcpy(buf, orig, n);
    size_t len = n, at = below(n);
    switch (next() % 7) {
    case 0: buf[at] ^= (uint8_t)(1u << below(8)); break;
    case 1: buf[at] = (uint8_t)next(); break;
    case 2: buf[at] = next() & 1 ? 0xff : 0x00; break;
    case 3: {
        static const uint32_t words[] = {0xffffffffu, 0x7fffffffu, 0x80000000u, 0, 1, 0xfffffffeu};
        uint32_t w = words[below(sizeof words / sizeof words[0])];
        for (size_t i = 0; i < 4 && at + i < n; i++) buf[at + i] = (uint8_t)(w >> (8 * i));
        break;
    }
    case 4: len = below(n); break; /* truncation */
    case 5: {                      /* a chunk duplicated in place */
        size_t k = 1 + below(n - at < 64 ? n - at : 64);
        memmove(buf + at + k, buf + at, n - at);
        len = n + k;
        break;
    }
    default: { /* a chunk cut out */
        size_t k = 1 + below(n - at < 64 ? n - at : 64);
        memmove(buf + at, buf + at + k, n - at - k);
        len = n - k;
        break;
    }
    }
    return len;
}

typedef struct sweep {
    const char *what;
    const char *fname;     /* what the message must name (the damaged file's basename) */
    const char *const *keys; /* keys that count as locators (checkpoints), NULL-terminated */
    int errors, ok, bad;
    char first_bad[2100];
} sweep;

/* The segment after "<fname>: " must be a locator. */
static bool locates(const char *msg, const sweep *s)
{
    const char *p = strstr(msg, s->fname);
    if (!p) return false;
    p += strlen(s->fname);
    if (strncmp(p, ": ", 2) != 0) return false;
    p += 2;
    static const char *const prefixes[] = {"offset ", "line ", "node '", "node #", "key '", "tensor '", "collection '", NULL};
    for (int i = 0; prefixes[i]; i++)
        if (strncmp(p, prefixes[i], strlen(prefixes[i])) == 0) return true;
    for (int i = 0; s->keys && s->keys[i]; i++) {
        size_t kl = strlen(s->keys[i]);
        if (strncmp(p, s->keys[i], kl) == 0 && (p[kl] == ':' || p[kl] == ' ')) return true;
    }
    return false;
}

/* Printable UTF-8 (newline and tab allowed): damaged names must not reach a terminal raw. */
static bool printable_utf8(const char *msg)
{
    const unsigned char *p = (const unsigned char *)msg;
    while (*p) {
        if (*p < 0x80) {
            if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f) return false;
            p++;
            continue;
        }
        int n = (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        uint32_t cp = n == 2 ? *p & 0x1Fu : n == 3 ? *p & 0x0Fu : *p & 0x07u;
        if (!n) return false;
        for (int i = 1; i < n; i++) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = cp << 6 | (p[i] & 0x3Fu);
        }
        uint32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        p += n;
    }
    return true;
}

static void judge(sweep *s, graft_code rc, const graft_status *st)
{
    if (rc == GRAFT_OK) {
        s->ok++;
        return;
    }
    s->errors++;
    if (!printable_utf8(st->msg)) {
        if (!s->bad) snprintf(s->first_bad, sizeof s->first_bad, "(not printable UTF-8) %s", st->msg);
        s->bad++;
    } else if (!locates(st->msg, s)) {
        if (!s->bad) snprintf(s->first_bad, sizeof s->first_bad, "%s", st->msg);
        s->bad++;
        print_message("%s: unlocated: %s\n", s->what, st->msg);
    }
}

static void report(const sweep *s, int min_errors)
{
    print_message("%s: %d errors (all naming %s and a place: %s), %d loaded\n", s->what, s->errors, s->fname,
                  s->bad ? "NO" : "yes", s->ok);
    if (s->bad) fail_msg("%s: %d of %d messages do not locate the error, e.g.: %s", s->what, s->bad, s->errors,
                         s->first_bad);
    assert_true(s->errors >= min_errors);
}

/* Opens a checkpoint and reads every tensor. */
static graft_code load_all(const char *path, graft_status *st)
{
    graft_ckpt_reader *r = graft_ckpt_reader_open(path, NULL, st);
    if (!r) return st->code;
    graft_code rc = GRAFT_OK;
    for (int i = 0; i < graft_ckpt_reader_num_entries(r) && rc == GRAFT_OK; i++) {
        graft_ckpt_entry e;
        graft_ckpt_reader_entry(r, i, &e);
        graft_tensor *t = NULL;
        rc = graft_ckpt_reader_read(r, e.name, &t, st);
        graft_tensor_free(t);
    }
    if (rc == GRAFT_OK) rc = graft_ckpt_reader_verify(r, st);
    graft_ckpt_reader_free(r);
    return rc;
}

/* The entry names of a checkpoint, NULL-terminated (malloc'd). */
static char **entry_names(const char *path)
{
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(path, NULL, &st);
    if (!r) fail_msg("%s", st.msg);
    int n = graft_ckpt_reader_num_entries(r);
    char **k = calloc((size_t)n + 1, sizeof *k);
    for (int i = 0; i < n; i++) {
        graft_ckpt_entry e;
        graft_ckpt_reader_entry(r, i, &e);
        k[i] = strdup(e.name);
    }
    graft_ckpt_reader_free(r);
    return k;
}

static void free_names(char **k)
{
    for (int i = 0; k[i]; i++) free(k[i]);
    free(k);
}

/* Damages file `victim` (one of the files of the checkpoint at `open_path`, copied
 * into a scratch directory under the same names) `rounds` times. */
static void sweep_ckpt(const char *what, const char *fixdir, const char *const *files, int nfiles,
                       const char *open_name, int victim, int rounds, int min_errors)
{
    char *dir = ckt_tempdir("msgs");
    for (int i = 0; i < nfiles; i++) {
        char src[1024];
        snprintf(src, sizeof src, "%s/%s", fixdir, files[i]);
        char *dst = ckt_path(dir, files[i]);
        assert_true(ckt_copy_file(src, dst));
        free(dst);
    }
    char *open_path = ckt_path(dir, open_name), *vpath = ckt_path(dir, files[victim]);
    char **keys = entry_names(open_path);
    sweep s = {what, files[victim], (const char *const *)keys, 0, 0, 0, ""};
    size_t n;
    uint8_t *orig = ckt_read_file(vpath, &n);
    uint8_t *buf = malloc(2 * n + 64);
    graft_status st;
    for (int r = 0; r < rounds; r++) {
        size_t len = mutate(orig, n, buf);
        assert_true(ckt_write_file(vpath, buf, len));
        judge(&s, load_all(open_path, &st), &st);
    }
    report(&s, min_errors);
    free(buf);
    free(orig);
    free_names(keys);
    free(open_path);
    free(vpath);
    ckt_rm_rf(dir);
    free(dir);
}

static void test_v2_index_and_data(void **state)
{
    (void)state;
    const char *tiny[] = {"model.ckpt.index", "model.ckpt.data-00000-of-00001"};
    const char *lenet[] = {"lenet.index", "lenet.data-00000-of-00001"};
    sweep_ckpt("mlp_tiny .index", GRAFT_FIXTURES_DIR "/tf1/mlp_tiny_tf113", tiny, 2, "model.ckpt", 0, 3000, 1000);
    sweep_ckpt("mlp_tiny .data", GRAFT_FIXTURES_DIR "/tf1/mlp_tiny_tf113", tiny, 2, "model.ckpt", 1, 1000, 500);
    sweep_ckpt("lenet .index", GRAFT_FIXTURES_DIR "/tf1/lenet_traffic_tf13", lenet, 2, "lenet", 0, 2000, 1000);
}

static void test_v1(void **state)
{
    (void)state;
    const char *har[] = {"model.ckpt"};
    const char *slim[] = {"my-model"};
    sweep_ckpt("har_convlstm V1", GRAFT_FIXTURES_DIR "/tf1v1/har_convlstm_tf011", har, 1, "model.ckpt", 0, 1500, 500);
    sweep_ckpt("mnist_slim V1", GRAFT_FIXTURES_DIR "/tf1v1/mnist_slim_tf09", slim, 1, "my-model", 0, 1000, 300);
}

static void test_meta(void **state)
{
    (void)state;
    size_t n;
    uint8_t *orig = ckt_read_file(GRAFT_FIXTURES_DIR "/tf1/mlp_tiny_tf113/model.ckpt.meta", &n);
    assert_non_null(orig);
    uint8_t *buf = malloc(2 * n + 64);
    sweep s = {".meta", "tiny.meta", NULL, 0, 0, 0, ""};
    graft_status st;
    for (int r = 0; r < 3000; r++) {
        size_t len = mutate(orig, n, buf);
        graft_meta_graph *m = NULL;
        graft_code rc = graft_meta_graph_parse(buf, len, "tiny.meta", NULL, &m, &st);
        if (rc == GRAFT_OK) { /* parsed: the import checks the rest */
            graft_graph *g = graft_graph_new();
            graft_meta_import *imp = NULL;
            rc = graft_meta_graph_import(g, m, NULL, &imp, &st);
            graft_meta_import_free(imp);
            graft_graph_free(g);
            graft_meta_graph_free(m);
        }
        judge(&s, rc, &st);
    }
    report(&s, 1000);
    free(buf);
    free(orig);
}

static void test_state_file(void **state)
{
    (void)state;
    const char *text = "model_checkpoint_path: \"model.ckpt-20\"\n"
                       "all_model_checkpoint_paths: \"model.ckpt-10\"\n"
                       "all_model_checkpoint_paths: \"model.ckpt-20\"\n"
                       "all_model_checkpoint_timestamps: 1700000000.5\n"
                       "all_model_checkpoint_timestamps: 1700000100.25\n"
                       "last_preserved_timestamp: 1699999999.0\n";
    size_t n = strlen(text);
    uint8_t *buf = malloc(2 * n + 64);
    char *dir = ckt_tempdir("msgs");
    char *path = ckt_path(dir, "checkpoint");
    sweep s = {"checkpoint state", "checkpoint", NULL, 0, 0, 0, ""};
    graft_status st;
    for (int r = 0; r < 3000; r++) {
        size_t len = mutate((const uint8_t *)text, n, buf);
        assert_true(ckt_write_file(path, buf, len));
        graft_checkpoint_state *cs = NULL;
        graft_code rc = graft_checkpoint_state_read(dir, NULL, &cs, &st);
        graft_checkpoint_state_free(cs);
        judge(&s, rc, &st);
    }
    report(&s, 300);
    free(buf);
    free(path);
    ckt_rm_rf(dir);
    free(dir);
}

static void test_npy(void **state)
{
    (void)state;
    int64_t d[2] = {3, 5};
    graft_status st;
    graft_tensor *t = graft_tensor_new(GRAFT_FLOAT, d, 2, &st);
    assert_non_null(t);
    void *enc = NULL;
    size_t n = 0;
    assert_int_equal(graft_npy_encode(t, &enc, &n, &st), GRAFT_OK);
    uint8_t *buf = malloc(2 * n + 64);
    sweep s = {".npy", "x.npy", NULL, 0, 0, 0, ""};
    for (int r = 0; r < 3000; r++) {
        size_t len = mutate(enc, n, buf);
        graft_tensor *u = NULL;
        judge(&s, graft_npy_parse(buf, len, "x.npy", &u, &st), &st);
        graft_tensor_free(u);
    }
    report(&s, 1000);
    free(buf);
    graft_npy_free(enc);
    graft_tensor_free(t);
}

/* An IDX images file [12, 4, 5] and its labels, uncompressed and gzip-compressed
 * (the .gz ones written by gzip(1)); each file damaged in turn. */
static void test_idx(void **state)
{
    (void)state;
    char *dir = ckt_tempdir("msgs");
    uint8_t img[16 + 12 * 20], lab[8 + 12];
    memcpy(img, "\x00\x00\x08\x03\x00\x00\x00\x0c\x00\x00\x00\x04\x00\x00\x00\x05", 16);
    memcpy(lab, "\x00\x00\x08\x01\x00\x00\x00\x0c", 8);
    for (int i = 0; i < 12 * 20; i++) img[16 + i] = (uint8_t)(i * 7);
    for (int i = 0; i < 12; i++) lab[8 + i] = (uint8_t)(i % 10);
    char *pi = ckt_path(dir, "img.idx"), *pl = ckt_path(dir, "lab.idx");
    assert_true(ckt_write_file(pi, img, sizeof img));
    assert_true(ckt_write_file(pl, lab, sizeof lab));
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "gzip -kn '%s' '%s'", pi, pl);
    assert_int_equal(ckt_run(cmd, NULL, NULL), 0);
    const char *names[4] = {"img.idx", "lab.idx", "img.idx.gz", "lab.idx.gz"};
    for (int v = 0; v < 4; v++) {
        char *vp = ckt_path(dir, names[v]), *ip = ckt_path(dir, names[v & 2]), *lp = ckt_path(dir, names[(v & 2) + 1]);
        size_t n;
        uint8_t *orig = ckt_read_file(vp, &n);
        assert_non_null(orig);
        uint8_t *buf = malloc(2 * n + 64);
        sweep s = {names[v], names[v], NULL, 0, 0, 0, ""};
        graft_status st;
        for (int r = 0; r < 800; r++) {
            size_t len = mutate(orig, n, buf);
            assert_true(ckt_write_file(vp, buf, len));
            graft_dataset *ds = graft_dataset_load_idx(ip, lp, NULL, &st);
            judge(&s, ds ? GRAFT_OK : st.code, &st);
            graft_dataset_free(ds);
        }
        assert_true(ckt_write_file(vp, orig, n));
        report(&s, 150);
        free(buf);
        free(orig);
        free(vp);
        free(ip);
        free(lp);
    }
    free(pi);
    free(pl);
    ckt_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_index_and_data), cmocka_unit_test(test_v1), cmocka_unit_test(test_meta),
        cmocka_unit_test(test_state_file), cmocka_unit_test(test_npy), cmocka_unit_test(test_idx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
