/* lib/ops/op_io.c - placeholder table until the group's ops land. */
#include "internal.h"

const graftI_op_def *const graftI_ops_io[] = {NULL};
