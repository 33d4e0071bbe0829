/* lib/metagraph/decode.c - reading .meta / saved_model.pb files: size cap, an
 * iterative descriptor-guided pre-scan of the protobuf wire format (depth and
 * length checks), protobuf-c unpacking through graft's allocator with a byte
 * budget, meta graph selection, and the read-only inspection API. */
#include <stdio.h>

#include "mg.h"

/* ---- allocator ---------------------------------------------------------------
 * Each block carries its size in a 16-byte header so frees can return budget. */
typedef union mg_hdr {
    size_t n;
    max_align_t align;
} mg_hdr;

static void *mg_alloc(void *ud, size_t n)
{
    mgI_alloc *a = ud;
    size_t total;
    if (!graftI_add_size(n, sizeof(mg_hdr), &total) || total > a->budget - a->used) {
        a->over = true;
        return NULL;
    }
    mg_hdr *h = graftI_malloc(total);
    if (!h) {
        a->nomem = true;
        return NULL;
    }
    h->n = total;
    a->used += total;
    return h + 1;
}

static void mg_free(void *ud, void *p)
{
    mgI_alloc *a = ud;
    if (!p) return;
    mg_hdr *h = (mg_hdr *)p - 1;
    a->used -= h->n;
    graftI_free(h);
}

void graftI_mg_alloc_init(mgI_alloc *a, size_t budget)
{
    a->pc.alloc = mg_alloc;
    a->pc.free = mg_free;
    a->pc.allocator_data = a;
    a->used = 0;
    a->budget = budget;
    a->over = false;
    a->nomem = false;
}

/* ---- wire pre-scan --------------------------------------------------------- */
static bool rd_varint(const uint8_t *d, size_t end, size_t *pos, uint64_t *v)
{
    uint64_t x = 0;
    for (int i = 0; i < 10; i++) {
        if (*pos >= end) return false;
        uint8_t b = d[(*pos)++];
        if (i == 9 && b > 1) return false;
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* The wire type a field of this type is written with (unpacked). */
static int wire_type_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL:
    case PROTOBUF_C_TYPE_ENUM: return 0;
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE: return 1;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT: return 5;
    default: return 2; /* string, bytes, message */
    }
}

/* A packed run [pos, end) of elements of wire type want holds whole elements. */
static bool packed_ok(const uint8_t *data, size_t pos, size_t end, int want)
{
    if (want == 1) return (end - pos) % 8 == 0;
    if (want == 5) return (end - pos) % 4 == 0;
    while (pos < end) {
        uint64_t v;
        if (!rd_varint(data, end, &pos, &v)) return false;
    }
    return true;
}

