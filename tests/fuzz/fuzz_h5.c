/* tests/fuzz/fuzz_h5.c - libFuzzer target: an HDF5 image dataset (/images, /labels)
 * parsed from an in-memory file image with graft's hardening (no filter plugins, known
 * filters only, no external or virtual storage, bounded rank and sizes); every pixel
 * and label of a dataset that loads is read. libhdf5 itself is not instrumented:
 * coverage guides through graft's checks, crashes anywhere are caught. The fuzzer
 * parses in process (the child process of the default path would hide coverage and
 * findings); test_fuzz_replay defines FUZZ_H5_IN_PROCESS 0 and replays through the
 * default, isolated path, which must contain what libhdf5 does with these inputs. */
#include "fuzz_util.h"

#ifndef FUZZ_H5_IN_PROCESS
#define FUZZ_H5_IN_PROCESS 1
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)fz_dir();
    graft_status st;
    graft_data_opts o;
    graft_data_opts_init(&o);
    o.h5_in_process = FUZZ_H5_IN_PROCESS;
    o.max_bytes = (int64_t)64 << 20;
    graft_dataset *ds = graft_dataset_load_h5_image(data, size, "fuzz.h5", &o, &st);
    if (!ds) return 0;
    int64_t n = graft_dataset_size(ds), dims[3];
    graft_dataset_image_dims(ds, dims);
    const int32_t *labels = graft_dataset_labels(ds);
    int32_t classes = graft_dataset_num_classes(ds);
    for (int64_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes) abort(); /* a loaded dataset keeps its promises */
    size_t px = (size_t)(dims[0] * dims[1] * dims[2]);
    float *img = malloc(px ? px * sizeof *img : 1);
    for (int64_t i = 0; img && i < n; i++)
        if (graft_dataset_image(ds, i, img, &st) != GRAFT_OK) abort();
    free(img);
    graft_dataset_free(ds);
    return 0;
}
