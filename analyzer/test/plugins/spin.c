/* spin.c - test plugin: a command that works until Ctrl-C, for the prompt test (test_prompt).
 * Owns: the command spin, a loop that reports progress through gca_progress and stops when it says cancelled. */
#include "gca_plugin.h"

#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* spin [SECONDS [PAUSE_MS]]: loops (at most SECONDS, default 30) reporting
 * progress, every PAUSE_MS milliseconds if given (a slow reporter, like
 * libgca's own phases), else as fast as it can; Ctrl-C stops it with
 * "interrupted". Running out of time is a failure: the interruption never
 * came. Needs a dump, so the test sees it kept. */
static int cmd_spin(gca_ctx *ctx, int argc, char **argv)
{
    double limit = argc > 1 ? atof(argv[1]) : 30.0, t0 = now_s();
    long pause_ms = argc > 2 ? atol(argv[2]) : 0;
    volatile uint64_t sink = 0;
    for (uint64_t i = 0;; i++) {
        double t = now_s() - t0;
        if (t > limit)
            return gca_ctx_fail(ctx, "spun %.0f s without being interrupted", limit);
        if (gca_progress(ctx, "spinning", (uint64_t)(t * 1000), (uint64_t)(limit * 1000)))
            return gca_ctx_interrupted(ctx);
        if (pause_ms > 0) {
            struct timespec ts = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        for (int k = 0; k < 1000; k++)
            sink += (uint64_t)k ^ i;
    }
}

static const gca_command commands[] = {
    {"spin", NULL, "loop until Ctrl-C (test)", "spin [SECONDS [PAUSE_MS]]", cmd_spin, GCA_CMD_NEEDS_DUMP},
};

static const gca_plugin plugin = {GCA_PLUGIN_ABI, "spin", "1.0", commands, 1};

GCA_PLUGIN_EXPORT const gca_plugin *gca_plugin_entry(void) { return &plugin; }