graft_code graftI_mg_prescan(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                             const char *file, graft_status *st)
{
    struct {
        const ProtobufCMessageDescriptor *d;
        size_t end;
    } stack[GRAFTI_META_MAX_DEPTH + 1];
    int depth = 0;
    stack[0].d = desc;
    stack[0].end = len;
    size_t pos = 0;
    for (;;) {
        if (pos == stack[depth].end) {
            if (depth == 0) break;
            depth--;
            continue;
        }
        size_t at = pos;
        uint64_t key;
        if (!rd_varint(data, stack[depth].end, &pos, &key))
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %zu: truncated or over-long field tag (in %s)",
                                    file, at, stack[depth].d->name);
        uint64_t field = key >> 3;
        unsigned wt = (unsigned)(key & 7);
        if (field == 0 || field > 536870911u)
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %zu: invalid field number %llu (in %s)", file,
                                    at, (unsigned long long)field, stack[depth].d->name);
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(stack[depth].d, (unsigned)field);
        int want = fd ? wire_type_of(fd->type) : -1;
        bool packed = fd && fd->label == PROTOBUF_C_LABEL_REPEATED && want != 2 && wt == 2;
        if (want >= 0 && (unsigned)want != wt && !packed)
            return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                    "%s: offset %zu: field %llu (%s) of %s has wire type %u, expected %d", file, at,
                                    (unsigned long long)field, fd->name, stack[depth].d->name, wt, want);
        uint64_t v;
        switch (wt) {
        case 0:
            if (!rd_varint(data, stack[depth].end, &pos, &v))
                return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %zu: truncated or over-long varint (field "
                                        "%llu of %s)", file, at, (unsigned long long)field, stack[depth].d->name);
            break;
        case 1:
        case 5: {
            size_t w = wt == 1 ? 8 : 4;
            if (stack[depth].end - pos < w)
                return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %zu: truncated fixed%zu field %llu of %s",
                                        file, at, w * 8, (unsigned long long)field, stack[depth].d->name);
            pos += w;
            break;
        }
        case 2: {
            if (!rd_varint(data, stack[depth].end, &pos, &v))
                return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %zu: truncated length (field %llu of %s)",
                                        file, at, (unsigned long long)field, stack[depth].d->name);
            if (v > stack[depth].end - pos)
                return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                        "%s: offset %zu: field %llu of %s: length %llu runs past the end of its "
                                        "message (%zu bytes left)",
                                        file, at, (unsigned long long)field, stack[depth].d->name,
                                        (unsigned long long)v, stack[depth].end - pos);
            if (packed && !packed_ok(data, pos, pos + (size_t)v, want))
                return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                        "%s: offset %zu: packed field %llu (%s) of %s: %llu bytes are not whole "
                                        "elements",
                                        file, at, (unsigned long long)field, fd->name, stack[depth].d->name,
                                        (unsigned long long)v);
            if (fd && fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (depth + 1 > GRAFTI_META_MAX_DEPTH)
                    return graft_status_set(st, GRAFT_ERR_CORRUPT,
                                            "%s: offset %zu: protobuf nesting deeper than the cap of %d", file, at,
                                            GRAFTI_META_MAX_DEPTH);
                depth++;
                stack[depth].d = fd->descriptor;
                stack[depth].end = pos + (size_t)v;
            } else {
                pos += (size_t)v;
            }
            break;
        }
        default:
            return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: offset %zu: unsupported wire type %u (field %llu of %s)",
                                    file, at, wt, (unsigned long long)field, stack[depth].d->name);
        }
    }
    return GRAFT_OK;
}

/* ---- reading ------------------------------------------------------------------ */
void graft_meta_opts_init(graft_meta_opts *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
}

