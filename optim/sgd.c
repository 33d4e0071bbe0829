/* optim/sgd.c - tf.train.GradientDescentOptimizer: no slots, one
 * "GradientDescent/learning_rate" Const, "update_<var>/ApplyGradientDescent"
 * (var -= lr * grad). */
#include "optim_internal.h"

#include <math.h>

#include "ops/train_ops.h"

static graft_op *sgd_apply(graft_optimizer *o, graft_graph *g, graft_op *var, graft_op *const *slots,
                           graft_out grad)
{
    (void)slots;
    graft_out lr = graftI_opt_hp(o, g, 0, graft_out_dtype(grad));
    return graftI_apply_gradient_descent(g, graftI_o(var, 0), lr, grad).op;
}

static const graftI_optim_vt sgd_vt = {
    .kind = "GradientDescent",
    .n_slots = 0,
    .n_hp = 1,
    .hp_names = {"learning_rate"},
    .apply_dense = sgd_apply,
};

void graft_sgd_opts_init(graft_sgd_opts *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->learning_rate = 0.01f;
}

graft_optimizer *graft_sgd_new(const graft_sgd_opts *opts, graft_status *st)
{
    graft_sgd_opts d;
    if (!opts) {
        graft_sgd_opts_init(&d);
        opts = &d;
    }
    if (!isfinite(opts->learning_rate) || opts->learning_rate < 0) {
        graft_status_set(st, GRAFT_ERR_INVALID_ARG,
                         "GradientDescent: learning_rate must be finite and >= 0 (vs %g)",
                         (double)opts->learning_rate);
        return NULL;
    }
    float hp[1] = {opts->learning_rate};
    return graftI_optimizer_alloc(&sgd_vt, opts->name, hp, st);
}

graft_optimizer *graft_optimizer_sgd(float learning_rate)
{
    graft_sgd_opts o;
    graft_sgd_opts_init(&o);
    o.learning_rate = learning_rate;
    return graft_sgd_new(&o, NULL);
}
