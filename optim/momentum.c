/* optim/momentum.c - tf.train.MomentumOptimizer: slot "<var>/Momentum" (the accumulator),
 * Consts "Momentum/learning_rate" and "Momentum/momentum", "update_<var>/ApplyMomentum"
 * (accum = accum * momentum + grad; var -= lr * accum, or the Nesterov form). */
#include "optim_internal.h"

#include <math.h>

#include "ops/train_ops.h"

static graft_op *momentum_apply(graft_optimizer *o, graft_graph *g, graft_op *var, graft_op *const *slots,
                                graft_out grad)
{
    graft_dtype dt = graft_out_dtype(grad);
    graft_out lr = graftI_opt_hp(o, g, 0, dt);
    graft_out mom = graftI_opt_hp(o, g, 1, dt);
    return graftI_apply_momentum(g, graftI_o(var, 0), graftI_o(slots[0], 0), lr, grad, mom, o->use_nesterov)
        .op;
}

static const graftI_optim_vt momentum_vt = {
    .kind = "Momentum",
    .n_slots = 1,
    .slot_names = {"momentum"},
    .n_hp = 2,
    .hp_names = {"learning_rate", "momentum"},
    .apply_dense = momentum_apply,
};

void graft_momentum_opts_init(graft_momentum_opts *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->learning_rate = 0.01f;
    o->momentum = 0.9f;
}

graft_optimizer *graft_momentum_new(const graft_momentum_opts *opts, graft_status *st)
{
    graft_momentum_opts d;
    if (!opts) {
        graft_momentum_opts_init(&d);
        opts = &d;
    }
    if (!isfinite(opts->learning_rate) || opts->learning_rate < 0) {
        graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Momentum: learning_rate must be finite and >= 0 (vs %g)",
                         (double)opts->learning_rate);
        return NULL;
    }
    if (!isfinite(opts->momentum)) {
        graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Momentum: momentum must be finite (vs %g)",
                         (double)opts->momentum);
        return NULL;
    }
    float hp[2] = {opts->learning_rate, opts->momentum};
    graft_optimizer *o = graftI_optimizer_alloc(&momentum_vt, opts->name, hp, st);
    if (o) o->use_nesterov = opts->use_nesterov;
    return o;
}

graft_optimizer *graft_optimizer_momentum(float learning_rate, float momentum, bool use_nesterov)
{
    graft_momentum_opts o;
    graft_momentum_opts_init(&o);
    o.learning_rate = learning_rate;
    o.momentum = momentum;
    o.use_nesterov = use_nesterov;
    return graft_momentum_new(&o, NULL);
}