void graft_meta_graph_free(graft_meta_graph *m)
{
    if (!m) return;
    if (m->sm) protobuf_c_message_free_unpacked(&m->sm->base, &m->alloc.pc);
    if (m->own_mg) protobuf_c_message_free_unpacked(&m->own_mg->base, &m->alloc.pc);
    if (m->nodes) {
        for (int i = 0; i < m->n_nodes; i++) {
            graftI_free(m->nodes[i].in);
            graftI_free(m->nodes[i].shapes);
        }
    }
    graftI_free(m->nodes);
    graftI_free(m->topo);
    graftI_free(m->ht);
    graftI_free(m->file);
    graftI_free(m);
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* Does the buffer look like a text-format proto ("meta_info_def {", "node {")? */
static bool looks_like_text(const uint8_t *d, size_t n)
{
    size_t i = 0;
    while (i < n && (d[i] == ' ' || d[i] == '\n' || d[i] == '\t' || d[i] == '\r' || d[i] == '#')) {
        if (d[i] == '#')
            while (i < n && d[i] != '\n') i++;
        else
            i++;
    }
    size_t b = i;
    while (i < n && ((d[i] >= 'a' && d[i] <= 'z') || d[i] == '_')) i++;
    if (i - b < 3) return false;
    while (i < n && d[i] == ' ') i++;
    return i < n && (d[i] == '{' || d[i] == ':');
}

graft_code graft_meta_graph_parse(const void *data, size_t len, const char *name, const graft_meta_opts *opts,
                                  graft_meta_graph **out, graft_status *st)
{
    if (out) *out = NULL;
    if (!out || (!data && len))
        return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_meta_graph_parse: NULL argument");
    const char *file = name ? name : "<meta graph>";
    size_t cap = opts && opts->max_file_bytes ? opts->max_file_bytes : GRAFTI_META_MAX_FILE;
    if (len > cap)
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: %zu bytes is over the meta graph cap of %zu bytes "
                                "(graft_meta_opts.max_file_bytes)", file, len, cap);
    const uint8_t *d = data;
    if (len == 0) return graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: empty file (not a MetaGraphDef)", file);
    if (looks_like_text(d, len))
        return graft_status_set(st, GRAFT_ERR_UNSUPPORTED,
                                "%s: looks like a text-format protobuf; graft reads binary MetaGraphDef/SavedModel files "
                                "only", file);
    /* MetaGraphDef starts with field 1 (meta_info_def, length-delimited: 0x0a) or
     * 2 (graph_def: 0x12); SavedModel with field 1 (schema version, varint: 0x08)
     * or 2 (meta_graphs: 0x12). 0x12 is ambiguous: decide by the ".pb" suffix. */
    bool saved_model = d[0] == 0x08 || (d[0] == 0x12 && ends_with(file, ".pb"));

    graft_meta_graph *m = graftI_calloc(1, sizeof *m);
    if (!m) return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", file);
    m->file = graftI_strdup(file);
    if (!m->file) {
        graftI_free(m);
        return graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory", file);
    }
    /* protobuf-c needs a few times the wire size; the budget bounds hostile
     * inputs whose tiny submessages each cost a struct. */
    size_t budget = len > (SIZE_MAX - ((size_t)64 << 20)) / 32 ? SIZE_MAX : len * 32 + ((size_t)64 << 20);
    graftI_mg_alloc_init(&m->alloc, budget);

    const ProtobufCMessageDescriptor *desc =
        saved_model ? &tensorflow__saved_model__descriptor : &tensorflow__meta_graph_def__descriptor;
    graft_code c = graftI_mg_prescan(desc, d, len, file, st);
    if (c) goto fail;
    ProtobufCMessage *msg = protobuf_c_message_unpack(desc, &m->alloc.pc, len, d);
    if (!msg) {
        if (m->alloc.over)
            c = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: decoding needs more than the budget of %zu bytes", file,
                                 m->alloc.budget);
        else if (m->alloc.nomem)
            c = graft_status_set(st, GRAFT_ERR_NOMEM, "%s: out of memory while decoding", file);
        else
            c = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: not a valid %s (protobuf decoding failed)", file,
                                 saved_model ? "SavedModel" : "MetaGraphDef");
        goto fail;
    }
    if (saved_model) {
        m->sm = (Tensorflow__SavedModel *)msg;
        if (m->sm->n_meta_graphs == 0) {
            c = graft_status_set(st, GRAFT_ERR_CORRUPT, "%s: SavedModel has no meta graphs", file);
            goto fail;
        }
        const char *tag = opts ? opts->saved_model_tag : NULL;
        for (size_t i = 0; i < m->sm->n_meta_graphs && !m->mg; i++) {
            Tensorflow__MetaGraphDef *mg = m->sm->meta_graphs[i];
            if (!mg) continue;
            if (!tag) {
                m->mg = mg;
                break;
            }
            if (mg->meta_info_def)
                for (size_t t = 0; t < mg->meta_info_def->n_tags; t++)
                    if (strcmp(mg->meta_info_def->tags[t], tag) == 0) m->mg = mg;
        }
        if (!m->mg) {
            c = graft_status_set(st, GRAFT_ERR_NOT_FOUND, "%s: no meta graph with tag '%s' in the SavedModel", file,
                                 tag ? tag : "");
            goto fail;
        }
    } else {
        m->own_mg = (Tensorflow__MetaGraphDef *)msg;
        m->mg = m->own_mg;
    }
    c = graftI_mg_index(m, opts && opts->max_const_bytes ? opts->max_const_bytes : GRAFTI_META_MAX_CONST, st);
    if (c) goto fail;
    *out = m;
    graft_status_clear(st);
    return GRAFT_OK;
fail:
    graft_meta_graph_free(m);
    return c;
}

