/* tests/test_metagraph.c - reading and importing meta graphs: every fixture's
 * .meta / saved_model.pb decodes to what the independent refread golden.json
 * records (node and op counts, versions, SaverDef, collections) and imports
 * into a graft graph; malformed files are refused with clear messages before
 * anything is built; import scopes, rollback, missing feeds, inert ops and
 * TF's constant fill rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "internal.h"
#include "graft/metagraph.h"
#include "meta_build.h"
#include "meta_fixtures.h"

static meta_fixture *fx;
static int nfx;

static int setup(void **state)
{
    (void)state;
    nfx = meta_fixtures_load(&fx);
    return nfx > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    meta_fixtures_free(fx, nfx);
    return 0;
}

static void check_msg(const graft_status *st, const char *needle)
{
    if (!strstr(st->msg, needle)) fail_msg("message '%s' lacks '%s'", st->msg, needle);
}

/* ---- fixtures against golden.json ---------------------------------------------------- */
static void test_fixtures_decode_match_golden(void **state)
{
    (void)state;
    for (int i = 0; i < nfx; i++) {
        const meta_fixture *f = &fx[i];
        graft_meta_opts o;
        graft_meta_opts_init(&o);
        o.saved_model_tag = f->tag;
        graft_meta_graph *m = NULL;
        graft_status st;
        if (graft_meta_graph_read(f->path, &o, &m, &st)) fail_msg("%s: %s", f->name, st.msg);
        graft_meta_info info;
        graft_meta_graph_get_info(m, &info);
        assert_int_equal(info.num_nodes, (int)mj_num(mj_get(f->meta, "node_count")));
        assert_int_equal(info.producer, (int)mj_num(mj_path(f->meta, "graph_versions.producer")));
        assert_int_equal(info.min_consumer, (int)mj_num(mj_path(f->meta, "graph_versions.min_consumer")));
        assert_string_equal(info.tensorflow_version, mj_str(mj_get(f->meta, "tensorflow_version")));
        assert_int_equal(info.stripped_default_attrs, mj_bool(mj_get(f->meta, "stripped_default_attrs")));
        assert_int_equal(info.num_collections, mj_len(mj_get(f->meta, "collections")));
        assert_int_equal(info.num_tags, mj_len(mj_get(f->meta, "tags")));
        assert_int_equal(info.from_saved_model, f->tag != NULL);
        /* op counts, type by type */
        const mj *oc = mj_get(f->meta, "op_counts");
        int total = 0;
        for (int k = 0; k < mj_len(oc); k++) {
            const char *type = mj_key_at(oc, k);
            int want = (int)mj_num(mj_at(oc, k)), got = 0;
            for (int n = 0; n < info.num_nodes; n++) {
                graft_meta_node nd;
                assert_true(graft_meta_graph_node(m, n, &nd));
                if (!strcmp(nd.op, type)) got++;
            }
            if (got != want) fail_msg("%s: op %s: golden %d vs graft %d", f->name, type, want, got);
            total += want;
        }
        assert_int_equal(total, info.num_nodes);
        /* SaverDef */
        graft_saver_def sd;
        bool has = graft_meta_graph_saver_def(m, &sd);
        assert_int_equal(has, mj_bool(mj_path(f->meta, "saver_def.present")));
        if (has) {
            assert_string_equal(sd.filename_tensor_name, mj_str(mj_path(f->meta, "saver_def.filename_tensor_name")));
            assert_string_equal(sd.save_tensor_name, mj_str(mj_path(f->meta, "saver_def.save_tensor_name")));
            assert_string_equal(sd.restore_op_name, mj_str(mj_path(f->meta, "saver_def.restore_op_name")));
            assert_int_equal(sd.max_to_keep, (int)mj_num(mj_path(f->meta, "saver_def.max_to_keep")));
            assert_int_equal(sd.sharded, mj_bool(mj_path(f->meta, "saver_def.sharded")));
            assert_true(sd.keep_checkpoint_every_n_hours ==
                        (float)mj_num(mj_path(f->meta, "saver_def.keep_checkpoint_every_n_hours")));
            const char *ver = mj_str(mj_path(f->meta, "saver_def.version"));
            assert_int_equal(sd.version, !strcmp(ver, "V2") ? 2 : !strcmp(ver, "V1") ? 1 : 0);
        }
        /* variables: every VariableDef's node exists */
        const mj *vc = mj_get(f->meta, "variables_collection");
        for (int k = 0; k < mj_len(vc); k++) {
            char nm[512];
            snprintf(nm, sizeof nm, "%s", mj_str(mj_get(mj_at(vc, k), "variable_name")));
            char *c = strchr(nm, ':');
            if (c) *c = '\0';
            assert_true(graft_meta_graph_find_node(m, nm) >= 0);
        }
        graft_meta_graph_free(m);
    }
}

/* The op types of every fixture and whether graft can run them (the report the
 * lead uses to assign missing ops). Asserts only what must hold: the list is
 * complete and consistent with the registry. */
static void test_fixtures_op_report(void **state)
{
    (void)state;
    char seen[512][64];
    int nseen = 0;
    for (int i = 0; i < nfx; i++) {
        graft_meta_opts o;
        graft_meta_opts_init(&o);
        o.saved_model_tag = fx[i].tag;
        graft_meta_graph *m = NULL;
        graft_status st;
        assert_int_equal(graft_meta_graph_read(fx[i].path, &o, &m, &st), GRAFT_OK);
        printf("# %s:", fx[i].name);
        for (int n = 0; n < graft_meta_graph_num_nodes(m); n++) {
            graft_meta_node nd;
            graft_meta_graph_node(m, n, &nd);
            assert_int_equal(nd.runnable, graft_op_runnable(NULL) || (graftI_op_lookup(nd.op) &&
                                                                      graftI_op_lookup(nd.op)->forward));
            int k = 0;
            while (k < nseen && strcmp(seen[k], nd.op)) k++;
            if (k == nseen && nseen < 512) {
                snprintf(seen[nseen++], 64, "%s", nd.op);
                printf(" %s%s", nd.op, nd.runnable ? "" : "(inert)");
            }
        }
        printf("\n");
        graft_meta_graph_free(m);
    }
    printf("# op types not runnable in graft:");
    for (int k = 0; k < nseen; k++) {
        const graftI_op_def *d = graftI_op_lookup(seen[k]);
        if (!d || !d->forward) printf(" %s", seen[k]);
    }
    printf("\n");
}

