/* lib/ops/op_io.c - op group "io": TensorFlow's checkpoint ops SaveV2 and RestoreV2
 * with kernels over graft's bundle reader/writer, and the sharded-saver helpers
 * ShardedFilename, StringJoin and MergeV2Checkpoints, so graphs holding TF's save/
 * subgraph import and run. (The Saver itself reads/writes session storage directly.) */
#include "internal.h"

#include <stdio.h>
#include <unistd.h>

/* ---- shared ---------------------------------------------------------------------------------- */
static const graftI_attr *dtypes_attr(const graft_op *op)
{
    const graftI_attr *a = graftI_op_attr(op, "dtypes");
    return a && a->type == GRAFTI_ATTR_LIST_TYPE ? a : NULL;
}

static graft_code need_string(graft_op *op, int i, int rank, const char *what, graft_status *st)
{
    if (graftI_in_dtype(op, i) != GRAFT_STRING)
        return graft_status_set(st, GRAFT_ERR_DTYPE, "%s must be a string tensor, got %s", what,
                                graft_dtype_name(graftI_in_dtype(op, i)));
    const graft_shape *s = graftI_in_shape(op, i);
    if (rank >= 0 && s->rank >= 0 && s->rank != rank)
        return graft_status_set(st, GRAFT_ERR_SHAPE, "%s must have rank %d, got %d", what, rank, s->rank);
    return GRAFT_OK;
}

static const char *scalar_str(const graft_tensor *t)
{
    if (!t || t->dtype != GRAFT_STRING || t->n != 1) return NULL;
    const graft_str *s = t->data;
    return s[0].ptr ? s[0].ptr : "";
}

static graft_code check_names(graftI_kctx *k, int n, const graft_tensor *names, const graft_tensor *slices)
{
    if (names->dtype != GRAFT_STRING || slices->dtype != GRAFT_STRING || names->n != n || slices->n != n)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG,
                            "tensor_names and shape_and_slices must be string vectors of %d elements (got %lld and "
                            "%lld)",
                            n, (long long)names->n, (long long)slices->n);
    const graft_str *sl = slices->data;
    for (int i = 0; i < n; i++)
        if (sl[i].len != 0)
            return graftI_kfail(k, GRAFT_ERR_UNSUPPORTED,
                                "shape_and_slices[%d] = '%s': partitioned slices are not supported by graft's kernel",
                                i, sl[i].ptr);
    return GRAFT_OK;
}

/* ---- SaveV2(prefix, tensor_names, shape_and_slices, tensors...) ----------------------------------- */
static const graftI_attr_spec save_attrs[] = {{"dtypes", GRAFTI_ATTR_LIST_TYPE, NULL}, {NULL, 0, NULL}};

static graft_code save_infer(graft_op *op, graft_status *st)
{
    graft_code rc = need_string(op, 0, 0, "prefix", st);
    if (!rc) rc = need_string(op, 1, 1, "tensor_names", st);
    if (!rc) rc = need_string(op, 2, 1, "shape_and_slices", st);
    if (rc) return rc;
    const graftI_attr *a = dtypes_attr(op);
    int n = op->n_in - 3;
    if (!a || a->n != n)
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "dtypes lists %d types for %d tensors", a ? a->n : -1, n);
    for (int i = 0; i < n; i++)
        if (a->l.dt[i] != graftI_in_dtype(op, 3 + i))
            return graft_status_set(st, GRAFT_ERR_DTYPE, "tensor %d is %s, dtypes says %s", i,
                                    graft_dtype_name(graftI_in_dtype(op, 3 + i)), graft_dtype_name(a->l.dt[i]));
    return graftI_set_outputs(op, 0);
}

