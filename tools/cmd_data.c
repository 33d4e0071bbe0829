/* tools/cmd_data.c - `graft data`: writes Fashion-MNIST (or a class subset of it)
 * in graft's HDF5 dataset layout (/images [N,28,28,1] uint8, /labels [N] int32). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graft/graft.h"

#include "cli.h"

#define MAX_CLASSES 256

static const char usage[] =
    "usage: graft data fashion-mnist [--classes 5,6,7,8,9] [--relabel] [--limit N]\n"
    "                                [--split train|test] [--dir DIR] OUT.h5\n"
    "  Reads Fashion-MNIST from DIR (default " GRAFT_FASHION_MNIST_DIR ", Debian package\n"
    "  dataset-fashion-mnist) and writes OUT.h5 with /images [N,28,28,1] uint8 and\n"
    "  /labels [N] int32.\n"
    "  --classes  keep only these labels      --relabel  number them 0.. in the order given\n"
    "  --limit    keep the first N examples   --split    train (60000, default) or test (10000)\n";

/* "5,6,7" -> classes; false on a bad list. */
static bool parse_classes(const char *s, int32_t *out, int *n)
{
    *n = 0;
    while (*s) {
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (end == s || errno || v < 0 || v > INT32_MAX || *n == MAX_CLASSES) return false;
        out[(*n)++] = (int32_t)v;
        if (*end == ',') end++;
        else if (*end) return false;
        s = end;
    }
    return *n > 0;
}

int graft_cmd_data(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "fashion-mnist") != 0) {
        fputs(usage, argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? stdout : stderr);
        return argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) ? 0 : 2;
    }
    graft_data_opts o;
    graft_data_opts_init(&o);
    int32_t classes[MAX_CLASSES];
    const char *out = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "--relabel")) {
            o.relabel = true;
        } else if (!strcmp(a, "--classes") && v) {
            if (!parse_classes(v, classes, &o.n_classes)) {
                fprintf(stderr, "graft data: --classes: bad list \"%s\" (e.g. 5,6,7,8,9)\n", v);
                return 2;
            }
            o.classes = classes;
            i++;
        } else if (!strcmp(a, "--limit") && v) {
            char *end;
            errno = 0;
            long long n = strtoll(v, &end, 10);
            if (end == v || *end || errno || n <= 0) {
                fprintf(stderr, "graft data: --limit: bad count \"%s\" (> 0 expected)\n", v);
                return 2;
            }
            o.limit = n;
            i++;
        } else if (!strcmp(a, "--split") && v) {
            if (!strcmp(v, "train")) o.split = GRAFT_SPLIT_TRAIN;
            else if (!strcmp(v, "test")) o.split = GRAFT_SPLIT_TEST;
            else {
                fprintf(stderr, "graft data: --split: \"%s\" (train or test expected)\n", v);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "--dir") && v) {
            o.dir = v;
            i++;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "graft data: unknown or incomplete option %s\n%s", a, usage);
            return 2;
        } else if (!out) {
            out = a;
        } else {
            fprintf(stderr, "graft data: more than one output file (%s, %s)\n", out, a);
            return 2;
        }
    }
    if (!out) {
        fprintf(stderr, "graft data: no output file\n%s", usage);
        return 2;
    }
    if (o.relabel && !o.classes) {
        fprintf(stderr, "graft data: --relabel needs --classes\n");
        return 2;
    }
    graft_status st;
    graft_dataset *ds = graft_dataset_load_fashion_mnist(&o, &st);
    if (!ds) {
        fprintf(stderr, "graft data: %s\n", st.msg);
        return 1;
    }
    if (graft_dataset_save_h5(ds, out, &st) != GRAFT_OK) {
        fprintf(stderr, "graft data: %s\n", st.msg);
        graft_dataset_free(ds);
        return 1;
    }
    int64_t d[3], counts[MAX_CLASSES];
    graft_dataset_image_dims(ds, d);
    int k = graft_dataset_num_classes(ds);
    if (k > MAX_CLASSES) k = MAX_CLASSES;
    graft_dataset_class_counts(ds, counts, k);
    printf("%s: %lld images [%lld,%lld,%lld] uint8, %d classes:", out, (long long)graft_dataset_size(ds),
           (long long)d[0], (long long)d[1], (long long)d[2], k);
    for (int c = 0; c < k; c++) printf(" %d:%lld", c, (long long)counts[c]);
    printf("\n");
    graft_dataset_free(ds);
    return 0;
}
