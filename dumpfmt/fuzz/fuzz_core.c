/* fuzz_core.c - libFuzzer target: the ELF core reader (dumpfmt/core.c) and the dump written from a core.
 * Owns: gcd_core_probe and gcd_remote_open_core on any bytes; when a runtime is found, the dump written
 * from it (to a private temporary folder) read back and walked. */
#include "harness.h"
#include "gcdump.h"
#include "gcdump_remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char out_dir[64];

static void remove_out_dir(void) { rmdir(out_dir); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_file(0, data, size);
    if (!path)
        return 0;
    char err[512];
    gcd_core_facts facts;
    if (gcd_core_probe(path, &facts, err, sizeof err) != GCD_OK)
        return 0;
    (void)gcd_is_core_file(path);
    /* The executable is the one the core's NT_FILE note names (data): a
     * missing one is a clean error. */
    gcd_remote_opts opts = {.name = "fuzz.core"};
    gcd_remote *r = NULL;
    if (gcd_remote_open_core(path, &opts, &r, err, sizeof err) != GCD_OK)
        return 0;
    const gcd_remote_info *info = gcd_remote_get_info(r);
    (void)info;
    if (!out_dir[0]) {
        snprintf(out_dir, sizeof out_dir, "/tmp/gcd-fuzz-core.XXXXXX");
        if (!mkdtemp(out_dir)) {
            out_dir[0] = 0;
            gcd_remote_close(r);
            return 0;
        }
        atexit(remove_out_dir);
    }
    char out[96];
    snprintf(out, sizeof out, "%s/out.gcdump", out_dir);
    gcd_writer_opts wo = {.threads = 1};
    uint64_t mem = 0;
    if (gcd_remote_write(r, out, &wo, &mem, err, sizeof err) == GCD_OK) {
        gcd_reader *rd = NULL;
        if (gcd_open(out, NULL, &rd, err, sizeof err) == GCD_OK) {
            fz_exercise_reader(rd);
            gcd_close(rd);
        }
    }
    unlink(out);
    gcd_remote_close(r);
    return 0;
}
