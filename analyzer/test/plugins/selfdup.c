/* selfdup.c - test plugin: names one command twice (a name and another's alias); the host must refuse it.
 * Owns: the commands selfdup-a and selfdup-b (alias selfdup-a). */
#include "gca_plugin.h"

static int run(gca_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    (void)argc;
    (void)argv;
    return GCA_EXIT_OK;
}

static const gca_command commands[] = {
    {"selfdup-a", NULL, "a", NULL, run, GCA_CMD_NO_DUMP},
    {"selfdup-b", "selfdup-a", "b", NULL, run, GCA_CMD_NO_DUMP},
};
static const gca_plugin plugin = {GCA_PLUGIN_ABI, "selfdup", "1.0", commands, 2};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void) { return &plugin; }
