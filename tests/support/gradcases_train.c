/* tests/support/gradcases_train.c - the Apply* training ops (lib/ops/op_train.c)
 * have no gradient (GRAFTI_OP_NO_GRAD): the table is empty. */
#include <stddef.h>

#include "gradcheck.h"

const graftT_gradcase graftT_gradcases_train[] = {{0}};