static graft_code save_forward(graftI_kctx *k)
{
    int n = k->n_in - 3;
    const char *prefix = scalar_str(k->in[0]);
    if (!prefix || !*prefix) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "prefix must be a non-empty string scalar");
    graft_code rc = check_names(k, n, k->in[1], k->in[2]);
    if (rc) return rc;
    graft_status st;
    graft_ckpt_writer *w = graft_ckpt_writer_new(prefix, &st);
    if (!w) return graftI_kfail(k, st.code, "%s", st.msg);
    const graft_str *names = k->in[1]->data;
    for (int i = 0; i < n && rc == GRAFT_OK; i++) {
        if (!k->in[3 + i]) {
            rc = graftI_kfail(k, GRAFT_ERR_FAILED_PRECONDITION, "tensor '%s' has no value", names[i].ptr);
            break;
        }
        rc = graft_ckpt_writer_add(w, names[i].ptr ? names[i].ptr : "", k->in[3 + i], &st);
        if (rc) graftI_kfail(k, rc, "%s", st.msg);
    }
    if (rc == GRAFT_OK && graft_ckpt_writer_finish(w, &st) != GRAFT_OK) rc = graftI_kfail(k, st.code, "%s", st.msg);
    graft_ckpt_writer_free(w);
    return rc;
}

static const graftI_op_def op_save_v2 = {"SaveV2", 3, -1, save_attrs, GRAFTI_OP_STATEFUL | GRAFTI_OP_NO_GRAD,
                                         save_infer, save_forward, NULL};

/* ---- RestoreV2(prefix, tensor_names, shape_and_slices) -> tensors --------------------------------- */
static graft_code restore_infer(graft_op *op, graft_status *st)
{
    graft_code rc = need_string(op, 0, 0, "prefix", st);
    if (!rc) rc = need_string(op, 1, 1, "tensor_names", st);
    if (!rc) rc = need_string(op, 2, 1, "shape_and_slices", st);
    if (rc) return rc;
    const graftI_attr *a = dtypes_attr(op);
    if (!a) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "missing dtypes");
    rc = graftI_set_outputs(op, a->n);
    if (rc) return rc;
    for (int i = 0; i < a->n; i++) {
        op->out[i].dtype = a->l.dt[i];
        op->out[i].shape = graft_shape_unknown();
    }
    return GRAFT_OK;
}

static graft_code restore_forward(graftI_kctx *k)
{
    const graftI_attr *a = dtypes_attr(k->op);
    int n = a ? a->n : 0;
    const char *prefix = scalar_str(k->in[0]);
    if (!prefix || !*prefix) return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "prefix must be a non-empty string scalar");
    graft_code rc = check_names(k, n, k->in[1], k->in[2]);
    if (rc) return rc;
    graft_status st;
    graft_ckpt_reader *r = graft_ckpt_reader_open(prefix, NULL, &st);
    if (!r) return graftI_kfail(k, st.code, "%s", st.msg);
    const graft_str *names = k->in[1]->data;
    for (int i = 0; i < n && rc == GRAFT_OK; i++) {
        graft_tensor *t = NULL;
        rc = graft_ckpt_reader_read(r, names[i].ptr ? names[i].ptr : "", &t, &st);
        if (rc) {
            graftI_kfail(k, rc, "%s", st.msg);
            break;
        }
        if (t->dtype != a->l.dt[i]) {
            rc = graftI_kfail(k, GRAFT_ERR_DTYPE, "%s: %s: checkpoint holds %s, dtypes[%d] expects %s", prefix,
                              names[i].ptr, graft_dtype_name(t->dtype), i, graft_dtype_name(a->l.dt[i]));
            graft_tensor_free(t);
            break;
        }
        graftI_out_set(k, i, t);
    }
    graft_ckpt_reader_free(r);
    return rc;
}

static const graftI_op_def op_restore_v2 = {"RestoreV2", 3, 3, save_attrs, GRAFTI_OP_STATEFUL | GRAFTI_OP_NO_GRAD,
                                            restore_infer, restore_forward, NULL};

/* ---- ShardedFilename(basename, shard, num_shards) = "%s-%05d-of-%05d" ------------------------------ */
static const graftI_attr_spec no_attrs[] = {{NULL, 0, NULL}};

static graft_code string_scalar_out(graft_op *op)
{
    graft_code rc = graftI_set_outputs(op, 1);
    if (rc) return rc;
    op->out[0].dtype = GRAFT_STRING;
    op->out[0].shape = graft_shape_make(0, NULL);
    return GRAFT_OK;
}