static void test_fixtures_import(void **state)
{
    (void)state;
    for (int i = 0; i < nfx; i++) {
        const meta_fixture *f = &fx[i];
        graft_meta_opts o;
        graft_meta_opts_init(&o);
        o.saved_model_tag = f->tag;
        graft_graph *g = graft_graph_new();
        graft_meta_import *r = NULL;
        graft_status st;
        if (graft_import_meta_graph(g, f->path, &o, &r, &st)) fail_msg("%s: %s", f->name, st.msg);
        assert_int_equal(graft_graph_num_ops(g), (int)mj_num(mj_get(f->meta, "node_count")));
        /* distinct variables of the variables collection whose op graft can hold */
        const mj *vc = mj_get(f->meta, "variables_collection");
        int want = 0;
        for (int k = 0; k < mj_len(vc); k++) {
            char nm[512];
            snprintf(nm, sizeof nm, "%s", mj_str(mj_get(mj_at(vc, k), "variable_name")));
            *strchr(nm, ':') = '\0';
            graft_op *op = graft_graph_op(g, nm);
            assert_non_null(op);
            if (op->def && (op->def->flags & GRAFTI_OP_VARIABLE)) want++;
        }
        assert_int_equal(graft_graph_num_variables(g), want);
        printf("# %s: %d ops, %d variables, saver: %s; inert types:", f->name, graft_graph_num_ops(g), want,
               graft_meta_import_saver_note(r)[0] ? graft_meta_import_saver_note(r) : "ok");
        for (int k = 0; k < graft_meta_import_num_inert_types(r); k++) {
            int c;
            const char *t = graft_meta_import_inert_type(r, k, &c);
            printf(" %s(%d)", t, c);
        }
        printf("\n");
        graft_meta_import_free(r);
        graft_graph_free(g);
    }
}

/* ---- malformed input ------------------------------------------------------------------- */
static graft_code parse_mb(mb *b, graft_status *st)
{
    size_t len;
    uint8_t *p = mb_pack(b, &len);
    graft_meta_graph *m = NULL;
    graft_code c = graft_meta_graph_parse(p, len, "t.meta", NULL, &m, st);
    graft_meta_graph_free(m);
    free(p);
    return c;
}

static void test_bad_graphs(void **state)
{
    (void)state;
    graft_status st;
    int64_t d2[1] = {2};
    {
        mb *b = mb_new();
        mb_placeholder(b, "a", 1, 0, NULL);
        mb_placeholder(b, "a", 1, 0, NULL);
        assert_int_equal(parse_mb(b, &st), GRAFT_ERR_CORRUPT);
        check_msg(&st, "node 'a': duplicate node name");
        mb_free(b);
    }
    {
        mb *b = mb_new();
        mb_node(b, "x", "Identity", (const char *[]){"nowhere:0", NULL});
        assert_int_equal(parse_mb(b, &st), GRAFT_ERR_CORRUPT);
        check_msg(&st, "input 'nowhere:0' names no node");
        mb_free(b);
    }
    {
        mb *b = mb_new();
        mb_node(b, "a", "Identity", (const char *[]){"b", NULL});
        mb_node(b, "b", "Identity", (const char *[]){"a", NULL});
        assert_int_equal(parse_mb(b, &st), GRAFT_ERR_CORRUPT);
        check_msg(&st, "cycle");
        mb_free(b);
    }
    {
        mb *b = mb_new();
        mb_placeholder(b, "x", 1, 0, NULL);
        mb_node(b, "enter", "Enter", (const char *[]){"x", NULL});
        mb_node(b, "merge", "Merge", (const char *[]){"enter", "next", NULL});
        mb_node(b, "next", "NextIteration", (const char *[]){"merge", NULL});
        assert_int_equal(parse_mb(b, &st), GRAFT_ERR_UNSUPPORTED);
        check_msg(&st, "while-loop");
        mb_free(b);
    }
    {
        mb *b = mb_new();
        mb_placeholder(b, "a", 1, 0, NULL);
        mb_node(b, "x", "Identity", (const char *[]){"^a", "a", NULL});
        assert_int_equal(parse_mb(b, &st), GRAFT_ERR_CORRUPT);
        check_msg(&st, "after a control input");
        mb_free(b);
    }
    {
        mb *b = mb_new();
        mb_placeholder(b, "a", 1, 0, NULL);
        mb_node(b, "x", "Identity", (const char *[]){"a:x", NULL});
        assert_int_equal(parse_mb(b, &st), GRAFT_ERR_CORRUPT);
        check_msg(&st, "malformed input 'a:x'");
        mb_free(b);
    }
    {
        mb *b = mb_new();
        mb_placeholder(b, "bad name!", 1, 0, NULL);
        assert_int_equal(parse_mb(b, &st), GRAFT_ERR_CORRUPT);
        check_msg(&st, "invalid node name");
        mb_free(b);
    }
    {   /* tensor_content of the wrong size */
        mb *b = mb_new();
        Tensorflow__NodeDef *n = mb_node(b, "c", "Const", NULL);
        Tensorflow__TensorProto *t = mb_tensor(b, 1, 1, d2);
        t->tensor_content.data = mb_alloc(b, 4);
        t->tensor_content.len = 4;
        mb_attr(b, n, "value", mb_tensor_attr(b, t));
        assert_int_equal(parse_mb(b, &st), GRAFT_ERR_CORRUPT);
        check_msg(&st, "expected 8 bytes vs found 4");
        check_msg(&st, "node 'c' attr 'value'");
        mb_free(b);
    }
    {   /* more typed values than elements */
        mb *b = mb_new();
        Tensorflow__NodeDef *n = mb_node(b, "c", "Const", NULL);
        Tensorflow__TensorProto *t = mb_tensor(b, 1, 1, d2);
        float v[3] = {1, 2, 3};
        t->float_val = v;
        t->n_float_val = 3;
        mb_attr(b, n, "value", mb_tensor_attr(b, t));
        assert_int_equal(parse_mb(b, &st), GRAFT_ERR_CORRUPT);
        check_msg(&st, "3 float values for 2 elements");
        mb_free(b);
    }
    {   /* unknown dtype in a tensor, in a type attr; negative dims */
        mb *b = mb_new();
        Tensorflow__NodeDef *n = mb_node(b, "c", "Const", NULL);
        mb_attr(b, n, "value", mb_tensor_attr(b, mb_tensor(b, 99, 0, NULL)));
        assert_int_equal(parse_mb(b, &st), GRAFT_ERR_CORRUPT);
        check_msg(&st, "dtype 99");
        mb_free(b);
        b = mb_new();
        n = mb_node(b, "p", "Placeholder", NULL);
        mb_attr(b, n, "dtype", mb_type(b, 77));
        assert_int_equal(parse_mb(b, &st), GRAFT_ERR_CORRUPT);
        check_msg(&st, "unknown DataType 77");
        mb_free(b);
        b = mb_new();
        int64_t neg[2] = {3, -7};
        mb_placeholder(b, "p", 1, 2, neg);
        assert_int_equal(parse_mb(b, &st), GRAFT_ERR_CORRUPT);
        check_msg(&st, "dim 1 is -7");
        mb_free(b);
    }
    {   /* the fill rule cannot be used to allocate without bound */
        mb *b = mb_new();
        Tensorflow__NodeDef *n = mb_node(b, "c", "Const", NULL);
        int64_t big[2] = {1 << 20, 1 << 10};
        Tensorflow__TensorProto *t = mb_tensor(b, 1, 2, big);
        float one = 1;
        t->float_val = &one;
        t->n_float_val = 1;
        mb_attr(b, n, "value", mb_tensor_attr(b, t));
        assert_int_equal(parse_mb(b, &st), GRAFT_ERR_NOMEM);
        check_msg(&st, "cap");
        int64_t huge[3] = {INT64_MAX / 2, 4, 4};
        t->tensor_shape = mb_shape_proto(b, 3, huge);
        assert_int_equal(parse_mb(b, &st), GRAFT_ERR_CORRUPT);
        check_msg(&st, "overflows");
        mb_free(b);
    }
}

