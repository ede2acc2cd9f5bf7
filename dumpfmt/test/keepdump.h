/* keepdump.h - test-only: keep a copy of each synthetic dump a test writes, as fuzz seeds (scripts/fuzz-seeds.sh).
 * Owns: kd_keep. With GCD_TEST_KEEP_DUMPS=DIR in the environment, kd_keep(path, name) copies the dump at path
 * to DIR/NAME-N.gcdump (N counts the calls of the test binary); without it, nothing happens. Such dumps hold
 * shapes the runtime never writes (a .NET heap's STATIC_ADDRESSES, UTF-16 strings, value-type arrays,
 * damaged objects), which the fuzz targets would otherwise have to find by luck. */
#ifndef KEEPDUMP_H
#define KEEPDUMP_H

#include <stdio.h>
#include <stdlib.h>

static void kd_keep(const char *path, const char *name)
{
    static int n;
    const char *dir = getenv("GCD_TEST_KEEP_DUMPS");
    if (!dir || !*dir)
        return;
    char out[4096];
    snprintf(out, sizeof out, "%s/%s-%d.gcdump", dir, name, n++);
    FILE *in = fopen(path, "rb"), *to = in ? fopen(out, "wb") : NULL;
    char buf[65536];
    size_t k;
    while (to && (k = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, k, to) != k)
            break;
    if (to)
        fclose(to);
    if (in)
        fclose(in);
}

#endif
