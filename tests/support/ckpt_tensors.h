/*
 * tests/support/ckpt_tensors.h - tensors with deterministic contents of every dtype
 * graft supports, and the byte encodings the fixtures' golden sha256 values are
 * taken over (TF's on-disk string layout for V2, uint64 length + bytes for V1).
 */
#ifndef GRAFT_TEST_CKPT_TENSORS_H
#define GRAFT_TEST_CKPT_TENSORS_H

#include "graft/graft.h"

/* A tensor of dtype dt and the given shape whose element i is derived from
 * (seed, i); strings vary in length (0..300 bytes) and contain NUL and 0xff. */
graft_tensor *ckt_make_tensor(graft_dtype dt, const int64_t *dims, int rank, unsigned seed);
/* sha256 as refread computes it for a V2 bundle entry (raw stored bytes). */
void ckt_tensor_sha256_v2(const graft_tensor *t, char hex[65]);
/* sha256 as refread_v1 computes it (LE bytes; strings: u64 LE length + bytes). */
void ckt_tensor_sha256_v1(const graft_tensor *t, char hex[65]);

#endif
