/* lib/ops/helper_consts.h - inside op files, the Consts a builder makes for its
 * own use (axes, shapes, scalars) must not take a pending graft_name_next name:
 * graft_name_next(g, "loss"); graft_mean(g, x, ...) names the Mean "loss", not
 * its axes Const. Include after internal.h in every op file that builds Consts. */
#ifndef GRAFT_OPS_HELPER_CONSTS_H
#define GRAFT_OPS_HELPER_CONSTS_H
#include "internal.h"

#define graft_const(g, name, t) graftI_helper_const((g), (name), (t))
#define graft_const_f32(g, v) graftI_helper_const_f32((g), (v))
#define graft_const_i32(g, v) graftI_helper_const_i32((g), (v))
#define graft_const_i64(g, v) graftI_helper_const_i64((g), (v))
#define graft_const_i32_vec(g, v, n) graftI_helper_const_i32_vec((g), (v), (n))

#endif