static graft_code sharded_infer(graft_op *op, graft_status *st)
{
    graft_code rc = need_string(op, 0, 0, "basename", st);
    if (rc) return rc;
    for (int i = 1; i < 3; i++)
        if (graftI_in_dtype(op, i) != GRAFT_INT32)
            return graft_status_set(st, GRAFT_ERR_DTYPE, "input %d must be int32", i);
    return string_scalar_out(op);
}

static graft_code sharded_forward(graftI_kctx *k)
{
    const char *base = scalar_str(k->in[0]);
    if (!base || k->in[1]->n != 1 || k->in[2]->n != 1)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "expects scalars");
    int shard = *(const int32_t *)k->in[1]->data, num = *(const int32_t *)k->in[2]->data;
    size_t n = strlen(base) + 32;
    char *s = graftI_malloc(n);
    if (!s) return graftI_kfail(k, GRAFT_ERR_NOMEM, "out of memory");
    snprintf(s, n, "%s-%05d-of-%05d", base, shard, num);
    graft_status st;
    graft_tensor *t = graft_tensor_scalar_string(s, strlen(s), &st);
    graftI_free(s);
    if (!t) return graftI_kfail(k, st.code, "%s", st.msg);
    graftI_out_set(k, 0, t);
    return GRAFT_OK;
}

static const graftI_op_def op_sharded_filename = {"ShardedFilename", 3, 3, no_attrs, GRAFTI_OP_NO_GRAD, sharded_infer,
                                                  sharded_forward, NULL};

/* ---- StringJoin(inputs...; separator): element-wise, scalars broadcast ---------------------------- */
static const graftI_attr_spec join_attrs[] = {
    {"N", GRAFTI_ATTR_INT, NULL}, {"separator", GRAFTI_ATTR_STRING, ""}, {NULL, 0, NULL}};

static graft_code join_infer(graft_op *op, graft_status *st)
{
    graft_shape out = graft_shape_make(0, NULL);
    for (int i = 0; i < op->n_in; i++) {
        graft_code rc = need_string(op, i, -1, "input", st);
        if (rc) return rc;
        const graft_shape *s = graftI_in_shape(op, i);
        if (s->rank != 0) out = *s;
    }
    graft_code rc = graftI_set_outputs(op, 1);
    if (rc) return rc;
    op->out[0].dtype = GRAFT_STRING;
    op->out[0].shape = out;
    return GRAFT_OK;
}

static graft_code join_forward(graftI_kctx *k)
{
    const char *sep = graftI_attr_s(k->op, "separator", "");
    size_t sl = strlen(sep);
    const graft_tensor *shape_src = k->in[0];
    for (int i = 0; i < k->n_in; i++)
        if (k->in[i]->n != 1) shape_src = k->in[i];
    int64_t n = shape_src->n;
    for (int i = 0; i < k->n_in; i++)
        if (k->in[i]->n != 1 && k->in[i]->n != n)
            return graftI_kfail(k, GRAFT_ERR_SHAPE, "inputs must be scalars or all of one shape");
    graft_tensor *t = graftI_tensor_alloc(NULL, GRAFT_STRING, shape_src->dims, shape_src->rank, true);
    if (!t) return graftI_kfail(k, GRAFT_ERR_NOMEM, "out of memory");
    for (int64_t e = 0; e < n; e++) {
        size_t len = 0;
        for (int i = 0; i < k->n_in; i++) len += ((const graft_str *)k->in[i]->data)[k->in[i]->n == 1 ? 0 : e].len + sl;
        char *s = graftI_malloc(len + 1), *p = s;
        if (!s) {
            graft_tensor_free(t);
            return graftI_kfail(k, GRAFT_ERR_NOMEM, "out of memory");
        }
        for (int i = 0; i < k->n_in; i++) {
            const graft_str *x = &((const graft_str *)k->in[i]->data)[k->in[i]->n == 1 ? 0 : e];
            if (i && sl) memcpy(p, sep, sl), p += sl;
            if (x->len) memcpy(p, x->ptr, x->len), p += x->len;
        }
        *p = '\0';
        graft_str *o = (graft_str *)t->data + e;
        o->ptr = s;
        o->len = (size_t)(p - s);
    }
    graftI_out_set(k, 0, t);
    return GRAFT_OK;
}

