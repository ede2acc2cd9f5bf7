/* zclash.c - test plugin: claims "plugins", a command of gcanalyze itself; the host must refuse it.
 * Owns: the command zclash (alias plugins). Named z* so that it loads after alpha.so. */
#include "gca_plugin.h"

static int run(gca_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return GCA_EXIT_OK;
}

static const gca_command commands[] = {{"zclash", "plugins", "clashes with a built-in", NULL, run, GCA_CMD_NO_DUMP}};
static const gca_plugin plugin = {GCA_PLUGIN_ABI, "zclash", "1.0", commands, 1};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void) { return &plugin; }
