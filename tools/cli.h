/*
 * tools/cli.h - the `graft` command-line tool's subcommands.
 *
 * Each subcommand is `int graft_cmd_<name>(int argc, char **argv)` in its own
 * tools/cmd_<name>.c, where argv[0] is the subcommand name; it returns the exit
 * status (0 ok, 1 failure, 2 usage error) and prints errors to stderr.
 * Adding a subcommand = its file + ONE line in GRAFT_CLI_COMMANDS below (the
 * declaration and tools/graft.c's dispatch table are generated from it).
 */
#ifndef GRAFT_TOOLS_CLI_H
#define GRAFT_TOOLS_CLI_H

#include <stdbool.h>
#include <stdio.h>

/*        name     usage (after "graft <name>")                                      summary */
#define GRAFT_CLI_COMMANDS(X)                                                                                  \
    X(inspect, "[--json] [--stats] [--tensor NAME] PATH", "list a checkpoint's tensors (V1/V2, any TF) or a Keras .h5's weights")       \
    X(convert, "SRC DST [--vars NAME,...] [--rename OLD=NEW,...]", "write a V2 copy of any checkpoint or Keras .h5")        \
    X(data, "fashion-mnist [--classes 5,6,7,8,9] [--relabel] [--limit N] [--split train|test] OUT.h5", \
      "write Fashion-MNIST (or some classes of it) as an HDF5 dataset")                                  \
    X(run, "--meta FILE.meta [--ckpt PATH] --feed NAME:0=IN.npy ... --fetch NAME:0=OUT.npy ... [--target OP]", \
      "import a .meta, restore, feed .npy arrays, run, write fetches as .npy")                             \
    X(finetune, "--meta FILE.meta --ckpt PATH --input NAME:0 --cut NAME:0 --train TRAIN.h5 [--test TEST.h5]\n    --classes K [--hidden N] [--optimizer sgd|momentum|adam] [--lr X] [--epochs E] [--batch B] [--seed S]\n    [--set NAME:0=VALUE ...] --save PREFIX [--step N] [--save-optimizer] [--json]   (docs/cli.md)", \
      "train a new head on an imported graph cut at a tensor (transfer learning)") \
    X(graph, "[--json] [--dot] [--tag TAG] FILE.meta", "list a meta graph's nodes, op types, inputs and shapes")

#define GRAFT_CLI_DECLARE(name, usage, summary) int graft_cmd_##name(int argc, char **argv);
GRAFT_CLI_COMMANDS(GRAFT_CLI_DECLARE)
#undef GRAFT_CLI_DECLARE

typedef struct graft_cli_cmd {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *usage;
    const char *summary;
} graft_cli_cmd;

/* Prints "usage: graft <cmd> <usage>" for a registered command to f. */
void graft_cli_print_usage(FILE *f, const char *cmd);
/* true when path is a file starting with the HDF5 signature (a Keras .h5). */
bool graft_cli_is_hdf5(const char *path);

#endif
