/* tools/graft.c - the `graft` command-line tool: dispatches `graft <command> ...` to
 * the subcommands listed in tools/cli.h (GRAFT_CLI_COMMANDS); prints help and the
 * version. */
#include <stdio.h>
#include <string.h>

#include "graft/graft.h"
#include "cli.h"

#define GRAFT_CLI_ENTRY(name, usage, summary) {#name, graft_cmd_##name, usage, summary},
static const graft_cli_cmd commands[] = {GRAFT_CLI_COMMANDS(GRAFT_CLI_ENTRY){NULL, NULL, NULL, NULL}};
#undef GRAFT_CLI_ENTRY

static const graft_cli_cmd *find(const char *name)
{
    for (const graft_cli_cmd *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

void graft_cli_print_usage(FILE *f, const char *cmd)
{
    const graft_cli_cmd *c = find(cmd);
    if (c) fprintf(f, "usage: graft %s %s\n", c->name, c->usage);
}

static void help(FILE *f)
{
    fprintf(f, "graft %s - TensorFlow-compatible graphs, checkpoints and fine-tuning in C\n\n", GRAFT_VERSION_STRING);
    fprintf(f, "usage: graft <command> [options]\n\ncommands:\n");
    for (const graft_cli_cmd *c = commands; c->name; c++) fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fprintf(f, "\n`graft <command> --help` shows a command's options; `graft --version` the version.\n");
}

bool graft_cli_is_hdf5(const char *path)
{
    /* the superblock signature sits at 0, 512, 1024, 2048, ... (a user block before it) */
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char b[8];
    FILE *f = fopen(path, "rb");
    bool yes = false;
    for (long off = 0; f && !yes && off >= 0 && fseek(f, off, SEEK_SET) == 0 && fread(b, 1, 8, f) == 8;
         off = off ? (off > (1L << 40) ? -1 : off * 2) : 512)
        yes = !memcmp(b, sig, 8);
    if (f) fclose(f);
    return yes;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        help(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        if (argc > 2 && find(argv[2])) {
            graft_cli_print_usage(stdout, argv[2]);
            return 0;
        }
        help(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("graft %s\n", GRAFT_VERSION_STRING);
        return 0;
    }
    const graft_cli_cmd *c = find(cmd);
    if (!c) {
        fprintf(stderr, "graft: unknown command '%s'\n\n", cmd);
        help(stderr);
        return 2;
    }
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            graft_cli_print_usage(stdout, c->name);
            printf("%s\n", c->summary);
            return 0;
        }
    return c->fn(argc - 1, argv + 1);
}
