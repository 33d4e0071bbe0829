/* lib/metagraph/saver_import.c - the Saver of an imported meta graph: walks
 * the SaverDef's restore op down to its Assign/AssignVariableOp nodes, reads
 * each one's checkpoint key from the RestoreV2 (or V1 RestoreSlice/Restore)
 * tensor_names constant it takes its value from, and makes a graft_saver over
 * that key -> variable map that reuses the imported save/ nodes. */
#include <stdio.h>

#include "mg_saver.h"

/* Follows Identity ops (resource restores go through save/Identity_N). */
static graft_out through_identity(graft_out o)
{
    for (int i = 0; i < 16 && o.op && !strcmp(o.op->type, "Identity") && o.op->n_in == 1; i++) o = o.op->in[0];
    return o;
}

/* Element i of a string Const (borrowed), or NULL. */
static const graft_str *const_string(const graft_op *op, int64_t i)
{
    if (!op || strcmp(op->type, "Const")) return NULL;
    const graft_tensor *t = graft_op_attr_tensor(op, "value");
    if (!t || graft_tensor_dtype(t) != GRAFT_STRING || i < 0 || i >= graft_tensor_num_elements(t)) return NULL;
    return (const graft_str *)graft_tensor_cdata(t) + i;
}

static graft_code unsupported(char *note, size_t cap, const char *fmt, ...) GRAFTI_PRINTF(3, 4);
static graft_code unsupported(char *note, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(note, cap, fmt, ap);
    va_end(ap);
    return GRAFT_ERR_UNSUPPORTED;
}

/* The key the value of an Assign comes from. */
static graft_code restore_key(graft_out v, const char **key, size_t *len, char *note, size_t cap)
{
    v = through_identity(v);
    if (!v.op) return unsupported(note, cap, "restore value has no producer");
    const char *t = v.op->type;
    const graft_str *name = NULL, *spec = NULL;
    if (!strcmp(t, "RestoreV2") && v.op->n_in >= 3) {
        name = const_string(v.op->in[1].op, v.index);
        spec = const_string(v.op->in[2].op, v.index);
    } else if (!strcmp(t, "RestoreSlice") && v.op->n_in >= 3) {
        name = const_string(v.op->in[1].op, 0);
        spec = const_string(v.op->in[2].op, 0);
    } else if (!strcmp(t, "Restore") && v.op->n_in >= 2) {
        name = const_string(v.op->in[1].op, 0);
    } else {
        return unsupported(note, cap, "'%s' (%s) is not a restore op", v.op->name, t);
    }
    if (!name) return unsupported(note, cap, "'%s': tensor_names is not a string constant", v.op->name);
    if (spec && spec->len)
        return unsupported(note, cap, "'%s': key '%.*s' restores a slice ('%.*s'); partitioned variables are not "
                           "supported", v.op->name, (int)(name->len > 200 ? 200 : name->len), name->ptr,
                           (int)(spec->len > 100 ? 100 : spec->len), spec->ptr);
    *key = name->ptr;
    *len = name->len;
    return GRAFT_OK;
}

/* A SaverDef name ("save/Const:0", "save/restore_all") -> the imported op and
 * its final name with the output index ("scope/save/Const:0"). */
static graft_op *resolve(const graft_meta_graph *m, graft_op *const *ops, const char *name, bool tensor, char *out,
                         size_t cap)
{
    if (name[0] == '^') name++;
    const char *colon = strrchr(name, ':');
    size_t len = colon ? (size_t)(colon - name) : strlen(name);
    int k = graftI_mg_find(m, name, len);
    if (k < 0 || !ops[k]) return NULL;
    if (tensor) snprintf(out, cap, "%s:%s", graft_op_name(ops[k]), colon && colon[1] ? colon + 1 : "0");
    else snprintf(out, cap, "%s", graft_op_name(ops[k]));
    return ops[k];
}

