/* tools/cmd_graph.c - `graft graph [--json] [--dot] [--tag TAG] FILE.meta`: lists
 * a meta graph's nodes (op type, inputs, output shapes, whether graft can run
 * them), as text, JSON or Graphviz DOT. Needs only the decoder. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graft/graft.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: graft graph [--json | --dot] [--tag TAG] FILE.meta|saved_model.pb\n"
               "  lists nodes, op types, inputs and output shapes; --dot writes Graphviz DOT\n");
}

/* JSON string body (quotes added by the caller). */
static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* DOT-escaped string (double quotes). */
static void dstr(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p >= 0x20 && *p < 0x7f) fputc(*p, f);
    }
}

static const char *dt_name(graft_dtype dt)
{
    const char *n = dt ? graft_dtype_name(dt) : NULL;
    return n ? n : "?";
}

/* Output index and node name of an input string ("a", "a:1", "^a"). */
static int split_input(const char *in, char *node, size_t cap, bool *ctrl)
{
    *ctrl = in[0] == '^';
    const char *b = in + *ctrl;
    const char *c = strchr(b, ':');
    size_t n = c ? (size_t)(c - b) : strlen(b);
    if (n >= cap) n = cap - 1;
    memcpy(node, b, n);
    node[n] = '\0';
    return c ? (int)strtol(c + 1, NULL, 10) : 0;
}

static void print_text(const graft_meta_graph *m, const char *path)
{
    graft_meta_info info;
    graft_meta_graph_get_info(m, &info);
    printf("%s: %s, TensorFlow %s%s%s, GraphDef producer %d (min consumer %d), %d nodes\n", path,
           info.from_saved_model ? "SavedModel meta graph" : "MetaGraphDef",
           info.tensorflow_version[0] ? info.tensorflow_version : "(unrecorded)",
           info.tensorflow_git_version[0] ? " git " : "", info.tensorflow_git_version, info.producer,
           info.min_consumer, info.num_nodes);
    graft_saver_def sd;
    if (graft_meta_graph_saver_def(m, &sd))
        printf("saver: filename %s, save %s, restore %s, V%d%s\n", sd.filename_tensor_name, sd.save_tensor_name,
               sd.restore_op_name, sd.version, sd.sharded ? ", sharded" : "");
    for (int i = 0; i < info.num_nodes; i++) {
        graft_meta_node n;
        graft_meta_graph_node(m, i, &n);
        printf("%-40s %-24s", n.name, n.op);
        for (int k = 0; k < n.num_inputs; k++) printf("%s%s", k ? ", " : " (", n.inputs[k]);
        if (n.num_inputs) printf(")");
        if (n.num_output_shapes) {
            printf(" ->");
            for (int k = 0; k < n.num_output_shapes; k++) {
                char sb[128];
                printf(" %s", graft_shape_str(&n.output_shapes[k], sb, sizeof sb));
            }
        }
        if (!n.runnable) printf("  [%s]", n.registered ? "no kernel" : "not supported by graft: inert");
        printf("\n");
    }
    /* op type summary */
    printf("op types:");
    for (int i = 0; i < info.num_nodes; i++) {
        graft_meta_node n;
        graft_meta_graph_node(m, i, &n);
        bool first = true;
        for (int j = 0; j < i && first; j++) {
            graft_meta_node p;
            graft_meta_graph_node(m, j, &p);
            if (!strcmp(p.op, n.op)) first = false;
        }
        if (!first) continue;
        int cnt = 0;
        for (int j = i; j < info.num_nodes; j++) {
            graft_meta_node p;
            graft_meta_graph_node(m, j, &p);
            cnt += !strcmp(p.op, n.op);
        }
        printf(" %s x%d%s", n.op, cnt, n.runnable ? "" : " (inert)");
    }
    printf("\n");
}

