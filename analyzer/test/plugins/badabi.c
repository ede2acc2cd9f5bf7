/* badabi.c - test plugin: built for another ABI version; the host must refuse it.
 * Owns: nothing but a plugin description with abi = GCA_PLUGIN_ABI + 1. */
#include "gca_plugin.h"

static int run(gca_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return GCA_EXIT_OK;
}

static const gca_command commands[] = {{"badabi", NULL, "never loaded", NULL, run, GCA_CMD_NO_DUMP}};
static const gca_plugin plugin = {GCA_PLUGIN_ABI + 1, "badabi", "1.0", commands, 1};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void) { return &plugin; }
