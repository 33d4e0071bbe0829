/* lib/ops/registry.c - the op table built from ops.def, looked up by
 * TensorFlow op type name. */
#include "internal.h"

#define GRAFT_OP_GROUP(g) extern const graftI_op_def *const graftI_ops_##g[];
#include "ops.def"
#undef GRAFT_OP_GROUP

static const graftI_op_def *const *const groups[] = {
#define GRAFT_OP_GROUP(g) graftI_ops_##g,
#include "ops.def"
#undef GRAFT_OP_GROUP
};

int graftI_op_count(void)
{
    int n = 0;
    for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++)
        for (const graftI_op_def *const *p = groups[gi]; *p; p++) n++;
    return n;
}

const graftI_op_def *graftI_op_at(int i)
{
    for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++)
        for (const graftI_op_def *const *p = groups[gi]; *p; p++)
            if (i-- == 0) return *p;
    return NULL;
}

const graftI_op_def *graftI_op_lookup(const char *type)
{
    if (!type) return NULL;
    for (size_t gi = 0; gi < sizeof groups / sizeof groups[0]; gi++)
        for (const graftI_op_def *const *p = groups[gi]; *p; p++)
            if (strcmp((*p)->name, type) == 0) return *p;
    return NULL;
}