graft_code graftI_mg_saver_from_def(graft_graph *g, const graft_meta_graph *m, graft_op *const *ops,
                                    graft_saver **out, char *note, size_t note_cap, graft_status *st)
{
    *out = NULL;
    note[0] = '\0';
    const Tensorflow__SaverDef *sd = m->mg->saver_def;
    if (!sd) return GRAFT_OK;
    char rname[1024], fname[1024], sname[1024];
    graft_op *restore = resolve(m, ops, sd->restore_op_name, false, rname, sizeof rname);
    if (!restore) return unsupported(note, note_cap, "SaverDef restore op '%s' is not in the graph", sd->restore_op_name);
    if (!resolve(m, ops, sd->filename_tensor_name, true, fname, sizeof fname))
        return unsupported(note, note_cap, "SaverDef filename tensor '%s' is not in the graph",
                           sd->filename_tensor_name);
    if (!resolve(m, ops, sd->save_tensor_name, true, sname, sizeof sname))
        return unsupported(note, note_cap, "SaverDef save tensor '%s' is not in the graph", sd->save_tensor_name);

    /* walk the restore op's control inputs through NoOp groups to the assigns */
    int nops = graft_graph_num_ops(g);
    uint8_t *seen = graftI_calloc((size_t)nops + 1, 1);
    graft_op **stack = graftI_calloc((size_t)nops + 1, sizeof *stack);
    graft_op **vars = graftI_calloc((size_t)nops + 1, sizeof *vars);
    char **keys = graftI_calloc((size_t)nops + 1, sizeof *keys);
    graft_code rc = GRAFT_OK;
    int n = 0, sp = 0;
    if (!seen || !stack || !vars || !keys) {
        rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", m->file);
        goto done;
    }
    stack[sp++] = restore;
    seen[restore->id] = 1;
    while (sp > 0 && !rc) {
        graft_op *o = stack[--sp];
        if (!strcmp(o->type, "Assign") || !strcmp(o->type, "AssignVariableOp")) {
            if (o->n_in < 2) continue;
            graft_op *var = o->in[0].op;
            if (!var->def || !(var->def->flags & GRAFTI_OP_VARIABLE)) {
                rc = unsupported(note, note_cap, "'%s' restores '%s' (%s), which graft cannot use as a variable",
                                 o->name, var->name, var->type);
                break;
            }
            const char *k = NULL;
            size_t kl = 0;
            rc = restore_key(o->in[1], &k, &kl, note, note_cap);
            if (rc) break;
            if (kl == 0 || memchr(k, '\0', kl)) {
                rc = unsupported(note, note_cap, "'%s': empty or invalid checkpoint key", o->name);
                break;
            }
            keys[n] = graftI_strndup(k, kl);
            if (!keys[n]) {
                rc = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", m->file);
                break;
            }
            vars[n++] = var;
            continue;
        }
        for (int j = 0; j < o->n_ctrl + o->n_in; j++) {
            graft_op *p = j < o->n_ctrl ? o->ctrl[j] : o->in[j - o->n_ctrl].op;
            /* data inputs only matter below groups (restore_shard is a NoOp too) */
            if (j >= o->n_ctrl && strcmp(o->type, "NoOp")) continue;
            if (p && !seen[p->id]) {
                seen[p->id] = 1;
                stack[sp++] = p;
            }
        }
    }
    if (!rc && n == 0) rc = unsupported(note, note_cap, "restore op '%s' assigns no variables", rname);
    if (!rc) {
        graft_saver_def def;
        memset(&def, 0, sizeof def);
        def.filename_tensor_name = fname;
        def.save_tensor_name = sname;
        def.restore_op_name = rname;
        def.max_to_keep = sd->max_to_keep;
        def.sharded = sd->sharded;
        def.keep_checkpoint_every_n_hours = sd->keep_checkpoint_every_n_hours;
        def.version = (int)sd->version;
        graft_saver_opts so;
        graft_saver_opts_init(&so);
        graft_status sst;
        graft_status_clear(&sst);
        *out = graft_saver_new_from_def(g, (const char *const *)keys, vars, n, &def, &so, &sst);
        if (!*out && sst.code == GRAFT_ERR_UNSUPPORTED)
            rc = unsupported(note, note_cap, "saver: %s", sst.msg);
        else if (!*out)
            rc = graft_status_set(st, sst.code ? sst.code : GRAFT_ERR_INTERNAL, "%s: saver: %s", m->file, sst.msg);
    }
done:
    if (keys)
        for (int i = 0; i < n; i++) graftI_free(keys[i]);
    graftI_free(keys);
    graftI_free(vars);
    graftI_free(stack);
    graftI_free(seen);
    return rc;
}

void graftI_mg_saver_free(graft_saver *s)
{
    graft_saver_free(s);
}
