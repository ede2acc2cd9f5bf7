/* repair_tool.c - writes the checksum-repaired form of a dump (the seeds of the repaired corpora; scripts/fuzz-seeds.sh).
 * Owns: `repair_tool [-m] IN OUT`: fz_repair_ex on IN, written to OUT (-m: MEMORY payloads unpacked too). Not installed. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* harness.h declares the target's entry point; this tool has none to run. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)data;
    (void)size;
    return 0;
}

int main(int argc, char **argv)
{
    int unpack = argc == 4 && strcmp(argv[1], "-m") == 0;
    if (argc != 3 + unpack) {
        fprintf(stderr, "usage: repair_tool [-m] IN OUT\n");
        return 2;
    }
    FILE *f = fopen(argv[1 + unpack], "rb");
    if (!f) {
        fprintf(stderr, "repair_tool: %s: cannot open\n", argv[1 + unpack]);
        return 1;
    }
    size_t cap = 1 << 20, len = 0, n;
    uint8_t *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0)
        if ((len += n) == cap)
            buf = realloc(buf, cap *= 2);
    fclose(f);
    size_t out_len = 0;
    uint8_t *out = buf ? fz_repair_ex(buf, len, &out_len, unpack) : NULL;
    free(buf);
    if (!out || out_len == 0) {
        fprintf(stderr, "repair_tool: %s: cannot repair (out of memory or too large)\n", argv[1 + unpack]);
        free(out);
        return 1;
    }
    f = fopen(argv[2 + unpack], "wb");
    int ok = f && fwrite(out, 1, out_len, f) == out_len;
    if (f && fclose(f) != 0)
        ok = 0;
    free(out);
    if (!ok) {
        fprintf(stderr, "repair_tool: %s: cannot write\n", argv[2 + unpack]);
        return 1;
    }
    return 0;
}
