/* fuzz_reader.c - libFuzzer target: the gcdump reader on raw bytes (checksums as they come).
 * Owns: opening any bytes with gcd_open, with and without payload verification, and reading all it offers. */
#include "harness.h"
#include "gcdump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file(0, data, size);
    if (!path)
        return 0;
    /* The last byte chooses the options, so both paths are reached. */
    gcd_open_opts opts = {.cache_frames = size ? 1u + (data[size - 1] & 3) : 0,
                          .verify_payloads = size ? (data[size - 1] >> 2) & 1 : 0};
    gcd_reader *r = NULL;
    char err[256];
    if (gcd_open(path, &opts, &r, err, sizeof err) != GCD_OK)
        return 0;
    fz_exercise_reader(r);
    gcd_close(r);
    return 0;
}