/* A chain of nested NameAttrList/AttrValue messages `depth` deep inside one attr;
 * the innermost AttrValue is {i: 1}, or with inner_msg {list: {}}, one message deeper. */
static uint8_t *nested_ex(int depth, bool inner_msg, size_t *len)
{
    /* innermost: AttrValue{i: 1} = 18 01, AttrValue{list: {}} = 0a 00 */
    size_t cap = 16 + (size_t)depth * 16, n = 2;
    uint8_t *buf = malloc(cap), *tmp = malloc(cap);
    buf[0] = inner_msg ? 0x0a : 0x18;
    buf[1] = inner_msg ? 0x00 : 0x01;
    for (int i = 0; i < depth; i++) {
        /* NameAttrList.attr entry {key "k", value <buf>} -> AttrValue.func(10) <NameAttrList> */
        size_t m = 0;
        uint8_t entry[16];
        size_t en = 0;
        entry[en++] = 0x0a, entry[en++] = 0x01, entry[en++] = 'k';
        entry[en++] = 0x12;
        /* lengths stay < 2^14 here: two-byte varints at most */
        size_t l = n;
        uint8_t lv[3];
        size_t ll = 0;
        do {
            lv[ll++] = (uint8_t)((l & 0x7f) | (l > 0x7f ? 0x80 : 0));
            l >>= 7;
        } while (l);
        memcpy(entry + en, lv, ll);
        en += ll;
        size_t entry_len = en + n; /* map entry message */
        /* NameAttrList: field 2 (attr) = entry */
        tmp[m++] = 0x12;
        l = entry_len;
        do {
            tmp[m++] = (uint8_t)((l & 0x7f) | (l > 0x7f ? 0x80 : 0));
            l >>= 7;
        } while (l);
        memcpy(tmp + m, entry, en);
        m += en;
        memcpy(tmp + m, buf, n);
        m += n;
        /* AttrValue: func (10) = NameAttrList */
        size_t nal = m;
        n = 0;
        buf[n++] = 0x52;
        l = nal;
        do {
            buf[n++] = (uint8_t)((l & 0x7f) | (l > 0x7f ? 0x80 : 0));
            l >>= 7;
        } while (l);
        memcpy(buf + n, tmp, nal);
        n += nal;
    }
    free(tmp);
    *len = n;
    return buf;
}

/* Parses a graph whose placeholder carries nested_ex(links, inner_msg) as attr "_deep"
 * (spliced in through unpack). */
static graft_code parse_deep(int links, bool inner_msg, graft_meta_graph **m, graft_status *st)
{
    size_t alen;
    uint8_t *attr = nested_ex(links, inner_msg, &alen);
    mb *b = mb_new();
    Tensorflow__NodeDef *n = mb_placeholder(b, "p", 1, 0, NULL);
    Tensorflow__AttrValue *v = tensorflow__attr_value__unpack(NULL, alen, attr);
    assert_non_null(v);
    mb_attr(b, n, "_deep", v);
    size_t len;
    uint8_t *p = mb_pack(b, &len);
    graft_code c = graft_meta_graph_parse(p, len, "deep.meta", NULL, m, st);
    tensorflow__attr_value__free_unpacked(v, NULL);
    free(p);
    free(attr);
    mb_free(b);
    return c;
}

