/* fuzz_reader_repaired.c - libFuzzer target: the gcdump reader on bytes whose checksums the harness repaired.
 * Owns: reaching the record parsers, the index and the walker with any content (fz_repair makes every CRC right).
 *
 * The input's last byte (after the trailer: the repair ignores it) picks options: bits 0-1 the frame cache
 * (1 to 4 frames), bit 2 leaves the payloads unverified at open, bit 7 makes the Nth allocation of libgcdump
 * fail (N and "every later one too" from the two bytes before; dumpfmt/test/allocfail.h, the target is linked
 * with AF_LDFLAGS): the reader must then fail cleanly (GCD_E_NOMEM) or absorb it, without a leak. */
#include "harness.h"
#include "../test/allocfail.h"
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
    unsigned opt = size ? data[size - 1] : 0;
    gcd_open_opts opts = {.cache_frames = 1 + (opt & 3), .verify_payloads = !(opt & 4)};
    int fail = (opt & 0x80) && size >= 3;
    if (fail)
        af_arm(1 + (data[size - 2] | (long)(data[size - 3] & 1) << 8), (data[size - 3] >> 1) & 1);
    gcd_reader *r = NULL;
    char err[256];
    if (gcd_open(path, &opts, &r, err, sizeof err) == GCD_OK) {
        fz_exercise_reader(r);
        gcd_close(r);
    }
    if (fail)
        af_disarm();
    return 0;
}
