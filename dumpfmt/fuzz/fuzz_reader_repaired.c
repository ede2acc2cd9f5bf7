/* fuzz_reader_repaired.c - libFuzzer target: the gcdump reader on bytes whose checksums the harness repaired.
 * Owns: reaching the record parsers, the index and the walker with any content (fz_repair makes every CRC right). */
#include "harness.h"
#include "gcdump.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n;
    uint8_t *fixed = fz_repair(data, size, &n);
    if (!fixed)
        return 0;
    const char *path = fz_file(0, fixed, n);
    free(fixed);
    if (!path)
        return 0;
    gcd_open_opts opts = {.cache_frames = 2, .verify_payloads = 1};
    gcd_reader *r = NULL;
    char err[256];
    if (gcd_open(path, &opts, &r, err, sizeof err) == GCD_OK) {
        fz_exercise_reader(r);
        gcd_close(r);
    }
    return 0;
}
