/* tests/fuzz/fuzz_state.c - libFuzzer target: the `checkpoint` text state file, parsed,
 * every entry resolved (never outside its directory by default) and the latest
 * checkpoint looked up. */
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = fz_dir();
    fz_put(fz_path(0, "checkpoint"), data, size);
    graft_checkpoint_state *s = NULL;
    graft_status st;
    char out[4096];
    if (graft_checkpoint_state_read(dir, NULL, &s, &st) == GRAFT_OK) {
        graft_checkpoint_resolve(dir, s->model_checkpoint_path, 0, out, sizeof out, &st);
        for (int i = 0; i < s->n_paths; i++)
            graft_checkpoint_resolve(dir, s->all_model_checkpoint_paths[i], 0, out, sizeof out, &st);
        volatile double acc = s->last_preserved_timestamp;
        for (int i = 0; i < s->n_timestamps; i++) acc += s->all_model_checkpoint_timestamps[i];
        graft_checkpoint_state_free(s);
    }
    graft_latest_checkpoint(dir, out, sizeof out, &st);
    return 0;
}
