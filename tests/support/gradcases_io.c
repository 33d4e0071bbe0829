/* tests/support/gradcases_io.c - the checkpoint I/O ops (lib/ops/op_io.c:
 * SaveV2, RestoreV2, ...) have no gradient: the table is empty. */
#include <stddef.h>

#include "gradcheck.h"

const graftT_gradcase graftT_gradcases_io[] = {{0}};