graft_code graft_meta_graph_read(const char *path, const graft_meta_opts *opts, graft_meta_graph **out,
                                 graft_status *st)
{
    if (out) *out = NULL;
    if (!path || !out) return graft_status_set(st, GRAFT_ERR_INVALID_ARG, "graft_meta_graph_read: NULL argument");
    size_t cap = opts && opts->max_file_bytes ? opts->max_file_bytes : GRAFTI_META_MAX_FILE;
    uint8_t *data = NULL;
    size_t len = 0;
    graft_code c = graftI_read_file(path, cap, &data, &len, st);
    if (c) return c;
    c = graft_meta_graph_parse(data, len, path, opts, out, st);
    graftI_free(data);
    return c;
}

/* ---- inspection ---------------------------------------------------------------- */
void graft_meta_graph_get_info(const graft_meta_graph *m, graft_meta_info *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->meta_graph_version = o->tensorflow_version = o->tensorflow_git_version = "";
    if (!m) return;
    const Tensorflow__MetaGraphDef *mg = m->mg;
    const Tensorflow__MetaGraphDef__MetaInfoDef *mi = mg->meta_info_def;
    if (mi) {
        o->meta_graph_version = mi->meta_graph_version;
        o->tensorflow_version = mi->tensorflow_version;
        o->tensorflow_git_version = mi->tensorflow_git_version;
        o->num_tags = (int)mi->n_tags;
        o->tags = (const char *const *)mi->tags;
        o->stripped_default_attrs = mi->stripped_default_attrs;
    }
    if (mg->graph_def && mg->graph_def->versions) {
        o->producer = mg->graph_def->versions->producer;
        o->min_consumer = mg->graph_def->versions->min_consumer;
    }
    o->num_nodes = m->n_nodes;
    o->num_functions = m->n_funcs;
    o->has_saver_def = mg->saver_def != NULL;
    o->num_collections = (int)mg->n_collection_def;
    o->num_signatures = (int)mg->n_signature_def;
    o->from_saved_model = m->sm != NULL;
}

int graft_meta_graph_num_nodes(const graft_meta_graph *m)
{
    return m ? m->n_nodes : 0;
}

bool graft_meta_graph_node(const graft_meta_graph *m, int i, graft_meta_node *o)
{
    if (!m || !o || i < 0 || i >= m->n_nodes) return false;
    const mgI_node *n = &m->nodes[i];
    memset(o, 0, sizeof *o);
    o->name = n->def->name;
    o->op = n->def->op;
    o->device = n->def->device;
    o->num_inputs = (int)n->def->n_input;
    o->inputs = (const char *const *)n->def->input;
    o->num_outputs = n->n_out;
    o->num_output_shapes = n->n_shapes;
    o->output_shapes = n->shapes;
    o->dtype = GRAFT_INVALID;
    const Tensorflow__AttrValue *a = graftI_mg_attr(n->def, "dtype");
    if (!a || a->value_case != TENSORFLOW__ATTR_VALUE__VALUE_TYPE) a = graftI_mg_attr(n->def, "T");
    if (a && a->value_case == TENSORFLOW__ATTR_VALUE__VALUE_TYPE && graft_dtype_valid((int)a->type))
        o->dtype = (graft_dtype)a->type;
    const graftI_op_def *def = graftI_op_lookup(n->def->op);
    o->registered = def != NULL;
    o->runnable = def && def->forward;
    return true;
}

int graft_meta_graph_find_node(const graft_meta_graph *m, const char *name)
{
    return m && name ? graftI_mg_find(m, name, strlen(name)) : -1;
}

bool graft_meta_graph_saver_def(const graft_meta_graph *m, graft_saver_def *o)
{
    if (!m || !m->mg->saver_def) return false;
    if (o) {
        const Tensorflow__SaverDef *s = m->mg->saver_def;
        o->filename_tensor_name = s->filename_tensor_name;
        o->save_tensor_name = s->save_tensor_name;
        o->restore_op_name = s->restore_op_name;
        o->max_to_keep = s->max_to_keep;
        o->sharded = s->sharded;
        o->keep_checkpoint_every_n_hours = s->keep_checkpoint_every_n_hours;
        o->version = (int)s->version;
    }
    return true;
}
