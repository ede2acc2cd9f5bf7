/* noentry.c - test plugin: a shared object without the gca_plugin_entry symbol; the host must refuse it.
 * Owns: one exported function of another name. */
#include "gca_plugin.h"

GCA_PLUGIN_EXPORT int not_the_entry(void) { return 1; }