/* The .meta caps at their limit and one past it: nesting depth (64 messages below the
 * MetaGraphDef, as C++ protobuf's recursion limit counts), file bytes and the bytes
 * constants expand to. */
static void test_meta_caps(void **state)
{
    (void)state;
    graft_status st;
    graft_meta_graph *m = NULL;
    /* MetaGraphDef > GraphDef (1) > NodeDef (2) > attr entry (3) > AttrValue (4), then
     * 3 levels per NameAttrList link: 20 links end at depth 64; {list: {}} adds one. */
    for (int over = 0; over <= 1; over++) {
        graft_code c = parse_deep(20, over, &m, &st);
        if (!over) {
            if (c != GRAFT_OK) fail_msg("depth 64: %s", st.msg);
            graft_meta_graph_free(m);
        } else {
            assert_int_equal(c, GRAFT_ERR_CORRUPT);
            check_msg(&st, "deep.meta: offset ");
            check_msg(&st, "protobuf nesting deeper than the cap of 64");
        }
    }
    /* file bytes and constant bytes: two Const nodes of 10 floats (80 bytes in all) */
    float vals[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    int64_t d[1] = {10};
    mb *b = mb_new();
    mb_const_f32(b, "c1", vals, 1, d);
    mb_const_f32(b, "c2", vals, 1, d);
    size_t len;
    uint8_t *p = mb_pack(b, &len);
    graft_meta_opts o;
    graft_meta_opts_init(&o);
    o.max_file_bytes = len;
    o.max_const_bytes = 80;
    if (graft_meta_graph_parse(p, len, "caps.meta", &o, &m, &st) != GRAFT_OK) fail_msg("%s", st.msg);
    graft_meta_graph_free(m);
    o.max_file_bytes = len - 1;
    assert_int_equal(graft_meta_graph_parse(p, len, "caps.meta", &o, &m, &st), GRAFT_ERR_NOMEM);
    check_msg(&st, "caps.meta");
    check_msg(&st, "max_file_bytes");
    o.max_file_bytes = len;
    o.max_const_bytes = 79;
    assert_int_equal(graft_meta_graph_parse(p, len, "caps.meta", &o, &m, &st), GRAFT_ERR_NOMEM);
    check_msg(&st, "caps.meta: node 'c2': constants expand to more than the cap of 79 bytes");
    check_msg(&st, "max_const_bytes");
    free(p);
    mb_free(b);
}

static void test_depth_and_lengths(void **state)
{
    (void)state;
    graft_status st;
    graft_meta_graph *m = NULL;
    for (int depth = 5; depth <= 40; depth += 35) {
        graft_code c = parse_deep(depth, false, &m, &st);
        /* depth 5 -> 19 levels of messages: fine; depth 40 -> 124 levels: refused */
        if (depth == 5) {
            assert_int_equal(c, GRAFT_OK);
            graft_meta_graph_free(m);
        } else {
            assert_int_equal(c, GRAFT_ERR_CORRUPT);
            check_msg(&st, "nesting deeper than the cap of 64");
        }
    }
    /* a length running past the end; a text file; an empty file */
    uint8_t bad[] = {0x0a, 0x7f, 0x0a, 0x00};
    assert_int_equal(graft_meta_graph_parse(bad, sizeof bad, "len.meta", NULL, &m, &st), GRAFT_ERR_CORRUPT);
    check_msg(&st, "runs past the end");
    const char *text = "meta_info_def {\n  tensorflow_version: \"1.3.0\"\n}\n";
    assert_int_equal(graft_meta_graph_parse(text, strlen(text), "t.meta", NULL, &m, &st), GRAFT_ERR_UNSUPPORTED);
    check_msg(&st, "text-format");
    assert_int_equal(graft_meta_graph_parse("", 0, "e.meta", NULL, &m, &st), GRAFT_ERR_CORRUPT);
    assert_null(m);
    /* the size cap */
    graft_meta_opts o;
    graft_meta_opts_init(&o);
    o.max_file_bytes = 3;
    assert_int_equal(graft_meta_graph_parse(bad, sizeof bad, "cap.meta", &o, &m, &st), GRAFT_ERR_NOMEM);
    check_msg(&st, "cap");
}

/* Truncations and bit flips of a real file: an error or a valid graph, never a crash. */
static void test_damaged_lenet(void **state)
{
    (void)state;
    size_t len;
    uint8_t *raw = meta_slurp(GRAFT_FIXTURES_DIR "/tf1/lenet_traffic_tf13/lenet.meta", &len);
    assert_non_null(raw);
    graft_status st;
    graft_meta_graph *m = NULL;
    int errors = 0;
    for (size_t cut = 0; cut < len; cut += (cut < 512 ? 1 : 997)) {
        graft_code c = graft_meta_graph_parse(raw, cut, "cut.meta", NULL, &m, &st);
        if (c) errors++;
        else graft_meta_graph_free(m);
        m = NULL;
    }
    assert_true(errors > 0);
    uint8_t *copy = malloc(len);
    uint64_t rng = 12345;
    for (int k = 0; k < 300; k++) {
        memcpy(copy, raw, len);
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        size_t pos = (size_t)(rng >> 33) % len;
        copy[pos] ^= (uint8_t)(1u << ((rng >> 20) & 7));
        if (graft_meta_graph_parse(copy, len, "flip.meta", NULL, &m, &st) == GRAFT_OK) {
            graft_graph *g = graft_graph_new();
            graft_meta_import *r = NULL;
            if (graft_meta_graph_import(g, m, NULL, &r, &st) == GRAFT_OK) graft_meta_import_free(r);
            graft_graph_free(g);
            graft_meta_graph_free(m);
        }
        m = NULL;
    }
    free(copy);
    free(raw);
}

/* ---- import behaviour -------------------------------------------------------------------- */
#define LENET GRAFT_FIXTURES_DIR "/tf1/lenet_traffic_tf13/lenet.meta"

static void test_scope_and_rollback(void **state)
{
    (void)state;
    graft_status st;
    graft_graph *g = graft_graph_new();
    assert_int_equal(graft_import_meta_graph(g, LENET, NULL, NULL, &st), GRAFT_OK);
    assert_int_equal(graft_graph_num_ops(g), 685);
    /* the same names again: uniquified as TensorFlow's importer does. Placeholder
     * clashes, Placeholder_1 and _2 exist in the graph too -> Placeholder_3;
     * Placeholder_1 -> Placeholder_1_1; Add_2 -> Add_2_1 */
    graft_meta_opts o;
    graft_meta_opts_init(&o);
    const char *rt[] = {"Add_2:0"};
    o.return_tensors = rt;
    o.n_return_tensors = 1;
    graft_meta_import *r = NULL;
    assert_int_equal(graft_import_meta_graph(g, LENET, &o, &r, &st), GRAFT_OK);
    assert_int_equal(graft_graph_num_ops(g), 2 * 685);
    assert_string_equal(graft_op_name(graft_meta_import_return_tensor(r, 0).op), "Add_2_1");
    assert_non_null(graft_graph_op(g, "Placeholder_3"));
    assert_non_null(graft_graph_op(g, "Placeholder_1_1"));
    assert_null(graft_graph_op(g, "Placeholder_4"));
    graft_op *add21 = graft_graph_op(g, "Add_2_1");
    assert_string_equal(graft_op_name(graft_op_input(add21, 0).op), "MatMul_2_1");
    graft_meta_import_free(r);
    r = NULL;
    o.import_scope = "copy";
    assert_int_equal(graft_import_meta_graph(g, LENET, &o, &r, &st), GRAFT_OK);
    assert_int_equal(graft_graph_num_ops(g), 3 * 685);
    graft_out t;
    assert_int_equal(graft_graph_tensor(g, "copy/Add_2:0", &t, &st), GRAFT_OK);
    assert_ptr_equal(graft_meta_import_return_tensor(r, 0).op, t.op);
    assert_int_equal(graft_out_dtype(t), GRAFT_FLOAT);
    /* Add_2 (logits) needs the image Placeholder and the dropout keep_prob
     * Placeholder_2, not the labels Placeholder_1 */
    assert_int_equal(graft_meta_import_num_missing_feeds(r), 2);
    bool p0 = false, p2 = false;
    for (int i = 0; i < 2; i++) {
        const char *nm = graft_op_name(graft_meta_import_missing_feed(r, i));
        p0 |= !strcmp(nm, "copy/Placeholder");
        p2 |= !strcmp(nm, "copy/Placeholder_2");
    }
    assert_true(p0 && p2);
    assert_int_equal(graft_graph_num_variables(g), 3 * 32);
    graft_meta_import_free(r);

    /* a graph whose 3rd node fails in the builder: nothing of it stays */
    mb *b = mb_new();
    int64_t d[2] = {2, 2};
    float v[4] = {1, 2, 3, 4};
    mb_const_f32(b, "k1", v, 2, d);
    mb_const_f32(b, "k2", v, 2, d);
    Tensorflow__NodeDef *mm = mb_node(b, "mm", "MatMul", (const char *[]){"k1", NULL});
    mb_attr(b, mm, "T", mb_type(b, 1));
    size_t len;
    uint8_t *p = mb_pack(b, &len);
    graft_meta_graph *m = NULL;
    assert_int_equal(graft_meta_graph_parse(p, len, "bad.meta", NULL, &m, &st), GRAFT_OK);
    o.import_scope = "bad";
    o.n_return_tensors = 0;
    assert_int_not_equal(graft_meta_graph_import(g, m, &o, NULL, &st), GRAFT_OK);
    check_msg(&st, "node 'mm' (MatMul)");
    assert_int_equal(graft_graph_num_ops(g), 3 * 685);
    assert_null(graft_graph_op(g, "bad/k1"));
    graft_meta_graph_free(m);
    free(p);
    mb_free(b);
    graft_graph_free(g);
}

/* TF's fill rule, inert ops typed from the file's OpDef, stripped default attrs. */
static void test_fill_rule_and_inert_ops(void **state)
{
    (void)state;
    graft_status st;
    mb *b = mb_new();
    int64_t d5[1] = {5};
    Tensorflow__NodeDef *c = mb_node(b, "c", "Const", NULL);
    Tensorflow__TensorProto *t = mb_tensor(b, 3, 1, d5);
    int32_t iv[2] = {7, 9};
    t->int_val = iv;
    t->n_int_val = 2;
    mb_attr(b, c, "dtype", mb_type(b, 3));
    mb_attr(b, c, "value", mb_tensor_attr(b, t));
    /* an op graft does not know, typed through the stripped op list */
    Tensorflow__NodeDef *foo = mb_node(b, "foo", "FooOp", (const char *[]){"c", NULL});
    mb_attr(b, foo, "T", mb_type(b, 9));
    Tensorflow__NodeDef *id = mb_node(b, "id", "Identity", (const char *[]){"foo", NULL});
    mb_attr(b, id, "T", mb_type(b, 9));
    Tensorflow__MetaGraphDef *meta = mb_meta(b);
    meta->meta_info_def->stripped_default_attrs = 1;
    Tensorflow__OpList *ol = mb_alloc(b, sizeof *ol);
    tensorflow__op_list__init(ol);
    Tensorflow__OpDef *od = mb_alloc(b, sizeof *od);
    tensorflow__op_def__init(od);
    od->name = "FooOp";
    Tensorflow__OpDef__ArgDef *out = mb_alloc(b, sizeof *out);
    tensorflow__op_def__arg_def__init(out);
    out->name = "y";
    out->type_attr = "T";
    od->output_arg = mb_alloc(b, sizeof(void *));
    od->output_arg[0] = out;
    od->n_output_arg = 1;
    Tensorflow__OpDef__AttrDef *ad = mb_alloc(b, sizeof *ad);
    tensorflow__op_def__attr_def__init(ad);
    ad->name = "alpha";
    ad->type = "float";
    ad->default_value = mb_float(b, 0.25f);
    od->attr = mb_alloc(b, sizeof(void *));
    od->attr[0] = ad;
    od->n_attr = 1;
    ol->op = mb_alloc(b, sizeof(void *));
    ol->op[0] = od;
    ol->n_op = 1;
    meta->meta_info_def->stripped_op_list = ol;
    size_t len;
    uint8_t *p = mb_pack(b, &len);
    graft_graph *g = graft_graph_new();
    graft_meta_graph *m = NULL;
    assert_int_equal(graft_meta_graph_parse(p, len, "fill.meta", NULL, &m, &st), GRAFT_OK);
    graft_meta_opts o;
    graft_meta_opts_init(&o);
    const char *rt[] = {"id:0"};
    o.return_tensors = rt;
    o.n_return_tensors = 1;
    graft_meta_import *r = NULL;
    if (graft_meta_graph_import(g, m, &o, &r, &st)) fail_msg("%s", st.msg);
    const graft_tensor *ct = graft_op_attr_tensor(graft_graph_op(g, "c"), "value");
    assert_non_null(ct);
    assert_int_equal(graft_tensor_num_elements(ct), 5);
    const int32_t *cv = graft_tensor_cdata(ct);
    int32_t want[5] = {7, 9, 9, 9, 9};
    assert_memory_equal(cv, want, sizeof want);
    graft_op *fo = graft_graph_op(g, "foo");
    assert_false(graft_op_runnable(fo));
    assert_int_equal(graft_out_dtype(graftI_o(fo, 0)), GRAFT_INT64);
    float alpha = 0;
    assert_true(graft_op_attr_float(fo, "alpha", &alpha));
    assert_true(alpha == 0.25f);
    assert_int_equal(graft_meta_import_num_unrunnable(r), 1);
    assert_ptr_equal(graft_meta_import_unrunnable(r, 0), fo);
    int cnt = 0;
    assert_string_equal(graft_meta_import_inert_type(r, 0, &cnt), "FooOp");
    assert_int_equal(cnt, 1);
    /* running through the inert op is an error naming it */
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_non_null(s);
    graft_tensor *outv = NULL;
    graft_out idt = graft_meta_import_return_tensor(r, 0);
    assert_int_not_equal(graft_session_run(s, NULL, NULL, 0, &idt, &outv, 1, NULL, 0, &st), GRAFT_OK);
    check_msg(&st, "foo");
    check_msg(&st, "FooOp");
    graft_session_free(s);
    graft_meta_import_free(r);
    graft_meta_graph_free(m);
    graft_graph_free(g);
    free(p);

    /* int8 values outside int8's range are refused at import */
    t->dtype = 6;
    iv[1] = 300;
    c->attr[0]->value->type = (Tensorflow__DataType)6; /* the dtype attr */
    p = mb_pack(b, &len);
    assert_int_equal(graft_meta_graph_parse(p, len, "fill.meta", NULL, &m, &st), GRAFT_OK);
    g = graft_graph_new();
    assert_int_equal(graft_meta_graph_import(g, m, NULL, NULL, &st), GRAFT_ERR_CORRUPT);
    check_msg(&st, "value 300 is out of range for int8");
    assert_int_equal(graft_graph_num_ops(g), 0);
    graft_graph_free(g);
    graft_meta_graph_free(m);
    free(p);
    mb_free(b);
}


/* ---- resource variables and allocation failures ------------------------------------------ */
static Tensorflow__AttrValue *strs(mb *b, const char *const *v, int n)
{
    Tensorflow__AttrValue *a = mb_ints(b, NULL, 0);
    a->list->s = mb_alloc(b, (size_t)n * sizeof *a->list->s);
    for (int i = 0; i < n; i++) {
        a->list->s[i].data = (uint8_t *)mb_strdup(b, v[i]);
        a->list->s[i].len = strlen(v[i]);
    }
    a->list->n_s = (size_t)n;
    return a;
}

static Tensorflow__NodeDef *string_const(mb *b, const char *name, const char *const *v, int n)
{
    Tensorflow__NodeDef *c = mb_node(b, name, "Const", NULL);
    int64_t d[1] = {n};
    Tensorflow__TensorProto *t = mb_tensor(b, 7, n == 1 && !strcmp(name, "save/Const") ? 0 : 1, d);
    t->string_val = mb_alloc(b, (size_t)n * sizeof *t->string_val);
    for (int i = 0; i < n; i++) {
        t->string_val[i].data = (uint8_t *)mb_strdup(b, v[i]);
        t->string_val[i].len = strlen(v[i]);
    }
    t->n_string_val = (size_t)n;
    mb_attr(b, c, "dtype", mb_type(b, 7));
    mb_attr(b, c, "value", mb_tensor_attr(b, t));
    return c;
}

/* The graph TF 1.x makes for tf.get_variable(..., use_resource=True) with a Saver:
 * VarHandleOp, AssignVariableOp initializer, ReadVariableOp snapshot, and
 * save/AssignVariableOp(save/Identity(save/RestoreV2)). */
static uint8_t *resource_meta(size_t *len)
{
    mb *b = mb_new();
    int64_t d2[1] = {2};
    Tensorflow__NodeDef *v = mb_node(b, "v", "VarHandleOp", NULL);
    mb_attr(b, v, "dtype", mb_type(b, 1));
    mb_attr(b, v, "shape", mb_shape(b, 1, d2));
    mb_attr(b, v, "container", mb_str(b, ""));
    mb_attr(b, v, "shared_name", mb_str(b, "v"));
    float iv[2] = {1, 2};
    mb_const_f32(b, "v/Initializer/initial_value", iv, 1, d2);
    Tensorflow__NodeDef *as = mb_node(b, "v/Assign", "AssignVariableOp",
                                      (const char *[]){"v", "v/Initializer/initial_value", NULL});
    mb_attr(b, as, "dtype", mb_type(b, 1));
    Tensorflow__NodeDef *rd = mb_node(b, "v/Read/ReadVariableOp", "ReadVariableOp", (const char *[]){"v", NULL});
    mb_attr(b, rd, "dtype", mb_type(b, 1));
    mb_placeholder(b, "x", 1, 1, d2);
    Tensorflow__NodeDef *y = mb_node(b, "y", "Mul", (const char *[]){"x", "v/Read/ReadVariableOp", NULL});
    mb_attr(b, y, "T", mb_type(b, 1));
    string_const(b, "save/Const", (const char *[]){"model"}, 1);
    string_const(b, "save/RestoreV2/tensor_names", (const char *[]){"v"}, 1);
    string_const(b, "save/RestoreV2/shape_and_slices", (const char *[]){""}, 1);
    Tensorflow__NodeDef *rv = mb_node(b, "save/RestoreV2", "RestoreV2",
                                      (const char *[]){"save/Const", "save/RestoreV2/tensor_names",
                                                       "save/RestoreV2/shape_and_slices", NULL});
    Tensorflow__AttrValue *dts = mb_ints(b, NULL, 0);
    dts->list->type = mb_alloc(b, sizeof *dts->list->type);
    dts->list->type[0] = (Tensorflow__DataType)1;
    dts->list->n_type = 1;
    mb_attr(b, rv, "dtypes", dts);
    Tensorflow__NodeDef *id = mb_node(b, "save/Identity", "Identity", (const char *[]){"save/RestoreV2", NULL});
    mb_attr(b, id, "T", mb_type(b, 1));
    Tensorflow__NodeDef *sa = mb_node(b, "save/AssignVariableOp", "AssignVariableOp",
                                      (const char *[]){"v", "save/Identity", NULL});
    mb_attr(b, sa, "dtype", mb_type(b, 1));
    mb_node(b, "save/restore_all", "NoOp", (const char *[]){"^save/AssignVariableOp", NULL});
    Tensorflow__NodeDef *cd = mb_node(b, "save/control_dependency", "Identity", (const char *[]){"save/Const", NULL});
    mb_attr(b, cd, "T", mb_type(b, 7));
    (void)strs;
    /* collections and saver */
    Tensorflow__VariableDef vd;
    tensorflow__variable_def__init(&vd);
    vd.variable_name = "v:0";
    vd.initializer_name = "v/Assign";
    vd.snapshot_name = "v/Read/ReadVariableOp:0";
    vd.initial_value_name = "v/Initializer/initial_value:0";
    vd.is_resource = 1;
    vd.trainable = 1;
    size_t vl = tensorflow__variable_def__get_packed_size(&vd);
    uint8_t *vb = mb_alloc(b, vl);
    tensorflow__variable_def__pack(&vd, vb);
    Tensorflow__MetaGraphDef *meta = mb_meta(b);
    meta->collection_def = mb_alloc(b, 2 * sizeof *meta->collection_def);
    const char *cn[2] = {"variables", "trainable_variables"};
    for (int i = 0; i < 2; i++) {
        Tensorflow__MetaGraphDef__CollectionDefEntry *e = mb_alloc(b, sizeof *e);
        tensorflow__meta_graph_def__collection_def_entry__init(e);
        e->key = (char *)cn[i];
        e->value = mb_alloc(b, sizeof *e->value);
        tensorflow__collection_def__init(e->value);
        e->value->kind_case = TENSORFLOW__COLLECTION_DEF__KIND_BYTES_LIST;
        e->value->bytes_list = mb_alloc(b, sizeof *e->value->bytes_list);
        tensorflow__collection_def__bytes_list__init(e->value->bytes_list);
        e->value->bytes_list->value = mb_alloc(b, sizeof(ProtobufCBinaryData));
        e->value->bytes_list->value[0].data = vb;
        e->value->bytes_list->value[0].len = vl;
        e->value->bytes_list->n_value = 1;
        meta->collection_def[meta->n_collection_def++] = e;
    }
    Tensorflow__SaverDef *sd = mb_alloc(b, sizeof *sd);
    tensorflow__saver_def__init(sd);
    sd->filename_tensor_name = "save/Const:0";
    sd->save_tensor_name = "save/control_dependency:0";
    sd->restore_op_name = "save/restore_all";
    sd->max_to_keep = 5;
    sd->keep_checkpoint_every_n_hours = 10000;
    sd->version = TENSORFLOW__SAVER_DEF__CHECKPOINT_FORMAT_VERSION__V2;
    meta->saver_def = sd;
    uint8_t *p = mb_pack(b, len);
    mb_free(b);
    return p;
}

static void test_resource_variables(void **state)
{
    (void)state;
    graft_status st;
    size_t len;
    uint8_t *p = resource_meta(&len);
    graft_meta_graph *m = NULL;
    if (graft_meta_graph_parse(p, len, "res.meta", NULL, &m, &st)) fail_msg("%s", st.msg);
    graft_graph *g = graft_graph_new();
    graft_meta_import *r = NULL;
    if (graft_meta_graph_import(g, m, NULL, &r, &st)) fail_msg("%s", st.msg);
    assert_int_equal(graft_graph_num_variables(g), 1);
    graft_variable v;
    assert_true(graft_graph_variable_at(g, 0, &v));
    assert_string_equal(graft_op_type(v.var), "VarHandleOp");
    assert_string_equal(graft_op_name(v.value.op), "v/Read/ReadVariableOp");
    assert_true(v.trainable);
    graft_saver *sv = graft_meta_import_take_saver(r);
    if (!sv) fail_msg("no saver: %s", graft_meta_import_saver_note(r));
    assert_int_equal(graft_saver_num_vars(sv), 1);
    assert_string_equal(graft_saver_key(sv, 0), "v");
    assert_ptr_equal(graft_saver_var(sv, 0), v.var);
    graft_session *s = graft_session_new(g, NULL, &st);
    assert_non_null(s);
    if (graft_session_init_variables(s, &st)) fail_msg("%s", st.msg);
    graft_out x, y;
    assert_int_equal(graft_graph_tensor(g, "x:0", &x, &st), GRAFT_OK);
    assert_int_equal(graft_graph_tensor(g, "y:0", &y, &st), GRAFT_OK);
    int64_t d2[1] = {2};
    float xv[2] = {3, 4};
    graft_tensor *xt = graft_tensor_from_data(GRAFT_FLOAT, d2, 1, xv, sizeof xv, &st), *yt = NULL;
    if (graft_session_run(s, &x, &xt, 1, &y, &yt, 1, NULL, 0, &st)) fail_msg("%s", st.msg);
    assert_true(((float *)graft_tensor_data(yt))[0] == 3.0f && ((float *)graft_tensor_data(yt))[1] == 8.0f);
    graft_tensor_free(yt);
    /* restore v = [10, 20] through the imported saver */
    float cv[2] = {10, 20};
    graft_tensor *ct = graft_tensor_from_data(GRAFT_FLOAT, d2, 1, cv, sizeof cv, &st);
    graft_ckpt_writer *w = graft_ckpt_writer_new("res", &st);
    assert_non_null(w);
    assert_int_equal(graft_ckpt_writer_add(w, "v", ct, &st), GRAFT_OK);
    assert_int_equal(graft_ckpt_writer_finish(w, &st), GRAFT_OK);
    graft_ckpt_writer_free(w);
    if (graft_saver_restore(sv, s, "res", &st)) fail_msg("%s", st.msg);
    if (graft_session_run(s, &x, &xt, 1, &y, &yt, 1, NULL, 0, &st)) fail_msg("%s", st.msg);
    assert_true(((float *)graft_tensor_data(yt))[0] == 30.0f && ((float *)graft_tensor_data(yt))[1] == 80.0f);
    /* export keeps it a resource variable */
    void *e;
    size_t el;
    assert_int_equal(graft_meta_graph_export_buffer(g, sv, &e, &el, &st), GRAFT_OK);
    graft_graph *g2 = graft_graph_new();
    graft_meta_graph *m2 = NULL;
    assert_int_equal(graft_meta_graph_parse(e, el, "res2.meta", NULL, &m2, &st), GRAFT_OK);
    graft_meta_import *r2 = NULL;
    assert_int_equal(graft_meta_graph_import(g2, m2, NULL, &r2, &st), GRAFT_OK);
    assert_int_equal(graft_graph_num_variables(g2), 1);
    graft_saver *sv2 = graft_meta_import_take_saver(r2);
    assert_non_null(sv2);
    graft_saver_free(sv2);
    graft_meta_import_free(r2);
    graft_meta_graph_free(m2);
    graft_graph_free(g2);
    graft_meta_buffer_free(e);
    graft_tensor_free(yt);
    graft_tensor_free(xt);
    graft_tensor_free(ct);
    graft_saver_free(sv);
    graft_session_free(s);
    graft_meta_import_free(r);
    graft_graph_free(g);
    graft_meta_graph_free(m);
    free(p);
}

/* Fail the Nth allocation for every N while reading and importing: an error
 * every time until the run that needs fewer, and nothing leaked either way. */
static long fa_count, fa_fail_at;
static long long fa_live;

static void *failing_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        if (ptr) fa_live -= 1;
        free(ptr);
        return NULL;
    }
    if (++fa_count == fa_fail_at) return NULL;
    void *q = realloc(ptr, nsize);
    if (q && !ptr) fa_live += 1;
    (void)osize;
    return q;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    size_t len;
    uint8_t *p = resource_meta(&len);
    int failures = 0;
    for (long n = 1;; n++) {
        fa_count = 0;
        fa_fail_at = n;
        fa_live = 0;
        graft_set_allocator(failing_alloc, NULL);
        graft_status st;
        graft_meta_graph *m = NULL;
        graft_code c = graft_meta_graph_parse(p, len, "oom.meta", NULL, &m, &st);
        graft_graph *g = NULL;
        graft_meta_import *r = NULL;
        if (c == GRAFT_OK) {
            g = graft_graph_new();
            c = g ? graft_meta_graph_import(g, m, NULL, &r, &st) : GRAFT_ERR_NOMEM;
            if (c == GRAFT_OK && graft_graph_num_ops(g) != 14) fail_msg("n=%ld: %d ops", n, graft_graph_num_ops(g));
        }
        bool hit = fa_count >= n;
        graft_meta_import_free(r);
        graft_graph_free(g);
        graft_meta_graph_free(m);
        graft_set_allocator(NULL, NULL);
        if (fa_live != 0) fail_msg("n=%ld: %lld blocks leaked", n, fa_live);
        if (!hit) {
            assert_int_equal(c, GRAFT_OK);
            break;
        }
        if (c == GRAFT_OK) continue; /* an allocation whose failure has a fallback */
        failures++;
        if (c != GRAFT_ERR_NOMEM) fail_msg("n=%ld: code %d (%s)", n, c, st.msg);
    }
    printf("# allocation failure sweep: %d failing runs, all GRAFT_ERR_NOMEM, no leaks\n", failures);
    assert_true(failures > 50);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures_decode_match_golden),
        cmocka_unit_test(test_fixtures_op_report),
        cmocka_unit_test(test_bad_graphs),
        cmocka_unit_test(test_depth_and_lengths),
        cmocka_unit_test(test_meta_caps),
        cmocka_unit_test(test_damaged_lenet),
        cmocka_unit_test(test_fixtures_import),
        cmocka_unit_test(test_scope_and_rollback),
        cmocka_unit_test(test_fill_rule_and_inert_ops),
        cmocka_unit_test(test_resource_variables),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
