/*
 * cmd_data.h - the `harvest data` subcommands (one cmd_data_*.c each).
 */
#ifndef HV_CLI_CMD_DATA_H
#define HV_CLI_CMD_DATA_H

#include "cli/cli.h"

int cmd_data_fetch(struct cli_ctx *ctx, int argc, char **argv);
int cmd_data_import(struct cli_ctx *ctx, int argc, char **argv);
int cmd_data_stats(struct cli_ctx *ctx, int argc, char **argv);
int cmd_data_synth(struct cli_ctx *ctx, int argc, char **argv);

#endif
