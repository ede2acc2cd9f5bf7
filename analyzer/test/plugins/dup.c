/* dup.c - test plugin: claims the alias "al" that alpha.so provides; the host must refuse the whole plugin.
 * Owns: the commands dupcmd (alias al) and dupother, neither of which may get registered. */
#include "gca_plugin.h"

static int run(gca_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return GCA_EXIT_OK;
}

static const gca_command commands[] = {
    {"dupother", NULL, "fine on its own", NULL, run, GCA_CMD_NO_DUMP},
    {"dupcmd", "al", "claims alpha's alias", NULL, run, GCA_CMD_NO_DUMP},
};
static const gca_plugin plugin = {GCA_PLUGIN_ABI, "dup", "1.0", commands, 2};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void) { return &plugin; }
