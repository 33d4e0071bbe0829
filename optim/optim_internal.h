/*
 * optim/optim_internal.h - the optimizer vtable (style.md 3.5) and the shared
 * object behind graft_optimizer. optim/optimizer.c holds TF's
 * apply_gradients skeleton (slots, name scopes, update scopes, the train op);
 * each optim/<kind>.c supplies a vtable: its slots, hyperparameters, the
 * per-variable update op and, for Adam, the finishing beta-power updates.
 * Private to graft.
 */
#ifndef GRAFT_OPTIM_INTERNAL_H
#define GRAFT_OPTIM_INTERNAL_H

#include "../layers/layer_util.h"

#define GRAFTI_OPT_MAX_SLOTS   2
#define GRAFTI_OPT_MAX_HP      4
#define GRAFTI_OPT_MAX_NONSLOT 2

typedef struct graftI_opt_rec {
    graft_op *var;                        /* the VariableV2 */
    graft_op *slot[GRAFTI_OPT_MAX_SLOTS]; /* its slot variables, in vtable order */
} graftI_opt_rec;

typedef struct graftI_optim_vt {
    const char *kind; /* TF class name without "Optimizer": the default name */
    int n_slots;
    const char *slot_names[GRAFTI_OPT_MAX_SLOTS]; /* TF's get_slot names: "momentum", "m", "v" */
    int n_hp;
    const char *hp_names[GRAFTI_OPT_MAX_HP]; /* Consts in the optimizer scope; [0] is the learning rate */
    /* Creates the non-slot variables (o->nonslot) once; NULL when there are none.
     * first_var is the var_list variable with the smallest name (TF colocates with it). */
    graft_code (*create_non_slots)(graft_optimizer *o, graft_graph *g, graft_op *first_var);
    /* The update op of one variable, built in scope "<Name>/update_<var>"; slots
     * as created; grad of the variable's dtype and shape. Sticky errors. */
    graft_op *(*apply_dense)(graft_optimizer *o, graft_graph *g, graft_op *var, graft_op *const *slots,
                             graft_out grad);
    /* Builds the op grouping `updates`, named `full_name` verbatim, in the
     * optimizer scope; NULL = a NoOp with the updates as control inputs. */
    graft_op *(*finish)(graft_optimizer *o, graft_graph *g, graft_op *const *updates, int n,
                        const char *full_name);
} graftI_optim_vt;

struct graft_optimizer {
    const graftI_optim_vt *vt;
    char *name;                  /* scope, train-op and slot name ("Adam") */
    float hp[GRAFTI_OPT_MAX_HP]; /* hyperparameter values, vt->hp_names order */
    bool use_nesterov;
    graft_out lr_tensor;  /* overrides hp[0] when set */
    graft_graph *g;       /* bound on first build */
    graftI_opt_rec *recs; /* one per variable with slots */
    int n_recs, cap_recs;
    graft_op **made; /* every variable this optimizer made */
    int n_made, cap_made;
    graft_op *nonslot[GRAFTI_OPT_MAX_NONSLOT]; /* Adam: beta1_power, beta2_power */
    graft_out hp_t[GRAFTI_OPT_MAX_HP];         /* this apply's hyperparameter tensors (float32) */
};

/* Allocates an optimizer of vt with hyperparameters hp (vt->n_hp values) and
 * name (NULL = vt->kind), validating the name. NULL with st set on failure. */
GRAFTI_FUNC graft_optimizer *graftI_optimizer_alloc(const graftI_optim_vt *vt, const char *name,
                                                    const float *hp, graft_status *st);
/* Hyperparameter i as a tensor of dtype dt (a Cast in the current scope when
 * the variable is not float32, as TF's math_ops.cast). */
GRAFTI_FUNC graft_out graftI_opt_hp(graft_optimizer *o, graft_graph *g, int i, graft_dtype dt);
/* Records a variable the optimizer made (for graft_optimizer_variable_at); false on OOM. */
GRAFTI_FUNC bool graftI_opt_note_var(graft_optimizer *o, graft_op *var);
/* The snapshot ("<var>/read:0") of a variable op. */
GRAFTI_FUNC graft_out graftI_opt_read(graft_graph *g, graft_op *var);
/* A non-trainable scalar float32 variable `name` in the current scope with
 * initial value "<name>/initial_value" (tf.Variable(v, trainable=False)). */
GRAFTI_FUNC graft_op *graftI_opt_scalar_var(graft_optimizer *o, graft_graph *g, const char *name, float v);

#endif