static void print_json(const graft_meta_graph *m, const char *path)
{
    graft_meta_info info;
    graft_meta_graph_get_info(m, &info);
    printf("{\n  \"file\": ");
    jstr(stdout, path);
    printf(",\n  \"kind\": \"%s\",\n  \"tensorflow_version\": ", info.from_saved_model ? "SavedModel" : "MetaGraphDef");
    jstr(stdout, info.tensorflow_version);
    printf(",\n  \"tensorflow_git_version\": ");
    jstr(stdout, info.tensorflow_git_version);
    printf(",\n  \"producer\": %d,\n  \"min_consumer\": %d,\n  \"node_count\": %d,\n", info.producer,
           info.min_consumer, info.num_nodes);
    graft_saver_def sd;
    if (graft_meta_graph_saver_def(m, &sd)) {
        printf("  \"saver_def\": {\"filename_tensor_name\": ");
        jstr(stdout, sd.filename_tensor_name);
        printf(", \"save_tensor_name\": ");
        jstr(stdout, sd.save_tensor_name);
        printf(", \"restore_op_name\": ");
        jstr(stdout, sd.restore_op_name);
        printf(", \"version\": %d, \"sharded\": %s},\n", sd.version, sd.sharded ? "true" : "false");
    }
    printf("  \"nodes\": [");
    for (int i = 0; i < info.num_nodes; i++) {
        graft_meta_node n;
        graft_meta_graph_node(m, i, &n);
        printf("%s\n    {\"name\": ", i ? "," : "");
        jstr(stdout, n.name);
        printf(", \"op\": ");
        jstr(stdout, n.op);
        printf(", \"inputs\": [");
        for (int k = 0; k < n.num_inputs; k++) {
            if (k) printf(", ");
            jstr(stdout, n.inputs[k]);
        }
        printf("]");
        if (n.device[0]) {
            printf(", \"device\": ");
            jstr(stdout, n.device);
        }
        if (n.dtype) printf(", \"dtype\": \"%s\"", dt_name(n.dtype));
        printf(", \"output_shapes\": [");
        for (int k = 0; k < n.num_output_shapes; k++) {
            const graft_shape *s = &n.output_shapes[k];
            if (k) printf(", ");
            if (s->rank < 0) {
                printf("null");
                continue;
            }
            printf("[");
            for (int d = 0; d < s->rank; d++) printf("%s%lld", d ? ", " : "", (long long)s->dims[d]);
            printf("]");
        }
        printf("], \"runnable\": %s}", n.runnable ? "true" : "false");
    }
    printf("\n  ]\n}\n");
}

static void print_dot(const graft_meta_graph *m)
{
    graft_meta_info info;
    graft_meta_graph_get_info(m, &info);
    printf("digraph graft {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n"
           "  edge [fontsize=8];\n");
    for (int i = 0; i < info.num_nodes; i++) {
        graft_meta_node n;
        graft_meta_graph_node(m, i, &n);
        printf("  n%d [label=\"", i);
        dstr(stdout, n.name);
        printf("\\n");
        dstr(stdout, n.op);
        printf("\"%s];\n", n.runnable ? "" : ", style=filled, fillcolor=\"#dddddd\"");
    }
    for (int i = 0; i < info.num_nodes; i++) {
        graft_meta_node n;
        graft_meta_graph_node(m, i, &n);
        for (int k = 0; k < n.num_inputs; k++) {
            char src[1024];
            bool ctrl;
            int idx = split_input(n.inputs[k], src, sizeof src, &ctrl);
            int s = graft_meta_graph_find_node(m, src);
            if (s < 0) continue;
            printf("  n%d -> n%d", s, i);
            if (ctrl) {
                printf(" [style=dashed];\n");
                continue;
            }
            graft_meta_node p;
            graft_meta_graph_node(m, s, &p);
            if (idx < p.num_output_shapes) {
                char sb[128];
                printf(" [label=\"%s%s\"]", idx ? "" : "", graft_shape_str(&p.output_shapes[idx], sb, sizeof sb));
            }
            printf(";\n");
        }
    }
    printf("}\n");
}

int graft_cmd_graph(int argc, char **argv)
{
    int mode = 0; /* 0 text, 1 json, 2 dot */
    const char *path = NULL, *tag = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) mode = 1;
        else if (!strcmp(argv[i], "--dot")) mode = 2;
        else if (!strcmp(argv[i], "--tag") && i + 1 < argc) tag = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || path) {
            usage(stderr);
            return 2;
        } else path = argv[i];
    }
    if (!path) {
        usage(stderr);
        return 2;
    }
    graft_meta_opts o;
    graft_meta_opts_init(&o);
    o.saved_model_tag = tag;
    graft_meta_graph *m = NULL;
    graft_status st;
    if (graft_meta_graph_read(path, &o, &m, &st)) {
        fprintf(stderr, "graft graph: %s\n", st.msg);
        return 1;
    }
    if (mode == 1) print_json(m, path);
    else if (mode == 2) print_dot(m);
    else print_text(m, path);
    graft_meta_graph_free(m);
    return fflush(stdout) == 0 ? 0 : 1;
}
