/* layers/losses.c - losses and metrics: mean softmax cross-entropy from logits
 * (dense labels behind a StopGradient as TF1's v1 wrapper, or sparse class
 * ids) and batch accuracy (Equal(ArgMax(logits), labels) averaged). */
#include "layer_util.h"

static const char *dtn(graft_dtype dt)
{
    const char *s = graft_dtype_name(dt);
    return s ? s : "invalid";
}

/* Mean over every axis named "value" in the current scope (tf.losses' final op name). */
static graft_out mean_value(graft_graph *g, graft_out x)
{
    if (!x.op) return x;
    graft_shape s = graft_out_shape(x);
    int32_t ax[GRAFT_MAX_DIMS];
    for (int i = 0; i < s.rank && i < GRAFT_MAX_DIMS; i++) ax[i] = i;
    graft_out axes = graft_const_i32_vec(g, ax, s.rank > 0 ? s.rank : 0);
    graft_out in[2] = {x, axes};
    graftI_attr at[3] = {graftI_a_type("T", graft_out_dtype(x)), graftI_a_type("Tidx", GRAFT_INT32),
                         graftI_a_bool("keep_dims", false)};
    return graftI_o(graftI_make_op(g, "Mean", "value", in, 2, at, 3), 0);
}

/* logits: float32/float64 [batch, classes] (rank must be known 2). */
static bool check_logits(graft_graph *g, const char *who, graft_out logits)
{
    graft_dtype dt = graft_out_dtype(logits);
    graft_shape s = graft_out_shape(logits);
    char b[128];
    if (dt != GRAFT_FLOAT && dt != GRAFT_DOUBLE) {
        graftI_graph_fail(g, GRAFT_ERR_DTYPE, "%s: logits must be float32 or float64 (vs %s)", who, dtn(dt));
        return false;
    }
    if (s.rank != 2) {
        graftI_graph_fail(g, GRAFT_ERR_SHAPE, "%s: logits must be [batch, classes] (vs %s)", who,
                          graft_shape_str(&s, b, sizeof b));
        return false;
    }
    return true;
}

graft_out graft_softmax_cross_entropy_loss(graft_graph *g, graft_out logits, graft_out onehot_labels)
{
    graft_out none = {NULL, 0};
    const char *who = "softmax_cross_entropy_loss";
    if (!g || !logits.op || !onehot_labels.op || graft_graph_status(g) != GRAFT_OK) return none;
    if (!check_logits(g, who, logits)) return none;
    graft_shape ls = graft_out_shape(logits), ys = graft_out_shape(onehot_labels);
    graft_dtype ydt = graft_out_dtype(onehot_labels);
    if (!graftI_shape_compatible(&ls, &ys)) {
        char a[128], b[128];
        graftI_graph_fail(g, GRAFT_ERR_SHAPE, "%s: labels must have the logits' shape (%s vs %s)", who,
                          graft_shape_str(&ls, a, sizeof a), graft_shape_str(&ys, b, sizeof b));
        return none;
    }
    if (ydt == GRAFT_STRING || ydt == GRAFT_BOOL || graft_dtype_size(ydt) == 0) {
        graftI_graph_fail(g, GRAFT_ERR_DTYPE, "%s: labels must be numeric (vs %s)", who, dtn(ydt));
        return none;
    }
    if (!graft_graph_push_scope(g, who)) return none;
    graft_out y = onehot_labels;
    /* tf.losses casts labels to the logits' dtype */
    if (ydt != graft_out_dtype(logits)) y = graft_cast(g, y, graft_out_dtype(logits));
    graft_name_next(g, "labels_stop_gradient");
    y = graft_stop_gradient(g, y);
    graft_name_next(g, "xentropy");
    graft_out xent = graft_softmax_cross_entropy_with_logits(g, logits, y);
    graft_out v = mean_value(g, xent);
    graft_graph_pop_scope(g);
    return graft_graph_status(g) == GRAFT_OK ? v : none;
}

graft_out graft_sparse_softmax_cross_entropy_loss(graft_graph *g, graft_out logits, graft_out labels)
{
    graft_out none = {NULL, 0};
    const char *who = "sparse_softmax_cross_entropy_loss";
    if (!g || !logits.op || !labels.op || graft_graph_status(g) != GRAFT_OK) return none;
    if (!check_logits(g, who, logits)) return none;
    graft_dtype ydt = graft_out_dtype(labels);
    graft_shape ls = graft_out_shape(logits), ys = graft_out_shape(labels);
    if (ydt != GRAFT_INT32 && ydt != GRAFT_INT64) {
        graftI_graph_fail(g, GRAFT_ERR_DTYPE, "%s: labels must be int32 or int64 class ids (vs %s)", who,
                          dtn(ydt));
        return none;
    }
    if (ys.rank >= 0 && (ys.rank != 1 || (ys.dims[0] >= 0 && ls.dims[0] >= 0 && ys.dims[0] != ls.dims[0]))) {
        char a[128], b[128];
        graftI_graph_fail(g, GRAFT_ERR_SHAPE, "%s: labels must be [batch] for logits %s (vs %s)", who,
                          graft_shape_str(&ls, a, sizeof a), graft_shape_str(&ys, b, sizeof b));
        return none;
    }
    if (!graft_graph_push_scope(g, who)) return none;
    graft_name_next(g, "xentropy");
    graft_out xent = graft_sparse_softmax_cross_entropy_with_logits(g, logits, labels);
    graft_out v = mean_value(g, xent);
    graft_graph_pop_scope(g);
    return graft_graph_status(g) == GRAFT_OK ? v : none;
}

graft_out graft_accuracy(graft_graph *g, graft_out logits, graft_out labels)
{
    graft_out none = {NULL, 0};
    const char *who = "accuracy";
    if (!g || !logits.op || !labels.op || graft_graph_status(g) != GRAFT_OK) return none;
    if (!check_logits(g, who, logits)) return none;
    graft_dtype ydt = graft_out_dtype(labels);
    graft_shape ls = graft_out_shape(logits), ys = graft_out_shape(labels);
    bool ids = ydt == GRAFT_INT32 || ydt == GRAFT_INT64;
    bool rows = (ydt == GRAFT_FLOAT || ydt == GRAFT_DOUBLE) && graftI_shape_compatible(&ls, &ys);
    if (ids && ys.rank >= 0 && ys.rank != 1) ids = false;
    if (!ids && !rows) {
        char a[128], b[128];
        graftI_graph_fail(
            g, GRAFT_ERR_INVALID_ARG,
            "%s: labels must be int class ids [batch] or float rows shaped like the logits %s (vs %s %s)",
            who, graft_shape_str(&ls, a, sizeof a), dtn(ydt), graft_shape_str(&ys, b, sizeof b));
        return none;
    }
    if (!graft_graph_push_scope(g, who)) return none;
    graft_out pred = graft_argmax(g, logits, 1);
    graft_out lab = labels;
    if (rows)
        lab = graft_argmax(g, labels, 1);
    else if (ydt == GRAFT_INT32)
        lab = graft_cast(g, labels, GRAFT_INT64);
    graft_out hit = graft_cast(g, graft_equal(g, pred, lab), GRAFT_FLOAT);
    graft_out v = mean_value(g, hit);
    graft_graph_pop_scope(g);
    return graft_graph_status(g) == GRAFT_OK ? v : none;
}
