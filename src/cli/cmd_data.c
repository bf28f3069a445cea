/*
 * cmd_data.c - `harvest data <command>`: the dataset commands' group table.
 * Each subcommand lives in its own cmd_data_*.c file.
 */
#include "cli/cli.h"
#include "cli/cmd_data.h"

static const struct cli_command data_commands[] = {
    {"fetch", "download ml-100k, ml-1m or ml-latest-small and import it",
     .fn = cmd_data_fetch},
    {"import", "load ml-100k, ml-1m or ml-latest from a folder or .zip",
     .fn = cmd_data_import},
    {"stats", "counts, time span, rating histogram, sparsity, top movies",
     .fn = cmd_data_stats},
    {"synth", "generate a MovieLens-shaped dataset with planted drift",
     .fn = cmd_data_synth},
};

int cmd_data(struct cli_ctx *ctx, int argc, char **argv)
{
  return cli_dispatch_group(ctx, "data", CLI_TABLE(data_commands), argc,
                            argv);
}
