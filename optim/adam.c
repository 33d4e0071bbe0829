/* optim/adam.c - tf.train.AdamOptimizer (TF 1.x): slots "<var>/Adam" (m) and "<var>/Adam_1"
 * (v), scalars "beta1_power"/"beta2_power", "update_<var>/ApplyAdam" (epsilon after the bias
 * correction), then "Adam/mul" + "Adam/Assign" (and _1) updating the powers after every update. */
#include "optim_internal.h"

#include <math.h>

#include "ops/train_ops.h"

enum { HP_LR, HP_BETA1, HP_BETA2, HP_EPS };

/* beta1_power and beta2_power start at beta1, beta2 (so the first step uses t = 1) */
static graft_code adam_non_slots(graft_optimizer *o, graft_graph *g, graft_op *first_var)
{
    (void)first_var; /* TF colocates them with it; graft has one device */
    o->nonslot[0] = graftI_opt_scalar_var(o, g, "beta1_power", o->hp[HP_BETA1]);
    if (o->nonslot[0]) o->nonslot[1] = graftI_opt_scalar_var(o, g, "beta2_power", o->hp[HP_BETA2]);
    if (!o->nonslot[0] || !o->nonslot[1]) {
        o->nonslot[0] = o->nonslot[1] = NULL;
        return graft_graph_status(g) != GRAFT_OK ? graft_graph_status(g) : GRAFT_ERR_INTERNAL;
    }
    return GRAFT_OK;
}

static graft_out as_dtype(graft_graph *g, graft_out t, graft_dtype dt)
{
    return t.op && graft_out_dtype(t) != dt ? graft_cast(g, t, dt) : t;
}

static graft_op *adam_apply(graft_optimizer *o, graft_graph *g, graft_op *var, graft_op *const *slots,
                            graft_out grad)
{
    graft_dtype dt = graft_out_dtype(grad);
    graft_out b1p = as_dtype(g, graftI_opt_read(g, o->nonslot[0]), dt);
    graft_out b2p = as_dtype(g, graftI_opt_read(g, o->nonslot[1]), dt);
    graft_out lr = graftI_opt_hp(o, g, HP_LR, dt), b1 = graftI_opt_hp(o, g, HP_BETA1, dt),
              b2 = graftI_opt_hp(o, g, HP_BETA2, dt), eps = graftI_opt_hp(o, g, HP_EPS, dt);
    return graftI_apply_adam(g, graftI_o(var, 0), graftI_o(slots[0], 0), graftI_o(slots[1], 0), b1p, b2p, lr,
                             b1, b2, eps, grad, false)
        .op;
}

/* beta_power *= beta as "mul" + "Assign" in the optimizer scope, after the updates */
static graft_op *power_update(graft_optimizer *o, graft_graph *g, int which)
{
    graft_name_next(g, "mul");
    graft_out m =
        graft_mul(g, graftI_opt_read(g, o->nonslot[which]), o->hp_t[which == 0 ? HP_BETA1 : HP_BETA2]);
    graft_out in[2] = {graftI_o(o->nonslot[which], 0), m};
    graftI_attr at[3] = {graftI_a_type("T", GRAFT_FLOAT), graftI_a_bool("validate_shape", true),
                         graftI_a_bool("use_locking", false)};
    return graftI_make_op(g, "Assign", "Assign", in, 2, at, 3);
}

static graft_op *adam_finish(graft_optimizer *o, graft_graph *g, graft_op *const *updates, int n,
                             const char *full_name)
{
    graft_graph_push_control_deps(g, updates, n);
    graft_op *u1 = power_update(o, g, 0);
    graft_op *u2 = power_update(o, g, 1);
    graft_graph_pop_control_deps(g);
    if (!u1 || !u2) return NULL;
    graft_op **all = graftI_calloc((size_t)n + 2, sizeof *all);
    if (!all) {
        graftI_graph_fail(g, GRAFT_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) all[i] = updates[i];
    all[n] = u1;
    all[n + 1] = u2;
    graft_op *grp = graftI_verbatim_op(g, "NoOp", full_name, NULL, 0, all, n + 2, NULL, 0);
    graftI_free(all);
    return grp;
}

static const graftI_optim_vt adam_vt = {
    .kind = "Adam",
    .n_slots = 2,
    .slot_names = {"m", "v"},
    .n_hp = 4,
    .hp_names = {"learning_rate", "beta1", "beta2", "epsilon"},
    .create_non_slots = adam_non_slots,
    .apply_dense = adam_apply,
    .finish = adam_finish,
};

void graft_adam_opts_init(graft_adam_opts *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->learning_rate = 0.001f;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->epsilon = 1e-8f;
}

graft_optimizer *graft_adam_new(const graft_adam_opts *opts, graft_status *st)
{
    graft_adam_opts d;
    if (!opts) {
        graft_adam_opts_init(&d);
        opts = &d;
    }
    if (!isfinite(opts->learning_rate) || opts->learning_rate < 0) {
        graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Adam: learning_rate must be finite and >= 0 (vs %g)",
                         (double)opts->learning_rate);
        return NULL;
    }
    if (!(opts->beta1 >= 0 && opts->beta1 < 1) || !(opts->beta2 >= 0 && opts->beta2 < 1)) {
        graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Adam: beta1 and beta2 must be in [0, 1) (vs %g, %g)",
                         (double)opts->beta1, (double)opts->beta2);
        return NULL;
    }
    if (!isfinite(opts->epsilon) || opts->epsilon < 0) {
        graft_status_set(st, GRAFT_ERR_INVALID_ARG, "Adam: epsilon must be finite and >= 0 (vs %g)",
                         (double)opts->epsilon);
        return NULL;
    }
    float hp[4] = {opts->learning_rate, opts->beta1, opts->beta2, opts->epsilon};
    return graftI_optimizer_alloc(&adam_vt, opts->name, hp, st);
}

graft_optimizer *graft_optimizer_adam(float learning_rate, float beta1, float beta2, float epsilon)
{
    graft_adam_opts o;
    graft_adam_opts_init(&o);
    o.learning_rate = learning_rate;
    o.beta1 = beta1;
    o.beta2 = beta2;
    o.epsilon = epsilon;
    return graft_adam_new(&o, NULL);
}
