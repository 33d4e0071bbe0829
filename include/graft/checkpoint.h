/*
 * graft/checkpoint.h - TensorFlow checkpoints: the V2 tensor bundle (read and
 * write), V1 single-file checkpoints (read), the `checkpoint` state file, and
 * the Saver over all variables, a list, or a key->variable map.
 * (The checkpoint module owner completes this header; the declarations below are
 * the contract other modules rely on.)
 */
#ifndef GRAFT_CHECKPOINT_H
#define GRAFT_CHECKPOINT_H
#include "graft/session.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct graft_saver graft_saver;

/* What a TF SaverDef records (saver.proto); strings borrowed from the saver. */
typedef struct graft_saver_def {
    const char *filename_tensor_name;  /* "save/Const:0" */
    const char *save_tensor_name;      /* "save/control_dependency:0" */
    const char *restore_op_name;       /* "save/restore_all" */
    int max_to_keep;                   /* 5 */
    bool sharded;                      /* false */
    float keep_checkpoint_every_n_hours; /* 10000 */
    int version;                       /* 2 = V2 */
} graft_saver_def;

GRAFT_API void graft_saver_get_def(const graft_saver *s, graft_saver_def *out);

#ifdef __cplusplus
}
#endif
#endif