static const graftI_op_def op_string_join = {"StringJoin", 1, -1, join_attrs, GRAFTI_OP_NO_GRAD, join_infer,
                                             join_forward, NULL};

/* ---- MergeV2Checkpoints(checkpoint_prefixes, destination_prefix; delete_old_dirs) -------------------
 * Reads every part and writes one bundle at the destination (TF renames the
 * parts' data files instead; the result is an equivalent checkpoint), then
 * removes the parts and, with delete_old_dirs, their (now empty) directories. */
static const graftI_attr_spec merge_attrs[] = {
    {"delete_old_dirs", GRAFTI_ATTR_BOOL, "true"}, {"allow_missing_files", GRAFTI_ATTR_BOOL, "false"}, {NULL, 0, NULL}};

static graft_code merge_infer(graft_op *op, graft_status *st)
{
    graft_code rc = need_string(op, 0, 1, "checkpoint_prefixes", st);
    if (!rc) rc = need_string(op, 1, 0, "destination_prefix", st);
    if (rc) return rc;
    return graftI_set_outputs(op, 0);
}

static graft_code merge_forward(graftI_kctx *k)
{
    const graft_tensor *src = k->in[0];
    const char *dst = scalar_str(k->in[1]);
    if (!dst || !*dst || src->dtype != GRAFT_STRING)
        return graftI_kfail(k, GRAFT_ERR_INVALID_ARG, "bad checkpoint_prefixes/destination_prefix");
    graft_status st;
    graft_ckpt_writer *w = graft_ckpt_writer_new(dst, &st);
    if (!w) return graftI_kfail(k, st.code, "%s", st.msg);
    graft_code rc = GRAFT_OK;
    const graft_str *p = src->data;
    for (int64_t i = 0; i < src->n && rc == GRAFT_OK; i++) {
        graft_ckpt_reader *r = graft_ckpt_reader_open(p[i].ptr ? p[i].ptr : "", NULL, &st);
        if (!r) {
            rc = graftI_kfail(k, st.code, "%s", st.msg);
            break;
        }
        for (int e = 0; e < graft_ckpt_reader_num_entries(r) && rc == GRAFT_OK; e++) {
            graft_ckpt_entry en;
            graft_ckpt_reader_entry(r, e, &en);
            graft_tensor *t = NULL;
            rc = graft_ckpt_reader_read(r, en.name, &t, &st);
            if (!rc) rc = graft_ckpt_writer_add(w, en.name, t, &st);
            if (rc) graftI_kfail(k, rc, "%s", st.msg);
            graft_tensor_free(t);
        }
        graft_ckpt_reader_free(r);
    }
    if (rc == GRAFT_OK && graft_ckpt_writer_finish(w, &st) != GRAFT_OK) rc = graftI_kfail(k, st.code, "%s", st.msg);
    graft_ckpt_writer_free(w);
    bool del_dirs = graftI_attr_b(k->op, "delete_old_dirs", true);
    for (int64_t i = 0; i < src->n && rc == GRAFT_OK; i++) {
        const char *pp = p[i].ptr ? p[i].ptr : "";
        if (strcmp(pp, dst) == 0) continue;
        graft_ckpt_remove(pp, &st);
        if (del_dirs) {
            const char *sl = strrchr(pp, '/');
            if (sl && sl > pp) {
                char *d = graftI_strndup(pp, (size_t)(sl - pp));
                if (d) rmdir(d); /* only removes it once empty, as TF's DeleteRecursively of its temp dir */
                graftI_free(d);
            }
        }
    }
    return rc;
}

static const graftI_op_def op_merge_v2 = {"MergeV2Checkpoints", 2, 2, merge_attrs,
                                          GRAFTI_OP_STATEFUL | GRAFTI_OP_NO_GRAD, merge_infer, merge_forward, NULL};

const graftI_op_def *const graftI_ops_io[] = {&op_save_v2, &op_restore_v2, &op_sharded_filename, &op_string_join,
                                              &op_merge_v2, NULL};
