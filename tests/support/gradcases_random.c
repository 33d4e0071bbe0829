/* tests/support/gradcases_random.c - the random ops (lib/ops/op_random.c) have
 * no gradient (GRAFTI_OP_NO_GRAD): the table is empty. */
#include <stddef.h>

#include "gradcheck.h"

const graftT_gradcase graftT_gradcases_random[] = {{0}};
